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
async fn a_stopped_stack_is_named_by_its_stack_file_with_what_to_do_and_exits_3() {
    let mut project = Project::start().await;
    project.write("a.csv", b"a,b\n");
    project.stop_stack().await;

    let listed = project.airlock(&["ls"]).await;
    let uploaded = project.airlock(&["upload", "a.csv"]).await;

    assert_eq!(listed.code(), 3, "{}", listed.describe());
    let stack_file = project.root().join(".airlock/stack.json");
    let said = format!(
        "the local stack that wrote {} does not answer",
        stack_file.display()
    );
    assert!(listed.stderr().contains(&said), "{}", listed.describe());
    assert!(
        listed.stderr().contains("start it again with `make run`"),
        "{}",
        listed.describe()
    );
    assert_eq!(uploaded.code(), 3, "{}", uploaded.describe());
    let row = crate::helpers::row(&uploaded.stdout(), "a.csv").to_owned();
    assert!(row.contains("FAILED") && row.contains(&said), "{row}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_url_where_nothing_listens_is_named_and_exits_3() {
    let project = Project::start().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{closed}");

    let run = project
        .airlock(&["ls", "--url", &url, "--token", "t"])
        .await;

    assert_eq!(run.code(), 3, "{}", run.describe());
    assert!(
        run.stderr().contains(&format!("nothing answers at {url}")),
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
