//! Every fault point, in one place: its name (`component.boundary`) and what lies on
//! either side of it. A test (tests/sites.rs) checks that each name here is used by
//! exactly one `fault!` in the workspace and that no `fault!` uses another name; the
//! stack's promise tests (crates/stack/tests/promise/faults.rs) drive each one.

/// One fault point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    /// `component.boundary`, as written in its `fault!`.
    pub name: &'static str,
    /// What is done when the point is reached, and what is not yet.
    pub between: &'static str,
}

const fn point(name: &'static str, between: &'static str) -> Point {
    Point { name, between }
}

/// All fault points, by component, each in the order its steps run.
pub const POINTS: &[Point] = &[
    // functions/ingest
    point(
        "ingest.after_record_read",
        "the file's PENDING record is read; its bytes are not yet",
    ),
    point(
        "ingest.after_scan",
        "the bytes are hashed and scanned; the object is not tagged",
    ),
    point(
        "ingest.between_tag_and_verdict",
        "the object carries its status tag; the record is still PENDING",
    ),
    point(
        "ingest.after_verdict",
        "the verdict is written; an INFECTED object is not yet quarantined",
    ),
    point(
        "ingest.between_checkpoint_and_enqueue",
        "a carried-over file's checkpoint is written; its continuation is not queued",
    ),
    // functions/publish
    point(
        "publish.between_bus_and_ledger",
        "a batch's events are on the bus; no usage delta of it is applied",
    ),
    point(
        "publish.between_ledger_records",
        "one record's usage delta is applied; the next record's is not",
    ),
    // functions/api
    point(
        "api.create_between_record_and_presign",
        "the PENDING record is created; no upload URL is signed",
    ),
    point(
        "api.delete_between_record_and_removal",
        "the record is DELETED; the object and its tags are still stored",
    ),
    point(
        "api.complete_between_listing_and_join",
        "the stored parts are listed and checked; they are not joined",
    ),
    point(
        "api.complete_after_join",
        "the parts are joined into the object; the client has no answer",
    ),
    // functions/sweep
    point(
        "sweep.between_expiry_and_retention",
        "due uploads are expired; retention has not run",
    ),
    point(
        "sweep.retire_between_record_and_removal",
        "an expired or retained file's record is final; its bytes are not removed",
    ),
    point(
        "sweep.between_retention_and_rescan",
        "retention has run; no stale CLEAN file is re-scanned",
    ),
    point(
        "sweep.rescan_between_tag_and_record",
        "a re-scan found a CLEAN file infected and tagged it; its record is still CLEAN",
    ),
    point(
        "sweep.rescan_between_record_and_quarantine",
        "a re-scanned file is recorded INFECTED; its object is not quarantined",
    ),
    point(
        "sweep.between_rescan_and_reconcile",
        "re-scans are done; the bucket is not reconciled",
    ),
    point(
        "sweep.reconcile_before_orphan_purge",
        "bytes no live record accounts for are found; they are not removed",
    ),
    // crates/stack: the stream pump
    point(
        "pump.between_read_and_delivery",
        "a batch of change-log records is read; publish has not been invoked",
    ),
    point(
        "pump.between_delivery_and_checkpoint",
        "publish acknowledged the batch; the pump's position is not advanced",
    ),
    // crates/stack: S3 notifications
    point(
        "notifications.before_ingest_delivery",
        "an ObjectCreated event is taken from the queue; ingest has not been invoked",
    ),
    // crates/local and crates/stack: object writes
    point(
        "objects.between_bytes_and_headers",
        "an upload's bytes are durable in its temp file; its headers are not written",
    ),
    point(
        "objects.between_headers_and_link",
        "the headers are written; the bytes are not linked under their key",
    ),
    point(
        "objects.between_commit_and_notification",
        "the object is visible under its key; its ObjectCreated event is not queued",
    ),
    point(
        "objects.quarantine_between_move_and_cleanup",
        "an INFECTED object is moved to quarantine/; its old tag and headers remain",
    ),
];

/// The point named `name`.
pub fn find(name: &str) -> Option<&'static Point> {
    POINTS.iter().find(|point| point.name == name)
}
