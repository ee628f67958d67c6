use std::sync::Arc;

use serde_json::{json, Value};
use tower_lsp_server::jsonrpc::{Error, Result};

use crate::server::state::Session;

/// `planai.cancelRun [runId]` (or `[{"runId": …}]`): kills the run's process tree. Answers
/// `{"cancelled": true}` when the run was waiting or running; the run's progress then ends
/// with the outcome `cancelled`.
pub async fn handle(session: &Arc<Session>, arguments: Vec<Value>) -> Result<Value> {
    let run_id = arguments
        .first()
        .and_then(|a| {
            a.as_str()
                .map(str::to_string)
                .or_else(|| a.get("runId")?.as_str().map(str::to_string))
        })
        .ok_or_else(|| Error::invalid_params("planai.cancelRun needs the run id"))?;
    Ok(json!({ "cancelled": session.runs.manager.cancel(&run_id) }))
}
