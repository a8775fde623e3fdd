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

use crate::common::{self, Begin, Decision, Decisions, NodeSet, Outcome, TxnId};
use commitscope_engine::protocol::ParamError;
use commitscope_engine::vecmap::VecMap;
use commitscope_engine::{
    Blocked, Ctx, Event, EventKind, Findings, Input, Kind, NodeId, NodeSpec, NodeView,
    PropertyKind, PropertySpec, Protocol, Time, World,
};
use serde::{Deserialize, Serialize};
use std::fmt;

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

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Msg {
    Prepare { txn: TxnId, participants: NodeSet, transfer: u64 },
    VoteYes { txn: TxnId },
    VoteNo { txn: TxnId },
    Commit { txn: TxnId },
    Abort { txn: TxnId },
    Ack { txn: TxnId },
    DecisionRequest { txn: TxnId },
}

impl Kind for Msg {
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

impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, txn) = match self {
            Msg::Prepare { txn, .. } => ("Prepare", txn),
            Msg::VoteYes { txn } => ("VoteYes", txn),
            Msg::VoteNo { txn } => ("VoteNo", txn),
            Msg::Commit { txn } => ("Commit", txn),
            Msg::Abort { txn } => ("Abort", txn),
            Msg::Ack { txn } => ("Ack", txn),
            Msg::DecisionRequest { txn } => ("DecisionRequest", txn),
        };
        write!(f, "{name}({txn})")
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// Coordinator: a new epoch after recovery.
    Epoch {
        epoch: u32,
    },
    /// Participant: voted yes; holds its locks until it learns the outcome.
    Prepared {
        txn: TxnId,
        participants: NodeSet,
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

impl Kind for Record {
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

impl fmt::Display for Record {
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

impl Record {
    fn decision(&self) -> Option<(TxnId, Outcome, NodeSet)> {
        match self {
            Record::Commit { txn, participants } => Some((*txn, Outcome::Commit, *participants)),
            Record::Abort { txn, participants } => Some((*txn, Outcome::Abort, *participants)),
            _ => None,
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
pub struct CoordTxn {
    pub participants: NodeSet,
    pub yes: NodeSet,
    pub outcome: Option<Outcome>,
    pub acked: NodeSet,
    pub ended: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PartStatus {
    InDoubt { since: Time },
    Decided(Outcome),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PartTxn {
    pub participants: NodeSet,
    pub status: PartStatus,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum State {
    Coord { epoch: u32, next_seq: u32, txns: VecMap<TxnId, CoordTxn> },
    Part { txns: VecMap<TxnId, PartTxn> },
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

    fn votes_no(ctx: &Ctx<'_, Self>, transfer: u64) -> bool {
        let me = format!("p{}", ctx.node.0);
        transfer > ctx.params.max_transfer || ctx.params.vote_no.contains(&me)
    }

    /// Forces the decision, decides, and tells every participant that has not acknowledged.
    fn coord_decide(ctx: &mut Ctx<'_, Self>, txn: TxnId, t: &mut CoordTxn, outcome: Outcome) {
        t.outcome = Some(outcome);
        let participants = t.participants;
        ctx.persist(match outcome {
            Outcome::Commit => Record::Commit { txn, participants },
            Outcome::Abort => Record::Abort { txn, participants },
        });
        ctx.decide(Decision { txn, outcome });
        ctx.cancel_timer(Timer::VoteTimeout { txn });
        Self::coord_send_decision(ctx, txn, t);
    }

    fn coord_send_decision(ctx: &mut Ctx<'_, Self>, txn: TxnId, t: &CoordTxn) {
        let Some(outcome) = t.outcome else { return };
        for p in t.participants.without(t.acked).iter() {
            ctx.send(p, decision_msg(txn, outcome));
        }
        ctx.set_timer(Timer::Resend { txn }, ctx.params.resend_ticks);
    }

    fn on_coord(ctx: &mut Ctx<'_, Self>, state: &mut State, input: Input<Self>) {
        let State::Coord { epoch, next_seq, txns } = state else { unreachable!("coordinator") };
        match input {
            Input::Request(Begin { transfer }) => {
                let txn = TxnId { epoch: *epoch, seq: *next_seq };
                *next_seq += 1;
                let participants = Self::participants(ctx.params);
                txns.insert(
                    txn,
                    CoordTxn {
                        participants,
                        yes: NodeSet::default(),
                        outcome: None,
                        acked: NodeSet::default(),
                        ended: false,
                    },
                );
                for p in participants.iter() {
                    ctx.send(p, Msg::Prepare { txn, participants, transfer });
                }
                ctx.set_timer(Timer::VoteTimeout { txn }, ctx.params.vote_timeout_ticks);
            }
            Input::Message { from, msg } => match msg {
                Msg::VoteYes { txn } => match txns.get_mut(&txn) {
                    Some(t) if t.outcome.is_none() => {
                        t.yes.insert(from);
                        if t.yes == t.participants {
                            Self::coord_decide(ctx, txn, t, Outcome::Commit);
                        }
                    }
                    Some(CoordTxn { outcome: Some(outcome), .. }) => {
                        ctx.send(from, decision_msg(txn, *outcome))
                    }
                    Some(_) => {}
                    None => ctx.send(from, Msg::Abort { txn }), // presumed abort
                },
                Msg::VoteNo { txn } => {
                    if let Some(t) = txns.get_mut(&txn) {
                        if t.outcome.is_none() {
                            Self::coord_decide(ctx, txn, t, Outcome::Abort);
                        }
                    }
                }
                Msg::Ack { txn } => {
                    if let Some(t) = txns.get_mut(&txn) {
                        t.acked.insert(from);
                        if t.acked == t.participants && !t.ended {
                            t.ended = true;
                            ctx.persist(Record::End { txn });
                            ctx.cancel_timer(Timer::Resend { txn });
                        }
                    }
                }
                Msg::DecisionRequest { txn } => match txns.get(&txn) {
                    Some(CoordTxn { outcome: Some(outcome), .. }) => {
                        ctx.send(from, decision_msg(txn, *outcome))
                    }
                    Some(_) => {} // still collecting votes: the decision will come
                    None => ctx.send(from, Msg::Abort { txn }), // presumed abort
                },
                Msg::Prepare { .. } | Msg::Commit { .. } | Msg::Abort { .. } => {}
            },
            Input::Timer(Timer::VoteTimeout { txn }) => {
                if let Some(t) = txns.get_mut(&txn) {
                    if t.outcome.is_none() {
                        Self::coord_decide(ctx, txn, t, Outcome::Abort);
                    }
                }
            }
            Input::Timer(Timer::Resend { txn }) => {
                if let Some(t) = txns.get(&txn) {
                    if !t.ended {
                        Self::coord_send_decision(ctx, txn, t);
                    }
                }
            }
            Input::Timer(Timer::InDoubt { .. }) => {}
        }
    }

    fn on_part(ctx: &mut Ctx<'_, Self>, state: &mut State, input: Input<Self>) {
        let State::Part { txns } = state else { unreachable!("participant") };
        match input {
            Input::Message { from, msg } => match msg {
                Msg::Prepare { txn, participants, transfer } => match txns.get(&txn) {
                    Some(PartTxn { status: PartStatus::InDoubt { .. }, .. })
                    | Some(PartTxn { status: PartStatus::Decided(Outcome::Commit), .. }) => {
                        ctx.send(from, Msg::VoteYes { txn }) // a duplicate Prepare
                    }
                    Some(PartTxn { status: PartStatus::Decided(Outcome::Abort), .. }) => {
                        ctx.send(from, Msg::VoteNo { txn })
                    }
                    None if Self::votes_no(ctx, transfer) => {
                        ctx.persist(Record::Abort { txn, participants });
                        ctx.decide(Decision { txn, outcome: Outcome::Abort });
                        txns.insert(
                            txn,
                            PartTxn { participants, status: PartStatus::Decided(Outcome::Abort) },
                        );
                        ctx.send(from, Msg::VoteNo { txn });
                    }
                    None => {
                        ctx.persist(Record::Prepared { txn, participants });
                        txns.insert(
                            txn,
                            PartTxn {
                                participants,
                                status: PartStatus::InDoubt { since: ctx.now },
                            },
                        );
                        ctx.send(from, Msg::VoteYes { txn });
                        ctx.set_timer(Timer::InDoubt { txn }, ctx.params.in_doubt_timeout_ticks);
                    }
                },
                Msg::Commit { txn } | Msg::Abort { txn } => {
                    let outcome = if matches!(msg, Msg::Commit { .. }) {
                        Outcome::Commit
                    } else {
                        Outcome::Abort
                    };
                    let known = txns.get(&txn).map(|t| t.status);
                    match known {
                        Some(PartStatus::InDoubt { .. }) => {
                            let participants = txns[&txn].participants;
                            Self::part_learn(ctx, txns, txn, participants, outcome);
                        }
                        // Told to abort something it never prepared: the coordinator gave
                        // up first. Record it so a late Prepare is answered with a no.
                        None if outcome == Outcome::Abort => {
                            Self::part_learn(ctx, txns, txn, NodeSet::default(), outcome);
                        }
                        _ => {}
                    }
                    if from == COORD
                        && txns.get(&txn).is_some_and(|t| t.status == PartStatus::Decided(outcome))
                    {
                        ctx.send(COORD, Msg::Ack { txn });
                    }
                }
                Msg::DecisionRequest { txn } => match txns.get(&txn).map(|t| t.status) {
                    Some(PartStatus::Decided(outcome)) => {
                        ctx.send(from, decision_msg(txn, outcome))
                    }
                    Some(PartStatus::InDoubt { .. }) => {} // in doubt too: cannot help
                    None => {
                        // Never voted, so it may abort unilaterally — forced first, so that
                        // it can never vote yes on this transaction later.
                        Self::part_learn(ctx, txns, txn, NodeSet::default(), Outcome::Abort);
                        ctx.send(from, Msg::Abort { txn });
                    }
                },
                Msg::VoteYes { .. } | Msg::VoteNo { .. } | Msg::Ack { .. } => {}
            },
            Input::Timer(Timer::InDoubt { txn }) => {
                if let Some(PartTxn { status: PartStatus::InDoubt { .. }, participants }) =
                    txns.get(&txn)
                {
                    Self::ask_everyone(ctx, txn, *participants);
                }
            }
            Input::Timer(_) | Input::Request(_) => {}
        }
    }

    fn part_learn(
        ctx: &mut Ctx<'_, Self>,
        txns: &mut VecMap<TxnId, PartTxn>,
        txn: TxnId,
        participants: NodeSet,
        outcome: Outcome,
    ) {
        ctx.persist(match outcome {
            Outcome::Commit => Record::Commit { txn, participants },
            Outcome::Abort => Record::Abort { txn, participants },
        });
        ctx.decide(Decision { txn, outcome });
        ctx.cancel_timer(Timer::InDoubt { txn });
        txns.insert(txn, PartTxn { participants, status: PartStatus::Decided(outcome) });
    }

    /// Cooperative termination: ask the coordinator and every other participant.
    fn ask_everyone(ctx: &mut Ctx<'_, Self>, txn: TxnId, participants: NodeSet) {
        ctx.send(COORD, Msg::DecisionRequest { txn });
        let me = ctx.node;
        for p in participants.iter().filter(|p| *p != me) {
            ctx.send(p, Msg::DecisionRequest { txn });
        }
        ctx.set_timer(Timer::InDoubt { txn }, ctx.params.in_doubt_timeout_ticks);
    }
}

fn decision_msg(txn: TxnId, outcome: Outcome) -> Msg {
    match outcome {
        Outcome::Commit => Msg::Commit { txn },
        Outcome::Abort => Msg::Abort { txn },
    }
}

/// The decision `state` holds for `txn`, if any.
fn decided(state: &State, txn: TxnId) -> Option<Outcome> {
    match state {
        State::Coord { txns, .. } => txns.get(&txn).and_then(|t| t.outcome),
        State::Part { txns } => match txns.get(&txn)?.status {
            PartStatus::Decided(o) => Some(o),
            PartStatus::InDoubt { .. } => None,
        },
    }
}

impl Protocol for TwoPc {
    const NAME: &'static str = "two_pc";
    const MSG_KINDS: &'static [&'static str] =
        &["prepare", "vote_yes", "vote_no", "commit", "abort", "ack", "decision_request"];
    const RECORD_KINDS: &'static [&'static str] = &["epoch", "prepared", "commit", "abort", "end"];
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
        if ctx.node == COORD {
            Self::on_coord(ctx, state, input)
        } else {
            Self::on_part(ctx, state, input)
        }
    }

    fn on_recover(ctx: &mut Ctx<'_, Self>) -> State {
        if ctx.node == COORD {
            let epoch = common::next_epoch(ctx.log.iter().filter_map(|r| match r {
                Record::Epoch { epoch } => Some(*epoch),
                _ => None,
            }));
            ctx.persist(Record::Epoch { epoch });
            let mut txns = VecMap::new();
            for r in ctx.log {
                if let Some((txn, outcome, participants)) = r.decision() {
                    txns.insert(
                        txn,
                        CoordTxn {
                            participants,
                            yes: NodeSet::default(),
                            outcome: Some(outcome),
                            acked: NodeSet::default(),
                            ended: false,
                        },
                    );
                } else if let Record::End { txn } = r {
                    if let Some(t) = txns.get_mut(txn) {
                        t.ended = true;
                        t.acked = t.participants;
                    }
                }
            }
            // Transactions with no decision in the log are presumed aborted: whoever asks
            // is told abort. Decisions not yet acknowledged by everyone are sent again.
            for (txn, t) in &txns {
                if !t.ended {
                    Self::coord_send_decision(ctx, *txn, t);
                }
            }
            State::Coord { epoch, next_seq: 1, txns }
        } else {
            let mut txns = VecMap::new();
            for r in ctx.log {
                match r {
                    Record::Prepared { txn, participants } => {
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
                            let participants =
                                txns.get(&txn).map_or(participants, |t| t.participants);
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
                Self::ask_everyone(ctx, txn, participants);
            }
            State::Part { txns }
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
        let Some(State::Part { txns }) = &world.node(node).state else { return None };
        let (txn, t, since) = txns.iter().find_map(|(txn, t)| match t.status {
            PartStatus::InDoubt { since } => Some((*txn, t, since)),
            PartStatus::Decided(_) => None,
        })?;
        // Someone can resolve the doubt if it is reachable and either is the coordinator
        // (up: it knows, will decide, or presumes abort) or knows the outcome / never voted.
        let helpful = |n: NodeId| {
            world.can_talk(node, n)
                && (n == COORD
                    || world.node(n).state.as_ref().is_some_and(|s| match s {
                        State::Part { txns } => !matches!(
                            txns.get(&txn).map(|t| t.status),
                            Some(PartStatus::InDoubt { .. })
                        ),
                        State::Coord { .. } => true,
                    }))
        };
        let peers = t.participants.iter().filter(|p| *p != node);
        if helpful(COORD) || peers.clone().any(helpful) {
            return None;
        }
        let coord = world.node(COORD);
        let mut waiting_for = vec![COORD];
        waiting_for.extend(peers.filter(|p| !world.can_talk(node, *p)));
        let who: Vec<&str> = waiting_for.iter().map(|n| world.name(*n)).collect();
        let coord_state = if coord.is_up() { "unreachable" } else { "down" };
        Some(Blocked {
            why: format!(
                "in doubt on {txn} since t={since} (voted yes); the coordinator is {coord_state} and no reachable participant knows the outcome — waiting for {}",
                who.join(", ")
            ),
            waiting_for,
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
