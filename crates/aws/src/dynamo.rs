//! The catalog, usage ledger and counters on one DynamoDB table.
//!
//! File items follow `airlock_domain::FileItem` (the same mapping the stream decoder
//! reads). Beside them:
//!
//! | item                | pk                 | sk              | attributes            |
//! |---------------------|--------------------|-----------------|-----------------------|
//! | usage counter       | `TENANT#{tenant}`  | `USAGE#{status}`| `kind=usage`, `files`, `bytes` (atomic ADD) |
//! | applied change      | `CHANGE#{change id}` | `CHANGE`      | `kind=change`, `ttl` (30 days) |
//! | sweep cursor        | `SWEEP#{walk}`     | `CURSOR`        | `kind=cursor`, `position` (absent: from the start) |
//!
//! Indexes: `by-status` (`status_pk`, `sk`) for listing by status; sparse `due`
//! (`due_pk`, `due_at`) for sweep; sparse `rescans` (`rescan_pk`, `sk`) for the api's
//! count of a tenant's outstanding re-scan requests. All project all attributes.

use std::collections::HashMap;

use airlock_domain::{
    FileId, FileItem, FileRecord, FileStatus, StatusCount, TenantId, Timestamp, Usage, UsageDelta,
    ports::{
        CatalogError, CatalogReader, CatalogSweep, CatalogWriter, CheckpointWriter, LedgerError,
        ListQuery, Page, UsageLedger, UsageReader,
    },
};
use aws_sdk_dynamodb::{
    operation::query::builders::QueryFluentBuilder,
    types::{AttributeValue, Put, TransactWriteItem, Update},
};

use crate::AdapterError;

/// The index for listing a tenant's files by status.
pub const BY_STATUS_INDEX: &str = "by-status";
/// The sparse index of files sweep must look at.
pub const DUE_INDEX: &str = "due";
/// The sparse index of CLEAN files whose re-scan is asked for and not yet done.
pub const RESCANS_INDEX: &str = "rescans";
/// How long the record of an applied change is kept; stream retention is 24 hours,
/// so no redelivery can arrive after it expires.
const APPLIED_TTL_SECS: i64 = 30 * 24 * 3600;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// One table. Cheap to clone.
#[derive(Clone, Debug)]
pub struct DynamoCatalog {
    pub(crate) client: aws_sdk_dynamodb::Client,
    pub(crate) table: String,
}

impl DynamoCatalog {
    /// The table `table` through `client`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The table `table` with a client built from the shared SDK configuration.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(aws_sdk_dynamodb::Client::new(sdk), table)
    }

    /// Runs a query to the end or until `want` items arrived, page by page.
    async fn query_all(
        &self,
        query: QueryFluentBuilder,
        want: usize,
    ) -> Result<Vec<Item>, CatalogError> {
        let mut items = Vec::new();
        let mut request = query;
        loop {
            let output = request.clone().send().await.map_err(backend)?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                // Only a continuation replaces the start key: the caller's cursor
                // is the start of the first page.
                Some(key) if items.len() < want => {
                    request = request.set_exclusive_start_key(Some(key));
                }
                _ => break,
            }
        }
        items.truncate(want);
        Ok(items)
    }

    pub(crate) fn due_index(&self) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .index_name(DUE_INDEX)
    }

    async fn due(
        &self,
        partition: &str,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<FileRecord>, CatalogError> {
        let query = self
            .due_index()
            .key_condition_expression("due_pk = :due AND due_at < :before")
            .expression_attribute_values(":due", s(partition))
            .expression_attribute_values(":before", s(&FileItem::due_at(before)))
            .limit(page_limit(limit));
        records(self.query_all(query, limit).await?)
    }
}

pub(crate) fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(crate) fn page_limit(limit: usize) -> i32 {
    i32::try_from(limit.clamp(1, 1000)).unwrap_or(1000)
}

pub(crate) fn backend<E: std::error::Error + Send + Sync + 'static>(e: E) -> CatalogError {
    CatalogError::Backend(Box::new(e))
}

fn ledger<E: std::error::Error + Send + Sync + 'static>(e: E) -> LedgerError {
    LedgerError::Backend(Box::new(e))
}

fn file_key(tenant: &TenantId, id: FileId) -> Item {
    HashMap::from([
        ("pk".to_owned(), s(&FileItem::tenant_pk(tenant))),
        ("sk".to_owned(), s(&FileItem::file_sk(id))),
    ])
}

fn to_item(record: &FileRecord) -> Result<Item, CatalogError> {
    serde_dynamo::to_item(FileItem::from_record(record.clone()))
        .map_err(|e| CatalogError::Corrupt(Box::new(AdapterError::Item(e))))
}

pub(crate) fn record(item: Item) -> Result<FileRecord, CatalogError> {
    let item: FileItem = serde_dynamo::from_item(item)
        .map_err(|e| CatalogError::Corrupt(Box::new(AdapterError::Item(e))))?;
    item.into_record()
        .map_err(|e| CatalogError::Corrupt(Box::new(e)))
}

pub(crate) fn records(items: Vec<Item>) -> Result<Vec<FileRecord>, CatalogError> {
    items.into_iter().map(record).collect()
}

fn is_condition_failure<E>(e: &aws_sdk_dynamodb::error::SdkError<E>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error()
        .and_then(|service| service.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

impl CatalogReader for DynamoCatalog {
    async fn get(&self, tenant: &TenantId, id: FileId) -> Result<Option<FileRecord>, CatalogError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(file_key(tenant, id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        output.item.map(record).transpose()
    }

    async fn rescans_requested(
        &self,
        tenant: &TenantId,
        limit: usize,
    ) -> Result<usize, CatalogError> {
        // Every item in the sparse index is a request, so `Limit` items evaluated are
        // `Limit` counted: one page answers whether the limit is reached.
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(RESCANS_INDEX)
            .key_condition_expression("rescan_pk = :pk")
            .expression_attribute_values(":pk", s(&FileItem::tenant_pk(tenant)))
            .select(aws_sdk_dynamodb::types::Select::Count)
            .limit(page_limit(limit))
            .send()
            .await
            .map_err(backend)?;
        Ok(usize::try_from(output.count).unwrap_or(0))
    }

    async fn list(&self, tenant: &TenantId, query: &ListQuery) -> Result<Page, CatalogError> {
        let pk = FileItem::tenant_pk(tenant);
        // One more than asked for tells whether there is a next page.
        let want = query.limit + 1;
        let builder = self
            .client
            .query()
            .table_name(&self.table)
            .scan_index_forward(false)
            .limit(page_limit(want));
        let builder = match query.status {
            None => builder
                .key_condition_expression("pk = :pk AND begins_with(sk, :file)")
                .expression_attribute_values(":pk", s(&pk))
                .expression_attribute_values(":file", s("FILE#")),
            Some(status) => builder
                .index_name(BY_STATUS_INDEX)
                .key_condition_expression("status_pk = :spk")
                .expression_attribute_values(":spk", s(&FileItem::status_pk(tenant, status))),
        };
        let builder = match query.after {
            None => builder,
            Some(after) => {
                let mut start = file_key(tenant, after);
                if let Some(status) = query.status {
                    start.insert(
                        "status_pk".to_owned(),
                        s(&FileItem::status_pk(tenant, status)),
                    );
                }
                builder.set_exclusive_start_key(Some(start))
            }
        };
        let mut records = records(self.query_all(builder, want).await?)?;
        let next = if records.len() > query.limit {
            records.truncate(query.limit);
            records.last().map(|r| r.id)
        } else {
            None
        };
        Ok(Page { records, next })
    }
}

impl CatalogWriter for DynamoCatalog {
    async fn create(&self, record: &FileRecord) -> Result<(), CatalogError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(record)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Err(CatalogError::AlreadyExists),
            Err(e) => Err(backend(e)),
        }
    }

    async fn replace(&self, expected: FileStatus, next: &FileRecord) -> Result<(), CatalogError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(next)?))
            .condition_expression("#status = :expected")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":expected", s(expected.as_str()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => match self.get(&next.tenant, next.id).await? {
                None => Err(CatalogError::NotFound),
                Some(_) => Err(CatalogError::StatusChanged { expected }),
            },
            Err(e) => Err(backend(e)),
        }
    }
}

impl CheckpointWriter for DynamoCatalog {
    async fn carry_over(&self, expected: u32, next: &FileRecord) -> Result<(), CatalogError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(next)?))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", s(FileStatus::Pending.as_str()));
        // The checkpoint is a map in the flattened record: its number is `checkpoint.seq`.
        let put = if expected == 0 {
            put.condition_expression("#status = :pending AND attribute_not_exists(checkpoint)")
        } else {
            put.condition_expression("#status = :pending AND checkpoint.seq = :seq")
                .expression_attribute_values(":seq", n(i64::from(expected)))
        };
        match put.send().await {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => match self.get(&next.tenant, next.id).await? {
                None => Err(CatalogError::NotFound),
                Some(current) if current.status != FileStatus::Pending => {
                    Err(CatalogError::StatusChanged {
                        expected: FileStatus::Pending,
                    })
                }
                Some(_) => Err(CatalogError::CheckpointMoved { expected }),
            },
            Err(e) => Err(backend(e)),
        }
    }
}

impl CatalogSweep for DynamoCatalog {
    async fn pending_past_deadline(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<FileRecord>, CatalogError> {
        self.due(FileItem::DUE_PENDING, now, limit).await
    }

    async fn decided_before(
        &self,
        cutoff: Timestamp,
        limit: usize,
    ) -> Result<Vec<FileRecord>, CatalogError> {
        self.due(FileItem::DUE_DECIDED, cutoff, limit).await
    }

    async fn clean_needing_rescan(
        &self,
        ruleset: &str,
        limit: usize,
    ) -> Result<Vec<FileRecord>, CatalogError> {
        // Decided files by creation, filtered on the server: a missing ruleset compares
        // as not equal, so files scanned before scanning existed are included.
        let query = self
            .due_index()
            .key_condition_expression("due_pk = :due")
            .filter_expression(
                "#status = :clean AND (attribute_exists(rescan_requested_at) \
                 OR NOT (#finding.#scan.#ruleset = :ruleset))",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#finding", "finding")
            .expression_attribute_names("#scan", "scan")
            .expression_attribute_names("#ruleset", "ruleset")
            .expression_attribute_values(":due", s(FileItem::DUE_DECIDED))
            .expression_attribute_values(":clean", s(FileStatus::Clean.as_str()))
            .expression_attribute_values(":ruleset", s(ruleset))
            .limit(page_limit(limit));
        records(self.query_all(query, limit).await?)
    }
}

fn change_key(change_id: &str) -> Item {
    HashMap::from([
        ("pk".to_owned(), s(&format!("CHANGE#{change_id}"))),
        ("sk".to_owned(), s("CHANGE")),
    ])
}

impl UsageLedger for DynamoCatalog {
    async fn is_applied(&self, change_id: &str) -> Result<bool, LedgerError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(change_key(change_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(ledger)?;
        Ok(output.item.is_some())
    }

    async fn apply_once(&self, delta: &UsageDelta) -> Result<bool, LedgerError> {
        let mut marker = change_key(&delta.change_id);
        marker.insert("kind".to_owned(), s("change"));
        marker.insert(
            "ttl".to_owned(),
            n(chrono::Utc::now().timestamp() + APPLIED_TTL_SECS),
        );
        let mut writes = vec![
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(marker))
                        .condition_expression("attribute_not_exists(pk)")
                        .build()
                        .map_err(ledger)?,
                )
                .build(),
        ];
        for (status, by) in &delta.moves {
            let update = Update::builder()
                .table_name(&self.table)
                .key("pk", s(&FileItem::tenant_pk(&delta.tenant)))
                .key("sk", s(&format!("USAGE#{status}")))
                .update_expression("SET kind = :kind ADD files :files, bytes :bytes")
                .expression_attribute_values(":kind", s("usage"))
                .expression_attribute_values(":files", n(by.files))
                .expression_attribute_values(":bytes", n(by.bytes))
                .build()
                .map_err(ledger)?;
            writes.push(TransactWriteItem::builder().update(update).build());
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if marker_existed(&e) => Ok(false),
            Err(e) => Err(ledger(e)),
        }
    }
}

/// Whether a cancelled transaction failed only because the change was applied before.
fn marker_existed(
    e: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
    >,
) -> bool {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
            .cancellation_reasons()
            .first()
            .and_then(|reason| reason.code())
            .is_some_and(|code| code == "ConditionalCheckFailed"),
        _ => false,
    }
}

impl UsageReader for DynamoCatalog {
    async fn usage(&self, tenant: &TenantId) -> Result<Usage, LedgerError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :usage)")
            .expression_attribute_values(":pk", s(&FileItem::tenant_pk(tenant)))
            .expression_attribute_values(":usage", s("USAGE#"))
            .consistent_read(true)
            .send()
            .await
            .map_err(ledger)?;
        let mut usage = Usage::default();
        for item in output.items.unwrap_or_default() {
            let sk = item
                .get("sk")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            let Some(status) = sk.strip_prefix("USAGE#").and_then(FileStatus::parse) else {
                continue;
            };
            let number = |name: &str| -> Result<i64, LedgerError> {
                item.get(name)
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| ledger(AdapterError::Usage(sk.clone())))
            };
            usage.by_status.insert(
                status,
                StatusCount {
                    files: number("files")?,
                    bytes: number("bytes")?,
                },
            );
        }
        Ok(usage)
    }
}
