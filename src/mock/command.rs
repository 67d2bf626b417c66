//! `sidebyside mock`: the mappings served on their own, on loopback, for a person to try with
//! curl. One port serves HTTP and HTTPS (told apart by the client's first byte); the banner
//! names each mocked origin with a curl command that reaches it, the certificate authority is
//! written to a file it names (removed on exit: the next start makes a new one), every request is
//! logged with the mapping that answered or the near miss, and Ctrl-C stops it cleanly.

use super::journal::{MockOptions, RequestObserver};
use super::limits::ConnectionLimits;
use super::mapping::{LoadOptions, MockDefinition};
use super::matching::Scheme;
use super::server::RunningMock;
use super::tls::CertificateAuthority;
use super::MockError;
use crate::observation::RecordedRequest;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// What `sidebyside mock` serves and where.
#[derive(Debug, Clone)]
pub struct InteractiveOptions {
    /// The mock definition folder.
    pub mock_dir: PathBuf,
    /// The loopback port; 0 picks a free one.
    pub port: u16,
    /// Every response is a template (WireMock's global response templating).
    pub global_templating: bool,
    /// Mappings may proxy to upstreams off this machine (`--allow-remote-upstream`).
    pub remote_upstreams: bool,
    /// Connection limits and what the journal keeps.
    pub serving: ServingArguments,
}

/// The flags of `sidebyside mock` that bound what clients can make it hold: connections, time,
/// journal, bodies.
#[derive(Debug, Clone, clap::Args)]
pub struct ServingArguments {
    /// Connections open at once; at the cap the longest-idle one is closed to make room.
    /// Default: three quarters of the open-file limit (64 to 16384).
    #[arg(long, value_name = "N", value_parser = crate::args::at_least_one)]
    pub max_connections: Option<usize>,
    /// Seconds a client may take to send its first bytes, a request's head, or finish the TLS
    /// handshake.
    #[arg(long, value_name = "SECS", default_value_t = 10.0, value_parser = crate::args::seconds)]
    pub header_timeout: f64,
    /// Seconds a connection may stay open with no request being answered.
    #[arg(long, value_name = "SECS", default_value_t = 30.0, value_parser = crate::args::seconds)]
    pub idle_timeout: f64,
    /// Requests the journal keeps (the latest; the counts cover every request).
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = crate::args::at_least_one)]
    pub journal_limit: usize,
    /// The largest request body read, in bytes; a larger one is answered 413.
    #[arg(long, value_name = "BYTES", default_value_t = MockOptions::DEFAULT_MAX_BODY_BYTES)]
    pub max_body: usize,
}

impl Default for ServingArguments {
    fn default() -> Self {
        ServingArguments {
            max_connections: None,
            header_timeout: ConnectionLimits::DEFAULT_HEADER_READ_TIMEOUT.as_secs_f64(),
            idle_timeout: ConnectionLimits::DEFAULT_IDLE_TIMEOUT.as_secs_f64(),
            journal_limit: 1000,
            max_body: MockOptions::DEFAULT_MAX_BODY_BYTES,
        }
    }
}

impl ServingArguments {
    /// The mock's options for these flags (seconds out of range fall back to the defaults).
    pub fn mock_options(&self) -> MockOptions {
        let seconds = |value: f64, default: Duration| {
            crate::args::seconds(&value.to_string()).map_or(default, Duration::from_secs_f64)
        };
        MockOptions {
            limits: ConnectionLimits {
                max_connections: self
                    .max_connections
                    .unwrap_or_else(ConnectionLimits::default_max_connections),
                header_read_timeout: seconds(
                    self.header_timeout,
                    ConnectionLimits::DEFAULT_HEADER_READ_TIMEOUT,
                ),
                idle_timeout: seconds(self.idle_timeout, ConnectionLimits::DEFAULT_IDLE_TIMEOUT),
            },
            journal_entries: self.journal_limit,
            max_body_bytes: self.max_body,
            ..MockOptions::default()
        }
    }
}

/// Serves the mappings on 127.0.0.1 until Ctrl-C (SIGINT) or SIGTERM, printing the banner and
/// a line per request on standard output. Must be called inside a tokio runtime.
pub async fn serve_interactively(options: &InteractiveOptions) -> Result<(), MockError> {
    let load_options = LoadOptions {
        global_templating: options.global_templating,
        remote_upstreams: options.remote_upstreams,
        ..LoadOptions::default()
    };
    let definition = MockDefinition::load_with(&options.mock_dir, load_options)?;
    for warning in definition.warnings() {
        eprintln!("sidebyside mock: warning: {warning}");
    }
    let authority = CertificateAuthority::for_definition(&definition)?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, options.port)).map_err(|error| {
        MockError::Listener(std::io::Error::new(
            error.kind(),
            format!("127.0.0.1:{}: {error}", options.port),
        ))
    })?;
    let port = listener.local_addr().map_err(MockError::Listener)?.port();
    let folder = tempfile::Builder::new()
        .prefix("sidebyside-mock-")
        .tempdir()
        .map_err(MockError::Listener)?;
    let ca_file = folder.path().join("ca.pem");
    std::fs::write(&ca_file, authority.certificate_pem()).map_err(|source| MockError::Read {
        path: ca_file.clone(),
        source,
    })?;

    let observer: RequestObserver = Arc::new(|request: &RecordedRequest| {
        print_and_flush(&request_lines(request));
    });
    let options = MockOptions {
        observer: Some(observer),
        ..options.serving.mock_options()
    };
    let mock =
        RunningMock::start_on_shared_ports(&definition, &authority, vec![listener], options)?;
    print_and_flush(&banner(&definition, port, &ca_file));

    wait_for_stop_signal().await;
    let served = mock.counts().requests;
    mock.shutdown().await;
    print_and_flush(&format!(
        "\nsidebyside mock: stopped after {served} requests\n"
    ));
    drop(folder);
    Ok(())
}

/// Ctrl-C, or SIGTERM (what `kill` and service managers send).
pub(super) async fn wait_for_stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

pub(super) fn print_and_flush(text: &str) {
    let mut stdout = std::io::stdout().lock();
    // A closed stdout (the person's pipe went away) must not stop the server.
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// `GET https://api.example.com:8080/data → 200 (mapping "get-data")`, plus the near miss.
pub(super) fn request_lines(request: &RecordedRequest) -> String {
    let answer = match (&request.fault, &request.mapping) {
        (Some(fault), Some(mapping)) => format!("fault {fault} (mapping {mapping:?})"),
        (None, Some(mapping)) => format!("{} (mapping {mapping:?})", request.status),
        _ => format!("{}, no mapping matched", request.status),
    };
    let mut text = format!("{} {} → {answer}\n", request.method, request.url);
    for line in request
        .near_miss
        .iter()
        .flat_map(|text| text.lines())
        .skip(1)
    {
        text.push_str(&format!("    {line}\n"));
    }
    text
}

/// The mocked origins and how to reach each with curl.
fn banner(definition: &MockDefinition, port: u16, ca_file: &Path) -> String {
    let ca = ca_file.display();
    let mappings = definition.mappings();
    let mut text = format!(
        "sidebyside mock: serving {} mappings from {} on 127.0.0.1:{port} (HTTP and HTTPS on the same port)\n\
         certificate authority for https:// (made for this run): {ca}\n\nmocked origins:\n",
        mappings.len(),
        definition.dir().display(),
    );
    // Host ("" for mappings that take any host) → schemes served and an example path.
    let mut origins: BTreeMap<&str, (Vec<Scheme>, Option<&str>)> = BTreeMap::new();
    for mapping in mappings {
        let pattern = mapping.request();
        let origin = origins.entry(pattern.host().unwrap_or("")).or_default();
        let schemes = match pattern.scheme() {
            Some(scheme) => vec![scheme],
            None => vec![Scheme::Https, Scheme::Http],
        };
        for scheme in schemes {
            if !origin.0.contains(&scheme) {
                origin.0.push(scheme);
            }
        }
        origin.1 = origin.1.or(pattern.example_url());
    }
    for (host, (mut schemes, example)) in origins {
        schemes.sort_by_key(|scheme| *scheme != Scheme::Https);
        let path = example.unwrap_or("/");
        for scheme in schemes {
            let (name, resolve) = if host.is_empty() {
                ("localhost", String::new())
            } else {
                (host, format!("--resolve {host}:{port}:127.0.0.1 "))
            };
            let trust = match scheme {
                Scheme::Https => format!("--cacert {ca} "),
                Scheme::Http => String::new(),
            };
            let label = if host.is_empty() {
                format!("{}://<any host>", scheme.as_str())
            } else {
                format!("{}://{host}", scheme.as_str())
            };
            text.push_str(&format!(
                "  {label}\n    curl {resolve}{trust}{}://{name}:{port}{path}\n",
                scheme.as_str()
            ));
        }
    }
    text.push_str("\nevery request is logged below; Ctrl-C stops.\n\n");
    text
}
