//! Wiring: binds the five sockets of a connection file, gives each its own
//! task, starts the execution thread, and handles the control channel
//! (interrupt, shutdown, kernel_info) and SIGINT.
//!
//! No send error or vanished client ends a loop: failures are logged and
//! the loop goes on (jupyter-protocol.md §4, §7). Every received message
//! is verified before it is parsed (`wire.rs`); bad ones are logged and
//! dropped.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use signal::CancelFlag;
use tokio::sync::mpsc;
use zeromq::{RepSocket, RouterSocket, Socket, SocketRecv, SocketSend, ZmqMessage};

use crate::connection::ConnectionInfo;
use crate::context::{CellContext, SessionConfig, StdinBridge};
use crate::engine::Session;
use crate::error::{KernelError, Result};
use crate::iopub::{Publisher, WelcomeBuilder};
use crate::output::{Output, topic};
use crate::shell::{Shell, kernel_info_content};
use crate::toolkit::default_toolkits;
use crate::wire::{self, Message, Signer};

/// A reply to a client that does not read is abandoned after this long.
const ROUTER_SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Messages queued for IOPub before producers wait: with stream messages
/// of at most 1 MiB (usually 256 KiB), this bounds what a flooding cell
/// can pile up while the publisher waits on a slow subscriber.
const IOPUB_QUEUE: usize = 64;

type SharedSigner = Arc<Mutex<Signer>>;

/// What the control task needs.
#[derive(Clone)]
struct Control {
    session: String,
    iopub: mpsc::Sender<Message>,
    replies: mpsc::UnboundedSender<Message>,
    cancel: CancelFlag,
    shutdown: mpsc::UnboundedSender<bool>,
}

/// Runs the kernel until a shutdown request; returns whether a restart
/// was asked for.
///
/// # Errors
/// [`KernelError::Bind`] when a socket cannot be bound.
pub async fn serve(info: ConnectionInfo) -> Result<bool> {
    let session_id = uuid::Uuid::new_v4().to_string();
    let signer = Signer::new(info.key.as_bytes());

    // iopub: our publisher, fed by one queue
    let (iopub_tx, iopub_rx) = mpsc::channel::<Message>(IOPUB_QUEUE);
    let iopub_endpoint = info.endpoint(info.iopub_port);
    let publisher = Publisher::bind(&iopub_endpoint, welcome(&signer, &session_id)).await?;
    tokio::spawn(publish_loop(publisher.clone(), iopub_rx, signer.clone()));
    let sockets = bind_sockets(&info, &signer).await?;

    // the execution thread
    let (shell_in_tx, shell_in_rx) = std::sync::mpsc::channel::<Message>();
    let (stdin_in_tx, stdin_in_rx) = std::sync::mpsc::channel::<Message>();
    let output = Output::new(iopub_tx.clone(), &session_id);
    output.start_flusher();
    let replies = Mutex::new(stdin_in_rx);
    let stdin = StdinBridge {
        requests: sockets.stdin.1.clone(),
        replies,
    };
    let context = CellContext::new(output, SessionConfig::from_env(), stdin);
    let cancel = context.cancel_flag();
    start_execution_thread(context, sockets.shell.1.clone(), shell_in_rx)?;

    // receive loops and watchers
    let (shutdown_tx, mut shutdown_rx) = mpsc::unbounded_channel::<bool>();
    let control = Control {
        session: session_id.clone(),
        iopub: iopub_tx.clone(),
        replies: sockets.control.1.clone(),
        cancel: cancel.clone(),
        shutdown: shutdown_tx.clone(),
    };
    spawn_receivers(
        sockets,
        Arc::new(Mutex::new(signer)),
        shell_in_tx,
        stdin_in_tx,
        control,
    );
    spawn_watchers(cancel, shutdown_tx);

    let content = json!({"execution_state": "starting"});
    let starting = Message::new("status", &session_id, None, content);
    let _ = iopub_tx.send(with_topic(starting)).await;
    tracing::info!(transport = %info.transport, ip = %info.ip, "wendelin kernel ready");

    let restart = shutdown_rx.recv().await.unwrap_or(false);
    publisher.drain(Duration::from_millis(500)).await;
    Ok(restart)
}

type Router = (zeromq::RouterRecvHalf, mpsc::UnboundedSender<Message>);

/// The bound ROUTERs (receive half, send queue); the heartbeat runs on
/// its own task from here on.
struct Sockets {
    shell: Router,
    control: Router,
    stdin: Router,
}

async fn bind_sockets(info: &ConnectionInfo, signer: &Signer) -> Result<Sockets> {
    let shell = bind_router(&info.endpoint(info.shell_port), "shell", signer).await?;
    let control = bind_router(&info.endpoint(info.control_port), "control", signer).await?;
    let stdin = bind_router(&info.endpoint(info.stdin_port), "stdin", signer).await?;
    tokio::spawn(heartbeat(bind_rep(&info.endpoint(info.hb_port)).await?));
    Ok(Sockets {
        shell,
        control,
        stdin,
    })
}

fn spawn_receivers(
    sockets: Sockets,
    verifier: SharedSigner,
    shell_in: std::sync::mpsc::Sender<Message>,
    stdin_in: std::sync::mpsc::Sender<Message>,
    control: Control,
) {
    let forward_shell = move |m: Message| {
        let _ = shell_in.send(m);
    };
    let shell = receive_loop(sockets.shell.0, "shell", verifier.clone(), forward_shell);
    tokio::spawn(shell);

    let forward_stdin = move |m: Message| {
        if m.msg_type() == "input_reply" {
            let _ = stdin_in.send(m);
        }
    };
    let stdin = receive_loop(sockets.stdin.0, "stdin", verifier.clone(), forward_stdin);
    tokio::spawn(stdin);

    // each control request on its own task, so an interrupt is never
    // queued behind a slow one
    let handle_control = move |m: Message| {
        let control = control.clone();
        tokio::spawn(async move { control.handle(m).await });
    };
    tokio::spawn(receive_loop(
        sockets.control.0,
        "control",
        verifier,
        handle_control,
    ));
}

fn spawn_watchers(cancel: CancelFlag, shutdown: mpsc::UnboundedSender<bool>) {
    tokio::spawn(watch_sigint(cancel));
    let parent = std::env::var("JPY_PARENT_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok());
    if let Some(parent) = parent {
        tokio::spawn(watch_parent(parent, shutdown));
    }
}

fn welcome(signer: &Signer, session: &str) -> WelcomeBuilder {
    let (signer, session) = (signer.clone(), session.to_string());
    Arc::new(move |subscription: &[u8]| {
        let subscription = String::from_utf8_lossy(subscription);
        let message = Message::new(
            "iopub_welcome",
            &session,
            None,
            json!({"subscription": subscription}),
        );
        wire::encode(&with_topic(message), &signer)
    })
}

fn with_topic(mut message: Message) -> Message {
    message.identities = vec![topic(&message.header.session, message.msg_type())];
    message
}

async fn publish_loop(publisher: Publisher, mut queue: mpsc::Receiver<Message>, signer: Signer) {
    while let Some(message) = queue.recv().await {
        publisher.publish(wire::encode(&message, &signer)).await;
    }
}

fn start_execution_thread(
    context: CellContext,
    replies: mpsc::UnboundedSender<Message>,
    requests: std::sync::mpsc::Receiver<Message>,
) -> Result<()> {
    std::thread::Builder::new()
        .name("execution".into())
        .stack_size(64 << 20)
        .spawn(move || {
            let session = Session::new(context, default_toolkits());
            Shell::new(session, replies, requests).run();
        })
        .map(|_| ())
        .map_err(|e| KernelError::Bind {
            endpoint: "execution thread".into(),
            reason: e.to_string(),
        })
}

/// Binds a ROUTER and starts its send task; returns the receive half and
/// the queue of messages to send.
async fn bind_router(endpoint: &str, name: &'static str, signer: &Signer) -> Result<Router> {
    remove_stale_ipc_file(endpoint);
    let mut socket = RouterSocket::new();
    socket.bind(endpoint).await.map_err(|e| KernelError::Bind {
        endpoint: endpoint.to_string(),
        reason: e.to_string(),
    })?;
    let (send_half, recv_half) = socket.split();
    let (sender, queue) = mpsc::unbounded_channel();
    tokio::spawn(send_loop(send_half, queue, signer.clone(), name));
    Ok((recv_half, sender))
}

async fn bind_rep(endpoint: &str) -> Result<RepSocket> {
    remove_stale_ipc_file(endpoint);
    let mut socket = RepSocket::new();
    socket.bind(endpoint).await.map_err(|e| KernelError::Bind {
        endpoint: endpoint.to_string(),
        reason: e.to_string(),
    })?;
    Ok(socket)
}

/// An ipc endpoint's socket file left by a kernel that died on the same
/// connection file would make the bind fail: the file is ours, remove it.
fn remove_stale_ipc_file(endpoint: &str) {
    if let Some(path) = endpoint.strip_prefix("ipc://")
        && std::fs::remove_file(path).is_ok()
    {
        tracing::debug!(path, "removed a stale ipc socket file");
    }
}

async fn send_loop(
    mut socket: zeromq::RouterSendHalf,
    mut queue: mpsc::UnboundedReceiver<Message>,
    signer: Signer,
    name: &'static str,
) {
    while let Some(message) = queue.recv().await {
        let msg_type = message.msg_type().to_string();
        let Ok(frames) = ZmqMessage::try_from(wire::encode(&message, &signer)) else {
            continue;
        };
        match tokio::time::timeout(ROUTER_SEND_TIMEOUT, socket.send(frames)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::warn!(socket = name, %msg_type, %error, "send failed; client gone?")
            }
            Err(_) => {
                tracing::warn!(socket = name, %msg_type, "send timed out; client not reading")
            }
        }
    }
}

async fn receive_loop(
    mut socket: zeromq::RouterRecvHalf,
    name: &'static str,
    verifier: SharedSigner,
    mut deliver: impl FnMut(Message),
) {
    loop {
        let frames = match socket.recv().await {
            Ok(frames) => frames.into_vec(),
            Err(error) => {
                tracing::debug!(socket = name, %error, "receive failed");
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        let decoded = {
            let mut signer = verifier.lock().unwrap_or_else(|e| e.into_inner());
            wire::decode(&frames, &mut signer)
        };
        match decoded {
            Ok(message) => deliver(message),
            Err(error) => tracing::warn!(socket = name, %error, "message dropped"),
        }
    }
}

async fn heartbeat(mut socket: RepSocket) {
    loop {
        match socket.recv().await {
            Ok(ping) => {
                if let Err(error) = socket.send(ping).await {
                    tracing::debug!(%error, "heartbeat reply failed");
                }
            }
            Err(error) => {
                tracing::debug!(%error, "heartbeat receive failed");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
}

async fn watch_sigint(cancel: CancelFlag) {
    let Ok(mut interrupts) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
    else {
        tracing::warn!("cannot watch SIGINT; interrupt by message only");
        return;
    };
    while interrupts.recv().await.is_some() {
        tracing::info!("SIGINT: interrupting the running cell");
        cancel.cancel();
    }
}

/// Ends the kernel when the process that started it is gone
/// (`JPY_PARENT_PID`, set by jupyter_client's launcher).
async fn watch_parent(parent: u32, shutdown: mpsc::UnboundedSender<bool>) {
    let proc_entry = std::path::PathBuf::from(format!("/proc/{parent}"));
    if !proc_entry.exists() {
        return; // no procfs here, or a parent we cannot see: do not guess
    }
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if !proc_entry.exists() {
            tracing::warn!(parent, "parent process is gone; shutting down");
            let _ = shutdown.send(false);
            return;
        }
    }
}

impl Control {
    async fn publish_status(&self, parent: &Message, state: &str) {
        let status = Message::new(
            "status",
            &self.session,
            Some(parent),
            json!({"execution_state": state}),
        );
        let _ = self.iopub.send(with_topic(status)).await;
    }

    fn reply(&self, request: &Message, msg_type: &str, content: Value) {
        let _ = self.replies.send(Message::new(
            msg_type,
            &self.session,
            Some(request),
            content,
        ));
    }

    async fn handle(&self, request: Message) {
        // the flag first: publishing may wait while a flooding cell fills
        // the iopub queue, and that cell is what should stop
        if request.msg_type() == "interrupt_request" {
            self.cancel.cancel();
        }
        self.publish_status(&request, "busy").await;
        match request.msg_type() {
            "interrupt_request" => {
                tracing::info!("interrupt request");
                self.reply(&request, "interrupt_reply", json!({"status": "ok"}));
            }
            "shutdown_request" => {
                let restart = request.content_bool("restart", false);
                self.reply(
                    &request,
                    "shutdown_reply",
                    json!({"status": "ok", "restart": restart}),
                );
                self.cancel.cancel();
                self.publish_status(&request, "idle").await;
                tokio::time::sleep(Duration::from_millis(20)).await;
                let _ = self.shutdown.send(restart);
                return;
            }
            "kernel_info_request" => {
                self.reply(&request, "kernel_info_reply", kernel_info_content())
            }
            other => tracing::warn!(msg_type = other, "unsupported control request ignored"),
        }
        self.publish_status(&request, "idle").await;
    }
}
