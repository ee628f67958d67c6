use std::sync::Arc;

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    OneOf, WorkspaceSymbol, WorkspaceSymbolParams, WorkspaceSymbolResponse,
};

use crate::server::requests::document_symbol::symbol_kind;
use crate::server::requests::ide::with_analysis;
use crate::server::state::Session;

/// Clients show a short list; a broad query on a large workspace must stay cheap to send.
const MAX_SYMBOLS: usize = 500;

/// `workspace/symbol`: the workspace's Task classes, worker classes, graph builders and
/// `@tool` functions matching the query.
pub async fn handle(
    session: &Arc<Session>,
    params: WorkspaceSymbolParams,
) -> Result<Option<WorkspaceSymbolResponse>> {
    with_analysis(session, move |host, positions| {
        let found =
            crate::analysis::ide::symbols::workspace_symbols(host, &params.query, MAX_SYMBOLS);
        let symbols = found
            .into_iter()
            .filter_map(|symbol| {
                Some(WorkspaceSymbol {
                    name: symbol.name,
                    kind: symbol_kind(symbol.kind),
                    tags: None,
                    container_name: symbol.container,
                    location: OneOf::Left(positions.location(&symbol.path, symbol.range)?),
                    data: None,
                })
            })
            .collect();
        Some(WorkspaceSymbolResponse::Nested(symbols))
    })
    .await
}
