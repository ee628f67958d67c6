//! Per-file summary built from the tree-sitter tree: imports, classes, functions and the
//! statements of every scope, reduced to a small expression language (`Expr`) that the checks
//! interpret. The summary owns no tree-sitter data, so it can be shared (`Arc`) across
//! snapshots and threads.

use std::sync::Arc;

use tree_sitter::Node;

use crate::diagnostics::TextRange;

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
    pub args: Vec<Expr>,
    pub keywords: Vec<Keyword>,
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
    pub params: Vec<Param>,
    pub decorators: Vec<Expr>,
    pub body: Vec<Stmt>,
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
    pub bases: Vec<Expr>,
    /// `metaclass=...` or other class keywords: the class is not a plain pydantic model.
    pub has_class_keywords: bool,
    pub decorators: Vec<Expr>,
    pub attrs: Vec<ClassAttr>,
    pub methods: Vec<FunctionSummary>,
    /// Names bound in the class body by nested `class`, imports or other statements.
    pub other_names: Vec<Name>,
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
    pub stmts: Vec<Stmt>,
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
    fn compute(
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
        // Names bound to definitions with syntax errors resolve to nothing (see
        // `FileSummary::is_erroneous`), so which definitions those are is part of the scope.
        for def in &summary.erroneous_defs {
            match def {
                DefRef::Class(i) => (1u8, *i).hash(&mut scope),
                DefRef::Function(i) => (2u8, *i).hash(&mut scope),
            }
        }
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

fn definition_fingerprint(text: &str, range: TextRange) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut own = crate::analysis::FxHasher::default();
    text.get(range.start()..range.end())
        .unwrap_or("")
        .hash(&mut own);
    own.finish()
}

/// The text outside definitions, with a marker of each definition's kind.
fn module_body_fingerprint(summary: &FileSummary, text: &str) -> u64 {
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
        let mut reuse: crate::analysis::FxMap<&str, (usize, Reused)> = Default::default();
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
                        reuse.insert(src, (range.start(), piece));
                    }
                }
            }
        }
        let mut b = Builder {
            src: text.as_bytes(),
            summary: FileSummary::default(),
            reuse,
            scope_events: Default::default(),
        };
        let root = tree.root_node();
        let body = b.block_stmts(root, Scope::Module, false);
        b.summary.body = body;
        if root.has_error() {
            let mut cursor = root.walk();
            b.summary.module_error = root.children(&mut cursor).any(|c| {
                c.has_error()
                    && !matches!(
                        c.kind(),
                        "class_definition" | "function_definition" | "decorated_definition"
                    )
            });
        }
        let scope_events = std::hash::Hasher::finish(&b.scope_events);
        b.summary.fingerprints =
            Fingerprints::compute(&b.summary, text, scope_events, root.has_error());
        b.summary
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
        edit: crate::analysis::incremental::Edit,
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
            src: text.as_bytes(),
            summary: FileSummary::default(),
            reuse: Default::default(),
            scope_events: Default::default(),
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
        let delta = edit.new_end as isize - edit.old_end as isize;
        // Move everything after the edit; the replaced definition is rebuilt, not moved.
        if delta != 0 {
            for (range, other) in &mut self.def_spans {
                if *other != def && range.start() >= edit.old_end {
                    shift_range(range, delta);
                    match *other {
                        DefRef::Class(i) => Arc::make_mut(&mut self.classes[i]).shift(delta),
                        DefRef::Function(i) => Arc::make_mut(&mut self.functions[i]).shift(delta),
                    }
                }
            }
            for stmt in &mut self.body[marker_at + 1..] {
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
        if let Some(binding) = self
            .bindings
            .get_mut(&name)
            .and_then(|bs| bs.iter_mut().find(|b| b.kind() == kind))
        {
            binding.set_start(def_start);
        }
        let new_span = TextRange::new(node.start_byte(), node.end_byte());
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
        self.fingerprints.module_body = module_body_fingerprint(self, text);
        Some((old_def, new_def))
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Module,
    Function,
}

struct Builder<'s, 'p> {
    src: &'s [u8],
    summary: FileSummary,
    /// Definitions of the previous summary by their exact source text.
    reuse: crate::analysis::FxMap<&'p str, (usize, Reused)>,
    /// Every module-level binding in source order, folded into `Fingerprints::scope`.
    scope_events: crate::analysis::FxHasher,
}

enum Reused {
    Class(Arc<ClassSummary>),
    Function(Arc<FunctionSummary>),
}

/// `v` without spare capacity: summaries are kept for every file, so the slack that `push`
/// leaves (up to half of a vector, and at least room for four elements) is paid 100 times.
fn tight<T>(mut v: Vec<T>) -> Vec<T> {
    v.shrink_to_fit();
    v
}

fn range_of(n: Node) -> TextRange {
    TextRange::new(n.start_byte(), n.end_byte())
}

fn named_children(n: Node) -> Vec<Node> {
    let mut c = n.walk();
    n.named_children(&mut c)
        .filter(|c| c.kind() != "comment")
        .collect()
}

impl<'s, 'p> Builder<'s, 'p> {
    fn text(&self, n: Node) -> &'s str {
        std::str::from_utf8(&self.src[n.start_byte()..n.end_byte()]).unwrap_or("")
    }

    fn bind(&mut self, name: &str, kind: BindingKind, start: usize, conditional: bool) {
        {
            use std::hash::Hash;
            let events = &mut self.scope_events;
            name.hash(events);
            let (tag, index) = match kind {
                BindingKind::Class(i) => (1u8, i),
                BindingKind::Function(i) => (2, i),
                BindingKind::Import(i) => (3, i),
                BindingKind::Value => (4, 0),
            };
            (tag, index, conditional).hash(events);
        }
        self.summary
            .bindings
            .entry(Name::from(name))
            .or_default()
            .push(Binding::new(kind, start, conditional));
    }

    /// Statements of a block (or module); `conditional` is whether the block may not run.
    fn block_stmts(&mut self, n: Node, scope: Scope, conditional: bool) -> Vec<Stmt> {
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
    fn shrink_module_lists(&mut self) {
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
    fn try_reuse(&mut self, n: Node, cond: bool, out: &mut Vec<Stmt>) -> bool {
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

    fn body_of(&mut self, n: Node, field: &str, scope: Scope, conditional: bool) -> Body {
        let stmts = match n.child_by_field_name(field) {
            Some(b) => self.block_stmts(b, scope, conditional),
            None => Vec::new(),
        };
        Body { stmts, conditional }
    }

    fn stmt(&mut self, n: Node, scope: Scope, cond: bool, out: &mut Vec<Stmt>) {
        let module = scope == Scope::Module;
        match n.kind() {
            "expression_statement" => {
                for c in named_children(n) {
                    match c.kind() {
                        "assignment" => out.push(self.assignment(c, module, cond)),
                        "augmented_assignment" => {
                            let target = self.target(c.child_by_field_name("left"));
                            if let Some(r) = c.child_by_field_name("right") {
                                out.push(Stmt::AugAssign {
                                    target,
                                    value: self.expr(r, 0),
                                });
                            }
                        }
                        _ => out.push(Stmt::Expr(self.expr(c, 0))),
                    }
                }
            }
            "return_statement" => {
                let e = named_children(n).first().map(|c| self.expr(*c, 0));
                out.push(Stmt::Return(e));
            }
            "future_import_statement" => {
                let t = self.text(n);
                if t.contains("annotations") {
                    self.summary.future_annotations = true;
                }
            }
            "import_statement" | "import_from_statement" => {
                let bindings = self.import(n, module, cond);
                out.push(Stmt::Import(tight(bindings)));
            }
            "decorated_definition" => {
                let decorators: Vec<Expr> = named_children(n)
                    .into_iter()
                    .filter(|c| c.kind() == "decorator")
                    .filter_map(|d| named_children(d).first().map(|e| self.expr(*e, 0)))
                    .collect();
                if let Some(def) = n.child_by_field_name("definition") {
                    self.definition(def, decorators, scope, cond, out);
                }
            }
            "class_definition" | "function_definition" => {
                self.definition(n, Vec::new(), scope, cond, out)
            }
            "if_statement" => {
                let mut header = Vec::new();
                let mut main_guard = false;
                if let Some(c) = n.child_by_field_name("condition") {
                    let t = self.text(c);
                    main_guard = module
                        && t.contains("__name__")
                        && t.contains("__main__")
                        && !t.contains("!=");
                    header.push(self.expr(c, 0));
                }
                let mut bodies = vec![self.body_of(n, "consequence", scope, !main_guard || cond)];
                for alt in named_children(n) {
                    match alt.kind() {
                        "elif_clause" => {
                            if let Some(c) = alt.child_by_field_name("condition") {
                                header.push(self.expr(c, 0));
                            }
                            bodies.push(self.body_of(alt, "consequence", scope, true));
                        }
                        "else_clause" => bodies.push(self.body_of(alt, "body", scope, true)),
                        _ => {}
                    }
                }
                out.push(Stmt::Block {
                    kind: if main_guard {
                        BlockKind::MainGuard
                    } else {
                        BlockKind::If
                    },
                    header: tight(header),
                    bound: Vec::new(),
                    bodies: tight(bodies),
                });
            }
            "for_statement" | "while_statement" => {
                let mut header = Vec::new();
                let mut bound = Vec::new();
                if let Some(l) = n.child_by_field_name("left") {
                    bound = self.names_in_target(l);
                    if module {
                        for b in &bound {
                            self.bind(b, BindingKind::Value, n.start_byte(), true);
                        }
                    }
                }
                for f in ["right", "condition"] {
                    if let Some(c) = n.child_by_field_name(f) {
                        header.push(self.expr(c, 0));
                    }
                }
                let mut bodies = vec![self.body_of(n, "body", scope, true)];
                if let Some(alt) = n.child_by_field_name("alternative") {
                    bodies.push(self.body_of(alt, "body", scope, true));
                }
                out.push(Stmt::Block {
                    kind: BlockKind::Loop,
                    header: tight(header),
                    bound,
                    bodies: tight(bodies),
                });
            }
            "try_statement" => {
                let mut bodies = vec![self.body_of(n, "body", scope, cond)];
                let mut bound = Vec::new();
                for c in named_children(n) {
                    match c.kind() {
                        "except_clause" | "except_group_clause" => {
                            for e in named_children(c) {
                                if e.kind() == "as_pattern" {
                                    if let Some(a) = e.child_by_field_name("alias") {
                                        bound.push(Name::from(self.text(a)));
                                    }
                                }
                            }
                            let block = named_children(c).into_iter().find(|x| x.kind() == "block");
                            let stmts = match block {
                                Some(b) => self.block_stmts(b, scope, true),
                                None => Vec::new(),
                            };
                            bodies.push(Body {
                                stmts,
                                conditional: true,
                            });
                        }
                        "else_clause" => bodies.push(self.body_of(c, "body", scope, true)),
                        "finally_clause" => {
                            let block = named_children(c).into_iter().find(|x| x.kind() == "block");
                            let stmts = match block {
                                Some(b) => self.block_stmts(b, scope, cond),
                                None => Vec::new(),
                            };
                            bodies.push(Body {
                                stmts,
                                conditional: cond,
                            });
                        }
                        _ => {}
                    }
                }
                out.push(Stmt::Block {
                    kind: BlockKind::Try,
                    header: Vec::new(),
                    bound: tight(bound),
                    bodies: tight(bodies),
                });
            }
            "with_statement" => {
                let mut header = Vec::new();
                let mut bound = Vec::new();
                if let Some(wc) = named_children(n)
                    .into_iter()
                    .find(|c| c.kind() == "with_clause")
                {
                    for item in named_children(wc) {
                        if let Some(v) = item.child_by_field_name("value") {
                            if v.kind() == "as_pattern" {
                                if let Some(inner) = named_children(v).first() {
                                    header.push(self.expr(*inner, 0));
                                }
                                if let Some(a) = v.child_by_field_name("alias") {
                                    bound.extend(self.names_in_target(a));
                                }
                            } else {
                                header.push(self.expr(v, 0));
                            }
                        }
                    }
                }
                if module {
                    for b in &bound {
                        self.bind(b, BindingKind::Value, n.start_byte(), cond);
                    }
                }
                let body = self.body_of(n, "body", scope, cond);
                out.push(Stmt::Block {
                    kind: BlockKind::With,
                    header: tight(header),
                    bound: tight(bound),
                    bodies: vec![body],
                });
            }
            "match_statement" => {
                let mut header = Vec::new();
                if let Some(s) = n.child_by_field_name("subject") {
                    header.push(self.expr(s, 0));
                }
                let mut bodies = Vec::new();
                if let Some(b) = n.child_by_field_name("body") {
                    for case in named_children(b) {
                        if case.kind() == "case_clause" {
                            bodies.push(self.body_of(case, "consequence", scope, true));
                        }
                    }
                }
                out.push(Stmt::Block {
                    kind: BlockKind::Match,
                    header: tight(header),
                    bound: Vec::new(),
                    bodies: tight(bodies),
                });
            }
            "global_statement" | "nonlocal_statement" => {
                let names = named_children(n)
                    .into_iter()
                    .map(|c| Name::from(self.text(c)))
                    .collect();
                out.push(Stmt::Global(names));
            }
            "delete_statement" => {
                let names = named_children(n)
                    .iter()
                    .flat_map(|c| self.names_in_target(*c))
                    .collect::<Vec<_>>();
                if module {
                    for b in &names {
                        self.bind(b, BindingKind::Value, n.start_byte(), cond);
                    }
                }
                out.push(Stmt::Other {
                    bound: tight(names),
                    exprs: Vec::new(),
                });
            }
            "pass_statement" | "break_statement" | "continue_statement" => {}
            _ => {
                let exprs = named_children(n)
                    .into_iter()
                    .filter(|c| c.kind() != "block")
                    .map(|c| self.expr(c, 0))
                    .collect::<Vec<_>>();
                out.push(Stmt::Other {
                    bound: Vec::new(),
                    exprs: tight(exprs),
                });
            }
        }
    }

    fn definition(
        &mut self,
        n: Node,
        decorators: Vec<Expr>,
        scope: Scope,
        cond: bool,
        out: &mut Vec<Stmt>,
    ) {
        match n.kind() {
            "class_definition" => {
                let name = n
                    .child_by_field_name("name")
                    .map(|x| Name::from(self.text(x)))
                    .unwrap_or_default();
                if scope == Scope::Module {
                    let class = self.class(n, decorators);
                    let idx = self.summary.classes.len();
                    self.summary.classes.push(Arc::new(class));
                    self.bind(&name, BindingKind::Class(idx), n.start_byte(), cond);
                    out.push(Stmt::ClassDefAt(idx));
                } else {
                    out.push(Stmt::LocalClass(name));
                }
            }
            "function_definition" => {
                let f = self.function(n, decorators);
                if scope == Scope::Module {
                    let idx = self.summary.functions.len();
                    self.bind(
                        &f.name.clone(),
                        BindingKind::Function(idx),
                        n.start_byte(),
                        cond,
                    );
                    self.summary.functions.push(Arc::new(f));
                    out.push(Stmt::FunctionDefAt(idx));
                } else {
                    out.push(Stmt::LocalFunction(Box::new(f)));
                }
            }
            _ => {}
        }
    }

    fn class(&mut self, n: Node, decorators: Vec<Expr>) -> ClassSummary {
        let name_node = n.child_by_field_name("name");
        let mut class = ClassSummary {
            name: name_node
                .map(|x| Name::from(self.text(x)))
                .unwrap_or_default(),
            name_range: name_node.map(range_of).unwrap_or_default(),
            range: range_of(n),
            bases: Vec::new(),
            has_class_keywords: false,
            decorators,
            attrs: Vec::new(),
            methods: Vec::new(),
            other_names: Vec::new(),
            dynamic_body: false,
        };
        if let Some(args) = n.child_by_field_name("superclasses") {
            for a in named_children(args) {
                match a.kind() {
                    "keyword_argument" | "dictionary_splat" => class.has_class_keywords = true,
                    _ => class.bases.push(self.expr(a, 0)),
                }
            }
        }
        let Some(body) = n.child_by_field_name("body") else {
            class.bases.shrink_to_fit();
            class.decorators.shrink_to_fit();
            return class;
        };
        for s in named_children(body) {
            let (s, decorators) = if s.kind() == "decorated_definition" {
                let decorators: Vec<Expr> = named_children(s)
                    .into_iter()
                    .filter(|c| c.kind() == "decorator")
                    .filter_map(|d| named_children(d).first().map(|e| self.expr(*e, 0)))
                    .collect();
                match s.child_by_field_name("definition") {
                    Some(d) => (d, decorators),
                    None => continue,
                }
            } else {
                (s, Vec::new())
            };
            match s.kind() {
                "function_definition" => {
                    let f = self.function(s, decorators);
                    class.methods.push(f);
                }
                "class_definition" => {
                    if let Some(nm) = s.child_by_field_name("name") {
                        class.other_names.push(Name::from(self.text(nm)));
                    }
                }
                "expression_statement" => {
                    for c in named_children(s) {
                        if c.kind() == "assignment" {
                            self.class_assignment(c, &mut class);
                        }
                    }
                }
                "import_statement" | "import_from_statement" => {
                    // Names imported in a class body are class attributes, not fields.
                    for b in self.import_bindings(s) {
                        class.other_names.push(b.local);
                    }
                }
                "pass_statement" | "comment" => {}
                _ => class.dynamic_body = true,
            }
        }
        class.bases.shrink_to_fit();
        class.decorators.shrink_to_fit();
        class.attrs.shrink_to_fit();
        class.methods.shrink_to_fit();
        class.other_names.shrink_to_fit();
        class
    }

    fn class_assignment(&mut self, n: Node, class: &mut ClassSummary) {
        let left = n.child_by_field_name("left");
        let right = n.child_by_field_name("right");
        let ty = n.child_by_field_name("type");
        match left {
            Some(l) if l.kind() == "identifier" => {
                // `a = b = 1` parses as nested assignments on the right.
                let value = match right {
                    Some(r) if r.kind() == "assignment" => {
                        self.class_assignment(r, class);
                        None
                    }
                    Some(r) => Some(self.expr(r, 0)),
                    None => None,
                };
                class.attrs.push(ClassAttr {
                    name: Name::from(self.text(l)),
                    name_range: range_of(l),
                    annotation: ty.map(|t| self.annotation(t)),
                    value,
                    range: range_of(n),
                });
            }
            _ => class.dynamic_body = true,
        }
    }

    fn annotation(&mut self, t: Node) -> Expr {
        // `type` nodes wrap the expression.
        match named_children(t).first() {
            Some(inner) if t.kind() == "type" => self.expr(*inner, 0),
            _ => self.expr(t, 0),
        }
    }

    fn function(&mut self, n: Node, decorators: Vec<Expr>) -> FunctionSummary {
        let name_node = n.child_by_field_name("name");
        let mut params = Vec::new();
        if let Some(ps) = n.child_by_field_name("parameters") {
            let mut kw_only = false;
            for p in named_children(ps) {
                let (kind_node, annotation, has_default) = match p.kind() {
                    "identifier" => (p, None, false),
                    "typed_parameter" => {
                        let inner = named_children(p).first().copied().unwrap_or(p);
                        (inner, p.child_by_field_name("type"), false)
                    }
                    "default_parameter" => (p.child_by_field_name("name").unwrap_or(p), None, true),
                    "typed_default_parameter" => (
                        p.child_by_field_name("name").unwrap_or(p),
                        p.child_by_field_name("type"),
                        true,
                    ),
                    "list_splat_pattern" | "dictionary_splat_pattern" => (p, None, false),
                    "keyword_separator" => {
                        kw_only = true;
                        continue;
                    }
                    _ => continue,
                };
                let (kind, name_node) = match kind_node.kind() {
                    "list_splat_pattern" => {
                        kw_only = true;
                        (
                            ParamKind::VarArgs,
                            named_children(kind_node).first().copied(),
                        )
                    }
                    "dictionary_splat_pattern" => (
                        ParamKind::VarKeyword,
                        named_children(kind_node).first().copied(),
                    ),
                    _ if kw_only => (ParamKind::KeywordOnly, Some(kind_node)),
                    _ => (ParamKind::Positional, Some(kind_node)),
                };
                let name_node = name_node.unwrap_or(kind_node);
                params.push(Param {
                    name: Name::from(self.text(name_node)),
                    name_range: range_of(name_node),
                    kind,
                    annotation: annotation.map(|a| self.annotation(a)),
                    has_default,
                });
            }
        }
        let body = match n.child_by_field_name("body") {
            Some(b) => self.block_stmts(b, Scope::Function, false),
            None => Vec::new(),
        };
        FunctionSummary {
            name: name_node
                .map(|x| Name::from(self.text(x)))
                .unwrap_or_default(),
            name_range: name_node.map(range_of).unwrap_or_default(),
            range: range_of(n),
            params: tight(params),
            decorators: tight(decorators),
            body,
        }
    }

    fn assignment(&mut self, n: Node, module: bool, cond: bool) -> Stmt {
        // Chained `a = b = value`: collect all targets.
        let mut targets = Vec::new();
        let mut cur = n;
        let mut annotation = None;
        let value;
        loop {
            targets.push(self.target(cur.child_by_field_name("left")));
            if annotation.is_none() {
                annotation = cur
                    .child_by_field_name("type")
                    .map(|t| Box::new(self.annotation(t)));
            }
            match cur.child_by_field_name("right") {
                Some(r) if r.kind() == "assignment" => cur = r,
                Some(r) => {
                    value = Some(self.expr(r, 0));
                    break;
                }
                None => {
                    value = None;
                    break;
                }
            }
        }
        if module {
            for t in &targets {
                let names = match t {
                    AssignTarget::Name(n, _) => vec![n.clone()],
                    AssignTarget::Other(v) | AssignTarget::Tuple(v) => v.clone(),
                    AssignTarget::SelfAttr(..) => vec![],
                };
                for name in names {
                    self.bind(&name, BindingKind::Value, n.start_byte(), cond);
                }
            }
        }
        Stmt::Assign {
            targets: targets.into_boxed_slice(),
            value,
            annotation,
            range: range_of(n),
        }
    }

    fn target(&mut self, n: Option<Node>) -> AssignTarget {
        let Some(n) = n else {
            return AssignTarget::Other(Vec::new());
        };
        match n.kind() {
            "identifier" => AssignTarget::Name(Name::from(self.text(n)), range_of(n)),
            "attribute" => {
                let obj = n.child_by_field_name("object");
                let attr = n.child_by_field_name("attribute");
                match (obj, attr) {
                    (Some(o), Some(a)) if self.text(o) == "self" => {
                        AssignTarget::SelfAttr(Name::from(self.text(a)), range_of(a))
                    }
                    _ => AssignTarget::Other(Vec::new()),
                }
            }
            "pattern_list" | "tuple_pattern" | "tuple" | "expression_list"
                if named_children(n).iter().all(|c| c.kind() == "identifier") =>
            {
                AssignTarget::Tuple(self.names_in_target(n))
            }
            _ => AssignTarget::Other(self.names_in_target(n)),
        }
    }

    fn names_in_target(&self, n: Node) -> Vec<Name> {
        match n.kind() {
            "identifier" => vec![Name::from(self.text(n))],
            "pattern_list"
            | "tuple_pattern"
            | "list_pattern"
            | "tuple"
            | "list"
            | "parenthesized_expression"
            | "list_splat_pattern" => tight(
                named_children(n)
                    .into_iter()
                    .flat_map(|c| self.names_in_target(c))
                    .collect(),
            ),
            _ => Vec::new(),
        }
    }

    fn import_bindings(&mut self, n: Node) -> Vec<ImportBinding> {
        let mut out = Vec::new();
        if n.kind() == "import_statement" {
            for c in named_children(n) {
                match c.kind() {
                    "dotted_name" => {
                        let full = self.text(c);
                        let first = Name::from(full.split('.').next().unwrap_or(""));
                        out.push(ImportBinding {
                            local: first.clone(),
                            level: 0,
                            module: first,
                            member: None,
                            range: range_of(c),
                        });
                    }
                    "aliased_import" => {
                        if let (Some(nm), Some(al)) = (
                            c.child_by_field_name("name"),
                            c.child_by_field_name("alias"),
                        ) {
                            out.push(ImportBinding {
                                local: Name::from(self.text(al)),
                                level: 0,
                                module: Name::from(self.text(nm)),
                                member: None,
                                range: range_of(c),
                            });
                        }
                    }
                    _ => {}
                }
            }
            return out;
        }
        // from ... import ...
        let Some(module_node) = n.child_by_field_name("module_name") else {
            return out;
        };
        let (level, module) = if module_node.kind() == "relative_import" {
            let mut level = 0;
            let mut module = Name::default();
            for c in named_children(module_node) {
                match c.kind() {
                    "import_prefix" => level = self.text(c).chars().filter(|c| *c == '.').count(),
                    "dotted_name" => module = Name::from(self.text(c)),
                    _ => {}
                }
            }
            (level as u32, module)
        } else {
            (0, Name::from(self.text(module_node)))
        };
        let mut c = n.walk();
        for child in n.children_by_field_name("name", &mut c) {
            let (name, alias) = match child.kind() {
                "aliased_import" => (
                    child.child_by_field_name("name"),
                    child.child_by_field_name("alias"),
                ),
                _ => (Some(child), None),
            };
            let Some(name) = name else { continue };
            let member = Name::from(self.text(name));
            let local = alias
                .map(|a| Name::from(self.text(a)))
                .unwrap_or_else(|| member.clone());
            out.push(ImportBinding {
                local,
                level,
                module: module.clone(),
                member: Some(member),
                range: range_of(child),
            });
        }
        if named_children(n)
            .iter()
            .any(|c| c.kind() == "wildcard_import")
        {
            self.summary.star_imports.push((level, module));
        }
        out
    }

    fn import(&mut self, n: Node, module: bool, cond: bool) -> Vec<ImportBinding> {
        let bindings = self.import_bindings(n);
        if module {
            for b in &bindings {
                let idx = self.summary.imports.len();
                self.summary.imports.push(b.clone());
                self.bind(&b.local, BindingKind::Import(idx), n.start_byte(), cond);
            }
        }
        bindings
    }

    fn string_value(&self, n: Node) -> Option<String> {
        match n.kind() {
            "concatenated_string" => {
                let mut s = String::new();
                for c in named_children(n) {
                    s.push_str(&self.string_value(c)?);
                }
                Some(s)
            }
            "string" => {
                let mut prefix = String::new();
                let mut content = String::new();
                for c in named_children(n) {
                    match c.kind() {
                        "string_start" => prefix = self.text(c).to_ascii_lowercase(),
                        "string_content" => content.push_str(self.text(c)),
                        "escape_sequence" => content.push_str(self.text(c)),
                        "interpolation" => return None,
                        "string_end" => {}
                        _ => return None,
                    }
                }
                let letters: String = prefix.chars().filter(|c| c.is_ascii_alphabetic()).collect();
                if letters.contains('f') || letters.contains('b') || letters.contains('t') {
                    return None;
                }
                if letters.contains('r') {
                    return Some(content);
                }
                unescape(&content)
            }
            _ => None,
        }
    }

    fn expr(&mut self, n: Node, depth: usize) -> Expr {
        let range = range_of(n);
        if depth > MAX_EXPR_DEPTH {
            return Expr::Other {
                range,
                children: Vec::new(),
            };
        }
        let d = depth + 1;
        let literal = match n.kind() {
            "float" | "ellipsis" | "dictionary" => true,
            // Imaginary literals (`2j`) are integers to tree-sitter.
            "integer" => self.text(n).ends_with(['j', 'J']),
            // `-1.5` (negative integers are `Expr::Int`).
            "unary_operator" => {
                n.child_by_field_name("operator")
                    .is_some_and(|o| self.text(o) == "-")
                    && n.child_by_field_name("argument")
                        .is_some_and(|a| a.kind() == "float")
            }
            // Bytes; other strings are `Expr::Str`.
            "string" => self
                .text(n)
                .bytes()
                .take_while(u8::is_ascii_alphabetic)
                .any(|c| c == b'b' || c == b'B'),
            _ => false,
        };
        if literal {
            // Long reprs (big dict literals) are not worth their memory.
            if let Some(repr) = self
                .literal_repr(n, d)
                .filter(|r| r.len() <= MAX_LITERAL_REPR)
            {
                return Expr::Literal {
                    repr: Name::from(repr),
                    range,
                };
            }
        }
        match n.kind() {
            "identifier" => Expr::Name {
                id: Name::from(self.text(n)),
                range,
            },
            "attribute" => {
                let obj = n.child_by_field_name("object");
                let attr = n.child_by_field_name("attribute");
                match (obj, attr) {
                    (Some(o), Some(a)) => Expr::Attribute {
                        value: Box::new(self.expr(o, d)),
                        attr: Name::from(self.text(a)),
                        range,
                    },
                    _ => Expr::Other {
                        range,
                        children: Vec::new(),
                    },
                }
            }
            "call" => {
                let func = match n.child_by_field_name("function") {
                    Some(f) => self.expr(f, d),
                    None => Expr::Other {
                        range,
                        children: Vec::new(),
                    },
                };
                let mut args = Vec::new();
                let mut keywords = Vec::new();
                if let Some(a) = n.child_by_field_name("arguments") {
                    if a.kind() == "generator_expression" {
                        args.push(self.expr(a, d));
                    } else {
                        for c in named_children(a) {
                            match c.kind() {
                                "keyword_argument" => {
                                    let name = c.child_by_field_name("name");
                                    let value = c.child_by_field_name("value");
                                    if let (Some(nm), Some(v)) = (name, value) {
                                        keywords.push(Keyword {
                                            name: Some(Name::from(self.text(nm))),
                                            name_range: range_of(nm),
                                            value: self.expr(v, d),
                                        });
                                    }
                                }
                                "dictionary_splat" => {
                                    let inner = named_children(c).first().map(|x| self.expr(*x, d));
                                    keywords.push(Keyword {
                                        name: None,
                                        name_range: range_of(c),
                                        value: inner.unwrap_or(Expr::Other {
                                            range: range_of(c),
                                            children: Vec::new(),
                                        }),
                                    });
                                }
                                "list_splat" => {
                                    let inner = named_children(c).first().map(|x| self.expr(*x, d));
                                    args.push(Expr::Starred {
                                        value: Box::new(inner.unwrap_or(Expr::Other {
                                            range: range_of(c),
                                            children: Vec::new(),
                                        })),
                                        range: range_of(c),
                                    });
                                }
                                _ => args.push(self.expr(c, d)),
                            }
                        }
                    }
                }
                Expr::Call(Box::new(CallExpr {
                    func,
                    args: tight(args),
                    keywords: tight(keywords),
                    range,
                }))
            }
            "string" | "concatenated_string" => match self.string_value(n) {
                Some(value) => Expr::Str {
                    value: Name::from(value),
                    range,
                },
                None => Expr::Other {
                    range,
                    children: self.other_children(n, d),
                },
            },
            "integer" => match parse_int(self.text(n)) {
                Some(value) => Expr::Int { value, range },
                None => Expr::Other {
                    range,
                    children: Vec::new(),
                },
            },
            "unary_operator" => {
                let op = n.child_by_field_name("operator").map(|o| self.text(o));
                let arg = n.child_by_field_name("argument");
                // The operand is lowered once: lowering it again for `Other`'s children would
                // double the work at every level, exponential in a chain like `- - - - x`.
                let Some(a) = arg else {
                    return Expr::Other {
                        range,
                        children: Vec::new(),
                    };
                };
                match (op, self.expr(a, d)) {
                    (Some("-"), Expr::Int { value, .. }) => Expr::Int {
                        value: -value,
                        range,
                    },
                    (_, operand) => Expr::Other {
                        range,
                        children: keep_other_children(vec![operand]),
                    },
                }
            }
            "none" => Expr::NoneLit { range },
            "true" => Expr::Bool { value: true, range },
            "false" => Expr::Bool {
                value: false,
                range,
            },
            "list" => Expr::List {
                elts: self.children_exprs(n, d),
                range,
            },
            "tuple" | "expression_list" | "pattern_list" => Expr::Tuple {
                elts: self.children_exprs(n, d),
                range,
            },
            "parenthesized_expression" => match named_children(n).first() {
                Some(inner) => self.expr(*inner, d),
                None => Expr::Other {
                    range,
                    children: Vec::new(),
                },
            },
            "subscript" => {
                let value = n.child_by_field_name("value");
                let mut index = Vec::new();
                let mut c = n.walk();
                for s in n.children_by_field_name("subscript", &mut c) {
                    index.push(self.expr(s, d));
                }
                match value {
                    Some(v) => Expr::Subscript {
                        value: Box::new(self.expr(v, d)),
                        index: tight(index),
                        range,
                    },
                    None => Expr::Other {
                        range,
                        children: index,
                    },
                }
            }
            "binary_operator" => {
                let op = n.child_by_field_name("operator").map(|o| self.text(o));
                let (l, r) = (
                    n.child_by_field_name("left"),
                    n.child_by_field_name("right"),
                );
                match (op, l, r) {
                    (Some("|"), Some(l), Some(r)) => Expr::BitOr {
                        left: Box::new(self.expr(l, d)),
                        right: Box::new(self.expr(r, d)),
                        range,
                    },
                    _ => Expr::Other {
                        range,
                        children: self.other_children(n, d),
                    },
                }
            }
            "list_comprehension" | "generator_expression" => match n.child_by_field_name("body") {
                Some(b) => Expr::Comprehension {
                    elt: Box::new(self.expr(b, d)),
                    range,
                },
                None => Expr::Other {
                    range,
                    children: Vec::new(),
                },
            },
            "list_splat" => Expr::Starred {
                value: Box::new(match named_children(n).first() {
                    Some(c) => self.expr(*c, d),
                    None => Expr::Other {
                        range,
                        children: Vec::new(),
                    },
                }),
                range,
            },
            "lambda" => Expr::Lambda { range },
            // Annotation-only node kinds of tree-sitter-python (`Optional[X]`, `A | B`, `m.X`).
            "type" => match named_children(n).first() {
                Some(inner) => self.expr(*inner, d),
                None => Expr::Other {
                    range,
                    children: Vec::new(),
                },
            },
            "generic_type" => {
                let kids = named_children(n);
                let base = kids.iter().find(|k| k.kind() != "type_parameter");
                let params = kids.iter().find(|k| k.kind() == "type_parameter");
                match base {
                    Some(b) => Expr::Subscript {
                        value: Box::new(self.expr(*b, d)),
                        index: params
                            .map(|p| self.children_exprs(*p, d))
                            .unwrap_or_default(),
                        range,
                    },
                    None => Expr::Other {
                        range,
                        children: Vec::new(),
                    },
                }
            }
            "union_type" => {
                let kids = named_children(n);
                match (kids.first(), kids.get(1)) {
                    (Some(l), Some(r)) => Expr::BitOr {
                        left: Box::new(self.expr(*l, d)),
                        right: Box::new(self.expr(*r, d)),
                        range,
                    },
                    _ => Expr::Other {
                        range,
                        children: Vec::new(),
                    },
                }
            }
            "member_type" => {
                let kids = named_children(n);
                match (kids.first(), kids.last()) {
                    (Some(o), Some(a)) if kids.len() == 2 && a.kind() == "identifier" => {
                        Expr::Attribute {
                            value: Box::new(self.expr(*o, d)),
                            attr: Name::from(self.text(*a)),
                            range,
                        }
                    }
                    _ => Expr::Other {
                        range,
                        children: Vec::new(),
                    },
                }
            }
            _ => Expr::Other {
                range,
                children: self.other_children(n, d),
            },
        }
    }

    /// Python's `repr()` of a literal, when it is certain: numbers, simple strings and bytes
    /// (printable ASCII without quotes or backslashes), `True`/`False`/`None`, `...`, and
    /// lists, tuples and dicts of those. Sets are left out (their order depends on hashing).
    fn literal_repr(&self, n: Node, depth: usize) -> Option<String> {
        if depth > MAX_EXPR_DEPTH {
            return None;
        }
        let d = depth + 1;
        let simple = |s: &str| {
            s.chars()
                .all(|c| (' '..='~').contains(&c) && c != '\'' && c != '\\')
        };
        match n.kind() {
            "integer" if !self.text(n).ends_with(['j', 'J']) => {
                parse_int(self.text(n)).map(|v| v.to_string())
            }
            "float" | "integer" => {
                let t = self.text(n).replace('_', "");
                match t.strip_suffix(['j', 'J']) {
                    Some(imag) => {
                        let r = py_float_repr(imag.parse().ok()?);
                        Some(format!("{}j", r.strip_suffix(".0").unwrap_or(&r)))
                    }
                    None => Some(py_float_repr(t.parse().ok()?)),
                }
            }
            "unary_operator" => {
                let arg = n.child_by_field_name("argument")?;
                let op = n.child_by_field_name("operator")?;
                if self.text(op) != "-" || arg.kind() != "float" {
                    return None;
                }
                let repr = self.literal_repr(arg, d)?;
                Some(match repr.strip_prefix('-') {
                    Some(positive) => positive.to_string(),
                    None => format!("-{repr}"),
                })
            }
            "true" => Some("True".into()),
            "false" => Some("False".into()),
            "none" => Some("None".into()),
            "ellipsis" => Some("Ellipsis".into()),
            "string" => {
                let prefix = named_children(n)
                    .first()
                    .filter(|c| c.kind() == "string_start")
                    .map(|c| self.text(*c).to_ascii_lowercase())?;
                let letters: String = prefix.chars().filter(|c| c.is_ascii_alphabetic()).collect();
                let content: String = named_children(n)
                    .iter()
                    .filter(|c| c.kind() != "string_start" && c.kind() != "string_end")
                    .map(|c| (c.kind() == "string_content").then(|| self.text(*c)))
                    .collect::<Option<String>>()?;
                if content.len() > MAX_LITERAL_REPR
                    || !simple(&content)
                    || letters.contains('f')
                    || letters.contains('t')
                {
                    return None;
                }
                if letters.contains('b') {
                    Some(format!("b'{content}'"))
                } else {
                    Some(format!("'{content}'"))
                }
            }
            "list" | "tuple" => {
                let mut items = Vec::new();
                let mut len = 0;
                for c in named_children(n) {
                    let item = self.literal_repr(c, d)?;
                    len += item.len() + 2;
                    if len > MAX_LITERAL_REPR {
                        return None;
                    }
                    items.push(item);
                }
                Some(match (n.kind(), items.len()) {
                    ("list", _) => format!("[{}]", items.join(", ")),
                    (_, 1) => format!("({},)", items[0]),
                    _ => format!("({})", items.join(", ")),
                })
            }
            "dictionary" => {
                let mut items = Vec::new();
                let mut len = 0;
                for pair in named_children(n) {
                    if pair.kind() != "pair" {
                        return None;
                    }
                    let k = self.literal_repr(pair.child_by_field_name("key")?, d)?;
                    let v = self.literal_repr(pair.child_by_field_name("value")?, d)?;
                    len += k.len() + v.len() + 4;
                    if len > MAX_LITERAL_REPR {
                        return None;
                    }
                    // A repeated key keeps the first position and the last value.
                    match items.iter_mut().find(|(key, _)| *key == k) {
                        Some(item) => item.1 = v,
                        None => items.push((k, v)),
                    }
                }
                let items: Vec<String> = items
                    .into_iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect();
                Some(format!("{{{}}}", items.join(", ")))
            }
            _ => None,
        }
    }

    /// The children kept in `Expr::Other`: only what can hold a call or a name. Literals and
    /// childless `Other`s (string delimiters, operators' literal operands) are never read
    /// there, by the checks or by `for_each_call`, so they are not stored.
    fn other_children(&mut self, n: Node, depth: usize) -> Vec<Expr> {
        keep_other_children(self.children_exprs(n, depth))
    }

    fn children_exprs(&mut self, n: Node, depth: usize) -> Vec<Expr> {
        named_children(n)
            .into_iter()
            .map(|c| self.expr(c, depth))
            .collect()
    }
}

/// The children kept in `Expr::Other` (see [`Builder::other_children`]).
fn keep_other_children(mut children: Vec<Expr>) -> Vec<Expr> {
    children.retain(|e| {
        !matches!(
            e,
            Expr::Str { .. }
                | Expr::Int { .. }
                | Expr::NoneLit { .. }
                | Expr::Bool { .. }
                | Expr::Lambda { .. }
                | Expr::Literal { .. }
        ) && !matches!(e, Expr::Other { children, .. } if children.is_empty())
    });
    tight(children)
}

fn shift_range(r: &mut TextRange, delta: isize) {
    *r = r.map(|offset| (offset as isize + delta).max(0) as usize);
}

/// Moves every byte range by `delta` (used when a definition is reused at a new offset).
trait Shift {
    fn shift(&mut self, delta: isize);
}

impl<T: Shift> Shift for Vec<T> {
    fn shift(&mut self, delta: isize) {
        for x in self {
            x.shift(delta)
        }
    }
}

impl<T: Shift> Shift for Option<T> {
    fn shift(&mut self, delta: isize) {
        if let Some(x) = self {
            x.shift(delta)
        }
    }
}

impl<T: Shift> Shift for [T] {
    fn shift(&mut self, delta: isize) {
        for x in self {
            x.shift(delta)
        }
    }
}

impl<T: Shift + ?Sized> Shift for Box<T> {
    fn shift(&mut self, delta: isize) {
        (**self).shift(delta)
    }
}

impl Shift for Expr {
    fn shift(&mut self, d: isize) {
        match self {
            Expr::Name { range, .. }
            | Expr::Str { range, .. }
            | Expr::Int { range, .. }
            | Expr::NoneLit { range }
            | Expr::Bool { range, .. }
            | Expr::Lambda { range }
            | Expr::Literal { range, .. } => shift_range(range, d),
            Expr::Attribute { value, range, .. } => {
                value.shift(d);
                shift_range(range, d);
            }
            Expr::Call(c) => c.shift(d),
            Expr::List { elts, range } | Expr::Tuple { elts, range } => {
                elts.shift(d);
                shift_range(range, d);
            }
            Expr::Subscript {
                value,
                index,
                range,
            } => {
                value.shift(d);
                index.shift(d);
                shift_range(range, d);
            }
            Expr::BitOr { left, right, range } => {
                left.shift(d);
                right.shift(d);
                shift_range(range, d);
            }
            Expr::Comprehension { elt, range } | Expr::Starred { value: elt, range } => {
                elt.shift(d);
                shift_range(range, d);
            }
            Expr::Other { range, children } => {
                children.shift(d);
                shift_range(range, d);
            }
        }
    }
}

impl Shift for CallExpr {
    fn shift(&mut self, d: isize) {
        self.func.shift(d);
        self.args.shift(d);
        self.keywords.shift(d);
        shift_range(&mut self.range, d);
    }
}

impl Shift for Keyword {
    fn shift(&mut self, d: isize) {
        shift_range(&mut self.name_range, d);
        self.value.shift(d);
    }
}

impl Shift for ImportBinding {
    fn shift(&mut self, d: isize) {
        shift_range(&mut self.range, d);
    }
}

impl Shift for Param {
    fn shift(&mut self, d: isize) {
        shift_range(&mut self.name_range, d);
        self.annotation.shift(d);
    }
}

impl Shift for AssignTarget {
    fn shift(&mut self, d: isize) {
        match self {
            AssignTarget::Name(_, r) | AssignTarget::SelfAttr(_, r) => shift_range(r, d),
            AssignTarget::Tuple(_) | AssignTarget::Other(_) => {}
        }
    }
}

impl Shift for Body {
    fn shift(&mut self, d: isize) {
        self.stmts.shift(d);
    }
}

impl Shift for Stmt {
    fn shift(&mut self, d: isize) {
        match self {
            Stmt::Assign {
                targets,
                value,
                annotation,
                range,
            } => {
                targets.shift(d);
                value.shift(d);
                annotation.shift(d);
                shift_range(range, d);
            }
            Stmt::AugAssign { target, value } => {
                target.shift(d);
                value.shift(d);
            }
            Stmt::Expr(e) => e.shift(d),
            Stmt::Return(e) => e.shift(d),
            Stmt::Block { header, bodies, .. } => {
                header.shift(d);
                bodies.shift(d);
            }
            Stmt::Import(b) => b.shift(d),
            Stmt::LocalFunction(f) => f.shift(d),
            Stmt::Other { exprs, .. } => exprs.shift(d),
            Stmt::ClassDefAt(_)
            | Stmt::FunctionDefAt(_)
            | Stmt::LocalClass(_)
            | Stmt::Global(_) => {}
        }
    }
}

impl Shift for FunctionSummary {
    fn shift(&mut self, d: isize) {
        shift_range(&mut self.name_range, d);
        shift_range(&mut self.range, d);
        self.params.shift(d);
        self.decorators.shift(d);
        self.body.shift(d);
    }
}

impl Shift for ClassAttr {
    fn shift(&mut self, d: isize) {
        shift_range(&mut self.name_range, d);
        shift_range(&mut self.range, d);
        self.annotation.shift(d);
        self.value.shift(d);
    }
}

impl Shift for ClassSummary {
    fn shift(&mut self, d: isize) {
        shift_range(&mut self.name_range, d);
        shift_range(&mut self.range, d);
        self.bases.shift(d);
        self.decorators.shift(d);
        self.attrs.shift(d);
        self.methods.shift(d);
    }
}

/// Python's `repr()` of a float.
fn py_float_repr(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    let a = v.abs();
    if a == 0.0 || (1e-4..1e16).contains(&a) {
        let s = format!("{v}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let s = format!("{v:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        format!(
            "{mantissa}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        )
    }
}

fn parse_int(t: &str) -> Option<i64> {
    let t = t.replace('_', "");
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return i64::from_str_radix(h, 16).ok();
    }
    t.parse().ok()
}

/// Resolves the escapes of a non-raw string literal. `None` when an escape could produce or
/// hide a brace (`\N{...}`), so format-string checks stay silent.
fn unescape(s: &str) -> Option<String> {
    if !s.contains('\\') {
        return Some(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some('\'') => out.push('\''),
            Some('"') => out.push('"'),
            Some('\n') => {}
            Some('N') | Some('x') | Some('u') | Some('U') | Some('0'..='7') => return None,
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(src: &str) -> FileSummary {
        let tree = crate::syntax::parse(src).unwrap();
        FileSummary::build(&tree, src)
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
