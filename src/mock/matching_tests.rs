//! Unit tests of request patterns: parsing errors that name the JSON path, and matching.

use super::*;
use serde_json::json;
use std::path::Path;
use wiremock::http::{HeaderName, HeaderValue, Method, Url};

fn pattern(request: Value) -> Result<RequestPattern, MockError> {
    let path = JsonPath::root().key("request");
    let context = FileContext {
        file: Path::new("mappings/test.json"),
    };
    RequestPattern::parse(ObjectReader::new(
        context,
        &path,
        &request,
        "a request pattern",
    )?)
}

fn request(method: &str, url: &str, headers: &[(&str, &str)]) -> Request {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).expect("valid test header name"),
            HeaderValue::from_str(value).expect("valid test header value"),
        );
    }
    Request {
        url: Url::parse(&format!("http://localhost{url}")).expect("valid test url"),
        method: Method::from_bytes(method.as_bytes()).expect("valid test method"),
        headers: map,
        body: Vec::new(),
    }
}

fn matches(request_pattern: &Value, request: &Request) -> bool {
    let pattern = pattern(request_pattern.clone()).expect("pattern parses");
    pattern.matches(&RequestView::new(request, Scheme::Https))
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
    assert_eq!(
        RequestView::new(&get, Scheme::Https).url(),
        "https://api.example.com/data?x=1"
    );
    let mut without_host = request("GET", "/data", &[]);
    without_host.url = Url::parse("https://api.example.com/data").expect("valid url");
    assert_eq!(
        RequestView::new(&without_host, Scheme::Https).url(),
        "https://api.example.com/data"
    );
}

#[test]
fn errors_name_the_file_and_the_json_path() {
    assert_eq!(
        error(json!({"urlPatern": "/x"})),
        "mappings/test.json: $.request.urlPatern: unknown field (expected one of: method, url, \
         urlPath, urlPattern, urlPathPattern, scheme, host, headers, queryParameters)"
    );
    assert_eq!(
        error(json!({"bodyPatterns": []})),
        "mappings/test.json: $.request.bodyPatterns: not supported yet"
    );
    assert_eq!(
        error(json!({"headers": {"Accept": {"equalTO": "x"}}})),
        "mappings/test.json: $.request.headers.Accept.equalTO: unknown field (expected one of: \
         equalTo, caseInsensitive, contains, matches, absent)"
    );
    assert_eq!(
        error(json!({"headers": {"User-Agent": {"doesNotMatch": "x"}}})),
        "mappings/test.json: $.request.headers['User-Agent'].doesNotMatch: not supported yet"
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
