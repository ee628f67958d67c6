use std::sync::Arc;

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{CodeLens, CodeLensParams, Command};

use crate::analysis::ide::lenses::LensAction;
use crate::server::requests::ide::{document_path, with_analysis};
use crate::server::state::Session;

/// `textDocument/codeLens`: "produced by N · consumed by M" above each Task, and "Show
/// graph", "Run graph", "Debug graph" above each graph builder and the `__main__` block (the
/// last two only in a trusted workspace).
///
/// Commands and their single argument object:
/// - `planai.showReferences` `{uri, position, locations}`: the producing and consuming worker
///   classes. A server command rather than VS Code's `editor.action.showReferences`: VS
///   Code's client passes lens arguments as plain JSON, which that command rejects (it wants
///   `vscode.Uri`/`Position`/`Location` objects), and Neovim does not know it at all. The
///   server advertises `planai.showReferences` and answers it with the locations, so every
///   client gets a valid reply; editors map it to their references view (VS Code through
///   the extension's `executeCommand` middleware and `editor.action.showReferences` after
///   converting the types, Neovim with `vim.lsp.commands['planai.showReferences']` filling
///   the quickfix list).
/// - `planai.showGraph` `{uri}`; `planai.run` / `planai.debug` `{uri, graph}` with `graph`
///   the builder function's name, or `null` for the module level / `__main__` block.
pub async fn handle(
    session: &Arc<Session>,
    params: CodeLensParams,
) -> Result<Option<Vec<CodeLens>>> {
    let uri = params.text_document.uri;
    let path = document_path(&uri);
    // Runs are refused in an untrusted workspace (they would execute its code): no lens
    // offers them there.
    let runs_allowed = !session.settings().untrusted_workspace;
    with_analysis(session, move |host, positions| {
        let mut lenses = crate::analysis::ide::lenses::code_lenses(host, &path);
        if !runs_allowed {
            lenses.retain(|lens| !matches!(lens.action, LensAction::Run(_) | LensAction::Debug(_)));
        }
        let uri_text = uri.as_str().to_string();
        Some(
            lenses
                .into_iter()
                .filter_map(|lens| {
                    let range = positions.range(&path, lens.range)?;
                    let (command, argument) = match lens.action {
                        LensAction::ShowReferences(places) => {
                            let locations: Vec<_> = places
                                .iter()
                                .filter_map(|(place, range)| positions.location(place, *range))
                                .collect();
                            (
                                "planai.showReferences",
                                serde_json::json!({
                                    "uri": uri_text,
                                    "position": range.start,
                                    "locations": locations,
                                }),
                            )
                        }
                        LensAction::ShowGraph => {
                            ("planai.showGraph", serde_json::json!({ "uri": uri_text }))
                        }
                        LensAction::Run(graph) => (
                            "planai.run",
                            serde_json::json!({ "uri": uri_text, "graph": graph }),
                        ),
                        LensAction::Debug(graph) => (
                            "planai.debug",
                            serde_json::json!({ "uri": uri_text, "graph": graph }),
                        ),
                    };
                    Some(CodeLens {
                        range,
                        command: Some(Command {
                            title: lens.title,
                            command: command.to_string(),
                            arguments: Some(vec![argument]),
                        }),
                        data: None,
                    })
                })
                .collect(),
        )
    })
    .await
}
