//! WireMock's XML body matchers: `equalToXml` (the same document, compared as XML rather than
//! as text) and `matchesXPath` (an XPath 1.0 expression that must find something, optionally
//! with a matcher for what it finds, and `xPathNamespaces` for the prefixes it uses).
//!
//! `equalToXml` compares as WireMock's XMLUnit setup does by default: elements by namespace and
//! local name (prefixes may differ), attributes as a set (their order and the `xmlns`
//! declarations do not count), text with the whitespace around it trimmed, and comments,
//! processing instructions and whitespace-only text ignored; CDATA is text. With
//! `enablePlaceholders`, an expected text or attribute value of `${xmlunit.ignore}` accepts
//! anything. Documents are parsed with `roxmltree` (no DTD, no external entities: nothing is
//! fetched); XPath is evaluated with `sxd-xpath` over `sxd-document`.

use super::reader::{FileContext, JsonPath};
use super::MockError;
use std::collections::BTreeMap;

/// The expected document of `equalToXml`, reduced to what the comparison looks at.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct XmlTree {
    root: Element,
    placeholders: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct Element {
    namespace: String,
    name: String,
    attributes: BTreeMap<(String, String), String>,
    children: Vec<Child>,
}

#[derive(Debug, Clone, PartialEq)]
enum Child {
    Element(Element),
    Text(String),
}

const IGNORE: &str = "${xmlunit.ignore}";

fn reduce(node: roxmltree::Node) -> Element {
    let attributes = node
        .attributes()
        .map(|attribute| {
            (
                (
                    attribute.namespace().unwrap_or_default().to_string(),
                    attribute.name().to_string(),
                ),
                attribute.value().to_string(),
            )
        })
        .collect();
    let mut children = Vec::new();
    for child in node.children() {
        if child.is_element() {
            children.push(Child::Element(reduce(child)));
        } else if child.is_text() {
            let text = child.text().unwrap_or_default().trim();
            if text.is_empty() {
                continue;
            }
            // Text split by an ignored comment is one text.
            if let Some(Child::Text(previous)) = children.last_mut() {
                previous.push_str(text);
            } else {
                children.push(Child::Text(text.to_string()));
            }
        }
    }
    Element {
        namespace: node.tag_name().namespace().unwrap_or_default().to_string(),
        name: node.tag_name().name().to_string(),
        attributes,
        children,
    }
}

fn parse_tree(text: &str) -> Result<Element, String> {
    let document = roxmltree::Document::parse(text).map_err(|error| error.to_string())?;
    Ok(reduce(document.root_element()))
}

impl XmlTree {
    pub(super) fn parse(
        text: &str,
        placeholders: bool,
        context: FileContext,
        path: &JsonPath,
    ) -> Result<Self, MockError> {
        let root = parse_tree(text)
            .map_err(|error| context.invalid(path, format!("not well-formed XML: {error}")))?;
        Ok(XmlTree { root, placeholders })
    }

    /// Whether `actual` is the same document.
    pub(super) fn matches(&self, actual: &str) -> bool {
        parse_tree(actual).is_ok_and(|actual| self.same(&self.root, &actual))
    }

    fn same_text(&self, expected: &str, actual: &str) -> bool {
        (self.placeholders && expected == IGNORE) || expected == actual
    }

    fn same(&self, expected: &Element, actual: &Element) -> bool {
        expected.namespace == actual.namespace
            && expected.name == actual.name
            && expected.attributes.len() == actual.attributes.len()
            && expected.attributes.iter().all(|(key, value)| {
                actual
                    .attributes
                    .get(key)
                    .is_some_and(|found| self.same_text(value, found))
            })
            && expected.children.len() == actual.children.len()
            && expected
                .children
                .iter()
                .zip(&actual.children)
                .all(|pair| match pair {
                    (Child::Element(expected), Child::Element(actual)) => {
                        self.same(expected, actual)
                    }
                    (Child::Text(expected), Child::Text(actual)) => {
                        self.same_text(expected, actual)
                    }
                    _ => false,
                })
    }
}

/// A compiled XPath expression with its namespace prefixes.
#[derive(Debug, Clone)]
pub(super) struct XPathExpression {
    source: String,
    namespaces: Vec<(String, String)>,
}

/// What an expression gave: the texts of the nodes found (their string values), or the
/// value of an expression that gives no nodes (`count(//item)`, `//a = 'b'`).
pub(super) enum XPathResult {
    Nodes(Vec<String>),
    Boolean(bool),
    Text(String),
}

impl XPathExpression {
    pub(super) fn compile(
        source: &str,
        namespaces: Vec<(String, String)>,
        context: FileContext,
        path: &JsonPath,
    ) -> Result<Self, MockError> {
        let factory = sxd_xpath::Factory::new();
        match factory.build(source) {
            Ok(Some(_)) => Ok(XPathExpression {
                source: source.to_string(),
                namespaces,
            }),
            Ok(None) => Err(context.invalid(path, "an empty XPath expression")),
            Err(error) => Err(context.invalid(
                path,
                format!("invalid XPath 1.0 expression {source:?}: {error}"),
            )),
        }
    }

    pub(super) fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates it on a body; `None` when the body is not XML or evaluating fails (an
    /// undeclared prefix, say).
    pub(super) fn evaluate(&self, body: &str) -> Option<XPathResult> {
        let package = sxd_document::parser::parse(body).ok()?;
        let document = package.as_document();
        let xpath = sxd_xpath::Factory::new().build(&self.source).ok()??;
        let mut context = sxd_xpath::Context::new();
        for (prefix, uri) in &self.namespaces {
            context.set_namespace(prefix, uri);
        }
        Some(match xpath.evaluate(&context, document.root()).ok()? {
            sxd_xpath::Value::Nodeset(nodes) => XPathResult::Nodes(
                nodes
                    .document_order()
                    .into_iter()
                    .map(|node| node.string_value())
                    .collect(),
            ),
            sxd_xpath::Value::Boolean(value) => XPathResult::Boolean(value),
            sxd_xpath::Value::Number(value) => XPathResult::Text(number_text(value)),
            sxd_xpath::Value::String(text) => XPathResult::Text(text),
        })
    }
}

/// XPath's number as text: `2`, not `2.0`.
fn number_text(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str, placeholders: bool) -> XmlTree {
        XmlTree {
            root: parse_tree(text).unwrap(),
            placeholders,
        }
    }

    #[test]
    fn xml_equality_ignores_layout_prefixes_and_attribute_order() {
        let expected = tree(
            r#"<a:order xmlns:a="urn:shop" id="7" kind="x"><a:item>tea</a:item></a:order>"#,
            false,
        );
        assert!(expected.matches(
            "<order xmlns=\"urn:shop\" kind=\"x\" id=\"7\">\n  <!-- note -->\n  <item> tea </item>\n</order>"
        ));
        assert!(!expected
            .matches(r#"<order xmlns="urn:other" kind="x" id="7"><item>tea</item></order>"#));
        assert!(!expected
            .matches(r#"<order xmlns="urn:shop" kind="x" id="8"><item>tea</item></order>"#));
        assert!(!expected
            .matches(r#"<order xmlns="urn:shop" kind="x" id="7"><item>tea</item><item/></order>"#));
        assert!(!expected.matches("not xml"));
        let ignoring = tree("<a id=\"${xmlunit.ignore}\">${xmlunit.ignore}</a>", true);
        assert!(ignoring.matches("<a id=\"42\">anything</a>"));
        assert!(!tree("<a id=\"${xmlunit.ignore}\"/>", false).matches("<a id=\"42\"/>"));
    }
}
