//! The [`HelperSupervisor`]: at most one helper per interpreter, started lazily, restarted
//! with backoff, never launched in an untrusted workspace, and its status for the editor.

use super::instance::HelperProcess;
use super::{HelperConfig, LOG_TARGET};
use crate::python::envs::planai_missing_message;
use crate::python::protocol::{HelperError, HelperErrorKind, HelperRequest, ReadyEvent};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::sync::watch;

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

#[cfg(test)]
mod tests {
    use super::super::client_timeout;
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
}
