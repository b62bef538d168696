//! The catalog search and traversal of ERP5's hateoas API
//! (wendelin-protocol.md §8): `mode=search` with a jIO query such as
//! `portal_type:"Data Stream" AND reference:"p1"`, `mode=traverse`, and the
//! root document with its templated links.
//!
//! The query language kept here is the part clients use: `key:"value"` or
//! `key:value` terms, `AND` (binding tighter) and `OR`, parentheses, `%`
//! wildcards. A query compiles to an SQL condition with bound values; no
//! client text ever becomes SQL.

use std::sync::Arc;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::app::{App, Call};
use crate::documents::properties;
use crate::error::{Result, ServerError};
use crate::form;
use crate::model::Module;
use crate::storage::blocking;

/// Results when no `limit` is given.
const DEFAULT_LIMIT: u64 = 1000;

/// Deepest parenthesis nesting accepted.
const MAX_NESTING: usize = 32;

/// Keys a query may test, with the SQL each stands for.
const KEYS: &[(&str, &str)] = &[
    ("id", "id"),
    ("relative_url", "(module || '/' || id)"),
    ("portal_type", "portal_type"),
    ("reference", "reference"),
    ("title", "title"),
    ("content_type", "content_type"),
    ("parent_relative_url", "module"),
];

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Term(String, String),
}

/// Reads a quoted value after its opening quote; returns it and the rest.
fn quoted(text: &str) -> Result<(String, &str), String> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &text[index + 1..])),
            '\\' => match chars.next() {
                Some((_, escaped)) => value.push(escaped),
                None => break,
            },
            other => value.push(other),
        }
    }
    Err("a quoted value is not closed".to_owned())
}

fn is_word_end(c: char) -> bool {
    c.is_whitespace() || c == '(' || c == ')'
}

/// Splits a query into tokens.
fn tokens(query: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut rest = query.trim_start();
    while let Some(c) = rest.chars().next() {
        if c == '(' || c == ')' {
            tokens.push(if c == '(' { Token::Open } else { Token::Close });
            rest = rest[1..].trim_start();
            continue;
        }
        let end = rest
            .find(|c: char| is_word_end(c) || c == ':')
            .unwrap_or(rest.len());
        let word = &rest[..end];
        rest = &rest[end..];
        if let Some(after) = rest.strip_prefix(':') {
            let after = after.trim_start();
            let (value, next) = match after.strip_prefix('"') {
                Some(inside) => quoted(inside)?,
                None => {
                    let end = after.find(is_word_end).unwrap_or(after.len());
                    (after[..end].to_owned(), &after[end..])
                }
            };
            tokens.push(Token::Term(word.to_owned(), value));
            rest = next;
        } else if word.eq_ignore_ascii_case("and") {
            tokens.push(Token::And);
        } else if word.eq_ignore_ascii_case("or") {
            tokens.push(Token::Or);
        } else if word.is_empty() {
            return Err(format!(
                "unexpected {:?}",
                rest.chars().next().unwrap_or(' ')
            ));
        } else {
            return Err(format!(
                "{word:?} is not key:value, AND, OR or a parenthesis"
            ));
        }
        rest = rest.trim_start();
    }
    Ok(tokens)
}

/// Recursive-descent compiler from tokens to an SQL condition.
struct Compiler {
    tokens: Vec<Token>,
    position: usize,
    values: Vec<String>,
}

impl Compiler {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn or_expression(&mut self, depth: usize) -> Result<String, String> {
        let mut parts = vec![self.and_expression(depth)?];
        while self.peek() == Some(&Token::Or) {
            self.position += 1;
            parts.push(self.and_expression(depth)?);
        }
        Ok(format!("({})", parts.join(" OR ")))
    }

    fn and_expression(&mut self, depth: usize) -> Result<String, String> {
        let mut parts = vec![self.primary(depth)?];
        loop {
            match self.peek() {
                Some(Token::And) => self.position += 1,
                // juxtaposed terms mean AND, as in jIO
                Some(Token::Term(..) | Token::Open) => {}
                _ => break,
            }
            parts.push(self.primary(depth)?);
        }
        Ok(format!("({})", parts.join(" AND ")))
    }

    fn primary(&mut self, depth: usize) -> Result<String, String> {
        let token = self.peek().cloned();
        self.position += 1;
        match token {
            Some(Token::Open) if depth < MAX_NESTING => {
                let inner = self.or_expression(depth + 1)?;
                if self.peek() != Some(&Token::Close) {
                    return Err("a parenthesis is not closed".to_owned());
                }
                self.position += 1;
                Ok(inner)
            }
            Some(Token::Open) => Err(format!("parentheses nest deeper than {MAX_NESTING}")),
            Some(Token::Term(key, value)) => self.term(&key, value),
            Some(other) => Err(format!("unexpected {other:?}")),
            None => Err("the query ends too early".to_owned()),
        }
    }

    fn term(&mut self, key: &str, value: String) -> Result<String, String> {
        let Some((_, column)) = KEYS.iter().find(|(name, _)| *name == key) else {
            let known: Vec<&str> = KEYS.iter().map(|(name, _)| *name).collect();
            return Err(format!(
                "key {key:?} is not searchable (keys: {})",
                known.join(", ")
            ));
        };
        let wildcard = value.contains('%');
        self.values.push(value);
        let index = self.values.len();
        Ok(if wildcard {
            format!("{column} LIKE ?{index}")
        } else {
            format!("{column} = ?{index}")
        })
    }
}

/// Compiles a jIO query into an SQL condition and its bound values.
///
/// # Errors
///
/// A reason naming what does not parse or which key is unknown.
pub fn compile(query: &str) -> Result<(String, Vec<String>), String> {
    let tokens = tokens(query)?;
    if tokens.is_empty() {
        return Ok(("1".to_owned(), Vec::new()));
    }
    let mut compiler = Compiler {
        tokens,
        position: 0,
        values: Vec::new(),
    };
    let condition = compiler.or_expression(0)?;
    if let Some(extra) = compiler.peek() {
        return Err(format!("unexpected {extra:?} after the query"));
    }
    Ok((condition, compiler.values))
}

fn hal(value: Value) -> Response {
    let mut response = axum::Json(value).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/hal+json"),
    );
    response
}

/// The `(offset, count)` of `limit=N` or `limit=start&limit=count`.
fn limits(call: &Call) -> Result<(u64, u64)> {
    let values = form::query_values(&call.query, "limit");
    let numbers: Vec<u64> = values
        .iter()
        .map(|text| {
            text.trim().parse().map_err(|_| {
                ServerError::field("limit", text.clone(), "expected a non-negative integer")
            })
        })
        .collect::<Result<_>>()?;
    Ok(match numbers[..] {
        [] => (0, DEFAULT_LIMIT),
        [count] => (0, count),
        [start, count, ..] => (start, count),
    })
}

/// `mode=search`.
async fn search(app: &Arc<App>, call: &Call, self_url: String) -> Result<Response> {
    let query = call.query_value("query").unwrap_or_default();
    let (condition, values) = compile(&query).map_err(|reason| ServerError::BadQuery {
        query: query.chars().take(500).collect(),
        reason,
    })?;
    let select: Vec<String> = form::query_values(&call.query, "select_list");
    let (offset, count) = limits(call)?;
    let limit = count.min(i64::MAX as u64);
    let offset = offset.min(i64::MAX as u64);

    let app = Arc::clone(app);
    let chosen = select.clone();
    let contents = blocking(move || {
        let documents = app
            .store
            .catalog
            .select(&condition, &values, offset, limit)?;
        documents
            .iter()
            .map(|document| {
                let dict = properties(&app, document)?;
                let mut item = serde_json::Map::new();
                item.insert(
                    "_links".into(),
                    json!({"self": {"href": format!("urn:jio:get:{}", document.relative_url())}}),
                );
                for (key, value) in dict.as_object().into_iter().flatten() {
                    if chosen.is_empty() || chosen.contains(key) {
                        item.insert(key.clone(), value.clone());
                    }
                }
                Ok(Value::Object(item))
            })
            .collect::<Result<Vec<_>>>()
    })
    .await?;

    Ok(hal(json!({
        "_embedded": {"contents": contents},
        "_links": {"self": {"href": self_url}},
        "_query": query,
        "_select_list": select,
        "_limit": count,
    })))
}

/// `mode=traverse&relative_url=<module>/<id>`.
async fn traverse(app: &Arc<App>, call: &Call, hateoas_url: &str) -> Result<Response> {
    let relative_url = call.query_value("relative_url").unwrap_or_default();
    if relative_url.is_empty() {
        return Ok(root(hateoas_url));
    }
    let (module_id, id) = relative_url
        .split_once('/')
        .unwrap_or((relative_url.as_str(), ""));
    let module = Module::from_id(module_id).ok_or_else(|| ServerError::UnknownModule {
        module: module_id.chars().take(200).collect(),
    })?;
    let app = Arc::clone(app);
    let id = id.to_owned();
    let dict = blocking(move || {
        let document = app.store.document(module, &id)?;
        properties(&app, &document)
    })
    .await?;
    let mut item = dict.as_object().cloned().unwrap_or_default();
    item.insert(
        "_links".into(),
        json!({"self": {"href": format!("urn:jio:get:{relative_url}")}}),
    );
    Ok(hal(Value::Object(item)))
}

/// The hateoas root with its templated links.
fn root(hateoas_url: &str) -> Response {
    let script = format!("{hateoas_url}/ERP5Document_getHateoas");
    hal(json!({
        "_links": {
            "self": {"href": format!("{hateoas_url}/")},
            "traverse": {"href": format!("{script}?mode=traverse{{&relative_url,view}}"), "templated": true},
            "raw_search": {"href": format!("{script}?mode=search{{&query,select_list*,limit*,group_by*,sort_on*,local_roles*,selection_domain*}}"), "templated": true},
            "me": {"href": "urn:jio:get:person_module/zope"},
        },
        "_actions": {},
        "title": "Wendelin",
    }))
}

/// `ERP5Document_getHateoas` and the site root: dispatch on `mode`.
///
/// # Errors
///
/// A method other than GET (405, as ERP5), a bad query or mode, or a
/// catalog failure.
pub async fn hateoas(app: &Arc<App>, call: &Call, hateoas_url: String) -> Result<Response> {
    if call.method != axum::http::Method::GET && call.method != axum::http::Method::HEAD {
        return Err(ServerError::MethodNotAllowed {
            method: call.method.to_string(),
            path: call.path.clone(),
            allowed: "GET, HEAD",
        });
    }
    let self_url = format!(
        "{hateoas_url}/ERP5Document_getHateoas{}",
        call.raw_query
            .as_ref()
            .map(|q| format!("?{q}"))
            .unwrap_or_default()
    );
    match call.query_value("mode").as_deref() {
        None => Ok(root(&hateoas_url)),
        Some("search") => search(app, call, self_url).await,
        Some("traverse") => traverse(app, call, &hateoas_url).await,
        Some(other) => Err(ServerError::field(
            "mode",
            other,
            "expected search or traverse",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_and_reference_query_compiles_to_bound_values() {
        let (condition, values) =
            compile(r#"portal_type:"Data Stream" AND reference:"p1""#).unwrap();

        assert_eq!(condition, "((portal_type = ?1 AND reference = ?2))");
        assert_eq!(values, vec!["Data Stream", "p1"]);
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let (condition, _) = compile("id:1 OR id:2 AND title:x").unwrap();

        assert_eq!(condition, "((id = ?1) OR (id = ?2 AND title = ?3))");
    }

    #[test]
    fn parentheses_and_wildcards_compile() {
        let (condition, values) =
            compile(r#"(reference:"a%" OR reference:b) AND portal_type:Image"#).unwrap();

        assert!(condition.contains("reference LIKE ?1"), "{condition}");
        assert_eq!(values, vec!["a%", "b", "Image"]);
    }

    #[test]
    fn quotes_can_be_escaped() {
        let (_, values) = compile(r#"title:"say \"hi\"""#).unwrap();

        assert_eq!(values, vec![r#"say "hi""#]);
    }

    #[test]
    fn unknown_key_is_named() {
        let reason = compile("password:x").unwrap_err();

        assert!(reason.contains("password"), "{reason}");
    }

    #[test]
    fn sql_in_a_value_stays_a_value() {
        let (condition, values) = compile(r#"reference:"x' OR 1=1 --""#).unwrap();

        assert_eq!(condition, "((reference = ?1))");
        assert_eq!(values, vec!["x' OR 1=1 --"]);
    }

    #[test]
    fn unclosed_quote_or_parenthesis_is_refused() {
        assert!(compile(r#"reference:"abc"#).is_err());
        assert!(compile("(reference:a").is_err());
        assert!(compile("reference:a)").is_err());
        assert!(compile("AND").is_err());
    }

    #[test]
    fn deep_nesting_is_refused() {
        let query = format!("{}id:1{}", "(".repeat(100), ")".repeat(100));

        assert!(compile(&query).is_err());
    }

    #[test]
    fn empty_query_matches_everything() {
        assert_eq!(compile("  ").unwrap().0, "1");
    }
}
