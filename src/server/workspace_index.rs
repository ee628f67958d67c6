//! Loading the workspace's Python files into the analysis host at startup.

use std::sync::Arc;

use crate::server::panic_guard::spawn_guarded;
use crate::server::state::Session;

/// Indexes every Python file under the workspace folders in a blocking task, then re-checks
/// the open documents (their buffers always win over the disk).
pub fn spawn_initial_index(session: Arc<Session>) {
    spawn_guarded("index workspace", async move {
        let roots = session.roots.read().map(|r| r.clone()).unwrap_or_default();
        if roots.is_empty() {
            return;
        }
        let started = std::time::Instant::now();
        // Reading and summarising is the slow part: do it without holding the host's lock.
        // Inserting takes the lock, so it also runs on the blocking thread: the async
        // runtime never waits for the analysis lock.
        let inserting = Arc::clone(&session);
        let loaded = tokio::task::spawn_blocking(move || {
            let files =
                crate::workspace::load_files(&crate::workspace::discover_python_files(&roots));
            let count = files.len();
            if let Ok(mut host) = inserting.analysis.write() {
                let closed: Vec<_> = files
                    .into_iter()
                    .filter(|file| {
                        !crate::server::state::path_to_uri(&file.path)
                            .is_some_and(|uri| inserting.documents.contains_key(&uri))
                    })
                    .collect();
                host.insert_files(closed);
            }
            count
        })
        .await;
        let Ok(count) = loaded else {
            tracing::error!("workspace indexing failed");
            return;
        };
        tracing::info!("indexed {count} Python files in {:?}", started.elapsed());
        session.bump_generation();
        session.wake_others(None);
    });
}
