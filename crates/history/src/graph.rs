//! The dependency graph: edges with the observation behind each, strongly connected
//! components (Tarjan's algorithm, iterative), and breadth-first searches for the shortest
//! cycle of a given anomaly class.
//!
//! A cycle's class depends only on the kinds of its edges: no rw and no wr is G0, no rw and
//! some wr is G1c, exactly one rw is G-single, two or more is G2-item. A search walks
//! (transaction, counts so far) pairs, where the counts are "rw edges: 0, 1 or 2+" and "wr
//! edges: 0 or 1+", so one breadth-first pass finds the shortest path of a class.

use std::collections::{BTreeSet, VecDeque};

use crate::{AnomalyKind, DepKind, Edge, Key, Value};

/// The observation an edge was inferred from, kept to explain it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Why {
    /// List: `to`'s append of `next` comes right after `from`'s append of `prev`.
    AppendAfter { prev: Value, next: Value },
    /// Register: `to` read `from`'s `prev` and then wrote `next`.
    WriteOver { prev: Value, next: Value },
    /// `to`'s read (its operation `mop`) saw `from`'s `value` (the last element, for a list).
    ReadFrom { value: Value, mop: usize, list: bool },
    /// `from`'s read (its operation `mop`) saw the version right before `to`'s `next`.
    ReadBefore { mop: usize, next: Value, list: bool },
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct EdgeRec {
    pub from: usize,
    pub to: usize,
    pub kind: DepKind,
    pub key: Key,
    pub why: Why,
}

impl EdgeRec {
    pub fn public(&self) -> Edge {
        Edge { from: self.from, to: self.to, kind: self.kind, key: self.key }
    }
}

/// Every edge inferred so far, each (from, to, kind) once, with the edges touching each
/// transaction.
#[derive(Clone, Debug, Default)]
pub(crate) struct EdgeStore {
    pub edges: Vec<EdgeRec>,
    seen: BTreeSet<(usize, usize, DepKind)>,
    /// For each transaction, the ids of the edges into or out of it.
    pub incident: Vec<Vec<usize>>,
}

impl EdgeStore {
    pub fn grow(&mut self, n: usize) {
        if self.incident.len() < n {
            self.incident.resize_with(n, Vec::new);
        }
    }

    /// Adds an edge unless it is a self-loop or already known; returns its id if new.
    pub fn add(&mut self, edge: EdgeRec) -> Option<usize> {
        if edge.from == edge.to || !self.seen.insert((edge.from, edge.to, edge.kind)) {
            return None;
        }
        self.grow(edge.from.max(edge.to) + 1);
        let id = self.edges.len();
        self.edges.push(edge);
        self.incident.get_mut(edge.from)?.push(id);
        self.incident.get_mut(edge.to)?.push(id);
        Some(id)
    }

    pub fn get(&self, id: usize) -> Option<&EdgeRec> {
        self.edges.get(id)
    }
}

/// Strongly connected components of the graph on `n` nodes whose out-edges are `adj` (edge
/// ids), keeping only edges for which `keep` holds. Returns each node's component number.
/// Iterative, so a long path cannot overflow the stack.
pub(crate) fn tarjan(
    n: usize,
    adj: &[Vec<usize>],
    edges: &[EdgeRec],
    keep: impl Fn(&EdgeRec) -> bool,
) -> Vec<usize> {
    const UNSEEN: usize = usize::MAX;
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut comp = vec![UNSEEN; n];
    let mut stack: Vec<usize> = Vec::new();
    let mut calls: Vec<(usize, usize)> = Vec::new();
    let mut counter = 0;
    let mut comps = 0;
    for root in 0..n {
        if index[root] != UNSEEN {
            continue;
        }
        index[root] = counter;
        low[root] = counter;
        counter += 1;
        stack.push(root);
        on_stack[root] = true;
        calls.push((root, 0));
        while let Some(&mut (v, ref mut next)) = calls.last_mut() {
            let out = adj.get(v).map(Vec::as_slice).unwrap_or(&[]);
            if let Some(&id) = out.get(*next) {
                *next += 1;
                let Some(e) = edges.get(id) else { continue };
                if !keep(e) || e.to >= n {
                    continue;
                }
                let w = e.to;
                if index[w] == UNSEEN {
                    index[w] = counter;
                    low[w] = counter;
                    counter += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    calls.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(parent, _)) = calls.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    comp[w] = comps;
                    if w == v {
                        break;
                    }
                }
                comps += 1;
            }
        }
    }
    comp
}

/// A cycle class, as a constraint on the kinds of a cycle's edges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    G0,
    G1c,
    GSingle,
    G2,
    /// Any cycle at all (to be named by its edges afterwards).
    Any,
}

/// Search states: `rw * 2 + wr`, with rw counted 0, 1, 2+ and wr 0, 1+.
const STATES: usize = 6;

impl Class {
    /// In order of severity: the first class a cycle fits is its name.
    pub const ALL: [Class; 4] = [Class::G0, Class::G1c, Class::GSingle, Class::G2];

    pub fn kind(self) -> AnomalyKind {
        match self {
            Class::G0 => AnomalyKind::G0,
            Class::G1c => AnomalyKind::G1c,
            Class::GSingle => AnomalyKind::GSingle,
            // `Any` is only searched with; a cycle found is named by `Class::of` its edges.
            Class::G2 | Class::Any => AnomalyKind::G2Item,
        }
    }

    /// The state after following an edge of `kind`, or `None` if this class forbids it.
    pub fn step(self, state: u8, kind: DepKind) -> Option<u8> {
        let (rw, wr) = (state / 2, state % 2);
        let (rw, wr) = match kind {
            DepKind::Ww => (rw, wr),
            DepKind::Wr => (rw, 1),
            DepKind::Rw => ((rw + 1).min(2), wr),
        };
        let allowed = match self {
            Class::G0 => kind == DepKind::Ww,
            Class::G1c => kind != DepKind::Rw,
            Class::GSingle => rw <= 1,
            Class::G2 | Class::Any => true,
        };
        allowed.then_some(rw * 2 + wr)
    }

    /// Whether a whole cycle that ends in `state` belongs to this class.
    pub fn accepts(self, state: u8) -> bool {
        let (rw, wr) = (state / 2, state % 2);
        match self {
            Class::G0 => rw == 0 && wr == 0,
            Class::G1c => rw == 0 && wr == 1,
            Class::GSingle => rw == 1,
            Class::G2 => rw == 2,
            Class::Any => true,
        }
    }

    /// The class of a cycle with these edges.
    pub fn of(kinds: impl Iterator<Item = DepKind>) -> Class {
        let (mut rw, mut wr) = (0, 0);
        for kind in kinds {
            match kind {
                DepKind::Rw => rw += 1,
                DepKind::Wr => wr += 1,
                DepKind::Ww => {}
            }
        }
        match (rw, wr) {
            (0, 0) => Class::G0,
            (0, _) => Class::G1c,
            (1, _) => Class::GSingle,
            _ => Class::G2,
        }
    }
}

/// Whether the path of edges from `start` visits no transaction twice.
fn simple(edges: &[EdgeRec], start: usize, path: &[usize]) -> bool {
    let mut nodes: Vec<usize> = path.iter().filter_map(|&id| edges.get(id)).map(|e| e.to).collect();
    nodes.push(start);
    nodes.sort_unstable();
    let n = nodes.len();
    nodes.dedup();
    nodes.len() == n
}

/// Reusable scratch space for breadth-first searches over (node, state) pairs.
#[derive(Debug, Default)]
pub(crate) struct Search {
    stamp: Vec<u32>,
    parent: Vec<(usize, u8)>,
    epoch: u32,
    queue: VecDeque<(usize, u8)>,
}

/// A clone starts with empty scratch space: it holds no state between searches, and the
/// simulator clones its monitors (and so an `Incremental`) at every snapshot.
impl Clone for Search {
    fn clone(&self) -> Self {
        Search::default()
    }
}

impl Search {
    fn begin(&mut self, n: usize) {
        let size = n * STATES;
        if self.stamp.len() < size {
            self.stamp.resize(size, 0);
            self.parent.resize(size, (0, 0));
        }
        if self.epoch == u32::MAX {
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.epoch = 0;
        }
        self.epoch += 1;
        self.queue.clear();
    }

    /// The shortest path of edges from `start` (entered in `state`) to `target` that ends in
    /// a state `class` accepts, following `adj` (out-edge ids per node) through nodes for
    /// which `allowed` holds. Adds the edges it examined to `work`.
    #[allow(clippy::too_many_arguments)]
    pub fn path(
        &mut self,
        adj: &[Vec<usize>],
        edges: &[EdgeRec],
        start: usize,
        state: u8,
        target: usize,
        class: Class,
        allowed: &dyn Fn(usize) -> bool,
        work: &mut usize,
    ) -> Option<Vec<usize>> {
        let n = adj.len();
        if start >= n || target >= n {
            return None;
        }
        self.begin(n);
        let slot = |node: usize, state: u8| node * STATES + state as usize;
        let first = state;
        self.stamp[slot(start, first)] = self.epoch;
        self.queue.push_back((start, first));
        while let Some((node, state)) = self.queue.pop_front() {
            if node == target {
                // A cycle closes here; it is only a cycle if no transaction repeats.
                if class.accepts(state) {
                    let path = self.trace(edges, (start, first), (node, state));
                    if simple(edges, start, &path) {
                        return Some(path);
                    }
                }
                continue;
            }
            for &id in adj.get(node).map(Vec::as_slice).unwrap_or(&[]) {
                *work += 1;
                let Some(e) = edges.get(id) else { continue };
                let Some(next) = class.step(state, e.kind) else { continue };
                if e.to >= n || e.to == start || !allowed(e.to) {
                    continue;
                }
                let s = slot(e.to, next);
                if self.stamp[s] != self.epoch {
                    self.stamp[s] = self.epoch;
                    self.parent[s] = (id, state);
                    self.queue.push_back((e.to, next));
                }
            }
        }
        None
    }

    /// Walks parent links back from (node, state) to (start, first).
    fn trace(&self, edges: &[EdgeRec], start: (usize, u8), end: (usize, u8)) -> Vec<usize> {
        let mut path = Vec::new();
        let mut at = end;
        while at != start && path.len() <= edges.len() {
            let Some(&(id, prev)) = self.parent.get(at.0 * STATES + at.1 as usize) else {
                break;
            };
            let Some(e) = edges.get(id) else { break };
            path.push(id);
            at = (e.from, prev);
        }
        path.reverse();
        path
    }
}
