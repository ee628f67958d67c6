//! Process-group plumbing shared by the probe and the helper: every Python process we start is
//! the leader of its own process group, so killing the group also kills whatever it forked.

use tokio::process::Command;

/// Makes `command` start a new process group (unix) and die with its `Child` handle.
pub(crate) fn isolate(command: &mut Command) {
    #[cfg(unix)]
    command.process_group(0);
    command.kill_on_drop(true);
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

/// SIGKILLs the group right away (used from `Drop`, where we cannot wait).
pub(crate) fn kill_group_now(pgid: u32) {
    #[cfg(unix)]
    signal_group(pgid, libc::SIGKILL);
    #[cfg(not(unix))]
    let _ = pgid;
}
