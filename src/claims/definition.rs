//! The claims file: the article's claims as data, each with the probes that test it.
//!
//! `snippets/claims/claims.json` lists each claim (`id`, the article's `statement`, whether the
//! project expects it to hold) and its probes: per runtime, a probe file (`.js`/`.mjs`/`.cjs`,
//! `.py`) or a named binary of a cargo package, what the claim means for that runtime, the
//! checks its evidence must pass for the claim to hold, and an evidence sentence with `{field}`
//! placeholders. Paths are relative to the claims file. Loading validates everything (unknown
//! fields, missing files, malformed checks) and names the claim, probe and field at fault.

use super::check::Check;
use crate::error::{Error, Result};
use crate::observation::{Language, Source};
use crate::runtime::RuntimeId;
use crate::snippet::{Snippet, SnippetKind};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileText {
    /// The article the statements are quoted from.
    #[serde(default)]
    #[allow(dead_code)]
    article: Option<String>,
    claims: Vec<ClaimText>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimText {
    id: String,
    statement: String,
    expected_to_hold: bool,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    related_scenario: Option<String>,
    /// For readers of the file: scope, caveats.
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
    probes: Vec<ProbeText>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProbeText {
    /// A registry runtime (`node`, `bun`, `python-uvloop`, ...), or `python` and `rust` for
    /// their language's default runtime.
    #[serde(deserialize_with = "runtime_id")]
    runtime: RuntimeId,
    #[serde(default)]
    file: Option<PathBuf>,
    #[serde(default)]
    package: Option<PathBuf>,
    #[serde(default)]
    binary: Option<String>,
    #[serde(default)]
    variant: Option<String>,
    means: String,
    checks: Vec<String>,
    evidence: String,
}

/// The loaded, validated claims.
#[derive(Debug, Clone)]
pub struct Claims {
    pub path: PathBuf,
    pub claims: Vec<Claim>,
}

#[derive(Debug, Clone)]
pub struct Claim {
    pub id: String,
    pub statement: String,
    pub expected_to_hold: bool,
    pub title: Option<String>,
    pub related_scenario: Option<String>,
    pub probes: Vec<Probe>,
}

#[derive(Debug, Clone)]
pub struct Probe {
    pub runtime: RuntimeId,
    pub snippet: Snippet,
    pub variant: Option<String>,
    pub means: String,
    pub checks: Vec<Check>,
    /// The evidence sentence, with `{field}` placeholders.
    pub evidence: String,
}

impl Claims {
    /// Reads and validates a claims file.
    pub fn load(path: &Path) -> Result<Claims> {
        let input = |message: String| Error::Input {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|error| input(format!("cannot read the claims file: {error}")))?;
        let file: FileText = serde_json::from_str(&text)
            .map_err(|error| input(format!("not a valid claims file: {error}")))?;
        if file.claims.is_empty() {
            return Err(input("`claims` is empty: list at least one claim".into()));
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let mut seen_ids = BTreeSet::new();
        let mut seen_probes = BTreeSet::new();
        let mut claims = Vec::new();
        for (index, claim) in file.claims.into_iter().enumerate() {
            let at = format!("claims[{index}] (`{}`)", claim.id);
            let valid_id = !claim.id.is_empty()
                && claim
                    .id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !valid_id {
                return Err(input(format!(
                    "{at}: `id` must be lowercase letters, digits and `-`"
                )));
            }
            if !seen_ids.insert(claim.id.clone()) {
                return Err(input(format!("{at}: the id is used by an earlier claim")));
            }
            if claim.statement.trim().is_empty() {
                return Err(input(format!(
                    "{at}: `statement` is empty: quote the article"
                )));
            }
            if claim.probes.is_empty() {
                return Err(input(format!("{at}: `probes` is empty: add at least one")));
            }
            let mut probes = Vec::new();
            for (number, probe) in claim.probes.into_iter().enumerate() {
                let at = format!("{at}, probes[{number}] ({})", probe.runtime.short_name());
                let probe = load_probe(base, &claim.id, probe)
                    .map_err(|problem| input(format!("{at}: {problem}")))?;
                if !seen_probes.insert(probe.snippet.id()) {
                    return Err(input(format!(
                        "{at}: this claim already runs {}; give each probe its own file or binary",
                        probe.snippet.name
                    )));
                }
                probes.push(probe);
            }
            claims.push(Claim {
                id: claim.id,
                statement: claim.statement,
                expected_to_hold: claim.expected_to_hold,
                title: claim.title,
                related_scenario: claim.related_scenario,
                probes,
            });
        }
        Ok(Claims {
            path: path.to_path_buf(),
            claims,
        })
    }
}

fn load_probe(base: &Path, claim: &str, probe: ProbeText) -> std::result::Result<Probe, String> {
    let snippet = match (
        probe.runtime.language(),
        &probe.file,
        &probe.package,
        &probe.binary,
    ) {
        (Language::Rust, None, Some(package), Some(binary)) => {
            let package = base.join(package);
            if !package.join("Cargo.toml").is_file() {
                return Err(format!(
                    "`package` {} is not a cargo package (no Cargo.toml)",
                    package.display()
                ));
            }
            let source = package.join("src").join("bin").join(format!("{binary}.rs"));
            if !source.is_file() {
                return Err(format!(
                    "`binary` {binary}: {} does not exist",
                    source.display()
                ));
            }
            Snippet {
                name: binary.clone(),
                group: claim.to_string(),
                language: Language::Rust,
                source: Source {
                    path: source,
                    line: None,
                },
                kind: SnippetKind::CargoBinary {
                    package,
                    binary: binary.clone(),
                },
                expect_failure: false,
            }
        }
        (Language::Rust, _, _, _) => {
            return Err(
                "a rust probe names `package` (a cargo package directory) and \
                        `binary` (its src/bin/<binary>.rs), and no `file`"
                    .to_string(),
            )
        }
        (language, Some(file), None, None) => {
            let file = base.join(file);
            let extension = file.extension().and_then(|e| e.to_str()).unwrap_or("");
            let allowed: &[&str] = match language {
                Language::Javascript => &["js", "mjs", "cjs"],
                _ => &["py"],
            };
            if !allowed.contains(&extension) {
                return Err(format!(
                    "`file` {} is not a {} probe: expected .{}",
                    file.display(),
                    probe.runtime.short_name(),
                    allowed.join(", .")
                ));
            }
            if !file.is_file() {
                return Err(format!("`file` {} does not exist", file.display()));
            }
            Snippet {
                name: file
                    .file_name()
                    .map(|name| name.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                group: claim.to_string(),
                language,
                source: Source {
                    path: file.clone(),
                    line: None,
                },
                kind: SnippetKind::File(file),
                expect_failure: false,
            }
        }
        (_, _, _, _) => {
            return Err(format!(
                "a {} probe names a `file`, and no `package` or `binary`",
                probe.runtime.short_name()
            ))
        }
    };
    if probe.checks.is_empty() {
        return Err("`checks` is empty: say what the probe must show for the claim to hold".into());
    }
    let checks = probe
        .checks
        .iter()
        .enumerate()
        .map(|(index, text)| {
            Check::parse(text).map_err(|problem| format!("checks[{index}]: {problem}"))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    if probe.means.trim().is_empty() || probe.evidence.trim().is_empty() {
        return Err("`means` and `evidence` must say something".into());
    }
    Ok(Probe {
        runtime: probe.runtime,
        snippet,
        variant: probe.variant,
        means: probe.means,
        checks,
        evidence: probe.evidence,
    })
}

/// Reads a probe's `runtime`: a registry runtime, or a language's short name.
fn runtime_id<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<RuntimeId, D::Error> {
    let text = String::deserialize(deserializer)?;
    RuntimeId::parse_loosely(&text).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "unknown runtime `{text}`: expected python, rust or one of {}",
            RuntimeId::names()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(directory: &Path, name: &str, text: &str) -> PathBuf {
        let path = directory.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    const PROBE: &str = r#"{"runtime": "node", "file": "one/probe.mjs", "means": "m",
        "checks": ["value == 42"], "evidence": "value {value}"}"#;

    fn claims_with(probe: &str) -> String {
        format!(
            r#"{{"claims": [{{"id": "one", "statement": "s", "expected_to_hold": true,
            "probes": [{probe}]}}]}}"#
        )
    }

    #[test]
    fn a_valid_file_loads_with_paths_relative_to_it() {
        let root = tempfile::tempdir().unwrap();
        write(root.path(), "one/probe.mjs", "");
        let path = write(root.path(), "claims.json", &claims_with(PROBE));
        let claims = Claims::load(&path).unwrap();
        let probe = &claims.claims[0].probes[0];
        assert_eq!(probe.snippet.group, "one");
        assert_eq!(probe.snippet.name, "probe.mjs");
        assert_eq!(
            probe.snippet.kind,
            SnippetKind::File(root.path().join("one/probe.mjs"))
        );
        assert_eq!(probe.checks[0].text(), "value == 42");
    }

    #[test]
    fn errors_name_the_file_the_claim_the_probe_and_the_problem() {
        let root = tempfile::tempdir().unwrap();
        write(root.path(), "one/probe.mjs", "");
        write(root.path(), "one/probe.py", "");
        for (probe, problem) in [
            (
                PROBE.replace("one/probe.mjs", "one/nope.mjs"),
                "does not exist",
            ),
            (
                PROBE.replace("one/probe.mjs", "one/probe.py"),
                "is not a node probe",
            ),
            (
                PROBE.replace("value == 42", "value ~ 42"),
                "checks[0]: unknown operator",
            ),
            (
                PROBE.replace("\"means\"", "\"meaning\""),
                "unknown field `meaning`",
            ),
            (
                PROBE.replace("\"node\"", "\"nope\""),
                "unknown runtime `nope`",
            ),
            (
                PROBE.replace("\"node\"", "\"rust\""),
                "a rust probe names `package`",
            ),
        ] {
            let path = write(root.path(), "claims.json", &claims_with(&probe));
            let error = Claims::load(&path).unwrap_err().to_string();
            assert!(error.contains("claims.json"), "{error}");
            assert!(error.contains(problem), "{problem}: {error}");
        }
        let path = write(root.path(), "claims.json", &claims_with(PROBE));
        std::fs::remove_file(root.path().join("one/probe.mjs")).unwrap();
        let error = Claims::load(&path).unwrap_err().to_string();
        assert!(
            error.contains("claims[0] (`one`), probes[0] (node)"),
            "{error}"
        );
    }

    #[test]
    fn the_projects_claims_file_is_valid() {
        let path = crate::paths::default_snippets_dir()
            .join("claims")
            .join(crate::snippet::CLAIMS_FILE);
        let claims = Claims::load(&path).unwrap();
        assert!(claims.claims.len() >= 7);
    }
}
