//! Property-style tests: random serial histories (transactions run one at a time on a model
//! store) have no anomaly; the same with one anomaly injected is caught, by `check` and by
//! `Incremental`.

mod common;

use commitscope_history::{check, AnomalyKind as K, History, Mop, Seen, Status, Txn};
use common::{incremental, kinds, serial, Gen, Model, Rng, REG};

#[test]
fn serial_histories_have_no_anomaly() {
    let shapes = [
        Gen::default(),
        Gen { reg_keys: 0, ..Gen::default() },
        Gen { list_keys: 0, ..Gen::default() },
        Gen { list_keys: 1, reg_keys: 1, max_ops: 6, ..Gen::default() },
        Gen { list_keys: 30, reg_keys: 30, fail_percent: 20, info_percent: 20, ..Gen::default() },
        Gen { shuffle: 20, ..Gen::default() },
    ];
    for seed in 0..60 {
        let mut rng = Rng::new(seed);
        let g = shapes[seed as usize % shapes.len()];
        let h = serial(&mut rng, &g);
        let report = check(&h);
        assert!(report.is_clean(), "seed {seed}: {:#?}", report.anomalies.first());
        let mut inc = commitscope_history::Incremental::new();
        for txn in &h.txns {
            let found = inc.add(txn.clone());
            assert!(found.is_empty(), "seed {seed}: {:#?}", found.first());
        }
        assert_eq!((inc.committed(), inc.edges()), (report.committed, report.edges));
    }
}

/// A transaction from ops and a name.
fn txn(name: String, ops: Vec<Mop>) -> Txn {
    Txn { name, process: 9, ops, status: Status::Ok }
}

fn read(model: &Model, key: u64) -> Mop {
    let seen = if key >= REG {
        Seen::Register(model.regs.get(&key).copied())
    } else {
        Seen::List(model.lists.get(&key).cloned().unwrap_or_default())
    };
    Mop::Read { key, seen: Some(seen) }
}

/// Runs a serial history and, at a random point, inserts transactions that show `kind`.
fn injected(seed: u64, kind: K) -> History {
    let mut rng = Rng::new(seed);
    let g = Gen { txns: 120, fail_percent: 0, info_percent: 0, ..Gen::default() };
    let at = rng.below(g.txns as u64) as usize;
    let mut model = Model::default();
    let mut txns = Vec::new();
    for i in 0..g.txns {
        if i == at {
            inject(&mut model, &mut txns, kind, &mut rng);
        }
        let ops = common::random_ops(&mut rng, &mut model, &g);
        let ops = model.run(&ops, &mut rng);
        txns.push(txn(format!("T{}", txns.len() + 1), ops));
    }
    History { txns }
}

fn inject(model: &mut Model, txns: &mut Vec<Txn>, kind: K, rng: &mut Rng) {
    let (a, b) = (rng.below(5), 1 + rng.below(4));
    let b = (a + b) % 5;
    let x = REG + a;
    let push = |txns: &mut Vec<Txn>, ops: Vec<Mop>| {
        let name = format!("T{}", txns.len() + 1);
        txns.push(txn(name, ops));
    };
    let append = |model: &mut Model, key: u64| {
        let value = model.fresh();
        model.lists.entry(key).or_default().push(value);
        Mop::Append { key, value }
    };
    match kind {
        K::G0 => {
            // x gets W1's append then W2's; y the other way round.
            let (v1, v2, v3, v4) = (model.fresh(), model.fresh(), model.fresh(), model.fresh());
            model.lists.entry(a).or_default().extend([v1, v3]);
            model.lists.entry(b).or_default().extend([v4, v2]);
            let w1 = vec![Mop::Append { key: a, value: v1 }, Mop::Append { key: b, value: v2 }];
            let w2 = vec![Mop::Append { key: a, value: v3 }, Mop::Append { key: b, value: v4 }];
            push(txns, w1);
            push(txns, w2);
        }
        K::G1a => {
            // A failed append that a later read sees.
            let op = append(model, a);
            push(txns, vec![op]);
            if let Some(t) = txns.last_mut() {
                t.status = Status::Fail;
            }
        }
        K::G1b => {
            let first = append(model, a);
            let seen = read(model, a);
            let second = append(model, a);
            push(txns, vec![seen]);
            push(txns, vec![first, second]);
        }
        K::G1c => {
            // W1 appends to a before W2, yet reads W2's append to b.
            let w2_b = append(model, b);
            let w1_a = append(model, a);
            let w2_a = append(model, a);
            let w1_read = read(model, b);
            push(txns, vec![w1_a, w1_read]);
            push(txns, vec![w2_a, w2_b]);
        }
        K::GSingle => {
            // R reads a before W and b after W.
            let before = read(model, a);
            let w = vec![append(model, a), append(model, b)];
            let after = read(model, b);
            push(txns, w);
            push(txns, vec![before, after]);
        }
        K::G2Item => {
            // Write skew: both read the same snapshot of a and b, each appends to one.
            let (ra, rb) = (read(model, a), read(model, b));
            let (wb, wa) = (append(model, b), append(model, a));
            push(txns, vec![ra, wb]);
            push(txns, vec![rb, wa]);
        }
        K::LostUpdate => {
            let seen = read(model, x);
            let (v1, v2) = (model.fresh(), model.fresh());
            model.regs.insert(x, v2);
            push(txns, vec![seen.clone(), Mop::Write { key: x, value: v1 }]);
            push(txns, vec![seen, Mop::Write { key: x, value: v2 }]);
        }
        K::InternalInconsistency => {
            let seen = read(model, a);
            let op = append(model, a);
            push(txns, vec![op, seen]);
        }
        K::DuplicateAppend => {
            let op = append(model, a);
            let Mop::Append { value, .. } = op else { return };
            let mut list = model.lists.get(&a).cloned().unwrap_or_default();
            list.push(value);
            push(txns, vec![op]);
            push(txns, vec![Mop::Read { key: a, seen: Some(Seen::List(list)) }]);
        }
        K::IncompatibleOrder => {
            let (v1, v2) = (model.fresh(), model.fresh());
            model.lists.entry(a).or_default().extend([v1, v2]);
            let mut swapped = model.lists.get(&a).cloned().unwrap_or_default();
            let n = swapped.len();
            swapped.swap(n - 1, n - 2);
            push(txns, vec![Mop::Append { key: a, value: v1 }, Mop::Append { key: a, value: v2 }]);
            push(txns, vec![read(model, a)]);
            push(txns, vec![Mop::Read { key: a, seen: Some(Seen::List(swapped)) }]);
        }
    }
    // Someone reads everything afterwards, so every append has a place.
    push(txns, vec![read(model, a), read(model, b)]);
}

#[test]
fn injected_anomalies_are_caught() {
    for kind in K::ALL {
        for seed in 0..15 {
            let h = injected(seed * 31 + kind as u64, kind);
            let report = check(&h);
            assert!(
                report.kinds().contains(&kind),
                "{kind:?}, seed {seed}: check found {:?}\n{}",
                report.kinds(),
                h.to_json()
            );
            let inc = incremental(&h);
            assert!(
                kinds(&inc).contains(&kind),
                "{kind:?}, seed {seed}: incremental found {:?}",
                kinds(&inc)
            );
        }
    }
}

#[test]
fn incremental_reports_whenever_check_does_under_random_corruption() {
    // Serial histories with random reads made stale or shuffled: whatever `check` finds,
    // `Incremental` must find something too.
    let mut caught = 0;
    for seed in 0..200 {
        let mut rng = Rng::new(1000 + seed);
        let g = Gen { txns: 80, list_keys: 3, reg_keys: 3, ..Gen::default() };
        let mut h = serial(&mut rng, &g);
        for _ in 0..1 + rng.below(3) {
            corrupt(&mut h, &mut rng);
        }
        let report = check(&h);
        let inc = incremental(&h);
        assert_eq!(
            report.is_clean(),
            inc.is_empty(),
            "seed {seed}: {:?} vs {:?}",
            report.kinds(),
            kinds(&inc)
        );
        caught += usize::from(!report.is_clean());
    }
    assert!(caught > 100, "only {caught} corrupted histories were anomalous");
}

/// Makes one committed read stale (drops list elements, or shows an older register value).
fn corrupt(h: &mut History, rng: &mut Rng) {
    let n = h.txns.len() as u64;
    for _ in 0..50 {
        let t = rng.below(n) as usize;
        let Some(txn) = h.txns.get_mut(t) else { continue };
        if txn.status != Status::Ok {
            continue;
        }
        for op in &mut txn.ops {
            match op {
                Mop::Read { seen: Some(Seen::List(list)), .. } if !list.is_empty() => {
                    let keep = rng.below(list.len() as u64) as usize;
                    list.truncate(keep);
                    return;
                }
                Mop::Read { seen: seen @ Some(Seen::Register(Some(_))), .. } => {
                    *seen = Some(Seen::Register(None));
                    return;
                }
                _ => {}
            }
        }
    }
}
