use std::sync::Arc;

use tower_lsp_server::ls_types::DidSaveTextDocumentParams;

use crate::server::state::Session;

/// Saving triggers venv-backed validation when `planai.validation.run` is `onSave`.
pub fn handle(session: &Arc<Session>, params: DidSaveTextDocumentParams) {
    crate::server::venv::on_save(session, &params.text_document.uri);
}
