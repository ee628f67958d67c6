use std::sync::Arc;

use tower_lsp_server::ls_types::DidCloseTextDocumentParams;

use crate::server::publish;
use crate::server::state::Session;
use crate::server::workspace_index::{reindex_from_disk, FromDisk};

/// Forgets the buffer (synchronously), clears its diagnostics, and falls back to the file on
/// disk for cross-file analysis, in the background (see [`reindex_from_disk`]): the handler
/// never waits for the analysis lock, so a slow analysis of another file cannot hold up the
/// messages behind this one.
pub async fn handle(session: &Arc<Session>, params: DidCloseTextDocumentParams) {
    let uri = params.text_document.uri;
    // Dropping the entry stops the document's worker and its venv validation.
    session.documents.remove(&uri);
    publish::forget(session, &uri);
    let from_disk = match uri.to_file_path() {
        Some(_) => FromDisk::Read(uri.clone()),
        // `untitled:` and other buffers have no file to fall back to.
        None => FromDisk::Forget(uri.clone()),
    };
    reindex_from_disk(session, vec![from_disk]);
    session
        .client
        .publish_diagnostics(uri, Vec::new(), None)
        .await;
}
