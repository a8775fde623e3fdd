//! Cycles in the whole graph, as `check` finds them (Elle's way).
//!
//! Tarjan's algorithm splits the graph into strongly connected components; every cycle lies
//! inside one. For each non-trivial component and each class (G0, G1c, G-single, G2-item)
//! we look for the shortest cycle of that class and report it, so a component yields at
//! most one cycle per class (and a set of transactions is named once, by the most severe
//! class it shows). A cycle is an edge `u → v` plus a shortest path back `v ⇝ u`
//! under the class's constraint, found by breadth-first search from `v`:
//!
//! - G0 starts from ww edges whose ends lie in one component of the ww-only graph, and G1c
//!   from wr edges whose ends lie in one component of the ww+wr graph: each such edge is
//!   on a cycle of the class, so the search is complete;
//! - G-single (exactly one rw) and G2-item (two or more) start from rw edges, those whose
//!   ends lie in one ww+wr component first (they surely close a G-single cycle).
//!
//! Each search is linear in the component's size; the candidates tried per component and
//! class stop after a work budget proportional to the component (and as soon as a cycle of
//! two edges, the shortest possible, is found), so the whole is near-linear.

use std::collections::BTreeMap;

use crate::explain;
use crate::graph::{tarjan, Class, EdgeRec, Search};
use crate::infer::Engine;
use crate::{Anomaly, DepKind, Txn};

/// The graph restricted to transactions in it, with its component numberings.
#[derive(Clone, Debug)]
struct Components<'a> {
    adj: Vec<Vec<usize>>,
    edges: &'a [EdgeRec],
    /// Per node: its component in the whole graph, the ww+wr graph and the ww graph.
    all: Vec<usize>,
    read_write: Vec<usize>,
    write: Vec<usize>,
}

/// Every cycle anomaly of the engine's graph: at most one per component and class.
pub(crate) fn find(engine: &Engine, txns: &[Txn]) -> Vec<Anomaly> {
    let n = txns.len();
    let edges = engine.core.edges.edges.as_slice();
    let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (id, e) in engine.graph_edges() {
        if let Some(out) = adj.get_mut(e.from) {
            out.push(id);
        }
    }
    let all = tarjan(n, &adj, edges, |_| true);
    let read_write = tarjan(n, &adj, edges, |e| e.kind != DepKind::Rw);
    let write = tarjan(n, &adj, edges, |e| e.kind == DepKind::Ww);
    let graph = Components { adj, edges, all, read_write, write };

    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (node, &c) in graph.all.iter().enumerate() {
        members.entry(c).or_default().push(node);
    }
    let mut sccs: Vec<Vec<usize>> = members.into_values().filter(|m| m.len() > 1).collect();
    sccs.sort_by_key(|m| m.first().copied());

    let mut search = Search::default();
    let mut found = Vec::new();
    for scc in &sccs {
        // Transaction sets already shown by a more severe class in this component: the same
        // transactions are not reported again under a milder name.
        let mut shown: Vec<Vec<usize>> = Vec::new();
        for class in Class::ALL {
            let Some(cycle) = shortest(&graph, &mut search, scc, class) else { continue };
            let found_one = anomaly(txns, edges, &cycle);
            let mut members = found_one.txns.clone();
            members.sort_unstable();
            if !shown.contains(&members) {
                shown.push(members);
                found.push(found_one);
            }
        }
    }
    found
}

/// The shortest cycle of `class` found in the component `scc`, as edge ids.
fn shortest(
    graph: &Components,
    search: &mut Search,
    scc: &[usize],
    class: Class,
) -> Option<Vec<usize>> {
    let c = graph.all.get(*scc.first()?)?;
    let inside = |x: usize| graph.all.get(x) == Some(c);
    let same = |comp: &[usize], e: &EdgeRec| comp.get(e.from) == comp.get(e.to);
    let mut inner = 0;
    let mut candidates: Vec<(bool, usize)> = Vec::new();
    for &u in scc {
        for &id in graph.adj.get(u).map(Vec::as_slice).unwrap_or(&[]) {
            let Some(e) = graph.edges.get(id) else { continue };
            if !inside(e.to) {
                continue;
            }
            inner += 1;
            let (fits, sure) = match class {
                Class::G0 => (e.kind == DepKind::Ww && same(&graph.write, e), true),
                Class::G1c => (e.kind == DepKind::Wr && same(&graph.read_write, e), true),
                Class::GSingle => (e.kind == DepKind::Rw, same(&graph.read_write, e)),
                Class::G2 | Class::Any => (e.kind == DepKind::Rw, false),
            };
            if fits {
                candidates.push((!sure, id));
            }
        }
    }
    candidates.sort();
    let budget = 8 * 6 * (inner + scc.len()) + 10_000;
    let mut work = 0;
    let mut best: Option<Vec<usize>> = None;
    for &(_, id) in &candidates {
        if work >= budget {
            break;
        }
        let Some(e) = graph.edges.get(id) else { continue };
        let Some(state) = class.step(0, e.kind) else { continue };
        let path =
            search.path(&graph.adj, graph.edges, e.to, state, e.from, class, &inside, &mut work);
        let Some(path) = path else { continue };
        if best.as_ref().is_none_or(|b| path.len() + 1 < b.len()) {
            let mut cycle = vec![id];
            cycle.extend(path);
            let done = cycle.len() <= 2;
            best = Some(cycle);
            if done {
                break;
            }
        }
    }
    best
}

/// A cycle (edge ids, in order) as an anomaly, rotated to start at its lowest transaction.
pub(crate) fn anomaly(txns: &[Txn], edges: &[EdgeRec], cycle: &[usize]) -> Anomaly {
    let mut recs: Vec<EdgeRec> = cycle.iter().filter_map(|&id| edges.get(id).copied()).collect();
    if let Some(start) = recs.iter().enumerate().min_by_key(|(_, e)| e.from).map(|(i, _)| i) {
        recs.rotate_left(start);
    }
    let kind = Class::of(recs.iter().map(|e| e.kind)).kind();
    Anomaly {
        kind,
        txns: recs.iter().map(|e| e.from).collect(),
        steps: recs.iter().map(EdgeRec::public).collect(),
        explanation: explain::cycle(txns, &recs, kind),
    }
}
