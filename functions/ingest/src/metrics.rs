//! What ingest measures for each file it decides: one metric line per verdict, so
//! the edit to the handler is a single call (`decided(..).emit()`).

use std::time::Duration;

use airlock_domain::{FileRecord, FileStatus};
use airlock_telemetry::metrics::{Measurements, Metric};

/// The measurements for a file that just got its verdict: which outcome, how many
/// bytes were verified, and how long the scan and the whole ingest took. The reason
/// codes ride along as a property, for Logs Insights (never as a dimension).
pub fn decided(record: &FileRecord, scan: Duration, ingest: Duration) -> Measurements {
    let outcome = match record.status {
        FileStatus::Clean => Some(Metric::FilesAccepted),
        FileStatus::Rejected => Some(Metric::FilesRejected),
        FileStatus::Infected => Some(Metric::FilesInfected),
        _ => None,
    };
    let mut measurements = Measurements::new();
    if let Some(metric) = outcome {
        measurements = measurements.count(metric, 1);
    }
    if let Some(finding) = &record.finding {
        #[allow(clippy::cast_precision_loss)] // exact below 2^53 bytes (8 PiB)
        let bytes = finding.size as f64;
        let reasons: Vec<serde_json::Value> = finding
            .verdict
            .reasons
            .iter()
            .filter_map(|reason| serde_json::to_value(reason).ok())
            .filter_map(|reason| reason.get("code").cloned())
            .collect();
        measurements = measurements
            .add(Metric::BytesIngested, bytes)
            .property("reasons", reasons);
    }
    measurements
        .duration(Metric::ScanDuration, scan)
        .duration(Metric::IngestDuration, ingest)
        .property("status", record.status.to_string())
}
