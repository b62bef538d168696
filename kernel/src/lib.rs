//! `wendelin-kernel`: a Jupyter kernel whose cells are Rhai scripts, built
//! to host the Wendelin toolkit.
//!
//! The layers, from the wire up: `wire` (framing and signatures),
//! `iopub` (our bounded publisher) and `kernel` (sockets and tasks),
//! `shell` (request lifecycle on the execution thread), `engine` (the
//! Rhai session), `output` and `context` (what cells emit and what native
//! code may use), `display` (mime bundles), `completion`, `history`,
//! `magics`, and `install` (the kernelspec). Toolkits plug in through
//! [`toolkit::Toolkit`] without touching the protocol code.

pub mod completion;
pub mod connection;
pub mod context;
pub mod display;
pub mod engine;
pub mod error;
pub mod history;
pub mod install;
pub mod iopub;
pub mod kernel;
pub mod magics;
pub mod output;
pub mod shell;
pub mod toolkit;
pub mod wire;

pub use context::{CellContext, ProgressDisplay, SessionConfig};
pub use display::{DisplayRegistry, Displayable, MimeBundle};
pub use error::KernelError;
pub use toolkit::{Registrar, Toolkit};
