//! Per-tenant usage counters: files and bytes by status.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{FileRecord, FileStatus, TenantId};

/// Files and bytes in one status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCount {
    /// Number of files.
    pub files: i64,
    /// Sum of their sizes.
    pub bytes: i64,
}

/// A tenant's counters. Statuses with no files are listed with zeros, so clients see
/// the same shape every time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Counters keyed by status.
    pub by_status: BTreeMap<FileStatus, StatusCount>,
}

impl Default for Usage {
    fn default() -> Self {
        Self {
            by_status: FileStatus::ALL
                .into_iter()
                .map(|s| (s, StatusCount::default()))
                .collect(),
        }
    }
}

/// How one catalog change moves a tenant's counters. Applied at most once, keyed by
/// `change_id`, which is the same for every redelivery of the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageDelta {
    /// Whose counters.
    pub tenant: TenantId,
    /// Identifies the change: `{file id}-{new status}`; status only moves forward, so
    /// each file has at most one change per status.
    pub change_id: String,
    /// Signed moves per status.
    pub moves: Vec<(FileStatus, StatusCount)>,
}

impl UsageDelta {
    /// The counter moves for a record that went from `old` (absent on creation) to `new`;
    /// `None` when the status did not change.
    pub fn from_change(old: Option<&FileRecord>, new: &FileRecord) -> Option<Self> {
        if old.is_some_and(|o| o.status == new.status) {
            return None;
        }
        let mut moves = Vec::with_capacity(2);
        if let Some(old) = old {
            moves.push((old.status, count(old, -1)));
        }
        moves.push((new.status, count(new, 1)));
        Some(Self {
            tenant: new.tenant.clone(),
            change_id: change_id(new),
            moves,
        })
    }
}

/// The id of the change that put a record into its current status.
pub(crate) fn change_id(record: &FileRecord) -> String {
    format!("{}-{}", record.id, record.status)
}

fn count(record: &FileRecord, sign: i64) -> StatusCount {
    StatusCount {
        files: sign,
        bytes: sign * i64::try_from(record.counted_bytes()).unwrap_or(i64::MAX),
    }
}

impl Usage {
    /// Adds one delta's moves.
    pub fn apply(&mut self, delta: &UsageDelta) {
        for (status, by) in &delta.moves {
            let entry = self.by_status.entry(*status).or_default();
            entry.files += by.files;
            entry.bytes += by.bytes;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::{finding, pending_record};

    #[test]
    fn a_new_upload_counts_one_pending_file_with_its_declared_bytes() {
        let delta = UsageDelta::from_change(None, &pending_record()).unwrap();
        assert_eq!(
            delta.moves,
            vec![(
                FileStatus::Pending,
                StatusCount {
                    files: 1,
                    bytes: 42
                }
            )]
        );
        assert_eq!(delta.change_id, "01JCZ5K6Q2V1E7W8X9Y0Z1A2B3-PENDING");
    }

    #[test]
    fn a_verdict_moves_the_file_out_of_pending_with_the_bytes_that_arrived() {
        let old = pending_record();
        let new = old.with_finding(finding(vec![]), old.created_at).unwrap();
        let mut usage = Usage::default();
        usage.apply(&UsageDelta::from_change(None, &old).unwrap());
        usage.apply(&UsageDelta::from_change(Some(&old), &new).unwrap());
        assert_eq!(
            usage.by_status[&FileStatus::Pending],
            StatusCount::default()
        );
        assert_eq!(
            usage.by_status[&FileStatus::Clean],
            StatusCount {
                files: 1,
                bytes: 40
            }
        );
    }

    #[test]
    fn a_change_that_keeps_the_status_moves_no_counter() {
        let record = pending_record();
        assert!(UsageDelta::from_change(Some(&record), &record).is_none());
    }
}
