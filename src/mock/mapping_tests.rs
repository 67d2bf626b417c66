//! Unit tests of loading mock definitions: folder layout, ordering, labels, responses, the near
//! miss, and errors that name the file and the JSON path.

use super::*;
use crate::mock::matching::{RequestView, Scheme};
use crate::mock::near_miss::near_miss;
use std::fs;
use tempfile::TempDir;

/// A definition folder with the given `mappings/` files (name, content).
fn folder(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    fs::create_dir(dir.path().join("mappings")).expect("mappings folder");
    for (name, content) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().expect("files have a parent")).expect("parent folder");
        fs::write(path, content).expect("file written");
    }
    dir
}

fn load_error(files: &[(&str, &str)]) -> String {
    let dir = folder(files);
    let error = MockDefinition::load(dir.path()).expect_err("definition is rejected");
    let text = error.to_string();
    text.replace(&format!("{}/", dir.path().display()), "")
}

const DATA: &str = r#"{"name": "data", "request": {"method": "GET", "urlPath": "/data",
    "host": {"equalTo": "API.example.com"}}, "response": {"status": 200, "jsonBody": {"id": 1}}}"#;

#[test]
fn loads_single_and_list_files_sorted_by_name_with_labels() {
    let list = r#"{"mappings": [
        {"id": "by-id", "request": {"url": "/a"}, "response": {"status": 201}},
        {"request": {"url": "/b", "host": {"equalTo": "other.example.com"}}, "response": {}, "priority": 1}
    ], "meta": {"total": 2}}"#;
    let dir = folder(&[
        ("mappings/b.json", DATA),
        ("mappings/a.json", list),
        ("mappings/notes.txt", "x"),
    ]);
    let definition = MockDefinition::load(dir.path()).expect("definition loads");
    let labels: Vec<&str> = definition.mappings().iter().map(Mapping::label).collect();
    assert_eq!(labels, ["by-id", "mappings/a.json#1", "data"]);
    assert_eq!(definition.mappings()[1].priority(), 1);
    assert_eq!(definition.mappings()[0].priority(), 5);
    assert_eq!(definition.mappings()[1].status(), 200);
    assert_eq!(definition.hosts(), ["api.example.com", "other.example.com"]);
    assert_eq!(definition.dir(), dir.path());
}

#[test]
fn falls_back_to_json_files_in_the_folder_itself() {
    let dir = tempfile::tempdir().expect("temporary folder");
    fs::write(dir.path().join("data.json"), DATA).expect("file written");
    let definition = MockDefinition::load(dir.path()).expect("definition loads");
    assert_eq!(definition.mappings()[0].source(), "data.json#0");
}

#[test]
fn an_empty_folder_is_an_error() {
    assert!(load_error(&[])
        .ends_with("no mapping files (*.json) found in mappings/ or in the folder itself"));
}

#[test]
fn response_bodies_are_resolved_at_load_time() {
    let mapping = r#"{"request": {}, "response": {"bodyFileName": "sub/body.txt", "headers": {"X-A": ["1", "2"]}}}"#;
    let dir = folder(&[
        ("mappings/m.json", mapping),
        ("__files/sub/body.txt", "from a file"),
    ]);
    let definition = MockDefinition::load(dir.path()).expect("definition loads");
    let response = definition.mappings()[0].response();
    assert_eq!(response.body().as_ref(), b"from a file");
    let values: Vec<&str> = response
        .headers()
        .iter()
        .map(|(_, value)| value.to_str().unwrap_or("?"))
        .collect();
    assert_eq!(values, ["1", "2"]);
}

#[test]
fn invalid_json_names_file_line_and_column() {
    let text = load_error(&[(
        "mappings/bad.json",
        "{\n  \"request\": {}\n  \"response\": {}\n}",
    )]);
    assert_eq!(
        text,
        "mappings/bad.json:3:3: invalid JSON: expected `,` or `}`"
    );
}

#[test]
fn mapping_errors_name_file_and_path() {
    let cases: [(&str, &str); 12] = [
        (r#"{"mappings": [{"request": {"urlPatern": "/x"}, "response": {}}]}"#,
         "mappings/m.json: $.mappings[0].request.urlPatern: unknown field (expected one of:"),
        (r#"{"request": {}, "response": {}, "postServeActions": [{"name": "log"}]}"#,
         "mappings/m.json: $.postServeActions[0].name: not supported yet (the WireMock extension listener \"log\""),
        (r#"{"request": {}, "response": {"fault": "EMPTY"}}"#,
         "mappings/m.json: $.response.fault: unknown fault \"EMPTY\" (expected one of: CONNECTION_RESET_BY_PEER, EMPTY_RESPONSE, MALFORMED_RESPONSE_CHUNK, RANDOM_DATA_THEN_CLOSE)"),
        (r#"{"request": {}, "response": {"delayDistribution": {}}}"#,
         "mappings/m.json: $.response.delayDistribution.type: missing"),
        (r#"{"request": {}, "response": {"bodyFileName": "missing.json"}}"#,
         "mappings/m.json: $.response.bodyFileName: cannot read "),
        (r#"{"request": {}, "response": {"bodyFileName": "../m.json"}}"#,
         "mappings/m.json: $.response.bodyFileName: expected a path inside "),
        (r#"{"request": {}, "response": {"body": "a", "jsonBody": {}}}"#,
         "mappings/m.json: $.response.jsonBody: only one of body, jsonBody, base64Body, bodyFileName"),
        (r#"{"request": {}, "response": {"base64Body": "not base64!"}}"#,
         "mappings/m.json: $.response.base64Body: invalid base64"),
        (r#"{"request": {}, "response": {"status": 42}}"#,
         "mappings/m.json: $.response.status: expected a whole number from 100 to 999, found 42"),
        (r#"{"request": {}, "response": {}, "priority": 0}"#,
         "mappings/m.json: $.priority: expected a whole number from 1 to 254"),
        (r#"{"response": {}}"#, "mappings/m.json: $.request: missing"),
        (r#"{"mappings": {}}"#, "mappings/m.json: $.mappings: expected an array of mappings"),
    ];
    for (content, expected) in cases {
        let text = load_error(&[("mappings/m.json", content)]);
        assert!(
            text.starts_with(expected),
            "{text:?} should start with {expected:?}"
        );
    }
}

#[test]
fn near_miss_names_the_closest_mapping_and_what_differed() {
    let other =
        r#"{"name": "other", "request": {"method": "POST", "url": "/elsewhere"}, "response": {}}"#;
    let dir = folder(&[("mappings/a.json", other), ("mappings/b.json", DATA)]);
    let definition = MockDefinition::load(dir.path()).expect("definition loads");
    let (parts, ()) = http::Request::get("/dat?x=1")
        .header("host", "api.example.com")
        .body(())
        .expect("valid request")
        .into_parts();
    let text = near_miss(
        definition.mappings(),
        &RequestView::new(&parts, &[], Scheme::Https),
        &Default::default(),
    );
    assert_eq!(
        text,
        "No mapping matched GET https://api.example.com/dat?x=1\n\
         Closest mapping: \"data\" (mappings/b.json#0), 2 of 3 criteria matched\n  \
         urlPath: expected \"/data\", got \"/dat\"\n"
    );
}
