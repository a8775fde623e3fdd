//! `commitscope check-history FILE`: checks a transactional history for serializability
//! anomalies with `commitscope_history` (Elle's way) and prints what it found.
//!
//! FILE (or `-` for stdin) is any of:
//! - a history in the checker's own JSON (`{"txns": [...]}`) or Jepsen's (a JSON array of
//!   operations, or one operation object per line): `commitscope_history::parse_history`;
//! - a trace CommitScope exported (`"format": "commitscope-trace"`, the web's
//!   `export::trace_json`) of the `kv` protocol: its scenario runs again (runs are pure
//!   functions of scenarios) and the history is the one the run's serializability monitor
//!   builds — each client's answers, and as indefinite (Jepsen's `info`) a transaction in
//!   flight when its client crashed or when the run ended. A trace whose hash this build's
//!   run does not reproduce is still checked, with a warning;
//! - a kv scenario, read the same way.
//!
//! Output: one line per anomaly (`G-single (read skew): c1/t1.1 → c2/t1.1: <explanation>`,
//! the transactions of a cycle joined by arrows, of another anomaly by commas), then a
//! summary line (`N transactions, M committed, E edges: no anomaly` or `K anomalies`);
//! `--json` prints the checker's `Report` instead. Exit 0 when the history is clean, 1 when
//! it has anomalies, 2 on bad input (the message names the problem and, when known, the
//! line).

use commitscope_engine::erased::{AnyRun, Recorded};
use commitscope_engine::Scenario;
use commitscope_history::{check, parse_history, History, Report, Status, Txn};
use commitscope_protocols::kv::{self, Kv};
use serde_json::Value;
use std::fmt::Write as _;

/// The trace format `commitscope-web` exports (`export::TRACE_FORMAT`, `TRACE_VERSION`).
const TRACE_FORMAT: &str = "commitscope-trace";
const TRACE_VERSION: u64 = 1;

/// What `check-history` prints and how it exits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    /// 0: no anomaly; 1: anomalies found.
    pub code: u8,
    /// Standard output.
    pub out: String,
    /// Warnings for standard error (a trace whose hash differs from the re-run's).
    pub warnings: Vec<String>,
}

/// Where the history came from, as `history_of` read it.
#[derive(Debug)]
pub struct Read {
    pub history: History,
    pub warnings: Vec<String>,
}

/// `commitscope check-history [--json] FILE|-`: reads the file (or stdin), checks it and
/// prints. Bad input is `Err` (exit 2).
pub fn cmd(args: &[String], usage: &str) -> Result<u8, String> {
    let json = args.iter().any(|a| a == "--json");
    let mut paths = args.iter().filter(|a| *a != "--json");
    let (Some(path), None) = (paths.next(), paths.next()) else {
        return Err(format!("check-history takes one FILE (or - for stdin)\n{usage}"));
    };
    let text = if path == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        text
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?
    };
    let name = if path == "-" { "stdin" } else { path.as_str() };
    let checked = check_text(&text, json).map_err(|e| format!("{name}: {e}"))?;
    for w in &checked.warnings {
        eprintln!("{name}: warning: {w}");
    }
    print!("{}", checked.out);
    Ok(checked.code)
}

/// Checks `text` (any form the command reads) and returns what it prints.
pub fn check_text(text: &str, json: bool) -> Result<Checked, String> {
    let Read { history, warnings } = history_of(text)?;
    let report = check(&history);
    let out = if json {
        let mut out = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        out.push('\n');
        out
    } else {
        render(&history, &report)
    };
    Ok(Checked { code: u8::from(!report.is_clean()), out, warnings })
}

/// The report as text: one line per anomaly, then the summary line.
pub fn render(history: &History, report: &Report) -> String {
    let mut out = String::new();
    let name = |i: &usize| history.txns.get(*i).map_or("?", |t| t.name.as_str());
    for a in &report.anomalies {
        let names: Vec<&str> = a.txns.iter().map(name).collect();
        let joined = names.join(if a.steps.is_empty() { ", " } else { " → " });
        // The explanation ends with the label, so that it stands alone; the line starts so.
        let label = a.kind.label();
        let suffix = format!(": {label}");
        let why = a.explanation.strip_suffix(&suffix).unwrap_or(&a.explanation);
        let _ = writeln!(out, "{label}: {joined}: {why}");
    }
    let committed = history.txns.iter().filter(|t| t.status == Status::Ok).count();
    let found = match report.anomalies.len() {
        0 => "no anomaly".to_string(),
        1 => "1 anomaly".to_string(),
        k => format!("{k} anomalies"),
    };
    let n = history.txns.len();
    let _ = writeln!(
        out,
        "{n} transaction{}, {committed} committed, {} edge{}: {found}",
        if n == 1 { "" } else { "s" },
        report.edges,
        if report.edges == 1 { "" } else { "s" },
    );
    out
}

/// The history `text` holds or, for a trace or a kv scenario, the one its run produces.
pub fn history_of(text: &str) -> Result<Read, String> {
    let text = text.trim_start_matches('\u{feff}');
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(obj)) if obj.contains_key("format") || obj.contains_key("trace_hash") => {
            trace(&obj)
        }
        Ok(Value::Object(obj)) if obj.contains_key("protocol") && obj.contains_key("version") => {
            let scenario = Scenario::from_json(text).map_err(|e| format!("scenario: {e}"))?;
            let run = kv_run(&scenario, "scenario")?;
            Ok(Read { history: run_history(&run), warnings: Vec::new() })
        }
        _ => parse_history(text)
            .map(|history| Read { history, warnings: Vec::new() })
            .map_err(|e| e.to_string()),
    }
}

/// An exported trace: its scenario runs again.
fn trace(obj: &serde_json::Map<String, Value>) -> Result<Read, String> {
    match obj.get("format") {
        Some(Value::String(f)) if f == TRACE_FORMAT => {}
        Some(other) => return Err(format!("trace: format is {other}, not \"{TRACE_FORMAT}\"")),
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
    let run = kv_run(&scenario, "trace")?;
    let mut warnings = Vec::new();
    let now = format!("{:016x}", run.trace_hash());
    match obj.get("trace_hash") {
        None => {}
        Some(Value::String(h)) if *h == now => {}
        Some(Value::String(h)) => warnings.push(format!(
            "this build's run of the trace's scenario has hash {now}, not {h}: the history \
             checked is the run's, which may differ from the file's events"
        )),
        Some(_) => return Err("trace: \"trace_hash\" must be a string of hex digits".into()),
    }
    Ok(Read { history: run_history(&run), warnings })
}

/// Runs a kv scenario; another protocol's has no transactional history.
fn kv_run(scenario: &Scenario, what: &str) -> Result<Recorded<Kv>, String> {
    if scenario.protocol != "kv" {
        return Err(format!(
            "{what}: the protocol is {}: check-history reads the transactions of the kv store \
             (or a history: {{\"txns\": [...]}} or Jepsen's operations)",
            scenario.protocol
        ));
    }
    Recorded::<Kv>::new(scenario).map_err(|e| format!("{what}: {e}"))
}

/// The history a kv run produced: what its serializability monitor checked (each answer,
/// and as indefinite a transaction whose client crashed with it in flight), then each
/// transaction still in flight at the end of the run, indefinite too.
pub fn run_history(run: &Recorded<Kv>) -> History {
    let last = run.run().last();
    let mut history = last.monitor().history.history().clone();
    let p = &last.world.params;
    for k in 1..=p.clients {
        let Some(kv::State::Client(c)) = &last.world.node(p.client_node(k)).state else {
            continue;
        };
        let Some((txn, ops)) = &c.current else { continue };
        let name = txn.to_string();
        if history.txns.iter().any(|t| t.name == name) {
            continue;
        }
        history.txns.push(Txn {
            name,
            process: u64::from(k),
            ops: ops.iter().map(kv::workload::Op::to_history).collect(),
            status: Status::Info,
        });
    }
    history
}
