//! One behaviour suite for Airlock's ports, written once and run against every
//! implementation: the embedded adapters (`airlock-local`) and the AWS adapters on an
//! emulator (`airlock-aws`). Local and AWS must agree on every case.
//!
//! Each module has plain async functions, one per behaviour, and a macro that expands
//! them into `#[tokio::test]`s for one backend, so each case is reported on its own.
//! Cases isolate themselves with a fresh tenant (and, for sweep, a time window of
//! their own), so they can share one table or bucket and run in parallel.

pub mod catalog;
pub mod events;
pub mod inventory;
pub mod ledger;
pub mod multipart;
pub mod objects;
pub mod walks;

use airlock_domain::{
    ContentType, FileId, FileName, FileRecord, Finding, Inspection, Policy, TenantId, Timestamp,
    UploadRequest,
};

/// A tenant no other case uses.
pub fn fresh_tenant() -> TenantId {
    TenantId::parse(&format!("t{}", FileId::generate()).to_lowercase())
        .unwrap_or_else(|e| panic!("generated tenant id is invalid: {e}"))
}

/// A PENDING record of `tenant`, created at `at`, with a one-hour deadline.
pub fn pending(tenant: &TenantId, at: Timestamp) -> FileRecord {
    FileRecord::pending(
        tenant.clone(),
        FileId::generate(),
        UploadRequest {
            name: FileName::parse("report.pdf").unwrap_or_else(|e| panic!("{e}")),
            content_type: ContentType::parse("application/pdf").unwrap_or_else(|e| panic!("{e}")),
            size: 2048,
        },
        at,
        at + chrono::Duration::hours(1),
    )
}

/// `record` after a clean verdict.
pub fn accepted(record: &FileRecord) -> FileRecord {
    let found = Inspection {
        sha256: "ab".repeat(32),
        size: 2048,
        detected_type: record.declared_type.clone(),
    };
    let verdict = Policy::default().evaluate(&record.declared_type, 2048, &found);
    record
        .with_finding(
            Finding::new(found, verdict, record.created_at),
            record.created_at,
        )
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Now, truncated to milliseconds (what every backend stores).
pub fn now() -> Timestamp {
    let now = chrono::Utc::now();
    chrono::DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}
