//! The scenario format (versioned JSON) and its resolution into typed, checked parts.
//!
//! A scenario names nodes by their names (`"coord"`, `"p1"`); `resolve` turns names into
//! `NodeId`s and kind names into checked strings, and every problem comes back as a
//! `ScenarioError` that names the field (`faults[2].crash`) and says what is wrong.

use crate::ids::{EventId, NodeId, Time};
use crate::protocol::{NodeSpec, Protocol};
use crate::rng::Ratio;
use serde::{Deserialize, Serialize};

pub const SCENARIO_VERSION: u32 = 1;

/// A bad scenario: which field, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct ScenarioError {
    pub path: String,
    pub problem: String,
}

impl ScenarioError {
    pub fn new(path: impl Into<String>, problem: impl Into<String>) -> Self {
        ScenarioError { path: path.into(), problem: problem.into() }
    }
}

/// Everything a run depends on. The same scenario always gives the same trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub version: u32,
    pub protocol: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default)]
    pub seed: u64,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub params: serde_json::Value,
    #[serde(default)]
    pub network: NetworkSpec,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<RequestSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultSpec>,
    #[serde(default)]
    pub limits: Limits,
}

impl Scenario {
    /// Parses scenario JSON; errors name the JSON path of the bad field.
    pub fn from_json(text: &str) -> Result<Scenario, ScenarioError> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| ScenarioError::new("scenario", format!("not valid JSON: {e}")))?;
        if !value.is_object() {
            return Err(ScenarioError::new(
                "scenario",
                "expected a JSON object with \"version\", \"protocol\" and the rest",
            ));
        }
        // The version decides how the rest is read, so it is checked first.
        match value.get("version") {
            Some(v) if v.as_u64() == Some(u64::from(SCENARIO_VERSION)) => {}
            Some(v) => {
                return Err(ScenarioError::new(
                    "version",
                    format!("unknown version {v} (this build reads version {SCENARIO_VERSION})"),
                ))
            }
            None => return Err(ScenarioError::new("version", "missing (write \"version\": 1)")),
        }
        serde_path_to_error::deserialize(&value)
            .map_err(|e| ScenarioError::new(join_path("", e.path()), e.into_inner().to_string()))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a scenario always serializes")
    }

    /// A scenario for `protocol` with default parameters and no faults.
    pub fn new(protocol: &str) -> Scenario {
        Scenario {
            version: SCENARIO_VERSION,
            protocol: protocol.to_string(),
            title: None,
            seed: 1,
            params: serde_json::Value::Null,
            network: NetworkSpec::default(),
            requests: Vec::new(),
            faults: Vec::new(),
            limits: Limits::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSpec {
    /// Each message's latency is drawn (from the seed) in this range, per link and message.
    pub latency_ticks_min: Time,
    pub latency_ticks_max: Time,
    /// Random loss and duplication, as integer ratios.
    pub loss: Ratio,
    pub duplicate: Ratio,
}

impl Default for NetworkSpec {
    fn default() -> Self {
        NetworkSpec {
            latency_ticks_min: 8,
            latency_ticks_max: 12,
            loss: Ratio::NEVER,
            duplicate: Ratio::NEVER,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// The run stops at this virtual time (blocked protocols retry forever).
    pub max_ticks: Time,
    pub max_events: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_ticks: 1_000, max_events: 20_000 }
    }
}

/// A client request delivered to `node` (default: the first node) at time `at`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    #[serde(default)]
    pub at: Time,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(default)]
    pub request: serde_json::Value,
}

/// One fault: when (`at` a time, or `after` a trigger; message faults need neither) and
/// exactly one action.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<TriggerSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recover: Option<String>,
    /// Symmetric groups; nodes not listed form one more group together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<Vec<Vec<String>>>,
    /// A one-way cut: messages from `from` to `to` are lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut: Option<LinkSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heal: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop: Option<MsgSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<MsgSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<MsgSpec>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    pub from: String,
    pub to: String,
}

/// Which message a message fault applies to: the `nth` (from 1) message sent in the run
/// that matches every field given.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MsgSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nth: Option<u32>,
    /// For `delay`: extra ticks in flight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticks: Option<Time>,
}

/// A condition on the run; the fault fires right after the event that meets it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerSpec {
    /// After the event with this id (how the UI injects a fault "now").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<EventId>,
    /// After `by` has sent its `count`-th (default 1) message of this kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent: Option<String>,
    /// After `by` (or `to`, for delivered) has persisted its `count`-th record of this kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persisted: Option<String>,
    /// After `to` has received its `count`-th message of this kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered: Option<String>,
    /// After `node` enters this phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

// ---- resolved, typed forms ----

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum When {
    At(Time),
    After(Trigger),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Trigger {
    Event(EventId),
    Sent { by: NodeId, kind: &'static str, count: u32 },
    Persisted { by: NodeId, kind: &'static str, count: u32 },
    Delivered { to: NodeId, kind: &'static str, count: u32 },
    Phase { node: NodeId, phase: &'static str },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NetFault {
    Partition(Vec<Vec<NodeId>>),
    Cut { from: NodeId, to: NodeId },
    Isolate(NodeId),
    Heal,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NodeFault {
    Crash(NodeId),
    Recover(NodeId),
    Net(NetFault),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MsgAction {
    Drop,
    Duplicate,
    Delay(Time),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MsgRule {
    pub from: Option<NodeId>,
    pub to: Option<NodeId>,
    pub kind: Option<&'static str>,
    pub nth: u32,
    pub action: MsgAction,
}

/// A scenario checked against a protocol: nodes resolved, kinds known, ranges sane.
#[derive(Clone, Debug)]
pub struct Resolved<P: Protocol> {
    pub params: P::Params,
    pub nodes: Vec<NodeSpec>,
    pub seed: u64,
    pub network: NetworkSpec,
    pub limits: Limits,
    pub requests: Vec<(Time, NodeId, P::Request)>,
    pub faults: Vec<(When, NodeFault)>,
    pub msg_rules: Vec<MsgRule>,
}

pub fn resolve<P: Protocol>(s: &Scenario) -> Result<Resolved<P>, ScenarioError> {
    if s.protocol != P::NAME {
        return Err(ScenarioError::new("protocol", format!("expected \"{}\"", P::NAME)));
    }
    let params: P::Params = if s.params.is_null() {
        P::Params::default()
    } else {
        serde_path_to_error::deserialize(&s.params).map_err(|e| {
            ScenarioError::new(join_path("params", e.path()), e.into_inner().to_string())
        })?
    };
    P::validate(&params)
        .map_err(|e| ScenarioError::new(format!("params.{}", e.field), e.problem))?;
    let nodes = P::nodes(&params);
    let names = Names(&nodes);
    check_network(&s.network)?;
    let requests = s
        .requests
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let node = match &r.node {
                Some(name) => names.get(&format!("requests[{i}].node"), name)?,
                None => NodeId(0),
            };
            let empty = serde_json::Value::Object(Default::default());
            let value = if r.request.is_null() { &empty } else { &r.request };
            let request = serde_path_to_error::deserialize(value).map_err(|e| {
                let path = join_path(&format!("requests[{i}].request"), e.path());
                ScenarioError::new(path, e.into_inner().to_string())
            })?;
            Ok((r.at, node, request))
        })
        .collect::<Result<Vec<_>, ScenarioError>>()?;
    let kinds = KindLists { msgs: P::MSG_KINDS, records: P::RECORD_KINDS, phases: P::PHASES };
    let (faults, msg_rules) = resolve_plan(&s.faults, &names, &kinds)?;
    Ok(Resolved {
        params,
        nodes,
        seed: s.seed,
        network: s.network.clone(),
        limits: s.limits.clone(),
        requests,
        faults,
        msg_rules,
    })
}

/// The kinds a protocol names, for checking a fault plan (kept out of the generic
/// `resolve` so that one copy of the fault-plan code serves every protocol).
struct KindLists {
    msgs: &'static [&'static str],
    records: &'static [&'static str],
    phases: &'static [&'static str],
}

fn check_network(n: &NetworkSpec) -> Result<(), ScenarioError> {
    if n.latency_ticks_min == 0 || n.latency_ticks_max < n.latency_ticks_min {
        return Err(ScenarioError::new(
            "network.latency_ticks_min",
            "latency must be at least 1 tick and min ≤ max",
        ));
    }
    for (field, r) in [("network.loss", n.loss), ("network.duplicate", n.duplicate)] {
        if !r.is_valid() {
            return Err(ScenarioError::new(field, "a ratio needs den > 0 and num ≤ den"));
        }
    }
    Ok(())
}

type Plan = (Vec<(When, NodeFault)>, Vec<MsgRule>);

fn resolve_plan(
    plan: &[FaultSpec],
    names: &Names<'_>,
    kinds: &KindLists,
) -> Result<Plan, ScenarioError> {
    let mut faults = Vec::new();
    let mut msg_rules = Vec::new();
    for (i, f) in plan.iter().enumerate() {
        let at = |field: &str| format!("faults[{i}].{field}");
        match resolve_fault(f, names, kinds, &at)? {
            Resolution::Node(fault) => {
                let when = match (&f.at, &f.after) {
                    (Some(t), None) => When::At(*t),
                    (None, Some(t)) => When::After(resolve_trigger(t, names, kinds, &at)?),
                    (None, None) => {
                        return Err(ScenarioError::new(
                            format!("faults[{i}]"),
                            "needs \"at\" (a time) or \"after\" (a trigger)",
                        ))
                    }
                    (Some(_), Some(_)) => {
                        return Err(ScenarioError::new(
                            format!("faults[{i}]"),
                            "give either \"at\" or \"after\", not both",
                        ))
                    }
                };
                faults.push((when, fault));
            }
            Resolution::Msg(rule) => {
                if f.at.is_some() || f.after.is_some() {
                    return Err(ScenarioError::new(
                        format!("faults[{i}]"),
                        "a message fault picks its message with \"nth\"; it takes no \"at\" or \"after\"",
                    ));
                }
                msg_rules.push(rule);
            }
        }
    }
    Ok((faults, msg_rules))
}

/// `prefix.inner`, where serde's path may be the root (".") or end in an unknown place
/// ("?"): the path keeps only what is known.
fn join_path(prefix: &str, inner: &serde_path_to_error::Path) -> String {
    let inner = inner.to_string();
    let known = inner.split('?').next().unwrap_or_default().trim_matches('.');
    match (prefix.is_empty(), known.is_empty()) {
        (true, true) => "scenario".to_string(),
        (true, false) => known.to_string(),
        (false, true) => prefix.to_string(),
        (false, false) => format!("{prefix}.{known}"),
    }
}

enum Resolution {
    Node(NodeFault),
    Msg(MsgRule),
}

struct Names<'a>(&'a [NodeSpec]);

impl Names<'_> {
    fn get(&self, path: &str, name: &str) -> Result<NodeId, ScenarioError> {
        self.0.iter().position(|n| n.name == name).map(|i| NodeId(i as u32)).ok_or_else(|| {
            let known: Vec<&str> = self.0.iter().map(|n| n.name.as_str()).collect();
            ScenarioError::new(
                path,
                format!("unknown node \"{name}\" (nodes are {})", known.join(", ")),
            )
        })
    }
    fn opt(&self, path: &str, name: &Option<String>) -> Result<Option<NodeId>, ScenarioError> {
        name.as_deref().map(|n| self.get(path, n)).transpose()
    }
}

fn known_kind(
    path: &str,
    what: &str,
    kind: &str,
    kinds: &'static [&'static str],
) -> Result<&'static str, ScenarioError> {
    kinds.iter().copied().find(|k| *k == kind).ok_or_else(|| {
        ScenarioError::new(path, format!("unknown {what} \"{kind}\" (known: {})", kinds.join(", ")))
    })
}

fn resolve_fault(
    f: &FaultSpec,
    names: &Names<'_>,
    kinds: &KindLists,
    at: &dyn Fn(&str) -> String,
) -> Result<Resolution, ScenarioError> {
    let mut actions = Vec::new();
    if let Some(n) = &f.crash {
        actions.push(Resolution::Node(NodeFault::Crash(names.get(&at("crash"), n)?)));
    }
    if let Some(n) = &f.recover {
        actions.push(Resolution::Node(NodeFault::Recover(names.get(&at("recover"), n)?)));
    }
    if let Some(groups) = &f.partition {
        let mut resolved = Vec::new();
        for (g, group) in groups.iter().enumerate() {
            let ids = group
                .iter()
                .enumerate()
                .map(|(k, n)| names.get(&at(&format!("partition[{g}][{k}]")), n))
                .collect::<Result<Vec<_>, _>>()?;
            resolved.push(ids);
        }
        if resolved.iter().all(|g| g.is_empty()) {
            return Err(ScenarioError::new(at("partition"), "name at least one node"));
        }
        let mut seen = Vec::new();
        for (g, group) in groups.iter().enumerate() {
            for (k, name) in group.iter().enumerate() {
                if seen.contains(&name) {
                    return Err(ScenarioError::new(
                        at(&format!("partition[{g}][{k}]")),
                        format!("\"{name}\" is listed twice: each node is in one group"),
                    ));
                }
                seen.push(name);
            }
        }
        actions.push(Resolution::Node(NodeFault::Net(NetFault::Partition(resolved))));
    }
    if let Some(link) = &f.cut {
        let from = names.get(&at("cut.from"), &link.from)?;
        let to = names.get(&at("cut.to"), &link.to)?;
        if from == to {
            return Err(ScenarioError::new(at("cut.to"), "a cut needs two different nodes"));
        }
        actions.push(Resolution::Node(NodeFault::Net(NetFault::Cut { from, to })));
    }
    if let Some(n) = &f.isolate {
        actions.push(Resolution::Node(NodeFault::Net(NetFault::Isolate(
            names.get(&at("isolate"), n)?,
        ))));
    }
    if let Some(heal) = f.heal {
        if !heal {
            return Err(ScenarioError::new(at("heal"), "write \"heal\": true"));
        }
        actions.push(Resolution::Node(NodeFault::Net(NetFault::Heal)));
    }
    for (field, spec, action) in [
        ("drop", &f.drop, MsgAction::Drop),
        ("duplicate", &f.duplicate, MsgAction::Duplicate),
        ("delay", &f.delay, MsgAction::Delay(0)),
    ] {
        let Some(m) = spec else { continue };
        let action = match action {
            MsgAction::Delay(_) => match m.ticks {
                Some(t) if t > 0 => MsgAction::Delay(t),
                _ => {
                    return Err(ScenarioError::new(
                        at("delay.ticks"),
                        "a delay needs \"ticks\" ≥ 1",
                    ))
                }
            },
            other => {
                if m.ticks.is_some() {
                    return Err(ScenarioError::new(
                        at(&format!("{field}.ticks")),
                        "only \"delay\" takes ticks",
                    ));
                }
                other
            }
        };
        let kind = m
            .kind
            .as_deref()
            .map(|k| known_kind(&at(&format!("{field}.type")), "message type", k, kinds.msgs))
            .transpose()?;
        let nth = m.nth.unwrap_or(1);
        if nth == 0 {
            return Err(ScenarioError::new(at(&format!("{field}.nth")), "counts from 1"));
        }
        actions.push(Resolution::Msg(MsgRule {
            from: names.opt(&at(&format!("{field}.from")), &m.from)?,
            to: names.opt(&at(&format!("{field}.to")), &m.to)?,
            kind,
            nth,
            action,
        }));
    }
    match actions.len() {
        1 => Ok(actions.pop().expect("one action")),
        0 => Err(ScenarioError::new(
            at("").trim_end_matches('.').to_string(),
            "needs one action: crash, recover, partition, cut, isolate, heal, drop, duplicate or delay",
        )),
        _ => Err(ScenarioError::new(
            at("").trim_end_matches('.').to_string(),
            "has more than one action; write one fault per entry",
        )),
    }
}

fn resolve_trigger(
    t: &TriggerSpec,
    names: &Names<'_>,
    kinds: &KindLists,
    at: &dyn Fn(&str) -> String,
) -> Result<Trigger, ScenarioError> {
    let count = t.count.unwrap_or(1);
    if count == 0 {
        return Err(ScenarioError::new(at("after.count"), "counts from 1"));
    }
    let need = |field: &str, v: &Option<String>| -> Result<NodeId, ScenarioError> {
        match v {
            Some(name) => names.get(&at(&format!("after.{field}")), name),
            None => Err(ScenarioError::new(at("after"), format!("this trigger needs \"{field}\""))),
        }
    };
    let n_given = [
        t.event.is_some(),
        t.sent.is_some(),
        t.persisted.is_some(),
        t.delivered.is_some(),
        t.phase.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if n_given != 1 {
        return Err(ScenarioError::new(
            at("after"),
            "needs exactly one of event, sent, persisted, delivered, phase",
        ));
    }
    Ok(if let Some(e) = t.event {
        Trigger::Event(e)
    } else if let Some(kind) = &t.sent {
        let kind = known_kind(&at("after.sent"), "message type", kind, kinds.msgs)?;
        Trigger::Sent { by: need("by", &t.by)?, kind, count }
    } else if let Some(kind) = &t.persisted {
        let kind = known_kind(&at("after.persisted"), "log record", kind, kinds.records)?;
        Trigger::Persisted { by: need("by", &t.by)?, kind, count }
    } else if let Some(kind) = &t.delivered {
        let kind = known_kind(&at("after.delivered"), "message type", kind, kinds.msgs)?;
        Trigger::Delivered { to: need("to", &t.to)?, kind, count }
    } else {
        let phase = t.phase.as_deref().unwrap_or_default();
        let phase = known_kind(&at("after.phase"), "phase", phase, kinds.phases)?;
        Trigger::Phase { node: need("node", &t.node)?, phase }
    })
}
