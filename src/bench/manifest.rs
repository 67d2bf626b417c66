//! The scenario manifest (`snippets/bench/scenarios.json`): which programs make up each
//! scenario, the parameters they are swept over, and what a correct run must show.
//!
//! Paths in the manifest are relative to its folder. A program is a JavaScript or Python file,
//! a cargo package directory (a whole Rust program, like the article's tokio snippet), or
//! `rust:NAME`, binary NAME of the cargo package `rust/` beside the manifest. Each scenario's
//! `expect` holds rules over the program's own figures and the count of requests the mock saw
//! (`ok_equals: "n"`, `mock_requests_equals: "ok"`, `errors_at_most: 0`); a scenario whose
//! programs are verbatim snippets instead names the JSON their result must equal
//! (`result_file`, also spelt `result_equals_file`, or else `<name>.expected.json` in the
//! manifest's folder or its parent). Every
//! mistake is reported with the manifest's path and the field at fault.

use crate::error::{Error, Result};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The program keys a scenario may give, besides a runtime id (which overrides its family's).
pub const PROGRAM_FAMILIES: [&str; 4] = ["javascript", "python", "python-httpx", "rust"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    mock: Option<String>,
    scenarios: Vec<ScenarioFile>,
    #[serde(default)]
    #[allow(dead_code)]
    notes: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    name: String,
    #[serde(default)]
    description: String,
    claim: Option<String>,
    #[serde(default)]
    parameters: BTreeMap<String, Vec<Value>>,
    defaults: Option<BTreeMap<String, Vec<Value>>>,
    programs: BTreeMap<String, String>,
    #[serde(default)]
    expect: BTreeMap<String, Value>,
    metric: Option<MetricFile>,
    runs: Option<usize>,
    warmup: Option<usize>,
    timeout_s: Option<f64>,
    default: Option<bool>,
    #[serde(default)]
    #[allow(dead_code)]
    notes: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricFile {
    name: String,
    #[serde(default)]
    better: Better,
}

/// Which direction of a metric is better.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    #[default]
    Lower,
    Higher,
}

/// The measurement runtimes are ranked by: `wall_s` (default), `cpu_s`, `peak_rss_bytes`, or
/// one of the program's own figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metric {
    pub name: String,
    pub better: Better,
}

impl Default for Metric {
    fn default() -> Self {
        Metric {
            name: "wall_s".to_string(),
            better: Better::Lower,
        }
    }
}

/// One program of a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    /// A `.js`, `.mjs`, `.cjs` or `.py` file.
    File(PathBuf),
    /// A cargo package directory whose binary is the program.
    CargoPackage(PathBuf),
    /// Binary `name` of the scenarios' cargo package.
    RustBinary { package: PathBuf, name: String },
}

/// How a rule compares a figure with its reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Equals,
    AtLeast,
    AtMost,
}

/// What a rule compares a figure with: a number, or a parameter or figure of the same run.
#[derive(Debug, Clone, PartialEq)]
pub enum Reference {
    Number(f64),
    Name(String),
}

/// `ok_equals: "n"`: figure `ok` must equal parameter `n`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// A figure the program printed, or `mock_requests` (requests in the mock's journal).
    pub figure: String,
    pub comparison: Comparison,
    pub reference: Reference,
    /// The manifest key, for messages (`ok_equals`).
    pub key: String,
}

/// How a run of a scenario is checked, beyond exit status 0, mocked hosts only and its rules.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// The program prints its figures as a JSON object on its last line of standard output.
    Figures,
    /// The programs are verbatim snippets: their result must equal this JSON (from this file).
    Result { expected: Value, file: PathBuf },
    /// An arbitrary command (`bench --command`): exit status 0 is all that is asked.
    ExitStatus,
}

impl Check {
    /// Whether the programs are the article's snippets, which read no `SIDEBYSIDE_*` variable.
    pub fn verbatim(&self) -> bool {
        matches!(self, Check::Result { .. })
    }
}

/// One scenario, validated.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub claim: Option<String>,
    pub parameters: BTreeMap<String, Vec<Value>>,
    pub defaults: BTreeMap<String, Vec<Value>>,
    /// Program key (`javascript`, `python`, `python-httpx`, `rust`, or a runtime id) to program.
    pub programs: BTreeMap<String, Program>,
    pub rules: Vec<Rule>,
    /// How a run is checked before it may be timed.
    pub check: Check,
    pub metric: Metric,
    pub runs: Option<usize>,
    pub warmup: Option<usize>,
    pub timeout_s: Option<f64>,
    /// Part of the suite run when no `--scenario` is given.
    pub in_default_suite: bool,
}

/// The whole manifest, validated, with paths made absolute.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub path: PathBuf,
    /// The mock folder the manifest names, if any.
    pub mock: Option<PathBuf>,
    pub scenarios: Vec<Scenario>,
}

impl Manifest {
    /// Reads and validates a manifest.
    pub fn load(path: &Path) -> Result<Self> {
        let input = |message: String| Error::Input {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|error| input(format!("cannot read the scenario manifest: {error}")))?;
        let file: ManifestFile = serde_json::from_str(&text)
            .map_err(|error| input(format!("not a valid scenario manifest: {error}")))?;
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let directory = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut scenarios: Vec<Scenario> = Vec::new();
        for (index, scenario) in file.scenarios.into_iter().enumerate() {
            let field = format!("scenarios[{index}] ({})", scenario.name);
            let scenario = validate(scenario, &directory)
                .map_err(|message| input(format!("{field}: {message}")))?;
            if scenarios.iter().any(|other| other.name == scenario.name) {
                return Err(input(format!(
                    "{field}: a scenario with this name comes earlier"
                )));
            }
            scenarios.push(scenario);
        }
        if scenarios.is_empty() {
            return Err(input("the manifest lists no scenarios".to_string()));
        }
        let mock = match file.mock {
            Some(mock) => {
                let folder = directory.join(&mock);
                if !folder.is_dir() {
                    return Err(input(format!(
                        "mock: {} is not a folder of WireMock mappings",
                        folder.display()
                    )));
                }
                Some(folder)
            }
            None => None,
        };
        Ok(Manifest {
            path,
            mock,
            scenarios,
        })
    }

    pub fn scenario(&self, name: &str) -> Option<&Scenario> {
        self.scenarios.iter().find(|scenario| scenario.name == name)
    }
}

fn validate(file: ScenarioFile, directory: &Path) -> std::result::Result<Scenario, String> {
    if file.name.is_empty()
        || !file
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err("name: use letters, digits, `-` and `_`".to_string());
    }
    let defaults = file.defaults.unwrap_or_default();
    for (name, values) in file.parameters.iter().chain(defaults.iter()) {
        check_parameter(name, values)?;
    }
    if let Some(name) = defaults
        .keys()
        .find(|name| !file.parameters.contains_key(*name))
    {
        return Err(format!(
            "defaults.{name}: not in `parameters`; list every parameter there with all its values"
        ));
    }
    if file.programs.is_empty() {
        return Err("programs: no programs given".to_string());
    }
    let mut programs = BTreeMap::new();
    for (key, reference) in &file.programs {
        let program = program(key, reference, directory)
            .map_err(|message| format!("programs.{key}: {message}"))?;
        programs.insert(key.clone(), program);
    }
    let mut rules = Vec::new();
    let mut result_file = None;
    for (key, value) in &file.expect {
        if key == "result_file" || key == "result_equals_file" {
            let relative = value
                .as_str()
                .ok_or_else(|| format!("expect.{key}: give a path as a string"))?;
            result_file = Some(directory.join(relative));
            continue;
        }
        rules.push(rule(key, value).map_err(|message| format!("expect.{key}: {message}"))?);
    }
    if result_file.is_none() && rules.iter().all(|rule| rule.figure == "mock_requests") {
        result_file = [directory.to_path_buf(), directory.join("..")]
            .iter()
            .map(|folder| folder.join(format!("{}.expected.json", file.name)))
            .find(|candidate| candidate.is_file());
    }
    let check = match result_file {
        Some(file) => {
            let text = std::fs::read_to_string(&file).map_err(|error| {
                format!(
                    "expect.result_file: cannot read {}: {error}",
                    file.display()
                )
            })?;
            let expected = serde_json::from_str(&text).map_err(|error| {
                format!(
                    "expect.result_file: {} is not valid JSON: {error}",
                    file.display()
                )
            })?;
            Check::Result { expected, file }
        }
        None => Check::Figures,
    };
    if check == Check::Figures && rules.is_empty() {
        return Err(
            "expect: give at least one rule that shows the work was done (e.g. \
                    \"ok_equals\": \"n\", \"mock_requests_equals\": \"n\"), or `result_file` for \
                    verbatim snippets"
                .to_string(),
        );
    }
    let metric = match file.metric {
        Some(metric) if metric.name.is_empty() => return Err("metric.name: empty".to_string()),
        Some(metric) => Metric {
            name: metric.name,
            better: metric.better,
        },
        None => Metric::default(),
    };
    if let Some(timeout) = file.timeout_s {
        if !(timeout.is_finite() && timeout > 0.0) {
            return Err("timeout_s: give a positive number of seconds".to_string());
        }
    }
    if file.runs == Some(0) {
        return Err("runs: give at least 1".to_string());
    }
    Ok(Scenario {
        name: file.name,
        description: file.description,
        claim: file.claim,
        parameters: file.parameters,
        defaults,
        programs,
        rules,
        check,
        metric,
        runs: file.runs,
        warmup: file.warmup,
        timeout_s: file.timeout_s,
        in_default_suite: file.default.unwrap_or(true),
    })
}

fn check_parameter(name: &str, values: &[Value]) -> std::result::Result<(), String> {
    let valid_name = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid_name {
        return Err(format!(
            "parameter `{name}`: use lowercase letters, digits and `_` (it becomes SIDEBYSIDE_{})",
            name.to_uppercase()
        ));
    }
    if values.is_empty() {
        return Err(format!("parameter `{name}`: give at least one value"));
    }
    if let Some(value) = values
        .iter()
        .find(|value| !(value.is_number() || value.is_string()))
    {
        return Err(format!(
            "parameter `{name}`: {value} is neither a number nor a string"
        ));
    }
    Ok(())
}

fn program(key: &str, reference: &str, directory: &Path) -> std::result::Result<Program, String> {
    let known = PROGRAM_FAMILIES.contains(&key) || crate::runtime::RuntimeId::parse(key).is_some();
    if !known {
        return Err(format!(
            "unknown program key; use one of {} or a runtime id ({})",
            PROGRAM_FAMILIES.join(", "),
            crate::runtime::RuntimeId::ALL
                .iter()
                .map(|runtime| runtime.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let family = crate::runtime::RuntimeId::parse(key)
        .map(|runtime| runtime.family())
        .unwrap_or(key);
    if let Some(name) = reference.strip_prefix("rust:") {
        if family != "rust" {
            return Err(format!(
                "`{reference}` is a Rust binary, not a {family} program"
            ));
        }
        let package = directory.join("rust");
        let package = std::fs::canonicalize(&package).unwrap_or(package);
        if !package.join("Cargo.toml").is_file() {
            return Err(format!(
                "`{reference}` names a binary of the cargo package {}, which has no Cargo.toml",
                package.display()
            ));
        }
        if name.is_empty() {
            return Err("`rust:` needs a binary name, e.g. `rust:fan-out`".to_string());
        }
        return Ok(Program::RustBinary {
            package,
            name: name.to_string(),
        });
    }
    // Canonical, so that `../rust/fetch-data` names the package exactly as `verify` does and
    // cargo reuses the same build.
    let path = directory.join(reference);
    let path = std::fs::canonicalize(&path).unwrap_or(path);
    if path.is_dir() {
        if family != "rust" || !path.join("Cargo.toml").is_file() {
            return Err(format!(
                "{} is a directory; only a Rust program may be one (a cargo package)",
                path.display()
            ));
        }
        return Ok(Program::CargoPackage(path));
    }
    if !path.is_file() {
        return Err(format!("{} does not exist", path.display()));
    }
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    let fits = match family {
        "javascript" => matches!(extension, "js" | "mjs" | "cjs"),
        "python" | "python-httpx" => extension == "py",
        _ => false,
    };
    if !fits {
        return Err(format!("{} is not a {family} program", path.display()));
    }
    Ok(Program::File(path))
}

fn rule(key: &str, value: &Value) -> std::result::Result<Rule, String> {
    let (figure, comparison) = [
        ("_equals", Comparison::Equals),
        ("_at_least", Comparison::AtLeast),
        ("_at_most", Comparison::AtMost),
    ]
    .into_iter()
    .find_map(|(suffix, comparison)| key.strip_suffix(suffix).map(|figure| (figure, comparison)))
    .filter(|(figure, _)| !figure.is_empty())
    .ok_or_else(|| {
        "unknown rule; write FIGURE_equals, FIGURE_at_least or FIGURE_at_most (e.g. ok_equals), \
         or result_file"
            .to_string()
    })?;
    let reference = match value {
        Value::Number(number) => Reference::Number(number.as_f64().unwrap_or_default()),
        Value::String(name) if !name.is_empty() => Reference::Name(name.clone()),
        other => {
            return Err(format!(
                "{other} is neither a number nor the name of a parameter or figure"
            ))
        }
    };
    Ok(Rule {
        figure: figure.to_string(),
        comparison,
        reference,
        key: key.to_string(),
    })
}

#[cfg(test)]
#[path = "manifest_tests.rs"]
mod tests;
