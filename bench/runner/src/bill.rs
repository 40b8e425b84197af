//! The bill: what Airlock's own AWS charges come to for a million 1 MiB files and for
//! a TiB of 1 GiB files, from this run's measured handler times, the template's memory
//! sizes and the price table in `bench/prices.json`, beside GuardDuty's S3 malware
//! protection and a ClamAV-in-Lambda scanner billed for the same files.
//!
//! Lambda gives a function CPU in proportion to its memory (1,769 MB is one vCPU), so a
//! handler time measured on one core of this machine is stretched by `1769 / memory`
//! below that size: the model assumes CPU-bound work on a core as fast as this one.
//! Ingest spools large objects on a second thread, so the upper bound (twice the
//! one-core figure) is what the scanning-compute target is checked against.

use serde::Deserialize;

use crate::{BenchError, report::Report};

const SECTION: &str = "bill";
const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;
const TIB: u64 = 1024 * GIB;
/// The memory size at which Lambda gives a function one whole vCPU.
const ONE_VCPU_MB: f64 = 1769.0;
/// The size Lambda gives a function whose template sets none.
const LAMBDA_DEFAULT_MB: u64 = 128;

/// The price table, dated; see `bench/prices.json` and BENCHMARKS.md.
#[derive(Debug, Clone, Deserialize)]
pub struct Prices {
    as_of: String,
    region: String,
    lambda_arm64_gb_second: f64,
    lambda_x86_gb_second: f64,
    lambda_request: f64,
    http_api_request: f64,
    dynamodb_write_request_unit: f64,
    dynamodb_read_request_unit: f64,
    s3_put_class_request: f64,
    s3_get_class_request: f64,
    eventbridge_custom_event: f64,
    guardduty_s3_malware_gb: f64,
    guardduty_s3_malware_object: f64,
    clamav_lambda_memory_mb: f64,
    clamav_lambda_seconds_per_file: f64,
}

impl Prices {
    /// Lambda's arm64 price per GB-second.
    pub fn arm64_gb_second(&self) -> f64 {
        self.lambda_arm64_gb_second
    }

    /// The table checked into the repository.
    pub fn checked_in() -> Result<Self, BenchError> {
        serde_json::from_str(include_str!("../../prices.json"))
            .map_err(|e| BenchError::Setup("bench/prices.json", e.to_string()))
    }
}

/// The AWS calls one accepted file costs beyond its own upload, in billed units, as
/// `crates/lambda-emulator/tests/calls_per_file.rs` observes them against the AWS
/// emulator (it fails when the code's calls and `bench/calls-per-file.json` differ).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct CallsPerFile {
    /// api invocations through the HTTP API: create, one status read, one download URL.
    pub api_invocations: f64,
    /// publish invocations: one per stream record (create, verdict) at low traffic;
    /// batching at high traffic makes this smaller.
    pub publish_invocations: f64,
    /// ingest invocations.
    pub ingest_invocations: f64,
    /// DynamoDB write units (transactions at twice their items' units).
    pub dynamodb_write_units: f64,
    /// DynamoDB read units.
    pub dynamodb_read_units: f64,
    /// S3 PUT-class requests (ingest's PutObjectTagging).
    pub s3_put_class: f64,
    /// S3 GET-class requests (ingest's GetObject).
    pub s3_get_class: f64,
    /// EventBridge events (the verdict).
    pub eventbridge_events: f64,
}

impl CallsPerFile {
    /// The observed counts checked into the repository.
    pub fn checked_in() -> Result<Self, BenchError> {
        serde_json::from_str(include_str!("../../calls-per-file.json"))
            .map_err(|e| BenchError::Setup("bench/calls-per-file.json", e.to_string()))
    }
}

/// What the run measured that the bill needs, in seconds on one core of this machine.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    /// ingest's handler time (local backend, median) by object size in bytes.
    pub ingest: Vec<(u64, f64)>,
    /// api's median latency at the lowest rate (a stack round trip: an upper bound of
    /// the handler's own time); publish is billed at the same figure.
    pub api: Option<f64>,
    /// ingest's billed duration for 1 MiB measured at Lambda's CPU share for each
    /// memory size (the memory section: each round rounded up to the millisecond, then
    /// averaged), by size in MB: used instead of the stretch where the template's size
    /// was measured.
    pub at_memory: Vec<(u64, f64)>,
}

impl Measured {
    /// ingest's time for `size`: measured, or scaled linearly from the nearest size
    /// measured (and said so).
    fn ingest_seconds(&self, size: u64) -> Option<(f64, bool)> {
        if let Some((_, s)) = self.ingest.iter().find(|(b, _)| *b == size) {
            return Some((*s, true));
        }
        let (bytes, seconds) = self.ingest.iter().min_by_key(|(b, _)| b.abs_diff(size))?;
        Some((seconds * size as f64 / *bytes as f64, false))
    }
}

/// The template's memory size of each function, in MB.
#[derive(Debug, Clone, Copy)]
pub struct MemorySizes {
    /// ingest's.
    pub ingest: u64,
    publish: u64,
    api: u64,
}

impl MemorySizes {
    /// Read from `infra/template.yaml` (`{Name}Function.Properties.MemorySize`).
    pub fn from_template() -> Result<Self, BenchError> {
        let text = include_str!("../../../infra/template.yaml");
        let docs = yaml_rust2::YamlLoader::load_from_str(text)
            .map_err(|e| BenchError::Setup("infra/template.yaml", e.to_string()))?;
        let doc = docs
            .first()
            .ok_or_else(|| BenchError::Setup("infra/template.yaml", "empty".into()))?;
        let size = |name: &str| {
            doc["Resources"][format!("{name}Function").as_str()]["Properties"]["MemorySize"]
                .as_i64()
                .and_then(|mb| u64::try_from(mb).ok())
                .unwrap_or(LAMBDA_DEFAULT_MB)
        };
        Ok(Self {
            ingest: size("Ingest"),
            publish: size("Publish"),
            api: size("Api"),
        })
    }
}

/// One file mix: how many files of what size.
#[derive(Debug, Clone, Copy)]
struct Mix {
    label: &'static str,
    files: f64,
    size: u64,
}

const MIXES: [Mix; 2] = [
    Mix {
        label: "1 million files of 1 MiB",
        files: 1_000_000.0,
        size: MIB,
    },
    Mix {
        label: "1 TiB of 1 GiB files",
        files: (TIB / GIB) as f64,
        size: GIB,
    },
];

/// Airlock's charges for one mix, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Charges {
    /// ingest's compute at its memory size (the scanning itself).
    pub scanning: f64,
    /// api's and publish's compute.
    pub other_compute: f64,
    /// Lambda and HTTP API request charges.
    pub requests: f64,
    /// DynamoDB read and write units.
    pub dynamodb: f64,
    /// S3 requests beyond the upload itself.
    pub s3: f64,
    /// EventBridge events.
    pub eventbridge: f64,
}

impl Charges {
    /// Every charge Airlock adds.
    pub fn total(&self) -> f64 {
        self.scanning
            + self.other_compute
            + self.requests
            + self.dynamodb
            + self.s3
            + self.eventbridge
    }

    /// The largest charge and its name.
    fn dominant(&self) -> (&'static str, f64) {
        [
            ("scanning compute", self.scanning),
            ("api and publish compute", self.other_compute),
            ("Lambda and HTTP API requests", self.requests),
            ("DynamoDB", self.dynamodb),
            ("S3 requests", self.s3),
            ("EventBridge", self.eventbridge),
        ]
        .into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or(("nothing", 0.0))
    }
}

/// The billed duration of work that takes `seconds` on one core, at `memory_mb`:
/// stretched below one vCPU, rounded up to the millisecond as Lambda bills it.
pub fn billed_seconds(seconds: f64, memory_mb: u64) -> f64 {
    let stretch = (ONE_VCPU_MB / memory_mb as f64).max(1.0);
    rounded_up_to_ms(seconds * stretch)
}

/// `seconds` rounded up to the millisecond, as Lambda bills each invocation.
pub fn rounded_up_to_ms(seconds: f64) -> f64 {
    (seconds * 1000.0).ceil() / 1000.0
}

/// The compute charge of `billed` seconds on arm64 at `memory_mb`.
fn compute(prices: &Prices, billed: f64, memory_mb: u64) -> f64 {
    billed * memory_mb as f64 / 1024.0 * prices.lambda_arm64_gb_second
}

/// Airlock's charges for `files` files whose ingest is billed `ingest_billed` seconds
/// each, and whose api and publish invocations take `api_seconds` each on one core.
pub fn charges(
    prices: &Prices,
    memory: MemorySizes,
    calls: CallsPerFile,
    files: f64,
    ingest_billed: f64,
    api_seconds: f64,
) -> Charges {
    let api_billed = |memory_mb| billed_seconds(api_seconds, memory_mb);
    let per_file_other = calls.api_invocations
        * compute(prices, api_billed(memory.api), memory.api)
        + calls.publish_invocations * compute(prices, api_billed(memory.publish), memory.publish);
    Charges {
        scanning: files * compute(prices, ingest_billed, memory.ingest),
        other_compute: files * per_file_other,
        requests: files
            * ((calls.ingest_invocations + calls.api_invocations + calls.publish_invocations)
                * prices.lambda_request
                + calls.api_invocations * prices.http_api_request),
        dynamodb: files
            * (calls.dynamodb_write_units * prices.dynamodb_write_request_unit
                + calls.dynamodb_read_units * prices.dynamodb_read_request_unit),
        s3: files
            * (calls.s3_put_class * prices.s3_put_class_request
                + calls.s3_get_class * prices.s3_get_class_request),
        eventbridge: files * calls.eventbridge_events * prices.eventbridge_custom_event,
    }
}

/// GuardDuty's S3 malware protection for the same files (decimal GB, as AWS bills).
pub fn guardduty(prices: &Prices, files: f64, size: u64) -> f64 {
    files
        * (size as f64 / 1e9 * prices.guardduty_s3_malware_gb + prices.guardduty_s3_malware_object)
}

/// A ClamAV-in-Lambda scanner at the memory and seconds per file its users report,
/// on x86 (the images those scanners ship).
pub fn clamav(prices: &Prices, files: f64) -> f64 {
    files
        * (prices.clamav_lambda_memory_mb / 1024.0
            * prices.clamav_lambda_seconds_per_file
            * prices.lambda_x86_gb_second
            + prices.lambda_request)
}

fn dollars(amount: f64) -> String {
    if amount >= 100.0 {
        format!("${amount:.0}")
    } else if amount >= 1.0 {
        format!("${amount:.2}")
    } else {
        format!("${amount:.4}")
    }
}

/// Prints the bill of each mix beside its competitors, and the targets of the 1 MiB mix.
pub fn run(measured: &Measured, report: &mut Report) -> Result<(), BenchError> {
    let prices = Prices::checked_in()?;
    let memory = MemorySizes::from_template()?;
    let calls = CallsPerFile::checked_in()?;
    let api_seconds = measured
        .api
        .ok_or_else(|| BenchError::Setup("the bill", "the api section did not run".into()))?;
    for mix in MIXES {
        let (ingest_seconds, exact) = measured.ingest_seconds(mix.size).ok_or_else(|| {
            BenchError::Setup("the bill", "the ingest section did not run".into())
        })?;
        // Measured at the template's CPU share where the memory section ran (it holds
        // every thread of ingest to that share, so the bound is the figure itself);
        // else one core's time stretched, and twice that as the bound.
        let at_share = measured
            .at_memory
            .iter()
            .find(|(mb, _)| *mb == memory.ingest)
            .filter(|_| mix.size == MIB)
            .map(|(_, billed)| *billed);
        let (billed, bound, how) = match at_share {
            Some(billed) => (billed, billed, "measured at its CPU share"),
            None => (
                billed_seconds(ingest_seconds, memory.ingest),
                billed_seconds(2.0 * ingest_seconds, memory.ingest),
                "one core's time stretched to its CPU share",
            ),
        };
        let ours = charges(&prices, memory, calls, mix.files, billed, api_seconds);
        let upper = charges(&prices, memory, calls, mix.files, bound, api_seconds);
        let gd = guardduty(&prices, mix.files, mix.size);
        let clam = clamav(&prices, mix.files);
        let (dominant, dominant_amount) = ours.dominant();
        report.info(
            SECTION,
            format!("Airlock, {}", mix.label),
            format!(
                "{} in all: scanning {} (≤ {} with two cores busy), api+publish compute {}, requests {}, DynamoDB {}, S3 {}, EventBridge {}; most is {dominant} ({:.0} %); ingest {:.1} ms per file on one core{}, billed {:.1} ms at {} MB ({how})",
                dollars(ours.total()),
                dollars(ours.scanning),
                dollars(upper.scanning),
                dollars(ours.other_compute),
                dollars(ours.requests),
                dollars(ours.dynamodb),
                dollars(ours.s3),
                dollars(ours.eventbridge),
                dominant_amount / ours.total() * 100.0,
                ingest_seconds * 1000.0,
                if exact { "" } else { " (scaled from the nearest size measured)" },
                billed * 1000.0,
                memory.ingest,
            ),
        );
        report.info(
            SECTION,
            format!("GuardDuty S3 malware protection, {}", mix.label),
            format!("{} = {:.0}× Airlock", dollars(gd), gd / ours.total()),
        );
        report.info(
            SECTION,
            format!(
                "ClamAV in Lambda (10,240 MB × 25 s per file), {}",
                mix.label
            ),
            format!("{} = {:.0}× Airlock", dollars(clam), clam / ours.total()),
        );
        if mix.size == MIB {
            report.check(
                SECTION,
                "every charge Airlock adds ÷ GuardDuty, 1 MiB mix",
                format!("1/{:.1}", gd / ours.total()),
                "≤ 1/25",
                Some(ours.total() * 25.0 <= gd),
            );
            report.check(
                SECTION,
                "scanning compute ÷ GuardDuty, 1 MiB mix (its upper bound)",
                format!("1/{:.0}", gd / upper.scanning),
                "≤ 1/1000",
                Some(upper.scanning * 1000.0 <= gd),
            );
        }
    }
    report.note(format!(
        "bill: prices of {} ({}) from bench/prices.json; memory sizes from infra/template.yaml (ingest {} MB, publish {} MB, api {} MB); \
         Lambda arm64, billed per ms, with CPU in proportion to memory (1,769 MB = one vCPU), request charges included; \
         calls per file from bench/calls-per-file.json (observed against the AWS emulator by crates/lambda-emulator's calls_per_file test); api and publish billed at api's median latency at the lowest rate ({:.2} ms). \
         Upload PUTs, storage and downloads are the user's own and are left out of every column.",
        prices.as_of,
        prices.region,
        memory.ingest,
        memory.publish,
        memory.api,
        api_seconds * 1000.0,
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

    use super::*;

    #[test]
    fn the_checked_in_price_table_parses_and_is_dated() {
        let prices = Prices::checked_in().unwrap();
        assert_eq!(prices.as_of.len(), "2026-12-01".len());
        assert!(prices.guardduty_s3_malware_gb > 0.0);
    }

    #[test]
    fn guardduty_bills_a_million_one_mib_files_at_its_published_rates() {
        let prices = Prices::checked_in().unwrap();
        let bill = guardduty(&prices, 1e6, MIB);
        // 1,048.576 GB × $0.09 + 1,000 × $0.215.
        assert!((bill - (1048.576 * 0.09 + 215.0)).abs() < 1e-6, "{bill}");
    }

    #[test]
    fn the_observed_calls_per_file_parse_with_every_count() {
        let calls = CallsPerFile::checked_in().unwrap();
        assert!(calls.dynamodb_write_units >= 1.0 && calls.api_invocations >= 1.0);
    }

    #[test]
    fn billed_time_is_stretched_below_one_vcpu_and_rounded_up_to_the_millisecond() {
        assert_eq!(billed_seconds(0.0101, 1769), 0.011);
        assert!((billed_seconds(0.010, 256) - 0.070).abs() < 1e-9);
        assert_eq!(billed_seconds(0.010, 3538), 0.010);
    }

    #[test]
    fn the_template_gives_each_function_its_own_memory_size() {
        let memory = MemorySizes::from_template().unwrap();
        assert!(memory.ingest >= memory.api, "{memory:?}");
        assert!(memory.publish >= LAMBDA_DEFAULT_MB);
    }

    #[test]
    fn an_unmeasured_size_is_scaled_from_the_nearest_one_and_says_so() {
        let measured = Measured {
            ingest: vec![(MIB, 0.01), (100 * MIB, 0.5)],
            api: Some(0.001),
            at_memory: Vec::new(),
        };
        assert_eq!(measured.ingest_seconds(MIB), Some((0.01, true)));
        let (seconds, exact) = measured.ingest_seconds(GIB).unwrap();
        assert!(!exact);
        assert!((seconds - 0.5 * 10.24).abs() < 1e-9);
    }
}
