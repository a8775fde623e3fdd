//! The space-time diagram: turns `layout::Diagram` shapes into SVG. No geometry here.

use crate::layout::{
    self, Arrow, ArrowEnd, Band, BandKind, Columns, Extras, Label, LaneSpan, Mark, MarkKind,
    Outcome, SpanKind, Viewport, GROUP_HEAD, GUTTER,
};
use crate::state::{Action, RunData, Selection};
use commitscope_engine::{EventId, Time};
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::Element;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct DiagramProps {
    pub data: Rc<RunData>,
    pub cursor: Option<EventId>,
    pub selected: Selection,
    /// The diagram's height in pixels (an embed's `height`); default: the stylesheet's.
    #[prop_or_default]
    pub height: Option<u32>,
    /// The id of the text alternative (the event log).
    #[prop_or_default]
    pub described_by: Option<AttrValue>,
    pub on_action: Callback<Action>,
    /// Set by a view that drives several diagrams with one clock: the cursor line and its
    /// label stand at this virtual time (after all its events), not at the cursor's event.
    #[prop_or_default]
    pub clock: Option<Option<Time>>,
    /// Diagrams laid out against one clock scroll together: scrolling one scrolls every
    /// diagram of the same group to the same height (the same moment).
    #[prop_or_default]
    pub sync_scroll: Option<AttrValue>,
    /// Group the lanes by role under headers that fold a group into one lane (the full app
    /// and its widgets; not the compare view). Grouping needs `layout::GROUP_MIN_NODES`.
    #[prop_or_default]
    pub foldable: bool,
    /// The roles whose lanes are folded (`AppState::folded`).
    #[prop_or_default]
    pub folded: Vec<String>,
}

fn text(l: &Label, class: &'static str) -> Html {
    let anchor = if l.leftwards { "end" } else { "start" };
    html! {
        <text class={class} x={fmt(l.x)} y={fmt(l.y)} text-anchor={anchor}>{ l.text.clone() }</text>
    }
}

/// SVG coordinates as whole pixels (crisp lines, and no float formatting in the wasm).
fn fmt(v: f64) -> String {
    (v.round() as i64).to_string()
}

fn band(b: &Band, selected: bool) -> Html {
    let (class, w) = match b.kind {
        BandKind::Down => ("band band-down".to_string(), 16.0),
        BandKind::Phase(c) => (format!("band band-{}", c.css()), 12.0),
    };
    let class = if selected { format!("{class} band-selected") } else { class };
    html! {
        <rect key={format!("b{}-{}", b.node, b.start)} class={class}
            x={fmt(b.x - w / 2.0)} y={fmt(b.y0)} width={fmt(w)} height={fmt((b.y1 - b.y0).max(1.0))}
            rx="3">
            <title>{ format!("{}: {}", b.label, if b.kind == BandKind::Down { "the node is down" } else { "phase" }) }</title>
        </rect>
    }
}

/// A lane span: a thin bar (locks held) right of the lane, or a hatched strip (in doubt)
/// left of it, named on hover.
fn lane_span(s: &LaneSpan, node: &str) -> Html {
    let w = match s.kind {
        SpanKind::Locks => layout::LOCK_BAR,
        SpanKind::InDoubt => layout::DOUBT_STRIP,
    };
    let title =
        if s.open { format!("{} (until the end of the run)", s.label) } else { s.label.clone() };
    html! {
        <rect key={s.key} class={classes!("span", s.kind.css(), s.open.then_some("span-open"))}
            data-node={node.to_string()}
            x={fmt(s.x - w / 2.0)} y={fmt(s.y0)} width={fmt(w)} height={fmt((s.y1 - s.y0).max(2.0))}
            rx="1.5">
            <title>{ title }</title>
        </rect>
    }
}

/// One message: its drawing is a button (`data-send`); the clicks and keys of every arrow
/// are handled once, on the group of arrows (`on_arrows`).
fn arrow(a: &Arrow, data: &RunData, selected: bool, trail: bool) -> Html {
    let send = data.events().get(a.send as usize);
    let end = data.events().get(a.key as usize);
    let nodes = data.run.nodes();
    let name =
        |n: Option<u32>| n.and_then(|n| nodes.get(n as usize)).map_or("?", |s| s.name.as_str());
    let what = send.map_or(String::new(), |e| e.label.clone());
    let (from, to) = (name(send.and_then(|e| e.node)), name(send.and_then(|e| e.peer)));
    let fate = match &a.end {
        ArrowEnd::Delivered => format!("delivered at t={}", end.map_or(0, |e| e.time)),
        ArrowEnd::Dropped(r) => format!("lost ({r})"),
        ArrowEnd::InFlight => "still in flight at the end of the run".into(),
    };
    let dup = if a.duplicate { ", duplicate copy" } else { "" };
    let aria = format!(
        "message {what} from {from} to {to}, sent at t={}, {fate}{dup}",
        send.map_or(0, |e| e.time)
    );
    let mut class = String::from("arrow");
    match &a.end {
        ArrowEnd::Delivered => {}
        ArrowEnd::Dropped(_) => class.push_str(" arrow-dropped"),
        ArrowEnd::InFlight => class.push_str(" arrow-inflight"),
    }
    if a.duplicate {
        class.push_str(" arrow-dup");
    }
    if selected {
        class.push_str(" arrow-selected");
    }
    if trail {
        class.push_str(" trail");
    }
    let id = a.send;
    let marker = match a.end {
        ArrowEnd::Delivered if trail => "url(#cs-head-trail)",
        ArrowEnd::Delivered => "url(#cs-head)",
        _ => "",
    };
    let tail = match a.end {
        ArrowEnd::Dropped(_) => "url(#cs-tail-lost)",
        _ => "url(#cs-tail)",
    };
    let cross = if let ArrowEnd::Dropped(_) = a.end {
        let (x, y) = (a.x2, a.y2);
        html! { <path class="cross" d={format!("M{} {} l10 10 M{} {} l-10 10", fmt(x - 5.0), fmt(y - 5.0), fmt(x + 5.0), fmt(y - 5.0))} /> }
    } else {
        html! {}
    };
    let dup_badge = if a.duplicate {
        let (mx, my) = ((a.x1 + a.x2) / 2.0, (a.y1 + a.y2) / 2.0);
        html! {
            <g class="dup-badge">
                <rect x={fmt(mx - 13.0)} y={fmt(my - 7.0)} width="26" height="13" rx="6" />
                <text x={fmt(mx)} y={fmt(my + 3.5)} text-anchor="middle">{"×2"}</text>
            </g>
        }
    } else {
        html! {}
    };
    // The button is the drawing; its name says everything. The label beside it (often
    // truncated) and the ×2 badge are a picture of that name, hidden from assistive
    // technology and kept outside the button, so its visible text never contradicts it.
    html! {
        <g key={format!("a{}", a.key)} class={classes!("msg", selected.then_some("msg-selected"), trail.then_some("trail"))}>
            <g class={class} role="button" tabindex="0" aria-label={aria.clone()} data-send={id.to_string()}>
                <title>{ aria }</title>
                <line class="hit" x1={fmt(a.x1)} y1={fmt(a.y1)} x2={fmt(a.x2)} y2={fmt(a.y2)} />
                <line class="shaft" x1={fmt(a.x1)} y1={fmt(a.y1)} x2={fmt(a.x2)} y2={fmt(a.y2)}
                    marker-start={tail} marker-end={marker} />
                { cross }
            </g>
            <g class="msg-deco" aria-hidden="true" data-send={id.to_string()}>
                { dup_badge }
                { a.label.as_ref().map(|l| text(l, "msg-label")).unwrap_or_default() }
            </g>
        </g>
    }
}

/// A message in flight at the cursor (sent, not yet delivered or lost): a dot where its
/// arrow crosses the cursor line, so it moves toward the receiver as the run plays. Keyed
/// by the message, so the dot glides from step to step (a CSS transition, off when the
/// user prefers reduced motion).
fn packet(a: &Arrow, cursor: Option<EventId>, cursor_y: f64) -> Option<Html> {
    let c = cursor?;
    if a.send > c || a.key <= c || a.end == ArrowEnd::InFlight || a.y2 <= a.y1 {
        return None;
    }
    let f = ((cursor_y - a.y1) / (a.y2 - a.y1)).clamp(0.0, 1.0);
    let (x, y) = (a.x1 + f * (a.x2 - a.x1), a.y1 + f * (a.y2 - a.y1));
    Some(html! {
        <circle key={a.key} class="packet" data-send={a.send.to_string()} r="4.5"
            cx={fmt(x)} cy={fmt(y)} />
    })
}

/// A glyph per kind: colour is never the only cue (commit ●✓, abort ■✕, crash ✕ octagon).
fn glyph(m: &Mark) -> Html {
    let (x, y) = (m.x, m.y);
    match m.kind {
        MarkKind::Persist => html! {
            <g class="g-persist">
                <rect x={fmt(x - 6.0)} y={fmt(y - 5.0)} width="12" height="10" rx="1.5" />
                <line x1={fmt(x - 3.5)} y1={fmt(y - 1.5)} x2={fmt(x + 3.5)} y2={fmt(y - 1.5)} />
                <line x1={fmt(x - 3.5)} y1={fmt(y + 1.5)} x2={fmt(x + 3.5)} y2={fmt(y + 1.5)} />
            </g>
        },
        MarkKind::Decide(Outcome::Commit) => html! {
            <g class="g-decide g-commit">
                <circle cx={fmt(x)} cy={fmt(y)} r="8" />
                <path d={format!("M{} {} l3 3 l5 -6", fmt(x - 4.0), fmt(y))} />
            </g>
        },
        MarkKind::Decide(Outcome::Abort) => html! {
            <g class="g-decide g-abort">
                <rect x={fmt(x - 7.5)} y={fmt(y - 7.5)} width="15" height="15" rx="2" />
                <path d={format!("M{} {} l7 7 M{} {} l-7 7", fmt(x - 3.5), fmt(y - 3.5), fmt(x + 3.5), fmt(y - 3.5))} />
            </g>
        },
        MarkKind::Decide(Outcome::Other) => html! {
            <g class="g-decide g-other">
                <path d={format!("M{} {} l8 8 l-8 8 l-8 -8 z", fmt(x), fmt(y - 8.0))} />
            </g>
        },
        MarkKind::Crash => html! {
            <g class="g-crash">
                <path d={format!("M{} {} l6 0 l4 4 l0 6 l-4 4 l-6 0 l-4 -4 l0 -6 z", fmt(x - 3.0), fmt(y - 7.0))} />
                <path class="x" d={format!("M{} {} l6 6 M{} {} l-6 6", fmt(x - 3.0), fmt(y - 3.0), fmt(x + 3.0), fmt(y - 3.0))} />
            </g>
        },
        MarkKind::Recover => html! {
            <g class="g-recover">
                <path d={format!("M{} {} l7 12 l-14 0 z", fmt(x), fmt(y - 7.0))} />
            </g>
        },
        MarkKind::TimerFire => html! {
            <g class="g-timer">
                <circle cx={fmt(x)} cy={fmt(y)} r="6" />
                <path d={format!("M{} {} l0 -4 M{} {} l3 2", fmt(x), fmt(y), fmt(x), fmt(y))} />
            </g>
        },
        MarkKind::TimerSet => {
            html! { <circle class="g-timer-set" cx={fmt(x)} cy={fmt(y)} r="2" /> }
        }
        MarkKind::Request | MarkKind::RequestLost => html! {
            <g class={if m.kind == MarkKind::Request { "g-request" } else { "g-request g-request-lost" }}>
                <path d={format!("M{} {} l-9 -5 l0 10 z", fmt(x - 3.0), fmt(y))} />
            </g>
        },
        MarkKind::Network => html! {
            <line class="g-network" x1={fmt(GUTTER)} y1={fmt(y)} x2="100%" y2={fmt(y)} />
        },
        MarkKind::Phase(_)
        | MarkKind::Send
        | MarkKind::Deliver
        | MarkKind::Drop
        | MarkKind::Other => {
            html! {}
        }
    }
}

fn mark_class(kind: MarkKind) -> &'static str {
    match kind {
        MarkKind::Persist => "mark mark-persist",
        MarkKind::Decide(_) => "mark mark-decide",
        MarkKind::Crash => "mark mark-crash",
        MarkKind::Recover => "mark mark-recover",
        MarkKind::TimerFire => "mark mark-timer",
        MarkKind::TimerSet => "mark mark-timer-set",
        MarkKind::Request | MarkKind::RequestLost => "mark mark-request",
        MarkKind::Network => "mark mark-network",
        MarkKind::Phase(c) => match c {
            layout::PhaseClass::InDoubt => "mark mark-phase phase-doubt",
            layout::PhaseClass::Commit => "mark mark-phase phase-commit",
            layout::PhaseClass::Abort => "mark mark-phase phase-abort",
            layout::PhaseClass::Active => "mark mark-phase phase-active",
            layout::PhaseClass::Idle => "mark mark-phase phase-idle",
        },
        MarkKind::Send => "mark mark-send",
        MarkKind::Deliver => "mark mark-deliver",
        MarkKind::Drop => "mark mark-drop",
        MarkKind::Other => "mark",
    }
}

/// Scrolls the other diagrams of `group` to `el`'s height (setting an equal value fires no
/// further scroll event, so the group settles at once).
fn sync_scroll(el: &Element, group: &str) {
    let Some(doc) = el.owner_document() else { return };
    let Ok(list) = doc.query_selector_all(&format!(".diagram-scroll[data-sync='{group}']")) else {
        return;
    };
    for i in 0..list.length() {
        if let Some(other) = list.item(i).and_then(|n| n.dyn_into::<Element>().ok()) {
            if &other != el && other.scroll_top() != el.scroll_top() {
                other.set_scroll_top(el.scroll_top());
            }
        }
    }
}

/// One class per word of a node's role (`r-acceptor`, `r-resource`, `r-manager`): the
/// stylesheet can tell kinds of lanes apart (acceptors from resource managers) from what
/// the protocol says, without the diagram knowing any protocol.
fn role_classes(role: &str) -> Classes {
    role.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() > 1 && w.chars().all(|c| c.is_ascii_alphabetic()))
        .map(|w| format!("r-{}", w.to_ascii_lowercase()))
        .collect()
}

/// The laid-out shapes, compared by identity (they are memoised per run and viewport).
#[derive(Clone)]
struct Shapes(Rc<layout::Diagram>);

impl PartialEq for Shapes {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// The event id in the `attr` attribute of the shape an event happened on (or of the
/// nearest shape around it that has one).
fn target_id(e: &Event, attr: &str) -> Option<EventId> {
    let el = e.target()?.dyn_into::<Element>().ok()?;
    let shape = el.closest(&format!("[{attr}]")).ok()??;
    shape.get_attribute(attr)?.parse().ok()
}

#[derive(Properties, PartialEq)]
struct BodyProps {
    data: Rc<RunData>,
    shapes: Shapes,
    selected: Selection,
    trail: Rc<Vec<EventId>>,
    on_action: Callback<Action>,
}

/// Everything drawn that does not depend on the cursor: lanes, bands, ticks, arrows and
/// marks of the rows in view. A component of its own so that a step (which moves only the
/// cursor) re-renders none of it: Yew skips it while its props are equal.
#[function_component]
fn DiagramBody(props: &BodyProps) -> Html {
    let data = &props.data;
    let d = &props.shapes.0;
    let selected_node = match props.selected {
        Selection::Node(n) => Some(n),
        _ => None,
    };
    let selected_msg = match props.selected {
        Selection::Message(m) => Some(m),
        _ => None,
    };
    // One listener per group, not per shape: the shape's `data-*` says which it was.
    let on_arrow_click = {
        let cb = props.on_action.clone();
        Callback::from(move |e: MouseEvent| {
            if let Some(id) = target_id(&e, "data-send") {
                cb.emit(Action::Select(Selection::Message(id)));
            }
        })
    };
    let on_arrow_key = {
        let cb = props.on_action.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" || e.key() == " " {
                if let Some(id) = target_id(&e, "data-send") {
                    e.prevent_default();
                    e.stop_propagation();
                    cb.emit(Action::Select(Selection::Message(id)));
                }
            }
        })
    };
    let on_mark_click = {
        let cb = props.on_action.clone();
        Callback::from(move |e: MouseEvent| {
            if let Some(id) = target_id(&e, "data-event") {
                cb.emit(Action::Seek(Some(id)));
            }
        })
    };
    html! {
        <g class="body">
                <g class="lanes">
                    { for d.lanes.iter().map(|l| {
                        let role = data.run.nodes().get(l.node as usize).map_or("", |s| s.role.as_str());
                        let selected = selected_node.is_some_and(|n| n >= l.node && n < l.node + l.nodes);
                        html! {
                            <line key={l.node} class={classes!("lane", role_classes(role), selected.then_some("lane-selected"), (l.nodes > 1).then_some("lane-fold"))}
                                x1={fmt(l.x)} y1="0" x2={fmt(l.x)} y2={fmt(d.height)} />
                        }
                    }) }
                </g>
                <g class="bands">
                    { for d.bands.iter().map(|b| band(b, selected_node == Some(b.node))) }
                </g>
                if !d.spans.is_empty() {
                    <g class="spans">
                        { for d.spans.iter().map(|s| {
                            let name = data.run.nodes().get(s.node as usize).map_or("", |n| n.name.as_str());
                            lane_span(s, name)
                        }) }
                    </g>
                }
                <g class="ticks">
                    { for d.ticks.iter().map(|t| html! {
                        <text key={t.id} class="tick" x={fmt(GUTTER - 6.0)} y={fmt(t.y + 4.0)} text-anchor="end">
                            { format!("t={}", t.time) }
                        </text>
                    }) }
                </g>
                <g class="arrows" onclick={on_arrow_click} onkeydown={on_arrow_key}>
                    { for d.arrows.iter().map(|a| {
                        let on_trail = props.trail.binary_search(&a.key).is_ok();
                        arrow(a, data, selected_msg == Some(a.send), on_trail)
                    }) }
                </g>
                <g class="marks" onclick={on_mark_click}>
                    { for d.marks.iter().map(|m| {
                        let label_class = match m.kind {
                            MarkKind::Decide(Outcome::Commit) => "mark-label decide-commit",
                            MarkKind::Decide(Outcome::Abort) => "mark-label decide-abort",
                            MarkKind::Decide(_) => "mark-label decide-other",
                            MarkKind::Crash => "mark-label crash-label",
                            MarkKind::Drop => "mark-label drop-label",
                            MarkKind::Network => "mark-label network-label",
                            MarkKind::Phase(_) => "mark-label phase-label",
                            MarkKind::Persist => "mark-label persist-label",
                            _ => "mark-label",
                        };
                        let on_trail = props.trail.binary_search(&m.id).is_ok();
                        html! {
                            <g key={m.id} class={classes!(mark_class(m.kind), on_trail.then_some("trail"), m.flagged.then_some("mark-flagged"))} data-event={m.id.to_string()}>
                                if m.flagged {
                                    <circle class="flag-ring" cx={fmt(m.x)} cy={fmt(m.y)} r="12" />
                                }
                                { glyph(m) }
                                { m.label.as_ref().map(|l| text(l, label_class)).unwrap_or_default() }
                            </g>
                        }
                    }) }
                </g>
        </g>
    }
}

/// The diagram's scroll window as the renders know it, and what the last render followed.
struct Follow {
    top: f64,
    height: f64,
    width: f64,
    /// The run, cursor and clock of the last render (`None` before the first).
    followed: Option<(usize, Option<EventId>, Option<Option<Time>>)>,
    /// The cursor line's y while the window keeps it in view (from the first move on, or
    /// from the start for a linked moment).
    line: Option<f64>,
    /// A scroll position decided by the render, for the effect to apply.
    pending: Option<f64>,
}

impl Follow {
    /// Before anything is measured: an embed's given height, else a guess.
    fn new(height: Option<u32>) -> Self {
        let height = height.map_or(640.0, f64::from);
        Follow { top: 0.0, height, width: 720.0, followed: None, line: None, pending: None }
    }

    fn viewport(&self) -> Viewport {
        Viewport { width: self.width, top: self.top, height: self.height }
    }

    /// The rows to draw. When the cursor (or the clock, or the run) has moved since the last
    /// render, the window keeps its line in view. Not on the first render of the default
    /// moment (the end), which shows the top.
    fn follow(
        &mut self,
        data: &Rc<RunData>,
        cursor: Option<EventId>,
        clock: Option<Option<Time>>,
        y: f64,
        width: f64,
    ) -> Viewport {
        self.width = width;
        let now = (Rc::as_ptr(data) as usize, cursor, clock);
        if self.followed != Some(now) {
            let wanted = self.followed.is_some() || cursor != data.last();
            self.followed = Some(now);
            self.line = wanted.then_some(y);
            self.keep_line_in_view();
        }
        self.viewport()
    }

    /// When the line has left the window's margins, the window turns a page: the line goes
    /// 40% down. (Layout draws whole bands of rows, `Viewport::banded`, so a page turn
    /// redraws the rows that came into view, not the whole window.)
    fn keep_line_in_view(&mut self) {
        const ABOVE: f64 = 40.0;
        const BELOW: f64 = 60.0;
        let Some(y) = self.line else { return };
        let (top, h) = (self.top, self.height);
        if y < top + ABOVE || y > top + h - BELOW {
            let target = (y - h * 0.4).max(0.0).round();
            if target != top {
                self.top = target;
                self.pending = Some(target);
            }
        }
    }

    /// The window as measured: after a scroll (`top`), or with no `top` after a resize or a
    /// new run, when a changed height may put the line out of view. True if the render
    /// must redo: other rows to draw, or a scroll to apply.
    fn measured(&mut self, top: Option<f64>, height: f64) -> bool {
        let before = self.viewport().banded();
        let resized = (height - self.height).abs() >= 1.0;
        self.height = height;
        match top {
            Some(top) => self.top = top,
            None if resized => self.keep_line_in_view(),
            None => {}
        }
        self.viewport().banded() != before || self.pending.is_some()
    }
}

#[component]
pub fn Diagram(props: &DiagramProps) -> Html {
    let scroller = use_node_ref();
    let (width, window_height) = crate::hooks::use_element_size(scroller.clone(), (720.0, 0.0));
    let data = &props.data;

    // The scroll window's size, set through the CSSOM (a strict Content-Security-Policy
    // refuses `style` attributes): an embed's height, else a cap that keeps the diagram a
    // bounded scroll window even on a page without our stylesheet.
    use_effect_with((scroller.clone(), props.height), |(scroller, height)| {
        if let Some(el) = scroller.cast::<web_sys::HtmlElement>() {
            let style = el.style();
            let _ = style.set_property("overflow", "auto");
            match height {
                Some(h) => {
                    let _ = style.set_property("height", &format!("{h}px"));
                    let _ = style.set_property("min-height", "0");
                    let _ = style.set_property("max-height", "none");
                }
                None => {
                    let _ = style.set_property("max-height", "85vh");
                }
            }
        }
    });
    // The scroll window follows the cursor. Decided here, in the render, so that a step or
    // a far seek renders once, at the rows it will show, and reads no layout: the window's
    // height is measured only when the run or the window's size changes, or on a scroll.
    let follow = use_mut_ref(|| Follow::new(props.height));
    let rerender = use_force_update();
    let cursor_y = match props.clock {
        Some(clock) => data.rows.clock_y(clock),
        None => data.rows.cursor_y(data.events(), props.cursor),
    };
    let vp = follow.borrow_mut().follow(data, props.cursor, props.clock, cursor_y, width);
    {
        // A scroll the render decided on is applied once the DOM has the rows.
        let follow = follow.clone();
        let scroller = scroller.clone();
        let rerender = rerender.clone();
        use_effect(move || {
            let pending = follow.borrow_mut().pending.take();
            if let (Some(top), Some(el)) = (pending, scroller.cast::<Element>()) {
                el.set_scroll_top(top as i32);
                // Past the end of the rows the browser stops short, and may say nothing.
                let at = f64::from(el.scroll_top());
                let height = follow.borrow().height;
                if (at - top).abs() >= 1.0 && follow.borrow_mut().measured(Some(at), height) {
                    rerender.force_update();
                }
            }
        });
    }
    {
        let follow = follow.clone();
        let scroller = scroller.clone();
        let rerender = rerender.clone();
        let run = Rc::as_ptr(data) as usize;
        let size = (width as i64, window_height as i64);
        use_effect_with((run, size, props.height), move |_| {
            if let Some(el) = scroller.cast::<Element>() {
                let height = f64::from(el.client_height()).max(1.0);
                if follow.borrow_mut().measured(None, height) {
                    rerender.force_update();
                }
            }
        });
    }
    let onscroll = {
        let scroller = scroller.clone();
        let group = props.sync_scroll.clone();
        Callback::from(move |_: Event| {
            if let Some(el) = scroller.cast::<Element>() {
                let (top, height) =
                    (f64::from(el.scroll_top()), f64::from(el.client_height()).max(1.0));
                if follow.borrow_mut().measured(Some(top), height) {
                    rerender.force_update();
                }
                if let Some(g) = &group {
                    sync_scroll(&el, g);
                }
            }
        })
    };

    let n_nodes = data.run.nodes().len();
    // Lanes grouped by role (clients, coordinator, shards), a folded group on one lane.
    let groups =
        use_memo(data.clone(), |d| layout::groups(d.run.nodes().iter().map(|n| n.role.as_str())));
    let grouped = props.foldable && layout::is_grouped(&groups);
    let cols = use_memo((groups.clone(), grouped, props.folded.clone()), |(g, grouped, folded)| {
        if *grouped {
            Columns::folding(g, folded)
        } else {
            Columns::one_each(g.iter().map(|g| g.len as usize).sum())
        }
    });
    let shapes = use_memo((data.clone(), vp.banded(), cols.clone()), |(data, vp, cols)| {
        let extras = Extras { spans: &data.run.summary().spans, marked: &data.marked };
        layout::layout_with(data.events(), &data.rows, cols, extras, None, *vp)
    });
    let d = &*shapes;
    let selected_node = match props.selected {
        Selection::Node(n) => Some(n),
        _ => None,
    };
    // Once a violation has happened, the chain of events that led to it stands out.
    let trail = use_memo((data.clone(), props.cursor), |(d, c)| d.trail_at(*c));
    let cursor_row = props.cursor.and_then(|c| data.rows.y.get(c as usize).copied());
    let time = match props.clock {
        Some(clock) => clock.unwrap_or(0),
        None => data.time_at(props.cursor),
    };
    let cursor_tag = format!("▶ t={time}");
    let cursor_label = match props.cursor {
        Some(c) => format!("#{c}"),
        None => "start".into(),
    };

    let heads = if grouped { layout::group_heads(&groups, &cols, d.lane) } else { Vec::new() };
    let nodes = data.run.nodes();
    // Grouped, a lane shows its role only when its group is of one (the header names the
    // others' role).
    let roles: Vec<Vec<String>> = d
        .lanes
        .iter()
        .map(|l| {
            let spec = nodes.get(l.node as usize);
            let alone = !grouped || groups.iter().any(|g| g.first == l.node && g.len == 1);
            match spec {
                Some(s) if alone => layout::role_lines(&s.role, d.lane),
                _ => Vec::new(),
            }
        })
        .collect();
    let top = if grouped { GROUP_HEAD } else { 0.0 };
    let lines = roles.iter().map(Vec::len).max().unwrap_or(0);
    let head_h = match (grouped, lines) {
        (true, 0) => top + 22.0,
        (_, 0 | 1) => top + 34.0,
        _ => top + 46.0,
    };
    let lane_title = |l: &layout::Lane| -> String {
        let name = |n: u32| nodes.get(n as usize).map_or("", |s| s.name.as_str());
        if l.nodes > 1 {
            format!("{}–{}", name(l.node), name(l.node + l.nodes - 1))
        } else {
            name(l.node).to_string()
        }
    };
    let group_heads = heads.iter().filter(|h| h.len > 1).map(|h| {
        let role = h.role.clone();
        let cb = props.on_action.clone();
        let onclick = Callback::from(move |_: MouseEvent| cb.emit(Action::ToggleFold(role.clone())));
        let role = h.role.clone();
        let cb = props.on_action.clone();
        let onkeydown = Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" || e.key() == " " {
                e.prevent_default();
                e.stop_propagation();
                cb.emit(Action::ToggleFold(role.clone()));
            }
        });
        let aria = if h.folded {
            format!("{} lanes ({}), folded into one: unfold", h.role, h.len)
        } else {
            format!("{} lanes ({}): fold into one", h.role, h.len)
        };
        let mid = (h.x0 + h.x1) / 2.0;
        html! {
            <g key={h.role.clone()} class={classes!("group-head", h.folded.then_some("group-folded"))}
                role="button" tabindex="0" aria-label={aria.clone()} aria-expanded={(!h.folded).to_string()}
                data-role={h.role.clone()} {onclick} {onkeydown}>
                <title>{ aria }</title>
                <rect class="group-hit" x={fmt(h.x0 + 2.0)} y="1" width={fmt((h.x1 - h.x0 - 4.0).max(1.0))} height={fmt(GROUP_HEAD - 2.0)} rx="4" />
                <text class="group-name" x={fmt(mid)} y="12" text-anchor="middle">{ h.text.clone() }</text>
            </g>
        }
    });
    let header = html! {
        <div class="lane-head">
            <svg width={fmt(d.width)} height={fmt(head_h)} aria-hidden={(!grouped).then_some("true")}
                role={grouped.then_some("group")} aria-label={grouped.then_some("lane groups")}>
                { for group_heads }
                { for d.lanes.iter().zip(&roles).map(|(l, role)| {
                    let spec = nodes.get(l.node as usize);
                    let node = l.node;
                    let folded_role = (l.nodes > 1).then(|| spec.map(|s| s.role.clone()).unwrap_or_default());
                    let cb = props.on_action.clone();
                    // A folded lane's name unfolds it; a node's selects the node.
                    let onclick = Callback::from(move |_: MouseEvent| match &folded_role {
                        Some(r) => cb.emit(Action::ToggleFold(r.clone())),
                        None => cb.emit(Action::Select(Selection::Node(node))),
                    });
                    let selected = selected_node.is_some_and(|n| n >= l.node && n < l.node + l.nodes);
                    let class = classes!("lane-name", role_classes(spec.map_or("", |s| s.role.as_str())), selected.then_some("selected"), (l.nodes > 1).then_some("lane-name-fold"));
                    let title = lane_title(l);
                    let tip = match spec {
                        Some(s) if l.nodes > 1 => format!("{title}: {} {} lanes folded into one (click to unfold)", l.nodes, s.role),
                        Some(s) => format!("{} ({})", s.name, s.role),
                        None => String::new(),
                    };
                    html! {
                        <g key={l.node} class={class} {onclick} aria-hidden={grouped.then_some("true")}>
                            <text x={fmt(l.x)} y={fmt(top + 15.0)} text-anchor="middle" class="lane-title">
                                { title }
                            </text>
                            { for role.iter().enumerate().map(|(i, line)| html! {
                                <text x={fmt(l.x)} y={fmt(top + 28.0 + 12.0 * i as f64)} text-anchor="middle" class="lane-role">{ line.clone() }</text>
                            }) }
                            <title>{ tip }</title>
                        </g>
                    }
                }) }
            </svg>
        </div>
    };
    // Where one group of lanes ends and the next begins.
    let seps: Vec<f64> = heads.iter().skip(1).map(|h| h.x0).collect();

    html! {
        <div class="diagram-scroll" ref={scroller} {onscroll} tabindex="-1"
            data-sync={props.sync_scroll.clone()}>
            { header }
            <svg class="diagram" width={fmt(d.width)} height={fmt(d.height)}
                role="group" aria-roledescription="space-time diagram" aria-describedby={props.described_by.clone()}
                aria-label={format!("Space-time diagram: {} nodes, {} events; cursor at {} (t={}). Each message is a button; the event log describes the run.", n_nodes, data.events().len(), cursor_label, time)}>
                <defs>
                    <marker id="cs-head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="10" markerHeight="10" markerUnits="userSpaceOnUse" orient="auto-start-reverse">
                        <path d="M0 0 L10 5 L0 10 z" class="head" />
                    </marker>
                    <marker id="cs-head-trail" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="12" markerHeight="12" markerUnits="userSpaceOnUse" orient="auto-start-reverse">
                        <path d="M0 0 L10 5 L0 10 z" class="head" />
                    </marker>
                    // The sender's end of every arrow (a marker: one element fewer per arrow).
                    <marker id="cs-tail" viewBox="0 0 6 6" refX="3" refY="3" markerWidth="5" markerHeight="5" markerUnits="userSpaceOnUse">
                        <circle cx="3" cy="3" r="3" class="tail" />
                    </marker>
                    <marker id="cs-tail-lost" viewBox="0 0 6 6" refX="3" refY="3" markerWidth="5" markerHeight="5" markerUnits="userSpaceOnUse">
                        <circle cx="3" cy="3" r="3" class="tail tail-lost" />
                    </marker>
                    <pattern id="cs-hatch-doubt" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
                        <rect width="6" height="6" class="hatch-doubt-bg" />
                        <line x1="0" y1="0" x2="0" y2="6" class="hatch-doubt" />
                    </pattern>
                    <pattern id="cs-hatch-down" width="5" height="5" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)">
                        <rect width="5" height="5" class="hatch-down-bg" />
                        <line x1="0" y1="0" x2="0" y2="5" class="hatch-down" />
                    </pattern>
                </defs>
                { cursor_row.map(|y| html! {
                    <rect class="row-now" x="0" y={fmt(y - layout::ROW / 2.0)} width="100%" height={fmt(layout::ROW)} />
                }).unwrap_or_default() }
                { for seps.iter().map(|x| html! {
                    <line key={fmt(*x)} class="group-sep" x1={fmt(*x)} y1="0" x2={fmt(*x)} y2={fmt(d.height)} />
                }) }
                <DiagramBody data={data.clone()} shapes={Shapes(shapes.clone())} selected={props.selected}
                    trail={trail.clone()} on_action={props.on_action.clone()} />
                <g class="packets" aria-hidden="true">
                    { for d.arrows.iter().filter_map(|a| packet(a, props.cursor, cursor_y)) }
                </g>
                <rect class="future" x="0" y={fmt(cursor_y)} width="100%" height={fmt((d.height - cursor_y).max(0.0))} />
                <g class="cursor">
                    <line x1="0" y1={fmt(cursor_y)} x2="100%" y2={fmt(cursor_y)} />
                    // The label stands on its own ground: it covers the tick of its row.
                    <rect class="cursor-tag" x="0" y={fmt(cursor_y - 13.0)} height="12"
                        width={fmt(cursor_tag.chars().count() as f64 * 6.2 + 6.0)} />
                    <text x="3" y={fmt(cursor_y - 3.0)}>{ cursor_tag }</text>
                </g>
            </svg>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::Follow;

    /// The window before its first render and first measure, with the line at `y`.
    fn linked_at(y: f64, guess: Option<u32>) -> Follow {
        let mut f = Follow::new(guess);
        f.followed = Some((1, Some(3), None));
        f.line = Some(y);
        f.keep_line_in_view();
        f
    }

    #[test]
    fn a_line_in_view_of_the_guess_but_not_of_the_measured_window_is_brought_into_view() {
        // 500 is inside a 640 px guess, but not inside the 380 px window measured next.
        let mut f = linked_at(500.0, None);
        assert_eq!((f.top, f.pending), (0.0, None));
        assert!(f.measured(None, 380.0), "the render must redo and apply the scroll");
        assert_eq!(f.pending, Some((500.0_f64 - 380.0 * 0.4).round()));
        // A scroll by the user moves the window and keeps it there.
        f.pending = None;
        assert!(!f.measured(Some(f.top + 10.0), 380.0), "same band: nothing to redraw");
        assert_eq!(f.pending, None);
    }

    #[test]
    fn an_embed_starts_from_its_given_height() {
        let f = linked_at(150.0, Some(160));
        assert_eq!(f.height, 160.0);
        assert!(f.top > 0.0, "line at 150 is below a 160 px window's margin");
    }
}
