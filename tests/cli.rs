//! The command-line interface: `check`, `--version`, `--help`, usage errors.

use std::path::Path;
use std::process::Command;

fn planai_lsp(args: &[&str], cwd: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_planai-lsp"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run planai-lsp")
}

fn workspace(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir
}

#[test]
fn version_and_help() {
    let dir = tempfile::tempdir().unwrap();
    let version = planai_lsp(&["--version"], dir.path());
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("planai-lsp "));
    let help = planai_lsp(&["--help"], dir.path());
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("planai-lsp check"));
}

#[test]
fn bad_usage_exits_with_2() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        planai_lsp(&["frobnicate"], dir.path()).status.code(),
        Some(2)
    );
    assert_eq!(
        planai_lsp(&["check", "--format", "yaml"], dir.path())
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        planai_lsp(&["check", "missing.py"], dir.path())
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn check_reports_errors_with_locations_and_exits_1() {
    let dir = workspace(&[
        ("pkg/good.py", "x = 1\n"),
        ("pkg/bad.py", "x = 1\ndef f(:\n    pass\n"),
    ]);
    let output = planai_lsp(&["check", "pkg"], dir.path());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "stdout: {stdout}");
    let first = stdout.lines().next().unwrap();
    assert!(first.starts_with("pkg/bad.py:2:"), "got {first}");
    assert!(first.contains("error[syntax]"), "got {first}");
    assert!(stdout.contains("Checked 2 files"), "got {stdout}");
}

#[test]
fn check_json_format_is_machine_readable() {
    let dir = workspace(&[("bad.py", "(\n")]);
    let output = planai_lsp(&["check", "--format", "json", "bad.py"], dir.path());
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(report["files_checked"], 1);
    assert_eq!(report["diagnostics"][0]["code"], "syntax");
    assert_eq!(report["diagnostics"][0]["line"], 1);
}

#[test]
fn check_on_a_clean_folder_exits_0_and_skips_virtualenvs() {
    let dir = workspace(&[
        ("app/main.py", "print('hi')\n"),
        (".venv/lib/broken.py", "def (:\n"),
        ("env2/pyvenv.cfg", "home = /usr\n"),
        ("env2/lib/broken.py", "def (:\n"),
    ]);
    let output = planai_lsp(&["check"], dir.path());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "stdout: {stdout}");
    assert!(stdout.contains("Checked 1 file:"), "got {stdout}");
}

#[test]
fn envs_lists_the_workspace_venv_as_json_and_as_a_table() {
    let dir = workspace(&[(".venv/pyvenv.cfg", "home = /usr/bin\nversion = 3.11.7\n")]);
    let bin = dir.path().join(".venv/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("python"), "").unwrap();
    let site = dir
        .path()
        .join(".venv/lib/python3.11/site-packages/planai-0.7.1.dist-info");
    std::fs::create_dir_all(&site).unwrap();

    let output = planai_lsp(&["envs", "--json"], dir.path());
    assert!(output.status.success());
    let envs: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let local = envs
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"].as_str().is_some_and(|p| p.contains(".venv")))
        .expect("the workspace .venv is listed");
    assert_eq!(local["planai"], "0.7.1");
    assert_eq!(local["python_version"], "3.11.7");

    let table = planai_lsp(&["envs"], dir.path());
    assert!(table.status.success());
    assert!(String::from_utf8_lossy(&table.stdout).contains(".venv"));
    assert_eq!(
        planai_lsp(&["envs", "--bogus"], dir.path()).status.code(),
        Some(2)
    );
}

/// Files passed over used to vanish silently (too large) or leave the exit code at 0 ("Checked
/// 0 files") for a named path that could not be read; special files could hang the check.
#[test]
fn skipped_files_are_reported_and_named_paths_that_cannot_be_checked_exit_2() {
    let dir = workspace(&[("pkg/ok.py", "x = 1\n")]);
    let big = dir.path().join("pkg/huge.py");
    std::fs::write(&big, "x = 1\n".repeat(1_500_000)).unwrap();
    let fifo = dir.path().join("pkg/pipe.py");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("pkg/zero.py")).unwrap();

    let folder = planai_lsp(&["check", "pkg"], dir.path());
    let stderr = String::from_utf8_lossy(&folder.stderr);
    let stdout = String::from_utf8_lossy(&folder.stdout);
    assert_eq!(folder.status.code(), Some(0), "{stdout}{stderr}");
    for name in ["huge.py", "pipe.py", "zero.py"] {
        assert!(
            stderr.contains("skipped") && stderr.contains(name),
            "{name}: {stderr}"
        );
    }
    assert!(stderr.contains("larger than"), "{stderr}");
    assert!(stderr.contains("not a regular file"), "{stderr}");
    assert!(
        stdout.contains("Checked 1 file (3 skipped): 0 errors"),
        "{stdout}"
    );

    for named in ["pkg/pipe.py", "pkg/zero.py", "pkg/huge.py"] {
        let output = planai_lsp(&["check", named, "pkg/ok.py"], dir.path());
        assert_eq!(
            output.status.code(),
            Some(2),
            "{named}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn a_reader_that_stops_early_does_not_make_check_panic() {
    // Enough diagnostics to overflow a pipe buffer, so the write meets the closed pipe.
    let mut src = String::new();
    for i in 0..3000 {
        src.push_str(&format!("def f{i}(:\n    pass\n"));
    }
    let dir = workspace(&[("bad.py", &src)]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_planai-lsp"))
        .args(["check", "bad.py"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run planai-lsp");
    // Like `| head -1`: read one line, then close the pipe.
    {
        use std::io::BufRead;
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        assert!(first.contains("error[syntax]"), "{first}");
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(output.status.code(), Some(101));
    assert_eq!(output.status.code(), Some(1), "the check's own exit status");
}

#[test]
fn graph_prints_each_format_of_a_bundled_example() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = |format: &str| {
        let out = planai_lsp(
            &[
                "graph",
                "examples/research_pkg/graph.py",
                "--format",
                format,
            ],
            root,
        );
        assert!(
            out.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(run("mermaid").starts_with("flowchart LR\n"));
    assert!(run("dot").contains("\"g0_planner\" -> \"g0_searcher\""));
    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    assert_eq!(json["graphs"][0]["name"], "research");
    let svg = run("svg");
    assert!(svg.contains("<svg"), "{svg}");
    assert_eq!(svg.matches("class=\"worker\"").count(), 3);
}

#[test]
fn graph_usage_errors_exit_with_2_and_unknown_graphs_with_1() {
    let dir = workspace(&[(
        "flow.py",
        "from planai import Graph\n\ngraph = Graph(name=\"g\")\n",
    )]);
    assert_eq!(planai_lsp(&["graph"], dir.path()).status.code(), Some(2));
    assert_eq!(
        planai_lsp(&["graph", "flow.py", "--format", "png"], dir.path())
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        planai_lsp(&["graph", "missing.py"], dir.path())
            .status
            .code(),
        Some(2)
    );
    let unknown = planai_lsp(&["graph", "flow.py", "--graph", "other"], dir.path());
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("graphs: g"));
}

/// The interop and run commands read their input like `check` does: a FIFO or a device is
/// refused with a message, never read forever.
#[test]
fn import_graph_and_run_refuse_special_files() {
    let dir = workspace(&[("ok.py", "x = 1\n")]);
    let fifo = dir.path().join("graph.json");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.json")).unwrap();
    for args in [
        ["import-editor-graph", "graph.json"],
        ["import-editor-graph", "zero.json"],
        ["run", "graph.json"],
    ] {
        let output = planai_lsp(&args, dir.path());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_ne!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.contains("not a regular file"), "{args:?}: {stderr}");
    }
}
