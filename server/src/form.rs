//! Form and query decoding, and the field map calls take their arguments
//! from.
//!
//! Zope takes arguments from `application/x-www-form-urlencoded` bodies and
//! query strings; our additions also take a JSON object. Both become a
//! [`Fields`] map of JSON values (form values are strings). Values are
//! decoded to bytes first, since `data_chunk` carries binary msgpack
//! (wendelin-protocol.md §6); malformed `%` escapes are kept literally, as
//! browsers and Zope do.

use serde_json::{Map, Value};

use crate::error::{Result, ServerError};

/// Call arguments by name.
pub type Fields = Map<String, Value>;

fn hex_digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Decodes one `application/x-www-form-urlencoded` component to bytes.
pub fn percent_decode(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut index = 0;
    while index < text.len() {
        let byte = text[index];
        let escaped = (byte == b'%')
            .then(|| {
                Some((
                    hex_digit(*text.get(index + 1)?)?,
                    hex_digit(*text.get(index + 2)?)?,
                ))
            })
            .flatten();
        match (byte, escaped) {
            (_, Some((high, low))) => {
                out.push(high << 4 | low);
                index += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                index += 1;
            }
            (other, None) => {
                out.push(other);
                index += 1;
            }
        }
    }
    out
}

/// Decodes a whole urlencoded text into `(name, value bytes)` pairs, in
/// order, repeated names kept.
pub fn parse_urlencoded(text: &[u8]) -> Vec<(String, Vec<u8>)> {
    text.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let split = pair.iter().position(|&b| b == b'=').unwrap_or(pair.len());
            let name = percent_decode(&pair[..split]);
            let value = pair
                .get(split + 1..)
                .map(percent_decode)
                .unwrap_or_default();
            (String::from_utf8_lossy(&name).into_owned(), value)
        })
        .collect()
}

/// All values of a query parameter, as text.
pub fn query_values(query: &[(String, Vec<u8>)], name: &str) -> Vec<String> {
    query
        .iter()
        .filter(|(key, _)| key == name)
        .map(|(_, value)| String::from_utf8_lossy(value).into_owned())
        .collect()
}

/// The first value of a query parameter, as text.
pub fn query_value(query: &[(String, Vec<u8>)], name: &str) -> Option<String> {
    query_values(query, name).into_iter().next()
}

/// Field map of a call: the query string's pairs, then the body's (a JSON
/// object when `content_type` says JSON, a form otherwise), later ones
/// winning.
///
/// # Errors
///
/// A JSON body that is not an object.
pub fn fields(query: Option<&str>, content_type: &str, body: &[u8]) -> Result<Fields> {
    let mut fields = Fields::new();
    let pairs = parse_urlencoded(query.unwrap_or_default().as_bytes());
    for (name, value) in pairs {
        fields.insert(
            name,
            Value::String(String::from_utf8_lossy(&value).into_owned()),
        );
    }

    if content_type.starts_with("application/json") {
        let parsed: Value = serde_json::from_slice(body).map_err(|e| ServerError::BadBody {
            reason: format!("not JSON: {e}"),
        })?;
        let Value::Object(object) = parsed else {
            return Err(ServerError::BadBody {
                reason: "expected a JSON object of fields".to_owned(),
            });
        };
        fields.extend(object);
    } else {
        for (name, value) in parse_urlencoded(body) {
            fields.insert(
                name,
                Value::String(String::from_utf8_lossy(&value).into_owned()),
            );
        }
    }
    Ok(fields)
}

/// A field as text: strings as they are, numbers and booleans printed,
/// null as absent.
pub fn text_field(fields: &Fields, name: &str) -> Option<String> {
    match fields.get(name)? {
        Value::String(text) => Some(text.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_and_escapes_decode() {
        assert_eq!(percent_decode(b"a+b%20c%00"), b"a b c\0");
    }

    #[test]
    fn malformed_escape_is_kept_literally() {
        assert_eq!(percent_decode(b"100%zz%4"), b"100%zz%4");
    }

    #[test]
    fn binary_form_values_survive() {
        let pairs = parse_urlencoded(b"data_chunk=%92%01%A1x&reference=a");

        assert_eq!(pairs[0].1, vec![0x92, 0x01, 0xa1, b'x']);
        assert_eq!(pairs[1], ("reference".to_owned(), b"a".to_vec()));
    }

    #[test]
    fn json_body_fields_override_the_query() {
        let fields = fields(
            Some("title=q"),
            "application/json",
            br#"{"title": "j", "n": 3}"#,
        )
        .unwrap();

        assert_eq!(text_field(&fields, "title").as_deref(), Some("j"));
        assert_eq!(text_field(&fields, "n").as_deref(), Some("3"));
    }

    #[test]
    fn json_array_body_is_refused() {
        assert!(fields(None, "application/json", b"[1]").is_err());
    }
}
