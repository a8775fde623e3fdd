//! Hooks that own browser resources (timers, listeners) and release them on cleanup.

mod address;
mod keyboard;
mod listener;
mod playback;
mod settle;
mod size;

pub use address::use_hash_change;
pub use keyboard::{use_keyboard, Shortcut};
pub use playback::use_playback;
pub use settle::use_settled;
pub use size::use_element_size;
