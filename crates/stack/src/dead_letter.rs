//! Dead-letter files: where an event goes when every retry failed, so nothing is
//! dropped silently (the local stand-in for a Lambda on-failure destination).

use std::{io::Write, path::Path};

/// Appends one JSON line to `path`, durably.
pub(crate) fn append(path: &Path, entry: &serde_json::Value) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(format!("{entry}\n").as_bytes())?;
    file.sync_data()
}
