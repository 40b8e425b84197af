//! ingest's memory size, chosen from measurement: the local backend's ingest of a
//! 1 MiB and a 100 MiB object in a child held to the CPU share Lambda gives each
//! candidate size ([`CpuShare`]), and the size whose compute costs least for the
//! 1 MiB mix among those that meet the latency and memory targets. Each 1 MiB round
//! is priced at its own billed duration, as Lambda bills every invocation: near a
//! small size's CPU quota a scan either fits in its 100 ms period or waits for the
//! next, and a median of three rounds picked one side or the other from run to run
//! (128 MB: 5.0 ms then 82 ms, 2026-12-03). api and publish
//! wait on their calls rather than compute, so their smallest size is their cheapest
//! (their compute is a few hundredths of their request charges; see the bill).

use crate::{
    BenchError,
    bill::rounded_up_to_ms,
    cpu_share::CpuShare,
    report::Report,
    settings::Settings,
    throughput::{self, Run},
};

const SECTION: &str = "memory";
const MIB: u64 = 1024 * 1024;
/// The sizes tried, in MB: Lambda's smallest, powers of two, and one vCPU.
pub const CANDIDATES_MB: [u64; 6] = [128, 256, 512, 1024, 1769, 3008];
/// A 1 MiB file's verdict within this (ingest's handler time).
const LATENCY_1MIB_SECONDS: f64 = 1.0;
/// A 1 GiB file, scaled from 100 MiB, within this share of ingest's 300 s timeout.
const LATENCY_1GIB_SECONDS: f64 = 150.0;
/// Peak memory may use this share of the memory size.
const MEMORY_HEADROOM: f64 = 0.8;

/// ingest measured at one memory size.
#[derive(Debug, Clone, Copy)]
pub struct AtSize {
    /// The memory size, MB.
    pub memory_mb: u64,
    /// Median handler time of a 1 MiB object.
    pub one_mib: Run,
    /// The mean over the 1 MiB rounds of each round's billed duration (rounded up to
    /// the millisecond), seconds.
    pub one_mib_billed: f64,
    /// Median handler time of a 100 MiB object.
    pub hundred_mib: Run,
}

impl AtSize {
    fn meets_targets(&self) -> bool {
        let gib_seconds = self.hundred_mib.work_seconds * 10.24;
        let peak_mb = self.one_mib.peak_kib.max(self.hundred_mib.peak_kib) as f64 * 1024.0 / 1e6;
        self.one_mib.work_seconds <= LATENCY_1MIB_SECONDS
            && gib_seconds <= LATENCY_1GIB_SECONDS
            && peak_mb <= self.memory_mb as f64 * MEMORY_HEADROOM
    }
}

/// The compute charge per million 1 MiB files at `at`'s size, billed per ms on arm64.
pub fn cost_per_million(at: &AtSize, gb_second: f64) -> f64 {
    1e6 * at.one_mib_billed * at.memory_mb as f64 / 1024.0 * gb_second
}

/// Each round's handler time rounded up to the millisecond, averaged: what a million
/// invocations like these rounds are billed on average.
fn mean_billed_seconds(rounds: &[Run]) -> f64 {
    let billed: f64 = rounds
        .iter()
        .map(|r| rounded_up_to_ms(r.work_seconds))
        .sum();
    billed / rounds.len().max(1) as f64
}

/// Measures every candidate; returns what it measured (empty where no cgroup could
/// be made, which the report says).
pub async fn run(
    settings: &Settings,
    gb_second: f64,
    report: &mut Report,
) -> Result<Vec<AtSize>, BenchError> {
    let sources = [(MIB, "1MiB"), (100 * MIB, "100MiB")];
    for (size, name) in sources {
        throughput::write_source(&settings.scratch.join(format!("memory-{name}.png")), size)?;
    }
    let mut measured = Vec::new();
    for memory_mb in CANDIDATES_MB {
        let Some(share) = CpuShare::for_memory(memory_mb) else {
            report.note(
                "memory: no writable cgroup cpu controller here, so ingest was not measured at Lambda's CPU shares",
            );
            return Ok(Vec::new());
        };
        let mut rounds_by_size = Vec::new();
        for (size, name) in sources {
            let source = settings.scratch.join(format!("memory-{name}.png"));
            let mut rounds = Vec::new();
            for round in 0..settings.rounds_for(size / MIB) {
                let data = settings
                    .scratch
                    .join(format!("memory-{memory_mb}-{name}-{round}"));
                let key = throughput::prepare_local(&data, &source, size).await?;
                rounds.push(throughput::ingest_local(
                    &data,
                    &key,
                    settings.max_scan_bytes,
                    Some(&share),
                )?);
                let _ = std::fs::remove_dir_all(&data);
            }
            rounds_by_size.push(rounds);
        }
        let [one_mib, hundred_mib] = [&rounds_by_size[0], &rounds_by_size[1]];
        let at = AtSize {
            memory_mb,
            one_mib: throughput::summary(one_mib),
            one_mib_billed: mean_billed_seconds(one_mib),
            hundred_mib: throughput::summary(hundred_mib),
        };
        report.info(
            SECTION,
            format!("ingest at {memory_mb} MB ({:.3} vCPU)", share.cores),
            format!(
                "1 MiB {:.1} ms (billed {:.2} ms on average), 100 MiB {:.2} s, peak {:.1} MiB; compute ${:.3} per million 1 MiB files{}",
                at.one_mib.work_seconds * 1000.0,
                at.one_mib_billed * 1000.0,
                at.hundred_mib.work_seconds,
                at.one_mib.peak_kib.max(at.hundred_mib.peak_kib) as f64 / 1024.0,
                cost_per_million(&at, gb_second),
                if at.meets_targets() { "" } else { " (misses a target)" },
            ),
        );
        measured.push(at);
    }
    for (_, name) in sources {
        let _ = std::fs::remove_file(settings.scratch.join(format!("memory-{name}.png")));
    }
    Ok(measured)
}

/// The cheapest size that meets every target, and the report row that says so beside
/// the template's.
pub fn choose(measured: &[AtSize], template_mb: u64, gb_second: f64, report: &mut Report) {
    let best = measured
        .iter()
        .filter(|at| at.meets_targets())
        .min_by(|a, b| cost_per_million(a, gb_second).total_cmp(&cost_per_million(b, gb_second)));
    let Some(best) = best else {
        report.check(
            SECTION,
            "ingest's cheapest memory size",
            "none meets the targets",
            "",
            Some(false),
        );
        return;
    };
    let template = measured.iter().find(|at| at.memory_mb == template_mb);
    let value = format!(
        "{} MB (${:.3} per million 1 MiB files; the template's {template_mb} MB: {})",
        best.memory_mb,
        cost_per_million(best, gb_second),
        template.map_or_else(
            || "not a candidate".to_owned(),
            |t| format!("${:.3}", cost_per_million(t, gb_second))
        ),
    );
    let best_cost = cost_per_million(best, gb_second);
    // Within 5 % of the cheapest counts as chosen: the figures are medians of a few runs.
    let met =
        template.map(|t| t.meets_targets() && cost_per_million(t, gb_second) <= best_cost * 1.05);
    report.check(
        SECTION,
        "ingest's cheapest memory size meeting 1 MiB ≤ 1 s, 1 GiB ≤ 150 s, peak ≤ 80 %",
        value,
        format!("the template's MemorySize ({template_mb} MB) within 5 % of it"),
        met,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(memory_mb: u64, one_mib_ms: f64, hundred_mib_s: f64) -> AtSize {
        let run = |work_seconds| Run {
            seconds: work_seconds,
            work_seconds,
            peak_kib: 60 * 1024,
        };
        AtSize {
            memory_mb,
            one_mib: run(one_mib_ms / 1000.0),
            one_mib_billed: rounded_up_to_ms(one_mib_ms / 1000.0),
            hundred_mib: run(hundred_mib_s),
        }
    }

    fn verdict(measured: &[AtSize], template_mb: u64) -> Option<bool> {
        let mut report = Report::default();
        choose(measured, template_mb, 0.0000133334, &mut report);
        let (met, judged) = report.tally();
        (judged == 1).then_some(met == 1)
    }

    #[test]
    fn a_cheaper_size_that_misses_a_latency_target_is_not_chosen() {
        // 128 MB is cheapest but its 1 GiB estimate (20 s × 10.24) is past 150 s.
        let measured = [at(128, 50.0, 20.0), at(512, 20.0, 5.0)];
        assert_eq!(verdict(&measured, 128), Some(false));
        assert_eq!(verdict(&measured, 512), Some(true));
    }

    #[test]
    fn rounds_are_billed_one_by_one_so_a_few_slow_ones_outweigh_a_fast_median() {
        let round = |ms: f64| Run {
            seconds: ms / 1000.0,
            work_seconds: ms / 1000.0,
            peak_kib: 0,
        };
        // Median 4.1 ms, billed 5 ms; but two rounds in five waited for the next period.
        let rounds = [round(4.1), round(82.0), round(3.9), round(4.2), round(81.0)];
        let mean = mean_billed_seconds(&rounds);
        assert!((mean - 0.0354).abs() < 1e-9, "{mean}");
    }

    #[test]
    fn a_size_too_small_for_the_peak_memory_misses_its_target() {
        // 60 MiB of peak is past 80 % of 64 MB.
        assert!(!at(64, 10.0, 1.0).meets_targets());
        assert!(at(128, 10.0, 1.0).meets_targets());
    }
}
