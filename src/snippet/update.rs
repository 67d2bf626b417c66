//! Writing what blocks really did back into their page: `verify --update`.
//!
//! An edit replaces the content of one block (an output block, or an `expected` block) and
//! nothing else: the fences, the text around them, the line endings (`\n` or `\r\n`) and the
//! indentation of a block inside a list item, a blockquote or an admonition are kept byte for
//! byte. The new page is written to a temporary file beside the old one and renamed over it,
//! keeping its permissions, so a reader (or a crash) sees the old page or the new one, never
//! half of one.

use super::markdown;
use std::path::Path;

/// New content for the block whose opening fence is on `fence_line`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub fence_line: usize,
    /// Lines, each ending in `\n`, without the page's indentation.
    pub content: String,
}

/// Why a page could not be updated.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Block {
        path: String,
        line: usize,
        message: String,
    },
}

/// Applies the edits to the page at `path` and returns the fence lines of the blocks whose
/// content changed (an edit that writes what is already there changes nothing). The page is
/// written only when something changed.
pub fn apply(path: &Path, edits: &[Edit]) -> Result<Vec<usize>, UpdateError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| UpdateError::Read {
        path: shown.clone(),
        source,
    })?;
    let (rewritten, changed) =
        rewrite(&text, edits).map_err(|(line, message)| UpdateError::Block {
            path: shown.clone(),
            line,
            message,
        })?;
    if !changed.is_empty() {
        crate::ground::files::replace_keeping_permissions(path, rewritten.as_bytes()).map_err(
            |source| UpdateError::Write {
                path: shown.clone(),
                source,
            },
        )?;
    }
    Ok(changed)
}

/// The page with each edited block's content replaced, and the fence lines that changed; or
/// the line of a block that cannot be edited, and why.
pub fn rewrite(text: &str, edits: &[Edit]) -> Result<(String, Vec<usize>), (usize, String)> {
    let blocks = markdown::parse(text).blocks;
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let mut edits: Vec<&Edit> = edits.iter().collect();
    // From the bottom up, so the lines of the blocks above stay where they are.
    edits.sort_by_key(|edit| std::cmp::Reverse(edit.fence_line));
    let mut changed = Vec::new();
    for edit in edits {
        let line = edit.fence_line;
        let block = blocks
            .iter()
            .find(|block| block.line == line)
            .ok_or_else(|| {
                (
                    line,
                    "no code block starts on this line any more".to_string(),
                )
            })?;
        if block.indented || block.unterminated {
            return Err((
                line,
                "only a fenced block with a closing fence can be updated".to_string(),
            ));
        }
        let fence = lines
            .get(line - 1)
            .ok_or_else(|| (line, "the page is shorter than this".to_string()))?;
        let ending = if fence.ends_with("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        let prefix = container_prefix(fence);
        let replacement: Vec<String> = edit
            .content
            .lines()
            .map(|content| {
                if content.is_empty() {
                    format!("{}{ending}", prefix.trim_end())
                } else {
                    format!("{prefix}{content}{ending}")
                }
            })
            .collect();
        // The content lines: from the first line of code to the line before the closing fence.
        let range = block.first_code_line - 1..block.end_line - 1;
        if lines.get(range.clone()) == Some(replacement.as_slice()) {
            continue;
        }
        lines.splice(range, replacement);
        changed.push(line);
    }
    changed.reverse();
    Ok((lines.concat(), changed))
}

/// What stands before the fence on its line (indentation, `>` of blockquotes, a list marker
/// written as spaces): what each line of the block's content starts with.
fn container_prefix(fence: &str) -> String {
    fence
        .chars()
        .take_while(|character| *character != '`' && *character != '~')
        .map(|character| {
            if character.is_whitespace() || character == '>' {
                character
            } else {
                ' '
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(fence_line: usize, content: &str) -> Edit {
        Edit {
            fence_line,
            content: content.to_string(),
        }
    }

    #[test]
    fn only_the_edited_block_changes() {
        let text = "# T\r\n\r\n```py\r\nprint(2)\r\n```\r\n\r\n```text\r\n1\r\n```\r\nafter  \r\n";
        let (new, changed) = rewrite(text, &[edit(7, "2\n3\n")]).unwrap();
        assert_eq!(changed, [7]);
        assert_eq!(
            new,
            "# T\r\n\r\n```py\r\nprint(2)\r\n```\r\n\r\n```text\r\n2\r\n3\r\n```\r\nafter  \r\n"
        );
        // Writing what is there already changes nothing.
        let (same, changed) = rewrite(&new, &[edit(7, "2\n3\n")]).unwrap();
        assert_eq!((same.as_str(), changed.len()), (new.as_str(), 0));
    }

    #[test]
    fn blocks_in_lists_quotes_and_admonitions_keep_their_indentation() {
        let text = "1. Run it:\n\n   ```text\n   old\n   ```\n\n> ```output\n> old\n> ```\n\n!!! note\n    ```text\n    old\n    ```\n";
        let (new, changed) = rewrite(
            text,
            &[edit(3, "a\n\nb\n"), edit(7, "c\n"), edit(12, "d\n")],
        )
        .unwrap();
        assert_eq!(changed, [3, 7, 12]);
        assert_eq!(
            new,
            "1. Run it:\n\n   ```text\n   a\n\n   b\n   ```\n\n> ```output\n> c\n> ```\n\n!!! note\n    ```text\n    d\n    ```\n"
        );
    }

    #[test]
    fn an_empty_block_can_be_filled_and_a_full_one_emptied() {
        let text = "```text\n```\n\n```text\nx\n```\n";
        let (new, _) = rewrite(text, &[edit(1, "1\n"), edit(4, "")]).unwrap();
        assert_eq!(new, "```text\n1\n```\n\n```text\n```\n");
    }

    #[test]
    fn a_line_without_a_block_is_refused() {
        assert_eq!(rewrite("text\n", &[edit(1, "x\n")]).unwrap_err().0, 1);
    }

    #[test]
    fn the_page_is_replaced_whole_keeping_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let directory = tempfile::tempdir().unwrap();
        let page = directory.path().join("page.md");
        std::fs::write(&page, "```text\nold\n```\n").unwrap();
        std::fs::set_permissions(&page, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(apply(&page, &[edit(1, "new\n")]).unwrap(), [1]);
        assert_eq!(
            std::fs::read_to_string(&page).unwrap(),
            "```text\nnew\n```\n"
        );
        let mode = std::fs::metadata(&page).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let leftovers = std::fs::read_dir(directory.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left beside it");
    }
}
