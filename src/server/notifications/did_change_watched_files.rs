use std::sync::Arc;

use tower_lsp_server::ls_types::{DidChangeWatchedFilesParams, FileChangeType};

use crate::server::state::{uri_to_path, Session};
use crate::server::workspace_index::{reindex_from_disk, FromDisk};

/// Keeps the workspace index current for Python files that are not open (open buffers win),
/// in the background (see [`reindex_from_disk`]).
pub fn handle(session: &Arc<Session>, params: DidChangeWatchedFilesParams) {
    let files = params
        .changes
        .into_iter()
        .filter(|event| uri_to_path(&event.uri).extension().and_then(|e| e.to_str()) == Some("py"))
        .map(|event| match event.typ {
            FileChangeType::DELETED => FromDisk::Forget(event.uri),
            _ => FromDisk::Read(event.uri),
        })
        .collect();
    reindex_from_disk(session, files);
}
