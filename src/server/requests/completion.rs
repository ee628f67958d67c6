use std::sync::Arc;

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    CompletionItem, CompletionItemKind, CompletionParams, CompletionResponse, CompletionTextEdit,
    InsertTextFormat, TextEdit, Uri,
};

use crate::analysis::ide::complete::CompletionKind;

use crate::python::protocol::{ListModels, ListModelsParams};
use crate::server::convert::to_lsp_range;
use crate::server::state::Session;
use crate::text::{position_to_offset, LspPosition, SourceText};

/// Completes `model_name=` in `llm_from_config(...)` with the models the provider lists in the
/// selected environment (asked through the helper, cached per provider for the session).
pub async fn handle(
    session: &Arc<Session>,
    params: CompletionParams,
) -> Result<Option<CompletionResponse>> {
    let position = params.text_document_position;
    let Some((text, source)) = session
        .documents
        .get(&position.text_document.uri)
        .map(|entry| {
            (
                entry.document.analysis_text(),
                entry.document.source().clone(),
            )
        })
    else {
        return Ok(None);
    };
    let encoding = session.encoding();
    let offset = position_to_offset(
        &source,
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
        return planai_completions(session, &position.text_document.uri, text, source, offset)
            .await;
    };
    // llm_from_config's own default provider.
    let provider = context
        .provider
        .clone()
        .unwrap_or_else(|| "ollama".to_string());
    let models = provider_models(session, &provider).await;
    let range = to_lsp_range(&source, context.replace, encoding);
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

/// The models `provider` lists in the selected environment, for completion. Empty (never an
/// error) when Python may not run, the provider needs a key or is unreachable; successful
/// answers are cached for the session.
async fn provider_models(session: &Arc<Session>, provider: &str) -> Vec<String> {
    if let Some(models) = session.venv.models.get(provider) {
        return models.clone();
    }
    let Some(supervisor) = crate::server::venv::ensure_supervisor(session).await else {
        return Vec::new();
    };
    // Completion must answer quickly (Helix gives up after 20 s).
    let timeout_ms = session.settings().validation_timeout_ms.min(8_000);
    let params = ListModelsParams {
        provider: provider.to_string(),
        timeout_ms: Some(timeout_ms),
    };
    match supervisor
        .request::<ListModels>(
            params,
            std::time::Duration::from_millis(timeout_ms) + std::time::Duration::from_secs(2),
        )
        .await
    {
        Ok(result) => {
            session
                .venv
                .models
                .insert(provider.to_string(), result.models.clone());
            result.models
        }
        Err(error) => {
            tracing::info!("no model list for {provider}: {}", error.message);
            Vec::new()
        }
    }
}

/// Task classes, worker classes and variables, providers, Task fields and snippets where the
/// PlanAI context asks for them (`analysis::ide::complete`), read from the document's current
/// text with the analysis's names; items that fit the context's types sort first.
async fn planai_completions(
    session: &Arc<Session>,
    uri: &Uri,
    text: String,
    source: SourceText,
    offset: usize,
) -> Result<Option<CompletionResponse>> {
    let path = crate::server::state::uri_to_path(uri);
    let encoding = session.encoding();
    crate::server::requests::ide::with_analysis(session, move |host, _| {
        let completions = crate::analysis::ide::complete::completions(host, &path, &text, offset);
        if completions.is_empty() {
            return None;
        }
        let items = completions
            .into_iter()
            .map(|completion| CompletionItem {
                kind: Some(match completion.kind {
                    CompletionKind::TaskClass | CompletionKind::WorkerClass => {
                        CompletionItemKind::CLASS
                    }
                    CompletionKind::WorkerVariable => CompletionItemKind::VARIABLE,
                    CompletionKind::Provider => CompletionItemKind::VALUE,
                    CompletionKind::Field => CompletionItemKind::FIELD,
                    CompletionKind::Keyword => CompletionItemKind::PROPERTY,
                    CompletionKind::Snippet => CompletionItemKind::SNIPPET,
                }),
                detail: completion.detail,
                sort_text: Some(format!("{}{}", completion.rank, completion.label)),
                filter_text: Some(completion.label.clone()),
                insert_text_format: Some(if completion.is_snippet {
                    InsertTextFormat::SNIPPET
                } else {
                    InsertTextFormat::PLAIN_TEXT
                }),
                text_edit: Some(CompletionTextEdit::Edit(TextEdit {
                    range: to_lsp_range(&source, completion.replace, encoding),
                    new_text: completion.new_text,
                })),
                label: completion.label,
                ..CompletionItem::default()
            })
            .collect();
        Some(CompletionResponse::Array(items))
    })
    .await
}
