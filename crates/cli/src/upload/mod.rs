//! `airlock upload PATH...`: every file is created (`POST /v1/files`), then sent in
//! one PUT or, past the stack's multipart threshold (the create answer says which), in
//! parts, `--jobs` transfers at a time; then every verdict is waited for and shown.

mod body;
mod parts;
mod send;
mod walk;

use std::{path::Path, sync::Arc, time::Duration};

use airlock_client::Client;
use airlock_wire::FileView;
use serde_json::json;
use tokio::{sync::Semaphore, task::JoinSet};

use crate::{
    args::UploadArgs,
    error::CliError,
    exit::Outcome,
    output::{self, FILE_HEADER, file_row, outcome_of},
    progress::Progress,
    state::StateDir,
    wait,
};

pub use walk::LocalFile;

/// What every file's task shares.
pub struct Context {
    /// The API.
    pub client: Client,
    /// One permit per transfer running (a whole file's PUT, or a part's).
    pub transfers: Arc<Semaphore>,
    /// Where uploads in flight are remembered.
    pub state: StateDir,
    /// The display.
    pub progress: Progress,
    /// How long to keep asking when the tenant is at its limit of uploads in flight.
    pub patience: Duration,
}

/// One file's fate.
struct Sent {
    file: LocalFile,
    result: Result<FileView, CliError>,
}

/// `airlock upload`.
pub async fn run(
    client: &Client,
    args: &UploadArgs,
    json: bool,
    stack_file: Option<&Path>,
) -> Result<Outcome, CliError> {
    let files = walk::collect(&args.paths, args.content_type.as_deref())?;
    let bytes = files.iter().map(|file| file.size).sum();
    let context = Arc::new(Context {
        client: client.clone(),
        transfers: Arc::new(Semaphore::new(usize::from(args.jobs))),
        state: StateDir::locate(),
        progress: Progress::new(files.len(), bytes, !json),
        patience: Duration::from_secs(args.timeout),
    });
    let sent = send_all(&context, files).await;
    context.progress.finish();
    let mut outcome = Outcome::Success;
    let mut rows = Vec::new();
    let sent_views: Vec<FileView> = sent
        .iter()
        .filter_map(|s| s.result.as_ref().ok().cloned())
        .collect();
    let decided = if args.no_wait {
        sent_views
    } else {
        let ids: Vec<String> = sent_views.iter().map(|view| view.id.to_string()).collect();
        let waiting = context.progress.waiting(ids.len());
        let patience = Duration::from_secs(args.timeout);
        let decided =
            wait::until_decided(client, &ids, patience, |n| waiting.set_position(n as u64)).await;
        waiting.finish_and_clear();
        decided?
    };
    let mut decided = decided.into_iter();
    for Sent { file, result } in sent {
        match result {
            Ok(_) => {
                let Some(view) = decided.next() else { continue };
                outcome = outcome.worst(outcome_of(view.status));
                print_file(&file, &view, json, &mut rows);
            }
            Err(error) => {
                let error = error.naming_the_stack(stack_file);
                outcome = outcome.worst(Outcome::Failed(error.exit_code()));
                print_failure(&file, &error, json, &mut rows);
            }
        }
    }
    if !json {
        output::table(&FILE_HEADER, &rows);
    }
    Ok(outcome)
}

/// Sends every file, each in its own task; answers in the order given.
async fn send_all(context: &Arc<Context>, files: Vec<LocalFile>) -> Vec<Sent> {
    let mut tasks = JoinSet::new();
    for (index, file) in files.into_iter().enumerate() {
        let context = Arc::clone(context);
        tasks.spawn(async move {
            let result = send::one(&context, &file).await;
            (index, Sent { file, result })
        });
    }
    let mut sent: Vec<(usize, Sent)> = Vec::with_capacity(tasks.len());
    while let Some(joined) = tasks.join_next().await {
        // A task only ends by returning: nothing in it panics.
        if let Ok(done) = joined {
            sent.push(done);
        }
    }
    sent.sort_by_key(|(index, _)| *index);
    sent.into_iter().map(|(_, sent)| sent).collect()
}

fn print_file(file: &LocalFile, view: &FileView, json: bool, rows: &mut Vec<Vec<String>>) {
    if json {
        output::json_line(&json!({"path": file.path, "file": view}));
    } else {
        rows.push(file_row(view));
    }
}

fn print_failure(file: &LocalFile, error: &CliError, json: bool, rows: &mut Vec<Vec<String>>) {
    let message = error.explained();
    if json {
        output::json_line(&json!({"path": file.path, "error": message}));
    } else {
        rows.push(vec![
            file.name.clone(),
            "-".to_owned(),
            "FAILED".to_owned(),
            message,
        ]);
    }
}
