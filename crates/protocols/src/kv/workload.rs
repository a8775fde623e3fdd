//! What clients ask the store for: transactions of micro-operations in Maelstrom's
//! `txn-list-append` / `txn-rw-register` vocabulary (`["r", 1, null]`, `["w", 1, 6]`,
//! `["append", 2, 9]`), how keys are spread over shards, and the seeded workload generator.

use super::locks::Key;
use commitscope_engine::rng::Rng;
use commitscope_engine::Time;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

pub type Value = i64;

/// One micro-operation. A read's result is filled in by the shard that ran it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Read { key: Key, seen: Option<Seen> },
    Write { key: Key, value: Value },
    Append { key: Key, value: Value },
}

/// What a read saw: a register's value (`None`: never written) or a whole list.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Seen {
    Register(Option<Value>),
    List(Vec<Value>),
}

impl Op {
    pub fn key(&self) -> Key {
        match self {
            Op::Read { key, .. } | Op::Write { key, .. } | Op::Append { key, .. } => *key,
        }
    }
    pub fn is_read(&self) -> bool {
        matches!(self, Op::Read { .. })
    }

    pub fn to_history(&self) -> commitscope_history::Mop {
        use commitscope_history::{Mop, Seen as S};
        match self {
            Op::Read { key, seen } => Mop::Read {
                key: *key,
                seen: seen.as_ref().map(|s| match s {
                    Seen::Register(v) => S::Register(*v),
                    Seen::List(l) => S::List(l.clone()),
                }),
            },
            Op::Write { key, value } => Mop::Write { key: *key, value: *value },
            Op::Append { key, value } => Mop::Append { key: *key, value: *value },
        }
    }
}

impl Serialize for Op {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Op::Read { key, seen: None } => ("r", key, ()).serialize(s),
            Op::Read { key, seen: Some(Seen::Register(v)) } => ("r", key, v).serialize(s),
            Op::Read { key, seen: Some(Seen::List(l)) } => ("r", key, l).serialize(s),
            Op::Write { key, value } => ("w", key, value).serialize(s),
            Op::Append { key, value } => ("append", key, value).serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Op {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Op, D::Error> {
        let (f, key, v): (String, Key, serde_json::Value) = Deserialize::deserialize(d)
            .map_err(|_| {
                D::Error::custom(
                    "a micro-operation is [\"r\", key, null], [\"w\", key, value] or [\"append\", key, value], with integer keys and values",
                )
            })?;
        let int = |what: &str| {
            v.as_i64().ok_or_else(|| {
                D::Error::custom(format!("{what} {key}: the value must be an integer"))
            })
        };
        match f.as_str() {
            "r" => Ok(Op::Read { key, seen: None }),
            "w" => Ok(Op::Write { key, value: int("w")? }),
            "append" => Ok(Op::Append { key, value: int("append")? }),
            other => Err(D::Error::custom(format!(
                "unknown micro-operation \"{other}\" (known: r, w, append)"
            ))),
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Read { key, seen: None } => write!(f, "r k{key}"),
            Op::Read { key, seen: Some(Seen::Register(None)) } => write!(f, "r k{key}=nil"),
            Op::Read { key, seen: Some(Seen::Register(Some(v))) } => write!(f, "r k{key}={v}"),
            Op::Read { key, seen: Some(Seen::List(l)) } => write!(f, "r k{key}={l:?}"),
            Op::Write { key, value } => write!(f, "w k{key}={value}"),
            Op::Append { key, value } => write!(f, "append k{key} {value}"),
        }
    }
}

/// A list of micro-operations, written `r k1, append k2 9`.
pub fn ops_text(ops: &[Op]) -> String {
    ops.iter().map(Op::to_string).collect::<Vec<_>>().join(", ")
}

/// A client's request: one transaction.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TxnRequest {
    pub txn: Vec<Op>,
}

impl fmt::Display for TxnRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transaction [{}]", ops_text(&self.txn))
    }
}

/// How keys are spread over the shards.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Partitioning {
    /// Key k lives on shard (k mod S) + 1.
    #[default]
    Hash,
    /// Keys 0 to keys-1 are cut into S equal ranges, in order; larger keys go to the last.
    Range,
}

impl Partitioning {
    /// The shard (0-based) that owns `key`, of `shards`, with `keys` keys in all.
    pub fn shard_of(self, key: Key, shards: u32, keys: u64) -> u32 {
        let s = shards.max(1) as u64;
        match self {
            Partitioning::Hash => (key % s) as u32,
            Partitioning::Range => {
                let per = keys.max(1).div_ceil(s);
                (key / per).min(s - 1) as u32
            }
        }
    }

    /// What shard `i` (0-based) owns, in words: "keys ≡ 1 (mod 4)", "keys 8–15".
    pub fn describe(self, i: u32, shards: u32, keys: u64) -> String {
        let s = shards.max(1) as u64;
        match self {
            Partitioning::Hash if s == 1 => "every key".into(),
            Partitioning::Hash => format!("keys ≡ {i} (mod {s})"),
            Partitioning::Range => {
                let per = keys.max(1).div_ceil(s);
                let lo = i as u64 * per;
                if i as u64 == s - 1 {
                    format!("keys {lo} and up")
                } else {
                    format!("keys {lo}–{}", lo + per - 1)
                }
            }
        }
    }
}

/// Which micro-operations a generated workload writes with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flavour {
    /// `append` and list reads: every value's place in a key's history is recoverable.
    #[default]
    ListAppend,
    /// `w` and register reads.
    RwRegister,
}

/// A seeded generator: each client issues `txns` transactions, one every `interval_ticks`
/// (open loop: the k-th arrives at `start_ticks + k × interval`, whether or not the one
/// before has finished; a client runs them one at a time, in order). They are delivered as
/// requests, like the scenario's: one that arrives while its client is down is lost.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Generator {
    pub txns: u32,
    pub start_ticks: Time,
    pub interval_ticks: Time,
    /// Micro-operations per transaction, from `ops_min` to `ops_max`.
    pub ops_min: u32,
    pub ops_max: u32,
    /// Per cent of micro-operations that are reads.
    pub read_percent: u32,
    /// Per cent of micro-operations on key 0 (the hot key); the rest are spread evenly.
    pub hot_percent: u32,
    pub seed: u64,
}

impl Default for Generator {
    fn default() -> Self {
        Generator {
            txns: 5,
            start_ticks: 0,
            interval_ticks: 40,
            ops_min: 2,
            ops_max: 4,
            read_percent: 50,
            hot_percent: 0,
            seed: 1,
        }
    }
}

impl Generator {
    /// When client `client` (1-based)'s transaction `k` (0-based) arrives.
    pub fn arrival(&self, k: u32) -> Time {
        self.start_ticks.saturating_add((k as Time).saturating_mul(self.interval_ticks))
    }

    /// Client `client`'s transaction `k`: a pure function of the generator, the client and
    /// k. Written
    /// values are unique per key: `client × 100000 + k × 100 + position`.
    pub fn txn(&self, client: u32, k: u32, keys: u64, flavour: Flavour) -> Vec<Op> {
        let mut rng = Rng::new(self.seed ^ (client as u64) << 32 ^ k as u64);
        let span = (self.ops_max.max(self.ops_min) - self.ops_min) as u64 + 1;
        let n = self.ops_min.max(1) as u64 + rng.below(span);
        (0..n)
            .map(|i| {
                let key = if rng.below(100) < self.hot_percent as u64 {
                    0
                } else {
                    rng.below(keys.max(1))
                };
                if rng.below(100) < self.read_percent as u64 {
                    Op::Read { key, seen: None }
                } else {
                    let value = client as Value * 100_000 + k as Value * 100 + i as Value;
                    match flavour {
                        Flavour::ListAppend => Op::Append { key, value },
                        Flavour::RwRegister => Op::Write { key, value },
                    }
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_read_and_write_maelstrom_vectors() {
        let ops: Vec<Op> =
            serde_json::from_str(r#"[["r",1,null],["w",1,6],["append",2,9]]"#).unwrap();
        assert_eq!(ops_text(&ops), "r k1, w k1=6, append k2 9");
        assert_eq!(
            serde_json::to_string(&ops).unwrap(),
            r#"[["r",1,null],["w",1,6],["append",2,9]]"#
        );
        let e = serde_json::from_str::<Vec<Op>>(r#"[["x",1,2]]"#).unwrap_err().to_string();
        assert!(e.contains("unknown micro-operation \"x\""), "{e}");
        let e = serde_json::from_str::<Vec<Op>>(r#"[["w",1,"a"]]"#).unwrap_err().to_string();
        assert!(e.contains("must be an integer"), "{e}");
    }

    #[test]
    fn partitions_cover_every_key_once() {
        for p in [Partitioning::Hash, Partitioning::Range] {
            for key in 0..20 {
                assert!(p.shard_of(key, 3, 12) < 3);
            }
        }
        assert_eq!(Partitioning::Range.shard_of(5, 3, 12), 1);
        assert_eq!(Partitioning::Range.describe(1, 3, 12), "keys 4–7");
        assert_eq!(Partitioning::Hash.describe(2, 4, 12), "keys ≡ 2 (mod 4)");
    }

    #[test]
    fn the_generator_is_a_pure_function_of_client_and_index() {
        let g = Generator::default();
        assert_eq!(g.txn(1, 3, 8, Flavour::ListAppend), g.txn(1, 3, 8, Flavour::ListAppend));
        assert_ne!(g.txn(1, 3, 8, Flavour::ListAppend), g.txn(2, 3, 8, Flavour::ListAppend));
        let n = g.txn(2, 4, 8, Flavour::RwRegister).len() as u32;
        assert!((g.ops_min..=g.ops_max).contains(&n));
    }
}
