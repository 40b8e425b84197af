//! End-to-end tests of the local stack: real HTTP on 127.0.0.1, real files and SQLite,
//! the four handlers wired as `make run` wires them.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

mod carry_over;
mod console;
mod encoding;
mod flow;
mod helpers;
mod multipart;
mod orphans;
mod presigned;
#[path = "../common/process.rs"]
mod process;
mod replays;
mod restart;
mod scanning;
