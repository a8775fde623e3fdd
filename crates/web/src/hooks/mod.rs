//! Hooks that own browser resources (timers, listeners) and release them on cleanup.

mod keyboard;
mod playback;
mod size;

pub use keyboard::{use_keyboard, Shortcut};
pub use playback::use_playback;
pub use size::use_element_size;
