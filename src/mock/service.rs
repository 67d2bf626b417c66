//! Answering one request: the match table, the response, the near miss, the journal entry.
//!
//! The table is built once from the mappings: their indices ordered by priority, then the most
//! recently defined first (WireMock's tie-break), so the first mapping whose every criterion
//! holds answers. It is immutable and shared by every connection (`Arc`), so matching takes no
//! lock, unless some mapping is in a scenario: then a request is matched and its scenario step
//! taken under the scenarios' lock. Every request's body is read before matching (body criteria
//! need it, and the journal keeps it), within a budget of bytes held at once ([`BodyBudget`]).

use super::fault::Fault;
use super::journal::{Journal, MockOptions, RawEntry};
use super::limits::{Activity, Connections};
use super::mapping::{Mapping, MockDefinition};
use super::matching::{RequestView, Scheme};
use super::near_miss::near_miss;
use super::record::Recorder;
use super::scenario::ScenarioStates;
use super::wire::{TimedBody, Wire};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body as _, Incoming};
use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::oneshot;

/// What every connection of one running mock shares.
pub(super) struct Shared {
    mappings: Arc<[Mapping]>,
    /// Indices into `mappings`, highest priority first, then the last defined first.
    order: Box<[usize]>,
    pub(super) journal: Journal,
    /// The clock of this mock and its connections (off in the counts-only journal mode).
    pub(super) wire: Wire,
    /// The states of the scenarios, when any mapping is in one (the mock starts them afresh).
    scenarios: Option<ScenarioStates>,
    pub(super) connections: Arc<Connections>,
    /// The largest request body read; a larger one is answered 413.
    max_body_bytes: usize,
    /// Bytes of request bodies held at once, across connections.
    body_budget: BodyBudget,
    /// Writes a mapping for each distinct request a proxying mapping forwarded (`record`).
    recorder: Option<Arc<Recorder>>,
}

/// Bytes of request bodies held at once, across connections, in two parts.
///
/// A body that announces its size (`Content-Length`) reserves it from `shared` before it is
/// read, waiting for room while it holds nothing. A body of unknown size (chunked, or HTTP/2
/// without a length) takes room from `shared` piece by piece as it arrives, never waiting for
/// it, so a small streamed body costs its size rather than the read limit. When `shared` is
/// spent, it waits for `overflow`: room for one body of the largest size, kept for one such
/// body at a time, from which it finishes. A body waiting while it holds part of `shared` thus
/// waits only for a body that needs nothing more from anyone, so all of them are answered in
/// turn, and the bodies held never exceed `shared` plus `overflow`: the budget.
struct BodyBudget {
    shared: Arc<tokio::sync::Semaphore>,
    /// Permits in `shared` (at least one body of the largest size; counted in a u32).
    shared_bytes: usize,
    overflow: Arc<tokio::sync::Mutex<()>>,
}

impl BodyBudget {
    fn new(budget_bytes: usize, max_body_bytes: usize) -> Self {
        // The overflow holds one body of the largest size, the rest is shared; at least one
        // body of the largest size fits in the shared part.
        let shared_bytes = budget_bytes
            .saturating_sub(max_body_bytes)
            .max(max_body_bytes.saturating_add(1))
            .min(u32::MAX as usize);
        BodyBudget {
            shared: Arc::new(tokio::sync::Semaphore::new(shared_bytes)),
            shared_bytes,
            overflow: Arc::new(tokio::sync::Mutex::new(())),
        }
    }
}

/// The room a body being read holds in the [`BodyBudget`]; given back when dropped (once the
/// answer is made: the body is matched on, then only its journal copy stays).
#[derive(Default)]
struct BodyRoom {
    shared: Option<tokio::sync::OwnedSemaphorePermit>,
    /// Held by the one body of unknown size finishing from the overflow: it covers the rest.
    overflow: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl BodyRoom {
    /// Room for a body of announced size, reserved before it is read.
    async fn reserve(budget: &BodyBudget, bytes: u64) -> Self {
        let permits = bytes.min(budget.shared_bytes as u64) as u32;
        BodyRoom {
            // The semaphore is never closed.
            shared: budget.shared.clone().acquire_many_owned(permits).await.ok(),
            overflow: None,
        }
    }

    /// Room for `bytes` more of a body of unknown size: from the shared part when it has them
    /// now, else (once, for the rest of the body) from the overflow, in turn.
    async fn grow(&mut self, budget: &BodyBudget, bytes: usize) {
        if bytes == 0 || self.overflow.is_some() {
            return;
        }
        let permits = u32::try_from(bytes).unwrap_or(u32::MAX);
        match budget.shared.clone().try_acquire_many_owned(permits) {
            Ok(permit) => match &mut self.shared {
                Some(held) => held.merge(permit),
                None => self.shared = Some(permit),
            },
            Err(_) => self.overflow = Some(budget.overflow.clone().lock_owned().await),
        }
    }
}

impl Shared {
    pub(super) fn new(definition: &MockDefinition, options: MockOptions) -> Self {
        let mappings = definition.shared_mappings();
        let mut order: Vec<usize> = (0..mappings.len()).collect();
        // WireMock's order: by priority, then the most recently added first (here: the last
        // loaded, in path order and then position in the file).
        order.sort_by_key(|&index| (mappings[index].priority(), std::cmp::Reverse(index)));
        let labels = mappings
            .iter()
            .map(|mapping| mapping.label().to_string())
            .collect();
        let scenarios = mappings
            .iter()
            .any(|mapping| mapping.scenario().is_some())
            .then(ScenarioStates::default);
        Shared {
            recorder: options.recorder.clone(),
            scenarios,
            connections: Arc::new(Connections::new(options.limits)),
            max_body_bytes: options.max_body_bytes,
            body_budget: BodyBudget::new(options.body_budget_bytes, options.max_body_bytes),
            wire: Wire::new(options.journal == super::journal::JournalMode::Full),
            journal: Journal::new(labels, options),
            order: order.into(),
            mappings,
        }
    }

    /// The mapping that answers this request, if any; a scenario it is part of takes its step.
    fn find(&self, view: &RequestView) -> Option<(usize, &Mapping)> {
        let candidates = self
            .order
            .iter()
            .map(|&index| (index, &self.mappings[index]));
        let Some(scenarios) = &self.scenarios else {
            return candidates
                .into_iter()
                .find(|(_, mapping)| mapping.request().matches(view));
        };
        let mut states = scenarios.lock();
        let found = candidates.into_iter().find(|(_, mapping)| {
            mapping.scenario().is_none_or(|step| step.holds(&states))
                && mapping.request().matches(view)
        });
        let step = found.and_then(|(_, mapping)| mapping.scenario());
        if let Some((name, next)) = step.and_then(|step| Some((&step.name, step.next.as_ref()?))) {
            states.insert(name.clone(), next.clone());
        }
        found
    }

    /// The scenarios' states now (empty without scenarios), for explaining a near miss.
    fn scenario_states(&self) -> std::collections::HashMap<String, String> {
        self.scenarios
            .as_ref()
            .map(|scenarios| scenarios.lock().clone())
            .unwrap_or_default()
    }
}

/// Lets a request's handler hand its connection a fault to act on. One per connection.
#[derive(Clone)]
pub(super) struct FaultTrigger(Arc<Mutex<Option<oneshot::Sender<Fault>>>>);

impl FaultTrigger {
    pub(super) fn new() -> (Self, oneshot::Receiver<Fault>) {
        let (sender, receiver) = oneshot::channel();
        (FaultTrigger(Arc::new(Mutex::new(Some(sender)))), receiver)
    }

    fn pull(&self, fault: Fault) {
        let sender = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(sender) = sender {
            // The connection task may already be gone, in which case so is the client.
            let _ = sender.send(fault);
        }
    }
}

pub(super) type ResponseBody = TimedBody;

/// Answers one request that came over connection number `connection` (`None` when the mock
/// times nothing). A fault never answers: it hands the connection to its task and waits
/// forever (the task drops this future with the connection).
pub(super) async fn answer(
    shared: Arc<Shared>,
    scheme: Scheme,
    faults: FaultTrigger,
    activity: Arc<Activity>,
    connection: Option<u64>,
    request: http::Request<Incoming>,
) -> Result<http::Response<ResponseBody>, Infallible> {
    // Timed here rather than by a wrapping future: moving this handler's large state into
    // another future costs a copy per request.
    let clock = shared.wire.request(connection);
    let answered = |response: http::Response<ResponseBody>| {
        if let Some(clock) = &clock {
            clock.first_byte();
        }
        Ok(response.map(|body| body.timed(clock.clone())))
    };
    let arrival = shared.journal.arrival();
    let (parts, body) = request.into_parts();
    // Held until the answer is made, so the bodies held at once never exceed the budget.
    let mut room = BodyRoom::default();
    let body = if body.is_end_stream() {
        Bytes::new()
    } else {
        match read_body(body, shared.max_body_bytes, &shared.body_budget, &mut room).await {
            Ok(body) => body,
            Err(TooLarge { beginning, size }) => {
                let view = RequestView::new(&parts, &beginning, scheme);
                let text = format!(
                    "sidebyside mock: the request body is larger than {} bytes (the mock's limit)\n",
                    shared.max_body_bytes
                );
                shared.journal.record(arrival, None, false, || {
                    RawEntry::with_body_size(&view, size, 413, None, None, Some(text.clone()))
                        .timed(clock.clone())
                });
                return answered(plain_text(http::StatusCode::PAYLOAD_TOO_LARGE, text));
            }
        }
    };
    // From here on the mock, not the client, is working on this request: the connection is
    // busy (never idle-closed or evicted) until the answer is made. While the body was being
    // received it was not, so a client that stops sending midway is closed when idle.
    let _answering = activity.answering();
    let view = RequestView::new(&parts, &body, scheme);
    let Some((index, mapping)) = shared.find(&view) else {
        let explanation = near_miss(&shared.mappings, &view, &shared.scenario_states());
        shared.journal.record(arrival, None, false, || {
            RawEntry::new(&view, 404, None, None, Some(explanation.clone())).timed(clock.clone())
        });
        return answered(plain_text(http::StatusCode::NOT_FOUND, explanation));
    };
    if !mapping.webhooks().is_empty() {
        fire_webhooks(mapping, &view);
    }
    let response = mapping.response();
    let fault = response.fault();
    if let (None, Some(proxy)) = (fault, response.proxy()) {
        // The upstream's answer, journaled with its status once it is known.
        let answer = match proxy.forward(&view, body.clone()).await {
            Ok(answer) => {
                if let Some(recorder) = &shared.recorder {
                    recorder.record(&view, &answer);
                }
                answer.map(TimedBody::from)
            }
            Err(reason) => plain_text(
                http::StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "sidebyside mock: mapping {}: {reason}\n",
                    mapping.description()
                ),
            ),
        };
        let status = answer.status().as_u16();
        shared.journal.record(arrival, Some(index), false, || {
            RawEntry::new(&view, status, Some(index), None, None).timed(clock.clone())
        });
        drop(view);
        drop(body);
        drop(room);
        if !response.delay().is_zero() {
            tokio::time::sleep(response.delay().sample()).await;
        }
        return answered(dribbled(answer, response.dribble()));
    }
    // A templated response is rendered now, while the request is at hand.
    let rendered = match (fault, response.template()) {
        (None, Some(template)) => {
            Some(template.render(&view, mapping.request().path_parameters(&view)))
        }
        _ => None,
    };
    let status = match (fault, &rendered) {
        (Some(_), _) => 0,
        (None, Some(Err(_))) => 500,
        (None, _) => response.status(),
    };
    // Recorded before any delay: a request is in the journal as soon as it has been matched.
    shared
        .journal
        .record(arrival, Some(index), fault.is_some(), || {
            RawEntry::new(&view, status, Some(index), fault, None).timed(clock.clone())
        });
    drop(view);
    drop(body);
    drop(room);
    if !response.delay().is_zero() {
        tokio::time::sleep(response.delay().sample()).await;
    }
    if let Some(fault) = fault {
        faults.pull(fault);
        return std::future::pending().await;
    }
    match rendered {
        None => answered(dribbled(response.to_response(), response.dribble())),
        Some(Ok(rendered)) => answered(dribbled(
            response.to_rendered_response(rendered),
            response.dribble(),
        )),
        Some(Err(message)) => answered(plain_text(
            http::StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "sidebyside mock: mapping {}: {message}\n",
                mapping.description()
            ),
        )),
    }
}

/// Renders the mapping's webhooks for this request and sends each from a task of its own
/// (after its delay); a webhook that cannot be sent says why on standard error.
fn fire_webhooks(mapping: &Mapping, view: &RequestView) {
    for webhook in mapping.webhooks() {
        let label = mapping.description();
        match webhook.prepare(view, mapping.request().path_parameters(view)) {
            Ok(prepared) => {
                tokio::spawn(async move {
                    if let Err(reason) = prepared.send().await {
                        eprintln!("sidebyside mock: the webhook of mapping {label} was not delivered: {reason}");
                    }
                });
            }
            Err(reason) => {
                eprintln!("sidebyside mock: the webhook of mapping {label} was not sent: {reason}")
            }
        }
    }
}

/// The answer, its body sent in timed chunks when the mapping asks for it.
fn dribbled(
    response: http::Response<ResponseBody>,
    dribble: Option<(u32, std::time::Duration)>,
) -> http::Response<ResponseBody> {
    match dribble {
        None => response,
        Some((chunks, total)) => response.map(|body| body.dribbled(chunks, total)),
    }
}

fn plain_text(status: http::StatusCode, text: String) -> http::Response<ResponseBody> {
    let mut response = http::Response::new(TimedBody::from(Bytes::from(text)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A request body over the limit: what was read of it (up to the limit) and how many bytes
/// arrived before reading stopped.
struct TooLarge {
    beginning: Bytes,
    size: u64,
}

/// Reads a whole request body of at most `limit` bytes, holding `room` in the budget for what
/// it keeps: a body of announced size reserves it first, one of unknown size grows its room
/// as its pieces arrive. A larger body is not read further (the connection is closed after the
/// answer rather than drained).
async fn read_body(
    mut body: Incoming,
    limit: usize,
    budget: &BodyBudget,
    room: &mut BodyRoom,
) -> Result<Bytes, TooLarge> {
    let announced = body.size_hint().exact();
    if let Some(size) = announced {
        *room = BodyRoom::reserve(budget, size.min(limit as u64 + 1)).await;
    }
    let mut collected = bytes::BytesMut::new();
    let mut size: u64 = 0;
    while let Some(frame) = body.frame().await {
        // A body the client stopped sending midway: match what arrived.
        let Ok(frame) = frame else { break };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        size += data.len() as u64;
        // What of this piece is kept: all of it, or up to the limit.
        let kept = limit.saturating_sub(collected.len()).min(data.len());
        if announced.is_none() {
            room.grow(budget, kept).await;
        }
        if size > limit as u64 {
            collected.extend_from_slice(&data[..kept]);
            return Err(TooLarge {
                beginning: collected.freeze(),
                size,
            });
        }
        if collected.is_empty() && body.is_end_stream() {
            // The usual case: the whole body in one frame, kept without a copy.
            return Ok(data);
        }
        collected.extend_from_slice(&data);
    }
    Ok(collected.freeze())
}
