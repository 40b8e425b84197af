//! The single pass over an object that ingest and sweep's re-scans share: stream it
//! once from the store, hashing and sniffing it while spooling it for the scanner,
//! then run the rules in force.

use std::{sync::Arc, time::Instant};

use airlock_domain::{
    Inspection, Inspector, ObjectKey, ScanLimits, ScanReport, StoredObject,
    ports::{ChunkStream, ObjectReader, RuleSource, StoreError},
};

use crate::{
    CompiledRules, LiveRules, ScanError, ScanSettings, Spool, Spooled, Subject, scan,
    spool::Prefix, windows::WindowScan,
};

/// Why a pass could not finish; all worth retrying.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    /// Reading the object failed (`StoreError::NotFound` when it is gone).
    #[error("reading the object")]
    Store(#[source] StoreError),
    /// The temporary file for a large object could not be written.
    #[error("spooling the object to a temporary file")]
    Spool(#[source] std::io::Error),
    /// The scanner failed.
    #[error("scanning the object")]
    Scan(#[source] ScanError),
    /// The thread writing the spool was lost (it panicked).
    #[error("spooling the object: the spooling task failed")]
    SpoolTask(#[source] tokio::task::JoinError),
    /// No rules to scan with (see [`LiveRules::current`]).
    #[error("compiling the rules")]
    Rules(#[source] crate::RulesError),
}

/// What one pass found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pass {
    /// Hash, size and detected type.
    pub found: Inspection,
    /// What the scanner did.
    pub scan: ScanReport,
    /// How long the scan itself took (reading excluded).
    pub scan_time: std::time::Duration,
    /// The headers and version the store answered with these bytes.
    pub stored: StoredObject,
}

/// Everything a pass needs besides the object: the live rules and the limits.
pub struct Scanning<R> {
    /// The ruleset, reloaded when its source changes.
    pub rules: LiveRules<R>,
    /// Memory budget and timeout.
    pub settings: ScanSettings,
    /// Scan size limit and what becomes of unscannable files.
    pub limits: ScanLimits,
    /// At most one pass per core at a time: each may hold up to the memory budget
    /// and a scanner, so a burst of uploads (in the local stack, where one process
    /// ingests many at once) queues instead of multiplying memory. A Lambda instance
    /// handles one event at a time and never waits here.
    gate: tokio::sync::Semaphore,
}

fn passes_at_once() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

impl<R: RuleSource> Scanning<R> {
    /// Compiles the rules for a cold start (see [`LiveRules::start`]).
    pub async fn start(
        source: R,
        check_every: std::time::Duration,
        settings: ScanSettings,
        limits: ScanLimits,
    ) -> Result<Self, crate::RulesError> {
        Ok(Self::with_rules(
            LiveRules::start(source, check_every).await?,
            settings,
            limits,
        ))
    }

    /// The default rules alone, compiled now (see [`LiveRules::with_default_rules`]).
    pub fn with_default_rules(
        source: R,
        check_every: std::time::Duration,
        settings: ScanSettings,
        limits: ScanLimits,
    ) -> Result<Self, crate::RulesError> {
        Ok(Self::with_rules(
            LiveRules::with_default_rules(source, check_every)?,
            settings,
            limits,
        ))
    }

    fn with_rules(rules: LiveRules<R>, settings: ScanSettings, limits: ScanLimits) -> Self {
        Self {
            rules,
            settings,
            limits,
            gate: tokio::sync::Semaphore::new(passes_at_once()),
        }
    }

    /// Streams `key` (at `version`, when given) from `store` once and scans it.
    pub async fn pass<S: ObjectReader>(
        &self,
        store: &S,
        key: &ObjectKey,
        version: Option<&str>,
        subject: Subject,
    ) -> Result<Pass, PassError> {
        // The semaphore is never closed, so acquiring only waits.
        let _permit = self.gate.acquire().await.ok();
        let rules = self.rules.current().await.map_err(PassError::Rules)?;
        let mut stream = store.open(key, version).await.map_err(PassError::Store)?;
        let stored = stream.stored().clone();
        let mut inspector = Inspector::new();
        let spool = Spool::new(self.settings.memory_budget, self.limits.max_scan_bytes);
        let windowing = Windowing {
            rules: Arc::clone(&rules),
            subject: subject.clone(),
            settings: self.settings,
            max_bytes: self.limits.max_windowed_bytes,
        };
        let (chunks, spooling) = spool_in_background(spool, windowing);
        while let Some(chunk) = stream.next_chunk().await.map_err(PassError::Store)? {
            inspector.update(&chunk);
            if chunks.send(chunk).await.is_err() {
                // The spool failed; its error is returned below.
                break;
            }
        }
        drop(chunks);
        let spooled = spooling.await.map_err(PassError::SpoolTask)??;
        let started = Instant::now();
        let reach = crate::Reach {
            archives: self.limits.archives,
            member_limit: self.limits.max_scan_bytes,
        };
        let report = scan(rules, spooled, subject, self.settings, reach)
            .await
            .map_err(PassError::Scan)?;
        Ok(Pass {
            found: inspector.finish(),
            scan: report,
            scan_time: started.elapsed(),
            stored,
        })
    }
}

/// Chunks queued for the spool at most: the memory a slow disk can hold up.
const SPOOL_QUEUE: usize = 4;

/// What a pass needs to scan an object past the scan limit in windows.
struct Windowing {
    rules: Arc<CompiledRules>,
    subject: Subject,
    settings: ScanSettings,
    /// Past this, windows stop and the object counts as too large to scan.
    max_bytes: u64,
}

/// Runs `spool` on a blocking thread fed through a bounded queue, so writing the
/// spool file overlaps reading and hashing the next chunks (on two cores, ingest of a
/// 1 GiB object on the local stack took 3.9–4.5 s with both on one thread, 3.1–3.4 s
/// with this). An object that passes the scan limit is scanned in windows there
/// instead, from its first byte, as it streams (see [`crate::windows`]).
fn spool_in_background(
    mut spool: Spool,
    windowing: Windowing,
) -> (
    tokio::sync::mpsc::Sender<Vec<u8>>,
    tokio::task::JoinHandle<Result<Spooled, PassError>>,
) {
    let (chunks, mut queued) = tokio::sync::mpsc::channel::<Vec<u8>>(SPOOL_QUEUE);
    let spooling = tokio::task::spawn_blocking(move || {
        let mut windows: Option<WindowScan<'_>> = None;
        let mut size: u64 = 0;
        while let Some(chunk) = queued.blocking_recv() {
            size += chunk.len() as u64;
            if size > windowing.max_bytes {
                // Past every limit: nothing more is kept or scanned; the chunks are
                // still drained so the pass hashes the whole object.
                windows = None;
                continue;
            }
            if let Some(scan) = windows.as_mut() {
                scan.feed(&chunk).map_err(PassError::Scan)?;
            } else if let Some(prefix) =
                spool.push_or_give_back(&chunk).map_err(PassError::Spool)?
            {
                let mut scan = WindowScan::new(
                    &windowing.rules,
                    windowing.subject.clone(),
                    windowing.settings,
                );
                feed_prefix(&mut scan, prefix)?;
                scan.feed(&chunk).map_err(PassError::Scan)?;
                windows = Some(scan);
            }
        }
        if size > windowing.max_bytes {
            return Ok(Spooled::TooLarge {
                size,
                limit: windowing.max_bytes,
            });
        }
        match windows {
            Some(scan) => {
                let ruleset = windowing.rules.version().to_owned();
                let report = scan.finish(ruleset).map_err(PassError::Scan)?;
                Ok(Spooled::Windowed(report))
            }
            None => spool.finish().map_err(PassError::Spool),
        }
    });
    (chunks, spooling)
}

/// Feeds the bytes a spool kept before the object passed the scan limit.
fn feed_prefix(scan: &mut WindowScan<'_>, prefix: Prefix) -> Result<(), PassError> {
    match prefix {
        Prefix::Memory(bytes) => scan.feed(&bytes).map_err(PassError::Scan),
        Prefix::Disk(path) => {
            use std::io::Read;
            let mut file = std::fs::File::open(&path).map_err(PassError::Spool)?;
            let mut buffer = vec![0; 1024 * 1024];
            loop {
                let n = file.read(&mut buffer).map_err(PassError::Spool)?;
                if n == 0 {
                    return Ok(());
                }
                scan.feed(&buffer[..n]).map_err(PassError::Scan)?;
            }
        }
    }
}

impl<R: RuleSource + Clone + 'static> Scanning<R> {
    /// [`Scanning::start`] with the rules compiled in the background (see
    /// [`LiveRules::start_in_background`]): for a Lambda cold start.
    pub fn start_in_background(
        source: R,
        check_every: std::time::Duration,
        settings: ScanSettings,
        limits: ScanLimits,
    ) -> Self {
        Self::with_rules(
            LiveRules::start_in_background(source, check_every),
            settings,
            limits,
        )
    }
}
