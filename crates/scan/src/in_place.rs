//! A pass over an object its store keeps as a local file (the local stack's store):
//! the bytes are read where they lie, never copied through chunks or a spool. The
//! file is mapped once: one thread hashes and sniffs the map while the rules scan it on
//! another, so on two cores the pass takes about as long as the hash alone (the
//! default rules scan plain bytes about three times as fast as SHA-256 hashes them).

use std::{sync::Arc, time::Instant};

use airlock_domain::{Inspection, Inspector, StoredObject, ports::ChunkStream};

use crate::{
    CompiledRules, Pass, PassError, Reach, ScanSettings, Spooled, Subject, mapped::ObjectMap, scan,
};

/// The map of the object's local file, when its store has one and the object is
/// scanned whole (empty objects and those past the scan limit take the streaming
/// path: there is nothing to map, or they are scanned in windows).
pub(crate) fn map_to_read_in_place<C: ChunkStream>(
    stream: &C,
    max_scan_bytes: u64,
) -> Result<Option<ObjectMap>, PassError> {
    let Some(file) = stream.local_file() else {
        return Ok(None);
    };
    let size = file.metadata().map_err(PassError::InPlace)?.len();
    if size == 0 || size > max_scan_bytes {
        return Ok(None);
    }
    ObjectMap::of(file).map(Some).map_err(PassError::InPlace)
}

/// What scanning in place needs besides the map.
pub(crate) struct InPlace {
    pub rules: Arc<CompiledRules>,
    pub subject: Subject,
    pub settings: ScanSettings,
    pub reach: Reach,
    pub stored: StoredObject,
}

impl InPlace {
    /// Hashes and sniffs `map` on one thread while the rules scan it on another.
    pub(crate) async fn pass(self, map: ObjectMap) -> Result<Pass, PassError> {
        let map = Arc::new(map);
        let for_inspection = Arc::clone(&map);
        let inspecting = tokio::task::spawn_blocking(move || inspect(&for_inspection));
        let started = Instant::now();
        let scanned = scan(
            self.rules,
            Spooled::InPlace(map),
            self.subject,
            self.settings,
            self.reach,
        )
        .await;
        let scan_time = started.elapsed();
        let found = inspecting.await.map_err(PassError::InspectTask)?;
        Ok(Pass {
            found,
            scan: scanned.map_err(PassError::Scan)?,
            scan_time,
            stored: self.stored,
        })
    }
}

fn inspect(map: &ObjectMap) -> Inspection {
    let mut inspector = Inspector::new();
    map.read_in_strides(|bytes| inspector.update(bytes));
    inspector.finish()
}
