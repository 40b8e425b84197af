//! A compiled ruleset kept as bytes next to its rules, so a cold start reads it back
//! in milliseconds instead of compiling thousands of rules again.
//!
//! The blob is named by everything that shapes the compiled form: the ruleset version
//! (the default rules' digest and the deployment's rules' version), the YARA-X version
//! (its serialized form is tied to it) and the external variables the rules were
//! compiled with. A blob for another version is simply never asked for.
//!
//! Layout: a magic string, the length of a JSON header, the header (version, files in
//! force and left out, SHA-256 of the rest), then YARA-X's own serialized rules. The
//! digest catches a truncated or damaged blob before YARA-X reads it; a blob that
//! fails any check is ignored and the rules are compiled again. Whoever may write the
//! blob could also write the rules beside it, so the digest guards against damage,
//! not against the bucket's writers.

use sha2::{Digest, Sha256};

use crate::{
    CompiledRules,
    rules::{EXTERNALS, LeftOut, Origin, short_digest},
};

const MAGIC: &[u8] = b"AIRLOCK-RULES\x01";

/// Why a blob could not be written or read back.
#[derive(Debug, thiserror::Error)]
pub enum PrecompiledError {
    /// YARA-X refused to serialize or deserialize the rules.
    #[error("yara-x (de)serialization")]
    Engine(#[source] yara_x::errors::SerializationError),
    /// The blob does not start with Airlock's header.
    #[error("not a precompiled ruleset")]
    NotABlob,
    /// The header is not the JSON this version writes.
    #[error("unreadable header")]
    Header(#[source] serde_json::Error),
    /// The rules' bytes are not those the header describes.
    #[error("the blob is damaged (its digest does not match)")]
    Damaged,
    /// The blob is for another ruleset version.
    #[error("the blob holds ruleset {found}, not {expected}")]
    OtherVersion {
        /// The version asked for.
        expected: String,
        /// The version the blob holds.
        found: String,
    },
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Header {
    version: String,
    in_force: Vec<String>,
    left_out: Vec<LeftOut>,
    sha256: String,
}

/// The name the blob of ruleset `version` is kept under, beside the rules.
pub fn blob_name(version: &str) -> String {
    format!(
        "{version}.yara-x-{}.{}.yarc",
        yara_x::VERSION,
        short_digest(EXTERNALS.join("\0").as_bytes())
    )
}

/// The blob of `rules`.
pub fn to_blob(rules: &CompiledRules) -> Result<Vec<u8>, PrecompiledError> {
    let serialized = rules
        .rules()
        .serialize()
        .map_err(PrecompiledError::Engine)?;
    let header = Header {
        version: rules.version().to_owned(),
        in_force: rules.in_force().to_vec(),
        left_out: rules.left_out().to_vec(),
        sha256: hex::encode(Sha256::digest(&serialized)),
    };
    let header = serde_json::to_vec(&header).map_err(PrecompiledError::Header)?;
    let length = u32::try_from(header.len()).map_err(|_| PrecompiledError::NotABlob)?;
    let mut blob = Vec::with_capacity(MAGIC.len() + 4 + header.len() + serialized.len());
    blob.extend_from_slice(MAGIC);
    blob.extend_from_slice(&length.to_le_bytes());
    blob.extend_from_slice(&header);
    blob.extend_from_slice(&serialized);
    Ok(blob)
}

/// The ruleset `expected_version` read back from `blob`.
pub fn from_blob(blob: &[u8], expected_version: &str) -> Result<CompiledRules, PrecompiledError> {
    let rest = blob.strip_prefix(MAGIC).ok_or(PrecompiledError::NotABlob)?;
    let (length, rest) = rest
        .split_first_chunk::<4>()
        .ok_or(PrecompiledError::NotABlob)?;
    let length =
        usize::try_from(u32::from_le_bytes(*length)).map_err(|_| PrecompiledError::NotABlob)?;
    if rest.len() < length {
        return Err(PrecompiledError::NotABlob);
    }
    let (header, serialized) = rest.split_at(length);
    let header: Header = serde_json::from_slice(header).map_err(PrecompiledError::Header)?;
    if header.version != expected_version {
        return Err(PrecompiledError::OtherVersion {
            expected: expected_version.to_owned(),
            found: header.version,
        });
    }
    if hex::encode(Sha256::digest(serialized)) != header.sha256 {
        return Err(PrecompiledError::Damaged);
    }
    let rules = yara_x::Rules::deserialize(serialized).map_err(PrecompiledError::Engine)?;
    Ok(CompiledRules::from_parts(
        header.version,
        rules,
        header.in_force,
        header.left_out,
        Origin::Precompiled,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_domain::ports::RuleFile;

    fn compiled() -> std::sync::Arc<CompiledRules> {
        crate::compile(
            &[RuleFile {
                name: "mine.yar".into(),
                source: r#"rule mine { strings: $a = "MINE" condition: $a }"#.into(),
            }],
            "v1",
        )
        .unwrap()
    }

    #[test]
    fn a_blob_reads_back_as_the_same_ruleset() {
        let rules = compiled();
        let back = from_blob(&to_blob(&rules).unwrap(), rules.version()).unwrap();
        assert_eq!(back.version(), rules.version());
        assert_eq!(back.in_force(), rules.in_force());
        assert_eq!(back.origin(), Origin::Precompiled);
        let mut scanner = yara_x::Scanner::new(back.rules());
        assert_eq!(
            scanner.scan(b"xx MINE xx").unwrap().matching_rules().len(),
            1
        );
    }

    #[test]
    fn a_damaged_or_foreign_blob_is_refused() {
        let rules = compiled();
        let mut blob = to_blob(&rules).unwrap();
        assert!(matches!(
            from_blob(&blob, "other"),
            Err(PrecompiledError::OtherVersion { .. })
        ));
        let last = blob.len() - 1;
        blob[last] ^= 0xFF;
        assert!(matches!(
            from_blob(&blob, rules.version()),
            Err(PrecompiledError::Damaged)
        ));
        assert!(matches!(
            from_blob(b"garbage", rules.version()),
            Err(PrecompiledError::NotABlob)
        ));
    }

    #[test]
    fn the_blob_name_changes_with_the_ruleset_and_the_engine() {
        assert_ne!(blob_name("a+v1"), blob_name("a+v2"));
        assert!(blob_name("a+v1").contains(yara_x::VERSION));
    }
}
