//! Embedding: the options of one `<commit-scope>` widget (its attributes, or the query of
//! `embed.html?…`), parsed and checked without a browser, and the starting state they name.
//!
//! Nothing here fails: every bad value becomes a sentence in `EmbedOptions::problems`,
//! which the widget shows inside itself, and the widget still shows a run (the named one
//! when it runs, else the protocol's first preset, else the default preset).

use crate::state::{params_with, AppState, RunData, DEFAULT_PRESET, MAX_PARTICIPANTS};
use commitscope_engine::{EventId, Scenario};
use commitscope_protocols::{presets, ProtocolKind};

/// The attributes a widget reads, in the order the README documents them.
pub const ATTRIBUTES: &[&str] = &[
    "protocol",
    "preset",
    "scenario",
    "participants",
    "controls",
    "autoplay",
    "at",
    "height",
    "theme",
];

/// Attributes any HTML element may carry: the widget leaves them to the page.
const GLOBAL_ATTRIBUTES: &[&str] = &[
    "id",
    "class",
    "style",
    "title",
    "lang",
    "dir",
    "hidden",
    "tabindex",
    "slot",
    "part",
    "role",
    "nonce",
    "translate",
    "inert",
];

/// Bounds on the diagram height an author may ask for, in CSS pixels.
pub const MIN_HEIGHT: u32 = 160;
pub const MAX_HEIGHT: u32 = 4000;

/// Which controls a widget shows. Keyboard shortcuts follow the same set: a key does only
/// what a visible button does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Controls {
    /// Play / pause.
    pub play: bool,
    /// Start, step back, step forward, end.
    pub step: bool,
    /// The virtual-time slider and the clock.
    pub scrub: bool,
    /// The playback speed picker.
    pub speed: bool,
    /// Next fault, next decision, violation.
    pub jumps: bool,
    /// The fault panel (crash, recover, partition, drop/dup/delay) and undo.
    pub faults: bool,
    /// The scenario pickers (preset, protocol, participants, seed) and the JSON dialog.
    pub scenario: bool,
}

impl Controls {
    pub const ALL: Controls = Controls {
        play: true,
        step: true,
        scrub: true,
        speed: true,
        jumps: true,
        faults: true,
        scenario: true,
    };
    pub const NONE: Controls = Controls {
        play: false,
        step: false,
        scrub: false,
        speed: false,
        jumps: false,
        faults: false,
        scenario: false,
    };
    /// What a widget shows when its author names nothing.
    pub const DEFAULT: Controls =
        Controls { play: true, step: true, scrub: true, speed: true, ..Controls::NONE };
    pub const TOKENS: &'static [&'static str] =
        &["play", "step", "scrub", "speed", "jumps", "faults", "scenario", "all", "none"];

    /// Any playback control at all (the playback bar is left out otherwise).
    pub fn any_playback(self) -> bool {
        self.play || self.step || self.scrub || self.speed || self.jumps
    }

    /// Parses `"play step"`, `"play, step"`, `"all"`, `"none"`; unknown words are problems.
    pub fn parse(value: &str) -> (Controls, Vec<String>) {
        let mut c = Controls::NONE;
        let mut problems = Vec::new();
        for word in
            value.split(|ch: char| ch.is_whitespace() || ch == ',').filter(|w| !w.is_empty())
        {
            match word.to_ascii_lowercase().as_str() {
                "play" => c.play = true,
                "step" => c.step = true,
                "scrub" => c.scrub = true,
                "speed" => c.speed = true,
                "jumps" => c.jumps = true,
                "faults" => c.faults = true,
                "scenario" => c.scenario = true,
                "all" => c = Controls::ALL,
                "none" => {}
                _ => problems.push(format!(
                    "controls: unknown control \"{word}\" (known: {})",
                    Controls::TOKENS.join(", ")
                )),
            }
        }
        (c, problems)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Theme {
    /// Follows the reader's `prefers-color-scheme`.
    Auto,
    Light,
    Dark,
}

impl Theme {
    pub fn name(self) -> &'static str {
        match self {
            Theme::Auto => "auto",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }
}

/// The starting moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum At {
    /// Not given: the end of the run, or the start when autoplaying.
    Default,
    Start,
    End,
    Event(EventId),
}

/// A widget's options, checked. `problems` lists every attribute that could not be used,
/// each as one sentence that names the attribute.
#[derive(Clone, Debug, PartialEq)]
pub struct EmbedOptions {
    pub protocol: Option<String>,
    pub preset: Option<String>,
    pub scenario: Option<String>,
    pub participants: Option<u32>,
    pub controls: Controls,
    pub autoplay: bool,
    pub at: At,
    pub height: Option<u32>,
    pub theme: Theme,
    pub problems: Vec<String>,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        EmbedOptions {
            protocol: None,
            preset: None,
            scenario: None,
            participants: None,
            controls: Controls::DEFAULT,
            autoplay: false,
            at: At::Default,
            height: None,
            theme: Theme::Auto,
            problems: Vec::new(),
        }
    }
}

fn parse_bool(key: &str, value: &str, problems: &mut Vec<String>) -> bool {
    match value.trim().to_ascii_lowercase().as_str() {
        // A boolean attribute: `<commit-scope autoplay>` has the empty value.
        "" | "true" | "1" | "yes" | "on" => true,
        v if v == key => true,
        "false" | "0" | "no" | "off" => false,
        _ => {
            problems.push(format!("{key}: expected true or false, not \"{value}\""));
            false
        }
    }
}

impl EmbedOptions {
    /// Reads attribute (or query) pairs. Later pairs override earlier ones.
    pub fn parse<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> EmbedOptions
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut o = EmbedOptions::default();
        let mut problems = Vec::new();
        for (key, value) in pairs {
            let key = key.as_ref().trim().to_ascii_lowercase();
            let value = value.as_ref();
            let v = value.trim();
            match key.as_str() {
                "protocol" => o.protocol = Some(v.to_string()).filter(|v| !v.is_empty()),
                "preset" => o.preset = Some(v.to_string()).filter(|v| !v.is_empty()),
                "scenario" => o.scenario = Some(v.to_string()).filter(|v| !v.is_empty()),
                "participants" => match v.parse::<u32>() {
                    Ok(n) if (1..=MAX_PARTICIPANTS).contains(&n) => o.participants = Some(n),
                    _ => problems.push(format!(
                        "participants: expected a whole number from 1 to {MAX_PARTICIPANTS}, not \"{value}\""
                    )),
                },
                "controls" => {
                    let (c, p) = Controls::parse(v);
                    o.controls = c;
                    problems.extend(p);
                }
                "autoplay" => o.autoplay = parse_bool("autoplay", v, &mut problems),
                "at" => {
                    o.at = match v.to_ascii_lowercase().as_str() {
                        "start" => At::Start,
                        "end" => At::End,
                        _ => match v.trim_start_matches('#').parse::<EventId>() {
                            Ok(n) => At::Event(n),
                            Err(_) => {
                                problems.push(format!(
                                    "at: expected an event number (0, 1, …), \"start\" or \"end\", not \"{value}\""
                                ));
                                At::Default
                            }
                        },
                    }
                }
                "height" => {
                    let n = v.strip_suffix("px").unwrap_or(v).trim().parse::<u32>();
                    match n {
                        Ok(n) if (MIN_HEIGHT..=MAX_HEIGHT).contains(&n) => o.height = Some(n),
                        _ => problems.push(format!(
                            "height: expected the diagram's height in pixels, {MIN_HEIGHT} to {MAX_HEIGHT} (e.g. \"420\" or \"420px\"), not \"{value}\""
                        )),
                    }
                }
                "theme" => {
                    o.theme = match v.to_ascii_lowercase().as_str() {
                        "" | "auto" => Theme::Auto,
                        "light" => Theme::Light,
                        "dark" => Theme::Dark,
                        _ => {
                            problems.push(format!(
                                "theme: expected light, dark or auto, not \"{value}\""
                            ));
                            Theme::Auto
                        }
                    }
                }
                k if GLOBAL_ATTRIBUTES.contains(&k)
                    || k.starts_with("data-")
                    || k.starts_with("aria-")
                    || k.starts_with("on") =>
                {
                    // The page's business (ids, classes, ARIA, data attributes, handlers).
                }
                k => problems.push(format!(
                    "unknown attribute \"{k}\" (known: {})",
                    ATTRIBUTES.join(", ")
                )),
            }
        }
        if o.preset.is_some() && o.scenario.is_some() {
            problems
                .push("preset and scenario: give one of them (the scenario is used)".to_string());
        }
        o.problems = problems;
        o
    }

    /// The starting state: the run these options name, at the starting moment, with every
    /// problem shown as the state's error. Never fails.
    pub fn state(&self) -> AppState {
        let mut problems = self.problems.clone();
        let (scenario, preset) = self.scenario_and_preset(&mut problems);
        let data = scenario
            .as_ref()
            .and_then(|s| match RunData::new(s, preset) {
                Ok(d) => Some(d),
                Err(e) => {
                    problems.push(format!("the scenario does not run: {e}"));
                    None
                }
            })
            .or_else(|| {
                let fallback = self.fallback_preset();
                problems.push(format!("showing the preset \"{}\" instead", fallback.id));
                RunData::new(&fallback.scenario(), Some(fallback.id)).ok()
            });
        let mut state = match data {
            Some(d) => AppState::new(d),
            None => AppState::default(),
        };
        let last = state.data.last();
        state.cursor = match self.at {
            At::Default if self.autoplay => None,
            At::Default | At::End => last,
            At::Start => None,
            At::Event(n) => match last {
                Some(l) if n > l => {
                    problems.push(format!(
                        "at: this run has events 0 to {l}, not {n}; starting at the end"
                    ));
                    Some(l)
                }
                Some(_) => Some(n),
                None => None,
            },
        };
        state.playing = self.autoplay && state.cursor != last;
        if !problems.is_empty() {
            state.error = Some(problems.join("\n"));
        }
        state
    }

    /// The scenario named by `scenario`, `preset` or `protocol` (in that order), with
    /// `participants` applied; `None` when nothing usable is named.
    fn scenario_and_preset(
        &self,
        problems: &mut Vec<String>,
    ) -> (Option<Scenario>, Option<&'static str>) {
        let protocol = self.protocol.as_deref().and_then(|p| {
            let k = ProtocolKind::from_name(p);
            if k.is_none() {
                let known: Vec<&str> = ProtocolKind::ALL.iter().map(|k| k.name()).collect();
                problems.push(format!(
                    "protocol: unknown protocol \"{p}\" (known: {})",
                    known.join(", ")
                ));
            }
            k
        });
        let (scenario, mut preset) = if let Some(json) = &self.scenario {
            match Scenario::from_json(json) {
                Ok(s) => (Some(s), None),
                Err(e) => {
                    problems.push(format!("scenario: {e}"));
                    (None, None)
                }
            }
        } else if let Some(id) = &self.preset {
            match presets::find(id) {
                Some(p) => (Some(p.scenario()), Some(p.id)),
                None => {
                    let family = id.split('/').next().unwrap_or("");
                    let similar: Vec<&str> = presets::ALL
                        .iter()
                        .filter(|p| p.id.split('/').next() == Some(family))
                        .map(|p| p.id)
                        .collect();
                    problems.push(if similar.is_empty() {
                        format!("preset: there is no preset \"{id}\" (`commitscope presets` lists them, e.g. {DEFAULT_PRESET})")
                    } else {
                        format!(
                            "preset: there is no preset \"{id}\" (known: {})",
                            similar.join(", ")
                        )
                    });
                    (None, None)
                }
            }
        } else if let Some(k) = protocol {
            let prefix = format!("{}/", k.name());
            match presets::ALL.iter().find(|p| p.id.starts_with(&prefix)) {
                Some(p) => (Some(p.scenario()), Some(p.id)),
                None => (Some(Scenario::new(k.name())), None),
            }
        } else {
            let p = presets::find(DEFAULT_PRESET);
            (p.map(|p| p.scenario()), p.map(|p| p.id))
        };
        let Some(mut scenario) = scenario else { return (None, None) };
        if let Some(k) = protocol {
            if scenario.protocol != k.name() {
                problems.push(format!(
                    "protocol: \"{}\" does not match the scenario's protocol \"{}\" (the scenario's is used)",
                    k.name(),
                    scenario.protocol
                ));
            }
        }
        if let Some(n) = self.participants {
            // The protocol's own size parameter (the KV store's is its shards).
            let size = commitscope_protocols::ProtocolKind::from_name(&scenario.protocol)
                .and_then(|k| k.size_param())
                .unwrap_or("participants");
            let with = params_with(&scenario, size, n.into());
            match commitscope_protocols::run(&with) {
                Ok(_) => {
                    scenario = with;
                    preset = None;
                }
                Err(e) => problems.push(format!("participants: {e}")),
            }
        }
        (Some(scenario), preset)
    }

    /// What runs when nothing named does: the protocol's first preset, or the default.
    fn fallback_preset(&self) -> &'static presets::Preset {
        let prefix = self
            .protocol
            .as_deref()
            .filter(|p| ProtocolKind::from_name(p).is_some())
            .map(|p| format!("{p}/"));
        prefix
            .and_then(|pre| presets::ALL.iter().find(|p| p.id.starts_with(&pre)))
            .or_else(|| presets::find(DEFAULT_PRESET))
            .unwrap_or(&presets::ALL[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> EmbedOptions {
        EmbedOptions::parse(pairs.iter().copied())
    }

    #[test]
    fn nothing_given_is_the_default_preset_at_its_end() {
        let o = opts(&[]);
        assert!(o.problems.is_empty());
        let s = o.state();
        assert_eq!(s.data.preset, Some(DEFAULT_PRESET));
        assert_eq!(s.cursor, s.data.last());
        assert!(s.error.is_none() && !s.playing);
    }

    #[test]
    fn a_preset_with_controls_autoplay_height_theme() {
        let o = opts(&[
            ("preset", "two_pc/coordinator_crash_blocks"),
            ("controls", "play, step"),
            ("autoplay", ""),
            ("height", "420px"),
            ("theme", "Dark"),
            ("id", "w1"),
            ("data-x", "1"),
            ("aria-label", "x"),
        ]);
        assert!(o.problems.is_empty(), "{:?}", o.problems);
        assert_eq!(o.controls, Controls { play: true, step: true, ..Controls::NONE });
        assert_eq!((o.height, o.theme, o.autoplay), (Some(420), Theme::Dark, true));
        let s = o.state();
        assert_eq!(s.data.preset, Some("two_pc/coordinator_crash_blocks"));
        assert_eq!(s.cursor, None, "autoplay starts at the beginning");
        assert!(s.playing);
    }

    #[test]
    fn at_and_participants() {
        let s = opts(&[("protocol", "three_pc"), ("participants", "5"), ("at", "12")]).state();
        assert!(s.error.is_none(), "{:?}", s.error);
        assert_eq!(s.scenario().protocol, "three_pc");
        assert_eq!(s.data.run.nodes().len(), 6);
        assert_eq!(s.data.preset, None, "changed from the preset");
        assert_eq!(s.cursor, Some(12));
        let s = opts(&[("at", "start")]).state();
        assert_eq!(s.cursor, None);
        let s = opts(&[("at", "99999")]).state();
        assert_eq!(s.cursor, s.data.last());
        assert!(s.error.unwrap().contains("at: this run has events 0 to"));
        // `participants` sets each protocol's own size: the KV store's shards.
        let s = opts(&[("protocol", "kv"), ("participants", "3")]).state();
        assert!(s.error.is_none(), "{:?}", s.error);
        let shards = s.data.run.nodes().iter().filter(|n| n.role == "shard").count();
        assert_eq!(shards, 3);
    }

    #[test]
    fn a_scenario_in_json() {
        let json = presets::find("saga/shipping_down").unwrap().json;
        let s = opts(&[("scenario", json)]).state();
        assert!(s.error.is_none(), "{:?}", s.error);
        assert_eq!(s.scenario().protocol, "saga");
    }

    #[test]
    fn every_bad_value_is_a_sentence_and_something_still_runs() {
        let o = opts(&[
            ("preset", "two_pc/nope"),
            ("controls", "play dance"),
            ("autoplay", "perhaps"),
            ("at", "soon"),
            ("height", "9"),
            ("theme", "neon"),
            ("participants", "0"),
            ("colour", "red"),
        ]);
        assert_eq!(o.problems.len(), 7, "{:?}", o.problems);
        let s = o.state();
        let err = s.error.clone().unwrap();
        for needle in [
            "preset: there is no preset \"two_pc/nope\" (known: two_pc/happy_path",
            "controls: unknown control \"dance\"",
            "autoplay: expected true or false",
            "at: expected an event number",
            "height: expected",
            "theme: expected light, dark or auto, not \"neon\"",
            "participants: expected a whole number from 1 to 7",
            "unknown attribute \"colour\"",
            "showing the preset \"two_pc/happy_path\" instead",
        ] {
            assert!(err.contains(needle), "{needle:?} not in {err}");
        }
        assert!(!s.data.events().is_empty());
    }

    #[test]
    fn bad_scenarios_and_mismatches_are_named() {
        let s = opts(&[("scenario", "{ nope"), ("protocol", "saga")]).state();
        let err = s.error.unwrap();
        assert!(err.contains("scenario: ") && err.contains("not valid JSON"), "{err}");
        assert_eq!(s.data.preset, Some("saga/happy_path"), "the protocol's first preset");
        let bad_node = r#"{"version":1,"protocol":"two_pc","faults":[{"at":3,"crash":"zed"}]}"#;
        let err = opts(&[("scenario", bad_node)]).state().error.unwrap();
        assert!(err.contains("faults[0].crash") && err.contains("zed"), "{err}");
        let err = opts(&[("protocol", "four_pc")]).state().error.unwrap();
        assert!(err.contains("unknown protocol \"four_pc\""), "{err}");
        let err =
            opts(&[("protocol", "saga"), ("preset", "two_pc/happy_path")]).state().error.unwrap();
        assert!(err.contains("does not match"), "{err}");
        let s = opts(&[("preset", "two_pc/happy_path"), ("scenario", "{}")]).state();
        assert!(s.error.unwrap().contains("give one of them"));
    }

    #[test]
    fn controls_words() {
        assert_eq!(Controls::parse("all").0, Controls::ALL);
        assert_eq!(Controls::parse("none").0, Controls::NONE);
        assert_eq!(Controls::parse("").0, Controls::NONE);
        let (c, p) = Controls::parse("PLAY faults\tscenario");
        assert!(c.play && c.faults && c.scenario && !c.step && p.is_empty());
        assert!(!Controls::NONE.any_playback() && Controls::DEFAULT.any_playback());
    }
}
