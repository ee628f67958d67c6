use std::sync::Arc;

use tower_lsp_server::jsonrpc::{Error, Result};

use crate::server::requests::import_editor_graph::{write_new_file, FileRequest};
use crate::server::state::{path_to_uri, Session};

/// `planai.exportEditorGraph [moduleUri, target?]` or `[{module, target?, overwrite?}]`: the
/// module's PlanAI graph (from the analysis, so an open buffer's unsaved text counts) as a
/// version 2 PlanAI Editor graph. Returns `{graph, warnings}`, plus `uri` when it wrote the
/// JSON to `target` (never replacing a file unless `overwrite` is true).
pub async fn handle(
    session: &Arc<Session>,
    arguments: Vec<serde_json::Value>,
) -> Result<serde_json::Value> {
    let request = FileRequest::from_arguments("planai.exportEditorGraph", &arguments, false)?;
    let reading = Arc::clone(session);
    // The analysis lock is taken on a blocking thread: a handler must never wait for it.
    tokio::task::spawn_blocking(move || {
        let path = request.source;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        let exported = {
            let host = reading
                .analysis_snapshot()
                .ok_or_else(Error::internal_error)?;
            crate::interop::module_to_graph(&host, &path, &name)
        }
        .ok_or_else(|| {
            Error::invalid_params(format!(
                "{} is not a Python file of the workspace (open it first)",
                path.display()
            ))
        })?;
        let mut result = serde_json::json!({
            "graph": serde_json::to_value(&exported.graph).unwrap_or_default(),
            "warnings": exported.warnings,
        });
        if let Some(target) = request.target {
            let mut json = exported.to_json();
            json.push('\n');
            write_new_file(&target, &json, request.overwrite)?;
            result["uri"] = serde_json::json!(path_to_uri(&target).map(|u| u.as_str().to_string()));
        }
        Ok(result)
    })
    .await
    .map_err(|_| Error::internal_error())?
}
