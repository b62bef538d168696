//! Data Notebook Lines: recording a cell (code, result, status, time), the
//! list of recorded cells, and their rendering as an nbformat 4 notebook so
//! a recorded analysis opens in Jupyter.
//!
//! Wendelin adds a line per executed cell (wendelin-protocol.md §2,
//! `DataNotebook_addDataNotebookLine`); the HTTP calls are ours
//! (`docs/http-contract.md`, "Data Notebooks"). The stored `.ipynb` of a
//! notebook is plain content, served by `content.rs`.

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use serde_json::{Value, json};

use crate::app::{App, Call};
use crate::catalog::NotebookLine;
use crate::error::{Result, ServerError};
use crate::form::{Fields, text_field};
use crate::model::{Document, now};
use crate::storage::blocking;

/// Longest code or result kept, in bytes (16 MiB).
const MAX_CELL_TEXT: usize = 16 << 20;

fn first_text(fields: &Fields, names: &[&str]) -> Option<String> {
    names.iter().find_map(|name| text_field(fields, name))
}

/// The line a request describes.
fn line_from_fields(fields: &Fields) -> Result<NotebookLine> {
    let code = first_text(fields, &["code", "notebook_code"]).unwrap_or_default();
    let result = first_text(fields, &["result", "notebook_code_result"]).unwrap_or_default();
    for (name, text) in [("code", &code), ("result", &result)] {
        if text.len() > MAX_CELL_TEXT {
            return Err(ServerError::field(
                name,
                format!("{} bytes", text.len()),
                "cells hold at most 16 MiB",
            ));
        }
    }
    let status = text_field(fields, "status").unwrap_or_else(|| "ok".to_owned());
    if status != "ok" && status != "error" {
        return Err(ServerError::field("status", status, "expected ok or error"));
    }
    let time = match text_field(fields, "time") {
        Some(text) => {
            chrono::DateTime::parse_from_rfc3339(&text).map_err(|e| {
                ServerError::field("time", text.clone(), format!("expected RFC 3339 ({e})"))
            })?;
            text
        }
        None => now(),
    };
    let duration = match text_field(fields, "duration") {
        Some(text) => Some(
            text.parse::<f64>()
                .ok()
                .filter(|d| d.is_finite() && *d >= 0.0)
                .ok_or_else(|| {
                    ServerError::field("duration", text, "expected seconds, a non-negative number")
                })?,
        ),
        None => None,
    };
    Ok(NotebookLine {
        id: String::new(),
        code,
        result,
        status,
        time,
        duration,
    })
}

/// A line as JSON, with its place in the notebook.
fn line_json(notebook: &Document, line: &NotebookLine) -> Value {
    json!({
        "id": line.id,
        "relative_url": format!("{}/{}", notebook.relative_url(), line.id),
        "portal_type": "Data Notebook Line",
        "code": line.code,
        "result": line.result,
        "status": line.status,
        "time": line.time,
        "duration": line.duration,
    })
}

/// `POST .../addDataNotebookLine`.
///
/// # Errors
///
/// A bad field or a catalog failure.
pub async fn add_line(app: &Arc<App>, notebook: Document, call: &mut Call) -> Result<Response> {
    let fields = call.fields().await?;
    let line = line_from_fields(&fields)?;
    let app = Arc::clone(app);
    let key = notebook.key;
    let stored = blocking(move || app.store.catalog.add_line(key, &line)).await?;
    let dict = line_json(&notebook, &stored);
    let relative_url = format!("{}/{}", notebook.relative_url(), stored.id);
    Ok(crate::documents::created(call, dict, &relative_url))
}

async fn lines(app: &Arc<App>, notebook: &Document) -> Result<Vec<NotebookLine>> {
    let app = Arc::clone(app);
    let key = notebook.key;
    blocking(move || app.store.catalog.lines(key)).await
}

/// `GET .../getDataNotebookLineList`.
///
/// # Errors
///
/// A catalog failure.
pub async fn line_list(app: &Arc<App>, notebook: &Document) -> Result<Response> {
    let lines = lines(app, notebook).await?;
    let list: Vec<Value> = lines.iter().map(|line| line_json(notebook, line)).collect();
    Ok(Json(list).into_response())
}

/// `GET .../<line id>`: one line.
///
/// # Errors
///
/// An unknown line or a catalog failure.
pub async fn one_line(app: &Arc<App>, notebook: &Document, line_id: &str) -> Result<Response> {
    let lines = lines(app, notebook).await?;
    let line = lines
        .iter()
        .find(|line| line.id == line_id)
        .ok_or_else(|| ServerError::UnknownDocument {
            module: notebook.relative_url(),
            id: line_id.to_owned(),
        })?;
    Ok(Json(line_json(notebook, line)).into_response())
}

/// nbformat's multi-line text: a list of lines that keep their `\n`.
fn source_lines(text: &str) -> Vec<String> {
    text.split_inclusive('\n').map(str::to_owned).collect()
}

/// One code cell for a recorded line.
fn cell(line: &NotebookLine, number: usize) -> Value {
    let outputs = match (line.status.as_str(), line.result.is_empty()) {
        ("error", _) => vec![json!({
            "output_type": "error",
            "ename": "Error",
            "evalue": line.result,
            "traceback": source_lines(&line.result),
        })],
        (_, true) => vec![],
        (_, false) => vec![json!({
            "output_type": "execute_result",
            "execution_count": number,
            "data": {"text/plain": source_lines(&line.result)},
            "metadata": {},
        })],
    };
    json!({
        "cell_type": "code",
        "id": format!("line-{}", line.id),
        "execution_count": number,
        "metadata": {"wendelin": {"time": line.time, "duration": line.duration, "status": line.status}},
        "source": source_lines(&line.code),
        "outputs": outputs,
    })
}

/// The recorded lines as an nbformat 4.5 notebook.
pub fn ipynb(notebook: &Document, lines: &[NotebookLine]) -> Value {
    let cells: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(index, line)| cell(line, index + 1))
        .collect();
    json!({
        "cells": cells,
        "metadata": {
            "kernelspec": {"name": "wendelin", "display_name": "Wendelin (Rhai)", "language": "rhai"},
            "language_info": {"name": "rhai", "file_extension": ".rhai", "mimetype": "text/x-rhai"},
            "wendelin": {"reference": notebook.reference, "title": notebook.title, "relative_url": notebook.relative_url()},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    })
}

/// `GET .../DataNotebook_exportIpynb`.
///
/// # Errors
///
/// A catalog failure.
pub async fn export(app: &Arc<App>, notebook: &Document) -> Result<Response> {
    let lines = lines(app, notebook).await?;
    let text = serde_json::to_string_pretty(&ipynb(notebook, &lines)).unwrap_or_default();
    let name = if notebook.reference.is_empty() {
        format!("notebook-{}", notebook.id)
    } else {
        notebook.reference.clone()
    };
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();

    let mut response = (StatusCode::OK, text).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ipynb+json"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}.ipynb\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(code: &str, result: &str, status: &str) -> NotebookLine {
        NotebookLine {
            id: "1".into(),
            code: code.into(),
            result: result.into(),
            status: status.into(),
            time: "2026-12-04T17:00:00Z".into(),
            duration: None,
        }
    }

    #[test]
    fn source_keeps_line_ends() {
        assert_eq!(source_lines("a\nb"), vec!["a\n", "b"]);
        assert!(source_lines("").is_empty());
    }

    #[test]
    fn error_line_becomes_an_error_output() {
        let value = cell(&line("x", "boom", "error"), 1);

        assert_eq!(value["outputs"][0]["output_type"], "error");
        assert_eq!(value["outputs"][0]["evalue"], "boom");
    }

    #[test]
    fn silent_line_has_no_output() {
        assert_eq!(cell(&line("let a = 1;", "", "ok"), 1)["outputs"], json!([]));
    }

    #[test]
    fn unknown_status_is_refused() {
        let fields = json!({"status": "running"}).as_object().unwrap().clone();

        assert!(line_from_fields(&fields).is_err());
    }

    #[test]
    fn erp5_field_names_are_accepted() {
        let fields = json!({"notebook_code": "1+1", "notebook_code_result": "2"})
            .as_object()
            .unwrap()
            .clone();

        let parsed = line_from_fields(&fields).unwrap();

        assert_eq!((parsed.code.as_str(), parsed.result.as_str()), ("1+1", "2"));
    }
}
