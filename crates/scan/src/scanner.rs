//! Runs a compiled ruleset over one object and turns the result into the domain's
//! [`ScanReport`].

use std::{sync::Arc, time::Duration};

use airlock_domain::{ScanReport, SkipReason};

use crate::{CompiledRules, Spooled};

/// How scans run in a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanSettings {
    /// Objects up to this size are scanned from memory; larger ones from a
    /// temporary file (YARA-X maps files over 32 MB instead of reading them).
    pub memory_budget: usize,
    /// A scan that runs longer is abandoned and the file counts as unscanned.
    pub timeout: Duration,
}

impl Default for ScanSettings {
    fn default() -> Self {
        Self {
            memory_budget: 32 * 1024 * 1024,
            timeout: Duration::from_secs(60),
        }
    }
}

/// What the rules may know about the upload beside its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    /// The declared content type.
    pub declared_type: String,
    /// The declared file name.
    pub file_name: String,
}

/// The metadata key that makes a rule a policy rule: `airlock_verdict = "reject"`
/// turns a match into a rejection instead of an infection.
pub const VERDICT_META: &str = "airlock_verdict";

fn only_rejects(rule: &yara_x::Rule<'_, '_>) -> bool {
    rule.metadata().any(|(key, value)| {
        key == VERDICT_META && matches!(value, yara_x::MetaValue::String("reject"))
    })
}

/// Why a scan could not run (the file was readable but the engine failed).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The engine failed on the data.
    #[error("scan failed")]
    Engine(#[source] yara_x::ScanError),
    /// The spooled file could not be opened or mapped.
    #[error("spooled object unreadable")]
    Spool(#[source] std::io::Error),
    /// The blocking task running the scan was lost.
    #[error("scan task failed")]
    Task(#[source] tokio::task::JoinError),
}

/// Scans spooled bytes on a blocking thread (a scan is CPU work that must not stall
/// the runtime), and reports what matched.
pub async fn scan(
    rules: Arc<CompiledRules>,
    spooled: Spooled,
    subject: Subject,
    settings: ScanSettings,
) -> Result<ScanReport, ScanError> {
    tokio::task::spawn_blocking(move || scan_blocking(&rules, &spooled, &subject, settings))
        .await
        .map_err(ScanError::Task)?
}

/// The same, on the calling thread.
pub fn scan_blocking(
    rules: &CompiledRules,
    spooled: &Spooled,
    subject: &Subject,
    settings: ScanSettings,
) -> Result<ScanReport, ScanError> {
    let ruleset = rules.version().to_owned();
    let mut scanner = yara_x::Scanner::new(rules.rules());
    scanner.set_timeout(settings.timeout);
    // The externals were defined by `compile` as strings; setting strings cannot fail.
    let _ = scanner.set_global("declared_type", subject.declared_type.as_str());
    let _ = scanner.set_global("file_name", subject.file_name.as_str());
    match spooled {
        Spooled::Memory(bytes) => report(scanner.scan(bytes), &ruleset, settings),
        Spooled::Disk(path) => crate::mapped::scan_mapped(path, |bytes| {
            report(scanner.scan(bytes), &ruleset, settings)
        })
        .map_err(ScanError::Spool)?,
        Spooled::TooLarge { size, limit } => Ok(ScanReport::Skipped {
            ruleset,
            why: SkipReason::TooLargeToScan {
                size: *size,
                limit: *limit,
            },
        }),
    }
}

/// The report of one finished (or timed-out) scan.
fn report(
    results: Result<yara_x::ScanResults<'_, '_>, yara_x::ScanError>,
    ruleset: &str,
    settings: ScanSettings,
) -> Result<ScanReport, ScanError> {
    let ruleset = ruleset.to_owned();
    match results {
        Ok(results) => {
            let (mut matched, mut flagged) = (Vec::new(), Vec::new());
            for rule in results.matching_rules() {
                let name = format!("{}.{}", rule.namespace(), rule.identifier());
                if only_rejects(&rule) {
                    flagged.push(name);
                } else {
                    matched.push(name);
                }
            }
            Ok(ScanReport::Scanned {
                ruleset,
                matched,
                flagged,
            })
        }
        Err(yara_x::ScanError::Timeout) => Ok(ScanReport::Skipped {
            ruleset,
            why: SkipReason::ScanTimedOut {
                after_secs: settings.timeout.as_secs(),
            },
        }),
        Err(e) => Err(ScanError::Engine(e)),
    }
}
