//! CommitScope's engine: a deterministic discrete-event simulator for atomic-commit
//! protocols. Every run is a pure function of its `Scenario`.
//!
//! - `protocol`: the sans-IO `Protocol` trait (one input in, effects out as data).
//! - `sim`: the simulator (virtual time, network, faults, monitors); one step, one event.
//! - `trace`: events, narration and `Run` (recorded trace with snapshots).
//! - `scenario`: the versioned JSON scenario format and its checked resolution.
//! - `erased`: the plain-data, type-erased API the UI and the CLI use.
//! - `rng`, `ids`: the in-repo PRNG, ids, virtual time and the stable hasher.
//! - `vecmap`: `VecMap` and `VecSet`, the ordered maps and sets protocol state uses.

pub mod erased;
pub mod ids;
pub mod protocol;
pub mod rng;
pub mod scenario;
pub mod sim;
pub mod sweep;
pub mod trace;
pub mod vecmap;

pub use ids::{EventId, MsgId, NodeId, Time};
pub use protocol::{
    Blocked, Ctx, Effect, Findings, Input, Kind, NodeSpec, NodeView, ParamError, PropertyKind,
    PropertySpec, Protocol, Span, Summary, Table,
};
pub use rng::{Ratio, Rng};
pub use scenario::{Scenario, ScenarioError};
pub use sim::{BlockedSpan, RunEnd, Simulator, World};
pub use trace::{narrate, DropReason, Event, EventKind, Run};
