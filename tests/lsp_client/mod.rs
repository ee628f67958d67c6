//! The LSP test client (`mod lsp_client;`): a temporary workspace ([`WorkspaceBuilder`]) and a
//! [`TestClient`] that drives planai-lsp either in-process over `tokio::io::duplex`
//! ([`WorkspaceBuilder::start`], used by `lsp_server.rs`) or as the built binary over stdio
//! ([`WorkspaceBuilder::start_binary`], used by `e2e_stdio.rs`, `hardening.rs`,
//! `lsp_venv.rs`), with await-with-timeout helpers. Messages are framed by the server's own
//! `planai_lsp::server::framing`, not a parser of our own. Server-to-client requests are
//! answered automatically (configuration from the workspace builder; registrations and
//! progress creation with `null`), unless the test asks the client to stay silent.
//!
//! Python for tests (the shared venv with planai, a Python without it, process accounting)
//! is in `tests/venv_and_processes`.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use planai_lsp::server::framing::{encode_frame, Frame, FrameReader};
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, Mutex};

pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Client capabilities of the editors we support, trimmed to what matters to us.
pub fn vscode_capabilities() -> Value {
    json!({
        "general": {"positionEncodings": ["utf-16"]},
        "workspace": {"configuration": true, "didChangeWatchedFiles": {"dynamicRegistration": true}, "workspaceFolders": true},
        "textDocument": {"publishDiagnostics": {"relatedInformation": true, "versionSupport": true}},
        "window": {"workDoneProgress": true}
    })
}

pub fn neovim_capabilities() -> Value {
    json!({
        "general": {"positionEncodings": ["utf-8", "utf-16", "utf-32"]},
        "workspace": {"configuration": true, "didChangeWatchedFiles": {"dynamicRegistration": false}},
        "textDocument": {"publishDiagnostics": {"relatedInformation": true}},
        "window": {"workDoneProgress": true}
    })
}

pub fn helix_capabilities() -> Value {
    json!({
        "general": {"positionEncodings": ["utf-8", "utf-32", "utf-16"]},
        "workspace": {"configuration": true},
        "textDocument": {"publishDiagnostics": {"versionSupport": true}}
    })
}

/// Builds a temporary workspace and the initialize parameters for a session.
pub struct WorkspaceBuilder {
    files: Vec<(String, String)>,
    executables: Vec<(String, String)>,
    capabilities: Value,
    initialization_options: Value,
    configuration: Value,
    stderr_file: Option<PathBuf>,
}

impl Default for WorkspaceBuilder {
    fn default() -> Self {
        Self {
            files: Vec::new(),
            executables: Vec::new(),
            capabilities: vscode_capabilities(),
            initialization_options: Value::Null,
            configuration: json!({}),
            stderr_file: None,
        }
    }
}

impl WorkspaceBuilder {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn file(mut self, relative: &str, content: &str) -> Self {
        self.files.push((relative.to_string(), content.to_string()));
        self
    }
    pub fn capabilities(mut self, capabilities: Value) -> Self {
        self.capabilities = capabilities;
        self
    }
    pub fn initialization_options(mut self, options: Value) -> Self {
        self.initialization_options = options;
        self
    }
    /// What the client answers to `workspace/configuration` for section `planai`.
    pub fn configuration(mut self, configuration: Value) -> Self {
        self.configuration = configuration;
        self
    }

    /// Where the binary's stderr goes (`start_binary`); by default it is discarded.
    pub fn stderr_to(mut self, file: &Path) -> Self {
        self.stderr_file = Some(file.to_path_buf());
        self
    }

    /// A file with the executable bit set (a fake interpreter, a script).
    pub fn executable(mut self, relative: &str, content: &str) -> Self {
        self.executables
            .push((relative.to_string(), content.to_string()));
        self
    }

    fn write_files(&self) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp workspace");
        for (relative, content) in &self.files {
            let path = dir.path().join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        for (relative, content) in &self.executables {
            use std::os::unix::fs::PermissionsExt;
            let path = dir.path().join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, content).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        dir
    }

    /// Runs the server in this process over duplex pipes and completes the handshake.
    pub async fn start(self) -> TestClient {
        // SAFETY-free in edition 2021: enables the server's test-only requests.
        std::env::set_var("PLANAI_LSP_TEST_HOOKS", "1");
        let workspace = self.write_files();
        let (client_side, server_side) = tokio::io::duplex(1 << 22);
        let (server_read, server_write) = tokio::io::split(server_side);
        let server = tokio::spawn(planai_lsp::server::serve(server_read, server_write));
        let (client_read, client_write) = tokio::io::split(client_side);
        let mut client =
            TestClient::connect(client_read, client_write, workspace, self.configuration);
        client.server_task = Some(server);
        client
            .initialize(self.capabilities, self.initialization_options)
            .await;
        client
    }

    /// Runs the built binary over stdio and completes the handshake.
    pub async fn start_binary(self, envs: &[(&str, &str)]) -> TestClient {
        let workspace = self.write_files();
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_planai-lsp"));
        command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(match &self.stderr_file {
                Some(file) => std::fs::File::create(file).expect("stderr file").into(),
                None => std::process::Stdio::null(),
            })
            .env("PLANAI_LSP_TEST_HOOKS", "1")
            .kill_on_drop(true);
        for (key, value) in envs {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("spawn planai-lsp");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut client = TestClient::connect(stdout, stdin, workspace, self.configuration);
        client.child = Some(child);
        client
            .initialize(self.capabilities, self.initialization_options)
            .await;
        client
    }
}

type Writer = Arc<Mutex<Box<dyn AsyncWrite + Unpin + Send>>>;

pub struct TestClient {
    writer: Writer,
    incoming: mpsc::UnboundedReceiver<Value>,
    backlog: VecDeque<Value>,
    next_id: i64,
    pub workspace: tempfile::TempDir,
    pub initialize_result: Value,
    /// When set, server-to-client requests are never answered (deadlock tests).
    pub silent: Arc<AtomicBool>,
    server_task: Option<tokio::task::JoinHandle<planai_lsp::server::SessionEnd>>,
    pub child: Option<tokio::process::Child>,
}

/// `body` as one Content-Length frame (the server's own encoder).
pub fn encode(body: &str) -> Vec<u8> {
    encode_frame(body.as_bytes())
}

/// The next message from the server; None once its output ends. Panics (ending the reader
/// task, so the test's next wait fails) when the server sends a broken frame or a body that
/// is not JSON: the server must never do that.
async fn read_message<R: AsyncRead + Unpin>(reader: &mut FrameReader<R>) -> Option<Value> {
    match reader.next().await {
        Ok(Frame::Body(body)) => Some(serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!(
                "the server sent a body that is not JSON ({e}): {}",
                String::from_utf8_lossy(&body)
            )
        })),
        Ok(Frame::Malformed(reason)) => panic!("the server sent a malformed frame: {reason}"),
        Ok(Frame::Eof) | Err(_) => None,
    }
}

impl TestClient {
    fn connect<R, W>(read: R, write: W, workspace: tempfile::TempDir, configuration: Value) -> Self
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let writer: Writer = Arc::new(Mutex::new(Box::new(write)));
        let (tx, incoming) = mpsc::unbounded_channel();
        let silent = Arc::new(AtomicBool::new(false));
        let reply_writer = Arc::clone(&writer);
        let reply_silent = Arc::clone(&silent);
        tokio::spawn(async move {
            let mut reader = FrameReader::new(read);
            while let Some(message) = read_message(&mut reader).await {
                if std::env::var_os("PLANAI_TEST_TRACE").is_some() {
                    eprintln!("<= {message}");
                }
                let is_server_request =
                    message.get("method").is_some() && message.get("id").is_some();
                if is_server_request && !reply_silent.load(Ordering::SeqCst) {
                    let result = match message["method"].as_str() {
                        Some("workspace/configuration") => {
                            let count = message["params"]["items"].as_array().map_or(1, Vec::len);
                            Value::Array(vec![configuration.clone(); count])
                        }
                        _ => Value::Null,
                    };
                    let reply = json!({"jsonrpc": "2.0", "id": message["id"], "result": result});
                    let mut w = reply_writer.lock().await;
                    let _ = w.write_all(&encode(&reply.to_string())).await;
                    let _ = w.flush().await;
                }
                if tx.send(message).is_err() {
                    break;
                }
            }
        });
        Self {
            writer,
            incoming,
            backlog: VecDeque::new(),
            next_id: 1,
            workspace,
            initialize_result: Value::Null,
            silent,
            server_task: None,
            child: None,
        }
    }

    pub fn root(&self) -> &Path {
        self.workspace.path()
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.workspace.path().join(relative)
    }

    pub fn uri(&self, relative: &str) -> String {
        file_uri(&self.path(relative))
    }

    async fn initialize(&mut self, capabilities: Value, initialization_options: Value) {
        let root_uri = file_uri(self.workspace.path());
        let result = self
            .request(
                "initialize",
                json!({
                    "processId": null,
                    "rootUri": root_uri,
                    "capabilities": capabilities,
                    "initializationOptions": initialization_options,
                    "workspaceFolders": [{"uri": root_uri, "name": "ws"}],
                }),
            )
            .await;
        self.initialize_result = result.clone();
        assert!(
            result.get("capabilities").is_some(),
            "initialize failed: {result}"
        );
        self.notify("initialized", json!({})).await;
    }

    pub async fn send_raw(&self, bytes: &[u8]) {
        let mut writer = self.writer.lock().await;
        writer.write_all(bytes).await.expect("write to server");
        writer.flush().await.expect("flush");
    }

    pub async fn notify(&self, method: &str, params: Value) {
        let body = json!({"jsonrpc": "2.0", "method": method, "params": params});
        self.send_raw(&encode(&body.to_string())).await;
    }

    /// Sends a request without waiting; returns its id.
    pub async fn send_request(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send_raw(&encode(&body.to_string())).await;
        id
    }

    /// The full response message (with `result` or `error`) for request `id`.
    pub async fn response(&mut self, id: i64) -> Value {
        self.await_message(|m| m.get("id") == Some(&json!(id)) && m.get("method").is_none())
            .await
            .unwrap_or_else(|| panic!("no response to request {id} within {TIMEOUT:?}"))
    }

    /// Sends a request and returns its `result`, panicking on an error reply.
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params).await;
        let response = self.response(id).await;
        if let Some(error) = response.get("error") {
            panic!("{method} failed: {error}");
        }
        response["result"].clone()
    }

    /// Forgets every message received so far (so later waits only see what comes next).
    pub fn forget_received(&mut self) {
        self.backlog.clear();
        while self.incoming.try_recv().is_ok() {}
    }

    /// Waits for the first message matching `predicate`; others are kept for later waits.
    pub async fn await_message(&mut self, predicate: impl Fn(&Value) -> bool) -> Option<Value> {
        if let Some(index) = self.backlog.iter().position(&predicate) {
            return self.backlog.remove(index);
        }
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            let message = tokio::time::timeout_at(deadline, self.incoming.recv())
                .await
                .ok()??;
            if predicate(&message) {
                return Some(message);
            }
            self.backlog.push_back(message);
        }
    }

    /// Waits for a notification with `method` whose params satisfy `predicate`.
    pub async fn await_notification(
        &mut self,
        method: &str,
        predicate: impl Fn(&Value) -> bool,
    ) -> Value {
        let method_owned = method.to_string();
        self.await_message(move |m| {
            m["method"] == method_owned.as_str() && m.get("id").is_none() && predicate(&m["params"])
        })
        .await
        .unwrap_or_else(|| panic!("no {method} notification within {TIMEOUT:?}"))["params"]
            .clone()
    }

    /// Like [`Self::await_notification`] with a longer deadline (venv work starts a Python).
    pub async fn await_notification_within(
        &mut self,
        method: &str,
        within: Duration,
        predicate: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + within;
        if let Some(index) = self
            .backlog
            .iter()
            .position(|m| m["method"] == method && m.get("id").is_none() && predicate(&m["params"]))
        {
            return self.backlog.remove(index).map(|m| m["params"].clone());
        }
        loop {
            let message = tokio::time::timeout_at(deadline, self.incoming.recv())
                .await
                .ok()??;
            if message["method"] == method
                && message.get("id").is_none()
                && predicate(&message["params"])
            {
                return Some(message["params"].clone());
            }
            self.backlog.push_back(message);
        }
    }

    /// Waits for diagnostics of `uri` published for exactly `version`.
    pub async fn await_diagnostics(&mut self, uri: &str, version: i64) -> Vec<Value> {
        let uri_owned = uri.to_string();
        let params = self
            .await_notification("textDocument/publishDiagnostics", move |p| {
                p["uri"] == uri_owned.as_str() && p["version"] == json!(version)
            })
            .await;
        params["diagnostics"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub async fn open(&mut self, relative: &str, text: &str, version: i64) -> String {
        let uri = self.uri(relative);
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "python", "version": version, "text": text}}),
        )
        .await;
        uri
    }

    pub async fn change(&self, uri: &str, version: i64, changes: Value) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": changes}),
        )
        .await;
    }

    /// Replaces `range` by `text` as edit `version` and returns the diagnostics published for
    /// that version.
    pub async fn edit(&mut self, uri: &str, version: i64, range: Value, text: &str) -> Vec<Value> {
        self.change(uri, version, json!([{"range": range, "text": text}]))
            .await;
        self.await_diagnostics(uri, version).await
    }

    /// The server's view of a document (test hook).
    pub async fn server_document(&mut self, uri: &str) -> Value {
        self.request("planai/debug/state", json!({"uri": uri}))
            .await["document"]
            .clone()
    }

    /// Closes the server's input (as an editor that quits or crashes does) and waits for the
    /// server process to exit; panics if it does not within [`TIMEOUT`].
    pub async fn close_input_and_wait(mut self) -> std::process::ExitStatus {
        *self.writer.lock().await = Box::new(tokio::io::sink());
        let mut child = self.child.take().expect("a server process (start_binary)");
        tokio::time::timeout(TIMEOUT, child.wait())
            .await
            .expect("the server exits once its input closes")
            .expect("wait for the server")
    }

    /// Sends `exit` (with or without `shutdown` before it) and waits for the process to exit.
    pub async fn exit_and_wait(mut self) -> std::process::ExitStatus {
        self.notify("exit", Value::Null).await;
        let mut child = self.child.take().expect("a server process (start_binary)");
        tokio::time::timeout(TIMEOUT, child.wait())
            .await
            .expect("the server exits on exit")
            .expect("wait for the server")
    }

    /// Closes the server's input without `shutdown`/`exit`, like an editor that goes away.
    pub async fn close_input(&self) {
        let mut writer = self.writer.lock().await;
        let _ = writer.shutdown().await;
        // Dropping the pipe's write end is what the server sees as EOF.
        *writer = Box::new(tokio::io::sink());
    }

    /// The server's pid (binary sessions only).
    pub fn server_pid(&self) -> Option<u32> {
        self.child.as_ref()?.id()
    }

    /// Waits for the server process to exit (binary sessions only).
    pub async fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        tokio::time::timeout(within, child.wait()).await.ok()?.ok()
    }

    /// Sends `shutdown` and `exit` and waits for the session to end; panics if it has not
    /// ended within [`TIMEOUT`], and (in-process) unless its exit code is 0. Returns the
    /// process's exit status for binary sessions, None for in-process ones.
    pub async fn shutdown(self) -> Option<std::process::ExitStatus> {
        let binary = self.child.is_some();
        let (code, status) = self.shutdown_and_exit().await;
        if !binary {
            assert_eq!(code, 0, "shutdown came before exit");
        }
        status
    }

    /// Sends `shutdown` and `exit`, waits for the session (in-process task or binary) to end
    /// and returns its exit code (and the process status for binary sessions). Panics if the
    /// session has not ended within [`TIMEOUT`].
    pub async fn shutdown_and_exit(mut self) -> (i32, Option<std::process::ExitStatus>) {
        self.request("shutdown", Value::Null).await;
        self.notify("exit", Value::Null).await;
        if let Some(mut child) = self.child.take() {
            let status = tokio::time::timeout(TIMEOUT, child.wait())
                .await
                .unwrap_or_else(|_| panic!("the server did not exit within {TIMEOUT:?} of exit"))
                .expect("wait for the server");
            return (status.code().unwrap_or(-1), Some(status));
        }
        let task = self
            .server_task
            .take()
            .expect("a session started by start() or start_binary()");
        let end = tokio::time::timeout(TIMEOUT, task)
            .await
            .unwrap_or_else(|_| {
                panic!("the in-process session did not end within {TIMEOUT:?} of exit")
            })
            .expect("the session task does not panic");
        (end.exit_code(), None)
    }
}

pub fn file_uri(path: &Path) -> String {
    let mut uri = String::from("file://");
    for byte in path.to_string_lossy().bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                uri.push(byte as char)
            }
            other => uri.push_str(&format!("%{other:02X}")),
        }
    }
    uri
}

pub fn codes(diagnostics: &[Value]) -> Vec<String> {
    diagnostics
        .iter()
        .map(|d| d["code"].as_str().unwrap_or_default().to_string())
        .collect()
}
