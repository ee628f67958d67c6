use std::sync::Arc;

use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::{PrepareRenameResponse, TextDocumentPositionParams};

use crate::server::requests::ide::{document_path, with_analysis};
use crate::server::state::Session;

/// `textDocument/prepareRename`: the range and name of a renamable symbol under the cursor
/// (a workspace Task or worker class, a worker or graph variable), or an error saying why
/// the name cannot be renamed, which clients show to the user.
pub async fn handle(
    session: &Arc<Session>,
    params: TextDocumentPositionParams,
) -> Result<Option<PrepareRenameResponse>> {
    let path = document_path(&params.text_document.uri);
    with_analysis(session, move |host, positions| {
        let Some(offset) = positions.offset(&path, params.position) else {
            return Ok(None);
        };
        match crate::analysis::ide::navigation::prepare_rename(host, &path, offset) {
            Ok((range, placeholder)) => Ok(positions
                .range(&path, range)
                .map(|range| PrepareRenameResponse::RangeWithPlaceholder { range, placeholder })),
            Err(reason) => Err(Error::invalid_params(reason)),
        }
    })
    .await?
}
