//! Random fault schedules (the VOPR idea): a safety phase with crashes, recoveries, drops,
//! duplicates and partitions, then a liveness phase in which every node recovers, the
//! network heals, and the run must settle with every property intact.

use crate::ids::Time;
use crate::protocol::Protocol;
use crate::rng::{Ratio, Rng};
use crate::scenario::{resolve, FaultSpec, LinkSpec, MsgSpec, RequestSpec, Scenario};
use crate::sim::{RunEnd, Simulator};

#[derive(Clone, Debug)]
pub struct SweepConfig {
    /// Faults happen in `0..fault_ticks`; then everything heals.
    pub fault_ticks: Time,
    /// Time given to the liveness phase after the faults stop.
    pub settle_ticks: Time,
    pub max_faults: u32,
    pub max_requests: u32,
}

impl Default for SweepConfig {
    fn default() -> Self {
        SweepConfig { fault_ticks: 400, settle_ticks: 4_000, max_faults: 8, max_requests: 3 }
    }
}

/// One schedule that broke something: the seed that reproduces it and what broke.
#[derive(Clone, Debug)]
pub struct Failure {
    pub seed: u64,
    pub scenario: Box<Scenario>,
    pub problem: String,
}

/// A random scenario derived from `base` and `seed`: requests, faults, then healing.
pub fn random_scenario<P: Protocol>(base: &Scenario, seed: u64, cfg: &SweepConfig) -> Scenario {
    let mut rng = Rng::new(seed);
    let params = resolve::<P>(base).expect("the sweep's base scenario is valid").params;
    let names: Vec<String> = P::nodes(&params).into_iter().map(|n| n.name).collect();
    let pick = |rng: &mut Rng| names[rng.below(names.len() as u64) as usize].clone();
    // Two different nodes (a cut or a group of two needs them distinct).
    let pick_two = |rng: &mut Rng| {
        let n = names.len() as u64;
        let a = rng.below(n);
        let b = (a + 1 + rng.below(n.max(2) - 1)) % n;
        (names[a as usize].clone(), names[b as usize].clone())
    };
    let mut s = base.clone();
    s.seed = seed;
    s.network.loss = Ratio::new(rng.below(3) as u32, 20);
    s.network.duplicate = Ratio::new(rng.below(3) as u32, 20);
    let n_requests = 1 + rng.below(u64::from(cfg.max_requests)) as u32;
    s.requests = (0..n_requests)
        .map(|_| RequestSpec {
            at: rng.below(cfg.fault_ticks / 2),
            node: None,
            request: base.requests.first().map(|r| r.request.clone()).unwrap_or_default(),
        })
        .collect();
    s.faults.clear();
    for _ in 0..rng.below(u64::from(cfg.max_faults) + 1) {
        let at = Some(rng.below(cfg.fault_ticks));
        let mut f = FaultSpec { at, ..FaultSpec::default() };
        match rng.below(6) {
            0 | 1 => f.crash = Some(pick(&mut rng)),
            2 => f.recover = Some(pick(&mut rng)),
            3 => {
                let (a, b) = pick_two(&mut rng);
                f.partition = Some(vec![vec![a, b]]);
            }
            4 => {
                let (from, to) = pick_two(&mut rng);
                f.cut = Some(LinkSpec { from, to });
            }
            _ => {
                f.at = None;
                let kind = P::MSG_KINDS[rng.below(P::MSG_KINDS.len() as u64) as usize];
                let m = MsgSpec {
                    kind: Some(kind.to_string()),
                    nth: Some(1 + rng.below(3) as u32),
                    ..MsgSpec::default()
                };
                if rng.below(2) == 0 {
                    f.drop = Some(m)
                } else {
                    f.duplicate = Some(m)
                }
            }
        }
        s.faults.push(f);
    }
    // Liveness phase: heal the network, recover everyone.
    s.faults.push(FaultSpec {
        at: Some(cfg.fault_ticks),
        heal: Some(true),
        ..FaultSpec::default()
    });
    for name in &names {
        s.faults.push(FaultSpec {
            at: Some(cfg.fault_ticks),
            recover: Some(name.clone()),
            ..FaultSpec::default()
        });
    }
    s.limits.max_ticks = cfg.fault_ticks + cfg.settle_ticks;
    s.limits.max_events = 200_000;
    s
}

/// Runs one random schedule; `Err` when a safety property broke or the run did not
/// settle after the faults stopped. Random loss stays on in the liveness phase.
pub fn check_one<P: Protocol>(
    base: &Scenario,
    seed: u64,
    cfg: &SweepConfig,
) -> Result<u64, Failure> {
    let scenario = random_scenario::<P>(base, seed, cfg);
    let fail = |problem: String| Failure { seed, scenario: Box::new(scenario.clone()), problem };
    let mut sim = Simulator::<P>::from_scenario(&scenario).map_err(|e| fail(e.to_string()))?;
    let end = sim.run_to_end();
    let events = u64::from(sim.events_so_far());
    for (spec, v) in P::PROPERTIES.iter().zip(sim.verdicts()) {
        if let (crate::protocol::PropertyKind::Always, Some((at, msg))) = (spec.kind, &v.first) {
            return Err(fail(format!("{} violated at event {at}: {msg}", spec.id)));
        }
    }
    if end != RunEnd::Quiescent {
        return Err(fail(format!("did not settle: the run ended by {end:?}")));
    }
    P::settled(&sim.world).map_err(|e| fail(format!("not live after healing: {e}")))?;
    Ok(events)
}

/// Runs `count` schedules from `first_seed`; returns the events simulated, or the first
/// failure.
pub fn sweep<P: Protocol>(
    base: &Scenario,
    first_seed: u64,
    count: u64,
    cfg: &SweepConfig,
) -> Result<u64, Failure> {
    let mut events = 0;
    for seed in first_seed..first_seed + count {
        events += check_one::<P>(base, seed, cfg)?;
    }
    Ok(events)
}
