//! Waiting for verdicts: poll each file still PENDING until ingest has decided.

use std::time::{Duration, Instant};

use airlock_client::Client;
use airlock_domain::FileStatus;
use airlock_wire::FileView;
use tokio::task::JoinSet;

use crate::{
    args::WaitArgs,
    error::CliError,
    exit::Outcome,
    output::{self, FILE_HEADER, file_row, outcome_of},
};

/// Between two rounds of polling: a small file is verified within tens of ms locally.
const POLL_EVERY: Duration = Duration::from_millis(100);
/// File reads in flight at once while polling (a folder of a thousand files is not
/// polled one request after another).
const READS_AT_ONCE: usize = 8;

/// `airlock wait ID...`.
pub async fn run(client: &Client, args: &WaitArgs, json: bool) -> Result<Outcome, CliError> {
    let patience = Duration::from_secs(args.timeout);
    let files = until_decided(client, &args.ids, patience, |_| {}).await?;
    Ok(report(&files, json))
}

/// Prints the files (table, or JSON lines) and answers what they mean for the exit.
pub fn report(files: &[FileView], json: bool) -> Outcome {
    if json {
        files.iter().for_each(output::json_line);
    } else {
        let rows: Vec<Vec<String>> = files.iter().map(file_row).collect();
        output::table(&FILE_HEADER, &rows);
    }
    files
        .iter()
        .map(|file| outcome_of(file.status))
        .fold(Outcome::Success, Outcome::worst)
}

/// Every file as it is once none is PENDING, in the order of `ids`; `decided` hears
/// how many are decided after each round.
pub async fn until_decided(
    client: &Client,
    ids: &[String],
    patience: Duration,
    decided: impl Fn(usize),
) -> Result<Vec<FileView>, CliError> {
    let deadline = Instant::now() + patience;
    let mut files: Vec<Option<FileView>> = vec![None; ids.len()];
    loop {
        let undecided: Vec<usize> = (0..ids.len())
            .filter(|&at| !files[at].as_ref().is_some_and(is_decided))
            .collect();
        for (at, file) in read_all(client, ids, undecided).await? {
            files[at] = Some(file);
        }
        let pending = files
            .iter()
            .filter(|f| !f.as_ref().is_some_and(is_decided))
            .count();
        decided(ids.len() - pending);
        if pending == 0 {
            return Ok(files.into_iter().flatten().collect());
        }
        if Instant::now() >= deadline {
            return Err(CliError::WaitTimedOut {
                count: pending,
                secs: patience.as_secs(),
            });
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

fn is_decided(file: &FileView) -> bool {
    file.status != FileStatus::Pending
}

/// `GET /v1/files/{id}` of the files at `positions`, [`READS_AT_ONCE`] at a time.
async fn read_all(
    client: &Client,
    ids: &[String],
    positions: Vec<usize>,
) -> Result<Vec<(usize, FileView)>, CliError> {
    let mut read = Vec::with_capacity(positions.len());
    let mut tasks = JoinSet::new();
    for at in positions {
        if tasks.len() >= READS_AT_ONCE
            && let Some(done) = tasks.join_next().await
        {
            read.push(joined(done)?);
        }
        let (client, id) = (client.clone(), ids[at].clone());
        tasks.spawn(async move { (at, client.get(&id).await) });
    }
    while let Some(done) = tasks.join_next().await {
        read.push(joined(done)?);
    }
    Ok(read)
}

type Read = (usize, Result<FileView, airlock_client::ClientError>);

fn joined(done: Result<Read, tokio::task::JoinError>) -> Result<(usize, FileView), CliError> {
    match done {
        Ok((at, file)) => Ok((at, file?)),
        // A read task only ends by returning; a panic in one is a bug worth showing.
        Err(source) => Err(CliError::TaskFailed { source }),
    }
}
