//! Sagas (Garcia-Molina & Salem 1987) over the course's e-commerce checkout: a long-lived
//! transaction made of local steps, each with a compensating step. Sagas trade isolation
//! for availability: nothing is locked, intermediate states are visible, and a failed saga
//! is undone by compensations, not rolled back.
//!
//! Nodes: node 0 is the `orch` (orchestrated mode) or the `broker` (choreographed mode);
//! then `inventory` (reserve / release), `payment` (charge / refund) and `shipping`
//! (create / cancel). The services are the same code in both modes (`service`): local data
//! and a dedup table folded from their logs; a repeated request is answered from the table;
//! a compensation of a step that never ran is a remembered no-op, so a late forward request
//! for that step is refused, not executed.
//!
//! Orchestrated (`params.mode = "orchestrated"`, the default): the orchestrator forces
//! BEGIN to its saga log, then sends each step's command in order (`params.steps`, default
//! reserve → charge → ship) and forces STEP-DONE on each success. Statuses: PENDING,
//! COMPLETED, COMPENSATING, ABORTED. A command is re-sent every `retry_ticks` until it is
//! answered; after `max_attempts` sends without an answer the step's outcome is unknown:
//! the saga fails and that step is compensated too (a no-op if it never ran). A refused
//! step (payment declined, out of stock, shipping down) fails the saga; the orchestrator
//! forces STEP-FAILED and compensates the completed steps in reverse order (the
//! compensation stack), each re-sent until acknowledged — compensations must not give up.
//! A recovering orchestrator rebuilds every saga from its log and resumes where it was.
//!
//! Choreographed (`params.mode = "choreographed"`): no orchestrator. The broker is the
//! event channel: it forces each event to its log and delivers it to the event's
//! subscriber, again every `retry_ticks`, until the subscriber publishes its reaction
//! (which is the acknowledgement). OrderPlaced → inventory reserves → InventoryReserved →
//! payment charges → PaymentCharged → shipping creates → ShipmentCreated (COMPLETED).
//! Failures publish InventoryFailed (ABORTED), PaymentFailed (inventory releases →
//! InventoryReleased, ABORTED) or ShipmentFailed (payment refunds → PaymentRefunded →
//! inventory releases → InventoryReleased, ABORTED): compensations in reverse order by
//! construction. The saga's status is a projection of the broker's event log, shown on its
//! card; the broker decides the final status when it logs the terminal event.
//!
//! Failures: payment declines the users in `decline_users` (the course's `u999`), the
//! amount `decline_amount` (99999) and any order with `fail_payment: true`; inventory
//! refuses what it does not have in stock; shipping refuses everything when
//! `shipping_down` (or an order with `fail_shipping`). Crashes, drops, duplicates and
//! delays come from the engine. `idempotency: false` turns the dedup tables off, to show
//! what they prevent (a duplicate charge request charges twice).
//!
//! The view: services list their local data (`stock`, `balances`, `collected`,
//! `shipments`) as fields and their `dedup table` as a table (key, cached result, repeats
//! answered from it since the last restart); the orchestrator lists `saga <id>` (status and
//! progress) as fields and, while a saga can still be undone, the table `compensation stack
//! <id>` in unwinding order (done, then top first); its durable log is the saga log. The
//! broker lists `saga <id>` and `pending deliveries`.

pub mod service;

use commitscope_engine::protocol::ParamError;
use commitscope_engine::vecmap::{VecMap, VecSet};
use commitscope_engine::{
    Blocked, Ctx, Event, EventKind, Findings, Input, Kind, NodeId, NodeSpec, NodeView,
    PropertyKind, PropertySpec, Protocol, Table, Time, World,
};
use serde::{Deserialize, Serialize};
pub use service::{Books, Effect, Forward, Key, Order, Rules, SagaId, Step, SvcRecord, Undo};
use std::fmt;

/// Node 0: the orchestrator (orchestrated) or the broker (choreographed).
pub const HUB: NodeId = NodeId(0);

/// The node of the service that runs `step`.
pub fn service_node(step: Step) -> NodeId {
    NodeId(1 + Step::ALL.iter().position(|s| *s == step).expect("a step") as u32)
}

fn step_of(node: NodeId) -> Option<Step> {
    Step::ALL.get((node.0 as usize).checked_sub(1)?).copied()
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Saga;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Orchestrated,
    Choreographed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    pub mode: Mode,
    /// Orchestrated only: the steps in order (default reserve, charge, ship).
    pub steps: Vec<Step>,
    /// Re-send a command (or an event) not yet answered this often.
    pub retry_ticks: Time,
    /// Orchestrated: a forward step not answered after this many sends fails the saga.
    pub max_attempts: u32,
    /// Inventory's initial stock per item.
    pub stock: VecMap<String, u64>,
    /// Payment's initial balance per user.
    pub balances: VecMap<String, u64>,
    /// Payment declines these users (the course's u999).
    pub decline_users: Vec<String>,
    /// Payment declines this exact amount (the course's 99999); 0: none.
    pub decline_amount: u64,
    /// Shipping refuses every shipment.
    pub shipping_down: bool,
    /// The services' dedup tables (turn off to see a double charge).
    pub idempotency: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            mode: Mode::Orchestrated,
            steps: Step::ALL.to_vec(),
            retry_ticks: 30,
            max_attempts: 3,
            stock: [("book".to_string(), 10), ("lamp".to_string(), 1)].into_iter().collect(),
            balances: [("alice", 500), ("bob", 500), ("u999", 500)]
                .into_iter()
                .map(|(u, b)| (u.to_string(), b))
                .collect(),
            decline_users: vec!["u999".into()],
            decline_amount: 99_999,
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
    /// The steps a saga runs, in order.
    pub fn saga_steps(&self) -> &[Step] {
        match self.mode {
            Mode::Orchestrated => &self.steps,
            Mode::Choreographed => &Step::ALL,
        }
    }
}

/// A client's checkout request (to node 0).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkout {
    /// The saga id; default `s<k>`. A request with an id already in use is a client retry:
    /// it starts nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saga: Option<String>,
    #[serde(default = "default_user")]
    pub user: String,
    #[serde(default = "default_item")]
    pub item: String,
    #[serde(default = "default_qty")]
    pub qty: u32,
    #[serde(default = "default_amount")]
    pub amount: u64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fail_payment: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fail_shipping: bool,
}

fn default_user() -> String {
    "alice".into()
}
fn default_item() -> String {
    "book".into()
}
fn default_qty() -> u32 {
    1
}
fn default_amount() -> u64 {
    100
}

impl Checkout {
    fn order(&self, saga: SagaId) -> Order {
        Order {
            saga,
            user: self.user.clone(),
            item: self.item.clone(),
            qty: self.qty,
            amount: self.amount,
            fail_payment: self.fail_payment,
            fail_shipping: self.fail_shipping,
        }
    }
}

impl fmt::Display for Checkout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "checkout {}× {} for {}, {}", self.qty, self.item, self.user, self.amount)?;
        if let Some(s) = &self.saga {
            write!(f, " (saga {s})")?;
        }
        if self.fail_payment {
            f.write_str(", fail_payment")?;
        }
        if self.fail_shipping {
            f.write_str(", fail_shipping")?;
        }
        Ok(())
    }
}

/// A saga's status in the course's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Pending,
    Compensating,
    Completed,
    Aborted,
}

impl Status {
    pub fn is_final(self) -> bool {
        matches!(self, Status::Completed | Status::Aborted)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Pending => "PENDING",
            Status::Compensating => "COMPENSATING",
            Status::Completed => "COMPLETED",
            Status::Aborted => "ABORTED",
        })
    }
}

/// The choreography's events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    OrderPlaced,
    InventoryReserved,
    InventoryFailed,
    PaymentCharged,
    PaymentFailed,
    ShipmentCreated,
    ShipmentFailed,
    PaymentRefunded,
    InventoryReleased,
}

/// What a subscriber does with an event: run a step forward, or compensate it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Forward,
    Undo,
}

impl Topic {
    pub const ALL: [Topic; 9] = [
        Topic::OrderPlaced,
        Topic::InventoryReserved,
        Topic::InventoryFailed,
        Topic::PaymentCharged,
        Topic::PaymentFailed,
        Topic::ShipmentCreated,
        Topic::ShipmentFailed,
        Topic::PaymentRefunded,
        Topic::InventoryReleased,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Topic::OrderPlaced => "order_placed",
            Topic::InventoryReserved => "inventory_reserved",
            Topic::InventoryFailed => "inventory_failed",
            Topic::PaymentCharged => "payment_charged",
            Topic::PaymentFailed => "payment_failed",
            Topic::ShipmentCreated => "shipment_created",
            Topic::ShipmentFailed => "shipment_failed",
            Topic::PaymentRefunded => "payment_refunded",
            Topic::InventoryReleased => "inventory_released",
        }
    }
    fn title(self) -> &'static str {
        match self {
            Topic::OrderPlaced => "OrderPlaced",
            Topic::InventoryReserved => "InventoryReserved",
            Topic::InventoryFailed => "InventoryFailed",
            Topic::PaymentCharged => "PaymentCharged",
            Topic::PaymentFailed => "PaymentFailed",
            Topic::ShipmentCreated => "ShipmentCreated",
            Topic::ShipmentFailed => "ShipmentFailed",
            Topic::PaymentRefunded => "PaymentRefunded",
            Topic::InventoryReleased => "InventoryReleased",
        }
    }
    /// Who subscribes to this event, and what it does.
    pub fn subscriber(self) -> Option<(Step, Action)> {
        match self {
            Topic::OrderPlaced => Some((Step::Reserve, Action::Forward)),
            Topic::InventoryReserved => Some((Step::Charge, Action::Forward)),
            Topic::PaymentCharged => Some((Step::Ship, Action::Forward)),
            Topic::PaymentFailed | Topic::PaymentRefunded => Some((Step::Reserve, Action::Undo)),
            Topic::ShipmentFailed => Some((Step::Charge, Action::Undo)),
            Topic::InventoryFailed | Topic::ShipmentCreated | Topic::InventoryReleased => None,
        }
    }
    /// The saga's status once this event is logged.
    pub fn status(self) -> Status {
        match self {
            Topic::OrderPlaced | Topic::InventoryReserved | Topic::PaymentCharged => {
                Status::Pending
            }
            Topic::PaymentFailed | Topic::ShipmentFailed | Topic::PaymentRefunded => {
                Status::Compensating
            }
            Topic::ShipmentCreated => Status::Completed,
            Topic::InventoryFailed | Topic::InventoryReleased => Status::Aborted,
        }
    }
    /// The event a service publishes after running `step` (`ok`: it succeeded).
    fn after_forward(step: Step, ok: bool) -> Topic {
        match (step, ok) {
            (Step::Reserve, true) => Topic::InventoryReserved,
            (Step::Reserve, false) => Topic::InventoryFailed,
            (Step::Charge, true) => Topic::PaymentCharged,
            (Step::Charge, false) => Topic::PaymentFailed,
            (Step::Ship, true) => Topic::ShipmentCreated,
            (Step::Ship, false) => Topic::ShipmentFailed,
        }
    }
    fn after_undo(step: Step) -> Option<Topic> {
        match step {
            Step::Reserve => Some(Topic::InventoryReleased),
            Step::Charge => Some(Topic::PaymentRefunded),
            Step::Ship => None, // the last step is never compensated in the choreography
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct SagaEvent {
    pub topic: Topic,
    pub order: Order,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl fmt::Display for SagaEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.topic.title(), self.order.saga)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Msg {
    /// Orchestrator → service: run a step.
    Do {
        step: Step,
        order: Order,
    },
    /// Orchestrator → service: compensate a step.
    Undo {
        step: Step,
        order: Order,
    },
    /// Service → orchestrator. `cached`: answered from the dedup table.
    StepOk {
        saga: SagaId,
        step: Step,
        cached: bool,
    },
    StepFailed {
        saga: SagaId,
        step: Step,
        reason: String,
        cached: bool,
    },
    Compensated {
        saga: SagaId,
        step: Step,
        noop: bool,
        cached: bool,
    },
    /// Broker → subscriber: event number `seq`.
    Deliver {
        seq: u32,
        event: SagaEvent,
    },
    /// Subscriber → broker: its reaction to event `seq` (which acknowledges it).
    Publish {
        reacting_to: u32,
        event: Option<SagaEvent>,
        cached: bool,
    },
}

impl Kind for Msg {
    fn kind(&self) -> &'static str {
        match self {
            Msg::Do { step, .. } => step.verb(),
            Msg::Undo { step, .. } => step.undo_verb(),
            Msg::StepOk { .. } => "step_ok",
            Msg::StepFailed { .. } => "step_failed",
            Msg::Compensated { .. } => "compensated",
            Msg::Deliver { event, .. } => event.topic.name(),
            Msg::Publish { .. } => "publish",
        }
    }
}

impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cached = |c: &bool| if *c { ", cached" } else { "" };
        match self {
            Msg::Do { step, order } => {
                let what = match step {
                    Step::Reserve => format!("{}× {}", order.qty, order.item),
                    Step::Charge => format!("{} to {}", order.amount, order.user),
                    Step::Ship => order.shipment(),
                };
                write!(f, "{}({} {what})", title(step.verb()), order.saga)
            }
            Msg::Undo { step, order } => write!(f, "{}({})", title(step.undo_verb()), order.saga),
            Msg::StepOk { saga, step, cached: c } => {
                write!(f, "StepOk({saga} {step}{})", cached(c))
            }
            Msg::StepFailed { saga, step, reason, cached: c } => {
                write!(f, "StepFailed({saga} {step}: {reason}{})", cached(c))
            }
            Msg::Compensated { saga, step, noop, cached: c } => {
                let noop = if *noop { ", no-op" } else { "" };
                write!(f, "Compensated({saga} {step}{noop}{})", cached(c))
            }
            Msg::Deliver { seq, event } => write!(f, "{event} #{seq}"),
            Msg::Publish { reacting_to, event: Some(e), cached: c } => {
                write!(f, "Publish({e} re #{reacting_to}{})", cached(c))
            }
            Msg::Publish { reacting_to, event: None, .. } => {
                write!(f, "Publish(nothing re #{reacting_to})")
            }
        }
    }
}

/// `cancel_shipment` → `CancelShipment`.
fn title(verb: &str) -> String {
    verb.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|h| h.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
        })
        .collect()
}

/// The orchestrator's saga log.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OrchRecord {
    Begin {
        order: Order,
        steps: Vec<Step>,
    },
    StepDone {
        saga: SagaId,
        step: Step,
    },
    /// `unknown`: the step was not answered (it may have run): it is compensated too.
    StepFailed {
        saga: SagaId,
        step: Step,
        reason: String,
        unknown: bool,
    },
    StepCompensated {
        saga: SagaId,
        step: Step,
    },
    End {
        saga: SagaId,
        status: Status,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum Record {
    Orch(OrchRecord),
    /// The broker's event log: event number `seq`.
    Event {
        seq: u32,
        event: SagaEvent,
    },
    Svc(SvcRecord),
}

impl Kind for Record {
    fn kind(&self) -> &'static str {
        match self {
            Record::Orch(r) => match r {
                OrchRecord::Begin { .. } => "begin",
                OrchRecord::StepDone { .. } => "step_done",
                OrchRecord::StepFailed { .. } => "step_failed",
                OrchRecord::StepCompensated { .. } => "step_compensated",
                OrchRecord::End { .. } => "end",
            },
            Record::Event { event, .. } => event.topic.name(),
            Record::Svc(r) => r.kind(),
        }
    }
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Record::Orch(r) => match r {
                OrchRecord::Begin { order, steps } => {
                    let s: Vec<&str> = steps.iter().map(|s| s.verb()).collect();
                    write!(f, "BEGIN {order} [{}]", s.join(" → "))
                }
                OrchRecord::StepDone { saga, step } => write!(f, "STEP-DONE {saga} {step}"),
                OrchRecord::StepFailed { saga, step, reason, .. } => {
                    write!(f, "STEP-FAILED {saga} {step}: {reason}")
                }
                OrchRecord::StepCompensated { saga, step } => {
                    write!(f, "COMPENSATED {saga} {}", step.undo_verb())
                }
                OrchRecord::End { saga, status } => write!(f, "{status} {saga}"),
            },
            Record::Event { seq, event } => write!(f, "#{seq} {event}"),
            Record::Svc(r) => r.fmt(f),
        }
    }
}

fn svc(r: &Record) -> Option<&SvcRecord> {
    match r {
        Record::Svc(s) => Some(s),
        _ => None,
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Timer {
    /// Orchestrator: re-send the saga's pending command.
    Retry { saga: SagaId },
    /// Broker: re-deliver every event not yet reacted to.
    Redeliver,
}

impl Kind for Timer {
    fn kind(&self) -> &'static str {
        match self {
            Timer::Retry { .. } => "retry",
            Timer::Redeliver => "redeliver",
        }
    }
}

impl fmt::Display for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timer::Retry { saga } => write!(f, "retry({saga})"),
            Timer::Redeliver => f.write_str("redeliver"),
        }
    }
}

/// A saga's final status as node 0 decides it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct SagaEnd {
    pub saga: SagaId,
    pub status: Status,
}

impl fmt::Display for SagaEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.saga)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Idle,
    Running,
    Compensating,
    Completed,
    Aborted,
    Serving,
}

impl Kind for Phase {
    fn kind(&self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Running => "running",
            Phase::Compensating => "compensating",
            Phase::Completed => "completed",
            Phase::Aborted => "aborted",
            Phase::Serving => "serving",
        }
    }
}

/// One saga as the orchestrator drives it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SagaRun {
    pub order: Order,
    pub steps: Vec<Step>,
    pub status: Status,
    /// Index of the next forward step.
    pub next: usize,
    /// Steps to compensate, last on top.
    pub stack: Vec<Step>,
    pub compensated: Vec<Step>,
    pub failed: Option<(Step, String)>,
    /// Sends of the current command (volatile: restarts after a crash).
    pub attempts: u32,
}

impl SagaRun {
    /// Folds the saga log into every saga's state (recovery, and the card of a node that
    /// is down).
    pub fn from_log(log: &[Record]) -> VecMap<SagaId, SagaRun> {
        let mut sagas: VecMap<SagaId, SagaRun> = VecMap::new();
        for r in log {
            let Record::Orch(r) = r else { continue };
            match r {
                OrchRecord::Begin { order, steps } => {
                    sagas.insert(
                        order.saga.clone(),
                        SagaRun {
                            order: order.clone(),
                            steps: steps.clone(),
                            status: Status::Pending,
                            next: 0,
                            stack: Vec::new(),
                            compensated: Vec::new(),
                            failed: None,
                            attempts: 0,
                        },
                    );
                }
                OrchRecord::StepDone { saga, step } => {
                    if let Some(s) = sagas.get_mut(saga) {
                        s.stack.push(*step);
                        s.next += 1;
                    }
                }
                OrchRecord::StepFailed { saga, step, reason, unknown } => {
                    if let Some(s) = sagas.get_mut(saga) {
                        if *unknown {
                            s.stack.push(*step);
                        }
                        s.failed = Some((*step, reason.clone()));
                        s.status = Status::Compensating;
                    }
                }
                OrchRecord::StepCompensated { saga, step } => {
                    if let Some(s) = sagas.get_mut(saga) {
                        s.stack.pop();
                        s.compensated.push(*step);
                    }
                }
                OrchRecord::End { saga, status } => {
                    if let Some(s) = sagas.get_mut(saga) {
                        s.status = *status;
                    }
                }
            }
        }
        sagas
    }

    /// The step whose command (or compensation) is outstanding.
    pub fn awaiting(&self) -> Option<Step> {
        match self.status {
            Status::Pending => self.steps.get(self.next).copied(),
            Status::Compensating => self.stack.last().copied(),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum State {
    Orch {
        sagas: VecMap<SagaId, SagaRun>,
        next_seq: u32,
    },
    Broker {
        /// The event log, by number.
        events: Vec<SagaEvent>,
        status: VecMap<SagaId, Status>,
        /// (event number, subscriber) not yet reacted to, with when it was last sent.
        pending: VecMap<(u32, NodeId), Time>,
        next_seq: u32,
    },
    Svc {
        /// Repeats answered from the dedup table since the last restart.
        hits: VecMap<Key, u32>,
        served: bool,
    },
}

/// What a service did with a request: the answer it gives.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Answer {
    Ok {
        cached: bool,
    },
    Failed {
        reason: String,
        cached: bool,
    },
    Undone {
        noop: bool,
        cached: bool,
    },
    /// A forward request for a step already compensated: refused, nothing done.
    Late,
}

#[derive(Clone, Debug, Default)]
pub struct Monitor {
    ended: VecMap<SagaId, Status>,
    refusals: Vec<Refusal>,
}

#[derive(Clone, Debug)]
struct Refusal {
    saga: SagaId,
    item: String,
    qty: i64,
    available: i64,
    held_by: Vec<SagaId>,
    released: i64,
    reported: bool,
}

const LATE: &str = "already compensated: a late request is refused";

const ATOMICITY: usize = 0;
const REVERSE: usize = 1;
const NO_DOUBLE: usize = 2;
const CONSERVED: usize = 3;
const COMPLETES: usize = 4;
const COMPENSATES: usize = 5;
const DEDUP_HIT: usize = 6;
const DIRTY_READ: usize = 7;

impl Saga {
    fn new_saga_id(
        used: impl Fn(&SagaId) -> bool,
        req: &Checkout,
        next_seq: &mut u32,
    ) -> Option<SagaId> {
        if let Some(id) = &req.saga {
            let id = SagaId(id.clone());
            return (!used(&id)).then_some(id);
        }
        loop {
            let id = SagaId(format!("s{next_seq}"));
            *next_seq += 1;
            if !used(&id) {
                return Some(id);
            }
        }
    }

    // ---- orchestrator ----

    fn send_current(ctx: &mut Ctx<'_, Self>, run: &mut SagaRun) {
        let Some(step) = run.awaiting() else { return };
        let order = run.order.clone();
        run.attempts += 1;
        let msg = match run.status {
            Status::Pending => Msg::Do { step, order },
            _ => Msg::Undo { step, order },
        };
        ctx.send(service_node(step), msg);
        ctx.set_timer(Timer::Retry { saga: run.order.saga.clone() }, ctx.params.retry_ticks);
    }

    fn finish(ctx: &mut Ctx<'_, Self>, run: &mut SagaRun, status: Status) {
        let saga = run.order.saga.clone();
        run.status = status;
        ctx.persist(Record::Orch(OrchRecord::End { saga: saga.clone(), status }));
        ctx.decide(SagaEnd { saga: saga.clone(), status });
        ctx.cancel_timer(Timer::Retry { saga });
    }

    /// The saga failed at `step`: compensate what is on the stack, or end at once.
    fn fail(ctx: &mut Ctx<'_, Self>, run: &mut SagaRun, step: Step, reason: String, unknown: bool) {
        let saga = run.order.saga.clone();
        ctx.persist(Record::Orch(OrchRecord::StepFailed {
            saga,
            step,
            reason: reason.clone(),
            unknown,
        }));
        if unknown {
            run.stack.push(step);
        }
        run.failed = Some((step, reason));
        run.status = Status::Compensating;
        run.attempts = 0;
        if run.stack.is_empty() {
            Self::finish(ctx, run, Status::Aborted);
        } else {
            Self::send_current(ctx, run);
        }
    }

    fn on_orch(ctx: &mut Ctx<'_, Self>, state: &mut State, input: Input<Self>) {
        let State::Orch { sagas, next_seq } = state else { unreachable!("the orchestrator") };
        match input {
            Input::Request(req) => {
                let Some(saga) = Self::new_saga_id(|id| sagas.contains_key(id), &req, next_seq)
                else {
                    return; // a client retry of a saga that exists: nothing new starts
                };
                let order = req.order(saga.clone());
                let steps = ctx.params.steps.clone();
                ctx.persist(Record::Orch(OrchRecord::Begin {
                    order: order.clone(),
                    steps: steps.clone(),
                }));
                let mut run = SagaRun {
                    order,
                    steps,
                    status: Status::Pending,
                    next: 0,
                    stack: Vec::new(),
                    compensated: Vec::new(),
                    failed: None,
                    attempts: 0,
                };
                if run.steps.is_empty() {
                    Self::finish(ctx, &mut run, Status::Completed);
                } else {
                    Self::send_current(ctx, &mut run);
                }
                sagas.insert(saga, run);
            }
            Input::Message { msg, .. } => match msg {
                Msg::StepOk { saga, step, .. } => {
                    let Some(run) = sagas.get_mut(&saga) else { return };
                    if run.status != Status::Pending || run.awaiting() != Some(step) {
                        return; // a late or duplicate answer
                    }
                    ctx.persist(Record::Orch(OrchRecord::StepDone { saga, step }));
                    run.stack.push(step);
                    run.next += 1;
                    run.attempts = 0;
                    if run.next == run.steps.len() {
                        Self::finish(ctx, run, Status::Completed);
                    } else {
                        Self::send_current(ctx, run);
                    }
                }
                Msg::StepFailed { saga, step, reason, .. } => {
                    let Some(run) = sagas.get_mut(&saga) else { return };
                    if run.status != Status::Pending || run.awaiting() != Some(step) {
                        return;
                    }
                    Self::fail(ctx, run, step, reason, false);
                }
                Msg::Compensated { saga, step, .. } => {
                    let Some(run) = sagas.get_mut(&saga) else { return };
                    if run.status != Status::Compensating || run.awaiting() != Some(step) {
                        return;
                    }
                    ctx.persist(Record::Orch(OrchRecord::StepCompensated { saga, step }));
                    run.stack.pop();
                    run.compensated.push(step);
                    run.attempts = 0;
                    if run.stack.is_empty() {
                        Self::finish(ctx, run, Status::Aborted);
                    } else {
                        Self::send_current(ctx, run);
                    }
                }
                _ => {}
            },
            Input::Timer(Timer::Retry { saga }) => {
                let Some(run) = sagas.get_mut(&saga) else { return };
                match run.status {
                    Status::Pending if run.attempts >= ctx.params.max_attempts => {
                        let step = run.awaiting().expect("a pending saga awaits a step");
                        let reason = format!(
                            "no answer from {} after {} attempts (outcome unknown)",
                            step.service(),
                            run.attempts
                        );
                        Self::fail(ctx, run, step, reason, true);
                    }
                    Status::Pending | Status::Compensating => Self::send_current(ctx, run),
                    _ => {}
                }
            }
            Input::Timer(Timer::Redeliver) => {}
        }
    }

    // ---- broker ----

    fn publish(ctx: &mut Ctx<'_, Self>, state: &mut State, event: SagaEvent) {
        let State::Broker { events, status, pending, .. } = state else {
            unreachable!("the broker")
        };
        if events.iter().any(|e| e.order.saga == event.order.saga && e.topic == event.topic) {
            return; // published before (a repeated reaction)
        }
        let seq = events.len() as u32;
        ctx.persist(Record::Event { seq, event: event.clone() });
        let st = event.topic.status();
        status.insert(event.order.saga.clone(), st);
        if st.is_final() {
            ctx.decide(SagaEnd { saga: event.order.saga.clone(), status: st });
        }
        if let Some((step, _)) = event.topic.subscriber() {
            let to = service_node(step);
            let first = pending.is_empty();
            pending.insert((seq, to), ctx.now);
            ctx.send(to, Msg::Deliver { seq, event: event.clone() });
            if first {
                ctx.set_timer(Timer::Redeliver, ctx.params.retry_ticks);
            }
        }
        events.push(event);
    }

    /// Re-delivers every event unanswered for `retry_ticks` (all of them when `all`), and
    /// arms the timer for the next one due.
    fn redeliver(ctx: &mut Ctx<'_, Self>, state: &mut State, all: bool) {
        let State::Broker { events, pending, .. } = state else { unreachable!("broker") };
        let retry = ctx.params.retry_ticks;
        for ((seq, to), sent) in pending.iter_mut() {
            if all || ctx.now >= *sent + retry {
                ctx.send(*to, Msg::Deliver { seq: *seq, event: events[*seq as usize].clone() });
                *sent = ctx.now;
            }
        }
        if let Some(next) = pending.values().map(|t| *t + retry).min() {
            ctx.set_timer(Timer::Redeliver, next.saturating_sub(ctx.now).max(1));
        }
    }

    fn on_broker(ctx: &mut Ctx<'_, Self>, state: &mut State, input: Input<Self>) {
        match input {
            Input::Request(req) => {
                let State::Broker { status, next_seq, .. } = state else { unreachable!("broker") };
                let Some(saga) = Self::new_saga_id(|id| status.contains_key(id), &req, next_seq)
                else {
                    return;
                };
                let event =
                    SagaEvent { topic: Topic::OrderPlaced, order: req.order(saga), reason: None };
                Self::publish(ctx, state, event);
            }
            Input::Message { from, msg: Msg::Publish { reacting_to, event, .. } } => {
                let State::Broker { pending, .. } = state else { unreachable!("broker") };
                pending.remove(&(reacting_to, from));
                if pending.is_empty() {
                    ctx.cancel_timer(Timer::Redeliver);
                }
                if let Some(e) = event {
                    Self::publish(ctx, state, e);
                }
            }
            Input::Message { .. } => {}
            Input::Timer(Timer::Redeliver) => Self::redeliver(ctx, state, false),
            Input::Timer(Timer::Retry { .. }) => {}
        }
    }

    // ---- services (both modes) ----

    fn serve(
        ctx: &mut Ctx<'_, Self>,
        state: &mut State,
        step: Step,
        order: &Order,
        action: Action,
    ) -> Answer {
        let State::Svc { hits, served } = state else { unreachable!("a service") };
        *served = true;
        let rules = ctx.params.rules();
        let books = Books::from_log(step, &rules, ctx.log, svc);
        let key = order.key(step);
        let mut hit = || *hits.entry(key.clone()).or_insert(0) += 1;
        match action {
            Action::Forward => match books.forward(step, order, &rules, false) {
                Forward::Cached(Ok(())) => {
                    hit();
                    Answer::Ok { cached: true }
                }
                Forward::Cached(Err(reason)) => {
                    hit();
                    Answer::Failed { reason, cached: true }
                }
                Forward::AfterUndo => {
                    hit();
                    Answer::Late
                }
                Forward::Act(rec) => {
                    let answer = match &rec {
                        SvcRecord::Refused { reason, .. } => {
                            Answer::Failed { reason: reason.clone(), cached: false }
                        }
                        _ => Answer::Ok { cached: false },
                    };
                    ctx.persist(Record::Svc(rec));
                    answer
                }
            },
            Action::Undo => match books.undo(step, order, &rules, false) {
                Undo::Cached => {
                    hit();
                    let noop = books.table.get(&key).is_some_and(|e| e.undone == Some(false));
                    Answer::Undone { noop, cached: true }
                }
                Undo::Act(rec) => {
                    let noop = matches!(rec, SvcRecord::Compensated { undid: None, .. });
                    ctx.persist(Record::Svc(rec));
                    Answer::Undone { noop, cached: false }
                }
            },
        }
    }

    fn on_svc(ctx: &mut Ctx<'_, Self>, state: &mut State, input: Input<Self>) {
        let Some(me) = step_of(ctx.node) else { return };
        let Input::Message { from, msg } = input else { return };
        match msg {
            Msg::Do { step, order } if step == me => {
                let reply = match Self::serve(ctx, state, step, &order, Action::Forward) {
                    Answer::Ok { cached } => Msg::StepOk { saga: order.saga, step, cached },
                    Answer::Failed { reason, cached } => {
                        Msg::StepFailed { saga: order.saga, step, reason, cached }
                    }
                    Answer::Late => Msg::StepFailed {
                        saga: order.saga,
                        step,
                        reason: LATE.into(),
                        cached: true,
                    },
                    Answer::Undone { .. } => unreachable!("a forward step is not an undo"),
                };
                ctx.send(from, reply);
            }
            Msg::Undo { step, order } if step == me => {
                let Answer::Undone { noop, cached } =
                    Self::serve(ctx, state, step, &order, Action::Undo)
                else {
                    unreachable!("an undo answers undone")
                };
                ctx.send(from, Msg::Compensated { saga: order.saga, step, noop, cached });
            }
            Msg::Deliver { seq, event } => {
                let Some((step, action)) = event.topic.subscriber().filter(|(s, _)| *s == me)
                else {
                    return;
                };
                let order = event.order.clone();
                let (topic, reason, cached) = match Self::serve(ctx, state, step, &order, action) {
                    Answer::Ok { cached } => (Some(Topic::after_forward(step, true)), None, cached),
                    Answer::Failed { reason, cached } => {
                        (Some(Topic::after_forward(step, false)), Some(reason), cached)
                    }
                    // Compensated already: nothing to announce.
                    Answer::Late => (None, Some(LATE.to_string()), true),
                    Answer::Undone { cached, .. } => (Topic::after_undo(step), None, cached),
                };
                let event = topic.map(|topic| SagaEvent { topic, order, reason });
                ctx.send(from, Msg::Publish { reacting_to: seq, event, cached });
            }
            _ => {}
        }
    }

    /// Every service's books, by step.
    fn all_books(world: &World<Self>) -> Vec<(Step, Books)> {
        let rules = world.params.rules();
        Step::ALL
            .iter()
            .map(|s| (*s, Books::from_log(*s, &rules, &world.node(service_node(*s)).log, svc)))
            .collect()
    }

    /// Semantic atomicity of one ended saga against the services' durable data.
    fn atomic(
        world: &World<Self>,
        books: &[(Step, Books)],
        saga: &SagaId,
        status: Status,
    ) -> Result<(), String> {
        for step in world.params.saga_steps() {
            let b = &books.iter().find(|(s, _)| s == step).expect("every step has a service").1;
            let live =
                b.table.get(&Key { saga: saga.clone(), step: *step }).is_some_and(|e| e.live());
            match status {
                Status::Completed if !live => {
                    return Err(format!("{saga} is COMPLETED but its {step} step is not in effect at {}", step.service()))
                }
                Status::Aborted if live => {
                    return Err(format!("{saga} is ABORTED but its {step} step is still in effect at {} (not compensated)", step.service()))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Every saga node 0 knows of, with its status (from the state, or from the log while
    /// it is down).
    fn statuses(world: &World<Self>) -> VecMap<SagaId, Status> {
        let hub = world.node(HUB);
        match &hub.state {
            Some(State::Orch { sagas, .. }) => {
                sagas.iter().map(|(k, r)| (k.clone(), r.status)).collect()
            }
            Some(State::Broker { status, .. }) => status.clone(),
            _ => match world.params.mode {
                Mode::Orchestrated => {
                    SagaRun::from_log(&hub.log).into_iter().map(|(k, r)| (k, r.status)).collect()
                }
                Mode::Choreographed => broker_from_log(&hub.log).1,
            },
        }
    }
}

/// The broker's event log and each saga's status, from its durable log.
fn broker_from_log(log: &[Record]) -> (Vec<SagaEvent>, VecMap<SagaId, Status>) {
    let mut events = Vec::new();
    let mut status = VecMap::new();
    for r in log {
        if let Record::Event { event, .. } = r {
            status.insert(event.order.saga.clone(), event.topic.status());
            events.push(event.clone());
        }
    }
    (events, status)
}

impl Protocol for Saga {
    const NAME: &'static str = "saga";
    const MSG_KINDS: &'static [&'static str] = &[
        "reserve",
        "charge",
        "ship",
        "release",
        "refund",
        "cancel_shipment",
        "step_ok",
        "step_failed",
        "compensated",
        "publish",
        "order_placed",
        "inventory_reserved",
        "inventory_failed",
        "payment_charged",
        "payment_failed",
        "shipment_created",
        "shipment_failed",
        "payment_refunded",
        "inventory_released",
    ];
    const RECORD_KINDS: &'static [&'static str] = &[
        "begin",
        "step_done",
        "step_failed",
        "step_compensated",
        "end",
        "applied",
        "refused",
        "compensated",
        "order_placed",
        "inventory_reserved",
        "inventory_failed",
        "payment_charged",
        "payment_failed",
        "shipment_created",
        "shipment_failed",
        "payment_refunded",
        "inventory_released",
    ];
    const PHASES: &'static [&'static str] =
        &["idle", "running", "compensating", "completed", "aborted", "serving"];
    const PROPERTIES: &'static [PropertySpec] = &[
        PropertySpec {
            id: "semantic_atomicity",
            name: "Semantic atomicity",
            kind: PropertyKind::Always,
            about: "A saga that ended COMPLETED has every step in effect; one that ended ABORTED has every completed step compensated (checked at every forced write from the end on).",
        },
        PropertySpec {
            id: "reverse_order",
            name: "Compensations in reverse order",
            kind: PropertyKind::Always,
            about: "A step is compensated only after every later step of its saga was compensated.",
        },
        PropertySpec {
            id: "no_double_effect",
            name: "No effect applied twice",
            kind: PropertyKind::Always,
            about: "Under retries and duplicates, no step or compensation takes effect twice (no double charge).",
        },
        PropertySpec {
            id: "conserved",
            name: "Money and stock conserved",
            kind: PropertyKind::Always,
            about: "Each service's stock and balances equal the initial amounts minus each saga's live effect, counted once; nothing is oversold or overdrawn.",
        },
        PropertySpec {
            id: "saga_completes",
            name: "A saga completes",
            kind: PropertyKind::Sometimes,
            about: "Some saga ends COMPLETED in this run.",
        },
        PropertySpec {
            id: "saga_compensates",
            name: "A saga compensates",
            kind: PropertyKind::Sometimes,
            about: "Some saga ends ABORTED after undoing at least one completed step.",
        },
        PropertySpec {
            id: "dedup_hit",
            name: "A repeat is answered from the dedup table",
            kind: PropertyKind::Sometimes,
            about: "A service answers a repeated request (retry or duplicate) with the cached result instead of acting again.",
        },
        PropertySpec {
            id: "dirty_read",
            name: "Dirty read (no isolation)",
            kind: PropertyKind::Sometimes,
            about: "An anomaly sagas allow by design: a saga is refused stock that another saga held and then gave back by compensation.",
        },
    ];

    type Params = Params;
    type State = State;
    type Record = Record;
    type Msg = Msg;
    type Timer = Timer;
    type Request = Checkout;
    type Decision = SagaEnd;
    type Phase = Phase;
    type Monitor = Monitor;

    fn validate(params: &Params) -> Result<(), ParamError> {
        crate::common::check_ticks(&[("retry_ticks", params.retry_ticks)])?;
        if params.max_attempts == 0 {
            return Err(ParamError::new("max_attempts", "must be at least 1"));
        }
        let mut seen = VecSet::new();
        for (i, s) in params.steps.iter().enumerate() {
            if !seen.insert(*s) {
                return Err(ParamError::new(
                    format!("steps[{i}]"),
                    format!("\"{s}\" is listed twice"),
                ));
            }
        }
        if params.mode == Mode::Choreographed && params.steps != Step::ALL {
            return Err(ParamError::new(
                "steps",
                "the choreography's steps are fixed (reserve, charge, ship); leave \"steps\" out",
            ));
        }
        Ok(())
    }

    fn nodes(params: &Params) -> Vec<NodeSpec> {
        let hub = match params.mode {
            Mode::Orchestrated => NodeSpec { name: "orch".into(), role: "orchestrator".into() },
            Mode::Choreographed => NodeSpec { name: "broker".into(), role: "event broker".into() },
        };
        let mut nodes = vec![hub];
        nodes.extend(Step::ALL.iter().map(|s| NodeSpec {
            name: s.service().into(),
            role: format!("{} service", s.service()),
        }));
        nodes
    }

    fn init(ctx: &Ctx<'_, Self>) -> State {
        match (ctx.node == HUB, ctx.params.mode) {
            (true, Mode::Orchestrated) => State::Orch { sagas: VecMap::new(), next_seq: 1 },
            (true, Mode::Choreographed) => State::Broker {
                events: Vec::new(),
                status: VecMap::new(),
                pending: VecMap::new(),
                next_seq: 1,
            },
            (false, _) => State::Svc { hits: VecMap::new(), served: false },
        }
    }

    fn on_input(ctx: &mut Ctx<'_, Self>, state: &mut State, input: Input<Self>) {
        match state {
            State::Orch { .. } => Self::on_orch(ctx, state, input),
            State::Broker { .. } => Self::on_broker(ctx, state, input),
            State::Svc { .. } => Self::on_svc(ctx, state, input),
        }
    }

    fn on_recover(ctx: &mut Ctx<'_, Self>) -> State {
        if ctx.node != HUB {
            let served = ctx.log.iter().any(|r| matches!(r, Record::Svc(_)));
            return State::Svc { hits: VecMap::new(), served };
        }
        match ctx.params.mode {
            Mode::Orchestrated => {
                let mut sagas = SagaRun::from_log(ctx.log);
                // Resume every saga that has not ended from where its log says it is.
                for run in sagas.values_mut() {
                    Self::send_current(ctx, run);
                }
                let next_seq = sagas.len() as u32 + 1;
                State::Orch { sagas, next_seq }
            }
            Mode::Choreographed => {
                let (events, status) = broker_from_log(ctx.log);
                // Re-deliver the events of sagas that have not ended (subscribers dedup).
                let pending: VecMap<(u32, NodeId), Time> = events
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| !status[&e.order.saga].is_final())
                    .filter_map(|(i, e)| {
                        e.topic.subscriber().map(|(s, _)| ((i as u32, service_node(s)), ctx.now))
                    })
                    .collect();
                let next_seq = status.len() as u32 + 1;
                let mut state = State::Broker { events, status, pending, next_seq };
                Self::redeliver(ctx, &mut state, true);
                state
            }
        }
    }

    fn phase(state: &State) -> Phase {
        let phase_of = |statuses: &mut dyn Iterator<Item = Status>| {
            let all: Vec<Status> = statuses.collect();
            if all.contains(&Status::Compensating) {
                Phase::Compensating
            } else if all.contains(&Status::Pending) {
                Phase::Running
            } else {
                match all.last() {
                    None => Phase::Idle,
                    Some(Status::Completed) => Phase::Completed,
                    Some(_) => Phase::Aborted,
                }
            }
        };
        match state {
            State::Orch { sagas, .. } => phase_of(&mut sagas.values().map(|r| r.status)),
            State::Broker { status, .. } => phase_of(&mut status.values().copied()),
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
            // Local data lives in the log: shown even while the service is down.
            let books = Books::from_log(step, &world.params.rules(), &slot.log, svc);
            let empty = VecMap::new();
            let hits = match &slot.state {
                Some(State::Svc { hits, .. }) => hits,
                _ => &empty,
            };
            v.fields = books.fields(step);
            v.tables.push(books.dedup_table(hits));
            return v;
        }
        match world.params.mode {
            Mode::Orchestrated => {
                let sagas = match &slot.state {
                    Some(State::Orch { sagas, .. }) => sagas.clone(),
                    _ => SagaRun::from_log(&slot.log),
                };
                for (id, run) in &sagas {
                    let progress = match run.status {
                        Status::Pending => {
                            let step = run.steps[run.next];
                            format!(
                                "PENDING · step {}/{} {step} at {} (attempt {})",
                                run.next + 1,
                                run.steps.len(),
                                step.service(),
                                run.attempts
                            )
                        }
                        Status::Compensating => {
                            let (step, why) =
                                run.failed.clone().expect("a compensating saga failed");
                            format!("COMPENSATING · {step} failed: {why}")
                        }
                        Status::Completed => format!("COMPLETED · {} steps done", run.steps.len()),
                        Status::Aborted => match &run.failed {
                            Some((step, why)) => format!("ABORTED · {step} failed: {why}"),
                            None => "ABORTED".into(),
                        },
                    };
                    v.fields.push((format!("saga {id}"), format!("{} · {progress}", run.order)));
                    if run.status != Status::Completed
                        && (!run.stack.is_empty() || !run.compensated.is_empty())
                    {
                        v.tables.push(compensation_stack(id, run));
                    }
                }
                v.decision = world_last_end(&slot.log);
            }
            Mode::Choreographed => {
                let (events, status) = match &slot.state {
                    Some(State::Broker { events, status, .. }) => (events.clone(), status.clone()),
                    _ => broker_from_log(&slot.log),
                };
                for (id, st) in &status {
                    let trail: Vec<&str> = events
                        .iter()
                        .filter(|e| &e.order.saga == id)
                        .map(|e| e.topic.title())
                        .collect();
                    v.fields.push((format!("saga {id}"), format!("{st} · {}", trail.join(" → "))));
                }
                if let Some(State::Broker { pending, events, .. }) = &slot.state {
                    let p: Vec<String> = pending
                        .keys()
                        .map(|(seq, to)| {
                            format!("#{seq} {} → {}", events[*seq as usize], world.name(*to))
                        })
                        .collect();
                    if !p.is_empty() {
                        v.fields.push(("pending deliveries".into(), p.join(", ")));
                    }
                }
                v.decision = events
                    .iter()
                    .rev()
                    .find(|e| e.topic.status().is_final())
                    .map(|e| format!("{} {}", e.topic.status(), e.order.saga));
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
            EventKind::Send { msg, .. } => {
                let cached = match msg {
                    Msg::StepOk { cached, .. }
                    | Msg::StepFailed { cached, .. }
                    | Msg::Compensated { cached, .. }
                    | Msg::Publish { cached, .. } => *cached,
                    _ => false,
                };
                if cached {
                    findings.report(DEDUP_HIT, || {
                        format!("{} answers {msg} from its dedup table", world.name(node))
                    });
                }
                return;
            }
            EventKind::Persist { .. } => {}
            _ => return,
        }
        let EventKind::Persist { record } = &event.kind else { return };
        // A saga ended: remember it and check it.
        let ended = match record {
            Record::Orch(OrchRecord::End { saga, status }) => Some((saga.clone(), *status)),
            Record::Event { event: e, .. } if e.topic.status().is_final() => {
                Some((e.order.saga.clone(), e.topic.status()))
            }
            _ => None,
        };
        let books = Self::all_books(world);
        if let Some((saga, status)) = ended {
            monitor.ended.insert(saga.clone(), status);
            match status {
                Status::Completed => findings.report(COMPLETES, || format!("{saga} COMPLETED")),
                _ => {
                    let undone: Vec<String> = books
                        .iter()
                        .filter(|(s, b)| {
                            b.table
                                .get(&Key { saga: saga.clone(), step: *s })
                                .is_some_and(|e| e.undone == Some(true))
                        })
                        .map(|(s, _)| s.undo_verb().to_string())
                        .collect();
                    if !undone.is_empty() {
                        findings.report(COMPENSATES, || {
                            format!("{saga} ABORTED after compensating: {}", undone.join(", "))
                        });
                    }
                }
            }
        }
        if let Record::Svc(rec) = record {
            let Some(step) = step_of(node) else { return };
            let b = &books.iter().find(|(s, _)| *s == step).expect("a service").1;
            let rules = world.params.rules();
            for problem in b.double_effects() {
                findings.report(NO_DOUBLE, || format!("at {}: {problem}", world.name(node)));
            }
            for problem in b.conservation(step, &rules) {
                findings.report(CONSERVED, || format!("at {}: {problem}", world.name(node)));
            }
            let key = rec.key();
            if let SvcRecord::Compensated { .. } = rec {
                // Reverse order: no earlier step of this saga may be compensated already.
                let steps = world.params.saga_steps();
                if let Some(i) = steps.iter().position(|s| *s == key.step) {
                    for later in &steps[i + 1..] {
                        let lb = &books.iter().find(|(s, _)| s == later).expect("a service").1;
                        let k = Key { saga: key.saga.clone(), step: *later };
                        if lb.table.get(&k).is_some_and(|e| e.live()) {
                            findings.report(
                                REVERSE,
                                || format!(
                                    "{} compensated {} of {} while its later step {} is still in effect",
                                    world.name(node),
                                    key.step,
                                    key.saga,
                                    later
                                ),
                            );
                        }
                    }
                }
            }
            // The dirty read: a refusal for stock held by sagas later compensated.
            match rec {
                SvcRecord::Refused { shortage: Some(sh), .. } => {
                    monitor.refusals.push(Refusal {
                        saga: key.saga.clone(),
                        item: sh.item.clone(),
                        qty: i64::from(sh.wanted),
                        available: sh.available,
                        held_by: sh.held_by.clone(),
                        released: 0,
                        reported: false,
                    });
                }
                SvcRecord::Compensated { undid: Some(Effect::Reserve { item, qty }), .. } => {
                    for r in &mut monitor.refusals {
                        if r.reported || &r.item != item || !r.held_by.contains(&key.saga) {
                            continue;
                        }
                        r.released += i64::from(*qty);
                        if r.available + r.released >= r.qty {
                            r.reported = true;
                            findings.report(
                                DIRTY_READ,
                                || format!(
                                    "{} was refused {}× {} because {} held it; {} was then compensated and released it — {} read data that never committed",
                                    r.saga, r.qty, r.item, key.saga, key.saga, r.saga
                                ),
                            );
                        }
                    }
                }
                _ => {}
            }
        }
        // Semantic atomicity of every ended saga, against the data as it is now.
        for (saga, status) in &monitor.ended {
            if let Err(e) = Self::atomic(world, &books, saga, *status) {
                findings.report(ATOMICITY, || e);
            }
        }
    }

    fn blocked(world: &World<Self>, node: NodeId) -> Option<Blocked> {
        match world.node(node).state.as_ref()? {
            State::Orch { sagas, .. } => {
                let (id, run, step) = sagas.iter().find_map(|(id, r)| {
                    (r.status == Status::Compensating).then_some(())?;
                    let step = r.awaiting()?;
                    (!world.can_talk(node, service_node(step))).then_some((id, r, step))
                })?;
                let svc = service_node(step);
                let how = if world.is_up(svc) { "unreachable" } else { "down" };
                let _ = run;
                Some(Blocked {
                    waiting_for: vec![svc],
                    why: format!(
                        "{id} is compensating and must {} at {}, which is {how}: compensations are retried until acknowledged",
                        step.undo_verb(),
                        step.service()
                    ),
                })
            }
            State::Broker { pending, events, .. } => {
                let (seq, to) = pending.keys().find(|(_, to)| !world.can_talk(node, *to))?;
                let how = if world.is_up(*to) { "unreachable" } else { "down" };
                Some(Blocked {
                    waiting_for: vec![*to],
                    why: format!(
                        "{} must reach {}, which is {how}: the broker re-delivers it until {} reacts",
                        events[*seq as usize],
                        world.name(*to),
                        world.name(*to)
                    ),
                })
            }
            State::Svc { .. } => None,
        }
    }

    fn settled(world: &World<Self>) -> Result<(), String> {
        for (i, slot) in world.nodes.iter().enumerate() {
            if !slot.is_up() {
                return Err(format!("{} is down", world.name(NodeId(i as u32))));
            }
        }
        let books = Self::all_books(world);
        for (saga, status) in Self::statuses(world) {
            if !status.is_final() {
                return Err(format!("{saga} is still {status}"));
            }
            Self::atomic(world, &books, &saga, status)?;
        }
        Ok(())
    }

    fn explain(event: &Event<Self>) -> Option<String> {
        Some(match &event.kind {
            EventKind::Persist { record } => match record {
                Record::Orch(OrchRecord::Begin { .. }) => {
                    "the saga log has the saga before any step runs: from here on a crash resumes from the log".into()
                }
                Record::Orch(OrchRecord::StepFailed { unknown: true, .. }) => {
                    "the step's outcome is unknown: the saga fails, and that step is compensated too (a no-op if it never ran)".into()
                }
                Record::Orch(OrchRecord::StepFailed { .. }) => {
                    "the saga fails: the completed steps are compensated in reverse order".into()
                }
                Record::Orch(OrchRecord::End { status: Status::Completed, .. }) => {
                    "every step took effect: the saga is complete".into()
                }
                Record::Orch(OrchRecord::End { .. }) => {
                    "every completed step has been compensated: the saga is aborted, semantically undone".into()
                }
                Record::Svc(SvcRecord::Refused { shortage: Some(sh), .. }) => {
                    let h: Vec<&str> = sh.held_by.iter().map(|s| s.0.as_str()).collect();
                    format!(
                        "no isolation: the stock it needs is held by {}, still running — if {} is compensated, this refusal read data that never committed (a dirty read)",
                        h.join(", "),
                        if h.len() == 1 { "it" } else { "one of them" }
                    )
                }
                Record::Svc(SvcRecord::Compensated { undid: None, empty: true, .. }) => {
                    "the step never ran here: the no-op is remembered, so a late request for it will be refused, not executed".into()
                }
                Record::Svc(SvcRecord::Applied { .. }) => {
                    "a local transaction: it takes effect now, visible to every other saga (no isolation)".into()
                }
                Record::Svc(SvcRecord::Compensated { undid: Some(Effect::Reserve { .. }), .. }) => {
                    "the units go back to stock: a saga refused them meanwhile saw a reservation that never committed (no isolation)".into()
                }
                Record::Event { event: e, .. } if e.topic.status().is_final() => {
                    format!("the saga's final event: {}", e.topic.status())
                }
                _ => return None,
            },
            EventKind::Send {
                msg:
                    Msg::StepOk { cached: true, .. }
                    | Msg::StepFailed { cached: true, .. }
                    | Msg::Compensated { cached: true, .. }
                    | Msg::Publish { cached: true, .. },
                ..
            } => "a repeat: answered from the dedup table (saga id + step), nothing is done twice"
                .into(),
            EventKind::TimerFire { timer: Timer::Retry { .. } } => {
                "no answer yet: the command is sent again (the service's dedup table makes a repeat harmless)".into()
            }
            EventKind::TimerFire { timer: Timer::Redeliver } => {
                "some events have no reaction yet: the broker delivers them again".into()
            }
            _ => return None,
        })
    }
}

/// A saga's compensation stack as its orchestrator's card shows it, in the order it unwinds:
/// the compensations already done, then the stack from the top down (the top is being
/// undone while the saga is COMPENSATING; while it is PENDING, each would run if a later
/// step failed).
fn compensation_stack(id: &SagaId, run: &SagaRun) -> Table {
    let mut t =
        Table::new(format!("compensation stack {id}"), &["compensation", "undoes", "state"]);
    for step in &run.compensated {
        t.push(vec![step.undo_verb().into(), step.verb().into(), "undone".into()]);
    }
    for (i, step) in run.stack.iter().rev().enumerate() {
        let state = match (run.status, i) {
            (Status::Compensating, 0) => "undoing (top)",
            (Status::Compensating, _) => "waiting",
            (_, 0) => "on the stack (top)",
            _ => "on the stack",
        };
        t.push(vec![step.undo_verb().into(), step.verb().into(), state.into()]);
    }
    t
}

/// The orchestrator's last final status, from its log.
fn world_last_end(log: &[Record]) -> Option<String> {
    log.iter().rev().find_map(|r| match r {
        Record::Orch(OrchRecord::End { saga, status }) => Some(format!("{status} {saga}")),
        _ => None,
    })
}
