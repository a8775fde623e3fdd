//! Internal consistency: a committed transaction must see its own effects.
//!
//! Walking a transaction's operations in order, we keep what it must see of each key:
//!
//! - a list, once read, is known exactly, and each append extends it; before any read, only
//!   its tail is known (the transaction's own appends so far), so a read must end with them;
//! - a register, once read or written, holds exactly that value.
//!
//! A read that disagrees is reported, once per transaction and key. A read of `null` is an
//! empty list on a list key and the initial state on a register.

use std::collections::{BTreeMap, BTreeSet};

use crate::explain;
use crate::{Anomaly, AnomalyKind, Key, Mop, Seen, Status, Txn, Value};

/// What a transaction must see of one key next.
#[derive(Clone, Debug)]
enum Expect {
    /// Read as `null` and nothing since: an empty list or an unwritten register.
    Nil,
    /// A list: exactly `Some(list)`, or (before any read) ending with `tail`.
    List { known: Option<Vec<Value>>, tail: Vec<Value> },
    /// A register holding this.
    Reg(Option<Value>),
    /// Used both ways within the transaction: not checked.
    Mixed,
}

/// What a read should have seen, for the explanation.
#[derive(Clone, Debug)]
pub(crate) enum Wanted {
    Exactly(Vec<Value>),
    EndingWith(Vec<Value>),
    Value(Option<Value>),
}

/// Internal-consistency anomalies of transaction `t` (only committed ones are checked),
/// and the keys they are on (whose reads the inference then leaves out: they are reported,
/// and would only add confusing order conflicts).
pub(crate) fn check(txns: &[Txn], t: usize) -> (Vec<Anomaly>, BTreeSet<Key>) {
    let Some(txn) = txns.get(t) else { return Default::default() };
    if txn.status != Status::Ok {
        return Default::default();
    }
    let mut expect: BTreeMap<Key, Expect> = BTreeMap::new();
    let mut reported: BTreeSet<Key> = BTreeSet::new();
    let mut found = Vec::new();
    for (mop, op) in txn.ops.iter().enumerate() {
        match op {
            Mop::Append { key, value } => append(&mut expect, *key, *value),
            Mop::Write { key, value } => write(&mut expect, *key, *value),
            Mop::Read { key, seen: Some(seen) } => {
                let state = expect.remove(key);
                let (bad, next) = read(state, seen);
                if let Some(wanted) = bad {
                    if reported.insert(*key) {
                        let text = explain::internal(txns, t, *key, mop, &wanted);
                        found.push(Anomaly {
                            kind: AnomalyKind::InternalInconsistency,
                            txns: vec![t],
                            steps: Vec::new(),
                            explanation: text,
                        });
                    }
                }
                expect.insert(*key, next);
            }
            Mop::Read { seen: None, .. } => {}
        }
    }
    (found, reported)
}

fn append(expect: &mut BTreeMap<Key, Expect>, key: Key, value: Value) {
    let state = expect.entry(key).or_insert(Expect::List { known: None, tail: Vec::new() });
    match state {
        Expect::Nil => *state = Expect::List { known: Some(vec![value]), tail: Vec::new() },
        Expect::List { known: Some(list), .. } => list.push(value),
        Expect::List { known: None, tail } => tail.push(value),
        Expect::Reg(_) => *state = Expect::Mixed,
        Expect::Mixed => {}
    }
}

fn write(expect: &mut BTreeMap<Key, Expect>, key: Key, value: Value) {
    let state = expect.entry(key).or_insert(Expect::Nil);
    match state {
        Expect::Nil | Expect::Reg(_) => *state = Expect::Reg(Some(value)),
        Expect::List { .. } => *state = Expect::Mixed,
        Expect::Mixed => {}
    }
}

/// Checks one read against what was expected: (what it should have seen if it is wrong,
/// what to expect next).
fn read(state: Option<Expect>, seen: &Seen) -> (Option<Wanted>, Expect) {
    match (state, seen) {
        (None, Seen::List(list)) => {
            (None, Expect::List { known: Some(list.clone()), tail: vec![] })
        }
        (None, Seen::Register(None)) => (None, Expect::Nil),
        (None, Seen::Register(v)) => (None, Expect::Reg(*v)),
        (Some(Expect::Nil), Seen::List(list)) => {
            let next = Expect::List { known: Some(list.clone()), tail: vec![] };
            (wanted_list(list, &[], true), next)
        }
        (Some(Expect::Nil), Seen::Register(v)) => {
            let bad = v.is_some().then_some(Wanted::Value(None));
            (bad, Expect::Reg(*v))
        }
        (Some(Expect::List { known, tail }), seen @ (Seen::List(_) | Seen::Register(None))) => {
            let list: &[Value] = match seen {
                Seen::List(list) => list,
                _ => &[],
            };
            let bad = match &known {
                Some(exact) => wanted_list(list, exact, true),
                None => wanted_list(list, &tail, false),
            };
            (bad, Expect::List { known: Some(list.to_vec()), tail: vec![] })
        }
        (Some(Expect::Reg(e)), Seen::Register(v)) => {
            let bad = (e != *v).then_some(Wanted::Value(e));
            (bad, Expect::Reg(*v))
        }
        _ => (None, Expect::Mixed),
    }
}

/// Whether `list` fits: exactly `want`, or ending with it.
fn wanted_list(list: &[Value], want: &[Value], exact: bool) -> Option<Wanted> {
    let fits = if exact { list == want } else { list.ends_with(want) };
    if fits {
        return None;
    }
    let want = want.to_vec();
    Some(if exact { Wanted::Exactly(want) } else { Wanted::EndingWith(want) })
}
