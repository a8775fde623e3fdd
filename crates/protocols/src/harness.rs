//! The course's JSON-lines harness ("The Coordinator" track; see shared/HARNESS.md), as a
//! pure session: one line in, zero or more lines out. `commitscope harness` wires it to
//! stdin/stdout. Every transaction runs in virtual time (1 tick = 1 ms), so the answer is
//! immediate whatever timeouts the case names.
//!
//! Bad lines get an `error` reply (Maelstrom codes: 10 not supported, 12 malformed
//! request, 22 precondition failed) and the session keeps going.
//!
//! `init` with `"protocol": "kv"` and `txn` run the transactional key-value store (below).
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
//!
//! The key-value store (the `kv` protocol) speaks Maelstrom's transactional workloads
//! (`txn-list-append`, `txn-rw-register`).
//! - `init` with `"protocol": "kv"` (or `"kv_store"`) sets up a new, empty store and answers
//!   `init_ok`. Optional: `shards` and `clients` (a count from 1 to 8, or a list of names
//!   whose length is the count: the store's nodes are always `s1`..`sS` and `c1`..`cC`),
//!   `workload` or `flavour` (`"list-append"` / `"txn-list-append"`, the default: reads
//!   return whole lists; `"rw-register"` / `"txn-rw-register"`: reads return one value), and
//!   the kv parameters `keys`, `partitioning`, `coordinator` (`"client"` or `"node"`),
//!   `deadlock`, `isolation`, `lock_free_reads`, `timeouts`, `commit_point` and the
//!   `*_ticks` timeouts (also spelt `*_ms`), as the kv scenario takes them (`-` reads as
//!   `_`: `"wait-die"`). A bad one is refused with the field it names. A `txn` with no kv
//!   `init` before it runs on the default store (2 shards, 2 clients, list-append).
//! - `txn` with `"txn": [["r", 1, null], ["w", 1, 6], ["append", 2, 9]]` runs the
//!   transaction and answers `txn_ok` with the same micro-operations, reads filled in
//!   (`["r", 1, 3]` or `null` for a register never written, `["r", 2, [4, 9]]` for a list,
//!   `[]` when empty), or `error` with `in_reply_to`, Maelstrom's `code` and a `text` that
//!   says why: 30 txn-conflict (a shard refused it on a lock, naming the holder, and saying
//!   so when that holder is prepared and in doubt there), 14 abort (2PC aborted it, a
//!   shard timed it out), 11 temporarily unavailable (its shards did not all answer in
//!   time; or its client is down or still busy, and then nothing ran). All three are
//!   definite: nothing was written. Indefinite outcomes (Jepsen's `:info`: it may have
//!   committed) are 0 timeout — the store's `Unknown` answer (the client gave up waiting
//!   for `coord`), or no answer within the case's 7000 ms — and 13 crash, when the client
//!   crashed with the transaction in flight.
//! - The client is chosen from `src`: `c<k>` is client k, and past the store's C clients
//!   client ((k - 1) mod C) + 1 (Maelstrom's clients are c1, c2, ... c14, ...); any other
//!   `src` (`n1`, `c0`) is c1.
//! - State carries over: the session keeps the kv scenario and adds each `txn` as a request
//!   to its client, at a virtual time after the last run has ended (every message
//!   delivered, every lock released; or the case's limit), then runs the whole scenario
//!   again — runs are pure functions of scenarios, and a later request does not change
//!   what happened before it, so earlier answers stay as they were given and the new one
//!   reads what they wrote. Transactions therefore run one after another: the format
//!   answers each line before it reads the next, so a transaction cannot overlap one that
//!   has not been sent yet. `last_run` is the session's whole run so far (built only when
//!   looked at: re-running costs time linear in the session, so a session of N
//!   transactions costs O(N²) simulated events; 300 take about 3 s).
//! - Malformed micro-operations (not `[f, key, value]`, a key that is not a non-negative
//!   integer, a value that is not an integer, a read whose value is not `null`) are
//!   refused with code 12; a function other than `r`, `w`, `append`, or one the store's
//!   workload does not use (`w` on list-append, `append` on rw-register), with code 10.
//!   Nothing runs and the session goes on. Unknown fields of `txn` are ignored.
//! - CommitScope extensions: `crash_coordinator_after` (`"prepare"` or `"commit"`): the
//!   transaction's coordinator (`coord`, or its client when the client coordinates)
//!   crashes once it has sent that message to all the transaction's shards (two or more);
//!   `recover_after_ms`: it recovers that much later (presumed abort finishes what it
//!   had not decided). Without a recovery the prepared shards keep their locks, and later
//!   transactions on those keys are refused (30) or wait.

use crate::common::{Outcome, TxnId};
use crate::kv::workload::{Flavour, Op};
use crate::kv::{self, Kv};
use crate::saga::{self, OrchRecord, Record as SagaRecord, Saga, Status, Step, Topic};
use crate::three_pc::{Basis, ThreePc};
use crate::two_pc::{commit, TwoPc};
use commitscope_engine::erased::{AnyRun, Recorded};
use commitscope_engine::vecmap::VecMap;
use commitscope_engine::{Event, EventKind, Kind, NodeId, Scenario, Simulator, Time};
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
    /// The key-value store `txn` runs on (`init` with `"protocol": "kv"`, or the default
    /// store at the first `txn`).
    kv: Option<KvStore>,
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
            Some("txn") => self.kv_txn(&request),
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
        if matches!(r.body.get("protocol").and_then(Value::as_str), Some("kv" | "kv_store")) {
            self.kv = Some(KvStore::from_init(r.body)?);
            let body = json!({"type": "init_ok", "in_reply_to": r.body.get("msg_id")});
            return Ok(vec![self.reply(r.dest, r.src, body)]);
        }
        if r.body.get("protocol").and_then(Value::as_str) == Some("saga") {
            self.saga_mode = Some(saga_mode(r.body)?.unwrap_or_default());
            let body = json!({"type": "init_ok", "in_reply_to": r.body.get("msg_id")});
            return Ok(vec![self.reply(r.dest, r.src, body)]);
        }
        let protocol = match r.body.get("protocol").map(|p| p.as_str()) {
            None => CourseProtocol::ThreePc,
            Some(Some("2pc")) => CourseProtocol::TwoPc,
            Some(Some("3pc")) => CourseProtocol::ThreePc,
            Some(_) => {
                return Err(malformed("\"protocol\" must be \"2pc\", \"3pc\", \"saga\" or \"kv\""))
            }
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

// ---- The key-value store (`kv`): Maelstrom's transactional workloads ----------------------

/// Virtual ticks between the end of one run (the store quiet again) and the next `txn`.
const KV_GAP_TICKS: Time = 10;
/// However many transactions a session holds, its runs stop after this many events.
const KV_MAX_EVENTS: u32 = 1_000_000;

/// The kv parameters `init` passes through as they are. In a string value `-` reads as `_`
/// (`"wait-die"` is `wait_die`); a `*_ticks` one may be written `*_ms` (1 tick = 1 ms).
const KV_PASS: &[&str] = &[
    "keys",
    "partitioning",
    "coordinator",
    "deadlock",
    "isolation",
    "lock_free_reads",
    "timeouts",
    "commit_point",
    "exec_timeout_ticks",
    "unprepared_timeout_ticks",
    "client_timeout_ticks",
    "lock_ttl_ticks",
    "vote_timeout_ticks",
    "resend_ticks",
    "in_doubt_timeout_ticks",
];

const TXN_EXAMPLE: &str = r#"[["r", 1, null], ["w", 1, 6], ["append", 2, 9]]"#;

/// What a client was doing when the session's last run ended.
#[derive(Clone, Copy, Debug)]
enum ClientEnd {
    /// Free: its next transaction will be this one.
    Idle(TxnId),
    /// Still running this one.
    Busy(TxnId),
    /// Down since this virtual time.
    Down(Time),
}

/// The store a session's `txn`s run on: the kv scenario so far (each transaction a request
/// to its client, one after another in virtual time, and the faults they asked for) and
/// what its last run left.
struct KvStore {
    params: Value,
    p: kv::Params,
    requests: Vec<Value>,
    faults: Vec<Value>,
    /// When the next transaction starts: once the last run has ended (quiet, or at its
    /// limit) and every fault the session scheduled has happened.
    next_at: Time,
    /// Client k's end state at index k - 1.
    clients: Vec<ClientEnd>,
    /// Messages sent so far, by (node, kind): a crash trigger counts on from there.
    sent: VecMap<(u32, &'static str), u32>,
}

impl KvStore {
    /// The store `init` asks for (`shards`, `clients`, `workload` or `flavour`, and the
    /// parameters of `KV_PASS`).
    fn from_init(b: &Map<String, Value>) -> Result<KvStore, Error> {
        let mut params = Map::new();
        for field in ["shards", "clients"] {
            let count = match b.get(field) {
                None => continue,
                Some(Value::Array(names)) if names.iter().all(Value::is_string) => {
                    json!(names.len())
                }
                Some(v) if v.is_u64() => v.clone(),
                Some(_) => {
                    return Err(malformed(format!(
                        "\"{field}\" is a count (1 to 8) or a list of names like [\"s1\", \"s2\"]"
                    )))
                }
            };
            params.insert(field.to_string(), count);
        }
        let flavour = match (b.get("workload"), b.get("flavour")) {
            (Some(v), _) | (None, Some(v)) => Some(v),
            (None, None) => None,
        };
        if let Some(v) = flavour {
            let name = v.as_str().map(|s| s.strip_prefix("txn-").unwrap_or(s).replace('-', "_"));
            let flavour =
                match name.as_deref() {
                    Some("list_append") => "list_append",
                    Some("rw_register") => "rw_register",
                    _ => return Err(malformed(
                        "\"workload\" is \"list-append\" or \"rw-register\" (or txn-list-append, \
                         txn-rw-register)",
                    )),
                };
            params.insert("flavour".into(), json!(flavour));
        }
        for name in KV_PASS {
            let ms = name.strip_suffix("_ticks").map(|stem| format!("{stem}_ms"));
            let Some(v) = b.get(*name).or_else(|| ms.and_then(|ms| b.get(&ms))) else { continue };
            let v = match v {
                Value::String(s) => json!(s.replace('-', "_")),
                other => other.clone(),
            };
            params.insert(name.to_string(), v);
        }
        KvStore::new(Value::Object(params))
    }

    /// A store with these kv parameters, checked the way a run checks them.
    fn new(params: Value) -> Result<KvStore, Error> {
        let mut store = KvStore {
            params,
            p: kv::Params::default(),
            requests: Vec::new(),
            faults: Vec::new(),
            next_at: 0,
            clients: Vec::new(),
            sent: VecMap::new(),
        };
        let scenario = store.scenario(&[], &[], CASE_LIMIT_TICKS)?;
        Simulator::<Kv>::from_scenario(&scenario).map_err(|e| malformed(e.to_string()))?;
        store.p = serde_json::from_value(store.params.clone())
            .map_err(|e| malformed(format!("params: {e}")))?;
        store.clients = (1..=store.p.clients)
            .map(|k| ClientEnd::Idle(TxnId { epoch: 1, seq: 1, client: k }))
            .collect();
        Ok(store)
    }

    fn scenario(
        &self,
        requests: &[Value],
        faults: &[Value],
        max_ticks: Time,
    ) -> Result<Scenario, Error> {
        let scenario = json!({
            "version": 1, "protocol": "kv", "seed": 1, "params": self.params,
            // One latency for every message, as in the 3PC cases: times read as hops.
            "network": {"latency_ticks_min": 10, "latency_ticks_max": 10},
            "requests": requests, "faults": faults,
            "limits": {"max_ticks": max_ticks, "max_events": KV_MAX_EVENTS},
        });
        Scenario::from_json(&scenario.to_string()).map_err(|e| malformed(e.to_string()))
    }

    /// Runs `ops` as client k's next transaction after everything before it, and returns
    /// the reply's body and the run's scenario. The store keeps the transaction (and its
    /// faults) only if it ran.
    fn txn(
        &mut self,
        b: &Map<String, Value>,
        k: u32,
        ops: Vec<Op>,
    ) -> Result<(Value, Scenario), Error> {
        let p = &self.p;
        let client = format!("c{k}");
        let txn = match self.clients.get(k as usize - 1).copied() {
            Some(ClientEnd::Idle(t)) => t,
            Some(ClientEnd::Busy(t)) => {
                return Err(Error {
                    code: 11,
                    text: format!(
                        "temporarily unavailable: {client} is still running {t} (a client runs \
                         one transaction at a time, and that one has not ended); nothing ran"
                    ),
                })
            }
            Some(ClientEnd::Down(since)) => {
                return Err(Error {
                    code: 11,
                    text: format!(
                        "temporarily unavailable: {client} is down (it crashed at t={since} and \
                         has not recovered); nothing ran"
                    ),
                })
            }
            None => return Err(malformed(format!("no client {client}"))),
        };
        let (manager, manager_name) = match p.coordinator {
            kv::CoordinatorAt::Node => (NodeId(p.clients), "coord".to_string()),
            kv::CoordinatorAt::Client => (p.client_node(k), client.clone()),
        };
        let crash = match b.get("crash_coordinator_after") {
            None => None,
            Some(Value::String(kind)) if kind == "prepare" || kind == "commit" => {
                let mut shards: Vec<NodeId> = ops.iter().map(|o| p.shard_of(o.key())).collect();
                shards.sort();
                shards.dedup();
                if shards.len() < 2 {
                    return Err(malformed(
                        "crash_coordinator_after needs a transaction over two or more shards: \
                         this one's keys are on one shard, which commits it without 2PC",
                    ));
                }
                let kind: &'static str = if kind == "prepare" { "prepare" } else { "commit" };
                let before = self.sent.get(&(manager.0, kind)).copied().unwrap_or(0);
                let count = before + shards.len() as u32;
                Some(json!({"after": {"sent": kind, "by": manager_name, "count": count},
                            "crash": manager_name}))
            }
            Some(_) => {
                return Err(malformed(
                    "kv crash_coordinator_after is \"prepare\" or \"commit\": the \
                     transaction's coordinator crashes once it has sent that message to all \
                     its shards",
                ))
            }
        };
        let recover_after = positive(b, "recover_after_ms")?;
        if recover_after.is_some_and(|t| t > CASE_LIMIT_TICKS) {
            return Err(malformed(format!(
                "\"recover_after_ms\" must be from 1 to {CASE_LIMIT_TICKS} (the case's limit)"
            )));
        }
        let at = self.next_at;
        let max_ticks = at + CASE_LIMIT_TICKS;
        let mut requests = self.requests.clone();
        let request = kv::workload::TxnRequest { txn: ops };
        requests.push(json!({"at": at, "node": client, "request": request}));
        let mut faults = self.faults.clone();
        let crashing = crash.is_some();
        faults.extend(crash);
        let mut scenario = self.scenario(&requests, &faults, max_ticks)?;
        let mut run = KvRun::new(&scenario)?;
        if crashing {
            let crashed = run.events.iter().find(|e| {
                e.time >= at && e.node == Some(manager) && matches!(e.kind, EventKind::Crash)
            });
            match (crashed.map(|e| e.time), recover_after) {
                // It never fired (the transaction aborted before the message): the run is
                // the same without it, and it must not fire in a later transaction.
                (None, _) => {
                    faults.pop();
                    scenario = self.scenario(&requests, &faults, max_ticks)?;
                }
                (Some(t), Some(after)) => {
                    faults.push(json!({"at": t + after, "recover": manager_name}));
                    scenario = self.scenario(&requests, &faults, max_ticks)?;
                    run = KvRun::new(&scenario)?;
                }
                (Some(_), None) => {}
            }
        }
        let body = self.reply_body(b, &run, txn, k, at);
        self.remember(requests, faults, &run, max_ticks);
        Ok((body, scenario))
    }

    /// What the session keeps of a run: its scenario, when the next transaction starts,
    /// each client's state at the end, and the messages sent.
    fn remember(&mut self, requests: Vec<Value>, faults: Vec<Value>, run: &KvRun, max_ticks: Time) {
        let end = match run.sim.end() {
            Some(commitscope_engine::RunEnd::Quiescent) => run.events.last().map_or(0, |e| e.time),
            _ => max_ticks,
        };
        let last_fault = faults.iter().filter_map(|f| f.get("at")?.as_u64()).max().unwrap_or(0);
        self.next_at = end.max(last_fault) + KV_GAP_TICKS;
        self.requests = requests;
        self.faults = faults;
        let world = &run.sim.world;
        for (i, end) in self.clients.iter_mut().enumerate() {
            let k = i as u32 + 1;
            let slot = world.node(self.p.client_node(k));
            *end = match &slot.state {
                None => ClientEnd::Down(slot.down_since.unwrap_or(0)),
                Some(kv::State::Client(c)) => match &c.current {
                    Some((t, _)) => ClientEnd::Busy(*t),
                    None => ClientEnd::Idle(TxnId {
                        epoch: c.manager.epoch,
                        seq: c.manager.next_seq,
                        client: k,
                    }),
                },
                Some(_) => continue,
            };
        }
        self.sent.clear();
        for e in &run.events {
            if let (Some(node), EventKind::Send { msg, .. }) = (e.node, &e.kind) {
                *self.sent.entry((node.0, msg.kind())).or_default() += 1;
            }
        }
    }

    /// `txn_ok` with the reads filled in, or the `error` that says how `txn` ended.
    fn reply_body(
        &self,
        b: &Map<String, Value>,
        run: &KvRun,
        txn: TxnId,
        k: u32,
        at: Time,
    ) -> Value {
        let answer = run.events.iter().find_map(|e| match &e.kind {
            EventKind::Decide { decision: kv::Decision::Answer { txn: t, status, ops } }
                if *t == txn =>
            {
                Some((*status, ops))
            }
            _ => None,
        });
        let error = |code: u32, text: String| json!({"type": "error", "in_reply_to": b.get("msg_id"), "code": code, "text": text});
        match answer {
            Some((kv::Status::Committed, ops)) => {
                json!({"type": "txn_ok", "in_reply_to": b.get("msg_id"), "txn": ops})
            }
            Some((kv::Status::Aborted { code }, _)) => {
                error(code, self.why_aborted(run, txn, code))
            }
            Some((kv::Status::Unknown, _)) => error(
                0,
                format!(
                    "timeout: c{k} heard nothing from coord about {txn} for {} ms; it may or may \
                     not have committed",
                    self.p.client_timeout_ticks
                ),
            ),
            None => {
                let client = self.p.client_node(k);
                let crashed = run.events.iter().any(|e| {
                    e.time >= at && e.node == Some(client) && matches!(e.kind, EventKind::Crash)
                });
                if crashed {
                    error(
                        13,
                        format!(
                            "crash: c{k} crashed with {txn} in flight; it may or may not have \
                             committed"
                        ),
                    )
                } else {
                    error(
                        0,
                        format!(
                            "timeout: no answer to {txn} within {CASE_LIMIT_TICKS} ms; it may \
                             still commit"
                        ),
                    )
                }
            }
        }
    }

    /// Why `txn` was aborted, from the run: the shard that refused it (and, when the lock it
    /// met belongs to a prepared transaction still in doubt there, that too), the timeout
    /// that fired, the shard that voted no.
    fn why_aborted(&self, run: &KvRun, txn: TxnId, code: u32) -> String {
        let label = match code {
            30 => "txn-conflict",
            11 => "temporarily unavailable",
            _ => "abort",
        };
        let p = &self.p;
        let world = &run.sim.world;
        for (i, e) in run.events.iter().enumerate() {
            let at = e.node.map_or("", |n| world.name(n));
            let why = match &e.kind {
                EventKind::Send { msg: kv::Msg::Refused { txn: t, why }, .. } if *t == txn => {
                    let mut text = format!("{at} refused {txn}: {why}");
                    if let kv::Refusal::Conflict { with, .. } = why {
                        if in_doubt(&run.events[..i], e.node, *with) {
                            text.push_str(&format!(
                                ", which {at} holds in doubt: {with} is prepared there and its \
                                 outcome is unknown"
                            ));
                        }
                    }
                    text
                }
                EventKind::TimerFire { timer: kv::Timer::ExecTimeout { txn: t } } if *t == txn => {
                    format!(
                        "not every shard ran its part of {txn} within {} ms, so it was aborted",
                        p.exec_timeout_ticks
                    )
                }
                EventKind::Send { msg: kv::Msg::TwoPc(commit::Msg::VoteNo { txn: t }), .. }
                    if *t == txn =>
                {
                    format!("{at} voted no on {txn}, so 2PC aborted it")
                }
                EventKind::TimerFire {
                    timer: kv::Timer::TwoPc(commit::Timer::VoteTimeout { txn: t }),
                } if *t == txn => format!(
                    "not every shard voted on {txn} within {} ms, so 2PC aborted it",
                    p.vote_timeout_ticks
                ),
                _ => continue,
            };
            return format!("{label}: {why}; nothing was written");
        }
        format!("{label}: {txn} was aborted; nothing was written")
    }
}

/// Whether, after `events`, `node` has forced PREPARED for `txn` and decided nothing on it.
fn in_doubt(events: &[Event<Kv>], node: Option<NodeId>, txn: TxnId) -> bool {
    let mut prepared = false;
    for e in events.iter().filter(|e| e.node == node) {
        match &e.kind {
            EventKind::Persist {
                record: kv::Record::TwoPc(commit::Record::Prepared { txn: t, .. }),
            } if *t == txn => prepared = true,
            EventKind::Decide { decision: kv::Decision::Outcome(d) } if d.txn == txn => {
                prepared = false
            }
            EventKind::Crash => prepared = false,
            _ => {}
        }
    }
    prepared
}

/// One run of a session's kv scenario: its events and the simulator at the end. (Not a
/// `Recorded` run: the session re-runs its whole scenario for every transaction, and the
/// narration, snapshots and summary a `Recorded` run builds cost twenty times the
/// simulation; `LazyRun` builds them only for a run someone looks at.)
struct KvRun {
    events: Vec<Event<Kv>>,
    sim: Simulator<Kv>,
}

impl KvRun {
    fn new(scenario: &Scenario) -> Result<KvRun, Error> {
        let mut sim =
            Simulator::<Kv>::from_scenario(scenario).map_err(|e| malformed(e.to_string()))?;
        let mut events = Vec::new();
        while let Some(e) = sim.step() {
            events.push(e);
        }
        Ok(KvRun { events, sim })
    }
}

/// A recorded kv run built the first time it is looked at (`Session::last_run` is set
/// for every transaction, and most are never looked at).
struct LazyRun {
    scenario: Scenario,
    run: std::cell::OnceCell<Recorded<Kv>>,
}

impl LazyRun {
    fn get(&self) -> &Recorded<Kv> {
        self.run.get_or_init(|| {
            Recorded::<Kv>::new(&self.scenario)
                .expect("the session ran this scenario already, so it resolves")
        })
    }
}

impl AnyRun for LazyRun {
    fn scenario(&self) -> &Scenario {
        &self.scenario
    }
    fn protocol(&self) -> &'static str {
        <Kv as commitscope_engine::Protocol>::NAME
    }
    fn nodes(&self) -> &[commitscope_engine::NodeSpec] {
        self.get().nodes()
    }
    fn events(&self) -> &[commitscope_engine::erased::EventInfo] {
        self.get().events()
    }
    fn views_at(
        &self,
        at: Option<commitscope_engine::EventId>,
    ) -> Vec<commitscope_engine::NodeView> {
        self.get().views_at(at)
    }
    fn properties(&self) -> Vec<commitscope_engine::erased::PropertyInfo> {
        self.get().properties()
    }
    fn end(&self) -> commitscope_engine::RunEnd {
        self.get().end()
    }
    fn blocked_spans(&self) -> &[commitscope_engine::BlockedSpan] {
        self.get().blocked_spans()
    }
    fn trace_hash(&self) -> u64 {
        self.get().trace_hash()
    }
    fn kinds(&self) -> commitscope_engine::erased::Kinds {
        self.get().kinds()
    }
    fn summary(&self) -> &commitscope_engine::Summary {
        self.get().summary()
    }
}

/// The client that runs a `txn` from `src`: `c<k>` is client k when the store has k
/// clients or more, else client ((k - 1) mod C) + 1 (Maelstrom numbers its clients on and
/// on: with two clients, c14 is c2); any other `src` (`n1`, `c0`, a name) is c1.
fn kv_client(src: &str, clients: u32) -> u32 {
    match src.strip_prefix('c').and_then(|n| n.parse::<u64>().ok()) {
        Some(n) if n >= 1 => ((n - 1) % u64::from(clients.max(1))) as u32 + 1,
        _ => 1,
    }
}

/// A JSON value, shortened for a message.
fn snippet(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() <= 40 {
        return text;
    }
    let short: String = text.chars().take(37).collect();
    format!("{short}...")
}

/// The micro-operations of a `txn` body. A shape that is not `[f, key, value]`, a key that
/// is not a non-negative integer or a value that is not an integer is malformed (12); a
/// function other than r, w, append, or one the store's workload does not use (w on a
/// list-append store, append on an rw-register one), is not supported (10).
fn kv_ops(b: &Map<String, Value>, flavour: kv::workload::Flavour) -> Result<Vec<Op>, Error> {
    let list = match b.get("txn") {
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(malformed(format!(
                "\"txn\" must be a list of micro-operations like {TXN_EXAMPLE}"
            )))
        }
        None => {
            return Err(malformed(format!(
                "a txn message needs \"txn\": a list of micro-operations like {TXN_EXAMPLE}"
            )))
        }
    };
    let mut ops = Vec::with_capacity(list.len());
    for (i, m) in list.iter().enumerate() {
        let bad = |why: &str| malformed(format!("txn[{i}] {} {why}", snippet(m)));
        let Some(parts) = m.as_array() else {
            return Err(bad("must be a micro-operation [f, key, value], like [\"r\", 1, null]"));
        };
        let Some(f) = parts.first().and_then(Value::as_str) else {
            return Err(bad("must start with \"r\", \"w\" or \"append\""));
        };
        let unsupported = |why: String| Error { code: 10, text: format!("txn[{i}]: {why}") };
        match (f, flavour) {
            ("r", _) | ("w", Flavour::RwRegister) | ("append", Flavour::ListAppend) => {}
            ("w", Flavour::ListAppend) => {
                return Err(unsupported(
                    "w is not supported by this store's list-append workload (append and r); \
                     init with \"workload\": \"rw-register\" to write registers"
                        .into(),
                ))
            }
            ("append", Flavour::RwRegister) => {
                return Err(unsupported(
                    "append is not supported by this store's rw-register workload (w and r); \
                     init with \"workload\": \"list-append\" to append"
                        .into(),
                ))
            }
            (other, _) => {
                return Err(unsupported(format!(
                    "unknown micro-operation \"{other}\" (known: r, w, append)"
                )))
            }
        }
        if parts.len() != 3 {
            return Err(bad("must have 3 elements: [f, key, value]"));
        }
        let Some(key) = parts[1].as_u64() else {
            return Err(bad("needs a key: a non-negative integer"));
        };
        let value = &parts[2];
        ops.push(match f {
            "r" if value.is_null() => Op::Read { key, seen: None },
            "r" => return Err(bad("is a read: its value must be null (the reply fills it in)")),
            _ => {
                let Some(value) = value.as_i64() else {
                    return Err(bad("needs a value: a 64-bit integer"));
                };
                if f == "w" {
                    Op::Write { key, value }
                } else {
                    Op::Append { key, value }
                }
            }
        });
    }
    Ok(ops)
}

impl Session {
    fn kv_txn(&mut self, r: &Request<'_>) -> Result<Vec<String>, Error> {
        if self.kv.is_none() {
            self.kv = Some(KvStore::new(json!({}))?);
        }
        let store = self.kv.as_mut().expect("a store");
        let ops = kv_ops(r.body, store.p.flavour)?;
        let k = kv_client(r.src, store.p.clients);
        let (body, scenario) = store.txn(r.body, k, ops)?;
        self.last_run = Some(Box::new(LazyRun { scenario, run: std::cell::OnceCell::new() }));
        Ok(vec![self.reply(r.dest, r.src, body)])
    }
}
