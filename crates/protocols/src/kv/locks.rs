//! A shard's lock table: shared and exclusive locks per key, a FIFO queue of waiters, and
//! the deadlock policies (no-wait, wait-die, wound-wait).
//!
//! Pure data: `request` says what a lock request leads to, and the shard carries it out
//! (wait, abort the requester, abort the holders it wounds). Ages are transactions' start
//! timestamps: smaller is older.

use crate::common::TxnId;
use commitscope_engine::vecmap::VecMap;
use commitscope_engine::Time;
use serde::{Deserialize, Serialize};
use std::fmt;

pub type Key = u64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Shared,
    Exclusive,
}

impl Mode {
    pub fn letter(self) -> &'static str {
        match self {
            Mode::Shared => "S",
            Mode::Exclusive => "X",
        }
    }
}

/// How a shard resolves a lock request that conflicts (Rosenkrantz, Stearns & Lewis 1978).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Abort the requester at once on any conflict.
    NoWait,
    /// An older requester waits for younger holders; a younger one dies (aborts).
    #[default]
    WaitDie,
    /// An older requester wounds (aborts) younger holders and waits; a younger one waits.
    WoundWait,
}

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Policy::NoWait => "no-wait",
            Policy::WaitDie => "wait-die",
            Policy::WoundWait => "wound-wait",
        }
    }
}

/// A transaction's age: its start time, then its id (so no two are equally old).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Age {
    pub start: Time,
    pub txn: TxnId,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KeyLocks {
    pub holders: Vec<(TxnId, Mode)>,
    /// Waiting requests, first come first served.
    pub waiters: Vec<(Age, Mode)>,
}

/// What a lock request leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    Granted,
    /// The requester waits behind these transactions.
    Wait {
        behind: Vec<TxnId>,
    },
    /// The requester aborts (no-wait, or wait-die's younger requester), because of these.
    Die {
        because: Vec<TxnId>,
    },
    /// Wound-wait: the requester waits, and these younger transactions are aborted.
    Wound {
        victims: Vec<TxnId>,
        behind: Vec<TxnId>,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LockTable {
    pub keys: VecMap<Key, KeyLocks>,
}

fn compatible(a: Mode, b: Mode) -> bool {
    a == Mode::Shared && b == Mode::Shared
}

impl KeyLocks {
    /// The mode `txn` holds, if any.
    pub fn held(&self, txn: TxnId) -> Option<Mode> {
        self.holders.iter().find(|(t, _)| *t == txn).map(|(_, m)| *m)
    }

    /// Whether `txn` could take `mode` now: compatible with every other holder, and (unless
    /// it already holds the key and upgrades) nobody queued ahead of it.
    fn grantable(&self, txn: TxnId, mode: Mode) -> bool {
        let others_ok = self.holders.iter().all(|(t, m)| *t == txn || compatible(*m, mode));
        others_ok && (self.held(txn).is_some() || self.waiters.iter().all(|(a, _)| a.txn == txn))
    }

    fn grant(&mut self, txn: TxnId, mode: Mode) {
        match self.holders.iter_mut().find(|(t, _)| *t == txn) {
            Some((_, m)) => *m = (*m).max(mode),
            None => self.holders.push((txn, mode)),
        }
    }
}

impl LockTable {
    /// `age` asks for `mode` on `key`: granted at once, or the policy's verdict. A waiting
    /// request is queued; `release` grants it later.
    pub fn request(
        &mut self,
        key: Key,
        age: Age,
        mode: Mode,
        policy: Policy,
        ages: impl Fn(TxnId) -> Option<Age>,
    ) -> Grant {
        let locks = self.keys.entry(key).or_default();
        let txn = age.txn;
        if locks.held(txn).is_some_and(|m| m >= mode) {
            return Grant::Granted;
        }
        if locks.grantable(txn, mode) {
            locks.grant(txn, mode);
            return Grant::Granted;
        }
        // Everyone it would wait for: conflicting holders and the queue ahead of it.
        let mut conflicts: Vec<TxnId> = locks
            .holders
            .iter()
            .filter(|(t, m)| *t != txn && !compatible(*m, mode))
            .map(|(t, _)| *t)
            .collect();
        for (a, _) in &locks.waiters {
            if a.txn != txn && !conflicts.contains(&a.txn) {
                conflicts.push(a.txn);
            }
        }
        let older = |t: &TxnId| ages(*t).is_some_and(|a| a < age);
        let verdict = match policy {
            Policy::NoWait => Grant::Die { because: conflicts },
            Policy::WaitDie if conflicts.iter().any(older) => Grant::Die { because: conflicts },
            Policy::WaitDie => Grant::Wait { behind: conflicts },
            Policy::WoundWait => {
                let victims: Vec<TxnId> = conflicts.iter().filter(|t| !older(t)).copied().collect();
                if victims.is_empty() {
                    Grant::Wait { behind: conflicts }
                } else {
                    Grant::Wound { victims, behind: conflicts }
                }
            }
        };
        if matches!(verdict, Grant::Wait { .. } | Grant::Wound { .. })
            && !locks.waiters.iter().any(|(a, _)| a.txn == txn)
        {
            locks.waiters.push((age, mode));
        }
        verdict
    }

    /// Releases every lock and queued request of `txn`; returns the requests this grants,
    /// in order, as (key, txn).
    pub fn release(&mut self, txn: TxnId) -> Vec<(Key, TxnId)> {
        let mut granted = Vec::new();
        for (key, locks) in self.keys.iter_mut() {
            let before = locks.holders.len() + locks.waiters.len();
            locks.holders.retain(|(t, _)| *t != txn);
            locks.waiters.retain(|(a, _)| a.txn != txn);
            if locks.holders.len() + locks.waiters.len() != before {
                Self::grant_waiters(*key, locks, &mut granted);
            }
        }
        self.keys.retain(|_, l| !l.holders.is_empty() || !l.waiters.is_empty());
        granted
    }

    /// Releases `txn`'s shared locks only (an isolation level weaker than serializable).
    pub fn release_shared(&mut self, txn: TxnId) -> Vec<(Key, TxnId)> {
        let mut granted = Vec::new();
        for (key, locks) in self.keys.iter_mut() {
            let before = locks.holders.len();
            locks.holders.retain(|(t, m)| !(*t == txn && *m == Mode::Shared));
            if locks.holders.len() != before {
                Self::grant_waiters(*key, locks, &mut granted);
            }
        }
        self.keys.retain(|_, l| !l.holders.is_empty() || !l.waiters.is_empty());
        granted
    }

    fn grant_waiters(key: Key, locks: &mut KeyLocks, granted: &mut Vec<(Key, TxnId)>) {
        while let Some((age, mode)) = locks.waiters.first().copied() {
            let others_ok =
                locks.holders.iter().all(|(t, m)| *t == age.txn || compatible(*m, mode));
            if !others_ok {
                break;
            }
            locks.waiters.remove(0);
            locks.grant(age.txn, mode);
            granted.push((key, age.txn));
        }
    }

    /// Takes `mode` on `key` for `txn` without asking (a recovering shard re-taking the
    /// locks of a transaction it prepared: nobody else can hold them yet).
    pub fn take(&mut self, key: Key, txn: TxnId, mode: Mode) {
        self.keys.entry(key).or_default().grant(txn, mode);
    }

    pub fn holds_exclusive(&self, key: Key, other_than: Option<TxnId>) -> Option<TxnId> {
        self.keys.get(&key).and_then(|l| {
            l.holders
                .iter()
                .find(|(t, m)| *m == Mode::Exclusive && Some(*t) != other_than)
                .map(|(t, _)| *t)
        })
    }

    /// Who waits for whom: (waiter, holder or waiter ahead) pairs, sorted.
    pub fn waits_for(&self) -> Vec<(TxnId, TxnId)> {
        let mut edges = Vec::new();
        for locks in self.keys.values() {
            for (i, (a, mode)) in locks.waiters.iter().enumerate() {
                for (t, m) in &locks.holders {
                    if *t != a.txn && !compatible(*m, *mode) {
                        edges.push((a.txn, *t));
                    }
                }
                for (b, _) in &locks.waiters[..i] {
                    if b.txn != a.txn {
                        edges.push((a.txn, b.txn));
                    }
                }
            }
        }
        edges.sort();
        edges.dedup();
        edges
    }
}

impl fmt::Display for KeyLocks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held: Vec<String> =
            self.holders.iter().map(|(t, m)| format!("{} {t}", m.letter())).collect();
        f.write_str(&held.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn age(start: Time, seq: u32) -> Age {
        Age { start, txn: TxnId { epoch: 1, seq, client: 1 } }
    }

    fn ages(t: TxnId) -> Option<Age> {
        Some(Age { start: t.seq as Time * 10, txn: t })
    }

    #[test]
    fn shared_locks_share_and_exclusive_ones_queue() {
        let mut l = LockTable::default();
        let (t1, t2, t3) = (age(10, 1), age(20, 2), age(30, 3));
        assert_eq!(l.request(7, t1, Mode::Shared, Policy::WaitDie, ages), Grant::Granted);
        assert_eq!(l.request(7, t2, Mode::Shared, Policy::WaitDie, ages), Grant::Granted);
        // t3 is younger than both holders: wait-die kills it.
        assert!(matches!(
            l.request(7, t3, Mode::Exclusive, Policy::WaitDie, ages),
            Grant::Die { .. }
        ));
        // t1 upgrades: older than t2, so it waits.
        assert_eq!(
            l.request(7, t1, Mode::Exclusive, Policy::WaitDie, ages),
            Grant::Wait { behind: vec![t2.txn] }
        );
        assert_eq!(l.waits_for(), vec![(t1.txn, t2.txn)]);
        assert_eq!(l.release(t2.txn), vec![(7, t1.txn)]);
        assert_eq!(l.keys[&7].held(t1.txn), Some(Mode::Exclusive));
        assert!(l.release(t1.txn).is_empty());
        assert!(l.keys.is_empty());
    }

    #[test]
    fn wound_wait_wounds_the_younger_and_no_wait_never_waits() {
        let mut l = LockTable::default();
        let (t1, t2) = (age(10, 1), age(20, 2));
        assert_eq!(l.request(1, t2, Mode::Exclusive, Policy::WoundWait, ages), Grant::Granted);
        assert_eq!(
            l.request(1, t1, Mode::Exclusive, Policy::WoundWait, ages),
            Grant::Wound { victims: vec![t2.txn], behind: vec![t2.txn] }
        );
        let mut l = LockTable::default();
        assert_eq!(l.request(1, t1, Mode::Exclusive, Policy::WoundWait, ages), Grant::Granted);
        assert_eq!(
            l.request(1, t2, Mode::Exclusive, Policy::WoundWait, ages),
            Grant::Wait { behind: vec![t1.txn] }
        );
        let mut l = LockTable::default();
        assert_eq!(l.request(1, t2, Mode::Shared, Policy::NoWait, ages), Grant::Granted);
        assert_eq!(
            l.request(1, t1, Mode::Exclusive, Policy::NoWait, ages),
            Grant::Die { because: vec![t2.txn] }
        );
        assert!(l.keys[&1].waiters.is_empty());
    }
}
