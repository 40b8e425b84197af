//! The upload layout: where in the bucket each file's bytes live.

use std::fmt;

use crate::{DomainError, FileId, TenantId};

/// The prefix under which every upload lands; S3 notifications are scoped to it.
const UPLOAD_PREFIX: &str = "uploads/";

/// Where INFECTED objects are moved when a deployment quarantines them: outside the
/// upload prefix, so nothing that handles uploads (notifications, listings, a
/// replayed presigned PUT) ever touches them again.
const QUARANTINE_PREFIX: &str = "quarantine/";

/// The object key of a file: `uploads/{tenant}/{file id}`.
///
/// The user's file name is never part of the key, so names cannot traverse paths or
/// collide, and a key alone tells ingest which record it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectKey {
    tenant: TenantId,
    file_id: FileId,
}

impl ObjectKey {
    /// The key for a tenant's file.
    pub fn new(tenant: TenantId, file_id: FileId) -> Self {
        Self { tenant, file_id }
    }

    /// Parses a decoded key; anything outside the layout is an error.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let outside = || DomainError::KeyOutsideLayout(raw.chars().take(200).collect());
        let rest = raw.strip_prefix(UPLOAD_PREFIX).ok_or_else(outside)?;
        let (tenant, file_id) = rest.split_once('/').ok_or_else(outside)?;
        Ok(Self {
            tenant: TenantId::parse(tenant).map_err(|_| outside())?,
            file_id: FileId::parse(file_id).map_err(|_| outside())?,
        })
    }

    /// The owning tenant.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The file's id, the last segment of the key.
    pub fn file_id(&self) -> FileId {
        self.file_id
    }

    /// The prefix all upload keys share.
    pub fn prefix() -> &'static str {
        UPLOAD_PREFIX
    }

    /// Where this file's bytes go when it is quarantined:
    /// `quarantine/{tenant}/{file id}`.
    pub fn quarantined(&self) -> String {
        format!("{QUARANTINE_PREFIX}{}/{}", self.tenant, self.file_id)
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{UPLOAD_PREFIX}{}/{}", self.tenant, self.file_id)
    }
}

#[cfg(test)]
mod quarantine_tests {
    use super::*;

    #[test]
    fn a_quarantined_key_keeps_tenant_and_id_outside_the_upload_prefix() {
        let key = ObjectKey::parse("uploads/acme/01JCZ5K6Q2V1E7W8X9Y0Z1A2B3").unwrap();
        assert_eq!(
            key.quarantined(),
            "quarantine/acme/01JCZ5K6Q2V1E7W8X9Y0Z1A2B3"
        );
        assert!(ObjectKey::parse(&key.quarantined()).is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_text() {
        let key = ObjectKey::new(TenantId::parse("acme").unwrap(), FileId::generate());
        assert_eq!(ObjectKey::parse(&key.to_string()).unwrap(), key);
    }

    #[test]
    fn keys_outside_the_upload_layout_are_rejected() {
        let id = FileId::generate();
        for bad in [
            format!("other/acme/{id}"),
            format!("uploads/acme/{id}/extra"),
            format!("uploads/../{id}"),
            "uploads/acme".to_owned(),
            "uploads/acme/not-an-id".to_owned(),
            String::new(),
        ] {
            assert!(ObjectKey::parse(&bad).is_err(), "{bad:?} was accepted");
        }
    }
}
