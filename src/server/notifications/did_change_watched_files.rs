use std::sync::Arc;

use tower_lsp_server::ls_types::{DidChangeWatchedFilesParams, FileChangeType};

use crate::server::panic_guard::spawn_guarded;
use crate::server::state::{uri_to_path, Session};

/// Keeps the workspace index current for files that are not open (open buffers win).
///
/// Reading and re-analysing run on a blocking thread in the background, never on the
/// handler: only regular files within the size limit are read (a `*.py` FIFO or a link to
/// `/dev/zero` is skipped), and the analysis lock is never awaited on a runtime thread.
pub fn handle(session: &Arc<Session>, params: DidChangeWatchedFilesParams) {
    let changes: Vec<_> = params
        .changes
        .into_iter()
        .filter(|event| uri_to_path(&event.uri).extension().and_then(|e| e.to_str()) == Some("py"))
        .collect();
    if changes.is_empty() {
        return;
    }
    let job_session = Arc::clone(session);
    spawn_guarded("index changed files", async move {
        let session = Arc::clone(&job_session);
        let changed = tokio::task::spawn_blocking(move || {
            let mut changed = false;
            for event in changes {
                if job_session.documents.contains_key(&event.uri) {
                    continue;
                }
                let path = uri_to_path(&event.uri);
                let text = if event.typ == FileChangeType::DELETED {
                    None
                } else {
                    match crate::workspace::read_file(&path) {
                        Ok(text) => Some(text),
                        Err(reason) => {
                            tracing::info!("not indexing {}: {reason}", path.display());
                            None
                        }
                    }
                };
                let Ok(mut host) = job_session.analysis.write() else {
                    break;
                };
                // Opened meanwhile: the buffer wins.
                if job_session.documents.contains_key(&event.uri) {
                    continue;
                }
                match text {
                    Some(text) => host.set_file(path, text, None),
                    None => host.remove_file(&path),
                }
                changed = true;
            }
            changed
        })
        .await;
        if changed.unwrap_or(false) {
            session.bump_generation();
            session.wake_others(None);
        }
    });
}
