//! The shell: one reducer, the playback and keyboard hooks, and the panels. The same
//! component is the full page (header, pickers, page-wide shortcuts) and an embedded widget
//! (its own region, the controls its author chose, shortcuts only while it has the focus).

use super::cards::NodeCards;
use super::compare::CompareView;
use super::controls::{Playback, Toolbar};
use super::diagram::Diagram;
use super::faults::FaultPanel;
use super::inspector::Inspector;
use super::narration::{EventLog, Narration};
use super::overlays::{Help, Import};
use super::properties::Properties;
use super::summary::RunSummary;
use super::InWidget;
use crate::embed::{Controls, EmbedOptions};
use crate::hooks::{use_hash_change, use_keyboard, use_playback, use_settled, Shortcut};
use crate::state::{Action, AppState, Jump};
use std::cell::Cell;
use std::rc::Rc;
use yew::prelude::*;

/// How a widget embedded in a page is set up (`<commit-scope>`, `embed.html`).
#[derive(Clone, Debug, PartialEq)]
pub struct Embed {
    pub options: EmbedOptions,
    /// The full app's page (`…/index.html`), for the "open in CommitScope" link.
    pub app_url: Option<String>,
    /// The reader asked for reduced motion: no autoplay.
    pub reduced_motion: bool,
}

#[derive(Properties, PartialEq, Default)]
pub struct AppProps {
    /// A preset to start with (default: the 2PC happy path).
    #[prop_or_default]
    pub preset: Option<AttrValue>,
    /// Read the starting moment from the address (`#preset=…&at=…`) and keep the address
    /// a link to the current moment. The page does; tests and embeds may not.
    #[prop_or_default]
    pub use_address: bool,
    /// Set when the app is a widget in someone else's page: its own landmark, the controls
    /// its author chose, keyboard shortcuts only while it has the focus.
    #[prop_or_default]
    pub embed: Option<Rc<Embed>>,
}

thread_local! {
    static NEXT_ID: Cell<u32> = const { Cell::new(0) };
}

/// How long the cursor rests before the address bar follows it.
const ADDRESS_DELAY_MS: u32 = 250;

fn write_address(hash: &str) {
    if let Some(w) = web_sys::window() {
        if w.location().hash().ok().as_deref() != Some(hash) {
            if let Ok(h) = w.history() {
                let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(hash));
            }
        }
    }
}

/// A prefix for element ids unique to one app on the page (several widgets share a page).
fn unique_prefix() -> String {
    NEXT_ID.with(|n| {
        n.set(n.get() + 1);
        format!("cs{}", n.get())
    })
}

#[component]
pub fn App(props: &AppProps) -> Html {
    let preset = props.preset.clone();
    let use_address = props.use_address;
    let embed = props.embed.clone();
    let controls = embed.as_ref().map_or(Controls::ALL, |e| e.options.controls);
    let state = use_reducer({
        let embed = embed.clone();
        move || {
            if let Some(e) = embed {
                let mut s = e.options.state();
                if s.playing && e.reduced_motion {
                    s.playing = false;
                    s.notice = Some("autoplay is off: reduced motion is requested".into());
                }
                return s;
            }
            let hash = web_sys::window()
                .filter(|_| use_address)
                .and_then(|w| w.location().hash().ok())
                .unwrap_or_default();
            AppState::from_link(&hash)
                .or_else(|| preset.and_then(|p| AppState::from_preset(&p)))
                .unwrap_or_default()
        }
    });
    let ids = use_memo((), |_| unique_prefix());
    let log_id = format!("{ids}-log");
    let root = use_node_ref();
    // The address is a link to this moment of this run, written once the cursor rests: a
    // history entry per step would be needless work while playing (and browsers limit how
    // often a page may replace it).
    use_effect_with((state.data.clone(), state.cursor), {
        let state = state.clone();
        move |_| {
            let timer = use_address.then(|| {
                gloo_timers::callback::Timeout::new(ADDRESS_DELAY_MS, move || {
                    write_address(&state.link())
                })
            });
            move || drop(timer)
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
        let scope = embed.is_some().then(|| root.clone());
        use_keyboard(
            scope,
            Callback::from(move |s: Shortcut| {
                // A key does only what a visible control does.
                let shown = match s {
                    Shortcut::TogglePlay => controls.play,
                    Shortcut::Back | Shortcut::Forward | Shortcut::Start | Shortcut::End => {
                        controls.step
                    }
                    Shortcut::NextFault | Shortcut::NextDecision | Shortcut::Violation => {
                        controls.jumps
                    }
                    Shortcut::Undo => controls.faults || controls.scenario,
                    Shortcut::Help | Shortcut::Escape => true,
                };
                if !shown {
                    return;
                }
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
            }),
        );
    }

    let s = &*state;
    let data = s.data.clone();
    // The detail panels' run and moment: while the scrubber is dragged, the last ones they
    // drew until it rests (a drag's frames draw the diagram, the clock and the narration).
    // The fault panel is never behind: its buttons act at the cursor.
    let (panel_data, panel_cursor) = use_settled((data.clone(), s.cursor), s.scrubbing);
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
    let toolbar = html! {
        <Toolbar data={data.clone()} cursor={s.cursor} undo={!s.undo.is_empty()} on_action={dispatch.clone()} />
    };
    let height = embed.as_ref().and_then(|e| e.options.height);

    if let Some(mode) = s.compare.as_ref().filter(|_| embed.is_none()) {
        return html! {
            <div class="cs-app cs-compare" data-theme="auto" ref={root}>
                <header class="cs-header">
                    <h1 class="brand"><span class="logo" aria-hidden="true">{"◆"}</span>{"CommitScope"}</h1>
                    <Toolbar data={data} undo={false} compare=true on_action={dispatch.clone()} />
                </header>
                <main class="cs-body">
                    { error.unwrap_or_default() }
                    { notice.unwrap_or_default() }
                    <CompareView data={mode.data.clone()} time={mode.time} playing={s.playing} speed={s.speed} on_action={dispatch.clone()} />
                </main>
                if s.help { <Help on_action={dispatch} /> }
            </div>
        };
    }

    let body = html! {
        <>
            { error.unwrap_or_default() }
            if controls.any_playback() {
                <Playback data={data.clone()} cursor={s.cursor} playing={s.playing} speed={s.speed} {controls} on_action={dispatch.clone()} />
            }
            <Narration data={data.clone()} cursor={s.cursor} />
            { notice.unwrap_or_default() }
            <div class="cs-main">
                <section class="pane-diagram" aria-label="Space-time diagram" role={embed.is_some().then_some("group")}>
                    <Diagram data={data.clone()} cursor={s.cursor} selected={s.selected} {height}
                        described_by={log_id.clone()} on_action={dispatch.clone()}
                        foldable=true folded={s.folded.clone()} />
                    <Legend spans={!data.run.summary().spans.is_empty()} marks={!data.marked.is_empty()} />
                </section>
                <div class="pane-side">
                    <Inspector data={panel_data.clone()} cursor={panel_cursor} selected={s.selected} on_action={dispatch.clone()} />
                    if controls.faults {
                        <FaultPanel data={data.clone()} cursor={s.cursor} undo={s.undo.len()} on_action={dispatch.clone()} />
                    }
                    <Properties data={panel_data.clone()} cursor={panel_cursor} on_action={dispatch.clone()} />
                    <RunSummary data={panel_data.clone()} on_action={dispatch.clone()} />
                    <EventLog id={log_id} data={panel_data.clone()} cursor={panel_cursor} on_action={dispatch.clone()} />
                </div>
            </div>
            <NodeCards data={panel_data} cursor={panel_cursor} selected={s.selected} on_action={dispatch.clone()} />
        </>
    };
    let overlays = html! {
        <>
            if s.help { <Help on_action={dispatch.clone()} /> }
            if s.import { <Import data={data.clone()} error={s.error.clone()} on_action={dispatch.clone()} /> }
        </>
    };

    match &embed {
        None => html! {
            <div class="cs-app" data-theme="auto" ref={root}>
                <header class="cs-header">
                    <h1 class="brand"><span class="logo" aria-hidden="true">{"◆"}</span>{"CommitScope"}</h1>
                    { toolbar }
                </header>
                <main class="cs-body">{ body }</main>
                { overlays }
            </div>
        },
        Some(e) => {
            let scenario = data.run.scenario();
            let title = scenario
                .title
                .clone()
                .or_else(|| data.preset.map(str::to_string))
                .unwrap_or_else(|| format!("a {} scenario", scenario.protocol));
            let open = e.app_url.as_ref().map(|url| {
                let href = format!("{}{}", url.split('#').next().unwrap_or(""), s.link());
                html! {
                    <a class="cs-open" href={href} target="_blank" rel="noopener">
                        {"Open in CommitScope"}<span class="sr-only">{" (opens a new tab)"}</span><span aria-hidden="true">{" ↗"}</span>
                    </a>
                }
            });
            html! {
                // tabindex=-1: a click anywhere in the widget gives it the focus, and with it
                // the keyboard shortcuts.
                <div class="cs-app cs-embed" data-theme={e.options.theme.name()} ref={root}
                    role="region" aria-label={format!("CommitScope: {title}")} tabindex="-1">
                    <div class="cs-embed-head">
                        <span class="brand-mini"><span class="logo" aria-hidden="true">{"◆"}</span>{"CommitScope"}</span>
                        <span class="cs-embed-title">{ title }</span>
                        { open.unwrap_or_default() }
                    </div>
                    if controls.scenario { { toolbar } }
                    <ContextProvider<InWidget> context={InWidget(true)}>
                        <div class="cs-body">{ body }</div>
                    </ContextProvider<InWidget>>
                    { overlays }
                </div>
            }
        }
    }
}

#[derive(Properties, PartialEq)]
struct LegendProps {
    /// The run draws lane spans (locks held, in doubt).
    spans: bool,
    /// The run rings marked events.
    marks: bool,
}

/// What each shape means; shapes and labels, not only colours.
#[component]
fn Legend(props: &LegendProps) -> Html {
    html! {
        <details class="legend">
            <summary>{"Legend"}</summary>
            <ul>
                <li><svg width="22" height="14" aria-hidden="true"><line class="lg-msg" x1="2" y1="7" x2="20" y2="7" stroke="#334155" stroke-width="1.6"/></svg>{"message (sender → receiver)"}</li>
                <li><span class="lg lg-cross" aria-hidden="true">{"✕"}</span>{"message lost (with the reason)"}</li>
                <li><span class="lg lg-dup" aria-hidden="true">{"×2"}</span>{"duplicate copy"}</li>
                <li><span class="lg lg-persist" aria-hidden="true">{"▭"}</span>{"forced write to the durable log"}</li>
                <li><span class="lg lg-commit" aria-hidden="true">{"●✓"}</span>{"decides commit"}</li>
                <li><span class="lg lg-abort" aria-hidden="true">{"■✕"}</span>{"decides abort"}</li>
                <li><span class="lg lg-doubt" aria-hidden="true">{"▨"}</span>{"in doubt: voted yes, may not decide alone"}</li>
                <li><span class="lg lg-down" aria-hidden="true">{"▧"}</span>{"node down (crashed)"}</li>
                <li><span class="lg lg-timer" aria-hidden="true">{"◷"}</span>{"a timer fires"}</li>
                if props.spans {
                    <li><span class="lg lg-locks" aria-hidden="true">{"▮"}</span>{"a transaction holds locks (right of the lane)"}</li>
                    <li><span class="lg lg-doubt" aria-hidden="true">{"▨"}</span>{"a transaction in doubt (left of the lane)"}</li>
                }
                if props.marks {
                    <li><span class="lg lg-ring" aria-hidden="true">{"◯"}</span>{"marked by the run summary (an anomaly's transactions)"}</li>
                }
            </ul>
        </details>
    }
}
