//! What `airlock upload` remembers between runs, so running the same command again
//! after Ctrl-C, a kill or a lost connection sends only the parts not yet stored.
//!
//! One small JSON file per multipart upload in flight, under the user's state folder
//! (`AIRLOCK_STATE_DIR`, else `$XDG_STATE_HOME/airlock`, else
//! `~/.local/state/airlock`), named by a hash of the file's canonical path. It holds
//! the file id with the size and modification time the upload started from: a file
//! that changed since starts over. Removed once the upload is complete.

use std::{
    path::{Path, PathBuf},
    time::UNIX_EPOCH,
};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::CliError;

/// One upload in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlight {
    /// The file's canonical path.
    pub path: PathBuf,
    /// Its size when the upload started.
    pub size: u64,
    /// Its modification time then, in nanoseconds since the epoch.
    pub modified_ns: u64,
    /// The API it went to.
    pub url: String,
    /// The file id the API gave it.
    pub file_id: String,
}

/// How a local file relates to what was remembered for its path.
#[derive(Debug, PartialEq, Eq)]
pub enum Prior {
    /// Nothing in flight.
    None,
    /// The same bytes were being sent to the same API: resume this id.
    Resume(String),
    /// Something was in flight, but the file (or the API) changed since.
    Changed(InFlight),
}

/// The folder the state lives in.
#[derive(Debug, Clone)]
pub struct StateDir(PathBuf);

impl StateDir {
    /// The user's state folder for airlock (not created until something is saved).
    pub fn locate() -> Self {
        let env = |name| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let folder = env("AIRLOCK_STATE_DIR")
            .or_else(|| env("XDG_STATE_HOME").map(|state| state.join("airlock")))
            .or_else(|| env("HOME").map(|home| home.join(".local/state/airlock")))
            .unwrap_or_else(|| PathBuf::from(".airlock-state"));
        Self(folder)
    }

    /// What was remembered for `current` (a file's canonical path, size, mtime, URL).
    pub fn prior(&self, current: &InFlight) -> Prior {
        let Some(remembered) = self.read(&current.path) else {
            return Prior::None;
        };
        if remembered.size == current.size
            && remembered.modified_ns == current.modified_ns
            && remembered.url == current.url
        {
            Prior::Resume(remembered.file_id)
        } else {
            Prior::Changed(remembered)
        }
    }

    /// Remembers an upload in flight.
    pub fn save(&self, upload: &InFlight) -> Result<(), CliError> {
        let failed = |reason: String| CliError::State {
            path: self.0.clone(),
            reason,
        };
        std::fs::create_dir_all(&self.0).map_err(|e| failed(e.to_string()))?;
        let path = self.entry(&upload.path);
        let temporary = path.with_extension("tmp");
        let bytes = serde_json::to_vec_pretty(upload).map_err(|e| failed(e.to_string()))?;
        std::fs::write(&temporary, bytes).map_err(|e| failed(e.to_string()))?;
        std::fs::rename(&temporary, &path).map_err(|e| failed(e.to_string()))
    }

    /// Forgets the upload of `path` (complete, or abandoned).
    pub fn forget(&self, path: &Path) {
        let _ = std::fs::remove_file(self.entry(path));
    }

    /// A remembered entry; an unreadable one counts as none (the upload starts over).
    fn read(&self, path: &Path) -> Option<InFlight> {
        let bytes = std::fs::read(self.entry(path)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn entry(&self, path: &Path) -> PathBuf {
        let digest = Sha256::digest(path.as_os_str().as_encoded_bytes());
        self.0.join(format!("{}.json", &hex::encode(digest)[..32]))
    }
}

/// A modification time as nanoseconds since the epoch (0 when the OS has none).
pub fn modified_ns(metadata: &std::fs::Metadata) -> u64 {
    metadata
        .modified()
        .ok()
        .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
        .and_then(|since| u64::try_from(since.as_nanos()).ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload(size: u64) -> InFlight {
        InFlight {
            path: "/data/big.bin".into(),
            size,
            modified_ns: 7,
            url: "http://127.0.0.1:1".into(),
            file_id: "01ABC".into(),
        }
    }

    #[test]
    fn the_same_file_resumes_and_a_changed_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir(dir.path().join("state"));
        assert_eq!(state.prior(&upload(10)), Prior::None);
        state.save(&upload(10)).unwrap();
        assert_eq!(state.prior(&upload(10)), Prior::Resume("01ABC".into()));
        assert_eq!(state.prior(&upload(11)), Prior::Changed(upload(10)));
        state.forget(Path::new("/data/big.bin"));
        assert_eq!(state.prior(&upload(10)), Prior::None);
    }
}
