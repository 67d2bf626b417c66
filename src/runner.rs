//! Running one snippet: the harness side of a launch.
//!
//! For each run the [`Session`] makes a private directory, starts the launcher
//! (`sidebyside __launch`) with `duct`, waits for it on a Unix control socket, serves the mock on
//! the listeners for this run (received from inside the namespace, or bound here in preload
//! mode), waits for the launcher's report, and gathers everything the run left: the report, the
//! captured output, the hook events and the mock's journal. A run that outlives its timeout is
//! killed by the launcher; the harness has a backstop in case the launcher itself is stuck.
//! Dropping the control connection tells the launcher to kill the snippet, so an interrupted
//! harness never leaves a snippet behind.

use crate::isolation::{self, dns::DnsResponder, proxy::RoutingProxy};
use crate::launcher::{namespace, LaunchReport, LaunchSpec, NamespaceSpec};
use crate::mock::{
    CertificateAuthority, JournalMode, MockCounts, MockDefinition, MockListeners, MockOptions,
    RunningMock,
};
use crate::observation::{IsolationMode, Output, RecordedRequest};
use crate::runtime::PreparedCommand;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How long a launcher has to kill an interrupted snippet and write its report.
const INTERRUPT_GRACE: Duration = Duration::from_secs(10);

/// How every run of a session is done.
#[derive(Debug, Clone)]
pub struct RunSettings {
    pub isolation: IsolationMode,
    pub limits: crate::launcher::Limits,
    pub timeout: Duration,
    pub output_cap_bytes: u64,
    /// The seccomp layer of the snippet's confinement ([`HarnessOptions::syscall_filter`]).
    ///
    /// [`HarnessOptions::syscall_filter`]: crate::harness::HarnessOptions::syscall_filter
    pub syscall_filter: bool,
}

/// What one run left behind, before any judgement.
#[derive(Debug, Clone, Default)]
pub struct RunOutcome {
    pub report: LaunchReport,
    pub stdout: Output,
    pub stderr: Output,
    /// The hook events held in memory: all of them, or (when `events_file` is set) all but the
    /// logged values.
    pub events: Vec<Value>,
    /// The events file and how much of it to read, when `events` leaves the logged values out.
    pub events_file: Option<(PathBuf, u64)>,
    pub requests: Vec<RecordedRequest>,
    /// The connections the mock accepted (empty in the counts-only journal mode).
    pub connections: Vec<crate::wire::Connection>,
    /// The origin of the journal's times on the machine's monotonic clock, in seconds (see
    /// `RunningMock::monotonic_origin_s`).
    pub mock_origin_monotonic_s: Option<f64>,
    /// Names the snippet's DNS lookups asked for (namespace isolation), or the hosts the routing
    /// proxy refused (preload isolation), each with the moment on the machine's monotonic clock
    /// it was first asked: which block of a session asked.
    pub names_asked_at: Vec<(String, f64)>,
    pub unmocked_hosts: Vec<String>,
    /// Requests the mock answered, per mapping (kept in every journal mode).
    pub mock_counts: MockCounts,
    /// Ctrl-C or SIGTERM stopped the snippet: what it printed and its times up to then are
    /// kept.
    pub interrupted: bool,
}

/// State shared by all runs of one `verify` (or `bench`): the mock definition, the certificate
/// authority made for this session, and the directory runs work in.
pub struct Session {
    pub definition: Arc<MockDefinition>,
    pub authority: Arc<CertificateAuthority>,
    pub settings: RunSettings,
    /// What the mock keeps about each request: the full journal (the default, which `verify`
    /// needs), or only counts, for throughput runs (then `RunOutcome::requests` is empty).
    pub journal: JournalMode,
    root: PathBuf,
    ca_file: PathBuf,
    nsswitch: Option<String>,
    /// Folders snippets read besides what their commands name (the cache): kept reachable in
    /// the namespace sandbox when the snippet runs as another user.
    pub reachable: Vec<PathBuf>,
    /// Writes a mapping per distinct request the runs' mocks proxy (`record PAGE...`).
    pub recorder: Option<Arc<crate::mock::Recorder>>,
    /// The `/etc` files of the namespace runs, written once in `root` by the first of them:
    /// the same for every run of the session.
    etc_files: std::sync::OnceLock<Result<EtcFiles, String>>,
    /// What the namespace runs reach of the host's filesystem, learnt once for the session.
    discovery: std::sync::Mutex<crate::launcher::sandbox::Discovery>,
}

/// The files a namespace run's launcher binds over `/etc/hosts`, `/etc/resolv.conf` and
/// `/etc/nsswitch.conf` (before it hides the session's folder they are in).
#[derive(Clone)]
struct EtcFiles {
    hosts: PathBuf,
    resolv: PathBuf,
    nsswitch: Option<PathBuf>,
}

/// The host user a snippet runs as when it is not the one who started sidebyside: a root
/// sidebyside runs namespace runs as the unprivileged sandbox user.
fn sandbox_user(isolation: IsolationMode) -> Option<(u32, u32)> {
    (isolation == IsolationMode::Namespace && nix::unistd::geteuid().is_root())
        .then_some(crate::launcher::sandbox::SANDBOX_USER)
}

impl Session {
    /// Prepares a session working in `root` (which must exist and be private to it).
    pub fn new(
        definition: Arc<MockDefinition>,
        settings: RunSettings,
        root: PathBuf,
    ) -> Result<Self, String> {
        let authority = CertificateAuthority::for_definition(&definition)
            .map_err(|error| format!("cannot create the certificate authority: {error}"))?;
        let ca_file = root.join("sidebyside-ca.pem");
        std::fs::write(&ca_file, authority.certificate_pem())
            .map_err(|error| format!("cannot write {}: {error}", ca_file.display()))?;
        let discovery = crate::launcher::sandbox::Discovery::new(sandbox_user(settings.isolation));
        Ok(Session {
            definition,
            authority: Arc::new(authority),
            settings,
            journal: JournalMode::Full,
            root,
            ca_file,
            nsswitch: isolation::nsswitch_file(Path::new("/etc/nsswitch.conf")),
            reachable: vec![],
            recorder: None,
            etc_files: std::sync::OnceLock::new(),
            discovery: std::sync::Mutex::new(discovery),
        })
    }

    /// The certificate authority's PEM file, which snippets trust (for runtimes that need it
    /// named in a variable of their own, such as Deno's `DENO_CERT`).
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// Runs a prepared command as run number `index` of the session, to its end.
    pub async fn run(&self, index: usize, command: &PreparedCommand) -> Result<RunOutcome, String> {
        self.run_until(index, command, None).await
    }

    /// [`run`](Self::run), stopping the snippet when `shutdown` aborts the runs in flight (as
    /// its command's policy says): it is killed, and what it printed and its times until then
    /// are kept (`RunOutcome::interrupted`).
    pub async fn run_until(
        &self,
        index: usize,
        command: &PreparedCommand,
        shutdown: Option<Arc<crate::shutdown::Shutdown>>,
    ) -> Result<RunOutcome, String> {
        let directory = self.root.join(format!("run-{index}"));
        let work = directory.join("work");
        let temporary = directory.join("tmp");
        let home = directory.join("home");
        for folder in [&work, &temporary, &home] {
            std::fs::create_dir_all(folder)
                .map_err(|error| format!("cannot create {}: {error}", folder.display()))?;
        }
        let control_path = directory.join("control.sock");
        let control = tokio::net::UnixListener::bind(&control_path)
            .map_err(|error| format!("cannot listen on {}: {error}", control_path.display()))?;
        let events_path = directory.join("events.jsonl");
        // The hooks append to the events file; it exists beforehand so that the snippet may be
        // allowed to write that one file of the run directory and nothing else there.
        std::fs::write(&events_path, b"")
            .map_err(|error| format!("cannot create {}: {error}", events_path.display()))?;
        // A root sidebyside runs the snippet as the unprivileged sandbox user, who owns the
        // run's directory (and nothing else on the machine).
        let sandbox_user = sandbox_user(self.settings.isolation);
        if let Some((uid, gid)) = sandbox_user {
            for folder in [&directory, &work, &temporary, &home, &events_path] {
                nix::unistd::chown(folder.as_path(), Some(uid.into()), Some(gid.into())).map_err(
                    |errno| {
                        format!(
                            "cannot hand {} to the sandbox user: {errno}",
                            folder.display()
                        )
                    },
                )?;
            }
        }

        let mut env = base_environment(&temporary, &home);
        env.extend(command.env.iter().cloned());
        let ca = self.ca_file.display().to_string();
        env.push((
            "SIDEBYSIDE_EVENTS".into(),
            events_path.display().to_string(),
        ));
        env.push(("NODE_EXTRA_CA_CERTS".into(), ca.clone()));
        // requests reads its own variable, not OpenSSL's.
        env.push(("REQUESTS_CA_BUNDLE".into(), ca.clone()));
        env.push(("SSL_CERT_FILE".into(), ca));

        // Preload mode: the mock listens here, on ephemeral ports, and the hooks route to it.
        let mut preload: Option<(RunningMock, RoutingProxy)> = None;
        let mut namespace_spec = None;
        let tcp_connect_ports = match self.settings.isolation {
            IsolationMode::Preload => {
                let (mock, proxy, routing_env, ports) =
                    self.start_preload_routing(&directory).await?;
                env.extend(routing_env);
                preload = Some((mock, proxy));
                ports
            }
            IsolationMode::Namespace => {
                let mut namespace = self.namespace_files(&directory)?;
                namespace.sandbox_user = sandbox_user;
                namespace.reachable = self.reachable.clone();
                namespace.found = Some(
                    self.discovery
                        .lock()
                        .map_err(|_| "the sandbox's path discovery failed earlier".to_string())?
                        .find(
                            &command.program,
                            &command.args,
                            &env,
                            &self.reachable,
                            &directory,
                        ),
                );
                let ports = namespace.tcp_ports.clone();
                namespace_spec = Some(namespace);
                ports
            }
        };
        // What the snippet may write: its working directory, its TMPDIR, its HOME and its
        // events file (and, in a namespace, the private tmpfs folders the sandbox gives it).
        // The rest of the run directory (launch spec, report, captured output) and every other
        // run's are out of its reach.
        let mut writable = vec![
            work.clone(),
            temporary.clone(),
            home.clone(),
            events_path.clone(),
        ];
        if self.settings.isolation == IsolationMode::Namespace {
            writable.extend(["/tmp", "/var/tmp", "/dev/shm"].map(PathBuf::from));
        }
        let confine = crate::launcher::confine::ConfineSpec {
            writable,
            tcp_connect_ports,
            read_only_mounts: self.settings.isolation == IsolationMode::Namespace,
            syscall_filter: self.settings.syscall_filter,
        };

        let spec = LaunchSpec {
            program: command.program.clone(),
            args: command.args.clone(),
            env,
            cwd: work,
            timeout_ms: self.settings.timeout.as_millis() as u64,
            output_cap_bytes: self.settings.output_cap_bytes,
            stdout_path: directory.join("stdout"),
            stderr_path: directory.join("stderr"),
            report_path: directory.join("report.json"),
            control_socket: control_path,
            namespace: namespace_spec,
            limits: self.settings.limits.clone(),
            confine: Some(confine),
            cpus: crate::launcher::program_cpus(),
            step_aside: crate::launcher::steps_aside(),
        };
        let spec_path = directory.join("launch.json");
        crate::ground::files::write_run_file(&spec_path, &spec)
            .map_err(|error| format!("cannot write {}: {error}", spec_path.display()))?;

        let launcher = self.start_launcher(&spec_path, &directory.join("launcher.stderr"))?;
        let mut launcher_exit = launcher.end();
        let stream = tokio::select! {
            accepted = control.accept() => accepted
                .map_err(|error| format!("the launcher did not connect: {error}"))?.0,
            exited = &mut launcher_exit => {
                return Err(launcher_failure("the launcher exited before it started the snippet", exited));
            }
            () = tokio::time::sleep(Duration::from_secs(30)) => {
                launcher.kill();
                return Err("the launcher did not start within 30 s".to_string());
            }
        };
        let stream = stream
            .into_std()
            .and_then(|stream| stream.set_nonblocking(false).map(|()| stream))
            .map_err(|error| format!("control socket: {error}"))?;
        // A namespace run's launcher first hears which network namespace to run in: one an
        // earlier run left (namespace::enter), or none. Its own comes back with its message.
        let in_namespace = self.settings.isolation == IsolationMode::Namespace;
        let (stream, received) = tokio::task::spawn_blocking(move || {
            if in_namespace {
                let offered = namespace::take_kept_network();
                if let Err(error) = namespace::send_offer(&stream, offered.as_ref()) {
                    return (stream, Err(error));
                }
            }
            let received = namespace::receive(&stream);
            (stream, received)
        })
        .await
        .map_err(|error| format!("control socket: {error}"))?;
        let (message, mut sockets) =
            received.map_err(|error| format!("cannot read the launcher's message: {error}"))?;
        let kept_network = namespace::take_kept(&message, &mut sockets);

        let mut namespace_services: Option<(RunningMock, DnsResponder)> = None;
        if message.error.is_none() {
            if self.settings.isolation == IsolationMode::Namespace {
                namespace_services = Some(self.serve_namespace(&message, sockets).await?);
            }
            // Everything this run needs is serving: the launcher may start the snippet (and
            // its clock). If the launcher is already gone, its exit says why.
            let _ = std::io::Write::write_all(&mut &stream, b"g");
        }

        let backstop = self.settings.timeout + Duration::from_secs(20);
        let mut control = Some(stream);
        let interrupted = async {
            match &shutdown {
                Some(shutdown) => shutdown.abort().await,
                None => std::future::pending().await,
            }
        };
        let finished = tokio::select! {
            exited = tokio::time::timeout(backstop, &mut launcher_exit) => Some(exited),
            () = interrupted => None,
        };
        let interrupted = finished.is_none();
        let finished = match finished {
            Some(exited) => exited,
            None => {
                // Hanging up tells the launcher to kill the snippet; it still measures and
                // reports what the snippet did until then.
                drop(control.take());
                tokio::time::timeout(INTERRUPT_GRACE, &mut launcher_exit).await
            }
        };
        let exited = match finished {
            Ok(exited) => exited,
            Err(_) => {
                launcher.kill();
                return Err(format!(
                    "the launcher did not finish within {} s after the timeout",
                    backstop.as_secs()
                ));
            }
        };
        drop(control);
        let launcher_end = exited.map_err(|error| format!("the launcher failed: {error}"))?;
        let report: LaunchReport = std::fs::read(&spec.report_path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| launcher_end.describe("the launcher wrote no report"))?;

        let mut outcome = RunOutcome {
            stdout: Output::read(&spec.stdout_path, report.stdout_bytes),
            stderr: Output::read(&spec.stderr_path, report.stderr_bytes),
            events: vec![],
            report,
            interrupted,
            ..RunOutcome::default()
        };
        // What the hooks logged is the run's output again (as values): read no more of it
        // than of the output itself, and hold a noisy run's logged values only on disk.
        outcome.read_events(
            &events_path,
            self.settings.output_cap_bytes.clamp(1 << 20, 64 << 20),
        );
        let mut unmocked: Vec<String> = outcome
            .events
            .iter()
            .filter(|event| event["kind"] == "refused")
            .filter_map(|event| event["host"].as_str().map(str::to_string))
            .collect();
        if let Some((mock, proxy)) = preload {
            outcome.requests = mock.journal();
            outcome.connections = mock.connections();
            outcome.mock_origin_monotonic_s = Some(mock.monotonic_origin_s());
            outcome.mock_counts = mock.counts();
            outcome.names_asked_at = proxy
                .refused_at()
                .into_iter()
                .map(|(target, at)| (host_of(&target).to_lowercase(), at))
                .collect();
            unmocked.extend(proxy.refused().into_iter().map(|target| host_of(&target)));
            mock.shutdown().await;
        }
        if let Some((mock, dns)) = namespace_services {
            outcome.requests = mock.journal();
            outcome.connections = mock.connections();
            outcome.mock_origin_monotonic_s = Some(mock.monotonic_origin_s());
            outcome.mock_counts = mock.counts();
            outcome.names_asked_at = dns.queried_at();
            unmocked.extend(dns.queried());
            mock.shutdown().await;
            drop(dns);
            // The run is over and its sockets are closed (or closing): its network namespace
            // may serve a later run, whose launcher checks that it is empty first.
            if let Some(kept) = kept_network {
                namespace::keep_network(kept);
            }
        }
        let mocked = self.definition.hosts();
        let any_host = self.definition.answers_any_host();
        let mut seen = std::collections::BTreeSet::new();
        outcome.unmocked_hosts = unmocked
            .into_iter()
            .map(|host| host.to_lowercase())
            .filter(|host| !mocked.contains(host) && host != "localhost")
            // With a mapping that answers any host, only addresses are refused (no name is
            // unmocked): those are still reported.
            .filter(|host| !any_host || host.parse::<std::net::IpAddr>().is_ok())
            .filter(|host| seen.insert(host.clone()))
            .collect();
        Ok(outcome)
    }

    /// Starts the run's launcher: forked by the process's zygote ([`zygote::shared`](crate::launcher::zygote::shared)),
    /// or executed afresh when the zygote cannot be had or is not wanted
    /// ([`crate::launcher::launchers_executed`]).
    fn start_launcher(&self, spec_path: &Path, stderr_path: &Path) -> Result<Launcher, String> {
        let executable = std::env::current_exe()
            .map_err(|error| format!("cannot find the sidebyside executable: {error}"))?;
        if !crate::launcher::launchers_executed() {
            let namespace = self.settings.isolation == IsolationMode::Namespace;
            if let Ok(zygote) = crate::launcher::zygote::shared(namespace) {
                if let Ok(launched) = zygote.launch(spec_path, stderr_path, namespace) {
                    return Ok(Launcher::Forked {
                        launched: Arc::new(launched),
                        stderr_path: stderr_path.to_path_buf(),
                    });
                }
            }
        }
        let handle = duct::cmd(
            executable,
            ["__launch".into(), spec_path.as_os_str().to_owned()],
        )
        .stdin_null()
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .start()
        .map_err(|error| format!("cannot start the launcher: {error}"))?;
        Ok(Launcher::Executed(Arc::new(handle)))
    }

    fn mock_options(&self) -> MockOptions {
        MockOptions {
            journal: self.journal,
            recorder: self.recorder.clone(),
            ..MockOptions::default()
        }
    }

    /// Writes the files the namespace sees in `/etc` and describes the namespace.
    fn namespace_files(&self, directory: &Path) -> Result<NamespaceSpec, String> {
        let etc = self
            .etc_files
            .get_or_init(|| {
                let write = |name: &str, content: &str| -> Result<PathBuf, String> {
                    let path = self.root.join(name);
                    std::fs::write(&path, content)
                        .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
                    Ok(path)
                };
                Ok(EtcFiles {
                    hosts: write("hosts", &isolation::hosts_file(self.definition.hosts()))?,
                    resolv: write("resolv.conf", isolation::resolv_file())?,
                    nsswitch: match &self.nsswitch {
                        Some(text) => Some(write("nsswitch.conf", text)?),
                        None => None,
                    },
                })
            })
            .clone()?;
        Ok(NamespaceSpec {
            hosts_file: etc.hosts,
            resolv_file: etc.resolv,
            nsswitch_file: etc.nsswitch,
            tcp_ports: vec![80, 443],
            dns: true,
            run_dir: directory.to_path_buf(),
            session_dir: self.root.clone(),
            reachable: vec![],
            sandbox_user: None,
            found: None,
        })
    }

    async fn serve_namespace(
        &self,
        message: &crate::launcher::ControlMessage,
        sockets: Vec<std::os::fd::OwnedFd>,
    ) -> Result<(RunningMock, DnsResponder), String> {
        let expected = message.tcp_ports.len() + usize::from(message.dns);
        if sockets.len() != expected || message.tcp_ports != [80, 443] || !message.dns {
            return Err(format!(
                "the launcher sent {} sockets for ports {:?}, expected 80, 443 and DNS",
                sockets.len(),
                message.tcp_ports
            ));
        }
        let mut sockets = sockets.into_iter();
        let mut next = || sockets.next().ok_or("missing socket".to_string());
        let http = std::net::TcpListener::from(next()?);
        let https = std::net::TcpListener::from(next()?);
        let udp = std::net::UdpSocket::from(next()?);
        let mock = RunningMock::start_with(
            &self.definition,
            &self.authority,
            MockListeners {
                http: vec![http],
                https: vec![https],
                either: vec![],
            },
            self.mock_options(),
        )
        .await
        .map_err(|error| format!("cannot start the mock: {error}"))?;
        let answers = match self.definition.answers_any_host() {
            true => isolation::dns::Answers::Loopback,
            false => isolation::dns::Answers::NoSuchHost,
        };
        let dns = DnsResponder::start(udp, answers)
            .map_err(|error| format!("cannot start the DNS responder: {error}"))?;
        Ok((mock, dns))
    }

    /// Preload mode: the mock on two ephemeral loopback ports, a routing proxy, the
    /// environment that points the hooks and proxy-aware clients at them, and those three ports.
    async fn start_preload_routing(
        &self,
        directory: &Path,
    ) -> Result<(RunningMock, RoutingProxy, Vec<(String, String)>, Vec<u16>), String> {
        let bind = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .map_err(|error| format!("cannot listen on loopback: {error}"))
        };
        let (http, https, proxy_listener) = (bind()?, bind()?, bind()?);
        // A mapping without `host` answers every host: every other host name, on any port,
        // goes to a listener that serves both (TLS told by the client's first byte).
        let either = match self.definition.answers_any_host() {
            true => Some(bind()?),
            false => None,
        };
        let address = |listener: &std::net::TcpListener| {
            listener
                .local_addr()
                .map_err(|error| format!("cannot read a listener's address: {error}"))
        };
        let (http_address, https_address) = (address(&http)?, address(&https)?);
        let mut routes = BTreeMap::new();
        for host in self.definition.hosts() {
            routes.insert(format!("{host}:80"), http_address);
            routes.insert(format!("{host}:443"), https_address);
        }
        let mut ports = vec![http_address.port(), https_address.port()];
        if let Some(listener) = &either {
            let either_address = address(listener)?;
            routes.insert(isolation::proxy::ANY_HOST.to_string(), either_address);
            ports.push(either_address.port());
        }
        let routes_json: BTreeMap<&String, String> = routes
            .iter()
            .map(|(key, value)| (key, value.to_string()))
            .collect();
        let proxy = RoutingProxy::start(proxy_listener, routes.clone())
            .map_err(|error| format!("cannot start the routing proxy: {error}"))?;
        let mock = RunningMock::start_with(
            &self.definition,
            &self.authority,
            MockListeners {
                http: vec![http],
                https: vec![https],
                either: either.into_iter().collect(),
            },
            self.mock_options(),
        )
        .await
        .map_err(|error| format!("cannot start the mock: {error}"))?;
        let proxy_url = format!("http://{}", proxy.local_addr());
        // In a file, not the environment: thousands of mocked hosts would not fit there
        // (execve's "Argument list too long").
        let routes_file = directory.join("routes.json");
        std::fs::write(
            &routes_file,
            serde_json::to_string(&routes_json).unwrap_or_default(),
        )
        .map_err(|error| format!("cannot write {}: {error}", routes_file.display()))?;
        let mut env = vec![(
            "SIDEBYSIDE_ROUTES_FILE".to_string(),
            routes_file.display().to_string(),
        )];
        for name in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"] {
            env.push((name.to_string(), proxy_url.clone()));
            env.push((name.to_lowercase(), proxy_url.clone()));
        }
        ports.push(proxy.local_addr().port());
        Ok((mock, proxy, env, ports))
    }
}

/// The environment every snippet starts from: nothing inherited but what programs need to
/// find their tools and speak UTF-8 (no tokens, keys or cloud credentials), with a home and a
/// temporary folder of the run's own.
fn base_environment(temporary: &Path, home: &Path) -> Vec<(String, String)> {
    let mut env = vec![
        (
            "PATH".to_string(),
            std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".to_string()),
        ),
        ("HOME".to_string(), home.display().to_string()),
    ];
    for name in ["LANG", "LC_ALL", "TZ"] {
        if let Ok(value) = std::env::var(name) {
            env.push((name.to_string(), value));
        }
    }
    if !env.iter().any(|(name, _)| name == "LANG") {
        env.push(("LANG".to_string(), "C.UTF-8".to_string()));
    }
    env.push(("TMPDIR".to_string(), temporary.display().to_string()));
    env
}

fn launcher_failure(what: &str, exited: Result<LauncherEnd, String>) -> String {
    match exited {
        Ok(end) => end.describe(what),
        Err(error) => format!("{what}: {error}"),
    }
}

/// A run's launcher: forked by the session's zygote, or (when there is none) started as
/// `sidebyside __launch SPEC` of its own.
enum Launcher {
    Forked {
        launched: Arc<crate::launcher::zygote::Launched>,
        stderr_path: PathBuf,
    },
    Executed(Arc<duct::Handle>),
}

/// How a launcher ended: its exit status when known (a forked launcher is the zygote's child,
/// whose status sidebyside does not see) and what it wrote on standard error.
struct LauncherEnd {
    status: Option<String>,
    stderr: String,
}

impl LauncherEnd {
    fn describe(&self, what: &str) -> String {
        let stderr = self.stderr.trim();
        let stderr = if stderr.is_empty() {
            "it said nothing"
        } else {
            stderr
        };
        match &self.status {
            Some(status) => format!("{what} ({status}): {stderr}"),
            None => format!("{what}: {stderr}"),
        }
    }
}

type LauncherEndFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<LauncherEnd, String>> + Send>>;

impl Launcher {
    /// Resolves when the launcher has ended.
    fn end(&self) -> LauncherEndFuture {
        match self {
            Launcher::Forked {
                launched,
                stderr_path,
            } => {
                let launched = launched.clone();
                let stderr_path = stderr_path.clone();
                Box::pin(async move {
                    launched
                        .exited()
                        .await
                        .map_err(|error| format!("cannot watch the launcher: {error}"))?;
                    Ok(LauncherEnd {
                        status: None,
                        stderr: std::fs::read_to_string(&stderr_path).unwrap_or_default(),
                    })
                })
            }
            Launcher::Executed(handle) => {
                let handle = handle.clone();
                Box::pin(async move {
                    let output = tokio::task::spawn_blocking(move || handle.wait().cloned())
                        .await
                        .map_err(|error| error.to_string())?
                        .map_err(|error| error.to_string())?;
                    Ok(LauncherEnd {
                        status: Some(output.status.to_string()),
                        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
                    })
                })
            }
        }
    }

    fn kill(&self) {
        match self {
            Launcher::Forked { launched, .. } => launched.kill(),
            Launcher::Executed(handle) => {
                let _ = handle.kill();
            }
        }
    }
}

fn host_of(target: &str) -> String {
    target
        .rsplit_once(':')
        .map(|(host, _)| host)
        .unwrap_or(target)
        .trim_matches(['[', ']'])
        .to_string()
}

/// Reads the hook events, one JSON object a line, at most `limit` bytes, keeping those `keep`
/// accepts.
fn read_events(path: &Path, limit: u64, keep: impl Fn(&Value) -> bool) -> Vec<Value> {
    use std::io::{BufRead, Read};
    let Ok(file) = std::fs::File::open(path) else {
        return vec![];
    };
    std::io::BufReader::new(file.take(limit))
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| serde_json::from_str::<Value>(&line).ok())
        .filter(|event| keep(event))
        .collect()
}

impl RunOutcome {
    /// Bytes of hook events held in memory whole; past them, the logged values stay in the
    /// events file and are read again when needed ([`all_events`](Self::all_events)).
    pub const EVENTS_KEPT: u64 = 64 << 10;

    fn read_events(&mut self, path: &Path, limit: u64) {
        let size = std::fs::metadata(path)
            .map(|metadata| metadata.len())
            .unwrap_or(0);
        if size <= Self::EVENTS_KEPT {
            self.events = read_events(path, limit, |_| true);
        } else {
            self.events = read_events(path, limit, |event| event["kind"] != "log");
            self.events_file = Some((path.to_path_buf(), limit));
        }
    }

    /// Every hook event of the run, the logged values included (read again from the run's
    /// events file when a noisy run's are not held in memory).
    pub fn all_events(&self) -> std::borrow::Cow<'_, [Value]> {
        match &self.events_file {
            Some((path, limit)) => std::borrow::Cow::Owned(read_events(path, *limit, |_| true)),
            None => std::borrow::Cow::Borrowed(&self.events),
        }
    }
}
