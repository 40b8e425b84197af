//! The recording store's multipart uploads: kept in memory with S3's behaviour where
//! the api depends on it (an upload gone after completion or abort, completion
//! repeatable once the object is there), and a way for a test to store a part as a
//! client's PUT would.

use std::collections::{BTreeMap, BTreeSet};

use airlock_domain::{
    ContentType, ObjectKey, Sha256Hex, StoredPart, Timestamp,
    ports::{MultipartAbort, ObjectMultipart, PartToSign, PresignedRequest, StoreError},
};

use super::{RecordingStore, signed};

/// What the fake holds of multipart uploads.
#[derive(Debug, Default)]
pub(super) struct MultipartState {
    /// Upload id → key and the parts stored so far.
    open: BTreeMap<String, (String, BTreeMap<u32, StoredPart>)>,
    /// Keys whose upload was completed, with the parts joined.
    completed: BTreeMap<String, Vec<StoredPart>>,
    /// Upload ids aborted.
    aborted: BTreeSet<String>,
    /// Parts signed: (upload id, number, length, sha256).
    signed: Vec<(String, u32, u64, String)>,
    next_id: u32,
}

impl RecordingStore {
    /// Stores part `number` of an upload, as a client's PUT on its URL would.
    pub fn store_part(&self, upload_id: &str, number: u32, size: u64) {
        let mut state = self.state();
        let (_, parts) = state
            .multipart
            .open
            .get_mut(upload_id)
            .expect("the upload is open");
        parts.insert(
            number,
            StoredPart {
                number,
                size,
                etag: format!("\"etag-{number}\""),
                sha256: None,
            },
        );
    }

    /// Every part signed so far: upload id, number, length, SHA-256.
    pub fn signed_parts(&self) -> Vec<(String, u32, u64, String)> {
        self.state().multipart.signed.clone()
    }

    /// The parts a completion joined under `key`, if it was completed.
    pub fn completed(&self, key: &str) -> Option<Vec<StoredPart>> {
        self.state().multipart.completed.get(key).cloned()
    }

    /// Whether the upload was aborted.
    pub fn aborted(&self, upload_id: &str) -> bool {
        self.state().multipart.aborted.contains(upload_id)
    }
}

impl ObjectMultipart for RecordingStore {
    async fn start_multipart(
        &self,
        key: &ObjectKey,
        _content_type: &ContentType,
    ) -> Result<String, StoreError> {
        let mut state = self.state();
        state.multipart.next_id += 1;
        let id = format!("upload-{}", state.multipart.next_id);
        state
            .multipart
            .open
            .insert(id.clone(), (key.to_string(), BTreeMap::new()));
        Ok(id)
    }

    async fn presign_part(
        &self,
        part: PartToSign<'_>,
        expires_at: Timestamp,
    ) -> Result<PresignedRequest, StoreError> {
        let key = part.key;
        self.state().multipart.signed.push((
            part.upload_id.to_owned(),
            part.number,
            part.length,
            part.sha256.to_string(),
        ));
        let mut request = signed("PUT", key, expires_at);
        request
            .url
            .push_str(&format!("&partNumber={}", part.number));
        request.headers = PresignedRequest::part_headers(part.length, part.sha256);
        Ok(request)
    }

    async fn list_parts(
        &self,
        key: &ObjectKey,
        upload_id: &str,
    ) -> Result<Vec<StoredPart>, StoreError> {
        match self.state().multipart.open.get(upload_id) {
            Some((owner, parts)) if *owner == key.to_string() => {
                Ok(parts.values().cloned().collect())
            }
            _ => Err(StoreError::NotFound(key.to_string())),
        }
    }

    async fn complete_multipart(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        parts: &[StoredPart],
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        let key = key.to_string();
        match state.multipart.open.remove(upload_id) {
            Some((owner, _)) if owner == key => {
                state.multipart.completed.insert(key, parts.to_vec());
                Ok(())
            }
            Some(other) => {
                state.multipart.open.insert(upload_id.to_owned(), other);
                Err(StoreError::NotFound(key))
            }
            None if state.multipart.completed.contains_key(&key) => Ok(()),
            None => Err(StoreError::NotFound(key)),
        }
    }
}

impl MultipartAbort for RecordingStore {
    async fn abort_multipart(&self, _key: &ObjectKey, upload_id: &str) -> Result<(), StoreError> {
        let mut state = self.state();
        state.multipart.open.remove(upload_id);
        state.multipart.aborted.insert(upload_id.to_owned());
        Ok(())
    }
}

/// A SHA-256 for tests: `n` repeated.
pub fn sha(n: u8) -> Sha256Hex {
    Sha256Hex::parse(&format!("{n:02x}").repeat(32)).expect("64 hex digits")
}
