//! Mappings written the way WireMock users write them (issue 24): loading reports every problem
//! of every file at once, comments and missing responses load as in WireMock, and the WireMock
//! features sidebyside serves answer over real HTTP on loopback. Fixtures are in
//! `tests/fixtures/mocks/wiremock*/`.

mod common;

use sidebyside::mock::{
    CertificateAuthority, LoadOptions, MockDefinition, MockListeners, MockOptions, RunningMock,
};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Stdio;

/// A fixture folder served over plain HTTP on 127.0.0.1:0.
struct Served {
    mock: RunningMock,
    http: SocketAddr,
    client: reqwest::Client,
}

impl Served {
    async fn start(case: &str) -> Served {
        Self::start_loaded(MockDefinition::load(&common::fixture(case)).expect("definition loads"))
            .await
    }

    async fn start_loaded(definition: MockDefinition) -> Served {
        let authority = CertificateAuthority::generate(definition.hosts()).expect("certificates");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let http = listener.local_addr().expect("address");
        let listeners = MockListeners {
            http: vec![listener],
            https: Vec::new(),
            either: Vec::new(),
        };
        let mock =
            RunningMock::start_with(&definition, &authority, listeners, MockOptions::default())
                .await
                .expect("mock starts");
        Served {
            mock,
            http,
            client: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }
}

fn without_folder(text: &str, folder: &Path) -> String {
    text.replace(&format!("{}/", folder.display()), "")
}

#[test]
fn the_mock_command_lists_every_problem_of_every_file_and_exits_2() {
    let folder = common::fixture("mocks/wiremock-problems");
    let output = common::sidebyside()
        .args(["mock", "--mock", folder.to_str().unwrap(), "--port", "0"])
        .stdin(Stdio::null())
        .output()
        .expect("run sidebyside mock");
    assert_eq!(output.status.code(), Some(2));
    let stderr = without_folder(&String::from_utf8_lossy(&output.stderr), &folder);
    let expected = [
        "7 problems in the mappings (nothing is served until all are fixed):",
        "mappings/a-several.json: $.mappings[0].request.multipartPatterns[0].matchingType: \
         expected \"ANY\" or \"ALL\", found \"SOME\"",
        "mappings/a-several.json: $.mappings[0].request.headers.Accept.equalToo: unknown field \
         (expected one of: equalTo, caseInsensitive, contains, doesNotContain, matches, doesNotMatch, absent, equalToJson, ignoreArrayOrder, ignoreExtraElements, before, after, equalToDateTime, actualFormat, expectedOffset, expectedOffsetUnit, and, or, not, hasExactly, includes)",
        "mappings/a-several.json: $.mappings[0].request.bodyPatterns[0].matchesJsonPath.equalToXml: \
         not supported yet (WireMock's XML matchers (sidebyside has them in bodyPatterns only);",
        "mappings/a-several.json: $.mappings[0].response.chunkedDribbleDelay.numberOfChunks: \
         expected a whole number from 1 to 100000",
        "mappings/a-several.json: $.mappings[1].response.proxyBaseUrl: proxies to upstream.invalid, \
         which is not this machine: what a snippet sends never leaves it.",
        "mappings/b-broken.json:3:3: invalid JSON: expected `,` or `}`",
        "mappings/d-status.json: $.response.status: expected a whole number from 100 to 999",
    ];
    for line in expected {
        assert!(stderr.contains(line), "missing {line:?} in:\n{stderr}");
    }
    // The fine file is not a problem, and nothing is reported twice.
    assert!(!stderr.contains("c-fine.json"), "{stderr}");
    assert_eq!(stderr.matches("equalToo").count(), 1, "{stderr}");
}

#[tokio::test]
async fn comments_subfolders_and_a_mapping_without_response_load_as_in_wiremock() {
    let served = Served::start("mocks/wiremock").await;
    assert_eq!(served.get("/ping").await, (200, String::new()));
    assert_eq!(
        served.get("/text").await,
        (
            200,
            "a // is kept inside a string /* and this */".to_string()
        )
    );
    let labels: Vec<Option<String>> = served
        .mock
        .journal()
        .into_iter()
        .map(|entry| entry.mapping)
        .collect();
    assert_eq!(
        labels,
        [
            Some("ping".to_string()),
            Some("comment-in-string".to_string())
        ]
    );
    // As WireMock, mappings/ is read with its subfolders.
    assert_eq!(
        served.get("/archive").await,
        (200, "from a subfolder".to_string())
    );
}

#[tokio::test]
async fn templated_responses_see_the_request_path_query_headers_and_method() {
    let served = Served::start("mocks/templating").await;
    let response = served
        .client
        .get(served.url("/users/ada?q=x%20y&tag=a&tag=b"))
        .header("X-Request-Id", "r-42")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-echo"], "r-42");
    assert_eq!(response.headers()["x-plain"], "fixed");
    assert_eq!(
        response.text().await.expect("body"),
        "user ada under users at /users/ada; q=x y tags=[a, b]; \
         GET /users/ada?q=x%20y&tag=a&tag=b; id=r-42"
    );
}

#[tokio::test]
async fn range_gives_the_numbers_between_its_bounds_in_either_direction() {
    let served = Served::start("mocks/templating").await;
    assert_eq!(
        served.get("/pages").await,
        (200, "page 1;page 2;page 3; 2,1,0,-1,".to_string())
    );
}

#[tokio::test]
async fn json_body_templates_read_the_request_body_with_json_path_and_helpers() {
    let served = Served::start("mocks/templating").await;
    let response = served
        .client
        .post(served.url("/orders"))
        .json(&serde_json::json!({
            "id": 7, "customer": {"name": "Grace"}, "items": [{"sku": "tea"}, {"sku": "cake"}]
        }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(
        body,
        serde_json::json!({"id": "7", "customer": "GRACE", "items": "2", "first": "tea", "missing": ""})
    );
}

#[tokio::test]
async fn random_values_dates_and_string_helpers() {
    let served = Served::start("mocks/templating").await;
    let (status, first) = served.get("/random").await;
    assert_eq!(status, 200);
    let parts: Vec<&str> = first.split('|').collect();
    assert_eq!(parts.len(), 4, "{first}");
    assert!(parts[0].len() == 12 && parts[0].chars().all(|c| c.is_ascii_alphanumeric()));
    let uuid =
        regex::Regex::new("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
    assert!(uuid.unwrap().is_match(parts[1]), "{first}");
    assert!(parts[2].len() == 6 && parts[2].chars().all(|c| c.is_ascii_digit()));
    assert!(parts[3].len() == 4 && parts[3].chars().all(|c| "0123456789ABCDEF".contains(c)));
    let (_, second) = served.get("/random").await;
    assert_ne!(first, second, "each request draws anew");

    let before = time::OffsetDateTime::now_utc();
    let (_, dates) = served.get("/dates").await;
    let after = time::OffsetDateTime::now_utc();
    let day = |date: time::OffsetDateTime| {
        format!(
            "{}-{:02}-{:02}",
            date.year(),
            u8::from(date.month()),
            date.day()
        )
    };
    let parts: Vec<&str> = dates.split('|').collect();
    assert!(parts[0] == day(before) || parts[0] == day(after), "{dates}");
    let tomorrow = before + time::Duration::days(1);
    assert!(parts[1] == day(tomorrow) || parts[1] == day(after + time::Duration::days(1)));
    assert_eq!(parts[2], "31/05/2021");
    let unix: i64 = parts[3].parse().expect("seconds");
    assert!(
        (before.unix_timestamp()..=after.unix_timestamp()).contains(&unix),
        "{dates}"
    );

    assert_eq!(
        served.get("/strings?n=1").await.1,
        "abc|x|Hello World|a+b+c|one"
    );
    assert_eq!(
        served.get("/strings").await.1,
        "abc|x|Hello World|a+b+c|other"
    );

    let (status, text) = served.get("/broken").await;
    assert_eq!(status, 500);
    assert!(
        text.starts_with("sidebyside mock: mapping \"failing-template\" (mappings/templated.json#6): the response template failed:")
            && text.contains("date: not a date: \"not a date\""),
        "{text}"
    );
    let journal = served.mock.journal();
    assert_eq!(journal.last().map(|entry| entry.status), Some(500));
}

#[tokio::test]
async fn nothing_is_html_escaped_as_in_wiremock_3() {
    let served = Served::start("mocks/templating").await;
    let response = served
        .client
        .post(served.url("/escape"))
        .body(r#"{"a":"<b>"}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(
        response.text().await.expect("body"),
        r#"{"a":"<b>"}|{"a":"<b>"}"#
    );
}

#[tokio::test]
async fn body_files_are_templates_with_transformer_parameters() {
    let served = Served::start("mocks/templating").await;
    assert_eq!(
        served.get("/greeting?name=Ada").await,
        (200, "Hello, Ada!".to_string())
    );
}

#[tokio::test]
async fn a_templated_body_file_name_picks_the_file_per_request() {
    let served = Served::start("mocks/templating").await;
    assert_eq!(
        served.get("/profiles/ada").await,
        (
            200,
            r#"{"user": "ada", "seen_at": "/profiles/ada"}"#.to_string()
        )
    );
    let (status, text) = served.get("/profiles/bob").await;
    assert_eq!(status, 500);
    assert!(
        text.contains("mapping \"file-per-profile\"") && text.contains("profiles/bob.json"),
        "{text}"
    );
}

#[tokio::test]
async fn braces_in_a_mapping_that_is_not_templated_warn_and_global_templating_renders_them() {
    let folder = common::fixture("mocks/templating-global");
    let literal = MockDefinition::load(&folder).expect("loads, with warnings");
    let warnings: Vec<String> = literal
        .warnings()
        .iter()
        .map(|warning| without_folder(warning, &folder))
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].starts_with(
            "mappings/literal.json: $.response.headers['X-Path']: contains `{{` but the mapping is \
             not templated, so it is served literally"
        ),
        "{warnings:?}"
    );
    assert!(
        warnings[1]
            .starts_with("mappings/literal.json: $.response.jsonBody.greeting.text: contains `{{`"),
        "{warnings:?}"
    );
    let served = Served::start_loaded(literal).await;
    let response = served
        .client
        .get(served.url("/hello?name=Ada"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.headers()["x-path"], "{{request.path}}");
    assert_eq!(
        response.text().await.expect("body"),
        r#"{"greeting":{"text":"Hello {{request.query.name}}"}}"#
    );

    let options = LoadOptions {
        global_templating: true,
        ..LoadOptions::default()
    };
    let global = MockDefinition::load_with(&folder, options).expect("loads");
    assert!(global.warnings().is_empty(), "{:?}", global.warnings());
    let served = Served::start_loaded(global).await;
    let response = served
        .client
        .get(served.url("/hello?name=Ada"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.headers()["x-path"], "/hello");
    assert_eq!(
        response.text().await.expect("body"),
        r#"{"greeting":{"text":"Hello Ada"}}"#
    );
}

#[test]
fn the_mock_command_warns_about_braces_and_global_templating_silences_it() {
    use std::io::{BufRead, BufReader};
    let folder = common::fixture("mocks/templating-global");
    for (global, warned) in [(false, true), (true, false)] {
        let mut command = common::sidebyside();
        command.args(["mock", "--mock", folder.to_str().unwrap(), "--port", "0"]);
        if global {
            command.arg("--global-templating");
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sidebyside mock");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        while !line.contains("Ctrl-C stops") {
            line.clear();
            assert_ne!(
                stdout.read_line(&mut line).expect("banner"),
                0,
                "banner ended early"
            );
        }
        child.kill().expect("stop the mock");
        let output = child.wait_with_output().expect("mock ended");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            stderr.contains("sidebyside mock: warning: ")
                && stderr.contains("$.response.headers['X-Path']: contains `{{`"),
            warned,
            "global {global}: {stderr}"
        );
    }
}

#[test]
fn a_template_that_does_not_parse_is_a_load_error_naming_its_path() {
    let folder = tempfile::tempdir().expect("folder");
    std::fs::write(
        folder.path().join("broken.json"),
        r#"{"request": {"url": "/x"}, "response": {"body": "{{#if x}}never closed",
            "transformers": ["response-template", "my-extension"]}}"#,
    )
    .expect("write");
    let error = MockDefinition::load(folder.path()).expect_err("refused");
    let text = without_folder(&error.to_string(), folder.path());
    assert!(text.starts_with("2 problems in the mappings"), "{text}");
    assert!(
        text.contains("broken.json: $.response.transformers[1]: not supported yet (the WireMock extension transformer \"my-extension\""),
        "{text}"
    );
    assert!(
        text.contains("broken.json: $.response.body: invalid response template:"),
        "{text}"
    );
}

impl Served {
    async fn send(&self, method: reqwest::Method, path: &str) -> (u16, String) {
        let response = self
            .client
            .request(method, self.url(path))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }
}

#[tokio::test]
async fn scenarios_move_through_their_states_and_start_afresh_with_each_mock() {
    use reqwest::Method;
    let definition =
        MockDefinition::load(&common::fixture("mocks/scenarios")).expect("definition loads");
    let served = Served::start_loaded(definition.clone()).await;
    assert_eq!(served.get("/todos").await, (200, "[]".to_string()));
    assert_eq!(served.send(Method::POST, "/todos").await.0, 201);
    assert_eq!(
        served.get("/todos").await,
        (200, r#"["water the plants"]"#.to_string())
    );
    // Adding needs the state Started: the near miss says which state the scenario is in.
    let (status, text) = served.send(Method::POST, "/todos").await;
    assert_eq!(status, 404);
    assert!(
        text.contains(
            "Closest mapping: \"add-item\" (mappings/todo.json#1), 2 of 3 criteria matched"
        ) && text.contains(
            "scenario \"todo-list\": expected state \"Started\", currently \"Item added\""
        ),
        "{text}"
    );
    assert_eq!(served.send(Method::DELETE, "/todos").await.0, 204);
    assert_eq!(served.get("/todos").await, (200, "[]".to_string()));
    assert_eq!(served.send(Method::POST, "/todos").await.0, 201);

    // A new mock (the next verify run, the next `sidebyside mock`) starts in Started.
    let fresh = Served::start_loaded(definition).await;
    assert_eq!(fresh.get("/todos").await, (200, "[]".to_string()));
    assert_eq!(
        served.get("/todos").await,
        (200, r#"["water the plants"]"#.to_string())
    );
}

#[test]
fn a_scenario_state_without_a_scenario_name_is_refused() {
    let folder = tempfile::tempdir().expect("folder");
    std::fs::write(
        folder.path().join("orphan.json"),
        r#"{"request": {"url": "/x"}, "newScenarioState": "Done"}"#,
    )
    .expect("write");
    let error = MockDefinition::load(folder.path()).expect_err("refused");
    assert_eq!(
        without_folder(&error.to_string(), folder.path()),
        "orphan.json: $.newScenarioState: needs the scenarioName of the scenario it belongs to"
    );
}

#[tokio::test]
async fn among_equal_priorities_the_most_recently_added_mapping_wins_as_in_wiremock() {
    let served = Served::start("mocks/tie-break").await;
    assert_eq!(served.get("/same").await.1, "later in the file");
    assert_eq!(served.get("/across").await.1, "later file");
    // Priority comes first: the earlier mapping with priority 1 beats the later one at 5.
    assert_eq!(served.get("/priority").await.1, "higher priority");
}

#[tokio::test]
async fn url_path_templates_match_segments_and_feed_templates() {
    let served = Served::start("mocks/matchers").await;
    assert_eq!(
        served.get("/contacts/ada/addresses/12").await,
        (200, "contact ada, address 12".to_string())
    );
    let (status, text) = served.get("/contacts/ada/addresses/home").await;
    assert_eq!(status, 404);
    assert!(
        text.contains(
            "pathParameters.addressId: expected matches \"[0-9]+\", got the string \"home\""
        ),
        "{text}"
    );
    // A parameter is one whole segment.
    assert_eq!(served.get("/contacts/a/b/addresses/12").await.0, 404);
}

#[tokio::test]
async fn get_or_head_status_message_basic_auth_cookies_and_forms() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let served = Served::start("mocks/matchers").await;
    assert_eq!(served.get("/either").await, (200, "either".to_string()));
    let head = served
        .client
        .head(served.url("/either"))
        .send()
        .await
        .expect("HEAD");
    assert_eq!(
        (head.status().as_u16(), &head.headers()["x-kind"]),
        (200, &"either".parse().unwrap())
    );
    let post = served
        .client
        .post(served.url("/either"))
        .send()
        .await
        .expect("POST");
    assert_eq!(post.status(), 404);

    // The reason phrase is only visible on the wire (HTTP/1.1). The mock runs on this test's
    // runtime, so the client must not block it.
    let mut stream = tokio::net::TcpStream::connect(served.http)
        .await
        .expect("connect");
    stream
        .write_all(b"GET /teapot HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    assert!(
        answer.starts_with("HTTP/1.1 418 Short and stout\r\n"),
        "{answer}"
    );

    let private = |user: &'static str, password: &'static str| {
        served
            .client
            .get(served.url("/private"))
            .basic_auth(user, Some(password))
            .send()
    };
    assert_eq!(
        private("ada", "s3cret").await.expect("request").status(),
        200
    );
    let wrong = private("ada", "guess").await.expect("request");
    assert_eq!(wrong.status(), 404);
    assert!(wrong
        .text()
        .await
        .expect("body")
        .contains("basicAuthCredentials: expected user \"ada\" with the mapping's password, got another password"));

    let session = |cookie: &'static str| {
        served
            .client
            .get(served.url("/session"))
            .header("Cookie", cookie)
            .send()
    };
    assert_eq!(
        session("theme=dark; session=0a1b2c3d")
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        session("session=0a1b2c3d; tracking=1")
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(session("session=nothex!!").await.unwrap().status(), 404);

    let login = |form: &'static [(&'static str, &'static str)]| {
        served.client.post(served.url("/login")).form(form).send()
    };
    assert_eq!(
        login(&[("user", "ada lovelace")]).await.unwrap().status(),
        303
    );
    assert_eq!(
        login(&[("user", "ada lovelace"), ("remember", "yes")])
            .await
            .unwrap()
            .status(),
        303
    );
    assert_eq!(
        login(&[("user", "ada lovelace"), ("remember", "no")])
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn logical_and_negative_matchers_on_headers_queries_and_bodies() {
    let served = Served::start("mocks/matchers").await;
    let logic = |agent: &'static str, accept: &'static str, lang: &'static str| {
        served
            .client
            .get(served.url(&format!("/logic?lang={lang}")))
            .header("User-Agent", agent)
            .header("Accept", accept)
            .send()
    };
    assert_eq!(
        logic("curl/8.0", "application/json", "fr")
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        logic("curl-bot/1", "application/json", "fr")
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        logic("curl/8.0", "text/html", "fr").await.unwrap().status(),
        404
    );
    let missed = logic("curl/8.0", "application/json", "de").await.unwrap();
    assert_eq!(missed.status(), 404);
    assert!(missed.text().await.unwrap().contains(
        "queryParameters.lang: expected (equalTo \"en\" or equalTo \"fr\"), got the string \"de\""
    ));

    let document = |body: serde_json::Value| {
        served
            .client
            .post(served.url("/documents"))
            .json(&body)
            .send()
    };
    let accepted = serde_json::json!({"name": "notes", "meta": {"version": 2, "by": "ada"}});
    assert_eq!(document(accepted).await.unwrap().status(), 201);
    let draft = serde_json::json!({"title": "a draft", "meta": {"version": 2}});
    assert_eq!(document(draft).await.unwrap().status(), 404);
    let untitled = serde_json::json!({"meta": {"version": 2}});
    assert_eq!(document(untitled).await.unwrap().status(), 404);
    let old = serde_json::json!({"title": "notes", "meta": {"version": 1}});
    assert_eq!(document(old).await.unwrap().status(), 404);
}

#[tokio::test]
async fn date_matchers_compare_with_now_fixed_dates_offsets_and_formats() {
    let served = Served::start("mocks/matchers").await;
    let booking = |date: String| {
        served
            .client
            .post(served.url("/bookings"))
            .json(&serde_json::json!({ "date": date }))
            .send()
    };
    let in_days = |days: i64| {
        let date = time::OffsetDateTime::now_utc() + time::Duration::days(days);
        format!(
            "{}-{:02}-{:02}T12:00:00Z",
            date.year(),
            u8::from(date.month()),
            date.day()
        )
    };
    assert_eq!(booking(in_days(3)).await.unwrap().status(), 201);
    assert_eq!(booking(in_days(-3)).await.unwrap().status(), 404);
    assert_eq!(
        booking("not a date".to_string()).await.unwrap().status(),
        404
    );

    assert_eq!(
        served.get("/invoices?issued=31/12/2019").await.1,
        "archived"
    );
    assert_eq!(served.get("/invoices?issued=02/01/2020").await.0, 404);

    let event = |day: &'static str| {
        served
            .client
            .get(served.url("/events"))
            .header("X-Day", day)
            .send()
    };
    assert_eq!(event("2024-02-29T00:00:00Z").await.unwrap().status(), 200);
    assert_eq!(event("2024-02-28T00:00:00Z").await.unwrap().status(), 404);
}

#[tokio::test]
async fn jayway_json_paths_filter_objects_match_regexes_and_count() {
    let served = Served::start("mocks/matchers").await;
    let account = |identification: &str, lines: usize, owner: &str| {
        let body = serde_json::json!({
            "Identification": identification,
            "lines": vec![1; lines],
            "owners": [{"name": "grace"}, {"name": owner}]
        });
        served
            .client
            .post(served.url("/accounts"))
            .json(&body)
            .send()
    };
    let accepted = account("ACC-7", 2, "Ada L.").await.unwrap();
    assert_eq!(accepted.status(), 202);
    assert_eq!(accepted.text().await.unwrap(), "2 lines");
    assert_eq!(account("ACC-8", 2, "Ada L.").await.unwrap().status(), 404);
    assert_eq!(account("ACC-7", 3, "Ada L.").await.unwrap().status(), 404);
    assert_eq!(account("ACC-7", 2, "Bob").await.unwrap().status(), 404);
}

#[tokio::test]
async fn has_exactly_and_includes_match_repeated_parameters_and_headers() {
    let served = Served::start("mocks/matchers").await;
    let multi = |query: &'static str, tags: &'static [&'static str]| {
        let mut request = served.client.get(served.url(&format!("/multi?{query}")));
        for tag in tags {
            request = request.header("X-Tag", *tag);
        }
        request.send()
    };
    assert_eq!(
        multi("id=2&id=1", &["red", "blue"]).await.unwrap().status(),
        200
    );
    assert_eq!(multi("id=1", &["blue"]).await.unwrap().status(), 404);
    assert_eq!(
        multi("id=1&id=2&id=3", &["blue"]).await.unwrap().status(),
        404
    );
    assert_eq!(multi("id=1&id=1", &["blue"]).await.unwrap().status(), 404);
    assert_eq!(multi("id=1&id=2", &["red"]).await.unwrap().status(), 404);
}

/// A folder with one mapping file holding `mapping`.
fn folder_with(mapping: serde_json::Value) -> tempfile::TempDir {
    let folder = tempfile::tempdir().expect("temporary folder");
    std::fs::create_dir(folder.path().join("mappings")).expect("mappings folder");
    std::fs::write(
        folder.path().join("mappings/proxy.json"),
        serde_json::to_string_pretty(&mapping).unwrap(),
    )
    .expect("write mapping");
    folder
}

#[tokio::test]
async fn a_proxying_mapping_forwards_to_a_loopback_upstream_and_answers_with_its_answer() {
    use wiremock::matchers::{method, path};
    let upstream = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("POST"))
        .and(path("/api/users/7"))
        .respond_with(
            wiremock::ResponseTemplate::new(201)
                .insert_header("X-Upstream", "yes")
                .set_body_string("made by the upstream"),
        )
        .mount(&upstream)
        .await;
    let folder = folder_with(serde_json::json!({
        "name": "to-upstream",
        "request": { "urlPathPattern": "/proxied/.*" },
        "response": {
            "proxyBaseUrl": format!("{}/api", upstream.uri()),
            "proxyUrlPrefixToRemove": "/proxied",
            "additionalProxyRequestHeaders": { "X-Added": "by the mapping" },
            "removeProxyRequestHeaders": ["x-secret"]
        }
    }));
    let served = Served::start_loaded(MockDefinition::load(folder.path()).expect("loads")).await;
    let response = served
        .client
        .post(served.url("/proxied/users/7?page=2"))
        .header("X-Secret", "not for the upstream")
        .header("X-Kept", "along")
        .body("the request body")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["x-upstream"], "yes");
    assert_eq!(response.text().await.unwrap(), "made by the upstream");

    let received = upstream.received_requests().await.expect("recorded");
    assert_eq!(received.len(), 1);
    let forwarded = &received[0];
    assert_eq!(forwarded.url.path(), "/api/users/7");
    assert_eq!(forwarded.url.query(), Some("page=2"));
    assert_eq!(forwarded.body, b"the request body");
    let header = |name: &str| {
        forwarded
            .headers
            .get(name)
            .map(|value| value.to_str().unwrap().to_string())
    };
    assert_eq!(header("x-added").as_deref(), Some("by the mapping"));
    assert_eq!(header("x-kept").as_deref(), Some("along"));
    assert_eq!(header("x-secret"), None);
    assert_eq!(
        header("host"),
        Some(upstream.uri().trim_start_matches("http://").to_string())
    );
    // Journaled with the upstream's status, under the mapping that proxied it.
    let journal = served.mock.journal();
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].status, 201);
    assert_eq!(journal[0].mapping.as_deref(), Some("to-upstream"));

    // An upstream that is not there: a 500 saying where the request was going and why.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let folder = folder_with(serde_json::json!({
        "name": "to-nowhere",
        "request": { "urlPath": "/gone" },
        "response": { "proxyBaseUrl": format!("http://{closed}") }
    }));
    let served = Served::start_loaded(MockDefinition::load(folder.path()).expect("loads")).await;
    let (status, body) = served.get("/gone").await;
    assert_eq!(status, 500);
    assert!(
        body.starts_with(&format!(
            "sidebyside mock: mapping \"to-nowhere\" (mappings/proxy.json#0): proxying to http://{closed}/gone: cannot connect to {closed}:"
        )),
        "{body}"
    );
    assert_eq!(served.mock.journal()[0].status, 500);
}

#[test]
fn a_mapping_proxying_off_this_machine_is_refused_unless_remote_upstreams_are_allowed() {
    let folder = folder_with(serde_json::json!({
        "request": { "urlPath": "/data" },
        "response": { "proxyBaseUrl": "http://api.example.com", "body": "ignored" }
    }));
    let error = MockDefinition::load(folder.path()).expect_err("refused");
    let message = without_folder(&error.to_string(), folder.path());
    assert_eq!(
        message,
        "mappings/proxy.json: $.response.proxyBaseUrl: proxies to api.example.com, which is not \
         this machine: what a snippet sends never leaves it. Point proxyBaseUrl at an upstream on \
         loopback (127.0.0.1, ::1, localhost), or record the upstream's answers once with \
         `sidebyside record --upstream http://api.example.com --out DIR` and serve those mappings \
         (`sidebyside mock --allow-remote-upstream` serves this one as is)"
    );
    // The mock command refuses it the same way, and serves it with the flag (a body beside
    // proxyBaseUrl is not used, as in WireMock: a warning says so).
    let output = common::sidebyside()
        .args([
            "mock",
            "--mock",
            folder.path().to_str().unwrap(),
            "--port",
            "0",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run sidebyside mock");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("which is not this machine"));
    let allowed = LoadOptions {
        remote_upstreams: true,
        ..LoadOptions::default()
    };
    let definition = MockDefinition::load_with(folder.path(), allowed).expect("loads");
    let warnings = definition.warnings().join("\n");
    assert!(
        warnings
            .contains("$.response.body: not used: a proxying mapping answers with the upstream's"),
        "{warnings}"
    );
}

/// `sidebyside record` on a free port; killed on drop if still running.
struct Recording {
    child: std::process::Child,
    port: u16,
    output: std::sync::mpsc::Receiver<String>,
}

impl Recording {
    fn start(upstream: &str, out: &Path) -> Recording {
        Self::start_with(upstream, out, &[])
    }

    fn start_with(upstream: &str, out: &Path, environment: &[(&str, &Path)]) -> Recording {
        use std::io::BufRead;
        let mut child = common::sidebyside()
            .args(["record", "--upstream", upstream, "--port", "0", "--out"])
            .arg(out)
            .envs(environment.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start sidebyside record");
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        while !banner.contains("Ctrl-C stops") {
            let mut line = String::new();
            assert_ne!(stdout.read_line(&mut line).unwrap(), 0, "{banner}");
            banner.push_str(&line);
        }
        let port = banner
            .split("127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|digits| digits.parse().ok())
            .unwrap_or_else(|| panic!("no port in:\n{banner}"));
        let (sender, output) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = std::io::Read::read_to_string(&mut stdout, &mut rest);
            let _ = sender.send(rest);
        });
        Recording {
            child,
            port,
            output,
        }
    }

    /// Stops it as Ctrl-C would; its exit code and what it printed after the banner.
    fn stop(mut self) -> (Option<i32>, String) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("signal");
        let status = self.child.wait().expect("wait");
        (status.code(), self.output.recv().unwrap_or_default())
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn record_writes_a_mapping_per_distinct_request_that_the_mock_serves_back() {
    use wiremock::matchers::{body_json, method, path};
    let upstream = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("GET"))
        .and(path("/users/7"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_raw(r#"{"id":7,"name":"Ada"}"#, "application/json"),
        )
        .mount(&upstream)
        .await;
    wiremock::Mock::given(method("POST"))
        .and(path("/users"))
        .and(body_json(serde_json::json!({"name": "Grace"})))
        .respond_with(wiremock::ResponseTemplate::new(201).set_body_string("created"))
        .mount(&upstream)
        .await;
    let out = tempfile::tempdir().expect("temporary folder");
    let recording = Recording::start(&upstream.uri(), out.path());
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{}", recording.port);
    for _ in 0..2 {
        let response = client.get(format!("{base}/users/7")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), r#"{"id":7,"name":"Ada"}"#);
    }
    let response = client
        .post(format!("{base}/users"))
        .body(r#"{"name":"Grace"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let binary = client
        .put(format!("{base}/blob"))
        .body(vec![0xffu8, 0x00, 0xfe])
        .send()
        .await
        .unwrap();
    assert_eq!(binary.status(), 404);
    let missing = client.get(format!("{base}/nowhere")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let (code, printed) = recording.stop();
    assert_eq!(code, Some(0), "{printed}");
    assert!(
        printed.contains("recorded 4 mappings in"),
        "the repeated GET is written once:\n{printed}"
    );

    let mut files: Vec<String> = std::fs::read_dir(out.path().join("mappings"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "get-nowhere.json",
            "get-users-7.json",
            "post-users.json",
            "put-blob.json"
        ]
    );
    let recorded: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("mappings/post-users.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        recorded["request"],
        serde_json::json!({
            "method": "POST",
            "url": "/users",
            "bodyPatterns": [{
                "equalToJson": {"name": "Grace"},
                "ignoreArrayOrder": false,
                "ignoreExtraElements": false
            }]
        })
    );

    // Without the upstream, the recorded folder answers the same requests the same way.
    drop(upstream);
    let served = Served::start_loaded(MockDefinition::load(out.path()).expect("loads")).await;
    let response = served
        .client
        .get(served.url("/users/7"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.text().await.unwrap(), r#"{"id":7,"name":"Ada"}"#);
    let created = served
        .client
        .post(served.url("/users"))
        .body(r#"{ "name": "Grace" }"#)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.text().await.unwrap(), "created");
    assert_eq!(served.get("/nowhere").await.0, 404);
    let blob = |bytes: Vec<u8>| send_body(&served, reqwest::Method::PUT, "/blob", bytes);
    // The upstream answered 404 to the bytes recorded; other bytes match nothing recorded,
    // which the mock also answers 404, with its near miss naming the recorded mapping.
    let (status, text) = blob(vec![0xff, 0x00, 0xfe]).await;
    assert_eq!(status, 404);
    assert!(!text.contains("No mapping matched"), "{text}");
    let (status, text) = blob(vec![0xff, 0x00]).await;
    assert_eq!(status, 404);
    assert!(text.contains("binaryEqualTo"), "{text}");
    // A body it never saw is not what was recorded.
    let other = served
        .client
        .post(served.url("/users"))
        .body(r#"{"name":"Edsger"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
}

/// A POST (or other method) with a body; the status and the answer's text.
async fn send_body(
    served: &Served,
    method: reqwest::Method,
    path: &str,
    body: impl Into<reqwest::Body>,
) -> (u16, String) {
    let response = served
        .client
        .request(method, served.url(path))
        .body(body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

#[tokio::test]
async fn binary_json_schema_and_xml_body_matchers_answer_as_in_wiremock() {
    use reqwest::Method;
    let served = Served::start("mocks/wiremock-bodies").await;
    // binaryEqualTo: exactly the bytes 00 01 02 ff.
    assert_eq!(
        send_body(&served, Method::PUT, "/blob", vec![0u8, 1, 2, 255])
            .await
            .0,
        204
    );
    assert_eq!(
        send_body(&served, Method::PUT, "/blob", vec![0u8, 1, 2])
            .await
            .0,
        404
    );
    // matchesJsonSchema (draft 7).
    let pet = |body: &'static str| send_body(&served, Method::POST, "/pets", body);
    assert_eq!(
        pet(r#"{"name": "Rex", "legs": 4}"#).await,
        (201, "pet accepted".into())
    );
    let (status, near_miss) = pet(r#"{"name": "Rex", "legs": -1}"#).await;
    assert_eq!(status, 404);
    assert!(
        near_miss.contains("bodyPatterns: expected JSON valid against the schema"),
        "{near_miss}"
    );
    assert_eq!(pet(r#"{"name": "Rex"}"#).await.0, 404);
    assert_eq!(pet("not json").await.0, 404);
    // equalToXml: another prefix, attribute order, layout and a comment do not count; the
    // placeholder accepts any id.
    let order = |body: &'static str| send_body(&served, Method::POST, "/order", body);
    assert_eq!(
        order("<order xmlns=\"urn:example:shop\" id=\"A-17\">\n  <!-- gift -->\n  <item qty=\"2\">tea</item>\n</order>").await,
        (200, "same order".into())
    );
    assert_eq!(
        order("<order xmlns=\"urn:example:shop\" id=\"A-17\"><item qty=\"3\">tea</item></order>")
            .await
            .0,
        404
    );
    assert_eq!(
        order("<order xmlns=\"urn:other\" id=\"A-17\"><item qty=\"2\">tea</item></order>")
            .await
            .0,
        404
    );
    // matchesXPath: found, or not.
    let search = |body: &'static str| send_body(&served, Method::POST, "/search", body);
    assert_eq!(
        search("<query><term lang=\"en\">owl</term></query>").await,
        (200, "english search".into())
    );
    assert_eq!(
        search("<query><term lang=\"fr\">hibou</term></query>")
            .await
            .0,
        404
    );
    // matchesXPath with a namespace prefix and a matcher for the text found.
    let books = |body: &'static str| send_body(&served, Method::POST, "/ns", body);
    assert_eq!(
        books("<list xmlns=\"urn:example:books\"><title>Go</title><title>Programming Rust</title></list>").await,
        (200, "a Rust book".into())
    );
    assert_eq!(
        books("<list xmlns=\"urn:example:books\"><title>Go</title></list>")
            .await
            .0,
        404
    );
    assert_eq!(
        books("<list xmlns=\"urn:other\"><title>Programming Rust</title></list>")
            .await
            .0,
        404
    );
}

#[test]
fn bad_schemas_xml_and_xpath_are_load_errors_naming_their_path() {
    let folder = folder_with(serde_json::json!({ "mappings": [
        { "request": { "bodyPatterns": [ { "matchesJsonSchema": { "type": "no-such-type" } } ] } },
        { "request": { "bodyPatterns": [ { "equalToXml": "<a><b></a>" } ] } },
        { "request": { "bodyPatterns": [ { "matchesXPath": "//a[" } ] } },
        { "request": { "bodyPatterns": [ { "binaryEqualTo": "not base64!" } ] } },
        { "request": { "bodyPatterns": [ { "matchesJsonSchema": { "$ref": "http://schemas.example/x.json" } } ] } }
    ] }));
    let error = MockDefinition::load(folder.path()).expect_err("refused");
    let message = without_folder(&error.to_string(), folder.path());
    for expected in [
        "mappings/proxy.json: $.mappings[0].request.bodyPatterns[0].matchesJsonSchema: not a usable JSON Schema:",
        "mappings/proxy.json: $.mappings[1].request.bodyPatterns[0].equalToXml: not well-formed XML:",
        "mappings/proxy.json: $.mappings[2].request.bodyPatterns[0].matchesXPath: invalid XPath 1.0 expression \"//a[\"",
        "mappings/proxy.json: $.mappings[3].request.bodyPatterns[0].binaryEqualTo: invalid base64:",
        "mappings/proxy.json: $.mappings[4].request.bodyPatterns[0].matchesJsonSchema: not a usable JSON Schema:",
    ] {
        assert!(message.contains(expected), "missing {expected:?} in:\n{message}");
    }
}

#[tokio::test]
async fn multipart_patterns_match_a_part_or_every_part_by_headers_and_body() {
    let folder = folder_with(serde_json::json!({ "mappings": [
        { "name": "upload",
          "request": { "method": "POST", "urlPath": "/upload",
            "multipartPatterns": [
              { "matchingType": "ANY",
                "headers": { "Content-Disposition": { "contains": "name=\"meta\"" } },
                "bodyPatterns": [ { "matchesJsonPath": "$.title" } ] },
              { "headers": { "Content-Disposition": { "contains": "filename=\"notes.txt\"" } },
                "bodyPatterns": [ { "contains": "remember" } ] }
            ] },
          "response": { "status": 201, "body": "uploaded" } },
        { "name": "all-text",
          "request": { "method": "POST", "urlPath": "/texts",
            "multipartPatterns": [ { "matchingType": "ALL",
              "headers": { "Content-Type": { "equalTo": "text/plain" } } } ] },
          "response": { "status": 200, "body": "all text" } }
    ] }));
    let served = Served::start_loaded(MockDefinition::load(folder.path()).expect("loads")).await;
    let multipart = |path: &str, form: reqwest::multipart::Form| {
        served.client.post(served.url(path)).multipart(form).send()
    };
    let meta = || {
        reqwest::multipart::Part::text(r#"{"title": "trip"}"#)
            .mime_str("application/json")
            .unwrap()
    };
    let notes = |text: &'static str| {
        reqwest::multipart::Part::text(text)
            .file_name("notes.txt")
            .mime_str("text/plain")
            .unwrap()
    };
    let form = reqwest::multipart::Form::new()
        .part("meta", meta())
        .part("file", notes("remember the tickets"));
    let response = multipart("/upload", form).await.unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.text().await.unwrap(), "uploaded");
    // The file part does not say "remember": the second pattern is not met by any part.
    let form = reqwest::multipart::Form::new()
        .part("meta", meta())
        .part("file", notes("nothing to see"));
    let response = multipart("/upload", form).await.unwrap();
    assert_eq!(response.status(), 404);
    let near_miss = response.text().await.unwrap();
    assert!(
        near_miss.contains("multipartPatterns: expected a part with Content-Disposition contains \"filename=\\\"notes.txt\\\"\" and a body that is contains \"remember\", got 2 parts, none as expected"),
        "{near_miss}"
    );
    // Not multipart at all.
    let (status, near_miss) = send_body(&served, reqwest::Method::POST, "/upload", "plain").await;
    assert_eq!(status, 404);
    assert!(
        near_miss.contains("got a body that is not multipart"),
        "{near_miss}"
    );
    // ALL: every part must be text/plain.
    let texts = || {
        reqwest::multipart::Form::new()
            .part("a", notes("one"))
            .part("b", notes("two"))
    };
    assert_eq!(multipart("/texts", texts()).await.unwrap().status(), 200);
    let mixed = texts().part("c", meta());
    assert_eq!(multipart("/texts", mixed).await.unwrap().status(), 404);
}

#[tokio::test]
async fn jayway_filter_operators_in_matches_json_path_answer_over_http() {
    let folder = folder_with(serde_json::json!({
        "name": "sale-basket",
        "request": { "method": "POST", "urlPath": "/basket", "bodyPatterns": [
            { "matchesJsonPath": "$.items[?(@.tags contains 'sale' && @.sku in ['A1', 'B2'])]" },
            { "matchesJsonPath": { "expression": "$.items[?(@.tags noneof ['recalled'])].sku",
                                   "hasExactly": [ { "equalTo": "A1" }, { "equalTo": "C3" } ] } }
        ] },
        "response": { "status": 200, "body": "discount" }
    }));
    let served = Served::start_loaded(MockDefinition::load(folder.path()).expect("loads")).await;
    let basket = |body: &'static str| send_body(&served, reqwest::Method::POST, "/basket", body);
    assert_eq!(
        basket(r#"{"items": [{"sku": "A1", "tags": ["sale"]}, {"sku": "B2", "tags": ["recalled"]}, {"sku": "C3", "tags": []}]}"#).await,
        (200, "discount".into())
    );
    // Nothing on sale among A1 and B2.
    assert_eq!(
        basket(r#"{"items": [{"sku": "A1", "tags": []}, {"sku": "C3", "tags": ["sale"]}]}"#)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn a_chunked_dribble_delay_sends_the_body_in_that_many_pieces() {
    let folder = folder_with(serde_json::json!({
        "request": { "urlPath": "/slow" },
        "response": { "body": "abcdefgh", "chunkedDribbleDelay": { "numberOfChunks": 3, "totalDuration": 900 } }
    }));
    let served = Served::start_loaded(MockDefinition::load(folder.path()).expect("loads")).await;
    let mut response = served.client.get(served.url("/slow")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    // The pieces come a third of the duration apart, so each arrives on its own.
    let mut pieces = Vec::new();
    while let Some(piece) = response.chunk().await.unwrap() {
        pieces.push(String::from_utf8(piece.to_vec()).unwrap());
    }
    assert_eq!(pieces, ["abc", "def", "gh"]);
}

/// The requests `server` received, once there are `count` (waiting up to 10 s for them).
async fn wait_for_requests(server: &wiremock::MockServer, count: usize) -> Vec<wiremock::Request> {
    for _ in 0..200 {
        let received = server.received_requests().await.expect("recorded");
        if received.len() >= count {
            return received;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("fewer than {count} requests reached the webhook's target");
}

#[tokio::test]
async fn webhooks_are_sent_after_answering_with_templates_of_the_original_request() {
    use wiremock::matchers::any;
    let target = wiremock::MockServer::start().await;
    wiremock::Mock::given(any())
        .respond_with(wiremock::ResponseTemplate::new(202))
        .mount(&target)
        .await;
    let folder = folder_with(serde_json::json!({ "mappings": [
        { "name": "order",
          "request": { "method": "POST", "urlPath": "/orders" },
          "response": { "status": 201, "body": "accepted" },
          "serveEventListeners": [ { "name": "webhook", "parameters": {
              "method": "POST",
              "url": format!("{}/callbacks/{{{{jsonPath originalRequest.body '$.id'}}}}", target.uri()),
              "headers": { "Content-Type": "application/json", "X-Trace": "{{originalRequest.headers.X-Trace}}" },
              "body": "{\"order\": \"{{jsonPath originalRequest.body '$.id'}}\", \"status\": \"shipped\"}",
              "delay": { "type": "fixed", "milliseconds": 20 }
          } } ] },
        { "name": "legacy",
          "request": { "method": "DELETE", "urlPathPattern": "/orders/.*" },
          "response": { "status": 204 },
          "postServeActions": { "webhook": {
              "method": "DELETE",
              "url": format!("{}/mirror{{{{originalRequest.path}}}}", target.uri())
          } } }
    ] }));
    let served = Served::start_loaded(MockDefinition::load(folder.path()).expect("loads")).await;
    let response = served
        .client
        .post(served.url("/orders"))
        .header("X-Trace", "trace-9")
        .body(r#"{"id": "A-42"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let received = wait_for_requests(&target, 1).await;
    let callback = &received[0];
    assert_eq!(callback.method.as_str(), "POST");
    assert_eq!(callback.url.path(), "/callbacks/A-42");
    assert_eq!(callback.headers.get("x-trace").unwrap(), "trace-9");
    assert_eq!(
        callback.headers.get("content-type").unwrap(),
        "application/json"
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&callback.body).unwrap(),
        serde_json::json!({"order": "A-42", "status": "shipped"})
    );
    let response = served
        .client
        .delete(served.url("/orders/A-42"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let received = wait_for_requests(&target, 2).await;
    assert_eq!(received[1].method.as_str(), "DELETE");
    assert_eq!(received[1].url.path(), "/mirror/orders/A-42");
}

#[test]
fn a_webhook_to_another_machine_is_refused_when_loading() {
    let folder = folder_with(serde_json::json!({
        "request": { "urlPath": "/x" },
        "serveEventListeners": [
            { "name": "webhook", "parameters": { "url": "http://hooks.example.com/notify" } },
            { "name": "slack-notifier", "parameters": {} }
        ]
    }));
    let error = MockDefinition::load(folder.path()).expect_err("refused");
    let message = without_folder(&error.to_string(), folder.path());
    assert!(
        message.contains(
            "mappings/proxy.json: $.serveEventListeners[0].parameters.url: calls hooks.example.com, \
             which is not this machine: what a snippet triggers never leaves it."
        ) && message.contains("$.serveEventListeners[1].name: not supported yet"),
        "both are reported: {message}"
    );
    let allowed = LoadOptions {
        remote_upstreams: true,
        ..LoadOptions::default()
    };
    let error = MockDefinition::load_with(folder.path(), allowed).expect_err("refused");
    let message = without_folder(&error.to_string(), folder.path());
    assert_eq!(
        message,
        "mappings/proxy.json: $.serveEventListeners[1].name: not supported yet (the WireMock \
         extension listener \"slack-notifier\"; sidebyside has only \"webhook\")"
    );
}

#[tokio::test]
async fn record_proxies_to_an_https_upstream_trusting_the_system_roots() {
    // The upstream: the mock itself over HTTPS on loopback, with a certificate authority that
    // the recorder is told to trust through SSL_CERT_FILE, as any system root.
    let authority = CertificateAuthority::generate(&[]).expect("certificates");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    let definition = MockDefinition::load(&common::fixture("mocks/wiremock")).expect("loads");
    let listeners = MockListeners {
        http: Vec::new(),
        https: vec![listener],
        either: Vec::new(),
    };
    let upstream = RunningMock::start(&definition, &authority, listeners)
        .await
        .expect("upstream starts");
    let trust = tempfile::tempdir().expect("temporary folder");
    let ca = trust.path().join("ca.pem");
    std::fs::write(&ca, authority.certificate_pem()).unwrap();
    let out = tempfile::tempdir().expect("temporary folder");
    let recording = Recording::start_with(
        &format!("https://localhost:{port}"),
        out.path(),
        &[("SSL_CERT_FILE", &ca)],
    );
    let response = reqwest::get(format!("http://127.0.0.1:{}/text", recording.port))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.text().await.unwrap(),
        "a // is kept inside a string /* and this */"
    );
    let (code, printed) = recording.stop();
    assert_eq!(code, Some(0), "{printed}");
    assert!(printed.contains("recorded 1 mappings in"), "{printed}");
    assert_eq!(upstream.journal().len(), 1);
    assert!(out.path().join("mappings/get-text.json").is_file());
}

#[test]
fn verify_refuses_mappings_that_would_send_a_snippets_traffic_off_this_machine() {
    let folder = folder_with(serde_json::json!({ "mappings": [
        { "request": { "urlPath": "/a" }, "response": { "proxyBaseUrl": "https://api.example.com" } },
        { "request": { "urlPath": "/b" },
          "serveEventListeners": [ { "name": "webhook", "parameters": { "url": "http://10.1.2.3/hook" } } ] }
    ] }));
    let snippets = common::fixture("snippets/multi-host");
    let output = common::sidebyside()
        .args(["verify", "--mock", folder.path().to_str().unwrap()])
        .arg(&snippets)
        .stdin(Stdio::null())
        .output()
        .expect("run sidebyside verify");
    let stderr = without_folder(&String::from_utf8_lossy(&output.stderr), folder.path());
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("2 problems in the mappings")
            && stderr.contains(
                "mappings/proxy.json: $.mappings[0].response.proxyBaseUrl: proxies to api.example.com, which is not this machine"
            )
            && stderr.contains(
                "mappings/proxy.json: $.mappings[1].serveEventListeners[0].parameters.url: calls 10.1.2.3, which is not this machine"
            ),
        "{stderr}"
    );
}

/// `sidebyside record --upstream URL --out DIR PAGE`: the page's blocks run once against a
/// loopback upstream standing in for the hosts they call (the client's `Host` kept), a mapping
/// is written per distinct request with the upstream's credentials scrubbed, and the page then
/// verifies against the recorded folder alone, with the same results.
#[tokio::test]
async fn record_runs_a_pages_blocks_against_a_loopback_upstream_and_the_page_verifies_against_the_recording(
) {
    use wiremock::matchers::{header, method, path};
    let upstream = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("GET"))
        .and(path("/orders/42"))
        .and(header("host", "orders.example.test"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .insert_header("set-cookie", "session=secret")
                .set_body_raw(r#"{"id":42,"items":3}"#, "application/json"),
        )
        .mount(&upstream)
        .await;
    let out = tempfile::tempdir().expect("temporary folder");
    let page = common::fixture("record/orders.md");
    let (uri, folder, document) = (upstream.uri(), out.path().to_path_buf(), page.clone());
    let recorded = tokio::task::spawn_blocking(move || {
        common::sidebyside()
            .args(["record", "--upstream", &uri, "--out"])
            .arg(&folder)
            .arg(&document)
            .output()
            .expect("sidebyside record runs")
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&recorded.stderr);
    assert_eq!(recorded.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("recorded 1 mappings in"), "{stderr}");
    // Both blocks made the same request: one mapping, without the upstream's cookie.
    let files: Vec<_> = std::fs::read_dir(out.path().join("mappings"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let mapping: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    assert_eq!(mapping["request"]["url"], "/orders/42");
    assert_eq!(mapping["response"]["status"], 200);
    assert!(
        mapping["response"]["headers"].get("set-cookie").is_none(),
        "{mapping:#}"
    );
    // The page verifies against the recording alone, and both blocks read the order.
    let (folder, document) = (out.path().to_path_buf(), page.clone());
    let verified = tokio::task::spawn_blocking(move || {
        common::sidebyside()
            .args(["verify", "--format", "json", "--mock"])
            .arg(&folder)
            .arg(&document)
            .output()
            .expect("sidebyside verify runs")
    })
    .await
    .unwrap();
    let document: serde_json::Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(verified.status.code(), Some(0), "{document:#}");
    assert_eq!(
        document["runs"].as_array().unwrap().len(),
        2,
        "{document:#}"
    );
    for run in document["runs"].as_array().unwrap() {
        assert_eq!(run["status"], "passed", "{run:#}");
        assert_eq!(run["result"], serde_json::json!({"id": 42, "items": 3}));
    }
}

/// Recording a page never lets its snippets' traffic leave the machine: an upstream off
/// loopback is refused before anything runs.
#[test]
fn record_refuses_an_upstream_off_loopback_for_a_pages_blocks() {
    let out = tempfile::tempdir().expect("temporary folder");
    let output = common::sidebyside()
        .args(["record", "--upstream", "https://api.example.com", "--out"])
        .arg(out.path())
        .arg(common::fixture("record/orders.md"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("which is not this machine"), "{stderr}");
}
