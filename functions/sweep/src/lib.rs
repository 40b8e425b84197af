//! The sweep function, run by an EventBridge schedule: expires uploads that were
//! never completed before their deadline (and removes any bytes they left), and, when
//! a retention period is configured, deletes decided files older than it.
//!
//! Work per run is bounded; what is left is found again by the next run. Every change
//! is a conditional write, so a sweep racing ingest or a user's delete never
//! overwrites their result. Each run ends with one structured log line.

use airlock_aws::metrics::{Measurements, Metric};
use airlock_domain::{
    DomainError, FileRecord, error_chain,
    ports::{CatalogError, CatalogSweep, CatalogWriter, Clock, ObjectRemover, StoreError},
};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::Serialize;

/// The `detail-type` EventBridge gives scheduled events.
const SCHEDULED_EVENT: &str = "Scheduled Event";

/// How a deployment wants its bucket kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepSettings {
    /// At most this many files are expired, and this many deleted, per run.
    pub batch_limit: usize,
    /// Decided files older than this are deleted; `None` keeps them forever.
    pub retention: Option<chrono::Duration>,
}

impl Default for SweepSettings {
    fn default() -> Self {
        Self {
            batch_limit: 500,
            retention: None,
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
    /// Files another writer changed first (left as that writer decided).
    pub lost_races: usize,
    /// Whether a batch was full, so more work is probably due.
    pub more_due: bool,
}

/// The sweep use case over its ports.
pub struct Sweep<C, S, K> {
    catalog: C,
    store: S,
    clock: K,
    settings: SweepSettings,
}

/// The work of one run, and its failures so far.
#[derive(Default)]
struct Tally {
    report: SweepReport,
    failures: Vec<(String, FileError)>,
}

impl<C, S, K> Sweep<C, S, K>
where
    C: CatalogSweep + CatalogWriter,
    S: ObjectRemover,
    K: Clock,
{
    /// Wires the use case.
    pub fn new(catalog: C, store: S, clock: K, settings: SweepSettings) -> Self {
        Self {
            catalog,
            store,
            clock,
            settings,
        }
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
            let outcome = self.retire(&record, record.expired(now)).await;
            tally.count(&record, outcome, |r| r.expired += 1);
        }

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
        tally.finish()
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
            lost_races = report.lost_races,
            more_due = report.more_due,
            failed = self.failures.len(),
            "sweep finished"
        );
        Measurements::new()
            .count(Metric::FilesExpired, report.expired)
            .count(Metric::FilesDeleted, report.deleted)
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
