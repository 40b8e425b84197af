//! The threads that scan a windowed pass's windows side by side: the pass hashes on
//! one core, and every other core scans a window of its own, each with its own
//! scanner over the same compiled rules. At most one window per thread is handed out
//! at a time, so memory stays at one window a thread whatever the object's size.

use std::{
    sync::{Arc, Mutex, mpsc},
    thread::JoinHandle,
};

use crate::{
    CompiledRules, ScanError, ScanSettings, Subject,
    expand::{Hit, Walker},
};

/// How many threads scan windows: every core but the one the pass hashes on, and at
/// least one. Memory is one window a thread, and the one being filled.
pub fn scanning_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get().saturating_sub(1))
        .max(1)
}

/// One window to scan: its place in the object and its bytes.
struct Job {
    index: u64,
    bytes: Vec<u8>,
}

/// A window scanned: its place, the rules that matched, and whether it finished
/// within the scan timeout; and its buffer, handed back to be filled again.
pub(crate) struct Done {
    pub index: u64,
    pub outcome: Result<(Vec<Hit>, bool), ScanError>,
    pub bytes: Vec<u8>,
}

/// The threads, the windows in flight, and the scans that came back.
pub(crate) struct Workers {
    jobs: Option<mpsc::SyncSender<Job>>,
    results: mpsc::Receiver<Done>,
    threads: Vec<JoinHandle<()>>,
    in_flight: usize,
}

impl Workers {
    /// Starts `count` threads scanning with `rules` as `subject`.
    pub fn start(
        count: usize,
        rules: &Arc<CompiledRules>,
        subject: &Subject,
        settings: ScanSettings,
    ) -> Result<Self, ScanError> {
        let (jobs, queued) = mpsc::sync_channel::<Job>(0);
        let queued = Arc::new(Mutex::new(queued));
        let (done, results) = mpsc::channel();
        let mut threads = Vec::with_capacity(count);
        for _ in 0..count {
            let (rules, subject, queued, done) = (
                Arc::clone(rules),
                subject.clone(),
                Arc::clone(&queued),
                done.clone(),
            );
            let thread = std::thread::Builder::new()
                .name("airlock-window".into())
                .spawn(move || work(&rules, &subject, settings, &queued, &done))
                .map_err(ScanError::Spool)?;
            threads.push(thread);
        }
        Ok(Self {
            jobs: Some(jobs),
            results,
            threads,
            in_flight: 0,
        })
    }

    /// Waits, when every thread is busy, for a scan to come back; returns the scans
    /// that came back.
    pub fn wait_for_a_free_thread(&mut self) -> Result<Vec<Done>, ScanError> {
        if self.in_flight < self.threads.len() {
            return Ok(Vec::new());
        }
        Ok(vec![self.next()?])
    }

    /// Hands window `index` to a thread (one is free: see
    /// [`wait_for_a_free_thread`](Self::wait_for_a_free_thread)).
    pub fn submit(&mut self, index: u64, bytes: Vec<u8>) -> Result<(), ScanError> {
        let jobs = self.jobs.as_ref().ok_or(ScanError::WorkerLost)?;
        jobs.send(Job { index, bytes })
            .map_err(|_| ScanError::WorkerLost)?;
        self.in_flight += 1;
        Ok(())
    }

    /// Waits for every window in flight.
    pub fn drain(&mut self) -> Result<Vec<Done>, ScanError> {
        let mut finished = Vec::with_capacity(self.in_flight);
        while self.in_flight > 0 {
            finished.push(self.next()?);
        }
        Ok(finished)
    }

    fn next(&mut self) -> Result<Done, ScanError> {
        let done = self.results.recv().map_err(|_| ScanError::WorkerLost)?;
        self.in_flight -= 1;
        Ok(done)
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        // Closing the queue ends every thread's loop.
        self.jobs = None;
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// One thread's loop: takes windows until the queue closes.
fn work(
    rules: &CompiledRules,
    subject: &Subject,
    settings: ScanSettings,
    queued: &Mutex<mpsc::Receiver<Job>>,
    done: &mpsc::Sender<Done>,
) {
    let mut scanner = yara_x::Scanner::new(rules.rules());
    // The externals were defined by `compile` as strings; setting strings cannot fail.
    let _ = scanner.set_global("declared_type", subject.declared_type.as_str());
    let _ = scanner.set_global("owner", subject.owner.as_str());
    let root = subject.root().to_owned();
    loop {
        let job = match queued.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        // One walker a window: each window has the whole scan timeout, and nothing
        // is opened (a window is no container).
        let mut walker = Walker::new(
            &mut scanner,
            airlock_domain::ArchiveLimits::default(),
            0,
            settings.timeout,
        );
        let outcome = walker
            .scan_item(&job.bytes, &root, None, None)
            .map(|in_time| (std::mem::take(&mut walker.hits), in_time));
        if done
            .send(Done {
                index: job.index,
                outcome,
                bytes: job.bytes,
            })
            .is_err()
        {
            return;
        }
    }
}
