//! Ingestion: what fluentd's wendelin output posts, appended to the Data
//! Stream named by the tag (wendelin-protocol.md §6).
//!
//! The body (raw, or the form field `data_chunk`) is checked frame by frame
//! before anything is appended. The built-in policy `default` appends it
//! unchanged; policies made with `IngestionPolicyTool_addIngestionPolicy`
//! append each record's payload. The target stream is found by reference
//! (the tag's first segment) and created on first use, under one lock so
//! two first posts make one stream.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Map;

use crate::app::{App, Call};
use crate::catalog::NewDocument;
use crate::documents::{created, properties};
use crate::error::{Result, ServerError};
use crate::form::{Fields, parse_urlencoded, text_field};
use crate::model::{Document, Module, check_reference, check_title};
use crate::msgpack::{record_payload, split_frames};
use crate::storage::blocking;

/// Data operation of the built-in policy: append unchanged.
pub const RAW_OPERATION: &str = "wendelin_ingest_data";

/// Data operation of fast-input policies: append record payloads.
pub const CONVERSION_OPERATION: &str = "wendelin_ingest_data_conversion";

/// The msgpack bytes of a request: the raw body, or its `data_chunk` form
/// field.
fn data_chunk(call: &Call, body: &[u8]) -> Result<Vec<u8>> {
    if call.content_type() != "application/x-www-form-urlencoded" {
        return Ok(body.to_vec());
    }
    parse_urlencoded(body)
        .into_iter()
        .find(|(name, _)| name == "data_chunk")
        .map(|(_, value)| value)
        .ok_or_else(|| ServerError::BadBody {
            reason: "a form body must carry the msgpack frames in the field data_chunk".to_owned(),
        })
}

/// The bytes to append: the body, or the concatenated record payloads.
fn bytes_to_append(policy: &Document, chunk: Vec<u8>) -> Result<Vec<u8>> {
    let frames = split_frames(&chunk).map_err(|e| ServerError::BadMsgpack {
        offset: e.offset,
        frame: e.frame,
        reason: e.reason,
    })?;
    let converts = policy
        .properties
        .get("data_operation")
        .and_then(|v| v.as_str())
        == Some(CONVERSION_OPERATION);
    if !converts {
        return Ok(chunk);
    }

    let mut payloads = Vec::with_capacity(chunk.len());
    for frame in &frames {
        let record_offset = frame.record.as_ptr() as usize - chunk.as_ptr() as usize;
        let payload = record_payload(frame.record).map_err(|e| ServerError::BadMsgpack {
            offset: record_offset + e.offset,
            frame: frame.offset,
            reason: e.reason,
        })?;
        payloads.extend(payload);
    }
    Ok(payloads)
}

/// The stream with this reference, created (titled with the tag) if none.
fn target_stream(app: &App, reference: &str, tag: &str) -> Result<Document> {
    if let Some(stream) = app
        .store
        .catalog
        .find_by_reference(Module::DataStreams, reference)?
    {
        return Ok(stream);
    }
    let stream = app.store.create(NewDocument {
        module: Module::DataStreams,
        id: None,
        portal_type: Module::DataStreams.document_type().to_owned(),
        reference: reference.to_owned(),
        title: tag.to_owned(),
        content_type: Module::DataStreams.default_content_type().to_owned(),
        dtype: None,
        trailing_shape: None,
        properties: Map::new(),
        size: 0,
    })?;
    tracing::debug!(reference, relative_url = %stream.relative_url(), "ingestion created a data stream");
    Ok(stream)
}

/// `POST /erp5/portal_ingestion_policies/<policy>/ingest?reference=<tag>`.
///
/// # Errors
///
/// Another method (400, as Wendelin), an unknown policy (404), a missing
/// or bad tag, a body over 64 MiB, framing that does not parse (nothing
/// appended), or a storage failure.
pub async fn ingest(app: &Arc<App>, policy_id: &str, call: &mut Call) -> Result<Response> {
    if call.method != Method::POST {
        return Err(ServerError::WrongMethod {
            method: call.method.to_string(),
            path: call.path.clone(),
            expected: "POST",
        });
    }
    let policy = {
        let (app, id) = (Arc::clone(app), policy_id.to_owned());
        blocking(move || app.store.document(Module::IngestionPolicies, &id)).await?
    };
    let tag = call
        .query_value("reference")
        .ok_or_else(|| ServerError::field("reference", "", "ingestion needs ?reference=<tag>"))?;
    let reference = tag.split('.').next().unwrap_or_default().to_owned();
    check_reference(&reference)?;
    check_reference(&tag)?;

    let body = call
        .read_body("send smaller chunks (fluentd: lower chunk_limit_size)")
        .await?;
    let chunk = data_chunk(call, &body)?;
    let appended = blocking(move || bytes_to_append(&policy, chunk)).await?;

    let stream = {
        let _creating = app.store.ingestion_lock.lock().await;
        let app = Arc::clone(app);
        blocking(move || target_stream(&app, &reference, &tag)).await?
    };
    let slot = app.store.slot(&stream);
    let _writer = slot.writer.lock().await;
    let app = Arc::clone(app);
    let writer_slot = Arc::clone(&slot);
    let size = blocking(move || app.store.append_all(&stream, &writer_slot, &appended)).await?;
    tracing::debug!(policy = policy_id, size, "ingested");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `IngestionPolicyTool_addIngestionPolicy` (and `newContent` in
/// `portal_ingestion_policies`): a policy whose id is its reference, that
/// converts records.
///
/// # Errors
///
/// A missing or bad reference, a taken id (409), or a catalog failure.
pub async fn add_policy(app: &Arc<App>, call: &Call, fields: &Fields) -> Result<Response> {
    let reference = text_field(fields, "reference")
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            ServerError::field(
                "reference",
                "",
                "a policy needs a reference, which becomes its id",
            )
        })?;
    check_reference(&reference)?;
    if reference.contains('/')
        || reference == "IngestionPolicyTool_addIngestionPolicy"
        || reference == "newContent"
    {
        return Err(ServerError::field(
            "reference",
            reference,
            "a policy id cannot hold '/' or name a tool method",
        ));
    }
    let title = text_field(fields, "title").unwrap_or_else(|| reference.clone());
    check_title(&title)?;

    let mut settings = Map::new();
    settings.insert(
        "script_id".into(),
        "IngestionPolicy_parseSimpleFluentdTag".into(),
    );
    settings.insert("data_operation".into(), CONVERSION_OPERATION.into());
    let new = NewDocument {
        module: Module::IngestionPolicies,
        id: Some(reference.clone()),
        portal_type: Module::IngestionPolicies.document_type().to_owned(),
        reference,
        title,
        content_type: Module::IngestionPolicies.default_content_type().to_owned(),
        dtype: None,
        trailing_shape: None,
        properties: settings,
        size: 0,
    };
    let app = Arc::clone(app);
    let dict = blocking(move || {
        let policy = app.store.create(new)?;
        properties(&app, &policy)
    })
    .await?;
    let relative_url = dict["relative_url"].as_str().unwrap_or_default().to_owned();
    Ok(created(call, dict, &relative_url))
}
