//! planai-lsp: a language server and command-line checker for PlanAI workflows.
//!
//! See `ARCHITECTURE.md` for the module map and the invariants each module keeps.

pub mod analysis;
pub mod cli;
pub mod diagnostics;
pub mod interop;
pub mod python;
pub mod run;
pub mod server;
pub mod syntax;
pub mod testing;
pub mod text;
pub mod workspace;
