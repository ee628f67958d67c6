//! The session's workflow runs (data only; `requests/run.rs` acts on it): the
//! [`RunManager`], which progress token belongs to which run, the `planai (run)`
//! diagnostics the runs of each document left, and the output their events are written to.
//!
//! Run diagnostics are kept as a 1-based line and placed on that line of the document's
//! current text when published, so they stay on the user's line across edits that do not
//! move it, until the next run of the same document clears them.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::text::SourceText;
use dashmap::DashMap;
use tower_lsp_server::ls_types::Uri;

use crate::diagnostics::{Diagnostic, DiagnosticCode, DiagnosticSource, Severity, TextRange};
use crate::run::RunManager;
use crate::server::framing::Outbox;

/// A failure a run saw in a workspace file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunDiagnostic {
    /// The document whose run saw it (its next run clears it).
    pub origin: Uri,
    /// 1-based.
    pub line: u32,
    /// The exception's class name (the diagnostic's code).
    pub exception: String,
    pub message: String,
}

#[derive(Default)]
pub struct RunState {
    pub manager: RunManager,
    /// Progress token (as JSON text) → run id, for `window/workDoneProgress/cancel`.
    pub tokens: DashMap<String, String>,
    /// Diagnostics by the document they are shown in.
    diagnostics: DashMap<Uri, Vec<RunDiagnostic>>,
    /// The client announced `window.workDoneProgress` support.
    client_progress: AtomicBool,
    /// Where a run's `planai/runEvents` notifications are written, as JSON text.
    pub outbox: Outbox,
}

/// Diagnostics kept per document at most.
const MAX_PER_DOCUMENT: usize = 100;

impl RunState {
    pub fn set_client_progress(&self, supported: bool) {
        self.client_progress.store(supported, Ordering::SeqCst);
    }

    pub fn client_progress(&self) -> bool {
        self.client_progress.load(Ordering::SeqCst)
    }

    /// Removes what earlier runs of `origin` left; the documents that changed.
    pub fn clear_from(&self, origin: &Uri) -> Vec<Uri> {
        let mut changed = Vec::new();
        for mut entry in self.diagnostics.iter_mut() {
            let before = entry.len();
            entry.retain(|d| &d.origin != origin);
            if entry.len() != before {
                changed.push(entry.key().clone());
            }
        }
        self.diagnostics.retain(|_, list| !list.is_empty());
        changed
    }

    /// Adds one; false when the same failure is already shown on that line (a worker
    /// failing on every task reports once per line).
    pub fn add(&self, target: Uri, diagnostic: RunDiagnostic) -> bool {
        let mut list = self.diagnostics.entry(target).or_default();
        if list.len() >= MAX_PER_DOCUMENT || list.contains(&diagnostic) {
            return false;
        }
        list.push(diagnostic);
        true
    }

    /// The run diagnostics of `uri`, each on its line of `source` (from the first non-blank
    /// character to the end of the line).
    pub fn diagnostics_for(&self, uri: &Uri, source: &SourceText) -> Vec<Diagnostic> {
        let Some(list) = self.diagnostics.get(uri) else {
            return Vec::new();
        };
        list.iter()
            .map(|d| {
                Diagnostic::new(
                    DiagnosticSource::PlanaiRun,
                    Severity::Error,
                    DiagnosticCode::Venv(d.exception.clone()),
                    line_range(source, d.line),
                    d.message.clone(),
                )
            })
            .collect()
    }
}

/// The byte range of 1-based `line`'s text without its indentation and line break (the last
/// line when the text is shorter now).
fn line_range(source: &SourceText, line: u32) -> TextRange {
    let lines = source.len_lines().max(1);
    let index = (line.max(1) as usize - 1).min(lines - 1);
    let start = source.line_to_byte(index);
    let text: String = source.line(index).chars().collect();
    let content = text.trim_end_matches(['\n', '\r']);
    let indent = content.len() - content.trim_start().len();
    TextRange::new(start + indent, start + content.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(text: &str) -> Uri {
        text.parse().unwrap()
    }

    fn failure(origin: &Uri, line: u32) -> RunDiagnostic {
        RunDiagnostic {
            origin: origin.clone(),
            line,
            exception: "AttributeError".into(),
            message: "'Sentence' object has no attribute 'txt'".into(),
        }
    }

    #[test]
    fn a_diagnostic_covers_its_line_without_indentation() {
        let state = RunState::default();
        let doc = uri("file:///w/flow.py");
        let source = SourceText::new("class A:\n    def f(self):\n        return self.txt\n");
        assert!(state.add(doc.clone(), failure(&doc, 3)));
        assert!(
            !state.add(doc.clone(), failure(&doc, 3)),
            "the same failure once"
        );
        let diagnostics = state.diagnostics_for(&doc, &source);
        assert_eq!(diagnostics.len(), 1);
        let range = diagnostics[0].range;
        assert_eq!(
            &source.to_string()[range.start()..range.end()],
            "return self.txt"
        );
        assert_eq!(diagnostics[0].source.as_str(), "planai (run)");
        // A shorter text now: the last line, never out of range.
        let short = SourceText::new("x = 1");
        let range = state.diagnostics_for(&doc, &short)[0].range;
        assert_eq!((range.start(), range.end()), (0, 5));
    }

    #[test]
    fn the_next_run_of_a_document_clears_only_what_its_runs_left() {
        let state = RunState::default();
        let flow = uri("file:///w/flow.py");
        let other = uri("file:///w/other.py");
        let workers = uri("file:///w/workers.py");
        state.add(workers.clone(), failure(&flow, 3));
        state.add(workers.clone(), failure(&other, 5));
        state.add(flow.clone(), failure(&flow, 1));
        let mut changed = state.clear_from(&flow);
        changed.sort_by_key(|u| u.to_string());
        assert_eq!(changed, vec![flow.clone(), workers.clone()]);
        let source = SourceText::new("a\nb\nc\nd\ne\n");
        assert!(state.diagnostics_for(&flow, &source).is_empty());
        assert_eq!(state.diagnostics_for(&workers, &source).len(), 1);
    }
}
