//! Streaming inspection: sha256, size and the detected type, from one pass over the
//! bytes, in constant memory.

use sha2_resumable::{Digest, Sha256, digest::common::hazmat::SerializableState};

use crate::{ContentType, HashState};

/// How many leading bytes are kept for type detection.
pub const SNIFF_LEN: usize = 8 * 1024;

/// What one pass over an object found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// Lower-case hex SHA-256 of all the bytes.
    pub sha256: String,
    /// Number of bytes.
    pub size: u64,
    /// The type the magic bytes say it is.
    pub detected_type: ContentType,
}

/// Consumes an object chunk by chunk; keeps only a hash state and the first
/// [`SNIFF_LEN`] bytes, so memory does not grow with the object.
#[derive(Default)]
pub struct Inspector {
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
    /// The type of an inspection resumed past its first bytes, which it no longer has.
    sniffed: Option<ContentType>,
}

/// Where an inspection stands, to go on with it elsewhere ([`Inspector::resume`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectorState {
    /// The hash state.
    pub hash: HashState,
    /// Bytes seen.
    pub size: u64,
    /// The type the first bytes say.
    pub detected_type: ContentType,
}

/// A saved hash state that does not read back: not one [`Inspector::snapshot`] wrote.
#[derive(Debug, thiserror::Error)]
#[error("the saved SHA-256 state is not one this build wrote")]
pub struct BadHashState;

impl Inspector {
    /// A fresh inspector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next chunk.
    pub fn update(&mut self, chunk: &[u8]) {
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        let room = SNIFF_LEN.saturating_sub(self.head.len());
        self.head.extend_from_slice(&chunk[..room.min(chunk.len())]);
    }

    /// Bytes seen so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Where the inspection stands: the hash state is about a hundred bytes whatever
    /// the object's size.
    pub fn snapshot(&self) -> InspectorState {
        InspectorState {
            hash: HashState(hex::encode(self.hasher.serialize())),
            size: self.size,
            detected_type: self.detected_type(),
        }
    }

    /// Goes on with an inspection from a [`snapshot`](Self::snapshot), as if every
    /// byte before it had been fed here.
    pub fn resume(state: &InspectorState) -> Result<Self, BadHashState> {
        let bytes = hex::decode(&state.hash.0).map_err(|_| BadHashState)?;
        let serialized = bytes.as_slice().try_into().map_err(|_| BadHashState)?;
        let hasher = Sha256::deserialize(serialized).map_err(|_| BadHashState)?;
        Ok(Self {
            hasher,
            size: state.size,
            head: Vec::new(),
            sniffed: Some(state.detected_type.clone()),
        })
    }

    /// Ends the pass.
    pub fn finish(self) -> Inspection {
        let detected_type = self.detected_type();
        Inspection {
            sha256: hex::encode(self.hasher.finalize()),
            size: self.size,
            detected_type,
        }
    }

    fn detected_type(&self) -> ContentType {
        self.sniffed.clone().unwrap_or_else(|| sniff(&self.head))
    }
}

/// Detects a type from leading bytes: a known signature, else UTF-8 text without
/// binary control characters, else `application/octet-stream`.
pub fn sniff(head: &[u8]) -> ContentType {
    if let Some(ct) = infer::get(head).and_then(|kind| ContentType::parse(kind.mime_type()).ok()) {
        return ct;
    }
    if !head.is_empty() && looks_like_text(head) {
        return ContentType::parse("text/plain").unwrap_or_else(|_| ContentType::octet_stream());
    }
    ContentType::octet_stream()
}

fn looks_like_text(head: &[u8]) -> bool {
    let valid = match std::str::from_utf8(head) {
        Ok(text) => text,
        // The sniff window may cut a multi-byte character in half; only that is forgiven.
        Err(e) if e.error_len().is_none() => match std::str::from_utf8(&head[..e.valid_up_to()]) {
            Ok(text) => text,
            Err(_) => return false,
        },
        Err(_) => return false,
    };
    valid
        .chars()
        .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t' | '\u{c}'))
}

#[cfg(test)]
mod tests {
    // Bytes only from the test kit: its domain types would be another crate's.
    use airlock_testkit::samples::{PNG, elf};

    use super::*;

    #[test]
    fn magic_bytes_are_recognised() {
        assert_eq!(sniff(PNG).as_str(), "image/png");
        // A 64-byte ELF header: shorter ones are not recognised as executables.
        assert_eq!(sniff(&elf(64)).as_str(), "application/x-executable");
        assert_eq!(sniff(b"%PDF-1.7\n").as_str(), "application/pdf");
    }

    #[test]
    fn utf8_text_is_plain_text_and_binary_is_octet_stream() {
        assert_eq!(sniff("name,size\nä,1\n".as_bytes()).as_str(), "text/plain");
        assert_eq!(
            sniff(b"\x00\x01\x02garbage").as_str(),
            "application/octet-stream"
        );
        assert_eq!(sniff(b"").as_str(), "application/octet-stream");
    }

    #[test]
    fn text_cut_inside_a_character_at_the_window_edge_is_still_text() {
        let mut head = "a".repeat(10).into_bytes();
        head.push(0xc3); // first byte of 'ä'
        assert_eq!(sniff(&head).as_str(), "text/plain");
    }

    #[test]
    fn chunked_inspection_equals_one_shot_hashing() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let mut inspector = Inspector::new();
        for chunk in data.chunks(4093) {
            inspector.update(chunk);
        }
        let found = inspector.finish();
        assert_eq!(found.size, 100_000);
        assert_eq!(found.sha256, hex::encode(Sha256::digest(&data)));
    }

    #[test]
    fn an_inspection_resumed_from_a_snapshot_ends_as_one_that_never_stopped() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        let (first, rest) = data.split_at(123_457);
        let mut before = Inspector::new();
        before.update(b"%PDF-1.7\n");
        before.update(first);
        let state = before.snapshot();

        let mut after = Inspector::resume(&state).unwrap();
        after.update(rest);
        let found = after.finish();

        let mut whole = b"%PDF-1.7\n".to_vec();
        whole.extend_from_slice(&data);
        assert_eq!(found.sha256, hex::encode(Sha256::digest(&whole)));
        assert_eq!(found.size, whole.len() as u64);
        assert_eq!(found.detected_type.as_str(), "application/pdf");
    }

    #[test]
    fn a_hash_state_that_was_not_saved_by_a_snapshot_is_refused() {
        let mut state = Inspector::new().snapshot();
        state.hash = HashState("abcd".into());
        assert!(Inspector::resume(&state).is_err());
        state.hash = HashState("not hex".into());
        assert!(Inspector::resume(&state).is_err());
    }

    #[test]
    fn the_sha256_of_nothing_is_the_well_known_value() {
        let found = Inspector::new().finish();
        assert_eq!(
            found.sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
