//! Command-line and environment configuration: where to listen, where the
//! data folder is, and the one user's credentials.
//!
//! Defaults make a newcomer's first minute work: loopback port 8080, the
//! data folder in the user's data directory (XDG), `zope` / `insecure`.
//! With the default password the server refuses to listen anywhere but
//! loopback (ARCHITECTURE.md, "The object server", Safety).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Parser;

/// The password a fresh install has; never good enough off loopback.
pub const DEFAULT_PASSWORD: &str = "insecure";

/// `wendelin-server`: a Wendelin-compatible object server.
#[derive(Debug, Clone, Parser)]
#[command(name = "wendelin-server", version, about)]
pub struct Args {
    /// Address to listen on (`127.0.0.1:0` picks a free port and prints it).
    #[arg(long, env = "WENDELIN_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,

    /// Data folder [default: $XDG_DATA_HOME/wendelin-server or
    /// ~/.local/share/wendelin-server].
    #[arg(long, env = "WENDELIN_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// The HTTP Basic user.
    #[arg(long, env = "WENDELIN_USER", default_value = "zope")]
    pub user: String,

    /// The HTTP Basic password.
    #[arg(long, env = "WENDELIN_PASSWORD", default_value = DEFAULT_PASSWORD, hide_env_values = true)]
    pub password: String,
}

/// The data folder: the one given, else the XDG data directory's
/// `wendelin-server`.
///
/// # Errors
///
/// When no folder is given and neither `XDG_DATA_HOME` nor `HOME` is set.
pub fn data_dir(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = given {
        return Ok(dir);
    }
    let xdg = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|path| path.is_absolute());
    let base = match xdg {
        Some(base) => base,
        None => std::env::var_os("HOME")
            .map(|home| PathBuf::from(home).join(".local").join("share"))
            .context("no data folder: set --data-dir, WENDELIN_DATA_DIR, XDG_DATA_HOME or HOME")?,
    };
    Ok(base.join("wendelin-server"))
}

/// The addresses `listen` stands for (names are resolved).
///
/// # Errors
///
/// An address that neither parses nor resolves.
pub async fn listen_addresses(listen: &str) -> anyhow::Result<Vec<SocketAddr>> {
    if let Ok(address) = listen.parse::<SocketAddr>() {
        return Ok(vec![address]);
    }
    let resolved: Vec<SocketAddr> = tokio::net::lookup_host(listen)
        .await
        .with_context(|| format!("listen address {listen:?} is not host:port"))?
        .collect();
    if resolved.is_empty() {
        bail!("listen address {listen:?} resolves to nothing");
    }
    Ok(resolved)
}

/// Refuses non-loopback addresses while the password is the default.
///
/// # Errors
///
/// Naming the address and what to do.
pub fn check_exposure(addresses: &[SocketAddr], password: &str) -> anyhow::Result<()> {
    if password != DEFAULT_PASSWORD {
        return Ok(());
    }
    if let Some(open) = addresses.iter().find(|a| !a.ip().is_loopback()) {
        bail!(
            "refusing to listen on {open} with the default password: \
             set --password (or WENDELIN_PASSWORD), or listen on 127.0.0.1"
        );
    }
    Ok(())
}

/// The URL a client uses for an address.
pub fn base_url(address: SocketAddr) -> String {
    format!("http://{address}/erp5")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_password_refuses_every_interface() {
        let open: SocketAddr = "0.0.0.0:8080".parse().unwrap();

        let message = check_exposure(&[open], DEFAULT_PASSWORD)
            .unwrap_err()
            .to_string();

        assert!(message.contains("0.0.0.0:8080"), "{message}");
    }

    #[test]
    fn default_password_allows_loopback() {
        let v4: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let v6: SocketAddr = "[::1]:0".parse().unwrap();

        assert!(check_exposure(&[v4, v6], DEFAULT_PASSWORD).is_ok());
    }

    #[test]
    fn own_password_allows_any_interface() {
        let open: SocketAddr = "0.0.0.0:8080".parse().unwrap();

        assert!(check_exposure(&[open], "s3cret-enough").is_ok());
    }

    #[test]
    fn given_data_dir_wins() {
        assert_eq!(data_dir(Some("/d".into())).unwrap(), PathBuf::from("/d"));
    }

    #[test]
    fn ipv6_urls_bracket_the_address() {
        assert_eq!(
            base_url("[::1]:80".parse().unwrap()),
            "http://[::1]:80/erp5"
        );
    }
}
