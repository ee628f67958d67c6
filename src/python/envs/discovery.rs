//! Discovery: every candidate environment, in the documented priority order, from the
//! filesystem only; and which one is selected by default.

use super::layout::{
    compare_versions, environment_dirs, environment_from_interpreter, environment_from_prefix,
    find_on_path, is_environment_dir, prefix_of_interpreter, python_in_prefix,
};
use super::{EnvKind, InterpreterSetting, PythonEnvironment};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// Inputs to [`discover`]; tests inject a fake environment and home directory.
#[derive(Clone, Debug, Default)]
pub struct DiscoveryOptions {
    pub setting: Option<InterpreterSetting>,
    pub workspace_roots: Vec<PathBuf>,
    /// The relevant environment variables (see [`DiscoveryOptions::ENV_VARS`]).
    pub env: BTreeMap<String, String>,
    /// The home directory; falls back to `env["HOME"]` (or `USERPROFILE`).
    pub home: Option<PathBuf>,
    /// Also look in machine-wide places such as `/opt/conda` (tests turn this off).
    pub system_locations: bool,
    /// Environments inside a workspace root are listed but never selected by default: a
    /// workspace's own `.venv/bin/python` is the workspace's code, so running it can be left
    /// to an explicit choice (`planai.autoSelectWorkspaceVenv: false`).
    pub workspace_envs_need_selection: bool,
}

impl DiscoveryOptions {
    /// Environment variables discovery reads.
    pub const ENV_VARS: &'static [&'static str] = &[
        "VIRTUAL_ENV",
        "CONDA_PREFIX",
        "CONDA_EXE",
        "CONDA_ENVS_PATH",
        "PATH",
        "HOME",
        "USERPROFILE",
        "LOCALAPPDATA",
        "APPDATA",
        "WORKON_HOME",
        "PYENV_ROOT",
        "POETRY_VIRTUALENVS_PATH",
        "POETRY_CACHE_DIR",
        "XDG_CACHE_HOME",
        "XDG_DATA_HOME",
        "UV_PYTHON_INSTALL_DIR",
    ];

    /// Options from this process's environment.
    pub fn from_process(
        setting: Option<InterpreterSetting>,
        workspace_roots: Vec<PathBuf>,
    ) -> Self {
        let env: BTreeMap<String, String> = Self::ENV_VARS
            .iter()
            .filter_map(|name| std::env::var(name).ok().map(|v| (name.to_string(), v)))
            .collect();
        Self {
            setting,
            workspace_roots,
            env,
            home: None,
            system_locations: true,
            workspace_envs_need_selection: false,
        }
    }

    pub(super) fn home_dir(&self) -> Option<PathBuf> {
        self.home
            .clone()
            .or_else(|| self.var("HOME").map(PathBuf::from))
            .or_else(|| self.var("USERPROFILE").map(PathBuf::from))
    }

    /// A non-empty variable.
    fn var(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// All environments, in priority order: the setting, `VIRTUAL_ENV`, `CONDA_PREFIX`, workspace
/// `.venv`/`venv`, Poetry, Pipenv, virtualenvwrapper, pyenv, conda envs, uv, `python3` on PATH.
/// De-duplicated by canonical location (the first finding wins). Filesystem only.
pub fn discover(opts: &DiscoveryOptions) -> Vec<PythonEnvironment> {
    let started = std::time::Instant::now();
    let mut found = Vec::new();

    if let Some(setting) = &opts.setting {
        found.push(setting.resolve(opts));
    }
    if let Some(prefix) = opts.var("VIRTUAL_ENV") {
        found.push(environment_from_prefix(
            Path::new(prefix),
            EnvKind::VirtualEnvVar,
            format!("VIRTUAL_ENV={prefix}"),
        ));
    }
    if let Some(prefix) = opts.var("CONDA_PREFIX") {
        found.push(environment_from_prefix(
            Path::new(prefix),
            EnvKind::Conda,
            format!("CONDA_PREFIX={prefix}"),
        ));
    }
    for root in &opts.workspace_roots {
        for name in [".venv", "venv"] {
            let prefix = root.join(name);
            if is_environment_dir(&prefix) {
                found.push(environment_from_prefix(
                    &prefix,
                    EnvKind::WorkspaceVenv,
                    format!("{name} in workspace {}", root.display()),
                ));
            }
        }
    }
    found.extend(poetry_environments(opts));
    found.extend(pipenv_environments(opts));
    found.extend(virtualenvwrapper_environments(opts));
    found.extend(pyenv_environments(opts));
    found.extend(conda_environments(opts));
    found.extend(uv_environments(opts));
    found.extend(path_environments(opts));

    let mut seen = HashSet::new();
    found.retain(|env| seen.insert(identity(env)));
    tracing::debug!(
        target: "planai_lsp::envs",
        count = found.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "discovered Python environments"
    );
    found
}

/// The environment to use: an explicit `planai.python` setting always wins (even if it is gone,
/// so the user sees why); otherwise the first existing environment that has planai, otherwise
/// the first existing one.
pub fn select_default(envs: &[PythonEnvironment]) -> Option<&PythonEnvironment> {
    if let Some(setting) = envs.iter().find(|e| e.kind == EnvKind::Setting) {
        return Some(setting);
    }
    envs.iter()
        .find(|e| e.exists && e.planai.is_some())
        .or_else(|| envs.iter().find(|e| e.exists))
}

/// [`select_default`] under `opts`: with `workspace_envs_need_selection`, environments whose
/// interpreter lies inside a workspace root are passed over (the setting still wins).
pub fn select_default_for<'e>(
    envs: &'e [PythonEnvironment],
    opts: &DiscoveryOptions,
) -> Option<&'e PythonEnvironment> {
    if !opts.workspace_envs_need_selection {
        return select_default(envs);
    }
    if let Some(setting) = envs.iter().find(|e| e.kind == EnvKind::Setting) {
        return Some(setting);
    }
    let allowed = |e: &&PythonEnvironment| !is_inside_workspace(e, &opts.workspace_roots);
    envs.iter()
        .filter(allowed)
        .find(|e| e.exists && e.planai.is_some())
        .or_else(|| envs.iter().filter(allowed).find(|e| e.exists))
}

/// Whether the environment's interpreter file (as found, links not followed) is inside one
/// of `roots`.
pub fn is_inside_workspace(env: &PythonEnvironment, roots: &[PathBuf]) -> bool {
    env.kind == EnvKind::WorkspaceVenv
        || env
            .path
            .as_ref()
            .is_some_and(|path| roots.iter().any(|root| path.starts_with(root)))
}

/// [`select_default`] as an index into `envs` (for [`render_table`]).
pub fn select_default_index(envs: &[PythonEnvironment]) -> Option<usize> {
    let chosen = select_default(envs)?;
    envs.iter().position(|e| std::ptr::eq(e, chosen))
}

/// What makes two findings the same environment: a venv is its (canonical) prefix, because
/// its `bin/python` is a symlink to the base interpreter; anything else is its canonical binary.
fn identity(env: &PythonEnvironment) -> String {
    let Some(path) = &env.path else {
        return format!("argv:{}", env.interpreter.join("\u{0}"));
    };
    if let Some(prefix) = prefix_of_interpreter(path) {
        if prefix.join("pyvenv.cfg").is_file() {
            let prefix = prefix.canonicalize().unwrap_or(prefix);
            return format!("venv:{}", prefix.display());
        }
    }
    let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
    format!("exe:{}", canonical.display())
}

// ----- the individual locators

// ----- the individual locators

/// Reads `name` from `[tool.poetry]` or `[project]` in a pyproject.toml, with a line scan (the
/// name is all we need; a TOML parser is not worth a dependency here).
fn pyproject_name(root: &Path) -> Option<(String, bool)> {
    let text = std::fs::read_to_string(root.join("pyproject.toml")).ok()?;
    let mut section = String::new();
    let mut name = None;
    let mut has_poetry = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            section = line.trim_matches(['[', ']', ' ']).to_string();
            has_poetry |= section == "tool.poetry" || section.starts_with("tool.poetry.");
            continue;
        }
        if section != "tool.poetry" && section != "project" {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            if key.trim() == "name" && (name.is_none() || section == "tool.poetry") {
                name = Some(value.trim().trim_matches(['"', '\'']).to_string());
            }
        }
    }
    name.map(|n| (n, has_poetry))
}

fn poetry_environments(opts: &DiscoveryOptions) -> Vec<PythonEnvironment> {
    let home = opts.home_dir();
    let venvs_dir = opts
        .var("POETRY_VIRTUALENVS_PATH")
        .map(PathBuf::from)
        .or_else(|| {
            opts.var("POETRY_CACHE_DIR")
                .map(|d| PathBuf::from(d).join("virtualenvs"))
        })
        .or_else(|| {
            if cfg!(target_os = "macos") {
                home.as_ref()
                    .map(|h| h.join("Library/Caches/pypoetry/virtualenvs"))
            } else if cfg!(windows) {
                opts.var("LOCALAPPDATA")
                    .map(|d| PathBuf::from(d).join("pypoetry/Cache/virtualenvs"))
            } else {
                opts.var("XDG_CACHE_HOME")
                    .map(PathBuf::from)
                    .or_else(|| home.as_ref().map(|h| h.join(".cache")))
                    .map(|c| c.join("pypoetry/virtualenvs"))
            }
        });
    let Some(venvs_dir) = venvs_dir else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for root in &opts.workspace_roots {
        let Some((name, has_poetry)) = pyproject_name(root) else {
            continue;
        };
        if !has_poetry && !root.join("poetry.lock").is_file() {
            continue;
        }
        // Poetry names venvs `{sanitized lowercase name}-{8-char hash of the path}-py{X.Y}`.
        let prefix = venv_name_prefix(&name.to_lowercase(), " $`!*@\"\\\r\n\t");
        for dir in environment_dirs(&venvs_dir) {
            let matches = dir
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix(&prefix))
                .is_some_and(|rest| rest.get(8..).is_some_and(|tail| tail.starts_with("-py")));
            if matches {
                found.push(environment_from_prefix(
                    &dir,
                    EnvKind::Poetry,
                    format!("Poetry env of {}", root.display()),
                ));
            }
        }
    }
    found
}

/// The `{name}-` prefix Poetry and Pipenv give a project's venv directory: `forbidden`
/// characters become `_` and the name is cut at 42 characters.
fn venv_name_prefix(name: &str, forbidden: &str) -> String {
    let sanitized: String = name
        .chars()
        .map(|c| if forbidden.contains(c) { '_' } else { c })
        .take(42)
        .collect();
    format!("{sanitized}-")
}

fn pipenv_environments(opts: &DiscoveryOptions) -> Vec<PythonEnvironment> {
    let venvs_dir = opts.var("WORKON_HOME").map(PathBuf::from).or_else(|| {
        opts.home_dir()
            .map(|h| h.join(".local").join("share").join("virtualenvs"))
    });
    let Some(venvs_dir) = venvs_dir else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for root in &opts.workspace_roots {
        if !root.join("Pipfile").is_file() {
            continue;
        }
        let Some(dir_name) = root.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        // Pipenv names venvs `{sanitized dir name}-{8-char hash}` and writes the project
        // path into `.project` inside the venv.
        let prefix = venv_name_prefix(dir_name, " &$`!*@\"()[]\\\r\n\t");
        for dir in environment_dirs(&venvs_dir) {
            let project_file = std::fs::read_to_string(dir.join(".project")).ok();
            let by_project_file =
                project_file.is_some_and(|p| Path::new(p.trim()) == root.as_path());
            let by_name = dir
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix(&prefix))
                .is_some_and(|rest| rest.len() == 8);
            if by_project_file || by_name {
                found.push(environment_from_prefix(
                    &dir,
                    EnvKind::Pipenv,
                    format!("Pipenv env of {}", root.display()),
                ));
            }
        }
    }
    found
}

fn virtualenvwrapper_environments(opts: &DiscoveryOptions) -> Vec<PythonEnvironment> {
    let Some(dir) = opts
        .var("WORKON_HOME")
        .map(PathBuf::from)
        .or_else(|| opts.home_dir().map(|h| h.join(".virtualenvs")))
    else {
        return Vec::new();
    };
    environment_dirs(&dir)
        .into_iter()
        .map(|prefix| {
            let source = format!("virtualenvwrapper ({})", dir.display());
            environment_from_prefix(&prefix, EnvKind::VirtualenvWrapper, source)
        })
        .collect()
}

/// pyenv versions, newest first.
/// pyenv versions: the active one first (what `python3` would run), then newest first.
fn pyenv_environments(opts: &DiscoveryOptions) -> Vec<PythonEnvironment> {
    let Some(root) = pyenv_root(opts) else {
        return Vec::new();
    };
    let active = pyenv_active_version(opts, &root);
    let mut dirs = environment_dirs(&root.join("versions"));
    dirs.sort_by(|a, b| compare_versions(&dir_name(b), &dir_name(a)));
    dirs.sort_by_key(|d| Some(dir_name(d)) != active);
    dirs.into_iter()
        .map(|prefix| {
            let name = dir_name(&prefix);
            let source = if Some(&name) == active.as_ref() {
                format!("pyenv version {name} (active)")
            } else {
                format!("pyenv version {name}")
            };
            environment_from_prefix(&prefix, EnvKind::Pyenv, source)
        })
        .collect()
}

fn pyenv_root(opts: &DiscoveryOptions) -> Option<PathBuf> {
    opts.var("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| opts.home_dir().map(|h| h.join(".pyenv")))
}

/// The version pyenv's shims run: `PYENV_VERSION`, else the nearest `.python-version` above
/// the first workspace root, else `<root>/version`. The first entry if several are listed;
/// None for "system" or when nothing is set.
fn pyenv_active_version(opts: &DiscoveryOptions, root: &Path) -> Option<String> {
    let first_word = |text: &str| {
        text.split_whitespace()
            .next()
            .filter(|v| *v != "system")
            .map(str::to_string)
    };
    if let Some(version) = opts.var("PYENV_VERSION") {
        return first_word(&version.replace(':', " "));
    }
    let local = opts.workspace_roots.first().and_then(|ws| {
        ws.ancestors()
            .find_map(|dir| std::fs::read_to_string(dir.join(".python-version")).ok())
    });
    let text = local.or_else(|| std::fs::read_to_string(root.join("version")).ok())?;
    first_word(&text)
}

fn dir_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn conda_environments(opts: &DiscoveryOptions) -> Vec<PythonEnvironment> {
    let home = opts.home_dir();
    let mut bases: Vec<PathBuf> = Vec::new();
    if let Some(conda_exe) = opts.var("CONDA_EXE") {
        // CONDA_EXE is `<base>/bin/conda` (or `<base>\Scripts\conda.exe`).
        if let Some(base) = Path::new(conda_exe).parent().and_then(Path::parent) {
            bases.push(base.to_path_buf());
        }
    }
    if let Some(home) = &home {
        for name in [
            "miniconda3",
            "anaconda3",
            "miniforge3",
            "mambaforge",
            "micromamba",
            ".conda",
        ] {
            bases.push(home.join(name));
        }
    }
    if opts.system_locations {
        for dir in [
            "/opt/conda",
            "/opt/miniconda3",
            "/opt/anaconda3",
            "/opt/miniforge3",
        ] {
            bases.push(PathBuf::from(dir));
        }
    }
    let mut prefixes: Vec<PathBuf> = Vec::new();
    // conda records every env it creates in ~/.conda/environments.txt.
    if let Some(home) = &home {
        if let Ok(text) = std::fs::read_to_string(home.join(".conda").join("environments.txt")) {
            prefixes.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(PathBuf::from),
            );
        }
    }
    for base in &bases {
        if base.join("conda-meta").is_dir() {
            prefixes.push(base.clone());
        }
        prefixes.extend(environment_dirs(&base.join("envs")));
    }
    if let Some(dirs) = opts.var("CONDA_ENVS_PATH") {
        for dir in std::env::split_paths(dirs) {
            prefixes.extend(environment_dirs(&dir));
        }
    }
    let mut seen = HashSet::new();
    prefixes
        .into_iter()
        .filter(|p| p.join("conda-meta").is_dir() && python_in_prefix(p).is_some())
        .filter(|p| seen.insert(p.clone()))
        .map(|prefix| {
            let source = format!("conda env {}", prefix.display());
            environment_from_prefix(&prefix, EnvKind::Conda, source)
        })
        .collect()
}

/// Interpreters installed by `uv python install`, newest first.
fn uv_environments(opts: &DiscoveryOptions) -> Vec<PythonEnvironment> {
    let dir = opts
        .var("UV_PYTHON_INSTALL_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            if cfg!(windows) {
                opts.var("APPDATA")
                    .map(|d| PathBuf::from(d).join("uv").join("data").join("python"))
            } else {
                opts.var("XDG_DATA_HOME")
                    .map(PathBuf::from)
                    .or_else(|| opts.home_dir().map(|h| h.join(".local").join("share")))
                    .map(|d| d.join("uv").join("python"))
            }
        });
    let Some(dir) = dir else {
        return Vec::new();
    };
    let mut dirs = environment_dirs(&dir);
    dirs.sort_by(|a, b| compare_versions(&dir_name(b), &dir_name(a)));
    dirs.into_iter()
        .map(|prefix| {
            let source = format!("uv-managed {}", dir_name(&prefix));
            environment_from_prefix(&prefix, EnvKind::Uv, source)
        })
        .collect()
}

fn path_environments(opts: &DiscoveryOptions) -> Vec<PythonEnvironment> {
    let path_var = opts.var("PATH");
    let Some((name, interpreter)) = ["python3", "python"]
        .into_iter()
        .find_map(|name| find_on_path(name, path_var).map(|p| (name, p)))
    else {
        return Vec::new();
    };
    // A pyenv shim is a shell script; list the interpreter it runs instead (it is the same
    // Python, without ~100 ms of shim per launch, and its packages can be read).
    if let Some(root) = pyenv_root(opts) {
        if interpreter.parent() == Some(root.join("shims").as_path()) {
            if let Some(version) = pyenv_active_version(opts, &root) {
                let prefix = root.join("versions").join(&version);
                if let Some(real) = python_in_prefix(&prefix) {
                    let source = format!("{name} on PATH (pyenv shim → {version})");
                    return vec![environment_from_interpreter(real, EnvKind::Path, source)];
                }
            }
        }
    }
    let source = format!("{name} on PATH");
    vec![environment_from_interpreter(
        interpreter,
        EnvKind::Path,
        source,
    )]
}
