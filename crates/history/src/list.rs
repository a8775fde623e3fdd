//! List-append keys: what reads of whole lists reveal.
//!
//! Every value is appended to a key at most once, and a read returns the whole list, so a
//! read is a prefix of the key's version order: the i-th element is the i-th append. The
//! longest read seen so far *is* the known order; every other read must be a prefix of it
//! (else: incompatible order). From the order:
//!
//! - ww: the writer of the element at position p precedes the writer of the one at p + 1;
//! - wr: the writer of a read's last element precedes the reader;
//! - rw: a reader of the first p elements precedes the writer of element p + 1 (the next
//!   version, which it did not see); a reader of the empty list precedes the first writer.
//!
//! A value appended but never read has no known position, so it makes no edge (sound, if
//! incomplete). Direct anomalies: a failed transaction's value in the order (G1a), a read
//! whose last element is not its writer's final append to the key (G1b), a value twice in a
//! read or appended twice (duplicate append).

use std::collections::{BTreeMap, BTreeSet};

use crate::explain;
use crate::graph::Why;
use crate::infer::Core;
use crate::{AnomalyKind, DepKind, Key, Mop, Txn, Value};

#[derive(Clone, Debug)]
pub(crate) struct ListKey {
    /// The known version order: the longest read.
    order: Vec<Value>,
    /// The read (txn, operation) that first showed each position.
    first_seen: Vec<(usize, usize)>,
    /// The read that showed the whole order.
    source: Option<(usize, usize)>,
    /// Each ordered value's position.
    pos: BTreeMap<Value, usize>,
    /// Who appended each value.
    writers: BTreeMap<Value, usize>,
    /// `readers[n]`: the reads (txn, operation) that saw exactly the first `n` elements.
    /// Always one longer than `order`.
    readers: Vec<Vec<(usize, usize)>>,
    /// Whether an incompatible read was reported (once per key).
    incompatible: bool,
    /// Values reported as duplicates (once each).
    duplicates: BTreeSet<Value>,
}

/// The last value transaction `t` appended to `key`.
fn final_append(txns: &[Txn], t: usize, key: Key) -> Option<Value> {
    txns.get(t)?.ops.iter().rev().find_map(|op| match op {
        Mop::Append { key: k, value } if *k == key => Some(*value),
        _ => None,
    })
}

impl ListKey {
    /// A list key whose earlier `null` reads (empty lists) are `nil_readers`.
    pub fn new(nil_readers: Vec<(usize, usize)>) -> Self {
        ListKey {
            order: Vec::new(),
            first_seen: Vec::new(),
            source: None,
            pos: BTreeMap::new(),
            writers: BTreeMap::new(),
            readers: vec![nil_readers],
            incompatible: false,
            duplicates: BTreeSet::new(),
        }
    }

    /// The writer of the element at `p`, unless unknown or failed.
    fn writer_at(&self, core: &Core, p: usize) -> Option<usize> {
        let w = *self.writers.get(self.order.get(p)?)?;
        (!core.is_fail(w)).then_some(w)
    }

    /// `t` appended `value` to `key`.
    pub fn append(&mut self, core: &mut Core, txns: &[Txn], key: Key, t: usize, value: Value) {
        if let Some(&w) = self.writers.get(&value) {
            let (w_fail, t_fail) = (core.is_fail(w), core.is_fail(t));
            if !w_fail && !t_fail {
                if self.duplicates.insert(value) {
                    let text = explain::appended_twice(txns, key, value, w, t);
                    let mut pair = vec![w, t];
                    pair.dedup();
                    core.report(AnomalyKind::DuplicateAppend, pair, text);
                }
                return;
            }
            // A failed attempt, then one that may have committed: the latter is the writer.
            if !w_fail || t_fail {
                return;
            }
        }
        self.writers.insert(value, t);
        if let Some(&p) = self.pos.get(&value) {
            self.writer_known(core, txns, key, p);
        }
    }

    /// The ww edge from the writer of the element at `p` to the writer of the next one, if
    /// both are known.
    fn ww(&self, core: &mut Core, key: Key, p: usize) {
        let (Some(&prev), Some(&next)) = (self.order.get(p), self.order.get(p + 1)) else {
            return;
        };
        if let (Some(from), Some(to)) = (self.writer_at(core, p), self.writer_at(core, p + 1)) {
            core.edge(from, to, DepKind::Ww, key, Why::AppendAfter { prev, next });
        }
    }

    /// Both the element at `p` and its writer are known: make the edges around it.
    fn writer_known(&mut self, core: &mut Core, txns: &[Txn], key: Key, p: usize) {
        let Some(&value) = self.order.get(p) else { return };
        let Some(&w) = self.writers.get(&value) else { return };
        if core.is_fail(w) {
            if let Some(&(reader, mop)) = self.first_seen.get(p) {
                let text = explain::aborted_read(txns, key, value, reader, mop, w);
                core.report(AnomalyKind::G1a, vec![reader, w], text);
            }
            return;
        }
        core.observe(w);
        if let Some(q) = p.checked_sub(1) {
            self.ww(core, key, q);
        }
        self.ww(core, key, p);
        let last = final_append(txns, w, key);
        for &(reader, mop) in self.readers.get(p + 1).map(Vec::as_slice).unwrap_or(&[]) {
            if reader == w {
                continue;
            }
            core.edge(w, reader, DepKind::Wr, key, Why::ReadFrom { value, mop, list: true });
            if last != Some(value) {
                let text = explain::intermediate_read(txns, key, value, reader, mop, w, last);
                core.report(AnomalyKind::G1b, vec![reader, w], text);
            }
        }
        for &(reader, mop) in self.readers.get(p).map(Vec::as_slice).unwrap_or(&[]) {
            if reader != w {
                core.edge(
                    reader,
                    w,
                    DepKind::Rw,
                    key,
                    Why::ReadBefore { mop, next: value, list: true },
                );
            }
        }
    }

    /// `t`'s operation `mop` read `key` and saw `seen` (`t` committed).
    pub fn read(
        &mut self,
        core: &mut Core,
        txns: &[Txn],
        key: Key,
        t: usize,
        mop: usize,
        seen: &[Value],
    ) {
        let common = seen.len().min(self.order.len());
        if seen.get(..common) != self.order.get(..common) {
            self.incompatible_read(core, txns, key, t, mop, seen);
            return;
        }
        if seen.len() > self.order.len() && !self.extend(core, txns, key, t, mop, seen) {
            return;
        }
        let n = seen.len();
        if let Some(readers) = self.readers.get_mut(n) {
            readers.push((t, mop));
        }
        if let Some(&value) = n.checked_sub(1).and_then(|q| seen.get(q)) {
            self.read_last(core, txns, key, t, mop, value);
        }
        if let (Some(w), Some(&next)) = (self.writer_at(core, n), self.order.get(n)) {
            core.edge(t, w, DepKind::Rw, key, Why::ReadBefore { mop, next, list: true });
        }
    }

    /// The wr edge from the writer of a read's last element, and its G1b check.
    fn read_last(
        &self,
        core: &mut Core,
        txns: &[Txn],
        key: Key,
        t: usize,
        mop: usize,
        value: Value,
    ) {
        let Some(&w) = self.writers.get(&value) else { return };
        if w == t || core.is_fail(w) {
            return;
        }
        core.edge(w, t, DepKind::Wr, key, Why::ReadFrom { value, mop, list: true });
        let last = final_append(txns, w, key);
        if last != Some(value) {
            let text = explain::intermediate_read(txns, key, value, t, mop, w, last);
            core.report(AnomalyKind::G1b, vec![t, w], text);
        }
    }

    /// `seen` (consistent with the order so far) is longer: it becomes the order. Returns
    /// false, having reported it, if it repeats a value.
    fn extend(
        &mut self,
        core: &mut Core,
        txns: &[Txn],
        key: Key,
        t: usize,
        mop: usize,
        seen: &[Value],
    ) -> bool {
        let old = self.order.len();
        let tail = seen.get(old..).unwrap_or(&[]);
        let mut fresh = BTreeSet::new();
        for &value in tail {
            if self.pos.contains_key(&value) || !fresh.insert(value) {
                if self.duplicates.insert(value) {
                    let text = explain::read_twice(txns, key, value, t, mop);
                    core.report(AnomalyKind::DuplicateAppend, vec![t], text);
                }
                return false;
            }
        }
        for (i, &value) in tail.iter().enumerate() {
            self.pos.insert(value, old + i);
            self.order.push(value);
            self.first_seen.push((t, mop));
        }
        self.source = Some((t, mop));
        self.readers.resize_with(self.order.len() + 1, Vec::new);
        for p in old..self.order.len() {
            self.writer_known(core, txns, key, p);
        }
        true
    }

    fn incompatible_read(
        &mut self,
        core: &mut Core,
        txns: &[Txn],
        key: Key,
        t: usize,
        mop: usize,
        seen: &[Value],
    ) {
        if let Some(&value) = seen.last() {
            self.read_last(core, txns, key, t, mop, value);
        }
        if self.incompatible {
            return;
        }
        self.incompatible = true;
        let Some((src, src_mop)) = self.source else { return };
        let text = explain::incompatible(txns, key, (src, src_mop), (t, mop));
        let mut pair = vec![src, t];
        pair.dedup();
        core.report(AnomalyKind::IncompatibleOrder, pair, text);
    }
}
