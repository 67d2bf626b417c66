//! Bun: JavaScript programs run as `bun --preload <preload> FILE`.
//!
//! Bun loads the project's Node preload, so what a program gives to `console.log` is recorded
//! as it is on Node, and a verbatim snippet can be verified on Bun beside Node and Deno. Bun
//! reads the session's certificate authority from `NODE_EXTRA_CA_CERTS`, which every run gets.
//! It is installed from npm (`npm install -g bun`, or `scripts/test` into `target/js-tools`).

use super::node::{javascript_file, preload};
use super::registry::{CommandContext, Runtime, RuntimeId, Tool, Unavailable};
use super::PreparedCommand;
use crate::snippet::Snippet;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Bun {
    pub tool: Tool,
    pub preload: PathBuf,
}

impl Bun {
    pub fn find(cache: &Path) -> Result<Self, String> {
        let tool = Tool::find(cache, "bun", &["--version"], "npm install -g bun")?;
        Ok(Bun {
            tool,
            preload: preload(cache)?,
        })
    }
}

impl Runtime for Bun {
    fn id(&self) -> RuntimeId {
        RuntimeId::Bun
    }

    fn version(&self) -> String {
        self.tool.version.clone()
    }

    fn describe(&self) -> String {
        format!("bun {}", self.tool.version)
    }

    fn versions(&self) -> Vec<(String, String)> {
        vec![("bun".to_string(), self.tool.version.clone())]
    }

    fn runs_typescript(&self, _tsx: bool, typecheck: bool) -> Result<(), String> {
        if typecheck {
            return Err(format!(
                "bun {} runs TypeScript without checking its types",
                self.tool.version
            ));
        }
        Ok(())
    }

    fn command(
        &self,
        snippet: &Snippet,
        context: &CommandContext<'_>,
    ) -> Result<PreparedCommand, Unavailable> {
        if context.typecheck
            && super::typescript::is_typescript_file(Path::new(&javascript_file(snippet)?))
        {
            self.runs_typescript(false, true)
                .map_err(Unavailable::Skipped)?;
        }
        Ok(PreparedCommand {
            program: self.tool.program.clone(),
            args: vec![
                "--preload".into(),
                self.preload.display().to_string(),
                javascript_file(snippet)?,
            ],
            env: vec![("DO_NOT_TRACK".into(), "1".into())],
            line_map: None,
        })
    }
}
