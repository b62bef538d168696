//! Image content types detected from the data, as ERP5 does for Image
//! documents (wendelin-protocol.md §5: "the content type comes from the
//! data, not the filename"). Only the first bytes are looked at.

/// How many leading bytes [`detect`] needs at most.
pub const SNIFF_BYTES: usize = 1024;

/// The image content type of data starting with `head`, or
/// `application/octet-stream` when it is no image we know.
pub fn detect(head: &[u8]) -> &'static str {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"BM", "image/bmp"),
        (b"II*\0", "image/tiff"),
        (b"MM\0*", "image/tiff"),
        (b"\0\0\x01\0", "image/x-icon"),
    ];
    if let Some((_, kind)) = MAGIC.iter().find(|(magic, _)| head.starts_with(magic)) {
        return kind;
    }
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return "image/webp";
    }
    if is_svg(head) {
        return "image/svg+xml";
    }
    "application/octet-stream"
}

/// SVG: text whose first element (after an XML declaration, comments or a
/// doctype) is `<svg`.
fn is_svg(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&head[..head.len().min(SNIFF_BYTES)]);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if !text.starts_with('<') {
        return false;
    }
    text.find("<svg").is_some_and(|at| {
        // everything before it must be prolog: declarations and comments
        let prolog = &text[..at];
        !prolog.contains("<html") && !prolog.contains("<body")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_signature_is_png() {
        assert_eq!(detect(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "image/png");
    }

    #[test]
    fn jpeg_and_gif_are_recognised() {
        assert_eq!(detect(b"\xff\xd8\xff\xe0\0\x10JFIF"), "image/jpeg");
        assert_eq!(detect(b"GIF89a\x01\0"), "image/gif");
    }

    #[test]
    fn svg_after_an_xml_declaration_is_svg() {
        let svg =
            b"<?xml version=\"1.0\"?>\n<!-- plot -->\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>";

        assert_eq!(detect(svg), "image/svg+xml");
    }

    #[test]
    fn text_is_not_an_image() {
        assert_eq!(detect(b"hello"), "application/octet-stream");
        assert_eq!(detect(b""), "application/octet-stream");
    }
}
