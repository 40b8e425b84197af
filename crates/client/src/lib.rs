//! A typed async client of Airlock's public API (`functions/api/openapi.json`): create
//! an upload, presign and list its parts, complete or abort it, read, list, download,
//! delete and re-scan files, and read the tenant's counters.
//!
//! The request and answer bodies are the api's own (`airlock-wire`), so client and
//! server cannot drift apart. Every failure is one [`ClientError`]; an answer in
//! `application/problem+json` becomes [`ClientError::Problem`] with its status, title
//! and detail.

mod client;
mod error;
mod transfer;

pub use airlock_wire as wire;
pub use client::{Client, ListFilter};
pub use error::ClientError;
