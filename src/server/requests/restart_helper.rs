use std::sync::Arc;

use tower_lsp_server::jsonrpc::Result;

use crate::server::state::Session;
use crate::server::venv;

/// `planai.restartHelper`: kill the helper tree and start a fresh one.
pub async fn handle(session: &Arc<Session>) -> Result<serde_json::Value> {
    match venv::ensure_supervisor(session).await {
        Some(supervisor) => {
            supervisor.restart().await;
            Ok(serde_json::json!({"restarted": true}))
        }
        None => Ok(
            serde_json::json!({"restarted": false, "reason": session.venv.interpreter_problem()}),
        ),
    }
}
