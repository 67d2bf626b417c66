//! Node.js: snippets run as `node --require <preload> FILE`.
//!
//! The preload (`assets/node_preload.cjs`) records the values given to `console.log` as JSON
//! events, and in preload isolation routes connections to mocked hosts to the mock. Node decides
//! by itself whether a file is an ES module (`.mjs`, or `"type": "module"`) or CommonJS.

use super::registry::{CommandContext, Runtime, RuntimeId, Unavailable};
use super::{install_asset, major_minor, PreparedCommand};
use crate::error::{Error, Result};
use crate::snippet::{Snippet, SnippetKind};
use std::path::{Path, PathBuf};

pub const MINIMUM_MAJOR: u32 = 18;
/// The first Node that strips TypeScript's types (with `--experimental-strip-types`).
pub const STRIPS_TYPES: (u32, u32) = (22, 6);
/// The first Node that strips them without being asked.
pub const STRIPS_TYPES_BY_DEFAULT: (u32, u32) = (23, 6);
pub(crate) const PRELOAD: &str = include_str!("assets/node_preload.cjs");

#[derive(Debug, Clone)]
pub struct Node {
    pub program: PathBuf,
    pub version: String,
    pub preload: PathBuf,
}

impl Node {
    pub fn find(cache: &Path) -> Result<Self> {
        let missing = |problem: String| Error::MissingRuntime {
            what: format!("Node.js >= {MINIMUM_MAJOR}"),
            problem,
            install: "Node.js 18 or newer (https://nodejs.org, or your package manager's \
                      `nodejs` package) and make sure `node` is on PATH"
                .to_string(),
        };
        let program = which::which("node").map_err(|_| missing("`node` is not on PATH".into()))?;
        let version = super::probes::output_of(cache, &program, &["--version"]).map_err(missing)?;
        match major_minor(&version) {
            Some((major, _)) if major >= MINIMUM_MAJOR => {}
            _ => return Err(missing(format!("the installed `node` is {version}"))),
        }
        let preload = install_asset(cache, "node", "preload.cjs", PRELOAD)?;
        Ok(Node {
            program,
            version,
            preload,
        })
    }
}

impl Runtime for Node {
    fn id(&self) -> RuntimeId {
        RuntimeId::Node
    }

    fn version(&self) -> String {
        self.version.clone()
    }

    fn describe(&self) -> String {
        format!("node {}", self.version)
    }

    fn versions(&self) -> Vec<(String, String)> {
        vec![("node".to_string(), self.version.clone())]
    }

    fn runs_typescript(&self, tsx: bool, typecheck: bool) -> std::result::Result<(), String> {
        let version = major_minor(&self.version).unwrap_or((0, 0));
        if typecheck {
            Err(format!(
                "node {} strips types, it does not check them",
                self.version
            ))
        } else if tsx {
            Err(format!("node {} does not run JSX (tsx)", self.version))
        } else if version < STRIPS_TYPES {
            Err(format!(
                "node {} is older than {}.{}, the first Node that strips types",
                self.version, STRIPS_TYPES.0, STRIPS_TYPES.1
            ))
        } else {
            Ok(())
        }
    }

    fn command(
        &self,
        snippet: &Snippet,
        context: &CommandContext<'_>,
    ) -> std::result::Result<PreparedCommand, Unavailable> {
        let file = javascript_file(snippet)?;
        let mut args = vec!["--require".to_string(), self.preload.display().to_string()];
        if super::typescript::is_typescript_file(Path::new(&file)) {
            self.runs_typescript(file.ends_with(".tsx"), context.typecheck)
                .map_err(Unavailable::Skipped)?;
            if major_minor(&self.version) < Some(STRIPS_TYPES_BY_DEFAULT) {
                args.push("--experimental-strip-types".to_string());
            }
            args.push("--disable-warning=ExperimentalWarning".to_string());
        }
        args.push(file);
        Ok(PreparedCommand {
            program: self.program.clone(),
            args,
            env: vec![],
            line_map: None,
        })
    }
}

/// The absolute path of a JavaScript snippet's file, for the runtimes that run one.
pub(crate) fn javascript_file(snippet: &Snippet) -> std::result::Result<String, Unavailable> {
    match &snippet.kind {
        SnippetKind::File(file) => Ok(absolute(file).display().to_string()),
        _ => Err(Unavailable::Failed(format!(
            "{} is not a JavaScript file",
            snippet.name
        ))),
    }
}

/// The Node preload, installed in the cache: Bun and Deno load it too, to record what a
/// program logs.
pub(crate) fn preload(cache: &Path) -> std::result::Result<PathBuf, String> {
    install_asset(cache, "node", "preload.cjs", PRELOAD).map_err(|error| error.to_string())
}

pub(crate) fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
