use tower_lsp_server::jsonrpc::{Error, Result};

/// `planai.showReferences {uri, position, locations}`, the command of the Task code lenses:
/// showing places is the editor's job (see `code_lens.rs` for how VS Code and Neovim map
/// it), so the server only checks the argument and answers with the locations, which keeps
/// a client without a mapping from getting an "unknown command" error.
pub fn handle(arguments: Vec<serde_json::Value>) -> Result<serde_json::Value> {
    let argument = arguments.first().ok_or_else(|| {
        Error::invalid_params("planai.showReferences needs {uri, position, locations}")
    })?;
    let locations = argument
        .get("locations")
        .filter(|l| l.is_array())
        .ok_or_else(|| {
            Error::invalid_params("planai.showReferences: `locations` must be a list")
        })?;
    Ok(locations.clone())
}
