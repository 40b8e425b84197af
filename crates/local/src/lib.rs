//! Airlock's ports on embedded storage, for the local stack and for tests.
//!
//! - [`FsObjectStore`]: objects as files under a folder, status tags beside them, and
//!   presigned URLs that the local stack's HTTP server checks like S3 does.
//! - [`SqliteCatalog`]: the catalog, the usage ledger and a change log written in the
//!   same transaction as every catalog change, read back as DynamoDB stream records.
//! - [`JsonlEventBus`]: the event bus as an append-only JSON-lines file.
//! - [`DirRuleSource`]: scanning rules from a folder, re-read on every check.
//! - [`SystemClock`], re-exported (the clock tests move is `airlock_testkit`'s).
//! - [`hmac_sha256`]: the one HMAC key set-up the store's URLs and the stack's tokens share.
//!
//! Nothing here is linked into the Lambda binaries.

mod bus;
mod catalog;
mod error;
mod objects;
mod rules;
mod signing;

pub use airlock_domain::ports::SystemClock;
pub use bus::{JsonlEventBus, read_bus_file};
pub use catalog::SqliteCatalog;
pub use error::{GrantError, LocalError};
pub use objects::{
    CHUNK_SIZE, FileChunks, FsObjectStore, Grant, ObjectWriter, PartGrant, PartWriter,
};
pub use rules::DirRuleSource;
pub use signing::hmac_sha256;
