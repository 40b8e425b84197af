//! What every Lambda binary does before and around its handler: JSON logs with the
//! invocation's context on every line, the cold-start metric, and errors reported to
//! the runtime with their whole source chain; and the steps of the cold start timed in
//! their own spans (`make bench` reads them).

use std::{
    sync::{
        OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use lambda_runtime::Diagnostic;
use std::future::Future;
use tracing::Instrument;
use tracing_subscriber::{Layer, layer::SubscriberExt, util::SubscriberInitExt};

use crate::{
    logging::{JsonLines, env_filter},
    metrics::{Measurements, Metric},
};

/// JSON log lines and EMF metric lines on stdout, where Lambda sends them to
/// CloudWatch Logs. The level comes from `RUST_LOG`, else `AWS_LAMBDA_LOG_LEVEL`,
/// else INFO (see [`env_filter`]); `function` names metrics emitted outside an
/// invocation.
pub fn init_tracing(function: &str) {
    init_tracing_to(function, std::io::stdout);
}

/// [`init_tracing`] with the lines going to `writer` (the local stack keeps stdout
/// for what it prints for people and scripts, and logs to stderr).
pub fn init_tracing_to<W>(function: &str, writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let var = |name| std::env::var(name).ok();
    let filter = env_filter(
        var("RUST_LOG").as_deref(),
        var("AWS_LAMBDA_LOG_LEVEL").as_deref(),
    );
    tracing_subscriber::registry()
        .with(JsonLines::new(writer, function).with_filter(filter))
        .init();
}

/// The function's name: Lambda's `AWS_LAMBDA_FUNCTION_NAME` (the deployed name, which
/// is what the template's alarms and dashboard use), else `fallback` (the binary).
pub fn function_name(fallback: &str) -> String {
    std::env::var("AWS_LAMBDA_FUNCTION_NAME")
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| fallback.to_owned())
}

/// One function's invocations in this process: the first is the cold start.
pub struct Invocations {
    function: String,
    started: Instant,
    init: OnceLock<Duration>,
    cold: AtomicBool,
}

impl Invocations {
    /// Call first thing at process start: the init duration is measured from here.
    pub fn start(function: impl Into<String>) -> Self {
        Self {
            function: function.into(),
            started: Instant::now(),
            init: OnceLock::new(),
            cold: AtomicBool::new(true),
        }
    }

    /// The function's name.
    pub fn function(&self) -> &str {
        &self.function
    }

    /// Call when the handler is built and the process is about to wait for its first
    /// event: that is the end of the init phase.
    pub fn ready(&self) {
        let _ = self.init.set(self.started.elapsed());
    }

    /// The span one invocation runs in: every log line in it carries the request id,
    /// the function and whether this is the cold start. The cold start also emits
    /// `ColdStart` and `InitDuration`.
    pub fn span(&self, request_id: &str) -> tracing::Span {
        let cold = self.cold.swap(false, Ordering::SeqCst);
        let span = tracing::info_span!(
            "invocation",
            request_id,
            function = %self.function,
            cold_start = cold,
        );
        if cold {
            let init = *self.init.get_or_init(|| self.started.elapsed());
            span.in_scope(|| {
                tracing::info!(init_ms = init.as_secs_f64() * 1000.0, "cold start");
                Measurements::new()
                    .count(Metric::ColdStart, 1)
                    .duration(Metric::InitDuration, init)
                    .emit();
            });
        }
        span
    }
}

/// A handler error as the runtime reports it: a stable type name and the message
/// with every cause. Returning it makes Lambda retry the event (and then send it to
/// the on-failure destination).
pub fn diagnostic(error_type: &str, error: &dyn std::error::Error) -> Diagnostic {
    Diagnostic {
        error_type: error_type.to_owned(),
        error_message: airlock_domain::error_chain(error),
    }
}

/// The message of the log line each cold-start step ends with; `make bench` reads
/// these lines to report what a binary does before its first invocation.
pub const INIT_STEP_MESSAGE: &str = "init step";

/// Runs one step of the cold start (reading config, building clients, loading rules)
/// in an `init` span named after it, and logs how long it took in microseconds.
pub fn init_step<T>(step: &'static str, work: impl FnOnce() -> T) -> T {
    let _span = tracing::info_span!("init", step).entered();
    let started = Instant::now();
    let done = work();
    log_step(step, started);
    done
}

/// [`init_step`] for a step that awaits (loading the SDK configuration).
pub async fn init_step_async<T>(step: &'static str, work: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let done = work.instrument(tracing::info_span!("init", step)).await;
    log_step(step, started);
    done
}

fn log_step(step: &'static str, started: Instant) {
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    tracing::info!(step, micros, "{INIT_STEP_MESSAGE}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{logging::LogBuffer, metrics::spec::validate};

    #[test]
    fn only_the_first_invocation_is_a_cold_start_and_it_reports_the_init_duration() {
        let logs = LogBuffer::new();
        let _guard = logs.capture("unused");
        let invocations = Invocations::start("airlock-api");
        std::thread::sleep(Duration::from_millis(5));
        invocations.ready();

        let first = invocations.span("req-1");
        first.in_scope(|| tracing::info!("handled"));
        let second = invocations.span("req-2");
        second.in_scope(|| tracing::info!("handled"));

        let lines = logs.lines();
        let metric = lines.iter().find(|l| l.get("_aws").is_some()).unwrap();
        validate(metric).unwrap();
        assert_eq!(metric["FunctionName"], "airlock-api");
        assert_eq!(metric["ColdStart"], 1.0);
        assert!(metric["InitDuration"].as_f64().unwrap() >= 5.0);
        assert_eq!(metric["request_id"], "req-1");
        let handled: Vec<_> = lines.iter().filter(|l| l["message"] == "handled").collect();
        assert_eq!(handled[0]["cold_start"], true);
        assert_eq!(handled[0]["request_id"], "req-1");
        assert_eq!(handled[1]["cold_start"], false);
        assert_eq!(handled[1]["request_id"], "req-2");
        assert_eq!(lines.iter().filter(|l| l.get("_aws").is_some()).count(), 1);
    }
}
