//! Start-up: open and recover the store, bind, print the one line a user
//! (and the test suites) read to find the server, then serve until
//! Ctrl-C or SIGTERM.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::serve::ListenerExt;

use crate::app::App;
use crate::auth::Credentials;
use crate::config::{self, Args};
use crate::routes;
use crate::storage::Store;

/// Opens the store in `data_dir`, recovering it.
async fn open_store(data_dir: PathBuf) -> anyhow::Result<Store> {
    let shown = data_dir.display().to_string();
    tokio::task::spawn_blocking(move || Store::open(&data_dir))
        .await
        .context("opening the store")?
        .with_context(|| format!("opening the data folder {shown}"))
}

/// Resolves when the process is asked to stop.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("stopping");
}

/// Runs the server with these arguments until it is stopped.
///
/// # Errors
///
/// A bad listen address, an exposed default password, a data folder that
/// cannot be opened, or a port that cannot be bound.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let addresses = config::listen_addresses(&args.listen).await?;
    config::check_exposure(&addresses, &args.password)?;
    let data_dir = config::data_dir(args.data_dir.clone())?;
    let store = open_store(data_dir.clone()).await?;

    let listener = tokio::net::TcpListener::bind(&addresses[..])
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let bound = listener.local_addr().context("reading the bound address")?;
    let app = Arc::new(App {
        store,
        credentials: Credentials {
            user: args.user,
            password: args.password,
        },
    });
    let router = Router::new().fallback(routes::handle).with_state(app);

    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "wendelin-server listening on {} (data in {})",
        config::base_url(bound),
        data_dir.display()
    )?;
    stdout.flush()?;
    drop(stdout);

    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving")
}
