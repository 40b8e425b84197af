//! `airlock-bench`, what `make bench` runs (through `scripts/bench.sh`, which builds
//! the release binaries, installs the tools and starts the AWS emulator): cold start
//! and init work of every function beside a hello-world function and a Python peer,
//! ingest throughput and peak memory beside `sha256sum`, api latency at fixed rates,
//! 1,000 uploads end to end, the `airlock` command beside the bench's own client,
//! sizes, and what the scanning rules cost (adversarial
//! inputs, compiling against reading back precompiled). Every figure is printed beside its target
//! and written to `bench/results/<date>.md`.
//!
//! A second run of the same commit is held to the first: see [`agreement`].
//!
//! `airlock-bench ingest-local DATA KEY` is the child process the ingest section
//! runs: one ingest on the local backend, so its peak memory is its own.

mod agreement;
mod api_load;
mod archives;
mod bill;
mod cli;
mod cold;
mod cpu_share;
mod deployment;
mod e2e;
mod first_verdict;
mod lambda_memory;
mod large;
mod process_usage;
mod report;
mod rules;
mod settings;
mod sizes;
mod stack;
mod stats;
mod throughput;

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    time::Instant,
};

use report::Report;
use settings::Settings;

/// Why a part of the benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Preparing what a measurement needs failed.
    #[error("setting up {0}: {1}")]
    Setup(&'static str, String),
    /// A process under measurement failed or answered wrongly.
    #[error("{0}: {1}")]
    Invoke(String, String),
    /// A file or folder could not be used.
    #[error("{}", .0.display())]
    Io(PathBuf, #[source] std::io::Error),
    /// A `BENCH_*` variable is malformed.
    #[error("{0}")]
    Settings(String),
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.as_slice() {
        [command, data, key] if command == "ingest-local" => {
            throughput::ingest_local_child(Path::new(data), key).await
        }
        [command, earlier, later] if command == "compare" => {
            agreement::compare_files(Path::new(earlier), Path::new(later))
        }
        [] => run_all().await,
        _ => Err(BenchError::Settings(
            "usage: airlock-bench  |  airlock-bench ingest-local DATA KEY  |  airlock-bench compare EARLIER.md LATER.md".into(),
        )),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("airlock-bench: {}", airlock_domain::error_chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// The parts of a run; `BENCH_ONLY=cold,ingest,archives,memory,rules,api,e2e,large,cli,size,bill`
/// picks some (the bill needs the ingest and api sections' figures, and uses memory's).
const SECTIONS: [&str; 11] = [
    "cold", "ingest", "archives", "memory", "rules", "api", "e2e", "large", "cli", "size", "bill",
];

async fn run_all() -> Result<(), BenchError> {
    let started = Instant::now();
    let settings = Settings::from_env().map_err(BenchError::Settings)?;
    let only = std::env::var("BENCH_ONLY").unwrap_or_else(|_| SECTIONS.join(","));
    let wanted = |s: &str| only.split(',').any(|o| o.trim() == s);
    let logs = settings.scratch.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| BenchError::Io(logs.clone(), e))?;
    let header = header(&settings);
    println!("{header}");

    let mut report = Report::default();
    let mut failures = Vec::new();
    let mut record = |report: &mut Report, section: &str, outcome: Result<(), BenchError>| {
        if let Err(e) = outcome {
            let message = format!(
                "{section} could not run: {}",
                airlock_domain::error_chain(&e)
            );
            report.note(message.clone());
            failures.push(message);
        }
    };

    let deployment = if wanted("cold") || wanted("ingest") {
        Some(deployment::Deployment::create().await?)
    } else {
        None
    };
    if let (true, Some(d)) = (wanted("cold"), &deployment) {
        let subjects = settings::subjects(&settings, &d.names);
        let outcome = cold::run(&subjects, settings.spawns, &logs, &mut report).await;
        record(&mut report, "cold start", outcome);
        let outcome = first_verdict::run(&settings, &mut report).await;
        record(&mut report, "cold start with 5,000 rules", outcome);
    }
    let mut measured = bill::Measured::default();
    if let (true, Some(d)) = (wanted("ingest"), &deployment) {
        let outcome = throughput::run(&settings, d, &mut report).await;
        let outcome = outcome.map(|ingest| measured.ingest = ingest);
        record(&mut report, "ingest", outcome);
    }
    if wanted("archives") {
        let outcome = archives::run(&settings, &mut report).await;
        record(&mut report, "archives", outcome);
    }
    if wanted("memory") {
        let outcome = memory_section(&settings, &mut report).await;
        let outcome = outcome.map(|at| measured.at_memory = at);
        record(&mut report, "memory", outcome);
    }
    let stack_binary = settings.bin_dir.join("airlock-stack");
    if wanted("api") {
        let outcome = async {
            let stack =
                stack::Stack::start(&stack_binary, settings.scratch.join("stack-api")).await?;
            api_load::run(&settings, &stack, &mut report).await
        }
        .await;
        let outcome = outcome.map(|p50| measured.api = p50);
        record(&mut report, "api", outcome);
    }
    if wanted("e2e") {
        let outcome = async {
            let stack =
                stack::Stack::start(&stack_binary, settings.scratch.join("stack-e2e")).await?;
            e2e::run(
                stack,
                settings.uploads,
                settings.upload_concurrency,
                &mut report,
            )
            .await
        }
        .await;
        record(&mut report, "end to end", outcome);
    }
    if wanted("large") {
        let outcome = large::run(&settings, &mut report).await;
        record(&mut report, "large object", outcome);
    }
    if wanted("cli") {
        let outcome = cli::run(&settings, &mut report).await;
        record(&mut report, "cli", outcome);
    }
    if wanted("bill") {
        let outcome = bill::run(&measured, &mut report);
        record(&mut report, "bill", outcome);
    }
    if wanted("size") {
        let outcome = sizes::run(&settings, &mut report);
        record(&mut report, "size", outcome);
    }
    if wanted("rules") {
        let outcome = rules::run(&mut report);
        record(&mut report, "rules", outcome);
    }

    report.note(format!(
        "airlock-bench itself ran {:.0} s (building, tool installs and the emulator's start are outside this figure).",
        started.elapsed().as_secs_f64()
    ));
    std::fs::create_dir_all(&settings.results_dir)
        .map_err(|e| BenchError::Io(settings.results_dir.clone(), e))?;
    let path = report::results_path(&settings.results_dir);
    let before_agreement = report.markdown(&header);
    agreement::check(&mut report, &before_agreement, &settings.results_dir, &path);
    let markdown = report.markdown(&header);
    std::fs::write(&path, &markdown).map_err(|e| BenchError::Io(path.clone(), e))?;
    println!("\n{markdown}\nwritten to {}", path.display());
    match failures.first() {
        None => Ok(()),
        Some(first) => Err(BenchError::Setup("every section", first.clone())),
    }
}

/// ingest at every candidate memory size, and the one to choose beside the template's;
/// returns the 1 MiB handler time at each size.
async fn memory_section(
    settings: &Settings,
    report: &mut Report,
) -> Result<Vec<(u64, f64)>, BenchError> {
    let prices = bill::Prices::checked_in()?;
    let template = bill::MemorySizes::from_template()?;
    let measured = lambda_memory::run(settings, prices.arm64_gb_second(), report).await?;
    if !measured.is_empty() {
        lambda_memory::choose(&measured, template.ingest, prices.arm64_gb_second(), report);
    }
    Ok(measured
        .iter()
        .map(|at| (at.memory_mb, at.one_mib_billed))
        .collect())
}

/// What the figures depend on: when, which commit, which machine, how loaded.
fn header(settings: &Settings) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!(
        "# make bench — {}\n\n\
         - commit {commit}; machine: {cores} × {cpu}, {}; shared with other work: the `load` column is the \
         1-minute load average when each figure was taken, and comparisons are ratios taken in this run.\n\
         - binaries: {} (`make bench` builds them with the bench-release profile: release without LTO); \
         scanning on, with the default rules, for objects up to {} MiB; cold start {} spawns per subject; object sizes {:?} MiB, {} rounds on the local backend (times up to 5 below 1 GiB, at least 7: {:?}); \
         api rates {:?} req/s for {} s each; {} uploads end to end, {} at a time.\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        memory(),
        settings.bin_dir.display(),
        settings.max_scan_bytes / 1024 / 1024,
        settings.spawns,
        settings.sizes_mib,
        settings.repeats,
        settings
            .sizes_mib
            .iter()
            .map(|&mib| settings.rounds_for(mib))
            .collect::<Vec<_>>(),
        settings.api_rates,
        settings.api_duration.as_secs(),
        settings.uploads,
        settings.upload_concurrency,
    )
}

fn memory() -> String {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or_else(
            || "unknown memory".into(),
            |kib| format!("{:.0} GiB memory", kib / 1024.0 / 1024.0),
        )
}
