use std::sync::Arc;

use serde_json::{json, Value};
use tower_lsp_server::jsonrpc::Result;

use crate::server::state::Session;

/// `planai.listRuns`: the runs waiting or running and the last ones that ended, oldest first:
/// `{"runs": [{"id", "path", "graph", "debug", "mockLlm", "state", "pid", "startedAtMs"}]}`.
pub async fn handle(session: &Arc<Session>) -> Result<Value> {
    Ok(json!({ "runs": session.runs.manager.list() }))
}
