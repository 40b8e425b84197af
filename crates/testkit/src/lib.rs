//! What Airlock's tests share, written once: a dev-dependency of the crates whose
//! tests need it (and a dependency of the fuzz harness, test code too), never a
//! dependency of anything deployed.
//!
//! - [`samples`]: the bytes tests upload (a 1×1 PNG, an ELF header, the EICAR test
//!   file, assembled at run time so no source file is the signature), zips of them,
//!   and varied filler no rule matches.
//! - [`clock`]: a clock that stands still until a test moves it, and the instant the
//!   fixtures are dated.
//! - [`scanning`]: the scanning a deployment without rules of its own has, one that
//!   reads a test's rules folder, a plain scan of bytes, and the peak memory a memory
//!   test compares.
//! - [`events`]: API Gateway HTTP API (v2) events as the JWT authorizer passes them.
//! - [`logs`]: log lines kept in memory, for tests that read what a handler logged.
//! - `http` (feature `http`): asking the api for an upload and sending the bytes, over
//!   HTTP.
//! - [`uploads`]: PENDING records, uploads stored as after the presigned PUT, and a
//!   record read back.

pub mod clock;
pub mod events;
#[cfg(feature = "http")]
pub mod http;
pub mod logs;
pub mod samples;
pub mod scanning;
pub mod uploads;

pub use clock::FixedClock;
pub use logs::LogBuffer;
