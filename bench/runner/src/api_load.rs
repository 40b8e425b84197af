//! api latency under a fixed request rate: `oha` (from crates.io, pinned, installed
//! into `.tools/` by `scripts/bench.sh`) sends GET /v1/files/{id} to the local
//! stack at each rate for the configured time, correcting for coordinated omission.
//! Errors are transport errors plus every non-2xx answer.

use std::path::Path;

use serde_json::Value;

use crate::{
    BenchError,
    report::Report,
    settings::Settings,
    stack::{PNG, Stack},
};

const SECTION: &str = "api";
/// The rate the p99 target is set at.
const TARGET_RATE: u32 = 500;
const TARGET_P99_MS: f64 = 10.0;
/// How oha names requests it abandoned because the run's duration ended.
const CUT_OFF: &str = "aborted due to deadline";

/// Runs every rate against `stack`; returns the median latency at the lowest rate,
/// in seconds (for the bill).
pub async fn run(
    settings: &Settings,
    stack: &Stack,
    report: &mut Report,
) -> Result<Option<f64>, BenchError> {
    let id = stack.upload("load.png", PNG).await?;
    let mut lowest: Option<(u32, f64)> = None;
    let url = format!("{}/v1/files/{id}", stack.base_url);
    for &rate in &settings.api_rates {
        let result = oha(
            &settings.oha,
            &url,
            &stack.token,
            rate,
            settings.api_duration.as_secs(),
        )?;
        let ms = |key: &str| {
            result["latencyPercentiles"][key]
                .as_f64()
                .map(|s| s * 1000.0)
        };
        let slowest = result["summary"]["slowest"].as_f64().map(|s| s * 1000.0);
        let statuses = &result["statusCodeDistribution"];
        let ok: u64 = statuses
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(code, _)| code.starts_with('2'))
            .filter_map(|(_, n)| n.as_u64())
            .sum();
        let total: u64 = statuses
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(_, n)| n.as_u64())
            .sum();
        // Requests still in flight when the duration ends are cut off by oha itself;
        // they are shown, but are not errors of the api.
        let transport: u64 = result["errorDistribution"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(kind, _)| kind.as_str() != CUT_OFF)
            .filter_map(|(_, n)| n.as_u64())
            .sum();
        let cut_off = result["errorDistribution"][CUT_OFF].as_u64().unwrap_or(0);
        let errors = total - ok + transport;
        // Name the kinds, so a transport error (e.g. a request cut off when the
        // duration ends) is told apart from an error answer.
        let kinds: Vec<String> = statuses
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(code, _)| !code.starts_with('2'))
            .chain(
                result["errorDistribution"]
                    .as_object()
                    .into_iter()
                    .flatten(),
            )
            .map(|(kind, n)| format!("{kind}: {n}"))
            .collect();
        let achieved = result["summary"]["requestsPerSec"]
            .as_f64()
            .unwrap_or(f64::NAN);
        let (Some(p50), Some(p99), Some(max)) = (ms("p50"), ms("p99"), slowest) else {
            report.check(
                SECTION,
                format!("{rate} req/s"),
                format!("no latencies in oha's output: {result}"),
                "",
                Some(false),
            );
            continue;
        };
        if lowest.is_none_or(|(r, _)| rate < r) {
            lowest = Some((rate, p50 / 1000.0));
        }
        let value = format!(
            "p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.1} ms, {errors} errors of {}{}, {achieved:.0} req/s achieved",
            total + transport + cut_off,
            if kinds.is_empty() {
                String::new()
            } else {
                format!(" ({})", kinds.join("; "))
            }
        );
        if rate == TARGET_RATE {
            report.check(
                SECTION,
                format!("{rate} req/s for {} s", settings.api_duration.as_secs()),
                value,
                "p99 ≤ 10 ms, 0 errors",
                Some(p99 <= TARGET_P99_MS && errors == 0),
            );
        } else {
            report.info(
                SECTION,
                format!("{rate} req/s for {} s", settings.api_duration.as_secs()),
                value,
            );
        }
    }
    Ok(lowest.map(|(_, p50)| p50))
}

fn oha(tool: &Path, url: &str, token: &str, rate: u32, seconds: u64) -> Result<Value, BenchError> {
    let output = std::process::Command::new(tool)
        .args([
            "--no-tui",
            "--output-format",
            "json",
            "--latency-correction",
        ])
        .args([
            "-q",
            &rate.to_string(),
            "-z",
            &format!("{seconds}s"),
            "-c",
            "50",
        ])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .arg(url)
        .output()
        .map_err(|e| {
            BenchError::Invoke(
                format!("{} (install: scripts/bench.sh)", tool.display()),
                e.to_string(),
            )
        })?;
    if !output.status.success() {
        return Err(BenchError::Invoke(
            "oha".into(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|e| BenchError::Invoke("oha's JSON".into(), e.to_string()))
}
