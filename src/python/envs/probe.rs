//! Probing: launches an interpreter (`-I -c`) to learn what the filesystem cannot tell;
//! cached per process, refused in untrusted workspaces.

use super::PythonEnvironment;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

/// What the interpreter itself reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeInfo {
    /// "3.11.7"
    pub python: String,
    pub executable: String,
    pub prefix: String,
    pub planai: Option<String>,
    pub pydantic: Option<String>,
    pub llm_interface: Option<String>,
}

/// Why a probe failed, in words fit for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeError(pub String);

impl std::fmt::Display for ProbeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProbeError {}

const PROBE_SCRIPT: &str = r#"
import json, sys
try:
    from importlib import metadata
except ImportError:
    metadata = None
def version(name):
    try:
        return metadata.version(name)
    except Exception:
        return None
print(json.dumps({"python": "%d.%d.%d" % tuple(sys.version_info[:3]),
                  "executable": sys.executable, "prefix": sys.prefix,
                  "planai": version("planai"), "pydantic": version("pydantic"),
                  "llm_interface": version("llm-interface")}))
"#;

type ProbeKey = (Vec<String>, Option<SystemTime>, Vec<Option<SystemTime>>);

fn probe_cache() -> &'static Mutex<HashMap<ProbeKey, ProbeInfo>> {
    static CACHE: OnceLock<Mutex<HashMap<ProbeKey, ProbeInfo>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// How often [`probe`] launched each interpreter (argv) in this process: tests count launches
/// instead of timing them.
fn probe_launch_counts() -> &'static Mutex<HashMap<Vec<String>, usize>> {
    static COUNTS: OnceLock<Mutex<HashMap<Vec<String>, usize>>> = OnceLock::new();
    COUNTS.get_or_init(Default::default)
}

/// How many times [`probe`] launched `interpreter` in this process.
pub fn probe_launches(interpreter: &[String]) -> usize {
    probe_launch_counts()
        .lock()
        .ok()
        .and_then(|counts| counts.get(interpreter).copied())
        .unwrap_or(0)
}

/// Runs the interpreter (`-I -c`) to learn its version and package versions. Cached per
/// process by (argv, interpreter mtime, site-packages mtimes), so installing a package
/// invalidates it. Refuses to run when `trusted` is false. The process (group) is killed when
/// `timeout` passes.
pub async fn probe(
    env: &PythonEnvironment,
    trusted: bool,
    timeout: Duration,
) -> Result<ProbeInfo, ProbeError> {
    if !trusted {
        return Err(ProbeError(
            "The workspace is not trusted, so no Python interpreter is launched.".into(),
        ));
    }
    let Some((program, args)) = env.interpreter.split_first() else {
        return Err(ProbeError("The interpreter command is empty.".into()));
    };
    let mtime = |p: &Path| p.metadata().and_then(|m| m.modified()).ok();
    let key: ProbeKey = (
        env.interpreter.clone(),
        env.path.as_deref().and_then(mtime),
        env.site_packages.iter().map(|p| mtime(p)).collect(),
    );
    if let Some(hit) = probe_cache().lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(hit);
    }

    // From a scratch directory, like every process that runs an interpreter: the probe
    // imports packages, and a workspace as the cwd would put its modules first on the path.
    let scratch = tempfile::Builder::new()
        .prefix(&crate::python::scratch::ScratchKind::Probe.prefix())
        .tempdir()
        .map_err(|e| ProbeError(format!("Cannot create a scratch directory: {e}")))?;
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .args(["-I", "-c", PROBE_SCRIPT])
        .current_dir(scratch.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    crate::python::process::isolate(&mut command);
    if let Ok(mut counts) = probe_launch_counts().lock() {
        *counts.entry(env.interpreter.clone()).or_default() += 1;
    }
    let child = crate::python::process::spawn(&mut command).map_err(|e| {
        ProbeError(format!(
            "Could not start `{}`: {e}",
            env.interpreter.join(" ")
        ))
    })?;
    let pgid = child.id();
    let waited = tokio::time::timeout(timeout, child.wait_with_output()).await;
    // Reaped, or killed on drop and handed to tokio's reaper.
    crate::python::process::forget(pgid);
    let output = match waited {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => return Err(ProbeError(format!("Running the interpreter failed: {e}"))),
        Err(_) => {
            // kill_on_drop got the leader when the future was dropped; get the rest too.
            if let Some(pgid) = pgid {
                crate::python::process::kill_group_now(pgid);
            }
            return Err(ProbeError(format!(
                "`{}` did not answer within {:.1} s.",
                env.interpreter.join(" "),
                timeout.as_secs_f64()
            )));
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let info = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .and_then(|l| serde_json::from_str::<ProbeInfo>(l).ok())
        .ok_or_else(|| {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            ProbeError(format!(
                "`{}` is not a working Python interpreter ({}): {}",
                env.interpreter.join(" "),
                output.status,
                tail.join(" | ")
            ))
        })?;
    if let Ok(mut cache) = probe_cache().lock() {
        cache.insert(key, info.clone());
    }
    Ok(info)
}

/// Probes (concurrently) every existing environment whose packages the filesystem could not
/// tell (argv settings, shims) and fills in what it reports; failures are logged and skipped.
/// Launches interpreters: only call it when the workspace is trusted (it refuses otherwise).
pub async fn probe_unknown(envs: &mut [PythonEnvironment], trusted: bool, timeout: Duration) {
    let unknown: Vec<usize> = (0..envs.len())
        .filter(|&i| envs[i].exists && envs[i].site_packages.is_empty())
        .collect();
    let probes = unknown.iter().map(|&i| {
        let env = envs[i].clone();
        async move { (i, probe(&env, trusted, timeout).await) }
    });
    for (i, outcome) in futures::future::join_all(probes).await {
        match outcome {
            Ok(info) => envs[i].apply_probe(&info),
            Err(e) => {
                tracing::info!(target: "planai_lsp::envs", interpreter = %envs[i].display_interpreter(), "probe failed: {e}")
            }
        }
    }
}
