//! The dependencies a document's Rust blocks are built with: sidebyside's own (tokio, reqwest
//! with `json`, serde, serde_json), plus what the page's `toml` blocks declare, the way crate
//! READMEs tell their reader what to put in `Cargo.toml`.
//!
//! A `toml` block counts when it has a `[dependencies]` table, or when every key of it looks
//! like a dependency line (`tokio = { version = "1", features = ["full"] }`). A crate
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
}

impl PageManifest {
    /// The name of the cache folder of a page's own package.
    pub fn package_name(&self) -> String {
        format!("rust-blocks-{}", content_key(&[&self.text]))
    }
}

/// The dependency tables the page's `toml` blocks declare, with their fence lines.
fn declared(page: &Page) -> Vec<(usize, Table)> {
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
                            added.push(format!(
                                "the `{feature}` feature of {key} ({document}:{line})"
                            ));
                        }
                    }
                }
                None => {
                    base.insert(name.clone(), spec.clone());
                    added.push(format!("{name} ({document}:{line})"));
                }
            }
        }
    }
    if added.is_empty() {
        return PageManifest {
            text: BLOCKS_MANIFEST.to_string(),
            own: false,
            added,
            notes,
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
    }
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
    fn toml_that_is_not_about_dependencies_is_left_alone() {
        let manifest = for_page(&page(&[("toml", "[package]\nname = \"x\"\n")]), "p.md");
        assert!(!manifest.own);
    }
}
