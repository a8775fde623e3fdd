use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Event, EventTarget};

/// An event listener on `target`, removed again when dropped: what a hook's effect returns
/// (inside its cleanup) to listen exactly while the component is mounted.
pub(crate) struct Listener {
    target: Option<EventTarget>,
    event: &'static str,
    closure: Closure<dyn Fn(Event)>,
}

impl Listener {
    pub(crate) fn new(
        target: Option<EventTarget>,
        event: &'static str,
        on_event: impl Fn(Event) + 'static,
    ) -> Listener {
        let closure = Closure::<dyn Fn(Event)>::new(on_event);
        if let Some(t) = &target {
            let _ = t.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
        }
        Listener { target, event, closure }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(t) = &self.target {
            let _ = t.remove_event_listener_with_callback(
                self.event,
                self.closure.as_ref().unchecked_ref(),
            );
        }
    }
}
