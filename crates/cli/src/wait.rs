//! Waiting for verdicts: poll each file still PENDING until ingest has decided.

use std::time::{Duration, Instant};

use airlock_client::Client;
use airlock_domain::FileStatus;
use airlock_wire::FileView;

use crate::{
    args::WaitArgs,
    error::CliError,
    exit::Outcome,
    output::{self, FILE_HEADER, file_row, outcome_of},
};

/// Between two rounds of polling: a small file is verified within tens of ms locally.
const POLL_EVERY: Duration = Duration::from_millis(100);

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
        let mut pending = 0;
        for (id, slot) in ids.iter().zip(files.iter_mut()) {
            if slot
                .as_ref()
                .is_some_and(|file| file.status != FileStatus::Pending)
            {
                continue;
            }
            let file = client.get(id).await?;
            if file.status == FileStatus::Pending {
                pending += 1;
            }
            *slot = Some(file);
        }
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
