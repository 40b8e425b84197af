//! Airlock's telemetry, with no AWS SDK in it: the handler libraries and the local
//! stack use it as the Lambda binaries do, so none of them compiles an AWS client.
//!
//! - [`logging`]: flat JSON log lines with the invocation's context, and the sink
//!   that writes metric events as EMF.
//! - [`metrics`]: the metric catalogue and the EMF formatter.
//! - [`init_tracing`]: the subscriber a process installs first.
//! - [`Invocations`]: the span each invocation runs in, and the cold-start metric.
//! - [`init_step`]: the cold start's steps, each timed (`make bench` reads them).

mod init_step;
mod invocation;
pub mod logging;
pub mod metrics;
mod subscriber;

pub use init_step::{INIT_STEP_MESSAGE, init_step, init_step_async};
pub use invocation::{Invocations, function_name};
pub use subscriber::{init_tracing, init_tracing_to};
