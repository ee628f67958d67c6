//! Position-independent fingerprints of a summary's parts, which the unit cache and the fact
//! memo compare to decide what an edit can have changed.

use super::*;
use crate::diagnostics::TextRange;

/// Hashes of a summary's parts that do not change when text elsewhere moves them.
///
/// Invariant: two summaries whose part `X` has the same fingerprint answer every question
/// about `X` the same way (up to byte offsets). Fingerprints hash source text, so they
/// over-approximate change (a comment edit changes them), never under-approximate it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprints {
    /// Module scope: every module-level binding (name, kind, conditional) in source order,
    /// imports, star imports and `from __future__ import annotations`.
    pub scope: u64,
    /// The module-level statements outside class and function definitions.
    pub module_body: u64,
    /// Per class: its source text, decorators included.
    pub classes: Vec<u64>,
    /// Per module-level function: its source text, decorators included.
    pub functions: Vec<u64>,
}

impl Fingerprints {
    pub(super) fn compute(
        summary: &FileSummary,
        text: &str,
        scope_events: u64,
        has_error: bool,
    ) -> Fingerprints {
        use std::hash::{Hash, Hasher};
        let mut scope = crate::analysis::FxHasher::default();
        scope.write_u64(scope_events);
        summary.future_annotations.hash(&mut scope);
        for import in &summary.imports {
            (&import.local, import.level, &import.module, &import.member).hash(&mut scope);
        }
        summary.star_imports.hash(&mut scope);
        // Which definitions contain syntax errors (their names resolve to nothing, see
        // `FileSummary::is_erroneous`) is not part of the scope: a resolution that meets one
        // reads its status (`DepItem::ClassStatus`), so a slip inside one class does not
        // re-check every unit that reads the module scope.
        // `module_error` is not part of the scope: only the module-level unit reads it, and
        // its own fingerprint (`module_body`) already changes whenever the text has an error.
        // Hashing it here re-checked every unit of the file on each module-level slip.
        let mut classes = vec![0; summary.classes.len()];
        let mut functions = vec![0; summary.functions.len()];
        for (range, def) in &summary.def_spans {
            let own = if summary.erroneous_defs.contains(def) {
                crate::analysis::incremental::fresh_id()
            } else {
                definition_fingerprint(text, *range)
            };
            match *def {
                DefRef::Class(i) => {
                    if let Some(slot) = classes.get_mut(i) {
                        *slot = own;
                    }
                }
                DefRef::Function(i) => {
                    if let Some(slot) = functions.get_mut(i) {
                        *slot = own;
                    }
                }
            }
        }
        Fingerprints {
            scope: scope.finish(),
            // Statements with syntax errors may be summarised differently in another context.
            module_body: if has_error {
                crate::analysis::incremental::fresh_id()
            } else {
                module_body_fingerprint(summary, text)
            },
            classes,
            functions,
        }
    }
}

pub(super) fn definition_fingerprint(text: &str, range: TextRange) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut own = crate::analysis::FxHasher::default();
    text.get(range.start()..range.end())
        .unwrap_or("")
        .hash(&mut own);
    own.finish()
}

/// The text outside definitions, with a marker of each definition's kind.
pub(super) fn module_body_fingerprint(summary: &FileSummary, text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut spans: Vec<&(TextRange, DefRef)> = summary.def_spans.iter().collect();
    spans.sort_by_key(|(range, _)| range.start());
    let mut body = crate::analysis::FxHasher::default();
    let mut gap_start = 0;
    for (range, def) in spans {
        body.write_u8(match def {
            DefRef::Class(_) => 1,
            DefRef::Function(_) => 2,
        });
        // Spans never overlap; the guard only keeps slicing safe if one ever did.
        if range.start() >= gap_start {
            text.get(gap_start..range.start())
                .unwrap_or("")
                .hash(&mut body);
            gap_start = range.end();
        }
    }
    text.get(gap_start..).unwrap_or("").hash(&mut body);
    body.finish()
}
