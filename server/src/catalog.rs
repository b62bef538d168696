//! The catalog: every document's properties, committed size and blob
//! generation, the per-module id sequences and the Data Notebook Lines, in
//! one SQLite file (WAL, `synchronous=FULL`, so a commit is durable when it
//! returns).
//!
//! The committed size of a blob lives here and is only raised after the
//! blob's bytes are fsynced (see `blobs.rs`): the catalog is the truth a
//! restart goes back to. Calls are blocking; handlers run them on the
//! blocking pool. This file knows nothing of HTTP.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::{Map, Value};

use crate::error::{Result, ServerError};
use crate::model::{Document, Module, now};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS documents (
    key INTEGER PRIMARY KEY AUTOINCREMENT,
    module TEXT NOT NULL,
    id TEXT NOT NULL,
    portal_type TEXT NOT NULL,
    reference TEXT NOT NULL,
    title TEXT NOT NULL,
    content_type TEXT NOT NULL,
    dtype TEXT,
    trailing_shape TEXT,
    properties TEXT NOT NULL DEFAULT '{}',
    committed_size INTEGER NOT NULL DEFAULT 0,
    generation INTEGER NOT NULL DEFAULT 0,
    creation_date TEXT NOT NULL,
    modification_date TEXT NOT NULL,
    UNIQUE (module, id)
);
CREATE INDEX IF NOT EXISTS documents_by_reference ON documents (reference);
CREATE TABLE IF NOT EXISTS id_sequences (
    module TEXT PRIMARY KEY,
    last_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS notebook_lines (
    notebook_key INTEGER NOT NULL,
    line_id INTEGER NOT NULL,
    code TEXT NOT NULL,
    result TEXT NOT NULL,
    status TEXT NOT NULL,
    time TEXT NOT NULL,
    duration REAL,
    PRIMARY KEY (notebook_key, line_id)
);
";

const COLUMNS: &str = "key, module, id, portal_type, reference, title, content_type, dtype, \
     trailing_shape, properties, committed_size, generation, creation_date, modification_date";

/// What a new document is made of; the id is assigned by the catalog unless
/// given (ingestion policies take their reference as id).
#[derive(Debug, Clone)]
pub struct NewDocument {
    pub module: Module,
    pub id: Option<String>,
    pub portal_type: String,
    pub reference: String,
    pub title: String,
    pub content_type: String,
    pub dtype: Option<String>,
    pub trailing_shape: Option<Vec<u64>>,
    pub properties: Map<String, Value>,
    /// Committed size at creation (zero rows of a Data Array).
    pub size: u64,
}

/// One recorded cell of a Data Notebook.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NotebookLine {
    pub id: String,
    pub code: String,
    pub result: String,
    pub status: String,
    pub time: String,
    pub duration: Option<f64>,
}

/// The catalog database.
#[derive(Debug)]
pub struct Catalog {
    connection: Mutex<Connection>,
}

fn document_from_row(row: &Row<'_>) -> rusqlite::Result<Document> {
    let module: String = row.get(1)?;
    let shape: Option<String> = row.get(8)?;
    let properties: String = row.get(9)?;
    let size: i64 = row.get(10)?;
    Ok(Document {
        key: row.get(0)?,
        module: Module::from_id(&module).unwrap_or(Module::DataStreams),
        id: row.get(2)?,
        portal_type: row.get(3)?,
        reference: row.get(4)?,
        title: row.get(5)?,
        content_type: row.get(6)?,
        dtype: row.get(7)?,
        trailing_shape: shape.and_then(|text| serde_json::from_str(&text).ok()),
        properties: serde_json::from_str(&properties).unwrap_or_default(),
        size: size.max(0) as u64,
        generation: row.get(11)?,
        creation_date: row.get(12)?,
        modification_date: row.get(13)?,
    })
}

impl Catalog {
    /// Opens (or creates) the catalog at `path` and makes sure the built-in
    /// ingestion policy `default` exists.
    ///
    /// # Errors
    ///
    /// When SQLite cannot open or initialise the file.
    pub fn open(path: &Path) -> Result<Catalog> {
        let fail = |e| ServerError::catalog(format!("opening {}", path.display()), e);
        let connection = Connection::open(path).map_err(fail)?;
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(fail)?;
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(fail)?;
        connection.execute_batch(SCHEMA).map_err(fail)?;

        let catalog = Catalog {
            connection: Mutex::new(connection),
        };
        catalog.ensure_default_policy()?;
        Ok(catalog)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // a panic while holding the lock cannot leave SQLite inconsistent:
        // an open transaction is rolled back when its guard drops
        self.connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn ensure_default_policy(&self) -> Result<()> {
        if self.get(Module::IngestionPolicies, "default")?.is_some() {
            return Ok(());
        }
        let mut properties = Map::new();
        properties.insert(
            "script_id".into(),
            "IngestionPolicy_parseSimpleFluentdTag".into(),
        );
        properties.insert("data_operation".into(), "wendelin_ingest_data".into());
        let policy = NewDocument {
            module: Module::IngestionPolicies,
            id: Some("default".into()),
            portal_type: "Ingestion Policy".into(),
            reference: "default".into(),
            title: "Default Ingestion Policy".into(),
            content_type: Module::IngestionPolicies.default_content_type().into(),
            dtype: None,
            trailing_shape: None,
            properties,
            size: 0,
        };
        self.insert(policy, |_| Ok(()))?;
        Ok(())
    }

    /// Inserts a document, running `make_blob(key)` (which creates its blob
    /// file) inside the transaction, so a failure leaves no catalog row.
    ///
    /// # Errors
    ///
    /// A taken id ([`ServerError::PolicyExists`] for policies), a catalog
    /// failure, or what `make_blob` returns.
    pub fn insert(
        &self,
        new: NewDocument,
        make_blob: impl FnOnce(i64) -> Result<()>,
    ) -> Result<Document> {
        let fail = |e| ServerError::catalog("creating a document", e);
        let mut connection = self.lock();
        let transaction = connection.transaction().map_err(fail)?;

        let id = match &new.id {
            Some(id) => id.clone(),
            None => next_id(&transaction, new.module)?,
        };
        let taken: bool = transaction
            .query_row(
                "SELECT 1 FROM documents WHERE module = ?1 AND id = ?2",
                params![new.module.id(), id],
                |_| Ok(true),
            )
            .optional()
            .map_err(fail)?
            .unwrap_or(false);
        if taken {
            return Err(ServerError::PolicyExists { id });
        }

        let date = now();
        let shape = new
            .trailing_shape
            .as_ref()
            .map(|s| serde_json::json!(s).to_string());
        transaction
            .execute(
                "INSERT INTO documents (module, id, portal_type, reference, title, content_type, \
                 dtype, trailing_shape, properties, committed_size, generation, creation_date, \
                 modification_date) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, ?11, ?11)",
                params![
                    new.module.id(),
                    id,
                    new.portal_type,
                    new.reference,
                    new.title,
                    new.content_type,
                    new.dtype,
                    shape,
                    Value::Object(new.properties.clone()).to_string(),
                    new.size as i64,
                    date,
                ],
            )
            .map_err(fail)?;
        let key = transaction.last_insert_rowid();

        make_blob(key)?;
        transaction.commit().map_err(fail)?;
        drop(connection);
        self.get(new.module, &id)?.ok_or_else(|| {
            ServerError::catalog(
                "reading a new document",
                rusqlite::Error::QueryReturnedNoRows,
            )
        })
    }

    /// The document `id` of `module`.
    ///
    /// # Errors
    ///
    /// A catalog failure.
    pub fn get(&self, module: Module, id: &str) -> Result<Option<Document>> {
        let sql = format!("SELECT {COLUMNS} FROM documents WHERE module = ?1 AND id = ?2");
        self.lock()
            .query_row(&sql, params![module.id(), id], document_from_row)
            .optional()
            .map_err(|e| ServerError::catalog(format!("reading {}/{id}", module.id()), e))
    }

    /// The document with this internal key.
    ///
    /// # Errors
    ///
    /// A catalog failure.
    pub fn get_by_key(&self, key: i64) -> Result<Option<Document>> {
        let sql = format!("SELECT {COLUMNS} FROM documents WHERE key = ?1");
        self.lock()
            .query_row(&sql, params![key], document_from_row)
            .optional()
            .map_err(|e| ServerError::catalog(format!("reading document key {key}"), e))
    }

    /// The first document (lowest id) of `module` with this reference.
    ///
    /// # Errors
    ///
    /// A catalog failure.
    pub fn find_by_reference(&self, module: Module, reference: &str) -> Result<Option<Document>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM documents WHERE module = ?1 AND reference = ?2 \
             ORDER BY key LIMIT 1"
        );
        self.lock()
            .query_row(&sql, params![module.id(), reference], document_from_row)
            .optional()
            .map_err(|e| ServerError::catalog(format!("finding reference {reference}"), e))
    }

    /// Documents matching an SQL condition over the documents table, in
    /// module then key order.
    ///
    /// # Errors
    ///
    /// A catalog failure.
    pub fn select(
        &self,
        condition: &str,
        values: &[String],
        offset: u64,
        limit: u64,
    ) -> Result<Vec<Document>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM documents WHERE {condition} ORDER BY module, key \
             LIMIT {limit} OFFSET {offset}"
        );
        let fail = |e| ServerError::catalog("searching", e);
        let connection = self.lock();
        let mut statement = connection.prepare(&sql).map_err(fail)?;
        let rows = statement
            .query_map(rusqlite::params_from_iter(values), document_from_row)
            .map_err(fail)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(fail)
    }

    /// How many documents `module` holds.
    ///
    /// # Errors
    ///
    /// A catalog failure.
    pub fn count(&self, module: Module) -> Result<u64> {
        self.lock()
            .query_row(
                "SELECT COUNT(*) FROM documents WHERE module = ?1",
                params![module.id()],
                |row| row.get::<_, i64>(0),
            )
            .map(|n| n.max(0) as u64)
            .map_err(|e| ServerError::catalog("counting documents", e))
    }

    /// Every document, for start-up recovery.
    ///
    /// # Errors
    ///
    /// A catalog failure.
    pub fn all(&self) -> Result<Vec<Document>> {
        self.select("1", &[], 0, i64::MAX as u64)
    }

    /// Records a new committed size and generation (and content type); the
    /// commit is durable when this returns.
    ///
    /// # Errors
    ///
    /// A catalog failure.
    pub fn commit_blob(
        &self,
        key: i64,
        size: u64,
        generation: i64,
        content_type: Option<&str>,
    ) -> Result<()> {
        self.lock()
            .execute(
                "UPDATE documents SET committed_size = ?2, generation = ?3, \
                 content_type = COALESCE(?4, content_type), modification_date = ?5 WHERE key = ?1",
                params![key, size as i64, generation, content_type, now()],
            )
            .map(|_| ())
            .map_err(|e| ServerError::catalog(format!("committing {size} bytes of key {key}"), e))
    }

    /// Rewrites the editable properties of a document.
    ///
    /// # Errors
    ///
    /// A catalog failure.
    pub fn update_properties(&self, document: &Document) -> Result<()> {
        self.lock()
            .execute(
                "UPDATE documents SET reference = ?2, title = ?3, content_type = ?4, \
                 properties = ?5, modification_date = ?6 WHERE key = ?1",
                params![
                    document.key,
                    document.reference,
                    document.title,
                    document.content_type,
                    Value::Object(document.properties.clone()).to_string(),
                    now(),
                ],
            )
            .map(|_| ())
            .map_err(|e| ServerError::catalog("editing properties", e))
    }

    /// Appends a line to a notebook, assigning the next line id.
    ///
    /// # Errors
    ///
    /// A catalog failure.
    pub fn add_line(&self, notebook_key: i64, line: &NotebookLine) -> Result<NotebookLine> {
        let fail = |e| ServerError::catalog("adding a notebook line", e);
        let mut connection = self.lock();
        let transaction = connection.transaction().map_err(fail)?;
        let id: i64 = transaction
            .query_row(
                "SELECT COALESCE(MAX(line_id), 0) + 1 FROM notebook_lines WHERE notebook_key = ?1",
                params![notebook_key],
                |row| row.get(0),
            )
            .map_err(fail)?;
        transaction
            .execute(
                "INSERT INTO notebook_lines (notebook_key, line_id, code, result, status, time, \
                 duration) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    notebook_key,
                    id,
                    line.code,
                    line.result,
                    line.status,
                    line.time,
                    line.duration
                ],
            )
            .map_err(fail)?;
        transaction
            .execute(
                "UPDATE documents SET modification_date = ?2 WHERE key = ?1",
                params![notebook_key, now()],
            )
            .map_err(fail)?;
        transaction.commit().map_err(fail)?;
        Ok(NotebookLine {
            id: id.to_string(),
            ..line.clone()
        })
    }

    /// The lines of a notebook, in order.
    ///
    /// # Errors
    ///
    /// A catalog failure.
    pub fn lines(&self, notebook_key: i64) -> Result<Vec<NotebookLine>> {
        let fail = |e| ServerError::catalog("reading notebook lines", e);
        let connection = self.lock();
        let mut statement = connection
            .prepare(
                "SELECT line_id, code, result, status, time, duration FROM notebook_lines \
                 WHERE notebook_key = ?1 ORDER BY line_id",
            )
            .map_err(fail)?;
        let rows = statement
            .query_map(params![notebook_key], |row| {
                Ok(NotebookLine {
                    id: row.get::<_, i64>(0)?.to_string(),
                    code: row.get(1)?,
                    result: row.get(2)?,
                    status: row.get(3)?,
                    time: row.get(4)?,
                    duration: row.get(5)?,
                })
            })
            .map_err(fail)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(fail)
    }

    /// How many lines a notebook holds.
    ///
    /// # Errors
    ///
    /// A catalog failure.
    pub fn line_count(&self, notebook_key: i64) -> Result<u64> {
        self.lock()
            .query_row(
                "SELECT COUNT(*) FROM notebook_lines WHERE notebook_key = ?1",
                params![notebook_key],
                |row| row.get::<_, i64>(0),
            )
            .map(|n| n.max(0) as u64)
            .map_err(|e| ServerError::catalog("counting notebook lines", e))
    }
}

/// The next id of a module ("1", "2", ... as ERP5 assigns them), skipping
/// any id already taken.
fn next_id(transaction: &rusqlite::Transaction<'_>, module: Module) -> Result<String> {
    let fail = |e| ServerError::catalog("assigning an id", e);
    loop {
        let id: i64 = transaction
            .query_row(
                "INSERT INTO id_sequences (module, last_id) VALUES (?1, 1) \
                 ON CONFLICT (module) DO UPDATE SET last_id = last_id + 1 RETURNING last_id",
                params![module.id()],
                |row| row.get(0),
            )
            .map_err(fail)?;
        let taken = transaction
            .query_row(
                "SELECT 1 FROM documents WHERE module = ?1 AND id = ?2",
                params![module.id(), id.to_string()],
                |_| Ok(()),
            )
            .optional()
            .map_err(fail)?
            .is_some();
        if !taken {
            return Ok(id.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(reference: &str) -> NewDocument {
        NewDocument {
            module: Module::DataStreams,
            id: None,
            portal_type: "Data Stream".into(),
            reference: reference.into(),
            title: reference.into(),
            content_type: "application/octet-stream".into(),
            dtype: None,
            trailing_shape: None,
            properties: Map::new(),
            size: 0,
        }
    }

    #[test]
    fn ids_are_assigned_in_sequence_per_module() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::open(&dir.path().join("catalog.sqlite")).unwrap();

        let first = catalog.insert(stream("a"), |_| Ok(())).unwrap();
        let second = catalog.insert(stream("b"), |_| Ok(())).unwrap();

        assert_eq!((first.id.as_str(), second.id.as_str()), ("1", "2"));
    }

    #[test]
    fn failed_blob_creation_leaves_no_row() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::open(&dir.path().join("catalog.sqlite")).unwrap();

        let failure = catalog.insert(stream("a"), |_| {
            Err(ServerError::blob(
                "test",
                std::io::Error::other("disk full"),
            ))
        });

        assert!(failure.is_err());
        assert_eq!(catalog.count(Module::DataStreams).unwrap(), 0);
    }

    #[test]
    fn default_policy_exists_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.sqlite");
        drop(Catalog::open(&path).unwrap());

        let catalog = Catalog::open(&path).unwrap();

        assert_eq!(catalog.count(Module::IngestionPolicies).unwrap(), 1);
    }

    #[test]
    fn committed_size_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.sqlite");
        let catalog = Catalog::open(&path).unwrap();
        let document = catalog.insert(stream("a"), |_| Ok(())).unwrap();
        catalog.commit_blob(document.key, 42, 0, None).unwrap();
        drop(catalog);

        let reopened = Catalog::open(&path).unwrap();

        assert_eq!(
            reopened
                .get(Module::DataStreams, "1")
                .unwrap()
                .unwrap()
                .size,
            42
        );
    }
}
