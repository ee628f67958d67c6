//! IN2 / IN3 / IN4 on a call of a plain Task model (see `tasks` for what "plain" means):
//! missing required fields, keyword literals of a type pydantic rejects, positional
//! arguments. Applied by the Task check wherever such a call is (`tasks`) and by the graph
//! interpreter, for which a failing call ends the flow.

use std::path::Path;

use super::super::builtins;
use super::super::consumed;
use super::super::resolve::{ClassRef, Ctx, Symbol};
use super::super::summary::{CallExpr, ClassSummary, Expr};
use super::{error, is_classvar};
use crate::diagnostics::{Code, Diagnostic, Subject, TextRange};

/// A field of a plain Task model.
pub(super) struct TaskField {
    pub(super) name: String,
    pub(super) required: bool,
    pub(super) kind: FieldKind,
}

/// The annotations whose literal values the checker validates like pydantic (lax mode).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum FieldKind {
    Str,
    Int,
    Float,
    List,
    Other,
}

pub(super) fn field_kind(ctx: &Ctx, path: &Path, ann: &Expr) -> FieldKind {
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
pub(super) fn literal_error(
    kind: FieldKind,
    v: &Expr,
) -> Option<(&'static str, &'static str, &'static str)> {
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
pub(super) fn exact_repr(v: &Expr) -> bool {
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
pub(super) fn plain_task_fields(ctx: &mut Ctx, cls: &ClassRef) -> Option<Vec<TaskField>> {
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
                if !plain_model_body(cs) {
                    return None;
                }
                for a in &cs.attrs {
                    let Some(ann) = &a.annotation else { continue };
                    if a.name.starts_with('_') || is_classvar(ann) {
                        continue;
                    }
                    let required = field_required(ann, a.value.as_ref())?;
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

/// Whether pydantic builds the constructor of a class with this body from its annotations
/// alone: a body we fully model, no class keywords or decorators, no `model_config` (extra
/// could be "allow"/"forbid"), no custom `__init__`/`__new__`/attribute hooks, and no decorated
/// methods (a validator may fill, rename or read any key).
pub(super) fn plain_model_body(class: &ClassSummary) -> bool {
    !(class.dynamic_body
        || class.has_class_keywords
        || !class.decorators.is_empty()
        || class.attr("model_config").is_some()
        || class.methods.iter().any(|m| {
            m.has_decorators()
                || matches!(
                    m.name.as_str(),
                    "__init__" | "__new__" | "__getattr__" | "__getattribute__" | "__setattr__"
                )
        }))
}

/// Whether a class-body field `name: ann = value` is required (has no default); `None` when
/// its constructor keyword may be another name (`Annotated[...]`, `Field(alias=...)` or a
/// `Field(**...)` splat), which the callers then cannot judge.
pub(super) fn field_required(ann: &Expr, value: Option<&Expr>) -> Option<bool> {
    if let Expr::Subscript { value, .. } = ann {
        if value.dotted_last() == Some("Annotated") {
            return None;
        }
    }
    match value {
        None => Some(true),
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
                || c.args.first().is_some_and(
                    |d| !matches!(d, Expr::Literal { repr, .. } if repr == "Ellipsis"),
                );
            Some(!default)
        }
        Some(_) => Some(false),
    }
}

pub(super) fn is_field_call(c: &CallExpr) -> bool {
    c.func.dotted_last() == Some("Field")
}

/// Whether PlanAI (pydantic) certainly raises at this call of a plain Task model; the caller
/// has checked that the callee's name is not bound locally.
pub(super) fn task_call_fails(ctx: &mut Ctx, path: &Path, c: &CallExpr) -> bool {
    ctx.resolve_class(path, &c.func)
        .is_some_and(|cls| task_call_diagnostic(ctx, c, &cls).is_some())
}

/// IN2/IN3/IN4 for a call `c` of class `cls`, when that is a plain Task model.
pub(super) fn task_call_diagnostic(
    ctx: &mut Ctx,
    c: &CallExpr,
    cls: &ClassRef,
) -> Option<Diagnostic> {
    if super::class_kind(ctx, cls).worker {
        return None;
    }
    let fields = plain_task_fields(ctx, cls)?;
    let name = ctx.class_name(cls);
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
        )
        .about(Subject::class("BaseModel")));
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
    // pydantic lists the fields in definition order: the first missing one, or else the first
    // wrong one, names the problem as the venv's ValidationError does.
    let first = missing.first().copied().unwrap_or_else(|| wrong[0].0);
    Some(diagnostic.about(Subject::field(name, first)))
}
