//! One function per route: validate, drive the ports, shape the reply. Routing,
//! the tenant and body parsing are done before these run (see `Api::dispatch`).

use airlock_domain::{
    FileId, FileRecord, FileStatus, TenantId, Timestamp,
    ports::{CatalogError, Clock, ListQuery, PresignedRequest, UploadToSign, UsageReader},
};
use airlock_faults::fault;
use airlock_telemetry::metrics::{Measurements, Metric};
use airlock_wire::{
    CreateFileBody, CreatedFile, DownloadView, FileList, FileView, MultipartView, PresignedView,
    UsageView,
};
use aws_lambda_events::http::header;

use crate::{
    Api, ApiCatalog, ApiStore, cursor, dto, error::ApiError, reply::Reply, request::ListParams,
};

impl<C: ApiCatalog, S: ApiStore, U: UsageReader, K: Clock> Api<C, S, U, K> {
    /// `POST /v1/files`: records a PENDING file and hands out a presigned PUT, or,
    /// past the multipart threshold, the plan of parts to send it in.
    pub(crate) async fn create_file(
        &self,
        tenant: TenantId,
        body: CreateFileBody,
    ) -> Result<Reply, ApiError> {
        let (request, declared_sha256) = dto::upload_request(&body)?;
        let reasons = self.settings.policy.check_request(&request);
        if !reasons.is_empty() {
            return Err(ApiError::PolicyViolation(reasons));
        }
        self.refuse_past_pending_limit(&tenant).await?;
        let now = self.clock.now();
        let in_parts = request.size > self.settings.multipart_threshold;
        let window = if in_parts {
            self.settings.multipart_window
        } else {
            self.settings.upload_window
        };
        let deadline = later(now, window)?;
        let mut record = FileRecord::pending(tenant, FileId::generate(), request, now, deadline)
            .with_declared_sha256(declared_sha256);
        if in_parts {
            record = self.plan_parts(record).await?;
        }
        self.catalog.create(&record).await?;
        fault!("api.create_between_record_and_presign", |injected| Err(
            ApiError::Store(airlock_domain::ports::StoreError::Backend(injected.into()))
        ));
        // The URL below is a credential: it is returned, never logged.
        tracing::info!(
            tenant = %record.tenant, file_id = %record.id, size = record.declared_size,
            parts = record.multipart.as_ref().map(|plan| plan.part_count), "upload created"
        );
        let upload = match record.multipart {
            Some(_) => None,
            // If signing fails now, the record stays PENDING and sweep expires it at
            // the deadline; the client just asks again.
            None => Some(self.presign_whole(&record, now).await?),
        };
        let body = CreatedFile {
            file: FileView::from(&record),
            upload: upload.as_ref().map(PresignedView::from),
            multipart: record.multipart.as_ref().map(MultipartView::from),
        };
        Ok(Reply::json(201, &body)?
            .header(header::LOCATION, format!("/v1/files/{}", record.id))
            .no_store())
    }

    /// The one PUT a file up to the threshold is sent with.
    async fn presign_whole(
        &self,
        record: &FileRecord,
        now: Timestamp,
    ) -> Result<PresignedRequest, ApiError> {
        let expires_at = later(now, self.settings.presign_ttl)?.min(record.upload_deadline);
        Ok(self
            .store
            .presign_upload(
                UploadToSign {
                    key: &record.key(),
                    content_type: &record.declared_type,
                    size: record.declared_size,
                },
                expires_at,
            )
            .await?)
    }

    /// Refuses a new upload when the tenant holds `max_pending_uploads` PENDING ones.
    ///
    /// Counted from the catalog (the tenant's PENDING records, by the status index),
    /// not from the usage counters: those follow the change stream and lag behind a
    /// burst, which is exactly when the limit matters. The count and the create are
    /// not one transaction, so concurrent requests of one tenant can overshoot by at
    /// most their number (plus the status index's replication lag on DynamoDB).
    async fn refuse_past_pending_limit(&self, tenant: &TenantId) -> Result<(), ApiError> {
        let max = self.settings.max_pending_uploads;
        let query = ListQuery {
            status: Some(FileStatus::Pending),
            after: None,
            limit: max,
        };
        let page = self.catalog.list(tenant, &query).await?;
        if page.records.len() >= max {
            return Err(ApiError::TooManyPending { max });
        }
        Ok(())
    }

    /// `GET /v1/files`: one page of the tenant's files, newest first.
    pub(crate) async fn list_files(
        &self,
        tenant: &TenantId,
        params: ListParams,
    ) -> Result<Reply, ApiError> {
        let after = params
            .cursor
            .map(|raw| cursor::decode(&raw, tenant, params.status))
            .transpose()?;
        let query = ListQuery {
            status: params.status,
            after,
            limit: params.limit,
        };
        let page = self.catalog.list(tenant, &query).await?;
        let body = FileList {
            // The catalog scopes by tenant already; filtering again means an adapter
            // bug can never show one tenant another's files.
            files: page
                .records
                .iter()
                .filter(|record| record.tenant == *tenant)
                .map(FileView::from)
                .collect(),
            next_cursor: page
                .next
                .map(|after| cursor::encode(tenant, params.status, after)),
        };
        Reply::json(200, &body)
    }

    /// `GET /v1/files/{id}`.
    pub(crate) async fn get_file(&self, tenant: &TenantId, id: &str) -> Result<Reply, ApiError> {
        let record = self.owned_record(tenant, id).await?;
        Reply::json(200, &FileView::from(&record))
    }

    /// `GET /v1/files/{id}/download`: a presigned GET, for CLEAN files only.
    pub(crate) async fn download_file(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Reply, ApiError> {
        let record = self.owned_record(tenant, id).await?;
        if !record.is_downloadable() {
            return Err(ApiError::NotDownloadable(record.status));
        }
        let expires_at = later(self.clock.now(), self.settings.presign_ttl)?;
        let download = self
            .store
            .presign_download(
                &record.key(),
                // The version verified: a later version under the key is never served.
                record.verified_version(),
                &record.name,
                &record.declared_type,
                expires_at,
            )
            .await?;
        Ok(Reply::json(200, &DownloadView::new(&download, &record))?.no_store())
    }

    /// `DELETE /v1/files/{id}`: marks a decided file DELETED, then removes its bytes.
    ///
    /// The record changes first, so a file is never listed as CLEAN without bytes;
    /// repeating the request on a DELETED file removes the object again, which is
    /// how a retry finishes a removal that failed the first time.
    pub(crate) async fn delete_file(&self, tenant: &TenantId, id: &str) -> Result<Reply, ApiError> {
        let mut record = self.owned_record(tenant, id).await?;
        let mut decided_again = false;
        loop {
            match record.status {
                FileStatus::Deleted => break,
                FileStatus::Pending | FileStatus::Expired => {
                    return Err(ApiError::NotDeletable(record.status));
                }
                FileStatus::Clean | FileStatus::Rejected | FileStatus::Infected => {}
            }
            // The status was just checked, so the state machine allows the move.
            let next = record
                .deleted(self.clock.now())
                .map_err(|_| ApiError::NotDeletable(record.status))?;
            match self.catalog.replace(record.status, &next).await {
                Ok(()) => {
                    tracing::info!(tenant = %tenant, file_id = %record.id, "file deleted");
                    Measurements::new().count(Metric::FilesDeleted, 1).emit();
                    break;
                }
                Err(CatalogError::NotFound) => return Err(ApiError::FileNotFound),
                // Someone else moved the record; decide once more on what it is now
                // (most likely a concurrent DELETE, which makes this one a no-op).
                Err(CatalogError::StatusChanged { .. }) if !decided_again => {
                    decided_again = true;
                    record = self.owned_record(tenant, id).await?;
                }
                Err(error @ CatalogError::StatusChanged { .. }) => {
                    return Err(ApiError::ConcurrentChange(error));
                }
                Err(error) => return Err(error.into()),
            }
        }
        fault!("api.delete_between_record_and_removal", |injected| Err(
            ApiError::Store(airlock_domain::ports::StoreError::Backend(injected.into()))
        ));
        self.store.remove(&record.key()).await?;
        Ok(Reply::no_content())
    }

    /// `POST /v1/files/{id}/rescan`: asks for a CLEAN file to be scanned again with
    /// the rules in force; sweep does it on its next run (202). Asking twice is the
    /// same as asking once.
    pub(crate) async fn rescan_file(&self, tenant: &TenantId, id: &str) -> Result<Reply, ApiError> {
        let record = self.owned_record(tenant, id).await?;
        if record.status != FileStatus::Clean {
            return Err(ApiError::NotRescannable(record.status));
        }
        if record.rescan_requested_at.is_some() {
            return Reply::json(202, &FileView::from(&record));
        }
        self.refuse_past_rescan_limit(tenant).await?;
        let next = record
            .with_rescan_requested(self.clock.now())
            .map_err(|_| ApiError::NotRescannable(record.status))?;
        match self.catalog.replace(FileStatus::Clean, &next).await {
            Ok(()) => Reply::json(202, &FileView::from(&next)),
            Err(CatalogError::NotFound) => Err(ApiError::FileNotFound),
            Err(error @ CatalogError::StatusChanged { .. }) => {
                Err(ApiError::ConcurrentChange(error))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Refuses a new re-scan request when the tenant has `max_pending_rescans` not
    /// yet done (counted on the sparse `rescans` index, so a count reads at most that
    /// many keys). As with uploads, concurrent requests can overshoot by their number.
    async fn refuse_past_rescan_limit(&self, tenant: &TenantId) -> Result<(), ApiError> {
        let max = self.settings.max_pending_rescans;
        if self.catalog.rescans_requested(tenant, max).await? >= max {
            return Err(ApiError::TooManyRescans { max });
        }
        Ok(())
    }

    /// `GET /v1/usage`.
    pub(crate) async fn get_usage(&self, tenant: &TenantId) -> Result<Reply, ApiError> {
        let usage = self.usage.usage(tenant).await?;
        Reply::json(200, &UsageView::new(tenant, usage))
    }

    /// The tenant's record with this id. A malformed id, a missing record and another
    /// tenant's record all look the same to the client: 404.
    pub(crate) async fn owned_record(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<FileRecord, ApiError> {
        let id = FileId::parse(id).map_err(|_| ApiError::FileNotFound)?;
        self.catalog
            .get(tenant, id)
            .await?
            .filter(|record| record.tenant == *tenant)
            .ok_or(ApiError::FileNotFound)
    }
}

/// `now + duration`, refusing (instead of panicking) if a setting is absurdly large.
pub(crate) fn later(now: Timestamp, duration: chrono::Duration) -> Result<Timestamp, ApiError> {
    now.checked_add_signed(duration)
        .ok_or(ApiError::TimeOverflow)
}
