//! End-to-end tests of the `airlock` command: the built binary against a fresh local
//! stack on 127.0.0.1 (in this process, as `make run` wires it), through a counting
//! proxy where a test needs to see the requests.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

mod commands;
mod errors;
mod helpers;
mod proxy;
mod resume;
mod terminal;
mod upload;
