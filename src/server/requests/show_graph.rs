use std::sync::Arc;

use crate::text::SourceText;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::Uri;

use crate::server::convert::to_lsp_range;
use crate::server::state::{uri_to_path, Session};

/// `planai.showGraph [uri]` (or `[{uri}]`): the graphs the file builds, as Mermaid text, DOT
/// (from the whole graph model, see `planai/graph`) and the edges with their ranges, from the
/// static analysis (no Python runs).
pub async fn handle(
    session: &Arc<Session>,
    arguments: Vec<serde_json::Value>,
) -> Result<serde_json::Value> {
    let uri_text = arguments
        .first()
        .and_then(|a| {
            a.as_str()
                .map(str::to_string)
                .or_else(|| a.get("uri")?.as_str().map(str::to_string))
        })
        .ok_or_else(|| Error::invalid_params("planai.showGraph needs the document URI"))?;
    let uri: Uri = uri_text
        .parse()
        .map_err(|_| Error::invalid_params(format!("not a URI: {uri_text}")))?;
    let path = uri_to_path(&uri);
    // The analysis lock is taken on a blocking thread: a handler must never wait for it.
    let reading = Arc::clone(session);
    let (edges, disk_text, dot) = tokio::task::spawn_blocking(move || {
        let host = reading
            .analysis_snapshot()
            .ok_or_else(Error::internal_error)?;
        let model = crate::analysis::graph_model::graph_model(&host, &path);
        Ok::<_, Error>((
            host.graph_edges(&path),
            host.file_text(&path),
            crate::analysis::graph_view::dot(&model),
        ))
    })
    .await
    .map_err(|_| Error::internal_error())??;
    let source = match session.documents.get(&uri) {
        Some(entry) => entry.document.source().clone(),
        None => SourceText::new(&*disk_text.unwrap_or_default()),
    };
    let encoding = session.encoding();
    let listed: Vec<serde_json::Value> = edges
        .iter()
        .map(|edge| {
            serde_json::json!({
                "scope": edge.scope,
                "upstream": edge.upstream,
                "downstream": edge.downstream,
                "taskType": edge.task_type,
                "range": to_lsp_range(&source, edge.range, encoding),
            })
        })
        .collect();
    Ok(serde_json::json!({
        "mermaid": crate::analysis::graph_view::mermaid(&edges),
        "dot": dot,
        "edges": listed,
    }))
}
