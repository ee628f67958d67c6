//! End-to-end tests: the built `planai-lsp` binary driven over real stdio.

mod lsp_client;

use lsp_client::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_a_session_over_stdio_and_exits_cleanly() {
    let mut client = WorkspaceBuilder::new()
        .capabilities(neovim_capabilities())
        .start_binary(&[])
        .await;
    assert_eq!(client.initialize_result["serverInfo"]["name"], "planai-lsp");
    assert_eq!(
        client.initialize_result["capabilities"]["positionEncoding"],
        "utf-8"
    );
    let uri = client
        .open(
            "workflow.py",
            "from planai import Task\n\nclass Q(Task)\n    text: str\n",
            1,
        )
        .await;
    let diagnostics = client.await_diagnostics(&uri, 1).await;
    assert!(!diagnostics.is_empty());
    assert_eq!(diagnostics[0]["source"], "planai-syntax");
    assert_eq!(diagnostics[0]["range"]["start"]["line"], 2);
    client
        .change(&uri, 2, json!([{"range": {"start": {"line": 2, "character": 13}, "end": {"line": 2, "character": 13}}, "text": ":"}]))
        .await;
    // Only syntax matters here: the import line may carry a warning about the interpreter.
    let fixed = client.await_diagnostics(&uri, 2).await;
    assert!(
        fixed.iter().all(|d| d["source"] != "planai-syntax"),
        "{fixed:?}"
    );
    let status = client.shutdown().await.expect("the server process exits");
    assert!(status.success(), "exit status {status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_survives_garbage_on_stdin() {
    let mut client = WorkspaceBuilder::new().start_binary(&[]).await;
    client.send_raw(b"this is not a frame\r\n\r\n").await;
    client.send_raw(&encode("[1, 2")).await;
    client
        .await_message(|m| m["error"]["code"] == -32700)
        .await
        .expect("parse error reply");
    let uri = client.open("ok.py", "x = 1\n", 1).await;
    assert!(client.await_diagnostics(&uri, 1).await.is_empty());
    let status = client.shutdown().await.expect("the server process exits");
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_request_does_not_end_the_process() {
    let mut client = WorkspaceBuilder::new().start_binary(&[]).await;
    let id = client.send_request("planai/debug/panic", json!({})).await;
    assert_eq!(client.response(id).await["error"]["code"], -32603);
    let uri = client.open("after.py", "def f(:\n", 1).await;
    assert!(!client.await_diagnostics(&uri, 1).await.is_empty());
    assert!(client.shutdown().await.expect("exit").success());
}

/// Clients show the server's stderr as well as its `window/logMessage` (VS Code labels every
/// stderr line `[error]`): a record must reach the client once, as a logMessage at its own
/// level, unless `PLANAI_LSP_LOG_STDERR=1` asks for the stderr copy too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_log_record_reaches_the_client_once() {
    async fn session(also_stderr: bool) -> (Vec<String>, String) {
        let scratch = tempfile::tempdir().unwrap();
        let stderr_file = scratch.path().join("server.stderr");
        let mut envs = vec![("PLANAI_LSP_LOG", "debug")];
        if also_stderr {
            envs.push(("PLANAI_LSP_LOG_STDERR", "1"));
        }
        let mut client = WorkspaceBuilder::new()
            .stderr_to(&stderr_file)
            .start_binary(&envs)
            .await;
        let uri = client.open("logged.py", "x = 1\n", 1).await;
        client.await_diagnostics(&uri, 1).await;
        let mut logged = Vec::new();
        while let Some(message) = client
            .await_notification_within("window/logMessage", Duration::from_secs(2), |_| true)
            .await
        {
            logged.push(message["message"].as_str().unwrap_or_default().to_string());
        }
        assert!(client.shutdown().await.expect("exit").success());
        (logged, std::fs::read_to_string(&stderr_file).unwrap())
    }

    let (logged, stderr) = session(false).await;
    assert!(!logged.is_empty(), "debug level logs something per check");
    for message in &logged {
        assert!(
            !stderr.contains(message.as_str()),
            "{message:?} went to stderr as well:\n{stderr}"
        );
    }
    let (logged, stderr) = session(true).await;
    assert!(
        logged
            .iter()
            .any(|message| stderr.contains(message.as_str())),
        "PLANAI_LSP_LOG_STDERR=1 keeps the stderr copy:\n{stderr}"
    );
}
