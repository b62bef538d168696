//! HTTP Basic authentication, asked on every path (wendelin-protocol.md
//! §8). Credentials are compared in constant time; the 401 answer and its
//! `WWW-Authenticate` challenge are made by `error.rs`.

use axum::http::{HeaderMap, header};
use base64::Engine;

use crate::error::{Result, ServerError};

/// The one user the server knows.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

/// Equality that takes the same time wherever the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    let mut difference = a.len() ^ b.len();
    for (index, byte) in a.iter().enumerate() {
        difference |= usize::from(byte ^ b.get(index).copied().unwrap_or(!byte));
    }
    difference == 0
}

/// The user and password of a `Basic` authorization header value.
fn decode_basic(value: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let split = decoded.iter().position(|&b| b == b':')?;
    Some((decoded[..split].to_vec(), decoded[split + 1..].to_vec()))
}

/// Checks a request's `Authorization` header.
///
/// # Errors
///
/// [`ServerError::Unauthorized`] naming what is missing or wrong (never the
/// password).
pub fn check(credentials: &Credentials, headers: &HeaderMap) -> Result<()> {
    let refuse = |reason: &str| ServerError::Unauthorized {
        reason: reason.to_owned(),
    };
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(refuse("send HTTP Basic credentials"));
    };
    let Some((user, password)) = value.to_str().ok().and_then(decode_basic) else {
        return Err(refuse("the Authorization header is not HTTP Basic"));
    };
    let user_ok = same(&user, credentials.user.as_bytes());
    let password_ok = same(&password, credentials.password.as_bytes());
    if user_ok && password_ok {
        Ok(())
    } else {
        Err(refuse(&format!(
            "wrong user or password for user {:?}",
            String::from_utf8_lossy(&user)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    fn zope() -> Credentials {
        Credentials {
            user: "zope".into(),
            password: "insecure".into(),
        }
    }

    #[test]
    fn right_credentials_pass() {
        // base64 of "zope:insecure"
        assert!(check(&zope(), &headers("Basic em9wZTppbnNlY3VyZQ==")).is_ok());
    }

    #[test]
    fn wrong_password_is_refused() {
        // base64 of "zope:secure"
        assert!(check(&zope(), &headers("Basic em9wZTpzZWN1cmU=")).is_err());
    }

    #[test]
    fn missing_or_other_scheme_is_refused() {
        assert!(check(&zope(), &HeaderMap::new()).is_err());
        assert!(check(&zope(), &headers("Bearer x")).is_err());
        assert!(check(&zope(), &headers("Basic !!!")).is_err());
    }

    #[test]
    fn password_prefix_is_not_enough() {
        assert!(!same(b"insec", b"insecure"));
        assert!(!same(b"insecure!", b"insecure"));
        assert!(same(b"insecure", b"insecure"));
    }
}
