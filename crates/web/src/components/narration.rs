//! The caption that narrates the event at the cursor, and the event log around it.

use crate::state::{Action, RunData};
use commitscope_engine::EventId;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct NarrationProps {
    pub data: Rc<RunData>,
    pub cursor: Option<EventId>,
}

#[component]
pub fn Narration(props: &NarrationProps) -> Html {
    let e = props.cursor.and_then(|c| props.data.events().get(c as usize));
    let (tag, text) = match e {
        Some(e) => (format!("#{} · t={}", e.id, e.time), e.narration.clone()),
        None => (
            "start".to_string(),
            "Before the first event. Press ▶ Play or → to step through the run.".to_string(),
        ),
    };
    let kind = e.map_or("start", |e| e.kind);
    html! {
        <p class={classes!("narration", format!("k-{kind}"))} aria-live="polite">
            <span class="narration-tag">{ tag }</span>
            <span class="narration-text">{ text }</span>
        </p>
    }
}

#[derive(Properties, PartialEq)]
pub struct EventLogProps {
    /// The diagram names this list as its text alternative (`aria-describedby`).
    #[prop_or_default]
    pub id: Option<AttrValue>,
    pub data: Rc<RunData>,
    pub cursor: Option<EventId>,
    pub on_action: Callback<Action>,
}

/// How many events the log shows around the cursor (the DOM stays bounded).
const LOG_BEFORE: usize = 8;
const LOG_AFTER: usize = 6;

#[component]
pub fn EventLog(props: &EventLogProps) -> Html {
    let role = super::use_panel_role();
    let events = props.data.events();
    let at = props.cursor.map_or(0, |c| c as usize);
    let from = at.saturating_sub(LOG_BEFORE);
    let to = (at + LOG_AFTER + 1).min(events.len());
    let nodes = props.data.run.nodes();
    html! {
        <section class="panel event-log" aria-label="Event log" id={props.id.clone()} {role}>
            <h2>{"Event log"}<span class="muted">{ format!(" {} events", events.len()) }</span></h2>
            <ol class="log-list" start={from.to_string()}>
                { for events.get(from..to).unwrap_or(&[]).iter().map(|e| {
                    let id = e.id;
                    let cb = props.on_action.clone();
                    let onclick = Callback::from(move |_| cb.emit(Action::Seek(Some(id))));
                    let current = props.cursor == Some(id);
                    let future = props.cursor.is_none_or(|c| id > c);
                    let who = e.node.and_then(|n| nodes.get(n as usize)).map_or("net", |s| s.name.as_str());
                    html! {
                        <li key={id} class={classes!("log-item", current.then_some("current"), future.then_some("future"), format!("k-{}", e.kind))}>
                            <button class="plain log-button" {onclick} aria-current={if current { "step" } else { "false" }}>
                                <span class="log-id">{ format!("#{id}") }</span>
                                <span class="log-time">{ format!("t={}", e.time) }</span>
                                <span class="log-node">{ who }</span>
                                <span class="log-text">{ e.narration.clone() }</span>
                            </button>
                        </li>
                    }
                }) }
            </ol>
        </section>
    }
}
