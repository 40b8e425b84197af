//! What the exit status means, so a CI job can branch on it.

use std::process::ExitCode;

/// Every file CLEAN (or, without waiting, sent), or the command did what it was asked.
pub const SUCCESS: u8 = 0;
/// At least one file was REJECTED or INFECTED (the table says which and why).
pub const REFUSED: u8 = 1;
/// The command line or the configuration is wrong (clap uses 2 as well).
pub const USAGE: u8 = 2;
/// The server could not be reached, broke off, or failed (5xx): try again later.
pub const UNAVAILABLE: u8 = 3;
/// The API refused the request (4xx), or a local file could not be read or written.
pub const FAILED: u8 = 4;

/// The text `--help` ends with.
pub const EXIT_CODES_HELP: &str = "\
Exit status:
  0  success: every file CLEAN (or sent, with --no-wait)
  1  some file was REJECTED or INFECTED
  2  usage or configuration error (no URL, no token)
  3  the server could not be reached, broke off, or failed (5xx)
  4  the API refused a request (4xx), a file could not be read or written,
     or a download did not match the catalog's SHA-256

Configuration: AIRLOCK_URL and AIRLOCK_TOKEN (or --url, --token); without them,
the local stack's .airlock/stack.json in this folder or a parent (make run writes it).";

/// How a command that ran to its end went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// All good.
    Success,
    /// Some file was refused by verification.
    Refused,
    /// Some step failed with this exit code (the others were reported).
    Failed(u8),
}

impl Outcome {
    /// The process's exit code.
    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(match self {
            Self::Success => SUCCESS,
            Self::Refused => REFUSED,
            Self::Failed(code) => code,
        })
    }

    /// The worse of two outcomes: a failure beats a refusal beats success.
    pub fn worst(self, other: Self) -> Self {
        match (self, other) {
            (Self::Failed(code), _) | (_, Self::Failed(code)) => Self::Failed(code),
            (Self::Refused, _) | (_, Self::Refused) => Self::Refused,
            _ => Self::Success,
        }
    }
}
