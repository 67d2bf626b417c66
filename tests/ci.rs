//! Docs CI: a run split with `--partition` into shares verified separately and merged by
//! `report` gives the same verdicts, counts and reports as one whole run; `--format github`
//! annotations; `--changed-since` in a git repository. Everything really runs (python, node,
//! git); nothing is faked.

mod common;

use common::sidebyside;
use regex::Regex;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Forty pages: each has a shell block (found, not run); every fourth a Python block and a
/// JavaScript block under one heading that must agree; page 7 a Python block that fails; page
/// 13 a session page whose second block needs the first; page 22 a block with nothing to check.
fn write_tree(root: &Path) -> PathBuf {
    let docs = root.join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    for page in 0..40 {
        let mut text = format!("# Page {page}\n\n## Shell\n\n```bash\necho page {page}\n```\n");
        if page % 4 == 0 {
            text.push_str(&format!(
                "\n## Twice {page}\n\n```python\nprint({page} * 2)\n```\n\n```javascript\nconsole.log({page} * 2)\n```\n"
            ));
        }
        if page == 7 {
            text.push_str("\n## Broken\n\n```python\nraise SystemExit(\"page 7 is broken: 100% on purpose\")\n```\n");
        }
        if page == 13 {
            text = format!(
                "<!-- sidebyside: session -->\n\n{text}\n## Steps\n\n```python\ncount = 3\n```\n\n```python\nprint(count + 1)\n```\n"
            );
        }
        if page == 22 {
            text.push_str("\n## Alone\n\n```python\nprint('alone')\n```\n");
        }
        std::fs::write(docs.join(format!("page-{page:02}.md")), text).unwrap();
    }
    docs
}

fn run(args: &[&str]) -> Output {
    sidebyside().args(args).output().expect("run sidebyside")
}

fn said(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The document without what differs between two runs of the same snippets: timings and
/// resource figures.
fn without_timings(value: &mut Value) {
    const MEASURED: [&str; 5] = ["wall_s", "cpu_s", "user_s", "system_s", "peak_rss_bytes"];
    match value {
        Value::Object(fields) => {
            for name in MEASURED {
                fields.remove(name);
            }
            fields.values_mut().for_each(without_timings);
        }
        Value::Array(items) => items.iter_mut().for_each(without_timings),
        _ => {}
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap()
}

/// Two reports are the same once every measured figure (a number with its unit) and every
/// other number is blanked; on a difference, shows where.
fn same_but_numbers(one: &str, other: &str) {
    let figures = Regex::new(r"[0-9][0-9.]* ?(µs|ms|s|B|KiB|MiB|GiB)\b").unwrap();
    let digits = Regex::new(r"[0-9]+").unwrap();
    let blank = |text: &str| {
        digits
            .replace_all(&figures.replace_all(text, "FIGURE"), "#")
            .into_owned()
    };
    let (one, other) = (blank(one), blank(other));
    if let Some(at) = one.bytes().zip(other.bytes()).position(|(a, b)| a != b) {
        let start = at.saturating_sub(200);
        panic!(
            "the reports differ at byte {at}:\n{}\n---\n{}",
            String::from_utf8_lossy(&one.as_bytes()[start..(at + 200).min(one.len())]),
            String::from_utf8_lossy(&other.as_bytes()[start..(at + 200).min(other.len())])
        );
    }
    assert_eq!(one.len(), other.len());
}

#[test]
fn four_shares_merged_are_the_whole_run() {
    let directory = tempfile::tempdir().unwrap();
    let docs = write_tree(directory.path());
    let docs = docs.to_str().unwrap();
    let out = directory.path().join("out");
    let whole = out.join("whole");
    let output = run(&["verify", docs, "--out", whole.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", said(&output));

    let mut shares = Vec::new();
    let mut ran = 0;
    for index in 1..=4 {
        let folder = out.join(format!("share-{index}"));
        let partition = format!("hash:{index}/4");
        let output = run(&[
            "verify",
            docs,
            "--partition",
            &partition,
            "--out",
            folder.to_str().unwrap(),
        ]);
        let share = json(&folder.join("results.json"));
        assert_eq!(share["partition"]["index"], index, "{share:#}");
        assert_eq!(share["partition"]["count"], 4);
        assert_eq!(share["partition"]["scheme"], "hash");
        ran += share["runs"].as_array().unwrap().len();
        // Page 7's failure fails its share only.
        let fails = share["summary"]["failed"].as_u64().unwrap() > 0;
        assert_eq!(
            output.status.code(),
            Some(if fails { 1 } else { 0 }),
            "{}",
            said(&output)
        );
        // A session page runs whole in one share.
        let session: Vec<&Value> = share["runs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|run| {
                run["source"]["path"]
                    .as_str()
                    .unwrap()
                    .ends_with("page-13.md")
            })
            .collect();
        assert!(session.is_empty() || session.len() == 2, "{session:#?}");
        shares.push(folder.join("results.json"));
    }
    let whole_document = json(&whole.join("results.json"));
    assert_eq!(ran, whole_document["runs"].as_array().unwrap().len());

    let merged = out.join("merged");
    let mut args = vec!["report".to_string()];
    args.extend(shares.iter().map(|path| path.display().to_string()));
    args.extend(["--out".to_string(), merged.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run(&args);
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));

    // JSON: the same document, apart from timings.
    let (mut one, mut together) = (whole_document.clone(), json(&merged.join("results.json")));
    assert!(together.get("partition").is_none());
    without_timings(&mut one);
    without_timings(&mut together);
    assert_eq!(one["summary"], together["summary"]);
    assert_eq!(one, together);
    // The counts are what the tree holds: 10 pairs agree; the session's two steps and one block
    // alone have nothing to check; one failure; 40 shell blocks not run.
    assert_eq!(
        one["summary"],
        serde_json::json!({"passed": 20, "nothing_to_check": 3, "failed": 1, "timed_out": 0, "error": 0})
    );
    assert_eq!(one["not_run"].as_array().unwrap().len(), 40);

    // JUnit: the same, apart from the time attributes.
    let times = Regex::new(r#"time="[^"]*""#).unwrap();
    let junit = |folder: &Path| {
        times
            .replace_all(&read(&folder.join("junit.xml")), "")
            .into_owned()
    };
    assert_eq!(junit(&whole), junit(&merged));
    assert!(
        junit(&merged).contains(r#"tests="64" failures="1" errors="0""#),
        "{}",
        junit(&merged)
    );

    // HTML and Markdown: the same counts, and the same page once every number is blanked
    // (timings, and the chart geometry drawn from them).
    let lede = Regex::new(r#"<p class="lede">[^<]*</p>"#).unwrap();
    let html = |folder: &Path| read(&folder.join("report.html"));
    let (html_one, html_together) = (html(&whole), html(&merged));
    assert_eq!(
        lede.find(&html_one).unwrap().as_str(),
        lede.find(&html_together).unwrap().as_str()
    );
    assert!(
        html_together.contains("20 passed, 3 nothing to check, 1 failed"),
        "{}",
        lede.find(&html_together).unwrap().as_str()
    );
    same_but_numbers(&html_one, &html_together);
    same_but_numbers(
        &read(&whole.join("report.md")),
        &read(&merged.join("report.md")),
    );

    // --fail-on-failure: the merged run has page 7's failure, so the merge exits 1, as the
    // whole verify did.
    let mut failing = args.clone();
    failing.push("--fail-on-failure");
    let output = run(&failing);
    assert_eq!(output.status.code(), Some(1), "{}", said(&output));

    // One share alone is a job's own report: rendered as it is.
    let output = run(&["report", shares[0].to_str().unwrap(), "--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
    let alone: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(alone["partition"]["index"], 1);

    // Three of four shares: the merge says which is missing.
    let output = run(&[
        "report",
        shares[0].to_str().unwrap(),
        shares[1].to_str().unwrap(),
        shares[3].to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", said(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("3 of 4 shares") && stderr.contains("missing hash:3/4"),
        "{stderr}"
    );
    // A share given twice overlaps.
    let output = run(&[
        "report",
        shares[0].to_str().unwrap(),
        shares[1].to_str().unwrap(),
        shares[2].to_str().unwrap(),
        shares[2].to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", said(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("share hash:3/4 is given twice"));
    // A share of a run with other settings (another timeout) is of another run.
    let other = out.join("other");
    run(&[
        "verify",
        docs,
        "--partition",
        "hash:3/4",
        "--timeout",
        "29",
        "--out",
        other.to_str().unwrap(),
    ]);
    let output = run(&[
        "report",
        shares[0].to_str().unwrap(),
        shares[1].to_str().unwrap(),
        other.join("results.json").to_str().unwrap(),
        shares[3].to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", said(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("are shares of different runs"),
        "{}",
        said(&output)
    );
    // A share with a whole run's document: refused, naming the whole one.
    let output = run(&[
        "report",
        shares[0].to_str().unwrap(),
        whole.join("results.json").to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", said(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("written by `verify --partition`"));
}

#[test]
fn list_shows_each_share_and_every_block_is_in_one() {
    let directory = tempfile::tempdir().unwrap();
    let docs = write_tree(directory.path());
    let listed = |partition: Option<&str>| -> Vec<String> {
        let mut args = vec!["list", docs.to_str().unwrap(), "--format", "json"];
        if let Some(partition) = partition {
            args.extend(["--partition", partition]);
        }
        let output = run(&args);
        assert_eq!(output.status.code(), Some(0), "{}", said(&output));
        let document: Value = serde_json::from_slice(&output.stdout).unwrap();
        document["snippets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|entry| entry["runs"] == true)
            .map(|entry| format!("{}:{}", entry["source"]["path"], entry["source"]["line"]))
            .collect()
    };
    let all = listed(None);
    assert_eq!(all.len(), 24);
    for scheme in ["slice", "hash"] {
        let mut shares: Vec<String> = (1..=3)
            .flat_map(|index| listed(Some(&format!("{scheme}:{index}/3"))))
            .collect();
        shares.sort();
        let mut expected = all.clone();
        expected.sort();
        assert_eq!(shares, expected, "{scheme}");
    }
    let output = run(&["list", docs.to_str().unwrap(), "--partition", "slice:4/3"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("K must be from 1 to 3"));
}

/// Decodes a workflow command's escapes.
fn unescape(text: &str) -> String {
    text.replace("%0A", "\n")
        .replace("%0D", "\r")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

#[test]
fn github_annotations_mark_each_failed_block() {
    let directory = tempfile::tempdir().unwrap();
    let docs = directory.path().join("docs, and more");
    std::fs::create_dir_all(&docs).unwrap();
    let page = docs.join("page.md");
    std::fs::write(
        &page,
        "# Two failures\n\n```python\nimport sys\nprint(\"50%, then: more\", file=sys.stderr)\nraise SystemExit(3)\n```\n\n## Fine\n\n```python\nprint(1)\n```\n\n\
         ## Second\n\n```javascript\nprocess.exit(4)\n```\n",
    )
    .unwrap();
    let out = directory.path().join("out");
    let output = run(&[
        "verify",
        page.to_str().unwrap(),
        "--format",
        "github",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", said(&output));
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let shape = Regex::new(r"^::error file=([^,:]+),line=([0-9]+),title=([^,:]+)::(.+)$").unwrap();
    let path = page.display().to_string();
    for (line, (at, runtime, exit)) in lines.iter().zip([(3, "python", 3), (17, "node", 4)]) {
        let parts = shape.captures(line).unwrap_or_else(|| panic!("{line}"));
        assert_eq!(unescape(&parts[1]), path, "{line}");
        assert!(
            parts[1].contains("%2C"),
            "the comma of the path is escaped: {line}"
        );
        assert_eq!(&parts[2], at.to_string().as_str());
        let title = unescape(&parts[3]);
        assert!(
            title.starts_with("sidebyside: page.md:") && title.contains(runtime),
            "{title}"
        );
        assert!(title.ends_with("failed"), "{title}");
        let message = unescape(&parts[4]);
        assert!(
            message.starts_with(&format!("exit status {exit}")),
            "{message}"
        );
    }
    // The same annotations from the results document.
    let output = run(&[
        "report",
        out.join("results.json").to_str().unwrap(),
        "--format",
        "github",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
    assert_eq!(String::from_utf8(output.stdout).unwrap(), stdout);
}

fn git(repository: &Path, args: &[&str]) {
    let output = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=Docs",
            "-c",
            "user.email=docs@example.invalid",
        ])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(repository)
        .output()
        .expect("run git");
    assert!(output.status.success(), "git {args:?}: {}", said(&output));
}

#[test]
fn changed_since_keeps_changed_pages_and_pages_using_a_changed_mapping() {
    let directory = tempfile::tempdir().unwrap();
    let repository = directory.path().join("site");
    let docs = repository.join("docs");
    let mappings = repository.join("mock/mappings");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::create_dir_all(&mappings).unwrap();
    let block = |code: &str| format!("# Page\n\n```python\n{code}\n```\n");
    std::fs::write(docs.join("edited.md"), block("print(1)")).unwrap();
    std::fs::write(docs.join("untouched.md"), block("print(2)")).unwrap();
    std::fs::write(
        docs.join("uses-orders.md"),
        block("import urllib.request\nurllib.request.urlopen('https://api.example.com/orders/7')"),
    )
    .unwrap();
    std::fs::write(
        mappings.join("orders.json"),
        r#"{"request": {"method": "GET", "urlPathPattern": "/orders/[0-9]+"}, "response": {"status": 200}}"#,
    )
    .unwrap();
    git(&repository, &["init", "-q"]);
    git(&repository, &["add", "."]);
    git(&repository, &["commit", "-qm", "pages"]);
    git(&repository, &["checkout", "-qb", "change"]);
    // A committed edit on the branch, an edited mapping, and a page git does not track yet.
    std::fs::write(docs.join("edited.md"), block("print(10)")).unwrap();
    git(&repository, &["commit", "-qam", "edit"]);
    std::fs::write(
        mappings.join("orders.json"),
        r#"{"request": {"method": "GET", "urlPathPattern": "/orders/[0-9]+"}, "response": {"status": 201}}"#,
    )
    .unwrap();
    std::fs::write(docs.join("new.md"), block("print(3)")).unwrap();

    let list = |args: &[&str]| {
        let output = sidebyside()
            .current_dir(&repository)
            .args(["list", "docs", "--format", "json", "--mock", "mock"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", said(&output));
        let document: Value = serde_json::from_slice(&output.stdout).unwrap();
        let mut pages: Vec<String> = document["snippets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry["source"]["path"].as_str().unwrap().to_string())
            .collect();
        pages.sort();
        pages
    };
    assert_eq!(list(&[]).len(), 4);
    assert_eq!(
        list(&["--changed-since", "main"]),
        ["docs/edited.md", "docs/new.md", "docs/uses-orders.md"]
    );
    // Since the branch's own commit, only the uncommitted changes count.
    assert_eq!(
        list(&["--changed-since", "HEAD"]),
        ["docs/new.md", "docs/uses-orders.md"]
    );

    // verify runs just those: the new page's one block.
    std::fs::write(
        mappings.join("orders.json"),
        r#"{"request": {"method": "GET", "urlPathPattern": "/orders/[0-9]+"}, "response": {"status": 200}}"#,
    )
    .unwrap();
    let output = sidebyside()
        .current_dir(&repository)
        .args(["verify", "docs", "--mock", "mock", "--format", "json"])
        .args(["--changed-since", "HEAD"])
        .output()
        .unwrap();
    let document: Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("{}", said(&output)));
    let runs = document["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{document:#}");
    assert_eq!(runs[0]["source"]["path"], "docs/new.md");
    assert_eq!(runs[0]["status"], "nothing_to_check");

    // An unknown ref, and a folder outside any git repository, are usage errors that say so.
    let output = sidebyside()
        .current_dir(&repository)
        .args(["list", "docs", "--changed-since", "no-such-branch"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", said(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("git knows no commit by that name"),
        "{}",
        said(&output)
    );
    let outside = directory.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let output = sidebyside()
        .current_dir(&outside)
        .env("GIT_CEILING_DIRECTORIES", directory.path())
        .args(["list", ".", "--changed-since", "main"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", said(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("is not in a git repository"),
        "{}",
        said(&output)
    );
}

/// The flags the Action and the pre-commit hooks pass to `sidebyside verify` are flags it has.
/// (The metadata syntax itself is checked by scripts/check-action.py, which needs PyYAML.)
#[test]
fn the_action_and_the_hooks_pass_flags_verify_knows() {
    let help = run(&["verify", "--help"]);
    let help = String::from_utf8(help.stdout).unwrap();
    let flag = Regex::new(r"--[a-z][a-z-]+").unwrap();
    let mut checked = 0;
    for file in ["action.yml", ".pre-commit-hooks.yaml"] {
        let text = read(&common::project().join(file));
        for line in text.lines().filter(|line| {
            line.contains("options")
                || line.contains("entry:")
                || line.contains("sidebyside verify \"")
        }) {
            for used in flag.find_iter(line) {
                assert!(
                    help.contains(&format!("{} ", used.as_str()))
                        || help.contains(&format!("{}\n", used.as_str())),
                    "{file} passes {} to sidebyside verify, which has no such flag: {line}",
                    used.as_str()
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 7,
        "only {checked} flags found: the check no longer reads the files"
    );
}

/// What a pre-commit hook meets: pages without code. By default that is a usage error (the
/// paths were probably not the ones meant); `--no-snippets pass` makes it a pass.
#[test]
fn pages_without_code_pass_with_no_snippets_pass() {
    let directory = tempfile::tempdir().unwrap();
    let page = directory.path().join("notes.md");
    std::fs::write(&page, "# Notes\n\nNo code here.\n\n```bash\necho hi\n```\n").unwrap();
    let page = page.to_str().unwrap();
    let output = run(&["verify", page]);
    assert_eq!(output.status.code(), Some(2), "{}", said(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no snippets to run"));
    let output = run(&["verify", page, "--no-snippets", "pass", "--format", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
    let document: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(document["runs"].as_array().unwrap().len(), 0);
    // The block found is still listed as not run: nothing is silently skipped.
    assert_eq!(document["not_run"][0]["language"], "bash");
}

#[test]
fn changed_since_keeps_a_page_whose_hidden_setup_file_changed() {
    let directory = tempfile::tempdir().unwrap();
    let repository = directory.path().join("site");
    let docs = repository.join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    let block = |code: &str| format!("# Page\n\n```python\n{code}\n```\n");
    std::fs::write(docs.join("tour.md"), block("print(GREETING)")).unwrap();
    std::fs::write(docs.join("other.md"), block("print(2)")).unwrap();
    std::fs::write(docs.join("tour.setup.py"), "GREETING = 'hello'\n").unwrap();
    git(&repository, &["init", "-q"]);
    git(&repository, &["add", "."]);
    git(&repository, &["commit", "-qm", "pages"]);
    std::fs::write(docs.join("tour.setup.py"), "GREETING = 'hi'\n").unwrap();
    let output = sidebyside()
        .current_dir(&repository)
        .args([
            "list",
            "docs",
            "--format",
            "json",
            "--changed-since",
            "HEAD",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
    let document: Value = serde_json::from_slice(&output.stdout).unwrap();
    let pages: Vec<&str> = document["snippets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["runs"] == true)
        .map(|entry| entry["source"]["path"].as_str().unwrap())
        .collect();
    assert_eq!(pages, ["docs/tour.md"]);
}
