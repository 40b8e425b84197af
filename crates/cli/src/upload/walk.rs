//! The files an upload names: each file given, and every file under each folder given,
//! in name order, with what the upload needs to know about each.

use std::path::{Path, PathBuf};

use crate::{error::CliError, state::modified_ns};

/// One local file to send.
#[derive(Debug, Clone)]
pub struct LocalFile {
    /// As given (or found under a folder given).
    pub path: PathBuf,
    /// Resolved, the key of its resume state.
    pub canonical: PathBuf,
    /// The name it is uploaded under: its file name.
    pub name: String,
    /// Its size.
    pub size: u64,
    /// Its modification time (ns since the epoch).
    pub modified_ns: u64,
    /// The type declared for it.
    pub content_type: String,
}

/// Every file under `paths`; `declared` overrides the type guessed from each name.
pub fn collect(paths: &[PathBuf], declared: Option<&str>) -> Result<Vec<LocalFile>, CliError> {
    let mut found = Vec::new();
    for path in paths {
        walk(path, &mut found)?;
    }
    found
        .into_iter()
        .map(|path| describe(path, declared))
        .collect()
}

fn walk(path: &Path, found: &mut Vec<PathBuf>) -> Result<(), CliError> {
    let unreadable = |source| CliError::Unreadable {
        path: path.to_owned(),
        source,
    };
    let metadata = std::fs::metadata(path).map_err(unreadable)?;
    if !metadata.is_dir() {
        found.push(path.to_owned());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(unreadable)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(unreadable)?;
    entries.sort();
    for entry in entries {
        walk(&entry, found)?;
    }
    Ok(())
}

fn describe(path: PathBuf, declared: Option<&str>) -> Result<LocalFile, CliError> {
    let unreadable = |source| CliError::Unreadable {
        path: path.clone(),
        source,
    };
    let metadata = std::fs::metadata(&path).map_err(unreadable)?;
    // Opened once here so an unreadable file is named before anything is sent.
    std::fs::File::open(&path).map_err(unreadable)?;
    let canonical = std::fs::canonicalize(&path).map_err(unreadable)?;
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let content_type = declared.map(str::to_owned).unwrap_or_else(|| {
        mime_guess::from_path(&path)
            .first_or_octet_stream()
            .essence_str()
            .to_owned()
    });
    Ok(LocalFile {
        canonical,
        name,
        size: metadata.len(),
        modified_ns: modified_ns(&metadata),
        content_type,
        path,
    })
}
