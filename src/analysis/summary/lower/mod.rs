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

use crate::syntax::fields::{Field, FieldChildren};
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
    /// The text lowered. A node's text is a slice of it checked at its two ends, not
    /// validated byte by byte: tree-sitter's nodes end at character boundaries of valid UTF-8.
    pub(super) source: &'s str,
    pub(super) summary: FileSummary,
    /// Definitions of the previous summary by their exact source text.
    pub(super) reuse: ReuseMap<'p>,
    /// The reused definitions that moved, and by how much: they are shifted once the summary
    /// is built (`DeferredShifts`), when the previous summary may have let go of them.
    pub(super) shifts: Vec<(DefRef, isize)>,
    /// A module-level statement that is not a definition was lowered from a node with a
    /// syntax error (tree-sitter's recovery of it may depend on text around it).
    pub(super) statement_error: bool,
}

/// The previous summary's definitions by their exact source text (see `try_reuse`). Hashed
/// by a text's length and its first and last bytes, not all of them: a rebuild looks up every
/// top-level definition of the file, and hashing each whole text was ~5% of a keystroke that
/// adds a syntax error to a 6,600-line module. A hit still compares the whole text.
#[derive(Default)]
pub(in crate::analysis::summary) struct ReuseMap<'p> {
    by_hash: crate::analysis::FxMap<u64, smallvec::SmallVec<[ReusableDefinition<'p>; 1]>>,
}

/// A previous definition's text, its start then, and its summary.
type ReusableDefinition<'p> = (&'p str, usize, Reused);

impl<'p> ReuseMap<'p> {
    pub(in crate::analysis::summary) fn with_capacity(definitions: usize) -> Self {
        ReuseMap {
            by_hash: crate::analysis::FxMap::with_capacity_and_hasher(
                definitions,
                Default::default(),
            ),
        }
    }

    fn key(text: &str) -> u64 {
        use std::hash::Hasher;
        const ENDS: usize = 48;
        let bytes = text.as_bytes();
        let mut h = crate::analysis::FxHasher::default();
        h.write_usize(bytes.len());
        h.write(&bytes[..bytes.len().min(ENDS)]);
        h.write(&bytes[bytes.len().saturating_sub(ENDS)..]);
        h.finish()
    }

    /// Keeps `piece`, which started at `start` in the previous text, under its `text`.
    pub(in crate::analysis::summary) fn insert(
        &mut self,
        text: &'p str,
        start: usize,
        piece: Reused,
    ) {
        self.by_hash
            .entry(Self::key(text))
            .or_default()
            .push((text, start, piece));
    }

    /// Takes out the definition whose text was `text`: its previous start and summary.
    fn remove(&mut self, text: &str) -> Option<(usize, Reused)> {
        let key = Self::key(text);
        let candidates = self.by_hash.get_mut(&key)?;
        let at = candidates.iter().position(|(t, _, _)| *t == text)?;
        let (_, start, piece) = candidates.remove(at);
        if candidates.is_empty() {
            self.by_hash.remove(&key);
        }
        Some((start, piece))
    }

    fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }
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
        self.source.get(n.start_byte()..n.end_byte()).unwrap_or("")
    }

    pub(super) fn bind(&mut self, name: &str, kind: BindingKind, start: usize, conditional: bool) {
        self.summary
            .bindings
            .entry(Name::from(name))
            .or_default()
            .push(Binding::new(kind, start, conditional));
    }

    /// Statements of a block (or module); `conditional` is whether the block may not run.
    pub(super) fn block_stmts(&mut self, n: Node, scope: Scope, conditional: bool) -> Box<[Stmt]> {
        let mut out = Vec::new();
        for c in named_children(n) {
            if scope == Scope::Module
                && n.parent().is_none()
                && self.recover_definitions(c, &mut out)
            {
                continue;
            }
            self.block_child(c, scope, conditional, &mut out);
        }
        if scope == Scope::Module && n.parent().is_none() {
            self.shrink_module_lists();
        }
        out.into_boxed_slice()
    }

    fn block_child(&mut self, c: Node, scope: Scope, conditional: bool, out: &mut Vec<Stmt>) {
        if scope == Scope::Module && !self.reuse.is_empty() && self.try_reuse(c, conditional, out) {
            return;
        }
        let before = (self.summary.classes.len(), self.summary.functions.len());
        self.stmt(c, scope, conditional, out);
        if scope == Scope::Module {
            let def = if self.summary.classes.len() > before.0 {
                Some(DefRef::Class(before.0))
            } else if self.summary.functions.len() > before.1 {
                Some(DefRef::Function(before.1))
            } else {
                None
            };
            match def {
                Some(def) => {
                    self.summary.def_spans.push((range_of(c), def));
                    if c.has_error() {
                        self.summary.erroneous_defs.push(def);
                    }
                }
                None => self.statement_error |= c.has_error(),
            }
        }
    }

    /// Error recovery at the top level, as a reader sees the file: a top-level statement with
    /// a syntax error that tree-sitter stretched over later lines that start a definition at
    /// column 0 (`class`, `def`, `async def`, a decorator), outside strings, is cut there, and
    /// each piece is parsed alone and summarised. So an unclosed `(` in one worker leaves that
    /// worker unknown, not the classes after it, and their indices (what units and facts are
    /// keyed by) stay as they were. Returns false when `c` needs no cutting.
    fn recover_definitions(&mut self, c: Node, out: &mut Vec<Stmt>) -> bool {
        if !c.has_error() {
            return false;
        }
        let cuts = self.definition_starts_inside(c);
        if cuts.is_empty() {
            return false;
        }
        let text = self.source;
        let mut bounds = Vec::with_capacity(cuts.len() + 2);
        bounds.push(c.start_byte());
        bounds.extend(cuts);
        bounds.push(c.end_byte());
        for piece in bounds.windows(2) {
            if self.reuse_piece(piece[0], piece[1], out) {
                continue;
            }
            let Some(tree) = crate::syntax::parse_part(text, piece[0]..piece[1]) else {
                continue;
            };
            for child in named_children(tree.root_node()) {
                self.block_child(child, Scope::Module, false, out);
            }
        }
        true
    }

    /// Line starts strictly inside `c` where a definition starts at column 0, outside strings.
    fn definition_starts_inside(&self, c: Node) -> Vec<usize> {
        let (start, end) = (c.start_byte(), c.end_byte());
        let mut cuts = Vec::new();
        let mut at = start;
        while let Some(newline) = self.source.as_bytes()[at..end]
            .iter()
            .position(|b| *b == b'\n')
        {
            let line = at + newline + 1;
            at = line;
            if line >= end {
                break;
            }
            let starts_definition =
                crate::syntax::starts_definition(&self.source.as_bytes()[line..end]);
            let in_string = || {
                let mut node = c.descendant_for_byte_range(line, line + 1);
                while let Some(n) = node {
                    if n.kind() == "string" || n.kind() == "string_content" {
                        return true;
                    }
                    if n.id() == c.id() {
                        break;
                    }
                    node = n.parent();
                }
                false
            };
            // A definition's own decorators stay with it.
            let after_decorator = || {
                let previous = self.source.as_bytes()[start..line - 1]
                    .iter()
                    .rposition(|b| *b == b'\n')
                    .map_or(start, |n| start + n + 1);
                self.source.as_bytes().get(previous) == Some(&b'@')
            };
            if starts_definition && !after_decorator() && !in_string() {
                cuts.push(line);
            }
        }
        cuts
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

    /// A piece of `recover_definitions` that is an unchanged, undecorated definition of the
    /// previous summary followed by blank lines only: reused without parsing it (after an
    /// unclosed bracket, tree-sitter stretches the error over every later definition, and
    /// parsing them all again was most of a keystroke). The same text parsed alone is the
    /// same definition, which is what `try_reuse` relies on too.
    fn reuse_piece(&mut self, start: usize, end: usize, out: &mut Vec<Stmt>) -> bool {
        if self.reuse.is_empty() || self.source.as_bytes().get(start) == Some(&b'@') {
            return false;
        }
        let Some(piece) = self.source.get(start..end) else {
            return false;
        };
        let definition = piece.trim_end_matches([' ', '\t', '\r', '\n', '\x0c']);
        let Some((old_start, reused)) = self.reuse.remove(definition) else {
            return false;
        };
        let range = TextRange::new(start, start + definition.len());
        self.add_reused(
            reused,
            start as isize - old_start as isize,
            range,
            start,
            false,
            out,
        );
        true
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
            .field(Field::Definition)
            .map(|d| d.start_byte())
            .unwrap_or(n.start_byte());
        self.add_reused(piece, delta, range, def_start, cond, out);
        true
    }

    /// Adds a definition of the previous summary, moved by `delta` bytes, now at `range` with
    /// its `class`/`def` keyword at `def_start`.
    fn add_reused(
        &mut self,
        piece: Reused,
        delta: isize,
        range: TextRange,
        def_start: usize,
        cond: bool,
        out: &mut Vec<Stmt>,
    ) {
        match piece {
            Reused::Class(c) => {
                let idx = self.summary.classes.len();
                if delta != 0 {
                    self.shifts.push((DefRef::Class(idx), delta));
                }
                let name = c.name.clone();
                self.summary.classes.push(c);
                self.bind(&name, BindingKind::Class(idx), def_start, cond);
                self.summary.def_spans.push((range, DefRef::Class(idx)));
                out.push(Stmt::ClassDefAt(idx));
            }
            Reused::Function(f) => {
                let idx = self.summary.functions.len();
                if delta != 0 {
                    self.shifts.push((DefRef::Function(idx), delta));
                }
                let name = f.name.clone();
                self.summary.functions.push(f);
                self.bind(&name, BindingKind::Function(idx), def_start, cond);
                self.summary.def_spans.push((range, DefRef::Function(idx)));
                out.push(Stmt::FunctionDefAt(idx));
            }
        }
    }

    pub(super) fn body_of(
        &mut self,
        n: Node,
        field: Field,
        scope: Scope,
        conditional: bool,
    ) -> Body {
        let stmts = match n.field(field) {
            Some(b) => self.block_stmts(b, scope, conditional),
            None => Box::default(),
        };
        Body { stmts, conditional }
    }
}
