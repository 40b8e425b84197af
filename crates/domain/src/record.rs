//! The catalog's record of one file, and the pure state changes on it.

use serde::{Deserialize, Serialize};

use crate::{
    ContentType, DomainError, FileId, FileName, FileStatus, Inspection, MultipartUpload, ObjectKey,
    ScanReport, TenantId, Timestamp, UploadRequest, Verdict,
};

/// What ingest found in the bytes and what it decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
    /// Bytes received.
    pub size: u64,
    /// The type the magic bytes say it is.
    pub detected_type: ContentType,
    /// The decision and its reasons.
    pub verdict: Verdict,
    /// When the bytes were inspected.
    pub inspected_at: Timestamp,
    /// What the content scanner did; absent on records from before scanning existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanReport>,
    /// The object version these bytes are, on a versioned store: tags, downloads and
    /// re-scans name it, so they act on exactly the bytes inspected and never on a
    /// version stored later under the same key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// The store's ETag of the bytes inspected, kept beside the version for audits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

impl Finding {
    /// Pairs an inspection with the verdict given on it.
    pub fn new(found: Inspection, verdict: Verdict, inspected_at: Timestamp) -> Self {
        Self {
            sha256: found.sha256,
            size: found.size,
            detected_type: found.detected_type,
            verdict,
            inspected_at,
            scan: None,
            version_id: None,
            etag: None,
        }
    }

    /// The same finding, pinned to the stored object the bytes were read from.
    pub fn stored_as(self, stored: &crate::StoredObject) -> Self {
        Self {
            version_id: stored.version_id.clone(),
            etag: stored.etag.clone(),
            ..self
        }
    }

    /// The version the bytes were inspected at, if the store keeps versions.
    pub fn version(&self) -> Option<&str> {
        self.version_id.as_deref()
    }

    /// The same finding, with the scanner's report.
    pub fn with_scan(self, scan: ScanReport) -> Self {
        Self {
            scan: Some(scan),
            ..self
        }
    }

    /// The ruleset version that last scanned the file, if any did.
    pub fn ruleset(&self) -> Option<&str> {
        self.scan.as_ref().map(ScanReport::ruleset)
    }
}

/// One file as the catalog knows it. The catalog is the source of truth; every
/// change to a record is a move of the state machine applied by a conditional write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// The tenant that created the upload; every read is scoped to it.
    pub tenant: TenantId,
    /// The file's id.
    pub id: FileId,
    /// The name the uploader gave.
    pub name: FileName,
    /// The type the uploader declared.
    pub declared_type: ContentType,
    /// The size the uploader declared.
    pub declared_size: u64,
    /// Where the file is in its life.
    pub status: FileStatus,
    /// When the upload was granted.
    pub created_at: Timestamp,
    /// When the record last changed.
    pub updated_at: Timestamp,
    /// After this instant an upload still PENDING is expired by sweep.
    pub upload_deadline: Timestamp,
    /// Set once ingest has inspected the bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<Finding>,
    /// Set when someone asked for this CLEAN file to be scanned again; sweep clears
    /// it when it has done so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescan_requested_at: Option<Timestamp>,
    /// The SHA-256 the uploader declared for the whole file (lower-case hex), which
    /// ingest holds the bytes to: a file that hashes otherwise is rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_sha256: Option<crate::Sha256Hex>,
    /// How the bytes are being sent in parts, for a file too large for one PUT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multipart: Option<MultipartUpload>,
    /// How far ingest got through bytes too many for one invocation; gone with the
    /// verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<crate::IngestCheckpoint>,
}

impl FileRecord {
    /// A new PENDING record for an accepted upload request.
    pub fn pending(
        tenant: TenantId,
        id: FileId,
        request: UploadRequest,
        now: Timestamp,
        upload_deadline: Timestamp,
    ) -> Self {
        Self {
            tenant,
            id,
            name: request.name,
            declared_type: request.content_type,
            declared_size: request.size,
            status: FileStatus::Pending,
            created_at: now,
            updated_at: now,
            upload_deadline,
            finding: None,
            rescan_requested_at: None,
            declared_sha256: None,
            multipart: None,
            checkpoint: None,
        }
    }

    /// The same PENDING record, holding the uploader to a whole-file SHA-256.
    pub fn with_declared_sha256(self, sha256: Option<crate::Sha256Hex>) -> Self {
        Self {
            declared_sha256: sha256,
            ..self
        }
    }

    /// [`Reason::ChecksumMismatch`] when the uploader declared a SHA-256 and the
    /// bytes hash to `actual` instead.
    ///
    /// [`Reason::ChecksumMismatch`]: crate::Reason::ChecksumMismatch
    pub fn checksum_mismatch(&self, actual: &str) -> Option<crate::Reason> {
        let declared = self.declared_sha256.as_ref()?.as_str();
        (!declared.eq_ignore_ascii_case(actual)).then(|| crate::Reason::ChecksumMismatch {
            declared: declared.to_owned(),
            actual: actual.to_owned(),
        })
    }

    /// The same PENDING record, its bytes to come in parts as `plan` says.
    pub fn with_multipart(self, plan: MultipartUpload) -> Self {
        Self {
            multipart: Some(plan),
            ..self
        }
    }

    /// Where the file's bytes live.
    pub fn key(&self) -> ObjectKey {
        ObjectKey::new(self.tenant.clone(), self.id)
    }

    /// Only CLEAN files may ever be downloaded.
    pub fn is_downloadable(&self) -> bool {
        self.status == FileStatus::Clean
    }

    /// The bytes this record stands for in usage counters: what arrived once known,
    /// what was declared before.
    pub fn counted_bytes(&self) -> u64 {
        self.finding.as_ref().map_or(self.declared_size, |f| f.size)
    }

    /// The record after ingest's verdict: PENDING → CLEAN | REJECTED | INFECTED.
    pub fn with_finding(&self, finding: Finding, now: Timestamp) -> Result<Self, DomainError> {
        let to = finding.verdict.outcome.status();
        if self.status != FileStatus::Pending {
            return Err(DomainError::IllegalTransition {
                from: self.status,
                to,
            });
        }
        let mut next = self.moved_to(finding.verdict.outcome.status(), now)?;
        next.finding = Some(finding);
        next.checkpoint = None;
        Ok(next)
    }

    /// The PENDING record with ingest's progress carried over to `checkpoint`.
    pub fn with_checkpoint(
        &self,
        checkpoint: crate::IngestCheckpoint,
        now: Timestamp,
    ) -> Result<Self, DomainError> {
        if self.status != FileStatus::Pending {
            return Err(DomainError::IllegalTransition {
                from: self.status,
                to: FileStatus::Pending,
            });
        }
        Ok(Self {
            checkpoint: Some(checkpoint),
            updated_at: now,
            ..self.clone()
        })
    }

    /// The sequence number of the record's checkpoint, 0 when it has none.
    pub fn checkpoint_seq(&self) -> u32 {
        self.checkpoint.as_ref().map_or(0, |c| c.seq)
    }

    /// Whether sweep should scan this file again: it is CLEAN and either someone asked,
    /// or the ruleset that scanned it is not `current_ruleset`.
    pub fn needs_rescan(&self, current_ruleset: &str) -> bool {
        self.status == FileStatus::Clean
            && (self.rescan_requested_at.is_some()
                || self.finding.as_ref().and_then(Finding::ruleset) != Some(current_ruleset))
    }

    /// The record with a re-scan requested (only CLEAN files are re-scanned).
    pub fn with_rescan_requested(&self, now: Timestamp) -> Result<Self, DomainError> {
        self.status.check_move(FileStatus::Clean)?;
        Ok(Self {
            rescan_requested_at: Some(now),
            updated_at: now,
            ..self.clone()
        })
    }

    /// The record after a re-scan of a CLEAN file whose bytes hash to `sha256`:
    /// INFECTED when a rule now matches or the bytes are not the ones verified
    /// ([`Reason::ContentChanged`]), otherwise still CLEAN with the new report. A
    /// re-scan that could not run (too large, timed out) never takes back a verdict
    /// already given.
    ///
    /// [`Reason::ContentChanged`]: crate::Reason::ContentChanged
    pub fn rescanned(
        &self,
        sha256: &str,
        scan: ScanReport,
        now: Timestamp,
    ) -> Result<Self, DomainError> {
        let Some(old) = self.finding.clone() else {
            return Err(DomainError::IllegalTransition {
                from: self.status,
                to: self.status,
            });
        };
        // Only malware rules act on a file already accepted: a policy rule added later
        // applies to new uploads, and a CLEAN file is never rejected after the fact.
        let mut matched: Vec<_> = scan
            .reasons(crate::Unscannable::AcceptUnscanned)
            .into_iter()
            .filter(crate::Reason::is_malware)
            .collect();
        if sha256 != old.sha256 {
            matched.push(crate::Reason::ContentChanged {
                recorded: old.sha256.clone(),
                found: sha256.to_owned(),
            });
        }
        let mut next = if matched.is_empty() {
            self.moved_to(FileStatus::Clean, now)?
        } else {
            self.moved_to(FileStatus::Infected, now)?
        };
        let mut reasons = old.verdict.reasons.clone();
        reasons.extend(matched);
        next.finding = Some(Finding {
            verdict: Verdict::from_reasons(reasons),
            inspected_at: now,
            ..old.with_scan(scan)
        });
        next.rescan_requested_at = None;
        Ok(next)
    }

    /// The record after an abandoned upload's deadline: PENDING → EXPIRED.
    pub fn expired(&self, now: Timestamp) -> Result<Self, DomainError> {
        self.moved_to(FileStatus::Expired, now)
    }

    /// The record after its owner or retention removed it: a verdict → DELETED.
    pub fn deleted(&self, now: Timestamp) -> Result<Self, DomainError> {
        self.moved_to(FileStatus::Deleted, now)
    }

    /// The object version the verdict was given on, when the store keeps versions:
    /// the one to tag, serve and re-scan.
    pub fn verified_version(&self) -> Option<&str> {
        self.finding.as_ref().and_then(Finding::version)
    }

    /// The verdict, if ingest has given one.
    pub fn verdict(&self) -> Option<&Verdict> {
        self.finding.as_ref().map(|f| &f.verdict)
    }

    fn moved_to(&self, to: FileStatus, now: Timestamp) -> Result<Self, DomainError> {
        self.status.check_move(to)?;
        Ok(Self {
            status: to,
            updated_at: now,
            ..self.clone()
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{Outcome, Reason};

    pub(crate) fn pending_record() -> FileRecord {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .to_utc();
        FileRecord::pending(
            TenantId::parse("acme").unwrap(),
            FileId::parse("01JCZ5K6Q2V1E7W8X9Y0Z1A2B3").unwrap(),
            UploadRequest {
                name: FileName::parse("report.pdf").unwrap(),
                content_type: ContentType::parse("application/pdf").unwrap(),
                size: 42,
            },
            now,
            now + chrono::Duration::hours(1),
        )
    }

    pub(crate) fn finding(reasons: Vec<Reason>) -> Finding {
        Finding {
            sha256: "ab".repeat(32),
            size: 40,
            detected_type: ContentType::parse("application/pdf").unwrap(),
            verdict: Verdict::from_reasons(reasons),
            inspected_at: pending_record().created_at,
            scan: Some(ScanReport::scanned("r1".into(), vec![], vec![])),
            version_id: None,
            etag: None,
        }
    }

    fn scanned_by(ruleset: &str, matched: &[&str]) -> ScanReport {
        ScanReport::scanned(
            ruleset.into(),
            matched.iter().map(|m| m.to_string()).collect(),
            vec![],
        )
    }

    #[test]
    fn a_clean_file_scanned_by_an_older_ruleset_needs_a_rescan() {
        let record = pending_record();
        let clean = record
            .with_finding(finding(vec![]), record.created_at)
            .unwrap();
        assert!(!clean.needs_rescan("r1"));
        assert!(clean.needs_rescan("r2"));
        let asked = clean.with_rescan_requested(record.created_at).unwrap();
        assert!(asked.needs_rescan("r1"));
        let rejected = record
            .with_finding(finding(vec![Reason::Empty]), record.created_at)
            .unwrap();
        assert!(!rejected.needs_rescan("r2"));
        assert!(rejected.with_rescan_requested(record.created_at).is_err());
    }

    #[test]
    fn a_rescan_that_matches_a_new_rule_makes_a_clean_file_infected() {
        let record = pending_record();
        let clean = record
            .with_finding(finding(vec![]), record.created_at)
            .unwrap();
        let infected = clean
            .with_rescan_requested(record.created_at)
            .and_then(|r| {
                r.rescanned(
                    &"ab".repeat(32),
                    scanned_by("r2", &["custom.new_rule"]),
                    r.updated_at,
                )
            })
            .unwrap();
        assert_eq!(infected.status, FileStatus::Infected);
        assert_eq!(infected.rescan_requested_at, None);
        let finding = infected.finding.unwrap();
        assert_eq!(finding.ruleset(), Some("r2"));
        assert_eq!(
            finding.verdict.reasons,
            vec![Reason::RuleMatched {
                rule: "custom.new_rule".into(),
                path: None,
            }]
        );
        assert_eq!(finding.sha256, "ab".repeat(32));
    }

    #[test]
    fn a_rescan_without_matches_keeps_the_file_clean_under_the_new_ruleset() {
        let record = pending_record();
        let clean = record
            .with_finding(finding(vec![]), record.created_at)
            .unwrap();
        let again = clean
            .rescanned(&"ab".repeat(32), scanned_by("r2", &[]), record.created_at)
            .unwrap();
        assert_eq!(again.status, FileStatus::Clean);
        assert!(!again.needs_rescan("r2"));
        let deleted = clean.deleted(record.created_at).unwrap();
        assert!(
            deleted
                .rescanned(&"ab".repeat(32), scanned_by("r2", &[]), record.created_at)
                .is_err()
        );
    }

    #[test]
    fn a_rescan_that_reads_other_bytes_than_the_verified_ones_makes_the_file_infected() {
        let record = pending_record();
        let clean = record
            .with_finding(finding(vec![]), record.created_at)
            .unwrap();
        let changed = clean
            .rescanned(&"cd".repeat(32), scanned_by("r2", &[]), record.created_at)
            .unwrap();
        assert_eq!(changed.status, FileStatus::Infected);
        let finding = changed.finding.unwrap();
        assert_eq!(
            finding.verdict.reasons,
            vec![Reason::ContentChanged {
                recorded: "ab".repeat(32),
                found: "cd".repeat(32),
            }]
        );
        // The record keeps the hash of what was verified, not of what replaced it.
        assert_eq!(finding.sha256, "ab".repeat(32));
    }

    #[test]
    fn a_clean_finding_moves_a_pending_record_to_clean() {
        let record = pending_record();
        let next = record
            .with_finding(finding(vec![]), record.created_at)
            .unwrap();
        assert_eq!(next.status, FileStatus::Clean);
        assert!(next.is_downloadable());
        assert_eq!(next.counted_bytes(), 40);
        assert_eq!(record.counted_bytes(), 42);
    }

    #[test]
    fn a_finding_with_reasons_moves_a_pending_record_to_rejected() {
        let record = pending_record();
        let next = record
            .with_finding(finding(vec![Reason::Empty]), record.created_at)
            .unwrap();
        assert_eq!(next.status, FileStatus::Rejected);
        assert_eq!(next.verdict().unwrap().outcome, Outcome::Rejected);
        assert!(!next.is_downloadable());
    }

    #[test]
    fn a_second_verdict_on_the_same_record_is_an_illegal_transition() {
        let record = pending_record();
        let clean = record
            .with_finding(finding(vec![]), record.created_at)
            .unwrap();
        assert!(
            clean
                .with_finding(finding(vec![]), record.created_at)
                .is_err()
        );
        assert!(clean.expired(record.created_at).is_err());
    }

    #[test]
    fn deleted_records_cannot_be_given_a_verdict_again() {
        let record = pending_record();
        let deleted = record
            .with_finding(finding(vec![]), record.created_at)
            .and_then(|r| r.deleted(r.updated_at))
            .unwrap();
        assert_eq!(deleted.status, FileStatus::Deleted);
        assert!(
            deleted
                .with_finding(finding(vec![]), record.created_at)
                .is_err()
        );
    }

    #[test]
    fn pending_records_cannot_be_deleted_only_expired() {
        let record = pending_record();
        assert!(record.deleted(record.created_at).is_err());
        assert_eq!(
            record.expired(record.created_at).unwrap().status,
            FileStatus::Expired
        );
    }

    #[test]
    fn the_object_key_follows_the_upload_layout() {
        assert_eq!(
            pending_record().key().to_string(),
            "uploads/acme/01JCZ5K6Q2V1E7W8X9Y0Z1A2B3"
        );
    }
}
