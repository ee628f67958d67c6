//! PlanAI Editor interop: saved editor graphs (JSON, version 2; version 1 is migrated on
//! load) to runnable Python modules, and a module's PlanAI model back to a version 2 graph.
//!
//! Pure like `analysis`: texts in, texts out, no I/O; the CLI (`cli/interop.rs`) and the
//! server's commands (`planai.importEditorGraph`, `planai.exportEditorGraph`) read and write
//! the files.
//! - `editor_graph.rs`: the saved format (serde types, migration, typed node data);
//! - `python_text.rs`: escaping, identifiers, JSON → Python literals;
//! - `to_python.rs`: the code generator;
//! - `from_python.rs`: the exporter, from the analysis' summary of a module.

pub mod editor_graph;
pub mod from_python;
pub mod python_text;
pub mod to_python;

pub use editor_graph::{GraphFormatError, SavedGraph};
pub use from_python::{module_to_graph, ExportedGraph};
pub use to_python::{graph_to_python, ImportedModule};

/// Reads a saved editor graph (version 1 or 2) and writes it as a Python module.
pub fn import_editor_graph(json: &str) -> Result<ImportedModule, GraphFormatError> {
    let graph = SavedGraph::parse(json)?;
    Ok(graph_to_python(&graph))
}
