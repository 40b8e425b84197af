//! Media types as declared by uploaders and as detected from bytes.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// The longest media type accepted, in bytes (RFC 6838 caps each part at 127).
const CONTENT_TYPE_MAX: usize = 255;

/// A media type's essence, `type/subtype`, lower-cased, without parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContentType(String);

impl ContentType {
    /// The type of bytes nothing more is known about.
    pub fn octet_stream() -> Self {
        Self("application/octet-stream".to_owned())
    }

    /// Parses `type/subtype[; parameters]`; parameters (such as `charset`) are dropped
    /// because policy decisions are made on the essence alone.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        if raw.len() > CONTENT_TYPE_MAX {
            return Err(DomainError::InvalidContentType("longer than 255 bytes"));
        }
        let essence = raw.split(';').next().unwrap_or_default().trim();
        let Some((kind, subtype)) = essence.split_once('/') else {
            return Err(DomainError::InvalidContentType("expected type/subtype"));
        };
        if !is_token(kind) || !is_token(subtype) {
            return Err(DomainError::InvalidContentType(
                "type and subtype must be non-empty tokens",
            ));
        }
        Ok(Self(essence.to_ascii_lowercase()))
    }

    /// The essence as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The top-level type, such as `image` for `image/png`.
    pub fn top_level(&self) -> &str {
        self.0.split('/').next().unwrap_or_default()
    }

    /// Whether bytes detected as `self` may honestly be declared as `declared`.
    ///
    /// Magic bytes cannot tell plain-text formats apart, so text that was detected as
    /// `text/plain` agrees with any textual declaration (CSV, JSON, XML, …); and
    /// `application/octet-stream` claims nothing, so it agrees with any bytes that are not
    /// recognised as something more specific.
    pub fn satisfies_declared(&self, declared: &ContentType) -> bool {
        if self == declared {
            return true;
        }
        match self.as_str() {
            "text/plain" => declared.is_textual(),
            "application/zip" => declared.is_zip_container(),
            _ => false,
        }
    }

    fn is_textual(&self) -> bool {
        self.top_level() == "text"
            || matches!(
                self.as_str(),
                "application/json" | "application/xml" | "application/x-ndjson" | "image/svg+xml"
            )
    }

    /// Office Open XML, OpenDocument, JAR and EPUB files are ZIP archives underneath,
    /// and their magic bytes do not always say which.
    fn is_zip_container(&self) -> bool {
        let s = self.as_str();
        s.starts_with("application/vnd.openxmlformats-officedocument.")
            || s.starts_with("application/vnd.oasis.opendocument.")
            || matches!(s, "application/java-archive" | "application/epub+zip")
    }
}

/// RFC 7230 `token` characters.
fn is_token(part: &str) -> bool {
    !part.is_empty()
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl TryFrom<String> for ContentType {
    type Error = DomainError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<ContentType> for String {
    fn from(ct: ContentType) -> Self {
        ct.0
    }
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ct(raw: &str) -> ContentType {
        ContentType::parse(raw).unwrap()
    }

    #[test]
    fn content_types_are_lowercased_and_lose_their_parameters() {
        assert_eq!(ct("Text/CSV; charset=utf-8").as_str(), "text/csv");
    }

    #[test]
    fn content_types_without_a_subtype_or_with_spaces_are_rejected() {
        for bad in [
            "",
            "text",
            "text/",
            "/plain",
            "te xt/plain",
            "text/pl ain",
            "a/b/c",
        ] {
            assert!(ContentType::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn detected_text_satisfies_any_textual_declaration_but_not_a_binary_one() {
        assert!(ct("text/plain").satisfies_declared(&ct("text/csv")));
        assert!(ct("text/plain").satisfies_declared(&ct("application/json")));
        assert!(!ct("text/plain").satisfies_declared(&ct("image/png")));
    }

    #[test]
    fn detected_zip_satisfies_office_documents_but_png_satisfies_only_png() {
        let docx = ct("application/vnd.openxmlformats-officedocument.wordprocessingml.document");
        assert!(ct("application/zip").satisfies_declared(&docx));
        assert!(ct("image/png").satisfies_declared(&ct("image/png")));
        assert!(!ct("image/png").satisfies_declared(&ct("image/jpeg")));
    }
}
