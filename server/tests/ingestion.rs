//! Ingestion over HTTP against the real binary, as fluentd's wendelin
//! output posts (wendelin-protocol.md §6). Frames are encoded with `rmp`
//! here, independently of the server's own framing code.

mod support;

use support::{Server, frame_bin, frame_str};

fn ingest(server: &Server, policy: &str, tag: &str, body: &[u8]) -> support::Response {
    server.request(
        "POST",
        &format!("/erp5/portal_ingestion_policies/{policy}/ingest?reference={tag}"),
        &[("Content-Type", "application/octet-stream")],
        body,
    )
}

fn stream_by_reference(server: &Server, reference: &str) -> serde_json::Value {
    let query = format!("portal_type%3A%22Data%20Stream%22%20AND%20reference%3A%22{reference}%22");
    let found = server
        .get(&format!(
            "/erp5/ERP5Document_getHateoas?mode=search&query={query}"
        ))
        .json();
    found["_embedded"]["contents"][0].clone()
}

#[test]
fn default_policy_appends_bodies_unchanged_to_the_tag_stream() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut first = frame_bin(1, b"\x00\x01binary");
    first.extend(frame_str(2, "text"));
    let second = frame_bin(3, &[0xff; 300]);

    assert_eq!(
        ingest(&server, "default", "sensor.audio", &first).status,
        204
    );
    assert_eq!(
        ingest(&server, "default", "sensor.other", &second).status,
        204
    );

    let stream = stream_by_reference(&server, "sensor");
    assert_eq!(stream["title"], "sensor.audio");
    let url = stream["relative_url"].as_str().unwrap();
    let mut expected = first.clone();
    expected.extend(&second);
    assert_eq!(server.raw(&format!("/erp5/{url}")), expected);
    assert_eq!(server.get("/erp5/data_stream_module").json()["count"], 1);
}

#[test]
fn form_field_data_chunk_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let frame = frame_bin(7, b"a&b=c%");
    let encoded: String = frame.iter().map(|b| format!("%{b:02X}")).collect();

    let response = server.post_form(
        "/erp5/portal_ingestion_policies/default/ingest?reference=old",
        &format!("data_chunk={encoded}"),
    );

    assert_eq!(response.status, 204, "{}", response.text());
    assert_eq!(server.raw("/erp5/data_stream_module/1"), frame);
}

#[test]
fn fast_input_policy_appends_record_payloads() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    let created = server.post_form(
        "/erp5/portal_ingestion_policies/IngestionPolicyTool_addIngestionPolicy",
        "reference=p1&title=P1",
    );
    let mut body = frame_str(0, "1,2\n3,4\n");
    body.extend(frame_bin(1, b"\x00raw"));
    let response = ingest(&server, "p1", "p1", &body);

    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(
        created.json()["data_operation"],
        "wendelin_ingest_data_conversion"
    );
    assert_eq!(response.status, 204, "{}", response.text());
    assert_eq!(
        server.raw("/erp5/data_stream_module/1"),
        b"1,2\n3,4\n\x00raw"
    );
}

#[test]
fn map_records_give_their_message_or_a_json_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.post_form(
        "/erp5/portal_ingestion_policies/IngestionPolicyTool_addIngestionPolicy",
        "reference=logs",
    );
    let mut body = Vec::new();
    for (time, key, value) in [(1u32, "message", "hello\n"), (2, "x", "1")] {
        rmp::encode::write_array_len(&mut body, 2).unwrap();
        rmp::encode::write_u32(&mut body, time).unwrap();
        rmp::encode::write_map_len(&mut body, 1).unwrap();
        rmp::encode::write_str(&mut body, key).unwrap();
        rmp::encode::write_str(&mut body, value).unwrap();
    }

    assert_eq!(ingest(&server, "logs", "logs", &body).status, 204);

    assert_eq!(
        server.raw("/erp5/data_stream_module/1"),
        b"hello\n{\"x\":\"1\"}\n"
    );
}

#[test]
fn event_time_frames_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut body = Vec::new();
    rmp::encode::write_array_len(&mut body, 2).unwrap();
    rmp::encode::write_ext_meta(&mut body, 8, 0).unwrap();
    body.extend_from_slice(&[0x5f, 0, 0, 0, 0, 0, 0, 1]);
    rmp::encode::write_str(&mut body, "x").unwrap();

    assert_eq!(ingest(&server, "default", "t", &body).status, 204);
    assert_eq!(server.raw("/erp5/data_stream_module/1"), body);
}

#[test]
fn unparsable_msgpack_is_refused_with_its_offset_and_appends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let good = frame_str(1, "ok");
    assert_eq!(ingest(&server, "default", "s", &good).status, 204);

    let mut torn = frame_str(2, "fine");
    let offset = torn.len();
    torn.extend(&frame_str(3, "cut short")[..5]);
    let response = ingest(&server, "default", "s", &torn);
    let not_frames = ingest(&server, "default", "s", b"plain text");

    assert_eq!(response.status, 400);
    let message = response.text();
    assert!(
        message.contains(&format!("frame starting at byte {offset}")),
        "{message}"
    );
    assert!(
        message.contains(&format!("at byte {}", offset + 1)),
        "{message}"
    );
    assert_eq!(not_frames.status, 400);
    assert!(
        not_frames.text().contains("byte 0"),
        "{}",
        not_frames.text()
    );
    assert_eq!(server.raw("/erp5/data_stream_module/1"), good);
}

#[test]
fn bad_msgpack_on_a_new_tag_creates_no_stream() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    let response = ingest(&server, "default", "fresh", &[0xc1]);

    assert_eq!(response.status, 400);
    assert_eq!(server.get("/erp5/data_stream_module").json()["count"], 0);
}

#[test]
fn unknown_policy_is_404_and_get_is_400() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    let unknown = ingest(&server, "nope", "x", &frame_str(1, "x"));
    let get = server.get("/erp5/portal_ingestion_policies/default/ingest?reference=x");

    assert_eq!(unknown.status, 404);
    assert!(unknown.text().contains("nope"));
    assert_eq!(get.status, 400);
    assert!(get.text().contains("takes POST, not GET"), "{}", get.text());
}

#[test]
fn ingestion_body_over_64_mib_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    let response = server.request(
        "POST",
        "/erp5/portal_ingestion_policies/default/ingest?reference=big",
        &[("Content-Length", "67108865")],
        b"",
    );

    assert_eq!(response.status, 413);
    assert!(
        response.text().contains("smaller chunks"),
        "{}",
        response.text()
    );
}

#[test]
fn policy_ids_are_unique() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let path = "/erp5/portal_ingestion_policies/IngestionPolicyTool_addIngestionPolicy";

    let first = server.post_form(path, "reference=p");
    let again = server.post_form(path, "reference=p");
    let default = server.post_form(path, "reference=default");

    assert_eq!(first.status, 201);
    assert_eq!(again.status, 409);
    assert_eq!(default.status, 409);
}

fn workspace() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `scripts/fluentd_ingest.py` (Python msgpack, an encoder independent
/// of ours) on a shared recording.
fn fluentd_ingest(server: &Server, policy: &str, tag: &str, file: &std::path::Path) {
    let root = workspace();
    let output = std::process::Command::new(root.join(".venv/bin/python"))
        .arg(root.join("scripts/fluentd_ingest.py"))
        .arg(file)
        .args(["--url", &format!("http://127.0.0.1:{}/erp5", server.port)])
        .args([
            "--policy",
            policy,
            "--tag",
            tag,
            "--record-size",
            "4000",
            "--chunk-size",
            "20000",
        ])
        .output()
        .expect(".venv/bin/python runs: run scripts/python-env.sh first");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn fluentd_recording_through_a_fast_input_policy_arrives_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.post_form(
        "/erp5/portal_ingestion_policies/IngestionPolicyTool_addIngestionPolicy",
        "reference=wav",
    );
    let recording = workspace().join("../shared/data/recordings/Front_Left.wav");

    fluentd_ingest(&server, "wav", "wav.front_left", &recording);

    let stream = stream_by_reference(&server, "wav");
    let url = stream["relative_url"].as_str().unwrap();
    assert!(server.raw(&format!("/erp5/{url}")) == std::fs::read(&recording).unwrap());
}

#[test]
fn fluentd_recording_through_the_default_policy_keeps_its_frames() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let recording = workspace().join("../shared/data/recordings/Front_Center.wav");

    fluentd_ingest(&server, "default", "speaker.front_center", &recording);

    // python's msgpack unpacks what the stream holds back into the file
    let stream = server.raw("/erp5/data_stream_module/1");
    let script = "import sys, msgpack\n\
        data = b''.join(record['data'] for _, record in msgpack.Unpacker(sys.stdin.buffer, raw=False))\n\
        sys.stdout.buffer.write(data)\n";
    let mut child = std::process::Command::new(workspace().join(".venv/bin/python"))
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer =
        std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &stream).unwrap());
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(output.status.success());
    assert!(output.stdout == std::fs::read(&recording).unwrap());
}
