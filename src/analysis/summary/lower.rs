//! Lowering a tree-sitter tree to a `FileSummary`: statements and expressions of every
//! scope, bindings, imports, and the reuse of unchanged definitions of the previous summary.

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
    /// Every module-level binding in source order, folded into `Fingerprints::scope`.
    pub(super) scope_events: crate::analysis::FxHasher,
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

    pub(super) fn stmt(&mut self, n: Node, scope: Scope, cond: bool, out: &mut Vec<Stmt>) {
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
            "if_statement" => self.if_statement(n, scope, cond, out),
            "for_statement" | "while_statement" => self.for_statement(n, scope, cond, out),
            "try_statement" => self.try_statement(n, scope, cond, out),
            "with_statement" => self.with_statement(n, scope, cond, out),
            "match_statement" => self.match_statement(n, scope, cond, out),
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

    pub(super) fn definition(
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

    pub(super) fn class(&mut self, n: Node, decorators: Vec<Expr>) -> ClassSummary {
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

    pub(super) fn class_assignment(&mut self, n: Node, class: &mut ClassSummary) {
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

    pub(super) fn annotation(&mut self, t: Node) -> Expr {
        // `type` nodes wrap the expression.
        match named_children(t).first() {
            Some(inner) if t.kind() == "type" => self.expr(*inner, 0),
            _ => self.expr(t, 0),
        }
    }

    pub(super) fn function(&mut self, n: Node, decorators: Vec<Expr>) -> FunctionSummary {
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

    pub(super) fn assignment(&mut self, n: Node, module: bool, cond: bool) -> Stmt {
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

    pub(super) fn target(&mut self, n: Option<Node>) -> AssignTarget {
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

    pub(super) fn names_in_target(&self, n: Node) -> Vec<Name> {
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

    pub(super) fn import_bindings(&mut self, n: Node) -> Vec<ImportBinding> {
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

    pub(super) fn import(&mut self, n: Node, module: bool, cond: bool) -> Vec<ImportBinding> {
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

    pub(super) fn string_value(&self, n: Node) -> Option<String> {
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

    pub(super) fn expr(&mut self, n: Node, depth: usize) -> Expr {
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
            "attribute" => self.attribute_expr(n, d, range),
            "call" => self.call_expr(n, d, range),
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
            "unary_operator" => self.unary_operator_expr(n, d, range),
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
            "subscript" => self.subscript_expr(n, d, range),
            "binary_operator" => self.binary_operator_expr(n, d, range),
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
            "generic_type" => self.generic_type_expr(n, d, range),
            "union_type" => self.union_type_expr(n, d, range),
            "member_type" => self.member_type_expr(n, d, range),
            _ => Expr::Other {
                range,
                children: self.other_children(n, d),
            },
        }
    }

    /// `if_statement` (see `stmt`).
    fn if_statement(&mut self, n: Node, scope: Scope, cond: bool, out: &mut Vec<Stmt>) {
        let module = scope == Scope::Module;
        let mut header = Vec::new();
        let mut main_guard = false;
        if let Some(c) = n.child_by_field_name("condition") {
            let t = self.text(c);
            main_guard =
                module && t.contains("__name__") && t.contains("__main__") && !t.contains("!=");
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

    /// `for_statement | while_statement` (see `stmt`).
    fn for_statement(&mut self, n: Node, scope: Scope, _cond: bool, out: &mut Vec<Stmt>) {
        let module = scope == Scope::Module;
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

    /// `try_statement` (see `stmt`).
    fn try_statement(&mut self, n: Node, scope: Scope, cond: bool, out: &mut Vec<Stmt>) {
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

    /// `with_statement` (see `stmt`).
    fn with_statement(&mut self, n: Node, scope: Scope, cond: bool, out: &mut Vec<Stmt>) {
        let module = scope == Scope::Module;
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

    /// `match_statement` (see `stmt`).
    fn match_statement(&mut self, n: Node, scope: Scope, _cond: bool, out: &mut Vec<Stmt>) {
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

    /// `call` (see `expr`).
    fn call_expr(&mut self, n: Node, d: usize, range: TextRange) -> Expr {
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

    /// `unary_operator` (see `expr`).
    fn unary_operator_expr(&mut self, n: Node, d: usize, range: TextRange) -> Expr {
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

    /// `attribute` (see `expr`).
    fn attribute_expr(&mut self, n: Node, d: usize, range: TextRange) -> Expr {
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

    /// `subscript` (see `expr`).
    fn subscript_expr(&mut self, n: Node, d: usize, range: TextRange) -> Expr {
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

    /// `binary_operator` (see `expr`).
    fn binary_operator_expr(&mut self, n: Node, d: usize, range: TextRange) -> Expr {
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

    /// `generic_type` (see `expr`).
    fn generic_type_expr(&mut self, n: Node, d: usize, range: TextRange) -> Expr {
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

    /// `union_type` (see `expr`).
    fn union_type_expr(&mut self, n: Node, d: usize, range: TextRange) -> Expr {
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

    /// `member_type` (see `expr`).
    fn member_type_expr(&mut self, n: Node, d: usize, range: TextRange) -> Expr {
        let kids = named_children(n);
        match (kids.first(), kids.last()) {
            (Some(o), Some(a)) if kids.len() == 2 && a.kind() == "identifier" => Expr::Attribute {
                value: Box::new(self.expr(*o, d)),
                attr: Name::from(self.text(*a)),
                range,
            },
            _ => Expr::Other {
                range,
                children: Vec::new(),
            },
        }
    }

    /// Python's `repr()` of a literal, when it is certain: numbers, simple strings and bytes
    /// (printable ASCII without quotes or backslashes), `True`/`False`/`None`, `...`, and
    /// lists, tuples and dicts of those. Sets are left out (their order depends on hashing).
    pub(super) fn literal_repr(&self, n: Node, depth: usize) -> Option<String> {
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
    pub(super) fn other_children(&mut self, n: Node, depth: usize) -> Vec<Expr> {
        keep_other_children(self.children_exprs(n, depth))
    }

    pub(super) fn children_exprs(&mut self, n: Node, depth: usize) -> Vec<Expr> {
        named_children(n)
            .into_iter()
            .map(|c| self.expr(c, depth))
            .collect()
    }
}

/// The children kept in `Expr::Other` (see [`Builder::other_children`]).
pub(super) fn keep_other_children(mut children: Vec<Expr>) -> Vec<Expr> {
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

/// Python's `repr()` of a float.
pub(super) fn py_float_repr(v: f64) -> String {
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

pub(super) fn parse_int(t: &str) -> Option<i64> {
    let t = t.replace('_', "");
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return i64::from_str_radix(h, 16).ok();
    }
    t.parse().ok()
}

/// Resolves the escapes of a non-raw string literal. `None` when an escape could produce or
/// hide a brace (`\N{...}`), so format-string checks stay silent.
pub(super) fn unescape(s: &str) -> Option<String> {
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
