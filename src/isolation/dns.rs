//! A DNS responder that answers every query at once and records the names asked for.
//!
//! In "namespace" isolation mode the snippet's network namespace has `/etc/resolv.conf` pointing
//! at 127.0.0.1:53, where a UDP socket bound inside the namespace and handed to sidebyside is
//! served by this responder. Mocked hosts resolve through the namespace's hosts file; every other
//! name reaches the responder, which [`Answers`] one of two ways:
//! - [`Answers::NoSuchHost`]: NXDOMAIN, so the lookup of a host nobody mocked fails at once
//!   instead of timing out, and sidebyside learns which host the snippet tried to reach;
//! - [`Answers::Loopback`] (a mapping without `host` answers every host): an `A` record
//!   127.0.0.1 (TTL 0), where the mock listens, and no record for other types (`AAAA`), so the
//!   client connects over IPv4.
//!
//! Only the header and the first question are parsed. The reply copies the ID, opcode, RD bit and
//! question, sets QR and RA, and carries at most the one `A` record. Queries with an opcode other
//! than QUERY get NOTIMP; packets whose header is readable but whose question is not get FORMERR;
//! shorter packets and responses are dropped. No input can make the responder panic.

use std::net::UdpSocket as StdUdpSocket;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

/// Size of the fixed DNS header.
const HEADER_LENGTH: usize = 12;
/// Largest encoded name (RFC 1035 section 2.3.4).
const NAME_LENGTH_LIMIT: usize = 255;
/// Largest datagram read; only the header and first question matter, so bigger ones may be cut.
const DATAGRAM_LIMIT: usize = 4096;

const OPCODE_QUERY: u8 = 0;
const RCODE_NOERROR: u8 = 0;
const RCODE_FORMERR: u8 = 1;
const RCODE_NXDOMAIN: u8 = 3;
const RCODE_NOTIMP: u8 = 4;

/// Record type `A` and class `IN`, as they appear at the end of a question.
const TYPE_A_CLASS_IN: [u8; 4] = [0, 1, 0, 1];

/// What the responder says about a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answers {
    /// "No such host" (NXDOMAIN) for every name.
    NoSuchHost,
    /// Every name is 127.0.0.1 (an `A` record; other types get no record).
    Loopback,
}

/// A running responder. Dropping it stops serving (the socket is closed).
pub struct DnsResponder {
    /// Each name asked for, with when it was first asked (`crate::wire::monotonic_now_s`).
    queried: Arc<Mutex<Vec<(String, f64)>>>,
    serve_task: JoinHandle<()>,
}

impl DnsResponder {
    /// Serve on an already-bound UDP socket (possibly from another network namespace; only
    /// `recv_from`/`send_to` are used on it). Must be called in a tokio runtime; outside one it
    /// returns an error instead of panicking.
    pub fn start(socket: StdUdpSocket, answers: Answers) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|error| std::io::Error::other(format!("DNS responder: {error}")))?;
        socket.set_nonblocking(true)?;
        let socket = {
            let _entered = runtime.enter();
            UdpSocket::from_std(socket)?
        };
        let queried = Arc::new(Mutex::new(Vec::new()));
        let serve_task = runtime.spawn(serve(socket, answers, Arc::clone(&queried)));
        Ok(Self {
            queried,
            serve_task,
        })
    }

    /// Names asked for (lowercased, without trailing dot), in order, deduplicated. Queries for
    /// the root name are not listed.
    pub fn queried(&self) -> Vec<String> {
        self.queried_at()
            .into_iter()
            .map(|(name, _)| name)
            .collect()
    }

    /// [`queried`](Self::queried), each name with the moment it was first asked for, on the
    /// machine's monotonic clock (seconds), to tell which block of a session asked.
    pub fn queried_at(&self) -> Vec<(String, f64)> {
        self.queried
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for DnsResponder {
    fn drop(&mut self) {
        self.serve_task.abort();
    }
}

async fn serve(socket: UdpSocket, answers: Answers, queried: Arc<Mutex<Vec<(String, f64)>>>) {
    let mut datagram = vec![0_u8; DATAGRAM_LIMIT];
    loop {
        let (length, sender) = match socket.recv_from(&mut datagram).await {
            Ok(received) => received,
            // Linux reports an earlier unreachable destination (ECONNREFUSED) on the next
            // receive; that and other transient errors must not stop the responder, but a
            // persistent one must not spin either.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let Some(reply) = build_reply(&datagram[..length], answers) else {
            continue;
        };
        if let Some(name) = reply.queried_name {
            let mut queried = queried.lock().unwrap_or_else(PoisonError::into_inner);
            if !queried.iter().any(|(known, _)| *known == name) {
                queried.push((name, crate::wire::monotonic_now_s()));
            }
        }
        // A lost reply is what UDP allows; the resolver retries.
        let _ = socket.send_to(&reply.datagram, sender).await;
    }
}

/// What to send back for one query.
#[derive(Debug, PartialEq, Eq)]
struct Reply {
    datagram: Vec<u8>,
    /// The name of a standard query, in presentation form, to record; `None` for other replies
    /// and for the root name.
    queried_name: Option<String>,
}

/// The reply to `query`, or `None` when it must be dropped (no readable header, or it is itself
/// a response).
fn build_reply(query: &[u8], answers: Answers) -> Option<Reply> {
    let header = query.get(..HEADER_LENGTH)?;
    let flags_high = header[2];
    let is_response = flags_high & 0x80 != 0;
    if is_response {
        return None;
    }
    let opcode = (flags_high >> 3) & 0x0f;
    let recursion_desired = flags_high & 0x01;
    let question_count = u16::from_be_bytes([header[4], header[5]]);
    let question = if question_count == 0 {
        None
    } else {
        parse_question(&query[HEADER_LENGTH..])
    };
    let rcode = match (&question, opcode) {
        (_, opcode) if opcode != OPCODE_QUERY => RCODE_NOTIMP,
        (None, _) => RCODE_FORMERR,
        (Some(_), _) if answers == Answers::Loopback => RCODE_NOERROR,
        (Some(_), _) => RCODE_NXDOMAIN,
    };
    // The one record a loopback answer carries: the name (a pointer to the question's, at the
    // end of the header), type A, class IN, TTL 0, 127.0.0.1.
    let record = question
        .as_ref()
        .filter(|question| rcode == RCODE_NOERROR && question.wire.ends_with(&TYPE_A_CLASS_IN))
        .map(|_| {
            let mut record = vec![0xc0, 0x0c];
            record.extend_from_slice(&TYPE_A_CLASS_IN);
            record.extend_from_slice(&[0, 0, 0, 0, 0, 4, 127, 0, 0, 1]);
            record
        });
    let mut datagram = Vec::with_capacity(HEADER_LENGTH + NAME_LENGTH_LIMIT + 4);
    datagram.extend_from_slice(&header[..2]);
    datagram.push(0x80 | (opcode << 3) | recursion_desired);
    datagram.push(0x80 | rcode);
    let copied_questions: u16 = if question.is_some() { 1 } else { 0 };
    datagram.extend_from_slice(&copied_questions.to_be_bytes());
    let answer_count: u16 = if record.is_some() { 1 } else { 0 };
    datagram.extend_from_slice(&answer_count.to_be_bytes());
    datagram.extend_from_slice(&[0, 0, 0, 0]);
    let mut queried_name = None;
    if let Some(question) = question {
        datagram.extend_from_slice(question.wire);
        let answered = rcode == RCODE_NXDOMAIN || rcode == RCODE_NOERROR;
        if answered && !question.name.is_empty() {
            queried_name = Some(question.name);
        }
    }
    if let Some(record) = record {
        datagram.extend_from_slice(&record);
    }
    Some(Reply {
        datagram,
        queried_name,
    })
}

/// The first question of a query.
struct Question<'packet> {
    /// The question as sent: name, type and class.
    wire: &'packet [u8],
    /// The name in presentation form, lowercased, without the trailing dot ("" for the root).
    name: String,
}

/// Parses the question at the start of `section`. Compression pointers and extended label types
/// are treated as malformed: a stub resolver never sends them in a question.
fn parse_question(section: &[u8]) -> Option<Question<'_>> {
    let mut offset = 0;
    let mut name = String::new();
    loop {
        let label_length = usize::from(*section.get(offset)?);
        offset += 1;
        if label_length == 0 {
            break;
        }
        if label_length & 0xc0 != 0 {
            return None;
        }
        let label = section.get(offset..offset + label_length)?;
        offset += label_length;
        // The terminating zero length still has to fit.
        if offset >= NAME_LENGTH_LIMIT {
            return None;
        }
        if !name.is_empty() {
            name.push('.');
        }
        push_label(&mut name, label);
    }
    // QTYPE and QCLASS.
    let end = offset + 4;
    let wire = section.get(..end)?;
    Some(Question { wire, name })
}

/// Appends one label in presentation form (RFC 4343): ASCII lowercased, `.` and `\` escaped,
/// other bytes outside printable ASCII as `\DDD`.
fn push_label(name: &mut String, label: &[u8]) {
    for &byte in label {
        match byte {
            b'.' | b'\\' => {
                name.push('\\');
                name.push(char::from(byte));
            }
            0x21..=0x7e => name.push(char::from(byte.to_ascii_lowercase())),
            _ => name.push_str(&format!("\\{byte:03}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A standard query (RD set) for `name`, type A, class IN.
    fn query(id: u16, name: &str) -> Vec<u8> {
        let mut packet = id.to_be_bytes().to_vec();
        packet.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        for label in name.split('.') {
            packet.push(u8::try_from(label.len()).expect("short label"));
            packet.extend_from_slice(label.as_bytes());
        }
        packet.extend_from_slice(&[0, 0, 1, 0, 1]);
        packet
    }

    #[tokio::test]
    async fn answers_nxdomain_over_udp_and_records_the_name() {
        let socket = StdUdpSocket::bind("127.0.0.1:0").expect("bind responder");
        let address = socket.local_addr().expect("responder address");
        let responder = DnsResponder::start(socket, Answers::NoSuchHost).expect("start responder");
        let client = UdpSocket::bind("127.0.0.1:0").await.expect("bind client");
        for (id, name) in [(0xbeef, "Evil.Example.NET"), (0x1234, "evil.example.net")] {
            let sent = query(id, name);
            client.send_to(&sent, address).await.expect("send query");
            let mut received = [0_u8; 512];
            let (length, _) =
                tokio::time::timeout(Duration::from_secs(5), client.recv_from(&mut received))
                    .await
                    .expect("reply in time")
                    .expect("receive reply");
            let reply = &received[..length];
            assert_eq!(reply[..2], id.to_be_bytes());
            assert_eq!(reply[2], 0x81, "QR, opcode QUERY, RD");
            assert_eq!(reply[3], 0x83, "RA, NXDOMAIN");
            assert_eq!(reply[4..12], [0, 1, 0, 0, 0, 0, 0, 0]);
            assert_eq!(reply[12..], sent[12..], "question copied");
        }
        assert_eq!(responder.queried(), vec!["evil.example.net"]);
    }

    #[test]
    fn loopback_answers_a_with_127_0_0_1_and_aaaa_with_no_record() {
        let sent = query(0x4242, "Anything.Example.ORG");
        let reply = build_reply(&sent, Answers::Loopback).expect("reply");
        let datagram = &reply.datagram;
        assert_eq!(
            datagram[..4],
            [0x42, 0x42, 0x81, 0x80],
            "QR, RD, RA, NOERROR"
        );
        assert_eq!(
            datagram[4..12],
            [0, 1, 0, 1, 0, 0, 0, 0],
            "one question, one answer"
        );
        let question_end = sent.len();
        assert_eq!(datagram[12..question_end], sent[12..], "question copied");
        assert_eq!(
            datagram[question_end..],
            [0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 127, 0, 0, 1]
        );
        assert_eq!(reply.queried_name.as_deref(), Some("anything.example.org"));

        let mut aaaa = query(0x4343, "anything.example.org");
        let type_index = aaaa.len() - 3;
        aaaa[type_index] = 28;
        let reply = build_reply(&aaaa, Answers::Loopback).expect("reply");
        assert_eq!(reply.datagram[2..12], [0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(reply.datagram.len(), aaaa.len(), "no record for AAAA");
    }

    #[test]
    fn replies_by_kind_of_packet() {
        let notimp = {
            let mut status = query(7, "a.com");
            status[2] = 0x10; // opcode 2 (STATUS)
            build_reply(&status, Answers::NoSuchHost).expect("reply")
        };
        assert_eq!(notimp.datagram[2..4], [0x90, 0x84]);
        assert_eq!(notimp.queried_name, None);

        let mut compressed = query(8, "a.com");
        compressed.truncate(HEADER_LENGTH);
        compressed.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1]);
        let formerr = build_reply(&compressed, Answers::NoSuchHost).expect("reply");
        assert_eq!(formerr.datagram, [0, 8, 0x81, 0x81, 0, 0, 0, 0, 0, 0, 0, 0]);

        let mut truncated = query(9, "a.com");
        truncated.pop();
        assert_eq!(
            build_reply(&truncated, Answers::NoSuchHost)
                .expect("reply")
                .datagram[3],
            0x81
        );

        let mut response = query(10, "a.com");
        response[2] |= 0x80;
        assert_eq!(build_reply(&response, Answers::NoSuchHost), None);
        assert_eq!(build_reply(&[0; 11], Answers::NoSuchHost), None);

        let mut odd = query(11, "x");
        odd[13] = b'.';
        let reply = build_reply(&odd, Answers::NoSuchHost).expect("reply");
        assert_eq!(reply.queried_name.as_deref(), Some("\\."));

        let root = build_reply(
            &[0, 12, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1],
            Answers::NoSuchHost,
        )
        .expect("reply");
        assert_eq!(root.datagram[3], 0x83);
        assert_eq!(root.queried_name, None);

        let long_name = vec!["a".repeat(63); 5].join(".");
        assert_eq!(
            build_reply(&query(13, &long_name), Answers::NoSuchHost)
                .expect("reply")
                .datagram[3],
            0x81
        );
    }

    #[test]
    fn random_packets_never_panic() {
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let valid = query(1, "evil.example.net");
        for round in 0..10_000 {
            let packet: Vec<u8> = if round % 2 == 0 {
                let length = (next() % 80) as usize;
                (0..length).map(|_| next() as u8).collect()
            } else {
                // Mutate a valid query so parsing gets past the header.
                let mut packet = valid.clone();
                for _ in 0..=(next() % 4) {
                    let index = (next() % packet.len() as u64) as usize;
                    packet[index] = next() as u8;
                }
                packet.truncate((next() % (packet.len() as u64 + 1)) as usize);
                packet
            };
            for answers in [Answers::NoSuchHost, Answers::Loopback] {
                if let Some(reply) = build_reply(&packet, answers) {
                    assert!(reply.datagram.len() >= HEADER_LENGTH);
                    assert_eq!(reply.datagram[..2], packet[..2]);
                }
            }
        }
    }
}
