//! Faults at chosen points. Every step boundary of the four handlers and of the local
//! stack's pump, notifications and object writes carries a named fault point,
//! `fault!("ingest.after_scan", |injected| Err(…))`, and every name is listed once in
//! [`POINTS`] with the boundary it sits at.
//!
//! A point does nothing until it is armed, to fail or to kill ([`Mode`]). Armed to
//! fail, it returns from its function with the error of the step after it, built from
//! an [`Injected`] and mapped into that layer's error type, so the retry paths that
//! error would take run. Armed to kill, it aborts the process on the spot, as a crash
//! would: no destructor, no shutdown. The local stack arms points from
//! `AIRLOCK_FAULTS` when it starts ([`arm_from_env`]); the stack's promise tests arm
//! each point in turn and check that nothing was lost or counted twice.
//!
//! Why this crate and the `fail` crate: `fail` is the standard failpoint crate (a
//! global registry of named points, actions such as `1*return`, callbacks); this crate
//! adds the one table of names and the compile-out. Points are compiled out of release
//! builds by [`fault!`] itself (`cfg(debug_assertions)`), not by `fail`'s
//! `failpoints` feature: a feature turned on only for tests would make `cargo build`
//! and `cargo test` build the tree with different features, twice.

mod arming;
mod injected;
mod points;

pub use arming::{ArmError, FAULTS_ENV, Mode, arm, arm_from_env};
pub use injected::{FIRED_ENV, Injected};
pub use points::{POINTS, Point, find};

/// The failpoint crate, for [`fault!`]'s expansion.
#[doc(hidden)]
pub use fail;

/// A named fault point: nothing happens unless the point is armed. Armed to fail, the
/// enclosing function returns `fails_as`, with the fired [`Injected`] bound to the
/// name given. The name must be listed in [`POINTS`] (a test checks it).
#[cfg(debug_assertions)]
#[macro_export]
macro_rules! fault {
    ($point:literal, |$injected:ident| $fails_as:expr) => {
        $crate::fail::fail_point!($point, |_| {
            let $injected = $crate::Injected::fired($point);
            $fails_as
        })
    };
}

/// A named fault point, compiled out: release builds carry no fault points.
#[cfg(not(debug_assertions))]
#[macro_export]
macro_rules! fault {
    ($point:literal, |$injected:ident| $fails_as:expr) => {};
}
