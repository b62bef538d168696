//! The Rhai session: one engine, one scope and the accumulated script
//! functions, living for the whole kernel process on the execution
//! thread. Variables and functions persist across cells, the last
//! expression's value is the cell's result, and every Rhai error becomes a
//! [`CellError`] with a traceback that shows the line, the column and the
//! source line.
//!
//! Protocol concerns (messages, ordering) are in `shell.rs`; completion
//! and inspection in `completion.rs`.

use std::sync::Arc;

use rhai::{AST, Dynamic, Engine, EvalAltResult, Position, Scope};

use crate::context::{CellContext, INTERRUPTED, InputFailure};
use crate::display::{DisplayRegistry, MimeBundle};
use crate::magics;
use crate::toolkit::{Registrar, Toolkit};

/// Default limit of operations per cell (about a minute of script code);
/// `WENDELIN_MAX_OPERATIONS` changes it, 0 removes it.
pub const DEFAULT_MAX_OPERATIONS: u64 = 3_000_000_000;

/// Nested function calls allowed.
pub const MAX_CALL_LEVELS: usize = 128;

/// Largest string a script may build, in bytes.
pub const MAX_STRING_SIZE: usize = 64 << 20;

/// Largest array a script may build, in items.
pub const MAX_ARRAY_SIZE: usize = 10_000_000;

/// Largest object map a script may build, in entries.
pub const MAX_MAP_SIZE: usize = 1_000_000;

/// A failed cell, in the shape of a Jupyter `error` message.
#[derive(Debug, Clone, PartialEq)]
pub struct CellError {
    /// The kind of error, e.g. `VariableNotFound`.
    pub ename: String,
    /// The message.
    pub evalue: String,
    /// Lines shown to the user: the error, where, the source line.
    pub traceback: Vec<String>,
}

/// The engine, its persistent state and the registered toolkits.
pub struct Session {
    engine: Engine,
    scope: Scope<'static>,
    functions: AST,
    displays: Arc<DisplayRegistry>,
    context: CellContext,
    toolkits: Vec<Box<dyn Toolkit>>,
    max_operations: u64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("variables", &self.scope.len())
            .finish()
    }
}

impl Session {
    /// A session with the built-in functions and every toolkit registered.
    pub fn new(context: CellContext, toolkits: Vec<Box<dyn Toolkit>>) -> Self {
        let max_operations = std::env::var("WENDELIN_MAX_OPERATIONS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_MAX_OPERATIONS);
        let mut engine = Engine::new();
        configure_limits(&mut engine, max_operations);
        connect_output(&mut engine, &context);

        let mut displays = DisplayRegistry::default();
        for toolkit in &toolkits {
            tracing::debug!(toolkit = toolkit.name(), "registering toolkit");
            toolkit.register(&mut Registrar::new(
                &mut engine,
                &mut displays,
                context.clone(),
            ));
        }
        let displays = Arc::new(displays);
        register_builtins(&mut engine, &context, &displays);

        Self {
            engine,
            scope: Scope::new(),
            functions: AST::empty(),
            displays,
            context,
            toolkits,
            max_operations,
        }
    }

    /// The engine, for completion and inspection.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The persistent variables.
    pub fn scope(&self) -> &Scope<'static> {
        &self.scope
    }

    /// The script functions defined so far.
    pub fn functions(&self) -> &AST {
        &self.functions
    }

    /// The session's context.
    pub fn context(&self) -> &CellContext {
        &self.context
    }

    /// The bundle of a value (None for unit).
    pub fn bundle(&self, value: &Dynamic) -> Option<MimeBundle> {
        self.displays.bundle(value)
    }

    /// Runs a cell: its magics, then its code. Returns the bundle of the
    /// last expression's value, if it has one.
    ///
    /// # Errors
    /// The [`CellError`] of the first failing magic, the parse error, or
    /// the runtime error.
    pub fn run(&mut self, code: &str) -> Result<Option<MimeBundle>, CellError> {
        let result = self.run_cell(code);
        let text = match &result {
            Ok(bundle) => Ok(bundle.as_ref().map_or("", MimeBundle::plain)),
            Err(error) => Err(error.evalue.as_str()),
        };
        for toolkit in &self.toolkits {
            toolkit.after_cell(code, text, &self.context);
        }
        result
    }

    fn run_cell(&mut self, code: &str) -> Result<Option<MimeBundle>, CellError> {
        let (magic_lines, code) = magics::split_magics(code);
        for (line, text) in &magic_lines {
            magics::run_magic(*line, text, &self.context, &self.toolkits).map_err(|failure| {
                let source = format!("%{text}");
                let position = Position::new(failure.line as u16, 1);
                cell_error(
                    failure.ename,
                    failure.evalue,
                    position,
                    &source_with_line(&source, failure.line),
                )
            })?;
        }
        if code.trim().is_empty() {
            return Ok(None);
        }

        let ast = self
            .engine
            .compile_with_scope(&self.scope, &code)
            .map_err(|e| {
                from_rhai(
                    &EvalAltResult::ErrorParsing(*e.0, e.1),
                    &code,
                    self.max_operations,
                )
            })?;
        self.functions = self.functions.merge(&ast.clone_functions_only());
        let program = self.functions.merge(&ast);
        let value = self
            .engine
            .eval_ast_with_scope::<Dynamic>(&mut self.scope, &program)
            .map_err(|e| from_rhai(&e, &code, self.max_operations))?;
        Ok(self.displays.bundle(&value))
    }

    /// Evaluates one expression (for `user_expressions`) without keeping
    /// new variables.
    ///
    /// # Errors
    /// The expression's [`CellError`].
    pub fn evaluate(&mut self, expression: &str) -> Result<Option<MimeBundle>, CellError> {
        let checkpoint = self.scope.len();
        let program = self
            .engine
            .compile_expression_with_scope(&self.scope, expression)
            .map(|ast| self.functions.merge(&ast))
            .map_err(|e| from_rhai(&EvalAltResult::ErrorParsing(*e.0, e.1), expression, 0))?;
        let result = self
            .engine
            .eval_ast_with_scope::<Dynamic>(&mut self.scope, &program);
        self.scope.rewind(checkpoint);
        result
            .map(|v| self.displays.bundle(&v))
            .map_err(|e| from_rhai(&e, expression, 0))
    }
}

fn configure_limits(engine: &mut Engine, max_operations: u64) {
    engine.set_max_operations(max_operations);
    engine.set_max_call_levels(MAX_CALL_LEVELS);
    engine.set_max_string_size(MAX_STRING_SIZE);
    engine.set_max_array_size(MAX_ARRAY_SIZE);
    engine.set_max_map_size(MAX_MAP_SIZE);
    engine.set_max_expr_depths(256, 128);
}

fn connect_output(engine: &mut Engine, context: &CellContext) {
    let printer = context.clone();
    engine.on_print(move |text| printer.print(&format!("{text}\n")));
    let debugger = context.clone();
    engine.on_debug(move |text, source, position| {
        let place = match (source, position.line()) {
            (Some(source), Some(line)) => format!("{source}:{line}: "),
            (None, Some(line)) => format!("line {line}: "),
            _ => String::new(),
        };
        debugger.print(&format!("{place}{text}\n"));
    });
    let watcher = context.clone();
    engine.on_progress(move |_| watcher.is_cancelled().then(|| Dynamic::from(INTERRUPTED)));
}

fn register_builtins(engine: &mut Engine, context: &CellContext, displays: &Arc<DisplayRegistry>) {
    let ctx = context.clone();
    engine.register_fn("eprint", move |value: Dynamic| {
        ctx.eprint(&format!("{value}\n"))
    });

    let (ctx, registry) = (context.clone(), displays.clone());
    engine.register_fn("display", move |value: Dynamic| {
        if let Some(bundle) = registry.bundle(&value) {
            ctx.display(&bundle, None);
        }
    });
    let (ctx, registry) = (context.clone(), displays.clone());
    engine.register_fn("display", move |value: Dynamic, id: &str| {
        let bundle = registry
            .bundle(&value)
            .unwrap_or_else(|| MimeBundle::text(""));
        ctx.display(&bundle, Some(id));
    });
    let (ctx, registry) = (context.clone(), displays.clone());
    engine.register_fn("update_display", move |value: Dynamic, id: &str| {
        let bundle = registry
            .bundle(&value)
            .unwrap_or_else(|| MimeBundle::text(""));
        ctx.update_display(&bundle, id);
    });
    let ctx = context.clone();
    engine.register_fn("clear_output", move || ctx.clear_output(false));
    let ctx = context.clone();
    engine.register_fn("clear_output", move |wait: bool| ctx.clear_output(wait));

    let ctx = context.clone();
    engine.register_fn("sleep", move |seconds: f64| {
        interruptible_sleep(&ctx, seconds)
    });
    let ctx = context.clone();
    engine.register_fn("sleep", move |seconds: i64| {
        interruptible_sleep(&ctx, seconds as f64)
    });

    register_input(engine, context, "input", false);
    register_input(engine, context, "input_password", true);
}

/// Rhai's own `sleep` blocks without looking at interrupts; this one
/// checks the cancellation flag every 10 ms.
fn interruptible_sleep(context: &CellContext, seconds: f64) -> Result<(), Box<EvalAltResult>> {
    let total = std::time::Duration::from_secs_f64(seconds.clamp(0.0, 1e9));
    let deadline = std::time::Instant::now() + total;
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        context.check()?;
        std::thread::sleep(left.min(std::time::Duration::from_millis(10)));
    }
    context.check()
}

fn register_input(engine: &mut Engine, context: &CellContext, name: &str, password: bool) {
    let ctx = context.clone();
    engine.register_fn(
        name,
        move |prompt: &str| -> Result<String, Box<EvalAltResult>> {
            match ctx.input(prompt, password) {
                Ok(value) => Ok(value),
                Err(InputFailure::NotAllowed) => {
                    Err("input() is not available: this frontend does not \
                 allow stdin (headless runs such as nbconvert and papermill never do); set the \
                 value in the cell instead"
                        .into())
                }
                Err(InputFailure::Interrupted) => Err(crate::context::interrupted_error()),
                Err(InputFailure::Closed) => {
                    Err("input() failed: the kernel is shutting down".into())
                }
            }
        },
    );
}

/// The name shown for a Rhai error.
fn error_name(error: &EvalAltResult) -> &'static str {
    use EvalAltResult as E;
    match error {
        E::ErrorParsing(..) => "SyntaxError",
        E::ErrorVariableNotFound(..) => "VariableNotFound",
        E::ErrorFunctionNotFound(..) => "FunctionNotFound",
        E::ErrorPropertyNotFound(..) => "PropertyNotFound",
        E::ErrorIndexNotFound(..) | E::ErrorArrayBounds(..) | E::ErrorStringBounds(..) => {
            "IndexError"
        }
        E::ErrorMismatchDataType(..) | E::ErrorMismatchOutputType(..) => "TypeError",
        E::ErrorArithmetic(..) => "ArithmeticError",
        E::ErrorRuntime(..) => "RuntimeError",
        E::ErrorTerminated(..) => "Interrupted",
        E::ErrorTooManyOperations(..) => "TooManyOperations",
        E::ErrorStackOverflow(..) => "StackOverflow",
        E::ErrorDataTooLarge(..) => "DataTooLarge",
        E::ErrorInFunctionCall(_, _, inner, _) => error_name(inner),
        _ => "EvalError",
    }
}

/// The innermost position of an error (inside function calls).
fn error_position(error: &EvalAltResult) -> Position {
    match error {
        EvalAltResult::ErrorInFunctionCall(_, _, _, position) if !position.is_none() => *position,
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => error_position(inner),
        other => other.position(),
    }
}

fn error_message(error: &EvalAltResult, max_operations: u64) -> String {
    match error {
        EvalAltResult::ErrorTerminated(..) => INTERRUPTED.to_string(),
        EvalAltResult::ErrorTooManyOperations(..) => format!(
            "the cell ran more than {max_operations} operations and was stopped; set \
             WENDELIN_MAX_OPERATIONS (0 for no limit) or interrupt long cells instead"
        ),
        EvalAltResult::ErrorStackOverflow(..) => {
            format!("more than {MAX_CALL_LEVELS} nested function calls (runaway recursion?)")
        }
        EvalAltResult::ErrorRuntime(value, _) => value.to_string(),
        EvalAltResult::ErrorInFunctionCall(name, _, inner, _) => {
            let inner_message = error_message(inner, max_operations);
            match (inner.position().line(), inner.position().position()) {
                (Some(line), Some(column)) => {
                    format!("{inner_message} (in function '{name}', line {line}, column {column})")
                }
                _ => format!("{inner_message} (in function '{name}')"),
            }
        }
        other => without_position(other.to_string()),
    }
}

/// Rhai's message without its trailing ` (line L, position C)`.
fn without_position(mut message: String) -> String {
    if message.ends_with(')')
        && let Some(at) = message.rfind(" (line ")
    {
        message.truncate(at);
    }
    message
}

/// Converts a Rhai error into a [`CellError`] against the cell's code.
pub fn from_rhai(error: &EvalAltResult, code: &str, max_operations: u64) -> CellError {
    let name = error_name(error);
    let message = error_message(error, max_operations);
    let position = error_position(error);
    let source_line = position
        .line()
        .map(|line| source_with_line(code, line))
        .unwrap_or_default();
    cell_error(name, message, position, &source_line)
}

fn source_with_line(code: &str, line: usize) -> String {
    code.split('\n')
        .nth(line.saturating_sub(1))
        .unwrap_or("")
        .to_string()
}

fn cell_error(ename: &str, evalue: String, position: Position, source_line: &str) -> CellError {
    let mut traceback = vec![format!("{ename}: {evalue}")];
    if let Some(line) = position.line() {
        let column = position.position().unwrap_or(1);
        traceback.push(format!("  at line {line}, column {column}:"));
        let gutter = line.to_string();
        traceback.push(format!("  {gutter} | {source_line}"));
        let pad: String = source_line
            .chars()
            .take(column.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        traceback.push(format!("  {} | {pad}^", " ".repeat(gutter.len())));
    }
    CellError {
        ename: ename.to_string(),
        evalue,
        traceback,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Message;

    fn session() -> (Session, tokio::sync::mpsc::Receiver<Message>) {
        let (context, receiver) = crate::context::test_context(4096);
        (
            Session::new(context, crate::toolkit::default_toolkits()),
            receiver,
        )
    }

    #[test]
    fn variables_and_functions_persist_across_cells() {
        let (mut session, _) = session();
        assert_eq!(
            session.run("let x = 40; fn add(a, b) { a + b }").unwrap(),
            None
        );
        let result = session.run("add(x, 2)").unwrap().unwrap();
        assert_eq!(result.plain(), "42");
    }

    #[test]
    fn redefined_function_replaces_the_old_one() {
        let (mut session, _) = session();
        session.run("fn f() { 1 }").unwrap();
        session.run("fn f() { 2 }").unwrap();
        assert_eq!(session.run("f()").unwrap().unwrap().plain(), "2");
    }

    #[test]
    fn runtime_error_names_line_column_and_source() {
        let (mut session, _) = session();
        let error = session.run("let a = 1;\nlet b = a + missing;").unwrap_err();
        assert_eq!(error.ename, "VariableNotFound");
        assert!(error.evalue.contains("missing"), "{}", error.evalue);
        assert!(
            error
                .traceback
                .iter()
                .any(|l| l.contains("line 2, column 13")),
            "{:?}",
            error.traceback
        );
        assert!(
            error
                .traceback
                .iter()
                .any(|l| l.contains("let b = a + missing;"))
        );
    }

    #[test]
    fn variables_defined_before_an_error_are_kept() {
        let (mut session, _) = session();
        assert!(session.run("let kept = 5;\nthrow \"boom\";").is_err());
        assert_eq!(session.run("kept").unwrap().unwrap().plain(), "5");
    }

    #[test]
    fn error_inside_a_function_names_it_and_points_at_the_call() {
        let (mut session, _) = session();
        let error = session.run("fn f(x) { x.nope() }\nf(1)").unwrap_err();
        assert_eq!(error.ename, "FunctionNotFound");
        assert!(
            error.evalue.contains("(in function 'f', line 1, column"),
            "{}",
            error.evalue
        );
        assert!(!error.evalue.contains('\n'), "{}", error.evalue);
        assert!(
            error.traceback.iter().any(|l| l.contains("2 | f(1)")),
            "{:?}",
            error.traceback
        );
    }

    #[test]
    fn syntax_error_is_reported_as_such() {
        let (mut session, _) = session();
        let error = session.run("let = 3;").unwrap_err();
        assert_eq!(error.ename, "SyntaxError");
    }

    #[test]
    fn runaway_recursion_is_stopped_with_a_clear_error() {
        let (mut session, _) = session();
        let error = session.run("fn f(n) { f(n + 1) } f(0)").unwrap_err();
        assert_eq!(error.ename, "StackOverflow", "{error:?}");
        assert!(error.evalue.contains("nested function calls"));
    }

    #[test]
    fn string_past_the_size_limit_is_stopped() {
        let (mut session, _) = session();
        let error = session.run("let s = \"x\"; loop { s += s; }").unwrap_err();
        assert_eq!(error.ename, "DataTooLarge", "{error:?}");
        assert!(session.run("1").is_ok(), "the session goes on");
    }

    #[test]
    fn operation_limit_names_the_setting_that_raises_it() {
        let mut engine = Engine::new();
        configure_limits(&mut engine, 1000);
        let error = engine.run("loop { }").unwrap_err();
        let cell = from_rhai(&error, "loop { }", 1000);
        assert_eq!(cell.ename, "TooManyOperations");
        assert!(
            cell.evalue.contains("1000 operations")
                && cell.evalue.contains("WENDELIN_MAX_OPERATIONS")
        );
    }

    #[test]
    fn interrupted_cell_ends_with_an_interrupted_error() {
        let (mut session, _) = session();
        session.run("let before = 1;").unwrap();
        session.context().cancel_flag().cancel();
        let error = session.run("loop { }").unwrap_err();
        assert_eq!(error.ename, "Interrupted");
        assert!(error.evalue.contains("interrupted"));
        session.context().start_cell(false);
        assert_eq!(session.run("before").unwrap().unwrap().plain(), "1");
    }

    #[test]
    fn unknown_magic_fails_with_the_list() {
        let (mut session, _) = session();
        let error = session.run("%nope").unwrap_err();
        assert_eq!(error.ename, "UnknownMagic");
        assert!(error.evalue.contains("%erp5_url"));
    }

    #[test]
    fn magic_value_lands_in_the_configuration_and_password_is_not_echoed() {
        let (mut session, mut receiver) = session();
        session
            .run("%erp5_url http://127.0.0.1:1/erp5\n%erp5_password hunter2")
            .unwrap();
        session.context().output().flush();
        assert_eq!(
            session.context().config().get("erp5_url").unwrap(),
            "http://127.0.0.1:1/erp5"
        );
        assert_eq!(
            session.context().config().get("erp5_password").unwrap(),
            "hunter2"
        );
        let text: String = std::iter::from_fn(|| receiver.try_recv().ok())
            .map(|m| m.content_str("text").to_string())
            .collect();
        assert!(
            text.contains("erp5_url = http://127.0.0.1:1/erp5"),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn user_expression_does_not_keep_variables() {
        let (mut session, _) = session();
        session.run("let x = 2;").unwrap();
        assert_eq!(session.evaluate("x * 3").unwrap().unwrap().plain(), "6");
        assert_eq!(session.scope().len(), 1);
    }

    #[test]
    fn native_vector_becomes_an_array_only_on_request() {
        let (mut session, _) = session();
        let shown = session.run("let v = ramp(1000); v").unwrap().unwrap();
        assert!(
            shown.plain().starts_with("Vector(len 1000"),
            "{}",
            shown.plain()
        );
        assert_eq!(
            session.run("v.to_array().len()").unwrap().unwrap().plain(),
            "1000"
        );
    }
}
