//! Keyboard shortcuts. The full app listens on the whole page; an embedded widget listens
//! only on its own root, so with several widgets on a page a key acts on the one that has
//! the focus (a click anywhere in a widget focuses something inside it).

use super::listener::Listener;
use wasm_bindgen::JsCast;
use web_sys::KeyboardEvent;
use yew::prelude::*;

/// What a key press means; `None` for keys the app does not use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shortcut {
    TogglePlay,
    Back,
    Forward,
    Start,
    End,
    Help,
    Escape,
    Undo,
    NextFault,
    NextDecision,
    Violation,
}

impl Shortcut {
    pub fn of(key: &str, ctrl: bool) -> Option<Shortcut> {
        Some(match key {
            " " | "Spacebar" => Shortcut::TogglePlay,
            "ArrowLeft" | "ArrowUp" => Shortcut::Back,
            "ArrowRight" | "ArrowDown" => Shortcut::Forward,
            "Home" => Shortcut::Start,
            "End" => Shortcut::End,
            "?" => Shortcut::Help,
            "Escape" => Shortcut::Escape,
            "z" if ctrl => Shortcut::Undo,
            "u" => Shortcut::Undo,
            "f" => Shortcut::NextFault,
            "d" => Shortcut::NextDecision,
            "v" => Shortcut::Violation,
            _ => return None,
        })
    }
}

/// Listens for shortcuts while the component is mounted: on `scope`'s element when given
/// (an embedded widget), else on the document. Keys typed into a text field, a select or
/// a slider are theirs; Space on a button presses the button.
#[hook]
pub fn use_keyboard(scope: Option<NodeRef>, on_key: Callback<Shortcut>) {
    use_effect_with((), move |_| {
        let on_keydown = move |e: web_sys::Event| {
            let Ok(e) = e.dyn_into::<KeyboardEvent>() else { return };
            let tag = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .map(|el| el.tag_name().to_ascii_lowercase())
                .unwrap_or_default();
            let key = e.key();
            let typing = matches!(tag.as_str(), "input" | "textarea" | "select");
            if (typing && key != "Escape") || e.alt_key() || e.meta_key() {
                return;
            }
            if tag == "button" && (key == " " || key == "Enter") {
                return;
            }
            if let Some(s) = Shortcut::of(&key, e.ctrl_key()) {
                if e.ctrl_key() && s != Shortcut::Undo {
                    return;
                }
                e.prevent_default();
                on_key.emit(s);
            }
        };
        let target: Option<web_sys::EventTarget> = match scope {
            Some(node) => node.cast::<web_sys::Element>().map(Into::into),
            None => web_sys::window().and_then(|w| w.document()).map(Into::into),
        };
        let listener = Listener::new(target, "keydown", on_keydown);
        move || drop(listener)
    });
}
