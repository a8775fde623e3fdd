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
//!
//! - [`check`] checks a whole history and returns a [`Report`];
//! - [`Incremental`] checks one as it grows, for a monitor that sees one finished
//!   transaction at a time;
//! - [`parse_history`] reads our JSON form or Jepsen's, and [`History::to_json`] writes ours.
//!
//! How it works, module by module: `infer` feeds each transaction to the per-key inference
//! (`list` for list-append keys, `register` for registers) and the per-transaction checks
//! (`internal`), which yield edges and direct anomalies (G1a, G1b, lost update, ...);
//! `graph` holds the edges and the searches; `cycles` finds the cycles of a whole graph
//! (Tarjan, then a shortest cycle per class); `incremental` keeps a topological order and
//! looks only where a new edge can close a cycle; `explain` writes the sentences; `json`
//! reads and writes histories.
//!
//! What the checker assumes, as Elle does: values appended or written to a key are unique
//! (a failed attempt and a retry of the same value are fine), and a list read returns the
//! whole list. It is sound but not complete: an append no read shows, or register versions
//! no read-then-write orders, give no edges, so some anomalies go unseen.

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
///
/// ```
/// use commitscope_history::{check, parse_history, AnomalyKind};
///
/// // Write skew: each read the key the other appended to as empty; T3 saw both appends.
/// let history = parse_history(
///     r#"{"txns": [
///       {"name": "T1", "process": 0, "status": "ok", "ops": [["r", 1, null], ["append", 2, 1]]},
///       {"name": "T2", "process": 1, "status": "ok", "ops": [["r", 2, null], ["append", 1, 1]]},
///       {"name": "T3", "process": 2, "status": "ok", "ops": [["r", 1, [1]], ["r", 2, [1]]]}
///     ]}"#,
/// )
/// .unwrap();
/// let report = check(&history);
/// assert_eq!(report.kinds(), [AnomalyKind::G2Item]);
/// assert_eq!(report.anomalies[0].txns, [0, 1]);
/// ```
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
