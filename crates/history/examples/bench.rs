//! How fast the checker is: serializable list-append histories of 1,000, 10,000 and 100,000
//! transactions, checked whole (`check`) and one transaction at a time (`Incremental`).
//!
//! Run with `cargo run --release -p commitscope-history --example bench`.
//!
//! The histories are shaped like Elle's generator makes them: 100 keys in use at a time,
//! each retired after 32 appends (so lists stay short and new keys keep coming), 1 to 4
//! micro-operations per transaction, half reads and half appends, run one at a time against
//! an in-memory store (so serializable), then listed in a slightly shuffled order, as
//! completions arrive out of order.

use std::collections::BTreeMap;
use std::time::Instant;

use commitscope_history::{check, History, Incremental, Mop, Seen, Status, Txn};

/// xorshift64*.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const ACTIVE_KEYS: u64 = 100;
const APPENDS_PER_KEY: usize = 32;

/// `stale_percent` of reads miss a random suffix of the list (a broken store).
fn history(n: usize, seed: u64, stale_percent: u64) -> History {
    let mut rng = Rng(seed | 1);
    let mut lists: BTreeMap<u64, Vec<i64>> = BTreeMap::new();
    let mut active: Vec<u64> = (0..ACTIVE_KEYS).collect();
    let mut next_key = ACTIVE_KEYS;
    let mut next_value = 0;
    let mut txns = Vec::with_capacity(n);
    for i in 0..n {
        let mut ops = Vec::new();
        for _ in 0..1 + rng.below(4) {
            let slot = rng.below(ACTIVE_KEYS) as usize;
            let Some(&key) = active.get(slot) else { continue };
            let list = lists.entry(key).or_default();
            if rng.below(2) == 0 {
                let mut seen = list.clone();
                if rng.below(100) < stale_percent {
                    seen.truncate(rng.below(seen.len() as u64 + 1) as usize);
                }
                ops.push(Mop::Read { key, seen: Some(Seen::List(seen)) });
            } else {
                next_value += 1;
                list.push(next_value);
                ops.push(Mop::Append { key, value: next_value });
                if list.len() >= APPENDS_PER_KEY {
                    // One last read shows the key's whole order, then it retires.
                    let full = list.clone();
                    ops.push(Mop::Read { key, seen: Some(Seen::List(full)) });
                    active[slot] = next_key;
                    next_key += 1;
                }
            }
        }
        txns.push(Txn {
            name: format!("T{}", i + 1),
            process: i as u64 % 10,
            ops,
            status: Status::Ok,
        });
    }
    for i in 0..txns.len() {
        let j = i + rng.below(8) as usize;
        if j < txns.len() {
            txns.swap(i, j);
        }
    }
    History { txns }
}

/// Times `check` and `Incremental` on `h`; prints one line each.
// The benchmark is the one place a clock is read (clippy.toml forbids it elsewhere).
#[allow(clippy::disallowed_methods)]
fn measure(label: &str, h: &History, clean: bool) {
    let n = h.txns.len();
    let start = Instant::now();
    let report = check(h);
    let check_ms = start.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(report.is_clean(), clean, "{:#?}", report.anomalies.first());

    let start = Instant::now();
    let mut inc = Incremental::new();
    let mut found = 0;
    for txn in &h.txns {
        found += inc.add(txn.clone()).len();
    }
    let inc_ms = start.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(found == 0, clean);

    println!(
        "{label:<11} check:       {n:>7} transactions, {:>7} edges, {check_ms:>8.1} ms, {:>5} anomalies",
        report.edges,
        report.anomalies.len()
    );
    println!(
        "{label:<11} incremental: {n:>7} transactions, {:>7} edges, {inc_ms:>8.1} ms, {found:>5} anomalies ({:.1} µs per add)",
        inc.edges(),
        inc_ms * 1000.0 / n as f64
    );
}

fn main() {
    for n in [1_000, 10_000, 100_000] {
        measure("serial", &history(n, 42, 0), true);
    }
    // A broken store: 5% of reads are stale, so the graph is full of cycles.
    for n in [1_000, 10_000] {
        measure("stale 5%", &history(n, 42, 5), false);
    }
}
