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
use super::super::resolve::{ClassRef, Ctx, Symbol};
use super::super::summary::{
    walk_exprs, walk_stmts, AssignTarget, BlockKind, CallExpr, Expr, FunctionSummary, Stmt,
};
use super::error;
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

/// A field of a plain Task model.
struct TaskField {
    name: String,
    required: bool,
    kind: FieldKind,
}

/// The annotations whose literal values the checker validates like pydantic (lax mode).
#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldKind {
    Str,
    Int,
    Float,
    List,
    Other,
}

fn field_kind(ctx: &Ctx, path: &Path, ann: &Expr) -> FieldKind {
    let builtin = |e: &Expr| match ctx.resolve_expr(path, e) {
        Symbol::External { module, name } if module == "builtins" || module == "typing" => {
            Some(name)
        }
        _ => None,
    };
    match ann {
        Expr::Name { .. } | Expr::Attribute { .. } => match builtin(ann).as_deref() {
            Some("str") => FieldKind::Str,
            Some("int") => FieldKind::Int,
            Some("float") => FieldKind::Float,
            Some("list" | "List") => FieldKind::List,
            _ => FieldKind::Other,
        },
        Expr::Subscript { value, .. } => match builtin(value).as_deref() {
            Some("list" | "List") => FieldKind::List,
            _ => FieldKind::Other,
        },
        _ => FieldKind::Other,
    }
}

/// pydantic's complaint about literal `v` for a field of kind `kind`, as
/// `(message, error type, input type)`, when it certainly rejects it.
fn literal_error(kind: FieldKind, v: &Expr) -> Option<(&'static str, &'static str, &'static str)> {
    // Only values whose repr the message can print exactly.
    if !exact_repr(v) {
        return None;
    }
    let input_type = match v {
        Expr::Str { .. } => "str",
        Expr::Int { .. } => "int",
        Expr::Bool { .. } => "bool",
        Expr::NoneLit { .. } => "NoneType",
        Expr::List { .. } => "list",
        Expr::Literal { repr, .. } if repr.starts_with('{') => "dict",
        Expr::Literal { repr, .. } if repr.parse::<f64>().is_ok() => "float",
        _ => return None,
    };
    let fractional = matches!(v, Expr::Literal { repr, .. } if repr.parse::<f64>().is_ok_and(|f| f.fract() != 0.0));
    match (kind, input_type) {
        (FieldKind::Str, "int" | "bool" | "NoneType" | "list" | "dict" | "float") => {
            Some(("Input should be a valid string", "string_type", input_type))
        }
        (FieldKind::Int, "NoneType" | "list" | "dict") => {
            Some(("Input should be a valid integer", "int_type", input_type))
        }
        (FieldKind::Int, "float") if fractional => Some((
            "Input should be a valid integer, got a number with a fractional part",
            "int_from_float",
            input_type,
        )),
        (FieldKind::Float, "NoneType" | "list" | "dict") => {
            Some(("Input should be a valid number", "float_type", input_type))
        }
        (FieldKind::List, "str" | "int" | "bool" | "NoneType" | "dict" | "float") => {
            Some(("Input should be a valid list", "list_type", input_type))
        }
        _ => None,
    }
}

/// Whether `consumed::render` prints `v` exactly as Python's `repr()`.
fn exact_repr(v: &Expr) -> bool {
    match v {
        Expr::Str { value, .. } => value
            .chars()
            .all(|c| (' '..='~').contains(&c) && c != '\'' && c != '\\'),
        Expr::Int { .. } | Expr::Bool { .. } | Expr::NoneLit { .. } | Expr::Literal { .. } => true,
        Expr::List { elts, .. } => elts.iter().all(exact_repr),
        _ => false,
    }
}

/// The fields of a plain Task model in definition order, or `None` when the class is not one
/// (see the module docs).
fn plain_task_fields(ctx: &mut Ctx, cls: &ClassRef) -> Option<Vec<TaskField>> {
    let ClassRef::User(home, _) = cls else {
        return None;
    };
    let mro = ctx.mro(cls);
    if !mro.complete || !ctx.derives_from_builtin(cls, "Task") {
        return None;
    }
    let mut fields: Vec<TaskField> = Vec::new();
    for k in mro.classes.iter().rev() {
        match k {
            ClassRef::Builtin(id) => {
                if builtins::class(*id).name != "Task" {
                    return None;
                }
            }
            ClassRef::User(p, _) => {
                if p != home {
                    return None;
                }
                let (_, cs) = ctx.user_class(k)?;
                if cs.dynamic_body
                    || cs.has_class_keywords
                    || !cs.decorators.is_empty()
                    || cs.attr("model_config").is_some()
                    || cs.methods.iter().any(|m| {
                        m.has_decorators()
                            || matches!(
                                m.name.as_str(),
                                "__init__" | "__new__" | "__getattr__" | "__getattribute__"
                            )
                    })
                {
                    return None;
                }
                for a in &cs.attrs {
                    let Some(ann) = &a.annotation else { continue };
                    if a.name.starts_with('_') || is_classvar(ann) {
                        continue;
                    }
                    if let Expr::Subscript { value, .. } = ann {
                        if value.dotted().and_then(|d| d.last().copied()) == Some("Annotated") {
                            return None;
                        }
                    }
                    let required = match &a.value {
                        None => true,
                        Some(Expr::Call(c)) if is_field_call(c) => {
                            if ["alias", "validation_alias", "alias_priority"]
                                .iter()
                                .any(|k| c.keyword(k).is_some())
                                || c.has_splat()
                            {
                                return None;
                            }
                            let default = c.keyword("default").is_some()
                                || c.keyword("default_factory").is_some()
                                || c.args.first().is_some_and(|d| {
                                    !matches!(d, Expr::Literal { repr, .. } if repr == "Ellipsis")
                                });
                            !default
                        }
                        Some(_) => false,
                    };
                    let kind = field_kind(ctx, p, ann);
                    match fields.iter_mut().find(|f| f.name == a.name.as_str()) {
                        Some(f) => {
                            f.required = required;
                            f.kind = kind;
                        }
                        None => fields.push(TaskField {
                            name: a.name.to_string(),
                            required,
                            kind,
                        }),
                    }
                }
            }
        }
    }
    Some(fields)
}

fn is_field_call(c: &CallExpr) -> bool {
    c.func.dotted().and_then(|d| d.last().copied()) == Some("Field")
}

fn is_classvar(ann: &Expr) -> bool {
    let root = match ann {
        Expr::Subscript { value, .. } => value,
        other => other,
    };
    root.dotted().and_then(|d| d.last().copied()) == Some("ClassVar")
        || matches!(ann, Expr::Str { value, .. } if value.starts_with("ClassVar"))
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
        let Some(root) = c.func.dotted().map(|d| d[0]) else {
            continue;
        };
        if bound.iter().any(|names| names.contains(root)) {
            continue;
        }
        if let Some(d) = task_call_diagnostic(ctx, path, c) {
            out.push(d);
        }
    }
}

/// Whether PlanAI (pydantic) certainly raises at this call of a plain Task model; the caller
/// has checked that the callee's name is not bound locally.
pub(crate) fn task_call_fails(ctx: &mut Ctx, path: &Path, c: &CallExpr) -> bool {
    task_call_diagnostic(ctx, path, c).is_some()
}

/// IN2/IN3/IN4 for a call of a plain Task model.
fn task_call_diagnostic(ctx: &mut Ctx, path: &Path, c: &CallExpr) -> Option<Diagnostic> {
    let cls = ctx.resolve_class(path, &c.func)?;
    if ctx.derives_from_builtin(&cls, "TaskWorker") {
        return None;
    }
    let fields = plain_task_fields(ctx, &cls)?;
    let name = ctx.class_name(&cls);
    let range = c.func.range();
    let positional = c
        .args
        .iter()
        .filter(|a| !matches!(a, Expr::Starred { .. }))
        .count();
    if positional > 0 && positional == c.args.len() {
        return Some(error(
            Code::In4,
            range,
            format!(
                "BaseModel.__init__() takes 1 positional argument but {} were given. Pass the fields as \
                 keywords, e.g. {name}({}=...).",
                positional + 1,
                fields.first().map(|f| f.name.as_str()).unwrap_or("field")
            ),
        ));
    }
    if c.has_splat() {
        return None;
    }
    // pydantic reports every failing field, in definition order, in one ValidationError.
    let mut missing: Vec<&str> = Vec::new();
    let mut wrong: Vec<(&str, TextRange)> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    for f in &fields {
        match c.keyword(&f.name) {
            None if f.required => {
                missing.push(&f.name);
                lines.push(format!("{}\n  Field required [type=missing]", f.name));
            }
            Some(k) => {
                if let Some((msg, ty, input)) = literal_error(f.kind, &k.value) {
                    wrong.push((&f.name, k.value.range()));
                    lines.push(format!(
                        "{}\n  {msg} [type={ty}, input_value={}, input_type={input}]",
                        f.name,
                        consumed::render(&k.value)
                    ));
                }
            }
            None => {}
        }
    }
    if lines.is_empty() {
        return None;
    }
    let n = lines.len();
    let head = format!(
        "{n} validation error{} for {name}\n{}",
        if n == 1 { "" } else { "s" },
        lines.join("\n")
    );
    let diagnostic = if !missing.is_empty() {
        error(
            Code::In2,
            range,
            format!(
                "{head}\nPass {} to {name}(...) or give {} a default in the class.",
                missing
                    .iter()
                    .map(|f| format!("{f}=..."))
                    .collect::<Vec<_>>()
                    .join(", "),
                if missing.len() == 1 { "it" } else { "them" },
            ),
        )
    } else {
        let fields: Vec<&str> = wrong.iter().map(|(f, _)| *f).collect();
        error(
            Code::In3,
            wrong[0].1,
            format!(
                "{head}\nPass values of the declared types for {} (see {name}'s annotations).",
                fields.join(", ")
            ),
        )
    };
    Some(diagnostic)
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
    if ctx.usage().used_as_base(&class.name) {
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
