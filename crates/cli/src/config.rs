//! Where the API is and which token to use: `--url`/`--token`, else `AIRLOCK_URL`/
//! `AIRLOCK_TOKEN` (clap reads both), else the local stack's `.airlock/stack.json` in
//! this folder or the nearest parent that has one.

use std::path::{Path, PathBuf};

use airlock_client::Client;
use airlock_wire::{STACK_FILE_NAME, StackFile};

use crate::{args::Global, error::CliError};

/// The local stack's data folder, as `make run` names it.
const STACK_DIR: &str = ".airlock";

/// The client for the configured API.
pub struct Connection {
    /// The client.
    pub client: Client,
    /// The local stack's `stack.json` the URL came from, if it did: a stack that
    /// does not answer is then named by it.
    pub stack_file: Option<PathBuf>,
}

/// Connects as configured (nothing is sent yet).
pub fn connect(global: &Global) -> Result<Connection, CliError> {
    // An empty variable (`AIRLOCK_TOKEN=`) counts as unset.
    let global = &Global {
        url: global.url.clone().filter(|url| !url.is_empty()),
        token: global.token.clone().filter(|token| !token.is_empty()),
        json: global.json,
    };
    let found = if global.url.is_some() && global.token.is_some() {
        None
    } else {
        find_stack_file()?
    };
    let (url, token) = resolve(global, found.as_ref().map(|(_, file)| file))?;
    let stack_file = found
        .filter(|(_, file)| same_url(&file.url, &url))
        .map(|(path, _)| path);
    let client = Client::new(&url, &token).map_err(CliError::BadUrl)?;
    Ok(Connection { client, stack_file })
}

/// The flags and environment first; the stack file fills what they leave out, and
/// gives its token only for its own URL.
fn resolve(global: &Global, stack: Option<&StackFile>) -> Result<(String, String), CliError> {
    let url = match (&global.url, stack) {
        (Some(url), _) => url.clone(),
        (None, Some(stack)) => stack.url.clone(),
        (None, None) => return Err(CliError::NoUrl),
    };
    let token = match (&global.token, stack) {
        (Some(token), _) => token.clone(),
        (None, Some(stack)) if same_url(&stack.url, &url) => stack.token.clone(),
        _ => return Err(CliError::NoToken { url }),
    };
    Ok((url, token))
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// The nearest `.airlock/stack.json`, from the current folder upwards.
fn find_stack_file() -> Result<Option<(PathBuf, StackFile)>, CliError> {
    let Ok(here) = std::env::current_dir() else {
        return Ok(None);
    };
    for folder in here.ancestors() {
        let path = folder.join(STACK_DIR).join(STACK_FILE_NAME);
        if path.is_file() {
            return read_stack_file(&path).map(|file| Some((path, file)));
        }
    }
    Ok(None)
}

fn read_stack_file(path: &Path) -> Result<StackFile, CliError> {
    let unreadable = |reason: String| CliError::StackFile {
        path: path.to_owned(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| unreadable(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global(url: Option<&str>, token: Option<&str>) -> Global {
        Global {
            url: url.map(str::to_owned),
            token: token.map(str::to_owned),
            json: false,
        }
    }

    fn stack() -> StackFile {
        StackFile {
            url: "http://127.0.0.1:8080".into(),
            token: "dev".into(),
            tenant: "demo".into(),
            pid: 1,
        }
    }

    #[test]
    fn flags_win_over_the_stack_file() {
        let (url, token) = resolve(&global(Some("http://x"), Some("t")), Some(&stack())).unwrap();
        assert_eq!((url.as_str(), token.as_str()), ("http://x", "t"));
    }

    #[test]
    fn the_stack_file_fills_in_url_and_token() {
        let (url, token) = resolve(&global(None, None), Some(&stack())).unwrap();
        assert_eq!(
            (url.as_str(), token.as_str()),
            ("http://127.0.0.1:8080", "dev")
        );
    }

    #[test]
    fn the_stack_token_is_not_sent_to_another_url() {
        let refused = resolve(&global(Some("https://api.example"), None), Some(&stack()));
        assert!(
            matches!(refused, Err(CliError::NoToken { .. })),
            "{refused:?}"
        );
    }

    #[test]
    fn without_url_or_stack_file_the_error_says_so() {
        assert!(matches!(
            resolve(&global(None, None), None),
            Err(CliError::NoUrl)
        ));
    }
}
