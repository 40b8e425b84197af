//! The scanning handlers are built with in tests (the default rules alone, or the
//! default rules plus whatever a test writes into a rules folder), and the plain scan
//! of bytes the scanner's own tests repeat.

use std::path::PathBuf;

use airlock_domain::{ScanLimits, ScanReport};
use airlock_local::DirRuleSource;
use airlock_scan::{
    CompiledRules, ScanSettings, Scanning, Spooled, Subject, scanner::scan_blocking,
};

/// The default rules only, as a deployment without rules of its own has them (the
/// folder does not exist, so the source reports none).
pub fn default_scanning() -> Scanning<DirRuleSource> {
    Scanning::with_default_rules(
        DirRuleSource::new("/nonexistent/airlock-rules"),
        std::time::Duration::ZERO,
        ScanSettings::default(),
        ScanLimits::default(),
    )
    .expect("the default rules compile")
}

/// The default rules plus any in `dir`, checked again before every file (no reload
/// interval), so a rule a test writes is in force for the next scan.
pub async fn scanning_from(dir: impl Into<PathBuf>, limits: ScanLimits) -> Scanning<DirRuleSource> {
    Scanning::start(
        DirRuleSource::new(dir.into()),
        std::time::Duration::ZERO,
        ScanSettings::default(),
        limits,
    )
    .await
    .expect("the default rules and the test's rules compile")
}

/// `spooled` scanned with `rules` and the default settings, as an item with no declared
/// type, name or owner (so only the bytes decide).
pub fn scan_bytes_alone(rules: &CompiledRules, spooled: &Spooled) -> ScanReport {
    scan_blocking(rules, spooled, &Subject::default(), ScanSettings::default())
        .expect("the scan runs")
}

/// `bytes` scanned in memory with `rules` and the default settings, as `subject`.
pub fn scan_as(rules: &CompiledRules, subject: &Subject, bytes: &[u8]) -> ScanReport {
    let spooled = Spooled::Memory(bytes.to_vec());
    scan_blocking(rules, &spooled, subject, ScanSettings::default()).expect("the scan runs")
}

/// The rules a scan matched; any report but `Scanned` fails the test.
pub fn matched(report: ScanReport) -> Vec<String> {
    match report {
        ScanReport::Scanned { matched, .. } => matched,
        other => panic!("not scanned: {other:?}"),
    }
}

/// The process's peak resident memory so far (`VmHWM`), in MiB, as the kernel counts
/// it: what a memory test compares before and after.
pub fn peak_resident_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux's /proc");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("a VmHWM line");
    let kib: f64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmHWM in kB");
    kib / 1024.0
}
