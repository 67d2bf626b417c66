//! sidebyside runs the same async example written in JavaScript, Python and Rust side by side
//! against a local mock API, checks that each still works and that they agree, and reports what
//! each runtime did.
//!
//! The data path reads left to right:
//! snippet files ([`snippet`]) are prepared by their [`runtime`], run by the [`runner`] through
//! the [`launcher`] (process group, resource accounting, namespace isolation) while the [`mock`]
//! answers their requests, producing [`observation::Observation`]s that [`verify`] judges and
//! [`report`] shows.

pub mod args;
pub mod bench;
pub mod changed;
pub mod claims;
pub mod compare;
pub mod error;
pub mod events;
pub mod ground;
pub mod harness;
pub mod isolation;
pub mod launcher;
pub mod list;
pub mod mock;
pub mod observation;
pub mod partition;
pub mod paths;
pub mod report;
pub mod results;
pub mod runner;
pub mod runtime;
pub mod selection;
pub mod shutdown;
pub mod snippet;
pub mod verify;
pub mod wire;
