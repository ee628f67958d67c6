//! Validating a document in the helper: the module (run as `__main__`, graphs intercepted) and
//! each of its `@tool` functions, for the version the client has.

use std::sync::Arc;
use std::time::Duration;

use tower_lsp_server::ls_types::Uri;

use crate::analysis::check::{PlanaiFacts, ToolFunction};
use crate::diagnostics::{Code, Diagnostic, DiagnosticCode, DiagnosticSource, Severity, TextRange};
use crate::python::diagnostics::{problem_to_diagnostic, problems_to_diagnostics};
use crate::python::helper::HelperSupervisor;
use crate::python::protocol::{
    HelperError, HelperErrorKind, Validate, ValidateParams, ValidateTool, ValidateToolParams,
};
use crate::server::panic_guard::spawn_guarded;
use crate::server::state::{uri_to_path, Session, VersionedDiagnostics};

use super::selection::{ensure_supervisor, roots};

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
    match session.documents.get_mut(uri) {
        Some(mut entry) => entry.set_validation(Some(task)),
        None => task.abort(),
    }
}

/// The PlanAI facts of `version` once its static check is done; `None` when the document was
/// closed or moved on (results for `version` could never be published).
async fn facts_of_version(
    mut facts: tokio::sync::watch::Receiver<crate::server::state::CheckedFacts>,
    version: i32,
) -> Option<Arc<PlanaiFacts>> {
    let checked = facts
        .wait_for(|checked| checked.as_ref().is_some_and(|(v, _)| *v >= version))
        .await
        .ok()?;
    match checked.as_ref() {
        Some((v, facts)) if *v == version => Some(Arc::clone(facts)),
        _ => None,
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
    let Some((version, text, facts)) = session.documents.get(&uri).map(|entry| {
        (
            entry.document.version(),
            entry.document.text(),
            entry.facts(),
        )
    }) else {
        return;
    };
    if expected_version.is_some_and(|expected| expected != version) {
        return;
    }
    let Some(facts) = facts_of_version(facts, version).await else {
        return;
    };
    if !facts.validate_in_venv() {
        return;
    }
    let Some(supervisor) = ensure_supervisor(&session).await else {
        return;
    };
    let settings = session.settings();
    let path = uri_to_path(&uri);
    let package = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || crate::workspace::package_of(&path))
            .await
            .ok()
            .flatten()
    };
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
            &facts.tools,
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
    if let Some(mut entry) = session.documents.get_mut(&uri) {
        entry.venv = Some(VersionedDiagnostics {
            version,
            diagnostics,
        });
    }
    session.request_publish(&uri);
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
    tools: &[ToolFunction],
    path: &std::path::Path,
    text: &str,
    roots: &[String],
    timeout_ms: u64,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for tool in tools {
        let function = &tool.name;
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
                        tool.name_range,
                        format!("Tool {function}: {warning}"),
                    ));
                }
                for problem in result.problems {
                    let mut diagnostic = problem_to_diagnostic(&problem, text);
                    if !problems_to_diagnostics(std::slice::from_ref(&problem), path, text)
                        .other_files
                        .is_empty()
                    {
                        diagnostic.range = tool.name_range;
                    }
                    out.push(diagnostic);
                }
            }
            Err(error) => tracing::debug!("validate_tool {function}: {}", error.message),
        }
    }
    out
}
