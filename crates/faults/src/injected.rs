//! The error a point armed to fail returns (mapped into the layer's own error type),
//! and the record that a point fired.

use std::io::Write;

/// Where the stack appends the name of every point that fires, one a line, when this
/// variable names a file: so a test sees the fault happened even in a process that
/// died of it.
pub const FIRED_ENV: &str = "AIRLOCK_FAULTS_FIRED";

/// A fault injected at a named point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("fault injected at {point}")]
pub struct Injected {
    /// The point's name, as in [`crate::POINTS`].
    pub point: &'static str,
}

impl Injected {
    /// The fault at `point`, recorded as fired: a log line, and a line in the file
    /// [`FIRED_ENV`] names.
    pub fn fired(point: &'static str) -> Self {
        tracing::warn!(point, "fault injected");
        if let Some(path) = std::env::var_os(FIRED_ENV) {
            // Appended with one write: a process killed right after keeps the line.
            let appended = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut file| file.write_all(format!("{point}\n").as_bytes()));
            if let Err(error) = appended {
                tracing::error!(point, %error, "could not record a fired fault point");
            }
        }
        Self { point }
    }
}

/// For the local adapters, whose errors wrap I/O errors.
impl From<Injected> for std::io::Error {
    fn from(injected: Injected) -> Self {
        std::io::Error::other(injected)
    }
}
