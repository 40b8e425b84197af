//! Reconciling the bucket with the catalog, whose records are the source of truth.
//!
//! Three walks, each bounded per run and resumed where the last run stopped (a
//! cursor kept in the catalog under its own name), each starting over once it reaches
//! the end:
//!
//! - objects under `uploads/`: bytes with no record, past the orphan grace, or whose
//!   record is DELETED or EXPIRED, past the shorter retired grace, are removed, every
//!   version of them (nothing is left behind a delete marker). The graces keep an
//!   upload in flight safe: api writes the record before it signs the PUT, so bytes
//!   with no record a day old have none coming, and ingest gets the first go at bytes
//!   a replayed PUT stored for a retired file.
//! - multipart uploads under `uploads/`: any that no PENDING record names is aborted,
//!   after the same graces.
//! - CLEAN records: one whose bytes are gone is reported (a log line naming the file
//!   and the `CleanObjectsMissing` metric), never re-statused: what happened to the
//!   bytes is for a person to find out.
//!
//! An object or upload that fails stops its walk's cursor before it, so the next run
//! tries it again (the run fails, as every sweep failure does).

use airlock_domain::{
    FileRecord, FileStatus, ObjectKey, Timestamp,
    ports::{Clock, ListedObject, ListedUpload, RuleSource},
};

use crate::{FileError, Sweep, SweepCatalog, SweepError, SweepStore, Tally};

/// The cursor of the walk over objects.
pub const OBJECTS_CURSOR: &str = "reconcile-objects";
/// The cursor of the walk over multipart uploads.
pub const UPLOADS_CURSOR: &str = "reconcile-multipart";
/// The cursor of the walk over CLEAN records.
pub const CLEAN_CURSOR: &str = "reconcile-clean";

/// Where a walk over a page of keys got to: the last key handled before the first
/// failure. Failures are tallied, so the run reports them and the next tries again.
struct Walk {
    reached: Option<String>,
    failed: bool,
    acted: usize,
}

impl Walk {
    fn from(start: Option<String>) -> Self {
        Self {
            reached: start,
            failed: false,
            acted: 0,
        }
    }

    /// Counts what handling the item under `key` did (acted on it or not), or its failure.
    fn handled(&mut self, key: &str, outcome: Result<bool, FileError>, tally: &mut Tally) {
        match outcome {
            Ok(done) => {
                self.acted += usize::from(done);
                if !self.failed {
                    self.reached = Some(key.to_owned());
                }
            }
            Err(e) => {
                self.failed = true;
                tally.failures.push((key.to_owned(), e));
            }
        }
    }

    /// How many items were acted on, and the cursor for the next run: after the last
    /// key handled, or from the start again when the listing ended and nothing failed.
    fn end(self, more: bool, tally: &mut Tally) -> (usize, Option<String>) {
        tally.report.more_due |= more;
        let next = if more || self.failed {
            self.reached
        } else {
            None
        };
        (self.acted, next)
    }
}

impl<C, S, K, R> Sweep<C, S, K, R>
where
    C: SweepCatalog,
    S: SweepStore,
    K: Clock,
    R: RuleSource,
{
    /// Runs the three walks.
    pub(crate) async fn reconcile(
        &self,
        now: Timestamp,
        tally: &mut Tally,
    ) -> Result<(), SweepError> {
        self.reconcile_objects(now, tally).await?;
        self.reconcile_multipart(now, tally).await?;
        self.report_missing_bytes(tally).await
    }

    async fn reconcile_objects(&self, now: Timestamp, tally: &mut Tally) -> Result<(), SweepError> {
        let start = self.cursor(OBJECTS_CURSOR).await?;
        let page = self
            .store
            .list_uploads(start.as_deref(), self.settings.reconcile_limit)
            .await
            .map_err(SweepError::List)?;
        let mut walk = Walk::from(start.clone());
        for object in &page.items {
            let outcome = self.reconcile_object(object, now).await;
            walk.handled(&object.key, outcome, tally);
        }
        let (removed, next) = walk.end(page.more, tally);
        tally.report.orphans_removed += removed;
        tally.report.reconcile_cursor.clone_from(&next);
        self.keep_cursor(OBJECTS_CURSOR, start, next).await
    }

    /// Removes the object if no live record accounts for it and its grace is over.
    async fn reconcile_object(
        &self,
        object: &ListedObject,
        now: Timestamp,
    ) -> Result<bool, FileError> {
        let record = self.record_of(&object.key).await?;
        let Some(grace) = self.grace_for_bytes(record.as_ref()) else {
            return Ok(false);
        };
        if now < object.last_modified + grace {
            return Ok(false);
        }
        airlock_faults::fault!("sweep.reconcile_before_orphan_purge", |injected| Err(
            FileError::Store(airlock_domain::ports::StoreError::Backend(injected.into()))
        ));
        self.store
            .purge_upload(&object.key)
            .await
            .map_err(FileError::Store)?;
        tracing::info!(
            key = object.key, status = record.as_ref().map(|r| r.status.as_str()),
            stored_at = %object.last_modified, "orphan bytes removed"
        );
        Ok(true)
    }

    async fn reconcile_multipart(
        &self,
        now: Timestamp,
        tally: &mut Tally,
    ) -> Result<(), SweepError> {
        let start = self.cursor(UPLOADS_CURSOR).await?;
        let page = self
            .store
            .list_multipart_uploads(start.as_deref(), self.settings.reconcile_limit)
            .await
            .map_err(SweepError::List)?;
        let mut walk = Walk::from(start.clone());
        for upload in &page.items {
            let outcome = self.reconcile_upload(upload, now).await;
            walk.handled(&upload.key, outcome, tally);
        }
        let (aborted, next) = walk.end(page.more, tally);
        tally.report.orphan_uploads_aborted += aborted;
        self.keep_cursor(UPLOADS_CURSOR, start, next).await
    }

    /// Aborts the upload if no PENDING record names it and its grace is over.
    async fn reconcile_upload(
        &self,
        upload: &ListedUpload,
        now: Timestamp,
    ) -> Result<bool, FileError> {
        let record = self.record_of(&upload.key).await?;
        let Some(grace) = self.grace_for_upload(record.as_ref(), &upload.upload_id) else {
            return Ok(false);
        };
        if now < upload.initiated + grace {
            return Ok(false);
        }
        // Only keys in the upload layout are ever started; any other is left to the
        // bucket's lifecycle rule.
        let Ok(key) = ObjectKey::parse(&upload.key) else {
            return Ok(false);
        };
        self.store
            .abort_multipart(&key, &upload.upload_id)
            .await
            .map_err(FileError::Store)?;
        tracing::info!(
            key = upload.key,
            upload_id = upload.upload_id,
            status = record.as_ref().map(|r| r.status.as_str()),
            "orphan multipart upload aborted"
        );
        Ok(true)
    }

    /// How long bytes are left alone before they count as orphans; `None` while a
    /// record accounts for them.
    fn grace_for_bytes(&self, record: Option<&FileRecord>) -> Option<chrono::Duration> {
        match record.map(|r| r.status) {
            None => Some(self.settings.orphan_grace),
            Some(FileStatus::Deleted | FileStatus::Expired) => Some(self.settings.retired_grace),
            Some(_) => None,
        }
    }

    /// The same for a multipart upload: only a PENDING record naming it accounts for it.
    fn grace_for_upload(
        &self,
        record: Option<&FileRecord>,
        upload_id: &str,
    ) -> Option<chrono::Duration> {
        match record {
            None => Some(self.settings.orphan_grace),
            Some(r) if r.status == FileStatus::Pending => {
                let named = r
                    .multipart
                    .as_ref()
                    .is_some_and(|p| p.upload_id == upload_id);
                // Another upload of a file still coming: as careful as with no record.
                (!named).then_some(self.settings.orphan_grace)
            }
            Some(_) => Some(self.settings.retired_grace),
        }
    }

    /// The record a key belongs to; `None` for a key outside the upload layout too.
    async fn record_of(&self, key: &str) -> Result<Option<FileRecord>, FileError> {
        let Ok(key) = ObjectKey::parse(key) else {
            return Ok(None);
        };
        self.catalog
            .get(key.tenant(), key.file_id())
            .await
            .map_err(FileError::Catalog)
    }

    /// Reports CLEAN records whose bytes are gone, a page of records a run.
    async fn report_missing_bytes(&self, tally: &mut Tally) -> Result<(), SweepError> {
        let start = self.cursor(CLEAN_CURSOR).await?;
        let page = self
            .catalog
            .clean_page(start.as_deref(), self.settings.reconcile_limit)
            .await
            .map_err(SweepError::Query)?;
        let mut failed = false;
        for record in &page.records {
            let key = record.key();
            match self
                .store
                .object_exists(&key, record.verified_version())
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    tally.report.clean_missing += 1;
                    tracing::warn!(
                        tenant = %record.tenant, file_id = %record.id, name = %record.name,
                        key = %key, version = record.verified_version(),
                        "a CLEAN file's bytes are gone; its record is left as it is"
                    );
                }
                Err(e) => {
                    failed = true;
                    tally.failures.push((
                        format!("{}/{}", record.tenant, record.id),
                        FileError::Store(e),
                    ));
                }
            }
        }
        tally.report.more_due |= page.next.is_some();
        // A page with a failure is looked at again whole: it is bounded.
        let next = if failed { start.clone() } else { page.next };
        self.keep_cursor(CLEAN_CURSOR, start, next).await
    }

    async fn cursor(&self, name: &str) -> Result<Option<String>, SweepError> {
        self.catalog.cursor(name).await.map_err(SweepError::Cursor)
    }

    /// Writes the cursor only when it moved: a run with nothing new writes nothing.
    async fn keep_cursor(
        &self,
        name: &str,
        start: Option<String>,
        next: Option<String>,
    ) -> Result<(), SweepError> {
        if start == next {
            return Ok(());
        }
        self.catalog
            .set_cursor(name, next.as_deref())
            .await
            .map_err(SweepError::Cursor)
    }
}
