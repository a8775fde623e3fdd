//! Shared helpers for the cross-crate tests: run a scenario, then read what a user would
//! see of it — each node's decision and log, the property verdicts, the blocked monitor,
//! the messages sent and dropped — as plain text that a test compares in one place.

use commitscope_engine::erased::{AnyRun, EventInfo};
use commitscope_engine::{NodeView, Scenario, ScenarioError};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Parses and runs scenario JSON of any protocol.
pub fn try_run_json(json: &str) -> Result<Box<dyn AnyRun>, ScenarioError> {
    let scenario = Scenario::from_json(json)?;
    commitscope_protocols::run(&scenario)
}

/// Parses and runs scenario JSON; a rejected scenario fails the test with its error.
pub fn run_json(json: &str) -> Box<dyn AnyRun> {
    try_run_json(json).unwrap_or_else(|e| panic!("the scenario was rejected: {e}\n{json}"))
}

/// Runs one of the shipped presets by id (`two_pc/happy_path`).
pub fn run_preset(id: &str) -> Box<dyn AnyRun> {
    let preset =
        commitscope_protocols::presets::find(id).unwrap_or_else(|| panic!("no preset {id}"));
    run_json(preset.json)
}

/// The scenario error for JSON that must be rejected (a run of it fails the test).
pub fn scenario_error(json: &str) -> ScenarioError {
    match try_run_json(json) {
        Ok(_) => panic!("the scenario was accepted, but it is bad:\n{json}"),
        Err(e) => e,
    }
}

/// Every node's view after the last event.
pub fn final_views(run: &dyn AnyRun) -> Vec<NodeView> {
    run.views_at(run.events().last().map(|e| e.id))
}

/// Each node's final decision as its card shows it ("COMMIT t1.1"), "undecided", or
/// "down" for a node that is down at the end.
pub fn decisions(run: &dyn AnyRun) -> BTreeMap<String, String> {
    final_views(run)
        .into_iter()
        .map(|v| {
            let d = match (&v.decision, v.up) {
                (_, false) => "down".to_string(),
                (Some(d), true) => d.clone(),
                (None, true) => "undecided".to_string(),
            };
            (v.name, d)
        })
        .collect()
}

/// Each node's durable log at the end, oldest record first.
pub fn logs(run: &dyn AnyRun) -> BTreeMap<String, Vec<String>> {
    final_views(run).into_iter().map(|v| (v.name, v.log)).collect()
}

/// Each property's verdict as the CLI prints it: "holds", "violated at #12: ...",
/// "witnessed at #26", "not witnessed".
pub fn verdicts(run: &dyn AnyRun) -> BTreeMap<&'static str, String> {
    use commitscope_engine::PropertyKind::{Always, Sometimes};
    run.properties()
        .into_iter()
        .map(|p| {
            let v = match (p.kind, p.first) {
                (Always, None) => "holds".to_string(),
                (Always, Some(e)) => format!("violated at #{e}: {}", p.message.unwrap_or_default()),
                (Sometimes, None) => "not witnessed".to_string(),
                (Sometimes, Some(e)) => format!("witnessed at #{e}"),
            };
            (p.id, v)
        })
        .collect()
}

/// The always-properties that were violated, with their messages.
pub fn violations(run: &dyn AnyRun) -> Vec<String> {
    verdicts(run)
        .into_iter()
        .filter(|(_, v)| v.starts_with("violated"))
        .map(|(id, v)| format!("{id} {v}"))
        .collect()
}

/// The name of node `id` in this run.
pub fn name(run: &dyn AnyRun, id: u32) -> &str {
    &run.nodes()[id as usize].name
}

/// Selects events: `Sel::kind("send").of("commit").at("coord").peer("p2")`.
#[derive(Clone, Debug, Default)]
pub struct Sel<'a> {
    kind: Option<&'a str>,
    sub: Option<&'a str>,
    at: Option<&'a str>,
    peer: Option<&'a str>,
}

impl<'a> Sel<'a> {
    pub fn kind(kind: &'a str) -> Self {
        Sel { kind: Some(kind), ..Sel::default() }
    }
    pub fn of(self, sub: &'a str) -> Self {
        Sel { sub: Some(sub), ..self }
    }
    /// The node where the event happens (the sender of a send, the receiver of a delivery).
    pub fn at(self, node: &'a str) -> Self {
        Sel { at: Some(node), ..self }
    }
    /// The other end of a message.
    pub fn peer(self, node: &'a str) -> Self {
        Sel { peer: Some(node), ..self }
    }
    pub fn matches(&self, run: &dyn AnyRun, e: &EventInfo) -> bool {
        let node_is = |want: Option<&str>, got: Option<u32>| {
            want.is_none_or(|w| got.is_some_and(|g| name(run, g) == w))
        };
        self.kind.is_none_or(|k| k == e.kind)
            && self.sub.is_none_or(|s| e.subkind == Some(s))
            && node_is(self.at, e.node)
            && node_is(self.peer, e.peer)
    }
}

/// The events `sel` selects, in trace order.
pub fn select<'r>(run: &'r dyn AnyRun, sel: &Sel<'_>) -> Vec<&'r EventInfo> {
    run.events().iter().filter(|e| sel.matches(run, e)).collect()
}

/// How many events `sel` selects.
pub fn count(run: &dyn AnyRun, sel: &Sel<'_>) -> usize {
    select(run, sel).len()
}

/// The first event `sel` selects; fails the test when there is none.
pub fn first<'r>(run: &'r dyn AnyRun, sel: &Sel<'_>) -> &'r EventInfo {
    select(run, sel)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no event matches {sel:?}\n{}", trace(run)))
}

/// The trace as the CLI prints it: `#id t=time node kind narration`, one line per event.
pub fn trace(run: &dyn AnyRun) -> String {
    let mut out = String::new();
    for e in run.events() {
        let node = e.node.map_or("", |n| name(run, n));
        let _ =
            writeln!(out, "#{:<4} t={:<5} {node:<6} {:<12} {}", e.id, e.time, e.kind, e.narration);
    }
    out
}

/// What a user sees at the end of a run, as text: how it ended, each node's phase,
/// decision and log, who is blocked and why, and every property's verdict.
pub fn summary(run: &dyn AnyRun) -> String {
    let mut out = String::new();
    let last_time = run.events().last().map_or(0, |e| e.time);
    let _ = writeln!(out, "end: {:?} at t={last_time}", run.end());
    for v in final_views(run) {
        let decision = v.decision.as_deref().unwrap_or("-");
        let _ = writeln!(out, "{}: {} · {decision} · log [{}]", v.name, v.phase, v.log.join(", "));
        if let Some(b) = &v.blocked {
            let _ = writeln!(out, "  {b}");
        }
    }
    for (id, v) in verdicts(run) {
        let _ = writeln!(out, "{id}: {v}");
    }
    out
}

/// The one check of the scenario tests: the run's summary must be exactly `expect`
/// (leading indentation and blank edges ignored). On a mismatch it prints the actual
/// summary and the trace, so a failure explains itself.
pub fn check(run: &dyn AnyRun, expect: &str) {
    let want: Vec<&str> = expect.trim().lines().map(str::trim).collect();
    let got = summary(run);
    let got_lines: Vec<&str> = got.trim().lines().map(str::trim).collect();
    assert!(
        want == got_lines,
        "summary differs.\n--- expected\n{}\n--- actual\n{got}\n--- trace\n{}",
        want.join("\n"),
        trace(run)
    );
}
