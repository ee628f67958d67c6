//! IN9 (warning): a keyword argument that is no field of the PlanAI model it constructs (a
//! Task, a worker, `Graph`). pydantic's default `extra="ignore"` drops it without a word, so
//! PlanAI raises nothing and the value is lost: `CleanText(num_retry=3)` runs with the default
//! `num_retries`, `Question(txt=...)` with whatever `text` defaults to. A silent failure of
//! exactly the kind this server exists to surface, hence a warning with the field meant.
//!
//! Decided only when every field of the class is known: each class of its MRO is one of
//! PlanAI's pydantic models (fields from `builtins`) or a user class whose body we fully model,
//! without `model_config` (extra could be "allow"), a custom `__init__`/`__new__`/
//! `__getattr__`/`__setattr__`, decorated methods (a `mode="before"` validator may read any
//! key), class keywords, or aliases (the keyword may be one). Names starting with `_` are
//! skipped (private attributes), and so are calls with `**` splats.

use std::sync::Arc;

use super::super::builtins;
use super::super::memo::{self, Fact, FactKey, Memoisable};
use super::super::resolve::{ClassRef, Ctx};
use super::super::summary::CallExpr;
use super::task_calls::{field_required, plain_model_body};
use super::{is_classvar, warning};
use crate::diagnostics::{Code, Diagnostic, Subject};

/// The field names of a PlanAI model class, sorted; `None` when they cannot all be known.
#[derive(Clone, Hash)]
pub(crate) struct ModelFields(Option<Arc<[String]>>);

impl Memoisable for ModelFields {
    fn cutoff(&self) -> u64 {
        memo::hash_of(self)
    }
}

/// IN9 for each keyword of `c` that names no field of `cls`, the class it constructs.
pub(super) fn check_call(ctx: &mut Ctx, c: &CallExpr, cls: &ClassRef, out: &mut Vec<Diagnostic>) {
    if c.keywords.is_empty() || c.has_splat() {
        return;
    }
    let mut fields: Option<ModelFields> = None;
    for keyword in &c.keywords {
        let Some(name) = keyword.name.as_deref() else {
            continue;
        };
        if name.starts_with('_') {
            continue;
        }
        let known = fields.get_or_insert_with(|| {
            // A worker's fields are memoised: the builder that instantiates every worker must
            // not depend on their method bodies. A Task's are read directly, as IN2 reads them:
            // a memoised fact per `Task(...)` call of every `consume_work` would cost each
            // keystroke the validation of hundreds of facts.
            if super::class_kind(ctx, cls).worker {
                memoised_fields(ctx, cls)
            } else {
                ModelFields(model_fields(ctx, cls).map(Arc::from))
            }
        });
        let Some(known) = known.0.as_deref() else {
            return;
        };
        if known.iter().any(|f| f == name) {
            continue;
        }
        let class = ctx.class_name(cls);
        // The advice first: the Problems panel cuts long messages at its width.
        let advice = match closest_field(name, known) {
            Some(meant) => format!("; did you mean `{meant}`?"),
            None => format!(" (its fields: {}).", listed(known)),
        };
        out.push(
            warning(
                Code::In9,
                keyword.name_range,
                format!(
                    "`{name}` is not a field of {class}{advice} pydantic ignores unknown keyword \
                     arguments, so PlanAI drops this value without an error."
                ),
            )
            .about(Subject::field(class, name)),
        );
    }
}

/// [`model_fields`], memoised across edits (`analysis::memo`); also how the memo layer derives
/// the fact again (`graph::refresh_fact`).
pub(crate) fn memoised_fields(ctx: &mut Ctx, cls: &ClassRef) -> ModelFields {
    let key = FactKey::of_class(Fact::ModelFields, cls.clone());
    memo::memo(ctx, key, None, |ctx| {
        ModelFields(model_fields(ctx, cls).map(Arc::from))
    })
}

/// Every field name of PlanAI model `cls`, sorted, or `None` when the class is no PlanAI model
/// or we cannot know all of its fields (see the module docs).
fn model_fields(ctx: &mut Ctx, cls: &ClassRef) -> Option<Vec<String>> {
    let mut names: Vec<String> = fields_of_model(ctx, cls)?
        .into_iter()
        .map(|f| f.name)
        .collect();
    // `fields_of_model` lists each name once.
    names.sort();
    Some(names)
}

/// A field of a PlanAI model, as keyword completion shows it.
pub(crate) struct ModelField {
    pub name: String,
    /// The class that declares it last along the MRO (a subclass's redeclaration wins).
    pub owner: String,
    /// No default: the constructor fails without it.
    pub required: bool,
}

/// The fields of PlanAI model `cls` in declaration order (PlanAI's bases first), under the
/// conditions of the module docs; `None` when they cannot all be known.
pub(crate) fn fields_of_model(ctx: &mut Ctx, cls: &ClassRef) -> Option<Vec<ModelField>> {
    let graph = builtins::class_by_name("Graph").map(ClassRef::Builtin);
    let planai_model = Some(cls) == graph.as_ref()
        || ctx.derives_from_builtin(cls, "Task")
        || ctx.derives_from_builtin(cls, "TaskWorker");
    let mro = ctx.mro(cls);
    if !planai_model || !mro.complete {
        return None;
    }
    let mut fields: Vec<ModelField> = Vec::new();
    let mut add = |name: String, owner: String, required: bool| match fields
        .iter_mut()
        .find(|f| f.name == name)
    {
        Some(f) => {
            f.owner = owner;
            f.required = required;
        }
        None => fields.push(ModelField {
            name,
            owner,
            required,
        }),
    };
    for k in mro.classes.iter().rev() {
        match k {
            ClassRef::Builtin(id) => {
                let builtin = builtins::class(*id);
                if !builtin.pydantic {
                    return None;
                }
                for f in builtin.fields {
                    let required = matches!(f.default, builtins::BuiltinDefault::Required);
                    add(f.name.to_string(), builtin.name.to_string(), required);
                }
            }
            ClassRef::User(..) => {
                let (_, class) = ctx.user_class(k)?;
                if !plain_model_body(class) {
                    return None;
                }
                for attr in &class.attrs {
                    let Some(annotation) = &attr.annotation else {
                        continue;
                    };
                    // Private attributes (`_seen: int = PrivateAttr()`) are no fields.
                    if is_classvar(annotation) || attr.name.starts_with('_') {
                        continue;
                    }
                    // `None` where the keyword may be an alias.
                    let required = field_required(annotation, attr.value.as_ref())?;
                    add(attr.name.to_string(), class.name.to_string(), required);
                }
            }
        }
    }
    Some(fields)
}

/// The field `name` most likely means: a different case, a few typos (edit distance at most a
/// third of the longer name, at least 1, and some character kept), or a word of one in the
/// other (`retries` for `num_retries`, `query_text` for `query`).
fn closest_field<'f>(name: &str, fields: &'f [String]) -> Option<&'f str> {
    let lower = name.to_lowercase();
    if let Some(f) = fields.iter().find(|f| f.to_lowercase() == lower) {
        return Some(f);
    }
    let best = fields
        .iter()
        .map(|f| (edit_distance(&lower, &f.to_lowercase()), f))
        .filter(|(d, f)| *d <= (name.len().max(f.len()) / 3).max(1) && *d < name.len().min(f.len()))
        .min_by_key(|(d, f)| (*d, f.len()));
    if let Some((_, f)) = best {
        return Some(f);
    }
    if name.len() >= 4 {
        // `retries` for `num_retries`, `query` for `query_text`.
        let mut containing = fields.iter().filter(|f| {
            f.contains(&lower) || (f.len() >= 4 && lower.split('_').any(|word| word == f.as_str()))
        });
        if let (Some(only), None) = (containing.next(), containing.next()) {
            return Some(only);
        }
    }
    None
}

/// Optimal string alignment distance: insertions, deletions, substitutions and transpositions
/// of adjacent characters each cost 1 (`num_retires` is one edit from `num_retries`).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

/// At most ten names, then how many more.
fn listed(fields: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut out = fields
        .iter()
        .take(SHOWN)
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if fields.len() > SHOWN {
        out.push_str(&format!(" and {} more", fields.len() - SHOWN));
    }
    if out.is_empty() {
        out.push_str("none");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn typos_and_words_find_the_field_meant() {
        let fields = names(&[
            "llm",
            "num_retries",
            "output_types",
            "prompt",
            "temperature",
        ]);
        assert_eq!(closest_field("num_retry", &fields), Some("num_retries"));
        assert_eq!(closest_field("num_retires", &fields), Some("num_retries"));
        assert_eq!(closest_field("Prompt", &fields), Some("prompt"));
        assert_eq!(closest_field("retries", &fields), Some("num_retries"));
        assert_eq!(closest_field("prompt_text", &fields), Some("prompt"));
        assert_eq!(closest_field("temprature", &fields), Some("temperature"));
        assert_eq!(closest_field("model", &fields), None);
        assert_eq!(closest_field("x", &names(&["y", "text"])), None);
    }

    #[test]
    fn edit_distance_counts_a_transposition_as_one() {
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn long_field_lists_are_cut() {
        let fields: Vec<String> = (0..12).map(|i| format!("f{i}")).collect();
        assert!(listed(&fields).ends_with("f9 and 2 more"));
        assert_eq!(listed(&[]), "none");
    }
}
