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
    /// Per module-level name, sorted by [`name_key`]: a hash of the name's bindings, which is
    /// everything a resolution of the name reads (`DepItem::Name`). Per name rather than one
    /// hash of the whole scope, so that binding or unbinding one name (typing an assignment,
    /// a statement that stops parsing) re-checks the units that look that name up, not every
    /// unit of the file.
    pub names: Box<[(u32, u64)]>,
    /// `from __future__ import annotations` and the star imports: what a resolution of a name
    /// the module does not bind falls back to (`DepItem::ModuleFlags`).
    pub flags: u64,
    /// The module-level statements outside class and function definitions.
    pub module_body: u64,
    /// What the module code's graph checks read of that text (see
    /// [`module_fingerprints`]).
    pub module_graphs: u64,
    /// Per class: its source text, decorators included.
    pub classes: Vec<u64>,
    /// Per module-level function: its source text, decorators included.
    pub functions: Vec<u64>,
}

impl Fingerprints {
    /// `statement_error`: a module-level statement other than a definition has a syntax error.
    pub(super) fn compute(
        summary: &FileSummary,
        text: &str,
        statement_error: bool,
    ) -> Fingerprints {
        use std::hash::{Hash, Hasher};
        let mut flags = crate::analysis::FxHasher::default();
        summary.future_annotations.hash(&mut flags);
        summary.star_imports.hash(&mut flags);
        // Which definitions contain syntax errors (their names resolve to nothing, see
        // `FileSummary::is_erroneous`) is not part of a name's hash: a resolution that meets
        // one reads its status (`DepItem::ClassStatus`), so a slip inside one class does not
        // re-check every unit that names it.
        // `module_error` is not part of it either: only the module-level unit reads it, and
        // its own fingerprint (`module_body`) changes whenever a module-level statement has an
        // error.
        let mut classes = vec![0; summary.classes.len()];
        let mut functions = vec![0; summary.functions.len()];
        for (range, def) in &summary.def_spans {
            let own = if summary.erroneous_defs.contains(def) {
                crate::analysis::fresh_id()
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
        // Statements with syntax errors may be summarised differently in another context.
        let (module_body, module_graphs) = if statement_error {
            (crate::analysis::fresh_id(), crate::analysis::fresh_id())
        } else {
            module_fingerprints(summary, text)
        };
        Fingerprints {
            names: name_fingerprints(summary),
            flags: flags.finish(),
            module_body,
            module_graphs,
            classes,
            functions,
        }
    }
}

/// The key of a module-level name in [`Fingerprints::names`] (a dependency stays 8 bytes).
/// Two names with the same key share one entry whose hash covers both: a collision only
/// re-checks more.
pub fn name_key(name: &str) -> u32 {
    use std::hash::{Hash, Hasher};
    let mut h = crate::analysis::FxHasher::default();
    name.hash(&mut h);
    let h = h.finish();
    (h ^ (h >> 32)) as u32
}

/// What `Fingerprints::names` answers for a name the module does not bind.
pub const UNBOUND_NAME: u64 = 0;

/// Per name: its bindings in source order, each with its kind (a class or function with its
/// index, which resolutions hand out; an import with what it imports), whether it is
/// conditional, and how many classes start before it (`CD7` asks whether a name is bound
/// before or after a class; nothing else reads a binding's position).
fn name_fingerprints(summary: &FileSummary) -> Box<[(u32, u64)]> {
    use std::hash::{Hash, Hasher};
    let mut class_starts: Vec<usize> = summary
        .def_spans
        .iter()
        .filter(|(_, def)| matches!(def, DefRef::Class(_)))
        .map(|(range, _)| range.start())
        .collect();
    class_starts.sort_unstable();
    let mut names: Vec<(u32, u64)> = summary
        .bindings
        .iter()
        .map(|(name, bindings)| {
            let mut h = crate::analysis::FxHasher::default();
            name.hash(&mut h);
            for b in bindings {
                b.conditional.hash(&mut h);
                class_starts
                    .partition_point(|s| *s < b.start())
                    .hash(&mut h);
                match b.kind() {
                    BindingKind::Import(i) => match summary.imports.get(i) {
                        Some(import) => {
                            (3u8, import.level, &import.module, &import.member).hash(&mut h)
                        }
                        None => 5u8.hash(&mut h),
                    },
                    BindingKind::Class(i) => (1u8, i).hash(&mut h),
                    BindingKind::Function(i) => (2u8, i).hash(&mut h),
                    BindingKind::Value => 4u8.hash(&mut h),
                }
            }
            (name_key(name), h.finish() | 1)
        })
        .collect();
    names.sort_unstable();
    // Colliding keys: one entry hashing all of them (sorted, so the order is the same each time).
    names.dedup_by(|later, kept| {
        if later.0 == kept.0 {
            kept.1 = (kept.1.rotate_left(5) ^ later.1) | 1;
            true
        } else {
            false
        }
    });
    names.into_boxed_slice()
}

impl Fingerprints {
    /// The hash of `key`'s bindings ([`UNBOUND_NAME`] when the module binds no such name).
    pub fn name(&self, key: u32) -> u64 {
        match self.names.binary_search_by_key(&key, |(k, _)| *k) {
            Ok(i) => self.names[i].1,
            Err(_) => UNBOUND_NAME,
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

/// The module code's fingerprints, `module_body` and `module_graphs`.
///
/// `module_body` hashes the text outside definitions, with a marker of each definition's
/// kind. `module_graphs`, what the graph checks of the module code (`Part::Graphs` of
/// `Unit::Module`) read of it, is the same less the value of each module-level statement
/// whose value is a plain literal (`PROMPT = """..."""`, `RETRIES = 3`, a docstring), which
/// leaves only a marker of whether it is `None`. The graph interpreter evaluates such a value
/// to an unknown value (`None` to `None`), looks at nothing inside it and reports nothing
/// there, so typing in a module-level constant or prompt no longer interprets a builder that
/// the module code calls; the result is moved through the edit like any reused result.
pub(super) fn module_fingerprints(summary: &FileSummary, text: &str) -> (u64, u64) {
    let mut cuts = definition_cuts(summary);
    let body = hash_outside(text, &cuts);
    let before = cuts.len();
    cuts.extend(summary.body.iter().filter_map(literal_value));
    if cuts.len() > before {
        // Two sorted runs: the stable sort merges them in one pass.
        cuts.sort_by_key(|(range, _)| range.start());
    }
    (body, hash_outside(text, &cuts))
}

/// The definitions' spans, each with a marker of its kind, in source order.
fn definition_cuts(summary: &FileSummary) -> Vec<(TextRange, u8)> {
    let mut cuts: Vec<(TextRange, u8)> = summary
        .def_spans
        .iter()
        .map(|(range, def)| {
            let marker = match def {
                DefRef::Class(_) => 1,
                DefRef::Function(_) => 2,
            };
            (*range, marker)
        })
        .collect();
    // Usually in source order already: the stable sort then only checks that, in one pass.
    cuts.sort_by_key(|(range, _)| range.start());
    cuts
}

/// The range of a module-level statement's value when it is a plain literal, with a marker
/// of what the graph interpreter makes of it (`None`, or an unknown value).
fn literal_value(stmt: &Stmt) -> Option<(TextRange, u8)> {
    let value = match stmt {
        Stmt::Assign { value: Some(v), .. } => v,
        Stmt::AugAssign { value, .. } | Stmt::Expr(value) => value,
        _ => return None,
    };
    match value {
        Expr::NoneLit { range } => Some((*range, 4)),
        literal if literal.is_plain_literal() => Some((literal.range(), 3)),
        _ => None,
    }
}

/// The hash of `text` outside the sorted, disjoint `cuts`, each cut hashed as its marker.
fn hash_outside(text: &str, cuts: &[(TextRange, u8)]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = crate::analysis::FxHasher::default();
    let mut gap_start = 0;
    for (range, marker) in cuts {
        hasher.write_u8(*marker);
        // Cuts never overlap; the guard only keeps slicing safe if one ever did.
        if range.start() >= gap_start {
            text.get(gap_start..range.start())
                .unwrap_or("")
                .hash(&mut hasher);
            gap_start = range.end();
        }
    }
    text.get(gap_start..).unwrap_or("").hash(&mut hasher);
    hasher.finish()
}
