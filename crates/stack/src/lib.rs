//! The embedded local stack: one process on 127.0.0.1 that behaves like the deployed
//! Airlock and runs the same four handlers, fed with synthesized AWS events.
//!
//! - [`console`]: the page at `/` (upload, files, usage, live event log) and its
//!   local-only, read-only `/local/events`.
//! - [`gateway`]: the HTTP API. Checks the dev token (standing in for API Gateway's
//!   JWT authorizer), turns requests into HTTP API v2 events for the api handler.
//! - [`objects`]: the presigned PUT and GET endpoints, checked like S3 checks them; a
//!   completed PUT emits an S3 `ObjectCreated` event to ingest.
//! - [`notifications`]: delivers those S3 events to ingest with Lambda's async retries,
//!   then a dead-letter file.
//! - [`pump`]: delivers the catalog's change log, in order and in batches, to publish as
//!   DynamoDB stream events, honouring `batchItemFailures`, keeping its position in
//!   the database, and dead-lettering a record that keeps failing.
//! - [`schedule`]: runs sweep on an interval with a scheduled event.
//! - [`token`]: the dev tokens.
//! - [`invocations`]: each function's invocation context (request id, cold start).

pub mod config;
pub mod console;
pub mod gateway;
pub mod invocations;
pub mod notifications;
pub mod objects;
pub mod pump;
pub mod schedule;
pub mod token;

mod dead_letter;
mod start;

pub use config::StackConfig;
pub use start::{RunningStack, StackError, start};
