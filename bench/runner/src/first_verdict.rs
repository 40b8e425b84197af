//! Cold start with a deployment's ruleset: ingest spawned against a bucket whose
//! `rules/` holds 5,000 community-style rules, timed from spawn to the verdict of a
//! first 1 MiB file. Once with the precompiled set missing (the first cold start after
//! the rules change: it compiles, scans, and keeps the set under `rules/.compiled/`),
//! then `spawns` times (at most 40) with it there (every other cold start: it reads
//! the set back).

use std::time::{Duration, Instant};

use airlock_lambda_emulator::Function;
use airlock_scan::adversarial;

use crate::{
    BenchError,
    deployment::Deployment,
    report::Report,
    settings::{Settings, function_env, s3_event},
    stats::{median, millis},
    throughput::write_source,
};

const SECTION: &str = "cold start";
/// Rules in the community-style set, as in the rules section.
const COMMUNITY_RULES: usize = 5_000;
/// The first file's size.
const FILE_BYTES: u64 = 1024 * 1024;
/// The target: spawn to the first verdict, precompiled.
const TARGET_MS: f64 = 1000.0;
/// At most this many spawns with the precompiled set: each takes most of a second
/// (the cold start's 120 would add a minute and a half), and 40 gave medians 0.3 %
/// apart in two runs (795 and 797 ms, 2026-12-04).
const VERDICT_SPAWNS: usize = 40;
/// Long enough for a compilation from source on a slow machine.
const TIMEOUT: Duration = Duration::from_secs(600);

/// Measures both cold starts and reports them.
pub async fn run(settings: &Settings, report: &mut Report) -> Result<(), BenchError> {
    let deployment = Deployment::create().await?;
    let rules = adversarial::community_style_rules(COMMUNITY_RULES);
    deployment
        .put("rules/community.yar", rules.into_bytes())
        .await?;
    let source = settings.scratch.join("first-verdict-1MiB.png");
    write_source(&source, FILE_BYTES)?;
    let record = deployment.upload(&source, FILE_BYTES).await?;
    crate::throughput::flush_to_disk()?;

    let compiled = first_verdict(settings, &deployment, &record, "compile").await?;
    let mut precompiled = Vec::new();
    for round in 0..settings.spawns.clamp(1, VERDICT_SPAWNS) {
        deployment.reset(&record).await?;
        let label = format!("precompiled-{round}");
        precompiled.push(first_verdict(settings, &deployment, &record, &label).await?);
    }
    report.info(
        SECTION,
        format!(
            "ingest, {COMMUNITY_RULES} rules compiled from source: spawn → verdict of a first 1 MiB file"
        ),
        format!("{:.0} ms (1 spawn)", millis(compiled)),
    );
    let samples: Vec<f64> = precompiled.into_iter().map(millis).collect();
    let p50 = median(&samples).unwrap_or(f64::NAN);
    report.check(
        SECTION,
        format!(
            "ingest, {COMMUNITY_RULES} rules precompiled: spawn → verdict of a first 1 MiB file ({} spawns)",
            samples.len()
        ),
        format!("{p50:.0} ms median"),
        format!("<= {TARGET_MS:.0} ms"),
        Some(p50 <= TARGET_MS),
    );
    Ok(())
}

/// One spawn of ingest, timed until it answers the file's event with a verdict.
async fn first_verdict(
    settings: &Settings,
    deployment: &Deployment,
    record: &airlock_domain::FileRecord,
    label: &str,
) -> Result<Duration, BenchError> {
    let program = settings.bin_dir.join("airlock-ingest");
    let log = settings.scratch.join(format!("first-verdict-{label}.log"));
    let env = function_env("ingest", &deployment.names, settings);
    let failed = |e: String| BenchError::Invoke(format!("ingest ({label})"), e);
    let event = s3_event(&deployment.names.bucket, &record.key().to_string());
    let started = Instant::now();
    let function = Function::spawn_as_on_lambda(&program, "bench", &env, &log)
        .await
        .map_err(|e| failed(e.to_string()))?;
    let answer = function.api.invoke(event, TIMEOUT).await;
    let elapsed = started.elapsed();
    function.stop().await;
    let answer = answer.map_err(|e| failed(e.to_string()))?;
    if !answer.to_string().contains("decided") {
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        return Err(failed(format!("no verdict: {answer}\n{log}")));
    }
    Ok(elapsed)
}
