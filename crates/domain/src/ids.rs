//! Validated identifiers: tenants, files and file names.

use std::fmt;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::DomainError;

/// The longest tenant id accepted, in bytes.
const TENANT_ID_MAX: usize = 64;
/// The longest file name accepted, in bytes of its NFC form (the common filesystem limit).
const FILE_NAME_MAX: usize = 255;

/// A tenant: who owns a file. Only ever taken from a verified token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

impl TenantId {
    /// Validates a tenant id: 1 to 64 characters of `[A-Za-z0-9_-]`, so it is safe
    /// inside object keys and table keys without escaping.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        if raw.is_empty() {
            return Err(DomainError::InvalidTenantId("empty"));
        }
        if raw.len() > TENANT_ID_MAX {
            return Err(DomainError::InvalidTenantId("longer than 64 characters"));
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(DomainError::InvalidTenantId(
                "only letters, digits, '-' and '_' are allowed",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TenantId {
    type Error = DomainError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<TenantId> for String {
    fn from(id: TenantId) -> Self {
        id.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A file's id: a ULID, so ids sort by creation time and listing needs no extra index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FileId(ulid::Ulid);

impl FileId {
    /// A new id, unique and later-sorting than any made before it on this clock.
    pub fn generate() -> Self {
        Self(ulid::Ulid::new())
    }

    /// Parses the canonical 26-character form only: upper case, no aliases (`I`, `L`
    /// and `O`, which Crockford's base32 reads as `1`, `1` and `0`) and no first
    /// character past `7` (which overflows 128 bits into the same id). One id has one
    /// spelling, so an object key, a log line and a lookup can never name the same file
    /// differently, and nothing downstream has to remember to canonicalise.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        ulid::Ulid::from_string(raw)
            .ok()
            .filter(|id| id.to_string() == raw)
            .map(Self)
            .ok_or_else(|| DomainError::InvalidFileId(truncated(raw)))
    }
}

impl TryFrom<String> for FileId {
    type Error = DomainError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<FileId> for String {
    fn from(id: FileId) -> Self {
        id.to_string()
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Keeps error messages short when a caller sends something huge.
fn truncated(raw: &str) -> String {
    raw.chars().take(40).collect()
}

/// The first character of `name` that is a format character (Cf: bidi controls,
/// zero-width spaces and joiners, the byte-order mark) or a line or paragraph separator
/// (Zl, Zp), with its category: they change how a name reads without showing.
fn first_invisible(name: &str) -> Option<(char, &'static str)> {
    use unicode_general_category::{GeneralCategory, get_general_category};
    name.chars().find_map(|c| match get_general_category(c) {
        GeneralCategory::Format => Some((c, "Cf")),
        GeneralCategory::LineSeparator => Some((c, "Zl")),
        GeneralCategory::ParagraphSeparator => Some((c, "Zp")),
        _ => None,
    })
}

/// A file name as the uploader gave it, normalised to NFC and safe to show and store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FileName(String);

impl FileName {
    /// Validates a name: after NFC normalisation it is 1 to 255 bytes, has no path
    /// separators, no control characters, no invisible format or separator characters
    /// (Unicode Cf, Zl, Zp), is not `.` or `..`, and has no leading or
    /// trailing white space (which hides look-alike names).
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let name: String = raw.nfc().collect();
        if name.is_empty() {
            return Err(DomainError::InvalidFileName("empty"));
        }
        if name.len() > FILE_NAME_MAX {
            return Err(DomainError::InvalidFileName("longer than 255 bytes"));
        }
        if name.contains(['/', '\\']) {
            return Err(DomainError::InvalidFileName("contains a path separator"));
        }
        if name.chars().any(char::is_control) {
            return Err(DomainError::InvalidFileName("contains a control character"));
        }
        if let Some((c, category)) = first_invisible(&name) {
            return Err(DomainError::InvisibleCharInFileName {
                code_point: u32::from(c),
                category,
            });
        }
        if name == "." || name == ".." {
            return Err(DomainError::InvalidFileName("is a relative path"));
        }
        if name.trim() != name {
            return Err(DomainError::InvalidFileName(
                "starts or ends with white space",
            ));
        }
        Ok(Self(name))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A `content-disposition` header that saves the download under this name
    /// (RFC 6266): an ASCII fallback and the exact name, UTF-8 percent-encoded.
    pub fn content_disposition(&self) -> String {
        let fallback: String = self
            .0
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || " .-_()".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let exact: String = self
            .0
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{exact}")
    }
}

impl TryFrom<String> for FileName {
    type Error = DomainError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<FileName> for String {
    fn from(name: FileName) -> Self {
        name.0
    }
}

impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_of_letters_digits_dashes_and_underscores_are_accepted() {
        assert_eq!(TenantId::parse("acme_Co-1").unwrap().as_str(), "acme_Co-1");
    }

    #[test]
    fn tenant_ids_that_are_empty_long_or_hold_separators_are_rejected() {
        assert!(TenantId::parse("").is_err());
        assert!(TenantId::parse(&"a".repeat(65)).is_err());
        assert!(TenantId::parse("a/b").is_err());
        assert!(TenantId::parse("a b").is_err());
        assert!(TenantId::parse("a#b").is_err());
    }

    #[test]
    fn file_ids_round_trip_through_text_and_sort_by_creation() {
        let first = FileId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = FileId::generate();
        assert!(first < second);
        assert_eq!(FileId::parse(&first.to_string()).unwrap(), first);
    }

    #[test]
    fn file_ids_are_accepted_only_in_their_one_canonical_spelling() {
        let canonical = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
        assert!(FileId::parse(canonical).is_ok());
        for alias in [
            canonical.to_lowercase(),
            // I and L read as 1, O as 0 in Crockford's base32.
            "0IARZ3NDEKTSV4RRFFQ69G5FAV".to_owned(),
            "0LARZ3NDEKTSV4RRFFQ69G5FAV".to_owned(),
            "O1ARZ3NDEKTSV4RRFFQ69G5FAV".to_owned(),
            // A first character past 7 overflows 128 bits.
            "81ARZ3NDEKTSV4RRFFQ69G5FAV".to_owned(),
        ] {
            assert!(
                matches!(FileId::parse(&alias), Err(DomainError::InvalidFileId(_))),
                "{alias} was accepted"
            );
        }
    }

    #[test]
    fn file_ids_that_are_not_ulids_are_rejected() {
        assert!(FileId::parse("not-a-ulid").is_err());
        assert!(FileId::parse("").is_err());
        assert!(FileId::parse("../../etc/passwd").is_err());
    }

    #[test]
    fn file_names_are_normalised_to_nfc() {
        let decomposed = "cafe\u{301}.txt";
        let name = FileName::parse(decomposed).unwrap();
        assert_eq!(name.as_str(), "caf\u{e9}.txt");
    }

    #[test]
    fn file_names_with_separators_controls_or_dots_are_rejected() {
        for bad in [
            "", "a/b", "a\\b", "../x", "a\nb", "a\u{0}b", "a\u{7f}b", ".", "..", " x", "x ",
        ] {
            assert!(FileName::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn file_names_with_bidi_or_invisible_characters_are_refused_naming_the_code_point() {
        for (bad, code_point, category) in [
            ("Invoice\u{202E}fdp.exe", 0x202E, "Cf"),
            ("a\u{2066}b\u{2069}.txt", 0x2066, "Cf"),
            ("a\u{2069}.txt", 0x2069, "Cf"),
            ("pay\u{200B}pal.pdf", 0x200B, "Cf"),
            ("a\u{200F}.txt", 0x200F, "Cf"),
            ("\u{FEFF}a.txt", 0xFEFF, "Cf"),
            ("a\u{2028}b.txt", 0x2028, "Zl"),
            ("a\u{2029}b.txt", 0x2029, "Zp"),
        ] {
            let error = FileName::parse(bad).unwrap_err();
            assert_eq!(
                error,
                DomainError::InvisibleCharInFileName {
                    code_point,
                    category
                },
                "{bad:?}"
            );
            assert!(
                error.to_string().contains(&format!("U+{code_point:04X}")),
                "{error}"
            );
        }
    }

    #[test]
    fn file_names_in_right_to_left_scripts_are_accepted() {
        assert!(FileName::parse("\u{645}\u{644}\u{641}.pdf").is_ok());
        assert!(FileName::parse("\u{5e7}\u{5d5}\u{5d1}\u{5e5}.txt").is_ok());
    }

    #[test]
    fn content_disposition_keeps_the_exact_name_and_a_safe_fallback() {
        let name = FileName::parse("résumé \"final\".pdf").unwrap();
        assert_eq!(
            name.content_disposition(),
            "attachment; filename=\"r_sum_ _final_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.pdf"
        );
    }

    #[test]
    fn file_names_are_limited_to_255_bytes() {
        assert!(FileName::parse(&"a".repeat(255)).is_ok());
        assert!(FileName::parse(&"a".repeat(256)).is_err());
        // 128 two-byte characters are 256 bytes, though only 128 characters.
        assert!(FileName::parse(&"é".repeat(128)).is_err());
    }
}
