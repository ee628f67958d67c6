use std::sync::Arc;

use tower_lsp_server::ls_types::DidCloseTextDocumentParams;

use crate::server::publish;
use crate::server::state::{uri_to_path, Session};

/// Forgets the buffer (synchronously), then clears its diagnostics and falls back to the file
/// on disk for cross-file analysis.
pub async fn handle(session: &Arc<Session>, params: DidCloseTextDocumentParams) {
    let uri = params.text_document.uri;
    session.documents.remove(&uri);
    session.venv_results.remove(&uri);
    session.static_results.remove(&uri);
    if let Some((_, pending)) = session.venv.validations.remove(&uri) {
        pending.abort();
    }
    publish::stop(session, &uri);
    let path = uri_to_path(&uri);
    let on_disk = if uri.to_file_path().is_some() {
        let path = path.clone();
        tokio::task::spawn_blocking(move || crate::workspace::read_lossy(&path))
            .await
            .ok()
            .flatten()
    } else {
        None
    };
    if let Ok(mut host) = session.analysis.write() {
        match on_disk {
            Some(text) => host.set_file(path, text, None),
            None => host.remove_file(&path),
        }
    }
    session.bump_generation();
    session.wake_others(None);
    session
        .client
        .publish_diagnostics(uri, Vec::new(), None)
        .await;
}
