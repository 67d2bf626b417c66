//! The programs of snippets/bench/ as scenarios.json names them, and the runtimes that run them
//! (found and provisioned by sidebyside's own runtime code, so the tests use what verify uses).

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub const BENCH: &str = "snippets/bench";

pub fn bench() -> PathBuf {
    project().join(BENCH)
}

pub fn manifest() -> Value {
    let text = std::fs::read_to_string(bench().join("scenarios.json")).expect("scenarios.json");
    serde_json::from_str(&text).expect("scenarios.json is JSON")
}

pub fn scenario(name: &str) -> Value {
    manifest()["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .find(|scenario| scenario["name"] == name)
        .unwrap_or_else(|| panic!("no scenario {name} in scenarios.json"))
        .clone()
}

/// One program of a scenario, as the manifest names it.
#[derive(Debug, Clone)]
pub struct Program {
    /// The manifest's key: javascript, python, python-httpx, rust.
    pub runtime: String,
    pub kind: ProgramKind,
}

#[derive(Debug, Clone)]
pub enum ProgramKind {
    File(PathBuf),
    /// A binary of the snippets/bench/rust package.
    RustBinary(String),
}

impl std::fmt::Display for Program {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            ProgramKind::File(path) => write!(formatter, "{} ({})", path.display(), self.runtime),
            ProgramKind::RustBinary(name) => write!(formatter, "rust:{name}"),
        }
    }
}

pub fn programs(name: &str) -> Vec<Program> {
    scenario(name)["programs"]
        .as_object()
        .expect("programs")
        .iter()
        .map(|(runtime, path)| {
            let path = path.as_str().expect("a program is a string");
            let kind = match path.strip_prefix("rust:") {
                Some(binary) => ProgramKind::RustBinary(binary.to_string()),
                None => ProgramKind::File(bench().join(path)),
            };
            Program {
                runtime: runtime.clone(),
                kind,
            }
        })
        .collect()
}

// ---- runtimes -------------------------------------------------------------------------------

pub fn cache() -> PathBuf {
    sidebyside::paths::cache_dir()
}

pub fn node() -> &'static Path {
    static NODE: OnceLock<PathBuf> = OnceLock::new();
    NODE.get_or_init(|| {
        sidebyside::runtime::node::Node::find(&cache())
            .expect("node")
            .program
    })
}

/// The interpreter of the venv sidebyside provisions (aiohttp, httpx, uvloop).
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        sidebyside::runtime::python::Python::provision(&cache())
            .expect("the Python environment")
            .interpreter
    })
}

/// A cargo package holding one binary of snippets/bench/rust (its source file, the package's
/// library, manifest and lock, unchanged), so that `verify`, which runs a package's binary, runs
/// that one. Kept under the test target directory so cargo rebuilds nothing next time.
pub fn rust_package(binary: &str) -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let source = bench().join("rust");
    let package = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("scenario-packages")
        .join(binary);
    std::fs::create_dir_all(&package).unwrap();
    let original = std::fs::read_to_string(source.join("Cargo.toml")).unwrap();
    assert!(original.starts_with("[package]\n"), "{original}");
    let manifest = format!(
        "[package]\nautobins = false\nautoexamples = false\nautotests = false\n\
         autobenches = false\n{}\n[lib]\nname = \"sidebyside_scenarios\"\npath = {:?}\n\n\
         [[bin]]\nname = {binary:?}\npath = {:?}\n",
        &original["[package]\n".len()..],
        source.join("src/lib.rs"),
        source.join("src/bin").join(format!("{binary}.rs")),
    );
    write_if_changed(&package.join("Cargo.toml"), &manifest);
    write_if_changed(
        &package.join("Cargo.lock"),
        &std::fs::read_to_string(source.join("Cargo.lock")).unwrap(),
    );
    package
}

fn write_if_changed(path: &Path, content: &str) {
    if std::fs::read_to_string(path).ok().as_deref() != Some(content) {
        std::fs::write(path, content).unwrap();
    }
}

/// Builds one binary of snippets/bench/rust (release, in sidebyside's shared target directory,
/// exactly as verify builds a package) and returns its path.
pub fn rust_binary(binary: &str) -> PathBuf {
    static BUILT: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());
    let mut built = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(path) = built.get(binary) {
        return path.clone();
    }
    let rust = sidebyside::runtime::rust::Rust::find(&cache()).expect("cargo");
    let path = rust
        .build(&rust_package(binary), None, &|| {})
        .unwrap_or_else(|error| panic!("building rust:{binary}: {error}"));
    built.insert(binary.to_string(), path.clone());
    path
}
