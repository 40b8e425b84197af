//! `airlock get`: download a CLEAN file and prove it is the one the catalog verified.
//!
//! The bytes go to a temporary file beside the destination while they are hashed;
//! only a download whose SHA-256 matches the catalog's is renamed into place, any
//! other is removed, so a partial or altered file is never left under the name.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use airlock_client::Client;
use airlock_domain::FileStatus;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::{args::GetArgs, error::CliError, exit::Outcome, output};

/// `airlock get ID [-o PATH]`.
pub async fn get(client: &Client, args: &GetArgs, json: bool) -> Result<Outcome, CliError> {
    let file = client.get(&args.id).await?;
    let expected = match (&file.sha256, file.status) {
        (Some(sha256), FileStatus::Clean) => sha256.clone(),
        _ => {
            return Err(CliError::NotDownloadable {
                id: args.id.clone(),
                status: file.status.to_string(),
            });
        }
    };
    let destination = match &args.output {
        Some(path) => path.clone(),
        None => default_destination(file.name.as_str()),
    };
    let download = client.download(&args.id).await?;
    let response = client.fetch(&download.request).await?;
    let temporary = temporary_beside(&destination);
    let result = save(response, &temporary, &args.id, &expected).await;
    let bytes = match result {
        Ok(bytes) => bytes,
        Err(error) => {
            let _ = std::fs::remove_file(&temporary);
            return Err(error);
        }
    };
    std::fs::rename(&temporary, &destination).map_err(|source| CliError::Unwritable {
        path: destination.clone(),
        source,
    })?;
    if json {
        output::json_line(&json!({
            "id": args.id, "path": destination, "bytes": bytes, "sha256": expected,
        }));
    } else {
        println!(
            "{} ({bytes} bytes, SHA-256 verified)",
            destination.display()
        );
    }
    Ok(Outcome::Success)
}

/// Streams the answer into `path`, hashing; answers the byte count when the hash is
/// `expected`.
async fn save(
    mut response: reqwest::Response,
    path: &Path,
    id: &str,
    expected: &str,
) -> Result<u64, CliError> {
    let unwritable = |source| CliError::Unwritable {
        path: path.to_owned(),
        source,
    };
    let mut out = std::fs::File::create(path).map_err(unwritable)?;
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    while let Some(chunk) = response.chunk().await.map_err(|source| {
        CliError::Client(airlock_client::ClientError::Transport {
            what: "downloading".to_owned(),
            source,
        })
    })? {
        hasher.update(&chunk);
        out.write_all(&chunk).map_err(unwritable)?;
        bytes += chunk.len() as u64;
    }
    out.sync_all().map_err(unwritable)?;
    let actual = hex::encode(hasher.finalize());
    if actual != expected {
        return Err(CliError::ChecksumMismatch {
            id: id.to_owned(),
            expected: expected.to_owned(),
            actual,
        });
    }
    Ok(bytes)
}

/// The file's own name in the current folder, never a path it might carry.
fn default_destination(name: &str) -> PathBuf {
    Path::new(name)
        .file_name()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("download"))
}

fn temporary_beside(destination: &Path) -> PathBuf {
    let name = destination
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    destination.with_file_name(format!(".{name}.airlock-part"))
}
