//! Histories as JSON: our own form (read and written) and Jepsen's (read).
//!
//! Our form is one object, `{"txns": [{"name": "T1", "process": 0, "status": "ok", "ops":
//! [["append", 1, 5], ["r", 2, [1, 2]], ["w", 3, 7], ["r", 3, 7]]}, ...]}`, with
//! micro-operations in Maelstrom's vector form. A read's third element is what it saw:
//! `null` (an empty list or an unwritten register), an integer (a register) or a list of
//! integers (a list); a read written `["r", k]` was never answered.
//!
//! Jepsen's form is a list of operations, as one JSON array or one object per line:
//! `{"type": "invoke" | "ok" | "fail" | "info", "process": 0, "f": "txn", "value": [...],
//! "index": 7}` (other fields are ignored; field names and keyword values may carry EDN's
//! leading colon, as in `":type": ":ok"`). Operations whose `f` is not `txn` (a nemesis's)
//! are skipped. Each process's invocation is paired with its next completion: `ok` takes the
//! completion's value (reads filled in), `fail` and `info` keep the invocation's, and an
//! invocation never completed is `info`. Transactions are listed in invocation order and
//! named `T<index>` after the completion's `index` (or the invocation's) when the history
//! has one, else `T<n>`, their 1-based place in invocation order.
//!
//! Bad input never panics: syntax errors, deep nesting (serde_json's recursion limit),
//! numbers out of range and wrong types are all `ParseError`s naming the line.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value as Json;

use crate::{History, Mop, Seen, Status, Txn};

/// Why a history could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The 1-based line the problem is on (where the bad operation or transaction starts).
    pub line: Option<usize>,
    pub problem: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.problem),
            None => f.write_str(&self.problem),
        }
    }
}

impl std::error::Error for ParseError {}

fn fail<T>(line: Option<usize>, problem: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError { line, problem: problem.into() })
}

const OPS_EXAMPLE: &str = r#"[["r", 1, null], ["append", 1, 5]]"#;

/// Reads a history in our form or in Jepsen's (see the module documentation).
pub fn parse_history(text: &str) -> Result<History, ParseError> {
    let source = Source::new(text);
    let mut cursor = Cursor { source: &source, pos: 0 };
    cursor.skip_ws();
    match cursor.peek() {
        None => fail(
            None,
            "empty input: expected a history {\"txns\": [...]} or Jepsen operations (a JSON \
             array, or one JSON object per line)",
        ),
        Some(b'[') => {
            let records = cursor.array()?;
            cursor.end()?;
            jepsen(&records)
        }
        Some(b'{') => {
            let (_, first) = cursor.clone().value()?;
            if first.get("txns").is_some() {
                own(&mut cursor)
            } else {
                jepsen(&cursor.values()?)
            }
        }
        Some(_) => fail(
            Some(cursor.line()),
            "expected a JSON object {\"txns\": [...]} or Jepsen operations ([...] or one object \
             per line)",
        ),
    }
}

/// The text and where its lines start.
struct Source<'a> {
    text: &'a str,
    newlines: Vec<usize>,
}

impl<'a> Source<'a> {
    fn new(text: &'a str) -> Self {
        let newlines = text.bytes().enumerate().filter(|&(_, b)| b == b'\n').map(|(i, _)| i);
        Source { text, newlines: newlines.collect() }
    }

    /// The 1-based line of byte `pos`.
    fn line(&self, pos: usize) -> usize {
        self.newlines.partition_point(|&nl| nl < pos) + 1
    }
}

/// A position in the text, for walking the outer structure by hand (so each transaction or
/// operation knows its line) and handing each element to serde_json.
#[derive(Clone)]
struct Cursor<'a> {
    source: &'a Source<'a>,
    pos: usize,
}

impl Cursor<'_> {
    fn rest(&self) -> &str {
        self.source.text.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<u8> {
        self.rest().bytes().next()
    }

    fn line(&self) -> usize {
        self.source.line(self.pos)
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    /// Consumes `byte` (ASCII) after whitespace, or says what was expected.
    fn expect(&mut self, byte: u8, what: &str) -> Result<(), ParseError> {
        self.skip_ws();
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            fail(Some(self.line()), format!("expected {what}"))
        }
    }

    /// One JSON value starting here (after whitespace), with the line it starts on.
    fn value(&mut self) -> Result<(usize, Json), ParseError> {
        self.skip_ws();
        let line = self.line();
        let mut stream = serde_json::Deserializer::from_str(self.rest()).into_iter::<Json>();
        match stream.next() {
            Some(Ok(value)) => {
                self.pos += stream.byte_offset();
                Ok((line, value))
            }
            Some(Err(e)) => {
                let at = line + e.line().saturating_sub(1);
                let message = e.to_string();
                let message = message.split(" at line ").next().unwrap_or("").to_string();
                fail(Some(at), format!("not valid JSON: {message}"))
            }
            None => fail(Some(line), "unexpected end of input"),
        }
    }

    /// The elements of the array starting here, each with its line.
    fn array(&mut self) -> Result<Vec<(usize, Json)>, ParseError> {
        self.expect(b'[', "[")?;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(items);
        }
        loop {
            items.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                _ => return fail(Some(self.line()), "expected , or ] between list elements"),
            }
        }
        Ok(items)
    }

    /// Values one after another (JSON lines) up to the end.
    fn values(&mut self) -> Result<Vec<(usize, Json)>, ParseError> {
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if self.peek().is_none() {
                return Ok(items);
            }
            items.push(self.value()?);
        }
    }

    /// Only whitespace may follow.
    fn end(&mut self) -> Result<(), ParseError> {
        self.skip_ws();
        match self.peek() {
            None => Ok(()),
            Some(_) => fail(Some(self.line()), "unexpected text after the end of the history"),
        }
    }
}

/// Our form: walks the outer object by hand to find `txns` and each transaction's line.
fn own(cursor: &mut Cursor) -> Result<History, ParseError> {
    let start = cursor.line();
    cursor.expect(b'{', "{")?;
    let mut txns = None;
    loop {
        cursor.skip_ws();
        if cursor.peek() == Some(b'}') {
            cursor.pos += 1;
            break;
        }
        let (line, field) = cursor.value()?;
        let Json::String(field) = field else {
            return fail(Some(line), "expected a field name (a string)");
        };
        cursor.expect(b':', ": after a field name")?;
        cursor.skip_ws();
        if field == "txns" {
            if cursor.peek() != Some(b'[') {
                return fail(Some(cursor.line()), "`txns` must be a list of transactions");
            }
            txns = Some(cursor.array()?);
        } else {
            cursor.value()?;
        }
        cursor.skip_ws();
        match cursor.peek() {
            Some(b',') => cursor.pos += 1,
            Some(b'}') => {
                cursor.pos += 1;
                break;
            }
            _ => return fail(Some(cursor.line()), "expected , or } between fields"),
        }
    }
    cursor.end()?;
    let Some(txns) = txns else {
        return fail(Some(start), "the history object has no `txns` list");
    };
    let txns = txns.iter().enumerate().map(|(i, (line, v))| own_txn(i, *line, v));
    Ok(History { txns: txns.collect::<Result<_, _>>()? })
}

/// What a read's `null` means: nothing seen (a completed read) or not answered (an
/// invocation's).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Null {
    Nil,
    Unanswered,
}

fn own_txn(i: usize, line: usize, value: &Json) -> Result<Txn, ParseError> {
    let line = Some(line);
    let Json::Object(obj) = value else {
        return fail(
            line,
            format!(
                "txns[{i}] must be an object like {{\"name\": \"T1\", \"process\": 0, \
                 \"status\": \"ok\", \"ops\": {OPS_EXAMPLE}}}"
            ),
        );
    };
    let name = match obj.get("name") {
        None | Some(Json::Null) => format!("T{}", i + 1),
        Some(Json::String(name)) => name.clone(),
        Some(_) => return fail(line, "`name` must be a string"),
    };
    let process = match obj.get("process") {
        None | Some(Json::Null) => 0,
        Some(p) => match p.as_u64() {
            Some(p) => p,
            None => return fail(line, "`process` must be a non-negative integer"),
        },
    };
    let status = match obj.get("status").and_then(Json::as_str).map(bare) {
        Some("ok") => Status::Ok,
        Some("fail") => Status::Fail,
        Some("info") => Status::Info,
        _ => return fail(line, "`status` must be \"ok\", \"fail\" or \"info\""),
    };
    let Some(ops) = obj.get("ops") else {
        return fail(line, format!("txns[{i}] has no `ops` (a list like {OPS_EXAMPLE})"));
    };
    let ops = micro_ops(line, "ops", ops, Null::Nil)?;
    Ok(Txn { name, process, ops, status })
}

/// A keyword without EDN's leading colon.
fn bare(s: &str) -> &str {
    s.strip_prefix(':').unwrap_or(s)
}

fn micro_ops(
    line: Option<usize>,
    field: &str,
    value: &Json,
    null: Null,
) -> Result<Vec<Mop>, ParseError> {
    let Json::Array(items) = value else {
        return fail(
            line,
            format!("`{field}` must be a list of micro-operations like [\"r\", 1, null]"),
        );
    };
    items.iter().enumerate().map(|(j, m)| micro_op(line, field, j, m, null)).collect()
}

/// A JSON value, shortened for a message.
fn snippet(value: &Json) -> String {
    let text = value.to_string();
    if text.chars().count() <= 40 {
        return text;
    }
    let mut short: String = text.chars().take(37).collect();
    short.push_str("...");
    short
}

fn micro_op(
    line: Option<usize>,
    field: &str,
    j: usize,
    m: &Json,
    null: Null,
) -> Result<Mop, ParseError> {
    let bad =
        |why: &str| fail(line, format!("micro-operation {j} of `{field}` ({}) {why}", snippet(m)));
    let Json::Array(parts) = m else {
        return bad("must be a list like [\"append\", 1, 5]");
    };
    let Some(f) = parts.first().and_then(Json::as_str).map(bare) else {
        return bad("must start with \"r\", \"w\" or \"append\"");
    };
    let Some(key) = parts.get(1).and_then(Json::as_u64) else {
        return bad("needs a key: an integer from 0 to 18446744073709551615");
    };
    match (f, parts.len()) {
        ("r", 2) => Ok(Mop::Read { key, seen: None }),
        ("r", 3) => {
            let seen = match parts.get(2) {
                Some(Json::Null) => match null {
                    Null::Nil => Some(Seen::Register(None)),
                    Null::Unanswered => None,
                },
                Some(Json::Array(values)) => {
                    let values: Option<Vec<i64>> = values.iter().map(Json::as_i64).collect();
                    match values {
                        Some(values) => Some(Seen::List(values)),
                        None => return bad("must read a list of 64-bit integers"),
                    }
                }
                Some(v) => match v.as_i64() {
                    Some(v) => Some(Seen::Register(Some(v))),
                    None => return bad("must read null, a 64-bit integer or a list of them"),
                },
                None => None,
            };
            Ok(Mop::Read { key, seen })
        }
        ("w" | "append", 3) => {
            let Some(value) = parts.get(2).and_then(Json::as_i64) else {
                return bad("needs a value: a 64-bit integer");
            };
            Ok(if f == "w" { Mop::Write { key, value } } else { Mop::Append { key, value } })
        }
        ("r", _) => bad("must have 2 or 3 elements: [\"r\", key] or [\"r\", key, seen]"),
        ("w" | "append", _) => bad("must have 3 elements: [f, key, value]"),
        _ => bad("must start with \"r\", \"w\" or \"append\""),
    }
}

/// A field, also under EDN's `:name`.
fn field<'a>(obj: &'a serde_json::Map<String, Json>, name: &str) -> Option<&'a Json> {
    obj.get(name).or_else(|| obj.get(&format!(":{name}")))
}

/// An invocation and, once seen, its completion.
struct Slot {
    process: u64,
    invoke: Option<(Vec<Mop>, Option<u64>)>,
    done: Option<(Status, Option<Vec<Mop>>, Option<u64>)>,
}

/// Jepsen's form: pairs invocations with completions, per process.
fn jepsen(records: &[(usize, Json)]) -> Result<History, ParseError> {
    let mut slots: Vec<Slot> = Vec::new();
    let mut open: BTreeMap<u64, usize> = BTreeMap::new();
    let mut indexed = false;
    for (line, record) in records {
        let line = Some(*line);
        let Json::Object(obj) = record else {
            return fail(
                line,
                "each operation must be an object like {\"type\": \"invoke\", \"process\": 0, \
                 \"f\": \"txn\", \"value\": [[\"r\", 1, null]]}",
            );
        };
        match field(obj, "f") {
            None | Some(Json::Null) => {}
            Some(Json::String(f)) if bare(f) == "txn" => {}
            Some(_) => continue,
        }
        let Some(kind) = field(obj, "type").and_then(Json::as_str).map(bare) else {
            return fail(line, "`type` must be \"invoke\", \"ok\", \"fail\" or \"info\"");
        };
        let Some(process) = field(obj, "process").and_then(Json::as_u64) else {
            return fail(line, "`process` must be a non-negative integer");
        };
        let index = match field(obj, "index") {
            None | Some(Json::Null) => None,
            Some(i) => match i.as_u64() {
                Some(i) => Some(i),
                None => return fail(line, "`index` must be a non-negative integer"),
            },
        };
        indexed |= index.is_some();
        let value = field(obj, "value").filter(|v| !v.is_null());
        let status = match kind {
            "invoke" => {
                let Some(value) = value else {
                    return fail(
                        line,
                        format!("`value` must be a list of micro-operations like {OPS_EXAMPLE}"),
                    );
                };
                let ops = micro_ops(line, "value", value, Null::Unanswered)?;
                open.insert(process, slots.len());
                slots.push(Slot { process, invoke: Some((ops, index)), done: None });
                continue;
            }
            "ok" => Status::Ok,
            "fail" => Status::Fail,
            "info" => Status::Info,
            _ => return fail(line, "`type` must be \"invoke\", \"ok\", \"fail\" or \"info\""),
        };
        let null = if status == Status::Ok { Null::Nil } else { Null::Unanswered };
        let ops = value.map(|v| micro_ops(line, "value", v, null)).transpose()?;
        match open.remove(&process).and_then(|s| slots.get_mut(s)) {
            Some(slot) => slot.done = Some((status, ops, index)),
            None => slots.push(Slot { process, invoke: None, done: Some((status, ops, index)) }),
        }
    }
    let txns = slots.into_iter().enumerate().map(|(n, slot)| {
        let (invoke_ops, invoke_index) = match slot.invoke {
            Some((ops, index)) => (Some(ops), index),
            None => (None, None),
        };
        let (status, ops, index) = match slot.done {
            Some((Status::Ok, Some(ops), index)) => (Status::Ok, ops, index.or(invoke_index)),
            Some((status, done_ops, index)) => {
                (status, invoke_ops.or(done_ops).unwrap_or_default(), index.or(invoke_index))
            }
            None => (Status::Info, invoke_ops.unwrap_or_default(), invoke_index),
        };
        let name = match index {
            Some(index) if indexed => format!("T{index}"),
            _ => format!("T{}", n + 1),
        };
        Txn { name, process: slot.process, ops, status }
    });
    Ok(History { txns: txns.collect() })
}

impl History {
    /// This history in our JSON form (one transaction per line); `parse_history` reads it
    /// back unchanged.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\"txns\": [");
        for (i, txn) in self.txns.iter().enumerate() {
            out.push_str(if i == 0 { "\n  " } else { ",\n  " });
            out.push_str(&txn_json(txn));
        }
        out.push_str(if self.txns.is_empty() { "]}" } else { "\n]}" });
        out.push('\n');
        out
    }
}

fn txn_json(txn: &Txn) -> String {
    let status = match txn.status {
        Status::Ok => "ok",
        Status::Fail => "fail",
        Status::Info => "info",
    };
    let ops: Vec<String> = txn.ops.iter().map(op_json).collect();
    format!(
        "{{\"name\": {}, \"process\": {}, \"status\": \"{status}\", \"ops\": [{}]}}",
        Json::String(txn.name.clone()),
        txn.process,
        ops.join(", ")
    )
}

fn op_json(op: &Mop) -> String {
    match op {
        Mop::Read { key, seen: None } => format!("[\"r\", {key}]"),
        Mop::Read { key, seen: Some(Seen::Register(None)) } => format!("[\"r\", {key}, null]"),
        Mop::Read { key, seen: Some(Seen::Register(Some(v))) } => format!("[\"r\", {key}, {v}]"),
        Mop::Read { key, seen: Some(Seen::List(values)) } => {
            let values: Vec<String> = values.iter().map(i64::to_string).collect();
            format!("[\"r\", {key}, [{}]]", values.join(", "))
        }
        Mop::Write { key, value } => format!("[\"w\", {key}, {value}]"),
        Mop::Append { key, value } => format!("[\"append\", {key}, {value}]"),
    }
}
