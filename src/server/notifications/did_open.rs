use std::sync::Arc;

use tower_lsp_server::ls_types::DidOpenTextDocumentParams;

use crate::server::publish;
use crate::server::state::{OpenDocument, Session};
use crate::text::Document;

/// Stores the document and wakes its worker. Synchronous: no `.await` before the insert.
pub fn handle(session: &Arc<Session>, params: DidOpenTextDocumentParams) {
    let item = params.text_document;
    let document = Document::new(&item.text, item.version, item.language_id);
    match session.documents.get_mut(&item.uri) {
        // Opened again without a close: a new text, the same worker.
        Some(mut entry) => {
            entry.document = document;
            entry.venv = None;
        }
        None => {
            session
                .documents
                .insert(item.uri.clone(), OpenDocument::new(document));
        }
    }
    publish::schedule(session, &item.uri);
    crate::server::venv::on_open(session, &item.uri);
}
