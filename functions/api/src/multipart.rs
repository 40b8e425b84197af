//! The multipart routes: a file past the threshold is created with a plan of parts
//! instead of one PUT; its parts are presigned in pages, listed (so a client that
//! crashed sends only what is missing), then joined by completion, or the upload is
//! aborted. Completion is idempotent: asking again after a lost answer, or after
//! ingest has decided, answers with the file as it is.

use airlock_domain::{
    FileRecord, FileStatus, MultipartUpload, StoredPart, TenantId,
    ports::{CatalogError, Clock, PartToSign, StoreError, UsageReader},
};

use airlock_faults::fault;
use airlock_wire::{FileView, PartList, PartsToSign, SignedParts};

use crate::{Api, ApiCatalog, ApiStore, dto, error::ApiError, handlers::later, reply::Reply};

impl<C: ApiCatalog, S: ApiStore, U: UsageReader, K: Clock> Api<C, S, U, K> {
    /// Plans a new record's parts, then starts the store's multipart upload for it.
    pub(crate) async fn plan_parts(&self, record: FileRecord) -> Result<FileRecord, ApiError> {
        // Planned before the store is asked, so a refused size leaves nothing behind.
        let planned =
            MultipartUpload::plan(String::new(), record.declared_size, self.settings.part_size)
                .map_err(ApiError::TooLargeForParts)?;
        let upload_id = self
            .store
            .start_multipart(&record.key(), &record.declared_type)
            .await?;
        Ok(record.with_multipart(MultipartUpload {
            upload_id,
            ..planned
        }))
    }

    /// `POST /v1/files/{id}/parts`: presigned PUTs for the parts asked for, each
    /// signed for its exact length and the SHA-256 the client gives for it.
    pub(crate) async fn sign_parts(
        &self,
        tenant: &TenantId,
        id: &str,
        body: PartsToSign,
    ) -> Result<Reply, ApiError> {
        let record = self.owned_record(tenant, id).await?;
        let plan = pending_plan(&record)?;
        let wanted = dto::wanted_parts(body, plan, record.declared_size)?;
        let now = self.clock.now();
        if now >= record.upload_deadline {
            return Err(ApiError::UploadWindowClosed);
        }
        let expires_at = later(now, self.settings.presign_ttl)?.min(record.upload_deadline);
        let key = record.key();
        let mut signed = Vec::with_capacity(wanted.len());
        for (number, length, sha256) in wanted {
            let part = PartToSign {
                key: &key,
                upload_id: &plan.upload_id,
                number,
                length,
                sha256: &sha256,
            };
            let request = self.store.presign_part(part, expires_at).await?;
            signed.push((number, length, request));
        }
        Ok(Reply::json(200, &SignedParts::new(&signed))?.no_store())
    }

    /// `GET /v1/files/{id}/parts`: the plan, the parts the store holds, and the
    /// numbers still missing.
    pub(crate) async fn list_parts(&self, tenant: &TenantId, id: &str) -> Result<Reply, ApiError> {
        let record = self.owned_record(tenant, id).await?;
        let plan = pending_plan(&record)?;
        let stored = self.stored_parts(&record, plan).await?;
        Reply::json(200, &PartList::new(plan, record.declared_size, &stored))
    }

    /// `POST /v1/files/{id}/complete`: joins the parts once they add up to the file;
    /// ingest verifies it from there.
    pub(crate) async fn complete_upload(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Reply, ApiError> {
        let record = self.owned_record(tenant, id).await?;
        if record.status != FileStatus::Pending {
            // Completed, and decided since: the same answer as a repeat would get.
            return match record.multipart {
                Some(_) => Reply::json(200, &FileView::from(&record)),
                None => Err(ApiError::NotMultipart),
            };
        }
        let plan = record.multipart.as_ref().ok_or(ApiError::NotMultipart)?;
        let key = record.key();
        let parts = match self.store.list_parts(&key, &plan.upload_id).await {
            Ok(parts) => {
                plan.check_parts(record.declared_size, &parts)
                    .map_err(ApiError::PartsDoNotAddUp)?;
                parts
            }
            // Gone: completed by an earlier request whose answer was lost (the store
            // then has the object and says so), or aborted.
            Err(StoreError::NotFound(_)) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        fault!("api.complete_between_listing_and_join", |injected| Err(
            ApiError::Store(StoreError::Backend(injected.into()))
        ));
        match self
            .store
            .complete_multipart(&key, &plan.upload_id, &parts)
            .await
        {
            Ok(()) => {}
            Err(StoreError::NotFound(_)) => return Err(ApiError::UploadGone),
            Err(StoreError::Refused(why)) => return Err(ApiError::StoreRefusedParts(why)),
            Err(e) => return Err(e.into()),
        }
        // The answer after a join can be lost: the client asks again.
        fault!("api.complete_after_join", |injected| Err(ApiError::Store(
            StoreError::Backend(injected.into())
        )));
        tracing::info!(
            tenant = %record.tenant, file_id = %record.id, parts = parts.len(),
            "multipart upload completed"
        );
        Reply::json(200, &FileView::from(&record))
    }

    /// `POST /v1/files/{id}/abort`: discards the parts and expires the file at once,
    /// rather than at its deadline.
    pub(crate) async fn abort_upload(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Reply, ApiError> {
        let record = self.owned_record(tenant, id).await?;
        let plan = pending_plan(&record)?;
        self.store
            .abort_multipart(&record.key(), &plan.upload_id)
            .await?;
        let expired = record
            .expired(self.clock.now())
            .map_err(|_| ApiError::NotPending(record.status))?;
        match self.catalog.replace(FileStatus::Pending, &expired).await {
            Ok(()) => {}
            Err(CatalogError::NotFound) => return Err(ApiError::FileNotFound),
            // Ingest decided first (the parts were completed meanwhile).
            Err(CatalogError::StatusChanged { .. }) => {
                let now = self.owned_record(tenant, id).await?;
                return Err(ApiError::NotPending(now.status));
            }
            Err(e) => return Err(e.into()),
        }
        // Bytes a completion landed before the abort won go too, as sweep's expiry
        // removes them.
        self.store.remove(&record.key()).await?;
        tracing::info!(tenant = %tenant, file_id = %record.id, "multipart upload aborted");
        Reply::json(200, &FileView::from(&expired))
    }

    async fn stored_parts(
        &self,
        record: &FileRecord,
        plan: &MultipartUpload,
    ) -> Result<Vec<StoredPart>, ApiError> {
        match self.store.list_parts(&record.key(), &plan.upload_id).await {
            Ok(parts) => Ok(parts),
            Err(StoreError::NotFound(_)) => Err(ApiError::UploadGone),
            Err(e) => Err(e.into()),
        }
    }
}

/// The plan of a record still waiting for its parts.
fn pending_plan(record: &FileRecord) -> Result<&MultipartUpload, ApiError> {
    let plan = record.multipart.as_ref().ok_or(ApiError::NotMultipart)?;
    if record.status != FileStatus::Pending {
        return Err(ApiError::NotPending(record.status));
    }
    Ok(plan)
}
