//! What the key-value store's summary panel shows of a finished run: how many transactions
//! committed, aborted or ended unknown, throughput before, during and after the faults,
//! latency percentiles, the anomalies the checker names (with their transactions marked),
//! and the lane spans: each transaction's lock holding on each shard, and in-doubt stretches.

use super::{Decision, Kv, Msg, Record, Status};
use crate::common::TxnId;
use crate::two_pc::commit;
use commitscope_engine::vecmap::VecMap;
use commitscope_engine::{Event, EventId, EventKind, NodeId, Simulator, Span, Summary, Time};
use commitscope_history as history;

/// The summary of a finished run.
pub fn summary(events: &[Event<Kv>], last: &Simulator<Kv>) -> Summary {
    let mut s = Summary::default();
    let end = events.last().map_or(0, |e| e.time);
    // When each transaction began (its manager's first Exec/ExecCommit/Submit) and ended.
    let mut began: VecMap<TxnId, Time> = VecMap::new();
    let mut answers: Vec<(TxnId, Status, Time, EventId)> = Vec::new();
    let (mut first_fault, mut last_repair): (Option<Time>, Option<Time>) = (None, None);
    // Open lock spans per (shard, txn), and open in-doubt spans.
    let mut holding: VecMap<(NodeId, TxnId), EventId> = VecMap::new();
    let mut doubt: VecMap<(NodeId, TxnId), EventId> = VecMap::new();
    for e in events {
        let Some(node) = e.node else { continue };
        match &e.kind {
            EventKind::Send { msg, .. } => match msg {
                Msg::Submit { txn, .. } | Msg::Exec { txn, .. } | Msg::ExecCommit { txn, .. } => {
                    began.entry(*txn).or_insert(e.time);
                }
                Msg::Refused { txn, .. } => {
                    if let Some(from) = holding.remove(&(node, *txn)) {
                        s.spans.push(span(node, from, Some(e.id), "locks", *txn));
                    }
                }
                _ => {}
            },
            EventKind::Deliver {
                msg: Msg::Exec { txn, .. } | Msg::ExecCommit { txn, .. }, ..
            } => {
                holding.entry((node, *txn)).or_insert(e.id);
            }
            EventKind::Persist { record: Record::TwoPc(commit::Record::Prepared { txn, .. }) } => {
                doubt.insert((node, *txn), e.id);
            }
            EventKind::Decide { decision: Decision::Outcome(d) } => {
                if let Some(from) = doubt.remove(&(node, d.txn)) {
                    s.spans.push(span(node, from, Some(e.id), "in_doubt", d.txn));
                }
                if let Some(from) = holding.remove(&(node, d.txn)) {
                    s.spans.push(span(node, from, Some(e.id), "locks", d.txn));
                }
            }
            EventKind::Decide { decision: Decision::Answer { txn, status, .. } } => {
                answers.push((*txn, *status, e.time, e.id));
            }
            EventKind::Crash => {
                first_fault.get_or_insert(e.time);
                // A crashed shard's locks are gone with it (a prepared one re-takes them).
                let lost: Vec<(NodeId, TxnId)> =
                    holding.keys().filter(|(n, _)| *n == node).copied().collect();
                for k in lost {
                    let from = holding.remove(&k).unwrap_or(e.id);
                    s.spans.push(span(node, from, Some(e.id), "locks", k.1));
                }
            }
            EventKind::Network(_) => {
                first_fault.get_or_insert(e.time);
                last_repair = Some(e.time);
            }
            EventKind::Recover { .. } => last_repair = Some(e.time),
            EventKind::Drop { .. } => {
                first_fault.get_or_insert(e.time);
            }
            _ => {}
        }
        // A recovered shard holds its in-doubt transactions' locks again.
        if let EventKind::Recover { .. } = e.kind {
            for ((n, txn), _) in doubt.clone().iter().filter(|((n, _), _)| *n == node) {
                holding.insert((*n, *txn), e.id);
            }
        }
    }
    for ((node, txn), from) in &holding {
        s.spans.push(span(*node, *from, None, "locks", *txn));
    }
    for ((node, txn), from) in &doubt {
        s.spans.push(span(*node, *from, None, "in_doubt", *txn));
    }
    s.spans.sort_by_key(|sp| (sp.from, sp.node));

    let count = |f: fn(&Status) -> bool| answers.iter().filter(|a| f(&a.1)).count();
    let committed = count(|s| *s == Status::Committed);
    s.rows.push(("transactions answered".into(), answers.len().to_string()));
    s.rows.push(("committed".into(), committed.to_string()));
    s.rows.push(("aborted".into(), count(|s| matches!(s, Status::Aborted { .. })).to_string()));
    s.rows.push(("unknown outcome".into(), count(|s| *s == Status::Unknown).to_string()));
    let blocked = last.blocked_spans().iter().filter(|b| b.until.is_none()).count();
    s.rows.push(("nodes blocked at the end".into(), blocked.to_string()));
    let commits_in = |from: Time, to: Time| {
        answers.iter().filter(|a| a.1 == Status::Committed && a.2 >= from && a.2 < to).count()
    };
    let rate = |n: usize, ticks: Time| {
        if ticks == 0 {
            "—".to_string()
        } else {
            format!("{:.1}", n as f64 * 1000.0 / ticks as f64)
        }
    };
    match first_fault {
        Some(f) => {
            let r = last_repair.filter(|r| *r >= f).unwrap_or(end);
            s.rows.push((
                "throughput (commits per 1,000 ticks)".into(),
                format!(
                    "{} before t={f}, {} until t={r}, {} after",
                    rate(commits_in(0, f), f),
                    rate(commits_in(f, r.saturating_add(1)), r.saturating_add(1) - f),
                    rate(
                        commits_in(r.saturating_add(1), end.saturating_add(1)),
                        end.saturating_sub(r)
                    ),
                ),
            ));
        }
        None => s
            .rows
            .push(("throughput (commits per 1,000 ticks)".into(), rate(committed, end.max(1)))),
    }
    let mut latencies: Vec<Time> = answers
        .iter()
        .filter(|a| a.1 == Status::Committed)
        .filter_map(|a| began.get(&a.0).map(|b| a.2.saturating_sub(*b)))
        .collect();
    latencies.sort_unstable();
    if !latencies.is_empty() {
        let pct =
            |p: usize| latencies[(latencies.len() * p).div_ceil(100).clamp(1, latencies.len()) - 1];
        s.rows.push((
            "commit latency (ticks)".into(),
            format!("p50 {}, p99 {}, max {}", pct(50), pct(99), latencies[latencies.len() - 1]),
        ));
    }
    let locks: Vec<Time> = s
        .spans
        .iter()
        .filter(|sp| sp.kind == "locks")
        .map(|sp| {
            let until = sp.until.map_or(end, |u| events[u as usize].time);
            until.saturating_sub(events[sp.from as usize].time)
        })
        .collect();
    if let Some(max) = locks.iter().max() {
        s.rows.push(("longest lock hold (ticks)".into(), max.to_string()));
    }

    // The anomalies in the whole history, and the answers of their transactions marked.
    let h = last.monitor().history.history();
    let report = history::check(h);
    for a in &report.anomalies {
        let names: Vec<&str> =
            a.txns.iter().filter_map(|i| h.txns.get(*i)).map(|t| t.name.as_str()).collect();
        s.notes.push(format!(
            "{} ({}): {}",
            a.kind.name(),
            names.join(" → "),
            super::explanation(a)
        ));
        for (txn, _, _, id) in &answers {
            if names.contains(&txn.to_string().as_str()) && !s.marks.contains(id) {
                s.marks.push(*id);
            }
        }
    }
    if report.anomalies.is_empty() && !h.txns.is_empty() {
        s.notes.push(format!(
            "No anomaly: the {} committed transactions' dependency graph ({} edges) has no cycle.",
            report.committed, report.edges
        ));
    }
    s.marks.sort_unstable();
    s
}

fn span(
    node: NodeId,
    from: EventId,
    until: Option<EventId>,
    kind: &'static str,
    txn: TxnId,
) -> Span {
    let label = match kind {
        "in_doubt" => format!("{txn} in doubt"),
        _ => format!("{txn} holds locks"),
    };
    Span { node, from, until, kind, label }
}
