//! The incremental checker, for a monitor that sees transactions one at a time.
//!
//! It runs the same inference as `check` (so direct anomalies are found exactly as `check`
//! finds them), and keeps the graph acyclic-so-far in a topological order maintained
//! with Pearce and Kelly's dynamic algorithm ("A dynamic topological sort algorithm for
//! directed acyclic graphs", JEA 2006). Each edge that joins the graph, whether it touches
//! the new transaction or was revealed between two older ones (a long read ordering two
//! earlier appends), is inserted:
//!
//! - if it agrees with the order (`from` before `to`), nothing can have closed: O(1);
//! - otherwise only the nodes between its ends in the order can be on a cycle through it:
//!   a search forward from `to` and back from `from`, bounded to that window, either finds
//!   the cycle or reorders just those nodes.
//!
//! Serializable runs mostly add edges that agree with the order, and the window of the rest
//! is the set of transactions concurrent with the new one, so the cost per `add` follows
//! the part of the graph it affects, not the history's length.
//!
//! A cycle is named by its most severe class: breadth-first searches through the window
//! for a path back of each class in turn (G0, G1c, G-single, G2-item). The edge that closed
//! it is then kept out of the order (the order cannot hold a cycle), so later cycles through
//! that same edge are not looked for again: after a first cycle, later ones may go unreported.
//! What is guaranteed: if `check` finds an anomaly in the final history, some `add`
//! reported one.

use std::collections::BTreeSet;

use crate::graph::{Class, Search};
use crate::infer::Engine;
use crate::{anomaly, cycles, Anomaly, History, Txn};

const UNSET: u64 = u64::MAX;

/// Checks a history as it grows, one finished transaction at a time.
#[derive(Clone, Debug)]
pub struct Incremental {
    history: History,
    engine: Engine,
    /// Each transaction's place in the topological order (`UNSET` before its first edge).
    ord: Vec<u64>,
    next_ord: u64,
    /// The edges kept in the order, out of and into each transaction.
    fwd: Vec<Vec<usize>>,
    bwd: Vec<Vec<usize>>,
    search: Search,
    mark: Vec<u32>,
    epoch: u32,
    /// The (sorted) transactions of each cycle reported: a set is named once, by the first
    /// (most severe) class found for it.
    reported: BTreeSet<Vec<usize>>,
}

impl Default for Incremental {
    fn default() -> Self {
        Self::new()
    }
}

impl Incremental {
    pub fn new() -> Self {
        Incremental {
            history: History::default(),
            engine: Engine::new(true),
            ord: Vec::new(),
            next_ord: 0,
            fwd: Vec::new(),
            bwd: Vec::new(),
            search: Search::default(),
            mark: Vec::new(),
            epoch: 0,
            reported: BTreeSet::new(),
        }
    }

    /// Adds one finished transaction (any status) and returns the anomalies this addition
    /// newly makes visible, sorted like `check`'s (usually none).
    pub fn add(&mut self, txn: Txn) -> Vec<Anomaly> {
        let t = self.history.txns.len();
        self.history.txns.push(txn);
        let n = t + 1;
        self.ord.resize(n, UNSET);
        self.fwd.resize_with(n, Vec::new);
        self.bwd.resize_with(n, Vec::new);
        self.mark.resize(n, 0);
        let mut found = self.engine.add(&self.history.txns, t);
        for id in std::mem::take(&mut self.engine.core.fresh) {
            if let Some(cycle) = self.insert(id) {
                let mut members = cycle.txns.clone();
                members.sort_unstable();
                if self.reported.insert(members) {
                    found.push(cycle);
                }
            }
        }
        anomaly::sort(&mut found);
        found
    }

    /// The transactions added so far.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Transactions in the dependency graph so far.
    pub fn committed(&self) -> usize {
        self.engine.committed()
    }

    /// Edges of the dependency graph so far.
    pub fn edges(&self) -> usize {
        self.engine.graph_edges().count()
    }

    fn ord_of(&mut self, node: usize) -> u64 {
        match self.ord.get_mut(node) {
            Some(slot) if *slot == UNSET => {
                *slot = self.next_ord;
                self.next_ord += 1;
                *slot
            }
            Some(slot) => *slot,
            None => UNSET,
        }
    }

    fn ord(&self, node: usize) -> u64 {
        self.ord.get(node).copied().unwrap_or(UNSET)
    }

    fn next_epoch(&mut self) -> u32 {
        if self.epoch == u32::MAX {
            self.mark.iter_mut().for_each(|m| *m = 0);
            self.epoch = 0;
        }
        self.epoch += 1;
        self.epoch
    }

    /// Inserts edge `id` into the order; returns the cycle it closes, if any.
    fn insert(&mut self, id: usize) -> Option<Anomaly> {
        let e = *self.engine.core.edges.get(id)?;
        let (x, y) = (e.from, e.to);
        let (ox, oy) = (self.ord_of(x), self.ord_of(y));
        if ox == UNSET || oy == UNSET {
            return None;
        }
        if ox < oy {
            self.keep(id, x, y);
            return None;
        }
        let epoch = self.next_epoch();
        let Some(forward) = self.reach_forward(y, x, ox, epoch) else {
            return self.name_cycle(id, oy, ox);
        };
        let backward = self.reach_backward(x, oy, epoch);
        self.reorder(forward, backward);
        self.keep(id, x, y);
        None
    }

    fn keep(&mut self, id: usize, x: usize, y: usize) {
        if let Some(out) = self.fwd.get_mut(x) {
            out.push(id);
        }
        if let Some(inn) = self.bwd.get_mut(y) {
            inn.push(id);
        }
    }

    /// Nodes reachable from `y` placed before `ub`, or `None` if `x` is reachable (a cycle).
    fn reach_forward(&mut self, y: usize, x: usize, ub: u64, epoch: u32) -> Option<Vec<usize>> {
        let edges = &self.engine.core.edges;
        let mut seen = vec![y];
        let mut stack = vec![y];
        if let Some(m) = self.mark.get_mut(y) {
            *m = epoch;
        }
        while let Some(w) = stack.pop() {
            for &id in self.fwd.get(w).map(Vec::as_slice).unwrap_or(&[]) {
                let Some(z) = edges.get(id).map(|e| e.to) else { continue };
                if z == x {
                    return None;
                }
                let fresh = self.mark.get(z).is_some_and(|&m| m != epoch);
                if fresh && self.ord.get(z).is_some_and(|&o| o < ub) {
                    if let Some(m) = self.mark.get_mut(z) {
                        *m = epoch;
                    }
                    seen.push(z);
                    stack.push(z);
                }
            }
        }
        Some(seen)
    }

    /// Nodes that reach `x` placed after `lb`.
    fn reach_backward(&mut self, x: usize, lb: u64, epoch: u32) -> Vec<usize> {
        let edges = &self.engine.core.edges;
        let mut seen = vec![x];
        let mut stack = vec![x];
        if let Some(m) = self.mark.get_mut(x) {
            *m = epoch;
        }
        while let Some(w) = stack.pop() {
            for &id in self.bwd.get(w).map(Vec::as_slice).unwrap_or(&[]) {
                let Some(z) = edges.get(id).map(|e| e.from) else { continue };
                let fresh = self.mark.get(z).is_some_and(|&m| m != epoch);
                if fresh && self.ord.get(z).is_some_and(|&o| o > lb) {
                    if let Some(m) = self.mark.get_mut(z) {
                        *m = epoch;
                    }
                    seen.push(z);
                    stack.push(z);
                }
            }
        }
        seen
    }

    /// Gives the nodes that reach the new edge's tail the first of their places, then those
    /// reachable from its head (Pearce–Kelly's reordering).
    fn reorder(&mut self, mut forward: Vec<usize>, mut backward: Vec<usize>) {
        forward.sort_by_key(|&v| self.ord(v));
        backward.sort_by_key(|&v| self.ord(v));
        let nodes: Vec<usize> = backward.into_iter().chain(forward).collect();
        let mut places: Vec<u64> = nodes.iter().map(|&v| self.ord(v)).collect();
        places.sort_unstable();
        for (node, place) in nodes.into_iter().zip(places) {
            if let Some(slot) = self.ord.get_mut(node) {
                *slot = place;
            }
        }
    }

    /// Edge `id` closes a cycle whose nodes all lie between `lb` and `ub` in the order: the
    /// shortest one of the most severe class.
    fn name_cycle(&mut self, id: usize, lb: u64, ub: u64) -> Option<Anomaly> {
        let edges = self.engine.core.edges.edges.as_slice();
        let e = edges.get(id)?;
        let ord = &self.ord;
        let within = |v: usize| ord.get(v).is_some_and(|&o| o >= lb && o <= ub);
        let mut work = 0;
        // The shortest path back of any kind is a simple cycle: the fallback if no class's
        // own search finds a simple one.
        for class in Class::ALL.into_iter().chain([Class::Any]) {
            let Some(state) = class.step(0, e.kind) else { continue };
            let path =
                self.search.path(&self.fwd, edges, e.to, state, e.from, class, &within, &mut work);
            if let Some(path) = path {
                let mut cycle = vec![id];
                cycle.extend(path);
                return Some(cycles::anomaly(&self.history.txns, edges, &cycle));
            }
        }
        None
    }
}
