//! Parsing of the `Range` and `Content-Range` headers.
//!
//! `Range: bytes=a-b` selects bytes of a document for a GET; `Content-Range:
//! bytes a-b/total` describes an appending PUT and `bytes */*` asks for the
//! current size (wendelin-protocol.md §3). This file only parses and
//! resolves against a size; the refusals with Wendelin's explanations live
//! with the PUT handler. Parsers never panic, whatever the bytes.

/// At most this many ranges in one `Range` header.
pub const MAX_RANGES: usize = 64;

/// One range of a `Range: bytes=...` header, before the size is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    /// `a-b`: bytes a to b inclusive (b may be past the end).
    FromTo(u64, u64),
    /// `a-`: from a to the end.
    From(u64),
    /// `-n`: the last n bytes.
    Suffix(u64),
}

/// A `Content-Range` header of a PUT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentRange {
    /// `bytes */*`: the client asks for the current size.
    SizeQuery,
    /// `bytes first-last/total`.
    Bytes { first: u64, last: u64, total: u64 },
}

/// Parses a decimal number that fits in a `u64`.
fn number(text: &str) -> Result<u64, String> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{text:?} is not a byte position"));
    }
    text.parse()
        .map_err(|_| format!("{text:?} is not a byte position"))
}

/// Parses one `a-b`, `a-` or `-n` item.
fn range_spec(item: &str) -> Result<RangeSpec, String> {
    let item = item.trim();
    let Some((first, last)) = item.split_once('-') else {
        return Err(format!("{item:?} has no '-'"));
    };
    let (first, last) = (first.trim(), last.trim());

    match (first.is_empty(), last.is_empty()) {
        (true, true) => Err(format!("{item:?} has neither start nor end")),
        (true, false) => Ok(RangeSpec::Suffix(number(last)?)),
        (false, true) => Ok(RangeSpec::From(number(first)?)),
        (false, false) => {
            let (a, b) = (number(first)?, number(last)?);
            if b < a {
                return Err(format!("{item:?} ends before it starts"));
            }
            Ok(RangeSpec::FromTo(a, b))
        }
    }
}

/// Parses a `Range` header value (`bytes=0-99`, `bytes=0-9, 20-`,
/// `bytes=-500`).
///
/// # Errors
///
/// A reason naming the part that does not parse: another unit, no range,
/// more than [`MAX_RANGES`], a number that is not one, an end before its
/// start.
pub fn parse_range(header: &str) -> Result<Vec<RangeSpec>, String> {
    let Some((unit, list)) = header.trim().split_once('=') else {
        return Err("expected bytes=<first>-<last>".to_owned());
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return Err(format!("unit {:?} is not bytes", unit.trim()));
    }

    let specs: Vec<RangeSpec> = list
        .split(',')
        .filter(|item| !item.trim().is_empty())
        .take(MAX_RANGES + 1)
        .map(range_spec)
        .collect::<Result<_, _>>()?;
    if specs.is_empty() {
        return Err("no range given".to_owned());
    }
    if specs.len() > MAX_RANGES {
        return Err(format!("more than {MAX_RANGES} ranges"));
    }
    Ok(specs)
}

/// The inclusive byte interval a range selects in content of `size` bytes,
/// or `None` when it selects nothing (it starts at or past the end).
pub fn resolve(spec: RangeSpec, size: u64) -> Option<(u64, u64)> {
    if size == 0 {
        return None;
    }
    match spec {
        RangeSpec::FromTo(a, b) if a < size => Some((a, b.min(size - 1))),
        RangeSpec::From(a) if a < size => Some((a, size - 1)),
        RangeSpec::Suffix(n) if n > 0 => Some((size - n.min(size), size - 1)),
        _ => None,
    }
}

/// Parses a `Content-Range` header value of a PUT.
///
/// # Errors
///
/// A reason naming what does not parse; the caller answers Wendelin's
/// "Can not parse range".
pub fn parse_content_range(header: &str) -> Result<ContentRange, String> {
    let text = header.trim();
    let Some(rest) = text
        .get(..6)
        .filter(|unit| unit.eq_ignore_ascii_case("bytes "))
        .map(|_| &text[6..])
    else {
        return Err("expected bytes <first>-<last>/<total>".to_owned());
    };
    let Some((interval, total)) = rest.trim().split_once('/') else {
        return Err(format!("{rest:?} has no /<total>"));
    };
    let (interval, total) = (interval.trim(), total.trim());

    if interval == "*" && total == "*" {
        return Ok(ContentRange::SizeQuery);
    }
    let Some((first, last)) = interval.split_once('-') else {
        return Err(format!("{interval:?} is not <first>-<last>"));
    };
    let (first, last, total) = (number(first.trim())?, number(last.trim())?, number(total)?);
    if last < first {
        return Err(format!("{interval:?} ends before it starts"));
    }
    Ok(ContentRange::Bytes { first, last, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_range_parses() {
        assert_eq!(parse_range("bytes=1-2"), Ok(vec![RangeSpec::FromTo(1, 2)]));
    }

    #[test]
    fn open_and_suffix_ranges_parse() {
        assert_eq!(
            parse_range("bytes=5-, -3"),
            Ok(vec![RangeSpec::From(5), RangeSpec::Suffix(3)])
        );
    }

    #[test]
    fn range_ending_before_its_start_is_refused() {
        assert!(parse_range("bytes=5-3").is_err());
    }

    #[test]
    fn other_units_are_refused() {
        assert!(parse_range("lines=0-1").is_err());
    }

    #[test]
    fn signs_and_spaces_inside_numbers_are_refused() {
        assert!(parse_range("bytes=+1-2").is_err());
        assert!(parse_range("bytes=1 0-20").is_err());
    }

    #[test]
    fn numbers_past_u64_are_refused() {
        assert!(parse_range("bytes=0-99999999999999999999").is_err());
    }

    #[test]
    fn end_past_the_size_is_clamped() {
        assert_eq!(resolve(RangeSpec::FromTo(1, 100), 3), Some((1, 2)));
    }

    #[test]
    fn start_at_the_size_selects_nothing() {
        assert_eq!(resolve(RangeSpec::FromTo(3, 4), 3), None);
        assert_eq!(resolve(RangeSpec::From(0), 0), None);
    }

    #[test]
    fn suffix_longer_than_content_selects_everything() {
        assert_eq!(resolve(RangeSpec::Suffix(10), 3), Some((0, 2)));
        assert_eq!(resolve(RangeSpec::Suffix(0), 3), None);
    }

    #[test]
    fn content_range_of_an_append_parses() {
        assert_eq!(
            parse_content_range("bytes 3-4/5"),
            Ok(ContentRange::Bytes {
                first: 3,
                last: 4,
                total: 5
            })
        );
    }

    #[test]
    fn content_range_star_star_asks_for_the_size() {
        assert_eq!(
            parse_content_range("bytes */*"),
            Ok(ContentRange::SizeQuery)
        );
    }

    #[test]
    fn content_range_without_total_is_refused() {
        assert!(parse_content_range("bytes 3-4").is_err());
        assert!(parse_content_range("bytes 3-4/*").is_err());
        assert!(parse_content_range("bytes=3-4/5").is_err());
    }

    #[test]
    fn content_range_with_multibyte_text_does_not_panic() {
        assert!(parse_content_range("byt\u{e9}s 1-2/3").is_err());
    }
}
