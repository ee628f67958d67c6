use std::sync::Arc;

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    CompletionItem, CompletionItemKind, CompletionParams, CompletionResponse, CompletionTextEdit,
    TextEdit,
};

use crate::server::publish::to_lsp_range;
use crate::server::state::Session;
use crate::text::{position_to_offset, LspPosition};

/// Completes `model_name=` in `llm_from_config(...)` with the models the provider lists in the
/// selected environment (asked through the helper, cached per provider for the session).
pub async fn handle(
    session: &Arc<Session>,
    params: CompletionParams,
) -> Result<Option<CompletionResponse>> {
    let position = params.text_document_position;
    let Some((text, rope)) = session
        .documents
        .get(&position.text_document.uri)
        .map(|document| (document.analysis_text(), document.rope().clone()))
    else {
        return Ok(None);
    };
    let encoding = session.encoding();
    let offset = position_to_offset(
        &rope,
        LspPosition {
            line: position.position.line,
            character: position.position.character,
        },
        encoding,
    );
    let Some(tree) = crate::syntax::parse(&text) else {
        return Ok(None);
    };
    let Some(context) = crate::analysis::completion::model_name_context(&tree, &text, offset)
    else {
        return Ok(None);
    };
    // llm_from_config's own default provider.
    let provider = context
        .provider
        .clone()
        .unwrap_or_else(|| "ollama".to_string());
    let models = crate::server::venv::provider_models(session, &provider).await;
    let range = to_lsp_range(&rope, context.replace, encoding);
    let items = models
        .into_iter()
        .map(|model| {
            let new_text = if context.in_string {
                model.clone()
            } else {
                format!("\"{model}\"")
            };
            CompletionItem {
                label: model,
                kind: Some(CompletionItemKind::VALUE),
                detail: Some(format!("{provider} model")),
                text_edit: Some(CompletionTextEdit::Edit(TextEdit { range, new_text })),
                ..CompletionItem::default()
            }
        })
        .collect();
    Ok(Some(CompletionResponse::Array(items)))
}
