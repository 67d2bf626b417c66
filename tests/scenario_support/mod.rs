//! Helpers of tests/scenarios.rs.

pub mod direct;
pub mod programs;
