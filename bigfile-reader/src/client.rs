//! The navigation model of a Wendelin server, as ERP5 users know it:
//! [`Portal`] → [`Module`] (with counts) → [`Document`] by id or by
//! reference → its [`Properties`], and the typed views of a document:
//! [`DataStream`] (ranged reads, appends, BigFileReader), [`DataArray`]
//! (dtype, shape, typed reads, a lazy signal; written from a
//! `signal::Source`), Images and [`DataNotebook`]s.
//!
//! Reading uses Wendelin's own calls (Range GETs, Zope getters, the
//! hateoas search), so it works on a real Wendelin too; creating documents,
//! the properties JSON, module listings and notebook lines are additions
//! of wendelin-server (docs/http-contract.md), and a server without them
//! gets a [`ReaderError::MissingAddition`] that says so.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use signal::{DEFAULT_CHUNK_LEN, Progress, Source, for_each_chunk};

use crate::ReaderError;
use crate::cache::{CacheOptions, CachedRange};
use crate::channel::{ChannelSource, FrameLayout};
use crate::encoding::SampleEncoding;
use crate::http::{ConnectOptions, HttpObject, HttpSession};
use crate::range::ByteRange;
use crate::reader::{BigFileReader, ReaderOptions, StreamBytes};

/// The hateoas site the search goes through (any site works on
/// wendelin-server; `hateoas` exists on a real ERP5 with the HAL style).
const HATEOAS_SITE: &str = "web_site_module/hateoas";

/// The modules of a Wendelin portal.
pub const MODULES: [&str; 5] = [
    "data_stream_module",
    "data_array_module",
    "image_module",
    "data_notebook_module",
    "portal_ingestion_policies",
];

/// A module as the portal lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleSummary {
    /// `data_stream_module`, ...
    pub id: String,
    /// The portal type of its documents.
    pub document_portal_type: String,
    /// How many documents it holds.
    pub count: u64,
}

/// The properties of a document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Properties {
    /// Id in its module ("1").
    pub id: String,
    /// `module/id`.
    pub relative_url: String,
    /// Absolute URL.
    pub url: String,
    /// `Data Stream`, `Data Array`, ...
    pub portal_type: String,
    /// The reference, possibly empty.
    pub reference: String,
    /// The title, possibly empty.
    pub title: String,
    /// MIME type of the bytes.
    pub content_type: String,
    /// Size of the bytes.
    pub size: u64,
    /// numpy dtype of a Data Array.
    pub dtype: Option<String>,
    /// Shape of a Data Array.
    pub shape: Option<Vec<u64>>,
    /// Every property as the server sent it (extra ones included).
    pub all: Map<String, Value>,
}

impl Properties {
    /// Reads the property dict of docs/http-contract.md.
    fn from_json(base: &str, value: Value) -> Self {
        let all = match value {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let text = |key: &str| all.get(key).map(value_text).unwrap_or_default();
        let relative_url = text("relative_url");
        Self {
            id: text("id"),
            url: format!("{base}/{relative_url}"),
            relative_url,
            portal_type: text("portal_type"),
            reference: text("reference"),
            title: text("title"),
            content_type: text("content_type"),
            size: all.get("size").and_then(Value::as_u64).unwrap_or(0),
            dtype: all.get("dtype").and_then(Value::as_str).map(str::to_owned),
            shape: all
                .get("shape")
                .and_then(Value::as_array)
                .map(|dims| dims.iter().filter_map(Value::as_u64).collect()),
            all,
        }
    }

    /// An extra property as a number (`sample_rate`), whether the server
    /// kept it as a number or as text.
    pub fn number(&self, key: &str) -> Option<f64> {
        match self.all.get(key)? {
            Value::Number(number) => number.as_f64(),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        }
    }
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A Wendelin portal: the entry point of navigation.
#[derive(Clone)]
pub struct Portal {
    session: Arc<HttpSession>,
}

impl Portal {
    /// Prepares a connection; nothing is sent until a call needs it.
    ///
    /// # Errors
    /// As [`HttpSession::new`].
    pub fn connect(options: &ConnectOptions) -> Result<Self, ReaderError> {
        Ok(Self {
            session: Arc::new(HttpSession::new(options)?),
        })
    }

    /// The portal's URL.
    pub fn url(&self) -> &str {
        self.session.base_url()
    }

    /// The modules with their document counts (an addition).
    ///
    /// # Errors
    /// The HTTP failure, or [`ReaderError::MissingAddition`].
    pub fn modules(&self) -> Result<Vec<ModuleSummary>, ReaderError> {
        let answer = self
            .session
            .get_json(self.session.base_url(), Some("module listing"))?;
        let modules = answer
            .get("modules")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(modules
            .iter()
            .map(|module| ModuleSummary {
                id: module.get("id").map(value_text).unwrap_or_default(),
                document_portal_type: module
                    .get("document_portal_type")
                    .map(value_text)
                    .unwrap_or_default(),
                count: module.get("count").and_then(Value::as_u64).unwrap_or(0),
            })
            .collect())
    }

    /// The module `id` (not checked until used).
    pub fn module(&self, id: &str) -> Module {
        Module {
            session: self.session.clone(),
            id: id.to_owned(),
        }
    }

    /// Documents matching a jIO query, e.g. `portal_type:"Data Stream"`,
    /// through the hateoas search (wendelin-protocol.md §8).
    ///
    /// # Errors
    /// The HTTP failure.
    pub fn search(&self, query: &str) -> Result<Vec<Properties>, ReaderError> {
        search(&self.session, query)
    }

    /// The Data Notebooks on the server (`%my_notebooks`).
    ///
    /// # Errors
    /// The HTTP failure.
    pub fn my_notebooks(&self) -> Result<Vec<Properties>, ReaderError> {
        self.search("portal_type:\"Data Notebook\"")
    }
}

/// A module of the portal.
#[derive(Clone)]
pub struct Module {
    session: Arc<HttpSession>,
    id: String,
}

impl Module {
    /// The module's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The document `id` of this module, with its properties.
    ///
    /// # Errors
    /// [`ReaderError::NotFound`] when it does not exist, or the HTTP
    /// failure.
    pub fn get(&self, id: &str) -> Result<Document, ReaderError> {
        let relative_url = format!("{}/{}", self.id, id);
        Document::fetch(self.session.clone(), &relative_url)
    }

    /// The document of this module whose reference is `reference`, found
    /// with the catalog search.
    ///
    /// # Errors
    /// [`ReaderError::NotFound`] when none has it, or the HTTP failure.
    pub fn by_reference(&self, reference: &str) -> Result<Document, ReaderError> {
        let query = format!(
            "parent_relative_url:\"{}\" AND reference:\"{}\"",
            self.id,
            quote(reference)
        );
        let found = search(&self.session, &query)?;
        let first = found
            .into_iter()
            .next()
            .ok_or_else(|| ReaderError::NotFound {
                url: format!(
                    "{} (no document with reference {reference:?})",
                    self.session.url(&self.id)
                ),
            })?;
        Document::fetch(self.session.clone(), &first.relative_url)
    }

    /// Every document's properties, in id order (an addition).
    ///
    /// # Errors
    /// The HTTP failure, or [`ReaderError::MissingAddition`].
    pub fn list(&self) -> Result<Vec<Properties>, ReaderError> {
        let answer = self
            .session
            .get_json(&self.session.url(&self.id), Some("module listing"))?;
        let documents = answer
            .get("documents")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(documents
            .into_iter()
            .map(|value| Properties::from_json(self.session.base_url(), value))
            .collect())
    }

    /// Creates a document from `fields` (`reference`, `title`,
    /// `portal_type`, extra properties; an addition).
    ///
    /// # Errors
    /// The HTTP failure (400 names the bad field), or
    /// [`ReaderError::MissingAddition`].
    pub fn create(&self, fields: Map<String, Value>) -> Result<Document, ReaderError> {
        let url = self.session.url(&format!("{}/newContent", self.id));
        let answer =
            self.session
                .post_json(&url, &Value::Object(fields), Some("document creation"))?;
        let properties = Properties::from_json(self.session.base_url(), answer);
        Ok(Document {
            session: self.session.clone(),
            properties,
        })
    }

    /// Creates a Data Array from `source`: dtype `<f8`, shape `[len]`,
    /// the source's sample rate and units as properties, written in
    /// chunks with appending PUTs, reporting samples written to
    /// `progress`.
    ///
    /// # Errors
    /// As [`Module::create`], the source's read errors,
    /// [`ReaderError::Cancelled`].
    pub fn create_array(
        &self,
        mut fields: Map<String, Value>,
        source: &dyn Source,
        progress: &dyn Progress,
    ) -> Result<DataArray, ReaderError> {
        let info = source.info();
        fields.insert("portal_type".into(), json!("Data Array"));
        fields.insert("dtype".into(), json!("<f8"));
        fields.insert("shape".into(), json!([0]));
        if let Some(rate) = info.sample_rate {
            fields.insert("sample_rate".into(), json!(rate));
        }
        if let Some(units) = info.units {
            fields.insert("units".into(), json!(units));
        }
        let array = self.create(fields)?.into_data_array()?;
        array.append_source(source, progress)?;
        array.refreshed()
    }

    /// Creates an Image holding `bytes` (PNG, JPEG...).
    ///
    /// # Errors
    /// As [`Module::create`], and the failure of the upload.
    pub fn create_image(
        &self,
        mut fields: Map<String, Value>,
        bytes: &[u8],
    ) -> Result<Document, ReaderError> {
        fields.insert("portal_type".into(), json!("Image"));
        let document = self.create(fields)?;
        document
            .bytes()
            .replace(bytes, "application/octet-stream")?;
        document.refreshed()
    }
}

/// Escapes `"` and `\` for a jIO query value.
fn quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Runs a hateoas search; returns what each result carries (the whole
/// property dict on wendelin-server, at least the relative URL elsewhere).
fn search(session: &HttpSession, query: &str) -> Result<Vec<Properties>, ReaderError> {
    let url = format!(
        "{}/ERP5Document_getHateoas?mode=search&query={}&select_list=relative_url&select_list=portal_type&select_list=reference&select_list=title",
        session.url(HATEOAS_SITE),
        percent_encode(query)
    );
    let answer = session.get_json(&url, None)?;
    let contents = answer
        .pointer("/_embedded/contents")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Ok(contents
        .into_iter()
        .map(|mut content| {
            let href = content
                .pointer("/_links/self/href")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if let (Some(relative), Value::Object(map)) =
                (href.strip_prefix("urn:jio:get:"), &mut content)
            {
                map.entry("relative_url").or_insert_with(|| json!(relative));
            }
            Properties::from_json(session.base_url(), content)
        })
        .collect())
}

/// Percent-encodes a query parameter value.
fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A document of any type, with its properties.
#[derive(Clone)]
pub struct Document {
    session: Arc<HttpSession>,
    properties: Properties,
}

impl Document {
    /// Fetches the properties of `relative_url`: the properties JSON (an
    /// addition), else Wendelin's Zope getters one by one.
    fn fetch(session: Arc<HttpSession>, relative_url: &str) -> Result<Self, ReaderError> {
        let url = session.url(&format!("{relative_url}/getPropertyDict"));
        let properties = match session.get_json(&url, Some("the properties JSON")) {
            Ok(answer) => Properties::from_json(session.base_url(), answer),
            Err(ReaderError::MissingAddition { .. }) => {
                properties_from_getters(&session, relative_url)?
            }
            Err(error) => return Err(error),
        };
        Ok(Self {
            session,
            properties,
        })
    }

    /// The properties as last fetched.
    pub fn properties(&self) -> &Properties {
        &self.properties
    }

    /// The document with its properties fetched again.
    ///
    /// # Errors
    /// The HTTP failure.
    pub fn refreshed(&self) -> Result<Self, ReaderError> {
        Self::fetch(self.session.clone(), &self.properties.relative_url)
    }

    /// "data stream 3" and the like, for messages.
    fn name(&self) -> String {
        let kind = self.properties.portal_type.to_lowercase();
        format!(
            "{} {}",
            if kind.is_empty() {
                "document".to_owned()
            } else {
                kind
            },
            self.properties.id
        )
    }

    /// The document's bytes as a byte range.
    pub fn bytes(&self) -> Arc<HttpObject> {
        Arc::new(HttpObject::new(
            self.session.clone(),
            self.properties.url.clone(),
            self.name(),
            self.properties.size,
        ))
    }

    fn expect_type(&self, expected: &str) -> Result<(), ReaderError> {
        if self.properties.portal_type == expected {
            return Ok(());
        }
        Err(ReaderError::WrongType {
            url: self.properties.url.clone(),
            expected: expected.to_owned(),
            found: self.properties.portal_type.clone(),
        })
    }

    /// This document as a Data Stream.
    ///
    /// # Errors
    /// [`ReaderError::WrongType`] for another portal type.
    pub fn into_data_stream(self) -> Result<DataStream, ReaderError> {
        self.expect_type("Data Stream")?;
        let object = self.bytes();
        Ok(DataStream {
            document: self,
            object,
        })
    }

    /// This document as a Data Array.
    ///
    /// # Errors
    /// [`ReaderError::WrongType`] for another portal type,
    /// [`ReaderError::InvalidDtype`] for a dtype this crate cannot read.
    pub fn into_data_array(self) -> Result<DataArray, ReaderError> {
        self.expect_type("Data Array")?;
        let dtype = self
            .properties
            .dtype
            .clone()
            .unwrap_or_else(|| "<f8".to_owned());
        let encoding = SampleEncoding::from_dtype(&dtype)?;
        let object = self.bytes();
        Ok(DataArray {
            document: self,
            encoding,
            object,
        })
    }

    /// This document as a Data Notebook.
    ///
    /// # Errors
    /// [`ReaderError::WrongType`] for another portal type.
    pub fn into_data_notebook(self) -> Result<DataNotebook, ReaderError> {
        self.expect_type("Data Notebook")?;
        Ok(DataNotebook { document: self })
    }
}

/// Properties from Wendelin's getters, for a server without the JSON.
fn properties_from_getters(
    session: &HttpSession,
    relative_url: &str,
) -> Result<Properties, ReaderError> {
    let getter = |name: &str| -> Result<String, ReaderError> {
        let url = session.url(&format!("{relative_url}/{name}"));
        let response = session.send("GET", &url, &[], None)?;
        let response = session.check_status(&url, response, None)?;
        Ok(crate::http::read_text(&url, response, 1 << 20)?
            .trim()
            .to_owned())
    };
    let id = getter("getId").map_err(|error| match error {
        ReaderError::NotFound { .. } => ReaderError::NotFound {
            url: session.url(relative_url),
        },
        other => other,
    })?;
    let mut map = Map::new();
    map.insert("id".into(), json!(id));
    for (key, name) in [
        ("portal_type", "getPortalType"),
        ("reference", "getReference"),
        ("title", "getTitle"),
        ("content_type", "getContentType"),
    ] {
        map.insert(key.into(), json!(getter(name).unwrap_or_default()));
    }
    map.insert("relative_url".into(), json!(relative_url));
    map.insert(
        "size".into(),
        json!(getter("getSize")?.parse::<u64>().unwrap_or(0)),
    );
    Ok(Properties::from_json(
        session.base_url(),
        Value::Object(map),
    ))
}

/// A Data Stream: bytes read by range and appended to.
#[derive(Clone)]
pub struct DataStream {
    document: Document,
    object: Arc<HttpObject>,
}

impl DataStream {
    /// The properties.
    pub fn properties(&self) -> &Properties {
        &self.document.properties
    }

    /// Size in bytes as last seen.
    pub fn size(&self) -> u64 {
        self.object.size()
    }

    /// The ranged calls: `read(start, end)`, `iterate`, `data`, `append`.
    pub fn bytes(&self) -> StreamBytes {
        StreamBytes::new(self.object.clone())
    }

    /// The raw byte range (uncached).
    pub fn object(&self) -> Arc<HttpObject> {
        self.object.clone()
    }

    /// A seekable cached reader over the stream.
    ///
    /// # Errors
    /// As [`BigFileReader::with_options`].
    pub fn reader(
        &self,
        options: ReaderOptions,
        progress: Arc<dyn Progress>,
    ) -> Result<BigFileReader, ReaderError> {
        BigFileReader::with_options(self.object.clone(), options, progress)
    }

    /// Bytes `start .. end`, `end` clamped to the size.
    ///
    /// # Errors
    /// As [`StreamBytes::read`].
    pub fn read(&self, start: u64, end: u64) -> Result<Vec<u8>, ReaderError> {
        self.bytes().read(start, end)
    }

    /// Every byte, up to [`crate::DEFAULT_DATA_LIMIT`].
    ///
    /// # Errors
    /// As [`StreamBytes::data`].
    pub fn data(&self) -> Result<Vec<u8>, ReaderError> {
        self.bytes().data()
    }

    /// Appends `bytes` with a `Content-Range` PUT; returns the new size.
    ///
    /// # Errors
    /// The HTTP failure (400 when another writer appended meanwhile).
    pub fn append(&self, bytes: &[u8]) -> Result<u64, ReaderError> {
        self.object.append(bytes)
    }
}

/// A Data Array: typed rows on the server.
#[derive(Clone)]
pub struct DataArray {
    document: Document,
    encoding: SampleEncoding,
    object: Arc<HttpObject>,
}

impl DataArray {
    /// The properties.
    pub fn properties(&self) -> &Properties {
        &self.document.properties
    }

    /// numpy dtype, e.g. `<f8`.
    pub fn dtype(&self) -> String {
        self.document
            .properties
            .dtype
            .clone()
            .unwrap_or_else(|| "<f8".to_owned())
    }

    /// Shape; the first dimension counts whole rows.
    pub fn shape(&self) -> Vec<u64> {
        self.document
            .properties
            .shape
            .clone()
            .unwrap_or_else(|| vec![self.object.size() / self.encoding.bytes as u64])
    }

    /// Values per row (the product of the trailing dimensions).
    pub fn row_width(&self) -> usize {
        self.shape().iter().skip(1).product::<u64>().max(1) as usize
    }

    /// The stored `sample_rate` property, when there is one.
    pub fn sample_rate(&self) -> Option<f64> {
        self.document.properties.number("sample_rate")
    }

    fn layout(&self) -> FrameLayout {
        let channels = self.row_width();
        let block_align = channels * self.encoding.bytes;
        FrameLayout {
            data_offset: 0,
            frames: self.object.size() / block_align as u64,
            block_align,
            channels,
            encoding: self.encoding,
        }
    }

    /// Rows `start .. end`, flattened, as f64.
    ///
    /// # Errors
    /// [`ReaderError::OutOfRange`] past the last row, else the failure of
    /// the read.
    pub fn read(&self, start: u64, end: u64) -> Result<Vec<f64>, ReaderError> {
        let layout = self.layout();
        if start > end || end > layout.frames {
            let row = layout.block_align as u64;
            return Err(ReaderError::OutOfRange {
                object: self.document.name(),
                start: start * row,
                end: end * row,
                size: self.object.size(),
            });
        }
        let mut bytes = vec![0u8; ((end - start) as usize) * layout.block_align];
        crate::range::read_exact_at(
            self.object.as_ref(),
            start * layout.block_align as u64,
            &mut bytes,
        )?;
        let mut values = vec![0.0; bytes.len() / self.encoding.bytes];
        self.encoding
            .decode_channel(&bytes, self.encoding.bytes, 0, &mut values);
        Ok(values)
    }

    /// Column `column` (0 for a 1-D array) as a lazy signal at the stored
    /// sample rate, read through a cache with read-ahead.
    ///
    /// # Errors
    /// [`ReaderError::NoSuchChannel`] past the last column.
    pub fn column(&self, column: usize) -> Result<ChannelSource, ReaderError> {
        let layout = self.layout();
        if column >= layout.channels {
            return Err(ReaderError::NoSuchChannel {
                index: column,
                channels: layout.channels,
            });
        }
        let cached: Arc<dyn ByteRange> = Arc::new(CachedRange::new(
            self.object.clone(),
            CacheOptions::default(),
        )?);
        let units = self.document.properties.all.get("units").map(value_text);
        Ok(ChannelSource::new(
            cached,
            layout,
            column,
            self.sample_rate(),
            units,
        ))
    }

    /// The array as a lazy signal (its first column).
    ///
    /// # Errors
    /// As [`DataArray::column`].
    pub fn signal(&self) -> Result<ChannelSource, ReaderError> {
        self.column(0)
    }

    /// Appends the samples of `source` as `<f8` rows, in chunks of
    /// [`DEFAULT_CHUNK_LEN`] samples, one appending PUT each.
    ///
    /// # Errors
    /// The source's read errors, HTTP failures, or
    /// [`ReaderError::Cancelled`].
    pub fn append_source(
        &self,
        source: &dyn Source,
        progress: &dyn Progress,
    ) -> Result<(), ReaderError> {
        if self.dtype() != "<f8" || self.row_width() != 1 {
            return Err(ReaderError::InvalidArgument {
                name: "array",
                value: format!("{} of shape {:?}", self.dtype(), self.shape()),
                reason: "samples are appended to 1-D <f8 arrays only".to_owned(),
            });
        }
        let mut bytes = Vec::with_capacity(DEFAULT_CHUNK_LEN * 8);
        for_each_chunk(source, DEFAULT_CHUNK_LEN, progress, |_, samples| {
            bytes.clear();
            bytes.extend(samples.iter().flat_map(|value| value.to_le_bytes()));
            self.object.append(&bytes).map(|_| ()).map_err(Into::into)
        })?;
        Ok(())
    }

    /// The array with its properties fetched again.
    ///
    /// # Errors
    /// The HTTP failure.
    pub fn refreshed(&self) -> Result<Self, ReaderError> {
        self.document.refreshed()?.into_data_array()
    }
}

/// A Data Notebook: recorded cells.
#[derive(Clone)]
pub struct DataNotebook {
    document: Document,
}

impl DataNotebook {
    /// The properties.
    pub fn properties(&self) -> &Properties {
        &self.document.properties
    }

    /// Records a cell: its code, its result text, `ok` or `error`, and
    /// its duration in seconds (an addition).
    ///
    /// # Errors
    /// The HTTP failure, or [`ReaderError::MissingAddition`].
    pub fn add_line(
        &self,
        code: &str,
        result: &str,
        ok: bool,
        duration: Option<f64>,
    ) -> Result<Value, ReaderError> {
        let url = format!("{}/addDataNotebookLine", self.document.properties.url);
        let mut body =
            json!({"code": code, "result": result, "status": if ok { "ok" } else { "error" }});
        if let Some(duration) = duration {
            body["duration"] = json!(duration);
        }
        self.document
            .session
            .post_json(&url, &body, Some("Data Notebook lines"))
    }

    /// The recorded cells, in order (an addition).
    ///
    /// # Errors
    /// The HTTP failure, or [`ReaderError::MissingAddition`].
    pub fn lines(&self) -> Result<Vec<Value>, ReaderError> {
        let url = format!("{}/getDataNotebookLineList", self.document.properties.url);
        let answer = self
            .document
            .session
            .get_json(&url, Some("Data Notebook lines"))?;
        Ok(answer.as_array().cloned().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_can_be_shared_with_worker_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Portal>();
        shareable::<DataStream>();
        shareable::<DataArray>();
        shareable::<DataNotebook>();
        fn sendable<T: Send>() {}
        sendable::<BigFileReader>();
    }

    #[test]
    fn queries_are_percent_encoded() {
        assert_eq!(
            percent_encode("reference:\"a b\""),
            "reference%3A%22a%20b%22"
        );
    }

    #[test]
    fn properties_keep_extra_numbers_given_as_text() {
        let value = json!({"id": "1", "relative_url": "data_array_module/1", "portal_type": "Data Array",
            "size": 24, "dtype": "<f8", "shape": [3], "sample_rate": "48000"});
        let properties = Properties::from_json("http://127.0.0.1:1/erp5", value);

        assert_eq!(
            properties.url,
            "http://127.0.0.1:1/erp5/data_array_module/1"
        );
        assert_eq!(properties.shape, Some(vec![3]));
        assert_eq!(properties.number("sample_rate"), Some(48000.0));
    }
}
