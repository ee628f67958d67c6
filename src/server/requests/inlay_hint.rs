use std::sync::Arc;

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{InlayHint, InlayHintKind, InlayHintLabel, InlayHintParams};

use crate::server::requests::ide::{document_path, with_analysis};
use crate::server::state::Session;

/// `textDocument/inlayHint`: `Question → Answer` after each worker instantiation in the range.
pub async fn handle(
    session: &Arc<Session>,
    params: InlayHintParams,
) -> Result<Option<Vec<InlayHint>>> {
    let path = document_path(&params.text_document.uri);
    let range = params.range;
    with_analysis(session, move |host, positions| {
        let start = positions.offset(&path, range.start)?;
        let end = positions.offset(&path, range.end)?;
        let hints = crate::analysis::ide::inlay::inlay_hints(host, &path, start, end);
        Some(
            hints
                .into_iter()
                .filter_map(|hint| {
                    let at = crate::diagnostics::TextRange::empty(hint.offset);
                    Some(InlayHint {
                        position: positions.range(&path, at)?.start,
                        label: InlayHintLabel::String(hint.label),
                        kind: Some(InlayHintKind::TYPE),
                        text_edits: None,
                        tooltip: None,
                        padding_left: Some(true),
                        padding_right: None,
                        data: None,
                    })
                })
                .collect(),
        )
    })
    .await
}
