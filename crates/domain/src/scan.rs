//! Content scanning as the domain sees it: which ruleset looked at a file, what
//! matched, and what happens to a file the scanner could not look at.
//!
//! The engine (YARA-X) lives in `airlock-scan`; this module only holds the facts a
//! verdict, a record and an event carry, so nothing here depends on it.

use serde::{Deserialize, Serialize};

use crate::Reason;

/// The scan size limit when a deployment sets none: 512 MiB.
pub const DEFAULT_MAX_SCAN_BYTES: u64 = 512 * 1024 * 1024;

/// What a deployment does with a file it cannot scan (too large, or the scan timed
/// out). Never a silent pass: either the file is rejected, or it is accepted and its
/// finding says, for every reader of the record and its events, that it was not
/// scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unscannable {
    /// The file is REJECTED with the reason.
    Reject,
    /// The file may become CLEAN, flagged as unscanned.
    AcceptUnscanned,
}

impl Unscannable {
    /// Parses the configuration value (`reject` or `accept-unscanned`).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "reject" => Some(Self::Reject),
            "accept-unscanned" => Some(Self::AcceptUnscanned),
            _ => None,
        }
    }
}

/// How far scanning goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanLimits {
    /// Files larger than this are not scanned.
    pub max_scan_bytes: u64,
    /// What becomes of a file that was not scanned.
    pub unscannable: Unscannable,
}

impl Default for ScanLimits {
    fn default() -> Self {
        Self {
            max_scan_bytes: DEFAULT_MAX_SCAN_BYTES,
            unscannable: Unscannable::Reject,
        }
    }
}

/// Why a file was not scanned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum SkipReason {
    /// The file is larger than the scan limit.
    TooLargeToScan {
        /// Bytes in the file.
        size: u64,
        /// The deployment's scan limit.
        limit: u64,
    },
    /// The rules ran past the scan timeout.
    ScanTimedOut {
        /// The timeout, in seconds.
        after_secs: u64,
    },
}

/// What the scanner did with one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ScanReport {
    /// Every rule ran over every byte.
    Scanned {
        /// The version of the ruleset that ran.
        ruleset: String,
        /// The malware rules that matched, as `namespace.rule`; empty when none did.
        matched: Vec<String>,
        /// The policy rules that matched (`meta: airlock_verdict = "reject"`): the
        /// file is unwanted, not dangerous.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        flagged: Vec<String>,
    },
    /// The file was not scanned.
    Skipped {
        /// The version of the ruleset that would have run.
        ruleset: String,
        /// Why not.
        why: SkipReason,
    },
}

impl ScanReport {
    /// The ruleset version this report is for.
    pub fn ruleset(&self) -> &str {
        match self {
            Self::Scanned { ruleset, .. } | Self::Skipped { ruleset, .. } => ruleset,
        }
    }

    /// The verdict reasons the scan contributes under `unscannable`: one per matched
    /// or flagged rule, and for a skipped scan either a reason (reject) or none (accept, flagged
    /// by the report itself).
    pub fn reasons(&self, unscannable: Unscannable) -> Vec<Reason> {
        match self {
            Self::Scanned {
                matched, flagged, ..
            } => matched
                .iter()
                .map(|rule| Reason::RuleMatched { rule: rule.clone() })
                .chain(
                    flagged
                        .iter()
                        .map(|rule| Reason::RuleFlagged { rule: rule.clone() }),
                )
                .collect(),
            Self::Skipped { why, .. } => match unscannable {
                Unscannable::Reject => vec![Reason::NotScanned { why: why.clone() }],
                Unscannable::AcceptUnscanned => Vec::new(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Outcome, Verdict};

    fn skipped() -> ScanReport {
        ScanReport::Skipped {
            ruleset: "r1".into(),
            why: SkipReason::TooLargeToScan { size: 10, limit: 5 },
        }
    }

    #[test]
    fn a_matched_rule_makes_the_verdict_infected() {
        let report = ScanReport::Scanned {
            ruleset: "r1".into(),
            matched: vec!["airlock.EICAR_Test_File".into()],
            flagged: vec![],
        };
        let verdict = Verdict::from_reasons(report.reasons(Unscannable::Reject));
        assert_eq!(verdict.outcome, Outcome::Infected);
    }

    #[test]
    fn a_flagged_policy_rule_makes_the_verdict_rejected() {
        let report = ScanReport::Scanned {
            ruleset: "r1".into(),
            matched: vec![],
            flagged: vec!["airlock.Executable_Disguised".into()],
        };
        let verdict = Verdict::from_reasons(report.reasons(Unscannable::Reject));
        assert_eq!(verdict.outcome, Outcome::Rejected);
        let json = serde_json::to_value(&verdict.reasons[0]).unwrap();
        assert_eq!(json["code"], "rule_flagged");
    }

    #[test]
    fn an_unscanned_file_is_rejected_when_the_deployment_says_reject() {
        let verdict = Verdict::from_reasons(skipped().reasons(Unscannable::Reject));
        assert_eq!(verdict.outcome, Outcome::Rejected);
        let json = serde_json::to_value(&verdict.reasons[0]).unwrap();
        assert_eq!(json["code"], "not_scanned");
        assert_eq!(json["why"]["code"], "too_large_to_scan");
    }

    #[test]
    fn an_unscanned_file_passes_only_with_its_report_saying_so() {
        assert!(skipped().reasons(Unscannable::AcceptUnscanned).is_empty());
        let json = serde_json::to_value(skipped()).unwrap();
        assert_eq!(json["state"], "skipped");
        assert_eq!(json["ruleset"], "r1");
    }

    #[test]
    fn the_unscannable_setting_parses_only_its_two_values() {
        assert_eq!(Unscannable::parse("reject"), Some(Unscannable::Reject));
        assert_eq!(
            Unscannable::parse("accept-unscanned"),
            Some(Unscannable::AcceptUnscanned)
        );
        assert_eq!(Unscannable::parse("accept"), None);
    }
}
