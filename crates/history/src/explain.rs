//! One plain sentence per anomaly, naming transactions by their names.

use crate::graph::{EdgeRec, Why};
use crate::internal::Wanted;
use crate::{AnomalyKind, Key, Mop, Seen, Txn, Value};

/// A transaction's name (its index if it has none).
pub(crate) fn name(txns: &[Txn], t: usize) -> String {
    match txns.get(t) {
        Some(txn) if !txn.name.is_empty() => txn.name.clone(),
        _ => format!("#{t}"),
    }
}

/// A list, shortened in the middle when long: "[1, 2, 3, ..., 8, 9]".
pub(crate) fn list(values: &[Value]) -> String {
    let show = |vs: &[Value]| vs.iter().map(Value::to_string).collect::<Vec<_>>().join(", ");
    if values.len() <= 8 {
        return format!("[{}]", show(values));
    }
    let head = values.get(..3).unwrap_or(&[]);
    let tail = values.get(values.len() - 3..).unwrap_or(&[]);
    format!("[{}, ..., {}]", show(head), show(tail))
}

fn reg(value: Option<Value>) -> String {
    value.map_or_else(|| "nil".to_string(), |v| v.to_string())
}

fn seen_text(seen: &Seen) -> String {
    match seen {
        Seen::List(values) => list(values),
        Seen::Register(value) => reg(*value),
    }
}

/// What operation `mop` of `t` read: "[1, 2]", "7", "nil".
fn read_text(txns: &[Txn], t: usize, mop: usize) -> String {
    read_as(txns, t, mop, false)
}

/// The same, showing `null` as the empty list `[]` when the key is a list.
fn read_as(txns: &[Txn], t: usize, mop: usize, list: bool) -> String {
    match txns.get(t).and_then(|txn| txn.ops.get(mop)) {
        Some(Mop::Read { seen: Some(Seen::Register(None)), .. }) if list => "[]".to_string(),
        Some(Mop::Read { seen: Some(seen), .. }) => seen_text(seen),
        _ => "?".to_string(),
    }
}

fn is_list_read(txns: &[Txn], t: usize, mop: usize) -> bool {
    matches!(
        txns.get(t).and_then(|txn| txn.ops.get(mop)),
        Some(Mop::Read { seen: Some(Seen::List(_)), .. })
    )
}

/// Why the edge holds, as a clause: "T2 read key 1 = [] but T1 appended 1 next".
pub(crate) fn edge(txns: &[Txn], e: &EdgeRec) -> String {
    let (from, to, k) = (name(txns, e.from), name(txns, e.to), e.key);
    match e.why {
        Why::AppendAfter { prev, next } => {
            format!("{from} appended {prev} to key {k} before {to} appended {next}")
        }
        Why::WriteOver { prev, next } => {
            format!("{to} overwrote {from}'s key {k} = {prev} with {next}")
        }
        Why::ReadFrom { value, mop, list: true } => {
            let seen = read_text(txns, e.to, mop);
            format!("{to} read key {k} = {seen}, ending with {from}'s append of {value}")
        }
        Why::ReadFrom { value, list: false, .. } => format!("{to} read {from}'s key {k} = {value}"),
        Why::ReadBefore { mop, next, list: true } => {
            let seen = read_as(txns, e.from, mop, true);
            format!("{from} read key {k} = {seen} but {to} appended {next} next")
        }
        Why::ReadBefore { mop, next, list: false } => {
            let seen = read_text(txns, e.from, mop);
            format!("{from} read key {k} = {seen} but {to} overwrote it with {next}")
        }
    }
}

/// A cycle: each edge's clause, then the cycle and its class.
pub(crate) fn cycle(txns: &[Txn], edges: &[EdgeRec], kind: AnomalyKind) -> String {
    let clauses: Vec<String> = edges.iter().map(|e| edge(txns, e)).collect();
    let joined = match clauses.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{}, and {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    };
    let mut path: Vec<String> = edges.iter().map(|e| name(txns, e.from)).collect();
    if let Some(first) = edges.first() {
        path.push(name(txns, first.from));
    }
    let kinds: Vec<&str> = edges.iter().map(|e| e.kind.name()).collect();
    format!("{joined}, so {} is a cycle ({}): {}", path.join(" → "), kinds.join(", "), kind.label())
}

pub(crate) fn mixed(txns: &[Txn], key: Key, list_txn: usize, reg_txn: usize) -> String {
    let label = AnomalyKind::IncompatibleOrder.label();
    if list_txn == reg_txn {
        let t = name(txns, list_txn);
        return format!("{t} used key {key} both as a list and as a register: {label}");
    }
    let (a, b) = (name(txns, list_txn), name(txns, reg_txn));
    format!(
        "key {key} is used as a list by {a} and as a register by {b}, so its versions cannot be \
         ordered: {label}"
    )
}

pub(crate) fn appended_twice(txns: &[Txn], key: Key, value: Value, a: usize, b: usize) -> String {
    let label = AnomalyKind::DuplicateAppend.label();
    if a == b {
        let t = name(txns, a);
        return format!("{t} appended {value} to key {key} twice, but appended values must be unique per key: {label}");
    }
    let (a, b) = (name(txns, a), name(txns, b));
    format!(
        "{a} and {b} both appended {value} to key {key}, but appended values must be unique per \
         key: {label}"
    )
}

pub(crate) fn read_twice(txns: &[Txn], key: Key, value: Value, t: usize, mop: usize) -> String {
    let (who, seen) = (name(txns, t), read_text(txns, t, mop));
    let label = AnomalyKind::DuplicateAppend.label();
    format!("{who} read key {key} = {seen}, which holds {value} twice, though each value is appended once: {label}")
}

pub(crate) fn aborted_read(
    txns: &[Txn],
    key: Key,
    value: Value,
    reader: usize,
    mop: usize,
    writer: usize,
) -> String {
    let (r, w, seen) = (name(txns, reader), name(txns, writer), read_text(txns, reader, mop));
    let did = if is_list_read(txns, reader, mop) { "appended" } else { "wrote" };
    let label = AnomalyKind::G1a.label();
    format!("{r} read key {key} = {seen}, but {w}, which {did} {value}, failed: {label}")
}

pub(crate) fn intermediate_read(
    txns: &[Txn],
    key: Key,
    value: Value,
    reader: usize,
    mop: usize,
    writer: usize,
    last: Option<Value>,
) -> String {
    let (r, w, seen) = (name(txns, reader), name(txns, writer), read_text(txns, reader, mop));
    let label = AnomalyKind::G1b.label();
    let later = last.map_or_else(|| "later".to_string(), |v| v.to_string());
    if is_list_read(txns, reader, mop) {
        format!(
            "{r} read key {key} = {seen}, ending with {w}'s {value}, but {w} appended {later} \
             after it in the same transaction: {label}"
        )
    } else {
        format!(
            "{r} read key {key} = {value}, but {w} overwrote it with {later} in the same \
             transaction: {label}"
        )
    }
}

pub(crate) fn incompatible(txns: &[Txn], key: Key, a: (usize, usize), b: (usize, usize)) -> String {
    let (na, sa) = (name(txns, a.0), read_text(txns, a.0, a.1));
    let (nb, sb) = (name(txns, b.0), read_text(txns, b.0, b.1));
    let label = AnomalyKind::IncompatibleOrder.label();
    format!(
        "{na} read key {key} = {sa} and {nb} read key {key} = {sb}: neither is a prefix of the \
         other, so they disagree on the order of key {key}: {label}"
    )
}

pub(crate) fn lost_update(
    txns: &[Txn],
    key: Key,
    pred: Option<Value>,
    a: usize,
    b: usize,
) -> String {
    let wrote = |t: usize| {
        let value = txns.get(t).and_then(|txn| {
            txn.ops.iter().rev().find_map(|op| match op {
                Mop::Write { key: k, value } if *k == key => Some(*value),
                _ => None,
            })
        });
        format!("{} wrote {}", name(txns, t), reg(value))
    };
    let (na, nb) = (name(txns, a), name(txns, b));
    let label = AnomalyKind::LostUpdate.label();
    format!(
        "{na} and {nb} both read key {key} = {} and both wrote it ({}, {}), so one update \
         overwrote the other unseen: {label}",
        reg(pred),
        wrote(a),
        wrote(b)
    )
}

pub(crate) fn internal(txns: &[Txn], t: usize, key: Key, mop: usize, wanted: &Wanted) -> String {
    let is_list = !matches!(wanted, Wanted::Value(_));
    let (who, seen) = (name(txns, t), read_as(txns, t, mop, is_list));
    let want = match wanted {
        Wanted::Exactly(values) => list(values),
        Wanted::EndingWith(values) => format!("a list ending with {}", list(values)),
        Wanted::Value(value) => reg(*value),
    };
    let label = AnomalyKind::InternalInconsistency.label();
    format!(
        "{who} read key {key} = {seen} but its own earlier operations mean it should see \
         {want}: {label}"
    )
}
