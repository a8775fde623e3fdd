//! The course's JSON-lines harness ("The Coordinator" track; see shared/HARNESS.md), as a
//! pure session: one line in, zero or more lines out. `commitscope harness` wires it to
//! stdin/stdout. Every transaction runs in virtual time (1 tick = 1 ms), so the answer is
//! immediate whatever timeouts the case names.
//!
//! Bad lines get an `error` reply (Maelstrom codes: 10 not supported, 12 malformed
//! request, 22 precondition failed) and the session keeps going.
//!
//! `init` picks the protocol: three-phase commit unless it says `"protocol": "2pc"`.
//! `txn_begin` runs one transaction with the case's participants (the i-th name in the
//! list is the simulator's `p<i>`) and a transfer (the largest in `operations`; above
//! 100000, e.g. the course's failing 999999, every participant votes no). It answers
//! `txn_begin_ok` with `txn_id` `txn<k>` (k counts the session's transactions), and then:
//! - 3PC: one `have_committed` line per participant that committed *by its own timeout*,
//!   `{"src": p, "dest": <txn_begin's src>, "body": {"type": "have_committed", "src": p,
//!   "txn_id": ..., "recovery": "timeout", "msg_id": k}}`, in virtual-time order. Decisions
//!   reached otherwise (DoCommit, DoAbort, an abort by timeout) print nothing: the course
//!   names no message for them; `commitscope harness --trace` shows the whole run.
//! - 2PC: nothing more (prepared participants of a crashed coordinator stay blocked).
//!
//! 3PC runs use one latency for every message (10 ms), so participants that reach the same
//! state in the same step also time out in participant order, as the course lists them.
//!
//! Fields of `txn_begin`:
//! - `crash_coordinator_after`: the coordinator crashes once it has sent the named message
//!   to every participant. 2PC: `prepare`, `commit`. 3PC: `can_commit`, `prepare` (the
//!   same moment: 3PC's first phase is 2PC's prepare, and the course uses that word for
//!   the crash "after the votes are requested"), `pre_commit`, `do_commit`.
//! - `participant_timeout_ms`: 3PC's participant timeout; 2PC's in-doubt query period.
//! - `partition_after` (a phase name as above) with `partitioned_participants` (names
//!   from the participant list) and `timeout_ms`: once the coordinator has sent that phase's
//!   message to everyone, the listed participants are cut off from the coordinator and the
//!   others (messages still in flight to them are lost). `timeout_ms` is the participant
//!   timeout when `participant_timeout_ms` is absent.
//! - `termination` (a CommitScope extension, 3PC only): `"timeout"` (the course's rule,
//!   the default) or `"elect"` (Skeen's termination protocol).
//!
//! Sagas (the `saga` protocol; no `init` needed, or `init` with `"protocol": "saga"` and an
//! optional `"mode"`, which sets the session's default mode). Each saga runs to its end in
//! virtual time; its messages come out in virtual-time order, from the `dest` of the
//! request (e.g. `orchestrator`) to its `src`.
//! - `saga_begin` with `steps` (names: `reserve_inventory`, `charge_payment`,
//!   `create_shipment`, or the services `inventory`, `payment`, `shipping`; a step may be an
//!   object `{"name": ..., "fail": true}`, which makes it fail), an optional `saga_id`
//!   (default `saga<k>`), and the order: `user` (or `user_id`), `amount`, `item`, `qty`,
//!   `fail_payment`. It answers `saga_begin_ok` with `saga_id` and `"status": "PENDING"` (the
//!   status once BEGIN is in the saga log), then: `step_complete` (`saga_id`, `step`) per
//!   step done; on a failure `step_failed` (`saga_id`, `step`, `reason`, `"status":
//!   "COMPENSATING"`) and one `compensate` (`saga_id`, `step`, `compensation`) per step
//!   compensated, in the order they were (reverse); finally `saga_complete` (`"status":
//!   "COMPLETED"`) or `saga_aborted` (`"status": "ABORTED"`, `reason`). A `saga_begin` with
//!   a `saga_id` the session has run already is answered `saga_begin_ok` with that saga's
//!   final status, and nothing runs again (idempotency on the saga id).
//! - The course's failure triggers: payment fails for user `u999`, for amount 99999, and
//!   with `fail_payment: true` (both modes). Any other user has an account of 1000 (alice,
//!   bob: 500), any item a stock of 10 (lamp: 1). A failing `reserve_inventory` asks for more
//!   than the stock; a failing `create_shipment` finds shipping unavailable.
//! - `mode`: `"orchestration"` (the default) or `"choreography"` (events through a broker;
//!   the steps must be the checkout's three, in order). CommitScope extensions:
//!   `crash_orchestrator_after` (a step name: the orchestrator crashes once that step is in
//!   its log, and recovers `recover_after_ms` later, default 100, resuming from its log)
//!   and `duplicate_steps` (step names whose command is delivered twice: the service
//!   answers the copy from its dedup table; nothing changes in the output).
//! - `checkout` (the same fields, `order_id` for the saga id, default `order<k>`) runs the
//!   checkout saga (reserve, charge, ship) and answers `checkout_complete` (`order_id`,
//!   `"status": "COMPLETED"`) or `checkout_failed` (`order_id`, `"status": "ABORTED"`,
//!   `reason`, `compensated`: the compensations run, in order).

use crate::common::Outcome;
use crate::saga::{self, OrchRecord, Record as SagaRecord, Saga, Status, Step, Topic};
use crate::three_pc::{Basis, ThreePc};
use crate::two_pc::TwoPc;
use commitscope_engine::erased::{AnyRun, Recorded};
use commitscope_engine::{EventKind, Scenario};
use serde_json::{json, Map, Value};

/// The course's wall-clock limit for a case; virtual runs stop there too.
const CASE_LIMIT_TICKS: u64 = 7_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CourseProtocol {
    TwoPc,
    ThreePc,
}

#[derive(Default)]
pub struct Session {
    protocol: Option<CourseProtocol>,
    participants: Vec<String>,
    next_msg_id: u64,
    txns: u32,
    /// The last transaction's run, for `--trace`.
    pub last_run: Option<Box<dyn AnyRun>>,
    /// `init` with `"protocol": "saga"`: the default saga mode.
    saga_mode: Option<saga::Mode>,
    sagas: u32,
    /// Each saga's final status, failure reason and compensations, by saga id.
    saga_results:
        commitscope_engine::vecmap::VecMap<String, (Status, Option<String>, Vec<&'static str>)>,
}

struct Request<'a> {
    src: &'a str,
    dest: &'a str,
    body: &'a Map<String, Value>,
}

#[derive(Debug)]
struct Error {
    code: u32,
    text: String,
}

fn malformed(text: impl Into<String>) -> Error {
    Error { code: 12, text: text.into() }
}

impl Session {
    /// Handles one input line and returns the lines to print.
    pub fn handle(&mut self, line: &str) -> Vec<String> {
        let parsed: Result<Value, _> = serde_json::from_str(line);
        let value = match parsed {
            Ok(v) => v,
            Err(e) => return vec![self.orphan_error(malformed(format!("not JSON: {e}")))],
        };
        let request = match parse_envelope(&value) {
            Ok(r) => r,
            Err(e) => return vec![self.orphan_error(e)],
        };
        let in_reply_to = request.body.get("msg_id").cloned();
        let result = match request.body.get("type").and_then(Value::as_str) {
            Some("init") => self.init(&request),
            Some("txn_begin") => self.txn_begin(&request),
            Some("saga_begin") => self.saga(&request, SagaCall::Begin),
            Some("checkout") => self.saga(&request, SagaCall::Checkout),
            Some(other) => {
                Err(Error { code: 10, text: format!("unsupported message type \"{other}\"") })
            }
            None => Err(malformed("the body has no \"type\"")),
        };
        match result {
            Ok(lines) => lines,
            Err(e) => {
                let mut body = json!({"type": "error", "code": e.code, "text": e.text});
                if let Some(id) = in_reply_to {
                    body["in_reply_to"] = id;
                }
                vec![self.reply(request.dest, request.src, body)]
            }
        }
    }

    fn next_id(&mut self) -> u64 {
        let id = self.next_msg_id;
        self.next_msg_id += 1;
        id
    }

    fn reply(&mut self, src: &str, dest: &str, mut body: Value) -> String {
        body["msg_id"] = json!(self.next_id());
        json!({"src": src, "dest": dest, "body": body}).to_string()
    }

    fn orphan_error(&mut self, e: Error) -> String {
        self.reply(
            "commitscope",
            "client",
            json!({"type": "error", "code": e.code, "text": e.text}),
        )
    }

    fn init(&mut self, r: &Request<'_>) -> Result<Vec<String>, Error> {
        if r.body.get("protocol").and_then(Value::as_str) == Some("saga") {
            self.saga_mode = Some(saga_mode(r.body)?.unwrap_or_default());
            let body = json!({"type": "init_ok", "in_reply_to": r.body.get("msg_id")});
            return Ok(vec![self.reply(r.dest, r.src, body)]);
        }
        let protocol = match r.body.get("protocol").map(|p| p.as_str()) {
            None => CourseProtocol::ThreePc,
            Some(Some("2pc")) => CourseProtocol::TwoPc,
            Some(Some("3pc")) => CourseProtocol::ThreePc,
            Some(_) => return Err(malformed("\"protocol\" must be \"2pc\", \"3pc\" or \"saga\"")),
        };
        let participants = participants(r.body)?
            .ok_or_else(|| malformed("init needs \"participants\": a list of 1 to 16 names"))?;
        self.protocol = Some(protocol);
        self.participants = participants;
        let body = json!({"type": "init_ok", "in_reply_to": r.body.get("msg_id")});
        Ok(vec![self.reply(r.dest, r.src, body)])
    }

    fn txn_begin(&mut self, r: &Request<'_>) -> Result<Vec<String>, Error> {
        let protocol =
            self.protocol.ok_or(Error { code: 22, text: "send init before txn_begin".into() })?;
        let names = participants(r.body)?.unwrap_or_else(|| self.participants.clone());
        let transfer = largest_transfer(r.body)?;
        let timeout = match positive(r.body, "participant_timeout_ms")? {
            Some(t) => Some(t),
            None => positive(r.body, "timeout_ms")?,
        };
        let n = names.len();
        let (first, crash_phases, timeout_param): (&str, &[&str], &str) = match protocol {
            CourseProtocol::TwoPc => ("2PC", &["prepare", "commit"], "in_doubt_timeout_ticks"),
            CourseProtocol::ThreePc => (
                "3PC",
                &["can_commit", "prepare", "pre_commit", "do_commit"],
                "participant_timeout_ticks",
            ),
        };
        // A phase name -> the trigger "the coordinator has sent that message to everyone".
        let phase_trigger = |field: &str| -> Result<Option<Value>, Error> {
            let phase = match r.body.get(field) {
                None => return Ok(None),
                Some(Value::String(s)) => s.as_str(),
                Some(_) => return Err(malformed(format!("\"{field}\" must be a phase name"))),
            };
            if !crash_phases.contains(&phase) {
                return Err(malformed(format!(
                    "{first} {field} \"{phase}\" is unknown (known: {})",
                    crash_phases.join(", ")
                )));
            }
            let kind = match (protocol, phase) {
                (CourseProtocol::ThreePc, "prepare") => "can_commit",
                (_, kind) => kind,
            };
            Ok(Some(json!({"sent": kind, "by": "coord", "count": n})))
        };
        let crash = phase_trigger("crash_coordinator_after")?;
        let partition = match phase_trigger("partition_after")? {
            None => None,
            Some(after) => {
                let cut = partitioned(r.body, &names)?;
                let rest: Vec<String> = std::iter::once("coord".to_string())
                    .chain((1..=n).filter(|i| !cut.contains(i)).map(|i| format!("p{i}")))
                    .collect();
                let cut: Vec<String> = cut.iter().map(|i| format!("p{i}")).collect();
                Some(json!({"after": after, "partition": [rest, cut]}))
            }
        };
        let mut params = json!({"participants": n});
        if let Some(t) = timeout {
            params[timeout_param] = json!(t);
        }
        let name = match protocol {
            CourseProtocol::TwoPc => "two_pc",
            CourseProtocol::ThreePc => "three_pc",
        };
        match (protocol, r.body.get("termination")) {
            (_, None) => {}
            (CourseProtocol::ThreePc, Some(Value::String(t))) if t == "timeout" || t == "elect" => {
                params["termination"] = json!(t)
            }
            _ => {
                return Err(malformed(
                    "\"termination\" is \"timeout\" or \"elect\", and only for 3PC",
                ))
            }
        }
        let mut faults = Vec::new();
        if let Some(after) = crash {
            faults.push(json!({"after": after, "crash": "coord"}));
        }
        faults.extend(partition);
        let mut scenario = json!({
            "version": 1, "protocol": name, "seed": 1, "params": params,
            "requests": [{"at": 0, "request": {"transfer": transfer}}],
            "faults": faults,
            "limits": {"max_ticks": CASE_LIMIT_TICKS, "max_events": 100_000},
        });
        if protocol == CourseProtocol::ThreePc {
            // One latency for every message: participants that reach the same state at the
            // same step time out in participant order, as the course's example lists them.
            scenario["network"] = json!({"latency_ticks_min": 10, "latency_ticks_max": 10});
        }
        let scenario =
            Scenario::from_json(&scenario.to_string()).map_err(|e| malformed(e.to_string()))?;
        self.txns += 1;
        let txn_id = format!("txn{}", self.txns);
        let body =
            json!({"type": "txn_begin_ok", "in_reply_to": r.body.get("msg_id"), "txn_id": txn_id});
        let mut lines = vec![self.reply(r.dest, r.src, body)];
        match protocol {
            CourseProtocol::TwoPc => {
                // Prepared participants of a crashed coordinator stay blocked and announce
                // nothing; the outcome of a normal run is visible in the trace (`--trace`).
                let run =
                    Recorded::<TwoPc>::new(&scenario).map_err(|e| malformed(e.to_string()))?;
                self.last_run = Some(Box::new(run));
            }
            CourseProtocol::ThreePc => {
                let run =
                    Recorded::<ThreePc>::new(&scenario).map_err(|e| malformed(e.to_string()))?;
                // Events are in virtual-time order already.
                let by_timeout: Vec<usize> = run
                    .run()
                    .events
                    .iter()
                    .filter_map(|e| match (&e.kind, e.node) {
                        (EventKind::Decide { decision }, Some(node))
                            if decision.basis == Basis::ParticipantTimeout
                                && decision.outcome == Outcome::Commit =>
                        {
                            Some(node.0 as usize)
                        }
                        _ => None,
                    })
                    .collect();
                for node in by_timeout {
                    let p = names[node - 1].clone();
                    let body = json!({"type": "have_committed", "src": p, "txn_id": txn_id,
                                      "recovery": "timeout"});
                    lines.push(self.reply(&p, r.src, body));
                }
                self.last_run = Some(Box::new(run));
            }
        }
        Ok(lines)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SagaCall {
    Begin,
    Checkout,
}

/// `mode`: "orchestration" / "orchestrated" or "choreography" / "choreographed".
fn saga_mode(body: &Map<String, Value>) -> Result<Option<saga::Mode>, Error> {
    match body.get("mode") {
        None => Ok(None),
        Some(Value::String(m)) if m == "orchestration" || m == "orchestrated" => {
            Ok(Some(saga::Mode::Orchestrated))
        }
        Some(Value::String(m)) if m == "choreography" || m == "choreographed" => {
            Ok(Some(saga::Mode::Choreographed))
        }
        Some(_) => Err(malformed("\"mode\" is \"orchestration\" or \"choreography\"")),
    }
}

fn step_names() -> String {
    Step::ALL.iter().map(|s| s.course_name()).collect::<Vec<_>>().join(", ")
}

/// A step named in a case (`"charge_payment"`, `"payment"`, ...).
fn parse_step(v: &Value) -> Result<Step, Error> {
    v.as_str()
        .and_then(Step::parse)
        .ok_or_else(|| malformed(format!("unknown step {v} (known: {})", step_names())))
}

impl Session {
    fn saga(&mut self, r: &Request<'_>, call: SagaCall) -> Result<Vec<String>, Error> {
        let b = r.body;
        let mode = saga_mode(b)?.or(self.saga_mode).unwrap_or_default();
        // The steps, and which of them fail.
        let mut steps = Vec::new();
        let mut failing = Vec::new();
        match (call, b.get("steps")) {
            (SagaCall::Checkout, Some(_)) => {
                return Err(malformed("checkout runs the checkout's steps: leave \"steps\" out"))
            }
            (SagaCall::Begin, None) => {
                return Err(malformed(format!(
                    "saga_begin needs \"steps\": a list of step names ({})",
                    step_names()
                )))
            }
            (SagaCall::Begin, Some(list)) => {
                let list = list.as_array().filter(|l| !l.is_empty()).ok_or_else(|| {
                    malformed(format!(
                        "\"steps\" must be a non-empty list of step names ({})",
                        step_names()
                    ))
                })?;
                for v in list {
                    let (name, fail) = match v {
                        Value::Object(o) => (
                            o.get("name").cloned().unwrap_or(Value::Null),
                            o.get("fail").and_then(Value::as_bool).unwrap_or(false),
                        ),
                        other => (other.clone(), false),
                    };
                    let step = parse_step(&name)?;
                    if steps.contains(&step) {
                        return Err(malformed(format!(
                            "step \"{}\" is listed twice",
                            step.course_name()
                        )));
                    }
                    steps.push(step);
                    if fail {
                        failing.push(step);
                    }
                }
            }
            (SagaCall::Checkout, None) => steps = Step::ALL.to_vec(),
        }
        if mode == saga::Mode::Choreographed && steps != Step::ALL {
            return Err(malformed(format!(
                "a choreographed saga runs the checkout's steps in order ({})",
                step_names()
            )));
        }
        let (id_field, prefix) = match call {
            SagaCall::Begin => ("saga_id", "saga"),
            SagaCall::Checkout => ("order_id", "order"),
        };
        let id = match b.get(id_field).or_else(|| b.get("saga_id")) {
            None => None,
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(_) => return Err(malformed(format!("\"{id_field}\" must be a string"))),
        };
        if let Some((status, reason, compensated)) =
            id.as_ref().and_then(|id| self.saga_results.get(id)).cloned()
        {
            // The saga ran already: answer with its status, run nothing again.
            let id = id.expect("a known id");
            let body = match call {
                SagaCall::Begin => json!({"type": "saga_begin_ok", "in_reply_to": b.get("msg_id"),
                                          "saga_id": id, "status": status.to_string()}),
                SagaCall::Checkout => checkout_reply(b, &id, status, reason, &compensated),
            };
            return Ok(vec![self.reply(r.dest, r.src, body)]);
        }
        let text = |field: &str, default: &str| -> Result<String, Error> {
            match b.get(field) {
                None => Ok(default.to_string()),
                Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
                Some(_) => Err(malformed(format!("\"{field}\" must be a non-empty string"))),
            }
        };
        let user = match b.get("user_id") {
            Some(_) => text("user_id", "alice")?,
            None => text("user", "alice")?,
        };
        let item = text("item", "book")?;
        let amount = match b.get("amount") {
            None => 100,
            Some(v) => v.as_u64().ok_or_else(|| malformed("\"amount\" must be a whole number"))?,
        };
        let qty = positive(b, "qty")?.unwrap_or(1);
        let flag = |field: &str| -> Result<bool, Error> {
            match b.get(field) {
                None => Ok(false),
                Some(Value::Bool(v)) => Ok(*v),
                Some(_) => Err(malformed(format!("\"{field}\" must be true or false"))),
            }
        };
        let fail_payment = flag("fail_payment")? || failing.contains(&Step::Charge);
        let fail_shipping = failing.contains(&Step::Ship);
        // A failing reservation asks for more than the stock holds.
        let qty = if failing.contains(&Step::Reserve) { 1_000_000 } else { qty };
        let id = id.unwrap_or_else(|| format!("{prefix}{}", self.sagas + 1));
        let mut request =
            json!({"saga": id, "user": user, "item": item, "qty": qty, "amount": amount});
        if fail_payment {
            request["fail_payment"] = json!(true);
        }
        if fail_shipping {
            request["fail_shipping"] = json!(true);
        }
        let mode_name = match mode {
            saga::Mode::Orchestrated => "orchestrated",
            saga::Mode::Choreographed => "choreographed",
        };
        // The course's users and items are whatever the case names: each gets an account
        // (1000) and a stock (10) unless the defaults already have one.
        let defaults = saga::Params::default();
        let mut balances = json!(defaults.balances);
        if !defaults.balances.contains_key(&user) {
            balances[&user] = json!(1000);
        }
        let mut stock = json!(defaults.stock);
        if !defaults.stock.contains_key(&item) {
            stock[&item] = json!(10);
        }
        let mut params = json!({"mode": mode_name, "balances": balances, "stock": stock});
        if mode == saga::Mode::Orchestrated {
            params["steps"] = json!(steps);
        }
        let mut faults = Vec::new();
        let mut recover_after = None;
        if let Some(v) = b.get("crash_orchestrator_after") {
            if mode != saga::Mode::Orchestrated {
                return Err(malformed(
                    "crash_orchestrator_after needs an orchestrator (mode orchestration)",
                ));
            }
            let step = parse_step(v)?;
            let count = steps.iter().position(|s| *s == step).ok_or_else(|| {
                malformed(format!(
                    "crash_orchestrator_after names \"{}\", which is not a step of this saga",
                    step.course_name()
                ))
            })? + 1;
            recover_after = Some(positive(b, "recover_after_ms")?.unwrap_or(100));
            faults.push(json!({"after": {"persisted": "step_done", "by": "orch", "count": count},
                               "crash": "orch"}));
        }
        if let Some(list) = b.get("duplicate_steps") {
            let list = list
                .as_array()
                .ok_or_else(|| malformed("\"duplicate_steps\" must be a list of step names"))?;
            for v in list {
                let step = parse_step(v)?;
                faults.push(json!({"duplicate": {"type": step.verb(), "nth": 1}}));
            }
        }
        let mut scenario = json!({
            "version": 1, "protocol": "saga", "seed": 1, "params": params,
            "requests": [{"at": 0, "request": request}],
            "faults": faults,
            "limits": {"max_ticks": CASE_LIMIT_TICKS, "max_events": 100_000},
        });
        let run_of = |scenario: &Value| -> Result<Recorded<Saga>, Error> {
            let s =
                Scenario::from_json(&scenario.to_string()).map_err(|e| malformed(e.to_string()))?;
            Recorded::<Saga>::new(&s).map_err(|e| malformed(e.to_string()))
        };
        let mut run = run_of(&scenario)?;
        if let Some(after) = recover_after {
            // Runs are deterministic: the crash happens at the same moment once a recovery
            // is added after it.
            let crashed = run.run().events.iter().find(|e| matches!(e.kind, EventKind::Crash));
            if let Some(crash) = crashed {
                scenario["faults"]
                    .as_array_mut()
                    .expect("a list")
                    .push(json!({"at": crash.time + after, "recover": "orch"}));
                run = run_of(&scenario)?;
            }
        }
        // What the course sees of the run, in virtual-time order.
        let mut notes: Vec<Value> = Vec::new();
        let mut status = Status::Pending;
        let mut reason: Option<String> = None;
        let mut compensated: Vec<&'static str> = Vec::new();
        for e in &run.run().events {
            let EventKind::Persist { record } = &e.kind else { continue };
            let (done, failed, undone, end): Seen = match record {
                SagaRecord::Orch(OrchRecord::StepDone { step, .. }) => {
                    (Some(*step), None, None, None)
                }
                SagaRecord::Orch(OrchRecord::StepFailed { step, reason, .. }) => {
                    (None, Some((*step, reason.clone())), None, None)
                }
                SagaRecord::Orch(OrchRecord::StepCompensated { step, .. }) => {
                    (None, None, Some(*step), None)
                }
                SagaRecord::Orch(OrchRecord::End { status, .. }) => {
                    (None, None, None, Some(*status))
                }
                SagaRecord::Event { event, .. } => {
                    let t = event.topic;
                    let why = event.reason.clone().unwrap_or_default();
                    match t {
                        Topic::OrderPlaced => (None, None, None, None),
                        Topic::InventoryReserved => (Some(Step::Reserve), None, None, None),
                        Topic::PaymentCharged => (Some(Step::Charge), None, None, None),
                        Topic::ShipmentCreated => {
                            (Some(Step::Ship), None, None, Some(Status::Completed))
                        }
                        Topic::InventoryFailed => {
                            (None, Some((Step::Reserve, why)), None, Some(Status::Aborted))
                        }
                        Topic::PaymentFailed => (None, Some((Step::Charge, why)), None, None),
                        Topic::ShipmentFailed => (None, Some((Step::Ship, why)), None, None),
                        Topic::PaymentRefunded => (None, None, Some(Step::Charge), None),
                        Topic::InventoryReleased => {
                            (None, None, Some(Step::Reserve), Some(Status::Aborted))
                        }
                    }
                }
                SagaRecord::Svc(_) | SagaRecord::Orch(OrchRecord::Begin { .. }) => continue,
            };
            if let Some(step) = done {
                if call == SagaCall::Begin {
                    notes.push(
                        json!({"type": "step_complete", "saga_id": id, "step": step.course_name()}),
                    );
                }
            }
            if let Some((step, why)) = failed {
                status = Status::Compensating;
                reason = Some(format!("{}: {why}", step.course_name()));
                if call == SagaCall::Begin {
                    notes.push(
                        json!({"type": "step_failed", "saga_id": id, "step": step.course_name(),
                                      "reason": why, "status": "COMPENSATING"}),
                    );
                }
            }
            if let Some(step) = undone {
                compensated.push(step.compensation_name());
                if call == SagaCall::Begin {
                    notes.push(
                        json!({"type": "compensate", "saga_id": id, "step": step.course_name(),
                                      "compensation": step.compensation_name()}),
                    );
                }
            }
            if let Some(end) = end {
                status = end;
                if call == SagaCall::Begin {
                    notes.push(match end {
                        Status::Completed => {
                            json!({"type": "saga_complete", "saga_id": id, "status": "COMPLETED"})
                        }
                        _ => json!({"type": "saga_aborted", "saga_id": id, "status": "ABORTED",
                                    "reason": reason.clone().unwrap_or_default()}),
                    });
                }
            }
        }
        self.sagas += 1;
        self.saga_results.insert(id.clone(), (status, reason.clone(), compensated.clone()));
        let mut lines = Vec::new();
        match call {
            SagaCall::Begin => {
                let body = json!({"type": "saga_begin_ok", "in_reply_to": b.get("msg_id"),
                                  "saga_id": id, "status": "PENDING"});
                lines.push(self.reply(r.dest, r.src, body));
                for body in notes {
                    lines.push(self.reply(r.dest, r.src, body));
                }
            }
            SagaCall::Checkout => {
                let body = checkout_reply(b, &id, status, reason, &compensated);
                lines.push(self.reply(r.dest, r.src, body));
            }
        }
        self.last_run = Some(Box::new(run));
        Ok(lines)
    }
}

/// What one saga-log record (or broker event) says: a step done, a step failed (and why),
/// a step compensated, the saga's end.
type Seen = (Option<Step>, Option<(Step, String)>, Option<Step>, Option<Status>);

/// `checkout_complete` or `checkout_failed`, in reply to the checkout `b`.
fn checkout_reply(
    b: &Map<String, Value>,
    id: &str,
    status: Status,
    reason: Option<String>,
    compensated: &[&str],
) -> Value {
    match status {
        Status::Completed => json!({"type": "checkout_complete", "in_reply_to": b.get("msg_id"),
                                    "order_id": id, "status": "COMPLETED"}),
        _ => json!({"type": "checkout_failed", "in_reply_to": b.get("msg_id"), "order_id": id,
                    "status": status.to_string(), "reason": reason.unwrap_or_default(),
                    "compensated": compensated}),
    }
}

/// An optional positive whole number.
fn positive(body: &Map<String, Value>, field: &str) -> Result<Option<u64>, Error> {
    match body.get(field) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .filter(|t| *t > 0)
            .map(Some)
            .ok_or_else(|| malformed(format!("\"{field}\" must be a positive whole number"))),
    }
}

/// `partitioned_participants` as 1-based indexes into the case's participant list.
fn partitioned(body: &Map<String, Value>, names: &[String]) -> Result<Vec<usize>, Error> {
    let bad = || {
        malformed(format!(
            "\"partitioned_participants\" must list some of the participants ({})",
            names.join(", ")
        ))
    };
    let list = body.get("partitioned_participants").and_then(Value::as_array).ok_or_else(bad)?;
    let mut cut = Vec::new();
    for v in list {
        let i = v.as_str().and_then(|p| names.iter().position(|n| n == p)).ok_or_else(bad)?;
        if !cut.contains(&(i + 1)) {
            cut.push(i + 1);
        }
    }
    if cut.is_empty() {
        return Err(bad());
    }
    cut.sort_unstable();
    Ok(cut)
}

fn parse_envelope(v: &Value) -> Result<Request<'_>, Error> {
    let obj = v.as_object().ok_or_else(|| malformed("a line must be a JSON object"))?;
    let field = |name: &str| {
        obj.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| malformed(format!("the message needs a string \"{name}\"")))
    };
    let (src, dest) = (field("src")?, field("dest")?);
    let body = obj
        .get("body")
        .and_then(Value::as_object)
        .ok_or_else(|| malformed("the message needs an object \"body\""))?;
    Ok(Request { src, dest, body })
}

fn participants(body: &Map<String, Value>) -> Result<Option<Vec<String>>, Error> {
    let Some(v) = body.get("participants") else { return Ok(None) };
    let names: Option<Vec<String>> =
        v.as_array().and_then(|a| a.iter().map(|p| p.as_str().map(String::from)).collect());
    match names {
        Some(names) if (1..=16).contains(&names.len()) => Ok(Some(names)),
        _ => Err(malformed("\"participants\" must be a list of 1 to 16 names")),
    }
}

/// The course's failure rule is a transfer of 999999: the largest transfer counts.
fn largest_transfer(body: &Map<String, Value>) -> Result<u64, Error> {
    let Some(ops) = body.get("operations") else { return Ok(100) };
    let ops = ops.as_array().ok_or_else(|| malformed("\"operations\" must be a list"))?;
    ops.iter().try_fold(0, |max, op| {
        let t = op
            .get("transfer")
            .and_then(Value::as_u64)
            .ok_or_else(|| malformed("each operation needs \"transfer\": a whole number"))?;
        Ok(max.max(t))
    })
}
