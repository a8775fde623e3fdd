//! Three-phase commit (Skeen 1981; Bernstein, Hadzilacos & Goodman 1987, ch. 7) with two
//! termination rules: the course's timeout rule and Skeen's termination protocol.
//!
//! Node 0 is the coordinator (`coord`), nodes 1..=N the participants (`p1`..`pN`).
//!
//! Failure-free run: the coordinator sends CanCommit; each participant forces PREPARED and
//! votes yes (it is now *uncertain*) or forces ABORT and votes no. With every vote yes the
//! coordinator forces PRE-COMMIT and sends PreCommit; each participant forces PRECOMMITTED
//! (it is now *committable*: it knows everyone voted yes) and acknowledges. With every
//! acknowledgement the coordinator forces COMMIT and sends DoCommit, re-sending until every
//! participant answers have_committed; then it writes END.
//!
//! - The coordinator aborts on a no vote or when a vote is missing at the vote timeout. When
//!   an acknowledgement is missing at the ack timeout it commits anyway: everyone voted yes,
//!   and a participant that failed learns the outcome by termination (Skeen's rule).
//! - A participant that hears nothing for `participant_timeout_ticks` while uncertain or
//!   committable acts by `params.termination`:
//!   * `timeout` (the course's rule): uncertain → abort, committable → commit and broadcast
//!     have_committed. The decision is marked *by participant timeout* in the log, on the
//!     node's card and by the `decided_by_timeout` monitor. It is safe only when PreCommit
//!     reached everyone or no one; under a partition (or a crash after PreCommit reached
//!     some) the two sides decide differently and AC1 says so.
//!   * `elect` (Skeen's termination protocol): the participant suspects the node it was
//!     waiting for and reports its state to the lowest-numbered participant it does not
//!     suspect. That participant (the *leader*) asks every participant for its state
//!     (state_request/state_report), waits `state_timeout_ticks`, and decides: any aborted
//!     → abort; any committed → commit; some committable → PreCommit to the uncertain ones,
//!     collect acks (same window), commit; all uncertain → abort. It tells every
//!     participant. A participant that waited in vain for a leader suspects it too and
//!     reports to the next one; suspicions travel with the reports, so at most N leaders
//!     are tried. A participant that has reported to a leader ignores PreCommit from anyone
//!     else.
//! - Recovery from the log. A participant with no PREPARED knows nothing and, asked, aborts
//!   unilaterally (it never voted yes). With a decision it keeps it. With PREPARED or
//!   PRECOMMITTED and no decision it is *recovered*: it may not decide alone and takes no
//!   part in the termination rules (its state is stale), it asks everyone every
//!   `resend_ticks` and adopts the first decision it hears.
//!   The coordinator starts a new epoch (transaction ids stay unique). With COMMIT logged it
//!   re-sends DoCommit; with ABORT it answers abort. With PRE-COMMIT but no decision it may
//!   not presume abort (the participants may have terminated either way): it asks the
//!   participants and adopts a decision it hears. If every participant answers that it is
//!   itself recovered and undecided (a total failure), nobody has decided and nobody can
//!   (recovered nodes never decide alone), and everyone voted yes: the coordinator commits.
//!   With nothing logged for a transaction it never sent PreCommit, so no participant can
//!   be committable and nobody can commit: whoever asks is told abort (presumed abort is
//!   safe here, and only here).
//! - Any decision a node hears is adopted; duplicates are answered idempotently.
//!
//! The timeout rule's and the termination protocol's safety rest on timing: timeouts must
//! exceed the coordinator's own waits plus the latency spread (the defaults do for the
//! default 8–12 tick latency). Under a partition that assumption fails, which is the lesson.

use crate::common::{self, Begin, Decisions, NodeSet, Outcome, TxnId};
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
pub struct ThreePc;

/// What a participant does when it hears nothing in time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Termination {
    /// The course's rule: uncertain → abort, committable → commit, each alone.
    #[default]
    Timeout,
    /// Skeen's termination protocol: elect the lowest unsuspected participant, which
    /// collects states and decides.
    Elect,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// Number of participants, 1 to 16.
    pub participants: u32,
    /// `"timeout"` (the course's rule, default) or `"elect"` (Skeen's termination protocol).
    pub termination: Termination,
    /// The coordinator aborts if a vote is missing this long after it sent CanCommit.
    pub vote_timeout_ticks: Time,
    /// The coordinator commits anyway if a PreCommit ack is missing this long after it
    /// sent PreCommit.
    pub ack_timeout_ticks: Time,
    /// The coordinator re-sends DoCommit, and recovered nodes ask for the outcome, this often.
    pub resend_ticks: Time,
    /// A participant waiting for the coordinator (or for a leader) gives up after this long.
    pub participant_timeout_ticks: Time,
    /// Elect mode: how long a leader collects states, and then PreCommit acks.
    pub state_timeout_ticks: Time,
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
            termination: Termination::Timeout,
            vote_timeout_ticks: 60,
            ack_timeout_ticks: 60,
            resend_ticks: 40,
            participant_timeout_ticks: 100,
            state_timeout_ticks: 30,
            vote_no: Vec::new(),
            max_transfer: 100_000,
        }
    }
}

/// An undecided participant's state, as it reports it to a leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Report {
    Uncertain,
    Committable,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Msg {
    CanCommit {
        txn: TxnId,
        participants: NodeSet,
        transfer: u64,
    },
    VoteYes {
        txn: TxnId,
    },
    VoteNo {
        txn: TxnId,
    },
    PreCommit {
        txn: TxnId,
    },
    PreCommitAck {
        txn: TxnId,
    },
    DoCommit {
        txn: TxnId,
    },
    /// The answer to DoCommit; broadcast by a participant that committed by timeout.
    HaveCommitted {
        txn: TxnId,
        by_timeout: bool,
    },
    DoAbort {
        txn: TxnId,
    },
    /// Termination: a leader asks for a participant's state.
    StateRequest {
        txn: TxnId,
        suspects: NodeSet,
    },
    /// Termination: an undecided participant's state (to a leader, or to a recovered
    /// coordinator that asked). `recovered`: rebuilt from the log, so not usable by the
    /// termination rules.
    StateReport {
        txn: TxnId,
        state: Report,
        recovered: bool,
        suspects: NodeSet,
    },
    /// A recovered node asks for the outcome.
    DecisionRequest {
        txn: TxnId,
    },
}

impl Msg {
    fn txn(&self) -> TxnId {
        match self {
            Msg::CanCommit { txn, .. }
            | Msg::VoteYes { txn }
            | Msg::VoteNo { txn }
            | Msg::PreCommit { txn }
            | Msg::PreCommitAck { txn }
            | Msg::DoCommit { txn }
            | Msg::HaveCommitted { txn, .. }
            | Msg::DoAbort { txn }
            | Msg::StateRequest { txn, .. }
            | Msg::StateReport { txn, .. }
            | Msg::DecisionRequest { txn } => *txn,
        }
    }
}

impl Kind for Msg {
    fn kind(&self) -> &'static str {
        match self {
            Msg::CanCommit { .. } => "can_commit",
            Msg::VoteYes { .. } => "vote_yes",
            Msg::VoteNo { .. } => "vote_no",
            Msg::PreCommit { .. } => "pre_commit",
            Msg::PreCommitAck { .. } => "pre_commit_ack",
            Msg::DoCommit { .. } => "do_commit",
            Msg::HaveCommitted { .. } => "have_committed",
            Msg::DoAbort { .. } => "do_abort",
            Msg::StateRequest { .. } => "state_request",
            Msg::StateReport { .. } => "state_report",
            Msg::DecisionRequest { .. } => "decision_request",
        }
    }
}

impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let txn = self.txn();
        match self {
            Msg::CanCommit { .. } => write!(f, "CanCommit({txn})"),
            Msg::VoteYes { .. } => write!(f, "VoteYes({txn})"),
            Msg::VoteNo { .. } => write!(f, "VoteNo({txn})"),
            Msg::PreCommit { .. } => write!(f, "PreCommit({txn})"),
            Msg::PreCommitAck { .. } => write!(f, "PreCommitAck({txn})"),
            Msg::DoCommit { .. } => write!(f, "DoCommit({txn})"),
            Msg::HaveCommitted { by_timeout: true, .. } => {
                write!(f, "HaveCommitted({txn}, by timeout)")
            }
            Msg::HaveCommitted { .. } => write!(f, "HaveCommitted({txn})"),
            Msg::DoAbort { .. } => write!(f, "DoAbort({txn})"),
            Msg::StateRequest { .. } => write!(f, "StateRequest({txn})"),
            Msg::StateReport { state, recovered, .. } => {
                let s = match state {
                    Report::Uncertain => "uncertain",
                    Report::Committable => "committable",
                };
                let r = if *recovered { ", recovered" } else { "" };
                write!(f, "StateReport({txn}: {s}{r})")
            }
            Msg::DecisionRequest { .. } => write!(f, "DecisionRequest({txn})"),
        }
    }
}

/// Which of Skeen's termination rules a leader applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// TR1: some participant had aborted.
    AnyAborted,
    /// TR2: some participant had committed.
    AnyCommitted,
    /// TR3: every participant that reported was uncertain.
    AllUncertain,
    /// TR4: some participant was committable: the uncertain ones were pre-committed first.
    SomeCommittable,
}

impl Rule {
    fn describe(self) -> &'static str {
        match self {
            Rule::AnyAborted => "a participant had aborted",
            Rule::AnyCommitted => "a participant had committed",
            Rule::AllUncertain => "every reachable participant was uncertain",
            Rule::SomeCommittable => "a participant was committable",
        }
    }
}

/// Why a node decided what it decided: shown on its card, in its log and in the narration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Basis {
    /// The coordinator's normal rule: a no vote, or every vote and every ack in.
    Votes,
    /// The coordinator aborted: a vote was missing at the vote timeout.
    VoteTimeout,
    /// The coordinator committed although a PreCommit ack was missing (Skeen's rule).
    AckTimeout,
    /// The participant voted no.
    VotedNo,
    /// Asked about a transaction it never voted on, the participant aborted it.
    NeverVoted,
    /// Another node told it (DoCommit, DoAbort, have_committed).
    Told { from: NodeId },
    /// The course's rule: the participant's timeout fired while uncertain or committable.
    ParticipantTimeout,
    /// Skeen's termination protocol: this node was the elected leader.
    Termination { rule: Rule },
    /// A recovered coordinator heard that every participant was recovered and undecided.
    TotalFailure,
}

impl Basis {
    /// True for a decision made because a timer fired, not because of what was heard.
    pub fn is_timeout(self) -> bool {
        matches!(self, Basis::VoteTimeout | Basis::AckTimeout | Basis::ParticipantTimeout)
    }
    /// The words after the outcome on a card or a log record (empty for the plain cases).
    fn suffix(self) -> String {
        match self {
            Basis::VoteTimeout => " (by vote timeout)".into(),
            Basis::AckTimeout => " (by ack timeout)".into(),
            Basis::ParticipantTimeout => " (by participant timeout)".into(),
            Basis::Termination { rule } => format!(" (by termination: {})", rule.describe()),
            Basis::TotalFailure => " (after a total failure)".into(),
            Basis::Votes | Basis::VotedNo | Basis::NeverVoted | Basis::Told { .. } => String::new(),
        }
    }
}

/// A transaction's decision as one node reaches it, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Decision {
    pub txn: TxnId,
    pub outcome: Outcome,
    pub basis: Basis,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} for {}{}", self.outcome, self.txn, self.basis.suffix())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// Coordinator: a new epoch after recovery.
    Epoch {
        epoch: u32,
    },
    /// Participant: voted yes (uncertain).
    Prepared {
        txn: TxnId,
        participants: NodeSet,
    },
    /// Coordinator: every participant voted yes; about to send PreCommit.
    PreCommit {
        txn: TxnId,
        participants: NodeSet,
    },
    /// Participant: received PreCommit (committable).
    PreCommitted {
        txn: TxnId,
    },
    Commit {
        txn: TxnId,
        participants: NodeSet,
        basis: Basis,
    },
    Abort {
        txn: TxnId,
        participants: NodeSet,
        basis: Basis,
    },
    /// Coordinator: every participant answered have_committed.
    End {
        txn: TxnId,
    },
}

impl Kind for Record {
    fn kind(&self) -> &'static str {
        match self {
            Record::Epoch { .. } => "epoch",
            Record::Prepared { .. } => "prepared",
            Record::PreCommit { .. } => "pre_commit",
            Record::PreCommitted { .. } => "pre_committed",
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
            Record::PreCommit { txn, .. } => write!(f, "PRE-COMMIT {txn}"),
            Record::PreCommitted { txn } => write!(f, "PRECOMMITTED {txn}"),
            Record::Commit { txn, basis, .. } => write!(f, "COMMIT {txn}{}", basis.suffix()),
            Record::Abort { txn, basis, .. } => write!(f, "ABORT {txn}{}", basis.suffix()),
            Record::End { txn } => write!(f, "END {txn}"),
        }
    }
}

impl Record {
    fn decision(&self) -> Option<(TxnId, Outcome, NodeSet, Basis)> {
        match self {
            Record::Commit { txn, participants, basis } => {
                Some((*txn, Outcome::Commit, *participants, *basis))
            }
            Record::Abort { txn, participants, basis } => {
                Some((*txn, Outcome::Abort, *participants, *basis))
            }
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Timer {
    /// Coordinator: votes.
    VoteTimeout { txn: TxnId },
    /// Coordinator: PreCommit acks.
    AckTimeout { txn: TxnId },
    /// Coordinator: re-send DoCommit.
    Resend { txn: TxnId },
    /// A recovered node asks again.
    Ask { txn: TxnId },
    /// Participant: waiting for the coordinator (or, in elect mode, for `on`, a leader).
    ParticipantTimeout { txn: TxnId, on: NodeId },
    /// Leader: collecting states.
    StateTimeout { txn: TxnId },
    /// Leader: collecting acks of its PreCommit (rule TR4).
    LeaderAckTimeout { txn: TxnId },
}

impl Kind for Timer {
    fn kind(&self) -> &'static str {
        match self {
            Timer::VoteTimeout { .. } => "vote_timeout",
            Timer::AckTimeout { .. } => "ack_timeout",
            Timer::Resend { .. } => "resend",
            Timer::Ask { .. } => "ask",
            Timer::ParticipantTimeout { .. } => "participant_timeout",
            Timer::StateTimeout { .. } => "state_timeout",
            Timer::LeaderAckTimeout { .. } => "leader_ack_timeout",
        }
    }
}

impl fmt::Display for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.kind().replace('_', "-");
        match self {
            Timer::VoteTimeout { txn }
            | Timer::AckTimeout { txn }
            | Timer::Resend { txn }
            | Timer::Ask { txn }
            | Timer::StateTimeout { txn }
            | Timer::LeaderAckTimeout { txn } => write!(f, "{name}({txn})"),
            Timer::ParticipantTimeout { txn, on } => {
                write!(f, "{name}({txn}, waiting for {})", node_name(*on))
            }
        }
    }
}

/// Node names are fixed by `nodes`: `coord`, then `p1`..`pN`.
fn node_name(n: NodeId) -> String {
    if n == COORD {
        "coord".into()
    } else {
        format!("p{}", n.0)
    }
}

fn names(set: NodeSet) -> String {
    let v: Vec<String> = set.iter().map(node_name).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Idle,
    CollectingVotes,
    PreCommitting,
    Committing,
    /// A recovered coordinator with PRE-COMMIT and no decision, asking the participants.
    Asking,
    Done,
    Working,
    Uncertain,
    Committable,
    /// Elect mode: this participant is the elected leader of the termination protocol.
    Leading,
    Committed,
    Aborted,
}

impl Kind for Phase {
    fn kind(&self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::CollectingVotes => "collecting_votes",
            Phase::PreCommitting => "pre_committing",
            Phase::Committing => "committing",
            Phase::Asking => "asking",
            Phase::Done => "done",
            Phase::Working => "working",
            Phase::Uncertain => "uncertain",
            Phase::Committable => "committable",
            Phase::Leading => "leading",
            Phase::Committed => "committed",
            Phase::Aborted => "aborted",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    Voting,
    PreCommitting,
    /// Recovered with PRE-COMMIT and no decision: asking the participants.
    Asking,
    Decided(Outcome, Basis),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CoordTxn {
    pub participants: NodeSet,
    pub stage: Stage,
    pub yes: NodeSet,
    /// PreCommit acks.
    pub acked: NodeSet,
    /// have_committed answers.
    pub done: NodeSet,
    pub ended: bool,
    /// Asking: participants that answered "recovered and undecided".
    pub recovered_reports: NodeSet,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    Uncertain { since: Time },
    Committable { since: Time },
    Decided(Outcome, Basis),
}

impl Status {
    fn report(self) -> Option<Report> {
        match self {
            Status::Uncertain { .. } => Some(Report::Uncertain),
            Status::Committable { .. } => Some(Report::Committable),
            Status::Decided(..) => None,
        }
    }
    fn outcome(self) -> Option<Outcome> {
        match self {
            Status::Decided(o, _) => Some(o),
            _ => None,
        }
    }
}

/// A leader's progress in the termination protocol.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Lead {
    /// Collecting states (then: waiting for PreCommit acks).
    pub collecting: bool,
    pub uncertain: NodeSet,
    pub committable: NodeSet,
    /// Reporters that are recovered: their state does not count.
    pub stale: NodeSet,
    /// TR4: the participants sent PreCommit, and those that acknowledged.
    pub pre_committed: NodeSet,
    pub acked: NodeSet,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PartTxn {
    pub participants: NodeSet,
    pub status: Status,
    /// Rebuilt from the log after a crash: may not decide alone, takes no part in termination.
    pub recovered: bool,
    /// Elect mode: the coordinator and leaders it (or a peer) gave up on.
    pub suspects: NodeSet,
    /// Whom it waits for: the coordinator, or (elect mode) a leader.
    pub leader: NodeId,
    pub lead: Option<Lead>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum State {
    Coord { epoch: u32, next_seq: u32, txns: VecMap<TxnId, CoordTxn> },
    Part { txns: VecMap<TxnId, PartTxn> },
}

#[derive(Clone, Debug, Default)]
pub struct Monitor {
    decisions: Decisions,
    bases: VecMap<(TxnId, NodeId), Basis>,
}

const AC1: usize = 0;
const AC2: usize = 1;
const DURABLE: usize = 2;
const COMMIT_REACHABLE: usize = 3;
const ABORT_REACHABLE: usize = 4;
const DECIDED_BY_TIMEOUT: usize = 5;

fn decision_msg(txn: TxnId, outcome: Outcome) -> Msg {
    match outcome {
        Outcome::Commit => Msg::DoCommit { txn },
        Outcome::Abort => Msg::DoAbort { txn },
    }
}

fn decision_record(txn: TxnId, outcome: Outcome, participants: NodeSet, basis: Basis) -> Record {
    match outcome {
        Outcome::Commit => Record::Commit { txn, participants, basis },
        Outcome::Abort => Record::Abort { txn, participants, basis },
    }
}

impl ThreePc {
    fn participants(params: &Params) -> NodeSet {
        NodeSet::range(1, params.participants)
    }

    fn votes_no(ctx: &Ctx<'_, Self>, transfer: u64) -> bool {
        let me = format!("p{}", ctx.node.0);
        transfer > ctx.params.max_transfer || ctx.params.vote_no.contains(&me)
    }

    // ---- coordinator ----

    /// Forces the decision, decides, and tells the participants.
    fn coord_decide(
        ctx: &mut Ctx<'_, Self>,
        txn: TxnId,
        t: &mut CoordTxn,
        outcome: Outcome,
        basis: Basis,
    ) {
        t.stage = Stage::Decided(outcome, basis);
        ctx.persist(decision_record(txn, outcome, t.participants, basis));
        ctx.decide(Decision { txn, outcome, basis });
        ctx.cancel_timer(Timer::VoteTimeout { txn });
        ctx.cancel_timer(Timer::AckTimeout { txn });
        ctx.cancel_timer(Timer::Ask { txn });
        match outcome {
            Outcome::Commit => Self::coord_send_commit(ctx, txn, t),
            Outcome::Abort => {
                for p in t.participants.iter() {
                    ctx.send(p, Msg::DoAbort { txn });
                }
            }
        }
    }

    fn coord_send_commit(ctx: &mut Ctx<'_, Self>, txn: TxnId, t: &mut CoordTxn) {
        if t.done == t.participants {
            Self::coord_end(ctx, txn, t);
            return;
        }
        for p in t.participants.without(t.done).iter() {
            ctx.send(p, Msg::DoCommit { txn });
        }
        ctx.set_timer(Timer::Resend { txn }, ctx.params.resend_ticks);
    }

    fn coord_end(ctx: &mut Ctx<'_, Self>, txn: TxnId, t: &mut CoordTxn) {
        if !t.ended {
            t.ended = true;
            ctx.persist(Record::End { txn });
            ctx.cancel_timer(Timer::Resend { txn });
        }
    }

    fn coord_ask(ctx: &mut Ctx<'_, Self>, txn: TxnId, participants: NodeSet) {
        for p in participants.iter() {
            ctx.send(p, Msg::DecisionRequest { txn });
        }
        ctx.set_timer(Timer::Ask { txn }, ctx.params.resend_ticks);
    }

    fn on_coord(ctx: &mut Ctx<'_, Self>, state: &mut State, input: Input<Self>) {
        let State::Coord { epoch, next_seq, txns } = state else { unreachable!("coordinator") };
        match input {
            Input::Request(Begin { transfer }) => {
                let txn = TxnId::new(*epoch, *next_seq);
                *next_seq += 1;
                let participants = Self::participants(ctx.params);
                txns.insert(
                    txn,
                    CoordTxn {
                        participants,
                        stage: Stage::Voting,
                        yes: NodeSet::default(),
                        acked: NodeSet::default(),
                        done: NodeSet::default(),
                        ended: false,
                        recovered_reports: NodeSet::default(),
                    },
                );
                for p in participants.iter() {
                    ctx.send(p, Msg::CanCommit { txn, participants, transfer });
                }
                ctx.set_timer(Timer::VoteTimeout { txn }, ctx.params.vote_timeout_ticks);
            }
            Input::Message { from, msg } => {
                let txn = msg.txn();
                let Some(t) = txns.get_mut(&txn) else {
                    // No record: this coordinator never sent PreCommit for it, so nobody
                    // can be committable and nobody can commit — abort is the only answer.
                    if matches!(
                        msg,
                        Msg::VoteYes { .. } | Msg::DecisionRequest { .. } | Msg::StateReport { .. }
                    ) {
                        ctx.send(from, Msg::DoAbort { txn });
                    }
                    return;
                };
                match msg {
                    Msg::VoteYes { .. } => match t.stage {
                        Stage::Voting => {
                            t.yes.insert(from);
                            if t.yes == t.participants {
                                t.stage = Stage::PreCommitting;
                                ctx.persist(Record::PreCommit {
                                    txn,
                                    participants: t.participants,
                                });
                                ctx.cancel_timer(Timer::VoteTimeout { txn });
                                for p in t.participants.iter() {
                                    ctx.send(p, Msg::PreCommit { txn });
                                }
                                ctx.set_timer(
                                    Timer::AckTimeout { txn },
                                    ctx.params.ack_timeout_ticks,
                                );
                            }
                        }
                        Stage::Decided(o, _) => ctx.send(from, decision_msg(txn, o)),
                        Stage::PreCommitting | Stage::Asking => {}
                    },
                    Msg::VoteNo { .. } => {
                        if t.stage == Stage::Voting {
                            Self::coord_decide(ctx, txn, t, Outcome::Abort, Basis::Votes);
                        }
                    }
                    Msg::PreCommitAck { .. } => {
                        if t.stage == Stage::PreCommitting {
                            t.acked.insert(from);
                            if t.acked == t.participants {
                                Self::coord_decide(ctx, txn, t, Outcome::Commit, Basis::Votes);
                            }
                        }
                    }
                    Msg::HaveCommitted { .. } | Msg::DoCommit { .. } => {
                        t.done.insert(from);
                        match t.stage {
                            Stage::Decided(Outcome::Commit, _) => {
                                if t.done == t.participants {
                                    Self::coord_end(ctx, txn, t);
                                }
                            }
                            Stage::Decided(Outcome::Abort, _) => {}
                            Stage::Voting | Stage::PreCommitting | Stage::Asking => {
                                let basis = Basis::Told { from };
                                Self::coord_decide(ctx, txn, t, Outcome::Commit, basis);
                            }
                        }
                    }
                    Msg::DoAbort { .. } => {
                        if !matches!(t.stage, Stage::Decided(..)) {
                            let basis = Basis::Told { from };
                            Self::coord_decide(ctx, txn, t, Outcome::Abort, basis);
                        }
                    }
                    Msg::StateReport { recovered, .. } => {
                        if t.stage == Stage::Asking && recovered {
                            t.recovered_reports.insert(from);
                            if t.recovered_reports == t.participants {
                                let basis = Basis::TotalFailure;
                                Self::coord_decide(ctx, txn, t, Outcome::Commit, basis);
                            }
                        }
                    }
                    Msg::DecisionRequest { .. } => {
                        if let Stage::Decided(o, _) = t.stage {
                            ctx.send(from, decision_msg(txn, o));
                        }
                    }
                    Msg::CanCommit { .. } | Msg::PreCommit { .. } | Msg::StateRequest { .. } => {}
                }
            }
            Input::Timer(timer) => match timer {
                Timer::VoteTimeout { txn } => {
                    if let Some(t) = txns.get_mut(&txn) {
                        if t.stage == Stage::Voting {
                            Self::coord_decide(ctx, txn, t, Outcome::Abort, Basis::VoteTimeout);
                        }
                    }
                }
                Timer::AckTimeout { txn } => {
                    if let Some(t) = txns.get_mut(&txn) {
                        if t.stage == Stage::PreCommitting {
                            Self::coord_decide(ctx, txn, t, Outcome::Commit, Basis::AckTimeout);
                        }
                    }
                }
                Timer::Resend { txn } => {
                    if let Some(t) = txns.get_mut(&txn) {
                        if matches!(t.stage, Stage::Decided(Outcome::Commit, _)) && !t.ended {
                            Self::coord_send_commit(ctx, txn, t);
                        }
                    }
                }
                Timer::Ask { txn } => {
                    if let Some(t) = txns.get(&txn) {
                        if t.stage == Stage::Asking {
                            Self::coord_ask(ctx, txn, t.participants);
                        }
                    }
                }
                Timer::ParticipantTimeout { .. }
                | Timer::StateTimeout { .. }
                | Timer::LeaderAckTimeout { .. } => {}
            },
        }
    }

    // ---- participants ----

    /// Forces the decision and decides; a leader also tells every other participant.
    fn part_decide(
        ctx: &mut Ctx<'_, Self>,
        txn: TxnId,
        t: &mut PartTxn,
        outcome: Outcome,
        basis: Basis,
    ) {
        let was_leading = t.lead.take().is_some();
        t.status = Status::Decided(outcome, basis);
        ctx.persist(decision_record(txn, outcome, t.participants, basis));
        ctx.decide(Decision { txn, outcome, basis });
        for timer in [
            Timer::ParticipantTimeout { txn, on: t.leader },
            Timer::Ask { txn },
            Timer::StateTimeout { txn },
            Timer::LeaderAckTimeout { txn },
        ] {
            ctx.cancel_timer(timer);
        }
        let me = ctx.node;
        if was_leading {
            for p in t.participants.iter().filter(|p| *p != me) {
                ctx.send(p, decision_msg(txn, outcome));
            }
        }
        if basis == Basis::ParticipantTimeout && outcome == Outcome::Commit {
            // The course's rule: "commit(); broadcast('I have committed')".
            ctx.send(COORD, Msg::HaveCommitted { txn, by_timeout: true });
            for p in t.participants.iter().filter(|p| *p != me) {
                ctx.send(p, Msg::HaveCommitted { txn, by_timeout: true });
            }
        }
    }

    /// A decision heard from another node: adopted by whoever has not decided yet. A leader
    /// that hears one ends its termination with it (rules TR1/TR2) and passes it on.
    fn part_hear(
        ctx: &mut Ctx<'_, Self>,
        txn: TxnId,
        t: &mut PartTxn,
        from: NodeId,
        outcome: Outcome,
    ) {
        if t.status.outcome().is_some() {
            return;
        }
        let basis = if t.lead.is_some() {
            let rule = match outcome {
                Outcome::Commit => Rule::AnyCommitted,
                Outcome::Abort => Rule::AnyAborted,
            };
            Basis::Termination { rule }
        } else {
            Basis::Told { from }
        };
        Self::part_decide(ctx, txn, t, outcome, basis);
    }

    fn wait_on(ctx: &mut Ctx<'_, Self>, txn: TxnId, t: &mut PartTxn, on: NodeId) {
        if t.leader != on {
            ctx.cancel_timer(Timer::ParticipantTimeout { txn, on: t.leader });
        }
        t.leader = on;
        ctx.set_timer(Timer::ParticipantTimeout { txn, on }, ctx.params.participant_timeout_ticks);
    }

    fn ask_everyone(ctx: &mut Ctx<'_, Self>, txn: TxnId, participants: NodeSet) {
        ctx.send(COORD, Msg::DecisionRequest { txn });
        let me = ctx.node;
        for p in participants.iter().filter(|p| *p != me) {
            ctx.send(p, Msg::DecisionRequest { txn });
        }
        ctx.set_timer(Timer::Ask { txn }, ctx.params.resend_ticks);
    }

    /// The lowest-numbered participant not suspected.
    fn elect(t: &PartTxn, me: NodeId) -> NodeId {
        t.participants.without(t.suspects).iter().next().unwrap_or(me)
    }

    /// Elect mode: this participant becomes the leader and asks everyone for their state.
    fn start_lead(ctx: &mut Ctx<'_, Self>, txn: TxnId, t: &mut PartTxn) {
        let me = ctx.node;
        ctx.cancel_timer(Timer::ParticipantTimeout { txn, on: t.leader });
        t.leader = me;
        t.lead = Some(Lead {
            collecting: true,
            uncertain: NodeSet::default(),
            committable: NodeSet::default(),
            stale: NodeSet::default(),
            pre_committed: NodeSet::default(),
            acked: NodeSet::default(),
        });
        for p in t.participants.iter().filter(|p| *p != me) {
            ctx.send(p, Msg::StateRequest { txn, suspects: t.suspects });
        }
        ctx.set_timer(Timer::StateTimeout { txn }, ctx.params.state_timeout_ticks);
    }

    fn lead_record(lead: &mut Lead, from: NodeId, state: Report, recovered: bool) {
        if recovered {
            lead.stale.insert(from);
        } else {
            match state {
                Report::Uncertain => lead.uncertain.insert(from),
                Report::Committable => lead.committable.insert(from),
            }
        }
    }

    /// The states are in: apply Skeen's rules TR3/TR4 (TR1/TR2 apply as soon as a decision
    /// is heard).
    fn lead_evaluate(ctx: &mut Ctx<'_, Self>, txn: TxnId, t: &mut PartTxn) {
        let Some(lead) = &mut t.lead else { return };
        let me_committable = matches!(t.status, Status::Committable { .. });
        if lead.committable.is_empty() && !me_committable {
            let basis = Basis::Termination { rule: Rule::AllUncertain };
            Self::part_decide(ctx, txn, t, Outcome::Abort, basis);
            return;
        }
        // TR4: bring every uncertain participant (and itself) to committable, then commit.
        lead.collecting = false;
        lead.pre_committed = lead.uncertain;
        let targets = lead.uncertain;
        if !me_committable {
            ctx.persist(Record::PreCommitted { txn });
            t.status = Status::Committable { since: ctx.now };
        }
        if targets.is_empty() {
            let basis = Basis::Termination { rule: Rule::SomeCommittable };
            Self::part_decide(ctx, txn, t, Outcome::Commit, basis);
            return;
        }
        for p in targets.iter() {
            ctx.send(p, Msg::PreCommit { txn });
        }
        ctx.set_timer(Timer::LeaderAckTimeout { txn }, ctx.params.state_timeout_ticks);
    }

    fn on_part(ctx: &mut Ctx<'_, Self>, state: &mut State, input: Input<Self>) {
        let State::Part { txns } = state else { unreachable!("participant") };
        let me = ctx.node;
        let elect = ctx.params.termination == Termination::Elect;
        match input {
            Input::Message { from, msg } => {
                let txn = msg.txn();
                if let Msg::CanCommit { participants, transfer, .. } = msg {
                    match txns.get(&txn).map(|t| t.status) {
                        Some(Status::Decided(Outcome::Abort, _)) => {
                            ctx.send(from, Msg::VoteNo { txn })
                        }
                        Some(_) => ctx.send(from, Msg::VoteYes { txn }), // a duplicate
                        None if Self::votes_no(ctx, transfer) => {
                            let basis = Basis::VotedNo;
                            ctx.persist(Record::Abort { txn, participants, basis });
                            ctx.decide(Decision { txn, outcome: Outcome::Abort, basis });
                            txns.insert(
                                txn,
                                PartTxn {
                                    participants,
                                    status: Status::Decided(Outcome::Abort, basis),
                                    recovered: false,
                                    suspects: NodeSet::default(),
                                    leader: COORD,
                                    lead: None,
                                },
                            );
                            ctx.send(from, Msg::VoteNo { txn });
                        }
                        None => {
                            ctx.persist(Record::Prepared { txn, participants });
                            let mut t = PartTxn {
                                participants,
                                status: Status::Uncertain { since: ctx.now },
                                recovered: false,
                                suspects: NodeSet::default(),
                                leader: COORD,
                                lead: None,
                            };
                            ctx.send(from, Msg::VoteYes { txn });
                            Self::wait_on(ctx, txn, &mut t, COORD);
                            txns.insert(txn, t);
                        }
                    }
                    return;
                }
                let Some(t) = txns.get_mut(&txn) else {
                    match msg {
                        // Asked about a transaction it never voted on: it may abort it alone
                        // (forced first, so it can never vote yes on it later).
                        Msg::DecisionRequest { .. }
                        | Msg::StateRequest { .. }
                        | Msg::DoAbort { .. } => {
                            let basis = if matches!(msg, Msg::DoAbort { .. }) {
                                Basis::Told { from }
                            } else {
                                Basis::NeverVoted
                            };
                            let participants = NodeSet::default();
                            ctx.persist(Record::Abort { txn, participants, basis });
                            ctx.decide(Decision { txn, outcome: Outcome::Abort, basis });
                            txns.insert(
                                txn,
                                PartTxn {
                                    participants,
                                    status: Status::Decided(Outcome::Abort, basis),
                                    recovered: false,
                                    suspects: NodeSet::default(),
                                    leader: COORD,
                                    lead: None,
                                },
                            );
                            if !matches!(msg, Msg::DoAbort { .. }) {
                                ctx.send(from, Msg::DoAbort { txn });
                            }
                        }
                        _ => {}
                    }
                    return;
                };
                match msg {
                    Msg::CanCommit { .. } => unreachable!("handled above"),
                    Msg::PreCommit { .. } => match t.status {
                        // Only from the node it waits for: once it has reported to a
                        // leader, a late PreCommit from the old coordinator is ignored.
                        Status::Uncertain { .. }
                            if !t.recovered && from == t.leader && !t.suspects.contains(from) =>
                        {
                            ctx.persist(Record::PreCommitted { txn });
                            t.status = Status::Committable { since: ctx.now };
                            ctx.send(from, Msg::PreCommitAck { txn });
                            Self::wait_on(ctx, txn, t, from);
                        }
                        Status::Committable { .. } if !t.recovered && from == t.leader => {
                            ctx.send(from, Msg::PreCommitAck { txn }) // a duplicate
                        }
                        Status::Decided(Outcome::Commit, _) => {
                            ctx.send(from, Msg::PreCommitAck { txn })
                        }
                        _ => {}
                    },
                    Msg::DoCommit { .. } => {
                        Self::part_hear(ctx, txn, t, from, Outcome::Commit);
                        if from == COORD && t.status.outcome() == Some(Outcome::Commit) {
                            ctx.send(COORD, Msg::HaveCommitted { txn, by_timeout: false });
                        }
                    }
                    Msg::HaveCommitted { .. } => {
                        Self::part_hear(ctx, txn, t, from, Outcome::Commit)
                    }
                    Msg::DoAbort { .. } => Self::part_hear(ctx, txn, t, from, Outcome::Abort),
                    Msg::DecisionRequest { .. } => match t.status.report() {
                        None => {
                            let o = t.status.outcome().expect("decided");
                            ctx.send(from, decision_msg(txn, o));
                        }
                        // A recovered coordinator asks: tell it the state, so it can see a
                        // total failure. Peers get nothing until there is a decision.
                        Some(state) if from == COORD => ctx.send(
                            from,
                            Msg::StateReport {
                                txn,
                                state,
                                recovered: t.recovered,
                                suspects: t.suspects,
                            },
                        ),
                        Some(_) => {}
                    },
                    Msg::StateRequest { suspects, .. } => match t.status.report() {
                        None => {
                            let o = t.status.outcome().expect("decided");
                            ctx.send(from, decision_msg(txn, o));
                        }
                        Some(state) if t.recovered => ctx.send(
                            from,
                            Msg::StateReport { txn, state, recovered: true, suspects: t.suspects },
                        ),
                        Some(state) => {
                            if t.lead.is_some() && me.0 < from.0 {
                                return; // it leads itself, and outranks the asker
                            }
                            t.lead = None;
                            ctx.cancel_timer(Timer::StateTimeout { txn });
                            ctx.cancel_timer(Timer::LeaderAckTimeout { txn });
                            t.suspects =
                                NodeSet(t.suspects.0 | suspects.0).without(NodeSet(1 << me.0));
                            t.suspects.insert(COORD);
                            ctx.send(
                                from,
                                Msg::StateReport {
                                    txn,
                                    state,
                                    recovered: false,
                                    suspects: t.suspects,
                                },
                            );
                            Self::wait_on(ctx, txn, t, from);
                        }
                    },
                    Msg::StateReport { state, recovered, suspects, .. } => {
                        if let Some(o) = t.status.outcome() {
                            ctx.send(from, decision_msg(txn, o));
                            return;
                        }
                        if t.recovered || !elect {
                            return;
                        }
                        if t.lead.is_none() {
                            t.suspects =
                                NodeSet(t.suspects.0 | suspects.0).without(NodeSet(1 << me.0));
                            t.suspects.insert(COORD);
                            if Self::elect(t, me) != me {
                                return;
                            }
                            Self::start_lead(ctx, txn, t);
                        }
                        let everyone_reported = match &mut t.lead {
                            Some(lead) if lead.collecting => {
                                Self::lead_record(lead, from, state, recovered);
                                let reported = NodeSet(
                                    lead.uncertain.0
                                        | lead.committable.0
                                        | lead.stale.0
                                        | 1 << me.0,
                                );
                                t.participants.without(reported).is_empty()
                            }
                            _ => false,
                        };
                        if everyone_reported {
                            ctx.cancel_timer(Timer::StateTimeout { txn });
                            Self::lead_evaluate(ctx, txn, t);
                        }
                    }
                    Msg::PreCommitAck { .. } => {
                        let all_acked = match &mut t.lead {
                            Some(lead) if !lead.collecting => {
                                lead.acked.insert(from);
                                lead.pre_committed.without(lead.acked).is_empty()
                            }
                            _ => false,
                        };
                        if all_acked {
                            let basis = Basis::Termination { rule: Rule::SomeCommittable };
                            Self::part_decide(ctx, txn, t, Outcome::Commit, basis);
                        }
                    }
                    Msg::VoteYes { .. } | Msg::VoteNo { .. } => {}
                }
            }
            Input::Timer(timer) => match timer {
                Timer::ParticipantTimeout { txn, on } => {
                    let Some(t) = txns.get_mut(&txn) else { return };
                    if t.recovered || t.status.report().is_none() || t.leader != on {
                        return;
                    }
                    if !elect {
                        let outcome = match t.status {
                            Status::Committable { .. } => Outcome::Commit,
                            _ => Outcome::Abort,
                        };
                        Self::part_decide(ctx, txn, t, outcome, Basis::ParticipantTimeout);
                        return;
                    }
                    t.suspects.insert(on);
                    t.suspects.insert(COORD);
                    let next = Self::elect(t, me);
                    if next == me {
                        Self::start_lead(ctx, txn, t);
                    } else {
                        let state = t.status.report().expect("undecided");
                        ctx.send(
                            next,
                            Msg::StateReport { txn, state, recovered: false, suspects: t.suspects },
                        );
                        Self::wait_on(ctx, txn, t, next);
                    }
                }
                Timer::StateTimeout { txn } => {
                    let Some(t) = txns.get_mut(&txn) else { return };
                    if t.lead.as_ref().is_some_and(|l| l.collecting) {
                        Self::lead_evaluate(ctx, txn, t);
                    }
                }
                Timer::LeaderAckTimeout { txn } => {
                    let Some(t) = txns.get_mut(&txn) else { return };
                    if t.lead.as_ref().is_some_and(|l| !l.collecting) {
                        Self::part_decide(
                            ctx,
                            txn,
                            t,
                            Outcome::Commit,
                            Basis::Termination { rule: Rule::SomeCommittable },
                        );
                    }
                }
                Timer::Ask { txn } => {
                    let Some(t) = txns.get(&txn) else { return };
                    if t.status.report().is_some() {
                        Self::ask_everyone(ctx, txn, t.participants);
                    }
                }
                Timer::VoteTimeout { .. } | Timer::AckTimeout { .. } | Timer::Resend { .. } => {}
            },
            Input::Request(_) => {}
        }
    }
}

/// The decision `state` holds for `txn`, if any.
fn decided(state: &State, txn: TxnId) -> Option<Outcome> {
    match state {
        State::Coord { txns, .. } => match txns.get(&txn)?.stage {
            Stage::Decided(o, _) => Some(o),
            _ => None,
        },
        State::Part { txns } => txns.get(&txn)?.status.outcome(),
    }
}

/// Every node that decided by a timer, with the transaction, the outcome, the basis and
/// when: what the diagram marks on each side of a split decision.
pub fn timeout_decisions(world: &World<ThreePc>) -> Vec<(NodeId, TxnId, Outcome, Basis)> {
    let mut out = Vec::new();
    for (i, slot) in world.nodes.iter().enumerate() {
        for r in &slot.log {
            if let Some((txn, outcome, _, basis)) = r.decision() {
                if basis.is_timeout() {
                    out.push((NodeId(i as u32), txn, outcome, basis));
                }
            }
        }
    }
    out
}

impl Protocol for ThreePc {
    const NAME: &'static str = "three_pc";
    const MSG_KINDS: &'static [&'static str] = &[
        "can_commit",
        "vote_yes",
        "vote_no",
        "pre_commit",
        "pre_commit_ack",
        "do_commit",
        "have_committed",
        "do_abort",
        "state_request",
        "state_report",
        "decision_request",
    ];
    const RECORD_KINDS: &'static [&'static str] =
        &["epoch", "prepared", "pre_commit", "pre_committed", "commit", "abort", "end"];
    const PHASES: &'static [&'static str] = &[
        "idle",
        "collecting_votes",
        "pre_committing",
        "committing",
        "asking",
        "done",
        "working",
        "uncertain",
        "committable",
        "leading",
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
        PropertySpec {
            id: "decided_by_timeout",
            name: "Decided by timeout",
            kind: PropertyKind::Sometimes,
            about: "A node decided because a timer fired, not because it heard the outcome (each node's card says which timeout).",
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
            ("ack_timeout_ticks", params.ack_timeout_ticks),
            ("resend_ticks", params.resend_ticks),
            ("participant_timeout_ticks", params.participant_timeout_ticks),
            ("state_timeout_ticks", params.state_timeout_ticks),
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
            let mut txns: VecMap<TxnId, CoordTxn> = VecMap::new();
            let fresh = |participants, stage| CoordTxn {
                participants,
                stage,
                yes: NodeSet::default(),
                acked: NodeSet::default(),
                done: NodeSet::default(),
                ended: false,
                recovered_reports: NodeSet::default(),
            };
            for r in ctx.log {
                match r {
                    Record::PreCommit { txn, participants } => {
                        txns.insert(*txn, fresh(*participants, Stage::Asking));
                    }
                    Record::End { txn } => {
                        if let Some(t) = txns.get_mut(txn) {
                            t.ended = true;
                            t.done = t.participants;
                        }
                    }
                    _ => {
                        if let Some((txn, outcome, participants, basis)) = r.decision() {
                            txns.insert(txn, fresh(participants, Stage::Decided(outcome, basis)));
                        }
                    }
                }
            }
            let open: Vec<(TxnId, Stage, NodeSet)> = txns
                .iter()
                .filter(|(_, t)| !t.ended)
                .map(|(txn, t)| (*txn, t.stage, t.participants))
                .collect();
            for (txn, stage, participants) in open {
                match stage {
                    Stage::Decided(Outcome::Commit, _) => {
                        let t = txns.get_mut(&txn).expect("listed");
                        Self::coord_send_commit(ctx, txn, t);
                    }
                    Stage::Asking => Self::coord_ask(ctx, txn, participants),
                    _ => {}
                }
            }
            State::Coord { epoch, next_seq: 1, txns }
        } else {
            let mut txns: VecMap<TxnId, PartTxn> = VecMap::new();
            for r in ctx.log {
                let (txn, participants, status) = match r {
                    Record::Prepared { txn, participants } => {
                        (*txn, *participants, Status::Uncertain { since: ctx.now })
                    }
                    Record::PreCommitted { txn } => {
                        let Some(t) = txns.get(txn) else { continue };
                        (*txn, t.participants, Status::Committable { since: ctx.now })
                    }
                    _ => {
                        let Some((txn, outcome, participants, basis)) = r.decision() else {
                            continue;
                        };
                        let participants = txns.get(&txn).map_or(participants, |t| t.participants);
                        (txn, participants, Status::Decided(outcome, basis))
                    }
                };
                txns.insert(
                    txn,
                    PartTxn {
                        participants,
                        status,
                        recovered: true,
                        suspects: NodeSet::default(),
                        leader: COORD,
                        lead: None,
                    },
                );
            }
            let open: Vec<(TxnId, NodeSet)> = txns
                .iter()
                .filter(|(_, t)| t.status.report().is_some())
                .map(|(txn, t)| (*txn, t.participants))
                .collect();
            for (txn, participants) in open {
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
                Some((_, t)) => match t.stage {
                    Stage::Voting => Phase::CollectingVotes,
                    Stage::PreCommitting => Phase::PreCommitting,
                    Stage::Asking => Phase::Asking,
                    Stage::Decided(Outcome::Commit, _) => Phase::Committing,
                    // Nothing more to do: DoAbort is not acknowledged (whoever missed it
                    // times out, terminates or asks).
                    Stage::Decided(Outcome::Abort, _) => Phase::Done,
                },
            },
            State::Part { txns } => match txns.last_key_value() {
                None => Phase::Working,
                Some((_, t)) if t.lead.is_some() => Phase::Leading,
                Some((_, t)) => match t.status {
                    Status::Uncertain { .. } => Phase::Uncertain,
                    Status::Committable { .. } => Phase::Committable,
                    Status::Decided(Outcome::Commit, _) => Phase::Committed,
                    Status::Decided(Outcome::Abort, _) => Phase::Aborted,
                },
            },
        }
    }

    fn view(world: &World<Self>, node: NodeId) -> NodeView {
        let slot = world.node(node);
        let mut v = world.base_view(node);
        if let Some(decided_by) = timeout_decisions(world)
            .into_iter()
            .filter(|(n, ..)| *n == node)
            .map(|(_, txn, o, b)| format!("{o} {txn}{}", b.suffix()))
            .reduce(|a, b| format!("{a}; {b}"))
        {
            v.fields.push(("decided by timeout".into(), decided_by));
        }
        let Some(state) = &slot.state else { return v };
        match state {
            State::Coord { epoch, txns, .. } => {
                v.fields.push(("epoch".into(), epoch.to_string()));
                if let Some((txn, t)) = txns.last_key_value() {
                    v.fields.push(("transaction".into(), txn.to_string()));
                    let marks = |set: NodeSet| {
                        t.participants
                            .iter()
                            .map(|p| {
                                let mark = if set.contains(p) { "yes" } else { "?" };
                                format!("{} {mark}", world.name(p))
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    match t.stage {
                        Stage::Voting => v.fields.push(("votes".into(), marks(t.yes))),
                        Stage::PreCommitting => {
                            v.fields.push(("PreCommit acks".into(), marks(t.acked)))
                        }
                        Stage::Asking => v.fields.push((
                            "asking".into(),
                            format!(
                                "PRE-COMMIT logged, no decision: asking the participants (recovered and undecided: {})",
                                names(t.recovered_reports)
                            ),
                        )),
                        Stage::Decided(Outcome::Commit, _) => {
                            v.fields.push(("have_committed".into(), marks(t.done)))
                        }
                        Stage::Decided(Outcome::Abort, _) => {}
                    }
                    if let Stage::Decided(o, b) = t.stage {
                        v.decision = Some(format!("{o} {txn}{}", b.suffix()));
                    }
                }
            }
            State::Part { txns } => {
                for (txn, t) in txns {
                    let mut text = match t.status {
                        Status::Uncertain { since } => {
                            v.locks.push(format!("{txn} (held since t={since})"));
                            format!("uncertain since t={since} (voted yes)")
                        }
                        Status::Committable { since } => {
                            v.locks.push(format!("{txn} (held since t={since})"));
                            format!("committable since t={since} (everyone voted yes)")
                        }
                        Status::Decided(o, b) => format!("{o}{}", b.suffix()),
                    };
                    if t.status.report().is_some() {
                        if t.recovered {
                            text.push_str("; recovered: may not decide alone, asks the others");
                        } else if world.params.termination == Termination::Elect {
                            if !t.suspects.is_empty() {
                                text.push_str(&format!("; suspects {}", names(t.suspects)));
                            }
                            if let Some(lead) = &t.lead {
                                text.push_str(&format!(
                                    "; leads the termination: uncertain {}, committable {}, recovered {}",
                                    names(lead.uncertain),
                                    names(lead.committable),
                                    names(lead.stale)
                                ));
                            } else {
                                text.push_str(&format!("; waits for {}", node_name(t.leader)));
                            }
                        }
                    }
                    v.fields.push((txn.to_string(), text));
                }
                if let Some((txn, t)) = txns.last_key_value() {
                    if let Status::Decided(o, b) = t.status {
                        v.decision = Some(format!("{o} {txn}{}", b.suffix()));
                    }
                }
            }
        }
        v.blocked = Self::blocked(world, node).map(|b| b.why);
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
                let how = |b: Basis| b.suffix();
                let common = crate::common::Decision { txn: d.txn, outcome: d.outcome };
                if let Some((other, o)) = monitor.decisions.record(node, common, event.time) {
                    let other_basis =
                        monitor.bases.get(&(d.txn, other)).map(|b| how(*b)).unwrap_or_default();
                    findings.report(AC1, || {
                        format!(
                            "{} decided {}{} on {} but {} decided {o}{other_basis}",
                            world.name(node),
                            d.outcome,
                            how(d.basis),
                            d.txn,
                            world.name(other)
                        )
                    });
                }
                monitor.bases.entry((d.txn, node)).or_insert(d.basis);
                if d.basis.is_timeout() {
                    findings.report(DECIDED_BY_TIMEOUT, || {
                        format!(
                            "{} decided {}{} on {}",
                            world.name(node),
                            d.outcome,
                            how(d.basis),
                            d.txn
                        )
                    });
                }
                match d.outcome {
                    Outcome::Commit => {
                        findings.report(COMMIT_REACHABLE, || {
                            format!("{} decided COMMIT on {}", world.name(node), d.txn)
                        });
                        let unprepared: Vec<&str> = ThreePc::participants(&world.params)
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
        let state = world.node(node).state.as_ref()?;
        let all = ThreePc::participants(&world.params);
        // Can node `n` give `node` a decision on `txn`, now or later by its own rules?
        let helpful = |txn: TxnId, n: NodeId| {
            if n == node || !world.can_talk(node, n) {
                return false;
            }
            match world.node(n).state.as_ref() {
                None => false,
                Some(State::Coord { txns, .. }) => match txns.get(&txn) {
                    None => true, // it answers abort
                    Some(t) => match t.stage {
                        Stage::Decided(..) | Stage::Voting | Stage::PreCommitting => true,
                        // It decides only once every participant answers "recovered".
                        Stage::Asking => all.iter().all(|p| world.can_talk(COORD, p)),
                    },
                },
                Some(State::Part { txns }) => match txns.get(&txn) {
                    None => true, // it never voted: asked, it aborts
                    Some(t) => t.status.outcome().is_some() || !t.recovered,
                },
            }
        };
        let (txn, since, what) = match state {
            State::Coord { txns, .. } => {
                let (txn, _) = txns.iter().find(|(_, t)| t.stage == Stage::Asking)?;
                (
                    *txn,
                    world.node(node).down_since.unwrap_or(0),
                    "recovered with PRE-COMMIT and no decision",
                )
            }
            State::Part { txns } => {
                let (txn, t) =
                    txns.iter().find(|(_, t)| t.recovered && t.status.report().is_some())?;
                let since = match t.status {
                    Status::Uncertain { since } | Status::Committable { since } => since,
                    Status::Decided(..) => unreachable!("undecided"),
                };
                (*txn, since, "recovered undecided: it may not decide alone")
            }
        };
        let others: Vec<NodeId> =
            std::iter::once(COORD).chain(all.iter()).filter(|n| *n != node).collect();
        if others.iter().any(|n| helpful(txn, *n)) {
            return None;
        }
        let waiting_for: Vec<NodeId> = others;
        let who: Vec<&str> = waiting_for.iter().map(|n| world.name(*n)).collect();
        Some(Blocked {
            why: format!(
                "{what} on {txn} since t={since}; no reachable node knows or can decide the outcome — waiting for {}",
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
                State::Coord { txns, .. } => txns
                    .iter()
                    .find(|(_, t)| !matches!(t.stage, Stage::Decided(..)))
                    .map(|(txn, _)| *txn),
                State::Part { txns } => {
                    txns.iter().find(|(_, t)| t.status.report().is_some()).map(|(txn, _)| *txn)
                }
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
                "it voted yes and is now uncertain: it waits for PreCommit or DoAbort".into()
            }
            EventKind::Persist { record: Record::PreCommit { .. } } => {
                "every participant voted yes: the coordinator moves to pre-commit".into()
            }
            EventKind::Persist { record: Record::PreCommitted { .. } } => {
                "it is committable: it knows everyone voted yes".into()
            }
            EventKind::Persist { record: Record::End { .. } } => {
                "every participant has committed: the coordinator may forget the transaction".into()
            }
            EventKind::Persist { record: Record::Epoch { .. } } => {
                "a new epoch keeps new transaction ids unique".into()
            }
            EventKind::Decide { decision } => match decision.basis {
                Basis::ParticipantTimeout => match decision.outcome {
                    Outcome::Commit => "it was committable and heard nothing in time: by the timeout rule it commits alone".into(),
                    Outcome::Abort => "it was uncertain (no PreCommit) and heard nothing in time: by the timeout rule it aborts alone".into(),
                },
                Basis::AckTimeout => "a PreCommit ack is missing, but everyone voted yes: Skeen's rule commits, and the silent participants learn by termination".into(),
                Basis::VoteTimeout => "a vote is missing: the coordinator aborts".into(),
                Basis::Termination { rule } => format!("Skeen's termination rule: {}", rule.describe()),
                Basis::TotalFailure => "every participant is recovered and undecided, so nobody has decided and everyone voted yes: the coordinator commits".into(),
                Basis::Told { from } if from != COORD && node != COORD => format!("{} told it", node_name(from)),
                _ => return None,
            },
            EventKind::TimerFire { timer: Timer::ParticipantTimeout { on, .. } } => {
                format!("it heard nothing from {} in time", node_name(*on))
            }
            EventKind::TimerFire { timer: Timer::AckTimeout { .. } } => {
                "a PreCommit ack is missing".into()
            }
            EventKind::TimerFire { timer: Timer::VoteTimeout { .. } } => {
                "a vote is missing".into()
            }
            EventKind::TimerFire { timer: Timer::StateTimeout { .. } } => {
                "the states are in: the leader applies Skeen's rules".into()
            }
            EventKind::Send { msg: Msg::StateRequest { .. }, .. } => {
                "it is the lowest-numbered participant not suspected: it leads the termination protocol".into()
            }
            EventKind::Send { msg: Msg::StateReport { .. }, to, .. } if *to != COORD => {
                format!("it reports its state to {}, the lowest-numbered participant it does not suspect", node_name(*to))
            }
            EventKind::Send { msg: Msg::DecisionRequest { .. }, .. } => {
                "recovered without a decision: it may not decide alone, so it asks".into()
            }
            _ => return None,
        })
    }
}
