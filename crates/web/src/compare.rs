//! The compare view's model, pure: one fault plan under two protocols, run and laid out
//! against one clock, with the measured cost and fault tables of
//! `commitscope_protocols::compare` (the very figures `commitscope compare` prints).
//!
//! The plan is written in each protocol's own nodes and messages by
//! `compare::translate`, which also says when a plan does not apply to a protocol (that
//! side then shows why instead of a diagram). Both runs are laid out with
//! `Rows::aligned`, so one virtual time sits at one height in both diagrams, and one cursor
//! in virtual time (`Option<Time>`, `None` before the first event) drives both.

use crate::layout::Rows;
use crate::state::RunData;
use commitscope_engine::erased::EventInfo;
use commitscope_engine::{EventId, PropertyKind, Time};
use commitscope_protocols::compare::{
    self, FaultResult, Options, Row, Variant, FAULT_PLANS, VARIANTS,
};
use std::rc::Rc;

/// The most participants the compare view offers (as the main view's picker).
pub const MAX_PARTICIPANTS: u32 = crate::state::MAX_PARTICIPANTS;

/// What the user picked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The two protocols, as indexes into `compare::VARIANTS`.
    pub sides: [usize; 2],
    /// An index into `compare::FAULT_PLANS`; `None`: the fault-free run the costs measure.
    pub plan: Option<usize>,
    pub participants: u32,
    /// Paxos Commit's F and layout (as `--faults F [--colocated]`).
    pub options: Options,
}

impl Default for Settings {
    /// 2PC against 3PC with the coordinator crashing once every vote is in: the course's
    /// lesson (2PC blocks, 3PC commits by timeout).
    fn default() -> Self {
        Settings { sides: [0, 1], plan: Some(1), participants: 3, options: Options::default() }
    }
}

/// One of the two columns.
#[derive(Debug)]
pub struct Side {
    pub variant: Variant,
    /// How the plan reads under this protocol, or why it does not apply; `None` without a
    /// plan.
    pub plan_text: Option<String>,
    /// The run; `None` when the plan does not apply to this protocol.
    pub data: Option<Rc<RunData>>,
    /// What happened by the end: blocked, decides, violates AC1.
    pub verdict: Option<FaultResult>,
}

impl Side {
    /// The cursor in this run at virtual time `time`: its last event at or before it.
    pub fn cursor(&self, time: Option<Time>) -> Option<EventId> {
        let (data, t) = (self.data.as_ref()?, time?);
        let n = data.events().partition_point(|e| e.time <= t);
        n.checked_sub(1).map(|i| i as EventId)
    }
}

#[derive(Debug)]
pub struct CompareData {
    pub settings: Settings,
    pub sides: [Side; 2],
    /// Every variant measured for these participants and options (the CLI's rows).
    pub rows: Rc<Vec<Row>>,
    /// Every distinct virtual time at which something happens in either run, in order.
    pub times: Vec<Time>,
}

impl PartialEq for CompareData {
    /// Compared by identity, as `RunData`: each is made once and shared.
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl CompareData {
    /// Runs and lays out `settings`; reuses `previous`'s measured tables when they still
    /// apply. `Err` names what does not fit (nothing here panics on a setting).
    pub fn new(settings: Settings, previous: Option<&CompareData>) -> Result<CompareData, String> {
        let n = settings.participants;
        if !(1..=MAX_PARTICIPANTS).contains(&n) {
            return Err(format!("participants: choose 1 to {MAX_PARTICIPANTS}"));
        }
        compare::check(n, settings.options).map_err(|e| {
            e.replace("--participants", "participants").replace("--colocated", "co-located")
        })?;
        let variant = |i: usize| {
            VARIANTS.get(i).copied().ok_or_else(|| format!("there is no protocol number {i}"))
        };
        let plan = match settings.plan {
            None => None,
            Some(p) => {
                Some(FAULT_PLANS.get(p).ok_or_else(|| format!("there is no fault plan {p}"))?)
            }
        };
        let rows = match previous {
            Some(prev)
                if prev.settings.participants == n && prev.settings.options == settings.options =>
            {
                prev.rows.clone()
            }
            _ => Rc::new(compare::compare_all(n, settings.options)?),
        };
        let mut sides = Vec::with_capacity(2);
        for i in settings.sides {
            let v = variant(i)?;
            let (scenario, plan_text) = match plan {
                None => (Some(compare::fault_free_scenario(v, n, settings.options)), None),
                Some(p) => {
                    let t = compare::translate(p, v, n, settings.options);
                    (t.scenario, Some(t.text))
                }
            };
            let (data, verdict) = match scenario {
                None => (None, None),
                Some(s) => {
                    let d = RunData::new(&s, None)?;
                    let verdict =
                        compare::judge(d.run.as_ref(), plan.map_or("fault_free", |p| p.id));
                    (Some(d), Some(verdict))
                }
            };
            sides.push((v, plan_text, data, verdict));
        }
        // One clock: lay both runs out against the union of their moments.
        let events: Vec<&[EventInfo]> =
            sides.iter().filter_map(|s| s.2.as_ref()).map(|d| d.events()).collect();
        let mut aligned = Rows::aligned(&events).into_iter();
        let mut times: Vec<Time> = events.iter().flat_map(|e| e.iter().map(|e| e.time)).collect();
        times.sort_unstable();
        times.dedup();
        let mut built = sides.into_iter().map(|(variant, plan_text, data, verdict)| {
            let data = data.map(|mut d| {
                if let Some(rows) = aligned.next() {
                    d.rows = Rows { recovered: std::mem::take(&mut d.rows.recovered), ..rows };
                }
                Rc::new(d)
            });
            Side { variant, plan_text, data, verdict }
        });
        let (Some(a), Some(b)) = (built.next(), built.next()) else {
            return Err("the compare view needs two protocols".into());
        };
        Ok(CompareData { settings, sides: [a, b], rows, times })
    }

    /// The virtual time of the last event of either run.
    pub fn end_time(&self) -> Time {
        self.times.last().copied().unwrap_or(0)
    }

    /// The end: the last moment.
    pub fn last(&self) -> Option<Time> {
        self.times.last().copied()
    }

    /// How many moments are at or before `time` (0: the start).
    fn position(&self, time: Option<Time>) -> usize {
        time.map_or(0, |t| self.times.partition_point(|x| *x <= t))
    }

    fn at(&self, position: usize) -> Option<Time> {
        position.checked_sub(1).and_then(|i| self.times.get(i)).copied()
    }

    /// `n` moments later (earlier when negative), clamped to the start and the end.
    pub fn step(&self, time: Option<Time>, n: i64) -> Option<Time> {
        let pos = self.position(time) as i64 + n;
        self.at(pos.clamp(0, self.times.len() as i64) as usize)
    }

    /// The last moment at or before `t` (`None`: before the first).
    pub fn seek(&self, t: Time) -> Option<Time> {
        self.at(self.position(Some(t)))
    }

    /// The first moment after `time` at which either run has an event `pick` accepts.
    pub fn next_where(
        &self,
        time: Option<Time>,
        pick: impl Fn(&EventInfo) -> bool,
    ) -> Option<Time> {
        self.sides
            .iter()
            .filter_map(|s| s.data.as_ref())
            .flat_map(|d| d.events().iter())
            .filter(|e| time.is_none_or(|t| e.time > t) && pick(e))
            .map(|e| e.time)
            .min()
    }

    /// The earliest moment at which a safety property is violated in either run.
    pub fn first_violation(&self) -> Option<Time> {
        self.sides
            .iter()
            .filter_map(|s| s.data.as_ref())
            .flat_map(|d| {
                d.run
                    .properties()
                    .into_iter()
                    .filter(|p| p.kind == PropertyKind::Always)
                    .filter_map(|p| p.first)
                    .filter_map(|id| d.events().get(id as usize).map(|e| e.time))
                    .collect::<Vec<_>>()
            })
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_compares_2pc_blocking_with_3pc_deciding() {
        let c = CompareData::new(Settings::default(), None).expect("runs");
        assert_eq!(c.sides[0].variant.label, "2PC");
        assert_eq!(c.sides[1].variant.label, "3PC, timeout rule");
        let v0 = c.sides[0].verdict.as_ref().unwrap();
        let v1 = c.sides[1].verdict.as_ref().unwrap();
        assert_eq!(v0.verdict, compare::Verdict::Blocked);
        assert_eq!(v1.verdict, compare::Verdict::Decides);
        // The same verdicts as the fault table's, which ran the same scenarios.
        assert_eq!(c.rows[0].faults[1], *v0);
        assert_eq!(c.rows[1].faults[1], *v1);
        assert!(c.sides[0].plan_text.as_deref().unwrap().starts_with("2PC has no PreCommit"));
    }

    #[test]
    fn one_clock_drives_both_cursors() {
        let c = CompareData::new(Settings::default(), None).unwrap();
        assert_eq!(c.step(None, -3), None);
        let t = c.step(None, 4).unwrap();
        assert_eq!(t, c.times[3]);
        for s in &c.sides {
            let d = s.data.as_ref().unwrap();
            let cur = s.cursor(Some(t));
            // The cursor's event is at or before t, and the next one after t.
            if let Some(cur) = cur {
                assert!(d.events()[cur as usize].time <= t);
            }
            let next = cur.map_or(0, |c| c as usize + 1);
            assert!(d.events().get(next).is_none_or(|e| e.time > t));
        }
        assert_eq!(c.step(Some(t), i64::MAX / 2), c.last());
        assert_eq!(c.seek(c.end_time() + 100), c.last());
        assert_eq!(c.seek(t), Some(t));
        let decided = c.next_where(None, |e| e.kind == "decide").expect("3PC decides");
        assert!(decided > 0);
    }

    #[test]
    fn a_plan_that_does_not_apply_says_so_and_bad_settings_are_refused() {
        let s = Settings { plan: Some(2), participants: 1, ..Settings::default() };
        let c = CompareData::new(s, None).unwrap();
        for side in &c.sides {
            assert!(side.data.is_none());
            assert!(side.plan_text.as_deref().unwrap().starts_with("does not apply"));
        }
        let bad = Settings {
            sides: [0, 3],
            participants: 2,
            options: Options { faults: 1, colocated: true },
            ..Settings::default()
        };
        let e = CompareData::new(bad, None).unwrap_err();
        assert!(e.contains("co-located") && e.contains("participants 3 or more"), "{e}");
        assert!(CompareData::new(Settings { sides: [0, 9], ..Settings::default() }, None).is_err());
        assert!(CompareData::new(Settings { plan: Some(9), ..Settings::default() }, None).is_err());
        assert!(
            CompareData::new(Settings { participants: 0, ..Settings::default() }, None).is_err()
        );
    }

    #[test]
    fn picking_other_protocols_reuses_the_measured_tables() {
        let a = CompareData::new(Settings::default(), None).unwrap();
        let b =
            CompareData::new(Settings { sides: [3, 4], ..Settings::default() }, Some(&a)).unwrap();
        assert!(Rc::ptr_eq(&a.rows, &b.rows));
        let c = CompareData::new(Settings { participants: 4, ..Settings::default() }, Some(&b))
            .unwrap();
        assert!(!Rc::ptr_eq(&b.rows, &c.rows));
        assert_eq!(c.rows[0].messages, 16, "2PC with 4 participants: 4N messages");
    }
}
