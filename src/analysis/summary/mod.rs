//! Per-file summary built from the tree-sitter tree: imports, classes, functions and the
//! statements of every scope, reduced to a small expression language (`Expr`) that the checks
//! interpret. The summary owns no tree-sitter data, so it can be shared (`Arc`) across
//! snapshots and threads.

use std::sync::Arc;

use tree_sitter::Node;

use crate::diagnostics::TextRange;

mod fingerprint;
mod lower;
mod shift;

use fingerprint::{definition_fingerprint, module_fingerprints};
pub use fingerprint::{name_key, Fingerprints};
use lower::{Builder, ReuseMap, Reused, Scope};
use shift::{shift_range, Shift};

/// An identifier or short string of a summary: 16 bytes, inline up to 15 bytes.
pub type Name = ecow::EcoString;

/// Deeper expressions are summarised as `Expr::Other`; keeps pathological inputs cheap.
const MAX_EXPR_DEPTH: usize = 48;

/// Longer literal reprs (big dict literals) are not kept: not worth their memory, and the
/// length bound keeps computing them cheap.
const MAX_LITERAL_REPR: usize = 160;

/// A Python expression, reduced to the forms PlanAI checks care about.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Name {
        id: Name,
        range: TextRange,
    },
    /// `value.attr`. The range of `attr` is not stored: the attribute ends with it (see
    /// [`Expr::attr_range`]), and leaving it out keeps every `Expr` at 40 bytes.
    Attribute {
        value: Box<Expr>,
        attr: Name,
        range: TextRange,
    },
    Call(Box<CallExpr>),
    /// A string literal with a statically known value (no f-string interpolation).
    Str {
        value: Name,
        range: TextRange,
    },
    /// An integer literal (with an optional unary minus).
    Int {
        value: i64,
        range: TextRange,
    },
    NoneLit {
        range: TextRange,
    },
    Bool {
        value: bool,
        range: TextRange,
    },
    List {
        elts: Vec<Expr>,
        range: TextRange,
    },
    Tuple {
        elts: Vec<Expr>,
        range: TextRange,
    },
    Subscript {
        value: Box<Expr>,
        index: Vec<Expr>,
        range: TextRange,
    },
    /// `a | b` (PEP 604 unions in annotations).
    BitOr {
        left: Box<Expr>,
        right: Box<Expr>,
        range: TextRange,
    },
    /// `[elt for ...]` / `(elt for ...)`; the element is evaluated with unknown loop variables.
    Comprehension {
        elt: Box<Expr>,
        range: TextRange,
    },
    Starred {
        value: Box<Expr>,
        range: TextRange,
    },
    Lambda {
        range: TextRange,
    },
    /// Another literal (a float, complex, bytes, `...`, or a dict of literals) with its
    /// Python `repr()`; only built when the repr is certain.
    Literal {
        repr: Name,
        range: TextRange,
    },
    /// Anything else; `children` keeps nested calls so instantiations inside are still seen.
    Other {
        range: TextRange,
        children: Vec<Expr>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct CallExpr {
    pub func: Expr,
    pub args: Box<[Expr]>,
    pub keywords: Box<[Keyword]>,
    pub range: TextRange,
}

impl CallExpr {
    pub fn keyword(&self, name: &str) -> Option<&Keyword> {
        self.keywords
            .iter()
            .find(|k| k.name.as_deref() == Some(name))
    }

    /// `*args` or `**kwargs` in the call: its arguments are not statically known.
    pub fn has_splat(&self) -> bool {
        self.args.iter().any(|a| matches!(a, Expr::Starred { .. }))
            || self.keywords.iter().any(|k| k.name.is_none())
    }

    /// The positional argument `index`, or the keyword argument `name`.
    pub fn arg(&self, index: usize, name: &str) -> Option<&Expr> {
        if let Some(k) = self.keyword(name) {
            return Some(&k.value);
        }
        if self.args[..index.min(self.args.len())]
            .iter()
            .any(|a| matches!(a, Expr::Starred { .. }))
        {
            return None;
        }
        self.args
            .get(index)
            .filter(|a| !matches!(a, Expr::Starred { .. }))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Keyword {
    /// `None` for a `**mapping` splat.
    pub name: Option<Name>,
    pub name_range: TextRange,
    pub value: Expr,
}

impl Expr {
    pub fn range(&self) -> TextRange {
        match self {
            Expr::Name { range, .. }
            | Expr::Attribute { range, .. }
            | Expr::Str { range, .. }
            | Expr::Int { range, .. }
            | Expr::NoneLit { range }
            | Expr::Bool { range, .. }
            | Expr::List { range, .. }
            | Expr::Tuple { range, .. }
            | Expr::Subscript { range, .. }
            | Expr::BitOr { range, .. }
            | Expr::Comprehension { range, .. }
            | Expr::Starred { range, .. }
            | Expr::Lambda { range }
            | Expr::Literal { range, .. }
            | Expr::Other { range, .. } => *range,
            Expr::Call(c) => c.range,
        }
    }

    /// For an attribute `value.attr`: the range of `attr`, which ends the attribute.
    pub fn attr_range(&self) -> Option<TextRange> {
        match self {
            Expr::Attribute { attr, range, .. } => Some(TextRange::new(
                range.end().saturating_sub(attr.len()).max(range.start()),
                range.end(),
            )),
            _ => None,
        }
    }

    /// `a.b.c` as a list of names, when the expression is a plain dotted name.
    pub fn dotted(&self) -> Option<Vec<&str>> {
        match self {
            Expr::Name { id, .. } => Some(vec![id.as_str()]),
            Expr::Attribute { value, attr, .. } => {
                let mut v = value.dotted()?;
                v.push(attr.as_str());
                Some(v)
            }
            _ => None,
        }
    }

    /// A string, number, bool or other literal (not `None`, not a container the summary
    /// keeps apart): a value nothing can be read out of. The graph interpreter evaluates it
    /// to an unknown value, which `Fingerprints::module_graphs` relies on.
    pub fn is_plain_literal(&self) -> bool {
        matches!(
            self,
            Expr::Str { .. } | Expr::Int { .. } | Expr::Bool { .. } | Expr::Literal { .. }
        )
    }

    /// The first name of a plain dotted name `a.b.c`, without building `dotted`'s list (a
    /// graph builder asks it of every call).
    pub fn dotted_root(&self) -> Option<&str> {
        match self {
            Expr::Name { id, .. } => Some(id),
            Expr::Attribute { value, .. } => value.dotted_root(),
            _ => None,
        }
    }

    /// The last name of a plain dotted name `a.b.c`, without building `dotted`'s list.
    pub fn dotted_last(&self) -> Option<&str> {
        match self {
            Expr::Name { id, .. } => Some(id),
            Expr::Attribute { value, attr, .. } => value.dotted_root().map(|_| attr.as_str()),
            _ => None,
        }
    }

    pub fn as_name(&self) -> Option<&str> {
        match self {
            Expr::Name { id, .. } => Some(id),
            _ => None,
        }
    }

    pub fn as_call(&self) -> Option<&CallExpr> {
        match self {
            Expr::Call(c) => Some(c),
            _ => None,
        }
    }

    /// Calls the expression evaluates, innermost first is not guaranteed; used to find every
    /// call site (e.g. worker instantiations) in a statement.
    pub fn for_each_call<'a>(&'a self, f: &mut dyn FnMut(&'a CallExpr)) {
        match self {
            Expr::Call(c) => {
                f(c);
                c.func.for_each_call(f);
                for a in &c.args {
                    a.for_each_call(f);
                }
                for k in &c.keywords {
                    k.value.for_each_call(f);
                }
            }
            Expr::Attribute { value, .. } | Expr::Starred { value, .. } => value.for_each_call(f),
            Expr::List { elts, .. } | Expr::Tuple { elts, .. } => {
                for e in elts {
                    e.for_each_call(f)
                }
            }
            Expr::Subscript { value, index, .. } => {
                value.for_each_call(f);
                for e in index {
                    e.for_each_call(f)
                }
            }
            Expr::BitOr { left, right, .. } => {
                left.for_each_call(f);
                right.for_each_call(f);
            }
            Expr::Comprehension { elt, .. } => elt.for_each_call(f),
            Expr::Other { children, .. } => {
                for e in children {
                    e.for_each_call(f)
                }
            }
            _ => {}
        }
    }
}

/// A binding created by an import statement.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportBinding {
    /// The local name bound.
    pub local: Name,
    /// Leading dots of a relative import (0 = absolute).
    pub level: u32,
    /// The module part (`a.b` in `from a.b import c`, or the imported module itself).
    pub module: Name,
    /// `Some(c)` for `from m import c`; `None` for `import m` / `import m as x`.
    pub member: Option<Name>,
    /// For `import a.b` without alias: the local name is `a`, bound to module `a`.
    pub range: TextRange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    Positional,
    VarArgs,
    KeywordOnly,
    VarKeyword,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: Name,
    pub name_range: TextRange,
    pub kind: ParamKind,
    pub annotation: Option<Expr>,
    pub has_default: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSummary {
    pub name: Name,
    pub name_range: TextRange,
    pub range: TextRange,
    pub params: Box<[Param]>,
    pub decorators: Box<[Expr]>,
    pub body: Box<[Stmt]>,
}

impl FunctionSummary {
    /// Parameters as `inspect.signature` of the bound method sees them (without `self`).
    pub fn bound_params(&self) -> &[Param] {
        match self.params.first() {
            Some(p) if p.kind == ParamKind::Positional => &self.params[1..],
            _ => &self.params,
        }
    }

    pub fn has_decorators(&self) -> bool {
        !self.decorators.is_empty()
    }

    /// Every `self.<attr> = ...` assigned anywhere in the body.
    pub fn self_assigned_attrs(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk_stmts(&self.body, &mut |s| {
            let targets: Vec<&AssignTarget> = match s {
                Stmt::Assign { targets, .. } => targets.iter().collect(),
                Stmt::AugAssign { target, .. } => vec![target],
                _ => vec![],
            };
            for t in targets {
                if let AssignTarget::SelfAttr(n, _) = t {
                    out.push(n.to_string());
                }
            }
        });
        out
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClassAttr {
    pub name: Name,
    pub name_range: TextRange,
    pub annotation: Option<Expr>,
    pub value: Option<Expr>,
    pub range: TextRange,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClassSummary {
    pub name: Name,
    pub name_range: TextRange,
    pub range: TextRange,
    pub bases: Box<[Expr]>,
    /// `metaclass=...` or other class keywords: the class is not a plain pydantic model.
    pub has_class_keywords: bool,
    pub decorators: Box<[Expr]>,
    pub attrs: Box<[ClassAttr]>,
    pub methods: Box<[FunctionSummary]>,
    /// Names bound in the class body by nested `class`, imports or other statements.
    pub other_names: Box<[Name]>,
    /// The class body contains statements the summary does not model (loops, ifs).
    pub dynamic_body: bool,
}

impl ClassSummary {
    pub fn attr(&self, name: &str) -> Option<&ClassAttr> {
        self.attrs.iter().rev().find(|a| a.name == name)
    }

    pub fn method(&self, name: &str) -> Option<&FunctionSummary> {
        self.methods.iter().rev().find(|m| m.name == name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum AssignTarget {
    Name(Name, TextRange),
    SelfAttr(Name, TextRange),
    /// `a, b = ...`: a flat tuple of names.
    Tuple(Vec<Name>),
    /// Nested unpacking, subscripts, other attributes: the names it binds.
    Other(Vec<Name>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    If,
    /// `if __name__ == "__main__":` — the body runs whenever the script runs.
    MainGuard,
    Loop,
    Try,
    With,
    Match,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Body {
    pub stmts: Box<[Stmt]>,
    /// Whether this body may not run (if/else branches, loop bodies, except handlers).
    pub conditional: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    Assign {
        /// A boxed slice (no spare capacity, 16 bytes): statements are the most numerous
        /// nodes of a summary, and this variant decides `size_of::<Stmt>()`.
        targets: Box<[AssignTarget]>,
        value: Option<Expr>,
        /// Boxed: rare (`x: T = v` outside classes), and inline it would cost every
        /// statement 56 bytes.
        annotation: Option<Box<Expr>>,
        range: TextRange,
    },
    AugAssign {
        target: AssignTarget,
        value: Expr,
    },
    Expr(Expr),
    Return(Option<Expr>),
    Block {
        kind: BlockKind,
        header: Vec<Expr>,
        /// Names bound by the header (`for x in`, `with ... as x`, `except E as x`).
        bound: Vec<Name>,
        bodies: Vec<Body>,
    },
    Import(Vec<ImportBinding>),
    /// A module-level class (index into `FileSummary::classes`).
    ClassDefAt(usize),
    /// A module-level function (index into `FileSummary::functions`).
    FunctionDefAt(usize),
    /// A class defined inside a function: dynamic, never analysed.
    LocalClass(Name),
    /// A function defined inside a function: its own scope.
    LocalFunction(Box<FunctionSummary>),
    Global(Vec<Name>),
    Other {
        bound: Vec<Name>,
        exprs: Vec<Expr>,
    },
}

/// Visits every statement, including nested blocks (not nested functions).
pub fn walk_stmts<'a>(stmts: &'a [Stmt], f: &mut dyn FnMut(&'a Stmt)) {
    for s in stmts {
        f(s);
        if let Stmt::Block { bodies, .. } = s {
            for b in bodies {
                walk_stmts(&b.stmts, f);
            }
        }
    }
}

/// Visits every expression of a statement list (headers, values, returns), not nested defs.
pub fn walk_exprs<'a>(stmts: &'a [Stmt], f: &mut dyn FnMut(&'a Expr)) {
    walk_stmts(stmts, &mut |s| match s {
        Stmt::Assign {
            value, annotation, ..
        } => {
            if let Some(v) = value {
                f(v)
            }
            if let Some(a) = annotation {
                f(a)
            }
        }
        Stmt::AugAssign { value, .. } => f(value),
        Stmt::Expr(e) => f(e),
        Stmt::Return(Some(e)) => f(e),
        Stmt::Block { header, .. } => header.iter().for_each(&mut *f),
        Stmt::Other { exprs, .. } => exprs.iter().for_each(&mut *f),
        _ => {}
    });
}

/// What a module-level name is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingKind {
    Class(usize),
    Function(usize),
    Import(usize),
    /// An assignment or anything else: a value, not a class.
    Value,
}

/// One binding of a module-level name, packed into 12 bytes so that a name's bindings (almost
/// always one) are stored inline in the map (`Bindings`), without an allocation of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    /// 0 = value, 1 = class, 2 = function, 3 = import.
    tag: u8,
    /// Bound inside an `if`/`try`/loop at module level.
    pub conditional: bool,
    index: u32,
    start: u32,
}

impl Binding {
    pub fn new(kind: BindingKind, start: usize, conditional: bool) -> Binding {
        let (tag, index) = match kind {
            BindingKind::Value => (0, 0),
            BindingKind::Class(i) => (1, i),
            BindingKind::Function(i) => (2, i),
            BindingKind::Import(i) => (3, i),
        };
        Binding {
            tag,
            conditional,
            index: u32::try_from(index).unwrap_or(u32::MAX),
            start: u32::try_from(start).unwrap_or(u32::MAX),
        }
    }

    pub fn kind(&self) -> BindingKind {
        let i = self.index as usize;
        match self.tag {
            1 => BindingKind::Class(i),
            2 => BindingKind::Function(i),
            3 => BindingKind::Import(i),
            _ => BindingKind::Value,
        }
    }

    /// Byte offset of the binding statement.
    pub fn start(&self) -> usize {
        self.start as usize
    }

    fn set_start(&mut self, start: usize) {
        self.start = u32::try_from(start).unwrap_or(u32::MAX);
    }
}

/// The bindings of one module-level name, in source order.
pub type Bindings = smallvec::SmallVec<[Binding; 1]>;

/// Everything the analysis needs from one file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileSummary {
    /// `from __future__ import annotations`: annotations are strings, resolved lazily.
    pub future_annotations: bool,
    pub imports: Vec<ImportBinding>,
    /// Modules star-imported at module level (`from m import *`), with their level.
    pub star_imports: Vec<(u32, Name)>,
    pub classes: Vec<Arc<ClassSummary>>,
    pub functions: Vec<Arc<FunctionSummary>>,
    /// Module-level statements in source order.
    pub body: Vec<Stmt>,
    pub bindings: crate::analysis::FxMap<Name, Bindings>,
    /// Source spans of module-level class and function definitions, so the next summary of
    /// an edited text can reuse the definitions whose text did not change.
    pub def_spans: Vec<(TextRange, DefRef)>,
    /// Definitions whose tree contains a syntax error: error recovery depends on more than
    /// their own text, so they are never reused by text and their fingerprints never match.
    pub erroneous_defs: Vec<DefRef>,
    /// A module-level statement outside class and function definitions contains a syntax
    /// error: the module-level statements are not checked (their recovery is a guess).
    pub module_error: bool,
    /// Position-independent fingerprints of the parts other code can observe; the
    /// incremental diagnostics cache (`analysis::incremental`) compares them across edits.
    pub fingerprints: Fingerprints,
}

/// Where a statement that lowers from one simple statement (an assignment or an expression)
/// starts; `None` for other statements.
fn simple_stmt_start(stmt: &Stmt) -> Option<usize> {
    match stmt {
        Stmt::Assign { range, .. } => Some(range.start()),
        Stmt::Expr(e) => Some(e.range().start()),
        _ => None,
    }
}

/// The index in `body` of the statement that lowered from the simple statement at
/// `old_start..old_end`, when the next statement lies past it (an `a, b` statement lowers to
/// two; those take the full path).
fn simple_stmt_index(body: &[Stmt], old_start: usize, old_end: usize) -> Option<usize> {
    let index = body
        .iter()
        .position(|s| simple_stmt_start(s) == Some(old_start))?;
    match body.get(index + 1) {
        None | Some(Stmt::ClassDefAt(_) | Stmt::FunctionDefAt(_)) => Some(index),
        Some(next) if simple_stmt_start(next).is_some_and(|s| s >= old_end) => Some(index),
        Some(_) => None,
    }
}

/// `node` (a simple statement of `text`) lowered alone in `scope`: its one `Stmt`, which must
/// start where the node does, and what lowering it added to an empty summary (bindings,
/// imports, ...).
fn lower_simple_statement(node: Node, text: &str, scope: Scope) -> Option<(Stmt, FileSummary)> {
    let mut builder = Builder {
        source: text,
        summary: FileSummary::default(),
        reuse: Default::default(),
        shifts: Vec::new(),
        statement_error: false,
    };
    let mut lowered = Vec::new();
    builder.stmt(node, scope, false, &mut lowered);
    let [stmt] = <[Stmt; 1]>::try_from(lowered).ok()?;
    (simple_stmt_start(&stmt) == Some(node.start_byte())).then_some((stmt, builder.summary))
}

/// The reused definitions of a summary built by [`FileSummary::build_deferring_shifts`] that
/// still have their ranges in the previous text, and by how much each moved.
#[derive(Debug, Default)]
#[must_use = "the summary's moved definitions keep their old ranges until the shifts are applied"]
pub struct DeferredShifts(Vec<(DefRef, isize)>);

impl DeferredShifts {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Moves the definitions of `summary` (the one built with these shifts); in place for a
    /// definition nothing else holds, else on a copy.
    pub fn apply(self, summary: &mut FileSummary) {
        for (def, delta) in self.0 {
            match def {
                DefRef::Class(i) => Arc::make_mut(&mut summary.classes[i]).shift(delta),
                DefRef::Function(i) => Arc::make_mut(&mut summary.functions[i]).shift(delta),
            }
        }
    }
}

/// A module-level definition of a summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefRef {
    Class(usize),
    Function(usize),
}

/// A module-level class or function summary.
#[derive(Debug, Clone, PartialEq)]
pub enum Definition {
    Class(Arc<ClassSummary>),
    Function(Arc<FunctionSummary>),
}

impl FileSummary {
    /// Builds the summary of `text` from its tree.
    pub fn build(tree: &tree_sitter::Tree, text: &str) -> FileSummary {
        Self::build_reusing(tree, text, None)
    }

    /// Like `build`, but reuses (with shifted ranges) every module-level class or function of
    /// `previous` (the summary of `previous_text`) whose source text is unchanged. After a
    /// keystroke only the edited definition is rebuilt from the tree. When `previous` is not
    /// shared, its definitions are moved and shifted in place instead of copied.
    pub fn build_reusing(
        tree: &tree_sitter::Tree,
        text: &str,
        previous: Option<(Arc<FileSummary>, &str)>,
    ) -> FileSummary {
        let (mut summary, shifts) =
            Self::build_deferring_shifts(std::slice::from_ref(tree), text, previous);
        shifts.apply(&mut summary);
        summary
    }

    /// [`FileSummary::build_reusing`], with the reused definitions that moved not shifted yet:
    /// the summary is complete once `DeferredShifts::apply` has run. Until then it shares them
    /// with `previous` unchanged, so a caller that builds while the previous summary is still
    /// in use (by the host it is about to replace) can shift them in place once that lets go,
    /// instead of copying each one.
    ///
    /// `trees` is the module's tree, or the trees of its consecutive parts when it was parsed
    /// in parts (`syntax::part_boundary`): their top-level statements are the module's.
    pub fn build_deferring_shifts(
        trees: &[tree_sitter::Tree],
        text: &str,
        previous: Option<(Arc<FileSummary>, &str)>,
    ) -> (FileSummary, DeferredShifts) {
        let mut reuse =
            ReuseMap::with_capacity(previous.as_ref().map_or(0, |(old, _)| old.def_spans.len()));
        if let Some((old, old_text)) = previous {
            let (classes, functions, spans, erroneous) = match Arc::try_unwrap(old) {
                Ok(owned) => (
                    owned.classes,
                    owned.functions,
                    owned.def_spans,
                    owned.erroneous_defs,
                ),
                Err(shared) => (
                    shared.classes.clone(),
                    shared.functions.clone(),
                    shared.def_spans.clone(),
                    shared.erroneous_defs.clone(),
                ),
            };
            let mut classes: Vec<Option<Arc<ClassSummary>>> =
                classes.into_iter().map(Some).collect();
            let mut functions: Vec<Option<Arc<FunctionSummary>>> =
                functions.into_iter().map(Some).collect();
            for (range, def) in spans {
                if erroneous.contains(&def) {
                    continue;
                }
                if let Some(src) = old_text.get(range.start()..range.end()) {
                    let piece = match def {
                        DefRef::Class(i) => {
                            classes.get_mut(i).and_then(Option::take).map(Reused::Class)
                        }
                        DefRef::Function(i) => functions
                            .get_mut(i)
                            .and_then(Option::take)
                            .map(Reused::Function),
                    };
                    if let Some(piece) = piece {
                        reuse.insert(src, range.start(), piece);
                    }
                }
            }
        }
        let mut b = Builder {
            source: text,
            summary: FileSummary::default(),
            reuse,
            shifts: Vec::new(),
            statement_error: false,
        };
        let mut body = Vec::new();
        for tree in trees {
            let root = tree.root_node();
            let stmts = b.block_stmts(root, Scope::Module, false);
            if body.is_empty() {
                // One tree (the usual case): the statements as they are, without a copy.
                body = stmts.into_vec();
            } else {
                body.extend(stmts);
            }
            if root.has_error() {
                let mut cursor = root.walk();
                b.summary.module_error |= root.children(&mut cursor).any(|c| {
                    c.has_error()
                        && !matches!(
                            c.kind(),
                            "class_definition" | "function_definition" | "decorated_definition"
                        )
                });
            }
        }
        if trees.len() > 1 {
            body.shrink_to_fit();
        }
        b.summary.body = body;
        // Fingerprints are position-independent (hashes of source text; bindings point into
        // the new text): the reused definitions' stale ranges do not enter them. The module
        // code's fingerprint is the text outside definitions, which is enough unless one of
        // its own statements has an error: an error inside a definition (whose unit is then
        // unknown, see `erroneous_defs`) does not make every later keystroke run the module
        // code (and the graph factories it inlines) again.
        // `module_error` too: a module-level node tree-sitter got wrong can be cut into pieces
        // that parse cleanly alone, and the module code reports nothing while it is set.
        let statement_error = b.statement_error || b.summary.module_error;
        b.summary.fingerprints = Fingerprints::compute(&b.summary, text, statement_error);
        (b.summary, DeferredShifts(b.shifts))
    }

    /// Replaces the module-level definition that started at `old_start` (old-text offset) with
    /// the one `node` now holds (a top-level `class`/`def`, possibly decorated, of `text`),
    /// after the single edit `edit` turned the old text into `text` inside that span.
    /// Everything after the edit moves by the edit's length change.
    ///
    /// Returns the replaced and the new definition, or `None` (leaving `self` untouched) when
    /// the change is more than a body edit: another kind, another name, not a top-level
    /// definition of this summary. The result equals `FileSummary::build` of the new text.
    pub fn replace_definition(
        &mut self,
        old_start: usize,
        edit: crate::text::Edit,
        node: Node,
        text: &str,
    ) -> Option<(Definition, Definition)> {
        let position = self
            .def_spans
            .iter()
            .position(|(range, _)| range.start() == old_start)?;
        let def = self.def_spans[position].1;
        let marker = match def {
            DefRef::Class(i) => Stmt::ClassDefAt(i),
            DefRef::Function(i) => Stmt::FunctionDefAt(i),
        };
        // Only direct module children: nested ones carry their block's context.
        let marker_at = self.body.iter().position(|s| *s == marker)?;
        let mut builder = Builder {
            source: text,
            summary: FileSummary::default(),
            reuse: Default::default(),
            shifts: Vec::new(),
            statement_error: false,
        };
        let mut scratch = Vec::new();
        builder.stmt(node, Scope::Module, false, &mut scratch);
        let built = builder.summary;
        let new_def = match (def, &built.classes[..], &built.functions[..]) {
            (DefRef::Class(i), [class], []) if class.name == self.classes.get(i)?.name => {
                Definition::Class(class.clone())
            }
            (DefRef::Function(i), [], [function])
                if function.name == self.functions.get(i)?.name =>
            {
                Definition::Function(function.clone())
            }
            _ => return None,
        };
        let (name, def_start) = match &new_def {
            Definition::Class(c) => (c.name.clone(), c.range.start()),
            Definition::Function(f) => (f.name.clone(), f.range.start()),
        };
        let kind = match def {
            DefRef::Class(i) => BindingKind::Class(i),
            DefRef::Function(i) => BindingKind::Function(i),
        };
        // Move everything after the edit; the replaced definition is rebuilt, not moved.
        self.shift_after(edit, Some(def), marker_at + 1);
        if let Some(binding) = self
            .bindings
            .get_mut(&name)
            .and_then(|bs| bs.iter_mut().find(|b| b.kind() == kind))
        {
            binding.set_start(def_start);
        }
        let new_span = TextRange::new(node.start_byte(), node.end_byte());
        let old_span = self.def_spans[position].0;
        self.def_spans[position].0 = new_span;
        let own = definition_fingerprint(text, new_span);
        let old_def = match (def, &new_def) {
            (DefRef::Class(i), Definition::Class(c)) => {
                self.fingerprints.classes[i] = own;
                Definition::Class(std::mem::replace(&mut self.classes[i], c.clone()))
            }
            (DefRef::Function(i), Definition::Function(f)) => {
                self.fingerprints.functions[i] = own;
                Definition::Function(std::mem::replace(&mut self.functions[i], f.clone()))
            }
            _ => return None,
        };
        // The module code's fingerprints hash the text outside definitions: an edit inside
        // this one, which still spans exactly the edited text, leaves them as they were (a
        // keystroke in a method is the most common edit, and hashing around ~1,000
        // definitions was a tenth of it).
        let delta = edit.new_end as isize - edit.old_end as isize;
        let only_inside = old_span.start() <= edit.start
            && edit.old_end <= old_span.end()
            && new_span.start() == old_span.start()
            && new_span.end() as isize == old_span.end() as isize + delta;
        if !only_inside {
            self.refresh_module_fingerprints(text);
        }
        Some((old_def, new_def))
    }

    fn refresh_module_fingerprints(&mut self, text: &str) {
        (
            self.fingerprints.module_body,
            self.fingerprints.module_graphs,
        ) = module_fingerprints(self, text);
    }

    /// Replaces the module-level simple statement (an `expression_statement`: an assignment,
    /// a call) that spanned `old_start..old_end` of the old text with the one `node` now holds
    /// in `text`, after the single edit `edit` inside it. Everything after the edit moves.
    ///
    /// Returns the replaced and the new statement, or `None` (leaving `self` untouched) when
    /// the change is more than that: the statement is not one `Stmt` of the module body before
    /// and after, or it binds other names. The result equals `FileSummary::build` of the new
    /// text: the module scope is unchanged (the same single binding, or none), definitions
    /// only move, and the module body's fingerprint is recomputed.
    pub fn replace_module_statement(
        &mut self,
        old_start: usize,
        old_end: usize,
        edit: crate::text::Edit,
        node: Node,
        text: &str,
    ) -> Option<(Stmt, Stmt)> {
        if node.kind() != "expression_statement" {
            return None;
        }
        let index = simple_stmt_index(&self.body, old_start, old_end)?;
        let (new_stmt, built) = lower_simple_statement(node, text, Scope::Module)?;
        if !built.classes.is_empty()
            || !built.functions.is_empty()
            || !built.imports.is_empty()
            || !built.star_imports.is_empty()
            || built.future_annotations
        {
            return None;
        }
        // The statement's bindings, old (by position) and new: the same single name and kind
        // leave the scope's fingerprint as it was.
        let new_bindings: Vec<(&Name, &Binding)> = built
            .bindings
            .iter()
            .flat_map(|(name, bs)| bs.iter().map(move |b| (name, b)))
            .collect();
        let old_bindings: Vec<(&Name, usize)> = self
            .bindings
            .iter()
            .flat_map(|(name, bs)| {
                bs.iter()
                    .enumerate()
                    .filter(|(_, b)| (old_start..old_end).contains(&b.start()))
                    .map(move |(i, _)| (name, i))
            })
            .collect();
        let rebind = match (&old_bindings[..], &new_bindings[..]) {
            ([], []) => None,
            ([(old_name, at)], [(new_name, new)]) if old_name == new_name => {
                let old = &self.bindings[*old_name][*at];
                if old.kind() != new.kind() || old.conditional != new.conditional {
                    return None;
                }
                Some(((*old_name).clone(), *at, new.start()))
            }
            _ => return None,
        };
        self.shift_after(edit, None, index + 1);
        if let Some((name, at, start)) = rebind {
            if let Some(binding) = self.bindings.get_mut(&name).and_then(|bs| bs.get_mut(at)) {
                binding.set_start(start);
            }
        }
        let old_stmt = std::mem::replace(&mut self.body[index], new_stmt.clone());
        self.refresh_module_fingerprints(text);
        Some((old_stmt, new_stmt))
    }

    /// Replaces the simple statement (an `expression_statement`) that spanned
    /// `old_start..old_end` of the old text directly in the body of a module-level function
    /// with the one `node` now holds in `text` (parsed alone, `syntax::statements`), after the
    /// single edit `edit` inside it. The rest of the function and everything after it move.
    ///
    /// Returns the replaced and the new statement, or `None` (leaving `self` untouched) when
    /// the statement is not one `Stmt` of such a body before and after, or the function has a
    /// syntax error. The result equals `FileSummary::build` of the new text: statements inside
    /// functions bind no module-level names, so only the function and its fingerprint
    /// change, besides positions.
    pub fn replace_function_statement(
        &mut self,
        old_start: usize,
        old_end: usize,
        edit: crate::text::Edit,
        node: Node,
        text: &str,
    ) -> Option<(Stmt, Stmt)> {
        if node.kind() != "expression_statement" {
            return None;
        }
        let position = self.def_spans.iter().position(|(range, def)| {
            matches!(def, DefRef::Function(_))
                && range.start() < old_start
                && old_end <= range.end()
        })?;
        let def = self.def_spans[position].1;
        let DefRef::Function(f) = def else {
            return None;
        };
        if self.is_erroneous(def) {
            return None;
        }
        let index = simple_stmt_index(&self.functions.get(f)?.body, old_start, old_end)?;
        let (new_stmt, built) = lower_simple_statement(node, text, Scope::Function)?;
        if built != FileSummary::default() {
            return None;
        }
        let marker_at = self
            .body
            .iter()
            .position(|s| *s == Stmt::FunctionDefAt(f))?;
        self.shift_after(edit, Some(def), marker_at + 1);
        let delta = edit.new_end as isize - edit.old_end as isize;
        let span = &mut self.def_spans[position].0;
        *span = TextRange::new(span.start(), (span.end() as isize + delta) as usize);
        let new_span = *span;
        let function = Arc::make_mut(&mut self.functions[f]);
        let old_stmt = std::mem::replace(&mut function.body[index], new_stmt.clone());
        for stmt in &mut function.body[index + 1..] {
            stmt.shift(delta);
        }
        function.range = TextRange::new(
            function.range.start(),
            (function.range.end() as isize + delta) as usize,
        );
        self.fingerprints.functions[f] = definition_fingerprint(text, new_span);
        // The text outside definitions is unchanged, and so are the module code's
        // fingerprints (see `replace_definition`).
        Some((old_stmt, new_stmt))
    }

    /// Moves everything after `edit` by its length change: the definitions (but `replaced`,
    /// which is rebuilt), the module statements from `body_from` on, imports and bindings.
    fn shift_after(&mut self, edit: crate::text::Edit, replaced: Option<DefRef>, body_from: usize) {
        let delta = edit.new_end as isize - edit.old_end as isize;
        if delta == 0 {
            return;
        }
        for (range, def) in &mut self.def_spans {
            if Some(*def) != replaced && range.start() >= edit.old_end {
                shift_range(range, delta);
                match *def {
                    DefRef::Class(i) => Arc::make_mut(&mut self.classes[i]).shift(delta),
                    DefRef::Function(i) => Arc::make_mut(&mut self.functions[i]).shift(delta),
                }
            }
        }
        for stmt in &mut self.body[body_from..] {
            stmt.shift(delta);
        }
        for import in &mut self.imports {
            if import.range.start() >= edit.old_end {
                import.shift(delta);
            }
        }
        for bindings in self.bindings.values_mut() {
            for binding in bindings {
                if binding.start() >= edit.old_end {
                    binding.set_start((binding.start() as isize + delta) as usize);
                }
            }
        }
    }

    /// Whether a module-level definition contains a syntax error. Such a definition is
    /// unknown to the checks: its name resolves to nothing and its own unit reports nothing,
    /// so no conclusion is drawn from tree-sitter's error recovery.
    pub fn is_erroneous(&self, def: DefRef) -> bool {
        self.erroneous_defs.contains(&def)
    }

    /// The class defined at module level with this name, if it is bound exactly once.
    pub fn class_named(&self, name: &str) -> Option<usize> {
        match self.bindings.get(name).map(|v| v.as_slice()) {
            Some([binding]) => match binding.kind() {
                BindingKind::Class(i) => Some(i),
                _ => None,
            },
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(src: &str) -> FileSummary {
        let tree = crate::syntax::parse(src).unwrap();
        FileSummary::build(&tree, src)
    }

    #[test]
    fn dotted_root_and_last_are_the_ends_of_dotted() {
        let s = summary("a.b.c\nx\nf().g\nf.g()\n'text'.join\n(a).b\n");
        assert_eq!(s.body.len(), 6);
        for stmt in &s.body {
            let Stmt::Expr(e) = stmt else {
                panic!("{stmt:?}")
            };
            let dotted = e.dotted();
            assert_eq!(e.dotted_root(), dotted.as_ref().map(|d| d[0]), "{e:?}");
            assert_eq!(
                e.dotted_last(),
                dotted.as_ref().and_then(|d| d.last().copied()),
                "{e:?}"
            );
        }
    }

    /// An unclosed `(` in one class: tree-sitter's recovery stretches that class over the next
    /// one, which a reader sees starting at column 0. The summary cuts there, so the class with
    /// the error is unknown and the next one is as it was (same index, same text).
    #[test]
    fn an_unclosed_bracket_leaves_the_next_definitions_known() {
        let clean = "class A(W):\n    def f(self, task: B):\n        value = task.index + 7\n        text = f\"{task.text}-{value}\"\n        self.publish_work(B(text=text, index=value), input_task=task)\n\n\nclass B(T):\n    text: str\n    index: int = 1\n\n\n@decorate\n@twice\ndef h():\n    pass\n";
        let broken = clean.replace("+ 7", "+ (");
        let tree = crate::syntax::parse(&broken).unwrap();
        let swallowed = tree.root_node().child(0).unwrap();
        assert!(swallowed.has_error() && swallowed.end_byte() > broken.find("class B").unwrap());
        let s = summary(&broken);
        let names: Vec<&str> = s.classes.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["A", "B"]);
        assert_eq!(s.erroneous_defs, [DefRef::Class(0)]);
        assert_eq!(s.functions.len(), 1);
        assert_eq!(
            s.functions[0].decorators.len(),
            2,
            "decorators stay with their function"
        );
        assert_eq!(
            s.fingerprints.classes[1],
            summary(clean).fingerprints.classes[1]
        );
    }

    #[test]
    fn records_imports_classes_and_bindings() {
        let s = summary(
            "from __future__ import annotations\nfrom planai import Task, TaskWorker as TW\nimport os.path\nfrom . import sib\n\nclass A(Task):\n    x: int = 1\n    y = Field(3)\n    def consume_work(self, task: A):\n        self.publish_work(A(), task)\n",
        );
        assert!(s.future_annotations);
        assert_eq!(s.imports.len(), 4);
        assert_eq!(s.imports[1].local, "TW");
        assert_eq!(s.imports[2].local, "os");
        assert_eq!(s.imports[3].level, 1);
        assert_eq!(s.imports[3].member.as_deref(), Some("sib"));
        let a = &s.classes[0];
        assert_eq!(a.name, "A");
        assert_eq!(a.attrs.len(), 2);
        assert!(a.attrs[1].annotation.is_none());
        assert_eq!(a.methods[0].bound_params().len(), 1);
        assert_eq!(s.class_named("A"), Some(0));
    }

    #[test]
    fn bindings_keep_kind_start_and_condition() {
        let text = "import os\nclass A: pass\nif os:\n    def A(): pass\nA = 1\n";
        let s = summary(text);
        let a: Vec<_> = s.bindings["A"]
            .iter()
            .map(|b| (b.kind(), b.start(), b.conditional))
            .collect();
        assert_eq!(a.len(), 3, "{a:?}");
        assert_eq!(
            a[0],
            (BindingKind::Class(0), text.find("class A").unwrap(), false)
        );
        assert_eq!((a[1].1, a[1].2), (text.find("def A").unwrap(), true));
        assert_eq!(
            a[2],
            (BindingKind::Value, text.find("A = 1").unwrap(), false)
        );
        let os: Vec<_> = s.bindings["os"].iter().map(|b| b.kind()).collect();
        assert_eq!(os, vec![BindingKind::Import(0)]);
        assert_eq!(s.class_named("A"), None, "bound three times");
    }

    #[test]
    fn an_attribute_ends_with_its_name_also_across_lines() {
        let text = "a = graph.set_dependency\nb = (graph\n    .set_entry)\nc = Type[x.Étape]\n";
        let s = summary(text);
        let attr_texts: Vec<&str> = s
            .body
            .iter()
            .map(|st| {
                let Stmt::Assign { value: Some(v), .. } = st else {
                    panic!("{st:?}")
                };
                let attribute = match v {
                    Expr::Subscript { index, .. } => &index[0],
                    other => other,
                };
                let range = attribute.attr_range().expect("an attribute");
                &text[range.start()..range.end()]
            })
            .collect();
        assert_eq!(attr_texts, vec!["set_dependency", "set_entry", "Étape"]);
    }

    #[test]
    fn strings_keep_values_but_not_fstrings() {
        let s = summary("a = 'x{y}'\nb = f'{z}'\nc = r'\\n'\n");
        let vals: Vec<_> = s
            .body
            .iter()
            .map(|st| match st {
                Stmt::Assign { value: Some(v), .. } => v.clone(),
                _ => panic!(),
            })
            .collect();
        assert!(matches!(&vals[0], Expr::Str { value, .. } if value == "x{y}"));
        assert!(matches!(&vals[1], Expr::Other { .. }));
        assert!(matches!(&vals[2], Expr::Str { value, .. } if value == "\\n"));
    }

    #[test]
    fn literals_keep_their_python_repr() {
        let s = summary("a = 'bar'\nb = b'x'\nc = -1.5\nd = {'k': [1, 2.0], 'n': None}\ne = 1e16\nf = ...\ng = 'B'\n");
        let vals: Vec<String> = s
            .body
            .iter()
            .map(|st| match st {
                Stmt::Assign {
                    value: Some(Expr::Str { value, .. }),
                    ..
                } => format!("str {value}"),
                Stmt::Assign {
                    value: Some(Expr::Literal { repr, .. }),
                    ..
                } => repr.to_string(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            vals,
            [
                "str bar",
                "b'x'",
                "-1.5",
                "{'k': [1, 2.0], 'n': None}",
                "1e+16",
                "Ellipsis",
                "str B"
            ]
        );
    }

    #[test]
    fn reusing_unchanged_definitions_gives_the_same_summary() {
        let old = "import x\n\nclass A(Task):\n    a: int = 1\n\ndef f():\n    g = Graph(name='x')\n\nclass B(Task):\n    b: str\n";
        let new = "import x\n\nclass A(Task):\n    a: int = 12\n\ndef f():\n    g = Graph(name='x')\n\nclass B(Task):\n    b: str\n";
        let old_sum = summary(old);
        let tree = crate::syntax::parse(new).unwrap();
        let reused = FileSummary::build_reusing(&tree, new, Some((Arc::new(old_sum), old)));
        assert_eq!(reused, summary(new));
    }

    /// After an unclosed bracket, the definitions the error swallowed are reused without
    /// being parsed again when their text is unchanged; the summary is the one a fresh
    /// lowering gives (decorated ones, and ones followed by a comment, are parsed).
    #[test]
    fn reusing_definitions_after_an_unclosed_bracket_gives_the_same_summary() {
        let old = "class A(W):\n    def f(self, task: B):\n        v = task.index + 7\n\n\nclass B(T):\n    index: int = 1\n\n\ndef g():\n    w = A()\n# trailing\n\n@decorate\ndef h():\n    return B\n\nclass C(B):\n    pass\n";
        for new in [
            old.replace("+ 7", "+ ("),
            old.replace("+ 7", "+ (("),
            old.replace("+ 7", "+ ")
                .replace("index: int = 1", "index: int = (1"),
        ] {
            let tree = crate::syntax::parse(&new).unwrap();
            // Erroneous definitions and a text with an error get fresh fingerprints each time.
            let normalized = |mut s: FileSummary| {
                s.fingerprints.module_body = 0;
                s.fingerprints.module_graphs = 0;
                for def in s.erroneous_defs.clone() {
                    match def {
                        DefRef::Class(i) => s.fingerprints.classes[i] = 0,
                        DefRef::Function(i) => s.fingerprints.functions[i] = 0,
                    }
                }
                s
            };
            let reused =
                FileSummary::build_reusing(&tree, &new, Some((Arc::new(summary(old)), old)));
            assert_eq!(normalized(reused), normalized(summary(&new)), "{new}");
            let back = crate::syntax::parse(old).unwrap();
            let restored =
                FileSummary::build_reusing(&back, old, Some((Arc::new(summary(&new)), &new)));
            assert_eq!(restored, summary(old), "{new}");
        }
    }

    /// Reused definitions are found by their whole text: two definitions of the same length
    /// whose first and last 48 bytes agree (what the reuse map hashes) are told apart, and
    /// two identical ones are both reused.
    #[test]
    fn reused_definitions_are_told_apart_by_their_whole_text() {
        let f = |middle: &str| {
            format!(
                "def f():\n    long_enough_to_fill_the_hashed_head = Graph(name='g')\n    \
                 {middle}\n    long_enough_to_fill_the_hashed_tail = Graph(name='h')\n\n\n"
            )
        };
        let (one, two) = (f("w = Worker1()"), f("w = Worker2()"));
        let old = format!("import x\n\n\n{one}{two}{one}");
        for new in [
            format!("import x\nimport y\n\n\n{one}{two}{one}"),
            format!("import x\n\n\n{two}{one}{one}"),
            format!("import x\n\n\n{one}{one}{two}{two}"),
        ] {
            let tree = crate::syntax::parse(&new).unwrap();
            let reused =
                FileSummary::build_reusing(&tree, &new, Some((Arc::new(summary(&old)), &old)));
            assert_eq!(reused, summary(&new), "{new}");
        }
    }

    #[test]
    fn params_know_their_kinds() {
        let s = summary("def f(self, a, *args, b: int = 1, **kw): pass\n");
        let kinds: Vec<_> = s.functions[0].params.iter().map(|p| p.kind).collect();
        assert_eq!(
            kinds,
            vec![
                ParamKind::Positional,
                ParamKind::Positional,
                ParamKind::VarArgs,
                ParamKind::KeywordOnly,
                ParamKind::VarKeyword
            ]
        );
        assert_eq!(s.functions[0].params[2].name, "args");
    }
}
