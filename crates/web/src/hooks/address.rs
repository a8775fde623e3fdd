use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// Calls `on_hash` with the new hash when the user changes the address's hash (a share
/// link pasted into a tab that has the app open already: no reload happens). The app's own
/// `history.replaceState` fires no `hashchange`, so this hears only the user.
#[hook]
pub fn use_hash_change(enabled: bool, on_hash: Callback<String>) {
    use_effect_with(enabled, move |enabled| {
        let window = web_sys::window().filter(|_| *enabled);
        let listener = Closure::<dyn Fn(web_sys::Event)>::new(move |_: web_sys::Event| {
            if let Some(hash) = web_sys::window().and_then(|w| w.location().hash().ok()) {
                on_hash.emit(hash);
            }
        });
        if let Some(w) = &window {
            let _ =
                w.add_event_listener_with_callback("hashchange", listener.as_ref().unchecked_ref());
        }
        move || {
            if let Some(w) = &window {
                let _ = w.remove_event_listener_with_callback(
                    "hashchange",
                    listener.as_ref().unchecked_ref(),
                );
            }
            drop(listener);
        }
    });
}
