//! The results: one row per figure, each beside its target and whether it is met,
//! with the machine's load when it was taken. Printed as they come and written as
//! one Markdown file.

use std::{fmt::Write as _, path::PathBuf};

use crate::stats::load_average;

/// One figure.
#[derive(Debug, Clone)]
pub struct Row {
    /// The part of the benchmark.
    pub section: &'static str,
    /// What was measured.
    pub figure: String,
    /// The measured value as shown, with its unit.
    pub value: String,
    /// The target, or empty for a figure shown for comparison.
    pub target: String,
    /// Whether the target is met; `None` without a target or a measurement.
    pub met: Option<bool>,
    /// One-minute load average when the figure was taken.
    pub load: f64,
}

/// Every figure of one run, and notes on how they were taken.
#[derive(Debug, Default)]
pub struct Report {
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Report {
    /// Adds a figure without a target.
    pub fn info(
        &mut self,
        section: &'static str,
        figure: impl Into<String>,
        value: impl Into<String>,
    ) {
        self.push(section, figure.into(), value.into(), String::new(), None);
    }

    /// Adds a figure held to `target`.
    pub fn check(
        &mut self,
        section: &'static str,
        figure: impl Into<String>,
        value: impl Into<String>,
        target: impl Into<String>,
        met: Option<bool>,
    ) {
        self.push(section, figure.into(), value.into(), target.into(), met);
    }

    /// Adds a note printed under the table.
    pub fn note(&mut self, text: impl Into<String>) {
        let text = text.into();
        println!("note: {text}");
        self.notes.push(text);
    }

    fn push(
        &mut self,
        section: &'static str,
        figure: String,
        value: String,
        target: String,
        met: Option<bool>,
    ) {
        let row = Row {
            section,
            figure,
            value,
            target,
            met,
            load: load_average(),
        };
        println!(
            "[{}] {}: {}{}{}   (load {:.2})",
            row.section,
            row.figure,
            row.value,
            if row.target.is_empty() {
                String::new()
            } else {
                format!("   target {}", row.target)
            },
            verdict(row.met)
                .map(|v| format!(" → {v}"))
                .unwrap_or_default(),
            row.load
        );
        self.rows.push(row);
    }

    /// How many targets were met, of how many measured.
    pub fn tally(&self) -> (usize, usize) {
        let judged: Vec<bool> = self.rows.iter().filter_map(|r| r.met).collect();
        (judged.iter().filter(|m| **m).count(), judged.len())
    }

    /// The whole report as Markdown, under `header` (machine, commit, settings).
    pub fn markdown(&self, header: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{header}");
        let (met, judged) = self.tally();
        let _ = writeln!(out, "**{met} of {judged} targets met.**\n");
        let _ = writeln!(out, "| section | figure | value | target | met | load |");
        let _ = writeln!(out, "|---|---|---|---|---|---|");
        for r in &self.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {:.2} |",
                r.section,
                r.figure,
                r.value,
                r.target,
                verdict(r.met).unwrap_or(""),
                r.load
            );
        }
        if !self.notes.is_empty() {
            let _ = writeln!(out, "\nNotes:\n");
            for n in &self.notes {
                let _ = writeln!(out, "- {n}");
            }
        }
        out
    }
}

fn verdict(met: Option<bool>) -> Option<&'static str> {
    met.map(|m| if m { "met" } else { "NOT met" })
}

/// `dir/<date>.md`, or `<date>-2.md`, … when that day already has one.
pub fn results_path(dir: &std::path::Path) -> PathBuf {
    let date = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let first = dir.join(format!("{date}.md"));
    if !first.exists() {
        return first;
    }
    (2..)
        .map(|n| dir.join(format!("{date}-{n}.md")))
        .find(|p| !p.exists())
        .unwrap_or(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tally_counts_only_figures_with_a_target() {
        let mut report = Report::default();
        report.info("size", "hello", "1 MiB");
        report.check("size", "ingest zip", "3 MiB", "≤ 12 MiB", Some(true));
        report.check("api", "p99", "12 ms", "≤ 10 ms", Some(false));
        assert_eq!(report.tally(), (1, 2));
        assert!(
            report
                .markdown("# run")
                .contains("| api | p99 | 12 ms | ≤ 10 ms | NOT met |")
        );
    }
}
