//! The sweep function, run by an EventBridge schedule: expires uploads that were
//! never completed before their deadline (and removes any bytes they left); when a
//! retention period is configured, deletes decided files older than it; and re-scans
//! CLEAN files that the ruleset in force has not seen (the rules changed, or someone
//! asked), so a new rule catches old files; and reconciles the bucket with the
//! catalog (`reconcile`): removes bytes no live record accounts for, aborts multipart
//! uploads no PENDING record names, and reports CLEAN files whose bytes are gone.
//!
//! A re-scan that finds a file INFECTED does what ingest does, in ingest's order: tag
//! the object INFECTED first (the bucket policy then refuses reads even before the
//! catalog changes), record INFECTED, then (when the deployment quarantines) move the
//! object to `quarantine/`. A tag that cannot be written fails that file and leaves
//! its record CLEAN under the old ruleset, so the next run scans it again and retries
//! the tag: no INFECTED record is ever left with a tag that says otherwise.
//!
//! Work per run is bounded; what is left is found again by the next run. Every change
//! is a conditional write, so a sweep racing ingest or a user's delete never
//! overwrites their result. Each run ends with one structured log line.

use airlock_domain::{
    DomainError, FileRecord, FileStatus, error_chain,
    ports::{
        CatalogCleanWalk, CatalogError, CatalogReader, CatalogSweep, CatalogWriter, Clock,
        MultipartAbort, ObjectQuarantine, ObjectReader, ObjectRemover, ObjectTagger, RuleSource,
        StoreError, SweepCursors, UploadInventory,
    },
};
use airlock_faults::fault;
use airlock_scan::{PassError, Scanning, Subject};
use airlock_telemetry::metrics::{Measurements, Metric};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::Serialize;

mod reconcile;
pub use reconcile::{CLEAN_CURSOR, OBJECTS_CURSOR, UPLOADS_CURSOR};

/// What sweep needs of the catalog, as one bound: the due work, conditional writes,
/// reads, and the reconciliation walks with their cursors.
pub trait SweepCatalog:
    CatalogSweep + CatalogWriter + CatalogReader + CatalogCleanWalk + SweepCursors
{
}
impl<T> SweepCatalog for T where
    T: CatalogSweep + CatalogWriter + CatalogReader + CatalogCleanWalk + SweepCursors
{
}

/// What sweep needs of the object store, as one bound: removal, re-scan reads, tags,
/// quarantine, aborting uploads and listing what is under `uploads/`.
pub trait SweepStore:
    ObjectRemover + ObjectReader + ObjectTagger + ObjectQuarantine + MultipartAbort + UploadInventory
{
}
impl<T> SweepStore for T where
    T: ObjectRemover
        + ObjectReader
        + ObjectTagger
        + ObjectQuarantine
        + MultipartAbort
        + UploadInventory
{
}

/// The `detail-type` EventBridge gives scheduled events.
const SCHEDULED_EVENT: &str = "Scheduled Event";

/// How a deployment wants its bucket kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepSettings {
    /// At most this many files are expired, and this many deleted, per run.
    pub batch_limit: usize,
    /// Decided files older than this are deleted; `None` keeps them forever.
    pub retention: Option<chrono::Duration>,
    /// At most this many CLEAN files are re-scanned per run.
    pub rescan_limit: usize,
    /// How long past its deadline an upload whose bytes were stored is left for
    /// ingest before it is expired (and the bytes removed): a late or retried ingest
    /// must not find a legitimate upload deleted.
    pub ingest_grace: chrono::Duration,
    /// At most this many objects, this many multipart uploads and this many decided
    /// records are looked at per run by the reconciliation.
    pub reconcile_limit: usize,
    /// How old bytes (or a multipart upload) with no record must be before they are
    /// removed: long enough that no upload in flight can have a record still coming.
    pub orphan_grace: chrono::Duration,
    /// How old bytes (or a multipart upload) of a DELETED or EXPIRED file must be
    /// before they are removed: ingest removes a replayed PUT's bytes first.
    pub retired_grace: chrono::Duration,
}

impl Default for SweepSettings {
    fn default() -> Self {
        Self {
            batch_limit: 500,
            retention: None,
            rescan_limit: 100,
            ingest_grace: chrono::Duration::minutes(15),
            reconcile_limit: 1000,
            orphan_grace: chrono::Duration::hours(24),
            retired_grace: chrono::Duration::hours(1),
        }
    }
}

/// Why one file could not be swept.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The catalog failed.
    #[error("catalog")]
    Catalog(#[source] CatalogError),
    /// The object store failed.
    #[error("object store")]
    Store(#[source] StoreError),
    /// Reading and scanning the object for a re-scan failed.
    #[error("re-scan")]
    Rescan(#[source] PassError),
    /// A state change the state machine forbids (a bug).
    #[error("state machine")]
    Domain(#[source] DomainError),
}

/// Why a run failed; EventBridge retries it.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The payload is not an EventBridge scheduled event.
    #[error("payload is not an EventBridge scheduled event")]
    InvalidEvent(#[source] serde_json::Error),
    /// An EventBridge event of another kind.
    #[error("expected detail-type {SCHEDULED_EVENT:?}, got {0:?}")]
    NotScheduled(String),
    /// Finding the work failed.
    #[error("querying the catalog failed")]
    Query(#[source] CatalogError),
    /// Listing the upload prefix failed.
    #[error("listing the bucket failed")]
    List(#[source] StoreError),
    /// Reading or keeping where a walk stopped failed.
    #[error("reading or keeping a reconciliation cursor failed")]
    Cursor(#[source] CatalogError),
    /// No rules to re-scan with: the cold start's compilation failed.
    #[error("the scanning rules are unavailable")]
    Rules(#[source] airlock_scan::RulesError),
    /// Some files failed; the rest were swept.
    #[error("{failed} files could not be swept; the first: {file}")]
    Files {
        /// How many failed.
        failed: usize,
        /// `tenant/file id` of the first.
        file: String,
        /// Its error.
        #[source]
        first: FileError,
    },
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Uploads moved PENDING → EXPIRED.
    pub expired: usize,
    /// Files moved to DELETED by retention.
    pub deleted: usize,
    /// CLEAN files scanned again with the ruleset in force.
    pub rescanned: usize,
    /// Of those, files a newer rule found infected.
    pub newly_infected: usize,
    /// Files another writer changed first (left as that writer decided).
    pub lost_races: usize,
    /// Uploads past their deadline whose bytes were stored: left for ingest, within
    /// the grace period.
    pub awaiting_ingest: usize,
    /// Bytes no live record accounts for, removed by the reconciliation.
    pub orphans_removed: usize,
    /// Multipart uploads no PENDING record names, aborted by the reconciliation.
    pub orphan_uploads_aborted: usize,
    /// CLEAN files whose bytes are gone (reported, their records left as they are).
    pub clean_missing: usize,
    /// The key after which the next run goes on listing objects; `None` when the
    /// walk starts from the beginning again.
    pub reconcile_cursor: Option<String>,
    /// Whether a batch was full, so more work is probably due.
    pub more_due: bool,
}

/// The sweep use case over its ports.
pub struct Sweep<C, S, K, R> {
    catalog: C,
    store: S,
    clock: K,
    settings: SweepSettings,
    scanning: Scanning<R>,
    quarantine: bool,
}

/// The work of one run, and its failures so far.
#[derive(Default)]
struct Tally {
    report: SweepReport,
    failures: Vec<(String, FileError)>,
}

impl<C, S, K, R> Sweep<C, S, K, R>
where
    C: SweepCatalog,
    S: SweepStore,
    K: Clock,
    R: RuleSource,
{
    /// Wires the use case.
    pub fn new(
        catalog: C,
        store: S,
        clock: K,
        settings: SweepSettings,
        scanning: Scanning<R>,
    ) -> Self {
        Self {
            catalog,
            store,
            clock,
            settings,
            scanning,
            quarantine: false,
        }
    }

    /// Moves objects a re-scan finds INFECTED to the quarantine prefix, after tagging
    /// and recording them (off by default, as in ingest: `AIRLOCK_QUARANTINE`).
    pub fn with_quarantine(self, quarantine: bool) -> Self {
        Self { quarantine, ..self }
    }

    /// Decodes a raw payload, then handles it.
    pub async fn handle_payload(
        &self,
        payload: serde_json::Value,
    ) -> Result<SweepReport, SweepError> {
        let event: EventBridgeEvent =
            serde_json::from_value(payload).map_err(SweepError::InvalidEvent)?;
        self.handle(event).await
    }

    /// Runs one sweep.
    pub async fn handle(&self, event: EventBridgeEvent) -> Result<SweepReport, SweepError> {
        if event.detail_type != SCHEDULED_EVENT {
            return Err(SweepError::NotScheduled(event.detail_type));
        }
        let now = self.clock.now();
        let limit = self.settings.batch_limit;
        let mut tally = Tally::default();

        let due = self
            .catalog
            .pending_past_deadline(now, limit)
            .await
            .map_err(SweepError::Query)?;
        tally.report.more_due |= due.len() == limit;
        for record in due {
            if self.bytes_await_ingest(&record, now).await {
                tally.report.awaiting_ingest += 1;
                continue;
            }
            let outcome = match self.abort_parts(&record).await {
                Ok(()) => self.retire(&record, record.expired(now)).await,
                Err(e) => Err(e),
            };
            tally.count(&record, outcome, |r| r.expired += 1);
        }
        fault!("sweep.between_expiry_and_retention", |injected| Err(
            SweepError::Query(CatalogError::Backend(injected.into()))
        ));

        if let Some(retention) = self.settings.retention {
            let old = self
                .catalog
                .decided_before(now - retention, limit)
                .await
                .map_err(SweepError::Query)?;
            tally.report.more_due |= old.len() == limit;
            for record in old {
                let outcome = self.retire(&record, record.deleted(now)).await;
                tally.count(&record, outcome, |r| r.deleted += 1);
            }
        }
        fault!("sweep.between_retention_and_rescan", |injected| Err(
            SweepError::Query(CatalogError::Backend(injected.into()))
        ));

        let ruleset = self
            .scanning
            .rules
            .current()
            .await
            .map_err(SweepError::Rules)?
            .version()
            .to_owned();
        let stale = self
            .catalog
            .clean_needing_rescan(&ruleset, self.settings.rescan_limit)
            .await
            .map_err(SweepError::Query)?;
        tally.report.more_due |= stale.len() == self.settings.rescan_limit;
        for record in stale {
            let outcome = self.rescan(&record).await;
            let infected = matches!(outcome, Ok(Some(FileStatus::Infected)));
            tally.count(&record, outcome.map(|o| o.is_some()), |r| {
                r.rescanned += 1;
                r.newly_infected += usize::from(infected);
            });
        }
        fault!("sweep.between_rescan_and_reconcile", |injected| Err(
            SweepError::Cursor(CatalogError::Backend(injected.into()))
        ));
        self.reconcile(now, &mut tally).await?;
        tally.finish()
    }

    /// Scans a CLEAN file again and writes the result by a conditional write from
    /// CLEAN. A file a newer rule matches is tagged INFECTED first (which closes its
    /// downloads), then recorded INFECTED, then quarantined (see the module docs).
    /// `None` when another writer changed the file first, or it is gone.
    async fn rescan(&self, record: &FileRecord) -> Result<Option<FileStatus>, FileError> {
        let key = record.key();
        let subject = Subject {
            declared_type: record.declared_type.to_string(),
            file_name: record.name.to_string(),
            owner: record.tenant.to_string(),
        };
        // The version that was verified, when the store keeps versions: a re-scan
        // judges those bytes, and their hash must still be the one recorded.
        let version = record.verified_version();
        let pass = match self
            .scanning
            .pass(&self.store, &key, version, subject)
            .await
        {
            Ok(pass) => pass,
            Err(PassError::Store(StoreError::NotFound(_))) => return Ok(None),
            Err(e) => return Err(FileError::Rescan(e)),
        };
        let next = record
            .rescanned(&pass.found.sha256, pass.scan, self.clock.now())
            .map_err(FileError::Domain)?;
        let infected = next.status == FileStatus::Infected;
        if infected {
            match self
                .store
                .tag_status(&key, version, FileStatus::Infected)
                .await
            {
                Ok(()) => {}
                // Deleted meanwhile: nothing left to protect, nor to record.
                Err(StoreError::NotFound(_)) => return Ok(None),
                Err(e) => return Err(FileError::Store(e)),
            }
            fault!("sweep.rescan_between_tag_and_record", |injected| Err(
                FileError::Catalog(CatalogError::Backend(injected.into()))
            ));
        }
        match self.catalog.replace(FileStatus::Clean, &next).await {
            Ok(()) => {}
            Err(CatalogError::StatusChanged { .. } | CatalogError::NotFound) => return Ok(None),
            Err(e) => return Err(FileError::Catalog(e)),
        }
        if infected {
            tracing::warn!(
                tenant = %next.tenant, file_id = %next.id,
                reasons = ?next.verdict().map(|v| &v.reasons), "re-scan found a clean file infected"
            );
            fault!(
                "sweep.rescan_between_record_and_quarantine",
                |injected| Err(FileError::Store(StoreError::Backend(injected.into())))
            );
            self.quarantine_infected(&key).await?;
        }
        Ok(Some(next.status))
    }

    async fn quarantine_infected(&self, key: &airlock_domain::ObjectKey) -> Result<(), FileError> {
        if !self.quarantine {
            return Ok(());
        }
        match self.store.quarantine(key).await {
            Ok(()) => {
                tracing::info!(key = %key, to = key.quarantined(), "infected object quarantined");
                Ok(())
            }
            // Deleted meanwhile: nothing left to move.
            Err(StoreError::NotFound(_)) => Ok(()),
            Err(e) => Err(FileError::Store(e)),
        }
    }

    /// Discards the parts of an abandoned multipart upload, before its record is
    /// expired: an abort that fails leaves the record PENDING, so the next run tries
    /// again (the bucket's lifecycle rule is only the backstop).
    async fn abort_parts(&self, record: &FileRecord) -> Result<(), FileError> {
        let Some(plan) = &record.multipart else {
            return Ok(());
        };
        self.store
            .abort_multipart(&record.key(), &plan.upload_id)
            .await
            .map_err(FileError::Store)?;
        tracing::info!(
            tenant = %record.tenant, file_id = %record.id, "abandoned multipart upload aborted"
        );
        Ok(())
    }

    /// Whether `record`'s bytes were stored and are still within the grace for ingest,
    /// or ingest moved its checkpoint within the grace.
    /// Opening the object is the existence check the store's ports offer (on S3 a GET
    /// whose body is dropped unread); only uploads past their deadline pay for it.
    async fn bytes_await_ingest(
        &self,
        record: &FileRecord,
        now: airlock_domain::Timestamp,
    ) -> bool {
        // A file carried over from one ingest invocation to the next is being
        // verified for as long as its checkpoint keeps moving, deadline or not.
        if record
            .checkpoint
            .as_ref()
            .is_some_and(|c| now < c.updated_at + self.settings.ingest_grace)
        {
            return true;
        }
        if now >= record.upload_deadline + self.settings.ingest_grace {
            return false;
        }
        match self.store.open(&record.key(), None).await {
            Ok(_) => true,
            Err(StoreError::NotFound(_)) => false,
            Err(error) => {
                // When unsure, keep the bytes: a later run decides.
                tracing::warn!(tenant = %record.tenant, file_id = %record.id, error = %airlock_domain::error_chain(&error), "could not check an expired upload's bytes; left for the next run");
                true
            }
        }
    }

    /// Writes the record's final status, then removes its bytes. In that order: if
    /// ingest won the race, the file keeps both its verdict and its bytes.
    async fn retire(
        &self,
        record: &FileRecord,
        next: Result<FileRecord, DomainError>,
    ) -> Result<bool, FileError> {
        let next = next.map_err(FileError::Domain)?;
        match self.catalog.replace(record.status, &next).await {
            Ok(()) => {}
            Err(CatalogError::StatusChanged { .. } | CatalogError::NotFound) => return Ok(false),
            Err(e) => return Err(FileError::Catalog(e)),
        }
        fault!("sweep.retire_between_record_and_removal", |injected| Err(
            FileError::Store(StoreError::Backend(injected.into()))
        ));
        self.store
            .remove(&record.key())
            .await
            .map_err(FileError::Store)?;
        Ok(true)
    }
}

impl Tally {
    fn count(
        &mut self,
        record: &FileRecord,
        outcome: Result<bool, FileError>,
        done: impl FnOnce(&mut SweepReport),
    ) {
        match outcome {
            Ok(true) => done(&mut self.report),
            Ok(false) => self.report.lost_races += 1,
            Err(e) => self
                .failures
                .push((format!("{}/{}", record.tenant, record.id), e)),
        }
    }

    fn finish(self) -> Result<SweepReport, SweepError> {
        let report = self.report;
        tracing::info!(
            expired = report.expired,
            deleted = report.deleted,
            rescanned = report.rescanned,
            newly_infected = report.newly_infected,
            lost_races = report.lost_races,
            orphans_removed = report.orphans_removed,
            orphan_uploads_aborted = report.orphan_uploads_aborted,
            clean_missing = report.clean_missing,
            reconcile_cursor = report.reconcile_cursor,
            more_due = report.more_due,
            failed = self.failures.len(),
            "sweep finished"
        );
        Measurements::new()
            .count(Metric::FilesExpired, report.expired)
            .count(Metric::FilesDeleted, report.deleted)
            // Files a re-scan found infected: the same alarm-worthy count as ingest's.
            .count(Metric::FilesInfected, report.newly_infected)
            .count(Metric::OrphansRemoved, report.orphans_removed)
            .count(Metric::OrphanUploadsAborted, report.orphan_uploads_aborted)
            .count(Metric::CleanObjectsMissing, report.clean_missing)
            .emit();
        let failed = self.failures.len();
        match self.failures.into_iter().next() {
            None => Ok(report),
            Some((file, first)) => {
                tracing::error!(file, error = %error_chain(&first), "sweep could not retire a file");
                Err(SweepError::Files {
                    failed,
                    file,
                    first,
                })
            }
        }
    }
}
