//! Bad scenarios are rejected with a `ScenarioError` that names the field and says what is
//! wrong — and nothing a user can paste makes the engine panic.

use commitscope_engine::Scenario;
use commitscope_protocols::presets::ALL as PRESETS;
use commitscope_tests::{scenario_error, try_run_json};

/// A valid 3-participant scenario with `fields` (a JSON snippet) added at the top level.
fn with(fields: &str) -> String {
    format!(r#"{{"version": 1, "protocol": "two_pc", "seed": 1{fields}}}"#)
}

fn with_faults(faults: &str) -> String {
    with(&format!(r#", "requests": [{{"at": 0}}], "faults": [{faults}]"#))
}

/// (what is wrong, scenario JSON, the path the error must name, words its problem must contain)
const CASES: &[(&str, &str, &str, &str)] = &[
    (
        "unknown field",
        r#"{"version": 1, "protocol": "two_pc", "foo": 1}"#,
        "foo",
        "unknown field `foo`",
    ),
    ("missing protocol", r#"{"version": 1}"#, "scenario", "missing field `protocol`"),
    ("not an object", "[]", "scenario", "expected a JSON object"),
    ("empty input", "", "scenario", "EOF"),
    (
        "seed negative",
        r#"{"version": 1, "protocol": "two_pc", "seed": -1}"#,
        "seed",
        "expected u64",
    ),
];

#[test]
fn each_bad_field_is_named_with_its_problem() {
    let cases: Vec<(&str, String, &str, &str)> = CASES
        .iter()
        .map(|(what, json, path, problem)| (*what, json.to_string(), *path, *problem))
        .chain([
            (
                "version 0",
                r#"{"version": 0, "protocol": "two_pc"}"#.into(),
                "version",
                "unknown version 0",
            ),
            (
                "unknown protocol",
                r#"{"version": 1, "protocol": "3pc"}"#.into(),
                "protocol",
                "unknown protocol \"3pc\"",
            ),
            (
                "unknown param",
                with(r#", "params": {"participantz": 3}"#),
                "params.participantz",
                "unknown field",
            ),
            ("params not an object", with(r#", "params": 5"#), "params", "expected struct Params"),
            (
                "participants 0",
                with(r#", "params": {"participants": 0}"#),
                "params.participants",
                "from 1 to 16",
            ),
            (
                "participants 17",
                with(r#", "params": {"participants": 17}"#),
                "params.participants",
                "from 1 to 16",
            ),
            (
                "participants -1",
                with(r#", "params": {"participants": -1}"#),
                "params.participants",
                "expected u32",
            ),
            (
                "vote timeout 0",
                with(r#", "params": {"vote_timeout_ticks": 0}"#),
                "params.vote_timeout_ticks",
                "at least 1",
            ),
            (
                "resend 0",
                with(r#", "params": {"resend_ticks": 0}"#),
                "params.resend_ticks",
                "at least 1",
            ),
            (
                "in-doubt timeout 0",
                with(r#", "params": {"in_doubt_timeout_ticks": 0}"#),
                "params.in_doubt_timeout_ticks",
                "at least 1",
            ),
            (
                "vote_no names the coordinator",
                with(r#", "params": {"vote_no": ["coord"]}"#),
                "params.vote_no[0]",
                "\"coord\" is not a participant",
            ),
            (
                "vote_no beyond the participants",
                with(r#", "params": {"participants": 2, "vote_no": ["p1", "p3"]}"#),
                "params.vote_no[1]",
                "\"p3\" is not a participant (p1 to p2)",
            ),
            (
                "latency min > max",
                with(r#", "network": {"latency_ticks_min": 5, "latency_ticks_max": 4}"#),
                "network.latency_ticks_min",
                "min ≤ max",
            ),
            (
                "latency 0",
                with(r#", "network": {"latency_ticks_min": 0}"#),
                "network.latency_ticks_min",
                "at least 1 tick",
            ),
            (
                "loss above 1",
                with(r#", "network": {"loss": {"num": 3, "den": 2}}"#),
                "network.loss",
                "num ≤ den",
            ),
            (
                "duplicate over 0",
                with(r#", "network": {"duplicate": {"num": 0, "den": 0}}"#),
                "network.duplicate",
                "den > 0",
            ),
            (
                "loss as a float",
                with(r#", "network": {"loss": 0.5}"#),
                "network.loss",
                "expected struct Ratio",
            ),
            (
                "unknown network field",
                with(r#", "network": {"jitter": 3}"#),
                "network.jitter",
                "unknown field",
            ),
            (
                "unknown limits field",
                with(r#", "limits": {"max_time": 3}"#),
                "limits.max_time",
                "unknown field",
            ),
            (
                "request field misspelt",
                with(r#", "requests": [{"request": {"transfr": 5}}]"#),
                "requests[0].request.transfr",
                "unknown field `transfr`",
            ),
            (
                "request negative transfer",
                with(r#", "requests": [{"at": 1}, {"request": {"transfer": -5}}]"#),
                "requests[1].request.transfer",
                "expected u64",
            ),
            (
                "request is a string",
                with(r#", "requests": [{"request": "go"}]"#),
                "requests[0].request",
                "expected struct Begin",
            ),
            (
                "request to an unknown node",
                with(r#", "requests": [{"node": "p8"}]"#),
                "requests[0].node",
                "unknown node \"p8\"",
            ),
            (
                "request unknown field",
                with(r#", "requests": [{"when": 3}]"#),
                "requests[0].when",
                "unknown field",
            ),
            (
                "crash an unknown node",
                with_faults(r#"{"at": 1, "crash": "p9"}"#),
                "faults[0].crash",
                "unknown node \"p9\"",
            ),
            (
                "recover an unknown node",
                with_faults(r#"{"at": 1, "crash": "p1"}, {"at": 2, "recover": "P1"}"#),
                "faults[1].recover",
                "unknown node \"P1\"",
            ),
            (
                "cut to an unknown node",
                with_faults(r#"{"at": 1, "cut": {"from": "p1", "to": "db"}}"#),
                "faults[0].cut.to",
                "unknown node \"db\"",
            ),
            (
                "isolate an unknown node",
                with_faults(r#"{"at": 1, "isolate": "p4"}"#),
                "faults[0].isolate",
                "unknown node \"p4\"",
            ),
            (
                "partition with an unknown node",
                with_faults(r#"{"at": 1, "partition": [["p1"], ["p2", "zz"]]}"#),
                "faults[0].partition[1][1]",
                "unknown node \"zz\"",
            ),
            (
                "partition naming nobody",
                with_faults(r#"{"at": 1, "partition": [[]]}"#),
                "faults[0].partition",
                "at least one node",
            ),
            (
                "heal false",
                with_faults(r#"{"at": 1, "heal": false}"#),
                "faults[0].heal",
                "\"heal\": true",
            ),
            (
                "trigger by an unknown node",
                with_faults(r#"{"after": {"sent": "prepare", "by": "boss"}, "crash": "p1"}"#),
                "faults[0].after.by",
                "unknown node \"boss\"",
            ),
            (
                "trigger on an unknown message type",
                with_faults(r#"{"after": {"sent": "prepar", "by": "coord"}, "crash": "p1"}"#),
                "faults[0].after.sent",
                "unknown message type \"prepar\"",
            ),
            (
                "trigger on an unknown delivered type",
                with_faults(r#"{"after": {"delivered": "commt", "to": "p1"}, "crash": "p1"}"#),
                "faults[0].after.delivered",
                "unknown message type \"commt\"",
            ),
            (
                "trigger on an unknown record",
                with_faults(r#"{"after": {"persisted": "prepare", "by": "p1"}, "crash": "p1"}"#),
                "faults[0].after.persisted",
                "unknown log record \"prepare\"",
            ),
            (
                "trigger on an unknown phase",
                with_faults(r#"{"after": {"phase": "blocked", "node": "p1"}, "crash": "p1"}"#),
                "faults[0].after.phase",
                "unknown phase \"blocked\"",
            ),
            (
                "trigger without its node",
                with_faults(r#"{"after": {"persisted": "prepared"}, "crash": "p1"}"#),
                "faults[0].after",
                "needs \"by\"",
            ),
            (
                "trigger with two conditions",
                with_faults(
                    r#"{"after": {"event": 3, "sent": "prepare", "by": "coord"}, "crash": "p1"}"#,
                ),
                "faults[0].after",
                "exactly one of",
            ),
            (
                "trigger with no condition",
                with_faults(r#"{"after": {}, "crash": "p1"}"#),
                "faults[0].after",
                "exactly one of",
            ),
            (
                "trigger count 0",
                with_faults(
                    r#"{"after": {"sent": "prepare", "by": "coord", "count": 0}, "crash": "p1"}"#,
                ),
                "faults[0].after.count",
                "counts from 1",
            ),
            (
                "unknown trigger field",
                with_faults(r#"{"after": {"sent": "prepare", "from": "coord"}, "crash": "p1"}"#),
                "faults[0].after.from",
                "unknown field",
            ),
            ("fault with no action", with_faults(r#"{"at": 3}"#), "faults[0]", "needs one action"),
            (
                "fault with two actions",
                with_faults(r#"{"at": 3, "crash": "p1", "recover": "p2"}"#),
                "faults[0]",
                "more than one action",
            ),
            (
                "fault with both at and after",
                with_faults(r#"{"at": 3, "after": {"event": 2}, "crash": "p1"}"#),
                "faults[0]",
                "not both",
            ),
            (
                "node fault with no time",
                with_faults(r#"{"at": 3, "crash": "p1"}, {"recover": "p1"}"#),
                "faults[1]",
                "needs \"at\"",
            ),
            (
                "message fault with at",
                with_faults(r#"{"at": 3, "drop": {"type": "commit"}}"#),
                "faults[0]",
                "takes no \"at\"",
            ),
            (
                "message fault with after",
                with_faults(r#"{"after": {"event": 1}, "duplicate": {"type": "commit"}}"#),
                "faults[0]",
                "takes no \"at\" or \"after\"",
            ),
            (
                "message fault on an unknown type",
                with_faults(r#"{"drop": {"type": "comit"}}"#),
                "faults[0].drop.type",
                "unknown message type \"comit\"",
            ),
            (
                "message fault from an unknown node",
                with_faults(r#"{"duplicate": {"from": "p0"}}"#),
                "faults[0].duplicate.from",
                "unknown node \"p0\"",
            ),
            (
                "message fault nth 0",
                with_faults(r#"{"drop": {"type": "commit", "nth": 0}}"#),
                "faults[0].drop.nth",
                "counts from 1",
            ),
            (
                "delay without ticks",
                with_faults(r#"{"delay": {"type": "commit"}}"#),
                "faults[0].delay.ticks",
                "needs \"ticks\"",
            ),
            (
                "drop with ticks",
                with_faults(r#"{"drop": {"type": "commit", "ticks": 3}}"#),
                "faults[0].drop.ticks",
                "only \"delay\"",
            ),
            (
                "misspelt action",
                with_faults(r#"{"at": 1, "crsh": "p1"}"#),
                "faults[0].crsh",
                "unknown field `crsh`",
            ),
            (
                "crash given a number",
                with_faults(r#"{"at": 1, "crash": 1}"#),
                "faults[0].crash",
                "expected a string",
            ),
            (
                "faults not a list",
                with(r#", "faults": {"at": 1}"#),
                "faults",
                "expected a sequence",
            ),
        ])
        .collect();
    let mut wrong = Vec::new();
    for (what, json, path, problem) in &cases {
        let e = scenario_error(json);
        if e.path != *path || !e.problem.contains(problem) {
            wrong.push(format!("{what}: expected {path}: …{problem}…\n        got {e}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} errors are off:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}

/// A handful of messages exactly as a person reads them.
#[test]
fn error_messages_read_well() {
    let cases: &[(String, &str)] = &[
        (
            r#"{"version": 2, "protocol": "two_pc"}"#.into(),
            "version: unknown version 2 (this build reads version 1)",
        ),
        (with(r#", "params": {"participants": 17}"#), "params.participants: must be from 1 to 16"),
        (
            with_faults(r#"{"at": 1, "crash": "p9"}"#),
            "faults[0].crash: unknown node \"p9\" (nodes are coord, p1, p2, p3)",
        ),
        (
            with_faults(r#"{"after": {"phase": "precommit", "node": "coord"}, "crash": "coord"}"#),
            "faults[0].after.phase: unknown phase \"precommit\" (known: idle, collecting_votes, committing, aborting, done, working, in_doubt, committed, aborted)",
        ),
        (
            with_faults(r#"{"at": 3}"#),
            "faults[0]: needs one action: crash, recover, partition, cut, isolate, heal, drop, duplicate or delay",
        ),
        (
            with(r#", "params": {"vote_no": ["p7"]}"#),
            "params.vote_no[0]: \"p7\" is not a participant (p1 to p3)",
        ),
        (
            with(r#", "network": {"loss": {"num": 3, "den": 2}}"#),
            "network.loss: a ratio needs den > 0 and num ≤ den",
        ),
    ];
    for (json, message) in cases {
        assert_eq!(scenario_error(json).to_string(), *message, "{json}");
    }
    // The unknown protocol's message lists every protocol this build knows.
    let known: Vec<&str> =
        commitscope_protocols::ProtocolKind::ALL.iter().map(|k| k.name()).collect();
    assert!(known.contains(&"two_pc"));
    assert_eq!(
        scenario_error(r#"{"version": 1, "protocol": "3pc"}"#).to_string(),
        format!("protocol: unknown protocol \"3pc\" (known: {})", known.join(", "))
    );
}

#[test]
fn a_newer_version_is_reported_as_a_version_not_as_its_new_fields() {
    // A scenario saved by a newer build may carry fields this build does not know; the
    // person must learn that the version is the problem.
    let e = scenario_error(r#"{"version": 2, "protocol": "two_pc", "replay": {"speed": 2}}"#);
    assert_eq!(e.path, "version", "{e}");
}

#[test]
fn malformed_json_names_a_place_a_person_can_find() {
    let cases = [
        (r#"{"version": 1 "protocol": "two_pc"}"#, "line 1 column 15"),
        (r#"{"version": 1, "protocol": "two_pc", "faults": [{"at": 3,"#, "line 1 column 57"),
        ("{\"version\": 1,\n \"protocol\": \"two_pc\",\n \"seed\": 1,,}", "line 3 column 12"),
    ];
    let mut wrong = Vec::new();
    for (json, place) in cases {
        let e = scenario_error(json);
        let readable = !e.path.is_empty() && !e.path.contains('?') && !e.path.contains("..");
        if !e.problem.contains(place) || !readable {
            wrong.push(format!(
                "{json}\n  gave {e}\n  want a field name or \"scenario\", and {place}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Byte offsets and keys of the number literals in `json` (outside strings).
fn numbers(json: &str) -> Vec<(std::ops::Range<usize>, String)> {
    let bytes = json.as_bytes();
    let (mut out, mut i, mut in_str, mut last_str) = (Vec::new(), 0, false, String::new());
    let mut str_start = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if in_str {
            if c == b'\\' {
                i += 1;
            } else if c == b'"' {
                in_str = false;
                last_str = json[str_start..i].to_string();
            }
        } else if c == b'"' {
            in_str = true;
            str_start = i + 1;
        } else if c == b'-' || c.is_ascii_digit() {
            let start = i;
            while i + 1 < bytes.len()
                && (bytes[i + 1].is_ascii_digit() || b".eE+-".contains(&bytes[i + 1]))
            {
                i += 1;
            }
            out.push((start..i + 1, last_str.clone()));
        }
        i += 1;
    }
    out
}

/// Parses and runs `json`, ignoring the result; `Some(json)` when that panicked.
fn panics(json: &str) -> Option<String> {
    let owned = json.to_string();
    let outcome = std::panic::catch_unwind(move || {
        if let Ok(scenario) = Scenario::from_json(&owned) {
            let _ = commitscope_protocols::run(&scenario);
        }
    });
    outcome.is_err().then(|| json.to_string())
}

/// A scenario that uses every numeric field, so that mutations reach all of them.
const EVERY_FIELD: &str = r#"{"version": 1, "protocol": "two_pc", "seed": 7,
  "params": {"participants": 3, "vote_timeout_ticks": 60, "resend_ticks": 40,
             "in_doubt_timeout_ticks": 50, "vote_no": [], "max_transfer": 100000},
  "network": {"latency_ticks_min": 8, "latency_ticks_max": 12,
              "loss": {"num": 1, "den": 20}, "duplicate": {"num": 1, "den": 20}},
  "requests": [{"at": 5, "node": "coord", "request": {"transfer": 100}}],
  "faults": [{"delay": {"to": "p1", "type": "prepare", "ticks": 30, "nth": 1}},
             {"after": {"sent": "commit", "by": "coord", "count": 1}, "crash": "coord"},
             {"after": {"event": 40}, "crash": "p2"},
             {"at": 200, "recover": "coord"}, {"at": 210, "recover": "p2"}],
  "limits": {"max_ticks": 1000, "max_events": 20000}}"#;

const EXTREMES: &[&str] = &[
    "-1",
    "0",
    "1",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "1.5",
    "1e3",
];

#[test]
fn no_mutation_of_a_scenario_makes_anything_panic() {
    let mut sources: Vec<(&str, &str)> = PRESETS.iter().map(|p| (p.id, p.json)).collect();
    sources.push(("every field", EVERY_FIELD));
    let mut panicked = Vec::new();
    let mut runs = 0;
    for (id, json) in sources {
        let mut mutants: Vec<String> = Vec::new();
        // Truncated at every character boundary.
        mutants.extend(json.char_indices().map(|(i, _)| json[..i].to_string()));
        // Each character replaced by a few troublemakers.
        for (i, c) in json.char_indices() {
            for r in ['"', '}', ']', ',', '0', '-', 'x', ' '] {
                if r != c {
                    mutants.push(format!("{}{r}{}", &json[..i], &json[i + c.len_utf8()..]));
                }
            }
        }
        // Each number, and each pair of numbers, swapped for extreme values.
        let nums: Vec<_> = numbers(json).into_iter().filter(|(_, key)| key != "version").collect();
        for (range, _) in &nums {
            for x in EXTREMES {
                mutants.push(format!("{}{x}{}", &json[..range.start], &json[range.end..]));
            }
        }
        for (a, (ra, _)) in nums.iter().enumerate() {
            for (rb, _) in &nums[a + 1..] {
                for x in ["0", "18446744073709551615"] {
                    let mut m = json.to_string();
                    m.replace_range(rb.clone(), x);
                    m.replace_range(ra.clone(), x);
                    mutants.push(m);
                }
            }
        }
        for m in &mutants {
            if Scenario::from_json(m).is_ok() {
                runs += 1;
            }
            if let Some(bad) = panics(m) {
                panicked.push(format!("{id}: {bad}"));
            }
        }
    }
    assert!(runs > 1000, "the mutations must also produce valid scenarios that run ({runs})");
    assert!(
        panicked.is_empty(),
        "{} mutated scenarios panicked, e.g.:\n{}",
        panicked.len(),
        panicked.iter().take(8).cloned().collect::<Vec<_>>().join("\n---\n")
    );
}

#[test]
fn extreme_but_valid_numbers_never_panic() {
    const MAX: u64 = u64::MAX;
    let cases = [
        format!(
            r#", "requests": [{{"at": 0}}], "network": {{"latency_ticks_min": {MAX}, "latency_ticks_max": {MAX}}}"#
        ),
        format!(
            r#", "requests": [{{"at": 0}}], "network": {{"latency_ticks_min": 1, "latency_ticks_max": {MAX}, "duplicate": {{"num": 1, "den": 1}}}}"#
        ),
        format!(
            r#", "requests": [{{"at": 0}}], "faults": [{{"delay": {{"type": "prepare", "ticks": {MAX}}}}}]"#
        ),
        format!(r#", "requests": [{{"at": {MAX}}}], "limits": {{"max_ticks": {MAX}}}"#),
        format!(
            r#", "requests": [{{"at": 0}}], "params": {{"vote_timeout_ticks": {MAX}, "resend_ticks": {MAX}, "in_doubt_timeout_ticks": {MAX}}}"#
        ),
    ];
    let panicked: Vec<String> = cases.iter().filter_map(|c| panics(&with(c))).collect();
    assert!(panicked.is_empty(), "these scenarios panicked:\n{}", panicked.join("\n"));
}

#[test]
fn a_rejected_scenario_reports_one_error_and_runs_nothing() {
    // The error is the same however often it is asked for, and a good scenario next to
    // it is unaffected.
    let bad = with_faults(r#"{"at": 1, "crash": "p9"}"#);
    let good = with_faults(r#"{"at": 1, "crash": "p1"}"#);
    let first = scenario_error(&bad);
    assert_eq!(scenario_error(&bad), first);
    assert!(try_run_json(&good).is_ok());
}

#[test]
fn every_preset_has_a_title_and_the_picker_reads_the_one_the_scenario_has() {
    for p in PRESETS {
        let title = p.scenario().title;
        assert!(title.is_some(), "{} has no title", p.id);
        assert_eq!(title.as_deref(), Some(p.title()), "{}", p.id);
    }
}
