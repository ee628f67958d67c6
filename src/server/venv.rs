//! Glue between documents and venv-backed validation (the `python` module does the work).

use std::sync::Arc;

use tower_lsp_server::ls_types::Uri;

use crate::server::state::Session;

/// Called after every edit: with `onType`, schedules a debounced validation.
pub fn on_change(_session: &Arc<Session>, _uri: &Uri, _version: i32) {}

/// Called on save: with `onSave`, validates the current buffer.
pub fn on_save(_session: &Arc<Session>, _uri: &Uri) {}

/// The interpreter setting or trust changed: restart the helper with the new interpreter.
pub fn interpreter_changed(_session: &Arc<Session>) {}

/// Stops helper processes (on shutdown).
pub async fn shutdown(_session: &Arc<Session>) {}

pub async fn list_environments(
    _session: &Arc<Session>,
) -> tower_lsp_server::jsonrpc::Result<serde_json::Value> {
    Ok(serde_json::json!([]))
}

pub async fn select_environment(
    _session: &Arc<Session>,
    _arguments: Vec<serde_json::Value>,
) -> tower_lsp_server::jsonrpc::Result<serde_json::Value> {
    Ok(serde_json::Value::Null)
}

pub async fn restart_helper(
    _session: &Arc<Session>,
) -> tower_lsp_server::jsonrpc::Result<serde_json::Value> {
    Ok(serde_json::Value::Null)
}
