//! Pure geometry of the space-time diagram: (events, nodes, cursor, viewport) -> shapes.
//!
//! Time flows downwards; every node is a vertical lane. Every event owns one row, so two
//! labels can never share a row (no overlapping labels by construction); idle virtual time
//! between two events adds a little space (capped), so latency still shows as a slope.
//! Only the shapes that meet the viewport are returned: the DOM stays bounded however long
//! the trace. Components turn these shapes into SVG and never compute positions.

use commitscope_engine::erased::EventInfo;
use commitscope_engine::vecmap::VecMap;
use commitscope_engine::{EventId, Span, Time};

/// Height of a row that carries a glyph and a label.
pub const ROW: f64 = 20.0;
/// Height of a row for an event drawn without a label (a timer armed or cancelled).
pub const SMALL_ROW: f64 = 8.0;
/// Space for the time axis on the left.
pub const GUTTER: f64 = 38.0;
/// Narrowest lane before the diagram scrolls sideways (up to 8 lanes; see `lane_width`).
pub const MIN_LANE: f64 = 66.0;
/// Narrowest lane of a diagram with many lanes: 17 lanes (8 clients, a coordinator and 8
/// shards) still fit the diagram's 880 px at a 1280 px window.
pub const MIN_LANE_MANY: f64 = 48.0;
/// Fewest lanes for which the diagram groups lanes by role (fewer read well without).
pub const GROUP_MIN_NODES: usize = 5;
/// Height of the lane header's strip of group names, when lanes are grouped.
pub const GROUP_HEAD: f64 = 16.0;
/// Height of the lane header strip (drawn separately, sticky).
pub const TOP_PAD: f64 = 14.0;
/// Rough advance of one character of the 11px label font, for truncation.
const CHAR_W: f64 = 6.3;
/// Extra room drawn beyond the window (`Viewport::banded`), so that scrolling a little
/// shows no gap.
const OVERSCAN: f64 = 120.0;
/// The drawn rows move in bands of this height (see `Viewport::banded`).
pub const BAND: f64 = 240.0;

/// What part of the diagram is on screen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Viewport {
    pub width: f64,
    pub top: f64,
    pub height: f64,
}

impl Default for Viewport {
    fn default() -> Self {
        Viewport { width: 720.0, top: 0.0, height: 640.0 }
    }
}

impl Viewport {
    /// The window widened by `OVERSCAN` on each side, then to whole bands of `BAND`
    /// pixels. Laying out the banded window draws the same picture on screen, and its
    /// drawing changes only when the window crosses into another band: scrolling a row at a
    /// time redraws nothing, and a move of a few hundred pixels adds and removes a band's
    /// rows, not the whole window's.
    pub fn banded(self) -> Viewport {
        let top = ((self.top - OVERSCAN) / BAND).floor().max(0.0) * BAND;
        let bottom = ((self.top + self.height + OVERSCAN) / BAND).ceil() * BAND;
        Viewport { width: self.width, top, height: (bottom - top).max(BAND) }
    }
}

/// Per-run geometry computed once: the y of every event and where each message ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Rows {
    /// `y[i]`: the centre of event `i`'s row.
    pub y: Vec<f64>,
    /// Total height of the diagram.
    pub height: f64,
    /// For each send event: its deliveries and drops, in order.
    pub ends: Vec<Vec<EventId>>,
    /// Virtual time of the last event.
    pub end_time: Time,
    /// The phase a node restarts in, for each recovery (recoveries announce no phase event).
    pub recovered: VecMap<EventId, String>,
    /// Each distinct virtual time laid out (of every run laid out together) and the y where
    /// its block of rows ends, in order.
    pub moments: Vec<(Time, f64)>,
}

fn row_height(kind: &str) -> f64 {
    match kind {
        "timer_set" | "timer_cancel" => SMALL_ROW,
        _ => ROW,
    }
}

/// Idle virtual time drawn as space: 1.5px a tick, at most 36px.
fn gap(dt: Time) -> f64 {
    (dt.min(24) as f64) * 1.5
}

impl Rows {
    pub fn new(events: &[EventInfo]) -> Rows {
        Rows::aligned(&[events]).pop().expect("one run in, one Rows out")
    }

    /// Rows for several runs drawn side by side against one clock: the events of each
    /// distinct virtual time share one block of height in every run (the run with the most
    /// events at that time sets its height) and end at its bottom, so the cursor line after
    /// a moment is one line across the diagrams. With one run this is `Rows::new`.
    pub fn aligned(runs: &[&[EventInfo]]) -> Vec<Rows> {
        let mut times: Vec<Time> = runs.iter().flat_map(|r| r.iter().map(|e| e.time)).collect();
        times.sort_unstable();
        times.dedup();
        let mut ys: Vec<Vec<f64>> = runs.iter().map(|r| Vec::with_capacity(r.len())).collect();
        let mut next = vec![0usize; runs.len()];
        let mut moments = Vec::with_capacity(times.len());
        let mut bottom = TOP_PAD;
        let mut prev_time = times.first().copied().unwrap_or(0);
        for t in times {
            bottom += gap(t.saturating_sub(prev_time));
            prev_time = t;
            // Each run's events at `t`, and the height they need.
            let spans: Vec<(usize, usize, f64)> = runs
                .iter()
                .enumerate()
                .map(|(r, events)| {
                    let from = next[r];
                    let to = from + events[from..].partition_point(|e| e.time <= t);
                    let h = events[from..to].iter().map(|e| row_height(e.kind)).sum();
                    next[r] = to;
                    (from, to, h)
                })
                .collect();
            let block = spans.iter().map(|s| s.2).fold(0.0, f64::max);
            // Bottom-aligned: every run's last event at `t` ends where the block ends, so
            // the cursor line after `t` is one line across the diagrams.
            for (r, (from, to, h)) in spans.into_iter().enumerate() {
                let mut y = bottom + block - h;
                for e in &runs[r][from..to] {
                    let rh = row_height(e.kind);
                    ys[r].push(y + rh / 2.0);
                    y += rh;
                }
            }
            bottom += block;
            moments.push((t, bottom));
        }
        runs.iter()
            .zip(ys)
            .map(|(events, y)| {
                let mut ends = vec![Vec::new(); events.len()];
                for e in events.iter().filter(|e| matches!(e.kind, "deliver" | "drop")) {
                    if let Some(slot) = e.msg_id.and_then(|m| ends.get_mut(m as usize)) {
                        slot.push(e.id);
                    }
                }
                Rows {
                    y,
                    height: bottom + ROW * 2.0,
                    ends,
                    end_time: events.last().map_or(0, |e| e.time),
                    recovered: VecMap::new(),
                    moments: moments.clone(),
                }
            })
            .collect()
    }

    /// The y of the cursor line: just below the row of the event at the cursor.
    pub fn cursor_y(&self, events: &[EventInfo], cursor: Option<EventId>) -> f64 {
        match cursor.and_then(|c| self.y.get(c as usize).map(|y| (c, *y))) {
            Some((c, y)) => y + row_height(events.get(c as usize).map_or("", |e| e.kind)) / 2.0,
            None => TOP_PAD - 2.0,
        }
    }

    /// The y of the cursor line after every event at virtual time `t` (of any run laid out
    /// with this one): one line across aligned diagrams, even where a run has no event at
    /// `t` (it finished earlier, or was waiting).
    pub fn clock_y(&self, t: Option<Time>) -> f64 {
        let n = t.map_or(0, |t| self.moments.partition_point(|(m, _)| *m <= t));
        n.checked_sub(1).and_then(|i| self.moments.get(i)).map_or(TOP_PAD - 2.0, |(_, y)| *y)
    }

    /// The first event whose row reaches below `y` (binary search; rows are monotone).
    fn first_below(&self, y: f64) -> usize {
        self.y.partition_point(|r| *r + ROW / 2.0 < y)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Diagram {
    pub width: f64,
    pub height: f64,
    /// The width of one lane.
    pub lane: f64,
    pub lanes: Vec<Lane>,
    pub bands: Vec<Band>,
    /// The run's lane spans (lock holding, in doubt) that meet the view.
    pub spans: Vec<LaneSpan>,
    pub arrows: Vec<Arrow>,
    pub marks: Vec<Mark>,
    pub ticks: Vec<Tick>,
    pub cursor_y: f64,
}

/// One column of the diagram: a node's lane, or a folded group's one lane.
#[derive(Clone, Debug, PartialEq)]
pub struct Lane {
    /// The (first) node drawn on it.
    pub node: u32,
    pub x: f64,
    /// How many nodes it holds: more than one for a folded group (`node` and the next ones).
    pub nodes: u32,
}

/// A run of consecutive nodes with the same role (the clients, the shards): the diagram
/// groups their lanes under one header, and can fold them into one lane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub role: String,
    pub first: u32,
    pub len: u32,
}

/// The groups of `roles`, in node order (every node is in exactly one).
pub fn groups<'a>(roles: impl IntoIterator<Item = &'a str>) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    for (i, role) in roles.into_iter().enumerate() {
        match out.last_mut() {
            Some(g) if g.role == role => g.len += 1,
            _ => out.push(Group { role: role.to_string(), first: i as u32, len: 1 }),
        }
    }
    out
}

/// Whether a diagram groups its lanes: at least `GROUP_MIN_NODES` lanes, two roles or
/// more, and some role with several nodes.
pub fn is_grouped(groups: &[Group]) -> bool {
    let n: u32 = groups.iter().map(|g| g.len).sum();
    groups.len() >= 2 && n as usize >= GROUP_MIN_NODES && groups.iter().any(|g| g.len >= 2)
}

/// Which column each node's events are drawn in: its own lane, or its folded group's.
#[derive(Clone, Debug, PartialEq)]
pub struct Columns {
    /// The column of each node.
    of: Vec<u32>,
    /// Each column's first node and how many nodes it holds.
    cols: Vec<(u32, u32)>,
}

impl Columns {
    /// One lane per node.
    pub fn one_each(n: usize) -> Columns {
        Columns { of: (0..n as u32).collect(), cols: (0..n as u32).map(|i| (i, 1)).collect() }
    }

    /// Each group of several nodes whose role is in `folded` on one lane; the rest one lane
    /// per node. `groups` must be `groups(...)` of the nodes (in order, covering them all).
    pub fn folding(groups: &[Group], folded: &[String]) -> Columns {
        let mut c = Columns { of: Vec::new(), cols: Vec::new() };
        for g in groups {
            if g.len > 1 && folded.contains(&g.role) {
                let col = c.cols.len() as u32;
                c.cols.push((g.first, g.len));
                c.of.extend(std::iter::repeat_n(col, g.len as usize));
            } else {
                for k in 0..g.len {
                    c.of.push(c.cols.len() as u32);
                    c.cols.push((g.first + k, 1));
                }
            }
        }
        c
    }

    /// How many columns (lanes) there are.
    pub fn len(&self) -> usize {
        self.cols.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cols.is_empty()
    }

    /// How many nodes they hold.
    pub fn nodes(&self) -> usize {
        self.of.len()
    }

    /// The column `node` is drawn in.
    pub fn column(&self, node: u32) -> Option<u32> {
        self.of.get(node as usize).copied()
    }

    /// Whether `node` shares its lane with others (its group is folded).
    pub fn is_folded(&self, node: u32) -> bool {
        self.column(node).and_then(|c| self.cols.get(c as usize)).is_some_and(|c| c.1 > 1)
    }
}

/// A group's header above its lanes: a name and a fold toggle spanning `x0..x1`.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupHead {
    pub role: String,
    pub first: u32,
    pub len: u32,
    pub folded: bool,
    pub x0: f64,
    pub x1: f64,
    /// What fits: "▾ shard ×8", or shorter; empty for a group of one (its lane's role line
    /// names it).
    pub text: String,
}

/// The header of each group, left to right (`lane`: the width of one lane).
pub fn group_heads(groups: &[Group], cols: &Columns, lane: f64) -> Vec<GroupHead> {
    groups
        .iter()
        .filter_map(|g| {
            let first = cols.column(g.first)?;
            let last = cols.column(g.first + g.len.saturating_sub(1))?;
            let (x0, x1) = (GUTTER + lane * first as f64, GUTTER + lane * (last as f64 + 1.0));
            let folded = g.len > 1 && first == last;
            let text = if g.len > 1 {
                group_label(&g.role, g.len, folded, x1 - x0)
            } else {
                String::new()
            };
            Some(GroupHead {
                role: g.role.clone(),
                first: g.first,
                len: g.len,
                folded,
                x0,
                x1,
                text,
            })
        })
        .collect()
}

/// The longest of "▾ shard ×8", "▾ ×8" and "▾" that fits `room` pixels (10.5px bold text).
pub fn group_label(role: &str, n: u32, folded: bool, room: f64) -> String {
    let arrow = if folded { '▸' } else { '▾' };
    let fits = |t: &String| t.chars().count() as f64 * 6.2 <= room - 6.0;
    [format!("{arrow} {role} ×{n}"), format!("{arrow} ×{n}")]
        .into_iter()
        .find(fits)
        .unwrap_or_else(|| arrow.to_string())
}

/// What a lane span shows (`Span::kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanKind {
    /// A transaction holds locks on the node: a thin bar right of the lane.
    Locks,
    /// A transaction is in doubt on the node: a hatched strip left of the lane.
    InDoubt,
}

impl SpanKind {
    pub fn of(kind: &str) -> Option<SpanKind> {
        match kind {
            "locks" => Some(SpanKind::Locks),
            "in_doubt" => Some(SpanKind::InDoubt),
            _ => None,
        }
    }
    pub fn css(self) -> &'static str {
        match self {
            SpanKind::Locks => "span-locks",
            SpanKind::InDoubt => "span-doubt",
        }
    }
}

/// A lane span laid out: a bar (or strip) centred on `x` from `y0` to `y1`.
#[derive(Clone, Debug, PartialEq)]
pub struct LaneSpan {
    /// Its index in the run's spans: a stable key.
    pub key: usize,
    pub node: u32,
    pub kind: SpanKind,
    pub x: f64,
    pub y0: f64,
    pub y1: f64,
    /// It lasts to the end of the run.
    pub open: bool,
    pub label: String,
}

/// Width of a lock bar, and of an in-doubt strip.
pub const LOCK_BAR: f64 = 3.0;
pub const DOUBT_STRIP: f64 = 4.0;
/// Distance between two spans side by side (concurrent transactions on one lane).
const TRACK: f64 = 5.0;
/// The first track's distance from the lane's centre: clear of a phase band (12 px wide).
const TRACK0: f64 = 9.0;

/// How many spans fit side by side on each side of a lane `lane` pixels wide (1 to 4).
fn max_tracks(lane: f64) -> usize {
    ((((lane / 2.0 - TRACK0 - 2.5) / TRACK).floor().max(0.0)) as usize + 1).clamp(1, 4)
}

/// What a diagram draws beyond its events: the run's summary (`AnyRun::summary`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Extras<'a> {
    /// Stretches of lanes to draw (lock holding, in doubt).
    pub spans: &'a [Span],
    /// Events to ring (an anomaly's transactions), sorted.
    pub marked: &'a [EventId],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BandKind {
    /// A phase; the class says how to colour it.
    Phase(PhaseClass),
    /// Between a crash and the recovery.
    Down,
}

/// How a phase reads, from its name: protocols name their phases, the UI only groups them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhaseClass {
    Idle,
    Active,
    InDoubt,
    Commit,
    Abort,
}

impl PhaseClass {
    pub fn of(phase: &str) -> PhaseClass {
        let p = phase.to_ascii_lowercase();
        if p.contains("doubt") || p.contains("uncertain") || p.contains("blocked") {
            PhaseClass::InDoubt
        } else if p.contains("abort") || p.contains("compensat") {
            PhaseClass::Abort
        } else if p.contains("commit") {
            PhaseClass::Commit
        } else if ["idle", "working", "init", "done", "start", "forgot"]
            .iter()
            .any(|w| p.contains(w))
        {
            PhaseClass::Idle
        } else {
            PhaseClass::Active
        }
    }
    pub fn css(self) -> &'static str {
        match self {
            PhaseClass::Idle => "idle",
            PhaseClass::Active => "active",
            PhaseClass::InDoubt => "doubt",
            PhaseClass::Commit => "commit",
            PhaseClass::Abort => "abort",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    /// The event that starts the band: a stable key.
    pub start: EventId,
    pub node: u32,
    pub x: f64,
    pub y0: f64,
    pub y1: f64,
    pub kind: BandKind,
    pub label: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArrowEnd {
    Delivered,
    /// Lost, with the reason as a short word ("partition", "receiver down", ...).
    Dropped(String),
    /// Never delivered within the run.
    InFlight,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Arrow {
    /// The delivery or drop event (or the send, for a message still in flight): the key.
    pub key: EventId,
    pub send: EventId,
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
    pub end: ArrowEnd,
    pub duplicate: bool,
    /// The label sits on the send's row, next to the sender; only the first copy has one.
    pub label: Option<Label>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub x: f64,
    pub y: f64,
    pub text: String,
    /// `true`: the text ends at `x` (drawn leftwards).
    pub leftwards: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Commit,
    Abort,
    Other,
}

impl Outcome {
    pub fn of(label: &str) -> Outcome {
        let l = label.to_ascii_lowercase();
        if l.starts_with("commit") {
            Outcome::Commit
        } else if l.starts_with("abort") {
            Outcome::Abort
        } else {
            Outcome::Other
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkKind {
    Persist,
    Decide(Outcome),
    Crash,
    Recover,
    TimerFire,
    TimerSet,
    Request,
    RequestLost,
    Network,
    Phase(PhaseClass),
    Send,
    Deliver,
    Drop,
    Other,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    pub id: EventId,
    pub kind: MarkKind,
    pub x: f64,
    pub y: f64,
    pub label: Option<Label>,
    /// One of the run's marked events (`Extras::marked`): drawn with a ring.
    pub flagged: bool,
}

/// A time label on the axis, at the first event of each distinct virtual time.
#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    pub id: EventId,
    pub y: f64,
    pub time: Time,
}

/// Lane positions for `n_lanes` in a diagram `width` wide; returns (lane width, total width).
/// Up to 8 lanes are at least `MIN_LANE` wide; with more, the narrowest lane shrinks
/// towards `MIN_LANE_MANY` (8 lanes' worth of `MIN_LANE` shared out), so many lanes fit a
/// wide window and scroll sideways on a phone.
pub fn lane_width(n_lanes: usize, width: f64) -> (f64, f64) {
    let n = n_lanes.max(1) as f64;
    let min = if n <= 8.0 { MIN_LANE } else { (MIN_LANE * 8.0 / n).max(MIN_LANE_MANY) };
    let lane = ((width - GUTTER - 8.0) / n).max(min);
    (lane, (GUTTER + lane * n + 8.0).max(width))
}

/// A lane header's role ("resource manager", "leader · acceptor a0") in at most two lines
/// that fit a lane `lane` pixels wide (10.5px text), wrapped between words; what still does
/// not fit ends in "…" (the node's card has the whole role).
pub fn role_lines(role: &str, lane: f64) -> Vec<String> {
    let max = ((lane - 2.0) / 5.6).floor().max(3.0) as usize;
    let mut lines: Vec<String> = Vec::new();
    for word in role.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= max => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    if lines.len() > 2 {
        let rest = lines.split_off(1).join(" ");
        lines.push(rest);
    }
    lines.into_iter().map(|l| truncate_chars(&l, max)).collect()
}

fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

pub fn lane_x(node: u32, lane: f64) -> f64 {
    GUTTER + lane * (node as f64 + 0.5)
}

fn truncate(text: &str, room: f64) -> String {
    let max = (room / CHAR_W).floor().max(3.0) as usize;
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// A label beside a lane: on the side with more room.
fn side_label(x: f64, y: f64, width: f64, text: &str) -> Label {
    let leftwards = x > GUTTER + (width - GUTTER) * 0.62;
    let (lx, room) =
        if leftwards { (x - 10.0, x - 10.0 - GUTTER) } else { (x + 10.0, width - x - 14.0) };
    Label { x: lx, y: y + 4.0, text: truncate(text, room), leftwards }
}

fn drop_word(reason: &str) -> String {
    match reason {
        "receiver_down" => "receiver down".into(),
        "injected" => "dropped".into(),
        "random" => "lost".into(),
        other => other.replace('_', " "),
    }
}

/// The shapes of the diagram that meet `view` (exactly: margins are the caller's choice,
/// see `Viewport::banded`), one lane per node and nothing beyond the events.
pub fn layout(
    events: &[EventInfo],
    rows: &Rows,
    n_nodes: usize,
    cursor: Option<EventId>,
    view: Viewport,
) -> Diagram {
    layout_with(events, rows, &Columns::one_each(n_nodes), Extras::default(), cursor, view)
}

/// `layout` with the nodes in `cols` (a folded group's nodes share one lane: its phase
/// bands are left out, and so are messages between two of its nodes) and the run's
/// `extras`: lane spans and ringed events.
pub fn layout_with(
    events: &[EventInfo],
    rows: &Rows,
    cols: &Columns,
    extras: Extras<'_>,
    cursor: Option<EventId>,
    view: Viewport,
) -> Diagram {
    let n_nodes = cols.nodes();
    let (lane, width) = lane_width(cols.len(), view.width);
    let x_of = |n: u32| lane_x(cols.column(n).unwrap_or(0), lane);
    let top = view.top;
    let bottom = view.top + view.height;
    let visible = |y0: f64, y1: f64| y1 >= top && y0 <= bottom;
    let end_y = rows.height - ROW;

    let lanes = cols
        .cols
        .iter()
        .enumerate()
        .map(|(c, (node, nodes))| Lane { node: *node, x: lane_x(c as u32, lane), nodes: *nodes })
        .collect();

    // Bands: a phase lasts until the node's next phase change or crash; down until recovery.
    let mut bands = Vec::new();
    let mut open: Vec<Option<(EventId, BandKind, String)>> = vec![None; n_nodes];
    let close =
        |bands: &mut Vec<Band>, node: u32, start: Option<(EventId, BandKind, String)>, y1: f64| {
            if let Some((s, kind, label)) = start {
                let y0 = rows.y.get(s as usize).copied().unwrap_or(0.0);
                // A fold shows when one of its nodes is down, not its nodes' phases.
                let shown = kind == BandKind::Down || !cols.is_folded(node);
                if shown && visible(y0, y1) {
                    bands.push(Band { start: s, node, x: x_of(node), y0, y1, kind, label });
                }
            }
        };
    for e in events {
        let Some(node) = e.node.filter(|n| (*n as usize) < n_nodes) else { continue };
        let y = rows.y.get(e.id as usize).copied().unwrap_or(0.0);
        let slot = node as usize;
        match e.kind {
            "phase" => {
                let prev = open[slot].take();
                close(&mut bands, node, prev, y);
                let label = e.subkind.unwrap_or(e.label.as_str()).to_string();
                open[slot] = Some((e.id, BandKind::Phase(PhaseClass::of(&label)), label));
            }
            "crash" => {
                let prev = open[slot].take();
                close(&mut bands, node, prev, y);
                open[slot] = Some((e.id, BandKind::Down, "down".into()));
            }
            "recover" => {
                let prev = open[slot].take();
                close(&mut bands, node, prev, y);
                if let Some(phase) = rows.recovered.get(&e.id) {
                    open[slot] =
                        Some((e.id, BandKind::Phase(PhaseClass::of(phase)), phase.clone()));
                }
            }
            _ => {}
        }
    }
    for (node, start) in open.into_iter().enumerate() {
        close(&mut bands, node as u32, start, end_y);
    }

    // Arrows: one per delivery or drop (a duplicate is a second arrow from the same send).
    let mut arrows = Vec::new();
    for e in events.iter().filter(|e| e.kind == "send") {
        let (Some(from), Some(to)) = (e.node, e.peer) else { continue };
        if from as usize >= n_nodes || to as usize >= n_nodes {
            continue;
        }
        // Between two nodes folded into one lane: nothing to draw.
        if from != to && cols.column(from) == cols.column(to) {
            continue;
        }
        let y1 = rows.y[e.id as usize];
        let ends = rows.ends.get(e.id as usize).map(Vec::as_slice).unwrap_or(&[]);
        let last_y = ends.last().and_then(|d| rows.y.get(*d as usize)).copied().unwrap_or(end_y);
        if !visible(y1, last_y) {
            continue;
        }
        let (x1, xt) = (x_of(from), x_of(to));
        let dir = if xt >= x1 { 1.0 } else { -1.0 };
        let text = &e.label;
        // The send's row is its own: the label may run past the receiver's lane.
        let room = if dir > 0.0 { width - x1 - 14.0 } else { x1 - GUTTER - 10.0 };
        let label = Some(Label {
            x: x1 + dir * 8.0,
            y: y1 - 4.0,
            text: truncate(text, room.max(MIN_LANE - 14.0)),
            leftwards: dir < 0.0,
        });
        if ends.is_empty() {
            let x2 = x1 + (xt - x1) * 0.55;
            arrows.push(Arrow {
                key: e.id,
                send: e.id,
                x1,
                y1,
                x2,
                y2: end_y,
                end: ArrowEnd::InFlight,
                duplicate: false,
                label,
            });
            continue;
        }
        for (k, d) in ends.iter().enumerate() {
            let Some(end) = events.get(*d as usize) else { continue };
            let y2 = rows.y[*d as usize];
            let (x2, kind) = if end.kind == "drop" {
                let reason = end
                    .drop_reason
                    .and_then(|r| serde_json::to_value(r).ok())
                    .and_then(|v| v.as_str().map(drop_word))
                    .unwrap_or_else(|| "lost".into());
                (x1 + (xt - x1) * 0.78, ArrowEnd::Dropped(reason))
            } else {
                (xt - dir * 3.0, ArrowEnd::Delivered)
            };
            arrows.push(Arrow {
                key: *d,
                send: e.id,
                x1,
                y1,
                x2,
                y2,
                end: kind,
                duplicate: end.duplicate,
                label: if k == 0 { label.clone() } else { None },
            });
        }
    }
    arrows.retain(|a| visible(a.y1.min(a.y2), a.y1.max(a.y2)));

    // Marks and ticks: only the rows in view.
    let first = rows.first_below(top);
    let last = rows.first_below(bottom).min(events.len());
    let mut marks = Vec::new();
    let mut ticks = Vec::new();
    for e in events.get(first..last).unwrap_or(&[]) {
        let y = rows.y[e.id as usize];
        let prev_time = e.id.checked_sub(1).and_then(|p| events.get(p as usize)).map(|p| p.time);
        if prev_time != Some(e.time) {
            ticks.push(Tick { id: e.id, y, time: e.time });
        }
        let x = e.node.filter(|n| (*n as usize) < n_nodes).map(x_of);
        let (kind, text): (MarkKind, Option<String>) = match e.kind {
            "persist" => (MarkKind::Persist, Some(e.label.clone())),
            "decide" => (MarkKind::Decide(Outcome::of(&e.label)), Some(e.label.clone())),
            "crash" => (MarkKind::Crash, Some("crash".into())),
            "recover" => (MarkKind::Recover, Some(e.label.clone())),
            "timer_fire" => (MarkKind::TimerFire, Some(format!("timeout {}", e.label))),
            "timer_set" | "timer_cancel" => (MarkKind::TimerSet, None),
            "request" => (MarkKind::Request, Some(format!("request: {}", e.label))),
            "request_lost" => (MarkKind::RequestLost, Some(format!("request lost: {}", e.label))),
            "network" => (MarkKind::Network, Some(e.narration.clone())),
            "phase" => {
                let p = e.subkind.unwrap_or(e.label.as_str());
                let class = PhaseClass::of(p);
                let text = if class == PhaseClass::InDoubt {
                    format!("⚠ {}", p.replace('_', " ").to_uppercase())
                } else {
                    format!("→ {}", p.replace('_', " "))
                };
                (MarkKind::Phase(class), Some(text))
            }
            "send" => (MarkKind::Send, None),
            "deliver" => (MarkKind::Deliver, e.duplicate.then(|| "duplicate".to_string())),
            "drop" => {
                let reason = e
                    .drop_reason
                    .and_then(|r| serde_json::to_value(r).ok())
                    .and_then(|v| v.as_str().map(drop_word))
                    .unwrap_or_else(|| "lost".into());
                (MarkKind::Drop, Some(format!("✕ {} {reason}", e.label)))
            }
            _ => (MarkKind::Other, Some(e.label.clone())),
        };
        let (x, label) = match (kind, x) {
            (MarkKind::Network, _) | (_, None) => {
                let x = GUTTER + 6.0;
                let label = text.map(|t| Label {
                    x,
                    y: y - 4.0,
                    text: truncate(&t, width - GUTTER - 12.0),
                    leftwards: false,
                });
                (x, label)
            }
            (MarkKind::Drop, Some(x)) => {
                // The cross sits on the arrow; its label goes on the far side of the lane.
                let label = text.map(|t| side_label(x, y, width, &t));
                (x, label)
            }
            (_, Some(x)) => (x, text.map(|t| side_label(x, y, width, &t))),
        };
        let flagged = extras.marked.binary_search(&e.id).is_ok();
        marks.push(Mark { id: e.id, kind, x, y, label, flagged });
    }

    let spans = lane_spans(extras.spans, rows, cols, lane, end_y)
        .into_iter()
        .filter(|s| visible(s.y0, s.y1))
        .map(|mut s| {
            s.label = extras.spans.get(s.key).map(|sp| sp.label.clone()).unwrap_or_default();
            s
        })
        .collect();

    Diagram {
        width,
        height: rows.height,
        lane,
        lanes,
        bands,
        spans,
        arrows,
        marks,
        ticks,
        cursor_y: rows.cursor_y(events, cursor),
    }
}

/// Every span of `spans` laid out (without its label): on its node's lane (or fold), from
/// its first event's row to its last's (or the end of the run). Spans that overlap in time
/// on one lane stand side by side, each on the first free track (the tracks are given over
/// the whole run, so a span keeps its place however the diagram scrolls); lock bars go
/// right of the lane, in-doubt strips left of it; past the tracks a lane has room for,
/// spans share the track that frees first. Spans of unknown kinds or outside the run are
/// left out.
pub fn lane_spans(
    spans: &[Span],
    rows: &Rows,
    cols: &Columns,
    lane: f64,
    end_y: f64,
) -> Vec<LaneSpan> {
    let max = max_tracks(lane);
    let mut out: Vec<(u32, LaneSpan)> = Vec::new();
    for (key, sp) in spans.iter().enumerate() {
        let (Some(kind), Some(col)) = (SpanKind::of(sp.kind), cols.column(sp.node.0)) else {
            continue;
        };
        let Some(y0) = rows.y.get(sp.from as usize).copied() else { continue };
        let y1 = match sp.until {
            Some(u) => rows.y.get(u as usize).copied().unwrap_or(end_y),
            None => end_y,
        }
        .max(y0);
        let span = LaneSpan {
            key,
            node: sp.node.0,
            kind,
            x: lane_x(col, lane),
            y0,
            y1,
            open: sp.until.is_none(),
            label: String::new(),
        };
        out.push((col, span));
    }
    out.sort_by(|a, b| a.1.y0.total_cmp(&b.1.y0).then(a.1.key.cmp(&b.1.key)));
    // The y where each track of each (lane, side) frees.
    let mut tracks: VecMap<(u32, bool), Vec<f64>> = VecMap::new();
    for (col, s) in &mut out {
        let centre = s.x;
        let ends = tracks.entry((*col, s.kind == SpanKind::Locks)).or_default();
        let k = match ends.iter().position(|end| *end < s.y0) {
            Some(k) => k,
            None if ends.len() < max => {
                ends.push(f64::NEG_INFINITY);
                ends.len() - 1
            }
            None => (0..ends.len()).min_by(|a, b| ends[*a].total_cmp(&ends[*b])).unwrap_or(0),
        };
        ends[k] = ends[k].max(s.y1);
        let offset = TRACK0 + TRACK * k as f64;
        s.x = match s.kind {
            SpanKind::Locks => centre + offset,
            SpanKind::InDoubt => centre - offset,
        };
    }
    out.into_iter().map(|(_, s)| s).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_banded_window_covers_the_window_and_moves_in_whole_bands() {
        let vp = Viewport { width: 800.0, top: 370.0, height: 500.0 };
        let b = vp.banded();
        // 370 - 120 = 250 rounds down to 240; 370 + 500 + 120 = 990 rounds up to 1200.
        assert_eq!((b.top, b.height), (BAND, 4.0 * BAND));
        assert!(b.top + OVERSCAN <= vp.top && b.top + b.height >= vp.top + vp.height + OVERSCAN);
        // Scrolling a row at a time keeps the same band (so the same drawing) ...
        for dy in [1.0, 20.0, 200.0] {
            assert_eq!(Viewport { top: 370.0 + dy, ..vp }.banded(), b, "moved by {dy}");
        }
        // ... until the window crosses a band's edge.
        assert_ne!(Viewport { top: 370.0 + 240.0, ..vp }.banded(), b);
        assert_eq!(Viewport { top: 0.0, height: 0.0, width: 1.0 }.banded().height, BAND);
        assert_eq!(Viewport { top: 10.0, height: 100.0, width: 1.0 }.banded().top, 0.0);
    }

    use super::*;
    use commitscope_engine::Scenario;

    fn run(preset: &str) -> Box<dyn commitscope_engine::erased::AnyRun> {
        let p = commitscope_protocols::presets::find(preset).expect("preset exists");
        commitscope_protocols::run(&p.scenario()).expect("preset runs")
    }

    fn everything() -> Viewport {
        Viewport { width: 800.0, top: 0.0, height: 1.0e9 }
    }

    #[test]
    fn rows_are_monotone_and_one_event_per_row() {
        let r = run("two_pc/happy_path");
        let rows = Rows::new(r.events());
        assert_eq!(rows.y.len(), r.events().len());
        for w in rows.y.windows(2) {
            assert!(w[1] - w[0] >= SMALL_ROW, "rows overlap: {} then {}", w[0], w[1]);
        }
        assert!(rows.height > *rows.y.last().unwrap());
    }

    #[test]
    fn aligned_rows_put_each_moment_at_one_height_in_every_run() {
        use commitscope_protocols::compare::{fault_free_scenario, Options, VARIANTS};
        let go =
            |v| commitscope_protocols::run(&fault_free_scenario(v, 3, Options::default())).unwrap();
        let (a, b) = (go(VARIANTS[0]), go(VARIANTS[1]));
        let rows = Rows::aligned(&[a.events(), b.events()]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].height, rows[1].height);
        // Where each moment ends, per run: the bottom of its last event at that time.
        let ends = |events: &[EventInfo], r: &Rows| -> VecMap<Time, f64> {
            let mut m = VecMap::new();
            for e in events {
                m.insert(e.time, r.cursor_y(events, Some(e.id)));
            }
            m
        };
        let (ea, eb) = (ends(a.events(), &rows[0]), ends(b.events(), &rows[1]));
        let shared: Vec<&Time> = ea.keys().filter(|t| eb.contains_key(t)).collect();
        assert!(shared.len() >= 4, "the runs share moments: {shared:?}");
        for t in shared {
            assert_eq!(ea[t], eb[t], "t={t} ends at one height in both: one cursor line");
            assert_eq!(rows[0].clock_y(Some(*t)), ea[t]);
        }
        // After the shorter run's end its clock line still follows the other's moments.
        let last = *eb.keys().last().unwrap();
        assert_eq!(rows[0].clock_y(Some(last + 1_000)), rows[1].clock_y(Some(last + 1_000)));
        assert_eq!(rows[0].clock_y(None), TOP_PAD - 2.0);
        for (events, r) in [(a.events(), &rows[0]), (b.events(), &rows[1])] {
            assert_eq!(r.y.len(), events.len());
            for w in r.y.windows(2) {
                assert!(w[1] - w[0] >= SMALL_ROW, "rows overlap");
            }
        }
    }

    #[test]
    fn roles_wrap_into_two_lines_that_fit_the_lane() {
        assert_eq!(role_lines("participant", 200.0), ["participant"]);
        assert_eq!(role_lines("resource manager", 200.0), ["resource manager"]);
        assert_eq!(role_lines("resource manager", MIN_LANE), ["resource", "manager"]);
        assert_eq!(role_lines("leader · acceptor a0", MIN_LANE), ["leader ·", "acceptor a0"]);
        let tight = role_lines("resource manager · leader · acceptor a0", MIN_LANE);
        assert_eq!(tight.len(), 2);
        assert!(tight.iter().all(|l| l.chars().count() <= 11), "{tight:?}");
        assert!(tight[1].ends_with('…'));
        assert!(role_lines("", MIN_LANE).is_empty());
    }

    #[test]
    fn happy_path_has_lanes_arrows_and_decisions() {
        let r = run("two_pc/happy_path");
        let rows = Rows::new(r.events());
        let d = layout(r.events(), &rows, r.nodes().len(), None, everything());
        assert_eq!(d.lanes.len(), 4);
        let sends = r.events().iter().filter(|e| e.kind == "send").count();
        assert_eq!(d.arrows.len(), sends, "every message is delivered exactly once");
        assert!(d.arrows.iter().all(|a| a.end == ArrowEnd::Delivered && a.y2 > a.y1));
        let decisions: Vec<_> = d
            .marks
            .iter()
            .filter(|m| matches!(m.kind, MarkKind::Decide(Outcome::Commit)))
            .collect();
        assert_eq!(decisions.len(), 4);
        // Everyone who prepared spent time in doubt.
        let doubt =
            d.bands.iter().filter(|b| b.kind == BandKind::Phase(PhaseClass::InDoubt)).count();
        assert_eq!(doubt, 3);
    }

    #[test]
    fn no_two_labels_share_a_row() {
        for p in commitscope_protocols::presets::ALL {
            let r = commitscope_protocols::run(&p.scenario()).unwrap();
            let rows = Rows::new(r.events());
            let d = layout(r.events(), &rows, r.nodes().len(), None, everything());
            let mut ys: Vec<f64> = d
                .marks
                .iter()
                .filter_map(|m| m.label.as_ref().map(|l| l.y))
                .chain(d.arrows.iter().filter_map(|a| a.label.as_ref().map(|l| l.y)))
                .collect();
            ys.sort_by(f64::total_cmp);
            for w in ys.windows(2) {
                assert!(w[1] - w[0] >= 7.9, "{}: labels {} and {} collide", p.id, w[0], w[1]);
            }
        }
    }

    #[test]
    fn dropped_messages_end_in_a_cross_with_the_reason() {
        let r = run("two_pc/lost_commit");
        let rows = Rows::new(r.events());
        let d = layout(r.events(), &rows, r.nodes().len(), None, everything());
        let dropped: Vec<_> =
            d.arrows.iter().filter(|a| matches!(a.end, ArrowEnd::Dropped(_))).collect();
        assert_eq!(dropped.len(), 1);
        assert_eq!(dropped[0].end, ArrowEnd::Dropped("dropped".into()));
    }

    #[test]
    fn duplicates_are_second_arrows_from_the_same_send() {
        let r = run("two_pc/duplicates");
        let rows = Rows::new(r.events());
        let d = layout(r.events(), &rows, r.nodes().len(), None, everything());
        let dups: Vec<_> = d.arrows.iter().filter(|a| a.duplicate).collect();
        assert_eq!(dups.len(), 2);
        for dup in dups {
            assert!(dup.label.is_none());
            assert!(d.arrows.iter().any(|a| a.send == dup.send && !a.duplicate));
        }
    }

    #[test]
    fn a_crashed_lane_is_down_until_it_recovers() {
        let r = run("two_pc/coordinator_recovers");
        let rows = Rows::new(r.events());
        let d = layout(r.events(), &rows, r.nodes().len(), None, everything());
        let down: Vec<_> = d.bands.iter().filter(|b| b.kind == BandKind::Down).collect();
        assert_eq!(down.len(), 1);
        assert_eq!(down[0].node, 0);
        let recover = r.events().iter().find(|e| e.kind == "recover").unwrap();
        assert_eq!(down[0].y1, rows.y[recover.id as usize]);
    }

    #[test]
    fn the_viewport_bounds_what_is_drawn() {
        // A long run: the same trace drawn through a small window draws few shapes.
        let mut s = Scenario::from_json(
            commitscope_protocols::presets::find("two_pc/coordinator_crash_blocks").unwrap().json,
        )
        .unwrap();
        s.limits.max_ticks = 5_000;
        let r = commitscope_protocols::run(&s).unwrap();
        assert!(r.events().len() > 300, "{} events", r.events().len());
        let rows = Rows::new(r.events());
        let all = layout(r.events(), &rows, 4, None, everything());
        let mid = rows.height / 2.0;
        let window =
            layout(r.events(), &rows, 4, None, Viewport { width: 800.0, top: mid, height: 300.0 });
        let count = |d: &Diagram| d.marks.len() + d.arrows.len() + d.bands.len();
        assert!(count(&window) < 120, "window draws {}", count(&window));
        assert!(count(&all) > 3 * count(&window));
        assert!(window.marks.iter().all(|m| m.y > mid - 200.0 && m.y < mid + 500.0));
    }

    #[test]
    fn the_cursor_sits_below_its_event() {
        let r = run("two_pc/happy_path");
        let rows = Rows::new(r.events());
        assert!(rows.cursor_y(r.events(), None) < rows.y[0]);
        let c = rows.cursor_y(r.events(), Some(10));
        assert!(c > rows.y[10] && c < rows.y[11]);
        // Out of range never panics.
        let _ = rows.cursor_y(r.events(), Some(u32::MAX));
    }

    #[test]
    fn narrow_screens_keep_lanes_readable() {
        let (lane, width) = lane_width(4, 360.0);
        assert!(lane >= MIN_LANE && width <= 360.0);
        let (lane, width) = lane_width(8, 360.0);
        assert_eq!(lane, MIN_LANE);
        assert!(width > 360.0, "eight lanes scroll sideways on a phone");
    }

    fn kv(clients: u32, shards: u32) -> Box<dyn commitscope_engine::erased::AnyRun> {
        let p = commitscope_protocols::presets::find("kv/generated_workload").unwrap();
        let mut s = p.scenario();
        s.params["clients"] = clients.into();
        s.params["shards"] = shards.into();
        commitscope_protocols::run(&s).expect("runs")
    }

    fn groups_of(r: &dyn commitscope_engine::erased::AnyRun) -> Vec<Group> {
        groups(r.nodes().iter().map(|n| n.role.as_str()))
    }

    #[test]
    fn lanes_group_by_role_and_a_group_folds_into_one_lane() {
        let roles = ["client", "client", "client", "coordinator", "shard", "shard"];
        let g = groups(roles);
        assert_eq!(
            g.iter().map(|g| (g.first, g.len)).collect::<Vec<_>>(),
            [(0, 3), (3, 1), (4, 2)]
        );
        assert!(is_grouped(&g));
        assert!(!is_grouped(&groups(["coordinator", "participant", "participant", "participant"])));
        assert!(!is_grouped(&groups(["a", "b", "c", "d", "e"])), "no role has several nodes");
        let one = Columns::folding(&g, &[]);
        assert_eq!(one, Columns::one_each(6));
        let c = Columns::folding(&g, &["client".into(), "coordinator".into()]);
        assert_eq!((c.len(), c.nodes()), (4, 6), "the clients on one lane; a group of one stays");
        assert_eq!((0..6).map(|n| c.column(n).unwrap()).collect::<Vec<_>>(), [0, 0, 0, 1, 2, 3]);
        assert!(c.is_folded(2) && !c.is_folded(3) && !c.is_folded(5));
        assert_eq!(c.column(6), None);
        let heads = group_heads(&g, &c, 80.0);
        assert_eq!(heads.len(), 3);
        assert!(heads[0].folded && !heads[2].folded && heads[1].text.is_empty());
        assert_eq!((heads[0].x0, heads[0].x1), (GUTTER, GUTTER + 80.0));
        assert_eq!(heads[2].text, "▾ shard ×2");
        for w in heads.windows(2) {
            assert!(w[0].x1 <= w[1].x0, "headers never overlap");
        }
    }

    #[test]
    fn group_labels_fit_their_room() {
        assert_eq!(group_label("client", 8, false, 200.0), "▾ client ×8");
        assert_eq!(group_label("client", 8, true, 48.0), "▸ ×8");
        assert_eq!(group_label("client", 8, true, 10.0), "▸");
        for room in [10.0, 30.0, 48.0, 66.0, 96.0, 400.0] {
            let t = group_label("resource manager", 12, false, room);
            assert!(t.chars().count() == 1 || t.chars().count() as f64 * 6.2 <= room - 6.0);
        }
    }

    #[test]
    fn seventeen_lanes_fit_a_wide_window_and_scroll_on_a_phone() {
        // 1280 px window: the diagram pane is about 880 px wide.
        let (lane, width) = lane_width(17, 880.0);
        assert!(lane >= MIN_LANE_MANY && width == 880.0, "{lane} {width}");
        let (lane, width) = lane_width(17, 360.0);
        assert_eq!(lane, MIN_LANE_MANY);
        assert!(width > 360.0);
        // Shrinking is gradual: more lanes never make a lane wider.
        let mut prev = f64::INFINITY;
        for n in 1..=20 {
            let (lane, _) = lane_width(n, 360.0);
            assert!(lane <= prev && lane >= MIN_LANE_MANY, "{n}: {lane}");
            prev = lane;
        }
        // A lane fits its name ("coord", 13px semibold) and a two-track span on each side.
        assert!(MIN_LANE_MANY >= 5.0 * 8.0 && max_tracks(MIN_LANE_MANY) >= 2);
        let r = kv(8, 8);
        assert_eq!(r.nodes().len(), 17);
        let g = groups_of(r.as_ref());
        assert!(is_grouped(&g));
        assert_eq!(g.iter().map(|g| g.len).collect::<Vec<_>>(), [8, 1, 8]);
    }

    #[test]
    fn a_folded_group_draws_its_nodes_on_one_lane() {
        let r = kv(4, 4);
        let g = groups_of(r.as_ref());
        let cols = Columns::folding(&g, &["client".into()]);
        let rows = Rows::new(r.events());
        let d = layout_with(r.events(), &rows, &cols, Extras::default(), None, everything());
        assert_eq!(d.lanes.len(), 6, "one fold, the coordinator, four shards");
        assert_eq!((d.lanes[0].node, d.lanes[0].nodes), (0, 4));
        let fold_x = d.lanes[0].x;
        // Every client's marks are on the fold; no client phase band; arrows from a client
        // start there, arrows to one end there.
        for m in d.marks.iter().filter(|m| r.events()[m.id as usize].node.is_some_and(|n| n < 4)) {
            if m.kind != MarkKind::Network {
                assert_eq!(m.x, fold_x);
            }
        }
        assert!(d.bands.iter().all(|b| b.node >= 4 || b.kind == BandKind::Down));
        let to_clients = d
            .arrows
            .iter()
            .filter(|a| a.end == ArrowEnd::Delivered)
            .filter(|a| r.events()[a.send as usize].peer.is_some_and(|p| p < 4))
            .count();
        assert!(to_clients > 0);
        for a in d.arrows.iter().filter(|a| a.end == ArrowEnd::Delivered) {
            let send = &r.events()[a.send as usize];
            if send.node.is_some_and(|n| n < 4) {
                assert_eq!(a.x1, fold_x);
            }
            if send.peer.is_some_and(|p| p < 4) {
                assert!((a.x2 - fold_x).abs() <= 3.0, "ends at the fold: {} vs {fold_x}", a.x2);
            }
            assert!(!(send.node < Some(4) && send.peer < Some(4)), "no arrow inside the fold");
        }
        // Unfolded, the same run draws one lane per node.
        let all = layout_with(
            r.events(),
            &rows,
            &Columns::folding(&g, &[]),
            Extras::default(),
            None,
            everything(),
        );
        assert_eq!(all.lanes.len(), 9);
    }

    #[test]
    fn lock_and_in_doubt_spans_sit_beside_their_shards_lanes() {
        let r = run("kv/coordinator_crash_in_doubt");
        let rows = Rows::new(r.events());
        let summary = r.summary();
        let n = r.nodes().len();
        let extras = Extras { spans: &summary.spans, marked: &[] };
        let d = layout_with(r.events(), &rows, &Columns::one_each(n), extras, None, everything());
        let name = |node: u32| r.nodes()[node as usize].name.as_str();
        for shard in ["s1", "s2"] {
            let lane = d.lanes.iter().find(|l| name(l.node) == shard).unwrap();
            let on =
                |k: SpanKind| d.spans.iter().filter(move |s| name(s.node) == shard && s.kind == k);
            let locks: Vec<_> = on(SpanKind::Locks).collect();
            let doubt: Vec<_> = on(SpanKind::InDoubt).collect();
            assert!(!locks.is_empty() && !doubt.is_empty(), "{shard}: {:?}", d.spans);
            for s in &locks {
                assert!(s.x > lane.x + 6.0 && s.x < lane.x + d.lane / 2.0, "right of the lane");
            }
            for s in &doubt {
                assert!(s.x < lane.x - 6.0 && s.x > lane.x - d.lane / 2.0, "left of the lane");
                assert!(s.label.contains("in doubt"), "{}", s.label);
            }
            // The lock hold covers the in-doubt stretch (held through it).
            let (l, dt) = (locks[0], doubt[0]);
            assert!(l.y0 <= dt.y0 && l.y1 >= dt.y1, "{l:?} {dt:?}");
            assert!(dt.y1 > dt.y0 + 100.0, "in doubt for a long stretch");
        }
        assert_eq!(d.spans.len(), summary.spans.len(), "the whole run in view: every span");
    }

    #[test]
    fn concurrent_spans_on_one_lane_take_separate_tracks() {
        let r = kv(4, 4);
        let rows = Rows::new(r.events());
        let summary = r.summary();
        let cols = Columns::one_each(r.nodes().len());
        for lane in [MIN_LANE_MANY, MIN_LANE, 120.0] {
            let spans = lane_spans(&summary.spans, &rows, &cols, lane, rows.height - ROW);
            assert!(spans.len() >= 8, "{} spans", spans.len());
            let mut overlapped = 0;
            for (i, a) in spans.iter().enumerate() {
                let centre = lane_x(cols.column(a.node).unwrap(), lane);
                assert!((a.x - centre).abs() < lane / 2.0, "inside its lane: {a:?} at {lane}");
                for b in &spans[i + 1..] {
                    let same = a.node == b.node && a.kind == b.kind;
                    if same && a.y0 < b.y1 && b.y0 < a.y1 {
                        overlapped += 1;
                        if max_tracks(lane) >= 4 {
                            assert_ne!(a.x, b.x, "side by side: {a:?} {b:?}");
                        }
                    }
                }
            }
            assert!(overlapped > 0, "the workload holds locks concurrently on a shard");
        }
    }

    #[test]
    fn only_spans_in_the_window_are_laid_out_and_bad_spans_never_panic() {
        let r = kv(4, 4);
        let rows = Rows::new(r.events());
        let summary = r.summary();
        let cols = Columns::one_each(r.nodes().len());
        let extras = Extras { spans: &summary.spans, marked: &[] };
        let mid = rows.height / 2.0;
        let view = Viewport { width: 800.0, top: mid, height: 200.0 };
        let d = layout_with(r.events(), &rows, &cols, extras, None, view);
        assert!(d.spans.len() < summary.spans.len());
        assert!(d.spans.iter().all(|s| s.y1 >= mid && s.y0 <= mid + 200.0));
        let last = r.events().len() as EventId;
        let node = commitscope_engine::NodeId;
        let bad = [
            Span { node: node(99), from: 0, until: None, kind: "locks", label: "x".into() },
            Span { node: node(0), from: last + 5, until: None, kind: "locks", label: "x".into() },
            Span { node: node(0), from: 10, until: Some(2), kind: "in_doubt", label: "".into() },
            Span { node: node(0), from: 1, until: Some(u32::MAX), kind: "locks", label: "".into() },
            Span { node: node(0), from: 1, until: None, kind: "sparkles", label: "".into() },
        ];
        let extras = Extras { spans: &bad, marked: &[u32::MAX] };
        let d = layout_with(r.events(), &rows, &cols, extras, None, everything());
        assert_eq!(d.spans.len(), 2, "{:?}", d.spans);
        assert!(d.spans.iter().all(|s| s.y1 >= s.y0));
        let d = layout_with(r.events(), &rows, &Columns::one_each(0), extras, None, everything());
        assert!(d.spans.is_empty() && d.lanes.is_empty());
    }

    #[test]
    fn the_summary_marks_are_ringed() {
        let r = run("kv/write_skew");
        let rows = Rows::new(r.events());
        let mut marked = r.summary().marks.clone();
        marked.sort_unstable();
        assert!(!marked.is_empty());
        let extras = Extras { spans: &[], marked: &marked };
        let cols = Columns::one_each(r.nodes().len());
        let d = layout_with(r.events(), &rows, &cols, extras, None, everything());
        let flagged: Vec<EventId> = d.marks.iter().filter(|m| m.flagged).map(|m| m.id).collect();
        assert_eq!(flagged, marked);
    }

    #[test]
    fn labels_are_truncated_to_their_room() {
        assert_eq!(truncate("short", 100.0), "short");
        let t = truncate("a very long record label indeed", 60.0);
        assert!(t.ends_with('…') && t.chars().count() <= 9);
    }
}
