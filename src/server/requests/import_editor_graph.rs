use std::path::{Path, PathBuf};

use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::Uri;

use crate::server::state::{path_to_uri, uri_to_path};

/// `planai.importEditorGraph [graphUri, target]` or `[{graph, target, overwrite?}]`: writes
/// the saved PlanAI Editor graph `graphUri` as a Python module at `target` (a path, relative
/// to the graph's folder, or a file URI) and returns `{uri, warnings}`.
///
/// The server writes the file itself rather than returning a `WorkspaceEdit`: creating a
/// new file needs no merge with an open buffer, every client gets the same result without
/// client code (a returned edit is applied by no client on its own, and asking the client
/// with `workspace/applyEdit` would mean awaiting a client request inside a handler), and
/// the CLI does the same. An existing file is never replaced unless `overwrite` is true.
pub async fn handle(arguments: Vec<serde_json::Value>) -> Result<serde_json::Value> {
    let request = FileRequest::from_arguments("planai.importEditorGraph", &arguments, true)?;
    let target = request.target.clone().ok_or_else(|| {
        Error::invalid_params("planai.importEditorGraph needs a target path for the module")
    })?;
    let source = request.source.clone();
    let overwrite = request.overwrite;
    tokio::task::spawn_blocking(move || {
        // A FIFO, a device or a huge file is refused, never read forever.
        let json = crate::workspace::read_file(&source)
            .map_err(|e| Error::invalid_params(format!("cannot read {}: {e}", source.display())))?;
        let module = crate::interop::import_editor_graph(&json)
            .map_err(|e| Error::invalid_params(format!("{}: {e}", source.display())))?;
        write_new_file(&target, &module.source, overwrite)?;
        Ok(serde_json::json!({
            "uri": path_to_uri(&target).map(|u| u.as_str().to_string()),
            "path": target.display().to_string(),
            "warnings": module.warnings,
        }))
    })
    .await
    .map_err(|_| Error::internal_error())?
}

/// The arguments shared by the interop commands: a source file, a target, `overwrite`.
pub(crate) struct FileRequest {
    pub source: PathBuf,
    pub target: Option<PathBuf>,
    pub overwrite: bool,
}

impl FileRequest {
    pub(crate) fn from_arguments(
        command: &str,
        arguments: &[serde_json::Value],
        source_is_graph: bool,
    ) -> Result<FileRequest> {
        let (source_key, target_key) = if source_is_graph {
            ("graph", "target")
        } else {
            ("module", "target")
        };
        let first = arguments.first();
        let text_of = |v: Option<&serde_json::Value>, key: &str| -> Option<String> {
            let v = v?;
            v.as_str()
                .map(str::to_string)
                .or_else(|| v.get(key)?.as_str().map(str::to_string))
                .or_else(|| v.get("uri")?.as_str().map(str::to_string))
        };
        let source_text = text_of(first, source_key).ok_or_else(|| {
            Error::invalid_params(format!("{command} needs the {source_key} file's URI"))
        })?;
        let source = file_path(&source_text, None)
            .ok_or_else(|| Error::invalid_params(format!("not a file URI: {source_text}")))?;
        let target_text = first
            .and_then(|v| v.get(target_key))
            .and_then(|t| t.as_str())
            .map(str::to_string)
            .or_else(|| {
                arguments
                    .get(1)
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            });
        let target = match target_text {
            Some(t) => Some(
                file_path(&t, source.parent())
                    .ok_or_else(|| Error::invalid_params(format!("not a file path: {t}")))?,
            ),
            None => None,
        };
        let overwrite = first
            .and_then(|v| v.get("overwrite"))
            .or_else(|| arguments.get(2))
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        Ok(FileRequest {
            source,
            target,
            overwrite,
        })
    }
}

/// A `file:` URI or a path (relative to `base`) as an absolute path.
fn file_path(text: &str, base: Option<&Path>) -> Option<PathBuf> {
    if text.contains("://") {
        let uri: Uri = text.parse().ok()?;
        uri.to_file_path()?;
        return Some(uri_to_path(&uri));
    }
    let path = PathBuf::from(text);
    if path.is_absolute() {
        Some(path)
    } else {
        Some(base?.join(path))
    }
}

/// Writes `text` to `path`, refusing to replace a file unless `overwrite`.
pub(crate) fn write_new_file(path: &Path, text: &str, overwrite: bool) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if overwrite {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::invalid_params(format!(
                "{} exists; pass overwrite: true to replace it",
                path.display()
            ))
        } else {
            Error::invalid_params(format!("cannot write {}: {e}", path.display()))
        }
    })?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::invalid_params(format!("cannot write {}: {e}", path.display())))
}
