//! The one application state and its reducer. The reducer never panics on user input:
//! every fallible step returns a `Result`, an error is shown and the current run is kept.
//! When an action changes nothing, the same `Rc` is returned (no re-render).

use crate::faults::{self, Injection};
use crate::layout::Rows;
use commitscope_engine::erased::AnyRun;
use commitscope_engine::{EventId, Scenario, Time};
use commitscope_protocols::presets;
use std::rc::Rc;
use yew::Reducible;

/// Playback speeds, in events a second at 1×.
pub const SPEEDS: &[f64] = &[0.25, 0.5, 1.0, 2.0, 4.0, 8.0];
pub const DEFAULT_SPEED: usize = 2;
/// Events a second at 1×.
pub const BASE_RATE: f64 = 4.0;
/// How far a "delay" click holds a message back.
pub const DELAY_TICKS: u64 = 25;
pub const DEFAULT_PRESET: &str = "two_pc/happy_path";
/// Bounds on what the pickers accept (the engine checks the rest).
pub const MAX_PARTICIPANTS: u32 = 7;

/// A recorded run and what the UI derives from it once.
pub struct RunData {
    pub run: Box<dyn AnyRun>,
    pub rows: Rows,
    /// The preset this run came from, while unchanged.
    pub preset: Option<&'static str>,
}

impl PartialEq for RunData {
    /// Runs are compared by identity: each `RunData` is made once and shared.
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl std::fmt::Debug for RunData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RunData({} events)", self.run.events().len())
    }
}

impl RunData {
    pub fn new(scenario: &Scenario, preset: Option<&'static str>) -> Result<RunData, String> {
        let run = commitscope_protocols::run(scenario).map_err(|e| e.to_string())?;
        let mut rows = Rows::new(run.events());
        for e in run.events().iter().filter(|e| e.kind == "recover") {
            let views = run.views_at(Some(e.id));
            if let Some(v) = e.node.and_then(|n| views.get(n as usize)) {
                rows.recovered.insert(e.id, v.phase.clone());
            }
        }
        Ok(RunData { run, rows, preset })
    }

    pub fn events(&self) -> &[commitscope_engine::erased::EventInfo] {
        self.run.events()
    }

    pub fn last(&self) -> Option<EventId> {
        self.run.events().len().checked_sub(1).map(|i| i as EventId)
    }

    pub fn time_at(&self, cursor: Option<EventId>) -> Time {
        cursor.and_then(|c| self.events().get(c as usize)).map_or(0, |e| e.time)
    }

    pub fn ends(&self, send: EventId) -> &[EventId] {
        self.rows.ends.get(send as usize).map(Vec::as_slice).unwrap_or(&[])
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    None,
    /// A message, by its send event.
    Message(EventId),
    Node(u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jump {
    Fault,
    Decision,
    Violation,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AppState {
    pub data: Rc<RunData>,
    /// Right after this event; `None`: before the first event.
    pub cursor: Option<EventId>,
    pub playing: bool,
    pub speed: usize,
    /// Earlier runs, newest last, with their cursors: one undo brings one back.
    pub undo: Vec<(Rc<RunData>, Option<EventId>)>,
    pub selected: Selection,
    pub error: Option<String>,
    /// A short confirmation of the last thing done ("crash p1 injected at #12").
    pub notice: Option<String>,
    pub help: bool,
    pub import: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Step by ±n events.
    Step(i64),
    Seek(Option<EventId>),
    /// The last event at or before this virtual time.
    SeekTime(Time),
    ToStart,
    ToEnd,
    Jump(Jump),
    /// One tick of playback: the next event, or stop at the end.
    Tick,
    TogglePlay,
    Pause,
    SetSpeed(usize),
    LoadPreset(String),
    SetProtocol(String),
    SetParticipants(u32),
    SetSeed(u64),
    Import(String),
    Inject(Injection),
    Undo,
    Select(Selection),
    ToggleHelp,
    ToggleImport,
    CloseOverlays,
    DismissError,
}

impl Default for AppState {
    fn default() -> Self {
        let scenario = presets::find(DEFAULT_PRESET).map(|p| p.scenario());
        let data = scenario
            .and_then(|s| RunData::new(&s, Some(DEFAULT_PRESET)).ok())
            .or_else(|| RunData::new(&Scenario::new("two_pc"), None).ok())
            .expect("the default scenario runs");
        AppState::new(data)
    }
}

impl AppState {
    pub fn new(data: RunData) -> AppState {
        let cursor = data.last();
        AppState {
            data: Rc::new(data),
            cursor,
            playing: false,
            speed: DEFAULT_SPEED,
            undo: Vec::new(),
            selected: Selection::None,
            error: None,
            notice: None,
            help: false,
            import: false,
        }
    }

    pub fn from_preset(id: &str) -> Option<AppState> {
        let p = presets::find(id)?;
        RunData::new(&p.scenario(), Some(p.id)).ok().map(AppState::new)
    }

    pub fn scenario(&self) -> &Scenario {
        self.data.run.scenario()
    }

    pub fn at_end(&self) -> bool {
        self.cursor == self.data.last()
    }

    fn with(self: &Rc<Self>, f: impl FnOnce(&mut AppState)) -> Rc<Self> {
        let mut next = (**self).clone();
        f(&mut next);
        if next == **self {
            self.clone()
        } else {
            Rc::new(next)
        }
    }

    fn seek(self: &Rc<Self>, cursor: Option<EventId>) -> Rc<Self> {
        let cursor = match (cursor, self.data.last()) {
            (Some(c), Some(last)) => Some(c.min(last)),
            _ => None,
        };
        self.with(|s| s.cursor = cursor)
    }

    /// Replaces the run by `scenario`'s, keeping the old one for undo; on error the run
    /// stays and the error is shown.
    fn rerun(
        self: &Rc<Self>,
        scenario: Result<Scenario, String>,
        preset: Option<&'static str>,
        cursor: CursorRule,
        notice: Option<String>,
    ) -> Rc<Self> {
        match scenario.and_then(|s| RunData::new(&s, preset)) {
            Err(e) => self.with(|s| s.error = Some(e)),
            Ok(data) => self.with(|s| {
                let old = std::mem::replace(&mut s.data, Rc::new(data));
                s.undo.push((old, s.cursor));
                if s.undo.len() > 50 {
                    s.undo.remove(0);
                }
                s.cursor = match cursor {
                    CursorRule::End => s.data.last(),
                    CursorRule::KeepThenFault => {
                        // The fault fires right after the cursor's event: show it happen.
                        let next = s.cursor.map_or(0, |c| c + 1);
                        let is_fault = s
                            .data
                            .events()
                            .get(next as usize)
                            .is_some_and(|e| matches!(e.kind, "crash" | "recover" | "network"));
                        if is_fault {
                            Some(next)
                        } else {
                            s.cursor
                        }
                    }
                };
                s.error = None;
                s.notice = notice;
                s.playing = false;
                s.selected = match s.selected {
                    Selection::Node(n) if (n as usize) < s.data.run.nodes().len() => {
                        Selection::Node(n)
                    }
                    _ => Selection::None,
                };
            }),
        }
    }

    fn jump(self: &Rc<Self>, to: Jump) -> Rc<Self> {
        let after = self.cursor.map_or(0, |c| c + 1) as usize;
        let events = self.data.events();
        let target = match to {
            Jump::Fault => events.iter().skip(after).find(|e| {
                matches!(e.kind, "crash" | "recover" | "network" | "drop" | "request_lost")
                    || e.duplicate
            }),
            Jump::Decision => events.iter().skip(after).find(|e| e.kind == "decide"),
            Jump::Violation => {
                let firsts: Vec<EventId> = self
                    .data
                    .run
                    .properties()
                    .iter()
                    .filter(|p| p.kind == commitscope_engine::PropertyKind::Always)
                    .filter_map(|p| p.first)
                    .collect();
                let next = firsts.iter().filter(|f| **f as usize >= after).min();
                let any = firsts.iter().min();
                return match next.or(any) {
                    Some(id) => self.seek(Some(*id)),
                    None => {
                        self.with(|s| s.notice = Some("no property is violated in this run".into()))
                    }
                };
            }
        };
        match target {
            Some(e) => self.seek(Some(e.id)),
            None => self.with(|s| {
                s.notice = Some(format!(
                    "no further {} in this run",
                    match to {
                        Jump::Fault => "fault",
                        Jump::Decision => "decision",
                        Jump::Violation => "violation",
                    }
                ))
            }),
        }
    }
}

enum CursorRule {
    End,
    KeepThenFault,
}

/// `scenario` with one parameter set (the pickers and the embed's `participants`).
pub(crate) fn params_with(scenario: &Scenario, key: &str, value: serde_json::Value) -> Scenario {
    let mut s = scenario.clone();
    let mut params = match &s.params {
        serde_json::Value::Object(m) => m.clone(),
        _ => serde_json::Map::new(),
    };
    params.insert(key.to_string(), value);
    s.params = serde_json::Value::Object(params);
    s
}

impl Reducible for AppState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        match action {
            Action::Step(n) => {
                let pos = self.cursor.map_or(-1, i64::from) + n;
                if pos < 0 {
                    self.seek(None)
                } else {
                    self.seek(Some(pos.min(i64::from(u32::MAX)) as EventId))
                }
            }
            Action::Seek(c) => self.seek(c),
            Action::SeekTime(t) => {
                let n = self.data.events().partition_point(|e| e.time <= t);
                self.seek(n.checked_sub(1).map(|i| i as EventId))
            }
            Action::ToStart => self.seek(None),
            Action::ToEnd => self.seek(self.data.last()),
            Action::Jump(j) => self.jump(j),
            Action::Tick => {
                if self.at_end() {
                    self.with(|s| s.playing = false)
                } else {
                    let next = self.cursor.map_or(0, |c| c + 1);
                    let stop = Some(next) == self.data.last();
                    self.with(|s| {
                        s.cursor = Some(next);
                        s.playing = !stop;
                    })
                }
            }
            Action::TogglePlay => {
                if self.playing {
                    self.with(|s| s.playing = false)
                } else {
                    // Playing from the end starts again from the beginning.
                    let restart = self.at_end();
                    self.with(|s| {
                        if restart {
                            s.cursor = None;
                        }
                        s.playing = s.data.last().is_some();
                    })
                }
            }
            Action::Pause => self.with(|s| s.playing = false),
            Action::SetSpeed(i) => self.with(|s| s.speed = i.min(SPEEDS.len() - 1)),
            Action::LoadPreset(id) => match presets::find(&id) {
                Some(p) => {
                    let scenario = Scenario::from_json(p.json).map_err(|e| e.to_string());
                    let notice = Some(format!("loaded “{}”", p.title()));
                    self.rerun(scenario, Some(p.id), CursorRule::End, notice)
                }
                None => self.with(|s| s.error = Some(format!("there is no preset \"{id}\""))),
            },
            Action::SetProtocol(name) => {
                if name == self.scenario().protocol {
                    return self;
                }
                let prefix = format!("{name}/");
                match presets::ALL.iter().find(|p| p.id.starts_with(&prefix)) {
                    Some(p) => self.reduce(Action::LoadPreset(p.id.to_string())),
                    None => self.rerun(Ok(Scenario::new(&name)), None, CursorRule::End, None),
                }
            }
            Action::SetParticipants(n) => {
                if !(1..=MAX_PARTICIPANTS).contains(&n) {
                    return self.with(|s| {
                        s.error = Some(format!("participants: choose 1 to {MAX_PARTICIPANTS}"))
                    });
                }
                let s = params_with(self.scenario(), "participants", n.into());
                self.rerun(Ok(s), None, CursorRule::End, Some(format!("{n} participants")))
            }
            Action::SetSeed(seed) => {
                let mut s = self.scenario().clone();
                s.seed = seed;
                self.rerun(Ok(s), None, CursorRule::End, Some(format!("seed {seed}")))
            }
            Action::Import(text) => {
                let scenario = Scenario::from_json(&text).map_err(|e| e.to_string());
                let next =
                    self.rerun(scenario, None, CursorRule::End, Some("scenario imported".into()));
                if next.error.is_none() {
                    next.with(|s| s.import = false)
                } else {
                    next
                }
            }
            Action::Inject(inj) => {
                let scenario =
                    faults::inject(self.data.run.as_ref(), &self.data.rows.ends, self.cursor, &inj);
                let at = self.cursor.map_or("the start".to_string(), |c| format!("#{c}"));
                let forked = self.cursor != self.data.last();
                let notice = format!(
                    "{} injected after {at}{}",
                    inj.describe(),
                    if forked {
                        " — the timeline forked (undo brings the old future back)"
                    } else {
                        ""
                    }
                );
                self.rerun(scenario, None, CursorRule::KeepThenFault, Some(notice))
            }
            Action::Undo => match self.undo.last() {
                None => self.with(|s| s.notice = Some("nothing to undo".into())),
                Some(_) => self.with(|s| {
                    if let Some((data, cursor)) = s.undo.pop() {
                        s.data = data;
                        s.cursor = cursor;
                        s.playing = false;
                        s.error = None;
                        s.notice = Some("undone".into());
                        s.selected = Selection::None;
                    }
                }),
            },
            Action::Select(sel) => self.with(|s| s.selected = sel),
            Action::ToggleHelp => self.with(|s| s.help = !s.help),
            Action::ToggleImport => self.with(|s| s.import = !s.import),
            Action::CloseOverlays => self.with(|s| {
                s.help = false;
                s.import = false;
                s.selected = Selection::None;
            }),
            Action::DismissError => self.with(|s| s.error = None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> Rc<AppState> {
        Rc::new(AppState::default())
    }

    #[test]
    fn nothing_changed_is_the_same_rc() {
        let s = state();
        let same = s.clone().reduce(Action::ToEnd);
        assert!(Rc::ptr_eq(&s, &same));
        let moved = s.clone().reduce(Action::Step(-1));
        assert!(!Rc::ptr_eq(&s, &moved));
    }

    #[test]
    fn stepping_is_clamped() {
        let s = state().reduce(Action::ToStart);
        assert_eq!(s.cursor, None);
        let s = s.reduce(Action::Step(-5));
        assert_eq!(s.cursor, None);
        let s = s.reduce(Action::Step(1));
        assert_eq!(s.cursor, Some(0));
        let s = s.reduce(Action::Step(i64::MAX / 2));
        assert_eq!(s.cursor, s.data.last());
        let s = s.reduce(Action::Seek(Some(u32::MAX)));
        assert_eq!(s.cursor, s.data.last());
    }

    #[test]
    fn seek_time_lands_on_the_last_event_at_that_time() {
        let s = state().reduce(Action::SeekTime(9));
        let c = s.cursor.unwrap() as usize;
        assert_eq!(s.data.events()[c].time, 9);
        assert!(s.data.events()[c + 1].time > 9);
    }

    #[test]
    fn playback_stops_at_the_end() {
        let s = state().reduce(Action::TogglePlay);
        assert!(s.playing);
        assert_eq!(s.cursor, None, "playing from the end restarts");
        let mut s = s;
        for _ in 0..1000 {
            s = s.reduce(Action::Tick);
        }
        assert!(!s.playing);
        assert!(s.at_end());
    }

    #[test]
    fn invalid_imports_leave_the_run_alone() {
        let s = state();
        let next = s.clone().reduce(Action::Import("{ not json".into()));
        assert!(Rc::ptr_eq(&s.data, &next.data));
        assert!(next.error.is_some());
        let bad_node = r#"{"version":1,"protocol":"two_pc","faults":[{"at":3,"crash":"zed"}]}"#;
        let next = s.clone().reduce(Action::Import(bad_node.into()));
        let err = next.error.clone().unwrap();
        assert!(err.contains("faults[0].crash") && err.contains("zed"), "{err}");
        assert!(Rc::ptr_eq(&s.data, &next.data));
    }

    #[test]
    fn inject_fork_and_undo() {
        let s = state().reduce(Action::Seek(Some(20)));
        let old = s.data.clone();
        let s = s.reduce(Action::Inject(Injection::Crash("coord".into())));
        assert!(s.error.is_none(), "{:?}", s.error);
        assert_eq!(s.cursor, Some(21), "the cursor shows the crash");
        assert_eq!(s.data.events()[21].kind, "crash");
        let s = s.reduce(Action::Undo);
        assert!(Rc::ptr_eq(&s.data, &old));
        assert_eq!(s.cursor, Some(20));
    }

    #[test]
    fn pickers_rerun_and_reject_nonsense() {
        let s = state().reduce(Action::SetParticipants(5));
        assert_eq!(s.data.run.nodes().len(), 6);
        let s2 = s.clone().reduce(Action::SetParticipants(0));
        assert!(s2.error.is_some() && Rc::ptr_eq(&s.data, &s2.data));
        let s3 = s.clone().reduce(Action::LoadPreset("nope".into()));
        assert!(s3.error.is_some());
        let s4 = s.reduce(Action::SetSeed(7));
        assert_eq!(s4.scenario().seed, 7);
    }

    #[test]
    fn every_jump_is_safe() {
        for p in presets::ALL {
            let mut s = Rc::new(AppState::from_preset(p.id).unwrap()).reduce(Action::ToStart);
            for j in [Jump::Fault, Jump::Decision, Jump::Violation] {
                s = s.reduce(Action::Jump(j));
            }
        }
    }
}

/// A link to a moment of a run: `#preset=two_pc/lost_commit&at=30`, or the scenario itself
/// (`#s=<percent-encoded JSON>&at=30`) once it differs from every preset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Link {
    pub preset: Option<String>,
    pub scenario: Option<String>,
    pub at: Option<EventId>,
}

impl Link {
    pub fn parse(hash: &str) -> Link {
        let mut link = Link::default();
        for part in hash.trim_start_matches('#').split('&') {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let v = percent_decode(v);
            match k {
                "preset" => link.preset = Some(v),
                "s" => link.scenario = Some(v),
                "at" => link.at = v.parse().ok(),
                _ => {}
            }
        }
        link
    }

    pub fn of(state: &AppState) -> String {
        let at = state.cursor.map_or(String::new(), |c| format!("&at={c}"));
        match state.data.preset {
            Some(p) => format!("#preset={p}{at}"),
            None => {
                let json = serde_json::to_string(state.scenario()).unwrap_or_default();
                format!("#s={}{at}", percent_encode(&json))
            }
        }
    }

    /// The state this link names; `None` when it names nothing that runs.
    pub fn state(&self) -> Option<AppState> {
        let mut s = match (&self.scenario, &self.preset) {
            (Some(json), _) => {
                let scenario = Scenario::from_json(json).ok()?;
                AppState::new(RunData::new(&scenario, None).ok()?)
            }
            (None, Some(p)) => AppState::from_preset(p)?,
            (None, None) => return None,
        };
        if let Some(at) = self.at {
            s.cursor = s.data.last().map(|l| at.min(l));
        }
        Some(s)
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/:,".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).and_then(|b| hex(*b)),
            bytes.get(i + 2).and_then(|b| hex(*b)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod link_tests {
    use super::*;

    #[test]
    fn links_round_trip_presets_and_scenarios() {
        let s = Rc::new(AppState::default()).reduce(Action::Seek(Some(12)));
        let link = Link::of(&s);
        assert_eq!(link, "#preset=two_pc/happy_path&at=12");
        let back = Link::parse(&link).state().unwrap();
        assert_eq!(back.cursor, Some(12));
        let forked = s.reduce(Action::Inject(Injection::Crash("p1".into())));
        let link = Link::of(&forked);
        assert!(link.starts_with("#s=%7B"), "{link}");
        let back = Link::parse(&link).state().unwrap();
        assert_eq!(back.scenario(), forked.scenario());
        assert_eq!(back.cursor, forked.cursor);
    }

    #[test]
    fn broken_links_name_nothing() {
        assert!(Link::parse("").state().is_none());
        assert!(Link::parse("#preset=nope").state().is_none());
        assert!(Link::parse("#s=%7Bnot json&at=x").state().is_none());
        assert!(Link::parse("#s=%E2%82").state().is_none());
        let far = Link::parse("#preset=two_pc/happy_path&at=999999").state().unwrap();
        assert_eq!(far.cursor, far.data.last());
    }
}
