use std::sync::Arc;

use tower_lsp_server::jsonrpc::Result;

use crate::server::state::Session;
use crate::server::venv;

/// `planai.listEnvironments`: every environment found, the selected one marked.
pub async fn handle(session: &Arc<Session>) -> Result<serde_json::Value> {
    venv::ensure_configured(session).await;
    let (found, selected) = session.venv.service.list_environments().await;
    Ok(crate::python::envs::environments_json(&found, selected))
}
