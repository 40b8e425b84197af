//! The ruleset a warm function keeps: compiled once per cold start, checked against
//! the rule source at most once per interval, recompiled only when the source's
//! version changed. New rules that do not compile are reported with the compiler's
//! message and the set in force stays; that version is not tried again until the
//! source changes once more.
//!
//! A Lambda cold start can begin that first compilation in the background
//! ([`LiveRules::start_in_background`]): the function answers events that need no scan
//! at once, and the first scan, which reads its object before it asks for the rules,
//! waits only for what is left of the compilation.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use tokio::{sync::OnceCell, task::JoinHandle};

use airlock_domain::{
    error_chain,
    ports::{RuleFile, RuleSource},
};

use crate::{CompiledRules, RulesError, compile};

/// The version used for a source with no rule files, or one that could not be read
/// at a cold start.
pub const NO_CUSTOM_RULES: &str = "none";

struct State {
    current: Arc<CompiledRules>,
    /// The source version `current` was built from.
    source_version: String,
    /// A source version that failed to compile, not to be retried.
    refused_version: Option<String>,
    checked_at: Instant,
}

/// See the module docs.
pub struct LiveRules<S> {
    source: S,
    check_every: Duration,
    /// Set once the first compilation is done.
    state: OnceCell<Mutex<State>>,
    /// The first compilation while it runs in the background.
    first: Mutex<Option<JoinHandle<Result<State, RulesError>>>>,
}

impl<S: RuleSource> LiveRules<S> {
    /// Loads and compiles the rules for a cold start. When the deployment's rules
    /// cannot be read or do not compile, the default rules alone are in force and the
    /// reason is logged, so a bad upload of rules never stops intake.
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
            refused_version: None,
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
    /// interval has passed (and recompiling if its version changed). Waits for the
    /// first compilation if it still runs; fails only if that failed, which only
    /// broken default rules can cause.
    pub async fn current(&self) -> Result<Arc<CompiledRules>, RulesError> {
        let state = self.state().await?;
        let due = {
            let state = lock(state);
            (state.checked_at.elapsed() >= self.check_every)
                .then(|| (state.source_version.clone(), state.refused_version.clone()))
        };
        if let Some((in_force, refused)) = due {
            self.refresh(state, &in_force, refused.as_deref()).await;
        }
        Ok(lock(state).current.clone())
    }

    /// The rules in force, without checking the source; `None` while the first
    /// compilation runs.
    pub fn in_force(&self) -> Option<Arc<CompiledRules>> {
        self.state.get().map(|state| lock(state).current.clone())
    }

    /// Waits for the first compilation (a no-op after it).
    pub async fn ready(&self) -> Result<(), RulesError> {
        self.state().await.map(drop)
    }

    async fn state(&self) -> Result<&Mutex<State>, RulesError> {
        self.state
            .get_or_try_init(|| async {
                let first = self
                    .first
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                let first = first.ok_or(RulesError::FirstCompilationFailed)?;
                let state = first.await.map_err(RulesError::Task)??;
                Ok(Mutex::new(state))
            })
            .await
    }

    async fn refresh(&self, state: &Mutex<State>, in_force: &str, refused: Option<&str>) {
        let version = match self.source.version().await {
            Ok(version) => version,
            Err(error) => {
                tracing::warn!(error = %error_chain(&error), "rules source unreadable; keeping the rules in force");
                return mark_checked(state);
            }
        };
        if version == in_force || Some(version.as_str()) == refused {
            return mark_checked(state);
        }
        let loaded = match self.source.load().await {
            Ok(loaded) => loaded,
            Err(error) => {
                tracing::warn!(error = %error_chain(&error), "rules source unreadable; keeping the rules in force");
                return mark_checked(state);
            }
        };
        let (version, files) = loaded;
        let compiled = tokio::task::spawn_blocking({
            let version = version.clone();
            move || compile(&files, &version)
        })
        .await;
        let mut state = lock(state);
        state.checked_at = Instant::now();
        match compiled {
            Ok(Ok(rules)) => {
                tracing::info!(ruleset = rules.version(), "rules changed; recompiled");
                state.current = rules;
                state.source_version = version;
                state.refused_version = None;
            }
            Ok(Err(error)) => {
                tracing::error!(version, error = %error, "rules refused; the previous rules stay in force");
                state.refused_version = Some(version);
            }
            Err(error) => {
                tracing::error!(error = %error, "rule compilation task failed; the previous rules stay in force");
            }
        }
    }
}

impl<S: RuleSource + Clone + 'static> LiveRules<S> {
    /// [`LiveRules::start`] on a task of its own: returns at once, and the first scan
    /// waits for what is left of the compilation. A Lambda cold start then costs no
    /// more than a function without rules for events that need no scan, and the first
    /// scan's read of its object overlaps the compilation. Needs a tokio runtime.
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

/// The rules of a cold start: the source's, else the default rules alone (logged).
async fn first_state<S: RuleSource>(source: &S) -> Result<State, RulesError> {
    let started = Instant::now();
    let (current, source_version, refused_version) = match source.load().await {
        Ok((version, files)) => match compile_off_the_runtime(files, version.clone()).await? {
            Ok(rules) => (rules, version, None),
            Err(error) => {
                tracing::error!(version, error = %error, "rules refused; default rules only");
                (
                    compile_off_the_runtime(Vec::new(), NO_CUSTOM_RULES.to_owned()).await??,
                    NO_CUSTOM_RULES.to_owned(),
                    Some(version),
                )
            }
        },
        Err(error) => {
            tracing::error!(error = %error_chain(&error), "rules unreadable; default rules only");
            (
                compile_off_the_runtime(Vec::new(), NO_CUSTOM_RULES.to_owned()).await??,
                NO_CUSTOM_RULES.to_owned(),
                None,
            )
        }
    };
    tracing::info!(
        ruleset = current.version(),
        millis = started.elapsed().as_millis() as u64,
        "{RULES_COMPILED_MESSAGE}"
    );
    Ok(State {
        current,
        source_version,
        refused_version,
        checked_at: Instant::now(),
    })
}

/// The message of the log line that ends a cold start's compilation; `millis` counts
/// from the start of loading the rules (`make bench` reads it).
pub const RULES_COMPILED_MESSAGE: &str = "rules compiled";

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
