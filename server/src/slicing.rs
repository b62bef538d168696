//! Data Array slices as Wendelin's `index_html` takes them: Zope `:records`
//! query fields `slice_index.start:records:int`, `slice_index.stop:...`,
//! `slice_index.step:...`, one record per dimension (wendelin-protocol.md
//! §4). The answer is the raw bytes of the selected rows.
//!
//! Only a slice of the first dimension with step 1 is served: it is a
//! contiguous byte range. TODO: other dimensions, steps and `list_index`
//! (structured arrays) answer 400 until a client needs them.

use crate::error::{Result, ServerError};

/// A first-dimension slice, Python style (`None` = from the start / to the
/// end, negative = from the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RowSlice {
    pub start: Option<i64>,
    pub stop: Option<i64>,
}

/// Whether a query asks for a slice at all.
pub fn asks_for_slice(query: &[(String, Vec<u8>)]) -> bool {
    query
        .iter()
        .any(|(name, _)| name.starts_with("slice_index") || name.starts_with("list_index"))
}

fn refuse(name: &str, value: &str, reason: &str) -> ServerError {
    ServerError::field(name, value, reason)
}

/// Reads the slice of a query.
///
/// # Errors
///
/// A value that is not an integer, more than one record (dimension), a
/// step other than 1, or `list_index`.
pub fn parse_slice(query: &[(String, Vec<u8>)]) -> Result<RowSlice> {
    let mut slice = RowSlice::default();
    let mut seen: Vec<&str> = Vec::new();
    for (name, value) in query {
        let value = String::from_utf8_lossy(value);
        if name.starts_with("list_index") {
            return Err(refuse(
                name,
                &value,
                "structured arrays are not served; read the bytes with Range",
            ));
        }
        let Some(field) = name.strip_prefix("slice_index.") else {
            continue;
        };
        let field = field.split(':').next().unwrap_or_default();
        if seen.contains(&field) {
            return Err(refuse(
                name,
                &value,
                "only a slice of the first dimension is served",
            ));
        }
        seen.push(field);
        let number: i64 = value
            .trim()
            .parse()
            .map_err(|_| refuse(name, &value, "expected an integer"))?;
        match field {
            "start" => slice.start = Some(number),
            "stop" => slice.stop = Some(number),
            "step" if number == 1 => {}
            "step" => return Err(refuse(name, &value, "only step 1 is served")),
            _ => {
                return Err(refuse(
                    name,
                    &value,
                    "expected slice_index.start, .stop or .step",
                ));
            }
        }
    }
    Ok(slice)
}

/// The rows `[first, end)` a slice selects among `rows`.
pub fn resolve(slice: RowSlice, rows: u64) -> (u64, u64) {
    let rows_signed = i128::from(rows);
    let place = |index: Option<i64>, default: i128| -> u64 {
        let index = index.map_or(default, i128::from);
        let index = if index < 0 {
            index + rows_signed
        } else {
            index
        };
        index.clamp(0, rows_signed) as u64
    };
    let first = place(slice.start, 0);
    let end = place(slice.stop, rows_signed);
    (first, end.max(first))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn start_and_stop_select_rows() {
        let slice = parse_slice(&query(&[
            ("slice_index.start:records:int", "2"),
            ("slice_index.stop:records:int", "5"),
        ]))
        .unwrap();

        assert_eq!(resolve(slice, 10), (2, 5));
    }

    #[test]
    fn negative_and_out_of_range_indices_follow_python() {
        let slice = RowSlice {
            start: Some(-3),
            stop: Some(100),
        };

        assert_eq!(resolve(slice, 10), (7, 10));
        assert_eq!(
            resolve(
                RowSlice {
                    start: Some(8),
                    stop: Some(2)
                },
                10
            ),
            (8, 8)
        );
    }

    #[test]
    fn second_dimension_or_step_is_refused() {
        let two_records = query(&[
            ("slice_index.start:records:int", "0"),
            ("slice_index.start:records:int", "1"),
        ]);

        assert!(parse_slice(&two_records).is_err());
        assert!(parse_slice(&query(&[("slice_index.step:records:int", "2")])).is_err());
        assert!(parse_slice(&query(&[("list_index:list", "x")])).is_err());
    }
}
