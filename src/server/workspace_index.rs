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
        let loaded = tokio::task::spawn_blocking(move || read_python_files(&roots)).await;
        let Ok(files) = loaded else {
            tracing::error!("workspace indexing failed");
            return;
        };
        let count = files.len();
        if let Ok(mut host) = session.analysis.write() {
            for (path, text) in files {
                let is_open = crate::server::state::path_to_uri(&path)
                    .is_some_and(|uri| session.documents.contains_key(&uri));
                if !is_open {
                    host.set_file(path, text, None);
                }
            }
        }
        tracing::info!("indexed {count} Python files in {:?}", started.elapsed());
        session.bump_generation();
        session.wake_others(None);
    });
}

/// Reads every `.py` file under `roots`, honouring `.gitignore` and skipping virtualenvs.
fn read_python_files(roots: &[std::path::PathBuf]) -> Vec<(std::path::PathBuf, Arc<str>)> {
    let mut files = Vec::new();
    for root in roots {
        let walker = ignore::WalkBuilder::new(root)
            .filter_entry(|entry| {
                let name = entry.file_name().to_string_lossy();
                !(matches!(
                    name.as_ref(),
                    ".venv" | "venv" | "node_modules" | "__pycache__" | ".git"
                ) || entry.path().join("pyvenv.cfg").exists())
            })
            .build();
        for entry in walker.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) == Some("py") && path.is_file() {
                if let Ok(bytes) = std::fs::read(path) {
                    files.push((
                        path.to_path_buf(),
                        Arc::from(String::from_utf8_lossy(&bytes).as_ref()),
                    ));
                }
            }
        }
    }
    files
}
