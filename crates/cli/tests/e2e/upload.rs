//! `airlock upload` of files and folders: the verdict table, the exit status, and
//! the same in JSON lines.

use airlock_testkit::samples::{PNG, eicar, elf};

use crate::helpers::{Project, csv, row};

#[tokio::test(flavor = "multi_thread")]
async fn a_folder_with_a_disguised_executable_prints_the_verdicts_and_exits_1() {
    let project = Project::start().await;
    project.write("inbox/people.csv", &csv(2_000));
    project.write("inbox/pixel.png", PNG);
    project.write("inbox/sub/report.pdf", &elf(4_096));

    let run = project.airlock(&["upload", "inbox"]).await;

    assert_eq!(run.code(), 1, "{}", run.describe());
    let table = run.stdout();
    assert!(table.starts_with("NAME"), "{table}");
    assert!(row(&table, "people.csv").contains("CLEAN"), "{table}");
    assert!(row(&table, "pixel.png").contains("CLEAN"), "{table}");
    let refused = row(&table, "report.pdf");
    assert!(refused.contains("REJECTED"), "{table}");
    assert!(
        refused.contains("declared as application/pdf but the bytes are application/x-executable"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn clean_files_exit_0_and_json_prints_one_parsable_line_per_file() {
    let project = Project::start().await;
    let small = project.write("a.csv", &csv(100));
    let large = project.write("b.csv", &csv(13 * 1024 * 1024));

    let run = project
        .airlock(&["upload", "--json", "a.csv", "b.csv"])
        .await;

    assert_eq!(run.code(), 0, "{}", run.describe());
    let lines = run.json_lines();
    assert_eq!(lines.len(), 2, "{}", run.describe());
    for (line, path) in lines.iter().zip([&small, &large]) {
        assert_eq!(line["path"], path.file_name().unwrap().to_str().unwrap());
        assert_eq!(line["file"]["status"], "CLEAN", "{line}");
        assert_eq!(line["file"]["content_type"], "text/csv", "{line}");
    }
    assert_eq!(lines[0]["file"]["size"], 100);
    assert_eq!(
        lines[1]["file"]["multipart"]["part_count"], 3,
        "{}",
        lines[1]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_eicar_file_is_infected_and_the_run_exits_1() {
    let project = Project::start().await;
    project.write("notes.txt", &eicar());

    let run = project.airlock(&["upload", "notes.txt"]).await;

    assert_eq!(run.code(), 1, "{}", run.describe());
    let verdict = row(&run.stdout(), "notes.txt").to_owned();
    assert!(verdict.contains("INFECTED"), "{verdict}");
    assert!(verdict.contains("EICAR_Test_File"), "{verdict}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declared_type_overrides_the_one_guessed_from_the_name() {
    let project = Project::start().await;
    project.write("pixel.dat", PNG);

    let run = project
        .airlock(&["upload", "--json", "--type", "image/png", "pixel.dat"])
        .await;

    assert_eq!(run.code(), 0, "{}", run.describe());
    assert_eq!(run.json_lines()[0]["file"]["content_type"], "image/png");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_waiting_the_files_are_shown_pending_and_the_run_exits_0() {
    let project = Project::start().await;
    project.write("report.pdf", &elf(1_000));

    let run = project
        .airlock(&["upload", "--json", "--no-wait", "report.pdf"])
        .await;

    assert_eq!(run.code(), 0, "{}", run.describe());
    let id = run.json_lines()[0]["file"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let waited = project.airlock(&["wait", &id]).await;
    assert_eq!(waited.code(), 1, "{}", waited.describe());
    assert!(row(&waited.stdout(), "report.pdf").contains("REJECTED"));
}
