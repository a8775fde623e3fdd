//! `commitscope`: run a scenario, speak the course's JSON-lines harness, sweep random
//! fault schedules, benchmark the simulator.

mod compare;
mod harness;

use commitscope_engine::erased::AnyRun;
use commitscope_engine::sweep::{sweep, SweepConfig};
use commitscope_engine::{PropertyKind, Scenario, Simulator};
use commitscope_protocols::TwoPc;
use std::io::{BufRead, Write};
use std::process::ExitCode;

const USAGE: &str = "usage:
  commitscope run SCENARIO.json      print the trace, the verdicts and the seed
                                     (exit 1: a safety property is violated; 2: bad input)
  commitscope harness [--trace]      the course's JSON-lines protocol on stdin/stdout
                                     (--trace: each transaction's trace on stderr)
  commitscope sweep [--protocol two_pc|kv] [--seeds N] [--from SEED]
                    [--participants N | --shards S --clients C --params JSON]
                                     random fault schedules (2PC, or the KV store with a concurrent
                                     workload); prints the first failing seed
  commitscope presets [--hashes]     list the presets (--hashes: tests/golden/trace_hashes.json)
  commitscope bench [--seconds S]    simulated events per second: 2PC with 5 participants, and the
                                     KV store with 4 shards and 4 clients
  commitscope compare [--participants N] [--json]
                                     2PC and 3PC measured side by side: costs and fault plans
  commitscope check-history [--json] FILE|-
                                     serializability anomalies (Elle's classes) in a history
                                     (ours or Jepsen's JSON) or a kv trace or scenario
                                     (exit 1: anomalies found; 2: bad input)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => match args.get(1) {
            Some(path) => run(path),
            None => Err(USAGE.to_string()),
        },
        Some("harness") => {
            let stdin = std::io::stdin();
            let stdout = std::io::stdout();
            let trace = args.iter().any(|a| a == "--trace");
            harness::serve(stdin.lock().lines().map_while(Result::ok), &mut stdout.lock(), trace);
            Ok(ExitCode::SUCCESS)
        }
        Some("sweep") => sweep_cmd(&args[1..]),
        Some("presets") => presets(args.iter().any(|a| a == "--hashes")),
        Some("compare") => compare::cmd(&args[1..]),
        Some("check-history") => {
            commitscope_cli::check_history::cmd(&args[1..], USAGE).map(ExitCode::from)
        }
        Some("bench") => bench(&args[1..]),
        _ => Err(USAGE.to_string()),
    };
    result.unwrap_or_else(|e| {
        eprintln!("{e}");
        ExitCode::from(2)
    })
}

fn flag(args: &[String], name: &str, default: u64) -> Result<u64, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{name} takes a whole number\n{USAGE}")),
    }
}

fn run(path: &str) -> Result<ExitCode, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let scenario = Scenario::from_json(&text).map_err(|e| format!("{path}: {e}"))?;
    let run = commitscope_protocols::run(&scenario).map_err(|e| format!("{path}: {e}"))?;
    let mut out = std::io::stdout().lock();
    print_run(&*run, &mut out).map_err(|e| e.to_string())?;
    let violated =
        run.properties().iter().any(|p| p.kind == PropertyKind::Always && p.first.is_some());
    Ok(if violated { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// The trace, one line per event, then every property's verdict and the seed.
pub fn print_run(run: &dyn AnyRun, out: &mut impl Write) -> std::io::Result<()> {
    let names: Vec<&str> = run.nodes().iter().map(|n| n.name.as_str()).collect();
    writeln!(
        out,
        "# {} · seed {} · nodes {}",
        run.protocol(),
        run.scenario().seed,
        names.join(" ")
    )?;
    for e in run.events() {
        let node = e.node.map_or("net", |n| names[n as usize]);
        writeln!(out, "#{:<5} t={:<6} {:<6} {:<13} {}", e.id, e.time, node, e.kind, e.narration)?;
    }
    let last_time = run.events().last().map_or(0, |e| e.time);
    writeln!(out, "end: {:?} at t={last_time} after {} events", run.end(), run.events().len())?;
    for b in run.blocked_spans() {
        let until = b.until.map_or("the end".to_string(), |e| format!("#{e}"));
        writeln!(
            out,
            "blocked: {} from #{} until {until}: {}",
            names[b.node.idx()],
            b.from,
            b.why
        )?;
    }
    let summary = run.summary();
    for (label, value) in &summary.rows {
        writeln!(out, "summary: {label}: {value}")?;
    }
    for note in &summary.notes {
        writeln!(out, "summary: {note}")?;
    }
    for p in run.properties() {
        let verdict = match (p.kind, p.first) {
            (PropertyKind::Always, None) => "holds".to_string(),
            (PropertyKind::Always, Some(e)) => {
                format!("VIOLATED at #{e}: {}", p.message.unwrap_or_default())
            }
            (PropertyKind::Sometimes, Some(e)) => format!("witnessed at #{e}"),
            (PropertyKind::Sometimes, None) => "not witnessed in this run".to_string(),
        };
        writeln!(out, "{:<17} {:<20} {verdict}", p.id, p.name)?;
    }
    writeln!(out, "seed: {}", run.scenario().seed)?;
    writeln!(out, "trace hash: {:016x}", run.trace_hash())
}

fn presets(hashes: bool) -> Result<ExitCode, String> {
    use commitscope_protocols::presets::ALL;
    let mut golden = serde_json::Map::new();
    for p in ALL {
        let run =
            commitscope_protocols::run(&p.scenario()).map_err(|e| format!("{}: {e}", p.id))?;
        if hashes {
            golden.insert(p.id.to_string(), format!("{:016x}", run.trace_hash()).into());
        } else {
            println!("{:<45} {}", p.id, p.title());
        }
    }
    if hashes {
        let text = serde_json::to_string_pretty(&golden).map_err(|e| e.to_string())?;
        println!("{text}");
    }
    Ok(ExitCode::SUCCESS)
}

fn base_2pc(participants: u32) -> Scenario {
    Scenario::from_json(&format!(
        r#"{{"version": 1, "protocol": "two_pc", "params": {{"participants": {participants}}},
            "requests": [{{"at": 0, "request": {{"transfer": 100}}}}]}}"#
    ))
    .expect("the built-in 2PC scenario is valid")
}

fn sweep_cmd(args: &[String]) -> Result<ExitCode, String> {
    let count = flag(args, "--seeds", 100_000)?;
    let from = flag(args, "--from", 1)?;
    let participants = flag(args, "--participants", 3)? as u32;
    let protocol = args
        .iter()
        .position(|a| a == "--protocol")
        .map(|i| args.get(i + 1).map(String::as_str).ok_or("--protocol needs a value"))
        .transpose()?
        .unwrap_or("two_pc");
    let result = match protocol {
        "two_pc" => sweep::<TwoPc>(&base_2pc(participants), from, count, &SweepConfig::default()),
        "kv" => {
            use commitscope_protocols::kv::{sweep_base, Kv};
            let shards = flag(args, "--shards", 3)? as u32;
            let clients = flag(args, "--clients", 3)? as u32;
            let extra = match args.iter().position(|a| a == "--params") {
                None => serde_json::json!({}),
                Some(i) => {
                    let text = args.get(i + 1).ok_or("--params needs a JSON object")?;
                    serde_json::from_str(text).map_err(|e| format!("--params: {e}"))?
                }
            };
            let cfg = SweepConfig {
                fault_ticks: 300,
                settle_ticks: 3_000,
                max_faults: 6,
                max_requests: 2,
            };
            let base = sweep_base(shards, clients, &extra);
            // A bad parameter is refused here, with its name, before any schedule runs.
            commitscope_protocols::run(&base).map_err(|e| format!("--params: {e}"))?;
            sweep::<Kv>(&base, from, count, &cfg)
        }
        other => {
            return Err(format!("sweep: no sweep for protocol \"{other}\" (known: two_pc, kv)"))
        }
    };
    match result {
        Ok(events) => {
            println!("{count} schedules from seed {from}: no violation, every run settled ({events} events)");
            Ok(ExitCode::SUCCESS)
        }
        Err(f) => {
            println!("seed {} fails: {}\n{}", f.seed, f.problem, f.scenario.to_json());
            Ok(ExitCode::from(1))
        }
    }
}

#[allow(clippy::disallowed_methods)] // a benchmark measures wall-clock time on purpose
fn bench(args: &[String]) -> Result<ExitCode, String> {
    use std::time::Instant;
    let seconds = flag(args, "--seconds", 3)?;
    let base = base_2pc(5);
    let cfg = SweepConfig { max_requests: 3, ..SweepConfig::default() };
    let start = Instant::now();
    let (mut events, mut runs, mut seed) = (0u64, 0u64, 0u64);
    let mut step_time = std::time::Duration::ZERO;
    while start.elapsed().as_secs() < seconds {
        seed += 1;
        let scenario = commitscope_engine::sweep::random_scenario::<TwoPc>(&base, seed, &cfg);
        let mut sim = Simulator::<TwoPc>::from_scenario(&scenario).map_err(|e| e.to_string())?;
        let t = Instant::now();
        while sim.step().is_some() {
            events += 1;
        }
        step_time += t.elapsed();
        runs += 1;
    }
    let per_sec = events as f64 / step_time.as_secs_f64();
    println!(
        "2PC, 5 participants, seeded random fault schedules: {events} events in {runs} runs, {:.2} M events/s (simulation with monitors and triggers, set-up excluded)",
        per_sec / 1e6
    );
    bench_kv(seconds)?;
    Ok(ExitCode::SUCCESS)
}

/// The key-value store with 4 shards and 4 clients under a generated workload and seeded
/// random faults, with every monitor on (the serializability check included).
#[allow(clippy::disallowed_methods)] // a benchmark measures wall-clock time on purpose
fn bench_kv(seconds: u64) -> Result<(), String> {
    use commitscope_protocols::kv::Kv;
    use std::time::Instant;
    let base = commitscope_protocols::kv::sweep_base(
        4,
        4,
        &serde_json::json!({"keys": 16, "workload": {"txns": 20, "interval_ticks": 30,
            "ops_min": 2, "ops_max": 4, "read_percent": 50, "hot_percent": 10, "seed": 1}}),
    );
    let cfg = SweepConfig { max_requests: 2, ..SweepConfig::default() };
    let start = Instant::now();
    let (mut events, mut runs, mut seed) = (0u64, 0u64, 0u64);
    let mut step_time = std::time::Duration::ZERO;
    while start.elapsed().as_secs() < seconds {
        seed += 1;
        let scenario = commitscope_engine::sweep::random_scenario::<Kv>(&base, seed, &cfg);
        let mut sim = Simulator::<Kv>::from_scenario(&scenario).map_err(|e| e.to_string())?;
        let t = Instant::now();
        while sim.step().is_some() {
            events += 1;
        }
        step_time += t.elapsed();
        runs += 1;
    }
    let per_sec = events as f64 / step_time.as_secs_f64();
    println!(
        "KV store, 4 shards × 4 clients, 80 generated transactions, seeded random fault schedules: {events} events in {runs} runs, {:.2} M events/s (with the serializability monitor)",
        per_sec / 1e6
    );
    Ok(())
}
