//! A resilient JSON-RPC framing layer in front of tower-lsp-server.
//!
//! tower-lsp-server ends the session on the first malformed frame (tokio-util's `FramedRead`
//! stops after a decode error). We read frames ourselves: a frame whose headers or body are
//! broken is logged and answered with a JSON-RPC error (`-32700` parse error, `-32600` invalid
//! request) where the protocol allows, and the next valid message is still served. Valid
//! messages are forwarded byte for byte to tower-lsp-server through an in-memory pipe; its
//! output frames are copied to the real output through one writer, so error replies we make
//! never interleave with its frames.
//!
//! The reader is also the one Content-Length parser of the test clients and benchmarks:
//! [`FrameReader`] for async readers, [`BlockingFrameReader`] for clients on plain threads, and
//! [`encode_frame`] to write.

use std::borrow::Cow;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// Larger frames are skipped (with a parse error reply) rather than buffered; a 13 MB
/// document is fine.
pub const MAX_FRAME_BYTES: usize = 64 * 1024 * 1024;

/// Longest header line accepted. Real headers are a few dozen bytes; without a cap, a stream
/// with no newline would be buffered whole.
pub const MAX_HEADER_LINE: usize = 8 * 1024;

/// What reading one frame produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// The body of a well-framed message (not yet checked to be JSON).
    Body(Vec<u8>),
    /// A frame that cannot be used; the reason is for the log.
    Malformed(String),
    /// The input ended.
    Eof,
}

/// Splits a byte stream into `Content-Length`-framed messages, and finds the next frame
/// again after anything broken.
///
/// Header names are case-insensitive, unknown headers (e.g. `Content-Type`) are ignored, and
/// a lone `\n` line ending is tolerated. After a broken header (a bad, missing or oversized
/// `Content-Length`, a header line that is too long, garbage between frames) the body that
/// follows has no trustworthy length, so the reader skips ahead to the next
/// `Content-Length:` and resumes there: JSON bodies contain no newline, so waiting for one
/// (as line-based recovery does) would misread every later frame.
pub struct FrameReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// Start of the unread part of `buf`.
    start: usize,
    eof: bool,
    /// The last frame was broken: skip to the next header before reading another. Deferred
    /// to the next call so the broken frame is reported at once, not when the next arrives.
    resync: bool,
}

const HEADER_NAME: &[u8] = b"content-length";

enum Line {
    /// A line without its terminator, as `(start, end)` into `buf` (already consumed).
    Complete(usize, usize),
    /// No newline within `MAX_HEADER_LINE` bytes.
    TooLong,
    Eof,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(inner: R) -> Self {
        FrameReader {
            inner,
            buf: Vec::new(),
            start: 0,
            eof: false,
            resync: false,
        }
    }

    fn unread(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Reads more input into the buffer; false at the end of input.
    async fn fill(&mut self) -> std::io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let mut chunk = [0u8; 16 * 1024];
        let read = self.inner.read(&mut chunk).await?;
        if read == 0 {
            self.eof = true;
            return Ok(false);
        }
        self.buf.extend_from_slice(&chunk[..read]);
        Ok(true)
    }

    async fn line(&mut self) -> std::io::Result<Line> {
        let mut scanned = 0;
        loop {
            let unread = self.unread();
            if let Some(newline) = unread[scanned..].iter().position(|&b| b == b'\n') {
                let end = self.start + scanned + newline;
                if end - self.start > MAX_HEADER_LINE {
                    return Ok(Line::TooLong);
                }
                let line = (self.start, end);
                self.start = end + 1;
                return Ok(Line::Complete(line.0, line.1));
            }
            scanned = unread.len();
            if scanned > MAX_HEADER_LINE {
                return Ok(Line::TooLong);
            }
            if !self.fill().await? {
                if self.unread().is_empty() {
                    return Ok(Line::Eof);
                }
                // A last line without a newline.
                let line = (self.start, self.buf.len());
                self.start = self.buf.len();
                return Ok(Line::Complete(line.0, line.1));
            }
        }
    }

    /// Discards input up to the next `Content-Length` header name (case-insensitive), which
    /// stays unread. Holds at most one chunk plus a few bytes while searching.
    async fn skip_to_next_header(&mut self) -> std::io::Result<()> {
        loop {
            if let Some(at) = find_header_name(self.unread()) {
                self.start += at;
                return Ok(());
            }
            // Keep a tail that may be the beginning of a header name split across reads.
            let keep = HEADER_NAME.len() - 1;
            let len = self.unread().len();
            if len > keep {
                self.start += len - keep;
            }
            if !self.fill().await? {
                self.start = self.buf.len();
                return Ok(());
            }
        }
    }

    async fn body(&mut self, length: usize) -> std::io::Result<Option<Vec<u8>>> {
        while self.unread().len() < length {
            if !self.fill().await? {
                return Ok(None);
            }
        }
        let body = self.buf[self.start..self.start + length].to_vec();
        self.start += length;
        Ok(Some(body))
    }

    /// Reads the next frame.
    pub async fn next(&mut self) -> std::io::Result<Frame> {
        if std::mem::take(&mut self.resync) {
            self.skip_to_next_header().await?;
        }
        let mut content_length: Option<usize> = None;
        let mut saw_header = false;
        let mut problem: Option<String> = None;
        loop {
            let (from, to) = match self.line().await? {
                Line::Eof if saw_header => {
                    return Ok(Frame::Malformed("input ended inside a frame header".into()))
                }
                Line::Eof => return Ok(Frame::Eof),
                Line::TooLong => {
                    self.resync = true;
                    return Ok(Frame::Malformed(format!(
                        "a header line longer than {MAX_HEADER_LINE} bytes"
                    )));
                }
                Line::Complete(from, to) => (from, to),
            };
            let line = trim_line_end(&self.buf[from..to]);
            if line.is_empty() {
                if !saw_header {
                    // Stray blank lines between frames: skip them.
                    continue;
                }
                break;
            }
            // Garbage in front of a header on the same line (e.g. the rest of a body whose
            // length was wrong): report it and resume at the header.
            if let Some(at) = find_header_name(line).filter(|&at| at > 0) {
                let text = String::from_utf8_lossy(&line[..at]).into_owned();
                self.start = from + at;
                return Ok(Frame::Malformed(format!(
                    "unexpected bytes before a header: {:?}",
                    truncate(&text, 80)
                )));
            }
            saw_header = true;
            let text = String::from_utf8_lossy(line);
            match text.split_once(':') {
                Some((name, value)) if name.trim().eq_ignore_ascii_case("content-length") => {
                    match value.trim().parse::<usize>() {
                        Ok(length) => content_length = Some(length),
                        Err(_) => {
                            problem = Some(format!(
                                "invalid Content-Length {:?}",
                                truncate(value.trim(), 80)
                            ))
                        }
                    }
                }
                Some(_) => {}
                // Not a header: garbage, to be reported on its own; the next line may start
                // a valid frame.
                None => {
                    return Ok(Frame::Malformed(format!(
                        "not a header line: {:?}",
                        truncate(&text, 80)
                    )))
                }
            }
        }
        let problem = match (problem, content_length) {
            (Some(problem), _) => problem,
            (None, None) => "frame without a Content-Length header".into(),
            (None, Some(length)) if length > MAX_FRAME_BYTES => {
                format!("frame of {length} bytes exceeds the {MAX_FRAME_BYTES}-byte limit")
            }
            (None, Some(length)) => {
                return Ok(match self.body(length).await? {
                    Some(body) => Frame::Body(body),
                    None => Frame::Malformed("input ended inside a frame body".into()),
                });
            }
        };
        // Whatever body follows has no trustworthy length.
        self.resync = true;
        Ok(Frame::Malformed(problem))
    }
}

/// A [`FrameReader`] over a blocking [`std::io::Read`] (a child's stdout read on a plain
/// thread): the same framing rules, one frame per call.
pub struct BlockingFrameReader<R>(FrameReader<Blocking<R>>);

impl<R: std::io::Read + Unpin> BlockingFrameReader<R> {
    pub fn new(inner: R) -> Self {
        BlockingFrameReader(FrameReader::new(Blocking(inner)))
    }

    /// Reads the next frame, blocking the thread until it is complete.
    pub fn next_frame(&mut self) -> std::io::Result<Frame> {
        // Every read of `Blocking` completes at once, so the future never waits on a waker.
        futures::executor::block_on(self.0.next())
    }
}

/// A blocking reader as an [`AsyncRead`] whose reads complete at once (by blocking).
struct Blocking<R>(R);

impl<R: std::io::Read + Unpin> AsyncRead for Blocking<R> {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let this = self.get_mut();
        loop {
            match this.0.read(buf.initialize_unfilled()) {
                Ok(read) => {
                    buf.advance(read);
                    return std::task::Poll::Ready(Ok(()));
                }
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => return std::task::Poll::Ready(Err(error)),
            }
        }
    }
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\r' | b'\n') {
        end -= 1;
    }
    // A line of only whitespace counts as the blank line ending the headers.
    if line[..end].iter().all(u8::is_ascii_whitespace) {
        return &line[..0];
    }
    &line[..end]
}

/// Where the first `Content-Length` header name (any case) starts.
fn find_header_name(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(HEADER_NAME.len())
        .position(|window| window.eq_ignore_ascii_case(HEADER_NAME))
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((index, _)) => &text[..index],
        None => text,
    }
}

pub fn encode_frame(body: &[u8]) -> Vec<u8> {
    let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    frame.extend_from_slice(body);
    frame
}

/// A body that may be handed to tower-lsp-server.
#[derive(Debug)]
pub struct Checked<'a> {
    /// The body to forward (repaired when it held lone surrogates).
    pub body: Cow<'a, [u8]>,
    /// It is the `shutdown` request.
    pub is_shutdown: bool,
}

/// Decides whether a body may be handed to tower-lsp-server, and in what form. Returns the
/// error reply to send instead when it may not.
///
/// Lone UTF-16 surrogate escapes (`"\ud800"`, which serde_json rejects) are replaced by
/// U+FFFD rather than losing the whole message, as editors do with such text. A body that is
/// not JSON still gets its own reply when its `id` can be found (e.g. one nested deeper than
/// the parser allows), so the client's request is not left unanswered.
pub fn check_body(body: &[u8]) -> Result<Checked<'_>, serde_json::Value> {
    let (body, value) = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) => (Cow::Borrowed(body), value),
        Err(error) => {
            let repaired = replace_lone_surrogates(body);
            match repaired
                .as_deref()
                .map(serde_json::from_slice::<serde_json::Value>)
            {
                Some(Ok(value)) => (Cow::Owned(repaired.unwrap_or_default()), value),
                _ => {
                    return Err(error_reply(
                        top_level_id(body).unwrap_or(serde_json::Value::Null),
                        -32700,
                        &format!("Parse error: {error}"),
                    ));
                }
            }
        }
    };
    // tower-lsp-server's own `Request` type tolerates a missing `method`, so check the shape
    // ourselves: a request or notification names a method; a response carries an id and a
    // result or an error.
    let has_method = value
        .get("method")
        .is_some_and(serde_json::Value::is_string);
    let is_request = has_method
        && serde_json::from_value::<tower_lsp_server::jsonrpc::Request>(value.clone()).is_ok();
    let is_response = !has_method
        && value.get("id").is_some()
        && (value.get("result").is_some() || value.get("error").is_some())
        && serde_json::from_value::<tower_lsp_server::jsonrpc::Response>(value.clone()).is_ok();
    if is_request || is_response {
        let is_shutdown =
            is_request && value.get("method").and_then(|m| m.as_str()) == Some("shutdown");
        return Ok(Checked { body, is_shutdown });
    }
    let id = value
        .get("id")
        .filter(|id| id.is_number() || id.is_string())
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    Err(error_reply(
        id,
        -32600,
        "Invalid request: not a JSON-RPC 2.0 request, notification or response",
    ))
}

/// The body with every `\uXXXX` escape of a surrogate that is not half of a valid pair
/// replaced by `\ufffd`; `None` when there is none.
fn replace_lone_surrogates(body: &[u8]) -> Option<Vec<u8>> {
    fn escape_at(body: &[u8], at: usize) -> Option<u16> {
        let digits = body.get(at..at + 6)?;
        if digits[0] != b'\\' || digits[1] != b'u' {
            return None;
        }
        u16::from_str_radix(std::str::from_utf8(&digits[2..]).ok()?, 16).ok()
    }
    let mut out: Option<Vec<u8>> = None;
    let mut in_string = false;
    let mut i = 0;
    let mut copied = 0;
    while i < body.len() {
        match body[i] {
            b'"' => in_string = !in_string,
            b'\\' if in_string => {
                let Some(unit) = escape_at(body, i) else {
                    i += 2; // a two-byte escape such as `\"` or `\\`
                    continue;
                };
                let high = (0xD800..0xDC00).contains(&unit);
                let low = (0xDC00..0xE000).contains(&unit);
                let paired = high
                    && escape_at(body, i + 6).is_some_and(|next| (0xDC00..0xE000).contains(&next));
                if paired {
                    i += 12;
                    continue;
                }
                if high || low {
                    let out = out.get_or_insert_with(|| Vec::with_capacity(body.len()));
                    out.extend_from_slice(&body[copied..i]);
                    out.extend_from_slice(b"\\ufffd");
                    copied = i + 6;
                }
                i += 6;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    let mut out = out?;
    out.extend_from_slice(&body[copied..]);
    Some(out)
}

/// The `id` member of the top-level object of a body that does not parse as a whole, found
/// by scanning (strings and nesting respected) and parsing only its value.
fn top_level_id(body: &[u8]) -> Option<serde_json::Value> {
    let mut depth = 0usize;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let start = i;
                i += 1;
                while i < body.len() && body[i] != b'"' {
                    i += if body[i] == b'\\' { 2 } else { 1 };
                }
                let key = body.get(start..=i)?;
                if depth == 1 && key == b"\"id\"" {
                    let rest = &body[i + 1..];
                    let colon = rest.iter().position(|b| !b.is_ascii_whitespace())?;
                    if rest[colon] != b':' {
                        continue;
                    }
                    let mut values = serde_json::Deserializer::from_slice(&rest[colon + 1..])
                        .into_iter::<serde_json::Value>();
                    return values
                        .next()
                        .and_then(Result::ok)
                        .filter(|id| id.is_number() || id.is_string());
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn error_reply(id: serde_json::Value, code: i64, message: &str) -> serde_json::Value {
    serde_json::json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// Bytes buffered between the framing layer and tower-lsp-server, in each direction.
const PIPE_CAPACITY: usize = 64 * 1024;

/// Messages queued for the output are written together up to this many bytes: one write and
/// one flush per burst (a run's notifications, a batch of publishes), not per message.
const WRITE_COALESCE_BYTES: usize = 1024 * 1024;

/// Messages the server writes itself, next to tower-lsp-server's own frames: notifications it
/// builds directly as JSON text (a run's events), which so skip tower-lsp-server's
/// `serde_json::Value` and its pipe. Connected by [`serve`]; until then (and after the output
/// closed) `send` refuses, and the caller goes through tower-lsp-server's client instead.
#[derive(Clone, Default)]
pub struct Outbox(std::sync::Arc<std::sync::OnceLock<mpsc::UnboundedSender<Vec<u8>>>>);

impl Outbox {
    /// Queues one message body (a complete JSON-RPC message) for the output; false when no
    /// output is connected or it closed.
    pub fn send(&self, body: &[u8]) -> bool {
        self.0
            .get()
            .is_some_and(|frames| frames.send(encode_frame(body)).is_ok())
    }

    fn connect(&self, frames: mpsc::UnboundedSender<Vec<u8>>) {
        let _ = self.0.set(frames);
    }
}

/// How long handlers still running when the input closes get to finish (a `shutdown` whose
/// client closed the pipe right after sending it stops the helper in well under a second).
pub const INPUT_CLOSED_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// Runs tower-lsp-server behind the resilient framing layer until the session ends (`exit`,
/// or the input closes). `shutdown_seen` is set as soon as a `shutdown` request is read: the
/// exit code depends on the order messages arrived in, which tower-lsp-server's concurrent
/// handlers do not keep (a `shutdown` handler could still be pending when `exit` ends the
/// session).
pub async fn serve<I, O, S>(
    input: I,
    output: O,
    service: S,
    socket: tower_lsp_server::ClientSocket,
    shutdown_seen: std::sync::Arc<std::sync::atomic::AtomicBool>,
    outbox: Outbox,
) where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
    S: tower::Service<
            tower_lsp_server::jsonrpc::Request,
            Response = Option<tower_lsp_server::jsonrpc::Response>,
        > + Send
        + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::Future: Send,
{
    // Small pipes: a pipe's buffer keeps the largest size it ever grew to, and a burst of
    // `didOpen`s would otherwise pin ~1 MB for the rest of the session. Larger messages just
    // pass in several writes.
    let (to_server, server_input) = tokio::io::duplex(PIPE_CAPACITY);
    let (server_output, from_server) = tokio::io::duplex(PIPE_CAPACITY);
    let (frames_tx, mut frames_rx) = mpsc::unbounded_channel::<Vec<u8>>();

    outbox.connect(frames_tx.clone());

    let writer = tokio::spawn(async move {
        let mut output = output;
        while let Some(mut frames) = frames_rx.recv().await {
            // Whatever else is queued already goes out in the same write.
            while frames.len() < WRITE_COALESCE_BYTES {
                match frames_rx.try_recv() {
                    Ok(frame) => frames.extend_from_slice(&frame),
                    Err(_) => break,
                }
            }
            if output.write_all(&frames).await.is_err() || output.flush().await.is_err() {
                tracing::warn!("output closed; stopping the writer");
                break;
            }
        }
    });

    let server_frames = frames_tx.clone();
    let pump = tokio::spawn(async move {
        let mut reader = FrameReader::new(from_server);
        while let Ok(Frame::Body(body)) = reader.next().await {
            if server_frames.send(encode_frame(&body)).is_err() {
                break;
            }
        }
    });

    let reader_errors = frames_tx;
    let mut reader = tokio::spawn(async move {
        let mut input = FrameReader::new(input);
        let mut to_server = to_server;
        loop {
            match input.next().await {
                Ok(Frame::Body(body)) => match check_body(&body) {
                    Ok(Checked { body, is_shutdown }) => {
                        if is_shutdown {
                            shutdown_seen.store(true, std::sync::atomic::Ordering::SeqCst);
                        }
                        if to_server.write_all(&encode_frame(&body)).await.is_err() {
                            break;
                        }
                    }
                    Err(reply) => {
                        tracing::error!(
                            "rejected a malformed message: {}",
                            reply["error"]["message"]
                        );
                        let _ = reader_errors.send(encode_frame(reply.to_string().as_bytes()));
                    }
                },
                Ok(Frame::Malformed(reason)) => {
                    tracing::error!("skipped a malformed frame: {reason}");
                    let reply = error_reply(
                        serde_json::Value::Null,
                        -32700,
                        &format!("Parse error: {reason}"),
                    );
                    let _ = reader_errors.send(encode_frame(reply.to_string().as_bytes()));
                }
                Ok(Frame::Eof) => break,
                Err(error) => {
                    tracing::info!("input closed: {error}");
                    break;
                }
            }
        }
        // Dropping `to_server` tells tower-lsp-server the input ended.
    });

    let mut serving = Box::pin(
        tower_lsp_server::Server::new(server_input, server_output, socket)
            .concurrency_level(16)
            .serve(service),
    );
    tokio::select! {
        _ = &mut serving => {}
        _ = &mut reader => {
            // The input ended. tower-lsp-server returns once every handler has finished; with
            // the client gone nobody waits for their answers, and a handler that never
            // finishes (stuck on something a panicking task left behind) must not keep the
            // process alive, reparented to init, after its editor crashed.
            if tokio::time::timeout(INPUT_CLOSED_GRACE, &mut serving).await.is_err() {
                tracing::warn!(
                    "the input closed, and handlers were still running {INPUT_CLOSED_GRACE:?} later; ending the session without them"
                );
            }
        }
    }
    // Whatever handler is still running goes with the service, so tower's output closes.
    drop(serving);
    reader.abort();
    // Let the last replies (e.g. to `shutdown`) reach the client before returning.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), pump).await;
    let _ = tokio::time::timeout(std::time::Duration::from_millis(500), writer).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    async fn frames(input: &[u8]) -> Vec<Frame> {
        let mut reader = FrameReader::new(input);
        let mut out = Vec::new();
        loop {
            let frame = reader.next().await.unwrap();
            let done = frame == Frame::Eof;
            out.push(frame);
            if done {
                return out;
            }
        }
    }

    fn bodies(frames: &[Frame]) -> Vec<&[u8]> {
        frames
            .iter()
            .filter_map(|frame| match frame {
                Frame::Body(body) => Some(body.as_slice()),
                _ => None,
            })
            .collect()
    }

    fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    const VALID: &[u8] = br#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#;

    /// A language server whose every request either never finishes (`stuck`) or is answered
    /// with `null` right away.
    #[derive(Clone)]
    struct FakeService {
        stuck: bool,
    }

    impl tower::Service<tower_lsp_server::jsonrpc::Request> for FakeService {
        type Response = Option<tower_lsp_server::jsonrpc::Response>;
        type Error = std::convert::Infallible;
        type Future = std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
        >;

        fn poll_ready(
            &mut self,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Self::Error>> {
            std::task::Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: tower_lsp_server::jsonrpc::Request) -> Self::Future {
            let stuck = self.stuck;
            Box::pin(async move {
                if stuck {
                    std::future::pending::<()>().await;
                }
                Ok(request.id().cloned().map(|id| {
                    tower_lsp_server::jsonrpc::Response::from_ok(id, serde_json::Value::Null)
                }))
            })
        }
    }

    /// Serves one request on input that then closes; returns how long (in the test's paused
    /// clock) `serve` took to return, and fails if it never does.
    async fn serve_then_close_input(service: FakeService) -> std::time::Duration {
        let (_real_service, socket, _, _) = crate::server::build_service();
        let input = encode_frame(br#"{"jsonrpc":"2.0","id":7,"method":"textDocument/hover"}"#);
        let (mut client_output, server_input) = tokio::io::duplex(1024);
        client_output.write_all(&input).await.unwrap();
        drop(client_output);
        let started = tokio::time::Instant::now();
        let session = serve(
            server_input,
            tokio::io::sink(),
            service,
            socket,
            Default::default(),
            Outbox::default(),
        );
        tokio::time::timeout(INPUT_CLOSED_GRACE * 10, session)
            .await
            .expect("serve never returned after its input closed");
        started.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn a_handler_that_never_finishes_does_not_outlive_the_input() {
        // An editor that crashed closes our input mid-request; its handler is stuck.
        let took = serve_then_close_input(FakeService { stuck: true }).await;
        assert!(
            took >= INPUT_CLOSED_GRACE,
            "ended before the grace: {took:?}"
        );
        assert!(took < INPUT_CLOSED_GRACE * 2, "ended late: {took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn handlers_that_finish_end_the_session_at_once_when_the_input_closes() {
        let took = serve_then_close_input(FakeService { stuck: false }).await;
        assert!(took < INPUT_CLOSED_GRACE, "waited for the grace: {took:?}");
    }

    #[tokio::test]
    async fn reads_frames_and_recovers_after_a_bad_header() {
        let input = b"Content-Length: 2\r\n\r\n{}garbage line\r\n\r\ncontent-length: 4\r\nContent-Type: x\r\n\r\nnull";
        let got = frames(input).await;
        assert_eq!(got[0], Frame::Body(b"{}".to_vec()));
        assert!(matches!(got[1], Frame::Malformed(_)));
        assert_eq!(got[2], Frame::Body(b"null".to_vec()));
        assert_eq!(got[3], Frame::Eof);
    }

    #[tokio::test]
    async fn a_bad_content_length_does_not_desynchronise_later_frames() {
        // Bodies have no newline, so a reader that resyncs on newlines reads every later
        // body as a header line.
        for bad in [
            "Content-Length: -5\r\n\r\n",
            "Content-Length: ten\r\n\r\n",
            "Content-Type: x\r\n\r\n",
            "Content-Length: 44\r\n",
            "Content-Length: 99999999999\r\n\r\n",
        ] {
            let mut input = bad.as_bytes().to_vec();
            input.extend_from_slice(VALID);
            for _ in 0..50 {
                input.extend_from_slice(&encode_frame(VALID));
            }
            let got = frames(&input).await;
            assert_eq!(bodies(&got).len(), 50, "after {bad:?}: {got:?}");
            assert!(matches!(got[0], Frame::Malformed(_)), "after {bad:?}");
        }
    }

    #[tokio::test]
    async fn an_endless_header_line_is_not_buffered() {
        let mut input = vec![b'x'; 4 * 1024 * 1024];
        input.extend_from_slice(&encode_frame(VALID));
        let mut reader = FrameReader::new(input.as_slice());
        assert!(matches!(reader.next().await.unwrap(), Frame::Malformed(_)));
        assert!(
            reader.buf.capacity() < 256 * 1024,
            "buffered {} bytes of one header line",
            reader.buf.capacity()
        );
        assert_eq!(reader.next().await.unwrap(), Frame::Body(VALID.to_vec()));
        assert_eq!(reader.next().await.unwrap(), Frame::Eof);
    }

    #[tokio::test]
    async fn a_header_split_across_reads_is_found() {
        // A reader that hands out one byte at a time splits everything, the header name
        // included, across reads.
        struct OneByte<'a>(&'a [u8]);
        impl AsyncRead for OneByte<'_> {
            fn poll_read(
                mut self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                if let Some((first, rest)) = self.0.split_first() {
                    buf.put_slice(&[*first]);
                    self.0 = rest;
                }
                std::task::Poll::Ready(Ok(()))
            }
        }
        let mut input = b"garbage without a newline".to_vec();
        input.extend_from_slice(&encode_frame(VALID));
        input.extend_from_slice(b"Content-Length: x\r\n\r\n{}");
        input.extend_from_slice(&encode_frame(VALID));
        let mut reader = FrameReader::new(OneByte(&input));
        let mut got = Vec::new();
        loop {
            let frame = reader.next().await.unwrap();
            if frame == Frame::Eof {
                break;
            }
            got.push(frame);
        }
        assert_eq!(bodies(&got), vec![VALID, VALID], "{got:?}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Arbitrary bytes between valid frames never cost a valid frame that follows them
        /// once they contain no header name themselves (which could claim the next bytes).
        #[test]
        fn every_valid_frame_after_garbage_is_read(
            garbage in proptest::collection::vec(
                prop_oneof![
                    proptest::collection::vec(any::<u8>(), 0..64),
                    Just(b"\r\n\r\n".to_vec()),
                    Just(b"Content-Length: -1\r\n\r\n".to_vec()),
                    Just(b"Content-Length: 99999999999\r\n\r\n".to_vec()),
                    Just(b"Content-Type: y\r\n".to_vec()),
                    Just(b"{\"jsonrpc\":\"2.0\"}".to_vec()),
                ],
                0..8,
            ),
            frames_after in 1usize..6,
        ) {
            let mut input = Vec::new();
            for piece in &garbage {
                // A piece may end in a header name cut short, completed by the next frame's.
                input.extend_from_slice(piece);
            }
            input.extend_from_slice(b"\r\n");
            for _ in 0..frames_after {
                input.extend_from_slice(&encode_frame(VALID));
            }
            let got = block_on(frames(&input));
            let read = bodies(&got).iter().filter(|body| **body == VALID).count();
            prop_assert!(read >= frames_after, "{read} of {frames_after}: {got:?}");
        }
    }

    #[test]
    fn the_blocking_reader_reads_the_same_frames() {
        let mut input = encode_frame(VALID);
        input.extend_from_slice(b"Content-Length: x\r\n\r\n");
        input.extend_from_slice(&encode_frame(b"{}"));
        let mut reader = BlockingFrameReader::new(std::io::Cursor::new(input));
        assert_eq!(reader.next_frame().unwrap(), Frame::Body(VALID.to_vec()));
        assert!(matches!(reader.next_frame().unwrap(), Frame::Malformed(_)));
        assert_eq!(reader.next_frame().unwrap(), Frame::Body(b"{}".to_vec()));
        assert_eq!(reader.next_frame().unwrap(), Frame::Eof);
    }

    #[test]
    fn bodies_that_are_not_json_rpc_get_error_replies() {
        assert_eq!(
            check_body(b"{not json").unwrap_err()["error"]["code"],
            -32700
        );
        let reply = check_body(br#"{"jsonrpc":"2.0","id":7,"bogus":1}"#).unwrap_err();
        assert_eq!(reply["error"]["code"], -32600);
        assert_eq!(reply["id"], 7);
        assert!(
            check_body(br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#).is_ok()
        );
        assert!(check_body(br#"{"jsonrpc":"2.0","id":1,"result":null}"#).is_ok());
    }

    #[test]
    fn a_request_nested_too_deeply_still_gets_its_own_reply() {
        let nested = format!(
            r#"{{"jsonrpc":"2.0","method":"workspace/executeCommand","params":{{"command":"x","arguments":[{}1{}]}},"id":"req-9"}}"#,
            "[".repeat(1000),
            "]".repeat(1000)
        );
        let reply = check_body(nested.as_bytes()).unwrap_err();
        assert_eq!(reply["error"]["code"], -32700);
        assert_eq!(reply["id"], "req-9");
        // An `id` nested inside params is not the request's.
        let inner = format!(
            r#"{{"params":{{"id":5,"x":{}1{}}}}}"#,
            "[".repeat(1000),
            "]".repeat(1000)
        );
        assert_eq!(
            check_body(inner.as_bytes()).unwrap_err()["id"],
            serde_json::Value::Null
        );
    }

    #[test]
    fn lone_surrogates_are_replaced_not_rejected() {
        let body = br#"{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"text":"a\ud800b \udc00 \ud83d\ude00 \\ud800"}}"#;
        let fixed = check_body(body).expect("accepted").body;
        let value: serde_json::Value = serde_json::from_slice(&fixed).unwrap();
        assert_eq!(
            value["params"]["text"], "a\u{fffd}b \u{fffd} \u{1f600} \\ud800",
            "lone halves replaced; a valid pair and an escaped backslash kept"
        );
        assert!(matches!(
            check_body(VALID).map(|checked| checked.body),
            Ok(Cow::Borrowed(_))
        ));
    }
}
