//! Property tests of the parsers that take untrusted input: `Range` and
//! `Content-Range`, msgpack framing, urlencoded forms and jIO queries.
//! Arbitrary and mutated inputs must never panic; valid inputs built here
//! independently (frames with `rmp::encode`, headers with `format!`) must
//! parse back to what was built. Case counts are bounded so CI stays fast;
//! inputs that once failed are kept below as named regression tests.

use proptest::prelude::*;
use wendelin_server::{form, msgpack, range, search};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 400,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A msgpack record of some nesting, encoded with `rmp`.
fn record() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(|n| {
            let mut out = Vec::new();
            rmp::encode::write_sint(&mut out, n).unwrap();
            out
        }),
        ".{0,40}".prop_map(|s: String| {
            let mut out = Vec::new();
            rmp::encode::write_str(&mut out, &s).unwrap();
            out
        }),
        prop::collection::vec(any::<u8>(), 0..300).prop_map(|b| {
            let mut out = Vec::new();
            rmp::encode::write_bin(&mut out, &b).unwrap();
            out
        }),
        any::<f64>().prop_map(|x| {
            let mut out = Vec::new();
            rmp::encode::write_f64(&mut out, x).unwrap();
            out
        }),
        Just(vec![0xc0]),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(|items| {
                let mut out = Vec::new();
                rmp::encode::write_array_len(&mut out, items.len() as u32).unwrap();
                items.iter().for_each(|item| out.extend(item));
                out
            }),
            prop::collection::vec((".{0,10}", inner), 0..6).prop_map(|pairs| {
                let mut out = Vec::new();
                rmp::encode::write_map_len(&mut out, pairs.len() as u32).unwrap();
                for (key, value) in pairs {
                    rmp::encode::write_str(&mut out, &key).unwrap();
                    out.extend(value);
                }
                out
            }),
        ]
    })
}

/// A body of `[time, record]` frames and the offset of each frame.
fn frames() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    prop::collection::vec((any::<u32>(), record()), 0..12).prop_map(|items| {
        let mut body = Vec::new();
        let mut offsets = Vec::new();
        for (time, record) in items {
            offsets.push(body.len());
            rmp::encode::write_array_len(&mut body, 2).unwrap();
            rmp::encode::write_u32(&mut body, time).unwrap();
            body.extend(record);
        }
        (body, offsets)
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn range_parser_never_panics_and_resolves_inside_the_content(text in ".{0,60}", size in 0u64..10_000) {
        if let Ok(specs) = range::parse_range(&text) {
            for spec in specs {
                if let Some((start, end)) = range::resolve(spec, size) {
                    prop_assert!(start <= end && end < size);
                }
            }
        }
    }

    #[test]
    fn range_parser_takes_byte_like_noise(text in "(bytes=)?[0-9, -]{0,30}") {
        let _ = range::parse_range(&text);
    }

    #[test]
    fn built_ranges_parse_back(first in 0u64..u64::MAX / 2, length in 0u64..1 << 40, suffix in 1u64..1 << 40) {
        let header = format!("bytes={first}-{}, -{suffix}, {first}-", first + length);
        let specs = range::parse_range(&header).unwrap();
        prop_assert_eq!(specs, vec![
            range::RangeSpec::FromTo(first, first + length),
            range::RangeSpec::Suffix(suffix),
            range::RangeSpec::From(first),
        ]);
    }

    #[test]
    fn content_range_parser_never_panics(text in ".{0,60}") {
        let _ = range::parse_content_range(&text);
    }

    #[test]
    fn built_content_ranges_parse_back(first in 0u64..u64::MAX / 2, length in 0u64..1 << 40, total in any::<u64>()) {
        let header = format!("bytes {first}-{}/{total}", first + length);
        prop_assert_eq!(
            range::parse_content_range(&header),
            Ok(range::ContentRange::Bytes { first, last: first + length, total })
        );
    }

    #[test]
    fn framing_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(frames) = msgpack::split_frames(&bytes) {
            let mut previous = None;
            for frame in frames {
                prop_assert!(previous.is_none_or(|p| frame.offset > p));
                previous = Some(frame.offset);
                let _ = msgpack::record_payload(frame.record);
            }
        }
    }

    #[test]
    fn encoded_frames_split_at_their_offsets((body, offsets) in frames()) {
        let frames = msgpack::split_frames(&body).unwrap();
        let found: Vec<usize> = frames.iter().map(|f| f.offset).collect();
        prop_assert_eq!(found, offsets);
        for frame in frames {
            prop_assert!(msgpack::record_payload(frame.record).is_ok());
        }
    }

    #[test]
    fn cut_frames_are_refused_within_the_cut((body, offsets) in frames(), cut in any::<prop::sample::Index>()) {
        prop_assume!(!body.is_empty());
        let at = cut.index(body.len());
        let truncated = &body[..at];
        match msgpack::split_frames(truncated) {
            // a cut on a frame boundary leaves valid frames
            Ok(_) => prop_assert!(offsets.contains(&at) || at == 0),
            Err(error) => prop_assert!(error.frame <= at && error.offset <= at),
        }
    }

    #[test]
    fn mutated_frames_never_panic((body, _) in frames(), flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
        prop_assume!(!body.is_empty());
        let mut mutated = body;
        for (index, byte) in flips {
            let at = index.index(mutated.len());
            mutated[at] = byte;
        }
        if let Ok(frames) = msgpack::split_frames(&mutated) {
            for frame in frames {
                let _ = msgpack::record_payload(frame.record);
            }
        }
    }

    #[test]
    fn form_decoding_never_panics_and_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..200), noise in prop::collection::vec(any::<u8>(), 0..100)) {
        let encoded: String = bytes.iter().map(|b| format!("%{b:02x}")).collect();
        let pairs = form::parse_urlencoded(format!("data_chunk={encoded}").as_bytes());
        prop_assert_eq!(&pairs[0].1, &bytes);
        let _ = form::parse_urlencoded(&noise);
    }

    #[test]
    fn query_compiler_never_panics_and_binds_every_value(text in ".{0,80}") {
        if let Ok((condition, values)) = search::compile(&text) {
            let placeholders = condition.matches('?').count();
            prop_assert_eq!(placeholders, values.len());
        }
    }

    #[test]
    fn query_compiler_takes_query_like_noise(text in r#"(\(|\)| AND | OR |reference:|portal_type:|"|[a-z%]{1,4}| ){0,20}"#) {
        let _ = search::compile(&text);
    }
}

#[test]
fn regression_map32_declaring_four_billion_pairs_is_refused_without_allocating() {
    let body = [0x92, 0x01, 0xdf, 0xff, 0xff, 0xff, 0xff];

    let error = msgpack::split_frames(&body).unwrap_err();

    assert_eq!(error.offset, 2);
}

#[test]
fn regression_bin32_longer_than_the_body_is_truncated_not_read() {
    let body = [0x92, 0x01, 0xc6, 0xff, 0xff, 0xff, 0xf0, 0x00];

    assert!(
        msgpack::split_frames(&body)
            .unwrap_err()
            .reason
            .contains("truncated")
    );
}

#[test]
fn regression_content_range_with_a_multibyte_unit_does_not_panic() {
    assert!(range::parse_content_range("bytés 1-2/3").is_err());
    assert!(range::parse_content_range("\u{10000}").is_err());
}

/// Found by `built_content_ranges_parse_back`: a 20-digit total that fits
/// in a u64 was refused.
#[test]
fn regression_twenty_digit_total_within_u64_parses() {
    assert_eq!(
        range::parse_content_range("bytes 0-0/10000000000000000000"),
        Ok(range::ContentRange::Bytes {
            first: 0,
            last: 0,
            total: 10_000_000_000_000_000_000
        })
    );
    assert!(range::parse_content_range("bytes 0-0/18446744073709551616").is_err());
}

#[test]
fn regression_range_end_at_u64_max_resolves_to_the_last_byte() {
    let specs = range::parse_range("bytes=0-18446744073709551615").unwrap();

    assert_eq!(range::resolve(specs[0], 10), Some((0, 9)));
}
