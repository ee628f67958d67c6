use std::sync::Arc;

use tower_lsp_server::ls_types::DidOpenTextDocumentParams;

use crate::server::publish;
use crate::server::state::Session;
use crate::text::Document;

/// Stores the document and wakes its worker. Synchronous: no `.await` before the insert.
pub fn handle(session: &Arc<Session>, params: DidOpenTextDocumentParams) {
    let item = params.text_document;
    let document = Document::new(&item.text, item.version, item.language_id);
    session.documents.insert(item.uri.clone(), document);
    session.venv_results.remove(&item.uri);
    publish::schedule(session, &item.uri);
    crate::server::venv::on_open(session, &item.uri);
}
