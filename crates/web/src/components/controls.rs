//! The scenario pickers and the playback bar.

use super::share::ShareLink;
use crate::embed::Controls;
use crate::state::{Action, Jump, RunData, MAX_PARTICIPANTS, SPEED_LABELS};
use commitscope_engine::EventId;
use commitscope_protocols::{presets, ProtocolKind};
use std::rc::Rc;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ToolbarProps {
    pub data: Rc<RunData>,
    /// For "Copy link": the moment the link points to.
    #[prop_or_default]
    pub cursor: Option<EventId>,
    pub undo: bool,
    /// The compare view is open: only the toggle (and help) stay.
    #[prop_or_default]
    pub compare: bool,
    pub on_action: Callback<Action>,
}

/// The protocol's switches (`ProtocolKind::switches`) as groups of pressed/unpressed
/// buttons: flipping one keeps the rest of the scenario.
fn switches(scenario: &commitscope_engine::Scenario, on_action: &Callback<Action>) -> Html {
    let Some(kind) = ProtocolKind::from_name(&scenario.protocol) else { return html! {} };
    html! {
        { for kind.switches().iter().map(|sw| {
            let current = sw.current(&scenario.params);
            html! {
                <div class="field switch" role="group" aria-label={sw.label} data-switch={sw.param}>
                    <span>{ sw.label }</span>
                    <div class="segmented">
                        { for sw.choices.iter().enumerate().map(|(i, c)| {
                            let cb = on_action.clone();
                            let (key, value) = (sw.param.to_string(), c.value.json());
                            let onclick = Callback::from(move |_: MouseEvent| cb.emit(Action::SetParam(key.clone(), value.clone())));
                            let on = current == Some(i);
                            html! {
                                <button class={classes!("seg", on.then_some("on"))} aria-pressed={on.to_string()} {onclick}>{ c.label }</button>
                            }
                        }) }
                    </div>
                </div>
            }
        }) }
    }
}

#[derive(Properties, PartialEq)]
struct PresetPickerProps {
    /// The preset on screen, or "" for a scenario of the user's own.
    current: &'static str,
    /// Shown for a scenario of the user's own.
    custom: AttrValue,
    on_action: Callback<Action>,
}

/// The presets, grouped by protocol: a component of its own, so that a step (which
/// re-renders the toolbar for its share link) does not rebuild the long list.
#[component]
fn PresetPicker(props: &PresetPickerProps) -> Html {
    let current = props.current;
    let cb = props.on_action.clone();
    let on_preset = Callback::from(move |e: Event| {
        let v = e.target_unchecked_into::<HtmlSelectElement>().value();
        if !v.is_empty() {
            cb.emit(Action::LoadPreset(v));
        }
    });
    html! {
        <select onchange={on_preset} aria-label="Scenario preset">
            if current.is_empty() {
                <option value="" selected=true>{ props.custom.clone() }</option>
            }
            { for ProtocolKind::ALL.iter().map(|k| {
                let prefix = format!("{}/", k.name());
                html! {
                    <optgroup label={k.title()}>
                        { for presets::ALL.iter().filter(|p| p.id.starts_with(&prefix)).map(|p| html! {
                            <option value={p.id} selected={p.id == current}>{ p.title() }</option>
                        }) }
                    </optgroup>
                }
            }) }
        </select>
    }
}

#[component]
pub fn Toolbar(props: &ToolbarProps) -> Html {
    let scenario = props.data.run.scenario();
    let cb = props.on_action.clone();
    let on_protocol = Callback::from(move |e: Event| {
        cb.emit(Action::SetProtocol(e.target_unchecked_into::<HtmlSelectElement>().value()))
    });
    let kind = ProtocolKind::from_name(&scenario.protocol);
    let size_param = kind.and_then(|k| k.size_param());
    let size_label = kind.map_or("Participants", |k| k.size_label());
    let participants = size_param
        .and_then(|key| scenario.params.get(key))
        .and_then(|v| v.as_u64())
        .unwrap_or_else(|| props.data.run.nodes().len().saturating_sub(1) as u64);
    let cb = props.on_action.clone();
    let on_participants = Callback::from(move |e: Event| {
        let v = e.target_unchecked_into::<HtmlSelectElement>().value();
        if let Ok(n) = v.parse::<u32>() {
            cb.emit(Action::SetParticipants(n));
        }
    });
    let cb = props.on_action.clone();
    let on_seed = Callback::from(move |e: Event| {
        let input = e.target_unchecked_into::<HtmlInputElement>();
        match input.value().trim().parse::<u64>() {
            Ok(n) => cb.emit(Action::SetSeed(n)),
            Err(_) => cb.emit(Action::DismissError),
        }
    });
    let cb = props.on_action.clone();
    let on_import = Callback::from(move |_| cb.emit(Action::ToggleImport));
    let cb = props.on_action.clone();
    let on_undo = Callback::from(move |_| cb.emit(Action::Undo));
    let cb = props.on_action.clone();
    let on_help = Callback::from(move |_| cb.emit(Action::ToggleHelp));
    let current = props.data.preset.unwrap_or("");
    let cb = props.on_action.clone();
    let on_compare = Callback::from(move |_| cb.emit(Action::ToggleCompare));
    let compare_button = html! {
        <button class={classes!("compare-toggle", props.compare.then_some("on"))} onclick={on_compare}
            aria-pressed={props.compare.to_string()}
            title="The same fault plan under two protocols, side by side, with measured costs">{"⇄ Compare"}</button>
    };
    if props.compare {
        return html! {
            <div class="toolbar" role="group" aria-label="Scenario">
                <div class="toolbar-buttons">
                    { compare_button }
                    <button onclick={on_help} aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)">{"?"}</button>
                </div>
            </div>
        };
    }

    html! {
        <div class="toolbar" role="group" aria-label="Scenario">
            <label class="field field-preset">
                <span>{"Scenario"}</span>
                <PresetPicker {current} on_action={props.on_action.clone()}
                    custom={scenario.title.clone().unwrap_or_else(|| "custom scenario".into())} />
            </label>
            <label class="field">
                <span>{"Protocol"}</span>
                <select onchange={on_protocol} aria-label="Protocol">
                    { for ProtocolKind::ALL.iter().map(|k| html! {
                        <option value={k.name()} selected={k.name() == scenario.protocol}>{ k.title() }</option>
                    }) }
                </select>
            </label>
            if size_param.is_some() {
                <label class="field field-small">
                    <span>{ size_label }</span>
                    <select onchange={on_participants} aria-label={format!("Number of {}", size_label.to_lowercase())}>
                        { for (1..=MAX_PARTICIPANTS).map(|n| html! {
                            <option value={n.to_string()} selected={u64::from(n) == participants}>{ n }</option>
                        }) }
                    </select>
                </label>
            }
            { switches(scenario, &props.on_action) }
            <label class="field field-small">
                <span>{"Seed"}</span>
                <input type="number" min="0" value={scenario.seed.to_string()} onchange={on_seed} aria-label="Random seed" />
            </label>
            <div class="toolbar-buttons">
                { compare_button }
                <button onclick={on_undo} disabled={!props.undo} title="Undo the last change (U)">{"↶ Undo"}</button>
                <ShareLink data={props.data.clone()} cursor={props.cursor} />
                <button onclick={on_import} title="Export the diagram, scenario or trace; import a scenario, trace or course transcript">{"⇅ Import / export"}</button>
                <button onclick={on_help} aria-label="Keyboard shortcuts" title="Keyboard shortcuts (?)">{"?"}</button>
            </div>
        </div>
    }
}

/// The transport's icons (paths in a 16 × 16 box), shared by the playback bar and the
/// compare view's clock.
pub(crate) const ICON_START: &str = "M2 2h2.5v12H2zM14 2L5.5 8l8.5 6z";
pub(crate) const ICON_BACK: &str = "M11 2L4 8l7 6z";
pub(crate) const ICON_FORWARD: &str = "M5 2l7 6l-7 6z";
pub(crate) const ICON_END: &str = "M11.5 2H14v12h-2.5zM2 2l8.5 6L2 14z";

/// Play/Pause, saying which it will do.
pub(crate) fn play_button(playing: bool, onclick: Callback<MouseEvent>) -> Html {
    html! {
        <button class="play" {onclick} aria-pressed={playing.to_string()}
            aria-label={if playing { "Pause (Space)" } else { "Play (Space)" }}>
            if playing {
                { icon("M4 2h3v12H4zM9 2h3v12H9z") }{" Pause"}
            } else {
                { icon("M4 2l10 6l-10 6z") }{" Play"}
            }
        </button>
    }
}

/// The playback speed picker (`SPEED_LABELS`), `speed` chosen.
pub(crate) fn speed_select(speed: usize, on_speed: Callback<Event>) -> Html {
    html! {
        <label class="speed">
            <span class="sr-only">{"Speed"}</span>
            <select onchange={on_speed} aria-label="Playback speed">
                { for SPEED_LABELS.iter().enumerate().map(|(i, s)| html! {
                    <option value={i.to_string()} selected={i == speed}>{ *s }</option>
                }) }
            </select>
        </label>
    }
}

/// A 16px icon from one path (fonts on course pages may lack the media glyphs).
pub fn icon(d: &'static str) -> Html {
    html! {
        <svg class="icon" width="14" height="14" viewBox="0 0 16 16" aria-hidden="true">
            <path d={d} />
        </svg>
    }
}

#[derive(Properties, PartialEq)]
pub struct PlaybackProps {
    pub data: Rc<RunData>,
    pub cursor: Option<EventId>,
    pub playing: bool,
    pub speed: usize,
    /// Which groups of controls show (an embed's author may leave some out).
    #[prop_or(Controls::ALL)]
    pub controls: Controls,
    pub on_action: Callback<Action>,
}

/// A button's click that emits `action`.
pub(crate) fn on_click(on_action: &Callback<Action>, action: Action) -> Callback<MouseEvent> {
    let cb = on_action.clone();
    Callback::from(move |_: MouseEvent| cb.emit(action.clone()))
}

/// The speed picker's change: the index into `SPEEDS`.
pub(crate) fn on_speed(on_action: &Callback<Action>) -> Callback<Event> {
    let cb = on_action.clone();
    Callback::from(move |e: Event| {
        if let Ok(i) = e.target_unchecked_into::<HtmlSelectElement>().value().parse::<usize>() {
            cb.emit(Action::SetSpeed(i));
        }
    })
}

/// The time scrubber's input: a virtual time.
pub(crate) fn on_scrub(on_action: &Callback<Action>) -> Callback<InputEvent> {
    let cb = on_action.clone();
    Callback::from(move |e: InputEvent| {
        if let Ok(t) = e.target_unchecked_into::<HtmlInputElement>().value().parse::<u64>() {
            cb.emit(Action::SeekTime(t));
        }
    })
}

#[component]
pub fn Playback(props: &PlaybackProps) -> Html {
    let data = &props.data;
    let a = |action: Action| on_click(&props.on_action, action);
    let (on_speed, on_scrub) = (on_speed(&props.on_action), on_scrub(&props.on_action));
    let time = data.time_at(props.cursor);
    let end = data.rows.end_time;
    let n = data.events().len();
    let pos = props.cursor.map_or(0, |c| c as usize + 1);
    let at_start = props.cursor.is_none();
    let at_end = props.cursor == data.last();
    let c = props.controls;
    html! {
        <div class="playback" role="group" aria-label="Playback">
            if c.play || c.step || c.speed {
                <div class="transport">
                    if c.step {
                        <button onclick={a(Action::ToStart)} disabled={at_start} aria-label="Jump to start (Home)" title="Start (Home)">{ icon(ICON_START) }</button>
                        <button onclick={a(Action::Step(-1))} disabled={at_start} aria-label="Step back one event (←)" title="Step back (←)">{ icon(ICON_BACK) }</button>
                    }
                    if c.play {
                        { play_button(props.playing, a(Action::TogglePlay)) }
                    }
                    if c.step {
                        <button onclick={a(Action::Step(1))} disabled={at_end} aria-label="Step forward one event (→)" title="Step forward (→)">{ icon(ICON_FORWARD) }</button>
                        <button onclick={a(Action::ToEnd)} disabled={at_end} aria-label="Jump to end (End)" title="End (End)">{ icon(ICON_END) }</button>
                    }
                    if c.speed {
                        { speed_select(props.speed, on_speed) }
                    }
                </div>
            }
            <div class="scrub">
                if c.scrub {
                    <input type="range" min="0" max={end.to_string()} value={time.to_string()} oninput={on_scrub}
                        aria-label="Virtual time" aria-valuetext={format!("t={time} of {end}")} />
                }
                <span class="clock" aria-live="off">{ format!("t={time}/{end} · event {pos}/{n}") }</span>
            </div>
            if c.jumps {
                <div class="jumps">
                    <button onclick={a(Action::Jump(Jump::Fault))} title="Next fault (F)">{"⚡ next fault"}</button>
                    <button onclick={a(Action::Jump(Jump::Decision))} title="Next decision (D)">{"● next decision"}</button>
                    <button onclick={a(Action::Jump(Jump::Violation))} title="Violation (V)">{"⚠ violation"}</button>
                </div>
            }
        </div>
    }
}
