//! Vocabulary the commit protocols share: transaction ids, outcomes, node sets, the client
//! request, and the agreement/validity monitor.

use commitscope_engine::vecmap::VecMap;
use commitscope_engine::{NodeId, Time};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A transaction id that stays unique across coordinator restarts: the coordinator's
/// epoch (bumped and logged on every recovery) and a sequence number within it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TxnId {
    pub epoch: u32,
    pub seq: u32,
}

impl fmt::Display for TxnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}.{}", self.epoch, self.seq)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Commit,
    Abort,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Commit => "COMMIT",
            Outcome::Abort => "ABORT",
        })
    }
}

/// A transaction's decision as one node reaches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Decision {
    pub txn: TxnId,
    pub outcome: Outcome,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} for {}", self.outcome, self.txn)
    }
}

/// A set of nodes as a bit mask (node ids < 32).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct NodeSet(pub u32);

impl NodeSet {
    pub fn range(from: u32, to_inclusive: u32) -> NodeSet {
        NodeSet((from..=to_inclusive).fold(0, |m, i| m | 1 << i))
    }
    pub fn contains(self, n: NodeId) -> bool {
        self.0 & (1 << n.0) != 0
    }
    pub fn insert(&mut self, n: NodeId) {
        self.0 |= 1 << n.0;
    }
    pub fn len(self) -> u32 {
        self.0.count_ones()
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn iter(self) -> impl Iterator<Item = NodeId> + Clone {
        (0..32).filter(move |i| self.0 & (1 << i) != 0).map(NodeId)
    }
    pub fn without(self, other: NodeSet) -> NodeSet {
        NodeSet(self.0 & !other.0)
    }
}

/// A client's request to begin a transaction: a transfer between two accounts.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Begin {
    #[serde(default = "default_transfer")]
    pub transfer: u64,
}

fn default_transfer() -> u64 {
    100
}

impl fmt::Display for Begin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "begin a transfer of {}", self.transfer)
    }
}

/// What every atomic-commit monitor remembers: each node's decision per transaction.
#[derive(Clone, Debug, Default)]
pub struct Decisions {
    pub by_node: VecMap<(TxnId, NodeId), (Outcome, Time)>,
}

impl Decisions {
    /// Records `node`'s decision; returns the conflicting earlier decision of another
    /// node (or of the same node) if there is one.
    pub fn record(&mut self, node: NodeId, d: Decision, now: Time) -> Option<(NodeId, Outcome)> {
        let conflict = self
            .by_node
            .range((d.txn, NodeId(0))..=(d.txn, NodeId(u32::MAX)))
            .find(|(_, (o, _))| *o != d.outcome)
            .map(|((_, n), (o, _))| (*n, *o));
        self.by_node.entry((d.txn, node)).or_insert((d.outcome, now));
        conflict
    }
}
