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

pub mod demo;

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
    // TODO: add the Wendelin toolkit (context, BigFileReader, spectra,
    // plots) here once its bindings exist in kernel/src/toolkit/.
    vec![Box::new(demo::Demo)]
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
