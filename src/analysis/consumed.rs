//! Consumed and output types, computed the way PlanAI computes them at graph-building time
//! (`docs/planai-model.md`): exact class identity, `llm_input_type` first, the `task` parameter
//! name, `List[X]` for joined workers, `merged_types` for merged workers.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use super::builtins::{self, BuiltinDefault, ConsumedRule};
use super::resolve::{ClassRef, Ctx, Symbol};
use super::summary::{walk_exprs, CallExpr, ClassAttr, Expr, FunctionSummary, ParamKind};
use crate::diagnostics::{Code, TextRange};

/// One element of a consumed-type set.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TypeKey {
    Class(ClassRef),
    /// A typing construct (`Optional[X]`, `A | B`, `List[X]`): never equal to a Task class.
    Opaque(String),
}

impl TypeKey {
    pub fn display(&self, ctx: &Ctx) -> String {
        match self {
            TypeKey::Class(c) => ctx.class_name(c),
            TypeKey::Opaque(s) => s.clone(),
        }
    }
}

/// Why PlanAI would fail to compute the consumed type (GC5/GC6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedError {
    pub code: Code,
    pub message: String,
    /// The offending method (file and name range) for related information.
    pub path: Arc<Path>,
    pub range: TextRange,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumedTypes {
    Known(Vec<TypeKey>),
    Error(ConsumedError),
    Unknown,
}

impl ConsumedTypes {
    pub fn known(&self) -> Option<&[TypeKey]> {
        match self {
            ConsumedTypes::Known(v) => Some(v),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OutputTypes {
    Known(Vec<ClassRef>),
    Unknown,
}

pub use super::resolve::FieldValue;

/// A worker instantiation: the class and, when known, the call that built it.
#[derive(Clone, Copy)]
pub struct InstanceSpec<'a> {
    pub class: &'a ClassRef,
    /// The call and the file it is in.
    pub call: Option<(&'a Path, &'a CallExpr)>,
}

/// Fields assigned dynamically (`self.x = ...` in a method, validators, `__init__` that passes
/// keywords to `super().__init__`) anywhere along the MRO; `"*"` means "all of them".
pub fn dynamic_fields(ctx: &mut Ctx, class: &ClassRef) -> Arc<HashSet<String>> {
    if let Some(d) = ctx.dynamic_cache.get(class) {
        return d.clone();
    }
    let d = Arc::new(compute_dynamic_fields(ctx, class));
    ctx.dynamic_cache.insert(class.clone(), d.clone());
    d
}

fn compute_dynamic_fields(ctx: &mut Ctx, class: &ClassRef) -> HashSet<String> {
    let mut out = HashSet::new();
    let mro = ctx.mro(class);
    for c in &mro.classes {
        let Some((_, cs)) = ctx.user_class(c) else {
            continue;
        };
        for m in &cs.methods {
            out.extend(m.self_assigned_attrs());
            if m.decorators.iter().any(|d| {
                let root = match d {
                    Expr::Call(c) => &c.func,
                    other => other,
                };
                root.dotted_last()
                    .map(|s| s.contains("validator"))
                    .unwrap_or(true)
            }) {
                out.insert("*".to_string());
            }
            if (m.name == "__init__" || m.name == "model_post_init") && super_init_with_keywords(m)
            {
                out.insert("*".to_string());
            }
        }
    }
    out
}

fn super_init_with_keywords(m: &FunctionSummary) -> bool {
    let mut found = false;
    walk_exprs(&m.body, &mut |e| {
        e.for_each_call(&mut |c| {
            if let Expr::Attribute { attr, .. } = &c.func {
                if attr == "__init__" && c.keywords.iter().any(|k| k.name.is_some()) {
                    found = true;
                }
            }
        })
    });
    found
}

/// The declaration of field `name` as pydantic resolves it: the class's own annotation, else
/// the left-most direct base that has the field (pydantic merges the bases' `model_fields` in
/// reverse order, so the left-most wins; this differs from the MRO in diamonds).
pub fn class_field(ctx: &mut Ctx, class: &ClassRef, name: &str) -> FieldValue {
    if let Some(v) = ctx.field_cache.get(class).and_then(|m| m.get(name)) {
        return v.clone();
    }
    let v = field_lookup(ctx, class, name, 0).unwrap_or(FieldValue::Unknown);
    ctx.field_cache
        .entry(class.clone())
        .or_default()
        .insert(name.to_string(), v.clone());
    v
}

fn field_lookup(ctx: &mut Ctx, class: &ClassRef, name: &str, depth: usize) -> Option<FieldValue> {
    if depth > 32 {
        return Some(FieldValue::Unknown);
    }
    match class {
        ClassRef::User(..) => {
            let (path, cs) = ctx.user_class(class)?;
            if let Some(a) = cs.attr(name) {
                return Some(match &a.value {
                    Some(v) => FieldValue::Expr(path.clone(), v.clone()),
                    None if a.annotation.is_some() => FieldValue::Missing,
                    None => FieldValue::Unknown,
                });
            }
            if cs.method(name).is_some() || cs.other_names.iter().any(|n| n == name) {
                return Some(FieldValue::Unknown);
            }
            let bases: Vec<ClassRef> = cs
                .bases
                .iter()
                .filter_map(|b| ctx.resolve_class(path, b))
                .collect();
            for b in bases {
                if let Some(v) = field_lookup(ctx, &b, name, depth + 1) {
                    return Some(v);
                }
            }
            None
        }
        ClassRef::Builtin(id) => {
            let b = builtins::class(*id);
            if let Some(f) = b.fields.iter().find(|f| f.name == name) {
                return Some(match f.default {
                    BuiltinDefault::Required => FieldValue::Missing,
                    d => FieldValue::Builtin(d),
                });
            }
            for base in b.bases {
                if let Some(bid) = builtins::class_by_name(base) {
                    if let Some(v) = field_lookup(ctx, &ClassRef::Builtin(bid), name, depth + 1) {
                        return Some(v);
                    }
                }
            }
            None
        }
    }
}

/// The class-body attribute declaring `name` nearest along the MRO (for related info).
pub fn class_attr_decl<'a>(
    ctx: &mut Ctx<'a>,
    class: &ClassRef,
    name: &str,
) -> Option<(Arc<Path>, &'a ClassAttr)> {
    let mro = ctx.mro(class);
    for c in &mro.classes {
        if let Some((path, cs)) = ctx.user_class(c) {
            if let Some(a) = cs.attr(name) {
                return Some((path.clone(), a));
            }
        }
    }
    None
}

/// The value of field `name` for an instance: keyword argument, else the class default.
pub fn field_value(ctx: &mut Ctx, spec: InstanceSpec, name: &str) -> FieldValue {
    let dynamic = dynamic_fields(ctx, spec.class);
    if dynamic.contains(name) || dynamic.contains("*") {
        return FieldValue::Unknown;
    }
    if let Some((path, call)) = spec.call {
        if let Some(k) = call.keyword(name) {
            return match ctx.file(path) {
                Some(f) => FieldValue::Expr(f.path.clone(), k.value.clone()),
                None => FieldValue::Unknown,
            };
        }
        if call.has_splat() || !call.args.is_empty() {
            return FieldValue::Unknown;
        }
    }
    class_field(ctx, spec.class, name)
}

/// `[A, B]` / `(A, B)` of classes.
pub fn eval_class_list(ctx: &Ctx, path: &Path, e: &Expr) -> Option<Vec<ClassRef>> {
    match e {
        Expr::List { elts, .. } | Expr::Tuple { elts, .. } => {
            elts.iter().map(|x| ctx.resolve_class(path, x)).collect()
        }
        _ => None,
    }
}

fn builtin_classes(names: &[&str]) -> Vec<ClassRef> {
    names
        .iter()
        .filter_map(|n| builtins::class_by_name(n))
        .map(ClassRef::Builtin)
        .collect()
}

/// `output_types` of an instance (or of the class, with `call: None`).
pub fn output_types(ctx: &mut Ctx, spec: InstanceSpec) -> OutputTypes {
    if !ctx.mro(spec.class).complete {
        return OutputTypes::Unknown;
    }
    if spec.class
        == &ClassRef::Builtin(
            builtins::class_by_name("SubGraphWorkerInternal").unwrap_or(usize::MAX),
        )
    {
        return OutputTypes::Unknown;
    }
    match field_value(ctx, spec, "output_types") {
        FieldValue::Expr(path, e) => match eval_class_list(ctx, &path, &e) {
            Some(v) => OutputTypes::Known(v),
            None => OutputTypes::Unknown,
        },
        FieldValue::Builtin(BuiltinDefault::EmptyList) => OutputTypes::Known(Vec::new()),
        FieldValue::Builtin(BuiltinDefault::Classes(names)) => {
            OutputTypes::Known(builtin_classes(names))
        }
        _ => OutputTypes::Unknown,
    }
}

pub fn class_output_types(ctx: &mut Ctx, class: &ClassRef) -> OutputTypes {
    output_types(ctx, InstanceSpec { class, call: None })
}

pub fn class_consumed_types(ctx: &mut Ctx, class: &ClassRef) -> ConsumedTypes {
    consumed_types(ctx, InstanceSpec { class, call: None })
}

/// A user-defined method along the MRO, or the builtin one.
pub enum MethodRef<'a> {
    User(Arc<Path>, &'a FunctionSummary),
    Builtin(&'static builtins::BuiltinMethod),
}

/// The first definition of `name` along the MRO.
pub fn find_method<'a>(ctx: &mut Ctx<'a>, class: &ClassRef, name: &str) -> Option<MethodRef<'a>> {
    let mro = ctx.mro(class);
    for c in &mro.classes {
        match c {
            ClassRef::User(..) => {
                let (path, cs) = ctx.user_class(c)?;
                if let Some(m) = cs.method(name) {
                    return Some(MethodRef::User(path.clone(), m));
                }
                if cs.attr(name).is_some() || cs.other_names.iter().any(|n| n == name) {
                    return None;
                }
            }
            ClassRef::Builtin(id) => {
                if let Some(m) = builtins::class(*id).methods.iter().find(|m| m.name == name) {
                    return Some(MethodRef::Builtin(m));
                }
            }
        }
    }
    None
}

/// Consumed types of an instance (`get_task_classes()`).
pub fn consumed_types(ctx: &mut Ctx, spec: InstanceSpec) -> ConsumedTypes {
    let mro = ctx.mro(spec.class);
    if !mro.complete {
        return ConsumedTypes::Unknown;
    }
    let mut rule = None;
    for c in &mro.classes {
        match c {
            ClassRef::User(..) => {
                if let Some((_, cs)) = ctx.user_class(c) {
                    if cs.method("get_task_class").is_some()
                        || cs.method("get_task_classes").is_some()
                        || cs.dynamic_body
                    {
                        return ConsumedTypes::Unknown;
                    }
                }
            }
            ClassRef::Builtin(id) => {
                if let Some(r) = builtins::class(*id).rule {
                    rule = Some(r);
                    break;
                }
            }
        }
    }
    let class_name = ctx.class_name(spec.class);
    match rule {
        Some(ConsumedRule::Standard) => standard_rule(ctx, spec.class, &class_name),
        Some(ConsumedRule::LlmInput) => match field_value(ctx, spec, "llm_input_type") {
            FieldValue::Builtin(BuiltinDefault::None) => {
                standard_rule(ctx, spec.class, &class_name)
            }
            FieldValue::Expr(_, Expr::NoneLit { .. }) => {
                standard_rule(ctx, spec.class, &class_name)
            }
            FieldValue::Expr(path, e) => match ctx.resolve_class(&path, &e) {
                Some(c) => ConsumedTypes::Known(vec![TypeKey::Class(c)]),
                None => ConsumedTypes::Unknown,
            },
            _ => ConsumedTypes::Unknown,
        },
        Some(ConsumedRule::Joined) => joined_rule(ctx, spec.class, &class_name),
        Some(ConsumedRule::Merged) => match field_value(ctx, spec, "merged_types") {
            FieldValue::Expr(path, e) => match eval_class_list(ctx, &path, &e) {
                Some(v) => ConsumedTypes::Known(v.into_iter().map(TypeKey::Class).collect()),
                None => ConsumedTypes::Unknown,
            },
            FieldValue::Builtin(BuiltinDefault::EmptyList) => ConsumedTypes::Known(Vec::new()),
            _ => ConsumedTypes::Unknown,
        },
        Some(ConsumedRule::SubGraph) | None => ConsumedTypes::Unknown,
    }
}

fn standard_rule(ctx: &mut Ctx, class: &ClassRef, class_name: &str) -> ConsumedTypes {
    match find_method(ctx, class, "consume_work") {
        Some(MethodRef::Builtin(m)) => match (m.is_abstract, m.task_param) {
            (false, Some((_, cls))) => match builtins::class_by_name(cls) {
                Some(id) => ConsumedTypes::Known(vec![TypeKey::Class(ClassRef::Builtin(id))]),
                None => ConsumedTypes::Unknown,
            },
            _ => ConsumedTypes::Unknown,
        },
        Some(MethodRef::User(path, m)) => {
            if m.has_decorators() {
                return ConsumedTypes::Unknown;
            }
            let params = m.bound_params();
            if params.len() != 1 {
                return ConsumedTypes::Error(ConsumedError {
                    code: Code::Gc5,
                    message: format!(
                        "Method consume_work in {class_name} must accept one parameter"
                    ),
                    path,
                    range: m.name_range,
                });
            }
            let p = &params[0];
            let Some(ann) = p.annotation.as_ref().filter(|_| p.name == "task") else {
                return ConsumedTypes::Error(ConsumedError {
                    code: Code::Gc5,
                    message: format!("consume_work method in {class_name} must have type hints"),
                    path,
                    range: p.name_range,
                });
            };
            match resolve_annotation(ctx, &path, ann) {
                Some(t) => ConsumedTypes::Known(vec![t]),
                None => ConsumedTypes::Unknown,
            }
        }
        None => ConsumedTypes::Unknown,
    }
}

fn joined_rule(ctx: &mut Ctx, class: &ClassRef, class_name: &str) -> ConsumedTypes {
    let Some(MethodRef::User(path, m)) = find_method(ctx, class, "consume_work_joined") else {
        return ConsumedTypes::Unknown;
    };
    if m.has_decorators() {
        return ConsumedTypes::Unknown;
    }
    let params = m.bound_params();
    if params.len() != 1 {
        return ConsumedTypes::Error(ConsumedError {
            code: Code::Gc6,
            message: format!(
                "Method consume_work_joined in {class_name} must accept one parameter"
            ),
            path,
            range: m.name_range,
        });
    }
    let p = &params[0];
    let Some(ann) = p
        .annotation
        .as_ref()
        .filter(|_| p.name == "task" || p.name == "tasks")
    else {
        return ConsumedTypes::Error(ConsumedError {
            code: Code::Gc6,
            message: format!("consume_work_joined method in {class_name} must have type hints"),
            path,
            range: p.name_range,
        });
    };
    let ann = match ann {
        Expr::Str { value, range } => match parse_dotted_annotation(value, *range) {
            Some(e) => e,
            None => return ConsumedTypes::Unknown,
        },
        other => other.clone(),
    };
    let not_list = |shown: String, path: Arc<Path>| {
        ConsumedTypes::Error(ConsumedError {
            code: Code::Gc6,
            message: format!("consume_work_joined parameter must be List[Type] but got {shown}"),
            path,
            range: ann.range(),
        })
    };
    match &ann {
        Expr::Subscript { value, index, .. } => match ctx.resolve_expr(&path, value) {
            Symbol::External { module, name }
                if (module == "typing" && name == "List")
                    || (module == "builtins" && name == "list") =>
            {
                match index
                    .first()
                    .and_then(|i| resolve_annotation(ctx, &path, i))
                {
                    Some(t) if index.len() == 1 => ConsumedTypes::Known(vec![t]),
                    _ => ConsumedTypes::Unknown,
                }
            }
            Symbol::External { module, name } if is_typing_construct(&module, &name) => {
                not_list(format!("typing.{}", render(&ann)), path)
            }
            _ => ConsumedTypes::Unknown,
        },
        Expr::Name { .. } | Expr::Attribute { .. } => match ctx.resolve_class(&path, &ann) {
            Some(c) => not_list(ctx.class_repr(&c), path),
            None => ConsumedTypes::Unknown,
        },
        _ => ConsumedTypes::Unknown,
    }
}

fn is_typing_construct(module: &str, name: &str) -> bool {
    (module == "typing"
        && matches!(
            name,
            "List"
                | "Optional"
                | "Union"
                | "Dict"
                | "Sequence"
                | "Tuple"
                | "Set"
                | "Type"
                | "Iterable"
                | "FrozenSet"
                | "Mapping"
        ))
        || (module == "collections.abc" && matches!(name, "Sequence" | "Iterable" | "Mapping"))
        || (module == "builtins" && matches!(name, "list" | "dict" | "tuple" | "set" | "type"))
}

/// `"X"` / `"m.X"` string annotations as expressions; anything more complex is unknown.
fn parse_dotted_annotation(s: &str, range: TextRange) -> Option<Expr> {
    let s = s.trim();
    let mut expr: Option<Expr> = None;
    for part in s.split('.') {
        if part.is_empty() || !part.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return None;
        }
        expr = Some(match expr {
            None => Expr::Name {
                id: crate::analysis::summary::Name::from(part),
                range,
            },
            Some(v) => Expr::Attribute {
                value: Box::new(v),
                attr: crate::analysis::summary::Name::from(part),
                range,
            },
        });
    }
    expr
}

/// The runtime value `get_type_hints` yields for a `task` annotation: a class, an opaque
/// typing construct, or `None` when unknown.
pub fn resolve_annotation(ctx: &Ctx, path: &Path, ann: &Expr) -> Option<TypeKey> {
    match ann {
        Expr::Str { value, range } => {
            let e = parse_dotted_annotation(value, *range)?;
            resolve_annotation(ctx, path, &e)
        }
        Expr::Name { .. } | Expr::Attribute { .. } => {
            ctx.resolve_class(path, ann).map(TypeKey::Class)
        }
        Expr::Subscript { value, .. } => match ctx.resolve_expr(path, value) {
            Symbol::External { module, name } if is_typing_construct(&module, &name) => {
                Some(TypeKey::Opaque(render(ann)))
            }
            _ => None,
        },
        Expr::BitOr { left, right, .. } => {
            let side_ok = |e: &Expr| {
                matches!(e, Expr::NoneLit { .. }) || ctx.resolve_class(path, e).is_some()
            };
            (side_ok(left) && side_ok(right)).then(|| TypeKey::Opaque(render(ann)))
        }
        _ => None,
    }
}

/// Source-like rendering of simple expressions, for messages.
pub fn render(e: &Expr) -> String {
    match e {
        Expr::Name { id, .. } => id.to_string(),
        Expr::Attribute { value, attr, .. } => format!("{}.{}", render(value), attr),
        Expr::Subscript { value, index, .. } => format!(
            "{}[{}]",
            render(value),
            index.iter().map(render).collect::<Vec<_>>().join(", ")
        ),
        Expr::BitOr { left, right, .. } => format!("{} | {}", render(left), render(right)),
        Expr::NoneLit { .. } => "None".into(),
        Expr::Bool { value, .. } => if *value { "True" } else { "False" }.into(),
        Expr::Str { value, .. } => format!("'{value}'"),
        Expr::Int { value, .. } => value.to_string(),
        Expr::Literal { repr, .. } => repr.to_string(),
        Expr::List { elts, .. } => format!(
            "[{}]",
            elts.iter().map(render).collect::<Vec<_>>().join(", ")
        ),
        Expr::Tuple { elts, .. } => format!(
            "({})",
            elts.iter().map(render).collect::<Vec<_>>().join(", ")
        ),
        Expr::Call(c) => format!("{}(...)", render(&c.func)),
        _ => "...".into(),
    }
}

/// Whether the parameter list of `m` accepts the worker's `task` by that name (used by CD7).
pub fn task_param(m: &FunctionSummary, joined: bool) -> Option<&super::summary::Param> {
    let p = m.bound_params().first()?;
    let ok = p.name == "task" || (joined && p.name == "tasks");
    (ok && p.kind != ParamKind::VarKeyword).then_some(p)
}

impl super::memo::Memoisable for ConsumedTypes {
    /// A signature error names where the signature is: a position, never reused.
    fn reusable(&self) -> bool {
        !matches!(self, ConsumedTypes::Error(_))
    }

    fn cutoff(&self) -> u64 {
        match self {
            ConsumedTypes::Known(types) => super::memo::hash_of(&(0u8, types)),
            // Never memoised (not `reusable`); a fresh value keeps any asker from reuse.
            ConsumedTypes::Error(_) => super::incremental::fresh_id(),
            ConsumedTypes::Unknown => super::memo::hash_of(&2u8),
        }
    }
}

impl super::memo::Memoisable for OutputTypes {
    fn cutoff(&self) -> u64 {
        super::memo::hash_of(self)
    }
}
