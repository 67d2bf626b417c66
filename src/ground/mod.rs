//! The ground floor: small helpers every other module uses, importing nothing of sidebyside.
//!
//! [`files`] writes files atomically with one mode, [`children`] waits for a child process, [`units`] shows bytes and seconds,
//! [`statistics`] turns repeated measurements into medians, intervals and ratios. Arrows point
//! down: the launcher, runtimes, runner, reports, `verify`, `bench` and `claims` import these;
//! nothing here imports any of them (a helper that needs the results model belongs in
//! [`crate::results`] or above, as [`crate::results::derived`] does).

pub mod children;
pub mod files;
pub mod statistics;
pub mod units;
