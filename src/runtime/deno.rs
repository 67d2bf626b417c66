//! Deno: JavaScript programs run as `deno run -A --preload <preload> FILE`.
//!
//! Deno loads the project's Node preload (its Node compatibility runs it), so what a program
//! logs is recorded as on Node. It does not read `NODE_EXTRA_CA_CERTS`, so the session's
//! certificate authority is given as `DENO_CERT`. Deno writes a cache (`DENO_DIR`), by default
//! under `$HOME/.cache/deno`: every run has a private, writable HOME, so that works as the
//! sandbox user too. It is installed from npm (`npm install -g deno`, or `scripts/test` into
//! `target/js-tools`).

use super::node::{javascript_file, preload};
use super::registry::{CommandContext, Runtime, RuntimeId, Tool, Unavailable};
use super::PreparedCommand;
use crate::snippet::Snippet;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Deno {
    pub tool: Tool,
    pub preload: PathBuf,
}

impl Deno {
    pub fn find(cache: &Path) -> Result<Self, String> {
        let tool = Tool::find("deno", &["--version"], "npm install -g deno")?;
        Ok(Deno {
            tool,
            preload: preload(cache)?,
        })
    }
}

impl Runtime for Deno {
    fn id(&self) -> RuntimeId {
        RuntimeId::Deno
    }

    fn version(&self) -> String {
        self.tool.version.clone()
    }

    fn describe(&self) -> String {
        format!("deno {}", self.tool.version)
    }

    fn versions(&self) -> Vec<(String, String)> {
        vec![("deno".to_string(), self.tool.version.clone())]
    }

    fn command(
        &self,
        snippet: &Snippet,
        context: &CommandContext<'_>,
    ) -> Result<PreparedCommand, Unavailable> {
        Ok(PreparedCommand {
            program: self.tool.program.clone(),
            args: vec![
                "run".into(),
                "-A".into(),
                "--preload".into(),
                self.preload.display().to_string(),
                javascript_file(snippet)?,
            ],
            env: vec![
                ("DENO_NO_UPDATE_CHECK".into(), "1".into()),
                ("NO_COLOR".into(), "1".into()),
                ("DENO_CERT".into(), context.ca_file.display().to_string()),
            ],
            line_map: None,
        })
    }
}
