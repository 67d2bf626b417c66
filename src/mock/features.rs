//! The catalog of WireMock's mapping fields that sidebyside does not serve (everywhere, or at
//! the place they were found), so that loading names the WireMock feature a field belongs to and
//! what to do instead, and never calls a real WireMock field an "unknown field" as if it were a
//! typo. Consulted only for fields the place being read does not accept.

/// A WireMock feature, as a refusal names it.
pub(super) struct Feature {
    /// What it is in WireMock's terms, e.g. "WireMock's proxying (`proxyBaseUrl`)".
    pub(super) what: &'static str,
    /// What a user can do about it.
    pub(super) advice: &'static str,
}

const REWRITE: &str = "remove it, or rewrite the mapping without it";
const ELSEWHERE: &str =
    "sidebyside supports it where WireMock has it (see docs/mock.md); move it there";
const MATCHER: &str = "sidebyside matches here with the matchers listed in docs/mock.md";

/// The WireMock feature `field` belongs to, if it is a WireMock field.
pub(super) fn wiremock_feature(field: &str) -> Option<Feature> {
    let (what, advice) = match field {
        "proxyBaseUrl" | "proxyUrlPrefixToRemove" | "additionalProxyRequestHeaders"
        | "removeProxyRequestHeaders" => (
            "WireMock's proxying (a field of response)",
            ELSEWHERE,
        ),
        "fromConfiguredStub" => ("WireMock's proxy fall-through to another stub", REWRITE),
        "transformerParameters" => (
            "WireMock's parameters for response transformers",
            "sidebyside's response templating takes no parameters; remove it",
        ),
        "requestPhases" => (
            "WireMock's request phases of a serve event listener",
            "remove it: a webhook is sent once the mapping has answered",
        ),
        "port" => (
            "WireMock's port matcher",
            "sidebyside serves one port per scheme; match on host and scheme instead",
        ),
        "pathParameters" => (
            "WireMock's path parameters of urlPathTemplate",
            "use urlPathPattern with a regex for the parameter",
        ),
        "customMatcher" => ("WireMock's custom matcher extension", REWRITE),
        "matchesJsonSchema" | "schemaVersion" => (
            "WireMock's JSON Schema matcher (sidebyside has it in bodyPatterns only)",
            MATCHER,
        ),
        "equalToXml" | "matchesXPath" | "namespaces" | "xPathNamespaces"
        | "enablePlaceholders" => (
            "WireMock's XML matchers (sidebyside has them in bodyPatterns only)",
            MATCHER,
        ),
        "placeholderOpeningDelimiterRegex" | "placeholderClosingDelimiterRegex" => (
            "WireMock's custom placeholder delimiters of equalToXml",
            "write placeholders as ${xmlunit.ignore}, the default delimiters",
        ),
        "exemptedComparisons" => (
            "WireMock's exempted XMLUnit comparisons of equalToXml",
            "remove it; equalToXml already ignores prefixes, attribute order, comments and whitespace",
        ),
        "binaryEqualTo" => (
            "WireMock's binary body matcher (sidebyside has it in bodyPatterns only)",
            MATCHER,
        ),
        "valuePattern" | "expressionType" => ("a field of WireMock's XPath matcher", REWRITE),
        // Supported where WireMock has them: found here, they are misplaced.
        "doesNotContain" | "doesNotMatch" | "before" | "after" | "equalToDateTime"
        | "actualFormat" | "expectedOffset" | "expectedOffsetUnit" | "and" | "or" | "not"
        | "equalToJson" | "ignoreArrayOrder" | "ignoreExtraElements" | "hasExactly"
        | "includes" => {
            ("a WireMock matcher field that does not belong at this place", ELSEWHERE)
        }
        "truncateExpected" | "truncateActual" => (
            "WireMock's date truncation",
            "compare with before/after and an offset instead",
        ),
        "matchesJsonPath" | "expression" => (
            "WireMock's JSONPath matcher (sidebyside has it in bodyPatterns only)",
            MATCHER,
        ),
        "basicAuth" => (
            "WireMock's basic authentication matcher (in JSON: basicAuthCredentials)",
            "write it as \"basicAuthCredentials\": {\"username\": ..., \"password\": ...} in request",
        ),
        "basicAuthCredentials" | "cookies" | "formParameters" | "urlPathTemplate"
        | "statusMessage" | "scenarioName" | "requiredScenarioState" | "newScenarioState"
        | "transformers" => ("a WireMock field that does not belong at this place", ELSEWHERE),
        "webhook" | "webhooks" => (
            "WireMock's webhooks (a field of the mapping: serveEventListeners)",
            ELSEWHERE,
        ),
        _ => return None,
    };
    Some(Feature { what, advice })
}
