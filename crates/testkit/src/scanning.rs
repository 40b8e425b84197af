//! The scanning handlers are built with in tests: the default rules alone, or the
//! default rules plus whatever a test writes into a rules folder.

use std::path::PathBuf;

use airlock_domain::ScanLimits;
use airlock_local::DirRuleSource;
use airlock_scan::{ScanSettings, Scanning};

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
