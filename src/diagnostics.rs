//! The diagnostic type every producer (syntax, PlanAI analysis, venv validation) emits.
//!
//! Ranges are byte offsets into the text the diagnostic was computed from; converting them to
//! LSP positions (utf-8 or utf-16) is the server's job, done in `text::LineIndex`. Keeping byte
//! offsets here means analysis never needs to know which encoding a client negotiated.

mod code;

use std::fmt;
use std::path::PathBuf;

pub use code::{Code, DiagnosticCode, UnknownCode, DOCS_MARKDOWN, DOCS_URL};

/// A half-open byte range `[start, end)` into a file's text.
///
/// Offsets are stored as `u32` (8 bytes a range instead of 16): summaries hold one or two
/// ranges per expression, and they are most of the memory an open document costs. Offsets past
/// 4 GiB saturate; documents that large are never analysed (see `SEMANTIC_ANALYSIS_SIZE_LIMIT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TextRange {
    start: u32,
    end: u32,
}

/// `offset` as a stored offset, saturating at `u32::MAX`.
fn narrow(offset: usize) -> u32 {
    u32::try_from(offset).unwrap_or(u32::MAX)
}

impl TextRange {
    pub fn new(start: usize, end: usize) -> Self {
        let start = narrow(start);
        Self {
            start,
            end: narrow(end).max(start),
        }
    }

    pub fn empty(at: usize) -> Self {
        Self::new(at, at)
    }

    pub fn start(&self) -> usize {
        self.start as usize
    }

    pub fn end(&self) -> usize {
        self.end as usize
    }

    /// The range with both ends moved by `f` (the end never before the start).
    pub fn map(self, mut f: impl FnMut(usize) -> usize) -> Self {
        Self::new(f(self.start()), f(self.end()))
    }

    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub fn contains(&self, offset: usize) -> bool {
        self.start() <= offset && offset <= self.end()
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
    /// Failures seen while running the workflow (`planai.run`, `planai.debug`).
    PlanaiRun,
}

impl DiagnosticSource {
    pub fn as_str(self) -> &'static str {
        match self {
            DiagnosticSource::Syntax => "planai-syntax",
            DiagnosticSource::Planai => "planai",
            DiagnosticSource::PlanaiVenv => "planai (venv)",
            DiagnosticSource::PlanaiRun => "planai (run)",
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

/// What a PlanAI problem is about, named the way both the static checks and the venv's helper
/// can name it (by class names, which both see), so that one problem found both ways is
/// recognised as one whatever each side's message and range.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A class: the worker being instantiated (IN1, IN5), the class whose `__init__` refuses
    /// positional arguments as PlanAI's message names it (IN4: `Graph`, `TaskWorker`,
    /// `BaseModel`, `SubGraphWorker` …), the SubGraphWorker's title (IN6–IN8: its `name=`, else
    /// `SubGraphWorker`), the class whose `consume_work` annotation names a later class (CD7),
    /// the worker a graph call or a run check is about (EX1, EX2, GC1, GC4, GC5, GC6, GC9, GC11,
    /// GC12, GC13).
    Class(String),
    /// A field of a class: class bodies pydantic rejects (CD1–CD5), the first field a
    /// constructor call misses (IN2) or passes a wrong value for (IN3).
    Field { class: String, field: String },
    /// A dependency between two workers, by their classes (GC2, GC3, GC7, GC8).
    Edge {
        upstream: String,
        downstream: String,
    },
    /// A dotted name planai does not have, a module or a member (`planai.llm_interface`,
    /// `planai.TaskWorkItem`: IM1).
    Name(String),
}

impl Subject {
    pub fn class(name: impl Into<String>) -> Self {
        Subject::Class(name.into())
    }

    pub fn field(class: impl Into<String>, field: impl Into<String>) -> Self {
        Subject::Field {
            class: class.into(),
            field: field.into(),
        }
    }

    pub fn name(dotted: impl Into<String>) -> Self {
        Subject::Name(dotted.into())
    }

    pub fn edge(upstream: impl Into<String>, downstream: impl Into<String>) -> Self {
        Subject::Edge {
            upstream: upstream.into(),
            downstream: downstream.into(),
        }
    }
}

/// Which PlanAI check a diagnostic is, and about what: a static diagnostic and a venv one with
/// the same identity report the same problem.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Identity {
    pub check: Code,
    pub subject: Subject,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    pub range: TextRange,
    pub severity: Severity,
    /// Stable code such as `syntax`, `GC7` or `RT1` (see [`Code`]), or a Python class name from
    /// the venv.
    pub code: DiagnosticCode,
    pub source: DiagnosticSource,
    pub message: String,
    pub related: Vec<RelatedInfo>,
    /// The check and subject, when known: static PlanAI diagnostics whose problem the venv can
    /// also raise, and venv diagnostics the helper recognised as a PlanAI check. Only used to
    /// show such a problem once (`analysis::check::venv_additions`).
    pub identity: Option<Identity>,
}

impl Diagnostic {
    pub fn new(
        source: DiagnosticSource,
        severity: Severity,
        code: impl Into<DiagnosticCode>,
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
            identity: None,
        }
    }

    /// The diagnostic, identified as its own (registered) code about `subject`. A diagnostic
    /// whose code is not registered, or with no subject (`None`: the check could not name
    /// it), stays unidentified.
    pub fn about(mut self, subject: impl Into<Option<Subject>>) -> Self {
        if let (Some(check), Some(subject)) = (self.code.known(), subject.into()) {
            self.identity = Some(Identity { check, subject });
        }
        self
    }

    /// The diagnostic, identified as `identity` (a venv diagnostic, whose own code is the
    /// Python exception's name).
    pub fn identified_as(mut self, identity: Identity) -> Self {
        self.identity = Some(identity);
        self
    }

    pub fn with_related(mut self, related: RelatedInfo) -> Self {
        self.related.push(related);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::TextRange;

    #[test]
    fn ranges_are_ordered_and_saturate_past_four_gib() {
        let r = TextRange::new(10, 4);
        assert_eq!((r.start(), r.end()), (10, 10));
        let far = TextRange::new(5_000_000_000, 6_000_000_000);
        assert_eq!(
            (far.start(), far.end()),
            (u32::MAX as usize, u32::MAX as usize)
        );
        let moved = TextRange::new(3, 7).map(|offset| offset * 2);
        assert_eq!((moved.start(), moved.end(), moved.len()), (6, 14, 8));
        assert!(moved.contains(14) && !moved.contains(15));
    }
}
