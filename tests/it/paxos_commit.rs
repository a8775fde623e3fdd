//! Paxos Commit: one test per path — the fault-free run, a no vote, the leader's crash and
//! takeover, F and F+1 acceptor crashes, a refused old leader, acceptor and RM recovery,
//! duplicates, F = 0 against 2PC, Faster Paxos Commit — and random sweeps: with at most F
//! acceptors down at a time nothing breaks, nobody blocks and everyone decides; with any
//! faults at all nothing breaks and everyone decides once the faults stop.

use commitscope_engine::scenario::{resolve, FaultSpec, MsgSpec, RequestSpec, TriggerSpec};
use commitscope_engine::sweep::{random_scenario, SweepConfig};
use commitscope_engine::{
    EventKind, NodeId, PropertyKind, Protocol, Ratio, Rng, RunEnd, Scenario, Simulator,
};
use commitscope_protocols::paxos_commit::{Basis, Layout, Msg};
use commitscope_protocols::PaxosCommit;
use commitscope_tests::{
    check, count, decisions, final_views, first, logs, name, run_json, run_preset, scenario_error,
    select, trace, violations, Sel,
};
use std::collections::{BTreeMap, BTreeSet};

/// A Paxos Commit scenario: extra params, requests and faults as JSON snippets.
fn scenario(params: &str, faults: &str) -> String {
    format!(
        r#"{{"version": 1, "protocol": "paxos_commit", "seed": 1,
            "params": {{"resource_managers": 3, "faults": 1{params}}},
            "requests": [{{"at": 0, "request": {{"transfer": 100}}}}],
            "faults": [{faults}], "limits": {{"max_ticks": 800}}}}"#
    )
}

/// The value of `label` on `node`'s card at the end: a field, or an acceptor's instance
/// as `instances` reads it ("a1 · rm2").
fn field(run: &dyn commitscope_engine::erased::AnyRun, node: &str, label: &str) -> String {
    final_views(run)
        .into_iter()
        .find(|v| v.name == node)
        .and_then(|v| {
            let instance = instances(&v).into_iter().find(|(l, _)| l == label);
            v.fields.into_iter().find(|(l, _)| l == label).or(instance).map(|(_, f)| f)
        })
        .unwrap_or_else(|| panic!("{node} has no field {label}\n{}", trace(run)))
}

/// An acceptor's table of instances, one ("a1 · rm2", "promised b0 · accepted b0
/// Prepared") per row.
fn instances(v: &commitscope_engine::NodeView) -> Vec<(String, String)> {
    let Some(t) = v.tables.iter().find(|t| t.title.starts_with("instances at acceptor ")) else {
        return Vec::new();
    };
    let a = t.title.trim_start_matches("instances at acceptor ");
    assert_eq!(t.columns, ["instance", "promised", "accepted ballot", "accepted value"]);
    t.rows
        .iter()
        .map(|r| {
            let accepted =
                if r[2] == "—" { "—".to_string() } else { format!("{} {}", r[2], r[3]) };
            (format!("{a} · {}", r[0]), format!("promised {} · accepted {accepted}", r[1]))
        })
        .collect()
}

// ---- paths ----

#[test]
fn fault_free_every_instance_chooses_prepared_and_everyone_commits() {
    let run = run_preset("paxos_commit/fault_free");
    check(&*run, FAULT_FREE);
    // Per instance: the RM forces its value before any phase 2a; each acceptor forces its
    // vote before its phase 2b; the leader's acceptor a0 is on tm: its votes are counted
    // there, with no message.
    for rm in ["rm1", "rm2", "rm3"] {
        let forced = first(&*run, &Sel::kind("persist").of("prepared").at(rm)).id;
        let sent = first(&*run, &Sel::kind("send").of("phase2a").at(rm)).id;
        assert!(forced < sent, "{rm}");
        assert_eq!(count(&*run, &Sel::kind("send").of("phase2a").at(rm)), 3, "{rm}");
    }
    for a in ["a1", "a2"] {
        for e in select(&*run, &Sel::kind("send").of("phase2b").at(a)) {
            let forced = run.events()[..e.id as usize]
                .iter()
                .rev()
                .find(|p| p.kind == "persist" && p.node == e.node)
                .expect("a forced ACCEPT before the 2b");
            assert!(forced.label.starts_with("ACCEPT") && forced.time == e.time, "{a}: {forced:?}");
        }
        assert_eq!(count(&*run, &Sel::kind("send").of("phase2b").at(a).peer("tm")), 3, "{a}");
    }
    assert_eq!(count(&*run, &Sel::kind("send").of("phase2b").at("tm")), 0);
    assert_eq!(count(&*run, &Sel::kind("send").of("commit").at("tm")), 3);
    for quiet in ["phase1a", "phase1b", "nack", "decision_request"] {
        assert_eq!(count(&*run, &Sel::kind("send").of(quiet)), 0, "{quiet}");
    }
    // The card of every acceptor shows its table of instances.
    assert_eq!(field(&*run, "a1", "a1 · rm2"), "promised b0 · accepted b0 Prepared");
    assert_eq!(field(&*run, "tm", "a0 · rm3"), "promised b0 · accepted b0 Prepared");
    assert_eq!(
        field(&*run, "tm", "chosen (as it knows)"),
        "rm1 Prepared, rm2 Prepared, rm3 Prepared"
    );
    assert_eq!(field(&*run, "tm", "outcome"), "COMMIT");
    assert_eq!(field(&*run, "rm1", "resource manager"), "COMMIT");
    // The leader's card: instance × acceptor, each acceptor's vote, and what was chosen.
    let tm = final_views(&*run).into_iter().find(|v| v.name == "tm").expect("tm");
    let votes = tm.table("phase 2b votes received").expect("the leader's table of votes");
    assert_eq!(votes.columns, ["instance", "a0", "a1", "a2", "chosen"]);
    for rm in ["rm1", "rm2", "rm3"] {
        assert_eq!(
            votes.rows.iter().find(|r| r[0] == rm).expect(rm)[1..],
            ["b0 Prepared", "b0 Prepared", "b0 Prepared", "Prepared"]
        );
    }
    assert!(final_views(&*run)
        .iter()
        .filter(|v| v.name.starts_with("rm"))
        .all(|v| v.tables.is_empty()));
}

const FAULT_FREE: &str = "
    end: Quiescent at t=40
    tm: committed · - · log [ACCEPT t1.1 b0 rm1 Prepared, ACCEPT t1.1 b0 rm2 Prepared, ACCEPT t1.1 b0 rm3 Prepared]
    rm1: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
    rm2: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
    rm3: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
    a1: accepted · - · log [ACCEPT t1.1 b0 rm2 Prepared, ACCEPT t1.1 b0 rm3 Prepared, ACCEPT t1.1 b0 rm1 Prepared]
    a2: accepted · - · log [ACCEPT t1.1 b0 rm2 Prepared, ACCEPT t1.1 b0 rm3 Prepared, ACCEPT t1.1 b0 rm1 Prepared]
    AC1: holds
    AC2: holds
    abort_reachable: not witnessed
    commit_reachable: witnessed at #66
    durable: holds
    one_value: holds
    ";

#[test]
fn a_no_vote_aborts_at_once_and_its_instance_chooses_aborted() {
    let run = run_preset("paxos_commit/vote_no");
    check(
        &*run,
        "
        end: Quiescent at t=39
        tm: aborted · - · log [ACCEPT t1.1 b0 rm2 Aborted, ACCEPT t1.1 b0 rm1 Prepared, ACCEPT t1.1 b0 rm3 Prepared]
        rm1: aborted · ABORT t1.1 · log [PREPARED t1.1, ABORT t1.1]
        rm2: aborted · ABORT t1.1 · log [ABORT t1.1]
        rm3: aborted · ABORT t1.1 · log [PREPARED t1.1, ABORT t1.1]
        a1: accepted · - · log [ACCEPT t1.1 b0 rm2 Aborted, ACCEPT t1.1 b0 rm3 Prepared, ACCEPT t1.1 b0 rm1 Prepared]
        a2: accepted · - · log [ACCEPT t1.1 b0 rm3 Prepared, ACCEPT t1.1 b0 rm2 Aborted, ACCEPT t1.1 b0 rm1 Prepared]
        AC1: holds
        AC2: holds
        abort_reachable: witnessed at #22
        commit_reachable: not witnessed
        durable: holds
        one_value: holds
        ",
    );
    // rm2 aborts when it votes, before any acceptor has heard of it.
    let voted = first(&*run, &Sel::kind("decide").at("rm2"));
    let prepare = first(&*run, &Sel::kind("deliver").of("prepare").at("rm2"));
    assert_eq!(voted.time, prepare.time);
    assert!(voted.narration.contains("it aborts at once"), "{}", voted.narration);
    assert_eq!(count(&*run, &Sel::kind("persist").of("prepared").at("rm2")), 0);
}

#[test]
fn the_courses_failing_transfer_999999_makes_every_rm_vote_no() {
    let json = scenario("", "").replace(r#""transfer": 100"#, r#""transfer": 999999"#);
    let run = run_json(&json);
    let d = decisions(&*run);
    for rm in ["rm1", "rm2", "rm3"] {
        assert_eq!(d[rm], "ABORT t1.1", "{}", trace(&*run));
    }
    assert_eq!(count(&*run, &Sel::kind("persist").of("prepared")), 0);
    assert!(violations(&*run).is_empty());
}

#[test]
fn the_leader_crashes_after_some_phase_2a_a_new_leader_commits_and_nobody_blocks() {
    let run = run_preset("paxos_commit/leader_crash");
    check(
        &*run,
        "
        end: Quiescent at t=172
        tm: down · - · log [ACCEPT t1.1 b0 rm1 Prepared]
        rm1: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
        rm2: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
        rm3: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
        a1: committed · - · log [ACCEPT t1.1 b0 rm2 Prepared, ACCEPT t1.1 b0 rm3 Prepared, ACCEPT t1.1 b0 rm1 Prepared, PROMISE t1.1 b1, PROPOSE t1.1 b1 rm1 Prepared, rm2 Prepared, rm3 Prepared, ACCEPT t1.1 b1 rm1 Prepared, rm2 Prepared, rm3 Prepared]
        a2: committed · - · log [ACCEPT t1.1 b0 rm2 Prepared, ACCEPT t1.1 b0 rm3 Prepared, ACCEPT t1.1 b0 rm1 Prepared, PROMISE t1.1 b1, ACCEPT t1.1 b1 rm1 Prepared, rm2 Prepared, rm3 Prepared]
        AC1: holds
        AC2: holds
        abort_reachable: not witnessed
        commit_reachable: witnessed at #140
        durable: holds
        one_value: holds
        ",
    );
    assert!(run.blocked_spans().is_empty(), "{:?}", run.blocked_spans());
    // a1, the candidate of rank 1, runs ballot 1 on the two acceptors left and tells everyone.
    let takeover = first(&*run, &Sel::kind("timer_fire").of("takeover").at("a1"));
    assert!(takeover.narration.contains("takes over as leader"), "{}", takeover.narration);
    assert_eq!(first(&*run, &Sel::kind("send").of("phase1a").at("a1")).label, "Phase1a(t1.1, b1)");
    let proposed = first(&*run, &Sel::kind("persist").of("propose").at("a1"));
    assert_eq!(proposed.label, "PROPOSE t1.1 b1 rm1 Prepared, rm2 Prepared, rm3 Prepared");
    assert_eq!(count(&*run, &Sel::kind("send").of("commit").at("a1")), 5);
    assert_eq!(
        count(&*run, &Sel::kind("send").of("phase1a").at("a2")),
        0,
        "a2 waited: a1 was at work"
    );
}

#[test]
fn f_acceptors_crash_and_the_other_f_plus_1_decide() {
    let run = run_preset("paxos_commit/f_acceptors_crash");
    check(
        &*run,
        "
        end: Quiescent at t=42
        tm: committed · - · log [ACCEPT t1.1 b0 rm2 Prepared, ACCEPT t1.1 b0 rm3 Prepared, ACCEPT t1.1 b0 rm1 Prepared]
        rm1: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
        rm2: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
        rm3: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
        a1: accepted · - · log [ACCEPT t1.1 b0 rm2 Prepared, ACCEPT t1.1 b0 rm3 Prepared, ACCEPT t1.1 b0 rm1 Prepared]
        a2: down · - · log []
        AC1: holds
        AC2: holds
        abort_reachable: not witnessed
        commit_reachable: witnessed at #57
        durable: holds
        one_value: holds
        ",
    );
    assert!(run.blocked_spans().is_empty());
    // F = 2: two of five acceptors down from the start, still no ballot above 0 is needed.
    let run = run_json(
        &scenario(r#", "faults": 2"#, r#"{"at": 1, "crash": "a1"}, {"at": 1, "crash": "a3"}"#)
            .replace(r#""faults": 1, "faults": 2"#, r#""faults": 2"#),
    );
    let d = decisions(&*run);
    for rm in ["rm1", "rm2", "rm3"] {
        assert_eq!(d[rm], "COMMIT t1.1", "{}", trace(&*run));
    }
    assert_eq!(count(&*run, &Sel::kind("send").of("phase1a")), 0);
    assert!(run.blocked_spans().is_empty());
}

#[test]
fn f_plus_1_acceptors_crash_the_rms_block_by_design_until_one_recovers() {
    let run = run_preset("paxos_commit/f_plus_one_acceptors_crash");
    check(
        &*run,
        "
        end: Quiescent at t=351
        tm: committed · - · log [ACCEPT t1.1 b0 rm2 Prepared, ACCEPT t1.1 b0 rm3 Prepared, ACCEPT t1.1 b0 rm1 Prepared, PROMISE t1.1 b3, PROPOSE t1.1 b3 rm1 Prepared, rm2 Prepared, rm3 Prepared, ACCEPT t1.1 b3 rm1 Prepared, rm2 Prepared, rm3 Prepared]
        rm1: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
        rm2: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
        rm3: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
        a1: down · - · log []
        a2: committed · - · log [PROMISE t1.1 b3, ACCEPT t1.1 b3 rm1 Prepared, rm2 Prepared, rm3 Prepared]
        AC1: holds
        AC2: holds
        abort_reachable: not witnessed
        commit_reachable: witnessed at #220
        durable: holds
        one_value: holds
        ",
    );
    let spans = run.blocked_spans();
    assert_eq!(spans.len(), 3, "{spans:?}");
    let recovered = first(&*run, &Sel::kind("recover").at("a2")).id;
    for (span, rm) in spans.iter().zip(["rm3", "rm1", "rm2"]) {
        assert_eq!(name(&*run, span.node.0), rm);
        assert!(
            span.why.contains(
                "by design: only 1 of 3 acceptors are up, 2 are needed — waiting for a1, a2"
            ),
            "{}",
            span.why
        );
        assert_eq!(span.until, Some(recovered), "{rm}");
    }
    // Every decision comes after a2 is back.
    let at = run.events()[recovered as usize].time;
    assert!(select(&*run, &Sel::kind("decide")).iter().all(|e| e.time > at));
}

#[test]
fn a_recovered_old_leader_with_a_lower_ballot_is_refused() {
    let run = run_preset("paxos_commit/old_leader_refused");
    check(
        &*run,
        "
        end: Quiescent at t=421
        tm: accepted · - · log [ACCEPT t1.1 b0 rm1 Prepared, ACCEPT t1.1 b0 rm2 Prepared, PROMISE t1.1 b3, PROPOSE t1.1 b3 rm3 Aborted, EPOCH 2, ACCEPT t1.1 b3 rm3 Aborted]
        rm1: aborted · ABORT t1.1 · log [PREPARED t1.1, ABORT t1.1]
        rm2: aborted · ABORT t1.1 · log [PREPARED t1.1, ABORT t1.1]
        rm3: aborted · ABORT t1.1 · log [ABORT t1.1]
        a1: aborted · - · log [ACCEPT t1.1 b0 rm1 Prepared, ACCEPT t1.1 b0 rm2 Prepared, PROMISE t1.1 b3, PROMISE t1.1 b4, PROPOSE t1.1 b4 rm1 Prepared, rm2 Prepared, rm3 Aborted, ACCEPT t1.1 b4 rm1 Prepared, rm2 Prepared, rm3 Aborted]
        a2: aborted · - · log [ACCEPT t1.1 b0 rm1 Prepared, ACCEPT t1.1 b0 rm2 Prepared, PROMISE t1.1 b3, PROMISE t1.1 b4, ACCEPT t1.1 b4 rm1 Prepared, rm2 Prepared, rm3 Aborted]
        AC1: holds
        AC2: holds
        abort_reachable: witnessed at #129
        commit_reachable: not witnessed
        durable: holds
        one_value: holds
        ",
    );
    // tm proposed in ballot 3 and crashed; a1 took over with ballot 4 and decided. Back at
    // t=400, tm re-sends its ballot-3 proposal (never a different one): refused.
    let resent = select(&*run, &Sel::kind("send").of("phase2a").at("tm"));
    assert!(
        resent.iter().all(|e| e.time == 400 && e.label == "Phase2a(t1.1, b3: rm3 Aborted)"),
        "{resent:?}"
    );
    let nacks = select(&*run, &Sel::kind("deliver").of("nack").at("tm"));
    assert_eq!(nacks.len(), 2);
    assert!(nacks.iter().all(|e| e.label == "Nack(t1.1, b3 refused: promised b4)"), "{nacks:?}");
    assert!(nacks[0].narration.contains("steps aside"), "{}", nacks[0].narration);
    assert_eq!(count(&*run, &Sel::kind("send").of("abort").at("tm")), 0);
    assert_eq!(count(&*run, &Sel::kind("send").of("commit")), 0);
}

#[test]
fn a_recovered_acceptor_keeps_its_promise_and_its_accepted_values() {
    // a2 never hears the ballot-0 proposals; tm (a0) and a1 accept both: Prepared is chosen
    // for both instances, but the leader crashes before it hears a1, and a1 crashes too.
    // With only a2 up the RMs block; a1 comes back from its log and, with a2, takes over:
    // it must report what it accepted, or ballot 1 would choose Aborted.
    let run = run_json(
        &scenario(
            r#", "resource_managers": 2"#,
            r#"{"drop": {"to": "a2", "type": "phase2a", "nth": 1}},
               {"drop": {"to": "a2", "type": "phase2a", "nth": 2}},
               {"after": {"delivered": "phase2a", "to": "tm", "count": 2}, "crash": "tm"},
               {"after": {"persisted": "accept", "by": "a1", "count": 2}, "crash": "a1"},
               {"at": 200, "recover": "a1"}"#,
        )
        .replace(
            r#""resource_managers": 3, "faults": 1, "resource_managers": 2"#,
            r#""resource_managers": 2, "faults": 1"#,
        ),
    );
    let crash = first(&*run, &Sel::kind("crash").at("a1")).id;
    let recover = first(&*run, &Sel::kind("recover").at("a1")).id;
    let rows = |at: u32| {
        let v = run.views_at(Some(at)).into_iter().find(|v| v.name == "a1").expect("a1");
        instances(&v)
    };
    let before = rows(crash - 1);
    assert_eq!(before, rows(recover));
    assert!(
        before
            .contains(&("a1 · rm2".to_string(), "promised b0 · accepted b0 Prepared".to_string())),
        "{before:?}"
    );
    let d = decisions(&*run);
    assert_eq!(
        (d["rm1"].as_str(), d["rm2"].as_str()),
        ("COMMIT t1.1", "COMMIT t1.1"),
        "{}",
        trace(&*run)
    );
    assert!(violations(&*run).is_empty(), "{:?}", violations(&*run));
    let reported = first(&*run, &Sel::kind("send").of("phase1b").at("a1"));
    assert!(
        reported.label.contains("rm1 Prepared in b0, rm2 Prepared in b0"),
        "{}",
        reported.label
    );
}

#[test]
fn an_rm_that_crashes_after_forcing_prepared_is_aborted_and_learns_it_when_back() {
    let run = run_json(&scenario(
        "",
        r#"{"after": {"persisted": "prepared", "by": "rm2"}, "crash": "rm2"},
           {"at": 300, "recover": "rm2"}"#,
    ));
    // Its 2a never left: the leader's retry runs ballot 3, finds no value for rm2 and
    // proposes Aborted. Back at t=300, rm2 proposes Prepared again (refused: promised b3)
    // and asks: tm knows the outcome.
    let d = decisions(&*run);
    for rm in ["rm1", "rm2", "rm3"] {
        assert_eq!(d[rm], "ABORT t1.1", "{}", trace(&*run));
    }
    assert_eq!(logs(&*run)["rm2"], ["PREPARED t1.1", "ABORT t1.1"]);
    assert_eq!(
        first(&*run, &Sel::kind("persist").of("propose").at("tm")).label,
        "PROPOSE t1.1 b3 rm2 Aborted"
    );
    let asked = first(&*run, &Sel::kind("send").of("decision_request").at("rm2"));
    assert!(asked.time > 300);
    assert!(count(&*run, &Sel::kind("send").of("nack").peer("rm2")) >= 1);
    assert!(violations(&*run).is_empty());
}

#[test]
fn an_rm_back_before_the_leader_gives_up_proposes_again_and_commits() {
    let run = run_json(&scenario(
        "",
        r#"{"after": {"persisted": "prepared", "by": "rm2"}, "crash": "rm2"},
           {"at": 30, "recover": "rm2"}"#,
    ));
    let d = decisions(&*run);
    for rm in ["rm1", "rm2", "rm3"] {
        assert_eq!(d[rm], "COMMIT t1.1", "{}", trace(&*run));
    }
    assert_eq!(first(&*run, &Sel::kind("send").of("phase2a").at("rm2")).time, 30);
    assert_eq!(count(&*run, &Sel::kind("send").of("phase1a")), 0);
}

#[test]
fn every_message_duplicated_changes_nothing() {
    let json = scenario("", "").replace(
        r#""faults": ["#,
        r#""network": {"duplicate": {"num": 1, "den": 1}}, "faults": ["#,
    );
    let run = run_json(&json);
    assert!(count(&*run, &Sel::kind("deliver").of("phase2a")) > 9, "duplicates were delivered");
    let clean = run_preset("paxos_commit/fault_free");
    assert_eq!(decisions(&*run), decisions(&*clean));
    assert_eq!(logs(&*run), logs(&*clean), "no record is written twice");
    assert!(violations(&*run).is_empty());
}

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
        } else if !is_acceptor(n) || (down.iter().filter(|d| is_acceptor(**d)).count() as u32) < f {
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
    assert!(
        failures.is_empty(),
        "{}",
        failures.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n\n")
    );
    for ((seen, _), shape) in results.iter().zip(SHAPES) {
        eprintln!("bounded sweep {shape}: {:?}", seen.counts);
        for what in
            ["initial leader crashes", "takeover ballot", "commit", "abort", "decision request"]
        {
            assert!(seen.get(what) > 0, "{shape}: never saw {what}: {:?}", seen.counts);
        }
    }
    // The initial leader restarts its own ballots, and old leaders get refused.
    let total = |what: &str| results.iter().map(|(s, _)| s.get(what)).sum::<u32>();
    assert!(total("initial leader starts a higher ballot") > 0);
    assert!(total("nack") > 0);
    assert!(total("learned from phase 2b") > 0);
}

/// Adds up to two crashes that fire right after some node forces a record, sends or
/// receives a message of some kind (between a forced write and the message after it).
fn with_triggered_crashes(mut s: Scenario, seed: u64) -> Scenario {
    let params = resolve::<PaxosCommit>(&s).expect("valid").params;
    let names: Vec<String> = PaxosCommit::nodes(&params).into_iter().map(|n| n.name).collect();
    let mut rng = Rng::new(seed ^ 0x5eed);
    let pick = |rng: &mut Rng, from: &[&'static str]| from[rng.below(from.len() as u64) as usize];
    for _ in 0..rng.below(3) {
        let node = names[rng.below(names.len() as u64) as usize].clone();
        let count = Some(1 + rng.below(3) as u32);
        let after = match rng.below(3) {
            0 => TriggerSpec {
                persisted: Some(pick(&mut rng, PaxosCommit::RECORD_KINDS).to_string()),
                by: Some(node.clone()),
                count,
                ..TriggerSpec::default()
            },
            1 => TriggerSpec {
                sent: Some(pick(&mut rng, PaxosCommit::MSG_KINDS).to_string()),
                by: Some(node.clone()),
                count,
                ..TriggerSpec::default()
            },
            _ => TriggerSpec {
                delivered: Some(pick(&mut rng, PaxosCommit::MSG_KINDS).to_string()),
                to: Some(node.clone()),
                count,
                ..TriggerSpec::default()
            },
        };
        s.faults
            .insert(0, FaultSpec { after: Some(after), crash: Some(node), ..FaultSpec::default() });
    }
    // A trigger may fire in the liveness phase too: every node recovers again, later.
    for k in 1..=5 {
        for name in &names {
            s.faults.push(FaultSpec {
                at: Some(400 + 400 * k),
                recover: Some(name.clone()),
                ..FaultSpec::default()
            });
        }
    }
    s
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
                        let s = with_triggered_crashes(
                            random_scenario::<PaxosCommit>(&base, seed, cfg),
                            seed,
                        );
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
    assert!(
        failures.is_empty(),
        "{}",
        failures.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n\n")
    );
    for ((seen, _), shape) in results.iter().zip(SHAPES) {
        eprintln!("any-fault sweep {shape}: {:?}", seen.counts);
        assert!(seen.get("blocked for a while") > 0, "{shape}: {:?}", seen.counts);
    }
}

// ---- F = 0: two-phase commit ----

/// The same fault plan under 2PC (coord, p1..p3) and under Paxos Commit with F = 0 (tm, the
/// single acceptor and leader, rm1..rm3), with every message taking one tick.
fn two_ways(params: &str, faults_2pc: &str) -> (String, String) {
    let rename = |s: &str| {
        let mut s = s.replace("\"coord\"", "\"tm\"").replace("\"vote_yes\"", "\"phase2a\"");
        for i in 1..=3 {
            s = s.replace(&format!("\"p{i}\""), &format!("\"rm{i}\""));
        }
        s
    };
    let common = r#""seed": 1, "network": {"latency_ticks_min": 1, "latency_ticks_max": 1},
        "requests": [{"at": 0, "request": {"transfer": 100}}], "limits": {"max_ticks": 600}"#;
    let two = format!(
        r#"{{"version": 1, "protocol": "two_pc", {common},
            "params": {{"participants": 3{params}}}, "faults": [{faults_2pc}]}}"#
    );
    let paxos = format!(
        r#"{{"version": 1, "protocol": "paxos_commit", {common},
            "params": {{"resource_managers": 3, "faults": 0{}}}, "faults": [{}]}}"#,
        rename(params),
        rename(faults_2pc)
    );
    (two, paxos)
}

/// Each participant's / RM's decision, in order.
fn rm_decisions(run: &dyn commitscope_engine::erased::AnyRun) -> Vec<String> {
    let d = decisions(run);
    (1..=3)
        .map(|i| {
            d.get(&format!("p{i}"))
                .or_else(|| d.get(&format!("rm{i}")))
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn f_0_with_the_leader_as_the_single_acceptor_decides_as_2pc_does() {
    let plans: &[(&str, &str, &str)] = &[
        ("no fault", "", ""),
        ("p2 votes no", r#", "vote_no": ["p2"]"#, ""),
        (
            "the coordinator crashes after sending Prepare: everyone blocks",
            "",
            r#"{"after": {"sent": "prepare", "by": "coord", "count": 3}, "crash": "coord"}"#,
        ),
        (
            "the coordinator crashes after Prepare and comes back: abort",
            "",
            r#"{"after": {"sent": "prepare", "by": "coord", "count": 3}, "crash": "coord"},
               {"at": 200, "recover": "coord"}"#,
        ),
        (
            "the coordinator crashes as the last vote arrives, and comes back: abort",
            "",
            r#"{"after": {"delivered": "vote_yes", "to": "coord", "count": 3}, "crash": "coord"},
               {"at": 200, "recover": "coord"}"#,
        ),
        (
            "the coordinator crashes after its first Commit, and comes back: commit",
            "",
            r#"{"after": {"sent": "commit", "by": "coord", "count": 1}, "crash": "coord"},
               {"at": 200, "recover": "coord"}"#,
        ),
        (
            "p2 crashes after forcing PREPARED, before voting: abort",
            "",
            r#"{"after": {"persisted": "prepared", "by": "p2"}, "crash": "p2"},
               {"at": 200, "recover": "p2"}"#,
        ),
        ("Commit to p3 is lost: p3 asks", "", r#"{"drop": {"to": "p3", "type": "commit"}}"#),
    ];
    for (what, params, faults) in plans {
        let (two, paxos) = two_ways(params, faults);
        let (two, paxos) = (run_json(&two), run_json(&paxos));
        assert_eq!(rm_decisions(&*two), rm_decisions(&*paxos), "{what}\n{}", trace(&*paxos));
        assert!(violations(&*paxos).is_empty(), "{what}: {:?}", violations(&*paxos));
        // Where 2PC blocks, Paxos Commit with F = 0 blocks too, and says why.
        let blocked = |run: &dyn commitscope_engine::erased::AnyRun| run.blocked_spans().len();
        assert_eq!(blocked(&*two) > 0, blocked(&*paxos) > 0, "{what}");
    }
    let (_, paxos) = two_ways("", plans[2].2);
    let paxos = run_json(&paxos);
    assert!(
        paxos.blocked_spans()[0]
            .why
            .contains("by design: only 0 of 1 acceptors are up, 1 are needed"),
        "{:?}",
        paxos.blocked_spans()
    );
}

#[test]
fn f_0_sends_2pcs_messages_at_2pcs_times_without_the_acks() {
    // Prepare, the vote (phase 2a to the only acceptor, on the leader's node), Commit: the
    // same senders, receivers and send times. 2PC also acknowledges and writes END; the
    // acceptor forces each vote where 2PC's coordinator forces one COMMIT record.
    let (two, paxos) = two_ways("", "");
    let sends = |run: &dyn commitscope_engine::erased::AnyRun| {
        let mut v: Vec<(u64, u32, u32, String)> = run
            .events()
            .iter()
            .filter(|e| e.kind == "send" && e.subkind != Some("ack"))
            .map(|e| {
                let kind = match e.subkind.unwrap_or_default() {
                    "vote_yes" => "phase2a",
                    k => k,
                };
                (e.time, e.node.unwrap_or_default(), e.peer.unwrap_or_default(), kind.to_string())
            })
            .collect();
        v.sort();
        v
    };
    let (two, paxos) = (run_json(&two), run_json(&paxos));
    assert_eq!(sends(&*two), sends(&*paxos));
    assert_eq!(sends(&*paxos).len(), 9);
    assert_eq!(count(&*two, &Sel::kind("send").of("ack")), 3);
    let last_decision = |run: &dyn commitscope_engine::erased::AnyRun| {
        select(run, &Sel::kind("decide")).iter().map(|e| e.time).max()
    };
    assert_eq!(last_decision(&*two), Some(3));
    assert_eq!(last_decision(&*paxos), Some(3));
}

#[test]
fn f_0_differs_from_presumed_abort_2pc_once_the_acceptor_has_forced_every_vote() {
    // 2PC's coordinator keeps votes in memory and forces only its decision: a crash after the
    // last vote and before COMMIT is forced aborts (presumed abort). With F = 0 the acceptor
    // forces every vote; once all three are on disk the instance values survive the crash, and
    // the leader, back, finds Prepared everywhere: commit. Both are valid atomic commitment.
    let (two, paxos) = two_ways(
        "",
        r#"{"after": {"delivered": "vote_yes", "to": "coord", "count": 3}, "crash": "coord"},
           {"at": 200, "recover": "coord"}"#,
    );
    let paxos = paxos.replace(
        r#"{"after": {"delivered": "phase2a", "to": "tm", "count": 3}, "crash": "tm"}"#,
        r#"{"after": {"persisted": "accept", "by": "tm", "count": 3}, "crash": "tm"}"#,
    );
    assert_eq!(rm_decisions(&*run_json(&two)), ["ABORT t1.1"; 3]);
    let paxos = run_json(&paxos);
    assert_eq!(rm_decisions(&*paxos), ["COMMIT t1.1"; 3], "{}", trace(&*paxos));
    assert!(violations(&*paxos).is_empty());
}

// ---- Faster Paxos Commit, layouts, parameters ----

#[test]
fn faster_paxos_commit_decides_at_the_rms_one_message_delay_earlier() {
    let timed = |faster: bool| {
        run_json(&scenario(&format!(r#", "faster": {faster}"#), "").replace(
            r#""faults": ["#,
            r#""network": {"latency_ticks_min": 1, "latency_ticks_max": 1}, "faults": ["#,
        ))
    };
    let (slow, fast) = (timed(false), timed(true));
    let rm_decide_times = |run: &dyn commitscope_engine::erased::AnyRun| {
        select(run, &Sel::kind("decide")).iter().map(|e| e.time).collect::<Vec<_>>()
    };
    assert_eq!(rm_decide_times(&*slow), [4, 4, 4]);
    assert_eq!(rm_decide_times(&*fast), [3, 3, 3]);
    assert_eq!(decisions(&*slow), decisions(&*fast));
    // No Commit message: each RM counted the acceptors' phase 2b messages itself.
    assert_eq!(count(&*fast, &Sel::kind("send").of("commit")), 0);
    let learned = first(&*fast, &Sel::kind("decide").at("rm2"));
    assert!(learned.narration.contains("without the leader"), "{}", learned.narration);
    // Every acceptor sends each instance's 2b to the three RMs and to the leader.
    assert_eq!(count(&*fast, &Sel::kind("send").of("phase2b").at("a1")), 3 * 4);
    assert_eq!(count(&*fast, &Sel::kind("send").of("phase2b").at("tm")), 3 * 3);
    // The preset: the same run at the default latency.
    let preset = run_preset("paxos_commit/faster");
    assert_eq!(decisions(&*preset)["rm3"], "COMMIT t1.1");
    assert_eq!(count(&*preset, &Sel::kind("send").of("commit")), 0);
}

#[test]
fn colocated_acceptors_live_on_the_first_rms_and_the_leader_on_rm1() {
    let run = run_preset("paxos_commit/colocated");
    let roles: Vec<(String, String)> =
        run.nodes().iter().map(|n| (n.name.clone(), n.role.clone())).collect();
    assert_eq!(
        roles,
        [
            ("rm1".to_string(), "resource manager · leader · acceptor a0".to_string()),
            ("rm2".to_string(), "resource manager · acceptor a1".to_string()),
            ("rm3".to_string(), "resource manager · acceptor a2".to_string()),
        ]
    );
    check(
        &*run,
        "
        end: Quiescent at t=33
        rm1: committed · COMMIT t1.1 · log [PREPARED t1.1, ACCEPT t1.1 b0 rm1 Prepared, ACCEPT t1.1 b0 rm2 Prepared, ACCEPT t1.1 b0 rm3 Prepared, COMMIT t1.1]
        rm2: committed · COMMIT t1.1 · log [PREPARED t1.1, ACCEPT t1.1 b0 rm2 Prepared, ACCEPT t1.1 b0 rm1 Prepared, ACCEPT t1.1 b0 rm3 Prepared, COMMIT t1.1]
        rm3: committed · COMMIT t1.1 · log [PREPARED t1.1, ACCEPT t1.1 b0 rm3 Prepared, ACCEPT t1.1 b0 rm1 Prepared, ACCEPT t1.1 b0 rm2 Prepared, COMMIT t1.1]
        AC1: holds
        AC2: holds
        abort_reachable: not witnessed
        commit_reachable: witnessed at #49
        durable: holds
        one_value: holds
        ",
    );
    // Between processes of one node there is no message: rm1 prepares itself, each RM's own
    // acceptor accepts its value, and a0's votes reach the leader, all without a send.
    assert_eq!(count(&*run, &Sel::kind("send").of("prepare")), 2);
    assert_eq!(count(&*run, &Sel::kind("send").of("phase2a")), 2 * 3);
    assert_eq!(count(&*run, &Sel::kind("send").of("phase2b")), 2 * 3);
    assert_eq!(count(&*run, &Sel::kind("send").of("commit")), 2);
    assert!(run.events().iter().all(|e| e.kind != "send" || e.node != e.peer));
}

#[test]
fn bad_parameters_name_the_field() {
    let cases = [
        (r#""resource_managers": 0"#, "params.resource_managers", "must be from 1 to 16"),
        (r#""resource_managers": 3, "faults": 4"#, "params.faults", "must be from 0 to 3"),
        (
            r#""resource_managers": 2, "faults": 1, "colocated": true"#,
            "params.colocated",
            "co-locating 3 acceptors (2F+1 with F = 1) needs at least 3 resource managers, not 2",
        ),
        (
            r#""vote_no": ["p1"]"#,
            "params.vote_no[0]",
            "\"p1\" is not a resource manager (rm1 to rm3)",
        ),
        (r#""retry_ticks": 0"#, "params.retry_ticks", "must be at least 1 tick"),
    ];
    for (params, path, problem) in cases {
        let e = scenario_error(&format!(
            r#"{{"version": 1, "protocol": "paxos_commit", "params": {{{params}}}}}"#
        ));
        assert_eq!(e.path, path, "{params}");
        assert!(e.problem.starts_with(problem), "{params}: {}", e.problem);
    }
}

#[test]
fn a_recovered_acceptor_still_refuses_ballots_below_its_promise() {
    // As in the old-leader preset, with a2 crashing right after it forces its ballot-4
    // vote (before its 2b leaves) and coming back at t=300: a1 re-sends its 2a(4) until a2
    // answers from its log, and at t=400 a2 refuses tm's ballot 3 with its promise, b4.
    let preset = commitscope_protocols::presets::find("paxos_commit/old_leader_refused")
        .expect("preset")
        .json;
    let json = preset.replace(
        r#"{"at": 400, "recover": "tm"}"#,
        r#"{"at": 400, "recover": "tm"},
           {"after": {"persisted": "accept", "by": "a2", "count": 3}, "crash": "a2"},
           {"at": 300, "recover": "a2"}"#,
    );
    let run = run_json(&json);
    let crash = first(&*run, &Sel::kind("crash").at("a2")).id;
    let recover = first(&*run, &Sel::kind("recover").at("a2")).id;
    let rows = |at: u32| {
        let v = run.views_at(Some(at)).into_iter().find(|v| v.name == "a2").expect("a2");
        instances(&v)
    };
    assert_eq!(rows(crash - 1), rows(recover));
    assert_eq!(
        rows(recover),
        [
            ("a2 · rm1".to_string(), "promised b4 · accepted b4 Prepared".to_string()),
            ("a2 · rm2".to_string(), "promised b4 · accepted b4 Prepared".to_string()),
            ("a2 · rm3".to_string(), "promised b4 · accepted b4 Aborted".to_string()),
        ]
    );
    let refused = select(&*run, &Sel::kind("send").of("nack").at("a2"));
    assert_eq!(refused.len(), 1, "{}", trace(&*run));
    assert!(refused[0].time >= 400 && refused[0].label == "Nack(t1.1, b3 refused: promised b4)");
    let d = decisions(&*run);
    for rm in ["rm1", "rm2", "rm3"] {
        assert_eq!(d[rm], "ABORT t1.1");
    }
    assert!(violations(&*run).is_empty());
}
