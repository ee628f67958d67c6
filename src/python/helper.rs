//! The warm helper: a Python process (running the embedded `helper.py`) that imports planai
//! once and answers JSON-lines requests, forking a child per request.
//!
//! - `instance.rs`: [`HelperProcess`] is one running helper: it spawns it in its own process
//!   group, routes responses to callers by id, lets at most `max_concurrent` child-forking
//!   requests run at once, cancels requests nobody waits for any more, forwards its stderr to
//!   `tracing`, and kills the whole process tree.
//! - `supervisor.rs`: [`HelperSupervisor`] owns at most one helper per interpreter: it starts it
//!   lazily, restarts it with exponential backoff after a crash or a hang, publishes a
//!   [`HelperStatus`] for the editor, and refuses to launch anything in an untrusted workspace.
//!
//! This file holds what both use: the script and how it is started ([`HelperConfig`]).

mod instance;
mod supervisor;

pub use instance::{HelperProcess, ProcessState};
pub use supervisor::{HelperStatus, HelperSupervisor, SupervisorSettings};

use super::envs::PythonEnvironment;
use std::time::Duration;

/// The helper script, embedded in the binary.
pub const HELPER_SCRIPT: &str = include_str!("helper.py");

const LOG_TARGET: &str = "planai_lsp::helper";
/// How many requests may have a forked child running at once, by default (the rest wait).
pub const DEFAULT_MAX_CONCURRENT: usize = 2;

/// Which helper script to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HelperScript {
    /// The `helper.py` compiled into this binary.
    Embedded,
    /// Script text given at runtime (tests use small fake helpers).
    Source(String),
}

impl HelperScript {
    fn text(&self) -> &str {
        match self {
            HelperScript::Embedded => HELPER_SCRIPT,
            HelperScript::Source(text) => text,
        }
    }
}

/// How the script reaches the interpreter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptDelivery {
    /// Written to a private temp file (the normal case: tracebacks and `--one-shot` can find it).
    TempFile,
    /// Passed with `-c`: for argv interpreters (`docker exec …`) that cannot see our temp files.
    Inline,
}

/// How to start one helper.
#[derive(Clone, Debug)]
pub struct HelperConfig {
    /// argv of the interpreter; the helper's own flags and script are appended.
    pub interpreter: Vec<String>,
    pub script: HelperScript,
    pub delivery: ScriptDelivery,
    /// Grace period between SIGTERM and SIGKILL of the process tree.
    pub kill_grace: Duration,
    /// At most this many requests that fork a child run at once; later ones wait their turn
    /// (a cancelled request keeps its turn until its child is dead).
    pub max_concurrent: usize,
}

impl HelperConfig {
    /// The embedded helper on `interpreter`; scripts go inline for multi-word argv
    /// interpreters (`uv run python`, containers), to a temp file otherwise.
    pub fn new(interpreter: Vec<String>) -> Self {
        // Inline only on unix: Windows caps a whole command line at 32 K characters.
        let delivery = if interpreter.len() > 1 && cfg!(unix) {
            ScriptDelivery::Inline
        } else {
            ScriptDelivery::TempFile
        };
        Self {
            interpreter,
            script: HelperScript::Embedded,
            delivery,
            kill_grace: Duration::from_secs(1),
            max_concurrent: DEFAULT_MAX_CONCURRENT,
        }
    }

    pub fn for_environment(env: &PythonEnvironment) -> Self {
        Self::new(env.interpreter.clone())
    }

    fn display_interpreter(&self) -> String {
        self.interpreter.join(" ")
    }
}

/// A client-side timeout for a request whose helper-side budget is `timeout_ms` (the helper's
/// default is 10 s): the helper's own limit plus time for it to kill the child and answer.
pub fn client_timeout(timeout_ms: Option<u64>) -> Duration {
    Duration::from_millis(timeout_ms.unwrap_or(10_000)) + Duration::from_secs(5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_script_fits_in_one_argument() {
        // Inline delivery passes the script as one argv string; Linux caps those at 128 KiB
        // (MAX_ARG_STRLEN). If helper.py grows past this, switch argv interpreters to a
        // bootstrap that reads the script from stdin.
        assert!(
            HELPER_SCRIPT.len() < 120 * 1024,
            "helper.py is {} bytes",
            HELPER_SCRIPT.len()
        );
    }

    #[cfg(unix)]
    #[test]
    fn argv_interpreters_get_the_script_inline() {
        assert_eq!(
            HelperConfig::new(vec!["/v/bin/python".into()]).delivery,
            ScriptDelivery::TempFile
        );
        assert_eq!(
            HelperConfig::new(vec!["uv".into(), "run".into(), "python".into()]).delivery,
            ScriptDelivery::Inline
        );
    }
}
