//! The command line, declared with clap's derive.

use std::path::PathBuf;

use airlock_domain::FileStatus;
use clap::{Args, Parser, Subcommand};

use crate::exit::EXIT_CODES_HELP;

/// Send files to Airlock, wait for their verdicts, list and download them.
#[derive(Debug, Parser)]
#[command(name = "airlock", version, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// What every command takes.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The connection and the output format.
#[derive(Debug, Args)]
pub struct Global {
    /// The API's base URL (default: the local stack's, from .airlock/stack.json).
    #[arg(long, env = "AIRLOCK_URL", global = true)]
    pub url: Option<String>,
    /// A bearer token for the API (default: the local stack's dev token).
    #[arg(long, env = "AIRLOCK_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// Print JSON (one document, or one line per file) instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Upload files and folders (recursively), then wait for every verdict.
    Upload(UploadArgs),
    /// List files, newest first.
    Ls(LsArgs),
    /// Download a CLEAN file and check its SHA-256 against the catalog's.
    Get(GetArgs),
    /// Delete a file (its bytes are removed).
    Rm {
        /// The file's id.
        id: String,
    },
    /// Ask for a file to be scanned again with the rules in force.
    Rescan {
        /// The file's id.
        id: String,
    },
    /// The tenant's counters by status.
    Usage,
    /// Wait until files have their verdicts; print them.
    Wait(WaitArgs),
}

/// `airlock upload`.
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// Files and folders; folders are walked recursively.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The content type to declare for every file (default: from each file's name).
    #[arg(long = "type", value_name = "TYPE")]
    pub content_type: Option<String>,
    /// How many transfers (files or parts) run at once.
    #[arg(long, short = 'j', default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Do not wait for the verdicts.
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait for the verdicts, in seconds.
    #[arg(long, default_value_t = 600, value_name = "SECS")]
    pub timeout: u64,
}

/// `airlock ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only files in this status (PENDING, CLEAN, REJECTED, INFECTED, EXPIRED, DELETED).
    #[arg(long, value_parser = parse_status)]
    pub status: Option<FileStatus>,
    /// Files per page.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Every page, not only the first.
    #[arg(long)]
    pub all: bool,
}

/// `airlock get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The file's id.
    pub id: String,
    /// Where to write it (default: its name, in this folder).
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,
}

/// `airlock wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The files' ids.
    #[arg(required = true)]
    pub ids: Vec<String>,
    /// How long to wait, in seconds.
    #[arg(long, default_value_t = 600, value_name = "SECS")]
    pub timeout: u64,
}

fn parse_status(raw: &str) -> Result<FileStatus, String> {
    FileStatus::parse(&raw.to_ascii_uppercase())
        .ok_or_else(|| "one of PENDING, CLEAN, REJECTED, INFECTED, EXPIRED, DELETED".to_owned())
}
