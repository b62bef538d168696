//! The HTTP layer: one [`HttpSession`] per server (base URL, Basic
//! credentials, TLS trust, timeout) that sends requests and turns every
//! failure into a [`ReaderError`] a data scientist can act on; and
//! [`HttpObject`], a document's bytes as a [`ByteRange`] read with
//! `Range` GETs and appended to with `Content-Range` PUTs
//! (wendelin-protocol.md §3, docs/http-contract.md "Bytes").
//!
//! ureq is used rather than reqwest: the client is blocking (the kernel's
//! script engine is synchronous), and ureq reads a body straight from the
//! socket into the caller's buffer without a runtime thread in between.

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use ureq::http::Response;

use crate::ReaderError;
use crate::range::ByteRange;

/// How to reach a server.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectOptions {
    /// The portal's URL (`http://host:port/erp5`); the full
    /// `…/erp5/Base_executeJupyter` URL of the ERP5 kernel is accepted.
    pub url: String,
    /// Basic-auth user, if any.
    pub user: Option<String>,
    /// Basic-auth password.
    pub password: Option<String>,
    /// A PEM bundle of CA certificates to trust for HTTPS instead of the
    /// built-in roots.
    pub ca_bundle: Option<PathBuf>,
    /// Skip TLS verification (asked for explicitly; logs a warning).
    pub insecure: bool,
    /// Longest wait to connect, for an answer to start, and for each read
    /// or write of a body; default 60 s.
    pub timeout: Duration,
}

impl ConnectOptions {
    /// Options for `url` without credentials.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            user: None,
            password: None,
            ca_bundle: None,
            insecure: false,
            timeout: Duration::from_secs(60),
        }
    }

    /// The same with Basic credentials.
    pub fn with_credentials(
        mut self,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.user = Some(user.into());
        self.password = Some(password.into());
        self
    }

    /// Options from `WENDELIN_URL` (default `http://127.0.0.1:8080/erp5`),
    /// `WENDELIN_USER`, `WENDELIN_PASSWORD` and `WENDELIN_CA_BUNDLE`.
    pub fn from_env() -> Self {
        let variable = |name| {
            std::env::var(name)
                .ok()
                .filter(|value: &String| !value.is_empty())
        };
        let mut options = Self::new(
            variable("WENDELIN_URL").unwrap_or_else(|| "http://127.0.0.1:8080/erp5".to_owned()),
        );
        options.user = variable("WENDELIN_USER");
        options.password = variable("WENDELIN_PASSWORD");
        options.ca_bundle = variable("WENDELIN_CA_BUNDLE").map(PathBuf::from);
        options
    }
}

/// The portal URL without a trailing slash or `/Base_executeJupyter`.
///
/// # Errors
/// [`ReaderError::InvalidArgument`] for a URL that is not http(s).
pub fn normalise_base_url(url: &str) -> Result<String, ReaderError> {
    let trimmed = url.trim().trim_end_matches('/');
    let trimmed = trimmed
        .strip_suffix("/Base_executeJupyter")
        .unwrap_or(trimmed)
        .trim_end_matches('/');
    let scheme_ok = trimmed.starts_with("http://") || trimmed.starts_with("https://");
    if !scheme_ok || trimmed.len() <= "https://".len() {
        return Err(ReaderError::InvalidArgument {
            name: "server URL",
            value: format!("{url:?}"),
            reason: "expected http://host:port/erp5 or https://host/erp5".to_owned(),
        });
    }
    Ok(trimmed.to_owned())
}

/// A connection to one server: base URL, credentials, TLS, timeout.
pub struct HttpSession {
    agent: ureq::Agent,
    base: String,
    user: String,
    authorization: Option<String>,
    timeout: Duration,
}

impl std::fmt::Debug for HttpSession {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("HttpSession")
            .field("base", &self.base)
            .field("user", &self.user)
            .finish()
    }
}

impl HttpSession {
    /// Prepares a session; sends nothing.
    ///
    /// # Errors
    /// [`ReaderError::InvalidArgument`] for a bad URL, or a CA bundle that
    /// cannot be read or holds no certificate.
    pub fn new(options: &ConnectOptions) -> Result<Self, ReaderError> {
        let base = normalise_base_url(&options.url)?;
        let tls = tls_config(options)?;
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(options.timeout))
            .timeout_recv_response(Some(options.timeout))
            .timeout_per_read(Some(options.timeout))
            .timeout_per_write(Some(options.timeout))
            .tls_config(tls)
            .max_redirects(0)
            .build();
        let authorization = options.user.as_ref().map(|user| {
            let pair = format!("{user}:{}", options.password.as_deref().unwrap_or(""));
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        });
        let user = options.user.clone().unwrap_or_default();
        Ok(Self {
            agent: config.into(),
            base,
            user,
            authorization,
            timeout: options.timeout,
        })
    }

    /// The portal's URL, e.g. `http://127.0.0.1:8080/erp5`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The absolute URL of `path` under the portal.
    pub fn url(&self, path: &str) -> String {
        if path.is_empty() {
            self.base.clone()
        } else {
            format!("{}/{}", self.base, path.trim_start_matches('/'))
        }
    }

    /// Sends a request and maps transport failures; any status comes back.
    pub(crate) fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        body: Option<&[u8]>,
    ) -> Result<Response<ureq::Body>, ReaderError> {
        tracing::debug!(method, url, "http request");
        let result = match method {
            "GET" => self.with_headers(self.agent.get(url), headers).call(),
            "PUT" => self
                .with_headers(self.agent.put(url), headers)
                .send(body.unwrap_or_default()),
            _ => self
                .with_headers(self.agent.post(url), headers)
                .send(body.unwrap_or_default()),
        };
        result.map_err(|error| self.transport_error(url, error))
    }

    fn with_headers<B>(
        &self,
        mut request: ureq::RequestBuilder<B>,
        headers: &[(&str, String)],
    ) -> ureq::RequestBuilder<B> {
        if let Some(authorization) = &self.authorization {
            request = request.header("Authorization", authorization);
        }
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        request
    }

    /// A GET answered 200, its body as JSON.
    pub(crate) fn get_json(
        &self,
        url: &str,
        addition: Option<&str>,
    ) -> Result<serde_json::Value, ReaderError> {
        let response = self.send(
            "GET",
            url,
            &[("Accept", "application/json".to_owned())],
            None,
        )?;
        self.json_body(url, response, addition)
    }

    /// A POST of a JSON object answered 200 or 201, its body as JSON.
    pub(crate) fn post_json(
        &self,
        url: &str,
        body: &serde_json::Value,
        addition: Option<&str>,
    ) -> Result<serde_json::Value, ReaderError> {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        let headers = [
            ("Content-Type", "application/json".to_owned()),
            ("Accept", "application/json".to_owned()),
        ];
        let response = self.send("POST", url, &headers, Some(&bytes))?;
        self.json_body(url, response, addition)
    }

    /// Checks the status of `response` and parses its body as JSON. A
    /// 404/405 on an `addition`, or an HTML page where JSON was expected,
    /// means the server lacks that addition.
    fn json_body(
        &self,
        url: &str,
        response: Response<ureq::Body>,
        addition: Option<&str>,
    ) -> Result<serde_json::Value, ReaderError> {
        let response = self.check_status(url, response, addition)?;
        let status = response.status().as_u16();
        let is_html = content_type(&response).starts_with("text/html");
        let text = read_text(url, response, 64 << 20)?;
        if let (Some(call), true) = (addition, is_html) {
            return Err(ReaderError::MissingAddition {
                call: call.to_owned(),
                url: url.to_owned(),
                status,
            });
        }
        serde_json::from_str(&text).map_err(|error| ReaderError::Protocol {
            url: url.to_owned(),
            reason: format!("the body is not JSON ({error}): {}", excerpt(&text)),
        })
    }

    /// Passes a 2xx/206/308 response; turns the others into errors.
    pub(crate) fn check_status(
        &self,
        url: &str,
        response: Response<ureq::Body>,
        addition: Option<&str>,
    ) -> Result<Response<ureq::Body>, ReaderError> {
        let status = response.status().as_u16();
        if (200..300).contains(&status) || status == 308 {
            return Ok(response);
        }
        let url = url.to_owned();
        Err(match status {
            401 => ReaderError::Unauthorized {
                url,
                user: self.user.clone(),
            },
            404 | 405 if addition.is_some() => ReaderError::MissingAddition {
                call: addition.unwrap_or_default().to_owned(),
                url,
                status,
            },
            404 => ReaderError::NotFound { url },
            500..=599 => {
                let detail = explanation(response);
                ReaderError::Transient {
                    url,
                    reason: format!("the server answered HTTP {status}: {detail}"),
                }
            }
            _ => ReaderError::Status {
                detail: explanation(response),
                url,
                status,
            },
        })
    }

    /// A transport failure in words, with what to check.
    fn transport_error(&self, url: &str, error: ureq::Error) -> ReaderError {
        let url = url.to_owned();
        match error {
            ureq::Error::Timeout(_) => ReaderError::Timeout {
                url,
                seconds: self.timeout.as_secs_f64(),
            },
            ureq::Error::HostNotFound => ReaderError::Unreachable {
                url,
                reason: "the host name does not resolve".to_owned(),
            },
            ureq::Error::ConnectionFailed => ReaderError::Unreachable {
                url,
                reason: "the connection failed".to_owned(),
            },
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                ReaderError::Unreachable {
                    url,
                    reason: "the connection was refused".to_owned(),
                }
            }
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
                ReaderError::Timeout {
                    url,
                    seconds: self.timeout.as_secs_f64(),
                }
            }
            ureq::Error::Io(io) if is_tls_failure(&io) => ReaderError::Unreachable {
                url,
                reason: format!(
                    "TLS failed ({io}); set WENDELIN_CA_BUNDLE to the server's CA certificate"
                ),
            },
            ureq::Error::Io(io) => ReaderError::Transient {
                url,
                reason: io.to_string(),
            },
            tls @ (ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_)) => {
                ReaderError::Unreachable {
                    url,
                    reason: format!(
                        "TLS failed ({tls}); set WENDELIN_CA_BUNDLE to the server's CA certificate"
                    ),
                }
            }
            other => ReaderError::Protocol {
                url,
                reason: other.to_string(),
            },
        }
    }
}

/// True for a handshake refused by rustls, which ureq passes on as an
/// I/O error whose inner error is rustls's (not a type we can name
/// without depending on rustls, so it is recognised by its text).
fn is_tls_failure(io: &std::io::Error) -> bool {
    let text = io.get_ref().map(ToString::to_string).unwrap_or_default();
    ["certificate", "handshake", "TLS", "tls"]
        .iter()
        .any(|word| text.contains(word))
}

/// The TLS trust asked for: a CA bundle, no verification, or the
/// built-in roots.
fn tls_config(options: &ConnectOptions) -> Result<ureq::tls::TlsConfig, ReaderError> {
    let mut builder = ureq::tls::TlsConfig::builder();
    if options.insecure {
        tracing::warn!(url = %options.url, "TLS certificate verification is disabled, as asked");
        builder = builder.disable_verification(true);
    }
    if let Some(path) = &options.ca_bundle {
        builder = builder.root_certs(ureq::tls::RootCerts::new_with_certs(&read_ca_bundle(path)?));
    }
    Ok(builder.build())
}

fn read_ca_bundle(
    path: &std::path::Path,
) -> Result<Vec<ureq::tls::Certificate<'static>>, ReaderError> {
    let invalid = |reason: String| ReaderError::InvalidArgument {
        name: "CA bundle",
        value: path.display().to_string(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|error| invalid(format!("cannot be read: {error}")))?;
    let certificates: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(certificate)) => Some(certificate.to_owned()),
            _ => None,
        })
        .collect();
    if certificates.is_empty() {
        return Err(invalid("holds no PEM certificate".to_owned()));
    }
    Ok(certificates)
}

fn content_type(response: &Response<ureq::Body>) -> String {
    header(response, "content-type").unwrap_or_default()
}

/// A header's value as text.
pub(crate) fn header(response: &Response<ureq::Body>, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// The body as text, at most `limit` bytes.
pub(crate) fn read_text(
    url: &str,
    mut response: Response<ureq::Body>,
    limit: u64,
) -> Result<String, ReaderError> {
    response
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_string()
        .map_err(|error| ReaderError::Transient {
            url: url.to_owned(),
            reason: format!("reading the answer failed: {error}"),
        })
}

/// What an error answer says: `X-Explanation`, else the body's start.
fn explanation(response: Response<ureq::Body>) -> String {
    if let Some(explanation) = header(&response, "x-explanation") {
        return explanation;
    }
    let mut response = response;
    let text = response
        .body_mut()
        .with_config()
        .limit(4096)
        .lossy_utf8(true)
        .read_to_string()
        .unwrap_or_default();
    excerpt(&text)
}

/// The first line of `text`, at most 200 characters.
fn excerpt(text: &str) -> String {
    let line = text.trim().lines().next().unwrap_or("(empty body)");
    line.chars().take(200).collect()
}

/// A document's bytes on the server, read by ranges and appended to.
/// The size is the one last seen; [`HttpObject::refresh_size`] asks again.
pub struct HttpObject {
    session: Arc<HttpSession>,
    url: String,
    name: String,
    size: AtomicU64,
    open: Mutex<Option<OpenRead>>,
}

/// Reads at least this long are served from one open-ended answer
/// (`Range: bytes=a-`) kept open while reads follow on, as curl would
/// stream; shorter ones are bounded ranged GETs.
pub const STREAMING_READ: usize = 1 << 20;

/// An answer to `Range: bytes=a-` being read, and the offset it is at.
struct OpenRead {
    next: u64,
    body: ureq::BodyReader<'static>,
}

impl HttpObject {
    /// The bytes of the document at `url`, of `size` bytes, named `name`
    /// in messages ("data stream 3").
    pub fn new(session: Arc<HttpSession>, url: String, name: String, size: u64) -> Self {
        Self {
            session,
            url,
            name,
            size: AtomicU64::new(size),
            open: Mutex::new(None),
        }
    }

    /// The document's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Asks the server for the current size (`getSize`, a Wendelin
    /// getter) and returns it.
    ///
    /// # Errors
    /// The HTTP failure, or a body that is not a number.
    pub fn refresh_size(&self) -> Result<u64, ReaderError> {
        let url = format!("{}/getSize", self.url);
        let response = self.session.send("GET", &url, &[], None)?;
        let response = self.session.check_status(&url, response, None)?;
        let text = read_text(&url, response, 1024)?;
        let size = text.trim().parse().map_err(|_| ReaderError::Protocol {
            url: url.clone(),
            reason: format!("getSize answered {:?}, not a number", excerpt(&text)),
        })?;
        self.size.store(size, Ordering::SeqCst);
        Ok(size)
    }

    /// Replaces the whole content (a PUT without `Content-Range`).
    ///
    /// # Errors
    /// The HTTP failure.
    pub fn replace(&self, bytes: &[u8], content_type: &str) -> Result<(), ReaderError> {
        let headers = [("Content-Type", content_type.to_owned())];
        *self
            .open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = None;
        let response = self.session.send("PUT", &self.url, &headers, Some(bytes))?;
        self.session.check_status(&self.url, response, None)?;
        self.size.store(bytes.len() as u64, Ordering::SeqCst);
        Ok(())
    }

    /// Fills `buffer` from `offset` through the open answer, opening one
    /// when none continues at `offset`. A broken answer is dropped, so the
    /// caller's retry opens a fresh one.
    fn read_streaming(&self, offset: u64, buffer: &mut [u8]) -> Result<(), ReaderError> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(read) = open.as_mut().filter(|read| read.next == offset) {
            if read.body.read_exact(buffer).is_ok() {
                read.next += buffer.len() as u64;
                return Ok(());
            }
            // a kept answer may have been closed by the server while idle
            tracing::debug!(url = %self.url, offset, "kept answer broke off; asking again");
        }

        *open = None;
        let mut read = self.open_from(offset)?;
        read.body
            .read_exact(buffer)
            .map_err(|error| ReaderError::Transient {
                url: self.url.clone(),
                reason: format!("the answer from byte {offset} broke off: {error}"),
            })?;
        read.next = offset + buffer.len() as u64;
        *open = Some(read);
        Ok(())
    }

    /// Sends `Range: bytes=offset-` and keeps the answer's body.
    fn open_from(&self, offset: u64) -> Result<OpenRead, ReaderError> {
        let headers = [("Range", format!("bytes={offset}-"))];
        let response = self.session.send("GET", &self.url, &headers, None)?;
        let response = self.checked_partial(response, offset, offset + 1)?;
        Ok(OpenRead {
            next: offset,
            body: response.into_body().into_reader(),
        })
    }

    /// Passes a 206 answer; 416 and other statuses become errors.
    fn checked_partial(
        &self,
        response: Response<ureq::Body>,
        start: u64,
        end: u64,
    ) -> Result<Response<ureq::Body>, ReaderError> {
        if response.status().as_u16() == 416 {
            return Err(ReaderError::OutOfRange {
                object: self.name.clone(),
                start,
                end,
                size: self.size(),
            });
        }
        let response = self.session.check_status(&self.url, response, None)?;
        if response.status().as_u16() != 206 {
            return Err(ReaderError::Protocol {
                url: self.url.clone(),
                reason: format!(
                    "a Range request answered HTTP {}, not 206 Partial Content",
                    response.status().as_u16()
                ),
            });
        }
        Ok(response)
    }

    /// One ranged GET of exactly `buffer.len()` bytes at `offset`.
    fn get_range(&self, offset: u64, buffer: &mut [u8]) -> Result<(), ReaderError> {
        let last = offset + buffer.len() as u64 - 1;
        let headers = [("Range", format!("bytes={offset}-{last}"))];
        let response = self.session.send("GET", &self.url, &headers, None)?;
        let mut response = self.checked_partial(response, offset, last + 1)?;
        let mut reader = response.body_mut().as_reader();
        reader
            .read_exact(buffer)
            .map_err(|error| ReaderError::Transient {
                url: self.url.clone(),
                reason: format!("the answer to bytes {offset}-{last} broke off: {error}"),
            })
    }
}

impl ByteRange for HttpObject {
    fn size(&self) -> u64 {
        self.size.load(Ordering::SeqCst)
    }

    fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<usize, ReaderError> {
        let size = self.size();
        if offset >= size || buffer.is_empty() {
            return Ok(0);
        }
        let count = buffer.len().min((size - offset) as usize);
        if count >= STREAMING_READ {
            self.read_streaming(offset, &mut buffer[..count])?;
        } else {
            self.get_range(offset, &mut buffer[..count])?;
        }
        Ok(count)
    }

    fn describe(&self) -> String {
        self.name.clone()
    }

    /// A PUT with `Content-Range: bytes a-b/total`, where `a` is the size
    /// last seen (wendelin-protocol.md §3).
    fn append(&self, bytes: &[u8]) -> Result<u64, ReaderError> {
        let start = self.size();
        if bytes.is_empty() {
            return Ok(start);
        }
        // an open answer ends at the old size: the next read opens a new one
        *self
            .open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = None;
        let end = start + bytes.len() as u64;
        let headers = [
            ("Content-Range", format!("bytes {start}-{}/{end}", end - 1)),
            ("Content-Type", "application/octet-stream".to_owned()),
        ];
        let response = self.session.send("PUT", &self.url, &headers, Some(bytes))?;
        self.session.check_status(&self.url, response, None)?;
        self.size.store(end, Ordering::SeqCst);
        Ok(end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_url_is_accepted_as_a_base_url() {
        let base = normalise_base_url("http://127.0.0.1:8080/erp5/Base_executeJupyter").unwrap();
        assert_eq!(base, "http://127.0.0.1:8080/erp5");
        assert_eq!(
            normalise_base_url("https://h/erp5/").unwrap(),
            "https://h/erp5"
        );
    }

    #[test]
    fn urls_that_are_not_http_are_refused() {
        let error = normalise_base_url("ftp://h/erp5").unwrap_err().to_string();
        assert_eq!(
            error,
            "invalid server URL \"ftp://h/erp5\": expected http://host:port/erp5 or https://host/erp5"
        );
        assert!(normalise_base_url("http://").is_err());
    }

    #[test]
    fn a_ca_bundle_without_certificates_is_refused() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), "not a certificate").unwrap();
        let mut options = ConnectOptions::new("https://127.0.0.1:1/erp5");
        options.ca_bundle = Some(file.path().to_path_buf());

        let error = HttpSession::new(&options).unwrap_err().to_string();

        assert!(error.contains("holds no PEM certificate"), "{error}");
    }

    #[test]
    fn a_closed_port_is_reported_as_unreachable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let session = HttpSession::new(&ConnectOptions::new(format!(
            "http://127.0.0.1:{port}/erp5"
        )))
        .unwrap();

        let error = session.get_json(&session.url(""), None).unwrap_err();

        assert!(matches!(error, ReaderError::Unreachable { .. }), "{error}");
        assert!(
            error
                .to_string()
                .contains("check the URL and that the server is running")
        );
    }
}
