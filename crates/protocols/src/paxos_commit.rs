//! Paxos Commit (Gray & Lamport, "Consensus on Transaction Commit", ACM TODS 31(1), 2006).
//!
//! Each resource manager's Prepared/Aborted value is chosen by its own instance of Paxos on
//! 2F+1 acceptors, so the transaction decides as long as at most F acceptors have failed —
//! the leader included. Two-phase commit is the case F = 0 with the leader as the only
//! acceptor.
//!
//! Nodes. The 2F+1 acceptors are the paper's "coordinators": acceptor `a0` lives on the
//! leader's node, and acceptor `ak` is the leader candidate of rank k.
//! - `colocated: false`: node 0 is `tm` (the initial leader, where client requests go, and
//!   acceptor a0), then `rm1..rmN`, then `a1..a2F` on their own nodes. With F = 0, `tm` is
//!   the single acceptor: this is 2PC's shape (the issue's "F = 0 with the leader as the
//!   single acceptor"); the paper's cost analysis also puts the leader with an acceptor.
//! - `colocated: true` (the paper's cost analysis): `rm1..rmN` only; rm(k+1) also hosts
//!   acceptor ak, and rm1 is the initial leader. Needs N ≥ 2F+1.
//!
//! A message between two processes of one node is handed over inline (no network message,
//! no message delay, no trace event of its own): "a message between processes on the same
//! node is not a message".
//!
//! Normal case (ballot 0). The leader sends Prepare to every RM. An RM forces PREPARED
//! (its value) and sends phase 2a ⟨ballot 0, its instance, Prepared⟩ to every acceptor; an
//! RM that votes no forces ABORT, aborts at once, and sends ⟨2a, 0, Aborted⟩. An acceptor
//! that has not promised a higher ballot forces ACCEPT and sends phase 2b to the leader
//! (`faster`: to every RM as well). A value is chosen when F+1 acceptors accepted it in one
//! ballot. The leader decides Commit once every instance chose Prepared, Abort once any
//! chose Aborted, and tells the RMs (`faster`: the RMs learn by themselves from the 2b
//! messages, and no Commit is sent). RMs force their decision.
//!
//! Failures.
//! - The leader starts a ballot of its own when the outcome is still unknown `retry_ticks`
//!   after Prepare (in its own ballot it re-sends the same 1a or 2a every `retry_ticks`
//!   until it is refused or done): phase 1a to every acceptor; each
//!   acceptor that has not promised as much forces PROMISE and answers phase 1b with what it
//!   accepted; with F+1 answers the leader proposes, for every instance whose value it does
//!   not know to be chosen, the value of the highest accepted ballot — or Aborted if none —
//!   forcing PROPOSE before its phase 2a (so it never proposes two values in one ballot).
//!   Ballot numbers are unique per candidate: b ≡ k (mod 2F+1) for rank k, ballot 0 being
//!   the RMs' own.
//! - An RM still undecided `in_doubt_timeout_ticks` after voting asks every acceptor node
//!   (DecisionRequest). A node that knows the outcome answers; otherwise candidate k takes
//!   over after k × `takeover_ticks` (rank 0 at once) unless a leader with some ballot is
//!   seen to be at work (which postpones it), and runs a new ballot. The new leader tells
//!   every RM and every acceptor node.
//! - An acceptor answers a 1a or 2a below its promise with Nack(promised). A leader that is
//!   refused, or that sees a higher ballot at work, steps aside.
//! - Recovery from the log: an acceptor gets back its promise and accepted values, an RM
//!   its value and decision (undecided, it re-sends its 2a and asks), a leader the highest
//!   ballot it proposed in: it re-sends that 2a, which acceptors that promised a higher
//!   ballot refuse. Node 0 starts a new epoch so transaction ids stay unique.
//!
//! The view: an acceptor's card has the table `instances at acceptor ak` (one row per
//! instance: promised ballot, accepted ballot and value); a leader's card has `phase 2b
//! votes received` (instance × acceptor: each acceptor's highest-ballot vote, and the value
//! chosen as far as those votes show).

use crate::common::{self, Begin, Decisions, NodeSet, Outcome, TxnId};
use commitscope_engine::protocol::ParamError;
use commitscope_engine::vecmap::VecMap;
use commitscope_engine::{
    Blocked, Ctx, Event, EventKind, Findings, Input, Kind, NodeId, NodeSpec, NodeView,
    PropertyKind, PropertySpec, Protocol, Table, Time, World,
};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fmt;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PaxosCommit;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// Number of resource managers N, 1 to 16.
    pub resource_managers: u32,
    /// Faults tolerated F, 0 to 3: there are 2F+1 acceptors and F+1 make a majority.
    pub faults: u32,
    /// Acceptors on the first 2F+1 RMs' nodes and the leader on rm1 (the paper's cost
    /// analysis), instead of `tm` and acceptor nodes `a1..a2F`.
    pub colocated: bool,
    /// Faster Paxos Commit: acceptors send phase 2b to every RM too, so the RMs learn the
    /// outcome without the leader's Commit.
    pub faster: bool,
    /// A leader that has not learned the outcome this long after sending Prepare starts a
    /// ballot of its own; in its own ballot it sends its 1a or 2a again this often.
    pub retry_ticks: Time,
    /// Asked for an outcome it does not know, candidate k takes over after k times this.
    pub takeover_ticks: Time,
    /// An RM that voted and has no decision asks the acceptor nodes this often.
    pub in_doubt_timeout_ticks: Time,
    /// RMs (by name, e.g. "rm2") that vote no on every transaction.
    pub vote_no: Vec<String>,
    /// The workload rule: an RM votes no on a transfer larger than this (the course's
    /// failing case is a transfer of 999999).
    pub max_transfer: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            resource_managers: 3,
            faults: 1,
            colocated: false,
            faster: false,
            retry_ticks: 60,
            takeover_ticks: 40,
            in_doubt_timeout_ticks: 60,
            vote_no: Vec::new(),
            max_transfer: 100_000,
        }
    }
}

/// An instance's value: what RM `rm` wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    Prepared,
    Aborted,
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Value::Prepared => "Prepared",
            Value::Aborted => "Aborted",
        })
    }
}

/// Values for some instances, by RM number (1-based), in RM order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Values(pub Vec<(u32, Value)>);

impl fmt::Display for Values {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(rm, v)| format!("rm{rm} {v}")).collect();
        f.write_str(&parts.join(", "))
    }
}

/// What an acceptor accepted for one instance, as its phase 1b reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Report {
    pub rm: u32,
    pub ballot: u32,
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Msg {
    /// Leader → RM: the transaction is to commit; prepare (the paper's BeginCommit/Prepare).
    Prepare {
        txn: TxnId,
        transfer: u64,
    },
    /// Ballot 0: an RM proposes its own value; ballot b > 0: the leader of b proposes.
    Phase2a {
        txn: TxnId,
        ballot: u32,
        values: Values,
    },
    /// Acceptor → leader (and, in Faster Paxos Commit, every RM): accepted.
    Phase2b {
        txn: TxnId,
        ballot: u32,
        values: Values,
    },
    /// A new leader asks the acceptors for their state on every instance.
    Phase1a {
        txn: TxnId,
        ballot: u32,
    },
    /// Acceptor → leader: promised `ballot`; what it accepted before.
    Phase1b {
        txn: TxnId,
        ballot: u32,
        accepted: Vec<Report>,
    },
    /// Acceptor → sender of a 1a/2a: refused, it has promised a higher ballot.
    Nack {
        txn: TxnId,
        ballot: u32,
        promised: u32,
    },
    Commit {
        txn: TxnId,
    },
    Abort {
        txn: TxnId,
    },
    /// An undecided RM asks an acceptor node for the outcome.
    DecisionRequest {
        txn: TxnId,
    },
}

impl Msg {
    pub fn txn(&self) -> TxnId {
        match self {
            Msg::Prepare { txn, .. }
            | Msg::Phase2a { txn, .. }
            | Msg::Phase2b { txn, .. }
            | Msg::Phase1a { txn, .. }
            | Msg::Phase1b { txn, .. }
            | Msg::Nack { txn, .. }
            | Msg::Commit { txn }
            | Msg::Abort { txn }
            | Msg::DecisionRequest { txn } => *txn,
        }
    }
}

impl Kind for Msg {
    fn kind(&self) -> &'static str {
        match self {
            Msg::Prepare { .. } => "prepare",
            Msg::Phase2a { .. } => "phase2a",
            Msg::Phase2b { .. } => "phase2b",
            Msg::Phase1a { .. } => "phase1a",
            Msg::Phase1b { .. } => "phase1b",
            Msg::Nack { .. } => "nack",
            Msg::Commit { .. } => "commit",
            Msg::Abort { .. } => "abort",
            Msg::DecisionRequest { .. } => "decision_request",
        }
    }
}

impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Msg::Prepare { txn, .. } => write!(f, "Prepare({txn})"),
            Msg::Phase2a { txn, ballot, values } => {
                write!(f, "Phase2a({txn}, b{ballot}: {values})")
            }
            Msg::Phase2b { txn, ballot, values } => {
                write!(f, "Phase2b({txn}, b{ballot}: {values})")
            }
            Msg::Phase1a { txn, ballot } => write!(f, "Phase1a({txn}, b{ballot})"),
            Msg::Phase1b { txn, ballot, accepted } => {
                let what: Vec<String> = accepted
                    .iter()
                    .map(|r| format!("rm{} {} in b{}", r.rm, r.value, r.ballot))
                    .collect();
                let what =
                    if what.is_empty() { "nothing accepted".into() } else { what.join(", ") };
                write!(f, "Phase1b({txn}, b{ballot}: {what})")
            }
            Msg::Nack { txn, ballot, promised } => {
                write!(f, "Nack({txn}, b{ballot} refused: promised b{promised})")
            }
            Msg::Commit { txn } => write!(f, "Commit({txn})"),
            Msg::Abort { txn } => write!(f, "Abort({txn})"),
            Msg::DecisionRequest { txn } => write!(f, "DecisionRequest({txn})"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// Node 0: a new epoch after recovery (transaction ids stay unique).
    Epoch {
        epoch: u32,
    },
    /// RM: its value is Prepared (forced before its phase 2a).
    Prepared {
        txn: TxnId,
    },
    /// RM: the decision (an RM that votes no forces ABORT first: its value is Aborted).
    Commit {
        txn: TxnId,
    },
    Abort {
        txn: TxnId,
    },
    /// Acceptor: it promised to take part in no ballot below `ballot` (before its 1b).
    Promise {
        txn: TxnId,
        ballot: u32,
    },
    /// Acceptor: it accepted these values in `ballot` (before its 2b).
    Accept {
        txn: TxnId,
        ballot: u32,
        values: Values,
    },
    /// Leader: it proposes these values in `ballot` (before its 2a).
    Propose {
        txn: TxnId,
        ballot: u32,
        values: Values,
    },
}

impl Kind for Record {
    fn kind(&self) -> &'static str {
        match self {
            Record::Epoch { .. } => "epoch",
            Record::Prepared { .. } => "prepared",
            Record::Commit { .. } => "commit",
            Record::Abort { .. } => "abort",
            Record::Promise { .. } => "promise",
            Record::Accept { .. } => "accept",
            Record::Propose { .. } => "propose",
        }
    }
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Record::Epoch { epoch } => write!(f, "EPOCH {epoch}"),
            Record::Prepared { txn } => write!(f, "PREPARED {txn}"),
            Record::Commit { txn } => write!(f, "COMMIT {txn}"),
            Record::Abort { txn } => write!(f, "ABORT {txn}"),
            Record::Promise { txn, ballot } => write!(f, "PROMISE {txn} b{ballot}"),
            Record::Accept { txn, ballot, values } => write!(f, "ACCEPT {txn} b{ballot} {values}"),
            Record::Propose { txn, ballot, values } => {
                write!(f, "PROPOSE {txn} b{ballot} {values}")
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Timer {
    /// Leader: the outcome is still unknown; start a higher ballot.
    Retry { txn: TxnId },
    /// Candidate: asked for an outcome nobody gave; take over.
    Takeover { txn: TxnId },
    /// RM: voted and still undecided; ask the acceptor nodes.
    InDoubt { txn: TxnId },
}

impl Kind for Timer {
    fn kind(&self) -> &'static str {
        match self {
            Timer::Retry { .. } => "retry",
            Timer::Takeover { .. } => "takeover",
            Timer::InDoubt { .. } => "in_doubt",
        }
    }
}

impl fmt::Display for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let txn = match self {
            Timer::Retry { txn } | Timer::Takeover { txn } | Timer::InDoubt { txn } => txn,
        };
        write!(f, "{}({txn})", self.kind().replace('_', "-"))
    }
}

/// Why an RM decided what it decided (shown in the narration, not on the label).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Basis {
    /// It voted no: its own instance can only choose Aborted.
    VotedNo,
    /// A leader (or a node that knew) told it.
    Told { from: NodeId },
    /// Faster Paxos Commit: it counted the acceptors' phase 2b messages itself.
    Learned,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Decision {
    pub txn: TxnId,
    pub outcome: Outcome,
    pub basis: Basis,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} for {}", self.outcome, self.txn)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Idle,
    /// Leader, ballot 0: collecting phase 2b messages.
    Collecting,
    /// Leader of a ballot above 0: collecting phase 1b messages.
    Phase1,
    /// Leader of a ballot above 0: proposed, collecting phase 2b messages.
    Phase2,
    /// RM: voted Prepared, undecided.
    Prepared,
    Committed,
    Aborted,
    /// Acceptor only: promised a ballot, accepted nothing.
    Promised,
    /// Acceptor only: accepted some value.
    Accepted,
}

impl Kind for Phase {
    fn kind(&self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Collecting => "collecting",
            Phase::Phase1 => "phase1",
            Phase::Phase2 => "phase2",
            Phase::Prepared => "prepared",
            Phase::Committed => "committed",
            Phase::Aborted => "aborted",
            Phase::Promised => "promised",
            Phase::Accepted => "accepted",
        }
    }
}

/// Where everything lives, from the parameters.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    pub n_rms: u32,
    pub n_acceptors: u32,
    pub colocated: bool,
}

impl Layout {
    pub fn of(p: &Params) -> Layout {
        Layout { n_rms: p.resource_managers, n_acceptors: 2 * p.faults + 1, colocated: p.colocated }
    }
    /// F+1: how many acceptors make a majority.
    pub fn quorum(self) -> u32 {
        self.n_acceptors / 2 + 1
    }
    pub fn n_nodes(self) -> u32 {
        if self.colocated {
            self.n_rms
        } else {
            self.n_rms + self.n_acceptors
        }
    }
    /// The node of RM `i` (1-based).
    pub fn rm_node(self, i: u32) -> NodeId {
        if self.colocated {
            NodeId(i - 1)
        } else {
            NodeId(i)
        }
    }
    pub fn rm_of(self, node: NodeId) -> Option<u32> {
        let i = if self.colocated { node.0 + 1 } else { node.0 };
        (1..=self.n_rms).contains(&i).then_some(i)
    }
    /// The node of acceptor `k` (0-based; k is also the leader candidate's rank).
    pub fn acceptor_node(self, k: u32) -> NodeId {
        if self.colocated || k == 0 {
            NodeId(k)
        } else {
            NodeId(self.n_rms + k)
        }
    }
    pub fn acceptor_of(self, node: NodeId) -> Option<u32> {
        let k = match (self.colocated, node.0) {
            (true, n) => n,
            (false, 0) => 0,
            (false, n) if n > self.n_rms => n - self.n_rms,
            _ => return None,
        };
        (k < self.n_acceptors).then_some(k)
    }
    pub fn rms(self) -> impl Iterator<Item = NodeId> + Clone {
        (1..=self.n_rms).map(move |i| self.rm_node(i))
    }
    pub fn acceptors(self) -> impl Iterator<Item = NodeId> + Clone {
        (0..self.n_acceptors).map(move |k| self.acceptor_node(k))
    }
    /// The node that leads ballot `b` (ballot 0: the initial leader, node 0).
    pub fn leader_of(self, ballot: u32) -> NodeId {
        self.acceptor_node(ballot % self.n_acceptors)
    }
    /// The smallest ballot above `above` that belongs to candidate `rank` (never 0).
    pub fn next_ballot(self, rank: u32, above: u32) -> u32 {
        let n = self.n_acceptors;
        let mut b = above / n * n + rank;
        while b <= above || b == 0 {
            b += n;
        }
        b
    }
}

/// Phase 2b messages received, per instance, ballot and value: who accepted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Tally {
    pub votes: VecMap<(u32, u32, Value), NodeSet>,
}

impl Tally {
    fn add(&mut self, acceptor: NodeId, ballot: u32, values: &Values) {
        for (rm, v) in &values.0 {
            self.votes.entry((*rm, ballot, *v)).or_default().insert(acceptor);
        }
    }
    /// The value instance `rm` has chosen, as far as these 2b messages show.
    pub fn chosen(&self, rm: u32, quorum: u32) -> Option<Value> {
        self.votes
            .range((rm, 0, Value::Prepared)..=(rm, u32::MAX, Value::Aborted))
            .find(|(_, who)| who.len() >= quorum)
            .map(|((_, _, v), _)| *v)
    }
    pub fn outcome(&self, lay: Layout) -> Option<Outcome> {
        let chosen: Vec<Option<Value>> =
            (1..=lay.n_rms).map(|rm| self.chosen(rm, lay.quorum())).collect();
        if chosen.contains(&Some(Value::Aborted)) {
            Some(Outcome::Abort)
        } else if chosen.iter().all(|c| *c == Some(Value::Prepared)) {
            Some(Outcome::Commit)
        } else {
            None
        }
    }
}

/// The leader's view of the phase 2b votes: one row per instance (RM), one column per
/// acceptor (its highest-ballot vote), and the value chosen as far as these votes show.
fn votes_table(tally: &Tally, lay: Layout) -> Table {
    let mut columns: Vec<String> = vec!["instance".into()];
    columns.extend((0..lay.n_acceptors).map(|k| format!("a{k}")));
    columns.push("chosen".into());
    let mut t = Table { title: "phase 2b votes received".into(), columns, rows: Vec::new() };
    for rm in 1..=lay.n_rms {
        let mut row = vec![format!("rm{rm}")];
        for k in 0..lay.n_acceptors {
            let node = lay.acceptor_node(k);
            let vote = tally
                .votes
                .range((rm, 0, Value::Prepared)..=(rm, u32::MAX, Value::Aborted))
                .filter(|(_, who)| who.contains(node))
                .map(|((_, b, val), _)| format!("b{b} {val}"))
                .next_back();
            row.push(vote.unwrap_or_else(|| "—".into()));
        }
        row.push(tally.chosen(rm, lay.quorum()).map_or("?".into(), |val| val.to_string()));
        t.push(row);
    }
    t
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RmStatus {
    Prepared { since: Time },
    Decided(Outcome),
}

/// One acceptor's state for one transaction: the promise and, per instance, the highest
/// ballot it accepted in and the value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AccTxn {
    pub promised: u32,
    pub accepted: VecMap<u32, (u32, Value)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Ballot 0: the RMs propose; the leader collects phase 2b messages.
    Collecting,
    Phase1 {
        promises: VecMap<NodeId, Vec<Report>>,
    },
    Phase2 {
        values: Values,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Lead {
    pub ballot: u32,
    pub stage: Stage,
}

/// An acceptor node's leader/candidate state for one transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct CoordTxn {
    /// The highest ballot this node has seen (its own, promised, refused with).
    pub max_seen: u32,
    /// The ballot it is leading, if any.
    pub lead: Option<Lead>,
    /// The outcome, if it knows it.
    pub known: Option<Outcome>,
    pub tally: Tally,
    /// A takeover timer is armed.
    pub takeover: bool,
}

/// A node's volatile state: whichever of the three roles it plays.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct State {
    /// Node 0 only: the epoch and sequence of the next transaction id.
    pub epoch: u32,
    pub next_seq: u32,
    pub rm: VecMap<TxnId, RmStatus>,
    /// Faster Paxos Commit: the 2b messages this RM received.
    pub rm_tally: VecMap<TxnId, Tally>,
    pub acc: VecMap<TxnId, AccTxn>,
    pub coord: VecMap<TxnId, CoordTxn>,
}

impl State {
    fn last_txn(&self) -> Option<TxnId> {
        [self.rm.keys().next_back(), self.acc.keys().next_back(), self.coord.keys().next_back()]
            .into_iter()
            .flatten()
            .max()
            .copied()
    }
}

#[derive(Clone, Debug, Default)]
pub struct Monitor {
    decisions: Decisions,
    /// Per (transaction, instance, ballot, value): the acceptors that forced ACCEPT.
    accepted: VecMap<(TxnId, u32, u32, Value), NodeSet>,
    /// Per (transaction, instance): the first value chosen, and in which ballot.
    chosen: VecMap<(TxnId, u32), (Value, u32)>,
}

const AC1: usize = 0;
const AC2: usize = 1;
const DURABLE: usize = 2;
const ONE_VALUE: usize = 3;
const COMMIT_REACHABLE: usize = 4;
const ABORT_REACHABLE: usize = 5;

/// Messages a handler sends to its own node: handed over inline, after the handler.
type Local = VecDeque<Msg>;

fn outcome_msg(txn: TxnId, outcome: Outcome) -> Msg {
    match outcome {
        Outcome::Commit => Msg::Commit { txn },
        Outcome::Abort => Msg::Abort { txn },
    }
}

fn decision_record(txn: TxnId, outcome: Outcome) -> Record {
    match outcome {
        Outcome::Commit => Record::Commit { txn },
        Outcome::Abort => Record::Abort { txn },
    }
}

impl PaxosCommit {
    fn lay(ctx: &Ctx<'_, Self>) -> Layout {
        Layout::of(ctx.params)
    }

    /// Sends to another node, or queues for inline delivery on this one.
    fn send(ctx: &mut Ctx<'_, Self>, local: &mut Local, to: NodeId, msg: Msg) {
        if to == ctx.node {
            local.push_back(msg);
        } else {
            ctx.send(to, msg);
        }
    }

    fn to_acceptors(ctx: &mut Ctx<'_, Self>, local: &mut Local, msg: &Msg) {
        for a in Self::lay(ctx).acceptors() {
            Self::send(ctx, local, a, msg.clone());
        }
    }

    fn votes_no(ctx: &Ctx<'_, Self>, transfer: u64) -> bool {
        let Some(i) = Self::lay(ctx).rm_of(ctx.node) else { return false };
        transfer > ctx.params.max_transfer || ctx.params.vote_no.contains(&format!("rm{i}"))
    }

    /// Handles one message, from another node or from this one.
    fn on_msg(ctx: &mut Ctx<'_, Self>, st: &mut State, from: NodeId, msg: Msg, local: &mut Local) {
        let lay = Self::lay(ctx);
        let me = ctx.node;
        let is_rm = lay.rm_of(me).is_some();
        let is_acc = lay.acceptor_of(me).is_some();
        match msg {
            Msg::Prepare { txn, transfer } if is_rm => {
                Self::rm_prepare(ctx, st, txn, transfer, local)
            }
            Msg::Phase2a { txn, ballot, values } if is_acc => {
                if ballot > 0 && from != me {
                    Self::saw_leader(ctx, st, txn, ballot);
                }
                Self::acc_2a(ctx, st, from, txn, ballot, values, local);
            }
            Msg::Phase1a { txn, ballot } if is_acc => {
                if from != me {
                    Self::saw_leader(ctx, st, txn, ballot);
                }
                Self::acc_1a(ctx, st, from, txn, ballot, local);
            }
            Msg::Phase1b { txn, ballot, accepted } if is_acc => {
                Self::lead_1b(ctx, st, from, txn, ballot, accepted, local)
            }
            Msg::Nack { txn, ballot, promised } if is_acc => {
                let c = st.coord.entry(txn).or_default();
                c.max_seen = c.max_seen.max(promised);
                if c.lead.as_ref().is_some_and(|l| l.ballot == ballot && l.ballot < promised) {
                    c.lead = None;
                    ctx.cancel_timer(Timer::Retry { txn });
                }
            }
            Msg::Phase2b { txn, ballot, values } => {
                if is_rm && ctx.params.faster {
                    Self::rm_2b(ctx, st, from, txn, ballot, &values);
                }
                if is_acc {
                    Self::lead_2b(ctx, st, from, txn, ballot, &values, local);
                }
            }
            Msg::Commit { txn } | Msg::Abort { txn } => {
                let outcome = if matches!(msg, Msg::Commit { .. }) {
                    Outcome::Commit
                } else {
                    Outcome::Abort
                };
                if is_rm {
                    Self::rm_learn(ctx, st, txn, outcome, Basis::Told { from });
                }
                if is_acc {
                    Self::coord_learn(ctx, st, txn, outcome);
                }
            }
            Msg::DecisionRequest { txn } if is_acc => {
                Self::coord_request(ctx, st, from, txn, local)
            }
            _ => {}
        }
    }

    // ---- the initial leader ----

    fn begin(ctx: &mut Ctx<'_, Self>, st: &mut State, transfer: u64, local: &mut Local) {
        let txn = TxnId::new(st.epoch, st.next_seq);
        st.next_seq += 1;
        let c = st.coord.entry(txn).or_default();
        c.lead = Some(Lead { ballot: 0, stage: Stage::Collecting });
        for rm in Self::lay(ctx).rms() {
            Self::send(ctx, local, rm, Msg::Prepare { txn, transfer });
        }
        ctx.set_timer(Timer::Retry { txn }, ctx.params.retry_ticks);
    }

    // ---- resource manager ----

    fn rm_prepare(
        ctx: &mut Ctx<'_, Self>,
        st: &mut State,
        txn: TxnId,
        transfer: u64,
        local: &mut Local,
    ) {
        let i = Self::lay(ctx).rm_of(ctx.node).expect("an RM");
        match st.rm.get(&txn) {
            // A duplicate Prepare: propose the same value again (acceptors are idempotent).
            Some(RmStatus::Prepared { .. }) => {
                let msg =
                    Msg::Phase2a { txn, ballot: 0, values: Values(vec![(i, Value::Prepared)]) };
                Self::to_acceptors(ctx, local, &msg);
            }
            Some(RmStatus::Decided(_)) => {}
            None if Self::votes_no(ctx, transfer) => {
                ctx.persist(Record::Abort { txn });
                ctx.decide(Decision { txn, outcome: Outcome::Abort, basis: Basis::VotedNo });
                st.rm.insert(txn, RmStatus::Decided(Outcome::Abort));
                let msg =
                    Msg::Phase2a { txn, ballot: 0, values: Values(vec![(i, Value::Aborted)]) };
                Self::to_acceptors(ctx, local, &msg);
            }
            None => {
                ctx.persist(Record::Prepared { txn });
                st.rm.insert(txn, RmStatus::Prepared { since: ctx.now });
                let msg =
                    Msg::Phase2a { txn, ballot: 0, values: Values(vec![(i, Value::Prepared)]) };
                Self::to_acceptors(ctx, local, &msg);
                ctx.set_timer(Timer::InDoubt { txn }, ctx.params.in_doubt_timeout_ticks);
            }
        }
    }

    fn rm_learn(
        ctx: &mut Ctx<'_, Self>,
        st: &mut State,
        txn: TxnId,
        outcome: Outcome,
        basis: Basis,
    ) {
        if matches!(st.rm.get(&txn), Some(RmStatus::Decided(_))) {
            return;
        }
        ctx.persist(decision_record(txn, outcome));
        ctx.decide(Decision { txn, outcome, basis });
        ctx.cancel_timer(Timer::InDoubt { txn });
        st.rm.insert(txn, RmStatus::Decided(outcome));
    }

    /// Faster Paxos Commit: the RM counts the acceptors' ballot-0 phase 2b messages.
    fn rm_2b(
        ctx: &mut Ctx<'_, Self>,
        st: &mut State,
        from: NodeId,
        txn: TxnId,
        ballot: u32,
        values: &Values,
    ) {
        let tally = st.rm_tally.entry(txn).or_default();
        tally.add(from, ballot, values);
        if let Some(outcome) = tally.outcome(Self::lay(ctx)) {
            Self::rm_learn(ctx, st, txn, outcome, Basis::Learned);
        }
    }

    // ---- acceptor ----

    fn acc_2a(
        ctx: &mut Ctx<'_, Self>,
        st: &mut State,
        from: NodeId,
        txn: TxnId,
        ballot: u32,
        values: Values,
        local: &mut Local,
    ) {
        let lay = Self::lay(ctx);
        let a = st.acc.entry(txn).or_default();
        if ballot < a.promised {
            let promised = a.promised;
            Self::send(ctx, local, from, Msg::Nack { txn, ballot, promised });
            return;
        }
        a.promised = ballot;
        let new: Vec<(u32, Value)> = values
            .0
            .iter()
            .filter(|(rm, v)| a.accepted.get(rm) != Some(&(ballot, *v)))
            .copied()
            .collect();
        if !new.is_empty() {
            for (rm, v) in &new {
                a.accepted.insert(*rm, (ballot, *v));
            }
            ctx.persist(Record::Accept { txn, ballot, values: Values(new) });
        }
        let mut to: Vec<NodeId> = vec![lay.leader_of(ballot)];
        if ballot == 0 && ctx.params.faster {
            to.extend(lay.rms());
            to.sort();
            to.dedup();
        }
        for n in to {
            Self::send(ctx, local, n, Msg::Phase2b { txn, ballot, values: values.clone() });
        }
    }

    fn acc_1a(
        ctx: &mut Ctx<'_, Self>,
        st: &mut State,
        from: NodeId,
        txn: TxnId,
        ballot: u32,
        local: &mut Local,
    ) {
        let a = st.acc.entry(txn).or_default();
        if ballot < a.promised {
            let promised = a.promised;
            Self::send(ctx, local, from, Msg::Nack { txn, ballot, promised });
            return;
        }
        if ballot > a.promised {
            a.promised = ballot;
            ctx.persist(Record::Promise { txn, ballot });
        }
        let accepted = a
            .accepted
            .iter()
            .map(|(rm, (b, v))| Report { rm: *rm, ballot: *b, value: *v })
            .collect();
        Self::send(ctx, local, from, Msg::Phase1b { txn, ballot, accepted });
    }

    // ---- leader and candidates (the acceptors' nodes) ----

    /// Another node leads ballot `ballot` for `txn` and is at work: a lower ballot of ours
    /// steps aside, and a pending takeover waits longer.
    fn saw_leader(ctx: &mut Ctx<'_, Self>, st: &mut State, txn: TxnId, ballot: u32) {
        let lay = Self::lay(ctx);
        let rank = lay.acceptor_of(ctx.node).expect("an acceptor node");
        let c = st.coord.entry(txn).or_default();
        c.max_seen = c.max_seen.max(ballot);
        if c.lead.as_ref().is_some_and(|l| l.ballot < ballot) {
            c.lead = None;
            ctx.cancel_timer(Timer::Retry { txn });
        }
        if c.takeover {
            ctx.set_timer(Timer::Takeover { txn }, ctx.params.takeover_ticks * u64::from(rank));
        }
    }

    /// Starts a new ballot, higher than any this node has seen: phase 1a to every acceptor.
    fn start_ballot(ctx: &mut Ctx<'_, Self>, st: &mut State, txn: TxnId, local: &mut Local) {
        let lay = Self::lay(ctx);
        let rank = lay.acceptor_of(ctx.node).expect("an acceptor node");
        let promised = st.acc.get(&txn).map_or(0, |a| a.promised);
        let c = st.coord.entry(txn).or_default();
        let ballot = lay.next_ballot(rank, c.max_seen.max(promised));
        c.max_seen = ballot;
        c.takeover = false;
        c.lead = Some(Lead { ballot, stage: Stage::Phase1 { promises: VecMap::new() } });
        ctx.cancel_timer(Timer::Takeover { txn });
        Self::to_acceptors(ctx, local, &Msg::Phase1a { txn, ballot });
        ctx.set_timer(Timer::Retry { txn }, ctx.params.retry_ticks);
    }

    fn lead_1b(
        ctx: &mut Ctx<'_, Self>,
        st: &mut State,
        from: NodeId,
        txn: TxnId,
        ballot: u32,
        accepted: Vec<Report>,
        local: &mut Local,
    ) {
        let lay = Self::lay(ctx);
        let Some(CoordTxn { lead: Some(lead), tally, .. }) = st.coord.get_mut(&txn) else {
            return;
        };
        if lead.ballot != ballot {
            return;
        }
        let Stage::Phase1 { promises } = &mut lead.stage else { return };
        promises.insert(from, accepted);
        if (promises.len() as u32) < lay.quorum() {
            return;
        }
        // For every instance not known to be chosen: the value of the highest ballot any of
        // the F+1 acceptors accepted, or Aborted if none accepted anything.
        let values = Values(
            (1..=lay.n_rms)
                .filter(|rm| tally.chosen(*rm, lay.quorum()).is_none())
                .map(|rm| {
                    let best = promises
                        .values()
                        .flatten()
                        .filter(|r| r.rm == rm)
                        .max_by_key(|r| r.ballot)
                        .map_or(Value::Aborted, |r| r.value);
                    (rm, best)
                })
                .collect(),
        );
        ctx.persist(Record::Propose { txn, ballot, values: values.clone() });
        lead.stage = Stage::Phase2 { values: values.clone() };
        Self::to_acceptors(ctx, local, &Msg::Phase2a { txn, ballot, values });
    }

    fn lead_2b(
        ctx: &mut Ctx<'_, Self>,
        st: &mut State,
        from: NodeId,
        txn: TxnId,
        ballot: u32,
        values: &Values,
        local: &mut Local,
    ) {
        let lay = Self::lay(ctx);
        let c = st.coord.entry(txn).or_default();
        c.tally.add(from, ballot, values);
        if c.known.is_some() {
            return;
        }
        let Some(outcome) = c.tally.outcome(lay) else { return };
        c.known = Some(outcome);
        let lead = c.lead.take();
        ctx.cancel_timer(Timer::Retry { txn });
        if std::mem::take(&mut c.takeover) {
            ctx.cancel_timer(Timer::Takeover { txn });
        }
        let Some(lead) = lead else { return };
        // The initial leader tells the RMs (in Faster Paxos Commit they learned already);
        // a leader that took over tells everyone, so that no one else takes over.
        let mut to: Vec<NodeId> = Vec::new();
        if lead.ballot > 0 || !ctx.params.faster {
            to.extend(lay.rms());
        }
        if lead.ballot > 0 {
            to.extend(lay.acceptors().filter(|n| *n != ctx.node));
        }
        to.sort();
        to.dedup();
        for n in to {
            Self::send(ctx, local, n, outcome_msg(txn, outcome));
        }
    }

    fn coord_learn(ctx: &mut Ctx<'_, Self>, st: &mut State, txn: TxnId, outcome: Outcome) {
        let c = st.coord.entry(txn).or_default();
        c.known = Some(outcome);
        if c.lead.take().is_some() {
            ctx.cancel_timer(Timer::Retry { txn });
        }
        if std::mem::take(&mut c.takeover) {
            ctx.cancel_timer(Timer::Takeover { txn });
        }
    }

    fn coord_request(
        ctx: &mut Ctx<'_, Self>,
        st: &mut State,
        from: NodeId,
        txn: TxnId,
        local: &mut Local,
    ) {
        let own = match st.rm.get(&txn) {
            Some(RmStatus::Decided(o)) => Some(*o),
            _ => None,
        };
        let c = st.coord.entry(txn).or_default();
        if let Some(outcome) = c.known.or(own) {
            Self::send(ctx, local, from, outcome_msg(txn, outcome));
            return;
        }
        if c.lead.is_some() || c.takeover {
            return;
        }
        let rank = Self::lay(ctx).acceptor_of(ctx.node).expect("an acceptor node");
        if rank == 0 {
            Self::start_ballot(ctx, st, txn, local);
        } else {
            let c = st.coord.entry(txn).or_default();
            c.takeover = true;
            ctx.set_timer(Timer::Takeover { txn }, ctx.params.takeover_ticks * u64::from(rank));
        }
    }

    fn on_timer(ctx: &mut Ctx<'_, Self>, st: &mut State, timer: Timer, local: &mut Local) {
        match timer {
            Timer::Retry { txn } => {
                let lay = Self::lay(ctx);
                let Some(CoordTxn { lead: Some(lead), known: None, tally, .. }) =
                    st.coord.get(&txn)
                else {
                    return;
                };
                // Ballot 0 belongs to the RMs: the leader can only go on with a ballot of its
                // own. In its own ballot it sends the same 1a/2a again until it is refused —
                // unless its proposal does not cover every instance it does not know to be
                // chosen (a leader back from a crash forgot what it knew): then a new ballot.
                let ballot = lead.ballot;
                let again = match &lead.stage {
                    Stage::Collecting => None,
                    Stage::Phase1 { .. } => Some(Msg::Phase1a { txn, ballot }),
                    Stage::Phase2 { values } => {
                        let covers = (1..=lay.n_rms).all(|rm| {
                            tally.chosen(rm, lay.quorum()).is_some()
                                || values.0.iter().any(|(r, _)| *r == rm)
                        });
                        covers.then(|| Msg::Phase2a { txn, ballot, values: values.clone() })
                    }
                };
                match again {
                    None => Self::start_ballot(ctx, st, txn, local),
                    Some(msg) => {
                        Self::to_acceptors(ctx, local, &msg);
                        ctx.set_timer(Timer::Retry { txn }, ctx.params.retry_ticks);
                    }
                }
            }
            Timer::Takeover { txn } => {
                let Some(c) = st.coord.get_mut(&txn) else { return };
                c.takeover = false;
                if c.known.is_none() && c.lead.is_none() {
                    Self::start_ballot(ctx, st, txn, local);
                }
            }
            Timer::InDoubt { txn } => {
                if matches!(st.rm.get(&txn), Some(RmStatus::Prepared { .. })) {
                    Self::to_acceptors(ctx, local, &Msg::DecisionRequest { txn });
                    ctx.set_timer(Timer::InDoubt { txn }, ctx.params.in_doubt_timeout_ticks);
                }
            }
        }
    }

    /// Delivers the messages a node sent itself, in order (they may send more).
    fn flush(ctx: &mut Ctx<'_, Self>, st: &mut State, local: &mut Local) {
        let me = ctx.node;
        while let Some(msg) = local.pop_front() {
            Self::on_msg(ctx, st, me, msg, local);
        }
    }
}

/// The decision `state` holds for `txn` as an RM, if any.
fn decided(state: &State, txn: TxnId) -> Option<Outcome> {
    match state.rm.get(&txn)? {
        RmStatus::Decided(o) => Some(*o),
        RmStatus::Prepared { .. } => None,
    }
}

impl Protocol for PaxosCommit {
    const NAME: &'static str = "paxos_commit";
    const MSG_KINDS: &'static [&'static str] = &[
        "prepare",
        "phase2a",
        "phase2b",
        "phase1a",
        "phase1b",
        "nack",
        "commit",
        "abort",
        "decision_request",
    ];
    const RECORD_KINDS: &'static [&'static str] =
        &["epoch", "prepared", "commit", "abort", "promise", "accept", "propose"];
    const PHASES: &'static [&'static str] = &[
        "idle",
        "collecting",
        "phase1",
        "phase2",
        "prepared",
        "committed",
        "aborted",
        "promised",
        "accepted",
    ];
    const PROPERTIES: &'static [PropertySpec] = &[
        PropertySpec {
            id: "AC1",
            name: "Agreement",
            kind: PropertyKind::Always,
            about: "No two resource managers decide differently on the same transaction.",
        },
        PropertySpec {
            id: "AC2",
            name: "Validity",
            kind: PropertyKind::Always,
            about: "A transaction commits only if every resource manager forced PREPARED.",
        },
        PropertySpec {
            id: "durable",
            name: "Durable decisions",
            kind: PropertyKind::Always,
            about: "A resource manager that decided remembers the same decision after a crash and recovery.",
        },
        PropertySpec {
            id: "one_value",
            name: "One value per instance",
            kind: PropertyKind::Always,
            about: "Each resource manager's Paxos instance chooses at most one value (a value is chosen when F+1 acceptors accepted it in one ballot).",
        },
        PropertySpec {
            id: "commit_reachable",
            name: "Commit is reachable",
            kind: PropertyKind::Sometimes,
            about: "Some resource manager decides commit in this run.",
        },
        PropertySpec {
            id: "abort_reachable",
            name: "Abort is reachable",
            kind: PropertyKind::Sometimes,
            about: "Some resource manager decides abort in this run.",
        },
    ];

    type Params = Params;
    type State = State;
    type Record = Record;
    type Msg = Msg;
    type Timer = Timer;
    type Request = Begin;
    type Decision = Decision;
    type Phase = Phase;
    type Monitor = Monitor;

    fn validate(params: &Params) -> Result<(), ParamError> {
        common::check_count("resource_managers", params.resource_managers)?;
        if params.faults > 3 {
            return Err(ParamError::new(
                "faults",
                "must be from 0 to 3 (there are 2F+1 acceptors)",
            ));
        }
        let n_acceptors = 2 * params.faults + 1;
        if params.colocated && params.resource_managers < n_acceptors {
            return Err(ParamError::new(
                "colocated",
                format!(
                    "co-locating {n_acceptors} acceptors (2F+1 with F = {}) needs at least {n_acceptors} resource managers, not {}",
                    params.faults, params.resource_managers
                ),
            ));
        }
        common::check_ticks(&[
            ("retry_ticks", params.retry_ticks),
            ("takeover_ticks", params.takeover_ticks),
            ("in_doubt_timeout_ticks", params.in_doubt_timeout_ticks),
        ])?;
        common::check_names(
            "vote_no",
            &params.vote_no,
            "rm",
            params.resource_managers,
            "resource manager",
        )
    }

    fn nodes(params: &Params) -> Vec<NodeSpec> {
        let lay = Layout::of(params);
        (0..lay.n_nodes())
            .map(|n| {
                let node = NodeId(n);
                let mut role: Vec<String> = Vec::new();
                if lay.rm_of(node).is_some() {
                    role.push("resource manager".into());
                }
                if n == 0 {
                    role.push("leader".into());
                }
                if let Some(k) = lay.acceptor_of(node) {
                    role.push(if role.is_empty() {
                        "acceptor".into()
                    } else {
                        format!("acceptor a{k}")
                    });
                }
                let name = match (lay.rm_of(node), lay.acceptor_of(node)) {
                    (Some(i), _) => format!("rm{i}"),
                    (None, Some(0)) => "tm".to_string(),
                    (None, Some(k)) => format!("a{k}"),
                    (None, None) => unreachable!("every node is an RM or an acceptor"),
                };
                NodeSpec { name, role: role.join(" · ") }
            })
            .collect()
    }

    fn init(ctx: &Ctx<'_, Self>) -> State {
        let _ = ctx;
        State { epoch: 1, next_seq: 1, ..State::default() }
    }

    fn on_input(ctx: &mut Ctx<'_, Self>, state: &mut State, input: Input<Self>) {
        let mut local = Local::new();
        match input {
            Input::Request(Begin { transfer }) => {
                if ctx.node == NodeId(0) {
                    Self::begin(ctx, state, transfer, &mut local);
                }
            }
            Input::Message { from, msg } => Self::on_msg(ctx, state, from, msg, &mut local),
            Input::Timer(timer) => Self::on_timer(ctx, state, timer, &mut local),
        }
        Self::flush(ctx, state, &mut local);
    }

    fn on_recover(ctx: &mut Ctx<'_, Self>) -> State {
        let lay = Self::lay(ctx);
        let mut st = State { epoch: 1, next_seq: 1, ..State::default() };
        if ctx.node == NodeId(0) {
            st.epoch = common::next_epoch(ctx.log.iter().filter_map(|r| match r {
                Record::Epoch { epoch } => Some(*epoch),
                _ => None,
            }));
            ctx.persist(Record::Epoch { epoch: st.epoch });
        }
        let mut proposals: VecMap<TxnId, (u32, Values)> = VecMap::new();
        for r in ctx.log {
            match r {
                Record::Epoch { .. } => {}
                Record::Prepared { txn } => {
                    st.rm.entry(*txn).or_insert(RmStatus::Prepared { since: ctx.now });
                }
                Record::Commit { txn } => {
                    st.rm.insert(*txn, RmStatus::Decided(Outcome::Commit));
                }
                Record::Abort { txn } => {
                    st.rm.insert(*txn, RmStatus::Decided(Outcome::Abort));
                }
                Record::Promise { txn, ballot } => {
                    let a = st.acc.entry(*txn).or_default();
                    a.promised = a.promised.max(*ballot);
                }
                Record::Accept { txn, ballot, values } => {
                    let a = st.acc.entry(*txn).or_default();
                    a.promised = a.promised.max(*ballot);
                    for (rm, v) in &values.0 {
                        if a.accepted.get(rm).is_none_or(|(b, _)| b <= ballot) {
                            a.accepted.insert(*rm, (*ballot, *v));
                        }
                    }
                }
                Record::Propose { txn, ballot, values } => {
                    let c = st.coord.entry(*txn).or_default();
                    c.max_seen = c.max_seen.max(*ballot);
                    if proposals.get(txn).is_none_or(|(b, _)| b < ballot) {
                        proposals.insert(*txn, (*ballot, values.clone()));
                    }
                }
            }
        }
        let mut local = Local::new();
        // An undecided RM proposes its value again and asks after the usual wait.
        if let Some(i) = lay.rm_of(ctx.node) {
            let undecided: Vec<TxnId> = st
                .rm
                .iter()
                .filter(|(_, s)| matches!(s, RmStatus::Prepared { .. }))
                .map(|(t, _)| *t)
                .collect();
            for txn in undecided {
                let msg =
                    Msg::Phase2a { txn, ballot: 0, values: Values(vec![(i, Value::Prepared)]) };
                Self::to_acceptors(ctx, &mut local, &msg);
                ctx.set_timer(Timer::InDoubt { txn }, ctx.params.in_doubt_timeout_ticks);
            }
        }
        // A leader resumes the highest ballot it proposed in: the same 2a again (never a
        // different one). Acceptors that promised a higher ballot refuse it.
        for (txn, (ballot, values)) in proposals {
            if decided(&st, txn).is_some() {
                continue;
            }
            let c = st.coord.entry(txn).or_default();
            c.lead = Some(Lead { ballot, stage: Stage::Phase2 { values: values.clone() } });
            Self::to_acceptors(ctx, &mut local, &Msg::Phase2a { txn, ballot, values });
            ctx.set_timer(Timer::Retry { txn }, ctx.params.retry_ticks);
        }
        Self::flush(ctx, &mut st, &mut local);
        st
    }

    fn phase(state: &State) -> Phase {
        let Some(txn) = state.last_txn() else { return Phase::Idle };
        let coord = state.coord.get(&txn);
        if let Some(lead) = coord.and_then(|c| c.lead.as_ref()) {
            return match lead.stage {
                Stage::Collecting => Phase::Collecting,
                Stage::Phase1 { .. } => Phase::Phase1,
                Stage::Phase2 { .. } => Phase::Phase2,
            };
        }
        match state.rm.get(&txn) {
            Some(RmStatus::Prepared { .. }) => return Phase::Prepared,
            Some(RmStatus::Decided(Outcome::Commit)) => return Phase::Committed,
            Some(RmStatus::Decided(Outcome::Abort)) => return Phase::Aborted,
            None => {}
        }
        match coord.and_then(|c| c.known) {
            Some(Outcome::Commit) => return Phase::Committed,
            Some(Outcome::Abort) => return Phase::Aborted,
            None => {}
        }
        match state.acc.get(&txn) {
            Some(a) if !a.accepted.is_empty() => Phase::Accepted,
            Some(a) if a.promised > 0 => Phase::Promised,
            _ => Phase::Idle,
        }
    }

    fn view(world: &World<Self>, node: NodeId) -> NodeView {
        let slot = world.node(node);
        let lay = Layout::of(&world.params);
        let mut v = world.base_view(node);
        let Some(st) = &slot.state else { return v };
        if node == NodeId(0) {
            v.fields.push(("epoch".into(), st.epoch.to_string()));
        }
        let Some(txn) = st.last_txn() else { return v };
        v.fields.push(("transaction".into(), txn.to_string()));
        // Resource manager: its own value and decision.
        if lay.rm_of(node).is_some() {
            for (t, s) in &st.rm {
                if let RmStatus::Prepared { since } = s {
                    v.locks.push(format!("{t} (held since t={since})"));
                }
            }
            let text = match st.rm.get(&txn) {
                None => "no vote yet".to_string(),
                Some(RmStatus::Prepared { since }) => {
                    format!("voted Prepared, in doubt since t={since}")
                }
                Some(RmStatus::Decided(o)) => o.to_string(),
            };
            v.fields.push(("resource manager".into(), text));
            if let Some(RmStatus::Decided(o)) = st.rm.get(&txn) {
                v.decision = Some(format!("{o} {txn}"));
            }
        }
        // Leader / candidate: its ballot and what it has learned.
        if let Some(c) = st.coord.get(&txn) {
            let lead = match &c.lead {
                None if c.takeover => "will take over if no one finishes".to_string(),
                None => "not leading".to_string(),
                Some(Lead { ballot, stage: Stage::Collecting }) => {
                    format!("ballot {ballot}: collecting phase 2b")
                }
                Some(Lead { ballot, stage: Stage::Phase1 { promises } }) => {
                    let who: Vec<&str> = promises.keys().map(|n| world.name(*n)).collect();
                    format!(
                        "ballot {ballot}: phase 1, promises from {} ({} needed)",
                        if who.is_empty() { "none".to_string() } else { who.join(", ") },
                        lay.quorum()
                    )
                }
                Some(Lead { ballot, stage: Stage::Phase2 { values } }) => {
                    format!("ballot {ballot}: phase 2, proposed {values}")
                }
            };
            if c.lead.is_some() || c.takeover || c.known.is_some() || !c.tally.votes.is_empty() {
                v.fields.push(("leader".into(), lead));
                let chosen: Vec<String> = (1..=lay.n_rms)
                    .map(|rm| match c.tally.chosen(rm, lay.quorum()) {
                        Some(val) => format!("rm{rm} {val}"),
                        None => format!("rm{rm} ?"),
                    })
                    .collect();
                v.fields.push(("chosen (as it knows)".into(), chosen.join(", ")));
                if !c.tally.votes.is_empty() {
                    v.tables.push(votes_table(&c.tally, lay));
                }
            }
            if let Some(o) = c.known {
                v.fields.push(("outcome".into(), o.to_string()));
            }
        }
        // Acceptor: one row per instance (the promise covers every instance).
        if let Some(k) = lay.acceptor_of(node) {
            let a = st.acc.get(&txn).cloned().unwrap_or_default();
            let mut t = Table::new(
                format!("instances at acceptor a{k}"),
                &["instance", "promised", "accepted ballot", "accepted value"],
            );
            for rm in 1..=lay.n_rms {
                let (ballot, value) = match a.accepted.get(&rm) {
                    Some((b, val)) => (format!("b{b}"), val.to_string()),
                    None => ("—".to_string(), "—".to_string()),
                };
                t.push(vec![format!("rm{rm}"), format!("b{}", a.promised), ballot, value]);
            }
            v.tables.push(t);
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
        let lay = Layout::of(&world.params);
        match &event.kind {
            EventKind::Decide { decision } => {
                let d = crate::common::Decision { txn: decision.txn, outcome: decision.outcome };
                if let Some((other, o)) = monitor.decisions.record(node, d, event.time) {
                    findings.report(AC1, || {
                        format!(
                            "{} decided {} on {} but {} decided {o}",
                            world.name(node),
                            d.outcome,
                            d.txn,
                            world.name(other)
                        )
                    });
                }
                match d.outcome {
                    Outcome::Commit => {
                        findings.report(COMMIT_REACHABLE, || {
                            format!("{} decided COMMIT on {}", world.name(node), d.txn)
                        });
                        let unprepared: Vec<&str> =
                            lay.rms()
                                .filter(|rm| {
                                    !world.node(*rm).log.iter().any(
                                        |r| matches!(r, Record::Prepared { txn } if *txn == d.txn),
                                    )
                                })
                                .map(|rm| world.name(rm))
                                .collect();
                        if !unprepared.is_empty() {
                            findings.report(AC2, || {
                                format!(
                                    "{} committed {} but {} never forced PREPARED",
                                    world.name(node),
                                    d.txn,
                                    unprepared.join(", ")
                                )
                            });
                        }
                    }
                    Outcome::Abort => findings.report(ABORT_REACHABLE, || {
                        format!("{} decided ABORT on {}", world.name(node), d.txn)
                    }),
                }
            }
            EventKind::Persist { record: Record::Accept { txn, ballot, values } } => {
                for (rm, value) in &values.0 {
                    let who = monitor.accepted.entry((*txn, *rm, *ballot, *value)).or_default();
                    who.insert(node);
                    if who.len() != lay.quorum() {
                        continue;
                    }
                    match monitor.chosen.get(&(*txn, *rm)) {
                        None => {
                            monitor.chosen.insert((*txn, *rm), (*value, *ballot));
                        }
                        Some((first, b)) if first != value => findings.report(
                            ONE_VALUE,
                            || format!(
                                "instance rm{rm} of {txn} chose {first} in ballot {b} and {value} in ballot {ballot}"
                            ),
                        ),
                        Some(_) => {}
                    }
                }
            }
            EventKind::Recover { .. } => {
                let Some(state) = &world.node(node).state else { return };
                for ((txn, n), (outcome, _)) in &monitor.decisions.by_node {
                    if *n == node && decided(state, *txn) != Some(*outcome) {
                        findings.report(DURABLE, || {
                            format!(
                                "{} decided {outcome} on {txn} but forgot it after recovering",
                                world.name(node)
                            )
                        });
                    }
                }
            }
            _ => {}
        }
    }

    fn blocked(world: &World<Self>, node: NodeId) -> Option<Blocked> {
        let st = world.node(node).state.as_ref()?;
        let (txn, since) = st.rm.iter().find_map(|(txn, s)| match s {
            RmStatus::Prepared { since } => Some((*txn, *since)),
            RmStatus::Decided(_) => None,
        })?;
        let lay = Layout::of(&world.params);
        let up = lay.acceptors().filter(|a| world.is_up(*a)).count() as u32;
        let reachable = lay.acceptors().filter(|a| world.can_talk(node, *a)).count() as u32;
        if reachable >= lay.quorum() {
            return None;
        }
        let waiting_for: Vec<NodeId> =
            lay.acceptors().filter(|a| !world.can_talk(node, *a)).collect();
        let who: Vec<&str> = waiting_for.iter().map(|n| world.name(*n)).collect();
        let what = if up < lay.quorum() {
            format!("only {up} of {} acceptors are up", lay.n_acceptors)
        } else {
            format!("only {reachable} of {} acceptors are reachable", lay.n_acceptors)
        };
        Some(Blocked {
            why: format!(
                "in doubt on {txn} since t={since}; by design: {what}, {} are needed — waiting for {}",
                lay.quorum(),
                who.join(", ")
            ),
            waiting_for,
        })
    }

    fn settled(world: &World<Self>) -> Result<(), String> {
        for (i, slot) in world.nodes.iter().enumerate() {
            let name = world.name(NodeId(i as u32));
            let Some(st) = &slot.state else { return Err(format!("{name} is down")) };
            if let Some((txn, _)) =
                st.rm.iter().find(|(_, s)| matches!(s, RmStatus::Prepared { .. }))
            {
                return Err(format!("{name} has not decided {txn}"));
            }
        }
        Ok(())
    }

    fn explain(event: &Event<Self>) -> Option<String> {
        Some(match &event.kind {
            EventKind::Persist { record: Record::Prepared { .. } } => {
                "its own instance's value is Prepared, on disk before its phase 2a: it may no longer abort alone".into()
            }
            EventKind::Persist { record: Record::Accept { ballot, .. } } => {
                let to = if event.node == Some(NodeId(0)) && *ballot == 0 {
                    "the leader on this node counts it at once (processes on one node exchange no message)"
                } else {
                    "its phase 2b leaves"
                };
                format!("the acceptor's vote in ballot {ballot} is on disk before {to}: a crash cannot make it forget")
            }
            EventKind::Persist { record: Record::Promise { ballot, .. } } => format!(
                "it promises to take part in no ballot below {ballot}; on disk before its phase 1b"
            ),
            EventKind::Persist { record: Record::Propose { ballot, .. } } => format!(
                "the leader records what it proposes in ballot {ballot}, so it never proposes two values in one ballot"
            ),
            EventKind::Persist { record: Record::Epoch { .. } } => {
                "a new epoch keeps new transaction ids unique".into()
            }
            EventKind::Decide { decision } => match decision.basis {
                Basis::VotedNo => {
                    "it votes no: its instance can only choose Aborted, so it aborts at once".into()
                }
                Basis::Learned => {
                    "Faster Paxos Commit: F+1 acceptors' phase 2b messages showed it the outcome, without the leader".into()
                }
                Basis::Told { .. } => return None,
            },
            EventKind::Send { msg: Msg::Phase1a { ballot, .. }, .. } => format!(
                "ballot {ballot}: the leader asks the acceptors what they accepted before it proposes anything"
            ),
            EventKind::Send { msg: Msg::Nack { .. }, .. } => {
                "refused: the acceptor has promised a higher ballot".into()
            }
            EventKind::Deliver { msg: Msg::Nack { .. }, .. } => {
                "a higher ballot exists: this leader steps aside".into()
            }
            EventKind::TimerFire { timer: Timer::Retry { .. } } => {
                "the outcome is still unknown: the leader goes on with a ballot of its own (or sends its current one again)".into()
            }
            EventKind::TimerFire { timer: Timer::Takeover { .. } } => {
                "an RM asked for an outcome that nobody gave: this acceptor's node takes over as leader".into()
            }
            EventKind::TimerFire { timer: Timer::InDoubt { .. } } => {
                "still undecided: it asks the acceptors' nodes for the outcome".into()
            }
            _ => return None,
        })
    }
}
