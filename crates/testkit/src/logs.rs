//! Log lines kept in memory, for tests that read what a handler logged (or the metric
//! lines it wrote): the same JSON lines a Lambda function writes to stdout.

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use airlock_telemetry::logging::JsonLines;
use serde_json::{Value, json};
use tracing_subscriber::{Layer, filter::LevelFilter, fmt::MakeWriter};

/// A shared, growing buffer of log output; clones write to the same one.
#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.lock()).into_owned()
    }

    /// Every line, parsed; a line that is not JSON is returned as a JSON string.
    pub fn lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|_| json!(line)))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        // A test that panicked mid-write leaves bytes worth reading.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Installs the functions' JSON-lines layer writing here (every level) as the
    /// current thread's default subscriber, until the guard is dropped; metrics outside
    /// any function's span are attributed to `default_function`.
    pub fn capture(&self, default_function: &str) -> tracing::subscriber::DefaultGuard {
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::registry()
            .with(JsonLines::new(self.clone(), default_function).with_filter(LevelFilter::TRACE));
        tracing::subscriber::set_default(subscriber)
    }
}

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
