//! Code generation: a saved editor graph as a runnable PlanAI module.
//!
//! Layout of the module: imports; the editor's module-level import nodes; `GRAPH_NAME`;
//! tools (`@tool(...)`); Task classes (a class used in a field comes first); worker classes
//! (a `join_type` target comes first); one callback per data-output node; `build_graph()`,
//! which creates the LLMs (`llm_from_config`), one instance per worker *node* (two nodes of
//! one class are two instances), adds them, wires dependencies, entries and sinks, and builds
//! the initial tasks from the data-input nodes; `main()` runs it; a `__main__` guard.
//!
//! Data from the graph (names, prompts, descriptions, JSON payloads, LLM settings) is written
//! through `python_text`, so it is escaped; code from the graph (method bodies, tool
//! functions, module-level imports, factory arguments, LLM settings written as expressions)
//! is user code and is written as is, after a syntax check that turns what cannot parse into
//! a warning (and keeps expressions that would break out of their call out of the module).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::Value;

use super::editor_graph::{
    DataInput, DataOutput, EditorNode, FieldDef, SavedGraph, TaskDef, WorkerData, WORKER_KINDS,
};
use super::python_text::{
    dedent, indent, is_dotted_name, is_identifier, json_to_python, snake_case, string_literal,
    text_literal, Namer,
};

/// The module generated from a graph, and what could not be carried over as the graph said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedModule {
    pub source: String,
    pub warnings: Vec<String>,
}

/// The subgraph factories of `planai.patterns` (0.7.1) a subgraph node may name.
pub const KNOWN_FACTORIES: &[&str] = &["create_planning_worker", "create_search_fetch_worker"];

/// Classes of `planai` that imported tasks may come from without a module of their own.
const PLANAI_TASK_CLASSES: &[&str] = &["ChatTask", "ChatMessage", "Task"];

/// Names the generated code uses itself, and Python's builtins (user code in method bodies
/// may call them, so no generated class or variable may shadow them).
const RESERVED_NAMES: &[&str] = &[
    "Any",
    "Dict",
    "List",
    "Literal",
    "Optional",
    "Tuple",
    "Type",
    "Field",
    "Graph",
    "Task",
    "TaskWorker",
    "LLMTaskWorker",
    "CachedTaskWorker",
    "CachedLLMTaskWorker",
    "JoinedTaskWorker",
    "ChatTaskWorker",
    "ChatTask",
    "ChatMessage",
    "InitialTaskWorker",
    "SubGraphWorker",
    "Tool",
    "tool",
    "llm_from_config",
    "GRAPH_NAME",
    "build_graph",
    "main",
    "graph",
    "initial_tasks",
    "self",
    "task",
    "tasks",
    "abs",
    "all",
    "any",
    "ascii",
    "bin",
    "bool",
    "breakpoint",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "classmethod",
    "compile",
    "complex",
    "copyright",
    "credits",
    "delattr",
    "dict",
    "dir",
    "divmod",
    "enumerate",
    "eval",
    "exec",
    "exit",
    "filter",
    "float",
    "format",
    "frozenset",
    "getattr",
    "globals",
    "hasattr",
    "hash",
    "help",
    "hex",
    "id",
    "input",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "license",
    "list",
    "locals",
    "map",
    "max",
    "memoryview",
    "min",
    "next",
    "object",
    "oct",
    "open",
    "ord",
    "pow",
    "print",
    "property",
    "quit",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "setattr",
    "slice",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "super",
    "tuple",
    "type",
    "vars",
    "zip",
    "Exception",
    "ValueError",
    "TypeError",
    "KeyError",
    "RuntimeError",
    "json",
    "os",
    "sys",
    "re",
    "time",
    "dedent",
    "textwrap",
    "typing",
    "pydantic",
    "planai",
    "Callable",
    "Set",
    "Union",
    "LLMInterface",
    "BaseModel",
    "ConfigDict",
    "PrivateAttr",
];

/// Names user code (methods, tools, other members) may use without importing them, as in the
/// editor, whose generated modules imported them all: each is imported when the module names
/// it.
const TYPING_NAMES: &[&str] = &[
    "Any", "Callable", "Dict", "List", "Literal", "Optional", "Set", "Tuple", "Type", "Union",
];
const PLANAI_NAMES: &[&str] = &[
    "CachedLLMTaskWorker",
    "CachedTaskWorker",
    "ChatMessage",
    "ChatTask",
    "ChatTaskWorker",
    "Graph",
    "InitialTaskWorker",
    "JoinedTaskWorker",
    "LLMInterface",
    "LLMTaskWorker",
    "Task",
    "TaskWorker",
    "Tool",
    "llm_from_config",
    "tool",
];
const PYDANTIC_NAMES: &[&str] = &["BaseModel", "ConfigDict", "Field", "PrivateAttr"];

/// Names a Task field type may use as written (the editor's text for unusual annotations).
const PLAIN_TYPE_NAMES: &[&str] = &[
    "str", "int", "float", "bool", "bytes", "dict", "list", "set", "tuple", "Any", "Dict", "List",
    "Optional", "Tuple", "None",
];

/// Writes the module for `graph` (already migrated to version 2).
pub fn graph_to_python(graph: &SavedGraph) -> ImportedModule {
    let mut generator = Generator::new(graph);
    generator.run();
    generator.finish()
}

struct Generator<'g> {
    graph: &'g SavedGraph,
    namer: Namer,
    warnings: Vec<String>,
    typing: BTreeSet<&'static str>,
    planai: BTreeSet<&'static str>,
    patterns: BTreeSet<String>,
    pydantic: BTreeSet<&'static str>,
    uses_field: bool,
    uses_dedent: bool,
    /// Task id and class name → Python name.
    task_names: HashMap<String, String>,
    /// Module path → (imported name, local name).
    task_imports: BTreeMap<String, Vec<(String, String)>>,
    /// Tool id and tool name → Python function name.
    tool_names: HashMap<String, String>,
    /// Worker node id → Python class name.
    worker_classes: HashMap<String, String>,
    /// Editor class name → the Python name of its first definition (for `join_type`).
    class_by_editor_name: HashMap<String, String>,
    /// Local Task classes already written (others are forward references).
    defined_tasks: HashSet<String>,
    sections: Vec<String>,
}

impl<'g> Generator<'g> {
    fn new(graph: &'g SavedGraph) -> Self {
        Generator {
            graph,
            namer: Namer::with_reserved(RESERVED_NAMES),
            warnings: Vec::new(),
            typing: BTreeSet::new(),
            planai: BTreeSet::new(),
            patterns: BTreeSet::new(),
            pydantic: BTreeSet::new(),
            uses_field: false,
            uses_dedent: false,
            task_names: HashMap::new(),
            task_imports: BTreeMap::new(),
            tool_names: HashMap::new(),
            worker_classes: HashMap::new(),
            class_by_editor_name: HashMap::new(),
            defined_tasks: HashSet::new(),
            sections: Vec::new(),
        }
    }

    fn warn(&mut self, message: String) {
        self.warnings.push(message);
    }

    fn run(&mut self) {
        self.name_tasks();
        self.module_level_imports();
        let name = self.graph.name.clone().unwrap_or_default();
        let name = if name.trim().is_empty() {
            "GeneratedPlan".to_string()
        } else {
            name
        };
        self.sections
            .push(format!("GRAPH_NAME = {}", string_literal(&name)));
        self.tools();
        self.task_classes();
        self.worker_classes();
        let callbacks = self.sink_callbacks();
        self.builder(&callbacks);
    }

    /// Imports for the names the module's code uses (user code included).
    fn import_names_used(&mut self) {
        for section in &self.sections {
            for word in identifiers(section) {
                if let Some(n) = TYPING_NAMES.iter().find(|n| **n == word) {
                    self.typing.insert(n);
                } else if let Some(n) = PLANAI_NAMES.iter().find(|n| **n == word) {
                    self.planai.insert(n);
                } else if let Some(n) = PYDANTIC_NAMES.iter().find(|n| **n == word) {
                    self.pydantic.insert(n);
                } else if word == "dedent" {
                    self.uses_dedent = true;
                }
            }
        }
    }

    fn finish(mut self) -> ImportedModule {
        self.import_names_used();
        let mut out = String::from(
            "# A PlanAI workflow imported by planai-lsp from a PlanAI Editor graph.\n\
             # `python <this file>` runs it; `planai-lsp export-editor-graph <this file>` writes\n\
             # the graph back for the editor's canvas.\n\n",
        );
        let mut imports = Vec::new();
        if !self.typing.is_empty() {
            imports.push(format!(
                "from typing import {}",
                self.typing.iter().copied().collect::<Vec<_>>().join(", ")
            ));
        }
        let mut third_party = Vec::new();
        if !self.planai.is_empty() {
            third_party.push(import_line("planai", self.planai.iter().copied()));
        }
        for factory in std::mem::take(&mut self.patterns) {
            self.task_imports
                .entry("planai.patterns".to_string())
                .or_default()
                .push((factory.clone(), factory));
        }
        if self.uses_field {
            self.pydantic.insert("Field");
        }
        if !self.pydantic.is_empty() {
            third_party.push(import_line("pydantic", self.pydantic.iter().copied()));
        }
        for names in self.task_imports.values_mut() {
            names.sort();
            names.dedup();
        }
        for (module, names) in &self.task_imports {
            let listed: Vec<String> = names
                .iter()
                .map(|(imported, local)| {
                    if imported == local {
                        imported.clone()
                    } else {
                        format!("{imported} as {local}")
                    }
                })
                .collect();
            third_party.push(import_line(module, listed.iter().map(String::as_str)));
        }
        if self.uses_dedent {
            imports.push("from textwrap import dedent".to_string());
        }
        if !imports.is_empty() && !third_party.is_empty() {
            imports.push(String::new());
        }
        imports.extend(third_party);
        out.push_str(&imports.join("\n"));
        out.push('\n');
        for section in &self.sections {
            let two_lines = section.starts_with("class ")
                || section.starts_with("def ")
                || section.starts_with('@')
                || section.starts_with("# Worker");
            out.push_str(if two_lines { "\n\n" } else { "\n" });
            out.push_str(section);
            out.push('\n');
        }
        out.push_str("\n\nif __name__ == \"__main__\":\n    main()\n");
        ImportedModule {
            source: out,
            warnings: self.warnings_taken(),
        }
    }

    fn warnings_taken(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    // ---- Task classes ---------------------------------------------------------------

    fn name_tasks(&mut self) {
        for task in &self.graph.task_imports {
            let from_planai =
                task.is_implicit == Some(true) || task.module_path.as_deref() == Some("planai");
            if from_planai && PLANAI_TASK_CLASSES.contains(&task.class_name.as_str()) {
                self.task_names
                    .insert(task.id.clone(), task.class_name.clone());
                self.task_names
                    .insert(task.class_name.clone(), task.class_name.clone());
                continue;
            }
            let module = task.module_path.clone().unwrap_or_default();
            if !is_dotted_name(&module) || !is_identifier(&task.class_name) {
                self.warnings.push(format!(
                    "imported task {:?} (module {:?}) is not an importable name; references to it use Task",
                    task.class_name, module
                ));
                continue;
            }
            let local = self.namer.fresh(&task.class_name, "ImportedTask");
            self.task_names.insert(task.id.clone(), local.clone());
            self.task_names
                .entry(task.class_name.clone())
                .or_insert_with(|| local.clone());
            self.task_imports
                .entry(module)
                .or_default()
                .push((task.class_name.clone(), local));
        }
        for task in &self.graph.tasks {
            let local = self.namer.fresh(&task.class_name, "GeneratedTask");
            if local != task.class_name {
                self.warnings.push(format!(
                    "task class {:?} is written as {local} (not a free Python identifier); code that names it must say {local}",
                    task.class_name
                ));
            }
            self.task_names.insert(task.id.clone(), local.clone());
            self.task_names
                .entry(task.class_name.clone())
                .or_insert(local);
        }
    }

    /// The Python name of the Task class `reference` (a task id or class name).
    fn task_ref(&self, reference: &str) -> Option<String> {
        self.task_names.get(reference).cloned().or_else(|| {
            PLANAI_TASK_CLASSES
                .contains(&reference)
                .then(|| reference.to_string())
        })
    }

    /// Like `task_ref`, recording the planai import when it names a planai class.
    fn use_task(&mut self, reference: &str) -> Option<String> {
        let name = self.task_ref(reference)?;
        if let Some(builtin) = PLANAI_TASK_CLASSES.iter().find(|c| **c == name) {
            self.planai.insert(builtin);
        }
        Some(name)
    }

    fn task_classes(&mut self) {
        // A Task used as a field type must exist when pydantic builds the class using it.
        let tasks = &self.graph.tasks;
        let mut emitted: HashSet<usize> = HashSet::new();
        let mut order = Vec::with_capacity(tasks.len());
        while order.len() < tasks.len() {
            let before = order.len();
            for (i, task) in tasks.iter().enumerate() {
                if emitted.contains(&i) {
                    continue;
                }
                let waits = task.fields.iter().any(|f| {
                    tasks.iter().enumerate().any(|(j, other)| {
                        j != i
                            && !emitted.contains(&j)
                            && (f.field_type == other.id || f.field_type == other.class_name)
                    })
                });
                if !waits {
                    emitted.insert(i);
                    order.push(i);
                }
            }
            if order.len() == before {
                // A cycle: keep the graph's order for the rest (pydantic resolves it lazily).
                for i in 0..tasks.len() {
                    if emitted.insert(i) {
                        order.push(i);
                    }
                }
            }
        }
        for i in order {
            let class = self.task_class(&self.graph.tasks[i]);
            self.sections.push(class);
            if let Some(name) = self.task_ref(&self.graph.tasks[i].id) {
                self.defined_tasks.insert(name);
            }
        }
    }

    fn task_class(&mut self, task: &TaskDef) -> String {
        self.planai.insert("Task");
        let name = self
            .task_ref(&task.id)
            .unwrap_or_else(|| task.class_name.clone());
        let mut out = format!("class {name}(Task):\n");
        let mut field_names = Namer::with_reserved(&["model_config", "model_fields"]);
        let mut lines = Vec::new();
        for field in &task.fields {
            lines.push(self.task_field(&name, field, &mut field_names));
        }
        if lines.is_empty() {
            lines.push("    pass".to_string());
        }
        out.push_str(&lines.join("\n"));
        out
    }

    fn task_field(&mut self, class: &str, field: &FieldDef, names: &mut Namer) -> String {
        // pydantic treats `_x` as private and `model_*` as its own: such fields get an alias.
        let wanted = field.name.trim_start_matches('_');
        let wanted = if wanted.starts_with("model_") {
            format!("field_{wanted}")
        } else {
            wanted.to_string()
        };
        let python_name = names.fresh(&wanted, "field");
        let alias = (python_name != field.name).then(|| field.name.clone());
        let mut annotation = self.field_type(class, field);
        if field.is_list {
            self.typing.insert("List");
            annotation = format!("List[{annotation}]");
        }
        if !field.required {
            self.typing.insert("Optional");
            annotation = format!("Optional[{annotation}]");
        }
        let mut arguments = Vec::new();
        if !field.required {
            arguments.push("None".to_string());
        } else if alias.is_some() || field.description.is_some() {
            arguments.push("...".to_string());
        }
        if let Some(alias) = &alias {
            arguments.push(format!("alias={}", string_literal(alias)));
        }
        if let Some(description) = &field.description {
            arguments.push(format!("description={}", string_literal(description)));
        }
        let default = match arguments.as_slice() {
            [] => String::new(),
            [only] if only == "None" => " = None".to_string(),
            _ => {
                self.uses_field = true;
                format!(" = Field({})", arguments.join(", "))
            }
        };
        format!("    {python_name}: {annotation}{default}")
    }

    fn field_type(&mut self, class: &str, field: &FieldDef) -> String {
        match field.field_type.as_str() {
            "string" => "str".to_string(),
            "integer" => "int".to_string(),
            "float" => "float".to_string(),
            "boolean" => "bool".to_string(),
            "literal" => {
                let values: Vec<String> = field
                    .literal_values
                    .iter()
                    .flatten()
                    .filter_map(|v| match v {
                        // The editor keeps every value as text: a value stays a string even
                        // when it looks like a number ("1", "inf"), as the user typed it.
                        Value::String(s) => Some(string_literal(s)),
                        Value::Number(_) | Value::Bool(_) | Value::Null => {
                            json_to_python(&v.to_string()).ok()
                        }
                        _ => None,
                    })
                    .collect();
                if values.is_empty() {
                    self.warn(format!(
                        "field {class}.{} is a literal without values; written as str",
                        field.name
                    ));
                    return "str".to_string();
                }
                self.typing.insert("Literal");
                format!("Literal[{}]", values.join(", "))
            }
            other => {
                if let Some(task) = self.use_task(other) {
                    let local = self
                        .graph
                        .tasks
                        .iter()
                        .any(|t| self.task_ref(&t.id).as_deref() == Some(task.as_str()));
                    // A class not defined yet (itself, or a cycle) is a forward reference.
                    if local && !self.defined_tasks.contains(&task) {
                        return format!("\"{task}\"");
                    }
                    return task;
                }
                if plain_type_text(other) {
                    for name in ["Any", "Dict", "List", "Optional", "Tuple"] {
                        if other
                            .split(|c: char| !c.is_ascii_alphanumeric())
                            .any(|w| w == name)
                        {
                            self.typing.insert(name);
                        }
                    }
                    return other.to_string();
                }
                self.warn(format!(
                    "field {class}.{} has the type {other:?}, which is not a Python type this module defines; written as Any",
                    field.name
                ));
                self.typing.insert("Any");
                "Any".to_string()
            }
        }
    }

    // ---- Module-level imports and tools -------------------------------------------------

    fn module_level_imports(&mut self) {
        for node in nodes_of(self.graph, &["modulelevelimport"]) {
            let code = node
                .data
                .get("code")
                .and_then(Value::as_str)
                .map(dedent)
                .unwrap_or_default();
            if code.trim().is_empty() {
                continue;
            }
            if parses_as_module(&code) {
                self.sections.push(code);
            } else {
                self.warn(format!(
                    "module-level import node {} does not parse as Python; kept as a comment",
                    node.id
                ));
                self.sections.push(comment_out(&code));
            }
        }
    }

    fn tools(&mut self) {
        for tool in &self.graph.tools {
            let code = dedent(&tool.code);
            let Some((def_line, function)) = def_name(&code) else {
                self.warn(format!(
                    "tool {:?} has no `def` in its code; left out",
                    tool.name
                ));
                continue;
            };
            let python_name = self.namer.fresh(&function, "tool_function");
            let code = if python_name != function {
                self.warn(format!(
                    "tool function {function:?} is written as {python_name} (the name was taken)"
                ));
                rename_def(&code, def_line, &function, &python_name)
            } else {
                code
            };
            self.tool_names.insert(tool.id.clone(), python_name.clone());
            self.tool_names
                .entry(tool.name.clone())
                .or_insert(python_name.clone());
            if !parses_as_module(&code) {
                self.warn(format!(
                    "the code of tool {:?} does not parse as Python",
                    tool.name
                ));
            }
            let decorated = code
                .lines()
                .take(def_line)
                .any(|l| l.trim_start().starts_with('@') && l.contains("tool"));
            if decorated {
                self.sections.push(code);
                continue;
            }
            self.planai.insert("tool");
            let mut arguments = vec![format!("name={}", string_literal(&tool.name))];
            if !tool.description.is_empty() {
                arguments.push(format!("description={}", string_literal(&tool.description)));
            }
            self.sections
                .push(format!("@tool({})\n{code}", arguments.join(", ")));
        }
    }

    // ---- Worker classes -----------------------------------------------------------------

    fn worker_classes(&mut self) {
        let nodes: Vec<&EditorNode> = nodes_of(self.graph, WORKER_KINDS)
            .filter(|n| n.kind != "subgraphworker")
            .collect();
        let data: Vec<WorkerData> = nodes
            .iter()
            .map(|n| WorkerData::from_data(&n.data))
            .collect();
        // Names first: `join_type` refers to a class by its editor name.
        let mut first_of_name: HashMap<String, usize> = HashMap::new();
        for (i, worker) in data.iter().enumerate() {
            if first_of_name.contains_key(&worker.class_name) {
                continue;
            }
            first_of_name.insert(worker.class_name.clone(), i);
            let python = self.namer.fresh(&worker.class_name, "GeneratedWorker");
            self.class_by_editor_name
                .insert(worker.class_name.clone(), python);
        }
        // A join_type target is defined before the class naming it.
        let mut order: Vec<usize> = Vec::with_capacity(nodes.len());
        let mut placed: HashSet<usize> = HashSet::new();
        while order.len() < nodes.len() {
            let before = order.len();
            for (i, worker) in data.iter().enumerate() {
                if placed.contains(&i) {
                    continue;
                }
                let waits = worker.join_type.as_ref().is_some_and(|target| {
                    first_of_name
                        .get(target)
                        .is_some_and(|&j| j != i && !placed.contains(&j))
                });
                if !waits {
                    placed.insert(i);
                    order.push(i);
                }
            }
            if order.len() == before {
                for i in 0..nodes.len() {
                    if placed.insert(i) {
                        order.push(i);
                    }
                }
            }
        }
        // Two nodes naming one class with the same definition share it; a second, different
        // definition under a taken name becomes a class of its own.
        let mut bodies: HashMap<String, String> = HashMap::new();
        for i in order {
            let (node, worker) = (nodes[i], &data[i]);
            let Some(base) = self.worker_base(&node.kind, worker) else {
                continue;
            };
            let body = self.worker_body(&node.kind, worker);
            let first = &self.class_by_editor_name[&worker.class_name];
            let key = format!("{base}\n{body}");
            let name = match bodies.get(first) {
                Some(existing) if *existing == key => {
                    self.worker_classes.insert(node.id.clone(), first.clone());
                    continue;
                }
                Some(_) => {
                    let fresh = self.namer.fresh(&worker.class_name, "GeneratedWorker");
                    self.warn(format!(
                        "two worker nodes define different classes named {:?}; the one of node {} is {fresh}",
                        worker.class_name, node.id
                    ));
                    fresh
                }
                None => first.clone(),
            };
            bodies.insert(name.clone(), key);
            self.worker_classes.insert(node.id.clone(), name.clone());
            self.sections.push(format!("class {name}({base}):\n{body}"));
        }
    }

    fn worker_base(&mut self, kind: &str, worker: &WorkerData) -> Option<&'static str> {
        let base = match (kind, worker.is_cached) {
            ("taskworker", false) => "TaskWorker",
            ("taskworker", true) => "CachedTaskWorker",
            ("llmtaskworker", false) => "LLMTaskWorker",
            ("llmtaskworker", true) => "CachedLLMTaskWorker",
            ("joinedtaskworker", _) => "JoinedTaskWorker",
            ("chattaskworker", _) => "ChatTaskWorker",
            _ => return None,
        };
        self.planai.insert(base);
        Some(base)
    }

    fn worker_body(&mut self, kind: &str, worker: &WorkerData) -> String {
        let mut lines: Vec<String> = Vec::new();
        let class = worker.class_name.clone();
        let is_llm = kind == "llmtaskworker";
        let is_chat = kind == "chattaskworker";
        if !is_chat {
            let mut outputs = Vec::new();
            for t in &worker.output_types {
                match self.use_task(t) {
                    Some(name) => outputs.push(name),
                    None => self.warn(format!(
                        "worker {class:?}: output type {t:?} is not a Task of the graph; left out"
                    )),
                }
            }
            self.typing.extend(["List", "Type"]);
            self.planai.insert("Task");
            lines.push(format!(
                "    output_types: List[Type[Task]] = [{}]",
                outputs.join(", ")
            ));
        }
        if is_llm {
            if let Some(input) = worker.input_type() {
                if let Some(name) = self.use_task(input) {
                    self.typing.insert("Type");
                    lines.push(format!("    llm_input_type: Type[Task] = {name}"));
                }
            }
        }
        if is_llm || is_chat {
            if let Some(output) = &worker.llm_output_type {
                if let Some(name) = self.use_task(output) {
                    self.typing.insert("Type");
                    lines.push(format!("    llm_output_type: Type[Task] = {name}"));
                }
            }
        }
        if kind == "joinedtaskworker" {
            if let Some(join) = &worker.join_type {
                match self.class_by_editor_name.get(join).cloned().or_else(|| {
                    ["InitialTaskWorker", "TaskWorker"]
                        .contains(&join.as_str())
                        .then(|| join.clone())
                }) {
                    Some(name) => {
                        if name == "InitialTaskWorker" {
                            self.planai.insert("InitialTaskWorker");
                        }
                        self.planai.insert("TaskWorker");
                        self.typing.insert("Type");
                        lines.push(format!("    join_type: Type[TaskWorker] = {name}"));
                    }
                    None => self.warn(format!(
                        "worker {class:?}: join_type {join:?} is not a worker of the graph; left out"
                    )),
                }
            }
        }
        if is_llm {
            if let Some(prompt) = &worker.prompt {
                lines.push(format!(
                    "    prompt: str = {}",
                    text_literal(&dedent_text(prompt))
                ));
            }
        }
        if is_llm || is_chat {
            if let Some(system) = &worker.system_prompt {
                lines.push(format!(
                    "    system_prompt: str = {}",
                    text_literal(&dedent_text(system))
                ));
            }
            if !worker.tools.is_empty() {
                let mut names = Vec::new();
                for t in &worker.tools {
                    match self.tool_names.get(t) {
                        Some(name) => names.push(name.clone()),
                        None => self.warn(format!(
                            "worker {class:?}: tool {t:?} is not a tool of the graph; left out"
                        )),
                    }
                }
                self.typing.insert("List");
                self.planai.insert("Tool");
                lines.push(format!("    tools: List[Tool] = [{}]", names.join(", ")));
            }
            if let Some(use_xml) = worker.use_xml {
                lines.push(format!("    use_xml: bool = {}", python_bool(use_xml)));
            }
        }
        if worker.debug_mode == Some(true) {
            lines.push("    debug_mode: bool = True".to_string());
        }
        if let Some(other) = &worker.other_members_source {
            let code = dedent(other);
            if !parses_as_module(&code) {
                self.warn(format!(
                    "worker {class:?}: its other members do not parse as Python"
                ));
            }
            lines.push(String::new());
            lines.push(indent(&code, 4));
        }
        for (name, source) in &worker.methods {
            if let Some(method) = self.method(kind, worker, name, source) {
                lines.push(String::new());
                lines.push(indent(&method, 4));
            }
        }
        if lines.is_empty() {
            lines.push("    pass".to_string());
        }
        lines.join("\n")
    }

    /// A method from its stored source: a full `def` as written, or a body wrapped in the
    /// signature PlanAI gives that method.
    fn method(
        &mut self,
        kind: &str,
        worker: &WorkerData,
        name: &str,
        source: &str,
    ) -> Option<String> {
        let class = &worker.class_name;
        let code = dedent(source);
        let first = code.trim_start();
        if first.starts_with("def ") || first.starts_with("async def ") || first.starts_with('@') {
            if !parses_as_module(&code) {
                self.warn(format!(
                    "worker {class:?}: method {name} does not parse as Python"
                ));
            }
            return Some(code);
        }
        if !is_identifier(name) {
            self.warn(format!(
                "worker {class:?}: method {name:?} is not a Python name; left out"
            ));
            return None;
        }
        let input = worker
            .input_type()
            .and_then(|t| self.use_task(t))
            .unwrap_or_else(|| {
                self.planai.insert("Task");
                "Task".to_string()
            });
        let response = worker
            .llm_output_type
            .as_deref()
            .or(worker.output_types.first().map(String::as_str))
            .and_then(|t| self.use_task(t))
            .unwrap_or_else(|| "Task".to_string());
        self.planai.insert("Task");
        let signature = match name {
            "consume_work" if kind == "chattaskworker" => {
                self.planai.insert("ChatTask");
                "def consume_work(self, task: ChatTask):".to_string()
            }
            "consume_work" => format!("def consume_work(self, task: {input}):"),
            "consume_work_joined" => {
                self.typing.insert("List");
                format!("def consume_work_joined(self, tasks: List[{input}]):")
            }
            "post_process" => {
                self.typing.insert("Optional");
                format!(
                    "def post_process(self, response: Optional[{response}], input_task: {input}):"
                )
            }
            "pre_process" => {
                self.typing.insert("Optional");
                format!("def pre_process(self, task: {input}) -> Optional[Task]:")
            }
            "format_prompt" => format!("def format_prompt(self, task: {input}) -> str:"),
            "extra_validation" => {
                self.typing.insert("Optional");
                format!("def extra_validation(self, response: Task, input_task: {input}) -> Optional[str]:")
            }
            "extra_cache_key" => format!("def extra_cache_key(self, task: {input}) -> str:"),
            "pre_consume_work" | "post_consume_work" => {
                format!("def {name}(self, task: {input}) -> None:")
            }
            other => {
                self.warn(format!(
                    "worker {class:?}: method {other} has only a body; given the signature (self, *args, **kwargs)"
                ));
                format!("def {other}(self, *args, **kwargs):")
            }
        };
        let body = if code.trim().is_empty() {
            "pass".to_string()
        } else {
            code
        };
        let method = format!("{signature}\n{}", indent(&body, 4));
        if !parses_as_module(&method) {
            self.warn(format!(
                "worker {class:?}: method {name} does not parse as Python"
            ));
        }
        Some(method)
    }

    // ---- Sinks and the builder ------------------------------------------------------------

    /// One callback per data-output node (node id → function name).
    fn sink_callbacks(&mut self) -> HashMap<String, String> {
        let mut callbacks = HashMap::new();
        for node in nodes_of(self.graph, &["dataoutput"]) {
            let has_input = self.graph.edges.iter().any(|e| e.target == node.id);
            if !has_input {
                continue;
            }
            let output = DataOutput::from_data(&node.data);
            let wanted = format!("print_{}", snake_case(&output.name));
            let function = self.namer.fresh(&wanted, "print_output");
            self.typing.extend(["Any", "Dict"]);
            self.planai.insert("Task");
            self.sections.push(format!(
                "def {function}(metadata: Dict[str, Any], task: Task) -> None:\n    \
                 # The editor's data-output node {}: prints each task it receives.\n    \
                 print(task.model_dump_json(indent=2))",
                comment_text(&output.name)
            ));
            callbacks.insert(node.id.clone(), function);
        }
        callbacks
    }

    fn builder(&mut self, callbacks: &HashMap<String, String>) {
        self.planai.extend(["Graph", "Task", "TaskWorker"]);
        self.typing.extend(["List", "Tuple"]);
        let mut body: Vec<String> = vec!["graph = Graph(name=GRAPH_NAME)".to_string()];
        let mut llm_lines: Vec<String> = Vec::new();
        let mut llm_vars: HashMap<String, String> = HashMap::new();
        let mut instances: Vec<(String, String)> = Vec::new(); // node id → variable
        let mut instance_lines = Vec::new();
        for node in nodes_of(self.graph, WORKER_KINDS) {
            let worker = WorkerData::from_data(&node.data);
            let wanted = worker
                .variable_name
                .clone()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| snake_case(&worker.class_name));
            if node.kind == "subgraphworker" {
                if let Some(call) = self.factory_call(node, &worker) {
                    let variable = self.namer.fresh(&wanted, "subgraph_worker");
                    instance_lines.push(format!("{variable} = {call}"));
                    instances.push((node.id.clone(), variable));
                }
                continue;
            }
            let Some(class) = self.worker_classes.get(&node.id).cloned() else {
                continue;
            };
            let variable = self.namer.fresh(&wanted, "worker");
            let arguments = if matches!(node.kind.as_str(), "llmtaskworker" | "chattaskworker") {
                let llm = self.llm_variable(node, &worker, &mut llm_vars, &mut llm_lines);
                format!("llm={llm}")
            } else {
                String::new()
            };
            instance_lines.push(format!("{variable} = {class}({arguments})"));
            instances.push((node.id.clone(), variable));
        }
        body.extend(llm_lines);
        body.extend(instance_lines);
        let variable_of = |id: &str| {
            instances
                .iter()
                .find(|(node, _)| node == id)
                .map(|(_, v)| v.clone())
        };
        if !instances.is_empty() {
            let all: Vec<&str> = instances.iter().map(|(_, v)| v.as_str()).collect();
            body.push(call_lines("graph.add_workers", &all));
        }
        let mut dependencies: Vec<(String, String)> = Vec::new();
        let mut sinks: Vec<(String, String, String)> = Vec::new();
        let mut entries: Vec<String> = Vec::new();
        let mut initial: Vec<String> = Vec::new();
        for node in nodes_of(self.graph, WORKER_KINDS) {
            if WorkerData::from_data(&node.data).entry_point {
                if let Some(v) = variable_of(&node.id) {
                    push_unique(&mut entries, v);
                }
            }
        }
        for edge in &self.graph.edges {
            let (Some(source), Some(target)) =
                (self.graph.node(&edge.source), self.graph.node(&edge.target))
            else {
                self.warn(format!(
                    "edge {:?} connects a node that is not in the graph; left out",
                    edge.id
                ));
                continue;
            };
            let source_is_worker = WORKER_KINDS.contains(&source.kind.as_str());
            let target_is_worker = WORKER_KINDS.contains(&target.kind.as_str());
            match (source.kind.as_str(), target.kind.as_str()) {
                _ if source_is_worker && target_is_worker => {
                    if let (Some(a), Some(b)) = (variable_of(&source.id), variable_of(&target.id)) {
                        if !dependencies.contains(&(a.clone(), b.clone())) {
                            dependencies.push((a, b));
                        }
                    }
                }
                (_, "dataoutput") if source_is_worker => {
                    let Some(a) = variable_of(&source.id) else {
                        continue;
                    };
                    let output = DataOutput::from_data(&target.data);
                    let handle_type = edge
                        .source_handle
                        .as_deref()
                        .and_then(|h| h.strip_prefix("output-"))
                        .map(str::to_string);
                    let worker = WorkerData::from_data(&source.data);
                    let task_type = output.input_type.clone().or(handle_type).or_else(|| {
                        (worker.output_types.len() == 1).then(|| worker.output_types[0].clone())
                    });
                    let Some(task) = task_type.as_deref().and_then(|t| self.use_task(t)) else {
                        self.warn(format!(
                            "data output {:?}: the task type it receives is unknown; no sink for it",
                            output.name
                        ));
                        continue;
                    };
                    let Some(callback) = callbacks.get(&target.id) else {
                        continue;
                    };
                    let sink = (a, task, callback.clone());
                    if !sinks.iter().any(|(w, t, _)| *w == sink.0 && *t == sink.1) {
                        sinks.push(sink);
                    }
                }
                ("datainput", _) if target_is_worker => {
                    let Some(b) = variable_of(&target.id) else {
                        continue;
                    };
                    let input = DataInput::from_data(&source.data);
                    let Some(task) = self.use_task(&input.class_name) else {
                        self.warn(format!(
                            "data input {}: {:?} is not a Task of the graph; no initial task",
                            source.id, input.class_name
                        ));
                        continue;
                    };
                    let payload = if input.json_data.trim().is_empty() {
                        Ok("{}".to_string())
                    } else {
                        json_to_python(&input.json_data)
                    };
                    match payload {
                        Ok(literal) => {
                            initial.push(format!("({b}, {task}.model_validate({literal}))"));
                            push_unique(&mut entries, b);
                        }
                        Err(e) => self.warn(format!(
                            "data input {}: its data is not valid JSON ({e}); no initial task",
                            source.id
                        )),
                    }
                }
                (from, to) => self.warn(format!(
                    "edge from a {from} node to a {to} node has no meaning in code; left out"
                )),
            }
        }
        for (a, b) in &dependencies {
            body.push(format!("graph.set_dependency({a}, {b})"));
        }
        if !entries.is_empty() {
            let listed: Vec<&str> = entries.iter().map(String::as_str).collect();
            body.push(call_lines("graph.set_entry", &listed));
        }
        for (worker, task, callback) in &sinks {
            body.push(format!("graph.set_sink({worker}, {task}, {callback})"));
        }
        if initial.is_empty() {
            body.push("initial_tasks: List[Tuple[TaskWorker, Task]] = []".to_string());
        } else {
            let mut list = String::from("initial_tasks: List[Tuple[TaskWorker, Task]] = [\n");
            for item in &initial {
                list.push_str(&format!("    {item},\n"));
            }
            list.push(']');
            body.push(list);
        }
        body.push("return graph, initial_tasks".to_string());
        let body = indent(&body.join("\n"), 4);
        self.sections.push(format!(
            "def build_graph() -> Tuple[Graph, List[Tuple[TaskWorker, Task]]]:\n    \
             \"\"\"The graph and its initial tasks (from the editor's data-input nodes).\"\"\"\n{body}"
        ));
        self.sections.push(
            "def main() -> None:\n    \
             graph, initial_tasks = build_graph()\n    \
             if not initial_tasks:\n        \
             print(\"The graph has no initial tasks: add them in build_graph().\")\n        \
             return\n    \
             graph.run(initial_tasks=initial_tasks, display_terminal=False)"
                .to_string(),
        );
    }

    /// `create_planning_worker(<arguments as written>)` for a subgraph node.
    fn factory_call(&mut self, node: &EditorNode, worker: &WorkerData) -> Option<String> {
        let factory = worker.factory_function.clone().unwrap_or_default();
        if !KNOWN_FACTORIES.contains(&factory.as_str()) {
            self.warn(format!(
                "subgraph node {}: factory {factory:?} is not one of planai.patterns' ({}); left out",
                node.id,
                KNOWN_FACTORIES.join(", ")
            ));
            return None;
        }
        let arguments = worker.factory_invocation.clone().unwrap_or_default();
        let call = format!("{factory}({})", arguments.trim());
        // The arguments are code: they must make exactly this one call, nothing around it.
        if !is_single_call_of(&call, &factory) {
            self.warn(format!(
                "subgraph node {}: its factory arguments {arguments:?} do not parse as call arguments; left out",
                node.id
            ));
            return None;
        }
        if call.contains("llm_from_config") {
            self.planai.insert("llm_from_config");
        }
        self.patterns.insert(factory);
        Some(call)
    }

    /// The variable holding the LLM of an LLM or chat worker, defining it on first use.
    fn llm_variable(
        &mut self,
        node: &EditorNode,
        worker: &WorkerData,
        known: &mut HashMap<String, String>,
        lines: &mut Vec<String>,
    ) -> String {
        self.planai.insert("llm_from_config");
        if let Some(config_name) = &worker.llm_config_name {
            let key = format!("config:{config_name}");
            if let Some(v) = known.get(&key) {
                return v.clone();
            }
            if let Some(config) = self
                .graph
                .llm_configs
                .iter()
                .find(|c| &c.name == config_name)
            {
                let mut arguments = vec![
                    format!("provider={}", string_literal(&config.provider)),
                    format!("model_name={}", string_literal(&config.model_id)),
                ];
                for (key, value) in [
                    ("host", &config.base_url),
                    ("hostname", &config.remote_hostname),
                    ("username", &config.remote_username),
                ] {
                    if let Some(value) = value {
                        arguments.push(format!("{key}={}", string_literal(value)));
                    }
                }
                if let Some(max) = config.max_tokens.as_ref().filter(|v| v.is_number()) {
                    arguments.push(format!("max_tokens={max}"));
                }
                for (key, value) in [
                    ("json_mode", config.json_mode),
                    ("structured_outputs", config.structured_outputs),
                ] {
                    if let Some(value) = value {
                        arguments.push(format!("{key}={}", python_bool(value)));
                    }
                }
                let variable = self
                    .namer
                    .fresh(&format!("llm_{}", snake_case(config_name)), "llm");
                lines.push(format!(
                    "{variable} = llm_from_config({})",
                    arguments.join(", ")
                ));
                known.insert(key, variable.clone());
                return variable;
            }
            self.warn(format!(
                "worker {:?} names the LLM config {config_name:?}, which the graph does not hold",
                worker.class_name
            ));
        }
        if let Some(config) = &worker.llm_config_from_code {
            let key = worker
                .llm_config_var
                .as_ref()
                .map(|v| format!("var:{v}"))
                .unwrap_or_else(|| format!("node:{}", node.id));
            if let Some(v) = known.get(&key) {
                return v.clone();
            }
            let mut arguments = Vec::new();
            for (name, setting) in config {
                let name = if name == "baseUrl" {
                    "host"
                } else {
                    name.as_str()
                };
                if !is_identifier(name) {
                    self.warn(format!(
                        "LLM setting {name:?} is not a keyword name; left out"
                    ));
                    continue;
                }
                let value = setting.get("value").unwrap_or(setting);
                let literal = setting
                    .get("is_literal")
                    .and_then(Value::as_bool)
                    .unwrap_or(true);
                let written = match (literal, value) {
                    (_, Value::Null) => continue,
                    (false, Value::String(expression)) => {
                        if is_single_call_of(&format!("f({expression})"), "f") {
                            Some(expression.clone())
                        } else {
                            None
                        }
                    }
                    (_, value) => json_to_python(&value.to_string()).ok(),
                };
                match written {
                    Some(v) => arguments.push(format!("{name}={v}")),
                    None => self.warn(format!(
                        "LLM setting {name} of worker {:?} is not a Python expression; left out",
                        worker.class_name
                    )),
                }
            }
            let wanted = worker
                .llm_config_var
                .clone()
                .unwrap_or_else(|| "llm".to_string());
            let variable = self.namer.fresh(&wanted, "llm");
            lines.push(format!(
                "{variable} = llm_from_config({})",
                arguments.join(", ")
            ));
            known.insert(key, variable.clone());
            return variable;
        }
        let key = "default".to_string();
        if let Some(v) = known.get(&key) {
            return v.clone();
        }
        self.warn(format!(
            "worker {:?} has no LLM config in the graph; it uses llm_from_config()'s defaults",
            worker.class_name
        ));
        let variable = self.namer.fresh("llm", "llm");
        lines.push(format!(
            "# The editor graph chose no LLM here: llm_from_config()'s defaults (ollama).\n\
             {variable} = llm_from_config()"
        ));
        known.insert(key, variable.clone());
        variable
    }
}

fn nodes_of<'a>(graph: &'a SavedGraph, kinds: &'a [&str]) -> impl Iterator<Item = &'a EditorNode> {
    graph
        .nodes
        .iter()
        .filter(move |n| kinds.contains(&n.kind.as_str()))
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

fn python_bool(value: bool) -> &'static str {
    if value {
        "True"
    } else {
        "False"
    }
}

/// `from module import a, b` on one line, or parenthesised one name a line when long.
fn import_line<'a>(module: &str, names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    let line = format!("from {module} import {}", names.join(", "));
    if line.len() <= 88 {
        return line;
    }
    let mut out = format!("from {module} import (\n");
    for name in names {
        out.push_str(&format!("    {name},\n"));
    }
    out.push(')');
    out
}

/// `f(a, b)` on one line, or one argument a line when long.
fn call_lines(function: &str, arguments: &[&str]) -> String {
    let line = format!("{function}({})", arguments.join(", "));
    if line.len() <= 84 {
        return line;
    }
    let mut out = format!("{function}(\n");
    for a in arguments {
        out.push_str(&format!("    {a},\n"));
    }
    out.push(')');
    out
}

/// A prompt as the editor showed it: dedented, without surrounding blank lines.
fn dedent_text(text: &str) -> String {
    if text.contains('\n') {
        dedent(text)
    } else {
        text.to_string()
    }
}

/// Text safe on one comment line.
fn comment_text(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn comment_out(code: &str) -> String {
    code.lines()
        .map(|l| format!("# {}", comment_text(l)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Text such as `Dict[str, Any]` (the editor's text for annotations it did not model) that
/// only names builtins and typing names.
fn plain_type_text(text: &str) -> bool {
    !text.trim().is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_[], |".contains(c))
        && text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .all(|w| PLAIN_TYPE_NAMES.contains(&w))
        && parses_as_expression(text)
}

/// The line index of the first `def` of `code` and the function's name.
fn def_name(code: &str) -> Option<(usize, String)> {
    code.lines().enumerate().find_map(|(i, line)| {
        let rest = line
            .strip_prefix("def ")
            .or_else(|| line.strip_prefix("async def "))?;
        let name: String = rest
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        (!name.is_empty()).then_some((i, name))
    })
}

fn rename_def(code: &str, def_line: usize, old: &str, new: &str) -> String {
    code.lines()
        .enumerate()
        .map(|(i, line)| {
            if i == def_line {
                line.replacen(&format!("def {old}"), &format!("def {new}"), 1)
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Python parsing on a stack grown for the text (ruff's parser recurses).
fn with_stack<T>(f: impl FnOnce() -> T) -> T {
    stacker::maybe_grow(256 * 1024, 64 * 1024 * 1024, f)
}

pub(crate) fn parses_as_module(code: &str) -> bool {
    with_stack(|| ruff_python_parser::parse_module(code).is_ok())
}

fn parses_as_expression(code: &str) -> bool {
    with_stack(|| ruff_python_parser::parse_expression(code).is_ok())
}

/// Whether `code` is exactly one call of the plain name `function` (its arguments cannot
/// close the call and add code after it).
fn is_single_call_of(code: &str, function: &str) -> bool {
    use ruff_python_ast::Expr;
    with_stack(|| {
        let Ok(parsed) = ruff_python_parser::parse_expression(code) else {
            return false;
        };
        match &*parsed.syntax().body {
            Expr::Call(call) => {
                matches!(&*call.func, Expr::Name(name) if name.id.as_str() == function)
            }
            _ => false,
        }
    })
}

/// The identifiers of `code` (also inside strings and comments: an unused import is harmless,
/// a missing one is a NameError). Attribute names (`x.Optional`) are skipped.
fn identifiers(code: &str) -> impl Iterator<Item = &str> {
    let bytes = code.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() {
            let start = at;
            if bytes[at] == b'_' || bytes[at].is_ascii_alphabetic() {
                while at < bytes.len() && (bytes[at] == b'_' || bytes[at].is_ascii_alphanumeric()) {
                    at += 1;
                }
                let after_dot = start > 0 && bytes[start - 1] == b'.';
                let inside_word = start > 0 && bytes[start - 1] >= 0x80;
                if !after_dot && !inside_word {
                    return Some(&code[start..at]);
                }
            } else {
                at += 1;
            }
        }
        None
    })
}
