//! Unit tests of reading the scenario manifest: what it accepts and how it names mistakes.

use super::*;

/// A folder with a manifest, program files and a cargo package, like snippets/bench/.
struct Folder {
    directory: tempfile::TempDir,
}

impl Folder {
    fn new() -> Self {
        let directory = tempfile::tempdir().unwrap();
        let root = directory.path().join("bench");
        for folder in ["fan-out", "rust/src/bin", "mock/mappings"] {
            std::fs::create_dir_all(root.join(folder)).unwrap();
        }
        for file in [
            "fan-out/fan-out.mjs",
            "fan-out/fan_out.py",
            "rust/src/bin/fan-out.rs",
        ] {
            std::fs::write(root.join(file), "").unwrap();
        }
        std::fs::write(root.join("rust/Cargo.toml"), "[package]\nname = \"x\"\n").unwrap();
        std::fs::write(
            directory.path().join("fetch-data.expected.json"),
            "{\"id\": 1}",
        )
        .unwrap();
        Folder { directory }
    }

    fn write(&self, manifest: &str) -> PathBuf {
        let path = self.directory.path().join("bench/scenarios.json");
        std::fs::write(&path, manifest).unwrap();
        path
    }

    fn load(&self, manifest: &str) -> Result<Manifest> {
        Manifest::load(&self.write(manifest))
    }

    fn error(&self, manifest: &str) -> String {
        self.load(manifest).unwrap_err().to_string()
    }
}

const FAN_OUT: &str = r#"{ "mock": "mock", "scenarios": [ {
    "name": "fan-out", "description": "N at once", "claim": "stays near D",
    "parameters": { "n": [10, 100, 1000], "delay_ms": [100] },
    "defaults": { "n": [10, 100] },
    "programs": { "javascript": "fan-out/fan-out.mjs", "python": "fan-out/fan_out.py",
                  "rust": "rust:fan-out" },
    "expect": { "ok_equals": "n", "mock_requests_equals": "n" },
    "metric": { "name": "elapsed_ms" } } ] }"#;

#[test]
fn a_valid_manifest_is_read_with_absolute_paths() {
    let folder = Folder::new();
    let manifest = folder.load(FAN_OUT).unwrap();
    assert!(manifest.mock.as_ref().unwrap().ends_with("bench/mock"));
    let scenario = manifest.scenario("fan-out").unwrap();
    assert_eq!(scenario.defaults["n"].len(), 2);
    assert_eq!(scenario.check, Check::Figures);
    assert_eq!(scenario.metric.name, "elapsed_ms");
    assert_eq!(scenario.metric.better, Better::Lower);
    assert!(scenario.in_default_suite);
    match &scenario.programs["javascript"] {
        Program::File(path) => assert!(path.is_absolute() && path.ends_with("fan-out/fan-out.mjs")),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        scenario.programs["rust"],
        Program::RustBinary {
            package: folder.directory.path().join("bench/rust"),
            name: "fan-out".to_string()
        }
    );
    assert_eq!(scenario.rules[0].key, "mock_requests_equals");
    assert_eq!(scenario.rules[0].figure, "mock_requests");
    assert_eq!(scenario.rules[1].comparison, Comparison::Equals);
    assert_eq!(scenario.rules[1].reference, Reference::Name("n".into()));
}

#[test]
fn verbatim_snippets_are_held_to_the_expected_file_beside_the_manifest() {
    let folder = Folder::new();
    let manifest = folder
        .load(
            r#"{ "scenarios": [ { "name": "fetch-data",
                "programs": { "javascript": "fan-out/fan-out.mjs", "rust": "rust" },
                "expect": { "mock_requests_equals": 1 } },
              { "name": "named", "programs": { "javascript": "fan-out/fan-out.mjs" },
                "expect": { "result_equals_file": "../fetch-data.expected.json" } } ] }"#,
        )
        .unwrap();
    let scenario = &manifest.scenarios[0];
    assert!(scenario.check.verbatim());
    let Check::Result { expected, file } = &scenario.check else {
        panic!("{:?}", scenario.check)
    };
    assert_eq!(expected["id"], 1);
    assert!(file.ends_with("fetch-data.expected.json"));
    assert!(matches!(
        scenario.programs["rust"],
        Program::CargoPackage(_)
    ));
    assert_eq!(manifest.mock, None);
    assert_eq!(
        manifest.scenarios[1].check, scenario.check,
        "the file may be named explicitly"
    );
}

#[test]
fn mistakes_are_named_with_the_file_and_the_field() {
    let folder = Folder::new();
    let typo =
        folder.error(r#"{ "scenarios": [ { "name": "x", "paramters": {}, "programs": {} } ] }"#);
    assert!(
        typo.contains("scenarios.json") && typo.contains("unknown field `paramters`"),
        "{typo}"
    );
    let cases = [
        (
            FAN_OUT.replace("\"javascript\":", "\"java\":"),
            "programs.java: unknown program key",
        ),
        (
            FAN_OUT.replace("fan-out/fan-out.mjs", "fan-out/missing.mjs"),
            "missing.mjs does not exist",
        ),
        (
            FAN_OUT.replace("\"fan-out/fan_out.py\"", "\"fan-out/fan-out.mjs\""),
            "is not a python program",
        ),
        (
            FAN_OUT.replace("rust:fan-out", "rust:"),
            "needs a binary name",
        ),
        (
            FAN_OUT.replace("\"ok_equals\"", "\"ok_is\""),
            "expect.ok_is: unknown rule",
        ),
        (
            FAN_OUT.replace("\"ok_equals\": \"n\", \"mock_requests_equals\": \"n\"", ""),
            "expect: give at least one rule",
        ),
        (
            FAN_OUT.replace("\"defaults\": { \"n\"", "\"defaults\": { \"m\""),
            "defaults.m: not in `parameters`",
        ),
        (
            FAN_OUT.replace("\"delay_ms\": [100]", "\"delay_ms\": []"),
            "give at least one value",
        ),
        (
            FAN_OUT.replace("\"delay_ms\"", "\"Delay\""),
            "parameter `Delay`: use lowercase",
        ),
        (
            FAN_OUT.replace("\"mock\": \"mock\"", "\"mock\": \"nowhere\""),
            "is not a folder",
        ),
        (
            FAN_OUT.replace("\"name\": \"elapsed_ms\"", "\"name\": \"\""),
            "metric.name: empty",
        ),
    ];
    for (manifest, expected) in cases {
        let error = folder.error(&manifest);
        assert!(
            error.contains(expected),
            "expected `{expected}` in: {error}"
        );
        assert!(error.contains("scenarios.json"), "{error}");
    }
    let twice = FAN_OUT.replace("} ] }", "}, { \"name\": \"fan-out\", \"programs\": { \"javascript\": \"fan-out/fan-out.mjs\" }, \"expect\": { \"ok_equals\": 1 } } ] }");
    assert!(folder
        .error(&twice)
        .contains("scenarios[1] (fan-out): a scenario with this name comes earlier"));
    assert!(folder
        .error(r#"{ "scenarios": [] }"#)
        .contains("lists no scenarios"));
    let missing = Manifest::load(Path::new("/nonexistent/scenarios.json")).unwrap_err();
    assert!(missing.to_string().contains("/nonexistent/scenarios.json"));
}

#[test]
fn the_projects_manifest_is_valid() {
    let path = crate::paths::project_dir().join("snippets/bench/scenarios.json");
    let manifest = Manifest::load(&path).unwrap_or_else(|error| panic!("{error}"));
    let fetch_data = manifest
        .scenario("fetch-data")
        .expect("fetch-data is a scenario");
    assert!(
        fetch_data.check.verbatim(),
        "fetch-data's programs are the article's snippets"
    );
}
