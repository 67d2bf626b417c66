//! The request journal: every request the mock answered, in arrival order, plus counters.
//!
//! Serving must never wait on the journal, so appending takes no lock and copies nothing: each
//! request takes an arrival number from an atomic counter, and its parts as hyper parsed them
//! (method, URI, header map, body bytes) are moved, not formatted, into a [`RawEntry`] sent down
//! an unbounded channel (`std::sync::mpsc`, a lock-free linked queue). Only the reader locks, to
//! move what arrived into its ordered list, and turns entries into [`RecordedRequest`]s when
//! asked. In [`JournalMode::CountsOnly`] nothing is kept: only the per-mapping counters move, for
//! throughput runs that would otherwise keep millions of entries.

use super::fault::Fault;
use super::matching::{authority_of, path_and_query_of, Scheme};
use crate::observation::RecordedRequest;
use bytes::Bytes;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};

/// What the mock keeps about each request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum JournalMode {
    /// A [`RecordedRequest`] per request (method, URL, headers, body, answer).
    #[default]
    Full,
    /// Only counters: requests per mapping, unmatched requests, faults.
    CountsOnly,
}

/// Called with every request as it is answered (before any delay), e.g. to log it.
pub type RequestObserver = Arc<dyn Fn(&RecordedRequest) + Send + Sync>;

/// How the mock serves, beyond its mappings.
#[derive(Clone, Default)]
pub struct MockOptions {
    pub journal: JournalMode,
    pub observer: Option<RequestObserver>,
}

impl std::fmt::Debug for MockOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockOptions")
            .field("journal", &self.journal)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

/// Request counts, kept in every journal mode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MockCounts {
    /// Every request answered (including unmatched ones and faults).
    pub requests: u64,
    /// Requests no mapping matched (answered 404 with a near miss).
    pub unmatched: u64,
    /// Requests answered with a fault.
    pub faults: u64,
    /// For each mapping, in definition order: its label and how many requests it answered.
    pub per_mapping: Vec<(String, u64)>,
}

/// One answered request as the server had it: moved, not copied.
pub(super) struct RawEntry {
    pub(super) scheme: Scheme,
    pub(super) request: http::request::Parts,
    pub(super) body: Bytes,
    /// 0 when a fault answered.
    pub(super) status: u16,
    /// Index of the mapping that answered.
    pub(super) mapping: Option<usize>,
    pub(super) fault: Option<Fault>,
    pub(super) near_miss: Option<String>,
}

pub(super) struct Journal {
    mode: JournalMode,
    observer: Option<RequestObserver>,
    next_arrival: AtomicU64,
    sender: Sender<(u64, RawEntry)>,
    reader: Mutex<Reader>,
    labels: Box<[String]>,
    per_mapping: Box<[AtomicU64]>,
    unmatched: AtomicU64,
    faults: AtomicU64,
}

struct Reader {
    receiver: Receiver<(u64, RawEntry)>,
    /// Everything received so far, sorted by arrival number.
    entries: Vec<(u64, RawEntry)>,
}

impl Journal {
    /// A journal for mappings with these labels (in definition order).
    pub(super) fn new(labels: Vec<String>, options: MockOptions) -> Self {
        let (sender, receiver) = channel();
        Journal {
            mode: options.journal,
            observer: options.observer,
            next_arrival: AtomicU64::new(0),
            sender,
            reader: Mutex::new(Reader {
                receiver,
                entries: Vec::new(),
            }),
            per_mapping: labels.iter().map(|_| AtomicU64::new(0)).collect(),
            labels: labels.into(),
            unmatched: AtomicU64::new(0),
            faults: AtomicU64::new(0),
        }
    }

    /// Takes the arrival number of a request that just came in.
    pub(super) fn arrival(&self) -> u64 {
        self.next_arrival.fetch_add(1, Ordering::Relaxed)
    }

    /// Counts an answered request and keeps it, if this journal keeps entries, or shows it to
    /// the observer.
    pub(super) fn record(&self, arrival: u64, entry: RawEntry) {
        match entry.mapping.and_then(|index| self.per_mapping.get(index)) {
            Some(counter) => counter.fetch_add(1, Ordering::Relaxed),
            None => self.unmatched.fetch_add(1, Ordering::Relaxed),
        };
        if entry.fault.is_some() {
            self.faults.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(observer) = &self.observer {
            observer(&self.recorded(&entry));
        }
        if self.mode == JournalMode::Full {
            // The receiver lives as long as `self`, so sending cannot fail.
            let _ = self.sender.send((arrival, entry));
        }
    }

    /// Every entry recorded so far, in arrival order.
    pub(super) fn entries(&self) -> Vec<RecordedRequest> {
        let mut reader = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        let Reader { receiver, entries } = &mut *reader;
        let before = entries.len();
        entries.extend(receiver.try_iter());
        if entries.len() > before {
            // Entries arrive nearly in order: a stable sort of a nearly sorted list is cheap.
            entries.sort_by_key(|(arrival, _)| *arrival);
        }
        entries
            .iter()
            .map(|(_, entry)| self.recorded(entry))
            .collect()
    }

    fn recorded(&self, entry: &RawEntry) -> RecordedRequest {
        let request = &entry.request;
        let headers = request
            .headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_string(), value)
            })
            .collect();
        RecordedRequest {
            method: request.method.as_str().to_string(),
            url: format!(
                "{}://{}{}",
                entry.scheme.as_str(),
                authority_of(&request.headers, &request.uri),
                path_and_query_of(&request.uri)
            ),
            headers,
            body: (!entry.body.is_empty())
                .then(|| String::from_utf8_lossy(&entry.body).into_owned()),
            status: entry.status,
            mapping: entry
                .mapping
                .and_then(|index| self.labels.get(index))
                .cloned(),
            near_miss: entry.near_miss.clone(),
            fault: entry.fault.map(|fault| fault.as_str().to_string()),
        }
    }

    pub(super) fn counts(&self) -> MockCounts {
        let per_mapping: Vec<(String, u64)> = self
            .labels
            .iter()
            .zip(self.per_mapping.iter())
            .map(|(label, count)| (label.clone(), count.load(Ordering::Relaxed)))
            .collect();
        let unmatched = self.unmatched.load(Ordering::Relaxed);
        MockCounts {
            requests: unmatched + per_mapping.iter().map(|(_, count)| count).sum::<u64>(),
            unmatched,
            faults: self.faults.load(Ordering::Relaxed),
            per_mapping,
        }
    }
}
