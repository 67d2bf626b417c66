//! What one run did on the wire: when each request reached the mock and was answered, over
//! which connection, and what each connection cost (a TLS handshake or not); and the figures
//! derived from that timeline (requests in flight at most, time spent overlapping, connections
//! opened and reused, handshakes), which tell a fan-out from a staircase.
//!
//! The mock measures (see `mock::wire`); these are the plain data it hands back, part of each
//! run's observation and of the documented results schema. Every time is in seconds after the
//! mock of the run started serving (one monotonic origin per run), so the times of one run can
//! be laid side by side, and the times of two runs cannot.

use serde::{Deserialize, Serialize};

/// The machine's monotonic clock (`CLOCK_MONOTONIC`, which `Instant`, Python's
/// `time.monotonic` and Node's `process.hrtime` read) now, in seconds: the one clock the mock,
/// the DNS responder and a session's blocks can be laid against each other on.
pub fn monotonic_now_s() -> f64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec as f64 + now.tv_nsec as f64 / 1e9
}

/// When one request was seen and answered, as the mock saw it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RequestTiming {
    /// The connection it came over (its `id` in [`Network::connections`]).
    pub connection: u64,
    /// When its head (request line and headers) had arrived.
    pub head_s: f64,
    /// When its response was handed to the connection to write (the head goes out first);
    /// absent when no response was sent (a fault, or the client went away first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_byte_s: Option<f64>,
    /// When the whole response had been written to the connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_s: Option<f64>,
}

impl RequestTiming {
    /// When the request stopped being in flight: the end of its response, else its first
    /// byte, else its head (a request never answered takes no time in flight).
    pub fn done_s(&self) -> f64 {
        self.end_s.or(self.first_byte_s).unwrap_or(self.head_s)
    }
}

/// One client connection the mock accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    /// Numbered from 0 in the order the mock accepted them.
    pub id: u64,
    /// When it was accepted.
    pub opened_s: f64,
    /// `http/1.1` or `h2`; absent when the client sent nothing the mock could tell, or the TLS
    /// handshake failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The TLS handshake, for a connection that started one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Handshake>,
}

/// A TLS handshake on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Handshake {
    /// When its first byte had arrived.
    pub start_s: f64,
    /// How long it took, until the mock had the keys (or gave up).
    pub duration_s: f64,
    /// Whether it succeeded (a client that distrusts the certificate fails it).
    pub completed: bool,
}

/// What one run did on the wire: its connections, and the figures derived from them and from
/// the requests' [`RequestTiming`]s.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Network {
    /// Every connection the mock accepted during the run, by id.
    pub connections: Vec<Connection>,
    /// The most requests being answered at one moment (from the arrival of a head to the end
    /// of its response); 1 for requests made one after another.
    pub max_in_flight: usize,
    /// Seconds during which at least two requests were in flight.
    pub overlap_s: f64,
    /// Connections accepted.
    pub connections_opened: usize,
    /// Connections that carried more than one request (keep-alive, or HTTP/2 streams).
    pub connections_reused: usize,
    /// TLS handshakes the clients started (completed or not).
    pub tls_handshakes: usize,
    /// From the first request's head to the last response's end, in seconds (0 without
    /// requests).
    pub span_s: f64,
}

impl Network {
    /// The network of a run: its connections and the timings of its requests; `None` when
    /// the mock timed nothing (no connection, no timed request).
    pub fn of(
        connections: Vec<Connection>,
        requests: &[crate::observation::RecordedRequest],
    ) -> Option<Network> {
        let timings: Vec<&RequestTiming> = requests
            .iter()
            .filter_map(|request| request.timing.as_ref())
            .collect();
        if connections.is_empty() && timings.is_empty() {
            return None;
        }
        Some(Network::derive(connections, timings))
    }

    /// The figures of a run whose requests were timed as `timings` (in any order) over
    /// `connections`.
    pub fn derive<'a>(
        connections: Vec<Connection>,
        timings: impl IntoIterator<Item = &'a RequestTiming>,
    ) -> Network {
        let timings: Vec<&RequestTiming> = timings.into_iter().collect();
        // A sweep over starts and ends; at one instant ends come first, so requests made one
        // after another never count as overlapping.
        let mut events: Vec<(f64, i32)> = Vec::with_capacity(timings.len() * 2);
        // A request that took no time (never answered) is in flight at no moment.
        for timing in timings
            .iter()
            .filter(|timing| timing.done_s() > timing.head_s)
        {
            events.push((timing.head_s, 1));
            events.push((timing.done_s(), -1));
        }
        events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let (mut in_flight, mut max_in_flight, mut overlap_s) = (0i32, 0i32, 0.0);
        let mut previous = None;
        for (at, change) in events {
            if let Some(previous) = previous {
                if in_flight >= 2 {
                    overlap_s += at - previous;
                }
            }
            in_flight += change;
            max_in_flight = max_in_flight.max(in_flight);
            previous = Some(at);
        }
        let mut per_connection = std::collections::BTreeMap::<u64, usize>::new();
        for timing in &timings {
            *per_connection.entry(timing.connection).or_default() += 1;
        }
        let first = timings.iter().map(|timing| timing.head_s).reduce(f64::min);
        let last = timings
            .iter()
            .map(|timing| timing.done_s())
            .reduce(f64::max);
        Network {
            // A run with requests had at least one at a time.
            max_in_flight: (max_in_flight.max(0) as usize).max(usize::from(!timings.is_empty())),
            overlap_s: nanoseconds(overlap_s),
            connections_opened: connections.len(),
            connections_reused: per_connection.values().filter(|&&count| count > 1).count(),
            tls_handshakes: connections.iter().filter(|c| c.tls.is_some()).count(),
            span_s: match (first, last) {
                (Some(first), Some(last)) => nanoseconds((last - first).max(0.0)),
                _ => 0.0,
            },
            connections,
        }
    }

    /// One line for a person: `3 requests, at most 3 at once (0.21 s overlapping), 3
    /// connections (3 TLS handshakes)`.
    pub fn summary(&self, requests: usize) -> String {
        let plural = |count: usize, word: &str| {
            format!("{count} {word}{}", if count == 1 { "" } else { "s" })
        };
        let mut line = format!(
            "{}, at most {} at once",
            plural(requests, "request"),
            self.max_in_flight
        );
        if self.overlap_s > 0.0 {
            line.push_str(&format!(" ({:.3} s overlapping)", self.overlap_s));
        }
        line.push_str(&format!(
            ", {}",
            plural(self.connections_opened, "connection")
        ));
        let mut details = vec![];
        if self.connections_reused > 0 {
            details.push(format!("{} reused", self.connections_reused));
        }
        if self.tls_handshakes > 0 {
            details.push(plural(self.tls_handshakes, "TLS handshake"));
        }
        if !details.is_empty() {
            line.push_str(&format!(" ({})", details.join(", ")));
        }
        line
    }
}

/// The shape a page (or a manifest, or a claim) says a run's requests have: how many are in
/// flight at once, or that they go one after another. Written `concurrency >= 10`,
/// `concurrency <= 2`, `concurrency == 3` or `sequential`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Shape {
    /// At least this many requests in flight at one moment.
    AtLeast(usize),
    /// Never more than this many at once.
    AtMost(usize),
    /// Exactly this many at most at once.
    Exactly(usize),
    /// One after another: never two in flight, and at least one request.
    Sequential,
}

impl Shape {
    /// What the directive accepts, for error messages.
    pub const SYNTAX: &'static str =
        "`concurrency >= N`, `concurrency <= N`, `concurrency == N` or `sequential`";

    /// Reads `concurrency >= 10` (spaces optional) or `sequential`.
    pub fn parse(text: &str) -> Result<Shape, String> {
        let compact: String = text.split_whitespace().collect();
        if compact == "sequential" {
            return Ok(Shape::Sequential);
        }
        let bad = || {
            format!(
                "cannot read the expected shape `{text}`: write {}",
                Self::SYNTAX
            )
        };
        let rest = compact.strip_prefix("concurrency").ok_or_else(bad)?;
        let (make, number): (fn(usize) -> Shape, &str) = if let Some(n) = rest.strip_prefix(">=") {
            (Shape::AtLeast, n)
        } else if let Some(n) = rest.strip_prefix("<=") {
            (Shape::AtMost, n)
        } else if let Some(n) = rest.strip_prefix("==").or_else(|| rest.strip_prefix('=')) {
            (Shape::Exactly, n)
        } else {
            return Err(bad());
        };
        match number.parse::<usize>() {
            Ok(count) if count >= 1 => Ok(make(count)),
            _ => Err(format!(
                "cannot read the expected shape `{text}`: the number of requests in flight must \
                 be a whole number of at least 1"
            )),
        }
    }

    /// Whether the run's timeline has this shape: `Ok` says what held, `Err` what the mock saw
    /// instead, in words a page's author can act on.
    pub fn check(&self, network: Option<&Network>, requests: usize) -> Result<String, String> {
        let Some(network) = network.filter(|_| requests > 0) else {
            return Err(format!(
                "the page expects `{self}`, but the run made no request the mock could time"
            ));
        };
        let seen = network.max_in_flight;
        let held = match *self {
            Shape::AtLeast(count) => seen >= count,
            Shape::AtMost(count) => seen <= count,
            Shape::Exactly(count) => seen == count,
            Shape::Sequential => seen == 1,
        };
        let what = network.summary(requests);
        if held {
            return Ok(format!("its requests had the shape `{self}` ({what})"));
        }
        let instead = if seen == 1 && requests > 1 {
            format!("its {requests} requests ran one after another ({what})")
        } else {
            format!("the mock saw {what}")
        };
        Err(format!(
            "the page expects `{self}` ({}), but {instead}",
            self.meaning()
        ))
    }

    /// The shape in words.
    fn meaning(&self) -> String {
        match *self {
            Shape::AtLeast(count) => format!("at least {count} requests in flight at once"),
            Shape::AtMost(count) => format!("never more than {count} requests in flight at once"),
            Shape::Exactly(count) => {
                format!("exactly {count} requests in flight at the busiest moment")
            }
            Shape::Sequential => "requests made one after another".to_string(),
        }
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shape::AtLeast(count) => write!(formatter, "concurrency >= {count}"),
            Shape::AtMost(count) => write!(formatter, "concurrency <= {count}"),
            Shape::Exactly(count) => write!(formatter, "concurrency == {count}"),
            Shape::Sequential => formatter.write_str("sequential"),
        }
    }
}

impl TryFrom<String> for Shape {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        Shape::parse(&text)
    }
}

impl From<Shape> for String {
    fn from(shape: Shape) -> String {
        shape.to_string()
    }
}

/// Seconds rounded to the nanosecond the mock measures in (sums and differences of them carry
/// float noise otherwise).
fn nanoseconds(seconds: f64) -> f64 {
    (seconds * 1e9).round() / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(connection: u64, head_s: f64, end_s: f64) -> RequestTiming {
        RequestTiming {
            connection,
            head_s,
            first_byte_s: Some(end_s),
            end_s: Some(end_s),
        }
    }

    fn connection(id: u64, tls: bool) -> Connection {
        Connection {
            id,
            opened_s: 0.0,
            protocol: Some("http/1.1".into()),
            tls: tls.then_some(Handshake {
                start_s: 0.0,
                duration_s: 0.001,
                completed: true,
            }),
        }
    }

    #[test]
    fn requests_one_after_another_are_never_two_in_flight() {
        // The second head arrives at the very instant the first response ends.
        let timings = [
            timing(0, 0.0, 1.0),
            timing(0, 1.0, 2.0),
            timing(0, 2.5, 3.0),
        ];
        let network = Network::derive(vec![connection(0, true)], &timings);
        assert_eq!(network.max_in_flight, 1);
        assert_eq!(network.overlap_s, 0.0);
        assert_eq!(network.connections_opened, 1);
        assert_eq!(network.connections_reused, 1);
        assert_eq!(network.tls_handshakes, 1);
        assert_eq!(network.span_s, 3.0);
    }

    #[test]
    fn a_fan_out_counts_every_request_in_flight_and_the_time_they_overlap() {
        let timings = [
            timing(0, 0.0, 1.0),
            timing(1, 0.25, 1.0),
            timing(2, 0.5, 2.0),
        ];
        let connections = (0..3).map(|id| connection(id, false)).collect();
        let network = Network::derive(connections, &timings);
        assert_eq!(network.max_in_flight, 3);
        assert_eq!(network.overlap_s, 0.75);
        assert_eq!(network.connections_reused, 0);
        assert_eq!(network.tls_handshakes, 0);
        assert_eq!(
            network.summary(3),
            "3 requests, at most 3 at once (0.750 s overlapping), 3 connections"
        );
    }

    #[test]
    fn shapes_read_as_written_and_say_what_the_mock_saw() {
        assert_eq!(Shape::parse("concurrency >= 10"), Ok(Shape::AtLeast(10)));
        assert_eq!(Shape::parse("concurrency<=2"), Ok(Shape::AtMost(2)));
        assert_eq!(Shape::parse("concurrency = 3"), Ok(Shape::Exactly(3)));
        assert_eq!(Shape::parse(" sequential "), Ok(Shape::Sequential));
        assert!(Shape::parse("concurrency >= 0").is_err());
        assert!(Shape::parse("concurrency ~ 3")
            .unwrap_err()
            .contains("concurrency >= N"));
        assert!(Shape::parse("parallel").is_err());

        let one_after_another = Network::derive(
            vec![connection(0, true)],
            &[timing(0, 0.0, 1.0), timing(0, 1.0, 2.0)],
        );
        let error = Shape::AtLeast(10)
            .check(Some(&one_after_another), 2)
            .unwrap_err();
        assert_eq!(
            error,
            "the page expects `concurrency >= 10` (at least 10 requests in flight at once), but \
             its 2 requests ran one after another (2 requests, at most 1 at once, 1 connection \
             (1 reused, 1 TLS handshake))"
        );
        assert!(Shape::Sequential.check(Some(&one_after_another), 2).is_ok());
        assert!(Shape::Sequential
            .check(None, 0)
            .unwrap_err()
            .contains("no request"));
    }

    #[test]
    fn an_unanswered_request_takes_no_time_in_flight() {
        let unanswered = RequestTiming {
            connection: 0,
            head_s: 0.5,
            first_byte_s: None,
            end_s: None,
        };
        let network = Network::derive(vec![], &[timing(0, 0.0, 1.0), unanswered]);
        assert_eq!(network.max_in_flight, 1);
        assert_eq!(Network::derive(vec![], &[]).max_in_flight, 0);
    }
}
