//! Which Task class an expression builds, read without guessing: `infer_task_type` with the
//! local names of the method it is in (`LocalTypes`). Used by the publish checks (RT1) and by
//! the graph checks (what a worker publishes, for RT3/RT4).

use std::collections::HashMap;
use std::path::Path;

use super::consumed;
use super::resolve::{ClassRef, Ctx};
use super::summary::{walk_stmts, AssignTarget, Expr, FunctionSummary, Stmt};

/// What the local names of a method are bound to, when each is bound exactly once.
pub struct LocalTypes<'a> {
    single: HashMap<&'a str, Binding<'a>>,
}

enum Binding<'a> {
    Param(Option<&'a Expr>),
    Value(&'a Expr),
    Many,
}

impl<'a> LocalTypes<'a> {
    pub fn new(m: &'a FunctionSummary) -> Self {
        let mut single: HashMap<&'a str, Binding<'a>> = HashMap::new();
        let mut bind = |name: &'a str, b: Binding<'a>| {
            single
                .entry(name)
                .and_modify(|e| *e = Binding::Many)
                .or_insert(b);
        };
        for p in &m.params {
            bind(&p.name, Binding::Param(p.annotation.as_ref()));
        }
        walk_stmts(&m.body, &mut |s| match s {
            Stmt::Assign { targets, value, .. } => {
                for t in targets {
                    match t {
                        AssignTarget::Name(n, _) => match (targets.len(), value) {
                            (1, Some(v)) => bind(n, Binding::Value(v)),
                            _ => bind(n, Binding::Many),
                        },
                        AssignTarget::Other(ns) | AssignTarget::Tuple(ns) => {
                            for n in ns {
                                bind(n, Binding::Many)
                            }
                        }
                        AssignTarget::SelfAttr(..) => {}
                    }
                }
            }
            Stmt::AugAssign {
                target: AssignTarget::Name(n, _),
                ..
            } => bind(n, Binding::Many),
            Stmt::Block { bound, .. } | Stmt::Other { bound, .. } => {
                for n in bound {
                    bind(n, Binding::Many)
                }
            }
            Stmt::Import(bs) => {
                for b in bs {
                    bind(&b.local, Binding::Many)
                }
            }
            Stmt::LocalClass(n) => bind(n, Binding::Many),
            Stmt::LocalFunction(f) => bind(&f.name, Binding::Many),
            Stmt::Global(ns) => {
                for n in ns {
                    bind(n, Binding::Many);
                    bind(n, Binding::Many);
                }
            }
            _ => {}
        });
        // Walrus and comprehension targets are not modelled: a name that appears as a
        // keyword-free walrus is rare; comprehension variables do not leak in Python 3.
        LocalTypes { single }
    }

    pub fn is_local(&self, name: &str) -> bool {
        self.single.contains_key(name)
    }
}

/// The Task class an expression evaluates to, when inferable without guessing.
pub fn infer_task_type(
    ctx: &mut Ctx,
    path: &Path,
    locals: &LocalTypes,
    e: &Expr,
    depth: usize,
) -> Option<ClassRef> {
    if depth > 8 {
        return None;
    }
    match e {
        Expr::Call(c) => {
            if let Expr::Attribute { value, attr, .. } = &c.func {
                if attr == "copy_public" || attr == "model_copy" {
                    return infer_task_type(ctx, path, locals, value, depth + 1);
                }
            }
            let root = c.func.dotted_root()?;
            if locals.is_local(root) || root == "self" {
                return None;
            }
            let cls = ctx.resolve_class(path, &c.func)?;
            ctx.derives_from_builtin(&cls, "Task").then_some(cls)
        }
        Expr::Name { id, .. } => match locals.single.get(id.as_str())? {
            Binding::Param(Some(ann)) => match consumed::resolve_annotation(ctx, path, ann)? {
                consumed::TypeKey::Class(c) => ctx.derives_from_builtin(&c, "Task").then_some(c),
                consumed::TypeKey::Opaque(_) => None,
            },
            Binding::Value(v) => {
                let v: &Expr = v;
                infer_task_type(ctx, path, locals, v, depth + 1)
            }
            _ => None,
        },
        _ => None,
    }
}
