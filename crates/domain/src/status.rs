//! The file status state machine.
//!
//! ```text
//! PENDING ──▶ CLEAN | REJECTED | INFECTED ──▶ DELETED
//!    └──────▶ EXPIRED    └─▶ INFECTED (a re-scan with newer rules matched)
//! ```
//! Status only moves forward; every other move is an error. CLEAN → CLEAN is the one
//! move in place: a re-scan that found nothing records the newer ruleset.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// Where a file is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FileStatus {
    /// An upload was granted; the bytes have not been verified yet.
    Pending,
    /// Verified and scanned: the only status in which a file can be downloaded.
    Clean,
    /// Failed the policy (size, type, …).
    Rejected,
    /// Matched a malware rule.
    Infected,
    /// The upload was never completed before its deadline.
    Expired,
    /// Removed by its owner or by retention.
    Deleted,
}

impl FileStatus {
    /// Every status, in state-machine order.
    pub const ALL: [FileStatus; 6] = [
        Self::Pending,
        Self::Clean,
        Self::Rejected,
        Self::Infected,
        Self::Expired,
        Self::Deleted,
    ];

    /// Whether the state machine allows moving from `self` to `to`.
    pub fn can_move_to(self, to: FileStatus) -> bool {
        use FileStatus::*;
        matches!(
            (self, to),
            (Pending, Clean | Rejected | Infected | Expired)
                | (Clean, Clean | Infected)
                | (Clean | Rejected | Infected, Deleted)
        )
    }

    /// Checks a move against the state machine.
    pub fn check_move(self, to: FileStatus) -> Result<(), DomainError> {
        if self.can_move_to(to) {
            Ok(())
        } else {
            Err(DomainError::IllegalTransition { from: self, to })
        }
    }

    /// The wire name, e.g. `CLEAN`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Clean => "CLEAN",
            Self::Rejected => "REJECTED",
            Self::Infected => "INFECTED",
            Self::Expired => "EXPIRED",
            Self::Deleted => "DELETED",
        }
    }

    /// Parses the wire name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Whether ingest has decided about this file (it was verified one way or another).
    pub fn is_verdict(self) -> bool {
        matches!(self, Self::Clean | Self::Rejected | Self::Infected)
    }
}

impl fmt::Display for FileStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::FileStatus::{self, *};

    #[test]
    fn pending_files_move_to_a_verdict_or_expire() {
        for to in [Clean, Rejected, Infected, Expired] {
            assert!(Pending.check_move(to).is_ok(), "PENDING -> {to}");
        }
    }

    #[test]
    fn rejected_and_infected_move_only_to_deleted() {
        for from in [Rejected, Infected] {
            assert!(from.check_move(Deleted).is_ok());
            for to in FileStatus::ALL.into_iter().filter(|s| *s != Deleted) {
                assert!(from.check_move(to).is_err(), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn clean_files_can_be_found_infected_by_a_rescan_but_never_rejected() {
        assert!(Clean.check_move(Infected).is_ok());
        assert!(Clean.check_move(Clean).is_ok());
        assert!(Clean.check_move(Rejected).is_err());
        assert!(Clean.check_move(Pending).is_err());
    }

    #[test]
    fn every_other_move_is_an_error() {
        let allowed = [
            (Pending, Clean),
            (Pending, Rejected),
            (Pending, Infected),
            (Pending, Expired),
            (Clean, Clean),
            (Clean, Infected),
            (Clean, Deleted),
            (Rejected, Deleted),
            (Infected, Deleted),
        ];
        for from in FileStatus::ALL {
            for to in FileStatus::ALL {
                assert_eq!(
                    from.check_move(to).is_ok(),
                    allowed.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn deleted_files_are_never_resurrected() {
        for to in FileStatus::ALL {
            assert!(!Deleted.can_move_to(to));
            assert!(!Expired.can_move_to(to));
        }
    }

    #[test]
    fn wire_names_round_trip() {
        for s in FileStatus::ALL {
            assert_eq!(FileStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        assert_eq!(FileStatus::parse("clean"), None);
    }
}
