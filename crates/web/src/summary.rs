//! The run-summary panel's model (pure, tested natively): the notes of a run's summary
//! (`AnyRun::summary`), each told apart as an anomaly (drawn as a violation) or not, with
//! the marked events it names and where a click on it jumps.
//!
//! Nothing here knows a protocol. A note reads "NAME (A → B): explanation" or "NAME:
//! explanation"; it is an anomaly when it names one of the run's marked events (the events
//! whose narration names one of the note's A, B, ... as a word), or when a violated
//! always-property's message starts with its NAME.

use commitscope_engine::erased::{EventInfo, PropertyInfo};
use commitscope_engine::{EventId, PropertyKind, Summary};

/// One note of the summary, as the panel shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The note's name ("G2-item") and its cycle ("c2/t1.1 → c1/t1.1"), as written.
    pub head: String,
    /// The rest: the explanation.
    pub text: String,
    pub anomaly: bool,
    /// The marked events it names, in order.
    pub marks: Vec<EventId>,
    /// Where a click on it goes: its first marked event, else the first violation of the
    /// property that names it.
    pub jump: Option<EventId>,
}

/// The note's name: its text up to the first " (" or ":".
fn name(note: &str) -> &str {
    let end = [note.find(" ("), note.find(':')].into_iter().flatten().min().unwrap_or(note.len());
    note[..end].trim()
}

/// The names in the parentheses right after the note's name, before its first ':'
/// ("G0 (c1/t1.1 → c2/t1.1): ..." gives c1/t1.1 and c2/t1.1).
fn cycle(note: &str) -> Vec<&str> {
    let head = note.split(':').next().unwrap_or("");
    let Some(open) = head.find(" (") else { return Vec::new() };
    let Some(close) = head.rfind(')').filter(|c| *c > open) else { return Vec::new() };
    head[open + 2..close]
        .split(['→', ','])
        .map(str::trim)
        .filter(|t| t.chars().count() >= 2)
        .collect()
}

/// Whether `word` occurs in `text` as a whole word (not inside a longer name).
fn has_word(text: &str, word: &str) -> bool {
    let name_char = |c: char| c.is_alphanumeric() || c == '_' || c == '/';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let mut after = text[i + word.len()..].chars();
        let next = after.next();
        let ok_before = !before.is_some_and(name_char);
        let ok_after = match next {
            None => true,
            Some('.') => !after.next().is_some_and(char::is_alphanumeric),
            Some(c) => !name_char(c),
        };
        ok_before && ok_after
    })
}

/// The summary's notes for the panel. `marked` is the summary's marks (sorted);
/// `properties` the run's verdicts.
pub fn notes(
    summary: &Summary,
    marked: &[EventId],
    properties: &[PropertyInfo],
    events: &[EventInfo],
) -> Vec<Note> {
    summary
        .notes
        .iter()
        .map(|note| {
            let names = cycle(note);
            let marks: Vec<EventId> = marked
                .iter()
                .copied()
                .filter(|id| {
                    events
                        .get(*id as usize)
                        .is_some_and(|e| names.iter().any(|n| has_word(&e.narration, n)))
                })
                .collect();
            let n = name(note);
            let violated = properties.iter().find(|p| {
                p.kind == PropertyKind::Always
                    && p.first.is_some()
                    && !n.is_empty()
                    && p.message.as_deref().is_some_and(|m| {
                        m.strip_prefix(n).is_some_and(|r| r.starts_with(':') || r.starts_with(" ("))
                    })
            });
            let (head, text) = match note.split_once(": ") {
                Some((h, t)) => (h.to_string(), t.to_string()),
                None => (String::new(), note.clone()),
            };
            Note {
                head,
                text,
                anomaly: !marks.is_empty() || violated.is_some(),
                jump: marks.first().copied().or(violated.and_then(|p| p.first)),
                marks,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str) -> Box<dyn commitscope_engine::erased::AnyRun> {
        let p = commitscope_protocols::presets::find(id).expect("preset exists");
        commitscope_protocols::run(&p.scenario()).expect("preset runs")
    }

    fn notes_of(id: &str) -> Vec<Note> {
        let r = run(id);
        let mut marked = r.summary().marks.clone();
        marked.sort_unstable();
        notes(r.summary(), &marked, &r.properties(), r.events())
    }

    #[test]
    fn names_cycles_and_words() {
        let n = "G2-item (c2/t1.1 → c1/t1.1): c2/t1.1 read key 1 = [] but ...";
        assert_eq!(name(n), "G2-item");
        assert_eq!(cycle(n), ["c2/t1.1", "c1/t1.1"]);
        assert_eq!(name("No anomaly: the graph (8 edges) has no cycle."), "No anomaly");
        assert!(cycle("No anomaly: the graph (8 edges) has no cycle.").is_empty());
        assert!(cycle("").is_empty() && name("").is_empty());
        assert!(has_word("the answer to c2/t1.1: committed", "c2/t1.1"));
        assert!(has_word("ends with c2/t1.1.", "c2/t1.1"));
        assert!(!has_word("the answer to c2/t1.10: committed", "c2/t1.1"));
        assert!(!has_word("xc2/t1.1", "c2/t1.1"));
        assert!(!has_word("c2/t1.1.2", "c2/t1.1"));
    }

    #[test]
    fn each_weakened_isolation_preset_has_an_anomaly_note_with_its_marks() {
        for (id, anomaly) in [
            ("kv/write_skew", "G2-item"),
            ("kv/read_skew", "G-single"),
            ("kv/lost_update", "lost update"),
            ("kv/dirty_read", "G1a"),
            ("kv/circular_flow", "G1c"),
            ("kv/write_cycle", "G0"),
        ] {
            let notes = notes_of(id);
            let note = notes
                .iter()
                .find(|n| n.head.starts_with(anomaly))
                .unwrap_or_else(|| panic!("{id}: no {anomaly} note in {notes:?}"));
            assert!(note.anomaly, "{id}: {note:?}");
            assert_eq!(note.marks.len(), 2, "{id}: both transactions' answers: {note:?}");
            assert_eq!(note.jump, note.marks.first().copied());
            assert!(note.head.contains('→') && !note.text.is_empty());
        }
    }

    #[test]
    fn a_clean_run_says_so_without_a_violation() {
        for id in ["kv/generated_workload", "kv/coordinator_crash_in_doubt"] {
            let notes = notes_of(id);
            assert_eq!(notes.len(), 1, "{id}: {notes:?}");
            assert!(!notes[0].anomaly && notes[0].marks.is_empty() && notes[0].jump.is_none());
            assert_eq!(notes[0].head, "No anomaly");
        }
        // Protocols without a summary have no notes at all.
        assert!(notes_of("two_pc/happy_path").is_empty());
    }

    #[test]
    fn strange_notes_never_panic() {
        let r = run("kv/write_skew");
        let summary = Summary {
            notes: vec![
                String::new(),
                ":".into(),
                " (".into(),
                "x (→): y".into(),
                "é (ü → ): ".into(),
                ")(: (".into(),
            ],
            ..Summary::default()
        };
        let marked = [0, 1, u32::MAX];
        let out = notes(&summary, &marked, &r.properties(), r.events());
        assert_eq!(out.len(), 6);
        assert!(out.iter().all(|n| !n.anomaly && n.marks.is_empty()));
    }
}
