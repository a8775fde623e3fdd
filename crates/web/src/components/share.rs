//! Sharing and moving runs in and out of the page: the "Copy link" button (clipboard when
//! the browser allows it, else a selected text field), the export downloads (Blob URLs on
//! real `<a download>` links) and reading an imported file. The strings come from the pure
//! `link`, `export` and `import` modules; this file is only the browser glue.

use crate::export;
use crate::import::MAX_IMPORT_BYTES;
use crate::state::{Action, RunData};
use commitscope_engine::EventId;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlInputElement;
use yew::platform::spawn_local;
use yew::prelude::*;

/// The page's address without its hash, followed by `hash`.
fn address_with(hash: &str) -> String {
    let href = web_sys::window().and_then(|w| w.location().href().ok()).unwrap_or_default();
    let base = href.split('#').next().unwrap_or_default();
    format!("{base}{hash}")
}

/// Writes `text` to the clipboard; `false` when the browser has no clipboard API here
/// (an insecure origin) or refuses (no permission, no focus).
async fn copy_to_clipboard(text: &str) -> bool {
    let Some(window) = web_sys::window() else { return false };
    let nav = window.navigator();
    let clip = js_sys::Reflect::get(&nav, &JsValue::from_str("clipboard")).unwrap_or_default();
    if clip.is_undefined() || clip.is_null() {
        return false;
    }
    let write = js_sys::Reflect::get(&clip, &JsValue::from_str("writeText"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    let promise = write
        .and_then(|f| f.call1(&clip, &JsValue::from_str(text)).ok())
        .and_then(|p| p.dyn_into::<js_sys::Promise>().ok());
    match promise {
        Some(p) => JsFuture::from(p).await.is_ok(),
        None => false,
    }
}

#[derive(Properties, PartialEq)]
pub struct ShareLinkProps {
    pub data: Rc<RunData>,
    pub cursor: Option<EventId>,
}

#[derive(Clone, PartialEq)]
enum Copied {
    Trying,
    Yes,
    No,
}

/// "Copy link": the link to this moment, copied, and shown selected for copying by hand.
#[component]
pub fn ShareLink(props: &ShareLinkProps) -> Html {
    // The link shown: fixed when the button is pressed (the cursor may move on).
    let shown = use_state(|| None::<String>);
    let copied = use_state(|| Copied::Trying);
    let field = use_node_ref();
    let onclick = {
        let (shown, copied) = (shown.clone(), copied.clone());
        let (data, cursor) = (props.data.clone(), props.cursor);
        Callback::from(move |_: MouseEvent| {
            let url = address_with(&data.link(cursor));
            shown.set(Some(url.clone()));
            copied.set(Copied::Trying);
            let copied = copied.clone();
            spawn_local(async move {
                let ok = copy_to_clipboard(&url).await;
                copied.set(if ok { Copied::Yes } else { Copied::No });
            });
        })
    };
    // Select the text, so that Ctrl+C copies it whatever the clipboard said.
    use_effect_with((*shown).clone(), {
        let field = field.clone();
        move |_| {
            if let Some(input) = field.cast::<HtmlInputElement>() {
                let _ = input.focus();
                input.select();
            }
        }
    });
    let close = {
        let shown = shown.clone();
        Callback::from(move |_: MouseEvent| shown.set(None))
    };
    let onkeydown = {
        let shown = shown.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                e.stop_propagation();
                shown.set(None);
            }
        })
    };
    let status = match *copied {
        Copied::Trying => "Copying…",
        Copied::Yes => "Copied to the clipboard.",
        Copied::No => "Select the link and copy it (Ctrl+C / ⌘C).",
    };
    html! {
        <span class="share">
            <button class="share-button" {onclick} aria-haspopup="dialog"
                title="Copy a link to this moment of this run">
                <svg class="icon" width="14" height="14" viewBox="0 0 16 16" aria-hidden="true"
                    stroke="currentColor" stroke-width="1.8" stroke-linecap="round">
                    <path fill="none" d="M6.5 9.5l3-3M7.2 4.3l1.3-1.3a2.6 2.6 0 0 1 3.7 3.7l-1.4 1.4M8.8 11.7l-1.3 1.3a2.6 2.6 0 0 1-3.7-3.7l1.4-1.4" />
                </svg>
                {" Copy link"}</button>
            if let Some(url) = (*shown).clone() {
                <div class="share-pop" role="dialog" aria-label="Link to this moment" {onkeydown}>
                    <label class="share-label" for="cs-share-url">{"Link to this moment"}</label>
                    <input id="cs-share-url" ref={field} class="share-url" type="text" readonly=true value={url} />
                    <span class="share-status" role="status">{ status }</span>
                    <button class="plain share-close" onclick={close} aria-label="Close the link">{"✕"}</button>
                </div>
            }
        </span>
    }
}

/// A Blob URL, revoked when dropped (when the run changes or the dialog closes).
#[derive(PartialEq)]
struct BlobUrl(String);

impl BlobUrl {
    fn new(text: &str, mime: &str) -> Option<BlobUrl> {
        let parts = js_sys::Array::of1(&JsValue::from_str(text));
        let options = web_sys::BlobPropertyBag::new();
        options.set_type(mime);
        let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).ok()?;
        web_sys::Url::create_object_url_with_blob(&blob).ok().map(BlobUrl)
    }
}

impl Drop for BlobUrl {
    fn drop(&mut self) {
        let _ = web_sys::Url::revoke_object_url(&self.0);
    }
}

struct Downloads {
    stem: String,
    svg: Option<BlobUrl>,
    scenario: Option<BlobUrl>,
    trace: Option<BlobUrl>,
}

#[derive(Properties, PartialEq)]
pub struct ExportsProps {
    pub data: Rc<RunData>,
}

/// The three downloads of the current run, made once per run while the dialog is open.
#[component]
pub fn Exports(props: &ExportsProps) -> Html {
    let files = use_memo(props.data.clone(), |d| {
        let run = d.run.as_ref();
        Downloads {
            stem: export::file_stem(run, d.preset.or(d.origin)),
            svg: BlobUrl::new(&export::svg(run, &d.rows, d.preset), "image/svg+xml"),
            scenario: BlobUrl::new(&export::scenario_json(run), "application/json"),
            trace: BlobUrl::new(&export::trace_json(run), "application/json"),
        }
    });
    let link = |url: &Option<BlobUrl>, class: &'static str, file: String, text: &'static str| {
        match url {
            Some(u) => {
                html! { <a class={classes!("button", class)} href={u.0.clone()} download={file}>{ text }</a> }
            }
            None => {
                html! { <span class="muted">{ format!("{text}: this browser cannot make the file") }</span> }
            }
        }
    };
    let stem = &files.stem;
    html! {
        <div class="exports" role="group" aria-label="Export">
            { link(&files.svg, "export-svg", format!("{stem}.svg"), "⤓ Diagram (SVG)") }
            { link(&files.scenario, "export-scenario", format!("{stem}.scenario.json"), "⤓ Scenario (JSON)") }
            { link(&files.trace, "export-trace", format!("{stem}.trace.json"), "⤓ Trace (JSON)") }
        </div>
    }
}

/// Reads the file chosen in `input` and imports it (or says why it cannot).
pub fn import_file(input: &HtmlInputElement, on_action: Callback<Action>) {
    let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
    // Choosing the same file again should import again.
    input.set_value("");
    let name = file.name();
    if file.size() > MAX_IMPORT_BYTES as f64 {
        on_action.emit(Action::ShowError(format!(
            "{name}: the file is {:.0} MB; CommitScope reads at most {} MB",
            file.size() / 1_048_576.0,
            MAX_IMPORT_BYTES / 1_048_576
        )));
        return;
    }
    let promise = file.text();
    spawn_local(async move {
        match JsFuture::from(promise).await.ok().and_then(|v| v.as_string()) {
            Some(text) => on_action.emit(Action::Import(text)),
            None => on_action.emit(Action::ShowError(format!("{name}: the file cannot be read"))),
        }
    });
}
