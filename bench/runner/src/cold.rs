//! Cold start: each subject is spawned `spawns` times under its own Runtime API
//! emulator, and timed from spawn to the answer of its first invocation. Spawns go
//! round-robin across subjects so the machine's other work falls on all of them
//! alike, and a function's ratio to hello is the median of its ratios round by round,
//! so a slow stretch of the machine moves both sides of each ratio together. Before
//! the timed rounds the disk's write-back is flushed and one untimed round runs, so
//! neither a build's dirty pages nor a binary's first read from disk lands on a
//! sample. The init steps come from the functions' own `init step` log lines; each
//! spawn's CPU time and page faults, read from `/proc` as it answers, say where the
//! rest went.

use std::{
    collections::BTreeMap,
    path::Path,
    time::{Duration, Instant},
};

use airlock_lambda_emulator::{Function, InvokeError};
use airlock_scan::live::RULES_COMPILED_MESSAGE;
use airlock_telemetry::INIT_STEP_MESSAGE;

use crate::{
    BenchError,
    process_usage::ProcessUsage,
    report::Report,
    settings::{Role, Subject},
    stats::{median, millis, quantile},
    throughput::flush_to_disk,
};

const SECTION: &str = "cold start";
const INIT: &str = "init work";
const WORK: &str = "start-up work";

/// What one subject's spawns gave.
#[derive(Default)]
struct Samples {
    start_ms: Vec<f64>,
    steps_us: BTreeMap<String, Vec<f64>>,
    cpu_ms: Vec<f64>,
    minor_faults: Vec<f64>,
}

/// Measures every subject and reports medians, p90s, ratios and init steps.
pub async fn run(
    subjects: &[Subject],
    spawns: usize,
    logs: &Path,
    report: &mut Report,
) -> Result<(), BenchError> {
    let mut samples: Vec<Samples> = subjects.iter().map(|_| Samples::default()).collect();
    flush_to_disk()?;
    for subject in subjects {
        let log = logs.join(format!("cold-{}-warm-up.log", slug(subject.name)));
        spawn_once(subject, &log).await?;
    }
    for round in 0..spawns {
        for (subject, samples) in subjects.iter().zip(samples.iter_mut()) {
            let log = logs.join(format!("cold-{}-{round}.log", slug(subject.name)));
            let (elapsed, usage) = spawn_once(subject, &log).await?;
            samples.start_ms.push(millis(elapsed));
            if let Some(usage) = usage {
                samples.cpu_ms.push(usage.cpu_ms);
                samples.minor_faults.push(usage.minor_faults as f64);
            }
            for (step, micros) in init_steps(&log) {
                samples.steps_us.entry(step).or_default().push(micros);
            }
        }
    }
    summarise(subjects, &samples, report);
    Ok(())
}

/// One spawn's time to its first answer, and what it had spent by then (read after
/// the clock stops, so the reading is not in the time).
async fn spawn_once(
    subject: &Subject,
    log: &Path,
) -> Result<(Duration, Option<ProcessUsage>), BenchError> {
    let started = Instant::now();
    let mut function = Function::spawn_as_on_lambda(&subject.program, "bench", &subject.env, log)
        .await
        .map_err(|e| BenchError::Invoke(subject.name.to_owned(), e.to_string()))?;
    let answer = function.invoke(subject.cold_event.clone()).await;
    let elapsed = started.elapsed();
    let usage = function.pid().and_then(ProcessUsage::of);
    function.stop().await;
    match answer {
        // An error the function reported is an answer too: it started and handled
        // the event. Any other failure means it never answered.
        Ok(_) | Err(InvokeError::Function(_)) => Ok((elapsed, usage)),
        Err(e) => Err(BenchError::Invoke(
            subject.name.to_owned(),
            format!("{e}\n{}", std::fs::read_to_string(log).unwrap_or_default()),
        )),
    }
}

/// `(step, micros)` of every init-step line in a function's JSON log.
fn init_steps(log: &Path) -> Vec<(String, f64)> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines().filter_map(init_step).collect()
}

/// One log line's init step, if it is one. The functions log flat JSON (fields beside
/// `message`); a nested `fields` object, as tracing-subscriber's own JSON format
/// writes it, is read too. The rules' compilation in the background ends with a line
/// of its own, reported as the step [`BACKGROUND_RULES`].
fn init_step(line: &str) -> Option<(String, f64)> {
    let line: serde_json::Value = serde_json::from_str(line).ok()?;
    let fields = if line.get("fields").is_some() {
        &line["fields"]
    } else {
        &line
    };
    if fields["message"] == RULES_COMPILED_MESSAGE {
        let micros = fields["millis"].as_f64()? * 1000.0;
        return Some((BACKGROUND_RULES.to_owned(), micros));
    }
    if fields["message"] != INIT_STEP_MESSAGE {
        return None;
    }
    Some((
        fields["step"].as_str()?.to_owned(),
        fields["micros"].as_f64()?,
    ))
}

/// The step name of the rules' compilation in the background: it overlaps the cold
/// start rather than adding to it, so it is not in the sum of the steps.
const BACKGROUND_RULES: &str = "rules compiled in the background (not in the sum)";

/// The median of `over[i] / under[i]`, round by round: a ratio of two subjects
/// spawned side by side, which a slow stretch of the machine moves far less than
/// either one's median.
fn paired_ratio(over: &[f64], under: &[f64]) -> Option<f64> {
    let ratios: Vec<f64> = over
        .iter()
        .zip(under)
        .filter(|(_, under)| **under > 0.0)
        .map(|(over, under)| over / under)
        .collect();
    median(&ratios)
}

fn summarise(subjects: &[Subject], samples: &[Samples], report: &mut Report) {
    let starts_of = |role: Role| {
        subjects
            .iter()
            .zip(samples)
            .find(|(s, _)| s.role == role)
            .map(|(_, x)| x.start_ms.as_slice())
    };
    let hello = starts_of(Role::Hello);
    let peer = starts_of(Role::Peer);
    for (subject, samples) in subjects.iter().zip(samples) {
        let (Some(p50), Some(p90)) = (median(&samples.start_ms), quantile(&samples.start_ms, 0.9))
        else {
            continue;
        };
        let value = format!(
            "{p50:.1} ms median, {p90:.1} ms p90 ({} spawns)",
            samples.start_ms.len()
        );
        report.info(SECTION, subject.name.to_owned(), value);
        report_work(subject.name, samples, p50, report);
        match subject.role {
            Role::Function => {
                let over_hello = hello.and_then(|h| paired_ratio(&samples.start_ms, h));
                let peer_over = peer.and_then(|p| paired_ratio(p, &samples.start_ms));
                check_targets(subject.name, over_hello, peer_over, report)
            }
            Role::Variant => {
                if let Some(ratio) = hello.and_then(|h| paired_ratio(&samples.start_ms, h)) {
                    report.info(
                        SECTION,
                        format!("{} ÷ hello", subject.name),
                        format!("{ratio:.2}×"),
                    );
                }
            }
            Role::Hello | Role::Peer => continue,
        }
        let steps: Vec<String> = samples
            .steps_us
            .iter()
            .filter_map(|(step, us)| median(us).map(|m| format!("{step} {:.2} ms", m / 1000.0)))
            .collect();
        let total: f64 = samples
            .steps_us
            .iter()
            .filter(|(step, _)| step.as_str() != BACKGROUND_RULES)
            .filter_map(|(_, us)| median(us))
            .sum();
        report.info(
            INIT,
            subject.name.to_owned(),
            format!("{} (sum {:.2} ms; the rest of the cold start is exec, the tokio runtime, logging set-up and the first invocation)", steps.join(", "), total / 1000.0),
        );
    }
}

/// Where a subject's start went: its CPU time on all threads and its page faults
/// (medians), and that CPU time as a share of the median start; the rest of the start
/// was spent off a CPU (waiting on the Runtime API's answers, the disk, or a busy
/// machine).
fn report_work(name: &str, samples: &Samples, start_ms: f64, report: &mut Report) {
    let (Some(cpu_ms), Some(faults)) = (median(&samples.cpu_ms), median(&samples.minor_faults))
    else {
        return;
    };
    report.info(
        WORK,
        name.to_owned(),
        format!(
            "CPU {cpu_ms:.1} ms on all threads, {faults:.0} minor page faults (medians): CPU time is {:.0} % of the median start",
            cpu_ms / start_ms * 100.0
        ),
    );
}

/// A function's start against hello's and the Python peer's, as paired ratios.
fn check_targets(name: &str, over_hello: Option<f64>, peer_over: Option<f64>, report: &mut Report) {
    if let Some(ratio) = over_hello {
        report.check(
            SECTION,
            format!("{name} ÷ hello"),
            format!("{ratio:.2}×"),
            "≤ 1.5×",
            Some(ratio <= 1.5),
        );
    }
    if let Some(ratio) = peer_over {
        report.check(
            SECTION,
            format!("python peer ÷ {name}"),
            format!("{ratio:.1}× faster"),
            "≥ 5× faster",
            Some(ratio >= 5.0),
        );
    }
}

fn slug(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_steps_are_read_from_the_flat_json_the_functions_log() {
        let line = r#"{"timestamp":"t","level":"INFO","target":"airlock_telemetry::init_step","message":"init step","step":"sdk_config","micros":5365}"#;
        assert_eq!(init_step(line), Some(("sdk_config".into(), 5365.0)));
    }

    #[test]
    fn init_steps_are_read_from_nested_fields_too() {
        let line =
            r#"{"level":"INFO","fields":{"message":"init step","step":"rules","micros":17}}"#;
        assert_eq!(init_step(line), Some(("rules".into(), 17.0)));
    }

    #[test]
    fn the_end_of_the_rules_compilation_is_read_as_a_background_step() {
        let line = r#"{"message":"rules compiled","step":"rules","millis":16}"#;
        assert_eq!(init_step(line), Some((BACKGROUND_RULES.into(), 16_000.0)));
    }

    #[test]
    fn a_paired_ratio_is_the_median_of_the_ratios_round_by_round() {
        // Round 2 ran in a slow stretch: both sides doubled, and the ratio held.
        let ingest = [10.0, 20.0, 11.0];
        let hello = [5.0, 10.0, 4.0];
        assert_eq!(paired_ratio(&ingest, &hello), Some(2.0));
        assert_eq!(paired_ratio(&[], &hello), None);
    }

    #[test]
    fn other_log_lines_are_not_init_steps() {
        let line = r#"{"message":"cold start","init_ms":23.3}"#;
        assert_eq!(init_step(line), None);
        assert_eq!(init_step("not json"), None);
    }
}
