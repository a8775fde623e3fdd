//! The run-summary panel: what the protocol says about the whole run (`AnyRun::summary`),
//! its figures as a definition list and its notes as a list, an anomaly drawn as a
//! violation with a jump to its transactions' marked events. Shown only when the summary
//! has figures or notes (the key-value store's runs).

use crate::state::{Action, RunData};
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct RunSummaryProps {
    pub data: Rc<RunData>,
    pub on_action: Callback<Action>,
}

#[component]
pub fn RunSummary(props: &RunSummaryProps) -> Html {
    let role = super::use_panel_role();
    let data = &props.data;
    let notes = use_memo(data.clone(), |d| {
        crate::summary::notes(d.run.summary(), &d.marked, &d.run.properties(), d.events())
    });
    let summary = data.run.summary();
    if summary.rows.is_empty() && summary.notes.is_empty() {
        return html! {};
    }
    let marked = data.marked.len();
    html! {
        <section class="panel run-summary" aria-label="Run summary (whole run)" {role}>
            <h2>{"Run summary "}<span class="muted">{"(whole run)"}</span></h2>
            if !summary.rows.is_empty() {
                <dl class="kv summary-rows">
                    { for summary.rows.iter().map(|(k, v)| html! {
                        <>
                            <dt>{ k.clone() }</dt>
                            <dd>{ v.clone() }</dd>
                        </>
                    }) }
                </dl>
            }
            if !notes.is_empty() {
                <ul class="summary-notes" aria-label="notes">
                    { for notes.iter().enumerate().map(|(i, n)| {
                        let jump = n.jump.map(|id| {
                            let cb = props.on_action.clone();
                            let onclick = Callback::from(move |_| cb.emit(Action::Seek(Some(id))));
                            let what = if n.marks.is_empty() { "the violation" } else { "its first marked event" };
                            html! {
                                <button class="link" {onclick} aria-label={format!("jump to {what}, event {id}")}>
                                    { format!("→ #{id}") }
                                </button>
                            }
                        });
                        html! {
                            <li key={i} class={classes!("note", n.anomaly.then_some("note-anomaly"))}>
                                <span class="note-icon" aria-hidden="true">{ if n.anomaly { "✕" } else { "✓" } }</span>
                                <span class="note-text">
                                    if !n.head.is_empty() { <strong class="note-head">{ format!("{}: ", n.head) }</strong> }
                                    { n.text.clone() }
                                </span>
                                { jump.unwrap_or_default() }
                            </li>
                        }
                    }) }
                </ul>
            }
            if marked > 0 {
                <p class="summary-marked muted">
                    <span class="ring-key" aria-hidden="true">{"◯"}</span>
                    { format!(" {marked} marked event{}, ringed in the diagram", if marked == 1 { "" } else { "s" }) }
                </p>
            }
        </section>
    }
}
