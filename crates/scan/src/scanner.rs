//! Runs a compiled ruleset over one object and turns the result into the domain's
//! [`ScanReport`].

use std::{sync::Arc, time::Duration};

use airlock_domain::{ArchiveLimits, Members, RuleHit, ScanReport, SkipReason};

use crate::{
    CompiledRules, Spooled,
    expand::{Hit, Walker},
};

/// How scans run in a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanSettings {
    /// Objects up to this size are scanned from memory; larger ones from a
    /// temporary file (YARA-X maps files over 32 MB instead of reading them). The
    /// members of a container share it with the upload: each level keeps in memory
    /// only what the levels above it leave.
    pub memory_budget: usize,
    /// A scan (of the upload, or of one member) that runs longer is abandoned and
    /// counts as unscanned.
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
    /// The tenant that uploaded it (`owner` to the rules).
    pub owner: String,
}

impl Subject {
    /// The upload's name at the head of every member's path (`upload` if it has none).
    pub(crate) fn root(&self) -> &str {
        if self.file_name.is_empty() {
            "upload"
        } else {
            &self.file_name
        }
    }
}

/// How far a scan goes besides the settings: the archive budgets and the largest
/// member it scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reach {
    /// The archive budgets.
    pub archives: ArchiveLimits,
    /// The largest member scanned whole (the deployment's scan limit).
    pub member_limit: u64,
}

impl Default for Reach {
    fn default() -> Self {
        let limits = airlock_domain::ScanLimits::default();
        Self {
            archives: limits.archives,
            member_limit: limits.max_scan_bytes,
        }
    }
}

/// The metadata key that makes a rule a policy rule: `airlock_verdict = "reject"`
/// turns a match into a rejection instead of an infection.
pub const VERDICT_META: &str = "airlock_verdict";

pub(crate) fn only_rejects(rule: &yara_x::Rule<'_, '_>) -> bool {
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
    /// The threads scanning windows were lost (one panicked).
    #[error("the threads scanning windows stopped")]
    WorkerLost,
}

/// Scans spooled bytes on a blocking thread (a scan is CPU work that must not stall
/// the runtime), opening containers within `reach`, and reports what matched.
pub async fn scan(
    rules: Arc<CompiledRules>,
    spooled: Spooled,
    subject: Subject,
    settings: ScanSettings,
    reach: Reach,
) -> Result<ScanReport, ScanError> {
    tokio::task::spawn_blocking(move || scan_within(&rules, &spooled, &subject, settings, reach))
        .await
        .map_err(ScanError::Task)?
}

/// The same, on the calling thread, within the default [`Reach`].
pub fn scan_blocking(
    rules: &CompiledRules,
    spooled: &Spooled,
    subject: &Subject,
    settings: ScanSettings,
) -> Result<ScanReport, ScanError> {
    scan_within(rules, spooled, subject, settings, Reach::default())
}

/// [`scan_blocking`] within `reach`.
pub fn scan_within(
    rules: &CompiledRules,
    spooled: &Spooled,
    subject: &Subject,
    settings: ScanSettings,
    reach: Reach,
) -> Result<ScanReport, ScanError> {
    let report = scan_with(rules, spooled, subject, settings, reach)?;
    // The report says which files were in force, so a verdict can be audited
    // against exactly the rules that gave it (a file left out is not among them).
    Ok(report.with_rule_files(rules.in_force().to_vec()))
}

fn scan_with(
    rules: &CompiledRules,
    spooled: &Spooled,
    subject: &Subject,
    settings: ScanSettings,
    reach: Reach,
) -> Result<ScanReport, ScanError> {
    let ruleset = rules.version().to_owned();
    let mut scanner = yara_x::Scanner::new(rules.rules());
    scanner.set_timeout(settings.timeout);
    // The externals were defined by `compile` as strings; setting strings cannot fail.
    let _ = scanner.set_global("declared_type", subject.declared_type.as_str());
    let _ = scanner.set_global("owner", subject.owner.as_str());
    let mut walker = Walker::new(
        &mut scanner,
        reach.archives,
        reach.member_limit,
        settings.timeout,
    );
    let walk = |walker: &mut Walker<'_, '_>, bytes: &[u8], in_memory: usize| {
        if !walker.scan_item(bytes, subject.root(), None, None)? {
            return Ok(false);
        }
        let memory = settings.memory_budget.saturating_sub(in_memory);
        walker.open(bytes, subject.root(), 0, memory)?;
        Ok::<_, ScanError>(true)
    };
    let finished = match spooled {
        Spooled::Memory(bytes) => walk(&mut walker, bytes, bytes.len())?,
        Spooled::Disk(path) => {
            crate::mapped::scan_mapped(path, |bytes| walk(&mut walker, bytes, 0))
                .map_err(ScanError::Spool)??
        }
        Spooled::InPlace(map) => map.scan(|bytes| walk(&mut walker, bytes, 0))?,
        Spooled::Windowed(report) => return Ok(report.clone()),
        Spooled::TooLarge { size, limit } => {
            return Ok(ScanReport::Skipped {
                ruleset,
                rule_files: Vec::new(),
                why: SkipReason::TooLargeToScan {
                    size: *size,
                    limit: *limit,
                },
            });
        }
    };
    if !finished {
        return Ok(ScanReport::Skipped {
            ruleset,
            rule_files: Vec::new(),
            why: SkipReason::ScanTimedOut {
                after_secs: settings.timeout.as_secs(),
            },
        });
    }
    Ok(report(ruleset, walker))
}

/// The malware rules (`policy` false) or policy rules that hit, once each, in the
/// order they first hit.
pub(crate) fn rule_names(hits: &[Hit], policy: bool) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for hit in hits.iter().filter(|hit| hit.policy == policy) {
        if !names.contains(&hit.rule) {
            names.push(hit.rule.clone());
        }
    }
    names
}

/// The report of a finished walk: rule names once each, and for a container every
/// hit with its place and the members' tally.
fn report(ruleset: String, walker: Walker<'_, '_>) -> ScanReport {
    let (matched, flagged) = (
        rule_names(&walker.hits, false),
        rule_names(&walker.hits, true),
    );
    if !walker.opened {
        return ScanReport::scanned(ruleset, matched, flagged);
    }
    let hits = walker
        .hits
        .iter()
        .map(|Hit { rule, path, .. }| RuleHit {
            rule: rule.clone(),
            path: path.clone(),
        })
        .collect();
    ScanReport::Scanned {
        ruleset,
        rule_files: Vec::new(),
        matched,
        flagged,
        hits,
        members: Some(Members {
            scanned: walker.scanned,
            unscanned: walker.unscanned,
        }),
        mode: airlock_domain::ScanMode::Whole,
        window: None,
    }
}
