//! The page entry (wasm-bindgen's start function): mounts the full app into
//! `<div id="app" data-commitscope-app>`, and does nothing on any other page — a course
//! page loads the same module through `embed.js` only to mount `<commit-scope>` widgets,
//! and may well have an `#app` of its own.

fn main() {
    let document = web_sys::window().and_then(|w| w.document());
    let root = document.and_then(|d| d.query_selector("#app[data-commitscope-app]").ok().flatten());
    if let Some(root) = root {
        commitscope_web::mount(root);
    }
}
