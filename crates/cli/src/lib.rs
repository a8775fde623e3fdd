//! The parts of the `commitscope` command that tests call directly (the binary is
//! `main.rs`): `check_history`, pure apart from reading its file.

pub mod check_history;
