//! Hover: a short Markdown card for the PlanAI thing under the cursor.

use std::fmt::Write;
use std::path::Path;

use super::{names, referent_of, Referent, Scope, VariableValue, WorkerTable};
use crate::analysis::checks::{class_kind, is_classvar};
use crate::analysis::consumed::{self, FieldValue};
use crate::analysis::incremental::Unit;
use crate::analysis::resolve::{ClassRef, Ctx};
use crate::analysis::summary::{CallExpr, Expr, FunctionSummary, ParamKind, Stmt};
use crate::analysis::AnalysisHost;
use crate::diagnostics::TextRange;

/// A hover's contents and the range of the identifier it describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hover {
    pub range: TextRange,
    pub markdown: String,
}

/// The hover at byte `offset` of `path`.
pub fn hover(host: &AnalysisHost, path: &Path, offset: usize) -> Option<Hover> {
    let file = host.files.get(path)?;
    let text = file.text.clone();
    let idents = names::identifiers(&text);
    let ident = names::identifier_at(&idents, offset)?;
    let index = idents.partition_point(|id| id.range.start() < ident.range.start());
    let mut ctx = Ctx::new(host);
    let referent = referent_of(&mut ctx, &file.path, &text, &idents, index)?;
    let markdown = match referent {
        Referent::Class(class) => class_card(&mut ctx, &class, None)?,
        Referent::Variable {
            path,
            scope,
            name,
            value: VariableValue::Worker(class),
        } => {
            let summary = ctx.summary(&path)?;
            let variables = super::scope_variables(&mut ctx, &path, summary, scope, &text, &idents);
            let call = variables.iter().find(|v| v.name == name).map(|v| v.call);
            let mut card = format!("`{name}`: instance of `{}`\n\n", ctx.class_name(&class));
            card.push_str(&class_card(&mut ctx, &class, call)?);
            card
        }
        Referent::Variable {
            path,
            scope,
            name,
            value: VariableValue::Graph,
        } => graph_card(&mut ctx, &path, scope, &name, &text, &idents),
        Referent::Tool { path, function } => {
            let summary = ctx.summary(&path)?;
            tool_card(summary.functions.get(function)?)
        }
    };
    Some(Hover {
        range: ident.range,
        markdown,
    })
}

/// The card of a Task or worker class (`None` for other classes).
fn class_card(ctx: &mut Ctx, class: &ClassRef, call: Option<&CallExpr>) -> Option<String> {
    if super::is_worker(ctx, class) {
        Some(worker_card(ctx, class, call))
    } else if super::is_task(ctx, class) {
        Some(task_card(ctx, class))
    } else {
        None
    }
}

/// One field of a Task as pydantic sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskField {
    pub name: String,
    pub annotation: String,
    pub default: Option<String>,
    pub required: bool,
    pub description: Option<String>,
}

/// The fields of a Task class declared in workspace classes, base classes first (a subclass's
/// redeclaration replaces the base's in place).
pub fn task_fields(ctx: &mut Ctx, class: &ClassRef) -> Vec<TaskField> {
    let mro = ctx.mro(class);
    let mut fields: Vec<TaskField> = Vec::new();
    for c in mro.classes.iter().rev() {
        let Some((_, summary)) = ctx.user_class(c) else {
            continue;
        };
        for attr in &summary.attrs {
            let Some(annotation) = &attr.annotation else {
                continue;
            };
            if attr.name.starts_with('_') || is_classvar(annotation) {
                continue;
            }
            let field = describe_field(&attr.name, annotation, attr.value.as_ref());
            match fields.iter_mut().find(|f| f.name == field.name) {
                Some(existing) => *existing = field,
                None => fields.push(field),
            }
        }
    }
    fields
}

fn describe_field(name: &str, annotation: &Expr, value: Option<&Expr>) -> TaskField {
    let mut field = TaskField {
        name: name.to_string(),
        annotation: consumed::render(annotation),
        default: None,
        required: value.is_none(),
        description: None,
    };
    match value {
        Some(Expr::Call(call)) if call.func.dotted_last() == Some("Field") => {
            field.description = match call.keyword("description").map(|k| &k.value) {
                Some(Expr::Str { value, .. }) => Some(value.to_string()),
                _ => None,
            };
            if let Some(k) = call.keyword("default_factory") {
                field.default = Some(format!("{}()", consumed::render(&k.value)));
            } else {
                match call.arg(0, "default") {
                    None => field.required = true,
                    Some(Expr::Literal { repr, .. }) if repr == "Ellipsis" || repr == "..." => {
                        field.required = true
                    }
                    Some(v) => field.default = Some(consumed::render(v)),
                }
            }
        }
        Some(v) => field.default = Some(consumed::render(v)),
        None => {}
    }
    field
}

fn class_header(ctx: &mut Ctx, class: &ClassRef) -> String {
    let bases = match ctx.user_class(class) {
        Some((_, summary)) => summary
            .bases
            .iter()
            .map(consumed::render)
            .collect::<Vec<_>>()
            .join(", "),
        None => String::new(),
    };
    let module = match class {
        ClassRef::User(p, _) => ctx
            .host
            .module_names(p)
            .first()
            .cloned()
            .unwrap_or_else(|| p.display().to_string()),
        ClassRef::Builtin(id) => crate::analysis::builtins::class(*id).module.to_string(),
    };
    format!(
        "```python\nclass {}({bases})\n```\n*{module}*\n\n",
        ctx.class_name(class)
    )
}

fn names_of(ctx: &Ctx, classes: &[ClassRef]) -> String {
    if classes.is_empty() {
        return "nothing in the workspace".to_string();
    }
    classes
        .iter()
        .map(|c| format!("`{}`", ctx.class_name(c)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn task_card(ctx: &mut Ctx, class: &ClassRef) -> String {
    let mut card = class_header(ctx, class);
    card.push_str("**Task**\n\n");
    for field in task_fields(ctx, class) {
        let _ = write!(card, "- `{}: {}`", field.name, field.annotation);
        if let Some(default) = &field.default {
            let _ = write!(card, " = `{default}`");
        }
        if field.required {
            card.push_str(" *(required)*");
        }
        if let Some(description) = &field.description {
            let _ = write!(card, " — {description}");
        }
        card.push('\n');
    }
    let table = WorkerTable::build(ctx);
    let producers = table.producers(class);
    let consumers = table.consumers(class);
    let _ = write!(
        card,
        "\nProduced by {}\n\nConsumed by {}\n",
        names_of(ctx, &producers),
        names_of(ctx, &consumers)
    );
    card
}

/// The kind of a worker class, as PlanAI names its bases.
pub fn worker_kind(ctx: &mut Ctx, class: &ClassRef) -> &'static str {
    let kind = class_kind(ctx, class);
    if kind.joined {
        "JoinedTaskWorker"
    } else if kind.merged {
        "MergedTaskWorker"
    } else if kind.llm {
        "LLMTaskWorker"
    } else if kind.base_llm {
        "BaseLLMTaskWorker"
    } else {
        "TaskWorker"
    }
}

/// LLM and join settings shown on a worker's card, in this order.
const SETTINGS: &[&str] = &[
    "llm_input_type",
    "llm_output_type",
    "join_type",
    "system_prompt",
    "use_xml",
    "debug_mode",
];

fn worker_card(ctx: &mut Ctx, class: &ClassRef, call: Option<&CallExpr>) -> String {
    let mut card = class_header(ctx, class);
    let kind = worker_kind(ctx, class);
    let _ = writeln!(card, "**{kind}** · `{}`\n", super::flow_label(ctx, class));
    let is_llm = class_kind(ctx, class).base_llm || class_kind(ctx, class).llm;
    for setting in SETTINGS {
        if !is_llm && *setting != "join_type" {
            continue;
        }
        let value = call
            .and_then(|c| c.keyword(setting))
            .map(|k| consumed::render(&k.value))
            .or_else(|| match consumed::class_field(ctx, class, setting) {
                FieldValue::Expr(_, e) => Some(consumed::render(&e)),
                _ => None,
            });
        if let Some(value) = value {
            let _ = writeln!(card, "- `{setting}` = `{value}`");
        }
    }
    if let Some(call) = call {
        if let Some(llm) = call.keyword("llm") {
            let _ = writeln!(card, "- `llm` = `{}`", consumed::render(&llm.value));
        }
    }
    if is_llm {
        let prompt = call
            .and_then(|c| c.keyword("prompt"))
            .map(|k| k.value.clone())
            .or_else(|| match consumed::class_field(ctx, class, "prompt") {
                FieldValue::Expr(_, e) => Some(e),
                _ => None,
            });
        if let Some(prompt) = prompt.as_ref().and_then(string_in) {
            let _ = write!(card, "\nPrompt:\n```text\n{}\n```\n", dedent(prompt).trim());
        }
    }
    card
}

/// The first string literal of an expression such as `dedent("""...""").strip()`.
fn string_in(e: &Expr) -> Option<&str> {
    match e {
        Expr::Str { value, .. } => Some(value),
        Expr::Call(c) => string_in(&c.func).or_else(|| c.args.iter().find_map(string_in)),
        Expr::Attribute { value, .. } => string_in(value),
        _ => None,
    }
}

/// `textwrap.dedent`: removes the whitespace prefix common to all non-blank lines.
pub fn dedent(text: &str) -> String {
    let margin = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    text.lines()
        .map(|l| {
            if l.trim().is_empty() {
                ""
            } else {
                &l[margin.min(l.len())..]
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn graph_card(
    ctx: &mut Ctx,
    path: &std::sync::Arc<Path>,
    scope: Scope,
    name: &str,
    text: &str,
    idents: &[names::Ident],
) -> String {
    let mut card = format!("`{name}`: **Graph**\n\n");
    let Some(summary) = ctx.summary(path) else {
        return card;
    };
    let workers: Vec<String> = super::scope_variables(ctx, path, summary, scope, text, idents)
        .iter()
        .filter_map(|v| match &v.value {
            VariableValue::Worker(c) => Some(format!("`{}` ({})", v.name, ctx.class_name(c))),
            VariableValue::Graph => None,
        })
        .collect();
    if !workers.is_empty() {
        let _ = writeln!(card, "Workers: {}\n", shortened(&workers, ", "));
    }
    let scope_name = scope_name(summary, scope);
    let unit = match scope {
        Scope::Module => Unit::Module,
        Scope::Function(i) => Unit::Function(i),
        Scope::Method(c, _) => Unit::Class(c),
    };
    let edges: Vec<_> = crate::analysis::checks::graph::collect_unit_edges(ctx, path, unit)
        .into_iter()
        .filter(|e| e.scope == scope_name)
        .collect();
    if !edges.is_empty() {
        let lines: Vec<String> = edges
            .iter()
            .map(|edge| {
                let mut line = format!("- `{}` → `{}`", edge.upstream, edge.downstream);
                if let Some(task) = &edge.task_type {
                    let _ = write!(line, " ({task})");
                }
                line
            })
            .collect();
        let _ = writeln!(card, "Edges:\n{}", shortened(&lines, "\n"));
    }
    card
}

/// A hover stays short: a graph of hundreds of workers lists the first few and a count.
const MAX_LISTED: usize = 12;

fn shortened(items: &[String], separator: &str) -> String {
    let mut text = items[..items.len().min(MAX_LISTED)].join(separator);
    if items.len() > MAX_LISTED {
        let _ = write!(text, "{separator}… and {} more", items.len() - MAX_LISTED);
    }
    text
}

/// The scope name `GraphEdge::scope` uses.
pub fn scope_name(summary: &crate::analysis::FileSummary, scope: Scope) -> Option<String> {
    match scope {
        Scope::Module => None,
        Scope::Function(i) => summary.functions.get(i).map(|f| f.name.to_string()),
        Scope::Method(c, m) => {
            let class = summary.classes.get(c)?;
            Some(format!("{}.{}", class.name, class.methods.get(m)?.name))
        }
    }
}

/// A `@tool` function as the LLM sees it: name, description and a JSON schema of its
/// parameters, derived from the annotations (the venv computes the exact schema).
fn tool_card(f: &FunctionSummary) -> String {
    let decorator_call = f.decorators.iter().find_map(|d| match d {
        Expr::Call(c) if crate::analysis::check::is_tool_decorator(d) => Some(&**c),
        _ => None,
    });
    let tool_name = decorator_call
        .and_then(|c| c.arg(0, "name"))
        .and_then(|e| match e {
            Expr::Str { value, .. } => Some(value.to_string()),
            _ => None,
        })
        .unwrap_or_else(|| f.name.to_string());
    let docstring = match f.body.first() {
        Some(Stmt::Expr(Expr::Str { value, .. })) => Some(dedent(value).trim().to_string()),
        _ => None,
    };
    let description = decorator_call
        .and_then(|c| c.keyword("description"))
        .and_then(|k| match &k.value {
            Expr::Str { value, .. } => Some(value.to_string()),
            _ => None,
        })
        .or(docstring);
    let mut properties = serde_json::Map::new();
    let mut required = Vec::new();
    for p in &f.params {
        if p.kind == ParamKind::VarArgs || p.kind == ParamKind::VarKeyword {
            continue;
        }
        let schema_type = p.annotation.as_ref().map(json_type).unwrap_or("any");
        properties.insert(
            p.name.to_string(),
            serde_json::json!({ "type": schema_type }),
        );
        if !p.has_default {
            required.push(p.name.to_string());
        }
    }
    let schema = serde_json::json!({
        "type": "object",
        "properties": properties,
        "required": required,
    });
    let mut card = format!("**@tool** `{tool_name}`\n\n");
    if let Some(description) = description {
        let _ = write!(card, "{description}\n\n");
    }
    let _ = write!(
        card,
        "Parameters (static reading of the annotations):\n```json\n{}\n```\n",
        serde_json::to_string_pretty(&schema).unwrap_or_default()
    );
    card
}

/// The JSON schema type of a simple annotation.
fn json_type(annotation: &Expr) -> &'static str {
    let root = match annotation {
        Expr::Subscript { value, .. } => value.as_ref(),
        other => other,
    };
    match root.dotted_last() {
        Some("str") => "string",
        Some("int") => "integer",
        Some("float") => "number",
        Some("bool") => "boolean",
        Some("list" | "List" | "Sequence" | "tuple" | "Tuple" | "set" | "Set") => "array",
        Some("dict" | "Dict" | "Mapping") => "object",
        _ => "any",
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn hover_at(file: &str, text: &str, needle: &str, n: usize) -> String {
        let host = qa_host();
        let path = std::path::PathBuf::from("/ws").join(file);
        hover(&host, &path, offset_of(text, needle, n) + 1)
            .unwrap_or_else(|| panic!("no hover on {needle}"))
            .markdown
    }

    #[test]
    fn a_task_shows_its_fields_and_its_producers_and_consumers() {
        let card = hover_at("tasks.py", TASKS, "Question(Task)", 0);
        assert!(card.contains("class Question(Task)"), "{card}");
        assert!(
            card.contains("- `text: str` *(required)* — what is asked"),
            "{card}"
        );
        assert!(card.contains("- `rank: int` = `0`"), "{card}");
        assert!(card.contains("Produced by `Asker`"), "{card}");
        assert!(card.contains("Consumed by `Responder`"), "{card}");
    }

    #[test]
    fn a_worker_shows_its_flow_llm_settings_and_dedented_prompt() {
        let card = hover_at("workers.py", WORKERS, "Responder(LLMTaskWorker)", 0);
        assert!(
            card.contains("**LLMTaskWorker** · `Question → Answer`"),
            "{card}"
        );
        assert!(card.contains("- `llm_input_type` = `Question`"), "{card}");
        assert!(
            card.contains("```text\nAnswer the question.\n  Briefly.\n```"),
            "{card}"
        );
    }

    #[test]
    fn a_worker_variable_shows_its_instance_settings() {
        let card = hover_at("graph.py", GRAPH, "responder)", 1);
        assert!(
            card.starts_with("`responder`: instance of `Responder`"),
            "{card}"
        );
        assert!(card.contains("- `llm` = `llm`"), "{card}");
    }

    #[test]
    fn a_graph_variable_shows_its_workers_and_edges() {
        let card = hover_at("graph.py", GRAPH, "graph.set_sink", 0);
        assert!(
            card.contains("Workers: `asker` (Asker), `responder` (Responder)"),
            "{card}"
        );
        assert!(
            card.contains("- `Asker` → `Responder` (Question)"),
            "{card}"
        );
    }

    #[test]
    fn a_tool_shows_the_schema_the_llm_sees() {
        let card = hover_at("workers.py", WORKERS, "lookup(term", 0);
        assert!(
            card.starts_with("**@tool** `lookup`\n\nLooks a term up."),
            "{card}"
        );
        assert!(
            card.contains("\"term\": {\n      \"type\": \"string\""),
            "{card}"
        );
        assert!(
            card.contains("\"required\": [\n    \"term\"\n  ]"),
            "{card}"
        );
    }

    #[test]
    fn dedent_removes_the_common_margin() {
        assert_eq!(
            dedent("\n    a\n      b\n\n    c\n"),
            "\n".to_string() + "a\n  b\n\nc"
        );
    }
}
