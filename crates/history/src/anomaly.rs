//! What the checker reports: dependency edges, anomaly classes and the report itself.

use serde::{Deserialize, Serialize, Serializer};

use crate::Key;

/// The kind of a dependency between two committed transactions (Adya's direct dependencies).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DepKind {
    /// Write-write: `to` installed the version of `key` right after the one `from` installed.
    Ww,
    /// Write-read: `to` read the version of `key` that `from` installed.
    Wr,
    /// Read-write (an anti-dependency): `from` read a version of `key` that `to` overwrote.
    Rw,
}

impl DepKind {
    /// "ww", "wr" or "rw".
    pub fn name(self) -> &'static str {
        match self {
            DepKind::Ww => "ww",
            DepKind::Wr => "wr",
            DepKind::Rw => "rw",
        }
    }
}

/// One edge of the dependency graph: `from` must precede `to` in any serial order.
/// `from` and `to` are indices into `History::txns`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub kind: DepKind,
    pub key: Key,
}

/// The anomaly classes the checker names (Adya's, plus Elle's direct observations).
///
/// The order of the variants is the order anomalies are reported in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AnomalyKind {
    G0,
    G1a,
    G1b,
    G1c,
    GSingle,
    G2Item,
    LostUpdate,
    InternalInconsistency,
    DuplicateAppend,
    IncompatibleOrder,
}

impl AnomalyKind {
    /// Every kind, in report order.
    pub const ALL: [AnomalyKind; 10] = [
        AnomalyKind::G0,
        AnomalyKind::G1a,
        AnomalyKind::G1b,
        AnomalyKind::G1c,
        AnomalyKind::GSingle,
        AnomalyKind::G2Item,
        AnomalyKind::LostUpdate,
        AnomalyKind::InternalInconsistency,
        AnomalyKind::DuplicateAppend,
        AnomalyKind::IncompatibleOrder,
    ];

    /// The name Elle and Adya use ("G0", "G-single", "lost update", ...).
    pub fn name(self) -> &'static str {
        match self {
            AnomalyKind::G0 => "G0",
            AnomalyKind::G1a => "G1a",
            AnomalyKind::G1b => "G1b",
            AnomalyKind::G1c => "G1c",
            AnomalyKind::GSingle => "G-single",
            AnomalyKind::G2Item => "G2-item",
            AnomalyKind::LostUpdate => "lost update",
            AnomalyKind::InternalInconsistency => "internal inconsistency",
            AnomalyKind::DuplicateAppend => "duplicate append",
            AnomalyKind::IncompatibleOrder => "incompatible order",
        }
    }

    /// The name with its everyday gloss, as explanations end: "G-single (read skew)".
    pub fn label(self) -> &'static str {
        match self {
            AnomalyKind::G0 => "G0 (write cycle)",
            AnomalyKind::G1a => "G1a (aborted read)",
            AnomalyKind::G1b => "G1b (intermediate read)",
            AnomalyKind::G1c => "G1c (circular information flow)",
            AnomalyKind::GSingle => "G-single (read skew)",
            AnomalyKind::G2Item => "G2-item (anti-dependency cycle, e.g. write skew)",
            AnomalyKind::LostUpdate => "lost update",
            AnomalyKind::InternalInconsistency => "internal inconsistency",
            AnomalyKind::DuplicateAppend => "duplicate append",
            AnomalyKind::IncompatibleOrder => "incompatible order",
        }
    }

    /// One sentence saying what the class means.
    pub fn about(self) -> &'static str {
        match self {
            AnomalyKind::G0 => {
                "G0 write cycle: committed transactions overwrote each other's writes in a cycle \
                 (a cycle of ww dependencies only)"
            }
            AnomalyKind::G1a => {
                "G1a aborted read: a committed transaction read a value written by a transaction \
                 that aborted"
            }
            AnomalyKind::G1b => {
                "G1b intermediate read: a committed transaction read a value that its writer \
                 overwrote later in the same transaction"
            }
            AnomalyKind::G1c => {
                "G1c circular information flow: a cycle of ww and wr dependencies with at least \
                 one wr, so each transaction saw or overwrote the effects of the next"
            }
            AnomalyKind::GSingle => {
                "G-single read skew: a dependency cycle with exactly one rw anti-dependency, so a \
                 transaction saw part of another's effects but not the rest"
            }
            AnomalyKind::G2Item => {
                "G2-item anti-dependency cycle: a dependency cycle with two or more rw \
                 anti-dependencies, as in write skew, where each transaction missed another's write"
            }
            AnomalyKind::LostUpdate => {
                "lost update: two committed transactions read the same version of a key and both \
                 wrote it, so one overwrote the other's update without seeing it"
            }
            AnomalyKind::InternalInconsistency => {
                "internal inconsistency: a transaction's read disagrees with its own earlier reads \
                 or writes of the same key"
            }
            AnomalyKind::DuplicateAppend => {
                "duplicate append: a value appended to a key once appears twice in a read of it, \
                 or two transactions appended the same value to one key"
            }
            AnomalyKind::IncompatibleOrder => {
                "incompatible order: two reads of a key disagree on its order of versions \
                 (neither list is a prefix of the other), or one key is used both as a list and \
                 as a register"
            }
        }
    }
}

impl Serialize for AnomalyKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// One anomaly found in a history.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    /// Indices into `History::txns`: for a cycle, its transactions in order (the cycle closes
    /// from the last back to the first); otherwise the transactions involved, the one that
    /// observed the anomaly first.
    pub txns: Vec<usize>,
    /// For a cycle, its edges in order (`steps[i]` goes from `txns[i]` to the next); empty
    /// otherwise.
    pub steps: Vec<Edge>,
    /// One plain sentence naming the transactions, keys and values.
    pub explanation: String,
}

/// What `check` found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Report {
    /// Sorted by kind, then by first transaction.
    pub anomalies: Vec<Anomaly>,
    /// Transactions in the dependency graph: the committed ones, and the indeterminate
    /// (`Info`) ones whose writes someone observed.
    pub committed: usize,
    /// Distinct (from, to, kind) edges of the dependency graph.
    pub edges: usize,
}

impl Report {
    /// Whether no anomaly was found.
    pub fn is_clean(&self) -> bool {
        self.anomalies.is_empty()
    }

    /// The kinds found, each once, in report order.
    pub fn kinds(&self) -> Vec<AnomalyKind> {
        let mut kinds: Vec<AnomalyKind> = self.anomalies.iter().map(|a| a.kind).collect();
        kinds.dedup();
        kinds
    }
}

/// Sorts anomalies deterministically: by kind, then first transaction, then the rest.
pub(crate) fn sort(anomalies: &mut [Anomaly]) {
    anomalies.sort_by(|a, b| {
        (a.kind, a.txns.first(), &a.txns, &a.explanation).cmp(&(
            b.kind,
            b.txns.first(),
            &b.txns,
            &b.explanation,
        ))
    });
}
