//! The ruleset a warm function keeps: compiled once per cold start, checked against
//! the rule source at most once per interval, recompiled only when the source's
//! version changed. New rules that do not compile are reported with the compiler's
//! message and the set in force stays; that version is not tried again until the
//! source changes once more.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use airlock_domain::{error_chain, ports::RuleSource};

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
    state: Mutex<State>,
}

impl<S: RuleSource> LiveRules<S> {
    /// Loads and compiles the rules for a cold start. When the deployment's rules
    /// cannot be read or do not compile, the default rules alone are in force and the
    /// reason is logged, so a bad upload of rules never stops intake.
    pub async fn start(source: S, check_every: Duration) -> Result<Self, RulesError> {
        let started = Instant::now();
        let (current, source_version, refused_version) = match source.load().await {
            Ok((version, files)) => match compile(&files, &version) {
                Ok(rules) => (rules, version, None),
                Err(error) => {
                    tracing::error!(version, error = %error, "rules refused; default rules only");
                    (
                        compile(&[], NO_CUSTOM_RULES)?,
                        NO_CUSTOM_RULES.to_owned(),
                        Some(version),
                    )
                }
            },
            Err(error) => {
                tracing::error!(error = %error_chain(&error), "rules unreadable; default rules only");
                (
                    compile(&[], NO_CUSTOM_RULES)?,
                    NO_CUSTOM_RULES.to_owned(),
                    None,
                )
            }
        };
        tracing::info!(
            ruleset = current.version(),
            millis = started.elapsed().as_millis() as u64,
            "rules compiled"
        );
        Ok(Self {
            source,
            check_every,
            state: Mutex::new(State {
                current,
                source_version,
                refused_version,
                checked_at: Instant::now(),
            }),
        })
    }

    /// The default rules alone, compiled on the calling thread, with `source`
    /// consulted on the first [`Self::current`]: for callers that cannot await at
    /// construction (test worlds, fuzz harnesses).
    pub fn with_default_rules(source: S, check_every: Duration) -> Result<Self, RulesError> {
        Ok(Self {
            source,
            check_every,
            state: Mutex::new(State {
                current: compile(&[], NO_CUSTOM_RULES)?,
                source_version: NO_CUSTOM_RULES.to_owned(),
                refused_version: None,
                checked_at: Instant::now()
                    .checked_sub(check_every)
                    .unwrap_or_else(Instant::now),
            }),
        })
    }

    /// The set in force, after checking the source if the interval has passed.
    pub async fn current(&self) -> Arc<CompiledRules> {
        let due = {
            let state = self.lock();
            (state.checked_at.elapsed() >= self.check_every)
                .then(|| (state.source_version.clone(), state.refused_version.clone()))
        };
        if let Some((in_force, refused)) = due {
            self.refresh(&in_force, refused.as_deref()).await;
        }
        self.lock().current.clone()
    }

    /// The set in force, without checking.
    pub fn in_force(&self) -> Arc<CompiledRules> {
        self.lock().current.clone()
    }

    async fn refresh(&self, in_force: &str, refused: Option<&str>) {
        let version = match self.source.version().await {
            Ok(version) => version,
            Err(error) => {
                tracing::warn!(error = %error_chain(&error), "rules source unreadable; keeping the rules in force");
                return self.mark_checked();
            }
        };
        if version == in_force || Some(version.as_str()) == refused {
            return self.mark_checked();
        }
        let loaded = match self.source.load().await {
            Ok(loaded) => loaded,
            Err(error) => {
                tracing::warn!(error = %error_chain(&error), "rules source unreadable; keeping the rules in force");
                return self.mark_checked();
            }
        };
        let (version, files) = loaded;
        let compiled = tokio::task::spawn_blocking({
            let version = version.clone();
            move || compile(&files, &version)
        })
        .await;
        let mut state = self.lock();
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

    fn mark_checked(&self) {
        self.lock().checked_at = Instant::now();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Nothing here can leave the state half-written, so a poisoned lock is usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
