//! `commitscope compare`: the measured figures of the fault-free run against the counts
//! derived by hand from each protocol's description, for N = 1..8, and the fault table.
//!
//! The command's own code is included here (it depends on the engine and the protocols
//! only), so these tests check exactly what the command prints.
//!
//! Derivation (N participants, one transaction, every message takes one tick, no faults):
//!
//! 2PC (presumed abort): coord sends N Prepare; each participant forces PREPARED and sends
//! VoteYes (N); with N votes the coordinator forces COMMIT and sends N Commit; each
//! participant forces COMMIT and sends Ack (N); with N acks the coordinator writes END.
//!   messages       = N + N + N + N                 = 4N
//!   message delays = Prepare, VoteYes, Commit      = 3   (participants decide at t=3)
//!   forced writes  = N PREPARED + COMMIT + N COMMIT + END = 2N + 2
//!
//! 3PC (either termination rule: no timer fires without faults): coord sends N CanCommit;
//! each participant forces PREPARED and sends VoteYes (N); the coordinator forces PRE-COMMIT
//! and sends N PreCommit; each participant forces PRECOMMITTED and sends PreCommitAck (N);
//! the coordinator forces COMMIT and sends N DoCommit; each participant forces COMMIT and
//! answers have_committed (N); the coordinator writes END.
//!   messages       = 6N
//!   message delays = CanCommit, VoteYes, PreCommit, PreCommitAck, DoCommit = 5
//!   forced writes  = N PREPARED + PRE-COMMIT + N PRECOMMITTED + COMMIT + N COMMIT + END
//!                  = 3N + 3

#[allow(dead_code)]
#[path = "../../crates/cli/src/compare.rs"]
mod cli_compare;

use cli_compare::{compare, render, to_json, Verdict};

#[test]
fn fault_free_costs_match_the_hand_derived_formulas_for_1_to_8_participants() {
    for n in 1..=8u64 {
        let rows = compare(n as u32);
        assert_eq!(rows.len(), 3, "2PC and 3PC with each termination rule");
        let two = &rows[0];
        assert_eq!((two.protocol, two.termination), ("two_pc", None));
        assert_eq!(
            (two.messages, two.message_delays, two.forced_writes),
            (4 * n, 3, 2 * n + 2),
            "2PC, N={n}"
        );
        for three in &rows[1..] {
            assert_eq!(three.protocol, "three_pc");
            assert_eq!(
                (three.messages, three.message_delays, three.forced_writes),
                (6 * n, 5, 3 * n + 3),
                "3PC ({:?}), N={n}",
                three.termination
            );
        }
    }
}

#[test]
fn fault_table_for_3_participants() {
    let rows = compare(3);
    let verdicts: Vec<Vec<(Verdict, &str)>> = rows
        .iter()
        .map(|r| r.faults.iter().map(|f| (f.verdict, f.detail.as_str())).collect())
        .collect();
    // 2PC blocks after the votes whatever happens next, and never violates AC1.
    assert_eq!(
        verdicts[0],
        [
            (Verdict::Blocked, "p1, p2, p3 undecided"),
            (Verdict::Blocked, "p1, p2, p3 undecided"),
            (Verdict::Blocked, "p2, p3 undecided"),
        ]
    );
    // 3PC with the course's timeout rule: never blocks, but the partition splits it.
    assert_eq!(verdicts[1][0], (Verdict::Decides, "ABORT (by participant timeout)"));
    assert_eq!(verdicts[1][1], (Verdict::Decides, "COMMIT (by participant timeout)"));
    assert_eq!(verdicts[1][2].0, Verdict::ViolatesAc1);
    assert!(verdicts[1][2].1.contains("by participant timeout"), "{}", verdicts[1][2].1);
    assert!(verdicts[1][2].1.contains("COMMIT (by ack timeout)"), "{}", verdicts[1][2].1);
    // Skeen's termination decides the crash cases through the elected participant, and is
    // split by the partition as well.
    assert_eq!(verdicts[2][0].0, Verdict::Decides);
    assert!(verdicts[2][0]
        .1
        .contains("ABORT (by termination: every reachable participant was uncertain)"));
    assert_eq!(verdicts[2][1].0, Verdict::Decides);
    assert!(verdicts[2][1].1.contains("COMMIT (by termination: a participant was committable)"));
    assert_eq!(verdicts[2][2].0, Verdict::ViolatesAc1);
}

#[test]
fn a_single_participant_cannot_be_partitioned_from_itself() {
    let rows = compare(1);
    for r in &rows {
        assert_eq!(r.faults[2].verdict, Verdict::NotApplicable, "{}", r.protocol);
    }
    assert_eq!(rows[0].faults[1].verdict, Verdict::Blocked);
    assert_eq!(rows[1].faults[1].verdict, Verdict::Decides);
}

#[test]
fn the_printed_table_carries_the_figures() {
    let text = render(&compare(4));
    let line = |label: &str| {
        text.lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no line for {label}:\n{text}"))
            .split_whitespace()
            .rev()
            .take(3)
            .collect::<Vec<_>>()
    };
    assert_eq!(line("2PC "), ["10", "3", "16"], "{text}");
    assert_eq!(line("3PC, timeout rule"), ["15", "5", "24"], "{text}");
    assert!(text.contains("VIOLATES AC1"), "{text}");
    assert!(text.contains("BLOCKED (p1, p2, p3, p4 undecided)"), "{text}");
}

#[test]
fn json_has_one_object_per_protocol_with_the_figures() {
    let json = to_json(&compare(2));
    let rows = json.as_array().expect("an array");
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["protocol"], "two_pc");
    assert_eq!(rows[0]["messages"], 8);
    assert_eq!(rows[0]["message_delays"], 3);
    assert_eq!(rows[0]["forced_writes"], 6);
    assert_eq!(rows[1]["protocol"], "three_pc");
    assert_eq!(rows[1]["termination"], "timeout");
    assert_eq!(rows[2]["termination"], "elect");
    assert_eq!(rows[1]["messages"], 12);
    assert_eq!(rows[1]["forced_writes"], 9);
    assert_eq!(rows[1]["faults"][1]["verdict"], "decides");
    assert_eq!(rows[0]["faults"][1]["verdict"], "blocked");
    assert_eq!(rows[2]["faults"][2]["verdict"], "violates_ac1");
}
