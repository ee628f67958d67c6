//! Task models used by user code, decided from the class table alone:
//! * IN2 / IN3 / IN4 on a Task constructor call (IN3: a keyword literal of a type pydantic
//!   rejects for a `str`/`int`/`float`/`List` field) (`PlanRequest(query_text=...)` without the required
//!   `query`, positional arguments), wherever the call is: pydantic raises `ValidationError` /
//!   `TypeError` there (at import, in `main()`, or logged from a worker thread);
//! * RT18 on `task.<attr>` in `consume_work` when the Task the worker receives has no such
//!   attribute: `AttributeError`, logged by PlanAI from the worker thread.
//!
//! Only plain models are checked: every user class of the Task's MRO in the Task's own file,
//! PlanAI's `Task` the only builtin base, no `model_config`, no custom `__init__`/`__new__`/
//! `__getattr__`, no decorated methods (validators may fill or rename fields), no aliases, and
//! a class body we fully model. Calls with splats are skipped; so are names bound locally.

use std::path::Path;
use std::sync::Arc;

use super::super::builtins::{self, BASEMODEL_ATTRS};
use super::super::consumed::{self, ConsumedTypes, TypeKey};
use super::super::incremental::Unit;
use super::super::resolve::{ClassRef, Ctx};
use super::super::summary::{
    walk_exprs, walk_stmts, AssignTarget, BlockKind, CallExpr, Expr, FunctionSummary, Stmt,
};
use super::error;
use super::task_calls::{plain_task_fields, task_call_diagnostic};
use crate::diagnostics::{Code, Diagnostic, TextRange};

pub fn check(ctx: &mut Ctx, path: &Arc<Path>, unit: Unit, out: &mut Vec<Diagnostic>) {
    let Some(summary) = ctx.summary(path) else {
        return;
    };
    match unit {
        Unit::Module => constructor_calls(ctx, path, &summary.body, &[], out),
        Unit::Function(i) => {
            if let Some(f) = summary.functions.get(i) {
                function_calls(ctx, path, f, &mut Vec::new(), out);
            }
        }
        Unit::Class(i) => {
            if let Some(c) = summary.classes.get(i) {
                for m in &c.methods {
                    function_calls(ctx, path, m, &mut Vec::new(), out);
                }
                attribute_reads(ctx, path, i, out);
            }
        }
    }
}

/// Every Task constructor call of a function (and the functions nested in it). `outer` holds
/// the functions enclosing `f`, whose local names also shadow module names.
fn function_calls<'a>(
    ctx: &mut Ctx,
    path: &Path,
    f: &'a FunctionSummary,
    outer: &mut Vec<&'a FunctionSummary>,
    out: &mut Vec<Diagnostic>,
) {
    outer.push(f);
    constructor_calls(ctx, path, &f.body, outer, out);
    let mut nested = Vec::new();
    walk_stmts(&f.body, &mut |s| {
        if let Stmt::LocalFunction(inner) = s {
            nested.push(&**inner);
        }
    });
    for inner in nested {
        function_calls(ctx, path, inner, outer, out);
    }
    outer.pop();
}

fn constructor_calls(
    ctx: &mut Ctx,
    path: &Path,
    body: &[Stmt],
    scopes: &[&FunctionSummary],
    out: &mut Vec<Diagnostic>,
) {
    let mut calls: Vec<&CallExpr> = Vec::new();
    walk_exprs(body, &mut |e| e.for_each_call(&mut |c| calls.push(c)));
    if calls.is_empty() {
        return;
    }
    // Once per scope, not per call: a graph builder makes a call on most of its lines.
    let bound: Vec<_> = scopes
        .iter()
        .map(|f| super::super::function_bound_names(f))
        .collect();
    for c in calls {
        let Some(root) = c.func.dotted_root() else {
            continue;
        };
        if bound.iter().any(|names| names.contains(root)) {
            continue;
        }
        // Resolved once for both checks: a graph builder makes a call on most of its lines.
        let Some(cls) = ctx.resolve_class(path, &c.func) else {
            continue;
        };
        if let Some(d) = task_call_diagnostic(ctx, c, &cls) {
            out.push(d);
        }
        super::unknown_keywords::check_call(ctx, c, &cls, out);
    }
}

/// RT18: `task.<attr>` reads in the `consume_work` of worker class `index` of `path`.
fn attribute_reads(ctx: &mut Ctx, path: &Arc<Path>, index: usize, out: &mut Vec<Diagnostic>) {
    let cref = ClassRef::User(path.clone(), index);
    if !ctx.mro(&cref).complete || !ctx.derives_from_builtin(&cref, "TaskWorker") {
        return;
    }
    let Some((_, class)) = ctx.user_class(&cref) else {
        return;
    };
    let Some(m) = class.method("consume_work") else {
        return;
    };
    // A subclass may receive other tasks through this method (e.g. with its own llm_input_type).
    if ctx.used_as_base(&class.name) {
        return;
    }
    if m.has_decorators() {
        return;
    }
    let Some(param) = m.bound_params().first().filter(|p| p.name == "task") else {
        return;
    };
    let Some(ann) = &param.annotation else { return };
    let Some(task_class) = ctx.resolve_class(path, ann) else {
        return;
    };
    // The worker receives exactly this class (PlanAI routes by class identity).
    match consumed::class_consumed_types(ctx, &cref) {
        ConsumedTypes::Known(v) if v == [TypeKey::Class(task_class.clone())] => {}
        _ => return,
    }
    if plain_task_fields(ctx, &task_class).is_none() || rebinds_task(m) || inspects_types(m) {
        return;
    }
    let known = known_attributes(ctx, &task_class);
    let fields = plain_task_fields(ctx, &task_class).unwrap_or_default();
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    let tn = ctx.class_name(&task_class);
    let mut reads = Vec::new();
    reads_of_task(&m.body, &mut reads);
    for (attr, range) in reads {
        if attr.starts_with('_') || attr.starts_with("model_") || known.iter().any(|k| k == attr) {
            continue;
        }
        out.push(error(
            Code::Rt18,
            range,
            format!(
                "'{tn}' object has no attribute '{attr}'. {tn} has the fields [{}]; PlanAI logs this \
                 AttributeError in the worker thread and the task fails.",
                names.join(", ")
            ),
        ));
    }
}

/// Every attribute a plain Task instance has: fields and class attributes, methods and nested
/// names of its classes, and Task's and BaseModel's own members.
fn known_attributes(ctx: &mut Ctx, cls: &ClassRef) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mro = ctx.mro(cls);
    for k in &mro.classes {
        match k {
            ClassRef::Builtin(id) => {
                let b = builtins::class(*id);
                out.extend(b.attributes.iter().map(|a| a.to_string()));
                out.extend(b.fields.iter().map(|f| f.name.to_string()));
            }
            ClassRef::User(..) => {
                if let Some((_, cs)) = ctx.user_class(k) {
                    out.extend(cs.attrs.iter().map(|a| a.name.to_string()));
                    out.extend(cs.methods.iter().map(|m| m.name.to_string()));
                    out.extend(cs.other_names.iter().map(|n| n.to_string()));
                }
            }
        }
    }
    out.extend(BASEMODEL_ATTRS.iter().map(|a| a.to_string()));
    out
}

/// Whether the method binds `task` again (then later reads may see another object).
fn rebinds_task(m: &FunctionSummary) -> bool {
    let mut found = false;
    walk_stmts(&m.body, &mut |s| match s {
        Stmt::Assign { targets, .. } => {
            for t in targets.iter() {
                match t {
                    AssignTarget::Name(n, _) => found |= n == "task",
                    AssignTarget::Tuple(ns) | AssignTarget::Other(ns) => {
                        found |= ns.iter().any(|n| n == "task")
                    }
                    AssignTarget::SelfAttr(..) => {}
                }
            }
        }
        Stmt::AugAssign {
            target: AssignTarget::Name(n, _),
            ..
        } => found |= n == "task",
        Stmt::Block { bound, .. } | Stmt::Other { bound, .. } => {
            found |= bound.iter().any(|n| n == "task")
        }
        Stmt::Import(bs) => found |= bs.iter().any(|b| b.local == "task"),
        Stmt::LocalClass(n) => found |= n == "task",
        Stmt::LocalFunction(f) => found |= f.name == "task",
        Stmt::Global(ns) => found |= ns.iter().any(|n| n == "task"),
        _ => {}
    });
    found
}

/// `hasattr`, `getattr`, `isinstance`, `type` calls: the method inspects objects at run time,
/// so an attribute read may be guarded.
fn inspects_types(m: &FunctionSummary) -> bool {
    let mut found = false;
    walk_exprs(&m.body, &mut |e| {
        e.for_each_call(&mut |c| {
            if matches!(
                c.func.as_name(),
                Some("hasattr" | "getattr" | "isinstance" | "type" | "vars")
            ) {
                found = true;
            }
        })
    });
    found
}

/// `task.<attr>` reads outside `try` blocks and comprehensions (whose variables may shadow
/// `task`).
fn reads_of_task<'a>(stmts: &'a [Stmt], out: &mut Vec<(&'a str, TextRange)>) {
    for s in stmts {
        match s {
            Stmt::Block {
                kind: BlockKind::Try,
                ..
            } => {}
            Stmt::Block { header, bodies, .. } => {
                for h in header {
                    task_attrs(h, out);
                }
                for b in bodies {
                    reads_of_task(&b.stmts, out);
                }
            }
            _ => walk_exprs(std::slice::from_ref(s), &mut |e| task_attrs(e, out)),
        }
    }
}

fn task_attrs<'a>(e: &'a Expr, out: &mut Vec<(&'a str, TextRange)>) {
    match e {
        Expr::Attribute { value, attr, .. } => {
            if value.as_name() == Some("task") {
                if let Some(range) = e.attr_range() {
                    out.push((attr, range));
                }
            } else {
                task_attrs(value, out);
            }
        }
        Expr::Call(c) => {
            task_attrs(&c.func, out);
            c.args.iter().for_each(|a| task_attrs(a, out));
            c.keywords.iter().for_each(|k| task_attrs(&k.value, out));
        }
        Expr::List { elts, .. } | Expr::Tuple { elts, .. } => {
            elts.iter().for_each(|x| task_attrs(x, out))
        }
        Expr::Subscript { value, index, .. } => {
            task_attrs(value, out);
            index.iter().for_each(|x| task_attrs(x, out));
        }
        Expr::BitOr { left, right, .. } => {
            task_attrs(left, out);
            task_attrs(right, out);
        }
        Expr::Starred { value, .. } => task_attrs(value, out),
        Expr::Other { children, .. } => children.iter().for_each(|x| task_attrs(x, out)),
        // Comprehension variables may shadow `task`; lambdas are not summarised.
        _ => {}
    }
}
