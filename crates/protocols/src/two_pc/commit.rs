//! Two-phase commit itself, written once: the coordinator's and the participant's handlers,
//! their messages, log records and timers, recovery from the log, and the in-doubt monitor.
//!
//! Any protocol that commits with 2PC is a [`Host`]: it says how 2PC's vocabulary sits inside
//! its own (a message variant, a record variant), who coordinates a transaction, what a
//! Prepare carries ([`Host::Work`]) and what a PREPARED record keeps ([`Host::Intents`]).
//! A participant's host is also a [`Resource`]: it votes, and it applies or discards its work
//! once the outcome is on its disk. `TwoPc` (the abstract transfer) and the transactional
//! key-value store (`kv`, whose shards vote on the locks they hold) are the two hosts.

use crate::common::{Decision, NodeSet, Outcome, TxnId};
use commitscope_engine::protocol::Data;
use commitscope_engine::vecmap::VecMap;
use commitscope_engine::{Blocked, Ctx, Kind, NodeId, Protocol, Time, World};
use serde::Serialize;
use std::fmt;

/// A protocol that commits its transactions with this module.
pub trait Host: Protocol {
    /// What a Prepare carries for the participant to vote on (nothing, for a store whose
    /// participants already hold the transaction's work).
    type Work: Data;
    /// What a participant's PREPARED record keeps, so that it can redo its part after a
    /// crash (the key-value store: the keys it locked and the writes it will apply).
    type Intents: Data;
    fn msg(m: Msg<Self::Work>) -> Self::Msg;
    fn timer(t: Timer) -> Self::Timer;
    fn record(r: Record<Self::Intents>) -> Self::Record;
    fn as_record(r: &Self::Record) -> Option<&Record<Self::Intents>>;
    fn decision(d: Decision) -> Self::Decision;
    fn timing(params: &Self::Params) -> Timing;
    /// The node that coordinates `txn`.
    fn coordinator(params: &Self::Params, txn: TxnId) -> NodeId;
}

/// The timeouts 2PC runs on.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// The coordinator aborts if a vote is missing this long after it sent Prepare.
    pub vote_timeout: Time,
    /// The coordinator re-sends its decision to silent participants this often.
    pub resend: Time,
    /// An in-doubt participant asks for the outcome this often.
    pub in_doubt: Time,
    /// Percolator's commit point (Peng & Dabek 2010): `Some(ttl)` puts the decision in the
    /// primary participant's record (the lowest-numbered one) instead of the coordinator's
    /// log. The coordinator asks the primary to commit first and decides only when it has;
    /// an in-doubt participant asks the primary, never the coordinator; and the primary,
    /// once its lock is older than `ttl` with no word, aborts it — safe, because no commit
    /// can happen without it. So a dead coordinator blocks nobody for longer than `ttl`.
    pub primary_ttl: Option<Time>,
}

/// The primary participant of a transaction (Percolator mode): the lowest-numbered one.
pub fn primary(participants: NodeSet) -> Option<NodeId> {
    participants.iter().next()
}

/// A participant's side of its host: the vote, and what the outcome does to its data.
pub trait Resource<H: Host> {
    /// Votes on `txn`: `Some(intents)` votes yes (they are forced in PREPARED first),
    /// `None` votes no.
    fn prepare(&mut self, ctx: &mut Ctx<'_, H>, txn: TxnId, work: &H::Work) -> Option<H::Intents>;
    /// The outcome of `txn` is on this participant's disk: apply or discard its work and
    /// release what it holds. Called once per transaction, also for one it never prepared
    /// (aborted before its vote).
    fn finish(&mut self, ctx: &mut Ctx<'_, H>, txn: TxnId, outcome: Outcome);
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Msg<W> {
    Prepare {
        txn: TxnId,
        participants: NodeSet,
        #[serde(flatten)]
        work: W,
    },
    VoteYes {
        txn: TxnId,
    },
    VoteNo {
        txn: TxnId,
    },
    Commit {
        txn: TxnId,
    },
    Abort {
        txn: TxnId,
    },
    Ack {
        txn: TxnId,
    },
    DecisionRequest {
        txn: TxnId,
    },
}

pub const MSG_KINDS: &[&str] =
    &["prepare", "vote_yes", "vote_no", "commit", "abort", "ack", "decision_request"];

impl<W> Kind for Msg<W> {
    fn kind(&self) -> &'static str {
        match self {
            Msg::Prepare { .. } => "prepare",
            Msg::VoteYes { .. } => "vote_yes",
            Msg::VoteNo { .. } => "vote_no",
            Msg::Commit { .. } => "commit",
            Msg::Abort { .. } => "abort",
            Msg::Ack { .. } => "ack",
            Msg::DecisionRequest { .. } => "decision_request",
        }
    }
}

impl<W> Msg<W> {
    pub fn txn(&self) -> TxnId {
        match self {
            Msg::Prepare { txn, .. }
            | Msg::VoteYes { txn }
            | Msg::VoteNo { txn }
            | Msg::Commit { txn }
            | Msg::Abort { txn }
            | Msg::Ack { txn }
            | Msg::DecisionRequest { txn } => *txn,
        }
    }
}

impl<W> fmt::Display for Msg<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Msg::Prepare { .. } => "Prepare",
            Msg::VoteYes { .. } => "VoteYes",
            Msg::VoteNo { .. } => "VoteNo",
            Msg::Commit { .. } => "Commit",
            Msg::Abort { .. } => "Abort",
            Msg::Ack { .. } => "Ack",
            Msg::DecisionRequest { .. } => "DecisionRequest",
        };
        write!(f, "{name}({})", self.txn())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record<X> {
    /// Coordinator: a new epoch after recovery.
    Epoch {
        epoch: u32,
    },
    /// Participant: voted yes; holds its locks until it learns the outcome.
    Prepared {
        txn: TxnId,
        participants: NodeSet,
        #[serde(flatten)]
        intents: X,
    },
    /// A decision (the coordinator's carries the participants, to re-send after a crash).
    Commit {
        txn: TxnId,
        participants: NodeSet,
    },
    Abort {
        txn: TxnId,
        participants: NodeSet,
    },
    /// Coordinator: every participant acknowledged; the transaction may be forgotten.
    End {
        txn: TxnId,
    },
}

pub const RECORD_KINDS: &[&str] = &["epoch", "prepared", "commit", "abort", "end"];

impl<X> Kind for Record<X> {
    fn kind(&self) -> &'static str {
        match self {
            Record::Epoch { .. } => "epoch",
            Record::Prepared { .. } => "prepared",
            Record::Commit { .. } => "commit",
            Record::Abort { .. } => "abort",
            Record::End { .. } => "end",
        }
    }
}

impl<X> fmt::Display for Record<X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Record::Epoch { epoch } => write!(f, "EPOCH {epoch}"),
            Record::Prepared { txn, .. } => write!(f, "PREPARED {txn}"),
            Record::Commit { txn, .. } => write!(f, "COMMIT {txn}"),
            Record::Abort { txn, .. } => write!(f, "ABORT {txn}"),
            Record::End { txn } => write!(f, "END {txn}"),
        }
    }
}

impl<X> Record<X> {
    pub fn decision(&self) -> Option<(TxnId, Outcome, NodeSet)> {
        match self {
            Record::Commit { txn, participants } => Some((*txn, Outcome::Commit, *participants)),
            Record::Abort { txn, participants } => Some((*txn, Outcome::Abort, *participants)),
            _ => None,
        }
    }

    fn of(txn: TxnId, outcome: Outcome, participants: NodeSet) -> Record<X> {
        match outcome {
            Outcome::Commit => Record::Commit { txn, participants },
            Outcome::Abort => Record::Abort { txn, participants },
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Timer {
    VoteTimeout { txn: TxnId },
    Resend { txn: TxnId },
    InDoubt { txn: TxnId },
}

pub const TIMER_KINDS: &[&str] = &["vote_timeout", "resend", "in_doubt"];

impl Kind for Timer {
    fn kind(&self) -> &'static str {
        match self {
            Timer::VoteTimeout { .. } => "vote_timeout",
            Timer::Resend { .. } => "resend",
            Timer::InDoubt { .. } => "in_doubt",
        }
    }
}

impl fmt::Display for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let txn = match self {
            Timer::VoteTimeout { txn } | Timer::Resend { txn } | Timer::InDoubt { txn } => txn,
        };
        write!(f, "{}({txn})", self.kind().replace('_', "-"))
    }
}

/// What the coordinator knows of one transaction.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CoordTxn {
    pub participants: NodeSet,
    pub yes: NodeSet,
    pub outcome: Option<Outcome>,
    pub acked: NodeSet,
    pub ended: bool,
    /// Percolator mode: every vote is yes and the primary has been asked to commit.
    pub at_primary: bool,
}

pub type CoordTxns = VecMap<TxnId, CoordTxn>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PartStatus {
    InDoubt { since: Time },
    Decided(Outcome),
}

/// What a participant knows of one transaction it has voted on or learnt the outcome of.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PartTxn {
    pub participants: NodeSet,
    pub status: PartStatus,
}

pub type PartTxns = VecMap<TxnId, PartTxn>;

fn decision_msg<W>(txn: TxnId, outcome: Outcome) -> Msg<W> {
    match outcome {
        Outcome::Commit => Msg::Commit { txn },
        Outcome::Abort => Msg::Abort { txn },
    }
}

/// The 2PC records in a host's log.
pub fn log_records<'a, H: Host>(
    log: &'a [H::Record],
) -> impl Iterator<Item = &'a Record<H::Intents>> + 'a {
    log.iter().filter_map(H::as_record)
}

// ---- The coordinator ----------------------------------------------------------------------

/// Begins `txn`: Prepare to every participant, each with its own work, and the vote timeout.
pub fn begin<H: Host>(
    ctx: &mut Ctx<'_, H>,
    txns: &mut CoordTxns,
    txn: TxnId,
    participants: NodeSet,
    work: impl Fn(NodeId) -> H::Work,
) {
    txns.insert(
        txn,
        CoordTxn {
            participants,
            yes: NodeSet::default(),
            outcome: None,
            acked: NodeSet::default(),
            ended: false,
            at_primary: false,
        },
    );
    for p in participants.iter() {
        ctx.send(p, H::msg(Msg::Prepare { txn, participants, work: work(p) }));
    }
    ctx.set_timer(H::timer(Timer::VoteTimeout { txn }), H::timing(ctx.params).vote_timeout);
}

/// Forces the decision, decides, and tells every participant that has not acknowledged.
fn coord_decide<H: Host>(ctx: &mut Ctx<'_, H>, txn: TxnId, t: &mut CoordTxn, outcome: Outcome) {
    t.outcome = Some(outcome);
    if H::timing(ctx.params).primary_ttl.is_none() {
        ctx.persist(H::record(Record::of(txn, outcome, t.participants)));
    }
    ctx.decide(H::decision(Decision { txn, outcome }));
    ctx.cancel_timer(H::timer(Timer::VoteTimeout { txn }));
    coord_send_decision(ctx, txn, t);
}

fn coord_send_decision<H: Host>(ctx: &mut Ctx<'_, H>, txn: TxnId, t: &CoordTxn) {
    if t.at_primary && t.outcome.is_none() {
        // Percolator: the commit is the primary's to make; ask it (again).
        if let Some(p) = primary(t.participants) {
            ctx.send(p, H::msg(Msg::Commit { txn }));
        }
        ctx.set_timer(H::timer(Timer::Resend { txn }), H::timing(ctx.params).resend);
        return;
    }
    let Some(outcome) = t.outcome else { return };
    for p in t.participants.without(t.acked).iter() {
        ctx.send(p, H::msg(decision_msg(txn, outcome)));
    }
    ctx.set_timer(H::timer(Timer::Resend { txn }), H::timing(ctx.params).resend);
}

/// The coordinator's handler for a 2PC message; returns the decision it reached, if any.
pub fn coord_on_message<H: Host>(
    ctx: &mut Ctx<'_, H>,
    txns: &mut CoordTxns,
    from: NodeId,
    msg: Msg<H::Work>,
) -> Option<Decision> {
    let at_primary = H::timing(ctx.params).primary_ttl.is_some();
    match msg {
        Msg::VoteYes { txn } => match txns.get_mut(&txn) {
            Some(t) if t.outcome.is_none() && !t.at_primary => {
                t.yes.insert(from);
                if t.yes == t.participants {
                    if at_primary {
                        t.at_primary = true;
                        ctx.cancel_timer(H::timer(Timer::VoteTimeout { txn }));
                        coord_send_decision(ctx, txn, t);
                        return None;
                    }
                    coord_decide(ctx, txn, t, Outcome::Commit);
                    return Some(Decision { txn, outcome: Outcome::Commit });
                }
            }
            Some(CoordTxn { outcome: Some(outcome), .. }) => {
                ctx.send(from, H::msg(decision_msg(txn, *outcome)))
            }
            Some(_) => {}
            None if at_primary => {} // the primary decides, not a coordinator that forgot
            None => ctx.send(from, H::msg(Msg::Abort { txn })), // presumed abort
        },
        Msg::VoteNo { txn } => {
            if let Some(t) = txns.get_mut(&txn) {
                if t.outcome.is_none() && !t.at_primary {
                    coord_decide(ctx, txn, t, Outcome::Abort);
                    return Some(Decision { txn, outcome: Outcome::Abort });
                }
            }
        }
        Msg::Ack { txn } => {
            if let Some(t) = txns.get_mut(&txn) {
                if t.at_primary && t.outcome.is_none() && Some(from) == primary(t.participants) {
                    // The primary has committed: that was the commit point.
                    t.acked.insert(from);
                    coord_decide(ctx, txn, t, Outcome::Commit);
                    return Some(Decision { txn, outcome: Outcome::Commit });
                }
                t.acked.insert(from);
                if t.acked == t.participants && !t.ended {
                    t.ended = true;
                    if !at_primary {
                        ctx.persist(H::record(Record::End { txn }));
                    }
                    ctx.cancel_timer(H::timer(Timer::Resend { txn }));
                }
            }
        }
        Msg::Abort { txn } if at_primary => {
            // The primary had already aborted it (its lock expired): so must everyone.
            if let Some(t) = txns.get_mut(&txn) {
                if t.at_primary && t.outcome.is_none() && Some(from) == primary(t.participants) {
                    t.acked.insert(from);
                    coord_decide(ctx, txn, t, Outcome::Abort);
                    return Some(Decision { txn, outcome: Outcome::Abort });
                }
            }
        }
        Msg::DecisionRequest { txn } => match txns.get(&txn) {
            Some(CoordTxn { outcome: Some(outcome), .. }) => {
                ctx.send(from, H::msg(decision_msg(txn, *outcome)))
            }
            Some(_) => {} // still collecting votes: the decision will come
            None if at_primary => {}
            None => ctx.send(from, H::msg(Msg::Abort { txn })), // presumed abort
        },
        Msg::Prepare { .. } | Msg::Commit { .. } | Msg::Abort { .. } => {}
    }
    None
}

/// The coordinator's handler for its timers; returns the decision it reached, if any.
pub fn coord_on_timer<H: Host>(
    ctx: &mut Ctx<'_, H>,
    txns: &mut CoordTxns,
    timer: Timer,
) -> Option<Decision> {
    match timer {
        Timer::VoteTimeout { txn } => {
            if let Some(t) = txns.get_mut(&txn) {
                if t.outcome.is_none() {
                    coord_decide(ctx, txn, t, Outcome::Abort);
                    return Some(Decision { txn, outcome: Outcome::Abort });
                }
            }
        }
        Timer::Resend { txn } => {
            if let Some(t) = txns.get(&txn) {
                if !t.ended {
                    coord_send_decision(ctx, txn, t);
                }
            }
        }
        Timer::InDoubt { .. } => {}
    }
    None
}

/// A recovering coordinator's transactions, rebuilt from its log; every logged decision
/// not yet acknowledged by everyone is sent again. Transactions with no decision in the log
/// are presumed aborted: whoever asks is told abort. (The host logs the new epoch first.)
pub fn coord_recover<H: Host>(ctx: &mut Ctx<'_, H>) -> CoordTxns {
    let mut txns = VecMap::new();
    for r in log_records::<H>(ctx.log) {
        if let Some((txn, outcome, participants)) = r.decision() {
            txns.insert(
                txn,
                CoordTxn {
                    participants,
                    yes: NodeSet::default(),
                    outcome: Some(outcome),
                    acked: NodeSet::default(),
                    ended: false,
                    at_primary: false,
                },
            );
        } else if let Record::End { txn } = r {
            if let Some(t) = txns.get_mut(txn) {
                t.ended = true;
                t.acked = t.participants;
            }
        }
    }
    for (txn, t) in &txns {
        if !t.ended {
            coord_send_decision(ctx, *txn, t);
        }
    }
    txns
}

/// The epoch a recovering coordinator starts, from the epochs in its log.
pub fn recovered_epoch<H: Host>(log: &[H::Record]) -> u32 {
    crate::common::next_epoch(log_records::<H>(log).filter_map(|r| match r {
        Record::Epoch { epoch } => Some(*epoch),
        _ => None,
    }))
}

// ---- The participant ----------------------------------------------------------------------

/// The participant's handler for a 2PC message.
pub fn part_on_message<H: Host, R: Resource<H>>(
    ctx: &mut Ctx<'_, H>,
    txns: &mut PartTxns,
    res: &mut R,
    from: NodeId,
    msg: Msg<H::Work>,
) {
    match msg {
        Msg::Prepare { txn, participants, work } => match txns.get(&txn).map(|t| t.status) {
            Some(PartStatus::InDoubt { .. }) | Some(PartStatus::Decided(Outcome::Commit)) => {
                ctx.send(from, H::msg(Msg::VoteYes { txn })) // a duplicate Prepare
            }
            Some(PartStatus::Decided(Outcome::Abort)) => {
                ctx.send(from, H::msg(Msg::VoteNo { txn }))
            }
            None => match res.prepare(ctx, txn, &work) {
                None => {
                    learn(ctx, txns, res, txn, participants, Outcome::Abort);
                    ctx.send(from, H::msg(Msg::VoteNo { txn }));
                }
                Some(intents) => {
                    ctx.persist(H::record(Record::Prepared { txn, participants, intents }));
                    txns.insert(
                        txn,
                        PartTxn { participants, status: PartStatus::InDoubt { since: ctx.now } },
                    );
                    ctx.send(from, H::msg(Msg::VoteYes { txn }));
                    ctx.set_timer(H::timer(Timer::InDoubt { txn }), H::timing(ctx.params).in_doubt);
                }
            },
        },
        Msg::Commit { txn } | Msg::Abort { txn } => {
            let outcome =
                if matches!(msg, Msg::Commit { .. }) { Outcome::Commit } else { Outcome::Abort };
            match txns.get(&txn).map(|t| (t.status, t.participants)) {
                Some((PartStatus::InDoubt { .. }, participants)) => {
                    learn(ctx, txns, res, txn, participants, outcome);
                }
                // Told to abort something it never prepared: the coordinator gave up first.
                // Record it so a late Prepare is answered with a no.
                None if outcome == Outcome::Abort => {
                    learn(ctx, txns, res, txn, NodeSet::default(), outcome);
                }
                _ => {}
            }
            if from == H::coordinator(ctx.params, txn) {
                match txns.get(&txn).map(|t| t.status) {
                    Some(PartStatus::Decided(o)) if o == outcome => {
                        ctx.send(from, H::msg(Msg::Ack { txn }))
                    }
                    // Percolator: the primary aborted first (its lock expired); it says so.
                    Some(PartStatus::Decided(o)) => ctx.send(from, H::msg(decision_msg(txn, o))),
                    _ => {}
                }
            }
        }
        Msg::DecisionRequest { txn } => match txns.get(&txn).map(|t| t.status) {
            Some(PartStatus::Decided(outcome)) => {
                ctx.send(from, H::msg(decision_msg(txn, outcome)))
            }
            Some(PartStatus::InDoubt { since }) => {
                // In doubt too: it cannot help — unless it is the primary and its lock has
                // expired (Percolator), when it aborts and says so.
                if expired_primary(ctx, txns, txn, since) {
                    let participants =
                        txns.get(&txn).map_or(NodeSet::default(), |t| t.participants);
                    learn(ctx, txns, res, txn, participants, Outcome::Abort);
                    ctx.send(from, H::msg(Msg::Abort { txn }));
                }
            }
            None => {
                // Never voted, so it may abort unilaterally — forced first, so that it can
                // never vote yes on this transaction later.
                learn(ctx, txns, res, txn, NodeSet::default(), Outcome::Abort);
                ctx.send(from, H::msg(Msg::Abort { txn }));
            }
        },
        Msg::VoteYes { .. } | Msg::VoteNo { .. } | Msg::Ack { .. } => {}
    }
}

/// The participant's handler for its in-doubt timer: ask again (a Percolator primary whose
/// lock has expired aborts instead).
pub fn part_on_timer<H: Host, R: Resource<H>>(
    ctx: &mut Ctx<'_, H>,
    txns: &mut PartTxns,
    res: &mut R,
    timer: Timer,
) {
    if let Timer::InDoubt { txn } = timer {
        if let Some(PartTxn { status: PartStatus::InDoubt { since }, participants }) =
            txns.get(&txn).cloned()
        {
            if expired_primary(ctx, txns, txn, since) {
                learn(ctx, txns, res, txn, participants, Outcome::Abort);
            } else {
                ask_everyone(ctx, txn, participants);
            }
        }
    }
}

/// Whether this node is `txn`'s primary (Percolator mode) and its lock, held since `since`,
/// has outlived the TTL.
fn expired_primary<H: Host>(ctx: &Ctx<'_, H>, txns: &PartTxns, txn: TxnId, since: Time) -> bool {
    let Some(ttl) = H::timing(ctx.params).primary_ttl else { return false };
    let participants = txns.get(&txn).map_or(NodeSet::default(), |t| t.participants);
    primary(participants) == Some(ctx.node) && ctx.now >= since.saturating_add(ttl)
}

/// A participant aborts a transaction it has not voted on, on its own (its host's reason:
/// a lock it lost, a timeout): the abort is forced, so a later Prepare is answered no.
pub fn abort_unvoted<H: Host, R: Resource<H>>(
    ctx: &mut Ctx<'_, H>,
    txns: &mut PartTxns,
    res: &mut R,
    txn: TxnId,
) {
    if !txns.contains_key(&txn) {
        learn(ctx, txns, res, txn, NodeSet::default(), Outcome::Abort);
    }
}

/// Forces the outcome, decides, stops asking, and lets the resource apply it.
fn learn<H: Host, R: Resource<H>>(
    ctx: &mut Ctx<'_, H>,
    txns: &mut PartTxns,
    res: &mut R,
    txn: TxnId,
    participants: NodeSet,
    outcome: Outcome,
) {
    ctx.persist(H::record(Record::of(txn, outcome, participants)));
    ctx.decide(H::decision(Decision { txn, outcome }));
    ctx.cancel_timer(H::timer(Timer::InDoubt { txn }));
    txns.insert(txn, PartTxn { participants, status: PartStatus::Decided(outcome) });
    res.finish(ctx, txn, outcome);
}

/// Cooperative termination: ask the coordinator and every other participant. In Percolator
/// mode only the primary can tell (the primary itself just waits for its lock to expire).
fn ask_everyone<H: Host>(ctx: &mut Ctx<'_, H>, txn: TxnId, participants: NodeSet) {
    let timing = H::timing(ctx.params);
    let me = ctx.node;
    if timing.primary_ttl.is_some() {
        match primary(participants) {
            Some(p) if p != me => ctx.send(p, H::msg(Msg::DecisionRequest { txn })),
            _ => {}
        }
    } else {
        ctx.send(H::coordinator(ctx.params, txn), H::msg(Msg::DecisionRequest { txn }));
        for p in participants.iter().filter(|p| *p != me) {
            ctx.send(p, H::msg(Msg::DecisionRequest { txn }));
        }
    }
    ctx.set_timer(H::timer(Timer::InDoubt { txn }), timing.in_doubt);
}

/// A recovering participant's transactions, rebuilt from its log: PREPARED with no decision
/// is in doubt again and asks at once.
pub fn part_recover<H: Host>(ctx: &mut Ctx<'_, H>) -> PartTxns {
    let mut txns: PartTxns = VecMap::new();
    for r in log_records::<H>(ctx.log) {
        match r {
            Record::Prepared { txn, participants, .. } => {
                txns.insert(
                    *txn,
                    PartTxn {
                        participants: *participants,
                        status: PartStatus::InDoubt { since: ctx.now },
                    },
                );
            }
            _ => {
                if let Some((txn, outcome, participants)) = r.decision() {
                    let participants = txns.get(&txn).map_or(participants, |t| t.participants);
                    txns.insert(
                        txn,
                        PartTxn { participants, status: PartStatus::Decided(outcome) },
                    );
                }
            }
        }
    }
    let in_doubt: Vec<(TxnId, NodeSet)> = txns
        .iter()
        .filter(|(_, t)| matches!(t.status, PartStatus::InDoubt { .. }))
        .map(|(txn, t)| (*txn, t.participants))
        .collect();
    for (txn, participants) in in_doubt {
        ask_everyone(ctx, txn, participants);
    }
    txns
}

/// The outcome a participant's table holds for `txn`, if it has one.
pub fn part_decided(txns: &PartTxns, txn: TxnId) -> Option<Outcome> {
    match txns.get(&txn)?.status {
        PartStatus::Decided(o) => Some(o),
        PartStatus::InDoubt { .. } => None,
    }
}

/// Why participant `node` is blocked in doubt, if it is: it voted yes on a transaction and
/// no node it can reach can tell it the outcome — the coordinator is down or cut off, and
/// every reachable participant of the transaction is in doubt too. `part_txns` finds a
/// node's participant table in its state (`None`: not a participant, so not in doubt).
pub fn blocked_in_doubt<H: Host>(
    world: &World<H>,
    node: NodeId,
    part_txns: impl Fn(&H::State) -> Option<&PartTxns>,
) -> Option<Blocked> {
    let txns = part_txns(world.node(node).state.as_ref()?)?;
    let (txn, t, since) = txns.iter().find_map(|(txn, t)| match t.status {
        PartStatus::InDoubt { since } => Some((*txn, t, since)),
        PartStatus::Decided(_) => None,
    })?;
    let coord = H::coordinator(&world.params, txn);
    let percolator = H::timing(&world.params).primary_ttl.is_some();
    let first = primary(t.participants);
    if percolator && first == Some(node) {
        return None; // the primary resolves its own doubt when its lock expires
    }
    // Someone can resolve the doubt if it is reachable and either is the coordinator (up:
    // it knows, will decide, or presumes abort) or knows the outcome / never voted.
    let helpful = |n: NodeId| {
        world.can_talk(node, n)
            && (n == coord
                || (percolator && Some(n) == first)
                || world.node(n).state.as_ref().is_some_and(|s| {
                    part_txns(s).is_none_or(|peer| {
                        !matches!(
                            peer.get(&txn).map(|t| t.status),
                            Some(PartStatus::InDoubt { .. })
                        )
                    })
                }))
    };
    let peers = t.participants.iter().filter(|p| *p != node);
    if helpful(coord) || peers.clone().any(helpful) {
        return None;
    }
    let mut waiting_for = vec![coord];
    waiting_for.extend(peers.filter(|p| !world.can_talk(node, *p)));
    let who: Vec<&str> = waiting_for.iter().map(|n| world.name(*n)).collect();
    let coord_state = if world.node(coord).is_up() { "unreachable" } else { "down" };
    Some(Blocked {
        why: format!(
            "in doubt on {txn} since t={since} (voted yes); the coordinator is {coord_state} and no reachable participant knows the outcome — waiting for {}",
            who.join(", ")
        ),
        waiting_for,
    })
}
