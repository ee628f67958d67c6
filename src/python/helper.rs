//! The warm helper: a Python process (running the embedded `helper.py`) that imports planai
//! once and answers JSON-lines requests, forking a child per request.
//!
//! [`HelperProcess`] is one running helper: it spawns it in its own process group, routes
//! responses to callers by id, lets at most `max_concurrent` child-forking requests run at
//! once, cancels requests nobody waits for any more, forwards its stderr to `tracing`, and
//! kills the whole process tree.
//! [`HelperSupervisor`] owns at most one helper per interpreter: it starts it lazily, restarts
//! it with exponential backoff after a crash or a hang, publishes a [`HelperStatus`] for the
//! editor, and refuses to launch anything in an untrusted workspace.

use super::envs::{planai_missing_message, PythonEnvironment};
use super::process;
use super::protocol::{
    cancel_line, HelloEvent, HelperError, HelperErrorKind, HelperRequest, IncomingMessage,
    ReadyEvent, RequestEnvelope, Shutdown, ShutdownParams,
};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{mpsc, oneshot, watch, Notify, OwnedSemaphorePermit, Semaphore};

/// The helper script, embedded in the binary.
pub const HELPER_SCRIPT: &str = include_str!("helper.py");

const LOG_TARGET: &str = "planai_lsp::helper";
/// How many stderr lines to keep for crash messages, and how many of them a message shows.
const STDERR_TAIL_LINES: usize = 20;
const MESSAGE_STDERR_LINES: usize = 6;
/// How many requests may have a forked child running at once, by default (the rest wait).
pub const DEFAULT_MAX_CONCURRENT: usize = 2;

/// Which helper script to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HelperScript {
    /// The `helper.py` compiled into this binary.
    Embedded,
    /// Script text given at runtime (tests use small fake helpers).
    Source(String),
}

impl HelperScript {
    fn text(&self) -> &str {
        match self {
            HelperScript::Embedded => HELPER_SCRIPT,
            HelperScript::Source(text) => text,
        }
    }
}

/// How the script reaches the interpreter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptDelivery {
    /// Written to a private temp file (the normal case: tracebacks and `--one-shot` can find it).
    TempFile,
    /// Passed with `-c`: for argv interpreters (`docker exec …`) that cannot see our temp files.
    Inline,
}

/// How to start one helper.
#[derive(Clone, Debug)]
pub struct HelperConfig {
    /// argv of the interpreter; the helper's own flags and script are appended.
    pub interpreter: Vec<String>,
    pub script: HelperScript,
    pub delivery: ScriptDelivery,
    /// Grace period between SIGTERM and SIGKILL of the process tree.
    pub kill_grace: Duration,
    /// At most this many requests that fork a child run at once; later ones wait their turn
    /// (a cancelled request keeps its turn until its child is dead).
    pub max_concurrent: usize,
}

impl HelperConfig {
    /// The embedded helper on `interpreter`; scripts go inline for multi-word argv
    /// interpreters (`uv run python`, containers), to a temp file otherwise.
    pub fn new(interpreter: Vec<String>) -> Self {
        // Inline only on unix: Windows caps a whole command line at 32 K characters.
        let delivery = if interpreter.len() > 1 && cfg!(unix) {
            ScriptDelivery::Inline
        } else {
            ScriptDelivery::TempFile
        };
        Self {
            interpreter,
            script: HelperScript::Embedded,
            delivery,
            kill_grace: Duration::from_secs(1),
            max_concurrent: DEFAULT_MAX_CONCURRENT,
        }
    }

    pub fn for_environment(env: &PythonEnvironment) -> Self {
        Self::new(env.interpreter.clone())
    }

    fn display_interpreter(&self) -> String {
        self.interpreter.join(" ")
    }
}

/// What is known about a running helper.
#[derive(Clone, Debug, Default)]
pub struct ProcessState {
    pub hello: Option<HelloEvent>,
    pub ready: Option<ReadyEvent>,
    /// Set once the helper can no longer answer (stdout closed or process exited): why.
    pub dead: Option<String>,
    /// Set once the process has been reaped.
    pub exited: bool,
}

type PendingMap = HashMap<u64, Pending>;

/// A request the helper has not answered yet.
struct Pending {
    /// Who waits for the answer; `None` once the caller gave up and `cancel` was sent.
    sender: Option<oneshot::Sender<Result<Value, HelperError>>>,
    /// The request's turn among the concurrently running children: given back when the helper
    /// answers (for a cancelled request, once its child is dead) or dies.
    _turn: Option<OwnedSemaphorePermit>,
}

/// A line for the stdin writer task, acknowledged once written (or failed).
struct Outgoing {
    line: Vec<u8>,
    written: Option<oneshot::Sender<Result<(), String>>>,
}

/// State shared between a [`HelperProcess`] and its reader/stderr/reaper tasks.
struct Shared {
    interpreter: String,
    pending: Mutex<PendingMap>,
    state: watch::Sender<ProcessState>,
    stderr_tail: Mutex<VecDeque<String>>,
    kill_requested: Notify,
}

impl Shared {
    /// The last `lines` stderr lines, joined.
    fn stderr_tail(&self, lines: usize) -> String {
        self.stderr_tail
            .lock()
            .map(|tail| {
                let skip = tail.len().saturating_sub(lines);
                tail.iter()
                    .skip(skip)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }

    /// Why the helper is gone, with the end of its stderr (usually the Python traceback).
    fn death_reason(&self, what: &str) -> String {
        let mut reason = format!("The planai helper (`{}`) {what}.", self.interpreter);
        let tail = self.stderr_tail(MESSAGE_STDERR_LINES);
        if !tail.is_empty() {
            reason.push_str(" Its last output:\n");
            reason.push_str(&tail);
        }
        reason
    }

    /// Marks the helper dead (first reason wins) and fails every pending request.
    fn mark_dead(&self, reason: String) {
        self.state.send_modify(|s| {
            if s.dead.is_none() {
                s.dead = Some(reason.clone());
            }
        });
        let reason = self.state.borrow().dead.clone().unwrap_or(reason);
        let drained: Vec<_> = self
            .pending
            .lock()
            .map(|mut pending| pending.drain().collect())
            .unwrap_or_default();
        for (_, pending) in drained {
            if let Some(sender) = pending.sender {
                let _ = sender.send(Err(HelperError::new(
                    HelperErrorKind::Crashed,
                    reason.clone(),
                )));
            }
        }
    }
}

/// One running helper process. Dropping it kills its process tree.
pub struct HelperProcess {
    shared: Arc<Shared>,
    pid: Option<u32>,
    /// To the task that owns the helper's stdin (closed, i.e. EOF for the helper, on drop).
    writer: mpsc::UnboundedSender<Outgoing>,
    /// Turns for requests that fork a child (`max_concurrent` of them).
    turns: Arc<Semaphore>,
    next_id: AtomicU64,
    started_at: Instant,
    // Kept alive for the process's lifetime. (The scratch cwd belongs to the reaper, which
    // removes it once the process is gone and can no longer write into it.)
    _script: Option<tempfile::TempPath>,
}

impl std::fmt::Debug for HelperProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HelperProcess")
            .field("interpreter", &self.shared.interpreter)
            .field("pid", &self.pid)
            .finish()
    }
}

impl HelperProcess {
    /// Starts `<interpreter…> -I -B -u <script>` in a scratch cwd and its own process group
    /// (the helper makes itself a subreaper: everything it starts stays in its tree).
    /// Must be called inside a tokio runtime. Returns once the process runs (not once it is
    /// ready: see [`HelperProcess::wait_ready`]).
    pub fn spawn(config: &HelperConfig) -> Result<Arc<Self>, HelperError> {
        let unavailable = |message: String| HelperError::new(HelperErrorKind::Unavailable, message);
        let Some((program, interpreter_args)) = config.interpreter.split_first() else {
            return Err(unavailable(
                "The Python interpreter command is empty.".into(),
            ));
        };
        let scratch = tempfile::Builder::new()
            .prefix("planai-lsp-helper-")
            .tempdir()
            .map_err(|e| unavailable(format!("Cannot create a scratch directory: {e}")))?;

        let mut command = Command::new(program);
        command.args(interpreter_args).args(["-I", "-B", "-u"]);
        let script_file = match config.delivery {
            ScriptDelivery::TempFile => {
                let mut file = tempfile::Builder::new()
                    .prefix("planai_lsp_helper_")
                    .suffix(".py")
                    .tempfile()
                    .map_err(|e| unavailable(format!("Cannot write the helper script: {e}")))?;
                std::io::Write::write_all(&mut file, config.script.text().as_bytes())
                    .map_err(|e| unavailable(format!("Cannot write the helper script: {e}")))?;
                let path = file.into_temp_path();
                command.arg(path.as_os_str());
                Some(path)
            }
            ScriptDelivery::Inline => {
                command.arg("-c").arg(config.script.text());
                None
            }
        };
        // The helper's own temp dirs (and user code's) go into the scratch dir too, so they
        // are removed with it even when the helper dies by SIGKILL and cannot clean up.
        let temp_vars: &[&str] = if cfg!(windows) {
            &["TEMP", "TMP"]
        } else {
            &["TMPDIR"]
        };
        for var in temp_vars {
            command.env(var, scratch.path());
        }
        command
            .current_dir(scratch.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        process::isolate(&mut command);

        let mut child = process::spawn(&mut command).map_err(|e| {
            let shown = config.display_interpreter();
            unavailable(if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "The Python interpreter `{shown}` was not found. Select another one with the \
                     `planai.selectEnvironment` command or fix the `planai.python` setting."
                )
            } else {
                format!("Could not start the Python interpreter `{shown}`: {e}")
            })
        })?;
        let pid = child.id();
        let (state, _) = watch::channel(ProcessState::default());
        let shared = Arc::new(Shared {
            interpreter: config.display_interpreter(),
            pending: Mutex::new(HashMap::new()),
            state,
            stderr_tail: Mutex::new(VecDeque::new()),
            kill_requested: Notify::new(),
        });
        tracing::info!(target: LOG_TARGET, pid, interpreter = %shared.interpreter, "started helper");

        let (writer, outgoing) = mpsc::unbounded_channel();
        if let Some(stdin) = child.stdin.take() {
            tokio::spawn(write_stdin(stdin, outgoing));
        }
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(read_stdout(shared.clone(), stdout));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(forward_stderr(shared.clone(), stderr, pid));
        }
        tokio::spawn(reap(shared.clone(), child, pid, config.kill_grace, scratch));

        Ok(Arc::new(Self {
            shared,
            pid,
            writer,
            turns: Arc::new(Semaphore::new(config.max_concurrent.max(1))),
            next_id: AtomicU64::new(1),
            started_at: Instant::now(),
            _script: script_file,
        }))
    }

    /// OS process id (also its process group id).
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    pub fn state(&self) -> ProcessState {
        self.shared.state.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<ProcessState> {
        self.shared.state.subscribe()
    }

    pub fn is_alive(&self) -> bool {
        self.shared.state.borrow().dead.is_none()
    }

    /// How long ago the process was started.
    pub fn uptime(&self) -> Duration {
        self.started_at.elapsed()
    }

    /// The last lines the helper wrote to stderr (for error messages).
    pub fn stderr_tail(&self) -> String {
        self.shared.stderr_tail(STDERR_TAIL_LINES)
    }

    /// Waits for the `ready` event (planai imported or not). Fails with `Crashed` if the helper
    /// dies first, `Unresponsive` after `timeout`.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<ReadyEvent, HelperError> {
        let mut state = self.shared.state.subscribe();
        let wait = async {
            loop {
                {
                    let s = state.borrow_and_update();
                    if let Some(ready) = &s.ready {
                        return Ok(ready.clone());
                    }
                    if let Some(reason) = &s.dead {
                        return Err(HelperError::new(HelperErrorKind::Crashed, reason.clone()));
                    }
                }
                if state.changed().await.is_err() {
                    return Err(HelperError::new(
                        HelperErrorKind::Crashed,
                        "the helper's state channel closed",
                    ));
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.unwrap_or_else(|_| {
            Err(HelperError::new(
                HelperErrorKind::Unresponsive,
                format!(
                    "The planai helper (`{}`) was not ready after {:.0} s (importing planai usually \
                     takes 3–6 s).",
                    self.shared.interpreter,
                    timeout.as_secs_f64()
                ),
            ))
        })
    }

    /// Resolves once the helper can no longer answer; returns why.
    pub async fn wait_dead(&self) -> String {
        let mut state = self.shared.state.subscribe();
        loop {
            if let Some(reason) = state.borrow_and_update().dead.clone() {
                return reason;
            }
            if state.changed().await.is_err() {
                return "the helper's state channel closed".into();
            }
        }
    }

    /// Resolves once the process has been reaped.
    async fn wait_exited(&self) {
        let mut state = self.shared.state.subscribe();
        while !state.borrow_and_update().exited {
            if state.changed().await.is_err() {
                return;
            }
        }
    }

    /// Sends one request and waits for its response, at most `timeout` (a client-side bound on
    /// top of the helper's own `timeout_ms`). `Unresponsive` means the helper itself hangs.
    ///
    /// A request that forks a child first waits for its turn (at most `max_concurrent` run at
    /// once; the wait does not count against `timeout`). If the returned future is dropped
    /// before the answer arrives (a superseded validation, `$/cancelRequest`) or `timeout`
    /// passes, the helper is told to `cancel` it, which kills the child's process tree.
    pub async fn request<R: HelperRequest>(
        &self,
        params: R::Params,
        timeout: Duration,
    ) -> Result<R::Result, HelperError> {
        if let Some(reason) = self.shared.state.borrow().dead.clone() {
            return Err(HelperError::new(HelperErrorKind::Crashed, reason));
        }
        let turn = if R::FORKS_CHILD {
            Some(self.wait_for_turn().await?)
        } else {
            None
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut line = serde_json::to_vec(&RequestEnvelope {
            id,
            method: R::METHOD,
            params: &params,
        })
        .map_err(|e| {
            HelperError::new(
                HelperErrorKind::BadRequest,
                format!("cannot encode params: {e}"),
            )
        })?;
        drop(params);
        line.push(b'\n');

        let (sender, receiver) = oneshot::channel();
        if let Ok(mut pending) = self.shared.pending.lock() {
            pending.insert(
                id,
                Pending {
                    sender: Some(sender),
                    _turn: turn,
                },
            );
        }
        // A helper that died between the check above and the insert would leave this request
        // pending forever; re-check now that it is registered.
        if let Some(reason) = self.shared.state.borrow().dead.clone() {
            self.forget(id);
            return Err(HelperError::new(HelperErrorKind::Crashed, reason));
        }
        let (written_tx, written_rx) = oneshot::channel();
        let queued = self.writer.send(Outgoing {
            line,
            written: Some(written_tx),
        });
        if queued.is_err() {
            self.forget(id);
            return Err(HelperError::new(
                HelperErrorKind::Crashed,
                "the helper's stdin is closed",
            ));
        }
        // From here on, giving up (dropping this future, or the timeout) cancels the request.
        let mut in_flight = InFlight {
            process: self,
            id,
            answered: false,
        };
        let started = Instant::now();
        let written = std::sync::atomic::AtomicBool::new(false);
        let outcome = tokio::time::timeout(timeout, async {
            let not_written = match written_rx.await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(format!("cannot write to the helper: {e}")),
                Err(_) => Some("the helper's stdin is closed".to_string()),
            };
            if let Some(why) = not_written {
                self.forget(id);
                return Err(HelperError::new(HelperErrorKind::Crashed, why));
            }
            written.store(true, Ordering::Relaxed);
            receiver.await.map_err(|_| {
                HelperError::new(
                    HelperErrorKind::Crashed,
                    "the helper went away without answering",
                )
            })?
        })
        .await;
        in_flight.answered = outcome.is_ok();
        let value = match outcome {
            Ok(result) => result?,
            Err(_) => {
                drop(in_flight);
                if !written.load(Ordering::Relaxed) {
                    // It does not even read its input: hung.
                    self.shared
                        .mark_dead("a request could not be written to the helper in time".into());
                }
                return Err(HelperError::new(
                    HelperErrorKind::Unresponsive,
                    format!(
                        "The planai helper (`{}`) did not answer a `{}` request within {:.1} s.",
                        self.shared.interpreter,
                        R::METHOD,
                        timeout.as_secs_f64()
                    ),
                ));
            }
        };
        tracing::debug!(target: LOG_TARGET, id, method = R::METHOD, elapsed_ms = started.elapsed().as_millis() as u64, "helper answered");
        serde_json::from_value(value).map_err(|e| {
            HelperError::new(
                HelperErrorKind::Protocol,
                format!("unexpected `{}` result from the helper: {e}", R::METHOD),
            )
        })
    }

    /// Waits until fewer than `max_concurrent` requests have a child running.
    async fn wait_for_turn(&self) -> Result<OwnedSemaphorePermit, HelperError> {
        tokio::select! {
            biased;
            turn = self.turns.clone().acquire_owned() => turn.map_err(|_| {
                HelperError::new(HelperErrorKind::Crashed, "the helper is shutting down")
            }),
            reason = self.wait_dead() => Err(HelperError::new(HelperErrorKind::Crashed, reason)),
        }
    }

    fn forget(&self, id: u64) {
        if let Ok(mut pending) = self.shared.pending.lock() {
            pending.remove(&id);
        }
    }

    /// Kills the helper and everything it started (SIGTERM, on which it kills its own tree;
    /// after the grace period the whole tree is stopped and SIGKILLed) and waits until the
    /// helper has been reaped.
    pub async fn kill(&self) {
        self.shared.kill_requested.notify_one();
        self.wait_exited().await;
    }

    /// Asks the helper to exit (`shutdown`) and gives it `timeout` to clean up, then kills the
    /// tree whatever happened.
    pub async fn shutdown(&self, timeout: Duration) {
        if self.is_alive() {
            let asked = self.request::<Shutdown>(ShutdownParams {}, timeout).await;
            if asked.is_ok() {
                let _ = tokio::time::timeout(timeout, self.wait_exited()).await;
            }
        }
        self.kill().await;
    }
}

/// A request written to the helper and not answered yet; dropping it unanswered tells the
/// helper to cancel it (killing its child's tree). Its pending entry, and so its turn, stays
/// until the helper's `cancelled` answer (sent once the child is dead) or the helper's death.
struct InFlight<'a> {
    process: &'a HelperProcess,
    id: u64,
    answered: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.answered {
            return;
        }
        let still_pending = self
            .process
            .shared
            .pending
            .lock()
            .ok()
            .and_then(|mut pending| pending.get_mut(&self.id).map(|entry| entry.sender = None))
            .is_some();
        if still_pending {
            tracing::debug!(target: LOG_TARGET, id = self.id, "cancelling a request nobody waits for");
            let _ = self.process.writer.send(Outgoing {
                line: cancel_line(self.id),
                written: None,
            });
        }
    }
}

impl Drop for HelperProcess {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            if !self.shared.state.borrow().exited {
                // Stop and kill the whole tree while the helper still holds it together.
                process::kill_tree(pid, true);
                process::kill_group_now(pid);
            }
        }
        self.shared.kill_requested.notify_one();
    }
}

/// Owns the helper's stdin: writes queued lines in order (a request whose caller gave up is
/// still written whole, so the stream never carries half a line). Ends, closing stdin, when
/// the `HelperProcess` is dropped.
async fn write_stdin(mut stdin: ChildStdin, mut lines: mpsc::UnboundedReceiver<Outgoing>) {
    let mut failed: Option<String> = None;
    while let Some(Outgoing { line, written }) = lines.recv().await {
        let result = match &failed {
            Some(error) => Err(error.clone()),
            None => {
                let write = async {
                    stdin.write_all(&line).await?;
                    stdin.flush().await
                };
                write.await.map_err(|e| {
                    let error = e.to_string();
                    failed = Some(error.clone());
                    error
                })
            }
        };
        if let Some(written) = written {
            let _ = written.send(result);
        }
    }
}

/// Parses stdout lines: events update the state, responses go to their waiting callers.
async fn read_stdout(shared: Arc<Shared>, stdout: tokio::process::ChildStdout) {
    let mut reader = BufReader::new(stdout);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match reader.read_until(b'\n', &mut buffer).await {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(target: LOG_TARGET, "reading the helper's stdout failed: {e}");
                break;
            }
        }
        let line = String::from_utf8_lossy(&buffer);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match IncomingMessage::parse(line) {
            Ok(IncomingMessage::Hello(hello)) => {
                if hello.protocol != super::protocol::PROTOCOL_VERSION {
                    tracing::warn!(target: LOG_TARGET, protocol = hello.protocol, "helper speaks another protocol version");
                }
                tracing::debug!(target: LOG_TARGET, pid = hello.pid, python = %hello.python, "helper hello");
                shared.state.send_modify(|s| s.hello = Some(hello));
            }
            Ok(IncomingMessage::Ready(ready)) => {
                tracing::info!(target: LOG_TARGET, planai = ?ready.planai, import_error = ?ready.import_error, import_seconds = ready.import_seconds, "helper ready");
                shared.state.send_modify(|s| s.ready = Some(ready));
            }
            Ok(IncomingMessage::UnknownEvent(name)) => {
                tracing::debug!(target: LOG_TARGET, event = %name, "ignoring unknown helper event");
            }
            Ok(IncomingMessage::Response { id, outcome }) => {
                // Removing the entry also gives the request's turn back.
                let sender = shared
                    .pending
                    .lock()
                    .ok()
                    .and_then(|mut pending| pending.remove(&id))
                    .and_then(|pending| pending.sender);
                match sender {
                    Some(sender) => {
                        let _ = sender.send(outcome);
                    }
                    None => {
                        tracing::debug!(target: LOG_TARGET, id, "response to a request nobody waits for (cancelled or timed out)")
                    }
                }
            }
            Err(why) => {
                let shown: String = line.chars().take(200).collect();
                tracing::warn!(target: LOG_TARGET, "ignoring a helper stdout line ({why}): {shown}");
            }
        }
    }
    // Give the reaper a moment, so the reason names the exit status (it marks dead first).
    let mut state = shared.state.subscribe();
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while !state.borrow_and_update().exited {
            if state.changed().await.is_err() {
                return;
            }
        }
    })
    .await;
    shared.mark_dead(shared.death_reason("closed its output"));
}

/// Forwards the helper's stderr to the log line by line, keeping a tail for crash messages.
async fn forward_stderr(
    shared: Arc<Shared>,
    stderr: tokio::process::ChildStderr,
    pid: Option<u32>,
) {
    let mut reader = BufReader::new(stderr);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match reader.read_until(b'\n', &mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let line = String::from_utf8_lossy(&buffer).trim_end().to_string();
        if line.is_empty() {
            continue;
        }
        tracing::info!(target: LOG_TARGET, pid, "{line}");
        if let Ok(mut tail) = shared.stderr_tail.lock() {
            if tail.len() == STDERR_TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }
}

/// Owns the `Child`: waits for it to exit, or kills its group when asked; then removes the
/// scratch directory.
async fn reap(
    shared: Arc<Shared>,
    mut child: Child,
    pid: Option<u32>,
    grace: Duration,
    scratch: tempfile::TempDir,
) {
    let status = tokio::select! {
        status = child.wait() => status,
        _ = shared.kill_requested.notified() => {
            terminate(&mut child, pid, grace).await
        }
    };
    // The leader may be gone while processes it started in its group linger.
    if let Some(pid) = pid {
        process::kill_group_now(pid);
    }
    process::forget(pid);
    // Its children die with it (parent-death signal); what they started is reparented to us
    // (we are a subreaper when we are the server binary): kill and reap it.
    process::sweep_orphans_after_exit();
    let description = match &status {
        Ok(status) => status.to_string(),
        Err(e) => format!("unknown status ({e})"),
    };
    tracing::info!(target: LOG_TARGET, pid, status = %description, "helper exited");
    // Let the stderr forwarder drain the last lines (the traceback) before composing the reason.
    tokio::time::sleep(Duration::from_millis(50)).await;
    shared.mark_dead(shared.death_reason(&format!("exited ({description})")));
    shared.state.send_modify(|s| s.exited = true);
    remove_scratch(scratch).await;
}

/// Removes the helper's scratch dir. Children the helper forked (in their own process groups)
/// may still be finishing and cleaning up their own temp dirs inside it, so retry briefly.
async fn remove_scratch(scratch: tempfile::TempDir) {
    let path = scratch.keep();
    for attempt in 0..10 {
        match std::fs::remove_dir_all(&path) {
            Ok(()) => return,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) if attempt == 9 => {
                tracing::warn!(target: LOG_TARGET, path = %path.display(), "cannot remove the helper's scratch dir: {e}");
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

async fn terminate(
    child: &mut Child,
    pid: Option<u32>,
    grace: Duration,
) -> std::io::Result<std::process::ExitStatus> {
    #[cfg(unix)]
    if let Some(pid) = pid {
        // On SIGTERM the helper kills its whole tree and exits.
        if process::signal_process(pid, libc::SIGTERM) {
            if let Ok(status) = tokio::time::timeout(grace, child.wait()).await {
                return status;
            }
            tracing::debug!(target: LOG_TARGET, pid, "helper ignored SIGTERM; killing its process tree");
        }
        // Not reaped yet, so the pid is still ours; while the helper lives (stopped), everything
        // it started stays below it (it is a subreaper).
        let _ = tokio::task::spawn_blocking(move || process::kill_tree(pid, true)).await;
        process::signal_group(pid, libc::SIGKILL);
    }
    #[cfg(not(unix))]
    let _ = (pid, grace);
    let _ = child.start_kill();
    child.wait().await
}

// ---------------------------------------------------------------------------------------------
// Supervisor

/// Timing knobs of a [`HelperSupervisor`].
#[derive(Clone, Debug)]
pub struct SupervisorSettings {
    /// How long the helper may take to import planai before it counts as hung.
    pub ready_timeout: Duration,
    /// First restart delay; doubled after each consecutive failure, up to `backoff_max`.
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// A helper that ran this long before failing resets the backoff.
    pub healthy_after: Duration,
    /// After this many consecutive failures the supervisor stops restarting on its own and
    /// waits for the next request.
    pub max_eager_restarts: u32,
}

impl Default for SupervisorSettings {
    fn default() -> Self {
        Self {
            ready_timeout: Duration::from_secs(60),
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            healthy_after: Duration::from_secs(60),
            max_eager_restarts: 5,
        }
    }
}

impl SupervisorSettings {
    fn backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(16);
        self.backoff_initial
            .saturating_mul(1u32 << doublings)
            .min(self.backoff_max)
    }
}

/// What the editor should show about the helper.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HelperStatus {
    /// Not started yet (it starts with the first PlanAI file or request).
    Idle,
    /// Starting: importing planai takes about 3 s (5.5 s without .pyc files).
    Starting,
    Ready {
        planai: String,
        python: String,
    },
    /// The helper runs, but planai is not importable; `message` says how to fix it.
    PlanaiMissing {
        message: String,
    },
    /// It crashed, hung or could not start; `message` says why (and when it restarts).
    Failed {
        message: String,
    },
    /// Shut down on purpose.
    Stopped,
    /// The workspace is untrusted: no interpreter is ever launched.
    Untrusted,
}

impl HelperStatus {
    /// A message for the user (window/showMessage or a status item), if one is due.
    pub fn user_message(&self) -> Option<String> {
        match self {
            HelperStatus::PlanaiMissing { message } | HelperStatus::Failed { message } => {
                Some(message.clone())
            }
            HelperStatus::Untrusted => Some(untrusted_message()),
            _ => None,
        }
    }
}

fn untrusted_message() -> String {
    "The workspace is not trusted, so planai-lsp does not run Python: PlanAI files are only \
     checked statically. Trust the workspace to validate them in the selected environment."
        .to_string()
}

/// Supervises the helper for one interpreter. Cheap to clone (shared state); all methods
/// take `&self` and may be called from many tasks at once.
#[derive(Clone)]
pub struct HelperSupervisor {
    inner: Arc<SupervisorInner>,
}

struct SupervisorInner {
    config: HelperConfig,
    settings: SupervisorSettings,
    trusted: bool,
    status: watch::Sender<HelperStatus>,
    slot: tokio::sync::Mutex<Slot>,
    /// Dropped with the supervisor; background tasks watch it to stop (and kill the helper).
    alive: watch::Sender<()>,
    /// Helper processes this supervisor tried to start (tests count launches, not time).
    launches: AtomicUsize,
    /// Restarts it scheduled on its own after a failure (the only launches nobody asked for).
    restarts_scheduled: AtomicUsize,
}

#[derive(Default)]
struct Slot {
    process: Option<Arc<HelperProcess>>,
    /// Consecutive failures (crash, hang, failed start).
    failures: u32,
    /// No (re)start before this instant (backoff).
    not_before: Option<Instant>,
    shut_down: bool,
}

impl std::fmt::Debug for HelperSupervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HelperSupervisor")
            .field("interpreter", &self.inner.config.interpreter)
            .field("trusted", &self.inner.trusted)
            .field("status", &*self.inner.status.borrow())
            .finish()
    }
}

impl HelperSupervisor {
    /// A supervisor that starts nothing until [`start`](Self::start) or the first request.
    /// With `trusted == false` it never launches a process.
    pub fn new(config: HelperConfig, trusted: bool) -> Self {
        Self::with_settings(config, SupervisorSettings::default(), trusted)
    }

    pub fn with_settings(
        config: HelperConfig,
        settings: SupervisorSettings,
        trusted: bool,
    ) -> Self {
        let initial = if trusted {
            HelperStatus::Idle
        } else {
            HelperStatus::Untrusted
        };
        let (status, _) = watch::channel(initial);
        let (alive, _) = watch::channel(());
        Self {
            inner: Arc::new(SupervisorInner {
                config,
                settings,
                trusted,
                status,
                slot: tokio::sync::Mutex::new(Slot::default()),
                alive,
                launches: AtomicUsize::new(0),
                restarts_scheduled: AtomicUsize::new(0),
            }),
        }
    }

    pub fn interpreter(&self) -> &[String] {
        &self.inner.config.interpreter
    }

    /// How many child-forking requests may run at once (`HelperConfig::max_concurrent`).
    pub fn max_concurrent(&self) -> usize {
        self.inner.config.max_concurrent
    }

    pub fn is_trusted(&self) -> bool {
        self.inner.trusted
    }

    pub fn status(&self) -> HelperStatus {
        self.inner.status.borrow().clone()
    }

    /// Status changes, for showing messages as they happen.
    pub fn subscribe(&self) -> watch::Receiver<HelperStatus> {
        self.inner.status.subscribe()
    }

    /// How many helper processes this supervisor has tried to start.
    pub fn launches(&self) -> usize {
        self.inner.launches.load(Ordering::SeqCst)
    }

    /// How many restarts it has scheduled on its own after failures (each becomes a launch
    /// when its backoff ends); once `launches` counts them all, none is pending.
    pub fn restarts_scheduled(&self) -> usize {
        self.inner.restarts_scheduled.load(Ordering::SeqCst)
    }

    /// The running helper's pid, if any.
    pub async fn pid(&self) -> Option<u32> {
        let slot = self.inner.slot.lock().await;
        slot.process
            .as_ref()
            .filter(|p| p.is_alive())
            .and_then(|p| p.pid())
    }

    /// Starts the helper in the background if it is not running (call when the first PlanAI
    /// file opens, so it has imported planai by the time the first validation comes).
    pub fn start(&self) {
        if !self.inner.trusted {
            return;
        }
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let deadline = Instant::now() + inner.settings.backoff_max;
            if let Err(e) = inner.process(deadline).await {
                tracing::debug!(target: LOG_TARGET, "background start: {e}");
            }
        });
    }

    /// Waits until the helper has imported planai (or found it missing), starting it if needed.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<ReadyEvent, HelperError> {
        let deadline = Instant::now() + timeout;
        let process = self.inner.process(deadline).await?;
        let remaining = deadline.saturating_duration_since(Instant::now());
        process.wait_ready(remaining).await
    }

    /// Sends a typed request, starting the helper first if needed (waiting for it to be ready
    /// for up to the ready timeout). `timeout` bounds the request itself; when it passes the
    /// helper counts as hung and is killed and restarted.
    pub async fn request<R: HelperRequest>(
        &self,
        params: R::Params,
        timeout: Duration,
    ) -> Result<R::Result, HelperError> {
        let inner = &self.inner;
        let ready_deadline = Instant::now() + inner.settings.ready_timeout;
        let process = inner.process(ready_deadline).await?;
        let remaining = ready_deadline.saturating_duration_since(Instant::now());
        let ready = match process.wait_ready(remaining).await {
            Ok(ready) => ready,
            Err(e) if e.kind == HelperErrorKind::Unresponsive => {
                return Err(HelperError::new(HelperErrorKind::Unavailable, e.message))
            }
            Err(e) => return Err(e),
        };
        match process.request::<R>(params, timeout).await {
            Err(e) if e.kind == HelperErrorKind::Unresponsive => {
                inner.process_failed(&process, e.message.clone()).await;
                Err(e)
            }
            Err(e) if e.kind == HelperErrorKind::PlanaiMissing => Err(HelperError::new(
                HelperErrorKind::PlanaiMissing,
                planai_missing_message(&inner.config.interpreter, ready.import_error.as_deref()),
            )),
            other => other,
        }
    }

    /// Kills the helper and starts a fresh one (e.g. after packages changed), resetting backoff.
    pub async fn restart(&self) {
        let old = {
            let mut slot = self.inner.slot.lock().await;
            if slot.shut_down {
                return;
            }
            slot.failures = 0;
            slot.not_before = None;
            slot.process.take()
        };
        if let Some(old) = old {
            old.kill().await;
        }
        self.inner.set_status(HelperStatus::Idle);
        self.start();
    }

    /// Stops the helper for good (kills its process tree); later requests fail `Unavailable`.
    pub async fn shutdown(&self) {
        let old = {
            let mut slot = self.inner.slot.lock().await;
            slot.shut_down = true;
            slot.process.take()
        };
        if self.inner.trusted {
            self.inner.set_status(HelperStatus::Stopped);
        }
        if let Some(old) = old {
            old.shutdown(Duration::from_secs(1)).await;
        }
    }
}

impl SupervisorInner {
    fn set_status(&self, status: HelperStatus) {
        self.status.send_if_modified(|current| {
            if *current == status {
                false
            } else {
                tracing::info!(target: LOG_TARGET, ?status, "helper status");
                *current = status;
                true
            }
        });
    }

    /// The current helper, starting one if there is none (after waiting out the backoff, if
    /// that ends before `deadline`).
    async fn process(
        self: &Arc<Self>,
        deadline: Instant,
    ) -> Result<Arc<HelperProcess>, HelperError> {
        if !self.trusted {
            return Err(HelperError::new(
                HelperErrorKind::Untrusted,
                untrusted_message(),
            ));
        }
        loop {
            let mut slot = self.slot.lock().await;
            if slot.shut_down {
                return Err(HelperError::new(
                    HelperErrorKind::Unavailable,
                    "The planai helper has been shut down.",
                ));
            }
            if let Some(process) = &slot.process {
                if process.is_alive() {
                    return Ok(process.clone());
                }
                // Died, and its monitor has not handled it yet: do it here.
                let process = process.clone();
                let reason = process.state().dead.unwrap_or_default();
                self.record_failure(&mut slot, &process, reason);
                continue;
            }
            if let Some(not_before) = slot.not_before {
                let now = Instant::now();
                if now < not_before {
                    drop(slot);
                    if not_before > deadline {
                        let message = match self.status.borrow().clone() {
                            HelperStatus::Failed { message } => message,
                            _ => "The planai helper is restarting.".to_string(),
                        };
                        return Err(HelperError::new(HelperErrorKind::Unavailable, message));
                    }
                    tokio::time::sleep_until(not_before.into()).await;
                    continue;
                }
            }
            self.set_status(HelperStatus::Starting);
            self.launches.fetch_add(1, Ordering::SeqCst);
            match HelperProcess::spawn(&self.config) {
                Ok(process) => {
                    slot.process = Some(process.clone());
                    tokio::spawn(monitor(
                        Arc::downgrade(self),
                        process.clone(),
                        self.alive.subscribe(),
                    ));
                    return Ok(process);
                }
                Err(e) => {
                    slot.failures += 1;
                    let delay = self.settings.backoff(slot.failures);
                    slot.not_before = Some(Instant::now() + delay);
                    self.set_status(HelperStatus::Failed {
                        message: e.message.clone(),
                    });
                    return Err(e);
                }
            }
        }
    }

    /// Takes `process` out of the slot (if it is still the current one), counts the failure,
    /// schedules a restart, and kills it.
    async fn process_failed(self: &Arc<Self>, process: &Arc<HelperProcess>, reason: String) {
        {
            let mut slot = self.slot.lock().await;
            self.record_failure(&mut slot, process, reason);
        }
        process.kill().await;
    }

    fn record_failure(
        self: &Arc<Self>,
        slot: &mut Slot,
        process: &Arc<HelperProcess>,
        reason: String,
    ) {
        let is_current = slot
            .process
            .as_ref()
            .is_some_and(|current| Arc::ptr_eq(current, process));
        if !is_current || slot.shut_down {
            return;
        }
        slot.process = None;
        if process.uptime() >= self.settings.healthy_after {
            slot.failures = 0;
        }
        slot.failures += 1;
        let delay = self.settings.backoff(slot.failures);
        let restart_at = Instant::now() + delay;
        slot.not_before = Some(restart_at);
        let eager = slot.failures <= self.settings.max_eager_restarts;
        if eager {
            // Counted before the status says so, so a watcher of the status sees the count.
            self.restarts_scheduled.fetch_add(1, Ordering::SeqCst);
        }
        let next = if eager {
            format!("Restarting in {:.1} s.", delay.as_secs_f64())
        } else {
            "It will be restarted with the next request.".to_string()
        };
        tracing::warn!(target: LOG_TARGET, failures = slot.failures, "helper failed: {reason}");
        self.set_status(HelperStatus::Failed {
            message: format!("{reason} {next}"),
        });
        // Kill it here too (the caller may not await `kill`): SIGKILL-free, the reaper escalates.
        process.shared.kill_requested.notify_one();
        if eager {
            let weak = Arc::downgrade(self);
            let mut alive = self.alive.subscribe();
            tokio::spawn(async move {
                tokio::select! {
                    _ = tokio::time::sleep_until(restart_at.into()) => {}
                    _ = alive.changed() => return,
                }
                let Some(inner) = weak.upgrade() else { return };
                let deadline = Instant::now() + inner.settings.backoff_max;
                if let Err(e) = inner.process(deadline).await {
                    tracing::debug!(target: LOG_TARGET, "restart: {e}");
                }
            });
        }
    }
}

/// Watches one helper: publishes readiness, notices a hang at startup or an exit, and hands
/// failures to the supervisor. Ends (killing the helper via Drop) when the supervisor is gone.
async fn monitor(
    supervisor: Weak<SupervisorInner>,
    process: Arc<HelperProcess>,
    mut supervisor_alive: watch::Receiver<()>,
) {
    let Some(ready_timeout) = supervisor.upgrade().map(|s| s.settings.ready_timeout) else {
        return;
    };
    let ready = tokio::select! {
        ready = process.wait_ready(ready_timeout) => ready,
        _ = supervisor_alive.changed() => return,
    };
    match ready {
        Ok(ready) => {
            let Some(inner) = supervisor.upgrade() else {
                return;
            };
            let still_current = inner
                .slot
                .lock()
                .await
                .process
                .as_ref()
                .is_some_and(|p| Arc::ptr_eq(p, &process));
            if still_current {
                let python = process.state().hello.map(|h| h.python).unwrap_or_default();
                let status = match (&ready.planai, ready.planai_available()) {
                    (Some(planai), true) => HelperStatus::Ready {
                        planai: planai.clone(),
                        python,
                    },
                    _ => HelperStatus::PlanaiMissing {
                        message: planai_missing_message(
                            &inner.config.interpreter,
                            ready.import_error.as_deref(),
                        ),
                    },
                };
                inner.set_status(status);
            }
        }
        Err(e) => {
            if let Some(inner) = supervisor.upgrade() {
                inner.process_failed(&process, e.message).await;
            }
            return;
        }
    }
    let reason = tokio::select! {
        reason = process.wait_dead() => reason,
        _ = supervisor_alive.changed() => return,
    };
    if let Some(inner) = supervisor.upgrade() {
        inner.process_failed(&process, reason).await;
    }
}

/// A client-side timeout for a request whose helper-side budget is `timeout_ms` (the helper's
/// default is 10 s): the helper's own limit plus time for it to kill the child and answer.
pub fn client_timeout(timeout_ms: Option<u64>) -> Duration {
    Duration::from_millis(timeout_ms.unwrap_or(10_000)) + Duration::from_secs(5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let settings = SupervisorSettings::default();
        let seconds: Vec<f64> = (1..=9).map(|n| settings.backoff(n).as_secs_f64()).collect();
        assert_eq!(seconds, [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]);
        assert_eq!(settings.backoff(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn statuses_that_need_a_message_have_one() {
        assert!(HelperStatus::Untrusted.user_message().is_some());
        assert!(HelperStatus::Failed {
            message: "x".into()
        }
        .user_message()
        .is_some());
        assert!(HelperStatus::Starting.user_message().is_none());
        assert_eq!(client_timeout(None), Duration::from_secs(15));
        assert_eq!(client_timeout(Some(1000)), Duration::from_secs(6));
    }

    #[test]
    fn embedded_script_fits_in_one_argument() {
        // Inline delivery passes the script as one argv string; Linux caps those at 128 KiB
        // (MAX_ARG_STRLEN). If helper.py grows past this, switch argv interpreters to a
        // bootstrap that reads the script from stdin.
        assert!(
            HELPER_SCRIPT.len() < 120 * 1024,
            "helper.py is {} bytes",
            HELPER_SCRIPT.len()
        );
    }

    #[cfg(unix)]
    #[test]
    fn argv_interpreters_get_the_script_inline() {
        assert_eq!(
            HelperConfig::new(vec!["/v/bin/python".into()]).delivery,
            ScriptDelivery::TempFile
        );
        assert_eq!(
            HelperConfig::new(vec!["uv".into(), "run".into(), "python".into()]).delivery,
            ScriptDelivery::Inline
        );
    }
}
