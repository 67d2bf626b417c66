//! Running a scenario program directly, with parameters in its environment, against the bench
//! mock served in-process on 127.0.0.1 over HTTPS.

use super::programs::{bench, node, python, rust_binary, Program, ProgramKind};
use serde_json::Value;
use sidebyside::mock::{CertificateAuthority, MockDefinition, MockListeners, RunningMock};
use sidebyside::observation::RecordedRequest;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(120);

/// The bench mock served over HTTPS on 127.0.0.1, its mappings copied without their host
/// condition (requests to 127.0.0.1 carry that host), and the CA file the clients trust.
struct LocalMock {
    runtime: tokio::runtime::Runtime,
    mock: Option<RunningMock>,
    base_url: String,
    _directory: tempfile::TempDir,
    ca_file: PathBuf,
}

impl LocalMock {
    fn start() -> LocalMock {
        let directory = tempfile::tempdir().unwrap();
        let mappings = directory.path().join("mappings");
        std::fs::create_dir_all(&mappings).unwrap();
        for entry in std::fs::read_dir(bench().join("mock/mappings")).unwrap() {
            let path = entry.unwrap().path();
            let mut document: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            match document.get_mut("mappings").and_then(Value::as_array_mut) {
                Some(list) => list.iter_mut().for_each(without_host),
                None => without_host(&mut document),
            }
            std::fs::write(
                mappings.join(path.file_name().unwrap()),
                document.to_string(),
            )
            .unwrap();
        }
        let definition = MockDefinition::load(directory.path()).expect("the bench mock loads");
        let authority = CertificateAuthority::generate(definition.hosts()).unwrap();
        let ca_file = directory.path().join("ca.pem");
        std::fs::write(&ca_file, authority.certificate_pem()).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!(
            "https://127.0.0.1:{}",
            listener.local_addr().unwrap().port()
        );
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let mock = runtime
            .block_on(RunningMock::start(
                &definition,
                &authority,
                MockListeners {
                    http: vec![],
                    https: vec![listener],
                    either: vec![],
                },
            ))
            .expect("the mock starts");
        LocalMock {
            runtime,
            mock: Some(mock),
            base_url,
            _directory: directory,
            ca_file,
        }
    }

    fn journal(&self) -> Vec<RecordedRequest> {
        self.mock.as_ref().expect("running").journal()
    }
}

impl Drop for LocalMock {
    fn drop(&mut self) {
        if let Some(mock) = self.mock.take() {
            self.runtime.block_on(mock.shutdown());
        }
    }
}

fn without_host(mapping: &mut Value) {
    if let Some(request) = mapping["request"].as_object_mut() {
        request.remove("host");
    }
}

/// What a direct run left.
pub struct Direct {
    pub code: Option<i32>,
    pub result: Value,
    pub stderr: String,
    pub paths: Vec<String>,
}

/// Runs a program with `parameters` (and nothing else of this process's environment but PATH
/// and HOME) against a fresh local mock.
pub fn run_direct(program: &Program, parameters: &[(&str, &str)]) -> Direct {
    let mock = LocalMock::start();
    let mut command = match &program.kind {
        ProgramKind::File(path) if program.runtime == "javascript" => {
            let mut command = Command::new(node());
            command.arg(path);
            command
        }
        ProgramKind::File(path) => {
            let mut command = Command::new(python());
            command.arg(path);
            command
        }
        ProgramKind::RustBinary(binary) => Command::new(rust_binary(binary)),
    };
    command.env_clear();
    for name in ["PATH", "HOME"] {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command
        .env("SIDEBYSIDE_BASE_URL", &mock.base_url)
        .env("SSL_CERT_FILE", &mock.ca_file)
        .env("NODE_EXTRA_CA_CERTS", &mock.ca_file)
        .envs(parameters.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (code, stdout, stderr) = run_with_timeout(command, program);
    let result = stdout
        .lines()
        .last()
        .and_then(|line| serde_json::from_str(line).ok())
        .unwrap_or(Value::Null);
    let paths = mock
        .journal()
        .iter()
        .map(|request| {
            let path = request.url.splitn(4, '/').nth(3).unwrap_or_default();
            format!("/{path} {}", request.status)
        })
        .collect();
    Direct {
        code,
        result,
        stderr,
        paths,
    }
}

fn run_with_timeout(mut command: Command, program: &Program) -> (Option<i32>, String, String) {
    let mut child = command
        .spawn()
        .unwrap_or_else(|error| panic!("{program}: cannot start: {error}"));
    let mut stdout_pipe = child.stdout.take().unwrap();
    let mut stderr_pipe = child.stderr.take().unwrap();
    let stdout = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout_pipe.read_to_string(&mut text);
        text
    });
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{program}: still running after {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    (
        status.code(),
        stdout.join().unwrap(),
        stderr.join().unwrap(),
    )
}

/// Runs a program that must succeed, and returns its result and the paths the mock answered.
pub fn run_ok(program: &Program, parameters: &[(&str, &str)]) -> (Value, Vec<String>) {
    let run = run_direct(program, parameters);
    assert_eq!(
        run.code,
        Some(0),
        "{program} {parameters:?}: {}\nresult: {}",
        run.stderr,
        run.result
    );
    assert!(run.result.is_object(), "{program}: {}", run.stderr);
    (run.result, run.paths)
}
