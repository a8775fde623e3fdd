//! Cross-crate tests, one module per area (ripgrep's layout: one test binary).

mod determinism;
mod harness;
mod scenario_errors;
mod sweep;
mod two_pc;
