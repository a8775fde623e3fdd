//! Vocabulary the commit protocols share: transaction ids, outcomes, node sets, the client
//! request, the agreement/validity monitor, parameter checks and epochs.

use commitscope_engine::vecmap::VecMap;
use commitscope_engine::{NodeId, NodeSpec, ParamError, Time};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A transaction id that stays unique across coordinator restarts: the coordinator's
/// epoch (bumped and logged on every recovery) and a sequence number within it; and, where
/// several clients begin transactions (the key-value store), the client's number, so that
/// two clients' ids never collide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TxnId {
    pub epoch: u32,
    pub seq: u32,
    /// The client that began it (1, 2, ...), or 0 where one coordinator begins them all.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub client: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl TxnId {
    pub fn new(epoch: u32, seq: u32) -> TxnId {
        TxnId { epoch, seq, client: 0 }
    }
}

/// Hashes what a one-coordinator protocol's id always held (epoch, seq), and the client
/// only where there is one, so that adding clients changed no earlier trace's hash.
impl std::hash::Hash for TxnId {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.epoch.hash(h);
        self.seq.hash(h);
        if self.client != 0 {
            self.client.hash(h);
        }
    }
}

impl fmt::Display for TxnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.client != 0 {
            write!(f, "c{}/", self.client)?;
        }
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

/// How many of a kind of node there may be (participants, resource managers).
pub const MAX_PARTICIPANTS: u32 = 16;

/// `count` of them, from 1 to `MAX_PARTICIPANTS`.
pub fn check_count(field: &str, count: u32) -> Result<(), ParamError> {
    if (1..=MAX_PARTICIPANTS).contains(&count) {
        Ok(())
    } else {
        Err(ParamError::new(field, format!("must be from 1 to {MAX_PARTICIPANTS}")))
    }
}

/// Every timeout and period at least one tick (a zero would fire forever at one moment).
pub fn check_ticks(fields: &[(&str, Time)]) -> Result<(), ParamError> {
    match fields.iter().find(|(_, ticks)| *ticks == 0) {
        Some((field, _)) => Err(ParamError::new(*field, "must be at least 1 tick")),
        None => Ok(()),
    }
}

/// Every name in `names` (the parameter `field`) is `prefix1` to `prefix{count}`: one of
/// the `count` nodes of a kind (`what`, e.g. "participant").
pub fn check_names(
    field: &str,
    names: &[String],
    prefix: &str,
    count: u32,
    what: &str,
) -> Result<(), ParamError> {
    for (i, name) in names.iter().enumerate() {
        let known = name
            .strip_prefix(prefix)
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| (1..=count).contains(&n));
        if !known {
            return Err(ParamError::new(
                format!("{field}[{i}]"),
                format!("\"{name}\" is not a {what} ({prefix}1 to {prefix}{count})"),
            ));
        }
    }
    Ok(())
}

/// A coordinator `coord` and participants `p1` to `p{participants}` (2PC and 3PC).
pub fn coordinator_and_participants(participants: u32) -> Vec<NodeSpec> {
    let mut nodes = vec![NodeSpec { name: "coord".into(), role: "coordinator".into() }];
    nodes.extend(
        (1..=participants).map(|i| NodeSpec { name: format!("p{i}"), role: "participant".into() }),
    );
    nodes
}

/// The epoch a recovering coordinator starts: one past the last it logged (the first
/// epoch, 1, is never logged).
pub fn next_epoch(logged: impl Iterator<Item = u32>) -> u32 {
    logged.max().unwrap_or(1) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_checks_name_the_field_and_the_problem() {
        assert!(check_count("participants", 16).is_ok());
        let e = check_count("participants", 0).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.problem.as_str()),
            ("participants", "must be from 1 to 16")
        );
        assert!(check_ticks(&[("a", 1), ("b", 9)]).is_ok());
        assert_eq!(check_ticks(&[("a", 1), ("b", 0), ("c", 0)]).unwrap_err().field, "b");
        let names = vec!["rm2".to_string(), "rm4".to_string()];
        assert!(check_names("vote_no", &names[..1], "rm", 3, "resource manager").is_ok());
        let e = check_names("vote_no", &names, "rm", 3, "resource manager").unwrap_err();
        assert_eq!(e.field, "vote_no[1]");
        assert_eq!(e.problem, "\"rm4\" is not a resource manager (rm1 to rm3)");
    }

    #[test]
    fn a_recovering_coordinator_starts_one_past_its_last_epoch() {
        assert_eq!(next_epoch([].into_iter()), 2);
        assert_eq!(next_epoch([2, 4, 3].into_iter()), 5);
        let nodes = coordinator_and_participants(2);
        let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["coord", "p1", "p2"]);
    }
}
