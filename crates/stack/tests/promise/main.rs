//! Airlock's promise, tested: a file is never lost, never double-counted, and never
//! readable before it is CLEAN or by another tenant, under duplicate deliveries,
//! racing writers, poison records, hostile input, crashes and load.
//!
//! Every test closes the books ([`accounting`]): one event per state change, counters
//! equal to a recount of the catalog.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

mod accounting;
mod at_least_once;
mod clients;
mod corpus;
mod crash;
mod fault_workloads;
mod faults;
mod hostile;
mod load;
mod poison;
#[path = "../common/process.rs"]
mod process;
mod races;
mod world;
