//! Cross-crate tests, one module per area (ripgrep's layout: one test binary).

mod check_history;
mod compare;
mod determinism;
mod harness;
mod kv;
mod paxos_commit;
mod saga;
mod scenario_errors;
mod sweep;
mod tcc;
mod three_pc;
mod two_pc;
