//! What every Lambda binary does before and around its handler: JSON logs, and
//! errors reported to the runtime with their whole source chain.

use lambda_runtime::Diagnostic;

/// JSON log lines filtered by `RUST_LOG` (INFO when unset), as CloudWatch reads them.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::builder()
                .with_default_directive(tracing_subscriber::filter::LevelFilter::INFO.into())
                .from_env_lossy(),
        )
        .with_current_span(false)
        .without_time()
        .init();
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
