//! The diagnostic type every producer (syntax, PlanAI analysis, venv validation) emits.
//!
//! Ranges are byte offsets into the text the diagnostic was computed from; converting them to
//! LSP positions (utf-8 or utf-16) is the server's job, done in `text::LineIndex`. Keeping byte
//! offsets here means analysis never needs to know which encoding a client negotiated.

use std::fmt;
use std::path::PathBuf;

/// A half-open byte range `[start, end)` into a file's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TextRange {
    pub start: usize,
    pub end: usize,
}

impl TextRange {
    pub fn new(start: usize, end: usize) -> Self {
        Self {
            start,
            end: end.max(start),
        }
    }

    pub fn empty(at: usize) -> Self {
        Self { start: at, end: at }
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub fn contains(&self, offset: usize) -> bool {
        self.start <= offset && offset <= self.end
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
    Information,
    Hint,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Information => "info",
            Severity::Hint => "hint",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who produced a diagnostic; shown to users as the LSP `source`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DiagnosticSource {
    /// Python syntax errors found by tree-sitter.
    Syntax,
    /// Static PlanAI checks (no Python running).
    Planai,
    /// Results of validating the module in the selected Python environment.
    PlanaiVenv,
}

impl DiagnosticSource {
    pub fn as_str(self) -> &'static str {
        match self {
            DiagnosticSource::Syntax => "planai-syntax",
            DiagnosticSource::Planai => "planai",
            DiagnosticSource::PlanaiVenv => "planai (venv)",
        }
    }
}

/// A secondary location that explains a diagnostic (e.g. the upstream's `output_types`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RelatedInfo {
    /// The file the range points into; `None` means the same file as the diagnostic.
    pub path: Option<PathBuf>,
    pub range: TextRange,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    pub range: TextRange,
    pub severity: Severity,
    /// Stable code such as `syntax`, `GC7` or `RT1`.
    pub code: String,
    pub source: DiagnosticSource,
    pub message: String,
    pub related: Vec<RelatedInfo>,
}

impl Diagnostic {
    pub fn new(
        source: DiagnosticSource,
        severity: Severity,
        code: impl Into<String>,
        range: TextRange,
        message: impl Into<String>,
    ) -> Self {
        Self {
            range,
            severity,
            code: code.into(),
            source,
            message: message.into(),
            related: Vec::new(),
        }
    }

    pub fn with_related(mut self, related: RelatedInfo) -> Self {
        self.related.push(related);
        self
    }
}
