//! Python and processes for integration tests (`mod venv_and_processes;`): the shared test
//! venv with planai 0.7.1 ([`test_venv_python`]), a plain Python without it
//! ([`python_without_planai`]), workspace snapshots, and the process accounting of the
//! containment tests ([`Leftovers`], `/proc` walks, [`wait_until`]). Used by `python_envs.rs`,
//! `python_helper.rs`, `python_service.rs` and `lsp_venv.rs`.
//!
//! The LSP client (in-process and binary sessions) is in `tests/lsp_client`.
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

// ---------------------------------------------------------------------------------------------
// Counting processes (Linux /proc): nothing a validation starts may outlive it.

/// The start time (clock ticks since boot) of `pid`, telling it apart from a later process
/// that got the same pid.
pub fn proc_start_time(pid: u32) -> Option<u64> {
    let data = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &data[data.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The nice value of `pid` (field 19 of /proc/<pid>/stat).
pub fn proc_niceness(pid: u32) -> Option<i32> {
    let data = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &data[data.rfind(')')? + 1..];
    rest.split_whitespace().nth(16)?.parse().ok()
}

/// The session id of `pid` (field 6 of /proc/<pid>/stat).
pub fn proc_session(pid: u32) -> Option<u32> {
    let data = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &data[data.rfind(')')? + 1..];
    rest.split_whitespace().nth(3)?.parse().ok()
}

/// The scheduling policy of `pid` (field 41 of /proc/<pid>/stat: 0 normal, 5 idle).
pub fn proc_policy(pid: u32) -> Option<u32> {
    let data = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &data[data.rfind(')')? + 1..];
    rest.split_whitespace().nth(38)?.parse().ok()
}

/// Whether `pid` exists and is not a zombie.
pub fn proc_alive(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|data| {
            let close = data.iter().rposition(|&b| b == b')')?;
            data.get(close + 2).copied()
        })
        .is_some_and(|state| state != b'Z' && state != b'X')
}

/// The parent of `pid`, if it exists.
pub fn proc_parent(pid: u32) -> Option<u32> {
    let data = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &data[data.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Every process's pid and /proc entry.
fn proc_entries() -> impl Iterator<Item = (u32, std::fs::DirEntry)> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((pid, entry))
        })
}

/// The live descendants of `root` with their start times (a /proc scan).
pub fn proc_descendants(root: u32) -> Vec<(u32, u64)> {
    let mut by_parent: std::collections::HashMap<u32, Vec<u32>> = Default::default();
    for (pid, _) in proc_entries() {
        if let Some(parent) = proc_parent(pid).filter(|_| proc_alive(pid)) {
            by_parent.entry(parent).or_default().push(pid);
        }
    }
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(parent) = stack.pop() {
        for &pid in by_parent.get(&parent).into_iter().flatten() {
            if let Some(started) = proc_start_time(pid) {
                out.push((pid, started));
            }
            stack.push(pid);
        }
    }
    out
}

/// Children of `parent` that have exited but not been reaped.
pub fn zombie_children(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for (pid, _) in proc_entries() {
        if proc_parent(pid) == Some(parent) && !proc_alive(pid) {
            out.push(pid);
        }
    }
    out
}

/// Those of `processes` (pid, start time) that still run.
pub fn still_running(processes: &[(u32, u64)]) -> Vec<u32> {
    processes
        .iter()
        .filter(|&&(pid, started)| proc_alive(pid) && proc_start_time(pid) == Some(started))
        .map(|&(pid, _)| pid)
        .collect()
}

/// Live processes (other than this one) whose command line contains `marker`.
pub fn marked_processes(marker: &str) -> Vec<u32> {
    let needle = marker.as_bytes();
    let me = std::process::id();
    let mut out = Vec::new();
    for (pid, entry) in proc_entries() {
        if pid == me {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if cmdline.windows(needle.len()).any(|w| w == needle) && proc_alive(pid) {
            out.push(pid);
        }
    }
    out
}

/// Polls `done` every 20 ms until it holds; panics with `what` after `timeout`.
pub async fn wait_until(timeout: std::time::Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Loops forever (in a validation child) after `SPAWNER`'s setup.
pub const SPIN: &str = "while True:\n    time.sleep(0.02)\n";

/// A module that leaves processes behind, for a validation to run: a
/// `start_new_session=True` sleeper and a double-forked setsid daemon, then `tail`. Each pid
/// is noted as a file `<kind>-<pid>` (kinds `child`, `session`, `daemon`) in a directory, and
/// the sleepers carry a marker on their command line.
pub struct Leftovers {
    dir: tempfile::TempDir,
    pub marker: String,
}

impl Leftovers {
    pub fn new(name: &str) -> Self {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self {
            dir: tempfile::tempdir().unwrap(),
            marker: format!("planai-lsp-test-mark-{}-{name}-{n}", std::process::id()),
        }
    }

    /// The module's source, running `tail` (e.g. [`SPIN`]) after starting the sleepers. It
    /// imports planai, so the server validates it.
    pub fn module(&self, tail: &str) -> String {
        format!(
            r#"# a module whose validation leaves processes behind
import os, planai, subprocess, sys, time
MARK = {marker:?}
DIR = {dir:?}
def note(kind, pid):
    with open("/proc/%d/stat" % pid) as fh:
        started = fh.read().rsplit(")", 1)[1].split()[19]
    open(os.path.join(DIR, "%s-%d-%s" % (kind, pid, started)), "w").close()
note("child", os.getpid())
sleeper = [sys.executable, "-c", "import time; time.sleep(1000)", MARK]
p = subprocess.Popen(sleeper, start_new_session=True, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
note("session", p.pid)
r, w = os.pipe()
middle = os.fork()
if middle == 0:
    os.setsid()
    daemon = os.fork()
    if daemon == 0:
        os.execv(sys.executable, sleeper)
    with open("/proc/%d/stat" % daemon) as fh:
        started = fh.read().rsplit(")", 1)[1].split()[19]
    os.write(w, ("%d %s" % (daemon, started)).encode())
    os._exit(0)
os.waitpid(middle, 0)
daemon, started = os.read(r, 64).decode().split()
open(os.path.join(DIR, "daemon-%s-%s" % (daemon, started)), "w").close()
{tail}"#,
            marker = self.marker,
            dir = self.dir.path().display().to_string(),
        )
    }

    /// (pid, start time) of the processes noted so far (of one kind, or all).
    fn noted_with_start(&self, kind: Option<&str>) -> Vec<(u32, u64)> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(self.dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            let mut parts = name.split('-');
            let (Some(k), Some(pid), Some(started)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            if kind.is_none_or(|kind| kind == k) {
                if let (Ok(pid), Ok(started)) = (pid.parse(), started.parse()) {
                    out.push((pid, started));
                }
            }
        }
        out
    }

    /// Pids noted so far (of one kind, or all).
    pub fn noted(&self, kind: Option<&str>) -> Vec<u32> {
        self.noted_with_start(kind)
            .into_iter()
            .map(|(pid, _)| pid)
            .collect()
    }

    /// Noted processes (of one kind, or all) that are still alive: same pid, same start time.
    pub fn alive_noted(&self, kind: Option<&str>) -> Vec<u32> {
        self.noted_with_start(kind)
            .into_iter()
            .filter(|&(pid, started)| proc_alive(pid) && proc_start_time(pid) == Some(started))
            .map(|(pid, _)| pid)
            .collect()
    }

    /// Noted or marked processes still alive.
    pub fn alive(&self) -> Vec<u32> {
        let mut out = self.alive_noted(None);
        for pid in marked_processes(&self.marker) {
            if !out.contains(&pid) {
                out.push(pid);
            }
        }
        out
    }

    /// Waits until `count` validations have started all their processes.
    pub async fn wait_started(&self, count: usize, timeout: std::time::Duration) {
        wait_until(timeout, &format!("{count} validations to start"), || {
            self.noted(Some("daemon")).len() >= count
        })
        .await;
    }

    /// Waits until every noted and marked process is gone.
    pub async fn wait_all_gone(&self, timeout: std::time::Duration) {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let alive = self.alive();
            if alive.is_empty() {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "still alive after {timeout:?}: {alive:?} (noted: {:?})",
                self.noted(None)
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Leftovers {
    /// Never leak processes from a failed test.
    fn drop(&mut self) {
        for pid in self.alive() {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
    }
}
