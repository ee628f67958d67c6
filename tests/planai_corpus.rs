//! Zero false positives on real PlanAI code: analyses every module of the planai 0.7.1 wheel
//! and sdist and of the planaieditor 0.2 sdist (its code snippets are PlanAI workflows that
//! import planai as a dependency), downloaded once with pip and cached under
//! `<target>/planai-corpus/`, and fails on any PlanAI error or warning. The sdist's `tests/` directories (deliberately invalid
//! workers, written to fail) are excluded.

use std::path::{Path, PathBuf};
use std::process::Command;

use planai_lsp::analysis::AnalysisHost;
use planai_lsp::workspace;

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// Holds an exclusive `flock` on a file for as long as it lives.
struct FileLock(std::fs::File);

impl FileLock {
    fn acquire(path: &Path) -> FileLock {
        use std::os::unix::io::AsRawFd;
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .expect("open corpus lock file");
        // SAFETY: flock on a valid, owned file descriptor.
        let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(rc, 0, "flock {}", path.display());
        FileLock(f)
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        use std::os::unix::io::AsRawFd;
        // SAFETY: as above.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed (is the network available? the corpus test needs PyPI once):\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Downloads and unpacks the wheel and sdist once; returns the unpacked directory.
fn corpus() -> PathBuf {
    let base = target_dir().join("planai-corpus");
    std::fs::create_dir_all(&base).unwrap();
    let _lock = FileLock::acquire(&base.join(".lock"));
    let unpacked = base.join("unpacked");
    // Bump the marker when the set of downloads changes.
    if unpacked.join(".done-2").exists() {
        return unpacked;
    }
    let dl = base.join("download");
    for (sub, requirement, flag) in [
        ("wheel", "planai==0.7.1", "--only-binary=:all:"),
        ("sdist", "planai==0.7.1", "--no-binary=:all:"),
        ("editor", "planaieditor==0.2", "--no-binary=:all:"),
    ] {
        let dir = dl.join(sub);
        run(
            Command::new("python3")
                .args([
                    "-m",
                    "pip",
                    "download",
                    requirement,
                    "--no-deps",
                    flag,
                    "-d",
                ])
                .arg(&dir),
            &format!("pip download {requirement}"),
        );
    }
    let _ = std::fs::remove_dir_all(&unpacked);
    std::fs::create_dir_all(&unpacked).unwrap();
    let script = r#"
import sys, os, glob, zipfile, tarfile
dl, out = sys.argv[1], sys.argv[2]
for w in glob.glob(os.path.join(dl, "wheel", "*.whl")):
    zipfile.ZipFile(w).extractall(os.path.join(out, "wheel"))
for sub in ("sdist", "editor"):
    for s in glob.glob(os.path.join(dl, sub, "*.tar.gz")):
        with tarfile.open(s) as t:
            t.extractall(os.path.join(out, sub))
"#;
    run(
        Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(&dl)
            .arg(&unpacked),
        "unpacking the planai corpus",
    );
    std::fs::write(unpacked.join(".done-2"), b"ok").unwrap();
    unpacked
}

fn is_under_tests(p: &Path, root: &Path) -> bool {
    p.strip_prefix(root)
        .map(|r| r.components().any(|c| c.as_os_str() == "tests"))
        .unwrap_or(false)
}

#[test]
fn planai_package_and_examples_have_no_planai_diagnostics() {
    let corpus = corpus();
    let mut problems = Vec::new();
    let mut analysed = 0;
    let mut editor_files = 0;
    // Each distribution is its own workspace (the sdist has a `src/` layout).
    let mut roots: Vec<PathBuf> = vec![corpus.join("wheel")];
    for sub in ["sdist", "editor"] {
        if let Ok(rd) = std::fs::read_dir(corpus.join(sub)) {
            roots.extend(rd.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
        }
    }
    for root in roots {
        let files: Vec<PathBuf> = workspace::discover_python_files(std::slice::from_ref(&root))
            .into_iter()
            .filter(|p| !is_under_tests(p, &root))
            .collect();
        let mut host = AnalysisHost::new();
        host.set_roots(vec![root.clone()]);
        host.insert_files(workspace::load_files(&files));
        if root.starts_with(corpus.join("editor")) {
            editor_files += files.len();
        }
        for f in &files {
            analysed += 1;
            let text = std::fs::read_to_string(f).unwrap_or_default();
            for d in host.file_diagnostics(f) {
                let line = text[..d.range.start().min(text.len())]
                    .matches('\n')
                    .count()
                    + 1;
                problems.push(format!(
                    "{}:{line}: {} {}: {}",
                    f.strip_prefix(&corpus).unwrap_or(f).display(),
                    d.severity,
                    d.code,
                    d.message
                ));
            }
        }
    }
    assert!(
        editor_files >= 10,
        "expected the planaieditor sdist in the corpus, got {editor_files} files"
    );
    assert!(
        analysed > 40,
        "expected the planai corpus to have many modules, got {analysed}"
    );
    assert!(
        problems.is_empty(),
        "{} false positive(s) on real PlanAI code:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
