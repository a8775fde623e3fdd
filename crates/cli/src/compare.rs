//! `commitscope compare --participants N [--faults F] [--colocated] [--json]`: 2PC, 3PC,
//! Paxos Commit and Faster Paxos Commit side by side, measured. The measuring lives in
//! `commitscope_protocols::compare` (the web app's compare view shares it); this file
//! prints it as a table or as JSON. What is measured, and how:
//!
//! Costs come from the fault-free run of one transaction with every message taking exactly
//! one tick (`latency_ticks_min = max = 1`), so virtual time counts message delays:
//! messages are the send events between two different nodes until the run is quiescent (as
//! Gray and Lamport count them, a message between processes on one node is not a message),
//! message delays the time of the last decision (the client request arrives at t=0), forced
//! log writes the persist events. Paxos Commit runs with N resource managers and 2F+1
//! acceptors (F from `--faults`, default 1), on their own nodes or, with `--colocated`, on
//! the first 2F+1 RMs' nodes with the leader on rm1 (the paper's cost analysis).
//! The fault table runs each fault plan under each protocol and reports what happened:
//! blocked (a participant is still undecided at the end), decides, or violates AC1.
//!
//! This file depends only on the protocols, so the cross-crate tests include it and check
//! its figures against hand-derived formulas (tests/it/compare.rs).

#[allow(unused_imports)]
// `compare` (2PC and 3PC alone) is for the tests that include this file
pub use commitscope_protocols::compare::{
    compare, compare_all, FaultResult, Options, Row, Verdict, FAULT_PLANS,
};
use std::fmt::Write as _;
use std::process::ExitCode;

/// The `--json` form: one object per protocol (and 3PC termination rule).
pub fn to_json(rows: &[Row]) -> serde_json::Value {
    rows.iter()
        .map(|r| {
            let faults: Vec<serde_json::Value> = r
                .faults
                .iter()
                .map(|f| {
                    serde_json::json!({"scenario": f.scenario, "verdict": f.verdict.name(),
                                       "detail": f.detail})
                })
                .collect();
            let mut row = serde_json::json!({
                "protocol": r.protocol, "termination": r.termination, "label": r.label,
                "participants": r.participants, "messages": r.messages,
                "message_delays": r.message_delays, "forced_writes": r.forced_writes,
                "faults": faults,
            });
            if let (Some(faster), Some(f), Some(colocated)) =
                (r.faster, r.tolerated_faults, r.colocated)
            {
                row["faster"] = faster.into();
                row["tolerated_faults"] = f.into();
                row["acceptors"] = (2 * f + 1).into();
                row["colocated"] = colocated.into();
            }
            row
        })
        .collect()
}

fn verdict_text(f: &FaultResult) -> String {
    match f.verdict {
        Verdict::Blocked => format!("BLOCKED ({})", f.detail),
        Verdict::Decides => format!("decides {}", f.detail),
        Verdict::ViolatesAc1 => "VIOLATES AC1".to_string(),
        Verdict::NotApplicable => "n/a".to_string(),
    }
}

/// The two tables as the command prints them.
pub fn render(rows: &[Row]) -> String {
    let n = rows.first().map_or(0, |r| r.participants);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Fault-free run, {n} participant{}, every message takes 1 tick (measured)",
        if n == 1 { "" } else { "s" }
    );
    if let Some((f, colocated)) = rows.iter().find_map(|r| r.tolerated_faults.zip(r.colocated)) {
        let layout = if colocated {
            "on the first RMs' nodes, the leader on rm1"
        } else {
            "on their own nodes, a0 with the leader on tm"
        };
        let _ = writeln!(
            out,
            "Paxos Commit: F = {f}, {} acceptors {layout}; a message between processes on one node is not counted",
            2 * f + 1
        );
    }
    let _ = writeln!(
        out,
        "{:<26} {:>9} {:>15} {:>18}",
        "protocol", "messages", "message delays", "forced log writes"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<26} {:>9} {:>15} {:>18}",
            r.label, r.messages, r.message_delays, r.forced_writes
        );
    }
    let _ = writeln!(out, "\nFault plans, each run under each protocol (measured)");
    let cells: Vec<Vec<String>> = FAULT_PLANS
        .iter()
        .enumerate()
        .map(|(i, plan)| {
            std::iter::once(plan.title.to_string())
                .chain(rows.iter().map(|r| verdict_text(&r.faults[i])))
                .collect()
        })
        .collect();
    let header: Vec<String> = std::iter::once("fault plan".to_string())
        .chain(rows.iter().map(|r| r.label.to_string()))
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            cells
                .iter()
                .map(|row| row[c].chars().count())
                .chain([header[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in std::iter::once(&header).chain(&cells) {
        let line: Vec<String> =
            row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    let _ = writeln!(out);
    for (i, plan) in FAULT_PLANS.iter().enumerate() {
        for r in rows {
            let f = &r.faults[i];
            if matches!(f.verdict, Verdict::ViolatesAc1) {
                let _ = writeln!(out, "{} under {}: {}", plan.id, r.label, f.detail);
            }
        }
    }
    out
}

/// `compare --participants N [--faults F] [--colocated] [--json]`.
pub fn cmd(args: &[String]) -> Result<ExitCode, String> {
    let usage =
        "usage: commitscope compare --participants N [--faults F] [--colocated] [--json]\n  \
                 N from 1 to 16; Paxos Commit with 2F+1 acceptors, F from 0 to 3 (default 1);\n  \
                 --colocated: acceptors on the first 2F+1 RMs' nodes (needs N >= 2F+1)";
    let number = |flag: &str, default: u32, range: std::ops::RangeInclusive<u32>| match args
        .iter()
        .position(|a| a == flag)
    {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse::<u32>().ok())
            .filter(|n| range.contains(n))
            .ok_or_else(|| usage.to_string()),
    };
    let n = number("--participants", 3, 1..=16)?;
    let faults = number("--faults", 1, 0..=3)?;
    let colocated = args.iter().any(|a| a == "--colocated");
    let rows =
        compare_all(n, Options { faults, colocated }).map_err(|e| format!("{e}\n{usage}"))?;
    if args.iter().any(|a| a == "--json") {
        let text = serde_json::to_string_pretty(&to_json(&rows)).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{}", render(&rows));
    }
    Ok(ExitCode::SUCCESS)
}
