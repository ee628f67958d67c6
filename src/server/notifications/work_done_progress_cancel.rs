use std::sync::Arc;

use tower_lsp_server::ls_types::WorkDoneProgressCancelParams;

use crate::server::state::Session;

/// `window/workDoneProgress/cancel`: the user pressed Cancel on a run's progress.
pub fn handle(session: &Arc<Session>, params: WorkDoneProgressCancelParams) {
    let Ok(key) = serde_json::to_string(&params.token) else {
        return;
    };
    let run_id = session.runs.tokens.get(&key).map(|id| id.clone());
    if let Some(run_id) = run_id {
        tracing::info!(target: "planai_lsp::run", run_id, "cancelled from the client's progress");
        session.runs.manager.cancel(&run_id);
    }
}
