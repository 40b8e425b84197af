//! Everything `make bench` can vary, in one place: the subjects it starts (each
//! function's binary, environment and cold-start event), the sizes, rates and counts,
//! and whether ingest scans. `scripts/bench.sh` sets the paths; every knob has an
//! environment variable so a shorter or longer run needs no code change.

use std::{path::PathBuf, time::Duration};

use serde_json::{Value, json};

/// A folder of extra rules for the local backend's ingest (the stack's rules folder).
/// Ingest always scans with the default rules; the Lambda binary reads a
/// deployment's own rules from its bucket, so there it changes nothing.
/// The variable that sets ingest's scan limit (`crates/aws/src/config.rs`).
pub const MAX_SCAN_BYTES_ENV: &str = "AIRLOCK_MAX_SCAN_BYTES";
/// Set for an `ingest-local` child held to a CPU share: the milliseconds it waits
/// after its start-up before it times the handler (see `cpu_share::SETTLE`).
pub const SETTLE_MS_ENV: &str = "AIRLOCK_BENCH_SETTLE_MS";

/// What a run measures and where it finds what it runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the binaries under test are (`target/bench-release`).
    pub bin_dir: PathBuf,
    /// Where `make build` puts the arm64 artifacts (`target/lambda`), if it ran.
    pub lambda_dir: PathBuf,
    /// The Python peer's bootstrap (`bench/python-peer/bootstrap`).
    pub python_peer: PathBuf,
    /// The load tool (`BENCH_OHA`, else `oha` on the PATH; `make bench` installs it
    /// and sets the variable).
    pub oha: PathBuf,
    /// Scratch space for objects, data folders and logs (several GiB at 1 GiB objects).
    pub scratch: PathBuf,
    /// Where the Markdown report goes.
    pub results_dir: PathBuf,
    /// Spawns per subject for the cold start (≥ 20; 40 by default, since 20 spawns of
    /// 4–19 ms processes gave medians 17–56 % apart in two runs of one commit).
    pub spawns: usize,
    /// Object sizes for throughput and memory, in MiB.
    pub sizes_mib: Vec<u64>,
    /// Repeats of each local-backend and `sha256sum` measurement (median reported).
    pub repeats: usize,
    /// Request rates for the api load, per second.
    pub api_rates: Vec<u32>,
    /// How long each rate is held.
    pub api_duration: Duration,
    /// Uploads in the end-to-end run.
    pub uploads: usize,
    /// Uploads in flight at once in the end-to-end run.
    pub upload_concurrency: usize,
    /// ingest's scan limit in this run: objects up to this size are scanned (the
    /// deployed default, 512 MiB, would reject the 1 GiB object unscanned).
    pub max_scan_bytes: u64,
}

impl Settings {
    /// Reads the `BENCH_*` variables, with the defaults the issue asks for.
    pub fn from_env() -> Result<Self, String> {
        let path = |name: &str, default: &str| {
            PathBuf::from(std::env::var(name).unwrap_or_else(|_| default.to_owned()))
        };
        Ok(Self {
            bin_dir: path("BENCH_BIN_DIR", "target/bench-release"),
            lambda_dir: path("BENCH_LAMBDA_DIR", "target/lambda"),
            python_peer: path("BENCH_PYTHON_PEER", "bench/python-peer/bootstrap"),
            oha: path("BENCH_OHA", "oha"),
            scratch: path("BENCH_SCRATCH", "target/bench-scratch"),
            results_dir: path("BENCH_RESULTS_DIR", "bench/results"),
            spawns: number("BENCH_SPAWNS", 120)?,
            sizes_mib: list("BENCH_SIZES_MIB", &[1, 100, 1024])?,
            repeats: number("BENCH_REPEATS", 3)?,
            api_rates: list("BENCH_API_RATES", &[200, 500, 1000])?,
            api_duration: Duration::from_secs(number("BENCH_API_SECONDS", 30)?),
            uploads: number("BENCH_UPLOADS", 1000)?,
            upload_concurrency: number("BENCH_UPLOAD_CONCURRENCY", 16)?,
            max_scan_bytes: number::<u64>("BENCH_MAX_SCAN_MIB", 2048)? * 1024 * 1024,
        })
    }

    /// Rounds of the local-backend measurement for an object of `size_mib`: `repeats`,
    /// times up to five for objects below 1 GiB, and never fewer than seven. A 100 MiB
    /// ingest takes about 0.1 s, so a few milliseconds of scheduling on a shared
    /// machine move one round's ratio by several percent; three rounds gave medians of
    /// 0.65× and 0.80× in two runs of the same code (2026-12-03), and at 1 GiB 0.81×
    /// and 0.95× (2026-12-04). More rounds cost seconds (about 9 s a round at 1 GiB,
    /// most of it sha256sum's).
    pub fn rounds_for(&self, size_mib: u64) -> usize {
        const SMALL_OBJECT_FACTOR: u64 = 5;
        const FEWEST: usize = 7;
        let factor = (1024 / size_mib.max(1)).clamp(1, SMALL_OBJECT_FACTOR);
        (self.repeats.max(1) * factor as usize).max(FEWEST)
    }

    /// Extra environment for ingest: the scan limit of this run.
    pub fn ingest_env(&self) -> Vec<(&'static str, String)> {
        vec![(MAX_SCAN_BYTES_ENV, self.max_scan_bytes.to_string())]
    }
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match std::env::var(name) {
        Ok(raw) => raw
            .trim()
            .parse()
            .map_err(|_| format!("{name}={raw:?} is not a whole number")),
        Err(_) => Ok(default),
    }
}

fn list<T: std::str::FromStr + Clone>(name: &str, default: &[T]) -> Result<Vec<T>, String> {
    match std::env::var(name) {
        Ok(raw) => raw
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse()
                    .map_err(|_| format!("{name}={raw:?}: {s:?} is not a whole number"))
            })
            .collect(),
        Err(_) => Ok(default.to_vec()),
    }
}

/// The four Airlock functions, in report order.
pub const FUNCTIONS: [&str; 4] = ["ingest", "publish", "api", "sweep"];

/// One process the cold start measures.
#[derive(Debug, Clone)]
pub struct Subject {
    /// Its name in the report.
    pub name: &'static str,
    /// What to execute.
    pub program: PathBuf,
    /// The environment it needs beyond the Lambda variables.
    pub env: Vec<(&'static str, String)>,
    /// The event its first invocation gets.
    pub cold_event: Value,
    /// Whether the report compares the others with it.
    pub role: Role,
}

/// What a subject stands for in the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// One of Airlock's functions: held to the targets.
    Function,
    /// The hello-world baseline.
    Hello,
    /// The Python peer of ingest.
    Peer,
    /// One of Airlock's functions with a setting changed, shown beside it for
    /// comparison in the same run; not held to the targets.
    Variant,
}

/// The names a deployment on the AWS emulator has.
#[derive(Debug, Clone)]
pub struct Names {
    /// The DynamoDB table.
    pub table: String,
    /// The S3 bucket.
    pub bucket: String,
    /// The EventBridge bus.
    pub bus: String,
}

/// The environment each function reads at cold start (the `VARIABLES` of its config
/// in `crates/aws/src/config.rs`; optional ones keep their defaults).
pub fn function_env(
    function: &str,
    names: &Names,
    settings: &Settings,
) -> Vec<(&'static str, String)> {
    let table = ("AIRLOCK_TABLE", names.table.clone());
    let bucket = ("AIRLOCK_BUCKET", names.bucket.clone());
    match function {
        "ingest" => [vec![table, bucket], settings.ingest_env()].concat(),
        "publish" => vec![table, ("AIRLOCK_BUS", names.bus.clone())],
        _ => vec![table, bucket],
    }
}

/// The first invocation of each function: the cheapest event it answers without a
/// call to AWS, so the figure is the function's own start-up, not the emulator's
/// latency. Every scheduled sweep queries the table, so sweep gets an EventBridge
/// event of another kind, which it refuses (an error answer) without a call.
pub fn cold_event(function: &str) -> Value {
    match function {
        "ingest" => s3_event("bench-bucket", "outside/the/upload/layout"),
        "publish" => json!({ "Records": [] }),
        "api" => api_get("/v1/files/not-a-file-id"),
        "sweep" => json!({
            "version": "0", "id": "bench", "detail-type": "Airlock Bench Start-up",
            "source": "airlock.bench", "account": "123456789012",
            "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
            "resources": [], "detail": {}
        }),
        _ => json!({}),
    }
}

/// Every subject of the cold start: the four functions, the hello-world binary and
/// the Python peer (which gets ingest's event and environment).
pub fn subjects(settings: &Settings, names: &Names) -> Vec<Subject> {
    let mut subjects: Vec<Subject> = FUNCTIONS
        .iter()
        .map(|&f| Subject {
            name: f,
            program: settings.bin_dir.join(format!("airlock-{f}")),
            env: function_env(f, names, settings),
            cold_event: cold_event(f),
            role: Role::Function,
        })
        .collect();
    let mut system_roots = function_env("publish", names, settings);
    system_roots.push(("AIRLOCK_TLS_ROOTS", "system".to_owned()));
    subjects.push(Subject {
        name: "publish with AIRLOCK_TLS_ROOTS=system (the SDK's default trust store)",
        program: settings.bin_dir.join("airlock-publish"),
        env: system_roots,
        cold_event: cold_event("publish"),
        role: Role::Variant,
    });
    subjects.push(Subject {
        name: "hello (lambda_runtime)",
        program: settings.bin_dir.join("airlock-bench-hello"),
        env: Vec::new(),
        cold_event: json!({}),
        role: Role::Hello,
    });
    subjects.push(Subject {
        name: "python peer (ingest)",
        program: settings.python_peer.clone(),
        env: function_env("ingest", names, settings),
        cold_event: cold_event("ingest"),
        role: Role::Peer,
    });
    subjects
}

/// An S3 ObjectCreated notification for one object.
pub fn s3_event(bucket: &str, key: &str) -> Value {
    json!({ "Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-01-01T00:00:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": { "principalId": "bench" },
        "requestParameters": { "sourceIPAddress": "127.0.0.1" },
        "responseElements": {},
        "s3": {
            "s3SchemaVersion": "1.0", "configurationId": "bench",
            "bucket": { "name": bucket, "ownerIdentity": { "principalId": "bench" },
                        "arn": format!("arn:aws:s3:::{bucket}") },
            "object": { "key": key, "size": 0, "sequencer": "0" }
        }
    }]})
}

/// An API Gateway HTTP API (v2) GET with the authorizer's claims for tenant `bench`.
fn api_get(path: &str) -> Value {
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": { "accept": "application/json" },
        "requestContext": {
            "accountId": "123456789012", "apiId": "bench", "domainName": "bench",
            "domainPrefix": "bench",
            "http": { "method": "GET", "path": path, "protocol": "HTTP/1.1",
                      "sourceIp": "127.0.0.1", "userAgent": "airlock-bench" },
            "requestId": "bench", "routeKey": "$default", "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 1767225600000i64,
            "authorizer": { "jwt": { "claims": { "tenant_id": "bench" }, "scopes": null } }
        },
        "isBase64Encoded": false
    })
}

#[cfg(test)]
mod tests {
    use airlock_ingest::{Ingest, RecordOutcome};
    use airlock_local::{FsObjectStore, SqliteCatalog, SystemClock};

    use super::*;

    #[tokio::test]
    async fn the_ingest_cold_event_is_answered_without_reading_any_object() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let ingest = Ingest::new(
            SqliteCatalog::in_memory().expect("an in-memory catalog"),
            FsObjectStore::new(dir.path(), "http://127.0.0.1:1", b"k".to_vec()),
            SystemClock,
            airlock_domain::Policy::default(),
            crate::throughput::scanning(u64::MAX).expect("the default rules compile"),
        );
        let report = ingest
            .handle_payload(cold_event("ingest"))
            .await
            .expect("the cold event is a valid S3 notification");
        assert!(matches!(
            report.records.as_slice(),
            [RecordOutcome::Skipped { .. }]
        ));
    }

    #[test]
    fn small_objects_get_five_times_the_rounds_and_none_fewer_than_seven() {
        let settings = Settings {
            repeats: 3,
            ..Settings::from_env().expect("the defaults parse")
        };
        let rounds: Vec<usize> = [1, 100, 1024, 10240]
            .iter()
            .map(|&mib| settings.rounds_for(mib))
            .collect();
        assert_eq!(rounds, [15, 15, 7, 7]);
    }

    #[test]
    fn the_scan_limit_of_the_run_goes_to_ingest_only() {
        let settings = Settings {
            max_scan_bytes: 7,
            ..Settings::from_env().expect("the defaults parse")
        };
        let names = Names {
            table: "t".into(),
            bucket: "b".into(),
            bus: "e".into(),
        };
        assert!(
            function_env("ingest", &names, &settings).contains(&(MAX_SCAN_BYTES_ENV, "7".into()))
        );
        assert!(
            !function_env("api", &names, &settings)
                .iter()
                .any(|(k, _)| *k == MAX_SCAN_BYTES_ENV)
        );
    }
}
