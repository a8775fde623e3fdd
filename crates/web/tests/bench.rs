//! Rendering benchmark in headless Chromium (issue 3's budgets). Not part of the test
//! run: its one test is `#[ignore]`d and prints figures instead of asserting on time.
//! Run it on the size-optimised build that ships (the `web` profile):
//!
//! ```text
//! scripts/bench-browser.sh   # = cd crates/web && cargo test --profile web --target wasm32-unknown-unknown \
//!                            #       --test bench -- --include-ignored
//! ```
//!
//! It mounts the app on a 2,000-event trace (a blocked 2PC retrying for a long virtual
//! time), then measures the time from an input event to the end of Yew's re-render
//! (`yew::scheduler::flush`) and of the style and layout it causes, with the app's own
//! stylesheet: single steps (→) across the trace, and a scrub of the time
//! slider from one end to the other, one `input` event per position.

use commitscope_web::{App, AppProps};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, HtmlInputElement, HtmlTextAreaElement};

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

fn now() -> f64 {
    web_sys::window().unwrap().performance().unwrap().now()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn summary(name: &str, mut ms: Vec<f64>) -> String {
    ms.sort_by(f64::total_cmp);
    format!(
        "{name}: n={} median {:.2} ms, p90 {:.2} ms, max {:.2} ms",
        ms.len(),
        percentile(&ms, 0.5),
        percentile(&ms, 0.9),
        ms[ms.len() - 1]
    )
}

/// Style and layout: what the browser must do before the frame can be painted (reading
/// a size forces them now, so that the time measured includes them).
fn settle() {
    let _ = document().body().unwrap().offset_height();
}

async fn key(key: &str) {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key(key);
    init.set_bubbles(true);
    let e = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    document().dispatch_event(&e).unwrap();
    yew::scheduler::flush().await;
}

#[wasm_bindgen_test]
#[ignore = "a benchmark: run with --include-ignored on a release build"]
async fn render_budgets_on_a_2000_event_trace() {
    let doc = document();
    // The app's own stylesheet, as the page has it: style and layout are part of a frame.
    let style = doc.create_element("style").unwrap();
    style.set_text_content(Some(include_str!("../../../web/style.css")));
    doc.head().unwrap().append_child(&style).unwrap();
    let root = doc.create_element("div").unwrap();
    doc.body().unwrap().append_child(&root).unwrap();
    let props = AppProps { preset: None, use_address: false, embed: None };
    let t0 = now();
    let _handle = yew::Renderer::<App>::with_root_and_props(root.clone(), props).render();
    yew::scheduler::flush().await;
    let mount_ms = now() - t0;
    let one = |sel: &str| -> Element { root.query_selector(sel).unwrap().unwrap() };

    let mut s =
        commitscope_protocols::presets::find("two_pc/coordinator_crash_blocks").unwrap().scenario();
    s.limits.max_ticks = 4_300;
    let buttons = root.query_selector_all("button").unwrap();
    let json = (0..buttons.length())
        .filter_map(|i| buttons.item(i))
        .find(|b| b.text_content().unwrap_or_default().contains("Import / export"))
        .expect("the import/export button");
    json.dyn_into::<HtmlElement>().unwrap().click();
    yew::scheduler::flush().await;
    let area: HtmlTextAreaElement = one("textarea.json").dyn_into().unwrap();
    area.set_value(&s.to_json());
    let t0 = now();
    one("button.import-load").dyn_into::<HtmlElement>().unwrap().click();
    yew::scheduler::flush().await;
    let load_ms = now() - t0;
    let clock = one(".clock").text_content().unwrap_or_default();
    let n_events: usize = clock.rsplit('/').next().unwrap_or("0").trim().parse().unwrap_or(0);
    assert!(n_events >= 2_000, "{n_events} events ({clock})");

    // Steps: from the start, 400 single steps forward, then 100 back from the end.
    key("Home").await;
    let (mut renders, mut steps) = (Vec::new(), Vec::new());
    let keys = std::iter::repeat_n("ArrowRight", 400).chain(std::iter::repeat_n("ArrowLeft", 100));
    for (i, k) in keys.enumerate() {
        if i == 400 {
            key("End").await;
        }
        let t = now();
        key(k).await;
        renders.push(now() - t);
        settle();
        steps.push(now() - t);
    }

    // Scrub: the slider from 0 to its end in 200 positions.
    let slider: HtmlInputElement = one(".scrub input[type=range]").dyn_into().unwrap();
    let end: f64 = slider.max().parse().unwrap_or(0.0);
    let (mut frame_renders, mut frames) = (Vec::new(), Vec::new());
    let mut worst_nodes = 0;
    for i in 0..=200 {
        slider.set_value(&((end * f64::from(i) / 200.0).round()).to_string());
        let e = web_sys::InputEvent::new("input").unwrap();
        let t = now();
        slider.dispatch_event(&e).unwrap();
        yew::scheduler::flush().await;
        frame_renders.push(now() - t);
        settle();
        frames.push(now() - t);
        worst_nodes = worst_nodes.max(root.get_elements_by_tag_name("*").length());
    }

    let report = [
        format!("trace: {n_events} events"),
        format!("mount (default preset): {mount_ms:.1} ms; load the long trace: {load_ms:.1} ms"),
        summary("step re-render (Yew and the DOM)", renders),
        summary("step re-render + style + layout", steps),
        {
            let slow: Vec<usize> = (0..frames.len()).filter(|&i| frames[i] > 16.0).collect();
            format!(
                "scrub frames over 16 ms: {} of {} (positions {slow:?})",
                slow.len(),
                frames.len()
            )
        },
        summary("scrub frame re-render (Yew and the DOM)", frame_renders),
        summary("scrub frame re-render + style + layout", frames),
        format!("DOM elements in the app while scrubbing: at most {worst_nodes}"),
    ];
    for line in report {
        web_sys::console::log_1(&format!("BENCH {line}").into());
    }
}
