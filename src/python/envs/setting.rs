//! The `planai.python` setting: an interpreter path, a venv directory or an argv list, and
//! how it resolves to an environment.

use super::layout::{
    environment_from_interpreter, find_on_path, python_in_bin_dir, python_in_prefix, BIN_DIR,
    PYTHON_EXE,
};
use super::{DiscoveryOptions, EnvKind, PythonEnvironment};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The `planai.python` setting: an interpreter path (or venv directory), or an argv list such
/// as `["uv", "run", "python"]` or `["docker", "exec", "-i", "app", "python"]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum InterpreterSetting {
    Path(String),
    Argv(Vec<String>),
}

impl InterpreterSetting {
    /// Reads the setting from JSON; `null`, `""` and `[]` mean "not set".
    pub fn from_json(value: &serde_json::Value) -> Result<Option<Self>, String> {
        match value {
            serde_json::Value::Null => Ok(None),
            serde_json::Value::String(s) if s.trim().is_empty() => Ok(None),
            serde_json::Value::String(s) => Ok(Some(InterpreterSetting::Path(s.trim().into()))),
            serde_json::Value::Array(items) if items.is_empty() => Ok(None),
            serde_json::Value::Array(items) => items
                .iter()
                .map(|item| match item {
                    serde_json::Value::String(s) => Ok(s.clone()),
                    other => Err(format!(
                        "`planai.python` must be a path or a list of strings; found {other} in the list"
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|argv| Some(InterpreterSetting::Argv(argv))),
            other => Err(format!(
                "`planai.python` must be a path or a list of strings, not {other}"
            )),
        }
    }

    /// Turns the setting into an environment. Relative paths resolve against the first workspace
    /// root, `~` against the home directory, a bare name (`python3.12`) against `PATH`, and a
    /// venv directory to its interpreter.
    pub fn resolve(&self, opts: &DiscoveryOptions) -> PythonEnvironment {
        let source = "planai.python setting".to_string();
        match self {
            InterpreterSetting::Argv(argv) if argv.len() > 1 => {
                let exists = resolve_program(&argv[0], opts).is_some();
                PythonEnvironment {
                    interpreter: argv.clone(),
                    path: None,
                    kind: EnvKind::Setting,
                    source,
                    python_version: None,
                    planai: None,
                    pydantic: None,
                    llm_interface: None,
                    site_packages: Vec::new(),
                    exists,
                }
            }
            InterpreterSetting::Argv(argv) => {
                let single = argv.first().cloned().unwrap_or_default();
                InterpreterSetting::Path(single).resolve(opts)
            }
            InterpreterSetting::Path(raw) => {
                let path = match resolve_program(raw, opts) {
                    Some(path) => path,
                    // `.venv`: a directory in the workspace root (a bare *file* name is only
                    // looked up on PATH).
                    None if is_bare_name(raw) && expand_path(raw, opts).is_dir() => {
                        expand_path(raw, opts)
                    }
                    None if is_bare_name(raw) => {
                        // Not on PATH: report it as missing (never look in the cwd).
                        let mut env = environment_from_interpreter(
                            PathBuf::from(raw),
                            EnvKind::Setting,
                            format!("{source} (not found on PATH)"),
                        );
                        env.exists = false;
                        return env;
                    }
                    None => expand_path(raw, opts),
                };
                let path = if path.is_dir() {
                    python_in_prefix(&path)
                        .or_else(|| python_in_bin_dir(&path))
                        .unwrap_or_else(|| path.join(BIN_DIR).join(PYTHON_EXE))
                } else {
                    path
                };
                environment_from_interpreter(path, EnvKind::Setting, source)
            }
        }
    }
}

/// Editor-style variables in a setting: `${workspaceFolder}`, `${userHome}` and
/// `${env:NAME}` (from the discovery environment). Unknown variables are left as they are.
fn substitute_variables(raw: &str, opts: &DiscoveryOptions) -> String {
    let mut out = raw.to_string();
    if let Some(root) = opts.workspace_roots.first() {
        out = out.replace("${workspaceFolder}", &root.to_string_lossy());
    }
    if let Some(home) = opts.home_dir() {
        out = out.replace("${userHome}", &home.to_string_lossy());
    }
    while let Some(start) = out.find("${env:") {
        let Some(len) = out[start..].find('}') else {
            break;
        };
        let name = &out[start + 6..start + len];
        let value = opts.env.get(name).cloned().unwrap_or_default();
        out.replace_range(start..start + len + 1, &value);
    }
    out
}

/// `~` and relative-path expansion for a setting value (no PATH lookup).
fn expand_path(raw: &str, opts: &DiscoveryOptions) -> PathBuf {
    let raw = &substitute_variables(raw, opts);
    let expanded = match (raw.strip_prefix("~/"), opts.home_dir()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ if raw == "~" => opts.home_dir().unwrap_or_else(|| PathBuf::from(raw)),
        _ => PathBuf::from(raw),
    };
    if expanded.is_absolute() {
        return expanded;
    }
    match opts.workspace_roots.first() {
        Some(root) => root.join(expanded),
        None => expanded,
    }
}

fn is_bare_name(raw: &str) -> bool {
    !raw.contains('/') && !raw.contains('\\') && !raw.starts_with('~') && !raw.contains("${")
}

/// A program name without a path separator is looked up on PATH only (like a shell: a file of
/// that name in the workspace must not win); anything else is a path. Returns None if a bare
/// name is not on PATH or a path does not exist.
fn resolve_program(raw: &str, opts: &DiscoveryOptions) -> Option<PathBuf> {
    if is_bare_name(raw) {
        find_on_path(raw, opts.env.get("PATH").map(String::as_str))
    } else {
        let path = expand_path(raw, opts);
        path.exists().then_some(path)
    }
}
