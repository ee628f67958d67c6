//! Class-definition checks (pydantic's and CPython's, at `class` statement time): CD1, CD2,
//! CD3, CD4 and CD7, plus RT8 on an LLM worker's class body.

use std::path::Path;
use std::sync::Arc;

use super::super::builtins::{self, BASEMODEL_ATTRS};
use super::super::consumed;
use super::super::resolve::{ClassRef, Ctx, Symbol};
use super::super::summary::{BindingKind, ClassSummary, Expr, FileSummary};
use super::llm_output::rt8;
use super::{error, is_classvar, related, warning};
use crate::diagnostics::{Code, Diagnostic, Subject};

pub fn check(
    ctx: &mut Ctx,
    path: &Arc<Path>,
    model: Option<&super::ModelClass>,
    out: &mut Vec<Diagnostic>,
) {
    let (Some(model), Some(summary)) = (model, ctx.summary(path)) else {
        return;
    };
    let (class, cref) = (model.summary, &model.cref);
    if class.has_class_keywords {
        return;
    }
    check_attributes(ctx, path, class, cref, out);
    if model.is_worker {
        check_forward_annotations(ctx, path, summary, class, out);
        check_llm_output_type(ctx, path, class, cref, out);
    }
}

/// The direct bases of a class, resolved (all resolve: the MRO is complete).
fn direct_bases(ctx: &Ctx, path: &Path, class: &ClassSummary) -> Vec<ClassRef> {
    class
        .bases
        .iter()
        .filter_map(|b| ctx.resolve_class(path, b))
        .collect()
}

/// Whether `name` is a pydantic field of `c` or one of its bases.
fn is_field_of(ctx: &mut Ctx, c: &ClassRef, name: &str) -> bool {
    let mro = ctx.mro(c);
    mro.classes.iter().any(|k| match k {
        ClassRef::Builtin(id) => builtins::class(*id).fields.iter().any(|f| f.name == name),
        ClassRef::User(..) => ctx.user_class(k).is_some_and(|(_, cs)| {
            cs.attrs
                .iter()
                .any(|a| a.name == name && a.annotation.as_ref().is_some_and(|t| !is_classvar(t)))
        }),
    })
}

/// Whether `name` is a ClassVar or a non-field attribute (method, property) of `c`'s MRO.
fn is_attribute_of(ctx: &mut Ctx, c: &ClassRef, name: &str) -> bool {
    let mro = ctx.mro(c);
    let mut pydantic = false;
    for k in &mro.classes {
        match k {
            ClassRef::Builtin(id) => {
                let b = builtins::class(*id);
                pydantic |= b.pydantic;
                if b.attributes.contains(&name) {
                    return true;
                }
            }
            ClassRef::User(..) => {
                if let Some((_, cs)) = ctx.user_class(k) {
                    if cs.methods.iter().any(|m| m.name == name) {
                        return true;
                    }
                }
            }
        }
    }
    pydantic && BASEMODEL_ATTRS.contains(&name)
}

fn is_classvar_of(ctx: &mut Ctx, c: &ClassRef, name: &str) -> bool {
    let mro = ctx.mro(c);
    mro.classes.iter().any(|k| {
        ctx.user_class(k).is_some_and(|(_, cs)| {
            cs.attrs
                .iter()
                .any(|a| a.name == name && a.annotation.as_ref().is_some_and(is_classvar))
        })
    })
}

/// How pydantic would treat a non-annotated class-body value.
enum ValueKind {
    /// A plain value: pydantic raises (CD1/CD2).
    Data,
    /// `Field(...)`: CD3 unless it overrides a base field.
    FieldCall,
    /// Functions, descriptors, nested classes: ignored by pydantic.
    Ignored,
    /// Cannot tell.
    Unknown,
}

fn value_kind(ctx: &Ctx, path: &Path, class: &ClassSummary, v: &Expr) -> ValueKind {
    match v {
        Expr::Str { .. }
        | Expr::Int { .. }
        | Expr::NoneLit { .. }
        | Expr::Bool { .. }
        | Expr::Literal { .. }
        | Expr::List { .. }
        | Expr::Tuple { .. }
        | Expr::Comprehension { .. } => ValueKind::Data,
        Expr::Lambda { .. } => ValueKind::Ignored,
        Expr::Name { id, .. } if class.other_names.contains(id) => ValueKind::Ignored,
        Expr::Name { id, .. } if class.methods.iter().any(|m| m.name == *id) => ValueKind::Ignored,
        Expr::Name { .. } | Expr::Attribute { .. } => match ctx.resolve_expr(path, v) {
            Symbol::Class(_) => ValueKind::Data,
            _ => ValueKind::Unknown,
        },
        Expr::Call(c) => match ctx.resolve_expr(path, &c.func) {
            Symbol::External { module, name }
                if module.starts_with("pydantic") && name == "Field" =>
            {
                ValueKind::FieldCall
            }
            Symbol::External { module, name } => {
                let descriptor = module.starts_with("functools")
                    || matches!(
                        name.as_str(),
                        "property"
                            | "classmethod"
                            | "staticmethod"
                            | "cached_property"
                            | "PrivateAttr"
                            | "TypeAliasType"
                            | "computed_field"
                    );
                if descriptor {
                    ValueKind::Ignored
                } else {
                    ValueKind::Data
                }
            }
            Symbol::Class(_) => ValueKind::Data,
            _ => {
                if c.func.as_name() == Some("Field") {
                    ValueKind::FieldCall
                } else {
                    ValueKind::Unknown
                }
            }
        },
        _ => ValueKind::Unknown,
    }
}

fn check_attributes(
    ctx: &mut Ctx,
    path: &Arc<Path>,
    class: &ClassSummary,
    _cref: &ClassRef,
    out: &mut Vec<Diagnostic>,
) {
    let bases = direct_bases(ctx, path, class);
    for attr in &class.attrs {
        let name = attr.name.as_str();
        if name.starts_with('_') || name == "model_config" {
            continue;
        }
        if let Some(ann) = &attr.annotation {
            if is_classvar(ann) {
                continue;
            }
            // CD5: pydantic >= 2.10 protects the `model_dump` and `model_validate` prefixes
            // (older versions protect all of `model_`; the venv check knows the version).
            if let Some(ns) = ["model_dump", "model_validate"]
                .into_iter()
                .find(|ns| name.starts_with(ns))
            {
                out.push(warning(
                    Code::Cd5,
                    attr.name_range,
                    format!(
                        "Field '{name}' in '{}' conflicts with protected namespace '{ns}'. Rename the field \
                         (or set model_config['protected_namespaces'] = ()).",
                        class.name
                    ),
                )
                .about(Subject::field(class.name.as_str(), name)));
            }
            // CD4: pydantic names the first direct base that has the attribute.
            for b in &bases {
                if is_attribute_of(ctx, b, name) {
                    let parent = ctx.class_name(b);
                    out.push(warning(
                        Code::Cd4,
                        attr.name_range,
                        format!(
                            "Field name \"{name}\" in \"{}\" shadows an attribute in parent \"{parent}\". \
                             The parent's attribute wins when it is read (e.g. `{name}` stays the parent's \
                             {name}); rename the field.",
                            class.name
                        ),
                    )
                    .about(Subject::field(class.name.as_str(), name)));
                    break;
                }
            }
            continue;
        }
        let Some(value) = &attr.value else { continue };
        if bases.iter().any(|b| is_classvar_of(ctx, b, name)) {
            continue;
        }
        let kind = value_kind(ctx, path, class, value);
        if matches!(kind, ValueKind::Ignored | ValueKind::Unknown) {
            continue;
        }
        if bases.iter().any(|b| is_field_of(ctx, b, name)) {
            out.push(error(
                Code::Cd1,
                attr.name_range,
                format!(
                    "Field '{name}' defined on a base class was overridden by a non-annotated attribute. \
                     All field definitions, including overrides, require a type annotation. \
                     Add the annotation, e.g. `{name}: {} = ...`.",
                    suggested_annotation(name)
                ),
            )
            .about(Subject::field(class.name.as_str(), name)));
            continue;
        }
        match kind {
            ValueKind::FieldCall => out.push(error(
                Code::Cd3,
                attr.name_range,
                format!("Field '{name}' requires a type annotation. Annotate it, e.g. `{name}: str = Field(...)`."),
            )
            .about(Subject::field(class.name.as_str(), name))),
            _ => out.push(error(
                Code::Cd2,
                attr.name_range,
                format!(
                    "A non-annotated attribute was detected: `{name} = {}`. All model fields require a type \
                     annotation; if `{name}` is not meant to be a field, you may be able to resolve this error \
                     by annotating it as a `ClassVar` or updating `model_config['ignored_types']`.",
                    consumed::render(value)
                ),
            )
            .about(Subject::field(class.name.as_str(), name))),
        }
    }
}

fn suggested_annotation(name: &str) -> &'static str {
    match name {
        "output_types" => "List[Type[Task]]",
        "llm_input_type" | "llm_output_type" => "Type[Task]",
        "join_type" => "Type[TaskWorker]",
        "prompt" | "system_prompt" | "debug_dir" | "cache_dir" => "str",
        "debug_mode" | "use_xml" | "enable_trace" => "bool",
        "num_retries" => "int",
        _ => "<type>",
    }
}

/// CD7: a consume annotation naming a class defined later in the file (evaluated at `def`
/// time without `from __future__ import annotations`, Python <= 3.13).
fn check_forward_annotations(
    ctx: &Ctx,
    path: &Path,
    summary: &FileSummary,
    class: &ClassSummary,
    out: &mut Vec<Diagnostic>,
) {
    let Some(file) = ctx.file(path) else {
        return;
    };
    ctx.read_module_flags(file);
    if summary.future_annotations {
        return;
    }
    for m in &class.methods {
        if m.name != "consume_work" && m.name != "consume_work_joined" {
            continue;
        }
        for p in &m.params {
            let Some(ann) = &p.annotation else { continue };
            let mut names = Vec::new();
            annotation_names(ann, &mut names);
            for (name, range) in names {
                ctx.read_name(file, name);
                let Some(bindings) = summary.bindings.get(name) else {
                    continue;
                };
                let defined_before = bindings.iter().any(|b| b.start() < m.range.start());
                let later_class = bindings.iter().find_map(|b| match b.kind() {
                    BindingKind::Class(i)
                        if b.start() > class.range.end()
                            && !b.conditional
                            && !ctx.is_erroneous(file, super::super::summary::DefRef::Class(i)) =>
                    {
                        Some(i)
                    }
                    _ => None,
                });
                if defined_before {
                    continue;
                }
                if let Some(i) = later_class {
                    let later = &summary.classes[i];
                    out.push(
                        error(
                            Code::Cd7,
                            range,
                            format!(
                                "NameError: name '{name}' is not defined. The annotation is evaluated when \
                                 class {} is defined, before {name} exists (Python 3.13 and older); move \
                                 {name} above {} or add `from __future__ import annotations`.",
                                class.name, class.name
                            ),
                        )
                        .with_related(related(path, path, later.name_range, format!("{name} is defined here")))
                        .about(Subject::class(class.name.as_str())),
                    );
                }
            }
        }
    }
}

fn annotation_names<'a>(e: &'a Expr, out: &mut Vec<(&'a str, crate::diagnostics::TextRange)>) {
    match e {
        Expr::Name { id, range } => out.push((id, *range)),
        Expr::Attribute { .. } => {}
        Expr::Subscript { value, index, .. } => {
            annotation_names(value, out);
            for i in index {
                annotation_names(i, out);
            }
        }
        Expr::BitOr { left, right, .. } => {
            annotation_names(left, out);
            annotation_names(right, out);
        }
        Expr::Tuple { elts, .. } | Expr::List { elts, .. } => {
            for x in elts {
                annotation_names(x, out)
            }
        }
        _ => {}
    }
}

/// RT8 at the class: `llm_output_type` not in `output_types` with the default post_process.
fn check_llm_output_type(
    ctx: &mut Ctx,
    path: &Arc<Path>,
    class: &ClassSummary,
    cref: &ClassRef,
    out: &mut Vec<Diagnostic>,
) {
    if !ctx.derives_from_builtin(cref, "LLMTaskWorker") {
        return;
    }
    let Some(attr) = class.attr("llm_output_type") else {
        return;
    };
    if attr.annotation.is_none() {
        return;
    }
    if ctx.used_as_base(&class.name)
        || ctx.kwarg_used(&class.name, "output_types")
        || ctx.kwarg_used(&class.name, "llm_output_type")
    {
        return;
    }
    if let Some(diag) = rt8(ctx, path, cref, &class.name, attr.name_range, None) {
        out.push(diag);
    }
}
