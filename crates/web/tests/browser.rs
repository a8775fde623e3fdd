//! The app in headless Chromium, driven as a user would: mount into our own element, act,
//! `yew::scheduler::flush().await`, assert on the DOM. No sleeps.

use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, HtmlTextAreaElement};

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::Mounted;

impl Mounted {
    fn property(&self, id: &str) -> String {
        self.one(&format!("[data-property='{id}'] .prop-verdict"))
            .text_content()
            .unwrap_or_default()
    }
}

#[wasm_bindgen_test]
async fn mounts_and_draws_the_happy_path() {
    let app = Mounted::new(None).await;
    assert_eq!(app.all(".lanes .lane").len(), 4, "one lane per node");
    assert!(app.one(".properties").get_attribute("role").is_none(), "a region in the full app");
    let titles: Vec<String> =
        app.all(".lane-title").iter().filter_map(|t| t.text_content()).collect();
    assert_eq!(titles, ["coord", "p1", "p2", "p3"]);
    assert!(app.all(".arrow").len() >= 9, "Prepare, votes and Commits are drawn");
    assert!(app
        .all(".msg-label")
        .iter()
        .any(|l| l.text_content().unwrap_or_default().starts_with("Prepare")));
    assert_eq!(app.all(".mark-decide .g-commit").len(), 4, "everyone decides commit");
    assert!(app.all(".band-doubt").len() >= 3, "participants are in doubt after voting");
    assert!(app.all(".mark-persist").len() >= 7);
    assert_eq!(app.all(".cards .card").len(), 4);
}

#[wasm_bindgen_test]
fn trace_hashes_match_the_native_golden_values() {
    let golden: serde_json::Value =
        serde_json::from_str(include_str!("../../../tests/golden/trace_hashes.json")).unwrap();
    let golden = golden.as_object().unwrap();
    assert_eq!(golden.len(), commitscope_protocols::presets::ALL.len());
    for p in commitscope_protocols::presets::ALL {
        let run = commitscope_protocols::run(&p.scenario()).unwrap();
        let hash = format!("{:016x}", run.trace_hash());
        assert_eq!(Some(hash.as_str()), golden[p.id].as_str(), "{} differs from native", p.id);
    }
}

#[wasm_bindgen_test]
async fn stepping_and_keyboard_move_the_cursor_and_narrate() {
    let app = Mounted::new(None).await;
    app.click("button[aria-label^='Jump to start']").await;
    assert!(app.text(".narration").contains("Before the first event"));
    app.click("button[aria-label^='Step forward']").await;
    assert!(
        app.text(".narration").contains("coord receives a client request"),
        "{}",
        app.text(".narration")
    );
    app.key("ArrowRight").await;
    assert!(
        app.text(".narration").contains("idle → collecting_votes"),
        "{}",
        app.text(".narration")
    );
    app.key("ArrowLeft").await;
    assert!(app.text(".narration-tag").starts_with("#0"));
    app.key("End").await;
    assert!(app.text(".narration").contains("cancels timer resend"), "{}", app.text(".narration"));
    app.key("Home").await;
    assert!(app.text(".narration").contains("Before the first event"));
    // Space plays; a tick is an action, so play/pause is visible in the button at once.
    app.key(" ").await;
    assert!(app.text("button.play").contains("Pause"));
    app.key(" ").await;
    assert!(app.text("button.play").contains("Play"));
    app.key("?").await;
    assert!(app
        .root
        .query_selector("[aria-label='Keyboard shortcuts'][role=dialog]")
        .unwrap()
        .is_some());
    app.key("Escape").await;
    assert!(app.root.query_selector("[role=dialog]").unwrap().is_none());
}

#[wasm_bindgen_test]
async fn while_the_scrubber_is_dragged_the_detail_panels_catch_up_when_it_rests() {
    let app = Mounted::new(None).await;
    app.key("Home").await;
    let slider: web_sys::HtmlInputElement = app.one(".scrub input[type=range]").dyn_into().unwrap();
    slider.set_value(&slider.max());
    slider.dispatch_event(&web_sys::InputEvent::new("input").unwrap()).unwrap();
    yew::scheduler::flush().await;
    // The frame of the drag: the diagram's cursor and the narration are at the end ...
    assert!(app.text(".narration").contains("cancels timer resend"), "{}", app.text(".narration"));
    assert!(app.text(".cursor text").starts_with("▶ t="), "{}", app.text(".cursor text"));
    // ... the event log still shows the moment it drew (the start: no current event) ...
    assert!(app.root.query_selector(".log-item.current").unwrap().is_none());
    // ... and catches up once the scrubber rests.
    for _ in 0..50 {
        if app.root.query_selector(".log-item.current").unwrap().is_some() {
            break;
        }
        yew::platform::time::sleep(std::time::Duration::from_millis(20)).await;
        yew::scheduler::flush().await;
    }
    assert!(app.text(".log-item.current").contains("cancels timer resend"));
    // A step is never deferred.
    app.key("ArrowLeft").await;
    assert!(!app.text(".log-item.current").contains("cancels timer resend"));
}

#[wasm_bindgen_test]
async fn crashing_the_coordinator_blocks_the_participants() {
    let app = Mounted::new(None).await;
    // Rewind to the moment all three participants have voted (#20: p2's timer is set).
    for _ in 0..35 {
        app.key("ArrowLeft").await;
    }
    assert!(app.text(".narration-tag").starts_with("#20"), "{}", app.text(".narration-tag"));
    assert!(app.property("AC1").contains("holds"));
    app.click("[data-fault='crash'][data-node='coord']").await;
    assert!(app.text(".narration").contains("coord crashes"), "{}", app.text(".narration"));
    assert_eq!(app.all(".band-down").len(), 1, "coord's lane is down");
    assert!(app.one("[data-node='coord'].card").class_name().contains("card-down"));
    assert!(app
        .one("[data-fault='recover'][data-node='coord']")
        .text_content()
        .unwrap()
        .contains("Recover coord"));
    // The fork replaced the old future: nobody decides any more.
    assert_eq!(app.all(".mark-decide").len(), 0);
    app.key("End").await;
    assert!(app.all(".card-blocked").len() >= 3, "the participants are blocked in doubt");
    // Undo brings the old future (and its four commits) back.
    app.click_button("Undo").await;
    assert_eq!(app.all(".mark-decide .g-commit").len(), 4);
    assert_eq!(app.all(".band-down").len(), 0);
    assert!(app.text(".narration-tag").starts_with("#20"));
}

#[wasm_bindgen_test]
async fn dropping_an_in_flight_commit_shows_a_cross_and_a_retry() {
    let app = Mounted::new(None).await;
    // #30: coord has sent all three Commits; none has arrived.
    for _ in 0..25 {
        app.key("ArrowLeft").await;
    }
    assert!(app.text(".narration-tag").starts_with("#30"), "{}", app.text(".narration-tag"));
    let flying = app.all(".flying");
    assert_eq!(flying.len(), 3, "three Commits in flight");
    assert_eq!(app.all(".packet").len(), 3, "each message in flight is a dot on the cursor line");
    assert_eq!(app.all(".packet[data-send='29']").len(), 1);
    app.click(".flying[data-send='29'] [data-fault='drop']").await;
    assert_eq!(app.all(".arrow-dropped").len(), 1);
    assert_eq!(app.all(".arrow-dropped .cross").len(), 1);
    assert!(app
        .all(".drop-label")
        .iter()
        .any(|l| l.text_content().unwrap_or_default().contains("dropped")));
    // The coordinator's resend timer gets the Commit through in the end.
    app.key("End").await;
    assert_eq!(app.all(".mark-decide .g-commit").len(), 4);
    assert!(app.property("AC1").contains("holds"));
}

#[wasm_bindgen_test]
async fn partition_and_heal_are_network_events() {
    let app = Mounted::new(None).await;
    app.click("button[aria-label^='Jump to start']").await;
    app.key("ArrowRight").await;
    app.key("ArrowRight").await;
    app.click("input[aria-label='coord on side A']").await;
    app.click("[data-fault='partition']").await;
    assert!(
        app.text(".narration").contains("partitions into {coord} | {p1, p2, p3}"),
        "{}",
        app.text(".narration")
    );
    assert!(app.all(".arrow-dropped").len() >= 3, "Prepares are lost to the partition");
    app.key("End").await;
    let coord = app.text("[data-node='coord'].card .decision-abort");
    assert!(coord.contains("ABORT"), "the coordinator times out and aborts: {coord}");
}

#[wasm_bindgen_test]
async fn clicking_a_message_inspects_it() {
    let app = Mounted::new(None).await;
    app.click(".arrow[data-send='2']").await;
    let text = app.text(".inspector");
    assert!(text.contains("Prepare"), "{text}");
    assert!(text.contains("coord → p1"), "{text}");
    assert!(text.contains("delivered at t="), "{text}");
    assert!(app.text(".payload").contains("Prepare") || !app.text(".payload").is_empty());
}

#[wasm_bindgen_test]
async fn an_invalid_import_shows_the_error_and_keeps_the_run() {
    let app = Mounted::new(None).await;
    let arrows = app.all(".arrow").len();
    app.click_button("Import / export").await;
    let area: HtmlTextAreaElement = app.one("textarea.json").dyn_into().unwrap();
    area.set_value(
        r#"{"version": 1, "protocol": "two_pc", "faults": [{"at": 5, "crash": "zed"}]}"#,
    );
    app.click("button.import-load").await;
    let err = app.text(".import-error");
    assert!(err.contains("faults[0].crash") && err.contains("zed"), "{err}");
    assert_eq!(app.all(".arrow").len(), arrows, "the current run is untouched");
    area.set_value(commitscope_protocols::presets::find("two_pc/vote_no").unwrap().json);
    app.click("button.import-load").await;
    assert!(app.root.query_selector("[role=dialog]").unwrap().is_none());
    assert!(!app.all(".mark-decide .g-abort").is_empty(), "vote_no aborts");
}

#[wasm_bindgen_test]
async fn presets_and_violations_are_reachable() {
    let app = Mounted::new(Some("two_pc/coordinator_crash_blocks")).await;
    assert!(app.all(".band-down").len() == 1);
    assert!(app.all(".card-blocked").len() >= 3);
    app.key("Home").await;
    app.key("f").await;
    assert!(app.text(".narration").contains("crashes"), "{}", app.text(".narration"));
    app.key("d").await;
    // Verdicts are live: at the start nothing is witnessed yet.
    app.key("Home").await;
    assert!(
        app.property("commit_reachable").contains("not"),
        "{}",
        app.property("commit_reachable")
    );
}

/// A long run (a blocked 2PC retrying for a long virtual time): the diagram's DOM stays
/// bounded wherever the cursor is. Step timings are printed, not asserted (speed is a
/// benchmark's business; this is a debug build).
#[wasm_bindgen_test]
async fn a_long_trace_keeps_the_dom_bounded() {
    let mut s =
        commitscope_protocols::presets::find("two_pc/coordinator_crash_blocks").unwrap().scenario();
    s.limits.max_ticks = 4_300;
    let app = Mounted::new(None).await;
    app.click_button("Import / export").await;
    let area: HtmlTextAreaElement = app.one("textarea.json").dyn_into().unwrap();
    area.set_value(&s.to_json());
    app.click("button.import-load").await;
    let n_events: usize = app.text(".clock").rsplit('/').next().unwrap_or("0").parse().unwrap_or(0);
    assert!(n_events >= 2_000, "{n_events} events");
    let svg_nodes = || app.one("svg.diagram").get_elements_by_tag_name("*").length();
    let perf = web_sys::window().unwrap().performance().unwrap();
    // The scroll window follows the cursor: its line is on screen after every move.
    let cursor_on_screen = || {
        let scroller = app.one(".diagram-scroll");
        let y: f64 = app.one("g.cursor line").get_attribute("y1").unwrap().parse().unwrap();
        let (top, h) = (f64::from(scroller.scroll_top()), f64::from(scroller.client_height()));
        (top <= y && y <= top + h, format!("cursor line at y={y}, window {top}..{}", top + h))
    };
    let mut worst = svg_nodes();
    let mut times = Vec::new();
    for key in ["Home", "ArrowRight", "ArrowRight", "End", "ArrowLeft", "ArrowLeft", "Home"] {
        let t0 = perf.now();
        app.key(key).await;
        times.push((perf.now() - t0).round());
        worst = worst.max(svg_nodes());
        let (ok, why) = cursor_on_screen();
        assert!(ok, "after {key}: {why}");
    }
    for _ in 0..60 {
        app.key("ArrowRight").await;
        let (ok, why) = cursor_on_screen();
        assert!(ok, "stepping: {why}");
    }
    web_sys::console::log_1(
        &format!("long trace: {n_events} events, at most {worst} SVG nodes, render ms {times:?}")
            .into(),
    );
    assert!(worst < 1_500, "the diagram draws {worst} SVG nodes for {n_events} events");
}

/// The diagram is re-measured when its box changes without the window resizing (a course
/// page's column narrows, a panel folds away): the lanes fit the new width, and a shorter
/// window still shows the cursor's line.
#[wasm_bindgen_test]
async fn the_diagram_follows_its_container_size() {
    let app = Mounted::new(Some("two_pc/lost_commit")).await;
    let svg_width = || -> f64 {
        app.one("svg.diagram").get_attribute("width").unwrap_or_default().parse().unwrap_or(0.0)
    };
    let wide = svg_width();
    assert!(wide > 420.0, "{wide}");
    let root: HtmlElement = app.root.clone().dyn_into().unwrap();
    root.style().set_property("width", "420px").unwrap();
    app.until("the lanes to fit the narrower column", |_| svg_width() <= 420.0).await;

    // Follow the cursor from the end backwards, then shrink the window under its line.
    app.key("End").await;
    for _ in 0..3 {
        app.key("ArrowLeft").await;
    }
    let scroller: HtmlElement = app.one(".diagram-scroll").dyn_into().unwrap();
    let line_y =
        || -> f64 { app.one("g.cursor line").get_attribute("y1").unwrap().parse().unwrap() };
    let on_screen = || {
        let (top, h) = (f64::from(scroller.scroll_top()), f64::from(scroller.client_height()));
        top <= line_y() && line_y() <= top + h
    };
    assert!(on_screen(), "before: the line is in the window");
    scroller.style().set_property("max-height", "160px").unwrap();
    app.until("the window to keep the line in view at 160 px", |_| {
        scroller.client_height() <= 160 && on_screen()
    })
    .await;
    assert!(scroller.scroll_top() > 0, "the window scrolled to the line near the end");
}

#[wasm_bindgen_test]
async fn two_widgets_on_one_page_are_independent() {
    let a = Mounted::widget(&[
        ("preset", "two_pc/coordinator_crash_blocks"),
        ("controls", "play step"),
        ("at", "start"),
        ("id", "first"),
    ])
    .await;
    let b = Mounted::widget(&[
        ("preset", "three_pc/coordinator_crash_after_precommit"),
        ("at", "3"),
        ("theme", "dark"),
    ])
    .await;
    // Both draw their own run, each in its own region, with no error.
    assert_eq!(a.all(".lanes .lane").len(), 4);
    assert!(a.all(".arrow").len() >= 3 && b.all(".arrow").len() >= 3);
    assert!(a.root.query_selector(".error").unwrap().is_none(), "{}", a.root.inner_html());
    assert!(a.text(".cs-embed-title").contains("participants block"));
    assert!(b.text(".cs-embed-title").contains("commit by timeout"));
    assert_eq!(b.one(".cs-app").get_attribute("data-theme").as_deref(), Some("dark"));
    assert_eq!(a.one(".cs-app").get_attribute("role").as_deref(), Some("region"));
    // Inside a widget the panels are groups: the widget is the one landmark.
    assert_eq!(a.one(".properties").get_attribute("role").as_deref(), Some("group"));
    assert_eq!(a.one(".pane-diagram").get_attribute("role").as_deref(), Some("group"));
    assert!(a.text(".narration").contains("Before the first event"));
    assert!(b.text(".narration-tag").starts_with("#3"), "{}", b.text(".narration-tag"));
    // The diagram names its text alternative, and ids differ between the widgets.
    let log_a = a.one("svg.diagram").get_attribute("aria-describedby").unwrap();
    let log_b = b.one("svg.diagram").get_attribute("aria-describedby").unwrap();
    assert_ne!(log_a, log_b);
    assert_eq!(
        a.one(&format!("#{log_a}")).get_attribute("aria-label").as_deref(),
        Some("Event log")
    );
    // "play step": transport buttons, no slider, no jumps, no fault panel, no pickers.
    assert!(a.root.query_selector("input[type=range]").unwrap().is_none());
    assert!(a.root.query_selector(".jumps").unwrap().is_none());
    assert!(a.root.query_selector(".faults").unwrap().is_none());
    assert!(a.root.query_selector(".toolbar").unwrap().is_none());
    assert!(b.root.query_selector("input[type=range]").unwrap().is_some(), "default controls");
    // Stepping one leaves the other where it was.
    a.click("button[aria-label^='Step forward']").await;
    a.click("button[aria-label^='Step forward']").await;
    assert!(a.text(".narration-tag").starts_with("#1"), "{}", a.text(".narration-tag"));
    assert!(b.text(".narration-tag").starts_with("#3"));
    // A key acts on the widget it is pressed in, and only there.
    a.key_at(".diagram-scroll", "ArrowRight").await;
    assert!(a.text(".narration-tag").starts_with("#2"), "{}", a.text(".narration-tag"));
    assert!(b.text(".narration-tag").starts_with("#3"));
    b.key_at(".cs-app", "ArrowLeft").await;
    assert!(b.text(".narration-tag").starts_with("#2"), "{}", b.text(".narration-tag"));
    assert!(a.text(".narration-tag").starts_with("#2"));
    // Keys pressed elsewhere on the page reach no widget.
    a.key("ArrowRight").await;
    assert!(
        a.text(".narration-tag").starts_with("#2") && b.text(".narration-tag").starts_with("#2")
    );
    // Playing one does not play the other.
    a.key_at(".cs-app", " ").await;
    assert!(a.text("button.play").contains("Pause"));
    assert!(b.text("button.play").contains("Play"));
    // Without the jump controls, their keys do nothing either.
    a.key_at(".cs-app", " ").await;
    a.key_at(".cs-app", "End").await;
    let end = a.text(".narration-tag");
    a.key_at(".cs-app", "Home").await;
    a.key_at(".cs-app", "f").await;
    assert!(a.text(".narration").contains("Before the first event"), "F is not shown: {end}");
    // The open-in-the-app link names this moment of this run.
    let href = b.one(".cs-open").get_attribute("href").unwrap();
    assert!(
        href.starts_with("https://example.org/cs/index.html#")
            && href.contains("three_pc/coordinator_crash_after_precommit"),
        "{href}"
    );
}

#[wasm_bindgen_test]
async fn a_widget_with_bad_attributes_says_so_and_still_draws() {
    let w = Mounted::widget(&[
        ("preset", "two_pc/does_not_exist"),
        ("controls", "play fly"),
        ("height", "tall"),
        ("colour", "red"),
    ])
    .await;
    let err = w.text(".error");
    for needle in [
        "there is no preset \"two_pc/does_not_exist\"",
        "unknown control \"fly\"",
        "height: expected",
        "unknown attribute \"colour\"",
        "showing the preset \"two_pc/happy_path\" instead",
    ] {
        assert!(err.contains(needle), "{needle:?} not in {err}");
    }
    assert_eq!(w.all(".lanes .lane").len(), 4, "the default run is drawn");
    let bad_json = Mounted::widget(&[("scenario", "{\"version\": 1, \"protocol\": ")]).await;
    assert!(bad_json.text(".error").contains("not valid JSON"), "{}", bad_json.text(".error"));
    assert!(!bad_json.all(".arrow").is_empty());
}

#[wasm_bindgen_test]
async fn a_widget_scenario_height_and_autoplay() {
    let json = commitscope_protocols::presets::find("saga/shipping_down").unwrap().json;
    let w = Mounted::widget(&[
        ("scenario", json),
        ("height", "300px"),
        ("controls", "all"),
        ("autoplay", ""),
    ])
    .await;
    assert!(w.root.query_selector(".error").unwrap().is_none(), "{}", w.text(".cs-app"));
    assert!(w.text(".cs-embed-title").contains("shipping is down"));
    let scroller: HtmlElement = w.one(".diagram-scroll").dyn_into().unwrap();
    assert_eq!(scroller.style().get_property_value("height").unwrap(), "300px");
    assert_eq!(scroller.offset_height(), 300, "the height attribute sizes the diagram");
    // Autoplay starts from the beginning and plays (the browser asks for no reduced motion).
    assert!(w.text("button.play").contains("Pause"));
    assert!(w.text(".narration").contains("Before the first event"));
    // "all": the fault panel and the pickers are there.
    assert!(w.root.query_selector(".faults [data-fault='crash']").unwrap().is_some());
    assert!(w.root.query_selector(".toolbar").unwrap().is_some());
}

#[wasm_bindgen_test]
async fn no_inline_style_attributes() {
    // A strict CSP (style-src 'self') refuses style attributes: the app sets none.
    let app = Mounted::new(None).await;
    let styled = app.all("[style]");
    let allowed = |e: &Element| e.class_name() == "diagram-scroll";
    assert!(
        styled.iter().all(allowed),
        "style attributes on {:?}",
        styled
            .iter()
            .map(|e| e.outer_html().chars().take(80).collect::<String>())
            .collect::<Vec<_>>()
    );
}
