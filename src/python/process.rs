//! Process containment shared by the probe and the helper.
//!
//! Process groups alone do not contain Python code: user code can `setsid()` (for example
//! `subprocess.Popen(..., start_new_session=True)`) or double-fork out of them. So on Linux:
//! - [`kill_tree`] walks `/proc` from a root pid, SIGSTOPs every descendant (root first, so
//!   nothing can fork or reparent out of sight), repeats until the walk finds nothing new and
//!   all have stopped, then SIGKILLs them all;
//! - the server makes itself a child subreaper ([`become_subreaper`]): whatever is orphaned
//!   below it (the grandchildren of a helper that was SIGKILLed) is reparented to it instead of
//!   init, so [`reap_orphans`] can kill and reap it, and [`kill_all_descendants`] leaves
//!   nothing behind when the server exits;
//! - every process we spawn is registered ([`spawn`]), so a direct child that is not
//!   registered is known to be an adopted orphan.
//!
//! The helper does the same one level down (see `helper.py`: it is a subreaper, its children
//! die with it through `PR_SET_PDEATHSIG`). Every process we start also leads its own process
//! group, which is what non-Linux unixes fall back to.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// Makes `command` start a new process group (unix) and die with its `Child` handle.
pub(crate) fn isolate(command: &mut Command) {
    #[cfg(unix)]
    command.process_group(0);
    command.kill_on_drop(true);
}

/// Like [`isolate`], but the child starts a session of its own (which makes it a process
/// group leader too): for background work (runs). Linux schedules each session as a group
/// (autogroup, on by default): a busy child in our session would use up our session's share
/// of the CPU, and the server, though nicer to it, would wait for its session's turn behind
/// other sessions' work.
pub(crate) fn isolate_in_session(command: &mut Command) {
    command.kill_on_drop(true);
    // SAFETY: setsid is async-signal-safe; the closure touches no memory.
    #[cfg(unix)]
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Pids of the processes we spawned and have not reaped yet.
fn registry() -> &'static Mutex<HashSet<u32>> {
    static REGISTRY: OnceLock<Mutex<HashSet<u32>>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(HashSet::new()))
}

/// Spawns `command` and registers its pid (under the registry lock, so an orphan sweep never
/// mistakes a process being spawned for an orphan). Call [`forget`] once it has been reaped.
pub(crate) fn spawn(command: &mut Command) -> std::io::Result<Child> {
    let mut registry = registry().lock().unwrap_or_else(|e| e.into_inner());
    let child = command.spawn()?;
    if let Some(pid) = child.id() {
        registry.insert(pid);
    }
    Ok(child)
}

/// The process `pid` (spawned with [`spawn`]) has been reaped or handed to tokio's reaper.
pub(crate) fn forget(pid: Option<u32>) {
    if let Some(pid) = pid {
        registry()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&pid);
    }
}

static SUBREAPER: AtomicBool = AtomicBool::new(false);

/// Makes this process a child subreaper (Linux), so orphans below it are reparented to it and
/// can be killed and reaped. Only for a process that owns all its children through [`spawn`]
/// (the server binary; not a test harness). Returns whether it worked.
pub fn become_subreaper() -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) takes plain integers and touches no memory.
        let ok = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } == 0;
        SUBREAPER.store(ok, Ordering::SeqCst);
        ok
    }
    #[cfg(not(target_os = "linux"))]
    false
}

fn is_subreaper() -> bool {
    SUBREAPER.load(Ordering::SeqCst)
}

/// SIGKILLs the group right away (used from `Drop`, where we cannot wait).
pub(crate) fn kill_group_now(pgid: u32) {
    #[cfg(unix)]
    signal_group(pgid, libc::SIGKILL);
    #[cfg(not(unix))]
    let _ = pgid;
}

/// Sends `signal` to the process group led by `pgid`. Returns false if there is no such group.
#[cfg(unix)]
pub(crate) fn signal_group(pgid: u32, signal: libc::c_int) -> bool {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return false;
    };
    // pgid 0 or 1 would address our own group or init's; never do that.
    if pgid <= 1 {
        return false;
    }
    // SAFETY: killpg has no memory-safety preconditions; a stale pgid yields ESRCH.
    unsafe { libc::killpg(pgid, signal) == 0 }
}

/// Sends `signal` to one process. Returns false if there is no such process.
#[cfg(unix)]
pub(crate) fn signal_process(pid: u32, signal: libc::c_int) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 1 {
        return false;
    }
    // SAFETY: kill has no memory-safety preconditions; a stale pid yields ESRCH.
    unsafe { libc::kill(pid, signal) == 0 }
}

/// One process as `/proc/<pid>/stat` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ProcStat {
    state: u8,
    ppid: u32,
}

impl ProcStat {
    /// Stopped, dead or a zombie: it can no longer fork.
    fn settled(self) -> bool {
        matches!(self.state, b'T' | b't' | b'Z' | b'X')
    }

    fn zombie(self) -> bool {
        matches!(self.state, b'Z' | b'X')
    }
}

fn proc_stat(pid: u32) -> Option<ProcStat> {
    let data = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&data)
}

/// `PF_EXITING` in the flags of `/proc/<pid>/stat`: the process is tearing itself down.
const PF_EXITING: u64 = 0x4;

/// Parses `pid (comm) S ppid pgrp session tty tpgid flags …`; `comm` may contain spaces and
/// parentheses. A process that is exiting (it can no longer fork) gets state `X`.
fn parse_stat(data: &[u8]) -> Option<ProcStat> {
    let close = data.iter().rposition(|&b| b == b')')?;
    let fields: Vec<&[u8]> = data
        .get(close + 1..)?
        .split(|b| b.is_ascii_whitespace())
        .filter(|f| !f.is_empty())
        .take(7)
        .collect();
    let number = |field: &[u8]| -> Option<u64> { std::str::from_utf8(field).ok()?.parse().ok() };
    let mut state = *fields.first()?.first()?;
    let ppid = u32::try_from(number(fields.get(1)?)?).ok()?;
    if fields
        .get(6)
        .and_then(|f| number(f))
        .is_some_and(|flags| flags & PF_EXITING != 0)
        && state != b'Z'
    {
        state = b'X';
    }
    Some(ProcStat { state, ppid })
}

fn have_proc() -> bool {
    static HAVE: OnceLock<bool> = OnceLock::new();
    *HAVE.get_or_init(|| {
        cfg!(target_os = "linux") && std::path::Path::new("/proc/self/stat").exists()
    })
}

/// Whether `/proc/<pid>/task/<tid>/children` exists (CONFIG_PROC_CHILDREN).
fn have_children_files() -> bool {
    static HAVE: OnceLock<bool> = OnceLock::new();
    *HAVE.get_or_init(|| {
        let pid = std::process::id();
        std::path::Path::new(&format!("/proc/{pid}/task/{pid}/children")).exists()
    })
}

/// The direct children (zombies included) of each of `parents`, in the same order.
fn children_of(parents: &[u32]) -> Vec<Vec<u32>> {
    if have_children_files() {
        return parents
            .iter()
            .map(|&pid| children_from_task_files(pid))
            .collect();
    }
    let mut by_parent: std::collections::HashMap<u32, Vec<u32>> = Default::default();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(stat) = proc_stat(pid) {
                by_parent.entry(stat.ppid).or_default().push(pid);
            }
        }
    }
    parents
        .iter()
        .map(|pid| by_parent.remove(pid).unwrap_or_default())
        .collect()
}

fn children_from_task_files(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(
                text.split_ascii_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    out
}

/// SIGKILLs every process below `root` (and `root` itself with `include_root`), whatever its
/// process group or session: all are SIGSTOPped first (root first) and the tree is walked
/// again until a walk finds nothing new and every member has stopped, so nothing forks or
/// escapes in between. Does not reap. Returns the pids signalled. Without `/proc` it falls
/// back to the process group `root` leads.
pub(crate) fn kill_tree(root: u32, include_root: bool) -> Vec<u32> {
    #[cfg(unix)]
    {
        if !have_proc() {
            if !include_root {
                return Vec::new();
            }
            signal_group(root, libc::SIGKILL);
            signal_process(root, libc::SIGKILL);
            return vec![root];
        }
        if include_root {
            signal_process(root, libc::SIGSTOP);
        }
        let mut found = vec![root];
        let mut known: HashSet<u32> = found.iter().copied().collect();
        let deadline = Instant::now() + Duration::from_millis(500);
        loop {
            let mut added = false;
            for children in children_of(&found) {
                for pid in children {
                    if known.insert(pid) {
                        signal_process(pid, libc::SIGSTOP);
                        found.push(pid);
                        added = true;
                    }
                }
            }
            if added {
                continue;
            }
            let members = if include_root {
                &found[..]
            } else {
                &found[1..]
            };
            let settled = members
                .iter()
                .all(|&pid| proc_stat(pid).is_none_or(ProcStat::settled));
            if settled || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        if !include_root {
            found.remove(0);
        }
        for &pid in &found {
            signal_process(pid, libc::SIGKILL);
        }
        found
    }
    #[cfg(not(unix))]
    {
        let _ = (root, include_root);
        Vec::new()
    }
}

/// Kills and reaps the direct children of this process that we did not spawn: orphans
/// reparented to us because we are a subreaper (e.g. what a SIGKILLed helper's children had
/// started). A no-op unless [`become_subreaper`] succeeded. Blocking (reads `/proc`, may wait
/// up to `wait` for the killed to die); returns how many were found.
pub(crate) fn reap_orphans(wait: Duration) -> usize {
    if !is_subreaper() || !have_proc() {
        return 0;
    }
    let me = std::process::id();
    let orphans: Vec<u32> = {
        let registry = registry().lock().unwrap_or_else(|e| e.into_inner());
        children_of(&[me])
            .pop()
            .unwrap_or_default()
            .into_iter()
            .filter(|pid| !registry.contains(pid))
            .collect()
    };
    for &pid in &orphans {
        if proc_stat(pid).is_some_and(|s| !s.zombie()) {
            tracing::info!(target: "planai_lsp::helper", pid, "killing an orphaned process tree");
            kill_tree(pid, true);
        }
    }
    let deadline = Instant::now() + wait;
    let mut left: Vec<u32> = orphans.clone();
    while !left.is_empty() {
        left.retain(|&pid| !reap_now(pid));
        if left.is_empty() || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    orphans.len()
}

/// Reaps `pid` if it has exited; true when it is gone (reaped now or not our child).
fn reap_now(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(raw) = libc::pid_t::try_from(pid) else {
            return true;
        };
        let mut status = 0;
        // SAFETY: waitpid writes only into `status`.
        let reaped = unsafe { libc::waitpid(raw, &mut status, libc::WNOHANG) };
        reaped != 0
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// Sweeps orphans a few times after a helper exited: its children die by their parent-death
/// signal, and what they started reaches us only once they are gone.
pub(crate) fn sweep_orphans_after_exit() {
    if !is_subreaper() {
        return;
    }
    tokio::spawn(async {
        for delay in [0, 50, 250, 1000, 3000] {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            let _ = tokio::task::spawn_blocking(|| reap_orphans(Duration::from_millis(500))).await;
        }
    });
}

/// Kills every descendant of this process (when the server exits): SIGSTOP the whole tree,
/// SIGKILL it, then wait up to `wait` for them to die, reaping our own children.
pub fn kill_all_descendants(wait: Duration) {
    if !have_proc() {
        return;
    }
    let me = std::process::id();
    let victims = kill_tree(me, false);
    if victims.is_empty() {
        return;
    }
    tracing::info!(target: "planai_lsp::helper", count = victims.len(), "killed every remaining child process");
    let deadline = Instant::now() + wait;
    let mut left = victims;
    loop {
        left.retain(|&pid| {
            if proc_stat(pid).is_some_and(|s| s.ppid == me) {
                reap_now(pid);
            }
            proc_stat(pid).is_some_and(|s| !s.zombie())
        });
        if left.is_empty() || Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_lines_with_odd_command_names() {
        assert_eq!(
            parse_stat(b"42 (py (x) y) S 7 42 42 0 -1 4194560 0"),
            Some(ProcStat {
                state: b'S',
                ppid: 7
            })
        );
        // PF_EXITING in the flags: on its way out.
        assert_eq!(
            parse_stat(b"42 (python) R 7 42 42 0 -1 4194628 0").map(|s| s.state),
            Some(b'X')
        );
        assert_eq!(parse_stat(b"garbage"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn kill_tree_gets_descendants_in_other_sessions() {
        // sh starts a setsid'd sleeper (another session and group) and waits for it.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "setsid sleep 1000 & echo ready; wait"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let root = child.id();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let alive = |pid: u32| proc_stat(pid).is_some_and(|s| !s.zombie());
        let deadline = Instant::now() + Duration::from_secs(10);
        let below = loop {
            let below: Vec<u32> = children_of(&[root]).pop().unwrap();
            if !below.is_empty() {
                break below;
            }
            assert!(Instant::now() < deadline, "the sleeper did not start");
            std::thread::sleep(Duration::from_millis(10));
        };
        let killed = kill_tree(root, true);
        assert!(killed.contains(&root));
        for pid in &below {
            assert!(killed.contains(pid), "{pid} not in {killed:?}");
        }
        child.wait().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while below.iter().any(|&pid| alive(pid)) {
            assert!(Instant::now() < deadline, "descendants survived");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
