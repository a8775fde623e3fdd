//! Trace events, their narration, and `Run`: a recorded trace with snapshots, so the
//! world at any event is cheap to rebuild (rewind and scrub).

use crate::ids::{EventId, MsgId, NodeId, StableHasher, Time};
use crate::protocol::{Kind, NodeSpec, NodeView, Protocol};
use crate::scenario::{NetFault, Scenario, ScenarioError};
use crate::sim::{RunEnd, Simulator};
use serde::Serialize;
use std::hash::{Hash, Hasher};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// The link was cut when the message would have arrived.
    Partition,
    /// The receiver was down when the message arrived.
    ReceiverDown,
    /// The scenario's fault plan dropped this message.
    Injected,
    /// The network's random loss ratio.
    Random,
}

impl DropReason {
    pub fn describe(self) -> &'static str {
        match self {
            DropReason::Partition => "the network is partitioned",
            DropReason::ReceiverDown => "the receiver is down",
            DropReason::Injected => "the fault plan drops it",
            DropReason::Random => "random message loss",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Event<P: Protocol> {
    pub id: EventId,
    pub time: Time,
    /// Where it happens; `None` for network-wide events (partition, heal).
    pub node: Option<NodeId>,
    /// The event that directly caused this one: the send of a delivery or drop, the input
    /// whose handler produced an effect, the timer's setting, a fault's trigger.
    pub cause: Option<EventId>,
    pub kind: EventKind<P>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EventKind<P: Protocol> {
    Request {
        request: P::Request,
    },
    RequestLost {
        request: P::Request,
    },
    /// A message leaves `node`; its id is this event's id.
    Send {
        to: NodeId,
        msg: P::Msg,
        arrives: Time,
    },
    Deliver {
        from: NodeId,
        msg: P::Msg,
        msg_id: MsgId,
        duplicate: bool,
    },
    Drop {
        from: NodeId,
        msg: P::Msg,
        msg_id: MsgId,
        duplicate: bool,
        reason: DropReason,
    },
    TimerSet {
        timer: P::Timer,
        at: Time,
    },
    TimerFire {
        timer: P::Timer,
    },
    TimerCancel {
        timer: P::Timer,
    },
    Persist {
        record: P::Record,
    },
    Decide {
        decision: P::Decision,
    },
    Phase {
        from: P::Phase,
        to: P::Phase,
    },
    Crash,
    Recover {
        records: u32,
    },
    Network(NetFault),
}

impl<P: Protocol> EventKind<P> {
    /// A stable short name: "send", "deliver", "drop", "persist", ...
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Request { .. } => "request",
            EventKind::RequestLost { .. } => "request_lost",
            EventKind::Send { .. } => "send",
            EventKind::Deliver { .. } => "deliver",
            EventKind::Drop { .. } => "drop",
            EventKind::TimerSet { .. } => "timer_set",
            EventKind::TimerFire { .. } => "timer_fire",
            EventKind::TimerCancel { .. } => "timer_cancel",
            EventKind::Persist { .. } => "persist",
            EventKind::Decide { .. } => "decide",
            EventKind::Phase { .. } => "phase",
            EventKind::Crash => "crash",
            EventKind::Recover { .. } => "recover",
            EventKind::Network(_) => "network",
        }
    }
}

/// A one-line narration of `ev` that is true of the run: what happened, where, and why.
pub fn narrate<P: Protocol>(nodes: &[NodeSpec], ev: &Event<P>) -> String {
    let name = |n: NodeId| nodes[n.idx()].name.clone();
    let here = ev.node.map(name).unwrap_or_default();
    let text = match &ev.kind {
        EventKind::Request { request } => format!("{here} receives a client request: {request}"),
        EventKind::RequestLost { request } => {
            format!("a client request ({request}) to {here} is lost: {here} is down")
        }
        EventKind::Send { to, msg, .. } => format!("{here} sends {msg} to {}", name(*to)),
        EventKind::Deliver { from, msg, duplicate, .. } => {
            let dup = if *duplicate { " (a duplicate copy)" } else { "" };
            format!("{here} receives {msg} from {}{dup}", name(*from))
        }
        EventKind::Drop { from, msg, reason, duplicate, .. } => {
            let copy = if *duplicate { " (a duplicate copy)" } else { "" };
            format!("{msg}{copy} from {} to {here} is lost: {}", name(*from), reason.describe())
        }
        EventKind::TimerSet { timer, at } => format!("{here} sets timer {timer} to fire at t={at}"),
        EventKind::TimerFire { timer } => format!("{here}'s timer {timer} fires"),
        EventKind::TimerCancel { timer } => format!("{here} cancels timer {timer}"),
        EventKind::Persist { record } => format!("{here} forces {record} to its log"),
        EventKind::Decide { decision } => format!("{here} decides {decision}"),
        EventKind::Phase { from, to } => format!("{here}: {} → {}", from.kind(), to.kind()),
        EventKind::Crash => {
            format!("{here} crashes: its volatile state and timers are lost; its log survives")
        }
        EventKind::Recover { records } => {
            let s = if *records == 1 { "" } else { "s" };
            format!("{here} recovers and rebuilds its state from its log ({records} record{s})")
        }
        EventKind::Network(fault) => match fault {
            NetFault::Heal => "the network heals: every link works again".to_string(),
            NetFault::Cut { from, to } => {
                format!("one-way cut: messages from {} to {} are lost", name(*from), name(*to))
            }
            NetFault::Isolate(n) => format!("{} is cut off from every other node", name(*n)),
            NetFault::Partition(groups) => {
                // A partition replaces every earlier cut (sim.rs, Network::apply).
                let mut listed: Vec<NodeId> = groups.iter().flatten().copied().collect();
                listed.sort();
                let rest: Vec<NodeId> = (0..nodes.len() as u32)
                    .map(NodeId)
                    .filter(|n| listed.binary_search(n).is_err())
                    .collect();
                let mut sides: Vec<String> = groups
                    .iter()
                    .chain(std::iter::once(&rest))
                    .filter(|g| !g.is_empty())
                    .map(|g| {
                        format!("{{{}}}", g.iter().map(|n| name(*n)).collect::<Vec<_>>().join(", "))
                    })
                    .collect();
                sides.dedup();
                format!("the network partitions into {}; no other link is cut", sides.join(" | "))
            }
        },
    };
    match P::explain(ev) {
        Some(more) => format!("{text} — {more}"),
        None => text,
    }
}

/// How often the recorded run keeps a snapshot of the whole simulator.
pub const SNAPSHOT_EVERY: usize = 64;

/// A whole recorded run: its events, and snapshots to rebuild any moment.
#[derive(Clone, Debug)]
pub struct Run<P: Protocol> {
    pub events: Vec<Event<P>>,
    /// `snapshots[k]` is the simulator before event `k * SNAPSHOT_EVERY`.
    snapshots: Vec<Simulator<P>>,
    last: Simulator<P>,
}

impl<P: Protocol> Run<P> {
    pub fn from_scenario(scenario: &Scenario) -> Result<Self, ScenarioError> {
        Ok(Self::record(Simulator::from_scenario(scenario)?))
    }

    pub fn record(mut sim: Simulator<P>) -> Self {
        let mut events = Vec::new();
        let mut snapshots = vec![sim.clone()];
        while let Some(ev) = sim.step() {
            events.push(ev);
            if events.len() % SNAPSHOT_EVERY == 0 {
                snapshots.push(sim.clone());
            }
        }
        Run { events, snapshots, last: sim }
    }

    /// The simulator as it is right after event `at` (`None`: before the first event).
    pub fn at(&self, at: Option<EventId>) -> Simulator<P> {
        let done = at.map_or(0, |i| (i as usize + 1).min(self.events.len()));
        if done == self.events.len() {
            return self.last.clone();
        }
        let k = done / SNAPSHOT_EVERY;
        let mut sim = self.snapshots[k].clone();
        for _ in k * SNAPSHOT_EVERY..done {
            sim.step();
        }
        sim
    }

    pub fn last(&self) -> &Simulator<P> {
        &self.last
    }

    pub fn end(&self) -> RunEnd {
        self.last.end().expect("a recorded run has ended")
    }

    pub fn views_at(&self, at: Option<EventId>) -> Vec<NodeView> {
        let sim = self.at(at);
        (0..sim.world.nodes.len() as u32)
            .map(|n| {
                let mut view = P::view(&sim.world, NodeId(n));
                view.blocked = sim.blocked_now(NodeId(n)).map(|b| b.why.clone());
                view
            })
            .collect()
    }

    /// A hash of every event, the same on every platform (64-bit and wasm32).
    pub fn trace_hash(&self) -> u64 {
        let mut h = StableHasher::default();
        self.events.hash(&mut h);
        h.finish()
    }
}
