//! HTTPS trust: a loopback HTTPS stub (Python's `ssl`) with a certificate
//! signed by a throw-away CA made with the `openssl` command. The client
//! trusts it with a CA bundle, refuses it without one (saying what to
//! set), and accepts it when verification is explicitly turned off.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};

use bigfile_reader::{ConnectOptions, Portal, ReaderError};

/// Serves every GET with a portal JSON over TLS; prints its port.
const HTTPS_STUB: &str = r#"
import sys, ssl, http.server
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"id": "erp5", "modules": [{"id": "data_stream_module", "document_portal_type": "Data Stream", "count": 3}]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

fn openssl(folder: &Path, arguments: &[&str]) {
    let status = Command::new("openssl")
        .args(arguments)
        .current_dir(folder)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "openssl {arguments:?} failed");
}

/// A CA and a leaf certificate for 127.0.0.1 signed by it.
fn make_certificates(folder: &Path) {
    openssl(
        folder,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "1",
            "-subj",
            "/CN=test CA",
        ],
    );
    openssl(
        folder,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(
        folder.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        folder,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "1",
            "-extfile",
            "leaf.ext",
        ],
    );
}

struct Stub(std::process::Child);

impl Drop for Stub {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_stub(folder: &Path) -> (Stub, String) {
    use std::io::BufRead;
    let mut child = Command::new(support::python())
        .args(["-c", HTTPS_STUB])
        .arg(folder.join("leaf.pem"))
        .arg(folder.join("leaf.key"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (
        Stub(child),
        format!("https://127.0.0.1:{}/erp5", line.trim()),
    )
}

#[test]
fn https_is_trusted_through_a_ca_bundle_only() {
    let folder = tempfile::tempdir().unwrap();
    make_certificates(folder.path());
    let (_stub, url) = start_stub(folder.path());

    let mut trusted = ConnectOptions::new(&url);
    trusted.ca_bundle = Some(folder.path().join("ca.pem"));
    let modules = Portal::connect(&trusted).unwrap().modules().unwrap();
    assert_eq!(
        (modules[0].id.as_str(), modules[0].count),
        ("data_stream_module", 3)
    );

    let error = Portal::connect(&ConnectOptions::new(&url))
        .unwrap()
        .modules()
        .unwrap_err();
    assert!(matches!(error, ReaderError::Unreachable { .. }), "{error}");
    assert!(error.to_string().contains("WENDELIN_CA_BUNDLE"), "{error}");

    let mut insecure = ConnectOptions::new(&url);
    insecure.insecure = true;
    assert_eq!(
        Portal::connect(&insecure).unwrap().modules().unwrap().len(),
        1
    );
}
