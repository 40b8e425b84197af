//! Listing cursors: opaque to clients, but bound to the tenant and the status filter
//! they were issued for, so a cursor replayed under another tenant or filter is
//! refused instead of quietly listing something else.
//!
//! The wire form is base64url (no padding) of `{"v":1,"t":tenant,"s":status,"a":id}`.
//! Nothing secret is in it and it grants nothing: every listing is scoped to the
//! token's tenant anyway; the binding only turns a misuse into a clear 400.

use airlock_domain::{FileId, FileStatus, TenantId};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// The only cursor format so far; bumped if the layout ever changes.
const VERSION: u8 = 1;
/// Real cursors are about 100 characters; anything far longer is not one of ours.
const MAX_LEN: usize = 512;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    v: u8,
    t: TenantId,
    s: Option<FileStatus>,
    a: FileId,
}

/// The cursor that continues a listing after `after`.
pub(crate) fn encode(tenant: &TenantId, status: Option<FileStatus>, after: FileId) -> String {
    let wire = Wire {
        v: VERSION,
        t: tenant.clone(),
        s: status,
        a: after,
    };
    // A struct of strings cannot fail to serialise; an empty cursor would only be
    // refused on use, never misread.
    let json = serde_json::to_vec(&wire).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// The file to continue after, if `raw` is a cursor issued for this tenant and filter.
pub(crate) fn decode(
    raw: &str,
    tenant: &TenantId,
    status: Option<FileStatus>,
) -> Result<FileId, ApiError> {
    if raw.len() > MAX_LEN {
        return Err(ApiError::InvalidCursor);
    }
    let json = URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|_| ApiError::InvalidCursor)?;
    let wire: Wire = serde_json::from_slice(&json).map_err(|_| ApiError::InvalidCursor)?;
    if wire.v != VERSION || wire.t != *tenant || wire.s != status {
        return Err(ApiError::InvalidCursor);
    }
    Ok(wire.a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(raw: &str) -> TenantId {
        TenantId::parse(raw).expect("valid tenant")
    }

    #[test]
    fn a_cursor_round_trips_for_the_same_tenant_and_filter() {
        let id = FileId::generate();
        let cursor = encode(&tenant("acme"), Some(FileStatus::Clean), id);
        assert!(!cursor.contains(['=', '+', '/']), "{cursor}");
        let back = decode(&cursor, &tenant("acme"), Some(FileStatus::Clean));
        assert_eq!(back.ok(), Some(id));
    }

    #[test]
    fn a_cursor_is_refused_under_another_tenant_or_filter() {
        let cursor = encode(&tenant("acme"), None, FileId::generate());
        assert!(decode(&cursor, &tenant("globex"), None).is_err());
        assert!(decode(&cursor, &tenant("acme"), Some(FileStatus::Clean)).is_err());
    }

    #[test]
    fn garbage_and_other_versions_are_refused() {
        let other_version = URL_SAFE_NO_PAD.encode(format!(
            r#"{{"v":2,"t":"acme","s":null,"a":"{}"}}"#,
            FileId::generate()
        ));
        for raw in ["", "!!!", "e30", other_version.as_str()] {
            assert!(decode(raw, &tenant("acme"), None).is_err(), "{raw}");
        }
    }
}
