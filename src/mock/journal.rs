//! The request journal: every request the mock answered, in arrival order, plus counters.
//!
//! Serving must never wait on the journal, so appending takes no lock and formats nothing: each
//! request takes an arrival number from an atomic counter, and its URL, headers and body are
//! copied into one packed allocation, a [`RawEntry`] sent down an unbounded channel
//! (`std::sync::mpsc`, a lock-free linked queue). Only the reader locks, to move what arrived
//! into its ordered list, and unpacks entries into [`RecordedRequest`]s when asked. In [`JournalMode::CountsOnly`] nothing is kept: only the per-mapping counters move, for
//! throughput runs that would otherwise keep millions of entries.

use super::fault::Fault;
use super::limits::ConnectionLimits;
use super::matching::RequestView;
use super::wire::RequestClock;
use crate::observation::RecordedRequest;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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
#[derive(Clone)]
pub struct MockOptions {
    pub journal: JournalMode,
    pub observer: Option<RequestObserver>,
    /// Connection cap and timeouts.
    pub limits: ConnectionLimits,
    /// The most entries the journal keeps: past it, the oldest go (a ring; counts are kept).
    pub journal_entries: usize,
    /// Bytes of each request body the journal keeps; a longer body keeps its beginning and its
    /// size.
    pub journal_body_bytes: usize,
    /// The largest request body read; a larger one is answered 413 (and journaled, its size
    /// counted up to where reading stopped).
    pub max_body_bytes: usize,
    /// Bytes of request bodies held at once across connections (at least two bodies of the
    /// largest size): a body reserves its announced size before it is read, and waits while
    /// the budget is spent; a body that announces none takes room as its pieces arrive, and
    /// one such body at a time may finish from room for one body of the largest size kept
    /// for it.
    pub body_budget_bytes: usize,
    /// Writes a mapping file for each distinct request a proxying mapping forwarded
    /// (`sidebyside record`).
    pub recorder: Option<std::sync::Arc<super::record::Recorder>>,
}

impl MockOptions {
    /// Default [`journal_entries`](Self::journal_entries).
    pub const DEFAULT_JOURNAL_ENTRIES: usize = 100_000;
    /// Default [`journal_body_bytes`](Self::journal_body_bytes): 1 MiB.
    pub const DEFAULT_JOURNAL_BODY_BYTES: usize = 1 << 20;
    /// Default [`max_body_bytes`](Self::max_body_bytes): 64 MiB.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 64 << 20;
    /// Default [`body_budget_bytes`](Self::body_budget_bytes): 256 MiB.
    pub const DEFAULT_BODY_BUDGET_BYTES: usize = 256 << 20;
}

impl Default for MockOptions {
    fn default() -> Self {
        MockOptions {
            journal: JournalMode::default(),
            observer: None,
            limits: ConnectionLimits::default(),
            journal_entries: Self::DEFAULT_JOURNAL_ENTRIES,
            journal_body_bytes: Self::DEFAULT_JOURNAL_BODY_BYTES,
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            body_budget_bytes: Self::DEFAULT_BODY_BUDGET_BYTES,
            recorder: None,
        }
    }
}

impl std::fmt::Debug for MockOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockOptions")
            .field("journal", &self.journal)
            .field("observer", &self.observer.is_some())
            .field("limits", &self.limits)
            .field("journal_entries", &self.journal_entries)
            .field("journal_body_bytes", &self.journal_body_bytes)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("body_budget_bytes", &self.body_budget_bytes)
            .field("recorder", &self.recorder)
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

/// One answered request, packed for the journal: the URL, headers and body copied into a
/// single allocation (not kept as hyper's `Bytes`, which would pin each connection's read
/// buffer), decoded into a [`RecordedRequest`] only when the journal is read.
pub(super) struct RawEntry {
    method: http::Method,
    /// The URL, then each header's name and value, each preceded by its length (`u32`, native
    /// byte order), then the body.
    packed: Box<[u8]>,
    header_count: u32,
    /// The whole body's size (the packed body may be only its beginning).
    body_size: u64,
    /// 0 when a fault answered.
    status: u16,
    /// Index of the mapping that answered.
    mapping: Option<usize>,
    fault: Option<Fault>,
    near_miss: Option<String>,
    /// The request's moments on the wire, when the mock times them.
    clock: Option<Arc<RequestClock>>,
}

impl RawEntry {
    /// The entry of a request timed by `clock`.
    pub(super) fn timed(mut self, clock: Option<Arc<RequestClock>>) -> Self {
        self.clock = clock;
        self
    }

    pub(super) fn new(
        view: &RequestView,
        status: u16,
        mapping: Option<usize>,
        fault: Option<Fault>,
        near_miss: Option<String>,
    ) -> Self {
        Self::with_body_size(
            view,
            view.body.len() as u64,
            status,
            mapping,
            fault,
            near_miss,
        )
    }

    /// An entry for a request whose whole body was `body_size` bytes long (`view.body` may be
    /// only its beginning, when it was too large to read).
    pub(super) fn with_body_size(
        view: &RequestView,
        body_size: u64,
        status: u16,
        mapping: Option<usize>,
        fault: Option<Fault>,
        near_miss: Option<String>,
    ) -> Self {
        const PREFIX: usize = std::mem::size_of::<u32>();
        let scheme = view.scheme.as_str();
        let url_length = scheme.len() + 3 + view.authority.len() + view.path_and_query.len();
        let headers_length: usize = view
            .headers
            .iter()
            .map(|(name, value)| 2 * PREFIX + name.as_str().len() + value.len())
            .sum();
        let mut packed = Vec::with_capacity(PREFIX + url_length + headers_length + view.body.len());
        let mut push = |bytes: &[u8]| {
            // Lengths above 4 GiB cannot occur: hyper limits heads to far less.
            packed.extend_from_slice(&(bytes.len() as u32).to_ne_bytes());
            packed.extend_from_slice(bytes);
        };
        push(format!("{scheme}://{}{}", view.authority, view.path_and_query).as_bytes());
        for (name, value) in view.headers {
            push(name.as_str().as_bytes());
            push(value.as_bytes());
        }
        packed.extend_from_slice(view.body);
        RawEntry {
            body_size,
            method: http::Method::from_bytes(view.method.as_bytes()).unwrap_or_default(),
            packed: packed.into_boxed_slice(),
            header_count: view.headers.len() as u32,
            status,
            mapping,
            fault,
            near_miss,
            clock: None,
        }
    }

    /// Keeps at most `limit` bytes of the body (its beginning).
    fn keep_body(&mut self, limit: usize) {
        let body_length = self.body_length();
        if body_length > limit {
            let body_start = self.packed.len() - body_length;
            let mut packed = std::mem::take(&mut self.packed).into_vec();
            packed.truncate(body_start + limit);
            self.packed = packed.into_boxed_slice();
        }
    }

    /// Bytes of body packed (what follows the URL and the headers).
    fn body_length(&self) -> usize {
        let mut offset = 0;
        let fields = 1 + 2 * self.header_count as usize;
        for _ in 0..fields {
            let Some(prefix) = self.packed.get(offset..offset + 4) else {
                return 0;
            };
            let length = prefix.try_into().map(u32::from_ne_bytes).unwrap_or(0) as usize;
            offset += 4 + length;
        }
        self.packed.len().saturating_sub(offset)
    }

    /// The URL, the headers, and the body, unpacked.
    fn unpack(&self) -> (String, Vec<(String, String)>, &[u8]) {
        let mut rest: &[u8] = &self.packed;
        let mut next = || {
            let (length, tail) = rest.split_at(std::mem::size_of::<u32>().min(rest.len()));
            let length = length.try_into().map(u32::from_ne_bytes).unwrap_or(0) as usize;
            let (field, tail) = tail.split_at(length.min(tail.len()));
            rest = tail;
            String::from_utf8_lossy(field).into_owned()
        };
        let url = next();
        let headers = (0..self.header_count).map(|_| (next(), next())).collect();
        (url, headers, rest)
    }
}

pub(super) struct Journal {
    mode: JournalMode,
    capacity: usize,
    body_bytes: usize,
    /// Entries sent and not yet moved into the reader's ring.
    pending: AtomicUsize,
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
    /// The latest entries received (at most the journal's capacity), by arrival number.
    entries: VecDeque<(u64, RawEntry)>,
}

impl Journal {
    /// A journal for mappings with these labels (in definition order).
    pub(super) fn new(labels: Vec<String>, options: MockOptions) -> Self {
        let (sender, receiver) = channel();
        Journal {
            mode: options.journal,
            capacity: options.journal_entries.max(1),
            body_bytes: options.journal_body_bytes,
            pending: AtomicUsize::new(0),
            observer: options.observer,
            next_arrival: AtomicU64::new(0),
            sender,
            reader: Mutex::new(Reader {
                receiver,
                entries: VecDeque::new(),
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

    /// Counts a request answered by mapping `mapping` (`None`: unmatched), and keeps the entry
    /// `build` makes if this journal keeps entries or shows them to an observer.
    pub(super) fn record(
        &self,
        arrival: u64,
        mapping: Option<usize>,
        faulted: bool,
        build: impl FnOnce() -> RawEntry,
    ) {
        match mapping.and_then(|index| self.per_mapping.get(index)) {
            Some(counter) => counter.fetch_add(1, Ordering::Relaxed),
            None => self.unmatched.fetch_add(1, Ordering::Relaxed),
        };
        if faulted {
            self.faults.fetch_add(1, Ordering::Relaxed);
        }
        if self.mode == JournalMode::CountsOnly && self.observer.is_none() {
            return;
        }
        let mut entry = build();
        if let Some(observer) = &self.observer {
            observer(&self.recorded(&entry));
        }
        if self.mode == JournalMode::Full {
            entry.keep_body(self.body_bytes);
            // The receiver lives as long as `self`, so sending cannot fail.
            let _ = self.sender.send((arrival, entry));
            // Nobody may ever read this journal (`sidebyside mock`): past the capacity, the
            // request that notices moves what arrived into the ring, which drops the oldest.
            if self.pending.fetch_add(1, Ordering::Relaxed) + 1 >= self.capacity {
                if let Ok(mut reader) = self.reader.try_lock() {
                    self.collect(&mut reader);
                }
            }
        }
    }

    /// Moves what arrived into the ring, in arrival order, keeping the latest `capacity`.
    fn collect(&self, reader: &mut Reader) {
        let Reader { receiver, entries } = reader;
        let mut arrived: Vec<(u64, RawEntry)> = receiver.try_iter().collect();
        self.pending.fetch_sub(arrived.len(), Ordering::Relaxed);
        if arrived.is_empty() {
            return;
        }
        // Entries arrive nearly in order: a stable sort of a nearly sorted list is cheap.
        arrived.sort_by_key(|(arrival, _)| *arrival);
        let excess = arrived.len().saturating_sub(self.capacity);
        entries.extend(arrived.into_iter().skip(excess));
        if entries
            .iter()
            .zip(entries.iter().skip(1))
            .any(|(a, b)| a.0 > b.0)
        {
            entries
                .make_contiguous()
                .sort_by_key(|(arrival, _)| *arrival);
        }
        while entries.len() > self.capacity {
            entries.pop_front();
        }
    }

    /// Every entry recorded so far, in arrival order.
    pub(super) fn entries(&self) -> Vec<RecordedRequest> {
        let mut reader = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        self.collect(&mut reader);
        reader
            .entries
            .iter()
            .map(|(_, entry)| self.recorded(entry))
            .collect()
    }

    fn recorded(&self, entry: &RawEntry) -> RecordedRequest {
        let (url, headers, body) = entry.unpack();
        RecordedRequest {
            method: entry.method.as_str().to_string(),
            url,
            headers,
            body: (!body.is_empty()).then(|| String::from_utf8_lossy(body).into_owned()),
            body_bytes: (entry.body_size > body.len() as u64).then_some(entry.body_size),
            status: entry.status,
            mapping: entry
                .mapping
                .and_then(|index| self.labels.get(index))
                .cloned(),
            near_miss: entry.near_miss.clone(),
            fault: entry.fault.map(|fault| fault.as_str().to_string()),
            timing: entry.clock.as_ref().map(|clock| clock.timing()),
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
