//! Exports, as strings (pure; the components turn them into downloads):
//!
//! - `svg`: the whole diagram as a standalone SVG drawn from `layout` (not scraped from the
//!   DOM, which only holds the visible window). Styles are presentation attributes on every
//!   element, so it opens the same in a browser, an editor or a viewer without CSS; every
//!   user-supplied string is XML-escaped.
//! - `scenario_json`: the scenario, as `Scenario::to_json` writes it (imports back).
//! - `trace_json`: the format below: the scenario, the trace hash (16 hex digits, as the
//!   CLI prints it), the nodes, every event (`EventInfo`) and the verdicts. Importing it runs
//!   the scenario again and checks the hash.
//!
//! ```text
//! {"format": "commitscope-trace", "version": 1, "protocol": "two_pc",
//!  "trace_hash": "9d0c…", "scenario": {…}, "nodes": [{"name": "coord", "role": …}, …],
//!  "properties": [{"id": "agreement", "first": null, …}, …],
//!  "events": [{"id": 0, "time": 0, "kind": "request", …}, …]}
//! ```

use crate::layout::{
    self, Arrow, ArrowEnd, Band, BandKind, Columns, Extras, Label, LaneSpan, Mark, MarkKind,
    Outcome, PhaseClass, Rows, SpanKind, Viewport, GUTTER,
};
use commitscope_engine::erased::AnyRun;
use std::fmt::Write;

pub const TRACE_FORMAT: &str = "commitscope-trace";
pub const TRACE_VERSION: u64 = 1;

/// The width the SVG is laid out for (lanes widen to fit many nodes).
const WIDTH: f64 = 760.0;
/// Room above the diagram for the title, the facts line and the lane names.
const HEAD: f64 = 84.0;
/// Room below it for the legend.
const FOOT: f64 = 56.0;

// The app's palette (web/style.css), spelled out: no CSS variables in a standalone file.
const INK: &str = "#1c2130";
const INK_2: &str = "#475066";
const MUTED: &str = "#6b7385";
const MSG: &str = "#334155";
const COMMIT: &str = "#15803d";
const ABORT: &str = "#c2261d";
const DOUBT: &str = "#b45309";
const ACTIVE: &str = "#1d4ed8";
const OTHER: &str = "#7c3aed";
const FONT: &str = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif";
const MONO: &str = "ui-monospace, SFMono-Regular, Menlo, Consolas, Liberation Mono, monospace";

/// The trace hash as the CLI and the golden file print it.
pub fn hash_hex(run: &dyn AnyRun) -> String {
    format!("{:016x}", run.trace_hash())
}

/// A file name stem: `commitscope-two_pc-lost_commit` or `commitscope-two_pc-seed7`.
pub fn file_stem(run: &dyn AnyRun, preset: Option<&str>) -> String {
    let tail = match preset.and_then(|p| p.rsplit('/').next()) {
        Some(name) => name.to_string(),
        None => format!("seed{}", run.scenario().seed),
    };
    let raw = format!("commitscope-{}-{tail}", run.protocol());
    raw.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect()
}

pub fn scenario_json(run: &dyn AnyRun) -> String {
    run.scenario().to_json()
}

/// The trace as JSON: one event a line, so that a diff of two traces reads well.
pub fn trace_json(run: &dyn AnyRun) -> String {
    let mut out = String::new();
    out.push_str("{\n");
    let _ = writeln!(out, "  \"format\": {},", j(&TRACE_FORMAT));
    let _ = writeln!(out, "  \"version\": {TRACE_VERSION},");
    let _ = writeln!(out, "  \"protocol\": {},", j(&run.protocol()));
    let _ = writeln!(out, "  \"trace_hash\": {},", j(&hash_hex(run)));
    let _ = writeln!(out, "  \"scenario\": {},", j(run.scenario()));
    let _ = writeln!(out, "  \"nodes\": {},", j(&run.nodes()));
    let _ = writeln!(out, "  \"properties\": {},", j(&run.properties()));
    out.push_str("  \"events\": [");
    for (i, e) in run.events().iter().enumerate() {
        out.push_str(if i == 0 { "\n    " } else { ",\n    " });
        out.push_str(&j(e));
    }
    out.push_str(if run.events().is_empty() { "]\n}\n" } else { "\n  ]\n}\n" });
    out
}

fn j<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// Escapes text for XML content and attribute values.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 forbids (controls other than tab and newlines).
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            '\u{FFFE}' | '\u{FFFF}' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Whole pixels, as the app draws them.
fn px(v: f64) -> i64 {
    v.round() as i64
}

/// The title of an export: the scenario's title, else the preset id, else the protocol.
pub fn title(run: &dyn AnyRun, preset: Option<&str>) -> String {
    run.scenario()
        .title
        .clone()
        .or_else(|| preset.map(str::to_string))
        .unwrap_or_else(|| format!("{} scenario", run.protocol()))
}

/// The whole run as a standalone SVG document.
pub fn svg(run: &dyn AnyRun, rows: &Rows, preset: Option<&str>) -> String {
    let events = run.events();
    let nodes = run.nodes();
    let view = Viewport { width: WIDTH, top: 0.0, height: rows.height + 1_000.0 };
    let summary = run.summary();
    let mut marked = summary.marks.clone();
    marked.sort_unstable();
    let extras = Extras { spans: &summary.spans, marked: &marked };
    let d = layout::layout_with(events, rows, &Columns::one_each(nodes.len()), extras, None, view);
    let (w, h) = (d.width, HEAD + d.height + FOOT);
    let title = title(run, preset);
    let facts = format!(
        "{} · seed {} · {} nodes · {} events · t=0…{} · trace {}",
        run.protocol(),
        run.scenario().seed,
        nodes.len(),
        events.len(),
        rows.end_time,
        hash_hex(run)
    );
    let mut s = String::with_capacity(events.len() * 400 + 4_000);
    let _ = write!(
        s,
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="{FONT}" font-size="11">
<title>{t}</title>
<desc>CommitScope space-time diagram. {f}. Time flows downwards; one lane per node.</desc>
<defs>
<marker id="cs-head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="{MSG}"/></marker>
<pattern id="cs-hatch-doubt" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fde68a"/><line x1="0" y1="0" x2="0" y2="6" stroke="{DOUBT}" stroke-width="2"/></pattern>
<pattern id="cs-hatch-down" width="5" height="5" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)"><rect width="5" height="5" fill="#f1f2f4"/><line x1="0" y1="0" x2="0" y2="5" stroke="#9ca3af" stroke-width="1.6"/></pattern>
</defs>
<rect class="background" x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>
<text class="title" x="12" y="24" font-size="16" font-weight="700" fill="{INK}">{t}</text>
<text class="facts" x="12" y="42" font-size="11" fill="{MUTED}">{f}</text>
"##,
        w = px(w),
        h = px(h),
        t = xml_escape(&title),
        f = xml_escape(&facts),
    );
    // Lane names and roles.
    s.push_str("<g class=\"lane-heads\" text-anchor=\"middle\">\n");
    for l in &d.lanes {
        let spec = nodes.get(l.node as usize);
        let name = spec.map_or("", |n| n.name.as_str());
        let role = spec.map_or("", |n| n.role.as_str());
        let _ = writeln!(
            s,
            r#"<text class="lane-title" x="{x}" y="66" font-size="13" font-weight="600" fill="{INK}">{n}</text><text class="lane-role" x="{x}" y="79" font-size="10.5" fill="{MUTED}">{r}</text>"#,
            x = px(l.x),
            n = xml_escape(name),
            r = xml_escape(role),
        );
    }
    s.push_str("</g>\n");
    let _ = writeln!(s, r#"<g class="diagram" transform="translate(0,{})">"#, px(HEAD));
    s.push_str("<g class=\"lanes\">\n");
    for l in &d.lanes {
        let _ = writeln!(
            s,
            r##"<line class="lane" x1="{x}" y1="0" x2="{x}" y2="{y}" stroke="#c3c8d4" stroke-width="1.2"/>"##,
            x = px(l.x),
            y = px(d.height),
        );
    }
    s.push_str("</g>\n<g class=\"bands\">\n");
    for b in &d.bands {
        band(&mut s, b);
    }
    s.push_str("</g>\n");
    if !d.spans.is_empty() {
        s.push_str("<g class=\"spans\">\n");
        for sp in &d.spans {
            lane_span(&mut s, sp);
        }
        s.push_str("</g>\n");
    }
    s.push_str("<g class=\"ticks\" text-anchor=\"end\">\n");
    for t in &d.ticks {
        let _ = writeln!(
            s,
            r#"<text class="tick" x="{x}" y="{y}" font-family="{MONO}" font-size="10" fill="{MUTED}">t={time}</text>"#,
            x = px(GUTTER - 6.0),
            y = px(t.y + 4.0),
            time = t.time,
        );
    }
    s.push_str("</g>\n<g class=\"arrows\">\n");
    for a in &d.arrows {
        arrow(&mut s, a);
    }
    s.push_str("</g>\n<g class=\"marks\">\n");
    for m in &d.marks {
        mark(&mut s, m, d.width);
    }
    s.push_str("</g>\n</g>\n");
    legend(&mut s, HEAD + d.height + 14.0);
    s.push_str("</svg>\n");
    s
}

fn label(s: &mut String, l: &Label, class: &str, attrs: &str) {
    let anchor = if l.leftwards { "end" } else { "start" };
    let _ = writeln!(
        s,
        r#"<text class="{class}" x="{x}" y="{y}" text-anchor="{anchor}" {attrs}>{t}</text>"#,
        x = px(l.x),
        y = px(l.y),
        t = xml_escape(&l.text),
    );
}

fn band(s: &mut String, b: &Band) {
    let (class, w, paint) = match b.kind {
        BandKind::Down => (
            "band-down",
            16.0,
            r##"fill="url(#cs-hatch-down)" stroke="#6b7280" stroke-dasharray="3 2""##,
        ),
        BandKind::Phase(PhaseClass::InDoubt) => (
            "band-doubt",
            12.0,
            r##"fill="url(#cs-hatch-doubt)" stroke="#b45309" stroke-width="1.5""##,
        ),
        BandKind::Phase(PhaseClass::Idle) => {
            ("band-idle", 12.0, r##"fill="#e7e9ef" stroke="#cfd3dc""##)
        }
        BandKind::Phase(PhaseClass::Active) => {
            ("band-active", 12.0, r##"fill="#dbeafe" stroke="#93b4f5""##)
        }
        BandKind::Phase(PhaseClass::Commit) => {
            ("band-commit", 12.0, r##"fill="#dcfce7" stroke="#6fcf8f""##)
        }
        BandKind::Phase(PhaseClass::Abort) => {
            ("band-abort", 12.0, r##"fill="#fee2e2" stroke="#f19999""##)
        }
    };
    let what = if b.kind == BandKind::Down { "the node is down" } else { "phase" };
    let _ = writeln!(
        s,
        r#"<rect class="band {class}" x="{x}" y="{y}" width="{w}" height="{h}" rx="3" {paint}><title>{t}: {what}</title></rect>"#,
        x = px(b.x - w / 2.0),
        y = px(b.y0),
        w = px(w),
        h = px((b.y1 - b.y0).max(1.0)),
        t = xml_escape(&b.label),
    );
}

/// A lane span as in the app: a lock bar right of the lane, an in-doubt strip left of it.
fn lane_span(s: &mut String, sp: &LaneSpan) {
    let (w, paint) = match sp.kind {
        SpanKind::Locks => (layout::LOCK_BAR, format!(r#"fill="{INK_2}""#)),
        SpanKind::InDoubt => {
            (layout::DOUBT_STRIP, format!(r#"fill="url(#cs-hatch-doubt)" stroke="{DOUBT}""#))
        }
    };
    let _ = writeln!(
        s,
        r#"<rect class="span {class}" x="{x}" y="{y}" width="{w}" height="{h}" rx="1.5" {paint}><title>{t}</title></rect>"#,
        class = sp.kind.css(),
        x = px(sp.x - w / 2.0),
        y = px(sp.y0),
        w = px(w),
        h = px((sp.y1 - sp.y0).max(2.0)),
        t = xml_escape(&sp.label),
    );
}

fn arrow(s: &mut String, a: &Arrow) {
    let (class, colour, dash) = match (&a.end, a.duplicate) {
        (ArrowEnd::Dropped(_), _) => ("arrow arrow-dropped", ABORT, r#" stroke-dasharray="4 3""#),
        (ArrowEnd::InFlight, _) => ("arrow arrow-inflight", MSG, r#" stroke-dasharray="2 3""#),
        (ArrowEnd::Delivered, true) => ("arrow arrow-dup", MSG, r#" stroke-dasharray="5 3""#),
        (ArrowEnd::Delivered, false) => ("arrow", MSG, ""),
    };
    let head = if a.end == ArrowEnd::Delivered { r#" marker-end="url(#cs-head)""# } else { "" };
    let _ = writeln!(s, r#"<g class="{class}">"#);
    let _ = writeln!(
        s,
        r#"<line class="shaft" x1="{}" y1="{}" x2="{}" y2="{}" stroke="{colour}" stroke-width="1.4"{dash}{head}/><circle class="tail" cx="{}" cy="{}" r="2.5" fill="{colour}"/>"#,
        px(a.x1),
        px(a.y1),
        px(a.x2),
        px(a.y2),
        px(a.x1),
        px(a.y1),
    );
    if let ArrowEnd::Dropped(reason) = &a.end {
        let (x, y) = (a.x2, a.y2);
        let _ = writeln!(
            s,
            r#"<path class="cross" d="M{} {} l10 10 M{} {} l-10 10" stroke="{ABORT}" stroke-width="2.6" stroke-linecap="round" fill="none"><title>lost: {}</title></path>"#,
            px(x - 5.0),
            px(y - 5.0),
            px(x + 5.0),
            px(y - 5.0),
            xml_escape(reason),
        );
    }
    if a.duplicate {
        let (mx, my) = ((a.x1 + a.x2) / 2.0, (a.y1 + a.y2) / 2.0);
        let _ = writeln!(
            s,
            r##"<g class="dup-badge"><rect x="{}" y="{}" width="26" height="13" rx="6" fill="#ffffff" stroke="{MSG}"/><text x="{}" y="{}" text-anchor="middle" font-size="9.5" font-weight="700" fill="{MSG}">×2</text></g>"##,
            px(mx - 13.0),
            px(my - 7.0),
            px(mx),
            px(my + 3.5),
        );
    }
    if let Some(l) = &a.label {
        label(s, l, "msg-label", &format!(r#"fill="{MSG}" font-weight="500""#));
    }
    s.push_str("</g>\n");
}

/// A glyph per kind, as in the app: colour is never the only cue.
fn mark(s: &mut String, m: &Mark, width: f64) {
    let (x, y) = (px(m.x), px(m.y));
    let (class, glyph, text_attrs): (&str, String, String) = match m.kind {
        MarkKind::Persist => (
            "mark mark-persist",
            format!(
                r##"<rect x="{}" y="{}" width="12" height="10" rx="1.5" fill="#ffffff" stroke="{INK}" stroke-width="1.4"/><path d="M{} {} h7 M{} {} h7" stroke="{INK}" stroke-width="1"/>"##,
                x - 6,
                y - 5,
                x - 3,
                y - 1,
                x - 3,
                y + 2
            ),
            format!(r#"fill="{INK}" font-family="{MONO}" font-size="10.5""#),
        ),
        MarkKind::Decide(Outcome::Commit) => (
            "mark mark-decide decide-commit",
            format!(
                r##"<circle cx="{x}" cy="{y}" r="8" fill="{COMMIT}"/><path d="M{} {y} l3 3 l5 -6" stroke="#ffffff" stroke-width="2" fill="none" stroke-linecap="round"/>"##,
                x - 4
            ),
            format!(r#"fill="{COMMIT}" font-weight="700""#),
        ),
        MarkKind::Decide(Outcome::Abort) => (
            "mark mark-decide decide-abort",
            format!(
                r##"<rect x="{}" y="{}" width="15" height="15" rx="2" fill="{ABORT}"/><path d="M{} {} l7 7 M{} {} l-7 7" stroke="#ffffff" stroke-width="2" stroke-linecap="round"/>"##,
                x - 7,
                y - 7,
                x - 3,
                y - 3,
                x + 4,
                y - 3
            ),
            format!(r#"fill="{ABORT}" font-weight="700""#),
        ),
        MarkKind::Decide(Outcome::Other) => (
            "mark mark-decide decide-other",
            format!(r#"<path d="M{x} {} l8 8 l-8 8 l-8 -8 z" fill="{OTHER}"/>"#, y - 8),
            format!(r#"fill="{OTHER}" font-weight="700""#),
        ),
        MarkKind::Crash => (
            "mark mark-crash",
            format!(
                r##"<path d="M{} {} l6 0 l4 4 l0 6 l-4 4 l-6 0 l-4 -4 l0 -6 z" fill="{ABORT}"/><path d="M{} {} l6 6 M{} {} l-6 6" stroke="#ffffff" stroke-width="1.8" fill="none" stroke-linecap="round"/>"##,
                x - 3,
                y - 7,
                x - 3,
                y - 3,
                x + 3,
                y - 3
            ),
            format!(r#"fill="{ABORT}" font-weight="700""#),
        ),
        MarkKind::Recover => (
            "mark mark-recover",
            format!(r#"<path d="M{x} {} l7 12 l-14 0 z" fill="{COMMIT}"/>"#, y - 7),
            format!(r#"fill="{INK_2}""#),
        ),
        MarkKind::TimerFire => (
            "mark mark-timer",
            format!(
                r##"<circle cx="{x}" cy="{y}" r="6" fill="#ffffff" stroke="{DOUBT}" stroke-width="1.6"/><path d="M{x} {y} l0 -4 M{x} {y} l3 2" stroke="{DOUBT}" stroke-width="1.4" stroke-linecap="round"/>"##
            ),
            format!(r#"fill="{INK_2}""#),
        ),
        MarkKind::TimerSet => (
            "mark mark-timer-set",
            format!(
                r##"<circle cx="{x}" cy="{y}" r="2" fill="#ffffff" stroke="#9aa1b1" stroke-width="1"/>"##
            ),
            String::new(),
        ),
        MarkKind::Request | MarkKind::RequestLost => (
            "mark mark-request",
            format!(
                r#"<path d="M{} {y} l-9 -5 l0 10 z" fill="{}"/>"#,
                x - 3,
                if m.kind == MarkKind::Request { "#5b3fd6" } else { ABORT }
            ),
            format!(r#"fill="{INK_2}""#),
        ),
        MarkKind::Network => (
            "mark mark-network",
            format!(
                r#"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="{OTHER}" stroke-width="1.6" stroke-dasharray="8 4"/>"#,
                px(GUTTER),
                px(width)
            ),
            r##"fill="#6d28d9" font-weight="600""##.to_string(),
        ),
        MarkKind::Drop => {
            ("mark mark-drop", String::new(), format!(r#"fill="{ABORT}" font-weight="600""#))
        }
        MarkKind::Phase(c) => {
            let (colour, extra) = match c {
                PhaseClass::InDoubt => (DOUBT, r#" font-weight="800""#),
                PhaseClass::Commit => (COMMIT, r#" font-style="italic""#),
                PhaseClass::Abort => (ABORT, r#" font-style="italic""#),
                PhaseClass::Active => (ACTIVE, r#" font-style="italic""#),
                PhaseClass::Idle => (MUTED, r#" font-style="italic""#),
            };
            (
                "mark mark-phase",
                String::new(),
                format!(r#"fill="{colour}" font-size="10.5"{extra}"#),
            )
        }
        MarkKind::Send | MarkKind::Deliver | MarkKind::Other => {
            ("mark", String::new(), format!(r#"fill="{INK_2}""#))
        }
    };
    if glyph.is_empty() && m.label.is_none() {
        return;
    }
    let ring = if m.flagged {
        format!(
            r#"<circle class="flag-ring" cx="{x}" cy="{y}" r="12" fill="none" stroke="{ABORT}" stroke-width="2.2" stroke-dasharray="3 2"/>"#
        )
    } else {
        String::new()
    };
    let _ = write!(s, r#"<g class="{class}" data-event="{}">{ring}{glyph}"#, m.id);
    if let Some(l) = &m.label {
        s.push('\n');
        label(s, l, "mark-label", &text_attrs);
    }
    s.push_str("</g>\n");
}

/// One line of glyphs and words at `y`: what each shape means.
fn legend(s: &mut String, y: f64) {
    let y = px(y);
    let _ = writeln!(s, r#"<g class="legend" font-size="11" fill="{INK_2}">"#);
    let items: [(&str, String); 7] = [
        (
            "message",
            format!(
                r#"<line x1="0" y1="0" x2="18" y2="0" stroke="{MSG}" stroke-width="1.4" marker-end="url(#cs-head)"/>"#
            ),
        ),
        (
            "lost",
            format!(
                r#"<path d="M4 -5 l10 10 M14 -5 l-10 10" stroke="{ABORT}" stroke-width="2.6" stroke-linecap="round"/>"#
            ),
        ),
        (
            "log write",
            format!(
                r##"<rect x="3" y="-5" width="12" height="10" rx="1.5" fill="#ffffff" stroke="{INK}" stroke-width="1.4"/>"##
            ),
        ),
        ("commit", format!(r#"<circle cx="9" cy="0" r="7" fill="{COMMIT}"/>"#)),
        ("abort", format!(r#"<rect x="2" y="-7" width="14" height="14" rx="2" fill="{ABORT}"/>"#)),
        (
            "in doubt",
            format!(
                r#"<rect x="3" y="-8" width="12" height="16" rx="3" fill="url(#cs-hatch-doubt)" stroke="{DOUBT}"/>"#
            ),
        ),
        (
            "down",
            r##"<rect x="1" y="-8" width="16" height="16" rx="3" fill="url(#cs-hatch-down)" stroke="#6b7280"/>"##
                .to_string(),
        ),
    ];
    for (i, (word, glyph)) in items.iter().enumerate() {
        let (x, row) = (12 + (i % 4) * 110, (i / 4) as i64);
        let _ = writeln!(
            s,
            r#"<g transform="translate({x},{})">{glyph}<text x="24" y="4">{word}</text></g>"#,
            y + row * 22
        );
    }
    s.push_str("</g>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use commitscope_protocols::presets;

    fn run(id: &str) -> (Box<dyn AnyRun>, Rows) {
        let p = presets::find(id).unwrap();
        let r = commitscope_protocols::run(&p.scenario()).unwrap();
        let rows = Rows::new(r.events());
        (r, rows)
    }

    /// A small XML well-formedness check: balanced tags, quoted attributes, known entities,
    /// no stray `<` or `&`. (The browser tests parse the same output with DOMParser.)
    pub(crate) fn well_formed(xml: &str) -> Result<usize, String> {
        let body = xml
            .strip_prefix(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
            .ok_or("no XML declaration")?;
        let mut stack: Vec<&str> = Vec::new();
        let mut elements = 0;
        let mut rest = body;
        while let Some(i) = rest.find(['<', '&']) {
            check_text(&rest[..i])?;
            rest = &rest[i..];
            if rest.starts_with('&') {
                let end = rest.find(';').ok_or("unterminated entity")?;
                check_entity(&rest[..=end])?;
                rest = &rest[end + 1..];
                continue;
            }
            let end = rest.find('>').ok_or("unterminated tag")?;
            let tag = &rest[1..end];
            rest = &rest[end + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                let open = stack.pop().ok_or(format!("</{name}> closes nothing"))?;
                if open != name.trim() {
                    return Err(format!("<{open}> closed by </{name}>"));
                }
                continue;
            }
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let name = tag.split_whitespace().next().ok_or("empty tag")?;
            check_attributes(&tag[name.len()..])?;
            elements += 1;
            if !self_closing {
                stack.push(name);
            }
        }
        check_text(rest)?;
        if let Some(open) = stack.pop() {
            return Err(format!("<{open}> is never closed"));
        }
        Ok(elements)
    }

    fn check_text(t: &str) -> Result<(), String> {
        if t.contains("]]>") {
            return Err("]]> in text".into());
        }
        Ok(())
    }

    fn check_entity(e: &str) -> Result<(), String> {
        match e {
            "&amp;" | "&lt;" | "&gt;" | "&quot;" | "&apos;" => Ok(()),
            _ => Err(format!("unknown entity {e}")),
        }
    }

    fn check_attributes(mut a: &str) -> Result<(), String> {
        loop {
            a = a.trim_start();
            if a.is_empty() {
                return Ok(());
            }
            let eq = a.find('=').ok_or(format!("attribute without a value: {a}"))?;
            let name = &a[..eq];
            if name.is_empty()
                || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-:_".contains(c))
            {
                return Err(format!("bad attribute name {name:?}"));
            }
            let v = &a[eq + 1..];
            let q = v.chars().next().ok_or("attribute without a value")?;
            if q != '"' && q != '\'' {
                return Err(format!("unquoted attribute {name}"));
            }
            let close = v[1..].find(q).ok_or(format!("unterminated attribute {name}"))?;
            let value = &v[1..=close];
            if value.contains('<') {
                return Err(format!("< in attribute {name}"));
            }
            let mut rest = value;
            while let Some(i) = rest.find('&') {
                let end = rest[i..].find(';').ok_or("unterminated entity in attribute")?;
                check_entity(&rest[i..=i + end])?;
                rest = &rest[i + end + 1..];
            }
            a = &v[close + 2..];
        }
    }

    #[test]
    fn the_checker_refuses_broken_xml() {
        let decl = r#"<?xml version="1.0" encoding="UTF-8"?>"#;
        assert!(well_formed(&format!("{decl}<a><b/></a>")).is_ok());
        for bad in ["<a><b></a>", "<a>", "<a x=1/>", "<a>&nbsp;</a>", "<a x=\"<\"/>", "</a>"] {
            assert!(well_formed(&format!("{decl}{bad}")).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_preset_exports_well_formed_svg_with_the_whole_trace() {
        for p in presets::ALL {
            let (r, rows) = run(p.id);
            let svg = svg(r.as_ref(), &rows, Some(p.id));
            let n = well_formed(&svg).unwrap_or_else(|e| panic!("{}: {e}", p.id));
            assert!(n > 20, "{}: {n} elements", p.id);
            assert_eq!(svg.matches("<line class=\"lane\"").count(), r.nodes().len(), "{}", p.id);
            // Every message end is drawn, not just a window: one arrow per delivery or drop.
            let ends = r.events().iter().filter(|e| matches!(e.kind, "deliver" | "drop")).count();
            let in_flight = rows
                .ends
                .iter()
                .zip(r.events())
                .filter(|(ends, e)| e.kind == "send" && ends.is_empty())
                .count();
            let arrows = svg.matches("<g class=\"arrow\"").count()
                + svg.matches("<g class=\"arrow ").count();
            assert_eq!(arrows, ends + in_flight, "{}", p.id);
            let persists = r.events().iter().filter(|e| e.kind == "persist").count();
            assert_eq!(svg.matches("mark-persist").count(), persists, "{}", p.id);
            let decides = r.events().iter().filter(|e| e.kind == "decide").count();
            assert_eq!(svg.matches("class=\"mark mark-decide").count(), decides, "{}", p.id);
            assert!(!svg.contains("var(--"), "no CSS variables in a standalone file");
        }
    }

    #[test]
    fn the_svg_shows_crosses_bands_and_a_title() {
        let (r, rows) = run("two_pc/lost_commit");
        let svg = svg(r.as_ref(), &rows, Some("two_pc/lost_commit"));
        assert_eq!(svg.matches("class=\"cross\"").count(), 1);
        assert!(svg.contains("band-doubt"));
        let title = r.scenario().title.clone().unwrap();
        assert!(svg.contains(&format!("<title>{}</title>", xml_escape(&title))));
        assert!(svg.contains(&hash_hex(r.as_ref())));
        let (r, rows) = run("two_pc/coordinator_recovers");
        let svg = super::svg(r.as_ref(), &rows, None);
        assert_eq!(svg.matches("class=\"band band-down\"").count(), 1);
        assert!(svg.contains("class=\"mark mark-crash\""));
    }

    #[test]
    fn user_strings_are_escaped() {
        let p = presets::find("two_pc/happy_path").unwrap();
        let mut s = p.scenario();
        s.title = Some("<img src=x onerror=alert(1)> & \"q\" \u{1}".into());
        let r = commitscope_protocols::run(&s).unwrap();
        let rows = Rows::new(r.events());
        let svg = super::svg(r.as_ref(), &rows, None);
        well_formed(&svg).unwrap();
        assert!(!svg.contains("<img"));
        assert!(svg.contains("&lt;img src=x onerror=alert(1)&gt; &amp; &quot;q&quot;"));
    }

    #[test]
    fn the_trace_json_carries_the_scenario_hash_and_every_event() {
        let (r, _) = run("two_pc/cooperative_termination");
        let text = trace_json(r.as_ref());
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["format"], TRACE_FORMAT);
        assert_eq!(v["trace_hash"], hash_hex(r.as_ref()));
        assert_eq!(v["events"].as_array().unwrap().len(), r.events().len());
        assert_eq!(v["events"][3]["kind"], r.events()[3].kind);
        let back = commitscope_engine::Scenario::from_json(&v["scenario"].to_string()).unwrap();
        assert_eq!(&back, r.scenario());
        assert_eq!(text.lines().count(), r.events().len() + 11, "one event a line");
    }

    #[test]
    fn file_names_are_tame() {
        let (r, _) = run("two_pc/lost_commit");
        assert_eq!(
            file_stem(r.as_ref(), Some("two_pc/lost_commit")),
            "commitscope-two_pc-lost_commit"
        );
        assert_eq!(
            file_stem(r.as_ref(), None),
            format!("commitscope-two_pc-seed{}", r.scenario().seed)
        );
    }
}
