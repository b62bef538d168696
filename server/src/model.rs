//! The portal's modules, its documents as the catalog stores them, and the
//! property dict every JSON answer is built from.
//!
//! Modules and portal types follow ERP5's names (ARCHITECTURE.md, "The
//! object server"; wendelin-protocol.md §3 to §6). References are checked
//! here: they are catalog values only and never become paths, but one
//! holding `..` segments, NUL or control characters is refused all the same
//! (`docs/http-contract.md`, "Errors").

use serde_json::{Map, Value, json};

use crate::error::{Result, ServerError};

/// Longest accepted reference or title, in bytes.
pub const MAX_TEXT: usize = 4096;

/// A module of the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Module {
    DataStreams,
    DataArrays,
    Images,
    DataNotebooks,
    IngestionPolicies,
}

impl Module {
    /// Every module, in the order the portal lists them.
    pub const ALL: [Module; 5] = [
        Module::DataStreams,
        Module::DataArrays,
        Module::Images,
        Module::DataNotebooks,
        Module::IngestionPolicies,
    ];

    /// The module's id in URLs and relative URLs.
    pub fn id(self) -> &'static str {
        match self {
            Self::DataStreams => "data_stream_module",
            Self::DataArrays => "data_array_module",
            Self::Images => "image_module",
            Self::DataNotebooks => "data_notebook_module",
            Self::IngestionPolicies => "portal_ingestion_policies",
        }
    }

    /// The module's own portal type.
    pub fn portal_type(self) -> &'static str {
        match self {
            Self::DataStreams => "Data Stream Module",
            Self::DataArrays => "Data Array Module",
            Self::Images => "Image Module",
            Self::DataNotebooks => "Data Notebook Module",
            Self::IngestionPolicies => "Ingestion Policy Tool",
        }
    }

    /// The portal type of the documents it holds.
    pub fn document_type(self) -> &'static str {
        match self {
            Self::DataStreams => "Data Stream",
            Self::DataArrays => "Data Array",
            Self::Images => "Image",
            Self::DataNotebooks => "Data Notebook",
            Self::IngestionPolicies => "Ingestion Policy",
        }
    }

    /// The content type of a new document.
    pub fn default_content_type(self) -> &'static str {
        match self {
            Self::DataNotebooks => "application/x-ipynb+json",
            Self::IngestionPolicies => "application/json",
            _ => "application/octet-stream",
        }
    }

    /// Whether its documents hold bytes (a blob file).
    pub fn holds_bytes(self) -> bool {
        self != Self::IngestionPolicies
    }

    /// The module of this URL id.
    pub fn from_id(id: &str) -> Option<Module> {
        Self::ALL.into_iter().find(|module| module.id() == id)
    }
}

/// A document as the catalog holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Internal integer key; names the blob file.
    pub key: i64,
    pub module: Module,
    pub id: String,
    pub portal_type: String,
    pub reference: String,
    pub title: String,
    pub content_type: String,
    /// Data Arrays: `descr` of the dtype.
    pub dtype: Option<String>,
    /// Data Arrays: every dimension but the first.
    pub trailing_shape: Option<Vec<u64>>,
    /// Extra properties (sample rate, units, policy settings...).
    pub properties: Map<String, Value>,
    /// Committed bytes, as the catalog has them.
    pub size: u64,
    /// Blob file generation (a replace writes a new one).
    pub generation: i64,
    pub creation_date: String,
    pub modification_date: String,
}

impl Document {
    /// `<module>/<id>`.
    pub fn relative_url(&self) -> String {
        format!("{}/{}", self.module.id(), self.id)
    }

    /// Bytes of one row of a Data Array.
    pub fn row_bytes(&self) -> Option<u64> {
        let dtype = crate::dtype::parse_dtype(self.dtype.as_deref()?).ok()?;
        crate::dtype::row_bytes(dtype, self.trailing_shape.as_deref()?).ok()
    }

    /// The full shape of a Data Array holding `size` bytes.
    pub fn shape(&self, size: u64) -> Option<Vec<u64>> {
        let rows = size / self.row_bytes()?;
        let mut shape = vec![rows];
        shape.extend(self.trailing_shape.as_deref()?);
        Some(shape)
    }

    /// Every property, as JSON, with `size` the committed size a reader
    /// sees now (`docs/http-contract.md`, "Property dict").
    pub fn property_dict(&self, size: u64) -> Value {
        let mut dict = self.properties.clone();
        let core = json!({
            "id": self.id,
            "relative_url": self.relative_url(),
            "portal_type": self.portal_type,
            "reference": self.reference,
            "title": self.title,
            "content_type": self.content_type,
            "size": size,
            "creation_date": self.creation_date,
            "modification_date": self.modification_date,
        });
        if let Value::Object(core) = core {
            dict.extend(core);
        }
        if let (Some(dtype), Some(shape)) = (&self.dtype, self.shape(size)) {
            let itemsize = crate::dtype::parse_dtype(dtype).map_or(0, |d| d.itemsize);
            dict.insert("dtype".into(), json!(dtype));
            dict.insert("shape".into(), json!(shape));
            dict.insert("itemsize".into(), json!(itemsize));
        }
        Value::Object(dict)
    }
}

/// Checks a reference (or a tag segment used as one).
///
/// # Errors
///
/// Empty, longer than [`MAX_TEXT`], holding NUL or control characters, or
/// holding a `..` path segment.
pub fn check_reference(reference: &str) -> Result<()> {
    let refuse = |reason| ServerError::BadReference {
        reference: reference.chars().take(200).collect(),
        reason,
    };
    if reference.is_empty() {
        return Err(refuse("it is empty"));
    }
    if reference.len() > MAX_TEXT {
        return Err(refuse("it is longer than 4096 bytes"));
    }
    if reference.contains('\0') {
        return Err(refuse("it holds a NUL byte"));
    }
    if reference.chars().any(char::is_control) {
        return Err(refuse("it holds control characters"));
    }
    if reference.split(['/', '\\']).any(|segment| segment == "..") {
        return Err(refuse("it holds a '..' path segment"));
    }
    Ok(())
}

/// Checks a title.
///
/// # Errors
///
/// Longer than [`MAX_TEXT`] or holding NUL.
pub fn check_title(title: &str) -> Result<()> {
    if title.len() > MAX_TEXT || title.contains('\0') {
        return Err(ServerError::field(
            "title",
            title.chars().take(200).collect::<String>(),
            "titles hold at most 4096 bytes and no NUL",
        ));
    }
    Ok(())
}

/// Now, as RFC 3339 UTC text.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_ids_round_trip() {
        for module in Module::ALL {
            assert_eq!(Module::from_id(module.id()), Some(module));
        }
        assert_eq!(Module::from_id("person_module"), None);
    }

    #[test]
    fn dot_dot_references_are_refused() {
        assert!(check_reference("../etc/passwd").is_err());
        assert!(check_reference("a/../b").is_err());
        assert!(check_reference("..").is_err());
        assert!(check_reference("a\\..\\b").is_err());
    }

    #[test]
    fn nul_and_control_characters_are_refused() {
        assert!(check_reference("a\0b").is_err());
        assert!(check_reference("a\nb").is_err());
    }

    #[test]
    fn ordinary_references_pass() {
        assert!(check_reference("pydata").is_ok());
        assert!(check_reference("sensor.audio..v2").is_ok());
        assert!(check_reference("r\u{e9}f\u{e9}rence 1").is_ok());
    }
}
