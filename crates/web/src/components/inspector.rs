//! The inspector: the selected message (payload, times, fate) or node (full state).

use super::cards::{node_details, phase_chip};
use crate::state::{Action, RunData, Selection};
use commitscope_engine::EventId;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct InspectorProps {
    pub data: Rc<RunData>,
    pub cursor: Option<EventId>,
    pub selected: Selection,
    pub on_action: Callback<Action>,
}

#[component]
pub fn Inspector(props: &InspectorProps) -> Html {
    let role = super::use_panel_role();
    let data = &props.data;
    let cb = props.on_action.clone();
    let close = Callback::from(move |_| cb.emit(Action::Select(Selection::None)));
    let nodes = data.run.nodes();
    let name = |n: Option<u32>| {
        n.and_then(|n| nodes.get(n as usize)).map_or("?".to_string(), |s| s.name.clone())
    };
    let body = match props.selected {
        Selection::None => {
            return html! {
                <section class="panel inspector inspector-empty" aria-label="Inspector" {role}>
                    <p class="muted">{"Click a message arrow or a node to inspect it."}</p>
                </section>
            }
        }
        Selection::Message(send) => {
            let Some(e) = data.events().get(send as usize).filter(|e| e.kind == "send") else {
                return html! {};
            };
            let ends: Vec<_> =
                data.ends(send).iter().filter_map(|d| data.events().get(*d as usize)).collect();
            let payload = e
                .payload
                .as_ref()
                .map(|p| serde_json::to_string_pretty(p).unwrap_or_default())
                .unwrap_or_default();
            let cb = props.on_action.clone();
            let jump_send = Callback::from(move |_| cb.emit(Action::Seek(Some(send))));
            html! {
                <>
                    <h2>{ format!("Message {}", e.label) }</h2>
                    <dl class="kv">
                        <dt>{"from → to"}</dt><dd>{ format!("{} → {}", name(e.node), name(e.peer)) }</dd>
                        <dt>{"type"}</dt><dd>{ e.subkind.unwrap_or("?") }</dd>
                        <dt>{"sent"}</dt><dd><button class="link" onclick={jump_send}>{ format!("#{} at t={}", e.id, e.time) }</button></dd>
                        <dt>{"due"}</dt><dd>{ e.arrives.map_or("—".to_string(), |t| format!("t={t}")) }</dd>
                        { for ends.iter().map(|d| {
                            let id = d.id;
                            let cb = props.on_action.clone();
                            let onclick = Callback::from(move |_| cb.emit(Action::Seek(Some(id))));
                            let what = if d.kind == "drop" {
                                format!("lost at t={} — {}", d.time, d.narration.split(" is lost: ").nth(1).unwrap_or("dropped"))
                            } else if d.duplicate {
                                format!("duplicate delivered at t={}", d.time)
                            } else {
                                format!("delivered at t={}", d.time)
                            };
                            html! { <><dt>{ if d.kind == "drop" { "lost" } else { "delivered" } }</dt>
                                <dd><button class="link" {onclick}>{ format!("#{id}") }</button>{ format!(" {what}") }</dd></> }
                        }) }
                        if ends.is_empty() { <><dt>{"fate"}</dt><dd>{"still in flight when the run ends"}</dd></> }
                    </dl>
                    <pre class="payload" aria-label="payload">{ payload }</pre>
                </>
            }
        }
        Selection::Node(n) => {
            let views = data.views(props.cursor);
            let Some(v) = views.get(n as usize) else { return html! {} };
            html! {
                <>
                    <h2>{ format!("{} · {}", v.name, v.role) }{" "}{ phase_chip(&v.phase, v.up) }</h2>
                    { node_details(v) }
                </>
            }
        }
    };
    html! {
        <section class="panel inspector" aria-label="Inspector" {role}>
            <button class="plain close" aria-label="close the inspector" onclick={close}>{"✕"}</button>
            { body }
        </section>
    }
}
