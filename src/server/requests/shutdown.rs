use std::sync::Arc;

use crate::server::state::Session;

/// Stops background workers and helper processes; the process exits on `exit`.
pub async fn handle(session: &Arc<Session>) {
    for mut entry in session.documents.iter_mut() {
        if let Some(worker) = entry.worker.take() {
            worker.task.abort();
        }
    }
    session.runs.manager.cancel_all();
    crate::server::venv::shutdown(session).await;
}
