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
//! - `components`: function components that turn state and shapes into DOM/SVG.
//! - `hooks`: the playback timer, keyboard shortcuts, element size.

pub mod compare;
pub mod components;
pub mod export;
pub mod faults;
pub mod hooks;
pub mod import;
pub mod layout;
pub mod link;
pub mod state;

pub use components::app::{App, AppProps};

/// Mounts the app into `root` as the page's app: the address links to the current moment.
pub fn mount(root: web_sys::Element) -> yew::AppHandle<App> {
    let props = AppProps { preset: None, use_address: true };
    yew::Renderer::<App>::with_root_and_props(root, props).render()
}
