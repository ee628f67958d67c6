//! The PlanAI checks. Each submodule adds diagnostics for one family of PlanAI errors; every
//! check stays silent when something it depends on is unknown (unresolved classes, dynamic
//! code), because a wrong error is worse than a missing one.

pub mod class_defs;
pub mod graph;
pub mod prompts;
pub mod publish;
pub mod usage;

use std::path::Path;
use std::sync::Arc;

use super::resolve::Ctx;
use crate::diagnostics::{Diagnostic, DiagnosticSource, RelatedInfo, Severity, TextRange};

/// All PlanAI diagnostics for `path`.
pub fn run_all(ctx: &mut Ctx, path: &Arc<Path>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    class_defs::check(ctx, path, &mut out);
    publish::check(ctx, path, &mut out);
    prompts::check(ctx, path, &mut out);
    graph::check(ctx, path, &mut out);
    out
}

pub(crate) fn error(code: &str, range: TextRange, message: String) -> Diagnostic {
    Diagnostic::new(DiagnosticSource::Planai, Severity::Error, code, range, message)
}

pub(crate) fn warning(code: &str, range: TextRange, message: String) -> Diagnostic {
    Diagnostic::new(DiagnosticSource::Planai, Severity::Warning, code, range, message)
}

/// Related information; the path is omitted when it is the diagnostic's own file.
pub(crate) fn related(here: &Path, there: &Path, range: TextRange, message: impl Into<String>) -> RelatedInfo {
    RelatedInfo {
        path: (here != there).then(|| there.to_path_buf()),
        range,
        message: message.into(),
    }
}
