//! What a running cell sends on IOPub: stream text batched into few
//! messages, displays, results and errors, all with the request as parent
//! and in the order they were produced.
//!
//! Text is gathered and sent when the stream changes (stdout to stderr),
//! when any other output is sent, when [`FLUSH_BYTES`] are pending, and by
//! a flusher thread every [`FLUSH_INTERVAL`]. Sends block while the IOPub
//! queue is full, which paces a chatty cell to what the subscribers take
//! (see `iopub.rs`). This file does not know about sockets or Rhai.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::wire::Message;

/// Pending text that triggers a flush.
pub const FLUSH_BYTES: usize = 256 << 10;

/// Largest text in one stream message.
pub const MAX_STREAM_MESSAGE: usize = 1 << 20;

/// How often pending text is sent when a cell prints little.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(30);

#[derive(Default)]
struct State {
    parent: Option<Message>,
    silent: bool,
    stream_name: &'static str,
    pending: String,
}

/// The IOPub side of the execution thread.
pub struct Output {
    state: Mutex<State>,
    iopub: mpsc::Sender<Message>,
    session: String,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Output")
            .field("session", &self.session)
            .finish()
    }
}

impl Output {
    /// An output that queues messages on `iopub`, signed later for
    /// `session`.
    pub fn new(iopub: mpsc::Sender<Message>, session: &str) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State::default()),
            iopub,
            session: session.to_string(),
        })
    }

    /// Starts a thread that flushes pending text every
    /// [`FLUSH_INTERVAL`]; it ends when the output is dropped elsewhere.
    pub fn start_flusher(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name("stream-flusher".into())
            .spawn(move || {
                while let Some(output) = weak.upgrade() {
                    output.flush();
                    drop(output);
                    std::thread::sleep(FLUSH_INTERVAL);
                }
            });
        if let Err(error) = spawned {
            tracing::error!(%error, "cannot start the stream flusher");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the request whose outputs follow; `silent` suppresses all but
    /// status messages.
    pub fn begin(&self, parent: &Message, silent: bool) {
        let mut state = self.lock();
        self.flush_locked(&mut state);
        state.parent = Some(parent.clone());
        state.silent = silent;
    }

    /// Sends pending text and forgets the request.
    pub fn end(&self) {
        let mut state = self.lock();
        self.flush_locked(&mut state);
        state.parent = None;
        state.silent = false;
    }

    /// The request being served, if any.
    pub fn parent(&self) -> Option<Message> {
        self.lock().parent.clone()
    }

    /// Appends text to `stdout` or `stderr`.
    pub fn stream(&self, name: &'static str, text: &str) {
        let mut state = self.lock();
        if state.silent || state.parent.is_none() || text.is_empty() {
            return;
        }
        if state.stream_name != name {
            self.flush_locked(&mut state);
            state.stream_name = name;
        }
        state.pending.push_str(text);
        if state.pending.len() >= FLUSH_BYTES {
            self.flush_locked(&mut state);
        }
    }

    /// Sends pending text now.
    pub fn flush(&self) {
        let mut state = self.lock();
        self.flush_locked(&mut state);
    }

    fn flush_locked(&self, state: &mut State) {
        if state.pending.is_empty() {
            return;
        }
        let text = std::mem::take(&mut state.pending);
        for chunk in split_text(&text, MAX_STREAM_MESSAGE) {
            let content = json!({"name": state.stream_name, "text": chunk});
            self.send_locked(state, "stream", content);
        }
    }

    fn send_locked(&self, state: &State, msg_type: &str, content: Value) {
        let message = Message::new(msg_type, &self.session, state.parent.as_ref(), content);
        self.queue(message);
    }

    fn queue(&self, mut message: Message) {
        message.identities = vec![topic(&self.session, message.msg_type())];
        if self.iopub.blocking_send(message).is_err() {
            tracing::debug!("iopub queue closed; message dropped");
        }
    }

    /// Sends an output message (`display_data`, `execute_result`, ...)
    /// after the pending text, unless the request is silent.
    pub fn publish(&self, msg_type: &str, content: Value) {
        let mut state = self.lock();
        if state.silent || state.parent.is_none() {
            return;
        }
        self.flush_locked(&mut state);
        self.send_locked(&state, msg_type, content);
    }

    /// Sends `status` for `parent`, after any pending text, even when the
    /// request is silent.
    pub fn status(&self, parent: &Message, execution_state: &str) {
        let mut state = self.lock();
        self.flush_locked(&mut state);
        let content = json!({"execution_state": execution_state});
        self.queue(Message::new("status", &self.session, Some(parent), content));
    }

    /// The session id of this kernel.
    pub fn session(&self) -> &str {
        &self.session
    }
}

/// The IOPub topic frame of a message type.
pub fn topic(session: &str, msg_type: &str) -> bytes::Bytes {
    bytes::Bytes::from(format!("kernel.{session}.{msg_type}"))
}

/// Splits text into pieces of at most `limit` bytes, on character
/// boundaries.
pub fn split_text(text: &str, limit: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while rest.len() > limit {
        let mut cut = limit;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        pieces.push(head);
        rest = tail;
    }
    pieces.push(rest);
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Message {
        Message::new("execute_request", "client", None, json!({}))
    }

    #[test]
    fn split_text_keeps_characters_whole() {
        let text = "aé𝐚".repeat(3);
        let pieces = split_text(&text, 4);
        assert_eq!(pieces.concat(), text);
        assert!(pieces.iter().all(|p| p.len() <= 4 && !p.is_empty()));
    }

    #[test]
    fn prints_are_batched_and_ordered_before_other_outputs() {
        let (sender, mut receiver) = mpsc::channel(64);
        let output = Output::new(sender, "s");
        output.begin(&request(), false);
        output.stream("stdout", "a\n");
        output.stream("stdout", "b\n");
        output.stream("stderr", "oops\n");
        output.publish("display_data", json!({"data": {}}));
        output.end();

        let kinds: Vec<(String, String)> = std::iter::from_fn(|| receiver.try_recv().ok())
            .map(|m| (m.msg_type().to_string(), m.content_str("text").to_string()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("stream".into(), "a\nb\n".into()),
                ("stream".into(), "oops\n".into()),
                ("display_data".into(), String::new()),
            ]
        );
    }

    #[test]
    fn silent_requests_send_only_status() {
        let (sender, mut receiver) = mpsc::channel(64);
        let output = Output::new(sender, "s");
        let parent = request();
        output.begin(&parent, true);
        output.stream("stdout", "hidden");
        output.publish("execute_result", json!({}));
        output.status(&parent, "idle");
        output.end();

        let kinds: Vec<String> = std::iter::from_fn(|| receiver.try_recv().ok())
            .map(|m| m.msg_type().to_string())
            .collect();
        assert_eq!(kinds, vec!["status"]);
    }
}
