//! One file: resume it if an upload of the same bytes was interrupted, else create it
//! and send it whole or in parts, as the create answer says.

use std::time::{Duration, Instant};

use airlock_client::ClientError;
use airlock_wire::{CreateFileBody, CreatedFile, FileView};
use bytes::Bytes;

use super::{Context, LocalFile, body, parts};
use crate::{
    error::CliError,
    progress::FileBar,
    state::{InFlight, Prior},
};

/// The first pause when the tenant is at its limit of uploads in flight; it doubles
/// up to [`MOST_BACKOFF`]. (The API's Retry-After of a minute is for a person; the
/// uploads ahead of ours are usually verified within a second.)
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MOST_BACKOFF: Duration = Duration::from_secs(2);

/// Sends `file`; answers the file as the API last showed it (PENDING until ingest
/// has decided).
pub async fn one(context: &Context, file: &LocalFile) -> Result<FileView, CliError> {
    let bar = context.progress.file(&file.name, file.size);
    let current = in_flight(context, file, String::new());
    match context.state.prior(&current) {
        Prior::Resume(id) => {
            if let Some(view) = parts::resume(context, file, &id, &bar).await? {
                bar.done(&format!("{} (resumed)", file.name));
                return Ok(view);
            }
        }
        Prior::Changed(old) => {
            context.progress.note(&format!(
                "{} changed since its interrupted upload: starting over",
                file.path.display()
            ));
            // The old parts are the store's to drop; sweep would expire them anyway.
            let _ = context.client.abort(&old.file_id).await;
            context.state.forget(&file.canonical);
        }
        Prior::None => {}
    }
    let view = fresh(context, file, &bar).await?;
    bar.done(&file.name);
    Ok(view)
}

async fn fresh(context: &Context, file: &LocalFile, bar: &FileBar) -> Result<FileView, CliError> {
    let permit = context.transfers.acquire().await;
    let created = create(context, file).await?;
    let id = created.file.id.to_string();
    if let Some(upload) = &created.upload {
        let data = read_whole(file).await?;
        context
            .client
            .put(upload, body::counted(data, bar.clone()), file.size)
            .await?;
        return Ok(created.file);
    }
    drop(permit);
    let Some(plan) = &created.multipart else {
        return Ok(created.file);
    };
    context.state.save(&in_flight(context, file, id.clone()))?;
    let every: Vec<u32> = (1..=plan.part_count).collect();
    parts::send(context, file, &id, plan, &every, bar).await?;
    let completed = context.client.complete(&id).await?;
    context.state.forget(&file.canonical);
    Ok(completed)
}

/// `POST /v1/files`, asking again while the tenant is at its limit of uploads in
/// flight (429), for as long as the command's patience lasts.
async fn create(context: &Context, file: &LocalFile) -> Result<CreatedFile, CliError> {
    let body = CreateFileBody {
        name: file.name.clone(),
        content_type: file.content_type.clone(),
        size: file.size,
        sha256: None,
    };
    let deadline = Instant::now() + context.patience;
    let mut pause = FIRST_BACKOFF;
    loop {
        match context.client.create(&body).await {
            Err(error) if error.status() == Some(429) && Instant::now() < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MOST_BACKOFF);
            }
            other => return Ok(other?),
        }
    }
}

/// The whole file, which must still have the size it was created with.
async fn read_whole(file: &LocalFile) -> Result<Bytes, CliError> {
    let data = tokio::fs::read(&file.path)
        .await
        .map_err(|source| CliError::Unreadable {
            path: file.path.clone(),
            source,
        })?;
    if data.len() as u64 != file.size {
        return Err(changed_while_sending(file));
    }
    Ok(Bytes::from(data))
}

/// The error for a file whose size changed after the upload was created.
pub fn changed_while_sending(file: &LocalFile) -> CliError {
    CliError::Unreadable {
        path: file.path.clone(),
        source: std::io::Error::other("it changed while being uploaded; run the command again"),
    }
}

fn in_flight(context: &Context, file: &LocalFile, file_id: String) -> InFlight {
    InFlight {
        path: file.canonical.clone(),
        size: file.size,
        modified_ns: file.modified_ns,
        url: context.client.base_url().to_owned(),
        file_id,
    }
}

/// Whether asking again may help: the transfer broke, not the request.
pub fn worth_retrying(error: &ClientError) -> bool {
    !error.is_refusal()
}
