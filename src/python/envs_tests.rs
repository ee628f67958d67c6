//! Discovery tests against a fake filesystem: fake venvs, a fake HOME and fake PATH dirs.

use super::*;
use std::fs;

struct FakeMachine {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl FakeMachine {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        Self { _dir: dir, root }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn file(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        }
        path
    }

    fn dir(&self, rel: &str) -> PathBuf {
        let path = self.path(rel);
        fs::create_dir_all(&path).unwrap();
        path
    }

    /// A `python -m venv`-style environment; `packages` like `[("planai", "0.7.1")]`.
    fn venv(&self, rel: &str, version: &str, packages: &[(&str, &str)]) -> PathBuf {
        let minor: String = version.split('.').take(2).collect::<Vec<_>>().join(".");
        self.file(
            &format!("{rel}/pyvenv.cfg"),
            &format!(
                "home = /usr/bin\ninclude-system-site-packages = false\nversion = {version}\n"
            ),
        );
        self.file(&format!("{rel}/bin/python"), "#!fake\n");
        let site = format!("{rel}/lib/python{minor}/site-packages");
        self.dir(&site);
        for (name, v) in packages {
            self.dir(&format!("{site}/{name}-{v}.dist-info"));
        }
        self.path(rel)
    }

    /// A plain installation prefix (pyenv version, uv python, conda env) without pyvenv.cfg.
    fn prefix(&self, rel: &str, minor: &str, packages: &[(&str, &str)]) -> PathBuf {
        self.file(&format!("{rel}/bin/python3"), "#!fake\n");
        let site = format!("{rel}/lib/python{minor}/site-packages");
        self.dir(&site);
        for (name, v) in packages {
            self.dir(&format!("{site}/{name}-{v}.dist-info"));
        }
        self.path(rel)
    }

    fn options(&self, env: &[(&str, String)]) -> DiscoveryOptions {
        DiscoveryOptions {
            setting: None,
            workspace_roots: vec![self.path("ws")],
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            home: Some(self.path("home")),
            system_locations: false,
            workspace_envs_need_selection: false,
        }
    }
}

fn kinds(envs: &[PythonEnvironment]) -> Vec<EnvKind> {
    envs.iter().map(|e| e.kind).collect()
}

#[test]
fn discovers_every_kind_in_priority_order() {
    let m = FakeMachine::new();
    m.dir("ws");
    let setting_venv = m.venv("elsewhere/chosen", "3.12.1", &[("planai", "0.7.1")]);
    let active = m.venv("active", "3.11.7", &[]);
    let conda_active = m.prefix("home/miniconda3/envs/work", "3.10", &[]);
    m.dir("home/miniconda3/envs/work/conda-meta");
    m.file(
        "home/miniconda3/envs/work/conda-meta/python-3.10.13-h1a28f6b_0.json",
        "{}",
    );
    m.venv(
        "ws/.venv",
        "3.11.7",
        &[
            ("planai", "0.7.1"),
            ("pydantic", "2.14.4"),
            ("llm_interface", "0.2.2"),
        ],
    );
    m.venv("ws/venv", "3.11.7", &[]);
    m.file(
        "ws/pyproject.toml",
        "[tool.poetry]\nname = \"My Flow\"\nversion = \"0.1\"\n",
    );
    m.venv(
        "home/.cache/pypoetry/virtualenvs/my_flow-AbCd1234-py3.11",
        "3.11.7",
        &[],
    );
    m.venv(
        "home/.cache/pypoetry/virtualenvs/other-AbCd1234-py3.11",
        "3.11.7",
        &[],
    );
    m.file("ws/Pipfile", "");
    m.venv("home/.local/share/virtualenvs/ws-Xy12Ab34", "3.11.7", &[]);
    m.venv(
        "home/.virtualenvs/research",
        "3.11.7",
        &[("planai", "0.6.0")],
    );
    m.prefix("home/.pyenv/versions/3.9.18", "3.9", &[]);
    m.prefix("home/.pyenv/versions/3.11.7", "3.11", &[]);
    m.prefix(
        "home/.local/share/uv/python/cpython-3.12.1-linux-x86_64-gnu",
        "3.12",
        &[],
    );
    m.file("usr/bin/python3", "#!fake\n");

    let mut opts = m.options(&[
        ("VIRTUAL_ENV", active.display().to_string()),
        ("CONDA_PREFIX", conda_active.display().to_string()),
        ("PATH", m.path("usr/bin").display().to_string()),
    ]);
    opts.setting = Some(InterpreterSetting::Path(setting_venv.display().to_string()));
    let envs = discover(&opts);

    assert_eq!(
        kinds(&envs),
        vec![
            EnvKind::Setting,
            EnvKind::VirtualEnvVar,
            EnvKind::Conda,
            EnvKind::WorkspaceVenv,
            EnvKind::WorkspaceVenv,
            EnvKind::Poetry,
            EnvKind::Pipenv,
            EnvKind::VirtualenvWrapper,
            EnvKind::Pyenv,
            EnvKind::Pyenv,
            EnvKind::Uv,
            EnvKind::Path,
        ],
        "{}",
        render_table(&envs, None)
    );
    // The conda env from CONDA_PREFIX is not listed again by the conda locator.
    assert_eq!(envs.iter().filter(|e| e.kind == EnvKind::Conda).count(), 1);

    let setting = &envs[0];
    assert_eq!(setting.path, Some(setting_venv.join("bin/python")));
    assert_eq!(setting.python_version.as_deref(), Some("3.12.1"));
    assert_eq!(setting.planai.as_deref(), Some("0.7.1"));
    assert!(setting.exists);

    assert_eq!(envs[2].python_version.as_deref(), Some("3.10.13"));
    let dot_venv = &envs[3];
    assert_eq!(dot_venv.planai.as_deref(), Some("0.7.1"));
    assert_eq!(dot_venv.pydantic.as_deref(), Some("2.14.4"));
    assert_eq!(dot_venv.llm_interface.as_deref(), Some("0.2.2"));
    assert!(envs[4].planai_known_missing());
    assert!(envs[5].source.contains("Poetry"));
    assert_eq!(envs[7].planai.as_deref(), Some("0.6.0"));
    // pyenv newest first; version from the directory name.
    assert_eq!(envs[8].python_version.as_deref(), Some("3.11.7"));
    assert_eq!(envs[9].python_version.as_deref(), Some("3.9.18"));
    assert_eq!(envs[10].python_version.as_deref(), Some("3.12.1"));
    assert_eq!(envs[11].path, Some(m.path("usr/bin/python3")));

    // The explicit setting always wins.
    assert_eq!(select_default(&envs).unwrap().kind, EnvKind::Setting);
    // Without it: the first existing environment that has planai (.venv, not VIRTUAL_ENV).
    opts.setting = None;
    let envs = discover(&opts);
    let chosen = select_default(&envs).unwrap();
    assert_eq!(chosen.kind, EnvKind::WorkspaceVenv);
    assert_eq!(chosen.path, Some(m.path("ws/.venv/bin/python")));

    // With `planai.autoSelectWorkspaceVenv: false` the workspace's own environments (its
    // `.venv`, or any interpreter under a workspace root) are listed but not chosen.
    opts.workspace_envs_need_selection = true;
    let chosen = select_default_for(&envs, &opts).unwrap();
    assert!(
        !chosen.path.as_ref().unwrap().starts_with(m.path("ws")),
        "{chosen:?}"
    );
    assert_ne!(chosen.kind, EnvKind::WorkspaceVenv);
    // An explicit setting still wins, wherever it points.
    opts.setting = Some(InterpreterSetting::Path(
        m.path("ws/.venv/bin/python").display().to_string(),
    ));
    let envs = discover(&opts);
    assert_eq!(
        select_default_for(&envs, &opts).unwrap().kind,
        EnvKind::Setting
    );
}

#[test]
fn deduplicates_by_canonical_location() {
    let m = FakeMachine::new();
    let venv = m.venv("ws/.venv", "3.11.7", &[]);
    #[cfg(unix)]
    std::os::unix::fs::symlink(&venv, m.path("link-to-venv")).unwrap();
    let pyenv = m.prefix("home/.pyenv/versions/3.11.7", "3.11", &[]);
    let envs = discover(&m.options(&[
        ("VIRTUAL_ENV", m.path("link-to-venv").display().to_string()),
        // PATH points into the pyenv version: same interpreter as the pyenv entry.
        ("PATH", pyenv.join("bin").display().to_string()),
    ]));
    assert_eq!(
        kinds(&envs),
        vec![EnvKind::VirtualEnvVar, EnvKind::Pyenv],
        "{}",
        render_table(&envs, None)
    );
}

#[test]
fn venv_and_base_interpreter_are_different_environments() {
    // A venv's bin/python is a symlink to the base interpreter; both must be listed.
    let m = FakeMachine::new();
    let base = m.prefix("home/.pyenv/versions/3.11.7", "3.11", &[]);
    m.venv("ws/.venv", "3.11.7", &[]);
    #[cfg(unix)]
    {
        fs::remove_file(m.path("ws/.venv/bin/python")).unwrap();
        std::os::unix::fs::symlink(base.join("bin/python3"), m.path("ws/.venv/bin/python"))
            .unwrap();
    }
    let envs = discover(&m.options(&[]));
    assert_eq!(kinds(&envs), vec![EnvKind::WorkspaceVenv, EnvKind::Pyenv]);
}

#[test]
fn missing_interpreters_are_reported_not_selected() {
    let m = FakeMachine::new();
    m.dir("ws");
    let envs = discover(&m.options(&[("VIRTUAL_ENV", m.path("gone").display().to_string())]));
    assert_eq!(envs.len(), 1);
    assert!(!envs[0].exists);
    assert!(select_default(&envs).is_none());
    let message = envs[0].problem_message().unwrap();
    assert!(message.contains("does not exist"), "{message}");
    assert!(message.contains("planai.selectEnvironment"), "{message}");

    // An explicit setting that is gone is still the selection, so the user learns why.
    let mut opts = m.options(&[]);
    opts.setting = Some(InterpreterSetting::Path("/nonexistent/bin/python".into()));
    let envs = discover(&opts);
    let chosen = select_default(&envs).unwrap();
    assert!(!chosen.exists);
    assert!(chosen.problem_message().is_some());
}

#[test]
fn planai_missing_message_is_actionable() {
    let m = FakeMachine::new();
    m.venv("ws/.venv", "3.11.7", &[("pydantic", "2.14.4")]);
    let envs = discover(&m.options(&[]));
    let message = envs[0].problem_message().unwrap();
    assert!(message.contains("planai is not installed"), "{message}");
    assert!(message.contains("-m pip install planai"), "{message}");
}

#[test]
fn setting_parser_accepts_paths_dirs_and_argv() {
    use serde_json::json;
    assert_eq!(InterpreterSetting::from_json(&json!(null)), Ok(None));
    assert_eq!(InterpreterSetting::from_json(&json!("  ")), Ok(None));
    assert_eq!(InterpreterSetting::from_json(&json!([])), Ok(None));
    assert_eq!(
        InterpreterSetting::from_json(&json!(".venv/bin/python")),
        Ok(Some(InterpreterSetting::Path(".venv/bin/python".into())))
    );
    assert_eq!(
        InterpreterSetting::from_json(&json!(["uv", "run", "python"])),
        Ok(Some(InterpreterSetting::Argv(vec![
            "uv".into(),
            "run".into(),
            "python".into()
        ])))
    );
    assert!(InterpreterSetting::from_json(&json!(["uv", 3])).is_err());
    assert!(InterpreterSetting::from_json(&json!(42)).is_err());
    // serde untagged form, as the settings struct would embed it.
    let parsed: InterpreterSetting = serde_json::from_value(json!(["docker", "exec"])).unwrap();
    assert!(matches!(parsed, InterpreterSetting::Argv(a) if a.len() == 2));

    let m = FakeMachine::new();
    let venv = m.venv("ws/.venv", "3.11.7", &[("planai", "0.7.1")]);
    m.file("home/envs/x/bin/python", "#!fake\n");
    m.file("usr/bin/uv", "#!fake\n");
    m.file("usr/bin/python3.12", "#!fake\n");
    let opts = m.options(&[("PATH", m.path("usr/bin").display().to_string())]);

    // Relative path → against the first workspace root.
    let env = InterpreterSetting::Path(".venv/bin/python".into()).resolve(&opts);
    assert_eq!(env.path, Some(venv.join("bin/python")));
    assert!(env.exists);
    // A venv directory → its interpreter, with versions read from it.
    let env = InterpreterSetting::Path(".venv".into()).resolve(&opts);
    assert_eq!(env.path, Some(venv.join("bin/python")));
    assert_eq!(env.planai.as_deref(), Some("0.7.1"));
    // `~` → home.
    let env = InterpreterSetting::Path("~/envs/x".into()).resolve(&opts);
    assert_eq!(env.path, Some(m.path("home/envs/x/bin/python")));
    // A bare name → PATH; version from the file name.
    let env = InterpreterSetting::Path("python3.12".into()).resolve(&opts);
    assert_eq!(env.path, Some(m.path("usr/bin/python3.12")));
    assert_eq!(env.python_version.as_deref(), Some("3.12"));
    // argv: no path, exists if the program is on PATH.
    let env =
        InterpreterSetting::Argv(vec!["uv".into(), "run".into(), "python".into()]).resolve(&opts);
    assert_eq!(env.path, None);
    assert!(env.exists);
    assert_eq!(env.interpreter, vec!["uv", "run", "python"]);
    assert!(env.site_packages.is_empty(), "unknown until probed");
    let env =
        InterpreterSetting::Argv(vec!["nope-not-here".into(), "python".into()]).resolve(&opts);
    assert!(!env.exists);
    // Editor variables.
    let mut opts_with_env = opts.clone();
    opts_with_env
        .env
        .insert("MY_VENV".into(), venv.display().to_string());
    for raw in [
        "${workspaceFolder}/.venv",
        "${env:MY_VENV}",
        "${userHome}/../ws/.venv",
    ] {
        let env = InterpreterSetting::Path(raw.into()).resolve(&opts_with_env);
        assert!(env.exists, "{raw}: {env:?}");
        assert_eq!(env.planai.as_deref(), Some("0.7.1"), "{raw}");
    }
    // A bare name never resolves to a file in the workspace (a repo could ship one).
    m.file("ws/python9", "#!fake\n");
    let env = InterpreterSetting::Path("python9".into()).resolve(&opts);
    assert_ne!(env.path, Some(m.path("ws/python9")));
    // A one-element argv is a path.
    let env = InterpreterSetting::Argv(vec![".venv".into()]).resolve(&opts);
    assert_eq!(env.path, Some(venv.join("bin/python")));
}

#[test]
fn reads_versions_without_launching() {
    let m = FakeMachine::new();
    // uv/virtualenv style pyvenv.cfg.
    m.file(
        "ws/.venv/pyvenv.cfg",
        "home = /x/bin\nimplementation = CPython\nuv = 0.13.9\nversion_info = 3.11.7.final.0\n",
    );
    m.file("ws/.venv/bin/python", "#!fake\n");
    let site = m.dir("ws/.venv/lib/python3.11/site-packages");
    // Version only in METADATA (e.g. a dist-info dir without a version in its name is not
    // standard, but egg-info dirs from `setup.py develop` are).
    m.file(
        "ws/.venv/lib/python3.11/site-packages/planai.egg-info/PKG-INFO",
        "Metadata-Version: 2.1\nName: planai\nVersion: 0.8.0.dev0\n\nbody",
    );
    m.dir("ws/.venv/lib/python3.11/site-packages/llm_interface-0.2.2.dist-info");
    m.dir("ws/.venv/lib/python3.11/site-packages/pydantic_core-2.50.5.dist-info");
    let envs = discover(&m.options(&[]));
    let env = &envs[0];
    assert_eq!(env.python_version.as_deref(), Some("3.11.7"));
    assert_eq!(env.planai.as_deref(), Some("0.8.0.dev0"));
    assert_eq!(env.llm_interface.as_deref(), Some("0.2.2"));
    assert_eq!(env.pydantic, None, "pydantic_core is not pydantic");
    assert_eq!(env.site_packages, vec![site]);
}

#[test]
fn pyenv_active_version_comes_first_and_shims_resolve() {
    let m = FakeMachine::new();
    m.prefix("home/.pyenv/versions/3.13.0", "3.13", &[]);
    m.prefix("home/.pyenv/versions/3.11.7", "3.11", &[]);
    m.file("home/.pyenv/version", "3.11.7\n");
    m.file("home/.pyenv/shims/python3", "#!/usr/bin/env bash\n");
    let path = format!(
        "{}:{}",
        m.path("home/.pyenv/shims").display(),
        m.path("usr/bin").display()
    );
    let envs = discover(&m.options(&[("PATH", path.clone())]));
    // The shim resolves to the active version, which is listed (once) before newer ones.
    assert_eq!(kinds(&envs), vec![EnvKind::Pyenv, EnvKind::Pyenv]);
    assert_eq!(envs[0].python_version.as_deref(), Some("3.11.7"));
    assert!(envs[0].source.ends_with("(active)"), "{}", envs[0].source);

    // A workspace .python-version wins over the global file; PYENV_VERSION over both.
    m.file("ws/.python-version", "3.13.0\n");
    let envs = discover(&m.options(&[("PATH", path.clone())]));
    assert_eq!(envs[0].python_version.as_deref(), Some("3.13.0"));
    let envs = discover(&m.options(&[("PATH", path), ("PYENV_VERSION", "3.11.7".into())]));
    assert_eq!(envs[0].python_version.as_deref(), Some("3.11.7"));
}

#[test]
fn conda_envs_from_environments_txt() {
    let m = FakeMachine::new();
    let env = m.prefix("somewhere/conda-env", "3.12", &[("planai", "0.7.1")]);
    m.dir("somewhere/conda-env/conda-meta");
    m.file(
        "home/.conda/environments.txt",
        &format!("{}\n/does/not/exist\n", env.display()),
    );
    let envs = discover(&m.options(&[]));
    assert_eq!(kinds(&envs), vec![EnvKind::Conda]);
    assert_eq!(envs[0].planai.as_deref(), Some("0.7.1"));
    assert_eq!(envs[0].python_version.as_deref(), Some("3.12"));
}

#[test]
fn table_marks_selection_and_unknowns() {
    let m = FakeMachine::new();
    m.venv("ws/.venv", "3.11.7", &[("planai", "0.7.1")]);
    let mut opts = m.options(&[]);
    opts.setting = Some(InterpreterSetting::Argv(vec![
        "uv".into(),
        "run".into(),
        "python".into(),
    ]));
    let envs = discover(&opts);
    let table = render_table(&envs, Some(1));
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("   #  kind"), "{table}");
    assert!(lines[1].contains("uv run python (missing)"), "{table}");
    assert!(lines[1].contains(" ? "), "{table}");
    assert!(lines[2].starts_with('*'), "{table}");
    assert!(lines[2].contains("0.7.1"), "{table}");
    assert!(lines[2].contains("3.11.7"), "{table}");
    assert!(render_table(&[], None).contains("No Python interpreter was found"));
}

#[test]
fn untrusted_probe_never_launches() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let env = PythonEnvironment {
        interpreter: vec!["/definitely/not/run".into()],
        path: None,
        kind: EnvKind::Setting,
        source: String::new(),
        python_version: None,
        planai: None,
        pydantic: None,
        llm_interface: None,
        site_packages: vec![],
        exists: false,
    };
    let err = rt
        .block_on(probe(&env, false, Duration::from_secs(1)))
        .unwrap_err();
    assert!(err.0.contains("not trusted"));
}

#[test]
fn version_helpers() {
    assert_eq!(
        normalize_version("3.11.7.final.0").as_deref(),
        Some("3.11.7")
    );
    assert_eq!(normalize_version("3.11").as_deref(), Some("3.11"));
    assert_eq!(normalize_version("system"), None);
    assert_eq!(
        compare_versions("3.9.18", "3.11.7"),
        std::cmp::Ordering::Less
    );
    assert_eq!(
        version_from_dir_name(Path::new("/x/cpython-3.12.1-linux-x86_64-gnu")).as_deref(),
        Some("3.12.1")
    );
    assert_eq!(version_from_dir_name(Path::new("/x/.venv")), None);
}
