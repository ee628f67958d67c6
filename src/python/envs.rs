//! Python environments: which interpreters exist, what Python version they are and whether
//! planai, pydantic and llm_interface are installed in them.
//!
//! Discovery reads the filesystem only (pyvenv.cfg, `lib/pythonX.Y`, `*.dist-info` directory
//! names). It never launches an interpreter, so it is safe in untrusted workspaces and fast
//! enough to run on every `planai.listEnvironments`. [`probe`] is the one function here that
//! launches Python, for interpreters the filesystem says nothing about (argv settings such as
//! `uv run python`, containers, pyenv shims).
//!
//! This file holds the environment types; the rest is split by job:
//! - `setting.rs`: the `planai.python` setting ([`InterpreterSetting`]) and how it resolves.
//! - `discovery.rs`: [`discover`] (the candidates in their documented order, de-duplicated),
//!   the default selection, and one locator per tool (Poetry, Pipenv, pyenv, conda, uv …).
//! - `layout.rs`: what an environment's files tell without running it: the interpreter of a
//!   prefix, its Python version, its site-packages and installed distributions; PATH lookup.
//! - `probe.rs`: [`probe`] (launches the interpreter, cached per process) and
//!   [`probe_launches`].
//! - `table.rs`: the `planai-lsp envs` table and the JSON of `planai.listEnvironments`.

mod discovery;
mod layout;
mod probe;
mod setting;
mod table;

pub use discovery::{
    discover, is_inside_workspace, select_default, select_default_for, select_default_index,
    DiscoveryOptions,
};
pub use probe::{probe, probe_launches, probe_unknown, ProbeError, ProbeInfo};
pub use setting::InterpreterSetting;
pub use table::{environments_json, render_table};

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Which discovery rule found an environment. The order of the variants is the priority order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EnvKind {
    /// The `planai.python` setting.
    Setting,
    /// `$VIRTUAL_ENV` (an activated venv).
    VirtualEnvVar,
    /// `$CONDA_PREFIX` or a conda environment found on disk.
    Conda,
    /// `.venv` or `venv` in a workspace folder.
    WorkspaceVenv,
    Poetry,
    Pipenv,
    /// `$WORKON_HOME` or `~/.virtualenvs`.
    VirtualenvWrapper,
    Pyenv,
    /// A uv-managed interpreter (`uv python install`).
    Uv,
    /// `python3` on `PATH`.
    Path,
}

impl EnvKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EnvKind::Setting => "setting",
            EnvKind::VirtualEnvVar => "VIRTUAL_ENV",
            EnvKind::Conda => "conda",
            EnvKind::WorkspaceVenv => "venv",
            EnvKind::Poetry => "poetry",
            EnvKind::Pipenv => "pipenv",
            EnvKind::VirtualenvWrapper => "virtualenvwrapper",
            EnvKind::Pyenv => "pyenv",
            EnvKind::Uv => "uv",
            EnvKind::Path => "PATH",
        }
    }
}

/// One Python interpreter the server could use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PythonEnvironment {
    /// argv that launches this Python (`["/p/.venv/bin/python"]` or `["uv", "run", "python"]`).
    pub interpreter: Vec<String>,
    /// The interpreter file, when the environment is a local path (None for argv settings).
    pub path: Option<PathBuf>,
    pub kind: EnvKind,
    /// The rule that found it, in words, for logs and the `envs` table.
    pub source: String,
    /// "3.11.7" (or "3.11" when only a `lib/python3.11` directory tells).
    pub python_version: Option<String>,
    pub planai: Option<String>,
    pub pydantic: Option<String>,
    pub llm_interface: Option<String>,
    /// The site-packages directories that were inspected. Empty means the package versions
    /// are unknown (not "not installed"); [`probe`] can find out.
    pub site_packages: Vec<PathBuf>,
    /// The interpreter file exists (for argv settings: the program is found).
    pub exists: bool,
}

impl PythonEnvironment {
    /// The interpreter as one displayable string.
    pub fn display_interpreter(&self) -> String {
        match &self.path {
            Some(path) if self.interpreter.len() <= 1 => path.display().to_string(),
            _ => self.interpreter.join(" "),
        }
    }

    /// Whether the filesystem says planai is not installed (false when unknown).
    pub fn planai_known_missing(&self) -> bool {
        self.planai.is_none() && !self.site_packages.is_empty()
    }

    /// An actionable message if this environment cannot be used for validation, or None.
    pub fn problem_message(&self) -> Option<String> {
        if !self.exists {
            return Some(format!(
                "The Python interpreter `{}` ({}) does not exist any more. Select another one with \
                 the `planai.selectEnvironment` command or change the `planai.python` setting.",
                self.display_interpreter(),
                self.source
            ));
        }
        if self.planai_known_missing() {
            return Some(planai_missing_message(&self.interpreter, None));
        }
        None
    }

    /// Fills in versions from a [`probe`] of this environment.
    pub fn apply_probe(&mut self, info: &ProbeInfo) {
        self.python_version = Some(info.python.clone());
        self.planai = info.planai.clone();
        self.pydantic = info.pydantic.clone();
        self.llm_interface = info.llm_interface.clone();
        self.exists = true;
    }
}

/// The message shown when planai cannot be imported from `interpreter`.
pub fn planai_missing_message(interpreter: &[String], import_error: Option<&str>) -> String {
    let shown = interpreter.join(" ");
    let why = import_error.map(|e| format!(" ({e})")).unwrap_or_default();
    format!(
        "planai is not installed in the selected Python `{shown}`{why}, so PlanAI files are only \
         checked statically. Install it with `{shown} -m pip install planai` (or `uv pip install \
         planai`), or select an environment that has it with `planai.selectEnvironment`."
    )
}

/// The message shown when discovery found nothing usable.
pub fn no_interpreter_message() -> String {
    "No Python interpreter was found (looked at the `planai.python` setting, VIRTUAL_ENV, \
     CONDA_PREFIX, .venv/venv in the workspace, Poetry, Pipenv, ~/.virtualenvs, pyenv, conda, \
     uv and python3 on PATH). Create a virtual environment with `python3 -m venv .venv && \
     .venv/bin/pip install planai`, or set `planai.python` to an interpreter path."
        .to_string()
}

// What `envs_tests.rs` (`use super::*`) reads from here besides the public items.
#[cfg(test)]
use layout::{compare_versions, normalize_version, version_from_dir_name};
#[cfg(test)]
use std::{path::Path, time::Duration};

#[cfg(test)]
#[path = "envs_tests.rs"]
mod tests;
