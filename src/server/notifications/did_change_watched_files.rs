use std::sync::Arc;

use tower_lsp_server::ls_types::{DidChangeWatchedFilesParams, FileChangeType};

use crate::server::state::{uri_to_path, Session};

/// Keeps the workspace index current for files that are not open (open buffers win).
pub async fn handle(session: &Arc<Session>, params: DidChangeWatchedFilesParams) {
    let mut changed = false;
    for event in params.changes {
        if session.documents.contains_key(&event.uri) {
            continue;
        }
        let path = uri_to_path(&event.uri);
        if path.extension().and_then(|e| e.to_str()) != Some("py") {
            continue;
        }
        if event.typ == FileChangeType::DELETED {
            if let Ok(mut host) = session.analysis.write() {
                host.remove_file(&path);
            }
            changed = true;
            continue;
        }
        let reading = path.clone();
        match tokio::task::spawn_blocking(move || crate::workspace::read_lossy(&reading))
            .await
            .ok()
            .flatten()
        {
            Some(text) => {
                if let Ok(mut host) = session.analysis.write() {
                    host.set_file(path, text, None);
                }
                changed = true;
            }
            None => tracing::debug!("cannot read {}", path.display()),
        }
    }
    if changed {
        session.bump_generation();
        session.wake_others(None);
    }
}
