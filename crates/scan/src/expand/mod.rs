//! Container expansion: the members of an upload (zip and its OOXML/ODF kin, tar,
//! gzip, bzip2, xz, zstd, PDF streams, OLE compound files), found by their magic bytes
//! and scanned one by one with the rules in force, to any depth the budgets allow.
//!
//! - [`detect`]: which container, if any, some bytes are.
//! - [`held`]: collects one member as it expands, in memory up to what the levels
//!   above it leave of the memory budget and in a temporary file past it, and stops
//!   it at the ratio and expansion budgets.
//! - [`walk`]: the walker, which scans each member, names it by its path through
//!   the containers, opens it in turn when it is a container, and keeps the tally.
//! - one module per format ([`zip`], [`tar`], [`streams`], [`pdf`], [`ole`] with
//!   [`vba`] for the macro projects in it), each handing the walker its members as
//!   readers.

pub mod detect;
pub mod held;
pub mod ole;
pub mod pdf;
pub mod pdf_filters;
pub mod pdf_names;
pub mod streams;
pub mod tar;
pub mod vba;
pub mod walk;
pub mod zip;

pub use detect::{Container, container_of};
pub use walk::{Hit, Level, Member, Walker};
