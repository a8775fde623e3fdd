//! Helpers shared by the tests: a compact notation for transactions, a tiny PRNG and a
//! generator of serial histories.

#![allow(dead_code)]

use std::collections::BTreeMap;

use commitscope_history::{
    check, Anomaly, AnomalyKind, History, Incremental, Mop, Report, Seen, Status, Txn,
};

/// Keys by letter, as in Elle's tests: x = 1, y = 2, z = 3.
fn key(c: char) -> u64 {
    match c {
        'x' => 1,
        'y' => 2,
        'z' => 3,
        _ => 4,
    }
}

/// A list-append transaction in Elle's test notation: "ax1" appends 1 to x, "rx12" reads
/// x = [1, 2], "rx" reads x = [] (written as null, as Maelstrom does).
pub fn la(name: &str, spec: &str) -> Txn {
    let mut ops = Vec::new();
    let chars: Vec<char> = spec.chars().filter(|c| !c.is_whitespace()).collect();
    let mut i = 0;
    while i < chars.len() {
        let f = chars[i];
        let k = key(chars[i + 1]);
        i += 2;
        let mut digits = Vec::new();
        while i < chars.len() && chars[i].is_ascii_digit() {
            digits.push(i64::from(chars[i].to_digit(10).unwrap() as u8));
            i += 1;
        }
        ops.push(match f {
            'a' => Mop::Append { key: k, value: digits[0] },
            'r' if digits.is_empty() => Mop::Read { key: k, seen: Some(Seen::Register(None)) },
            'r' => Mop::Read { key: k, seen: Some(Seen::List(digits)) },
            _ => panic!("bad spec {spec}"),
        });
    }
    Txn { name: name.to_string(), process: 0, ops, status: Status::Ok }
}

/// A register transaction: "wx1" writes x = 1, "rx1" reads x = 1, "rx_" reads x = nil.
pub fn rw(name: &str, spec: &str) -> Txn {
    let chars: Vec<char> = spec.chars().filter(|c| !c.is_whitespace()).collect();
    let ops = chars
        .chunks(3)
        .map(|c| {
            let k = key(c[1]);
            let v = c[2].to_digit(10).map(i64::from);
            match c[0] {
                'w' => Mop::Write { key: k, value: v.unwrap() },
                'r' => Mop::Read { key: k, seen: Some(Seen::Register(v)) },
                _ => panic!("bad spec {spec}"),
            }
        })
        .collect();
    Txn { name: name.to_string(), process: 0, ops, status: Status::Ok }
}

pub fn with(mut txn: Txn, status: Status) -> Txn {
    txn.status = status;
    txn
}

pub fn history(txns: Vec<Txn>) -> History {
    History { txns }
}

/// Every anomaly `Incremental` reports, adding the history's transactions in order.
pub fn incremental(history: &History) -> Vec<Anomaly> {
    let mut inc = Incremental::new();
    let mut all = Vec::new();
    for txn in &history.txns {
        all.extend(inc.add(txn.clone()));
    }
    assert_eq!(inc.history(), history);
    all
}

pub fn kinds(anomalies: &[Anomaly]) -> Vec<AnomalyKind> {
    let mut kinds: Vec<AnomalyKind> = anomalies.iter().map(|a| a.kind).collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

/// Checks `history` both ways and asserts they agree: `Incremental` reports something iff
/// `check` does, and the same kinds.
pub fn check_both(history: &History) -> Report {
    let report = check(history);
    let inc = incremental(history);
    assert_eq!(
        kinds(&report.anomalies),
        kinds(&inc),
        "check and Incremental disagree:\ncheck: {:#?}\nincremental: {:#?}",
        report.anomalies,
        inc
    );
    report
}

/// Asserts `check` finds exactly one anomaly, of `kind`, involving exactly `txns` (as a set),
/// and `Incremental` agrees. Returns it.
pub fn only(history: &History, kind: AnomalyKind, txns: &[usize]) -> Anomaly {
    let report = check_both(history);
    assert_eq!(report.anomalies.len(), 1, "expected one {kind:?}, got {:#?}", report.anomalies);
    let a = report.anomalies[0].clone();
    assert_eq!(a.kind, kind, "{a:#?}");
    let mut got = a.txns.clone();
    got.sort_unstable();
    let mut want = txns.to_vec();
    want.sort_unstable();
    assert_eq!(got, want, "{a:#?}");
    assert!(a.explanation.ends_with(kind.label()), "{}", a.explanation);
    a
}

/// xorshift64*: enough randomness for tests, from std only.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// How `serial` generates.
#[derive(Clone, Copy)]
pub struct Gen {
    pub txns: usize,
    pub list_keys: u64,
    pub reg_keys: u64,
    pub max_ops: u64,
    pub fail_percent: u64,
    pub info_percent: u64,
    /// Swap each transaction with one up to this far ahead, so the history's order is not
    /// the serial order (as completions arrive out of order).
    pub shuffle: usize,
}

impl Default for Gen {
    fn default() -> Self {
        Gen {
            txns: 200,
            list_keys: 5,
            reg_keys: 5,
            max_ops: 4,
            fail_percent: 5,
            info_percent: 5,
            shuffle: 4,
        }
    }
}

/// Register keys start here.
pub const REG: u64 = 1000;

/// The store the serial histories run against.
#[derive(Clone, Default)]
pub struct Model {
    pub lists: BTreeMap<u64, Vec<i64>>,
    pub regs: BTreeMap<u64, i64>,
    pub next: i64,
}

impl Model {
    pub fn fresh(&mut self) -> i64 {
        self.next += 1;
        self.next
    }

    /// Runs `ops` (reads unanswered) against this state, filling in the reads.
    pub fn run(&mut self, ops: &[Mop], rng: &mut Rng) -> Vec<Mop> {
        ops.iter()
            .map(|op| match *op {
                Mop::Append { key, value } => {
                    self.lists.entry(key).or_default().push(value);
                    op.clone()
                }
                Mop::Write { key, value } => {
                    self.regs.insert(key, value);
                    op.clone()
                }
                Mop::Read { key, .. } if key >= REG => {
                    Mop::Read { key, seen: Some(Seen::Register(self.regs.get(&key).copied())) }
                }
                Mop::Read { key, .. } => {
                    let list = self.lists.get(&key).cloned().unwrap_or_default();
                    let seen = if list.is_empty() && rng.chance(30) {
                        Seen::Register(None)
                    } else {
                        Seen::List(list)
                    };
                    Mop::Read { key, seen: Some(seen) }
                }
            })
            .collect()
    }
}

/// Random operations (reads unanswered, fresh values).
pub fn random_ops(rng: &mut Rng, model: &mut Model, g: &Gen) -> Vec<Mop> {
    let n = 1 + rng.below(g.max_ops);
    (0..n)
        .map(|_| {
            let lists = g.list_keys > 0 && (g.reg_keys == 0 || rng.chance(50));
            let key = if lists { rng.below(g.list_keys) } else { REG + rng.below(g.reg_keys) };
            let read = rng.chance(50);
            match (lists, read) {
                (_, true) => Mop::Read { key, seen: None },
                (true, false) => Mop::Append { key, value: model.fresh() },
                (false, false) => Mop::Write { key, value: model.fresh() },
            }
        })
        .collect()
}

/// A serializable history: transactions run one at a time against `Model`. Failed ones
/// change nothing; indeterminate ones take effect or not; neither has its reads answered.
pub fn serial(rng: &mut Rng, g: &Gen) -> History {
    let mut model = Model::default();
    let mut txns = Vec::new();
    for i in 0..g.txns {
        let ops = random_ops(rng, &mut model, g);
        let roll = rng.below(100);
        let status = if roll < g.fail_percent {
            Status::Fail
        } else if roll < g.fail_percent + g.info_percent {
            Status::Info
        } else {
            Status::Ok
        };
        let ops = match status {
            Status::Ok => model.run(&ops, rng),
            Status::Info if rng.chance(50) => {
                model.run(&ops, rng);
                ops
            }
            _ => ops,
        };
        txns.push(Txn { name: format!("T{}", i + 1), process: (i % 5) as u64, ops, status });
    }
    shuffle(rng, &mut txns, g.shuffle);
    History { txns }
}

pub fn shuffle<T>(rng: &mut Rng, items: &mut [T], distance: usize) {
    if distance == 0 {
        return;
    }
    for i in 0..items.len() {
        let j = i + rng.below(distance as u64 + 1) as usize;
        if j < items.len() {
            items.swap(i, j);
        }
    }
}
