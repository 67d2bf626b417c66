//! End-to-end tests of verifying Markdown documents: the real binary, real runtimes, the mock.

mod common;

use common::*;
use serde_json::{json, Value};

fn doc(name: &str) -> String {
    fixture(&format!("docs/{name}")).display().to_string()
}

fn runs_by_line(document: &Value) -> Vec<(u64, String, String)> {
    document["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| {
            (
                run["source"]["line"].as_u64().unwrap_or(0),
                run["language"].as_str().unwrap().to_string(),
                run["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn run_at(document: &Value, line: u64) -> &Value {
    document["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|run| run["source"]["line"] == line)
        .unwrap_or_else(|| panic!("no run at line {line}: {document:#}"))
}

#[test]
fn an_article_shaped_page_runs_its_two_snippets_as_one_group_and_nothing_else() {
    let (code, document, output) = verify_json(&[&doc("article.md")]);
    assert_eq!(
        code,
        0,
        "{document:#}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        runs_by_line(&document),
        [
            (20, "javascript".into(), "passed".into()),
            (32, "python".into(), "passed".into())
        ]
    );
    assert_eq!(
        document.get("not_run"),
        None,
        "front matter, admonition and JSON-LD are not snippets"
    );
    assert_eq!(document["groups"].as_array().unwrap().len(), 1);
    let body = mock_body();
    assert_eq!(run_at(&document, 20)["result"], body);
    assert_eq!(run_at(&document, 32)["result"], body);
}

/// The article-shaped page carries the article's two snippets byte for byte, and those are the
/// project's own snippet files: `snippets/` is the source of truth, the page must not drift.
#[test]
fn the_article_page_carries_the_snippet_files_verbatim() {
    let page = std::fs::read_to_string(doc("article.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in page.split_inclusive('\n') {
        match current.take() {
            None => {
                if let Some(info) = line.trim_end().strip_prefix("```") {
                    current = Some((info.to_string(), String::new()));
                }
            }
            Some((info, body)) if line.trim_end() == "```" => blocks.push((info, body)),
            Some((info, mut body)) => {
                body.push_str(line);
                current = Some((info, body));
            }
        }
    }
    let javascript = std::fs::read_to_string(project().join("snippets/javascript/fetch-data.js"));
    let python = std::fs::read_to_string(project().join("snippets/python/fetch_data.py"));
    assert_eq!(
        blocks,
        [
            ("javascript".to_string(), javascript.unwrap()),
            ("python".to_string(), python.unwrap())
        ]
    );
}

#[test]
fn every_construct_runs_what_it_should_with_the_right_result() {
    let (code, document, output) = verify_json(&[&doc("constructs.md")]);
    assert_eq!(
        code,
        0,
        "{document:#}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Tildes and info-string attributes.
    assert_eq!(run_at(&document, 11)["result"], json!({"fence": "tilde"}));
    assert_eq!(run_at(&document, 15)["result"], json!({"fence": "tilde"}));
    // Blocks indented inside admonitions.
    assert_eq!(run_at(&document, 24)["result"], json!([1, 2, 3]));
    assert_eq!(run_at(&document, 29)["result"], json!([1, 2, 3]));
    // Blocks inside list items; top-level await in JavaScript.
    assert_eq!(run_at(&document, 37)["result"], json!({"from": "list"}));
    assert_eq!(run_at(&document, 37)["result_origin"], "return_value");
    assert_eq!(run_at(&document, 48)["result"], json!({"from": "list"}));
    // expect-failure: the block exits 3 and that is a pass.
    let expected_failure = run_at(&document, 61);
    assert_eq!(expected_failure["status"], "passed");
    assert_eq!(expected_failure["expect_failure"], true);
    assert_eq!(expected_failure["exit"]["code"], 3);
    // A named group held to an expected-result block; a Rust block without `fn main`.
    assert_eq!(run_at(&document, 66)["result"], 42);
    assert_eq!(run_at(&document, 71)["result"], 42);
    assert_eq!(run_at(&document, 71)["language"], "rust");
    let answer = document["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|group| group["group"] == "answer")
        .unwrap();
    assert_eq!(answer["expected"], 42);
    // Skipped, expected-result and other-language blocks are listed, never run.
    let not_run: Vec<(u64, &str)> = document["not_run"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["source"]["line"].as_u64().unwrap(),
                entry["language"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        not_run,
        [(56, "js"), (77, "json"), (83, "bash"), (87, "json")]
    );
    assert_eq!(document["runs"].as_array().unwrap().len(), 9);
}

#[test]
fn a_wrong_expected_block_fails_the_group_with_a_diff() {
    let directory = tempfile::tempdir().unwrap();
    let page = directory.path().join("wrong.md");
    std::fs::write(
        &page,
        "# Sum\n\n```js\nconsole.log(1 + 1)\n```\n\n<!-- sidebyside: expected -->\n```json\n3\n```\n",
    )
    .unwrap();
    let (code, stdout, _) = verify_table(&[page.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("wrong.md:3"), "{stdout}");
    assert!(stdout.contains("$: expected 3, got 2"), "{stdout}");
}

#[test]
fn errors_are_reported_at_the_document_line() {
    let (code, document, _) = verify_json(&[&doc("syntax-error.md")]);
    assert_eq!(code, 1);
    let path = doc("syntax-error.md");
    // The fourth line of the JavaScript block (it starts on line 5) is line 9.
    let javascript = run_at(&document, 5);
    assert_eq!(javascript["status"], "failed");
    let reasons = javascript["reasons"].to_string();
    assert!(
        reasons.contains(&format!("error at {path}:9: SyntaxError")),
        "{reasons}"
    );
    assert!(javascript["stderr"]["text"]
        .as_str()
        .unwrap()
        .contains(&format!("{path}:9")));
    // The Python exception is raised on document line 17, called from line 19.
    let python = run_at(&document, 15);
    let reasons = python["reasons"].to_string();
    assert!(
        reasons.contains(&format!("error at {path}:17: KeyError")),
        "{reasons}"
    );
    let stderr = python["stderr"]["text"].as_str().unwrap();
    assert!(
        stderr.contains(&format!("File \"{path}\", line 19")),
        "{stderr}"
    );
}

#[test]
fn printed_and_logged_json_agree_across_languages() {
    let (code, document, _) = verify_json(&[&doc("print-and-log.md")]);
    assert_eq!(code, 0, "{document:#}");
    let body = mock_body();
    let expected = json!({"id": body["id"], "tags": body["tags"]});
    for run in document["runs"].as_array().unwrap() {
        assert_eq!(run["result"], expected, "{run:#}");
    }
}

#[test]
fn broken_inputs_are_problems_and_the_other_documents_still_run() {
    let (code, document, output) = verify_json(&[
        &doc("unterminated.md"),
        &doc("not-utf8.md"),
        &doc("does-not-exist.md"),
        &doc("article.md"),
    ]);
    assert_eq!(code, 2, "input problems are a configuration error");
    let problems: Vec<String> = document["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|problem| {
            format!(
                "{}:{} {}",
                problem["source"]["path"], problem["source"]["line"], problem["message"]
            )
        })
        .collect();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(
        problems[0].contains("unterminated.md")
            && problems[0].contains(":3 ")
            && problems[0].contains("unterminated code fence"),
        "{problems:?}"
    );
    assert!(
        problems[1].contains("not-utf8.md")
            && problems[1].contains(":3 ")
            && problems[1].contains("UTF-8"),
        "{problems:?}"
    );
    assert!(problems[2].contains("does-not-exist.md"), "{problems:?}");
    assert_eq!(
        document["summary"]["passed"], 2,
        "the good article was still verified"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unterminated code fence"), "{stderr}");
}

#[test]
fn list_shows_every_block_with_its_group_and_whether_it_runs() {
    let output = sidebyside()
        .args(["list", "--format", "json", &doc("constructs.md")])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let listing: Value = serde_json::from_slice(&output.stdout).unwrap();
    let entries = listing["snippets"].as_array().unwrap();
    assert_eq!(entries.len(), 13);
    let at = |line: u64| {
        entries
            .iter()
            .find(|e| e["source"]["line"] == line)
            .unwrap()
    };
    assert_eq!(at(11)["language"], "python");
    assert_eq!(at(11)["group"], "constructs.md#tildes-and-attributes");
    assert_eq!(at(11)["runs"], true);
    assert_eq!(at(56)["runs"], false);
    assert!(at(56)["reason"].as_str().unwrap().contains("skip"));
    assert_eq!(at(61)["expect_failure"], true);
    assert_eq!(at(71)["group"], "answer");
}

/// Each construct of tests/fixtures/docs/verdicts.md, with the verdict its reader expects and
/// a word of the reason that must name the cause.
#[test]
fn every_verdict_is_the_one_a_reader_expects() {
    let (code, document, output) = verify_json(&[&doc("verdicts.md"), "--timeout", "5"]);
    let expected: &[(u64, &str, &str)] = &[
        (8, "nothing_to_check", "nothing was checked"),
        (16, "nothing_to_check", "compared with nothing"),
        (22, "failed", "TypeError: Invalid URL"),
        (28, "nothing_to_check", "printed no result"),
        (35, "cannot_run", "verdicts.md:37) that waits for requests"),
        (42, "nothing_to_check", "nothing was checked"),
        (49, "cannot_run", "uses `request`, which the block at"),
        (55, "nothing_to_check", "nothing was checked"),
        (59, "cannot_run", "uses `inspect`"),
        (
            65,
            "cannot_run",
            "written for a browser: it uses `document`",
        ),
        (71, "cannot_run", "highlight markers"),
        (77, "cannot_run", "placeholder"),
        (83, "cannot_run", "declares `label` twice"),
        (90, "cannot_run", "the comment at"),
        (97, "cannot_run", "the `...` at"),
        (
            105,
            "cannot_run",
            "npm package `yaml-for-docs-nobody-installed`",
        ),
        (112, "cannot_run", "reads `settings.local.json`"),
        (119, "failed", "ReferenceError: anwser is not defined"),
        (126, "nothing_to_check", "compared with nothing"),
        (130, "nothing_to_check", "compared with nothing"),
        (136, "nothing_to_check", "nothing was checked"),
        (140, "cannot_run", "uses `json`"),
        (146, "passed", "1 prompt printed what the page shows"),
        (154, "cannot_run", "`await` at the top level"),
        (160, "failed", "the coroutine `main` was never awaited"),
        (
            171,
            "cannot_run",
            "Python package that provides `markdown_tables_nobody_installed`",
        ),
        (177, "compiled", "marked `no_run`"),
        (186, "passed", "failed to compile, as `compile_fail` asks"),
        (198, "nothing_to_check", "nothing was checked"),
        (
            209,
            "passed",
            "its result agreed with verdicts.md:213 (python)",
        ),
        (
            213,
            "passed",
            "its result agreed with verdicts.md:209 (javascript)",
        ),
        (219, "passed", "answered by the mock's mappings"),
        (226, "passed", "error[E0308]"),
        (232, "failed", "without the error[E0277]"),
        (
            238,
            "cannot_run",
            "`Promise.methodFromTheFuture`, which node",
        ),
        (244, "cannot_run", "is never cleared"),
        (250, "cannot_run", "returns at the top level"),
        (
            256,
            "cannot_run",
            "an object literal that documents options",
        ),
        (265, "cannot_run", "imports a module from a URL"),
    ];
    let mut wrong = Vec::new();
    for (line, status, words) in expected {
        let run = run_at(&document, *line);
        let said = format!("{}{}", run["reasons"], run["checked"]);
        if run["status"] != *status || !said.contains(words) {
            wrong.push(format!(
                "line {line}: expected {status} saying {words:?}, got {} saying {said}",
                run["status"]
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(
        document["runs"].as_array().unwrap().len(),
        expected.len(),
        "every block is accounted for"
    );
    let ignored = &document["not_run"][0];
    assert_eq!(ignored["source"]["line"], 192, "{document:#}");
    // Four failures (the throw, the typo, the coroutine, the wrong compile error): exit 1, and
    // the summary counts each verdict apart.
    assert_eq!(code, 1, "{}", String::from_utf8_lossy(&output.stderr));
    let summary = &document["summary"];
    assert_eq!(summary["failed"], 4, "{summary}");
    assert_eq!(summary["compiled"], 1, "{summary}");
    assert_eq!(summary["nothing_to_check"], 9, "{summary}");
    assert_eq!(summary["cannot_run"], 19, "{summary}");
    assert_eq!(summary["passed"], 6, "{summary}");
}

#[test]
fn require_check_fails_a_page_whose_blocks_check_nothing() {
    let page = tempfile::tempdir().unwrap();
    let path = page.path().join("quiet.md");
    std::fs::write(&path, "# Quiet\n\n```js\nconsole.log(1)\n```\n").unwrap();
    let path = path.to_str().unwrap();
    let (code, document, _) = verify_json(&[path]);
    assert_eq!(
        (code, &document["runs"][0]["status"]),
        (0, &json!("nothing_to_check"))
    );
    let (code, document, _) = verify_json(&[path, "--require-check"]);
    assert_eq!(
        (code, &document["runs"][0]["status"]),
        (1, &json!("failed"))
    );
    assert!(document["runs"][0]["reasons"]
        .to_string()
        .contains("--require-check"));
}

/// `verify --global-templating` renders every mapping's response as a template, as the mock
/// command does; without it the braces are served as written, and a warning says so.
#[test]
fn verify_can_serve_every_mapping_as_a_template() {
    let page = tempfile::tempdir().unwrap();
    let path = page.path().join("hello.md");
    std::fs::write(
        &path,
        "# Hello\n\n```js\nconst r = await fetch(\"https://api.example.com/hello?name=Ada\");\n\
         console.log(await r.json());\n```\n",
    )
    .unwrap();
    let mock = fixture("mocks/templating-global");
    let base = ["--mock", mock.to_str().unwrap(), path.to_str().unwrap()];
    // The mapping names no host, so it answers api.example.com too.
    let (_, literal, output) = verify_json(&base);
    assert_eq!(
        literal["runs"][0]["result"]["greeting"]["text"], "Hello {{request.query.name}}",
        "{literal:#}"
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("not templated"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut templated = base.to_vec();
    templated.push("--global-templating");
    let (code, rendered, _) = verify_json(&templated);
    assert_eq!(code, 0, "{rendered:#}");
    assert_eq!(
        rendered["runs"][0]["result"]["greeting"]["text"], "Hello Ada",
        "{rendered:#}"
    );
}
