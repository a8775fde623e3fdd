//! The inference engine shared by `check` and `Incremental`: it takes transactions one at a
//! time and turns what they did and saw into dependency edges and direct anomalies.
//!
//! Each key is inferred by the kind of its operations: appends and list reads make it a
//! list (`list.rs`: reads show a prefix of the version order), writes and register reads
//! make it a register (`register.rs`: the version order is known only in part). A key used
//! both ways is reported (incompatible order) and left out. A read of `null` says nothing
//! about the kind: it is the empty list of a list or the initial state of a register, so
//! such reads wait until the key's kind is known.
//!
//! Who is in the graph: committed (`Ok`) transactions from the moment they are added, and
//! indeterminate (`Info`) ones from the moment an `Ok` read observes one of their writes
//! (they must have committed then). Failed (`Fail`) transactions never: a read of their
//! writes is G1a. Only `Ok` transactions' reads are used (an `Info` transaction's reads are
//! unknown). Edges touching an `Info` transaction are kept from the start and join the graph
//! when it does.
//!
//! Everything an edge needs may arrive in any order (a read before the write it saw, a long
//! read revealing the order of two older appends), so each fact is indexed until its
//! counterpart arrives, and the edge is made once both are known.

use std::collections::{BTreeMap, BTreeSet};

use crate::explain;
use crate::graph::{EdgeRec, EdgeStore, Why};
use crate::list::ListKey;
use crate::register::RegKey;
use crate::{Anomaly, AnomalyKind, DepKind, Key, Mop, Seen, Status, Txn};

/// The graph and the anomalies found so far, shared by the per-key inference.
#[derive(Clone, Debug, Default)]
pub(crate) struct Core {
    pub edges: EdgeStore,
    status: Vec<Status>,
    active: Vec<bool>,
    committed: usize,
    /// Whether to queue edges as they join the graph (for `Incremental`).
    collect: bool,
    /// Edges that joined the graph since the last `Engine::add` returned.
    pub fresh: Vec<usize>,
    /// Anomalies found since the last `Engine::add` returned.
    pub found: Vec<Anomaly>,
}

impl Core {
    pub fn is_fail(&self, t: usize) -> bool {
        self.status.get(t) == Some(&Status::Fail)
    }

    pub fn is_active(&self, t: usize) -> bool {
        self.active.get(t).copied().unwrap_or(false)
    }

    fn activate(&mut self, t: usize) {
        let Some(slot) = self.active.get_mut(t) else { return };
        if *slot {
            return;
        }
        *slot = true;
        self.committed += 1;
        if !self.collect {
            return;
        }
        let ids = self.edges.incident.get(t).map(Vec::as_slice).unwrap_or(&[]);
        for &id in ids {
            if let Some(e) = self.edges.get(id) {
                let other = if e.from == t { e.to } else { e.from };
                if self.is_active(other) {
                    self.fresh.push(id);
                }
            }
        }
    }

    /// An `Ok` read saw a write of `t`: if `t` is indeterminate, it committed.
    pub fn observe(&mut self, t: usize) {
        if self.status.get(t) == Some(&Status::Info) {
            self.activate(t);
        }
    }

    /// Records that `from` must precede `to`. Edges touching failed transactions and
    /// self-loops are dropped; duplicates are kept once.
    pub fn edge(&mut self, from: usize, to: usize, kind: DepKind, key: Key, why: Why) {
        if self.is_fail(from) || self.is_fail(to) {
            return;
        }
        let Some(id) = self.edges.add(EdgeRec { from, to, kind, key, why }) else { return };
        if self.collect && self.is_active(from) && self.is_active(to) {
            self.fresh.push(id);
        }
    }

    pub fn report(&mut self, kind: AnomalyKind, txns: Vec<usize>, explanation: String) {
        self.found.push(Anomaly { kind, txns, steps: Vec::new(), explanation });
    }
}

/// What is known about one key.
#[derive(Clone, Debug)]
enum KeyState {
    /// Only `null` reads so far: the (txn, operation) of each.
    Unknown(Vec<(usize, usize)>),
    List(ListKey),
    Reg(RegKey),
    /// Used both as a list and as a register: reported, then ignored.
    Mixed,
}

#[derive(Clone, Debug)]
struct Slot {
    state: KeyState,
    /// The transaction whose operation fixed the key's kind.
    by: usize,
}

/// How an operation uses its key.
#[derive(Clone, Debug, Copy, PartialEq, Eq)]
enum Use {
    List,
    Reg,
    Either,
}

fn use_of(op: &Mop) -> Use {
    match op {
        Mop::Append { .. } | Mop::Read { seen: Some(Seen::List(_)), .. } => Use::List,
        Mop::Write { .. } | Mop::Read { seen: Some(Seen::Register(Some(_))), .. } => Use::Reg,
        Mop::Read { .. } => Use::Either,
    }
}

pub(crate) fn key_of(op: &Mop) -> Key {
    match op {
        Mop::Read { key, .. } | Mop::Write { key, .. } | Mop::Append { key, .. } => *key,
    }
}

/// The first transaction to use a key as a list, and as a register.
#[derive(Clone, Debug)]
struct Uses {
    list: Option<usize>,
    reg: Option<usize>,
}

/// Keys of `txns` used both as lists and as registers, with the first transaction of each
/// use (list first).
pub(crate) fn mixed_keys(txns: &[Txn]) -> BTreeMap<Key, (usize, usize)> {
    let mut uses: BTreeMap<Key, Uses> = BTreeMap::new();
    for (t, txn) in txns.iter().enumerate() {
        for op in &txn.ops {
            let entry = uses.entry(key_of(op)).or_insert(Uses { list: None, reg: None });
            match use_of(op) {
                Use::List => entry.list = entry.list.or(Some(t)),
                Use::Reg => entry.reg = entry.reg.or(Some(t)),
                Use::Either => {}
            }
        }
    }
    uses.into_iter().filter_map(|(key, u)| Some((key, (u.list?, u.reg?)))).collect()
}

/// The engine: feed it every transaction in turn with `add`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Engine {
    pub core: Core,
    keys: BTreeMap<Key, Slot>,
}

impl Engine {
    /// `collect`: queue edges as they join the graph, for incremental cycle search.
    pub fn new(collect: bool) -> Self {
        Engine { core: Core { collect, ..Core::default() }, keys: BTreeMap::new() }
    }

    /// Marks keys known in advance to be mixed and reports each.
    pub fn premixed(&mut self, txns: &[Txn], mixed: BTreeMap<Key, (usize, usize)>) {
        for (key, (list_txn, reg_txn)) in mixed {
            let text = explain::mixed(txns, key, list_txn, reg_txn);
            let mut pair = vec![list_txn, reg_txn];
            pair.sort_unstable();
            pair.dedup();
            self.core.report(AnomalyKind::IncompatibleOrder, pair, text);
            self.keys.insert(key, Slot { state: KeyState::Mixed, by: list_txn.min(reg_txn) });
        }
    }

    /// Transactions in the graph.
    pub fn committed(&self) -> usize {
        self.core.committed
    }

    /// Edges whose ends are both in the graph.
    pub fn graph_edges(&self) -> impl Iterator<Item = (usize, &EdgeRec)> + '_ {
        self.core
            .edges
            .edges
            .iter()
            .enumerate()
            .filter(|(_, e)| self.core.is_active(e.from) && self.core.is_active(e.to))
    }

    /// Adds transaction `t` (`txns[t]`; every earlier one has been added). Returns the
    /// anomalies it reveals; the edges that joined the graph are in `core.fresh`.
    pub fn add(&mut self, txns: &[Txn], t: usize) -> Vec<Anomaly> {
        let Some(txn) = txns.get(t) else { return Vec::new() };
        let n = t + 1;
        self.core.edges.grow(n);
        if self.core.status.len() < n {
            self.core.status.resize(n, Status::Fail);
            self.core.active.resize(n, false);
        }
        if let Some(status) = self.core.status.get_mut(t) {
            *status = txn.status;
        }
        let mut inconsistent = BTreeSet::new();
        if txn.status == Status::Ok {
            self.core.activate(t);
            let (anomalies, keys) = crate::internal::check(txns, t);
            self.core.found.extend(anomalies);
            inconsistent = keys;
        }
        self.classify(txns, t);
        self.writes(txns, t);
        if txn.status == Status::Ok {
            self.reads(txns, t, &inconsistent);
        }
        std::mem::take(&mut self.core.found)
    }

    /// Settles the kind of every key `t` uses, reporting keys that become mixed.
    fn classify(&mut self, txns: &[Txn], t: usize) {
        let Some(txn) = txns.get(t) else { return };
        // For each key: does `t` use it as a list, as a register?
        let mut uses: BTreeMap<Key, (bool, bool)> = BTreeMap::new();
        for op in &txn.ops {
            let key = key_of(op);
            self.keys.entry(key).or_insert(Slot { state: KeyState::Unknown(Vec::new()), by: t });
            let entry = uses.entry(key).or_insert((false, false));
            match use_of(op) {
                Use::List => entry.0 = true,
                Use::Reg => entry.1 = true,
                Use::Either => {}
            }
        }
        for (key, (list, reg)) in uses {
            let Some(slot) = self.keys.get_mut(&key) else { continue };
            let conflict = match slot.state {
                KeyState::Mixed => continue,
                KeyState::Unknown(_) => list && reg,
                KeyState::List(_) => reg,
                KeyState::Reg(_) => list,
            };
            if conflict {
                let list_txn = if list { t } else { slot.by };
                let reg_txn = if reg { t } else { slot.by };
                slot.state = KeyState::Mixed;
                let text = explain::mixed(txns, key, list_txn, reg_txn);
                let mut pair = vec![list_txn, reg_txn];
                pair.sort_unstable();
                pair.dedup();
                self.core.report(AnomalyKind::IncompatibleOrder, pair, text);
            } else if let KeyState::Unknown(nil_readers) = &mut slot.state {
                if !list && !reg {
                    continue;
                }
                let nil_readers = std::mem::take(nil_readers);
                slot.by = t;
                slot.state = if list {
                    KeyState::List(ListKey::new(nil_readers))
                } else {
                    KeyState::Reg(RegKey::new(nil_readers))
                };
            }
        }
    }

    /// Indexes `t`'s appends and writes (of any status: a failed write is needed to name a
    /// G1a), and makes the edges they complete.
    fn writes(&mut self, txns: &[Txn], t: usize) {
        let Some(txn) = txns.get(t) else { return };
        let mut reg_keys: BTreeSet<Key> = BTreeSet::new();
        for op in &txn.ops {
            match op {
                Mop::Append { key, value } => {
                    if let Some(Slot { state: KeyState::List(list), .. }) = self.keys.get_mut(key) {
                        list.append(&mut self.core, txns, *key, t, *value);
                    }
                }
                Mop::Write { key, .. } => {
                    reg_keys.insert(*key);
                }
                Mop::Read { .. } => {}
            }
        }
        for key in reg_keys {
            if let Some(Slot { state: KeyState::Reg(reg), .. }) = self.keys.get_mut(&key) {
                reg.writes(&mut self.core, txns, key, t);
            }
        }
    }

    /// Uses `t`'s reads (a committed transaction's), except of keys it read inconsistently.
    fn reads(&mut self, txns: &[Txn], t: usize, skip: &BTreeSet<Key>) {
        let Some(txn) = txns.get(t) else { return };
        let mut reg_keys: BTreeSet<Key> = BTreeSet::new();
        for (mop, op) in txn.ops.iter().enumerate() {
            let Mop::Read { key, seen: Some(seen) } = op else { continue };
            if skip.contains(key) {
                continue;
            }
            let Some(slot) = self.keys.get_mut(key) else { continue };
            match (&mut slot.state, seen) {
                (KeyState::Unknown(nil_readers), Seen::Register(None)) => {
                    nil_readers.push((t, mop));
                }
                (KeyState::List(list), Seen::List(values)) => {
                    list.read(&mut self.core, txns, *key, t, mop, values);
                }
                (KeyState::List(list), Seen::Register(None)) => {
                    list.read(&mut self.core, txns, *key, t, mop, &[]);
                }
                (KeyState::Reg(_), Seen::Register(_)) => {
                    reg_keys.insert(*key);
                }
                _ => {}
            }
        }
        for key in reg_keys {
            if let Some(Slot { state: KeyState::Reg(reg), .. }) = self.keys.get_mut(&key) {
                reg.read(&mut self.core, txns, key, t);
            }
        }
    }
}
