//! The protocols CommitScope simulates, each a sans-IO state machine implementing
//! `commitscope_engine::Protocol`, and `registry`, which runs a scenario of any of them.

pub mod common;
pub mod compare;
pub mod harness;
pub mod kv;
pub mod paxos_commit;
pub mod presets;
pub mod registry;
pub mod saga;
pub mod tcc;
pub mod three_pc;
pub mod two_pc;

pub use paxos_commit::PaxosCommit;
pub use registry::{run, ProtocolKind, Switch};
pub use saga::Saga;
pub use tcc::Tcc;
pub use three_pc::ThreePc;
pub use two_pc::TwoPc;
