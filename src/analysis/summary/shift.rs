//! Moving a summary's byte ranges when text before them changes length, so unchanged
//! definitions are reused in place instead of lowered again.

use super::*;
use crate::diagnostics::TextRange;

pub(super) fn shift_range(r: &mut TextRange, delta: isize) {
    *r = r.map(|offset| (offset as isize + delta).max(0) as usize);
}

/// Moves every byte range by `delta` (used when a definition is reused at a new offset).
pub(super) trait Shift {
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
