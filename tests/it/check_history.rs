//! `commitscope check-history`: histories in our form and Jepsen's (tests/fixtures/history),
//! and kv runs read back from an exported trace or a scenario, through the CLI's library.

use commitscope_cli::check_history::{check_text, history_of, Checked};
use commitscope_engine::erased::AnyRun;
use serde_json::Value;

fn checked(text: &str) -> Checked {
    check_text(text, false).unwrap_or_else(|e| panic!("refused: {e}\n{text}"))
}

#[test]
fn a_clean_history_exits_0_with_the_summary_line() {
    let c = checked(include_str!("../fixtures/history/clean.json"));
    assert_eq!(c.out, "4 transactions, 3 committed, 4 edges: no anomaly\n");
    assert_eq!(c.code, 0);
    assert!(c.warnings.is_empty());
}

#[test]
fn write_skew_in_our_form_is_g2_item_and_exits_1() {
    let c = checked(include_str!("../fixtures/history/g2_item.json"));
    assert_eq!(
        c.out,
        "G2-item (anti-dependency cycle, e.g. write skew): T1 → T2: T1 read key 1 = [] but T2 \
         appended 1 next, and T2 read key 2 = [] but T1 appended 1 next, so T1 → T2 → T1 is a \
         cycle (rw, rw)\n3 transactions, 3 committed, 4 edges: 1 anomaly\n"
    );
    assert_eq!(c.code, 1);
    // --json prints the checker's report.
    let json = check_text(include_str!("../fixtures/history/g2_item.json"), true).unwrap();
    assert_eq!(json.code, 1);
    let report: Value = serde_json::from_str(&json.out).expect("the report is JSON");
    assert_eq!(report["anomalies"][0]["kind"], "G2-item");
    assert_eq!(report["anomalies"][0]["txns"], serde_json::json!([0, 1]));
    assert_eq!(report["edges"], 4);
}

#[test]
fn jepsen_json_lines_with_read_skew_is_g_single() {
    let c = checked(include_str!("../fixtures/history/jepsen_g_single.jsonl"));
    assert_eq!(
        c.out,
        "G-single (read skew): T2 → T3: T3 read key 1 = [1], ending with T2's append of 1, and \
         T3 read key 2 = [] but T2 appended 1 next, so T2 → T3 → T2 is a cycle (wr, rw)\n\
         3 transactions, 3 committed, 3 edges: 1 anomaly\n"
    );
    assert_eq!(c.code, 1);
}

#[test]
fn bad_input_is_an_error_naming_the_problem_and_the_line() {
    let e = check_text(include_str!("../fixtures/history/bad.json"), false).unwrap_err();
    assert_eq!(
        e,
        r#"line 3: micro-operation 0 of `ops` (["x",1,2]) must start with "r", "w" or "append""#
    );
    for (text, want) in [
        ("", "empty input"),
        ("not json", "line 1"),
        (r#"{"format": "commitscope-svg", "version": 1}"#, "not \"commitscope-trace\""),
        (r#"{"format": "commitscope-trace", "version": 9}"#, "version 9 is unknown"),
        (r#"{"format": "commitscope-trace", "version": 1}"#, "no \"scenario\""),
        (r#"{"version": 1, "protocol": "kv", "params": {"shards": 0}}"#, "params.shards"),
    ] {
        let e = check_text(text, false).unwrap_err();
        assert!(e.contains(want), "{text}: {e}");
    }
}

/// A run as `commitscope-web`'s `export::trace_json` writes it (that crate is the browser
/// app's; the shape is spelt out here): the scenario, the hash, the nodes, the verdicts and
/// every event, one per line.
fn trace_json(run: &dyn AnyRun, hash: &str) -> String {
    let j = |v: Value| v.to_string();
    let events: Vec<String> =
        run.events().iter().map(|e| serde_json::to_string(e).expect("an event")).collect();
    format!(
        "{{\n  \"format\": \"commitscope-trace\",\n  \"version\": 1,\n  \"protocol\": {},\n  \
         \"trace_hash\": {},\n  \"scenario\": {},\n  \"nodes\": {},\n  \"properties\": {},\n  \
         \"events\": [\n    {}\n  ]\n}}\n",
        j(run.protocol().into()),
        j(hash.into()),
        serde_json::to_string(run.scenario()).unwrap(),
        serde_json::to_string(run.nodes()).unwrap(),
        serde_json::to_string(&run.properties()).unwrap(),
        events.join(",\n    ")
    )
}

fn preset_run(id: &str) -> Box<dyn AnyRun> {
    let preset = commitscope_protocols::presets::find(id).expect("a preset");
    commitscope_protocols::run(&preset.scenario()).expect("it runs")
}

#[test]
fn the_kv_write_skew_preset_exported_as_a_trace_is_g2_item() {
    let run = preset_run("kv/write_skew");
    let hash = format!("{:016x}", run.trace_hash());
    let c = checked(&trace_json(&*run, &hash));
    assert_eq!(c.code, 1);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let lines: Vec<&str> = c.out.lines().collect();
    assert_eq!(lines.len(), 2, "{}", c.out);
    assert!(
        lines[0].starts_with(
            "G2-item (anti-dependency cycle, e.g. write skew): c2/t1.1 → c1/t1.1: c2/t1.1 read \
             key 1 = [] but c1/t1.1 appended 11 next"
        ),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1], "3 transactions, 3 committed, 4 edges: 1 anomaly");
    // The same from the bare scenario.
    let scenario = run.scenario().to_json();
    assert_eq!(checked(&scenario).out, c.out);
    // A hash this build does not reproduce: checked all the same, with a warning.
    let stale = checked(&trace_json(&*run, "0123456789abcdef"));
    assert_eq!((stale.code, &stale.out), (1, &c.out));
    assert_eq!(stale.warnings.len(), 1);
    assert!(stale.warnings[0].contains("not 0123456789abcdef"), "{:?}", stale.warnings);
}

#[test]
fn a_serializable_kv_preset_is_clean_and_another_protocol_is_refused() {
    let run = preset_run("kv/single_vs_cross_shard");
    let hash = format!("{:016x}", run.trace_hash());
    let c = checked(&trace_json(&*run, &hash));
    assert_eq!(c.code, 0, "{}", c.out);
    assert!(c.out.ends_with(": no anomaly\n"), "{}", c.out);
    let run = preset_run("two_pc/happy_path");
    let e = check_text(&trace_json(&*run, "0"), false).unwrap_err();
    assert!(e.starts_with("trace: the protocol is two_pc"), "{e}");
}

/// A kv scenario: c1 runs a cross-shard transaction and, with `fault`, crashes.
fn crashing(faults: &str, max_ticks: u32) -> String {
    format!(
        r#"{{"version": 1, "protocol": "kv", "params": {{"shards": 2, "clients": 1}},
            "network": {{"latency_ticks_min": 10, "latency_ticks_max": 10}},
            "requests": [{{"at": 0, "node": "c1", "request": {{"txn": [["append", 0, 1], ["r", 1, null]]}}}}],
            "faults": [{faults}], "limits": {{"max_ticks": {max_ticks}}}}}"#
    )
}

#[test]
fn a_transaction_in_flight_at_a_client_crash_or_at_the_end_is_indefinite() {
    let status = |text: &str| -> Vec<(String, Value)> {
        let read = history_of(text).unwrap_or_else(|e| panic!("{e}"));
        read.history
            .txns
            .iter()
            .map(|t| (t.name.clone(), serde_json::to_value(t.status).unwrap()))
            .collect()
    };
    let crash =
        crashing(r#"{"after": {"sent": "prepare", "by": "c1", "count": 2}, "crash": "c1"}"#, 300);
    assert_eq!(status(&crash), [("c1/t1.1".to_string(), Value::from("info"))]);
    let cut_short = crashing("", 15);
    assert_eq!(status(&cut_short), [("c1/t1.1".to_string(), Value::from("info"))]);
    assert_eq!(checked(&cut_short).out, "1 transaction, 0 committed, 0 edges: no anomaly\n");
    let whole = crashing("", 300);
    assert_eq!(status(&whole), [("c1/t1.1".to_string(), Value::from("ok"))]);
}
