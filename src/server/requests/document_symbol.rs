use std::sync::Arc;

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    DocumentSymbol, DocumentSymbolParams, DocumentSymbolResponse, SymbolKind,
};

use crate::analysis::ide::symbols::{OutlineKind, OutlineSymbol};
use crate::server::requests::ide::{document_path, with_analysis, Positions};
use crate::server::state::Session;

/// `textDocument/documentSymbol`: the file's outline, nested (Tasks with their fields,
/// workers with what they consume and produce, graph builders with their graph and workers).
pub async fn handle(
    session: &Arc<Session>,
    params: DocumentSymbolParams,
) -> Result<Option<DocumentSymbolResponse>> {
    let path = document_path(&params.text_document.uri);
    with_analysis(session, move |host, positions| {
        let outline = crate::analysis::ide::symbols::document_symbols(host, &path);
        let symbols = outline
            .iter()
            .filter_map(|symbol| convert(symbol, &path, positions))
            .collect();
        Some(DocumentSymbolResponse::Nested(symbols))
    })
    .await
}

/// The LSP kind of each outline entry.
pub fn symbol_kind(kind: OutlineKind) -> SymbolKind {
    match kind {
        OutlineKind::Task => SymbolKind::STRUCT,
        OutlineKind::Field => SymbolKind::FIELD,
        OutlineKind::Worker | OutlineKind::Class => SymbolKind::CLASS,
        OutlineKind::Method => SymbolKind::METHOD,
        OutlineKind::GraphBuilder | OutlineKind::Function | OutlineKind::Tool => {
            SymbolKind::FUNCTION
        }
        OutlineKind::Graph | OutlineKind::WorkerVariable => SymbolKind::VARIABLE,
    }
}

#[allow(deprecated)] // `DocumentSymbol::deprecated` must still be written.
fn convert(
    symbol: &OutlineSymbol,
    path: &std::path::Path,
    positions: &mut Positions,
) -> Option<DocumentSymbol> {
    Some(DocumentSymbol {
        name: symbol.name.clone(),
        detail: symbol.detail.clone(),
        kind: symbol_kind(symbol.kind),
        tags: None,
        deprecated: None,
        range: positions.range(path, symbol.range)?,
        selection_range: positions.range(path, symbol.selection_range)?,
        children: Some(
            symbol
                .children
                .iter()
                .filter_map(|child| convert(child, path, positions))
                .collect(),
        ),
    })
}
