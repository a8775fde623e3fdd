//! Three-phase commit: one test per path — the failure-free run, a no vote, the course's
//! crash demonstrations under both termination rules and under 2PC, the partition that
//! splits 3PC, Skeen's elected termination, recovery from the log and duplicates — plus
//! two random sweeps: crashes alone never break Skeen's 3PC, partitions do.

use commitscope_engine::scenario::{FaultSpec, RequestSpec};
use commitscope_engine::sweep::{random_scenario, SweepConfig};
use commitscope_engine::{PropertyKind, Protocol, Rng, RunEnd, Scenario, Simulator};
use commitscope_protocols::ThreePc;
use commitscope_tests::{
    check as check_summary, count, decisions, final_views, first, run_json, run_preset, select,
    trace, violations, Sel,
};
use std::collections::BTreeMap;

const ELECT_BASE: &str = r#"{"version": 1, "protocol": "three_pc",
    "params": {"participants": 3, "termination": "elect"},
    "requests": [{"request": {"transfer": 100}}]}"#;

/// A random schedule of crashes and recoveries only (no partition, cut, loss or
/// duplicate): 1 to 3 transactions, up to 8 crashes/recoveries of any node in the first 400
/// ticks, then every node recovers and the run must settle.
fn crash_only_scenario(base: &Scenario, seed: u64) -> Scenario {
    let mut rng = Rng::new(seed);
    let names = ["coord", "p1", "p2", "p3"];
    let mut s = base.clone();
    s.seed = seed;
    let request = base.requests[0].request.clone();
    s.requests = (0..1 + rng.below(3))
        .map(|_| RequestSpec { at: rng.below(200), node: None, request: request.clone() })
        .collect();
    s.faults.clear();
    for _ in 0..rng.below(9) {
        let node = names[rng.below(4) as usize].to_string();
        let at = Some(rng.below(400));
        s.faults.push(if rng.below(3) < 2 {
            FaultSpec { at, crash: Some(node), ..FaultSpec::default() }
        } else {
            FaultSpec { at, recover: Some(node), ..FaultSpec::default() }
        });
    }
    for name in names {
        s.faults.push(FaultSpec {
            at: Some(400),
            recover: Some(name.into()),
            ..FaultSpec::default()
        });
    }
    s.limits.max_ticks = 4_400;
    s.limits.max_events = 200_000;
    s
}

/// Runs a scenario; `Err` names the first violated always-property, or the liveness problem.
fn check(s: &Scenario, liveness: bool) -> Result<(), String> {
    let mut sim = Simulator::<ThreePc>::from_scenario(s).map_err(|e| e.to_string())?;
    let end = sim.run_to_end();
    for (spec, v) in ThreePc::PROPERTIES.iter().zip(sim.verdicts()) {
        if let (PropertyKind::Always, Some((at, msg))) = (spec.kind, &v.first) {
            return Err(format!("{} violated at #{at}: {msg}", spec.id));
        }
    }
    if liveness {
        if end != RunEnd::Quiescent {
            return Err(format!("did not settle: {end:?}"));
        }
        ThreePc::settled(&sim.world)?;
    }
    Ok(())
}

#[test]
fn elect_mode_with_crashes_only_never_breaks_agreement_and_always_settles() {
    let base = Scenario::from_json(ELECT_BASE).expect("valid");
    let mut failures = Vec::new();
    let mut seen: BTreeMap<&str, u32> = BTreeMap::new();
    for seed in 1..=3_000 {
        let s = crash_only_scenario(&base, seed);
        let run = commitscope_protocols::run(&s).expect("valid");
        for e in run.events() {
            let what = match (e.kind, e.subkind) {
                ("crash", _) if e.node == Some(0) => "coordinator crash",
                ("decide", _)
                    if e.label.contains("by termination: a participant was committable") =>
                {
                    "termination TR4 commit"
                }
                ("decide", _) if e.label.contains("by termination: every reachable") => {
                    "termination TR3 abort"
                }
                ("decide", _) if e.label.contains("by termination: a participant had") => {
                    "termination TR1/TR2"
                }
                ("decide", _) if e.label.contains("total failure") => "total-failure commit",
                ("send", Some("decision_request")) => "recovered node asks",
                ("decide", _) if e.label.starts_with("COMMIT") => "commit",
                ("decide", _) if e.label.starts_with("ABORT") => "abort",
                _ => continue,
            };
            *seen.entry(what).or_default() += 1;
        }
        if let Err(e) = check(&s, true) {
            failures.push(format!("seed {seed}: {e}\n{}", s.to_json()));
            if failures.len() >= 3 {
                break;
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // Not vacuous: the schedules reach every termination rule and the recovery paths.
    for what in [
        "coordinator crash",
        "termination TR4 commit",
        "termination TR3 abort",
        "termination TR1/TR2",
        "total-failure commit",
        "recovered node asks",
        "commit",
        "abort",
    ] {
        assert!(seen.get(what).is_some_and(|n| *n > 0), "never saw {what}: {seen:?}");
    }
    eprintln!("crash-only elect sweep: {seen:?}");
}

/// The first seed (from 1) whose random schedule — crashes, recoveries, loss, duplicates,
/// partitions and cuts, from the engine's sweep — breaks AC1 under Skeen's 3PC.
const FIRST_SPLIT_SEED: u64 = 136;

#[test]
fn elect_mode_with_partitions_breaks_agreement_and_the_seed_is_recorded() {
    let base = Scenario::from_json(ELECT_BASE).expect("valid");
    let cfg = SweepConfig::default();
    let first = (1..=5_000u64).find(|seed| {
        let s = random_scenario::<ThreePc>(&base, *seed, &cfg);
        check(&s, false).is_err_and(|e| e.starts_with("AC1"))
    });
    assert_eq!(first, Some(FIRST_SPLIT_SEED));
    // It is a partition that splits it: {p2, p3} are cut off after PreCommit was sent.
    let s = random_scenario::<ThreePc>(&base, FIRST_SPLIT_SEED, &cfg);
    assert!(s.faults.iter().any(|f| f.partition.is_some()), "{}", s.to_json());
    let run = commitscope_protocols::run(&s).expect("valid");
    let ac1 = violations(&*run);
    assert_eq!(ac1.len(), 1, "{ac1:?}");
    assert!(ac1[0].contains("COMMIT") && ac1[0].contains("ABORT"), "{ac1:?}");
}

/// A 3-participant 3PC scenario: extra params, requests and faults as JSON snippets.
fn scenario(params: &str, faults: &str) -> String {
    format!(
        r#"{{"version": 1, "protocol": "three_pc", "seed": 1,
            "params": {{"participants": 3{params}}},
            "requests": [{{"at": 0, "request": {{"transfer": 100}}}}],
            "faults": [{faults}], "limits": {{"max_ticks": 600}}}}"#
    )
}

/// Each node's "decided by timeout" card field, for the nodes that have one.
fn timeout_fields(run: &dyn commitscope_engine::erased::AnyRun) -> Vec<(String, String)> {
    final_views(run)
        .into_iter()
        .flat_map(|v| {
            let name = v.name.clone();
            v.fields
                .into_iter()
                .filter(|(k, _)| k == "decided by timeout")
                .map(move |(_, f)| (name.clone(), f))
        })
        .collect()
}

#[test]
fn all_vote_yes_three_phases_everyone_commits() {
    let run = run_preset("three_pc/happy_path");
    check_summary(
        &*run,
        "
        end: Quiescent at t=65
        coord: done · COMMIT t1.1 · log [PRE-COMMIT t1.1, COMMIT t1.1, END t1.1]
        p1: committed · COMMIT t1.1 · log [PREPARED t1.1, PRECOMMITTED t1.1, COMMIT t1.1]
        p2: committed · COMMIT t1.1 · log [PREPARED t1.1, PRECOMMITTED t1.1, COMMIT t1.1]
        p3: committed · COMMIT t1.1 · log [PREPARED t1.1, PRECOMMITTED t1.1, COMMIT t1.1]
        AC1: holds
        AC2: holds
        abort_reachable: not witnessed
        commit_reachable: witnessed at #50
        decided_by_timeout: not witnessed
        durable: holds
        ",
    );
    for p in ["p1", "p2", "p3"] {
        for kind in ["vote_yes", "pre_commit_ack", "have_committed"] {
            assert_eq!(count(&*run, &Sel::kind("send").of(kind).at(p)), 1, "{p} {kind}");
        }
        // Forced before it acknowledges: a committable participant can prove it.
        let forced = first(&*run, &Sel::kind("persist").of("pre_committed").at(p)).id;
        let acked = first(&*run, &Sel::kind("send").of("pre_commit_ack").at(p)).id;
        assert!(forced < acked, "{p}");
    }
    // The coordinator forces PRE-COMMIT before any PreCommit and COMMIT before any DoCommit.
    for (record, msg) in [("pre_commit", "pre_commit"), ("commit", "do_commit")] {
        let forced = first(&*run, &Sel::kind("persist").of(record).at("coord")).id;
        let sent = first(&*run, &Sel::kind("send").of(msg).at("coord")).id;
        assert!(forced < sent, "{record} forced at #{forced}, first {msg} at #{sent}");
    }
    assert_eq!(count(&*run, &Sel::kind("timer_fire").of("participant_timeout")), 0);
}

#[test]
fn one_no_vote_aborts_before_any_pre_commit() {
    let run = run_preset("three_pc/vote_no");
    check_summary(
        &*run,
        "
        end: Quiescent at t=33
        coord: done · ABORT t1.1 · log [ABORT t1.1]
        p1: aborted · ABORT t1.1 · log [PREPARED t1.1, ABORT t1.1]
        p2: aborted · ABORT t1.1 · log [ABORT t1.1]
        p3: aborted · ABORT t1.1 · log [PREPARED t1.1, ABORT t1.1]
        AC1: holds
        AC2: holds
        abort_reachable: witnessed at #18
        commit_reachable: not witnessed
        decided_by_timeout: not witnessed
        durable: holds
        ",
    );
    assert_eq!(count(&*run, &Sel::kind("persist").of("prepared").at("p2")), 0);
    assert_eq!(count(&*run, &Sel::kind("send").of("pre_commit")), 0);
}

#[test]
fn the_courses_failing_transfer_999999_makes_everyone_vote_no() {
    let json = scenario("", "").replace(r#""transfer": 100"#, r#""transfer": 999999"#);
    let run = run_json(&json);
    assert_eq!(count(&*run, &Sel::kind("send").of("vote_no")), 3, "{}", trace(&*run));
    assert_eq!(count(&*run, &Sel::kind("send").of("vote_yes")), 0);
    assert!(decisions(&*run).values().all(|d| d == "ABORT t1.1"), "{:?}", decisions(&*run));
}

#[test]
fn coordinator_crash_after_can_commit_uncertain_participants_abort_by_timeout() {
    let run = run_preset("three_pc/coordinator_crash_after_can_commit");
    check_summary(
        &*run,
        "
        end: Quiescent at t=109
        coord: down · - · log []
        p1: aborted · ABORT t1.1 (by participant timeout) · log [PREPARED t1.1, ABORT t1.1 (by participant timeout)]
        p2: aborted · ABORT t1.1 (by participant timeout) · log [PREPARED t1.1, ABORT t1.1 (by participant timeout)]
        p3: aborted · ABORT t1.1 (by participant timeout) · log [PREPARED t1.1, ABORT t1.1 (by participant timeout)]
        AC1: holds
        AC2: holds
        abort_reachable: witnessed at #26
        commit_reachable: not witnessed
        decided_by_timeout: witnessed at #26
        durable: holds
        ",
    );
    let named: Vec<String> =
        timeout_fields(&*run).into_iter().map(|(n, f)| format!("{n}: {f}")).collect();
    assert_eq!(
        named,
        [
            "p1: ABORT t1.1 (by participant timeout)",
            "p2: ABORT t1.1 (by participant timeout)",
            "p3: ABORT t1.1 (by participant timeout)"
        ]
    );
}

#[test]
fn coordinator_crash_after_pre_commit_3pc_commits_by_timeout_where_2pc_blocks() {
    let three = run_preset("three_pc/coordinator_crash_after_precommit");
    check_summary(
        &*three,
        "
        end: Quiescent at t=144
        coord: down · - · log [PRE-COMMIT t1.1]
        p1: committed · COMMIT t1.1 (by participant timeout) · log [PREPARED t1.1, PRECOMMITTED t1.1, COMMIT t1.1 (by participant timeout)]
        p2: committed · COMMIT t1.1 (by participant timeout) · log [PREPARED t1.1, PRECOMMITTED t1.1, COMMIT t1.1 (by participant timeout)]
        p3: committed · COMMIT t1.1 (by participant timeout) · log [PREPARED t1.1, PRECOMMITTED t1.1, COMMIT t1.1 (by participant timeout)]
        AC1: holds
        AC2: holds
        abort_reachable: not witnessed
        commit_reachable: witnessed at #51
        decided_by_timeout: witnessed at #51
        durable: holds
        ",
    );
    // Each announces it: "I have committed" to the coordinator and the others.
    for p in ["p1", "p2", "p3"] {
        assert_eq!(count(&*three, &Sel::kind("send").of("have_committed").at(p)), 3, "{p}");
    }
    // The same crash (every vote in, nothing decided) under 2PC: everyone blocks.
    let two = run_preset("two_pc/coordinator_crash_after_votes");
    assert_eq!(two.end(), RunEnd::MaxTicks);
    for v in final_views(&*two).iter().filter(|v| v.role == "participant") {
        assert_eq!(v.decision, None, "{}", v.name);
        let why = v.blocked.as_deref().unwrap_or_else(|| panic!("{} is not blocked", v.name));
        assert!(why.contains("waiting for coord"), "{why}");
    }
    assert!(violations(&*two).is_empty());
}

#[test]
fn pre_commit_reached_only_p1_timeout_rule_splits_elected_termination_commits() {
    // The course's timeout rule: p2 and p3 (uncertain) time out first and abort; p1
    // (committable) commits. Agreement is violated without any partition.
    let timeout = run_preset("three_pc/precommit_reached_one");
    let ac1 = violations(&*timeout);
    assert_eq!(
        ac1,
        ["AC1 violated at #45: p1 decided COMMIT (by participant timeout) on t1.1 but p2 decided ABORT (by participant timeout)"]
    );
    // Skeen's termination protocol, same crash: p2 and p3 report to p1 (lowest not
    // suspected), which finds itself committable, pre-commits them, and commits.
    let elect = run_preset("three_pc/elect_termination");
    check_summary(
        &*elect,
        "
        end: Quiescent at t=154
        coord: down · - · log [PRE-COMMIT t1.1]
        p1: committed · COMMIT t1.1 (by termination: a participant was committable) · log [PREPARED t1.1, PRECOMMITTED t1.1, COMMIT t1.1 (by termination: a participant was committable)]
        p2: committed · COMMIT t1.1 · log [PREPARED t1.1, PRECOMMITTED t1.1, COMMIT t1.1]
        p3: committed · COMMIT t1.1 · log [PREPARED t1.1, PRECOMMITTED t1.1, COMMIT t1.1]
        AC1: holds
        AC2: holds
        abort_reachable: not witnessed
        commit_reachable: witnessed at #73
        decided_by_timeout: not witnessed
        durable: holds
        ",
    );
    for p in ["p2", "p3"] {
        let reported = first(&*elect, &Sel::kind("send").of("state_report").at(p).peer("p1")).id;
        let pre_commit = first(&*elect, &Sel::kind("deliver").of("pre_commit").at(p).peer("p1")).id;
        assert!(reported < pre_commit, "{p}");
    }
    assert_eq!(count(&*elect, &Sel::kind("send").of("state_request").at("p1")), 2);
}

#[test]
fn partition_after_pre_commit_reached_only_p1_the_two_sides_decide_differently() {
    let run = run_preset("three_pc/partition_split_brain");
    check_summary(
        &*run,
        "
        end: MaxTicks at t=292
        coord: committing · COMMIT t1.1 (by ack timeout) · log [PRE-COMMIT t1.1, COMMIT t1.1 (by ack timeout)]
        p1: committed · COMMIT t1.1 · log [PREPARED t1.1, PRECOMMITTED t1.1, COMMIT t1.1]
        p2: aborted · ABORT t1.1 (by participant timeout) · log [PREPARED t1.1, ABORT t1.1 (by participant timeout)]
        p3: aborted · ABORT t1.1 (by participant timeout) · log [PREPARED t1.1, ABORT t1.1 (by participant timeout)]
        AC1: violated at #59: p3 decided ABORT (by participant timeout) on t1.1 but coord decided COMMIT (by ack timeout)
        AC2: holds
        abort_reachable: witnessed at #59
        commit_reachable: witnessed at #42
        decided_by_timeout: witnessed at #42
        durable: holds
        ",
    );
    // What the diagram marks: which timeout on which side produced each decision.
    assert_eq!(
        timeout_fields(&*run),
        [
            ("coord".to_string(), "COMMIT t1.1 (by ack timeout)".to_string()),
            ("p2".to_string(), "ABORT t1.1 (by participant timeout)".to_string()),
            ("p3".to_string(), "ABORT t1.1 (by participant timeout)".to_string()),
        ]
    );
    let ack_timeout = first(&*run, &Sel::kind("timer_fire").of("ack_timeout").at("coord"));
    assert!(
        ack_timeout.narration.contains("a PreCommit ack is missing"),
        "{}",
        ack_timeout.narration
    );
    for p in ["p2", "p3"] {
        assert_eq!(count(&*run, &Sel::kind("drop").of("pre_commit").at(p)), 1, "{p}");
    }
    // Skeen's termination is split the same way: p2 and p3 elect p2, see only
    // uncertain states and abort (rule TR3), while the coordinator's side commits.
    let elect = run_json(&scenario(
        r#", "termination": "elect""#,
        r#"{"after": {"delivered": "pre_commit", "to": "p1"}, "partition": [["coord", "p1"], ["p2", "p3"]]}"#,
    ));
    let d = decisions(&*elect);
    assert_eq!(d["p1"], "COMMIT t1.1");
    assert_eq!(d["p2"], "ABORT t1.1 (by termination: every reachable participant was uncertain)");
    assert_eq!(d["p3"], "ABORT t1.1");
    assert!(violations(&*elect)[0].starts_with("AC1"), "{:?}", violations(&*elect));
}

#[test]
fn coordinator_recovering_with_pre_commit_but_no_decision_asks_and_adopts() {
    // It crashes right after forcing PRE-COMMIT (no PreCommit sent) and is back at t=60,
    // before the participants time out. It may not presume abort: it asks, and adopts the
    // abort the (uncertain) participants reach by timeout.
    let run = run_json(&scenario(
        "",
        r#"{"after": {"persisted": "pre_commit", "by": "coord"}, "crash": "coord"},
           {"at": 60, "recover": "coord"}"#,
    ));
    let d = decisions(&*run);
    assert_eq!(d["coord"], "ABORT t1.1", "{}", trace(&*run));
    for p in ["p1", "p2", "p3"] {
        assert_eq!(d[p], "ABORT t1.1 (by participant timeout)");
    }
    assert!(violations(&*run).is_empty());
    let asked = first(&*run, &Sel::kind("send").of("decision_request").at("coord")).time;
    assert_eq!(asked, 60);
    // Until the participants decide, they tell it their state, not a decision.
    assert!(count(&*run, &Sel::kind("send").of("state_report")) >= 3);
}

#[test]
fn coordinator_recovering_with_commit_logged_sends_it_again() {
    let run = run_json(&scenario(
        "",
        r#"{"after": {"sent": "do_commit", "by": "coord", "count": 1}, "crash": "coord"},
           {"at": 80, "recover": "coord"}"#,
    ));
    check_summary(
        &*run,
        "
        end: Quiescent at t=101
        coord: done · COMMIT t1.1 · log [PRE-COMMIT t1.1, COMMIT t1.1, EPOCH 2, END t1.1]
        p1: committed · COMMIT t1.1 · log [PREPARED t1.1, PRECOMMITTED t1.1, COMMIT t1.1]
        p2: committed · COMMIT t1.1 · log [PREPARED t1.1, PRECOMMITTED t1.1, COMMIT t1.1]
        p3: committed · COMMIT t1.1 · log [PREPARED t1.1, PRECOMMITTED t1.1, COMMIT t1.1]
        AC1: holds
        AC2: holds
        abort_reachable: not witnessed
        commit_reachable: witnessed at #50
        decided_by_timeout: not witnessed
        durable: holds
        ",
    );
}

#[test]
fn participant_recovering_with_prepared_asks_and_never_decides_alone() {
    // p3 crashes after forcing PREPARED, before its vote leaves: the coordinator aborts
    // at the vote timeout. p3, back at t=30, is recovered and uncertain: it asks.
    let run = run_json(&scenario(
        "",
        r#"{"after": {"persisted": "prepared", "by": "p3"}, "crash": "p3"},
           {"at": 30, "recover": "p3"}"#,
    ));
    let d = decisions(&*run);
    assert_eq!(d["coord"], "ABORT t1.1 (by vote timeout)", "{}", trace(&*run));
    assert_eq!(d["p3"], "ABORT t1.1");
    let asked = first(&*run, &Sel::kind("send").of("decision_request").at("p3"));
    assert_eq!(asked.time, 30);
    assert!(asked.narration.contains("may not decide alone"), "{}", asked.narration);
    assert_eq!(count(&*run, &Sel::kind("timer_fire").of("participant_timeout").at("p3")), 0);
    assert!(violations(&*run).is_empty());
}

#[test]
fn participant_recovering_with_nothing_logged_knows_nothing_and_aborts() {
    let run = run_json(&scenario(
        "",
        r#"{"after": {"delivered": "can_commit", "to": "p2"}, "crash": "p2"},
           {"at": 20, "recover": "p2"}"#,
    ));
    let d = decisions(&*run);
    assert_eq!(d["coord"], "ABORT t1.1 (by vote timeout)", "{}", trace(&*run));
    assert_eq!(d["p2"], "ABORT t1.1");
    assert_eq!(count(&*run, &Sel::kind("persist").of("prepared").at("p2")), 0);
    assert!(violations(&*run).is_empty());
}

#[test]
fn after_a_total_failure_the_recovered_coordinator_commits() {
    // The coordinator crashes after forcing PRE-COMMIT; every participant crashes while
    // uncertain; all come back at t=300. Nobody has decided and nobody may alone — but the
    // coordinator hears that every participant is recovered and undecided, and everyone
    // voted yes, so it commits.
    let run = run_json(&scenario(
        "",
        r#"{"after": {"persisted": "pre_commit", "by": "coord"}, "crash": "coord"},
           {"at": 40, "crash": "p1"}, {"at": 40, "crash": "p2"}, {"at": 40, "crash": "p3"},
           {"at": 300, "recover": "p1"}, {"at": 300, "recover": "p2"}, {"at": 300, "recover": "p3"},
           {"at": 300, "recover": "coord"}"#,
    ));
    let d = decisions(&*run);
    assert_eq!(d["coord"], "COMMIT t1.1 (after a total failure)", "{}", trace(&*run));
    for p in ["p1", "p2", "p3"] {
        assert_eq!(d[p], "COMMIT t1.1");
    }
    assert!(violations(&*run).is_empty());
    // It decided on the participants' answers: three "recovered, uncertain" reports.
    let reports = select(&*run, &Sel::kind("deliver").of("state_report").at("coord"));
    assert_eq!(reports.len(), 3, "{}", trace(&*run));
    assert!(reports.iter().all(|e| e.label.contains("uncertain, recovered")), "{reports:?}");
}

#[test]
fn elected_leader_crashes_the_next_one_finishes() {
    // PreCommit reached only p1, and p1 crashes right after forcing PRECOMMITTED: p2 and
    // p3 report to p1 in vain, suspect it, elect p2, see only uncertain states and abort.
    // p1 comes back committable but recovered: it may not commit alone; it asks and
    // learns abort.
    let run = run_json(&scenario(
        r#", "termination": "elect""#,
        r#"{"after": {"sent": "pre_commit", "by": "coord", "count": 1}, "crash": "coord"},
           {"after": {"persisted": "pre_committed", "by": "p1"}, "crash": "p1"},
           {"at": 400, "recover": "p1"}"#,
    ));
    let d = decisions(&*run);
    assert_eq!(
        d["p2"],
        "ABORT t1.1 (by termination: every reachable participant was uncertain)",
        "{}",
        trace(&*run)
    );
    assert_eq!(d["p3"], "ABORT t1.1");
    assert_eq!(d["p1"], "ABORT t1.1");
    assert!(violations(&*run).is_empty());
    // p2 and p3 first reported to p1, then p3 to p2.
    assert_eq!(count(&*run, &Sel::kind("drop").of("state_report").at("p1")), 2);
    assert!(count(&*run, &Sel::kind("send").of("state_request").at("p2")) >= 1);
}

#[test]
fn every_message_duplicated_changes_nothing() {
    let json = scenario("", "")
        .replace(r#""faults""#, r#""network": {"duplicate": {"num": 1, "den": 1}}, "faults""#);
    let run = run_json(&json);
    assert!(count(&*run, &Sel::kind("deliver")) > 36, "duplicates were delivered");
    let d = decisions(&*run);
    assert!(d.values().all(|v| v == "COMMIT t1.1"), "{d:?}");
    for v in final_views(&*run).iter().filter(|v| v.role == "participant") {
        assert_eq!(v.log, ["PREPARED t1.1", "PRECOMMITTED t1.1", "COMMIT t1.1"], "{}", v.name);
    }
    assert!(violations(&*run).is_empty());
}

#[test]
fn transaction_ids_stay_unique_across_coordinator_restarts() {
    let run = run_json(&scenario(
        "",
        r#"{"after": {"sent": "can_commit", "by": "coord", "count": 3}, "crash": "coord"},
           {"at": 20, "recover": "coord"}"#,
    ).replace(
        r#""requests": [{"at": 0, "request": {"transfer": 100}}]"#,
        r#""requests": [{"at": 0, "request": {"transfer": 100}}, {"at": 200, "request": {"transfer": 100}}]"#,
    ));
    let d = decisions(&*run);
    assert_eq!(d["coord"], "COMMIT t2.1", "{}", trace(&*run));
    assert!(violations(&*run).is_empty());
}
