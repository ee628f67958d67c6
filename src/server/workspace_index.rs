//! Loading the workspace's Python files into the analysis host: at startup, and again for
//! files that change on disk or are closed (open buffers always win over the disk).

use std::sync::Arc;

use tower_lsp_server::ls_types::Uri;

use crate::analysis::FileData;
use crate::server::panic_guard::spawn_guarded;
use crate::server::state::{uri_to_path, Session};

/// What to take from the disk for one file that is not open.
pub enum FromDisk {
    /// Read the file again (it is dropped from the index when it cannot be read: gone, not a
    /// regular file, too large).
    Read(Uri),
    /// Drop it from the index.
    Forget(Uri),
}

/// Re-indexes `files` from the disk in the background and re-checks the open documents when
/// anything changed.
///
/// Reading and re-analysing run on a blocking thread, never on a handler: only regular files
/// within the size limit are read (`workspace::read_file`), and the analysis lock is never
/// awaited on a runtime thread. Each file is parsed and summarised without the lock, which is
/// taken only to install it. A file opened meanwhile is skipped: whether it is open is asked
/// again under the write lock, and its document worker sets the buffer's text under the same
/// lock, so the disk text never replaces the buffer's.
pub fn reindex_from_disk(session: &Arc<Session>, files: Vec<FromDisk>) {
    if files.is_empty() {
        return;
    }
    let job_session = Arc::clone(session);
    spawn_guarded("re-index files from disk", async move {
        let session = Arc::clone(&job_session);
        let changed = tokio::task::spawn_blocking(move || {
            let mut changed = false;
            for file in files {
                let (uri, read) = match file {
                    FromDisk::Read(uri) => (uri, true),
                    FromDisk::Forget(uri) => (uri, false),
                };
                if job_session.documents.contains_key(&uri) {
                    continue;
                }
                let path = uri_to_path(&uri);
                let text = if read {
                    crate::workspace::read_file(&path)
                        .map_err(|reason| {
                            tracing::info!("not indexing {}: {reason}", path.display())
                        })
                        .ok()
                } else {
                    None
                };
                // Parsed and summarised before taking the lock, which is held only to install
                // the result (snapshots are taken under it).
                let data = text.map(|text| FileData::build(path.clone(), text, None));
                let Ok(mut host) = job_session.analysis.write() else {
                    break;
                };
                if job_session.documents.contains_key(&uri) {
                    continue;
                }
                match data {
                    Some(data) => host.insert_files(vec![data]),
                    None => host.remove_file(&path),
                }
                changed = true;
            }
            changed
        })
        .await;
        if changed.unwrap_or(false) {
            session.bump_generation();
            session.wake_others(None);
        }
    });
}

/// Indexes every Python file under the workspace folders in a blocking task, then re-checks
/// the open documents (their buffers always win over the disk).
pub fn spawn_initial_index(session: Arc<Session>) {
    session
        .initial_index
        .send_replace(crate::server::state::IndexState::Running);
    spawn_guarded("index workspace", async move {
        // Whatever happens below (no roots, a failed or panicking load), requests stop
        // waiting for the index when this task ends.
        struct Indexed(Arc<Session>);
        impl Drop for Indexed {
            fn drop(&mut self) {
                self.0
                    .initial_index
                    .send_replace(crate::server::state::IndexState::Done);
            }
        }
        let _indexed = Indexed(Arc::clone(&session));
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
