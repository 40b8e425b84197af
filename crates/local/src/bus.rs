//! The event bus as an append-only JSON-lines file, one EventBridge-shaped entry a
//! line. An event id already on file is not appended again, so a redelivered change
//! leaves exactly one entry.

use std::{
    collections::HashSet,
    fs::{File, OpenOptions},
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use airlock_domain::{
    DomainEvent, EVENT_SOURCE,
    ports::{EventPublisher, PublishError},
};

use crate::LocalError;

/// Appends events to a file. Cheap to clone; clones share the file.
#[derive(Clone)]
pub struct JsonlEventBus {
    inner: Arc<Mutex<Log>>,
}

struct Log {
    path: PathBuf,
    file: File,
    seen: HashSet<String>,
}

impl JsonlEventBus {
    /// Opens (or creates) the log at `path`, remembering the ids already in it.
    pub fn open(path: &Path) -> Result<Self, LocalError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        drop_torn_tail(path)?;
        let seen = read_bus_file(path)?
            .into_iter()
            .filter_map(|entry| entry["id"].as_str().map(str::to_owned))
            .collect();
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self {
            inner: Arc::new(Mutex::new(Log {
                path: path.to_owned(),
                file,
                seen,
            })),
        })
    }

    /// Where the log is.
    pub fn path(&self) -> PathBuf {
        self.lock().path.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Log> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn append(&self, events: &[DomainEvent]) -> Result<(), LocalError> {
        let mut log = self.lock();
        let mut lines = String::new();
        let mut fresh = Vec::new();
        for event in events {
            if log.seen.contains(&event.id) || fresh.contains(&event.id) {
                continue;
            }
            lines.push_str(&serde_json::to_string(&entry(event)?)?);
            lines.push('\n');
            fresh.push(event.id.clone());
        }
        if lines.is_empty() {
            return Ok(());
        }
        log.file.write_all(lines.as_bytes())?;
        // Durable before it is acknowledged, like PutEvents.
        log.file.sync_data()?;
        for line in &fresh {
            tracing::info!(target: "airlock::bus", event = %line, "event published");
        }
        log.seen.extend(fresh);
        Ok(())
    }
}

/// Cuts a partial last line left by a crash mid-append, so the next entry starts on a
/// line of its own.
fn drop_torn_tail(path: &Path) -> Result<(), LocalError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if bytes.last().is_none_or(|b| *b == b'\n') {
        return Ok(());
    }
    let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    OpenOptions::new()
        .write(true)
        .open(path)?
        .set_len(keep as u64)?;
    Ok(())
}

/// The EventBridge entry shape: what a rule target would receive.
fn entry(event: &DomainEvent) -> Result<serde_json::Value, LocalError> {
    Ok(serde_json::json!({
        "version": "0",
        "id": event.id,
        "source": EVENT_SOURCE,
        "detail-type": event.kind.name(),
        "time": event.occurred_at,
        "region": "local",
        "resources": [],
        "detail": serde_json::to_value(event)?,
    }))
}

/// Every entry in a bus file, in order (none if it does not exist yet). A torn last
/// line, left by a crash mid-write, is skipped.
pub fn read_bus_file(path: &Path) -> Result<Vec<serde_json::Value>, LocalError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut entries = Vec::new();
    for line in BufReader::new(file).lines() {
        if let Ok(entry) = serde_json::from_str(&line?) {
            entries.push(entry);
        }
    }
    Ok(entries)
}

impl EventPublisher for JsonlEventBus {
    async fn publish(&self, events: &[DomainEvent]) -> Result<Vec<String>, PublishError> {
        let bus = self.clone();
        let events = events.to_vec();
        tokio::task::spawn_blocking(move || bus.append(&events))
            .await
            .map_err(|e| PublishError::Backend(Box::new(e)))?
            .map_err(|e| PublishError::Backend(Box::new(e)))?;
        Ok(Vec::new())
    }
}
