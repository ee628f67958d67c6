//! A small synchronous LSP client over stdio, shared by the end-to-end benchmarks
//! (`lsp_bench`, `venv_bench`); each includes it with
//! `#[path = "support/lsp_stdio.rs"] mod lsp_stdio;`.
//!
//! It starts the release binary (`target/release/planai-lsp`, or `$PLANAI_LSP_BIN`) as an
//! editor would, speaks LSP over its stdin/stdout (Content-Length framing by the server's own
//! `planai_lsp::server::framing`), answers the server's own requests so the server never waits
//! on us, and timestamps every incoming message as it is read. `PLANAI_BENCH_STDERR=1` shows
//! the server's log. Plain threads, no async runtime.

// Each bench uses a different subset of the client.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use planai_lsp::server::framing::{encode_frame, BlockingFrameReader, Frame};
use serde_json::{json, Value};

/// Bound on `initialize` and other requests, and on a first analysis.
pub const OPEN_TIMEOUT: Duration = Duration::from_secs(120);

pub struct Server {
    child: Child,
    stdin: Arc<Mutex<ChildStdin>>,
    rx: Receiver<(Instant, Value)>,
    next_id: i64,
    /// The negotiated position encoding (as the server announced it).
    pub encoding: String,
    run_events: Arc<Mutex<RunEventsSeen>>,
}

/// What the `planai/runEvents` notifications said so far, counted as they are read (so
/// `drain` and `wait_publish`, which skip other messages, lose none of them).
#[derive(Clone, Debug, Default)]
pub struct RunEventsSeen {
    pub notifications: u64,
    pub events: u64,
    /// When the first `taskStarted` and the `ended` event were read.
    pub first_task_started: Option<Instant>,
    pub ended: Option<Instant>,
    pub outcome: Option<String>,
}

impl Server {
    /// Starts `bin` in `root`, initializes it with `root` as the only workspace folder and
    /// `initialization_options`, and sends `initialized`.
    pub fn start(bin: &Path, root: &Path, initialization_options: Value) -> Server {
        Self::start_command(bin, &[], root, initialization_options)
    }

    /// Starts `program args…` (another language server, e.g. `ruff server`) the same way.
    pub fn start_command(
        program: &Path,
        args: &[&str],
        root: &Path,
        initialization_options: Value,
    ) -> Server {
        let bin = program;
        let stderr = if std::env::var_os("PLANAI_BENCH_STDERR").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        };
        let mut child = Command::new(bin)
            .args(args)
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| fail(&format!("cannot start {}: {e}", bin.display())));
        let stdin = Arc::new(Mutex::new(child.stdin.take().expect("piped stdin")));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = channel();
        let replies = Arc::clone(&stdin);
        let run_events = Arc::new(Mutex::new(RunEventsSeen::default()));
        let seen = Arc::clone(&run_events);
        std::thread::spawn(move || {
            let mut reader = BlockingFrameReader::new(stdout);
            while let Some(msg) = read_message(&mut reader) {
                let at = Instant::now();
                if msg["method"] == "planai/runEvents" {
                    if let Ok(mut seen) = seen.lock() {
                        let events = msg["params"]["events"].as_array();
                        seen.notifications += 1;
                        for event in events.into_iter().flatten() {
                            seen.events += 1;
                            if event["event"] == "taskStarted" && seen.first_task_started.is_none()
                            {
                                seen.first_task_started = Some(at);
                            }
                            if event["event"] == "ended" {
                                seen.ended = Some(at);
                                seen.outcome = event["outcome"].as_str().map(str::to_string);
                            }
                        }
                    }
                }
                // Answer the server's own requests so it never waits on us.
                if msg.get("id").is_some() && msg.get("method").is_some() {
                    let result = match msg["method"].as_str() {
                        Some("workspace/configuration") => {
                            let n = msg["params"]["items"].as_array().map_or(0, Vec::len);
                            Value::Array(vec![Value::Null; n])
                        }
                        _ => Value::Null,
                    };
                    let reply = json!({"jsonrpc": "2.0", "id": msg["id"], "result": result});
                    if let Ok(mut w) = replies.lock() {
                        let _ = write_message(&mut *w, &reply);
                    }
                    continue;
                }
                if tx.send((at, msg)).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            child,
            stdin,
            rx,
            next_id: 0,
            encoding: String::new(),
            run_events,
        };
        let root_uri = file_uri(root);
        let result = server.request(
            "initialize",
            json!({
                "processId": std::process::id(),
                "clientInfo": {"name": "planai-lsp-bench"},
                "rootUri": root_uri,
                "workspaceFolders": [{"uri": root_uri, "name": "bench"}],
                "capabilities": {
                    "general": {"positionEncodings": ["utf-8", "utf-16"]},
                    "textDocument": {
                        "synchronization": {"didSave": true},
                        "publishDiagnostics": {"relatedInformation": true, "versionSupport": true}
                    }
                },
                "initializationOptions": initialization_options
            }),
        );
        server.encoding = result["capabilities"]["positionEncoding"]
            .as_str()
            .unwrap_or("utf-16 (default)")
            .to_string();
        server.notify("initialized", json!({}));
        server
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn send(&mut self, msg: &Value) {
        let ok = match self.stdin.lock() {
            Ok(mut w) => write_message(&mut *w, msg).is_ok(),
            Err(_) => false,
        };
        if !ok {
            self.abort("the server closed its stdin");
        }
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    pub fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let deadline = Instant::now() + OPEN_TIMEOUT;
        loop {
            let Some((_, msg)) = self.recv_until(deadline) else {
                self.abort(&format!("no response to {method}"));
            };
            if msg["id"] == id && msg.get("method").is_none() {
                if let Some(error) = msg.get("error") {
                    self.abort(&format!("{method} failed: {error}"));
                }
                return msg["result"].clone();
            }
        }
    }

    /// The next message from the server (with the instant it was read), or `None` at
    /// `deadline`.
    pub fn recv_until(&mut self, deadline: Instant) -> Option<(Instant, Value)> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(left) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => self.abort("the server exited"),
        }
    }

    /// The `planai/runEvents` notifications read so far.
    pub fn run_events(&self) -> RunEventsSeen {
        self.run_events
            .lock()
            .map(|seen| seen.clone())
            .unwrap_or_default()
    }

    /// Discards every message received so far.
    pub fn drain(&mut self) {
        while self.rx.try_recv().is_ok() {}
    }

    /// Reads messages until none arrived for `quiet` (or `max` has passed) and returns the
    /// `publishDiagnostics` among them, so that the next publish is caused by what is sent next.
    pub fn settle(&mut self, quiet: Duration, max: Duration) -> Vec<Value> {
        let end = Instant::now() + max;
        let mut published = Vec::new();
        loop {
            let deadline = (Instant::now() + quiet).min(end);
            let Some((_, msg)) = self.recv_until(deadline) else {
                return published;
            };
            if msg["method"] == "textDocument/publishDiagnostics" {
                published.push(msg);
            }
        }
    }

    /// Waits for the `publishDiagnostics` of `uri` that carries `version`; after a
    /// [`drain`](Self::drain), that is the next such publish.
    pub fn wait_publish(&mut self, uri: &str, version: i64, timeout: Duration) -> (Instant, Value) {
        let deadline = Instant::now() + timeout;
        loop {
            let Some((at, msg)) = self.recv_until(deadline) else {
                self.abort(&format!(
                    "timed out after {timeout:?} waiting for diagnostics of {uri} version {version}"
                ));
            };
            if msg["method"] == "textDocument/publishDiagnostics"
                && msg["params"]["uri"] == uri
                && msg["params"]["version"] == version
            {
                return (at, msg);
            }
        }
    }

    /// Sends one incremental change and waits for the diagnostics of the new version.
    pub fn change(
        &mut self,
        uri: &str,
        version: i64,
        change: Value,
        timeout: Duration,
    ) -> (Duration, Value) {
        self.drain();
        let start = Instant::now();
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]}),
        );
        let (at, msg) = self.wait_publish(uri, version, timeout);
        (at - start, msg)
    }

    /// Sends `didSave` for `uri` (whose current version is `version`) and waits for the next
    /// diagnostics published for that version.
    pub fn save(&mut self, uri: &str, version: i64, timeout: Duration) -> (Duration, Value) {
        self.drain();
        let start = Instant::now();
        self.notify(
            "textDocument/didSave",
            json!({"textDocument": {"uri": uri}}),
        );
        let (at, msg) = self.wait_publish(uri, version, timeout);
        (at - start, msg)
    }

    /// (VmRSS, VmHWM) of the server in KiB.
    pub fn rss(&self) -> (u64, u64) {
        (
            proc_status_kib(self.pid(), "VmRSS:").unwrap_or(0),
            proc_status_kib(self.pid(), "VmHWM:").unwrap_or(0),
        )
    }

    /// (`RssAnon`, `RssFile`) in KiB: heap and stacks vs. pages of the binary and libraries.
    pub fn rss_parts(&self) -> (u64, u64) {
        (
            proc_status_kib(self.pid(), "RssAnon:").unwrap_or(0),
            proc_status_kib(self.pid(), "RssFile:").unwrap_or(0),
        )
    }

    pub fn stop(mut self) {
        let _ = self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("warning: the server did not exit after shutdown/exit; killing it");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn abort(&mut self, message: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        fail(message)
    }
}

/// The next message from the server; None once its output ends or is not a valid
/// JSON message (the bench then fails on the missing answer).
pub fn read_message<R: std::io::Read + Unpin>(
    reader: &mut BlockingFrameReader<R>,
) -> Option<Value> {
    match reader.next_frame().ok()? {
        Frame::Body(body) => serde_json::from_slice(&body).ok(),
        Frame::Malformed(reason) => {
            eprintln!("the server sent a malformed frame: {reason}");
            None
        }
        Frame::Eof => None,
    }
}

pub fn write_message(w: &mut impl Write, msg: &Value) -> std::io::Result<()> {
    w.write_all(&encode_frame(&serde_json::to_vec(msg)?))?;
    w.flush()
}

/// A numeric field (in KiB for the `Vm*` ones) of `/proc/<pid>/status`.
pub fn proc_status_kib(pid: u32, name: &str) -> Option<u64> {
    proc_field(pid, "status", name)
}

/// The first number after the line starting with `name` in `/proc/<pid>/<file>`.
pub fn proc_field(pid: u32, file: &str, name: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// The release binary (`target/release/planai-lsp` or `$PLANAI_LSP_BIN`); exits with a hint
/// when it is missing.
pub fn binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("PLANAI_LSP_BIN") {
        let bin = PathBuf::from(bin);
        if !bin.is_file() {
            fail(&format!("PLANAI_LSP_BIN={} is not a file", bin.display()));
        }
        return bin;
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let bin = target.join("release").join("planai-lsp");
    if !bin.is_file() {
        fail(&format!(
            "{} not found: run `cargo build --release` first (or set PLANAI_LSP_BIN)",
            bin.display()
        ));
    }
    bin
}

pub fn file_uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

pub fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// The nearest-rank `p`th percentile.
pub fn percentile(samples: &[Duration], p: usize) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = (p * sorted.len()).div_ceil(100).clamp(1, sorted.len());
    sorted[rank - 1]
}

pub fn med_p90(samples: &[Duration]) -> String {
    format!(
        "{} / {}",
        ms(percentile(samples, 50)),
        ms(percentile(samples, 90))
    )
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

pub fn mb(kib: u64) -> String {
    format!("{:.1} MB", kib as f64 / 1024.0)
}

pub fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

/// Prints `<bench name>: message` and exits with status 1.
pub fn fail(message: &str) -> ! {
    eprintln!("{}: {message}", env!("CARGO_CRATE_NAME"));
    std::process::exit(1)
}
