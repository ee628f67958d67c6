//! The PlanAI Editor's saved graph (the JSON its "Save" button downloads): serde types for
//! versions 1 and 2, the version 1 → 2 migration the editor performs on load, and typed views
//! of the node kinds' `data`.
//!
//! Node `data` is kept as JSON (`serde_json::Value`): the editor stored UI state next to what
//! matters, in two shapes over time (class variables at the top level of `data`, or under
//! `classVars` as its exporter sent them), and a graph re-saved by us should keep what we do
//! not interpret.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The version the editor writes today, and the only one we write.
pub const CURRENT_VERSION: u32 = 2;

/// A saved editor graph, after [`SavedGraph::parse`] migrated it to version 2.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SavedGraph {
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub nodes: Vec<EditorNode>,
    #[serde(default)]
    pub edges: Vec<EditorEdge>,
    #[serde(default)]
    pub tools: Vec<ToolDef>,
    #[serde(default)]
    pub tasks: Vec<TaskDef>,
    #[serde(default, rename = "taskImports")]
    pub task_imports: Vec<TaskDef>,
    #[serde(default, rename = "llmConfigs")]
    pub llm_configs: Vec<LlmConfig>,
    #[serde(default, rename = "llmConfigsFromCode")]
    pub llm_configs_from_code: Vec<Value>,
}

/// A svelte-flow node: the canvas position and the node kind's data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EditorNode {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub position: Position,
    #[serde(default)]
    pub data: Value,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Position {
    #[serde(default)]
    pub x: f64,
    #[serde(default)]
    pub y: f64,
}

/// A connection between two nodes, by node id. In version 2 the source handle names the
/// task flowing along it by task id (`output-<taskId>`); version 1 named it by class name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EditorEdge {
    #[serde(default)]
    pub id: String,
    pub source: String,
    pub target: String,
    #[serde(
        default,
        rename = "sourceHandle",
        skip_serializing_if = "Option::is_none"
    )]
    pub source_handle: Option<String>,
    #[serde(
        default,
        rename = "targetHandle",
        skip_serializing_if = "Option::is_none"
    )]
    pub target_handle: Option<String>,
}

/// A Task class of the graph's library (`tasks`), or an imported one (`taskImports`, which
/// also carry `modulePath`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskDef {
    pub id: String,
    #[serde(rename = "type", default = "task_kind")]
    pub kind: String,
    #[serde(rename = "className")]
    pub class_name: String,
    #[serde(default)]
    pub fields: Vec<FieldDef>,
    #[serde(
        default,
        rename = "modulePath",
        skip_serializing_if = "Option::is_none"
    )]
    pub module_path: Option<String>,
    /// Added by the editor's parser (ChatTask, ChatMessage for chat workers), not the user.
    #[serde(
        default,
        rename = "isImplicit",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_implicit: Option<bool>,
    #[serde(
        default,
        rename = "availableClasses",
        skip_serializing_if = "Option::is_none"
    )]
    pub available_classes: Option<Vec<String>>,
}

fn task_kind() -> String {
    "task".to_string()
}

fn yes() -> bool {
    true
}

/// One field of a Task class. `type` is `string|integer|float|boolean|literal`, a Task class
/// name, or other text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FieldDef {
    pub name: String,
    #[serde(rename = "type", default)]
    pub field_type: String,
    #[serde(default, rename = "isList")]
    pub is_list: bool,
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Strings in the editor's files; numbers and booleans are accepted as written.
    #[serde(
        default,
        rename = "literalValues",
        skip_serializing_if = "Option::is_none"
    )]
    pub literal_values: Option<Vec<Value>>,
}

/// A tool: a full `def` plus the name and description given to `@tool`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolDef {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub code: String,
}

/// An LLM configuration the user defined in the editor (picked by name on LLM nodes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LlmConfig {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default)]
    pub provider: String,
    #[serde(default, rename = "modelId")]
    pub model_id: String,
    #[serde(default, rename = "baseUrl", skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(
        default,
        rename = "remoteHostname",
        skip_serializing_if = "Option::is_none"
    )]
    pub remote_hostname: Option<String>,
    #[serde(
        default,
        rename = "remoteUsername",
        skip_serializing_if = "Option::is_none"
    )]
    pub remote_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_mode: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured_outputs: Option<bool>,
}

/// Why a file is not a graph we can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphFormatError(pub String);

impl std::fmt::Display for GraphFormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl SavedGraph {
    /// Reads a saved graph of version 1 or 2 and migrates it to version 2.
    pub fn parse(json: &str) -> Result<SavedGraph, GraphFormatError> {
        let value: Value = serde_json::from_str(json)
            .map_err(|e| GraphFormatError(format!("not a JSON file: {e}")))?;
        let version = value
            .get("version")
            .and_then(Value::as_u64)
            .ok_or_else(|| {
                GraphFormatError(
                    "not a PlanAI Editor graph: no numeric \"version\" (saved graphs have 1 or 2)"
                        .to_string(),
                )
            })?;
        if !matches!(value.get("nodes"), Some(Value::Array(_))) {
            return Err(GraphFormatError(
                "not a PlanAI Editor graph: \"nodes\" is missing or not a list".to_string(),
            ));
        }
        let mut graph: SavedGraph = serde_json::from_value(value)
            .map_err(|e| GraphFormatError(format!("malformed PlanAI Editor graph: {e}")))?;
        match version {
            1 => graph.migrate_from_version_1(),
            2 => {}
            other => {
                return Err(GraphFormatError(format!(
                    "unsupported graph version {other}: planai-lsp reads versions 1 and 2"
                )))
            }
        }
        Ok(graph)
    }

    /// Version 1 kept Task classes as canvas nodes and named edge handles by class name; the
    /// editor moves them into the task stores and renames the handles to task ids on load.
    fn migrate_from_version_1(&mut self) {
        let mut kept = Vec::with_capacity(self.nodes.len());
        for node in std::mem::take(&mut self.nodes) {
            match node.kind.as_str() {
                "task" | "taskimport" => {
                    let data = &node.data;
                    let fields = data
                        .get("fields")
                        .cloned()
                        .and_then(|f| serde_json::from_value(f).ok())
                        .unwrap_or_default();
                    let task = TaskDef {
                        id: node.id.clone(),
                        kind: node.kind.clone(),
                        class_name: str_of(data, "className").unwrap_or_default(),
                        fields,
                        module_path: str_of(data, "modulePath"),
                        is_implicit: data.get("isImplicit").and_then(Value::as_bool),
                        available_classes: data
                            .get("availableClasses")
                            .cloned()
                            .and_then(|v| serde_json::from_value(v).ok()),
                    };
                    if node.kind == "task" {
                        self.tasks.push(task);
                    } else {
                        self.task_imports.push(task);
                    }
                }
                _ => kept.push(node),
            }
        }
        self.nodes = kept;
        // Edges from Task nodes carried no data (the editor drops them too).
        let moved: Vec<&str> = self
            .tasks
            .iter()
            .chain(&self.task_imports)
            .map(|t| t.id.as_str())
            .collect();
        self.edges.retain(|e| !moved.contains(&e.source.as_str()));
        for edge in &mut self.edges {
            let Some(type_name) = edge
                .source_handle
                .as_deref()
                .and_then(|h| h.strip_prefix("output-"))
            else {
                continue;
            };
            if let Some(task) = self
                .tasks
                .iter()
                .chain(&self.task_imports)
                .find(|t| t.class_name == type_name)
            {
                edge.source_handle = Some(format!("output-{}", task.id));
            }
        }
        self.version = CURRENT_VERSION;
    }

    /// The Task class (local or imported) with this id or, failing that, this class name.
    pub fn task(&self, id_or_name: &str) -> Option<&TaskDef> {
        let all = || self.tasks.iter().chain(&self.task_imports);
        all()
            .find(|t| t.id == id_or_name)
            .or_else(|| all().find(|t| t.class_name == id_or_name))
    }

    pub fn node(&self, id: &str) -> Option<&EditorNode> {
        self.nodes.iter().find(|n| n.id == id)
    }
}

fn str_of(data: &Value, key: &str) -> Option<String> {
    data.get(key).and_then(Value::as_str).map(str::to_string)
}

/// The kinds of worker nodes (each becomes a class, or a factory call for subgraphs).
pub const WORKER_KINDS: &[&str] = &[
    "taskworker",
    "llmtaskworker",
    "joinedtaskworker",
    "chattaskworker",
    "subgraphworker",
];

/// What a worker node says, read from either shape of its `data`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkerData {
    pub class_name: String,
    pub variable_name: Option<String>,
    pub input_types: Vec<String>,
    pub output_types: Vec<String>,
    pub llm_input_type: Option<String>,
    pub llm_output_type: Option<String>,
    pub join_type: Option<String>,
    pub prompt: Option<String>,
    pub system_prompt: Option<String>,
    pub use_xml: Option<bool>,
    pub debug_mode: Option<bool>,
    /// Tool ids (or names, as the exporter sent them).
    pub tools: Vec<String>,
    /// Method name → source (a full `def`, or only its body).
    pub methods: Vec<(String, String)>,
    pub other_members_source: Option<String>,
    pub is_cached: bool,
    pub entry_point: bool,
    pub llm_config_name: Option<String>,
    /// `{key: {value, is_literal}}`, from code or already converted by the exporter.
    pub llm_config_from_code: Option<Map<String, Value>>,
    pub llm_config_var: Option<String>,
    pub factory_function: Option<String>,
    pub factory_invocation: Option<String>,
}

impl WorkerData {
    pub fn from_data(data: &Value) -> WorkerData {
        let class_vars = data.get("classVars");
        // Class variables: at the top level as the canvas keeps them, or in `classVars`.
        let var = |key: &str| {
            data.get(key)
                .filter(|v| !v.is_null())
                .or_else(|| class_vars.and_then(|c| c.get(key)).filter(|v| !v.is_null()))
        };
        let string = |key: &str| var(key).and_then(Value::as_str).map(str::to_string);
        let strings = |key: &str| -> Vec<String> {
            var(key)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let methods = data
            .get("methods")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let llm_config_from_code = data
            .get("llmConfigFromCode")
            .or_else(|| data.get("llmConfig"))
            .and_then(Value::as_object)
            .cloned();
        WorkerData {
            class_name: string("workerName")
                .or_else(|| string("className"))
                .unwrap_or_default(),
            variable_name: string("variableName"),
            input_types: strings("inputTypes"),
            output_types: strings("output_types"),
            llm_input_type: string("llm_input_type"),
            llm_output_type: string("llm_output_type"),
            join_type: string("join_type"),
            prompt: string("prompt"),
            system_prompt: string("system_prompt"),
            use_xml: var("use_xml").and_then(Value::as_bool),
            debug_mode: var("debug_mode").and_then(Value::as_bool),
            tools: strings("tools"),
            methods,
            other_members_source: string("otherMembersSource").filter(|s| !s.trim().is_empty()),
            is_cached: var("isCached").and_then(Value::as_bool).unwrap_or(false),
            entry_point: var("entryPoint").and_then(Value::as_bool).unwrap_or(false),
            llm_config_name: string("llmConfigName"),
            llm_config_from_code,
            llm_config_var: string("llmConfigVar"),
            factory_function: string("factoryFunction"),
            factory_invocation: string("factoryInvocation"),
        }
    }

    /// The Task type the worker consumes: `llm_input_type` for LLM workers, else the first
    /// input type.
    pub fn input_type(&self) -> Option<&str> {
        self.llm_input_type
            .as_deref()
            .or(self.input_types.first().map(String::as_str))
    }
}

/// A data-input node: a Task class and its JSON payload, as text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataInput {
    pub class_name: String,
    pub json_data: String,
}

impl DataInput {
    pub fn from_data(data: &Value) -> DataInput {
        DataInput {
            class_name: str_of(data, "className").unwrap_or_default(),
            json_data: str_of(data, "jsonData").unwrap_or_default(),
        }
    }
}

/// A data-output node: a sink named `className` (or `workerName`) for its first input type.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataOutput {
    pub name: String,
    pub input_type: Option<String>,
}

impl DataOutput {
    pub fn from_data(data: &Value) -> DataOutput {
        DataOutput {
            name: str_of(data, "className")
                .or_else(|| str_of(data, "workerName"))
                .unwrap_or_default(),
            input_type: data
                .get("inputTypes")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(Value::as_str)
                .map(str::to_string),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_1_task_nodes_move_to_the_task_stores_and_handles_to_task_ids() {
        let v1 = r#"{"version": 1, "nodes": [
            {"id": "task-1", "type": "task", "data": {"className": "Task1",
             "fields": [{"name": "actor", "type": "string", "isList": false, "required": true}]}},
            {"id": "imp-1", "type": "taskimport", "data": {"className": "SearchQuery",
             "modulePath": "planai.patterns", "fields": []}},
            {"id": "w-1", "type": "taskworker", "data": {"workerName": "W", "inputTypes": ["Task1"]}}],
          "edges": [{"source": "w-1", "sourceHandle": "output-Task1", "target": "x", "id": "e"}],
          "llmConfigs": [], "llmConfigsFromCode": []}"#;
        let graph = SavedGraph::parse(v1).unwrap();
        assert_eq!(graph.version, 2);
        assert_eq!(graph.nodes.len(), 1);
        assert_eq!(graph.tasks[0].class_name, "Task1");
        assert_eq!(graph.tasks[0].fields[0].name, "actor");
        assert_eq!(
            graph.task_imports[0].module_path.as_deref(),
            Some("planai.patterns")
        );
        assert_eq!(
            graph.edges[0].source_handle.as_deref(),
            Some("output-task-1")
        );
    }

    #[test]
    fn unknown_versions_and_non_graphs_are_refused_with_a_reason() {
        assert!(SavedGraph::parse(r#"{"version": 3, "nodes": []}"#)
            .unwrap_err()
            .0
            .contains("unsupported graph version 3"));
        assert!(SavedGraph::parse(r#"{"nodes": []}"#)
            .unwrap_err()
            .0
            .contains("version"));
        assert!(SavedGraph::parse("[1, 2]").is_err());
        assert!(SavedGraph::parse("{")
            .unwrap_err()
            .0
            .contains("not a JSON file"));
    }

    #[test]
    fn worker_data_reads_class_variables_at_the_top_level_or_in_class_vars() {
        let top: Value =
            serde_json::json!({"workerName": "W", "prompt": "p", "output_types": ["A"]});
        let nested: Value = serde_json::json!({"className": "W", "classVars": {"prompt": "p", "output_types": ["A"]}});
        assert_eq!(WorkerData::from_data(&top), WorkerData::from_data(&nested));
        assert_eq!(WorkerData::from_data(&top).prompt.as_deref(), Some("p"));
    }
}
