use std::sync::Arc;

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    DocumentHighlight, DocumentHighlightKind, DocumentHighlightParams,
};

use crate::server::requests::ide::{document_path, with_analysis};
use crate::server::state::Session;

/// `textDocument/documentHighlight`: the references of the symbol under the cursor in this
/// document; its definition is marked as a write.
pub async fn handle(
    session: &Arc<Session>,
    params: DocumentHighlightParams,
) -> Result<Option<Vec<DocumentHighlight>>> {
    let position = params.text_document_position_params;
    let path = document_path(&position.text_document.uri);
    with_analysis(session, move |host, positions| {
        let offset = positions.offset(&path, position.position)?;
        let references = crate::analysis::ide::navigation::highlights(host, &path, offset);
        if references.is_empty() {
            return None;
        }
        Some(
            references
                .into_iter()
                .filter_map(|r| {
                    Some(DocumentHighlight {
                        range: positions.range(&path, r.range)?,
                        kind: Some(if r.is_definition {
                            DocumentHighlightKind::WRITE
                        } else {
                            DocumentHighlightKind::READ
                        }),
                    })
                })
                .collect(),
        )
    })
    .await
}
