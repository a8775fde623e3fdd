//! CommitScope's front end: a Yew app that draws a recorded run as a space-time diagram,
//! plays it back, and turns clicks into faults appended to the scenario.
//!
//! - `state`: the one `Reducible` AppState and its `Action`s (never panics on input).
//! - `compare`: the compare view's model: one fault plan under two protocols, one clock.
//! - `layout`: pure geometry of the diagram, tested natively.
//! - `faults`: injected faults as scenario edits (fork, message selectors), pure.
//! - `link`: share links (scenario + moment in the URL hash, versioned), pure.
//! - `export`: the diagram as standalone SVG, the scenario and the trace as JSON, pure.
//! - `import`: recognising a pasted or loaded scenario, trace or course transcript, pure.
//! - `embed`: a widget's options (attributes or query) and the state they name, pure.
//! - `summary`: the run-summary panel's notes, told apart as anomalies or not, pure.
//! - `components`: function components that turn state and shapes into DOM/SVG.
//! - `hooks`: the playback timer, keyboard shortcuts, element size.
//!
//! Two entry points: `mount` (the full app, page-wide) and `mountWidget` (one embedded
//! widget; `web/embed.js` defines `<commit-scope>` on top of it and loads the wasm once
//! for every widget on the page).

pub mod compare;
pub mod components;
pub mod embed;
pub mod export;
pub mod faults;
pub mod hooks;
pub mod import;
pub mod layout;
pub mod link;
pub mod state;
pub mod summary;

pub use components::app::{App, AppProps, Embed};
use embed::EmbedOptions;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Mounts the app into `root` as the page's app: the address links to the current moment.
pub fn mount(root: web_sys::Element) -> yew::AppHandle<App> {
    let props = AppProps { preset: None, use_address: true, embed: None };
    yew::Renderer::<App>::with_root_and_props(root, props).render()
}

/// Mounts one embedded widget into `root`. Bad options never fail the mount: they are
/// listed inside the widget, which still shows a run.
pub fn mount_embed(
    root: web_sys::Element,
    options: EmbedOptions,
    app_url: Option<String>,
) -> yew::AppHandle<App> {
    let reduced_motion = web_sys::window()
        .and_then(|w| w.match_media("(prefers-reduced-motion: reduce)").ok().flatten())
        .is_some_and(|m| m.matches());
    let embed = Embed { options, app_url, reduced_motion };
    let props = AppProps { preset: None, use_address: false, embed: Some(Rc::new(embed)) };
    yew::Renderer::<App>::with_root_and_props(root, props).render()
}

/// A mounted widget, as JavaScript holds it: `destroy()` unmounts it (the custom element
/// calls it when it leaves the page).
#[wasm_bindgen]
pub struct Widget {
    handle: Option<yew::AppHandle<App>>,
}

#[wasm_bindgen]
impl Widget {
    pub fn destroy(&mut self) {
        if let Some(h) = self.handle.take() {
            h.destroy();
        }
    }
}

/// `mountWidget(element, options, appUrl)`: `options` is a plain object of attribute
/// names to values (`{preset: "two_pc/happy_path", controls: "play step"}`); values that
/// are not strings are read as their text. `appUrl` is the full app's page, for the
/// "open in CommitScope" link.
#[wasm_bindgen(js_name = mountWidget)]
pub fn mount_widget(root: web_sys::Element, options: JsValue, app_url: Option<String>) -> Widget {
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(obj) = options.dyn_ref::<js_sys::Object>() {
        for entry in js_sys::Object::entries(obj).iter() {
            let entry = js_sys::Array::from(&entry);
            let key = entry.get(0).as_string().unwrap_or_default();
            let value = entry.get(1);
            let value = value
                .as_string()
                .or_else(|| value.as_bool().map(|b| b.to_string()))
                .or_else(|| value.as_f64().map(|f| f.to_string()))
                .unwrap_or_default();
            pairs.push((key, value));
        }
    }
    let options = EmbedOptions::parse(pairs);
    Widget { handle: Some(mount_embed(root, options, app_url)) }
}
