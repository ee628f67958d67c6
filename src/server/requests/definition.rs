use std::sync::Arc;

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{GotoDefinitionParams, GotoDefinitionResponse};

use crate::server::requests::ide::{document_path, with_analysis};
use crate::server::state::Session;

/// `textDocument/definition`: the class, variable assignment or `@tool` function the name
/// under the cursor refers to, in any workspace file.
pub async fn handle(
    session: &Arc<Session>,
    params: GotoDefinitionParams,
) -> Result<Option<GotoDefinitionResponse>> {
    let position = params.text_document_position_params;
    let path = document_path(&position.text_document.uri);
    with_analysis(session, move |host, positions| {
        let offset = positions.offset(&path, position.position)?;
        let (target, range) = crate::analysis::ide::navigation::definition(host, &path, offset)?;
        positions
            .location(&target, range)
            .map(GotoDefinitionResponse::Scalar)
    })
    .await
}
