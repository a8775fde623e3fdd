//! `commitscope compare --participants N [--faults F] [--colocated] [--json]`: 2PC, 3PC,
//! Paxos Commit and Faster Paxos Commit side by side, measured.
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
//! This file depends only on the engine and the protocols, so the cross-crate tests include
//! it and check its figures against hand-derived formulas (tests/it/compare.rs).

use commitscope_engine::erased::AnyRun;
use commitscope_engine::Scenario;
use std::fmt::Write as _;
use std::process::ExitCode;

/// One protocol (for 3PC, one termination rule; for Paxos Commit, normal or faster) as the
/// tables show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Variant {
    pub protocol: &'static str,
    pub termination: Option<&'static str>,
    /// Paxos Commit only: Faster Paxos Commit (acceptors send phase 2b to the RMs).
    pub faster: Option<bool>,
    pub label: &'static str,
}

pub const VARIANTS: &[Variant] = &[
    Variant { protocol: "two_pc", termination: None, faster: None, label: "2PC" },
    Variant {
        protocol: "three_pc",
        termination: Some("timeout"),
        faster: None,
        label: "3PC, timeout rule",
    },
    Variant {
        protocol: "three_pc",
        termination: Some("elect"),
        faster: None,
        label: "3PC, Skeen's termination",
    },
    Variant {
        protocol: "paxos_commit",
        termination: None,
        faster: Some(false),
        label: "Paxos Commit",
    },
    Variant {
        protocol: "paxos_commit",
        termination: None,
        faster: Some(true),
        label: "Faster Paxos Commit",
    },
];

/// The 2PC and 3PC variants (what `compare` measured before Paxos Commit).
#[allow(dead_code)] // the binary measures every variant; the tests also measure these alone
pub const CLASSIC: &[Variant] = VARIANTS.split_at(3).0;

/// How Paxos Commit is set up for the comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// F: Paxos Commit tolerates F faults with 2F+1 acceptors.
    pub faults: u32,
    /// Acceptors on the first 2F+1 RMs' nodes, the leader on rm1.
    pub colocated: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { faults: 1, colocated: false }
    }
}

/// A fault plan, named by what it does, with each protocol's version of "the same moment".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultPlan {
    pub id: &'static str,
    pub title: &'static str,
}

pub const FAULT_PLANS: &[FaultPlan] = &[
    FaultPlan {
        id: "coordinator_crash_after_prepare",
        title: "coordinator crashes after sending Prepare / CanCommit",
    },
    FaultPlan {
        id: "coordinator_crash_after_pre_commit",
        title: "coordinator crashes with every vote in (3PC: after sending PreCommit)",
    },
    FaultPlan {
        id: "partition_after_pre_commit_reached_some",
        title: "partition {coord, p1} | {p2..pN} once Commit / PreCommit reached p1",
    },
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Blocked,
    Decides,
    ViolatesAc1,
    /// The plan needs more participants than the comparison has.
    NotApplicable,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultResult {
    pub scenario: &'static str,
    pub verdict: Verdict,
    /// What happened, in words ("p1, p2 undecided", "all ABORT (by participant timeout)").
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub protocol: &'static str,
    pub termination: Option<&'static str>,
    pub label: &'static str,
    /// Paxos Commit only: faster or not, F, and the layout.
    pub faster: Option<bool>,
    pub tolerated_faults: Option<u32>,
    pub colocated: Option<bool>,
    pub participants: u32,
    pub messages: u64,
    pub message_delays: u64,
    pub forced_writes: u64,
    pub faults: Vec<FaultResult>,
}

fn scenario(v: Variant, n: u32, opts: Options, faults: serde_json::Value) -> Scenario {
    let mut params = serde_json::json!({"participants": n});
    if let Some(t) = v.termination {
        params["termination"] = serde_json::json!(t);
    }
    if let Some(faster) = v.faster {
        params = serde_json::json!({"resource_managers": n, "faults": opts.faults,
                                    "colocated": opts.colocated, "faster": faster});
    }
    let json = serde_json::json!({
        "version": 1, "protocol": v.protocol, "seed": 1, "params": params,
        "network": {"latency_ticks_min": 1, "latency_ticks_max": 1},
        "requests": [{"at": 0, "request": {"transfer": 100}}],
        "faults": faults,
        "limits": {"max_ticks": 1000, "max_events": 100000},
    });
    Scenario::from_json(&json.to_string()).expect("the comparison's scenarios are valid")
}

fn run(s: &Scenario) -> Box<dyn AnyRun> {
    commitscope_protocols::run(s).expect("the comparison's scenarios run")
}

/// The fault plan `plan` for variant `v` with `n` participants; `None` when it needs more.
pub fn fault_scenario(plan: &FaultPlan, v: Variant, n: u32, opts: Options) -> Option<Scenario> {
    if v.protocol == "paxos_commit" {
        return paxos_fault_scenario(plan, v, n, opts);
    }
    let two = v.protocol == "two_pc";
    let faults = match plan.id {
        "coordinator_crash_after_prepare" => {
            let kind = if two { "prepare" } else { "can_commit" };
            serde_json::json!([{"after": {"sent": kind, "by": "coord", "count": n}, "crash": "coord"}])
        }
        "coordinator_crash_after_pre_commit" => {
            // 2PC has no PreCommit: the same moment is "every vote in, no decision sent".
            let after = if two {
                serde_json::json!({"delivered": "vote_yes", "to": "coord", "count": n})
            } else {
                serde_json::json!({"sent": "pre_commit", "by": "coord", "count": n})
            };
            serde_json::json!([{"after": after, "crash": "coord"}])
        }
        "partition_after_pre_commit_reached_some" => {
            if n < 2 {
                return None;
            }
            let kind = if two { "commit" } else { "pre_commit" };
            let rest: Vec<String> = (2..=n).map(|i| format!("p{i}")).collect();
            serde_json::json!([{"after": {"delivered": kind, "to": "p1"},
                                "partition": [["coord", "p1"], rest]}])
        }
        other => unreachable!("unknown fault plan {other}"),
    };
    Some(scenario(v, n, opts, faults))
}

/// The same moments for Paxos Commit: the coordinator is the leader (`tm`, or rm1 when
/// co-located); "every vote in" is every remote phase 2a delivered to the leader's node;
/// "the decision reached some" is the first RM other than the leader's node deciding.
fn paxos_fault_scenario(plan: &FaultPlan, v: Variant, n: u32, opts: Options) -> Option<Scenario> {
    let (leader, remote_rms, first_rm) =
        if opts.colocated { ("rm1".to_string(), n - 1, 2) } else { ("tm".to_string(), n, 1) };
    let faults = match plan.id {
        "coordinator_crash_after_prepare" if remote_rms > 0 => serde_json::json!([
            {"after": {"sent": "prepare", "by": leader, "count": remote_rms}, "crash": leader}
        ]),
        "coordinator_crash_after_pre_commit" if remote_rms > 0 => serde_json::json!([
            {"after": {"delivered": "phase2a", "to": leader, "count": remote_rms}, "crash": leader}
        ]),
        "partition_after_pre_commit_reached_some" if n > first_rm => {
            let first = format!("rm{first_rm}");
            let with: Vec<String> = vec![leader, first.clone()];
            serde_json::json!([{"after": {"phase": "committed", "node": first},
                                "partition": [with]}])
        }
        "coordinator_crash_after_prepare"
        | "coordinator_crash_after_pre_commit"
        | "partition_after_pre_commit_reached_some" => return None,
        other => unreachable!("unknown fault plan {other}"),
    };
    Some(scenario(v, n, opts, faults))
}

/// Runs one fault plan and says what a user would see at the end.
pub fn judge(run: &dyn AnyRun, scenario_id: &'static str) -> FaultResult {
    if let Some(p) = run.properties().into_iter().find(|p| p.id == "AC1" && p.first.is_some()) {
        return FaultResult {
            scenario: scenario_id,
            verdict: Verdict::ViolatesAc1,
            detail: p.message.unwrap_or_default(),
        };
    }
    let views = run.views_at(run.events().last().map(|e| e.id));
    // Participants, or resource managers that are up (a co-located leader that crashed is
    // down, not blocked).
    let participants: Vec<_> = views
        .iter()
        .filter(|v| v.role == "participant" || (v.up && v.role.starts_with("resource manager")))
        .collect();
    let undecided: Vec<&str> =
        participants.iter().filter(|v| v.decision.is_none()).map(|v| v.name.as_str()).collect();
    if !undecided.is_empty() {
        return FaultResult {
            scenario: scenario_id,
            verdict: Verdict::Blocked,
            detail: format!("{} undecided", undecided.join(", ")),
        };
    }
    // "COMMIT t1.1 (by participant timeout)" -> "COMMIT (by participant timeout)".
    let mut outcomes: Vec<String> = participants
        .iter()
        .filter_map(|v| v.decision.as_deref())
        .map(|d| {
            let mut words = d.splitn(3, ' ');
            let outcome = words.next().unwrap_or_default();
            let _txn = words.next();
            match words.next() {
                Some(why) => format!("{outcome} {why}"),
                None => outcome.to_string(),
            }
        })
        .collect();
    outcomes.sort();
    outcomes.dedup();
    FaultResult { scenario: scenario_id, verdict: Verdict::Decides, detail: outcomes.join(" / ") }
}

/// The 2PC and 3PC variants' costs and fault verdicts for `n` participants.
#[allow(dead_code)] // the binary measures every variant; the tests also measure these alone
pub fn compare(n: u32) -> Vec<Row> {
    rows(CLASSIC, n, Options::default())
}

/// Every variant, Paxos Commit set up by `opts`; `Err` says why the options do not fit.
pub fn compare_all(n: u32, opts: Options) -> Result<Vec<Row>, String> {
    if opts.faults > 3 {
        return Err(format!("--faults is from 0 to 3, not {}", opts.faults));
    }
    if opts.colocated && n < 2 * opts.faults + 1 {
        return Err(format!(
            "--colocated puts 2F+1 = {} acceptors on the RMs' nodes: it needs --participants {} or more",
            2 * opts.faults + 1,
            2 * opts.faults + 1
        ));
    }
    Ok(rows(VARIANTS, n, opts))
}

fn rows(variants: &[Variant], n: u32, opts: Options) -> Vec<Row> {
    variants
        .iter()
        .map(|v| {
            let r = run(&scenario(*v, n, opts, serde_json::json!([])));
            let count = |kind: &str| r.events().iter().filter(|e| e.kind == kind).count() as u64;
            // A message between processes on one node is not a message.
            let messages =
                r.events().iter().filter(|e| e.kind == "send" && e.peer != e.node).count() as u64;
            let message_delays =
                r.events().iter().filter(|e| e.kind == "decide").map(|e| e.time).max().unwrap_or(0);
            let faults = FAULT_PLANS
                .iter()
                .map(|plan| match fault_scenario(plan, *v, n, opts) {
                    Some(s) => judge(&*run(&s), plan.id),
                    None => FaultResult {
                        scenario: plan.id,
                        verdict: Verdict::NotApplicable,
                        detail: "needs more participants".into(),
                    },
                })
                .collect();
            let paxos = v.faster.is_some();
            Row {
                protocol: v.protocol,
                termination: v.termination,
                label: v.label,
                faster: v.faster,
                tolerated_faults: paxos.then_some(opts.faults),
                colocated: paxos.then_some(opts.colocated),
                participants: n,
                messages,
                message_delays,
                forced_writes: count("persist"),
                faults,
            }
        })
        .collect()
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Blocked => "blocked",
            Verdict::Decides => "decides",
            Verdict::ViolatesAc1 => "violates_ac1",
            Verdict::NotApplicable => "not_applicable",
        }
    }
}

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
