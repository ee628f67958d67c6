use std::sync::Arc;

use tower_lsp_server::ls_types::{DidChangeTextDocumentParams, TextDocumentContentChangeEvent};

use crate::server::publish;
use crate::server::state::Session;
use crate::text::{LspPosition, TextEdit};

fn to_text_edit(change: TextDocumentContentChangeEvent) -> TextEdit {
    TextEdit {
        range: change.range.map(|range| {
            (
                LspPosition {
                    line: range.start.line,
                    character: range.start.character,
                },
                LspPosition {
                    line: range.end.line,
                    character: range.end.character,
                },
            )
        }),
        text: change.text,
    }
}

/// Applies the edits to the rope and wakes the worker. Synchronous: the edit is applied before
/// the handler yields, so concurrent handler scheduling cannot reorder edits.
pub fn handle(session: &Arc<Session>, params: DidChangeTextDocumentParams) {
    let uri = params.text_document.uri;
    let version = params.text_document.version;
    let edits: Vec<TextEdit> = params
        .content_changes
        .into_iter()
        .map(to_text_edit)
        .collect();
    let encoding = session.encoding();
    {
        let Some(mut entry) = session.documents.get_mut(&uri) else {
            tracing::warn!(
                uri = uri.as_str(),
                "didChange for a document that is not open; ignored"
            );
            return;
        };
        let document = &mut entry.document;
        if version <= document.version() {
            tracing::warn!(
                uri = uri.as_str(),
                "didChange version {version} is not newer than {}; applying it anyway",
                document.version()
            );
        }
        document.apply_changes(&edits, version, encoding);
    }
    publish::schedule(session, &uri);
    crate::server::venv::on_change(session, &uri, version);
}
