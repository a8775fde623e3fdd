//! Protocols measured side by side: 2PC, 3PC (each termination rule), Paxos Commit and
//! Faster Paxos Commit on the same fault plans. `commitscope compare` prints these figures
//! and the web app's compare view shows them; both call this module, so they cannot differ.
//!
//! Costs come from the fault-free run of one transaction with every message taking exactly
//! one tick (`latency_ticks_min = max = 1`), so virtual time counts message delays:
//! messages are the send events between two different nodes until the run is quiescent (as
//! Gray and Lamport count them, a message between processes on one node is not a message),
//! message delays the time of the last decision (the client request arrives at t=0), forced
//! log writes the persist events. Paxos Commit runs with N resource managers and 2F+1
//! acceptors (F from `Options::faults`, default 1), on their own nodes or, co-located, on
//! the first 2F+1 RMs' nodes with the leader on rm1 (the paper's cost analysis).
//!
//! A fault plan is named by what it does ("the coordinator crashes after sending Prepare
//! to all"); `fault_scenario` writes it in each protocol's own nodes and messages, and
//! `translate` says in words how it reads there, or why it does not apply. The fault table
//! runs each plan under each protocol and reports what happened: blocked (a participant is
//! still undecided at the end), decides, or violates AC1.

use commitscope_engine::erased::AnyRun;
use commitscope_engine::Scenario;

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
pub const CLASSIC: &[Variant] = VARIANTS.split_at(3).0;

/// The most participants (resource managers) a comparison takes.
pub const MAX_PARTICIPANTS: u32 = 16;
/// The most faults Paxos Commit is set up to tolerate.
pub const MAX_FAULTS: u32 = 3;

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

/// The comparison's scenario for variant `v` with `n` participants and these faults (JSON).
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
    Scenario::from_json(&json.to_string()).expect("the comparison's scenarios parse")
}

fn run(s: &Scenario) -> Result<Box<dyn AnyRun>, String> {
    crate::run(s).map_err(|e| format!("{}: {e}", s.protocol))
}

/// The fault-free run of variant `v`: the one the cost table measures.
pub fn fault_free_scenario(v: Variant, n: u32, opts: Options) -> Scenario {
    scenario(v, n, opts, serde_json::json!([]))
}

/// The fault plan `plan` for variant `v` with `n` participants; `None` when it does not
/// apply (`translate` says why).
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
        _ => return None,
    };
    Some(scenario(v, n, opts, faults))
}

/// The leader's node, how many RMs are on other nodes, and the first RM not on the
/// leader's node, for Paxos Commit laid out by `opts`.
fn paxos_shape(n: u32, opts: Options) -> (&'static str, u32, u32) {
    if opts.colocated {
        ("rm1", n.saturating_sub(1), 2)
    } else {
        ("tm", n, 1)
    }
}

/// The same moments for Paxos Commit: the coordinator is the leader (`tm`, or rm1 when
/// co-located); "every vote in" is every remote phase 2a delivered to the leader's node;
/// "the decision reached some" is the first RM other than the leader's node deciding.
fn paxos_fault_scenario(plan: &FaultPlan, v: Variant, n: u32, opts: Options) -> Option<Scenario> {
    let (leader, remote_rms, first_rm) = paxos_shape(n, opts);
    let faults = match plan.id {
        "coordinator_crash_after_prepare" if remote_rms > 0 => serde_json::json!([
            {"after": {"sent": "prepare", "by": leader, "count": remote_rms}, "crash": leader}
        ]),
        "coordinator_crash_after_pre_commit" if remote_rms > 0 => serde_json::json!([
            {"after": {"delivered": "phase2a", "to": leader, "count": remote_rms}, "crash": leader}
        ]),
        "partition_after_pre_commit_reached_some" if n > first_rm => {
            let first = format!("rm{first_rm}");
            let with: Vec<String> = vec![leader.to_string(), first.clone()];
            serde_json::json!([{"after": {"phase": "committed", "node": first},
                                "partition": [with]}])
        }
        _ => return None,
    };
    Some(scenario(v, n, opts, faults))
}

/// How a fault plan reads under one protocol: the faults in its own node and message
/// names, or why the plan does not apply.
#[derive(Clone, Debug, PartialEq)]
pub struct Translation {
    /// `Some` when the plan applies: the scenario that runs it.
    pub scenario: Option<Scenario>,
    /// In words: "coord crashes right after sending can_commit to all 3 participants", or
    /// "does not apply: …".
    pub text: String,
}

/// `plan` under variant `v`, explained: what `fault_scenario` does, in the protocol's terms.
pub fn translate(plan: &FaultPlan, v: Variant, n: u32, opts: Options) -> Translation {
    let scenario = fault_scenario(plan, v, n, opts);
    let all = |what: &str| if n == 1 { format!("its {what}") } else { format!("all {n} {what}s") };
    let text = if v.protocol == "paxos_commit" {
        let (leader, remote, first) = paxos_shape(n, opts);
        let who = if opts.colocated {
            "rm1 (the leader, with acceptor a0)".to_string()
        } else {
            "tm (the leader, with acceptor a0)".to_string()
        };
        let others = if opts.colocated {
            format!("the other {remote} RM{}", if remote == 1 { "" } else { "s" })
        } else {
            all("RM")
        };
        match (plan.id, scenario.is_some()) {
            ("coordinator_crash_after_prepare", true) => {
                format!("{who} crashes right after sending prepare to {others}")
            }
            ("coordinator_crash_after_pre_commit", true) => format!(
                "Paxos Commit has no PreCommit: {who} crashes at the same moment, once the phase 2a of {others} has reached it (every vote in, no decision sent)"
            ),
            ("partition_after_pre_commit_reached_some", true) => {
                let mut rest = span("rm", first + 1, n);
                if !opts.colocated && opts.faults > 0 {
                    rest = format!("{rest}, {}", span("a", 1, 2 * opts.faults));
                }
                format!(
                    "once rm{first} has decided commit, the network splits into {{{leader}, rm{first}}} | {{{rest}}}"
                )
            }
            ("coordinator_crash_after_prepare" | "coordinator_crash_after_pre_commit", false) => {
                "does not apply: with one RM co-located with the leader, no message leaves the leader's node".to_string()
            }
            (_, _) => format!(
                "does not apply: needs an RM on each side of the split ({} or more RMs)",
                first + 1
            ),
        }
    } else {
        let two = v.protocol == "two_pc";
        let rest = span("p", 2, n);
        match (plan.id, scenario.is_some()) {
            ("coordinator_crash_after_prepare", _) => format!(
                "coord crashes right after sending {} to {}",
                if two { "prepare" } else { "can_commit" },
                all("participant")
            ),
            ("coordinator_crash_after_pre_commit", _) if two => format!(
                "2PC has no PreCommit: coord crashes at the same moment, once {} arrived (every vote in, no decision sent)",
                if n == 1 { "the vote".to_string() } else { format!("all {n} votes") }
            ),
            ("coordinator_crash_after_pre_commit", _) => {
                format!("coord crashes right after sending pre_commit to {}", all("participant"))
            }
            ("partition_after_pre_commit_reached_some", true) => format!(
                "once {} reaches p1, the network splits into {{coord, p1}} | {{{rest}}}",
                if two { "commit" } else { "pre_commit" }
            ),
            (_, _) => "does not apply: needs a participant on each side of the split (2 or more participants)".to_string(),
        }
    };
    Translation { scenario, text }
}

/// Node names `{prefix}{from}` to `{prefix}{to}`: "p2", "p2, p3", "p2..p5".
fn span(prefix: &str, from: u32, to: u32) -> String {
    match to.saturating_sub(from) {
        0 => format!("{prefix}{from}"),
        1 => format!("{prefix}{from}, {prefix}{to}"),
        _ => format!("{prefix}{from}..{prefix}{to}"),
    }
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

/// The 2PC and 3PC variants' costs and fault verdicts for `n` participants (1 to 16).
pub fn compare(n: u32) -> Vec<Row> {
    rows(CLASSIC, n, Options::default()).expect("the 2PC and 3PC comparison runs for 1 to 16")
}

/// Checks the comparison's inputs; `Err` says what does not fit.
pub fn check(n: u32, opts: Options) -> Result<(), String> {
    if !(1..=MAX_PARTICIPANTS).contains(&n) {
        return Err(format!("participants: choose 1 to {MAX_PARTICIPANTS}, not {n}"));
    }
    if opts.faults > MAX_FAULTS {
        return Err(format!("--faults is from 0 to {MAX_FAULTS}, not {}", opts.faults));
    }
    if opts.colocated && n < 2 * opts.faults + 1 {
        return Err(format!(
            "--colocated puts 2F+1 = {} acceptors on the RMs' nodes: it needs --participants {} or more",
            2 * opts.faults + 1,
            2 * opts.faults + 1
        ));
    }
    Ok(())
}

/// Every variant, Paxos Commit set up by `opts`; `Err` says why the options do not fit.
pub fn compare_all(n: u32, opts: Options) -> Result<Vec<Row>, String> {
    check(n, opts)?;
    rows(VARIANTS, n, opts)
}

/// Measures one variant: the fault-free costs and a verdict per fault plan.
pub fn measure(v: Variant, n: u32, opts: Options) -> Result<Row, String> {
    check(n, opts)?;
    let r = run(&fault_free_scenario(v, n, opts))?;
    let count = |kind: &str| r.events().iter().filter(|e| e.kind == kind).count() as u64;
    // A message between processes on one node is not a message.
    let messages =
        r.events().iter().filter(|e| e.kind == "send" && e.peer != e.node).count() as u64;
    let message_delays =
        r.events().iter().filter(|e| e.kind == "decide").map(|e| e.time).max().unwrap_or(0);
    let mut faults = Vec::with_capacity(FAULT_PLANS.len());
    for plan in FAULT_PLANS {
        faults.push(match fault_scenario(plan, v, n, opts) {
            Some(s) => judge(&*run(&s)?, plan.id),
            None => FaultResult {
                scenario: plan.id,
                verdict: Verdict::NotApplicable,
                detail: "needs more participants".into(),
            },
        });
    }
    let paxos = v.faster.is_some();
    Ok(Row {
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
    })
}

fn rows(variants: &[Variant], n: u32, opts: Options) -> Result<Vec<Row>, String> {
    variants.iter().map(|v| measure(*v, n, opts)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_plan_under_every_variant_is_explained_and_runs_when_it_applies() {
        for n in 1..=4 {
            for (faults, colocated) in [(0, false), (1, false), (1, true), (2, false)] {
                let opts = Options { faults, colocated };
                if check(n, opts).is_err() {
                    continue;
                }
                for plan in FAULT_PLANS {
                    for v in VARIANTS {
                        let t = translate(plan, *v, n, opts);
                        assert!(!t.text.is_empty());
                        assert_eq!(
                            t.scenario.is_none(),
                            t.text.starts_with("does not apply"),
                            "{} under {} (n={n}): {}",
                            plan.id,
                            v.label,
                            t.text
                        );
                        if let Some(s) = t.scenario {
                            assert!(crate::run(&s).is_ok(), "{} under {}", plan.id, v.label);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn translations_name_each_protocols_own_nodes_and_messages() {
        let opts = Options::default();
        let plan = &FAULT_PLANS[0];
        assert_eq!(
            translate(plan, VARIANTS[0], 3, opts).text,
            "coord crashes right after sending prepare to all 3 participants"
        );
        assert_eq!(
            translate(plan, VARIANTS[1], 3, opts).text,
            "coord crashes right after sending can_commit to all 3 participants"
        );
        assert_eq!(
            translate(plan, VARIANTS[3], 3, opts).text,
            "tm (the leader, with acceptor a0) crashes right after sending prepare to all 3 RMs"
        );
        let split = translate(&FAULT_PLANS[2], VARIANTS[0], 1, opts);
        assert!(split.scenario.is_none() && split.text.starts_with("does not apply"));
    }

    #[test]
    fn bad_options_are_refused_not_run() {
        assert!(compare_all(0, Options::default()).is_err());
        assert!(compare_all(17, Options::default()).is_err());
        assert!(measure(VARIANTS[3], 2, Options { faults: 1, colocated: true }).is_err());
        assert!(compare_all(3, Options { faults: 4, colocated: false }).is_err());
    }
}
