//! The server's one error type, and how each failure becomes an HTTP answer.
//!
//! Every variant carries the bad value so that the plain-text body names the
//! problem (`docs/http-contract.md`, "Errors"). The status code is decided
//! here and nowhere else. Wendelin adds `X-Explanation` to the errors of
//! `PUT` (wendelin-protocol.md §3); we add it to every error answer, which
//! is a superset clients do not mind.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// What went wrong while answering a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// No or wrong credentials.
    #[error("authentication required: {reason}")]
    Unauthorized { reason: String },

    /// The path names no module of the portal.
    #[error("no module {module} in this portal")]
    UnknownModule { module: String },

    /// The module holds no document with this id.
    #[error("no document {id} in {module}")]
    UnknownDocument { module: String, id: String },

    /// The document answers no method of this name.
    #[error("{portal_type} {relative_url} has no method {method}")]
    UnknownMethod {
        portal_type: String,
        relative_url: String,
        method: String,
    },

    /// No such path at all.
    #[error("nothing is served at {path}")]
    UnknownPath { path: String },

    /// The path exists but does not answer this HTTP method.
    #[error("{path} does not answer {method} (it answers {allowed})")]
    MethodNotAllowed {
        method: String,
        path: String,
        allowed: &'static str,
    },

    /// A call Wendelin answers with BadRequest for any method but its own
    /// (ingestion, wendelin-protocol.md §6).
    #[error("{path} takes {expected}, not {method}")]
    WrongMethod {
        method: String,
        path: String,
        expected: &'static str,
    },

    /// A `Range` header that does not parse.
    #[error("range header {header:?} does not parse: {reason}")]
    BadRange { header: String, reason: String },

    /// A `Range` that starts past the end of the content.
    #[error("range {header:?} starts past the end of {relative_url} (size {size})")]
    Unsatisfiable {
        header: String,
        relative_url: String,
        size: u64,
    },

    /// An appending `PUT` that Wendelin would refuse; `explanation` starts
    /// with Wendelin's own words ("Can only append data", ...).
    #[error("{explanation}")]
    AppendRefused { explanation: String },

    /// A reference that could be mistaken for a path or is not text.
    #[error("reference {reference:?} is refused: {reason}")]
    BadReference {
        reference: String,
        reason: &'static str,
    },

    /// A form or JSON field with a value we cannot use.
    #[error("field {field} = {value:?} is refused: {reason}")]
    BadField {
        field: String,
        value: String,
        reason: String,
    },

    /// A request body that is not what the call takes.
    #[error("request body refused: {reason}")]
    BadBody { reason: String },

    /// Msgpack framing that does not parse; nothing was appended.
    #[error(
        "msgpack does not parse at byte {offset} (in the frame starting at byte {frame}): \
         {reason}; nothing was appended"
    )]
    BadMsgpack {
        offset: usize,
        frame: usize,
        reason: String,
    },

    /// A catalog query that does not parse.
    #[error("search query {query:?} does not parse: {reason}")]
    BadQuery { query: String, reason: String },

    /// A body larger than the bound for non-appending requests.
    #[error("request body of {size} bytes is over the {limit}-byte limit: {advice}")]
    TooLarge {
        size: u64,
        limit: u64,
        advice: &'static str,
    },

    /// An ingestion policy id that is taken.
    #[error("ingestion policy {id} already exists")]
    PolicyExists { id: String },

    /// The catalog failed.
    #[error("catalog failure while {doing}: {source}")]
    Catalog {
        doing: String,
        #[source]
        source: rusqlite::Error,
    },

    /// A blob file failed.
    #[error("blob storage failure while {doing}: {source}")]
    Blob {
        doing: String,
        #[source]
        source: std::io::Error,
    },

    /// The client's body broke off or the connection failed.
    #[error("reading the request body failed: {reason}")]
    BodyRead { reason: String },
}

impl ServerError {
    /// The HTTP status this failure answers.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::UnknownModule { .. }
            | Self::UnknownDocument { .. }
            | Self::UnknownMethod { .. }
            | Self::UnknownPath { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unsatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::PolicyExists { .. } => StatusCode::CONFLICT,
            Self::Catalog { .. } | Self::Blob { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// Shorthand for a catalog failure.
    pub fn catalog(doing: impl Into<String>, source: rusqlite::Error) -> Self {
        Self::Catalog {
            doing: doing.into(),
            source,
        }
    }

    /// Shorthand for a blob failure.
    pub fn blob(doing: impl Into<String>, source: std::io::Error) -> Self {
        Self::Blob {
            doing: doing.into(),
            source,
        }
    }

    /// Shorthand for a refused field.
    pub fn field(field: &str, value: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::BadField {
            field: field.to_owned(),
            value: value.into(),
            reason: reason.into(),
        }
    }
}

/// Header-safe text: printable ASCII only, at most 512 characters.
fn explanation(message: &str) -> HeaderValue {
    let cleaned: String = message
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(512)
        .collect();
    HeaderValue::from_str(&cleaned).unwrap_or_else(|_| HeaderValue::from_static("error"))
}

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = self.to_string();
        if status.is_server_error() {
            tracing::error!(error = %message, "request failed");
        }

        let mut response = (status, format!("{message}\n")).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        headers.insert("x-explanation", explanation(&message));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Zope\""),
            );
        }
        if let Self::MethodNotAllowed { allowed, .. } = &self {
            headers.insert(header::ALLOW, HeaderValue::from_static(allowed));
        }
        response
    }
}

/// The result type of every handler step.
pub type Result<T, E = ServerError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unauthorized_answers_401_with_a_basic_challenge() {
        let response = ServerError::Unauthorized {
            reason: "no credentials".into(),
        }
        .into_response();

        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Basic realm=\"Zope\""
        );
    }

    #[test]
    fn explanation_replaces_what_a_header_cannot_carry() {
        let value = explanation("bad\nvalue \u{e9}");

        assert_eq!(value.to_str().unwrap(), "bad?value ?");
    }
}
