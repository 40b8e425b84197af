//! The one-call commands: `ls`, `rm`, `rescan`, `usage`.

use airlock_client::{Client, ListFilter};
use serde_json::json;

use crate::{
    args::LsArgs,
    error::CliError,
    exit::Outcome,
    output::{self, FILE_HEADER, file_row},
};

/// `airlock ls`: one page, or every page with `--all`; JSON lines with `--json`.
pub async fn list(client: &Client, args: &LsArgs, json: bool) -> Result<Outcome, CliError> {
    let mut filter = ListFilter {
        status: args.status,
        limit: args.limit,
        cursor: None,
    };
    let mut rows = Vec::new();
    loop {
        let page = client.list(&filter).await?;
        for file in &page.files {
            if json {
                output::json_line(file);
            } else {
                rows.push(file_row(file));
            }
        }
        match page.next_cursor {
            Some(cursor) if args.all => filter.cursor = Some(cursor),
            _ => break,
        }
    }
    if !json {
        output::table(&FILE_HEADER, &rows);
    }
    Ok(Outcome::Success)
}

/// `airlock rm ID`.
pub async fn remove(client: &Client, id: &str, json: bool) -> Result<Outcome, CliError> {
    client.delete(id).await?;
    if json {
        output::json_line(&json!({"id": id, "deleted": true}));
    } else {
        println!("{id} deleted");
    }
    Ok(Outcome::Success)
}

/// `airlock rescan ID`.
pub async fn rescan(client: &Client, id: &str, json: bool) -> Result<Outcome, CliError> {
    let file = client.rescan(id).await?;
    if json {
        output::json_line(&file);
    } else {
        println!("{id}: re-scan asked for; `airlock wait {id}` shows the result");
    }
    Ok(Outcome::Success)
}

/// `airlock usage`.
pub async fn usage(client: &Client, json: bool) -> Result<Outcome, CliError> {
    let usage = client.usage().await?;
    if json {
        output::json_line(&usage);
        return Ok(Outcome::Success);
    }
    println!("tenant {}", usage.tenant);
    let rows: Vec<Vec<String>> = usage
        .by_status
        .iter()
        .map(|(status, count)| {
            vec![
                status.to_string(),
                count.files.to_string(),
                count.bytes.to_string(),
            ]
        })
        .collect();
    output::table(&["STATUS", "FILES", "BYTES"], &rows);
    Ok(Outcome::Success)
}
