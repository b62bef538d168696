//! How values show in a notebook: the [`MimeBundle`] a value becomes, the
//! [`Displayable`] trait custom types implement, and the
//! [`DisplayRegistry`] that finds the bundle of any Rhai value.
//!
//! Every bundle has `text/plain`; richer types are added where they help
//! (`text/html` tables for maps and short arrays, `application/json` for
//! plain data, `image/png` for images). Rendering to bytes (PNG encoding,
//! plots) belongs to the toolkits; this file only carries the result.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use rhai::Dynamic;
use serde_json::{Map, Value, json};

/// Arrays longer than this show only their head and length.
const SHOWN_ITEMS: usize = 20;

/// The data and metadata of one display (jupyter-protocol.md §1.7).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MimeBundle {
    /// Mime type to content: strings, or JSON for `application/json`.
    pub data: Map<String, Value>,
    /// Per-mime metadata (e.g. image width); `{}` when empty.
    pub metadata: Map<String, Value>,
}

impl MimeBundle {
    /// A bundle with only `text/plain`.
    pub fn text(text: impl Into<String>) -> Self {
        let mut bundle = Self::default();
        bundle
            .data
            .insert("text/plain".into(), Value::String(text.into()));
        bundle
    }

    /// Adds `text/html`.
    pub fn with_html(mut self, html: impl Into<String>) -> Self {
        self.data
            .insert("text/html".into(), Value::String(html.into()));
        self
    }

    /// Adds `application/json` (a JSON value, not a string).
    pub fn with_json(mut self, value: Value) -> Self {
        self.data.insert("application/json".into(), value);
        self
    }

    /// Adds `image/png` from the encoded PNG bytes, with their pixel size.
    pub fn with_png(mut self, png: &[u8], width: u32, height: u32) -> Self {
        let encoded = base64::engine::general_purpose::STANDARD.encode(png);
        self.data.insert("image/png".into(), Value::String(encoded));
        self.metadata.insert(
            "image/png".into(),
            json!({"width": width, "height": height}),
        );
        self
    }

    /// The `text/plain` form.
    pub fn plain(&self) -> &str {
        self.data
            .get("text/plain")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

/// A type that knows how it shows in a notebook. Toolkit types implement
/// this and register through [`crate::toolkit::Registrar::register_type`].
pub trait Displayable: Send + Sync + 'static {
    /// The bundle shown when the value ends a cell or is passed to
    /// `display`. Must include `text/plain`.
    fn mime_bundle(&self) -> MimeBundle;
}

type Renderer = Arc<dyn Fn(&Dynamic) -> Option<MimeBundle> + Send + Sync>;

/// Finds the bundle of any value: custom types by their registered
/// renderer, Rhai's own types by the rules of this file.
#[derive(Clone, Default)]
pub struct DisplayRegistry {
    renderers: HashMap<TypeId, Renderer>,
}

impl std::fmt::Debug for DisplayRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DisplayRegistry")
            .field("types", &self.renderers.len())
            .finish()
    }
}

impl DisplayRegistry {
    /// Registers the display of a custom type held in a `Dynamic`.
    pub fn register<T: Displayable + Clone>(&mut self) {
        let renderer: Renderer =
            Arc::new(|value: &Dynamic| value.read_lock::<T>().map(|v| v.mime_bundle()));
        self.renderers.insert(TypeId::of::<T>(), renderer);
    }

    /// The bundle of `value`, or `None` for unit (nothing to show).
    pub fn bundle(&self, value: &Dynamic) -> Option<MimeBundle> {
        if value.is_unit() {
            return None;
        }
        if let Some(renderer) = self.renderers.get(&value.type_id())
            && let Some(bundle) = renderer(value)
        {
            return Some(bundle);
        }
        Some(builtin_bundle(value))
    }
}

fn builtin_bundle(value: &Dynamic) -> MimeBundle {
    if let Some(array) = value.read_lock::<rhai::Array>() {
        return array_bundle(&array);
    }
    if let Some(map) = value.read_lock::<rhai::Map>() {
        return map_bundle(&map);
    }
    if let Some(blob) = value.read_lock::<rhai::Blob>() {
        return MimeBundle::text(format!("<blob: {} bytes>", blob.len()));
    }
    if value.is_string() {
        return MimeBundle::text(format!("{value:?}"));
    }
    MimeBundle::text(value.to_string())
}

fn array_bundle(array: &rhai::Array) -> MimeBundle {
    let shown: Vec<String> = array.iter().take(SHOWN_ITEMS).map(short_repr).collect();
    let text = if array.len() > SHOWN_ITEMS {
        format!("[{}, … ({} items)]", shown.join(", "), array.len())
    } else {
        format!("[{}]", shown.join(", "))
    };
    let bundle = MimeBundle::text(text);
    match (array.len() <= 10_000)
        .then(|| to_json(&Dynamic::from_array(array.clone())))
        .flatten()
    {
        Some(json) => bundle.with_json(json),
        None => bundle,
    }
}

fn map_bundle(map: &rhai::Map) -> MimeBundle {
    let entries: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{k}: {}", short_repr(v)))
        .collect();
    let mut html = String::from("<table><tr><th>key</th><th>value</th></tr>");
    for (key, value) in map.iter().take(200) {
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td></tr>",
            escape_html(key),
            escape_html(&short_repr(value))
        ));
    }
    html.push_str("</table>");
    let bundle = MimeBundle::text(format!("#{{{}}}", entries.join(", "))).with_html(html);
    match to_json(&Dynamic::from_map(map.clone())) {
        Some(json) => bundle.with_json(json),
        None => bundle,
    }
}

fn short_repr(value: &Dynamic) -> String {
    if value.is_string() {
        format!("{value:?}")
    } else {
        value.to_string()
    }
}

/// Escapes `<`, `>`, `&` and quotes for HTML text.
pub fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The JSON form of plain data (unit, bools, numbers, strings, arrays and
/// maps of them), or `None` for anything else.
pub fn to_json(value: &Dynamic) -> Option<Value> {
    if value.is_unit() {
        return Some(Value::Null);
    }
    if let Ok(b) = value.as_bool() {
        return Some(Value::Bool(b));
    }
    if let Ok(i) = value.as_int() {
        return Some(json!(i));
    }
    if let Ok(f) = value.as_float() {
        return serde_json::Number::from_f64(f).map(Value::Number);
    }
    if value.is_string() {
        return Some(Value::String(value.to_string()));
    }
    if let Some(array) = value.read_lock::<rhai::Array>() {
        return array
            .iter()
            .map(to_json)
            .collect::<Option<Vec<_>>>()
            .map(Value::Array);
    }
    if let Some(map) = value.read_lock::<rhai::Map>() {
        let entries = map.iter().map(|(k, v)| Some((k.to_string(), to_json(v)?)));
        return entries.collect::<Option<Map<_, _>>>().map(Value::Object);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone)]
    struct Celsius(f64);

    impl Displayable for Celsius {
        fn mime_bundle(&self) -> MimeBundle {
            MimeBundle::text(format!("{} °C", self.0)).with_html("<b>warm</b>")
        }
    }

    #[test]
    fn unit_shows_nothing() {
        assert_eq!(DisplayRegistry::default().bundle(&Dynamic::UNIT), None);
    }

    #[test]
    fn strings_show_quoted_and_numbers_plain() {
        let registry = DisplayRegistry::default();
        assert_eq!(
            registry.bundle(&Dynamic::from("hi")).unwrap().plain(),
            "\"hi\""
        );
        assert_eq!(
            registry.bundle(&Dynamic::from(42_i64)).unwrap().plain(),
            "42"
        );
    }

    #[test]
    fn maps_carry_json_and_html() {
        let mut map = rhai::Map::new();
        map.insert("a".into(), Dynamic::from(1_i64));
        let bundle = DisplayRegistry::default()
            .bundle(&Dynamic::from_map(map))
            .unwrap();
        assert_eq!(bundle.data["application/json"], json!({"a": 1}));
        assert!(
            bundle.data["text/html"]
                .as_str()
                .unwrap()
                .contains("<td>a</td>")
        );
    }

    #[test]
    fn long_arrays_show_their_length() {
        let array: rhai::Array = (0..100_i64).map(Dynamic::from).collect();
        let bundle = DisplayRegistry::default()
            .bundle(&Dynamic::from_array(array))
            .unwrap();
        assert!(
            bundle.plain().ends_with("(100 items)]"),
            "{}",
            bundle.plain()
        );
        assert_eq!(bundle.data["application/json"][99], json!(99));
    }

    #[test]
    fn registered_type_uses_its_own_bundle() {
        let mut registry = DisplayRegistry::default();
        registry.register::<Celsius>();
        let bundle = registry.bundle(&Dynamic::from(Celsius(21.5))).unwrap();
        assert_eq!(bundle.plain(), "21.5 °C");
        assert!(bundle.data.contains_key("text/html"));
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape_html("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
    }
}
