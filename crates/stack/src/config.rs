//! The local stack's settings: defaults that match the deployed template, each
//! overridable by a command-line flag so tests can shorten every wait.

use std::{path::PathBuf, time::Duration};

use airlock_domain::{Policy, ScanLimits};

/// Everything the local stack needs to start.
#[derive(Debug, Clone)]
pub struct StackConfig {
    /// Where objects, the catalog, the event log and dead letters live.
    pub data_dir: PathBuf,
    /// The port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// How often sweep runs (the template's schedule is every 5 minutes).
    pub sweep_every: Duration,
    /// How long a client has to complete an upload before sweep expires it.
    pub upload_window: chrono::Duration,
    /// How long a presigned URL is valid.
    pub presign_ttl: chrono::Duration,
    /// Retention of decided files; `None` keeps them.
    pub retention: Option<chrono::Duration>,
    /// How old bytes with no record must be before sweep removes them.
    pub orphan_grace: chrono::Duration,
    /// How old bytes of a DELETED or EXPIRED file must be before sweep removes them.
    pub retired_grace: chrono::Duration,
    /// Stream records per publish invocation (the template's batch size).
    pub stream_batch_size: usize,
    /// How often a failing stream record is tried before it is dead-lettered.
    pub stream_max_attempts: u32,
    /// How often a failing ingest invocation is tried (Lambda async: 1 + 2 retries).
    pub ingest_max_attempts: u32,
    /// The upload policy.
    pub policy: Policy,
    /// The deployment's own scanning rules (`*.yar`, `*.yara`); `None` means
    /// `rules/` in the data folder. Edits apply to the next file, without a restart.
    pub rules_dir: Option<PathBuf>,
    /// The scan size limit and what becomes of files past it.
    pub scan_limits: ScanLimits,
    /// Whether INFECTED objects move to `quarantine/` (as the template's default).
    pub quarantine: bool,
    /// Files larger than this are sent in parts.
    pub multipart_threshold: u64,
    /// The part size multipart plans start from.
    pub part_size: u64,
    /// How long a client has to send a file in parts.
    pub multipart_window: chrono::Duration,
    /// Drop the notification of every single-PUT upload (see
    /// `Notifier::losing_puts`): a stack whose ingest never sees those uploads, for
    /// tests of what sweep reconciles. Off by default.
    pub lose_put_notifications: bool,
    /// Carry a pass over to the next ingest invocation after this many bytes (none:
    /// a pass here never stops, as no invocation has a deadline).
    pub carry_over_after_bytes: Option<u64>,
}

impl StackConfig {
    /// Where the deployment's rules are read from.
    pub fn rules_dir(&self) -> PathBuf {
        self.rules_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("rules"))
    }

    /// The defaults, with data under `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            port: 8080,
            sweep_every: Duration::from_secs(300),
            upload_window: chrono::Duration::hours(1),
            presign_ttl: chrono::Duration::minutes(15),
            retention: None,
            orphan_grace: chrono::Duration::hours(24),
            retired_grace: chrono::Duration::hours(1),
            stream_batch_size: 100,
            stream_max_attempts: 3,
            ingest_max_attempts: 3,
            policy: Policy::default(),
            rules_dir: None,
            scan_limits: ScanLimits::default(),
            quarantine: true,
            multipart_threshold: airlock_api::DEFAULT_MULTIPART_THRESHOLD,
            part_size: airlock_api::DEFAULT_PART_SIZE,
            multipart_window: chrono::Duration::hours(24),
            carry_over_after_bytes: None,
            lose_put_notifications: false,
        }
    }
}
