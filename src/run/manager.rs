//! [`RunManager`]: starts runs (a run id at once, the run in the background), limits how many
//! run at once, cancels them, times them out, lists them, and turns the runner's pipes into one
//! ordered stream of [`RunEvent`]s that always ends with [`RunEvent::Ended`].

use super::events::{RunEvent, RunOutcome, Stream};
use super::launch::{launch, EVENT_FD};
use super::queue::{self, EventSender, RunEvents};
use super::RUNNER_SCRIPT;
use crate::python::process;
use crate::python::scratch::ScratchKind;
use serde::Serialize;
use serde_json::Value;
use std::collections::VecDeque;
use std::io::{BufRead, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{watch, Semaphore};

/// Defaults of the limits (and of the settings that change them).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
pub const DEFAULT_OUTPUT_CAP: usize = 1024 * 1024;
pub const DEFAULT_MAX_CONCURRENT: usize = 2;
/// How many steps nicer than the server a run starts (`nice -n 10`): a run is background
/// work, and the user typing in the editor meanwhile must get the CPU first.
pub const DEFAULT_NICENESS: i32 = 10;
/// Bytes of event lines a consumer may fall behind by before the runner is made to wait
/// (back-pressure through the pipe, so a chatty run cannot grow our memory).
const EVENT_BUFFER_BYTES: usize = 4 * 1024 * 1024;
/// After handing over a read of fewer bytes than this, the event pipe's reader waits
/// [`EVENT_TRICKLE_PAUSE`] before reading again, so lines written one at a time (the runner
/// writes each event as it happens) are read a few dozen at a time instead of one wake-up of
/// ours per line. A larger read means the runner is fast: read on at once.
const EVENT_TRICKLE_BYTES: usize = 16 * 1024;
/// Far below what a reader of the events notices (the server sends them at most every 50
/// ms), and the pipe's 64 KiB hold far more than the runner writes meanwhile.
const EVENT_TRICKLE_PAUSE: Duration = Duration::from_millis(5);
/// A single event line longer than this is dropped (with a warning event).
const MAX_EVENT_LINE: usize = 16 * 1024 * 1024;
/// After the runner exits, how long its pipes may stay open (held by something it started)
/// before what is left of its tree is killed.
const DRAIN_GRACE: Duration = Duration::from_secs(2);
/// Runs remembered for `list` after they ended.
const KEEP_ENDED: usize = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunLimits {
    pub timeout: Duration,
    /// Bytes of stdout + stderr forwarded per run; the rest is dropped.
    pub output_cap: usize,
    pub max_concurrent: usize,
    /// Steps nicer than us the runner (and so everything it starts) runs at; 0 keeps ours.
    pub niceness: i32,
}

impl Default for RunLimits {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            output_cap: DEFAULT_OUTPUT_CAP,
            max_concurrent: DEFAULT_MAX_CONCURRENT,
            niceness: DEFAULT_NICENESS,
        }
    }
}

/// Where a run's working directory is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScratchLocation {
    /// `<workspace>/.planai/runs/<id>/`, kept after the run (what the workflow wrote stays
    /// there to look at).
    Workspace(PathBuf),
    /// A fresh directory under the system temp dir, removed after the run.
    Temp,
}

/// What to run.
#[derive(Clone, Debug)]
pub struct RunRequest {
    /// argv of the interpreter.
    pub interpreter: Vec<String>,
    /// The module's path (what tracebacks show) and the text to execute (the editor buffer).
    pub path: PathBuf,
    pub source: String,
    /// Workspace folders: put on `sys.path`, and what counts as the user's code.
    pub roots: Vec<PathBuf>,
    /// A function building the graph, or a module-level Graph, by name; `None` runs the
    /// module as `__main__`.
    pub graph: Option<String>,
    /// Initial tasks as JSON objects for the entry worker's Task type; `None` uses the ones
    /// the module's own `run(...)` call passes.
    pub inputs: Option<Vec<Value>>,
    pub mock_llm: bool,
    pub debug: bool,
    /// Overrides the manager's timeout for this run.
    pub timeout: Option<Duration>,
    pub scratch: ScratchLocation,
}

/// What `start` hands back: the run's id and its events (ending with `Ended`).
pub struct StartedRun {
    pub id: String,
    pub events: RunEvents,
}

/// A run as `list` shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunInfo {
    pub id: String,
    pub path: PathBuf,
    pub graph: Option<String>,
    pub debug: bool,
    pub mock_llm: bool,
    /// `waiting`, `running`, or the outcome once ended.
    pub state: String,
    pub pid: Option<u32>,
    pub started_at_ms: u64,
}

struct RunEntry {
    info: Mutex<RunInfo>,
    cancel: watch::Sender<bool>,
}

struct Inner {
    limits: Mutex<RunLimits>,
    slots: Arc<Semaphore>,
    slots_total: AtomicUsize,
    runs: Mutex<VecDeque<Arc<RunEntry>>>,
    next: AtomicU64,
}

/// Runs workflows. Cheap to clone; every clone manages the same runs.
#[derive(Clone)]
pub struct RunManager {
    inner: Arc<Inner>,
}

impl Default for RunManager {
    fn default() -> Self {
        Self::new(RunLimits::default())
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl RunManager {
    pub fn new(limits: RunLimits) -> Self {
        let max = limits.max_concurrent.max(1);
        Self {
            inner: Arc::new(Inner {
                limits: Mutex::new(limits),
                slots: Arc::new(Semaphore::new(max)),
                slots_total: AtomicUsize::new(max),
                runs: Mutex::new(VecDeque::new()),
                next: AtomicU64::new(1),
            }),
        }
    }

    pub fn limits(&self) -> RunLimits {
        *self.inner.limits.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// New limits apply to runs started from now on (more concurrent slots at once; fewer
    /// as running runs end).
    pub fn set_limits(&self, limits: RunLimits) {
        let max = limits.max_concurrent.max(1);
        *self.inner.limits.lock().unwrap_or_else(|e| e.into_inner()) = limits;
        let before = self.inner.slots_total.swap(max, Ordering::SeqCst);
        if max > before {
            self.inner.slots.add_permits(max - before);
        } else if max < before {
            let slots = Arc::clone(&self.inner.slots);
            let fewer = (before - max) as u32;
            tokio::spawn(async move {
                if let Ok(permits) = slots.acquire_many(fewer).await {
                    permits.forget();
                }
            });
        }
    }

    /// Starts a run in the background and returns its id at once. Must be called inside a
    /// tokio runtime.
    pub fn start(&self, request: RunRequest) -> StartedRun {
        let n = self.inner.next.fetch_add(1, Ordering::SeqCst);
        let id = format!("{:x}-{n}", now_ms());
        let (cancel, cancelled) = watch::channel(false);
        let entry = Arc::new(RunEntry {
            info: Mutex::new(RunInfo {
                id: id.clone(),
                path: request.path.clone(),
                graph: request.graph.clone(),
                debug: request.debug,
                mock_llm: request.mock_llm,
                state: "waiting".into(),
                pid: None,
                started_at_ms: now_ms(),
            }),
            cancel,
        });
        {
            let mut runs = self.inner.runs.lock().unwrap_or_else(|e| e.into_inner());
            runs.push_back(Arc::clone(&entry));
            // Forget the oldest ended runs.
            while runs.len() > KEEP_ENDED {
                let ended = runs.iter().position(|r| {
                    let state = &r.info.lock().unwrap_or_else(|e| e.into_inner()).state;
                    state != "waiting" && state != "running"
                });
                match ended {
                    Some(index) => {
                        runs.remove(index);
                    }
                    None => break,
                }
            }
        }
        let (events, receiver) = queue::channel(EVENT_BUFFER_BYTES);
        let limits = self.limits();
        let slots = Arc::clone(&self.inner.slots);
        let run_id = id.clone();
        tokio::spawn(async move {
            let outcome = run(&run_id, request, limits, slots, &entry, cancelled, &events).await;
            entry.info.lock().unwrap_or_else(|e| e.into_inner()).state =
                outcome.0.as_str().to_string();
            let ended = RunEvent::Ended {
                outcome: outcome.0,
                exit_code: outcome.1,
                message: outcome.2,
            };
            events.send(vec![ended], 0);
        });
        StartedRun {
            id,
            events: receiver,
        }
    }

    /// Cancels a run (waiting or running): its process tree is killed. Whether it was known
    /// and not over yet.
    pub fn cancel(&self, id: &str) -> bool {
        let runs = self.inner.runs.lock().unwrap_or_else(|e| e.into_inner());
        let Some(entry) = runs
            .iter()
            .find(|r| r.info.lock().is_ok_and(|i| i.id == id))
        else {
            return false;
        };
        let active = entry
            .info
            .lock()
            .is_ok_and(|i| i.state == "waiting" || i.state == "running");
        if active {
            entry.cancel.send_replace(true);
        }
        active
    }

    /// Cancels every run (the server is shutting down).
    pub fn cancel_all(&self) {
        let runs = self.inner.runs.lock().unwrap_or_else(|e| e.into_inner());
        for entry in runs.iter() {
            entry.cancel.send_replace(true);
        }
    }

    /// The runs that are waiting or running, and the last ones that ended, oldest first.
    pub fn list(&self) -> Vec<RunInfo> {
        self.inner
            .runs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|r| r.info.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .collect()
    }
}

type Ending = (RunOutcome, Option<i32>, Option<String>);

/// Waits until `cancelled` becomes true (or its sender is gone: nobody can cancel any more).
async fn until_cancelled(cancelled: &mut watch::Receiver<bool>) {
    if cancelled.wait_for(|c| *c).await.is_err() {
        std::future::pending::<()>().await;
    }
}

#[allow(clippy::too_many_arguments)]
async fn run(
    id: &str,
    request: RunRequest,
    limits: RunLimits,
    slots: Arc<Semaphore>,
    entry: &RunEntry,
    mut cancelled: watch::Receiver<bool>,
    events: &EventSender,
) -> Ending {
    // A run slot first (cancellable while waiting).
    let _slot = tokio::select! {
        permit = slots.acquire_owned() => match permit {
            Ok(permit) => permit,
            Err(_) => return (RunOutcome::Error, None, Some("the run manager is closed".into())),
        },
        _ = until_cancelled(&mut cancelled) => {
            return (RunOutcome::Cancelled, None, Some("cancelled before it started".into()))
        }
    };
    let timeout = request.timeout.unwrap_or(limits.timeout);

    // The scratch working directory.
    let (cwd, _temp_dir) = match &request.scratch {
        ScratchLocation::Workspace(root) => {
            let dir = root.join(".planai").join("runs").join(id);
            if let Err(e) = std::fs::create_dir_all(&dir) {
                return error(format!("cannot create {}: {e}", dir.display()));
            }
            (dir, None)
        }
        ScratchLocation::Temp => match tempfile::Builder::new()
            .prefix(&ScratchKind::Run.prefix())
            .tempdir()
        {
            Ok(dir) => (dir.path().to_path_buf(), Some(dir)),
            Err(e) => return error(format!("cannot create a scratch directory: {e}")),
        },
    };

    let config = serde_json::json!({
        "path": request.path.to_string_lossy(),
        "source": request.source,
        "roots": request.roots.iter().map(|r| r.to_string_lossy()).collect::<Vec<_>>(),
        "graph": request.graph,
        "inputs": request.inputs,
        "mock_llm": request.mock_llm,
        "debug": request.debug,
        "event_fd": EVENT_FD,
    });
    let mut launched = match launch(
        &request.interpreter,
        RUNNER_SCRIPT,
        &cwd,
        &[],
        limits.niceness,
    ) {
        Ok(launched) => launched,
        Err(e) => {
            let shown = request.interpreter.join(" ");
            return error(if e.kind() == std::io::ErrorKind::NotFound {
                format!("the Python interpreter `{shown}` was not found")
            } else {
                format!("could not start the Python interpreter `{shown}`: {e}")
            });
        }
    };
    let pid = launched.child.id();
    {
        let mut info = entry.info.lock().unwrap_or_else(|e| e.into_inner());
        info.state = "running".into();
        info.pid = pid;
    }
    tracing::info!(target: "planai_lsp::run", id, ?pid, path = %request.path.display(), "run started");

    // Configuration on stdin, then EOF.
    if let Some(mut stdin) = launched.child.stdin.take() {
        let mut line = config.to_string();
        line.push('\n');
        let _ = stdin.write_all(line.as_bytes()).await;
        let _ = stdin.shutdown().await;
    }

    // Readers: the event pipe on a blocking thread, stdout/stderr as output events.
    let finished_seen = Arc::new(Mutex::new(None::<String>));
    let stderr_tail = Arc::new(Mutex::new(VecDeque::<String>::new()));
    let budget = Arc::new(AtomicUsize::new(limits.output_cap));
    let truncated = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let event_reader = {
        let events = events.clone();
        let finished_seen = Arc::clone(&finished_seen);
        let file = launched.events;
        tokio::task::spawn_blocking(move || read_events(file, &events, &finished_seen))
    };
    let mut output_readers = Vec::new();
    if let Some(stdout) = launched.child.stdout.take() {
        output_readers.push(tokio::spawn(read_output(
            stdout,
            Stream::Stdout,
            events.clone(),
            Arc::clone(&budget),
            Arc::clone(&truncated),
            limits.output_cap,
            None,
        )));
    }
    if let Some(stderr) = launched.child.stderr.take() {
        output_readers.push(tokio::spawn(read_output(
            stderr,
            Stream::Stderr,
            events.clone(),
            Arc::clone(&budget),
            Arc::clone(&truncated),
            limits.output_cap,
            Some(Arc::clone(&stderr_tail)),
        )));
    }

    enum Stop {
        Exited(Option<i32>),
        Cancelled,
        TimedOut,
    }
    let stop = tokio::select! {
        status = launched.child.wait() => Stop::Exited(status.ok().and_then(|s| s.code())),
        _ = until_cancelled(&mut cancelled) => Stop::Cancelled,
        _ = tokio::time::sleep(timeout) => Stop::TimedOut,
    };
    if !matches!(stop, Stop::Exited(_)) {
        if let Some(pid) = pid {
            let _ = tokio::task::spawn_blocking(move || process::kill_tree(pid, true)).await;
        }
        let _ = launched.child.start_kill();
        let _ = launched.child.wait().await;
    }
    process::forget(pid);

    // Drain the pipes; something the runner started may still hold them.
    let drain = async {
        let _ = event_reader.await;
        for reader in output_readers {
            let _ = reader.await;
        }
    };
    tokio::pin!(drain);
    if tokio::time::timeout(DRAIN_GRACE, &mut drain).await.is_err() {
        if let Some(pid) = pid {
            // The runner is gone; its leftovers were reparented to a subreaper (the runner
            // made itself one, and the server is one) or init: kill what still holds a pipe.
            tracing::warn!(target: "planai_lsp::run", id, "run left processes behind; killing them");
            let _ = tokio::task::spawn_blocking(move || process::kill_tree(pid, true)).await;
            let _ =
                tokio::task::spawn_blocking(|| process::reap_orphans(Duration::from_millis(500)))
                    .await;
        }
        let _ = tokio::time::timeout(DRAIN_GRACE, &mut drain).await;
    }
    tracing::info!(target: "planai_lsp::run", id, "run ended");

    match stop {
        Stop::Cancelled => (RunOutcome::Cancelled, None, Some("cancelled".into())),
        Stop::TimedOut => (
            RunOutcome::TimedOut,
            None,
            Some(format!("timed out after {} s", timeout.as_secs_f64())),
        ),
        Stop::Exited(code) => {
            let finished = finished_seen.lock().ok().and_then(|f| f.clone());
            match finished.as_deref() {
                Some("succeeded") => (RunOutcome::Succeeded, code, None),
                Some("failed") => (RunOutcome::Failed, code, Some("a task failed".into())),
                Some(_) => (RunOutcome::Error, code, None),
                None => {
                    let tail = stderr_tail
                        .lock()
                        .map(|t| t.iter().cloned().collect::<Vec<_>>().join("\n"))
                        .unwrap_or_default();
                    let mut message = format!(
                        "the runner exited ({}) before it finished",
                        code.map_or("killed by a signal".to_string(), |c| format!("code {c}"))
                    );
                    if !tail.is_empty() {
                        message.push_str(":\n");
                        message.push_str(&tail);
                    }
                    (RunOutcome::Error, code, Some(message))
                }
            }
        }
    }
}

fn error(message: String) -> Ending {
    (RunOutcome::Error, None, Some(message))
}

/// Reads event lines until EOF; remembers the `finished` outcome. Every line already read
/// from the pipe goes to the consumer as one batch (one hand-over per read, not per line),
/// and lines that trickle in are read a few milliseconds' worth at a time.
fn read_events(file: std::fs::File, events: &EventSender, finished: &Mutex<Option<String>>) {
    let mut reader = std::io::BufReader::with_capacity(64 * 1024, file);
    let mut line = Vec::new();
    let mut batch = Vec::new();
    let mut batch_bytes = 0;
    loop {
        // Hand over what was read before waiting for more.
        if !batch.is_empty() && !reader.buffer().contains(&b'\n') {
            let trickle = batch_bytes < EVENT_TRICKLE_BYTES
                && !batch.iter().any(|e| matches!(e, RunEvent::Finished { .. }));
            if !events.send_blocking(std::mem::take(&mut batch), batch_bytes) {
                // Nobody listens any more; keep draining so the runner never blocks on us.
                let _ = std::io::copy(&mut reader, &mut std::io::sink());
                return;
            }
            batch_bytes = 0;
            if trickle {
                std::thread::sleep(EVENT_TRICKLE_PAUSE);
            }
        }
        line.clear();
        match reader
            .by_ref()
            .take(MAX_EVENT_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
        {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let event = if line.len() > MAX_EVENT_LINE && line.last() != Some(&b'\n') {
            // Skip the rest of the oversized line.
            let mut rest = Vec::new();
            let _ = reader.read_until(b'\n', &mut rest);
            RunEvent::Log {
                level: "WARNING".into(),
                logger: "planai-lsp".into(),
                message: format!("an event over {MAX_EVENT_LINE} bytes was dropped"),
                exception: None,
            }
        } else {
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end();
            if text.is_empty() {
                continue;
            }
            RunEvent::parse_line(text)
        };
        if let RunEvent::Finished { outcome, .. } = &event {
            if let Ok(mut slot) = finished.lock() {
                *slot = Some(outcome.clone());
            }
        }
        batch_bytes += line.len();
        batch.push(event);
    }
    events.send_blocking(batch, batch_bytes);
}

/// Forwards output lines as events until the cap, then drains the rest.
async fn read_output<R: tokio::io::AsyncRead + Unpin>(
    stream: R,
    which: Stream,
    events: EventSender,
    budget: Arc<AtomicUsize>,
    truncated: Arc<std::sync::atomic::AtomicBool>,
    cap: usize,
    tail: Option<Arc<Mutex<VecDeque<String>>>>,
) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    // Lines already read are handed over together, before waiting for more.
    let mut batch = Vec::new();
    let mut batch_bytes = 0;
    loop {
        if !batch.is_empty() && !reader.buffer().contains(&b'\n') {
            events.send(std::mem::take(&mut batch), batch_bytes);
            batch_bytes = 0;
        }
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line)
            .trim_end_matches(['\n', '\r'])
            .to_string();
        if let Some(tail) = &tail {
            if let Ok(mut tail) = tail.lock() {
                if tail.len() == 20 {
                    tail.pop_front();
                }
                tail.push_back(text.chars().take(500).collect());
            }
        }
        let cost = line.len();
        let allowed = budget
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(cost)
            })
            .is_ok();
        if !allowed {
            if !truncated.swap(true, Ordering::SeqCst) {
                budget.store(0, Ordering::SeqCst);
                batch.push(RunEvent::OutputTruncated { limit_bytes: cap });
            }
            continue;
        }
        batch_bytes += cost;
        batch.push(RunEvent::Output {
            stream: which,
            text,
        });
    }
    events.send(batch, batch_bytes);
}
