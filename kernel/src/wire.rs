//! The Jupyter wire format: framing a message into ZeroMQ frames, signing
//! it, and the reverse, checking the signature in constant time before any
//! JSON is parsed (jupyter-protocol.md §1.2, §1.3).
//!
//! This file knows nothing of sockets: it turns frames into a
//! [`Message`] and back. Unknown message types and extra fields pass
//! through untouched, since the content stays a JSON value.

use std::collections::{HashSet, VecDeque};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::Sha256;

use crate::error::{KernelError, Result};

/// The frame that separates routing identities from the message.
pub const DELIMITER: &[u8] = b"<IDS|MSG>";

/// The protocol version this kernel speaks.
pub const PROTOCOL_VERSION: &str = "5.3";

/// How many signatures are remembered to refuse replays, as the reference
/// client does (jupyter-protocol.md §1.3).
const REPLAY_HISTORY: usize = 1 << 16;

/// A message header (jupyter-protocol.md §1.2). Unknown fields are kept.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Header {
    /// Unique id of this message.
    pub msg_id: String,
    /// The sender's session id.
    pub session: String,
    /// The sender's user name.
    #[serde(default)]
    pub username: String,
    /// ISO 8601 time with zone.
    #[serde(default)]
    pub date: String,
    /// The message type, e.g. `execute_request`.
    pub msg_type: String,
    /// Protocol version of the sender.
    #[serde(default)]
    pub version: String,
    /// Fields this kernel does not use (e.g. `subshell_id`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Header {
    /// A fresh header from this kernel, dated now in UTC.
    pub fn new(msg_type: &str, session: &str) -> Self {
        Self {
            msg_id: uuid::Uuid::new_v4().to_string(),
            session: session.to_string(),
            username: "kernel".to_string(),
            date: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            msg_type: msg_type.to_string(),
            version: PROTOCOL_VERSION.to_string(),
            extra: Map::new(),
        }
    }
}

/// One Jupyter message, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Routing identities (ROUTER) or the topic (IOPub).
    pub identities: Vec<Bytes>,
    /// This message's header.
    pub header: Header,
    /// The header of the request this answers, or `{}`.
    pub parent_header: Value,
    /// Free metadata, usually `{}`.
    pub metadata: Value,
    /// The message body.
    pub content: Value,
    /// Raw binary buffers after the JSON frames.
    pub buffers: Vec<Bytes>,
}

impl Message {
    /// A new message of `msg_type` answering `parent` (routed to the same
    /// identities), or without parent.
    pub fn new(msg_type: &str, session: &str, parent: Option<&Message>, content: Value) -> Self {
        let (identities, parent_header) = match parent {
            Some(parent) => (
                parent.identities.clone(),
                serde_json::to_value(&parent.header).unwrap_or_else(|_| json!({})),
            ),
            None => (Vec::new(), json!({})),
        };
        Self {
            identities,
            header: Header::new(msg_type, session),
            parent_header,
            metadata: json!({}),
            content,
            buffers: Vec::new(),
        }
    }

    /// The message type from the header.
    pub fn msg_type(&self) -> &str {
        &self.header.msg_type
    }

    /// A string field of the content, or `""`.
    pub fn content_str(&self, field: &str) -> &str {
        self.content
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// A boolean field of the content, or `default`.
    pub fn content_bool(&self, field: &str, default: bool) -> bool {
        self.content
            .get(field)
            .and_then(Value::as_bool)
            .unwrap_or(default)
    }
}

/// Signs and verifies messages with HMAC-SHA256, and refuses replays.
///
/// An empty key disables signing: signatures are empty and not checked
/// (jupyter-protocol.md §1.3).
#[derive(Clone)]
pub struct Signer {
    key: Option<Vec<u8>>,
    seen: HashSet<Vec<u8>>,
    order: VecDeque<Vec<u8>>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("signing", &self.key.is_some())
            .finish()
    }
}

impl Signer {
    /// A signer for `key`; an empty key means no signing.
    pub fn new(key: &[u8]) -> Self {
        Self {
            key: (!key.is_empty()).then(|| key.to_vec()),
            seen: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    fn mac(&self) -> Option<Hmac<Sha256>> {
        let key = self.key.as_ref()?;
        Hmac::<Sha256>::new_from_slice(key).ok()
    }

    /// The hex signature of the four JSON frames, or `""` without a key.
    pub fn sign(&self, parts: [&[u8]; 4]) -> String {
        match self.mac() {
            Some(mut mac) => {
                parts.iter().for_each(|part| mac.update(part));
                hex::encode(mac.finalize().into_bytes())
            }
            None => String::new(),
        }
    }

    /// Checks `signature` over the four frames in constant time, then
    /// records it so that the same signature is refused next time.
    ///
    /// # Errors
    /// [`KernelError::Unsigned`], [`KernelError::BadSignature`] or
    /// [`KernelError::Replayed`].
    pub fn verify(&mut self, signature: &[u8], parts: [&[u8]; 4]) -> Result<()> {
        let Some(mut mac) = self.mac() else {
            return Ok(());
        };
        if signature.is_empty() {
            return Err(KernelError::Unsigned);
        }
        let shown = || String::from_utf8_lossy(&signature[..signature.len().min(80)]).into_owned();
        let Ok(digest) = hex::decode(signature) else {
            return Err(KernelError::BadSignature { signature: shown() });
        };

        parts.iter().for_each(|part| mac.update(part));
        if mac.verify_slice(&digest).is_err() {
            return Err(KernelError::BadSignature { signature: shown() });
        }

        self.remember(digest)
            .map_err(|()| KernelError::Replayed { signature: shown() })
    }

    fn remember(&mut self, digest: Vec<u8>) -> std::result::Result<(), ()> {
        if !self.seen.insert(digest.clone()) {
            return Err(());
        }
        self.order.push_back(digest);
        if self.order.len() > REPLAY_HISTORY
            && let Some(oldest) = self.order.pop_front()
        {
            self.seen.remove(&oldest);
        }
        Ok(())
    }
}

/// Decodes frames into a message: finds the delimiter, checks the
/// signature, then parses the JSON frames. Never panics on any input.
///
/// # Errors
/// [`KernelError::NoDelimiter`], [`KernelError::Truncated`], a signature
/// error from [`Signer::verify`], or [`KernelError::MalformedJson`].
pub fn decode(frames: &[Bytes], signer: &mut Signer) -> Result<Message> {
    let Some(split) = frames.iter().position(|f| f.as_ref() == DELIMITER) else {
        return Err(KernelError::NoDelimiter {
            frames: frames.len(),
        });
    };
    let rest = &frames[split + 1..];
    if rest.len() < 5 {
        return Err(KernelError::Truncated {
            after_delimiter: rest.len(),
        });
    }

    let parts = [&rest[1][..], &rest[2][..], &rest[3][..], &rest[4][..]];
    signer.verify(&rest[0], parts)?;

    Ok(Message {
        identities: frames[..split].to_vec(),
        header: parse_frame("header", &rest[1])?,
        parent_header: parse_frame("parent_header", &rest[2])?,
        metadata: parse_frame("metadata", &rest[3])?,
        content: parse_frame("content", &rest[4])?,
        buffers: rest[5..].to_vec(),
    })
}

fn parse_frame<T: serde::de::DeserializeOwned>(frame: &'static str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|source| KernelError::MalformedJson { frame, source })
}

/// Encodes a message into frames, signed: identities, delimiter,
/// signature, the four JSON frames, buffers.
pub fn encode(message: &Message, signer: &Signer) -> Vec<Bytes> {
    let json = |value: &Value| Bytes::from(serde_json::to_vec(value).unwrap_or_default());
    let header = Bytes::from(serde_json::to_vec(&message.header).unwrap_or_default());
    let parent = json(&message.parent_header);
    let metadata = json(&message.metadata);
    let content = json(&message.content);
    let signature = signer.sign([&header, &parent, &metadata, &content]);

    let mut frames = message.identities.clone();
    frames.push(Bytes::from_static(DELIMITER));
    frames.push(Bytes::from(signature));
    frames.extend([header, parent, metadata, content]);
    frames.extend(message.buffers.iter().cloned());
    frames
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Message {
        let mut message = Message::new("execute_request", "s1", None, json!({"code": "1 + 1"}));
        message.identities = vec![Bytes::from_static(b"client-1")];
        message
    }

    fn flip_last_hex_digit(frames: &mut [Bytes], index: usize) {
        let mut signature = frames[index].to_vec();
        let last = signature.len() - 1;
        signature[last] = if signature[last] == b'0' { b'1' } else { b'0' };
        frames[index] = Bytes::from(signature);
    }

    #[test]
    fn signed_message_round_trips() {
        let signer = Signer::new(b"secret");
        let frames = encode(&sample(), &signer);

        let decoded = decode(&frames, &mut signer.clone()).unwrap();
        assert_eq!(decoded, sample_with_header(&decoded));
        assert_eq!(decoded.identities, vec![Bytes::from_static(b"client-1")]);
        assert_eq!(decoded.content_str("code"), "1 + 1");
    }

    fn sample_with_header(decoded: &Message) -> Message {
        let mut expected = sample();
        expected.header = decoded.header.clone();
        expected
    }

    #[test]
    fn signature_is_hmac_sha256_of_the_four_frames() {
        // Oracle: RFC 4231 test case 2 (key "Jefe"), split across frames.
        let signer = Signer::new(b"Jefe");
        let signature = signer.sign([b"what do ya ", b"want ", b"for ", b"nothing?"]);
        assert_eq!(
            signature,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn bad_signature_is_refused() {
        let signer = Signer::new(b"secret");
        let mut frames = encode(&sample(), &signer);
        flip_last_hex_digit(&mut frames, 2);

        let error = decode(&frames, &mut signer.clone()).unwrap_err();
        assert!(matches!(error, KernelError::BadSignature { .. }), "{error}");
    }

    #[test]
    fn message_signed_with_another_key_is_refused() {
        let frames = encode(&sample(), &Signer::new(b"other"));
        let error = decode(&frames, &mut Signer::new(b"secret")).unwrap_err();
        assert!(matches!(error, KernelError::BadSignature { .. }));
    }

    #[test]
    fn non_hex_signature_is_refused() {
        let signer = Signer::new(b"secret");
        let mut frames = encode(&sample(), &signer);
        frames[2] = Bytes::from_static(b"zz-not-hex");
        assert!(matches!(
            decode(&frames, &mut signer.clone()),
            Err(KernelError::BadSignature { .. })
        ));
    }

    #[test]
    fn unsigned_message_is_refused_when_a_key_is_set() {
        let frames = encode(&sample(), &Signer::new(b""));
        assert!(frames[2].is_empty());
        assert!(matches!(
            decode(&frames, &mut Signer::new(b"secret")),
            Err(KernelError::Unsigned)
        ));
    }

    #[test]
    fn empty_key_accepts_unsigned_messages() {
        let mut signer = Signer::new(b"");
        let frames = encode(&sample(), &signer);
        assert!(decode(&frames, &mut signer).is_ok());
        assert!(
            decode(&frames, &mut signer).is_ok(),
            "no replay check without a key"
        );
    }

    #[test]
    fn replayed_message_is_refused() {
        let mut signer = Signer::new(b"secret");
        let frames = encode(&sample(), &signer);
        assert!(decode(&frames, &mut signer).is_ok());
        assert!(matches!(
            decode(&frames, &mut signer),
            Err(KernelError::Replayed { .. })
        ));
    }

    #[test]
    fn truncated_message_is_refused() {
        let signer = Signer::new(b"secret");
        let frames = encode(&sample(), &signer);
        for keep in 0..frames.len() - 1 {
            let result = decode(&frames[..keep], &mut signer.clone());
            assert!(
                matches!(
                    result,
                    Err(KernelError::NoDelimiter { .. } | KernelError::Truncated { .. })
                ),
                "{keep} frames: {result:?}"
            );
        }
    }

    #[test]
    fn malformed_json_is_refused_after_a_good_signature() {
        let signer = Signer::new(b"secret");
        let content = b"{not json";
        let header = serde_json::to_vec(&Header::new("x", "s")).unwrap();
        let signature = signer.sign([&header, b"{}", b"{}", content]);
        let frames: Vec<Bytes> = vec![
            Bytes::from_static(DELIMITER),
            Bytes::from(signature),
            Bytes::from(header),
            Bytes::from_static(b"{}"),
            Bytes::from_static(b"{}"),
            Bytes::from_static(content),
        ];
        assert!(matches!(
            decode(&frames, &mut signer.clone()),
            Err(KernelError::MalformedJson {
                frame: "content",
                ..
            })
        ));
    }

    #[test]
    fn unknown_header_fields_are_kept() {
        let signer = Signer::new(b"k");
        let mut message = sample();
        message
            .header
            .extra
            .insert("subshell_id".into(), json!("abc"));
        let decoded = decode(&encode(&message, &signer), &mut signer.clone()).unwrap();
        assert_eq!(decoded.header.extra["subshell_id"], json!("abc"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_frames_never_panic(
            frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..10),
            delimiter_at in proptest::option::of(0usize..10),
            keyed in any::<bool>(),
        ) {
            let mut frames: Vec<Bytes> = frames.into_iter().map(Bytes::from).collect();
            if let Some(at) = delimiter_at {
                frames.insert(at.min(frames.len()), Bytes::from_static(DELIMITER));
            }
            let mut signer = Signer::new(if keyed { b"key".as_slice() } else { b"".as_slice() });
            let _ = decode(&frames, &mut signer);
        }

        #[test]
        fn corrupting_any_signed_byte_is_detected(index in 0usize..4, position in any::<usize>()) {
            let mut signer = Signer::new(b"secret");
            let mut frames = encode(&sample(), &signer);
            let frame = &mut frames[3 + index];
            let mut bytes = frame.to_vec();
            let at = position % bytes.len();
            bytes[at] ^= 0x20;
            *frame = Bytes::from(bytes);
            prop_assert!(decode(&frames, &mut signer).is_err());
        }
    }
}
