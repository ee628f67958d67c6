//! Python environment discovery: which interpreters exist, what Python version they are and
//! whether planai, pydantic and llm_interface are installed in them.
//!
//! Discovery reads the filesystem only (pyvenv.cfg, `lib/pythonX.Y`, `*.dist-info` directory
//! names). It never launches an interpreter, so it is safe in untrusted workspaces and fast
//! enough to run on every `planai.listEnvironments`. [`probe`] is the one function here that
//! launches Python, for interpreters the filesystem says nothing about (argv settings such as
//! `uv run python`, containers, pyenv shims).

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

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

// ---------------------------------------------------------------------------------------------
// The `planai.python` setting

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

// ---------------------------------------------------------------------------------------------
// Discovery

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

    fn home_dir(&self) -> Option<PathBuf> {
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

// ----- platform layout

#[cfg(windows)]
const BIN_DIR: &str = "Scripts";
#[cfg(not(windows))]
const BIN_DIR: &str = "bin";
#[cfg(windows)]
const PYTHON_EXE: &str = "python.exe";
#[cfg(not(windows))]
const PYTHON_EXE: &str = "python";

/// The interpreter of an environment prefix (venv, conda env, pyenv version...).
fn python_in_prefix(prefix: &Path) -> Option<PathBuf> {
    let in_bin = python_in_bin_dir(&prefix.join(BIN_DIR));
    // Conda and python.org layouts on Windows keep python.exe in the prefix itself.
    #[cfg(windows)]
    if in_bin.is_none() {
        let exe = prefix.join("python.exe");
        return exe.is_file().then_some(exe);
    }
    in_bin
}

fn python_in_bin_dir(bin: &Path) -> Option<PathBuf> {
    let names: &[&str] = if cfg!(windows) {
        &["python.exe"]
    } else {
        &["python", "python3"]
    };
    names.iter().map(|n| bin.join(n)).find(|p| p.is_file())
}

/// `/p/.venv/bin/python` → `/p/.venv`; Windows `C:\conda\python.exe` → `C:\conda`.
fn prefix_of_interpreter(interpreter: &Path) -> Option<PathBuf> {
    let dir = interpreter.parent()?;
    let dir_name = dir.file_name()?.to_str()?;
    if dir_name == "bin" || dir_name.eq_ignore_ascii_case("scripts") {
        return dir.parent().map(Path::to_path_buf);
    }
    if cfg!(windows) {
        return Some(dir.to_path_buf());
    }
    None
}

fn is_environment_dir(prefix: &Path) -> bool {
    prefix.join("pyvenv.cfg").is_file()
        || prefix.join("conda-meta").is_dir()
        || python_in_prefix(prefix).is_some()
}

// ----- building one environment from the filesystem

fn environment_from_prefix(prefix: &Path, kind: EnvKind, source: String) -> PythonEnvironment {
    let interpreter =
        python_in_prefix(prefix).unwrap_or_else(|| prefix.join(BIN_DIR).join(PYTHON_EXE));
    environment_from_interpreter(interpreter, kind, source)
}

fn environment_from_interpreter(
    interpreter: PathBuf,
    kind: EnvKind,
    source: String,
) -> PythonEnvironment {
    let exists = interpreter.is_file();
    let prefix = prefix_of_interpreter(&interpreter);
    let layout = prefix.as_deref().map(inspect_prefix).unwrap_or_default();
    let python_version = layout
        .version
        .clone()
        .or_else(|| version_from_file_name(&interpreter));
    let packages = installed_packages(&layout.site_packages);
    PythonEnvironment {
        interpreter: vec![interpreter.to_string_lossy().into_owned()],
        path: Some(interpreter),
        kind,
        source,
        python_version,
        planai: packages.get("planai").cloned(),
        pydantic: packages.get("pydantic").cloned(),
        llm_interface: packages.get("llm_interface").cloned(),
        site_packages: layout.site_packages,
        exists,
    }
}

#[derive(Default)]
struct PrefixLayout {
    version: Option<String>,
    site_packages: Vec<PathBuf>,
}

/// Reads what a prefix tells without running it: its Python version and site-packages dirs.
fn inspect_prefix(prefix: &Path) -> PrefixLayout {
    let cfg = read_pyvenv_cfg(prefix);
    let lib_dirs = lib_python_dirs(prefix);
    let version = cfg
        .as_ref()
        .and_then(|c| c.version.clone())
        .or_else(|| conda_python_version(prefix))
        .or_else(|| version_from_dir_name(prefix))
        .or_else(|| lib_dirs.first().map(|(_, v)| v.clone()));
    let mut site_packages = site_packages_dirs(prefix, &lib_dirs);
    if let Some(cfg) = &cfg {
        if cfg.include_system_site_packages {
            if let Some(base) = cfg.home.as_deref().and_then(|home| {
                // `home` is the base interpreter's bin dir (or its prefix on Windows).
                if home.file_name() == Some(OsStr::new("bin")) {
                    home.parent().map(Path::to_path_buf)
                } else {
                    Some(home.to_path_buf())
                }
            }) {
                let base_lib = lib_python_dirs(&base);
                site_packages.extend(site_packages_dirs(&base, &base_lib));
            }
        }
    }
    PrefixLayout {
        version,
        site_packages,
    }
}

struct PyvenvCfg {
    version: Option<String>,
    home: Option<PathBuf>,
    include_system_site_packages: bool,
}

fn read_pyvenv_cfg(prefix: &Path) -> Option<PyvenvCfg> {
    let text = std::fs::read_to_string(prefix.join("pyvenv.cfg")).ok()?;
    let mut cfg = PyvenvCfg {
        version: None,
        home: None,
        include_system_site_packages: false,
    };
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            // venv writes `version`, uv and virtualenv write `version_info` ("3.11.7.final.0").
            "version" | "version_info" if cfg.version.is_none() || key == "version" => {
                cfg.version = normalize_version(value);
            }
            "home" => cfg.home = Some(PathBuf::from(value)),
            "include-system-site-packages" => {
                cfg.include_system_site_packages = value.eq_ignore_ascii_case("true")
            }
            _ => {}
        }
    }
    Some(cfg)
}

/// "3.11.7.final.0" → "3.11.7"; rejects anything that does not start with digits.
fn normalize_version(raw: &str) -> Option<String> {
    let parts: Vec<&str> = raw
        .split('.')
        .take(3)
        .take_while(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        .collect();
    (parts.len() >= 2).then(|| parts.join("."))
}

/// `conda-meta/python-3.11.7-h955ad1f_0.json` → "3.11.7".
fn conda_python_version(prefix: &Path) -> Option<String> {
    let entries = std::fs::read_dir(prefix.join("conda-meta")).ok()?;
    entries.flatten().find_map(|entry| {
        let name = entry.file_name();
        let rest = name.to_str()?.strip_prefix("python-")?;
        let version = rest.split('-').next()?;
        normalize_version(version)
    })
}

/// pyenv `versions/3.11.7` and uv `cpython-3.12.1-linux-x86_64-gnu` carry the version in the
/// prefix's name.
fn version_from_dir_name(prefix: &Path) -> Option<String> {
    let name = prefix.file_name()?.to_str()?;
    let candidate = name.strip_prefix("cpython-").unwrap_or(name);
    let candidate = candidate.split(['-', '+']).next()?;
    normalize_version(candidate).filter(|v| v.split('.').count() == 3)
}

/// `python3.11` → "3.11".
fn version_from_file_name(interpreter: &Path) -> Option<String> {
    // Not `file_stem`: that would cut "python3.12" at its ".12".
    let name = interpreter.file_name()?.to_str()?;
    let name = name.strip_suffix(".exe").unwrap_or(name);
    normalize_version(name.strip_prefix("python")?)
}

/// `lib/python3.11` (and `lib64/…`, `python3.13t`) with their "X.Y" versions, newest first.
fn lib_python_dirs(prefix: &Path) -> Vec<(PathBuf, String)> {
    let mut dirs = Vec::new();
    for lib in ["lib", "lib64"] {
        let Ok(entries) = std::fs::read_dir(prefix.join(lib)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(version) = name
                .to_str()
                .and_then(|n| n.strip_prefix("python"))
                .map(|v| v.trim_end_matches('t'))
                .and_then(normalize_version)
            else {
                continue;
            };
            if entry.path().is_dir() {
                dirs.push((entry.path(), version));
            }
        }
    }
    dirs.sort_by(|a, b| compare_versions(&b.1, &a.1));
    dirs
}

fn site_packages_dirs(prefix: &Path, lib_dirs: &[(PathBuf, String)]) -> Vec<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    for (dir, _) in lib_dirs {
        candidates.push(dir.join("site-packages"));
        candidates.push(dir.join("dist-packages"));
    }
    // Debian's system Python keeps distro packages here.
    candidates.push(prefix.join("lib").join("python3").join("dist-packages"));
    // Windows layout.
    candidates.push(prefix.join("Lib").join("site-packages"));
    let mut seen = HashSet::new();
    candidates
        .into_iter()
        .filter(|c| c.is_dir())
        .filter(|c| seen.insert(c.canonicalize().unwrap_or_else(|_| c.clone())))
        .collect()
}

/// Normalised distribution name → version, from `name-version.dist-info` / `.egg-info` names.
/// The first site-packages dir that has a package wins (that is what `import` would find).
fn installed_packages(site_packages: &[PathBuf]) -> HashMap<String, String> {
    const WANTED: [&str; 3] = ["planai", "pydantic", "llm_interface"];
    let mut found = HashMap::new();
    for dir in site_packages {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str() else {
                continue;
            };
            let Some(stem) = name
                .strip_suffix(".dist-info")
                .or_else(|| name.strip_suffix(".egg-info"))
            else {
                continue;
            };
            let (dist, version) = match stem.split_once('-') {
                Some((dist, rest)) => (dist, rest.split('-').next().map(str::to_string)),
                None => (stem, None),
            };
            let dist = normalize_dist_name(dist);
            if !WANTED.contains(&dist.as_str()) || found.contains_key(&dist) {
                continue;
            }
            let version = version
                .filter(|v| !v.is_empty())
                .or_else(|| version_from_metadata(&entry.path()))
                .unwrap_or_else(|| "?".to_string());
            found.insert(dist, version);
        }
    }
    found
}

/// PEP 503-style normalisation with `_`, matching how dist-info dirs spell names.
fn normalize_dist_name(name: &str) -> String {
    name.to_ascii_lowercase().replace(['-', '.'], "_")
}

fn version_from_metadata(info_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(info_dir.join("METADATA"))
        .or_else(|_| std::fs::read_to_string(info_dir.join("PKG-INFO")))
        .ok()?;
    text.lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix("Version:"))
        .map(|v| v.trim().to_string())
}

/// Numeric-aware comparison of dotted versions ("3.9" < "3.11").
fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parse = |v: &str| -> Vec<u64> {
        v.split(|c: char| !c.is_ascii_digit())
            .filter(|p| !p.is_empty())
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    parse(a).cmp(&parse(b)).then_with(|| a.cmp(b))
}

/// Subdirectories of `dir` that look like environments, sorted by name.
fn environment_dirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('.'))
        })
        .filter(|p| p.is_dir() && is_environment_dir(p))
        .collect();
    dirs.sort();
    dirs
}

fn find_on_path(program: &str, path_var: Option<&str>) -> Option<PathBuf> {
    let path_var = path_var?;
    let names: Vec<String> = if cfg!(windows) && !program.to_ascii_lowercase().ends_with(".exe") {
        vec![format!("{program}.exe"), program.to_string()]
    } else {
        vec![program.to_string()]
    };
    std::env::split_paths(path_var)
        .filter(|dir| !dir.as_os_str().is_empty())
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|candidate| is_executable_file(candidate))
}

fn is_executable_file(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

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

// ---------------------------------------------------------------------------------------------
// The table for `planai-lsp envs`

/// Environments as JSON (what `planai.listEnvironments` and `planai-lsp envs --json` print),
/// each with a `selected` flag.
pub fn environments_json(envs: &[PythonEnvironment], selected: Option<usize>) -> serde_json::Value {
    let items = envs
        .iter()
        .enumerate()
        .map(|(index, environment)| {
            let mut value = serde_json::to_value(environment).unwrap_or_default();
            if let Some(object) = value.as_object_mut() {
                object.insert("selected".into(), (Some(index) == selected).into());
            }
            value
        })
        .collect();
    serde_json::Value::Array(items)
}

/// A plain-text table of environments; `selected` (an index into `envs`) is marked with `*`.
pub fn render_table(envs: &[PythonEnvironment], selected: Option<usize>) -> String {
    if envs.is_empty() {
        return format!("{}\n", no_interpreter_message());
    }
    let header = ["", "#", "kind", "python", "planai", "path", "source"];
    let rows: Vec<[String; 7]> = envs
        .iter()
        .enumerate()
        .map(|(i, env)| {
            let mut path = env.display_interpreter();
            if !env.exists {
                path.push_str(" (missing)");
            }
            let planai = match (&env.planai, env.site_packages.is_empty()) {
                (Some(v), _) => v.clone(),
                (None, true) => "?".to_string(),
                (None, false) => "-".to_string(),
            };
            [
                if Some(i) == selected { "*" } else { "" }.to_string(),
                (i + 1).to_string(),
                env.kind.as_str().to_string(),
                env.python_version.clone().unwrap_or_else(|| "?".into()),
                planai,
                path,
                env.source.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut push_row = |cells: &[&str]| {
        let mut line = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push_row(&header);
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        push_row(&cells);
    }
    out.push_str("\n* = selected; planai \"-\" = not installed, \"?\" = unknown until probed\n");
    out
}

// ---------------------------------------------------------------------------------------------
// Probing (launches the interpreter)

/// What the interpreter itself reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeInfo {
    /// "3.11.7"
    pub python: String,
    pub executable: String,
    pub prefix: String,
    pub planai: Option<String>,
    pub pydantic: Option<String>,
    pub llm_interface: Option<String>,
}

/// Why a probe failed, in words fit for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeError(pub String);

impl std::fmt::Display for ProbeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProbeError {}

const PROBE_SCRIPT: &str = r#"
import json, sys
try:
    from importlib import metadata
except ImportError:
    metadata = None
def version(name):
    try:
        return metadata.version(name)
    except Exception:
        return None
print(json.dumps({"python": "%d.%d.%d" % tuple(sys.version_info[:3]),
                  "executable": sys.executable, "prefix": sys.prefix,
                  "planai": version("planai"), "pydantic": version("pydantic"),
                  "llm_interface": version("llm-interface")}))
"#;

type ProbeKey = (Vec<String>, Option<SystemTime>, Vec<Option<SystemTime>>);

fn probe_cache() -> &'static Mutex<HashMap<ProbeKey, ProbeInfo>> {
    static CACHE: OnceLock<Mutex<HashMap<ProbeKey, ProbeInfo>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// How often [`probe`] launched each interpreter (argv) in this process: tests count launches
/// instead of timing them.
fn probe_launch_counts() -> &'static Mutex<HashMap<Vec<String>, usize>> {
    static COUNTS: OnceLock<Mutex<HashMap<Vec<String>, usize>>> = OnceLock::new();
    COUNTS.get_or_init(Default::default)
}

/// How many times [`probe`] launched `interpreter` in this process.
pub fn probe_launches(interpreter: &[String]) -> usize {
    probe_launch_counts()
        .lock()
        .ok()
        .and_then(|counts| counts.get(interpreter).copied())
        .unwrap_or(0)
}

/// Runs the interpreter (`-I -c`) to learn its version and package versions. Cached per
/// process by (argv, interpreter mtime, site-packages mtimes), so installing a package
/// invalidates it. Refuses to run when `trusted` is false. The process (group) is killed when
/// `timeout` passes.
pub async fn probe(
    env: &PythonEnvironment,
    trusted: bool,
    timeout: Duration,
) -> Result<ProbeInfo, ProbeError> {
    if !trusted {
        return Err(ProbeError(
            "The workspace is not trusted, so no Python interpreter is launched.".into(),
        ));
    }
    let Some((program, args)) = env.interpreter.split_first() else {
        return Err(ProbeError("The interpreter command is empty.".into()));
    };
    let mtime = |p: &Path| p.metadata().and_then(|m| m.modified()).ok();
    let key: ProbeKey = (
        env.interpreter.clone(),
        env.path.as_deref().and_then(mtime),
        env.site_packages.iter().map(|p| mtime(p)).collect(),
    );
    if let Some(hit) = probe_cache().lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(hit);
    }

    // From a scratch directory, like every process that runs an interpreter: the probe
    // imports packages, and a workspace as the cwd would put its modules first on the path.
    let scratch = tempfile::Builder::new()
        .prefix("planai-lsp-probe-")
        .tempdir()
        .map_err(|e| ProbeError(format!("Cannot create a scratch directory: {e}")))?;
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .args(["-I", "-c", PROBE_SCRIPT])
        .current_dir(scratch.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    super::process::isolate(&mut command);
    if let Ok(mut counts) = probe_launch_counts().lock() {
        *counts.entry(env.interpreter.clone()).or_default() += 1;
    }
    let child = super::process::spawn(&mut command).map_err(|e| {
        ProbeError(format!(
            "Could not start `{}`: {e}",
            env.interpreter.join(" ")
        ))
    })?;
    let pgid = child.id();
    let waited = tokio::time::timeout(timeout, child.wait_with_output()).await;
    // Reaped, or killed on drop and handed to tokio's reaper.
    super::process::forget(pgid);
    let output = match waited {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => return Err(ProbeError(format!("Running the interpreter failed: {e}"))),
        Err(_) => {
            // kill_on_drop got the leader when the future was dropped; get the rest too.
            if let Some(pgid) = pgid {
                super::process::kill_group_now(pgid);
            }
            return Err(ProbeError(format!(
                "`{}` did not answer within {:.1} s.",
                env.interpreter.join(" "),
                timeout.as_secs_f64()
            )));
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let info = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .and_then(|l| serde_json::from_str::<ProbeInfo>(l).ok())
        .ok_or_else(|| {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            ProbeError(format!(
                "`{}` is not a working Python interpreter ({}): {}",
                env.interpreter.join(" "),
                output.status,
                tail.join(" | ")
            ))
        })?;
    if let Ok(mut cache) = probe_cache().lock() {
        cache.insert(key, info.clone());
    }
    Ok(info)
}

/// Probes (concurrently) every existing environment whose packages the filesystem could not
/// tell (argv settings, shims) and fills in what it reports; failures are logged and skipped.
/// Launches interpreters: only call it when the workspace is trusted (it refuses otherwise).
pub async fn probe_unknown(envs: &mut [PythonEnvironment], trusted: bool, timeout: Duration) {
    let unknown: Vec<usize> = (0..envs.len())
        .filter(|&i| envs[i].exists && envs[i].site_packages.is_empty())
        .collect();
    let probes = unknown.iter().map(|&i| {
        let env = envs[i].clone();
        async move { (i, probe(&env, trusted, timeout).await) }
    });
    for (i, outcome) in futures::future::join_all(probes).await {
        match outcome {
            Ok(info) => envs[i].apply_probe(&info),
            Err(e) => {
                tracing::info!(target: "planai_lsp::envs", interpreter = %envs[i].display_interpreter(), "probe failed: {e}")
            }
        }
    }
}

#[cfg(test)]
#[path = "envs_tests.rs"]
mod tests;
