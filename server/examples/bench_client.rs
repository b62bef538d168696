//! The benchmark's HTTP client (used by `scripts/bench-server.sh`): one
//! keep-alive HTTP/1.1 connection, ranged GETs or appending PUTs, the
//! bodies discarded or read from a file. Prints `bytes seconds` on stdout.
//!
//! Usage:
//!   bench_client read   <port> <path> <total bytes> <range bytes>
//!   bench_client append <port> <path> <source file> <append bytes>

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use anyhow::{Context, bail};
use base64::Engine;

struct Connection {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    auth: String,
}

impl Connection {
    fn open(port: u16) -> anyhow::Result<Connection> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        let token = base64::engine::general_purpose::STANDARD.encode("zope:insecure");
        Ok(Connection {
            reader: BufReader::with_capacity(1 << 20, stream.try_clone()?),
            writer: stream,
            auth: format!("Basic {token}"),
        })
    }

    /// Sends a request and reads the answer's status, discarding the body
    /// into `sink` (which must be large enough to be useful).
    fn exchange(&mut self, head: &str, body: &[u8], sink: &mut [u8]) -> anyhow::Result<(u16, u64)> {
        let request = format!(
            "{head}Host: 127.0.0.1\r\nAuthorization: {}\r\n\r\n",
            self.auth
        );
        self.writer.write_all(request.as_bytes())?;
        self.writer.write_all(body)?;

        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .context("no status")?
            .parse()?;
        let mut length = 0u64;
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some((name, value)) = trimmed.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse()?;
            }
        }
        let mut left = length;
        while left > 0 {
            let want = left.min(sink.len() as u64) as usize;
            let got = self.reader.read(&mut sink[..want])?;
            if got == 0 {
                bail!("connection closed with {left} bytes left");
            }
            left -= got as u64;
        }
        Ok((status, length))
    }
}

fn read(port: u16, path: &str, total: u64, piece: u64) -> anyhow::Result<(u64, f64)> {
    let mut connection = Connection::open(port)?;
    let mut sink = vec![0u8; 1 << 20];
    let started = Instant::now();
    let mut received = 0;
    let mut start = 0;
    while start < total {
        let end = (start + piece).min(total) - 1;
        let head = format!("GET {path} HTTP/1.1\r\nRange: bytes={start}-{end}\r\n");
        let (status, length) = connection.exchange(&head, b"", &mut sink)?;
        if status != 206 {
            bail!("range {start}-{end} answered {status}");
        }
        received += length;
        start = end + 1;
    }
    Ok((received, started.elapsed().as_secs_f64()))
}

fn append(port: u16, path: &str, source: &str, piece: usize) -> anyhow::Result<(u64, f64)> {
    let mut file = std::fs::File::open(source)?;
    let total = file.metadata()?.len();
    let mut connection = Connection::open(port)?;
    let mut buffer = vec![0u8; piece];
    let mut sink = vec![0u8; 4096];
    let started = Instant::now();
    let mut offset = 0u64;
    while offset < total {
        let length = (total - offset).min(piece as u64) as usize;
        file.read_exact(&mut buffer[..length])?;
        let last = offset + length as u64 - 1;
        let head = format!(
            "PUT {path} HTTP/1.1\r\nContent-Range: bytes {offset}-{last}/{}\r\nContent-Length: {length}\r\n",
            last + 1
        );
        let (status, _) = connection.exchange(&head, &buffer[..length], &mut sink)?;
        if status != 204 {
            bail!("append at {offset} answered {status}");
        }
        offset += length as u64;
    }
    Ok((offset, started.elapsed().as_secs_f64()))
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: bench_client read <port> <path> <total> <range> | append <port> <path> <file> <piece>";
    if args.len() != 6 {
        bail!("{usage}");
    }
    let port: u16 = args[2].parse().context("port")?;
    let (bytes, seconds) = match args[1].as_str() {
        "read" => read(port, &args[3], args[4].parse()?, args[5].parse()?)?,
        "append" => append(port, &args[3], &args[4], args[5].parse()?)?,
        _ => bail!("{usage}"),
    };
    println!("{bytes} {seconds:.6}");
    Ok(())
}
