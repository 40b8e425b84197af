//! The four functions as this one process hosts them: each has its own invocation
//! context, so the stack's log lines carry the same request id, function name and
//! cold-start flag as on Lambda, and its metric lines the same `FunctionName`
//! dimension (the binary's name here). The first invocation of each in the process
//! is its cold start.

use std::sync::LazyLock;

use airlock_telemetry::Invocations;

/// The api function.
pub static API: LazyLock<Invocations> = LazyLock::new(|| Invocations::start("airlock-api"));
/// The ingest function.
pub static INGEST: LazyLock<Invocations> = LazyLock::new(|| Invocations::start("airlock-ingest"));
/// The publish function.
pub static PUBLISH: LazyLock<Invocations> = LazyLock::new(|| Invocations::start("airlock-publish"));
/// The sweep function.
pub static SWEEP: LazyLock<Invocations> = LazyLock::new(|| Invocations::start("airlock-sweep"));

/// Marks the start of the init phase of every function (call before wiring them).
pub fn starting() {
    for function in [&API, &INGEST, &PUBLISH, &SWEEP] {
        LazyLock::force(function);
    }
}

/// Marks the end of the init phase of every function (call once they are wired).
pub fn ready() {
    for function in [&API, &INGEST, &PUBLISH, &SWEEP] {
        function.ready();
    }
}

/// A request id for an invocation the stack makes (Lambda's are UUIDs; any unique
/// string serves).
pub fn request_id() -> String {
    ulid::Ulid::new().to_string()
}
