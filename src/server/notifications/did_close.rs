use std::sync::Arc;

use tower_lsp_server::ls_types::DidCloseTextDocumentParams;

use crate::server::panic_guard::spawn_guarded;
use crate::server::publish;
use crate::server::state::{uri_to_path, Session};

/// Forgets the buffer (synchronously), clears its diagnostics, and falls back to the file on
/// disk for cross-file analysis.
///
/// The disk read and the re-analysis run on a blocking thread in the background: the handler
/// never waits for the analysis lock, so a slow analysis of another file cannot hold up the
/// messages behind this one.
pub async fn handle(session: &Arc<Session>, params: DidCloseTextDocumentParams) {
    let uri = params.text_document.uri;
    session.documents.remove(&uri);
    session.venv_results.remove(&uri);
    session.static_results.remove(&uri);
    if let Some((_, pending)) = session.venv.validations.remove(&uri) {
        pending.abort();
    }
    publish::stop(session, &uri);
    let job_session = Arc::clone(session);
    let job_uri = uri.clone();
    spawn_guarded("index a closed document's file", async move {
        let session = Arc::clone(&job_session);
        let applied = tokio::task::spawn_blocking(move || {
            let path = uri_to_path(&job_uri);
            let on_disk = match job_uri.to_file_path() {
                Some(_) => crate::workspace::read_file(&path).ok(),
                None => None,
            };
            let Ok(mut host) = job_session.analysis.write() else {
                return false;
            };
            // Reopened meanwhile: its buffer is the truth (its worker sets the file after
            // this lock is released, so checking under the lock is enough).
            if job_session.documents.contains_key(&job_uri) {
                return false;
            }
            match on_disk {
                Some(text) => host.set_file(path, text, None),
                None => host.remove_file(&path),
            }
            true
        })
        .await;
        if applied.unwrap_or(false) {
            session.bump_generation();
            session.wake_others(None);
        }
    });
    session
        .client
        .publish_diagnostics(uri, Vec::new(), None)
        .await;
}
