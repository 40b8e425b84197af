//! Scanning past the scan limit: an object too large to keep whole is scanned as it
//! streams, in windows of the memory budget that overlap by [`OVERLAP`], so memory
//! stays at one window whatever the object's size and a pattern up to the overlap
//! long is found wherever it lies, across a window's edge too. Each window is one
//! scan, under the scan timeout; conditions see one window at a time (`filesize` is
//! the window's) and containers are not opened, which the report says
//! ([`ScanMode::Windowed`]).
//!
//! Windows sit on one grid from the object's first byte, so a scan can stop at the end
//! of any window and another invocation go on from there with the window's overlap
//! read again ([`WindowScan::progress`], [`WindowScan::resume`]), scanning exactly the
//! windows one unbroken scan would have.

use std::{collections::BTreeMap, sync::Arc};

use airlock_domain::{ScanReport, SkipReason, WindowProgress, Windows};

use crate::{CompiledRules, ScanError, ScanSettings, Subject, expand::Hit, scanner::rule_names};

mod workers;

pub use workers::scanning_threads;
use workers::{Done, Workers};

/// Bytes each window shares with the one before.
pub const OVERLAP: usize = 1024 * 1024;

/// A windowed scan in progress: windows are filled here as the object streams and
/// scanned on other threads ([`workers`]), several at once on a machine with the
/// cores for it.
pub struct WindowScan {
    workers: Workers,
    settings: ScanSettings,
    window: usize,
    buffer: Vec<u8>,
    /// Leading bytes of `buffer` some window has scanned already (the overlap).
    scanned: usize,
    /// Windows handed out so far, those of earlier invocations included.
    count: u64,
    /// Rules matched in the windows of earlier invocations.
    carried: Vec<Hit>,
    /// Rules matched in this invocation's windows, by window.
    found: BTreeMap<u64, Vec<Hit>>,
    /// Buffers of scanned windows, to fill again.
    spare: Vec<Vec<u8>>,
    timed_out: bool,
}

/// The window a scan under `settings` uses: the memory budget, and at least twice
/// the overlap, so every window has new bytes.
pub fn window_len(settings: ScanSettings) -> usize {
    settings.memory_budget.max(2 * OVERLAP)
}

/// The first window end at or past `offset`: windows of `window` bytes advance by
/// `window - OVERLAP`, so they end at `window`, `2 window - OVERLAP`, …
pub fn next_window_end(window: usize, offset: u64) -> u64 {
    let (window, step) = (window as u64, (window - OVERLAP) as u64);
    if offset <= window {
        return window;
    }
    window + (offset - window).div_ceil(step) * step
}

impl WindowScan {
    /// A scan with `rules`, in windows of [`window_len`].
    pub fn new(
        rules: &Arc<CompiledRules>,
        subject: Subject,
        settings: ScanSettings,
    ) -> Result<Self, ScanError> {
        let window = window_len(settings);
        Ok(Self {
            workers: Workers::start(scanning_threads(), rules, &subject, settings)?,
            settings,
            window,
            buffer: Vec::with_capacity(window),
            scanned: 0,
            count: 0,
            carried: Vec::new(),
            found: BTreeMap::new(),
            spare: Vec::new(),
            timed_out: false,
        })
    }

    /// Goes on with a scan another invocation stopped at the end of a window: the
    /// windows and matches so far come from `progress`, and `overlap` is the last
    /// [`OVERLAP`] bytes of that window, scanned already and scanned again as the
    /// start of the next window, as an unbroken scan would.
    pub fn resume(
        rules: &Arc<CompiledRules>,
        subject: Subject,
        settings: ScanSettings,
        progress: &WindowProgress,
        overlap: &[u8],
    ) -> Result<Self, ScanError> {
        let mut scan = Self::new(rules, subject, settings)?;
        scan.count = progress.count;
        scan.timed_out = progress.timed_out;
        let hit = |policy: bool| {
            move |rule: &String| Hit {
                rule: rule.clone(),
                path: None,
                policy,
            }
        };
        scan.carried.extend(progress.matched.iter().map(hit(false)));
        scan.carried.extend(progress.flagged.iter().map(hit(true)));
        scan.buffer.extend_from_slice(overlap);
        scan.scanned = overlap.len();
        Ok(scan)
    }

    /// The windows so far, once every window handed out is scanned, when the scan
    /// stands at the end of a window (it holds exactly the overlap, all scanned):
    /// what [`resume`](Self::resume) goes on from.
    pub fn progress(&mut self) -> Result<Option<WindowProgress>, ScanError> {
        let finished = self.workers.drain()?;
        self.absorb(finished)?;
        let at_window_end =
            self.count > 0 && self.buffer.len() == OVERLAP && self.scanned == OVERLAP;
        let hits = self.hits();
        Ok(at_window_end.then(|| WindowProgress {
            count: self.count,
            matched: rule_names(&hits, false),
            flagged: rule_names(&hits, true),
            timed_out: self.timed_out,
        }))
    }

    /// The next bytes of the object; every full window is handed to a scanning
    /// thread at once.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), ScanError> {
        while !bytes.is_empty() {
            let room = self.window - self.buffer.len();
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            self.buffer.extend_from_slice(now);
            bytes = later;
            if self.buffer.len() == self.window {
                self.scan_buffer()?;
            }
        }
        Ok(())
    }

    /// Scans what is left, waits for every window, and reports.
    pub fn finish(mut self, ruleset: String) -> Result<ScanReport, ScanError> {
        if self.buffer.len() > self.scanned || self.count == 0 {
            self.scan_buffer()?;
        }
        let finished = self.workers.drain()?;
        self.absorb(finished)?;
        if self.timed_out {
            return Ok(ScanReport::Skipped {
                ruleset,
                rule_files: Vec::new(),
                why: SkipReason::ScanTimedOut {
                    after_secs: self.settings.timeout.as_secs(),
                },
            });
        }
        let window = Windows {
            bytes: self.window as u64,
            overlap: OVERLAP as u64,
            count: self.count,
        };
        let hits = self.hits();
        let names = (rule_names(&hits, false), rule_names(&hits, true));
        Ok(ScanReport::windowed(ruleset, names, window))
    }

    /// Hands the buffer to a scanning thread and starts the next window with its
    /// last [`OVERLAP`] bytes.
    fn scan_buffer(&mut self) -> Result<(), ScanError> {
        // Wait for a thread first, so the buffer its window comes back in is the
        // one filled next: memory stays at one window a thread and the one filling.
        let finished = self.workers.wait_for_a_free_thread()?;
        self.absorb(finished)?;
        let mut next = self
            .spare
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(self.window));
        next.clear();
        next.extend_from_slice(&self.buffer[self.buffer.len().saturating_sub(OVERLAP)..]);
        let window = std::mem::replace(&mut self.buffer, next);
        self.scanned = self.buffer.len();
        // Past a window that ran out of time the file counts as unscanned: the rest
        // is only drained.
        if self.timed_out {
            self.spare.push(window);
            return Ok(());
        }
        self.count += 1;
        self.workers.submit(self.count, window)
    }

    /// Takes in scans that came back.
    fn absorb(&mut self, finished: Vec<Done>) -> Result<(), ScanError> {
        for done in finished {
            let (hits, in_time) = done.outcome?;
            self.timed_out |= !in_time;
            self.found.insert(done.index, hits);
            self.spare.push(done.bytes);
        }
        Ok(())
    }

    /// Every rule that matched, earlier invocations' first, then window by window.
    fn hits(&self) -> Vec<Hit> {
        let mut hits = self.carried.clone();
        hits.extend(self.found.values().flatten().cloned());
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> std::sync::Arc<CompiledRules> {
        let file = airlock_domain::ports::RuleFile {
            name: "t.yar".into(),
            source: r#"rule marker { strings: $m = "AIRLOCK-WINDOW-MARKER" condition: $m }"#.into(),
        };
        crate::compile(&[file], "v1").unwrap()
    }

    fn settings(window: usize) -> ScanSettings {
        ScanSettings {
            memory_budget: window,
            ..ScanSettings::default()
        }
    }

    fn scan(rules: &Arc<CompiledRules>, bytes: &[u8], window: usize, chunk: usize) -> ScanReport {
        let mut scan = WindowScan::new(rules, Subject::default(), settings(window)).unwrap();
        for piece in bytes.chunks(chunk) {
            scan.feed(piece).unwrap();
        }
        scan.finish("r".into()).unwrap()
    }

    fn matched(report: &ScanReport) -> Vec<String> {
        match report {
            ScanReport::Scanned { matched, .. } => matched.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_pattern_across_a_windows_edge_is_found_in_the_overlap() {
        let rules = rules();
        let window = 2 * OVERLAP;
        let mut bytes = vec![b'.'; 5 * OVERLAP];
        let marker = b"AIRLOCK-WINDOW-MARKER";
        let edge = window - 10;
        bytes[edge..edge + marker.len()].copy_from_slice(marker);

        let report = scan(&rules, &bytes, window, 64 * 1024);

        assert_eq!(matched(&report), ["t.marker"]);
        let ScanReport::Scanned {
            mode,
            window: Some(w),
            ..
        } = report
        else {
            panic!("no windows");
        };
        assert_eq!(mode, airlock_domain::ScanMode::Windowed);
        assert_eq!((w.bytes, w.overlap), (window as u64, OVERLAP as u64));
        // 5 MiB in windows of 2 MiB advancing 1 MiB: 4 windows.
        assert_eq!(w.count, 4);
    }

    #[test]
    fn window_ends_lie_on_one_grid_from_the_first_byte() {
        let window = 4 * OVERLAP;
        let step = (3 * OVERLAP) as u64;
        assert_eq!(next_window_end(window, 0), window as u64);
        assert_eq!(next_window_end(window, window as u64), window as u64);
        assert_eq!(
            next_window_end(window, window as u64 + 1),
            window as u64 + step
        );
        assert_eq!(
            next_window_end(window, window as u64 + step),
            window as u64 + step
        );
        assert_eq!(
            next_window_end(window, window as u64 + step + 1),
            window as u64 + 2 * step
        );
    }

    #[test]
    fn a_scan_stopped_at_a_window_end_and_resumed_finds_what_one_unbroken_scan_finds() {
        let rules = rules();
        let window = 2 * OVERLAP;
        let marker = b"AIRLOCK-WINDOW-MARKER";
        let mut bytes = vec![b'.'; 7 * OVERLAP + 5];
        // One marker across the edge of the window the scan stops at, one later.
        let stop = next_window_end(window, 3 * OVERLAP as u64) as usize;
        bytes[stop - 8..stop - 8 + marker.len()].copy_from_slice(marker);
        let unbroken = scan(&rules, &bytes, window, 64 * 1024);

        let mut first = WindowScan::new(&rules, Subject::default(), settings(window)).unwrap();
        for piece in bytes[..stop].chunks(100_000) {
            first.feed(piece).unwrap();
        }
        let progress = first.progress().unwrap().expect("stopped at a window end");
        let mut second = WindowScan::resume(
            &rules,
            Subject::default(),
            settings(window),
            &progress,
            &bytes[stop - OVERLAP..stop],
        )
        .unwrap();
        for piece in bytes[stop..].chunks(77_777) {
            second.feed(piece).unwrap();
        }
        let resumed = second.finish("r".into()).unwrap();

        assert_eq!(matched(&resumed), ["t.marker"]);
        assert_eq!(resumed, unbroken);
    }

    #[test]
    fn a_scan_between_window_ends_has_no_progress_to_carry_over() {
        let rules = rules();
        let mut scan = WindowScan::new(&rules, Subject::default(), settings(2 * OVERLAP)).unwrap();
        scan.feed(&vec![b'.'; 2 * OVERLAP + 10]).unwrap();
        assert_eq!(scan.progress().unwrap(), None);
    }

    #[test]
    fn bytes_without_the_pattern_match_nothing_and_the_last_window_is_scanned() {
        let rules = rules();
        let mut bytes = vec![b'.'; 3 * OVERLAP + 7];
        assert!(matched(&scan(&rules, &bytes, 2 * OVERLAP, 1000)).is_empty());
        let marker = b"AIRLOCK-WINDOW-MARKER";
        let end = bytes.len();
        bytes[end - marker.len()..].copy_from_slice(marker);
        assert_eq!(
            matched(&scan(&rules, &bytes, 2 * OVERLAP, 1000)),
            ["t.marker"]
        );
    }
}
