//! Register keys: what reads and writes of single values reveal.
//!
//! Writes are assumed unique per key (as Elle assumes), so a read of a value names its
//! writer exactly: wr. The version order is known only in part:
//!
//! - the initial state (`null`) precedes every written value;
//! - a transaction that read `v` and then wrote `w` to the same key installed `w` right
//!   after `v` (its first read, before any write of its own, is its "external" read; its
//!   last write is the version it installed).
//!
//! From each known pair `v < w`: ww from the writer of `v` to the writer of `w`, and rw from
//! every other reader of `v` to the writer of `w`. A reader of `null` precedes every writer
//! whose predecessor is not known. Two committed transactions that read the same version
//! and both wrote the key are a lost update (reported as such; no rw edge is drawn between
//! the two for it, so the same fact is not reported twice as a cycle).
//!
//! Direct anomalies: a read of a failed write (G1a), a read of a value its writer overwrote
//! in the same transaction (G1b), lost update.

use std::collections::{BTreeMap, BTreeSet};

use crate::explain;
use crate::graph::Why;
use crate::infer::Core;
use crate::{AnomalyKind, DepKind, Key, Mop, Seen, Status, Txn, Value};

#[derive(Clone, Debug, Copy)]
struct Reader {
    txn: usize,
    mop: usize,
    /// The reader also wrote the key after this read.
    writes: bool,
}

#[derive(Clone, Debug, Copy)]
struct Succ {
    value: Value,
    txn: usize,
    /// Known from the writer's own read of the predecessor (not just "after `null`").
    via_read: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct RegKey {
    /// Who wrote each value.
    writers: BTreeMap<Value, usize>,
    /// External reads of each version (`None`: the initial state).
    readers: BTreeMap<Option<Value>, Vec<Reader>>,
    /// The versions known to come right after each version.
    succ: BTreeMap<Option<Value>, Vec<Succ>>,
    /// Failed values whose read was reported (once each).
    failed: BTreeSet<Value>,
    /// Versions whose lost update was reported (once each).
    lost: BTreeSet<Option<Value>>,
}

/// What one transaction did to one register.
#[derive(Clone, Debug)]
struct Summary {
    /// Its first read, if before any write of its own: (operation, value seen).
    ext_read: Option<(usize, Option<Value>)>,
    /// Its writes, in order (the last is the one it installs).
    writes: Vec<Value>,
}

fn summary(txn: &Txn, key: Key) -> Summary {
    let mut s = Summary { ext_read: None, writes: Vec::new() };
    let mut read_before = false;
    for (mop, op) in txn.ops.iter().enumerate() {
        match op {
            Mop::Read { key: k, seen: Some(Seen::Register(v)) } if *k == key => {
                if !read_before && s.writes.is_empty() {
                    s.ext_read = Some((mop, *v));
                }
                read_before = true;
            }
            Mop::Write { key: k, value } if *k == key => s.writes.push(*value),
            _ => {}
        }
    }
    s
}

fn final_write(txns: &[Txn], t: usize, key: Key) -> Option<Value> {
    txns.get(t)?.ops.iter().rev().find_map(|op| match op {
        Mop::Write { key: k, value } if *k == key => Some(*value),
        _ => None,
    })
}

impl RegKey {
    /// A register whose earlier `null` reads are `nil_readers`.
    pub fn new(nil_readers: Vec<(usize, usize)>) -> Self {
        let mut readers = BTreeMap::new();
        if !nil_readers.is_empty() {
            let list = nil_readers.into_iter().map(|(txn, mop)| Reader { txn, mop, writes: false });
            readers.insert(None, list.collect());
        }
        RegKey {
            writers: BTreeMap::new(),
            readers,
            succ: BTreeMap::new(),
            failed: BTreeSet::new(),
            lost: BTreeSet::new(),
        }
    }

    /// Indexes `t`'s writes of `key` and the version order they reveal.
    pub fn writes(&mut self, core: &mut Core, txns: &[Txn], key: Key, t: usize) {
        let Some(txn) = txns.get(t) else { return };
        let s = summary(txn, key);
        for &w in &s.writes {
            self.register_writer(core, txns, key, t, w);
        }
        let Some(&installed) = s.writes.last() else { return };
        if txn.status == Status::Fail {
            return;
        }
        match s.ext_read {
            Some((_, pred)) if txn.status == Status::Ok => {
                self.add_pair(core, txns, key, pred, installed, t, true);
            }
            _ => self.add_pair(core, txns, key, None, installed, t, false),
        }
    }

    fn register_writer(&mut self, core: &mut Core, txns: &[Txn], key: Key, t: usize, w: Value) {
        if let Some(&x) = self.writers.get(&w) {
            // Keep the first writer, unless it failed and this one did not.
            if !core.is_fail(x) || core.is_fail(t) {
                return;
            }
        }
        self.writers.insert(w, t);
        let readers = self.readers.get(&Some(w)).cloned().unwrap_or_default();
        for r in readers {
            self.read_from(core, txns, key, r.txn, r.mop, w);
        }
        if !core.is_fail(t) {
            for s in self.succ.get(&Some(w)).map(Vec::as_slice).unwrap_or(&[]) {
                let why = Why::WriteOver { prev: w, next: s.value };
                core.edge(t, s.txn, DepKind::Ww, key, why);
            }
        }
    }

    /// `reader` (operation `mop`) saw `value`, whose writer is known.
    fn read_from(
        &mut self,
        core: &mut Core,
        txns: &[Txn],
        key: Key,
        reader: usize,
        mop: usize,
        value: Value,
    ) {
        let Some(&w) = self.writers.get(&value) else { return };
        if w == reader {
            return;
        }
        if core.is_fail(w) {
            if self.failed.insert(value) {
                let text = explain::aborted_read(txns, key, value, reader, mop, w);
                core.report(AnomalyKind::G1a, vec![reader, w], text);
            }
            return;
        }
        core.observe(w);
        core.edge(w, reader, DepKind::Wr, key, Why::ReadFrom { value, mop, list: false });
        let last = final_write(txns, w, key);
        if last != Some(value) {
            let text = explain::intermediate_read(txns, key, value, reader, mop, w, last);
            core.report(AnomalyKind::G1b, vec![reader, w], text);
        }
    }

    /// `t` installed `w` right after `pred` (`via_read`), or at least after `null`.
    #[allow(clippy::too_many_arguments)]
    fn add_pair(
        &mut self,
        core: &mut Core,
        txns: &[Txn],
        key: Key,
        pred: Option<Value>,
        w: Value,
        t: usize,
        via_read: bool,
    ) {
        let succ = self.succ.entry(pred).or_default();
        if via_read {
            let other = succ.iter().find(|s| s.via_read && s.txn != t).map(|s| s.txn);
            if let Some(other) = other {
                if self.lost.insert(pred) {
                    let text = explain::lost_update(txns, key, pred, other, t);
                    core.report(AnomalyKind::LostUpdate, vec![other, t], text);
                }
            }
        }
        succ.push(Succ { value: w, txn: t, via_read });
        for r in self.readers.get(&pred).map(Vec::as_slice).unwrap_or(&[]) {
            if r.txn != t && !(r.writes && via_read) {
                let why = Why::ReadBefore { mop: r.mop, next: w, list: false };
                core.edge(r.txn, t, DepKind::Rw, key, why);
            }
        }
        if let Some(v) = pred {
            if let Some(&x) = self.writers.get(&v) {
                if !core.is_fail(x) {
                    core.edge(x, t, DepKind::Ww, key, Why::WriteOver { prev: v, next: w });
                }
            }
        }
    }

    /// Uses `t`'s external read of `key` (`t` committed).
    pub fn read(&mut self, core: &mut Core, txns: &[Txn], key: Key, t: usize) {
        let Some(txn) = txns.get(t) else { return };
        let s = summary(txn, key);
        let Some((mop, seen)) = s.ext_read else { return };
        let writes = !s.writes.is_empty();
        self.readers.entry(seen).or_default().push(Reader { txn: t, mop, writes });
        if let Some(value) = seen {
            if self.writers.contains_key(&value) {
                self.read_from(core, txns, key, t, mop, value);
            }
        }
        for s in self.succ.get(&seen).map(Vec::as_slice).unwrap_or(&[]) {
            if s.txn != t && !(writes && s.via_read) {
                let why = Why::ReadBefore { mop, next: s.value, list: false };
                core.edge(t, s.txn, DepKind::Rw, key, why);
            }
        }
    }
}
