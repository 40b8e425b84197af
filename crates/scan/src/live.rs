//! The ruleset a warm function keeps: loaded once per cold start, checked against the
//! rule source at most once per interval, loaded again only when the source's version
//! changed. A rule file that does not compile is left out (logged with the compiler's
//! message and counted in the `RuleFilesLeftOut` metric); the others are in force.
//!
//! Loading prefers the precompiled blob kept beside the rules for that version (see
//! [`crate::precompiled`]) and compiles only when it is missing or unusable, then
//! keeps the result for the next cold start.
//!
//! Fail closed: when a cold start cannot list or read the deployment's rules, there
//! is no ruleset, and every scan fails (the event is retried) until a later
//! invocation reads them. A warm function whose re-check fails keeps the set it has.
//!
//! A Lambda cold start can begin that first load in the background
//! ([`LiveRules::start_in_background`]): the function answers events that need no scan
//! at once, and the first scan, which reads its object before it asks for the rules,
//! waits only for what is left of the load.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use tokio::{sync::OnceCell, task::JoinHandle};

use airlock_domain::{
    error_chain,
    ports::{RuleFile, RuleSource},
};

use crate::{
    CompiledRules, RulesError, compile,
    precompiled::{blob_name, from_blob, to_blob},
    rules::{Origin, builtin_version},
};

/// The version used for a source with no rule files.
pub const NO_CUSTOM_RULES: &str = "none";

/// The `tracing` target the log layer turns into EMF metrics (`airlock-telemetry`'s
/// `METRICS_TARGET`; this crate does not depend on it).
pub const METRICS_TARGET: &str = "airlock_metrics";

/// The metric counting rule files left out of a loaded ruleset (`airlock-telemetry`'s
/// `Metric::RuleFilesLeftOut`).
pub const RULE_FILES_LEFT_OUT: &str = "RuleFilesLeftOut";

struct State {
    current: Arc<CompiledRules>,
    /// The source version `current` was built from.
    source_version: String,
    checked_at: Instant,
}

/// See the module docs.
pub struct LiveRules<S> {
    source: S,
    check_every: Duration,
    /// Set once the first load is done.
    state: OnceCell<Mutex<State>>,
    /// The first load while it runs in the background.
    first: Mutex<Option<JoinHandle<Result<State, RulesError>>>>,
}

impl<S: RuleSource> LiveRules<S> {
    /// Loads the rules for a cold start; fails when the source cannot be read (see
    /// the module docs) or the default rules do not compile.
    pub async fn start(source: S, check_every: Duration) -> Result<Self, RulesError> {
        let state = first_state(&source).await?;
        Ok(Self::with_state(source, check_every, state))
    }

    /// The default rules alone, compiled now; the source is first checked at the first
    /// scan (the local stack and tools, which need no cold start).
    pub fn with_default_rules(source: S, check_every: Duration) -> Result<Self, RulesError> {
        let state = State {
            current: compile(&[], NO_CUSTOM_RULES)?,
            source_version: NO_CUSTOM_RULES.to_owned(),
            checked_at: Instant::now()
                .checked_sub(check_every)
                .unwrap_or_else(Instant::now),
        };
        Ok(Self::with_state(source, check_every, state))
    }

    fn with_state(source: S, check_every: Duration, state: State) -> Self {
        Self {
            source,
            check_every,
            state: OnceCell::new_with(Some(Mutex::new(state))),
            first: Mutex::new(None),
        }
    }

    /// The rules to scan with now: those in force, after checking the source when the
    /// interval has passed (and loading again if its version changed). Waits for the
    /// first load if it still runs; fails while no set could be loaded at all, and
    /// then the next call tries the source again.
    pub async fn current(&self) -> Result<Arc<CompiledRules>, RulesError> {
        let state = self.state().await?;
        let due = {
            let state = lock(state);
            (state.checked_at.elapsed() >= self.check_every).then(|| state.source_version.clone())
        };
        if let Some(in_force) = due {
            self.refresh(state, &in_force).await;
        }
        Ok(lock(state).current.clone())
    }

    /// The rules in force, without checking the source; `None` until a first load
    /// succeeded.
    pub fn in_force(&self) -> Option<Arc<CompiledRules>> {
        self.state.get().map(|state| lock(state).current.clone())
    }

    /// Waits for the first load (a no-op after it).
    pub async fn ready(&self) -> Result<(), RulesError> {
        self.state().await.map(drop)
    }

    async fn state(&self) -> Result<&Mutex<State>, RulesError> {
        self.state
            .get_or_try_init(|| async {
                let background = self
                    .first
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                // The background load is awaited once; after it failed, each call
                // loads again, so a throttled cold start recovers on a retry.
                let state = match background {
                    Some(first) => first.await.map_err(RulesError::Task)??,
                    None => first_state(&self.source).await?,
                };
                Ok(Mutex::new(state))
            })
            .await
    }

    async fn refresh(&self, state: &Mutex<State>, in_force: &str) {
        let version = match self.source.version().await {
            Ok(version) => version,
            Err(error) => {
                tracing::warn!(error = %error_chain(&error), "rules source unreadable; keeping the rules in force");
                return mark_checked(state);
            }
        };
        if version == in_force {
            return mark_checked(state);
        }
        let loaded = load(&self.source, &version).await;
        let mut state = lock(state);
        state.checked_at = Instant::now();
        match loaded {
            Ok((rules, version)) => {
                tracing::info!(ruleset = rules.version(), "rules changed; loaded");
                state.current = rules;
                state.source_version = version;
            }
            Err(error) => {
                tracing::error!(error = %error_chain(&error), "new rules unavailable; the previous rules stay in force");
            }
        }
    }
}

impl<S: RuleSource + Clone + 'static> LiveRules<S> {
    /// [`LiveRules::start`] on a task of its own: returns at once, and the first scan
    /// waits for what is left of the load. A Lambda cold start then costs no more than
    /// a function without rules for events that need no scan, and the first scan's
    /// read of its object overlaps the load. Needs a tokio runtime.
    pub fn start_in_background(source: S, check_every: Duration) -> Self {
        let first = tokio::spawn({
            let source = source.clone();
            async move { first_state(&source).await }
        });
        Self {
            source,
            check_every,
            state: OnceCell::new(),
            first: Mutex::new(Some(first)),
        }
    }
}

/// The rules of a cold start, or why there are none.
async fn first_state<S: RuleSource>(source: &S) -> Result<State, RulesError> {
    let started = Instant::now();
    let version = source.version().await.map_err(|error| {
        tracing::error!(error = %error_chain(&error), "rules unreadable; no scan until they are read");
        RulesError::Source(error)
    })?;
    let (current, source_version) = load(source, &version).await?;
    tracing::info!(
        ruleset = current.version(),
        precompiled = current.origin() == Origin::Precompiled,
        millis = started.elapsed().as_millis() as u64,
        "{RULES_COMPILED_MESSAGE}"
    );
    Ok(State {
        current,
        source_version,
        checked_at: Instant::now(),
    })
}

/// The message of the log line that ends a cold start's load; `millis` counts from
/// the start of listing the rules (`make bench` reads it).
pub const RULES_COMPILED_MESSAGE: &str = "rules compiled";

/// The ruleset of source version `version`: its precompiled blob when there is a
/// usable one, else compiled from the source (and kept as a blob for next time).
/// Returns the source version the set was built from.
async fn load<S: RuleSource>(
    source: &S,
    version: &str,
) -> Result<(Arc<CompiledRules>, String), RulesError> {
    let ruleset = format!("{}+{version}", builtin_version());
    let rules = match precompiled(source, &ruleset).await {
        Some(rules) => (rules, version.to_owned()),
        None => {
            let (version, files) = source.load().await.map_err(|error| {
                tracing::error!(error = %error_chain(&error), "rule files unreadable");
                RulesError::Source(error)
            })?;
            let rules = compile_off_the_runtime(files, version.clone()).await??;
            keep_precompiled(source, &rules).await;
            (rules, version)
        }
    };
    report_left_out(&rules.0);
    Ok(rules)
}

/// The precompiled set for `ruleset`, if one is kept and reads back.
async fn precompiled<S: RuleSource>(source: &S, ruleset: &str) -> Option<Arc<CompiledRules>> {
    let name = blob_name(ruleset);
    let blob = match source.load_compiled(&name).await {
        Ok(blob) => blob?,
        Err(error) => {
            tracing::warn!(blob = name, error = %error_chain(&error), "precompiled rules unreadable; compiling");
            return None;
        }
    };
    let ruleset = ruleset.to_owned();
    // Deserializing rebuilds the rules' native code: CPU work, off the runtime.
    match tokio::task::spawn_blocking(move || from_blob(&blob, &ruleset)).await {
        Ok(Ok(rules)) => Some(Arc::new(rules)),
        Ok(Err(error)) => {
            tracing::warn!(blob = name, error = %error_chain(&error), "precompiled rules unusable; compiling");
            None
        }
        Err(error) => {
            tracing::warn!(blob = name, error = %error, "reading precompiled rules failed; compiling");
            None
        }
    }
}

/// Writes `rules` back as a blob; a failure costs the next cold start a compilation,
/// nothing more, so it is logged.
async fn keep_precompiled<S: RuleSource>(source: &S, rules: &Arc<CompiledRules>) {
    let name = blob_name(rules.version());
    let serialized = tokio::task::spawn_blocking({
        let rules = rules.clone();
        move || to_blob(&rules)
    })
    .await;
    let blob = match serialized {
        Ok(Ok(blob)) => blob,
        Ok(Err(error)) => {
            return tracing::warn!(blob = name, error = %error_chain(&error), "rules not kept precompiled");
        }
        Err(error) => {
            return tracing::warn!(blob = name, error = %error, "rules not kept precompiled");
        }
    };
    match source.save_compiled(&name, blob).await {
        Ok(()) => tracing::info!(blob = name, "rules kept precompiled"),
        Err(error) => {
            tracing::warn!(blob = name, error = %error_chain(&error), "rules not kept precompiled")
        }
    }
}

/// Names each file left out in the log and counts them as a metric.
fn report_left_out(rules: &CompiledRules) {
    for left_out in rules.left_out() {
        tracing::error!(
            ruleset = rules.version(),
            file = left_out.file,
            error = left_out.why,
            "rule file left out: it does not compile; the other rules are in force"
        );
    }
    if !rules.left_out().is_empty() {
        let measurements = serde_json::json!({
            "values": { RULE_FILES_LEFT_OUT: [rules.left_out().len()] },
            "properties": { "left_out": rules.left_out().iter().map(|l| &l.file).collect::<Vec<_>>() },
        });
        tracing::info!(target: METRICS_TARGET, measurements = %measurements);
    }
}

/// Compiles on a blocking thread: compilation takes milliseconds of CPU, which would
/// otherwise hold up the runtime's other tasks (the Lambda runtime client, a read).
async fn compile_off_the_runtime(
    files: Vec<RuleFile>,
    version: String,
) -> Result<Result<Arc<CompiledRules>, RulesError>, RulesError> {
    tokio::task::spawn_blocking(move || compile(&files, &version))
        .await
        .map_err(RulesError::Task)
}

fn mark_checked(state: &Mutex<State>) {
    lock(state).checked_at = Instant::now();
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    // Nothing here can leave the state half-written, so a poisoned lock is usable.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}
