//! [`CellContext`]: what native functions get from the engine while a cell
//! runs. The cancellation flag an interrupt sets, a progress display that
//! updates in place, ways to show displays and stream text mid-cell, the
//! session configuration that magics fill, and `input()` through the stdin
//! channel.
//!
//! One context lives for the whole session and is cloned into every
//! registered function; it always refers to the cell running now.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use rhai::EvalAltResult;
use serde_json::{Value, json};
use signal::{CancelFlag, Progress};
use tokio::sync::mpsc::UnboundedSender;

use crate::display::{MimeBundle, escape_html};
use crate::output::Output;
use crate::wire::Message;

/// Smallest interval between two updates of a progress display.
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

/// The session's configuration: the magics' values (`erp5_url`,
/// `erp5_user`, `erp5_password`, ...), shared by every clone.
#[derive(Debug, Clone, Default)]
pub struct SessionConfig(Arc<RwLock<BTreeMap<String, String>>>);

impl SessionConfig {
    /// A configuration seeded from `WENDELIN_URL`, `WENDELIN_USER` and
    /// `WENDELIN_PASSWORD` when they are set.
    pub fn from_env() -> Self {
        let config = Self::default();
        for (variable, key) in [
            ("WENDELIN_URL", "erp5_url"),
            ("WENDELIN_USER", "erp5_user"),
            ("WENDELIN_PASSWORD", "erp5_password"),
        ] {
            if let Ok(value) = std::env::var(variable) {
                config.set(key, &value);
            }
        }
        config
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<String> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    /// Sets `key` to `value`.
    pub fn set(&self, key: &str, value: &str) {
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        map.insert(key.to_string(), value.to_string());
    }
}

/// Why `input()` gave no answer.
#[derive(Debug, Clone, PartialEq)]
pub enum InputFailure {
    /// The request had `allow_stdin: false`.
    NotAllowed,
    /// The cell was interrupted while waiting.
    Interrupted,
    /// The kernel is shutting down.
    Closed,
}

/// The stdin side: sends `input_request`, receives `input_reply` values.
#[derive(Debug)]
pub struct StdinBridge {
    /// Outgoing messages for the stdin ROUTER.
    pub requests: UnboundedSender<Message>,
    /// Replies forwarded by the stdin task.
    pub replies: Mutex<Receiver<Message>>,
}

struct Inner {
    cancel: CancelFlag,
    output: Arc<Output>,
    config: SessionConfig,
    stdin: StdinBridge,
    allow_stdin: std::sync::atomic::AtomicBool,
    array_limit: usize,
}

/// The handle native functions receive. Cheap to clone.
#[derive(Clone)]
pub struct CellContext(Arc<Inner>);

impl std::fmt::Debug for CellContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CellContext").finish_non_exhaustive()
    }
}

impl CellContext {
    /// A context over the kernel's output, stdin and configuration.
    pub fn new(output: Arc<Output>, config: SessionConfig, stdin: StdinBridge) -> Self {
        Self(Arc::new(Inner {
            cancel: CancelFlag::new(),
            output,
            config,
            stdin,
            allow_stdin: std::sync::atomic::AtomicBool::new(false),
            array_limit: 10_000_000,
        }))
    }

    /// The flag an interrupt sets; hand it to long native work.
    pub fn cancel_flag(&self) -> CancelFlag {
        self.0.cancel.clone()
    }

    /// True once the running cell was interrupted.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancel.is_set()
    }

    /// `Err` with the interruption message once the cell was interrupted;
    /// native functions call it between blocks of work.
    ///
    /// # Errors
    /// The Rhai error that ends the cell as interrupted.
    pub fn check(&self) -> Result<(), Box<EvalAltResult>> {
        if self.is_cancelled() {
            Err(interrupted_error())
        } else {
            Ok(())
        }
    }

    /// The session configuration (magics' values).
    pub fn config(&self) -> &SessionConfig {
        &self.0.config
    }

    /// The largest Rhai array a native result may be turned into.
    pub fn array_limit(&self) -> usize {
        self.0.array_limit
    }

    /// Writes text to the cell's stdout.
    pub fn print(&self, text: &str) {
        self.0.output.stream("stdout", text);
    }

    /// Writes text to the cell's stderr.
    pub fn eprint(&self, text: &str) {
        self.0.output.stream("stderr", text);
    }

    /// Shows a bundle now; with a `display_id`, later
    /// [`CellContext::update_display`] calls replace it in place.
    pub fn display(&self, bundle: &MimeBundle, display_id: Option<&str>) {
        self.0
            .output
            .publish("display_data", display_content(bundle, display_id));
    }

    /// Replaces every output shown with `display_id`.
    pub fn update_display(&self, bundle: &MimeBundle, display_id: &str) {
        let content = display_content(bundle, Some(display_id));
        self.0.output.publish("update_display_data", content);
    }

    /// Clears the cell's output (`wait`: when the next output arrives).
    pub fn clear_output(&self, wait: bool) {
        self.0.output.publish("clear_output", json!({"wait": wait}));
    }

    /// A progress display for a long job named `label`, which also carries
    /// the cancellation flag.
    pub fn progress(&self, label: &str) -> ProgressDisplay {
        ProgressDisplay::new(self.clone(), label)
    }

    /// Asks the frontend for a line of text.
    ///
    /// # Errors
    /// [`InputFailure`] when stdin is not allowed, the cell is interrupted
    /// or the kernel stops.
    pub fn input(&self, prompt: &str, password: bool) -> Result<String, InputFailure> {
        let allowed = self.0.allow_stdin.load(std::sync::atomic::Ordering::SeqCst);
        let parent = self
            .0
            .output
            .parent()
            .filter(|_| allowed)
            .ok_or(InputFailure::NotAllowed)?;
        self.0.output.flush();

        let replies = self
            .0
            .stdin
            .replies
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        while replies.try_recv().is_ok() {}
        let content = json!({"prompt": prompt, "password": password});
        let request = Message::new(
            "input_request",
            self.0.output.session(),
            Some(&parent),
            content,
        );
        self.0
            .stdin
            .requests
            .send(request)
            .map_err(|_| InputFailure::Closed)?;

        loop {
            match replies.recv_timeout(Duration::from_millis(20)) {
                Ok(reply) => return Ok(reply.content_str("value").to_string()),
                Err(RecvTimeoutError::Timeout) if self.is_cancelled() => {
                    return Err(InputFailure::Interrupted);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Err(InputFailure::Closed),
            }
        }
    }

    pub(crate) fn start_cell(&self, allow_stdin: bool) {
        self.0.cancel.reset();
        self.0
            .allow_stdin
            .store(allow_stdin, std::sync::atomic::Ordering::SeqCst);
    }

    pub(crate) fn output(&self) -> &Arc<Output> {
        &self.0.output
    }
}

/// The error that ends an interrupted cell.
pub fn interrupted_error() -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorTerminated(
        rhai::Dynamic::from(INTERRUPTED),
        rhai::Position::NONE,
    ))
}

/// The message of an interrupted cell.
pub const INTERRUPTED: &str =
    "the cell was interrupted; variables defined before keep their values";

fn display_content(bundle: &MimeBundle, display_id: Option<&str>) -> Value {
    let mut content = json!({"data": bundle.data, "metadata": bundle.metadata});
    if let Some(id) = display_id {
        content["transient"] = json!({"display_id": id});
    }
    content
}

/// A display that shows a job's progress and updates in place at most
/// every [`PROGRESS_INTERVAL`], then becomes a one-line summary. Implements
/// [`signal::Progress`], so toolkit workers take it directly.
pub struct ProgressDisplay {
    context: CellContext,
    label: String,
    display_id: String,
    started: Instant,
    state: Mutex<ProgressState>,
}

#[derive(Default)]
struct ProgressState {
    shown: bool,
    last_update: Option<Instant>,
    phase: String,
    done: u64,
    total: u64,
}

impl std::fmt::Debug for ProgressDisplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgressDisplay")
            .field("label", &self.label)
            .finish()
    }
}

impl ProgressDisplay {
    fn new(context: CellContext, label: &str) -> Self {
        Self {
            context,
            label: label.to_string(),
            display_id: format!("progress-{}", uuid::Uuid::new_v4()),
            started: Instant::now(),
            state: Mutex::new(ProgressState::default()),
        }
    }

    fn bundle(&self, state: &ProgressState) -> MimeBundle {
        let percent = if state.total == 0 {
            0.0
        } else {
            100.0 * state.done as f64 / state.total as f64
        };
        let phase = if state.phase.is_empty() {
            String::new()
        } else {
            format!(" ({})", state.phase)
        };
        let elapsed = self.started.elapsed().as_secs_f64();
        let text = format!("{}{phase}: {percent:.0}% after {elapsed:.1} s", self.label);
        let html = format!(
            "<div>{} <progress value=\"{percent:.0}\" max=\"100\"></progress> {percent:.0}%</div>",
            escape_html(&format!("{}{phase}", self.label))
        );
        MimeBundle::text(text).with_html(html)
    }

    /// Replaces the display with a one-line `summary` (e.g. bytes, time
    /// and throughput); the elapsed time is appended.
    pub fn finish(&self, summary: &str) {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let line = format!(
            "{}: {summary} in {:.2} s",
            self.label,
            self.started.elapsed().as_secs_f64()
        );
        let bundle = MimeBundle::text(line);
        if state.shown {
            self.context.update_display(&bundle, &self.display_id);
        } else {
            self.context.display(&bundle, Some(&self.display_id));
        }
    }
}

impl Progress for ProgressDisplay {
    fn advance(&self, done: u64, total: u64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.done = done;
        state.total = total;
        let due = state
            .last_update
            .is_none_or(|t| t.elapsed() >= PROGRESS_INTERVAL);
        if !due {
            return;
        }
        state.last_update = Some(Instant::now());
        let bundle = self.bundle(&state);
        if state.shown {
            self.context.update_display(&bundle, &self.display_id);
        } else {
            state.shown = true;
            self.context.display(&bundle, Some(&self.display_id));
        }
    }

    fn phase(&self, name: &str) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).phase = name.to_string();
    }

    fn is_cancelled(&self) -> bool {
        self.context.is_cancelled()
    }
}

/// A context over an in-memory iopub channel of `capacity` messages, inside
/// an execute request, for unit tests of the engine and the toolkits.
#[cfg(test)]
pub(crate) fn test_context(
    capacity: usize,
) -> (
    CellContext,
    tokio::sync::mpsc::Receiver<crate::wire::Message>,
) {
    let (iopub, receiver) = tokio::sync::mpsc::channel(capacity);
    let (requests, _) = tokio::sync::mpsc::unbounded_channel();
    let (_, replies) = std::sync::mpsc::channel();
    let stdin = StdinBridge {
        requests,
        replies: Mutex::new(replies),
    };
    let output = Output::new(iopub, "s");
    output.begin(
        &crate::wire::Message::new("execute_request", "c", None, json!({})),
        false,
    );
    let context = CellContext::new(output, SessionConfig::default(), stdin);
    (context, receiver)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> (CellContext, tokio::sync::mpsc::Receiver<Message>) {
        let (iopub, receiver) = tokio::sync::mpsc::channel(1024);
        let (requests, _) = tokio::sync::mpsc::unbounded_channel();
        let (_, replies) = std::sync::mpsc::channel();
        let stdin = StdinBridge {
            requests,
            replies: Mutex::new(replies),
        };
        (
            CellContext::new(Output::new(iopub, "s"), SessionConfig::default(), stdin),
            receiver,
        )
    }

    #[test]
    fn progress_shows_once_updates_at_a_bounded_rate_then_summarises() {
        let (context, mut receiver) = context();
        context.output().begin(
            &Message::new("execute_request", "c", None, json!({})),
            false,
        );
        let progress = context.progress("reading");
        for done in 0..1000 {
            progress.advance(done, 1000);
        }
        progress.finish("1000 items");
        context.output().end();

        let messages: Vec<Message> = std::iter::from_fn(|| receiver.try_recv().ok()).collect();
        assert_eq!(messages[0].msg_type(), "display_data");
        let last = messages.last().unwrap();
        assert_eq!(last.msg_type(), "update_display_data");
        assert!(
            last.content["data"]["text/plain"]
                .as_str()
                .unwrap()
                .contains("1000 items")
        );
        assert!(
            messages.len() <= 4,
            "{} messages for a fast job",
            messages.len()
        );
    }

    #[test]
    fn input_without_stdin_fails_at_once() {
        let (context, _receiver) = context();
        context.output().begin(
            &Message::new("execute_request", "c", None, json!({})),
            false,
        );
        context.start_cell(false);
        assert_eq!(context.input("name?", false), Err(InputFailure::NotAllowed));
    }

    #[test]
    fn cancel_flag_reaches_check_and_is_reset_per_cell() {
        let (context, _receiver) = context();
        context.cancel_flag().cancel();
        assert!(context.check().is_err());
        context.start_cell(false);
        assert!(context.check().is_ok());
    }
}
