//! Data Notebooks: with `%notebook_set_reference`, every executed cell (its
//! code and its text result, errors included) is appended to the Data
//! Notebook with that reference, created on first use with the title of
//! `%notebook_set_title`; `%my_notebooks` lists them. Lines holding
//! `%erp5_password` never reach the record.

use std::sync::{Arc, Mutex};

use bigfile_reader::{DataNotebook, Portal, Properties};
use rhai::{Array, Dynamic, EvalAltResult, FuncRegistration};
use serde_json::json;

use super::connection::Connections;
use super::navigation::{HasProperties, properties_bundle, register_properties};
use super::reader_error;
use crate::context::CellContext;
use crate::display::{Displayable, MimeBundle};
use crate::toolkit::Registrar;

/// The module Data Notebooks live in.
const MODULE: &str = "data_notebook_module";

/// A Data Notebook.
#[derive(Clone)]
pub struct DataNotebookHandle {
    /// The bigfile-reader notebook.
    pub notebook: DataNotebook,
}

impl HasProperties for DataNotebookHandle {
    fn properties(&self) -> &Properties {
        self.notebook.properties()
    }
}

impl Displayable for DataNotebookHandle {
    fn mime_bundle(&self) -> MimeBundle {
        properties_bundle(self.notebook.properties())
    }
}

/// Registers Data Notebooks.
pub fn register(registrar: &mut Registrar<'_>) {
    registrar.register_type::<DataNotebookHandle>("DataNotebook");
    register_properties::<DataNotebookHandle>(registrar);
    FuncRegistration::new("lines")
        .with_params_info(["notebook: &mut DataNotebook", "Array"])
        .with_comments(["/// The recorded cells, in order, as maps (code, result, status, time)."])
        .register_into_engine(
            registrar.engine(),
            |notebook: &mut DataNotebookHandle| -> Result<Array, Box<EvalAltResult>> {
                let lines = notebook.notebook.lines().map_err(reader_error)?;
                Ok(lines
                    .into_iter()
                    .map(|line| {
                        serde_json::from_value::<Dynamic>(line.clone())
                            .unwrap_or_else(|_| line.to_string().into())
                    })
                    .collect())
            },
        );
}

/// The notebook cells are recorded into, found or created once per
/// reference and portal.
#[derive(Default)]
pub struct Recorder {
    current: Mutex<Option<(String, DataNotebook)>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").finish_non_exhaustive()
    }
}

impl Recorder {
    /// Records a cell when a reference is set; a failure is reported on
    /// the cell's stderr and the cell keeps its own result.
    pub fn record(
        &self,
        connections: &Connections,
        code: &str,
        result: Result<&str, &str>,
        context: &CellContext,
    ) {
        let Some(reference) = context
            .config()
            .get("notebook_set_reference")
            .filter(|r| !r.trim().is_empty())
        else {
            return;
        };
        let code = without_password(code);
        if code.trim().is_empty() {
            return;
        }
        let (text, ok) = match result {
            Ok(text) => (text, true),
            Err(text) => (text, false),
        };
        let outcome = connections
            .portal(context)
            .and_then(|portal| self.notebook(&portal, &reference, context))
            .and_then(|notebook| {
                // TODO: record the cell's duration once `after_cell` is
                // given the timing the shell measures.
                notebook
                    .add_line(&code, text, ok, None)
                    .map_err(|e| e.to_string())
            });
        if let Err(error) = outcome {
            tracing::warn!(%reference, %error, "cell not recorded in the data notebook");
            context.eprint(&format!(
                "this cell was not recorded in Data Notebook {reference:?}: {error}\n"
            ));
        }
    }

    fn notebook(
        &self,
        portal: &Portal,
        reference: &str,
        context: &CellContext,
    ) -> Result<DataNotebook, String> {
        let key = format!("{}|{reference}", portal.url());
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((known, notebook)) = current.as_ref()
            && *known == key
        {
            return Ok(notebook.clone());
        }
        let notebook = find_or_create(portal, reference, context)?;
        *current = Some((key, notebook.clone()));
        Ok(notebook)
    }
}

/// The Data Notebook with `reference`, created with the session's title
/// when there is none.
fn find_or_create(
    portal: &Portal,
    reference: &str,
    context: &CellContext,
) -> Result<DataNotebook, String> {
    let module = portal.module(MODULE);
    match module.by_reference(reference) {
        Ok(document) => return document.into_data_notebook().map_err(|e| e.to_string()),
        Err(bigfile_reader::ReaderError::NotFound { .. }) => {}
        Err(error) => return Err(error.to_string()),
    }
    let title = context
        .config()
        .get("notebook_set_title")
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| reference.to_owned());
    let mut fields = serde_json::Map::new();
    fields.insert("portal_type".into(), json!("Data Notebook"));
    fields.insert("reference".into(), json!(reference));
    fields.insert("title".into(), json!(title));
    module
        .create(fields)
        .and_then(|document| document.into_data_notebook())
        .map_err(|e| e.to_string())
}

/// The cell without its `%erp5_password` lines.
pub fn without_password(code: &str) -> String {
    code.split('\n')
        .filter(|line| !line.trim_start().starts_with("%erp5_password"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Handles `%notebook_set_reference`, `%notebook_set_title` and
/// `%my_notebooks`.
pub fn magic(
    connections: &Connections,
    recorder: &Recorder,
    name: &str,
    argument: &str,
    context: &CellContext,
) -> Option<Result<String, String>> {
    match name {
        "notebook_set_reference" if !argument.is_empty() => {
            *recorder.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
            let mut message = format!(
                "notebook_set_reference = {argument}: each cell executed from now on is recorded \
                 in the Data Notebook {argument:?} (created on the first cell if needed)"
            );
            if let Err(missing) = connections.portal(context) {
                message.push_str(&format!("; nothing is recorded until then: {missing}"));
            }
            Some(Ok(message))
        }
        "notebook_set_title" if !argument.is_empty() => Some(Ok(format!(
            "notebook_set_title = {argument} (the title of a Data Notebook created from now on)"
        ))),
        "my_notebooks" => Some(my_notebooks(connections, context)),
        _ => None,
    }
}

fn my_notebooks(connections: &Connections, context: &CellContext) -> Result<String, String> {
    let portal = connections.portal(context)?;
    let notebooks = portal.my_notebooks().map_err(|e| e.to_string())?;
    if notebooks.is_empty() {
        return Ok(format!(
            "no Data Notebook on {} yet; %notebook_set_reference NAME starts one",
            portal.url()
        ));
    }
    let mut lines = vec![format!(
        "{} Data Notebook(s) on {}:",
        notebooks.len(),
        portal.url()
    )];
    for notebook in notebooks {
        lines.push(format!(
            "  {}  reference {:?}  title {:?}",
            notebook.relative_url, notebook.reference, notebook.title
        ));
    }
    Ok(lines.join("\n"))
}

/// Shared recorder state of the toolkit.
pub type SharedRecorder = Arc<Recorder>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_lines_never_reach_the_record() {
        let code = "%erp5_user bob\n  %erp5_password hunter2\nlet x = 1;";
        assert_eq!(without_password(code), "%erp5_user bob\nlet x = 1;");
    }
}
