//! `airlock`: the command-line client of Airlock. See `airlock --help` and the README.

mod args;
mod config;
mod error;
mod exit;
mod files;
mod output;
mod progress;
mod simple;
mod state;
mod upload;
mod wait;

use std::process::ExitCode;

use clap::Parser;

use crate::{args::Cli, error::CliError, exit::Outcome};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("airlock: could not start the async runtime: {e}");
            return ExitCode::from(exit::FAILED);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(outcome) => outcome.exit_code(),
        Err(error) => {
            eprintln!("airlock: {}", error.explained());
            ExitCode::from(error.exit_code())
        }
    }
}

async fn run(cli: Cli) -> Result<Outcome, CliError> {
    let connection = config::connect(&cli.global)?;
    let stack_file = connection.stack_file.as_deref();
    let (client, json) = (&connection.client, cli.global.json);
    let outcome = match cli.command {
        args::Command::Upload(upload) => upload::run(client, &upload, json, stack_file).await,
        args::Command::Ls(ls) => simple::list(client, &ls, json).await,
        args::Command::Get(get) => files::get(client, &get, json).await,
        args::Command::Rm { id } => simple::remove(client, &id, json).await,
        args::Command::Rescan { id } => simple::rescan(client, &id, json).await,
        args::Command::Usage => simple::usage(client, json).await,
        args::Command::Wait(wait) => wait::run(client, &wait, json).await,
    };
    outcome.map_err(|error| error.naming_the_stack(stack_file))
}
