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

use crate::common::Outcome;
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
        let protocol = match r.body.get("protocol").map(|p| p.as_str()) {
            None => CourseProtocol::ThreePc,
            Some(Some("2pc")) => CourseProtocol::TwoPc,
            Some(Some("3pc")) => CourseProtocol::ThreePc,
            Some(_) => return Err(malformed("\"protocol\" must be \"2pc\" or \"3pc\"")),
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
