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
