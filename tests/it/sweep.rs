//! The VOPR idea for 2PC: thousands of seeded random fault schedules (crashes, recoveries,
//! loss, duplicates, partitions), each followed by a liveness phase (everything recovers,
//! the network heals). No schedule may break AC1, AC2 or durability, and every one must
//! settle with every live node decided. A failure prints the one seed that reproduces it.

use commitscope_engine::sweep::{check_one, random_scenario, sweep, SweepConfig};
use commitscope_engine::{DropReason, EventKind, Scenario, Simulator};
use commitscope_protocols::common::Outcome;
use commitscope_protocols::TwoPc;

const BASE: &str = r#"{"version": 1, "protocol": "two_pc", "params": {"participants": 3},
                      "requests": [{"request": {"transfer": 100}}]}"#;

const SCHEDULES: u64 = 10_000;
const FIRST_SEED: u64 = 1;

fn base() -> Scenario {
    Scenario::from_json(BASE).expect("the sweep's base scenario is valid")
}

#[test]
fn ten_thousand_random_fault_schedules_are_safe_and_settle() {
    let base = base();
    let cfg = SweepConfig::default();
    let n_threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4) as u64;
    let per_thread = SCHEDULES.div_ceil(n_threads);
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n_threads)
            .map(|k| {
                let (base, cfg) = (&base, &cfg);
                let first = FIRST_SEED + k * per_thread;
                let count = per_thread.min(FIRST_SEED + SCHEDULES - first);
                scope.spawn(move || sweep::<TwoPc>(base, first, count, cfg))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a sweep thread panicked")).collect()
    });
    let mut events = 0;
    let mut failures = Vec::new();
    for r in results {
        match r {
            Ok(n) => events += n,
            Err(f) => failures.push(format!(
                "seed {}: {}\nreproduce with this scenario:\n{}",
                f.seed,
                f.problem,
                f.scenario.to_json()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // Each schedule runs at least a request's worth of events.
    assert!(events > SCHEDULES * 20, "{events} events in {SCHEDULES} schedules");
    eprintln!("sweep: {SCHEDULES} schedules, {events} events");
}

/// What one schedule did, seen from its trace.
#[derive(Debug, Default)]
struct Seen {
    crashes: u32,
    recoveries_with_log: u32,
    drops: [u32; 4],
    duplicates: u32,
    partitions: u32,
    commits: u32,
    aborts: u32,
    blocked_at_some_point: bool,
}

fn seen(s: &Scenario) -> Seen {
    let mut sim = Simulator::<TwoPc>::from_scenario(s).expect("valid");
    let mut seen = Seen::default();
    while let Some(ev) = sim.step() {
        match ev.kind {
            EventKind::Crash => seen.crashes += 1,
            EventKind::Recover { records } if records > 0 => seen.recoveries_with_log += 1,
            EventKind::Drop { reason, .. } => {
                let i = match reason {
                    DropReason::Partition => 0,
                    DropReason::ReceiverDown => 1,
                    DropReason::Injected => 2,
                    DropReason::Random => 3,
                };
                seen.drops[i] += 1;
            }
            EventKind::Deliver { duplicate: true, .. } => seen.duplicates += 1,
            EventKind::Network(_) if ev.time < SweepConfig::default().fault_ticks => {
                seen.partitions += 1
            }
            EventKind::Decide { decision } => match decision.outcome {
                Outcome::Commit => seen.commits += 1,
                Outcome::Abort => seen.aborts += 1,
            },
            _ => {}
        }
        if !seen.blocked_at_some_point {
            seen.blocked_at_some_point = (0..sim.world.nodes.len() as u32).any(|n| {
                <TwoPc as commitscope_engine::Protocol>::blocked(
                    &sim.world,
                    commitscope_engine::NodeId(n),
                )
                .is_some()
            });
        }
    }
    seen
}

#[test]
fn the_sweep_is_not_vacuous() {
    let base = base();
    let cfg = SweepConfig::default();
    let runs: Vec<Seen> = (FIRST_SEED..FIRST_SEED + 300)
        .map(|seed| seen(&random_scenario::<TwoPc>(&base, seed, &cfg)))
        .collect();
    let share = |f: &dyn Fn(&Seen) -> bool| runs.iter().filter(|r| f(r)).count();
    let report = format!("{runs:#?}");
    let _ = report;
    let counts = [
        ("crash a node", share(&|r| r.crashes > 0)),
        ("recover a node from its log", share(&|r| r.recoveries_with_log > 0)),
        ("lose a message to a partition", share(&|r| r.drops[0] > 0)),
        ("lose a message to a down node", share(&|r| r.drops[1] > 0)),
        ("drop a message by the fault plan", share(&|r| r.drops[2] > 0)),
        ("lose a message at random", share(&|r| r.drops[3] > 0)),
        ("deliver a duplicate", share(&|r| r.duplicates > 0)),
        ("partition or cut the network", share(&|r| r.partitions > 0)),
        ("commit", share(&|r| r.commits > 0)),
        ("abort", share(&|r| r.aborts > 0)),
        ("commit and abort (different transactions)", share(&|r| r.commits > 0 && r.aborts > 0)),
        ("block a participant for a while", share(&|r| r.blocked_at_some_point)),
    ];
    // Every kind of trouble happens in a good share of the 300 schedules.
    let rare: Vec<_> = counts.iter().filter(|(_, n)| *n < 15).collect();
    assert!(rare.is_empty(), "too few schedules {rare:?} (of 300); all: {counts:?}");
}

#[test]
fn the_liveness_check_bites_when_there_is_no_time_to_settle() {
    // With no settling time after the faults, some schedules must be caught unfinished:
    // the sweep's liveness check is real.
    let base = base();
    let cfg = SweepConfig { settle_ticks: 1, ..SweepConfig::default() };
    let caught = (FIRST_SEED..FIRST_SEED + 200)
        .filter_map(|seed| check_one::<TwoPc>(&base, seed, &cfg).err())
        .filter(|f| f.problem.contains("did not settle") || f.problem.contains("not live"))
        .count();
    assert!(caught >= 10, "only {caught} of 200 unsettled schedules were caught");
}

#[test]
fn a_schedule_is_a_pure_function_of_its_seed() {
    let base = base();
    let cfg = SweepConfig::default();
    for seed in [1, 2, 500, 9_999] {
        let a = random_scenario::<TwoPc>(&base, seed, &cfg);
        assert_eq!(a, random_scenario::<TwoPc>(&base, seed, &cfg), "seed {seed}");
        assert_ne!(a, random_scenario::<TwoPc>(&base, seed + 1, &cfg), "seed {seed}");
        assert_eq!(
            check_one::<TwoPc>(&base, seed, &cfg).ok(),
            check_one::<TwoPc>(&base, seed, &cfg).ok(),
            "seed {seed}: the same number of events"
        );
    }
}

#[test]
fn other_shapes_and_harsher_schedules_are_safe_and_settle_too() {
    // One participant, five, sixteen; a no-voter; a transfer every participant refuses;
    // and twice the faults in a longer fault phase.
    let shapes = [
        (r#"{"participants": 1}"#, 100, SweepConfig::default()),
        (r#"{"participants": 5}"#, 100, SweepConfig::default()),
        (r#"{"participants": 16}"#, 100, SweepConfig::default()),
        (r#"{"participants": 3, "vote_no": ["p2"]}"#, 100, SweepConfig::default()),
        (r#"{"participants": 3}"#, 999_999, SweepConfig::default()),
        (
            r#"{"participants": 4, "vote_timeout_ticks": 20, "in_doubt_timeout_ticks": 15, "resend_ticks": 10}"#,
            100,
            SweepConfig { fault_ticks: 800, max_faults: 16, ..SweepConfig::default() },
        ),
    ];
    let mut failures = Vec::new();
    for (params, transfer, cfg) in shapes {
        let json = format!(
            r#"{{"version": 1, "protocol": "two_pc", "params": {params},
                "requests": [{{"request": {{"transfer": {transfer}}}}}]}}"#
        );
        let base = Scenario::from_json(&json).expect("valid");
        if let Err(f) = sweep::<TwoPc>(&base, FIRST_SEED, 1_000, &cfg) {
            failures.push(format!(
                "{params} transfer {transfer}: seed {}: {}\n{}",
                f.seed,
                f.problem,
                f.scenario.to_json()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The random schedules crash nodes only at a time, and a timed fault never lands between
/// the effects of one handler; so they never crash a node between a forced write and the
/// message that follows it — the moments 2PC is about. Here, the same schedules plus crashes
/// on triggers (after a record is forced, a message sent or received, a phase entered).
#[test]
fn schedules_with_crashes_on_triggers_are_safe_and_settle() {
    use commitscope_engine::scenario::{FaultSpec, TriggerSpec};
    use commitscope_engine::{Protocol, Rng, RunEnd};
    let base = base();
    let cfg = SweepConfig::default();
    let names = ["coord", "p1", "p2", "p3"];
    let mut failures = Vec::new();
    let mut trigger_crashes = 0;
    for seed in FIRST_SEED..FIRST_SEED + 3_000 {
        let mut s = random_scenario::<TwoPc>(&base, seed, &cfg);
        let mut rng = Rng::new(seed ^ 0x5eed);
        let pick =
            |rng: &mut Rng, from: &[&'static str]| from[rng.below(from.len() as u64) as usize];
        for _ in 0..1 + rng.below(3) {
            let node = pick(&mut rng, &names);
            let count = Some(1 + rng.below(3) as u32);
            let mut after = TriggerSpec::default();
            match rng.below(4) {
                0 => {
                    after.persisted = Some(pick(&mut rng, TwoPc::RECORD_KINDS).to_string());
                    (after.by, after.count) = (Some(node.to_string()), count);
                }
                1 => {
                    after.sent = Some(pick(&mut rng, TwoPc::MSG_KINDS).to_string());
                    (after.by, after.count) = (Some(node.to_string()), count);
                }
                2 => {
                    after.delivered = Some(pick(&mut rng, TwoPc::MSG_KINDS).to_string());
                    (after.to, after.count) = (Some(node.to_string()), count);
                }
                _ => {
                    after.phase = Some(pick(&mut rng, TwoPc::PHASES).to_string());
                    after.node = Some(node.to_string());
                }
            }
            s.faults.push(FaultSpec {
                after: Some(after),
                crash: Some(node.to_string()),
                ..FaultSpec::default()
            });
        }
        // A crash on a trigger may come after the general recovery: recover again later.
        for k in 1..=4 {
            for n in names {
                s.faults.push(FaultSpec {
                    at: Some(cfg.fault_ticks + k * 500),
                    recover: Some(n.to_string()),
                    ..FaultSpec::default()
                });
            }
        }
        let mut sim = Simulator::<TwoPc>::from_scenario(&s).expect("valid");
        let mut problem = None;
        while let Some(ev) = sim.step() {
            if matches!(ev.kind, EventKind::Crash) && ev.cause.is_some() {
                trigger_crashes += 1;
            }
        }
        for (spec, v) in TwoPc::PROPERTIES.iter().zip(sim.verdicts()) {
            if let (commitscope_engine::PropertyKind::Always, Some((at, msg))) =
                (spec.kind, &v.first)
            {
                problem = Some(format!("{} violated at event {at}: {msg}", spec.id));
            }
        }
        if problem.is_none() && sim.end() != Some(RunEnd::Quiescent) {
            problem = Some(format!("did not settle: {:?}", sim.end()));
        }
        if problem.is_none() {
            problem = TwoPc::settled(&sim.world).err().map(|e| format!("not live: {e}"));
        }
        if let Some(p) = problem {
            failures.push(format!("seed {seed}: {p}\n{}", s.to_json()));
            if failures.len() >= 3 {
                break;
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(trigger_crashes > 1_000, "only {trigger_crashes} crashes on a trigger");
}
