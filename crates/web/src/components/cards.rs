//! Node cards: everything about each node at the cursor, and a small state-machine picture
//! of its role (the phases this role goes through, the current one highlighted).

use crate::layout::PhaseClass;
use crate::state::{Action, RunData, Selection};
use commitscope_engine::vecmap::VecSet;
use commitscope_engine::{EventId, NodeView, Table};
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct CardsProps {
    pub data: Rc<RunData>,
    pub cursor: Option<EventId>,
    pub selected: Selection,
    pub on_action: Callback<Action>,
}

/// The phases nodes of `role` pass through in this run, in the protocol's order.
pub fn role_phases(data: &RunData, role: &str) -> Vec<&'static str> {
    let nodes = data.run.nodes();
    let mut seen = VecSet::new();
    for e in data.events().iter().filter(|e| e.kind == "phase") {
        let same_role = e.node.and_then(|n| nodes.get(n as usize)).is_some_and(|s| s.role == role);
        if let (true, Some(p)) = (same_role, e.subkind) {
            seen.insert(p);
        }
    }
    let kinds = data.run.kinds();
    for v in data.run.views_at(None).iter().filter(|v| v.role == role) {
        if let Some(p) = kinds.phases.iter().copied().find(|p| *p == v.phase) {
            seen.insert(p);
        }
    }
    kinds.phases.iter().copied().filter(|p| seen.contains(p)).collect()
}

fn state_machine(phases: &[&'static str], current: &str, initial: &[&'static str]) -> Html {
    let mut all: Vec<&str> = Vec::new();
    for p in initial.iter().chain(phases) {
        if !all.contains(p) {
            all.push(p);
        }
    }
    html! {
        <ol class="fsm" aria-label="phases of this role">
            { for all.iter().map(|p| {
                let class = PhaseClass::of(p).css();
                let now = *p == current;
                html! {
                    <li class={classes!("fsm-state", format!("ph-{class}"), now.then_some("now"))}
                        aria-current={if now { "step" } else { "false" }}>
                        { p.replace('_', " ") }
                    </li>
                }
            }) }
        </ol>
    }
}

pub fn phase_chip(phase: &str, up: bool) -> Html {
    if !up {
        return html! { <span class="chip chip-down">{"▧ down"}</span> };
    }
    let c = PhaseClass::of(phase);
    let icon = match c {
        PhaseClass::InDoubt => "▨",
        PhaseClass::Commit => "●",
        PhaseClass::Abort => "■",
        PhaseClass::Active => "◐",
        PhaseClass::Idle => "○",
    };
    html! { <span class={classes!("chip", format!("chip-{}", c.css()))}>{ format!("{icon} {}", phase.replace('_', " ")) }</span> }
}

/// One of the view's named tables, drawn as it is: the UI knows nothing of what it lists.
pub fn table(t: &Table) -> Html {
    html! {
        <div class="view-table" data-table={t.title.clone()}>
            <table>
                <caption>{ format!("{} ({})", t.title, t.rows.len()) }</caption>
                <thead>
                    <tr>{ for t.columns.iter().map(|c| html! { <th scope="col">{ c.clone() }</th> }) }</tr>
                </thead>
                <tbody>
                    if t.rows.is_empty() {
                        <tr><td class="muted" colspan={t.columns.len().max(1).to_string()}>{"empty"}</td></tr>
                    }
                    { for t.rows.iter().map(|r| html! {
                        <tr>{ for r.iter().enumerate().map(|(i, c)| if i == 0 {
                            html! { <th scope="row">{ c.clone() }</th> }
                        } else {
                            html! { <td>{ c.clone() }</td> }
                        }) }</tr>
                    }) }
                </tbody>
            </table>
        </div>
    }
}

pub fn node_details(v: &NodeView) -> Html {
    html! {
        <>
            if let Some(b) = &v.blocked {
                <p class="blocked" role="note"><strong>{"Blocked: "}</strong>{ b.clone() }</p>
            }
            <dl class="kv">
                { for v.fields.iter().map(|(k, val)| html! { <><dt>{ k.clone() }</dt><dd>{ val.clone() }</dd></> }) }
                <dt>{"decision"}</dt>
                <dd class={classes!(v.decision.as_ref().map(|d| match crate::layout::Outcome::of(d) {
                    crate::layout::Outcome::Commit => "decision-commit",
                    crate::layout::Outcome::Abort => "decision-abort",
                    crate::layout::Outcome::Other => "decision-other",
                }))}>{ v.decision.clone().unwrap_or_else(|| "—".into()) }</dd>
                <dt>{"locks"}</dt>
                <dd>{ if v.locks.is_empty() { "—".to_string() } else { v.locks.join(", ") } }</dd>
                <dt>{"timers"}</dt>
                <dd>{ if v.timers.is_empty() { "—".to_string() } else { v.timers.join(", ") } }</dd>
            </dl>
            { for v.tables.iter().map(table) }
            <div class="durable">
                <span class="durable-title">{ format!("durable log ({})", v.log.len()) }</span>
                if v.log.is_empty() {
                    <span class="muted">{" empty"}</span>
                } else {
                    <ol class="wal">{ for v.log.iter().map(|r| html! { <li>{ r.clone() }</li> }) }</ol>
                }
            </div>
        </>
    }
}

#[component]
pub fn NodeCards(props: &CardsProps) -> Html {
    let role = super::use_panel_role();
    let data = props.data.clone();
    let views = props.data.views(props.cursor);
    let initial = use_memo(props.data.clone(), |d| d.run.views_at(None));
    let phases_by_role = use_memo(props.data.clone(), |d| {
        let mut roles: Vec<(String, Vec<&'static str>)> = Vec::new();
        for n in d.run.nodes() {
            if !roles.iter().any(|(r, _)| *r == n.role) {
                roles.push((n.role.clone(), role_phases(d, &n.role)));
            }
        }
        roles
    });
    let kinds = data.run.kinds();
    html! {
        <section class="cards" aria-label="Node state at the cursor" {role}>
            { for views.iter().enumerate().map(|(i, v)| {
                let node = i as u32;
                let cb = props.on_action.clone();
                let onclick = Callback::from(move |_| cb.emit(Action::Select(Selection::Node(node))));
                let phases = phases_by_role.iter().find(|(r, _)| *r == v.role).map(|(_, p)| p.clone()).unwrap_or_default();
                let init: Vec<&'static str> = initial.get(i)
                    .and_then(|iv| kinds.phases.iter().copied().find(|p| *p == iv.phase))
                    .into_iter().collect();
                let selected = props.selected == Selection::Node(node);
                html! {
                    <article key={v.name.clone()} class={classes!("card", (!v.tables.is_empty()).then_some("card-wide"), (!v.up).then_some("card-down"), v.blocked.is_some().then_some("card-blocked"), selected.then_some("card-selected"))}
                        aria-label={format!("{} ({})", v.name, v.role)} data-node={v.name.clone()}>
                        <header>
                            // The visible name is the button's name too (no aria-label that
                            // would differ from what a speech-input user sees).
                            <button class="plain card-title" {onclick} title={format!("Inspect {}", v.name)}>
                                <span class="sr-only">{"Inspect "}</span>
                                <strong>{ v.name.clone() }</strong>
                                <span class="muted">{ format!(" {}", v.role) }</span>
                            </button>
                            { phase_chip(&v.phase, v.up) }
                        </header>
                        { state_machine(&phases, &v.phase, &init) }
                        { node_details(v) }
                    </article>
                }
            }) }
        </section>
    }
}
