use super::listener::Listener;
use yew::prelude::*;

/// The client width and height of `node` (or `fallback` before layout), re-measured on
/// window resize.
#[hook]
pub fn use_element_size(node: NodeRef, fallback: (f64, f64)) -> (f64, f64) {
    let size = use_state_eq(|| fallback);
    {
        let size = size.clone();
        use_effect_with(node, move |node| {
            let node = node.clone();
            let measure = move || {
                if let Some(el) = node.cast::<web_sys::Element>() {
                    let (w, h) = (f64::from(el.client_width()), f64::from(el.client_height()));
                    if w > 0.0 {
                        size.set((w, h));
                    }
                }
            };
            measure();
            let listener =
                Listener::new(web_sys::window().map(Into::into), "resize", move |_| measure());
            move || drop(listener)
        });
    }
    *size
}
