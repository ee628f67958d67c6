use std::sync::Arc;
use std::time::Duration;

use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::Uri;

use crate::python::protocol::{ValidateTaskData, ValidateTaskDataParams};
use crate::server::state::{uri_to_path, Session};
use crate::server::venv;

/// `planai/validateTaskData {uri, className, data}` (or `{module, className, data}`): validates
/// JSON data against a Task model in the selected environment, never evaluating it.
pub async fn handle(
    session: &Arc<Session>,
    params: serde_json::Value,
) -> Result<serde_json::Value> {
    let class_name = params
        .get("className")
        .and_then(|c| c.as_str())
        .ok_or_else(|| Error::invalid_params("className is required"))?
        .to_string();
    let data = params
        .get("data")
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    let mut request = ValidateTaskDataParams {
        class_name,
        data,
        roots: venv::roots(session)
            .iter()
            .map(|r| r.display().to_string())
            .collect(),
        timeout_ms: Some(session.settings().validation_timeout_ms),
        ..Default::default()
    };
    if let Some(module) = params.get("module").and_then(|m| m.as_str()) {
        request.module = Some(module.to_string());
    } else {
        let uri_text = params
            .get("uri")
            .and_then(|u| u.as_str())
            .ok_or_else(|| Error::invalid_params("uri or module is required"))?;
        let uri: Uri = uri_text
            .parse()
            .map_err(|_| Error::invalid_params("uri is not a valid URI"))?;
        let path = uri_to_path(&uri);
        let open = session
            .documents
            .get(&uri)
            .map(|entry| entry.document.text());
        let source = match open {
            Some(text) => text,
            None => {
                let reading = path.clone();
                tokio::task::spawn_blocking(move || crate::workspace::read_file(&reading))
                    .await
                    .map_err(|_| Error::internal_error())?
                    .map_err(|e| {
                        Error::invalid_params(format!("cannot read {}: {e}", path.display()))
                    })?
                    .to_string()
            }
        };
        request.path = Some(path.display().to_string());
        request.source = Some(source);
    }
    let supervisor = venv::require_supervisor(session).await?;
    let timeout =
        Duration::from_millis(session.settings().validation_timeout_ms) + Duration::from_secs(2);
    let result = supervisor
        .request::<ValidateTaskData>(request, timeout)
        .await
        .map_err(venv::helper_failure)?;
    Ok(serde_json::to_value(result).unwrap_or_default())
}
