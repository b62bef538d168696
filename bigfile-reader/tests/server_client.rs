//! The HTTP client against the real `wendelin-server` binary on loopback
//! (docs/http-contract.md), and against small stubs for what our server
//! never does (a real Wendelin without our additions, 5xx, silence).
//! Oracles are the bytes and values written, and the shared WAV files.

mod support;

use std::sync::Arc;

use bigfile_reader::{
    BigFileReader, ByteRange, CacheOptions, ConnectOptions, FileObject, Format, Portal,
    ReaderError, ReaderOptions, WavFile,
};
use serde_json::{Map, Value, json};
use signal::{RealVector, Silent, Source};

fn connect(server: &support::TestServer) -> Portal {
    Portal::connect(&ConnectOptions::new(&server.url).with_credentials("zope", "insecure")).unwrap()
}

fn fields(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), value.clone()))
        .collect()
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 131 + i / 977) as u8).collect()
}

#[test]
fn streams_are_created_found_appended_and_read_by_range() {
    let server = support::TestServer::start();
    let portal = connect(&server);
    let module = portal.module("data_stream_module");
    let created = module
        .create(fields(&[("reference", json!("sensor"))]))
        .unwrap();
    let stream = module
        .get(&created.properties().id)
        .unwrap()
        .into_data_stream()
        .unwrap();
    let bytes = pattern(3_000_000);

    for chunk in bytes.chunks(1_000_000) {
        stream.append(chunk).unwrap();
    }

    let found = module
        .by_reference("sensor")
        .unwrap()
        .into_data_stream()
        .unwrap();
    assert_eq!(found.properties().size, 3_000_000);
    assert_eq!(found.properties().portal_type, "Data Stream");
    assert_eq!(
        found.properties().url,
        format!("{}/data_stream_module/1", server.url)
    );
    assert_eq!(
        found.bytes().read(2_999_990, 4_000_000).unwrap(),
        bytes[2_999_990..]
    );
    let chunks: Vec<Vec<u8>> = found
        .bytes()
        .iterate(1 << 20)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(chunks.concat() == bytes);
    let modules = portal.modules().unwrap();
    assert!(
        modules
            .iter()
            .any(|module| module.id == "data_stream_module" && module.count == 1),
        "{modules:?}"
    );
}

#[test]
fn big_file_reader_reads_a_remote_stream_like_the_bytes_written() {
    let server = support::TestServer::start();
    let portal = connect(&server);
    let module = portal.module("data_stream_module");
    let stream = module
        .create(fields(&[("reference", json!("big"))]))
        .unwrap()
        .into_data_stream()
        .unwrap();
    let bytes = pattern(20_000_000);
    stream.append(&bytes).unwrap();

    let options = ReaderOptions {
        cache: CacheOptions {
            capacity: 4 << 20,
            ..CacheOptions::default()
        },
        format: Format::Raw,
    };
    let mut reader = stream.reader(options, Arc::new(Silent)).unwrap();
    let mut read = Vec::new();
    loop {
        let piece = reader.read(100_000).unwrap();
        if piece.is_empty() {
            break;
        }
        read.extend(piece);
        assert!(reader.cache().cached_bytes() <= 4 << 20);
    }
    assert!(read == bytes);
    reader.seek(12_345_678).unwrap();
    assert_eq!(reader.read(10).unwrap(), bytes[12_345_678..12_345_688]);
    let statistics = reader.cache().statistics();
    assert!(
        statistics.fetches < 60,
        "sequential reads should fetch ahead: {statistics:?}"
    );
}

#[test]
fn an_uploaded_wav_decodes_like_the_local_file() {
    let server = support::TestServer::start();
    let portal = connect(&server);
    let path = support::workspace_root().join("notebooks/data/speaker-positions.wav");
    let stream = portal
        .module("data_stream_module")
        .create(fields(&[("reference", json!("voices"))]))
        .unwrap()
        .into_data_stream()
        .unwrap();
    stream.append(&std::fs::read(&path).unwrap()).unwrap();

    let reader = BigFileReader::new(stream.object()).unwrap();
    let remote = reader.wav().unwrap();
    let local = WavFile::open(Arc::new(FileObject::open(&path).unwrap())).unwrap();

    assert_eq!(remote.summary(), local.summary());
    let mut expected = vec![0.0; local.frames() as usize];
    let mut got = vec![0.0; local.frames() as usize];
    local
        .channel(1)
        .unwrap()
        .read_into(0, &mut expected)
        .unwrap();
    remote.channel(1).unwrap().read_into(0, &mut got).unwrap();
    assert!(expected == got);
    assert_eq!(
        remote.channel(1).unwrap().info().sample_rate,
        Some(f64::from(local.sample_rate()))
    );
}

#[test]
fn a_recording_ingested_through_fluentd_reads_back_as_the_file() {
    let server = support::TestServer::start();
    let path = support::shared_data().join("recordings/Noise.wav");
    let script = support::workspace_root().join("scripts/fluentd_ingest.py");
    let output = std::process::Command::new(support::python())
        .arg(&script)
        .arg(&path)
        .args([
            "--url",
            &server.url,
            "--tag",
            "noise.mic",
            "--record-size",
            "10000",
            "--chunk-size",
            "50000",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let portal = connect(&server);
    let stream = portal
        .module("data_stream_module")
        .by_reference("noise")
        .unwrap()
        .into_data_stream()
        .unwrap();
    let options = ReaderOptions {
        format: Format::Fluentd,
        ..ReaderOptions::default()
    };
    let mut reader = stream.reader(options, Arc::new(Silent)).unwrap();

    let original = std::fs::read(&path).unwrap();
    assert_eq!(reader.size(), original.len() as u64);
    assert!(reader.read(original.len()).unwrap() == original);
    assert_eq!(
        reader.wav().unwrap().frames(),
        WavFile::open(Arc::new(FileObject::open(&path).unwrap()))
            .unwrap()
            .frames()
    );
}

#[test]
fn data_arrays_store_a_signal_and_read_it_back_lazily() {
    let server = support::TestServer::start();
    let portal = connect(&server);
    let values: Vec<f64> = (0..2_500_000)
        .map(|i| (i as f64 * 0.001).sin() * 0.5)
        .collect();
    let source = RealVector::new(values.clone()).with_sample_rate(44_100.0);
    let module = portal.module("data_array_module");

    let array = module
        .create_array(fields(&[("reference", json!("left"))]), &source, &Silent)
        .unwrap();

    assert_eq!(array.dtype(), "<f8");
    assert_eq!(array.shape(), [2_500_000]);
    assert_eq!(array.sample_rate(), Some(44_100.0));
    assert_eq!(
        array.read(1_000_000, 1_000_005).unwrap(),
        values[1_000_000..1_000_005]
    );
    let again = module
        .by_reference("left")
        .unwrap()
        .into_data_array()
        .unwrap();
    let signal = again.signal().unwrap();
    assert_eq!(
        (signal.len(), signal.info().sample_rate),
        (2_500_000, Some(44_100.0))
    );
    let mut read = vec![0.0; 2_500_000];
    signal.read_into(0, &mut read).unwrap();
    assert!(read == values);
}

#[test]
fn images_and_notebooks_are_created_and_listed() {
    let server = support::TestServer::start();
    let portal = connect(&server);
    let png =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();

    let image = portal
        .module("image_module")
        .create_image(fields(&[("reference", json!("spectrum"))]), &png)
        .unwrap();
    let notebook = portal
        .module("data_notebook_module")
        .create(fields(&[
            ("reference", json!("analysis")),
            ("title", json!("Analysis")),
        ]))
        .unwrap();
    let notebook = notebook.into_data_notebook().unwrap();
    notebook
        .add_line("let a = 2; a + 1", "3", true, Some(0.004))
        .unwrap();

    assert_eq!(image.properties().content_type, "image/png");
    let mut stored = vec![0; png.len()];
    bigfile_reader::read_exact_at(image.bytes().as_ref(), 0, &mut stored).unwrap();
    assert_eq!(stored, png);
    let lines = notebook.lines().unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["code"], "let a = 2; a + 1");
    let mine = portal.my_notebooks().unwrap();
    assert_eq!(
        mine.iter()
            .map(|p| p.reference.as_str())
            .collect::<Vec<_>>(),
        ["analysis"]
    );
}

#[test]
fn errors_name_the_url_and_what_to_check() {
    let server = support::TestServer::start();
    let wrong =
        Portal::connect(&ConnectOptions::new(&server.url).with_credentials("zope", "wrong"))
            .unwrap();
    let portal = connect(&server);
    portal
        .module("data_array_module")
        .create(fields(&[
            ("reference", json!("a")),
            ("dtype", json!("<f8")),
            ("shape", json!([0])),
        ]))
        .unwrap();

    let unauthorized = wrong.module("data_stream_module").get("1").err().unwrap();
    let missing = portal.module("data_stream_module").get("7").err().unwrap();
    let by_reference = portal
        .module("data_stream_module")
        .by_reference("nothing")
        .err()
        .unwrap();
    let wrong_type = portal
        .module("data_array_module")
        .get("1")
        .unwrap()
        .into_data_stream()
        .err()
        .unwrap();

    assert_eq!(
        unauthorized.to_string(),
        format!(
            "the server at {}/data_stream_module/1/getPropertyDict refused the credentials of user \"zope\" (HTTP 401); check the user name and password",
            server.url
        )
    );
    assert_eq!(
        missing.to_string(),
        format!(
            "{}/data_stream_module/7 was not found (HTTP 404); check the module and the id or reference",
            server.url
        )
    );
    assert!(
        by_reference
            .to_string()
            .contains("no document with reference \"nothing\""),
        "{by_reference}"
    );
    assert_eq!(
        wrong_type.to_string(),
        format!(
            "{}/data_array_module/1 is a Data Array, not a Data Stream",
            server.url
        )
    );
}

#[test]
fn a_server_without_our_additions_is_named_plainly() {
    let wendelin = support::stub_server(Some(
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 9\r\nConnection: close\r\n\r\nNot Found",
    ));
    let portal =
        Portal::connect(&ConnectOptions::new(&wendelin).with_credentials("zope", "x")).unwrap();

    let error = portal
        .module("data_array_module")
        .create(Map::new())
        .err()
        .unwrap();

    assert_eq!(
        error.to_string(),
        format!(
            "this server does not offer document creation (an addition of wendelin-server); reading works, \
             but document creation needs wendelin-server ({wendelin}/data_array_module/newContent answered HTTP 404)"
        )
    );
}

#[test]
fn an_html_page_where_json_was_expected_means_a_missing_addition() {
    let wendelin = support::stub_server(Some(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\nConnection: close\r\n\r\n<html></html>",
    ));
    let portal = Portal::connect(&ConnectOptions::new(&wendelin)).unwrap();

    let error = portal.modules().err().unwrap();

    assert!(
        matches!(error, ReaderError::MissingAddition { .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .starts_with("this server does not offer module listing"),
        "{error}"
    );
}

#[test]
fn a_failing_server_is_retried_then_reported() {
    let failing = support::stub_server(Some(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 8\r\nConnection: close\r\n\r\noverload",
    ));
    let session =
        Arc::new(bigfile_reader::HttpSession::new(&ConnectOptions::new(&failing)).unwrap());
    let object: Arc<dyn ByteRange> = Arc::new(bigfile_reader::HttpObject::new(
        session,
        format!("{failing}/data_stream_module/1"),
        "data stream 1".into(),
        100,
    ));
    let cache = CacheOptions {
        attempts: 3,
        backoff: std::time::Duration::from_millis(1),
        ..CacheOptions::default()
    };
    let mut reader = BigFileReader::with_options(
        object,
        ReaderOptions {
            cache,
            format: Format::Raw,
        },
        Arc::new(Silent),
    )
    .unwrap();

    let error = reader.read(10).unwrap_err();

    assert!(
        matches!(error, ReaderError::RetriesExhausted { attempts: 3, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("HTTP 503: overload"), "{error}");
}

#[test]
fn a_silent_server_times_out() {
    let silent = support::stub_server(None);
    let mut options = ConnectOptions::new(&silent);
    options.timeout = std::time::Duration::from_millis(500);
    let portal = Portal::connect(&options).unwrap();

    let error = portal.modules().err().unwrap();

    assert!(matches!(error, ReaderError::Timeout { .. }), "{error}");
    assert!(
        error.to_string().contains("did not answer within 0.5 s"),
        "{error}"
    );
}

#[test]
fn long_reads_stream_through_jumps_and_appends() {
    let server = support::TestServer::start();
    let portal = connect(&server);
    let stream = portal
        .module("data_stream_module")
        .create(fields(&[("reference", json!("s"))]))
        .unwrap()
        .into_data_stream()
        .unwrap();
    let mut bytes = pattern(12 << 20);
    stream.append(&bytes).unwrap();
    let object = stream.object();

    let read = |offset: usize, len: usize, expected: &[u8]| {
        let mut buffer = vec![0; len];
        bigfile_reader::read_exact_at(object.as_ref(), offset as u64, &mut buffer).unwrap();
        assert!(buffer == expected[offset..offset + len], "{offset}+{len}");
    };
    read(0, 2 << 20, &bytes);
    read(5 << 20, 2 << 20, &bytes);
    read(7 << 20, 2 << 20, &bytes);
    read(1 << 20, 1 << 20, &bytes);
    let more = pattern(3 << 20);
    stream.append(&more).unwrap();
    bytes.extend_from_slice(&more);
    read(9 << 20, 5 << 20, &bytes);
}

/// Serves 4 MiB of `i % 251` by Range; the first answer breaks off after
/// 2 MiB, as a server closing an idle connection would. Prints its port.
const BREAKING_STUB: &str = r#"
import http.server
data = bytes(i % 251 for i in range(4 << 20))
answers = []
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        start = int(self.headers["Range"].split("=")[1].split("-")[0])
        answers.append(start)
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        body = data[start:] if len(answers) > 1 else data[start:start + (2 << 20)]
        self.wfile.write(body)
        self.wfile.flush()
        if len(answers) == 1:
            self.close_connection = True
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

#[test]
fn a_kept_answer_that_broke_off_is_asked_again() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(support::python())
        .args(["-c", BREAKING_STUB])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut port = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let url = format!("http://127.0.0.1:{}/erp5", port.trim());
    let session = Arc::new(bigfile_reader::HttpSession::new(&ConnectOptions::new(&url)).unwrap());
    let object = bigfile_reader::HttpObject::new(
        session,
        format!("{url}/data_stream_module/1"),
        "data stream 1".into(),
        4 << 20,
    );
    let expected: Vec<u8> = (0..4 << 20).map(|i: usize| (i % 251) as u8).collect();

    let mut first = vec![0; 2 << 20];
    let mut second = vec![0; 2 << 20];
    bigfile_reader::read_exact_at(&object, 0, &mut first).unwrap();
    let result = bigfile_reader::read_exact_at(&object, 2 << 20, &mut second);
    let _ = child.kill();
    let _ = child.wait();

    result.unwrap();
    assert!(first == expected[..2 << 20] && second == expected[2 << 20..]);
}
