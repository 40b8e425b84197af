//! One JSON object per log line, flat, as CloudWatch Logs Insights queries it best:
//! `timestamp`, `level`, `target`, `message`, then the fields of every span the event
//! happened in (outermost first: the invocation's `request_id`, `function`,
//! `cold_start`; a file's `tenant` and `file_id`), then the event's own fields.
//!
//! Events on [`METRICS_TARGET`] are not logged as such: they become CloudWatch
//! Embedded Metric Format lines ([`crate::metrics`]), with the span's function as
//! the `FunctionName` dimension and its other fields as properties.
//!
//! A string that looks like a presigned URL (an S3 or local signature in its query)
//! is replaced before it is written: a URL that grants access must never sit in a log.

use std::io::Write;

use serde_json::{Map, Value, json};
use tracing::{
    Event, Subscriber,
    field::{Field, Visit},
    span,
};
use tracing_subscriber::{
    EnvFilter, Layer, filter::LevelFilter, fmt::MakeWriter, layer::Context, registry::LookupSpan,
};

use crate::metrics::{FUNCTION_DIMENSION, METRICS_TARGET, Measurements, NAMESPACE, emf_documents};

/// The span field that names the function (the metrics' `FunctionName` dimension).
pub const FUNCTION_FIELD: &str = "function";

/// What a presigned URL's value is replaced by.
pub const REDACTED_URL: &str = "[presigned URL redacted]";

/// Query parameters that make a URL a bearer credential.
const SIGNATURE_MARKERS: &[&str] = &["X-Amz-Signature", "X-Amz-Credential", "X-Airlock-Signature"];

/// The log level: `RUST_LOG` when set (a developer's explicit filter), else Lambda's
/// `AWS_LAMBDA_LOG_LEVEL` (the function's `LoggingConfig.ApplicationLogLevel`), else
/// INFO. Metric events pass at any level: a quiet log must not lose the metrics.
pub fn env_filter(rust_log: Option<&str>, lambda_level: Option<&str>) -> EnvFilter {
    let level = match lambda_level.map(str::to_ascii_uppercase).as_deref() {
        Some("TRACE") => LevelFilter::TRACE,
        Some("DEBUG") => LevelFilter::DEBUG,
        Some("WARN") => LevelFilter::WARN,
        Some("ERROR" | "FATAL") => LevelFilter::ERROR,
        _ => LevelFilter::INFO,
    };
    let base = rust_log
        .filter(|v| !v.trim().is_empty())
        .map_or_else(|| level.to_string(), str::to_owned);
    EnvFilter::builder()
        .with_default_directive(level.into())
        .parse_lossy(format!("{base},{METRICS_TARGET}=info"))
}

/// The layer that writes the lines.
pub struct JsonLines<W> {
    writer: W,
    default_function: String,
}

impl<W> JsonLines<W> {
    /// Lines to `writer`; metrics outside any function's span are attributed to
    /// `default_function`.
    pub fn new(writer: W, default_function: impl Into<String>) -> Self {
        Self {
            writer,
            default_function: default_function.into(),
        }
    }
}

/// A span's fields, kept in its extensions.
struct SpanFields(Map<String, Value>);

impl<S, W> Layer<S> for JsonLines<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Map::new();
        attrs.record(&mut JsonVisitor(&mut fields));
        span.extensions_mut().insert(SpanFields(fields));
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(SpanFields(fields)) = extensions.get_mut::<SpanFields>() {
            values.record(&mut JsonVisitor(fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let context = scope_fields(event, &ctx);
        let mut fields = Map::new();
        event.record(&mut JsonVisitor(&mut fields));
        let lines = if event.metadata().target() == METRICS_TARGET {
            self.metric_lines(&fields, context)
        } else {
            vec![log_line(event, context, fields)]
        };
        let mut writer = self.writer.make_writer();
        for line in lines {
            // A log that cannot be written has nowhere to report that; carry on.
            let _ = writeln!(writer, "{line}");
        }
    }
}

impl<W> JsonLines<W> {
    fn metric_lines(
        &self,
        fields: &Map<String, Value>,
        mut context: Map<String, Value>,
    ) -> Vec<Value> {
        let raw = fields
            .get("measurements")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let measurements = match Measurements::from_json(raw) {
            Ok(measurements) => measurements,
            Err(error) => {
                return vec![json!({
                    "timestamp": now_rfc3339(),
                    "level": "ERROR",
                    "target": METRICS_TARGET,
                    "message": "metric event dropped",
                    "error": airlock_domain::error_chain(&error),
                })];
            }
        };
        let function = match context.remove(FUNCTION_FIELD) {
            Some(Value::String(name)) => name,
            _ => self.default_function.clone(),
        };
        emf_documents(
            NAMESPACE,
            chrono::Utc::now().timestamp_millis(),
            &[(FUNCTION_DIMENSION, &function)],
            &measurements,
            &context,
        )
    }
}

/// The fields of every span around `event`, outermost first, inner ones winning.
fn scope_fields<S>(event: &Event<'_>, ctx: &Context<'_, S>) -> Map<String, Value>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let mut merged = Map::new();
    if let Some(scope) = ctx.event_scope(event) {
        for span in scope.from_root() {
            if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>() {
                for (name, value) in fields {
                    merged.insert(name.clone(), value.clone());
                }
            }
        }
    }
    merged
}

fn log_line(event: &Event<'_>, context: Map<String, Value>, fields: Map<String, Value>) -> Value {
    let metadata = event.metadata();
    let mut line = Map::new();
    line.insert("timestamp".into(), json!(now_rfc3339()));
    line.insert("level".into(), json!(metadata.level().as_str()));
    line.insert("target".into(), json!(metadata.target()));
    line.extend(context);
    line.extend(fields);
    Value::Object(line)
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Whether `text` holds a presigned URL.
pub fn looks_presigned(text: &str) -> bool {
    SIGNATURE_MARKERS.iter().any(|marker| text.contains(marker))
}

fn scrubbed(text: String) -> Value {
    if looks_presigned(&text) {
        json!(REDACTED_URL)
    } else {
        json!(text)
    }
}

/// Records fields as JSON values; `Debug` and `Display` values as their text.
struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), json!(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), json!(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), json!(value));
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        let value = u64::try_from(value).map_or_else(|_| json!(value.to_string()), |v| json!(v));
        self.0.insert(field.name().to_owned(), value);
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        let value = i64::try_from(value).map_or_else(|_| json!(value.to_string()), |v| json!(v));
        self.0.insert(field.name().to_owned(), value);
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), json!(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().to_owned(), scrubbed(value.to_owned()));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.insert(
            field.name().to_owned(),
            scrubbed(airlock_domain::error_chain(value)),
        );
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), scrubbed(format!("{value:?}")));
    }
}

/// For this crate's own tests: this crate's layer writing to `writer` at every level,
/// as the thread's default until the guard drops. (`airlock_testkit::LogBuffer::capture`
/// does the same for other crates' tests, but through the `airlock-telemetry` those
/// tests link, which in a unit test is not the copy under test.)
#[cfg(test)]
pub(crate) fn capture<W>(writer: W, default_function: &str) -> tracing::subscriber::DefaultGuard
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::layer::SubscriberExt;
    let subscriber = tracing_subscriber::registry()
        .with(JsonLines::new(writer, default_function).with_filter(LevelFilter::TRACE));
    tracing::subscriber::set_default(subscriber)
}

#[cfg(test)]
mod tests {
    use airlock_testkit::LogBuffer;

    use super::*;
    use crate::metrics::{Metric, spec::validate};

    #[test]
    fn a_log_line_carries_the_fields_of_every_enclosing_span() {
        let logs = LogBuffer::new();
        let _guard = capture(logs.clone(), "fallback");
        let invocation = tracing::info_span!(
            "invocation",
            request_id = "req-7",
            function = "airlock-ingest",
            cold_start = true
        );
        let _in = invocation.enter();
        let file = tracing::info_span!("file", tenant = "demo", file_id = "01ABC");
        let _file = file.enter();
        tracing::info!(status = "CLEAN", elapsed_ms = 7_u128, "file verified");

        let line = &logs.lines()[0];
        assert_eq!(line["message"], "file verified");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["request_id"], "req-7");
        assert_eq!(line["function"], "airlock-ingest");
        assert_eq!(line["cold_start"], true);
        assert_eq!(line["tenant"], "demo");
        assert_eq!(line["file_id"], "01ABC");
        assert_eq!(line["status"], "CLEAN");
        assert_eq!(line["elapsed_ms"], 7);
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn a_metric_event_becomes_an_emf_line_with_the_function_as_dimension() {
        let logs = LogBuffer::new();
        let _guard = capture(logs.clone(), "fallback");
        let span = tracing::info_span!(
            "invocation",
            request_id = "req-8",
            function = "airlock-publish"
        );
        let _in = span.enter();
        Measurements::new()
            .count(Metric::EventsPublished, 2)
            .count(Metric::EventsFailed, 0)
            .emit();

        let line = &logs.lines()[0];
        validate(line).unwrap();
        assert_eq!(line["FunctionName"], "airlock-publish");
        assert_eq!(line["request_id"], "req-8");
        assert_eq!(line["EventsPublished"], 2.0);
        assert_eq!(line.get("function"), None);
        assert_eq!(line.get("message"), None);
    }

    #[test]
    fn a_metric_outside_any_span_is_attributed_to_the_default_function() {
        let logs = LogBuffer::new();
        let _guard = capture(logs.clone(), "airlock-stack");
        Measurements::new().count(Metric::ColdStart, 1).emit();
        let line = &logs.lines()[0];
        validate(line).unwrap();
        assert_eq!(line["FunctionName"], "airlock-stack");
    }

    #[test]
    fn a_presigned_url_is_redacted_wherever_it_is_logged() {
        let logs = LogBuffer::new();
        let _guard = capture(logs.clone(), "f");
        let url = "https://b.s3.amazonaws.com/k?X-Amz-Credential=AK&X-Amz-Signature=abc";
        let span = tracing::info_span!("s", upload = url);
        let _in = span.enter();
        tracing::info!(url, debugged = ?url, "{url}");
        let text = logs.text();
        assert!(!text.contains("X-Amz-Signature"), "{text}");
        assert_eq!(logs.lines()[0]["url"], REDACTED_URL);
        assert_eq!(logs.lines()[0]["upload"], REDACTED_URL);
        assert_eq!(logs.lines()[0]["message"], REDACTED_URL);
    }

    #[test]
    fn the_level_comes_from_rust_log_then_lambda_then_info() {
        let filter = |rust_log, lambda| env_filter(rust_log, lambda).max_level_hint();
        assert_eq!(filter(None, None), Some(LevelFilter::INFO));
        assert_eq!(filter(None, Some("DEBUG")), Some(LevelFilter::DEBUG));
        assert_eq!(
            filter(Some("trace"), Some("WARN")),
            Some(LevelFilter::TRACE)
        );
        // WARN for everything else, INFO still for metric events.
        assert_eq!(filter(None, Some("WARN")), Some(LevelFilter::INFO));
    }

    #[test]
    fn a_quiet_level_still_writes_metrics() {
        use tracing_subscriber::layer::SubscriberExt;
        // Both ways a deployment makes the log quiet: Lambda's level, and a developer's
        // RUST_LOG (which replaces that level, so it must not replace the metrics too).
        for (rust_log, lambda) in [(None, Some("ERROR")), (Some("error"), Some("DEBUG"))] {
            let logs = LogBuffer::new();
            let subscriber = tracing_subscriber::registry()
                .with(JsonLines::new(logs.clone(), "f").with_filter(env_filter(rust_log, lambda)));
            tracing::subscriber::with_default(subscriber, || {
                tracing::info!("not written");
                tracing::warn!("not written either");
                tracing::error!("written");
                Measurements::new().count(Metric::FilesExpired, 1).emit();
            });
            let lines = logs.lines();
            let case = format!("RUST_LOG={rust_log:?} AWS_LAMBDA_LOG_LEVEL={lambda:?}: {lines:?}");
            assert_eq!(lines.len(), 2, "{case}");
            assert_eq!(lines[0]["message"], "written", "{case}");
            assert_eq!(lines[1]["FilesExpired"], 1.0, "{case}");
        }
    }
}
