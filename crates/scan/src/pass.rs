//! The single pass over an object that ingest and sweep's re-scans share: stream it
//! once from the store, hashing and sniffing it while spooling it for the scanner,
//! then run the rules in force. An object its store keeps as a local file is read in
//! place instead, hashed and scanned at once on two threads ([`crate::in_place`]).
//!
//! A pass over an object scanned in windows can stop at the end of a window once its
//! [`Budget`] is spent, and hand back where it stands ([`PassOutcome::Paused`]); a
//! later pass given that [`IngestCheckpoint`] reads on from one overlap before it,
//! never from the first byte.

use std::{sync::Arc, time::Instant};

use airlock_domain::{
    BadHashState, IngestCheckpoint, Inspection, Inspector, InspectorState, ObjectKey, PassProgress,
    ScanLimits, ScanReport, StoredObject, WindowProgress,
    ports::{ChunkStream, ObjectReader, RuleSource, StoreError},
};

use crate::{
    CompiledRules, LiveRules, ScanError, ScanSettings, Spool, Spooled, Subject,
    in_place::{InPlace, map_to_read_in_place},
    scan,
    spool::Prefix,
    windows::{OVERLAP, WindowScan, next_window_end, window_len},
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
    /// The object's local file could not be read in place.
    #[error("reading the object's file in place")]
    InPlace(#[source] std::io::Error),
    /// The thread hashing an object read in place was lost (it panicked).
    #[error("hashing the object: the hashing task failed")]
    InspectTask(#[source] tokio::task::JoinError),
    /// No rules to scan with (see [`LiveRules::current`]).
    #[error("compiling the rules")]
    Rules(#[source] crate::RulesError),
    /// The checkpoint's hash state does not read back.
    #[error("resuming from the checkpoint")]
    Checkpoint(#[source] BadHashState),
    /// The pass stopped somewhere other than the end of a window (a bug: the stop is
    /// chosen on the windows' grid).
    #[error("the pass stopped at byte {offset}, not at the end of a window")]
    NotAtWindowEnd {
        /// Where it stopped.
        offset: u64,
    },
}

/// How much one pass may do before it stops at the next window end and hands over.
#[derive(Debug, Clone, Copy, Default)]
pub struct Budget {
    /// Bytes read at most (a budget forced small in tests).
    pub bytes: Option<u64>,
    /// Stop once this instant has passed (the invocation's deadline less a margin).
    pub until: Option<Instant>,
}

impl Budget {
    /// No limit: the pass always finishes.
    pub const UNLIMITED: Self = Self {
        bytes: None,
        until: None,
    };

    fn spent(&self, read: u64) -> bool {
        self.bytes.is_some_and(|bytes| read >= bytes)
            || self.until.is_some_and(|until| Instant::now() >= until)
    }
}

/// How a pass ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassOutcome {
    /// Every byte was read and scanned.
    Done(Pass),
    /// The budget ran out at the end of a window; the next pass goes on from here.
    Paused(Paused),
}

/// Where a pass that ran out of budget stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paused {
    /// The hash, the windows so far and the type.
    pub progress: PassProgress,
    /// The ruleset the windows so far were scanned with.
    pub ruleset: String,
    /// The headers and version of the bytes read.
    pub stored: StoredObject,
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
        match self
            .pass_within(store, key, version, subject, None, Budget::UNLIMITED)
            .await?
        {
            PassOutcome::Done(pass) => Ok(pass),
            // An unlimited budget is never spent.
            PassOutcome::Paused(paused) => Err(PassError::NotAtWindowEnd {
                offset: paused.progress.offset,
            }),
        }
    }

    /// As [`pass`](Self::pass), from `checkpoint` when one is given (and is about the
    /// bytes the store now serves; other bytes are read from the start), stopping at
    /// the next window end once `budget` is spent.
    pub async fn pass_within<S: ObjectReader>(
        &self,
        store: &S,
        key: &ObjectKey,
        version: Option<&str>,
        subject: Subject,
        checkpoint: Option<&IngestCheckpoint>,
        budget: Budget,
    ) -> Result<PassOutcome, PassError> {
        // The semaphore is never closed, so acquiring only waits.
        let _permit = self.gate.acquire().await.ok();
        let rules = self.rules.current().await.map_err(PassError::Rules)?;
        let (mut stream, resumed) = open_from(store, key, version, checkpoint).await?;
        let stored = stream.stored().clone();
        if resumed.is_none()
            && let Some(map) = map_to_read_in_place(&stream, self.limits.max_scan_bytes)?
        {
            let in_place = InPlace {
                rules,
                subject,
                settings: self.settings,
                reach: self.reach(),
                stored,
            };
            return in_place.pass(map).await.map(PassOutcome::Done);
        }
        let mut inspector = match &resumed {
            Some(from) => Inspector::resume(&from.inspector).map_err(PassError::Checkpoint)?,
            None => Inspector::new(),
        };
        // The ruleset the report names: the checkpoint's, when the pass goes on from
        // one (the oldest in force, so sweep re-scans a file whose rules changed
        // mid-way).
        let ruleset = resumed
            .as_ref()
            .map_or_else(|| rules.version().to_owned(), |from| from.ruleset.clone());
        let windowing = Windowing {
            rules: Arc::clone(&rules),
            subject: subject.clone(),
            settings: self.settings,
            max_bytes: self.limits.max_windowed_bytes,
            ruleset: ruleset.clone(),
            resumed: resumed
                .as_ref()
                .map(|from| (from.windows.clone(), inspector.size())),
        };
        let spool = Spool::new(self.settings.memory_budget, self.limits.max_scan_bytes);
        let (feed, spooling) = spool_in_background(spool, windowing);
        let mut reader = Reader {
            feed,
            overlap_left: if resumed.is_some() { OVERLAP } else { 0 },
            overlap: Vec::new(),
            stop_at: None,
        };
        let stops = Stops {
            budget,
            window: window_len(self.settings),
            after: self.limits.max_scan_bytes,
            before: self.limits.max_windowed_bytes,
            start: inspector.size(),
        };
        let paused = reader.read_all(&mut stream, &mut inspector, &stops).await?;
        let Reader { feed, .. } = reader;
        if paused {
            // The spool task ends the scan there; a queue already closed means it
            // failed, and its error is returned below.
            let _ = feed.send(Feed::Pause).await;
        }
        drop(feed);
        let spooled = match spooling.await.map_err(PassError::SpoolTask)?? {
            SpoolEnd::Paused(windows) => {
                return Ok(PassOutcome::Paused(Paused::at(
                    &inspector, windows, ruleset, stored,
                )));
            }
            SpoolEnd::Finished(spooled) => spooled,
        };
        let started = Instant::now();
        let report = scan(rules, spooled, subject, self.settings, self.reach())
            .await
            .map_err(PassError::Scan)?;
        Ok(PassOutcome::Done(Pass {
            found: inspector.finish(),
            scan: report,
            scan_time: started.elapsed(),
            stored,
        }))
    }
}

impl<R> Scanning<R> {
    /// How deep into archives a whole scan goes, and how large a member it reads.
    fn reach(&self) -> crate::Reach {
        crate::Reach {
            archives: self.limits.archives,
            member_limit: self.limits.max_scan_bytes,
        }
    }
}

impl Paused {
    /// Where a pass stands that stopped with `inspector` and `windows` as they are.
    fn at(
        inspector: &Inspector,
        windows: WindowProgress,
        ruleset: String,
        stored: StoredObject,
    ) -> Self {
        let state = inspector.snapshot();
        Self {
            progress: PassProgress {
                offset: state.size,
                hash: state.hash,
                detected_type: state.detected_type,
                windows,
            },
            ruleset,
            stored,
        }
    }
}

/// What a pass goes on from.
struct Resumed {
    inspector: InspectorState,
    windows: WindowProgress,
    ruleset: String,
}

/// Opens the object where `checkpoint` left it, one overlap before its offset; from
/// the start when there is none or the store now serves other bytes than it is about.
async fn open_from<S: ObjectReader>(
    store: &S,
    key: &ObjectKey,
    version: Option<&str>,
    checkpoint: Option<&IngestCheckpoint>,
) -> Result<(S::Stream, Option<Resumed>), PassError> {
    if let Some(checkpoint) = checkpoint {
        let progress = &checkpoint.progress;
        let from = progress.offset.saturating_sub(OVERLAP as u64);
        let stream = store
            .open_at(key, version, from)
            .await
            .map_err(PassError::Store)?;
        if checkpoint.is_about(stream.stored().etag.as_deref()) {
            let resumed = Resumed {
                inspector: InspectorState {
                    hash: progress.hash.clone(),
                    size: progress.offset,
                    detected_type: progress.detected_type.clone(),
                },
                windows: progress.windows.clone(),
                ruleset: checkpoint.ruleset.clone(),
            };
            return Ok((stream, Some(resumed)));
        }
        tracing::warn!(
            key = %key, checkpoint = ?checkpoint.etag, now = ?stream.stored().etag,
            "the object's bytes are not the ones the checkpoint is about; reading from the start"
        );
    }
    let stream = store.open(key, version).await.map_err(PassError::Store)?;
    Ok((stream, None))
}

/// Where a pass may stop: once `budget` is spent, at the next window end past the
/// scan limit (`after`, where windows begin) and within the windowed limit (`before`).
struct Stops {
    budget: Budget,
    window: usize,
    after: u64,
    before: u64,
    /// Where this pass began reading new bytes.
    start: u64,
}

impl Stops {
    /// The window end to stop at, once the budget is spent with `size` bytes read.
    fn stop_for(&self, size: u64) -> Option<u64> {
        if size <= self.after || !self.budget.spent(size - self.start) {
            return None;
        }
        let end = next_window_end(self.window, size);
        (end <= self.before).then_some(end)
    }
}

/// The reading half of a pass: hashes every new byte and feeds the scan, the
/// overlap of a resumed pass to the scan alone.
struct Reader {
    feed: tokio::sync::mpsc::Sender<Feed>,
    overlap_left: usize,
    overlap: Vec<u8>,
    stop_at: Option<u64>,
}

impl Reader {
    /// Reads to the end, or to the stop the budget sets; whether it stopped there
    /// with bytes left unread.
    async fn read_all<C: ChunkStream>(
        &mut self,
        stream: &mut C,
        inspector: &mut Inspector,
        stops: &Stops,
    ) -> Result<bool, PassError> {
        while let Some(chunk) = stream.next_chunk().await.map_err(PassError::Store)? {
            let mut chunk = self.take_overlap(chunk).await;
            if chunk.is_empty() {
                continue;
            }
            if self.stop_at.is_none() {
                self.stop_at = stops.stop_for(inspector.size());
            }
            let mut stopping = false;
            if let Some(stop) = self.stop_at {
                let room = stop.saturating_sub(inspector.size());
                if chunk.len() as u64 > room {
                    chunk.truncate(room as usize);
                    stopping = true;
                }
            }
            if !chunk.is_empty() {
                inspector.update(&chunk);
                if self.feed.send(Feed::Bytes(chunk)).await.is_err() {
                    // The spool failed; its error is returned by the caller.
                    return Ok(false);
                }
            }
            if stopping {
                return Ok(true);
            }
        }
        if self.overlap_left > 0 {
            // Ended inside the overlap it had read before: the object is shorter
            // than its checkpoint, so these cannot be the bytes it is about.
            return Err(PassError::Store(StoreError::Refused(
                "the object ends before the checkpoint it was carried over at".to_owned(),
            )));
        }
        Ok(false)
    }

    /// Routes the first [`OVERLAP`] bytes of a resumed pass to the scan alone (they
    /// were hashed before); returns what is left of `chunk`.
    async fn take_overlap(&mut self, mut chunk: Vec<u8>) -> Vec<u8> {
        if self.overlap_left == 0 {
            return chunk;
        }
        let rest = chunk.split_off(self.overlap_left.min(chunk.len()));
        self.overlap_left -= chunk.len();
        self.overlap.extend_from_slice(&chunk);
        if self.overlap_left == 0 {
            let overlap = std::mem::take(&mut self.overlap);
            // A closed queue is the spool's failure, returned by the caller.
            let _ = self.feed.send(Feed::Overlap(overlap)).await;
        }
        rest
    }
}

/// What the reading half hands the scanning half.
enum Feed {
    /// The next bytes of the object.
    Bytes(Vec<u8>),
    /// The overlap a resumed scan starts its next window with.
    Overlap(Vec<u8>),
    /// The budget is spent and the bytes so far end at a window end: stop there.
    Pause,
}

/// How the scanning half ended.
enum SpoolEnd {
    /// Every byte was spooled or scanned.
    Finished(Spooled),
    /// Stopped at a window end, with the windows so far.
    Paused(WindowProgress),
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
    /// The ruleset the report names.
    ruleset: String,
    /// The windows so far and the bytes before this pass, when it goes on from a
    /// checkpoint.
    resumed: Option<(WindowProgress, u64)>,
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
    tokio::sync::mpsc::Sender<Feed>,
    tokio::task::JoinHandle<Result<SpoolEnd, PassError>>,
) {
    let (feed, mut queued) = tokio::sync::mpsc::channel::<Feed>(SPOOL_QUEUE);
    let spooling = tokio::task::spawn_blocking(move || {
        let mut windows: Option<WindowScan> = None;
        let mut size: u64 = windowing.resumed.as_ref().map_or(0, |(_, before)| *before);
        let mut paused = false;
        while let Some(next) = queued.blocking_recv() {
            let chunk = match next {
                Feed::Bytes(chunk) => chunk,
                Feed::Overlap(overlap) => {
                    if let Some((progress, _)) = &windowing.resumed {
                        let scan = WindowScan::resume(
                            &windowing.rules,
                            windowing.subject.clone(),
                            windowing.settings,
                            progress,
                            &overlap,
                        );
                        windows = Some(scan.map_err(PassError::Scan)?);
                    }
                    continue;
                }
                Feed::Pause => {
                    paused = true;
                    break;
                }
            };
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
                )
                .map_err(PassError::Scan)?;
                feed_prefix(&mut scan, prefix)?;
                scan.feed(&chunk).map_err(PassError::Scan)?;
                windows = Some(scan);
            }
        }
        if paused {
            let progress = match windows.as_mut() {
                Some(scan) => scan.progress().map_err(PassError::Scan)?,
                None => None,
            };
            return progress
                .map(SpoolEnd::Paused)
                .ok_or(PassError::NotAtWindowEnd { offset: size });
        }
        if size > windowing.max_bytes {
            return Ok(SpoolEnd::Finished(Spooled::TooLarge {
                size,
                limit: windowing.max_bytes,
            }));
        }
        match windows {
            Some(scan) => {
                let report = scan.finish(windowing.ruleset).map_err(PassError::Scan)?;
                Ok(SpoolEnd::Finished(Spooled::Windowed(report)))
            }
            None => spool
                .finish()
                .map(SpoolEnd::Finished)
                .map_err(PassError::Spool),
        }
    });
    (feed, spooling)
}

/// Feeds the bytes a spool kept before the object passed the scan limit.
fn feed_prefix(scan: &mut WindowScan, prefix: Prefix) -> Result<(), PassError> {
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
