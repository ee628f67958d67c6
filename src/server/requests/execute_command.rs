use std::sync::Arc;

use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::{ExecuteCommandParams, LSPAny};

use crate::server::requests::{cancel_run, list_runs, run};
use crate::server::requests::{export_editor_graph, import_editor_graph};
use crate::server::requests::{
    introspect_tasks, list_environments, list_models, restart_helper, select_environment,
    show_graph,
};
use crate::server::state::Session;

/// Commands the server advertises (editors register them automatically).
pub const COMMANDS: &[&str] = &[
    "planai.listEnvironments",
    "planai.selectEnvironment",
    "planai.restartHelper",
    "planai.listModels",
    "planai.introspectTasks",
    "planai.showGraph",
    "planai.run",
    "planai.debug",
    "planai.cancelRun",
    "planai.listRuns",
    "planai.importEditorGraph",
    "planai.exportEditorGraph",
    "planai.showReferences",
];

pub async fn handle(
    session: &Arc<Session>,
    params: ExecuteCommandParams,
) -> Result<Option<LSPAny>> {
    match params.command.as_str() {
        "planai.listEnvironments" => list_environments::handle(session).await.map(Some),
        "planai.selectEnvironment" => select_environment::handle(session, params.arguments)
            .await
            .map(Some),
        "planai.restartHelper" => restart_helper::handle(session).await.map(Some),
        "planai.listModels" => list_models::handle(session, params.arguments)
            .await
            .map(Some),
        "planai.introspectTasks" => introspect_tasks::handle(session, params.arguments)
            .await
            .map(Some),
        "planai.showGraph" => show_graph::handle(session, params.arguments)
            .await
            .map(Some),
        "planai.run" => run::handle(session, params.arguments, false)
            .await
            .map(Some),
        "planai.debug" => run::handle(session, params.arguments, true).await.map(Some),
        "planai.cancelRun" => cancel_run::handle(session, params.arguments)
            .await
            .map(Some),
        "planai.listRuns" => list_runs::handle(session).await.map(Some),
        "planai.importEditorGraph" => import_editor_graph::handle(params.arguments)
            .await
            .map(Some),
        "planai.exportEditorGraph" => export_editor_graph::handle(session, params.arguments)
            .await
            .map(Some),
        "planai.showReferences" => {
            crate::server::requests::show_references::handle(params.arguments).map(Some)
        }
        other => Err(Error::invalid_params(format!(
            "unknown command {other:?}; known: {}",
            COMMANDS.join(", ")
        ))),
    }
}
