//! Storage that loses nothing, checked against the real binary: kill -9
//! during ingestion and during a streamed append, reads racing appends,
//! and a restart that serves everything back. The oracle is the list of
//! appends the server acknowledged, kept by the test.

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use support::{Server, basic, frame_bin, pattern, raw_request};

/// Posts frames to the default policy until the server dies (or a cap),
/// returning the acknowledged bodies and the one in flight at the end.
fn ingest_until_killed(
    port: u16,
    round: u64,
    acked_count: &AtomicUsize,
) -> (Vec<Vec<u8>>, Option<Vec<u8>>) {
    let auth = basic("zope", "insecure");
    let mut acked = Vec::new();
    for index in 0..5000u64 {
        let seed = round * 100_000 + index;
        let body = frame_bin(seed as u32, &pattern(seed, 20_000 + (seed % 997) as usize));
        let answer = raw_request(
            port,
            "POST",
            "/erp5/portal_ingestion_policies/default/ingest?reference=crash.test",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/octet-stream"),
            ],
            &body,
        );
        match answer {
            Ok(response) if response.status == 204 => {
                acked.push(body);
                acked_count.fetch_add(1, Ordering::SeqCst);
            }
            Ok(response) => panic!(
                "ingestion answered {}: {}",
                response.status,
                response.text()
            ),
            Err(_) => return (acked, Some(body)),
        }
    }
    (acked, None)
}

#[test]
fn kill_during_ingestion_loses_no_acknowledged_append() {
    let dir = tempfile::tempdir().unwrap();
    let mut expected: Vec<u8> = Vec::new();

    for round in 0..3u64 {
        let mut server = Server::start(dir.path());
        let port = server.port;
        let acked_count = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&acked_count);
        let client = std::thread::spawn(move || ingest_until_killed(port, round, &counter));

        let deadline = Instant::now() + Duration::from_secs(30);
        while acked_count.load(Ordering::SeqCst) < 25 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        server.kill();
        let (acked, in_flight) = client.join().unwrap();
        assert!(
            acked.len() >= 25,
            "only {} appends acknowledged",
            acked.len()
        );

        let restarted = Server::start(dir.path());
        let content = restarted.raw("/erp5/data_stream_module/1");
        for body in &acked {
            expected.extend_from_slice(body);
        }
        let with_in_flight = in_flight.map(|body| [expected.as_slice(), &body].concat());
        let matches = content == expected || with_in_flight.as_ref() == Some(&content);
        assert!(
            matches,
            "round {round}: {} bytes served, {} acknowledged",
            content.len(),
            expected.len()
        );
        expected = content;
        drop(restarted);
    }
}

/// The one blob file of a data folder holding one document with bytes.
fn only_blob_length(data_dir: &std::path::Path) -> u64 {
    let files: Vec<_> = std::fs::read_dir(data_dir.join("blobs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    std::fs::metadata(&files[0]).unwrap().len()
}

#[test]
fn kill_during_a_streamed_append_exposes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let id = server.create("data_stream_module", json!({"reference": "torn"}));
    let path = format!("/erp5/data_stream_module/{id}");
    assert_eq!(server.append(&path, 0, b"base").status, 204);

    // an 8 MiB append of which only 6 MiB are ever sent
    let total = 8u64 << 20;
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Range: bytes 4-{}/{}\r\nContent-Length: {total}\r\n\r\n",
        basic("zope", "insecure"),
        total + 3,
        total + 4
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&pattern(9, 6 << 20)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while only_blob_length(dir.path()) <= 4 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let torn = only_blob_length(dir.path());
    server.kill();
    drop(stream);

    let restarted = Server::start(dir.path());

    assert!(
        torn > 4,
        "the unacknowledged tail was never written ({torn} bytes)"
    );
    assert_eq!(restarted.raw(&path), b"base");
    assert_eq!(only_blob_length(dir.path()), 4);
    assert_eq!(restarted.append(&path, 4, b"more").status, 204);
    assert_eq!(restarted.raw(&path), b"basemore");
}

#[test]
fn reads_racing_appends_see_prefixes_of_the_final_content() {
    let dir = tempfile::tempdir().unwrap();
    let server = Arc::new(Server::start(dir.path()));
    let id = server.create("data_stream_module", json!({"reference": "race"}));
    let path = format!("/erp5/data_stream_module/{id}");
    let chunks: Vec<Vec<u8>> = (0..120u64)
        .map(|i| pattern(i + 1000, 8192 + i as usize * 37))
        .collect();
    let last: Vec<u8> = chunks.concat();
    let done = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::new()));

    let readers: Vec<_> = (0..2)
        .map(|reader| {
            let (server, path, last, done, seen) = (
                Arc::clone(&server),
                path.clone(),
                last.clone(),
                Arc::clone(&done),
                Arc::clone(&seen),
            );
            std::thread::spawn(move || {
                while !done.load(Ordering::SeqCst) {
                    let body = if reader == 0 {
                        server.raw(&path)
                    } else {
                        let response = server.get_range(&path, "bytes=0-");
                        assert!(
                            response.status == 206 || response.status == 416,
                            "{}",
                            response.status
                        );
                        if response.status == 416 {
                            Vec::new()
                        } else {
                            response.body
                        }
                    };
                    assert!(
                        body.len() <= last.len() && body[..] == last[..body.len()],
                        "a read of {} bytes is not a prefix",
                        body.len()
                    );
                    seen.lock().unwrap().push(body.len());
                }
            })
        })
        .collect();

    let mut offset = 0u64;
    for chunk in &chunks {
        assert_eq!(server.append(&path, offset, chunk).status, 204);
        offset += chunk.len() as u64;
    }
    done.store(true, Ordering::SeqCst);
    for reader in readers {
        reader.join().unwrap();
    }

    assert_eq!(server.raw(&path), last);
    let seen = seen.lock().unwrap();
    assert!(
        seen.iter().any(|&n| n > 0 && n < last.len()),
        "no read landed mid-way: {seen:?}"
    );
}

#[test]
fn restart_serves_everything_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let stream = server.create(
        "data_stream_module",
        json!({"reference": "s", "title": "Stream"}),
    );
    let array = server.create(
        "data_array_module",
        json!({"reference": "a", "dtype": "<f4", "shape": [0, 3], "units": "Pa"}),
    );
    let image = server.create("image_module", json!({"reference": "i"}));
    let notebook = server.create("data_notebook_module", json!({"reference": "n"}));
    server.post_form(
        "/erp5/portal_ingestion_policies/IngestionPolicyTool_addIngestionPolicy",
        "reference=p1",
    );

    let stream_bytes = pattern(5, 100_000);
    let array_bytes: Vec<u8> = (0..12)
        .flat_map(|i| (i as f32 * 0.5).to_le_bytes())
        .collect();
    let png = [b"\x89PNG\r\n\x1a\n".as_slice(), &pattern(6, 100)].concat();
    server.append(
        &format!("/erp5/data_stream_module/{stream}"),
        0,
        &stream_bytes,
    );
    server.append(&format!("/erp5/data_array_module/{array}"), 0, &array_bytes);
    server.request("PUT", &format!("/erp5/image_module/{image}"), &[], &png);
    server.post_json(
        &format!("/erp5/data_notebook_module/{notebook}/addDataNotebookLine"),
        json!({"code": "1+1", "result": "2"}),
    );
    let paths = [
        format!("/erp5/data_stream_module/{stream}"),
        format!("/erp5/data_array_module/{array}"),
        format!("/erp5/image_module/{image}"),
        format!("/erp5/data_notebook_module/{notebook}"),
    ];
    let before: Vec<_> = paths
        .iter()
        .map(|p| server.get(&format!("{p}?format=json")).json())
        .collect();
    let lines_before = server
        .get(&format!("{}/getDataNotebookLineList", paths[3]))
        .json();
    server.kill();

    let restarted = Server::start(dir.path());

    let after: Vec<_> = paths
        .iter()
        .map(|p| restarted.get(&format!("{p}?format=json")).json())
        .collect();
    assert_eq!(before, after);
    assert_eq!(restarted.raw(&paths[0]), stream_bytes);
    assert_eq!(restarted.raw(&paths[1]), array_bytes);
    assert_eq!(after[1]["shape"], json!([4, 3]));
    assert_eq!(restarted.get(&paths[2]).body, png);
    assert_eq!(
        restarted
            .get(&format!("{}/getDataNotebookLineList", paths[3]))
            .json(),
        lines_before
    );
    assert_eq!(
        restarted.get("/erp5/portal_ingestion_policies/p1").json()["data_operation"],
        "wendelin_ingest_data_conversion"
    );
    assert_eq!(restarted.create("data_stream_module", json!({})), "2");
}

#[test]
fn reads_racing_replacements_see_one_whole_content() {
    let dir = tempfile::tempdir().unwrap();
    let server = Arc::new(Server::start(dir.path()));
    let id = server.create("data_stream_module", json!({"reference": "swap"}));
    let path = format!("/erp5/data_stream_module/{id}");
    let versions = [pattern(21, 300_000), pattern(22, 700_000)];
    server.request("PUT", &path, &[], &versions[0]);
    let done = Arc::new(AtomicBool::new(false));

    let reader = {
        let (server, path, versions, done) = (
            Arc::clone(&server),
            path.clone(),
            versions.clone(),
            Arc::clone(&done),
        );
        std::thread::spawn(move || {
            let mut reads = 0;
            while !done.load(Ordering::SeqCst) {
                let body = server.raw(&path);
                assert!(
                    body == versions[0] || body == versions[1],
                    "a read of {} bytes mixes contents",
                    body.len()
                );
                reads += 1;
            }
            reads
        })
    };
    for round in 0..40 {
        assert_eq!(
            server
                .request("PUT", &path, &[], &versions[round % 2])
                .status,
            204
        );
    }
    done.store(true, Ordering::SeqCst);

    assert!(reader.join().unwrap() > 0);
    assert_eq!(server.raw(&path), versions[1]);
}

#[test]
fn client_dropping_mid_append_leaves_nothing_and_frees_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let id = server.create("data_stream_module", json!({"reference": "dropped"}));
    let path = format!("/erp5/data_stream_module/{id}");
    server.append(&path, 0, b"base");

    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Range: bytes 4-1003/1004\r\nContent-Length: 1000\r\n\r\n",
        basic("zope", "insecure")
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&[7u8; 400]).unwrap();
    stream.shutdown(std::net::Shutdown::Both).unwrap();
    drop(stream);

    let deadline = Instant::now() + Duration::from_secs(20);
    let mut answer = server.append(&path, 4, b"next");
    while answer.status != 204 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        answer = server.append(&path, 4, b"next");
    }
    assert_eq!(answer.status, 204, "{}", answer.text());
    assert_eq!(server.raw(&path), b"basenext");
}
