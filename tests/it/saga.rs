//! Sagas over the checkout, orchestrated and choreographed: one test per path and anomaly,
//! each checking what a user sees — every service's data (stock, balances, shipments), the
//! saga log and statuses, the order of compensations, dedup hits, the property verdicts —
//! and random sweeps with crashes, drops, duplicates, delays and concurrent sagas.

use commitscope_engine::erased::AnyRun;
use commitscope_engine::rng::Rng;
use commitscope_engine::scenario::{FaultSpec, MsgSpec, RequestSpec};
use commitscope_engine::sweep::{random_scenario, SweepConfig};
use commitscope_engine::{NodeView, PropertyKind, Protocol, RunEnd, Scenario, Simulator};
use commitscope_protocols::Saga;
use commitscope_tests::{
    count, decisions, final_views, logs, run_json, run_preset, scenario_error, select, trace,
    verdicts, violations, Sel,
};
use std::collections::BTreeMap;

/// A card field of `node` at the end of the run ("stock", "balances"), a row of its dedup
/// table ("dedup s1/charge") or its compensation stack ("compensation stack s1"), as text.
pub fn field(run: &dyn AnyRun, node: &str, label: &str) -> String {
    let v = final_views(run).into_iter().find(|v| v.name == node).expect("a node");
    card_text(&v, label).unwrap_or_else(|| panic!("{node} has no field {label}: {v:?}"))
}

/// `label` on a card: a field; `dedup <key>`: that row of the dedup table ("charged 100 to
/// alice · 2 repeats answered from the table"); `compensation stack <saga>`: the stack
/// ("top → refund, release · unwound: cancel_shipment").
pub fn card_text(v: &NodeView, label: &str) -> Option<String> {
    if let Some((_, x)) = v.fields.iter().find(|(l, _)| l == label) {
        return Some(x.clone());
    }
    if let Some(key) = label.strip_prefix("dedup ") {
        let t = v.table("dedup table")?;
        let mut text = t.cell(key, "result")?.to_string();
        match t.cell(key, "repeats answered")? {
            "" => {}
            "1" => text.push_str(" · 1 repeat answered from the table"),
            n => text.push_str(&format!(" · {n} repeats answered from the table")),
        }
        return Some(text);
    }
    let t = v.table(label).filter(|_| label.starts_with("compensation stack "))?;
    let (done, stack): (Vec<&Vec<String>>, Vec<&Vec<String>>) =
        t.rows.iter().partition(|r| r[2] == "undone");
    let names = |rows: &[&Vec<String>]| rows.iter().map(|r| r[0].clone()).collect::<Vec<_>>();
    let mut text = match names(&stack).join(", ") {
        top if top.is_empty() => "top → empty".to_string(),
        top => format!("top → {top}"),
    };
    if !done.is_empty() {
        text.push_str(&format!(" · unwound: {}", names(&done).join(", ")));
    }
    Some(text)
}

/// The services' local data at the end: stock, balances, collected, shipments.
pub fn data(run: &dyn AnyRun) -> String {
    format!(
        "stock: {} · balances: {} · collected: {} · shipments: {}",
        field(run, "inventory", "stock"),
        field(run, "payment", "balances"),
        field(run, "payment", "collected"),
        field(run, "shipping", "shipments")
    )
}

/// The order in which services forced their compensation records (service, record).
fn compensations(run: &dyn AnyRun) -> Vec<String> {
    select(run, &Sel::kind("persist").of("compensated"))
        .into_iter()
        .map(|e| e.label.clone())
        .collect()
}

fn saga(params: &str, requests: &str, faults: &str) -> String {
    format!(
        r#"{{"version": 1, "protocol": "saga", "seed": 1, "params": {{{params}}},
            "requests": [{requests}], "faults": [{faults}], "limits": {{"max_ticks": 3000}}}}"#
    )
}

fn always_hold(run: &dyn AnyRun) {
    assert!(violations(run).is_empty(), "{:?}\n{}", violations(run), trace(run));
}

#[test]
fn checkout_happy_path_every_step_takes_effect() {
    let run = run_preset("saga/happy_path");
    always_hold(&*run);
    assert_eq!(decisions(&*run)["orch"], "COMPLETED s1");
    assert_eq!(
        logs(&*run)["orch"],
        [
            "BEGIN s1: 1× book for alice, 100 [reserve → charge → ship]",
            "STEP-DONE s1 reserve",
            "STEP-DONE s1 charge",
            "STEP-DONE s1 ship",
            "COMPLETED s1"
        ]
    );
    assert_eq!(
        data(&*run),
        "stock: book 9, lamp 1 · balances: alice 400, bob 500, u999 500 · collected: 100 · shipments: sh-s1 created"
    );
    assert_eq!(field(&*run, "payment", "dedup s1/charge"), "charged 100 to alice");
    let v = verdicts(&*run);
    assert!(v["saga_completes"].starts_with("witnessed"));
    assert_eq!(v["saga_compensates"], "not witnessed");
    // Steps run in order: each command is sent only after the previous step is logged.
    let done = select(&*run, &Sel::kind("persist").of("step_done").at("orch"));
    let charge = select(&*run, &Sel::kind("send").of("charge").at("orch"));
    let ship = select(&*run, &Sel::kind("send").of("ship").at("orch"));
    assert!(done[0].id < charge[0].id && done[1].id < ship[0].id, "{}", trace(&*run));
}

#[test]
fn payment_declined_for_u999_releases_the_reservation() {
    let run = run_preset("saga/payment_declined");
    always_hold(&*run);
    assert_eq!(decisions(&*run)["orch"], "ABORTED s1");
    assert_eq!(
        logs(&*run)["orch"][2..],
        [
            "STEP-FAILED s1 charge: card declined (user u999)",
            "COMPENSATED s1 release",
            "ABORTED s1"
        ]
    );
    assert_eq!(
        data(&*run),
        "stock: book 10, lamp 1 · balances: alice 500, bob 500, u999 500 · collected: 0 · shipments: none"
    );
    assert_eq!(field(&*run, "inventory", "dedup s1/reserve"), "reserved 1× book · undone");
    assert_eq!(field(&*run, "payment", "dedup s1/charge"), "refused: card declined (user u999)");
    assert_eq!(count(&*run, &Sel::kind("send").of("ship")), 0, "no step after the failure");
    assert!(verdicts(&*run)["saga_compensates"].starts_with("witnessed"));
    // The course's other trigger: amount 99999.
    let run = run_json(&saga("", r#"{"request": {"user": "bob", "amount": 99999}}"#, ""));
    assert_eq!(decisions(&*run)["orch"], "ABORTED s1");
    assert_eq!(field(&*run, "payment", "dedup s1/charge"), "refused: card declined (amount 99999)");
}

#[test]
fn shipping_down_compensates_in_reverse_order() {
    let run = run_preset("saga/shipping_down");
    always_hold(&*run);
    assert_eq!(
        compensations(&*run),
        [
            "COMPENSATED s1/charge: undid charged 250 to alice",
            "COMPENSATED s1/reserve: undid reserved 2× book"
        ]
    );
    assert_eq!(
        logs(&*run)["orch"][3..],
        [
            "STEP-FAILED s1 ship: shipping unavailable",
            "COMPENSATED s1 refund",
            "COMPENSATED s1 release",
            "ABORTED s1"
        ]
    );
    // Release is only sent once the refund is acknowledged: the stack unwinds one by one.
    let refunded = select(&*run, &Sel::kind("deliver").of("compensated").at("orch"))[0].id;
    let release = select(&*run, &Sel::kind("send").of("release").at("orch"))[0].id;
    assert!(refunded < release, "{}", trace(&*run));
    assert_eq!(
        field(&*run, "orch", "compensation stack s1"),
        "top → empty · unwound: refund, release"
    );
    assert_eq!(
        data(&*run),
        "stock: book 10, lamp 1 · balances: alice 500, bob 500, u999 500 · collected: 0 · shipments: none"
    );
}

#[test]
fn the_compensation_stack_is_shown_while_it_unwinds() {
    let run = run_preset("saga/shipping_down");
    // Right after the orchestrator logs STEP-FAILED, both undos are on the stack.
    let failed = select(&*run, &Sel::kind("persist").of("step_failed").at("orch"))[0].id;
    let views = run.views_at(Some(failed + 1));
    let orch = &views[0];
    assert_eq!(card_text(orch, "compensation stack s1").unwrap(), "top → refund, release");
    let stack = orch.table("compensation stack s1").unwrap();
    assert_eq!(stack.cell("refund", "state"), Some("undoing (top)"));
    assert_eq!(stack.cell("release", "state"), Some("waiting"));
    assert_eq!(orch.phase, "compensating");
}

#[test]
fn orchestrator_crash_mid_saga_resumes_from_its_log() {
    let run = run_preset("saga/orchestrator_crash");
    always_hold(&*run);
    let crash = select(&*run, &Sel::kind("crash").at("orch"))[0].id;
    let recover = select(&*run, &Sel::kind("recover").at("orch"))[0];
    assert!(recover.narration.ends_with("(2 records)"), "{}", recover.narration);
    // After recovery it sends the charge again — the next step after its last STEP-DONE.
    let resent = select(&*run, &Sel::kind("send").at("orch"))
        .into_iter()
        .find(|e| e.id > recover.id)
        .expect("a command after recovery");
    assert_eq!(resent.subkind, Some("charge"), "{}", trace(&*run));
    assert!(crash < recover.id);
    assert_eq!(decisions(&*run)["orch"], "COMPLETED s1");
    assert_eq!(count(&*run, &Sel::kind("persist").of("begin")), 1);
    assert_eq!(count(&*run, &Sel::kind("persist").of("applied").at("payment")), 1);
    // While down, its card still shows the saga from its log.
    let down = run.views_at(Some(crash));
    assert!(!down[0].up);
    assert_eq!(
        down[0].fields[0].1,
        "s1: 1× book for alice, 100 · PENDING · step 2/3 charge at payment (attempt 0)"
    );
}

#[test]
fn duplicate_charge_and_retry_are_answered_from_the_dedup_table() {
    let run = run_preset("saga/duplicate_charge");
    always_hold(&*run);
    assert_eq!(count(&*run, &Sel::kind("deliver").of("charge").at("payment")), 3);
    assert_eq!(count(&*run, &Sel::kind("persist").of("applied").at("payment")), 1, "charged once");
    assert_eq!(field(&*run, "payment", "balances"), "alice 400, bob 500, u999 500");
    assert_eq!(
        field(&*run, "payment", "dedup s1/charge"),
        "charged 100 to alice · 2 repeats answered from the table"
    );
    let cached: Vec<String> = select(&*run, &Sel::kind("send").of("step_ok").at("payment"))
        .into_iter()
        .map(|e| e.label.clone())
        .collect();
    assert_eq!(
        cached,
        ["StepOk(s1 charge)", "StepOk(s1 charge, cached)", "StepOk(s1 charge, cached)"]
    );
    assert!(verdicts(&*run)["dedup_hit"].starts_with("witnessed"));
}

#[test]
fn without_dedup_tables_a_duplicate_charges_twice() {
    let run = run_preset("saga/no_idempotency");
    let v = verdicts(&*run);
    assert!(
        v["no_double_effect"].contains("s1/charge was applied 2 times"),
        "{}",
        v["no_double_effect"]
    );
    assert!(v["conserved"].contains("alice's balance is 300"), "{}", v["conserved"]);
    assert_eq!(field(&*run, "payment", "balances"), "alice 300, bob 500, u999 500");
    assert_eq!(field(&*run, "payment", "collected"), "200");
}

#[test]
fn an_unanswered_step_is_compensated_and_its_late_request_refused() {
    let run = run_preset("saga/late_request_refused");
    always_hold(&*run);
    assert_eq!(
        logs(&*run)["orch"][3..],
        [
            "STEP-FAILED s1 ship: no answer from shipping after 3 attempts (outcome unknown)",
            "COMPENSATED s1 cancel_shipment",
            "COMPENSATED s1 refund",
            "COMPENSATED s1 release",
            "ABORTED s1"
        ]
    );
    assert_eq!(logs(&*run)["shipping"], ["COMPENSATED s1/ship: never ran (no-op, remembered)"]);
    // The delayed Ship arrives after the saga ended, and is refused, not executed.
    let ended = select(&*run, &Sel::kind("decide").at("orch"))[0].id;
    let late = select(&*run, &Sel::kind("deliver").of("ship").at("shipping"));
    assert_eq!(late.len(), 1);
    assert!(late[0].id > ended);
    let answer = select(&*run, &Sel::kind("send").of("step_failed").at("shipping"));
    assert_eq!(
        answer[0].label,
        "StepFailed(s1 ship: already compensated: a late request is refused, cached)"
    );
    assert_eq!(field(&*run, "shipping", "shipments"), "none");
    assert_eq!(
        field(&*run, "shipping", "dedup s1/ship"),
        "undone before it ran (no-op, remembered) · 1 repeat answered from the table"
    );
    let noop = select(&*run, &Sel::kind("persist").of("compensated").at("shipping"))[0];
    assert!(noop.narration.contains("a late request for it will be refused"), "{}", noop.narration);
}

#[test]
fn concurrent_sagas_conserve_money_and_stock() {
    let run = run_preset("saga/concurrent_sagas");
    always_hold(&*run);
    let orch = logs(&*run)["orch"].clone();
    for end in ["COMPLETED s1", "ABORTED s2", "ABORTED s3"] {
        assert!(orch.contains(&end.to_string()), "{orch:?}");
    }
    assert!(orch.contains(&"STEP-FAILED s3 charge: insufficient funds: 150 available".to_string()));
    assert_eq!(
        data(&*run),
        "stock: book 8, lamp 1 · balances: alice 200, bob 150, u999 500 · collected: 300 · shipments: sh-s1 created"
    );
}

#[test]
fn dirty_read_is_a_finding_not_a_violation() {
    let run = run_preset("saga/dirty_read");
    always_hold(&*run);
    let dirty = run.properties().into_iter().find(|p| p.id == "dirty_read").unwrap();
    assert_eq!(dirty.kind, PropertyKind::Sometimes);
    assert_eq!(
        dirty.message.as_deref(),
        Some("s2 was refused 1× lamp because s1 held it; s1 was then compensated and released it — s2 read data that never committed")
    );
    assert_eq!(
        logs(&*run)["inventory"][1],
        "REFUSED s2/reserve: out of stock: 0 lamp available, 1 wanted"
    );
    let refusal = select(&*run, &Sel::kind("persist").of("refused").at("inventory"))[0];
    assert!(refusal.narration.contains("held by s1") && refusal.narration.contains("dirty read"));
    // The lamp is back in stock, but s2 was already turned away.
    assert_eq!(field(&*run, "inventory", "stock"), "book 10, lamp 1");
    assert_eq!(decisions(&*run)["orch"], "ABORTED s1");
    assert!(logs(&*run)["orch"].contains(&"ABORTED s2".to_string()));
    // Without the compensation there is no finding: s1 completes, the refusal was true.
    let run = run_json(&saga(
        "",
        r#"{"at": 0, "request": {"user": "alice", "item": "lamp", "amount": 80}},
           {"at": 5, "request": {"user": "bob", "item": "lamp", "amount": 80}}"#,
        "",
    ));
    assert_eq!(verdicts(&*run)["dirty_read"], "not witnessed");
}

#[test]
fn choreography_happy_path_reaches_the_same_data_through_events() {
    let run = run_preset("saga/choreography_happy_path");
    always_hold(&*run);
    assert_eq!(run.nodes()[0].name, "broker");
    assert_eq!(
        logs(&*run)["broker"],
        [
            "#0 OrderPlaced(s1)",
            "#1 InventoryReserved(s1)",
            "#2 PaymentCharged(s1)",
            "#3 ShipmentCreated(s1)"
        ]
    );
    assert_eq!(decisions(&*run)["broker"], "COMPLETED s1");
    // The services are the same code in both modes: the same checkout, the same data.
    let orchestrated = run_preset("saga/happy_path");
    assert_eq!(data(&*run), data(&*orchestrated));
    assert_eq!(logs(&*run)["payment"], logs(&*orchestrated)["payment"]);
    assert_eq!(
        field(&*run, "broker", "saga s1"),
        "COMPLETED · OrderPlaced → InventoryReserved → PaymentCharged → ShipmentCreated"
    );
    // No commands: services only receive events and publish their own.
    assert_eq!(count(&*run, &Sel::kind("send").of("charge")), 0);
    assert_eq!(count(&*run, &Sel::kind("send").of("publish")), 3);
}

#[test]
fn choreography_failures_trigger_compensations_in_reverse_order() {
    let run = run_preset("saga/choreography_payment_fails");
    always_hold(&*run);
    assert_eq!(
        logs(&*run)["broker"],
        [
            "#0 OrderPlaced(s1)",
            "#1 InventoryReserved(s1)",
            "#2 PaymentFailed(s1)",
            "#3 InventoryReleased(s1)"
        ]
    );
    assert_eq!(
        field(&*run, "payment", "dedup s1/charge"),
        "refused: payment failed (fail_payment)"
    );
    assert_eq!(field(&*run, "inventory", "stock"), "book 10, lamp 1");

    let run = run_preset("saga/choreography_shipping_fails");
    always_hold(&*run);
    assert_eq!(
        logs(&*run)["broker"][3..],
        ["#3 ShipmentFailed(s1)", "#4 PaymentRefunded(s1)", "#5 InventoryReleased(s1)"]
    );
    assert_eq!(
        compensations(&*run),
        [
            "COMPENSATED s1/charge: undid charged 100 to alice",
            "COMPENSATED s1/reserve: undid reserved 1× book"
        ]
    );
    assert_eq!(decisions(&*run)["broker"], "ABORTED s1");
    assert_eq!(
        data(&*run),
        "stock: book 10, lamp 1 · balances: alice 500, bob 500, u999 500 · collected: 0 · shipments: none"
    );
}

#[test]
fn the_broker_redelivers_until_the_subscriber_reacts() {
    // payment crashes once InventoryReserved is logged: the broker delivers it again and
    // again; payment recovers, gets it, and the saga completes.
    let run = run_json(&saga(
        r#""mode": "choreographed""#,
        r#"{"request": {}}"#,
        r#"{"after": {"persisted": "inventory_reserved", "by": "broker"}, "crash": "payment"},
           {"at": 200, "recover": "payment"}"#,
    ));
    always_hold(&*run);
    assert!(count(&*run, &Sel::kind("drop").of("inventory_reserved").at("payment")) >= 2);
    assert_eq!(count(&*run, &Sel::kind("persist").of("applied").at("payment")), 1);
    assert_eq!(decisions(&*run)["broker"], "COMPLETED s1");
    let spans = run.blocked_spans();
    assert!(spans.iter().any(|s| s.why.contains("must reach payment, which is down")), "{spans:?}");
}

#[test]
fn compensation_waits_for_a_down_service_and_is_blocked_meanwhile() {
    // Shipping refuses; payment crashes before the refund: the orchestrator retries the
    // refund until payment recovers — a compensation never gives up.
    let run = run_json(&saga(
        r#""shipping_down": true"#,
        r#"{"request": {}}"#,
        r#"{"after": {"persisted": "step_failed", "by": "orch"}, "crash": "payment"},
           {"at": 400, "recover": "payment"}"#,
    ));
    always_hold(&*run);
    assert!(count(&*run, &Sel::kind("send").of("refund").at("orch")) >= 5, "{}", trace(&*run));
    assert_eq!(decisions(&*run)["orch"], "ABORTED s1");
    let spans = run.blocked_spans();
    assert!(
        spans.iter().any(|s| s
            .why
            .contains("s1 is compensating and must refund at payment, which is down")),
        "{spans:?}"
    );
    // The service's data is on its card while it is down (it lives in its log).
    let crash = select(&*run, &Sel::kind("crash").at("payment"))[0].id;
    let v = &run.views_at(Some(crash))[2];
    assert!(!v.up);
    assert_eq!(v.fields[0], ("balances".to_string(), "alice 400, bob 500, u999 500".to_string()));
}

#[test]
fn a_repeated_checkout_with_the_same_saga_id_starts_nothing() {
    let run = run_json(&saga(
        "",
        r#"{"at": 0, "request": {"saga": "order-7"}}, {"at": 3, "request": {"saga": "order-7"}}"#,
        "",
    ));
    always_hold(&*run);
    assert_eq!(count(&*run, &Sel::kind("persist").of("begin")), 1);
    assert_eq!(decisions(&*run)["orch"], "COMPLETED order-7");
    assert_eq!(field(&*run, "payment", "balances"), "alice 400, bob 500, u999 500");
}

#[test]
fn steps_may_run_in_another_order() {
    let run = run_json(&saga(
        r#""steps": ["ship", "reserve", "charge"]"#,
        r#"{"request": {"user": "u999"}}"#,
        "",
    ));
    always_hold(&*run);
    assert_eq!(
        compensations(&*run),
        [
            "COMPENSATED s1/reserve: undid reserved 1× book",
            "COMPENSATED s1/ship: undid created shipment sh-s1"
        ]
    );
    assert_eq!(field(&*run, "shipping", "shipments"), "sh-s1 cancelled");
}

#[test]
fn bad_saga_params_are_named() {
    let e = scenario_error(&saga(r#""mode": "choreographed", "steps": ["charge"]"#, "", ""));
    assert_eq!(e.path, "params.steps");
    let e = scenario_error(&saga(r#""steps": ["charge", "charge"]"#, "", ""));
    assert_eq!(e.to_string(), "params.steps[1]: \"charge\" is listed twice");
    let e = scenario_error(&saga(r#""retry_ticks": 0"#, "", ""));
    assert_eq!(e.path, "params.retry_ticks");
    let e = scenario_error(&saga("", r#"{"request": {"amount": -3}}"#, ""));
    assert!(e.path.starts_with("requests[0].request"), "{e}");
}

// ---- random sweeps ----

/// A random schedule from the engine's generator (crashes, recoveries, partitions, cuts,
/// loss, drops, duplicates), plus one delayed message, with its requests replaced by
/// several different checkouts: users that pay, u999 who is declined, the scarce lamp,
/// amounts that overdraw or hit 99999, `fail_payment`, `fail_shipping`.
pub fn varied_scenario<P: Protocol>(base: &Scenario, seed: u64, cfg: &SweepConfig) -> Scenario {
    let mut s = random_scenario::<P>(base, seed, cfg);
    let mut rng = Rng::new(seed ^ 0x5A6A);
    let n = 2 + rng.below(3);
    s.requests = (0..n)
        .map(|_| {
            let user = ["alice", "bob", "u999"][rng.below(3) as usize];
            let item = ["book", "lamp"][rng.below(2) as usize];
            let amount = [50, 100, 300, 99_999][rng.below(4) as usize];
            let mut req = serde_json::json!({
                "user": user, "item": item, "qty": 1 + rng.below(2), "amount": amount,
            });
            if rng.below(6) == 0 {
                req["fail_payment"] = serde_json::json!(true);
            }
            if rng.below(6) == 0 {
                req["fail_shipping"] = serde_json::json!(true);
            }
            RequestSpec { at: rng.below(cfg.fault_ticks / 2), node: None, request: req }
        })
        .collect();
    let kind = P::MSG_KINDS[rng.below(P::MSG_KINDS.len() as u64) as usize];
    s.faults.push(FaultSpec {
        delay: Some(MsgSpec {
            kind: Some(kind.to_string()),
            nth: Some(1 + rng.below(2) as u32),
            ticks: Some(50 + rng.below(250)),
            ..MsgSpec::default()
        }),
        ..FaultSpec::default()
    });
    s
}

/// Runs one schedule: the sometimes-properties it witnessed, or what broke (a safety
/// property, or liveness: every saga must end once the faults stop).
pub fn check_schedule<P: Protocol>(s: &Scenario) -> Result<(u64, Vec<&'static str>), String> {
    let mut sim = Simulator::<P>::from_scenario(s).map_err(|e| e.to_string())?;
    let end = sim.run_to_end();
    let mut witnessed = Vec::new();
    for (spec, v) in P::PROPERTIES.iter().zip(sim.verdicts()) {
        match (spec.kind, &v.first) {
            (PropertyKind::Always, Some((at, msg))) => {
                return Err(format!("{} violated at event {at}: {msg}", spec.id))
            }
            (PropertyKind::Sometimes, Some(_)) => witnessed.push(spec.id),
            _ => {}
        }
    }
    if end != RunEnd::Quiescent {
        return Err(format!("did not settle: the run ended by {end:?}"));
    }
    P::settled(&sim.world).map_err(|e| format!("not live after healing: {e}"))?;
    Ok((u64::from(sim.events_so_far()), witnessed))
}

/// Sweeps seeds `1..=count`: events simulated and how often each sometimes-property was
/// witnessed; panics with the seed and scenario of the first failure.
pub fn sweep_varied<P: Protocol>(base: &str, count: u64) -> (u64, BTreeMap<&'static str, u64>) {
    let base = Scenario::from_json(base).expect("the base scenario is valid");
    let cfg = SweepConfig::default();
    let mut events = 0;
    let mut witnessed = BTreeMap::new();
    for seed in 1..=count {
        let s = varied_scenario::<P>(&base, seed, &cfg);
        match check_schedule::<P>(&s) {
            Ok((n, w)) => {
                events += n;
                for id in w {
                    *witnessed.entry(id).or_insert(0) += 1;
                }
            }
            Err(e) => panic!("seed {seed}: {e}\nreproduce with this scenario:\n{}", s.to_json()),
        }
    }
    (events, witnessed)
}

const SCHEDULES: u64 = 3_000;

#[test]
fn orchestrated_sweep_is_safe_and_every_saga_ends() {
    let (events, w) = sweep_varied::<Saga>(
        r#"{"version": 1, "protocol": "saga", "params": {"mode": "orchestrated"}, "requests": [{"request": {}}]}"#,
        SCHEDULES,
    );
    eprintln!("orchestrated sweep: {SCHEDULES} schedules, {events} events, witnessed {w:?}");
    assert!(events > SCHEDULES * 40, "{events}");
    // Not vacuous: the schedules complete, compensate, dedup and read dirty.
    for id in ["saga_completes", "saga_compensates", "dedup_hit", "dirty_read"] {
        assert!(w.get(id).copied().unwrap_or(0) > SCHEDULES / 50, "{id}: {w:?}");
    }
}

#[test]
fn choreographed_sweep_is_safe_and_every_saga_ends() {
    let (events, w) = sweep_varied::<Saga>(
        r#"{"version": 1, "protocol": "saga", "params": {"mode": "choreographed"}, "requests": [{"request": {}}]}"#,
        SCHEDULES,
    );
    eprintln!("choreographed sweep: {SCHEDULES} schedules, {events} events, witnessed {w:?}");
    for id in ["saga_completes", "saga_compensates", "dedup_hit", "dirty_read"] {
        assert!(w.get(id).copied().unwrap_or(0) > SCHEDULES / 50, "{id}: {w:?}");
    }
}

#[test]
fn the_sweep_catches_double_effects_without_dedup_tables() {
    // The same sweep with the dedup tables off must fail: the monitors are not vacuous.
    let base = Scenario::from_json(
        r#"{"version": 1, "protocol": "saga", "params": {"idempotency": false}, "requests": [{"request": {}}]}"#,
    )
    .unwrap();
    let cfg = SweepConfig::default();
    let broken = (1..=200)
        .filter_map(|seed| {
            check_schedule::<Saga>(&varied_scenario::<Saga>(&base, seed, &cfg)).err()
        })
        .collect::<Vec<_>>();
    assert!(broken.iter().any(|e| e.starts_with("no_double_effect")), "{broken:?}");
}
