use std::path::PathBuf;
use std::sync::Arc;

use crate::text::SourceText;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::Uri;

use crate::analysis::graph_model::{self, GraphInfo, Location};
use crate::analysis::graph_view;
use crate::server::convert::to_lsp_range;
use crate::server::state::{path_to_uri, uri_to_path, Session};

/// `planai/graph {textDocument: {uri}, svg?: bool}`: the model of the graphs the document
/// builds (`analysis::graph_model`, as JSON with `{uri, range}` locations), plus its DOT and,
/// when asked, an SVG picture laid out by the server.
pub async fn handle(
    session: &Arc<Session>,
    params: serde_json::Value,
) -> Result<serde_json::Value> {
    let uri_text = params
        .get("textDocument")
        .and_then(|d| d.get("uri"))
        .and_then(|u| u.as_str())
        .ok_or_else(|| Error::invalid_params("planai/graph needs textDocument.uri"))?;
    let uri: Uri = uri_text
        .parse()
        .map_err(|_| Error::invalid_params(format!("not a URI: {uri_text}")))?;
    let want_svg = params.get("svg").and_then(|s| s.as_bool()) == Some(true);
    crate::server::requests::ide::catch_up(session).await;
    let path = uri_to_path(&uri);
    // The analysis lock is taken on a blocking thread: a handler must never wait for it. The
    // layout runs there too (it is CPU work).
    let reading = Arc::clone(session);
    let requested = path.clone();
    let (model, texts, svg) = tokio::task::spawn_blocking(move || {
        let host = reading
            .analysis_snapshot()
            .ok_or_else(Error::internal_error)?;
        let model = graph_model::graph_model(&host, &requested);
        let mut texts: Vec<(PathBuf, Option<Arc<str>>)> = Vec::new();
        graph_model::to_json(&model, &mut |l: &Location| {
            if !texts.iter().any(|(p, _)| *p == l.path) {
                texts.push((l.path.clone(), host.file_text(&l.path)));
            }
            serde_json::Value::Null
        });
        drop(host);
        let svg = want_svg.then(|| {
            let graphs: Vec<&GraphInfo> = model.graphs.iter().collect();
            graph_view::svg(&graphs)
        });
        Ok::<_, Error>((model, texts, svg))
    })
    .await
    .map_err(|_| Error::internal_error())??;
    let encoding = session.encoding();
    let sources: Vec<(PathBuf, SourceText, Option<Uri>)> = texts
        .into_iter()
        .map(|(p, text)| {
            let location_uri = if p == path {
                Some(uri.clone())
            } else {
                path_to_uri(&p)
            };
            // Ranges were computed from the text the analysis holds; an open buffer the
            // analysis has not seen yet is only a fallback.
            let source = match text {
                Some(text) => SourceText::new(&*text),
                None => location_uri
                    .as_ref()
                    .and_then(|u| session.documents.get(u))
                    .map(|entry| entry.document.source().clone())
                    .unwrap_or_default(),
            };
            (p, source, location_uri)
        })
        .collect();
    let mut json = graph_model::to_json(&model, &mut |l: &Location| match sources
        .iter()
        .find(|(p, _, _)| *p == l.path)
    {
        Some((_, source, Some(location_uri))) => serde_json::json!({
            "uri": location_uri.as_str(),
            "range": to_lsp_range(source, l.range, encoding),
        }),
        _ => serde_json::Value::Null,
    });
    json["uri"] = serde_json::Value::String(uri.as_str().to_string());
    json["dot"] = serde_json::Value::String(graph_view::dot(&model));
    match svg {
        Some(Ok(svg)) => json["svg"] = serde_json::Value::String(svg),
        Some(Err(message)) => json["svgError"] = serde_json::Value::String(message),
        None => {}
    }
    Ok(json)
}
