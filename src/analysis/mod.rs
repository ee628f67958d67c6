//! PlanAI static analysis: pure, synchronous, no I/O.
//!
//! Architecture Invariant: nothing in this module does I/O, spawns threads or awaits. The
//! caller hands in file texts (and optionally already-parsed trees); the host answers queries.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostics::Diagnostic;

/// Holds every known Python file of the workspace and answers PlanAI questions about them.
#[derive(Default, Clone)]
pub struct AnalysisHost {
    _private: (),
}

impl AnalysisHost {
    pub fn new() -> Self {
        Self::default()
    }

    /// Workspace folders; used as package roots for absolute imports (with `src/` layouts).
    pub fn set_roots(&mut self, _roots: Vec<PathBuf>) {}

    /// Adds or replaces a file. `tree`, when given, must be the tree-sitter tree of `text`.
    pub fn set_file(&mut self, _path: PathBuf, _text: Arc<str>, _tree: Option<&tree_sitter::Tree>) {
    }

    pub fn remove_file(&mut self, _path: &Path) {}

    /// PlanAI diagnostics for one file (syntax errors are reported by `crate::syntax`).
    pub fn file_diagnostics(&self, _path: &Path) -> Vec<Diagnostic> {
        Vec::new()
    }

    /// The text the host holds for `path`, used to convert ranges of related information.
    pub fn file_text(&self, _path: &Path) -> Option<Arc<str>> {
        None
    }
}
