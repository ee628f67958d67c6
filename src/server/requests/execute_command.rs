use std::sync::Arc;

use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::{ExecuteCommandParams, LSPAny};

use crate::server::state::Session;

/// Commands the server advertises (editors register them automatically).
pub const COMMANDS: &[&str] = &[
    "planai.listEnvironments",
    "planai.selectEnvironment",
    "planai.restartHelper",
    "planai.listModels",
    "planai.introspectTasks",
    "planai.showGraph",
];

pub async fn handle(
    session: &Arc<Session>,
    params: ExecuteCommandParams,
) -> Result<Option<LSPAny>> {
    match params.command.as_str() {
        "planai.listEnvironments" => crate::server::venv::list_environments(session)
            .await
            .map(Some),
        "planai.selectEnvironment" => {
            crate::server::venv::select_environment(session, params.arguments)
                .await
                .map(Some)
        }
        "planai.restartHelper" => crate::server::venv::restart_helper(session).await.map(Some),
        "planai.listModels" => crate::server::venv::list_models(session, params.arguments)
            .await
            .map(Some),
        "planai.introspectTasks" => {
            crate::server::venv::introspect_tasks(session, params.arguments)
                .await
                .map(Some)
        }
        "planai.showGraph" => {
            crate::server::requests::show_graph::handle(session, params.arguments)
                .await
                .map(Some)
        }
        other => Err(Error::invalid_params(format!(
            "unknown command {other:?}; known: {}",
            COMMANDS.join(", ")
        ))),
    }
}
