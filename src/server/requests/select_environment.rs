use std::sync::Arc;

use tower_lsp_server::jsonrpc::{Error, Result};

use crate::python::envs::InterpreterSetting;
use crate::server::state::Session;
use crate::server::venv;

/// `planai.selectEnvironment [path | argv | {interpreter: argv}]`: use that interpreter until
/// the `planai.python` setting changes.
pub async fn handle(
    session: &Arc<Session>,
    arguments: Vec<serde_json::Value>,
) -> Result<serde_json::Value> {
    let Some(argument) = arguments.into_iter().next() else {
        return Err(Error::invalid_params(
            "planai.selectEnvironment needs an interpreter path or argv list",
        ));
    };
    let choice = match argument {
        serde_json::Value::Object(ref object) => object
            .get("interpreter")
            .or_else(|| object.get("path"))
            .cloned()
            .unwrap_or(serde_json::Value::Null),
        other => other,
    };
    let setting = InterpreterSetting::from_json(&choice)
        .map_err(Error::invalid_params)?
        .ok_or_else(|| Error::invalid_params("an empty interpreter cannot be selected"))?;
    let environment = venv::select_environment(session, setting).await;
    Ok(serde_json::to_value(&environment).unwrap_or_default())
}
