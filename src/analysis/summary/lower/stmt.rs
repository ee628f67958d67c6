//! Lowering statements: the statement kinds, assignments and their targets, and the
//! compound statements whose bodies may not run (`if`, loops, `try`, `with`, `match`).

use crate::syntax::fields::{Field, FieldChildren};
use tree_sitter::Node;

use super::*;

impl Builder<'_, '_> {
    pub(in crate::analysis::summary) fn stmt(
        &mut self,
        n: Node,
        scope: Scope,
        cond: bool,
        out: &mut Vec<Stmt>,
    ) {
        let module = scope == Scope::Module;
        match n.kind() {
            "expression_statement" => {
                for c in named_children(n) {
                    match c.kind() {
                        "assignment" => out.push(self.assignment(c, module, cond)),
                        "augmented_assignment" => {
                            let target = self.target(c.field(Field::Left));
                            if let Some(r) = c.field(Field::Right) {
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
                if let Some(def) = n.field(Field::Definition) {
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

    pub(super) fn assignment(&mut self, n: Node, module: bool, cond: bool) -> Stmt {
        // Chained `a = b = value`: collect all targets.
        let mut targets = Vec::new();
        let mut cur = n;
        let mut annotation = None;
        let value;
        loop {
            targets.push(self.target(cur.field(Field::Left)));
            if annotation.is_none() {
                annotation = cur.field(Field::Type).map(|t| Box::new(self.annotation(t)));
            }
            match cur.field(Field::Right) {
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
                let obj = n.field(Field::Object);
                let attr = n.field(Field::Attribute);
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

    /// `if_statement` (see `stmt`).
    fn if_statement(&mut self, n: Node, scope: Scope, cond: bool, out: &mut Vec<Stmt>) {
        let module = scope == Scope::Module;
        let mut header = Vec::new();
        let mut main_guard = false;
        if let Some(c) = n.field(Field::Condition) {
            let t = self.text(c);
            main_guard =
                module && t.contains("__name__") && t.contains("__main__") && !t.contains("!=");
            header.push(self.expr(c, 0));
        }
        let mut bodies = vec![self.body_of(n, Field::Consequence, scope, !main_guard || cond)];
        for alt in named_children(n) {
            match alt.kind() {
                "elif_clause" => {
                    if let Some(c) = alt.field(Field::Condition) {
                        header.push(self.expr(c, 0));
                    }
                    bodies.push(self.body_of(alt, Field::Consequence, scope, true));
                }
                "else_clause" => bodies.push(self.body_of(alt, Field::Body, scope, true)),
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
        if let Some(l) = n.field(Field::Left) {
            bound = self.names_in_target(l);
            if module {
                for b in &bound {
                    self.bind(b, BindingKind::Value, n.start_byte(), true);
                }
            }
        }
        for f in [Field::Right, Field::Condition] {
            if let Some(c) = n.field(f) {
                header.push(self.expr(c, 0));
            }
        }
        let mut bodies = vec![self.body_of(n, Field::Body, scope, true)];
        if let Some(alt) = n.field(Field::Alternative) {
            bodies.push(self.body_of(alt, Field::Body, scope, true));
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
        let mut bodies = vec![self.body_of(n, Field::Body, scope, cond)];
        let mut bound = Vec::new();
        for c in named_children(n) {
            match c.kind() {
                "except_clause" | "except_group_clause" => {
                    for e in named_children(c) {
                        if e.kind() == "as_pattern" {
                            if let Some(a) = e.field(Field::Alias) {
                                bound.push(Name::from(self.text(a)));
                            }
                        }
                    }
                    let block = named_children(c).into_iter().find(|x| x.kind() == "block");
                    let stmts = match block {
                        Some(b) => self.block_stmts(b, scope, true),
                        None => Box::default(),
                    };
                    bodies.push(Body {
                        stmts,
                        conditional: true,
                    });
                }
                "else_clause" => bodies.push(self.body_of(c, Field::Body, scope, true)),
                "finally_clause" => {
                    let block = named_children(c).into_iter().find(|x| x.kind() == "block");
                    let stmts = match block {
                        Some(b) => self.block_stmts(b, scope, cond),
                        None => Box::default(),
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
                if let Some(v) = item.field(Field::Value) {
                    if v.kind() == "as_pattern" {
                        if let Some(inner) = named_children(v).first() {
                            header.push(self.expr(*inner, 0));
                        }
                        if let Some(a) = v.field(Field::Alias) {
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
        let body = self.body_of(n, Field::Body, scope, cond);
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
        if let Some(s) = n.field(Field::Subject) {
            header.push(self.expr(s, 0));
        }
        let mut bodies = Vec::new();
        if let Some(b) = n.field(Field::Body) {
            for case in named_children(b) {
                if case.kind() == "case_clause" {
                    bodies.push(self.body_of(case, Field::Consequence, scope, true));
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
}
