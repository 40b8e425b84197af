//! The upload policy: what a deployment (later: a tenant) accepts.

use serde::{Deserialize, Serialize};

use crate::{ContentType, FileName, Inspection, Reason, Verdict};

/// What a client asks for when it creates an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRequest {
    /// The file's name.
    pub name: FileName,
    /// The type the client says the bytes are.
    pub content_type: ContentType,
    /// The number of bytes the client will send.
    pub size: u64,
}

/// Limits and rules every upload is checked against, once when it is requested and
/// again, on the real bytes, when it arrives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// The largest file accepted, in bytes.
    pub max_size: u64,
    /// Declared types accepted; empty means any.
    pub allowed_types: Vec<ContentType>,
    /// Whether the type detected from the bytes must agree with the declared type.
    pub require_type_match: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_size: 1024 * 1024 * 1024,
            allowed_types: Vec::new(),
            require_type_match: true,
        }
    }
}

impl Policy {
    /// Checks a request before any bytes are sent, so a client learns at once what
    /// would be rejected later. Returns every reason, empty when acceptable.
    pub fn check_request(&self, request: &UploadRequest) -> Vec<Reason> {
        self.size_and_type_reasons(request.size, &request.content_type)
    }

    /// Judges the bytes that arrived against what was declared.
    pub fn evaluate(
        &self,
        declared_type: &ContentType,
        declared_size: u64,
        found: &Inspection,
    ) -> Verdict {
        let mut reasons = self.size_and_type_reasons(found.size, declared_type);
        if found.size != declared_size {
            reasons.push(Reason::SizeMismatch {
                declared: declared_size,
                actual: found.size,
            });
        }
        if self.require_type_match
            && found.size > 0
            && !found.detected_type.satisfies_declared(declared_type)
        {
            reasons.push(Reason::TypeMismatch {
                declared: declared_type.to_string(),
                detected: found.detected_type.to_string(),
            });
        }
        Verdict::from_reasons(reasons)
    }

    /// The checks a request and its bytes share: not empty, not too large, an allowed
    /// declared type.
    fn size_and_type_reasons(&self, size: u64, declared_type: &ContentType) -> Vec<Reason> {
        let mut reasons = Vec::new();
        if size == 0 {
            reasons.push(Reason::Empty);
        }
        if size > self.max_size {
            reasons.push(Reason::TooLarge {
                size,
                max: self.max_size,
            });
        }
        if !self.allows(declared_type) {
            reasons.push(Reason::TypeNotAllowed {
                content_type: declared_type.to_string(),
            });
        }
        reasons
    }

    fn allows(&self, content_type: &ContentType) -> bool {
        self.allowed_types.is_empty() || self.allowed_types.contains(content_type)
    }
}

#[cfg(test)]
mod tests {
    // Bytes only from the test kit: its domain types would be another crate's.
    use airlock_testkit::samples::{PNG, elf};

    use super::*;
    use crate::{Outcome, sniff};

    fn ct(raw: &str) -> ContentType {
        ContentType::parse(raw).unwrap()
    }

    fn found(bytes: &[u8]) -> Inspection {
        Inspection {
            sha256: String::new(),
            size: bytes.len() as u64,
            detected_type: sniff(bytes),
        }
    }

    fn request(content_type: &str, size: u64) -> UploadRequest {
        UploadRequest {
            name: FileName::parse("f").unwrap(),
            content_type: ct(content_type),
            size,
        }
    }

    #[test]
    fn matching_bytes_within_limits_are_clean() {
        let verdict = Policy::default().evaluate(&ct("image/png"), PNG.len() as u64, &found(PNG));
        assert_eq!(verdict.outcome, Outcome::Clean);
        assert!(verdict.reasons.is_empty());
    }

    #[test]
    fn an_executable_declared_as_png_is_rejected_for_type_mismatch() {
        let verdict = Policy::default().evaluate(&ct("image/png"), 64, &found(&elf(64)));
        assert_eq!(verdict.outcome, Outcome::Rejected);
        assert_eq!(
            verdict.reasons,
            vec![Reason::TypeMismatch {
                declared: "image/png".into(),
                detected: "application/x-executable".into()
            }]
        );
    }

    #[test]
    fn every_failed_check_is_listed() {
        let policy = Policy {
            max_size: 4,
            allowed_types: vec![ct("image/png")],
            require_type_match: true,
        };
        let verdict = policy.evaluate(&ct("text/csv"), 3, &found(b"a,b\n1,2\n"));
        let codes: Vec<_> = verdict
            .reasons
            .iter()
            .map(|r| serde_json::to_value(r).unwrap()["code"].clone())
            .collect();
        assert_eq!(codes, ["too_large", "type_not_allowed", "size_mismatch"]);
    }

    #[test]
    fn an_empty_object_is_rejected_as_empty_without_a_type_complaint() {
        let verdict = Policy::default().evaluate(&ct("image/png"), 0, &found(b""));
        assert_eq!(verdict.reasons, vec![Reason::Empty]);
    }

    #[test]
    fn requests_are_checked_before_bytes_are_sent() {
        let policy = Policy {
            max_size: 10,
            allowed_types: vec![ct("image/png")],
            require_type_match: true,
        };
        assert!(policy.check_request(&request("image/png", 10)).is_empty());
        assert_eq!(policy.check_request(&request("image/png", 11)).len(), 1);
        assert_eq!(policy.check_request(&request("text/csv", 0)).len(), 2);
    }
}
