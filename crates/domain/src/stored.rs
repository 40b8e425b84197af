//! What an object store keeps beside an object's bytes and serves back with them.
//!
//! A presigned upload signs only some headers (type, length, `if-none-match`); S3
//! stores others a client adds, such as `Content-Encoding`, and answers every GET
//! with them. Brotli of an executable has no magic bytes and scans clean, yet a
//! browser told `Content-Encoding: br` decodes it and saves the executable. So ingest
//! compares what was stored with what was signed, and refuses a difference.

use crate::{ContentType, Reason};

/// The headers and identity an object was stored with, as its GET answered them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredObject {
    /// `Content-Type`, if the store keeps one.
    pub content_type: Option<String>,
    /// `Content-Encoding`, if the uploader sent one.
    pub content_encoding: Option<String>,
    /// The version the bytes belong to, on a versioned store.
    pub version_id: Option<String>,
    /// The store's tag for these bytes (S3's ETag, quotes removed).
    pub etag: Option<String>,
}

impl StoredObject {
    /// Every stored header that differs from what the presigned upload signed: a
    /// content type other than the declared one, or any content encoding at all
    /// (none is signed; `identity` means none). A header the store does not keep is
    /// not a difference.
    pub fn mismatches(&self, declared: &ContentType) -> Vec<Reason> {
        let mut reasons = Vec::new();
        if let Some(stored) = &self.content_type
            && ContentType::parse(stored).as_ref() != Ok(declared)
        {
            reasons.push(Reason::StoredHeadersMismatch {
                header: "content-type".to_owned(),
                signed: Some(declared.to_string()),
                stored: stored.clone(),
            });
        }
        if let Some(stored) = &self.content_encoding
            && !is_identity(stored)
        {
            reasons.push(Reason::StoredHeadersMismatch {
                header: "content-encoding".to_owned(),
                signed: None,
                stored: stored.clone(),
            });
        }
        reasons
    }
}

fn is_identity(encoding: &str) -> bool {
    let encoding = encoding.trim();
    encoding.is_empty() || encoding.eq_ignore_ascii_case("identity")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png() -> ContentType {
        ContentType::parse("image/png").unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn an_object_stored_with_exactly_the_signed_headers_has_no_mismatch() {
        let stored = StoredObject {
            content_type: Some("image/png".into()),
            content_encoding: Some("identity".into()),
            ..StoredObject::default()
        };
        assert_eq!(stored.mismatches(&png()), vec![]);
        assert_eq!(StoredObject::default().mismatches(&png()), vec![]);
    }

    #[test]
    fn an_unsigned_content_encoding_is_a_mismatch_naming_the_header_and_both_values() {
        let stored = StoredObject {
            content_type: Some("image/png".into()),
            content_encoding: Some("br".into()),
            ..StoredObject::default()
        };
        assert_eq!(
            stored.mismatches(&png()),
            vec![Reason::StoredHeadersMismatch {
                header: "content-encoding".into(),
                signed: None,
                stored: "br".into(),
            }]
        );
    }

    #[test]
    fn a_stored_content_type_other_than_the_declared_one_is_a_mismatch() {
        let stored = StoredObject {
            content_type: Some("text/html".into()),
            ..StoredObject::default()
        };
        assert_eq!(
            stored.mismatches(&png()),
            vec![Reason::StoredHeadersMismatch {
                header: "content-type".into(),
                signed: Some("image/png".into()),
                stored: "text/html".into(),
            }]
        );
    }
}
