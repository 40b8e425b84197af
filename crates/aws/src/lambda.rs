//! What a Lambda binary needs from the runtime beyond telemetry (which is
//! `airlock_telemetry`'s): a handler error reported with its whole source chain.

use lambda_runtime::Diagnostic;

/// A handler error as the runtime reports it: a stable type name and the message
/// with every cause. Returning it makes Lambda retry the event (and then send it to
/// the on-failure destination).
pub fn diagnostic(error_type: &str, error: &dyn std::error::Error) -> Diagnostic {
    Diagnostic {
        error_type: error_type.to_owned(),
        error_message: airlock_domain::error_chain(error),
    }
}
