//! Paxos Commit: one test per path — the fault-free run, a no vote, the leader's crash and
//! takeover, F and F+1 acceptor crashes, a refused old leader, acceptor and RM recovery,
//! duplicates, F = 0 against 2PC, Faster Paxos Commit — and random sweeps: with at most F
//! acceptors down at a time nothing breaks, nobody blocks and everyone decides; with any
//! faults at all nothing breaks and everyone decides once the faults stop.

use commitscope_engine::scenario::{resolve, FaultSpec, MsgSpec, RequestSpec};
use commitscope_engine::sweep::{random_scenario, SweepConfig};
use commitscope_engine::{
    EventKind, NodeId, PropertyKind, Protocol, Ratio, Rng, RunEnd, Scenario, Simulator,
};
use commitscope_protocols::paxos_commit::{Basis, Layout, Msg};
use commitscope_protocols::PaxosCommit;
use std::collections::{BTreeMap, BTreeSet};

// ---- random sweeps ----

/// What a sweep saw, to show it is not vacuous.
#[derive(Debug, Default)]
struct Seen {
    counts: BTreeMap<&'static str, u32>,
}

impl Seen {
    fn add(&mut self, what: &'static str) {
        *self.counts.entry(what).or_default() += 1;
    }
    fn get(&self, what: &str) -> u32 {
        self.counts.get(what).copied().unwrap_or(0)
    }
}

/// Runs a scenario to its end; `Err` names the first violated always-property, or the
/// liveness problem; `blocked_is_error`: any progress-monitor span is an error too.
fn check_run(s: &Scenario, seen: &mut Seen, blocked_is_error: bool) -> Result<(), String> {
    let mut sim = Simulator::<PaxosCommit>::from_scenario(s).map_err(|e| e.to_string())?;
    while let Some(ev) = sim.step() {
        match &ev.kind {
            EventKind::Crash if ev.node == Some(NodeId(0)) => seen.add("initial leader crashes"),
            EventKind::Crash => seen.add("other crashes"),
            EventKind::Send { msg: Msg::Phase1a { .. }, .. } if ev.node == Some(NodeId(0)) => {
                seen.add("initial leader starts a higher ballot")
            }
            EventKind::Send { msg: Msg::Phase1a { .. }, .. } => seen.add("takeover ballot"),
            EventKind::Send { msg: Msg::Nack { .. }, .. } => seen.add("nack"),
            EventKind::Send { msg: Msg::DecisionRequest { .. }, .. } => {
                seen.add("decision request")
            }
            EventKind::Decide { decision } => {
                seen.add(match decision.outcome {
                    commitscope_protocols::common::Outcome::Commit => "commit",
                    commitscope_protocols::common::Outcome::Abort => "abort",
                });
                if decision.basis == Basis::Learned {
                    seen.add("learned from phase 2b");
                }
            }
            _ => {}
        }
    }
    for (spec, v) in PaxosCommit::PROPERTIES.iter().zip(sim.verdicts()) {
        if let (PropertyKind::Always, Some((at, msg))) = (spec.kind, &v.first) {
            return Err(format!("{} violated at #{at}: {msg}", spec.id));
        }
    }
    if blocked_is_error {
        if let Some(b) = sim.blocked_spans().first() {
            return Err(format!("{} was blocked: {}", sim.world.name(b.node), b.why));
        }
    }
    if !sim.blocked_spans().is_empty() {
        seen.add("blocked for a while");
    }
    match sim.end() {
        Some(RunEnd::Quiescent) => {}
        end => return Err(format!("did not settle: {end:?}")),
    }
    PaxosCommit::settled(&sim.world).map_err(|e| format!("not live after the faults: {e}"))
}

fn base(params: &str) -> Scenario {
    Scenario::from_json(&format!(
        r#"{{"version": 1, "protocol": "paxos_commit", "params": {params},
            "requests": [{{"request": {{"transfer": 100}}}}]}}"#
    ))
    .expect("the sweep's base scenario is valid")
}

/// A random schedule in which at most F acceptors are down at any moment, and any node may
/// crash and recover any number of times otherwise (the leader included: it is acceptor
/// a0): 1 to 3 transactions, up to 16 timed crashes/recoveries in the first 400 ticks, random
/// loss and duplication, a few dropped, duplicated or delayed messages; then every node
/// recovers (random loss stays on) and the run must settle with every RM decided.
fn bounded_crash_scenario(base: &Scenario, seed: u64) -> Scenario {
    let params = resolve::<PaxosCommit>(base).expect("valid").params;
    let lay = Layout::of(&params);
    let names: Vec<String> = PaxosCommit::nodes(&params).into_iter().map(|n| n.name).collect();
    let is_acceptor = |n: u32| lay.acceptor_of(NodeId(n)).is_some();
    let f = lay.n_acceptors / 2;
    let mut rng = Rng::new(seed);
    let mut s = base.clone();
    s.seed = seed;
    s.network.loss = Ratio::new(rng.below(3) as u32, 20);
    s.network.duplicate = Ratio::new(rng.below(3) as u32, 20);
    let request = base.requests[0].request.clone();
    s.requests = (0..1 + rng.below(3))
        .map(|_| RequestSpec { at: rng.below(200), node: None, request: request.clone() })
        .collect();
    s.faults.clear();
    let mut times: Vec<u64> = (0..rng.below(17)).map(|_| rng.below(400)).collect();
    times.sort();
    let mut down: BTreeSet<u32> = BTreeSet::new();
    for at in times {
        let n = rng.below(names.len() as u64) as u32;
        let name = names[n as usize].clone();
        let at = Some(at);
        if down.remove(&n) {
            s.faults.push(FaultSpec { at, recover: Some(name), ..FaultSpec::default() });
        } else if !is_acceptor(n) || (down.iter().filter(|d| is_acceptor(**d)).count() as u32) < f
        {
            down.insert(n);
            s.faults.push(FaultSpec { at, crash: Some(name), ..FaultSpec::default() });
        }
    }
    for _ in 0..rng.below(3) {
        let kind = PaxosCommit::MSG_KINDS[rng.below(PaxosCommit::MSG_KINDS.len() as u64) as usize];
        let m = MsgSpec {
            kind: Some(kind.to_string()),
            nth: Some(1 + rng.below(3) as u32),
            ..MsgSpec::default()
        };
        s.faults.push(match rng.below(3) {
            0 => FaultSpec { drop: Some(m), ..FaultSpec::default() },
            1 => FaultSpec { duplicate: Some(m), ..FaultSpec::default() },
            _ => FaultSpec {
                delay: Some(MsgSpec { ticks: Some(1 + rng.below(150)), ..m }),
                ..FaultSpec::default()
            },
        });
    }
    for name in &names {
        s.faults.push(FaultSpec {
            at: Some(400),
            recover: Some(name.clone()),
            ..FaultSpec::default()
        });
    }
    s.limits.max_ticks = 4_400;
    s.limits.max_events = 200_000;
    s
}

/// The sweep's shapes: F = 1 and 2, acceptors apart or with the RMs, Paxos Commit and
/// Faster Paxos Commit.
const SHAPES: &[&str] = &[
    r#"{"resource_managers": 3, "faults": 1}"#,
    r#"{"resource_managers": 3, "faults": 1, "faster": true}"#,
    r#"{"resource_managers": 3, "faults": 1, "colocated": true}"#,
    r#"{"resource_managers": 2, "faults": 2}"#,
    r#"{"resource_managers": 5, "faults": 2, "colocated": true, "faster": true}"#,
];

const BOUNDED_SCHEDULES_PER_SHAPE: u64 = 1_000;

#[test]
fn at_most_f_acceptors_down_nothing_breaks_nobody_blocks_everyone_decides() {
    let results: Vec<(Seen, Vec<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = SHAPES
            .iter()
            .map(|shape| {
                scope.spawn(move || {
                    let base = base(shape);
                    let mut seen = Seen::default();
                    let mut failures = Vec::new();
                    for seed in 1..=BOUNDED_SCHEDULES_PER_SHAPE {
                        let s = bounded_crash_scenario(&base, seed);
                        if let Err(e) = check_run(&s, &mut seen, true) {
                            failures.push(format!("{shape} seed {seed}: {e}\n{}", s.to_json()));
                            if failures.len() >= 2 {
                                break;
                            }
                        }
                    }
                    (seen, failures)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a sweep thread panicked")).collect()
    });
    let failures: Vec<&String> = results.iter().flat_map(|(_, f)| f).collect();
    assert!(failures.is_empty(), "{}", failures.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n\n"));
    for ((seen, _), shape) in results.iter().zip(SHAPES) {
        eprintln!("bounded sweep {shape}: {:?}", seen.counts);
        for what in ["initial leader crashes", "takeover ballot", "commit", "abort", "decision request"] {
            assert!(seen.get(what) > 0, "{shape}: never saw {what}: {:?}", seen.counts);
        }
    }
    // The initial leader restarts its own ballots, and old leaders get refused.
    let total = |what: &str| results.iter().map(|(s, _)| s.get(what)).sum::<u32>();
    assert!(total("initial leader starts a higher ballot") > 0);
    assert!(total("nack") > 0);
    assert!(total("learned from phase 2b") > 0);
}

#[test]
fn any_faults_at_all_never_break_safety_and_everyone_decides_once_they_stop() {
    // The engine's sweep: crashes of any node any number of times (so more than F acceptors
    // at once), partitions, cuts, loss, duplicates, dropped messages; then everything heals.
    let cfg = SweepConfig::default();
    let results: Vec<(Seen, Vec<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = SHAPES[..3]
            .iter()
            .map(|shape| {
                let cfg = &cfg;
                scope.spawn(move || {
                    let base = base(shape);
                    let mut seen = Seen::default();
                    let mut failures = Vec::new();
                    for seed in 1..=1_000 {
                        let s = random_scenario::<PaxosCommit>(&base, seed, cfg);
                        if let Err(e) = check_run(&s, &mut seen, false) {
                            failures.push(format!("{shape} seed {seed}: {e}\n{}", s.to_json()));
                            if failures.len() >= 2 {
                                break;
                            }
                        }
                    }
                    (seen, failures)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a sweep thread panicked")).collect()
    });
    let failures: Vec<&String> = results.iter().flat_map(|(_, f)| f).collect();
    assert!(failures.is_empty(), "{}", failures.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n\n"));
    for ((seen, _), shape) in results.iter().zip(SHAPES) {
        eprintln!("any-fault sweep {shape}: {:?}", seen.counts);
        assert!(seen.get("blocked for a while") > 0, "{shape}: {:?}", seen.counts);
    }
}
