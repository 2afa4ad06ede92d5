//! `outpost-sim [--seeds N] [--first S] [--seed S] [--steps K] [--trace] [--mutant NAME|all]
//! [--postgres]`:
//! runs seeds and prints, for each failing one, its violations, a one-line replay command
//! and its shrunk trace (the fewest steps that still fail), then one summary line.
//! `--postgres` keeps the server's data on a PostgreSQL server it starts (Debian's, as the
//! server's tests do) instead of SQLite files. `cargo xtask sim` builds and runs it.

use std::collections::BTreeMap;
use std::time::Instant;

use outpost_sim::{Mutant, Options, RunReport, run};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // A PostgreSQL server for the whole batch, each run in a database of its own; stopped
    // (and removed) before the process exits.
    let pg = if args.iter().any(|a| a == "--postgres") {
        Some(outpost_testkit::PgServer::start()?)
    } else {
        None
    };
    let failed = batch(&args, pg.as_ref().map(outpost_testkit::PgServer::port))?;
    drop(pg);
    std::process::exit(i32::from(failed));
}

/// Runs what `args` ask; whether anything failed (a violation, a mutant not caught).
fn batch(args: &[String], postgres: Option<u16>) -> anyhow::Result<bool> {
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let seeds: u64 = value("--seeds").map_or(Ok(100), |v| v.parse())?;
    let first: u64 = value("--first").map_or(Ok(1), |v| v.parse())?;
    let steps: u32 = value("--steps").map_or(Ok(Options::default().steps), |v| v.parse())?;
    let mutants: Vec<Mutant> = match value("--mutant").as_deref() {
        None => Vec::new(),
        Some("all") => Mutant::ALL.to_vec(),
        Some(name) => vec![
            Mutant::parse(name)
                .ok_or_else(|| anyhow::anyhow!("no mutant `{name}`: one of {}", names()))?,
        ],
    };
    let base = Options {
        steps,
        mutant: None,
        postgres,
    };
    let on = if postgres.is_some() {
        " on PostgreSQL"
    } else {
        ""
    };
    if let Some(seed) = value("--seed") {
        let seed: u64 = seed.parse()?;
        let options = Options {
            mutant: mutants.first().copied(),
            ..base
        };
        let report = run(seed, options)?;
        let all = args.iter().any(|a| a == "--trace");
        let skip = if all {
            0
        } else {
            report.trace.len().saturating_sub(40)
        };
        for line in &report.trace[skip..] {
            println!("  {line}");
        }
        if !report.violations.is_empty() {
            print_report(&report, options)?;
        }
        println!(
            "faults injected: {:?}; {} user operations",
            report.faults, report.ops
        );
        println!(
            "sim: seed {seed}{on}, {} violations, trace {}",
            report.violations.len(),
            report.trace_hash
        );
        return Ok(!report.violations.is_empty());
    }
    let started = Instant::now();
    let mut faults: BTreeMap<String, u64> = BTreeMap::new();
    let (mut failing, mut ops) = (0u64, 0u64);
    if mutants.is_empty() {
        for seed in first..first + seeds {
            let report = run(seed, base)?;
            for (k, v) in &report.faults {
                *faults.entry(k.clone()).or_default() += v;
            }
            ops += report.ops;
            if !report.violations.is_empty() {
                failing += 1;
                print_report(&report, base)?;
            }
        }
        let per_seed = started.elapsed().as_secs_f64() / seeds.max(1) as f64;
        println!("faults injected: {faults:?}");
        println!(
            "sim: {seeds} seeds{on}, {failing} violations; {ops} user operations; {per_seed:.2} s per seed"
        );
        return Ok(failing > 0);
    }
    // Each mutant: seeds until one catches it (at most `seeds`).
    let mut caught = 0;
    for mutant in &mutants {
        let options = Options {
            mutant: Some(*mutant),
            ..base
        };
        let mut found = None;
        for seed in first..first + seeds {
            let report = run(seed, options)?;
            if !report.violations.is_empty() {
                found = Some((seed - first + 1, report));
                break;
            }
        }
        match found {
            Some((tries, report)) => {
                caught += 1;
                println!(
                    "mutant {}: caught at seed {} after {tries} seed(s): {}",
                    mutant.name(),
                    report.seed,
                    report.violations[0]
                );
            }
            None => println!("mutant {}: NOT caught in {seeds} seeds", mutant.name()),
        }
    }
    println!("sim: mutants caught {caught}/{}{on}", mutants.len());
    Ok(caught < mutants.len())
}

fn names() -> String {
    Mutant::ALL.map(Mutant::name).join(", ")
}

/// Prints a failing seed's violations, its replay command and its shrunk trace.
fn print_report(report: &RunReport, options: Options) -> anyhow::Result<()> {
    let with = options
        .mutant
        .map_or(String::new(), |m| format!(" --mutant {}", m.name()));
    println!(
        "seed {} failed ({} violations); replay: cargo xtask sim --seed {}{with}",
        report.seed,
        report.violations.len(),
        report.seed
    );
    for v in report.violations.iter().take(10) {
        println!("  violation: {v}");
    }
    let (steps, shrunk) = shrink(report.seed, options)?;
    println!(
        "  shrunk to {steps} of {} steps; replay: cargo xtask sim --seed {} --steps {steps} --trace{with}",
        options.steps, report.seed
    );
    for line in &shrunk.trace {
        println!("    {line}");
    }
    Ok(())
}

/// The fewest steps (a prefix of the same run: the seed draws the same steps in the same
/// order) after which `seed` still fails, found by bisection, with that run's report.
fn shrink(seed: u64, options: Options) -> anyhow::Result<(u32, RunReport)> {
    let fails = |steps: u32| -> anyhow::Result<Option<RunReport>> {
        let report = run(seed, Options { steps, ..options })?;
        Ok((!report.violations.is_empty()).then_some(report))
    };
    let mut best = match fails(options.steps)? {
        Some(report) => (options.steps, report),
        None => anyhow::bail!("seed {seed} did not fail again"),
    };
    let (mut passes, mut failing) = (0, options.steps);
    while failing - passes > 1 {
        let mid = passes + (failing - passes) / 2;
        match fails(mid)? {
            Some(report) => {
                failing = mid;
                best = (mid, report);
            }
            None => passes = mid,
        }
    }
    Ok(best)
}
