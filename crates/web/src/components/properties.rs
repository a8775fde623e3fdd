//! Each property with its verdict at the cursor, and a jump to the deciding event.

use crate::state::{Action, RunData};
use commitscope_engine::{EventId, PropertyKind};
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct PropertiesProps {
    pub data: Rc<RunData>,
    pub cursor: Option<EventId>,
    pub on_action: Callback<Action>,
}

#[component]
pub fn Properties(props: &PropertiesProps) -> Html {
    let role = super::use_panel_role();
    let list = use_memo(props.data.clone(), |d| d.run.properties());
    html! {
        <section class="panel properties" aria-label="Properties" {role}>
            <h2>{"Properties"}</h2>
            <ul class="props">
                { for list.iter().map(|p| {
                    let seen = p.first.filter(|f| props.cursor.is_some_and(|c| *f <= c));
                    let (class, icon, verdict) = match (p.kind, seen, p.first) {
                        (PropertyKind::Always, Some(f), _) => ("violated", "✕", format!("violated at #{f}")),
                        (PropertyKind::Always, None, Some(_)) => ("holds", "✓", "holds so far".to_string()),
                        (PropertyKind::Always, None, None) => ("holds", "✓", "holds".to_string()),
                        (PropertyKind::Sometimes, Some(f), _) => ("witnessed", "★", format!("witnessed at #{f}")),
                        (PropertyKind::Sometimes, None, Some(_)) => ("pending", "…", "not yet".to_string()),
                        (PropertyKind::Sometimes, None, None) => ("unseen", "–", "not in this run".to_string()),
                    };
                    let jump = p.first.map(|f| {
                        let cb = props.on_action.clone();
                        let onclick = Callback::from(move |_| cb.emit(Action::Seek(Some(f))));
                        html! { <button class="link" {onclick} aria-label={format!("jump to event {f}")}>{ format!("→ #{f}") }</button> }
                    });
                    html! {
                        <li key={p.id} class={classes!("prop", format!("prop-{class}"))} data-property={p.id} title={p.about}>
                            <span class="prop-icon" aria-hidden="true">{ icon }</span>
                            <span class="prop-name">{ p.name }</span>
                            <span class="prop-verdict">{ verdict }</span>
                            { jump.unwrap_or_default() }
                            if let (Some(m), Some(_)) = (&p.message, seen) {
                                <span class={if p.kind == PropertyKind::Always { "prop-msg prop-msg-bad" } else { "prop-msg" }}>{ m.clone() }</span>
                            }
                        </li>
                    }
                }) }
            </ul>
        </section>
    }
}
