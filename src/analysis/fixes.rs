//! Quick fixes: for a diagnostic whose fix is mechanical, the text edits that make it go away
//! (byte ranges in the files the host holds; the server turns them into a `WorkspaceEdit`).
//!
//! | code | fix |
//! | --- | --- |
//! | RT1, RT8 | add the published type to the class's `output_types` list |
//! | GC11 | add the sunk type to the worker class's `output_types` list |
//! | CD1 | annotate the overridden field with the type the message suggests |
//! | GC5 (type hints) | rename the `consume_work` parameter to `task` (and its uses); annotate it with a type the upstream produces |
//! | GC6 (not a list) | wrap the joined parameter's annotation in `List[...]` |
//! | IN5 | add `llm_output_type` set to one of the output types |
//! | RT3 | `graph.set_sink(worker, T)`; a new worker class consuming `T`, created and wired |
//! | (none) | import a Task class named at the cursor from the workspace module defining it |
//!
//! Every fix adds the imports it needs (`List`, `Type`, `Task`, `TaskWorker`, the Task class).
//! Each is tested the way it is used: apply the edits, check again, the diagnostic is gone.

use crate::syntax::fields::{Field, FieldChildren};
use std::path::{Path, PathBuf};

use super::graph_model::{self, GraphInfo};
use super::summary::{ClassSummary, Expr, FileSummary, FunctionSummary};
use super::AnalysisHost;
use crate::diagnostics::{Code, Diagnostic, TextRange};

/// One replacement of `range` in `path` by `new_text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEdit {
    pub path: PathBuf,
    pub range: TextRange,
    pub new_text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fix {
    pub title: String,
    /// The diagnostic it fixes (`None` for a refactoring at the cursor, such as an import).
    pub diagnostic: Option<Diagnostic>,
    pub edits: Vec<FileEdit>,
    /// The fix to apply when the user asks for "the" fix.
    pub preferred: bool,
}

/// The fixes for the diagnostics of `path` overlapping `range`, and the refactorings that
/// apply at `range`.
pub fn fixes(host: &AnalysisHost, path: &Path, range: TextRange) -> Vec<Fix> {
    let Some(text) = host.file_text(path) else {
        return Vec::new();
    };
    let Some(summary) = host.file_summary(path) else {
        return Vec::new();
    };
    let file = FileCtx {
        host,
        path,
        text: &text,
        summary: &summary,
    };
    let mut out = Vec::new();
    let mut model: Option<graph_model::GraphModel> = None;
    for d in host.file_diagnostics(path) {
        let overlaps = d.range.start() <= range.end() && range.start() <= d.range.end();
        if !overlaps {
            continue;
        }
        let Some(code) = d.code.known() else {
            continue;
        };
        let before = out.len();
        match code {
            Code::Rt1 | Code::Rt8 => out.extend(add_output_type(&file, &d)),
            Code::Gc11 => out.extend(add_sink_type(&file, &d)),
            Code::Cd1 => out.extend(annotate_field(&file, &d)),
            Code::Gc5 => {
                let model = model.get_or_insert_with(|| graph_model::graph_model(host, path));
                out.extend(consume_work_signature(&file, &d, model));
            }
            Code::Gc6 => out.extend(wrap_in_list(&file, &d)),
            Code::In5 => out.extend(add_llm_output_type(&file, &d)),
            Code::In9 => out.extend(use_field_meant(&file, &d)),
            Code::Rt3 => {
                let model = model.get_or_insert_with(|| graph_model::graph_model(host, path));
                out.extend(collect_or_consume(&file, &d, model));
            }
            _ => {}
        }
        for fix in &mut out[before..] {
            fix.diagnostic = Some(d.clone());
        }
    }
    out.extend(import_task_class(&file, range));
    out
}

struct FileCtx<'a> {
    host: &'a AnalysisHost,
    path: &'a Path,
    text: &'a str,
    summary: &'a FileSummary,
}

fn edit(path: &Path, range: TextRange, new_text: impl Into<String>) -> FileEdit {
    FileEdit {
        path: path.to_path_buf(),
        range,
        new_text: new_text.into(),
    }
}

fn insert(path: &Path, at: usize, new_text: impl Into<String>) -> FileEdit {
    edit(path, TextRange::new(at, at), new_text)
}

/// The word after `prefix` in `message` (identifier characters).
fn word_after<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let start = message.find(prefix)? + prefix.len();
    let rest = &message[start..];
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

fn line_start(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .rfind('\n')
        .map(|i| i + 1)
        .unwrap_or(0)
}

fn indentation_at(text: &str, offset: usize) -> String {
    let start = line_start(text, offset);
    text[start..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

/// The offset after the statement starting on the line of `offset` (brackets, strings and
/// backslash continuations followed to the end of the logical line).
fn statement_end(text: &str, offset: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = line_start(text, offset);
    let mut depth = 0i32;
    let mut quote: Option<(u8, bool)> = None;
    while i < bytes.len() {
        let c = bytes[i];
        match quote {
            Some((q, triple)) => {
                if c == b'\\' {
                    i += 1;
                } else if c == q {
                    if !triple {
                        quote = None;
                    } else if bytes.get(i + 1) == Some(&q) && bytes.get(i + 2) == Some(&q) {
                        quote = None;
                        i += 2;
                    }
                } else if c == b'\n' && !triple {
                    quote = None;
                }
            }
            None => match c {
                b'#' => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                    continue;
                }
                b'\'' | b'"' => {
                    let triple = bytes.get(i + 1) == Some(&c) && bytes.get(i + 2) == Some(&c);
                    quote = Some((c, triple));
                    if triple {
                        i += 2;
                    }
                }
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth -= 1,
                b'\\' if bytes.get(i + 1) == Some(&b'\n') => i += 1,
                b'\n' if depth <= 0 => return i + 1,
                _ => {}
            },
        }
        i += 1;
    }
    text.len()
}

/// Where a new import line goes: after the last module-level import (or the docstring).
fn import_position(text: &str, summary: &FileSummary) -> usize {
    let last_import = summary.imports.iter().map(|b| b.range.end()).max();
    match last_import {
        Some(end) => statement_end(text, end.saturating_sub(1)),
        None => 0,
    }
}

/// The edits making `names` of `module` available at module level of the file (only those
/// not bound yet).
fn ensure_imported(file: &FileCtx, module: &str, names: &[&str]) -> Option<FileEdit> {
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !file.summary.bindings.contains_key(*n))
        .collect();
    if missing.is_empty() {
        return None;
    }
    let at = import_position(file.text, file.summary);
    let separator = if at > 0 && !file.text[..at].ends_with('\n') {
        "\n"
    } else {
        ""
    };
    Some(insert(
        file.path,
        at,
        format!("{separator}from {module} import {}\n", missing.join(", ")),
    ))
}

/// The typing and planai names an annotation uses.
fn imports_for_annotation(file: &FileCtx, annotation: &str) -> Vec<FileEdit> {
    let has = |word: &str| {
        annotation
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|w| w == word)
    };
    let typing: Vec<&str> = ["List", "Type"].into_iter().filter(|n| has(n)).collect();
    let planai: Vec<&str> = ["Task", "TaskWorker"]
        .into_iter()
        .filter(|n| has(n))
        .collect();
    let mut out = Vec::new();
    out.extend(ensure_imported(file, "typing", &typing));
    out.extend(ensure_imported(file, "planai", &planai));
    merge_inserts(out)
}

/// Two inserts at the same offset become one (in order), so clients that reject overlapping
/// edits accept them.
fn merge_inserts(edits: Vec<FileEdit>) -> Vec<FileEdit> {
    let mut out: Vec<FileEdit> = Vec::new();
    for e in edits {
        match out
            .iter_mut()
            .find(|o| o.path == e.path && o.range == e.range && o.range.is_empty())
        {
            Some(o) if e.range.is_empty() => o.new_text.push_str(&e.new_text),
            _ => out.push(e),
        }
    }
    out
}

fn enclosing_class(summary: &FileSummary, offset: usize) -> Option<&ClassSummary> {
    summary
        .classes
        .iter()
        .map(|c| &**c)
        .filter(|c| c.range.start() <= offset && offset < c.range.end())
        .min_by_key(|c| c.range.end() - c.range.start())
}

/// The class statement's own file context, when the class is in another file of the host.
fn file_of<'a>(
    host: &'a AnalysisHost,
    path: &'a Path,
) -> Option<(std::sync::Arc<str>, std::sync::Arc<FileSummary>)> {
    Some((host.file_text(path)?, host.file_summary(path)?))
}

/// RT1/RT8: `output_types: ... = [A]` becomes `[A, T]`.
fn add_output_type(file: &FileCtx, d: &Diagnostic) -> Option<Fix> {
    let missing = word_after(&d.message, "cannot publish work of type ")?;
    let class = enclosing_class(file.summary, d.range.start())?;
    let attr = class.attrs.iter().find(|a| a.name == "output_types")?;
    let Some(Expr::List { elts, range }) = &attr.value else {
        return None;
    };
    let close = range.end() - 1;
    let new_text = if elts.is_empty() {
        missing.to_string()
    } else {
        format!(", {missing}")
    };
    let at = elts.last().map(|e| e.range().end()).unwrap_or(close);
    Some(Fix {
        title: format!("Add {missing} to {}'s output_types", class.name),
        diagnostic: None,
        edits: vec![insert(file.path, at, new_text)],
        preferred: true,
    })
}

/// GC11: the sunk type is added to the `output_types` the related information points at (the
/// declaration the worker's class inherits), importing the type there when needed.
fn add_sink_type(file: &FileCtx, d: &Diagnostic) -> Option<Fix> {
    let missing = word_after(&d.message, " does not have output type ")?;
    let related = d
        .related
        .iter()
        .find(|r| r.message.ends_with("'s output_types"))?;
    let path = related.path.as_deref().unwrap_or(file.path);
    let (text, summary) = file_of(file.host, path)?;
    let (class, attr) = summary.classes.iter().find_map(|c| {
        let attr = c.attrs.iter().find(|a| a.name_range == related.range)?;
        Some((c, attr))
    })?;
    let Some(Expr::List { elts, range }) = &attr.value else {
        return None;
    };
    let at = elts
        .last()
        .map(|e| e.range().end())
        .unwrap_or(range.end() - 1);
    let new_text = if elts.is_empty() {
        missing.to_string()
    } else {
        format!(", {missing}")
    };
    let target = FileCtx {
        host: file.host,
        path,
        text: &text,
        summary: &summary,
    };
    let mut edits = vec![insert(path, at, new_text)];
    edits.extend(import_class_edit(&target, missing));
    Some(Fix {
        title: format!("Add {missing} to {}'s output_types", class.name),
        diagnostic: None,
        edits,
        preferred: true,
    })
}

/// CD1: `prompt = "..."` becomes `prompt: str = "..."`.
fn annotate_field(file: &FileCtx, d: &Diagnostic) -> Option<Fix> {
    let name = file.text.get(d.range.start()..d.range.end())?;
    let marker = format!("e.g. `{name}: ");
    let start = d.message.find(&marker)? + marker.len();
    let end = start + d.message[start..].find(" = ...`")?;
    let annotation = &d.message[start..end];
    if annotation.contains('<') {
        return None;
    }
    let mut edits = vec![insert(file.path, d.range.end(), format!(": {annotation}"))];
    edits.extend(imports_for_annotation(file, annotation));
    Some(Fix {
        title: format!("Annotate {name} as {annotation}"),
        diagnostic: None,
        edits,
        preferred: true,
    })
}

/// The method of `summary` whose parameter has `name_range` (any class).
fn method_with_param(summary: &FileSummary, name_range: TextRange) -> Option<&FunctionSummary> {
    summary
        .classes
        .iter()
        .flat_map(|c| c.methods.iter())
        .find(|m| m.params.iter().any(|p| p.name_range == name_range))
}

/// The identifiers `name` inside `f`'s body (reads and writes, not attributes or keywords),
/// found with tree-sitter.
fn uses_in_body(text: &str, f: &FunctionSummary, name: &str) -> Option<Vec<TextRange>> {
    let tree = crate::syntax::parse(text)?;
    let mut out = Vec::new();
    let mut cursor = tree.walk();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.end_byte() <= f.range.start() || node.start_byte() >= f.range.end() {
            continue;
        }
        if node.kind() == "identifier" && &text[node.byte_range()] == name {
            let parent = node.parent();
            let is_attribute = parent.is_some_and(|p| {
                p.kind() == "attribute" && p.field(Field::Attribute) == Some(node)
            });
            let is_keyword = parent.is_some_and(|p| {
                p.kind() == "keyword_argument" && p.field(Field::Name) == Some(node)
            });
            if !is_attribute && !is_keyword {
                out.push(TextRange::new(node.start_byte(), node.end_byte()));
            }
        }
        stack.extend(node.children(&mut cursor));
    }
    Some(out)
}

/// GC5 "must have type hints": rename the parameter to `task` (with its uses), and/or
/// annotate it with a type the upstream of the edge produces.
fn consume_work_signature(
    file: &FileCtx,
    d: &Diagnostic,
    model: &graph_model::GraphModel,
) -> Vec<Fix> {
    let mut out = Vec::new();
    if !d.message.contains("must have type hints") {
        return out;
    }
    let Some(related) = d.related.first() else {
        return out;
    };
    let method_path = related.path.as_deref().unwrap_or(file.path);
    let Some((text, summary)) = file_of(file.host, method_path) else {
        return out;
    };
    let Some(method) = method_with_param(&summary, related.range) else {
        return out;
    };
    let Some(param) = method.params.iter().find(|p| p.name_range == related.range) else {
        return out;
    };
    let method_file = FileCtx {
        host: file.host,
        path: method_path,
        text: &text,
        summary: &summary,
    };
    let mut rename = Vec::new();
    if param.name != "task" {
        let Some(uses) = uses_in_body(&text, method, &param.name) else {
            return out;
        };
        let taken = uses_in_body(&text, method, "task").is_none_or(|u| !u.is_empty());
        if taken {
            return out;
        }
        rename = uses
            .into_iter()
            .map(|r| edit(method_path, r, "task"))
            .collect::<Vec<_>>();
        if param.annotation.is_some() {
            out.push(Fix {
                title: format!("Rename parameter {} to task", param.name),
                diagnostic: None,
                edits: rename.clone(),
                preferred: true,
            });
            return out;
        }
    }
    if param.annotation.is_some() {
        return out;
    }
    // The types the upstream of this edge produces.
    let edge = model
        .graphs
        .iter()
        .flat_map(|g| g.edges.iter().map(move |e| (g, e)))
        .find(|(_, e)| e.location.path == file.path && e.location.range == d.range);
    let Some((graph, edge)) = edge else {
        return out;
    };
    for task_type in graph.nodes[edge.upstream].produces.iter().flatten() {
        let mut edits = rename.clone();
        edits.push(insert(
            method_path,
            param.name_range.end(),
            format!(": {task_type}"),
        ));
        if let Some(import) = import_class_edit(&method_file, task_type) {
            edits.push(import);
        }
        let title = if param.name == "task" {
            format!("Annotate task as {task_type}")
        } else {
            format!("Rename {} to task: {task_type}", param.name)
        };
        out.push(Fix {
            title,
            diagnostic: None,
            edits,
            preferred: false,
        });
    }
    out
}

/// The import of the user Task class `name` into `file` when it is not bound there (found in
/// the workspace; `None` when bound, or not found, or ambiguous).
fn import_class_edit(file: &FileCtx, name: &str) -> Option<FileEdit> {
    if file.summary.bindings.contains_key(name) {
        return None;
    }
    let (module, _) = task_class_modules(file.host, file.path, name)
        .into_iter()
        .next()?;
    ensure_imported(file, &module, &[name])
}

/// Workspace modules (other than `path`) defining a Task class `name`, with their files.
fn task_class_modules(host: &AnalysisHost, path: &Path, name: &str) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for other in host.files() {
        if other == path {
            continue;
        }
        let Some(summary) = host.file_summary(other) else {
            continue;
        };
        if !summary.classes.iter().any(|c| c.name == name) {
            continue;
        }
        let is_task = host
            .planai_classes(other)
            .iter()
            .any(|c| c.name == name && c.kind == super::PlanaiClassKind::Task);
        if let (true, Some(module)) = (is_task, host.module_names(other).first()) {
            out.push((module.clone(), other.to_path_buf()));
        }
    }
    out.sort();
    out
}

/// GC6 "must be List[Type]": `tasks: Fact` becomes `tasks: List[Fact]`.
fn wrap_in_list(file: &FileCtx, d: &Diagnostic) -> Option<Fix> {
    if !d.message.contains("must be List[Type] but got") {
        return None;
    }
    let related = d.related.first()?;
    let path = related.path.as_deref().unwrap_or(file.path);
    let (text, summary) = file_of(file.host, path)?;
    let annotation = text.get(related.range.start()..related.range.end())?;
    // `Sequence[X]` keeps its element type; a bare `X` is wrapped.
    let inner = match annotation.find('[') {
        Some(open) if annotation.ends_with(']') => &annotation[open + 1..annotation.len() - 1],
        _ => annotation,
    };
    let target = FileCtx {
        host: file.host,
        path,
        text: &text,
        summary: &summary,
    };
    let mut edits = vec![edit(path, related.range, format!("List[{inner}]"))];
    edits.extend(ensure_imported(&target, "typing", &["List"]));
    Some(Fix {
        title: format!("Change the annotation to List[{inner}]"),
        diagnostic: None,
        edits,
        preferred: true,
    })
}

/// IN9 with a suggestion: the keyword renamed to the field it most likely means.
fn use_field_meant(file: &FileCtx, d: &Diagnostic) -> Option<Fix> {
    let meant = word_after(&d.message, "did you mean `")?;
    let typed = file.text.get(d.range.start()..d.range.end())?;
    Some(Fix {
        title: format!("Change `{typed}` to `{meant}`"),
        diagnostic: None,
        edits: vec![edit(file.path, d.range, meant)],
        preferred: true,
    })
}

/// IN5: `llm_output_type: Type[Task] = T` for each output type `T` of the class.
fn add_llm_output_type(file: &FileCtx, d: &Diagnostic) -> Vec<Fix> {
    let mut out = Vec::new();
    let Some(class_name) = word_after(&d.message, "exactly one output_type (") else {
        return out;
    };
    let Some(location) = file
        .host
        .resolve_class_at(file.path, d.range.start(), class_name)
    else {
        return out;
    };
    let Some(path) = location.path else {
        return out;
    };
    let Some((text, summary)) = file_of(file.host, &path) else {
        return out;
    };
    let Some(class) = summary
        .classes
        .iter()
        .find(|c| c.name_range == location.name_range)
    else {
        return out;
    };
    let Some(attr) = class.attrs.iter().find(|a| a.name == "output_types") else {
        return out;
    };
    let Some(Expr::List { elts, .. }) = &attr.value else {
        return out;
    };
    let target = FileCtx {
        host: file.host,
        path: &path,
        text: &text,
        summary: &summary,
    };
    let at = statement_end(&text, attr.range.start());
    let indent = indentation_at(&text, attr.range.start());
    for e in elts {
        let Some(type_name) = text.get(e.range().start()..e.range().end()) else {
            continue;
        };
        let mut edits = vec![insert(
            &path,
            at,
            format!("{indent}llm_output_type: Type[Task] = {type_name}\n"),
        )];
        edits.extend(imports_for_annotation(&target, "Type[Task]"));
        out.push(Fix {
            title: format!("Set {class_name}.llm_output_type to {type_name}"),
            diagnostic: None,
            edits,
            preferred: false,
        });
    }
    out
}

/// The offset after the last statement wiring `graph` in `path` (adds, edges, sinks).
fn after_wiring(text: &str, path: &Path, graph: &GraphInfo) -> Option<usize> {
    let ranges = graph
        .nodes
        .iter()
        .filter_map(|n| n.added.as_ref())
        .chain(graph.edges.iter().map(|e| &e.location))
        .chain(graph.sinks.iter().map(|s| &s.location))
        .filter(|l| l.path == path)
        .map(|l| l.range.end());
    let last = ranges.max()?;
    Some(statement_end(text, last.saturating_sub(1)))
}

/// RT3: `graph.set_sink(worker, T)`, or a new worker class that consumes `T`, created, added
/// and wired after the publishing worker.
fn collect_or_consume(file: &FileCtx, d: &Diagnostic, model: &graph_model::GraphModel) -> Vec<Fix> {
    let mut out = Vec::new();
    let Some(task_type) = word_after(&d.message, "No consumer registered for ") else {
        return out;
    };
    let Some(publisher) = word_after(&d.message, &format!("{task_type}: ")) else {
        return out;
    };
    for graph in &model.graphs {
        let Some(graph_variable) = &graph.variable else {
            continue;
        };
        let Some(node) = graph.nodes.iter().find(|n| n.class == publisher) else {
            continue;
        };
        let Some(worker) = &node.variable else {
            continue;
        };
        let Some(at) = after_wiring(file.text, file.path, graph) else {
            continue;
        };
        let anchor = at.saturating_sub(1);
        let indent = indentation_at(file.text, anchor.min(file.text.len().saturating_sub(1)));
        out.push(Fix {
            title: format!(
                "Collect {task_type} with {graph_variable}.set_sink({worker}, {task_type})"
            ),
            diagnostic: None,
            edits: vec![insert(
                file.path,
                at,
                format!("{indent}{graph_variable}.set_sink({worker}, {task_type})\n"),
            )],
            preferred: true,
        });
        // A new worker class, before the function (or statement) that builds the graph.
        let class_at = match &graph.scope {
            Some(scope) => file
                .summary
                .functions
                .iter()
                .find(|f| f.name == scope.as_str())
                .map(|f| line_start(file.text, f.range.start())),
            None => graph
                .created
                .as_ref()
                .filter(|c| c.path == file.path)
                .map(|c| line_start(file.text, c.range.start())),
        };
        let Some(class_at) = class_at else {
            break;
        };
        let mut class_name = format!("{task_type}Consumer");
        let mut counter = 1;
        while file.summary.bindings.contains_key(class_name.as_str()) {
            counter += 1;
            class_name = format!("{task_type}Consumer{counter}");
        }
        let mut variable = snake_case(&class_name);
        while graph
            .nodes
            .iter()
            .any(|n| n.variable.as_deref() == Some(&variable))
        {
            variable.push('_');
        }
        let mut edits = vec![
            insert(
                file.path,
                class_at,
                format!(
                    "class {class_name}(TaskWorker):\n    def consume_work(self, task: {task_type}):\n        pass  # handle the {task_type}\n\n\n"
                ),
            ),
            insert(
                file.path,
                at,
                format!(
                    "{indent}{variable} = {class_name}()\n{indent}{graph_variable}.add_workers({variable})\n{indent}{graph_variable}.set_dependency({worker}, {variable})\n"
                ),
            ),
        ];
        edits.extend(ensure_imported(file, "planai", &["TaskWorker"]));
        out.push(Fix {
            title: format!("Create a worker {class_name} consuming {task_type} after {worker}"),
            diagnostic: None,
            edits: merge_inserts(edits),
            preferred: false,
        });
        break;
    }
    out
}

fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The identifier at `range`'s start, when it names nothing in the file but a Task class of
/// another workspace module: `from module import Name`.
fn import_task_class(file: &FileCtx, range: TextRange) -> Vec<Fix> {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let at = range.start().min(file.text.len());
    if !file.text.is_char_boundary(at) {
        return Vec::new();
    }
    let start = file.text[..at]
        .char_indices()
        .rev()
        .find(|(_, c)| !is_ident(*c))
        .map(|(i, c)| i + c.len_utf8())
        .unwrap_or(0);
    let end = file.text[at..]
        .find(|c: char| !is_ident(c))
        .map(|i| at + i)
        .unwrap_or(file.text.len());
    let name = &file.text[start..end];
    if name.is_empty()
        || !name.chars().next().is_some_and(|c| c.is_uppercase())
        || file.summary.bindings.contains_key(name)
    {
        return Vec::new();
    }
    task_class_modules(file.host, file.path, name)
        .into_iter()
        .filter_map(|(module, _)| {
            Some(Fix {
                title: format!("Import {name} from {module}"),
                diagnostic: None,
                edits: vec![ensure_imported(file, &module, &[name])?],
                preferred: false,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
