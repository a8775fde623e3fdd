//! The one application state and its reducer. The reducer never panics on user input:
//! every fallible step returns a `Result`, an error is shown and the current run is kept.
//! When an action changes nothing, the same `Rc` is returned (no re-render).

use crate::compare::{CompareData, Settings as CompareSettings};
use crate::export;
use crate::faults::{self, Injection};
use crate::import::{self, Imported};
use crate::layout::Rows;
use crate::link::{self, At};
use commitscope_engine::erased::{AnyRun, EventInfo};
use commitscope_engine::{EventId, NodeView, PropertyKind, Scenario, Time};
use commitscope_protocols::{presets, ProtocolKind};
use std::cell::RefCell;
use std::rc::Rc;
use yew::Reducible;

/// Playback speeds, in events a second at 1×.
pub const SPEEDS: &[f64] = &[0.25, 0.5, 1.0, 2.0, 4.0, 8.0];
/// Their labels (written out: formatting floats would pull float printing into the wasm).
pub const SPEED_LABELS: &[&str] = &["0.25×", "0.5×", "1×", "2×", "4×", "8×"];
const _: () = assert!(SPEEDS.len() == SPEED_LABELS.len());
pub const DEFAULT_SPEED: usize = 2;
/// Events a second at 1×.
pub const BASE_RATE: f64 = 4.0;
/// How far a "delay" click holds a message back.
pub const DELAY_TICKS: u64 = 25;
pub const DEFAULT_PRESET: &str = "two_pc/happy_path";
/// Bounds on what the pickers accept (the engine checks the rest).
pub const MAX_PARTICIPANTS: u32 = 7;

/// Every node's view at one moment, shared by the panels that show it.
pub type Views = Rc<Vec<NodeView>>;

/// A recorded run and what the UI derives from it once.
pub struct RunData {
    pub run: Box<dyn AnyRun>,
    pub rows: Rows,
    /// The preset this run came from, while unchanged.
    pub preset: Option<&'static str>,
    /// For each violated always-property, its first violating event and the causal chain
    /// that led there (that event, its cause, the cause's cause, ...), sorted.
    pub trails: Vec<(EventId, Vec<EventId>)>,
    /// The node views at the last cursor asked for: the cards, the fault panel and the
    /// inspector all show the same moment, so the world is rebuilt once per step.
    views: RefCell<Option<(Option<EventId>, Views)>>,
    /// The preset this run's scenario was made from, changed or not (share links are the
    /// preset plus the edits).
    pub origin: Option<&'static str>,
    /// The share link without its moment, made on first use.
    link: std::cell::OnceCell<String>,
    /// The events the run's summary marks (`Summary::marks`), sorted: the diagram rings them.
    pub marked: Vec<EventId>,
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
    /// Runs `scenario`, made from the preset `origin` (if any).
    pub fn new(scenario: &Scenario, origin: Option<&'static str>) -> Result<RunData, String> {
        let run = commitscope_protocols::run(scenario).map_err(|e| e.to_string())?;
        Ok(RunData::from_run(run, origin))
    }

    /// A run recorded elsewhere (a replayed transcript), made from the preset `origin`.
    pub fn from_run(run: Box<dyn AnyRun>, origin: Option<&'static str>) -> RunData {
        let mut rows = Rows::new(run.events());
        for e in run.events().iter().filter(|e| e.kind == "recover") {
            let views = run.views_at(Some(e.id));
            if let Some(v) = e.node.and_then(|n| views.get(n as usize)) {
                rows.recovered.insert(e.id, v.phase.clone());
            }
        }
        let trails = run
            .properties()
            .iter()
            .filter(|p| p.kind == PropertyKind::Always)
            .filter_map(|p| p.first)
            .map(|first| (first, causal_chain(run.events(), first)))
            .collect();
        // The preset, while the scenario is still exactly the preset's.
        let preset = origin.filter(|id| {
            presets::find(id).and_then(|p| Scenario::from_json(p.json).ok()).as_ref()
                == Some(run.scenario())
        });
        let mut marked = run.summary().marks.clone();
        marked.sort_unstable();
        marked.dedup();
        RunData {
            marked,
            run,
            rows,
            preset,
            origin,
            link: std::cell::OnceCell::new(),
            trails,
            views: RefCell::new(None),
        }
    }

    /// The share link (a URL hash) to `cursor` in this run.
    pub fn link(&self, cursor: Option<EventId>) -> String {
        let base = self.link.get_or_init(|| link::scenario_part(self.run.scenario(), self.origin));
        link::at(base, cursor)
    }

    /// Every node's view right after `cursor` (rebuilt from the nearest snapshot, cached
    /// for the last cursor).
    pub fn views(&self, cursor: Option<EventId>) -> Views {
        let mut cache = self.views.borrow_mut();
        match &*cache {
            Some((at, v)) if *at == cursor => v.clone(),
            _ => {
                let v = Rc::new(self.run.views_at(cursor));
                *cache = Some((cursor, v.clone()));
                v
            }
        }
    }

    /// The events on the causal chains of the violations seen by `cursor`: what the
    /// diagram highlights once a violation has happened.
    pub fn trail_at(&self, cursor: Option<EventId>) -> Vec<EventId> {
        let mut out: Vec<EventId> = self
            .trails
            .iter()
            .filter(|(first, _)| cursor.is_some_and(|c| *first <= c))
            .flat_map(|(_, chain)| chain.iter().copied())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    pub fn events(&self) -> &[EventInfo] {
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

/// `event`, its cause, that event's cause, and so on back to an input with no cause (a
/// request, an injected fault), sorted. Causes always point to earlier events.
pub fn causal_chain(events: &[EventInfo], event: EventId) -> Vec<EventId> {
    let mut chain = vec![event];
    let mut at = event;
    while let Some(c) = events.get(at as usize).and_then(|e| e.cause).filter(|c| *c < at) {
        chain.push(c);
        at = c;
    }
    chain.reverse();
    chain
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
    /// The compare view, while it is open (the run above stays as it was).
    pub compare: Option<CompareMode>,
    /// The last move was the scrubber's: the detail panels may wait for it to rest.
    pub scrubbing: bool,
    /// The roles whose lanes the diagram folds into one (`layout::Columns::folding`); kept
    /// across runs, a view setting rather than part of the scenario or the share link.
    pub folded: Vec<String>,
}

/// Two protocols under one fault plan, and the one cursor in virtual time over both.
#[derive(Clone, Debug, PartialEq)]
pub struct CompareMode {
    pub data: Rc<CompareData>,
    /// After every event at this virtual time; `None`: before the first event.
    pub time: Option<Time>,
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
    /// Flip one of the protocol's switches (`ProtocolKind::switches`), keeping the rest.
    SetParam(String, serde_json::Value),
    SetSeed(u64),
    Import(String),
    Inject(Injection),
    Undo,
    Select(Selection),
    ToggleHelp,
    ToggleImport,
    CloseOverlays,
    DismissError,
    /// Open or close the compare view.
    ToggleCompare,
    /// Compare other protocols, another fault plan, N, F.
    SetCompare(CompareSettings),
    /// A problem found outside the reducer (a file that cannot be read).
    ShowError(String),
    /// A share link (URL hash) opened while the app runs; one undo goes back.
    OpenLink(String),
    /// Fold the lanes of this role into one, or unfold them.
    ToggleFold(String),
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
            compare: None,
            scrubbing: false,
            folded: Vec::new(),
        }
    }

    pub fn from_preset(id: &str) -> Option<AppState> {
        let p = presets::find(id)?;
        RunData::new(&p.scenario(), Some(p.id)).ok().map(AppState::new)
    }

    /// The state a share link names; `None` when `hash` is no link at all. A link that
    /// does not open gives the default state with the reason shown, never a blank page.
    pub fn from_link(hash: &str) -> Option<AppState> {
        let link = match link::parse(hash) {
            Ok(None) => return None,
            Ok(Some(link)) => link,
            Err(e) => return Some(AppState::broken_link(e.to_string())),
        };
        let data = match RunData::new(&link.scenario, link.origin) {
            Ok(data) => data,
            Err(e) => {
                return Some(AppState::broken_link(format!("its scenario does not run: {e}")))
            }
        };
        let mut s = AppState::new(data);
        s.error = link.warning;
        match (link.at, s.data.last()) {
            (At::End, _) => {}
            (At::Start, _) | (_, None) => s.cursor = None,
            (At::Event(n), Some(last)) if n <= u64::from(last) => s.cursor = Some(n as EventId),
            (At::Event(n), Some(last)) => {
                s.error = Some(format!(
                    "the link's moment #{n} is past the end of this run (#{last}): showing the end"
                ))
            }
        }
        Some(s)
    }

    fn broken_link(why: String) -> AppState {
        let error =
            format!("This link could not be opened: {why}. Showing the default scenario instead.");
        AppState { error: Some(error), ..AppState::default() }
    }

    /// The share link (a URL hash) to the moment at the cursor.
    pub fn link(&self) -> String {
        self.data.link(self.cursor)
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

    /// Replaces the run by `scenario`'s (made from the preset `origin`), keeping the old
    /// one for undo; on error the run stays and the error is shown.
    fn rerun(
        self: &Rc<Self>,
        scenario: Result<Scenario, String>,
        origin: Option<&'static str>,
        cursor: CursorRule,
        notice: Option<String>,
    ) -> Rc<Self> {
        self.replace(scenario.and_then(|s| RunData::new(&s, origin)), cursor, notice)
    }

    /// Shows `data`, keeping the old run for undo; on error the run stays, the error shows.
    fn replace(
        self: &Rc<Self>,
        data: Result<RunData, String>,
        cursor: CursorRule,
        notice: Option<String>,
    ) -> Rc<Self> {
        match data {
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
        let scrubbing = matches!(action, Action::SeekTime(_)) && self.compare.is_none();
        let next = if let Some(mode) = self.compare.clone() {
            self.reduce_compare(mode, action)
        } else {
            self.apply(action)
        };
        if next.scrubbing == scrubbing {
            next
        } else {
            next.with(|s| s.scrubbing = scrubbing)
        }
    }
}

impl AppState {
    fn apply(self: Rc<Self>, action: Action) -> Rc<Self> {
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
                let key =
                    ProtocolKind::from_name(&self.scenario().protocol).and_then(|k| k.size_param());
                let Some(key) = key else {
                    return self.with(|s| {
                        s.error = Some("this protocol has no number of participants".into())
                    });
                };
                let s = params_with(self.scenario(), key, n.into());
                let notice = Some(format!("{n} participants"));
                self.rerun(Ok(s), self.data.origin, CursorRule::End, notice)
            }
            Action::SetSeed(seed) => {
                let mut s = self.scenario().clone();
                s.seed = seed;
                self.rerun(Ok(s), self.data.origin, CursorRule::End, Some(format!("seed {seed}")))
            }
            Action::Import(text) => {
                let next = match import::read(&text) {
                    Err(e) => self.with(|s| s.error = Some(e)),
                    Ok(Imported::Scenario(s)) => {
                        self.rerun(Ok(s), None, CursorRule::End, Some("scenario imported".into()))
                    }
                    Ok(Imported::Trace { scenario, hash }) => {
                        let data = RunData::new(&scenario, None);
                        let notice = data.as_ref().ok().map(|d| {
                            let now = export::hash_hex(d.run.as_ref());
                            match hash {
                                Some(h) if h == now => {
                                    format!("trace imported: the run reproduces its hash {now}")
                                }
                                Some(h) => format!(
                                    "⚠ trace imported, but this build's run has hash {now}, not \
                                     the file's {h}: the trace came from a different version"
                                ),
                                None => format!(
                                    "trace imported (it names no hash; this run's is {now})"
                                ),
                            }
                        });
                        self.replace(data, CursorRule::End, notice)
                    }
                    Ok(Imported::Transcript { run, summary }) => self.replace(
                        Ok(RunData::from_run(run, None)),
                        CursorRule::End,
                        Some(summary),
                    ),
                };
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
                self.rerun(scenario, self.data.origin, CursorRule::KeepThenFault, Some(notice))
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
            Action::ToggleFold(role) => {
                self.with(|s| match s.folded.iter().position(|r| *r == role) {
                    Some(i) => {
                        s.folded.remove(i);
                    }
                    None if s.folded.len() < 64 => s.folded.push(role),
                    None => {}
                })
            }
            Action::SetParam(key, value) => self.switch(&key, value),
            Action::ToggleCompare => {
                let settings = compare_settings_for(self.scenario());
                match CompareData::new(settings, None)
                    .or_else(|_| CompareData::new(CompareSettings::default(), None))
                {
                    Ok(data) => {
                        let time = data.last();
                        self.with(|s| {
                            s.compare = Some(CompareMode { data: Rc::new(data), time });
                            s.playing = false;
                            s.error = None;
                            s.notice = None;
                            s.help = false;
                            s.import = false;
                        })
                    }
                    Err(e) => self.with(|s| s.error = Some(e)),
                }
            }
            Action::SetCompare(_) => self,
            Action::ShowError(e) => self.with(|s| s.error = Some(e)),
            Action::OpenLink(hash) => {
                if hash == self.link() {
                    return self;
                }
                match AppState::from_link(&hash) {
                    None => self,
                    Some(mut next) => {
                        next.undo = self.undo.clone();
                        next.undo.push((self.data.clone(), self.cursor));
                        if next.undo.len() > 50 {
                            next.undo.remove(0);
                        }
                        next.notice = Some("link opened (undo goes back)".into());
                        Rc::new(next)
                    }
                }
            }
        }
    }
}

/// What the compare view starts with: the protocol on screen against its neighbour, with
/// the participants on screen (where the comparison can take them).
fn compare_settings_for(scenario: &Scenario) -> CompareSettings {
    use commitscope_protocols::compare::VARIANTS;
    let p = &scenario.params;
    let is = |key: &str, v: &str| p.get(key).and_then(|x| x.as_str()) == Some(v);
    let mine = match scenario.protocol.as_str() {
        "three_pc" if is("termination", "elect") => Some(2),
        "three_pc" => Some(1),
        "paxos_commit" if p.get("faster").and_then(|f| f.as_bool()) == Some(true) => Some(4),
        "paxos_commit" => Some(3),
        _ => None,
    };
    let mut settings = CompareSettings::default();
    if let Some(m) = mine.filter(|m| *m < VARIANTS.len()) {
        settings.sides = [0, m];
    }
    let size = ProtocolKind::from_name(&scenario.protocol)
        .and_then(|k| k.size_param())
        .and_then(|key| p.get(key))
        .and_then(|n| n.as_u64())
        .filter(|n| (1..=u64::from(MAX_PARTICIPANTS)).contains(n));
    if let Some(n) = size {
        settings.participants = n as u32;
    }
    if scenario.protocol == "paxos_commit" {
        if let Some(f) = p.get("faults").and_then(|f| f.as_u64()).filter(|f| *f <= 3) {
            settings.options.faults = f as u32;
        }
        settings.options.colocated = p.get("colocated").and_then(|c| c.as_bool()) == Some(true);
    }
    settings
}

impl AppState {
    /// The reducer while the compare view is open: the transport moves the one clock over
    /// both runs; actions on the single run wait until the view is closed.
    fn reduce_compare(self: Rc<Self>, mode: CompareMode, action: Action) -> Rc<Self> {
        let data = mode.data.clone();
        let at = |time: Option<Time>| {
            let data = data.clone();
            self.with(move |s| s.compare = Some(CompareMode { data, time }))
        };
        match action {
            Action::Step(n) => at(data.step(mode.time, n)),
            Action::Seek(None) | Action::ToStart => at(None),
            Action::SeekTime(t) => at(data.seek(t)),
            Action::ToEnd => at(data.last()),
            Action::Tick => {
                let next = data.step(mode.time, 1);
                let stop = next == data.last();
                let s = at(next);
                s.with(|s| s.playing = !stop)
            }
            Action::TogglePlay => {
                if self.playing {
                    self.with(|s| s.playing = false)
                } else {
                    let restart = mode.time == data.last();
                    let s = if restart { at(None) } else { self.clone() };
                    s.with(|s| s.playing = data.last().is_some())
                }
            }
            Action::Pause => self.with(|s| s.playing = false),
            Action::SetSpeed(i) => self.with(|s| s.speed = i.min(SPEEDS.len() - 1)),
            Action::Jump(j) => {
                let target = match j {
                    Jump::Fault => data.next_where(mode.time, |e| {
                        matches!(e.kind, "crash" | "recover" | "network" | "drop") || e.duplicate
                    }),
                    Jump::Decision => data.next_where(mode.time, |e| e.kind == "decide"),
                    Jump::Violation => data.first_violation(),
                };
                match target {
                    Some(t) => at(data.seek(t)),
                    None => self.with(|s| s.notice = Some("nothing further of that kind".into())),
                }
            }
            Action::SetCompare(settings) => match CompareData::new(settings, Some(&data)) {
                Ok(next) => {
                    let time = next.last();
                    self.with(|s| {
                        s.compare = Some(CompareMode { data: Rc::new(next), time });
                        s.playing = false;
                        s.error = None;
                    })
                }
                Err(e) => self.with(|s| s.error = Some(e)),
            },
            Action::ToggleCompare => self.with(|s| {
                s.compare = None;
                s.playing = false;
                s.error = None;
            }),
            Action::ToggleHelp => self.with(|s| s.help = !s.help),
            Action::CloseOverlays => self.with(|s| s.help = false),
            Action::DismissError => self.with(|s| s.error = None),
            Action::ShowError(e) => self.with(|s| s.error = Some(e)),
            // A view setting, the same in both views.
            Action::ToggleFold(role) => self.apply(Action::ToggleFold(role)),
            // A pasted share link names a single run: it closes the compare view.
            Action::OpenLink(hash) => self
                .with(|s| {
                    s.compare = None;
                    s.playing = false;
                })
                .reduce(Action::OpenLink(hash)),
            Action::Seek(Some(_))
            | Action::LoadPreset(_)
            | Action::SetProtocol(_)
            | Action::SetParticipants(_)
            | Action::SetParam(..)
            | Action::SetSeed(_)
            | Action::Import(_)
            | Action::Inject(_)
            | Action::Undo
            | Action::Select(_)
            | Action::ToggleImport => self
                .with(|s| s.notice = Some("that acts on a single run: close Compare first".into())),
        }
    }

    /// Flips switch `key` of the protocol to `value`, keeping the rest of the scenario.
    /// Faults that name what the other variant lacks (a saga's `orch` under choreography)
    /// are dropped and listed; the result is the preset it equals, if any.
    fn switch(self: &Rc<Self>, key: &str, value: serde_json::Value) -> Rc<Self> {
        let kind = ProtocolKind::from_name(&self.scenario().protocol);
        let Some(sw) = kind.and_then(|k| k.switches().iter().find(|s| s.param == key)) else {
            return self.with(|s| s.error = Some(format!("this protocol has no switch \"{key}\"")));
        };
        let Some(choice) = sw.choices.iter().find(|c| c.value.json() == value) else {
            return self.with(|s| s.error = Some(format!("{}: no such choice {value}", sw.label)));
        };
        if sw.current(&self.scenario().params) == sw.choices.iter().position(|c| c == choice) {
            return self.clone();
        }
        let mut scenario = params_with(self.scenario(), key, value);
        let mut dropped = Vec::new();
        while let Err(e) = commitscope_protocols::run(&scenario) {
            let index = e
                .path
                .strip_prefix("faults[")
                .and_then(|rest| rest.split(']').next())
                .and_then(|i| i.parse::<usize>().ok())
                .filter(|i| *i < scenario.faults.len());
            match index {
                Some(i) => {
                    scenario.faults.remove(i);
                    dropped.push(e.problem.clone());
                }
                None => return self.with(|s| s.error = Some(e.to_string())),
            }
        }
        let untitled = |s: &Scenario| Scenario { title: None, ..s.clone() };
        let preset = presets::ALL.iter().find(|p| untitled(&p.scenario()) == untitled(&scenario));
        let mut notice = format!("{}: {}", sw.label, choice.label);
        match preset {
            Some(p) => {
                scenario.title = p.scenario().title;
                notice.push_str(&format!(" — this is the preset “{}”", p.title()));
            }
            None => {
                let base = scenario.title.clone().unwrap_or_else(|| "custom scenario".into());
                let base = base.split(" — switched to ").next().unwrap_or_default().to_string();
                scenario.title = Some(format!("{base} — switched to {}", choice.label));
            }
        }
        if !dropped.is_empty() {
            notice.push_str(&format!(
                "; {} fault{} did not apply and {} dropped: {}",
                dropped.len(),
                if dropped.len() == 1 { "" } else { "s" },
                if dropped.len() == 1 { "was" } else { "were" },
                dropped.join("; ")
            ));
        }
        self.rerun(Ok(scenario), preset.map(|p| p.id), CursorRule::End, Some(notice))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> Rc<AppState> {
        Rc::new(AppState::default())
    }

    #[test]
    fn the_scrubber_marks_the_state_as_scrubbing_and_any_other_action_clears_it() {
        let s = state().reduce(Action::SeekTime(3));
        assert!(s.scrubbing);
        assert!(s.clone().reduce(Action::SeekTime(5)).scrubbing);
        for other in [Action::Step(1), Action::Seek(None), Action::ToEnd, Action::TogglePlay] {
            assert!(!s.clone().reduce(other).scrubbing);
        }
        // The compare view has no detail panels to defer.
        let compare = state().reduce(Action::ToggleCompare);
        assert!(compare.compare.is_some());
        assert!(!compare.reduce(Action::SeekTime(3)).scrubbing);
    }

    #[test]
    fn folding_a_role_is_a_view_setting_kept_across_runs() {
        let s = Rc::new(AppState::from_preset("kv/generated_workload").unwrap());
        let folded = s.clone().reduce(Action::ToggleFold("client".into()));
        assert_eq!(folded.folded, ["client"]);
        assert_eq!(folded.link(), s.link(), "not part of the share link");
        let other = folded.clone().reduce(Action::LoadPreset("kv/write_skew".into()));
        assert_eq!(other.folded, ["client"], "kept when another run loads");
        assert!(folded.clone().reduce(Action::ToggleFold("client".into())).folded.is_empty());
        // In the compare view too, and any string is harmless.
        let compare = folded.reduce(Action::ToggleCompare).reduce(Action::ToggleFold("x".into()));
        assert_eq!(compare.folded, ["client", "x"]);
        let mut many = s;
        for i in 0..100 {
            many = many.reduce(Action::ToggleFold(format!("r{i}")));
        }
        assert_eq!(many.folded.len(), 64, "bounded");
    }

    #[test]
    fn a_violation_highlights_the_chain_that_led_to_it() {
        let s = AppState::from_preset("three_pc/partition_split_brain").unwrap();
        let (first, chain) = s.data.trails.first().cloned().expect("AC1 is violated");
        assert_eq!(chain.last(), Some(&first));
        let events = s.data.events();
        for pair in chain.windows(2) {
            assert_eq!(events[pair[1] as usize].cause, Some(pair[0]), "each caused the next");
        }
        assert!(chain.len() > 2, "a decision has a history: {chain:?}");
        assert!(s.data.trail_at(Some(first - 1)).is_empty(), "nothing before the violation");
        assert_eq!(s.data.trail_at(Some(first)), chain);
        let fine = AppState::from_preset("two_pc/happy_path").unwrap();
        assert!(fine.data.trails.is_empty());
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
    fn compare_mode_has_one_clock_and_leaves_the_run_alone() {
        let s = state();
        let before = s.data.clone();
        let c = s.reduce(Action::ToggleCompare);
        let mode = c.compare.clone().expect("compare is open");
        assert_eq!(mode.time, mode.data.last(), "it opens at the end");
        assert_eq!(mode.data.settings.sides, [0, 1], "2PC against 3PC");
        let back = c.clone().reduce(Action::Step(-2));
        let t = back.compare.as_ref().unwrap().time;
        assert_eq!(t, mode.data.step(mode.data.last(), -2));
        let start = back.reduce(Action::ToStart).reduce(Action::Tick);
        assert_eq!(start.compare.as_ref().unwrap().time, Some(0));
        assert!(start.playing);
        // Single-run actions wait; a bad setting is refused and the view kept.
        let u = start.clone().reduce(Action::Undo);
        assert!(u.notice.as_deref().unwrap().contains("close Compare"));
        let mut bad = mode.data.settings;
        bad.participants = 99;
        let b = start.clone().reduce(Action::SetCompare(bad));
        assert!(b.error.is_some());
        assert!(Rc::ptr_eq(
            &b.compare.as_ref().unwrap().data,
            &start.compare.as_ref().unwrap().data
        ));
        let closed = b.reduce(Action::ToggleCompare);
        assert!(closed.compare.is_none() && Rc::ptr_eq(&closed.data, &before));
    }

    #[test]
    fn compare_opens_on_the_protocol_on_screen() {
        let s = Rc::new(AppState::from_preset("paxos_commit/faster").unwrap());
        let c = s.reduce(Action::ToggleCompare);
        assert_eq!(c.compare.as_ref().unwrap().data.settings.sides, [0, 4]);
    }

    #[test]
    fn switching_orchestration_to_choreography_keeps_the_checkout() {
        let s = Rc::new(AppState::from_preset("saga/happy_path").unwrap());
        let c = s.reduce(Action::SetParam("mode".into(), "choreographed".into()));
        assert!(c.error.is_none(), "{:?}", c.error);
        assert_eq!(c.scenario().params["mode"], "choreographed");
        assert_eq!(c.data.preset, Some("saga/choreography_happy_path"), "it is that preset");
        assert_eq!(c.data.run.nodes()[0].name, "broker");
        let same = c.clone().reduce(Action::SetParam("mode".into(), "choreographed".into()));
        assert!(Rc::ptr_eq(&c, &same));
        // Faults on the orchestrator do not apply to a choreography: dropped, and said so.
        let s = Rc::new(AppState::from_preset("saga/orchestrator_crash").unwrap());
        let c = s.reduce(Action::SetParam("mode".into(), "choreographed".into()));
        assert!(c.error.is_none(), "{:?}", c.error);
        assert!(c.scenario().faults.is_empty());
        let notice = c.notice.clone().unwrap();
        assert!(notice.contains("2 faults did not apply"), "{notice}");
        assert_eq!(c.data.preset, Some("saga/choreography_happy_path"), "what is left");
        // A checkout no preset has under choreography keeps its title, marked as switched;
        // switching back is the preset again.
        let s = Rc::new(AppState::from_preset("saga/payment_declined").unwrap());
        let c = s.reduce(Action::SetParam("mode".into(), "choreographed".into()));
        let title = c.scenario().title.clone().unwrap();
        assert!(title.ends_with(" — switched to Choreography"), "{title}");
        assert_eq!(c.data.preset, None);
        assert_eq!(
            c.scenario().requests,
            presets::find("saga/payment_declined").unwrap().scenario().requests
        );
        let back = c.reduce(Action::SetParam("mode".into(), "orchestrated".into()));
        assert_eq!(back.data.preset, Some("saga/payment_declined"));
        // Nonsense is refused.
        let bad = back.clone().reduce(Action::SetParam("mode".into(), "anarchy".into()));
        assert!(bad.error.is_some() && Rc::ptr_eq(&bad.data, &back.data));
        let bad = back.clone().reduce(Action::SetParam("nope".into(), true.into()));
        assert!(bad.error.is_some());
    }

    #[test]
    fn participants_set_each_protocols_own_size() {
        let s = Rc::new(AppState::from_preset("paxos_commit/fault_free").unwrap());
        let s = s.reduce(Action::SetParticipants(2));
        assert!(s.error.is_none(), "{:?}", s.error);
        assert_eq!(s.scenario().params["resource_managers"], 2);
        let saga = Rc::new(AppState::from_preset("saga/happy_path").unwrap());
        let same = saga.clone().reduce(Action::SetParticipants(2));
        assert!(same.error.is_some() && Rc::ptr_eq(&same.data, &saga.data));
        // Co-locating 3 acceptors needs 3 RMs: refused with the engine's reason, run kept.
        let c = s.clone().reduce(Action::SetParam("colocated".into(), true.into()));
        assert!(c.error.is_some() && Rc::ptr_eq(&c.data, &s.data), "{:?}", c.error);
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

#[cfg(test)]
mod link_tests {
    use super::*;
    use crate::link::b64_encode;

    fn open(hash: &str) -> AppState {
        AppState::from_link(hash).unwrap_or_else(|| panic!("{hash} is no link"))
    }

    /// Opening `s.link()` gives the same scenario, the same trace and the same moment.
    fn round_trip(s: &AppState) -> AppState {
        let link = s.link();
        let back = open(&link);
        assert_eq!(back.error, None, "{link}");
        assert_eq!(back.scenario(), s.scenario(), "{link}");
        assert_eq!(back.data.run.trace_hash(), s.data.run.trace_hash(), "{link}");
        assert_eq!(back.cursor, s.cursor, "{link}");
        assert_eq!(back.data.origin, s.data.origin, "{link}");
        assert_eq!(back.data.preset, s.data.preset, "{link}");
        back
    }

    #[test]
    fn every_preset_round_trips_at_the_start_middle_and_end() {
        for p in presets::ALL {
            let s = Rc::new(AppState::from_preset(p.id).unwrap());
            let last = s.data.last().unwrap();
            for cursor in [None, Some(last / 2), Some(last)] {
                let s = s.clone().reduce(Action::Seek(cursor));
                let link = s.link();
                let at = cursor.map_or("start".to_string(), |c| c.to_string());
                assert_eq!(link, format!("#v=1&p={}&at={at}", p.id));
                round_trip(&s);
            }
        }
    }

    #[test]
    fn every_preset_forked_with_a_fault_round_trips() {
        let mut dropped = 0;
        for p in presets::ALL {
            let s = Rc::new(AppState::from_preset(p.id).unwrap());
            let mid = s.data.last().unwrap() / 3;
            let victim = s.data.run.nodes()[1].name.clone();
            let s =
                s.reduce(Action::Seek(Some(mid))).reduce(Action::Inject(Injection::Crash(victim)));
            assert_eq!(s.error, None, "{}", p.id);
            // And drop the first message in flight at the cursor, if there is one.
            let now = s.cursor.unwrap_or(0);
            let in_flight = s.data.events().iter().find(|e| {
                e.kind == "send" && e.id <= now && s.data.ends(e.id).iter().all(|d| *d > now)
            });
            let s = match in_flight {
                Some(e) => {
                    dropped += 1;
                    s.clone().reduce(Action::Inject(Injection::Drop(e.id)))
                }
                None => s,
            };
            assert_eq!(s.error, None, "{}", p.id);
            let link = s.link();
            assert!(link.starts_with(&format!("#v=1&p={}&d=", p.id)), "{link}");
            let back = round_trip(&s);
            assert_eq!(back.data.preset, None);
            // The edits are only the appended faults: much shorter than the scenario.
            let full = serde_json::to_string(s.scenario()).unwrap();
            assert!(link.len() < full.len(), "{}: {} vs {}", p.id, link.len(), full.len());
        }
        assert!(dropped > presets::ALL.len() / 2, "only {dropped} presets had a drop");
    }

    #[test]
    fn seed_and_participant_edits_and_imports_round_trip() {
        let s = Rc::new(AppState::default()).reduce(Action::SetSeed(42));
        assert!(s.link().contains("&d="));
        round_trip(&s);
        let s = s.reduce(Action::SetParticipants(5)).reduce(Action::Seek(Some(7)));
        round_trip(&s);
        // Back to the preset's seed and size: the preset again, no edits in the link.
        let s = s.reduce(Action::SetSeed(1)).reduce(Action::SetParticipants(3));
        assert_eq!(s.data.preset, Some(DEFAULT_PRESET));
        assert!(!s.link().contains("&d="), "{}", s.link());
        // A scenario from nowhere is carried whole, UTF-8 and all.
        let mut sc = presets::find("three_pc/happy_path").unwrap().scenario();
        sc.title = Some("naïve “quotes” & <b>tags</b> ✓".into());
        let s = Rc::new(AppState::default()).reduce(Action::Import(sc.to_json()));
        assert_eq!(s.error, None);
        let link = s.link();
        assert!(link.starts_with("#v=1&s="), "{link}");
        assert!(
            link.bytes().all(|b| b.is_ascii_alphanumeric() || b"#=&-_/".contains(&b)),
            "{link}"
        );
        round_trip(&s);
    }

    #[test]
    fn a_link_opened_while_running_replaces_the_run_and_undo_comes_back() {
        let s = Rc::new(AppState::default()).reduce(Action::Seek(Some(5)));
        let other = open("#v=1&p=two_pc/vote_no&at=9");
        let next = s.clone().reduce(Action::OpenLink(other.link()));
        assert_eq!(next.scenario(), other.scenario());
        assert_eq!(next.cursor, Some(9));
        assert!(Rc::ptr_eq(&next.clone().reduce(Action::OpenLink(next.link())), &next));
        assert!(Rc::ptr_eq(&next.clone().reduce(Action::OpenLink("#top".into())), &next));
        let back = next.reduce(Action::Undo);
        assert!(Rc::ptr_eq(&back.data, &s.data));
        assert_eq!(back.cursor, Some(5));
        let broken = s.clone().reduce(Action::OpenLink("#v=1&p=nope".into()));
        assert!(broken.error.clone().unwrap_or_default().contains("could not be opened"));
        // The compare view closes for a pasted link: a link names one run.
        let comparing = s.reduce(Action::ToggleCompare);
        assert!(comparing.compare.is_some());
        let opened = comparing.reduce(Action::OpenLink(other.link()));
        assert!(opened.compare.is_none());
        assert_eq!(opened.scenario(), other.scenario());
    }

    #[test]
    fn old_unversioned_links_still_open() {
        let s = open("#preset=two_pc/lost_commit&at=12");
        assert_eq!(s.data.preset, Some("two_pc/lost_commit"));
        assert_eq!(s.cursor, Some(12));
        let json = presets::find("two_pc/vote_no").unwrap().json;
        let encoded: String = json.bytes().map(|b| format!("%{b:02X}")).collect();
        let s = open(&format!("#s={encoded}&at=3"));
        assert_eq!(s.error, None);
        assert_eq!(s.scenario(), &presets::find("two_pc/vote_no").unwrap().scenario());
        assert_eq!(s.cursor, Some(3));
    }

    /// A corrupted link opens the default scenario and says why; it never panics.
    fn broken(hash: &str, says: &str) {
        let s = open(hash);
        let err = s.error.clone().unwrap_or_default();
        assert!(err.starts_with("This link could not be opened"), "{hash}: {err}");
        assert!(err.contains(says), "{hash}: {err}");
        assert_eq!(s.data.preset, Some(DEFAULT_PRESET), "{hash}");
    }

    #[test]
    fn corrupted_links_say_why_and_show_the_default() {
        let forked = Rc::new(AppState::from_preset("two_pc/lost_commit").unwrap())
            .reduce(Action::Seek(Some(10)))
            .reduce(Action::Inject(Injection::Crash("p2".into())));
        let link = forked.link();
        let (head, _) = link.split_once("&at=").unwrap();
        // Truncated edits.
        broken(&head[..head.len() - 5], "damaged");
        // Bad base64, bad JSON, JSON that is no object, bad UTF-8.
        broken("#v=1&p=two_pc/happy_path&d=@@@@", "damaged");
        broken(&format!("#v=1&s={}", b64_encode(b"{\"version\": 1, \"proto")), "not JSON");
        broken(&format!("#v=1&p=two_pc/happy_path&d={}", b64_encode(b"[1]")), "not a JSON object");
        broken(&format!("#v=1&s={}", b64_encode(&[0xff, 0xfe, 0x22])), "not UTF-8");
        // Decodes, but is not a scenario that runs.
        broken(&format!("#v=1&s={}", b64_encode(b"{\"version\":1}")), "protocol");
        let bad_node = b64_encode(br#"{"faults+":[{"at":3,"crash":"zed"}]}"#);
        broken(&format!("#v=1&p=two_pc/happy_path&d={bad_node}"), "zed");
        // Unknown version, unknown preset, no scenario at all.
        broken("#v=2&p=two_pc/happy_path", "version \"2\"");
        broken("#v=one&p=two_pc/happy_path", "this CommitScope reads version 1");
        broken("#v=1&p=two_pc/happy_pa&at=3", "no preset \"two_pc/happy_pa\"");
        broken("#preset=nope", "no preset \"nope\"");
        broken("#v=1&at=3", "names no scenario");
        broken("#s=%7Bnot json&at=x", "not JSON");
        // Every truncation of a real link opens something, without a panic.
        for n in 0..=link.len() {
            let _ = AppState::from_link(&link[..n]);
        }
    }

    #[test]
    fn a_bad_moment_keeps_the_run_and_says_so() {
        let end = AppState::from_preset("two_pc/happy_path").unwrap().data.last();
        for (at, says) in [
            ("999999", "past the end"),
            ("99999999999999999999999", "past the end"),
            ("-1", "\"-1\" is not an event number"),
            ("12abc", "not an event number"),
        ] {
            let s = open(&format!("#v=1&p=two_pc/happy_path&at={at}"));
            assert_eq!(s.data.preset, Some("two_pc/happy_path"));
            assert_eq!(s.cursor, end, "at={at}");
            let err = s.error.clone().unwrap_or_default();
            assert!(err.contains(says), "at={at}: {err}");
        }
        assert_eq!(open("#v=1&p=two_pc/happy_path").cursor, end, "no at: the end");
        assert_eq!(open("#v=1&p=two_pc/happy_path&at=start").cursor, None);
        assert!(AppState::from_link("").is_none());
        assert!(AppState::from_link("#top").is_none());
    }
}
