use std::sync::Arc;

use tower_lsp_server::ls_types::DidChangeConfigurationParams;

use crate::server::state::Session;

/// Pushed settings (Neovim, Helix) are merged directly; an empty payload (VS Code's
/// convention) means "pull again", which is spawned so the handler never awaits the client.
pub fn handle(session: &Arc<Session>, params: DidChangeConfigurationParams) {
    if params.settings.is_null() || params.settings.as_object().is_some_and(|o| o.is_empty()) {
        crate::server::configuration::spawn_pull(Arc::clone(session));
        return;
    }
    crate::server::configuration::apply(session, &params.settings);
}
