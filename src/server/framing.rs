//! A resilient JSON-RPC framing layer in front of tower-lsp-server.
//!
//! tower-lsp-server ends the session on the first malformed frame (tokio-util's `FramedRead`
//! stops after a decode error). We read frames ourselves: a frame whose headers or body are
//! broken is logged and answered with a JSON-RPC error (`-32700` parse error, `-32600` invalid
//! request) where the protocol allows, and the next valid message is still served. Valid
//! messages are forwarded byte for byte to tower-lsp-server through an in-memory pipe; its
//! output frames are copied to the real output through one writer, so error replies we make
//! never interleave with its frames.

use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};
use tokio::sync::mpsc;

/// Frames larger than this are read and dropped rather than buffered (a 5 MB document is fine).
pub const MAX_FRAME_BYTES: usize = 256 * 1024 * 1024;

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

/// Reads one `Content-Length`-framed message. Header names are case-insensitive, unknown
/// headers (e.g. `Content-Type`) are ignored, and a lone `\n` line ending is tolerated.
pub async fn read_frame<R: AsyncBufRead + Unpin>(reader: &mut R) -> std::io::Result<Frame> {
    let mut content_length: Option<usize> = None;
    let mut saw_header = false;
    let mut bad_header: Option<String> = None;
    loop {
        let mut line = Vec::new();
        let read = reader.read_until(b'\n', &mut line).await?;
        if read == 0 {
            return Ok(if saw_header {
                Frame::Malformed("input ended inside a frame header".into())
            } else {
                Frame::Eof
            });
        }
        let text = String::from_utf8_lossy(&line);
        let trimmed = text.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            if !saw_header {
                // Stray blank lines between frames: skip them.
                continue;
            }
            break;
        }
        saw_header = true;
        match trimmed.split_once(':') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("content-length") => {
                match value.trim().parse::<usize>() {
                    Ok(length) => content_length = Some(length),
                    Err(_) => {
                        bad_header = Some(format!("invalid Content-Length {:?}", value.trim()))
                    }
                }
            }
            Some(_) => {}
            None => bad_header = Some(format!("not a header line: {:?}", truncate(trimmed, 80))),
        }
    }
    if let Some(reason) = bad_header {
        return Ok(Frame::Malformed(reason));
    }
    let Some(length) = content_length else {
        return Ok(Frame::Malformed(
            "frame without a Content-Length header".into(),
        ));
    };
    if length > MAX_FRAME_BYTES {
        let mut sink = reader.take(length as u64);
        tokio::io::copy(&mut sink, &mut tokio::io::sink()).await?;
        return Ok(Frame::Malformed(format!(
            "frame of {length} bytes exceeds the limit"
        )));
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await?;
    Ok(Frame::Body(body))
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

/// Decides whether a body may be handed to tower-lsp-server. Returns the error reply to send
/// instead when it may not.
pub fn check_body(body: &[u8]) -> Result<(), serde_json::Value> {
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(error) => {
            return Err(error_reply(
                serde_json::Value::Null,
                -32700,
                &format!("Parse error: {error}"),
            ));
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
        return Ok(());
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

fn error_reply(id: serde_json::Value, code: i64, message: &str) -> serde_json::Value {
    serde_json::json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// Bytes buffered between the framing layer and tower-lsp-server, in each direction.
const PIPE_CAPACITY: usize = 64 * 1024;

/// Runs tower-lsp-server behind the resilient framing layer until the session ends (`exit`,
/// or the input closes).
pub async fn serve<I, O, S>(input: I, output: O, service: S, socket: tower_lsp_server::ClientSocket)
where
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

    let writer = tokio::spawn(async move {
        let mut output = output;
        while let Some(frame) = frames_rx.recv().await {
            if output.write_all(&frame).await.is_err() || output.flush().await.is_err() {
                tracing::warn!("output closed; stopping the writer");
                break;
            }
        }
    });

    let server_frames = frames_tx.clone();
    let pump = tokio::spawn(async move {
        let mut reader = BufReader::new(from_server);
        while let Ok(Frame::Body(body)) = read_frame(&mut reader).await {
            if server_frames.send(encode_frame(&body)).is_err() {
                break;
            }
        }
    });

    let reader_errors = frames_tx;
    let reader = tokio::spawn(async move {
        let mut input = BufReader::new(input);
        let mut to_server = to_server;
        loop {
            match read_frame(&mut input).await {
                Ok(Frame::Body(body)) => match check_body(&body) {
                    Ok(()) => {
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

    tower_lsp_server::Server::new(server_input, server_output, socket)
        .concurrency_level(16)
        .serve(service)
        .await;
    reader.abort();
    // Let the last replies (e.g. to `shutdown`) reach the client before returning.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), pump).await;
    let _ = tokio::time::timeout(std::time::Duration::from_millis(500), writer).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frames(input: &[u8]) -> Vec<Frame> {
        let mut reader = BufReader::new(input);
        let mut out = Vec::new();
        loop {
            let frame = read_frame(&mut reader).await.unwrap();
            let done = frame == Frame::Eof;
            out.push(frame);
            if done {
                return out;
            }
        }
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
}
