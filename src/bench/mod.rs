//! `bench`: scenarios measured the way hyperfine and criterion measure.

pub mod statistics;
