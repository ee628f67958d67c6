use std::sync::Arc;

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{Location, ReferenceParams};

use crate::server::requests::ide::{document_path, with_analysis};
use crate::server::state::Session;

/// `textDocument/references`: every place in the workspace naming the same Task or worker
/// class, worker or graph variable, or `@tool` function.
pub async fn handle(
    session: &Arc<Session>,
    params: ReferenceParams,
) -> Result<Option<Vec<Location>>> {
    let position = params.text_document_position;
    let include_declaration = params.context.include_declaration;
    let path = document_path(&position.text_document.uri);
    with_analysis(session, move |host, positions| {
        let offset = positions.offset(&path, position.position)?;
        let references = crate::analysis::ide::navigation::references(host, &path, offset);
        if references.is_empty() {
            return None;
        }
        Some(
            references
                .into_iter()
                .filter(|r| include_declaration || !r.is_definition)
                .filter_map(|r| positions.location(&r.path, r.range))
                .collect(),
        )
    })
    .await
}
