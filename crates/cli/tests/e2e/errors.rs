//! What the command says when it cannot start: no token, a stopped stack, a file it
//! cannot read, a bad command line.

use crate::helpers::Project;

#[tokio::test(flavor = "multi_thread")]
async fn without_a_token_the_command_says_how_to_get_one_and_exits_2() {
    let project = Project::start().await;
    let elsewhere = tempfile::tempdir().unwrap();

    let output = project
        .command(&["ls"])
        .current_dir(elsewhere.path())
        .env("AIRLOCK_URL", project.base_url())
        .output()
        .await
        .unwrap();

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no token for"), "{stderr}");
    assert!(
        stderr.contains("set AIRLOCK_TOKEN or pass --token"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_stack_is_named_with_what_to_do_and_exits_3() {
    let mut project = Project::start().await;
    project.stop_stack().await;

    let run = project.airlock(&["ls"]).await;

    assert_eq!(run.code(), 3, "{}", run.describe());
    assert!(
        run.stderr()
            .contains("nothing answers at http://127.0.0.1:"),
        "{}",
        run.describe()
    );
    assert!(
        run.stderr().contains("start it with `make run`"),
        "{}",
        run.describe()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_that_cannot_be_read_is_named_and_nothing_is_sent() {
    let project = Project::start().await;
    project.write("ok.csv", b"a,b\n");

    let run = project.airlock(&["upload", "ok.csv", "missing.csv"]).await;
    let listed = project.airlock(&["ls", "--json"]).await;

    assert_eq!(run.code(), 4, "{}", run.describe());
    assert!(
        run.stderr().contains("cannot read missing.csv"),
        "{}",
        run.describe()
    );
    assert!(listed.json_lines().is_empty(), "{}", listed.describe());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_command_line_exits_2_and_help_lists_the_exit_codes() {
    let project = Project::start().await;

    let bad = project.airlock(&["ls", "--status", "maybe"]).await;
    let help = project.airlock(&["--help"]).await;

    assert_eq!(bad.code(), 2, "{}", bad.describe());
    assert_eq!(help.code(), 0);
    assert!(
        help.stdout()
            .contains("1  some file was REJECTED or INFECTED")
    );
}
