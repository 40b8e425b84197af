//! The embedded local stack: one process on 127.0.0.1 that behaves like the deployed
//! Airlock and runs the same four handlers, fed with synthesized AWS events.
//!
//! - [`http`]: everything served over HTTP, one router: the API gateway (dev token
//!   in place of API Gateway's JWT authorizer, requests as HTTP API v2 events for the
//!   api handler), the presigned object endpoints S3 would serve (a completed PUT
//!   emits an S3 `ObjectCreated` event to ingest), and the console page at `/`.
//! - [`notifications`]: delivers those S3 events to ingest with Lambda's async retries,
//!   then a dead-letter file.
//! - [`pump`]: delivers the catalog's change log, in order and in batches, to publish as
//!   DynamoDB stream events, honouring `batchItemFailures`, keeping its position in
//!   the database, and dead-lettering a record that keeps failing.
//! - [`schedule`]: runs sweep on an interval with a scheduled event.
//! - [`token`]: the dev tokens; `stack.json` in the data folder holds the URL and one
//!   for tenant `demo`, for the `airlock` command.
//! - [`invocations`]: each function's invocation context (request id, cold start).

pub mod config;
pub mod http;
pub mod invocations;
pub mod notifications;
pub mod pump;
pub mod schedule;
pub mod token;

mod dead_letter;
mod stack_file;
mod start;

pub use config::StackConfig;
pub use start::{RunningStack, StackError, start};
