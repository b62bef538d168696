//! Data Streams over HTTP against the real binary: ranged reads, appends
//! and their refusals, replacement, size queries (wendelin-protocol.md §3;
//! `docs/http-contract.md`, "Bytes"). The oracle is always the bytes the
//! test itself sent.

mod support;

use serde_json::json;
use support::{Server, pattern};

fn stream(server: &Server) -> String {
    let id = server.create(
        "data_stream_module",
        json!({"reference": "s", "title": "S"}),
    );
    format!("/erp5/data_stream_module/{id}")
}

#[test]
fn wendelin_example_append_then_range() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let path = stream(&server);

    assert_eq!(server.append(&path, 0, b"xyz").status, 204);
    let ranged = server.get_range(&path, "bytes=1-2");
    assert_eq!(ranged.status, 206);
    assert_eq!(ranged.body, b"yz");
    assert_eq!(ranged.header("content-range"), Some("bytes 1-2/3"));
    assert_eq!(ranged.header("accept-ranges"), Some("bytes"));

    assert_eq!(server.append(&path, 3, b"01").status, 204);
    assert_eq!(server.raw(&path), b"xyz01");
}

#[test]
fn open_suffix_and_clamped_ranges_select_the_right_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let path = stream(&server);
    let data = pattern(1, 1000);
    server.append(&path, 0, &data);

    let open = server.get_range(&path, "bytes=990-");
    let suffix = server.get_range(&path, "bytes=-5");
    let clamped = server.get_range(&path, "bytes=995-5000");

    assert_eq!(open.body, &data[990..]);
    assert_eq!(open.header("content-range"), Some("bytes 990-999/1000"));
    assert_eq!(suffix.body, &data[995..]);
    assert_eq!(clamped.body, &data[995..]);
    assert_eq!(clamped.header("content-range"), Some("bytes 995-999/1000"));
}

#[test]
fn several_ranges_answer_multipart_byteranges() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let path = stream(&server);
    server.append(&path, 0, b"0123456789");

    let response = server.get_range(&path, "bytes=0-1,5-6");

    assert_eq!(response.status, 206);
    let content_type = response.header("content-type").unwrap().to_owned();
    assert!(
        content_type.starts_with("multipart/byteranges; boundary="),
        "{content_type}"
    );
    let text = response.text();
    assert!(
        text.contains("Content-Range: bytes 0-1/10\r\n\r\n01\r\n"),
        "{text}"
    );
    assert!(
        text.contains("Content-Range: bytes 5-6/10\r\n\r\n56\r\n"),
        "{text}"
    );
}

#[test]
fn range_past_the_end_answers_416_with_the_size() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let path = stream(&server);

    let empty = server.get_range(&path, "bytes=0-0");
    server.append(&path, 0, b"abc");
    let past = server.get_range(&path, "bytes=3-10");

    assert_eq!(empty.status, 416);
    assert_eq!(empty.header("content-range"), Some("bytes */0"));
    assert_eq!(past.status, 416);
    assert_eq!(past.header("content-range"), Some("bytes */3"));
    assert!(past.text().contains("size 3"), "{}", past.text());
}

#[test]
fn malformed_ranges_answer_400_naming_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let path = stream(&server);
    server.append(&path, 0, b"abc");

    for bad in [
        "bytes=x-1",
        "lines=0-1",
        "bytes=5-3",
        "bytes=",
        "bytes=--1",
        "bytes=1-2-3",
    ] {
        let response = server.get_range(&path, bad);

        assert_eq!(response.status, 400, "{bad}: {}", response.text());
        assert!(response.text().contains(bad), "{bad}: {}", response.text());
    }
}

#[test]
fn format_raw_returns_every_byte_and_plain_get_the_view() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let path = stream(&server);
    let data = pattern(2, 3 << 20);
    server.append(&path, 0, &data);

    let raw = server.get(&format!("{path}?format=raw"));
    let view = server.get(&path);

    assert_eq!(raw.status, 200);
    assert_eq!(raw.header("content-length"), Some("3145728"));
    assert!(raw.body == data);
    assert!(
        view.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
}

#[test]
fn append_at_the_wrong_offset_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let path = stream(&server);
    server.append(&path, 0, b"abc");

    let gap = server.append(&path, 5, b"zz");
    let overlap = server.append(&path, 1, b"zz");

    for response in [&gap, &overlap] {
        assert_eq!(response.status, 400);
        assert!(
            response
                .header("x-explanation")
                .unwrap()
                .starts_with("Can only append data")
        );
    }
    assert!(gap.text().contains("starts at byte 5"), "{}", gap.text());
    assert_eq!(server.raw(&path), b"abc");
}

#[test]
fn wrong_total_or_length_is_refused_with_wendelin_explanations() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let path = stream(&server);

    let total = server.request("PUT", &path, &[("Content-Range", "bytes 0-1/5")], b"ab");
    let length = server.request("PUT", &path, &[("Content-Range", "bytes 0-3/4")], b"ab");
    let unparsable = server.request("PUT", &path, &[("Content-Range", "bytes zero-1/2")], b"ab");

    assert_eq!(total.status, 400);
    assert!(
        total
            .header("x-explanation")
            .unwrap()
            .starts_with("Total size unexpected")
    );
    assert_eq!(length.status, 400);
    assert!(
        length
            .header("x-explanation")
            .unwrap()
            .starts_with("Content length unexpected")
    );
    assert_eq!(unparsable.status, 400);
    assert!(
        unparsable
            .header("x-explanation")
            .unwrap()
            .starts_with("Can not parse range")
    );
    assert!(unparsable.text().contains("zero"), "{}", unparsable.text());
    assert_eq!(server.raw(&path), b"");
}

#[test]
fn chunked_body_shorter_than_its_range_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let path = stream(&server);

    // no Content-Length: the body's real length is checked at its end
    let response = support::raw_request(
        server.port,
        "PUT",
        &path,
        &[
            ("Authorization", &support::basic("zope", "insecure")),
            ("Content-Range", "bytes 0-9/10"),
            ("Transfer-Encoding", "chunked"),
        ],
        b"3\r\nabc\r\n0\r\n\r\n",
    )
    .unwrap();

    assert_eq!(response.status, 400);
    assert!(
        response
            .header("x-explanation")
            .unwrap()
            .starts_with("Content length unexpected")
    );
    assert_eq!(server.raw(&path), b"");
    assert_eq!(server.append(&path, 0, b"ok").status, 204);
    assert_eq!(server.raw(&path), b"ok");
}

#[test]
fn size_query_answers_308_with_the_range_held() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let path = stream(&server);

    let empty = server.request("PUT", &path, &[("Content-Range", "bytes */*")], b"");
    server.append(&path, 0, b"abcd");
    let full = server.request("PUT", &path, &[("Content-Range", "bytes */*")], b"");

    assert_eq!(empty.status, 308);
    assert_eq!(empty.header("range"), Some("bytes 0--1"));
    assert_eq!(full.status, 308);
    assert_eq!(full.header("range"), Some("bytes 0-3"));
    assert_eq!(full.header("x-size"), Some("4"));
}

#[test]
fn put_without_content_range_replaces_the_content() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let path = stream(&server);
    server.append(&path, 0, b"old content");

    let response = server.request("PUT", &path, &[], b"new");

    assert_eq!(response.status, 204);
    assert_eq!(server.raw(&path), b"new");
    assert_eq!(server.append(&path, 3, b"er").status, 204);
    assert_eq!(server.raw(&path), b"newer");
}

#[test]
fn replacing_body_over_64_mib_answers_413() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let path = stream(&server);

    let response = server.request("PUT", &path, &[("Content-Length", "67108865")], b"");

    assert_eq!(response.status, 413);
    assert!(response.text().contains("67108865"), "{}", response.text());
    assert_eq!(server.get(&format!("{path}/getSize")).text(), "0");
}

#[test]
fn append_larger_than_the_body_bound_streams_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let path = stream(&server);
    let data = pattern(3, (64 << 20) + 12345);

    let response = server.append(&path, 0, &data);

    assert_eq!(response.status, 204, "{}", response.text());
    let tail = server.get_range(&path, &format!("bytes={}-", data.len() - 100));
    assert_eq!(tail.body, &data[data.len() - 100..]);
    assert_eq!(
        server.get(&format!("{path}/getSize")).text(),
        data.len().to_string()
    );
}

#[test]
fn stale_if_range_gets_the_whole_content() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let path = stream(&server);
    server.append(&path, 0, b"abc");
    let etag = server
        .get_range(&path, "bytes=0-0")
        .header("etag")
        .unwrap()
        .to_owned();
    server.append(&path, 3, b"d");

    let fresh = server.request(
        "GET",
        &path,
        &[("Range", "bytes=0-0"), ("If-Range", &etag)],
        b"",
    );
    let current = server
        .get_range(&path, "bytes=0-0")
        .header("etag")
        .unwrap()
        .to_owned();
    let matching = server.request(
        "GET",
        &path,
        &[("Range", "bytes=0-0"), ("If-Range", &current)],
        b"",
    );

    assert_eq!(fresh.status, 200);
    assert_eq!(fresh.body, b"abcd");
    assert_eq!(matching.status, 206);
    assert_eq!(matching.body, b"a");
}

#[test]
fn acquisition_through_the_hateoas_site_serves_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let path = stream(&server);
    server.append(&path, 0, b"hello");

    let id = path.rsplit('/').next().unwrap();
    let response = server.get_range(
        &format!("/erp5/web_site_module/renderjs_runner/hateoas/data_stream_module/{id}"),
        "bytes=1-3",
    );

    assert_eq!(response.status, 206);
    assert_eq!(response.body, b"ell");
}

#[test]
fn non_ascii_range_headers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let path = stream(&server);
    server.append(&path, 0, b"abc");

    let range = server.get_range(&path, "bytes=0-1\u{e9}");
    let content_range = server.request(
        "PUT",
        &path,
        &[("Content-Range", "bytes 3-3/4\u{e9}")],
        b"d",
    );

    assert_eq!(range.status, 400);
    assert!(range.text().contains("Range"), "{}", range.text());
    assert_eq!(content_range.status, 400);
    assert!(
        content_range
            .header("x-explanation")
            .unwrap()
            .starts_with("Can not parse range")
    );
    assert_eq!(server.raw(&path), b"abc");
}
