//! The `wendelin-kernel` binary: argument parsing and wiring only.
//! `wendelin-kernel --connection-file FILE` runs the kernel;
//! `wendelin-kernel install [--user | --sys-prefix | --prefix DIR]`
//! writes the kernelspec.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use wendelin_kernel::connection::ConnectionInfo;
use wendelin_kernel::install::{self, Target};

/// A Jupyter kernel for Wendelin: Rhai cells over remote big data.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// The connection file Jupyter writes (`{connection_file}`).
    #[arg(long = "connection-file", short = 'f')]
    connection_file: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Install the kernelspec `wendelin` for Jupyter.
    Install(InstallArgs),
}

#[derive(Debug, Args)]
#[group(multiple = false)]
struct InstallArgs {
    /// Into the user's Jupyter data directory (the default;
    /// JUPYTER_DATA_DIR overrides it).
    #[arg(long)]
    user: bool,
    /// Into the active Python environment (VIRTUAL_ENV or CONDA_PREFIX).
    #[arg(long)]
    sys_prefix: bool,
    /// Into DIR/share/jupyter/kernels.
    #[arg(long, value_name = "DIR")]
    prefix: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    match (cli.command, cli.connection_file) {
        (Some(Command::Install(args)), _) => run_install(args),
        (None, Some(file)) => run_kernel(file),
        (None, None) => anyhow::bail!(
            "nothing to do: give --connection-file FILE (Jupyter does this), or run \
             `wendelin-kernel install` to register the kernel with Jupyter"
        ),
    }
}

fn run_install(args: InstallArgs) -> anyhow::Result<()> {
    let target = match (args.prefix, args.sys_prefix) {
        (Some(prefix), _) => Target::Prefix(prefix),
        (None, true) => Target::SysPrefix,
        (None, false) => Target::User,
    };
    let binary = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .context("cannot find the path of this binary")?;
    let dir = install::install(&target, &binary)?;
    println!(
        "installed kernelspec {} in {}",
        install::KERNEL_NAME,
        dir.display()
    );
    if let Some(warning) = install::search_path_warning(&dir) {
        eprintln!("note: {warning}");
    }
    Ok(())
}

fn run_kernel(file: PathBuf) -> anyhow::Result<()> {
    let info = ConnectionInfo::read(&file)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let restart = runtime.block_on(wendelin_kernel::kernel::serve(info))?;
    tracing::info!(restart, "kernel shut down");
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    std::process::exit(0)
}
