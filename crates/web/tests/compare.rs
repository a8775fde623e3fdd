//! The compare view, Paxos Commit's and the sagas' cards, and the protocol switches in
//! headless Chromium: mount, act as a user would, `yew::scheduler::flush().await`, assert
//! on the DOM (and on the library's own figures). No sleeps.

use commitscope_protocols::compare::{compare_all, Options, Verdict, FAULT_PLANS};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, HtmlSelectElement};

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::{all_in, document, Mounted};

impl Mounted {
    /// Each side's cursor label in its diagram ("▶ t=12").
    fn cursors(&self) -> Vec<String> {
        self.all(".compare-side .cursor text").iter().filter_map(|t| t.text_content()).collect()
    }
}

fn text_of(e: &Element) -> String {
    e.text_content().unwrap_or_default()
}

/// The rows of the card table titled `title` on `node`'s card, as cell texts.
fn card_table(app: &Mounted, node: &str, title: &str) -> Vec<Vec<String>> {
    let card = app.one(&format!(".cards .card[data-node='{node}']"));
    let table = all_in(&card, ".view-table")
        .into_iter()
        .find(|t| t.get_attribute("data-table").as_deref() == Some(title))
        .unwrap_or_else(|| panic!("{node}'s card has no table {title}: {}", text_of(&card)));
    all_in(&table, "tbody tr")
        .iter()
        .map(|r| all_in(r, "th, td").iter().map(text_of).collect())
        .collect()
}

#[wasm_bindgen_test]
async fn compare_shows_two_diagrams_and_the_librarys_figures_for_n_3() {
    let app = Mounted::new(None).await;
    assert!(app.all(".compare").is_empty());
    app.click(".compare-toggle").await;
    assert_eq!(app.one(".compare-toggle").get_attribute("aria-pressed").as_deref(), Some("true"));
    let sides = app.all(".compare-side");
    assert_eq!(sides.len(), 2, "two runs side by side");
    assert_eq!(app.all(".compare-side svg.diagram").len(), 2, "two diagrams");
    assert_eq!(sides[0].get_attribute("data-protocol").as_deref(), Some("2PC"));
    assert_eq!(sides[1].get_attribute("data-protocol").as_deref(), Some("3PC, timeout rule"));
    // 2PC has 4 lanes (coord, p1..p3), as 3PC.
    for s in &sides {
        assert_eq!(all_in(s, ".lanes .lane").len(), 4);
    }
    // The plan in each protocol's own words, and what happened, measured.
    assert!(text_of(&sides[0]).contains("2PC has no PreCommit"), "{}", text_of(&sides[0]));
    assert!(text_of(&sides[1]).contains("coord crashes right after sending pre_commit to all 3"));
    assert!(app.text(".compare-side[data-side='0'] .side-verdict").contains("blocked"));
    assert!(app.text(".compare-side[data-side='1'] .side-verdict").contains("decides COMMIT"));

    // The cost table: exactly the library's figures (`commitscope compare --participants 3`).
    let rows = compare_all(3, Options::default()).unwrap();
    let trs = app.all(".compare-costs tbody tr");
    assert_eq!(trs.len(), rows.len());
    for (tr, r) in trs.iter().zip(&rows) {
        assert_eq!(tr.get_attribute("data-protocol").as_deref(), Some(r.label));
        let fig = |f: &str| text_of(&all_in(tr, &format!("td[data-figure='{f}']"))[0]);
        assert_eq!(fig("messages"), r.messages.to_string(), "{}", r.label);
        assert_eq!(fig("message_delays"), r.message_delays.to_string(), "{}", r.label);
        assert_eq!(fig("forced_writes"), r.forced_writes.to_string(), "{}", r.label);
    }
    assert_eq!(rows[0].messages, 12, "2PC, N = 3: 4N");
    assert!(app.text(".compare-costs").contains("commitscope compare --participants 3 --faults 1"));
    // The fault table: one row per plan, each cell the measured verdict.
    let plan_rows = app.all(".compare-faults tbody tr");
    assert_eq!(plan_rows.len(), FAULT_PLANS.len());
    for (i, tr) in plan_rows.iter().enumerate() {
        let cells = all_in(tr, "td");
        assert_eq!(cells.len(), rows.len());
        for (td, r) in cells.iter().zip(&rows) {
            let word = match r.faults[i].verdict {
                Verdict::Blocked => "blocked",
                Verdict::Decides => "decides",
                Verdict::ViolatesAc1 => "violates AC1",
                Verdict::NotApplicable => "n/a",
            };
            assert!(
                text_of(td).contains(word),
                "{} under {}: {}",
                FAULT_PLANS[i].id,
                r.label,
                text_of(td)
            );
        }
    }
    assert!(text_of(&plan_rows[2]).contains("violates AC1"), "3PC splits under the partition");

    // Other protocols and N: the figures follow the library.
    app.pick("Right", "3").await;
    app.pick("Participants", "4").await;
    assert_eq!(
        app.one(".compare-side[data-side='1']").get_attribute("data-protocol").as_deref(),
        Some("Paxos Commit")
    );
    let pc = app
        .all(".compare-costs tbody tr")
        .into_iter()
        .find(|tr| tr.get_attribute("data-protocol").as_deref() == Some("Paxos Commit"))
        .unwrap();
    let rows4 = compare_all(4, Options::default()).unwrap();
    assert_eq!(
        text_of(&all_in(&pc, "td[data-figure='messages']")[0]),
        rows4[3].messages.to_string()
    );
    // Acceptor lanes are marked apart from the resource managers'.
    let right = app.one(".compare-side[data-side='1']");
    assert_eq!(all_in(&right, ".lanes .lane.r-acceptor").len(), 3, "tm (a0), a1, a2");
    assert_eq!(all_in(&right, ".lanes .lane").len(), 7, "tm, rm1..rm4, a1, a2");

    // A plan that does not apply says so instead of drawing a run.
    app.pick("Participants", "1").await;
    app.pick("Fault plan", "2").await;
    assert_eq!(app.all(".compare-side svg.diagram").len(), 0);
    assert_eq!(app.all(".plan-na").len(), 2, "{}", app.text(".compare-diagrams"));
    // A setting that does not fit is refused with a reason; the view stays.
    app.pick("Participants", "2").await;
    let colocated = app.one(".compare-colocated input").dyn_into::<HtmlElement>().unwrap();
    colocated.click();
    yew::scheduler::flush().await;
    assert!(app.text(".error").contains("participants 3 or more"), "{}", app.text(".error"));
    assert_eq!(app.all(".compare-side").len(), 2);

    // Closing brings the single run back as it was.
    app.click(".compare-toggle").await;
    assert!(app.all(".compare").is_empty());
    assert_eq!(app.all(".cards .card").len(), 4);
}

#[wasm_bindgen_test]
async fn one_cursor_in_virtual_time_moves_both_diagrams() {
    let app = Mounted::new(None).await;
    app.click(".compare-toggle").await;
    let at_end = app.cursors();
    assert_eq!(at_end.len(), 2);
    let end = app.text(".compare-clock");
    let end_t = end.trim_start_matches("t=").split('/').next().unwrap().to_string();
    assert_eq!(at_end, [format!("▶ t={end_t}"), format!("▶ t={end_t}")]);
    // Back to the start, then one moment at a time: both cursors always show the clock's t.
    app.click(".compare-start").await;
    assert!(app.text(".compare-clock").starts_with("start"));
    let mut seen = Vec::new();
    for _ in 0..6 {
        app.click(".compare-forward").await;
        let clock = app.text(".compare-clock");
        let t = clock.trim_start_matches("t=").split('/').next().unwrap().to_string();
        assert_eq!(app.cursors(), [format!("▶ t={t}"), format!("▶ t={t}")], "{clock}");
        seen.push(t.parse::<u64>().unwrap());
        // One horizontal line across both diagrams (the rows are aligned in time).
        let ys: Vec<String> = app
            .all(".compare-side .cursor line")
            .iter()
            .filter_map(|l| l.get_attribute("y1"))
            .collect();
        assert_eq!(ys[0], ys[1], "t={t}");
    }
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "each step is a later moment: {seen:?}");
    // Scrolling one diagram scrolls the other to the same moment (the rows are aligned).
    let scrollers = app.all(".compare-side .diagram-scroll");
    assert_eq!(scrollers.len(), 2);
    scrollers[1].set_scroll_top(0);
    scrollers[0].set_scroll_top(150);
    assert_eq!(scrollers[0].scroll_top(), 150, "the diagram is taller than its window");
    scrollers[0].dispatch_event(&web_sys::Event::new("scroll").unwrap()).unwrap();
    yew::scheduler::flush().await;
    assert_eq!(scrollers[1].scroll_top(), 150);
    // The keyboard drives the same clock.
    let before = app.cursors();
    let init = web_sys::KeyboardEventInit::new();
    init.set_key("ArrowLeft");
    init.set_bubbles(true);
    let e = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    document().dispatch_event(&e).unwrap();
    yew::scheduler::flush().await;
    let after = app.cursors();
    assert_ne!(before, after);
    assert_eq!(after[0], after[1]);
    // Each side narrates its own run at that moment.
    let narrations: Vec<String> = app.all(".side-narration").iter().map(text_of).collect();
    assert_eq!(narrations.len(), 2);
    let t: u64 = after[0].trim_start_matches("▶ t=").parse().unwrap();
    for n in &narrations {
        // The last event of that run at or before the clock's time.
        let at: u64 = n.trim_start_matches("t=").split(' ').next().unwrap().parse().unwrap();
        assert!(at <= t, "{n} at t={t}");
    }
}

#[wasm_bindgen_test]
async fn a_paxos_commit_card_shows_its_table_of_instances() {
    let app = Mounted::new(Some("paxos_commit/fault_free")).await;
    let acceptors = app.all(".lanes .lane.r-acceptor");
    assert_eq!(acceptors.len(), 3, "tm (a0), a1, a2 are acceptor lanes");
    assert_eq!(app.all(".lanes .lane").len(), 6);
    let rows = card_table(&app, "a1", "instances at acceptor a1");
    assert_eq!(
        rows,
        [
            ["rm1", "b0", "b0", "Prepared"],
            ["rm2", "b0", "b0", "Prepared"],
            ["rm3", "b0", "b0", "Prepared"]
        ]
    );
    let heads: Vec<String> =
        app.all(".card[data-node='a1'] .view-table thead th").iter().map(text_of).collect();
    assert_eq!(heads, ["instance", "promised", "accepted ballot", "accepted value"]);
    // The leader: instance × acceptor.
    let votes = card_table(&app, "tm", "phase 2b votes received");
    assert_eq!(votes[1], ["rm2", "b0 Prepared", "b0 Prepared", "b0 Prepared", "Prepared"]);
    // At the start nothing is accepted yet: the table follows the cursor.
    app.click("button[aria-label^='Jump to start']").await;
    for _ in 0..3 {
        app.click("button[aria-label^='Step forward']").await;
    }
    let early = all_in(&app.one(".cards .card[data-node='a1']"), ".view-table td");
    assert!(early.iter().all(|c| !text_of(c).contains("Prepared")), "nothing accepted yet");
    // The presets of issue 5 are in the picker.
    let options: Vec<String> = app
        .all("select[aria-label='Scenario preset'] option")
        .iter()
        .filter_map(|o| o.get_attribute("value"))
        .collect();
    for id in [
        "paxos_commit/fault_free",
        "paxos_commit/leader_crash",
        "paxos_commit/f_acceptors_crash",
        "paxos_commit/f_plus_one_acceptors_crash",
    ] {
        assert!(options.iter().any(|o| o == id), "{id}");
    }
}

#[wasm_bindgen_test]
async fn a_saga_card_shows_local_data_the_dedup_table_and_the_compensation_stack() {
    let app = Mounted::new(Some("saga/shipping_down")).await;
    // The service's local data and its dedup table.
    let payment = app.one(".cards .card[data-node='payment']");
    assert!(text_of(&payment).contains("balances"), "{}", text_of(&payment));
    let dedup = card_table(&app, "payment", "dedup table");
    assert_eq!(dedup.len(), 1);
    assert_eq!(dedup[0][0], "s1/charge");
    assert!(dedup[0][1].starts_with("charged 250 to alice · undone"), "{:?}", dedup[0]);
    // At the end the stack has unwound: refund, then release.
    let stack = card_table(&app, "orch", "compensation stack s1");
    assert_eq!(
        stack,
        [["refund", "charge", "undone"], ["release", "reserve", "undone"]],
        "compensations in reverse order"
    );
    // Back in time, then forward until shipping has failed: both undos are on the stack,
    // refund on top, being undone.
    app.click("button[aria-label^='Jump to start']").await;
    let mut unwinding = None;
    for _ in 0..200 {
        app.click("button[aria-label^='Step forward']").await;
        let card = app.one(".cards .card[data-node='orch']");
        if all_in(&card, ".view-table").iter().any(|t| text_of(t).contains("undoing (top)")) {
            unwinding = Some(card_table(&app, "orch", "compensation stack s1"));
            break;
        }
    }
    let unwinding = unwinding.expect("the stack is seen unwinding");
    assert_eq!(
        unwinding,
        [["refund", "charge", "undoing (top)"], ["release", "reserve", "waiting"]]
    );
}

#[wasm_bindgen_test]
async fn the_orchestration_choreography_switch_flips_the_same_checkout() {
    let app = Mounted::new(Some("saga/happy_path")).await;
    let pressed = |app: &Mounted| -> String {
        app.all("[data-switch='mode'] button[aria-pressed='true']").iter().map(text_of).collect()
    };
    assert_eq!(pressed(&app), "Orchestration");
    let lanes: Vec<String> = app.all(".lane-title").iter().map(text_of).collect();
    assert_eq!(lanes, ["orch", "inventory", "payment", "shipping"]);
    app.click_button("Choreography").await;
    assert_eq!(pressed(&app), "Choreography");
    let lanes: Vec<String> = app.all(".lane-title").iter().map(text_of).collect();
    assert_eq!(
        lanes,
        ["broker", "inventory", "payment", "shipping"],
        "the broker replaces the orchestrator"
    );
    // The same checkout: it is the choreography preset, and the services did the same work.
    let preset =
        app.one("select[aria-label='Scenario preset']").dyn_into::<HtmlSelectElement>().unwrap();
    assert_eq!(preset.value(), "saga/choreography_happy_path");
    assert!(text_of(&app.one(".cards .card[data-node='payment']")).contains("alice 400"));
    assert!(app.text(".notice").contains("Choreography"));
    app.click_button("Orchestration").await;
    assert_eq!(pressed(&app), "Orchestration");
    assert_eq!(preset.value(), "saga/happy_path");
    // A fault on the orchestrator cannot apply to a choreography: dropped, and said so.
    app.pick("Scenario preset", "saga/orchestrator_crash").await;
    app.click_button("Choreography").await;
    assert!(app.text(".notice").contains("did not apply"), "{}", app.text(".notice"));
    assert!(app.all(".error").is_empty());
}
