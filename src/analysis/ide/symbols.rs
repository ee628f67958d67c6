//! The outline of a file (hierarchical document symbols) and the workspace's PlanAI symbols.

use std::path::Path;
use std::sync::Arc;

use super::{names, Scope, Variable, VariableValue};
use crate::analysis::consumed;
use crate::analysis::resolve::{ClassRef, Ctx};
use crate::analysis::AnalysisHost;
use crate::diagnostics::TextRange;

/// What a symbol is; the server maps each to an LSP `SymbolKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutlineKind {
    Task,
    Field,
    Worker,
    /// Any other class.
    Class,
    Method,
    /// A module-level function that builds a graph.
    GraphBuilder,
    Function,
    Tool,
    Graph,
    WorkerVariable,
}

/// One entry of a file's outline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutlineSymbol {
    pub name: String,
    /// Shown next to the name: a Task's fields' type, a worker's `Question → Answer`.
    pub detail: Option<String>,
    pub kind: OutlineKind,
    pub range: TextRange,
    pub selection_range: TextRange,
    pub children: Vec<OutlineSymbol>,
}

/// The outline of `path`: classes (Tasks with their fields, workers with what they consume
/// and produce), functions (graph builders with their graphs and workers, tools), and the
/// workers and graphs of the module level, in source order.
pub fn document_symbols(host: &AnalysisHost, path: &Path) -> Vec<OutlineSymbol> {
    let Some(file) = host.files.get(path) else {
        return Vec::new();
    };
    let Some(summary) = file.summary.as_deref() else {
        return Vec::new();
    };
    let mut ctx = Ctx::new(host);
    let text = file.text.clone();
    let idents = names::identifiers(&text);
    let mut out = Vec::new();
    for (i, class) in summary.classes.iter().enumerate() {
        let cref = ClassRef::User(file.path.clone(), i);
        let (kind, detail, children) = if super::is_worker(&mut ctx, &cref) {
            let methods = class
                .methods
                .iter()
                .map(|m| leaf(&m.name, None, OutlineKind::Method, m.range, m.name_range))
                .collect();
            (
                OutlineKind::Worker,
                Some(super::flow_label(&mut ctx, &cref)),
                methods,
            )
        } else if super::is_task(&mut ctx, &cref) {
            let fields = class
                .attrs
                .iter()
                .filter(|a| {
                    a.annotation
                        .as_ref()
                        .is_some_and(|ann| !crate::analysis::checks::is_classvar(ann))
                        && !a.name.starts_with('_')
                })
                .map(|a| {
                    let detail = a.annotation.as_ref().map(consumed::render);
                    leaf(&a.name, detail, OutlineKind::Field, a.range, a.name_range)
                })
                .collect();
            (OutlineKind::Task, Some("Task".to_string()), fields)
        } else {
            let methods = class
                .methods
                .iter()
                .map(|m| leaf(&m.name, None, OutlineKind::Method, m.range, m.name_range))
                .collect();
            (OutlineKind::Class, None, methods)
        };
        out.push(OutlineSymbol {
            name: class.name.to_string(),
            detail,
            kind,
            range: class.range,
            selection_range: class.name_range,
            children,
        });
    }
    for (i, function) in summary.functions.iter().enumerate() {
        let variables = super::scope_variables(
            &mut ctx,
            &file.path,
            summary,
            Scope::Function(i),
            &text,
            &idents,
        );
        let is_tool = function
            .decorators
            .iter()
            .any(crate::analysis::check::is_tool_decorator);
        let builds_graph = variables.iter().any(|v| v.value == VariableValue::Graph);
        let (kind, detail) = if is_tool {
            (OutlineKind::Tool, Some("@tool".to_string()))
        } else if builds_graph {
            (OutlineKind::GraphBuilder, Some("graph builder".to_string()))
        } else {
            (OutlineKind::Function, None)
        };
        out.push(OutlineSymbol {
            name: function.name.to_string(),
            detail,
            kind,
            range: function.range,
            selection_range: function.name_range,
            children: variable_symbols(&mut ctx, &variables),
        });
    }
    let module_variables =
        super::scope_variables(&mut ctx, &file.path, summary, Scope::Module, &text, &idents);
    out.extend(variable_symbols(&mut ctx, &module_variables));
    out.sort_by_key(|s| s.range.start());
    out
}

fn leaf(
    name: &str,
    detail: Option<String>,
    kind: OutlineKind,
    range: TextRange,
    selection_range: TextRange,
) -> OutlineSymbol {
    OutlineSymbol {
        name: name.to_string(),
        detail,
        kind,
        range,
        selection_range,
        children: Vec::new(),
    }
}

fn variable_symbols(ctx: &mut Ctx, variables: &[Variable]) -> Vec<OutlineSymbol> {
    variables
        .iter()
        .map(|v| {
            let (kind, detail) = match &v.value {
                VariableValue::Graph => (OutlineKind::Graph, "Graph".to_string()),
                VariableValue::Worker(c) => (
                    OutlineKind::WorkerVariable,
                    format!("{}: {}", ctx.class_name(c), super::flow_label(ctx, c)),
                ),
            };
            // From the name to the end of the instantiating call.
            let range = TextRange::new(
                v.name_range.start(),
                v.call.range.end().max(v.name_range.end()),
            );
            leaf(&v.name, Some(detail), kind, range, v.name_range)
        })
        .collect()
}

/// A PlanAI symbol of the workspace, for `workspace/symbol`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceSymbol {
    pub name: String,
    pub kind: OutlineKind,
    /// The module it is defined in.
    pub container: Option<String>,
    pub path: Arc<Path>,
    pub range: TextRange,
}

/// The Task classes, worker classes, graph builders and tools of the workspace whose name
/// contains `query`'s characters in order (case-insensitive; an empty query matches all),
/// sorted by name, at most `limit`.
pub fn workspace_symbols(host: &AnalysisHost, query: &str, limit: usize) -> Vec<WorkspaceSymbol> {
    let mut ctx = Ctx::new(host);
    let mut out = Vec::new();
    let mut files: Vec<_> = host.files.values().collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    for file in files {
        let Some(summary) = file.summary.as_deref() else {
            continue;
        };
        let container = host.module_names(&file.path).first().cloned();
        let mut push = |name: &str, kind, range| {
            out.push(WorkspaceSymbol {
                name: name.to_string(),
                kind,
                container: container.clone(),
                path: file.path.clone(),
                range,
            })
        };
        for (i, class) in summary.classes.iter().enumerate() {
            if !fuzzy_match(&class.name, query) {
                continue;
            }
            let cref = ClassRef::User(file.path.clone(), i);
            if super::is_worker(&mut ctx, &cref) {
                push(&class.name, OutlineKind::Worker, class.name_range);
            } else if super::is_task(&mut ctx, &cref) {
                push(&class.name, OutlineKind::Task, class.name_range);
            }
        }
        for function in &summary.functions {
            if !fuzzy_match(&function.name, query) {
                continue;
            }
            if function
                .decorators
                .iter()
                .any(crate::analysis::check::is_tool_decorator)
            {
                push(&function.name, OutlineKind::Tool, function.name_range);
            } else if builds_graph(&mut ctx, &file.path, function) {
                push(
                    &function.name,
                    OutlineKind::GraphBuilder,
                    function.name_range,
                );
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.path.cmp(&b.path)));
    out.truncate(limit);
    out
}

/// Whether a module-level function creates a `Graph`.
pub fn builds_graph(
    ctx: &mut Ctx,
    path: &Arc<Path>,
    function: &crate::analysis::summary::FunctionSummary,
) -> bool {
    let locals = crate::analysis::function_bound_names(function);
    let mut found = false;
    crate::analysis::summary::walk_exprs(&function.body, &mut |e| {
        e.for_each_call(&mut |call| {
            if found {
                return;
            }
            let Some(root) = call.func.dotted_root() else {
                return;
            };
            if locals.contains(root) {
                return;
            }
            if let Some(c) = ctx.resolve_class(path, &call.func) {
                found = matches!(c, ClassRef::Builtin(_)) && ctx.class_name(&c) == "Graph";
            }
        })
    });
    found
}

/// Whether `query`'s characters appear in `name` in order, ignoring case.
fn fuzzy_match(name: &str, query: &str) -> bool {
    let mut name_chars = name.chars().flat_map(char::to_lowercase);
    query
        .chars()
        .flat_map(char::to_lowercase)
        .all(|q| name_chars.any(|n| n == q))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn the_outline_nests_fields_under_tasks_and_workers_under_graph_builders() {
        let host = qa_host();
        let tasks = document_symbols(&host, Path::new("/ws/tasks.py"));
        let question = &tasks[0];
        assert_eq!(
            (question.name.as_str(), question.kind),
            ("Question", OutlineKind::Task)
        );
        let fields: Vec<(&str, Option<&str>)> = question
            .children
            .iter()
            .map(|f| (f.name.as_str(), f.detail.as_deref()))
            .collect();
        assert_eq!(fields, vec![("text", Some("str")), ("rank", Some("int"))]);

        let workers = document_symbols(&host, Path::new("/ws/workers.py"));
        let summary: Vec<(&str, OutlineKind, Option<&str>)> = workers
            .iter()
            .map(|s| (s.name.as_str(), s.kind, s.detail.as_deref()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("Asker", OutlineKind::Worker, Some("Answer → Question")),
                ("Responder", OutlineKind::Worker, Some("Question → Answer")),
                ("lookup", OutlineKind::Tool, Some("@tool")),
            ]
        );

        let graph = document_symbols(&host, Path::new("/ws/graph.py"));
        assert_eq!(
            (graph[0].name.as_str(), graph[0].kind),
            ("build_graph", OutlineKind::GraphBuilder)
        );
        let inside: Vec<(&str, OutlineKind)> = graph[0]
            .children
            .iter()
            .map(|s| (s.name.as_str(), s.kind))
            .collect();
        assert_eq!(
            inside,
            vec![
                ("graph", OutlineKind::Graph),
                ("asker", OutlineKind::WorkerVariable),
                ("responder", OutlineKind::WorkerVariable)
            ]
        );
    }

    #[test]
    fn workspace_symbols_match_queries_fuzzily() {
        let host = qa_host();
        let all: Vec<(String, OutlineKind)> = workspace_symbols(&host, "", 100)
            .into_iter()
            .map(|s| (s.name, s.kind))
            .collect();
        assert_eq!(
            all,
            vec![
                ("Answer".to_string(), OutlineKind::Task),
                ("Asker".to_string(), OutlineKind::Worker),
                ("Question".to_string(), OutlineKind::Task),
                ("Responder".to_string(), OutlineKind::Worker),
                ("build_graph".to_string(), OutlineKind::GraphBuilder),
                ("lookup".to_string(), OutlineKind::Tool),
            ]
        );
        let found: Vec<String> = workspace_symbols(&host, "rsp", 100)
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(found, vec!["Responder".to_string()]);
        assert_eq!(workspace_symbols(&host, "", 2).len(), 2);
    }
}
