//! Test hooks, answered only when `PLANAI_LSP_TEST_HOOKS=1` is set in the server's environment.

use std::sync::Arc;

use tower_lsp_server::jsonrpc::{Error, Result};

use crate::server::state::Session;

fn disabled() -> Error {
    Error::invalid_request()
}

/// Panics on purpose, to prove a panicking handler does not end the session.
pub async fn panic(
    session: &Arc<Session>,
    _params: serde_json::Value,
) -> Result<serde_json::Value> {
    if !session.test_hooks {
        return Err(disabled());
    }
    panic!("planai/debug/panic was requested");
}

/// Reports internal state tests cannot observe otherwise: document text and version, and
/// whether it keeps a syntax tree.
pub async fn state(session: &Arc<Session>, params: serde_json::Value) -> Result<serde_json::Value> {
    if !session.test_hooks {
        return Err(disabled());
    }
    let uri = params
        .get("uri")
        .and_then(|u| u.as_str())
        .unwrap_or_default();
    let document = session
        .documents
        .iter()
        .find(|entry| entry.key().as_str() == uri)
        .map(|entry| {
            serde_json::json!({
                "version": entry.document.version(),
                "text": entry.document.text(),
                "hasTree": entry.document.has_tree(),
            })
        });
    let helper = format!("{:?}", session.venv.helper_status());
    let (settings_known, announced, shown) = session.venv.announcement();
    Ok(serde_json::json!({
        "document": document,
        "encoding": session.encoding().as_lsp_str(),
        "helper": helper,
        "settingsKnown": settings_known,
        "announced": announced,
        "interpreterProblem": session.venv.interpreter_problem(),
        "shownMessages": shown,
    }))
}

/// Holds the analysis lock for `ms` milliseconds on a blocking thread, as an analysis stuck on
/// a pathological file would: tests prove the session keeps answering and still exits.
pub async fn stall_analysis(
    session: &Arc<Session>,
    params: serde_json::Value,
) -> Result<serde_json::Value> {
    if !session.test_hooks {
        return Err(disabled());
    }
    let ms = params.get("ms").and_then(|m| m.as_u64()).unwrap_or(1_000);
    let (locked_tx, locked_rx) = tokio::sync::oneshot::channel();
    let session = Arc::clone(session);
    std::thread::spawn(move || {
        let _host = session.analysis.write();
        let _ = locked_tx.send(());
        std::thread::sleep(std::time::Duration::from_millis(ms));
    });
    // Answer once the lock is held, so the test knows the stall has begun.
    let _ = locked_rx.await;
    Ok(serde_json::json!({"stalled": ms}))
}
