//! Shared glue of the language-feature requests (hover, navigation, symbols, lenses, inlay
//! hints): the analysis is read on a blocking thread, never on a runtime thread (a stuck
//! analysis must not stall the session), and positions are converted against the text the
//! analysis holds for each file, so offsets and ranges always describe the same text.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::text::SourceText;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::{Location, Position, Range, Uri};

use crate::analysis::AnalysisHost;
use crate::diagnostics::TextRange;
use crate::server::convert::to_lsp_range;
use crate::server::state::{path_to_uri, Session};
use crate::text::{position_to_offset, LspPosition, PositionEncoding};

/// How long a request waits for the checks of edits it arrived right after.
const CATCH_UP_LIMIT: std::time::Duration = std::time::Duration::from_millis(500);

/// Waits (at most [`CATCH_UP_LIMIT`]) until every open document's latest version has been
/// checked. A request sent right after an edit (a hover, a rename, a code action) must answer
/// for the text the editor shows, and positions are converted with the text the analysis
/// holds: without this, they would describe the version before the edit.
pub async fn catch_up(session: &Session) {
    // The first requests of a session may arrive before the workspace is indexed (a code
    // action right after the first open): wait for it too, within the same limit.
    use crate::server::state::IndexState;
    let mut index = session.initial_index.subscribe();
    if *index.borrow() == IndexState::Running {
        let done = index.wait_for(|state| *state == IndexState::Done);
        let _ = tokio::time::timeout(CATCH_UP_LIMIT, done).await;
    }
    let pending: Vec<(
        i32,
        tokio::sync::watch::Receiver<crate::server::state::CheckedFacts>,
    )> = session
        .documents
        .iter()
        .filter_map(|entry| {
            let version = entry.document.version();
            let checked = entry.checked.as_ref().map(|checked| checked.version);
            (checked != Some(version)).then(|| (version, entry.facts()))
        })
        .collect();
    if pending.is_empty() {
        return;
    }
    let all_checked = async {
        for (version, mut facts) in pending {
            // A closed document drops its sender: nothing to wait for.
            let _ = facts
                .wait_for(|facts| {
                    facts
                        .as_ref()
                        .is_some_and(|(checked, _)| *checked >= version)
                })
                .await;
        }
    };
    if tokio::time::timeout(CATCH_UP_LIMIT, all_checked)
        .await
        .is_err()
    {
        tracing::debug!("answering before the latest edits were checked ({CATCH_UP_LIMIT:?})");
    }
}

/// Runs `query` with a snapshot of the analysis on a blocking thread, once the latest edits
/// are checked ([`catch_up`]). The lock is held only to clone the host (all per-file data is
/// shared behind `Arc`s).
pub async fn with_analysis<T, F>(session: &Arc<Session>, query: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&AnalysisHost, &mut Positions) -> T + Send + 'static,
{
    catch_up(session).await;
    let reading = Arc::clone(session);
    let encoding = session.encoding();
    tokio::task::spawn_blocking(move || {
        let host = reading
            .analysis_snapshot()
            .ok_or_else(Error::internal_error)?;
        let mut positions = Positions {
            host: host.clone(),
            encoding,
            sources: HashMap::new(),
        };
        Ok(query(&host, &mut positions))
    })
    .await
    .map_err(|_| Error::internal_error())?
}

/// Converts between LSP positions and the byte offsets of the texts the analysis holds.
pub struct Positions {
    host: crate::analysis::Analysis,
    encoding: PositionEncoding,
    sources: HashMap<PathBuf, SourceText>,
}

impl Positions {
    fn source(&mut self, path: &Path) -> Option<&SourceText> {
        if !self.sources.contains_key(path) {
            let text = self.host.file_text(path)?;
            self.sources
                .insert(path.to_path_buf(), SourceText::new(&*text));
        }
        self.sources.get(path)
    }

    /// The byte offset of `position` in `path`'s text (`None` for a file the analysis does
    /// not know).
    pub fn offset(&mut self, path: &Path, position: Position) -> Option<usize> {
        let encoding = self.encoding;
        let source = self.source(path)?;
        Some(position_to_offset(
            source,
            LspPosition {
                line: position.line,
                character: position.character,
            },
            encoding,
        ))
    }

    pub fn range(&mut self, path: &Path, range: TextRange) -> Option<Range> {
        let encoding = self.encoding;
        let source = self.source(path)?;
        Some(to_lsp_range(source, range, encoding))
    }

    pub fn location(&mut self, path: &Path, range: TextRange) -> Option<Location> {
        Some(Location {
            uri: path_to_uri(path)?,
            range: self.range(path, range)?,
        })
    }
}

/// The analysis path of a request's document.
pub fn document_path(uri: &Uri) -> PathBuf {
    crate::server::state::uri_to_path(uri)
}
