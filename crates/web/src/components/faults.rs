//! Fault injection at the cursor: crash/recover nodes, build a partition, and drop,
//! duplicate or delay a message in flight. Each click is an `Action::Inject`.

use crate::faults::{in_flight, Injection};
use crate::state::{Action, RunData, DELAY_TICKS};
use commitscope_engine::vecmap::VecSet;
use commitscope_engine::EventId;
use std::rc::Rc;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct FaultProps {
    pub data: Rc<RunData>,
    pub cursor: Option<EventId>,
    pub undo: usize,
    pub on_action: Callback<Action>,
}

/// At most this many in-flight messages are listed (the DOM stays bounded).
const MAX_IN_FLIGHT: usize = 8;

#[component]
pub fn FaultPanel(props: &FaultProps) -> Html {
    let role = super::use_panel_role();
    let data = &props.data;
    let views = props.data.views(props.cursor);
    let side = use_state(VecSet::<String>::new);
    let cut_from = use_state(|| 0usize);
    let cut_to = use_state(|| 1usize);
    let nodes = data.run.nodes();
    let inject = |inj: Injection| {
        let cb = props.on_action.clone();
        Callback::from(move |_: MouseEvent| cb.emit(Action::Inject(inj.clone())))
    };
    let at = match props.cursor {
        Some(c) => format!("after #{c} (t={})", data.time_at(props.cursor)),
        None => "at the start".into(),
    };

    // Node faults.
    let node_rows = views.iter().map(|v| {
        let (label, inj, class) = if v.up {
            (format!("Crash {}", v.name), Injection::Crash(v.name.clone()), "danger")
        } else {
            (format!("Recover {}", v.name), Injection::Recover(v.name.clone()), "ok")
        };
        html! {
            <button key={v.name.clone()} class={classes!("fault-node", class)} onclick={inject(inj)}
                data-fault={if v.up { "crash" } else { "recover" }} data-node={v.name.clone()}>
                { if v.up { "✕ " } else { "▲ " } }{ label }
            </button>
        }
    });

    // Partition builder: one side by checkboxes, the others form the other side.
    let toggles = nodes.iter().map(|n| {
        let name = n.name.clone();
        let checked = side.contains(&name);
        let side = side.clone();
        let onchange = Callback::from(move |_: Event| {
            let mut s = (*side).clone();
            if !s.remove(&name) {
                s.insert(name.clone());
            }
            side.set(s);
        });
        html! {
            <label key={n.name.clone()} class="check">
                <input type="checkbox" {checked} {onchange} aria-label={format!("{} on side A", n.name)} />
                { n.name.clone() }
            </label>
        }
    });
    let side_a: Vec<String> =
        nodes.iter().filter(|n| side.contains(&n.name)).map(|n| n.name.clone()).collect();
    let side_b: Vec<String> =
        nodes.iter().filter(|n| !side.contains(&n.name)).map(|n| n.name.clone()).collect();
    let can_partition = !side_a.is_empty() && !side_b.is_empty();
    let partition = inject(Injection::Partition(vec![side_a.clone(), side_b.clone()]));
    let name_at = |i: usize| nodes.get(i).map(|n| n.name.clone()).unwrap_or_default();
    let select = |value: usize, set: UseStateHandle<usize>, label: &'static str| {
        let onchange = Callback::from(move |e: Event| {
            if let Ok(i) = e.target_unchecked_into::<HtmlSelectElement>().value().parse::<usize>() {
                set.set(i);
            }
        });
        html! {
            <select {onchange} aria-label={label}>
                { for nodes.iter().enumerate().map(|(i, n)| html! {
                    <option value={i.to_string()} selected={i == value}>{ n.name.clone() }</option>
                }) }
            </select>
        }
    };
    let cut = inject(Injection::Cut { from: name_at(*cut_from), to: name_at(*cut_to) });

    // Messages in flight at the cursor.
    let flying: Vec<EventId> = data
        .events()
        .iter()
        .take(props.cursor.map_or(0, |c| c as usize + 1))
        .filter(|e| {
            e.kind == "send" && in_flight(data.run.as_ref(), data.ends(e.id), e.id, props.cursor)
        })
        .map(|e| e.id)
        .collect();
    let n_flying = flying.len();
    let messages = flying.iter().rev().take(MAX_IN_FLIGHT).rev().map(|id| {
        let e = &data.events()[*id as usize];
        let who = |n: Option<u32>| n.and_then(|n| nodes.get(n as usize)).map_or("?", |s| s.name.as_str());
        let cb = props.on_action.clone();
        let id = *id;
        let select = Callback::from(move |_| cb.emit(Action::Select(crate::state::Selection::Message(id))));
        html! {
            <li key={id} class="flying" data-send={id.to_string()}>
                <button class="link msg-name" onclick={select}>{ format!("{} {}→{}", e.label, who(e.node), who(e.peer)) }</button>
                <span class="msg-actions">
                    <button class="danger small" onclick={inject(Injection::Drop(id))} data-fault="drop">{"drop"}</button>
                    <button class="small" onclick={inject(Injection::Duplicate(id))} data-fault="duplicate">{"dup"}</button>
                    <button class="small" onclick={inject(Injection::Delay(id, DELAY_TICKS))} data-fault="delay">{ format!("+{DELAY_TICKS}t") }</button>
                </span>
            </li>
        }
    });
    let cb = props.on_action.clone();
    let undo = Callback::from(move |_| cb.emit(Action::Undo));

    html! {
        <section class="panel faults" aria-label="Inject faults" {role}>
            <h2>{"Inject a fault "}<span class="muted">{ at }</span></h2>
            <div class="fault-row">{ for node_rows }</div>
            <details class="partition">
                <summary>{"Network: partition, cut, isolate, heal"}</summary>
                <div class="fault-row">
                    <span class="muted">{"Side A:"}</span>{ for toggles }
                    <button onclick={partition} disabled={!can_partition} data-fault="partition">
                        { if can_partition { format!("Partition {{{}}} | {{{}}}", side_a.join(","), side_b.join(",")) } else { "Partition (pick side A)".into() } }
                    </button>
                </div>
                <div class="fault-row">
                    <span class="muted">{"One-way cut"}</span>
                    { select(*cut_from, cut_from.clone(), "cut from") }{"→"}{ select(*cut_to, cut_to.clone(), "cut to") }
                    <button onclick={cut} disabled={*cut_from == *cut_to} data-fault="cut">{"Cut"}</button>
                </div>
                <div class="fault-row">
                    { for nodes.iter().map(|n| html! {
                        <button key={n.name.clone()} class="small" onclick={inject(Injection::Isolate(n.name.clone()))} data-fault="isolate">{ format!("Isolate {}", n.name) }</button>
                    }) }
                    <button class="ok" onclick={inject(Injection::Heal)} data-fault="heal">{"Heal"}</button>
                </div>
            </details>
            <div class="in-flight">
                <h3>{ format!("In flight now ({n_flying})") }</h3>
                if n_flying == 0 {
                    <p class="muted">{"No message is in flight at the cursor. Step to a moment where an arrow crosses the cursor line."}</p>
                } else {
                    <ul>{ for messages }</ul>
                }
            </div>
            if props.undo > 0 {
                <button class="undo" onclick={undo}>{ format!("↶ Undo ({})", props.undo) }</button>
            }
        </section>
    }
}
