//! GET and PUT of the bytes a document holds: Data Streams, Data Arrays,
//! Images and stored notebooks (wendelin-protocol.md §3, §4, §5).
//!
//! GET answers `Range` with 206 (or `multipart/byteranges`), 416 past the
//! end, `?format=raw` with every byte, streamed. PUT with `Content-Range:
//! bytes a-b/total` appends only at the current end, streaming the body to
//! the blob's tail and acknowledging once durable; `bytes */*` asks for the
//! size (308); no `Content-Range` replaces the content. Refusals carry
//! Wendelin's explanations. Property calls live in `documents.rs`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;

use crate::app::{App, BODY_LIMIT, Call};
use crate::blobs::{BlobSlot, Snapshot};
use crate::error::{Result, ServerError};
use crate::image_type;
use crate::model::{Document, Module};
use crate::range::{self, ContentRange};
use crate::slicing;
use crate::storage::{Store, blocking, read_at};

/// Answers are read and sent in pieces of this size: small enough to stay
/// in cache between the read and the send, so memory stays flat whatever
/// the range.
const PIECE: u64 = 1 << 20;

/// An append whose body stalls this long is abandoned.
const BODY_IDLE: std::time::Duration = std::time::Duration::from_secs(60);

/// Appends are written to disk in pieces of about this size.
const WRITE_PIECE: usize = 4 << 20;

fn etag(snapshot: &Snapshot, document: &Document) -> String {
    format!(
        "\"{}-{}-{}\"",
        document.key, snapshot.generation, snapshot.size
    )
}

/// A body of `length` bytes at `start`, read piece by piece as the
/// connection takes them.
fn bytes_body(snapshot: Snapshot, start: u64, length: u64) -> Body {
    let pieces = futures::stream::unfold(
        (snapshot, start, length),
        |(snapshot, at, left)| async move {
            if left == 0 {
                return None;
            }
            let piece = left.min(PIECE);
            let reader = snapshot.clone();
            let read =
                tokio::task::spawn_blocking(move || read_at(&reader, at, piece as usize)).await;
            let item = match read {
                Ok(Ok(bytes)) => Ok(Bytes::from(bytes)),
                Ok(Err(failure)) => Err(std::io::Error::other(failure.to_string())),
                Err(join) => Err(std::io::Error::other(join)),
            };
            let next = if item.is_ok() { left - piece } else { 0 };
            Some((item, (snapshot, at + piece, next)))
        },
    );
    Body::from_stream(pieces)
}

/// `GET` of a document that holds bytes.
///
/// # Errors
///
/// A malformed or unsatisfiable `Range`, or a storage failure.
pub async fn get(app: &Arc<App>, document: &Document, call: &Call) -> Result<Response> {
    let snapshot = app.store.snapshot(document)?;
    let tag = etag(&snapshot, document);
    if call.headers.contains_key(header::RANGE) && call.header(header::RANGE).is_none() {
        return Err(ServerError::BadRange {
            header: "<not ASCII>".to_owned(),
            reason: "a Range header holds ASCII only".to_owned(),
        });
    }
    let range_header = call.header(header::RANGE).map(str::to_owned);
    let if_range_matches = call
        .header(header::IF_RANGE)
        .is_none_or(|value| value.trim() == tag);

    if document.module == Module::DataArrays && slicing::asks_for_slice(&call.query) {
        return array_slice(document, snapshot, call, &tag);
    }
    if let Some(range_text) = range_header.as_deref().filter(|_| if_range_matches) {
        return ranged(document, snapshot, range_text, &tag).await;
    }
    // a stale If-Range asks for the whole content (RFC 9110 §13.1.5)
    let wants_bytes =
        document.module == Module::Images || !call.query.is_empty() || range_header.is_some();
    if !wants_bytes {
        return Ok(view_page(app, document));
    }

    let size = snapshot.size;
    let mut response = (StatusCode::OK, bytes_body(snapshot, 0, size)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    insert_text(headers, header::CONTENT_TYPE, &document.content_type);
    insert_text(headers, header::ETAG, &tag);
    Ok(response)
}

/// The rows of a Data Array a `slice_index` query selects, as raw bytes
/// (wendelin-protocol.md §4).
fn array_slice(
    document: &Document,
    snapshot: Snapshot,
    call: &Call,
    tag: &str,
) -> Result<Response> {
    let slice = slicing::parse_slice(&call.query)?;
    let row = document.row_bytes().unwrap_or(1);
    let (first, end) = slicing::resolve(slice, snapshot.size / row);
    let length = (end - first) * row;

    let mut response = (StatusCode::OK, bytes_body(snapshot, first * row, length)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    insert_text(headers, header::ETAG, tag);
    Ok(response)
}

fn insert_text(headers: &mut axum::http::HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// The 206 (or multipart) answer to a `Range` header.
async fn ranged(
    document: &Document,
    snapshot: Snapshot,
    range_text: &str,
    tag: &str,
) -> Result<Response> {
    let specs = range::parse_range(range_text).map_err(|reason| ServerError::BadRange {
        header: range_text.chars().take(200).collect(),
        reason,
    })?;
    let size = snapshot.size;
    let intervals: Vec<(u64, u64)> = specs
        .iter()
        .filter_map(|&spec| range::resolve(spec, size))
        .collect();
    if intervals.is_empty() {
        let mut response = ServerError::Unsatisfiable {
            header: range_text.chars().take(200).collect(),
            relative_url: document.relative_url(),
            size,
        }
        .into_response();
        insert_text(
            response.headers_mut(),
            header::CONTENT_RANGE,
            &format!("bytes */{size}"),
        );
        return Ok(response);
    }
    if let [(start, end)] = intervals[..] {
        return Ok(single_range(document, snapshot, start, end, tag));
    }
    multipart(document, snapshot, &intervals, tag).await
}

fn single_range(
    document: &Document,
    snapshot: Snapshot,
    start: u64,
    end: u64,
    tag: &str,
) -> Response {
    let size = snapshot.size;
    let length = end - start + 1;
    let mut response = (
        StatusCode::PARTIAL_CONTENT,
        bytes_body(snapshot, start, length),
    )
        .into_response();
    let headers = response.headers_mut();
    insert_text(
        headers,
        header::CONTENT_RANGE,
        &format!("bytes {start}-{end}/{size}"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    insert_text(headers, header::CONTENT_TYPE, &document.content_type);
    insert_text(headers, header::ETAG, tag);
    response
}

/// `multipart/byteranges` for several ranges, at most [`BODY_LIMIT`]
/// bytes in all.
async fn multipart(
    document: &Document,
    snapshot: Snapshot,
    intervals: &[(u64, u64)],
    tag: &str,
) -> Result<Response> {
    let total: u64 = intervals.iter().map(|(a, b)| b - a + 1).sum();
    if total > BODY_LIMIT {
        return Err(ServerError::BadRange {
            header: format!("{} ranges", intervals.len()),
            reason: format!(
                "they add up to {total} bytes, over {BODY_LIMIT}: ask for them one by one"
            ),
        });
    }
    let boundary = format!(
        "wendelin-{}-{}-{}",
        document.key, snapshot.generation, snapshot.size
    );
    let size = snapshot.size;
    let content_type = document.content_type.clone();
    let parts = intervals.to_vec();
    let marker = boundary.clone();
    let body = blocking(move || {
        let mut body = Vec::new();
        for (start, end) in parts {
            let head = format!(
                "--{marker}\r\nContent-Type: {content_type}\r\nContent-Range: bytes {start}-{end}/{size}\r\n\r\n"
            );
            body.extend_from_slice(head.as_bytes());
            body.extend(read_at(&snapshot, start, (end - start + 1) as usize)?);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{marker}--\r\n").as_bytes());
        Ok(body)
    })
    .await?;

    let mut response = (StatusCode::PARTIAL_CONTENT, body).into_response();
    let headers = response.headers_mut();
    insert_text(
        headers,
        header::CONTENT_TYPE,
        &format!("multipart/byteranges; boundary={boundary}"),
    );
    insert_text(headers, header::ETAG, tag);
    Ok(response)
}

/// Minimal HTML escaping for the view page.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The HTML view Wendelin answers a plain GET with (not data).
fn view_page(app: &Arc<App>, document: &Document) -> Response {
    let size = app.store.size(document);
    let properties = document.property_dict(size);
    let rows: String = properties
        .as_object()
        .into_iter()
        .flatten()
        .map(|(key, value)| {
            format!(
                "<tr><th>{}</th><td>{}</td></tr>\n",
                escape(key),
                escape(&value.to_string())
            )
        })
        .collect();
    let title = escape(&format!(
        "{} {}",
        document.portal_type,
        document.relative_url()
    ));
    let page = format!(
        "<!DOCTYPE html>\n<html><head><title>{title}</title></head><body>\n<h1>{title}</h1>\n\
         <table>\n{rows}</table>\n<p>Bytes: add <code>?format=raw</code> or a Range header.</p>\n\
         </body></html>\n"
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

fn refuse(explanation: String) -> ServerError {
    ServerError::AppendRefused { explanation }
}

/// `PUT` of a document that holds bytes.
///
/// # Errors
///
/// Wendelin's refusals (400 with `X-Explanation`), a body too large for a
/// replace, or a storage failure.
pub async fn put(app: &Arc<App>, document: &Document, call: &mut Call) -> Result<Response> {
    if call.headers.contains_key(header::CONTENT_RANGE)
        && call.header(header::CONTENT_RANGE).is_none()
    {
        return Err(refuse(
            "Can not parse range: the Content-Range header is not ASCII".to_owned(),
        ));
    }
    let Some(text) = call.header(header::CONTENT_RANGE).map(str::to_owned) else {
        return replace(app, document, call).await;
    };
    let parsed = range::parse_content_range(&text).map_err(|reason| {
        refuse(format!(
            "Can not parse range: Content-Range {text:?}: {reason}"
        ))
    })?;
    match parsed {
        ContentRange::SizeQuery => Ok(size_answer(app, document)),
        ContentRange::Bytes { first, last, total } => {
            append(app, document, call, first, last, total).await
        }
    }
}

/// 308 with `Range: bytes 0-<size-1>` (wendelin-protocol.md §3).
fn size_answer(app: &Arc<App>, document: &Document) -> Response {
    let size = app.store.size(document);
    let last = size as i128 - 1;
    let mut response = StatusCode::PERMANENT_REDIRECT.into_response();
    let headers = response.headers_mut();
    insert_text(headers, header::RANGE, &format!("bytes 0-{last}"));
    headers.insert("x-size", HeaderValue::from(size));
    response
}

/// Checks what can be checked before the body is read.
fn check_append_header(
    document: &Document,
    call: &Call,
    first: u64,
    last: u64,
    total: u64,
) -> Result<u64> {
    if last.checked_add(1) != Some(total) {
        return Err(refuse(format!(
            "Total size unexpected: Content-Range bytes {first}-{last}/{total} must have total {}",
            last as u128 + 1
        )));
    }
    let length = last - first + 1;
    if let Some(declared) = call.content_length()?
        && declared != length
    {
        return Err(refuse(format!(
            "Content length unexpected: Content-Length is {declared}, the range {first}-{last} holds {length} bytes"
        )));
    }
    if let Some(row) = document.row_bytes()
        && !length.is_multiple_of(row)
    {
        return Err(refuse(format!(
            "Can only append whole rows: {length} bytes is not a multiple of the {row}-byte row of {} (dtype {}, trailing shape {:?})",
            document.relative_url(),
            document.dtype.as_deref().unwrap_or_default(),
            document.trailing_shape.as_deref().unwrap_or_default(),
        )));
    }
    Ok(length)
}

/// An appending PUT: checks, streams the body past the committed size,
/// then commits durably.
async fn append(
    app: &Arc<App>,
    document: &Document,
    call: &mut Call,
    first: u64,
    last: u64,
    total: u64,
) -> Result<Response> {
    let length = check_append_header(document, call, first, last, total)?;
    let slot = app.store.slot(document);
    let _writer = slot.writer.lock().await;
    let snapshot = app.store.blobs.snapshot(&slot)?;
    if first != snapshot.size {
        return Err(refuse(format!(
            "Can only append data: the range starts at byte {first}, {} holds {} bytes",
            document.relative_url(),
            snapshot.size
        )));
    }

    let body = call.take_body();
    if let Err(failure) = stream_to_tail(body, &snapshot, length).await {
        let abandoned = snapshot.clone();
        let _ = blocking(move || {
            Store::abandon_append(&abandoned);
            Ok(())
        })
        .await;
        return Err(failure);
    }

    commit(app, document, &slot, snapshot, first + length).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Durable commit of an append, then the content type of an Image.
async fn commit(
    app: &Arc<App>,
    document: &Document,
    slot: &Arc<BlobSlot>,
    snapshot: Snapshot,
    size: u64,
) -> Result<()> {
    let app = Arc::clone(app);
    let key = document.key;
    let slot = Arc::clone(slot);
    let is_image = document.module == Module::Images && snapshot.size == 0;
    blocking(move || {
        app.store.commit_append(key, &slot, &snapshot, size)?;
        if is_image {
            let head = read_at(
                &snapshot,
                0,
                size.min(image_type::SNIFF_BYTES as u64) as usize,
            )?;
            app.store.catalog.commit_blob(
                key,
                size,
                snapshot.generation,
                Some(image_type::detect(&head)),
            )?;
        }
        Ok(())
    })
    .await
}

/// Writes the body past the committed size, in pieces, checking its
/// length against the range.
async fn stream_to_tail(body: Body, snapshot: &Snapshot, length: u64) -> Result<()> {
    let mut stream = body.into_data_stream();
    let mut received: u64 = 0;
    let mut offset = snapshot.size;
    let mut buffer: Vec<u8> = Vec::with_capacity(WRITE_PIECE.min(length as usize));

    loop {
        // a client that stops sending must not hold the writer lock for good
        let frame = tokio::time::timeout(BODY_IDLE, stream.next())
            .await
            .map_err(|_| ServerError::BodyRead {
                reason: format!("no body bytes for {} s", BODY_IDLE.as_secs()),
            })?;
        let done = frame.is_none();
        if let Some(frame) = frame {
            let frame = frame.map_err(|e| ServerError::BodyRead {
                reason: e.to_string(),
            })?;
            received += frame.len() as u64;
            if received > length {
                return Err(refuse(format!(
                    "Content length unexpected: the body holds more than the {length} bytes of the range"
                )));
            }
            buffer.extend_from_slice(&frame);
        }
        if buffer.len() >= WRITE_PIECE || (done && !buffer.is_empty()) {
            let piece = std::mem::replace(&mut buffer, Vec::with_capacity(WRITE_PIECE));
            let (file, committed, at) = (Arc::clone(&snapshot.file), snapshot.size, offset);
            offset += piece.len() as u64;
            blocking(move || Store::write_tail(&file, committed, at, &piece)).await?;
        }
        if done {
            break;
        }
    }
    if received != length {
        return Err(refuse(format!(
            "Content length unexpected: the body holds {received} bytes, the range holds {length}"
        )));
    }
    Ok(())
}

/// A PUT without `Content-Range`: the body (at most 64 MiB) becomes the
/// whole content.
async fn replace(app: &Arc<App>, document: &Document, call: &mut Call) -> Result<Response> {
    let bytes = call
        .read_body("append larger content with Content-Range PUTs")
        .await?;
    let content_type = replaced_content_type(document, &bytes)?;

    let slot = app.store.slot(document);
    let _writer = slot.writer.lock().await;
    let owned = document.clone();
    let writer_slot = Arc::clone(&slot);
    let app = Arc::clone(app);
    blocking(move || {
        app.store
            .replace(&owned, &writer_slot, &bytes, content_type)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Checks replacement content and gives its content type.
fn replaced_content_type(document: &Document, bytes: &[u8]) -> Result<Option<&'static str>> {
    let length = bytes.len() as u64;
    if let Some(row) = document.row_bytes()
        && !length.is_multiple_of(row)
    {
        return Err(refuse(format!(
            "Can only store whole rows: {length} bytes is not a multiple of the {row}-byte row of {}",
            document.relative_url()
        )));
    }
    match document.module {
        Module::Images => Ok(Some(image_type::detect(bytes))),
        Module::DataNotebooks => {
            let parsed: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
                refuse(format!(
                    "A Data Notebook stores an .ipynb file: the body is not JSON ({e})"
                ))
            })?;
            if !parsed.is_object() {
                return Err(refuse(
                    "A Data Notebook stores an .ipynb file: the body is not a JSON object".into(),
                ));
            }
            Ok(Some("application/x-ipynb+json"))
        }
        _ => Ok(None),
    }
}
