//! Shared fixtures for integration tests: the test venv with planai 0.7.1 and a plain Python.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The cargo target directory (the venv lives there, shared by all worktrees using it).
fn target_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).to_path_buf()
}

/// The python of the shared test venv (planai==0.7.1), created once per machine by
/// `scripts/ensure-test-venv.sh` (flock-guarded, idempotent). `PLANAI_TEST_PYTHON` overrides.
/// Panics with instructions if there is none.
pub fn test_venv_python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(find_or_create_test_venv).clone()
}

fn find_or_create_test_venv() -> PathBuf {
    if let Some(python) = std::env::var_os("PLANAI_TEST_PYTHON") {
        let python = PathBuf::from(python);
        assert!(
            python.is_file(),
            "PLANAI_TEST_PYTHON={} does not exist",
            python.display()
        );
        return python;
    }
    let venv = target_dir().join("test-venv");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/ensure-test-venv.sh");
    if script.is_file() {
        let output = Command::new("bash")
            .arg(&script)
            .env("PLANAI_TEST_VENV", &venv)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        let stdout = String::from_utf8_lossy(&output.stdout);
        let python = stdout.lines().rev().find(|l| !l.trim().is_empty());
        match (output.status.success(), python) {
            (true, Some(python)) => return PathBuf::from(python.trim()),
            _ => panic!(
                "{} failed ({}):\n{}",
                script.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ),
        }
    }
    // Until the script is on this branch: a venv it already built in the shared target dir.
    let python = venv.join("bin/python");
    if venv.join(".planai-ready").is_file() && python.is_file() {
        return python;
    }
    panic!(
        "No test venv with planai 0.7.1: run `scripts/ensure-test-venv.sh` (it builds {}) or set \
         PLANAI_TEST_PYTHON to a python that has planai 0.7.1 installed.",
        venv.display()
    );
}

/// A real interpreter without planai: what `python3` on PATH really is (pyenv shims resolved).
/// None if there is none or it can import planai.
pub fn python_without_planai() -> Option<PathBuf> {
    static PYTHON: OnceLock<Option<PathBuf>> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let output = Command::new("python3")
                .args([
                    "-I",
                    "-c",
                    "import importlib.util, sys; print(sys.executable if importlib.util.find_spec('planai') is None else '')",
                ])
                .output()
                .ok()?;
            let path = String::from_utf8_lossy(&output.stdout).trim().to_string();
            (!path.is_empty()).then(|| PathBuf::from(path))
        })
        .clone()
}

/// Every file and directory under `root` with its bytes (directories as None).
pub fn snapshot(root: &Path) -> std::collections::BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            if path.is_dir() {
                out.insert(rel, None);
                stack.push(path);
            } else {
                out.insert(rel, Some(std::fs::read(&path).unwrap()));
            }
        }
    }
    out
}
