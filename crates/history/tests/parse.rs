//! Reading histories: our form (round trip), Jepsen's (array and JSON lines), bad input.

mod common;

use commitscope_history::{check, parse_history, History, Mop, Seen, Status, Txn};

fn txn(name: &str, process: u64, status: Status, ops: Vec<Mop>) -> Txn {
    Txn { name: name.to_string(), process, ops, status }
}

fn sample() -> History {
    History {
        txns: vec![
            txn(
                "T1",
                0,
                Status::Ok,
                vec![
                    Mop::Append { key: 1, value: 5 },
                    Mop::Read { key: 2, seen: Some(Seen::List(vec![1, 2])) },
                    Mop::Write { key: 3, value: 7 },
                    Mop::Read { key: 3, seen: Some(Seen::Register(Some(7))) },
                    Mop::Read { key: 4, seen: Some(Seen::Register(None)) },
                    Mop::Read { key: 5, seen: Some(Seen::List(vec![])) },
                ],
            ),
            txn("c1/t\"2\"", 3, Status::Fail, vec![Mop::Read { key: 1, seen: None }]),
            txn("T3", u64::MAX, Status::Info, vec![Mop::Write { key: 0, value: i64::MIN }]),
            txn("T4", 1, Status::Ok, vec![]),
        ],
    }
}

#[test]
fn our_form_round_trips() {
    let h = sample();
    let text = h.to_json();
    assert!(text.starts_with("{\"txns\": [\n  {\"name\": \"T1\", \"process\": 0, \"status\": \"ok\", \"ops\": [[\"append\", 1, 5], [\"r\", 2, [1, 2]], [\"w\", 3, 7], [\"r\", 3, 7], [\"r\", 4, null], [\"r\", 5, []]]},"), "{text}");
    assert_eq!(parse_history(&text).unwrap(), h);
    assert_eq!(parse_history(&History::default().to_json()).unwrap(), History::default());
}

#[test]
fn our_form_defaults_and_extra_fields() {
    let text =
        r#"{"version": 1, "txns": [{"status": ":ok", "ops": [["append", 1, 2]], "note": "x"}]}"#;
    let h = parse_history(text).unwrap();
    assert_eq!(h.txns, vec![txn("T1", 0, Status::Ok, vec![Mop::Append { key: 1, value: 2 }])]);
}

#[test]
fn random_histories_round_trip() {
    let mut rng = common::Rng::new(11);
    for _ in 0..20 {
        let g = common::Gen { txns: 50, ..common::Gen::default() };
        let h = common::serial(&mut rng, &g);
        assert_eq!(parse_history(&h.to_json()).unwrap(), h);
    }
}

const JEPSEN: &str = r#"[
  {"type": "invoke", "process": 0, "f": "txn", "value": [["append", 1, 1], ["r", 2, null]], "index": 0, "time": 10},
  {"type": "invoke", "process": 1, "f": "txn", "value": [["append", 2, 1], ["r", 1, null]], "index": 1},
  {"type": "info", "process": "nemesis", "f": "start-partition", "value": null, "index": 2},
  {"type": "ok", "process": 1, "f": "txn", "value": [["append", 2, 1], ["r", 1, []]], "index": 3},
  {"type": "ok", "process": 0, "f": "txn", "value": [["append", 1, 1], ["r", 2, null]], "index": 4},
  {"type": "invoke", "process": 2, "f": "txn", "value": [["w", 9, 1]], "index": 5},
  {"type": "fail", "process": 2, "f": "txn", "value": [["w", 9, 1]], "index": 6},
  {"type": "invoke", "process": 3, "f": "txn", "value": [["r", 1, null], ["r", 2, null]], "index": 7},
  {"type": "ok", "process": 3, "f": "txn", "value": [["r", 1, [1]], ["r", 2, [1]]], "index": 8},
  {"type": "invoke", "process": 4, "f": "txn", "value": [["append", 3, 1]], "index": 9}
]"#;

#[test]
fn jepsen_array() {
    let h = parse_history(JEPSEN).unwrap();
    let names: Vec<&str> = h.txns.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["T4", "T3", "T6", "T8", "T9"], "named by the completion's index");
    let statuses: Vec<Status> = h.txns.iter().map(|t| t.status).collect();
    assert_eq!(statuses, [Status::Ok, Status::Ok, Status::Fail, Status::Ok, Status::Info]);
    // A completed read of null saw nothing; the invocation's reads are unanswered.
    assert_eq!(h.txns[0].ops[1], Mop::Read { key: 2, seen: Some(Seen::Register(None)) });
    assert_eq!(h.txns[1].ops[1], Mop::Read { key: 1, seen: Some(Seen::List(vec![])) });
    assert_eq!(h.txns[1].process, 1);
    // Write skew: each read the other's key empty; T8 saw both appends.
    let report = check(&h);
    assert_eq!(report.kinds(), vec![commitscope_history::AnomalyKind::G2Item]);
}

#[test]
fn jepsen_json_lines_with_edn_keywords() {
    let text = "{\":type\": \":invoke\", \":process\": 0, \":f\": \":txn\", \":value\": [[\":append\", 1, 1]]}\n\
                \n\
                {\":type\": \":ok\", \":process\": 0, \":f\": \":txn\", \":value\": [[\":append\", 1, 1]]}\n\
                {\"type\": \"invoke\", \"process\": 1, \"value\": [[\"r\", 1, null]]}\n\
                {\"type\": \"ok\", \"process\": 1, \"value\": [[\"r\", 1, [1]]]}\n";
    let h = parse_history(text).unwrap();
    assert_eq!(
        h.txns,
        vec![
            txn("T1", 0, Status::Ok, vec![Mop::Append { key: 1, value: 1 }]),
            txn("T2", 1, Status::Ok, vec![Mop::Read { key: 1, seen: Some(Seen::List(vec![1])) }]),
        ]
    );
    assert!(check(&h).is_clean());
}

#[test]
fn jepsen_info_keeps_the_invocation_and_a_lone_completion_stands() {
    let text = r#"[
      {"type": "invoke", "process": 0, "value": [["append", 1, 1], ["r", 1, null]]},
      {"type": "info", "process": 0, "value": null},
      {"type": "ok", "process": 5, "value": [["r", 1, [1]]]}
    ]"#;
    let h = parse_history(text).unwrap();
    assert_eq!(h.txns[0].status, Status::Info);
    assert_eq!(h.txns[0].ops[1], Mop::Read { key: 1, seen: None });
    assert_eq!(h.txns[1].name, "T2");
    let report = check(&h);
    assert!(report.is_clean());
    assert_eq!(report.committed, 2, "the info transaction's append was seen");
}

fn error(text: &str) -> (Option<usize>, String) {
    let e = parse_history(text).unwrap_err();
    (e.line, e.to_string())
}

#[test]
fn bad_input_names_the_line() {
    let (line, msg) = error("");
    assert_eq!(line, None);
    assert!(msg.starts_with("empty input"), "{msg}");
    assert!(error("   \n\t").1.starts_with("empty input"));

    let text = "{\"type\": \"invoke\", \"process\": 0, \"value\": [[\"r\", 1, null]]}\n\
                {\"type\": \"ok\", \"process\": 0, \"value\": [[\"r\", 1, null]]}\n\
                {\"type\": \"invoke\", \"process\": 1, \"value\": 7}\n";
    assert_eq!(
        error(text).1,
        "line 3: `value` must be a list of micro-operations like [\"r\", 1, null]"
    );

    let text = "[\n{\"type\": \"invoke\", \"process\": 0, \"value\": [[\"x\", 1]]}\n]";
    assert_eq!(
        error(text).1,
        "line 2: micro-operation 0 of `value` ([\"x\",1]) must start with \"r\", \"w\" or \"append\""
    );
    let text = "{\"txns\": [\n  {\"status\": \"ok\", \"ops\": []},\n  {\"status\": \"maybe\", \"ops\": []}\n]}";
    assert_eq!(error(text).1, "line 3: `status` must be \"ok\", \"fail\" or \"info\"");
    let text = "{\"txns\": [\n  {\"status\": \"ok\", \"ops\": [[\"append\", -1, 2]]}]}";
    assert!(error(text).1.starts_with("line 2: micro-operation 0 of `ops`"), "{}", error(text).1);
    assert_eq!(error("{\"txns\": 3}").1, "line 1: `txns` must be a list of transactions");
    assert_eq!(
        error("{\"txns\": []} []").1,
        "line 1: unexpected text after the end of the history"
    );
    assert_eq!(error("[1]").1.split(':').next(), Some("line 1"));
    let (line, msg) = error("[\n{\"type\": \"ok\",\n \"process\": 0,, }]");
    assert_eq!(line, Some(3), "{msg}");
    assert!(msg.contains("not valid JSON"), "{msg}");
    assert!(error("hello").1.starts_with("line 1: expected a JSON object"));
}

#[test]
fn hostile_input_does_not_panic() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse_history(&deep).is_err());
    let deep_txns = format!("{{\"txns\": [{}{}]}}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(parse_history(&deep_txns).is_err());
    let big = "{\"txns\": [{\"status\": \"ok\", \"ops\": [[\"w\", 1, 99999999999999999999999]]}]}";
    assert!(error(big).1.contains("64-bit integer"), "{}", error(big).1);
    let huge = "[{\"type\": \"ok\", \"process\": 1e999, \"value\": []}]";
    assert!(parse_history(huge).is_err());
    for text in [
        "{",
        "[",
        "{\"txns\": [",
        "[{\"type\": \"ok\"}",
        "\u{feff}[]",
        "[{}]",
        "[null]",
        "{\"txns\": [1]}",
        "{\"txns\": [{\"status\": \"ok\", \"ops\": [[]]}]}",
        "{\"txns\": [{\"status\": \"ok\", \"ops\": [[\"r\", 1, [1.5]]]}]}",
        "{\"txns\": [{\"status\": \"ok\", \"ops\": [[\"r\", 1, 2, 3]]}]}",
        "{\"a\": 1}",
    ] {
        let _ = parse_history(text);
    }
    // Every prefix and many byte-level mutations of a valid history.
    let mut rng = common::Rng::new(3);
    let valid = JEPSEN.as_bytes().to_vec();
    for cut in 0..valid.len() {
        if let Ok(text) = std::str::from_utf8(&valid[..cut]) {
            let _ = parse_history(text);
        }
    }
    let alphabet = b"[]{}\",:0123456789-enrwaptul ";
    for _ in 0..3_000 {
        let mut bytes = valid.clone();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(bytes.len() as u64) as usize;
            bytes[i] = alphabet[rng.below(alphabet.len() as u64) as usize];
        }
        if let Ok(text) = std::str::from_utf8(&bytes) {
            if let Ok(h) = parse_history(text) {
                let _ = check(&h);
            }
        }
    }
}
