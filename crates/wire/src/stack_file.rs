//! What the local stack leaves in its data folder so a client on the same machine
//! finds it without being told: `stack.json`, readable by its owner only (it holds a
//! bearer token).

use serde::{Deserialize, Serialize};

/// The file's name inside the stack's data folder (`.airlock/` by default).
pub const STACK_FILE_NAME: &str = "stack.json";

/// `stack.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackFile {
    /// Where the API listens, `http://127.0.0.1:PORT`.
    pub url: String,
    /// A dev token (for `tenant`), valid for 24 hours from the start.
    pub token: String,
    /// Whose token it is.
    pub tenant: String,
    /// The stack's process id, so a client can tell a stack that stopped.
    pub pid: u32,
}
