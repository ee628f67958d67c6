use std::sync::Arc;

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{Hover, HoverContents, HoverParams, MarkupContent, MarkupKind};

use crate::server::requests::ide::{document_path, with_analysis};
use crate::server::state::Session;

/// `textDocument/hover`: the card `analysis::ide::hover` writes for the PlanAI name under the
/// cursor (a Task, a worker class or variable, a graph variable, a `@tool` function).
pub async fn handle(session: &Arc<Session>, params: HoverParams) -> Result<Option<Hover>> {
    let position = params.text_document_position_params;
    let path = document_path(&position.text_document.uri);
    with_analysis(session, move |host, positions| {
        let offset = positions.offset(&path, position.position)?;
        let hover = crate::analysis::ide::hover::hover(host, &path, offset)?;
        Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value: hover.markdown,
            }),
            range: positions.range(&path, hover.range),
        })
    })
    .await
}
