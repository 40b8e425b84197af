//! Arming points: to fail at their first hit, or to kill the process there. The local
//! stack reads what to arm from [`FAULTS_ENV`] when it starts.

use crate::{Injected, points};

/// `point=mode` pairs separated by `;`, e.g. `pump.between_delivery_and_checkpoint=kill`.
pub const FAULTS_ENV: &str = "AIRLOCK_FAULTS";

/// What an armed point does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    /// Its first hit returns the error of the step after it (fail's `1*return`); later
    /// hits pass, so the retry that follows finds the step working again.
    Error,
    /// Its first hit aborts the process: no destructor, shutdown or flush runs.
    Kill,
}

impl Mode {
    /// Both modes.
    pub const ALL: [Mode; 2] = [Mode::Error, Mode::Kill];

    /// The mode's name in [`FAULTS_ENV`].
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Kill => "kill",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|mode| mode.as_str() == raw)
    }
}

/// Why points could not be armed.
#[derive(Debug, thiserror::Error)]
pub enum ArmError {
    /// A name that is not in [`crate::POINTS`] (a typo would otherwise arm nothing).
    #[error("no fault point is named {0:?}")]
    UnknownPoint(String),
    /// A mode other than `error` or `kill`.
    #[error("fault point {point}: mode {mode:?} is neither error nor kill")]
    UnknownMode {
        /// The point.
        point: String,
        /// What was given.
        mode: String,
    },
    /// An entry without `=`.
    #[error("{FAULTS_ENV} entry {0:?} is not point=mode")]
    Malformed(String),
    /// The failpoint registry refused the action.
    #[error("fault point {point}: {why}")]
    Refused {
        /// The point.
        point: &'static str,
        /// fail's message.
        why: String,
    },
    /// A release build: its fault points are compiled out, so arming one would test
    /// nothing.
    #[error("this build has no fault points (release builds compile them out)")]
    CompiledOut,
}

/// Arms the points [`FAULTS_ENV`] names; none when it is unset or empty.
pub fn arm_from_env() -> Result<Vec<(&'static str, Mode)>, ArmError> {
    let spec = std::env::var(FAULTS_ENV).unwrap_or_default();
    let mut armed = Vec::new();
    for entry in spec.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (point, mode) = entry
            .split_once('=')
            .ok_or_else(|| ArmError::Malformed(entry.to_owned()))?;
        let mode = Mode::parse(mode.trim()).ok_or_else(|| ArmError::UnknownMode {
            point: point.to_owned(),
            mode: mode.to_owned(),
        })?;
        armed.push((arm(point.trim(), mode)?, mode));
    }
    Ok(armed)
}

/// Arms one point; returns its name as listed.
pub fn arm(point: &str, mode: Mode) -> Result<&'static str, ArmError> {
    if !cfg!(debug_assertions) {
        return Err(ArmError::CompiledOut);
    }
    let point = points::find(point)
        .ok_or_else(|| ArmError::UnknownPoint(point.to_owned()))?
        .name;
    let armed = match mode {
        Mode::Error => fail::cfg(point, "1*return"),
        Mode::Kill => fail::cfg_callback(point, move || {
            Injected::fired(point);
            std::process::abort();
        }),
    };
    armed.map_err(|why| ArmError::Refused { point, why })?;
    tracing::warn!(point, mode = mode.as_str(), "fault point armed");
    Ok(point)
}
