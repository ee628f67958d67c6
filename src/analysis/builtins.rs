//! PlanAI 0.7.1's own classes, as the checks need them: bases, fields (required or with a
//! default), concrete and abstract methods, and how each computes its consumed type.
//!
//! The table replaces analysing the planai sources: user code (and the planai package itself,
//! when it is part of the workspace) resolves names such as `planai.Task` or
//! `planai.llm_task.LLMTaskWorker` to these entries, so identity is stable.

/// How a worker class computes `get_task_classes()` (`docs/planai-model.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumedRule {
    /// `TaskWorker.get_task_class`: the `task` parameter annotation of `consume_work`.
    Standard,
    /// `LLMTaskWorker`: `llm_input_type` if truthy, else the standard rule.
    LlmInput,
    /// `JoinedTaskWorker`: `X` from `consume_work_joined(self, tasks: List[X])`.
    Joined,
    /// `MergedTaskWorker`: `merged_types`.
    Merged,
    /// `SubGraphWorkerInternal`: the entry worker's consumed types.
    SubGraph,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinDefault {
    /// The field is required (no default).
    Required,
    None,
    EmptyList,
    /// A list of builtin classes (e.g. `ChatTaskWorker.output_types = [ChatMessage]`).
    Classes(&'static [&'static str]),
    Str(&'static str),
    /// Some other default value.
    Value,
}

#[derive(Debug, Clone, Copy)]
pub struct BuiltinField {
    pub name: &'static str,
    pub default: BuiltinDefault,
}

#[derive(Debug, Clone, Copy)]
pub struct BuiltinMethod {
    pub name: &'static str,
    pub is_abstract: bool,
    /// `(parameter name, annotation class)` of a one-parameter consume method.
    pub task_param: Option<(&'static str, &'static str)>,
    /// The annotation is `List[...]` of the class (for `consume_work_joined`).
    pub list_param: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct BuiltinClass {
    pub name: &'static str,
    /// The module that defines it (used for `<class 'planai.task.Task'>` style reprs).
    pub module: &'static str,
    /// Direct bases; names that are not in the table (`BaseModel`, `ABC`) are external.
    pub bases: &'static [&'static str],
    pub fields: &'static [BuiltinField],
    pub methods: &'static [BuiltinMethod],
    /// Non-field attributes (methods, properties) that a field with the same name shadows (CD4).
    pub attributes: &'static [&'static str],
    /// The consumed-type rule this class introduces.
    pub rule: Option<ConsumedRule>,
    /// A pydantic model (fields are validated; non-annotated attributes are errors).
    pub pydantic: bool,
}

const fn field(name: &'static str, default: BuiltinDefault) -> BuiltinField {
    BuiltinField { name, default }
}

const fn consume(name: &'static str, param: &'static str, class: &'static str) -> BuiltinMethod {
    BuiltinMethod {
        name,
        is_abstract: false,
        task_param: Some((param, class)),
        list_param: false,
    }
}

const fn abstract_method(name: &'static str) -> BuiltinMethod {
    BuiltinMethod {
        name,
        is_abstract: true,
        task_param: None,
        list_param: false,
    }
}

const TASK_ATTRS: &[&str] = &[
    "name",
    "retry_count",
    "copy_public",
    "increment_retry_count",
    "copy_provenance",
    "copy_input_provenance",
    "find_input_task",
    "find_input_tasks",
    "previous_input_task",
    "prefix",
    "provenance",
    "prefix_for_input_task",
    "inject_input",
    "add_private_state",
    "get_private_state",
    "model_dump_xml",
    "is_type",
];

const WORKER_ATTRS: &[&str] = &[
    "name",
    "lock",
    "print",
    "next",
    "sink",
    "trace",
    "watch",
    "unwatch",
    "get_worker_state",
    "get_next_provenance",
    "remove_state",
    "get_state",
    "get_metadata",
    "add_work",
    "notify_status",
    "init",
    "consume_work",
    "publish_work",
    "completed",
    "notify",
    "validate_task",
    "get_task_classes",
    "get_task_class",
    "register_consumer",
    "request_user_input",
    "set_graph",
    "work_buffer_context",
];

const LLM_ATTRS: &[&str] = &[
    "get_tools",
    "get_system_prompt",
    "get_cache_salt",
    "get_full_prompt",
    "extra_validation",
    "format_prompt",
    "pre_process",
    "post_process",
];

const CACHED_ATTRS: &[&str] = &["pre_consume_work", "post_consume_work", "extra_cache_key"];

/// Attributes every pydantic model has (a field with one of these names shadows it).
pub const BASEMODEL_ATTRS: &[&str] = &[
    "copy",
    "dict",
    "json",
    "schema",
    "schema_json",
    "construct",
    "validate",
    "parse_obj",
    "parse_raw",
    "parse_file",
    "from_orm",
    "update_forward_refs",
];

use BuiltinDefault as D;

pub static CLASSES: &[BuiltinClass] = &[
    BuiltinClass {
        name: "Task",
        module: "planai.task",
        bases: &["BaseModel"],
        fields: &[],
        methods: &[],
        attributes: TASK_ATTRS,
        rule: None,
        pydantic: true,
    },
    BuiltinClass {
        name: "TaskWorker",
        module: "planai.task",
        bases: &["BaseModel", "ABC"],
        fields: &[field("output_types", D::EmptyList), field("num_retries", D::Value)],
        methods: &[BuiltinMethod {
            name: "consume_work",
            is_abstract: true,
            task_param: Some(("task", "Task")),
            list_param: false,
        }],
        attributes: WORKER_ATTRS,
        rule: Some(ConsumedRule::Standard),
        pydantic: true,
    },
    BuiltinClass {
        name: "CachedTaskWorker",
        module: "planai.cached_task",
        bases: &["TaskWorker"],
        fields: &[field("cache_dir", D::Value), field("cache_size_limit", D::Value)],
        methods: &[],
        attributes: CACHED_ATTRS,
        rule: None,
        pydantic: true,
    },
    BuiltinClass {
        name: "BaseLLMTaskWorker",
        module: "planai.llm_task",
        bases: &["TaskWorker"],
        fields: &[
            field("llm", D::Required),
            field(
                "system_prompt",
                D::Str("You are a helpful AI assistant. Please help the user with the following task and produce output in JSON."),
            ),
            field("tools", D::None),
        ],
        methods: &[],
        attributes: &[],
        rule: None,
        pydantic: true,
    },
    BuiltinClass {
        name: "LLMTaskWorker",
        module: "planai.llm_task",
        bases: &["BaseLLMTaskWorker"],
        fields: &[
            field("llm_output_type", D::None),
            field("llm_input_type", D::None),
            field("prompt", D::Required),
            field("debug_mode", D::Value),
            field("debug_dir", D::Value),
            field("temperature", D::None),
            field("use_xml", D::Value),
            field("max_tool_rounds", D::None),
        ],
        methods: &[consume("consume_work", "task", "Task")],
        attributes: LLM_ATTRS,
        rule: Some(ConsumedRule::LlmInput),
        pydantic: true,
    },
    BuiltinClass {
        name: "CachedLLMTaskWorker",
        module: "planai.llm_task",
        bases: &["CachedTaskWorker", "LLMTaskWorker"],
        fields: &[],
        methods: &[],
        attributes: &[],
        rule: None,
        pydantic: true,
    },
    BuiltinClass {
        name: "WorkspaceLLMTaskWorker",
        module: "planai.workspace_task",
        bases: &["CachedLLMTaskWorker"],
        fields: &[
            field("read_only", D::Value),
            field("max_tool_rounds", D::Value),
            field("input_globs", D::Value),
            field("max_read_chars", D::Value),
        ],
        methods: &[],
        attributes: &["get_workspace", "expected_output_files"],
        rule: None,
        pydantic: true,
    },
    BuiltinClass {
        name: "InitialTaskWorker",
        module: "planai.joined_task",
        bases: &["TaskWorker"],
        fields: &[],
        methods: &[consume("consume_work", "task", "Task")],
        attributes: &[],
        rule: None,
        pydantic: true,
    },
    BuiltinClass {
        name: "JoinedTaskWorker",
        module: "planai.joined_task",
        bases: &["TaskWorker"],
        fields: &[field("join_type", D::Required), field("enable_trace", D::Value)],
        methods: &[
            consume("consume_work", "task", "Task"),
            abstract_method("consume_work_joined"),
        ],
        attributes: &["consume_work_joined"],
        rule: Some(ConsumedRule::Joined),
        pydantic: true,
    },
    BuiltinClass {
        name: "MergedTaskWorker",
        module: "planai.merged_task",
        bases: &["JoinedTaskWorker"],
        fields: &[field("merged_types", D::EmptyList)],
        methods: &[BuiltinMethod {
            name: "consume_work_joined",
            is_abstract: false,
            task_param: Some(("tasks", "Task")),
            list_param: true,
        }],
        attributes: &["consume_work_merged"],
        rule: Some(ConsumedRule::Merged),
        pydantic: true,
    },
    BuiltinClass {
        name: "ChatTaskWorker",
        module: "planai.chat_task",
        bases: &["BaseLLMTaskWorker"],
        fields: &[
            field("output_types", D::Classes(&["ChatMessage"])),
            field(
                "system_prompt",
                D::Str("You are a helpful AI assistant. Today is {date}."),
            ),
        ],
        methods: &[consume("consume_work", "task", "ChatTask")],
        attributes: &[],
        rule: None,
        pydantic: true,
    },
    BuiltinClass {
        name: "SubGraphWorkerInternal",
        module: "planai.graph_task",
        bases: &["TaskWorker"],
        fields: &[
            field("graph", D::Required),
            field("entry_worker", D::None),
            field("exit_worker", D::None),
        ],
        methods: &[consume("consume_work", "task", "Task")],
        attributes: &[],
        rule: Some(ConsumedRule::SubGraph),
        pydantic: true,
    },
    BuiltinClass {
        name: "ChatMessage",
        module: "planai.chat_task",
        bases: &["Task"],
        fields: &[field("role", D::Required), field("content", D::Required)],
        methods: &[],
        attributes: &[],
        rule: None,
        pydantic: true,
    },
    BuiltinClass {
        name: "ChatTask",
        module: "planai.chat_task",
        bases: &["Task"],
        fields: &[field("messages", D::Required)],
        methods: &[],
        attributes: &[],
        rule: None,
        pydantic: true,
    },
    BuiltinClass {
        name: "MediaTask",
        module: "planai.media_task",
        bases: &["Task"],
        fields: &[field("images", D::Required)],
        methods: &[],
        attributes: &[],
        rule: None,
        pydantic: true,
    },
    BuiltinClass {
        name: "WorkspaceTask",
        module: "planai.workspace_task",
        bases: &["Task"],
        fields: &[field("workspace", D::Value)],
        methods: &[],
        attributes: &[],
        rule: None,
        pydantic: true,
    },
    BuiltinClass {
        name: "Graph",
        module: "planai.graph",
        bases: &["BaseModel"],
        fields: &[
            field("name", D::Required),
            field("strict", D::Value),
            field("workers", D::Value),
            field("dependencies", D::Value),
        ],
        methods: &[],
        attributes: &[],
        rule: None,
        pydantic: true,
    },
];

/// Names exported by planai / llm_interface that are not classes in the table (functions,
/// non-pydantic classes). They resolve, but to "not a PlanAI class".
pub static OTHER_NAMES: &[&str] = &[
    "SubGraphWorker",
    "tool",
    "Tool",
    "LLMInterface",
    "llm_from_config",
    "Workspace",
    "make_file_tools",
    "hash_files",
    "ProvenanceChain",
    "PydanticDictWrapper",
    "UserInputRequest",
    "Dispatcher",
    "setup_logging",
];

/// Index of a class in `CLASSES`.
pub type BuiltinId = usize;

/// The public names of planai 0.7.1's `__init__` (`dir(planai)` after `import planai`, besides
/// the submodules in `PLANAI_SUBMODULES`).
pub const PLANAI_TOP_LEVEL_NAMES: &[&str] = &[
    "BaseLLMTaskWorker",
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
    "ProvenanceChain",
    "PydanticDictWrapper",
    "SubGraphWorker",
    "Task",
    "TaskWorker",
    "Tool",
    "UserInputRequest",
    "Workspace",
    "WorkspaceLLMTaskWorker",
    "WorkspaceTask",
    "hash_files",
    "llm_from_config",
    "make_file_tools",
    "tool",
];

/// The submodules of the planai 0.7.1 package (`from planai import testing` imports one).
pub const PLANAI_SUBMODULES: &[&str] = &[
    "_version",
    "cached_task",
    "chat_task",
    "cli",
    "cli_cache",
    "cli_optimize_prompt",
    "cli_utils",
    "dispatcher",
    "graph",
    "graph_task",
    "integrations",
    "joined_task",
    "llm_task",
    "media_task",
    "merged_task",
    "patterns",
    "provenance",
    "pydantic_dict_wrapper",
    "stats",
    "task",
    "testing",
    "tools",
    "user_input",
    "utils",
    "web_interface",
    "workspace_task",
];

pub fn class_by_name(name: &str) -> Option<BuiltinId> {
    CLASSES.iter().position(|c| c.name == name)
}

pub fn class(id: BuiltinId) -> &'static BuiltinClass {
    &CLASSES[id]
}

/// Whether `module` is PlanAI's own package (or llm-interface), whose names the table owns.
pub fn is_builtin_module(module: &str) -> bool {
    let top = module.split('.').next().unwrap_or("");
    top == "planai" || top == "llm_interface"
}

/// The builtin MRO (including the class itself), table classes only.
pub fn mro(id: BuiltinId) -> Vec<BuiltinId> {
    // The table is small and acyclic; a DFS with C3-compatible order for the one diamond
    // (CachedLLMTaskWorker) is enough: merge by "last occurrence wins" keeps bases after
    // their subclasses.
    fn dfs(id: BuiltinId, out: &mut Vec<BuiltinId>) {
        out.push(id);
        for b in CLASSES[id].bases {
            if let Some(bid) = class_by_name(b) {
                dfs(bid, out);
            }
        }
    }
    let mut all = Vec::new();
    dfs(id, &mut all);
    let mut out = Vec::new();
    for (i, c) in all.iter().enumerate() {
        if !all[i + 1..].contains(c) {
            out.push(*c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_llm_mro_matches_python() {
        let names: Vec<_> = mro(class_by_name("CachedLLMTaskWorker").unwrap())
            .into_iter()
            .map(|i| CLASSES[i].name)
            .collect();
        assert_eq!(
            names,
            vec![
                "CachedLLMTaskWorker",
                "CachedTaskWorker",
                "LLMTaskWorker",
                "BaseLLMTaskWorker",
                "TaskWorker"
            ]
        );
    }
}
