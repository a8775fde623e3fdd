//! The course's JSON-lines harness ("The Coordinator" track; see shared/HARNESS.md), as a
//! pure session: one line in, zero or more lines out. `commitscope harness` wires it to
//! stdin/stdout. Every transaction runs in virtual time (1 tick = 1 ms), so the answer is
//! immediate whatever timeouts the case names.
//!
//! Bad lines get an `error` reply (Maelstrom codes: 10 not supported, 12 malformed
//! request, 22 precondition failed) and the session keeps going.

use crate::two_pc::TwoPc;
use commitscope_engine::erased::{AnyRun, Recorded};
use commitscope_engine::Scenario;
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
        let timeout = match r.body.get("participant_timeout_ms") {
            None => None,
            Some(v) => Some(v.as_u64().filter(|t| *t > 0).ok_or_else(|| {
                malformed("\"participant_timeout_ms\" must be a positive whole number")
            })?),
        };
        let crash_after = match r.body.get("crash_coordinator_after") {
            None => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => return Err(malformed("\"crash_coordinator_after\" must be a phase name")),
        };
        let n = names.len();
        let mut params = json!({"participants": n});
        if let Some(t) = timeout {
            params["in_doubt_timeout_ticks"] = json!(t);
        }
        let trigger = match (protocol, crash_after) {
            (_, None) => None,
            (CourseProtocol::TwoPc, Some("prepare")) => {
                Some(json!({"sent": "prepare", "by": "coord", "count": n}))
            }
            (CourseProtocol::TwoPc, Some("commit")) => {
                Some(json!({"sent": "commit", "by": "coord", "count": n}))
            }
            (CourseProtocol::TwoPc, Some(other)) => {
                return Err(malformed(format!(
                    "2PC crash_coordinator_after \"{other}\" is unknown (known: prepare, commit)"
                )))
            }
            (CourseProtocol::ThreePc, _) => None,
        };
        if protocol == CourseProtocol::ThreePc {
            return Err(Error {
                code: 10,
                text:
                    "three-phase commit is not in this build yet; init with \"protocol\": \"2pc\""
                        .into(),
            });
        }
        let mut scenario = json!({
            "version": 1, "protocol": "two_pc", "seed": 1, "params": params,
            "requests": [{"at": 0, "request": {"transfer": transfer}}],
            "limits": {"max_ticks": CASE_LIMIT_TICKS, "max_events": 100_000},
        });
        if let Some(after) = trigger {
            scenario["faults"] = json!([{"after": after, "crash": "coord"}]);
        }
        let scenario =
            Scenario::from_json(&scenario.to_string()).map_err(|e| malformed(e.to_string()))?;
        let run = Recorded::<TwoPc>::new(&scenario).map_err(|e| malformed(e.to_string()))?;
        self.txns += 1;
        let txn_id = format!("txn{}", self.txns);
        let body =
            json!({"type": "txn_begin_ok", "in_reply_to": r.body.get("msg_id"), "txn_id": txn_id});
        let lines = vec![self.reply(r.dest, r.src, body)];
        // 2PC: prepared participants of a crashed coordinator stay blocked and announce
        // nothing; the outcome of a normal run is visible in the trace (`--trace`).
        self.last_run = Some(Box::new(run));
        Ok(lines)
    }
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
