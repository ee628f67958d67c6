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
    let on_disk = tokio::fs::read(&path).await.ok();
    if let Ok(mut host) = session.analysis.write() {
        match on_disk {
            Some(bytes) if uri.to_file_path().is_some() => {
                let text: std::sync::Arc<str> = String::from_utf8_lossy(&bytes).into();
                host.set_file(path, text, None);
            }
            _ => host.remove_file(&path),
        }
    }
    session.bump_generation();
    session.wake_others(None);
    session
        .client
        .publish_diagnostics(uri, Vec::new(), None)
        .await;
}
