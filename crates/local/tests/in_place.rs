//! A pass over an object of the local store reads its file in place (mapped, hashed
//! on one thread while the rules scan it on another) and finds exactly what a pass
//! that streams the same object in chunks finds: the same hash, size, type and scan
//! report, for a plain file of several strides, a malware sample, an archive that
//! hides one, and an empty object (which has nothing to map and streams).

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

use std::{
    io::Read,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use airlock_domain::{
    FileId, ObjectKey, ScanReport, StoredObject, TenantId,
    ports::{ChunkStream, ObjectReader, StoreError},
};
use airlock_local::{FileChunks, FsObjectStore};
use airlock_scan::{Pass, Subject};
use airlock_testkit::{
    samples::{Varied, eicar, zip_of},
    scanning::default_scanning,
};

const MIB: usize = 1024 * 1024;

/// The local store, with its streams' file hidden when `hide_file` is set (as a store
/// across a network has none), counting the chunks read through them.
struct Counting {
    store: FsObjectStore,
    hide_file: bool,
    chunks: Arc<AtomicUsize>,
}

struct CountingStream {
    inner: FileChunks,
    hide_file: bool,
    chunks: Arc<AtomicUsize>,
}

impl ChunkStream for CountingStream {
    fn stored(&self) -> &StoredObject {
        self.inner.stored()
    }

    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        self.chunks.fetch_add(1, Ordering::Relaxed);
        self.inner.next_chunk().await
    }

    fn local_file(&self) -> Option<&std::fs::File> {
        if self.hide_file {
            None
        } else {
            self.inner.local_file()
        }
    }
}

impl ObjectReader for Counting {
    type Stream = CountingStream;

    async fn open(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
    ) -> Result<Self::Stream, StoreError> {
        Ok(self.wrap(self.store.open(key, version).await?))
    }

    async fn open_at(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
        offset: u64,
    ) -> Result<Self::Stream, StoreError> {
        Ok(self.wrap(self.store.open_at(key, version, offset).await?))
    }
}

impl Counting {
    fn over(store: &FsObjectStore, hide_file: bool) -> Self {
        Self {
            store: store.clone(),
            hide_file,
            chunks: Arc::default(),
        }
    }

    fn wrap(&self, inner: FileChunks) -> CountingStream {
        CountingStream {
            inner,
            hide_file: self.hide_file,
            chunks: Arc::clone(&self.chunks),
        }
    }

    fn chunks_read(&self) -> usize {
        self.chunks.load(Ordering::Relaxed)
    }
}

async fn pass(reader: &Counting, key: &ObjectKey) -> Pass {
    default_scanning()
        .pass(reader, key, None, Subject::default())
        .await
        .unwrap()
}

/// The object stored, then passed over in place and streamed; both passes.
async fn both_passes(bytes: &[u8]) -> (Pass, Pass, usize, usize) {
    let dir = tempfile::tempdir().unwrap();
    let store = FsObjectStore::new(dir.path(), "http://127.0.0.1:1", b"secret".to_vec());
    let key = ObjectKey::new(TenantId::parse("acme").unwrap(), FileId::generate());
    store.put_bytes(&key, bytes).await.unwrap();
    let (in_place, streamed) = (Counting::over(&store, false), Counting::over(&store, true));
    let (a, b) = (pass(&in_place, &key).await, pass(&streamed, &key).await);
    (a, b, in_place.chunks_read(), streamed.chunks_read())
}

fn matched(report: &ScanReport) -> Vec<String> {
    match report {
        ScanReport::Scanned { matched, .. } => matched.clone(),
        other => panic!("not scanned: {other:?}"),
    }
}

fn varied(len: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(len);
    Varied::new(len).read_to_end(&mut bytes).unwrap();
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_of_several_strides_is_read_in_place_and_found_as_when_streamed() {
    // Two strides and part of a third (airlock_scan::mapped::READ_STRIDE is 8 MiB),
    // small enough for the unoptimised test build's hashing.
    let (in_place, streamed, chunks_in_place, chunks_streamed) =
        both_passes(&varied(20 * MIB)).await;

    assert_eq!(chunks_in_place, 0, "the pass in place read chunks");
    assert!(chunks_streamed > 0);
    assert_eq!(in_place.found, streamed.found);
    assert_eq!(in_place.scan, streamed.scan);
    assert_eq!(in_place.stored, streamed.stored);
    assert_eq!(in_place.found.size, 20 * MIB as u64);
}

/// `bytes` read in place hit rules, and exactly the report and findings a streamed
/// pass of them gives.
async fn hits_as_when_streamed(bytes: &[u8]) {
    let (in_place, streamed, chunks_in_place, _) = both_passes(bytes).await;

    assert_eq!(chunks_in_place, 0);
    assert!(!matched(&in_place.scan).is_empty(), "{:?}", in_place.scan);
    assert_eq!(in_place.scan, streamed.scan);
    assert_eq!(in_place.found, streamed.found);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malware_read_in_place_hits_the_rules_it_hits_when_streamed() {
    hits_as_when_streamed(&eicar()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_read_in_place_is_opened_and_its_member_scanned_as_when_streamed() {
    hits_as_when_streamed(&zip_of(&[
        ("notes/readme.txt", b"hello"),
        ("a/eicar.com", &eicar()),
    ]))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_object_has_nothing_to_map_and_is_streamed() {
    let (in_place, streamed, chunks_in_place, _) = both_passes(b"").await;

    assert!(chunks_in_place > 0, "an empty object was not streamed");
    assert_eq!(in_place.found, streamed.found);
    assert_eq!(in_place.found.size, 0);
}
