//! Applying settings and pulling `workspace/configuration` without ever blocking a handler.

use std::sync::Arc;
use std::time::Duration;

use tower_lsp_server::ls_types::ConfigurationItem;

use crate::server::panic_guard::spawn_guarded;
use crate::server::state::Session;

/// How long a server-to-client request may take before we give up on it.
pub const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Merges pushed settings, applies the log level and restarts what depends on the interpreter.
pub fn apply(session: &Arc<Session>, value: &serde_json::Value) {
    let (before, after) = {
        let Ok(mut settings) = session.settings.write() else {
            return;
        };
        let before = settings.clone();
        settings.merge_from(value);
        (before, settings.clone())
    };
    if let Some(level) = after.log_level.as_deref() {
        crate::server::logging::set_level(level);
    }
    if before.selection_inputs() != after.selection_inputs() {
        crate::server::venv::interpreter_changed(session);
    }
}

/// Asks the client for the `planai` section in a spawned task bounded by a timeout, so four
/// pending pulls can never jam tower-lsp-server's request slots (it polls a bounded number of
/// handlers at once, and a handler awaiting the client holds one; see ARCHITECTURE.md).
pub fn spawn_pull(session: Arc<Session>) {
    spawn_guarded("pull configuration", async move {
        let request = session.client.configuration(vec![ConfigurationItem {
            scope_uri: None,
            section: Some("planai".to_string()),
        }]);
        match tokio::time::timeout(CLIENT_REQUEST_TIMEOUT, request).await {
            Ok(Ok(mut values)) if !values.is_empty() => {
                let value = values.remove(0);
                if !value.is_null() {
                    apply(&session, &value);
                }
            }
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::debug!("workspace/configuration failed: {error}"),
            Err(_) => tracing::warn!(
                "workspace/configuration got no answer within {CLIENT_REQUEST_TIMEOUT:?}"
            ),
        }
        crate::server::venv::settings_known(&session);
    });
}
