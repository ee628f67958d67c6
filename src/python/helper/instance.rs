//! One running helper process: spawn, request routing, turns, cancellation, stderr, reaping.

use super::{HelperConfig, ScriptDelivery, LOG_TARGET};
use crate::python::process;
use crate::python::protocol::{
    cancel_line, HelloEvent, HelperError, HelperErrorKind, HelperRequest, IncomingMessage,
    ReadyEvent, RequestEnvelope, Shutdown, ShutdownParams,
};
use crate::python::scratch::ScratchKind;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{mpsc, oneshot, watch, Notify, OwnedSemaphorePermit, Semaphore};

/// How many stderr lines to keep for crash messages, and how many of them a message shows.
const STDERR_TAIL_LINES: usize = 20;
const MESSAGE_STDERR_LINES: usize = 6;

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
pub(super) struct Shared {
    interpreter: String,
    pending: Mutex<PendingMap>,
    state: watch::Sender<ProcessState>,
    stderr_tail: Mutex<VecDeque<String>>,
    pub(super) kill_requested: Notify,
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
    pub(super) shared: Arc<Shared>,
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
            .prefix(&ScratchKind::Helper.prefix())
            .tempdir()
            .map_err(|e| unavailable(format!("Cannot create a scratch directory: {e}")))?;

        let mut command = Command::new(program);
        command.args(interpreter_args).args(["-I", "-B", "-u"]);
        let script_file = match config.delivery {
            ScriptDelivery::TempFile => {
                let mut file = tempfile::Builder::new()
                    .prefix(&ScratchKind::HelperScript.prefix())
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
                if hello.protocol != crate::python::protocol::PROTOCOL_VERSION {
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
