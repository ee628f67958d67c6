//! The exporter: a module's PlanAI model (the analysis' summary, and its class hierarchy) as
//! a version 2 editor graph the canvas can open.
//!
//! What the editor can hold is exported: Task classes with their fields, imported Tasks,
//! tools, worker classes (class variables, methods, the rest of the body as
//! `otherMembersSource`), one node per worker *instance* of the graph-building code (with its
//! LLM config), edges (`set_dependency`, `.next`), entries, sinks (as data-output nodes) and
//! initial tasks (as data-input nodes with their JSON). Module-level imports the editor does
//! not model become module-level import nodes. What it cannot hold (field defaults other than
//! `None`, graph code in loops) is reported as a warning.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use ruff_python_ast as ast;
use serde_json::{json, Map, Value};

use super::editor_graph::{
    EditorEdge, EditorNode, FieldDef, Position, SavedGraph, TaskDef, ToolDef, CURRENT_VERSION,
};
use super::python_text::is_identifier;
use super::to_python::KNOWN_FACTORIES;
use crate::analysis::resolve::{ClassRef, Ctx};
use crate::analysis::summary::{walk_stmts, AssignTarget, ClassSummary, Expr, FileSummary, Stmt};
use crate::analysis::{AnalysisHost, PlanaiClassInfo, PlanaiClassKind};
use crate::diagnostics::TextRange;

/// The graph exported from a module, and what it could not carry.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedGraph {
    pub graph: SavedGraph,
    pub warnings: Vec<String>,
}

impl ExportedGraph {
    /// The graph as the editor saves it (two-space indented JSON).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.graph).unwrap_or_default()
    }
}

/// Worker methods the editor shows as methods; the others go to `otherMembersSource`.
const KNOWN_METHODS: &[&str] = &[
    "consume_work",
    "consume_work_joined",
    "post_process",
    "pre_process",
    "format_prompt",
    "extra_validation",
    "pre_consume_work",
    "post_consume_work",
    "extra_cache_key",
];

/// Class variables the editor models.
const KNOWN_CLASS_VARS: &[&str] = &[
    "output_types",
    "llm_input_type",
    "llm_output_type",
    "join_type",
    "prompt",
    "system_prompt",
    "use_xml",
    "debug_mode",
    "tools",
];

/// PlanAI's own Task classes a graph may use without defining them.
const PLANAI_TASKS: &[&str] = &["ChatTask", "ChatMessage"];

/// Modules whose imports the generated module writes itself (not module-level import nodes).
const MODULES_WRITTEN_BY_THE_IMPORTER: &[&str] = &[
    "typing",
    "planai",
    "planai.patterns",
    "pydantic",
    "textwrap",
    "__future__",
];

/// Exports the module `path` of `host` (which must hold its text) as an editor graph named
/// `name`.
pub fn module_to_graph(host: &AnalysisHost, path: &Path, name: &str) -> Option<ExportedGraph> {
    let summary = host.file_summary(path)?;
    let text = host.file_text(path)?;
    let mut exporter = Exporter {
        host,
        path,
        summary: &summary,
        text: &text,
        graph: SavedGraph {
            version: CURRENT_VERSION,
            name: Some(name.to_string()),
            ..SavedGraph::default()
        },
        warnings: Vec::new(),
        worker_classes: HashMap::new(),
        tool_ids: HashMap::new(),
        referenced: Default::default(),
        worker_types: Default::default(),
        next_id: 0,
    };
    exporter.run();
    Some(ExportedGraph {
        graph: exporter.graph,
        warnings: exporter.warnings,
    })
}

/// A worker class of the module: its node kind and the node data every instance shares.
struct WorkerClass {
    kind: &'static str,
    data: Map<String, Value>,
    input_type: Option<String>,
    output_types: Vec<String>,
}

struct Exporter<'a> {
    host: &'a AnalysisHost,
    path: &'a Path,
    summary: &'a FileSummary,
    text: &'a str,
    graph: SavedGraph,
    warnings: Vec<String>,
    worker_classes: HashMap<String, WorkerClass>,
    /// Tool function name → tool id.
    tool_ids: HashMap<String, String>,
    /// Names used as Task types (those imported become `taskImports`).
    referenced: std::collections::BTreeSet<String>,
    /// Of those, the ones workers consume or produce.
    worker_types: std::collections::BTreeSet<String>,
    next_id: usize,
}

impl<'a> Exporter<'a> {
    fn slice(&self, range: TextRange) -> &'a str {
        self.text.get(range.start()..range.end()).unwrap_or("")
    }

    fn fresh_id(&mut self, kind: &str) -> String {
        self.next_id += 1;
        format!("{kind}-{}", self.next_id)
    }

    fn run(&mut self) {
        self.tools();
        // One query for every class: what each consumes is computed once.
        let classes: HashMap<String, PlanaiClassInfo> = self
            .host
            .planai_classes(self.path)
            .into_iter()
            .map(|c| (c.name.clone(), c))
            .collect();
        for (index, class) in self.summary.classes.iter().enumerate() {
            match classes.get(class.name.as_str()) {
                Some(info) if info.kind == PlanaiClassKind::Task => self.task_class(class),
                Some(info) => self.worker_class(index, class, info),
                None => {}
            }
        }
        self.graph_code();
        let referenced: Vec<String> = self.referenced.iter().cloned().collect();
        for name in referenced {
            self.task_id(&name);
        }
        self.imports();
        self.layout();
    }

    // ---- Tools and imports ------------------------------------------------------------

    fn tools(&mut self) {
        for function in &self.summary.functions {
            let Some(decorator) = function.decorators.iter().find(|d| {
                let callee = d.as_call().map(|c| &c.func).unwrap_or(d);
                callee.dotted().is_some_and(|p| p.last() == Some(&"tool"))
            }) else {
                continue;
            };
            let call = decorator.as_call();
            let keyword = |k: &str| {
                call.and_then(|c| c.keyword(k))
                    .and_then(|kw| string_value(self.slice(kw.value.range())))
            };
            let name = keyword("name").unwrap_or_else(|| function.name.to_string());
            let description = keyword("description").unwrap_or_default();
            let id = format!("tool-{}", function.name);
            self.tool_ids.insert(function.name.to_string(), id.clone());
            self.graph.tools.push(ToolDef {
                id,
                name,
                description,
                code: self.slice(function.range).to_string(),
            });
        }
    }

    /// Imported Tasks become `taskImports`; other imports module-level import nodes.
    fn imports(&mut self) {
        let mut by_module: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for binding in &self.summary.imports {
            let module = format!("{}{}", ".".repeat(binding.level as usize), binding.module);
            if MODULES_WRITTEN_BY_THE_IMPORTER.contains(&module.as_str())
                || module.starts_with("llm_interface")
            {
                continue;
            }
            let Some(member) = &binding.member else {
                let line = if binding.local == binding.module {
                    format!("import {module}")
                } else {
                    format!("import {module} as {}", binding.local)
                };
                by_module.entry(String::new()).or_default().push(line);
                continue;
            };
            if self
                .graph
                .task_imports
                .iter()
                .any(|t| t.class_name == binding.local.as_str())
            {
                continue;
            }
            let listed = if binding.local == *member {
                member.to_string()
            } else {
                format!("{member} as {}", binding.local)
            };
            by_module.entry(module).or_default().push(listed);
        }
        let mut code = Vec::new();
        if let Some(plain) = by_module.remove("") {
            code.extend(plain);
        }
        for (module, names) in by_module {
            code.push(format!("from {module} import {}", names.join(", ")));
        }
        if !code.is_empty() {
            let id = self.fresh_id("modulelevelimport");
            self.graph.nodes.push(EditorNode {
                id: id.clone(),
                kind: "modulelevelimport".to_string(),
                position: Position::default(),
                data: json!({"code": code.join("\n"), "nodeId": id}),
            });
        }
    }

    /// Whether `name` (seen from the module) is a Task class, by the analysis' hierarchy.
    fn is_task_name(&self, name: &str) -> bool {
        let expr = Expr::Name {
            id: name.into(),
            range: TextRange::default(),
        };
        let mut ctx = Ctx::new(self.host);
        match ctx.resolve_class(self.path, &expr) {
            Some(class) => {
                ctx.derives_from_builtin(&class, "Task")
                    && !ctx.derives_from_builtin(&class, "TaskWorker")
            }
            None => false,
        }
    }

    // ---- Task classes -------------------------------------------------------------------

    fn task_class(&mut self, class: &ClassSummary) {
        let mut fields = Vec::new();
        for attr in &class.attrs {
            let Some(annotation) = &attr.annotation else {
                continue;
            };
            if attr.name.starts_with("model_")
                || self.slice(annotation.range()).contains("ClassVar")
            {
                continue;
            }
            let mut field = FieldDef {
                name: attr.name.to_string(),
                required: true,
                ..FieldDef::default()
            };
            self.field_type(annotation, &mut field);
            self.referenced.insert(field.field_type.clone());
            match &attr.value {
                None => {}
                Some(Expr::NoneLit { .. }) => field.required = false,
                Some(Expr::Call(call)) if call.func.as_name() == Some("Field") => {
                    let default = call.arg(0, "default");
                    match default {
                        Some(Expr::NoneLit { .. }) => field.required = false,
                        Some(Expr::Literal { repr, .. }) if repr == "Ellipsis" => {}
                        None => {
                            if call.keyword("default_factory").is_some() {
                                self.warn_default(class, attr.name.as_str());
                            }
                        }
                        Some(_) => self.warn_default(class, attr.name.as_str()),
                    }
                    if let Some(kw) = call.keyword("description") {
                        field.description = string_value(self.slice(kw.value.range()));
                    }
                    if let Some(alias) = call
                        .keyword("alias")
                        .and_then(|kw| string_value(self.slice(kw.value.range())))
                    {
                        field.name = alias;
                    }
                }
                Some(_) => self.warn_default(class, attr.name.as_str()),
            }
            fields.push(field);
        }
        self.graph.tasks.push(TaskDef {
            id: format!("task-{}", class.name),
            kind: "task".to_string(),
            class_name: class.name.to_string(),
            fields,
            ..TaskDef::default()
        });
    }

    fn warn_default(&mut self, class: &ClassSummary, field: &str) {
        self.warnings.push(format!(
            "{}.{field}: the editor cannot hold a default other than None; exported as required",
            class.name
        ));
    }

    fn field_type(&self, annotation: &Expr, field: &mut FieldDef) {
        let subscript = |e: &Expr| -> Option<(String, Vec<Expr>)> {
            match e {
                Expr::Subscript { value, index, .. } => {
                    Some((value.dotted()?.last()?.to_string(), index.clone()))
                }
                _ => None,
            }
        };
        match annotation {
            Expr::BitOr { left, right, .. } if matches!(**right, Expr::NoneLit { .. }) => {
                field.required = false;
                self.field_type(left, field);
            }
            // A forward reference (`"Task"`): the class it names.
            Expr::Str { value, .. } if is_identifier(value) => {
                field.field_type = value.to_string();
            }
            Expr::Name { id, .. } => {
                field.field_type = match id.as_str() {
                    "str" => "string",
                    "int" => "integer",
                    "float" => "float",
                    "bool" => "boolean",
                    other => other,
                }
                .to_string();
            }
            _ => match subscript(annotation) {
                Some((name, index)) if name == "Optional" && index.len() == 1 => {
                    field.required = false;
                    self.field_type(&index[0], field);
                }
                Some((name, index))
                    if matches!(name.as_str(), "List" | "list") && index.len() == 1 =>
                {
                    field.is_list = true;
                    self.field_type(&index[0], field);
                }
                Some((name, index)) if name == "Literal" => {
                    field.field_type = "literal".to_string();
                    field.literal_values = Some(
                        index
                            .iter()
                            .filter_map(|v| {
                                let json = literal_json(self.slice(v.range()))?;
                                serde_json::from_str(&json).ok()
                            })
                            .collect(),
                    );
                }
                _ => field.field_type = self.slice(annotation.range()).to_string(),
            },
        }
    }

    // ---- Worker classes -----------------------------------------------------------------

    fn worker_class(&mut self, index: usize, class: &ClassSummary, info: &PlanaiClassInfo) {
        let mut ctx = Ctx::new(self.host);
        let me = ClassRef::User(Arc::from(self.path), index);
        let derives = |ctx: &mut Ctx, base: &str| ctx.derives_from_builtin(&me, base);
        let (kind, cached) = if derives(&mut ctx, "ChatTaskWorker") {
            ("chattaskworker", false)
        } else if derives(&mut ctx, "JoinedTaskWorker") {
            ("joinedtaskworker", false)
        } else if derives(&mut ctx, "CachedLLMTaskWorker") {
            ("llmtaskworker", true)
        } else if derives(&mut ctx, "LLMTaskWorker") {
            ("llmtaskworker", false)
        } else if derives(&mut ctx, "CachedTaskWorker") {
            ("taskworker", true)
        } else if derives(&mut ctx, "SubGraphWorker") {
            self.warnings.push(format!(
                "{}: a SubGraphWorker subclass has no node kind in the editor; left out",
                class.name
            ));
            return;
        } else {
            ("taskworker", false)
        };
        let info = Some(info);
        let mut data = Map::new();
        data.insert("workerName".into(), json!(class.name.as_str()));
        let mut output_types: Vec<String> = Vec::new();
        let mut other_members: Vec<String> = Vec::new();
        for attr in &class.attrs {
            let name = attr.name.as_str();
            if !KNOWN_CLASS_VARS.contains(&name) {
                other_members.push(self.slice(attr.range).to_string());
                continue;
            }
            let Some(value) = &attr.value else { continue };
            match name {
                "output_types" | "tools" => {
                    let names: Vec<String> = match value {
                        Expr::List { elts, .. } | Expr::Tuple { elts, .. } => elts
                            .iter()
                            .filter_map(|e| Some(e.dotted()?.last()?.to_string()))
                            .collect(),
                        _ => Vec::new(),
                    };
                    if name == "tools" {
                        let ids: Vec<String> = names
                            .iter()
                            .map(|n| self.tool_ids.get(n).cloned().unwrap_or_else(|| n.clone()))
                            .collect();
                        data.insert("tools".into(), json!(ids));
                    } else {
                        output_types = names.clone();
                        self.referenced.extend(names.iter().cloned());
                        self.worker_types.extend(names.iter().cloned());
                        data.insert("output_types".into(), json!(names));
                    }
                }
                "llm_input_type" | "llm_output_type" | "join_type" => {
                    let type_name = value
                        .dotted()
                        .and_then(|p| p.last().map(|s| s.to_string()))
                        .or_else(|| string_value(self.slice(value.range())));
                    if let Some(type_name) = type_name {
                        if name != "join_type" {
                            self.referenced.insert(type_name.clone());
                            self.worker_types.insert(type_name.clone());
                        }
                        data.insert(name.into(), json!(type_name));
                    }
                }
                "prompt" | "system_prompt" => match prompt_value(self.slice(value.range())) {
                    Some(text) => {
                        data.insert(name.into(), json!(text));
                    }
                    None => {
                        self.warnings.push(format!(
                            "{}.{name} is not a constant string; kept with the other members",
                            class.name
                        ));
                        other_members.push(self.slice(attr.range).to_string());
                    }
                },
                "use_xml" | "debug_mode" => {
                    if let Expr::Bool { value, .. } = value {
                        data.insert(name.into(), json!(value));
                    }
                }
                _ => {}
            }
        }
        let mut methods = Map::new();
        for method in &class.methods {
            let mut source = String::new();
            for decorator in &method.decorators {
                source.push('@');
                source.push_str(self.slice(decorator.range()));
                source.push('\n');
            }
            source.push_str(self.slice(method.range));
            let source = super::python_text::dedent(&source_with_first_line_indent(
                self.text,
                method.range,
                &source,
            ));
            if KNOWN_METHODS.contains(&method.name.as_str()) && method.decorators.is_empty() {
                methods.insert(method.name.to_string(), json!(source));
            } else {
                other_members.push(source);
            }
        }
        if output_types.is_empty() {
            // Inherited output types (a chat worker's ChatMessage) still name the edges' task.
            output_types = info
                .as_ref()
                .and_then(|i| i.output_types.clone())
                .unwrap_or_default();
        }
        let input_type = match data.get("llm_input_type").and_then(Value::as_str) {
            Some(t) => Some(t.to_string()),
            None => info
                .as_ref()
                .and_then(|i| i.consumed.as_ref())
                .and_then(|c| c.first().cloned()),
        };
        if kind == "llmtaskworker" {
            data.remove("llm_input_type");
        }
        self.referenced.extend(input_type.iter().cloned());
        self.worker_types.extend(input_type.iter().cloned());
        data.insert(
            "inputTypes".into(),
            json!(input_type.iter().collect::<Vec<_>>()),
        );
        if !methods.is_empty() {
            data.insert("methods".into(), Value::Object(methods));
        }
        if !other_members.is_empty() {
            let joined: Vec<String> = other_members
                .iter()
                .map(|m| super::python_text::dedent(m))
                .collect();
            data.insert("otherMembersSource".into(), json!(joined.join("\n\n")));
        }
        if cached {
            data.insert("isCached".into(), json!(true));
        }
        self.worker_classes.insert(
            class.name.to_string(),
            WorkerClass {
                kind,
                data,
                input_type,
                output_types,
            },
        );
    }

    // ---- Graph-building code ------------------------------------------------------------

    fn graph_code(&mut self) {
        let mut scopes: Vec<(Option<String>, &[Stmt])> = Vec::new();
        for function in &self.summary.functions {
            scopes.push((Some(function.name.to_string()), &function.body));
        }
        // Module-level code last: it often calls the builder functions.
        scopes.push((None, &self.summary.body));
        let mut returned: HashMap<String, Vec<Option<String>>> = HashMap::new();
        let mut instances_seen = 0;
        for (function, stmts) in scopes {
            instances_seen += self.scope(function, stmts, &mut returned);
        }
        // Worker classes never instantiated still appear on the canvas, once each.
        let mut unused: Vec<String> = self
            .worker_classes
            .keys()
            .filter(|name| {
                !self
                    .graph
                    .nodes
                    .iter()
                    .any(|n| n.data.get("workerName").and_then(Value::as_str) == Some(name))
            })
            .cloned()
            .collect();
        unused.sort();
        for name in unused {
            self.worker_node(&name, None, None);
        }
        let _ = instances_seen;
    }

    /// Adds the node of an instance of the worker class `class` (named `variable`).
    fn worker_node(
        &mut self,
        class: &str,
        variable: Option<&str>,
        llm: Option<Map<String, Value>>,
    ) -> Option<String> {
        let worker = self.worker_classes.get(class)?;
        let kind = worker.kind;
        let mut data = worker.data.clone();
        let id = self.fresh_id(kind);
        data.insert("nodeId".into(), json!(id));
        if let Some(v) = variable {
            data.insert("variableName".into(), json!(v));
        }
        if let Some(llm) = llm {
            data.extend(llm);
        }
        self.graph.nodes.push(EditorNode {
            id: id.clone(),
            kind: kind.to_string(),
            position: Position::default(),
            data: Value::Object(data),
        });
        Some(id)
    }

    /// The graph-building statements of one scope; returns how many instances it made.
    /// `returned` holds, per function already seen, the worker nodes it returns (by position
    /// of a returned tuple): `graph, entry = build_graph()` makes `entry` that node here.
    fn scope(
        &mut self,
        function: Option<String>,
        stmts: &[Stmt],
        returned: &mut HashMap<String, Vec<Option<String>>>,
    ) -> usize {
        let mut instances: HashMap<String, String> = HashMap::new(); // variable → node id
        let mut llm_configs: HashMap<String, Map<String, Value>> = HashMap::new();
        let mut statements: Vec<&Stmt> = Vec::new();
        walk_stmts(stmts, &mut |s| statements.push(s));
        for s in &statements {
            if let Stmt::Assign {
                targets,
                value: Some(Expr::Call(call)),
                ..
            } = s
            {
                let from = call.func.as_name().and_then(|f| returned.get(f));
                if let (Some(nodes), [target]) = (from, &targets[..]) {
                    let names: Vec<&str> = match target {
                        AssignTarget::Tuple(names) => names.iter().map(|n| n.as_str()).collect(),
                        AssignTarget::Name(name, _) => vec![name.as_str()],
                        _ => Vec::new(),
                    };
                    if names.len() == nodes.len() {
                        for (name, node) in names.into_iter().zip(nodes) {
                            if let Some(node) = node {
                                instances.insert(name.to_string(), node.clone());
                            }
                        }
                    }
                }
            }
        }
        for s in &statements {
            let Stmt::Assign {
                targets,
                value: Some(Expr::Call(call)),
                ..
            } = s
            else {
                continue;
            };
            let [AssignTarget::Name(variable, _)] = &targets[..] else {
                continue;
            };
            let Some(callee) = call
                .func
                .dotted()
                .and_then(|p| p.last().map(|s| s.to_string()))
            else {
                continue;
            };
            if callee == "llm_from_config" {
                llm_configs.insert(variable.to_string(), self.llm_settings(call));
            } else if self.worker_classes.contains_key(&callee) {
                let dropped: Vec<&str> = call
                    .keywords
                    .iter()
                    .filter_map(|k| k.name.as_deref())
                    .filter(|k| *k != "llm")
                    .collect();
                if !dropped.is_empty() || !call.args.is_empty() {
                    self.warnings.push(format!(
                        "{variable} = {callee}(...): the editor keeps only the llm of an instance; {} left out",
                        if dropped.is_empty() {
                            "positional arguments".to_string()
                        } else {
                            dropped.join(", ")
                        }
                    ));
                }
                let llm = call.keyword("llm").and_then(|kw| match &kw.value {
                    Expr::Name { id, .. } => llm_configs.get(id.as_str()).map(|settings| {
                        let mut m = Map::new();
                        m.insert("llmConfigFromCode".into(), Value::Object(settings.clone()));
                        m.insert("llmConfigVar".into(), json!(id.as_str()));
                        m
                    }),
                    Expr::Call(inner)
                        if inner.func.dotted().and_then(|p| p.last().copied())
                            == Some("llm_from_config") =>
                    {
                        let mut m = Map::new();
                        m.insert(
                            "llmConfigFromCode".into(),
                            Value::Object(self.llm_settings(inner)),
                        );
                        Some(m)
                    }
                    _ => None,
                });
                if let Some(id) = self.worker_node(&callee, Some(variable), llm) {
                    instances.insert(variable.to_string(), id);
                }
            } else if KNOWN_FACTORIES.contains(&callee.as_str()) {
                let arguments = self.slice(call.range);
                let inside = arguments
                    .find('(')
                    .map(|open| arguments[open + 1..arguments.len().saturating_sub(1)].trim())
                    .unwrap_or("");
                let (input, output) = if callee == "create_planning_worker" {
                    ("PlanRequest", "FinalPlan")
                } else {
                    ("SearchQuery", "ConsolidatedPages")
                };
                let id = self.fresh_id("subgraphworker");
                let class_name = call
                    .keyword("name")
                    .and_then(|kw| string_value(self.slice(kw.value.range())))
                    .unwrap_or_else(|| variable.to_string());
                self.graph.nodes.push(EditorNode {
                    id: id.clone(),
                    kind: "subgraphworker".to_string(),
                    position: Position::default(),
                    data: json!({
                        "workerName": class_name,
                        "variableName": variable.as_str(),
                        "nodeId": id,
                        "factoryFunction": callee,
                        "factoryInvocation": inside,
                        "isFactoryCreated": true,
                        "inputTypes": [input],
                        "output_types": [output],
                    }),
                });
                for t in [input, output] {
                    if !self.graph.task_imports.iter().any(|i| i.class_name == t) {
                        self.graph.task_imports.push(TaskDef {
                            id: format!("taskimport-{t}"),
                            kind: "taskimport".to_string(),
                            class_name: t.to_string(),
                            module_path: Some("planai.patterns".to_string()),
                            ..TaskDef::default()
                        });
                    }
                }
                instances.insert(variable.to_string(), id);
            }
        }
        if instances.is_empty() {
            return 0;
        }
        if let Some(function) = function {
            for s in &statements {
                let Stmt::Return(Some(value)) = s else {
                    continue;
                };
                let node_of = |e: &Expr| e.as_name().and_then(|n| instances.get(n)).cloned();
                let nodes = match value {
                    Expr::Tuple { elts, .. } => elts.iter().map(node_of).collect(),
                    single => vec![node_of(single)],
                };
                if nodes.iter().any(Option::is_some) {
                    returned.insert(function.clone(), nodes);
                }
            }
        }
        let mut expressions: Vec<&Expr> = Vec::new();
        for s in &statements {
            match s {
                Stmt::Expr(e) | Stmt::Return(Some(e)) => expressions.push(e),
                Stmt::Assign { value: Some(e), .. } => expressions.push(e),
                Stmt::AugAssign { value, .. } => expressions.push(value),
                _ => {}
            }
        }
        for e in expressions {
            e.for_each_call(&mut |call| self.graph_call(call, &instances));
            self.initial_tasks(e, &instances);
        }
        instances.len()
    }

    fn llm_settings(&self, call: &crate::analysis::summary::CallExpr) -> Map<String, Value> {
        let mut settings = Map::new();
        for kw in &call.keywords {
            let Some(name) = &kw.name else { continue };
            let text = self.slice(kw.value.range());
            let value =
                match literal_json(text).and_then(|j| serde_json::from_str::<Value>(&j).ok()) {
                    Some(v) => json!({"value": v, "is_literal": true}),
                    None => json!({"value": text, "is_literal": false}),
                };
            settings.insert(name.to_string(), value);
        }
        settings
    }

    fn graph_call(
        &mut self,
        call: &crate::analysis::summary::CallExpr,
        instances: &HashMap<String, String>,
    ) {
        let Expr::Attribute { value, attr, .. } = &call.func else {
            return;
        };
        let node_of = |e: &Expr| e.as_name().and_then(|n| instances.get(n)).cloned();
        match attr.as_str() {
            "set_dependency" => {
                if let (Some(a), Some(b)) = (
                    call.args.first().and_then(node_of),
                    call.args.get(1).and_then(node_of),
                ) {
                    self.edge(&a, &b);
                }
            }
            "next" => {
                let Some(b) = call.args.first().and_then(node_of) else {
                    return;
                };
                let a = match &**value {
                    Expr::Name { .. } => node_of(value),
                    Expr::Call(inner) => chain_end(inner, instances),
                    _ => None,
                };
                if let Some(a) = a {
                    self.edge(&a, &b);
                }
            }
            "set_max_parallel_tasks" => self.warnings.push(
                "set_max_parallel_tasks has no place in an editor graph; left out".to_string(),
            ),
            "set_entry" => {
                for a in call.args.iter().filter_map(node_of) {
                    self.set_entry(&a);
                }
            }
            "set_sink" | "sink" => {
                let (worker, task) = if attr == "set_sink" {
                    (call.args.first().and_then(node_of), call.args.get(1))
                } else {
                    let end = match &**value {
                        Expr::Call(inner) => chain_end(inner, instances),
                        other => node_of(other),
                    };
                    (end, call.args.first())
                };
                let (Some(worker), Some(task)) = (worker, task) else {
                    return;
                };
                let Some(task) = task.dotted().and_then(|p| p.last().map(|s| s.to_string())) else {
                    return;
                };
                let id = self.fresh_id("dataoutput");
                let count = self
                    .graph
                    .nodes
                    .iter()
                    .filter(|n| n.kind == "dataoutput")
                    .count();
                self.graph.nodes.push(EditorNode {
                    id: id.clone(),
                    kind: "dataoutput".to_string(),
                    position: Position::default(),
                    data: json!({
                        "className": format!("DataOutput{}", count + 1),
                        "nodeId": id,
                        "inputTypes": [task],
                        "receivedData": [],
                    }),
                });
                let handle = self.task_id(&task);
                self.graph
                    .edges
                    .push(edge_between(&worker, &id, handle.as_deref()));
            }
            _ => {}
        }
    }

    /// `(worker, Task.model_validate({...}))` or `(worker, Task(field=...))` anywhere in `e`.
    fn initial_tasks(&mut self, e: &Expr, instances: &HashMap<String, String>) {
        let mut tuples: Vec<(String, &crate::analysis::summary::CallExpr)> = Vec::new();
        // A worker paired with a task is an entry, whatever builds the task; only a task
        // built from literals becomes a data-input node.
        let mut entries: Vec<String> = Vec::new();
        visit_exprs(e, &mut |e| {
            if let Expr::Tuple { elts, .. } = e {
                if let [Expr::Name { id, .. }, task] = &elts[..] {
                    if let Some(node) = instances.get(id.as_str()) {
                        entries.push(node.clone());
                        if let Expr::Call(call) = task {
                            tuples.push((node.clone(), call));
                        }
                    }
                }
            }
        });
        for worker in entries {
            self.set_entry(&worker);
        }
        for (worker, call) in tuples {
            let (task, json) = match &call.func {
                Expr::Attribute { value, attr, .. } if attr == "model_validate" => {
                    let Some(task) = value.dotted().and_then(|p| p.last().map(|s| s.to_string()))
                    else {
                        continue;
                    };
                    let json = call
                        .args
                        .first()
                        .and_then(|a| literal_json(self.slice(a.range())));
                    (task, json)
                }
                func => {
                    let Some(task) = func.dotted().and_then(|p| p.last().map(|s| s.to_string()))
                    else {
                        continue;
                    };
                    if !self.is_task_name(&task) || !call.args.is_empty() {
                        continue;
                    }
                    let mut entries = Vec::new();
                    let mut ok = true;
                    for kw in &call.keywords {
                        match (&kw.name, literal_json(self.slice(kw.value.range()))) {
                            (Some(name), Some(v)) => entries.push(format!(
                                "{}: {v}",
                                serde_json::to_string(name.as_str()).unwrap_or_default()
                            )),
                            _ => ok = false,
                        }
                    }
                    (task, ok.then(|| format!("{{{}}}", entries.join(", "))))
                }
            };
            let Some(json) = json else {
                self.warnings.push(format!(
                    "an initial {task} is not built from literals; left out of the data inputs"
                ));
                continue;
            };
            let id = self.fresh_id("datainput");
            self.graph.nodes.push(EditorNode {
                id: id.clone(),
                kind: "datainput".to_string(),
                position: Position::default(),
                data: json!({"className": task, "jsonData": json, "nodeId": id, "isJsonValid": true}),
            });
            let handle = self.task_id(&task);
            self.graph
                .edges
                .push(edge_between(&id, &worker, handle.as_deref()));
            self.set_entry(&worker);
        }
    }

    /// The id of the Task class `class_name`. A Task imported by the module becomes a
    /// `taskImports` entry on first use; PlanAI's own (ChatTask, ChatMessage) an implicit
    /// one, as the editor adds them.
    fn task_id(&mut self, class_name: &str) -> Option<String> {
        let known = self
            .graph
            .tasks
            .iter()
            .chain(&self.graph.task_imports)
            .find(|t| t.class_name == class_name)
            .map(|t| t.id.clone());
        if known.is_some() {
            return known;
        }
        let binding = self.summary.imports.iter().find(|b| {
            b.local == class_name && b.member.as_deref() == Some(class_name) && b.level == 0
        });
        let (module, implicit) = match binding {
            Some(b) if b.module == "planai" => ("planai".to_string(), Some(true)),
            Some(b) => (b.module.to_string(), None),
            None if PLANAI_TASKS.contains(&class_name) => ("planai".to_string(), Some(true)),
            None => return None,
        };
        // Names a worker uses as a Task type are Tasks even when their module is not in the
        // workspace (an installed package the analysis does not read).
        let used_by_a_worker = self.worker_types.contains(class_name);
        if !used_by_a_worker && !self.is_task_name(class_name) {
            return None;
        }
        let id = format!("taskimport-{class_name}");
        self.graph.task_imports.push(TaskDef {
            id: id.clone(),
            kind: "taskimport".to_string(),
            class_name: class_name.to_string(),
            module_path: Some(module),
            is_implicit: implicit,
            ..TaskDef::default()
        });
        Some(id)
    }

    fn edge(&mut self, source: &str, target: &str) {
        if self
            .graph
            .edges
            .iter()
            .any(|e| e.source == source && e.target == target)
        {
            return;
        }
        // The task along the edge: what the target consumes, else the source's only output.
        let class_of = |id: &str| {
            self.graph
                .node(id)
                .and_then(|n| n.data.get("workerName"))
                .and_then(Value::as_str)
                .and_then(|c| self.worker_classes.get(c))
        };
        let task = class_of(target)
            .and_then(|w| w.input_type.clone())
            .or_else(|| class_of(source).and_then(|w| w.output_types.first().cloned()));
        let handle = task.and_then(|t| self.task_id(&t));
        self.graph
            .edges
            .push(edge_between(source, target, handle.as_deref()));
    }

    fn set_entry(&mut self, node_id: &str) {
        if let Some(node) = self.graph.nodes.iter_mut().find(|n| n.id == node_id) {
            if let Value::Object(data) = &mut node.data {
                data.insert("entryPoint".into(), json!(true));
            }
        }
    }

    /// Columns by depth along the edges (data inputs first), rows in order.
    fn layout(&mut self) {
        let mut depth: HashMap<String, usize> = HashMap::new();
        for node in &self.graph.nodes {
            depth.insert(node.id.clone(), 0);
        }
        for _ in 0..self.graph.nodes.len().min(64) {
            let mut changed = false;
            for e in &self.graph.edges {
                let d = depth.get(&e.source).copied().unwrap_or(0) + 1;
                if let Some(t) = depth.get_mut(&e.target) {
                    if *t < d && d < 64 {
                        *t = d;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let mut rows: HashMap<usize, usize> = HashMap::new();
        for node in &mut self.graph.nodes {
            let column = depth.get(&node.id).copied().unwrap_or(0);
            let row = rows.entry(column).or_insert(0);
            node.position = Position {
                x: 40.0 + 420.0 * column as f64,
                y: 40.0 + 320.0 * *row as f64,
            };
            *row += 1;
        }
    }
}

/// The last worker of a `set_dependency(a, b).next(c)...` chain.
fn chain_end(
    call: &crate::analysis::summary::CallExpr,
    instances: &HashMap<String, String>,
) -> Option<String> {
    let Expr::Attribute { attr, .. } = &call.func else {
        return None;
    };
    let arg = match attr.as_str() {
        "set_dependency" => call.args.get(1),
        "next" => call.args.first(),
        _ => None,
    }?;
    arg.as_name().and_then(|n| instances.get(n)).cloned()
}

fn edge_between(source: &str, target: &str, task_id: Option<&str>) -> EditorEdge {
    let handle = format!("output-{}", task_id.unwrap_or(""));
    EditorEdge {
        id: format!("xy-edge__{source}{handle}-{target}input"),
        source: source.to_string(),
        target: target.to_string(),
        source_handle: Some(handle),
        target_handle: Some("input".to_string()),
    }
}

/// Visits `e` and every expression inside it.
fn visit_exprs<'e>(e: &'e Expr, f: &mut dyn FnMut(&'e Expr)) {
    f(e);
    match e {
        Expr::Call(c) => {
            visit_exprs(&c.func, f);
            c.args.iter().for_each(|a| visit_exprs(a, f));
            c.keywords.iter().for_each(|k| visit_exprs(&k.value, f));
        }
        Expr::Attribute { value, .. } | Expr::Starred { value, .. } => visit_exprs(value, f),
        Expr::List { elts, .. } | Expr::Tuple { elts, .. } => {
            elts.iter().for_each(|x| visit_exprs(x, f))
        }
        Expr::Subscript { value, index, .. } => {
            visit_exprs(value, f);
            index.iter().for_each(|x| visit_exprs(x, f));
        }
        Expr::BitOr { left, right, .. } => {
            visit_exprs(left, f);
            visit_exprs(right, f);
        }
        Expr::Comprehension { elt, .. } => visit_exprs(elt, f),
        Expr::Other { children, .. } => children.iter().for_each(|x| visit_exprs(x, f)),
        _ => {}
    }
}

/// A method's source re-indented as in the file (its first line is sliced without its
/// indentation, the others keep theirs).
fn source_with_first_line_indent(text: &str, range: TextRange, source: &str) -> String {
    let line_start = text[..range.start().min(text.len())]
        .rfind('\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    let pad = &text[line_start..range.start().min(text.len())];
    if pad.chars().all(|c| c == ' ' || c == '\t') {
        source
            .lines()
            .enumerate()
            .map(|(i, l)| {
                let decorator_or_def = i == 0
                    || (l.starts_with('@') || l.starts_with("def ") || l.starts_with("async def "));
                if decorator_or_def && !l.starts_with(pad) {
                    format!("{pad}{l}")
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        source.to_string()
    }
}

fn parse_expression(text: &str) -> Option<ast::Expr> {
    stacker::maybe_grow(256 * 1024, 64 * 1024 * 1024, || {
        ruff_python_parser::parse_expression(text)
            .ok()
            .map(|parsed| *parsed.into_syntax().body)
    })
}

/// The value of a Python string literal (implicit concatenation too).
pub fn string_value(text: &str) -> Option<String> {
    match parse_expression(text.trim())? {
        ast::Expr::StringLiteral(s) => Some(s.value.to_str().to_string()),
        _ => None,
    }
}

/// A prompt: a string, or `dedent("...")`, or `dedent("...").strip()`, as the text it is.
fn prompt_value(text: &str) -> Option<String> {
    fn value(e: &ast::Expr) -> Option<String> {
        match e {
            ast::Expr::StringLiteral(s) => Some(s.value.to_str().to_string()),
            ast::Expr::Call(call) => {
                let args = &call.arguments.args;
                match &*call.func {
                    ast::Expr::Name(n) if n.id.as_str() == "dedent" && args.len() == 1 => {
                        Some(super::python_text::dedent(&value(&args[0])?))
                    }
                    ast::Expr::Attribute(a) if a.attr.as_str() == "strip" && args.is_empty() => {
                        Some(value(&a.value)?.trim().to_string())
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }
    value(&parse_expression(text.trim())?)
}

/// JSON text for a Python literal (dicts with string keys, lists, tuples, strings, numbers,
/// booleans, None); `None` for anything else.
pub fn literal_json(text: &str) -> Option<String> {
    fn write(e: &ast::Expr, out: &mut String) -> Option<()> {
        match e {
            ast::Expr::Dict(d) => {
                out.push('{');
                for (i, item) in d.items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    let ast::Expr::StringLiteral(key) = item.key.as_ref()? else {
                        return None;
                    };
                    out.push_str(&serde_json::to_string(key.value.to_str()).ok()?);
                    out.push_str(": ");
                    write(&item.value, out)?;
                }
                out.push('}');
            }
            ast::Expr::List(ast::ExprList { elts, .. })
            | ast::Expr::Tuple(ast::ExprTuple { elts, .. }) => {
                out.push('[');
                for (i, x) in elts.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write(x, out)?;
                }
                out.push(']');
            }
            ast::Expr::StringLiteral(s) => {
                out.push_str(&serde_json::to_string(s.value.to_str()).ok()?)
            }
            ast::Expr::BooleanLiteral(b) => out.push_str(if b.value { "true" } else { "false" }),
            ast::Expr::NoneLiteral(_) => out.push_str("null"),
            ast::Expr::NumberLiteral(n) => write_number(&n.value, out)?,
            ast::Expr::UnaryOp(u) if matches!(u.op, ast::UnaryOp::USub) => {
                let ast::Expr::NumberLiteral(n) = &*u.operand else {
                    return None;
                };
                out.push('-');
                write_number(&n.value, out)?;
            }
            _ => return None,
        }
        Some(())
    }
    fn write_number(n: &ast::Number, out: &mut String) -> Option<()> {
        match n {
            ast::Number::Int(i) => {
                let digits = i.to_string();
                digits.bytes().all(|b| b.is_ascii_digit()).then_some(())?;
                out.push_str(&digits);
            }
            ast::Number::Float(f) => {
                out.push_str(&serde_json::Number::from_f64(*f)?.to_string());
            }
            ast::Number::Complex { .. } => return None,
        }
        Some(())
    }
    let mut out = String::new();
    write(&parse_expression(text.trim())?, &mut out)?;
    Some(out)
}
