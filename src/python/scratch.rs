//! Names of the temp entries (scratch directories, scripts) that the processes we start need.
//!
//! Each name carries our pid, `planai-lsp-<kind>-<pid>-<random>`: we remove our entries when
//! their process ends, but a planai-lsp that dies first (SIGKILL, a crash, an editor that kills
//! its servers) cannot. The first time a process asks for a name, it removes the entries of
//! planai-lsp processes that no longer exist, so the temp dir does not fill up over weeks of
//! editor sessions.

use std::path::Path;
use std::sync::Once;
use std::time::{Duration, SystemTime};

/// The kinds of entries, each a word without `-` (the name is split at them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScratchKind {
    /// The helper's working directory (and its TMPDIR).
    Helper,
    /// The helper's script.
    HelperScript,
    /// The environment probe's working directory.
    Probe,
    /// A run's working directory (when runs go to the system temp dir).
    Run,
    /// A run's script.
    RunScript,
}

const KINDS: [ScratchKind; 5] = [
    ScratchKind::Helper,
    ScratchKind::HelperScript,
    ScratchKind::Probe,
    ScratchKind::Run,
    ScratchKind::RunScript,
];

const NAME_START: &str = "planai-lsp-";

/// An entry younger than this is never removed: its owner may be a planai-lsp whose pid we
/// cannot see (another pid namespace sharing the temp dir) that has just made it.
const MIN_AGE_TO_REMOVE: Duration = Duration::from_secs(60);

impl ScratchKind {
    fn word(self) -> &'static str {
        match self {
            ScratchKind::Helper => "helper",
            ScratchKind::HelperScript => "helperscript",
            ScratchKind::Probe => "probe",
            ScratchKind::Run => "run",
            ScratchKind::RunScript => "runscript",
        }
    }

    /// The prefix for `tempfile::Builder::prefix`: `planai-lsp-<kind>-<our pid>-`. Removes the
    /// leftovers of dead planai-lsp processes the first time it is called in this process.
    pub(crate) fn prefix(self) -> String {
        static SWEEP: Once = Once::new();
        SWEEP.call_once(|| {
            remove_leftovers(&std::env::temp_dir(), MIN_AGE_TO_REMOVE);
        });
        format!("{NAME_START}{}-{}-", self.word(), std::process::id())
    }
}

/// The pid in `name` when it is one of our entries' names.
fn owner_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(NAME_START)?;
    let mut parts = rest.splitn(3, '-');
    let kind = parts.next()?;
    let pid = parts.next()?;
    let random = parts.next()?;
    if random.is_empty() || !KINDS.iter().any(|k| k.word() == kind) {
        return None;
    }
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

#[cfg(unix)]
fn process_exists(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return true; // never a real owner: keep, do not signal a group
    }
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(not(unix))]
fn process_exists(_pid: u32) -> bool {
    true
}

/// Removes from `dir` the entries whose owner process is gone and that are at least `min_age`
/// old. Returns how many it removed. Failures (another user's entry, a race with its owner or
/// another sweeper) leave the entry.
pub(crate) fn remove_leftovers(dir: &Path, min_age: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(owner_pid) else {
            continue;
        };
        if pid == std::process::id() || process_exists(pid) {
            continue;
        }
        // symlink_metadata: an entry that is a symlink is removed as a link, never followed.
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        let age = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .unwrap_or_default();
        if age < min_age {
            continue;
        }
        let gone = if meta.is_dir() {
            std::fs::remove_dir_all(entry.path())
        } else {
            std::fs::remove_file(entry.path())
        };
        if gone.is_ok() {
            removed += 1;
        }
    }
    if removed > 0 {
        tracing::info!(removed, dir = %dir.display(), "removed temp entries of planai-lsp processes that no longer exist");
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn names_carry_the_kind_and_our_pid() {
        let prefix = ScratchKind::Helper.prefix();
        assert_eq!(prefix, format!("planai-lsp-helper-{}-", std::process::id()));
        assert_eq!(
            owner_pid(&format!("{prefix}Ab12cd")),
            Some(std::process::id())
        );
        for kind in KINDS {
            assert_eq!(
                owner_pid(&format!("{}x1.py", kind.prefix())),
                Some(std::process::id())
            );
        }
    }

    #[test]
    fn names_of_others_are_not_ours() {
        for name in [
            "planai-lsp-helper-Ab12cd", // a name without a pid (older versions, helper.py)
            "planai-lsp-helper-12-",
            "planai-lsp-other-12-abc",
            "planai-lsp-helper--abc",
            "planai-lsp-helper-1x2-abc",
            "planai-lsp",
            "planai-cargo.lock",
            "h2.py",
        ] {
            assert_eq!(owner_pid(name), None, "{name}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn only_the_leftovers_of_dead_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let dead = dead_pid();
        let ours = std::process::id();
        let parent = std::os::unix::process::parent_id();
        let make_dir = |name: &str| {
            std::fs::create_dir(dir.path().join(name)).unwrap();
            std::fs::write(dir.path().join(name).join("inside"), "x").unwrap();
        };
        make_dir(&format!("planai-lsp-helper-{dead}-aaaaaa"));
        make_dir(&format!("planai-lsp-helper-{ours}-bbbbbb"));
        make_dir(&format!("planai-lsp-probe-{parent}-cccccc"));
        make_dir("planai-lsp-helper-dddddd");
        std::fs::write(
            dir.path().join(format!("planai-lsp-runscript-{dead}-e.py")),
            "",
        )
        .unwrap();
        std::fs::write(dir.path().join("unrelated.py"), "").unwrap();
        // A symlink to a directory of value: the link goes, its target stays.
        let target = tempfile::tempdir().unwrap();
        std::fs::write(target.path().join("keep"), "x").unwrap();
        std::os::unix::fs::symlink(
            target.path(),
            dir.path().join(format!("planai-lsp-run-{dead}-link")),
        )
        .unwrap();

        // Too young: nothing goes yet.
        assert_eq!(remove_leftovers(dir.path(), Duration::from_secs(3600)), 0);
        assert_eq!(remove_leftovers(dir.path(), Duration::ZERO), 3);

        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let mut expected = vec![
            format!("planai-lsp-helper-{ours}-bbbbbb"),
            format!("planai-lsp-probe-{parent}-cccccc"),
            "planai-lsp-helper-dddddd".to_string(),
            "unrelated.py".to_string(),
        ];
        expected.sort();
        assert_eq!(left, expected);
        assert!(target.path().join("keep").exists());
    }
}
