//! The help overlay (keyboard shortcuts) and the scenario JSON import/export dialog.

use crate::state::{Action, RunData};
use std::rc::Rc;
use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct HelpProps {
    pub on_action: Callback<Action>,
}

#[component]
pub fn Help(props: &HelpProps) -> Html {
    let cb = props.on_action.clone();
    let close = Callback::from(move |_| cb.emit(Action::ToggleHelp));
    let keys = [
        ("Space", "play / pause"),
        ("← / ↑", "step back one event"),
        ("→ / ↓", "step forward one event"),
        ("Home / End", "jump to start / end"),
        ("F", "next fault"),
        ("D", "next decision"),
        ("V", "violation"),
        ("U or Ctrl+Z", "undo the last fault or change"),
        ("Enter on an arrow", "inspect the message"),
        ("?", "this help"),
        ("Esc", "close overlays and the inspector"),
    ];
    html! {
        <div class="overlay" role="dialog" aria-modal="true" aria-label="Keyboard shortcuts">
            <div class="dialog">
                <h2>{"Keyboard shortcuts"}</h2>
                <table class="keys">
                    { for keys.iter().map(|(k, what)| html! { <tr><th><kbd>{ *k }</kbd></th><td>{ *what }</td></tr> }) }
                </table>
                <p class="muted">{"Faults are injected at the cursor: they fire right after the event at the cursor. Injecting while rewound forks the timeline; Undo brings the old future back."}</p>
                <button onclick={close} autofocus=true>{"Close"}</button>
            </div>
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct ImportProps {
    pub data: Rc<RunData>,
    pub error: Option<String>,
    pub on_action: Callback<Action>,
}

#[component]
pub fn Import(props: &ImportProps) -> Html {
    let area = use_node_ref();
    let initial = use_memo(props.data.clone(), |d| d.run.scenario().to_json());
    let load = {
        let area = area.clone();
        let cb = props.on_action.clone();
        Callback::from(move |_| {
            if let Some(t) = area.cast::<HtmlTextAreaElement>() {
                cb.emit(Action::Import(t.value()));
            }
        })
    };
    let cb = props.on_action.clone();
    let close = Callback::from(move |_| cb.emit(Action::ToggleImport));
    html! {
        <div class="overlay" role="dialog" aria-modal="true" aria-label="Scenario JSON">
            <div class="dialog dialog-wide">
                <h2>{"Scenario JSON"}</h2>
                <p class="muted">{"Copy this scenario, or paste one and load it. A scenario that does not check leaves the current run untouched."}</p>
                <textarea ref={area} class="json" spellcheck="false" aria-label="Scenario JSON" value={(*initial).clone()} />
                if let Some(e) = &props.error {
                    <p class="error import-error" role="alert">{ e.clone() }</p>
                }
                <div class="dialog-buttons">
                    <button class="primary import-load" onclick={load}>{"Load scenario"}</button>
                    <button onclick={close}>{"Close"}</button>
                </div>
            </div>
        </div>
    }
}
