//! The progress display of `airlock upload` (indicatif): one bar per file and a total,
//! with bytes, rate and ETA, on stderr, and only when stderr is a terminal, so logs
//! and pipes get no control characters.
//!
//! A file's bar appears when its first bytes go out, not before, so a folder of a
//! thousand files shows what is moving rather than a thousand empty bars; past
//! [`KEEP_FINISHED_UP_TO`] files, finished bars are cleared and the total stays.

use std::{
    io::IsTerminal,
    sync::{Arc, OnceLock},
    time::Duration,
};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Up to this many files, every file's finished bar stays on the screen.
const KEEP_FINISHED_UP_TO: usize = 20;

/// How often the bars are redrawn.
const TICK: Duration = Duration::from_millis(100);

/// Each file's bar and the total's: name, bar, bytes, rate, ETA.
const TEMPLATE: &str =
    "{msg:24!} [{bar:30}] {bytes:>10}/{total_bytes:<10} {binary_bytes_per_sec:>12} ETA {eta}";

/// The whole display; a hidden one when not on a terminal.
pub struct Progress {
    multi: MultiProgress,
    total: ProgressBar,
    shown: bool,
    keep_finished: bool,
}

/// One file's bar, which also moves the total.
#[derive(Clone)]
pub struct FileBar {
    bar: ProgressBar,
    total: ProgressBar,
    multi: MultiProgress,
    placed: Arc<OnceLock<()>>,
    keep_finished: bool,
}

impl Progress {
    /// The display for `files` files of `bytes` bytes in all; shown only if `wanted`
    /// and stderr is a terminal.
    pub fn new(files: usize, bytes: u64, wanted: bool) -> Self {
        let shown = wanted && std::io::stderr().is_terminal();
        let target = if shown {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let multi = MultiProgress::with_draw_target(target);
        let total = multi.add(ProgressBar::new(bytes).with_style(style(TEMPLATE)));
        let plural = if files == 1 { "" } else { "s" };
        total.set_message(format!("total ({files} file{plural})"));
        if shown {
            total.enable_steady_tick(TICK);
        }
        Self {
            multi,
            total,
            shown,
            keep_finished: files <= KEEP_FINISHED_UP_TO,
        }
    }

    /// A bar for one file, placed above the total once it moves.
    pub fn file(&self, name: &str, size: u64) -> FileBar {
        let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::hidden())
            .with_style(style(TEMPLATE));
        bar.set_message(name.to_owned());
        FileBar {
            bar,
            total: self.total.clone(),
            multi: self.multi.clone(),
            placed: Arc::new(OnceLock::new()),
            keep_finished: self.keep_finished,
        }
    }

    /// A message for the user, above the bars (or plainly on stderr).
    pub fn note(&self, message: &str) {
        if self.shown {
            let _ = self.multi.println(message);
        } else {
            eprintln!("{message}");
        }
    }

    /// A spinner below the bars while `files` verdicts are awaited.
    pub fn waiting(&self, files: usize) -> ProgressBar {
        let style =
            ProgressStyle::with_template("{spinner} waiting for verdicts: {pos}/{len} decided")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let spinner = self
            .multi
            .add(ProgressBar::new(files as u64).with_style(style));
        if self.shown {
            spinner.enable_steady_tick(TICK);
        }
        spinner
    }

    /// Leaves the final state of every bar on the screen.
    pub fn finish(&self) {
        self.total.finish();
    }
}

impl FileBar {
    /// `bytes` more were sent (or found already stored).
    pub fn advance(&self, bytes: u64) {
        self.place();
        self.bar.inc(bytes);
        self.total.inc(bytes);
    }

    /// Bytes counted for a transfer that failed and will be sent again.
    pub fn take_back(&self, bytes: u64) {
        self.bar.dec(bytes);
        self.total.dec(bytes);
    }

    /// The file is sent: its bar stays, with `message` (or goes, for many files).
    pub fn done(&self, message: &str) {
        if self.keep_finished {
            self.place();
            self.bar.finish_with_message(message.to_owned());
        } else {
            self.bar.finish_and_clear();
        }
    }

    fn place(&self) {
        self.placed.get_or_init(|| {
            self.multi.insert_before(&self.total, self.bar.clone());
        });
    }
}

fn style(template: &'static str) -> ProgressStyle {
    // The templates are constants of ours; the fallback keeps a bad one from failing
    // an upload.
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}
