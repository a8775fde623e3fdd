//! The compare view: pickers (two protocols, a fault plan, N, Paxos Commit's F and layout),
//! one transport over virtual time, the two runs as synchronized diagrams (side by side,
//! stacked on narrow screens), and the measured cost and fault tables. Everything shown
//! comes from `crate::compare::CompareData`; nothing here is specific to a protocol.

use super::cards::phase_chip;
use super::controls::{
    icon, on_click, on_scrub, on_speed, play_button, speed_select, ICON_BACK, ICON_END,
    ICON_FORWARD, ICON_START,
};
use super::diagram::Diagram;
use crate::compare::{CompareData, Settings, Side, MAX_PARTICIPANTS};
use crate::state::{Action, Selection};
use commitscope_engine::Time;
use commitscope_protocols::compare::{FaultResult, Verdict, FAULT_PLANS, MAX_FAULTS, VARIANTS};
use std::rc::Rc;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct CompareProps {
    pub data: Rc<CompareData>,
    pub time: Option<Time>,
    pub playing: bool,
    pub speed: usize,
    pub on_action: Callback<Action>,
}

/// A verdict as a word and a shape (never colour alone), and its CSS class.
fn verdict_text(f: &FaultResult) -> (&'static str, String, &'static str) {
    match f.verdict {
        Verdict::Blocked => ("▨", format!("blocked: {}", f.detail), "v-blocked"),
        Verdict::Decides => ("✓", format!("decides {}", f.detail), "v-decides"),
        Verdict::ViolatesAc1 => ("⚠", format!("violates AC1: {}", f.detail), "v-violates"),
        Verdict::NotApplicable => ("—", "does not apply".to_string(), "v-na"),
    }
}

fn short_verdict(f: &FaultResult) -> &'static str {
    match f.verdict {
        Verdict::Blocked => "blocked",
        Verdict::Decides => "decides",
        Verdict::ViolatesAc1 => "violates AC1",
        Verdict::NotApplicable => "n/a",
    }
}

fn settings_select(
    label: &'static str,
    class: &'static str,
    options: Vec<(String, String)>,
    selected: String,
    on_pick: Callback<String>,
) -> Html {
    let onchange = Callback::from(move |e: Event| {
        on_pick.emit(e.target_unchecked_into::<HtmlSelectElement>().value())
    });
    html! {
        <label class={classes!("field", class)}>
            <span>{ label }</span>
            <select {onchange} aria-label={label}>
                { for options.into_iter().map(|(v, text)| html! {
                    <option value={v.clone()} selected={v == selected}>{ text }</option>
                }) }
            </select>
        </label>
    }
}

fn controls(s: Settings, on_action: &Callback<Action>) -> Html {
    let set = |f: fn(&mut Settings, &str)| {
        let cb = on_action.clone();
        Callback::from(move |v: String| {
            let mut next = s;
            f(&mut next, &v);
            cb.emit(Action::SetCompare(next));
        })
    };
    let protocols: Vec<(String, String)> =
        VARIANTS.iter().enumerate().map(|(i, v)| (i.to_string(), v.label.to_string())).collect();
    let mut plans = vec![("none".to_string(), "no faults (the run the costs measure)".to_string())];
    plans.extend(FAULT_PLANS.iter().enumerate().map(|(i, p)| (i.to_string(), p.title.to_string())));
    let cb = on_action.clone();
    let on_colocated = Callback::from(move |e: Event| {
        let mut next = s;
        next.options.colocated = e.target_unchecked_into::<HtmlInputElement>().checked();
        cb.emit(Action::SetCompare(next));
    });
    html! {
        <div class="compare-controls" role="group" aria-label="What to compare">
            { settings_select("Left", "field-protocol", protocols.clone(), s.sides[0].to_string(),
                set(|s, v| s.sides[0] = v.parse().unwrap_or(s.sides[0]))) }
            { settings_select("Right", "field-protocol", protocols, s.sides[1].to_string(),
                set(|s, v| s.sides[1] = v.parse().unwrap_or(s.sides[1]))) }
            { settings_select("Fault plan", "field-plan", plans,
                s.plan.map_or("none".to_string(), |p| p.to_string()),
                set(|s, v| s.plan = v.parse().ok())) }
            { settings_select("Participants", "field-small",
                (1..=MAX_PARTICIPANTS).map(|n| (n.to_string(), n.to_string())).collect(),
                s.participants.to_string(),
                set(|s, v| s.participants = v.parse().unwrap_or(s.participants))) }
            { settings_select("Paxos F", "field-small",
                (0..=MAX_FAULTS).map(|f| (f.to_string(), format!("{f} ({} acceptors)", 2 * f + 1))).collect(),
                s.options.faults.to_string(),
                set(|s, v| s.options.faults = v.parse().unwrap_or(s.options.faults))) }
            <label class="check compare-colocated">
                <input type="checkbox" checked={s.options.colocated} onchange={on_colocated} />
                {"Paxos acceptors on the RMs' nodes"}
            </label>
        </div>
    }
}

/// Start, back, play, forward, end, speed and a scrubber over the one clock.
fn transport(props: &CompareProps) -> Html {
    let d = &props.data;
    let a = |action: Action| on_click(&props.on_action, action);
    let (on_speed, on_scrub) = (on_speed(&props.on_action), on_scrub(&props.on_action));
    let end = d.end_time();
    let clock = match props.time {
        Some(t) => format!("t={t}/{end}"),
        None => format!("start/{end}"),
    };
    let at_start = props.time.is_none();
    let at_end = props.time == d.last();
    html! {
        <div class="playback compare-playback" role="group" aria-label="One clock for both runs">
            <div class="transport">
                <button class="compare-start" onclick={a(Action::ToStart)} disabled={at_start} aria-label="Both runs to the start (Home)" title="Start (Home)">{ icon(ICON_START) }</button>
                <button class="compare-back" onclick={a(Action::Step(-1))} disabled={at_start} aria-label="Both runs one moment back (←)" title="One moment back (←)">{ icon(ICON_BACK) }</button>
                { play_button(props.playing, a(Action::TogglePlay)) }
                <button class="compare-forward" onclick={a(Action::Step(1))} disabled={at_end} aria-label="Both runs one moment on (→)" title="One moment on (→)">{ icon(ICON_FORWARD) }</button>
                <button class="compare-end" onclick={a(Action::ToEnd)} disabled={at_end} aria-label="Both runs to the end (End)" title="End (End)">{ icon(ICON_END) }</button>
                { speed_select(props.speed, on_speed) }
            </div>
            <div class="scrub">
                <input type="range" min="0" max={end.to_string()} value={props.time.unwrap_or(0).to_string()}
                    oninput={on_scrub} aria-label="Virtual time, both runs" aria-valuetext={clock.clone()} />
                <span class="clock compare-clock">{ clock }</span>
            </div>
        </div>
    }
}

fn side_view(i: usize, side: &Side, props: &CompareProps) -> Html {
    let label = side.variant.label;
    let cursor = side.cursor(props.time);
    let plan = side.plan_text.as_ref().map(|t| {
        if side.data.is_none() {
            html! { <p class="plan-text plan-na" role="note"><strong>{"This plan does not apply here: "}</strong>{ t.trim_start_matches("does not apply: ") }</p> }
        } else {
            html! { <p class="plan-text"><span class="muted">{"Here the plan reads: "}</span>{ t.clone() }</p> }
        }
    });
    let verdict = side.verdict.as_ref().map(|v| {
        let (icon, text, class) = verdict_text(v);
        html! { <p class={classes!("side-verdict", class)}><span aria-hidden="true">{ format!("{icon} ") }</span>{"By the end: "}{ text }</p> }
    });
    let (narration, diagram, nodes) = match &side.data {
        None => (
            html! { <p class="side-narration side-empty"></p> },
            html! { <div class="side-diagram"></div> },
            html! { <ul class="side-nodes"></ul> },
        ),
        Some(data) => {
            // A click on an event moves the one clock to its time; selections stay single-run.
            let events = data.clone();
            let cb = props.on_action.clone();
            let on_diagram = Callback::from(move |a: Action| match a {
                Action::Seek(Some(id)) => {
                    if let Some(e) = events.events().get(id as usize) {
                        cb.emit(Action::SeekTime(e.time));
                    }
                }
                Action::Seek(None) => cb.emit(Action::ToStart),
                _ => {}
            });
            let views = data.run.views_at(cursor);
            let now = cursor.and_then(|c| data.events().get(c as usize));
            let narration = match now {
                // The clock has run past this run's end (the other one goes on).
                Some(e) if cursor == data.last() && props.time.is_some_and(|t| t > e.time) => {
                    format!("t={} · {} — this run's last event", e.time, e.narration)
                }
                Some(e) => format!("t={} · {}", e.time, e.narration),
                None => "before the first event".to_string(),
            };
            (
                html! { <p class="side-narration" aria-live="polite">{ narration }</p> },
                html! {
                    <div class="side-diagram">
                        <Diagram data={data.clone()} {cursor} clock={Some(props.time)} sync_scroll={Some(AttrValue::from("compare"))}
                            selected={Selection::None} on_action={on_diagram} />
                    </div>
                },
                html! {
                    <ul class="side-nodes" aria-label={format!("{label}: every node at the cursor")}>
                        { for views.iter().map(|v| html! {
                            <li data-node={v.name.clone()}>
                                <strong>{ v.name.clone() }</strong>{" "}{ phase_chip(&v.phase, v.up) }
                                if let Some(d) = &v.decision { <span class="side-decision">{ format!(" {d}") }</span> }
                            </li>
                        }) }
                    </ul>
                },
            )
        }
    };
    html! {
        <section class="compare-side panel" data-side={i.to_string()} data-protocol={label} aria-label={label}>
            <h2>{ label }</h2>
            <div class="side-about">
                { plan.unwrap_or_default() }
                { verdict.unwrap_or_default() }
            </div>
            { narration }
            { diagram }
            { nodes }
        </section>
    }
}

fn cost_table(d: &CompareData) -> Html {
    let s = d.settings;
    let n = s.participants;
    let picked: Vec<&str> = d.sides.iter().map(|s| s.variant.label).collect();
    let command = format!(
        "commitscope compare --participants {n} --faults {}{}",
        s.options.faults,
        if s.options.colocated { " --colocated" } else { "" }
    );
    html! {
        <section class="panel compare-costs" aria-label="Measured costs of the fault-free run">
            <h2>{"Cost of the fault-free run (measured)"}</h2>
            <p class="muted table-note">
                { format!("{n} participant{}, one transaction, every message takes 1 tick; Paxos Commit with F = {} ({} acceptors{}). A message between processes on one node is not counted. The same figures as ",
                    if n == 1 { "" } else { "s" }, s.options.faults, 2 * s.options.faults + 1,
                    if s.options.colocated { " on the RMs' nodes" } else { ", own nodes" }) }
                <code>{ command }</code>{"."}
            </p>
            <div class="table-scroll">
                <table class="figures">
                    <thead>
                        <tr>
                            <th scope="col">{"protocol"}</th>
                            <th scope="col">{"messages"}</th>
                            <th scope="col">{"message delays"}</th>
                            <th scope="col">{"forced log writes"}</th>
                        </tr>
                    </thead>
                    <tbody>
                        { for d.rows.iter().map(|r| html! {
                            <tr data-protocol={r.label} class={classes!(picked.contains(&r.label).then_some("picked"))}>
                                <th scope="row">{ r.label }</th>
                                <td data-figure="messages">{ r.messages }</td>
                                <td data-figure="message_delays">{ r.message_delays }</td>
                                <td data-figure="forced_writes">{ r.forced_writes }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            </div>
        </section>
    }
}

fn fault_table(d: &CompareData, on_action: &Callback<Action>) -> Html {
    html! {
        <section class="panel compare-faults" aria-label="Which fault plans block which protocol">
            <h2>{"Fault plans: who blocks (each plan run under each protocol)"}</h2>
            <div class="table-scroll">
                <table class="figures verdicts">
                    <thead>
                        <tr>
                            <th scope="col">{"fault plan"}</th>
                            { for d.rows.iter().map(|r| html! { <th scope="col">{ r.label }</th> }) }
                        </tr>
                    </thead>
                    <tbody>
                        { for FAULT_PLANS.iter().enumerate().map(|(i, plan)| {
                            let cb = on_action.clone();
                            let mut next = d.settings;
                            next.plan = Some(i);
                            let onclick = Callback::from(move |_: MouseEvent| cb.emit(Action::SetCompare(next)));
                            let current = d.settings.plan == Some(i);
                            html! {
                                <tr data-plan={plan.id} class={classes!(current.then_some("picked"))}>
                                    <th scope="row">
                                        <button class="link" {onclick} aria-pressed={current.to_string()}
                                            title="Show this plan in the diagrams">{ plan.title }</button>
                                    </th>
                                    { for d.rows.iter().map(|r| match r.faults.get(i) {
                                        Some(f) => {
                                            let (icon, text, class) = verdict_text(f);
                                            html! {
                                                <td class={class} title={text}>
                                                    <span aria-hidden="true">{ format!("{icon} ") }</span>{ short_verdict(f) }
                                                    if f.verdict != Verdict::NotApplicable {
                                                        <span class="verdict-detail">{ f.detail.clone() }</span>
                                                    }
                                                </td>
                                            }
                                        }
                                        None => html! { <td>{"—"}</td> },
                                    }) }
                                </tr>
                            }
                        }) }
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
pub fn CompareView(props: &CompareProps) -> Html {
    let d = &props.data;
    html! {
        <div class="compare" aria-label="Compare protocols">
            { controls(d.settings, &props.on_action) }
            { transport(props) }
            <div class="compare-diagrams">
                { for d.sides.iter().enumerate().map(|(i, s)| side_view(i, s, props)) }
            </div>
            <div class="compare-tables">
                { cost_table(d) }
                { fault_table(d, &props.on_action) }
            </div>
        </div>
    }
}
