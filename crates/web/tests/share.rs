//! Share links, export and import in headless Chromium: open a link and land on its moment;
//! corrupted links; "Copy link"; the exported SVG parsed by the browser's XML parser; the
//! exported scenario and trace imported back to the same trace hash; a course transcript
//! and a file import; user strings rendered as text, never as HTML.

use commitscope_protocols::presets;
use commitscope_web::state::{Action, AppState};
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::Reducible;

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::Mounted;

impl Mounted {
    /// Opens the import/export dialog, pastes `text` and presses Load.
    async fn import(&self, text: &str) {
        if !self.has(".import-load") {
            self.click("button[title^='Export the diagram']").await;
        }
        let area: HtmlTextAreaElement = self.one("textarea.json").dyn_into().unwrap();
        area.set_value(text);
        self.click("button.import-load").await;
    }

    /// Chooses a file named `name` holding `text` in the dialog's file input.
    fn choose_file(&self, name: &str, text: &str) {
        let parts = js_sys::Array::of1(&JsValue::from_str(text));
        let file = web_sys::File::new_with_str_sequence(&parts, name).unwrap();
        let transfer = web_sys::DataTransfer::new().unwrap();
        transfer.items().add_with_file(&file).unwrap();
        let input: HtmlInputElement = self.one("input.import-file").dyn_into().unwrap();
        input.set_files(transfer.files().as_ref());
        input.dispatch_event(&web_sys::Event::new("change").unwrap()).unwrap();
    }
}

fn location() -> web_sys::Location {
    web_sys::window().unwrap().location()
}

fn set_hash(hash: &str) {
    let h = web_sys::window().unwrap().history().unwrap();
    let url = if hash.is_empty() {
        format!("{}{}", location().pathname().unwrap(), location().search().unwrap())
    } else {
        hash.to_string()
    };
    h.replace_state_with_url(&JsValue::NULL, "", Some(&url)).unwrap();
}

async fn fetch_text(url: &str) -> String {
    let resp = JsFuture::from(web_sys::window().unwrap().fetch_with_str(url)).await.unwrap();
    let resp: web_sys::Response = resp.dyn_into().unwrap();
    JsFuture::from(resp.text().unwrap()).await.unwrap().as_string().unwrap()
}

/// The state a user reaches on `preset` by seeking to `at` and crashing `victim` there.
fn forked(preset: &str, at: u32, victim: &str) -> Rc<AppState> {
    Rc::new(AppState::from_preset(preset).unwrap())
        .reduce(Action::Seek(Some(at)))
        .reduce(Action::Inject(commitscope_web::faults::Injection::Crash(victim.into())))
}

#[wasm_bindgen_test]
async fn a_share_link_opens_the_same_run_at_the_same_moment() {
    let s = forked("two_pc/lost_commit", 14, "p2");
    let link = s.link();
    assert!(link.starts_with("#v=1&p=two_pc/lost_commit&d="), "{link}");
    set_hash(&link);
    let app = Mounted::with_address(None, true).await;
    let cursor = s.cursor.unwrap();
    let event = &s.data.events()[cursor as usize];
    assert!(
        app.text(".narration-tag").starts_with(&format!("#{cursor} ")),
        "{}",
        app.text(".narration-tag")
    );
    assert_eq!(app.text(".narration-text"), event.narration);
    assert_eq!(event.kind, "crash", "the fault was at the cursor");
    assert_eq!(app.all(".band-down").len(), 1, "p2 is down");
    assert!(!app.has(".error"), "{}", app.root.inner_html());
    // The address follows the cursor once it rests: it is a link to this moment.
    app.key("ArrowRight").await;
    let next = s.clone().reduce(Action::Step(1));
    app.until("the address to follow the cursor", |_| location().hash().unwrap() == next.link())
        .await;
    // A link pasted into the address bar of the open app opens too (no reload happens).
    location().set_hash("#v=1&p=two_pc/vote_no&at=start").unwrap();
    app.until("the pasted link", |a| a.text(".narration").contains("Before the first event")).await;
    let select: HtmlSelectElement =
        app.one("select[aria-label='Scenario preset']").dyn_into().unwrap();
    assert_eq!(select.value(), "two_pc/vote_no");
    drop(app);
    set_hash("");
}

#[wasm_bindgen_test]
async fn corrupted_links_say_why_and_show_the_default_scenario() {
    for (hash, says) in [
        ("#v=1&p=two_pc/lost_commit&d=eyJmYXVsdHMrIjpbeyJhZnR", "damaged"),
        ("#v=2&p=two_pc/lost_commit&at=3", "version \"2\""),
        ("#v=1&p=two_pc/no_such_thing", "no preset"),
        ("#v=1&s=!!!", "damaged"),
    ] {
        set_hash(hash);
        let app = Mounted::with_address(None, true).await;
        let err = app.text(".error-text");
        assert!(err.contains("could not be opened") && err.contains(says), "{hash}: {err}");
        assert_eq!(app.all(".lanes .lane").len(), 4, "{hash}: the default scenario is drawn");
        let select: HtmlSelectElement =
            app.one("select[aria-label='Scenario preset']").dyn_into().unwrap();
        assert_eq!(select.value(), "two_pc/happy_path");
        drop(app);
    }
    // A moment past the end: the run opens at its end, and says so.
    set_hash("#v=1&p=two_pc/vote_no&at=99999");
    let app = Mounted::with_address(None, true).await;
    assert!(app.text(".error-text").contains("past the end"));
    assert!(app.one("button[aria-label^='Step forward']").has_attribute("disabled"));
    drop(app);
    set_hash("");
}

#[wasm_bindgen_test]
async fn copy_link_shows_the_link_to_this_moment() {
    let app = Mounted::new(Some("three_pc/happy_path")).await;
    app.key("Home").await;
    app.key("ArrowRight").await;
    app.key("ArrowRight").await;
    app.click("button.share-button").await;
    let field: HtmlInputElement = app.one("input.share-url").dyn_into().unwrap();
    assert!(field.value().ends_with("#v=1&p=three_pc/happy_path&at=1"), "{}", field.value());
    assert!(field.value().starts_with("http"), "{}", field.value());
    // Copied, or (clipboard refused in a headless browser) selected for copying by hand.
    app.until("the clipboard's answer", |a| !a.text(".share-status").contains("Copying")).await;
    let status = app.text(".share-status");
    assert!(status.contains("Copied") || status.contains("Select the link"), "{status}");
    app.click("button.share-close").await;
    assert!(!app.has("input.share-url"));
}

#[wasm_bindgen_test]
async fn the_exported_svg_parses_and_holds_the_whole_run() {
    let app = Mounted::new(Some("two_pc/lost_commit")).await;
    app.click("button[title^='Export the diagram']").await;
    let a = app.one("a.export-svg");
    assert_eq!(a.get_attribute("download").unwrap(), "commitscope-two_pc-lost_commit.svg");
    let href = a.get_attribute("href").unwrap();
    assert!(href.starts_with("blob:"), "{href}");
    let svg = fetch_text(&href).await;
    let parser = web_sys::DomParser::new().unwrap();
    let doc = parser.parse_from_string(&svg, web_sys::SupportedType::ImageSvgXml).unwrap();
    assert_eq!(doc.get_elements_by_tag_name("parsererror").length(), 0, "{svg}");
    let root = doc.document_element().unwrap();
    assert_eq!(root.tag_name(), "svg");
    assert_eq!(root.namespace_uri().as_deref(), Some("http://www.w3.org/2000/svg"));
    let count = |sel: &str| root.query_selector_all(sel).unwrap().length();
    let run = commitscope_protocols::run(&presets::find("two_pc/lost_commit").unwrap().scenario())
        .unwrap();
    let n = |kind: &str| run.events().iter().filter(|e| e.kind == kind).count() as u32;
    assert_eq!(count("line.lane"), 4);
    assert_eq!(count("g.arrow"), n("deliver") + n("drop"), "every message, not just the window");
    assert_eq!(count(".cross"), 1, "the dropped Commit ends in a cross");
    assert_eq!(count("g.mark-decide"), n("decide"));
    assert_eq!(count("g.mark-persist"), n("persist"));
    assert!(count(".band-doubt") >= 3);
    let title = root.query_selector("title").unwrap().unwrap().text_content().unwrap();
    assert_eq!(Some(title), run.scenario().title.clone());
    // The diagram on the page draws a window; the export draws everything.
    assert!(count("g.arrow") as usize >= app.all(".diagram .arrow").len());
}

#[wasm_bindgen_test]
async fn exported_json_imports_back_to_the_same_trace_hash() {
    let preset = presets::find("two_pc/cooperative_termination").unwrap();
    let golden: serde_json::Value =
        serde_json::from_str(include_str!("../../../tests/golden/trace_hashes.json")).unwrap();
    let hash = golden[preset.id].as_str().unwrap().to_string();
    let app = Mounted::new(Some(preset.id)).await;
    app.click("button[title^='Export the diagram']").await;
    let trace = fetch_text(&app.one("a.export-trace").get_attribute("href").unwrap()).await;
    let scenario = fetch_text(&app.one("a.export-scenario").get_attribute("href").unwrap()).await;
    let t: serde_json::Value = serde_json::from_str(&trace).unwrap();
    assert_eq!(t["trace_hash"], hash.as_str());
    assert_eq!(t["format"], "commitscope-trace");
    // Start from something else, then import the trace: the run comes back and says so.
    app.click("button[title^='Export the diagram']").await;
    let select: HtmlSelectElement =
        app.one("select[aria-label='Scenario preset']").dyn_into().unwrap();
    select.set_value("two_pc/happy_path");
    select.dispatch_event(&web_sys::Event::new("change").unwrap()).unwrap();
    yew::scheduler::flush().await;
    assert_eq!(app.all(".lanes .lane").len(), 4);
    app.import(&trace).await;
    let notice = app.text(".notice");
    assert!(notice.contains(&format!("reproduces its hash {hash}")), "{notice}");
    // A tampered hash is reported, not hidden.
    app.import(&trace.replace(&hash, "0000000000000000")).await;
    assert!(
        app.text(".notice").contains("not the file's 0000000000000000"),
        "{}",
        app.text(".notice")
    );
    // The scenario JSON imports back too: its trace has the same hash.
    app.import(&scenario).await;
    assert!(app.text(".notice").contains("scenario imported"));
    app.click("button[title^='Export the diagram']").await;
    let again = fetch_text(&app.one("a.export-trace").get_attribute("href").unwrap()).await;
    let again: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again["trace_hash"], hash.as_str());
}

#[wasm_bindgen_test]
async fn a_course_transcript_replays_as_a_run() {
    let app = Mounted::new(None).await;
    app.import(include_str!("../../../tests/fixtures/harness/two_pc_blocks.txt")).await;
    assert!(!app.has("[role=dialog]"), "{}", app.text(".import-error"));
    let notice = app.text(".notice");
    assert!(notice.contains("transcript replayed") && notice.contains("replies match"), "{notice}");
    let lanes: Vec<String> =
        app.all(".lane-title").iter().filter_map(|t| t.text_content()).collect();
    assert_eq!(lanes, ["coord", "p1", "p2"], "the case's two participants");
    assert_eq!(app.all(".band-down").len(), 1, "the coordinator crashed after Prepare");
    assert!(app.all(".card-blocked").len() >= 2, "the prepared participants are blocked");
    // A saga case replays too.
    app.import(include_str!("../../../tests/fixtures/harness/saga_checkout.txt")).await;
    assert!(app.text(".notice").contains("transcript replayed"), "{}", app.text(".notice"));
    // A bad line is named by its number, and the run stays.
    let arrows = app.all(".arrow").len();
    app.import("# a case\n-> {\"src\":\"c0\",\"dest\":\"coord\",\"body\":{\"type\":\"init\",\"msg_id\":1,\"participants\":[\"a\"]}}\n-> {\"src\":\"c1\",\"dest\":\"coord\",\"body\":{\"type\":\"txn_begin\",\"msg_id\":2,\"crash_coordinator_after\":\"never\"}}\n").await;
    let err = app.text(".import-error");
    assert!(err.starts_with("transcript line 3:") && err.contains("never"), "{err}");
    assert_eq!(app.all(".arrow").len(), arrows, "the current run is untouched");
}

#[wasm_bindgen_test]
async fn a_chosen_file_imports_like_a_paste() {
    let app = Mounted::new(None).await;
    app.click("button[title^='Export the diagram']").await;
    app.choose_file("vote_no.json", presets::find("three_pc/vote_no").unwrap().json);
    app.until("the file to be read and imported", |a| a.has(".notice")).await;
    assert!(app.text(".notice").contains("scenario imported"), "{}", app.text(".notice"));
    assert!(!app.all(".mark-decide .g-abort").is_empty(), "3PC vote no aborts");
    // A file that is no scenario: the error names the problem, the run stays.
    app.click("button[title^='Export the diagram']").await;
    let arrows = app.all(".arrow").len();
    app.choose_file("bad.json", "{\"version\": 1, \"protocol\": \"four_pc\"}");
    app.until("the bad file's error", |a| a.has(".import-error")).await;
    assert!(app.text(".import-error").contains("four_pc"), "{}", app.text(".import-error"));
    assert_eq!(app.all(".arrow").len(), arrows);
}

#[wasm_bindgen_test]
async fn user_strings_are_text_never_html() {
    let app = Mounted::new(None).await;
    let evil = "<img src=x onerror=\"window.__cs_xss=1\"><b>bold</b>";
    let mut s = presets::find("two_pc/happy_path").unwrap().scenario();
    s.title = Some(evil.into());
    app.import(&s.to_json()).await;
    let option = app.one("select[aria-label='Scenario preset'] option");
    assert_eq!(option.text_content().unwrap(), evil, "the title shows as text");
    assert!(!app.has("img") && !app.has("b"), "no element was made from the string");
    // An error that quotes the user's input quotes it as text too.
    app.import(r#"{"version": 1, "protocol": "two_pc", "faults": [{"at": 1, "crash": "<img src=x onerror=\"window.__cs_xss=1\">"}]}"#).await;
    assert!(app.text(".import-error").contains("<img src=x"), "{}", app.text(".import-error"));
    assert!(!app.has("img"));
    let flag = js_sys::Reflect::get(&web_sys::window().unwrap(), &"__cs_xss".into()).unwrap();
    assert!(flag.is_undefined(), "no handler ran");
}
