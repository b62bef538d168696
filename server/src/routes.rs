//! Dispatch: every request under `/erp5` is authenticated, split into path
//! segments and handed to its endpoint group, and logged once at `debug`.
//!
//! Paths are matched as ERP5 traverses them (`docs/http-contract.md` lists
//! them all): the portal, a module, `newContent`, a document, a method of a
//! document, the ingestion tool, and the hateoas site with its acquisition
//! of documents. Handlers return `Result`; errors become their answer here.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};

use crate::app::{App, Call};
use crate::error::{Result, ServerError};
use crate::form::{parse_urlencoded, percent_decode};
use crate::model::Module;
use crate::storage::blocking;
use crate::{auth, content, documents, ingestion, notebook, search};

/// The one handler of the server.
pub async fn handle(State(app): State<Arc<App>>, request: Request) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();

    let response = match route(&app, request).await {
        Ok(response) => response,
        Err(failure) => failure.into_response(),
    };
    tracing::debug!(
        %method,
        path = %path,
        status = response.status().as_u16(),
        elapsed_us = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}

fn call_of(request: Request) -> Call {
    let (parts, body) = request.into_parts();
    let raw_query = parts.uri.query().map(str::to_owned);
    let query = parse_urlencoded(raw_query.as_deref().unwrap_or_default().as_bytes());
    Call {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        headers: parts.headers,
        raw_query,
        query,
        body: std::sync::Mutex::new(Some(body)),
    }
}

fn not_allowed(call: &Call, allowed: &'static str) -> ServerError {
    ServerError::MethodNotAllowed {
        method: call.method.to_string(),
        path: call.path.clone(),
        allowed,
    }
}

fn is_read(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

fn module_of(id: &str) -> Result<Module> {
    Module::from_id(id).ok_or_else(|| ServerError::UnknownModule {
        module: id.chars().take(200).collect(),
    })
}

async fn route(app: &Arc<App>, request: Request) -> Result<Response> {
    let mut call = call_of(request);
    let rest = call
        .path
        .strip_prefix("/erp5")
        .filter(|rest| rest.is_empty() || rest.starts_with('/'));
    let Some(rest) = rest else {
        return Err(ServerError::UnknownPath {
            path: call.path.chars().take(200).collect(),
        });
    };
    let segments: Vec<String> = rest
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(|segment| String::from_utf8_lossy(&percent_decode(segment.as_bytes())).into_owned())
        .collect();
    auth::check(&app.credentials, &call.headers)?;

    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    match segments[..] {
        [] if is_read(&call.method) => documents::portal(app, &call).await,
        [] => Err(not_allowed(&call, "GET, HEAD")),
        ["ERP5Document_getHateoas"] => {
            let url = format!("{}/web_site_module/hateoas", call.base_url());
            search::hateoas(app, &call, url).await
        }
        ["web_site_module", site, ref inside @ ..] => {
            let site = site.to_owned();
            let inside: Vec<String> = inside.iter().map(|s| (*s).to_owned()).collect();
            site_route(app, &mut call, &site, &inside).await
        }
        [
            "portal_ingestion_policies",
            "IngestionPolicyTool_addIngestionPolicy",
        ] => {
            if call.method != Method::POST {
                return Err(not_allowed(&call, "POST"));
            }
            let fields = call.fields().await?;
            ingestion::add_policy(app, &call, &fields).await
        }
        ["portal_ingestion_policies", policy, "ingest"] => {
            let policy = policy.to_owned();
            ingestion::ingest(app, &policy, &mut call).await
        }
        [module] => {
            let module = module_of(module)?;
            if !is_read(&call.method) {
                return Err(not_allowed(&call, "GET, HEAD"));
            }
            documents::module_listing(app, module, &call).await
        }
        [module, "newContent"] => {
            let module = module_of(module)?;
            if call.method != Method::POST {
                return Err(not_allowed(&call, "POST"));
            }
            documents::new_content(app, module, &mut call).await
        }
        [module, id] => {
            let (module, id) = (module_of(module)?, id.to_owned());
            document_route(app, &mut call, module, &id).await
        }
        [module, id, method] => {
            let (module, id, method) = (module_of(module)?, id.to_owned(), method.to_owned());
            method_route(app, &mut call, module, &id, &method).await
        }
        _ => Err(ServerError::UnknownPath {
            path: call.path.chars().take(200).collect(),
        }),
    }
}

/// `/erp5/web_site_module/<site>/...`: the hateoas API and, by
/// acquisition, the documents themselves (wendelin-protocol.md §8).
async fn site_route(
    app: &Arc<App>,
    call: &mut Call,
    site: &str,
    inside: &[String],
) -> Result<Response> {
    let inside: Vec<&str> = inside.iter().map(String::as_str).collect();
    let inside = inside.strip_prefix(&["hateoas"]).unwrap_or(&inside[..]);
    let hateoas_url = format!("{}/web_site_module/{site}/hateoas", call.base_url());
    match inside {
        [] | ["ERP5Document_getHateoas"] => search::hateoas(app, call, hateoas_url).await,
        [module, id] => document_route(app, call, module_of(module)?, id).await,
        [module, id, method] => method_route(app, call, module_of(module)?, id, method).await,
        _ => Err(ServerError::UnknownPath {
            path: call.path.chars().take(200).collect(),
        }),
    }
}

/// A document, looked up off the async threads (a catalog commit may hold
/// the connection through an fsync).
async fn lookup(app: &Arc<App>, module: Module, id: &str) -> Result<crate::model::Document> {
    let app = Arc::clone(app);
    let id = id.to_owned();
    blocking(move || app.store.document(module, &id)).await
}

/// `/erp5/<module>/<id>`: bytes or properties.
async fn document_route(
    app: &Arc<App>,
    call: &mut Call,
    module: Module,
    id: &str,
) -> Result<Response> {
    let document = lookup(app, module, id).await?;
    let is_put = call.method == Method::PUT;
    match (module, is_read(&call.method), is_put) {
        (Module::IngestionPolicies, true, _) => documents::property_response(app, &document),
        (_, true, _) if call.query_value("format").as_deref() == Some("json") => {
            documents::property_response(app, &document)
        }
        (Module::IngestionPolicies, _, _) => Err(not_allowed(call, "GET, HEAD")),
        (_, true, _) => content::get(app, &document, call).await,
        (_, _, true) => content::put(app, &document, call).await,
        _ => Err(not_allowed(call, "GET, HEAD, PUT")),
    }
}

/// `/erp5/<module>/<id>/<method>`.
async fn method_route(
    app: &Arc<App>,
    call: &mut Call,
    module: Module,
    id: &str,
    method: &str,
) -> Result<Response> {
    if module == Module::IngestionPolicies && method == "ingest" {
        return ingestion::ingest(app, id, call).await;
    }
    let document = lookup(app, module, id).await?;
    let reading = is_read(&call.method);
    let posting = call.method == Method::POST;

    if reading && method == "getPropertyDict" {
        return documents::property_response(app, &document);
    }
    if reading && let Some(response) = documents::getter(app, &document, method) {
        return Ok(response);
    }
    match (module, method, reading, posting) {
        (_, "edit", _, true) => documents::edit(app, document, call).await,
        (Module::DataNotebooks, "addDataNotebookLine", _, true) => {
            notebook::add_line(app, document, call).await
        }
        (Module::DataNotebooks, "getDataNotebookLineList", true, _) => {
            notebook::line_list(app, &document).await
        }
        (Module::DataNotebooks, "DataNotebook_exportIpynb", true, _) => {
            notebook::export(app, &document).await
        }
        (Module::DataNotebooks, line, true, _) if line.bytes().all(|b| b.is_ascii_digit()) => {
            notebook::one_line(app, &document, line).await
        }
        (_, "edit", _, _) | (Module::DataNotebooks, "addDataNotebookLine", _, _) => {
            Err(not_allowed(call, "POST"))
        }
        _ => Err(ServerError::UnknownMethod {
            portal_type: document.portal_type.clone(),
            relative_url: document.relative_url(),
            method: method.chars().take(200).collect(),
        }),
    }
}
