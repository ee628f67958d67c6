//! One file per client request; `workspace/executeCommand`'s commands each have their own
//! file too (`execute_command.rs` only dispatches).

pub mod cancel_run;
pub mod code_action;
pub mod code_lens;
pub mod completion;
pub mod debug;
pub mod definition;
pub mod document_highlight;
pub mod document_symbol;
pub mod execute_command;
pub mod export_editor_graph;
pub mod graph;
pub mod hover;
pub mod ide;
pub mod import_editor_graph;
pub mod initialize;
pub mod inlay_hint;
pub mod introspect_tasks;
pub mod list_environments;
pub mod list_models;
pub mod list_runs;
pub mod prepare_rename;
pub mod references;
pub mod rename;
pub mod restart_helper;
pub mod run;
pub mod select_environment;
pub mod show_graph;
pub mod show_references;
pub mod shutdown;
pub mod validate_task_data;
pub mod workspace_symbol;
