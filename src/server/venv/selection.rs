//! The environment selection: (re)selecting from the settings, telling the user what it means
//! once, following the helper's status, and the supervisor the requests use.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::MessageType;

use crate::python::envs::{DiscoveryOptions, InterpreterSetting};
use crate::python::helper::{HelperStatus, HelperSupervisor};
use crate::python::protocol::HelperError;
use crate::python::service::Selection;
use crate::server::panic_guard::spawn_guarded;
use crate::server::settings::ValidationRun;
use crate::server::state::Session;

/// Shows a message once per session (repeats are only logged).
fn show_once(session: &Arc<Session>, typ: MessageType, message: String) {
    let first_time = session
        .venv
        .shown
        .lock()
        .map(|mut shown| shown.insert(message.clone()))
        .unwrap_or(false);
    if !first_time {
        tracing::debug!("{message}");
        return;
    }
    tracing::info!("{message}");
    let client = session.client.clone();
    spawn_guarded("show message", async move {
        client.show_message(typ, message).await;
    });
}

/// The workspace folders.
pub fn roots(session: &Session) -> Vec<PathBuf> {
    session.roots.read().map(|r| r.clone()).unwrap_or_default()
}

pub(super) fn trusted(session: &Session) -> bool {
    !session.settings().untrusted_workspace
}

/// Discovery inputs from the `planai.python` setting and the workspace folders.
fn discovery_options(session: &Session) -> DiscoveryOptions {
    let setting =
        session
            .settings()
            .python
            .and_then(|value| match InterpreterSetting::from_json(&value) {
                Ok(setting) => setting,
                Err(message) => {
                    tracing::warn!("ignoring planai.python: {message}");
                    None
                }
            });
    let mut options = DiscoveryOptions::from_process(setting, roots(session));
    options.workspace_envs_need_selection = !session.settings().auto_select_workspace_venv;
    options
}

/// Tells the user what a selection means for validation, and keeps the import-line
/// diagnostics in step with it. Silent until the client's settings are known, and about
/// interpreter problems while validation is off (the user chose not to run Python).
fn announce(session: &Arc<Session>, selection: &Selection) {
    if !session.venv.settings_known.load(Ordering::SeqCst) {
        tracing::debug!("selection not announced yet: waiting for the client's settings");
        return;
    }
    if let Ok(mut announced) = session.venv.announced.lock() {
        *announced = selection
            .environment
            .as_ref()
            .map(|e| e.display_interpreter());
    }
    let validating = session.settings().validation_run != ValidationRun::Off;
    let problem = match (&selection.message, trusted(session)) {
        (Some(message), true) if !validating => {
            tracing::info!("planai-lsp: {message} (validation is off)");
            None
        }
        (Some(message), false) => {
            show_once(session, MessageType::INFO, format!("planai-lsp: {message}"));
            None
        }
        (Some(message), true) => {
            show_once(
                session,
                MessageType::WARNING,
                format!("planai-lsp: {message}"),
            );
            Some(message.clone())
        }
        (None, _) => None,
    };
    if let Some(environment) = &selection.environment {
        tracing::info!(
            "Python environment: {} ({})",
            environment.display_interpreter(),
            environment.source
        );
    }
    if session.venv.set_interpreter_problem(problem) {
        session.request_publish_all();
    }
}

/// (Re)selects the environment from the current settings; the service swaps the helper when
/// the interpreter or the trust changed.
pub async fn configure(session: &Arc<Session>) {
    let first = !session.venv.configured.swap(true, Ordering::SeqCst);
    if first {
        watch_status(Arc::clone(session));
        super::startup_progress::watch(Arc::clone(session));
    }
    let _serialised = session.venv.configure_lock.lock().await;
    let inputs = session.settings().selection_inputs();
    let options = discovery_options(session);
    let service = &session.venv.service;
    service
        .set_max_concurrent(session.settings().validation_max_concurrent)
        .await;
    let selection = service.configure(options, trusted(session)).await;
    // Settings that arrived while selecting (the client's first configuration answer, often
    // the only place `planai.python` is) queue another configure: announcing this selection
    // would tell the user about an interpreter that is about to be replaced. The order of the
    // two checks matters: once the settings are known they were merged, so a selection made
    // from older ones shows as changed inputs.
    if !session.venv.settings_known.load(Ordering::SeqCst) {
        return;
    }
    if session.settings().selection_inputs() != inputs {
        tracing::debug!("selection not announced: the settings changed while selecting");
        return;
    }
    announce(session, &selection);
}

/// Selects an environment unless one was selected already.
pub async fn ensure_configured(session: &Arc<Session>) {
    if !session.venv.configured.load(Ordering::SeqCst) {
        configure(session).await;
    }
}

/// The supervisor of the selected interpreter; `None` when there is none or the workspace is
/// untrusted (the user has been told why).
pub async fn ensure_supervisor(session: &Arc<Session>) -> Option<HelperSupervisor> {
    ensure_configured(session).await;
    if !trusted(session) {
        return None;
    }
    session.venv.service.supervisor().await
}

/// [`ensure_supervisor`] for requests: an error saying why there is none.
pub async fn require_supervisor(session: &Arc<Session>) -> Result<HelperSupervisor> {
    ensure_supervisor(session).await.ok_or_else(|| Error {
        code: tower_lsp_server::jsonrpc::ErrorCode::ServerError(-32002),
        message: session
            .venv
            .interpreter_problem()
            .unwrap_or_else(|| {
                "no Python environment is available (or the workspace is untrusted)".to_string()
            })
            .into(),
        data: None,
    })
}

/// A helper failure as a request error.
pub fn helper_failure(error: HelperError) -> Error {
    Error {
        code: tower_lsp_server::jsonrpc::ErrorCode::ServerError(-32001),
        message: format!("{} ({})", error.message, error.kind.as_str()).into(),
        data: None,
    }
}

/// Follows the helper's status across interpreter switches: tells the user once about
/// problems and keeps the `import planai` diagnostics in step.
fn watch_status(session: Arc<Session>) {
    let mut status = session.venv.service.subscribe();
    spawn_guarded("helper status", async move {
        loop {
            let current = status.borrow_and_update().clone();
            // A status forwarded from a helper that was just replaced (interpreter switch) is
            // stale: only the selected interpreter's own status counts.
            let live = match session.venv.service.supervisor().await {
                Some(supervisor) => supervisor.status() == current,
                None => true,
            };
            match &current {
                _ if !live => {}
                HelperStatus::PlanaiMissing { message } => {
                    show_once(
                        &session,
                        MessageType::WARNING,
                        format!("planai-lsp: {message}"),
                    );
                    if session.venv.set_interpreter_problem(Some(message.clone())) {
                        session.request_publish_all();
                    }
                }
                HelperStatus::Failed { message } => {
                    show_once(
                        &session,
                        MessageType::WARNING,
                        format!("planai-lsp: {message}"),
                    );
                }
                HelperStatus::Ready { planai, python } => {
                    tracing::info!("helper ready: planai {planai} on Python {python}");
                    if session.venv.set_interpreter_problem(None) {
                        session.request_publish_all();
                    }
                }
                _ => {}
            }
            if status.changed().await.is_err() {
                return;
            }
        }
    });
}

/// Forgets every document's venv results (they came from another interpreter).
fn forget_venv_results(session: &Session) {
    for mut entry in session.documents.iter_mut() {
        entry.venv = None;
    }
}

/// Starts the helper when a PlanAI module is open and validation may run.
async fn start_if_needed(session: &Arc<Session>) {
    if session.any_document_to_validate()
        && session.settings().validation_run != ValidationRun::Off
        && trusted(session)
    {
        session.venv.service.start().await;
    }
}

/// The interpreter setting or trust changed: reselect; the service shuts the old helper down
/// and starts one for the new interpreter if the old one was running.
pub fn interpreter_changed(session: &Arc<Session>) {
    forget_venv_results(session);
    let session = Arc::clone(session);
    spawn_guarded("switch interpreter", async move {
        configure(&session).await;
        start_if_needed(&session).await;
        session.request_publish_all();
    });
}

/// `planai.selectEnvironment`: use `setting` until the `planai.python` setting changes.
pub async fn select_environment(
    session: &Arc<Session>,
    setting: InterpreterSetting,
) -> Option<crate::python::envs::PythonEnvironment> {
    ensure_configured(session).await;
    forget_venv_results(session);
    let selection = session.venv.service.select_environment(setting).await;
    announce(session, &selection);
    if trusted(session) && session.any_document_to_validate() {
        session.venv.service.start().await;
    }
    session.request_publish_all();
    selection.environment
}

/// The client's settings are known (its first `workspace/configuration` answer was applied,
/// or it has none to give): announce the selection they lead to, once.
pub fn settings_known(session: &Arc<Session>) {
    if session.venv.settings_known.swap(true, Ordering::SeqCst) {
        return;
    }
    if !session.venv.configured.load(Ordering::SeqCst) {
        // Nothing selected yet: the first configure announces.
        return;
    }
    // Select again rather than announce the current selection: a configure for the settings
    // just applied may still be pending, and the current selection may predate them.
    let session = Arc::clone(session);
    spawn_guarded("announce selection", async move {
        configure(&session).await;
    });
}

/// Stops validations and helper processes (on shutdown).
pub async fn shutdown(session: &Arc<Session>) {
    for mut entry in session.documents.iter_mut() {
        entry.set_validation(None);
    }
    session.venv.service.shutdown().await;
}
