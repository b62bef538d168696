//! Data Array element types and shapes.
//!
//! A Data Array holds raw little-endian C-order bytes (wendelin-protocol.md
//! §4). Its dtype is kept in numpy `descr` notation (`<f8`); numpy names
//! (`float64`) are accepted on input. Big-endian and structured dtypes are
//! refused: the bytes must be readable as they are. Shapes arrive as JSON
//! lists or as text (`[0, 2]`, `(0, 2)`, `0,2`).

use serde_json::Value;

use crate::error::{Result, ServerError};

/// Largest accepted dimension (2^48).
const MAX_DIMENSION: u64 = 1 << 48;

/// Most dimensions of a shape.
const MAX_RANK: usize = 32;

/// A dtype: its normalised `descr` and the bytes of one element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dtype {
    pub descr: &'static str,
    pub itemsize: u64,
}

const DTYPES: &[(&str, &str, u64)] = &[
    ("<f2", "float16", 2),
    ("<f4", "float32", 4),
    ("<f8", "float64", 8),
    ("<c8", "complex64", 8),
    ("<c16", "complex128", 16),
    ("|i1", "int8", 1),
    ("<i2", "int16", 2),
    ("<i4", "int32", 4),
    ("<i8", "int64", 8),
    ("|u1", "uint8", 1),
    ("<u2", "uint16", 2),
    ("<u4", "uint32", 4),
    ("<u8", "uint64", 8),
    ("|b1", "bool", 1),
];

/// Parses a dtype in `descr` notation or by numpy name.
///
/// # Errors
///
/// An unknown, big-endian or structured dtype.
pub fn parse_dtype(text: &str) -> Result<Dtype> {
    let trimmed = text.trim();
    let refuse = |reason: &str| ServerError::field("dtype", trimmed, reason);
    if trimmed.starts_with('>') {
        return Err(refuse(
            "big-endian dtypes are not stored; convert to little-endian ('<')",
        ));
    }
    if trimmed.starts_with('[') || trimmed.starts_with('(') {
        return Err(refuse("structured dtypes are not supported"));
    }

    // '=' (native) and '<' are the same on the machines we serve;
    // byte-sized types may carry any order mark
    let body = trimmed.trim_start_matches(['<', '=', '|']);
    DTYPES
        .iter()
        .find(|(descr, name, _)| *name == body || descr[1..] == *body)
        .map(|&(descr, _, itemsize)| Dtype { descr, itemsize })
        .ok_or_else(|| {
            refuse("unknown dtype; use a numpy descr such as <f8, <c16, <i2, or a name such as float64")
        })
}

/// Splits a shape given as text into its numbers.
fn shape_numbers(text: &str) -> Vec<&str> {
    text.trim()
        .trim_start_matches(['[', '('])
        .trim_end_matches([']', ')'])
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .collect()
}

fn dimension(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// Parses a shape from a JSON list or its text forms.
///
/// # Errors
///
/// No dimension, too many, a dimension that is not a non-negative integer
/// or is larger than 2^48.
pub fn parse_shape(value: &Value) -> Result<Vec<u64>> {
    let shown = value.to_string();
    let refuse = |reason: &str| ServerError::field("shape", shown.clone(), reason);
    let items: Vec<Value> = match value {
        Value::Array(items) => items.clone(),
        Value::String(text) => shape_numbers(text)
            .into_iter()
            .map(|item| Value::String(item.to_owned()))
            .collect(),
        Value::Number(_) => vec![value.clone()],
        _ => return Err(refuse("expected a list of dimensions such as [0, 2]")),
    };

    if items.is_empty() || items.len() > MAX_RANK {
        return Err(refuse("expected between 1 and 32 dimensions"));
    }
    items
        .iter()
        .map(|item| {
            dimension(item)
                .filter(|&n| n <= MAX_DIMENSION)
                .ok_or_else(|| refuse("dimensions must be integers from 0 to 2^48"))
        })
        .collect()
}

/// Bytes of one row (first-dimension index) of an array with these
/// trailing dimensions.
///
/// # Errors
///
/// A trailing dimension of 0 (rows would be empty) or a row over 2^48
/// bytes.
pub fn row_bytes(dtype: Dtype, trailing: &[u64]) -> Result<u64> {
    let refuse = |reason: &str| ServerError::field("shape", format!("{trailing:?}"), reason);
    trailing
        .iter()
        .try_fold(dtype.itemsize, |acc, &n| acc.checked_mul(n))
        .filter(|&n| n <= MAX_DIMENSION)
        .ok_or_else(|| refuse("a row would be larger than 2^48 bytes"))
        .and_then(|n| {
            if n == 0 {
                Err(refuse("a trailing dimension of 0 makes every row empty"))
            } else {
                Ok(n)
            }
        })
}

/// Python tuple text of a shape, as Zope renders `getArrayShape`:
/// `(3, 2)`, `(5,)`.
pub fn tuple_text(shape: &[u64]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => {
            let items: Vec<String> = shape.iter().map(u64::to_string).collect();
            format!("({})", items.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numpy_names_normalise_to_descr() {
        assert_eq!(parse_dtype("float64").unwrap().descr, "<f8");
        assert_eq!(parse_dtype("complex128").unwrap().itemsize, 16);
        assert_eq!(parse_dtype("<i2").unwrap().descr, "<i2");
        assert_eq!(parse_dtype("=f4").unwrap().descr, "<f4");
        assert_eq!(parse_dtype("u1").unwrap().descr, "|u1");
    }

    #[test]
    fn big_endian_dtype_is_refused() {
        let message = parse_dtype(">f8").unwrap_err().to_string();

        assert!(message.contains(">f8"), "{message}");
    }

    #[test]
    fn unknown_dtype_is_refused() {
        assert!(parse_dtype("float128").is_err());
        assert!(parse_dtype("").is_err());
    }

    #[test]
    fn shapes_parse_from_json_and_text() {
        assert_eq!(parse_shape(&json!([0, 2])).unwrap(), vec![0, 2]);
        assert_eq!(parse_shape(&json!("(5,)")).unwrap(), vec![5]);
        assert_eq!(parse_shape(&json!("3, 4")).unwrap(), vec![3, 4]);
        assert_eq!(parse_shape(&json!(7)).unwrap(), vec![7]);
    }

    #[test]
    fn negative_or_empty_shapes_are_refused() {
        assert!(parse_shape(&json!([-1])).is_err());
        assert!(parse_shape(&json!([])).is_err());
        assert!(parse_shape(&json!("()")).is_err());
    }

    #[test]
    fn zero_trailing_dimension_is_refused() {
        let dtype = parse_dtype("<f8").unwrap();

        assert!(row_bytes(dtype, &[0]).is_err());
        assert_eq!(row_bytes(dtype, &[2, 3]).unwrap(), 48);
        assert_eq!(row_bytes(dtype, &[]).unwrap(), 8);
    }

    #[test]
    fn shapes_render_as_python_tuples() {
        assert_eq!(tuple_text(&[5]), "(5,)");
        assert_eq!(tuple_text(&[3, 2]), "(3, 2)");
    }
}
