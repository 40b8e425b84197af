//! Wiring: opens the data folder, builds the adapters and handlers once, and starts
//! the HTTP server, the notification delivery, the stream pump and the schedule.

use std::{
    io::Read,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use airlock_api::{Api, ApiSettings};
use airlock_ingest::{Carryover, Ingest};
use airlock_local::{
    DirRuleSource, FsObjectStore, JsonlEventBus, LocalError, SqliteCatalog, SystemClock,
};
use airlock_publish::Publish;
use airlock_scan::{ScanSettings, Scanning};
use airlock_sweep::{Sweep, SweepSettings};
use hmac::Mac;
use tokio::{sync::watch, task::JoinSet};

use crate::{
    config::StackConfig,
    http::{self, AppState},
    notifications::{self, Notifier},
    pump::Pump,
    schedule,
    token::DevTokens,
};

/// PENDING uploads a tenant may hold on the local stack.
const LOCAL_MAX_PENDING_UPLOADS: usize = 100_000;

/// The scanner for ingest or sweep: the default rules plus the folder's, whose
/// version is checked before every file (reading a few small files is cheap here).
async fn scanning(
    rules_dir: &Path,
    limits: airlock_domain::ScanLimits,
) -> Result<Scanning<DirRuleSource>, StackError> {
    Scanning::start(
        DirRuleSource::new(rules_dir),
        Duration::ZERO,
        ScanSettings::default(),
        limits,
    )
    .await
    .map_err(StackError::Rules)
}

/// The stack could not start.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// The data folder or a file in it could not be used.
    #[error("data folder {path}")]
    DataDir {
        /// The folder or file that could not be created, opened or written.
        path: PathBuf,
        /// The I/O error the operating system gave.
        #[source]
        source: std::io::Error,
    },
    /// An embedded adapter could not open.
    #[error("opening embedded storage")]
    Storage(#[source] LocalError),
    /// The default scanning rules did not compile (a bug in this build).
    #[error("compiling the scanning rules")]
    Rules(#[source] airlock_scan::RulesError),
    /// The port could not be bound.
    #[error("binding 127.0.0.1:{port}")]
    Bind {
        /// The port asked for on 127.0.0.1 (0 would have let the system choose).
        port: u16,
        /// The I/O error the operating system gave (most often: the port is taken).
        #[source]
        source: std::io::Error,
    },
}

/// A started stack.
pub struct RunningStack {
    /// Where the HTTP server listens.
    pub addr: SocketAddr,
    /// Where the data lives.
    pub data_dir: PathBuf,
    tokens: DevTokens,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl RunningStack {
    /// `http://127.0.0.1:{port}`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A dev token for `tenant`, valid for 24 hours.
    pub fn token_for(&self, tenant: &str) -> String {
        self.tokens
            .issue(tenant, chrono::Utc::now().timestamp(), 24 * 3600)
    }

    /// `events.jsonl` in the data folder, the local event bus: one EventBridge-shaped
    /// line per event published, appended as they happen.
    pub fn events_path(&self) -> PathBuf {
        events_path(&self.data_dir)
    }

    /// Stops every task and waits for them.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

fn events_path(data_dir: &Path) -> PathBuf {
    data_dir.join("events.jsonl")
}

/// Starts the stack.
pub async fn start(config: StackConfig) -> Result<RunningStack, StackError> {
    crate::invocations::starting();
    let data_dir = config.data_dir.clone();
    let data_err = |path: &Path| {
        let path = path.to_owned();
        move |source| StackError::DataDir { path, source }
    };
    std::fs::create_dir_all(&data_dir).map_err(data_err(&data_dir))?;
    let secret_path = data_dir.join("secret");
    let secret = load_or_create_secret(&secret_path).map_err(data_err(&secret_path))?;

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
        .await
        .map_err(|source| StackError::Bind {
            port: config.port,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StackError::Bind {
        port: config.port,
        source,
    })?;

    let store = FsObjectStore::new(
        data_dir.join("bucket"),
        format!("http://{addr}"),
        derive(&secret, "presign"),
    );
    let catalog = SqliteCatalog::open(&data_dir.join("catalog.db")).map_err(StackError::Storage)?;
    let bus = JsonlEventBus::open(&events_path(&data_dir)).map_err(StackError::Storage)?;
    let tokens = DevTokens::new(derive(&secret, "token"));

    let api = Api::new(
        catalog.clone(),
        store.clone(),
        catalog.clone(),
        SystemClock,
        ApiSettings {
            policy: config.policy.clone(),
            upload_window: config.upload_window,
            presign_ttl: config.presign_ttl,
            // Generous on one machine: the crash and load tests leave hundreds of
            // uploads PENDING on purpose. The limit itself is tested in the api.
            max_pending_uploads: LOCAL_MAX_PENDING_UPLOADS,
            multipart_threshold: config.multipart_threshold,
            part_size: config.part_size,
            multipart_window: config.multipart_window,
            ..ApiSettings::default()
        },
    );
    let rules_dir = config.rules_dir();
    std::fs::create_dir_all(&rules_dir).map_err(data_err(&rules_dir))?;
    let (notifier, deliveries) = notifications::channel();
    let notifier = notifier.losing_puts(config.lose_put_notifications);
    let ingest = Ingest::new(
        catalog.clone(),
        store.clone(),
        SystemClock,
        config.policy.clone(),
        scanning(&rules_dir, config.scan_limits).await?,
    )
    .with_quarantine(config.quarantine)
    // No deadline here: only a byte budget, when one is forced, stops a pass.
    .with_carryover(Carryover::through(
        notifier.downgrade(),
        airlock_ingest::carry_over::DEFAULT_MARGIN,
        config.carry_over_after_bytes,
    ));
    let publish = Publish::new(bus, catalog.clone());
    let sweep = Sweep::new(
        catalog.clone(),
        store.clone(),
        SystemClock,
        SweepSettings {
            retention: config.retention,
            orphan_grace: config.orphan_grace,
            retired_grace: config.retired_grace,
            ..SweepSettings::default()
        },
        scanning(&rules_dir, config.scan_limits).await?,
    )
    .with_quarantine(config.quarantine);

    let completions = notifier.downgrade();
    store.on_multipart_complete(move |key, size| completions.multipart_completed(key, size));
    let (shutdown, shutdown_rx) = watch::channel(false);
    let dead_letters = data_dir.join("dead-letters");
    let mut tasks = JoinSet::new();
    tasks.spawn(notifications::deliver(
        deliveries,
        Arc::new(ingest),
        config.ingest_max_attempts,
        dead_letters.join("ingest.jsonl"),
    ));
    let pump = Pump::new(
        catalog.clone(),
        publish,
        config.stream_batch_size,
        config.stream_max_attempts,
        dead_letters.join("publish.jsonl"),
    );
    tasks.spawn(pump.run(shutdown_rx.clone()));
    tasks.spawn(schedule::run(
        sweep,
        config.sweep_every,
        shutdown_rx.clone(),
    ));

    crate::invocations::ready();
    redeliver_unverified_uploads(&catalog, &store, &notifier).await;

    let app = http::router(AppState::new(
        api,
        store,
        tokens.clone(),
        notifier,
        events_path(&data_dir),
    ));
    let mut server_shutdown = shutdown_rx;
    tasks.spawn(async move {
        let stopped = async move {
            while !*server_shutdown.borrow() {
                if server_shutdown.changed().await.is_err() {
                    break;
                }
            }
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stopped)
            .await
        {
            tracing::error!(error = %e, "http server failed");
        }
    });

    Ok(RunningStack {
        addr,
        data_dir,
        tokens,
        shutdown,
        tasks,
    })
}

/// After a crash, an upload may be stored but never ingested (its notification lived
/// only in memory). Ingest is idempotent, so every PENDING file with bytes is simply
/// notified again.
async fn redeliver_unverified_uploads(
    catalog: &SqliteCatalog,
    store: &FsObjectStore,
    notifier: &Notifier,
) {
    let records = match catalog.pending_records().await {
        Ok(records) => records,
        Err(e) => {
            tracing::error!(error = %e, "could not scan for unverified uploads");
            return;
        }
    };
    let mut redelivered = 0;
    for record in &records {
        if store.exists(&record.key()).await {
            notifier.object_created(&record.key().to_string(), record.declared_size);
            redelivered += 1;
        }
    }
    if redelivered > 0 {
        tracing::info!(
            redelivered,
            "re-notified ingest of uploads stored before the last stop"
        );
    }
}

/// The stack's secret: created once, kept in the data folder (mode 0600) so tokens and
/// presigned URLs stay valid across restarts.
fn load_or_create_secret(path: &Path) -> std::io::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(secret) if secret.len() >= 32 => return Ok(secret),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut secret = vec![0; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut secret)?;
    write_private(path, &secret)?;
    Ok(secret)
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// A key for one purpose, derived from the secret, so a token key never signs URLs.
fn derive(secret: &[u8], purpose: &str) -> Vec<u8> {
    let mut mac = airlock_local::hmac_sha256(secret);
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().to_vec()
}
