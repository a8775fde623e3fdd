//! Try-Confirm-Cancel over the checkout's services (the same `saga::service` code: local
//! data and a dedup table folded from each service's log).
//!
//! Node 0 is the coordinator (`coord`); then `inventory`, `payment`, `shipping`.
//! - Try: the coordinator forces BEGIN, then asks every service to *try* at once. A try
//!   holds resources without making them final (stock held, money frozen, shipment
//!   pending): reserved but uncommitted state is visible, a partial isolation.
//! - If every try succeeds, the coordinator forces CONFIRM and sends Confirm to every
//!   service; if one fails or does not answer within `try_timeout_ticks`, it forces CANCEL
//!   and sends Cancel. The decision is re-sent every `retry_ticks` until every service has
//!   acknowledged (then END). A coordinator that recovers with BEGIN and no decision
//!   cancels; with a decision, it re-sends it.
//! - Confirm and cancel are idempotent (keyed on transaction id + step).
//! - Empty cancel: a Cancel for a try that never arrived (lost, delayed, or the service
//!   was down). The service forces CANCELLED with nothing to release, answers ok, and
//!   remembers it.
//! - Hanging try: a Try that arrives after its Cancel. Holding now would hold resources
//!   that no Confirm or Cancel will ever release; the remembered cancel makes the service
//!   refuse it. Both anomalies are shown in the narration, the cards and as witnessed
//!   sometimes-properties; `no_hanging_hold` checks that no hold is ever placed after its
//!   cancel.

use crate::saga::service::{
    Books, Confirm, Forward, Key, Order, Rules, SagaId, Step, SvcRecord, Undo,
};
use crate::saga::Checkout;
use commitscope_engine::protocol::ParamError;
use commitscope_engine::vecmap::{VecMap, VecSet};
use commitscope_engine::{
    Blocked, Ctx, Event, EventKind, Findings, Input, Kind, NodeId, NodeSpec, NodeView,
    PropertyKind, PropertySpec, Protocol, Time, World,
};
use serde::{Deserialize, Serialize};
use std::fmt;

pub const COORD: NodeId = NodeId(0);

fn service_node(step: Step) -> NodeId {
    crate::saga::service_node(step)
}

fn step_of(node: NodeId) -> Option<Step> {
    Step::ALL.get((node.0 as usize).checked_sub(1)?).copied()
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Tcc;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// The coordinator cancels if a try has not answered this long after it was sent.
    pub try_timeout_ticks: Time,
    /// The decision is re-sent to services that have not acknowledged this often.
    pub retry_ticks: Time,
    pub stock: VecMap<String, u64>,
    pub balances: VecMap<String, u64>,
    pub decline_users: Vec<String>,
    pub decline_amount: u64,
    pub shipping_down: bool,
    pub idempotency: bool,
}

impl Default for Params {
    fn default() -> Self {
        let s = crate::saga::Params::default();
        Params {
            try_timeout_ticks: 60,
            retry_ticks: 30,
            stock: s.stock,
            balances: s.balances,
            decline_users: s.decline_users,
            decline_amount: s.decline_amount,
            shipping_down: false,
            idempotency: true,
        }
    }
}

impl Params {
    pub fn rules(&self) -> Rules<'_> {
        Rules {
            stock: &self.stock,
            balances: &self.balances,
            decline_users: &self.decline_users,
            decline_amount: self.decline_amount,
            shipping_down: self.shipping_down,
            idempotency: self.idempotency,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    Confirm,
    Cancel,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Confirm => "CONFIRM",
            Outcome::Cancel => "CANCEL",
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Msg {
    Try {
        step: Step,
        order: Order,
    },
    Confirm {
        step: Step,
        order: Order,
    },
    Cancel {
        step: Step,
        order: Order,
    },
    TryOk {
        txn: SagaId,
        step: Step,
        cached: bool,
    },
    /// `hanging`: refused because its cancel came first.
    TryFailed {
        txn: SagaId,
        step: Step,
        reason: String,
        cached: bool,
        hanging: bool,
    },
    Confirmed {
        txn: SagaId,
        step: Step,
        cached: bool,
    },
    /// `empty`: nothing was held (an empty cancel).
    Cancelled {
        txn: SagaId,
        step: Step,
        empty: bool,
        cached: bool,
    },
}

impl Kind for Msg {
    fn kind(&self) -> &'static str {
        match self {
            Msg::Try { .. } => "try",
            Msg::Confirm { .. } => "confirm",
            Msg::Cancel { .. } => "cancel",
            Msg::TryOk { .. } => "try_ok",
            Msg::TryFailed { .. } => "try_failed",
            Msg::Confirmed { .. } => "confirmed",
            Msg::Cancelled { .. } => "cancelled",
        }
    }
}

impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = |c: &bool| if *c { ", cached" } else { "" };
        match self {
            Msg::Try { step, order } => write!(f, "Try({} {step})", order.saga),
            Msg::Confirm { step, order } => write!(f, "Confirm({} {step})", order.saga),
            Msg::Cancel { step, order } => write!(f, "Cancel({} {step})", order.saga),
            Msg::TryOk { txn, step, cached } => write!(f, "TryOk({txn} {step}{})", c(cached)),
            Msg::TryFailed { txn, step, reason, cached, .. } => {
                write!(f, "TryFailed({txn} {step}: {reason}{})", c(cached))
            }
            Msg::Confirmed { txn, step, cached } => {
                write!(f, "Confirmed({txn} {step}{})", c(cached))
            }
            Msg::Cancelled { txn, step, empty, cached } => {
                let e = if *empty { ", empty" } else { "" };
                write!(f, "Cancelled({txn} {step}{e}{})", c(cached))
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CoordRecord {
    Begin { order: Order },
    Decision { txn: SagaId, outcome: Outcome, reason: String },
    End { txn: SagaId },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum Record {
    Coord(CoordRecord),
    Svc(SvcRecord),
}

impl Kind for Record {
    fn kind(&self) -> &'static str {
        match self {
            Record::Coord(CoordRecord::Begin { .. }) => "begin",
            Record::Coord(CoordRecord::Decision { outcome: Outcome::Confirm, .. }) => "confirm",
            Record::Coord(CoordRecord::Decision { outcome: Outcome::Cancel, .. }) => "cancel",
            Record::Coord(CoordRecord::End { .. }) => "end",
            Record::Svc(r) => r.kind(),
        }
    }
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Record::Coord(CoordRecord::Begin { order }) => write!(f, "BEGIN {order}"),
            Record::Coord(CoordRecord::Decision { txn, outcome, reason }) => {
                write!(f, "{outcome} {txn}: {reason}")
            }
            Record::Coord(CoordRecord::End { txn }) => write!(f, "END {txn}"),
            Record::Svc(r) => r.fmt(f),
        }
    }
}

fn svc(r: &Record) -> Option<&SvcRecord> {
    match r {
        Record::Svc(s) => Some(s),
        Record::Coord(_) => None,
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Timer {
    TryTimeout { txn: SagaId },
    Resend { txn: SagaId },
}

impl Kind for Timer {
    fn kind(&self) -> &'static str {
        match self {
            Timer::TryTimeout { .. } => "try_timeout",
            Timer::Resend { .. } => "resend",
        }
    }
}

impl fmt::Display for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timer::TryTimeout { txn } => write!(f, "try-timeout({txn})"),
            Timer::Resend { txn } => write!(f, "resend({txn})"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct TccEnd {
    pub txn: SagaId,
    pub outcome: Outcome,
}

impl fmt::Display for TccEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.outcome, self.txn)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Idle,
    Trying,
    Confirming,
    Cancelling,
    Done,
    Serving,
}

impl Kind for Phase {
    fn kind(&self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Trying => "trying",
            Phase::Confirming => "confirming",
            Phase::Cancelling => "cancelling",
            Phase::Done => "done",
            Phase::Serving => "serving",
        }
    }
}

/// One transaction as the coordinator drives it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TxnRun {
    pub order: Order,
    pub tried: VecSet<Step>,
    pub decision: Option<(Outcome, String)>,
    pub acked: VecSet<Step>,
    pub ended: bool,
}

impl TxnRun {
    pub fn from_log(log: &[Record]) -> VecMap<SagaId, TxnRun> {
        let mut txns = VecMap::new();
        for r in log {
            match r {
                Record::Coord(CoordRecord::Begin { order }) => {
                    txns.insert(
                        order.saga.clone(),
                        TxnRun {
                            order: order.clone(),
                            tried: VecSet::new(),
                            decision: None,
                            acked: VecSet::new(),
                            ended: false,
                        },
                    );
                }
                Record::Coord(CoordRecord::Decision { txn, outcome, reason }) => {
                    if let Some(t) = txns.get_mut(txn) {
                        t.decision = Some((*outcome, reason.clone()));
                    }
                }
                Record::Coord(CoordRecord::End { txn }) => {
                    if let Some(t) = txns.get_mut(txn) {
                        t.ended = true;
                        t.acked = Step::ALL.into_iter().collect();
                    }
                }
                Record::Svc(_) => {}
            }
        }
        txns
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum State {
    Coord { txns: VecMap<SagaId, TxnRun>, next_seq: u32 },
    Svc { hits: VecMap<Key, u32>, hanging: VecSet<Key>, served: bool },
}

#[derive(Clone, Debug, Default)]
pub struct Monitor {
    ended: VecMap<SagaId, Outcome>,
}

const ALL_OR_NOTHING: usize = 0;
const NO_HANGING_HOLD: usize = 1;
const NO_DOUBLE: usize = 2;
const CONSERVED: usize = 3;
const CONFIRM_REACHABLE: usize = 4;
const CANCEL_REACHABLE: usize = 5;
const EMPTY_CANCEL: usize = 6;
const HANGING_TRY: usize = 7;

impl Tcc {
    fn decide(ctx: &mut Ctx<'_, Self>, t: &mut TxnRun, outcome: Outcome, reason: String) {
        let txn = t.order.saga.clone();
        t.decision = Some((outcome, reason.clone()));
        ctx.persist(Record::Coord(CoordRecord::Decision { txn: txn.clone(), outcome, reason }));
        ctx.decide(TccEnd { txn: txn.clone(), outcome });
        ctx.cancel_timer(Timer::TryTimeout { txn });
        Self::send_decision(ctx, t);
    }

    fn send_decision(ctx: &mut Ctx<'_, Self>, t: &TxnRun) {
        let Some((outcome, _)) = &t.decision else { return };
        for step in Step::ALL.into_iter().filter(|s| !t.acked.contains(s)) {
            let order = t.order.clone();
            let msg = match outcome {
                Outcome::Confirm => Msg::Confirm { step, order },
                Outcome::Cancel => Msg::Cancel { step, order },
            };
            ctx.send(service_node(step), msg);
        }
        ctx.set_timer(Timer::Resend { txn: t.order.saga.clone() }, ctx.params.retry_ticks);
    }

    fn acked(ctx: &mut Ctx<'_, Self>, t: &mut TxnRun, step: Step, outcome: Outcome) {
        if t.ended || t.decision.as_ref().map(|d| d.0) != Some(outcome) {
            return;
        }
        t.acked.insert(step);
        if t.acked.len() == Step::ALL.len() {
            t.ended = true;
            let txn = t.order.saga.clone();
            ctx.persist(Record::Coord(CoordRecord::End { txn: txn.clone() }));
            ctx.cancel_timer(Timer::Resend { txn });
        }
    }

    fn on_coord(ctx: &mut Ctx<'_, Self>, state: &mut State, input: Input<Self>) {
        let State::Coord { txns, next_seq } = state else { unreachable!("the coordinator") };
        match input {
            Input::Request(req) => {
                let id = match &req.saga {
                    Some(id) => SagaId(id.clone()),
                    None => loop {
                        let id = SagaId(format!("t{next_seq}"));
                        *next_seq += 1;
                        if !txns.contains_key(&id) {
                            break id;
                        }
                    },
                };
                if txns.contains_key(&id) {
                    return; // a client retry
                }
                let order = Order {
                    saga: id.clone(),
                    user: req.user.clone(),
                    item: req.item.clone(),
                    qty: req.qty,
                    amount: req.amount,
                    fail_payment: req.fail_payment,
                    fail_shipping: req.fail_shipping,
                };
                ctx.persist(Record::Coord(CoordRecord::Begin { order: order.clone() }));
                for step in Step::ALL {
                    ctx.send(service_node(step), Msg::Try { step, order: order.clone() });
                }
                ctx.set_timer(Timer::TryTimeout { txn: id.clone() }, ctx.params.try_timeout_ticks);
                txns.insert(
                    id,
                    TxnRun {
                        order,
                        tried: VecSet::new(),
                        decision: None,
                        acked: VecSet::new(),
                        ended: false,
                    },
                );
            }
            Input::Message { msg, .. } => match msg {
                Msg::TryOk { txn, step, .. } => {
                    let Some(t) = txns.get_mut(&txn) else { return };
                    if t.decision.is_some() {
                        return;
                    }
                    t.tried.insert(step);
                    if t.tried.len() == Step::ALL.len() {
                        Self::decide(ctx, t, Outcome::Confirm, "every try succeeded".into());
                    }
                }
                Msg::TryFailed { txn, step, reason, .. } => {
                    let Some(t) = txns.get_mut(&txn) else { return };
                    if t.decision.is_none() {
                        Self::decide(
                            ctx,
                            t,
                            Outcome::Cancel,
                            format!("{step} try failed: {reason}"),
                        );
                    }
                }
                Msg::Confirmed { txn, step, .. } => {
                    if let Some(t) = txns.get_mut(&txn) {
                        Self::acked(ctx, t, step, Outcome::Confirm);
                    }
                }
                Msg::Cancelled { txn, step, .. } => {
                    if let Some(t) = txns.get_mut(&txn) {
                        Self::acked(ctx, t, step, Outcome::Cancel);
                    }
                }
                _ => {}
            },
            Input::Timer(Timer::TryTimeout { txn }) => {
                let Some(t) = txns.get_mut(&txn) else { return };
                if t.decision.is_none() {
                    let silent: Vec<&str> = Step::ALL
                        .iter()
                        .filter(|s| !t.tried.contains(s))
                        .map(|s| s.service())
                        .collect();
                    let reason = format!("try timed out: no answer from {}", silent.join(", "));
                    Self::decide(ctx, t, Outcome::Cancel, reason);
                }
            }
            Input::Timer(Timer::Resend { txn }) => {
                if let Some(t) = txns.get(&txn) {
                    if !t.ended {
                        Self::send_decision(ctx, t);
                    }
                }
            }
        }
    }

    fn on_svc(ctx: &mut Ctx<'_, Self>, state: &mut State, input: Input<Self>) {
        let Some(me) = step_of(ctx.node) else { return };
        let State::Svc { hits, hanging, served } = state else { unreachable!("a service") };
        let Input::Message { from, msg } = input else { return };
        let rules = ctx.params.rules();
        let books = Books::from_log(me, &rules, ctx.log, svc);
        let mut hit = |key: Key| *hits.entry(key).or_insert(0) += 1;
        *served = true;
        let reply = match msg {
            Msg::Try { step, order } if step == me => {
                let txn = order.saga.clone();
                match books.forward(step, &order, &rules, true) {
                    Forward::Cached(Ok(())) => {
                        hit(order.key(step));
                        Msg::TryOk { txn, step, cached: true }
                    }
                    Forward::Cached(Err(reason)) => {
                        hit(order.key(step));
                        Msg::TryFailed { txn, step, reason, cached: true, hanging: false }
                    }
                    Forward::AfterUndo => {
                        hanging.insert(order.key(step));
                        Msg::TryFailed {
                            txn,
                            step,
                            reason: "hanging try: its cancel came first".into(),
                            cached: false,
                            hanging: true,
                        }
                    }
                    Forward::Act(rec) => {
                        let reply = match &rec {
                            SvcRecord::Refused { reason, .. } => Msg::TryFailed {
                                txn,
                                step,
                                reason: reason.clone(),
                                cached: false,
                                hanging: false,
                            },
                            _ => Msg::TryOk { txn, step, cached: false },
                        };
                        ctx.persist(Record::Svc(rec));
                        reply
                    }
                }
            }
            Msg::Confirm { step, order } if step == me => {
                let txn = order.saga.clone();
                match books.confirm(step, &order, &rules) {
                    Confirm::Cached => {
                        hit(order.key(step));
                        Msg::Confirmed { txn, step, cached: true }
                    }
                    Confirm::Act(rec) => {
                        ctx.persist(Record::Svc(rec));
                        Msg::Confirmed { txn, step, cached: false }
                    }
                    Confirm::NotTried => return, // only a broken coordinator confirms this
                }
            }
            Msg::Cancel { step, order } if step == me => {
                let txn = order.saga.clone();
                match books.undo(step, &order, &rules, true) {
                    Undo::Cached => {
                        hit(order.key(step));
                        let empty =
                            books.table.get(&order.key(step)).is_some_and(|e| e.forward.is_none());
                        Msg::Cancelled { txn, step, empty, cached: true }
                    }
                    Undo::Act(rec) => {
                        let empty = matches!(rec, SvcRecord::Cancelled { empty: true, .. });
                        ctx.persist(Record::Svc(rec));
                        Msg::Cancelled { txn, step, empty, cached: false }
                    }
                }
            }
            _ => return,
        };
        ctx.send(from, reply);
    }

    /// Is `step` of `txn` held, confirmed, or neither, at its service now?
    fn state_at(books: &Books, txn: &SagaId, step: Step) -> (bool, bool) {
        let e = books.table.get(&Key { saga: txn.clone(), step });
        let live = e.is_some_and(|e| e.live());
        let confirmed = e.is_some_and(|e| e.confirmed && e.live());
        (live, confirmed)
    }

    fn all_books(world: &World<Self>) -> Vec<Books> {
        let rules = world.params.rules();
        Step::ALL
            .iter()
            .map(|s| Books::from_log(*s, &rules, &world.node(service_node(*s)).log, svc))
            .collect()
    }

    fn check_outcome(books: &[Books], txn: &SagaId, outcome: Outcome) -> Result<(), String> {
        for (i, step) in Step::ALL.iter().enumerate() {
            let (live, confirmed) = Self::state_at(&books[i], txn, *step);
            match outcome {
                Outcome::Confirm if !confirmed => {
                    return Err(format!(
                        "{txn} was confirmed but {} has not confirmed its {step}",
                        step.service()
                    ))
                }
                Outcome::Cancel if live => {
                    return Err(format!(
                        "{txn} was cancelled but {} still holds its {step}",
                        step.service()
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

impl Protocol for Tcc {
    const NAME: &'static str = "tcc";
    const MSG_KINDS: &'static [&'static str] =
        &["try", "confirm", "cancel", "try_ok", "try_failed", "confirmed", "cancelled"];
    const RECORD_KINDS: &'static [&'static str] =
        &["begin", "confirm", "cancel", "end", "tried", "refused", "confirmed", "cancelled"];
    const PHASES: &'static [&'static str] =
        &["idle", "trying", "confirming", "cancelling", "done", "serving"];
    const PROPERTIES: &'static [PropertySpec] = &[
        PropertySpec {
            id: "all_or_nothing",
            name: "All or nothing",
            kind: PropertyKind::Always,
            about: "No transaction is confirmed at one service and cancelled at another; a confirm needs every try; once every service acknowledged, all are confirmed or none holds anything.",
        },
        PropertySpec {
            id: "no_hanging_hold",
            name: "No hanging hold",
            kind: PropertyKind::Always,
            about: "A service never holds resources for a try that arrives after its cancel (the hanging try is refused).",
        },
        PropertySpec {
            id: "no_double_effect",
            name: "No effect applied twice",
            kind: PropertyKind::Always,
            about: "Under retries and duplicates, no try, confirm or cancel takes effect twice.",
        },
        PropertySpec {
            id: "conserved",
            name: "Money and stock conserved",
            kind: PropertyKind::Always,
            about: "Stock, holds, balances and frozen money equal the initial amounts moved by each live try or confirm, counted once.",
        },
        PropertySpec {
            id: "confirm_reachable",
            name: "Confirm is reachable",
            kind: PropertyKind::Sometimes,
            about: "Some transaction is confirmed in this run.",
        },
        PropertySpec {
            id: "cancel_reachable",
            name: "Cancel is reachable",
            kind: PropertyKind::Sometimes,
            about: "Some transaction is cancelled in this run.",
        },
        PropertySpec {
            id: "empty_cancel",
            name: "Empty cancel",
            kind: PropertyKind::Sometimes,
            about: "A cancel arrives before its try: the service records it with nothing to release and answers ok.",
        },
        PropertySpec {
            id: "hanging_try",
            name: "Hanging try refused",
            kind: PropertyKind::Sometimes,
            about: "A try arrives after its cancel and is refused.",
        },
    ];

    type Params = Params;
    type State = State;
    type Record = Record;
    type Msg = Msg;
    type Timer = Timer;
    type Request = Checkout;
    type Decision = TccEnd;
    type Phase = Phase;
    type Monitor = Monitor;

    fn validate(params: &Params) -> Result<(), ParamError> {
        crate::common::check_ticks(&[
            ("try_timeout_ticks", params.try_timeout_ticks),
            ("retry_ticks", params.retry_ticks),
        ])
    }

    fn nodes(_params: &Params) -> Vec<NodeSpec> {
        let mut nodes = vec![NodeSpec { name: "coord".into(), role: "TCC coordinator".into() }];
        nodes.extend(Step::ALL.iter().map(|s| NodeSpec {
            name: s.service().into(),
            role: format!("{} service", s.service()),
        }));
        nodes
    }

    fn init(ctx: &Ctx<'_, Self>) -> State {
        if ctx.node == COORD {
            State::Coord { txns: VecMap::new(), next_seq: 1 }
        } else {
            State::Svc { hits: VecMap::new(), hanging: VecSet::new(), served: false }
        }
    }

    fn on_input(ctx: &mut Ctx<'_, Self>, state: &mut State, input: Input<Self>) {
        match state {
            State::Coord { .. } => Self::on_coord(ctx, state, input),
            State::Svc { .. } => Self::on_svc(ctx, state, input),
        }
    }

    fn on_recover(ctx: &mut Ctx<'_, Self>) -> State {
        if ctx.node != COORD {
            let served = ctx.log.iter().any(|r| matches!(r, Record::Svc(_)));
            return State::Svc { hits: VecMap::new(), hanging: VecSet::new(), served };
        }
        let mut txns = TxnRun::from_log(ctx.log);
        for t in txns.values_mut() {
            if t.ended {
                continue;
            }
            if t.decision.is_none() {
                // The tries' answers were volatile: cancel (idempotent, and safe even where
                // a try never arrived — an empty cancel).
                Self::decide(
                    ctx,
                    t,
                    Outcome::Cancel,
                    "the coordinator restarted before deciding".into(),
                );
            } else {
                Self::send_decision(ctx, t);
            }
        }
        let next_seq = txns.len() as u32 + 1;
        State::Coord { txns, next_seq }
    }

    fn phase(state: &State) -> Phase {
        match state {
            State::Coord { txns, .. } => {
                let open: Vec<&TxnRun> = txns.values().filter(|t| !t.ended).collect();
                if open.iter().any(|t| t.decision.is_none()) {
                    Phase::Trying
                } else if open.iter().any(|t| matches!(t.decision, Some((Outcome::Cancel, _)))) {
                    Phase::Cancelling
                } else if !open.is_empty() {
                    Phase::Confirming
                } else if txns.is_empty() {
                    Phase::Idle
                } else {
                    Phase::Done
                }
            }
            State::Svc { served, .. } => {
                if *served {
                    Phase::Serving
                } else {
                    Phase::Idle
                }
            }
        }
    }

    fn view(world: &World<Self>, node: NodeId) -> NodeView {
        let slot = world.node(node);
        let mut v = world.base_view(node);
        if let Some(step) = step_of(node) {
            let books = Books::from_log(step, &world.params.rules(), &slot.log, svc);
            let empty = VecMap::new();
            let (hits, hanging) = match &slot.state {
                Some(State::Svc { hits, hanging, .. }) => (hits, hanging.clone()),
                _ => (&empty, VecSet::new()),
            };
            v.fields = books.fields(step);
            v.tables.push(books.dedup_table(hits));
            if !hanging.is_empty() {
                let h: Vec<String> = hanging.iter().map(|k| k.to_string()).collect();
                v.fields.push(("hanging tries refused".into(), h.join(", ")));
            }
            for (k, e) in &books.table {
                if let Some(Ok(effect)) = &e.forward {
                    if e.live() && !e.confirmed {
                        v.locks.push(format!("{k}: {effect} (tentative)"));
                    }
                }
            }
            return v;
        }
        let txns = match &slot.state {
            Some(State::Coord { txns, .. }) => txns.clone(),
            _ => TxnRun::from_log(&slot.log),
        };
        for (id, t) in &txns {
            let text = match &t.decision {
                None => {
                    let ok: Vec<&str> = t.tried.iter().map(|s| s.service()).collect();
                    format!(
                        "TRYING · tries ok: {}",
                        if ok.is_empty() { "none".into() } else { ok.join(", ") }
                    )
                }
                Some((o, why)) => {
                    let acks: Vec<&str> = t.acked.iter().map(|s| s.service()).collect();
                    let done = if t.ended { " · ended" } else { "" };
                    format!(
                        "{o} ({why}) · acks: {}{done}",
                        if acks.is_empty() { "none".into() } else { acks.join(", ") }
                    )
                }
            };
            v.fields.push((format!("txn {id}"), format!("{} · {text}", t.order)));
        }
        v.decision = slot.log.iter().rev().find_map(|r| match r {
            Record::Coord(CoordRecord::Decision { txn, outcome, .. }) => {
                Some(format!("{outcome} {txn}"))
            }
            _ => None,
        });
        v
    }

    fn observe(
        monitor: &mut Monitor,
        world: &World<Self>,
        event: &Event<Self>,
        findings: &mut Findings,
    ) {
        let Some(node) = event.node else { return };
        let record = match &event.kind {
            EventKind::Send { msg: Msg::TryFailed { hanging: true, txn, step, .. }, .. } => {
                findings.report(HANGING_TRY, || {
                    format!(
                        "{} refuses the try of {txn}/{step}: its cancel came first",
                        world.name(node)
                    )
                });
                return;
            }
            EventKind::Persist { record } => record,
            _ => return,
        };
        let books = Self::all_books(world);
        match record {
            Record::Coord(CoordRecord::Decision { txn, outcome, .. }) => match outcome {
                Outcome::Confirm => {
                    findings.report(CONFIRM_REACHABLE, || format!("{txn} is confirmed"));
                    // A confirm needs every try.
                    for (i, step) in Step::ALL.iter().enumerate() {
                        let tried = books[i]
                            .table
                            .get(&Key { saga: txn.clone(), step: *step })
                            .is_some_and(|e| matches!(e.forward, Some(Ok(_))));
                        if !tried {
                            findings.report(ALL_OR_NOTHING, || {
                                format!(
                                    "{txn} is confirmed but {} never held its {step}",
                                    step.service()
                                )
                            });
                        }
                    }
                }
                Outcome::Cancel => {
                    findings.report(CANCEL_REACHABLE, || format!("{txn} is cancelled"))
                }
            },
            Record::Coord(CoordRecord::End { txn }) => {
                let outcome = world.node(node).log.iter().find_map(|r| match r {
                    Record::Coord(CoordRecord::Decision { txn: t, outcome, .. }) if t == txn => {
                        Some(*outcome)
                    }
                    _ => None,
                });
                if let Some(o) = outcome {
                    monitor.ended.insert(txn.clone(), o);
                }
            }
            Record::Svc(rec) => {
                let Some(step) = step_of(node) else { return };
                let i = Step::ALL.iter().position(|s| *s == step).expect("a step");
                let b = &books[i];
                for p in b.double_effects() {
                    findings.report(NO_DOUBLE, || format!("at {}: {p}", world.name(node)));
                }
                for p in b.conservation(step, &world.params.rules()) {
                    findings.report(CONSERVED, || format!("at {}: {p}", world.name(node)));
                }
                match rec {
                    SvcRecord::Cancelled { empty: true, key, .. } => {
                        findings.report(EMPTY_CANCEL, || {
                            format!(
                                "{} cancels {key} before any try arrived (an empty cancel)",
                                world.name(node)
                            )
                        })
                    }
                    SvcRecord::Tried { key, .. } => {
                        let log = &world.node(node).log;
                        let cancelled_before = log[..log.len().saturating_sub(1)].iter().any(
                            |r| matches!(r, Record::Svc(SvcRecord::Cancelled { key: k, .. }) if k == key),
                        );
                        if cancelled_before {
                            findings.report(
                                NO_HANGING_HOLD,
                                || format!("{} holds {key} after it was cancelled: nothing will release it", world.name(node)),
                            );
                        }
                    }
                    _ => {}
                }
                // Confirmed somewhere and cancelled (released) elsewhere.
                let txn = &rec.key().saga;
                let confirmed = Step::ALL.iter().enumerate().any(|(i, s)| {
                    books[i]
                        .table
                        .get(&Key { saga: txn.clone(), step: *s })
                        .is_some_and(|e| e.confirmed)
                });
                let released = Step::ALL.iter().enumerate().any(|(i, s)| {
                    books[i]
                        .table
                        .get(&Key { saga: txn.clone(), step: *s })
                        .is_some_and(|e| e.undone == Some(true))
                });
                if confirmed && released {
                    findings.report(ALL_OR_NOTHING, || {
                        format!("{txn} is confirmed at one service and cancelled at another")
                    });
                }
            }
            _ => {}
        }
        for (txn, o) in &monitor.ended {
            if let Err(e) = Self::check_outcome(&books, txn, *o) {
                findings.report(ALL_OR_NOTHING, || e);
            }
        }
    }

    fn blocked(world: &World<Self>, node: NodeId) -> Option<Blocked> {
        let Some(State::Coord { txns, .. }) = &world.node(node).state else { return None };
        let (txn, outcome, step) = txns.iter().find_map(|(id, t)| {
            let (o, _) = t.decision.as_ref().filter(|_| !t.ended)?;
            let step = Step::ALL
                .into_iter()
                .find(|s| !t.acked.contains(s) && !world.can_talk(node, service_node(*s)))?;
            Some((id, *o, step))
        })?;
        let svc = service_node(step);
        let how = if world.is_up(svc) { "unreachable" } else { "down" };
        Some(Blocked {
            waiting_for: vec![svc],
            why: format!(
                "{txn} is decided ({outcome}) but {} is {how}: its resources stay held until it hears the decision",
                step.service()
            ),
        })
    }

    fn settled(world: &World<Self>) -> Result<(), String> {
        for (i, slot) in world.nodes.iter().enumerate() {
            if !slot.is_up() {
                return Err(format!("{} is down", world.name(NodeId(i as u32))));
            }
        }
        let books = Self::all_books(world);
        let Some(State::Coord { txns, .. }) = &world.node(COORD).state else {
            unreachable!("the coordinator is up")
        };
        for (id, t) in txns {
            let Some((o, _)) = &t.decision else { return Err(format!("{id} is undecided")) };
            if !t.ended {
                return Err(format!("{id} is decided ({o}) but not every service acknowledged"));
            }
            Self::check_outcome(&books, id, *o)?;
        }
        // No service holds anything for a transaction the coordinator never started.
        for (i, step) in Step::ALL.iter().enumerate() {
            for (k, e) in &books[i].table {
                if e.live() && !e.confirmed && !txns.contains_key(&k.saga) {
                    return Err(format!("{} holds {k} for an unknown transaction", step.service()));
                }
            }
        }
        Ok(())
    }

    fn explain(event: &Event<Self>) -> Option<String> {
        Some(match &event.kind {
            EventKind::Persist { record } => match record {
                Record::Coord(CoordRecord::Begin { .. }) => {
                    "the transaction is logged before any try is sent".into()
                }
                Record::Coord(CoordRecord::Decision { outcome: Outcome::Confirm, .. }) => {
                    "every try holds its resources: the decision is CONFIRM, re-sent until every service acknowledges".into()
                }
                Record::Coord(CoordRecord::Decision { .. }) => {
                    "the decision is CANCEL: every service releases what its try holds (or remembers an empty cancel)".into()
                }
                Record::Svc(SvcRecord::Tried { .. }) => {
                    "the try holds the resources, not yet final: other transactions see them as held (partial isolation)".into()
                }
                Record::Svc(SvcRecord::Cancelled { empty: true, .. }) => {
                    "an empty cancel: no try has arrived. The service answers ok and remembers the cancel, so a late try will be refused".into()
                }
                Record::Svc(SvcRecord::Confirmed { .. }) => "the held resources become final".into(),
                _ => return None,
            },
            EventKind::Send { msg: Msg::TryFailed { hanging: true, .. }, .. } => {
                "a hanging try: its cancel came first. Holding now would hold resources nobody will ever release, so it is refused".into()
            }
            EventKind::Send { msg: Msg::TryOk { cached: true, .. } | Msg::Confirmed { cached: true, .. } | Msg::Cancelled { cached: true, .. }, .. } => {
                "a repeat: answered from the dedup table, nothing is done twice".into()
            }
            EventKind::TimerFire { timer: Timer::TryTimeout { .. } } => {
                "a try has not answered in time: the coordinator cancels".into()
            }
            EventKind::TimerFire { timer: Timer::Resend { .. } } => {
                "not every service has acknowledged: the decision is sent again".into()
            }
            _ => return None,
        })
    }
}
