//! Lowering a tree-sitter tree to a `FileSummary`: statements and expressions of every
//! scope, bindings, imports, and the reuse of unchanged definitions of the previous summary.
//!
//! This file holds the `Builder`, the walk over a block and the reuse; the lowering itself is
//! split by what it lowers: `stmt.rs` statements, `defs.rs` class and function definitions,
//! `imports.rs` imports, `expr.rs` expressions and literals.

mod defs;
mod expr;
mod imports;
mod stmt;

use std::sync::Arc;

use tree_sitter::Node;

use super::*;
use crate::diagnostics::TextRange;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    Module,
    Function,
}

pub(super) struct Builder<'s, 'p> {
    pub(super) src: &'s [u8],
    pub(super) summary: FileSummary,
    /// Definitions of the previous summary by their exact source text.
    pub(super) reuse: crate::analysis::FxMap<&'p str, (usize, Reused)>,
}

pub(super) enum Reused {
    Class(Arc<ClassSummary>),
    Function(Arc<FunctionSummary>),
}

/// `v` without spare capacity: summaries are kept for every file, so the slack that `push`
/// leaves (up to half of a vector, and at least room for four elements) is paid 100 times.
pub(super) fn tight<T>(mut v: Vec<T>) -> Vec<T> {
    v.shrink_to_fit();
    v
}

pub(super) fn range_of(n: Node) -> TextRange {
    TextRange::new(n.start_byte(), n.end_byte())
}

pub(super) fn named_children(n: Node) -> Vec<Node> {
    let mut c = n.walk();
    n.named_children(&mut c)
        .filter(|c| c.kind() != "comment")
        .collect()
}

impl<'s, 'p> Builder<'s, 'p> {
    pub(super) fn text(&self, n: Node) -> &'s str {
        std::str::from_utf8(&self.src[n.start_byte()..n.end_byte()]).unwrap_or("")
    }

    pub(super) fn bind(&mut self, name: &str, kind: BindingKind, start: usize, conditional: bool) {
        self.summary
            .bindings
            .entry(Name::from(name))
            .or_default()
            .push(Binding::new(kind, start, conditional));
    }

    /// Statements of a block (or module); `conditional` is whether the block may not run.
    pub(super) fn block_stmts(&mut self, n: Node, scope: Scope, conditional: bool) -> Vec<Stmt> {
        let mut out = Vec::new();
        for c in named_children(n) {
            if scope == Scope::Module
                && !self.reuse.is_empty()
                && self.try_reuse(c, conditional, &mut out)
            {
                continue;
            }
            let before = (self.summary.classes.len(), self.summary.functions.len());
            self.stmt(c, scope, conditional, &mut out);
            if scope == Scope::Module {
                let def = if self.summary.classes.len() > before.0 {
                    Some(DefRef::Class(before.0))
                } else if self.summary.functions.len() > before.1 {
                    Some(DefRef::Function(before.1))
                } else {
                    None
                };
                if let Some(def) = def {
                    self.summary.def_spans.push((range_of(c), def));
                    if c.has_error() {
                        self.summary.erroneous_defs.push(def);
                    }
                }
            }
        }
        if scope == Scope::Module && n.parent().is_none() {
            self.shrink_module_lists();
        }
        tight(out)
    }

    /// Drops the spare capacity of the file-wide lists once the whole module is summarised.
    pub(super) fn shrink_module_lists(&mut self) {
        let s = &mut self.summary;
        s.imports.shrink_to_fit();
        s.star_imports.shrink_to_fit();
        s.classes.shrink_to_fit();
        s.functions.shrink_to_fit();
        s.def_spans.shrink_to_fit();
        for v in s.bindings.values_mut() {
            v.shrink_to_fit();
        }
        s.bindings.shrink_to_fit();
    }

    /// Reuses an unchanged module-level definition of the previous summary.
    pub(super) fn try_reuse(&mut self, n: Node, cond: bool, out: &mut Vec<Stmt>) -> bool {
        if !matches!(
            n.kind(),
            "class_definition" | "function_definition" | "decorated_definition"
        ) {
            return false;
        }
        if n.has_error() {
            return false;
        }
        let src = self.text(n);
        let Some((old_start, piece)) = self.reuse.remove(src) else {
            return false;
        };
        let delta = n.start_byte() as isize - old_start as isize;
        let range = range_of(n);
        // Bindings point at the `class`/`def` keyword, after any decorators.
        let def_start = n
            .child_by_field_name("definition")
            .map(|d| d.start_byte())
            .unwrap_or(n.start_byte());
        match piece {
            Reused::Class(mut c) => {
                if delta != 0 {
                    Arc::make_mut(&mut c).shift(delta);
                }
                let idx = self.summary.classes.len();
                let name = c.name.clone();
                self.summary.classes.push(c);
                self.bind(&name, BindingKind::Class(idx), def_start, cond);
                self.summary.def_spans.push((range, DefRef::Class(idx)));
                out.push(Stmt::ClassDefAt(idx));
            }
            Reused::Function(mut f) => {
                if delta != 0 {
                    Arc::make_mut(&mut f).shift(delta);
                }
                let idx = self.summary.functions.len();
                let name = f.name.clone();
                self.summary.functions.push(f);
                self.bind(&name, BindingKind::Function(idx), def_start, cond);
                self.summary.def_spans.push((range, DefRef::Function(idx)));
                out.push(Stmt::FunctionDefAt(idx));
            }
        }
        true
    }

    pub(super) fn body_of(
        &mut self,
        n: Node,
        field: &str,
        scope: Scope,
        conditional: bool,
    ) -> Body {
        let stmts = match n.child_by_field_name(field) {
            Some(b) => self.block_stmts(b, scope, conditional),
            None => Vec::new(),
        };
        Body { stmts, conditional }
    }
}
