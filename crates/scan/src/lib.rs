//! Airlock's content scanner, built on YARA-X.
//!
//! - [`adversarial`]: uploader-controlled worst cases for the default rules, and
//!   community-style rule sets, for the rules benchmark and its regression test.
//! - [`rules`]: the default ruleset that ships with Airlock, and compiling it together
//!   with a deployment's own rules into one versioned set.
//! - [`live`]: the compiled set a function keeps between invocations, recompiled only
//!   when the rules' version changes, and kept as it was when new rules do not compile.
//! - [`spool`]: collects an object's bytes during ingest's single pass, in memory up
//!   to a budget and in a temporary file past it.
//! - [`scanner`]: runs a compiled set over spooled bytes and reports what matched.
//! - [`mapped`]: scans a spooled file through a memory map that gives its pages back
//!   as the scan goes, so resident memory does not grow with the object.
//! - [`precompiled`]: a compiled ruleset kept as bytes beside its rules, so a cold
//!   start reads it back instead of compiling again.
//! - [`pass`]: the one read of an object that hashes, sniffs and scans it.
//! - [`windows`]: scans an object past the scan limit in overlapping windows as it
//!   streams, so no size goes unscanned and memory stays at one window.
//! - [`expand`]: opens containers (zip, tar, gzip, bzip2, xz, zstd, PDF streams, OLE)
//!   and scans each member, within the archive budgets.

pub mod adversarial;
pub mod expand;
mod in_place;
pub mod live;
pub mod mapped;
pub mod pass;
pub mod precompiled;
pub mod rules;
pub mod scanner;
pub mod spool;
pub mod windows;

pub use live::LiveRules;
pub use pass::{Budget, Pass, PassError, PassOutcome, Paused, Scanning};
pub use rules::{BUILTIN_RULES, CompiledRules, LeftOut, Origin, RulesError, compile};
pub use scanner::{Reach, ScanError, ScanSettings, Subject, scan};
pub use spool::{Spool, Spooled};
