//! A sharded transactional key-value store: clients run transactions of micro-operations
//! (Maelstrom's `txn` vocabulary) over S shards, each shard locks what it serves (strict
//! two-phase locking with a deadlock policy), and a transaction that touches several shards
//! commits with two-phase commit — the `two_pc::commit` module itself, whose participants
//! are the shards: they vote on the locks they hold, force PREPARED with their intents, and
//! keep their locks while they are in doubt. That last fact is the lesson: a prepared
//! shard's locks stay held while its coordinator is gone, and every later transaction on
//! those keys waits behind them.
//!
//! Nodes: clients `c1`..`cC` first, then (with `coordinator: node`) the coordinator `coord`,
//! then shards `s1`..`sS`.
//! - A client runs one transaction at a time, in arrival order: listed ones (a scenario
//!   request `{"txn": [["r", 1, null], ["append", 2, 9]]}` to a client) and generated ones.
//! - The transaction manager (on the client, or on `coord`) sends each shard its part:
//!   `ExecCommit` when one shard holds every key (the shard runs it and commits it locally:
//!   one round trip, no 2PC), else `Exec` to each shard, then 2PC once every shard has run
//!   its part.
//! - A shard takes a shared lock to read and an exclusive one to write or append, holds them
//!   until it learns the outcome, and applies a commit's writes to its store. A conflict is
//!   resolved by the policy (no-wait, wait-die, wound-wait). A single-shard read-only
//!   transaction may read without locks (`lock_free_reads`): it reads at one instant, when no
//!   writer holds its keys, which is as if it had taken and released its locks at once.
//! - The store is rebuilt after a crash from the log: local commits and prepared intents
//!   whose decision is COMMIT are replayed; an in-doubt transaction re-takes its locks.
//! - Weaker isolation levels (`isolation`) exist to be caught: the serializability monitor
//!   (`commitscope_history`, the way Elle checks) names the anomaly they let through.

pub mod locks;
pub mod summary;
pub mod workload;

use crate::common::{self, Decision as Outcome2pc, Decisions, NodeSet, Outcome, TxnId};
use crate::two_pc::commit::{self, CoordTxns, Host, PartStatus, PartTxns, Resource, Timing};
use commitscope_engine::protocol::ParamError;
use commitscope_engine::vecmap::VecMap;
use commitscope_engine::{
    Blocked, Ctx, Event, EventKind, Findings, Input, Kind, NodeId, NodeSpec, NodeView,
    PropertyKind, PropertySpec, Protocol, Table, Time, World,
};
use commitscope_history as history;
use locks::{Age, Grant, Key, LockTable, Mode, Policy};
use serde::{Deserialize, Serialize};
use std::fmt;
use workload::{ops_text, Flavour, Generator, Op, Partitioning, Seen, TxnRequest, Value};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Kv;

/// Where a transaction's manager (its 2PC coordinator) runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoordinatorAt {
    /// On the client that runs the transaction.
    #[default]
    Client,
    /// On a coordinator node, `coord`, that runs every client's transactions.
    Node,
}

/// Where a cross-shard transaction's commit decision lives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitPoint {
    /// In the coordinator's log: 2PC with presumed abort.
    #[default]
    Coordinator,
    /// In the primary shard's lock (the transaction's lowest-numbered shard), Percolator's
    /// way: an expired lock is rolled back, so a dead coordinator blocks nobody for long.
    Primary,
}

/// How much the shards isolate transactions. Only `serializable` is correct; the others
/// are there for the serializability monitor to catch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Isolation {
    /// Strict two-phase locking: every lock held until the outcome is known.
    #[default]
    Serializable,
    /// Read locks released once a shard has run its part, before the commit (not two-phase).
    EarlyReadRelease,
    /// Reads take no lock and see the last committed value; writes lock.
    ReadCommitted,
    /// Reads take no lock and see other transactions' uncommitted writes; writes lock.
    ReadUncommitted,
    /// No locks at all; a commit's writes are applied whenever its message arrives.
    NoLocks,
}

impl Isolation {
    fn name(self) -> &'static str {
        match self {
            Isolation::Serializable => "strict 2PL",
            Isolation::EarlyReadRelease => "read locks released early",
            Isolation::ReadCommitted => "read committed",
            Isolation::ReadUncommitted => "read uncommitted",
            Isolation::NoLocks => "no locks",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// Shards, 1 to 8.
    pub shards: u32,
    /// Clients, 1 to 8.
    pub clients: u32,
    /// Keys 0 to keys-1 (the generator's key space and the range partitioning's).
    pub keys: u64,
    pub partitioning: Partitioning,
    /// What reads return: whole lists (`append` workloads) or one value (`w` workloads).
    pub flavour: Flavour,
    pub coordinator: CoordinatorAt,
    pub deadlock: Policy,
    pub isolation: Isolation,
    /// A single-shard read-only transaction reads without taking locks.
    pub lock_free_reads: bool,
    /// Timeouts with presumed abort where it is safe: the manager aborts a transaction whose
    /// shards have not all run their part in `exec_timeout_ticks`, and a shard aborts a
    /// transaction it holds locks for but has not prepared in `unprepared_timeout_ticks`.
    /// A prepared (in-doubt) shard never aborts on its own.
    pub timeouts: bool,
    pub exec_timeout_ticks: Time,
    pub unprepared_timeout_ticks: Time,
    /// With a coordinator node: a client gives up waiting for an answer after this long (the
    /// outcome is then unknown to it).
    pub client_timeout_ticks: Time,
    /// Where the commit decision lives: the coordinator's log (2PC), or the primary shard's
    /// lock (Percolator), which expires after `lock_ttl_ticks`.
    pub commit_point: CommitPoint,
    pub lock_ttl_ticks: Time,
    pub vote_timeout_ticks: Time,
    pub resend_ticks: Time,
    pub in_doubt_timeout_ticks: Time,
    /// The seeded workload, if any, besides the transactions the scenario lists.
    pub workload: Option<Generator>,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            shards: 2,
            clients: 2,
            keys: 4,
            partitioning: Partitioning::Hash,
            flavour: Flavour::ListAppend,
            coordinator: CoordinatorAt::Client,
            deadlock: Policy::WaitDie,
            isolation: Isolation::Serializable,
            lock_free_reads: true,
            timeouts: true,
            exec_timeout_ticks: 80,
            unprepared_timeout_ticks: 120,
            client_timeout_ticks: 200,
            commit_point: CommitPoint::Coordinator,
            lock_ttl_ticks: 150,
            vote_timeout_ticks: 60,
            resend_ticks: 40,
            in_doubt_timeout_ticks: 50,
            workload: None,
        }
    }
}

/// The scenario the random sweeps start from: `shards` shards and `clients` clients running a
/// seeded concurrent workload with a hot key (values unique per key), a read of three keys
/// as the sweep's own request, and `extra` merged into the parameters (a policy, a switch).
pub fn sweep_base(
    shards: u32,
    clients: u32,
    extra: &serde_json::Value,
) -> commitscope_engine::Scenario {
    let mut s = commitscope_engine::Scenario::new(Kv::NAME);
    let mut params = serde_json::json!({
        "shards": shards, "clients": clients, "keys": 2 * u64::from(shards),
        "workload": {"txns": 3, "interval_ticks": 60, "ops_min": 1, "ops_max": 4,
                     "read_percent": 50, "hot_percent": 30, "seed": 5}
    });
    if let (Some(p), Some(e)) = (params.as_object_mut(), extra.as_object()) {
        p.extend(e.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    s.params = params;
    s.requests = vec![commitscope_engine::scenario::RequestSpec {
        at: 0,
        node: None,
        request: serde_json::json!({"txn": [["r", 0, null], ["r", 1, null], ["r", 2, null]]}),
    }];
    s
}

/// What a node is, from its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Client number k (1-based).
    Client(u32),
    Coord,
    /// Shard number i (0-based).
    Shard(u32),
}

impl Params {
    fn coord_node(&self) -> Option<NodeId> {
        (self.coordinator == CoordinatorAt::Node).then_some(NodeId(self.clients))
    }
    pub fn client_node(&self, k: u32) -> NodeId {
        NodeId(k.saturating_sub(1))
    }
    pub fn shard_node(&self, i: u32) -> NodeId {
        NodeId(self.clients + self.coord_node().is_some() as u32 + i)
    }
    pub fn role(&self, n: NodeId) -> Role {
        let first_shard = self.shard_node(0).0;
        if n.0 < self.clients {
            Role::Client(n.0 + 1)
        } else if n.0 < first_shard {
            Role::Coord
        } else {
            Role::Shard(n.0 - first_shard)
        }
    }
    pub fn shard_of(&self, key: Key) -> NodeId {
        self.shard_node(self.partitioning.shard_of(key, self.shards, self.keys))
    }
    /// The node that manages client k's transactions.
    fn manager(&self, client: u32) -> NodeId {
        self.coord_node().unwrap_or(self.client_node(client))
    }
}

/// Why a shard refused a transaction's part (it aborted it there).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum Refusal {
    /// The lock it asked for conflicts with `with`, and the policy says die.
    Conflict { key: Key, with: TxnId, policy: Policy },
    /// An older transaction wounded it (wound-wait).
    Wounded { key: Key, by: TxnId },
    /// It held locks here unprepared for too long (presumed abort).
    Timeout,
    /// It began before this shard's last crash: the shard may have run it and forgotten.
    Restarted,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Conflict { key, with, policy } => {
                write!(f, "k{key} is locked by {with} ({})", policy.name())
            }
            Refusal::Wounded { key, by } => write!(f, "wounded by {by} on k{key} (wound-wait)"),
            Refusal::Timeout => f.write_str("held unprepared too long"),
            Refusal::Restarted => f.write_str("began before this shard's crash"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Msg {
    /// Client → coordinator node: run this transaction for me.
    Submit {
        txn: TxnId,
        ops: Vec<Op>,
    },
    /// Coordinator node → client: how it ended.
    Answer {
        txn: TxnId,
        status: Status,
        ops: Vec<Op>,
    },
    /// Manager → shard: run your part (lock, read, buffer the writes); 2PC follows.
    Exec {
        txn: TxnId,
        start: Time,
        ops: Vec<Op>,
    },
    /// Manager → the only shard: run it and commit it at once (no 2PC).
    ExecCommit {
        txn: TxnId,
        start: Time,
        ops: Vec<Op>,
    },
    /// Shard → manager: my part ran; here is what its reads saw.
    Executed {
        txn: TxnId,
        ops: Vec<Op>,
    },
    /// Shard → manager: committed locally (the answer to `ExecCommit`); `unlocked`: a
    /// read-only transaction that read at one instant without taking locks.
    Done {
        txn: TxnId,
        ops: Vec<Op>,
        unlocked: bool,
    },
    /// Shard → manager: I aborted my part.
    Refused {
        txn: TxnId,
        why: Refusal,
    },
    TwoPc(commit::Msg<()>),
}

impl Kind for Msg {
    fn kind(&self) -> &'static str {
        match self {
            Msg::Submit { .. } => "submit",
            Msg::Answer { .. } => "answer",
            Msg::Exec { .. } => "exec",
            Msg::ExecCommit { .. } => "exec_commit",
            Msg::Executed { .. } => "executed",
            Msg::Done { .. } => "done",
            Msg::Refused { .. } => "refused",
            Msg::TwoPc(m) => m.kind(),
        }
    }
}

impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Msg::Submit { txn, ops } => write!(f, "Submit({txn}: {})", ops_text(ops)),
            Msg::Answer { txn, status, .. } => write!(f, "Answer({txn}: {status})"),
            Msg::Exec { txn, ops, .. } => write!(f, "Exec({txn}: {})", ops_text(ops)),
            Msg::ExecCommit { txn, ops, .. } => write!(f, "ExecCommit({txn}: {})", ops_text(ops)),
            Msg::Executed { txn, ops } => write!(f, "Executed({txn}: {})", ops_text(ops)),
            Msg::Done { txn, ops, .. } => write!(f, "Done({txn}: {})", ops_text(ops)),
            Msg::Refused { txn, why } => write!(f, "Refused({txn}: {why})"),
            Msg::TwoPc(m) => m.fmt(f),
        }
    }
}

/// What a shard's PREPARED keeps: the writes it will apply and the locks it holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Intents {
    pub writes: Vec<Op>,
    pub locks: Vec<(Key, Mode)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum Record {
    TwoPc(commit::Record<Intents>),
    /// Shard: a single-shard transaction committed here in one step (its writes, to redo).
    Local(Local),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename = "local_commit")]
pub struct Local {
    pub txn: TxnId,
    /// The transaction's operations with what its reads saw: the writes to redo, and the
    /// answer to give again to a retried request (so a retry never runs it twice).
    pub ops: Vec<Op>,
}

impl Local {
    pub fn writes(&self) -> Vec<Op> {
        self.ops.iter().filter(|o| !o.is_read()).cloned().collect()
    }
}

impl Kind for Record {
    fn kind(&self) -> &'static str {
        match self {
            Record::TwoPc(r) => r.kind(),
            Record::Local(_) => "local_commit",
        }
    }
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Record::TwoPc(commit::Record::Prepared { txn, intents, .. }) => {
                write!(f, "PREPARED {txn}")?;
                if !intents.writes.is_empty() {
                    write!(f, " [{}]", ops_text(&intents.writes))?;
                }
                Ok(())
            }
            Record::TwoPc(r) => r.fmt(f),
            Record::Local(l) => write!(f, "COMMIT {} [{}]", l.txn, ops_text(&l.writes())),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Timer {
    TwoPc(commit::Timer),
    /// Manager: the shards' parts are not all in.
    ExecTimeout {
        txn: TxnId,
    },
    /// Shard: a transaction still holds locks here unprepared.
    Unprepared {
        txn: TxnId,
    },
    /// Client: no answer from the coordinator node.
    NoAnswer {
        txn: TxnId,
    },
}

impl Kind for Timer {
    fn kind(&self) -> &'static str {
        match self {
            Timer::TwoPc(t) => t.kind(),
            Timer::ExecTimeout { .. } => "exec_timeout",
            Timer::Unprepared { .. } => "unprepared",
            Timer::NoAnswer { .. } => "no_answer",
        }
    }
}

impl fmt::Display for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timer::TwoPc(t) => t.fmt(f),
            Timer::ExecTimeout { txn } => write!(f, "exec-timeout({txn})"),
            Timer::Unprepared { txn } => write!(f, "unprepared({txn})"),
            Timer::NoAnswer { txn } => write!(f, "no-answer({txn})"),
        }
    }
}

/// How a transaction ended, as its client tells its application (Maelstrom's reply).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// `txn_ok`.
    Committed,
    /// A definite error: it did not happen. Maelstrom's code: 30 txn-conflict, 14 abort,
    /// 11 temporarily unavailable.
    Aborted { code: u32 },
    /// An indefinite one: it may have happened (code 0, timeout).
    Unknown,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Committed => f.write_str("committed"),
            Status::Aborted { code: 30 } => f.write_str("aborted (30 txn-conflict)"),
            Status::Aborted { code: 11 } => f.write_str("aborted (11 temporarily unavailable)"),
            Status::Aborted { code } => write!(f, "aborted ({code} abort)"),
            Status::Unknown => f.write_str("unknown (0 timeout: it may have committed)"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Decision {
    /// A node's 2PC (or one-shard) decision on a transaction.
    Outcome(Outcome2pc),
    /// A client's answer to its application: how its transaction ended and what it read.
    Answer { txn: TxnId, status: Status, ops: Vec<Op> },
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Outcome(d) => d.fmt(f),
            Decision::Answer { txn, status, ops } => {
                write!(f, "the answer to {txn}: {status} [{}]", ops_text(ops))
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Idle,
    /// Manager: the shards run their parts.
    Executing,
    /// Manager: 2PC (or the one-shard commit) is under way.
    Committing,
    /// Client with a coordinator node: waiting for its answer.
    Waiting,
    /// Shard: holds locks for transactions that are running.
    Locking,
    /// Shard: prepared and in doubt on some transaction.
    InDoubt,
}

impl Kind for Phase {
    fn kind(&self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Executing => "executing",
            Phase::Committing => "committing",
            Phase::Waiting => "waiting",
            Phase::Locking => "locking",
            Phase::InDoubt => "in_doubt",
        }
    }
}

// ---- State ----------------------------------------------------------------------------------

/// A transaction its manager runs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Managed {
    pub client: u32,
    pub start: Time,
    /// The operations, reads filled in as the shards answer.
    pub ops: Vec<Op>,
    pub shards: NodeSet,
    pub executed: NodeSet,
    /// 2PC has begun (or, for one shard, the one-step commit was asked for).
    pub committing: bool,
}

/// A transaction manager: runs the execution phase and is 2PC's coordinator.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Manager {
    pub epoch: u32,
    pub next_seq: u32,
    pub txns: VecMap<TxnId, Managed>,
    pub commit: CoordTxns,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Client {
    /// Transactions that have arrived and wait their turn.
    pub queue: Vec<Vec<Op>>,
    /// The one it runs now.
    pub current: Option<(TxnId, Vec<Op>)>,
    /// Its own manager (with `coordinator: client`).
    pub manager: Manager,
    /// Every transaction it has answered, oldest first.
    pub answered: Vec<(TxnId, Status, Vec<Op>)>,
}

/// A shard's part of one transaction.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Active {
    pub age: Age,
    pub manager: NodeId,
    pub ops: Vec<Op>,
    /// Operations run so far (the rest wait for a lock).
    pub done: usize,
    /// Waiting for a lock on this key.
    pub waiting: Option<Key>,
    /// Commit here at once when the part has run (no 2PC).
    pub one_step: bool,
    pub prepared: bool,
    /// When it began here, and (read uncommitted) the order its writes became visible.
    pub since: Time,
    pub stamp: u64,
}

impl Active {
    fn writes(&self) -> Vec<Op> {
        self.ops[..self.done].iter().filter(|o| !o.is_read()).cloned().collect()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Store {
    /// Committed values: a register is a list of one.
    pub data: VecMap<Key, Vec<Value>>,
    /// How many committed writes each key has had.
    pub versions: VecMap<Key, u32>,
    pub locks: LockTable,
    pub active: VecMap<TxnId, Active>,
    next_stamp: u64,
    /// When it last recovered: it refuses parts of transactions that began before, which
    /// it may have run and forgotten (a late duplicate must not run twice).
    pub recovered_at: Time,
    /// Transactions it aborted on its own account, and why: a retried part is refused again.
    refused: VecMap<TxnId, Refusal>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Shard {
    pub store: Store,
    pub part: PartTxns,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum State {
    Client(Box<Client>),
    Coord(Manager),
    Shard(Box<Shard>),
}

// ---- 2PC's host -----------------------------------------------------------------------------

impl Host for Kv {
    type Work = ();
    type Intents = Intents;
    fn msg(m: commit::Msg<()>) -> Msg {
        Msg::TwoPc(m)
    }
    fn timer(t: commit::Timer) -> Timer {
        Timer::TwoPc(t)
    }
    fn record(r: commit::Record<Intents>) -> Record {
        Record::TwoPc(r)
    }
    fn as_record(r: &Record) -> Option<&commit::Record<Intents>> {
        match r {
            Record::TwoPc(r) => Some(r),
            Record::Local(_) => None,
        }
    }
    fn decision(d: Outcome2pc) -> Decision {
        Decision::Outcome(d)
    }
    fn timing(p: &Params) -> Timing {
        Timing {
            vote_timeout: p.vote_timeout_ticks,
            resend: p.resend_ticks,
            in_doubt: p.in_doubt_timeout_ticks,
            primary_ttl: (p.commit_point == CommitPoint::Primary).then_some(p.lock_ttl_ticks),
        }
    }
    fn coordinator(p: &Params, txn: TxnId) -> NodeId {
        p.manager(txn.client)
    }
}

/// The shard votes on the locks it holds, and applies or discards its part.
impl Resource<Kv> for Store {
    fn prepare(&mut self, ctx: &mut Ctx<'_, Kv>, txn: TxnId, _: &()) -> Option<Intents> {
        let a = self.active.get_mut(&txn)?;
        if a.done < a.ops.len() || a.waiting.is_some() {
            return None;
        }
        a.prepared = true;
        ctx.cancel_timer(Timer::Unprepared { txn });
        let writes = a.writes();
        let mut locks: Vec<(Key, Mode)> =
            self.locks.keys.iter().filter_map(|(k, l)| l.held(txn).map(|m| (*k, m))).collect();
        locks.sort();
        Some(Intents { writes, locks })
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, Kv>, txn: TxnId, outcome: Outcome) {
        let Some(a) = self.active.remove(&txn) else { return };
        if outcome == Outcome::Commit {
            self.apply(&a.writes());
        }
        ctx.cancel_timer(Timer::Unprepared { txn });
        self.release(ctx, txn);
    }
}

impl Store {
    fn apply(&mut self, writes: &[Op]) {
        for w in writes {
            let list = self.data.entry(w.key()).or_default();
            match w {
                Op::Write { value, .. } => *list = vec![*value],
                Op::Append { value, .. } => list.push(*value),
                Op::Read { .. } => continue,
            }
            *self.versions.entry(w.key()).or_default() += 1;
        }
    }

    /// What a read of `key` by `txn` sees: the committed value, then (read uncommitted)
    /// other running transactions' writes in the order they ran, then its own earlier ones.
    fn read(&self, p: &Params, txn: TxnId, key: Key, own: &[Op]) -> Seen {
        let mut list = self.data.get(&key).cloned().unwrap_or_default();
        let mut apply = |ops: &[Op]| {
            for o in ops.iter().filter(|o| o.key() == key) {
                match o {
                    Op::Write { value, .. } => list = vec![*value],
                    Op::Append { value, .. } => list.push(*value),
                    Op::Read { .. } => {}
                }
            }
        };
        if p.isolation == Isolation::ReadUncommitted {
            let mut others: Vec<&Active> =
                self.active.iter().filter(|(t, _)| **t != txn).map(|(_, a)| a).collect();
            others.sort_by_key(|a| a.stamp);
            for a in others {
                apply(&a.ops[..a.done]);
            }
        }
        apply(own);
        match p.flavour {
            Flavour::ListAppend => Seen::List(list),
            Flavour::RwRegister => Seen::Register(list.last().copied()),
        }
    }

    /// The lock `op` needs under the isolation level, if any.
    fn lock_for(p: &Params, op: &Op, lock_free: bool) -> Option<Mode> {
        match (p.isolation, op.is_read()) {
            (Isolation::NoLocks, _) => None,
            (_, false) => Some(Mode::Exclusive),
            (Isolation::Serializable | Isolation::EarlyReadRelease, true) if !lock_free => {
                Some(Mode::Shared)
            }
            _ => None,
        }
    }

    /// Starts `txn`'s part here.
    fn start(
        &mut self,
        ctx: &mut Ctx<'_, Kv>,
        txn: TxnId,
        start: Time,
        ops: Vec<Op>,
        one_step: bool,
    ) {
        let manager = ctx.params.manager(txn.client);
        if self.active.contains_key(&txn) {
            return; // a duplicate: this part is running here
        }
        // A retried part that has already ended here gets the same answer again.
        if let Some(why) = self.refused.get(&txn) {
            ctx.send(manager, Msg::Refused { txn, why: *why });
            return;
        }
        let committed = ctx.log.iter().find_map(|r| match r {
            Record::Local(l) if l.txn == txn => Some(l.ops.clone()),
            _ => None,
        });
        if let Some(ops) = committed {
            ctx.send(manager, Msg::Done { txn, ops, unlocked: false });
            return;
        }
        if start < self.recovered_at {
            self.refused.insert(txn, Refusal::Restarted);
            ctx.send(manager, Msg::Refused { txn, why: Refusal::Restarted });
            return;
        }
        self.next_stamp += 1;
        self.active.insert(
            txn,
            Active {
                age: Age { start, txn },
                manager,
                ops,
                done: 0,
                waiting: None,
                one_step,
                prepared: false,
                since: ctx.now,
                stamp: self.next_stamp,
            },
        );
        if ctx.params.timeouts && !one_step {
            ctx.set_timer(Timer::Unprepared { txn }, ctx.params.unprepared_timeout_ticks);
        }
        self.run(ctx, txn);
    }

    /// Runs `txn`'s operations until one must wait for a lock, or all have run.
    fn run(&mut self, ctx: &mut Ctx<'_, Kv>, txn: TxnId) {
        let p = ctx.params;
        let Some(a) = self.active.get(&txn) else { return };
        // A one-shard read-only transaction may read at one instant without locks, when no
        // other transaction holds an exclusive lock on its keys.
        let lock_free = p.lock_free_reads
            && a.one_step
            && a.done == 0
            && a.ops.iter().all(Op::is_read)
            && a.ops.iter().all(|o| self.locks.holds_exclusive(o.key(), Some(txn)).is_none());
        loop {
            let Some(a) = self.active.get(&txn) else { return };
            let Some(op) = a.ops.get(a.done).cloned() else { break };
            let age = a.age;
            if let Some(mode) = Self::lock_for(p, &op, lock_free) {
                let grant = self.locks.request(op.key(), age, mode, p.deadlock, |t| {
                    self.active.get(&t).map(|a| a.age)
                });
                match grant {
                    Grant::Granted => {}
                    Grant::Wait { .. } => {
                        if let Some(a) = self.active.get_mut(&txn) {
                            a.waiting = Some(op.key());
                        }
                        return;
                    }
                    Grant::Die { because } => {
                        let with = because.first().copied().unwrap_or(txn);
                        let why = Refusal::Conflict { key: op.key(), with, policy: p.deadlock };
                        self.abort_here(ctx, txn, why);
                        return;
                    }
                    Grant::Wound { victims, .. } => {
                        if let Some(a) = self.active.get_mut(&txn) {
                            a.waiting = Some(op.key());
                        }
                        for v in victims {
                            // A prepared transaction cannot be wounded: it waits it out.
                            if self.active.get(&v).is_some_and(|a| !a.prepared) {
                                self.abort_here(
                                    ctx,
                                    v,
                                    Refusal::Wounded { key: op.key(), by: txn },
                                );
                            }
                        }
                        return;
                    }
                }
            }
            let a = self.active.get(&txn).expect("running");
            let seen = op.is_read().then(|| self.read(p, txn, op.key(), &a.ops[..a.done]));
            let a = self.active.get_mut(&txn).expect("running");
            if let (Some(seen), Op::Read { seen: slot, .. }) = (seen, &mut a.ops[a.done]) {
                *slot = Some(seen);
            }
            a.done += 1;
            a.waiting = None;
        }
        let a = self.active.get(&txn).expect("running").clone();
        if a.one_step {
            // One shard holds every key: commit here, now, in one forced write.
            let writes = a.writes();
            ctx.persist(Record::Local(Local { txn, ops: a.ops.clone() }));
            ctx.decide(Decision::Outcome(Outcome2pc { txn, outcome: Outcome::Commit }));
            self.apply(&writes);
            self.active.remove(&txn);
            ctx.send(a.manager, Msg::Done { txn, ops: a.ops, unlocked: lock_free });
            self.release(ctx, txn);
        } else {
            ctx.send(a.manager, Msg::Executed { txn, ops: a.ops });
            if p.isolation == Isolation::EarlyReadRelease {
                let granted = self.locks.release_shared(txn);
                self.resume(ctx, granted);
            }
        }
    }

    /// Aborts `txn`'s part here on the shard's own account (it never prepared here).
    fn abort_here(&mut self, ctx: &mut Ctx<'_, Kv>, txn: TxnId, why: Refusal) {
        let Some(a) = self.active.remove(&txn) else { return };
        debug_assert!(!a.prepared, "a prepared part is never aborted unilaterally");
        ctx.cancel_timer(Timer::Unprepared { txn });
        self.refused.insert(txn, why);
        ctx.send(a.manager, Msg::Refused { txn, why });
        self.release(ctx, txn);
    }

    fn release(&mut self, ctx: &mut Ctx<'_, Kv>, txn: TxnId) {
        let granted = self.locks.release(txn);
        self.resume(ctx, granted);
    }

    /// Lets transactions whose locks were just granted go on.
    fn resume(&mut self, ctx: &mut Ctx<'_, Kv>, granted: Vec<(Key, TxnId)>) {
        for (_, t) in granted {
            if self.active.get(&t).is_some_and(|a| a.waiting.is_some()) {
                self.run(ctx, t);
            }
        }
    }
}

// ---- The transaction manager ----------------------------------------------------------------

/// A transaction's end, for its client: (txn, status, operations with what the reads saw).
type Answered = (TxnId, Status, Vec<Op>);

impl Manager {
    /// Sends each shard its part: `ExecCommit` when one shard holds every key, else `Exec`.
    fn begin(&mut self, ctx: &mut Ctx<'_, Kv>, txn: TxnId, ops: Vec<Op>) -> Option<Answered> {
        if self.txns.contains_key(&txn) || self.commit.contains_key(&txn) {
            return None; // a duplicate Submit
        }
        if ops.is_empty() {
            return Some((txn, Status::Committed, ops));
        }
        let p = ctx.params;
        let mut shards = NodeSet::default();
        for op in &ops {
            shards.insert(p.shard_of(op.key()));
        }
        let start = ctx.now;
        for s in shards.iter() {
            let part: Vec<Op> = ops.iter().filter(|o| p.shard_of(o.key()) == s).cloned().collect();
            ctx.send(
                s,
                if shards.len() == 1 {
                    Msg::ExecCommit { txn, start, ops: part }
                } else {
                    Msg::Exec { txn, start, ops: part }
                },
            );
        }
        // A cross-shard transaction whose parts are not all in by the timeout is aborted. A
        // one-shard one cannot be: only its shard ends it (it may be waiting for a lock, and
        // it may commit); at the timeout its manager asks again, and the shard answers a
        // retry of a part it has finished with the same answer.
        if p.timeouts {
            ctx.set_timer(Timer::ExecTimeout { txn }, p.exec_timeout_ticks);
        }
        let client = txn.client;
        self.txns.insert(
            txn,
            Managed { client, start, ops, shards, executed: NodeSet::default(), committing: false },
        );
        None
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Kv>, from: NodeId, msg: Msg) -> Option<Answered> {
        match msg {
            Msg::Executed { txn, ops } => {
                let m = self.txns.get_mut(&txn).filter(|m| !m.committing)?;
                merge(ctx.params, &mut m.ops, from, ops);
                m.executed.insert(from);
                if m.executed == m.shards {
                    m.committing = true;
                    let shards = m.shards;
                    ctx.cancel_timer(Timer::ExecTimeout { txn });
                    commit::begin(ctx, &mut self.commit, txn, shards, |_| ());
                }
                None
            }
            Msg::Done { txn, ops, .. } => {
                let mut m = self.txns.remove(&txn)?;
                merge(ctx.params, &mut m.ops, from, ops);
                ctx.cancel_timer(Timer::ExecTimeout { txn });
                Some((txn, Status::Committed, m.ops))
            }
            Msg::Refused { txn, why } => {
                // Once 2PC has begun, the shard's vote says it.
                self.txns.get(&txn).filter(|m| !m.committing)?;
                let code = match why {
                    Refusal::Conflict { .. } | Refusal::Wounded { .. } => 30,
                    Refusal::Timeout | Refusal::Restarted => 14,
                };
                self.abort_execution(ctx, txn, Some(from), code)
            }
            Msg::TwoPc(m) => {
                let d = commit::coord_on_message(ctx, &mut self.commit, from, m)?;
                self.decided(d)
            }
            Msg::Submit { .. } | Msg::Answer { .. } | Msg::Exec { .. } | Msg::ExecCommit { .. } => {
                None
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Kv>, timer: Timer) -> Option<Answered> {
        match timer {
            Timer::ExecTimeout { txn } => {
                let m = self.txns.get(&txn).filter(|m| !m.committing)?;
                if m.shards.len() == 1 {
                    let shard = m.shards.iter().next()?;
                    let (start, ops) = (m.start, m.ops.clone());
                    ctx.send(shard, Msg::ExecCommit { txn, start, ops });
                    ctx.set_timer(Timer::ExecTimeout { txn }, ctx.params.exec_timeout_ticks);
                    return None;
                }
                self.abort_execution(ctx, txn, None, 11)
            }
            Timer::TwoPc(t) => {
                let d = commit::coord_on_timer(ctx, &mut self.commit, t)?;
                self.decided(d)
            }
            _ => None,
        }
    }

    /// Gives up before 2PC began: every other shard is told to abort (2PC's Abort, which a
    /// shard that never prepared obeys), and the client hears a definite error.
    fn abort_execution(
        &mut self,
        ctx: &mut Ctx<'_, Kv>,
        txn: TxnId,
        refused_by: Option<NodeId>,
        code: u32,
    ) -> Option<Answered> {
        let m = self.txns.remove(&txn)?;
        ctx.cancel_timer(Timer::ExecTimeout { txn });
        if m.shards.len() > 1 {
            for s in m.shards.iter().filter(|s| Some(*s) != refused_by) {
                ctx.send(s, Msg::TwoPc(commit::Msg::Abort { txn }));
            }
        }
        Some((txn, Status::Aborted { code }, m.ops))
    }

    fn decided(&mut self, d: Outcome2pc) -> Option<Answered> {
        let m = self.txns.remove(&d.txn)?;
        let status = match d.outcome {
            Outcome::Commit => Status::Committed,
            Outcome::Abort => Status::Aborted { code: 14 },
        };
        Some((d.txn, status, m.ops))
    }

    fn phase(&self) -> Phase {
        if self.txns.values().any(|m| m.committing) {
            Phase::Committing
        } else if !self.txns.is_empty() {
            Phase::Executing
        } else {
            Phase::Idle
        }
    }

    fn table(&self, world: &World<Kv>) -> Table {
        let mut t = Table::new("managing", &["transaction", "stage", "shards"]);
        for (txn, m) in &self.txns {
            let stage = if !m.committing {
                let got: Vec<&str> = m.executed.iter().map(|s| world.name(s)).collect();
                format!(
                    "executing (done: {})",
                    if got.is_empty() { "none".into() } else { got.join(", ") }
                )
            } else {
                match self.commit.get(txn) {
                    Some(c) if c.outcome.is_none() => {
                        let yes: Vec<&str> = c.yes.iter().map(|s| world.name(s)).collect();
                        format!(
                            "2PC: votes yes from {}",
                            if yes.is_empty() { "none".into() } else { yes.join(", ") }
                        )
                    }
                    Some(c) => format!("2PC: {}", c.outcome.map_or("?".into(), |o| o.to_string())),
                    None => "committing on one shard".into(),
                }
            };
            let shards: Vec<&str> = m.shards.iter().map(|s| world.name(s)).collect();
            t.push(vec![txn.to_string(), stage, shards.join(", ")]);
        }
        for (txn, c) in &self.commit {
            if !self.txns.contains_key(txn) && !c.ended {
                let missing: Vec<&str> =
                    c.participants.without(c.acked).iter().map(|s| world.name(s)).collect();
                let o = c.outcome.map_or("?".into(), |o| o.to_string());
                t.push(vec![
                    txn.to_string(),
                    format!("2PC: {o}, waiting for acks from {}", missing.join(", ")),
                    String::new(),
                ]);
            }
        }
        t
    }
}

/// Fills in what shard `from`'s reads saw, in order, among the transaction's operations.
fn merge(p: &Params, ops: &mut [Op], from: NodeId, part: Vec<Op>) {
    let mut part = part.into_iter();
    for op in ops.iter_mut().filter(|o| p.shard_of(o.key()) == from) {
        if let Some(done) = part.next() {
            *op = done;
        }
    }
}

// ---- Clients --------------------------------------------------------------------------------

impl Client {
    fn new() -> Client {
        Client {
            queue: Vec::new(),
            current: None,
            manager: Manager { epoch: 1, next_seq: 1, ..Manager::default() },
            answered: Vec::new(),
        }
    }

    /// Starts the next queued transaction if it is free.
    fn next(&mut self, ctx: &mut Ctx<'_, Kv>) {
        while self.current.is_none() && !self.queue.is_empty() {
            let ops = self.queue.remove(0);
            let Role::Client(k) = ctx.params.role(ctx.node) else { return };
            let txn = TxnId { epoch: self.manager.epoch, seq: self.manager.next_seq, client: k };
            self.manager.next_seq += 1;
            self.current = Some((txn, ops.clone()));
            match ctx.params.coord_node() {
                None => {
                    if let Some(done) = self.manager.begin(ctx, txn, ops) {
                        self.answer(ctx, done);
                    }
                }
                Some(coord) => {
                    ctx.send(coord, Msg::Submit { txn, ops });
                    ctx.set_timer(Timer::NoAnswer { txn }, ctx.params.client_timeout_ticks);
                }
            }
        }
    }

    fn answer(&mut self, ctx: &mut Ctx<'_, Kv>, (txn, status, ops): Answered) {
        if self.current.as_ref().is_none_or(|(t, _)| *t != txn) {
            return; // an answer it stopped waiting for
        }
        self.current = None;
        if ctx.params.coord_node().is_some() {
            ctx.cancel_timer(Timer::NoAnswer { txn });
        }
        ctx.decide(Decision::Answer { txn, status, ops: ops.clone() });
        self.answered.push((txn, status, ops));
        self.next(ctx);
    }

    fn on_input(&mut self, ctx: &mut Ctx<'_, Kv>, input: Input<Kv>) {
        let answered = match input {
            Input::Request(TxnRequest { txn }) => {
                self.queue.push(txn);
                None
            }
            Input::Timer(Timer::NoAnswer { txn }) => {
                let ops = self.current.as_ref().filter(|(t, _)| *t == txn).map(|(_, o)| o.clone());
                ops.map(|ops| (txn, Status::Unknown, ops))
            }
            Input::Timer(t) => self.manager.on_timer(ctx, t),
            Input::Message { msg: Msg::Answer { txn, status, ops }, .. } => {
                Some((txn, status, ops))
            }
            Input::Message { from, msg } => self.manager.on_message(ctx, from, msg),
        };
        if let Some(a) = answered {
            self.answer(ctx, a);
        }
        self.next(ctx);
    }
}

// ---- Shards ---------------------------------------------------------------------------------

impl Shard {
    fn on_input(&mut self, ctx: &mut Ctx<'_, Kv>, input: Input<Kv>) {
        match input {
            Input::Message { msg: Msg::Exec { txn, start, ops }, .. }
                if !self.part.contains_key(&txn) =>
            {
                self.store.start(ctx, txn, start, ops, false)
            }
            Input::Message { msg: Msg::ExecCommit { txn, start, ops }, .. } => {
                self.store.start(ctx, txn, start, ops, true);
            }
            Input::Message { from, msg: Msg::TwoPc(m) } => {
                commit::part_on_message(ctx, &mut self.part, &mut self.store, from, m)
            }
            Input::Timer(Timer::Unprepared { txn })
                if self.store.active.get(&txn).is_some_and(|a| !a.prepared) =>
            {
                self.store.abort_here(ctx, txn, Refusal::Timeout)
            }
            Input::Timer(Timer::TwoPc(t)) => {
                commit::part_on_timer(ctx, &mut self.part, &mut self.store, t)
            }
            _ => {}
        }
    }

    /// The store rebuilt from the log: local commits and committed intents replayed in log
    /// order; a transaction prepared and undecided re-takes its locks, in doubt.
    fn recover(ctx: &mut Ctx<'_, Kv>) -> Shard {
        let part = commit::part_recover(ctx);
        let mut store = Store { recovered_at: ctx.now, ..Store::default() };
        let mut prepared: VecMap<TxnId, Intents> = VecMap::new();
        for r in ctx.log {
            match r {
                Record::Local(l) => store.apply(&l.writes()),
                Record::TwoPc(commit::Record::Prepared { txn, intents, .. }) => {
                    prepared.insert(*txn, intents.clone());
                }
                Record::TwoPc(r) => {
                    if let Some((txn, outcome, _)) = r.decision() {
                        if let Some(i) = prepared.remove(&txn) {
                            if outcome == Outcome::Commit {
                                store.apply(&i.writes);
                            }
                        }
                    }
                }
            }
        }
        for (txn, i) in prepared {
            for (key, mode) in &i.locks {
                store.locks.take(*key, txn, *mode);
            }
            store.next_stamp += 1;
            store.active.insert(
                txn,
                Active {
                    age: Age { start: 0, txn },
                    manager: ctx.params.manager(txn.client),
                    done: i.writes.len(),
                    ops: i.writes,
                    waiting: None,
                    one_step: false,
                    prepared: true,
                    since: ctx.now,
                    stamp: store.next_stamp,
                },
            );
        }
        Shard { store, part }
    }

    fn phase(&self) -> Phase {
        if self.part.values().any(|t| matches!(t.status, PartStatus::InDoubt { .. })) {
            Phase::InDoubt
        } else if !self.store.active.is_empty() {
            Phase::Locking
        } else {
            Phase::Idle
        }
    }

    fn in_doubt_since(&self, txn: TxnId) -> Option<Time> {
        match self.part.get(&txn)?.status {
            PartStatus::InDoubt { since } => Some(since),
            PartStatus::Decided(_) => None,
        }
    }
}

// ---- Monitors -------------------------------------------------------------------------------

const SERIALIZABLE: usize = 0;
const ATOMIC: usize = 1;
const DURABLE: usize = 2;
const COMMITS: usize = 3;
const ABORTS: usize = 4;

#[derive(Clone, Debug, Default)]
pub struct Monitor {
    decisions: Decisions,
    /// The committed history so far, checked as it grows.
    pub history: history::Incremental,
    /// Each client's transaction in flight, to enter as indefinite if the client crashes.
    inflight: VecMap<u32, (TxnId, Vec<Op>)>,
    /// A shard's writes for a transaction, from its PREPARED or local COMMIT record.
    pending: VecMap<(NodeId, TxnId), Vec<Op>>,
    /// How many committed writes each shard has applied to each key.
    applied: VecMap<(NodeId, Key), u32>,
}

impl Monitor {
    fn enter(&mut self, world: &World<Kv>, txn: Txn, findings: &mut Findings) {
        for a in self.history.add(txn) {
            findings.report(SERIALIZABLE, || {
                let names: Vec<&str> = a
                    .txns
                    .iter()
                    .filter_map(|i| self.history.history().txns.get(*i))
                    .map(|t| t.name.as_str())
                    .collect();
                let _ = world;
                format!("{}: {} ({})", a.kind.label(), explanation(&a), names.join(" → "))
            });
        }
    }
}

type Txn = history::Txn;

/// An anomaly's explanation without the class label it ends with (shown in front instead).
pub fn explanation(a: &history::Anomaly) -> &str {
    let label = format!(": {}", a.kind.label());
    a.explanation.strip_suffix(label.as_str()).unwrap_or(&a.explanation)
}

fn history_txn(txn: TxnId, status: history::Status, ops: &[Op]) -> Txn {
    Txn {
        name: txn.to_string(),
        process: txn.client as u64,
        ops: ops.iter().map(Op::to_history).collect(),
        status,
    }
}

/// Whether `manager` is up and still runs `txn`.
fn manages(world: &World<Kv>, manager: NodeId, txn: TxnId) -> bool {
    match &world.node(manager).state {
        Some(State::Client(c)) => c.manager.txns.contains_key(&txn),
        Some(State::Coord(m)) => m.txns.contains_key(&txn),
        _ => false,
    }
}

/// A shard's 2PC participant table.
fn part_of(s: &State) -> Option<&PartTxns> {
    match s {
        State::Shard(sh) => Some(&sh.part),
        _ => None,
    }
}

// ---- The protocol ---------------------------------------------------------------------------

impl Protocol for Kv {
    const NAME: &'static str = "kv";
    const MSG_KINDS: &'static [&'static str] = &[
        "submit",
        "answer",
        "exec",
        "exec_commit",
        "executed",
        "done",
        "refused",
        "prepare",
        "vote_yes",
        "vote_no",
        "commit",
        "abort",
        "ack",
        "decision_request",
    ];
    const RECORD_KINDS: &'static [&'static str] =
        &["epoch", "prepared", "commit", "abort", "end", "local_commit"];
    const PHASES: &'static [&'static str] =
        &["idle", "executing", "committing", "waiting", "locking", "in_doubt"];
    const BLOCKS_ON_DELIVERY: bool = true;
    const PROPERTIES: &'static [PropertySpec] = &[
        PropertySpec {
            id: "serializable",
            name: "Serializable",
            kind: PropertyKind::Always,
            about: "The committed transactions' dependency graph (ww, wr and rw edges, inferred from what clients saw, as Elle does) has no cycle, and no committed read saw an aborted or intermediate write.",
        },
        PropertySpec {
            id: "atomic",
            name: "Atomic across shards",
            kind: PropertyKind::Always,
            about: "No two nodes decide a transaction differently: every shard applies a committed transaction's writes and none of an aborted one's.",
        },
        PropertySpec {
            id: "durable",
            name: "Durable",
            kind: PropertyKind::Always,
            about: "A shard that recovers from a crash still holds every committed write it had applied.",
        },
        PropertySpec {
            id: "commits",
            name: "A transaction commits",
            kind: PropertyKind::Sometimes,
            about: "Some client is told that its transaction committed.",
        },
        PropertySpec {
            id: "aborts",
            name: "A transaction aborts",
            kind: PropertyKind::Sometimes,
            about: "Some client is told that its transaction aborted.",
        },
    ];

    type Params = Params;
    type State = State;
    type Record = Record;
    type Msg = Msg;
    type Timer = Timer;
    type Request = TxnRequest;
    type Decision = Decision;
    type Phase = Phase;
    type Monitor = Monitor;

    fn validate(p: &Params) -> Result<(), ParamError> {
        for (field, n) in [("shards", p.shards), ("clients", p.clients)] {
            if !(1..=8).contains(&n) {
                return Err(ParamError::new(field, "must be from 1 to 8"));
            }
        }
        if p.keys == 0 || p.keys > 1_000_000 {
            return Err(ParamError::new("keys", "must be from 1 to 1000000"));
        }
        common::check_ticks(&[
            ("exec_timeout_ticks", p.exec_timeout_ticks),
            ("unprepared_timeout_ticks", p.unprepared_timeout_ticks),
            ("client_timeout_ticks", p.client_timeout_ticks),
            ("vote_timeout_ticks", p.vote_timeout_ticks),
            ("resend_ticks", p.resend_ticks),
            ("in_doubt_timeout_ticks", p.in_doubt_timeout_ticks),
            ("lock_ttl_ticks", p.lock_ttl_ticks),
        ])?;
        if let Some(g) = &p.workload {
            if g.txns > 1000 {
                return Err(ParamError::new("workload.txns", "must be at most 1000 per client"));
            }
            if g.interval_ticks == 0 {
                return Err(ParamError::new("workload.interval_ticks", "must be at least 1 tick"));
            }
            if g.ops_min > g.ops_max || g.ops_max > 16 {
                return Err(ParamError::new(
                    "workload.ops_max",
                    "must be at least ops_min and at most 16",
                ));
            }
            for (field, pc) in [("read_percent", g.read_percent), ("hot_percent", g.hot_percent)] {
                if pc > 100 {
                    return Err(ParamError::new(
                        format!("workload.{field}"),
                        "must be from 0 to 100",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The seeded workload: each client's transactions as requests at their arrival times.
    fn generated_requests(p: &Params) -> Vec<(Time, NodeId, TxnRequest)> {
        let Some(g) = &p.workload else { return Vec::new() };
        let mut out = Vec::new();
        for k in 0..g.txns {
            for c in 1..=p.clients {
                let txn = g.txn(c, k, p.keys, p.flavour);
                out.push((g.arrival(k), p.client_node(c), TxnRequest { txn }));
            }
        }
        out
    }

    fn nodes(p: &Params) -> Vec<NodeSpec> {
        let mut nodes: Vec<NodeSpec> = (1..=p.clients)
            .map(|k| NodeSpec { name: format!("c{k}"), role: "client".into() })
            .collect();
        if p.coord_node().is_some() {
            nodes.push(NodeSpec { name: "coord".into(), role: "coordinator".into() });
        }
        nodes.extend(
            (1..=p.shards).map(|i| NodeSpec { name: format!("s{i}"), role: "shard".into() }),
        );
        nodes
    }

    fn init(ctx: &Ctx<'_, Self>) -> State {
        match ctx.params.role(ctx.node) {
            Role::Client(_) => State::Client(Box::new(Client::new())),
            Role::Coord => State::Coord(Manager::default()),
            Role::Shard(_) => {
                State::Shard(Box::new(Shard { store: Store::default(), part: PartTxns::new() }))
            }
        }
    }

    fn on_input(ctx: &mut Ctx<'_, Self>, state: &mut State, input: Input<Self>) {
        match state {
            State::Client(c) => c.on_input(ctx, input),
            State::Coord(m) => {
                let answered = match input {
                    Input::Message { msg: Msg::Submit { txn, ops }, .. } => m.begin(ctx, txn, ops),
                    Input::Message { from, msg } => m.on_message(ctx, from, msg),
                    Input::Timer(t) => m.on_timer(ctx, t),
                    Input::Request(_) => None,
                };
                if let Some((txn, status, ops)) = answered {
                    ctx.send(ctx.params.client_node(txn.client), Msg::Answer { txn, status, ops });
                }
            }
            State::Shard(s) => s.on_input(ctx, input),
        }
    }

    fn on_recover(ctx: &mut Ctx<'_, Self>) -> State {
        match ctx.params.role(ctx.node) {
            Role::Client(_) => {
                let epoch = commit::recovered_epoch::<Self>(ctx.log);
                ctx.persist(Record::TwoPc(commit::Record::Epoch { epoch }));
                let mut c = Client::new();
                c.manager.epoch = epoch;
                c.manager.commit = commit::coord_recover(ctx);
                State::Client(Box::new(c))
            }
            Role::Coord => {
                State::Coord(Manager { commit: commit::coord_recover(ctx), ..Manager::default() })
            }
            Role::Shard(_) => State::Shard(Box::new(Shard::recover(ctx))),
        }
    }

    fn phase(state: &State) -> Phase {
        match state {
            State::Client(c) => match &c.current {
                None => Phase::Idle,
                Some((txn, _)) => match c.manager.txns.get(txn) {
                    Some(m) if m.committing => Phase::Committing,
                    Some(_) => Phase::Executing,
                    None => Phase::Waiting,
                },
            },
            State::Coord(m) => m.phase(),
            State::Shard(s) => s.phase(),
        }
    }

    fn view(world: &World<Self>, node: NodeId) -> NodeView {
        let mut v = world.base_view(node);
        let Some(state) = &world.node(node).state else { return v };
        let p = &world.params;
        match state {
            State::Client(c) => {
                if let Some((txn, ops)) = &c.current {
                    v.fields.push(("running".into(), format!("{txn}: {}", ops_text(ops))));
                }
                if !c.queue.is_empty() {
                    v.fields.push(("queued".into(), c.queue.len().to_string()));
                }
                let count =
                    |f: fn(&Status) -> bool| c.answered.iter().filter(|(_, s, _)| f(s)).count();
                v.fields.push((
                    "answered".into(),
                    format!(
                        "{} committed, {} aborted, {} unknown",
                        count(|s| *s == Status::Committed),
                        count(|s| matches!(s, Status::Aborted { .. })),
                        count(|s| *s == Status::Unknown)
                    ),
                ));
                let mut t = Table::new(
                    "transactions",
                    &["transaction", "outcome", "operations (reads as seen)"],
                );
                if let Some((txn, ops)) = &c.current {
                    t.push(vec![txn.to_string(), "running".into(), ops_text(ops)]);
                }
                for (txn, status, ops) in c.answered.iter().rev() {
                    t.push(vec![txn.to_string(), status.to_string(), ops_text(ops)]);
                }
                v.tables.push(t);
                if p.coord_node().is_none()
                    && !(c.manager.txns.is_empty() && c.manager.commit.values().all(|t| t.ended))
                {
                    v.tables.push(c.manager.table(world));
                }
                v.decision = c.answered.last().map(|(txn, s, _)| format!("{txn} {s}"));
            }
            State::Coord(m) => {
                v.tables.push(m.table(world));
            }
            State::Shard(s) => {
                let Role::Shard(i) = p.role(node) else { return v };
                v.fields.push(("owns".into(), p.partitioning.describe(i, p.shards, p.keys)));
                v.fields.push((
                    "concurrency control".into(),
                    format!("{}, {}", p.isolation.name(), p.deadlock.name()),
                ));
                let st = &s.store;
                let mut keys =
                    Table::new("keys", &["key", "value", "version", "locked by", "waiting"]);
                let mut all: Vec<Key> = st.data.keys().copied().collect();
                all.extend(st.locks.keys.keys().copied());
                all.sort();
                all.dedup();
                for k in all {
                    let value = match (st.data.get(&k), p.flavour) {
                        (None, Flavour::ListAppend) => "[]".to_string(),
                        (None, Flavour::RwRegister) => "nil".to_string(),
                        (Some(l), Flavour::ListAppend) => format!("{l:?}"),
                        (Some(l), Flavour::RwRegister) => {
                            l.last().map_or("nil".into(), |v| v.to_string())
                        }
                    };
                    let locks = st.locks.keys.get(&k);
                    let held = locks.map_or(String::new(), |l| l.to_string());
                    let waiting = locks.map_or(String::new(), |l| {
                        l.waiters
                            .iter()
                            .map(|(a, m)| format!("{} {}", m.letter(), a.txn))
                            .collect::<Vec<_>>()
                            .join(", ")
                    });
                    keys.push(vec![
                        format!("k{k}"),
                        value,
                        st.versions.get(&k).copied().unwrap_or(0).to_string(),
                        held,
                        waiting,
                    ]);
                }
                v.tables.push(keys);
                let mut txns = Table::new("transactions", &["transaction", "state", "since"]);
                for (txn, a) in &st.active {
                    let state = if s.in_doubt_since(*txn).is_some() {
                        "prepared, in doubt: keeps its locks".to_string()
                    } else if let Some(k) = a.waiting {
                        format!("waiting for a lock on k{k}")
                    } else if a.done < a.ops.len() {
                        "running".into()
                    } else {
                        "ran its part; waits for Prepare".into()
                    };
                    txns.push(vec![txn.to_string(), state, format!("t={}", a.since)]);
                }
                v.tables.push(txns);
                let edges = st.locks.waits_for();
                if !edges.is_empty() {
                    let mut wf = Table::new("waits-for", &["transaction", "waits for"]);
                    for (a, b) in edges {
                        wf.push(vec![a.to_string(), b.to_string()]);
                    }
                    v.tables.push(wf);
                }
                for (k, l) in &st.locks.keys {
                    for (txn, m) in &l.holders {
                        let doubt = s
                            .in_doubt_since(*txn)
                            .map_or(String::new(), |t| format!(", in doubt since t={t}"));
                        v.locks.push(format!("{} k{k}: {txn}{doubt}", m.letter()));
                    }
                }
                v.decision = s.part.last_key_value().and_then(|(txn, t)| match t.status {
                    PartStatus::Decided(o) => Some(format!("{o} {txn}")),
                    PartStatus::InDoubt { .. } => None,
                });
            }
        }
        v
    }

    fn observe(
        monitor: &mut Monitor,
        world: &World<Self>,
        event: &Event<Self>,
        findings: &mut Findings,
    ) {
        let Some(node) = event.node else { return };
        let p = &world.params;
        match &event.kind {
            EventKind::Persist { record } => {
                let entry = match record {
                    Record::TwoPc(commit::Record::Prepared { txn, intents, .. }) => {
                        Some((*txn, intents.writes.clone()))
                    }
                    Record::Local(l) => Some((l.txn, l.writes())),
                    _ => None,
                };
                if let Some((txn, writes)) = entry {
                    monitor.pending.insert((node, txn), writes);
                }
            }
            EventKind::Decide { decision: Decision::Outcome(d) } => {
                if let Some((other, o)) = monitor.decisions.record(node, *d, event.time) {
                    findings.report(ATOMIC, || {
                        format!(
                            "{} decided {} on {} but {} decided {o}",
                            world.name(node),
                            d.outcome,
                            d.txn,
                            world.name(other)
                        )
                    });
                }
                if let Some(writes) = monitor.pending.remove(&(node, d.txn)) {
                    if d.outcome == Outcome::Commit {
                        for w in writes {
                            *monitor.applied.entry((node, w.key())).or_default() += 1;
                        }
                    }
                }
            }
            EventKind::Decide { decision: Decision::Answer { txn, status, ops } } => {
                let s = match status {
                    Status::Committed => {
                        findings.report(COMMITS, || format!("{txn} committed"));
                        history::Status::Ok
                    }
                    Status::Aborted { .. } => {
                        findings.report(ABORTS, || format!("{txn} aborted"));
                        history::Status::Fail
                    }
                    Status::Unknown => history::Status::Info,
                };
                monitor.inflight.remove(&txn.client);
                monitor.enter(world, history_txn(*txn, s, ops), findings);
            }
            EventKind::Crash => {
                if let Role::Client(k) = p.role(node) {
                    if let Some((txn, ops)) = monitor.inflight.remove(&k) {
                        monitor.enter(
                            world,
                            history_txn(txn, history::Status::Info, &ops),
                            findings,
                        );
                    }
                }
            }
            EventKind::Recover { .. } => {
                if let Some(State::Shard(s)) = &world.node(node).state {
                    for ((n, key), count) in &monitor.applied {
                        let has = s.store.versions.get(key).copied().unwrap_or(0);
                        if *n == node && has != *count {
                            findings.report(DURABLE, || {
                                format!("{} recovered {has} committed writes of k{key} but had applied {count}", world.name(node))
                            });
                        }
                    }
                }
            }
            _ => {}
        }
        if let (Role::Client(k), Some(State::Client(c))) = (p.role(node), &world.node(node).state) {
            match &c.current {
                Some((txn, ops)) if monitor.inflight.get(&k).is_none_or(|(t, _)| t != txn) => {
                    monitor.inflight.insert(k, (*txn, ops.clone()));
                }
                _ => {}
            }
        }
    }

    fn blocked(world: &World<Self>, node: NodeId) -> Option<Blocked> {
        let part = part_of;
        let p = &world.params;
        match p.role(node) {
            Role::Shard(_) => {
                // In doubt means prepared and still active: a quick look before the search.
                let Some(State::Shard(sh)) = &world.node(node).state else { return None };
                if !sh.store.active.values().any(|a| a.prepared) {
                    return None;
                }
                commit::blocked_in_doubt(world, node, part)
            }
            Role::Coord => None,
            Role::Client(_) => {
                let Some(State::Client(c)) = &world.node(node).state else { return None };
                let (txn, _) = c.current.as_ref()?;
                // Its transaction waits for a lock held by one that a blocked shard keeps in
                // doubt, or by one whose coordinator died before Prepare with no timeout.
                (0..p.shards).map(|i| p.shard_node(i)).find_map(|s| {
                    let Some(State::Shard(sh)) = &world.node(s).state else { return None };
                    let key = sh.store.active.get(txn)?.waiting?;
                    let holders = &sh.store.locks.keys.get(&key)?.holders;
                    let shard = world.name(s);
                    let why = holders.iter().find_map(|(h, _)| {
                        let a = sh.store.active.get(h)?;
                        if sh.in_doubt_since(*h).is_some() {
                            commit::blocked_in_doubt(world, s, part)?;
                            Some(format!("{txn} waits at {shard} for k{key}, locked by {h}, which {shard} holds in doubt and cannot release until it learns the outcome"))
                        } else if !a.prepared && !p.timeouts && !manages(world, a.manager, *h) {
                            Some(format!("{txn} waits at {shard} for k{key}, locked by {h}, whose coordinator {} lost it in a crash before Prepare; with no timeouts {shard} holds the lock for ever", world.name(a.manager)))
                        } else {
                            None
                        }
                    })?;
                    Some(Blocked { waiting_for: vec![s], why })
                })
            }
        }
    }

    fn settled(world: &World<Self>) -> Result<(), String> {
        for (i, slot) in world.nodes.iter().enumerate() {
            let name = world.name(NodeId(i as u32));
            let Some(state) = &slot.state else { return Err(format!("{name} is down")) };
            match state {
                State::Client(c) => {
                    if let Some((txn, _)) = &c.current {
                        return Err(format!("{name} has no answer for {txn}"));
                    }
                    if !c.queue.is_empty() {
                        return Err(format!(
                            "{name} still has {} transactions queued",
                            c.queue.len()
                        ));
                    }
                }
                State::Coord(m) => {
                    if let Some(txn) = m.txns.keys().next() {
                        return Err(format!("{name} has not finished {txn}"));
                    }
                }
                State::Shard(s) => {
                    if let Some((txn, _)) = s.store.active.iter().next() {
                        return Err(format!("{name} still holds locks for {txn}"));
                    }
                }
            }
        }
        Ok(())
    }

    fn summary(
        events: &[Event<Self>],
        last: &commitscope_engine::Simulator<Self>,
    ) -> commitscope_engine::Summary {
        summary::summary(events, last)
    }

    fn explain(event: &Event<Self>) -> Option<String> {
        Some(match &event.kind {
            EventKind::Send { msg: Msg::ExecCommit { .. }, .. } => {
                "every key is on this one shard: it runs and commits the transaction in one step, with no 2PC".into()
            }
            EventKind::Send { msg: Msg::Done { unlocked: true, .. }, .. } => {
                "a read-only transaction on one shard read without locks, at one instant when no writer held its keys: as if it had locked and unlocked them at once, so it is serializable (across shards it would not be: one shard could be read before a commit and another after)".into()
            }
            EventKind::Send { msg: Msg::Exec { .. }, .. } => {
                "the shard locks what it touches (shared to read, exclusive to write) and keeps the locks until it learns the outcome".into()
            }
            EventKind::Send { msg: Msg::Refused { why, .. }, .. } => match why {
                Refusal::Conflict { policy: Policy::NoWait, .. } => "no-wait: a transaction that meets a lock aborts at once, so nobody ever waits in a cycle".into(),
                Refusal::Conflict { .. } => "wait-die: a younger transaction dies rather than wait for an older one, so waits never form a cycle".into(),
                Refusal::Wounded { .. } => "wound-wait: the older transaction wounds the younger lock holder, which aborts here".into(),
                Refusal::Timeout => "presumed abort where it is safe: this part never prepared, so aborting it cannot contradict a commit".into(),
                Refusal::Restarted => "the shard crashed since this transaction began and cannot tell what it ran: it refuses".into(),
            },
            EventKind::Persist { record: Record::TwoPc(commit::Record::Prepared { intents, .. }) } => {
                let keys: Vec<String> = intents.locks.iter().map(|(k, m)| format!("{} k{k}", m.letter())).collect();
                format!("it has promised to commit if told to: until it learns the outcome it keeps its locks ({}), however long that takes", keys.join(", "))
            }
            EventKind::Persist { record: Record::Local(_) } => {
                "the commit point of a single-shard transaction: one forced write, one round trip".into()
            }
            _ => return None,
        })
    }
}
