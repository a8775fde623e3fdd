//! Two-phase commit, one test per path the course teaches: each runs a preset or an inline
//! scenario and checks what a user sees — every node's decision and log, the blocked
//! monitor, the property verdicts — plus the messages that make the path what it is.

use commitscope_engine::DropReason;
use commitscope_tests::{
    check, count, decisions, first, logs, name, run_json, run_preset, select, trace, violations,
    Sel,
};

/// A 3-participant scenario around a fault list and extra params/requests (JSON snippets).
fn scenario(params: &str, requests: &str, faults: &str) -> String {
    format!(
        r#"{{"version": 1, "protocol": "two_pc", "seed": 1,
            "params": {{"participants": 3{params}}},
            "requests": [{requests}],
            "faults": [{faults}]}}"#
    )
}

const ONE_REQUEST: &str = r#"{"at": 0, "request": {"transfer": 100}}"#;

#[test]
fn all_vote_yes_everyone_commits() {
    let run = run_preset("two_pc/happy_path");
    check(
        &*run,
        "
        end: Quiescent at t=44
        coord: done · COMMIT t1.1 · log [COMMIT t1.1, END t1.1]
        p1: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
        p2: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
        p3: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
        AC1: holds
        AC2: holds
        abort_reachable: not witnessed
        commit_reachable: witnessed at #25
        durable: holds
        ",
    );
    // Every participant votes yes once and acknowledges once.
    for p in ["p1", "p2", "p3"] {
        assert_eq!(count(&*run, &Sel::kind("send").of("vote_yes").at(p)), 1, "{p}");
        assert_eq!(count(&*run, &Sel::kind("send").of("ack").at(p)), 1, "{p}");
    }
    // The coordinator forces COMMIT before it sends the first Commit.
    let persisted = first(&*run, &Sel::kind("persist").of("commit").at("coord")).id;
    let sent = first(&*run, &Sel::kind("send").of("commit").at("coord")).id;
    assert!(persisted < sent, "COMMIT forced at #{persisted}, first Commit sent at #{sent}");
}

#[test]
fn one_no_vote_aborts_everyone() {
    let run = run_preset("two_pc/vote_no");
    check(
        &*run,
        "
        end: Quiescent at t=42
        coord: done · ABORT t1.1 · log [ABORT t1.1, END t1.1]
        p1: aborted · ABORT t1.1 · log [PREPARED t1.1, ABORT t1.1]
        p2: aborted · ABORT t1.1 · log [ABORT t1.1]
        p3: aborted · ABORT t1.1 · log [PREPARED t1.1, ABORT t1.1]
        AC1: holds
        AC2: holds
        abort_reachable: witnessed at #18
        commit_reachable: not witnessed
        durable: holds
        ",
    );
    assert_eq!(
        count(&*run, &Sel::kind("persist").of("prepared").at("p2")),
        0,
        "the no-voter never prepares"
    );
    assert_eq!(count(&*run, &Sel::kind("send").of("vote_no").at("p2")), 1);
}

#[test]
fn transfer_above_max_transfer_makes_participants_vote_no() {
    let run = run_json(&scenario("", r#"{"at": 0, "request": {"transfer": 999999}}"#, ""));
    check(
        &*run,
        "
        end: Quiescent at t=38
        coord: done · ABORT t1.1 · log [ABORT t1.1, END t1.1]
        p1: aborted · ABORT t1.1 · log [ABORT t1.1]
        p2: aborted · ABORT t1.1 · log [ABORT t1.1]
        p3: aborted · ABORT t1.1 · log [ABORT t1.1]
        AC1: holds
        AC2: holds
        abort_reachable: witnessed at #8
        commit_reachable: not witnessed
        durable: holds
        ",
    );
    for p in ["p1", "p2", "p3"] {
        assert_eq!(count(&*run, &Sel::kind("send").of("vote_no").at(p)), 1, "{p}");
        assert_eq!(count(&*run, &Sel::kind("send").of("vote_yes").at(p)), 0, "{p}");
    }
    // The limit itself is still allowed.
    let run = run_json(&scenario("", r#"{"at": 0, "request": {"transfer": 100000}}"#, ""));
    assert_eq!(count(&*run, &Sel::kind("send").of("vote_yes")), 3, "{}", trace(&*run));
}

#[test]
fn participant_crash_before_voting_aborts_by_vote_timeout() {
    let run = run_preset("two_pc/participant_crash");
    check(
        &*run,
        "
        end: Quiescent at t=160
        coord: done · ABORT t1.1 · log [ABORT t1.1, END t1.1]
        p1: aborted · ABORT t1.1 · log [PREPARED t1.1, ABORT t1.1]
        p2: aborted · ABORT t1.1 · log [ABORT t1.1]
        p3: aborted · ABORT t1.1 · log [PREPARED t1.1, ABORT t1.1]
        AC1: holds
        AC2: holds
        abort_reachable: witnessed at #32
        commit_reachable: not witnessed
        durable: holds
        ",
    );
    // p2 crashed before forcing PREPARED, so it never voted; the vote timeout aborts.
    assert_eq!(count(&*run, &Sel::kind("send").at("p2").of("vote_yes")), 0);
    let timeout = first(&*run, &Sel::kind("timer_fire").at("coord").of("vote_timeout"));
    assert_eq!(timeout.time, 60);
    let abort = first(&*run, &Sel::kind("persist").at("coord").of("abort"));
    assert_eq!(
        abort.id,
        timeout.id + 1,
        "the timeout's handler forces ABORT first (the phase event follows it)"
    );
    // After recovering at t=150 it learns the abort from the coordinator's re-sent Abort.
    let learned = first(&*run, &Sel::kind("deliver").at("p2").of("abort"));
    assert_eq!((learned.time, learned.peer), (150, Some(0)));
}

#[test]
fn coordinator_crash_before_deciding_blocks_prepared_participants() {
    let run = run_preset("two_pc/coordinator_crash_blocks");
    check(
        &*run,
        "
        end: MaxTicks at t=270
        coord: down · - · log []
        p1: in_doubt · - · log [PREPARED t1.1]
        blocked since t=9: in doubt on t1.1 since t=9 (voted yes); the coordinator is down and no reachable participant knows the outcome — waiting for coord
        p2: in_doubt · - · log [PREPARED t1.1]
        blocked since t=9: in doubt on t1.1 since t=9 (voted yes); the coordinator is down and no reachable participant knows the outcome — waiting for coord
        p3: in_doubt · - · log [PREPARED t1.1]
        blocked since t=9: in doubt on t1.1 since t=8 (voted yes); the coordinator is down and no reachable participant knows the outcome — waiting for coord
        AC1: holds
        AC2: holds
        abort_reachable: not witnessed
        commit_reachable: not witnessed
        durable: holds
        ",
    );
    // p3 prepared first (t=8) but is blocked only from t=9, when p1 and p2 have prepared
    // too: until then they could still have answered abort.
    // They keep asking (cooperative termination), but nobody can answer.
    for p in ["p1", "p2", "p3"] {
        assert!(count(&*run, &Sel::kind("send").at(p).of("decision_request")) >= 9, "{p}");
    }
    assert_eq!(count(&*run, &Sel::kind("decide")), 0, "nobody decides");
    // The progress monitor records one open blocked span per participant.
    let spans: Vec<_> =
        run.blocked_spans().iter().map(|b| (name(&*run, b.node.0), b.until)).collect();
    assert_eq!(spans, [("p1", None), ("p2", None), ("p3", None)]);
}

#[test]
fn coordinator_crash_after_logging_commit_recovers_and_finishes() {
    let run = run_preset("two_pc/coordinator_recovers");
    check(
        &*run,
        "
        end: Quiescent at t=142
        coord: done · COMMIT t1.1 · log [COMMIT t1.1, EPOCH 2, END t1.1]
        p1: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
        p2: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
        p3: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
        AC1: holds
        AC2: holds
        abort_reachable: not witnessed
        commit_reachable: witnessed at #25
        durable: holds
        ",
    );
    // Recovery starts a new epoch, then re-sends the decision to every participant.
    let recover = first(&*run, &Sel::kind("recover").at("coord"));
    assert_eq!(recover.time, 120);
    let epoch = first(&*run, &Sel::kind("persist").at("coord").of("epoch"));
    assert_eq!((epoch.id, epoch.label.as_str()), (recover.id + 1, "EPOCH 2"));
    let resent: Vec<_> = select(&*run, &Sel::kind("send").at("coord").of("commit"))
        .into_iter()
        .filter(|e| e.id > recover.id)
        .map(|e| name(&*run, e.peer.unwrap_or(u32::MAX)).to_string())
        .collect();
    for p in ["p1", "p2", "p3"] {
        assert!(resent.iter().any(|r| r == p), "Commit re-sent to {p}: {resent:?}");
    }
    assert_eq!(decisions(&*run).values().filter(|d| *d == "COMMIT t1.1").count(), 4);
}

#[test]
fn lost_commit_is_retransmitted() {
    let run = run_preset("two_pc/lost_commit");
    check(
        &*run,
        "
        end: Quiescent at t=87
        coord: done · COMMIT t1.1 · log [COMMIT t1.1, END t1.1]
        p1: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
        p2: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
        p3: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
        AC1: holds
        AC2: holds
        abort_reachable: not witnessed
        commit_reachable: witnessed at #25
        durable: holds
        ",
    );
    let to_p2 = Sel::kind("send").at("coord").peer("p2").of("commit");
    assert!(count(&*run, &to_p2) >= 2, "Commit to p2 sent {} times", count(&*run, &to_p2));
    let drops = select(&*run, &Sel::kind("drop"));
    assert_eq!(drops.len(), 1, "{}", trace(&*run));
    assert_eq!(drops[0].drop_reason, Some(DropReason::Injected));
    assert_eq!(
        drops[0].narration,
        "Commit(t1.1) from coord to p2 is lost: the fault plan drops it"
    );
    // The re-send comes from the resend timer and is the one p2 receives.
    let resend = first(&*run, &Sel::kind("timer_fire").at("coord").of("resend"));
    let received = first(&*run, &Sel::kind("deliver").at("p2").of("commit"));
    assert!(received.msg_id.is_some_and(|m| m > resend.id), "p2 got the re-sent copy");
}

#[test]
fn duplicated_prepare_and_commit_are_idempotent() {
    let run = run_preset("two_pc/duplicates");
    check(
        &*run,
        "
        end: Quiescent at t=53
        coord: done · COMMIT t1.1 · log [COMMIT t1.1, END t1.1]
        p1: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
        p2: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
        p3: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
        AC1: holds
        AC2: holds
        abort_reachable: not witnessed
        commit_reachable: witnessed at #27
        durable: holds
        ",
    );
    let dups = select(&*run, &Sel::kind("deliver"));
    let dups: Vec<_> = dups.iter().filter(|e| e.duplicate).map(|e| e.label.as_str()).collect();
    assert_eq!(dups.len(), 2, "two duplicate copies delivered: {dups:?}");
    for p in ["p1", "p2", "p3"] {
        assert_eq!(count(&*run, &Sel::kind("persist").at(p).of("prepared")), 1, "{p}");
        assert_eq!(count(&*run, &Sel::kind("decide").at(p)), 1, "{p}");
    }
    // The duplicate Prepare is answered again (same vote), the duplicate Commit acknowledged again.
    assert_eq!(count(&*run, &Sel::kind("send").at("p1").of("vote_yes")), 2);
    assert_eq!(count(&*run, &Sel::kind("send").at("p2").of("ack")), 2);
    assert_eq!(count(&*run, &Sel::kind("persist").at("coord").of("end")), 1);
}

#[test]
fn cooperative_termination_learns_the_outcome_from_a_peer() {
    let run = run_preset("two_pc/cooperative_termination");
    check(
        &*run,
        "
        end: Quiescent at t=82
        coord: down · - · log [COMMIT t1.1]
        p1: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
        p2: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
        p3: committed · COMMIT t1.1 · log [PREPARED t1.1, COMMIT t1.1]
        AC1: holds
        AC2: holds
        abort_reachable: not witnessed
        commit_reachable: witnessed at #25
        durable: holds
        ",
    );
    // p1 got the Commit before the crash; p2 and p3 learn it from p1, not from the coordinator.
    for p in ["p2", "p3"] {
        let learned = first(&*run, &Sel::kind("deliver").at(p).of("commit"));
        assert_eq!(learned.peer, Some(1), "{p} learned from p1");
        assert!(count(&*run, &Sel::kind("send").at(p).of("decision_request")) >= 1);
    }
    assert_eq!(count(&*run, &Sel::kind("send").at("coord").of("commit")), 1);
    // Right after the crash nobody knows the outcome yet (p1's Commit is in flight), so
    // all three count as blocked; the moment p1 learns it, nobody is any more.
    let knows = first(&*run, &Sel::kind("decide").at("p1")).id;
    let spans = run.blocked_spans();
    assert_eq!(spans.len(), 3, "{spans:?}");
    assert!(spans.iter().all(|b| b.until == Some(knows)), "{spans:?}");
}

#[test]
fn peer_that_never_prepared_aborts_and_later_votes_no() {
    // p3's Prepare is held up; the coordinator waits long for votes, so p1 and p2 in doubt
    // ask p3 — which never prepared, aborts unilaterally and says so.
    let run = run_json(&scenario(
        r#", "vote_timeout_ticks": 500"#,
        ONE_REQUEST,
        r#"{"delay": {"to": "p3", "type": "prepare", "ticks": 200}}"#,
    ));
    check(
        &*run,
        "
        end: Quiescent at t=244
        coord: done · ABORT t1.1 · log [ABORT t1.1, END t1.1]
        p1: aborted · ABORT t1.1 · log [PREPARED t1.1, ABORT t1.1]
        p2: aborted · ABORT t1.1 · log [PREPARED t1.1, ABORT t1.1]
        p3: aborted · ABORT t1.1 · log [ABORT t1.1]
        AC1: holds
        AC2: holds
        abort_reachable: witnessed at #31
        commit_reachable: not witnessed
        durable: holds
        ",
    );
    let forced = first(&*run, &Sel::kind("persist").at("p3").of("abort"));
    let answered = first(&*run, &Sel::kind("send").at("p3").of("abort"));
    assert!(
        forced.id < answered.id,
        "p3 forces ABORT (#{}) before answering (#{})",
        forced.id,
        answered.id
    );
    let late = first(&*run, &Sel::kind("deliver").at("p3").of("prepare"));
    assert!(late.id > answered.id);
    assert_eq!(count(&*run, &Sel::kind("send").at("p3").of("vote_no")), 1);
    assert_eq!(count(&*run, &Sel::kind("send").at("p3").of("vote_yes")), 0);
    assert_eq!(count(&*run, &Sel::kind("persist").at("p3").of("prepared")), 0);
}

#[test]
fn recovered_coordinator_presumes_abort_for_an_unknown_transaction() {
    let run = run_json(&scenario(
        "",
        ONE_REQUEST,
        r#"{"after": {"sent": "prepare", "by": "coord", "count": 3}, "crash": "coord"},
           {"at": 100, "recover": "coord"}"#,
    ));
    check(
        &*run,
        "
        end: Quiescent at t=141
        coord: idle · - · log [EPOCH 2]
        p1: aborted · ABORT t1.1 · log [PREPARED t1.1, ABORT t1.1]
        p2: aborted · ABORT t1.1 · log [PREPARED t1.1, ABORT t1.1]
        p3: aborted · ABORT t1.1 · log [PREPARED t1.1, ABORT t1.1]
        AC1: holds
        AC2: holds
        abort_reachable: witnessed at #79
        commit_reachable: not witnessed
        durable: holds
        ",
    );
    let recover = first(&*run, &Sel::kind("recover").at("coord"));
    let answers = select(&*run, &Sel::kind("send").at("coord").of("abort"));
    assert!(!answers.is_empty() && answers.iter().all(|e| e.id > recover.id));
    // Presumed abort: the coordinator answers abort without logging anything for t1.1.
    assert_eq!(logs(&*run)["coord"], ["EPOCH 2"]);
}

#[test]
fn transaction_ids_stay_unique_across_coordinator_restarts() {
    // After a crash at the commit point and a recovery, a second transaction gets epoch 2.
    let run = run_json(&scenario(
        "",
        r#"{"at": 0, "request": {"transfer": 100}}, {"at": 200, "request": {"transfer": 5}}"#,
        r#"{"after": {"persisted": "commit", "by": "coord"}, "crash": "coord"},
           {"at": 120, "recover": "coord"}"#,
    ));
    let prepares: Vec<&str> = select(&*run, &Sel::kind("send").at("coord").of("prepare"))
        .iter()
        .map(|e| e.label.as_str())
        .collect();
    assert_eq!(
        prepares,
        ["Prepare(t1.1)"; 3].iter().chain(&["Prepare(t2.1)"; 3]).copied().collect::<Vec<_>>()
    );
    check(
        &*run,
        "
        end: Quiescent at t=242
        coord: done · COMMIT t2.1 · log [COMMIT t1.1, EPOCH 2, END t1.1, COMMIT t2.1, END t2.1]
        p1: committed · COMMIT t2.1 · log [PREPARED t1.1, COMMIT t1.1, PREPARED t2.1, COMMIT t2.1]
        p2: committed · COMMIT t2.1 · log [PREPARED t1.1, COMMIT t1.1, PREPARED t2.1, COMMIT t2.1]
        p3: committed · COMMIT t2.1 · log [PREPARED t1.1, COMMIT t1.1, PREPARED t2.1, COMMIT t2.1]
        AC1: holds
        AC2: holds
        abort_reachable: not witnessed
        commit_reachable: witnessed at #25
        durable: holds
        ",
    );
    // Two restarts before the first request: epoch 3.
    let run = run_json(&scenario(
        "",
        r#"{"at": 20, "request": {"transfer": 100}}"#,
        r#"{"at": 1, "crash": "coord"}, {"at": 2, "recover": "coord"},
           {"at": 3, "crash": "coord"}, {"at": 4, "recover": "coord"}"#,
    ));
    assert_eq!(logs(&*run)["coord"], ["EPOCH 2", "EPOCH 3", "COMMIT t3.1", "END t3.1"]);
    assert_eq!(decisions(&*run)["p1"], "COMMIT t3.1");
}

/// Each trigger fires its fault right after the event it names, and not before.
#[test]
fn triggers_fire_exactly_where_they_say() {
    // (trigger, the event it names: kind, subkind, node; how many such events come first)
    let cases: &[(&str, &str, &str, &str, usize)] = &[
        (r#"{"sent": "prepare", "by": "coord", "count": 2}"#, "send", "prepare", "coord", 2),
        (r#"{"sent": "commit", "by": "coord", "count": 3}"#, "send", "commit", "coord", 3),
        (r#"{"persisted": "prepared", "by": "p1"}"#, "persist", "prepared", "p1", 1),
        (r#"{"persisted": "commit", "by": "p2"}"#, "persist", "commit", "p2", 1),
        (r#"{"delivered": "prepare", "to": "p2"}"#, "deliver", "prepare", "p2", 1),
        (
            r#"{"delivered": "vote_yes", "to": "coord", "count": 2}"#,
            "deliver",
            "vote_yes",
            "coord",
            2,
        ),
        (r#"{"phase": "committing", "node": "coord"}"#, "phase", "committing", "coord", 1),
        (r#"{"phase": "in_doubt", "node": "p3"}"#, "phase", "in_doubt", "p3", 1),
    ];
    for (trigger, kind, sub, node, n) in cases {
        let json =
            scenario("", ONE_REQUEST, &format!(r#"{{"after": {trigger}, "crash": "{node}"}}"#));
        let run = run_json(&json);
        let crash = first(&*run, &Sel::kind("crash"));
        assert_eq!(crash.node.map(|c| name(&*run, c)), Some(*node), "{trigger}");
        let named = Sel::kind(kind).of(sub).at(node);
        // A decision belongs to the forced write it follows (sim.rs): a crash triggered
        // by that write comes right after the Decide.
        let mut k = crash.id as usize - 1;
        if *kind == "persist" && run.events()[k].kind == "decide" {
            k -= 1;
        }
        let before = run.events()[k].clone();
        assert!(
            named.matches(&*run, &before),
            "{trigger}: the crash follows {}\n{}",
            before.narration,
            trace(&*run)
        );
        let earlier = select(&*run, &named).iter().filter(|e| e.id < crash.id).count();
        assert_eq!(
            earlier,
            *n,
            "{trigger}: fired after the {n}th matching event\n{}",
            trace(&*run)
        );
    }
    // A trigger on an event id: right after event 6, and it may isolate instead of crash.
    let run = run_json(&scenario("", ONE_REQUEST, r#"{"after": {"event": 6}, "isolate": "p3"}"#));
    let cut = first(&*run, &Sel::kind("network"));
    assert_eq!(cut.id, 7);
    assert_eq!(cut.narration, "p3 is cut off from every other node");
    // A trigger that never matches never fires.
    let run = run_json(&scenario(
        "",
        ONE_REQUEST,
        r#"{"after": {"sent": "vote_no", "by": "p1"}, "crash": "coord"}"#,
    ));
    assert_eq!(count(&*run, &Sel::kind("crash")), 0);
}

#[test]
fn partition_into_groups_drops_messages_between_groups() {
    let run = run_json(&scenario(
        "",
        r#"{"at": 5, "request": {"transfer": 100}}"#,
        r#"{"at": 0, "partition": [["coord", "p1"], ["p2", "p3"]]}, {"at": 150, "heal": true}"#,
    ));
    let net = select(&*run, &Sel::kind("network"));
    assert_eq!(
        net[0].narration,
        "the network partitions into {coord, p1} | {p2, p3}; no other link is cut"
    );
    assert_eq!(net[1].narration, "the network heals: every link works again");
    let drops = select(&*run, &Sel::kind("drop"));
    assert!(!drops.is_empty());
    for d in &drops {
        assert_eq!(d.drop_reason, Some(DropReason::Partition), "{}", d.narration);
        assert!(d.time < 150, "nothing is lost after the heal: {}", d.narration);
        let (a, b) =
            (name(&*run, d.peer.unwrap_or(u32::MAX)), name(&*run, d.node.unwrap_or(u32::MAX)));
        let side = |n: &str| n == "coord" || n == "p1";
        assert_ne!(side(a), side(b), "dropped within a group: {}", d.narration);
    }
    assert_eq!(
        drops[0].narration,
        "Prepare(t1.1) from coord to p2 is lost: the network is partitioned"
    );
    check(
        &*run,
        "
        end: Quiescent at t=165
        coord: done · ABORT t1.1 · log [ABORT t1.1, END t1.1]
        p1: aborted · ABORT t1.1 · log [PREPARED t1.1, ABORT t1.1]
        p2: aborted · ABORT t1.1 · log [ABORT t1.1]
        p3: aborted · ABORT t1.1 · log [ABORT t1.1]
        AC1: holds
        AC2: holds
        abort_reachable: witnessed at #22
        commit_reachable: not witnessed
        durable: holds
        ",
    );
    // Nodes not listed form one group together: {p3} against everyone else.
    let run = run_json(&scenario("", ONE_REQUEST, r#"{"at": 0, "partition": [["p3"]]}"#));
    assert_eq!(
        first(&*run, &Sel::kind("network")).narration,
        "the network partitions into {p3} | {coord, p1, p2}; no other link is cut"
    );
    assert!(select(&*run, &Sel::kind("drop"))
        .iter()
        .all(|d| d.node == Some(3) || d.peer == Some(3)));
    assert_eq!(count(&*run, &Sel::kind("drop").at("p3").of("prepare")), 1);
    assert_eq!(count(&*run, &Sel::kind("deliver").of("prepare")), 2);
}

#[test]
fn one_way_cut_drops_only_one_direction() {
    // p1 hears the coordinator, but its VoteYes and its Ack are lost until the heal.
    let run = run_json(&scenario(
        "",
        ONE_REQUEST,
        r#"{"at": 0, "cut": {"from": "p1", "to": "coord"}}, {"at": 200, "heal": true}"#,
    ));
    assert_eq!(
        first(&*run, &Sel::kind("network")).narration,
        "one-way cut: messages from p1 to coord are lost"
    );
    let drops = select(&*run, &Sel::kind("drop"));
    assert!(drops.iter().all(|d| d.peer == Some(1)
        && d.node == Some(0)
        && d.drop_reason == Some(DropReason::Partition)));
    assert_eq!(count(&*run, &Sel::kind("drop").of("vote_yes")), 1);
    assert!(
        count(&*run, &Sel::kind("deliver").at("p1").peer("coord").of("abort")) >= 1,
        "coord → p1 still works"
    );
    check(
        &*run,
        "
        end: Quiescent at t=202
        coord: done · ABORT t1.1 · log [ABORT t1.1, END t1.1]
        p1: aborted · ABORT t1.1 · log [PREPARED t1.1, ABORT t1.1]
        p2: aborted · ABORT t1.1 · log [PREPARED t1.1, ABORT t1.1]
        p3: aborted · ABORT t1.1 · log [PREPARED t1.1, ABORT t1.1]
        AC1: holds
        AC2: holds
        abort_reachable: witnessed at #37
        commit_reachable: not witnessed
        durable: holds
        ",
    );
}

#[test]
fn isolating_a_node_drops_everything_to_and_from_it_until_healed() {
    // p3 is cut off right after it forces PREPARED: its vote is lost, the coordinator
    // aborts, and p3 stays in doubt — unable to reach anyone — until the heal.
    let run = run_json(&scenario(
        "",
        ONE_REQUEST,
        r#"{"after": {"persisted": "prepared", "by": "p3"}, "isolate": "p3"}, {"at": 200, "heal": true}"#,
    ));
    let drops = select(&*run, &Sel::kind("drop"));
    assert!(drops.iter().all(|d| (d.node == Some(3) || d.peer == Some(3))
        && d.drop_reason == Some(DropReason::Partition)));
    assert!(drops.iter().any(|d| d.node == Some(3)), "messages to p3 are lost");
    assert!(drops.iter().any(|d| d.peer == Some(3)), "messages from p3 are lost");
    assert!(drops.iter().all(|d| d.time < 200));
    assert_eq!(first(&*run, &Sel::kind("drop")).label, "VoteYes(t1.1)");
    // Mid-isolation, p3's card says why it is stuck.
    let mid = run.events().iter().rfind(|e| e.time < 200).map(|e| e.id);
    let p3 = &run.views_at(mid)[3];
    assert_eq!(
        p3.blocked.as_deref(),
        Some("blocked since t=8: in doubt on t1.1 since t=8 (voted yes); the coordinator is unreachable and no reachable participant knows the outcome — waiting for coord, p1, p2")
    );
    // The heal ends p3's blocking.
    let spans = run.blocked_spans();
    assert_eq!(spans.len(), 1, "{spans:?}");
    let healed = select(&*run, &Sel::kind("network"))
        .into_iter()
        .find(|e| e.narration.starts_with("the network heals"))
        .map(|e| e.id);
    assert_eq!((spans[0].node.0, spans[0].until), (3, healed));
    check(
        &*run,
        "
        end: Quiescent at t=242
        coord: done · ABORT t1.1 · log [ABORT t1.1, END t1.1]
        p1: aborted · ABORT t1.1 · log [PREPARED t1.1, ABORT t1.1]
        p2: aborted · ABORT t1.1 · log [PREPARED t1.1, ABORT t1.1]
        p3: aborted · ABORT t1.1 · log [PREPARED t1.1, ABORT t1.1]
        AC1: holds
        AC2: holds
        abort_reachable: witnessed at #42
        commit_reachable: not witnessed
        durable: holds
        ",
    );
}

#[test]
fn request_to_a_down_coordinator_is_lost() {
    let run = run_json(&scenario(
        "",
        r#"{"at": 5, "request": {"transfer": 100}}"#,
        r#"{"at": 0, "crash": "coord"}"#,
    ));
    let lost = first(&*run, &Sel::kind("request_lost"));
    assert_eq!(
        lost.narration,
        "a client request (begin a transfer of 100) to coord is lost: coord is down"
    );
    assert_eq!(count(&*run, &Sel::kind("send")), 0);
    check(
        &*run,
        "
        end: Quiescent at t=5
        coord: down · - · log []
        p1: working · - · log []
        p2: working · - · log []
        p3: working · - · log []
        AC1: holds
        AC2: holds
        abort_reachable: not witnessed
        commit_reachable: not witnessed
        durable: holds
        ",
    );
}

#[test]
fn run_ends_quiescent_when_only_cancelled_timers_remain() {
    // The vote timeout is cancelled when all votes arrive; a cancelled timer is not
    // something left to happen, even when it would have fired after max_ticks.
    let run = run_json(&scenario(r#", "vote_timeout_ticks": 2000"#, ONE_REQUEST, ""));
    assert_eq!(decisions(&*run)["p1"], "COMMIT t1.1");
    assert!(first(&*run, &Sel::kind("timer_cancel").at("coord").of("vote_timeout")).time < 1000);
    assert_eq!(run.end(), commitscope_engine::RunEnd::Quiescent, "{}", trace(&*run));
}

#[test]
fn coordinator_decision_at_the_commit_point_appears_in_the_trace() {
    // The coordinator crashes right after forcing COMMIT (the commit point) and recovers.
    // Its card shows COMMIT; the trace must say that it decided, so the AC1 and durability
    // monitors know its decision.
    let run = run_preset("two_pc/coordinator_recovers");
    assert_eq!(decisions(&*run)["coord"], "COMMIT t1.1");
    assert_eq!(count(&*run, &Sel::kind("decide").at("coord")), 1, "{}", trace(&*run));
}

#[test]
fn no_property_is_violated_on_any_path_above() {
    for preset in commitscope_protocols::presets::ALL.iter().filter(|p| p.id.starts_with("two_pc/"))
    {
        let run = run_preset(preset.id);
        assert_eq!(violations(&*run), Vec::<String>::new(), "{}", preset.id);
    }
}
