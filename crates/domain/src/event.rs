//! Domain events: what happened to a file, derived from catalog changes.

use serde::{Deserialize, Serialize};

use crate::{FileId, FileRecord, FileStatus, Reason, TenantId, Timestamp, usage::change_id};

/// The `source` of every Airlock event on the bus.
pub const EVENT_SOURCE: &str = "airlock";

/// The kinds of event; their names are a public contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// A file passed verification.
    #[serde(rename = "File Accepted")]
    FileAccepted,
    /// A file failed the policy.
    #[serde(rename = "File Rejected")]
    FileRejected,
    /// A file matched a malware rule.
    #[serde(rename = "File Infected")]
    FileInfected,
    /// A file was deleted.
    #[serde(rename = "File Deleted")]
    FileDeleted,
    /// An upload was never completed.
    #[serde(rename = "Upload Expired")]
    UploadExpired,
}

impl EventKind {
    /// The stable name, used as EventBridge `detail-type`.
    pub fn name(self) -> &'static str {
        match self {
            Self::FileAccepted => "File Accepted",
            Self::FileRejected => "File Rejected",
            Self::FileInfected => "File Infected",
            Self::FileDeleted => "File Deleted",
            Self::UploadExpired => "Upload Expired",
        }
    }

    fn for_status(status: FileStatus) -> Option<Self> {
        match status {
            FileStatus::Pending => None,
            FileStatus::Clean => Some(Self::FileAccepted),
            FileStatus::Rejected => Some(Self::FileRejected),
            FileStatus::Infected => Some(Self::FileInfected),
            FileStatus::Expired => Some(Self::UploadExpired),
            FileStatus::Deleted => Some(Self::FileDeleted),
        }
    }
}

/// One event. Its `id` is derived from the change it reports, so a redelivered change
/// yields the same id and consumers (and the local bus) can drop the duplicate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainEvent {
    /// `{file id}-{status}`: stable across redeliveries.
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// Whose file.
    pub tenant: TenantId,
    /// Which file.
    pub file_id: FileId,
    /// The file's name.
    pub name: String,
    /// The status the file moved to.
    pub status: FileStatus,
    /// Bytes received (declared bytes when nothing arrived).
    pub size: u64,
    /// The bytes' SHA-256, once inspected.
    pub sha256: Option<String>,
    /// The declared content type.
    pub content_type: String,
    /// Why the file failed, if it did.
    pub reasons: Vec<Reason>,
    /// When the change happened.
    pub occurred_at: Timestamp,
}

impl DomainEvent {
    /// The event for a record that moved from `old` (absent on creation) to `new`, or
    /// `None` when nothing worth announcing happened (creation, or no status change).
    pub fn from_change(old: Option<&FileRecord>, new: &FileRecord) -> Option<Self> {
        if old.is_some_and(|o| o.status == new.status) {
            return None;
        }
        let kind = EventKind::for_status(new.status)?;
        let finding = new.finding.as_ref();
        Some(Self {
            id: change_id(new),
            kind,
            tenant: new.tenant.clone(),
            file_id: new.id,
            name: new.name.to_string(),
            status: new.status,
            size: new.counted_bytes(),
            sha256: finding.map(|f| f.sha256.clone()),
            content_type: new.declared_type.to_string(),
            reasons: finding
                .map(|f| f.verdict.reasons.clone())
                .unwrap_or_default(),
            occurred_at: new.updated_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::{finding, pending_record};

    #[test]
    fn creating_an_upload_announces_nothing() {
        assert!(DomainEvent::from_change(None, &pending_record()).is_none());
    }

    #[test]
    fn a_clean_verdict_is_announced_as_file_accepted_with_its_checksum() {
        let old = pending_record();
        let new = old.with_finding(finding(vec![]), old.created_at).unwrap();
        let event = DomainEvent::from_change(Some(&old), &new).unwrap();
        assert_eq!(event.kind.name(), "File Accepted");
        assert_eq!(event.sha256.as_deref(), Some("ab".repeat(32).as_str()));
        assert_eq!(event.size, 40);
        assert_eq!(event.id, format!("{}-CLEAN", old.id));
    }

    #[test]
    fn a_rejection_carries_its_reasons() {
        let old = pending_record();
        let new = old
            .with_finding(finding(vec![Reason::Empty]), old.created_at)
            .unwrap();
        let event = DomainEvent::from_change(Some(&old), &new).unwrap();
        assert_eq!(event.kind, EventKind::FileRejected);
        assert_eq!(event.reasons, vec![Reason::Empty]);
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "File Rejected");
    }

    #[test]
    fn expiry_and_deletion_have_their_own_events() {
        let old = pending_record();
        let expired = old.expired(old.created_at).unwrap();
        assert_eq!(
            DomainEvent::from_change(Some(&old), &expired)
                .unwrap()
                .kind
                .name(),
            "Upload Expired"
        );
        let clean = old.with_finding(finding(vec![]), old.created_at).unwrap();
        let deleted = clean.deleted(clean.updated_at).unwrap();
        assert_eq!(
            DomainEvent::from_change(Some(&clean), &deleted)
                .unwrap()
                .kind
                .name(),
            "File Deleted"
        );
    }
}
