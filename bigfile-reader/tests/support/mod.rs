//! Shared helpers of the integration tests: where the workspace and the
//! shared data are, and how to run the project's Python (the oracles:
//! scipy, numpy, audioop, msgpack).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `../shared/data` seen from the workspace root.
pub fn shared_data() -> PathBuf {
    workspace_root().join("../shared/data")
}

/// `$WENDELIN_PYTHON`, else the workspace's `.venv/bin/python`.
pub fn python() -> PathBuf {
    match std::env::var_os("WENDELIN_PYTHON") {
        Some(path) => PathBuf::from(path),
        None => workspace_root().join(".venv/bin/python"),
    }
}

/// Runs `script` with the project's Python and `arguments`; returns its
/// stdout. Panics with Python's stderr when it fails, since the oracle
/// is required.
pub fn run_python(script: &str, arguments: &[&str]) -> String {
    let output = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(arguments)
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "cannot run {}: {error}; run scripts/python-env.sh",
                python().display()
            )
        });
    assert!(
        output.status.success(),
        "python oracle failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Little-endian f64 values from a file written by numpy's `tofile`.
pub fn read_f64_file(path: &Path) -> Vec<f64> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(8)
        .map(|bytes| f64::from_le_bytes(bytes.try_into().unwrap()))
        .collect()
}

/// The `.wav` files of a folder, sorted.
pub fn wav_files(folder: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", folder.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "wav"))
        .collect();
    files.sort();
    files
}

/// The `wendelin-server` binary: `$WENDELIN_SERVER_BIN`, else the one
/// built next to this test (`<target>/debug/wendelin-server`).
pub fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("WENDELIN_SERVER_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    profile_dir.join("wendelin-server")
}

/// A wendelin-server on a free loopback port with a throw-away data
/// folder, stopped when dropped.
pub struct TestServer {
    child: std::process::Child,
    /// `http://127.0.0.1:<port>/erp5`.
    pub url: String,
    _data: tempfile::TempDir,
}

impl TestServer {
    /// Starts the server and waits for the line that names its URL.
    pub fn start() -> Self {
        use std::io::BufRead;
        let binary = server_binary();
        assert!(
            binary.exists(),
            "{} is missing: run `cargo build -p wendelin-server` (same target dir) or set WENDELIN_SERVER_BIN",
            binary.display()
        );
        let data = tempfile::tempdir().unwrap();
        let mut child = Command::new(&binary)
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data.path().join("data"))
            .env_remove("WENDELIN_USER")
            .env_remove("WENDELIN_PASSWORD")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"));
        Self {
            url: url.to_owned(),
            child,
            _data: data,
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback HTTP stub that answers every request with `answer`
/// (status line, headers and body), for the behaviours of servers we do
/// not run: a real Wendelin without our additions, a failing server, a
/// silent one (`answer` None: accept and never answer).
pub fn stub_server(answer: Option<&'static str>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(64) {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 65536];
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_millis(200)));
            let _ = stream.read(&mut request);
            match answer {
                Some(text) => {
                    let _ = stream.write_all(text.as_bytes());
                }
                None => held.push(stream),
            }
        }
    });
    format!("http://127.0.0.1:{port}/erp5")
}
