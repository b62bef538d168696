//! Documents in general: the portal's module list, a module's documents,
//! `newContent`, the property dict, Zope getters and `edit`.
//!
//! Creation and metadata calls are our additions (`docs/http-contract.md`);
//! the getters answer as Zope publishes them, in plain text
//! (wendelin-protocol.md §3, §4). Bytes are served by `content.rs`.

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use serde_json::{Map, Value, json};

use crate::app::{App, Call};
use crate::catalog::NewDocument;
use crate::dtype::{self, parse_dtype, parse_shape};
use crate::error::{Result, ServerError};
use crate::form::{Fields, text_field};
use crate::model::{Document, Module, check_reference, check_title};
use crate::storage::blocking;

/// Fields the server sets itself; a client may not give them.
const SERVER_FIELDS: &[&str] = &[
    "id",
    "relative_url",
    "size",
    "itemsize",
    "creation_date",
    "modification_date",
    "line_count",
    "script_id",
    "data_operation",
];

/// Fields `newContent` and `edit` read themselves.
const KNOWN_FIELDS: &[&str] = &[
    "portal_type",
    "reference",
    "title",
    "content_type",
    "dtype",
    "shape",
];

/// The property dict of a document, with what readers see now.
///
/// # Errors
///
/// A catalog failure (notebook line count).
pub fn properties(app: &App, document: &Document) -> Result<Value> {
    let mut dict = document.property_dict(app.store.size(document));
    if document.module == Module::DataNotebooks
        && let Value::Object(map) = &mut dict
    {
        map.insert(
            "line_count".into(),
            json!(app.store.catalog.line_count(document.key)?),
        );
    }
    Ok(dict)
}

/// `GET /erp5`: the modules and their document counts.
///
/// # Errors
///
/// A catalog failure.
pub async fn portal(app: &Arc<App>, call: &Call) -> Result<Response> {
    let app = Arc::clone(app);
    let modules = blocking(move || {
        Module::ALL
            .iter()
            .map(|&module| {
                Ok(json!({
                    "id": module.id(),
                    "portal_type": module.portal_type(),
                    "document_portal_type": module.document_type(),
                    "count": app.store.catalog.count(module)?,
                }))
            })
            .collect::<Result<Vec<_>>>()
    })
    .await?;
    Ok(Json(json!({"id": "erp5", "url": call.base_url(), "modules": modules})).into_response())
}

fn number_parameter(call: &Call, name: &str, default: u64) -> Result<u64> {
    match call.query_value(name) {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| ServerError::field(name, text, "expected a non-negative integer")),
    }
}

/// `GET /erp5/<module>`: its documents in id order.
///
/// # Errors
///
/// A bad `limit`/`offset` or a catalog failure.
pub async fn module_listing(app: &Arc<App>, module: Module, call: &Call) -> Result<Response> {
    let limit = number_parameter(call, "limit", i64::MAX as u64)?.min(i64::MAX as u64);
    let offset = number_parameter(call, "offset", 0)?.min(i64::MAX as u64);
    let app = Arc::clone(app);
    let listing = blocking(move || {
        let documents =
            app.store
                .catalog
                .select("module = ?1", &[module.id().to_owned()], offset, limit)?;
        let dicts = documents
            .iter()
            .map(|document| properties(&app, document))
            .collect::<Result<Vec<_>>>()?;
        Ok(json!({
            "id": module.id(),
            "portal_type": module.portal_type(),
            "count": app.store.catalog.count(module)?,
            "documents": dicts,
        }))
    })
    .await?;
    Ok(Json(listing).into_response())
}

/// Checks extra property names and keeps the fields that are not known.
fn extra_properties(fields: &Fields) -> Result<Map<String, Value>> {
    let mut extras = Map::new();
    for (name, value) in fields {
        if SERVER_FIELDS.contains(&name.as_str()) {
            return Err(ServerError::field(
                name,
                value.to_string(),
                "is set by the server",
            ));
        }
        if KNOWN_FIELDS.contains(&name.as_str()) {
            continue;
        }
        if name.is_empty() || name.len() > 100 || name.starts_with('_') || name.contains('\0') {
            return Err(ServerError::field(
                name,
                value.to_string(),
                "property names hold 1 to 100 bytes, no NUL, no leading '_'",
            ));
        }
        extras.insert(name.clone(), value.clone());
    }
    Ok(extras)
}

/// The dtype, trailing shape and zero-row size of a new Data Array.
fn array_layout(fields: &Fields) -> Result<(String, Vec<u64>, u64)> {
    let dtype_text = text_field(fields, "dtype")
        .ok_or_else(|| ServerError::field("dtype", "", "a Data Array needs a dtype such as <f8"))?;
    let dtype = parse_dtype(&dtype_text)?;
    let shape_value = fields
        .get("shape")
        .filter(|v| !v.is_null())
        .ok_or_else(|| {
            ServerError::field("shape", "", "a Data Array needs a shape such as [0, 2]")
        })?;
    let shape = parse_shape(shape_value)?;

    let row = dtype::row_bytes(dtype, &shape[1..])?;
    let size = shape[0]
        .checked_mul(row)
        .filter(|&n| n <= 1 << 48)
        .ok_or_else(|| {
            ServerError::field(
                "shape",
                shape_value.to_string(),
                "the array would be larger than 2^48 bytes",
            )
        })?;
    Ok((dtype.descr.to_owned(), shape[1..].to_vec(), size))
}

/// What `newContent` creates from its fields.
///
/// # Errors
///
/// A portal type the module does not hold, a bad reference, title, dtype
/// or shape, or a field the module does not take.
pub fn new_document(module: Module, fields: &Fields) -> Result<NewDocument> {
    let portal_type =
        text_field(fields, "portal_type").unwrap_or_else(|| module.document_type().to_owned());
    if portal_type != module.document_type() {
        return Err(ServerError::field(
            "portal_type",
            portal_type,
            format!(
                "{} holds only {} documents",
                module.id(),
                module.document_type()
            ),
        ));
    }
    let reference = text_field(fields, "reference").unwrap_or_default();
    if !reference.is_empty() {
        check_reference(&reference)?;
    }
    let title = text_field(fields, "title").unwrap_or_else(|| reference.clone());
    check_title(&title)?;

    let content_type = match (module, text_field(fields, "content_type")) {
        (Module::DataStreams, Some(given)) => checked_content_type(&given)?,
        (_, Some(given)) => {
            return Err(ServerError::field(
                "content_type",
                given,
                "only Data Streams take a content type; others have theirs from their data",
            ));
        }
        (_, None) => module.default_content_type().to_owned(),
    };
    let (dtype, trailing_shape, size) = if module == Module::DataArrays {
        let (dtype, trailing, size) = array_layout(fields)?;
        (Some(dtype), Some(trailing), size)
    } else {
        refuse_array_fields(fields)?;
        (None, None, 0)
    };

    Ok(NewDocument {
        module,
        id: None,
        portal_type,
        reference,
        title,
        content_type,
        dtype,
        trailing_shape,
        properties: extra_properties(fields)?,
        size,
    })
}

fn refuse_array_fields(fields: &Fields) -> Result<()> {
    for name in ["dtype", "shape"] {
        if let Some(value) = fields.get(name) {
            return Err(ServerError::field(
                name,
                value.to_string(),
                "only Data Arrays have one",
            ));
        }
    }
    Ok(())
}

fn checked_content_type(text: &str) -> Result<String> {
    let valid = !text.is_empty()
        && text.len() <= 200
        && text.contains('/')
        && HeaderValue::from_str(text).is_ok();
    if valid {
        Ok(text.to_owned())
    } else {
        Err(ServerError::field(
            "content_type",
            text,
            "expected a media type such as audio/wav",
        ))
    }
}

/// The 201 answer to a creation.
pub fn created(call: &Call, dict: Value, relative_url: &str) -> Response {
    let mut response = (StatusCode::CREATED, Json(dict)).into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(&format!("{}/{relative_url}", call.base_url())) {
        headers.insert(header::LOCATION, location);
    }
    if let Ok(location) = HeaderValue::from_str(&format!("urn:jio:get:{relative_url}")) {
        headers.insert("x-location", location);
    }
    response
}

/// `POST /erp5/<module>/newContent`.
///
/// # Errors
///
/// What [`new_document`] refuses, or a storage failure.
pub async fn new_content(app: &Arc<App>, module: Module, call: &mut Call) -> Result<Response> {
    let fields = call.fields().await?;
    if module == Module::IngestionPolicies {
        return crate::ingestion::add_policy(app, call, &fields).await;
    }
    let new = new_document(module, &fields)?;
    let app = Arc::clone(app);
    let dict = blocking(move || {
        let document = app.store.create(new)?;
        tracing::debug!(relative_url = %document.relative_url(), "document created");
        properties(&app, &document)
    })
    .await?;
    let relative_url = dict["relative_url"].as_str().unwrap_or_default().to_owned();
    Ok(created(call, dict, &relative_url))
}

/// `GET .../getPropertyDict` and `?format=json`.
///
/// # Errors
///
/// A catalog failure.
pub fn property_response(app: &App, document: &Document) -> Result<Response> {
    Ok(Json(properties(app, document)?).into_response())
}

/// A Zope getter's plain-text answer, or `None` for another name.
pub fn getter(app: &App, document: &Document, name: &str) -> Option<Response> {
    let text = match name {
        "getId" => document.id.clone(),
        "getRelativeUrl" => document.relative_url(),
        "getSize" => app.store.size(document).to_string(),
        "getReference" => document.reference.clone(),
        "getTitle" => document.title.clone(),
        "getPortalType" => document.portal_type.clone(),
        "getContentType" => document.content_type.clone(),
        "getArrayDtype" => document.dtype.clone()?,
        "getArrayShape" => dtype::tuple_text(&document.shape(app.store.size(document))?),
        _ => return None,
    };
    Some(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

/// `POST .../edit`: title, reference, content type, extra properties.
///
/// # Errors
///
/// A field that cannot change, a bad value, or a catalog failure.
pub async fn edit(app: &Arc<App>, document: Document, call: &mut Call) -> Result<Response> {
    let fields = call.fields().await?;
    let mut edited = document;
    for name in ["portal_type", "dtype", "shape"] {
        if let Some(value) = fields.get(name) {
            return Err(ServerError::field(
                name,
                value.to_string(),
                "is fixed when the document is created",
            ));
        }
    }
    if let Some(reference) = text_field(&fields, "reference") {
        check_reference(&reference)?;
        edited.reference = reference;
    }
    if let Some(title) = text_field(&fields, "title") {
        check_title(&title)?;
        edited.title = title;
    }
    if let Some(given) = text_field(&fields, "content_type") {
        if edited.module != Module::DataStreams {
            return Err(ServerError::field(
                "content_type",
                given,
                "only Data Streams take a content type",
            ));
        }
        edited.content_type = checked_content_type(&given)?;
    }
    for (name, value) in extra_properties(&fields)? {
        if value.is_null() {
            edited.properties.remove(&name);
        } else {
            edited.properties.insert(name, value);
        }
    }

    let app = Arc::clone(app);
    let dict = blocking(move || {
        app.store.catalog.update_properties(&edited)?;
        let fresh = app.store.catalog.get_by_key(edited.key)?.unwrap_or(edited);
        properties(&app, &fresh)
    })
    .await?;
    Ok(Json(dict).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(value: Value) -> Fields {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn array_created_with_rows_starts_with_zero_bytes_of_those_rows() {
        let new = new_document(
            Module::DataArrays,
            &fields(json!({"dtype": "float64", "shape": [3, 2], "sample_rate": 100})),
        )
        .unwrap();

        assert_eq!(new.size, 48);
        assert_eq!(new.dtype.as_deref(), Some("<f8"));
        assert_eq!(new.trailing_shape, Some(vec![2]));
        assert_eq!(new.properties["sample_rate"], json!(100));
    }

    #[test]
    fn wrong_portal_type_for_the_module_is_refused() {
        let failure = new_document(
            Module::DataStreams,
            &fields(json!({"portal_type": "Data Array"})),
        );

        assert!(failure.unwrap_err().to_string().contains("Data Stream"));
    }

    #[test]
    fn array_without_dtype_is_refused() {
        assert!(new_document(Module::DataArrays, &fields(json!({"shape": [0]}))).is_err());
    }

    #[test]
    fn stream_with_a_shape_is_refused() {
        assert!(new_document(Module::DataStreams, &fields(json!({"shape": [0]}))).is_err());
    }

    #[test]
    fn server_fields_are_refused() {
        assert!(new_document(Module::DataStreams, &fields(json!({"id": "7"}))).is_err());
    }

    #[test]
    fn title_defaults_to_the_reference() {
        let new = new_document(Module::Images, &fields(json!({"reference": "plot"}))).unwrap();

        assert_eq!(new.title, "plot");
    }
}
