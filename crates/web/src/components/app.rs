//! The shell: one reducer, the playback and keyboard hooks, and the panels.

use super::cards::NodeCards;
use super::compare::CompareView;
use super::controls::{Playback, Toolbar};
use super::diagram::Diagram;
use super::faults::FaultPanel;
use super::inspector::Inspector;
use super::narration::{EventLog, Narration};
use super::overlays::{Help, Import};
use super::properties::Properties;
use crate::hooks::{use_hash_change, use_keyboard, use_playback, Shortcut};
use crate::state::{Action, AppState, Jump};
use yew::prelude::*;

#[derive(Properties, PartialEq, Default)]
pub struct AppProps {
    /// A preset to start with (default: the 2PC happy path).
    #[prop_or_default]
    pub preset: Option<AttrValue>,
    /// Read the starting moment from the address (a share link, `#v=1&p=…&at=…`) and keep the address
    /// a link to the current moment. The page does; tests and embeds may not.
    #[prop_or_default]
    pub use_address: bool,
}

#[component]
pub fn App(props: &AppProps) -> Html {
    let preset = props.preset.clone();
    let use_address = props.use_address;
    let state = use_reducer(move || {
        let hash = web_sys::window()
            .filter(|_| use_address)
            .and_then(|w| w.location().hash().ok())
            .unwrap_or_default();
        AppState::from_link(&hash)
            .or_else(|| preset.and_then(|p| AppState::from_preset(&p)))
            .unwrap_or_default()
    });
    // The address is a link to this moment of this run.
    use_effect_with((state.data.clone(), state.cursor), {
        let state = state.clone();
        move |_| {
            if !use_address {
                return;
            }
            let hash = state.link();
            if let Some(w) = web_sys::window() {
                if w.location().hash().ok().as_deref() != Some(hash.as_str()) {
                    if let Ok(h) = w.history() {
                        let _ =
                            h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&hash));
                    }
                }
            }
        }
    });
    let dispatch = {
        let dispatcher = state.dispatcher();
        use_memo((), move |_| Callback::from(move |a: Action| dispatcher.dispatch(a)))
    };
    let dispatch: Callback<Action> = (*dispatch).clone();
    use_playback(state.playing, state.speed, dispatch.clone());
    use_hash_change(use_address, dispatch.reform(Action::OpenLink));
    {
        let dispatch = dispatch.clone();
        use_keyboard(Callback::from(move |s: Shortcut| {
            dispatch.emit(match s {
                Shortcut::TogglePlay => Action::TogglePlay,
                Shortcut::Back => Action::Step(-1),
                Shortcut::Forward => Action::Step(1),
                Shortcut::Start => Action::ToStart,
                Shortcut::End => Action::ToEnd,
                Shortcut::Help => Action::ToggleHelp,
                Shortcut::Escape => Action::CloseOverlays,
                Shortcut::Undo => Action::Undo,
                Shortcut::NextFault => Action::Jump(Jump::Fault),
                Shortcut::NextDecision => Action::Jump(Jump::Decision),
                Shortcut::Violation => Action::Jump(Jump::Violation),
            })
        }));
    }

    let s = &*state;
    let data = s.data.clone();
    let error = s.error.clone().filter(|_| !s.import).map(|e| {
        let cb = dispatch.clone();
        html! {
            <div class="error" role="alert">
                <span class="error-icon" aria-hidden="true">{"⚠"}</span>
                <span class="error-text">{ e }</span>
                <button class="plain" aria-label="dismiss the error" onclick={Callback::from(move |_| cb.emit(Action::DismissError))}>{"✕"}</button>
            </div>
        }
    });
    let notice = s.notice.clone().map(|n| html! { <div class="notice" role="status">{ n }</div> });

    if let Some(mode) = &s.compare {
        return html! {
            <div class="cs-app cs-compare">
                <header class="cs-header">
                    <h1 class="brand"><span class="logo" aria-hidden="true">{"◆"}</span>{"CommitScope"}</h1>
                    <Toolbar data={data} undo={false} compare=true on_action={dispatch.clone()} />
                </header>
                { error.unwrap_or_default() }
                { notice.unwrap_or_default() }
                <CompareView data={mode.data.clone()} time={mode.time} playing={s.playing} speed={s.speed} on_action={dispatch.clone()} />
                if s.help { <Help on_action={dispatch} /> }
            </div>
        };
    }

    html! {
        <div class="cs-app">
            <header class="cs-header">
                <h1 class="brand"><span class="logo" aria-hidden="true">{"◆"}</span>{"CommitScope"}</h1>
                <Toolbar data={data.clone()} cursor={s.cursor} undo={!s.undo.is_empty()} on_action={dispatch.clone()} />
            </header>
            { error.unwrap_or_default() }
            <Playback data={data.clone()} cursor={s.cursor} playing={s.playing} speed={s.speed} on_action={dispatch.clone()} />
            <Narration data={data.clone()} cursor={s.cursor} />
            { notice.unwrap_or_default() }
            <main class="cs-main">
                <section class="pane-diagram" aria-label="Space-time diagram">
                    <Diagram data={data.clone()} cursor={s.cursor} selected={s.selected} on_action={dispatch.clone()} />
                    <Legend />
                </section>
                <aside class="pane-side">
                    <Inspector data={data.clone()} cursor={s.cursor} selected={s.selected} on_action={dispatch.clone()} />
                    <FaultPanel data={data.clone()} cursor={s.cursor} undo={s.undo.len()} on_action={dispatch.clone()} />
                    <Properties data={data.clone()} cursor={s.cursor} on_action={dispatch.clone()} />
                    <EventLog data={data.clone()} cursor={s.cursor} on_action={dispatch.clone()} />
                </aside>
            </main>
            <NodeCards data={data.clone()} cursor={s.cursor} selected={s.selected} on_action={dispatch.clone()} />
            if s.help { <Help on_action={dispatch.clone()} /> }
            if s.import { <Import data={data} error={s.error.clone()} on_action={dispatch} /> }
        </div>
    }
}

/// What each shape means; shapes and labels, not only colours.
#[component]
fn Legend() -> Html {
    html! {
        <details class="legend">
            <summary>{"Legend"}</summary>
            <ul>
                <li><svg width="22" height="14" aria-hidden="true"><line class="shaft" x1="2" y1="7" x2="20" y2="7" style="stroke:#334155;stroke-width:1.6"/></svg>{"message (sender → receiver)"}</li>
                <li><span class="lg lg-cross" aria-hidden="true">{"✕"}</span>{"message lost (with the reason)"}</li>
                <li><span class="lg lg-dup" aria-hidden="true">{"×2"}</span>{"duplicate copy"}</li>
                <li><span class="lg lg-persist" aria-hidden="true">{"▭"}</span>{"forced write to the durable log"}</li>
                <li><span class="lg lg-commit" aria-hidden="true">{"●✓"}</span>{"decides commit"}</li>
                <li><span class="lg lg-abort" aria-hidden="true">{"■✕"}</span>{"decides abort"}</li>
                <li><span class="lg lg-doubt" aria-hidden="true">{"▨"}</span>{"in doubt: voted yes, may not decide alone"}</li>
                <li><span class="lg lg-down" aria-hidden="true">{"▧"}</span>{"node down (crashed)"}</li>
                <li><span class="lg lg-timer" aria-hidden="true">{"◷"}</span>{"a timer fires"}</li>
            </ul>
        </details>
    }
}
