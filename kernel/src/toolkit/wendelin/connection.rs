//! The connection to the server, from the session configuration that the
//! ERP5 magics fill (`%erp5_url`, `%erp5_user`, `%erp5_password`; the
//! kernel seeds them from `WENDELIN_URL`, `WENDELIN_USER`,
//! `WENDELIN_PASSWORD`), with HTTPS trust from `WENDELIN_CA_BUNDLE`, or no
//! verification at all when `WENDELIN_INSECURE=1` asks for it (the ERP5
//! kernel's habit; a warning says so); `WENDELIN_TIMEOUT` (seconds, default
//! 60) bounds each wait for the server.
//!
//! After each of those magics the toolkit says what is still missing, or
//! checks the connection with one request as the ERP5 kernel does.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use bigfile_reader::{ConnectOptions, Portal, ReaderError, normalise_base_url};

use crate::context::CellContext;

/// The configuration keys the connection is made from, with the magic
/// that sets each.
const REQUIRED: [(&str, &str); 3] = [
    (
        "erp5_url",
        "%erp5_url http://host:port/erp5 (or WENDELIN_URL)",
    ),
    ("erp5_user", "%erp5_user NAME (or WENDELIN_USER)"),
    (
        "erp5_password",
        "%erp5_password SECRET (or WENDELIN_PASSWORD)",
    ),
];

/// The portal of the current configuration, made again when it changes.
#[derive(Default)]
pub struct Connections {
    current: Mutex<Option<(ConnectOptions, Portal)>>,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections").finish_non_exhaustive()
    }
}

impl Connections {
    /// The portal for `context`'s configuration (no request is sent).
    ///
    /// # Errors
    /// A message naming the magics still missing, or the bad URL.
    pub fn portal(&self, context: &CellContext) -> Result<Portal, String> {
        let options = options(context)?;
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((known, portal)) = current.as_ref()
            && *known == options
        {
            return Ok(portal.clone());
        }

        if options.insecure {
            let warning = format!(
                "warning: TLS certificates of {} are not verified (WENDELIN_INSECURE is set); \
                 set WENDELIN_CA_BUNDLE to a PEM file instead",
                options.url
            );
            tracing::warn!(url = %options.url, "TLS verification disabled by WENDELIN_INSECURE");
            context.eprint(&format!("{warning}\n"));
        }
        let portal = Portal::connect(&options).map_err(|e| e.to_string())?;
        *current = Some((options, portal.clone()));
        Ok(portal)
    }
}

/// The connect options of the configuration.
fn options(context: &CellContext) -> Result<ConnectOptions, String> {
    let config = context.config();
    let missing = missing_magics(context);
    if !missing.is_empty() {
        return Err(format!(
            "the Wendelin server is not configured yet: run {}",
            missing.join(", then ")
        ));
    }
    let url = config.get("erp5_url").unwrap_or_default();
    let url = normalise_base_url(&url).map_err(|e| e.to_string())?;
    let mut options = ConnectOptions::new(url).with_credentials(
        config.get("erp5_user").unwrap_or_default(),
        config.get("erp5_password").unwrap_or_default(),
    );
    options.ca_bundle = env_value("WENDELIN_CA_BUNDLE").map(PathBuf::from);
    options.insecure = env_value("WENDELIN_INSECURE").is_some_and(|v| v != "0");
    if let Some(seconds) = env_value("WENDELIN_TIMEOUT") {
        options.timeout = parse_timeout(&seconds)?;
    }
    Ok(options)
}

/// `WENDELIN_TIMEOUT` in seconds (a positive number).
fn parse_timeout(seconds: &str) -> Result<Duration, String> {
    seconds
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 86_400.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| {
            format!("WENDELIN_TIMEOUT={seconds:?} is not a number of seconds between 0 and 86400")
        })
}

fn env_value(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// The magics (with their syntax) whose values are still missing.
fn missing_magics(context: &CellContext) -> Vec<&'static str> {
    REQUIRED
        .iter()
        .filter(|(key, _)| {
            context
                .config()
                .get(key)
                .is_none_or(|v| v.trim().is_empty())
        })
        .map(|(_, magic)| *magic)
        .collect()
}

/// Handles the connection magics; leaves the others to the notebook
/// recorder ([`super::notebooks::magic`]).
pub fn magic(
    connections: &Connections,
    name: &str,
    argument: &str,
    context: &CellContext,
) -> Option<Result<String, String>> {
    let stored = match name {
        "erp5_url" => stored_url(argument, context),
        "erp5_user" if !argument.is_empty() => Ok(format!("erp5_user = {argument}")),
        "erp5_password" if !argument.is_empty() => Ok("erp5_password stored (not shown)".into()),
        "erp5_user" | "erp5_password" => Ok(current_value(name, context)),
        _ => return None,
    };
    Some(stored.and_then(|stored| connection_status(connections, context, &stored)))
}

/// Stores the normalised URL (the `…/Base_executeJupyter` form pasted
/// from an ERP5 kernel works too).
fn stored_url(argument: &str, context: &CellContext) -> Result<String, String> {
    if argument.is_empty() {
        return Ok(current_value("erp5_url", context));
    }
    let url = normalise_base_url(argument).map_err(|e| e.to_string())?;
    context.config().set("erp5_url", &url);
    Ok(format!("erp5_url = {url}"))
}

fn current_value(name: &str, context: &CellContext) -> String {
    match (name, context.config().get(name)) {
        ("erp5_password", Some(_)) => "erp5_password is set (not shown)".into(),
        (_, Some(value)) => format!("{name} = {value}"),
        (_, None) => format!("{name} is not set"),
    }
}

/// `stored`, then what is still missing or whether the server answers.
fn connection_status(
    connections: &Connections,
    context: &CellContext,
    stored: &str,
) -> Result<String, String> {
    let missing = missing_magics(context);
    if !missing.is_empty() {
        return Ok(format!("{stored}; still missing: {}", missing.join(", ")));
    }
    let portal = connections.portal(context)?;
    let asked = portal.clone();
    let modules = super::cancellable(context, move || match asked.modules() {
        Err(ReaderError::MissingAddition { .. }) => Ok(None),
        other => other.map(Some),
    });
    check(&portal, modules)
        .map(|status| format!("{stored}; {status}"))
        .map_err(|error| format!("{stored}, but the connection check failed: {error}"))
}

/// What the one request to the portal (the module listing, as the ERP5
/// kernel checks after its magics) says about the connection: `None` for a
/// Wendelin without the listing.
///
/// # Errors
/// The failure's message (unreachable, 401, TLS, timeout, interrupted).
fn check(
    portal: &Portal,
    modules: Result<Option<Vec<bigfile_reader::ModuleSummary>>, Box<rhai::EvalAltResult>>,
) -> Result<String, String> {
    match modules {
        Ok(Some(modules)) => {
            let documents: u64 = modules.iter().map(|m| m.count).sum();
            Ok(format!(
                "connected to {} ({} modules, {documents} documents)",
                portal.url(),
                modules.len()
            ))
        }
        Ok(None) => Ok(format!(
            "connected to {} (a Wendelin without the module listing)",
            portal.url()
        )),
        Err(error) => Err(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{SessionConfig, StdinBridge};
    use crate::output::Output;

    fn context() -> CellContext {
        let (iopub, _receiver) = tokio::sync::mpsc::channel(16);
        let (requests, _) = tokio::sync::mpsc::unbounded_channel();
        let (_, replies) = std::sync::mpsc::channel();
        let stdin = StdinBridge {
            requests,
            replies: Mutex::new(replies),
        };
        CellContext::new(Output::new(iopub, "s"), SessionConfig::default(), stdin)
    }

    #[test]
    fn missing_configuration_names_every_missing_magic() {
        let context = context();
        context.config().set("erp5_url", "http://127.0.0.1:1/erp5");
        let error = Connections::default().portal(&context).err().unwrap();
        assert!(error.contains("%erp5_user"), "{error}");
        assert!(error.contains("%erp5_password"), "{error}");
        assert!(!error.contains("%erp5_url"), "{error}");
    }

    #[test]
    fn pasted_execute_jupyter_url_is_stored_as_the_base_url() {
        let context = context();
        let message = stored_url("http://127.0.0.1:1/erp5/Base_executeJupyter", &context).unwrap();
        assert_eq!(message, "erp5_url = http://127.0.0.1:1/erp5");
        assert_eq!(
            context.config().get("erp5_url").unwrap(),
            "http://127.0.0.1:1/erp5"
        );
    }

    #[test]
    fn url_without_a_scheme_is_refused_with_the_value() {
        let error = stored_url("127.0.0.1:8080/erp5", &context()).unwrap_err();
        assert!(error.contains("127.0.0.1:8080/erp5"), "{error}");
    }

    #[test]
    fn timeout_takes_seconds_and_refuses_the_rest() {
        assert_eq!(parse_timeout("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_timeout("soon").unwrap_err().contains("soon"));
        assert!(parse_timeout("0").is_err());
    }

    #[test]
    fn same_configuration_reuses_the_portal() {
        let context = context();
        for (key, value) in [
            ("erp5_url", "http://127.0.0.1:1/erp5"),
            ("erp5_user", "zope"),
            ("erp5_password", "insecure"),
        ] {
            context.config().set(key, value);
        }
        let connections = Connections::default();
        let first = connections.portal(&context).unwrap();
        assert_eq!(first.url(), "http://127.0.0.1:1/erp5");
        context.config().set("erp5_url", "http://127.0.0.1:2/erp5");
        assert_eq!(
            connections.portal(&context).unwrap().url(),
            "http://127.0.0.1:2/erp5"
        );
    }
}
