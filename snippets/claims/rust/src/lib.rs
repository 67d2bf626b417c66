//! Helpers shared by the probe binaries in `src/bin/`: a ticker that records when it ran, and the
//! figures of a time window (ticks inside it, largest gap between ticks around it).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Instants at which a ticker task ran.
#[derive(Clone, Default)]
pub struct Ticks(Arc<Mutex<Vec<Instant>>>);

impl Ticks {
    /// Spawns a task on the current runtime that records a tick every `period`, forever.
    pub fn spawn_ticker(&self, period: Duration) -> tokio::task::JoinHandle<()> {
        let ticks = self.clone();
        tokio::spawn(async move {
            loop {
                ticks.record();
                tokio::time::sleep(period).await;
            }
        })
    }

    pub fn record(&self) {
        // A poisoned lock only means another probe thread panicked: keep the ticks it left.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(Instant::now());
    }

    /// Ticks strictly inside (start, end), and the largest gap in milliseconds between
    /// consecutive ticks from the last tick before `start` to the first tick after `end`.
    pub fn window(&self, start: Instant, end: Instant) -> (usize, u128) {
        let ticks = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let before = ticks
            .iter()
            .filter(|t| **t <= start)
            .last()
            .copied()
            .unwrap_or(start);
        let after = ticks.iter().find(|t| **t >= end).copied().unwrap_or(end);
        let inside: Vec<Instant> = ticks
            .iter()
            .copied()
            .filter(|t| *t > start && *t < end)
            .collect();
        let mut points = vec![before];
        points.extend(&inside);
        points.push(after);
        let gap = points
            .windows(2)
            .map(|pair| pair[1].duration_since(pair[0]).as_millis())
            .max()
            .unwrap_or(0);
        (inside.len(), gap)
    }
}

/// Spins the CPU until `until`, without yielding.
pub fn spin_until(until: Instant) -> u64 {
    let mut work: u64 = 0;
    while Instant::now() < until {
        work = (work.wrapping_mul(31).wrapping_add(7)) % 1_000_003;
    }
    std::hint::black_box(work)
}

/// The message of a caught panic.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|text| text.to_string()))
        .unwrap_or_else(|| "(a panic without a message)".to_string())
}
