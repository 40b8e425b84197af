//! One function's invocations in one process: each runs in a span that puts its
//! request id, the function and whether it is the cold start on every log line, and
//! the cold start reports `ColdStart` and `InitDuration`. Used by the Lambda binaries
//! and by the local stack, which drives the same handlers.

use std::{
    sync::{
        OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use crate::metrics::{Measurements, Metric};

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

#[cfg(test)]
mod tests {
    use airlock_testkit::LogBuffer;

    use super::*;
    use crate::{logging::capture, metrics::spec::validate};

    #[test]
    fn only_the_first_invocation_is_a_cold_start_and_it_reports_the_init_duration() {
        let logs = LogBuffer::new();
        let _guard = capture(logs.clone(), "unused");
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
