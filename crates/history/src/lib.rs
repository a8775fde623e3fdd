//! Transactional histories and an Elle-style checker of them (Kingsbury & Alvaro, "Elle:
//! Inferring Isolation Anomalies from Experimental Observations", VLDB 2021).
//!
//! A history is a list of transactions, each a list of micro-operations on integer keys
//! (Maelstrom's `txn-list-append` and `txn-rw-register` vocabulary) with an outcome. The
//! checker infers the version order of each key from what was observed (list-append reads
//! show it whole; registers only in part), builds the dependency graph of the committed
//! transactions (Adya's ww, wr and rw edges), searches it for cycles and names every anomaly
//! it finds (G0, G1a, G1b, G1c, G-single, G2-item, lost update, ...), with the transactions
//! and edges that show it.
//!
//! Pure: no I/O, no clock, no unordered iteration. The simulator's monitor, the harness and
//! the CLI share it.

use serde::{Deserialize, Serialize};

mod anomaly;
mod cycles;
mod explain;
mod graph;
mod incremental;
mod infer;
mod internal;
mod json;
mod list;
mod register;

pub use anomaly::{Anomaly, AnomalyKind, DepKind, Edge, Report};
pub use incremental::Incremental;
pub use json::{parse_history, ParseError};

pub type Key = u64;
pub type Value = i64;

/// One micro-operation, as a transaction asked for it and (for reads) what it saw.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Mop {
    /// A read; `None` until it is answered. A register read sees one value (`None` when
    /// the key was never written); a list read sees the whole list.
    Read { key: Key, seen: Option<Seen> },
    /// A register write.
    Write { key: Key, value: Value },
    /// A list append.
    Append { key: Key, value: Value },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Seen {
    Register(Option<Value>),
    List(Vec<Value>),
}

/// How a transaction ended, as its client knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Committed (Jepsen's `:ok`).
    Ok,
    /// Definitely did not happen (`:fail`: an abort, a definite error).
    Fail,
    /// May or may not have happened (`:info`: a crash, a timeout).
    Info,
}

/// One transaction of a history.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Txn {
    /// A name to report it by ("c1/t1.2", "T3").
    pub name: String,
    /// The process (client) that ran it.
    pub process: u64,
    pub ops: Vec<Mop>,
    pub status: Status,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct History {
    pub txns: Vec<Txn>,
}

/// Checks a whole history: infers the dependency graph of its committed transactions, finds
/// the direct anomalies and, in each strongly connected component of the graph, the
/// shortest cycle of each class. Pure and deterministic.
pub fn check(history: &History) -> Report {
    let txns = &history.txns;
    let mut engine = infer::Engine::new(false);
    engine.premixed(txns, infer::mixed_keys(txns));
    let mut anomalies = std::mem::take(&mut engine.core.found);
    for t in 0..txns.len() {
        anomalies.extend(engine.add(txns, t));
    }
    anomalies.extend(cycles::find(&engine, txns));
    anomaly::sort(&mut anomalies);
    Report { anomalies, committed: engine.committed(), edges: engine.graph_edges().count() }
}
