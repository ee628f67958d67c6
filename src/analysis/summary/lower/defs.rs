//! Lowering class and function definitions: their decorators, bases, attributes, methods,
//! parameters and bodies.

use crate::syntax::fields::{Field, FieldChildren};
use std::sync::Arc;

use tree_sitter::Node;

use super::*;

impl Builder<'_, '_> {
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
                    .field(Field::Name)
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
        let name_node = n.field(Field::Name);
        let mut parts = ClassParts::default();
        let mut bases = Vec::new();
        if let Some(args) = n.field(Field::Superclasses) {
            for a in named_children(args) {
                match a.kind() {
                    "keyword_argument" | "dictionary_splat" => parts.has_class_keywords = true,
                    _ => bases.push(self.expr(a, 0)),
                }
            }
        }
        if let Some(body) = n.field(Field::Body) {
            self.class_body(body, &mut parts);
        }
        ClassSummary {
            name: name_node
                .map(|x| Name::from(self.text(x)))
                .unwrap_or_default(),
            name_range: name_node.map(range_of).unwrap_or_default(),
            range: range_of(n),
            bases: bases.into_boxed_slice(),
            has_class_keywords: parts.has_class_keywords,
            decorators: decorators.into_boxed_slice(),
            attrs: parts.attrs.into_boxed_slice(),
            methods: parts.methods.into_boxed_slice(),
            other_names: parts.other_names.into_boxed_slice(),
            dynamic_body: parts.dynamic_body,
        }
    }

    fn class_body(&mut self, body: Node, class: &mut ClassParts) {
        for s in named_children(body) {
            let (s, decorators) = if s.kind() == "decorated_definition" {
                let decorators: Vec<Expr> = named_children(s)
                    .into_iter()
                    .filter(|c| c.kind() == "decorator")
                    .filter_map(|d| named_children(d).first().map(|e| self.expr(*e, 0)))
                    .collect();
                match s.field(Field::Definition) {
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
                    if let Some(nm) = s.field(Field::Name) {
                        class.other_names.push(Name::from(self.text(nm)));
                    }
                }
                "expression_statement" => {
                    for c in named_children(s) {
                        if c.kind() == "assignment" {
                            self.class_assignment(c, class);
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
    }

    fn class_assignment(&mut self, n: Node, class: &mut ClassParts) {
        let left = n.field(Field::Left);
        let right = n.field(Field::Right);
        let ty = n.field(Field::Type);
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
        let name_node = n.field(Field::Name);
        let mut params = Vec::new();
        if let Some(ps) = n.field(Field::Parameters) {
            let mut kw_only = false;
            for p in named_children(ps) {
                let (kind_node, annotation, has_default) = match p.kind() {
                    "identifier" => (p, None, false),
                    "typed_parameter" => {
                        let inner = named_children(p).first().copied().unwrap_or(p);
                        (inner, p.field(Field::Type), false)
                    }
                    "default_parameter" => (p.field(Field::Name).unwrap_or(p), None, true),
                    "typed_default_parameter" => (
                        p.field(Field::Name).unwrap_or(p),
                        p.field(Field::Type),
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
        let body = match n.field(Field::Body) {
            Some(b) => self.block_stmts(b, Scope::Function, false),
            None => Box::default(),
        };
        FunctionSummary {
            name: name_node
                .map(|x| Name::from(self.text(x)))
                .unwrap_or_default(),
            name_range: name_node.map(range_of).unwrap_or_default(),
            range: range_of(n),
            params: params.into_boxed_slice(),
            decorators: decorators.into_boxed_slice(),
            body,
        }
    }
}

/// A class body's parts while it is lowered; they are stored as boxed slices once complete.
#[derive(Default)]
struct ClassParts {
    has_class_keywords: bool,
    attrs: Vec<ClassAttr>,
    methods: Vec<FunctionSummary>,
    other_names: Vec<Name>,
    dynamic_body: bool,
}
