//! The whole model of the graphs a file builds: per graph its workers (class, PlanAI kind,
//! consumed and produced types, static LLM settings, where the class is defined and where the
//! worker is created), entries, sinks and typed edges with the calls that made them, and the
//! Task types involved with their fields. What `planai/graph`, `planai.showGraph` (DOT) and
//! `planai-lsp graph` show; computed by the graph interpreter (`checks::graph`), so the
//! picture and the diagnostics never disagree.
//!
//! Byte ranges and paths only: the server and the CLI convert them to their positions.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::builtins;
use super::checks::graph::{collect_graphs, BuiltGraph, BuiltWorker, Site};
use super::consumed::{ConsumedTypes, OutputTypes};
use super::resolve::{ClassRef, Ctx};
use super::summary::{ClassAttr, Expr};
use super::AnalysisHost;
use crate::diagnostics::TextRange;

/// A range in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    pub range: TextRange,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GraphModel {
    pub graphs: Vec<GraphInfo>,
    /// The user-defined Task classes of the file and those the graphs pass along, in that
    /// order, each once.
    pub tasks: Vec<TaskInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphInfo {
    /// The builder function (`None` at module level; `Class.method` for methods).
    pub scope: Option<String>,
    /// The variable the graph is first assigned to.
    pub variable: Option<String>,
    /// `Graph(name="...")`, when a literal.
    pub name: Option<String>,
    /// The `Graph(...)` call.
    pub created: Option<Location>,
    pub nodes: Vec<NodeInfo>,
    pub entries: Vec<EntryInfo>,
    pub edges: Vec<EdgeInfo>,
    pub sinks: Vec<SinkInfo>,
    /// The graph reaches code the analysis does not follow (returned to a caller that is not
    /// interpreted, passed to a function, changed in a loop or a branch): it may have more
    /// than is shown.
    pub partial: bool,
}

impl GraphInfo {
    /// The name a user picks the graph by: the builder function, else the graph's name.
    pub fn title(&self) -> String {
        match (&self.scope, &self.name) {
            (Some(scope), _) => scope.clone(),
            (None, Some(name)) => name.clone(),
            (None, None) => "module level".to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// Unique in its graph: the variable, else the class name with a counter.
    pub id: String,
    pub variable: Option<String>,
    /// The worker's class, or the expression's text when the class is unknown.
    pub class: String,
    /// The most specific PlanAI base (`LLMTaskWorker`, `JoinedTaskWorker`, `TaskWorker` ...),
    /// `None` when the class is unknown.
    pub kind: Option<String>,
    /// Consumed types (`None`: not statically known).
    pub consumes: Option<Vec<String>>,
    /// Output types (`None`: not statically known).
    pub produces: Option<Vec<String>>,
    pub llm: Option<LlmSettings>,
    /// The class statement's name (user classes only).
    pub class_location: Option<Location>,
    /// The instantiation call.
    pub instantiation: Option<Location>,
    /// The `add_worker(s)` argument that added it to the graph.
    pub added: Option<Location>,
}

/// An LLM worker's settings where the code states them as literals or classes; `None` where
/// they are dynamic or left to PlanAI's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LlmSettings {
    pub llm_input_type: Option<String>,
    pub llm_output_type: Option<String>,
    /// Dedented as `textwrap.dedent(...).strip()` would leave it, when statically known.
    pub prompt: Option<String>,
    pub system_prompt: Option<String>,
    /// From `llm=llm_from_config(provider=..., model_name=...)` at the instantiation.
    pub provider: Option<String>,
    pub model: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryInfo {
    /// Index into `GraphInfo::nodes`.
    pub node: usize,
    /// The `set_entry` argument or `run(initial_tasks=...)` pair.
    pub location: Location,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeInfo {
    /// Indices into `GraphInfo::nodes`.
    pub upstream: usize,
    pub downstream: usize,
    /// The one Task type passed along the edge, when known.
    pub task_type: Option<String>,
    /// The `set_dependency`/`next` call.
    pub location: Location,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkInfo {
    pub node: usize,
    pub task_type: String,
    /// The `set_sink`/`sink` call.
    pub location: Location,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInfo {
    pub name: String,
    pub location: Location,
    /// The bases as written.
    pub bases: Vec<String>,
    /// Fields declared in the class body (inherited ones are on the bases' entries).
    pub fields: Vec<FieldInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldInfo {
    pub name: String,
    /// The annotation as written.
    pub annotation: Option<String>,
    /// The default as written (`Field(default=...)` unwrapped).
    pub default: Option<String>,
    pub required: bool,
    /// `Field(description="...")`.
    pub description: Option<String>,
    pub location: Location,
}

/// The model of the graphs `path` builds.
pub fn graph_model(host: &AnalysisHost, path: &Path) -> GraphModel {
    let Some(file) = host.files.get(path) else {
        return GraphModel::default();
    };
    let mut ctx = Ctx::new(host);
    let built = collect_graphs(&mut ctx, &file.path);
    let mut graphs: Vec<GraphInfo> = Vec::new();
    let mut referenced: Vec<ClassRef> = Vec::new();
    for graph in dedup_inlined(built) {
        graphs.push(graph_info(&mut ctx, graph, &mut referenced));
    }
    let mut task_classes: Vec<ClassRef> = Vec::new();
    if let Some(summary) = ctx.summary(&file.path) {
        for i in 0..summary.classes.len() {
            let class = ClassRef::User(file.path.clone(), i);
            if ctx.derives_from_builtin(&class, "Task") {
                task_classes.push(class);
            }
        }
    }
    for class in referenced {
        if !task_classes.contains(&class) && ctx.derives_from_builtin(&class, "Task") {
            task_classes.push(class);
        }
    }
    let tasks = task_classes
        .iter()
        .filter_map(|c| task_info(&ctx, c))
        .collect();
    GraphModel { graphs, tasks }
}

/// A factory called from `main()` is interpreted again inside `main` (so the caller's
/// `run(...)` sees its workers): the same `Graph(...)` call then shows up in both scopes. One
/// graph per creating call is kept: the most complete view, named after the first scope.
fn dedup_inlined(built: Vec<BuiltGraph>) -> Vec<BuiltGraph> {
    fn weight(g: &BuiltGraph) -> usize {
        g.workers.len() + g.edges.len() + g.entries.len() + g.sinks.len()
    }
    let mut out: Vec<BuiltGraph> = Vec::new();
    for mut graph in built {
        let same = graph
            .created
            .as_ref()
            .and_then(|site| out.iter().position(|g| g.created.as_ref() == Some(site)));
        match same {
            Some(i) => {
                if weight(&graph) > weight(&out[i]) {
                    graph.scope = out[i].scope.take();
                    graph.variable = out[i].variable.take().or(graph.variable);
                    out[i] = graph;
                }
            }
            None => out.push(graph),
        }
    }
    out
}

fn location((path, range): &Site) -> Location {
    Location {
        path: path.to_path_buf(),
        range: *range,
    }
}

fn graph_info(ctx: &mut Ctx, graph: BuiltGraph, referenced: &mut Vec<ClassRef>) -> GraphInfo {
    let mut nodes: Vec<NodeInfo> = Vec::with_capacity(graph.workers.len());
    for worker in &graph.workers {
        let node = node_info(ctx, worker, &nodes, referenced);
        nodes.push(node);
    }
    let mut remember = |c: &ClassRef| {
        if !referenced.contains(c) {
            referenced.push(c.clone());
        }
    };
    let edges = graph
        .edges
        .iter()
        .map(|e| {
            if let Some(t) = &e.task_type {
                remember(t);
            }
            EdgeInfo {
                upstream: e.upstream,
                downstream: e.downstream,
                task_type: e.task_type.as_ref().map(|t| ctx.class_name(t)),
                location: location(&e.site),
            }
        })
        .collect();
    let sinks = graph
        .sinks
        .iter()
        .map(|(node, t, site)| {
            remember(t);
            SinkInfo {
                node: *node,
                task_type: ctx.class_name(t),
                location: location(site),
            }
        })
        .collect();
    GraphInfo {
        scope: graph.scope,
        variable: graph.variable,
        name: graph.name,
        created: graph.created.as_ref().map(location),
        nodes,
        entries: graph
            .entries
            .iter()
            .map(|(node, site)| EntryInfo {
                node: *node,
                location: location(site),
            })
            .collect(),
        edges,
        sinks,
        partial: graph.partial,
    }
}

fn node_info(
    ctx: &mut Ctx,
    worker: &BuiltWorker,
    earlier: &[NodeInfo],
    referenced: &mut Vec<ClassRef>,
) -> NodeInfo {
    let mut remember = |c: &ClassRef| {
        if !referenced.contains(c) {
            referenced.push(c.clone());
        }
    };
    let consumes = match &worker.consumed {
        ConsumedTypes::Known(types) => Some(
            types
                .iter()
                .map(|t| {
                    if let super::consumed::TypeKey::Class(c) = t {
                        remember(c);
                    }
                    t.display(ctx)
                })
                .collect(),
        ),
        _ => None,
    };
    let produces = match &worker.outputs {
        OutputTypes::Known(types) => Some(
            types
                .iter()
                .map(|c| {
                    remember(c);
                    ctx.class_name(c)
                })
                .collect(),
        ),
        OutputTypes::Unknown => None,
    };
    let kind = worker.class.as_ref().and_then(|c| planai_kind(ctx, c));
    let llm = match (&worker.class, kind.as_deref()) {
        (Some(class), Some("LLMTaskWorker" | "ChatTaskWorker")) => {
            Some(llm_settings(ctx, class, worker.call.as_ref()))
        }
        _ => None,
    };
    let base_id = worker
        .variable
        .clone()
        .unwrap_or_else(|| worker.display.clone());
    let mut id = base_id.clone();
    let mut counter = 1;
    while earlier.iter().any(|n| n.id == id) {
        counter += 1;
        id = format!("{base_id}_{counter}");
    }
    NodeInfo {
        id,
        variable: worker.variable.clone(),
        class: worker.display.clone(),
        kind,
        consumes,
        produces,
        llm,
        class_location: worker.class.as_ref().and_then(|c| class_location(ctx, c)),
        instantiation: worker.call.as_ref().map(location),
        added: worker.added.as_ref().map(location),
    }
}

/// The first of PlanAI's own classes in the MRO of `class`.
fn planai_kind(ctx: &mut Ctx, class: &ClassRef) -> Option<String> {
    ctx.mro(class).classes.iter().find_map(|c| match c {
        ClassRef::Builtin(id) => Some(builtins::class(*id).name.to_string()),
        ClassRef::User(..) => None,
    })
}

fn class_location(ctx: &Ctx, class: &ClassRef) -> Option<Location> {
    let (path, summary) = ctx.user_class(class)?;
    Some(Location {
        path: path.to_path_buf(),
        range: summary.name_range,
    })
}

/// The class attribute `name` as the nearest class of the MRO defines it, with its file.
fn class_attr<'h>(
    ctx: &mut Ctx<'h>,
    class: &ClassRef,
    name: &str,
) -> Option<(Arc<Path>, &'h ClassAttr)> {
    let mro = ctx.mro(class);
    for c in &mro.classes {
        if let Some((path, summary)) = ctx.user_class(c) {
            if let Some(attr) = summary.attrs.iter().find(|a| a.name == name) {
                return Some((path.clone(), attr));
            }
        }
    }
    None
}

fn llm_settings(ctx: &mut Ctx, class: &ClassRef, call: Option<&Site>) -> LlmSettings {
    let call_expr = call.and_then(|(path, range)| find_call(ctx, path, *range));
    let mut settings = LlmSettings::default();
    for (field, slot) in [
        ("llm_input_type", &mut settings.llm_input_type),
        ("llm_output_type", &mut settings.llm_output_type),
    ] {
        let from_call = call_expr
            .as_ref()
            .and_then(|(path, c)| Some((path.clone(), &c.keyword(field)?.value)));
        let from_class = || {
            class_attr(ctx, class, field)
                .and_then(|(path, attr)| Some((path, attr.value.as_ref()?)))
        };
        if let Some((path, expr)) = from_call.or_else(from_class) {
            *slot = ctx.resolve_class(&path, expr).map(|c| ctx.class_name(&c));
        }
    }
    for (field, slot) in [
        ("prompt", &mut settings.prompt),
        ("system_prompt", &mut settings.system_prompt),
    ] {
        let from_call = call_expr
            .as_ref()
            .map(|(_, c)| c.keyword(field).map(|k| &k.value));
        let expr = match from_call {
            Some(Some(e)) => Some(e),
            _ => class_attr(ctx, class, field).and_then(|(_, attr)| attr.value.as_ref()),
        };
        *slot = expr.and_then(static_string);
    }
    if let Some((_, c)) = &call_expr {
        if let Some(Expr::Call(llm)) = c.keyword("llm").map(|k| &k.value) {
            if llm.func.as_name() == Some("llm_from_config") {
                let literal = |name: &str| match llm.keyword(name).map(|k| &k.value) {
                    Some(Expr::Str { value, .. }) => Some(value.to_string()),
                    _ => None,
                };
                settings.provider = literal("provider");
                settings.model = literal("model_name");
            }
        }
    }
    settings
}

/// The call expression at `range` of `path` (a worker's instantiation).
fn find_call<'h>(
    ctx: &Ctx<'h>,
    path: &Arc<Path>,
    range: TextRange,
) -> Option<(Arc<Path>, &'h super::summary::CallExpr)> {
    let summary = ctx.summary(path)?;
    let mut found = None;
    let mut visit = |e: &'h Expr| {
        e.for_each_call(&mut |c| {
            if found.is_none() && c.range == range {
                found = Some(c);
            }
        })
    };
    super::summary::walk_exprs(&summary.body, &mut visit);
    for f in &summary.functions {
        walk_function(f, &mut visit);
    }
    for c in &summary.classes {
        for m in &c.methods {
            walk_function(m, &mut visit);
        }
    }
    found.map(|c| (path.clone(), c))
}

fn walk_function<'h>(f: &'h super::summary::FunctionSummary, visit: &mut dyn FnMut(&'h Expr)) {
    super::summary::walk_exprs(&f.body, visit);
    super::summary::walk_stmts(&f.body, &mut |s| {
        if let super::summary::Stmt::LocalFunction(inner) = s {
            super::summary::walk_exprs(&inner.body, visit);
        }
    });
}

/// A string the code states statically: a literal, `dedent(literal)`, `literal.strip()`.
fn static_string(e: &Expr) -> Option<String> {
    match e {
        Expr::Str { value, .. } => Some(value.to_string()),
        Expr::Call(c) if c.args.len() == 1 && c.keywords.is_empty() => {
            let callee = c.func.dotted()?.join(".");
            if callee == "dedent" || callee == "textwrap.dedent" {
                Some(dedent(&static_string(&c.args[0])?))
            } else {
                None
            }
        }
        Expr::Call(c) if c.args.is_empty() && c.keywords.is_empty() => match &c.func {
            Expr::Attribute { value, attr, .. } if attr == "strip" => {
                Some(static_string(value)?.trim().to_string())
            }
            _ => None,
        },
        _ => None,
    }
}

/// `textwrap.dedent`: removes the common leading whitespace of the non-blank lines and
/// empties whitespace-only lines.
pub fn dedent(text: &str) -> String {
    let margin = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if !line.trim().is_empty() {
            out.push_str(&line[margin.min(line.len())..]);
        }
    }
    out
}

fn task_info(ctx: &Ctx, class: &ClassRef) -> Option<TaskInfo> {
    let (path, summary) = ctx.user_class(class)?;
    let text = ctx.file(path)?.text.clone();
    let source = |r: TextRange| text.get(r.start()..r.end()).map(str::to_string);
    let fields = summary
        .attrs
        .iter()
        .filter(|a| a.annotation.is_some() && !a.name.starts_with('_'))
        .map(|a| {
            let (default, required, description) = field_default(a, &source);
            FieldInfo {
                name: a.name.to_string(),
                annotation: a.annotation.as_ref().and_then(|e| source(e.range())),
                default,
                required,
                description,
                location: Location {
                    path: path.to_path_buf(),
                    range: a.name_range,
                },
            }
        })
        .collect();
    Some(TaskInfo {
        name: summary.name.to_string(),
        location: Location {
            path: path.to_path_buf(),
            range: summary.name_range,
        },
        bases: summary
            .bases
            .iter()
            .filter_map(|b| source(b.range()))
            .collect(),
        fields,
    })
}

/// `(default as written, required, description)` of a field; `Field(...)` is looked into.
fn field_default(
    attr: &ClassAttr,
    source: &impl Fn(TextRange) -> Option<String>,
) -> (Option<String>, bool, Option<String>) {
    let Some(value) = &attr.value else {
        return (None, true, None);
    };
    match value {
        Expr::Call(c) if c.func.as_name() == Some("Field") => {
            let description = match c.keyword("description").map(|k| &k.value) {
                Some(Expr::Str { value, .. }) => Some(value.to_string()),
                _ => None,
            };
            let default = c
                .arg(0, "default")
                .filter(|e| !matches!(e, Expr::Literal { repr, .. } if repr == "Ellipsis"))
                .and_then(|e| source(e.range()));
            let factory = c
                .keyword("default_factory")
                .and_then(|k| source(k.value.range()))
                .map(|f| format!("{f}()"));
            let default = default.or(factory);
            let required = default.is_none() && !c.has_splat();
            (default, required, description)
        }
        other => (source(other.range()), false, None),
    }
}

/// The model as JSON (camelCase, the shape of `planai/graph` and `planai-lsp graph --format
/// json`); `locate` renders a location (the server: `{uri, range}` in LSP positions).
pub fn to_json(
    model: &GraphModel,
    locate: &mut dyn FnMut(&Location) -> serde_json::Value,
) -> serde_json::Value {
    use serde_json::{json, Value};
    let mut optional = |l: &Option<Location>| l.as_ref().map(&mut *locate).unwrap_or(Value::Null);
    let graphs: Vec<Value> = model
        .graphs
        .iter()
        .map(|g| {
            let nodes: Vec<Value> = g
                .nodes
                .iter()
                .map(|n| {
                    json!({
                        "id": n.id,
                        "variable": n.variable,
                        "class": n.class,
                        "kind": n.kind,
                        "consumes": n.consumes,
                        "produces": n.produces,
                        "llm": n.llm.as_ref().map(|l| json!({
                            "llmInputType": l.llm_input_type,
                            "llmOutputType": l.llm_output_type,
                            "prompt": l.prompt,
                            "systemPrompt": l.system_prompt,
                            "provider": l.provider,
                            "model": l.model,
                        })),
                        "classLocation": optional(&n.class_location),
                        "instantiation": optional(&n.instantiation),
                    })
                })
                .collect();
            let entries: Vec<Value> = g
                .entries
                .iter()
                .map(|e| json!({"node": g.nodes[e.node].id, "location": optional(&Some(e.location.clone()))}))
                .collect();
            let edges: Vec<Value> = g
                .edges
                .iter()
                .map(|e| {
                    json!({
                        "upstream": g.nodes[e.upstream].id,
                        "downstream": g.nodes[e.downstream].id,
                        "taskType": e.task_type,
                        "location": optional(&Some(e.location.clone())),
                    })
                })
                .collect();
            let sinks: Vec<Value> = g
                .sinks
                .iter()
                .map(|s| {
                    json!({
                        "node": g.nodes[s.node].id,
                        "taskType": s.task_type,
                        "location": optional(&Some(s.location.clone())),
                    })
                })
                .collect();
            json!({
                "title": g.title(),
                "scope": g.scope,
                "variable": g.variable,
                "name": g.name,
                "created": optional(&g.created),
                "nodes": nodes,
                "entries": entries,
                "edges": edges,
                "sinks": sinks,
                "partial": g.partial,
            })
        })
        .collect();
    let tasks: Vec<Value> = model
        .tasks
        .iter()
        .map(|t| {
            let fields: Vec<Value> = t
                .fields
                .iter()
                .map(|f| {
                    json!({
                        "name": f.name,
                        "annotation": f.annotation,
                        "default": f.default,
                        "required": f.required,
                        "description": f.description,
                        "location": optional(&Some(f.location.clone())),
                    })
                })
                .collect();
            json!({
                "name": t.name,
                "bases": t.bases,
                "location": optional(&Some(t.location.clone())),
                "fields": fields,
            })
        })
        .collect();
    json!({ "graphs": graphs, "tasks": tasks })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TASKS: &str = "from typing import List, Type\n\nfrom planai import Graph, LLMTaskWorker, Task, TaskWorker, llm_from_config\n\n\nclass Question(Task):\n    text: str = Field(..., description=\"what is asked\")\n    lang: str = \"en\"\n\n\nclass Answer(Task):\n    text: str\n\n\nclass Asker(TaskWorker):\n    output_types: List[Type[Task]] = [Question]\n\n    def consume_work(self, task: Question):\n        self.publish_work(Question(text=task.text), input_task=task)\n\n\nclass Answerer(LLMTaskWorker):\n    output_types: List[Type[Task]] = [Answer]\n    llm_input_type: Type[Task] = Question\n    prompt: str = dedent(\"\"\"\n        Answer the question.\n          Briefly.\n        \"\"\").strip()\n\n\n";

    fn model_of(source: &str) -> GraphModel {
        let mut host = AnalysisHost::new();
        host.set_roots(vec![PathBuf::from("/ws")]);
        host.set_file(PathBuf::from("/ws/main.py"), Arc::from(source), None);
        graph_model(&host, Path::new("/ws/main.py"))
    }

    #[test]
    fn a_graph_has_its_workers_llm_settings_entries_edges_and_task_fields() {
        let source = format!(
            "{TASKS}def build():\n    graph = Graph(name=\"qa\")\n    asker = Asker()\n    answerer = Answerer(llm=llm_from_config(provider=\"openai\", model_name=\"gpt-4o\"))\n    graph.add_workers(asker, answerer)\n    graph.set_dependency(asker, answerer)\n    graph.set_entry(asker)\n    graph.set_sink(answerer, Answer)\n"
        );
        let model = model_of(&source);
        assert_eq!(model.graphs.len(), 1);
        let graph = &model.graphs[0];
        assert_eq!(graph.title(), "build");
        assert_eq!(graph.name.as_deref(), Some("qa"));
        assert!(!graph.partial, "nothing else can touch it");
        let answerer = &graph.nodes[1];
        assert_eq!(answerer.id, "answerer");
        assert_eq!(answerer.kind.as_deref(), Some("LLMTaskWorker"));
        assert_eq!(answerer.consumes, Some(vec!["Question".to_string()]));
        let llm = answerer.llm.as_ref().unwrap();
        assert_eq!(llm.provider.as_deref(), Some("openai"));
        assert_eq!(llm.model.as_deref(), Some("gpt-4o"));
        assert_eq!(llm.llm_input_type.as_deref(), Some("Question"));
        assert_eq!(llm.llm_output_type, None);
        assert_eq!(
            llm.prompt.as_deref(),
            Some("Answer the question.\n  Briefly.")
        );
        let class_name = answerer.class_location.as_ref().unwrap().range;
        assert_eq!(&source[class_name.start()..class_name.end()], "Answerer");
        let edge = &graph.edges[0];
        assert_eq!((edge.upstream, edge.downstream), (0, 1));
        assert_eq!(edge.task_type.as_deref(), Some("Question"));
        let call = edge.location.range;
        assert_eq!(
            &source[call.start()..call.end()],
            "set_dependency(asker, answerer)"
        );
        assert_eq!(graph.entries.len(), 1);
        assert_eq!(graph.entries[0].node, 0);
        assert_eq!(graph.sinks[0].task_type, "Answer");
        let question = model.tasks.iter().find(|t| t.name == "Question").unwrap();
        assert_eq!(question.bases, ["Task"]);
        let text = &question.fields[0];
        assert_eq!(text.annotation.as_deref(), Some("str"));
        assert!(text.required, "Field(...) is required");
        assert_eq!(text.description.as_deref(), Some("what is asked"));
        let lang = &question.fields[1];
        assert_eq!(
            (lang.default.as_deref(), lang.required),
            (Some("\"en\""), false)
        );
    }

    #[test]
    fn workers_without_variables_get_unique_ids_and_untracked_graphs_are_partial() {
        let source = format!(
            "{TASKS}graph = Graph(name=\"loose\")\ngraph.add_workers(Asker(), Asker())\nconfigure(graph)\n"
        );
        let model = model_of(&source);
        let graph = &model.graphs[0];
        assert_eq!(graph.title(), "loose");
        let ids: Vec<&str> = graph.nodes.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, ["Asker", "Asker_2"]);
        assert!(
            graph.partial,
            "handed to a function the analysis does not follow"
        );
    }

    #[test]
    fn a_factory_inlined_into_its_caller_is_one_graph_named_after_the_factory() {
        let source = format!(
            "{TASKS}def build():\n    graph = Graph(name=\"qa\")\n    asker = Asker()\n    graph.add_workers(asker)\n    return graph, asker\n\n\ndef main():\n    graph, entry = build()\n    graph.run(initial_tasks=[(entry, Question(text=\"?\"))])\n"
        );
        let model = model_of(&source);
        assert_eq!(model.graphs.len(), 1, "{:?}", model.graphs);
        let graph = &model.graphs[0];
        assert_eq!(graph.scope.as_deref(), Some("build"));
        assert_eq!(
            graph.entries.len(),
            1,
            "the caller's run(...) entry is kept"
        );
    }

    #[test]
    fn dedent_matches_textwrap() {
        assert_eq!(dedent("\n    a\n      b\n\n    c\n"), "\na\n  b\n\nc\n");
        assert_eq!(dedent("  \n\tx"), "\nx");
    }
}
