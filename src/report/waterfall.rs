//! A run's requests laid out in time, one row each: the TLS handshake that opened its connection
//! (when it was the first on it), then the request in flight from its head to the end of its
//! response. A fan-out shows bars side by side, a sequence a staircase. The model is shared by
//! the terminal (text, here) and the HTML report (SVG, `html::waterfall`).

use crate::observation::Observation;
use crate::wire::Network;

/// Rows shown before the rest are counted (all of them are in the results document).
pub const MAX_ROWS: usize = 40;

/// One request in the waterfall; times in seconds after the run's origin.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// `GET /items/3` (the host is left out when every request went to one).
    pub label: String,
    pub connection: u64,
    /// The handshake of its connection, when this is the first request over it.
    pub handshake: Option<(f64, f64)>,
    pub head: f64,
    pub first_byte: Option<f64>,
    pub end: Option<f64>,
    /// Status answered (0: a fault).
    pub status: u16,
}

impl Row {
    /// When it stopped being in flight.
    pub fn done(&self) -> f64 {
        self.end.or(self.first_byte).unwrap_or(self.head)
    }

    /// From its first moment (handshake or head) to its end.
    pub fn start(&self) -> f64 {
        self.handshake
            .map_or(self.head, |(start, _)| start.min(self.head))
    }
}

/// The waterfall of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Waterfall {
    pub rows: Vec<Row>,
    /// Timed requests beyond [`MAX_ROWS`].
    pub more: usize,
    /// The earliest moment shown, and the latest.
    pub start: f64,
    pub end: f64,
    /// One line: requests, at most in flight, connections, handshakes.
    pub summary: String,
}

impl Waterfall {
    /// The waterfall of a run whose requests were timed; `None` without timed requests.
    pub fn of(run: &Observation) -> Option<Waterfall> {
        let network = run.network.as_ref()?;
        Self::from_parts(run, network)
    }

    fn from_parts(run: &Observation, network: &Network) -> Option<Waterfall> {
        let timed: Vec<_> = run
            .requests
            .iter()
            .filter_map(|request| Some((request, request.timing?)))
            .collect();
        if timed.is_empty() {
            return None;
        }
        let hosts: std::collections::BTreeSet<&str> = timed
            .iter()
            .map(|(request, _)| host_part(&request.url).0)
            .collect();
        let one_host = hosts.len() == 1;
        let mut seen_connections = std::collections::BTreeSet::new();
        let rows: Vec<Row> = timed
            .iter()
            .map(|(request, timing)| {
                let first_on_connection = seen_connections.insert(timing.connection);
                let handshake = network
                    .connections
                    .iter()
                    .find(|connection| connection.id == timing.connection)
                    .and_then(|connection| connection.tls)
                    .filter(|_| first_on_connection)
                    .map(|tls| (tls.start_s, tls.start_s + tls.duration_s));
                let (host, path) = host_part(&request.url);
                let target = if one_host {
                    path.to_string()
                } else {
                    format!("{host}{path}")
                };
                Row {
                    label: format!("{} {target}", request.method),
                    connection: timing.connection,
                    handshake,
                    head: timing.head_s,
                    first_byte: timing.first_byte_s,
                    end: timing.end_s,
                    status: request.status,
                }
            })
            .collect();
        let start = rows.iter().map(Row::start).fold(f64::INFINITY, f64::min);
        let end = rows.iter().map(Row::done).fold(f64::NEG_INFINITY, f64::max);
        let more = rows.len().saturating_sub(MAX_ROWS);
        let mut rows = rows;
        rows.truncate(MAX_ROWS);
        Some(Waterfall {
            rows,
            more,
            start,
            end: end.max(start),
            summary: network.summary(run.requests.len()),
        })
    }

    /// Seconds from the first moment shown to the last.
    pub fn span(&self) -> f64 {
        self.end - self.start
    }

    /// The waterfall as text, `width` columns of bar: `░` the TLS handshake, `█` the request
    /// in flight (head to end of response); each row with its connection and duration.
    pub fn text(&self, width: usize, indent: &str) -> String {
        let label_width = self
            .rows
            .iter()
            .map(|row| row.label.chars().count())
            .max()
            .unwrap_or(0)
            .min(32);
        let span = self.span().max(1e-9);
        let column = |at: f64| (((at - self.start) / span) * width as f64).floor() as usize;
        let mut out = String::new();
        for row in &self.rows {
            let mut bar = vec![' '; width];
            if let Some((start, end)) = row.handshake {
                for cell in bar
                    .iter_mut()
                    .take(column(end).min(width - 1) + 1)
                    .skip(column(start).min(width - 1))
                {
                    *cell = '░';
                }
            }
            let (from, to) = (column(row.head).min(width - 1), column(row.done()));
            for cell in bar.iter_mut().take(to.clamp(from + 1, width)).skip(from) {
                *cell = '█';
            }
            let label: String = row.label.chars().take(label_width).collect();
            out.push_str(&format!(
                "{indent}{label:<label_width$} #{:<3} │{}│ {}\n",
                row.connection,
                bar.into_iter().collect::<String>(),
                duration(row.done() - row.head)
            ));
        }
        if self.more > 0 {
            out.push_str(&format!(
                "{indent}… and {} more requests (every one is in the results document)\n",
                self.more
            ));
        }
        let end = duration(self.span());
        let scale = format!("0{end:>0$}", width.saturating_sub(1));
        out.push_str(&format!(
            "{indent}{:label_width$}       {scale}   ░ TLS handshake  █ request in flight\n",
            ""
        ));
        out
    }
}

/// `https://api.example.com/items/1?x` → (`api.example.com`, `/items/1?x`).
fn host_part(url: &str) -> (&str, &str) {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    }
}

/// `412 ms`, `1.80 s`, `85 µs`.
pub fn duration(seconds: f64) -> String {
    if seconds <= 0.0 {
        "0".to_string()
    } else if seconds >= 1.0 {
        format!("{seconds:.2} s")
    } else if seconds >= 1e-3 {
        format!("{:.0} ms", seconds * 1e3)
    } else {
        format!("{:.0} µs", seconds * 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::RecordedRequest;
    use crate::wire::{Connection, Handshake, RequestTiming};

    fn observation(timings: &[(u64, f64, f64)], tls: bool) -> Observation {
        let requests: Vec<RecordedRequest> = timings
            .iter()
            .enumerate()
            .map(|(index, &(connection, head, end))| RecordedRequest {
                method: "GET".into(),
                url: format!("https://api.example.com/items/{index}"),
                headers: vec![],
                body: None,
                body_bytes: None,
                status: 200,
                mapping: None,
                near_miss: None,
                fault: None,
                timing: Some(RequestTiming {
                    connection,
                    head_s: head,
                    first_byte_s: Some(end),
                    end_s: Some(end),
                }),
            })
            .collect();
        let mut ids: Vec<u64> = timings.iter().map(|timing| timing.0).collect();
        ids.dedup();
        let connections = ids
            .into_iter()
            .map(|id| Connection {
                id,
                opened_s: 0.0,
                protocol: Some("http/1.1".into()),
                tls: tls.then_some(Handshake {
                    start_s: 0.0,
                    duration_s: 0.1,
                    completed: true,
                }),
            })
            .collect();
        let network = Network::of(connections, &requests);
        let mut run: Observation = serde_json::from_value(serde_json::json!({
            "id": "g/n", "name": "n", "group": "g", "language": "python",
            "source": { "path": "n.py" }, "runtime": "python", "isolation": "preload",
            "status": "passed", "reasons": [], "result": null, "result_origin": "none",
            "requests": [], "unmocked_hosts": [], "wall_s": 0.0, "cpu_s": 0.0, "user_s": 0.0,
            "system_s": 0.0, "peak_rss_bytes": 0, "stray_processes_killed": 0,
            "stdout": { "text": "", "total_bytes": 0, "truncated": false },
            "stderr": { "text": "", "total_bytes": 0, "truncated": false }
        }))
        .expect("an observation");
        run.requests = requests;
        run.network = network;
        run
    }

    #[test]
    fn a_sequence_is_a_staircase_and_a_fan_out_bars_side_by_side() {
        let sequence = observation(&[(0, 0.1, 0.4), (0, 0.4, 0.7), (0, 0.7, 1.0)], true);
        let text = Waterfall::of(&sequence).unwrap().text(10, "");
        let bars: Vec<&str> = text
            .lines()
            .map(|line| line.split('│').nth(1).unwrap_or(""))
            .collect();
        assert_eq!(
            bars[..3],
            ["░███      ", "    ███   ", "       ███"],
            "{text}"
        );
        let fan_out = observation(&[(0, 0.1, 1.0), (1, 0.1, 1.0)], false);
        let text = Waterfall::of(&fan_out).unwrap().text(10, "");
        assert!(
            text.starts_with("GET /items/0 #0   │██████████│ 900 ms\n"),
            "{text}"
        );
        assert!(text.contains("GET /items/1 #1   │██████████│"), "{text}");
    }

    #[test]
    fn only_the_first_request_of_a_connection_shows_its_handshake() {
        let run = observation(&[(0, 0.1, 0.2), (0, 0.3, 0.4)], true);
        let waterfall = Waterfall::of(&run).unwrap();
        assert_eq!(waterfall.rows[0].handshake, Some((0.0, 0.1)));
        assert_eq!(waterfall.rows[1].handshake, None);
        assert_eq!(waterfall.start, 0.0);
        assert_eq!(waterfall.end, 0.4);
    }
}
