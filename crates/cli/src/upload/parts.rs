//! A file in parts: part *n* holds bytes (*n*−1)·`part_size` onwards; each is read,
//! hashed, presigned for its SHA-256 (`x-amz-checksum-sha256`, so the store refuses
//! damaged bytes) and PUT, up to `--jobs` at a time. After an interruption the API
//! lists what is stored, and only the missing parts are sent.

use std::{
    io::{Read, Seek, SeekFrom},
    sync::Arc,
};

use airlock_wire::{FileView, MultipartView, PartToSign, PartsToSign};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::task::JoinSet;

use super::{Context, LocalFile, body, send};
use crate::{error::CliError, progress::FileBar};

/// How often one part is tried before the upload gives up (and can be resumed).
const ATTEMPTS: u32 = 3;

/// Resumes the interrupted upload `id` of `file`: sends what is missing and completes
/// it. `None` when there is nothing to resume (expired, aborted): start over.
pub async fn resume(
    context: &Context,
    file: &LocalFile,
    id: &str,
    bar: &FileBar,
) -> Result<Option<FileView>, CliError> {
    let listed = match context.client.list_parts(id).await {
        Ok(listed) => listed,
        Err(error) if error.is_refusal() => {
            // Not pending in parts any more: completed by a run that was stopped before
            // it could forget the state (completing again is safe), or gone.
            context.state.forget(&file.canonical);
            return Ok(context.client.complete(id).await.ok());
        }
        Err(error) => return Err(error.into()),
    };
    let stored: u64 = (1..=listed.plan.part_count)
        .filter(|number| !listed.missing.contains(number))
        .map(|number| part_length(&listed.plan, file.size, number))
        .sum();
    bar.advance(stored);
    send(context, file, id, &listed.plan, &listed.missing, bar).await?;
    let completed = context.client.complete(id).await?;
    context.state.forget(&file.canonical);
    Ok(Some(completed))
}

/// Sends the parts `numbers` of `file`, `--jobs` at a time.
pub async fn send(
    context: &Context,
    file: &LocalFile,
    id: &str,
    plan: &MultipartView,
    numbers: &[u32],
    bar: &FileBar,
) -> Result<(), CliError> {
    let shared = Arc::new((
        context.client.clone(),
        file.clone(),
        id.to_owned(),
        plan.clone(),
    ));
    let mut tasks = JoinSet::new();
    for &number in numbers {
        let permits = Arc::clone(&context.transfers);
        let shared = Arc::clone(&shared);
        let bar = bar.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire().await;
            let (client, file, id, plan) = &*shared;
            send_part(client, file, id, plan, number, &bar).await
        });
    }
    while let Some(joined) = tasks.join_next().await {
        if let Ok(result) = joined {
            result?;
        }
    }
    Ok(())
}

async fn send_part(
    client: &airlock_client::Client,
    file: &LocalFile,
    id: &str,
    plan: &MultipartView,
    number: u32,
    bar: &FileBar,
) -> Result<(), CliError> {
    let length = part_length(plan, file.size, number);
    let data = read_part(file, plan.part_size, number, length).await?;
    let sha256 = hex::encode(Sha256::digest(&data));
    let mut attempt = 1;
    loop {
        let asked = PartsToSign {
            parts: vec![PartToSign {
                number,
                sha256: sha256.clone(),
            }],
        };
        let signed = client.sign_parts(id, &asked).await?;
        let Some(part) = signed.parts.into_iter().find(|p| p.number == number) else {
            return Err(send::changed_while_sending(file));
        };
        match client
            .put(
                &part.request,
                body::counted(data.clone(), bar.clone()),
                length,
            )
            .await
        {
            Ok(()) => return Ok(()),
            Err(error) if attempt < ATTEMPTS && send::worth_retrying(&error) => {
                bar.take_back(length);
                attempt += 1;
            }
            Err(error) => {
                bar.take_back(length);
                return Err(error.into());
            }
        }
    }
}

/// The length of part `number` of a file of `size` bytes.
fn part_length(plan: &MultipartView, size: u64, number: u32) -> u64 {
    let start = u64::from(number - 1) * plan.part_size;
    size.saturating_sub(start).min(plan.part_size)
}

/// Part `number`'s bytes, read from the file on a blocking thread.
async fn read_part(
    file: &LocalFile,
    part_size: u64,
    number: u32,
    length: u64,
) -> Result<Bytes, CliError> {
    let path = file.path.clone();
    let offset = u64::from(number - 1) * part_size;
    let read = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
        let mut handle = std::fs::File::open(&path)?;
        handle.seek(SeekFrom::Start(offset))?;
        let mut data = vec![0; usize::try_from(length).map_err(std::io::Error::other)?];
        handle.read_exact(&mut data)?;
        Ok(data)
    })
    .await
    .map_err(|e| std::io::Error::other(e.to_string()));
    match read.and_then(|inner| inner) {
        Ok(data) => Ok(Bytes::from(data)),
        Err(source) => Err(CliError::Unreadable {
            path: file.path.clone(),
            source,
        }),
    }
}
