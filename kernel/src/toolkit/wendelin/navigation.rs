//! Navigation and display: `context` (the portal, listing its modules with
//! their document counts), a module by property or index, a document by id
//! or reference, `module.search(#{...})`, and the properties every
//! document shares. A module displays as an HTML table of its documents, a
//! document as a table of its properties.

use std::sync::Arc;

use bigfile_reader::{Document, MODULES, Module, Portal, Properties, ReaderError};
use rhai::{Dynamic, EvalAltResult, FuncRegistration, Map};

use super::arrays::DataArrayHandle;
use super::connection::Connections;
use super::notebooks::DataNotebookHandle;
use super::streams::DataStreamHandle;
use super::{cancellable, reader_error};
use crate::context::CellContext;
use crate::display::{Displayable, MimeBundle, escape_html};
use crate::toolkit::Registrar;

/// Most documents a module's display lists.
const SHOWN_DOCUMENTS: usize = 50;

/// Most documents `module.search` returns.
const SEARCH_LIMIT: usize = 1000;

/// The portal (`context`).
#[derive(Clone)]
pub struct PortalHandle {
    /// The bigfile-reader portal.
    pub portal: Portal,
}

/// A module of the portal (`context.data_stream_module`).
#[derive(Clone)]
pub struct ModuleHandle {
    /// The bigfile-reader module.
    pub module: Module,
    /// The portal it belongs to.
    pub portal: Portal,
}

/// A document of a type without its own binding (an Image, ...).
#[derive(Clone)]
pub struct DocumentHandle {
    /// The bigfile-reader document.
    pub document: Document,
}

/// A value with the shared document properties.
pub trait HasProperties: Clone + Send + Sync + 'static {
    /// The properties as last fetched.
    fn properties(&self) -> &Properties;
}

impl HasProperties for DocumentHandle {
    fn properties(&self) -> &Properties {
        self.document.properties()
    }
}

impl Displayable for PortalHandle {
    fn mime_bundle(&self) -> MimeBundle {
        let modules = match self.portal.modules() {
            Ok(modules) => modules,
            Err(error) => {
                return MimeBundle::text(format!("portal {} ({error})", self.portal.url()));
            }
        };
        let mut text = format!("portal {}", self.portal.url());
        let mut rows = String::new();
        for module in &modules {
            text.push_str(&format!(
                "\n  {}: {} {} document(s)",
                module.id, module.count, module.document_portal_type
            ));
            rows.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape_html(&module.id),
                escape_html(&module.document_portal_type),
                module.count
            ));
        }
        let html = format!(
            "<p>portal {}</p><table><tr><th>module</th><th>portal type</th><th>documents</th></tr>{rows}</table>",
            escape_html(self.portal.url())
        );
        MimeBundle::text(text).with_html(html)
    }
}

impl Displayable for ModuleHandle {
    fn mime_bundle(&self) -> MimeBundle {
        let documents = match self.module.list() {
            Ok(documents) => documents,
            Err(error) => {
                return MimeBundle::text(format!("module {} ({error})", self.module.id()));
            }
        };
        module_bundle(self.module.id(), &documents)
    }
}

/// A module's documents as lines and an HTML table.
fn module_bundle(id: &str, documents: &[Properties]) -> MimeBundle {
    let mut text = format!("module {id}: {} document(s)", documents.len());
    let mut rows = String::new();
    for properties in documents.iter().take(SHOWN_DOCUMENTS) {
        text.push_str(&format!(
            "\n  {} {:?} {:?} {} bytes",
            properties.id, properties.reference, properties.title, properties.size
        ));
        let cells: String = [
            &properties.id,
            &properties.reference,
            &properties.title,
            &properties.portal_type,
            &properties.content_type,
            &properties.size.to_string(),
        ]
        .iter()
        .map(|cell| format!("<td>{}</td>", escape_html(cell)))
        .collect();
        rows.push_str(&format!("<tr>{cells}</tr>"));
    }
    if documents.len() > SHOWN_DOCUMENTS {
        text.push_str(&format!("\n  … {} more", documents.len() - SHOWN_DOCUMENTS));
    }
    let html = format!(
        "<p>module {} ({} documents)</p><table><tr><th>id</th><th>reference</th><th>title</th>\
         <th>portal type</th><th>content type</th><th>size</th></tr>{rows}</table>",
        escape_html(id),
        documents.len()
    );
    MimeBundle::text(text).with_html(html)
}

impl Displayable for DocumentHandle {
    fn mime_bundle(&self) -> MimeBundle {
        properties_bundle(self.document.properties())
    }
}

/// A document's properties as a one-line summary and an HTML table.
pub fn properties_bundle(properties: &Properties) -> MimeBundle {
    let text = format!(
        "{} {} (reference {:?}, title {:?}, {} bytes)",
        properties.portal_type,
        properties.relative_url,
        properties.reference,
        properties.title,
        properties.size
    );
    let rows: String = property_rows(properties)
        .iter()
        .map(|(key, value)| {
            format!(
                "<tr><th>{}</th><td>{}</td></tr>",
                escape_html(key),
                escape_html(value)
            )
        })
        .collect();
    MimeBundle::text(text).with_html(format!("<table>{rows}</table>"))
}

/// The shared properties, by name, as text.
pub fn property_rows(properties: &Properties) -> Vec<(&'static str, String)> {
    vec![
        ("id", properties.id.clone()),
        ("relative_url", properties.relative_url.clone()),
        ("url", properties.url.clone()),
        ("portal_type", properties.portal_type.clone()),
        ("reference", properties.reference.clone()),
        ("title", properties.title.clone()),
        ("content_type", properties.content_type.clone()),
        ("size", properties.size.to_string()),
    ]
}

/// The notebook value of a document: typed for the portal types with
/// their own bindings, a plain `Document` otherwise.
///
/// # Errors
/// A Data Array whose dtype cannot be read.
pub fn typed_document(document: Document) -> Result<Dynamic, Box<EvalAltResult>> {
    let value = match document.properties().portal_type.as_str() {
        "Data Stream" => Dynamic::from(DataStreamHandle {
            stream: document.into_data_stream().map_err(reader_error)?,
        }),
        "Data Array" => match document.clone().into_data_array() {
            Ok(array) => Dynamic::from(DataArrayHandle { array, document }),
            // an array of a dtype the reader does not decode (a `<c16`
            // spectrum) still shows its properties
            Err(error) => {
                tracing::debug!(%error, "data array kept as a plain document");
                Dynamic::from(DocumentHandle { document })
            }
        },
        "Image" => Dynamic::from(crate::toolkit::saving::ImageHandle { document }),
        "Data Notebook" => Dynamic::from(DataNotebookHandle {
            notebook: document.into_data_notebook().map_err(reader_error)?,
        }),
        _ => Dynamic::from(DocumentHandle { document }),
    };
    Ok(value)
}

/// Registers the navigation types and calls, and the `context` variable.
pub fn register(registrar: &mut Registrar<'_>, connections: &Arc<Connections>) {
    registrar.register_type::<PortalHandle>("Portal");
    registrar.register_type::<ModuleHandle>("Module");
    registrar.register_type::<DocumentHandle>("Document");
    register_context(registrar, connections);
    register_portal(registrar);
    register_module(registrar);
    register_lookups(registrar);
    register_properties::<DocumentHandle>(registrar);
}

/// `context` resolves to the portal of the current configuration, or
/// fails naming the magic that is missing. (`on_var` is marked volatile,
/// not deprecated, by Rhai; no stable API resolves a computed variable.)
// TODO: a cell's own `let context = ...` cannot shadow the portal, and
// completion after `context.` lists nothing (it is not in the scope),
// because `on_var` runs before the scope is searched; ends when the
// session seeds `context` into its scope through a toolkit hook.
#[allow(deprecated)]
fn register_context(registrar: &mut Registrar<'_>, connections: &Arc<Connections>) {
    let context = registrar.context();
    let connections = connections.clone();
    registrar.engine().on_var(move |name, _, _| {
        if name != "context" {
            return Ok(None);
        }
        let portal = connections
            .portal(&context)
            .map_err(|message| -> Box<EvalAltResult> { message.into() })?;
        Ok(Some(Dynamic::from(PortalHandle { portal })))
    });
}

fn register_portal(registrar: &mut Registrar<'_>) {
    let context = registrar.context();
    let engine = registrar.engine();
    for id in MODULES {
        engine.register_get(id, move |portal: &mut PortalHandle| module_of(portal, id));
    }
    engine.register_get("url", |portal: &mut PortalHandle| {
        portal.portal.url().to_owned()
    });
    FuncRegistration::new("index$get$")
        .with_params_info(["portal: &mut Portal", "module: &str", "Module"])
        .with_comments(["/// The module `module` of the portal, e.g. `context[\"image_module\"]`."])
        .register_into_engine(
            engine,
            |portal: &mut PortalHandle, id: &str| -> Result<ModuleHandle, Box<EvalAltResult>> {
                if !MODULES.contains(&id) {
                    return Err(format!(
                        "there is no module {id:?} in the portal; modules: {}",
                        MODULES.join(", ")
                    )
                    .into());
                }
                Ok(module_of(portal, id))
            },
        );
    FuncRegistration::new("search")
        .with_params_info(["portal: &mut Portal", "query: Map", "Array"])
        .with_comments([
            "/// Documents of every module matching `query`, e.g.",
            "/// `#{portal_type: \"Data Stream\", reference: \"pydata\"}`.",
        ])
        .register_into_engine(
            engine,
            move |portal: &mut PortalHandle,
                  query: Map|
                  -> Result<rhai::Array, Box<EvalAltResult>> {
                let query = jio_query(None, &query)?;
                search(&context, &portal.portal, query)
            },
        );
}

fn module_of(portal: &PortalHandle, id: &str) -> ModuleHandle {
    ModuleHandle {
        module: portal.portal.module(id),
        portal: portal.portal.clone(),
    }
}

fn register_module(registrar: &mut Registrar<'_>) {
    let context = registrar.context();
    let by_number = context.clone();
    let engine = registrar.engine();
    engine.register_get("id", |module: &mut ModuleHandle| {
        module.module.id().to_owned()
    });
    FuncRegistration::new("index$get$")
        .with_params_info(["module: &mut Module", "id: &str", "Document"])
        .with_comments(["/// The document with id `id`, e.g. `module[\"1\"]`."])
        .register_into_engine(
            engine,
            move |module: &mut ModuleHandle, id: &str| -> Result<Dynamic, Box<EvalAltResult>> {
                let (module, id) = (module.module.clone(), id.to_owned());
                typed_document(cancellable(&context, move || module.get(&id))?)
            },
        );
    FuncRegistration::new("index$get$")
        .with_params_info(["module: &mut Module", "id: i64", "Document"])
        .with_comments(["/// The document with id `id`, e.g. `module[1]`."])
        .register_into_engine(
            engine,
            move |module: &mut ModuleHandle, id: i64| -> Result<Dynamic, Box<EvalAltResult>> {
                let module = module.module.clone();
                typed_document(cancellable(&by_number, move || {
                    module.get(&id.to_string())
                })?)
            },
        );
}

fn register_lookups(registrar: &mut Registrar<'_>) {
    let context = registrar.context();
    let searches = context.clone();
    let engine = registrar.engine();
    FuncRegistration::new("by_reference")
        .with_params_info(["module: &mut Module", "reference: &str", "Document"])
        .with_comments(["/// The document of this module whose reference is `reference`."])
        .register_into_engine(
            engine,
            move |module: &mut ModuleHandle,
                  reference: &str|
                  -> Result<Dynamic, Box<EvalAltResult>> {
                let (module, reference) = (module.module.clone(), reference.to_owned());
                typed_document(cancellable(&context, move || {
                    module.by_reference(&reference)
                })?)
            },
        );
    FuncRegistration::new("search")
        .with_params_info(["module: &mut Module", "query: Map", "Array"])
        .with_comments([
            "/// Documents of this module matching `query`, e.g.",
            "/// `#{portal_type: \"Data Stream\", reference: \"pydata\"}`.",
        ])
        .register_into_engine(
            engine,
            move |module: &mut ModuleHandle,
                  query: Map|
                  -> Result<rhai::Array, Box<EvalAltResult>> {
                let query = jio_query(Some(module.module.id()), &query)?;
                search(&searches, &module.portal, query)
            },
        );
    FuncRegistration::new("len")
        .with_params_info(["module: &mut Module", "i64"])
        .with_comments(["/// How many documents the module holds."])
        .register_into_engine(
            engine,
            |module: &mut ModuleHandle| -> Result<i64, Box<EvalAltResult>> {
                let documents = module.module.list().map_err(reader_error)?;
                Ok(documents.len() as i64)
            },
        );
}

/// A jIO query from a map of property values, within `module` if given.
fn jio_query(module: Option<&str>, query: &Map) -> Result<String, Box<EvalAltResult>> {
    const KEYS: [&str; 5] = ["portal_type", "reference", "title", "id", "content_type"];
    let mut terms: Vec<String> = module
        .map(|id| format!("parent_relative_url:\"{id}\""))
        .into_iter()
        .collect();
    for (key, value) in query {
        if !KEYS.contains(&key.as_str()) {
            return Err(format!(
                "search key {key:?} is not supported; use {}",
                KEYS.join(", ")
            )
            .into());
        }
        let value = value.to_string().replace('\\', "\\\\").replace('"', "\\\"");
        terms.push(format!("{key}:\"{value}\""));
    }
    if terms.is_empty() {
        return Err(
            "an empty search would list everything; give at least one of \
                    portal_type, reference, title"
                .into(),
        );
    }
    Ok(terms.join(" AND "))
}

/// Runs a search and fetches each document found (bounded), waiting
/// interruptibly.
fn search(
    context: &CellContext,
    portal: &Portal,
    query: String,
) -> Result<rhai::Array, Box<EvalAltResult>> {
    let portal = portal.clone();
    let documents = cancellable(context, move || fetch_found(&portal, &query))?;
    documents.into_iter().map(typed_document).collect()
}

fn fetch_found(portal: &Portal, query: &str) -> Result<Vec<Document>, ReaderError> {
    let found = portal.search(query)?;
    if found.len() > SEARCH_LIMIT {
        return Err(ReaderError::InvalidArgument {
            name: "search",
            value: query.to_owned(),
            reason: format!(
                "it found {} documents, more than {SEARCH_LIMIT}; narrow it",
                found.len()
            ),
        });
    }
    found
        .iter()
        .map(|properties| {
            let (module, id) = properties
                .relative_url
                .split_once('/')
                .unwrap_or(("", &properties.relative_url));
            portal.module(module).get(id)
        })
        .collect()
}

/// Registers the shared property getters on a document type.
pub fn register_properties<T: HasProperties>(registrar: &mut Registrar<'_>) {
    type Pick = fn(&Properties) -> Dynamic;
    let getters: [(&str, Pick); 8] = [
        ("id", |p| p.id.clone().into()),
        ("relative_url", |p| p.relative_url.clone().into()),
        ("url", |p| p.url.clone().into()),
        ("portal_type", |p| p.portal_type.clone().into()),
        ("reference", |p| p.reference.clone().into()),
        ("title", |p| p.title.clone().into()),
        ("content_type", |p| p.content_type.clone().into()),
        ("size", |p| (p.size as i64).into()),
    ];
    let engine = registrar.engine();
    for (name, pick) in getters {
        engine.register_get(name, move |value: &mut T| pick(value.properties()));
    }
    engine.register_fn("properties", |value: &mut T| -> Map {
        value
            .properties()
            .all
            .iter()
            .map(|(key, value)| {
                let value = serde_json::from_value::<Dynamic>(value.clone())
                    .unwrap_or_else(|_| value.to_string().into());
                (key.as_str().into(), value)
            })
            .collect()
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_map_becomes_a_quoted_jio_query_within_the_module() {
        let mut query = Map::new();
        query.insert("reference".into(), "a\"b".into());
        let text = jio_query(Some("data_stream_module"), &query).unwrap();
        assert_eq!(
            text,
            "parent_relative_url:\"data_stream_module\" AND reference:\"a\\\"b\""
        );
    }

    #[test]
    fn unknown_search_key_is_refused_with_the_key() {
        let mut query = Map::new();
        query.insert("colour".into(), "red".into());
        let error = jio_query(None, &query).unwrap_err().to_string();
        assert!(error.contains("colour"), "{error}");
    }

    #[test]
    fn module_table_escapes_and_lists_every_document() {
        let documents = vec![Properties {
            id: "1".into(),
            reference: "<a>".into(),
            ..Properties::default()
        }];
        let bundle = module_bundle("image_module", &documents);
        let html = bundle.data["text/html"].as_str().unwrap();
        assert!(html.contains("<td>&lt;a&gt;</td>"), "{html}");
        assert!(bundle.plain().contains("1 document(s)"));
    }
}
