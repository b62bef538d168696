//! The shared state of every request and the pieces of a request the
//! endpoint groups read: method, headers, query pairs, and a body read with
//! a bound (or streamed, by appends only).

use axum::body::Body;
use axum::http::{HeaderMap, Method, header};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;

use crate::auth::Credentials;
use crate::error::{Result, ServerError};
use crate::form::{self, Fields};
use crate::storage::Store;

/// Largest body of anything but an appending PUT: 64 MiB.
pub const BODY_LIMIT: u64 = 64 << 20;

/// What every request shares.
#[derive(Debug)]
pub struct App {
    pub store: Store,
    pub credentials: Credentials,
}

/// A request, split for the handlers.
#[derive(Debug)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub raw_query: Option<String>,
    pub query: Vec<(String, Vec<u8>)>,
    /// The body, until a handler takes it (in a mutex so that `&Call` can
    /// be held across awaits: a body is `Send` but not `Sync`).
    pub body: std::sync::Mutex<Option<Body>>,
}

impl Call {
    /// Takes the body (an empty one if it was taken already).
    pub fn take_body(&self) -> Body {
        self.body
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .unwrap_or_default()
    }

    /// A header as text, if present and readable.
    pub fn header(&self, name: impl header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The first value of a query parameter.
    pub fn query_value(&self, name: &str) -> Option<String> {
        form::query_value(&self.query, name)
    }

    /// The request's media type, lowercased, without parameters.
    pub fn content_type(&self) -> String {
        self.header(header::CONTENT_TYPE)
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    }

    /// The declared `Content-Length`, if any.
    ///
    /// # Errors
    ///
    /// A header that is not a number.
    pub fn content_length(&self) -> Result<Option<u64>> {
        let Some(text) = self.header(header::CONTENT_LENGTH) else {
            return Ok(None);
        };
        text.trim()
            .parse()
            .map(Some)
            .map_err(|_| ServerError::BadBody {
                reason: format!("Content-Length {text:?} is not a number"),
            })
    }

    /// The `http://host/erp5` base of this server as the client reaches it.
    pub fn base_url(&self) -> String {
        let host = self.header(header::HOST).unwrap_or("127.0.0.1");
        format!("http://{host}/erp5")
    }

    /// Reads the whole body, refusing more than [`BODY_LIMIT`] bytes.
    ///
    /// # Errors
    ///
    /// [`ServerError::TooLarge`] (from the declared length or while
    /// reading) or a broken body.
    pub async fn read_body(&self, advice: &'static str) -> Result<Bytes> {
        let too_large = |size| ServerError::TooLarge {
            size,
            limit: BODY_LIMIT,
            advice,
        };
        if let Some(declared) = self.content_length()?
            && declared > BODY_LIMIT
        {
            return Err(too_large(declared));
        }

        let mut stream = self.take_body().into_data_stream();
        let mut collected = BytesMut::new();
        while let Some(frame) = stream.next().await {
            let frame = frame.map_err(|e| ServerError::BodyRead {
                reason: e.to_string(),
            })?;
            if (collected.len() + frame.len()) as u64 > BODY_LIMIT {
                return Err(too_large((collected.len() + frame.len()) as u64));
            }
            collected.extend_from_slice(&frame);
        }
        Ok(collected.freeze())
    }

    /// The call's fields: query pairs, then a form or JSON body.
    ///
    /// # Errors
    ///
    /// A body too large, broken, or JSON that is not an object.
    pub async fn fields(&self) -> Result<Fields> {
        let body = self.read_body("fields are small").await?;
        form::fields(self.raw_query.as_deref(), &self.content_type(), &body)
    }
}
