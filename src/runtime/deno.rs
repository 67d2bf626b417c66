//! Deno: JavaScript programs run as `deno run -A --preload <preload> FILE`.
//!
//! Deno loads the project's Node preload (its Node compatibility runs it), so what a program
//! logs is recorded as on Node. It does not read `NODE_EXTRA_CA_CERTS`, so the session's
//! certificate authority is given as `DENO_CERT`. Deno writes a cache (`DENO_DIR`), by default
//! under `$HOME/.cache/deno`: every run has a private, writable HOME, so that works as the
//! sandbox user too. It is installed from npm (`npm install -g deno`, or `scripts/test` into
//! `target/js-tools`). It runs TypeScript blocks as they are, and `verify --typecheck` has it
//! check their types first (`deno run --check`).

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
        let tool = Tool::find(cache, "deno", &["--version"], "npm install -g deno")?;
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

    fn runs_typescript(&self, _tsx: bool, _typecheck: bool) -> Result<(), String> {
        Ok(())
    }

    fn command(
        &self,
        snippet: &Snippet,
        context: &CommandContext<'_>,
    ) -> Result<PreparedCommand, Unavailable> {
        let file = javascript_file(snippet)?;
        let deno = self.tool.program.display().to_string();
        let preload = self.preload.display().to_string();
        let (program, args) =
            if context.typecheck && super::typescript::is_typescript_file(Path::new(&file)) {
                // `verify --typecheck`: `deno check` first, whose errors name the file's lines,
                // then the run. Not `deno run --check`: with `--preload` it checks only the
                // preload, never the program.
                let script = r#""$0" check --quiet "$2" && exec "$0" run -A --preload "$1" "$2""#;
                (
                    PathBuf::from("/bin/sh"),
                    vec!["-c".into(), script.into(), deno, preload, file],
                )
            } else {
                (
                    self.tool.program.clone(),
                    vec!["run".into(), "-A".into(), "--preload".into(), preload, file],
                )
            };
        Ok(PreparedCommand {
            program,
            args,
            env: vec![
                ("DENO_NO_UPDATE_CHECK".into(), "1".into()),
                ("NO_COLOR".into(), "1".into()),
                ("DENO_CERT".into(), context.ca_file.display().to_string()),
            ],
            line_map: None,
        })
    }
}
