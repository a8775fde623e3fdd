//! Try-Confirm-Cancel over the checkout's services: confirm, cancel, the empty cancel and
//! the hanging try, a coordinator crash, and a random sweep.

use crate::saga::{data, field, sweep_varied};
use commitscope_engine::erased::AnyRun;
use commitscope_protocols::Tcc;
use commitscope_tests::{
    count, decisions, logs, run_json, run_preset, select, trace, verdicts, violations, Sel,
};

fn always_hold(run: &dyn AnyRun) {
    assert!(violations(run).is_empty(), "{:?}\n{}", violations(run), trace(run));
}

#[test]
fn every_try_holds_then_the_coordinator_confirms() {
    let run = run_preset("tcc/happy_path");
    always_hold(&*run);
    assert_eq!(decisions(&*run)["coord"], "CONFIRM t1");
    assert_eq!(
        logs(&*run)["coord"],
        ["BEGIN t1: 1× book for alice, 100", "CONFIRM t1: every try succeeded", "END t1"]
    );
    assert_eq!(
        logs(&*run)["payment"],
        [
            "TRIED t1/charge: froze 100 of alice",
            "CONFIRMED t1/charge: froze 100 of alice, now final"
        ]
    );
    assert_eq!(
        data(&*run),
        "stock: book 9, lamp 1 · balances: alice 400, bob 500, u999 500 · collected: 100 · shipments: sh-t1 scheduled"
    );
    assert_eq!(field(&*run, "inventory", "sold"), "book 1");
    // Tries go out at once, not one after the other.
    let tries = select(&*run, &Sel::kind("send").of("try").at("coord"));
    assert_eq!(tries.len(), 3);
    assert!(tries.iter().all(|t| t.time == 0));
    // While the tries hold, the holds are visible on the cards as tentative.
    let confirm = select(&*run, &Sel::kind("persist").of("confirm").at("coord"))[0].id;
    let views = run.views_at(Some(confirm));
    assert_eq!(views[1].locks, ["t1/reserve: held 1× book (tentative)"]);
    assert_eq!(views[2].fields.iter().find(|(l, _)| l == "frozen").unwrap().1, "alice 100");
    assert!(verdicts(&*run)["confirm_reachable"].starts_with("witnessed"));
}

#[test]
fn a_failed_try_cancels_and_releases_every_hold() {
    let run = run_preset("tcc/try_fails");
    always_hold(&*run);
    assert_eq!(decisions(&*run)["coord"], "CANCEL t1");
    assert_eq!(
        logs(&*run)["payment"],
        [
            "REFUSED t1/charge: card declined (amount 99999)",
            "CANCELLED t1/charge: nothing held (the try was refused)"
        ]
    );
    assert_eq!(
        logs(&*run)["inventory"],
        ["TRIED t1/reserve: held 1× book", "CANCELLED t1/reserve: released (held 1× book)"]
    );
    assert_eq!(field(&*run, "inventory", "stock"), "book 10, lamp 1");
    assert_eq!(field(&*run, "shipping", "shipments"), "sh-t1 cancelled");
    assert_eq!(count(&*run, &Sel::kind("send").of("confirm")), 0);
}

#[test]
fn an_empty_cancel_is_remembered_and_answered_ok() {
    let run = run_preset("tcc/empty_cancel");
    always_hold(&*run);
    assert_eq!(logs(&*run)["coord"][1], "CANCEL t1: try timed out: no answer from payment");
    assert_eq!(
        logs(&*run)["payment"],
        ["CANCELLED t1/charge: empty cancel (no try seen, remembered)"]
    );
    assert_eq!(
        field(&*run, "payment", "dedup t1/charge"),
        "undone before it ran (no-op, remembered)"
    );
    let ack = select(&*run, &Sel::kind("send").of("cancelled").at("payment"))[0];
    assert_eq!(ack.label, "Cancelled(t1 charge, empty)");
    let persist = select(&*run, &Sel::kind("persist").of("cancelled").at("payment"))[0];
    assert!(persist.narration.contains("an empty cancel"), "{}", persist.narration);
    assert!(verdicts(&*run)["empty_cancel"].starts_with("witnessed"));
    assert_eq!(verdicts(&*run)["hanging_try"], "not witnessed");
    assert!(logs(&*run)["coord"].contains(&"END t1".to_string()), "every service acknowledged");
}

#[test]
fn a_hanging_try_after_its_cancel_is_refused() {
    let run = run_preset("tcc/hanging_try");
    always_hold(&*run);
    // The delayed try arrives after the empty cancel, and holds nothing.
    let cancel = select(&*run, &Sel::kind("persist").of("cancelled").at("payment"))[0].id;
    let tried = select(&*run, &Sel::kind("deliver").of("try").at("payment"))[0].id;
    assert!(cancel < tried, "{}", trace(&*run));
    assert_eq!(
        logs(&*run)["payment"],
        ["CANCELLED t1/charge: empty cancel (no try seen, remembered)"]
    );
    let refusal = select(&*run, &Sel::kind("send").of("try_failed").at("payment"))[0];
    assert_eq!(refusal.label, "TryFailed(t1 charge: hanging try: its cancel came first)");
    assert!(refusal.narration.contains("a hanging try"), "{}", refusal.narration);
    assert_eq!(field(&*run, "payment", "hanging tries refused"), "t1/charge");
    assert_eq!(field(&*run, "payment", "balances"), "alice 500, bob 500, u999 500");
    let v = verdicts(&*run);
    assert!(
        v["hanging_try"].starts_with("witnessed") && v["empty_cancel"].starts_with("witnessed")
    );
    assert_eq!(v["no_hanging_hold"], "holds");
}

#[test]
fn a_recovering_coordinator_without_a_decision_cancels() {
    let run = run_preset("tcc/coordinator_recovers");
    always_hold(&*run);
    assert_eq!(
        logs(&*run)["coord"],
        [
            "BEGIN t1: 1× book for alice, 100",
            "CANCEL t1: the coordinator restarted before deciding",
            "END t1"
        ]
    );
    for svc in ["inventory", "payment", "shipping"] {
        assert_eq!(count(&*run, &Sel::kind("persist").of("cancelled").at(svc)), 1, "{svc}");
    }
    assert_eq!(field(&*run, "payment", "balances"), "alice 500, bob 500, u999 500");
}

#[test]
fn a_decision_is_resent_until_every_service_acknowledges() {
    // The confirm to shipping is lost twice: the coordinator sends it again, and shipping
    // confirms once (a duplicate confirm is answered from the dedup table).
    let run = run_json(
        r#"{"version": 1, "protocol": "tcc", "seed": 1, "requests": [{"request": {}}],
            "faults": [{"drop": {"type": "confirm", "to": "shipping", "nth": 1}},
                       {"duplicate": {"type": "confirm", "to": "shipping", "nth": 2}}]}"#,
    );
    always_hold(&*run);
    assert_eq!(count(&*run, &Sel::kind("persist").of("confirmed").at("shipping")), 1);
    assert_eq!(field(&*run, "shipping", "shipments"), "sh-t1 scheduled");
    assert!(verdicts(&*run)["no_double_effect"] == "holds");
    assert!(logs(&*run)["coord"].contains(&"END t1".to_string()));
}

#[test]
fn tcc_sweep_is_safe_and_every_transaction_ends() {
    const N: u64 = 3_000;
    let (events, w) = sweep_varied::<Tcc>(
        r#"{"version": 1, "protocol": "tcc", "requests": [{"request": {}}]}"#,
        N,
    );
    eprintln!("tcc sweep: {N} schedules, {events} events, witnessed {w:?}");
    for id in ["confirm_reachable", "cancel_reachable", "empty_cancel", "hanging_try"] {
        assert!(w.get(id).copied().unwrap_or(0) > 0, "{id}: {w:?}");
    }
}
