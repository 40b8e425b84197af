//! `POST /v1/files`: the upload a client asks for.

use airlock_domain::{
    ContentType, DomainError, FileName, Sha256Hex, UploadRequest, multipart::NotASha256,
};
use serde::{Deserialize, Serialize};

/// `POST /v1/files`. Unknown fields are refused, so a typo is not silently dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateFileBody {
    /// The file's name.
    pub name: String,
    /// The declared media type.
    pub content_type: String,
    /// The exact size in bytes.
    #[serde(deserialize_with = "whole_number")]
    pub size: u64,
    /// The whole file's SHA-256, hex, if the client knows it: ingest rejects bytes
    /// that hash otherwise.
    #[serde(
        default,
        deserialize_with = "present_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub sha256: Option<String>,
}

/// An optional field that, when given, must be a string: `null` is refused as the
/// document says (a field left out is `None` through `#[serde(default)]`).
fn present_string<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    String::deserialize(deserializer).map(Some)
}

/// JSON Schema's `integer`, which is what openapi.json says `size` is.
fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    crate::whole(
        deserializer,
        "size must be a whole, non-negative number of bytes",
    )
}

impl CreateFileBody {
    /// The SHA-256 declared, validated.
    pub fn declared_sha256(&self) -> Result<Option<Sha256Hex>, NotASha256> {
        self.sha256.as_deref().map(Sha256Hex::parse).transpose()
    }

    /// The validated request.
    pub fn upload_request(&self) -> Result<UploadRequest, DomainError> {
        Ok(UploadRequest {
            name: FileName::parse(&self.name)?,
            content_type: ContentType::parse(&self.content_type)?,
            size: self.size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size_of(json: &str) -> Option<u64> {
        let body = format!(r#"{{"name": "a", "content_type": "a/b", "size": {json}}}"#);
        serde_json::from_str::<CreateFileBody>(&body)
            .ok()
            .map(|b| b.size)
    }

    #[test]
    fn a_size_with_a_zero_fraction_or_an_exponent_is_the_same_whole_number() {
        assert_eq!(size_of("2048"), Some(2048));
        assert_eq!(size_of("26865.0"), Some(26865));
        assert_eq!(size_of("2e3"), Some(2000));
    }

    #[test]
    fn a_size_with_a_fraction_negative_or_not_a_number_is_refused() {
        for bad in ["1.5", "-1", "-0.5", "1e300", "\"12\"", "null"] {
            assert_eq!(size_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_body_without_a_sha256_is_sent_without_the_field() {
        let body = CreateFileBody {
            name: "a.csv".into(),
            content_type: "text/csv".into(),
            size: 3,
            sha256: None,
        };
        let json = serde_json::to_string(&body).unwrap();
        assert_eq!(
            json,
            r#"{"name":"a.csv","content_type":"text/csv","size":3}"#
        );
    }
}
