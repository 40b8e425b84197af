//! Uploads as the api leaves them, made without the api: a PENDING record whose upload
//! window is open for an hour, and (on the embedded adapters) the record created with
//! its bytes stored, as after the client's presigned PUT; and a record read back.

use airlock_domain::{
    ContentType, FileId, FileName, FileRecord, TenantId, Timestamp, UploadRequest,
    ports::{CatalogReader, CatalogWriter},
};
use airlock_local::FsObjectStore;

/// The PENDING record of `tenant`'s upload of `name`, declared as `content_type` and
/// `size` bytes, created at `at`; it expires an hour later.
pub fn pending(
    tenant: &str,
    id: FileId,
    name: &str,
    content_type: &str,
    size: u64,
    at: Timestamp,
) -> FileRecord {
    FileRecord::pending(
        TenantId::parse(tenant).expect("a valid tenant"),
        id,
        UploadRequest {
            name: FileName::parse(name).expect("a valid file name"),
            content_type: ContentType::parse(content_type).expect("a valid content type"),
            size,
        },
        at,
        at + chrono::Duration::hours(1),
    )
}

/// `record` created in `catalog` and, when there are any, `bytes` stored under its key
/// in `store` (no S3 notification: the test delivers that when it chooses).
pub async fn upload(
    catalog: &impl CatalogWriter,
    store: &FsObjectStore,
    record: &FileRecord,
    bytes: Option<&[u8]>,
) {
    catalog.create(record).await.expect("the record is created");
    if let Some(bytes) = bytes {
        store
            .put_bytes(&record.key(), bytes)
            .await
            .expect("the bytes are stored");
    }
}

/// `record` as `catalog` holds it now; a record that is not there fails the test.
pub async fn reread(catalog: &impl CatalogReader, record: &FileRecord) -> FileRecord {
    catalog
        .get(&record.tenant, record.id)
        .await
        .expect("the catalog answers")
        .expect("the record is in the catalog")
}
