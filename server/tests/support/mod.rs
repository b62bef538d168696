//! Test support: the real `wendelin-server` binary on a free loopback port
//! with a throw-away data folder, and a small blocking HTTP/1.1 client over
//! `TcpStream` (one connection per request, `Connection: close`).
//!
//! The port is read from the line the server prints on stdout, as a user
//! (and the end-to-end suite) would.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;

/// A running server.
pub struct Server {
    child: Child,
    pub port: u16,
    pub data_dir: PathBuf,
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// Basic credentials header value.
pub fn basic(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

/// Starts the server binary on `data_dir` with extra arguments.
pub fn spawn(data_dir: &Path, extra: &[&str]) -> std::io::Result<(Child, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wendelin-server"))
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(data_dir)
        .args(extra)
        .env("RUST_LOG", "warn")
        .env_remove("WENDELIN_LISTEN")
        .env_remove("WENDELIN_DATA_DIR")
        .env_remove("WENDELIN_USER")
        .env_remove("WENDELIN_PASSWORD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    Ok((child, line))
}

/// The port in the server's "listening on http://127.0.0.1:PORT/erp5" line.
pub fn port_of(line: &str) -> u16 {
    let after = line
        .split("http://127.0.0.1:")
        .nth(1)
        .unwrap_or_else(|| panic!("no URL in {line:?}"));
    after
        .split('/')
        .next()
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"))
}

impl Server {
    /// Starts a server on `data_dir`.
    pub fn start(data_dir: &Path) -> Server {
        Self::start_with(data_dir, &[])
    }

    /// Starts a server with extra arguments.
    pub fn start_with(data_dir: &Path, extra: &[&str]) -> Server {
        let (child, line) = spawn(data_dir, extra).expect("the server binary starts");
        assert!(
            line.starts_with("wendelin-server listening on http://127.0.0.1:"),
            "unexpected first line {line:?}"
        );
        Server {
            child,
            port: port_of(&line),
            data_dir: data_dir.to_owned(),
        }
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A request with the default credentials.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let auth = basic("zope", "insecure");
        let mut all: Vec<(&str, &str)> = vec![("Authorization", auth.as_str())];
        all.extend_from_slice(headers);
        raw_request(self.port, method, path, &all, body).expect("the server answers")
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], b"")
    }

    pub fn get_range(&self, path: &str, range: &str) -> Response {
        self.request("GET", path, &[("Range", range)], b"")
    }

    /// A POST of a JSON object.
    pub fn post_json(&self, path: &str, value: serde_json::Value) -> Response {
        let body = value.to_string();
        self.request(
            "POST",
            path,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
    }

    /// A POST of a form.
    pub fn post_form(&self, path: &str, form: &str) -> Response {
        self.request(
            "POST",
            path,
            &[("Content-Type", "application/x-www-form-urlencoded")],
            form.as_bytes(),
        )
    }

    /// Creates a document and returns its id.
    pub fn create(&self, module: &str, fields: serde_json::Value) -> String {
        let response = self.post_json(&format!("/erp5/{module}/newContent"), fields);
        assert_eq!(response.status, 201, "{}", response.text());
        response.json()["id"].as_str().unwrap().to_owned()
    }

    /// An appending PUT at `offset`.
    pub fn append(&self, path: &str, offset: u64, bytes: &[u8]) -> Response {
        let range = format!(
            "bytes {offset}-{}/{}",
            offset + bytes.len() as u64 - 1,
            offset + bytes.len() as u64
        );
        self.request("PUT", path, &[("Content-Range", &range)], bytes)
    }

    /// Every byte of a document.
    pub fn raw(&self, path: &str) -> Vec<u8> {
        let response = self.get(&format!("{path}?format=raw"));
        assert_eq!(response.status, 200, "{}", response.text());
        response.body
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn read_line(reader: &mut impl BufRead) -> std::io::Result<String> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let size_line = read_line(reader)?;
        let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| std::io::Error::other(format!("bad chunk size {size_line:?}")))?;
        if size == 0 {
            // trailers until the empty line
            while !read_line(reader)?.is_empty() {}
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        read_line(reader)?;
    }
}

/// Reads one HTTP/1.1 response.
pub fn read_response(stream: TcpStream, method: &str) -> std::io::Result<Response> {
    let mut reader = BufReader::new(stream);
    let status_line = read_line(&mut reader)?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {status_line:?}")))?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(&mut reader)?;
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(key, _): &&(String, String)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.clone())
    };
    let no_body =
        method == "HEAD" || status == 204 || status == 304 || (100..200).contains(&status);
    let body = if no_body {
        Vec::new()
    } else if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        read_chunked(&mut reader)?
    } else if let Some(length) = find("content-length").and_then(|v| v.parse::<usize>().ok()) {
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        body
    } else {
        let mut body = Vec::new();
        reader.read_to_end(&mut body)?;
        body
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// Sends one request and reads the answer.
pub fn raw_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let has_length = headers.iter().any(|(name, _)| {
        name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
    });
    if !has_length && (!body.is_empty() || method == "PUT" || method == "POST") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    // the server may answer (and close) before reading a refused body
    let _ = stream.write_all(body);
    read_response(stream, method)
}

/// Msgpack bytes of a fluentd frame `[time, record]` with a binary record.
pub fn frame_bin(time: u32, record: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    rmp::encode::write_array_len(&mut out, 2).unwrap();
    rmp::encode::write_u32(&mut out, time).unwrap();
    rmp::encode::write_bin(&mut out, record).unwrap();
    out
}

/// Msgpack bytes of a fluentd frame `[time, record]` with a string record.
pub fn frame_str(time: u32, record: &str) -> Vec<u8> {
    let mut out = Vec::new();
    rmp::encode::write_array_len(&mut out, 2).unwrap();
    rmp::encode::write_u32(&mut out, time).unwrap();
    rmp::encode::write_str(&mut out, record).unwrap();
    out
}

/// Deterministic pseudo-random bytes (xorshift), distinct per seed.
pub fn pattern(seed: u64, length: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}
