use std::collections::HashMap;
use std::sync::Arc;

use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::{RenameParams, TextEdit, WorkspaceEdit};

use crate::server::requests::ide::{document_path, with_analysis};
use crate::server::state::{path_to_uri, Session};

/// `textDocument/rename`: renames a workspace Task or worker class in every file that names it
/// (imports included), or a worker or graph variable in its scope.
pub async fn handle(session: &Arc<Session>, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
    let position = params.text_document_position;
    let new_name = params.new_name;
    let path = document_path(&position.text_document.uri);
    with_analysis(session, move |host, positions| {
        let Some(offset) = positions.offset(&path, position.position) else {
            return Ok(None);
        };
        let references = crate::analysis::ide::navigation::rename(host, &path, offset, &new_name)
            .map_err(Error::invalid_params)?;
        let mut changes: HashMap<_, Vec<TextEdit>> = HashMap::new();
        for reference in references {
            let (Some(uri), Some(range)) = (
                path_to_uri(&reference.path),
                positions.range(&reference.path, reference.range),
            ) else {
                continue;
            };
            changes.entry(uri).or_default().push(TextEdit {
                range,
                new_text: new_name.clone(),
            });
        }
        Ok(Some(WorkspaceEdit {
            changes: Some(changes),
            ..WorkspaceEdit::default()
        }))
    })
    .await?
}
