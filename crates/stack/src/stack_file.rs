//! `stack.json` in the data folder: the URL and a dev token, for clients on this
//! machine (the `airlock` command finds it in `./.airlock` or a parent folder), so
//! after `make run` nobody copies a token by hand.
//!
//! The token is a credential: the file is created readable and writable by its owner
//! only, and written whole to a temporary name first, so a reader never sees half.

use std::{
    io::{self, Write},
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

use airlock_wire::{STACK_FILE_NAME, StackFile};

use crate::RunningStack;

/// Owner read and write, nothing for anyone else.
const OWNER_ONLY: u32 = 0o600;

impl RunningStack {
    /// Writes `stack.json` with a fresh 24 h token for `tenant`; answers its path.
    pub fn write_stack_file(&self, tenant: &str) -> io::Result<PathBuf> {
        let file = StackFile {
            url: self.base_url(),
            token: self.token_for(tenant),
            tenant: tenant.to_owned(),
            pid: std::process::id(),
        };
        let path = stack_file_path(&self.data_dir);
        let temporary = self.data_dir.join(format!(".{STACK_FILE_NAME}.tmp"));
        let _ = std::fs::remove_file(&temporary);
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(OWNER_ONLY)
            .open(&temporary)?;
        out.write_all(&serde_json::to_vec_pretty(&file).map_err(io::Error::other)?)?;
        out.sync_all()?;
        std::fs::rename(&temporary, &path)?;
        Ok(path)
    }

    /// Removes `stack.json`, on a clean stop: its token names a stack that is gone.
    pub fn remove_stack_file(&self) {
        let _ = std::fs::remove_file(stack_file_path(&self.data_dir));
    }
}

fn stack_file_path(data_dir: &Path) -> PathBuf {
    data_dir.join(STACK_FILE_NAME)
}
