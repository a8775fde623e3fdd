use super::listener::Listener;
use yew::prelude::*;

/// Calls `on_hash` with the new hash when the user changes the address's hash (a share
/// link pasted into a tab that has the app open already: no reload happens). The app's own
/// `history.replaceState` fires no `hashchange`, so this hears only the user.
#[hook]
pub fn use_hash_change(enabled: bool, on_hash: Callback<String>) {
    use_effect_with(enabled, move |enabled| {
        let window = web_sys::window().filter(|_| *enabled).map(Into::into);
        let listener = Listener::new(window, "hashchange", move |_| {
            if let Some(hash) = web_sys::window().and_then(|w| w.location().hash().ok()) {
                on_hash.emit(hash);
            }
        });
        move || drop(listener)
    });
}
