use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::text::SourceText;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;

use crate::analysis::fixes;
use crate::diagnostics::TextRange;
use crate::server::convert::{to_lsp_diagnostic, to_lsp_range};
use crate::server::state::{path_to_uri, uri_to_path, Session};
use crate::text::{position_to_offset, LspPosition};

/// `textDocument/codeAction`: the quick fixes of `analysis::fixes` for the diagnostics in the
/// range (and the refactorings at it), each with a `WorkspaceEdit` over the files it touches.
pub async fn handle(
    session: &Arc<Session>,
    params: CodeActionParams,
) -> Result<Option<CodeActionResponse>> {
    let wants = |wanted: &CodeActionKind| {
        params.context.only.as_ref().is_none_or(|only| {
            only.iter()
                .any(|kind| wanted.as_str().starts_with(kind.as_str()) || kind.as_str().is_empty())
        })
    };
    let wants_quickfix = wants(&CodeActionKind::QUICKFIX);
    // Runs are refused in an untrusted workspace: none is offered there either.
    let wants_runs = wants(&RUN_ACTION_KIND) && !session.settings().untrusted_workspace;
    if !wants_quickfix && !wants_runs {
        return Ok(None);
    }
    crate::server::requests::ide::catch_up(session).await;
    let uri = params.text_document.uri;
    let range = params.range;
    let path = uri_to_path(&uri);
    let encoding = session.encoding();
    // The analysis lock is taken on a blocking thread: a handler must never wait for it.
    let reading = Arc::clone(session);
    tokio::task::spawn_blocking(move || {
        let host = reading
            .analysis_snapshot()
            .ok_or_else(Error::internal_error)?;
        // Offsets are the analysis's: converted with the text it checked.
        let Some(text) = host.file_text(&path) else {
            return Ok(None);
        };
        let source = SourceText::new(&*text);
        let offset = |p: Position| {
            position_to_offset(
                &source,
                LspPosition {
                    line: p.line,
                    character: p.character,
                },
                encoding,
            )
        };
        let (start, end) = (offset(range.start), offset(range.end));
        let found = if wants_quickfix {
            fixes::fixes(&host, &path, TextRange::new(start.min(end), end.max(start)))
        } else {
            Vec::new()
        };
        let runs = if wants_runs {
            run_actions(&host, &path, &uri, &source, range, encoding)
        } else {
            Vec::new()
        };
        if found.is_empty() && runs.is_empty() {
            return Ok(None);
        }
        let mut sources: Vec<(PathBuf, SourceText)> = vec![(path.clone(), source.clone())];
        for fix in &found {
            for e in &fix.edits {
                if !sources.iter().any(|(p, _)| *p == e.path) {
                    let other = host.file_text(&e.path).unwrap_or_default();
                    sources.push((e.path.clone(), SourceText::new(&*other)));
                }
            }
            for related in fix.diagnostic.iter().flat_map(|d| &d.related) {
                if let Some(p) = &related.path {
                    if !sources.iter().any(|(known, _)| known == p) {
                        let other = host.file_text(p).unwrap_or_default();
                        sources.push((p.clone(), SourceText::new(&*other)));
                    }
                }
            }
        }
        drop(host);
        let actions = runs
            .into_iter()
            .chain(found.into_iter().filter_map(|fix| {
                let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
                for e in &fix.edits {
                    let (_, edit_source) = sources.iter().find(|(p, _)| *p == e.path)?;
                    let edit_uri = if e.path == path {
                        uri.clone()
                    } else {
                        path_to_uri(&e.path)?
                    };
                    changes.entry(edit_uri).or_default().push(TextEdit {
                        range: to_lsp_range(edit_source, e.range, encoding),
                        new_text: e.new_text.clone(),
                    });
                }
                let diagnostics = fix.diagnostic.as_ref().map(|d| {
                    vec![to_lsp_diagnostic(
                        &reading, &uri, &source, d, encoding, &sources,
                    )]
                });
                Some(CodeActionOrCommand::CodeAction(CodeAction {
                    title: fix.title,
                    kind: Some(CodeActionKind::QUICKFIX),
                    diagnostics,
                    edit: Some(WorkspaceEdit {
                        changes: Some(changes),
                        ..WorkspaceEdit::default()
                    }),
                    is_preferred: fix.preferred.then_some(true),
                    ..CodeAction::default()
                }))
            }))
            .collect();
        Ok(Some(actions))
    })
    .await
    .map_err(|_| Error::internal_error())?
}

/// The kind of the "Run graph" / "Debug graph" actions: a source action (VS Code lists them
/// under Source Action…, beside its code lenses; Helix and Neovim, which show no lenses, list
/// them with the other actions).
pub const RUN_ACTION_KIND: CodeActionKind = CodeActionKind::new("source.planai.run");

/// "Run graph" and "Debug graph" when the range starts on the line of a graph builder or the
/// `__main__` block: the code lenses' commands, for clients that do not show lenses.
fn run_actions(
    host: &crate::analysis::AnalysisHost,
    path: &std::path::Path,
    uri: &Uri,
    source: &SourceText,
    range: Range,
    encoding: crate::text::PositionEncoding,
) -> Vec<CodeActionOrCommand> {
    use crate::analysis::ide::lenses::{graph_builder_lenses, LensAction};
    graph_builder_lenses(host, path)
        .into_iter()
        .filter_map(|lens| {
            let (command, graph, verb) = match &lens.action {
                LensAction::Run(graph) => ("planai.run", graph.clone(), "Run"),
                LensAction::Debug(graph) => ("planai.debug", graph.clone(), "Debug"),
                _ => return None,
            };
            let line = to_lsp_range(source, lens.range, encoding).start.line;
            if line != range.start.line {
                return None;
            }
            let what = match &graph {
                Some(builder) => format!("{builder}()"),
                None => "the __main__ block".to_string(),
            };
            Some(CodeActionOrCommand::CodeAction(CodeAction {
                title: format!("{verb} graph: {what}"),
                kind: Some(RUN_ACTION_KIND),
                command: Some(Command {
                    title: format!("{verb} graph"),
                    command: command.to_string(),
                    arguments: Some(vec![
                        serde_json::json!({ "uri": uri.as_str(), "graph": graph }),
                    ]),
                }),
                ..CodeAction::default()
            }))
        })
        .collect()
}
