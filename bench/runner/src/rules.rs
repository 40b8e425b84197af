//! The `rules` section: what the rules cost. The default rules against each input an
//! uploader can shape to slow them (issue 19; each must scan at 100 MiB/s or more),
//! the cold-start compilation of the default rules, and a deployment's ruleset of
//! thousands of community-style rules compiled from source beside the same set read
//! back precompiled (what a cold start pays with and without `rules/.compiled/`).

use std::time::{Duration, Instant};

use airlock_domain::ports::RuleFile;
use airlock_scan::{
    ScanSettings, Spooled, Subject, adversarial, compile, precompiled, scanner::scan_blocking,
};

use crate::{BenchError, report::Report};

const SECTION: &str = "rules";
/// Bytes of each adversarial input.
const INPUT_MIB: usize = 64;
/// The slowest a default rule may scan any input.
const FLOOR_MIB_PER_S: f64 = 100.0;
/// Rules in the community-style set.
const COMMUNITY_RULES: usize = 5_000;

fn setup(what: &'static str) -> impl Fn(airlock_scan::RulesError) -> BenchError {
    move |e| BenchError::Setup(what, airlock_domain::error_chain(&e))
}

/// Runs the section.
pub fn run(report: &mut Report) -> Result<(), BenchError> {
    let started = Instant::now();
    let defaults = compile(&[], "none").map_err(setup("the default rules"))?;
    report.info(
        SECTION,
        "compile the default rules (cold start, no precompiled set)",
        format!("{:.1} ms", millis(started.elapsed())),
    );
    for adversary in adversarial::inputs(INPUT_MIB * 1024 * 1024) {
        let started = Instant::now();
        scan_blocking(
            &defaults,
            &Spooled::Memory(adversary.bytes),
            &Subject::default(),
            ScanSettings::default(),
        )
        .map_err(|e| BenchError::Invoke(adversary.name.into(), airlock_domain::error_chain(&e)))?;
        let rate = INPUT_MIB as f64 / started.elapsed().as_secs_f64();
        report.check(
            SECTION,
            format!("default rules on {INPUT_MIB} MiB of {}", adversary.name),
            format!("{rate:.0} MiB/s"),
            format!(">= {FLOOR_MIB_PER_S:.0} MiB/s"),
            Some(rate >= FLOOR_MIB_PER_S),
        );
    }
    community(report)
}

/// 5,000 community-style rules: compiled from source, then read back precompiled.
fn community(report: &mut Report) -> Result<(), BenchError> {
    let files = [RuleFile {
        name: "community.yar".into(),
        source: adversarial::community_style_rules(COMMUNITY_RULES),
    }];
    let started = Instant::now();
    let compiled = compile(&files, "bench").map_err(setup("community rules"))?;
    let compiling = started.elapsed();
    if !compiled.left_out().is_empty() {
        return Err(BenchError::Setup(
            "community rules",
            format!("{:?}", compiled.left_out()),
        ));
    }
    let blob = precompiled::to_blob(&compiled)
        .map_err(|e| BenchError::Setup("community blob", airlock_domain::error_chain(&e)))?;
    let started = Instant::now();
    precompiled::from_blob(&blob, compiled.version())
        .map_err(|e| BenchError::Setup("community blob", airlock_domain::error_chain(&e)))?;
    let reading = started.elapsed();
    report.info(
        SECTION,
        format!("{COMMUNITY_RULES} community-style rules compiled from source"),
        format!("{:.0} ms", millis(compiling)),
    );
    report.info(
        SECTION,
        format!(
            "the same rules read back precompiled ({} KiB blob)",
            blob.len() / 1024
        ),
        format!("{:.0} ms", millis(reading)),
    );
    Ok(())
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
