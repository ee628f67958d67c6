//! Venv-backed validation through the LSP, against a real venv with planai 0.7.1.

mod common;
mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::*;

const VENV_WAIT: Duration = Duration::from_secs(90);

fn python_settings(python: &std::path::Path) -> Value {
    json!({"settings": {"planai": {"python": python.display().to_string()}}})
}

const IMPORT_TIME_ERROR: &str = "from planai import Task\n\n\nclass Question(Task):\n    text: str\n\n\nLIMIT = int(\"not a number\")\n";

fn has_venv(params: &Value) -> bool {
    params["diagnostics"]
        .as_array()
        .is_some_and(|d| d.iter().any(|d| d["source"] == "planai (venv)"))
}

/// Saves `uri` and returns the version and the `planai (venv)` diagnostics of the publish
/// that follows.
async fn save_and_await_venv(client: &mut TestClient, uri: &str) -> (Value, Vec<Value>) {
    client
        .notify(
            "textDocument/didSave",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    let uri_owned = uri.to_string();
    let published = client
        .await_notification_within("textDocument/publishDiagnostics", VENV_WAIT, move |p| {
            p["uri"] == uri_owned.as_str() && has_venv(p)
        })
        .await
        .expect("venv diagnostics after save");
    let venv = published["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["source"] == "planai (venv)")
        .cloned()
        .collect();
    (published["version"].clone(), venv)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_merges_venv_results_into_the_same_versioned_publish() {
    let python = common::test_venv_python();
    let mut client = WorkspaceBuilder::new()
        .capabilities(neovim_capabilities())
        .initialization_options(python_settings(&python))
        .configuration(json!({"python": python.display().to_string()}))
        .start()
        .await;
    let uri = client.open("app.py", IMPORT_TIME_ERROR, 1).await;
    let static_only = client.await_diagnostics(&uri, 1).await;
    assert!(static_only.iter().all(|d| d["source"] != "planai (venv)"));

    let (version, venv) = save_and_await_venv(&mut client, &uri).await;
    assert_eq!(version, 1);
    assert_eq!(venv.len(), 1, "{venv:?}");
    assert_eq!(venv[0]["code"], "ValueError");
    assert_eq!(venv[0]["range"]["start"]["line"], 7);
    assert!(venv[0]["message"]
        .as_str()
        .unwrap()
        .contains("invalid literal for int()"));

    // Fix it and save: the venv diagnostic goes away for the new version.
    client
        .change(&uri, 2, json!([{"range": {"start": {"line": 7, "character": 12}, "end": {"line": 7, "character": 26}}, "text": "\"3\""}]))
        .await;
    let fixed = client.await_diagnostics(&uri, 2).await;
    assert!(
        fixed.iter().all(|d| d["source"] != "planai (venv)"),
        "{fixed:?}"
    );
    client
        .notify(
            "textDocument/didSave",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;

    let data = client
        .request(
            "planai/validateTaskData",
            json!({"uri": uri, "className": "Question", "data": {"txt": "typo"}}),
        )
        .await;
    assert_eq!(data["ok"], false);
    assert_eq!(data["errors"][0]["type"], "missing");
    let data = client
        .request(
            "planai/validateTaskData",
            json!({"uri": uri, "className": "Question", "data": {"text": "fine"}}),
        )
        .await;
    assert_eq!(data["ok"], true);

    let environments = client
        .request(
            "workspace/executeCommand",
            json!({"command": "planai.listEnvironments", "arguments": []}),
        )
        .await;
    let selected: Vec<&Value> = environments
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["selected"] == true)
        .collect();
    assert_eq!(selected.len(), 1);
    assert_eq!(selected[0]["planai"], "0.7.1");
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn venv_results_for_an_older_version_are_never_published() {
    let python = common::test_venv_python();
    let mut client = WorkspaceBuilder::new()
        .initialization_options(python_settings(&python))
        .start()
        .await;
    let uri = client.open("stale.py", IMPORT_TIME_ERROR, 1).await;
    client.await_diagnostics(&uri, 1).await;
    client
        .notify(
            "textDocument/didSave",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    // Edit right away: the validation of version 1 can no longer be published.
    client
        .change(&uri, 2, json!([{"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "# edited\n"}]))
        .await;
    client.await_diagnostics(&uri, 2).await;
    let uri_clone = uri.clone();
    let leaked = client
        .await_notification_within(
            "textDocument/publishDiagnostics",
            Duration::from_secs(8),
            move |p| p["uri"] == uri_clone.as_str() && has_venv(p),
        )
        .await;
    assert!(
        leaked.is_none(),
        "venv results of version 1 were published: {leaked:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_workspace_never_launches_python() {
    let python = common::test_venv_python();
    let mut options = python_settings(&python);
    options["untrustedWorkspace"] = json!(true);
    let mut client = WorkspaceBuilder::new()
        .initialization_options(options)
        .start()
        .await;
    let uri = client.open("untrusted.py", IMPORT_TIME_ERROR, 1).await;
    client.await_diagnostics(&uri, 1).await;
    client
        .notify(
            "textDocument/didSave",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    let message = client
        .await_notification("window/showMessage", |p| {
            p["message"]
                .as_str()
                .is_some_and(|m| m.contains("not trusted"))
        })
        .await;
    assert!(message["message"].as_str().unwrap().contains("statically"));
    let state = client
        .request("planai/debug/state", json!({"uri": uri}))
        .await;
    assert_eq!(state["helper"], "Untrusted", "{state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planai_missing_is_reported_on_the_import_lines() {
    let plain = common::python_without_planai().expect("python3 on PATH without planai");
    let mut client = WorkspaceBuilder::new()
        .initialization_options(python_settings(&plain))
        .start()
        .await;
    let uri = client.open("missing.py", IMPORT_TIME_ERROR, 1).await;
    let uri_clone = uri.clone();
    let published = client
        .await_notification_within("textDocument/publishDiagnostics", VENV_WAIT, move |p| {
            p["uri"] == uri_clone.as_str()
                && p["diagnostics"]
                    .as_array()
                    .is_some_and(|d| d.iter().any(|d| d["code"] == "planai-environment"))
        })
        .await
        .expect("a diagnostic on the import line");
    let diagnostic = published["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "planai-environment")
        .unwrap()
        .clone();
    assert_eq!(diagnostic["range"]["start"]["line"], 0);
    assert!(
        diagnostic["message"].as_str().unwrap().contains("planai"),
        "{diagnostic}"
    );
    client
        .await_notification("window/showMessage", |p| {
            p["message"].as_str().is_some_and(|m| m.contains("planai"))
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_interpreter_setting_restarts_the_helper_with_the_new_python() {
    let plain = common::python_without_planai().expect("python3 on PATH without planai");
    let venv = common::test_venv_python();
    let mut client = WorkspaceBuilder::new()
        .capabilities(neovim_capabilities())
        .initialization_options(python_settings(&plain))
        .start()
        .await;
    let uri = client.open("switch.py", IMPORT_TIME_ERROR, 1).await;
    let uri_clone = uri.clone();
    client
        .await_notification_within("textDocument/publishDiagnostics", VENV_WAIT, move |p| {
            p["uri"] == uri_clone.as_str()
                && p["diagnostics"]
                    .as_array()
                    .is_some_and(|d| d.iter().any(|d| d["code"] == "planai-environment"))
        })
        .await
        .expect("planai missing in the plain interpreter");

    // Neovim pushes its settings table with didChangeConfiguration.
    client.forget_received();
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"planai": {"python": venv.display().to_string()}}}),
        )
        .await;
    let uri_clone = uri.clone();
    client
        .await_notification_within("textDocument/publishDiagnostics", VENV_WAIT, move |p| {
            p["uri"] == uri_clone.as_str()
                && p["diagnostics"]
                    .as_array()
                    .is_some_and(|d| d.iter().all(|d| d["code"] != "planai-environment"))
        })
        .await
        .expect("the import-line warning goes away");
    // Publishes from before the switch may still have been in flight: drop them.
    client.forget_received();
    let (_, venv_codes) = save_and_await_venv(&mut client, &uri).await;
    assert_eq!(venv_codes[0]["code"], "ValueError", "{venv_codes:?}");
    let state = client
        .request("planai/debug/state", json!({"uri": uri}))
        .await;
    assert!(
        state["helper"]
            .as_str()
            .unwrap_or_default()
            .contains("0.7.1"),
        "{state}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modules_in_packages_are_validated_with_relative_imports_working() {
    let python = common::test_venv_python();
    let mut client = WorkspaceBuilder::new()
        .file("shop/__init__.py", "")
        .file(
            "shop/tasks.py",
            "from planai import Task\n\n\nclass Order(Task):\n    item: str\n",
        )
        .initialization_options(python_settings(&python))
        .start()
        .await;
    let source =
        "from planai import TaskWorker\n\nfrom .tasks import Order\n\nQUANTITY = int(\"many\")\n";
    let uri = client.open("shop/graph.py", source, 1).await;
    client.await_diagnostics(&uri, 1).await;
    let (_, venv) = save_and_await_venv(&mut client, &uri).await;
    // The relative import worked: the failure is the one on line 5, not the import.
    assert_eq!(venv.len(), 1, "{venv:?}");
    assert_eq!(venv[0]["code"], "ValueError", "{venv:?}");
    assert_eq!(venv[0]["range"]["start"]["line"], 4);
}
