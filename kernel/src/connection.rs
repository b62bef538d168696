//! The connection file Jupyter hands a kernel: transport, address, the five
//! ports and the signing key (jupyter-protocol.md §2).

use std::path::Path;

use serde::Deserialize;

use crate::error::{KernelError, Result};

/// What a connection file says, with the fields this kernel uses.
#[derive(Debug, Clone, Deserialize)]
pub struct ConnectionInfo {
    /// `tcp` or `ipc`.
    #[serde(default = "default_transport")]
    pub transport: String,
    /// The address (tcp) or path prefix (ipc).
    pub ip: String,
    /// The shell ROUTER port.
    pub shell_port: u16,
    /// The IOPub publisher port.
    pub iopub_port: u16,
    /// The stdin ROUTER port.
    pub stdin_port: u16,
    /// The control ROUTER port.
    pub control_port: u16,
    /// The heartbeat REP port.
    pub hb_port: u16,
    /// Must be `hmac-sha256`.
    #[serde(default = "default_scheme")]
    pub signature_scheme: String,
    /// The HMAC key; empty disables signing.
    #[serde(default)]
    pub key: String,
}

fn default_transport() -> String {
    "tcp".to_string()
}

fn default_scheme() -> String {
    "hmac-sha256".to_string()
}

impl ConnectionInfo {
    /// Reads and checks a connection file.
    ///
    /// # Errors
    /// The file cannot be read, is not JSON of the expected shape, or asks
    /// for another transport or signature scheme.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read(path).map_err(|source| KernelError::ConnectionFileRead {
            path: path.to_path_buf(),
            source,
        })?;
        let info: Self =
            serde_json::from_slice(&text).map_err(|source| KernelError::ConnectionFileFormat {
                path: path.to_path_buf(),
                source,
            })?;
        info.check()?;
        Ok(info)
    }

    fn check(&self) -> Result<()> {
        if self.transport != "tcp" && self.transport != "ipc" {
            return Err(KernelError::Unsupported(format!(
                "transport {:?} (use tcp or ipc)",
                self.transport
            )));
        }
        if !self.key.is_empty() && self.signature_scheme != "hmac-sha256" {
            return Err(KernelError::Unsupported(format!(
                "signature scheme {:?} (use hmac-sha256)",
                self.signature_scheme
            )));
        }
        Ok(())
    }

    /// The ZeroMQ endpoint of `port`: `tcp://ip:port` or `ipc://ip-port`.
    pub fn endpoint(&self, port: u16) -> String {
        match self.transport.as_str() {
            "ipc" => format!("ipc://{}-{}", self.ip, port),
            _ if self.ip.contains(':') => format!("tcp://[{}]:{}", self.ip, port),
            _ => format!("tcp://{}:{}", self.ip, port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ConnectionInfo> {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        ConnectionInfo::read(file.path())
    }

    const TCP: &str = r#"{"transport": "tcp", "ip": "127.0.0.1", "shell_port": 1,
        "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5,
        "signature_scheme": "hmac-sha256", "key": "abc", "kernel_name": "wendelin"}"#;

    #[test]
    fn tcp_file_gives_tcp_endpoints() {
        let info = parse(TCP).unwrap();
        assert_eq!(info.endpoint(info.iopub_port), "tcp://127.0.0.1:2");
        assert_eq!(info.key, "abc");
    }

    #[test]
    fn ipc_file_gives_path_endpoints() {
        let info = parse(
            &TCP.replace("\"tcp\"", "\"ipc\"")
                .replace("127.0.0.1", "/tmp/k"),
        )
        .unwrap();
        assert_eq!(info.endpoint(info.hb_port), "ipc:///tmp/k-5");
    }

    #[test]
    fn unknown_scheme_is_refused_with_its_name() {
        let error = parse(&TCP.replace("hmac-sha256", "hmac-md5")).unwrap_err();
        assert!(error.to_string().contains("hmac-md5"), "{error}");
    }

    #[test]
    fn missing_port_is_a_format_error() {
        let error = parse(r#"{"ip": "127.0.0.1"}"#).unwrap_err();
        assert!(matches!(error, KernelError::ConnectionFileFormat { .. }));
    }
}
