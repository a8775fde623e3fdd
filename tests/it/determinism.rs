//! Every run is a pure function of its scenario: the same scenario gives the same trace
//! (and the golden hashes the wasm tests check too), any moment rebuilt from a snapshot is
//! the moment the run went through, and every narration is true of its run.

use commitscope_engine::erased::AnyRun;
use commitscope_engine::sweep::{random_scenario, SweepConfig};
use commitscope_engine::trace::SNAPSHOT_EVERY;
use commitscope_engine::{DropReason, EventKind, NodeId, Protocol, Run, Scenario, Simulator};
use commitscope_protocols::presets::ALL as PRESETS;
use commitscope_protocols::TwoPc;
use commitscope_tests::{name, run_json, trace};
use std::collections::BTreeMap;

const BASE: &str = r#"{"version": 1, "protocol": "two_pc", "params": {"participants": 3},
                      "requests": [{"request": {"transfer": 100}}]}"#;

/// The 2PC presets, and a few random fault schedules (crashes, partitions, loss, duplicates).
fn scenarios() -> Vec<(String, Scenario)> {
    let mut all: Vec<(String, Scenario)> = PRESETS
        .iter()
        .filter(|p| p.id.starts_with("two_pc/"))
        .map(|p| (p.id.to_string(), p.scenario()))
        .collect();
    let base = Scenario::from_json(BASE).expect("the base scenario is valid");
    for seed in [3, 17, 42, 99, 1234] {
        let s = random_scenario::<TwoPc>(&base, seed, &SweepConfig::default());
        all.push((format!("sweep seed {seed}"), s));
    }
    all
}

fn run_of(s: &Scenario) -> Box<dyn AnyRun> {
    commitscope_protocols::run(s).expect("the scenario is valid")
}

#[test]
fn same_scenario_twice_gives_the_same_trace() {
    let every_preset = PRESETS.iter().map(|p| (p.id.to_string(), p.scenario()));
    for (id, s) in scenarios().into_iter().chain(every_preset) {
        let (a, b) = (run_of(&s), run_of(&s));
        assert_eq!(a.trace_hash(), b.trace_hash(), "{id}");
        assert_eq!(a.events(), b.events(), "{id}");
        // A share link is just the scenario: through JSON and back, the same run.
        let again = Scenario::from_json(&s.to_json()).expect("a scenario round-trips");
        assert_eq!(run_of(&again).trace_hash(), a.trace_hash(), "{id} after a JSON round trip");
    }
}

#[test]
fn the_hash_depends_on_the_seed() {
    // Latency is drawn from the seed: different seeds must give different traces.
    let hashes: std::collections::BTreeSet<u64> = (1..=10)
        .map(|seed| {
            let json = format!(
                r#"{{"version": 1, "protocol": "two_pc", "seed": {seed},
                    "requests": [{{"request": {{"transfer": 100}}}}]}}"#
            );
            run_json(&json).trace_hash()
        })
        .collect();
    assert!(hashes.len() >= 9, "only {} distinct hashes for 10 seeds", hashes.len());
}

#[test]
fn preset_hashes_match_the_golden_file() {
    let text = include_str!("../golden/trace_hashes.json");
    let golden: BTreeMap<String, String> =
        serde_json::from_str(text).expect("the golden file is a flat JSON object id -> hash");
    let actual: BTreeMap<String, String> = PRESETS
        .iter()
        .map(|p| (p.id.to_string(), format!("{:016x}", run_of(&p.scenario()).trace_hash())))
        .collect();
    for hash in golden.values() {
        assert!(
            hash.len() == 16
                && hash.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
            "golden hashes are 16 lower-case hex digits: {hash}"
        );
    }
    assert_eq!(
        golden,
        actual,
        "trace hashes changed; if the change is intended, the golden file becomes:\n{}",
        serde_json::to_string_pretty(&actual).unwrap_or_default()
    );
}

fn views(sim: &Simulator<TwoPc>) -> Vec<commitscope_engine::NodeView> {
    (0..sim.world.nodes.len() as u32).map(|n| TwoPc::view(&sim.world, NodeId(n))).collect()
}

#[test]
fn rewinding_rebuilds_exactly_the_moment_the_run_went_through() {
    let mut long_runs = 0;
    for (id, s) in scenarios() {
        let run = Run::<TwoPc>::from_scenario(&s).expect("valid");
        let mut fresh = Simulator::<TwoPc>::from_scenario(&s).expect("valid");
        assert_eq!(views(&run.at(None)), views(&fresh), "{id}: before the first event");
        if run.events.len() > 2 * SNAPSHOT_EVERY {
            long_runs += 1;
        }
        for (i, recorded) in run.events.iter().enumerate() {
            let stepped = fresh.step();
            assert_eq!(stepped.as_ref(), Some(recorded), "{id}: event {i}");
            let rebuilt = run.at(Some(i as u32));
            assert_eq!(views(&rebuilt), views(&fresh), "{id}: views after event {i}");
            assert_eq!(rebuilt.verdicts(), fresh.verdicts(), "{id}: verdicts after event {i}");
            assert_eq!(rebuilt.events_so_far(), i as u32 + 1, "{id}: after event {i}");
            assert_eq!(rebuilt.world.net, fresh.world.net, "{id}: network after event {i}");
            assert_eq!(rebuilt.blocked_spans(), fresh.blocked_spans(), "{id}: blocked after {i}");
            // And the rebuilt moment goes on exactly as the run did.
            let mut next = rebuilt;
            assert_eq!(next.step(), run.events.get(i + 1).cloned(), "{id}: event after {i}");
        }
        assert_eq!(fresh.step(), None, "{id}: the recorded run has every event");
    }
    assert!(long_runs >= 3, "some runs cross several snapshots ({long_runs})");
}

/// Checks every narration of `run` against what the run records and the world rebuilt at
/// that moment. Returns what it saw ("drop partition", "deliver duplicate", "crash", ...).
fn check_narrations(id: &str, s: &Scenario) -> std::collections::BTreeSet<String> {
    let mut seen = std::collections::BTreeSet::new();
    let typed = Run::<TwoPc>::from_scenario(s).expect("valid");
    let run = run_of(s);
    let events = run.events();
    let fail = |i: usize, what: &str| format!("{id}: #{i} {what}\n{}", trace(&*run));
    for (i, e) in events.iter().enumerate() {
        let here = e.node.map_or("", |n| name(&*run, n));
        let peer = e.peer.map_or("?", |n| name(&*run, n));
        let before = typed.at(i.checked_sub(1).map(|j| j as u32));
        let after = typed.at(Some(i as u32));
        seen.insert(match (e.drop_reason, e.duplicate) {
            (Some(r), _) => format!("drop {r:?}"),
            (None, true) => format!("{} duplicate", e.kind),
            (None, false) => e.kind.to_string(),
        });
        match e.kind {
            "send" => {
                let said = format!("{here} sends {} to {peer}", e.label);
                assert!(e.narration.starts_with(&said), "{}", fail(i, &e.narration));
            }
            "deliver" | "drop" => {
                let sent = &events[e.msg_id.expect("a delivery names its message") as usize];
                assert_eq!(sent.kind, "send", "{}", fail(i, "the message id is a send"));
                assert_eq!((sent.node, sent.peer), (e.peer, e.node), "{}", fail(i, &e.narration));
                assert_eq!(sent.label, e.label, "{}", fail(i, &e.narration));
                assert_eq!(e.cause, e.msg_id, "{}", fail(i, "a delivery's cause is its send"));
                if e.kind == "deliver" && !e.duplicate {
                    assert_eq!(
                        sent.arrives,
                        Some(e.time),
                        "{}",
                        fail(i, "arrives when the send said")
                    );
                }
                assert!(
                    sent.arrives.is_some_and(|t| t <= e.time),
                    "{}",
                    fail(i, "arrives after it is sent")
                );
                if e.kind == "deliver" {
                    let said = format!("{here} receives {} from {peer}", e.label);
                    assert!(e.narration.starts_with(&said), "{}", fail(i, &e.narration));
                    assert!(
                        after.world.is_up(NodeId(e.node.unwrap_or(0))),
                        "{}",
                        fail(i, "delivered to a live node")
                    );
                } else {
                    let reason = e.drop_reason.expect("a drop has a reason");
                    let copy = if e.duplicate { " (a duplicate copy)" } else { "" };
                    let said = format!(
                        "{}{copy} from {peer} to {here} is lost: {}",
                        e.label,
                        reason.describe()
                    );
                    assert_eq!(e.narration, said, "{}", fail(i, "drop narration"));
                    let (from, to) = (NodeId(e.peer.unwrap_or(0)), NodeId(e.node.unwrap_or(0)));
                    let true_reason = match reason {
                        DropReason::Partition => before.world.net.is_cut(from, to),
                        DropReason::ReceiverDown => !before.world.is_up(to),
                        DropReason::Injected => s.faults.iter().any(|f| f.drop.is_some()),
                        DropReason::Random => s.network.loss.num > 0,
                    };
                    assert!(true_reason, "{}", fail(i, &format!("the reason {reason:?} is false")));
                }
            }
            "persist" => {
                let said = format!("{here} forces {} to its log", e.label);
                assert!(e.narration.starts_with(&said), "{}", fail(i, &e.narration));
                let node = after.world.node(NodeId(e.node.unwrap_or(0)));
                assert_eq!(
                    node.log.last().map(|r| r.to_string()),
                    Some(e.label.clone()),
                    "{}",
                    fail(i, "logged")
                );
            }
            "decide" => {
                assert_eq!(
                    e.narration,
                    format!("{here} decides {}", e.label),
                    "{}",
                    fail(i, "decide")
                );
            }
            "crash" => {
                assert!(
                    before.world.is_up(NodeId(e.node.unwrap_or(0))),
                    "{}",
                    fail(i, "a live node crashes")
                );
                assert!(
                    !after.world.is_up(NodeId(e.node.unwrap_or(0))),
                    "{}",
                    fail(i, "down after a crash")
                );
            }
            "recover" => {
                let node = after.world.node(NodeId(e.node.unwrap_or(0)));
                assert!(node.is_up(), "{}", fail(i, "up after recovering"));
                let n = node.log.len();
                let said = format!("({n} record{})", if n == 1 { "" } else { "s" });
                assert!(
                    e.narration.ends_with(&said),
                    "{}",
                    fail(i, &format!("{} but the log has {n}", e.narration))
                );
            }
            "timer_fire" => {
                let set = &events[e.cause.expect("a timer's cause is its setting") as usize];
                assert_eq!(
                    (set.kind, set.node, &set.label),
                    ("timer_set", e.node, &e.label),
                    "{}",
                    fail(i, "timer")
                );
                assert!(
                    set.narration.ends_with(&format!("to fire at t={}", e.time)),
                    "{}",
                    fail(i, &set.narration)
                );
            }
            "phase" => {
                let shown = TwoPc::view(&after.world, NodeId(e.node.unwrap_or(0))).phase;
                assert_eq!(Some(shown.as_str()), e.subkind, "{}", fail(i, "phase shown"));
                assert!(e.narration.starts_with(&format!("{here}: ")), "{}", fail(i, &e.narration));
                assert!(e.narration.ends_with(&format!("→ {shown}")), "{}", fail(i, &e.narration));
            }
            _ => {}
        }
        // The typed trace and the erased one agree.
        let kind = &typed.events[i].kind;
        assert_eq!(kind.name(), e.kind, "{}", fail(i, "kind"));
        if let EventKind::Network(_) = kind {
            assert_eq!(e.node, None, "{}", fail(i, "network events are not at a node"));
        }
    }
    seen
}

#[test]
fn narrations_are_true_of_their_run() {
    let mut seen = std::collections::BTreeSet::new();
    for (id, s) in scenarios() {
        seen.extend(check_narrations(&id, &s));
    }
    // The check is not vacuous: it met every kind of event and every reason for a loss.
    for kind in [
        "send",
        "deliver",
        "deliver duplicate",
        "drop Partition",
        "drop ReceiverDown",
        "drop Injected",
        "drop Random",
        "persist",
        "decide",
        "crash",
        "recover",
        "timer_fire",
        "phase",
        "network",
    ] {
        assert!(seen.contains(kind), "no {kind} event among {seen:?}");
    }
}

#[test]
fn a_lost_duplicate_copy_is_narrated_as_a_copy() {
    // p1's VoteYes is duplicated, and p1 → coord is cut right after it is sent: both copies
    // are lost. The user sees one message and two losses; the second loss must say that it
    // is the duplicate copy (as a delivered copy does), not look like a second message.
    let run = run_json(
        r#"{"version": 1, "protocol": "two_pc", "seed": 1,
            "requests": [{"request": {"transfer": 100}}],
            "faults": [{"duplicate": {"from": "p1", "type": "vote_yes"}},
                       {"after": {"sent": "vote_yes", "by": "p1"}, "cut": {"from": "p1", "to": "coord"}}]}"#,
    );
    let drops: Vec<_> =
        run.events().iter().filter(|e| e.kind == "drop" && e.label == "VoteYes(t1.1)").collect();
    assert_eq!(drops.len(), 2, "{}", trace(&*run));
    assert_eq!(drops[0].msg_id, drops[1].msg_id, "one message, two copies");
    assert_eq!(
        drops.iter().map(|d| d.duplicate).collect::<Vec<_>>(),
        [false, true],
        "{}",
        trace(&*run)
    );
    assert!(drops[1].narration.contains("duplicate"), "{}", drops[1].narration);
}

#[test]
fn a_partition_narration_says_which_links_are_cut() {
    // Two partitions in a row: the second narration names the sides; a message between two
    // nodes it puts on the same side must not then be lost "because the network is
    // partitioned" (either the new partition replaces the old, or the narration must say
    // that the old cuts remain).
    let run = run_json(
        r#"{"version": 1, "protocol": "two_pc",
            "requests": [{"at": 5, "request": {"transfer": 100}}],
            "faults": [{"at": 0, "partition": [["p1"]]}, {"at": 1, "partition": [["p2"]]}],
            "limits": {"max_ticks": 100}}"#,
    );
    let mut sides: Vec<Vec<String>> = Vec::new();
    for e in run.events() {
        if let Some(groups) = e.narration.strip_prefix("the network partitions into ") {
            sides = groups
                .split(" | ")
                .map(|g| g.trim_matches(['{', '}']).split(", ").map(String::from).collect())
                .collect();
        }
        if e.drop_reason == Some(DropReason::Partition) {
            let (from, to) = (name(&*run, e.peer.unwrap_or(0)), name(&*run, e.node.unwrap_or(0)));
            let together =
                sides.iter().any(|g| g.iter().any(|n| n == from) && g.iter().any(|n| n == to));
            assert!(!together, "#{} {}\nbut the last partition narration put {from} and {to} together: {sides:?}\n{}", e.id, e.narration, trace(&*run));
        }
    }
}
