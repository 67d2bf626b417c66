//! The dependencies a document's Rust blocks are built with: sidebyside's own (tokio, reqwest
//! with `json`, serde, serde_json), plus what the page's `toml` blocks declare, the way crate
//! READMEs tell their reader what to put in `Cargo.toml`.
//!
//! A `toml` block counts when it has a `[dependencies]` table, or when every key of it looks
//! like a dependency line (`tokio = { version = "1", features = ["full"] }`). So does a
//! `cargo add` line in a shell block (`cargo add reqwest --features blocking,json`,
//! `cargo add serde -F derive`, `cargo add tokio@1 serde_json`: a version after `@`, features
//! for the one crate of the line or qualified `crate/feature`, `--no-default-features`; a crate
//! without a version gets the newest, as `cargo add` picks it). A crate
//! sidebyside already has keeps its version and gains the features the page names; a crate it
//! does not have is added as the page writes it (a `path` dependency cannot be, and is named
//! in a note). Pages that declare nothing new build in the shared blocks package; the others in
//! a package named by the content of their manifest, so pages with the same needs share one.

use super::blocks::{content_key, BLOCKS_MANIFEST};
use crate::snippet::Page;
use toml::{Table, Value};

/// The manifest a page's Rust blocks build with.
#[derive(Debug, Clone, PartialEq)]
pub struct PageManifest {
    /// The whole `Cargo.toml`.
    pub text: String,
    /// Whether it differs from the shared blocks package's.
    pub own: bool,
    /// Where each added dependency or feature came from (`mini-redis from page.md:24`).
    pub added: Vec<String>,
    /// What the page declares that could not be used, and why.
    pub notes: Vec<String>,
    /// What the page adds, short, for a run's runtime and `list`: `reqwest[blocking]`,
    /// `mini-redis`, sorted.
    pub summary: Vec<String>,
}

impl PageManifest {
    /// The name of the cache folder of a page's own package.
    pub fn package_name(&self) -> String {
        format!("rust-blocks-{}", content_key(&[&self.text]))
    }
}

/// The dependency tables the page's `toml` blocks declare, with their fence lines, then its
/// `cargo add` lines, each with its own line.
fn declared(page: &Page) -> Vec<(usize, Table)> {
    let mut found = toml_blocks(page);
    found.extend(cargo_add_lines(page));
    found
}

static CARGO_ADD: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"^\s*(?:[$%>]\s*)?cargo\s+add\s+(.+)$").expect("a valid pattern")
});

/// Whether a shell line adds crates (`cargo add ...`, what the page's Rust blocks get).
pub(crate) fn installs(line: &str) -> bool {
    CARGO_ADD.is_match(line)
}

/// The `cargo add` lines of the page's shell blocks, each as the dependency table it adds.
fn cargo_add_lines(page: &Page) -> Vec<(usize, Table)> {
    let mut found = Vec::new();
    for (line, arguments) in super::page_packages::install_lines(page, &CARGO_ADD) {
        let words = super::page_packages::argument_words(&arguments);
        let mut crates: Vec<(String, Option<String>)> = Vec::new();
        let mut features: Vec<String> = Vec::new();
        let mut no_default = false;
        let mut path = None;
        let mut git = None;
        let mut words = words.into_iter();
        while let Some(word) = words.next() {
            if matches!(word.as_str(), "&&" | ";" | "|" | "||") {
                break;
            }
            let (option, inline) = match word.split_once('=') {
                Some((option, value)) if word.starts_with('-') => {
                    (option.to_string(), Some(value.to_string()))
                }
                _ => (word.clone(), None),
            };
            let mut value = || inline.clone().or_else(|| words.next());
            match option.as_str() {
                "-F" | "--features" => features.extend(
                    value()
                        .unwrap_or_default()
                        .split([',', ' '])
                        .filter(|feature| !feature.is_empty())
                        .map(str::to_string),
                ),
                "--no-default-features" => no_default = true,
                "--path" => path = value(),
                "--git" => git = value(),
                "--branch" | "--tag" | "--rev" | "--rename" | "--registry" | "-p" | "--package"
                | "--manifest-path" | "--target" => {
                    value();
                }
                _ if option.starts_with('-') => {}
                _ => {
                    let (name, version) = match word.split_once('@') {
                        Some((name, version)) => (name.to_string(), Some(version.to_string())),
                        None => (word.clone(), None),
                    };
                    crates.push((name, version));
                }
            }
        }
        let mut table = Table::new();
        let single = crates.len() == 1;
        for (name, version) in &crates {
            let mut spec = Table::new();
            if let Some(path) = &path {
                spec.insert("path".into(), Value::String(path.clone()));
            } else if let Some(git) = &git {
                spec.insert("git".into(), Value::String(git.clone()));
            } else {
                let version = version.clone().unwrap_or_else(|| "*".to_string());
                spec.insert("version".into(), Value::String(version));
            }
            let mine: Vec<Value> = features
                .iter()
                .filter_map(|feature| match feature.split_once('/') {
                    Some((owner, feature)) => (owner == name).then(|| feature.to_string()),
                    None => single.then(|| feature.clone()),
                })
                .map(Value::String)
                .collect();
            if !mine.is_empty() {
                spec.insert("features".into(), Value::Array(mine));
            }
            if no_default {
                spec.insert("default-features".into(), Value::Boolean(false));
            }
            table.insert(name.clone(), Value::Table(spec));
        }
        if !table.is_empty() {
            found.push((line, table));
        }
    }
    found
}

/// The dependency tables the page's `toml` blocks declare, with their fence lines.
fn toml_blocks(page: &Page) -> Vec<(usize, Table)> {
    page.blocks
        .iter()
        .filter(|(_, language, _)| language == "toml")
        .filter_map(|(line, _, code)| {
            let table: Table = code.parse().ok()?;
            if let Some(Value::Table(dependencies)) = table.get("dependencies") {
                return Some((*line, dependencies.clone()));
            }
            let all_dependencies = !table.is_empty()
                && table.values().all(|value| match value {
                    Value::String(_) => true,
                    Value::Table(spec) => {
                        spec.contains_key("version")
                            || spec.contains_key("features")
                            || spec.contains_key("git")
                            || spec.contains_key("path")
                    }
                    _ => false,
                });
            all_dependencies.then_some((*line, table))
        })
        .collect()
}

/// The manifest for a page's Rust blocks.
pub fn for_page(page: &Page, document: &str) -> PageManifest {
    let mut manifest: Table = BLOCKS_MANIFEST
        .parse()
        .expect("the blocks manifest is TOML");
    let mut added = Vec::new();
    let mut notes = Vec::new();
    let mut summary: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    let base = manifest
        .get_mut("dependencies")
        .and_then(Value::as_table_mut)
        .expect("the blocks manifest has dependencies");
    for (line, dependencies) in declared(page) {
        for (name, spec) in dependencies {
            let features = features_of(&spec);
            if let Value::Table(spec) = &spec {
                if spec.contains_key("path") {
                    notes.push(format!(
                        "`{name}` ({document}:{line}) is a path dependency, which only the page's \
                         own project has"
                    ));
                    continue;
                }
            }
            let key = base
                .keys()
                .find(|known| known.replace('-', "_") == name.replace('-', "_"))
                .cloned();
            match key {
                Some(key) => {
                    let entry = base.get_mut(&key).expect("the key was found");
                    if let Value::String(version) = entry {
                        *entry = Value::Table(Table::from_iter([(
                            "version".to_string(),
                            Value::String(version.clone()),
                        )]));
                    }
                    let Value::Table(table) = entry else { continue };
                    let known = table
                        .entry("features")
                        .or_insert_with(|| Value::Array(vec![]));
                    let Value::Array(known) = known else { continue };
                    for feature in features {
                        let value = Value::String(feature.clone());
                        if !known.contains(&value) {
                            known.push(value);
                            summary
                                .entry(key.clone())
                                .or_default()
                                .push(feature.clone());
                            added.push(format!(
                                "the `{feature}` feature of {key} ({document}:{line})"
                            ));
                        }
                    }
                }
                None => {
                    base.insert(name.clone(), spec.clone());
                    added.push(format!("{name} ({document}:{line})"));
                    summary.entry(name.clone()).or_default().extend(features);
                }
            }
        }
    }
    let summary = summary
        .into_iter()
        .map(|(name, features)| match features.as_slice() {
            [] => name,
            _ => format!("{name}[{}]", features.join(",")),
        })
        .collect();
    if added.is_empty() {
        return PageManifest {
            text: BLOCKS_MANIFEST.to_string(),
            own: false,
            added,
            notes,
            summary,
        };
    }
    let mut text = String::from(
        "# The shared blocks package's manifest with what the page's toml blocks declare.\n",
    );
    text.push_str(&toml::to_string(&manifest).expect("a table serializes"));
    PageManifest {
        text,
        own: true,
        added,
        notes,
        summary,
    }
}

/// `name@version` for every package of a `Cargo.lock` but the blocks package itself, sorted:
/// the exact versions a page's Rust blocks were built with.
pub fn read_lock(path: &std::path::Path) -> Vec<String> {
    let Some(lock) = std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.parse::<Table>().ok())
    else {
        return Vec::new();
    };
    let mut found: Vec<String> = lock
        .get("package")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|package| package.get("source").is_some())
        .filter_map(|package| {
            let name = package.get("name")?.as_str()?;
            let version = package.get("version")?.as_str()?;
            Some(format!("{name}@{version}"))
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

fn features_of(spec: &Value) -> Vec<String> {
    spec.get("features")
        .and_then(Value::as_array)
        .map(|features| {
            features
                .iter()
                .filter_map(|feature| feature.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(blocks: &[(&str, &str)]) -> Page {
        Page {
            session: false,
            setups: vec![],
            files: vec![],
            text: String::new(),
            blocks: blocks
                .iter()
                .enumerate()
                .map(|(index, (language, code))| {
                    (index * 10 + 1, language.to_string(), code.to_string())
                })
                .collect(),
        }
    }

    #[test]
    fn a_page_declaring_what_sidebyside_has_shares_the_blocks_package() {
        let manifest = for_page(
            &page(&[(
                "toml",
                "[dependencies]\nreqwest = { version = \"0.12\", features = [\"json\"] }\ntokio = { version = \"1\", features = [\"full\"] }\n",
            )]),
            "README.md",
        );
        assert!(!manifest.own, "{manifest:?}");
        assert_eq!(manifest.text, BLOCKS_MANIFEST);
    }

    #[test]
    fn features_and_crates_the_page_names_are_added_and_named() {
        let manifest = for_page(
            &page(&[
                (
                    "toml",
                    "reqwest = { version = \"0.12\", features = [\"blocking\"] }\n",
                ),
                ("rust", "fn main() {}\n"),
                (
                    "toml",
                    "[dependencies]\nmini-redis = \"0.4\"\nlocal = { path = \"../local\" }\n",
                ),
            ]),
            "page.md",
        );
        assert!(manifest.own);
        assert_eq!(
            manifest.added,
            [
                "the `blocking` feature of reqwest (page.md:1)",
                "mini-redis (page.md:21)"
            ]
        );
        assert!(
            manifest.notes[0].contains("`local`"),
            "{:?}",
            manifest.notes
        );
        let parsed: Table = manifest.text.parse().unwrap();
        let reqwest = &parsed["dependencies"]["reqwest"];
        assert_eq!(reqwest["version"].as_str(), Some("0.12"));
        assert!(reqwest["features"]
            .as_array()
            .unwrap()
            .contains(&Value::String("blocking".into())));
        // Same needs, same package.
        let again = for_page(
            &page(&[
                (
                    "toml",
                    "reqwest = { version = \"0.12\", features = [\"blocking\"] }\n",
                ),
                ("rust", "fn main() {}\n"),
                ("toml", "[dependencies]\nmini-redis = \"0.4\"\n"),
            ]),
            "other.md",
        );
        assert_eq!(again.package_name(), manifest.package_name());
    }

    #[test]
    fn cargo_add_lines_declare_crates_versions_and_features() {
        let manifest = for_page(
            &page(&[
                ("bash", "$ cargo add reqwest --features blocking,cookies\n"),
                (
                    "sh",
                    "cargo add serde -F derive\ncargo add anyhow@1 thiserror -F thiserror/std\n",
                ),
                (
                    "console",
                    "cargo add tokio --no-default-features --features=rt\n",
                ),
                ("rust", "cargo add not-a-shell\n"),
                ("shell", "cargo add --path ../local local\n"),
            ]),
            "page.md",
        );
        assert!(manifest.own);
        assert_eq!(
            manifest.summary,
            [
                "anyhow",
                "reqwest[blocking,cookies]",
                "thiserror[std]",
                "tokio[rt]"
            ]
        );
        assert_eq!(
            manifest.added,
            [
                "the `blocking` feature of reqwest (page.md:2)",
                "the `cookies` feature of reqwest (page.md:2)",
                "anyhow (page.md:13)",
                "thiserror (page.md:13)",
                "the `rt` feature of tokio (page.md:22)",
            ]
        );
        assert!(
            manifest.notes[0].contains("`local`"),
            "{:?}",
            manifest.notes
        );
        let parsed: Table = manifest.text.parse().unwrap();
        let dependencies = &parsed["dependencies"];
        assert_eq!(dependencies["anyhow"]["version"].as_str(), Some("1"));
        assert_eq!(dependencies["thiserror"]["version"].as_str(), Some("*"));
        assert_eq!(
            dependencies["thiserror"]["features"].as_array().unwrap(),
            &[Value::String("std".into())]
        );
        // A crate sidebyside has keeps its version and its own default features.
        assert_eq!(dependencies["tokio"]["version"].as_str(), Some("1"));
        // The same needs in a toml block name the same package.
        let toml = for_page(
            &page(&[(
                "toml",
                "[dependencies]\nreqwest = { version = \"0.12\", features = [\"blocking\", \"cookies\"] }\n",
            )]),
            "other.md",
        );
        let by_line = for_page(
            &page(&[("bash", "cargo add reqwest -F blocking -F cookies\n")]),
            "third.md",
        );
        assert_eq!(toml.package_name(), by_line.package_name());
        assert_eq!(by_line.summary, ["reqwest[blocking,cookies]"]);
    }

    #[test]
    fn toml_that_is_not_about_dependencies_is_left_alone() {
        let manifest = for_page(&page(&[("toml", "[package]\nname = \"x\"\n")]), "p.md");
        assert!(!manifest.own);
    }
}
