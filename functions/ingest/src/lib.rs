//! The ingest function: for every object S3 reports as created under the upload
//! prefix, stream its bytes once (sha256, size, magic-byte type, and the YARA-X rules
//! in force over every byte), judge them against the policy, move the file's record
//! out of PENDING by a conditional write, and tag the object with the resulting
//! status.
//!
//! S3 delivers notifications at least once, so everything here is idempotent: a file
//! that already has a verdict is only re-tagged (the same tag again changes nothing),
//! and of two racing invocations exactly one verdict is written.
//!
//! An object too large for one invocation is carried over (see [`carry_over`]): the
//! pass stops at a window end, its checkpoint goes into the record, and a message on
//! the continuation queue — ingest's second event source — wakes the next invocation,
//! which goes on from there.

pub mod carry_over;
pub mod metrics;

use std::time::Instant;

use airlock_domain::{
    DomainError, FileRecord, FileStatus, Finding, ObjectKey, Policy, ScanReport, Verdict,
    error_chain,
    ports::{
        CatalogError, CatalogReader, CatalogWriter, CheckpointWriter, Clock, ContinuationQueue,
        ObjectQuarantine, ObjectReader, ObjectRemover, ObjectTagger, QueueError, RuleSource,
        StoreError,
    },
};
use airlock_faults::fault;
use airlock_scan::{PassError, PassOutcome, Scanning, Subject};
use aws_lambda_events::s3::{S3Event, S3EventRecord};
pub use carry_over::{Carryover, NoContinuation};
use percent_encoding::percent_decode_str;
use serde::Serialize;
use tracing::Instrument;

/// Why one record could not be handled; the invocation fails so S3's retries (and
/// then the on-failure destination) take over.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The record has no object key.
    #[error("record has no object key")]
    MissingKey,
    /// The catalog failed.
    #[error("catalog")]
    Catalog(#[source] CatalogError),
    /// The object store failed.
    #[error("object store")]
    Store(#[source] StoreError),
    /// Reading and scanning the object failed.
    #[error("inspecting the object")]
    Pass(#[source] PassError),
    /// A state change the state machine forbids (a bug, never a user error).
    #[error("state machine")]
    Domain(#[source] DomainError),
    /// The continuation queue did not take the next step of a carried-over file.
    #[error("continuation queue")]
    Queue(#[source] QueueError),
}

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The payload is not an S3 event notification.
    #[error("payload is not an S3 event notification")]
    InvalidEvent(#[source] serde_json::Error),
    /// The event carries no records: not something S3 sends.
    #[error("S3 event has no records")]
    NoRecords,
    /// A message from the continuation queue whose body is not a continuation.
    #[error("continuation message {message_id} is not a continuation")]
    InvalidContinuation {
        /// The message's id, as SQS gave it.
        message_id: String,
        /// Why its body did not read.
        #[source]
        error: serde_json::Error,
    },
    /// Some records failed; those that succeeded are safe to redo.
    #[error("{failed} of {total} records failed; the first: {key}")]
    Records {
        /// How many failed.
        failed: usize,
        /// How many the event had.
        total: usize,
        /// The first failed record's key, as sent.
        key: String,
        /// The first failure.
        #[source]
        first: RecordError,
    },
}

/// What happened to one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RecordOutcome {
    /// The file was verified and moved to `status`.
    Decided {
        /// The decoded key.
        key: String,
        /// The new status.
        status: FileStatus,
    },
    /// The file had a verdict already (a redelivery, or a racing invocation won).
    AlreadyDecided {
        /// The decoded key.
        key: String,
        /// Its status.
        status: FileStatus,
    },
    /// The file is too large for one invocation: its checkpoint was written and the
    /// next invocation asked for.
    CarriedOver {
        /// The decoded key.
        key: String,
        /// Bytes verified so far.
        offset: u64,
        /// The checkpoint's number.
        seq: u32,
    },
    /// Nothing to do, for the reason given.
    Skipped {
        /// The key as sent.
        key: String,
        /// Why nothing was done, as logged (a fixed phrase, so it can be counted).
        why: &'static str,
    },
}

/// What one invocation did, record by record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IngestReport {
    /// One outcome per record, in order.
    pub records: Vec<RecordOutcome>,
}

/// The ingest use case over its ports; `Q` is the continuation queue (none by
/// default: every pass then finishes in the invocation that began it).
pub struct Ingest<C, S, K, R, Q = NoContinuation> {
    catalog: C,
    store: S,
    clock: K,
    policy: Policy,
    scanning: Scanning<R>,
    quarantine: bool,
    carryover: Carryover<Q>,
}

impl<C, S, K, R> Ingest<C, S, K, R>
where
    C: CatalogReader + CatalogWriter + CheckpointWriter,
    S: ObjectReader + ObjectTagger + ObjectQuarantine + ObjectRemover,
    K: Clock,
    R: RuleSource,
{
    /// Wires the use case.
    pub fn new(catalog: C, store: S, clock: K, policy: Policy, scanning: Scanning<R>) -> Self {
        Self {
            catalog,
            store,
            clock,
            policy,
            scanning,
            quarantine: false,
            carryover: Carryover::none(),
        }
    }
}

impl<C, S, K, R, Q> Ingest<C, S, K, R, Q>
where
    C: CatalogReader + CatalogWriter + CheckpointWriter,
    S: ObjectReader + ObjectTagger + ObjectQuarantine + ObjectRemover,
    K: Clock,
    R: RuleSource,
    Q: ContinuationQueue,
{
    /// Moves INFECTED objects to the quarantine prefix after tagging them (off by
    /// default: the tag alone already makes them unreadable).
    pub fn with_quarantine(self, quarantine: bool) -> Self {
        Self { quarantine, ..self }
    }

    /// Carries a pass that would outlast its invocation over to the next one, through
    /// `carryover`'s queue.
    pub fn with_carryover<Q2: ContinuationQueue>(
        self,
        carryover: Carryover<Q2>,
    ) -> Ingest<C, S, K, R, Q2> {
        Ingest {
            catalog: self.catalog,
            store: self.store,
            clock: self.clock,
            policy: self.policy,
            scanning: self.scanning,
            quarantine: self.quarantine,
            carryover,
        }
    }

    /// The scanner's rules and limits (for the local stack's reload checks and tests).
    pub fn scanning(&self) -> &Scanning<R> {
        &self.scanning
    }

    /// Decodes a raw payload, then handles it.
    pub async fn handle_payload(
        &self,
        payload: serde_json::Value,
    ) -> Result<IngestReport, IngestError> {
        self.handle_payload_by(payload, None).await
    }

    /// As [`handle_payload`](Self::handle_payload), for an invocation that must be
    /// done by `deadline`: a pass that would run past it (less the carry-over
    /// margin) is carried over. The payload is an S3 notification or a batch from the
    /// continuation queue.
    pub async fn handle_payload_by(
        &self,
        payload: serde_json::Value,
        deadline: Option<Instant>,
    ) -> Result<IngestReport, IngestError> {
        if carry_over::is_queue_batch(&payload) {
            return self.handle_continuations(payload, deadline).await;
        }
        let event: S3Event = serde_json::from_value(payload).map_err(IngestError::InvalidEvent)?;
        self.handle_by(event, deadline).await
    }

    /// Handles every record; fails if any record failed, after trying them all.
    pub async fn handle(&self, event: S3Event) -> Result<IngestReport, IngestError> {
        self.handle_by(event, None).await
    }

    async fn handle_by(
        &self,
        event: S3Event,
        deadline: Option<Instant>,
    ) -> Result<IngestReport, IngestError> {
        let total = event.records.len();
        if total == 0 {
            return Err(IngestError::NoRecords);
        }
        let mut outcomes = Vec::with_capacity(total);
        let mut failures = Vec::new();
        for record in &event.records {
            match self.handle_record(record, deadline).await {
                Ok(outcome) => outcomes.push(outcome),
                Err(error) => {
                    let key = record.s3.object.key.clone().unwrap_or_default();
                    tracing::error!(key, error = %error_chain(&error), "ingest record failed");
                    failures.push((key, error));
                }
            }
        }
        match failures.into_iter().next() {
            None => Ok(IngestReport { records: outcomes }),
            Some((key, first)) => Err(IngestError::Records {
                failed: total - outcomes.len(),
                total,
                key,
                first,
            }),
        }
    }

    async fn handle_record(
        &self,
        record: &S3EventRecord,
        deadline: Option<Instant>,
    ) -> Result<RecordOutcome, RecordError> {
        let raw_key = record
            .s3
            .object
            .key
            .as_deref()
            .ok_or(RecordError::MissingKey)?;
        let skipped = |why| {
            tracing::info!(key = raw_key, why, "ingest skipped a record");
            Ok(RecordOutcome::Skipped {
                key: raw_key.to_owned(),
                why,
            })
        };
        if !record
            .event_name
            .as_deref()
            .is_some_and(|name| name.starts_with("ObjectCreated:"))
        {
            return skipped("not an ObjectCreated event");
        }
        let Some(decoded) = decode_key(raw_key) else {
            return skipped("key is not valid percent-encoded UTF-8");
        };
        let Ok(key) = ObjectKey::parse(&decoded) else {
            return skipped("key is outside the upload layout");
        };
        let Some(file) = self
            .catalog
            .get(key.tenant(), key.file_id())
            .await
            .map_err(RecordError::Catalog)?
        else {
            return skipped("no catalog record for this object");
        };
        fault!("ingest.after_record_read", |injected| Err(
            RecordError::Pass(PassError::Store(StoreError::Backend(injected.into())))
        ));
        // The version the event is about, on a versioned bucket: what is read, tagged
        // and recorded is exactly that one, whatever is current when this runs.
        let version = record
            .s3
            .object
            .version_id
            .as_deref()
            .filter(|v| !v.is_empty());
        // Every line logged from here on names the tenant and the file.
        let span = tracing::info_span!("file", tenant = %key.tenant(), file_id = %key.file_id());
        async {
            match file.status {
                FileStatus::Pending => self.verify(file, &key, version, deadline).await,
                status if status.is_verdict() && is_other_version(&file, version) => {
                    self.remove_late_bytes(&key, version).await
                }
                status if status.is_verdict() => self.retag(&key, &file).await,
                _ => self.remove_late_bytes(&key, version).await,
            }
        }
        .instrument(span)
        .await
    }

    /// Inspects the bytes (of `version`, when the event names one), from the
    /// record's checkpoint when it has one, and writes the verdict, unless another
    /// invocation won; or carries the file over when the budget runs out first.
    async fn verify(
        &self,
        file: FileRecord,
        key: &ObjectKey,
        version: Option<&str>,
        deadline: Option<Instant>,
    ) -> Result<RecordOutcome, RecordError> {
        let started = std::time::Instant::now();
        let subject = Subject {
            declared_type: file.declared_type.to_string(),
            file_name: file.name.to_string(),
            owner: file.tenant.to_string(),
        };
        if let Some(checkpoint) = &file.checkpoint {
            tracing::info!(
                key = %key, offset = checkpoint.progress.offset, seq = checkpoint.seq,
                "verification goes on from its checkpoint"
            );
        }
        let outcome = self
            .scanning
            .pass_within(
                &self.store,
                key,
                version,
                subject,
                file.checkpoint.as_ref(),
                self.carryover.budget(deadline),
            )
            .await;
        let pass = match outcome {
            Ok(PassOutcome::Done(pass)) => pass,
            Ok(PassOutcome::Paused(paused)) => {
                return self.carry_over(&file, key, version, paused).await;
            }
            Err(PassError::Store(StoreError::NotFound(_))) => {
                tracing::info!(key = %key, "object was deleted before ingest ran");
                return Ok(RecordOutcome::Skipped {
                    key: key.to_string(),
                    why: "object no longer exists",
                });
            }
            Err(e) => return Err(RecordError::Pass(e)),
        };
        fault!("ingest.after_scan", |injected| Err(RecordError::Store(
            StoreError::Backend(injected.into())
        )));
        let mut reasons = self
            .policy
            .evaluate(&file.declared_type, file.declared_size, &pass.found)
            .reasons;
        reasons.extend(file.checksum_mismatch(&pass.found.sha256));
        // Headers the store keeps beside the bytes and serves them with (an unsigned
        // Content-Encoding above all) must be what the upload signed.
        reasons.extend(pass.stored.mismatches(&file.declared_type));
        reasons.extend(pass.scan.reasons(self.scanning.limits.unscannable));
        let verdict = Verdict::from_reasons(reasons);
        let members = pass.scan.members();
        tracing::info!(
            tenant = %file.tenant, file_id = %file.id, ruleset = pass.scan.ruleset(),
            rule_files = ?pass.scan.rule_files(),
            scan_millis = pass.scan_time.as_millis() as u64, bytes = pass.found.size,
            members_scanned = members.map(|m| m.scanned),
            members_unscanned = members.map(|m| m.unscanned.len()), "file scanned"
        );
        let scanned = pass.scan_time;
        let now = self.clock.now();
        let finding = Finding::new(pass.found, verdict, now)
            .with_scan(pass.scan)
            .stored_as(&pass.stored);
        let next = file
            .with_finding(finding, now)
            .map_err(RecordError::Domain)?;
        // Tag first, then record: once the catalog says CLEAN (and the api hands out
        // download URLs) the object already carries the tag the bucket policy reads.
        // A tag ahead of its record is harmless: nothing is downloadable while the
        // record is PENDING, and a lost race re-tags with the winner's status.
        self.tag(key, &next).await?;
        fault!("ingest.between_tag_and_verdict", |injected| Err(
            RecordError::Catalog(CatalogError::Backend(injected.into()))
        ));
        match self.catalog.replace(FileStatus::Pending, &next).await {
            Ok(()) => {
                tracing::info!(
                    tenant = %next.tenant, file_id = %next.id, status = %next.status,
                    reasons = ?next.verdict().map(|v| &v.reasons), "file verified"
                );
                metrics::decided(&next, scanned, started.elapsed()).emit();
                fault!("ingest.after_verdict", |injected| Err(RecordError::Store(
                    StoreError::Backend(injected.into())
                )));
                self.quarantine_if_infected(key, next.status).await?;
                Ok(RecordOutcome::Decided {
                    key: key.to_string(),
                    status: next.status,
                })
            }
            Err(CatalogError::StatusChanged { .. }) => self.after_lost_race(key).await,
            Err(e) => Err(RecordError::Catalog(e)),
        }
    }

    /// Another writer changed the record first: follow whatever it decided.
    async fn after_lost_race(&self, key: &ObjectKey) -> Result<RecordOutcome, RecordError> {
        let current = self
            .catalog
            .get(key.tenant(), key.file_id())
            .await
            .map_err(RecordError::Catalog)?;
        match current {
            Some(file) if file.status.is_verdict() => self.retag(key, &file).await,
            _ => Ok(RecordOutcome::Skipped {
                key: key.to_string(),
                why: "file was expired or deleted while it was verified",
            }),
        }
    }

    async fn retag(
        &self,
        key: &ObjectKey,
        file: &FileRecord,
    ) -> Result<RecordOutcome, RecordError> {
        let status = file.status;
        self.tag(key, file).await?;
        // A redelivery finishes a move an earlier invocation did not get to.
        self.quarantine_if_infected(key, status).await?;
        Ok(RecordOutcome::AlreadyDecided {
            key: key.to_string(),
            status,
        })
    }

    /// Bytes stored for a file that is expired or deleted, or another version than
    /// the one a verdict is about: a presigned PUT replayed once the key was empty
    /// again (after a delete or a quarantine move). Nobody may ever read them, so they
    /// go, that exact version when the event names one.
    async fn remove_late_bytes(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
    ) -> Result<RecordOutcome, RecordError> {
        self.store
            .remove_upload(key, version)
            .await
            .map_err(RecordError::Store)?;
        tracing::info!(key = %key, version, "bytes no verdict is about were removed");
        Ok(RecordOutcome::Skipped {
            key: key.to_string(),
            why: "bytes no verdict is about (a replayed upload) were removed",
        })
    }

    async fn quarantine_if_infected(
        &self,
        key: &ObjectKey,
        status: FileStatus,
    ) -> Result<(), RecordError> {
        if !self.quarantine || status != FileStatus::Infected {
            return Ok(());
        }
        match self.store.quarantine(key).await {
            Ok(()) => {
                tracing::info!(key = %key, to = key.quarantined(), "infected object quarantined");
                Ok(())
            }
            // Deleted meanwhile: nothing left to move.
            Err(StoreError::NotFound(_)) => Ok(()),
            Err(e) => Err(RecordError::Store(e)),
        }
    }

    /// Tags the object with the record's status, and a file accepted without a scan
    /// also as unscanned, so the object says so to whoever reads it.
    async fn tag(&self, key: &ObjectKey, file: &FileRecord) -> Result<(), RecordError> {
        let version = file.verified_version();
        let tagged = if file.status == FileStatus::Clean && accepted_unscanned(file) {
            self.store.tag_clean_unscanned(key, version).await
        } else {
            self.store.tag_status(key, version, file.status).await
        };
        match tagged {
            // Deleted meanwhile: nothing left to protect.
            Ok(()) | Err(StoreError::NotFound(_)) => Ok(()),
            Err(e) => Err(RecordError::Store(e)),
        }
    }
}

/// Whether the event is about another version of the object than the one `file`'s
/// verdict was given on. Unknown on either side (a store without versions, a record
/// from before versions were kept) is not another version.
fn is_other_version(file: &FileRecord, event_version: Option<&str>) -> bool {
    let verified = file.verified_version();
    matches!((verified, event_version), (Some(a), Some(b)) if a != b)
}

fn accepted_unscanned(file: &FileRecord) -> bool {
    file.finding
        .as_ref()
        .and_then(|f| f.scan.as_ref())
        .is_some_and(|scan| matches!(scan, ScanReport::Skipped { .. }))
}

/// S3 notification keys are URL-encoded with `+` for a space.
pub fn decode_key(raw: &str) -> Option<String> {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|key| key.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_percent_decoded_with_plus_as_space() {
        assert_eq!(decode_key("uploads/a%2Bb/c+d").unwrap(), "uploads/a+b/c d");
        assert_eq!(decode_key("%E2%9C%93").unwrap(), "\u{2713}");
        assert_eq!(decode_key("%FF"), None);
    }
}
