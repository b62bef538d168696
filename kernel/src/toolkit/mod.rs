//! The plug-in surface for the Wendelin toolkit and other native bindings.
//!
//! A [`Toolkit`] adds functions and types to the Rhai engine through a
//! [`Registrar`], which also registers how each custom type displays and
//! hands out the session's [`CellContext`]. It may also take over magics
//! (the ERP5 ones whose server-talking part belongs to the Wendelin work).
//! The protocol code never changes when a toolkit is added: list it in
//! [`default_toolkits`].
//!
//! Rules for bindings: blocking work is fine (cells run on their own
//! thread) but must call [`CellContext::check`] or pass
//! [`CellContext::progress`] (a `signal::Progress`) to the worker so that
//! an interrupt stops it within 500 ms; large results stay native values
//! and become Rhai arrays only through an explicit call bounded by
//! [`CellContext::array_limit`] (see [`to_rhai_array`]).

pub mod analysis;
pub mod demo;
pub mod plots;
pub mod saving;
pub mod signals;
pub mod wendelin;

use rhai::{Dynamic, Engine, EvalAltResult};

use crate::context::CellContext;
use crate::display::{DisplayRegistry, Displayable};

/// A set of native functions and types for cells.
pub trait Toolkit: Send + Sync {
    /// A short name for logs and the banner.
    fn name(&self) -> &'static str;

    /// Adds functions and types to the engine.
    fn register(&self, registrar: &mut Registrar<'_>);

    /// Handles a magic (`%name argument`) after the kernel stored its
    /// value in the session configuration. `None` leaves it to the kernel;
    /// `Some(Ok(text))` replaces the kernel's message with `text`;
    /// `Some(Err(message))` fails the cell with `message`.
    fn magic(
        &self,
        name: &str,
        argument: &str,
        context: &CellContext,
    ) -> Option<Result<String, String>> {
        let _ = (name, argument, context);
        None
    }

    /// Called after every executed cell with its code as typed and its
    /// text result: `Ok(text/plain)` (empty when nothing showed) or
    /// `Err(error message)`. The Data Notebook recorder uses it.
    fn after_cell(&self, code: &str, result: Result<&str, &str>, context: &CellContext) {
        let _ = (code, result, context);
    }
}

/// What a toolkit registers into.
pub struct Registrar<'a> {
    engine: &'a mut Engine,
    displays: &'a mut DisplayRegistry,
    context: CellContext,
}

impl std::fmt::Debug for Registrar<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registrar").finish_non_exhaustive()
    }
}

impl<'a> Registrar<'a> {
    pub(crate) fn new(
        engine: &'a mut Engine,
        displays: &'a mut DisplayRegistry,
        context: CellContext,
    ) -> Self {
        Self {
            engine,
            displays,
            context,
        }
    }

    /// The engine, for `register_fn`, `FuncRegistration` and getters.
    pub fn engine(&mut self) -> &mut Engine {
        self.engine
    }

    /// The session's context; clone it into closures.
    pub fn context(&self) -> CellContext {
        self.context.clone()
    }

    /// Registers a custom type under its Rhai name, with its display.
    pub fn register_type<T: Displayable + Clone>(&mut self, name: &str) -> &mut Self {
        self.engine.register_type_with_name::<T>(name);
        self.displays.register::<T>();
        self
    }
}

/// The toolkits this kernel loads.
pub fn default_toolkits() -> Vec<Box<dyn Toolkit>> {
    vec![
        Box::new(demo::Demo),
        Box::new(signals::Signals),
        Box::new(analysis::Analysis),
        Box::new(plots::Plots),
        Box::new(saving::Saving),
        Box::new(wendelin::Wendelin::default()),
    ]
}

/// A Rhai array from native values, refused past `limit` items with an
/// error that says how to work with the native value instead.
///
/// # Errors
/// The Rhai runtime error naming the length and the limit.
pub fn to_rhai_array<T: Clone + Send + Sync + 'static>(
    values: &[T],
    limit: usize,
) -> Result<rhai::Array, Box<EvalAltResult>> {
    if values.len() > limit {
        return Err(format!(
            "{} values are more than the array limit of {limit}; keep the native value, \
             or take a slice first",
            values.len()
        )
        .into());
    }
    Ok(values.iter().cloned().map(Dynamic::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::display::MimeBundle;
    use crate::engine::Session;
    use crate::wire::Message;

    #[derive(Clone)]
    struct Celsius(f64);

    impl Displayable for Celsius {
        fn mime_bundle(&self) -> MimeBundle {
            MimeBundle::text(format!("{:.1} °C", self.0)).with_html("<b>temperature</b>")
        }
    }

    /// A toolkit as another crate would write it.
    struct Weather;

    impl Toolkit for Weather {
        fn name(&self) -> &'static str {
            "weather"
        }

        fn register(&self, registrar: &mut Registrar<'_>) {
            registrar.register_type::<Celsius>("Celsius");
            let context = registrar.context();
            registrar
                .engine()
                .register_fn("celsius", move |value: f64| {
                    let url = context.config().get("erp5_url").unwrap_or_default();
                    context.print(&format!("from {url}\n"));
                    Celsius(value)
                });
        }

        fn magic(&self, name: &str, _: &str, _: &CellContext) -> Option<Result<String, String>> {
            match name {
                "my_notebooks" => Some(Ok("3 notebooks".into())),
                "notebook_set_title" => Some(Err("server refused the title".into())),
                _ => None,
            }
        }
    }

    fn session() -> (Session, tokio::sync::mpsc::Receiver<Message>) {
        let (context, receiver) = crate::context::test_context(256);
        (Session::new(context, vec![Box::new(Weather)]), receiver)
    }

    fn stdout(receiver: &mut tokio::sync::mpsc::Receiver<Message>) -> String {
        std::iter::from_fn(|| receiver.try_recv().ok())
            .map(|m| m.content_str("text").to_string())
            .collect()
    }

    #[test]
    fn toolkit_type_displays_with_its_own_bundle_and_sees_the_configuration() {
        let (mut session, mut receiver) = session();
        session.run("%erp5_url http://127.0.0.1:1/erp5").unwrap();
        let bundle = session.run("celsius(21.25)").unwrap().unwrap();
        assert_eq!(bundle.plain(), "21.2 °C");
        assert!(bundle.data.contains_key("text/html"));
        session.context().output().flush();
        assert!(stdout(&mut receiver).contains("from http://127.0.0.1:1/erp5"));
    }

    #[test]
    fn toolkit_magic_hook_replaces_the_message_or_fails_the_cell() {
        let (mut session, mut receiver) = session();
        session.run("%my_notebooks").unwrap();
        session.context().output().flush();
        assert_eq!(stdout(&mut receiver), "3 notebooks\n");

        let error = session.run("%notebook_set_title Spectra").unwrap_err();
        assert_eq!(error.ename, "MagicError");
        assert_eq!(error.evalue, "server refused the title");
        assert_eq!(
            session
                .context()
                .config()
                .get("notebook_set_title")
                .unwrap(),
            "Spectra"
        );
    }

    #[test]
    fn arrays_past_the_limit_are_refused_with_the_numbers() {
        let error = to_rhai_array(&[1.0_f64, 2.0, 3.0], 2).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("3 values are more than the array limit of 2")
        );
        assert_eq!(to_rhai_array(&[1_i64, 2], 2).unwrap().len(), 2);
    }
}
