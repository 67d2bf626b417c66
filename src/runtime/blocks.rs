//! Code blocks of documents, made runnable, and their errors mapped back to the document.
//!
//! A JavaScript block is written to a `.mjs` file (an ES module: top-level `await` works, as in
//! browsers and modern docs), a Python block to a `.py` file, both in the cache under a name
//! derived from their content, so concurrent runs share them safely. A Rust block becomes a
//! binary of one cargo package in the cache whose dependencies (tokio, reqwest with `json`,
//! serde_json, serde) are compiled once for every block. A Rust block without `fn main` is
//! wrapped the way rustdoc wraps a doc test (lines starting with `# ` are hidden lines and are
//! compiled); one that uses `.await` gets a `#[tokio::main]` async `main`, one that uses `?` a
//! `main` returning `Result`.
//!
//! A [`LineMap`] rewrites `file:LINE` locations in what a runtime printed (Node's stack traces
//! and syntax errors, Python tracebacks, rustc's messages) into `DOC.md:LINE`.

use crate::error::{Error, Result};
use regex::Regex;
use std::path::{Path, PathBuf};

/// Rewrites locations in a generated file into locations in the document.
#[derive(Debug, Clone)]
pub struct LineMap {
    /// The spellings of the generated file's path that may appear in messages.
    pub generated: Vec<String>,
    pub document: PathBuf,
    /// Document line of the generated file's first line of the block's code.
    pub first_line: usize,
    /// Lines the generated file has above the block's code (a wrapper).
    pub offset: usize,
    /// Other files named as they are in messages (a hidden file's copy in the cache, and the
    /// file beside the page it was copied from), whose lines are their own.
    pub renamed: Vec<(String, String)>,
}

impl LineMap {
    /// The document line of a generated line, if that line holds the block's code.
    pub fn document_line(&self, generated_line: usize) -> Option<usize> {
        generated_line
            .checked_sub(self.offset + 1)
            .map(|index| self.first_line + index)
    }

    /// Replaces every `GENERATED:LINE` (also as a `file://` URL) and Python's
    /// `File "GENERATED", line LINE` with the document's path and line.
    pub fn rewrite(&self, text: &str) -> String {
        let document = self.document.display().to_string();
        let mut text = text.to_string();
        for (copy, original) in &self.renamed {
            text = text.replace(copy.as_str(), original);
        }
        for generated in &self.generated {
            // Most runs print nothing that names their file: no pattern to build then.
            if !text.contains(generated.as_str()) {
                continue;
            }
            let escaped = regex::escape(generated);
            let patterns = [
                (format!(r#"File "{escaped}", line (\d+)"#), true),
                (format!(r"(?:file://)?{escaped}:(\d+)"), false),
            ];
            for (pattern, python) in patterns {
                let Ok(regex) = Regex::new(&pattern) else {
                    continue;
                };
                text = regex
                    .replace_all(&text, |captures: &regex::Captures| {
                        let line: usize = captures[1].parse().unwrap_or(0);
                        let mapped = self
                            .document_line(line)
                            .map_or_else(|| format!("{} (wrapper)", line), |l| l.to_string());
                        if python {
                            format!(r#"File "{document}", line {mapped}"#)
                        } else {
                            format!("{document}:{mapped}")
                        }
                    })
                    .into_owned();
            }
        }
        text
    }
}

/// Writes a copy of a hidden file beside a page into the cache (a snippet's sandbox may not
/// see the page's folder: a private `/tmp`) and returns its path, named by its content.
pub fn hidden_copy(cache: &Path, file: &crate::snippet::HiddenFile) -> Result<PathBuf> {
    let original = file.path.display().to_string();
    let directory = cache
        .join("hidden")
        .join(content_key(&[&original, &file.code]));
    std::fs::create_dir_all(&directory)
        .map_err(|error| Error::io(format!("cannot create {}", directory.display()), error))?;
    let name = file
        .path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "hidden".to_string());
    let path = directory.join(name);
    if std::fs::read_to_string(&path).ok().as_deref() != Some(file.code.as_str()) {
        crate::ground::files::write_bytes_atomically(&path, file.code.as_bytes())
            .map_err(|error| Error::io(format!("cannot write {}", path.display()), error))?;
    } else {
        crate::ground::files::ensure_readable(&path)
            .map_err(|error| Error::io(format!("cannot read {}", path.display()), error))?;
    }
    Ok(path)
}

/// Writes a JavaScript or Python block to the cache and returns its path and line map.
pub fn write_block_file(
    cache: &Path,
    document: &Path,
    fence_line: usize,
    first_code_line: usize,
    code: &str,
    extension: &str,
) -> Result<(PathBuf, LineMap)> {
    let directory = cache.join("blocks").join(content_key(&[code, extension]));
    std::fs::create_dir_all(&directory)
        .map_err(|error| Error::io(format!("cannot create {}", directory.display()), error))?;
    let stem = document
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("document");
    let path = directory.join(format!("{stem}-L{fence_line}.{extension}"));
    if std::fs::read_to_string(&path).ok().as_deref() != Some(code) {
        crate::ground::files::write_bytes_atomically(&path, code.as_bytes())
            .map_err(|error| Error::io(format!("cannot write {}", path.display()), error))?;
    } else {
        crate::ground::files::ensure_readable(&path)
            .map_err(|error| Error::io(format!("cannot read {}", path.display()), error))?;
    }
    let spelled = path.display().to_string();
    Ok((
        path,
        LineMap {
            generated: vec![spelled],
            document: document.to_path_buf(),
            first_line: first_code_line,
            offset: 0,
            renamed: Vec::new(),
        },
    ))
}

/// The file extension a JavaScript block runs under: `cjs` for CommonJS (it calls `require` or
/// sets `module.exports`, and has no `import`/`export` statement and no top-level `await`),
/// else `mjs`, an ES module, as modern pages are written.
pub fn javascript_extension(code: &str) -> &'static str {
    static COMMONJS: std::sync::LazyLock<(Regex, Regex)> = std::sync::LazyLock::new(|| {
        (
            Regex::new(r"\brequire\s*\(|\bmodule\.exports\b|\bexports\.\w+\s*=").expect("valid"),
            Regex::new(r"(?m)^\s*(?:import\s*[\w{*'\x22]|export\s|await\s)").expect("valid"),
        )
    });
    let (commonjs, module) = &*COMMONJS;
    if commonjs.is_match(code) && !module.is_match(code) {
        "cjs"
    } else {
        "mjs"
    }
}

/// A short hexadecimal key for content (FNV-1a, stable across Rust versions).
pub fn content_key(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0u8]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// The Rust source for a block and how many lines were added above its code.
pub fn wrap_rust(code: &str) -> (String, usize) {
    // rustdoc's hidden lines: `# code` is compiled but not shown.
    let code: String = code
        .lines()
        .map(|line| {
            let trimmed = line.trim_start();
            if trimmed == "#" {
                String::new()
            } else if let Some(rest) = trimmed.strip_prefix("# ") {
                rest.to_string()
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let has_main = has_top_level_main(&code);
    if has_main {
        return (format!("{code}\n"), 0);
    }
    let is_async = code.contains(".await");
    let fallible = code.contains('?');
    let mut header = String::from("#![allow(unused)]\n");
    if is_async {
        header.push_str("#[tokio::main]\nasync fn main()");
    } else {
        header.push_str("fn main()");
    }
    if fallible {
        header.push_str(" -> Result<(), Box<dyn std::error::Error + Send + Sync>>");
    }
    header.push_str(" {\n");
    let footer = if fallible {
        "\n#[allow(unreachable_code)]\nOk(())\n}\n"
    } else {
        "\n}\n"
    };
    let offset = header.lines().count();
    (format!("{header}{code}{footer}"), offset)
}

/// Whether the code defines `fn main` at its top level: a `main` inside another function (a
/// hidden `# fn wrapper() {` around a visible `#[tokio::main]`, so the page compiles it and
/// never runs it) does not count. Braces are counted outside strings, chars and comments,
/// roughly: enough for the code of a documentation block.
pub fn has_top_level_main(code: &str) -> bool {
    let Ok(main) = Regex::new(r"\bfn\s+main\s*\(") else {
        return false;
    };
    let mut depth: usize = 0;
    for line in code.lines() {
        let visible = line.split("//").next().unwrap_or_default();
        if depth == 0 && main.is_match(visible) {
            return true;
        }
        let mut in_string = false;
        let mut previous = ' ';
        for character in visible.chars() {
            match character {
                '"' if previous != '\\' => in_string = !in_string,
                '{' if !in_string => depth += 1,
                '}' if !in_string => depth = depth.saturating_sub(1),
                _ => {}
            }
            previous = character;
        }
    }
    false
}

/// The manifest of the cache's package that holds every Rust block as a binary.
pub const BLOCKS_MANIFEST: &str = r#"[package]
name = "sidebyside-blocks"
version = "0.0.0"
edition = "2021"
publish = false
# A build script planted in this cache directory is never run.
build = false

# Every Rust code block of every document verified becomes a binary in src/bin/.
[workspace]

[dependencies]
reqwest = { version = "0.12", default-features = false, features = ["json", "rustls-tls-native-roots", "http2", "system-proxy"] }
serde = { version = "1", features = ["derive"] }
serde_json = { version = "1", features = ["preserve_order"] }
tokio = { version = "1", features = ["full"] }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commonjs_blocks_run_as_commonjs_and_the_rest_as_modules() {
        assert_eq!(
            javascript_extension("const http = require('node:http');\n"),
            "cjs"
        );
        assert_eq!(javascript_extension("module.exports = 1;\n"), "cjs");
        assert_eq!(
            javascript_extension("import http from 'node:http';\n"),
            "mjs"
        );
        assert_eq!(
            javascript_extension("const x = require('x');\nawait x();\n"),
            "mjs"
        );
        assert_eq!(javascript_extension("console.log(1)\n"), "mjs");
    }

    #[test]
    fn a_main_inside_a_hidden_function_is_wrapped_like_any_block() {
        let code = "use std::fmt;\n# fn dox() {\n#[tokio::main]\nasync fn main() {\n    x().await;\n}\n# }\n";
        let (source, offset) = wrap_rust(code);
        assert!(offset > 0, "wrapped: {source}");
        assert!(has_top_level_main("fn main() {\n}\n"));
        assert!(!has_top_level_main("fn outer() {\n    fn main() {}\n}\n"));
    }

    #[test]
    fn node_python_and_rustc_locations_are_rewritten() {
        let map = LineMap {
            generated: vec!["/cache/blocks/k/page.md-L10.mjs".into()],
            document: "docs/page.md".into(),
            first_line: 11,
            offset: 0,
            renamed: Vec::new(),
        };
        let node = "file:///cache/blocks/k/page.md-L10.mjs:4\n  foo(;\nSyntaxError: x";
        assert_eq!(
            map.rewrite(node),
            "docs/page.md:14\n  foo(;\nSyntaxError: x"
        );
        let python = "  File \"/cache/blocks/k/page.md-L10.mjs\", line 2, in <module>";
        assert_eq!(
            map.rewrite(python),
            "  File \"docs/page.md\", line 12, in <module>"
        );
        let rust = LineMap {
            generated: vec!["src/bin/block_1.rs".into()],
            offset: 3,
            renamed: Vec::new(),
            ..map
        };
        assert_eq!(
            rust.rewrite("--> src/bin/block_1.rs:5:9"),
            "--> docs/page.md:12:9"
        );
    }

    #[test]
    fn rust_blocks_without_main_are_wrapped_like_doc_tests() {
        let (source, offset) = wrap_rust("let x = 1;\n# let hidden = 2;\nprintln!(\"{x}\");");
        assert!(source.contains("fn main() {"), "{source}");
        assert!(source.contains("let hidden = 2;"), "{source}");
        assert_eq!(offset, 2);
        assert_eq!(source.lines().nth(offset), Some("let x = 1;"));
        let (source, offset) = wrap_rust("let body = reqwest::get(\"u\").await?.text().await?;");
        assert!(
            source.contains("#[tokio::main]\nasync fn main() -> Result<"),
            "{source}"
        );
        assert_eq!(offset, 3);
        let (source, offset) = wrap_rust("fn main() {}\n");
        assert_eq!((source.as_str(), offset), ("fn main() {}\n", 0));
    }

    #[test]
    fn content_keys_are_stable() {
        assert_eq!(content_key(&["a"]), content_key(&["a"]));
        assert_ne!(content_key(&["a", "b"]), content_key(&["ab"]));
    }
}
