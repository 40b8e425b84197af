//! Configuration from the environment, read once at cold start. A missing or
//! malformed variable stops the cold start with a message that names it.

use std::{str::FromStr, time::Duration};

use crate::tls::TrustRoots;

/// A variable is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set (or empty).
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    /// A variable does not parse.
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    Malformed {
        /// The environment variable's name, as the deployment sets it.
        name: &'static str,
        /// What it held.
        value: String,
        /// What was expected.
        reason: String,
    },
}

/// Reads variables from a source (the process environment, or a map in tests).
pub struct Env<F> {
    lookup: F,
}

impl Env<fn(&str) -> Option<String>> {
    /// The process environment.
    pub fn process() -> Self {
        Self {
            lookup: |name| std::env::var(name).ok(),
        }
    }
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// Variables from `lookup`.
    pub fn from_fn(lookup: F) -> Self {
        Self { lookup }
    }

    /// A required text variable.
    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        (self.lookup)(name)
            .filter(|v| !v.trim().is_empty())
            .ok_or(ConfigError::Missing(name))
    }

    /// An optional byte count, `default` when absent, refused outside `range` (S3's
    /// bounds, which a deployment cannot move).
    pub fn bytes_within(
        &self,
        name: &'static str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<u64, ConfigError> {
        let bytes = self.parsed_or(name, default)?;
        if range.contains(&bytes) {
            return Ok(bytes);
        }
        Err(ConfigError::Malformed {
            name,
            value: bytes.to_string(),
            reason: format!("expected {} to {} bytes", range.start(), range.end()),
        })
    }

    /// An optional variable parsed as `T`, `default` when absent.
    pub fn parsed_or<T>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        match (self.lookup)(name).filter(|v| !v.trim().is_empty()) {
            None => Ok(default),
            Some(value) => value
                .trim()
                .parse()
                .map_err(|e: T::Err| ConfigError::Malformed {
                    name,
                    reason: e.to_string(),
                    value,
                }),
        }
    }

    /// An optional duration in whole seconds.
    pub fn seconds_or(
        &self,
        name: &'static str,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        self.parsed_or(name, default.as_secs())
            .map(Duration::from_secs)
    }
}

/// The largest upload accepted when the deployment does not say (5 GiB is the most
/// one S3 PUT can carry).
const DEFAULT_MAX_UPLOAD_BYTES: u64 = 1024 * 1024 * 1024;

/// The upload policy every function that judges uploads shares.
fn policy<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<airlock_domain::Policy, ConfigError> {
    Ok(airlock_domain::Policy {
        max_size: env.parsed_or("AIRLOCK_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES)?,
        ..airlock_domain::Policy::default()
    })
}

/// Whom the SDK trusts for AWS endpoints, which every function reads.
fn tls_roots<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<TrustRoots, ConfigError> {
    env.parsed_or("AIRLOCK_TLS_ROOTS", TrustRoots::default())
}

/// What ingest reads at cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestConfig {
    /// `AIRLOCK_TABLE`.
    pub table: String,
    /// `AIRLOCK_BUCKET`.
    pub bucket: String,
    /// The policy (`AIRLOCK_MAX_UPLOAD_BYTES`).
    pub policy: airlock_domain::Policy,
    /// How files are scanned.
    pub scan: ScanConfig,
    /// `AIRLOCK_QUARANTINE` (`true`/`false`, default false): move INFECTED objects to
    /// `quarantine/`.
    pub quarantine: bool,
    /// `AIRLOCK_TLS_ROOTS` (`amazon`, the default, or `system`): whom the SDK's
    /// HTTPS client trusts for AWS endpoints.
    pub tls_roots: TrustRoots,
    /// When a file is carried over to the next invocation.
    pub carry_over: CarryOverConfig,
}

/// Ingest's continuation queue and when a pass stops for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarryOverConfig {
    /// `AIRLOCK_CONTINUATION_QUEUE_URL`: the queue; without one, a pass never stops
    /// and a file one invocation cannot finish times out and is retried.
    pub queue_url: Option<String>,
    /// `AIRLOCK_CARRY_OVER_MARGIN_SECS` (default 60): how long before the
    /// invocation's deadline a pass stops at the next window end.
    pub margin: Duration,
    /// `AIRLOCK_CARRY_OVER_AFTER_BYTES` (default none): stop after this many bytes
    /// too (a budget forced small, for tests and the bench).
    pub after_bytes: Option<u64>,
}

impl CarryOverConfig {
    fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let after_bytes = env.parsed_or("AIRLOCK_CARRY_OVER_AFTER_BYTES", 0u64)?;
        Ok(Self {
            queue_url: env.required("AIRLOCK_CONTINUATION_QUEUE_URL").ok(),
            margin: env.seconds_or("AIRLOCK_CARRY_OVER_MARGIN_SECS", Duration::from_secs(60))?,
            after_bytes: (after_bytes > 0).then_some(after_bytes),
        })
    }
}

/// A list of variables with those [`ScanConfig`] reads (ingest and sweep scan
/// alike), so the two lists cannot drift apart.
macro_rules! with_scan_variables {
    ($($name:literal),* $(,)?) => {
        [
            $($name,)*
            "AIRLOCK_RULES_PREFIX",
            "AIRLOCK_RULES_CHECK_SECS",
            "AIRLOCK_MAX_SCAN_BYTES",
            "AIRLOCK_UNSCANNABLE",
            "AIRLOCK_SCAN_MEMORY_BYTES",
            "AIRLOCK_SCAN_TIMEOUT_SECS",
            "AIRLOCK_ARCHIVE_MAX_DEPTH",
            "AIRLOCK_ARCHIVE_MAX_MEMBERS",
            "AIRLOCK_ARCHIVE_MAX_EXPANDED_BYTES",
            "AIRLOCK_ARCHIVE_MAX_RATIO",
            "AIRLOCK_ARCHIVE_RATIO_FLOOR_BYTES",
        ]
    };
}

impl IngestConfig {
    /// Every variable this reads (the template must set each of them).
    pub const VARIABLES: &'static [&'static str] = &with_scan_variables![
        "AIRLOCK_TABLE",
        "AIRLOCK_BUCKET",
        "AIRLOCK_MAX_UPLOAD_BYTES",
        "AIRLOCK_QUARANTINE",
        "AIRLOCK_TLS_ROOTS",
        "AIRLOCK_CONTINUATION_QUEUE_URL",
        "AIRLOCK_CARRY_OVER_MARGIN_SECS",
        "AIRLOCK_CARRY_OVER_AFTER_BYTES",
    ];

    /// Reads and checks every variable.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        Ok(Self {
            table: env.required("AIRLOCK_TABLE")?,
            bucket: env.required("AIRLOCK_BUCKET")?,
            policy: policy(env)?,
            scan: ScanConfig::from_env(env)?,
            quarantine: env.parsed_or("AIRLOCK_QUARANTINE", false)?,
            tls_roots: tls_roots(env)?,
            carry_over: CarryOverConfig::from_env(env)?,
        })
    }
}

/// How ingest and sweep scan, shared by both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanConfig {
    /// `AIRLOCK_RULES_PREFIX` (default `rules/`): the deployment's rule files in the
    /// bucket.
    pub rules_prefix: String,
    /// `AIRLOCK_RULES_CHECK_SECS` (default 60): how often a warm function looks for
    /// changed rules.
    pub rules_check_every: Duration,
    /// `AIRLOCK_MAX_SCAN_BYTES`, `AIRLOCK_UNSCANNABLE` (`reject`, the default, or
    /// `accept-unscanned`) and the archive budgets: `AIRLOCK_ARCHIVE_MAX_DEPTH` (5),
    /// `AIRLOCK_ARCHIVE_MAX_MEMBERS` (10000), `AIRLOCK_ARCHIVE_MAX_EXPANDED_BYTES`
    /// (8 GiB), `AIRLOCK_ARCHIVE_MAX_RATIO` (1000) and
    /// `AIRLOCK_ARCHIVE_RATIO_FLOOR_BYTES` (1 MiB).
    pub limits: airlock_domain::ScanLimits,
    /// `AIRLOCK_SCAN_MEMORY_BYTES` (default 32 MiB): larger objects are scanned from
    /// a temporary file.
    pub memory_budget: usize,
    /// `AIRLOCK_SCAN_TIMEOUT_SECS` (default 60).
    pub timeout: Duration,
}

impl ScanConfig {
    /// Reads and checks the scanning variables.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let unscannable = env.parsed_or("AIRLOCK_UNSCANNABLE", "reject".to_owned())?;
        let unscannable = airlock_domain::Unscannable::parse(&unscannable).ok_or_else(|| {
            ConfigError::Malformed {
                name: "AIRLOCK_UNSCANNABLE",
                value: unscannable.clone(),
                reason: "expected reject or accept-unscanned".to_owned(),
            }
        })?;
        Ok(Self {
            rules_prefix: env.parsed_or("AIRLOCK_RULES_PREFIX", "rules/".to_owned())?,
            rules_check_every: env
                .seconds_or("AIRLOCK_RULES_CHECK_SECS", Duration::from_secs(60))?,
            limits: airlock_domain::ScanLimits {
                max_scan_bytes: env.parsed_or(
                    "AIRLOCK_MAX_SCAN_BYTES",
                    airlock_domain::DEFAULT_MAX_SCAN_BYTES,
                )?,
                unscannable,
                archives: archive_limits(env)?,
                ..airlock_domain::ScanLimits::default()
            },
            memory_budget: env.parsed_or("AIRLOCK_SCAN_MEMORY_BYTES", 32 * 1024 * 1024)?,
            timeout: env.seconds_or("AIRLOCK_SCAN_TIMEOUT_SECS", Duration::from_secs(60))?,
        })
    }
}

/// The archive budgets (see [`ScanConfig::limits`]).
fn archive_limits<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<airlock_domain::ArchiveLimits, ConfigError> {
    use airlock_domain as d;
    Ok(d::ArchiveLimits {
        max_depth: env.parsed_or("AIRLOCK_ARCHIVE_MAX_DEPTH", d::DEFAULT_MAX_ARCHIVE_DEPTH)?,
        max_members: env.parsed_or(
            "AIRLOCK_ARCHIVE_MAX_MEMBERS",
            d::DEFAULT_MAX_ARCHIVE_MEMBERS,
        )?,
        max_expanded_bytes: env.parsed_or(
            "AIRLOCK_ARCHIVE_MAX_EXPANDED_BYTES",
            d::DEFAULT_MAX_EXPANDED_BYTES,
        )?,
        max_ratio: env.parsed_or("AIRLOCK_ARCHIVE_MAX_RATIO", d::DEFAULT_MAX_RATIO)?,
        ratio_floor: env.parsed_or("AIRLOCK_ARCHIVE_RATIO_FLOOR_BYTES", d::DEFAULT_RATIO_FLOOR)?,
    })
}

/// What publish reads at cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishConfig {
    /// `AIRLOCK_TABLE` (the usage ledger).
    pub table: String,
    /// `AIRLOCK_BUS`.
    pub bus: String,
    /// `AIRLOCK_TLS_ROOTS` (`amazon`, the default, or `system`): whom the SDK's
    /// HTTPS client trusts for AWS endpoints.
    pub tls_roots: TrustRoots,
}

impl PublishConfig {
    /// Every variable this reads (the template must set each of them).
    pub const VARIABLES: &'static [&'static str] =
        &["AIRLOCK_TABLE", "AIRLOCK_BUS", "AIRLOCK_TLS_ROOTS"];

    /// Reads and checks every variable.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        Ok(Self {
            table: env.required("AIRLOCK_TABLE")?,
            bus: env.required("AIRLOCK_BUS")?,
            tls_roots: tls_roots(env)?,
        })
    }
}

/// What api reads at cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// `AIRLOCK_TABLE`.
    pub table: String,
    /// `AIRLOCK_BUCKET`.
    pub bucket: String,
    /// `AIRLOCK_TENANT_CLAIM` (default `tenant_id`).
    pub tenant_claim: String,
    /// `AIRLOCK_UPLOAD_WINDOW_SECS` (default one hour).
    pub upload_window: Duration,
    /// `AIRLOCK_PRESIGN_TTL_SECS` (default 15 minutes).
    pub presign_ttl: Duration,
    /// The policy (`AIRLOCK_MAX_UPLOAD_BYTES`).
    pub policy: airlock_domain::Policy,
    /// `AIRLOCK_TLS_ROOTS` (`amazon`, the default, or `system`): whom the SDK's
    /// HTTPS client trusts for AWS endpoints.
    pub tls_roots: TrustRoots,
    /// `AIRLOCK_MAX_PENDING_UPLOADS` (default 100): PENDING uploads a tenant may hold.
    pub max_pending_uploads: usize,
    /// `AIRLOCK_MAX_PENDING_RESCANS` (default 100): re-scans a tenant may have asked
    /// for and not yet had done.
    pub max_pending_rescans: usize,
    /// `AIRLOCK_MULTIPART_THRESHOLD` (default 64 MiB, 5 MiB to 5 GiB): files larger
    /// than this are sent in parts.
    pub multipart_threshold: u64,
    /// `AIRLOCK_PART_SIZE` (default 16 MiB, 5 MiB to 5 GiB): where part sizes start.
    pub part_size: u64,
    /// `AIRLOCK_MULTIPART_WINDOW_SECS` (default a day): how long a client has to
    /// send a file in parts.
    pub multipart_window: Duration,
}

impl ApiConfig {
    /// Every variable this reads (the template must set each of them).
    pub const VARIABLES: &'static [&'static str] = &[
        "AIRLOCK_TABLE",
        "AIRLOCK_BUCKET",
        "AIRLOCK_TENANT_CLAIM",
        "AIRLOCK_UPLOAD_WINDOW_SECS",
        "AIRLOCK_PRESIGN_TTL_SECS",
        "AIRLOCK_MAX_UPLOAD_BYTES",
        "AIRLOCK_TLS_ROOTS",
        "AIRLOCK_MAX_PENDING_UPLOADS",
        "AIRLOCK_MAX_PENDING_RESCANS",
        "AIRLOCK_MULTIPART_THRESHOLD",
        "AIRLOCK_PART_SIZE",
        "AIRLOCK_MULTIPART_WINDOW_SECS",
    ];

    /// Reads and checks every variable.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        use airlock_domain::multipart::{MAX_PART_SIZE, MAX_SINGLE_PUT, MIN_PART_SIZE};
        Ok(Self {
            table: env.required("AIRLOCK_TABLE")?,
            bucket: env.required("AIRLOCK_BUCKET")?,
            multipart_threshold: env.bytes_within(
                "AIRLOCK_MULTIPART_THRESHOLD",
                64 * 1024 * 1024,
                MIN_PART_SIZE..=MAX_SINGLE_PUT,
            )?,
            part_size: env.bytes_within(
                "AIRLOCK_PART_SIZE",
                16 * 1024 * 1024,
                MIN_PART_SIZE..=MAX_PART_SIZE,
            )?,
            multipart_window: env
                .seconds_or("AIRLOCK_MULTIPART_WINDOW_SECS", Duration::from_secs(86_400))?,
            max_pending_uploads: env.parsed_or("AIRLOCK_MAX_PENDING_UPLOADS", 100)?,
            max_pending_rescans: env.parsed_or("AIRLOCK_MAX_PENDING_RESCANS", 100)?,
            tenant_claim: env.parsed_or("AIRLOCK_TENANT_CLAIM", "tenant_id".to_owned())?,
            upload_window: env
                .seconds_or("AIRLOCK_UPLOAD_WINDOW_SECS", Duration::from_secs(3600))?,
            presign_ttl: env.seconds_or("AIRLOCK_PRESIGN_TTL_SECS", Duration::from_secs(900))?,
            policy: policy(env)?,
            tls_roots: tls_roots(env)?,
        })
    }
}

/// What sweep reads at cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepConfig {
    /// `AIRLOCK_TABLE`.
    pub table: String,
    /// `AIRLOCK_BUCKET`.
    pub bucket: String,
    /// `AIRLOCK_RETENTION_DAYS`; 0 (the default) keeps files forever.
    pub retention_days: u32,
    /// How re-scans run (the same variables as ingest's).
    pub scan: ScanConfig,
    /// `AIRLOCK_RESCAN_LIMIT` (default 100): at most this many files re-scanned a run.
    pub rescan_limit: usize,
    /// `AIRLOCK_QUARANTINE` (default false): move files a re-scan finds INFECTED to
    /// `quarantine/`, as ingest does.
    pub quarantine: bool,
    /// `AIRLOCK_RECONCILE_LIMIT` (default 1000): at most this many objects, multipart
    /// uploads and decided records each looked at a run by the reconciliation.
    pub reconcile_limit: usize,
    /// `AIRLOCK_ORPHAN_GRACE_SECS` (default 86400): how old bytes with no record must
    /// be before they are removed.
    pub orphan_grace: Duration,
    /// `AIRLOCK_RETIRED_GRACE_SECS` (default 3600): how old bytes of a DELETED or
    /// EXPIRED file must be before they are removed.
    pub retired_grace: Duration,
    /// `AIRLOCK_TLS_ROOTS` (`amazon`, the default, or `system`): whom the SDK's
    /// HTTPS client trusts for AWS endpoints.
    pub tls_roots: TrustRoots,
}

impl SweepConfig {
    /// Every variable this reads (the template must set each of them).
    pub const VARIABLES: &'static [&'static str] = &with_scan_variables![
        "AIRLOCK_TABLE",
        "AIRLOCK_BUCKET",
        "AIRLOCK_RETENTION_DAYS",
        "AIRLOCK_RESCAN_LIMIT",
        "AIRLOCK_QUARANTINE",
        "AIRLOCK_RECONCILE_LIMIT",
        "AIRLOCK_ORPHAN_GRACE_SECS",
        "AIRLOCK_RETIRED_GRACE_SECS",
        "AIRLOCK_TLS_ROOTS",
    ];

    /// Reads and checks every variable.
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        Ok(Self {
            table: env.required("AIRLOCK_TABLE")?,
            bucket: env.required("AIRLOCK_BUCKET")?,
            retention_days: env.parsed_or("AIRLOCK_RETENTION_DAYS", 0)?,
            scan: ScanConfig::from_env(env)?,
            rescan_limit: env.parsed_or("AIRLOCK_RESCAN_LIMIT", 100)?,
            quarantine: env.parsed_or("AIRLOCK_QUARANTINE", false)?,
            reconcile_limit: env.parsed_or("AIRLOCK_RECONCILE_LIMIT", 1000)?,
            orphan_grace: env
                .seconds_or("AIRLOCK_ORPHAN_GRACE_SECS", Duration::from_secs(86_400))?,
            retired_grace: env
                .seconds_or("AIRLOCK_RETIRED_GRACE_SECS", Duration::from_secs(3600))?,
            tls_roots: tls_roots(env)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> Env<impl Fn(&str) -> Option<String>> {
        Env::from_fn(move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn a_missing_required_variable_is_named() {
        let error = env(&[("AIRLOCK_TABLE", " ")])
            .required("AIRLOCK_TABLE")
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "environment variable AIRLOCK_TABLE is not set"
        );
    }

    #[test]
    fn a_malformed_number_is_named_with_its_value() {
        let error = env(&[("AIRLOCK_MAX_UPLOAD_BYTES", "ten")])
            .parsed_or("AIRLOCK_MAX_UPLOAD_BYTES", 1u64)
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("AIRLOCK_MAX_UPLOAD_BYTES=\"ten\" is invalid")
        );
    }

    #[test]
    fn each_function_reads_only_its_variables_and_names_the_missing_one() {
        let publish = env(&[("AIRLOCK_TABLE", "t"), ("AIRLOCK_BUS", "b")]);
        assert_eq!(
            PublishConfig::from_env(&publish).unwrap(),
            PublishConfig {
                table: "t".into(),
                bus: "b".into(),
                tls_roots: TrustRoots::Amazon,
            }
        );
        assert_eq!(
            IngestConfig::from_env(&publish),
            Err(ConfigError::Missing("AIRLOCK_BUCKET"))
        );
        let api = env(&[
            ("AIRLOCK_TABLE", "t"),
            ("AIRLOCK_BUCKET", "b"),
            ("AIRLOCK_MAX_UPLOAD_BYTES", "10"),
        ]);
        let config = ApiConfig::from_env(&api).unwrap();
        assert_eq!(config.policy.max_size, 10);
        assert_eq!(config.tenant_claim, "tenant_id");
        assert_eq!(config.upload_window, Duration::from_secs(3600));
    }

    type Recording = Env<Box<dyn Fn(&str) -> Option<String>>>;

    /// Reads a config through a lookup that knows every name and records each asked
    /// for; checks they are exactly `declared`.
    fn reads_exactly<T>(
        read: impl FnOnce(&Recording) -> Result<T, ConfigError>,
        declared: &[&str],
    ) {
        let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::<String>::new()));
        let record = std::rc::Rc::clone(&seen);
        let env: Recording = Env::from_fn(Box::new(move |name: &str| {
            record.borrow_mut().push(name.to_owned());
            // Every variable takes a number but three, which take a word; the part
            // sizes take one S3 accepts.
            Some(
                match name {
                    "AIRLOCK_UNSCANNABLE" => "reject",
                    "AIRLOCK_QUARANTINE" => "true",
                    "AIRLOCK_TLS_ROOTS" => "system",
                    "AIRLOCK_MULTIPART_THRESHOLD" | "AIRLOCK_PART_SIZE" => "5242880",
                    _ => "1",
                }
                .to_owned(),
            )
        }));
        assert!(read(&env).is_ok());
        let mut read_names = seen.borrow().clone();
        read_names.sort();
        let mut declared: Vec<String> = declared.iter().map(|n| (*n).to_owned()).collect();
        declared.sort();
        assert_eq!(read_names, declared);
    }

    #[test]
    fn each_config_declares_exactly_the_variables_it_reads() {
        reads_exactly(IngestConfig::from_env, IngestConfig::VARIABLES);
        reads_exactly(PublishConfig::from_env, PublishConfig::VARIABLES);
        reads_exactly(ApiConfig::from_env, ApiConfig::VARIABLES);
        reads_exactly(SweepConfig::from_env, SweepConfig::VARIABLES);
    }

    #[test]
    fn an_unknown_unscannable_policy_is_refused_and_named() {
        let error = ScanConfig::from_env(&env(&[("AIRLOCK_UNSCANNABLE", "ignore")])).unwrap_err();
        assert!(error.to_string().contains("AIRLOCK_UNSCANNABLE"), "{error}");
        let config = ScanConfig::from_env(&env(&[])).unwrap();
        assert_eq!(config.limits, airlock_domain::ScanLimits::default());
        assert_eq!(config.rules_prefix, "rules/");
    }

    #[test]
    fn a_multipart_threshold_past_one_puts_five_gib_is_refused_and_named() {
        let api = |threshold: &'static str| {
            let pairs: &'static [(&str, &str)] = match threshold {
                "5368709121" => &[
                    ("AIRLOCK_TABLE", "t"),
                    ("AIRLOCK_BUCKET", "b"),
                    ("AIRLOCK_MULTIPART_THRESHOLD", "5368709121"),
                ],
                "5368709120" => &[
                    ("AIRLOCK_TABLE", "t"),
                    ("AIRLOCK_BUCKET", "b"),
                    ("AIRLOCK_MULTIPART_THRESHOLD", "5368709120"),
                ],
                _ => &[("AIRLOCK_TABLE", "t"), ("AIRLOCK_BUCKET", "b")],
            };
            ApiConfig::from_env(&env(pairs))
        };
        let error = api("5368709121").unwrap_err();
        assert_eq!(
            error.to_string(),
            "environment variable AIRLOCK_MULTIPART_THRESHOLD=\"5368709121\" is invalid: expected 5242880 to 5368709120 bytes"
        );
        assert_eq!(api("5368709120").unwrap().multipart_threshold, 5 << 30);
        assert_eq!(api("unset").unwrap().part_size, 16 << 20);
    }

    #[test]
    fn unknown_trust_roots_are_refused_and_named() {
        let error = PublishConfig::from_env(&env(&[
            ("AIRLOCK_TABLE", "t"),
            ("AIRLOCK_BUS", "b"),
            ("AIRLOCK_TLS_ROOTS", "mozilla"),
        ]))
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "environment variable AIRLOCK_TLS_ROOTS=\"mozilla\" is invalid: expected amazon or system"
        );
    }

    #[test]
    fn absent_optional_variables_take_their_default() {
        // Defaults that are neither zero nor the type's `Default`, so a lookup that
        // ignores the default (or swaps it for `T::default()`) is caught.
        let env = env(&[
            ("AIRLOCK_UPLOAD_WINDOW_SECS", "60"),
            ("AIRLOCK_SCAN_TIMEOUT_SECS", "  "),
        ]);
        assert_eq!(
            env.seconds_or("AIRLOCK_UPLOAD_WINDOW_SECS", Duration::from_secs(7))
                .unwrap(),
            Duration::from_secs(60),
            "a set variable wins over the default"
        );
        assert_eq!(env.parsed_or("AIRLOCK_RETENTION_DAYS", 30u32).unwrap(), 30);
        assert_eq!(
            env.seconds_or("AIRLOCK_SWEEP_EVERY_SECS", Duration::from_secs(300))
                .unwrap(),
            Duration::from_secs(300)
        );
        assert_eq!(
            env.seconds_or("AIRLOCK_SCAN_TIMEOUT_SECS", Duration::from_secs(9))
                .unwrap(),
            Duration::from_secs(9),
            "a blank value counts as absent"
        );
    }
}
