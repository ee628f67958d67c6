//! What an environment's files tell without running it: the platform layout, the
//! interpreter of a prefix, its Python version, site-packages and installed distributions.

use super::{EnvKind, PythonEnvironment};
use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

// ----- platform layout

#[cfg(windows)]
pub(super) const BIN_DIR: &str = "Scripts";
#[cfg(not(windows))]
pub(super) const BIN_DIR: &str = "bin";
#[cfg(windows)]
pub(super) const PYTHON_EXE: &str = "python.exe";
#[cfg(not(windows))]
pub(super) const PYTHON_EXE: &str = "python";

/// The interpreter of an environment prefix (venv, conda env, pyenv version...).
pub(super) fn python_in_prefix(prefix: &Path) -> Option<PathBuf> {
    let in_bin = python_in_bin_dir(&prefix.join(BIN_DIR));
    // Conda and python.org layouts on Windows keep python.exe in the prefix itself.
    #[cfg(windows)]
    if in_bin.is_none() {
        let exe = prefix.join("python.exe");
        return exe.is_file().then_some(exe);
    }
    in_bin
}

pub(super) fn python_in_bin_dir(bin: &Path) -> Option<PathBuf> {
    let names: &[&str] = if cfg!(windows) {
        &["python.exe"]
    } else {
        &["python", "python3"]
    };
    names.iter().map(|n| bin.join(n)).find(|p| p.is_file())
}

/// `/p/.venv/bin/python` → `/p/.venv`; Windows `C:\conda\python.exe` → `C:\conda`.
pub(super) fn prefix_of_interpreter(interpreter: &Path) -> Option<PathBuf> {
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

pub(super) fn is_environment_dir(prefix: &Path) -> bool {
    prefix.join("pyvenv.cfg").is_file()
        || prefix.join("conda-meta").is_dir()
        || python_in_prefix(prefix).is_some()
}

// ----- building one environment from the filesystem

pub(super) fn environment_from_prefix(
    prefix: &Path,
    kind: EnvKind,
    source: String,
) -> PythonEnvironment {
    let interpreter =
        python_in_prefix(prefix).unwrap_or_else(|| prefix.join(BIN_DIR).join(PYTHON_EXE));
    environment_from_interpreter(interpreter, kind, source)
}

pub(super) fn environment_from_interpreter(
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
pub(super) fn normalize_version(raw: &str) -> Option<String> {
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
pub(super) fn version_from_dir_name(prefix: &Path) -> Option<String> {
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
pub(super) fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parse = |v: &str| -> Vec<u64> {
        v.split(|c: char| !c.is_ascii_digit())
            .filter(|p| !p.is_empty())
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    parse(a).cmp(&parse(b)).then_with(|| a.cmp(b))
}

/// Subdirectories of `dir` that look like environments, sorted by name.
pub(super) fn environment_dirs(dir: &Path) -> Vec<PathBuf> {
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

pub(super) fn find_on_path(program: &str, path_var: Option<&str>) -> Option<PathBuf> {
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
