//! `airlock-stack`: the whole pipeline in one process on 127.0.0.1 (`make run`).
//!
//! Flags: `--data-dir DIR` (default `.airlock`), `--port N` (default 8080, 0 = any),
//! `--sweep-every SECS` (default 300), `--upload-window SECS` (default 3600),
//! `--rules-dir DIR` (default `DIR/rules` of the data folder: `*.yar` files, picked
//! up by the next ingest without a restart), `--max-scan-bytes N` (files past it are
//! scanned in windows), `--carry-over-after-bytes N` (carry a windowed pass over to
//! the next ingest invocation after N bytes, as a deadline would on Lambda),
//! `--orphan-grace SECS` (how old bytes no record accounts for must be before sweep
//! removes them; default a day). `AIRLOCK_FAULTS=point=error|kill;…` arms fault
//! points (debug builds only; see crates/faults). On start
//! it prints the URL and a 24 h dev token for tenant `demo` on stdout, and writes both
//! to `stack.json` in the data folder (owner-only) for the `airlock` command; there is
//! no flag for another tenant's token.

use std::{process::ExitCode, time::Duration};

use airlock_stack::{StackConfig, start};

fn main() -> ExitCode {
    // The same JSON lines as on Lambda, metric (EMF) lines included, on stderr: stdout
    // is for the URL and token that people and scripts read.
    airlock_telemetry::init_tracing_to("airlock-stack", std::io::stderr);
    if let Err(e) = airlock_faults::arm_from_env() {
        eprintln!("airlock-stack: {}", airlock_domain::error_chain(&e));
        return ExitCode::from(2);
    }
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("airlock-stack: {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("airlock-stack: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(config))
}

async fn run(config: StackConfig) -> ExitCode {
    let stack = match start(config).await {
        Ok(stack) => stack,
        Err(e) => {
            eprintln!("airlock-stack: {}", airlock_domain::error_chain(&e));
            return ExitCode::FAILURE;
        }
    };
    let token = stack.token_for("demo");
    let stack_file = match stack.write_stack_file("demo") {
        Ok(path) => path.display().to_string(),
        Err(e) => format!("not written ({e})"),
    };
    // The token rides in the fragment: the browser never sends it to the server.
    say(&format!(
        "Airlock local stack listening on {url}\nData folder: {data}\nEvent log:   {events}\n\
         For the airlock command: {stack_file}\n\
         Dev token for tenant 'demo' (24 h):\n{token}\nConsole:     {url}/#token={token}\n",
        url = stack.base_url(),
        data = stack.data_dir.display(),
        events = stack.events_path().display(),
    ));
    wait_for_stop_signal().await;
    say("Stopping…\n");
    stack.remove_stack_file();
    stack.shutdown().await;
    ExitCode::SUCCESS
}

/// Writes to stdout, ignoring a reader that went away: whoever started the stack may
/// close the pipe once it has the URL and token, and that must not stop the stack.
fn say(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

async fn wait_for_stop_signal() {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            match terminate.as_mut() {
                Some(signal) => { signal.recv().await; }
                None => std::future::pending::<()>().await,
            }
        } => {}
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<StackConfig, String> {
    let mut config = StackConfig::new(".airlock");
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--data-dir" => config.data_dir = value()?.into(),
            "--port" => config.port = number(&flag, &value()?)?,
            "--sweep-every" => config.sweep_every = Duration::from_secs(number(&flag, &value()?)?),
            "--upload-window" => {
                config.upload_window = chrono::Duration::seconds(number(&flag, &value()?)?)
            }
            "--rules-dir" => config.rules_dir = Some(value()?.into()),
            "--orphan-grace" => {
                config.orphan_grace = chrono::Duration::seconds(number(&flag, &value()?)?)
            }
            "--multipart-threshold" => config.multipart_threshold = number(&flag, &value()?)?,
            "--part-size" => config.part_size = number(&flag, &value()?)?,
            "--max-upload-bytes" => config.policy.max_size = number(&flag, &value()?)?,
            "--max-scan-bytes" => config.scan_limits.max_scan_bytes = number(&flag, &value()?)?,
            "--carry-over-after-bytes" => {
                config.carry_over_after_bytes = Some(number(&flag, &value()?)?)
            }
            "--unscannable" => {
                let raw = value()?;
                config.scan_limits.unscannable = airlock_domain::Unscannable::parse(&raw)
                    .ok_or_else(|| {
                        format!("--unscannable takes reject or accept-unscanned, got {raw:?}")
                    })?;
            }
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown flag {other}\n{USAGE}")),
        }
    }
    Ok(config)
}

fn number<T: std::str::FromStr>(flag: &str, raw: &str) -> Result<T, String> {
    raw.parse()
        .map_err(|_| format!("{flag} takes a whole number, got {raw:?}"))
}

const USAGE: &str = "usage: airlock-stack [--data-dir DIR] [--port N] [--sweep-every SECS] \
                     [--upload-window SECS] [--rules-dir DIR] [--orphan-grace SECS] \
                     [--multipart-threshold BYTES] \
                     [--part-size BYTES] [--max-upload-bytes BYTES] [--max-scan-bytes BYTES] \
                     [--carry-over-after-bytes BYTES] [--unscannable reject|accept-unscanned]";
