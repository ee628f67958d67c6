//! Starting one runner process: a fresh interpreter (never the warm validation helper) in a
//! scratch working directory and its own process group, dying with us (`PR_SET_PDEATHSIG`),
//! with the event pipe's write end as fd 3 and the configuration on stdin.
//!
//! A run is background work: the editing user's keystrokes must win the CPU. With a
//! niceness, the runner starts nicer than us, in a session of its own and (Linux) with the
//! idle scheduling policy: Linux schedules sessions as groups (autogroup), so nice alone would
//! only order it behind us *within* our session's share, which the run would still use up; its
//! own session (niced too) takes its CPU from its own share; and a thread of ours that wakes
//! up preempts an idle-policy task at once rather than at the end of its time slice.
//!
//! Spawning goes through `python::process::spawn`, so the process is registered like the
//! helper's and the containment there (subreaper, `kill_tree`) applies to it.

use crate::python::process;
use crate::python::scratch::ScratchKind;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use tokio::process::{Child, Command};

/// The fd number the runner finds its event pipe on.
pub const EVENT_FD: i32 = 3;

/// A started runner: the process and the read end of its event pipe.
pub struct Launched {
    pub child: Child,
    pub events: std::fs::File,
    /// The script's temp file, kept until the process is gone.
    pub _script: Option<tempfile::TempPath>,
}

/// A pipe whose both ends are close-on-exec (the write end becomes fd 3 in the child only).
fn event_pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 writes two fds into the array we pass.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both fds were just returned by pipe2 and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Spawns `interpreter… -B -u <runner>` in `cwd`, `niceness` steps nicer than we are (0: as
/// nice as we are; the whole tree the runner starts inherits it). Must run on a thread that
/// outlives the child (a tokio runtime thread, not a blocking-pool thread): the parent-death
/// signal fires when the *thread* that forked it exits.
pub fn launch(
    interpreter: &[String],
    script: &str,
    cwd: &Path,
    extra_env: &[(String, String)],
    niceness: i32,
) -> std::io::Result<Launched> {
    let Some((program, interpreter_args)) = interpreter.split_first() else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the Python interpreter command is empty",
        ));
    };
    let mut command = Command::new(program);
    command.args(interpreter_args).args(["-B", "-u"]);
    // Multi-word interpreters (`uv run python`, containers) may not see our temp files.
    let script_file = if interpreter.len() > 1 {
        command.arg("-c").arg(script);
        None
    } else {
        let mut file = tempfile::Builder::new()
            .prefix(&ScratchKind::RunScript.prefix())
            .suffix(".py")
            .tempfile()?;
        std::io::Write::write_all(&mut file, script.as_bytes())?;
        let path = file.into_temp_path();
        command.arg(path.as_os_str());
        Some(path)
    };
    for (key, value) in extra_env {
        command.env(key, value);
    }
    command
        .current_dir(cwd)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if niceness > 0 {
        process::isolate_in_session(&mut command);
    } else {
        process::isolate(&mut command);
    }
    // The autogroup's nice value, as text, made before the fork.
    let autogroup_nice = niceness.clamp(0, 19).to_string().into_bytes();

    let (read_end, write_end) = event_pipe()?;
    let write_fd = write_end.as_raw_fd();
    let parent = std::process::id();
    // SAFETY: the closure runs between fork and exec and only calls async-signal-safe
    // functions (dup2, fcntl, sigemptyset, sigprocmask, getpriority, setpriority, open,
    // write, close, prctl, getppid, _exit) on plain integers, a local signal set and buffers
    // made before the fork.
    unsafe {
        command.pre_exec(move || {
            if write_fd == EVENT_FD {
                // dup2 onto itself keeps close-on-exec: clear it instead.
                if libc::fcntl(EVENT_FD, libc::F_SETFD, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if libc::dup2(write_fd, EVENT_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // A caller that waits for signals with sigwait (the CLI) has them blocked; the
            // mask is inherited through exec, and the user's code must get them normally.
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
            if niceness > 0 {
                // Relative to ours, like `nice -n`; capped at the kernel's 19. A failure
                // leaves the priority as it was: a run that competes for the CPU is better
                // than no run.
                let ours = libc::getpriority(libc::PRIO_PROCESS, 0);
                let nicer = ours.saturating_add(niceness).min(19);
                libc::setpriority(libc::PRIO_PROCESS, 0, nicer);
                // The new session's scheduling group too (Linux autogroup; the file is
                // missing when autogroup is off, and a refusal keeps the group at nice 0).
                // And the idle policy: any of our threads that wakes up preempts the run at
                // once, instead of waiting for the run's time slice to end.
                #[cfg(target_os = "linux")]
                {
                    let param = libc::sched_param { sched_priority: 0 };
                    libc::sched_setscheduler(0, libc::SCHED_IDLE, &param);
                    let fd = libc::open(
                        c"/proc/self/autogroup".as_ptr(),
                        libc::O_WRONLY | libc::O_CLOEXEC,
                    );
                    if fd >= 0 {
                        libc::write(fd, autogroup_nice.as_ptr().cast(), autogroup_nice.len());
                        libc::close(fd);
                    }
                }
            }
            #[cfg(target_os = "linux")]
            {
                libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGKILL as libc::c_ulong,
                    0,
                    0,
                    0,
                );
                // We may have died between fork and prctl: then nobody would kill the child.
                if libc::getppid() as u32 != parent {
                    libc::_exit(1);
                }
            }
            #[cfg(not(target_os = "linux"))]
            let _ = (parent, &autogroup_nice);
            Ok(())
        });
    }
    let child = process::spawn(&mut command)?;
    // Our copy of the write end must go, or the read end never sees EOF.
    drop(write_end);
    Ok(Launched {
        child,
        events: std::fs::File::from(read_end),
        _script: script_file,
    })
}
