//! The one object the language server holds for Python: which environment is selected, the
//! helper supervisor for it, and one status stream that survives interpreter switches.
//!
//! The server calls [`PythonService::configure`] on `initialize` and on every
//! `workspace/didChangeConfiguration`, [`PythonService::list_environments`] and
//! [`PythonService::select_environment`] for the two commands, [`PythonService::start`] when
//! the first PlanAI file opens, and [`PythonService::request`] to validate.

use super::envs::{
    discover, no_interpreter_message, select_default_for, DiscoveryOptions, InterpreterSetting,
    PythonEnvironment,
};
use super::helper::{HelperConfig, HelperStatus, HelperSupervisor, SupervisorSettings};
use super::protocol::{HelperError, HelperErrorKind, HelperRequest};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The selected environment and what the user should be told about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    pub environment: Option<PythonEnvironment>,
    /// Why validation in Python will not work (no interpreter, interpreter gone, planai
    /// missing, untrusted workspace), phrased as what to do next.
    pub message: Option<String>,
}

/// Python environments and the warm helper, as one service. Cheap to clone.
#[derive(Clone)]
pub struct PythonService {
    inner: Arc<ServiceInner>,
}

struct ServiceInner {
    settings: SupervisorSettings,
    status: watch::Sender<HelperStatus>,
    state: tokio::sync::Mutex<ServiceState>,
}

struct ServiceState {
    options: DiscoveryOptions,
    trusted: bool,
    /// Chosen with `planai.selectEnvironment`; wins over discovery until the `planai.python`
    /// setting changes.
    chosen: Option<InterpreterSetting>,
    environments: Vec<PythonEnvironment>,
    selected: Option<PythonEnvironment>,
    supervisor: Option<HelperSupervisor>,
    forwarder: Option<tokio::task::JoinHandle<()>>,
    /// `planai.validation.maxConcurrent`, for the next helper.
    max_concurrent: usize,
}

impl PythonService {
    /// A service with nothing selected yet; call [`configure`](Self::configure) next.
    pub fn new(settings: SupervisorSettings) -> Self {
        let (status, _) = watch::channel(HelperStatus::Idle);
        Self {
            inner: Arc::new(ServiceInner {
                settings,
                status,
                state: tokio::sync::Mutex::new(ServiceState {
                    options: DiscoveryOptions::default(),
                    trusted: false,
                    chosen: None,
                    environments: Vec::new(),
                    selected: None,
                    supervisor: None,
                    forwarder: None,
                    max_concurrent: super::helper::DEFAULT_MAX_CONCURRENT,
                }),
            }),
        }
    }

    /// (Re)discovers environments and selects one. If the interpreter or the trust changed,
    /// the old helper is shut down and a new supervisor takes over (started right away if the
    /// old helper had been started). Never launches Python when `trusted` is false.
    pub async fn configure(&self, options: DiscoveryOptions, trusted: bool) -> Selection {
        let mut state = self.inner.state.lock().await;
        if state.options.setting != options.setting {
            state.chosen = None;
        }
        state.options = options;
        state.trusted = trusted;
        self.reselect(&mut state)
    }

    /// `planai.validation.maxConcurrent`: at most this many validations run at once. Takes
    /// effect at the next [`configure`](Self::configure), which starts a new helper when it
    /// changed (the cap belongs to the running helper).
    pub async fn set_max_concurrent(&self, max_concurrent: usize) {
        self.inner.state.lock().await.max_concurrent = max_concurrent.max(1);
    }

    /// Re-discovers (filesystem only) and returns the environments and the index of the
    /// selected one, for `planai.listEnvironments` and `planai-lsp envs`.
    pub async fn list_environments(&self) -> (Vec<PythonEnvironment>, Option<usize>) {
        let mut state = self.inner.state.lock().await;
        state.environments = discover(&state.options);
        let selected = match &state.selected {
            None => None,
            Some(chosen) => match state
                .environments
                .iter()
                .position(|e| e.interpreter == chosen.interpreter)
            {
                Some(index) => Some(index),
                // Chosen with planai.selectEnvironment from outside what discovery looks at
                // (any path the user typed): still the one in use, so it is listed, first.
                None => {
                    let chosen = chosen.clone();
                    state.environments.insert(0, chosen);
                    Some(0)
                }
            },
        };
        (state.environments.clone(), selected)
    }

    /// `planai.selectEnvironment`: a path (interpreter or venv dir) or an argv list, resolved
    /// like the `planai.python` setting. Holds until the setting changes.
    pub async fn select_environment(&self, choice: InterpreterSetting) -> Selection {
        let mut state = self.inner.state.lock().await;
        state.chosen = Some(choice);
        self.reselect(&mut state)
    }

    /// The current selection and its message.
    pub async fn selection(&self) -> Selection {
        let state = self.inner.state.lock().await;
        selection_of(&state)
    }

    /// The supervisor of the selected interpreter (None without one).
    pub async fn supervisor(&self) -> Option<HelperSupervisor> {
        self.inner.state.lock().await.supervisor.clone()
    }

    /// The helper status of whatever interpreter is selected; keeps working across switches.
    pub fn subscribe(&self) -> watch::Receiver<HelperStatus> {
        self.inner.status.subscribe()
    }

    pub fn status(&self) -> HelperStatus {
        self.inner.status.borrow().clone()
    }

    /// Starts the helper in the background (the first PlanAI file was opened).
    pub async fn start(&self) {
        if let Some(supervisor) = self.supervisor().await {
            supervisor.start();
        }
    }

    /// A typed request to the selected interpreter's helper. Without an interpreter: kind
    /// `Unavailable` with the selection's message.
    pub async fn request<R: HelperRequest>(
        &self,
        params: R::Params,
        timeout: Duration,
    ) -> Result<R::Result, HelperError> {
        let (supervisor, message) = {
            let state = self.inner.state.lock().await;
            (state.supervisor.clone(), selection_of(&state).message)
        };
        match supervisor {
            Some(supervisor) => supervisor.request::<R>(params, timeout).await,
            None => Err(HelperError::new(
                HelperErrorKind::Unavailable,
                message.unwrap_or_else(no_interpreter_message),
            )),
        }
    }

    /// Shuts the helper down (server `shutdown`).
    pub async fn shutdown(&self) {
        let supervisor = {
            let mut state = self.inner.state.lock().await;
            if let Some(forwarder) = state.forwarder.take() {
                forwarder.abort();
            }
            state.supervisor.take()
        };
        if let Some(supervisor) = supervisor {
            supervisor.shutdown().await;
        }
        self.inner.status.send_replace(HelperStatus::Stopped);
    }

    fn reselect(&self, state: &mut ServiceState) -> Selection {
        state.environments = discover(&state.options);
        let chosen = state
            .chosen
            .as_ref()
            .map(|choice| choice.resolve(&state.options));
        state.selected =
            chosen.or_else(|| select_default_for(&state.environments, &state.options).cloned());
        let interpreter = state.selected.as_ref().map(|e| e.interpreter.clone());
        tracing::info!(
            target: "planai_lsp::envs",
            interpreter = ?interpreter,
            source = state.selected.as_ref().map(|e| e.source.as_str()),
            trusted = state.trusted,
            "selected Python environment"
        );

        let unchanged = state.supervisor.as_ref().is_some_and(|s| {
            Some(s.interpreter()) == interpreter.as_deref()
                && s.is_trusted() == state.trusted
                && s.max_concurrent() == state.max_concurrent
        });
        if !unchanged {
            let old = state.supervisor.take();
            let was_started = old.as_ref().is_some_and(|s| {
                !matches!(s.status(), HelperStatus::Idle | HelperStatus::Untrusted)
            });
            if let Some(forwarder) = state.forwarder.take() {
                forwarder.abort();
            }
            if let Some(old) = old {
                tokio::spawn(async move { old.shutdown().await });
            }
            match interpreter {
                Some(interpreter) => {
                    let mut config = HelperConfig::new(interpreter);
                    config.max_concurrent = state.max_concurrent;
                    let supervisor = HelperSupervisor::with_settings(
                        config,
                        self.inner.settings.clone(),
                        state.trusted,
                    );
                    state.forwarder = Some(self.forward_status(&supervisor));
                    if was_started {
                        supervisor.start();
                    }
                    state.supervisor = Some(supervisor);
                }
                None => {
                    let status = if state.trusted {
                        HelperStatus::Failed {
                            message: no_interpreter_message(),
                        }
                    } else {
                        HelperStatus::Untrusted
                    };
                    self.inner.status.send_replace(status);
                }
            }
        }
        selection_of(state)
    }

    /// Mirrors `supervisor`'s status into the service's status channel.
    fn forward_status(&self, supervisor: &HelperSupervisor) -> tokio::task::JoinHandle<()> {
        let mut source = supervisor.subscribe();
        let target = self.inner.status.clone();
        target.send_replace(source.borrow_and_update().clone());
        tokio::spawn(async move {
            while source.changed().await.is_ok() {
                let status = source.borrow_and_update().clone();
                target.send_replace(status);
            }
        })
    }
}

/// A workspace environment that would have been selected had it not needed an explicit
/// choice.
fn passed_over_workspace_env<'s>(
    state: &'s ServiceState,
    selected: &PythonEnvironment,
) -> Option<&'s PythonEnvironment> {
    let options = &state.options;
    if !options.workspace_envs_need_selection || state.chosen.is_some() {
        return None;
    }
    state.environments.iter().find(|e| {
        e.exists
            && e.interpreter != selected.interpreter
            && crate::python::envs::is_inside_workspace(e, &options.workspace_roots)
    })
}

fn selection_of(state: &ServiceState) -> Selection {
    let environment = state.selected.clone();
    let message = match &environment {
        None => Some(
            match state.environments.iter().find(|e| {
                state.options.workspace_envs_need_selection
                    && e.exists
                    && crate::python::envs::is_inside_workspace(e, &state.options.workspace_roots)
            }) {
                Some(skipped) => format!(
                    "No Python environment is selected: {} is in the workspace, and \
                     planai.autoSelectWorkspaceVenv is false. Choose it with \
                     planai.selectEnvironment or planai.python to validate in it.",
                    skipped.display_interpreter()
                ),
                None => no_interpreter_message(),
            },
        ),
        Some(_) if !state.trusted => Some(
            "The workspace is not trusted, so planai-lsp does not run Python: PlanAI files are \
             only checked statically."
                .to_string(),
        ),
        Some(env) => {
            env.problem_message()
                .map(|problem| match passed_over_workspace_env(state, env) {
                    Some(skipped) => format!(
                        "{problem} ({} in the workspace was not selected because \
                     planai.autoSelectWorkspaceVenv is false: choose it with \
                     planai.selectEnvironment or planai.python)",
                        skipped.display_interpreter()
                    ),
                    None => problem,
                })
        }
    };
    Selection {
        environment,
        message,
    }
}
