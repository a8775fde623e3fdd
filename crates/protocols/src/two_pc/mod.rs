//! Two-phase commit with presumed abort (Gray & Lamport 2006, §3; Mohan, Lindsay &
//! Obermarck's presumed-abort variant) and cooperative termination.
//!
//! Node 0 is the coordinator (`coord`), nodes 1..=N the participants (`p1`..`pN`).
//! - A participant forces PREPARED before voting yes; from then on it is *in doubt* and
//!   may not decide alone. A no-voter aborts at once.
//! - The coordinator forces its decision before sending it, aborts when a vote is missing
//!   at the vote timeout, and re-sends the decision until every participant acknowledges;
//!   then it writes END and may forget the transaction.
//! - An in-doubt participant asks the coordinator and the other participants after a
//!   timeout (cooperative termination). Whoever knows the outcome answers; a participant
//!   that never prepared aborts (forcing ABORT first, so it can never vote yes later) and
//!   answers abort. A coordinator with no record of a transaction answers abort (presumed
//!   abort).
//! - Recovery: the coordinator starts a new epoch (so transaction ids stay unique) and
//!   re-sends every logged decision without END; a participant with PREPARED and no
//!   decision is in doubt again and asks at once.

pub mod commit;

use crate::common::{self, Begin, Decision, Decisions, NodeSet, Outcome, TxnId};
use commit::{CoordTxns, Host, PartTxns, Resource, Timing};
use commitscope_engine::protocol::ParamError;
use commitscope_engine::vecmap::VecMap;
use commitscope_engine::{
    Blocked, Ctx, Event, EventKind, Findings, Input, Kind, NodeId, NodeSpec, NodeView,
    PropertyKind, PropertySpec, Protocol, Time, World,
};
use serde::{Deserialize, Serialize};

pub const COORD: NodeId = NodeId(0);

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TwoPc;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// Number of participants, 1 to 16.
    pub participants: u32,
    /// The coordinator aborts if a vote is missing this long after it sent Prepare.
    pub vote_timeout_ticks: Time,
    /// The coordinator re-sends its decision to silent participants this often.
    pub resend_ticks: Time,
    /// An in-doubt participant asks for the outcome this often.
    pub in_doubt_timeout_ticks: Time,
    /// Participants (by name, e.g. "p2") that vote no on every transaction.
    pub vote_no: Vec<String>,
    /// The workload rule: a participant votes no on a transfer larger than this (the
    /// course's failing case is a transfer of 999999).
    pub max_transfer: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            participants: 3,
            vote_timeout_ticks: 60,
            resend_ticks: 40,
            in_doubt_timeout_ticks: 50,
            vote_no: Vec::new(),
            max_transfer: 100_000,
        }
    }
}

/// What a Prepare carries: the transfer each participant votes on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Transfer {
    pub transfer: u64,
}

pub type Msg = commit::Msg<Transfer>;
/// A participant's PREPARED keeps nothing beyond the transaction and its participants.
pub type Record = commit::Record<()>;
pub use commit::{CoordTxn, PartStatus, PartTxn, Timer};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Idle,
    CollectingVotes,
    Committing,
    Aborting,
    Done,
    Working,
    InDoubt,
    Committed,
    Aborted,
}

impl Kind for Phase {
    fn kind(&self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::CollectingVotes => "collecting_votes",
            Phase::Committing => "committing",
            Phase::Aborting => "aborting",
            Phase::Done => "done",
            Phase::Working => "working",
            Phase::InDoubt => "in_doubt",
            Phase::Committed => "committed",
            Phase::Aborted => "aborted",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum State {
    Coord { epoch: u32, next_seq: u32, txns: CoordTxns },
    Part { txns: PartTxns },
}

#[derive(Clone, Debug, Default)]
pub struct Monitor {
    decisions: Decisions,
}

const AC1: usize = 0;
const AC2: usize = 1;
const DURABLE: usize = 2;
const COMMIT_REACHABLE: usize = 3;
const ABORT_REACHABLE: usize = 4;

impl TwoPc {
    fn participants(params: &Params) -> NodeSet {
        NodeSet::range(1, params.participants)
    }
}

/// The participant's vote: no on a transfer over the limit or where told to.
struct Vote;

impl Resource<TwoPc> for Vote {
    fn prepare(&mut self, ctx: &mut Ctx<'_, TwoPc>, _: TxnId, work: &Transfer) -> Option<()> {
        let me = format!("p{}", ctx.node.0);
        let no = work.transfer > ctx.params.max_transfer || ctx.params.vote_no.contains(&me);
        (!no).then_some(())
    }
    fn finish(&mut self, _: &mut Ctx<'_, TwoPc>, _: TxnId, _: Outcome) {}
}

impl Host for TwoPc {
    type Work = Transfer;
    type Intents = ();
    fn msg(m: Msg) -> Msg {
        m
    }
    fn timer(t: Timer) -> Timer {
        t
    }
    fn record(r: Record) -> Record {
        r
    }
    fn as_record(r: &Record) -> Option<&Record> {
        Some(r)
    }
    fn decision(d: Decision) -> Decision {
        d
    }
    fn timing(p: &Params) -> Timing {
        Timing {
            vote_timeout: p.vote_timeout_ticks,
            resend: p.resend_ticks,
            in_doubt: p.in_doubt_timeout_ticks,
            primary_ttl: None,
        }
    }
    fn coordinator(_: &Params, _: TxnId) -> NodeId {
        COORD
    }
}

/// The decision `state` holds for `txn`, if any.
fn decided(state: &State, txn: TxnId) -> Option<Outcome> {
    match state {
        State::Coord { txns, .. } => txns.get(&txn).and_then(|t| t.outcome),
        State::Part { txns } => commit::part_decided(txns, txn),
    }
}

impl Protocol for TwoPc {
    const NAME: &'static str = "two_pc";
    const MSG_KINDS: &'static [&'static str] = commit::MSG_KINDS;
    const RECORD_KINDS: &'static [&'static str] = commit::RECORD_KINDS;
    const PHASES: &'static [&'static str] = &[
        "idle",
        "collecting_votes",
        "committing",
        "aborting",
        "done",
        "working",
        "in_doubt",
        "committed",
        "aborted",
    ];
    const PROPERTIES: &'static [PropertySpec] = &[
        PropertySpec {
            id: "AC1",
            name: "Agreement",
            kind: PropertyKind::Always,
            about: "No two nodes decide differently on the same transaction.",
        },
        PropertySpec {
            id: "AC2",
            name: "Validity",
            kind: PropertyKind::Always,
            about: "A transaction commits only if every participant voted yes (forced PREPARED).",
        },
        PropertySpec {
            id: "durable",
            name: "Durable decisions",
            kind: PropertyKind::Always,
            about: "A node that decided remembers the same decision after a crash and recovery.",
        },
        PropertySpec {
            id: "commit_reachable",
            name: "Commit is reachable",
            kind: PropertyKind::Sometimes,
            about: "Some node decides commit in this run.",
        },
        PropertySpec {
            id: "abort_reachable",
            name: "Abort is reachable",
            kind: PropertyKind::Sometimes,
            about: "Some node decides abort in this run.",
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
        common::check_count("participants", params.participants)?;
        common::check_ticks(&[
            ("vote_timeout_ticks", params.vote_timeout_ticks),
            ("resend_ticks", params.resend_ticks),
            ("in_doubt_timeout_ticks", params.in_doubt_timeout_ticks),
        ])?;
        common::check_names("vote_no", &params.vote_no, "p", params.participants, "participant")
    }

    fn nodes(params: &Params) -> Vec<NodeSpec> {
        common::coordinator_and_participants(params.participants)
    }

    fn init(ctx: &Ctx<'_, Self>) -> State {
        if ctx.node == COORD {
            State::Coord { epoch: 1, next_seq: 1, txns: VecMap::new() }
        } else {
            State::Part { txns: VecMap::new() }
        }
    }

    fn on_input(ctx: &mut Ctx<'_, Self>, state: &mut State, input: Input<Self>) {
        match (state, input) {
            (State::Coord { epoch, next_seq, txns }, input) => match input {
                Input::Request(Begin { transfer }) => {
                    let txn = TxnId::new(*epoch, *next_seq);
                    *next_seq += 1;
                    let participants = Self::participants(ctx.params);
                    commit::begin(ctx, txns, txn, participants, |_| Transfer { transfer });
                }
                Input::Message { from, msg } => {
                    commit::coord_on_message(ctx, txns, from, msg);
                }
                Input::Timer(timer) => {
                    commit::coord_on_timer(ctx, txns, timer);
                }
            },
            (State::Part { txns }, input) => match input {
                Input::Message { from, msg } => {
                    commit::part_on_message(ctx, txns, &mut Vote, from, msg)
                }
                Input::Timer(timer) => commit::part_on_timer(ctx, txns, &mut Vote, timer),
                Input::Request(_) => {}
            },
        }
    }

    fn on_recover(ctx: &mut Ctx<'_, Self>) -> State {
        if ctx.node == COORD {
            let epoch = commit::recovered_epoch::<Self>(ctx.log);
            ctx.persist(Record::Epoch { epoch });
            State::Coord { epoch, next_seq: 1, txns: commit::coord_recover(ctx) }
        } else {
            State::Part { txns: commit::part_recover(ctx) }
        }
    }

    fn phase(state: &State) -> Phase {
        match state {
            State::Coord { txns, .. } => match txns.last_key_value() {
                None => Phase::Idle,
                Some((_, t)) if t.ended => Phase::Done,
                Some((_, t)) => match t.outcome {
                    None => Phase::CollectingVotes,
                    Some(Outcome::Commit) => Phase::Committing,
                    Some(Outcome::Abort) => Phase::Aborting,
                },
            },
            State::Part { txns } => match txns.last_key_value().map(|(_, t)| t.status) {
                None => Phase::Working,
                Some(PartStatus::InDoubt { .. }) => Phase::InDoubt,
                Some(PartStatus::Decided(Outcome::Commit)) => Phase::Committed,
                Some(PartStatus::Decided(Outcome::Abort)) => Phase::Aborted,
            },
        }
    }

    fn view(world: &World<Self>, node: NodeId) -> NodeView {
        let slot = world.node(node);
        let mut v = world.base_view(node);
        let Some(state) = &slot.state else { return v };
        match state {
            State::Coord { epoch, txns, .. } => {
                v.fields.push(("epoch".into(), epoch.to_string()));
                if let Some((txn, t)) = txns.last_key_value() {
                    let votes: Vec<String> = t
                        .participants
                        .iter()
                        .map(|p| {
                            let mark = if t.yes.contains(p) { "yes" } else { "?" };
                            format!("{} {mark}", world.name(p))
                        })
                        .collect();
                    v.fields.push(("transaction".into(), txn.to_string()));
                    if t.outcome.is_none() || !t.yes.is_empty() {
                        v.fields.push(("votes".into(), votes.join(", ")));
                    }
                    if t.outcome.is_some() {
                        let acks: Vec<&str> = t.acked.iter().map(|p| world.name(p)).collect();
                        v.fields.push((
                            "acks".into(),
                            if acks.is_empty() { "none".into() } else { acks.join(", ") },
                        ));
                    }
                    v.decision = t.outcome.map(|o| format!("{o} {txn}"));
                }
            }
            State::Part { txns } => {
                for (txn, t) in txns {
                    match t.status {
                        PartStatus::InDoubt { since } => {
                            v.locks.push(format!("{txn} (held since t={since})"));
                            v.fields.push((
                                txn.to_string(),
                                format!("voted yes, in doubt since t={since}"),
                            ));
                        }
                        PartStatus::Decided(o) => v.fields.push((txn.to_string(), o.to_string())),
                    }
                }
                if let Some((txn, t)) = txns.last_key_value() {
                    if let PartStatus::Decided(o) = t.status {
                        v.decision = Some(format!("{o} {txn}"));
                    }
                }
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
        match &event.kind {
            EventKind::Decide { decision } => {
                let d = *decision;
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
                        let unprepared: Vec<&str> = TwoPc::participants(&world.params)
                            .iter()
                            .filter(|p| {
                                !world.node(*p).log.iter().any(
                                    |r| matches!(r, Record::Prepared { txn, .. } if *txn == d.txn),
                                )
                            })
                            .map(|p| world.name(p))
                            .collect();
                        if !unprepared.is_empty() {
                            findings.report(AC2, || {
                                format!(
                                    "{} committed {} but {} never voted yes",
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
        commit::blocked_in_doubt(world, node, |s| match s {
            State::Part { txns } => Some(txns),
            State::Coord { .. } => None,
        })
    }

    fn settled(world: &World<Self>) -> Result<(), String> {
        for (i, slot) in world.nodes.iter().enumerate() {
            let name = world.name(NodeId(i as u32));
            let Some(state) = &slot.state else { return Err(format!("{name} is down")) };
            let open = match state {
                State::Coord { txns, .. } => {
                    txns.iter().find(|(_, t)| t.outcome.is_none()).map(|(txn, _)| *txn)
                }
                State::Part { txns } => txns
                    .iter()
                    .find(|(_, t)| {
                        t.status != PartStatus::Decided(Outcome::Abort)
                            && t.status != PartStatus::Decided(Outcome::Commit)
                    })
                    .map(|(txn, _)| *txn),
            };
            if let Some(txn) = open {
                return Err(format!("{name} has not decided {txn}"));
            }
        }
        Ok(())
    }

    fn explain(event: &Event<Self>) -> Option<String> {
        let node = event.node?;
        Some(match &event.kind {
            EventKind::Persist { record: Record::Prepared { .. } } => {
                "it has promised to commit if told to: from now on it is in doubt and may not decide alone".into()
            }
            EventKind::Persist { record: Record::Commit { .. } } if node == COORD => {
                "the commit point: with this record on disk the transaction commits, whatever fails next".into()
            }
            EventKind::Persist { record: Record::End { .. } } => {
                "every participant has acknowledged: the coordinator may forget the transaction".into()
            }
            EventKind::Persist { record: Record::Epoch { .. } } => {
                "a new epoch keeps new transaction ids unique".into()
            }
            EventKind::TimerFire { timer: Timer::VoteTimeout { .. } } => {
                "a vote is missing: the coordinator aborts (presumed abort)".into()
            }
            EventKind::TimerFire { timer: Timer::InDoubt { .. } } => {
                "still in doubt: it asks the coordinator and the other participants (cooperative termination)".into()
            }
            EventKind::TimerFire { timer: Timer::Resend { .. } } => {
                "not every participant has acknowledged: the coordinator sends the decision again".into()
            }
            _ => return None,
        })
    }
}
