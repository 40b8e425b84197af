//! What commands print: aligned tables for people, JSON for scripts (`--json`).

use std::io::Write;

use airlock_domain::FileStatus;
use airlock_wire::FileView;
use serde::Serialize;

use crate::exit::Outcome;

/// Prints `value` as one line of JSON on stdout.
pub fn json_line(value: &impl Serialize) {
    // A value of our own types always serializes; a closed stdout is not an error
    // worth more than the lost line.
    if let Ok(line) = serde_json::to_string(value) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
    }
}

/// Prints rows under a header, each column as wide as its widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = std::io::stdout().lock();
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
}

/// The reasons of a file's verdict, in words, `; `-separated.
pub fn reasons(file: &FileView) -> String {
    file.verdict
        .as_ref()
        .map(|verdict| {
            verdict
                .reasons
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

/// One file's row: name, id, status, reasons.
pub fn file_row(file: &FileView) -> Vec<String> {
    vec![
        file.name.to_string(),
        file.id.to_string(),
        file.status.to_string(),
        reasons(file),
    ]
}

/// The header of [`file_row`].
pub const FILE_HEADER: [&str; 4] = ["NAME", "ID", "STATUS", "REASONS"];

/// What a file's status says about the run: refused when REJECTED or INFECTED.
pub fn outcome_of(status: FileStatus) -> Outcome {
    match status {
        FileStatus::Rejected | FileStatus::Infected => Outcome::Refused,
        _ => Outcome::Success,
    }
}
