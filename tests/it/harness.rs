//! The course's JSON-lines harness, driven by case files under tests/fixtures/harness:
//! `-> ` lines are input, `<- ` lines the expected output, compared as parsed JSON.

use commitscope_protocols::harness::Session;
use serde_json::Value;

fn check_case(name: &str, text: &str) {
    let mut session = Session::default();
    let mut expected: Vec<Value> = Vec::new();
    let mut actual: Vec<Value> = Vec::new();
    for line in text.lines() {
        if let Some(input) = line.strip_prefix("-> ") {
            for out in session.handle(input) {
                actual.push(serde_json::from_str(&out).expect("the harness prints JSON"));
            }
        } else if let Some(want) = line.strip_prefix("<- ") {
            expected.push(serde_json::from_str(want).expect("the case's expected line is JSON"));
        }
    }
    assert_eq!(actual, expected, "harness case {name}");
}

#[test]
fn course_cases() {
    check_case("two_pc_blocks", include_str!("../fixtures/harness/two_pc_blocks.txt"));
    check_case("bad_lines", include_str!("../fixtures/harness/bad_lines.txt"));
    check_case("three_pc_unblocks", include_str!("../fixtures/harness/three_pc_unblocks.txt"));
    check_case("three_pc_paths", include_str!("../fixtures/harness/three_pc_paths.txt"));
}

/// Each node's final decision ("COMMIT t1.1"), or "undecided".
fn decisions(
    run: &dyn commitscope_engine::erased::AnyRun,
) -> std::collections::BTreeMap<String, String> {
    let last = run.events().last().map(|e| e.id);
    run.views_at(last)
        .into_iter()
        .map(|v| (v.name, v.decision.unwrap_or_else(|| "undecided".into())))
        .collect()
}

fn begin(session: &mut Session, body: &str) -> Box<dyn commitscope_engine::erased::AnyRun> {
    let init = r#"{"src":"c0","dest":"coord_2pc","body":{"type":"init","msg_id":1,"participants":["p1","p2"],"protocol":"2pc"}}"#;
    session.handle(init);
    let line = format!(
        r#"{{"src":"c1","dest":"coord_2pc","body":{{"type":"txn_begin","msg_id":2,{body}}}}}"#
    );
    let out = session.handle(&line);
    assert_eq!(out.len(), 1, "{out:?}");
    session.last_run.take().expect("a transaction ran")
}

#[test]
fn two_pc_crash_after_prepare_leaves_participants_blocked() {
    let run = begin(
        &mut Session::default(),
        r#""crash_coordinator_after":"prepare","participant_timeout_ms":2000"#,
    );
    let d = decisions(&*run);
    assert_eq!(d["p1"], "undecided");
    assert_eq!(d["p2"], "undecided");
    let views = run.views_at(run.events().last().map(|e| e.id));
    let blocked = views[1].blocked.as_deref().expect("p1 is blocked");
    assert!(blocked.contains("waiting for coord"), "{blocked}");
    // The in-doubt timeout the case names (2000 ms) is the participants' query period.
    let first_query = run.events().iter().find(|e| e.subkind == Some("decision_request")).unwrap();
    assert!((2000..2100).contains(&first_query.time), "{}", first_query.time);
}

#[test]
fn course_failure_rule_transfer_999999_aborts() {
    let run =
        begin(&mut Session::default(), r#""operations":[{"transfer":999999,"from":"a","to":"b"}]"#);
    let d = decisions(&*run);
    assert!(d.values().all(|v| v == "ABORT t1.1"), "{d:?}");
}

#[test]
fn two_pc_without_faults_commits() {
    let run =
        begin(&mut Session::default(), r#""operations":[{"transfer":100,"from":"a","to":"b"}]"#);
    let d = decisions(&*run);
    assert!(d.values().all(|v| v == "COMMIT t1.1"), "{d:?}");
}

/// Runs one 3PC transaction (the default protocol) and returns its run.
fn begin_3pc(body: &str) -> (Vec<String>, Box<dyn commitscope_engine::erased::AnyRun>) {
    let mut session = Session::default();
    session.handle(r#"{"src":"c0","dest":"coord","body":{"type":"init","msg_id":1,"participants":["p1","p2","p3"]}}"#);
    let line =
        format!(r#"{{"src":"c1","dest":"coord","body":{{"type":"txn_begin","msg_id":2,{body}}}}}"#);
    let out = session.handle(&line);
    (out, session.last_run.take().expect("a transaction ran"))
}

#[test]
fn three_pc_crash_after_can_commit_or_prepare_aborts_everyone_by_timeout() {
    for phase in ["can_commit", "prepare"] {
        let (out, run) = begin_3pc(&format!(
            r#""crash_coordinator_after":"{phase}","participant_timeout_ms":2000"#
        ));
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(run.protocol(), "three_pc");
        let d = decisions(&*run);
        for p in ["p1", "p2", "p3"] {
            assert_eq!(d[p], "ABORT t1.1 (by participant timeout)", "{phase}");
        }
        let first_abort = run.events().iter().find(|e| e.kind == "decide").unwrap();
        assert!((2000..2100).contains(&first_abort.time), "{}", first_abort.time);
    }
}

#[test]
fn three_pc_partition_after_pre_commit_splits_the_decision() {
    let (out, run) = begin_3pc(
        r#""partition_after":"pre_commit","partitioned_participants":["p3"],"timeout_ms":500"#,
    );
    assert_eq!(out.len(), 1, "{out:?}");
    let d = decisions(&*run);
    assert_eq!(d["p3"], "ABORT t1.1 (by participant timeout)");
    assert_eq!(d["p1"], "COMMIT t1.1");
    let ac1 = run.properties().into_iter().find(|p| p.id == "AC1").unwrap();
    assert!(ac1.first.is_some(), "AC1 must be violated");
}

#[test]
fn three_pc_elect_extension_finishes_through_the_elected_participant() {
    let (out, run) = begin_3pc(
        r#""crash_coordinator_after":"pre_commit","participant_timeout_ms":2000,"termination":"elect""#,
    );
    // Nobody committed by timeout: nothing to announce.
    assert_eq!(out.len(), 1, "{out:?}");
    let d = decisions(&*run);
    assert_eq!(d["p1"], "COMMIT t1.1 (by termination: a participant was committable)");
    assert_eq!(d["p2"], "COMMIT t1.1");
}

#[test]
fn saga_cases() {
    check_case("saga_orchestrated", include_str!("../fixtures/harness/saga_orchestrated.txt"));
    check_case("saga_checkout", include_str!("../fixtures/harness/saga_checkout.txt"));
    check_case("saga_bad_lines", include_str!("../fixtures/harness/saga_bad_lines.txt"));
}

#[test]
fn saga_crash_extension_really_crashes_and_resumes_and_dedups_the_duplicate() {
    let mut session = Session::default();
    let out = session.handle(
        r#"{"src":"c1","dest":"orchestrator","body":{"type":"saga_begin","msg_id":1,"saga_id":"s1","steps":["reserve_inventory","charge_payment","create_shipment"],"crash_orchestrator_after":"reserve_inventory","recover_after_ms":250,"duplicate_steps":["charge_payment"]}}"#,
    );
    assert_eq!(out.len(), 5, "{out:?}");
    let run = session.last_run.take().expect("a saga ran");
    assert_eq!(run.protocol(), "saga");
    let ev = run.events();
    let crash = ev.iter().find(|e| e.kind == "crash").expect("the orchestrator crashed");
    let recover = ev.iter().find(|e| e.kind == "recover").expect("and recovered");
    assert_eq!(recover.time, crash.time + 250);
    // After recovery the orchestrator sends the next step (charge) from its log.
    let next = ev.iter().find(|e| e.id > recover.id && e.kind == "send").unwrap();
    assert_eq!(next.subkind, Some("charge"));
    // The duplicated charge is answered from payment's dedup table, and charged once.
    let cached = ev.iter().filter(|e| e.kind == "send" && e.label.ends_with(", cached)")).count();
    assert_eq!(cached, 1);
    assert_eq!(
        ev.iter()
            .filter(|e| e.kind == "persist" && e.label.starts_with("APPLIED s1/charge"))
            .count(),
        1
    );
}

#[test]
fn checkout_modes_run_the_protocol_they_name() {
    let mut session = Session::default();
    session.handle(r#"{"src":"c1","dest":"checkout","body":{"type":"checkout","msg_id":1,"mode":"choreography"}}"#);
    let run = session.last_run.take().unwrap();
    assert_eq!(run.nodes()[0].name, "broker");
    session.handle(r#"{"src":"c1","dest":"checkout","body":{"type":"checkout","msg_id":2}}"#);
    let run = session.last_run.take().unwrap();
    assert_eq!(run.nodes()[0].name, "orch");
}

#[test]
fn kv_cases() {
    check_case("kv_list_append", include_str!("../fixtures/harness/kv_list_append.txt"));
    check_case("kv_rw_register", include_str!("../fixtures/harness/kv_rw_register.txt"));
    check_case("kv_bad_lines", include_str!("../fixtures/harness/kv_bad_lines.txt"));
    check_case("kv_in_doubt", include_str!("../fixtures/harness/kv_in_doubt.txt"));
    check_case("kv_recovers", include_str!("../fixtures/harness/kv_recovers.txt"));
}

/// A kv session's transactions, each run after everything before it.
fn kv_session(lines: &[String]) -> (Vec<Value>, Box<dyn commitscope_engine::erased::AnyRun>) {
    let mut session = Session::default();
    let mut replies = Vec::new();
    for line in lines {
        for out in session.handle(line) {
            replies.push(serde_json::from_str::<Value>(&out).expect("JSON"));
        }
    }
    (replies, session.last_run.take().expect("a kv run"))
}

fn kv_txn(msg_id: u64, src: &str, txn: &str, extra: &str) -> String {
    format!(
        r#"{{"src":"{src}","dest":"n1","body":{{"type":"txn","msg_id":{msg_id},"txn":{txn}{extra}}}}}"#
    )
}

#[test]
fn kv_session_reruns_keep_every_earlier_answer_as_it_was_given() {
    let mut lines = vec![
        r#"{"src":"c0","dest":"n1","body":{"type":"init","msg_id":0,"protocol":"kv","shards":3,"clients":3}}"#.to_string(),
    ];
    for i in 1..=12u64 {
        let txn = format!(
            r#"[["append",{},{i}],["r",{},null],["append",{},{i}]]"#,
            i % 4,
            (i + 1) % 4,
            (i + 2) % 4
        );
        // Transaction 5's coordinator (its client) crashes after Prepare and recovers.
        let extra = if i == 5 {
            r#","crash_coordinator_after":"prepare","recover_after_ms":300"#
        } else {
            ""
        };
        lines.push(kv_txn(i, &format!("c{}", i % 3 + 1), &txn, extra));
    }
    let (replies, run) = kv_session(&lines);
    assert_eq!(run.protocol(), "kv");
    assert_eq!(run.scenario().requests.len(), 12, "the last run holds the whole session");
    let ok: Vec<&Value> = replies
        .iter()
        .filter(|r| r["body"]["type"] == "txn_ok")
        .map(|r| &r["body"]["txn"])
        .collect();
    let statuses: Vec<&Value> = replies.iter().map(|r| &r["body"]["code"]).collect();
    assert_eq!(ok.len(), 11, "{statuses:?}");
    assert_eq!(replies[5]["body"]["code"], 13, "{}", replies[5]);
    // The final run answers every committed transaction as the session did, in order.
    let answered: Vec<&Value> = run
        .events()
        .iter()
        .filter_map(|e| e.payload.as_ref())
        .filter(|p| p["type"] == "answer" && p["status"]["status"] == "committed")
        .map(|p| &p["ops"])
        .collect();
    assert_eq!(answered, ok);
    // The last read sees every earlier committed append to k1, in order (a serial run),
    // and not transaction 5's: its client recovered with no decision logged and aborted it.
    let last = ok.last().unwrap();
    assert_eq!(last[1], serde_json::json!(["r", 1, [1, 3, 7, 9, 11]]), "{last}");
    let serializable = run.properties().into_iter().find(|p| p.id == "serializable").unwrap();
    assert_eq!(serializable.first, None, "{:?}", serializable.message);
}

#[test]
fn kv_without_init_runs_on_the_default_store_and_other_clients_map_deterministically() {
    let lines = [
        kv_txn(1, "n7", r#"[["append",1,5]]"#, ""),
        kv_txn(2, "c5", r#"[["r",1,null],["r",2,null]]"#, r#","unknown_field":{"x":1}"#),
    ];
    let (replies, run) = kv_session(&lines);
    assert_eq!(replies[1]["body"]["txn"], serde_json::json!([["r", 1, [5]], ["r", 2, []]]));
    // n7 is c1; c5 with the default two clients is c1 too ((5 - 1) mod 2 + 1).
    let clients: Vec<u32> =
        run.events().iter().filter(|e| e.kind == "request").filter_map(|e| e.node).collect();
    assert_eq!(clients, [0, 0]);
    assert_eq!(run.nodes().iter().filter(|n| n.role == "shard").count(), 2);
}

/// Every kv line cut short or with a byte changed is answered with JSON lines; nothing
/// panics and the session goes on.
#[test]
fn kv_lines_mangled_anywhere_get_json_replies() {
    let lines = [
        r#"{"src":"c0","dest":"n1","body":{"type":"init","msg_id":1,"protocol":"kv","shards":["s1","s2"],"workload":"rw-register","deadlock":"wound-wait","client_timeout_ms":50}}"#,
        r#"{"src":"c1","dest":"n1","body":{"type":"txn","msg_id":2,"txn":[["r",1,null],["w",1,6],["w",2,9]],"crash_coordinator_after":"prepare","recover_after_ms":90}}"#,
        r#"{"src":"c2","dest":"n1","body":{"type":"txn","msg_id":3,"txn":[["r",1,null],["r",2,null]]}}"#,
    ];
    let mut session = Session::default();
    let mut seed: u64 = 7;
    for round in 0..400 {
        let line = lines[round % lines.len()];
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let at = (seed >> 33) as usize % line.len();
        let mangled: String = match round % 3 {
            0 => line[..at].to_string(),
            1 => {
                let mut bytes = line.as_bytes().to_vec();
                bytes[at] = b"[]{}\",:-0x9n"[(seed >> 20) as usize % 12];
                String::from_utf8_lossy(&bytes).into_owned()
            }
            _ => line.to_string(),
        };
        for out in session.handle(&mangled) {
            serde_json::from_str::<Value>(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        }
    }
}
