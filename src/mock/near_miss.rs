//! The "near miss": for a request no mapping matched, the closest mapping (by number of
//! criteria met) and, for each criterion it did not meet, what was expected and what came.

use super::mapping::Mapping;
use super::matching::{Criterion, RequestPattern, RequestView, UrlMatcher};
use super::reader::{describe, JsonPath};
use super::scenario;
use serde_json::Value;
use std::collections::HashMap;

impl Criterion<'_> {
    /// `field: expected ..., got ...` for an unmet criterion of `pattern`.
    fn difference(&self, pattern: &RequestPattern, view: &RequestView) -> String {
        let named = |field: &str, name: &str| {
            let field = JsonPath::root().key(field).key(name).to_string();
            field.trim_start_matches("$.").to_string()
        };
        match self {
            Criterion::Method(method) => format!("method: expected {method}, got {}", view.method),
            Criterion::Scheme(scheme) => format!(
                "scheme: expected {}, got {}",
                scheme.as_str(),
                view.scheme.as_str()
            ),
            Criterion::Host(host) => format!("host: expected {host:?}, got {:?}", view.host),
            Criterion::Url(UrlMatcher::Url(url)) => {
                format!("url: expected {url:?}, got {:?}", view.path_and_query)
            }
            Criterion::Url(UrlMatcher::UrlPath(path)) => {
                format!("urlPath: expected {path:?}, got {:?}", view.path)
            }
            Criterion::Url(UrlMatcher::UrlPattern(pattern)) => format!(
                "urlPattern: expected a match for {:?}, got {:?}",
                pattern.source, view.path_and_query
            ),
            Criterion::Url(UrlMatcher::UrlPathPattern(pattern)) => format!(
                "urlPathPattern: expected a match for {:?}, got {:?}",
                pattern.source, view.path
            ),
            Criterion::Url(UrlMatcher::UrlPathTemplate(template)) => format!(
                "urlPathTemplate: expected a match for {:?}, got {:?}",
                template.source, view.path
            ),
            Criterion::PathParameter(name, value) => format!(
                "{}: expected {}, got {}",
                named("pathParameters", name),
                value.describe(),
                describe_values(&pattern.path_parameter_values(view, name), "no such parameter")
            ),
            Criterion::Cookie(name, value) => format!(
                "{}: expected {}, got {}",
                named("cookies", name),
                value.describe(),
                describe_values(&view.cookie_values(name), "no such cookie")
            ),
            Criterion::Form(name, value) => format!(
                "{}: expected {}, got {}",
                named("formParameters", name),
                value.describe(),
                describe_values(&view.form_values(name), "no such form parameter")
            ),
            Criterion::BasicAuth(user, _) => match view.basic_credentials() {
                Some((given, _)) if given == *user => format!(
                    "basicAuthCredentials: expected user {user:?} with the mapping's password, got another password"
                ),
                Some((given, _)) => format!(
                    "basicAuthCredentials: expected user {user:?}, got user {given:?}"
                ),
                None => format!(
                    "basicAuthCredentials: expected user {user:?}, got no Basic Authorization header"
                ),
            },
            Criterion::Header(name, value) => format!(
                "{}: expected {}, got {}",
                named("headers", name),
                value.describe(),
                describe_values(&view.header_values(name), "no such header")
            ),
            Criterion::Query(name, value) => format!(
                "{}: expected {}, got {}",
                named("queryParameters", name),
                value.describe(),
                describe_values(&view.query_values(name), "no such parameter")
            ),
            Criterion::Body(body) => body.difference(view),
            Criterion::Multipart(pattern) => pattern.difference(view),
        }
    }
}

fn describe_values(values: &[String], none: &str) -> String {
    if values.is_empty() {
        return none.to_string();
    }
    let quoted: Vec<String> = values
        .iter()
        .map(|value| describe(&Value::String(value.clone())))
        .collect();
    quoted.join(", ")
}

/// The text answered (and recorded) for a request no mapping matched: the closest mapping, by
/// number of criteria met, and each criterion it did not meet.
pub(super) fn near_miss(
    mappings: &[Mapping],
    view: &RequestView,
    scenario_states: &HashMap<String, String>,
) -> String {
    let mut text = format!("No mapping matched {} {}\n", view.method, view.url());
    let mut best: Option<(&Mapping, usize, Vec<String>)> = None;
    for mapping in mappings {
        let (met, unmet): (Vec<_>, Vec<_>) = mapping
            .request()
            .criteria()
            .partition(|criterion| mapping.request().is_met(criterion, view));
        // A scenario in another state than the mapping requires is one more criterion.
        let scenario_miss = mapping.scenario().and_then(|step| {
            let required = step.required.as_ref()?;
            (!step.holds(scenario_states)).then(|| {
                format!(
                    "scenario {:?}: expected state {required:?}, currently {:?}",
                    step.name,
                    scenario::current(scenario_states, &step.name)
                )
            })
        });
        let scenario_met = mapping
            .scenario()
            .is_some_and(|step| step.required.is_some() && scenario_miss.is_none());
        let met = met.len() + usize::from(scenario_met);
        let missed = unmet.len() + usize::from(scenario_miss.is_some());
        let better = match &best {
            None => true,
            Some((_, best_met, best_unmet)) => {
                met > *best_met || (met == *best_met && missed < best_unmet.len())
            }
        };
        if better {
            // Described only for a new best: most mappings are passed over.
            let differences = unmet
                .iter()
                .map(|criterion| criterion.difference(mapping.request(), view))
                .chain(scenario_miss)
                .collect();
            best = Some((mapping, met, differences));
        }
    }
    match best {
        None => text.push_str("No mappings are defined.\n"),
        Some((mapping, met, differences)) => {
            let total = met + differences.len();
            text.push_str(&format!(
                "Closest mapping: {}, {met} of {total} criteria matched\n",
                mapping.description()
            ));
            for difference in differences {
                text.push_str(&format!("  {difference}\n"));
            }
        }
    }
    text
}
