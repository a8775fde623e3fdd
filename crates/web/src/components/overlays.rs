//! The help overlay (keyboard shortcuts) and the import/export dialog (downloads; a
//! scenario, trace or course transcript pasted or chosen as a file).

use super::share::{import_file, Exports};
use crate::state::{Action, RunData};
use std::rc::Rc;
use web_sys::{HtmlInputElement, HtmlTextAreaElement};
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
    let cb = props.on_action.clone();
    let on_file = Callback::from(move |e: Event| {
        import_file(&e.target_unchecked_into::<HtmlInputElement>(), cb.clone())
    });
    html! {
        <div class="overlay" role="dialog" aria-modal="true" aria-label="Import and export">
            <div class="dialog dialog-wide">
                <h2>{"Import and export"}</h2>
                <h3>{"Export this run"}</h3>
                <Exports data={props.data.clone()} />
                <p class="muted">{"The diagram is the whole run as a standalone SVG; the trace is every event with the scenario and its trace hash (it imports back)."}</p>
                <h3>{"Import"}</h3>
                <p class="muted">{"Paste or choose a scenario, an exported trace, or a course transcript (the harness's JSON lines: \"-> \" requests are replayed and the last transaction is shown). Anything that does not check leaves the current run untouched."}</p>
                <label class="file-field">
                    <span>{"File: "}</span>
                    <input type="file" class="import-file" accept=".json,.jsonl,.txt,.ndjson,application/json,text/plain" onchange={on_file} aria-label="Import a file" />
                </label>
                <textarea ref={area} class="json" spellcheck="false" aria-label="Scenario, trace or transcript to import" value={(*initial).clone()} />
                if let Some(e) = &props.error {
                    <p class="error import-error" role="alert">{ e.clone() }</p>
                }
                <div class="dialog-buttons">
                    <button class="primary import-load" onclick={load}>{"Load"}</button>
                    <button onclick={close}>{"Close"}</button>
                </div>
            </div>
        </div>
    }
}
