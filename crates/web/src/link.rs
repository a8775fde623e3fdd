//! Share links: a run and a moment of it in the URL hash, compact and versioned. Pure:
//! formatting and parsing are tested natively; `state` turns a parsed link into a state.
//!
//! Version 1, `key=value` pairs joined by `&`:
//!
//! ```text
//! #v=1&p=two_pc/lost_commit&at=30          a preset, unchanged, right after event #30
//! #v=1&p=two_pc/lost_commit&d=<b64>&at=30  a preset with edits (injected faults, seed, ...)
//! #v=1&s=<b64>&at=start                    any other scenario, before its first event
//! ```
//!
//! `<b64>` is base64url without padding (RFC 4648 §5) of UTF-8 JSON. `d` is a patch on the
//! preset's scenario at the top level: each key replaces that field, `null` removes it (as
//! in a JSON merge patch, RFC 7396), and `"faults+"` appends faults to the preset's (what a
//! click on a fault button does). `s` is the whole scenario, minimised. `at` is an event id,
//! or `start`; without it the link opens at the end of the run.
//!
//! The unversioned links of earlier builds (`#preset=…&at=N`, `#s=<percent-encoded
//! JSON>&at=N`) are still read. A hash with none of `v`, `p`, `s`, `preset` is no link (a
//! page's own anchor); anything else that does not open is a `LinkError` saying why.

use commitscope_engine::vecmap::VecMap;
use commitscope_engine::{EventId, Scenario};
use commitscope_protocols::presets;
use serde_json::{Map, Value};

/// The link format this build writes and reads (older unversioned links are read too).
pub const LINK_VERSION: u32 = 1;

/// Where in the run a link points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum At {
    /// No `at`: the end of the run.
    End,
    /// `at=start`: before the first event.
    Start,
    /// `at=N`: right after event N (may be past the end; the state clamps it).
    Event(u64),
}

/// What a link names.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    pub scenario: Scenario,
    /// The preset the scenario was made from (unchanged or edited), if any.
    pub origin: Option<&'static str>,
    pub at: At,
    /// A problem with the moment (`at=-1`): the run still opens, at its end.
    pub warning: Option<String>,
}

/// Why a link does not open. Each says what is wrong in words a learner can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkError {
    UnknownVersion(String),
    UnknownPreset(String),
    /// `v=1` with neither `p` nor `s`.
    NoScenario,
    /// The base64 or the JSON of `s` or `d` is damaged (truncated, mistyped).
    Damaged {
        field: &'static str,
        problem: String,
    },
    /// It decodes, but is not a scenario this build can run.
    BadScenario(String),
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkError::UnknownVersion(v) => write!(
                f,
                "it is a version \"{v}\" link, and this CommitScope reads version {LINK_VERSION}"
            ),
            LinkError::UnknownPreset(p) => write!(f, "there is no preset \"{p}\""),
            LinkError::NoScenario => write!(f, "it names no scenario (no p= or s=)"),
            LinkError::Damaged { field, problem } => {
                write!(f, "its {field} is damaged (incomplete or mistyped?): {problem}")
            }
            LinkError::BadScenario(e) => write!(f, "its scenario does not check: {e}"),
        }
    }
}

/// The link to `cursor` in the run of `scenario`, made from the preset `origin` if any.
pub fn format(scenario: &Scenario, origin: Option<&str>, cursor: Option<EventId>) -> String {
    at(&scenario_part(scenario, origin), cursor)
}

/// `base` (a link without its moment) pointing at `cursor`.
pub fn at(base: &str, cursor: Option<EventId>) -> String {
    match cursor {
        Some(c) => format!("{base}&at={c}"),
        None => format!("{base}&at=start"),
    }
}

/// The link without its moment: the same for every moment of a run (worth keeping).
pub fn scenario_part(scenario: &Scenario, origin: Option<&str>) -> String {
    let mut out = format!("#v={LINK_VERSION}");
    let current = serde_json::to_value(scenario).unwrap_or(Value::Null);
    let base = origin.and_then(presets::find).and_then(|p| {
        let s = Scenario::from_json(p.json).ok()?;
        Some((p.id, serde_json::to_value(s).ok()?))
    });
    match base {
        Some((id, base)) => {
            out.push_str("&p=");
            out.push_str(id);
            let patch = diff(&base, &current);
            if !patch.is_empty() {
                out.push_str("&d=");
                out.push_str(&b64_encode(Value::Object(patch).to_string().as_bytes()));
            }
        }
        None => {
            out.push_str("&s=");
            out.push_str(&b64_encode(current.to_string().as_bytes()));
        }
    }
    out
}

/// Reads a URL hash (with or without the `#`). `Ok(None)`: the hash is no link at all.
pub fn parse(hash: &str) -> Result<Option<Link>, LinkError> {
    let hash = hash.trim().trim_start_matches('#');
    let mut fields: VecMap<&str, String> = VecMap::new();
    for part in hash.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        fields.insert(k, percent_decode(v));
    }
    let get = |k: &str| fields.get(k).map(String::as_str);
    let (scenario, origin) = match get("v") {
        Some(v) if v != LINK_VERSION.to_string() => {
            return Err(LinkError::UnknownVersion(v.chars().take(20).collect()))
        }
        Some(_) => match (get("s"), get("p")) {
            (Some(s), _) => {
                let bytes = b64_decode(s)
                    .map_err(|problem| LinkError::Damaged { field: "scenario (s=)", problem })?;
                (scenario_from_bytes(&bytes, "scenario (s=)")?, None)
            }
            (None, Some(id)) => {
                let preset = find_preset(id)?;
                let scenario = match get("d") {
                    None => preset.scenario(),
                    Some(d) => apply_edits(preset.json, d)?,
                };
                (scenario, Some(preset.id))
            }
            (None, None) => return Err(LinkError::NoScenario),
        },
        // The unversioned links of earlier builds.
        None => match (get("s"), get("preset")) {
            (Some(json), _) => (scenario_from_bytes(json.as_bytes(), "scenario (s=)")?, None),
            (None, Some(id)) => {
                let preset = find_preset(id)?;
                (preset.scenario(), Some(preset.id))
            }
            (None, None) => return Ok(None),
        },
    };
    let (at, warning) = match get("at") {
        None | Some("") | Some("end") => (At::End, None),
        Some("start") => (At::Start, None),
        Some(n) if n.bytes().all(|b| b.is_ascii_digit()) => {
            // Digits only: too many of them is simply "past the end".
            (At::Event(n.parse().unwrap_or(u64::MAX)), None)
        }
        Some(other) => {
            let shown: String = other.chars().take(20).collect();
            (
                At::End,
                Some(format!(
                    "the link's moment \"{shown}\" is not an event number: showing the end"
                )),
            )
        }
    };
    Ok(Some(Link { scenario, origin, at, warning }))
}

fn find_preset(id: &str) -> Result<&'static presets::Preset, LinkError> {
    presets::find(id).ok_or_else(|| LinkError::UnknownPreset(id.chars().take(60).collect()))
}

fn scenario_from_bytes(bytes: &[u8], field: &'static str) -> Result<Scenario, LinkError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| LinkError::Damaged { field, problem: "not UTF-8 text".into() })?;
    serde_json::from_str::<Value>(text)
        .map_err(|e| LinkError::Damaged { field, problem: format!("not JSON ({e})") })?;
    Scenario::from_json(text).map_err(|e| LinkError::BadScenario(e.to_string()))
}

/// The preset's scenario with the edits `d` (base64url JSON patch) applied.
fn apply_edits(preset_json: &str, d: &str) -> Result<Scenario, LinkError> {
    let field = "edits (d=)";
    let bytes = b64_decode(d).map_err(|problem| LinkError::Damaged { field, problem })?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| LinkError::Damaged { field, problem: "not UTF-8 text".into() })?;
    let patch: Map<String, Value> = match serde_json::from_str(text) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Err(LinkError::Damaged { field, problem: "not a JSON object".into() }),
        Err(e) => return Err(LinkError::Damaged { field, problem: format!("not JSON ({e})") }),
    };
    // The patch was made against the preset as this build reads it (defaults filled in).
    let preset =
        Scenario::from_json(preset_json).map_err(|e| LinkError::BadScenario(e.to_string()))?;
    let mut base = match serde_json::to_value(preset) {
        Ok(Value::Object(m)) => m,
        _ => return Err(LinkError::BadScenario("the preset is not a JSON object".into())),
    };
    let mut appended = None;
    for (k, v) in patch {
        if k == "faults+" {
            appended = Some(v);
        } else if v.is_null() {
            base.remove(&k);
        } else {
            base.insert(k, v);
        }
    }
    if let Some(more) = appended {
        let Value::Array(more) = more else {
            return Err(LinkError::Damaged { field, problem: "\"faults+\" is not a list".into() });
        };
        match base.entry("faults").or_insert_with(|| Value::Array(Vec::new())) {
            Value::Array(faults) => faults.extend(more),
            _ => return Err(LinkError::BadScenario("faults: expected a list".into())),
        }
    }
    Scenario::from_json(&Value::Object(base).to_string())
        .map_err(|e| LinkError::BadScenario(e.to_string()))
}

/// The top-level patch that turns `base` into `current` (both serialized scenarios).
fn diff(base: &Value, current: &Value) -> Map<String, Value> {
    let empty = Map::new();
    let b = base.as_object().unwrap_or(&empty);
    let c = current.as_object().unwrap_or(&empty);
    let mut patch = Map::new();
    for key in b.keys().chain(c.keys()) {
        if patch.contains_key(key) || b.get(key) == c.get(key) {
            continue;
        }
        match (b.get(key), c.get(key)) {
            (_, None) => {
                patch.insert(key.clone(), Value::Null);
            }
            (old, Some(new)) => {
                let old_faults = match old {
                    None => Some(&[][..]),
                    Some(Value::Array(a)) => Some(a.as_slice()),
                    Some(_) => None,
                };
                match (key.as_str(), old_faults, new) {
                    ("faults", Some(old), Value::Array(new)) if new.starts_with(old) => {
                        patch.insert("faults+".into(), Value::Array(new[old.len()..].to_vec()));
                    }
                    _ => {
                        patch.insert(key.clone(), new.clone());
                    }
                }
            }
        }
    }
    patch
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url without padding.
pub fn b64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Base64url (or standard base64), padding optional. Errors say where and what.
pub fn b64_decode(text: &str) -> Result<Vec<u8>, String> {
    let text = text.trim_end_matches('=');
    if text.len() % 4 == 1 {
        return Err(format!("{} base64 characters cannot be whole bytes", text.len()));
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for (i, c) in text.chars().enumerate() {
        let v = match c {
            'A'..='Z' => c as u32 - 'A' as u32,
            'a'..='z' => c as u32 - 'a' as u32 + 26,
            '0'..='9' => c as u32 - '0' as u32 + 52,
            '-' | '+' => 62,
            '_' | '/' => 63,
            _ => return Err(format!("\"{c}\" at character {} is not base64", i + 1)),
        };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).and_then(|b| hex(*b)),
            bytes.get(i + 2).and_then(|b| hex(*b)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trips_every_length_and_byte() {
        let bytes: Vec<u8> = (0..=255u8).collect();
        for n in 0..bytes.len() {
            let enc = b64_encode(&bytes[..n]);
            assert!(enc.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            assert_eq!(enc.len(), (n * 4).div_ceil(3));
            assert_eq!(b64_decode(&enc).unwrap(), &bytes[..n]);
        }
        // RFC 4648 test vectors (padding accepted, standard alphabet too).
        assert_eq!(b64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(b64_encode(b"fo"), "Zm8");
        assert_eq!(b64_decode("Zm8=").unwrap(), b"fo");
        assert_eq!(b64_decode("+/+/").unwrap(), b64_decode("-_-_").unwrap());
        assert!(b64_decode("Zm9vY").unwrap_err().contains("whole bytes"));
        assert!(b64_decode("Zm9v*mFy").unwrap_err().contains("character 5"));
    }

    #[test]
    fn a_patch_replaces_removes_and_appends() {
        let base: Value = serde_json::json!({"seed": 1, "title": "t", "faults": [1]});
        let cur: Value = serde_json::json!({"seed": 2, "faults": [1, 2, 3]});
        let d = diff(&base, &cur);
        assert_eq!(
            Value::Object(d),
            serde_json::json!({"seed": 2, "title": null, "faults+": [2, 3]})
        );
        let cur: Value = serde_json::json!({"seed": 1, "title": "t", "faults": [5]});
        assert_eq!(Value::Object(diff(&base, &cur)), serde_json::json!({"faults": [5]}));
        let cur: Value = serde_json::json!({"seed": 1, "title": "t"});
        assert_eq!(Value::Object(diff(&base, &cur)), serde_json::json!({"faults": null}));
    }

    #[test]
    fn hashes_that_are_no_link() {
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("#"), Ok(None));
        assert_eq!(parse("#section-2"), Ok(None));
        assert_eq!(parse("#at=4"), Ok(None));
    }
}
