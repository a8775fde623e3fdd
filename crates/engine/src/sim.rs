//! The deterministic discrete-event simulator: one `step` = one trace event.
//!
//! Time is virtual; the queue is ordered by (time, sequence); all randomness is derived
//! from the scenario's seed. The simulator is `Clone`, so the trace keeps snapshots and
//! any moment can be rebuilt by stepping a copy forward.

use crate::ids::{EventId, MsgId, NodeId, Time};
use crate::protocol::{
    Ctx, Effect, Findings, Input, Kind, NodeSpec, NodeView, PropertyKind, Protocol,
};
use crate::rng::{Ratio, Rng};
use crate::scenario::{
    resolve, Limits, MsgAction, MsgRule, NetFault, NetworkSpec, NodeFault, Resolved, Scenario,
    ScenarioError, Trigger, When,
};
use crate::trace::{DropReason, Event, EventKind};
use crate::vecmap::VecMap;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// One node as the environment sees it: volatile state (gone while down), durable log,
/// pending timers.
#[derive(Clone, Debug)]
pub struct NodeSlot<P: Protocol> {
    pub spec: NodeSpec,
    pub state: Option<P::State>,
    pub log: Vec<P::Record>,
    pub down_since: Option<Time>,
    /// Pending timers: key -> (generation, fires_at).
    pub timers: VecMap<P::Timer, (u64, Time)>,
}

impl<P: Protocol> NodeSlot<P> {
    pub fn is_up(&self) -> bool {
        self.state.is_some()
    }
}

/// Which directed links are cut. Small (N ≤ a few dozen), so a dense matrix.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Network {
    n: usize,
    cut: Vec<bool>,
}

impl Network {
    fn new(n: usize) -> Self {
        Network { n, cut: vec![false; n * n] }
    }
    pub fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        self.cut[from.idx() * self.n + to.idx()]
    }
    pub fn any_cut(&self) -> bool {
        self.cut.iter().any(|c| *c)
    }
    fn set(&mut self, from: NodeId, to: NodeId) {
        if from != to {
            self.cut[from.idx() * self.n + to.idx()] = true;
        }
    }
    fn apply(&mut self, fault: &NetFault) {
        let all = (0..self.n as u32).map(NodeId);
        match fault {
            NetFault::Heal => self.cut.iter_mut().for_each(|c| *c = false),
            NetFault::Cut { from, to } => self.set(*from, *to),
            NetFault::Isolate(node) => {
                for other in all {
                    self.set(*node, other);
                    self.set(other, *node);
                }
            }
            NetFault::Partition(groups) => {
                // A partition describes the whole network: it replaces earlier cuts.
                self.cut.iter_mut().for_each(|c| *c = false);
                let group_of = |n: NodeId| groups.iter().position(|g| g.contains(&n));
                for a in all.clone() {
                    for b in all.clone() {
                        if group_of(a) != group_of(b) {
                            self.set(a, b);
                        }
                    }
                }
            }
        }
    }
}

/// What protocols' views and monitors may look at: every node and the network, now.
#[derive(Clone, Debug)]
pub struct World<P: Protocol> {
    pub params: P::Params,
    pub nodes: Vec<NodeSlot<P>>,
    pub net: Network,
    pub now: Time,
}

impl<P: Protocol> World<P> {
    pub fn node(&self, id: NodeId) -> &NodeSlot<P> {
        &self.nodes[id.idx()]
    }
    pub fn is_up(&self, id: NodeId) -> bool {
        self.node(id).is_up()
    }
    /// Both directions up and uncut: `a` could ask `b` and hear back.
    pub fn can_talk(&self, a: NodeId, b: NodeId) -> bool {
        self.is_up(b) && !self.net.is_cut(a, b) && !self.net.is_cut(b, a)
    }
    pub fn name(&self, id: NodeId) -> &str {
        &self.node(id).spec.name
    }
    /// What every protocol's view of a node shows: its name and role, whether it is up,
    /// its phase ("down" while it is), every log record and its pending timers. The
    /// protocol's `view` adds the rest.
    pub fn base_view(&self, id: NodeId) -> NodeView {
        let slot = self.node(id);
        NodeView {
            name: slot.spec.name.clone(),
            role: slot.spec.role.clone(),
            up: slot.is_up(),
            phase: slot.state.as_ref().map_or("down".into(), |s| P::phase(s).kind().to_string()),
            log: slot.log.iter().map(|r| r.to_string()).collect(),
            timers: slot.timers.iter().map(|(t, (_, at))| format!("{t} at t={at}")).collect(),
            ..NodeView::default()
        }
    }
}

/// A property's verdict so far: the first event that violated (always) or witnessed
/// (sometimes) it, with the monitor's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub first: Option<(EventId, String)>,
}

/// A stretch of the run during which a node was blocked (progress monitor).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct BlockedSpan {
    pub node: NodeId,
    /// The event after which the node was blocked.
    pub from: EventId,
    /// The event after which it no longer was (`None`: still blocked at the end).
    pub until: Option<EventId>,
    /// "blocked since t=…: " and the protocol's reason.
    pub why: String,
}

/// Why a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunEnd {
    /// Nothing left to happen: no message in flight, no timer pending.
    Quiescent,
    MaxTicks,
    MaxEvents,
}

#[derive(Clone, Debug)]
enum Item<P: Protocol> {
    Deliver {
        msg_id: MsgId,
        from: NodeId,
        to: NodeId,
        msg: P::Msg,
        duplicate: bool,
        drop: Option<DropReason>,
    },
    Timer {
        node: NodeId,
        timer: P::Timer,
        generation: u64,
        set_by: EventId,
    },
    Request {
        node: NodeId,
        request: P::Request,
    },
    Fault(usize),
}

#[derive(Clone, Debug)]
struct Queued<P: Protocol> {
    time: Time,
    seq: u64,
    item: Item<P>,
}

impl<P: Protocol> PartialEq for Queued<P> {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl<P: Protocol> Eq for Queued<P> {}
impl<P: Protocol> PartialOrd for Queued<P> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<P: Protocol> Ord for Queued<P> {
    // BinaryHeap is a max-heap: reverse so the earliest (time, seq) comes out first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

#[derive(Clone, Debug)]
/// Work left from a handler, each with the event that caused it.
enum Pending<P: Protocol> {
    Effect(NodeId, Effect<P>, EventId),
    Phase(NodeId, P::Phase, P::Phase, EventId),
}

/// The whole simulated world plus the environment's bookkeeping. `Clone` is a snapshot.
#[derive(Clone, Debug)]
pub struct Simulator<P: Protocol> {
    pub world: World<P>,
    queue: BinaryHeap<Queued<P>>,
    seq: u64,
    pending: VecDeque<Pending<P>>,
    seed: u64,
    network: NetworkSpec,
    limits: Limits,
    faults: Vec<(When, NodeFault)>,
    /// Per fault: fired yet, and progress of a counting trigger.
    fired: Vec<bool>,
    trigger_counts: Vec<u32>,
    /// Triggered faults to apply next, with the event that triggered them.
    fire_now: VecDeque<(usize, EventId)>,
    msg_rules: Vec<MsgRule>,
    rule_counts: Vec<u32>,
    monitor: P::Monitor,
    verdicts: Vec<Verdict>,
    /// Bit `i`: `verdicts[i]` has its first finding (see `Findings::known`).
    known: u64,
    next_event: EventId,
    end: Option<RunEnd>,
    out: Vec<Effect<P>>,
    /// The direct cause of the event being produced.
    cause: Option<EventId>,
    blocked: Vec<BlockedSpan>,
    /// Per node: the index in `blocked` of its open span.
    blocked_open: Vec<Option<usize>>,
}

impl<P: Protocol> Simulator<P> {
    pub fn from_scenario(scenario: &Scenario) -> Result<Self, ScenarioError> {
        Ok(Self::new(resolve::<P>(scenario)?))
    }

    pub fn new(r: Resolved<P>) -> Self {
        // `known` has a bit per property.
        const { assert!(P::PROPERTIES.len() <= 64, "at most 64 properties per protocol") };
        let n = r.nodes.len();
        let n_faults = r.faults.len();
        let n_rules = r.msg_rules.len();
        let mut sim = Simulator {
            world: World {
                params: r.params,
                nodes: Vec::with_capacity(n),
                net: Network::new(n),
                now: 0,
            },
            queue: BinaryHeap::new(),
            seq: 0,
            pending: VecDeque::new(),
            seed: r.seed,
            network: r.network,
            limits: r.limits,
            faults: r.faults,
            fired: vec![false; n_faults],
            trigger_counts: vec![0; n_faults],
            fire_now: VecDeque::new(),
            msg_rules: r.msg_rules,
            rule_counts: vec![0; n_rules],
            monitor: P::Monitor::default(),
            verdicts: vec![Verdict { first: None }; P::PROPERTIES.len()],
            known: 0,
            next_event: 0,
            end: None,
            out: Vec::new(),
            cause: None,
            blocked: Vec::new(),
            blocked_open: vec![None; n],
        };
        for (i, spec) in r.nodes.into_iter().enumerate() {
            let node = NodeId(i as u32);
            let mut out = Vec::new();
            let state = P::init(&Ctx {
                params: &sim.world.params,
                node,
                n_nodes: n as u32,
                now: 0,
                log: &[],
                out: &mut out,
            });
            sim.world.nodes.push(NodeSlot {
                spec,
                state: Some(state),
                log: Vec::new(),
                down_since: None,
                timers: VecMap::new(),
            });
        }
        for i in 0..n_faults {
            if let When::At(t) = sim.faults[i].0 {
                sim.push(t, Item::Fault(i));
            }
        }
        let generated = P::generated_requests(&sim.world.params);
        for (at, node, request) in r.requests.into_iter().chain(generated) {
            sim.push(at, Item::Request { node, request });
        }
        sim
    }

    /// The property monitors' state (what a protocol's summary may read).
    pub fn monitor(&self) -> &P::Monitor {
        &self.monitor
    }

    pub fn verdicts(&self) -> &[Verdict] {
        &self.verdicts
    }
    /// Every stretch in which a node was blocked, in order of their start.
    pub fn blocked_spans(&self) -> &[BlockedSpan] {
        &self.blocked
    }
    /// Why `node` is blocked now, if it is.
    pub fn blocked_now(&self, node: NodeId) -> Option<&BlockedSpan> {
        self.blocked_open[node.idx()].map(|i| &self.blocked[i])
    }
    pub fn end(&self) -> Option<RunEnd> {
        self.end
    }
    pub fn events_so_far(&self) -> EventId {
        self.next_event
    }
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn push(&mut self, time: Time, item: Item<P>) {
        self.seq += 1;
        self.queue.push(Queued { time, seq: self.seq, item });
    }

    /// Runs to the end and returns how it ended (the explorer/sweep/benchmark driver).
    pub fn run_to_end(&mut self) -> RunEnd {
        while self.step().is_some() {}
        self.end.expect("a finished run has an end")
    }

    /// Advances to the next trace event, or `None` when the run has ended.
    pub fn step(&mut self) -> Option<Event<P>> {
        if self.end.is_some() {
            return None;
        }
        if self.next_event >= self.limits.max_events {
            self.end = Some(RunEnd::MaxEvents);
            return None;
        }
        loop {
            // A decision belongs to the step that forced it: a triggered fault never falls
            // between a forced write and the Decide that follows it.
            let decide_next =
                matches!(self.pending.front(), Some(Pending::Effect(_, Effect::Decide { .. }, _)));
            if !decide_next {
                if let Some((i, cause)) = self.fire_now.pop_front() {
                    self.cause = Some(cause);
                    if let Some(ev) = self.apply_fault(i) {
                        return Some(self.finish(ev));
                    }
                    continue;
                }
            }
            if let Some(p) = self.pending.pop_front() {
                if let Some(ev) = self.apply_pending(p) {
                    return Some(self.finish(ev));
                }
                continue;
            }
            let Some(q) = self.queue.pop() else {
                self.end = Some(RunEnd::Quiescent);
                return None;
            };
            if q.time > self.limits.max_ticks {
                if self.is_stale(&q.item) {
                    continue; // a cancelled timer does not keep a finished run going
                }
                self.end = Some(RunEnd::MaxTicks);
                return None;
            }
            self.world.now = q.time;
            self.cause = None;
            if let Some(ev) = self.apply_item(q.item) {
                return Some(self.finish(ev));
            }
        }
    }

    /// A timer that was cancelled, re-armed or lost in a crash since it was queued.
    fn is_stale(&self, item: &Item<P>) -> bool {
        match item {
            Item::Timer { node, timer, generation, .. } => {
                self.world.node(*node).timers.get(timer).is_none_or(|(g, _)| g != generation)
            }
            _ => false,
        }
    }

    fn event(&self, node: Option<NodeId>, kind: EventKind<P>) -> Event<P> {
        Event { id: self.next_event, time: self.world.now, node, cause: self.cause, kind }
    }

    /// Numbers the event, runs the monitors and arms the triggers it meets.
    fn finish(&mut self, ev: Event<P>) -> Event<P> {
        self.next_event += 1;
        let mut findings = Findings { found: Vec::new(), known: self.known };
        P::observe(&mut self.monitor, &self.world, &ev, &mut findings);
        for (property, message) in findings.found {
            let v = &mut self.verdicts[property];
            if v.first.is_none() {
                v.first = Some((ev.id, message));
                self.known |= 1 << property;
            }
        }
        // Progress monitors: blocking can only start or end when a node's phase or
        // liveness, a decision, or the network changes (or, where the protocol says so, a
        // message arrives).
        if matches!(
            ev.kind,
            EventKind::Phase { .. }
                | EventKind::Decide { .. }
                | EventKind::Crash
                | EventKind::Recover { .. }
                | EventKind::Network(_)
        ) || (P::BLOCKS_ON_DELIVERY && matches!(ev.kind, EventKind::Deliver { .. }))
        {
            self.update_blocked(ev.id);
        }
        for i in 0..self.faults.len() {
            if self.fired[i] {
                continue;
            }
            let When::After(trigger) = &self.faults[i].0 else { continue };
            let hit = match (trigger, &ev.kind) {
                (Trigger::Event(id), _) => *id == ev.id,
                (Trigger::Sent { by, kind, .. }, EventKind::Send { msg, .. }) => {
                    ev.node == Some(*by) && msg.kind() == *kind
                }
                (Trigger::Persisted { by, kind, .. }, EventKind::Persist { record }) => {
                    ev.node == Some(*by) && record.kind() == *kind
                }
                (Trigger::Delivered { to, kind, .. }, EventKind::Deliver { msg, .. }) => {
                    ev.node == Some(*to) && msg.kind() == *kind
                }
                (Trigger::Phase { node, phase }, EventKind::Phase { to, .. }) => {
                    ev.node == Some(*node) && to.kind() == *phase
                }
                _ => false,
            };
            if !hit {
                continue;
            }
            let needed = match trigger {
                Trigger::Sent { count, .. }
                | Trigger::Persisted { count, .. }
                | Trigger::Delivered { count, .. } => *count,
                _ => 1,
            };
            self.trigger_counts[i] += 1;
            if self.trigger_counts[i] >= needed {
                self.fired[i] = true;
                self.fire_now.push_back((i, ev.id));
            }
        }
        ev
    }

    fn update_blocked(&mut self, at: EventId) {
        for n in 0..self.world.nodes.len() {
            let blocked = P::blocked(&self.world, NodeId(n as u32));
            match (self.blocked_open[n], blocked) {
                (None, Some(b)) => {
                    self.blocked_open[n] = Some(self.blocked.len());
                    let why = format!("blocked since t={}: {}", self.world.now, b.why);
                    let span = BlockedSpan { node: NodeId(n as u32), from: at, until: None, why };
                    self.blocked.push(span);
                }
                (Some(i), None) => {
                    self.blocked[i].until = Some(at);
                    self.blocked_open[n] = None;
                }
                _ => {}
            }
        }
    }

    fn apply_fault(&mut self, i: usize) -> Option<Event<P>> {
        self.fired[i] = true;
        match self.faults[i].1.clone() {
            NodeFault::Crash(node) => {
                let slot = &mut self.world.nodes[node.idx()];
                slot.state.as_ref()?;
                slot.state = None;
                slot.timers.clear();
                slot.down_since = Some(self.world.now);
                self.pending.retain(|p| match p {
                    Pending::Effect(n, ..) | Pending::Phase(n, ..) => *n != node,
                });
                Some(self.event(Some(node), EventKind::Crash))
            }
            NodeFault::Recover(node) => {
                if self.world.node(node).is_up() {
                    return None;
                }
                let mut out = std::mem::take(&mut self.out);
                let state = {
                    let slot = self.world.node(node);
                    let mut ctx = Ctx {
                        params: &self.world.params,
                        node,
                        n_nodes: self.world.nodes.len() as u32,
                        now: self.world.now,
                        log: &slot.log,
                        out: &mut out,
                    };
                    P::on_recover(&mut ctx)
                };
                let slot = &mut self.world.nodes[node.idx()];
                slot.state = Some(state);
                slot.down_since = None;
                let records = slot.log.len() as u32;
                let cause = self.next_event;
                self.pending.extend(out.drain(..).map(|e| Pending::Effect(node, e, cause)));
                self.out = out;
                Some(self.event(Some(node), EventKind::Recover { records }))
            }
            NodeFault::Net(fault) => {
                self.world.net.apply(&fault);
                Some(self.event(None, EventKind::Network(fault)))
            }
        }
    }

    /// Derives a value from the seed and a message identity without consuming a shared
    /// stream, so a fault on one message never changes another message's latency.
    fn draw(&self, msg_id: MsgId, salt: u64) -> Rng {
        Rng::new(self.seed ^ (u64::from(msg_id) << 8 | salt).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    fn latency(&self, msg_id: MsgId, salt: u64) -> Time {
        self.draw(msg_id, salt)
            .range_inclusive(self.network.latency_ticks_min, self.network.latency_ticks_max)
    }

    fn chance(&self, msg_id: MsgId, salt: u64, r: Ratio) -> bool {
        r.num > 0 && self.draw(msg_id, salt).chance(r)
    }

    fn apply_pending(&mut self, p: Pending<P>) -> Option<Event<P>> {
        let (node, effect) = match p {
            Pending::Phase(node, from, to, cause) => {
                self.cause = Some(cause);
                return Some(self.event(Some(node), EventKind::Phase { from, to }));
            }
            Pending::Effect(node, effect, cause) => {
                self.cause = Some(cause);
                (node, effect)
            }
        };
        let now = self.world.now;
        match effect {
            Effect::Send { to, msg } => {
                let msg_id = self.next_event;
                let mut delay = self.latency(msg_id, 1);
                let mut drop =
                    self.chance(msg_id, 2, self.network.loss).then_some(DropReason::Random);
                let mut duplicate = self.chance(msg_id, 3, self.network.duplicate);
                for (r, rule) in self.msg_rules.iter().enumerate() {
                    let matches = rule.from.is_none_or(|f| f == node)
                        && rule.to.is_none_or(|t| t == to)
                        && rule.kind.is_none_or(|k| k == msg.kind());
                    if !matches {
                        continue;
                    }
                    self.rule_counts[r] += 1;
                    if self.rule_counts[r] == rule.nth {
                        match rule.action {
                            MsgAction::Drop => drop = Some(DropReason::Injected),
                            MsgAction::Duplicate => duplicate = true,
                            MsgAction::Delay(t) => delay = delay.saturating_add(t),
                        }
                    }
                }
                if duplicate {
                    let again = delay.saturating_add(self.latency(msg_id, 4));
                    let item = Item::Deliver {
                        msg_id,
                        from: node,
                        to,
                        msg: msg.clone(),
                        duplicate: true,
                        drop: None,
                    };
                    self.push(now.saturating_add(again), item);
                }
                let item = Item::Deliver {
                    msg_id,
                    from: node,
                    to,
                    msg: msg.clone(),
                    duplicate: false,
                    drop,
                };
                let arrives = now.saturating_add(delay);
                self.push(arrives, item);
                Some(self.event(Some(node), EventKind::Send { to, msg, arrives }))
            }
            Effect::SetTimer { timer, after } => {
                self.seq += 1;
                let generation = self.seq;
                let at = now.saturating_add(after);
                self.world.nodes[node.idx()].timers.insert(timer.clone(), (generation, at));
                let set_by = self.next_event;
                self.push(at, Item::Timer { node, timer: timer.clone(), generation, set_by });
                Some(self.event(Some(node), EventKind::TimerSet { timer, at }))
            }
            Effect::CancelTimer { timer } => {
                self.world.nodes[node.idx()].timers.remove(&timer)?;
                Some(self.event(Some(node), EventKind::TimerCancel { timer }))
            }
            Effect::Persist { record } => {
                self.world.nodes[node.idx()].log.push(record.clone());
                Some(self.event(Some(node), EventKind::Persist { record }))
            }
            Effect::Decide { decision } => {
                Some(self.event(Some(node), EventKind::Decide { decision }))
            }
        }
    }

    fn apply_item(&mut self, item: Item<P>) -> Option<Event<P>> {
        match item {
            Item::Fault(i) => self.apply_fault(i),
            Item::Request { node, request } => {
                if !self.world.is_up(node) {
                    return Some(self.event(Some(node), EventKind::RequestLost { request }));
                }
                let ev = self.event(Some(node), EventKind::Request { request: request.clone() });
                self.input(node, Input::Request(request));
                Some(ev)
            }
            Item::Timer { node, timer, generation, set_by } => {
                self.cause = Some(set_by);
                let slot = &mut self.world.nodes[node.idx()];
                match slot.timers.get(&timer) {
                    Some((g, _)) if *g == generation => {}
                    _ => return None, // cancelled, re-armed, or lost in a crash
                }
                slot.timers.remove(&timer);
                let ev = self.event(Some(node), EventKind::TimerFire { timer: timer.clone() });
                self.input(node, Input::Timer(timer));
                Some(ev)
            }
            Item::Deliver { msg_id, from, to, msg, duplicate, drop } => {
                self.cause = Some(msg_id);
                let reason = drop.or_else(|| {
                    if self.world.net.is_cut(from, to) {
                        Some(DropReason::Partition)
                    } else if !self.world.is_up(to) {
                        Some(DropReason::ReceiverDown)
                    } else {
                        None
                    }
                });
                if let Some(reason) = reason {
                    let kind = EventKind::Drop { from, msg, msg_id, duplicate, reason };
                    return Some(self.event(Some(to), kind));
                }
                let ev = self.event(
                    Some(to),
                    EventKind::Deliver { from, msg: msg.clone(), msg_id, duplicate },
                );
                self.input(to, Input::Message { from, msg });
                Some(ev)
            }
        }
    }

    /// Runs a handler; its effects (and a phase change) become the next events.
    fn input(&mut self, node: NodeId, input: Input<P>) {
        let cause = self.next_event; // the input's own event, being produced
        let n_nodes = self.world.nodes.len() as u32;
        let now = self.world.now;
        let mut out = std::mem::take(&mut self.out);
        let World { params, nodes, .. } = &mut self.world;
        let slot = &mut nodes[node.idx()];
        let state = slot.state.as_mut().expect("inputs are only given to nodes that are up");
        let before = P::phase(state);
        let mut ctx = Ctx { params, node, n_nodes, now, log: &slot.log, out: &mut out };
        P::on_input(&mut ctx, state, input);
        let after = P::phase(state);
        // The phase change is narrated once what makes it durable is on disk: after the
        // handler's last forced write (or decision), before the messages it sends.
        let split = out
            .iter()
            .rposition(|e| matches!(e, Effect::Persist { .. } | Effect::Decide { .. }))
            .map_or(0, |i| i + 1);
        let mut effects = out.drain(..);
        self.pending.extend(effects.by_ref().take(split).map(|e| Pending::Effect(node, e, cause)));
        if after != before {
            self.pending.push_back(Pending::Phase(node, before, after, cause));
        }
        self.pending.extend(effects.map(|e| Pending::Effect(node, e, cause)));
        self.out = out;
    }

    /// True when the always-properties all hold so far.
    pub fn safe(&self) -> bool {
        P::PROPERTIES
            .iter()
            .zip(&self.verdicts)
            .all(|(p, v)| p.kind != PropertyKind::Always || v.first.is_none())
    }
}
