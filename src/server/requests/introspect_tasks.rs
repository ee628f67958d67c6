use std::sync::Arc;
use std::time::Duration;

use tower_lsp_server::jsonrpc::{Error, Result};

use crate::python::protocol::{IntrospectParams, IntrospectTasks};
use crate::server::state::Session;
use crate::server::venv;

/// `planai.introspectTasks [module]` or `[{module}]`: Task classes and their pydantic fields
/// as the venv sees them (installed packages included).
pub async fn handle(
    session: &Arc<Session>,
    arguments: Vec<serde_json::Value>,
) -> Result<serde_json::Value> {
    let module = arguments
        .first()
        .and_then(|a| {
            a.as_str()
                .map(str::to_string)
                .or_else(|| a.get("module")?.as_str().map(str::to_string))
        })
        .ok_or_else(|| {
            Error::invalid_params("planai.introspectTasks needs a module name, e.g. \"planai\"")
        })?;
    let supervisor = venv::require_supervisor(session).await?;
    let timeout_ms = session.settings().validation_timeout_ms;
    let params = IntrospectParams {
        module: Some(module),
        roots: venv::roots(session)
            .iter()
            .map(|r| r.display().to_string())
            .collect(),
        timeout_ms: Some(timeout_ms),
        ..Default::default()
    };
    let result = supervisor
        .request::<IntrospectTasks>(
            params,
            Duration::from_millis(timeout_ms) + Duration::from_secs(2),
        )
        .await
        .map_err(venv::helper_failure)?;
    Ok(serde_json::to_value(result).unwrap_or_default())
}
