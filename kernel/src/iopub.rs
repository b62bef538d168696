//! The IOPub publisher: a small ZMTP 3.0 XPUB of our own, with one bounded
//! queue per subscriber.
//!
//! Why not the `zeromq` crate's XPUB: measured in jupyter-protocol.md §7,
//! its `send` waits for the whole TCP write to every subscriber in turn, so
//! one frontend that stops reading wedges the kernel for every other, and
//! it has no high-water mark. Here each subscriber has its own writer task
//! and queue. The publisher waits (pacing the producer, so a slow reader
//! loses nothing) while a queue is over [`HIGH_WATER`], but only for
//! [`STALL_TIMEOUT`] without progress; then that subscriber is marked
//! lagging and loses messages until it drains below [`LOW_WATER`]. The
//! others are served throughout.
//!
//! Wire facts used (ZMTP 3.0, rfc.zeromq.org/spec/23, NULL mechanism): a
//! 64-byte greeting each way, a READY command with `Socket-Type`, then
//! frames of a flags byte (MORE 1, LONG 2, COMMAND 4) and a 1- or 8-byte
//! size. Subscriptions arrive as one-frame messages `\x01topic` (or as
//! SUBSCRIBE commands from ZMTP 3.1 peers); each one gets an
//! `iopub_welcome` (jupyter-protocol.md §1.11) from the caller's callback.
//! Shell, control, stdin and heartbeat keep using the `zeromq` crate.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::Notify;

use crate::error::{KernelError, Result};

/// Queued bytes over which the publisher waits for a subscriber.
pub const HIGH_WATER: usize = 8 << 20;

/// Queued bytes under which a lagging subscriber is served again.
pub const LOW_WATER: usize = 2 << 20;

/// How long the publisher waits for a full subscriber to make progress.
pub const STALL_TIMEOUT: Duration = Duration::from_millis(1500);

/// Largest frame accepted from a subscriber (subscriptions are tiny).
const MAX_INCOMING_FRAME: u64 = 64 << 10;

/// Builds the frames of an `iopub_welcome` for a subscription topic.
pub type WelcomeBuilder = Arc<dyn Fn(&[u8]) -> Vec<Bytes> + Send + Sync>;

type Frames = Arc<Vec<Bytes>>;

struct Subscriber {
    id: u64,
    topics: Mutex<Vec<Vec<u8>>>,
    queue: Mutex<VecDeque<Frames>>,
    queued_bytes: AtomicUsize,
    wake_writer: Notify,
    progress: Notify,
    lagging: AtomicBool,
    closed: AtomicBool,
    dropped: AtomicU64,
}

impl Subscriber {
    fn new(id: u64) -> Self {
        Self {
            id,
            topics: Mutex::new(Vec::new()),
            queue: Mutex::new(VecDeque::new()),
            queued_bytes: AtomicUsize::new(0),
            wake_writer: Notify::new(),
            progress: Notify::new(),
            lagging: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        }
    }

    fn wants(&self, topic: &[u8]) -> bool {
        let topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        topics.iter().any(|t| topic.starts_with(t))
    }

    fn push(&self, frames: Frames) {
        let size = frames.iter().map(Bytes::len).sum::<usize>();
        self.queued_bytes.fetch_add(size, Ordering::SeqCst);
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(frames);
        self.wake_writer.notify_one();
    }

    fn pop(&self) -> Option<Frames> {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
    }

    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.wake_writer.notify_one();
        self.progress.notify_waiters();
    }
}

/// The IOPub socket: bound once, publishes to every subscriber.
#[derive(Clone)]
pub struct Publisher {
    subscribers: Arc<Mutex<Vec<Arc<Subscriber>>>>,
    next_id: Arc<AtomicU64>,
    welcome: WelcomeBuilder,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").finish_non_exhaustive()
    }
}

impl Publisher {
    /// Binds `endpoint` (`tcp://ip:port` or `ipc://path`) and starts
    /// accepting subscribers on the current tokio runtime.
    ///
    /// # Errors
    /// [`KernelError::Bind`] when the address cannot be bound.
    pub async fn bind(endpoint: &str, welcome: WelcomeBuilder) -> Result<Self> {
        let publisher = Self {
            subscribers: Arc::new(Mutex::new(Vec::new())),
            next_id: Arc::new(AtomicU64::new(1)),
            welcome,
        };
        let bind_error = |e: std::io::Error| KernelError::Bind {
            endpoint: endpoint.to_string(),
            reason: e.to_string(),
        };

        if let Some(address) = endpoint.strip_prefix("tcp://") {
            let address = address.replace(['[', ']'], "");
            let address = match address.rsplit_once(':') {
                Some((host, port)) if host.contains(':') => format!("[{host}]:{port}"),
                _ => address,
            };
            let listener = tokio::net::TcpListener::bind(&address)
                .await
                .map_err(bind_error)?;
            let accepting = publisher.clone();
            tokio::spawn(async move { accepting.accept_tcp(listener).await });
        } else if let Some(path) = endpoint.strip_prefix("ipc://") {
            let _ = std::fs::remove_file(path);
            let listener = tokio::net::UnixListener::bind(path).map_err(bind_error)?;
            let accepting = publisher.clone();
            tokio::spawn(async move { accepting.accept_ipc(listener).await });
        } else {
            return Err(KernelError::Bind {
                endpoint: endpoint.to_string(),
                reason: "unknown transport".to_string(),
            });
        }
        Ok(publisher)
    }

    async fn accept_tcp(self, listener: tokio::net::TcpListener) {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    tracing::debug!(%peer, "iopub subscriber connected");
                    self.start_subscriber(stream);
                }
                Err(error) => {
                    tracing::warn!(%error, "iopub accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    async fn accept_ipc(self, listener: tokio::net::UnixListener) {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => self.start_subscriber(stream),
                Err(error) => {
                    tracing::warn!(%error, "iopub accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn start_subscriber<S>(&self, stream: S)
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let subscriber = Arc::new(Subscriber::new(self.next_id.fetch_add(1, Ordering::SeqCst)));
        let publisher = self.clone();
        tokio::spawn(async move {
            let id = subscriber.id;
            if let Err(error) = publisher.serve(stream, subscriber.clone()).await {
                tracing::debug!(id, %error, "iopub subscriber ended");
            }
            subscriber.close();
            publisher.forget(id);
        });
    }

    fn forget(&self, id: u64) {
        let mut subscribers = self.subscribers.lock().unwrap_or_else(|e| e.into_inner());
        subscribers.retain(|s| s.id != id);
    }

    async fn serve<S>(&self, stream: S, subscriber: Arc<Subscriber>) -> std::io::Result<()>
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let (mut reader, mut writer) = tokio::io::split(stream);

        // handshake: greeting both ways, then READY both ways
        writer.write_all(&greeting()).await?;
        writer.write_all(&ready_command()).await?;
        writer.flush().await?;
        let mut peer_greeting = [0u8; 64];
        reader.read_exact(&mut peer_greeting).await?;
        check_greeting(&peer_greeting)?;
        let (flags, _ready) = read_frame(&mut reader).await?;
        if flags & FLAG_COMMAND == 0 {
            return Err(invalid("peer did not send READY"));
        }

        // from here on the subscriber receives published messages
        self.subscribers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(subscriber.clone());
        let writing = subscriber.clone();
        let writer_task = tokio::spawn(async move { write_loop(writer, writing).await });

        let result = self.read_loop(&mut reader, &subscriber).await;
        writer_task.abort();
        result
    }

    async fn read_loop<R: AsyncRead + Unpin>(
        &self,
        reader: &mut R,
        subscriber: &Subscriber,
    ) -> std::io::Result<()> {
        loop {
            let (flags, body) = read_frame(reader).await?;
            let subscription = match subscription_of(flags, &body) {
                Some(subscription) => subscription,
                None => continue,
            };
            let (subscribe, topic) = subscription;
            let mut topics = subscriber.topics.lock().unwrap_or_else(|e| e.into_inner());
            if subscribe {
                topics.push(topic.to_vec());
                drop(topics);
                tracing::debug!(id = subscriber.id, "iopub subscription, sending welcome");
                subscriber.push(Arc::new((self.welcome)(topic)));
            } else if let Some(at) = topics.iter().position(|t| t == topic) {
                topics.remove(at);
            }
        }
    }

    /// Publishes one message (its first frame is the topic) to every
    /// subscriber whose subscription matches, waiting for full queues as
    /// the module documentation says.
    pub async fn publish(&self, frames: Vec<Bytes>) {
        let topic = frames.first().cloned().unwrap_or_default();
        let frames: Frames = Arc::new(frames);
        let subscribers = self
            .subscribers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();

        for subscriber in subscribers {
            if subscriber.closed.load(Ordering::SeqCst) || !subscriber.wants(&topic) {
                continue;
            }
            if has_room(&subscriber).await {
                subscriber.push(frames.clone());
            } else {
                subscriber.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// How many subscribers are connected.
    pub fn subscriber_count(&self) -> usize {
        self.subscribers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Waits until every queue is written out or `limit` passes.
    pub async fn drain(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < deadline {
            let subscribers = self
                .subscribers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            let busy = subscribers.iter().any(|s| {
                !s.lagging.load(Ordering::SeqCst) && s.queued_bytes.load(Ordering::SeqCst) > 0
            });
            if !busy {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// True when the subscriber can take one more message, after waiting for
/// it to make progress if its queue is full.
async fn has_room(subscriber: &Subscriber) -> bool {
    let queued = || subscriber.queued_bytes.load(Ordering::SeqCst);
    if subscriber.lagging.load(Ordering::SeqCst) {
        if queued() > LOW_WATER {
            return false;
        }
        tracing::info!(id = subscriber.id, "iopub subscriber caught up");
        subscriber.lagging.store(false, Ordering::SeqCst);
    }

    while queued() > HIGH_WATER && !subscriber.closed.load(Ordering::SeqCst) {
        let progressed = subscriber.progress.notified();
        tokio::pin!(progressed);
        progressed.as_mut().enable();
        if queued() <= HIGH_WATER {
            break;
        }
        if tokio::time::timeout(STALL_TIMEOUT, progressed)
            .await
            .is_err()
        {
            tracing::warn!(
                id = subscriber.id,
                queued = queued(),
                "iopub subscriber stalled; dropping its messages"
            );
            subscriber.lagging.store(true, Ordering::SeqCst);
            return false;
        }
    }
    true
}

async fn write_loop<W: AsyncWrite + Unpin>(writer: W, subscriber: Arc<Subscriber>) {
    let mut writer = BufWriter::with_capacity(256 << 10, writer);
    loop {
        let woken = subscriber.wake_writer.notified();
        while let Some(frames) = subscriber.pop() {
            if write_message(&mut writer, &frames).await.is_err() {
                subscriber.close();
                return;
            }
            let size = frames.iter().map(Bytes::len).sum::<usize>();
            subscriber.queued_bytes.fetch_sub(size, Ordering::SeqCst);
            subscriber.progress.notify_waiters();
        }
        if writer.flush().await.is_err() || subscriber.closed.load(Ordering::SeqCst) {
            subscriber.close();
            return;
        }
        woken.await;
    }
}

async fn write_message<W: AsyncWrite + Unpin>(
    writer: &mut W,
    frames: &[Bytes],
) -> std::io::Result<()> {
    for (index, frame) in frames.iter().enumerate() {
        let more = index + 1 < frames.len();
        writer
            .write_all(&frame_header(frame.len(), more, false))
            .await?;
        writer.write_all(frame).await?;
    }
    Ok(())
}

const FLAG_MORE: u8 = 0x01;
const FLAG_LONG: u8 = 0x02;
const FLAG_COMMAND: u8 = 0x04;

fn frame_header(len: usize, more: bool, command: bool) -> Vec<u8> {
    let mut flags = if more { FLAG_MORE } else { 0 };
    if command {
        flags |= FLAG_COMMAND;
    }
    if len > 255 {
        let mut header = vec![flags | FLAG_LONG];
        header.extend_from_slice(&(len as u64).to_be_bytes());
        header
    } else {
        vec![flags, len as u8]
    }
}

fn greeting() -> [u8; 64] {
    let mut greeting = [0u8; 64];
    greeting[0] = 0xFF;
    greeting[8] = 0x01;
    greeting[9] = 0x7F;
    greeting[10] = 3; // major version
    greeting[11] = 0; // minor version: 3.0, so peers send `\x01topic` messages
    greeting[12..16].copy_from_slice(b"NULL");
    greeting
}

fn ready_command() -> Vec<u8> {
    let mut body = vec![5u8];
    body.extend_from_slice(b"READY");
    body.push(11);
    body.extend_from_slice(b"Socket-Type");
    body.extend_from_slice(&4u32.to_be_bytes());
    body.extend_from_slice(b"XPUB");
    let mut command = frame_header(body.len(), false, true);
    command.extend_from_slice(&body);
    command
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

fn check_greeting(greeting: &[u8; 64]) -> std::io::Result<()> {
    if greeting[0] != 0xFF || greeting[9] & 0x01 != 1 {
        return Err(invalid("not a ZMTP greeting"));
    }
    if greeting[10] < 3 {
        return Err(invalid("ZMTP version older than 3.0"));
    }
    if &greeting[12..16] != b"NULL" {
        return Err(invalid("only the NULL security mechanism is supported"));
    }
    Ok(())
}

async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> std::io::Result<(u8, Vec<u8>)> {
    let flags = reader.read_u8().await?;
    let len = if flags & FLAG_LONG != 0 {
        reader.read_u64().await?
    } else {
        u64::from(reader.read_u8().await?)
    };
    if len > MAX_INCOMING_FRAME {
        return Err(invalid("frame from a subscriber is too large"));
    }
    let mut body = vec![0u8; len as usize];
    reader.read_exact(&mut body).await?;
    Ok((flags, body))
}

/// `(subscribe?, topic)` for a subscription message or command.
fn subscription_of(flags: u8, body: &[u8]) -> Option<(bool, &[u8])> {
    if flags & FLAG_COMMAND != 0 {
        let name_len = usize::from(*body.first()?);
        let name = body.get(1..1 + name_len)?;
        let rest = body.get(1 + name_len..)?;
        return match name {
            b"SUBSCRIBE" => Some((true, rest)),
            b"CANCEL" => Some((false, rest)),
            _ => None,
        };
    }
    if flags & FLAG_MORE != 0 {
        return None;
    }
    match body.split_first()? {
        (1, topic) => Some((true, topic)),
        (0, topic) => Some((false, topic)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_frame_headers_follow_zmtp() {
        assert_eq!(frame_header(3, true, false), vec![FLAG_MORE, 3]);
        let long = frame_header(300, false, false);
        assert_eq!(long[0], FLAG_LONG);
        assert_eq!(u64::from_be_bytes(long[1..9].try_into().unwrap()), 300);
    }

    #[test]
    fn subscriptions_are_recognised_in_both_forms() {
        assert_eq!(subscription_of(0, b"\x01"), Some((true, &b""[..])));
        assert_eq!(subscription_of(0, b"\x00abc"), Some((false, &b"abc"[..])));
        assert_eq!(
            subscription_of(FLAG_COMMAND, b"\x09SUBSCRIBEkernel"),
            Some((true, &b"kernel"[..]))
        );
        assert_eq!(subscription_of(FLAG_COMMAND, b"\x04PING\x00\x00"), None);
        assert_eq!(
            subscription_of(FLAG_COMMAND, b"\x20SUB"),
            None,
            "truncated command"
        );
        assert_eq!(subscription_of(0, b""), None);
    }

    #[test]
    fn own_greeting_passes_our_check() {
        assert!(check_greeting(&greeting()).is_ok());
        let mut old = greeting();
        old[10] = 2;
        assert!(check_greeting(&old).is_err());
    }

    async fn bound_publisher() -> (Publisher, u16) {
        let welcome: WelcomeBuilder = Arc::new(|topic: &[u8]| {
            vec![
                Bytes::from_static(b"welcome"),
                Bytes::copy_from_slice(topic),
            ]
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let endpoint = format!("tcp://127.0.0.1:{port}");
        (Publisher::bind(&endpoint, welcome).await.unwrap(), port)
    }

    /// A hand-written SUB peer: handshake, subscribe to everything, read
    /// the welcome.
    async fn subscribed_peer(port: u16, receive_buffer: Option<u32>) -> tokio::net::TcpStream {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        if let Some(size) = receive_buffer {
            // a fixed small buffer turns off autotuning (up to 32 MiB here)
            socket.set_recv_buffer_size(size).unwrap();
        }
        let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let mut peer = socket.connect(address).await.unwrap();
        peer.write_all(&greeting()).await.unwrap();
        let mut sub_ready = vec![5u8];
        sub_ready.extend_from_slice(b"READY");
        peer.write_all(&[FLAG_COMMAND, sub_ready.len() as u8])
            .await
            .unwrap();
        peer.write_all(&sub_ready).await.unwrap();
        peer.write_all(&[0, 1, 1]).await.unwrap();

        let mut their_greeting = [0u8; 64];
        peer.read_exact(&mut their_greeting).await.unwrap();
        let (flags, _) = read_frame(&mut peer).await.unwrap();
        assert_eq!(flags & FLAG_COMMAND, FLAG_COMMAND);
        let (_, first) = read_frame(&mut peer).await.unwrap();
        assert_eq!(first, b"welcome");
        let (_, topic) = read_frame(&mut peer).await.unwrap();
        assert_eq!(topic, b"");
        peer
    }

    #[tokio::test]
    async fn subscriber_gets_welcome_then_published_messages() {
        let (publisher, port) = bound_publisher().await;
        let mut peer = subscribed_peer(port, None).await;

        publisher
            .publish(vec![Bytes::from_static(b"t"), Bytes::from(vec![7u8; 1000])])
            .await;
        let (flags, body) = read_frame(&mut peer).await.unwrap();
        assert_eq!((flags, body), (FLAG_MORE, b"t".to_vec()));
        let (flags, body) = read_frame(&mut peer).await.unwrap();
        assert_eq!((flags, body.len()), (FLAG_LONG, 1000));
    }

    async fn read_big_message(peer: &mut tokio::net::TcpStream) -> (u8, usize) {
        let flags = peer.read_u8().await.unwrap();
        let len = if flags & FLAG_LONG != 0 {
            peer.read_u64().await.unwrap()
        } else {
            u64::from(peer.read_u8().await.unwrap())
        };
        let mut body = vec![0u8; len as usize];
        peer.read_exact(&mut body).await.unwrap();
        (body[0], body.len())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stalled_subscriber_loses_messages_while_the_healthy_one_gets_all() {
        let (publisher, port) = bound_publisher().await;
        let mut healthy = subscribed_peer(port, None).await;
        let _stalled = subscribed_peer(port, Some(4096)).await; // never read again
        const MESSAGES: usize = 40;
        const SIZE: usize = 1 << 20;

        let reader = tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..MESSAGES {
                seen.push(read_big_message(&mut healthy).await);
            }
            (seen, healthy)
        });
        for index in 0..MESSAGES {
            publisher
                .publish(vec![Bytes::from(vec![index as u8; SIZE])])
                .await;
        }

        let (seen, _healthy) = reader.await.unwrap();
        let expected: Vec<(u8, usize)> = (0..MESSAGES).map(|i| (i as u8, SIZE)).collect();
        assert_eq!(seen, expected);
        assert_eq!(
            publisher.subscriber_count(),
            2,
            "the stalled peer is kept, only its messages drop"
        );
        let subscribers = publisher.subscribers.lock().unwrap().clone();
        let dropped: u64 = subscribers
            .iter()
            .map(|s| s.dropped.load(Ordering::SeqCst))
            .sum();
        assert!(
            dropped > 0,
            "40 MiB cannot all fit in the stalled peer's queue and buffers"
        );
    }
}
