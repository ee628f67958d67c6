//! Glue between documents and venv-backed validation; the `python` module does the work.
//!
//! Static diagnostics stay instant; venv results arrive later under source `planai (venv)`,
//! on save by default (`planai.validation.run`: `onSave` | `onType` | `off`, with a debounce
//! for `onType`). A newer version supersedes and cancels older work, and a result is only ever
//! published with the version it was computed from (see `publish.rs`).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dashmap::DashMap;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::{MessageType, Uri};

use crate::diagnostics::{Code, Diagnostic, DiagnosticCode, DiagnosticSource, Severity, TextRange};
use crate::python::diagnostics::{problem_to_diagnostic, problems_to_diagnostics};
use crate::python::envs::{DiscoveryOptions, InterpreterSetting};
use crate::python::helper::{HelperStatus, HelperSupervisor, SupervisorSettings};
use crate::python::protocol::{
    HelperError, HelperErrorKind, IntrospectParams, IntrospectTasks, ListModels, ListModelsParams,
    Validate, ValidateParams, ValidateTaskData, ValidateTaskDataParams, ValidateTool,
    ValidateToolParams,
};
use crate::python::service::{PythonService, Selection};
use crate::server::panic_guard::spawn_guarded;
use crate::server::publish;
use crate::server::settings::ValidationRun;
use crate::server::state::{uri_to_path, Session, VersionedDiagnostics};

/// Per-session state of the Python side.
pub struct VenvState {
    /// Environment selection and the helper of the selected interpreter.
    service: PythonService,
    configured: AtomicBool,
    /// Serialises reconfiguration so settings are read and applied as one step: a slower
    /// configure that read older settings can never overwrite a newer selection.
    configure_lock: tokio::sync::Mutex<()>,
    /// Problem with the interpreter or planai, shown on `import planai` lines.
    interpreter_problem: Mutex<Option<String>>,
    /// One pending or running validation per document; a newer one aborts it.
    pub validations: DashMap<Uri, tokio::task::JoinHandle<()>>,
    /// Models listed per provider (for `model_name=` completion), asked once per session.
    models: DashMap<String, Vec<String>>,
    /// Messages already shown with `window/showMessage` (each is shown once).
    shown: Mutex<HashSet<String>>,
    /// The client's settings are known: its first `workspace/configuration` answer arrived
    /// (or failed, or it does not answer such requests). Until then the selection may still
    /// change (`planai.python` often comes only from that answer), so nothing is announced:
    /// users saw a popup about the discovered interpreter a moment before the configured one
    /// replaced it.
    settings_known: AtomicBool,
    /// The interpreter of the last selection announced (for tests and logs).
    announced: Mutex<Option<String>>,
}

impl Default for VenvState {
    fn default() -> Self {
        Self {
            service: PythonService::new(SupervisorSettings::default()),
            configured: AtomicBool::new(false),
            configure_lock: tokio::sync::Mutex::new(()),
            interpreter_problem: Mutex::new(None),
            validations: DashMap::new(),
            models: DashMap::new(),
            shown: Mutex::new(HashSet::new()),
            settings_known: AtomicBool::new(false),
            announced: Mutex::new(None),
        }
    }
}

impl VenvState {
    pub fn interpreter_problem(&self) -> Option<String> {
        self.interpreter_problem.lock().ok()?.clone()
    }

    fn set_interpreter_problem(&self, problem: Option<String>) -> bool {
        let Ok(mut slot) = self.interpreter_problem.lock() else {
            return false;
        };
        let changed = *slot != problem;
        *slot = problem;
        changed
    }

    /// The helper's status (for tests and logs).
    pub fn helper_status(&self) -> HelperStatus {
        self.service.status()
    }

    /// Whether the client's settings are known, the interpreter last announced, and the
    /// messages shown so far (for tests).
    pub fn announcement(&self) -> (bool, Option<String>, Vec<String>) {
        let mut shown: Vec<String> = self
            .shown
            .lock()
            .map(|shown| shown.iter().cloned().collect())
            .unwrap_or_default();
        shown.sort();
        (
            self.settings_known.load(Ordering::SeqCst),
            self.announced.lock().ok().and_then(|a| a.clone()),
            shown,
        )
    }
}

fn looks_like_planai(text: &str) -> bool {
    text.contains("planai")
}

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

fn roots(session: &Session) -> Vec<PathBuf> {
    session.roots.read().map(|r| r.clone()).unwrap_or_default()
}

fn trusted(session: &Session) -> bool {
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
        republish_all(session);
    }
}

/// (Re)selects the environment from the current settings; the service swaps the helper when
/// the interpreter or the trust changed.
async fn configure(session: &Arc<Session>) {
    let first = !session.venv.configured.swap(true, Ordering::SeqCst);
    if first {
        watch_status(Arc::clone(session));
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

/// The supervisor of the selected interpreter; `None` when there is none or the workspace is
/// untrusted (the user has been told why).
async fn ensure_supervisor(session: &Arc<Session>) -> Option<HelperSupervisor> {
    if !session.venv.configured.load(Ordering::SeqCst) {
        configure(session).await;
    }
    if !trusted(session) {
        return None;
    }
    session.venv.service.supervisor().await
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
                        republish_all(&session);
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
                        republish_all(&session);
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

/// Re-publishes every open document (static results merged with the current venv state).
fn republish_all(session: &Arc<Session>) {
    let uris: Vec<Uri> = session.documents.iter().map(|d| d.key().clone()).collect();
    for uri in uris {
        republish(session, &uri);
    }
}

/// Publishes the last static results of `uri` again with whatever venv results match them.
fn republish(session: &Arc<Session>, uri: &Uri) {
    let Some(last) = session.static_results.get(uri).map(|r| r.clone()) else {
        return;
    };
    let session = Arc::clone(session);
    let uri = uri.clone();
    spawn_guarded("republish", async move {
        publish::publish(&session, &uri, last.version, last.diagnostics).await;
    });
}

/// Diagnostics on `import planai` / `from planai …` lines when the interpreter cannot run
/// planai, so the problem shows where the user looks.
pub fn interpreter_diagnostics(session: &Session, rope: &ropey::Rope) -> Vec<Diagnostic> {
    let Some(problem) = session.venv.interpreter_problem() else {
        return Vec::new();
    };
    planai_import_lines(rope)
        .into_iter()
        .map(|range| {
            Diagnostic::new(
                DiagnosticSource::PlanaiVenv,
                Severity::Warning,
                Code::PlanaiEnvironment,
                range,
                problem.clone(),
            )
        })
        .collect()
}

/// The `import planai` / `from planai ...` lines of `rope` (without indentation and trailing
/// blanks). Every keystroke republishes, so this searches the rope's chunks for `planai` and
/// looks only at the lines it occurs on: no copy of the text, no walk over every line.
fn planai_import_lines(rope: &ropey::Rope) -> Vec<TextRange> {
    const NEEDLE: &str = "planai";
    let mut mentions = Vec::new();
    let mut chunk_start = 0;
    for chunk in rope.chunks() {
        if chunk_start > 0 {
            // A mention may straddle the boundary with the previous chunk: search the few
            // bytes around it (ends floored to character boundaries; the needle is ASCII).
            let reach = NEEDLE.len() - 1;
            let floor = |byte: usize| rope.char_to_byte(rope.byte_to_char(byte));
            let seam_start = floor(chunk_start - reach.min(chunk_start));
            let seam_end = floor((chunk_start + reach).min(rope.len_bytes()));
            let seam = rope.byte_slice(seam_start..seam_end).to_string();
            mentions.extend(
                seam.match_indices(NEEDLE)
                    .map(|(at, _)| seam_start + at)
                    .filter(|&at| at < chunk_start && at + NEEDLE.len() > chunk_start),
            );
        }
        mentions.extend(chunk.match_indices(NEEDLE).map(|(at, _)| chunk_start + at));
        chunk_start += chunk.len();
    }
    let mut out = Vec::new();
    let mut last_line = None;
    for at in mentions {
        let line_index = rope.byte_to_line(at);
        if last_line == Some(line_index) {
            continue;
        }
        last_line = Some(line_index);
        let line_start = rope.line_to_byte(line_index);
        let line = rope.line(line_index).to_string();
        if let Some((start, end)) = import_statement_span(&line) {
            out.push(TextRange::new(line_start + start, line_start + end));
        }
    }
    out
}

/// The span of `line` without indentation and trailing blanks, if it imports planai.
fn import_statement_span(line: &str) -> Option<(usize, usize)> {
    let trimmed = line.trim_start();
    let imports_planai = trimmed.starts_with("import planai")
        || trimmed.starts_with("from planai ")
        || trimmed.starts_with("from planai.");
    imports_planai.then(|| (line.len() - trimmed.len(), line.trim_end().len()))
}

/// A PlanAI file was opened: start the helper early (importing planai takes ~3 s).
pub fn on_open(session: &Arc<Session>, uri: &Uri) {
    let is_planai = session
        .documents
        .get(uri)
        .is_some_and(|d| looks_like_planai(&d.text()));
    if !is_planai || session.settings().validation_run == ValidationRun::Off {
        return;
    }
    let session = Arc::clone(session);
    spawn_guarded("start helper", async move {
        if let Some(supervisor) = ensure_supervisor(&session).await {
            supervisor.start();
        }
    });
}

/// Called after every edit: with `onType`, schedules a debounced validation.
pub fn on_change(session: &Arc<Session>, uri: &Uri, version: i32) {
    let settings = session.settings();
    if settings.validation_run == ValidationRun::OnType {
        schedule_validation(
            session,
            uri,
            Some(version),
            Duration::from_millis(settings.validation_debounce_ms),
        );
    } else if let Some((_, pending)) = session.venv.validations.remove(uri) {
        // The buffer moved on: results for the saved version could never be published.
        pending.abort();
    }
}

/// Called on save: with `onSave` (or `onType`), validates the current buffer.
pub fn on_save(session: &Arc<Session>, uri: &Uri) {
    if session.settings().validation_run != ValidationRun::Off {
        schedule_validation(session, uri, None, Duration::ZERO);
    }
}

/// Starts a validation of `uri` after `delay`, replacing any pending or running one.
/// `expected_version`, when given, must still be current when the delay ends.
pub fn schedule_validation(
    session: &Arc<Session>,
    uri: &Uri,
    expected_version: Option<i32>,
    delay: Duration,
) {
    let task = spawn_guarded(
        "venv validation",
        validate_document(Arc::clone(session), uri.clone(), expected_version, delay),
    );
    if let Some(previous) = session.venv.validations.insert(uri.clone(), task) {
        previous.abort();
    }
}

async fn validate_document(
    session: Arc<Session>,
    uri: Uri,
    expected_version: Option<i32>,
    delay: Duration,
) {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let Some((version, text)) = session.documents.get(&uri).map(|d| (d.version(), d.text())) else {
        return;
    };
    if expected_version.is_some_and(|expected| expected != version) || !looks_like_planai(&text) {
        return;
    }
    let Some(supervisor) = ensure_supervisor(&session).await else {
        return;
    };
    let settings = session.settings();
    let path = uri_to_path(&uri);
    let package = package_of(&path);
    let mut roots: Vec<String> = roots(&session)
        .iter()
        .map(|r| r.display().to_string())
        .collect();
    if let Some(package) = &package {
        // The directory holding the top-level package must be importable for relative imports.
        roots.insert(0, package.import_root.display().to_string());
    }
    let timeout = Duration::from_millis(settings.validation_timeout_ms);
    let params = ValidateParams {
        path: path.display().to_string(),
        source: text.clone(),
        roots: roots.clone(),
        module_name: package.map(|p| p.module_name),
        run_main: Some(true),
        timeout_ms: Some(settings.validation_timeout_ms),
    };
    let started = std::time::Instant::now();
    let mut diagnostics = match supervisor
        .request::<Validate>(params, timeout + Duration::from_secs(2))
        .await
    {
        Ok(result) => problems_to_diagnostics(&result.problems, &path, &text).document,
        Err(error) => match helper_error_diagnostic(&error, settings.validation_timeout_ms) {
            Some(diagnostic) => vec![diagnostic],
            None => return,
        },
    };
    diagnostics.extend(
        validate_tools(
            &supervisor,
            &path,
            &text,
            &roots,
            settings.validation_timeout_ms,
        )
        .await,
    );
    tracing::debug!(
        uri = uri.as_str(),
        "venv validation took {:?}",
        started.elapsed()
    );
    session.venv_results.insert(
        uri.clone(),
        VersionedDiagnostics {
            version,
            diagnostics,
        },
    );
    republish(&session, &uri);
}

/// Where a module sits in a package: its dotted name and the directory to import it from.
#[derive(Debug, PartialEq, Eq)]
struct PackagedModule {
    module_name: String,
    import_root: PathBuf,
}

/// The dotted module name of `path` when it lives in a package (its directory has an
/// `__init__.py`), so it runs as `__main__` *within that package* and relative imports work;
/// `None` for a plain script.
fn package_of(path: &std::path::Path) -> Option<PackagedModule> {
    let stem = path.file_stem()?.to_str()?;
    let mut parts: Vec<String> = Vec::new();
    let mut directory = path.parent()?;
    while directory.join("__init__.py").is_file() {
        parts.push(directory.file_name()?.to_str()?.to_string());
        directory = directory.parent()?;
    }
    if parts.is_empty() {
        return None;
    }
    parts.reverse();
    if stem != "__init__" {
        parts.push(stem.to_string());
    }
    Some(PackagedModule {
        module_name: parts.join("."),
        import_root: directory.to_path_buf(),
    })
}

/// A helper failure the user should see in the file (timeouts, crashes); `None` for failures
/// reported elsewhere (planai missing, untrusted).
fn helper_error_diagnostic(error: &HelperError, timeout_ms: u64) -> Option<Diagnostic> {
    let message = match error.kind {
        HelperErrorKind::PlanaiMissing
        | HelperErrorKind::Untrusted
        | HelperErrorKind::Cancelled => return None,
        HelperErrorKind::Timeout => format!(
            "Validating this module in the Python environment took longer than {timeout_ms} ms and was stopped. Does it block at import time (input(), a server, a long computation)? Move that under `if __name__ == \"__main__\":` or raise planai.validation.timeoutMs."
        ),
        HelperErrorKind::Crashed => format!(
            "The Python process validating this module died: {}. planai-lsp restarts it; static checks are unaffected.",
            error.message
        ),
        _ => format!("Venv validation failed: {}", error.message),
    };
    tracing::warn!("{message}");
    Some(Diagnostic::new(
        DiagnosticSource::PlanaiVenv,
        Severity::Warning,
        match error.kind {
            HelperErrorKind::Timeout => DiagnosticCode::from(Code::VenvTimeout),
            HelperErrorKind::Crashed => Code::VenvCrashed.into(),
            kind => DiagnosticCode::Venv(format!("venv-{}", kind.as_str())),
        },
        TextRange::empty(0),
        message,
    ))
}

/// Validates each `@tool(...)` function of the file through llm_interface; warnings (missing or
/// generic description) and problems land on the function.
async fn validate_tools(
    supervisor: &HelperSupervisor,
    path: &std::path::Path,
    text: &str,
    roots: &[String],
    timeout_ms: u64,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (function, name_range) in tool_functions(text) {
        let params = ValidateToolParams {
            path: path.display().to_string(),
            source: text.to_string(),
            function: function.clone(),
            roots: roots.to_vec(),
            timeout_ms: Some(timeout_ms),
        };
        let timeout = Duration::from_millis(timeout_ms) + Duration::from_secs(2);
        match supervisor.request::<ValidateTool>(params, timeout).await {
            Ok(result) => {
                for warning in result.warnings {
                    out.push(Diagnostic::new(
                        DiagnosticSource::PlanaiVenv,
                        Severity::Warning,
                        Code::ToolDescription,
                        name_range,
                        format!("Tool {function}: {warning}"),
                    ));
                }
                for problem in result.problems {
                    let mut diagnostic = problem_to_diagnostic(&problem, text);
                    if !crate::python::diagnostics::problems_to_diagnostics(
                        std::slice::from_ref(&problem),
                        path,
                        text,
                    )
                    .other_files
                    .is_empty()
                    {
                        diagnostic.range = name_range;
                    }
                    out.push(diagnostic);
                }
            }
            Err(error) => tracing::debug!("validate_tool {function}: {}", error.message),
        }
    }
    out
}

/// Top-level functions decorated with `@tool(...)` or `@<module>.tool(...)`, with the range of
/// their names.
fn tool_functions(text: &str) -> Vec<(String, TextRange)> {
    let Some(tree) = crate::syntax::parse(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let root = tree.root_node();
    let mut cursor = root.walk();
    for node in root.children(&mut cursor) {
        if node.kind() != "decorated_definition" {
            continue;
        }
        let Some(definition) = node.child_by_field_name("definition") else {
            continue;
        };
        if definition.kind() != "function_definition" {
            continue;
        }
        let mut decorators = node.walk();
        let is_tool = node.children(&mut decorators).any(|child| {
            child.kind() == "decorator"
                && child
                    .utf8_text(text.as_bytes())
                    .map(|d| {
                        let d = d.trim_start_matches('@').trim();
                        let callee = d.split('(').next().unwrap_or("");
                        callee == "tool" || callee.ends_with(".tool")
                    })
                    .unwrap_or(false)
        });
        if !is_tool {
            continue;
        }
        if let Some(name) = definition.child_by_field_name("name") {
            if let Ok(function) = name.utf8_text(text.as_bytes()) {
                out.push((
                    function.to_string(),
                    TextRange::new(name.start_byte(), name.end_byte()),
                ));
            }
        }
    }
    out
}

/// The interpreter setting or trust changed: reselect; the service shuts the old helper down
/// and starts one for the new interpreter if the old one was running.
pub fn interpreter_changed(session: &Arc<Session>) {
    session.venv_results.clear();
    let session = Arc::clone(session);
    spawn_guarded("switch interpreter", async move {
        configure(&session).await;
        let any_planai = session
            .documents
            .iter()
            .any(|d| looks_like_planai(&d.text()));
        if any_planai
            && session.settings().validation_run != ValidationRun::Off
            && trusted(&session)
        {
            session.venv.service.start().await;
        }
        republish_all(&session);
    });
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

/// Stops helper processes (on shutdown).
pub async fn shutdown(session: &Arc<Session>) {
    for entry in session.venv.validations.iter() {
        entry.value().abort();
    }
    session.venv.service.shutdown().await;
}

/// `planai.listEnvironments`: every environment found, the selected one marked.
pub async fn list_environments(session: &Arc<Session>) -> Result<serde_json::Value> {
    if !session.venv.configured.load(Ordering::SeqCst) {
        configure(session).await;
    }
    let (found, selected) = session.venv.service.list_environments().await;
    Ok(crate::python::envs::environments_json(&found, selected))
}

/// `planai.selectEnvironment [path | argv | {interpreter: argv}]`: use that interpreter until
/// the `planai.python` setting changes.
pub async fn select_environment(
    session: &Arc<Session>,
    arguments: Vec<serde_json::Value>,
) -> Result<serde_json::Value> {
    let Some(argument) = arguments.into_iter().next() else {
        return Err(Error::invalid_params(
            "planai.selectEnvironment needs an interpreter path or argv list",
        ));
    };
    let choice = match argument {
        serde_json::Value::Object(ref object) => object
            .get("interpreter")
            .or_else(|| object.get("path"))
            .cloned()
            .unwrap_or(serde_json::Value::Null),
        other => other,
    };
    let setting = InterpreterSetting::from_json(&choice)
        .map_err(Error::invalid_params)?
        .ok_or_else(|| Error::invalid_params("an empty interpreter cannot be selected"))?;
    if !session.venv.configured.load(Ordering::SeqCst) {
        configure(session).await;
    }
    session.venv_results.clear();
    let selection = session.venv.service.select_environment(setting).await;
    announce(session, &selection);
    if trusted(session)
        && session
            .documents
            .iter()
            .any(|d| looks_like_planai(&d.text()))
    {
        session.venv.service.start().await;
    }
    republish_all(session);
    Ok(serde_json::to_value(&selection.environment).unwrap_or_default())
}

/// `planai.restartHelper`: kill the helper tree and start a fresh one.
pub async fn restart_helper(session: &Arc<Session>) -> Result<serde_json::Value> {
    match ensure_supervisor(session).await {
        Some(supervisor) => {
            supervisor.restart().await;
            Ok(serde_json::json!({"restarted": true}))
        }
        None => Ok(
            serde_json::json!({"restarted": false, "reason": session.venv.interpreter_problem()}),
        ),
    }
}

fn helper_failure(error: HelperError) -> Error {
    Error {
        code: tower_lsp_server::jsonrpc::ErrorCode::ServerError(-32001),
        message: format!("{} ({})", error.message, error.kind.as_str()).into(),
        data: None,
    }
}

async fn require_supervisor(session: &Arc<Session>) -> Result<HelperSupervisor> {
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

/// `planai/validateTaskData {uri, className, data}` (or `{module, className, data}`): validates
/// JSON data against a Task model in the selected environment, never evaluating it.
pub async fn validate_task_data(
    session: &Arc<Session>,
    params: serde_json::Value,
) -> Result<serde_json::Value> {
    let class_name = params
        .get("className")
        .and_then(|c| c.as_str())
        .ok_or_else(|| Error::invalid_params("className is required"))?
        .to_string();
    let data = params
        .get("data")
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    let mut request = ValidateTaskDataParams {
        class_name,
        data,
        roots: roots(session)
            .iter()
            .map(|r| r.display().to_string())
            .collect(),
        timeout_ms: Some(session.settings().validation_timeout_ms),
        ..Default::default()
    };
    if let Some(module) = params.get("module").and_then(|m| m.as_str()) {
        request.module = Some(module.to_string());
    } else {
        let uri_text = params
            .get("uri")
            .and_then(|u| u.as_str())
            .ok_or_else(|| Error::invalid_params("uri or module is required"))?;
        let uri: Uri = uri_text
            .parse()
            .map_err(|_| Error::invalid_params("uri is not a valid URI"))?;
        let path = uri_to_path(&uri);
        let source = match session.documents.get(&uri) {
            Some(document) => document.text(),
            None => {
                let reading = path.clone();
                tokio::task::spawn_blocking(move || crate::workspace::read_file(&reading))
                    .await
                    .map_err(|_| Error::internal_error())?
                    .map_err(|e| {
                        Error::invalid_params(format!("cannot read {}: {e}", path.display()))
                    })?
                    .to_string()
            }
        };
        request.path = Some(path.display().to_string());
        request.source = Some(source);
    }
    let supervisor = require_supervisor(session).await?;
    let timeout =
        Duration::from_millis(session.settings().validation_timeout_ms) + Duration::from_secs(2);
    let result = supervisor
        .request::<ValidateTaskData>(request, timeout)
        .await
        .map_err(helper_failure)?;
    Ok(serde_json::to_value(result).unwrap_or_default())
}

/// `planai.listModels [provider]` or `[{provider}]`: models of a provider, asked in the venv.
pub async fn list_models(
    session: &Arc<Session>,
    arguments: Vec<serde_json::Value>,
) -> Result<serde_json::Value> {
    let provider = arguments
        .first()
        .and_then(|a| {
            a.as_str()
                .map(str::to_string)
                .or_else(|| a.get("provider")?.as_str().map(str::to_string))
        })
        .ok_or_else(|| {
            Error::invalid_params("planai.listModels needs a provider, e.g. \"ollama\"")
        })?;
    let supervisor = require_supervisor(session).await?;
    let timeout_ms = session.settings().validation_timeout_ms;
    let result = supervisor
        .request::<ListModels>(
            ListModelsParams {
                provider,
                timeout_ms: Some(timeout_ms),
            },
            Duration::from_millis(timeout_ms) + Duration::from_secs(2),
        )
        .await
        .map_err(helper_failure)?;
    Ok(serde_json::to_value(result).unwrap_or_default())
}

/// `planai.introspectTasks [module]` or `[{module}]`: Task classes and their pydantic fields
/// as the venv sees them (installed packages included).
pub async fn introspect_tasks(
    session: &Arc<Session>,
    arguments: Vec<serde_json::Value>,
) -> Result<serde_json::Value> {
    let module = arguments
        .first()
        .and_then(|a| {
            a.as_str()
                .map(str::to_string)
                .or_else(|| a.get("module")?.as_str().map(str::to_string))
        })
        .ok_or_else(|| {
            Error::invalid_params("planai.introspectTasks needs a module name, e.g. \"planai\"")
        })?;
    let supervisor = require_supervisor(session).await?;
    let timeout_ms = session.settings().validation_timeout_ms;
    let params = IntrospectParams {
        module: Some(module),
        roots: roots(session)
            .iter()
            .map(|r| r.display().to_string())
            .collect(),
        timeout_ms: Some(timeout_ms),
        ..Default::default()
    };
    let result = supervisor
        .request::<IntrospectTasks>(
            params,
            Duration::from_millis(timeout_ms) + Duration::from_secs(2),
        )
        .await
        .map_err(helper_failure)?;
    Ok(serde_json::to_value(result).unwrap_or_default())
}

/// The models `provider` lists in the selected environment, for completion. Empty (never an
/// error) when Python may not run, the provider needs a key or is unreachable; successful
/// answers are cached for the session.
pub async fn provider_models(session: &Arc<Session>, provider: &str) -> Vec<String> {
    if let Some(models) = session.venv.models.get(provider) {
        return models.clone();
    }
    let Some(supervisor) = ensure_supervisor(session).await else {
        return Vec::new();
    };
    // Completion must answer quickly (Helix gives up after 20 s).
    let timeout_ms = session.settings().validation_timeout_ms.min(8_000);
    let params = ListModelsParams {
        provider: provider.to_string(),
        timeout_ms: Some(timeout_ms),
    };
    match supervisor
        .request::<ListModels>(
            params,
            Duration::from_millis(timeout_ms) + Duration::from_secs(2),
        )
        .await
    {
        Ok(result) => {
            session
                .venv
                .models
                .insert(provider.to_string(), result.models.clone());
            result.models
        }
        Err(error) => {
            tracing::info!("no model list for {provider}: {}", error.message);
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The import lines found line by line in a `String`.
    fn import_lines_oracle(text: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut line_start = 0;
        for line in text.split_inclusive('\n') {
            if let Some((start, end)) = import_statement_span(line) {
                out.push((line_start + start, line_start + end));
            }
            line_start += line.len();
        }
        out
    }

    #[test]
    fn planai_import_lines_are_found_across_rope_chunks() {
        // Thousands of mentions in lines of varying length and with multi-byte characters:
        // some straddle the rope's chunk boundaries.
        let mut text = String::new();
        let mut random = crate::testing::Random(7);
        for i in 0..6_000 {
            let line = match random.below(6) {
                0 => format!("from planai import Task  # é{i}\n"),
                1 => format!("    import planai.utils as u{i}\n"),
                2 => format!("x{i} = 'planai'  # not an import\n"),
                3 => format!("from planai.testing import MockLLM{}\n", "ü".repeat(i % 7)),
                4 => format!("from planaix import y{i}\n"),
                _ => format!("value_{i} = {}\n", "ß".repeat(i % 5)),
            };
            text.push_str(&line);
        }
        let rope = ropey::Rope::from_str(&text);
        assert!(rope.chunks().count() > 50);
        let found: Vec<(usize, usize)> = planai_import_lines(&rope)
            .into_iter()
            .map(|r| (r.start(), r.end()))
            .collect();
        assert_eq!(found, import_lines_oracle(&text));
        assert!(planai_import_lines(&ropey::Rope::from_str("")).is_empty());
    }

    #[test]
    fn modules_in_packages_get_their_dotted_name() {
        let dir = tempfile::tempdir().unwrap();
        let package = dir.path().join("app/pipeline");
        std::fs::create_dir_all(&package).unwrap();
        std::fs::write(dir.path().join("app/__init__.py"), "").unwrap();
        std::fs::write(package.join("__init__.py"), "").unwrap();
        assert_eq!(
            package_of(&package.join("graph.py")),
            Some(PackagedModule {
                module_name: "app.pipeline.graph".into(),
                import_root: dir.path().to_path_buf(),
            })
        );
        assert_eq!(
            package_of(&package.join("__init__.py")).map(|p| p.module_name),
            Some("app.pipeline".to_string())
        );
        assert_eq!(package_of(&dir.path().join("script.py")), None);
    }

    #[test]
    fn finds_tool_decorated_functions() {
        let text = "from planai import tool\n\n@tool(name='x')\ndef search(q: str) -> str:\n    return q\n\n@other\ndef nope():\n    pass\n\n@llm_interface.tool()\ndef fetch(url: str) -> str:\n    return url\n";
        let names: Vec<String> = tool_functions(text).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, vec!["search", "fetch"]);
    }
}
