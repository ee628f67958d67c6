//! `planai-lsp run` with the real venv: the text log, JSON lines, exit codes.

mod venv_and_processes;

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run")
}

fn planai_lsp_run(args: &[&str]) -> std::process::Output {
    let python = venv_and_processes::test_venv_python();
    Command::new(env!("CARGO_BIN_EXE_planai-lsp"))
        .arg("run")
        .args(args)
        .arg("--python")
        .arg(python)
        .current_dir(fixtures())
        .output()
        .expect("run planai-lsp")
}

fn json_lines(output: &std::process::Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn a_successful_run_prints_json_events_and_exits_0() {
    let output = planai_lsp_run(&[
        "succeeds.py",
        "--graph",
        "build_graph",
        "--input",
        r#"{"text": "x y z"}"#,
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let events = json_lines(&output);
    assert_eq!(events.first().unwrap()["event"], "started");
    assert_eq!(
        events.last().unwrap(),
        &json!({"event": "ended", "outcome": "succeeded", "exitCode": 0, "message": null})
    );
    let outputs: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "sinkOutput")
        .map(|e| &e["task"])
        .collect();
    assert_eq!(outputs, vec![&json!({"text": "x y z", "words": 3})]);
}

#[test]
fn modules_lying_in_the_temp_dir_shadow_neither_the_stdlib_nor_the_users_packages() {
    // The runner script is written to the temp dir, and Python puts a script's directory first
    // on sys.path: a stray `h2.py` in /tmp once made every run fail with "MemoryError" while
    // planai imported httpcore. Shadows of a stdlib module the runner needs and of a package
    // planai needs.
    let tmp = tempfile::tempdir().unwrap();
    for shadow in ["json.py", "pydantic.py", "h2.py"] {
        std::fs::write(
            tmp.path().join(shadow),
            "raise SystemExit('a module in the temp dir was imported')\n",
        )
        .unwrap();
    }
    let output = Command::new(env!("CARGO_BIN_EXE_planai-lsp"))
        .args(["run", "succeeds.py", "--graph", "build_graph"])
        .args([
            "--input",
            r#"{"text": "x y z"}"#,
            "--format",
            "json",
            "--python",
        ])
        .arg(venv_and_processes::test_venv_python())
        .current_dir(fixtures())
        .env("TMPDIR", tmp.path())
        .output()
        .expect("run planai-lsp");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let events = json_lines(&output);
    assert_eq!(
        events.last().unwrap(),
        &json!({"event": "ended", "outcome": "succeeded", "exitCode": 0, "message": null})
    );
}

#[test]
fn a_failing_worker_is_logged_with_its_line_and_exits_1() {
    let output = planai_lsp_run(&["worker_fails.py"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    let line = std::fs::read_to_string(fixtures().join("worker_fails.py"))
        .unwrap()
        .lines()
        .position(|l| l.contains("task.txt"))
        .unwrap()
        + 1;
    let failed: Vec<&str> = text.lines().filter(|l| l.starts_with("FAILED")).collect();
    assert_eq!(failed.len(), 2, "{text}");
    assert!(
        failed[0].contains(
            "Measurer <- Sentence: AttributeError: 'Sentence' object has no attribute 'txt'"
        ) && failed[0].ends_with(&format!("worker_fails.py:{line}")),
        "{text}"
    );
    assert!(
        text.lines().last().unwrap().starts_with("ended     failed"),
        "{text}"
    );
}

#[test]
fn a_timeout_ends_the_run_and_exits_1() {
    let output = planai_lsp_run(&["slow.py", "--timeout", "30", "--format", "json"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let events = json_lines(&output);
    assert_eq!(events.last().unwrap()["outcome"], "timedOut");
}

#[tokio::test]
async fn ctrl_c_cancels_the_run_and_leaves_no_process_behind() {
    use std::io::BufRead;
    let leftovers = venv_and_processes::Leftovers::new("cli-run");
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("slow_flow.py");
    let slow = std::fs::read_to_string(fixtures().join("slow.py")).unwrap();
    std::fs::write(&module, leftovers.module(&slow)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_planai-lsp"))
        .arg("run")
        .arg(&module)
        .arg("--python")
        .arg(venv_and_processes::test_venv_python())
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut lines = std::io::BufReader::new(stdout).lines();
        let mut seen = Vec::new();
        for line in lines.by_ref() {
            let line = line.unwrap();
            let sleeping = line == "stdout    sleeping";
            seen.push(line);
            if sleeping {
                break;
            }
        }
        (lines, seen)
    });
    let (lines, seen) = tokio::task::spawn_blocking(move || reader.join().unwrap())
        .await
        .unwrap();
    assert_eq!(
        seen.last().map(String::as_str),
        Some("stdout    sleeping"),
        "{seen:?}"
    );
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let rest: Vec<String> =
        tokio::task::spawn_blocking(move || lines.map_while(Result::ok).collect())
            .await
            .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{rest:?}");
    assert_eq!(
        rest.last().map(String::as_str),
        Some("ended     cancelled: cancelled"),
        "{rest:?}"
    );
    assert!(!leftovers.noted(Some("daemon")).is_empty());
    leftovers
        .wait_all_gone(std::time::Duration::from_secs(10))
        .await;
}

/// The runner killed from outside (OOM killer, a stray `kill -9`): the command reports the
/// run as an error and exits, and what the workflow started in a session of its own (which
/// holds the output pipes open) is killed, not left running with the command waiting on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_runner_ends_the_command_and_leaves_no_process_behind() {
    use std::io::BufRead;
    let leftovers = venv_and_processes::Leftovers::new("cli-run-killed");
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("slow_flow.py");
    let slow = std::fs::read_to_string(fixtures().join("slow.py")).unwrap();
    std::fs::write(&module, leftovers.module(&slow)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_planai-lsp"))
        .arg("run")
        .arg(&module)
        .arg("--python")
        .arg(venv_and_processes::test_venv_python())
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut runner = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(pid) = line
            .strip_prefix("started ")
            .and_then(|rest| rest.split("(pid ").nth(1))
            .and_then(|rest| rest.trim_end_matches(')').parse::<i32>().ok())
        {
            runner = Some(pid);
        }
        if line == "stdout    sleeping" {
            break;
        }
    }
    let runner = runner.expect("the started line names the runner's pid");
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(runner, libc::SIGKILL) };
    let rest: Vec<String> =
        tokio::task::spawn_blocking(move || lines.map_while(Result::ok).collect())
            .await
            .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{rest:?}");
    assert!(
        rest.last().is_some_and(
            |l| l.starts_with("ended     error: the runner exited (killed by a signal)")
        ),
        "{rest:?}"
    );
    assert!(!leftovers.noted(Some("daemon")).is_empty());
    leftovers
        .wait_all_gone(std::time::Duration::from_secs(10))
        .await;
}
