//! The page entry: mount the app into `#app` (or the body when there is none).

fn main() {
    let document = web_sys::window().and_then(|w| w.document());
    let root = document.as_ref().and_then(|d| d.get_element_by_id("app"));
    match root {
        Some(root) => {
            commitscope_web::mount(root);
        }
        None => {
            if let Some(body) = document.and_then(|d| d.body()) {
                commitscope_web::mount(body.into());
            }
        }
    }
}
