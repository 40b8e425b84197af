//! The shared port conformance suite on the embedded adapters.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

use airlock_conformance::objects::ObjectFixture;
use airlock_domain::{FileStatus, ObjectKey};
use airlock_local::{FsObjectStore, SqliteCatalog};

mod catalog {
    use super::*;
    airlock_conformance::catalog_tests!(async { SqliteCatalog::in_memory().unwrap() });
}

mod walks {
    use super::*;
    airlock_conformance::walk_tests!(async { SqliteCatalog::in_memory().unwrap() });
}

mod ledger {
    use super::*;
    airlock_conformance::ledger_tests!(async { SqliteCatalog::in_memory().unwrap() });
}

/// Writes and tag reads for the object cases; keeps the folder alive.
struct Disk {
    store: FsObjectStore,
    _dir: tempfile::TempDir,
}

impl ObjectFixture for Disk {
    async fn put(&self, key: &ObjectKey, bytes: Vec<u8>) {
        self.store.put_bytes(key, &bytes).await.unwrap();
    }

    async fn put_with_headers(
        &self,
        key: &ObjectKey,
        bytes: Vec<u8>,
        content_type: &str,
        content_encoding: &str,
    ) {
        let mut writer = self
            .store
            .begin_write(&key.to_string(), bytes.len() as u64)
            .await
            .unwrap()
            .with_headers(Some(content_type), Some(content_encoding));
        writer.write(&bytes).await.unwrap();
        writer.commit().await.unwrap();
    }

    async fn tag(&self, key: &ObjectKey) -> Option<FileStatus> {
        self.store.status_tag(&key.to_string()).await.unwrap()
    }

    async fn quarantined_tag(&self, key: &ObjectKey) -> Option<FileStatus> {
        self.store.status_tag(&key.quarantined()).await.unwrap()
    }
}

async fn disk() -> (FsObjectStore, Disk) {
    let dir = tempfile::tempdir().unwrap();
    let store = FsObjectStore::new(dir.path(), "http://127.0.0.1:1", b"key".to_vec());
    (store.clone(), Disk { store, _dir: dir })
}

mod objects {
    use super::*;
    airlock_conformance::object_tests!(disk());
}

mod inventory {
    use super::*;
    airlock_conformance::inventory_tests!(disk());
}

/// A part PUT as the local object server takes it: the grant, the signed checksum
/// header, then the bytes through the part writer.
impl airlock_conformance::multipart::PartFixture for Disk {
    async fn put_part(
        &self,
        signed: &airlock_domain::ports::PresignedRequest,
        bytes: Vec<u8>,
    ) -> u16 {
        let (path, query) = signed.url.split_once('?').unwrap();
        let key = path.split_once("/objects/").unwrap().1;
        let Ok(airlock_local::Grant::Part(part)) =
            self.store.verify("PUT", key, query, chrono::Utc::now())
        else {
            return 403;
        };
        let header = signed
            .headers
            .get(airlock_domain::ports::PresignedRequest::CHECKSUM_HEADER);
        if !part.signed_checksum(header.map(String::as_str)) {
            return 403;
        }
        let mut writer = match self.store.begin_part(part).await {
            Ok(writer) => writer,
            Err(airlock_local::LocalError::NoSuchUpload(_)) => return 404,
            Err(e) => panic!("{e}"),
        };
        if writer.write(&bytes).await.is_err() {
            return 400;
        }
        match writer.commit().await {
            Ok(_) => 200,
            Err(
                airlock_local::LocalError::ChecksumMismatch { .. }
                | airlock_local::LocalError::LengthMismatch { .. },
            ) => 400,
            Err(e) => panic!("{e}"),
        }
    }
}

mod multipart {
    use super::*;
    airlock_conformance::multipart_tests!(disk());
}

/// Reads the bus file back.
struct BusFile {
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl airlock_conformance::events::EventsFixture for BusFile {
    async fn delivered(&self) -> Vec<String> {
        airlock_local::read_bus_file(&self.path)
            .unwrap()
            .iter()
            .filter_map(|entry| entry["detail"]["id"].as_str().map(str::to_owned))
            .collect()
    }
}

async fn bus() -> (airlock_local::JsonlEventBus, BusFile) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    (
        airlock_local::JsonlEventBus::open(&path).unwrap(),
        BusFile { path, _dir: dir },
    )
}

mod events {
    use super::*;
    airlock_conformance::event_tests!(bus());
}
