use std::sync::Arc;

use crate::server::state::Session;

/// Stops background workers and helper processes; the process exits on `exit`.
pub async fn handle(session: &Arc<Session>) {
    for worker in session.workers.iter() {
        worker.task.abort();
    }
    session.workers.clear();
    crate::server::venv::shutdown(session).await;
}
