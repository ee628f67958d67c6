//! Everything that talks to a Python interpreter: environment discovery, the warm helper
//! process and its typed JSON-lines protocol.
//!
//! Architecture Invariant: this is the only module that spawns Python processes.
//!
//! - [`envs`]: filesystem-only discovery of interpreters, the `planai.python` setting, the
//!   `envs` table, and [`envs::probe`] (launches the interpreter once, cached).
//! - [`protocol`]: serde types of `docs/helper-protocol.md` and the typed [`protocol::HelperRequest`]s.
//! - [`helper`]: one helper process ([`helper::HelperProcess`]) and its supervisor
//!   ([`helper::HelperSupervisor`]: lazy start, restart with backoff, trust gate, status).
//! - [`service`]: [`service::PythonService`], what the server holds: selection, switching,
//!   one status stream.
//! - [`scratch`]: names of the temp entries our processes need (with our pid), and removal of
//!   those that planai-lsp processes which died left behind.
//! - [`diagnostics`]: helper problems → byte-range [`crate::diagnostics::Diagnostic`]s.

pub mod diagnostics;
pub mod envs;
pub mod helper;
pub(crate) mod process;
pub mod protocol;
pub(crate) mod scratch;
pub mod service;
