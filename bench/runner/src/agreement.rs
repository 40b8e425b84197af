//! Whether this run agrees with the last one of the same commit: the headline medians
//! (ingest ÷ openssl where it has a target, the cold starts, the bill) of two reports
//! side by side, each held to 10 % of the earlier run's value. Run `make bench` twice
//! in a row and the second report says whether the figures reproduce, and which do
//! not; `airlock-bench compare EARLIER.md LATER.md` does the same for any two reports.

use std::path::{Path, PathBuf};

use crate::{BenchError, report::Report};

const SECTION: &str = "agreement";
/// How far a headline figure may move between two runs of the same code.
const TOLERANCE: f64 = 0.10;

/// One numeric figure of a report: its section and name, its value as shown and the
/// number that starts with.
#[derive(Debug, Clone, PartialEq)]
struct Figure {
    section: String,
    figure: String,
    shown: String,
    target: String,
    value: f64,
}

/// The commit a report was made from (`- commit abc1234; …` in its header).
fn commit(markdown: &str) -> Option<&str> {
    markdown.lines().find_map(|line| {
        let rest = line.strip_prefix("- commit ")?;
        rest.split(';').next().map(str::trim)
    })
}

/// The rows of a report's table whose value starts with a number.
fn figures(markdown: &str) -> Vec<Figure> {
    markdown
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.strip_prefix("| ")?.split(" | ").collect();
            let [section, figure, value, target, ..] = cells.as_slice() else {
                return None;
            };
            Some(Figure {
                section: (*section).to_owned(),
                figure: (*figure).to_owned(),
                shown: (*value).to_owned(),
                target: target.trim().to_owned(),
                value: leading_number(value)?,
            })
        })
        .collect()
}

/// The number a value starts with: `0.96× (…)`, `4.2 ms`, `$22.71 in all`, or a
/// fraction such as `1/13.6`.
fn leading_number(value: &str) -> Option<f64> {
    let value = value.trim_start().trim_start_matches('$');
    let end = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '/'))
        .unwrap_or(value.len());
    let number = &value[..end];
    match number.split_once('/') {
        Some((over, under)) => {
            let (over, under): (f64, f64) = (over.parse().ok()?, under.parse().ok()?);
            (under != 0.0).then(|| over / under)
        }
        None => number.parse().ok(),
    }
}

/// The figures the issue asks to reproduce: ingest against openssl at the sizes it
/// has a target (at 1 MiB openssl's work is a millisecond beside its start-up, so that
/// ratio is noise), every cold-start median (a single spawn is not a median) and the
/// bill.
fn is_headline(figure: &Figure) -> bool {
    match figure.section.as_str() {
        "ingest" => figure.figure.contains("÷ openssl") && !figure.target.is_empty(),
        "cold start" => !figure.shown.contains("(1 spawn)"),
        "bill" => true,
        _ => false,
    }
}

/// A headline figure in both runs.
#[derive(Debug, Clone, PartialEq)]
struct Pair {
    name: String,
    earlier: f64,
    now: f64,
}

impl Pair {
    /// The change from the earlier run, as a fraction of its value.
    fn change(&self) -> f64 {
        (self.now - self.earlier) / self.earlier.abs().max(f64::MIN_POSITIVE)
    }

    fn agrees(&self) -> bool {
        self.change().abs() <= TOLERANCE
    }

    /// `name: earlier then now (+x.x %)`, as the note, `compare` and the references
    /// row write a pair.
    fn described(&self) -> String {
        format!(
            "{}: {} then {} ({:+.1} %)",
            self.name,
            self.earlier,
            self.now,
            self.change() * 100.0
        )
    }
}

/// Every headline figure found in both reports, in this run's order.
fn pairs(earlier: &str, now: &str) -> Vec<Pair> {
    let before = figures(earlier);
    figures(now)
        .into_iter()
        .filter(is_headline)
        .filter_map(|figure| {
            let earlier = before
                .iter()
                .find(|b| b.section == figure.section && b.figure == figure.figure)?;
            Some(Pair {
                name: format!("{}: {}", figure.section, figure.figure),
                earlier: earlier.value,
                now: figure.value,
            })
        })
        .collect()
}

/// The newest report in `dir` made from `commit`, other than `except`.
fn earlier_report(dir: &Path, commit_of_run: &str, except: &Path) -> Option<(PathBuf, String)> {
    let mut candidates: Vec<(std::time::SystemTime, PathBuf, String)> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "md") && path != except)
        .filter_map(|path| {
            let text = std::fs::read_to_string(&path).ok()?;
            (commit(&text) == Some(commit_of_run)).then_some(())?;
            let modified = path.metadata().and_then(|m| m.modified()).ok()?;
            Some((modified, path, text))
        })
        .collect();
    candidates.sort_by_key(|(modified, ..)| *modified);
    candidates.pop().map(|(_, path, text)| (path, text))
}

/// Adds the agreement of this run (`markdown`, about to be written to `path`) with
/// the newest earlier report of the same commit in `dir`: one row held to 10 % for
/// every headline figure, and a note listing those that moved more.
pub fn check(report: &mut Report, markdown: &str, dir: &Path, path: &Path) {
    let Some(commit_of_run) = commit(markdown) else {
        return;
    };
    match earlier_report(dir, commit_of_run, path) {
        Some((earlier_path, earlier)) => {
            judge(report, &earlier_path, &earlier, markdown);
        }
        None => report.info(
            SECTION,
            "headline medians against the last run of this commit",
            format!(
                "none yet in {} (run `make bench` again to compare)",
                dir.display()
            ),
        ),
    }
}

/// `airlock-bench compare EARLIER LATER`: the agreement of two reports, printed (the
/// report prints its verdict row and note as they are added; each pair follows).
pub fn compare_files(earlier: &Path, later: &Path) -> Result<(), BenchError> {
    let read =
        |path: &Path| std::fs::read_to_string(path).map_err(|e| BenchError::Io(path.to_owned(), e));
    let (before, now) = (read(earlier)?, read(later)?);
    if commit(&before) != commit(&now) {
        println!(
            "note: the reports are of different commits ({} and {})",
            commit(&before).unwrap_or("unknown"),
            commit(&now).unwrap_or("unknown")
        );
    }
    let mut report = Report::default();
    let pairs = judge(&mut report, earlier, &before, &now);
    for pair in &pairs {
        println!(
            "{}{}",
            pair.described(),
            if pair.agrees() { "" } else { "  MOVED" }
        );
    }
    Ok(())
}

/// One row held to 10 % for every headline figure of `now` beside `earlier` (read
/// from `earlier_path`), and a note listing those that moved more; the pairs it
/// judged are given back for a caller that prints them.
fn judge(report: &mut Report, earlier_path: &Path, earlier: &str, now: &str) -> Vec<Pair> {
    let pairs = pairs(earlier, now);
    let agreeing = pairs.iter().filter(|p| p.agrees()).count();
    let worst = pairs
        .iter()
        .max_by(|a, b| a.change().abs().total_cmp(&b.change().abs()));
    report.check(
        SECTION,
        format!(
            "headline medians (ingest ÷ openssl, cold starts, bill) against {}",
            earlier_path.display()
        ),
        format!(
            "{agreeing} of {} within {:.0} %{}",
            pairs.len(),
            TOLERANCE * 100.0,
            worst
                .map(|p| format!(
                    "; the most moved: {} ({:+.1} %)",
                    p.name,
                    p.change() * 100.0
                ))
                .unwrap_or_default()
        ),
        format!("all within {:.0} %", TOLERANCE * 100.0),
        Some(!pairs.is_empty() && agreeing == pairs.len()),
    );
    report.info(
        SECTION,
        "of those, the ratios taken within each run (÷ hello, ÷ openssl, ÷ GuardDuty)",
        ratio_agreement(&pairs),
    );
    report.info(
        SECTION,
        "the machine's own references, which no code of ours runs in",
        reference_moves(earlier, now),
    );
    let moved: Vec<String> = pairs
        .iter()
        .filter(|p| !p.agrees())
        .map(Pair::described)
        .collect();
    if !moved.is_empty() {
        report.note(format!(
            "agreement: moved more than {:.0} % since {}: {}",
            TOLERANCE * 100.0,
            earlier_path.display(),
            moved.join("; ")
        ));
    }
    pairs
}

/// How many of the pairs that are ratios within a run (a `÷` in the name) agree: they
/// hold when the machine as a whole gets faster or slower between the runs, which the
/// absolute times follow.
fn ratio_agreement(pairs: &[Pair]) -> String {
    let ratios: Vec<&Pair> = pairs.iter().filter(|p| p.name.contains('÷')).collect();
    let agreeing = ratios.iter().filter(|p| p.agrees()).count();
    format!(
        "{agreeing} of {} within {:.0} %",
        ratios.len(),
        TOLERANCE * 100.0
    )
}

/// Figures of programs that are not ours, measured in both runs: how much the
/// machine itself moved between them.
const REFERENCES: [(&str, &str); 3] = [
    ("cold start", "hello (lambda_runtime)"),
    ("ingest", "openssl dgst -sha256, 1 GiB"),
    ("ingest", "sha256sum, 1 GiB"),
];

/// Each reference's change between the runs, or that a run lacks it.
fn reference_moves(earlier: &str, now: &str) -> String {
    let (before, after) = (figures(earlier), figures(now));
    let find = |figures: &[Figure], (section, name): (&str, &str)| {
        figures
            .iter()
            .find(|f| f.section == section && f.figure == name)
            .map(|f| f.value)
    };
    REFERENCES
        .iter()
        .map(
            |&reference| match (find(&before, reference), find(&after, reference)) {
                (Some(earlier), Some(now)) => Pair {
                    name: reference.1.to_owned(),
                    earlier,
                    now,
                }
                .described(),
                _ => format!("{}: not in both runs", reference.1),
            },
        )
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const EARLIER: &str = "# make bench\n\n- commit abc1234; machine: 2 × CPU\n\n\
        | section | figure | value | target | met | load |\n|---|---|---|---|---|---|\n\
        | ingest | ingest local ÷ openssl dgst -sha256 throughput, 1 MiB | 0.32× (ingest handler 4.9 ms) |  |  | 1.72 |\n\
        | ingest | ingest local ÷ openssl dgst -sha256 throughput, 1 GiB | 1.05× (ingest handler 895.0 ms) | ≥ 0.8× | met | 1.44 |\n\
        | cold start | ingest ÷ hello | 3.29× | ≤ 1.5× | NOT met | 2.11 |\n\
        | cold start | ingest, 5000 rules compiled from source | 5026 ms (1 spawn) |  |  | 1.79 |\n\
        | bill | every charge Airlock adds ÷ GuardDuty, 1 MiB mix | 1/13.6 | ≤ 1/25 | NOT met | 3.29 |\n\
        | api | p99 | 3.75 ms |  |  | 0.61 |\n";

    #[test]
    fn values_are_read_as_the_number_they_start_with() {
        assert_eq!(
            leading_number("1.05× (ingest handler 895.0 ms)"),
            Some(1.05)
        );
        assert_eq!(leading_number("$22.71 in all: scanning $0.05"), Some(22.71));
        assert_eq!(leading_number("1060 ms median"), Some(1060.0));
        assert_eq!(leading_number("1/25"), Some(0.04));
        assert_eq!(leading_number("yes"), None);
        assert_eq!(leading_number("1/0"), None);
    }

    #[test]
    fn the_commit_is_read_from_the_header() {
        assert_eq!(commit(EARLIER), Some("abc1234"));
        assert_eq!(commit("# no header"), None);
    }

    #[test]
    fn only_headline_figures_are_paired_and_a_single_spawn_and_untargeted_ratios_are_left_out() {
        let now = EARLIER
            .replace("3.29×", "3.80×")
            .replace("3.75 ms", "9 ms")
            .replace("0.32×", "-0.70×");
        let pairs = pairs(EARLIER, &now);
        let names: Vec<&str> = pairs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "ingest: ingest local ÷ openssl dgst -sha256 throughput, 1 GiB",
                "cold start: ingest ÷ hello",
                "bill: every charge Airlock adds ÷ GuardDuty, 1 MiB mix",
            ]
        );
        assert!(pairs[0].agrees());
        assert!(!pairs[1].agrees(), "3.29 → 3.80 is +15 %");
        assert!(pairs[2].agrees());
    }

    #[test]
    fn the_second_run_of_a_commit_is_held_to_the_first() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("2026-12-03.md"), EARLIER).unwrap();
        std::fs::write(
            dir.path().join("2026-12-02.md"),
            EARLIER.replace("abc1234", "0000000"),
        )
        .unwrap();
        let now = EARLIER.replace("1.05×", "1.30×");
        let mut report = Report::default();
        check(
            &mut report,
            &now,
            dir.path(),
            &dir.path().join("2026-12-03-2.md"),
        );
        assert_eq!(report.tally(), (0, 1), "one agreement row, not met");
        let markdown = report.markdown("# run");
        assert!(markdown.contains("2 of 3 within 10 %"), "{markdown}");
        assert!(markdown.contains("1.05 then 1.3 (+23.8 %)"), "{markdown}");
    }

    #[test]
    fn ratios_within_a_run_are_counted_apart_from_the_absolute_times() {
        let pair = |name: &str, earlier, now| Pair {
            name: name.to_owned(),
            earlier,
            now,
        };
        let pairs = [
            pair("cold start: ingest", 7.0, 10.2),
            pair("cold start: ingest ÷ hello", 2.8, 2.9),
            pair(
                "bill: every charge Airlock adds ÷ GuardDuty",
                0.0735,
                0.0900,
            ),
        ];
        assert_eq!(ratio_agreement(&pairs), "1 of 2 within 10 %");
    }

    #[test]
    fn the_machines_references_are_compared_even_though_they_are_not_headlines() {
        let later = EARLIER.replace(
            "| api | p99",
            "| cold start | hello (lambda_runtime) | 3.0 ms median |  |  | 1 |\n| api | p99",
        );
        let earlier = EARLIER.replace(
            "| api | p99",
            "| cold start | hello (lambda_runtime) | 2.5 ms median |  |  | 1 |\n| api | p99",
        );
        let moves = reference_moves(&earlier, &later);
        assert!(
            moves.starts_with("hello (lambda_runtime): 2.5 then 3 (+20.0 %)"),
            "{moves}"
        );
        assert!(
            moves.contains("sha256sum, 1 GiB: not in both runs"),
            "{moves}"
        );
    }

    #[test]
    fn a_first_run_says_there_is_nothing_to_compare_with() {
        let dir = tempfile::tempdir().unwrap();
        let mut report = Report::default();
        check(&mut report, EARLIER, dir.path(), &dir.path().join("x.md"));
        assert_eq!(report.tally(), (0, 0));
        assert!(report.markdown("# run").contains("none yet in"));
    }
}
