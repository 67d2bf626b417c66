//! Unit tests of request patterns: parsing errors that name the JSON path, and matching.

use super::*;
use crate::mock::request_view::host_without_port;
use serde_json::json;
use std::path::Path;

fn pattern(request: Value) -> Result<RequestPattern, MockError> {
    let path = JsonPath::root().key("request");
    let problems = super::super::reader::Problems::default();
    let context = FileContext {
        file: Path::new("mappings/test.json"),
        problems: &problems,
        global_templating: false,
        remote_upstreams: false,
        preserve_host_header: false,
    };
    let parsed = RequestPattern::parse(ObjectReader::new(
        context,
        &path,
        &request,
        "a request pattern",
    )?);
    let (mut errors, _) = problems.into_parts();
    if errors.is_empty() {
        parsed
    } else {
        Err(errors.remove(0))
    }
}

/// A request as hyper hands it to the mock: its head and its whole body.
pub(super) struct TestRequest {
    pub(super) parts: http::request::Parts,
    pub(super) body: Vec<u8>,
}

impl TestRequest {
    pub(super) fn view(&self) -> RequestView<'_> {
        RequestView::new(&self.parts, &self.body, Scheme::Https)
    }
}

/// `url` is a path (origin form, as HTTP/1.1 sends it) or an absolute URL (as HTTP/2 does).
pub(super) fn request_with_body(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> TestRequest {
    let mut builder = http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let (parts, ()) = builder.body(()).expect("valid test request").into_parts();
    TestRequest {
        parts,
        body: body.as_bytes().to_vec(),
    }
}

fn request(method: &str, url: &str, headers: &[(&str, &str)]) -> TestRequest {
    request_with_body(method, url, headers, "")
}

fn matches(request_pattern: &Value, request: &TestRequest) -> bool {
    let pattern = pattern(request_pattern.clone()).expect("pattern parses");
    pattern.matches(&request.view())
}

fn error(request: Value) -> String {
    pattern(request)
        .expect_err("pattern is rejected")
        .to_string()
}

#[test]
fn method_any_and_missing_match_every_method() {
    let post = request("POST", "/x", &[]);
    assert!(matches(&json!({"method": "ANY"}), &post));
    assert!(matches(&json!({}), &post));
    assert!(!matches(&json!({"method": "GET"}), &post));
}

#[test]
fn url_includes_the_query_and_url_path_ignores_it() {
    let with_query = request("GET", "/data?page=2", &[]);
    assert!(matches(&json!({"url": "/data?page=2"}), &with_query));
    assert!(!matches(&json!({"url": "/data"}), &with_query));
    assert!(matches(&json!({"urlPath": "/data"}), &with_query));
}

#[test]
fn url_regexes_must_match_the_whole_value() {
    assert!(matches(
        &json!({"urlPattern": "/api/\\d+"}),
        &request("GET", "/api/12", &[])
    ));
    assert!(!matches(
        &json!({"urlPattern": "/api/\\d+"}),
        &request("GET", "/api/12/x", &[])
    ));
    assert!(!matches(
        &json!({"urlPattern": "/api/\\d+"}),
        &request("GET", "/api/12?a=1", &[])
    ));
    assert!(matches(
        &json!({"urlPattern": "/api/\\d+\\?a=1"}),
        &request("GET", "/api/12?a=1", &[])
    ));
    assert!(matches(
        &json!({"urlPathPattern": "/api/\\d+"}),
        &request("GET", "/api/12?a=1", &[])
    ));
    assert!(!matches(
        &json!({"urlPathPattern": "api"}),
        &request("GET", "/api", &[])
    ));
}

#[test]
fn host_compares_the_host_header_without_port_or_case() {
    let host = json!({"host": {"equalTo": "API.example.com"}});
    assert!(matches(
        &host,
        &request("GET", "/", &[("host", "api.example.com:8443")])
    ));
    assert!(matches(
        &host,
        &request("GET", "/", &[("host", "Api.Example.Com")])
    ));
    assert!(!matches(
        &host,
        &request("GET", "/", &[("host", "other.example.com")])
    ));
    assert_eq!(
        pattern(host).expect("parses").host(),
        Some("api.example.com")
    );
    assert_eq!(host_without_port("[::1]:80"), "[::1]");
    assert_eq!(host_without_port("example.com."), "example.com");
}

#[test]
fn header_matchers() {
    let get = request(
        "GET",
        "/",
        &[
            ("user-agent", "python-httpx/0.27"),
            ("accept", "Application/JSON"),
        ],
    );
    assert!(matches(
        &json!({"headers": {"User-Agent": {"contains": "httpx"}}}),
        &get
    ));
    assert!(matches(
        &json!({"headers": {"User-Agent": {"matches": "python-.*"}}}),
        &get
    ));
    assert!(!matches(
        &json!({"headers": {"User-Agent": {"matches": "python"}}}),
        &get
    ));
    assert!(!matches(
        &json!({"headers": {"Accept": {"equalTo": "application/json"}}}),
        &get
    ));
    let insensitive =
        json!({"headers": {"Accept": {"equalTo": "application/json", "caseInsensitive": true}}});
    assert!(matches(&insensitive, &get));
    assert!(matches(
        &json!({"headers": {"Authorization": {"absent": true}}}),
        &get
    ));
    assert!(!matches(
        &json!({"headers": {"Accept": {"absent": true}}}),
        &get
    ));
}

#[test]
fn query_parameters_are_decoded_and_any_value_may_match() {
    let get = request("GET", "/search?q=hello%20world&tag=a&tag=b", &[]);
    assert!(matches(
        &json!({"queryParameters": {"q": {"equalTo": "hello world"}}}),
        &get
    ));
    assert!(matches(
        &json!({"queryParameters": {"tag": {"equalTo": "b"}}}),
        &get
    ));
    assert!(matches(
        &json!({"queryParameters": {"page": {"absent": true}}}),
        &get
    ));
    assert!(!matches(
        &json!({"queryParameters": {"tag": {"equalTo": "c"}}}),
        &get
    ));
}

#[test]
fn scheme_is_the_listener_scheme() {
    let get = request("GET", "/", &[]);
    assert!(matches(&json!({"scheme": "https"}), &get));
    assert!(!matches(&json!({"scheme": "http"}), &get));
}

#[test]
fn the_view_records_the_url_as_the_client_asked() {
    let get = request("GET", "/data?x=1", &[("host", "api.example.com")]);
    assert_eq!(get.view().url(), "https://api.example.com/data?x=1");
    let without_host = request("GET", "https://api.example.com/data", &[]);
    assert_eq!(without_host.view().url(), "https://api.example.com/data");
}

#[test]
fn errors_name_the_file_and_the_json_path() {
    assert_eq!(
        error(json!({"urlPatern": "/x"})),
        "mappings/test.json: $.request.urlPatern: unknown field (expected one of: method, url, \
         urlPath, urlPattern, urlPathPattern, urlPathTemplate, pathParameters, scheme, host, \
         headers, queryParameters, cookies, formParameters, basicAuthCredentials, bodyPatterns, \
         multipartPatterns)"
    );
    assert_eq!(
        error(json!({"multipartPatterns": [{"matchingType": "ANY", "header": {}}]})),
        "mappings/test.json: $.request.multipartPatterns[0].header: unknown field (expected one \
         of: matchingType, headers, bodyPatterns, name)"
    );
    assert_eq!(
        error(json!({"headers": {"Accept": {"equalTO": "x"}}})),
        "mappings/test.json: $.request.headers.Accept.equalTO: unknown field (expected one of: \
         equalTo, caseInsensitive, contains, doesNotContain, matches, doesNotMatch, absent, equalToJson, ignoreArrayOrder, ignoreExtraElements, before, after, equalToDateTime, actualFormat, expectedOffset, expectedOffsetUnit, and, or, not, hasExactly, includes)"
    );
    assert!(
        error(json!({"headers": {"User-Agent": {"binaryEqualTo": "eA=="}}})).starts_with(
            "mappings/test.json: $.request.headers['User-Agent'].binaryEqualTo: not supported \
             yet (WireMock's binary body matcher (sidebyside has it in bodyPatterns only);"
        )
    );
    assert!(error(json!({"urlPattern": "/api/(\\d+"}))
        .starts_with("mappings/test.json: $.request.urlPattern: invalid regular expression:"));
    assert!(
        error(json!({"queryParameters": {"q": {"matches": "("}}})).starts_with(
            "mappings/test.json: $.request.queryParameters.q.matches: invalid regular expression"
        )
    );
    assert_eq!(
        error(json!({"url": "/a", "urlPath": "/a"})),
        "mappings/test.json: $.request.urlPath: only one of url, urlPath, urlPattern, urlPathPattern may be given"
    );
    assert!(error(json!({"method": "get"}))
        .contains("$.request.method: expected an upper-case method name"));
    assert!(error(json!({"host": {"equalTo": "api.example.com:443"}}))
        .contains("$.request.host.equalTo: expected a bare host name"));
    assert!(error(json!({"host": {"matches": ".*"}}))
        .contains("$.request.host.matches: not supported yet"));
    assert!(
        error(json!({"headers": {"A": {"contains": "x", "caseInsensitive": true}}}))
            .contains("$.request.headers.A.caseInsensitive: only applies to equalTo")
    );
    assert!(error(json!({"headers": {"A": {}}}))
        .contains("$.request.headers.A: expected exactly one of"));
    assert!(
        error(json!({"headers": {"A": "x"}})).contains("$.request.headers.A: expected a matcher")
    );
}

fn post(body: &str) -> TestRequest {
    request_with_body(
        "POST",
        "/orders",
        &[("content-type", "application/json")],
        body,
    )
}

#[test]
fn equal_to_json_compares_values_not_text() {
    let order =
        post(r#"{"items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}], "note": null}"#);
    let exact = json!({"bodyPatterns": [{"equalToJson":
        {"note": null, "items": [{"qty": 1, "sku": "a"}, {"sku": "b", "qty": 2.0}]}}]});
    assert!(matches(&exact, &order));
    // WireMock's classic form: the JSON inside a string.
    let as_string = json!({"bodyPatterns": [{"equalToJson":
        "{\"items\": [{\"sku\": \"a\", \"qty\": 1}, {\"sku\": \"b\", \"qty\": 2}], \"note\": null}"}]});
    assert!(matches(&as_string, &order));
    let reordered = json!({"bodyPatterns": [{"equalToJson":
        {"note": null, "items": [{"sku": "b", "qty": 2}, {"sku": "a", "qty": 1}]}}]});
    assert!(!matches(&reordered, &order));
    let mut ignoring_order = reordered.clone();
    ignoring_order["bodyPatterns"][0]["ignoreArrayOrder"] = json!(true);
    assert!(matches(&ignoring_order, &order));
    let partial = json!({"bodyPatterns": [{"equalToJson": {"items": [{"sku": "a"}]}}]});
    assert!(!matches(&partial, &order));
    let mut ignoring_extra = partial.clone();
    ignoring_extra["bodyPatterns"][0]["ignoreExtraElements"] = json!(true);
    assert!(matches(&ignoring_extra, &order));
    assert!(!matches(&exact, &post("not json")));
}

#[test]
fn matches_json_path_finds_nodes_and_checks_their_values() {
    let order = post(r#"{"customer": {"name": "Ada"}, "items": [{"sku": "a", "qty": 3}]}"#);
    let found = |expression: Value| {
        matches(
            &json!({"bodyPatterns": [{"matchesJsonPath": expression}]}),
            &order,
        )
    };
    assert!(found(json!("$.customer.name")));
    assert!(!found(json!("$.customer.email")));
    assert!(found(json!("$.items[?@.qty > 2]")));
    assert!(!found(json!("$.items[?@.qty > 5]")));
    assert!(found(
        json!({"expression": "$.customer.name", "equalTo": "Ada"})
    ));
    assert!(!found(
        json!({"expression": "$.customer.name", "equalTo": "Bob"})
    ));
    assert!(found(
        json!({"expression": "$.items[*].qty", "matches": "[0-9]+"})
    ));
    assert!(found(
        json!({"expression": "$.customer.email", "absent": true})
    ));
}

#[test]
fn string_body_patterns_apply_to_the_whole_body_and_all_must_hold() {
    let order = post(r#"{"customer": "Ada"}"#);
    let both = json!({"bodyPatterns": [{"contains": "Ada"}, {"matches": ".*customer.*"}]});
    assert!(matches(&both, &order));
    let one_fails = json!({"bodyPatterns": [{"contains": "Ada"}, {"equalTo": "x"}]});
    assert!(!matches(&one_fails, &order));
}

#[test]
fn body_pattern_errors_name_the_entry() {
    assert!(error(json!({"bodyPatterns": {"contains": "x"}}))
        .contains("$.request.bodyPatterns: expected an array of matchers"));
    assert!(
        error(json!({"bodyPatterns": [{"matchesJsonPath": "$.[broken"}]}))
            .contains("$.request.bodyPatterns[0].matchesJsonPath: invalid JSONPath expression")
    );
    assert!(error(json!({"bodyPatterns": [{"equalToJson": "{oops"}]}))
        .contains("$.request.bodyPatterns[0].equalToJson: the string is not valid JSON"));
    assert!(
        error(json!({"bodyPatterns": [{"contains": "x", "ignoreArrayOrder": true}]}))
            .contains("$.request.bodyPatterns[0].ignoreArrayOrder: only applies to equalToJson")
    );
    assert!(
        error(json!({"bodyPatterns": [{"equalToJson": {}, "ignoreOrder": true}]}))
            .contains("$.request.bodyPatterns[0].ignoreOrder: unknown field")
    );
    assert!(
        error(json!({"bodyPatterns": [{"matchesJsonSchema": {}, "schemaVersion": "V3"}]}))
            .contains("$.request.bodyPatterns[0].schemaVersion: expected one of V4, V6, V7")
    );
}

#[test]
fn a_missing_header_meets_the_negative_matchers_as_in_wiremock() {
    let without = request("GET", "/x", &[]);
    let tagged = request("GET", "/x", &[("Etag", "abc-1")]);
    for matcher in [
        json!({"doesNotMatch": "abc.*"}),
        json!({"doesNotContain": "abc"}),
        json!({"not": {"equalTo": "abc-1"}}),
    ] {
        let pattern = json!({"method": "GET", "headers": {"Etag": matcher}});
        assert!(matches(&pattern, &without), "{pattern} and no Etag");
        assert!(!matches(&pattern, &tagged), "{pattern} and Etag abc-1");
    }
    // The positive matchers still need the header.
    let positive = json!({"method": "GET", "headers": {"Etag": {"matches": ".*"}}});
    assert!(!matches(&positive, &without));
    // `not: absent` still needs it there.
    let present = json!({"method": "GET", "headers": {"Etag": {"not": {"absent": true}}}});
    assert!(!matches(&present, &without));
    assert!(matches(&present, &tagged));
}
