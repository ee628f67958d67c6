//! The server under hostile input, driven as the built binary over stdio: broken frames,
//! odd encodings, special files, a stuck analysis, clients that leave without a word, and
//! settings that try to take back the editor's trust decision. Each test names what used to
//! go wrong.

mod lsp_client;

use std::time::Duration;

use lsp_client::*;
use serde_json::{json, Value};

const PLANAI_FILE: &str = "from planai import Task\n\n\nclass Question(Task):\n    text: str\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_without_shutdown_exits_with_code_1() {
    let client = WorkspaceBuilder::new().start_binary(&[]).await;
    let status = client.exit_and_wait().await;
    assert_eq!(status.code(), Some(1), "{status:?}");

    let mut client = WorkspaceBuilder::new().start_binary(&[]).await;
    client.request("shutdown", Value::Null).await;
    assert_eq!(client.exit_and_wait().await.code(), Some(0));

    // `shutdown` and `exit` in one write, as clients that do not wait for the reply send
    // them: handlers run concurrently, so the exit code must follow the order they arrived
    // in (it was 1 when `exit` ended the session before the `shutdown` handler ran).
    for _ in 0..5 {
        let mut client = WorkspaceBuilder::new().start_binary(&[]).await;
        let mut both =
            encode(&json!({"jsonrpc": "2.0", "id": 999, "method": "shutdown"}).to_string());
        both.extend(encode(
            &json!({"jsonrpc": "2.0", "method": "exit"}).to_string(),
        ));
        client.send_raw(&both).await;
        let mut child = client.child.take().unwrap();
        let status = tokio::time::timeout(TIMEOUT, child.wait())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(status.code(), Some(0));
    }
}

/// An analysis that never finishes used to hold the analysis lock while `didClose` waited for
/// it on the async runtime's threads: two closes took both threads, no request was answered
/// again, and the process ignored its input closing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_analysis_does_not_wedge_the_session() {
    let mut client = WorkspaceBuilder::new()
        .file("on_disk.py", "y = 2\n")
        .start_binary(&[])
        .await;
    let uri = client.open("a.py", "x = 1\n", 1).await;
    client.await_diagnostics(&uri, 1).await;
    client
        .request("planai/debug/stallAnalysis", json!({"ms": 600_000}))
        .await;
    let on_disk = client.uri("on_disk.py");
    for version in 2..6 {
        client
            .notify(
                "textDocument/didClose",
                json!({"textDocument": {"uri": uri}}),
            )
            .await;
        client
            .notify(
                "textDocument/didOpen",
                json!({"textDocument": {"uri": uri, "languageId": "python", "version": version, "text": "x = 1\n"}}),
            )
            .await;
        client
            .notify(
                "workspace/didChangeWatchedFiles",
                json!({"changes": [{"uri": on_disk, "type": 2}]}),
            )
            .await;
    }
    for _ in 0..5 {
        let state = client
            .request("planai/debug/state", json!({"uri": uri}))
            .await;
        assert_eq!(state["document"]["version"], 5);
    }
    // The client goes away without shutdown: the process exits although an analysis thread
    // is still stuck.
    let status = client.close_input_and_wait().await;
    assert_eq!(status.code(), Some(1), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bad_header_does_not_cost_the_requests_after_it() {
    for bad in [
        "Content-Length: -5\r\n\r\n",
        "Content-Length: many\r\n\r\n",
        "Content-Type: application/vscode-jsonrpc\r\n\r\n",
        "Content-Length: 99999999999\r\n\r\n",
    ] {
        let mut client = WorkspaceBuilder::new().start_binary(&[]).await;
        let body = json!({"jsonrpc": "2.0", "method": "$/ignored"}).to_string();
        client.send_raw(bad.as_bytes()).await;
        client.send_raw(body.as_bytes()).await;
        let mut ids = Vec::new();
        for _ in 0..50 {
            ids.push(
                client
                    .send_request("planai/debug/state", json!({"uri": "file:///x.py"}))
                    .await,
            );
        }
        for id in ids {
            let reply = client.response(id).await;
            assert!(reply.get("result").is_some(), "after {bad:?}: {reply}");
        }
        assert!(client.shutdown().await.expect("exit").success());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_header_line_is_skipped_without_buffering_it() {
    let mut client = WorkspaceBuilder::new().start_binary(&[]).await;
    let garbage = vec![b'x'; 64 * 1024 * 1024];
    client.send_raw(&garbage).await;
    let state = client
        .request("planai/debug/state", json!({"uri": "file:///x.py"}))
        .await;
    assert!(state.get("encoding").is_some());
    let rss = resident_kib(client.child.as_ref().unwrap().id().unwrap());
    assert!(
        rss < 48 * 1024,
        "resident {rss} KiB after a 64 MiB header line"
    );
    assert!(client.shutdown().await.expect("exit").success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_nested_too_deeply_gets_its_own_error_reply() {
    let mut client = WorkspaceBuilder::new().start_binary(&[]).await;
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":4242,"method":"workspace/executeCommand","params":{{"command":"planai.showGraph","arguments":[{}0{}]}}}}"#,
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    client.send_raw(&encode(&body)).await;
    let reply = client.response(4242).await;
    assert_eq!(reply["error"]["code"], -32700, "{reply}");
    assert!(client.shutdown().await.expect("exit").success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_surrogate_in_a_document_is_replaced_not_rejected() {
    let mut client = WorkspaceBuilder::new().start_binary(&[]).await;
    let uri = client.uri("odd.py");
    // Written by hand: serde_json cannot produce a lone surrogate escape.
    let body = format!(
        r#"{{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{{"textDocument":{{"uri":"{uri}","languageId":"python","version":1,"text":"x = '\ud800'\ndef f(:\n"}}}}}}"#
    );
    client.send_raw(&encode(&body)).await;
    let diagnostics = client.await_diagnostics(&uri, 1).await;
    assert_eq!(codes(&diagnostics), vec!["syntax"], "{diagnostics:?}");
    assert_eq!(diagnostics[0]["range"]["start"]["line"], 1);
    let text = client.server_document(&uri).await["text"].clone();
    assert_eq!(text, "x = '\u{fffd}'\ndef f(:\n");
    assert!(client.shutdown().await.expect("exit").success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lone_carriage_returns_are_line_breaks() {
    let mut client = WorkspaceBuilder::new().start_binary(&[]).await;
    let uri = client.open("cr.py", "x = 1\ry = 2\rdef f(:\r", 1).await;
    let diagnostics = client.await_diagnostics(&uri, 1).await;
    assert_eq!(codes(&diagnostics), vec!["syntax"], "{diagnostics:?}");
    assert_eq!(
        diagnostics[0]["range"]["start"]["line"], 2,
        "{diagnostics:?}"
    );
    assert!(client.shutdown().await.expect("exit").success());
}

/// A `*.py` FIFO hung a blocking thread (and the server never exited); a `*.py` link to
/// `/dev/zero` grew the server past 2 GiB in a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn special_files_are_never_read() {
    let mut client = WorkspaceBuilder::new()
        .file("real.py", PLANAI_FILE)
        .start_binary(&[])
        .await;
    let fifo = client.path("pipe.py");
    make_fifo(&fifo);
    std::os::unix::fs::symlink("/dev/zero", client.path("zero.py")).unwrap();
    let (pipe_uri, zero_uri) = (client.uri("pipe.py"), client.uri("zero.py"));
    client
        .notify(
            "workspace/didChangeWatchedFiles",
            json!({"changes": [{"uri": pipe_uri, "type": 1}, {"uri": zero_uri, "type": 1}]}),
        )
        .await;
    for uri in [&pipe_uri, &zero_uri] {
        client
            .notify(
                "textDocument/didOpen",
                json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": "x = 1\n"}}),
            )
            .await;
        client.await_diagnostics(uri, 1).await;
        client
            .notify(
                "textDocument/didClose",
                json!({"textDocument": {"uri": uri}}),
            )
            .await;
    }
    // Still serving, and small.
    let uri = client.open("after.py", "def f(:\n", 1).await;
    assert_eq!(
        codes(&client.await_diagnostics(&uri, 1).await),
        vec!["syntax"]
    );
    let rss = resident_kib(client.child.as_ref().unwrap().id().unwrap());
    assert!(rss < 48 * 1024, "resident {rss} KiB");
    assert!(client.shutdown().await.expect("exit").success());
}

/// The trust decision given at initialize (`untrustedWorkspace: true`, VS Code's Restricted
/// Mode) used to be reversed by a later `false` in the configuration, after which the server
/// ran the workspace's own `.venv/bin/python`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_cannot_take_back_distrust() {
    // Control: in a trusted workspace the fake interpreter runs, so the marker can appear.
    let (builder, marker) = with_fake_workspace_venv(WorkspaceBuilder::new());
    let mut trusted = builder.start_binary(&[]).await;
    trusted.open("flow.py", PLANAI_FILE, 1).await;
    trusted
        .request(
            "workspace/executeCommand",
            json!({"command": "planai.restartHelper", "arguments": []}),
        )
        .await;
    wait_for_file(&marker).await;
    trusted.shutdown().await;

    let (builder, marker) = with_fake_workspace_venv(
        WorkspaceBuilder::new()
            .initialization_options(json!({"untrustedWorkspace": true}))
            .configuration(json!({"untrustedWorkspace": false, "python": null})),
    );
    let mut client = builder.start_binary(&[]).await;
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"planai": {"untrustedWorkspace": false}, "untrustedWorkspace": false}}),
        )
        .await;
    client.open("flow.py", PLANAI_FILE, 1).await;
    let reply = client
        .request(
            "workspace/executeCommand",
            json!({"command": "planai.restartHelper", "arguments": []}),
        )
        .await;
    // Trusted, the restart would have started the fake interpreter (the control above).
    assert_eq!(reply["restarted"], false, "{reply}");
    assert!(!marker.exists(), "the workspace's interpreter ran");
    assert!(client.shutdown().await.expect("exit").success());
}

/// `planai.autoSelectWorkspaceVenv: false`: the workspace's `.venv` runs only once chosen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspace_venvs_can_require_an_explicit_choice() {
    let (builder, marker) = with_fake_workspace_venv(
        WorkspaceBuilder::new()
            .initialization_options(json!({"planai": {"autoSelectWorkspaceVenv": false}}))
            .configuration(json!({"autoSelectWorkspaceVenv": false})),
    );
    let mut client = builder.start_binary(&[]).await;
    client.open("flow.py", PLANAI_FILE, 1).await;
    let environments = client
        .request(
            "workspace/executeCommand",
            json!({"command": "planai.listEnvironments", "arguments": []}),
        )
        .await;
    let listed = environments.as_array().expect("a list");
    let workspace_venv = |e: &&Value| e["path"].as_str().is_some_and(|p| p.contains(".venv"));
    assert!(
        listed.iter().any(|e| workspace_venv(&e)),
        "still listed: {environments}"
    );
    assert!(
        !listed
            .iter()
            .any(|e| e["selected"] == true && workspace_venv(&e)),
        "not selected: {environments}"
    );
    client
        .request(
            "workspace/executeCommand",
            json!({"command": "planai.restartHelper", "arguments": []}),
        )
        .await;
    assert!(!marker.exists(), "the workspace's interpreter ran unasked");
    let venv = client.path(".venv").display().to_string();
    client
        .request(
            "workspace/executeCommand",
            json!({"command": "planai.selectEnvironment", "arguments": [venv]}),
        )
        .await;
    client
        .request(
            "workspace/executeCommand",
            json!({"command": "planai.restartHelper", "arguments": []}),
        )
        .await;
    wait_for_file(&marker).await;
    client.shutdown().await;
}

/// A workspace with a PlanAI file and a `.venv` whose `python` only creates a marker file
/// (outside the workspace) when it runs. Returns the builder and the marker.
fn with_fake_workspace_venv(builder: WorkspaceBuilder) -> (WorkspaceBuilder, MarkerFile) {
    let marker = MarkerFile(tempfile::NamedTempFile::new().unwrap().into_temp_path());
    std::fs::remove_file(&marker.0).unwrap();
    let builder = builder
        .file("flow.py", PLANAI_FILE)
        .file(".venv/pyvenv.cfg", "version = 3.11.7\n")
        .file(
            ".venv/lib/python3.11/site-packages/planai-0.7.1.dist-info/METADATA",
            "Name: planai\n",
        )
        .executable(
            ".venv/bin/python",
            &format!("#!/bin/sh\ntouch '{}'\nexit 3\n", marker.0.display()),
        );
    (builder, marker)
}

/// A path that must not exist until the fake interpreter runs.
struct MarkerFile(tempfile::TempPath);

impl MarkerFile {
    fn exists(&self) -> bool {
        self.0.exists()
    }
}

async fn wait_for_file(marker: &MarkerFile) {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while !marker.exists() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} never appeared: the fake interpreter did not run",
            marker.0.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn make_fifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo");
    assert!(status.success());
}

/// Resident memory of a process, from /proc.
fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// A client that closes its end of our output but not of our input: every notification fails,
/// and tower-lsp-server logs each failure. That log record, forwarded to the client as one
/// more notification, failed and was logged again: ~100,000 lines a second on stderr, a core
/// spinning, until the input closed.
#[test]
fn a_client_that_stops_reading_does_not_start_a_logging_loop() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::{Command, Stdio};

    let scratch = tempfile::tempdir().unwrap();
    let stderr_path = scratch.path().join("server.stderr");
    let mut child = Command::new(env!("CARGO_BIN_EXE_planai-lsp"))
        .env("PLANAI_LSP_LOG_STDERR", "1")
        .env("PLANAI_LSP_LOG", "info")
        .current_dir(scratch.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let mut output = BufReader::new(child.stdout.take().unwrap());
    let root = format!("file://{}", scratch.path().display());
    let send = |input: &mut std::process::ChildStdin, message: Value| {
        input.write_all(&encode(&message.to_string())).unwrap();
        input.flush().unwrap();
    };
    send(
        &mut input,
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
               "params": {"processId": null, "rootUri": root, "capabilities": {}}}),
    );
    // Read the initialize reply, then stop reading.
    let mut length = 0;
    loop {
        let mut line = String::new();
        assert!(
            output.read_line(&mut line).unwrap() > 0,
            "server closed its output"
        );
        if let Some(value) = line.strip_prefix("Content-Length:") {
            length = value.trim().parse().unwrap();
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    output.read_exact(&mut body).unwrap();
    drop(output);

    send(
        &mut input,
        json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
    );
    let failures = |text: &str| text.matches("failed to send notification").count();
    // Notifications go out (logs, diagnostics) and fail until the first failure is logged.
    for version in 1..=200 {
        let uri = format!("{root}/flow{version}.py");
        send(
            &mut input,
            json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument":
                {"uri": uri, "languageId": "python", "version": version, "text": PLANAI_FILE}}}),
        );
        if failures(&std::fs::read_to_string(&stderr_path).unwrap()) > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let before_exit = failures(&std::fs::read_to_string(&stderr_path).unwrap());
    assert!(before_exit > 0, "no notification failed");
    drop(input);
    let status = child.wait().unwrap();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    // One logged failure per notification the server tried to send: a few per opened file.
    assert!(
        failures(&stderr) < 200,
        "{} failures logged (exit {status:?}); the last lines:\n{}",
        failures(&stderr),
        stderr.lines().rev().take(5).collect::<Vec<_>>().join("\n")
    );
}
