//! The type-erased boundary: plain, serializable data about a recorded run, so the UI and
//! the CLI deal with one API whatever the protocol.

use crate::ids::{EventId, MsgId, Time};
use crate::protocol::{Kind, NodeSpec, NodeView, PropertyKind, Protocol, Summary};
use crate::scenario::{Scenario, ScenarioError};
use crate::sim::{BlockedSpan, RunEnd};
use crate::trace::{narrate, DropReason, EventKind, Run};
use serde::Serialize;

/// One event as the UI draws and narrates it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventInfo {
    pub id: EventId,
    pub time: Time,
    pub node: Option<u32>,
    /// The event that directly caused this one (see `Event::cause`); following causes
    /// back gives the chain of messages and timeouts that led to an event.
    pub cause: Option<EventId>,
    /// `EventKind::name`: "send", "deliver", "drop", "persist", "decide", ...
    pub kind: &'static str,
    /// Short label for the diagram: the message, record, timer, decision or phase.
    pub label: String,
    /// The `Kind` of the message, record, timer or phase (`"prepare"`, `"prepared"`),
    /// as scenario triggers and message faults name it.
    pub subkind: Option<&'static str>,
    pub narration: String,
    /// The other end of a message: `to` for a send, `from` for a delivery or a drop.
    pub peer: Option<u32>,
    /// For deliveries and drops: the id of the send event.
    pub msg_id: Option<MsgId>,
    /// For sends: when the (first copy of the) message is due.
    pub arrives: Option<Time>,
    pub drop_reason: Option<DropReason>,
    pub duplicate: bool,
    /// The message, record or request as JSON (for the inspector and exports).
    pub payload: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PropertyInfo {
    pub id: &'static str,
    pub name: &'static str,
    pub kind: PropertyKind,
    pub about: &'static str,
    /// The first violating (always) or witnessing (sometimes) event, with what it showed.
    pub first: Option<EventId>,
    pub message: Option<String>,
}

/// A recorded run of some protocol, seen as plain data.
pub trait AnyRun {
    fn scenario(&self) -> &Scenario;
    fn protocol(&self) -> &'static str;
    fn nodes(&self) -> &[NodeSpec];
    fn events(&self) -> &[EventInfo];
    fn views_at(&self, at: Option<EventId>) -> Vec<NodeView>;
    fn properties(&self) -> Vec<PropertyInfo>;
    fn end(&self) -> RunEnd;
    /// When each node was blocked (the protocol's progress monitor), in order.
    fn blocked_spans(&self) -> &[BlockedSpan];
    fn trace_hash(&self) -> u64;
    /// Names of the protocol's phases, log records and message types (for pickers).
    fn kinds(&self) -> Kinds;
    /// What the protocol says about the whole run (figures, notes, marks, lane spans).
    fn summary(&self) -> &Summary;
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Kinds {
    pub messages: &'static [&'static str],
    pub records: &'static [&'static str],
    pub phases: &'static [&'static str],
}

/// `Run<P>` with its scenario and its events already turned into `EventInfo`s.
pub struct Recorded<P: Protocol> {
    scenario: Scenario,
    nodes: Vec<NodeSpec>,
    run: Run<P>,
    infos: Vec<EventInfo>,
    summary: Summary,
}

impl<P: Protocol> Recorded<P> {
    pub fn new(scenario: &Scenario) -> Result<Self, ScenarioError> {
        let run = Run::<P>::from_scenario(scenario)?;
        let nodes: Vec<NodeSpec> = run.last().world.nodes.iter().map(|n| n.spec.clone()).collect();
        let infos = run.events.iter().map(|e| info(&nodes, e)).collect();
        let summary = P::summary(&run.events, run.last());
        Ok(Recorded { scenario: scenario.clone(), nodes, run, infos, summary })
    }
    pub fn run(&self) -> &Run<P> {
        &self.run
    }
}

fn json<T: Serialize>(t: &T) -> Option<serde_json::Value> {
    serde_json::to_value(t).ok()
}

fn info<P: Protocol>(nodes: &[NodeSpec], e: &crate::trace::Event<P>) -> EventInfo {
    let mut i = EventInfo {
        id: e.id,
        time: e.time,
        node: e.node.map(|n| n.0),
        cause: e.cause,
        kind: e.kind.name(),
        label: String::new(),
        subkind: None,
        narration: narrate(nodes, e),
        peer: None,
        msg_id: None,
        arrives: None,
        drop_reason: None,
        duplicate: false,
        payload: None,
    };
    i.subkind = match &e.kind {
        EventKind::Send { msg, .. }
        | EventKind::Deliver { msg, .. }
        | EventKind::Drop { msg, .. } => Some(msg.kind()),
        EventKind::TimerSet { timer, .. }
        | EventKind::TimerFire { timer }
        | EventKind::TimerCancel { timer } => Some(timer.kind()),
        EventKind::Persist { record } => Some(record.kind()),
        EventKind::Phase { to, .. } => Some(to.kind()),
        _ => None,
    };
    match &e.kind {
        EventKind::Request { request } | EventKind::RequestLost { request } => {
            i.label = request.to_string();
            i.payload = json(request);
        }
        EventKind::Send { to, msg, arrives } => {
            i.label = msg.to_string();
            i.peer = Some(to.0);
            i.msg_id = Some(e.id);
            i.arrives = Some(*arrives);
            i.payload = json(msg);
        }
        EventKind::Deliver { from, msg, msg_id, duplicate } => {
            i.label = msg.to_string();
            i.peer = Some(from.0);
            i.msg_id = Some(*msg_id);
            i.duplicate = *duplicate;
            i.payload = json(msg);
        }
        EventKind::Drop { from, msg, msg_id, duplicate, reason } => {
            i.label = msg.to_string();
            i.peer = Some(from.0);
            i.msg_id = Some(*msg_id);
            i.duplicate = *duplicate;
            i.drop_reason = Some(*reason);
            i.payload = json(msg);
        }
        EventKind::TimerSet { timer, .. }
        | EventKind::TimerFire { timer }
        | EventKind::TimerCancel { timer } => i.label = timer.to_string(),
        EventKind::Persist { record } => {
            i.label = record.to_string();
            i.payload = json(record);
        }
        EventKind::Decide { decision } => {
            i.label = decision.to_string();
            i.payload = json(decision);
        }
        EventKind::Phase { to, .. } => i.label = to.kind().to_string(),
        EventKind::Crash => i.label = "crash".into(),
        EventKind::Recover { .. } => i.label = "recover".into(),
        EventKind::Network(_) => i.label = "network".into(),
    }
    i
}

impl<P: Protocol> AnyRun for Recorded<P> {
    fn scenario(&self) -> &Scenario {
        &self.scenario
    }
    fn protocol(&self) -> &'static str {
        P::NAME
    }
    fn nodes(&self) -> &[NodeSpec] {
        &self.nodes
    }
    fn events(&self) -> &[EventInfo] {
        &self.infos
    }
    fn views_at(&self, at: Option<EventId>) -> Vec<NodeView> {
        self.run.views_at(at)
    }
    fn properties(&self) -> Vec<PropertyInfo> {
        P::PROPERTIES
            .iter()
            .zip(self.run.last().verdicts())
            .map(|(p, v)| PropertyInfo {
                id: p.id,
                name: p.name,
                kind: p.kind,
                about: p.about,
                first: v.first.as_ref().map(|(e, _)| *e),
                message: v.first.as_ref().map(|(_, m)| m.clone()),
            })
            .collect()
    }
    fn end(&self) -> RunEnd {
        self.run.end()
    }
    fn blocked_spans(&self) -> &[BlockedSpan] {
        self.run.last().blocked_spans()
    }
    fn trace_hash(&self) -> u64 {
        self.run.trace_hash()
    }
    fn kinds(&self) -> Kinds {
        Kinds { messages: P::MSG_KINDS, records: P::RECORD_KINDS, phases: P::PHASES }
    }
    fn summary(&self) -> &Summary {
        &self.summary
    }
}
