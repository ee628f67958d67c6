use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use ropey::Rope;
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
    let wants_quickfix = params.context.only.as_ref().is_none_or(|only| {
        only.iter().any(|kind| {
            CodeActionKind::QUICKFIX.as_str().starts_with(kind.as_str()) || kind.as_str().is_empty()
        })
    });
    if !wants_quickfix {
        return Ok(None);
    }
    let uri = params.text_document.uri;
    let range = params.range;
    let path = uri_to_path(&uri);
    let encoding = session.encoding();
    // The analysis lock is taken on a blocking thread: a handler must never wait for it.
    let reading = Arc::clone(session);
    tokio::task::spawn_blocking(move || {
        let host = reading
            .analysis
            .read()
            .map_err(|_| Error::internal_error())?;
        // Offsets are the analysis's: converted with the text it checked.
        let Some(text) = host.file_text(&path) else {
            return Ok(None);
        };
        let rope = Rope::from_str(&text);
        let offset = |p: Position| {
            position_to_offset(
                &rope,
                LspPosition {
                    line: p.line,
                    character: p.character,
                },
                encoding,
            )
        };
        let (start, end) = (offset(range.start), offset(range.end));
        let found = fixes::fixes(&host, &path, TextRange::new(start.min(end), end.max(start)));
        if found.is_empty() {
            return Ok(None);
        }
        let mut ropes: Vec<(PathBuf, Rope)> = vec![(path.clone(), rope.clone())];
        for fix in &found {
            for e in &fix.edits {
                if !ropes.iter().any(|(p, _)| *p == e.path) {
                    let other = host.file_text(&e.path).unwrap_or_default();
                    ropes.push((e.path.clone(), Rope::from_str(&other)));
                }
            }
            for related in fix.diagnostic.iter().flat_map(|d| &d.related) {
                if let Some(p) = &related.path {
                    if !ropes.iter().any(|(known, _)| known == p) {
                        let other = host.file_text(p).unwrap_or_default();
                        ropes.push((p.clone(), Rope::from_str(&other)));
                    }
                }
            }
        }
        drop(host);
        let actions = found
            .into_iter()
            .filter_map(|fix| {
                let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
                for e in &fix.edits {
                    let (_, edit_rope) = ropes.iter().find(|(p, _)| *p == e.path)?;
                    let edit_uri = if e.path == path {
                        uri.clone()
                    } else {
                        path_to_uri(&e.path)?
                    };
                    changes.entry(edit_uri).or_default().push(TextEdit {
                        range: to_lsp_range(edit_rope, e.range, encoding),
                        new_text: e.new_text.clone(),
                    });
                }
                let diagnostics = fix.diagnostic.as_ref().map(|d| {
                    vec![to_lsp_diagnostic(
                        &reading, &uri, &rope, d, encoding, &ropes,
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
            })
            .collect();
        Ok(Some(actions))
    })
    .await
    .map_err(|_| Error::internal_error())?
}
