use std::sync::Arc;
use std::time::Duration;

use tower_lsp_server::jsonrpc::{Error, Result};

use crate::python::protocol::{ListModels, ListModelsParams};
use crate::server::state::Session;
use crate::server::venv;

/// `planai.listModels [provider]` or `[{provider}]`: models of a provider, asked in the venv.
pub async fn handle(
    session: &Arc<Session>,
    arguments: Vec<serde_json::Value>,
) -> Result<serde_json::Value> {
    let provider = arguments
        .first()
        .and_then(|a| {
            a.as_str()
                .map(str::to_string)
                .or_else(|| a.get("provider")?.as_str().map(str::to_string))
        })
        .ok_or_else(|| {
            Error::invalid_params("planai.listModels needs a provider, e.g. \"ollama\"")
        })?;
    let supervisor = venv::require_supervisor(session).await?;
    let timeout_ms = session.settings().validation_timeout_ms;
    let result = supervisor
        .request::<ListModels>(
            ListModelsParams {
                provider,
                timeout_ms: Some(timeout_ms),
            },
            Duration::from_millis(timeout_ms) + Duration::from_secs(2),
        )
        .await
        .map_err(venv::helper_failure)?;
    Ok(serde_json::to_value(result).unwrap_or_default())
}
