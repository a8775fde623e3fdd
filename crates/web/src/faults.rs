//! Faults injected by a click, as edits of the scenario: pure functions, tested natively.
//!
//! A node or network fault fires right after the cursor's event (`after.event`), so the
//! past is unchanged; a message fault names the message by sender, receiver, type and
//! `nth`. Injecting while rewound forks: faults that would fire after the cursor are the
//! old future, and go.

use commitscope_engine::erased::{AnyRun, EventInfo};
use commitscope_engine::scenario::{FaultSpec, LinkSpec, MsgSpec, TriggerSpec};
use commitscope_engine::{EventId, Scenario};

/// What a user can inject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Injection {
    Crash(String),
    Recover(String),
    /// Symmetric sides; the nodes not named form one more side.
    Partition(Vec<Vec<String>>),
    Cut {
        from: String,
        to: String,
    },
    Isolate(String),
    Heal,
    /// On the message sent by this send event.
    Drop(EventId),
    Duplicate(EventId),
    Delay(EventId, u64),
}

impl Injection {
    pub fn describe(&self) -> String {
        match self {
            Injection::Crash(n) => format!("crash {n}"),
            Injection::Recover(n) => format!("recover {n}"),
            Injection::Partition(g) => {
                let sides: Vec<String> =
                    g.iter().map(|s| format!("{{{}}}", s.join(", "))).collect();
                format!("partition {}", sides.join(" | "))
            }
            Injection::Cut { from, to } => format!("cut {from} → {to}"),
            Injection::Isolate(n) => format!("isolate {n}"),
            Injection::Heal => "heal the network".into(),
            Injection::Drop(id) => format!("drop message #{id}"),
            Injection::Duplicate(id) => format!("duplicate message #{id}"),
            Injection::Delay(id, t) => format!("delay message #{id} by {t} ticks"),
        }
    }
}

/// Is the message sent by `send` in flight right after `cursor`?
pub fn in_flight(
    run: &dyn AnyRun,
    ends: &[EventId],
    send: EventId,
    cursor: Option<EventId>,
) -> bool {
    let Some(c) = cursor else { return false };
    let is_send = run.events().get(send as usize).is_some_and(|e| e.kind == "send");
    is_send && send <= c && ends.iter().all(|d| *d > c)
}

fn node_name(run: &dyn AnyRun, n: Option<u32>) -> Option<String> {
    n.and_then(|n| run.nodes().get(n as usize)).map(|s| s.name.clone())
}

/// The message fault's selector: sender, receiver, type and how many such sends up to it.
pub fn msg_spec(run: &dyn AnyRun, send: EventId) -> Result<MsgSpec, String> {
    let events = run.events();
    let e = events.get(send as usize).filter(|e| e.kind == "send").ok_or("not a message")?;
    let same = |o: &EventInfo| {
        o.kind == "send" && o.node == e.node && o.peer == e.peer && o.subkind == e.subkind
    };
    let nth = events[..=send as usize].iter().filter(|o| same(o)).count() as u32;
    Ok(MsgSpec {
        from: node_name(run, e.node),
        to: node_name(run, e.peer),
        kind: e.subkind.map(str::to_string),
        nth: Some(nth),
        ticks: None,
    })
}

/// The event at which each of the scenario's faults took effect in `run`, if it did.
/// Node and network faults are matched to the crash/recover/network event they caused;
/// message faults to the send of the message they picked.
pub fn fired_at(run: &dyn AnyRun) -> Vec<Option<EventId>> {
    let events = run.events();
    let names: Vec<&str> = run.nodes().iter().map(|n| n.name.as_str()).collect();
    let node_id = |name: &str| names.iter().position(|n| *n == name).map(|i| i as u32);
    let mut taken = vec![false; events.len()];
    let mut out = Vec::new();
    for f in &run.scenario().faults {
        if let Some(m) = f.drop.as_ref().or(f.duplicate.as_ref()).or(f.delay.as_ref()) {
            out.push(nth_send(run, m));
            continue;
        }
        let (kind, node) = if let Some(n) = &f.crash {
            ("crash", node_id(n))
        } else if let Some(n) = &f.recover {
            ("recover", node_id(n))
        } else {
            ("network", None)
        };
        let after_event = f.after.as_ref().and_then(|t| t.event);
        let hit = events.iter().position(|e| {
            !taken[e.id as usize]
                && e.kind == kind
                && (kind == "network" || e.node == node)
                && f.at.is_none_or(|t| e.time >= t)
                && after_event.is_none_or(|a| e.id > a)
        });
        if let Some(i) = hit {
            taken[i] = true;
        }
        out.push(hit.map(|i| i as EventId));
    }
    out
}

fn nth_send(run: &dyn AnyRun, m: &MsgSpec) -> Option<EventId> {
    let names: Vec<&str> = run.nodes().iter().map(|n| n.name.as_str()).collect();
    let id = |name: &Option<String>| -> Option<Option<u32>> {
        match name {
            None => Some(None),
            Some(n) => names.iter().position(|x| x == n).map(|i| Some(i as u32)),
        }
    };
    let (from, to) = (id(&m.from)?, id(&m.to)?);
    let nth = m.nth.unwrap_or(1) as usize;
    run.events()
        .iter()
        .filter(|e| {
            e.kind == "send"
                && from.is_none_or(|f| e.node == Some(f))
                && to.is_none_or(|t| e.peer == Some(t))
                && m.kind.as_deref().is_none_or(|k| e.subkind == Some(k))
        })
        .nth(nth.saturating_sub(1))
        .map(|e| e.id)
}

/// The scenario with `injection` applied at `cursor`: faults that would take effect after
/// the cursor are dropped (the old future), then the new fault is appended.
pub fn inject(
    run: &dyn AnyRun,
    ends: &[Vec<EventId>],
    cursor: Option<EventId>,
    injection: &Injection,
) -> Result<Scenario, String> {
    let mut scenario = run.scenario().clone();
    let fired = fired_at(run);
    let keep = |f: &Option<EventId>| match (f, cursor) {
        (Some(at), Some(c)) => *at <= c,
        _ => false,
    };
    scenario.faults = scenario
        .faults
        .iter()
        .zip(&fired)
        .filter(|(_, f)| keep(f))
        .map(|(s, _)| s.clone())
        .collect();
    let after = || cursor.map(|c| TriggerSpec { event: Some(c), ..TriggerSpec::default() });
    let node_fault =
        |spec: FaultSpec| FaultSpec { at: cursor.is_none().then_some(0), after: after(), ..spec };
    let known = |n: &str| -> Result<String, String> {
        run.nodes()
            .iter()
            .any(|s| s.name == n)
            .then(|| n.to_string())
            .ok_or_else(|| format!("there is no node \"{n}\""))
    };
    let msg = |send: EventId| -> Result<MsgSpec, String> {
        let no_ends = Vec::new();
        let e = ends.get(send as usize).unwrap_or(&no_ends);
        if !in_flight(run, e, send, cursor) {
            return Err("that message is not in flight at the cursor".into());
        }
        msg_spec(run, send)
    };
    let fault = match injection {
        Injection::Crash(n) => {
            node_fault(FaultSpec { crash: Some(known(n)?), ..FaultSpec::default() })
        }
        Injection::Recover(n) => {
            node_fault(FaultSpec { recover: Some(known(n)?), ..FaultSpec::default() })
        }
        Injection::Partition(groups) => {
            let groups = groups
                .iter()
                .map(|g| g.iter().map(|n| known(n)).collect::<Result<Vec<_>, _>>())
                .collect::<Result<Vec<_>, _>>()?;
            if groups.iter().all(Vec::is_empty) {
                return Err("choose at least one node for a side".into());
            }
            node_fault(FaultSpec { partition: Some(groups), ..FaultSpec::default() })
        }
        Injection::Cut { from, to } => {
            if from == to {
                return Err("a cut needs two different nodes".into());
            }
            let cut = LinkSpec { from: known(from)?, to: known(to)? };
            node_fault(FaultSpec { cut: Some(cut), ..FaultSpec::default() })
        }
        Injection::Isolate(n) => {
            node_fault(FaultSpec { isolate: Some(known(n)?), ..FaultSpec::default() })
        }
        Injection::Heal => node_fault(FaultSpec { heal: Some(true), ..FaultSpec::default() }),
        Injection::Drop(send) => FaultSpec { drop: Some(msg(*send)?), ..FaultSpec::default() },
        Injection::Duplicate(send) => {
            FaultSpec { duplicate: Some(msg(*send)?), ..FaultSpec::default() }
        }
        Injection::Delay(send, ticks) => FaultSpec {
            delay: Some(MsgSpec { ticks: Some(*ticks), ..msg(*send)? }),
            ..FaultSpec::default()
        },
    };
    scenario.faults.push(fault);
    Ok(scenario)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Rows;
    use commitscope_protocols::{presets, run as run_scenario};

    fn preset(id: &str) -> Box<dyn AnyRun> {
        run_scenario(&presets::find(id).unwrap().scenario()).unwrap()
    }

    #[test]
    fn a_crash_at_the_cursor_fires_next_and_keeps_the_past() {
        let r = preset("two_pc/happy_path");
        let rows = Rows::new(r.events());
        let s =
            inject(r.as_ref(), &rows.ends, Some(10), &Injection::Crash("coord".into())).unwrap();
        let f = s.faults.last().unwrap();
        assert_eq!(f.after.as_ref().and_then(|t| t.event), Some(10));
        let forked = run_scenario(&s).unwrap();
        assert_eq!(&forked.events()[..=10], &r.events()[..=10]);
        assert_eq!(forked.events()[11].kind, "crash");
        assert_eq!(forked.events()[11].node, Some(0));
    }

    #[test]
    fn message_faults_count_matching_sends() {
        let r = preset("two_pc/happy_path");
        // #29 is coord's Commit to p2: the first Commit coord sends to p2.
        let m = msg_spec(r.as_ref(), 29).unwrap();
        assert_eq!(
            (m.from.as_deref(), m.to.as_deref(), m.kind.as_deref(), m.nth),
            (Some("coord"), Some("p2"), Some("commit"), Some(1))
        );
        assert!(msg_spec(r.as_ref(), 1).is_err(), "a phase change is not a message");
    }

    #[test]
    fn dropping_an_in_flight_message_loses_it() {
        let r = preset("two_pc/happy_path");
        let rows = Rows::new(r.events());
        let s = inject(r.as_ref(), &rows.ends, Some(30), &Injection::Drop(29)).unwrap();
        let forked = run_scenario(&s).unwrap();
        let lost = forked.events().iter().find(|e| e.kind == "drop").unwrap();
        assert_eq!(lost.msg_id, Some(29));
        // Delivered messages cannot be dropped any more.
        assert!(inject(r.as_ref(), &rows.ends, Some(40), &Injection::Drop(29)).is_err());
        assert!(inject(r.as_ref(), &rows.ends, Some(30), &Injection::Drop(9999)).is_err());
    }

    #[test]
    fn forking_discards_the_faults_of_the_old_future() {
        let r = preset("two_pc/coordinator_recovers");
        let fired = fired_at(r.as_ref());
        assert_eq!(fired, vec![Some(26), Some(72)]);
        let rows = Rows::new(r.events());
        // Rewound to #50: the crash (#26) stays, the recovery (#72) is the old future.
        let s = inject(r.as_ref(), &rows.ends, Some(50), &Injection::Crash("p1".into())).unwrap();
        assert_eq!(s.faults.len(), 2);
        assert_eq!(s.faults[0], r.scenario().faults[0]);
        assert_eq!(s.faults[1].crash.as_deref(), Some("p1"));
    }

    #[test]
    fn bad_injections_are_errors_not_panics() {
        let r = preset("two_pc/happy_path");
        let rows = Rows::new(r.events());
        assert!(
            inject(r.as_ref(), &rows.ends, Some(3), &Injection::Crash("nobody".into())).is_err()
        );
        let cut = Injection::Cut { from: "p1".into(), to: "p1".into() };
        assert!(inject(r.as_ref(), &rows.ends, Some(3), &cut).is_err());
        assert!(
            inject(r.as_ref(), &rows.ends, Some(3), &Injection::Partition(vec![vec![]])).is_err()
        );
    }
}
