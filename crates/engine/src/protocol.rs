//! The sans-IO protocol interface: one input in, effects out as data.
//!
//! A protocol never sends, sleeps or writes to disk itself. Its handlers receive a `Ctx`
//! that carries the node's identity, the virtual time, a read-only view of its durable log
//! and an outbox; the simulator (or the explorer) turns the outbox into events.

use crate::ids::{NodeId, Time};
use crate::sim::World;
use crate::trace::Event;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::{Debug, Display};
use std::hash::Hash;

/// Something with a short, stable kind name: the name scenario triggers and message
/// filters use (`"prepare"`, `"prepared"`, `"in_doubt"`), and the label's first word.
pub trait Kind {
    fn kind(&self) -> &'static str;
}

/// The bounds every protocol data type shares.
pub trait Data: Clone + Debug + Hash + Eq + Serialize + 'static {}
impl<T: Clone + Debug + Hash + Eq + Serialize + 'static> Data for T {}

/// One atomic-commit (or saga) protocol, written once and driven by every driver.
/// Implemented by a unit struct (`pub struct TwoPc;`) that derives the std traits, so that
/// simulators, events and snapshots can derive theirs.
pub trait Protocol: Sized + Clone + Debug + PartialEq + Eq + Hash + Default + 'static {
    /// The scenario's `protocol` value, e.g. `"two_pc"`.
    const NAME: &'static str;
    /// Kind names a scenario may use in triggers and message filters.
    const MSG_KINDS: &'static [&'static str];
    const RECORD_KINDS: &'static [&'static str];
    const PHASES: &'static [&'static str];
    const PROPERTIES: &'static [PropertySpec];
    /// Whether a node can start or stop being blocked on a message delivery too, not only
    /// on a phase change, a decision, a crash, a recovery or a network fault (a lock request
    /// queued behind a transaction that is in doubt).
    const BLOCKS_ON_DELIVERY: bool = false;

    type Params: Clone + Debug + Default + Serialize + DeserializeOwned + 'static;
    /// Volatile state: lost on a crash, rebuilt by `on_recover` from the durable log.
    type State: Clone + Debug + Hash + Eq + 'static;
    /// One durable log record. The log is written only through `Ctx::persist`.
    type Record: Data + Kind + Display;
    type Msg: Data + Kind + Display;
    type Timer: Data + Kind + Display + Ord;
    /// A client request delivered to a node (e.g. "begin a transaction").
    type Request: Data + Display + DeserializeOwned;
    type Decision: Data + Display;
    type Phase: Data + Kind + Copy;
    /// Incremental state of the property monitors (what has been decided so far, ...).
    type Monitor: Clone + Debug + Default;

    /// Checks parameters beyond what their types say; `Err` names the field and the problem.
    fn validate(params: &Self::Params) -> Result<(), ParamError>;
    fn nodes(params: &Self::Params) -> Vec<NodeSpec>;
    fn init(ctx: &Ctx<'_, Self>) -> Self::State;
    fn on_input(ctx: &mut Ctx<'_, Self>, state: &mut Self::State, input: Input<Self>);
    /// Rebuilds volatile state from the durable log after a crash (and may emit effects).
    fn on_recover(ctx: &mut Ctx<'_, Self>) -> Self::State;
    fn phase(state: &Self::State) -> Self::Phase;
    /// What the UI shows of a node; its slot's `state` is `None` while the node is down.
    /// `World::base_view` fills in what every protocol shows (name, role, phase, log,
    /// timers); a protocol adds its fields and tables.
    fn view(world: &World<Self>, node: NodeId) -> NodeView;
    /// Property monitors: look at the world after `event` and report what it shows.
    fn observe(
        monitor: &mut Self::Monitor,
        world: &World<Self>,
        event: &Event<Self>,
        findings: &mut Findings,
    );
    /// Why `node` cannot make progress right now, if it is blocked. The simulator asks
    /// after every event that can change it and records when blocking starts and ends.
    fn blocked(world: &World<Self>, node: NodeId) -> Option<Blocked>;
    /// Client requests the parameters themselves imply (a seeded workload), delivered like
    /// the scenario's own: after them, in this order.
    fn generated_requests(_params: &Self::Params) -> Vec<(Time, NodeId, Self::Request)> {
        Vec::new()
    }
    /// Liveness, checked at the end of a run whose faults have stopped and whose network
    /// has healed: `Err` says which node has not finished and why.
    fn settled(_world: &World<Self>) -> Result<(), String> {
        Ok(())
    }
    /// Run-wide figures and marks for the UI's summary panel, from a finished run (the
    /// key-value store: commits and aborts, throughput, latency, anomalies, lock spans).
    fn summary(_events: &[Event<Self>], _last: &crate::sim::Simulator<Self>) -> Summary {
        Summary::default()
    }
    /// A sentence on what an event means in this protocol, where it adds to the plain
    /// narration ("p1 is now in doubt: it voted yes and may not decide alone").
    fn explain(_event: &Event<Self>) -> Option<String> {
        None
    }
}

/// What a handler is given: who it is, when it is, its durable log, and an outbox.
pub struct Ctx<'a, P: Protocol> {
    pub params: &'a P::Params,
    pub node: NodeId,
    pub n_nodes: u32,
    pub now: Time,
    pub log: &'a [P::Record],
    pub out: &'a mut Vec<Effect<P>>,
}

impl<P: Protocol> Ctx<'_, P> {
    pub fn send(&mut self, to: NodeId, msg: P::Msg) {
        self.out.push(Effect::Send { to, msg });
    }
    /// (Re)arms a timer; a timer with the same key that is already pending is replaced.
    pub fn set_timer(&mut self, timer: P::Timer, after: Time) {
        self.out.push(Effect::SetTimer { timer, after });
    }
    pub fn cancel_timer(&mut self, timer: P::Timer) {
        self.out.push(Effect::CancelTimer { timer });
    }
    /// A forced write to the durable log: it is on stable storage before any later effect.
    pub fn persist(&mut self, record: P::Record) {
        self.out.push(Effect::Persist { record });
    }
    pub fn decide(&mut self, decision: P::Decision) {
        self.out.push(Effect::Decide { decision });
    }
    /// The log including the records this handler has already asked to persist.
    pub fn log_contains(&self, pred: impl Fn(&P::Record) -> bool) -> bool {
        self.log.iter().any(&pred)
            || self.out.iter().any(|e| matches!(e, Effect::Persist { record } if pred(record)))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Input<P: Protocol> {
    Message { from: NodeId, msg: P::Msg },
    Timer(P::Timer),
    Request(P::Request),
}

/// Effects are applied in order, one trace event each; a crash between two of them loses
/// the rest (a node can crash after forcing a record and before sending its vote).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Effect<P: Protocol> {
    Send { to: NodeId, msg: P::Msg },
    SetTimer { timer: P::Timer, after: Time },
    CancelTimer { timer: P::Timer },
    Persist { record: P::Record },
    Decide { decision: P::Decision },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct NodeSpec {
    /// Short unique name used in scenarios and on lanes: `coord`, `p1`, `a0`.
    pub name: String,
    /// Role shown on the node's card: "coordinator", "participant", "acceptor".
    pub role: String,
}

/// A parameter problem, naming the field (`participants`) and the problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamError {
    pub field: String,
    pub problem: String,
}

impl ParamError {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        ParamError { field: field.into(), problem: problem.into() }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PropertyKind {
    /// Must hold after every event (safety); the first violating event is recorded.
    Always,
    /// Must happen in some run (catches vacuous models); the first witness is recorded.
    Sometimes,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PropertySpec {
    pub id: &'static str,
    pub name: &'static str,
    pub kind: PropertyKind,
    pub about: &'static str,
}

/// What monitors report after one event: violations of always-properties, witnesses of
/// sometimes-properties (by index into `PROPERTIES`).
#[derive(Debug, Default)]
pub struct Findings {
    pub(crate) found: Vec<(usize, String)>,
    /// Bit `i`: property `i` already has its first finding, the only one a run records.
    pub(crate) known: u64,
}

impl Findings {
    /// Reports a finding; `message` is only written when the property has none yet, so a
    /// monitor may report on every event at no cost once its property is settled.
    pub fn report<M: Into<String>>(&mut self, property: usize, message: impl FnOnce() -> M) {
        if self.known & (1 << property) == 0 {
            self.found.push((property, message().into()));
        }
    }
}

/// A node that cannot make progress until a failure is repaired.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Blocked {
    pub waiting_for: Vec<NodeId>,
    pub why: String,
}

/// Plain data the UI draws: everything about one node at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NodeView {
    pub name: String,
    pub role: String,
    pub up: bool,
    pub phase: String,
    /// Volatile fields as label/value pairs ("votes", "p1 yes, p2 ?").
    pub fields: Vec<(String, String)>,
    /// Every durable log record, oldest first.
    pub log: Vec<String>,
    pub locks: Vec<String>,
    pub decision: Option<String>,
    pub timers: Vec<String>,
    /// Filled in by the engine from its progress monitor: "blocked since t=…: why".
    pub blocked: Option<String>,
    /// What the node keeps entry by entry, as tables the UI draws as they are (a Paxos
    /// acceptor's instances, a service's dedup table, a saga's compensation stack).
    pub tables: Vec<Table>,
}

/// What a protocol says about a whole run, beyond its properties' verdicts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Figures as label/value pairs ("committed", "7 of 9").
    pub rows: Vec<(String, String)>,
    /// Sentences that need a line each (an anomaly and its cycle).
    pub notes: Vec<String>,
    /// Events the diagram should mark (the transactions of an anomaly's cycle).
    pub marks: Vec<crate::ids::EventId>,
    /// Stretches of a node's lane to shade (a transaction holding locks, a shard in doubt).
    pub spans: Vec<Span>,
}

/// A stretch of one node's lane, from one event to another (or to the end of the run).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Span {
    pub node: NodeId,
    pub from: crate::ids::EventId,
    pub until: Option<crate::ids::EventId>,
    /// What it shows: "locks" or "in_doubt".
    pub kind: &'static str,
    /// A short label ("c1/t1.1 holds X k0").
    pub label: String,
}

/// A named table on a node's card: a title, column headings and rows of plain text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Table {
    /// What the table lists: "instances", "dedup table".
    pub title: String,
    pub columns: Vec<String>,
    /// One row per entry, as many cells as there are columns; the first cell names the
    /// entry (its key).
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(title: impl Into<String>, columns: &[&str]) -> Table {
        Table {
            title: title.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row (missing cells are left empty, extra cells dropped).
    pub fn push(&mut self, cells: Vec<String>) {
        let mut cells = cells;
        cells.resize(self.columns.len(), String::new());
        self.rows.push(cells);
    }

    /// The cell in `column` of the row whose first cell is `key`.
    pub fn cell(&self, key: &str, column: &str) -> Option<&str> {
        let c = self.columns.iter().position(|h| h == column)?;
        let row = self.rows.iter().find(|r| r.first().is_some_and(|k| k == key))?;
        row.get(c).map(String::as_str)
    }
}

impl NodeView {
    /// The table titled `title`, if the view has one.
    pub fn table(&self, title: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.title == title)
    }
}

#[cfg(test)]
mod tests {
    use super::Findings;

    #[test]
    fn a_settled_property_costs_no_message() {
        let mut f = Findings { found: Vec::new(), known: 0b10 };
        f.report(1, || -> String { unreachable!("property 1 is settled: no message is written") });
        f.report(0, || "first");
        assert_eq!(f.found, vec![(0, "first".to_string())]);
    }
}
