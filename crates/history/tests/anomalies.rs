//! One hand-written history per anomaly class, serializable histories that must pass, and
//! Elle's published examples. Every history is also fed to `Incremental`, which must agree.

mod common;

use commitscope_history::{check, AnomalyKind as K, DepKind, Edge, History, Incremental, Status};
use common::{check_both, history, la, only, rw, with};

// ---- G0 -----------------------------------------------------------------------------------

#[test]
fn g0_write_cycle_by_appends_in_opposite_orders() {
    // x shows T1's append before T2's, y the other way round. (Elle's "G0" test in
    // test/elle/list_append_test.clj.)
    let h = history(vec![la("T1", "ax1ay1"), la("T2", "ax2ay2"), la("T3", "rx12ry21")]);
    let a = only(&h, K::G0, &[0, 1]);
    assert_eq!(
        a.steps,
        vec![
            Edge { from: 0, to: 1, kind: DepKind::Ww, key: 1 },
            Edge { from: 1, to: 0, kind: DepKind::Ww, key: 2 },
        ]
    );
    assert_eq!(
        a.explanation,
        "T1 appended 1 to key 1 before T2 appended 2, and T2 appended 2 to key 2 before T1 \
         appended 1, so T1 → T2 → T1 is a cycle (ww, ww): G0 (write cycle)"
    );
}

// ---- G1a ----------------------------------------------------------------------------------

#[test]
fn g1a_reading_a_failed_append() {
    let h = history(vec![with(la("T1", "ax1"), Status::Fail), la("T2", "rx1")]);
    let a = only(&h, K::G1a, &[0, 1]);
    assert_eq!(a.txns, vec![1, 0], "the reader, then the failed writer");
    assert!(a.explanation.contains("T2 read key 1 = [1], but T1, which appended 1, failed"));
}

#[test]
fn g1a_reading_a_failed_register_write() {
    // Elle's rw-register "G1a": the read comes before the failed write in the history.
    let h = history(vec![rw("T1", "rx2"), with(rw("T2", "wx2"), Status::Fail)]);
    only(&h, K::G1a, &[0, 1]);
}

// ---- G1b ----------------------------------------------------------------------------------

#[test]
fn g1b_intermediate_list_read() {
    // T1 appends 1 then 2 to x; T2 saw the list ending at 1, between T1's two appends.
    let h = history(vec![la("T1", "ax1ax2"), la("T2", "rx1")]);
    let a = only(&h, K::G1b, &[0, 1]);
    assert!(a.explanation.contains("but T1 appended 2 after it in the same transaction"));
}

#[test]
fn g1b_intermediate_register_read() {
    // Elle's rw-register "G1b".
    let h = history(vec![rw("T1", "wx1wx2"), rw("T2", "rx1")]);
    only(&h, K::G1b, &[0, 1]);
}

#[test]
fn own_intermediate_reads_are_fine() {
    // Elle's "internal reads" case: a transaction may see its own intermediate appends.
    let h = history(vec![la("T1", "ax1rx1ax2"), la("T2", "rx12")]);
    assert!(check_both(&h).is_clean());
}

// ---- G1c ----------------------------------------------------------------------------------

#[test]
fn g1c_circular_information_flow() {
    // Elle's README demo: T2 appended to x after T1, but T1 saw T2's append to y.
    // (jepsen-io/elle README.markdown, "Demo".)
    let h = history(vec![la("T1", "ax1ry1"), la("T2", "ax2ay1"), la("T3", "rx12")]);
    let a = only(&h, K::G1c, &[0, 1]);
    let kinds: Vec<DepKind> = a.steps.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, vec![DepKind::Ww, DepKind::Wr]);
}

#[test]
fn g1c_with_registers() {
    // Elle's rw-register "G1c": each transaction read the other's write.
    let h = history(vec![rw("T1", "wx1ry1"), rw("T2", "wy1rx1")]);
    only(&h, K::G1c, &[0, 1]);
}

// ---- G-single -----------------------------------------------------------------------------

#[test]
fn g_single_read_skew() {
    // Elle's "G-single" test (test/elle/list_append_test.clj), with T3 also reading y = [1]:
    // Elle places a lone unread append on its own, this checker only from reads.
    let h = history(vec![la("T1", "ax1ay1"), la("T2", "ax2ry"), la("T3", "rx12ry1")]);
    let a = only(&h, K::GSingle, &[0, 1]);
    assert_eq!(
        a.explanation,
        "T1 appended 1 to key 1 before T2 appended 2, and T2 read key 2 = [] but T1 appended \
         1 next, so T1 → T2 → T1 is a cycle (ww, rw): G-single (read skew)"
    );
}

#[test]
fn g_single_from_the_initial_register_state() {
    // Elle's rw-register "initial state" test: nil precedes every written value.
    let h = history(vec![rw("T1", "rx_ry1"), rw("T2", "wy1wx2")]);
    only(&h, K::GSingle, &[0, 1]);
}

#[test]
fn g_single_from_writes_following_reads() {
    // Elle's rw-register "wfr" test: T1 read y = 1 and wrote y = 2, so 1 < 2.
    let h = history(vec![rw("T1", "ry1wx1wy2"), rw("T2", "rx1ry1")]);
    only(&h, K::GSingle, &[0, 1]);
}

#[test]
fn elle_paper_example_with_its_missing_read() {
    // The example history of the Elle paper (jepsen-io/elle histories/paper-example.edn).
    // Elle infers that T4's unread append of 3 to key 256 comes after 4; this checker
    // orders only what reads show, so we add the read that shows it (T5).
    let text = r#"[
      {"index": 0, "type": "invoke", "process": 0, "value": [["append", 253, 1], ["append", 253, 3], ["append", 253, 4], ["append", 255, 2], ["append", 255, 3], ["append", 255, 4], ["append", 255, 5], ["append", 256, 1], ["append", 256, 2]]},
      {"index": 1, "type": "ok", "process": 0, "value": [["append", 253, 1], ["append", 253, 3], ["append", 253, 4], ["append", 255, 2], ["append", 255, 3], ["append", 255, 4], ["append", 255, 5], ["append", 256, 1], ["append", 256, 2]]},
      {"index": 2, "type": "invoke", "process": 0, "value": [["append", 255, 8], ["r", 253, null]]},
      {"index": 3, "type": "ok", "process": 0, "value": [["append", 255, 8], ["r", 253, [1, 3, 4]]]},
      {"index": 4, "type": "invoke", "process": 0, "value": [["append", 256, 4], ["r", 255, null], ["r", 256, null], ["r", 253, null]]},
      {"index": 5, "type": "ok", "process": 0, "value": [["append", 256, 4], ["r", 255, [2, 3, 4, 5, 8]], ["r", 256, [1, 2, 4]], ["r", 253, [1, 3, 4]]]},
      {"index": 6, "type": "invoke", "process": 0, "value": [["append", 250, 10], ["r", 253, null], ["r", 255, null], ["append", 256, 3]]},
      {"index": 7, "type": "ok", "process": 0, "value": [["append", 250, 10], ["r", 253, [1, 3, 4]], ["r", 255, [2, 3, 4, 5]], ["append", 256, 3]]}
    ]"#;
    let mut h = commitscope_history::parse_history(text).unwrap();
    let names: Vec<&str> = h.txns.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["T1", "T3", "T5", "T7"]);
    assert!(check_both(&h).is_clean(), "no read orders T4's append of 3 yet");
    h.txns.push(la("T9", ""));
    h.txns[4].ops = vec![commitscope_history::Mop::Read {
        key: 256,
        seen: Some(commitscope_history::Seen::List(vec![1, 2, 4, 3])),
    }];
    // T7 read 255 without T3's 8; T3's 8 was read by T5; T5's 4 precedes T7's 3 on 256.
    only(&h, K::GSingle, &[1, 2, 3]);
}

// ---- G2-item ------------------------------------------------------------------------------

#[test]
fn g2_item_write_skew() {
    // Elle's "G2" test: each read the empty list of the key the other appended to; T3's
    // reads place the appends (Elle would place lone appends without them).
    let h = history(vec![la("T1", "ax1ry"), la("T2", "ay1rx"), la("T3", "rx1ry1")]);
    let a = only(&h, K::G2Item, &[0, 1]);
    assert!(a.steps.iter().all(|e| e.kind == DepKind::Rw));
}

#[test]
fn g2_item_with_registers() {
    let h = history(vec![rw("T1", "rx_wy1"), rw("T2", "ry_wx1")]);
    only(&h, K::G2Item, &[0, 1]);
    // Elle's rw-register "write skew" (wr-graph test): both read x = y = 0, one wrote x, the
    // other y. Elle's wr graph alone passes it; knowing that a write follows the read of
    // the same key (Elle's `wfr-keys?`), each read a version the other overwrote.
    let h = history(vec![rw("T1", "rx0ry0wx1"), rw("T2", "rx0ry0wy1")]);
    only(&h, K::G2Item, &[0, 1]);
}

#[test]
fn most_severe_class_names_a_set_of_transactions_once() {
    // T1 and T2 form both a G0 cycle (x, y) and, with the reads, cycles of milder classes
    // among the same two transactions; only G0 is reported for them.
    let h = history(vec![la("T1", "ax1ay1rz"), la("T2", "ax2ay2az1"), la("T3", "rx12ry21rz1")]);
    only(&h, K::G0, &[0, 1]);
}

// ---- Lost update --------------------------------------------------------------------------

#[test]
fn lost_update_on_a_register() {
    // Elle's lost-update test (test/elle/rw_register_test.clj): both read x = 0, both wrote.
    let h = history(vec![rw("T1", "rx0wx1"), rw("T2", "rx0wx2")]);
    let a = only(&h, K::LostUpdate, &[0, 1]);
    assert_eq!(
        a.explanation,
        "T1 and T2 both read key 1 = 0 and both wrote it (T1 wrote 1, T2 wrote 2), so one \
         update overwrote the other unseen: lost update"
    );
}

#[test]
fn lost_update_from_the_initial_state() {
    let h = history(vec![rw("T1", "rx_wx1"), rw("T2", "rx_wx2"), rw("T3", "rx2")]);
    only(&h, K::LostUpdate, &[0, 1]);
}

// ---- Internal inconsistency ---------------------------------------------------------------

#[test]
fn internal_list_reads() {
    // Elle's internal-cases tests (test/elle/list_append_test.clj): stale, bad prefix,
    // extension, short read; then append-read disagreements and the FaunaDB example.
    for spec in ["rx12ax3rx12", "rx12ax3rx023", "rx12ax3rx1234", "rx12ax3rx1", "ax3rx1234", "ax3rx"]
    {
        let h = history(vec![la("T1", spec)]);
        only(&h, K::InternalInconsistency, &[0]);
    }
    let good = history(vec![la("T1", "ry56ax3rx123ax4rx1234")]);
    assert!(check_both(&good).is_clean());
}

#[test]
fn internal_register_reads() {
    // Elle's rw-register internal tests: "rx1rx2" is stale; "ry2wx2rx2wx1rx1" is fine.
    only(&history(vec![rw("T1", "rx1rx2")]), K::InternalInconsistency, &[0]);
    only(&history(vec![rw("T1", "wx1rx2")]), K::InternalInconsistency, &[0]);
    assert!(check_both(&history(vec![rw("T1", "ry2wx2rx2wx1rx1")])).is_clean());
}

// ---- Duplicates ---------------------------------------------------------------------------

#[test]
fn duplicate_value_in_a_read() {
    let h = history(vec![la("T1", "ax1"), la("T2", "ax2"), la("T3", "rx121")]);
    only(&h, K::DuplicateAppend, &[2]);
}

#[test]
fn same_value_appended_twice() {
    let h = history(vec![la("T1", "ax1"), la("T2", "ax1")]);
    only(&h, K::DuplicateAppend, &[0, 1]);
}

#[test]
fn failed_attempt_and_retry_of_the_same_append() {
    // A failed attempt did not happen, so its retry with the same value is no duplicate.
    let h = history(vec![with(la("T1", "ax1"), Status::Fail), la("T2", "ax1"), la("T3", "rx1")]);
    assert!(check_both(&h).is_clean());
}

// ---- Incompatible order -------------------------------------------------------------------

#[test]
fn incompatible_list_reads() {
    // From Elle's "contradictory read orders" test: [1 3] and [1 2 3] disagree.
    let h = history(vec![
        la("T1", "ax1"),
        la("T2", "ax2"),
        la("T3", "ax3"),
        la("T4", "rx13"),
        la("T5", "rx123"),
    ]);
    let a = only(&h, K::IncompatibleOrder, &[3, 4]);
    assert_eq!(
        a.explanation,
        "T4 read key 1 = [1, 3] and T5 read key 1 = [1, 2, 3]: neither is a prefix of the other, \
         so they disagree on the order of key 1: incompatible order"
    );
}

#[test]
fn key_used_as_list_and_register() {
    let h = history(vec![la("T1", "ax1"), rw("T2", "wx2"), rw("T3", "rx2")]);
    let a = only(&h, K::IncompatibleOrder, &[0, 1]);
    assert!(a.explanation.starts_with("key 1 is used as a list by T1 and as a register by T2"));
}

// ---- Serializable histories ---------------------------------------------------------------

#[test]
fn serializable_histories_pass() {
    let cases = vec![
        // Adya, Liskov & O'Neil's figure 3, as in Elle's graph-test.
        history(vec![
            la("T1", "az1ax1ay1"),
            la("T2", "rx1ay2"),
            la("T3", "ry12az3"),
            la("T4", "rz13"),
        ]),
        history(vec![la("T1", "rx"), la("T2", "ax1"), la("T3", "rx1")]),
        history(vec![la("T2", "ax2"), la("T1", "ax1"), la("T3", "rx12")]),
        history(vec![rw("T1", "wx1"), rw("T2", "rx1wx2"), rw("T3", "rx2wy3"), rw("T4", "ry3rx2")]),
        // An indeterminate transaction whose write was seen is committed; its unknown read
        // of y says nothing (Elle's "info reads").
        history(vec![with(la("T1", "ax2"), Status::Info), la("T2", "ax1ay1"), la("T3", "rx12ry1")]),
        History::default(),
    ];
    for h in &cases {
        let report = check_both(h);
        assert!(report.is_clean(), "{h:?}: {:#?}", report.anomalies);
    }
}

#[test]
fn info_transaction_joins_the_graph_when_observed() {
    let h = history(vec![with(la("T1", "ax1"), Status::Info), la("T2", "rx1")]);
    let report = check(&h);
    assert_eq!((report.committed, report.edges), (2, 1));
    let unseen = history(vec![with(la("T1", "ax1"), Status::Info), la("T2", "rx")]);
    assert_eq!(check(&unseen).committed, 1);
}

#[test]
fn long_serializable_history_passes() {
    let mut rng = common::Rng::new(7);
    let g = common::Gen { txns: 5_000, ..common::Gen::default() };
    let h = common::serial(&mut rng, &g);
    let report = check_both(&h);
    assert!(report.is_clean(), "{:#?}", report.anomalies.first());
    assert!(report.edges > 5_000, "{} edges", report.edges);
}

#[test]
fn report_serializes_with_names() {
    let h = history(vec![la("T1", "ax1ay1"), la("T2", "ax2ay2"), la("T3", "rx12ry21")]);
    let json = serde_json::to_value(check(&h)).unwrap();
    assert_eq!(json["anomalies"][0]["kind"], "G0");
    assert_eq!(json["anomalies"][0]["steps"][0]["kind"], "ww");
    assert_eq!(json["committed"], 3);
}

#[test]
fn every_kind_has_a_name_and_an_about() {
    for kind in K::ALL {
        assert!(kind.about().starts_with(kind.name()), "{kind:?}");
        assert!(kind.label().starts_with(kind.name()));
    }
}

// ---- Incremental --------------------------------------------------------------------------

#[test]
fn incremental_reports_when_a_late_read_reveals_the_order() {
    // T1 and T2 are added long before T3's reads order their appends.
    let mut inc = Incremental::new();
    assert!(inc.add(la("T1", "ax1ay1")).is_empty());
    assert!(inc.add(la("T2", "ax2ry")).is_empty());
    for i in 0..50 {
        assert!(inc.add(la(&format!("U{i}"), "rz")).is_empty());
    }
    let found = inc.add(la("T3", "rx12ry1"));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!((found[0].kind, found[0].txns.clone()), (K::GSingle, vec![0, 1]));
    assert_eq!(inc.committed(), 53);
}

#[test]
fn incremental_handles_a_read_before_its_write() {
    // Completions arrive out of order: the reader's before the writer's.
    let mut inc = Incremental::new();
    assert!(inc.add(la("T2", "rx1")).is_empty());
    let found = inc.add(with(la("T1", "ax1"), Status::Fail));
    assert_eq!(common::kinds(&found), vec![K::G1a]);
    let mut inc = Incremental::new();
    assert!(inc.add(rw("T2", "rx1ry_")).is_empty());
    assert!(inc.add(rw("T3", "rx_wy1")).is_empty(), "no order between the two yet");
    let found = inc.add(rw("T1", "wx1"));
    assert_eq!(common::kinds(&found), vec![K::G2Item], "{found:#?}");
}

#[test]
fn incremental_clone_is_a_snapshot() {
    let mut rng = common::Rng::new(5);
    let h = common::serial(&mut rng, &common::Gen { txns: 300, ..common::Gen::default() });
    let mut inc = Incremental::new();
    for txn in &h.txns[..150] {
        inc.add(txn.clone());
    }
    let mut copy = inc.clone();
    for txn in &h.txns[150..] {
        assert_eq!(inc.add(txn.clone()), copy.add(txn.clone()));
    }
    assert_eq!(inc.history(), copy.history());
    assert_eq!((inc.committed(), inc.edges()), (copy.committed(), copy.edges()));
}
