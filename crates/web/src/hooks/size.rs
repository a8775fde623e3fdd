use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Element, ResizeObserver};
use yew::prelude::*;

/// The client width and height of `node` (or `fallback` before it is mounted): measured
/// once mounted, then again whenever its box changes — the window resized, or its
/// container grown or shrunk (a course page's column, a panel folding away). `node` must
/// be rendered unconditionally by the component (as the diagram's scroll window is): the
/// element found after the first render is the one watched.
#[hook]
pub fn use_element_size(node: NodeRef, fallback: (f64, f64)) -> (f64, f64) {
    let size = use_state_eq(|| fallback);
    {
        let size = size.clone();
        use_effect_with(node, move |node| {
            let el = node.cast::<Element>();
            let measure = {
                let el = el.clone();
                move || {
                    if let Some(el) = &el {
                        let (w, h) = (f64::from(el.client_width()), f64::from(el.client_height()));
                        if w > 0.0 {
                            size.set((w, h));
                        }
                    }
                }
            };
            // At once, so that the first render after mounting has the real size ...
            measure();
            // ... then after each layout that changed the box (no layout forced).
            let observer = el.and_then(|el| SizeObserver::new(&el, measure));
            move || drop(observer)
        });
    }
    *size
}

/// A `ResizeObserver` on one element, disconnected when dropped.
struct SizeObserver {
    observer: ResizeObserver,
    _callback: Closure<dyn Fn()>,
}

impl SizeObserver {
    fn new(el: &Element, on_resize: impl Fn() + 'static) -> Option<SizeObserver> {
        let callback = Closure::<dyn Fn()>::new(on_resize);
        let observer = ResizeObserver::new(callback.as_ref().unchecked_ref()).ok()?;
        observer.observe(el);
        Some(SizeObserver { observer, _callback: callback })
    }
}

impl Drop for SizeObserver {
    fn drop(&mut self) {
        self.observer.disconnect();
    }
}
