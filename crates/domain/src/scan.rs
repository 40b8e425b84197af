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
    /// Files up to this size are scanned whole; a member of a container larger than
    /// this is scanned up to it and named as not fully scanned.
    pub max_scan_bytes: u64,
    /// Files past `max_scan_bytes` and up to this size are scanned in overlapping
    /// windows as they stream ([`ScanMode::Windowed`]); past it, not at all. The
    /// default has no such limit: any size S3 holds is scanned.
    pub max_windowed_bytes: u64,
    /// What becomes of a file that was not scanned.
    pub unscannable: Unscannable,
    /// How far containers are opened.
    pub archives: ArchiveLimits,
}

impl Default for ScanLimits {
    fn default() -> Self {
        Self {
            max_scan_bytes: DEFAULT_MAX_SCAN_BYTES,
            max_windowed_bytes: u64::MAX,
            unscannable: Unscannable::Reject,
            archives: ArchiveLimits::default(),
        }
    }
}

/// The budgets of container expansion (zip, tar, gzip, PDF streams, OLE…): each one
/// breached is a named reason, never a silent pass. The defaults are GuardDuty
/// Malware Protection's depth and member count; see README's Scanning section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Containers nested deeper than this are scanned as bytes but not opened: the
    /// upload is level 0, its members level 1.
    pub max_depth: u32,
    /// Members scanned at most, over every level.
    pub max_members: u64,
    /// Bytes expanded at most, over every member of every level.
    pub max_expanded_bytes: u64,
    /// A member may expand to at most this many times its compressed size…
    pub max_ratio: u64,
    /// …once it has expanded past this many bytes (small members compress well).
    pub ratio_floor: u64,
}

/// The default depth budget.
pub const DEFAULT_MAX_ARCHIVE_DEPTH: u32 = 5;
/// The default member budget.
pub const DEFAULT_MAX_ARCHIVE_MEMBERS: u64 = 10_000;
/// The default expansion budget: 8 GiB, 16 times the default scan limit.
pub const DEFAULT_MAX_EXPANDED_BYTES: u64 = 8 * 1024 * 1024 * 1024;
/// The default compression-ratio budget.
pub const DEFAULT_MAX_RATIO: u64 = 1000;
/// The default size past which the ratio budget applies: 1 MiB.
pub const DEFAULT_RATIO_FLOOR: u64 = 1024 * 1024;

impl Default for ArchiveLimits {
    fn default() -> Self {
        Self {
            max_depth: DEFAULT_MAX_ARCHIVE_DEPTH,
            max_members: DEFAULT_MAX_ARCHIVE_MEMBERS,
            max_expanded_bytes: DEFAULT_MAX_EXPANDED_BYTES,
            max_ratio: DEFAULT_MAX_RATIO,
            ratio_floor: DEFAULT_RATIO_FLOOR,
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
    /// A container nested deeper than the depth budget was not opened.
    ArchiveTooDeep {
        /// The container that was not opened, through its parents.
        path: String,
        /// The depth budget.
        limit: u32,
    },
    /// The member budget ran out; this member and every one after it were skipped.
    ArchiveTooManyMembers {
        /// The first member not scanned.
        path: String,
        /// The member budget.
        limit: u64,
    },
    /// The expansion budget (over all members, or the scan limit for one member)
    /// ran out in this member; the rest was not scanned.
    ArchiveExpansionLimit {
        /// The member being expanded.
        path: String,
        /// The budget, in bytes.
        limit: u64,
    },
    /// The member expanded past the compression-ratio budget (a decompression bomb).
    ArchiveRatioLimit {
        /// The member that expanded too far, through its parents.
        path: String,
        /// The ratio budget (expanded bytes per compressed byte).
        limit: u64,
    },
    /// The member is encrypted and could not be read.
    ArchiveEncrypted {
        /// The encrypted member, through its parents.
        path: String,
    },
    /// The container or member is damaged (truncated, bad checksum, bad header).
    ArchiveCorrupt {
        /// The container or member that could not be read.
        path: String,
        /// What the decoder said.
        detail: String,
    },
}

impl SkipReason {
    /// The path through containers of what was not scanned, when it is a member.
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::TooLargeToScan { .. } | Self::ScanTimedOut { .. } => None,
            Self::ArchiveTooDeep { path, .. }
            | Self::ArchiveTooManyMembers { path, .. }
            | Self::ArchiveExpansionLimit { path, .. }
            | Self::ArchiveRatioLimit { path, .. }
            | Self::ArchiveEncrypted { path }
            | Self::ArchiveCorrupt { path, .. } => Some(path),
        }
    }
}

/// One rule that matched, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleHit {
    /// The rule, as `namespace.rule`.
    pub rule: String,
    /// The member it matched, through its containers
    /// (`invoices.zip!/2026/q1.xlsm!/xl/vbaProject.bin`); absent when it matched the
    /// upload itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// What expansion did with a container's members.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Members {
    /// Members scanned (fully or up to a budget), over every level.
    pub scanned: u64,
    /// Every member or container not fully scanned, and why (each names its path).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unscanned: Vec<SkipReason>,
}

/// What the scanner did with one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ScanReport {
    /// Every rule ran over every byte.
    Scanned {
        /// The version of the ruleset that ran.
        ruleset: String,
        /// The rule files that were in force, by name, the built-in `airlock.yar`
        /// first: a deployment file left out because it did not compile is not
        /// here. Empty in records written before they were kept.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        rule_files: Vec<String>,
        /// The malware rules that matched, as `namespace.rule`; empty when none did.
        matched: Vec<String>,
        /// The policy rules that matched (`meta: airlock_verdict = "reject"`): the
        /// file is unwanted, not dangerous.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        flagged: Vec<String>,
        /// Every match with where it was (the upload or a member); empty in records
        /// written before containers were opened, where every match was the upload's.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        hits: Vec<RuleHit>,
        /// The members of a container; absent when the upload is not one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        members: Option<Members>,
        /// How the rules saw the bytes: the whole file at once, or, past the scan
        /// limit, in overlapping windows (see [`ScanMode`]).
        #[serde(default)]
        mode: ScanMode,
        /// For a windowed scan, the windows.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        window: Option<Windows>,
    },
    /// The file was not scanned.
    Skipped {
        /// The version of the ruleset that would have run.
        ruleset: String,
        /// As for a scanned file: the rule files that would have run.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        rule_files: Vec<String>,
        /// Why not.
        why: SkipReason,
    },
}

/// How the rules saw a file's bytes, so a reader knows which rule semantics applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanMode {
    /// Every rule over the whole file at once, containers opened: `filesize`, offsets
    /// and conditions over the whole file mean what they say.
    #[default]
    Whole,
    /// The file was larger than the scan limit: the rules ran over windows of it in
    /// turn, each overlapping the one before, so a pattern up to the overlap long is
    /// found wherever it lies. Conditions see one window (`filesize` is the window's,
    /// offsets are from its start) and containers are not opened.
    Windowed,
}

/// The windows of a windowed scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Windows {
    /// Bytes in each window but the last.
    pub bytes: u64,
    /// Bytes each window shares with the one before.
    pub overlap: u64,
    /// How many windows were scanned.
    pub count: u64,
}

impl ScanReport {
    /// The ruleset version this report is for.
    pub fn ruleset(&self) -> &str {
        match self {
            Self::Scanned { ruleset, .. } | Self::Skipped { ruleset, .. } => ruleset,
        }
    }

    /// The same report, naming the rule files that were in force.
    pub fn with_rule_files(mut self, files: Vec<String>) -> Self {
        match &mut self {
            Self::Scanned { rule_files, .. } | Self::Skipped { rule_files, .. } => {
                *rule_files = files;
            }
        }
        self
    }

    /// The rule files in force for this report.
    pub fn rule_files(&self) -> &[String] {
        match self {
            Self::Scanned { rule_files, .. } | Self::Skipped { rule_files, .. } => rule_files,
        }
    }

    /// The members' tally, when the file was a container.
    pub fn members(&self) -> Option<&Members> {
        match self {
            Self::Scanned { members, .. } => members.as_ref(),
            Self::Skipped { .. } => None,
        }
    }

    /// A finished scan of a file that is not a container.
    pub fn scanned(ruleset: String, matched: Vec<String>, flagged: Vec<String>) -> Self {
        Self::Scanned {
            ruleset,
            rule_files: Vec::new(),
            matched,
            flagged,
            hits: Vec::new(),
            members: None,
            mode: ScanMode::Whole,
            window: None,
        }
    }

    /// A finished windowed scan of a file past the scan limit.
    pub fn windowed(
        ruleset: String,
        (matched, flagged): (Vec<String>, Vec<String>),
        window: Windows,
    ) -> Self {
        let mut report = Self::scanned(ruleset, matched, flagged);
        if let Self::Scanned {
            mode, window: w, ..
        } = &mut report
        {
            (*mode, *w) = (ScanMode::Windowed, Some(window));
        }
        report
    }

    /// The verdict reasons the scan contributes under `unscannable`: one per matched
    /// or flagged rule and place it matched, and for what was not scanned (the file,
    /// or members of it) either a reason each (reject) or none (accept, flagged by
    /// the report itself).
    pub fn reasons(&self, unscannable: Unscannable) -> Vec<Reason> {
        match self {
            Self::Scanned {
                matched,
                flagged,
                hits,
                members,
                ..
            } => {
                let mut reasons = rule_reasons(matched, flagged, hits);
                if unscannable == Unscannable::Reject {
                    let unscanned = members.iter().flat_map(|m| &m.unscanned);
                    reasons.extend(unscanned.map(|why| Reason::NotScanned { why: why.clone() }));
                }
                reasons
            }
            Self::Skipped { why, .. } => match unscannable {
                Unscannable::Reject => vec![Reason::NotScanned { why: why.clone() }],
                Unscannable::AcceptUnscanned => Vec::new(),
            },
        }
    }
}

/// Malware matches first, then policy matches, each with its place; from the rule
/// names alone when the report predates `hits`.
fn rule_reasons(matched: &[String], flagged: &[String], hits: &[RuleHit]) -> Vec<Reason> {
    let places = |rule: &String| -> Vec<Option<String>> {
        let found: Vec<_> = hits
            .iter()
            .filter(|hit| &hit.rule == rule)
            .map(|hit| hit.path.clone())
            .collect();
        if found.is_empty() { vec![None] } else { found }
    };
    let malware = matched.iter().flat_map(|rule| {
        places(rule).into_iter().map(|path| Reason::RuleMatched {
            rule: rule.clone(),
            path,
        })
    });
    let policy = flagged.iter().flat_map(|rule| {
        places(rule).into_iter().map(|path| Reason::RuleFlagged {
            rule: rule.clone(),
            path,
        })
    });
    malware.chain(policy).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Outcome, Verdict};

    fn skipped() -> ScanReport {
        ScanReport::Skipped {
            ruleset: "r1".into(),
            rule_files: vec![],
            why: SkipReason::TooLargeToScan { size: 10, limit: 5 },
        }
    }

    #[test]
    fn a_matched_rule_makes_the_verdict_infected() {
        let report =
            ScanReport::scanned("r1".into(), vec!["airlock.EICAR_Test_File".into()], vec![]);
        let verdict = Verdict::from_reasons(report.reasons(Unscannable::Reject));
        assert_eq!(verdict.outcome, Outcome::Infected);
    }

    #[test]
    fn a_flagged_policy_rule_makes_the_verdict_rejected() {
        let report = ScanReport::scanned(
            "r1".into(),
            vec![],
            vec!["airlock.Executable_Disguised".into()],
        );
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

    fn container_report(unscanned: Vec<SkipReason>) -> ScanReport {
        ScanReport::Scanned {
            ruleset: "r1".into(),
            rule_files: vec![],
            matched: vec!["airlock.EICAR_Test_File".into()],
            flagged: vec![],
            hits: vec![RuleHit {
                rule: "airlock.EICAR_Test_File".into(),
                path: Some("a.zip!/b.txt".into()),
            }],
            members: Some(Members {
                scanned: 2,
                unscanned,
            }),
            mode: ScanMode::Whole,
            window: None,
        }
    }

    #[test]
    fn a_match_inside_a_member_names_the_member_in_its_reason() {
        let reasons = container_report(vec![]).reasons(Unscannable::Reject);
        let json = serde_json::to_value(&reasons).unwrap();
        assert_eq!(json[0]["code"], "rule_matched");
        assert_eq!(json[0]["path"], "a.zip!/b.txt");
        let on_the_upload = ScanReport::scanned("r1".into(), vec!["x.y".into()], vec![]);
        let json = serde_json::to_value(on_the_upload.reasons(Unscannable::Reject)).unwrap();
        assert!(json[0].get("path").is_none(), "{json}");
    }

    #[test]
    fn an_unscanned_member_is_a_named_reason_unless_the_deployment_accepts_unscanned() {
        let why = SkipReason::ArchiveEncrypted {
            path: "a.zip!/secret.txt".into(),
        };
        let report = container_report(vec![why.clone()]);
        let reasons = report.reasons(Unscannable::Reject);
        assert_eq!(reasons.len(), 2);
        assert_eq!(reasons[1], Reason::NotScanned { why });
        assert_eq!(report.reasons(Unscannable::AcceptUnscanned).len(), 1);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["members"]["unscanned"][0]["code"], "archive_encrypted");
        assert_eq!(json["members"]["unscanned"][0]["path"], "a.zip!/secret.txt");
    }

    #[test]
    fn a_report_written_before_containers_were_opened_still_reads() {
        let old = r#"{"state":"scanned","ruleset":"r1","matched":["a.b"]}"#;
        let report: ScanReport = serde_json::from_str(old).unwrap();
        assert_eq!(
            report.reasons(Unscannable::Reject),
            vec![Reason::RuleMatched {
                rule: "a.b".into(),
                path: None
            }]
        );
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
