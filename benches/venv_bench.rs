//! Save → venv diagnostics with the warm helper, beside the cold-subprocess approach.
//!
//! ```sh
//! cargo build --release && cargo bench --bench venv_bench
//! ```
//!
//! Starts the release binary (`target/release/planai-lsp`, or `$PLANAI_LSP_BIN`) over stdio
//! (client: `support/lsp_stdio.rs`) with workspace root `examples/` and `planai.python` set to
//! the test venv's interpreter (`$PLANAI_TEST_PYTHON`, else what `scripts/ensure-test-venv.sh`
//! prints). For each bundled example it opens the file, waits for the first
//! `publishDiagnostics`, sends one `didSave` and waits for the re-publish (warm-up; the first
//! one also pays for starting the helper and importing planai), then times
//! `PLANAI_BENCH_SAVES` (default 21) `didSave` → `publishDiagnostics` round trips; with
//! `planai.validation.run = onSave` (the default) each save is answered by exactly one publish
//! of the same version carrying the merged `planai (venv)` results.
//!
//! In the same run it measures the approach of the original PlanAI Editor
//! (`validate_code_in_venv`): per validation, write a throw-away script that imports planai
//! and executes the module source (compile + exec, `__name__` not `"__main__"`) to a temp
//! file and run it as a fresh `[python, tmpfile]` process with captured output, cwd a temp
//! dir — `PLANAI_BENCH_COLD_RUNS` (default 3) times per example.
//!
//! Finally it reports the helper's memory: the server's child processes (the helper) and
//! their children (the pre-forked spare), with `VmRSS`/`VmHWM` from `/proc/<pid>/status` and,
//! for the tree, the sum of `VmRSS` (counts shared copy-on-write pages once per process) and
//! of `Pss` from `/proc/<pid>/smaps_rollup` (shares them out). No timing is asserted.

#[path = "support/lsp_stdio.rs"]
mod lsp_stdio;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lsp_stdio::{
    binary, env_or, fail, file_uri, mb, med_p90, ms, percentile, proc_field, proc_status_kib,
    verdict, Server, OPEN_TIMEOUT,
};
use serde_json::{json, Value};

/// The bundled examples, relative to the workspace root `examples/`.
const EXAMPLES: [&str; 3] = ["text_pipeline.py", "llm_review.py", "research_pkg/graph.py"];
/// The first save starts the helper and imports planai (~3–8 s).
const WARM_UP_TIMEOUT: Duration = Duration::from_secs(120);
const SAVE_TIMEOUT: Duration = Duration::from_secs(30);
/// Quiet periods before a save, so that the publish it waits for is its own.
const SETTLE_AFTER_OPEN: Duration = Duration::from_millis(1000);
const SETTLE_BEFORE_SAVE: Duration = Duration::from_millis(100);
const TARGET: Duration = Duration::from_millis(150);
const VENV_SOURCE: &str = "planai (venv)";

struct Row {
    name: &'static str,
    open: Duration,
    warm_up: Duration,
    saves: Vec<Duration>,
    cold: Vec<Duration>,
    venv_diagnostics: usize,
    notes: Vec<String>,
}

fn main() {
    let bin = binary();
    let python = test_python();
    let saves: usize = env_or("PLANAI_BENCH_SAVES", "21").parse().unwrap_or(21);
    let cold_runs: usize = env_or("PLANAI_BENCH_COLD_RUNS", "3").parse().unwrap_or(3);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");

    println!("planai-lsp venv validation benchmark");
    println!("  binary:            {}", bin.display());
    println!("  python:            {}", python.display());
    println!("  workspace root:    {}", root.display());
    println!("  timed saves:       {saves} per example (after one warm-up save)");
    println!("  cold runs:         {cold_runs} per example");
    println!();

    let options = json!({"settings": {"planai": {"python": python.display().to_string()}}});
    let mut server = Server::start(&bin, &root, options);
    let mut rows: Vec<Row> = EXAMPLES
        .iter()
        .map(|name| bench_warm(&mut server, &root, name, saves))
        .collect();
    // Let the last request's child exit before sampling the helper tree.
    std::thread::sleep(Duration::from_millis(500));
    let memory = helper_memory(server.pid());
    let server_rss = server.rss();
    server.stop();

    let scratch = std::env::temp_dir().join(format!("planai-venv-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)
        .unwrap_or_else(|e| fail(&format!("{}: {e}", scratch.display())));
    for row in &mut rows {
        for _ in 0..cold_runs {
            match cold_validate(&python, &root, row.name, &scratch) {
                Ok(took) => row.cold.push(took),
                Err(problem) => {
                    row.notes.push(format!("cold run failed: {problem}"));
                    break;
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);

    print_table(&rows, cold_runs);
    println!();
    print_memory(&memory, server_rss);

    let all_saves: Vec<Duration> = rows.iter().flat_map(|r| r.saves.iter().copied()).collect();
    let all_cold: Vec<Duration> = rows.iter().flat_map(|r| r.cold.iter().copied()).collect();
    let worst = rows
        .iter()
        .map(|r| percentile(&r.saves, 50))
        .max()
        .unwrap_or_default();
    println!();
    println!(
        "all examples: save→venv diagnostics median {} (p90 {}), cold subprocess median {}, \
         ratio {}",
        ms(percentile(&all_saves, 50)),
        ms(percentile(&all_saves, 90)),
        ms(percentile(&all_cold, 50)),
        ratio(percentile(&all_cold, 50), percentile(&all_saves, 50)),
    );
    println!(
        "target: save→venv diagnostics median < 150 ms: {} (slowest example median {})",
        verdict(!rows.is_empty() && worst < TARGET),
        ms(worst)
    );
}

/// Opens `name`, warms the helper up with one save, then times `saves` saves.
fn bench_warm(server: &mut Server, root: &Path, name: &'static str, saves: usize) -> Row {
    let path = root.join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
    let uri = file_uri(&path);
    let mut notes = Vec::new();

    server.drain();
    let start = Instant::now();
    server.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}),
    );
    let (at, _) = server.wait_publish(&uri, 1, OPEN_TIMEOUT);
    let open = at - start;
    // A save must only be answered by its own publish: let whatever the open set off (further
    // publishes, e.g. once the workspace index is built) pass first.
    let stray = server.settle(SETTLE_AFTER_OPEN, OPEN_TIMEOUT).len();
    if stray > 0 {
        notes.push(format!(
            "{stray} further publishes after open (before the warm-up)"
        ));
    }

    let (warm_up, _) = server.save(&uri, 1, WARM_UP_TIMEOUT);
    let stray = server.settle(SETTLE_AFTER_OPEN, OPEN_TIMEOUT).len();
    if stray > 0 {
        notes.push(format!("{stray} further publishes after the warm-up save"));
    }

    let mut timed = Vec::with_capacity(saves);
    let mut last = Value::Null;
    let mut stray = 0;
    for _ in 0..saves {
        stray += server.settle(SETTLE_BEFORE_SAVE, OPEN_TIMEOUT).len();
        let (took, published) = server.save(&uri, 1, SAVE_TIMEOUT);
        timed.push(took);
        last = published;
    }
    if stray > 0 {
        notes.push(format!("{stray} publishes not caused by a timed save"));
    }
    let venv: Vec<&Value> = last["params"]["diagnostics"]
        .as_array()
        .map(|ds| ds.iter().filter(|d| d["source"] == VENV_SOURCE).collect())
        .unwrap_or_default();
    for diagnostic in &venv {
        let message = diagnostic["message"].as_str().unwrap_or_default();
        let first_line = message.lines().next().unwrap_or_default();
        notes.push(format!(
            "venv diagnostic at line {}: {first_line}",
            diagnostic["range"]["start"]["line"].as_u64().unwrap_or(0) + 1
        ));
    }
    server.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri}}),
    );
    Row {
        name,
        open,
        warm_up,
        saves: timed,
        cold: Vec::new(),
        venv_diagnostics: venv.len(),
        notes,
    }
}

/// One validation the way the original tool did it: a fresh interpreter runs a throw-away
/// script that imports planai and executes the module source.
fn cold_validate(
    python: &Path,
    root: &Path,
    name: &str,
    scratch: &Path,
) -> Result<Duration, String> {
    let path = root.join(name);
    let source = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let module = name.trim_end_matches(".py").replace('/', ".");
    let package = module
        .rsplit_once('.')
        .map(|(package, _)| package.to_string());
    let script = cold_script(root, &path, &module, package.as_deref(), &source);
    let script_path = scratch.join("planai_validate_tmp.py");

    let start = Instant::now();
    std::fs::write(&script_path, script).map_err(|e| format!("{}: {e}", script_path.display()))?;
    let output = Command::new(python)
        .arg(&script_path)
        .current_dir(scratch)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    let took = start.elapsed();
    let _ = std::fs::remove_file(&script_path);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().last().unwrap_or_default();
        return Err(format!("{} ({last})", output.status));
    }
    Ok(took)
}

/// The throw-away script; strings are embedded as JSON literals, which Python reads alike.
fn cold_script(
    root: &Path,
    path: &Path,
    module: &str,
    package: Option<&str>,
    source: &str,
) -> String {
    let lit = |s: &str| Value::from(s).to_string();
    let package = package.map_or_else(|| "None".to_string(), lit);
    format!(
        r#"import json
import sys
import traceback

sys.path.insert(0, {root})
import planai  # noqa: E402,F401

SOURCE = {source}
namespace = {{
    "__name__": {module},
    "__file__": {path},
    "__package__": {package},
    "__builtins__": __builtins__,
}}
try:
    exec(compile(SOURCE, {path}, "exec"), namespace)
except Exception as e:
    print(json.dumps({{"success": False, "error": str(e), "traceback": traceback.format_exc()}}))
    sys.exit(1)
print(json.dumps({{"success": True}}))
"#,
        root = lit(&root.display().to_string()),
        source = lit(source),
        module = lit(module),
        path = lit(&path.display().to_string()),
    )
}

/// The test venv's python: `$PLANAI_TEST_PYTHON`, else `scripts/ensure-test-venv.sh`.
fn test_python() -> PathBuf {
    if let Some(python) = std::env::var_os("PLANAI_TEST_PYTHON") {
        return PathBuf::from(python);
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/ensure-test-venv.sh");
    let output = Command::new("bash")
        .arg(&script)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| fail(&format!("cannot run {}: {e}", script.display())));
    let stdout = String::from_utf8_lossy(&output.stdout);
    match stdout.lines().rev().find(|l| !l.trim().is_empty()) {
        Some(python) if output.status.success() => PathBuf::from(python.trim()),
        _ => fail(&format!(
            "{} failed ({}); set PLANAI_TEST_PYTHON to a python with planai installed",
            script.display(),
            output.status
        )),
    }
}

struct Process {
    pid: u32,
    ppid: u32,
    name: String,
    rss: u64,
    hwm: u64,
    pss: Option<u64>,
}

struct Memory {
    /// The helper tree: the server's children, then their descendants.
    processes: Vec<Process>,
    server_pid: u32,
    /// Children exiting or exited but not yet reaped (no memory left).
    exited: usize,
}

/// The server's descendants, found by scanning `/proc` for `PPid`.
fn helper_memory(server_pid: u32) -> Memory {
    let mut all: Vec<(u32, u32)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            if let Some(ppid) = proc_status_kib(pid, "PPid:") {
                all.push((pid, ppid as u32));
            }
        }
    }
    let mut tree = vec![server_pid];
    let mut processes = Vec::new();
    let mut next = 0;
    let mut exited = 0;
    while next < tree.len() {
        let parent = tree[next];
        next += 1;
        for &(pid, ppid) in &all {
            if ppid == parent && !tree.contains(&pid) {
                tree.push(pid);
                let Some(rss) = proc_status_kib(pid, "VmRSS:") else {
                    // Exiting or exited (a finished request child not yet reaped).
                    exited += 1;
                    continue;
                };
                processes.push(Process {
                    pid,
                    ppid,
                    name: std::fs::read_to_string(format!("/proc/{pid}/comm"))
                        .map(|s| s.trim().to_string())
                        .unwrap_or_default(),
                    rss,
                    hwm: proc_status_kib(pid, "VmHWM:").unwrap_or(0),
                    pss: proc_field(pid, "smaps_rollup", "Pss:"),
                });
            }
        }
    }
    Memory {
        processes,
        server_pid,
        exited,
    }
}

fn print_table(rows: &[Row], cold_runs: usize) {
    let cold_header = format!("cold subprocess med ({cold_runs})");
    println!(
        "{:<22} | {:>10} | {:>12} | {:>22} | {:>24} | {:>7} | {:>5}",
        "example", "open→diag", "warm-up save", "save→diag med/p90", cold_header, "ratio", "venv"
    );
    println!("{}", "-".repeat(22 + 10 + 12 + 22 + 24 + 7 + 5 + 18));
    for row in rows {
        let warm = percentile(&row.saves, 50);
        let cold = percentile(&row.cold, 50);
        println!(
            "{:<22} | {:>10} | {:>12} | {:>22} | {:>24} | {:>7} | {:>5}",
            row.name,
            ms(row.open),
            ms(row.warm_up),
            med_p90(&row.saves),
            if row.cold.is_empty() {
                "failed".to_string()
            } else {
                ms(cold)
            },
            ratio(cold, warm),
            row.venv_diagnostics
        );
        for note in &row.notes {
            println!("        note: {note}");
        }
    }
    println!("(venv = `{VENV_SOURCE}` diagnostics in the last publish)");
}

fn print_memory(memory: &Memory, server: (u64, u64)) {
    println!(
        "memory: server (pid {}) VmRSS {} (peak VmHWM {})",
        memory.server_pid,
        mb(server.0),
        mb(server.1)
    );
    if memory.processes.is_empty() {
        println!("        no helper process found under the server");
        return;
    }
    for p in &memory.processes {
        let role = if p.ppid == memory.server_pid {
            "helper"
        } else {
            "helper child"
        };
        println!(
            "        {role:<12} pid {:>7} ({}): VmRSS {} (peak VmHWM {}), Pss {}",
            p.pid,
            p.name,
            mb(p.rss),
            mb(p.hwm),
            p.pss.map_or_else(|| "n/a".to_string(), mb)
        );
    }
    let rss: u64 = memory.processes.iter().map(|p| p.rss).sum();
    let pss: u64 = memory.processes.iter().filter_map(|p| p.pss).sum();
    let pss_known = memory.processes.iter().all(|p| p.pss.is_some());
    println!(
        "        helper tree ({} processes): VmRSS sum {}, Pss sum {}{}",
        memory.processes.len(),
        mb(rss),
        mb(pss),
        if pss_known {
            ""
        } else {
            " (Pss unreadable for some)"
        }
    );
    if memory.exited > 0 {
        println!(
            "        (not counted: {} exiting or unreaped children without memory)",
            memory.exited
        );
    }
}

/// `cold / warm` as a factor.
fn ratio(cold: Duration, warm: Duration) -> String {
    if cold.is_zero() || warm.is_zero() {
        return "n/a".to_string();
    }
    format!("{:.1}×", cold.as_secs_f64() / warm.as_secs_f64())
}
