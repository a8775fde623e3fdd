//! Function components: each turns state (behind `Rc`) into DOM and actions.

pub mod app;
pub mod cards;
pub mod compare;
pub mod controls;
pub mod diagram;
pub mod faults;
pub mod inspector;
pub mod narration;
pub mod overlays;
pub mod properties;
pub mod share;
pub mod summary;

use yew::prelude::*;

/// Whether the app is a widget embedded in a page (provided by `App`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InWidget(pub bool);

/// The role of a panel's `<section>`: a named region (a landmark) in the full app; a plain
/// group inside an embedded widget, where the widget itself is the one region (a course
/// page with three widgets would otherwise hold three "Properties" landmarks, and more).
#[hook]
pub fn use_panel_role() -> Option<AttrValue> {
    let in_widget = use_context::<InWidget>().is_some_and(|w| w.0);
    in_widget.then_some(AttrValue::Static("group"))
}
