//! Airlock's metrics, written as CloudWatch Embedded Metric Format (EMF) log lines:
//! CloudWatch Logs extracts them into metrics, so no function makes an extra API call.
//!
//! Handlers (the same code on Lambda and on the local stack) only say what they
//! measured, with [`Measurements::emit`]. That sends one `tracing` event on
//! [`METRICS_TARGET`]; the log layer ([`crate::logging`]) turns it into EMF lines,
//! adding the `FunctionName` dimension and the request id, tenant and file id of the
//! span the event happened in. So the handlers need no writer and no function name,
//! and a test captures metrics the way it captures logs.
//!
//! [`emf_documents`] is the formatter: pure, no clock, no I/O.
//!
//! Why not a crate: `metrics_cloudwatch_embedded` (the one maintained EMF emitter for
//! the `metrics` facade) keeps one process-wide recorder with fixed dimensions, but
//! the local stack runs four functions in one process, each needing its own
//! `FunctionName`; its Lambda integration also wraps `lambda_http` and `tower`, which
//! our binaries do not otherwise build.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// The `tracing` target of metric events; the log layer writes them as EMF.
pub const METRICS_TARGET: &str = "airlock_metrics";

/// The CloudWatch namespace of every Airlock metric.
pub const NAMESPACE: &str = "Airlock";

/// The one dimension: the function's name (on AWS the deployed name, as in the
/// `AWS/Lambda` namespace, so one stage's metrics never mix with another's).
pub const FUNCTION_DIMENSION: &str = "FunctionName";

/// EMF allows at most this many metrics per directive, and values per metric.
pub const MAX_PER_DOCUMENT: usize = 100;

/// A CloudWatch unit (the subset Airlock uses; the names are EMF's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A number of things.
    Count,
    /// A size in bytes (CloudWatch `Bytes`, not kibibytes).
    Bytes,
    /// A duration in whole milliseconds (CloudWatch `Milliseconds`).
    Milliseconds,
}

impl Unit {
    /// The name EMF expects.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Bytes => "Bytes",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// Every metric Airlock emits. The template's alarms and dashboard name them too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// A file verified CLEAN.
    FilesAccepted,
    /// A file REJECTED by the policy.
    FilesRejected,
    /// A file INFECTED (a malware rule matched).
    FilesInfected,
    /// An upload never completed, moved to EXPIRED.
    FilesExpired,
    /// A file moved to DELETED (by its owner or by retention).
    FilesDeleted,
    /// Bytes of objects ingest verified.
    BytesIngested,
    /// Ingest's time for one object: read, judge, write, tag.
    IngestDuration,
    /// The time spent inspecting an object's bytes.
    ScanDuration,
    /// Domain events the bus accepted.
    EventsPublished,
    /// Domain events the bus refused or could not take.
    EventsFailed,
    /// Stream records reported back in `batchItemFailures`.
    StreamRecordsFailed,
    /// A cold start.
    ColdStart,
    /// From process start to the first invocation.
    InitDuration,
    /// Deployment rule files left out of a loaded ruleset because they do not
    /// compile (emitted by `airlock_scan::live`, which names it
    /// `airlock_scan::live::RULE_FILES_LEFT_OUT`).
    RuleFilesLeftOut,
    /// Bytes under the upload prefix no live record accounts for, removed by sweep.
    OrphansRemoved,
    /// Multipart uploads no PENDING record accounts for, aborted by sweep.
    OrphanUploadsAborted,
    /// CLEAN records whose bytes are gone (reported by sweep, never re-statused).
    CleanObjectsMissing,
}

impl Metric {
    /// Every metric, in the order of the catalogue.
    pub const ALL: [Metric; 17] = [
        Metric::FilesAccepted,
        Metric::FilesRejected,
        Metric::FilesInfected,
        Metric::FilesExpired,
        Metric::FilesDeleted,
        Metric::BytesIngested,
        Metric::IngestDuration,
        Metric::ScanDuration,
        Metric::EventsPublished,
        Metric::EventsFailed,
        Metric::StreamRecordsFailed,
        Metric::ColdStart,
        Metric::InitDuration,
        Metric::RuleFilesLeftOut,
        Metric::OrphansRemoved,
        Metric::OrphanUploadsAborted,
        Metric::CleanObjectsMissing,
    ];

    /// The metric's name in CloudWatch.
    pub fn name(self) -> &'static str {
        match self {
            Metric::FilesAccepted => "FilesAccepted",
            Metric::FilesRejected => "FilesRejected",
            Metric::FilesInfected => "FilesInfected",
            Metric::FilesExpired => "FilesExpired",
            Metric::FilesDeleted => "FilesDeleted",
            Metric::BytesIngested => "BytesIngested",
            Metric::IngestDuration => "IngestDuration",
            Metric::ScanDuration => "ScanDuration",
            Metric::EventsPublished => "EventsPublished",
            Metric::EventsFailed => "EventsFailed",
            Metric::StreamRecordsFailed => "StreamRecordsFailed",
            Metric::ColdStart => "ColdStart",
            Metric::RuleFilesLeftOut => "RuleFilesLeftOut",
            Metric::InitDuration => "InitDuration",
            Metric::OrphansRemoved => "OrphansRemoved",
            Metric::OrphanUploadsAborted => "OrphanUploadsAborted",
            Metric::CleanObjectsMissing => "CleanObjectsMissing",
        }
    }

    /// Its unit.
    pub fn unit(self) -> Unit {
        match self {
            Metric::BytesIngested => Unit::Bytes,
            Metric::IngestDuration | Metric::ScanDuration | Metric::InitDuration => {
                Unit::Milliseconds
            }
            _ => Unit::Count,
        }
    }

    /// The metric with this name.
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// What a handler measured, to be emitted as one metric event. Values of the same
/// metric accumulate (EMF keeps each, so CloudWatch computes the statistics).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measurements {
    values: BTreeMap<Metric, Vec<f64>>,
    properties: Map<String, Value>,
}

impl Measurements {
    /// Nothing measured yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one value of `metric`.
    pub fn add(mut self, metric: Metric, value: f64) -> Self {
        self.values.entry(metric).or_default().push(value);
        self
    }

    /// Adds a count.
    pub fn count(self, metric: Metric, n: usize) -> Self {
        // Counts here are small (records in a batch); f64 holds them exactly.
        #[allow(clippy::cast_precision_loss)]
        self.add(metric, n as f64)
    }

    /// Adds a duration in milliseconds, with microsecond precision.
    pub fn duration(self, metric: Metric, elapsed: std::time::Duration) -> Self {
        self.add(metric, elapsed.as_secs_f64() * 1000.0)
    }

    /// A searchable property on the metric line (never a dimension: a tenant per
    /// dimension value would be a custom metric per tenant).
    pub fn property(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.properties.insert(name.to_owned(), value.into());
        self
    }

    /// Whether nothing was measured.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Emits the measurements as one event on [`METRICS_TARGET`] (nothing if empty).
    pub fn emit(self) {
        if self.is_empty() {
            return;
        }
        tracing::info!(target: METRICS_TARGET, measurements = %self.to_json());
    }

    /// The wire form of the metric event: `{"values": {name: [..]}, "properties": {..}}`.
    pub fn to_json(&self) -> Value {
        let values: Map<String, Value> = self
            .values
            .iter()
            .map(|(metric, values)| (metric.name().to_owned(), json!(values)))
            .collect();
        json!({ "values": values, "properties": self.properties })
    }

    /// Reads the wire form back; metric names not in the catalogue are refused, so a
    /// typo cannot become a silent property.
    pub fn from_json(raw: &str) -> Result<Measurements, MetricsError> {
        let wire: Value = serde_json::from_str(raw).map_err(MetricsError::NotJson)?;
        let mut measurements = Measurements::new();
        if let Some(values) = wire["values"].as_object() {
            for (name, list) in values {
                let metric =
                    Metric::from_name(name).ok_or_else(|| MetricsError::Unknown(name.clone()))?;
                for value in list.as_array().into_iter().flatten() {
                    let value = value
                        .as_f64()
                        .ok_or_else(|| MetricsError::NotANumber(name.clone()))?;
                    measurements = measurements.add(metric, value);
                }
            }
        }
        if let Some(properties) = wire["properties"].as_object() {
            measurements.properties = properties.clone();
        }
        Ok(measurements)
    }

    /// Properties set by the handler.
    pub fn properties(&self) -> &Map<String, Value> {
        &self.properties
    }
}

/// A metric event that cannot be turned into EMF.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The event's payload is not JSON.
    #[error("metric event is not JSON")]
    NotJson(#[source] serde_json::Error),
    /// A name outside the catalogue.
    #[error("unknown metric {0:?}")]
    Unknown(String),
    /// A value that is not a number.
    #[error("metric {0:?} has a value that is not a number")]
    NotANumber(String),
}

/// The EMF documents (one JSON object each, one log line each) for `measurements`:
/// every metric under `namespace` with the one dimension set `dimensions`, the
/// values as top-level members, then `properties` (context first, the handler's
/// own after, and never over a metric or dimension).
///
/// EMF caps a directive at 100 metrics and a metric at 100 values; beyond that the
/// measurements are split over several documents.
pub fn emf_documents(
    namespace: &str,
    timestamp_ms: i64,
    dimensions: &[(&str, &str)],
    measurements: &Measurements,
    context: &Map<String, Value>,
) -> Vec<Value> {
    let rounds = measurements
        .values
        .values()
        .map(Vec::len)
        .max()
        .unwrap_or(0);
    let mut documents = Vec::new();
    for round in 0..rounds.div_ceil(MAX_PER_DOCUMENT) {
        let range = round * MAX_PER_DOCUMENT..(round + 1) * MAX_PER_DOCUMENT;
        let slices: Vec<(Metric, &[f64])> = measurements
            .values
            .iter()
            .filter_map(|(metric, values)| {
                let end = range.end.min(values.len());
                (range.start < end).then(|| (*metric, &values[range.start..end]))
            })
            .collect();
        for chunk in slices.chunks(MAX_PER_DOCUMENT) {
            documents.push(document(
                namespace,
                timestamp_ms,
                dimensions,
                chunk,
                context,
                &measurements.properties,
            ));
        }
    }
    documents
}

fn document(
    namespace: &str,
    timestamp_ms: i64,
    dimensions: &[(&str, &str)],
    metrics: &[(Metric, &[f64])],
    context: &Map<String, Value>,
    properties: &Map<String, Value>,
) -> Value {
    let mut root = Map::new();
    let reserved = |name: &str| {
        name == "_aws"
            || dimensions.iter().any(|(d, _)| *d == name)
            || Metric::from_name(name).is_some()
    };
    for (name, value) in context.iter().chain(properties) {
        if !reserved(name) {
            root.insert(name.clone(), value.clone());
        }
    }
    for (name, value) in dimensions {
        root.insert((*name).to_owned(), json!(value));
    }
    for (metric, values) in metrics {
        let value = match values {
            [one] => json!(one),
            many => json!(many),
        };
        root.insert(metric.name().to_owned(), value);
    }
    let definitions: Vec<Value> = metrics
        .iter()
        .map(|(metric, _)| json!({"Name": metric.name(), "Unit": metric.unit().as_str()}))
        .collect();
    let dimension_set: Vec<&str> = dimensions.iter().map(|(name, _)| *name).collect();
    root.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [dimension_set],
                "Metrics": definitions,
            }],
        }),
    );
    Value::Object(root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::spec::validate;

    fn context() -> Map<String, Value> {
        let mut context = Map::new();
        context.insert("request_id".into(), json!("req-1"));
        context.insert("tenant".into(), json!("demo"));
        context
    }

    #[test]
    fn a_document_follows_the_embedded_metric_format() {
        let measurements = Measurements::new()
            .count(Metric::FilesAccepted, 1)
            .add(Metric::BytesIngested, 2048.0)
            .add(Metric::ScanDuration, 1.5);
        let docs = emf_documents(
            NAMESPACE,
            1_700_000_000_000,
            &[(FUNCTION_DIMENSION, "airlock-ingest")],
            &measurements,
            &context(),
        );
        assert_eq!(docs.len(), 1);
        let doc = &docs[0];
        validate(doc).unwrap();
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000_i64);
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Airlock");
        assert_eq!(directive["Dimensions"], json!([["FunctionName"]]));
        assert_eq!(doc["FunctionName"], "airlock-ingest");
        assert_eq!(doc["FilesAccepted"], 1.0);
        assert_eq!(doc["BytesIngested"], 2048.0);
        assert_eq!(doc["request_id"], "req-1");
        let units: BTreeMap<String, String> = directive["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["Name"].as_str().unwrap().to_owned(),
                    m["Unit"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(units["FilesAccepted"], "Count");
        assert_eq!(units["BytesIngested"], "Bytes");
        assert_eq!(units["ScanDuration"], "Milliseconds");
    }

    #[test]
    fn repeated_values_of_one_metric_become_an_array() {
        let measurements = Measurements::new()
            .add(Metric::IngestDuration, 3.0)
            .add(Metric::IngestDuration, 4.0);
        let docs = emf_documents(
            NAMESPACE,
            1,
            &[(FUNCTION_DIMENSION, "f")],
            &measurements,
            &Map::new(),
        );
        validate(&docs[0]).unwrap();
        assert_eq!(docs[0]["IngestDuration"], json!([3.0, 4.0]));
    }

    #[test]
    fn more_than_a_hundred_values_are_split_over_documents() {
        let measurements = (0..250).fold(Measurements::new(), |m, i| {
            m.add(Metric::IngestDuration, f64::from(i))
                .add(Metric::FilesAccepted, 1.0)
        });
        let docs = emf_documents(
            NAMESPACE,
            1,
            &[(FUNCTION_DIMENSION, "f")],
            &measurements,
            &Map::new(),
        );
        assert_eq!(docs.len(), 3);
        let mut seen = 0;
        for doc in &docs {
            validate(doc).unwrap();
            seen += doc["IngestDuration"].as_array().map_or(1, Vec::len);
        }
        assert_eq!(seen, 250);
    }

    #[test]
    fn properties_never_overwrite_metrics_or_dimensions() {
        let measurements = Measurements::new()
            .count(Metric::FilesRejected, 1)
            .property("FilesRejected", "oops")
            .property("FunctionName", "spoofed")
            .property("reason", "type_mismatch");
        let docs = emf_documents(
            NAMESPACE,
            1,
            &[(FUNCTION_DIMENSION, "f")],
            &measurements,
            &Map::new(),
        );
        validate(&docs[0]).unwrap();
        assert_eq!(docs[0]["FilesRejected"], 1.0);
        assert_eq!(docs[0]["FunctionName"], "f");
        assert_eq!(docs[0]["reason"], "type_mismatch");
    }

    #[test]
    fn nothing_measured_gives_no_document() {
        let docs = emf_documents(NAMESPACE, 1, &[], &Measurements::new(), &context());
        assert!(docs.is_empty());
    }

    #[test]
    fn measurements_survive_their_wire_form() {
        let measurements = Measurements::new()
            .count(Metric::EventsPublished, 3)
            .add(Metric::ScanDuration, 0.25)
            .property("tenant", "demo");
        let back = Measurements::from_json(&measurements.to_json().to_string()).unwrap();
        assert_eq!(back, measurements);
    }

    #[test]
    fn an_unknown_metric_name_is_refused_on_the_wire() {
        let raw = r#"{"values":{"FilesAcepted":[1]},"properties":{}}"#;
        assert!(matches!(
            Measurements::from_json(raw),
            Err(MetricsError::Unknown(name)) if name == "FilesAcepted"
        ));
    }

    #[test]
    fn every_metric_name_round_trips_and_is_unique() {
        let names: std::collections::HashSet<_> = Metric::ALL.iter().map(|m| m.name()).collect();
        assert_eq!(names.len(), Metric::ALL.len());
        for metric in Metric::ALL {
            assert_eq!(Metric::from_name(metric.name()), Some(metric));
        }
    }

    #[test]
    fn the_spec_check_refuses_documents_that_break_the_format() {
        let good = emf_documents(
            NAMESPACE,
            1,
            &[(FUNCTION_DIMENSION, "f")],
            &Measurements::new().count(Metric::ColdStart, 1),
            &Map::new(),
        )
        .remove(0);
        validate(&good).unwrap();
        let broken = |edit: fn(&mut Value)| {
            let mut doc = good.clone();
            edit(&mut doc);
            validate(&doc).unwrap_err()
        };
        broken(|d| d["_aws"]["Timestamp"] = json!("now"));
        broken(|d| d["_aws"]["CloudWatchMetrics"][0]["Namespace"] = json!(""));
        broken(|d| {
            d.as_object_mut().unwrap().remove("ColdStart");
        });
        broken(|d| {
            d.as_object_mut().unwrap().remove("FunctionName");
        });
        broken(|d| d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = json!("Furlongs"));
        broken(|d| d["ColdStart"] = json!("one"));
        broken(|d| {
            d["_aws"]["CloudWatchMetrics"][0]["Metrics"] = json!(
                (0..101)
                    .map(|i| json!({"Name": format!("M{i}")}))
                    .collect::<Vec<_>>()
            )
        });
    }
}

/// The EMF specification's rules, as a checker the tests (here and in the log layer's
/// tests) run over real output.
#[cfg(test)]
pub(crate) mod spec {
    use serde_json::Value;

    /// The units CloudWatch accepts.
    const UNITS: &[&str] = &[
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    ];

    /// Checks one document against the specification; says which rule it breaks.
    pub(crate) fn validate(doc: &Value) -> Result<(), String> {
        let root = doc.as_object().ok_or("root is not an object")?;
        let aws = root["_aws"].as_object().ok_or("_aws is not an object")?;
        aws.get("Timestamp")
            .and_then(Value::as_i64)
            .filter(|t| *t >= 0)
            .ok_or("_aws.Timestamp is not epoch milliseconds")?;
        let directives = aws
            .get("CloudWatchMetrics")
            .and_then(Value::as_array)
            .ok_or("_aws.CloudWatchMetrics is not an array")?;
        for directive in directives {
            directive["Namespace"]
                .as_str()
                .filter(|ns| !ns.is_empty() && ns.len() <= 255)
                .ok_or("Namespace is not a non-empty string")?;
            for set in directive["Dimensions"]
                .as_array()
                .ok_or("Dimensions is not an array")?
            {
                let set = set.as_array().ok_or("a dimension set is not an array")?;
                if set.len() > 30 {
                    return Err("a dimension set has more than 30 dimensions".into());
                }
                for name in set {
                    let name = name.as_str().ok_or("a dimension name is not a string")?;
                    root.get(name)
                        .and_then(Value::as_str)
                        .ok_or(format!("dimension {name} has no string member"))?;
                }
            }
            let metrics = directive["Metrics"]
                .as_array()
                .ok_or("Metrics is not an array")?;
            if metrics.len() > 100 {
                return Err("more than 100 metrics in a directive".into());
            }
            for metric in metrics {
                let name = metric["Name"]
                    .as_str()
                    .filter(|n| !n.is_empty() && n.len() <= 1024)
                    .ok_or("a metric Name is not a non-empty string")?;
                if let Some(unit) = metric.get("Unit") {
                    let unit = unit.as_str().ok_or("a Unit is not a string")?;
                    if !UNITS.contains(&unit) {
                        return Err(format!("unit {unit} is not a CloudWatch unit"));
                    }
                }
                match root.get(name) {
                    Some(Value::Number(_)) => {}
                    Some(Value::Array(values))
                        if values.len() <= 100 && values.iter().all(Value::is_number) => {}
                    _ => return Err(format!("metric {name} has no numeric member")),
                }
            }
        }
        Ok(())
    }
}
