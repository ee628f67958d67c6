//! `publish_work` call sites inside worker methods: RT6 (missing `input_task`) and RT1 (the
//! published type is not in `output_types`, when the type is inferable).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::super::consumed::{self, class_attr_decl, OutputTypes};
use super::super::resolve::{ClassRef, Ctx};
use super::super::summary::{
    walk_exprs, walk_stmts, AssignTarget, CallExpr, Expr, FunctionSummary, Stmt,
};
use super::{error, related};
use crate::diagnostics::{Code, Diagnostic};

pub fn check(
    ctx: &mut Ctx,
    path: &Arc<Path>,
    unit: crate::analysis::incremental::Unit,
    out: &mut Vec<Diagnostic>,
) {
    let Some(summary) = ctx.summary(path) else {
        return;
    };
    for (i, class) in unit.classes(summary) {
        let cref = ClassRef::User(path.clone(), i);
        if !ctx.mro(&cref).complete || !ctx.derives_from_builtin(&cref, "TaskWorker") {
            continue;
        }
        let usage = ctx.usage();
        let class_may_vary =
            usage.used_as_base(&class.name) || usage.kwarg_used(&class.name, "output_types");
        let outputs = consumed::class_output_types(ctx, &cref);
        for m in &class.methods {
            let locals = LocalTypes::new(m);
            let mut calls: Vec<&CallExpr> = Vec::new();
            walk_exprs(&m.body, &mut |e| {
                e.for_each_call(&mut |c| {
                    if is_self_publish(c) {
                        calls.push(c)
                    }
                })
            });
            for c in calls {
                if !c.has_splat() && c.args.len() < 2 && c.keyword("input_task").is_none() {
                    out.push(error(
                        Code::Rt6,
                        c.range,
                        "TaskWorker.publish_work() missing 1 required positional argument: 'input_task'. \
                         Pass the task being processed as the second argument (or None to start a new root)."
                            .to_string(),
                    ));
                }
                if class_may_vary {
                    continue;
                }
                let OutputTypes::Known(outs) = &outputs else {
                    continue;
                };
                let Some(arg) = c.arg(0, "task") else {
                    continue;
                };
                let Some(t) = infer_task_type(ctx, path, &locals, arg, 0) else {
                    continue;
                };
                if outs.contains(&t) {
                    continue;
                }
                let tn = ctx.class_name(&t);
                let mut d = error(
                    Code::Rt1,
                    arg.range(),
                    format!(
                        "Task {} cannot publish work of type {tn}. Add {tn} to {}'s output_types, or publish one of its output types.",
                        class.name, class.name
                    ),
                );
                if let Some((p, decl)) = class_attr_decl(ctx, &cref, "output_types") {
                    d = d.with_related(related(
                        path,
                        &p,
                        decl.name_range,
                        "output_types is declared here",
                    ));
                }
                out.push(d);
            }
        }
    }
}

fn is_self_publish(c: &CallExpr) -> bool {
    matches!(&c.func, Expr::Attribute { value, attr, .. }
        if attr == "publish_work" && value.as_name() == Some("self"))
}

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
            let root = c.func.dotted()?;
            if locals.is_local(root[0]) || root[0] == "self" {
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
