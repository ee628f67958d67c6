//! Glue between documents and venv-backed validation; the `python` module does the work.
//!
//! Static diagnostics stay instant; venv results arrive later under source `planai (venv)`,
//! on save by default (`planai.validation.run`: `onSave` | `onType` | `off`, with a debounce
//! for `onType`). A newer version supersedes and cancels older work, and a result is only ever
//! published with the version it was computed from: results are stored in the document's
//! session entry and its worker publishes them (`Session::request_publish`).
//!
//! Which files are PlanAI modules, where they import planai and which functions are tools is
//! decided by the analysis (`analysis::check::PlanaiFacts`, handed over by each check through
//! `OpenDocument::facts`); this module only schedules.
//!
//! - `selection.rs`: the environment selection, what the user is told about it, and the
//!   helper's status;
//! - `validation.rs`: validating a document (and its `@tool` functions) in the helper;
//! - `startup_progress.rs`: work-done progress while the helper starts.
//!
//! The commands that talk to the helper are request handlers under `requests/`.

mod selection;
mod startup_progress;
mod validation;

use std::sync::Arc;
use std::time::Duration;

use tower_lsp_server::ls_types::Uri;

use crate::server::panic_guard::spawn_guarded;
use crate::server::settings::ValidationRun;
use crate::server::state::Session;

pub use selection::{
    configure, ensure_configured, ensure_supervisor, helper_failure, interpreter_changed,
    require_supervisor, roots, select_environment, settings_known, shutdown,
};
pub use validation::schedule_validation;

/// A document was opened: once its first check finds it worth validating, start the helper early
/// (importing planai takes ~3 s).
pub fn on_open(session: &Arc<Session>, uri: &Uri) {
    if session.settings().validation_run == ValidationRun::Off {
        return;
    }
    let Some(mut facts) = session.documents.get(uri).map(|entry| entry.facts()) else {
        return;
    };
    let session = Arc::clone(session);
    spawn_guarded("start helper", async move {
        let is_planai = match facts.wait_for(Option::is_some).await {
            Ok(checked) => checked
                .as_ref()
                .is_some_and(|(_, facts)| facts.validate_in_venv()),
            // Closed before its first check.
            Err(_) => false,
        };
        if !is_planai {
            return;
        }
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
    } else if let Some(mut entry) = session.documents.get_mut(uri) {
        // The buffer moved on: results for the saved version could never be published.
        entry.set_validation(None);
    }
}

/// Called on save: with `onSave` (or `onType`), validates the current buffer.
pub fn on_save(session: &Arc<Session>, uri: &Uri) {
    if session.settings().validation_run != ValidationRun::Off {
        schedule_validation(session, uri, None, Duration::ZERO);
    }
}
