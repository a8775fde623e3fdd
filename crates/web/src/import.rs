//! Reading what a user imports, pasted or from a file. Pure; the reducer shows the result.
//!
//! Three kinds of text are recognised:
//! - a scenario (JSON, as exported or written by hand);
//! - a trace exported by CommitScope (`export::trace_json`): its scenario runs again and the
//!   trace hash is compared with the file's;
//! - a course transcript in the harness's JSON-lines format (shared/HARNESS.md): lines
//!   starting `-> ` are requests and `<- ` expected replies (as in tests/fixtures/harness),
//!   `#` lines comments; a file of bare JSON lines is read the same way, a line being a
//!   reply when its body has `in_reply_to` or a type the harness sends. The requests are fed
//!   to `harness::Session`, and the last transaction it simulated is the run to view.
//!
//! Every failure is a message naming the problem (and the line, for transcripts).

use crate::export::{TRACE_FORMAT, TRACE_VERSION};
use commitscope_engine::erased::AnyRun;
use commitscope_engine::Scenario;
use commitscope_protocols::harness::Session;
use serde_json::Value;

/// Larger imports are refused before they are read (a 20,000-event trace is ~8 MB).
pub const MAX_IMPORT_BYTES: usize = 32 * 1024 * 1024;

/// Message types the harness sends (a bare transcript line of one of these is a reply).
const REPLY_TYPES: &[&str] = &[
    "error",
    "have_committed",
    "step_complete",
    "step_failed",
    "compensate",
    "saga_complete",
    "saga_aborted",
    "checkout_complete",
    "checkout_failed",
];

pub enum Imported {
    Scenario(Scenario),
    /// An exported trace: its scenario, and the hash the file claims.
    Trace {
        scenario: Scenario,
        hash: Option<String>,
    },
    /// A replayed transcript: the run to show, and what happened, in a sentence.
    Transcript {
        run: Box<dyn AnyRun>,
        summary: String,
    },
}

impl std::fmt::Debug for Imported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Imported::Scenario(s) => write!(f, "Scenario({})", s.protocol),
            Imported::Trace { hash, .. } => write!(f, "Trace({hash:?})"),
            Imported::Transcript { summary, .. } => write!(f, "Transcript({summary})"),
        }
    }
}

/// Recognises and reads `text`.
pub fn read(text: &str) -> Result<Imported, String> {
    if text.len() > MAX_IMPORT_BYTES {
        return Err(format!(
            "the import is {} MB; CommitScope reads at most {} MB",
            text.len() / (1024 * 1024),
            MAX_IMPORT_BYTES / (1024 * 1024)
        ));
    }
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return Err("nothing to import: paste or choose a scenario, a trace or a transcript".into());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(obj)) if obj.contains_key("events") || obj.contains_key("trace_hash") => {
            read_trace(&obj)
        }
        Ok(Value::Object(obj)) if obj.contains_key("body") && obj.contains_key("src") => {
            replay(text)
        }
        Ok(_) => Scenario::from_json(text).map(Imported::Scenario).map_err(|e| e.to_string()),
        Err(_) if looks_like_transcript(text) => replay(text),
        Err(_) => Scenario::from_json(text).map(Imported::Scenario).map_err(|e| e.to_string()),
    }
}

fn read_trace(obj: &serde_json::Map<String, Value>) -> Result<Imported, String> {
    match obj.get("format") {
        Some(Value::String(f)) if f == TRACE_FORMAT => {}
        Some(other) => {
            return Err(format!("trace: format is {other}, not \"{TRACE_FORMAT}\""));
        }
        None => return Err(format!("trace: missing \"format\": \"{TRACE_FORMAT}\"")),
    }
    match obj.get("version").and_then(Value::as_u64) {
        Some(TRACE_VERSION) => {}
        _ => {
            return Err(format!(
                "trace: version {} is unknown (this build reads version {TRACE_VERSION})",
                obj.get("version").unwrap_or(&Value::Null)
            ))
        }
    }
    let scenario = obj.get("scenario").ok_or("trace: it has no \"scenario\"")?;
    let scenario =
        Scenario::from_json(&scenario.to_string()).map_err(|e| format!("trace: scenario.{e}"))?;
    let hash = match obj.get("trace_hash") {
        None => None,
        Some(Value::String(h)) => Some(h.clone()),
        Some(_) => return Err("trace: \"trace_hash\" must be a string of hex digits".into()),
    };
    Ok(Imported::Trace { scenario, hash })
}

/// The first line that is not blank or a comment starts `->`/`<-` or is a JSON message.
fn looks_like_transcript(text: &str) -> bool {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#'));
    match first {
        Some(l) if l.starts_with("->") || l.starts_with("<-") => true,
        Some(l) => serde_json::from_str::<Value>(l).is_ok_and(|v| v.get("body").is_some()),
        None => false,
    }
}

fn is_reply(message: &Value) -> bool {
    let body = message.get("body");
    let kind = body.and_then(|b| b.get("type")).and_then(Value::as_str).unwrap_or("");
    body.is_some_and(|b| b.get("in_reply_to").is_some())
        || kind.ends_with("_ok")
        || REPLY_TYPES.contains(&kind)
}

/// Feeds the transcript's requests to the harness; the last transaction is the run.
pub fn replay(text: &str) -> Result<Imported, String> {
    let mut session = Session::default();
    let mut expected: Vec<Value> = Vec::new();
    let mut actual: Vec<Value> = Vec::new();
    // Refused requests: (index in `actual`, line, why). A refusal the transcript expects
    // (its `<-` reply at that place is the same error) is part of the case, not a problem.
    let mut refused: Vec<(usize, usize, String)> = Vec::new();
    let mut requests = 0;
    let mut transactions = 0;
    let mut last: Option<(usize, Box<dyn AnyRun>)> = None;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let input = if let Some(want) = line.strip_prefix("<-") {
            let v = serde_json::from_str(want.trim()).map_err(|e| {
                format!("transcript line {n}: the expected reply is not JSON ({e})")
            })?;
            expected.push(v);
            continue;
        } else if let Some(request) = line.strip_prefix("->") {
            request.trim()
        } else {
            let v: Value = serde_json::from_str(line)
                .map_err(|e| format!("transcript line {n}: not a JSON message ({e})"))?;
            if is_reply(&v) {
                expected.push(v);
                continue;
            }
            line
        };
        requests += 1;
        for out in session.handle(input) {
            let v: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
            if v["body"]["type"] == "error" {
                let why = v["body"]["text"].as_str().unwrap_or("refused").to_string();
                refused.push((actual.len(), n, why));
            }
            actual.push(v);
        }
        if let Some(run) = session.last_run.take() {
            transactions += 1;
            last = Some((n, run));
        }
    }
    if let Some((_, n, why)) = refused.iter().find(|(k, _, _)| expected.get(*k) != actual.get(*k)) {
        return Err(format!("transcript line {n}: the harness refused the request: {why}"));
    }
    if requests == 0 {
        return Err(
            "the transcript has no requests (lines starting \"-> \", or request messages)".into()
        );
    }
    let Some((line, run)) = last else {
        return Err(format!(
            "the transcript's {requests} request(s) start no transaction (txn_begin, saga_begin \
             or checkout): there is no run to show"
        ));
    };
    let mut summary = format!(
        "transcript replayed: {requests} request(s), {transactions} transaction(s); showing the \
         one from line {line}"
    );
    if !refused.is_empty() {
        summary.push_str(&format!("; {} refused, as the transcript expects", refused.len()));
    }
    if !expected.is_empty() {
        match expected.iter().zip(&actual).position(|(e, a)| e != a) {
            None if expected.len() == actual.len() => summary.push_str(&format!(
                "; the harness's {} replies match the transcript's",
                actual.len()
            )),
            Some(k) => summary.push_str(&format!(
                "; ⚠ reply {} differs from the transcript's ({} expected, {} now)",
                k + 1,
                expected[k],
                actual[k]
            )),
            None => summary.push_str(&format!(
                "; ⚠ the transcript lists {} replies, the harness gives {}",
                expected.len(),
                actual.len()
            )),
        }
    }
    Ok(Imported::Transcript { run, summary })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CASES: &[(&str, &str)] = &[
        ("two_pc_blocks", include_str!("../../../tests/fixtures/harness/two_pc_blocks.txt")),
        (
            "three_pc_unblocks",
            include_str!("../../../tests/fixtures/harness/three_pc_unblocks.txt"),
        ),
        ("three_pc_paths", include_str!("../../../tests/fixtures/harness/three_pc_paths.txt")),
        (
            "saga_orchestrated",
            include_str!("../../../tests/fixtures/harness/saga_orchestrated.txt"),
        ),
        ("saga_checkout", include_str!("../../../tests/fixtures/harness/saga_checkout.txt")),
        ("bad_lines", include_str!("../../../tests/fixtures/harness/bad_lines.txt")),
        ("saga_bad_lines", include_str!("../../../tests/fixtures/harness/saga_bad_lines.txt")),
    ];

    #[test]
    fn every_course_case_replays_to_a_run() {
        for (name, text) in CASES {
            match read(text) {
                Ok(Imported::Transcript { run, summary }) => {
                    assert!(!run.events().is_empty(), "{name}");
                    assert!(summary.contains("replies match"), "{name}: {summary}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_2pc_blocking_case_shows_a_crashed_coordinator() {
        let Ok(Imported::Transcript { run, summary }) = read(CASES[0].1) else { panic!() };
        assert_eq!(run.protocol(), "two_pc");
        assert_eq!(run.nodes().len(), 3, "coord and the case's two participants");
        assert!(run.events().iter().any(|e| e.kind == "crash"));
        assert!(summary.contains("1 transaction(s)"), "{summary}");
        assert_eq!(run.scenario().faults.len(), 1);
    }

    #[test]
    fn bad_lines_are_named_by_number() {
        // The course's bad-lines case expects its errors; without those `<-` lines they
        // are problems, named by line.
        let bad: String = include_str!("../../../tests/fixtures/harness/bad_lines.txt")
            .lines()
            .map(|l| if l.starts_with("<- ") { "# (reply removed)" } else { l })
            .map(|l| format!("{l}\n"))
            .collect();
        let e = read(&bad).unwrap_err();
        assert!(e.starts_with("transcript line 2:") && e.contains("not JSON"), "{e}");
        let e = read("-> {\"src\":\"c0\",\"dest\":\"coord\",\"body\":{\"type\":\"init\",\"msg_id\":1,\"participants\":[\"a\"]}}\n-> {\"src\":\"c1\",\"dest\":\"coord\",\"body\":{\"type\":\"txn_begin\",\"msg_id\":2,\"crash_coordinator_after\":\"nope\"}}").unwrap_err();
        assert!(e.starts_with("transcript line 2:") && e.contains("nope"), "{e}");
        let e =
            read("# only a comment\n<- {\"src\":\"a\",\"dest\":\"b\",\"body\":{}}").unwrap_err();
        assert!(e.contains("no requests"), "{e}");
        let init = "{\"src\":\"c0\",\"dest\":\"coord\",\"body\":{\"type\":\"init\",\"msg_id\":1,\"participants\":[\"a\"]}}";
        let e = read(init).unwrap_err();
        assert!(e.contains("no run to show"), "{e}");
        let e = read(&format!("{init}\n{{\"src\": oops")).unwrap_err();
        assert!(e.starts_with("transcript line 2: not a JSON message"), "{e}");
    }

    #[test]
    fn bare_json_lines_work_and_replies_are_compared() {
        let text: String = CASES[0]
            .1
            .lines()
            .filter_map(|l| l.strip_prefix("-> ").or_else(|| l.strip_prefix("<- ")))
            .map(|l| format!("{l}\n"))
            .collect();
        let Ok(Imported::Transcript { summary, .. }) = read(&text) else { panic!() };
        assert!(summary.contains("replies match"), "{summary}");
        let changed = CASES[0].1.replace("\"txn_id\": \"txn1\"", "\"txn_id\": \"txn9\"");
        let Ok(Imported::Transcript { summary, .. }) = read(&changed) else { panic!() };
        assert!(summary.contains("reply 2 differs"), "{summary}");
    }

    #[test]
    fn scenarios_and_traces_are_recognised() {
        let p = commitscope_protocols::presets::find("two_pc/lost_commit").unwrap();
        assert!(matches!(read(p.json), Ok(Imported::Scenario(_))));
        let run = commitscope_protocols::run(&p.scenario()).unwrap();
        let trace = crate::export::trace_json(run.as_ref());
        match read(&trace) {
            Ok(Imported::Trace { scenario, hash }) => {
                assert_eq!(scenario, p.scenario());
                assert_eq!(hash, Some(crate::export::hash_hex(run.as_ref())));
            }
            other => panic!("{other:?}"),
        }
        let e = read(&trace.replace("commitscope-trace", "other")).unwrap_err();
        assert!(e.contains("format"), "{e}");
        let e = read(&trace.replacen("\"version\": 1", "\"version\": 9", 1)).unwrap_err();
        assert!(e.contains("version 9"), "{e}");
        let e = read(&trace.replacen("\"seed\":1,", "\"seed\":\"one\",", 1)).unwrap_err();
        assert!(e.starts_with("trace: scenario."), "{e}");
        let e = read("{ not json").unwrap_err();
        assert!(e.starts_with("scenario: not valid JSON"), "{e}");
        assert!(read("   ").unwrap_err().contains("nothing to import"));
    }
}
