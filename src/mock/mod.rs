//! The mock API: WireMock-format stub mappings loaded from a folder and served over HTTP and
//! HTTPS while the snippets run, recording every request they make.
//!
//! [`MockDefinition::load`] reads and validates the mappings (every error names the file and the
//! JSON path at fault), [`CertificateAuthority::generate`] makes a fresh certificate authority
//! and a server certificate for the mocked hosts, and [`RunningMock::start`] serves the mappings
//! on listeners the caller bound (possibly inside another network namespace), keeping a journal
//! of [`RecordedRequest`](crate::observation::RecordedRequest)s. Unmatched requests get a 404 whose
//! body names the closest mapping and what differed.
//!
//! Inside: `reader` walks the JSON while tracking paths and keeping every problem found, and
//! `features` names the WireMock feature of a field sidebyside lacks; `matching`, `request_view`,
//! `value_pattern`, `body_pattern` (with `xml_pattern`), `multipart`, `date_pattern`, `json_path` (Jayway's dialect) and
//! `url_template` hold the request criteria, `near_miss` explains a request nothing matched,
//! `scenario` holds WireMock's state machines; `response`, `response_template` (with
//! `template_helpers` and `dates`), `delay` and `fault` hold the answers, `proxy` forwards a request to an upstream, `webhook` sends one after answering; `service` answers one
//! request from the match table, `journal` records it and `wire` times it; `connection` serves
//! one client connection (TLS, HTTP/1.1 or HTTP/2, faults) and `server` the listeners; `tls` makes the
//! certificates; `command` is `sidebyside mock`, the mappings served on their own for a person
//! to try, and `record` is `sidebyside record`, an upstream's answers written as mappings.

mod body_pattern;
mod client_stream;
mod command;
mod connection;
mod date_pattern;
mod dates;
mod delay;
mod fault;
mod features;
mod journal;
mod json_path;
mod limits;
mod mapping;
mod matching;
mod multipart;
mod near_miss;
mod proxy;
mod reader;
mod record;
mod request_view;
mod response;
mod response_template;
mod scenario;
mod server;
mod service;
mod template_helpers;
mod tls;
mod url_template;
mod value_pattern;
mod webhook;
mod wire;
mod xml_pattern;

pub use command::{serve_interactively, InteractiveOptions, ServingArguments};
pub use fault::Fault;
pub use journal::{JournalMode, MockCounts, MockOptions, RequestObserver};
pub use limits::ConnectionLimits;
pub use mapping::{
    LoadOptions, Mapping, MockDefinition, MAX_MAPPINGS_BYTES, MAX_MAPPING_FILE_BYTES,
};
pub use record::{record_interactively, recording_definition, RecordOptions, Recorder};
pub use server::{MockListeners, RunningMock};
pub use tls::CertificateAuthority;

use std::path::PathBuf;

/// Everything that can go wrong while loading mappings, making certificates or starting the mock.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    /// A file or folder could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A mapping file, or all of them together, larger than the mock reads.
    #[error("{}: {what} larger than {} MiB, the most the mock reads (split the mappings, or serve large bodies from __files/)", path.display(), limit >> 20)]
    TooLarge {
        path: PathBuf,
        what: &'static str,
        limit: u64,
    },
    /// The folder holds no mapping file.
    #[error("{}: no mapping files (*.json) found in mappings/ or in the folder itself", dir.display())]
    NoMappings { dir: PathBuf },
    /// A mapping file is not valid JSON.
    #[error("{}:{line}:{column}: invalid JSON: {message}", path.display())]
    InvalidJson {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// A field that is not part of the WireMock format at that place.
    #[error("{}: {json_path}: unknown field (expected one of: {expected})", path.display())]
    UnknownField {
        path: PathBuf,
        json_path: String,
        expected: String,
    },
    /// A WireMock feature that sidebyside does not implement yet.
    #[error("{}: {json_path}: not supported yet{}", path.display(), hint_suffix(hint))]
    Unsupported {
        path: PathBuf,
        json_path: String,
        hint: Option<String>,
    },
    /// A value of the wrong type or out of range, a bad regex, a missing response file, ...
    #[error("{}: {json_path}: {message}", path.display())]
    InvalidMapping {
        path: PathBuf,
        json_path: String,
        message: String,
    },
    /// Stands for problems already kept in the load's list (never shown on its own: the load
    /// reports the list).
    #[error("problems reported above")]
    AlreadyReported,
    /// Several problems, in every file: all of them, so that one load shows everything to fix.
    #[error("{} problems in the mappings (nothing is served until all are fixed):\n{}", .0.len(), list_problems(.0))]
    Problems(Vec<MockError>),
    /// The certificate authority or the server certificate could not be made.
    #[error("cannot create the mock's certificates: {0}")]
    Certificate(#[from] rcgen::Error),
    /// The TLS configuration was refused.
    #[error("cannot configure the mock's TLS: {0}")]
    Tls(#[from] rustls::Error),
    /// A listener could not be prepared, or an internal server could not be bound.
    #[error("cannot set up the mock's listeners: {0}")]
    Listener(#[source] std::io::Error),
}

fn list_problems(problems: &[MockError]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|problem| format!("  {problem}"))
        .collect();
    lines.join("\n")
}

impl MockError {
    /// One error for the problems of a load: the problem itself when there is only one.
    fn from_problems(mut problems: Vec<MockError>) -> MockError {
        if problems.len() == 1 {
            problems.remove(0)
        } else {
            MockError::Problems(problems)
        }
    }

    /// Every problem this error stands for (one, or each of [`MockError::Problems`]).
    pub fn problems(&self) -> Vec<&MockError> {
        match self {
            MockError::Problems(problems) => problems.iter().collect(),
            single => vec![single],
        }
    }
}

fn hint_suffix(hint: &Option<String>) -> String {
    match hint {
        Some(hint) => format!(" ({hint})"),
        None => String::new(),
    }
}
