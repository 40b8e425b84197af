//! The command's errors: each says what is wrong and what to do, and maps to an exit
//! status (see `exit`).

use std::path::PathBuf;

use airlock_client::ClientError;

use crate::exit;

/// Why a command stopped.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// No URL anywhere.
    #[error(
        "no API URL: set AIRLOCK_URL or pass --url; for the local stack, start it with \
         `make run` (it writes .airlock/stack.json, found from this folder or a parent)"
    )]
    NoUrl,
    /// No token for the URL.
    #[error(
        "no token for {url}: set AIRLOCK_TOKEN or pass --token (the local stack's dev \
         token is in .airlock/stack.json, which `make run` writes)"
    )]
    NoToken {
        /// The URL that lacks one.
        url: String,
    },
    /// The URL given is not one.
    #[error("the API URL is unusable")]
    BadUrl(#[source] ClientError),
    /// `.airlock/stack.json` is there but unusable.
    #[error("{} cannot be read ({reason}): restart the stack with `make run`", path.display())]
    StackFile {
        /// Where it is.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A call to the API or the store failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The local stack whose `stack.json` gave the URL does not answer.
    #[error(
        "the local stack that wrote {} does not answer at {url}: start it again with \
         `make run` in the project folder (or set AIRLOCK_URL for another server)",
        path.display()
    )]
    StackNotRunning {
        /// The `stack.json`.
        path: PathBuf,
        /// Where it said the stack listens.
        url: String,
    },
    /// A local file or folder could not be read.
    #[error("cannot read {}", path.display())]
    Unreadable {
        /// Which.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A local file could not be written.
    #[error("cannot write {}", path.display())]
    Unwritable {
        /// Which.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The bytes downloaded are not the ones the catalog verified.
    #[error(
        "the download of {id} hashes to {actual}, not to {expected} as the catalog says: \
         the partial file was removed; try again"
    )]
    ChecksumMismatch {
        /// The file.
        id: String,
        /// The catalog's SHA-256.
        expected: String,
        /// What arrived.
        actual: String,
    },
    /// A file has no SHA-256 in the catalog yet (not verified).
    #[error("{id} is {status}: only CLEAN files can be downloaded")]
    NotDownloadable {
        /// The file.
        id: String,
        /// Its status.
        status: String,
    },
    /// Verdicts did not come in time.
    #[error("{count} file(s) still PENDING after {secs} s: `airlock wait` them later")]
    WaitTimedOut {
        /// How many.
        count: usize,
        /// How long was waited.
        secs: u64,
    },
    /// A task of the command itself ended without an answer (a bug).
    #[error("an internal task of airlock failed; please report it")]
    TaskFailed {
        /// What the runtime said.
        #[source]
        source: tokio::task::JoinError,
    },
    /// The state kept for resuming could not be used.
    #[error("the resume state in {} is unusable: {reason}", path.display())]
    State {
        /// Where.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl CliError {
    /// The exit status this error ends the command with.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::NoUrl | Self::NoToken { .. } | Self::BadUrl(_) | Self::StackFile { .. } => {
                exit::USAGE
            }
            Self::Client(error) if error.is_refusal() => exit::FAILED,
            Self::Client(_) | Self::StackNotRunning { .. } | Self::WaitTimedOut { .. } => {
                exit::UNAVAILABLE
            }
            Self::Unreadable { .. }
            | Self::Unwritable { .. }
            | Self::ChecksumMismatch { .. }
            | Self::NotDownloadable { .. }
            | Self::State { .. }
            | Self::TaskFailed { .. } => exit::FAILED,
        }
    }

    /// An unreachable URL that came from `stack_file` is the local stack not running.
    pub fn naming_the_stack(self, stack_file: Option<&std::path::Path>) -> Self {
        match (self, stack_file) {
            (Self::Client(ClientError::Unreachable { url, .. }), Some(path)) => {
                Self::StackNotRunning {
                    path: path.to_owned(),
                    url,
                }
            }
            (error, _) => error,
        }
    }

    /// The message with its causes and, where one helps, what to do next.
    pub fn explained(&self) -> String {
        let mut text = airlock_domain::error_chain(self);
        if let Self::Client(ClientError::Unreachable { .. }) = self {
            text.push_str(
                "\n  (for the local stack: start it with `make run` in the project folder)",
            );
        }
        if let Self::Client(ClientError::Problem { problem }) = self
            && problem.status == 401
        {
            text.push_str(
                "\n  (the token was refused: check AIRLOCK_TOKEN or --token; a dev token \
                 lasts 24 h, restart the stack for a new one)",
            );
        }
        text
    }
}
