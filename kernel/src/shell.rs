//! The execution thread: takes shell requests one at a time and answers
//! each with `status: busy` first, its outputs, its reply, and
//! `status: idle` last (jupyter-protocol.md §1.4), for every request type.
//!
//! Cells run here, off the async runtime, so blocking work in a cell
//! never stalls the sockets or the heartbeat. After an error with
//! `stop_on_error`, the executes already queued are answered as aborted
//! (jupyter-protocol.md §1.12).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use serde_json::{Map, Value, json};
use tokio::sync::mpsc::UnboundedSender;

use crate::completion::{self, Completeness};
use crate::engine::{CellError, Session};
use crate::history::History;
use crate::output::Output;
use crate::wire::{Message, PROTOCOL_VERSION};

/// The `kernel_info_reply` content (jupyter-protocol.md §1.5).
pub fn kernel_info_content() -> Value {
    json!({
        "status": "ok",
        "protocol_version": PROTOCOL_VERSION,
        "implementation": "wendelin-kernel",
        "implementation_version": env!("CARGO_PKG_VERSION"),
        "language_info": {
            "name": "rhai",
            "version": "1.27",
            "mimetype": "text/x-rhai",
            "file_extension": ".rhai",
            // Rhai has no lexer of its own in Pygments or CodeMirror; its
            // keywords, comments and literals are Rust's.
            "pygments_lexer": "rust",
            "codemirror_mode": "rust",
            "nbconvert_exporter": "script",
        },
        "banner": format!(
            "Wendelin kernel {} — Rhai cells for Wendelin/ERP5 big data.\n\
             Magics: %erp5_url, %erp5_user, %erp5_password, %notebook_set_reference, \
             %notebook_set_title, %my_notebooks.",
            env!("CARGO_PKG_VERSION")
        ),
        "help_links": [
            {"text": "Rhai language book", "url": "https://rhai.rs/book/"},
            {"text": "Jupyter messaging", "url": "https://jupyter-client.readthedocs.io/en/stable/messaging.html"},
        ],
        "supported_features": [],
    })
}

/// The execution thread's state.
pub struct Shell {
    session: Session,
    output: Arc<Output>,
    replies: UnboundedSender<Message>,
    requests: Receiver<Message>,
    pending: VecDeque<Message>,
    history: History,
    execution_count: u64,
}

impl std::fmt::Debug for Shell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shell")
            .field("execution_count", &self.execution_count)
            .finish()
    }
}

impl Shell {
    /// A shell over a session, answering on `replies`.
    pub fn new(
        session: Session,
        replies: UnboundedSender<Message>,
        requests: Receiver<Message>,
    ) -> Self {
        let output = session.context().output().clone();
        Self {
            session,
            output,
            replies,
            requests,
            pending: VecDeque::new(),
            history: History::default(),
            execution_count: 0,
        }
    }

    /// Serves requests until the request channel closes.
    pub fn run(mut self) {
        loop {
            let request = match self.pending.pop_front() {
                Some(request) => request,
                None => match self.requests.recv() {
                    Ok(request) => request,
                    Err(_) => return,
                },
            };
            self.handle(&request);
        }
    }

    fn handle(&mut self, request: &Message) {
        tracing::trace!(msg_type = request.msg_type(), "shell request");
        self.output.status(request, "busy");
        match request.msg_type() {
            "execute_request" => self.execute(request),
            "kernel_info_request" => {
                self.reply(request, "kernel_info_reply", kernel_info_content())
            }
            "complete_request" => self.complete(request),
            "inspect_request" => self.inspect(request),
            "is_complete_request" => self.is_complete(request),
            "history_request" => {
                let history = self.history.answer(&request.content);
                self.reply(
                    request,
                    "history_reply",
                    json!({"status": "ok", "history": history}),
                );
            }
            "comm_info_request" => self.reply(
                request,
                "comm_info_reply",
                json!({"status": "ok", "comms": {}}),
            ),
            "comm_open" => self.refuse_comm(request),
            "comm_msg" | "comm_close" => tracing::debug!("message for an unknown comm ignored"),
            other => tracing::warn!(msg_type = other, "unsupported shell request ignored"),
        }
        self.output.status(request, "idle");
    }

    fn reply(&self, request: &Message, msg_type: &str, content: Value) {
        let reply = Message::new(msg_type, self.output.session(), Some(request), content);
        if self.replies.send(reply).is_err() {
            tracing::debug!("shell reply channel closed");
        }
    }

    fn execute(&mut self, request: &Message) {
        let code = request.content_str("code").to_string();
        let echoed = crate::magics::redact(&code);
        let silent = request.content_bool("silent", false);
        let store_history = request.content_bool("store_history", true) && !silent;
        let stop_on_error = request.content_bool("stop_on_error", true);

        if store_history {
            self.execution_count += 1;
            self.history.record(self.execution_count, &echoed);
        }
        let count = self.execution_count;
        self.output.begin(request, silent);
        self.output.publish(
            "execute_input",
            json!({"code": echoed, "execution_count": count}),
        );
        self.session
            .context()
            .start_cell(request.content_bool("allow_stdin", false));

        let mut payload = Vec::new();
        let outcome = match help_target(&code) {
            Some(word) => self.help(word, &mut payload),
            None => self.run_guarded(&code),
        };
        let content = self.outcome_content(request, outcome, count, store_history, payload);
        self.output.end();
        // only what was queued before the reply is aborted: a client that
        // waits for the reply before sending its next cell must be served
        let failed = content["status"] == "error";
        let queued: Vec<Message> = match failed && stop_on_error {
            true => std::iter::from_fn(|| self.requests.try_recv().ok()).collect(),
            false => Vec::new(),
        };
        self.reply(request, "execute_reply", content);
        self.abort(queued);
    }

    /// Publishes the cell's result or error and returns the reply content.
    fn outcome_content(
        &mut self,
        request: &Message,
        outcome: Result<Option<crate::display::MimeBundle>, CellError>,
        count: u64,
        store_history: bool,
        payload: Vec<Value>,
    ) -> Value {
        match outcome {
            Ok(bundle) => {
                if let Some(bundle) = bundle {
                    if store_history {
                        self.history.record_output(count, bundle.plain());
                    }
                    let result = json!({"execution_count": count, "data": bundle.data, "metadata": bundle.metadata});
                    self.output.publish("execute_result", result);
                }
                let expressions = self.user_expressions(request.content.get("user_expressions"));
                json!({"status": "ok", "execution_count": count, "user_expressions": expressions, "payload": payload})
            }
            Err(error) => {
                self.output.publish("error", error_content(&error));
                let mut content = error_content(&error);
                content["status"] = json!("error");
                content["execution_count"] = json!(count);
                content["user_expressions"] = json!({});
                content
            }
        }
    }

    /// `name?` or `?name`: the inspection text as a pager payload, as
    /// IPython does.
    fn help(
        &self,
        word: &str,
        payload: &mut Vec<Value>,
    ) -> Result<Option<crate::display::MimeBundle>, CellError> {
        match completion::inspect(&self.session, word, word.chars().count()) {
            Some(text) => {
                payload.push(json!({"source": "page", "data": {"text/plain": text}, "start": 0}));
                Ok(None)
            }
            None => Err(CellError {
                ename: "NameError".into(),
                evalue: format!("no variable or function named {word}"),
                traceback: vec![format!("NameError: no variable or function named {word}")],
            }),
        }
    }

    /// Runs a cell; a panic in native code becomes the cell's error
    /// instead of ending the execution thread.
    fn run_guarded(&mut self, code: &str) -> Result<Option<crate::display::MimeBundle>, CellError> {
        let session = &mut self.session;
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| session.run(code))).unwrap_or_else(
            |panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(%what, "native code panicked during a cell");
                Err(CellError {
                    ename: "InternalError".into(),
                    evalue: format!(
                        "native code failed: {what}; the kernel keeps running, please report this"
                    ),
                    traceback: vec![format!("InternalError: {what}")],
                })
            },
        )
    }

    fn user_expressions(&mut self, expressions: Option<&Value>) -> Value {
        let Some(Value::Object(expressions)) = expressions else {
            return json!({});
        };
        let mut results = Map::new();
        for (name, expression) in expressions {
            let expression = expression.as_str().unwrap_or("");
            let result = match self.session.evaluate(expression) {
                Ok(bundle) => {
                    let bundle = bundle.unwrap_or_else(|| crate::display::MimeBundle::text("()"));
                    json!({"status": "ok", "data": bundle.data, "metadata": bundle.metadata})
                }
                Err(error) => {
                    let mut content = error_content(&error);
                    content["status"] = json!("error");
                    content
                }
            };
            results.insert(name.clone(), result);
        }
        Value::Object(results)
    }

    /// Answers the executes already queued as aborted; other requests
    /// keep their turn.
    fn abort(&mut self, queued: Vec<Message>) {
        for request in queued {
            if request.msg_type() != "execute_request" {
                self.pending.push_back(request);
                continue;
            }
            self.output.status(&request, "busy");
            let content = json!({
                "status": "error",
                "ename": "ExecutionAborted",
                "evalue": "not run: an earlier cell failed and stop_on_error was set",
                "traceback": [],
                "execution_count": self.execution_count,
                "user_expressions": {},
            });
            self.reply(&request, "execute_reply", content);
            self.output.status(&request, "idle");
        }
    }

    fn cursor(request: &Message) -> usize {
        request
            .content
            .get("cursor_pos")
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize
    }

    fn complete(&self, request: &Message) {
        let code = request.content_str("code");
        let cursor = Self::cursor(request).min(code.chars().count());
        let completion = completion::complete(&self.session, code, cursor);
        let content = json!({
            "status": "ok",
            "matches": completion.matches,
            "cursor_start": completion.cursor_start,
            "cursor_end": completion.cursor_end,
            "metadata": {},
        });
        self.reply(request, "complete_reply", content);
    }

    fn inspect(&self, request: &Message) {
        let text = completion::inspect(
            &self.session,
            request.content_str("code"),
            Self::cursor(request),
        );
        let content = match text {
            Some(text) => {
                json!({"status": "ok", "found": true, "data": {"text/plain": text}, "metadata": {}})
            }
            None => json!({"status": "ok", "found": false, "data": {}, "metadata": {}}),
        };
        self.reply(request, "inspect_reply", content);
    }

    fn is_complete(&self, request: &Message) {
        let content = match completion::is_complete(&self.session, request.content_str("code")) {
            Completeness::Complete => json!({"status": "complete"}),
            Completeness::Incomplete { indent } => {
                json!({"status": "incomplete", "indent": indent})
            }
            Completeness::Invalid => json!({"status": "invalid"}),
        };
        self.reply(request, "is_complete_reply", content);
    }

    fn refuse_comm(&self, request: &Message) {
        let comm_id = request.content_str("comm_id").to_string();
        tracing::debug!(
            target_name = request.content_str("target_name"),
            "comm_open to an unknown target"
        );
        self.output.begin(request, false);
        self.output
            .publish("comm_close", json!({"comm_id": comm_id, "data": {}}));
        self.output.end();
    }
}

/// The name asked about by a help cell (`name?` or `?name`), if the cell
/// is one.
fn help_target(code: &str) -> Option<&str> {
    let code = code.trim();
    let word = code
        .strip_suffix('?')
        .or_else(|| code.strip_prefix('?'))?
        .trim();
    let plain = word
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && word.chars().all(|c| c.is_alphanumeric() || c == '_');
    plain.then_some(word)
}

fn error_content(error: &CellError) -> Value {
    json!({"ename": error.ename, "evalue": error.evalue, "traceback": error.traceback})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_cells_are_recognised() {
        assert_eq!(help_target("sleep_ms?"), Some("sleep_ms"));
        assert_eq!(help_target(" ?display \n"), Some("display"));
        assert_eq!(help_target("a ? b"), None);
        assert_eq!(help_target("let x = 1;"), None);
    }

    #[test]
    fn kernel_info_names_rhai_and_its_extension() {
        let info = kernel_info_content();
        assert_eq!(info["language_info"]["name"], "rhai");
        assert_eq!(info["language_info"]["file_extension"], ".rhai");
        for field in ["status", "protocol_version", "implementation", "banner"] {
            assert!(info.get(field).is_some(), "{field}");
        }
    }
}
