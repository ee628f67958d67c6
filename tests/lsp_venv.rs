//! Venv-backed validation through the LSP, against a real venv with planai 0.7.1.

mod lsp_client;
mod venv_and_processes;

use std::time::Duration;

use lsp_client::*;
use serde_json::{json, Value};

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
    let python = venv_and_processes::test_venv_python();
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
    let python = venv_and_processes::test_venv_python();
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
    // Validate version 2 too and wait for its result (a positive event, not a quiet period):
    // the validation of version 1 started first, so a leak would be published first. The
    // venv result that arrives must be version 2's: its error is one line further down.
    let (version, venv) = save_and_await_venv(&mut client, &uri).await;
    assert_eq!(
        version,
        json!(2),
        "venv results of version 1 were published"
    );
    let lines: Vec<&Value> = venv.iter().map(|d| &d["range"]["start"]["line"]).collect();
    assert_eq!(lines, vec![&json!(8)], "{venv:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_workspace_never_launches_python() {
    let python = venv_and_processes::test_venv_python();
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
    let plain =
        venv_and_processes::python_without_planai().expect("python3 on PATH without planai");
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

/// pydantic raises a field's problem from the `class` line: the venv's twin of a static CD2
/// (on the field's line) used to be shown as a second diagnostic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_venv_problem_that_repeats_a_static_one_on_another_line_is_shown_once() {
    let python = venv_and_processes::test_venv_python();
    let mut client = WorkspaceBuilder::new()
        .initialization_options(python_settings(&python))
        .start()
        .await;
    let source = "import warnings\nfrom typing import List, Type\n\nfrom planai import Task, TaskWorker\n\nwarnings.warn(\"reached the module body\")\n\n\nclass Excerpt(Task):\n    body: str\n\n\nclass Excerpter(TaskWorker):\n    output_types: List[Type[Task]] = [Excerpt]\n    max_words = 50\n\n    def consume_work(self, task: Excerpt):\n        pass\n";
    let uri = client.open("twin.py", source, 1).await;
    let (_, venv) = save_and_await_venv(&mut client, &uri).await;
    assert!(
        venv.iter().any(|d| d["message"]
            .as_str()
            .is_some_and(|m| m.contains("reached the module body"))),
        "the venv ran: {venv:?}"
    );
    assert!(
        venv.iter().all(|d| !d["message"]
            .as_str()
            .is_some_and(|m| m.contains("non-annotated attribute"))),
        "the twin of CD2 is merged: {venv:?}"
    );
    let all = client.await_diagnostics(&uri, 1).await;
    assert_eq!(
        all.iter().filter(|d| d["code"] == "CD2").count(),
        1,
        "{all:?}"
    );
}

/// Polls the server until it announced a selection of `python`; returns its state then.
async fn announced(client: &mut TestClient, python: &std::path::Path) -> Value {
    let want = python.display().to_string();
    let deadline = tokio::time::Instant::now() + VENV_WAIT;
    loop {
        let state = client
            .request("planai/debug/state", json!({"uri": ""}))
            .await;
        if state["announced"] == want.as_str() {
            return state;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{want} was never announced: {state}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// With `validation.run: off` the user chose not to run Python: no "planai is not installed"
/// warning, neither as a popup nor on the import lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_interpreter_warning_while_validation_is_off() {
    let plain =
        venv_and_processes::python_without_planai().expect("python3 on PATH without planai");
    let settings = json!({"python": plain.display().to_string(), "validation": {"run": "off"}});
    let mut client = WorkspaceBuilder::new()
        .initialization_options(json!({"settings": {"planai": settings.clone()}}))
        .configuration(settings)
        .start()
        .await;
    let uri = client.open("missing.py", IMPORT_TIME_ERROR, 1).await;
    let state = announced(&mut client, &plain).await;
    assert_eq!(state["interpreterProblem"], Value::Null, "{state}");
    assert_eq!(state["shownMessages"], json!([]), "{state}");
    let diagnostics = client.await_diagnostics(&uri, 1).await;
    assert!(
        diagnostics
            .iter()
            .all(|d| d["code"] != "planai-environment"),
        "{diagnostics:?}"
    );
}

/// A client that sends `planai.python` only in its `workspace/configuration` answer used to
/// get a popup about the discovered interpreter a moment before the configured one applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_interpreter_actually_chosen_is_announced() {
    let python = venv_and_processes::test_venv_python();
    let plain =
        venv_and_processes::python_without_planai().expect("python3 on PATH without planai");
    let mut client = WorkspaceBuilder::new()
        .configuration(json!({"python": python.display().to_string()}))
        .start_binary(&[("PATH", plain.parent().unwrap().to_str().unwrap())])
        .await;
    client.open("flow.py", IMPORT_TIME_ERROR, 1).await;
    let state = announced(&mut client, &python).await;
    assert_eq!(state["shownMessages"], json!([]), "{state}");
    assert_eq!(state["interpreterProblem"], Value::Null, "{state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_interpreter_setting_restarts_the_helper_with_the_new_python() {
    let plain =
        venv_and_processes::python_without_planai().expect("python3 on PATH without planai");
    let venv = venv_and_processes::test_venv_python();
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
    let python = venv_and_processes::test_venv_python();
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

// ---------------------------------------------------------------------------------------------
// No process outlives its validation, the helper or the server (issue 9, items 2 and 3). These
// run the built binary: it is a child subreaper, like in an editor.

#[cfg(target_os = "linux")]
mod containment {
    use super::*;
    use venv_and_processes::{
        proc_descendants, proc_parent, still_running, wait_until, Leftovers, SPIN,
    };

    const GONE: Duration = Duration::from_secs(15);

    /// A binary session whose validations may run for two minutes, so that only cancellation,
    /// a kill or the end of the session can stop them.
    async fn session(validation: Value) -> TestClient {
        let python = venv_and_processes::test_venv_python();
        let mut validation = validation;
        validation["timeoutMs"] = json!(120_000);
        WorkspaceBuilder::new()
            .capabilities(neovim_capabilities())
            .initialization_options(json!({"settings": {"planai": {
                "python": python.display().to_string(),
                "validation": validation,
            }}}))
            .start_binary(&[])
            .await
    }

    async fn save(client: &TestClient, uri: &str) {
        client
            .notify(
                "textDocument/didSave",
                json!({"textDocument": {"uri": uri}}),
            )
            .await;
    }

    /// Waits until nothing the session started runs any more: every process that was below
    /// the server in `tree`, and everything the modules noted or marked.
    async fn assert_nothing_left(tree: &[(u32, u64)], leftovers: &Leftovers) {
        assert!(!tree.is_empty());
        wait_until(GONE, "the session's processes to die", || {
            still_running(tree).is_empty()
        })
        .await;
        leftovers.wait_all_gone(GONE).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn closing_stdin_mid_validation_leaves_no_process() {
        let leftovers = Leftovers::new("stdin");
        let mut client = session(json!({})).await;
        let server = client.server_pid().unwrap();
        let uri = client.open("spin.py", &leftovers.module(SPIN), 1).await;
        save(&client, &uri).await;
        leftovers.wait_started(1, VENV_WAIT).await;
        let tree = proc_descendants(server);
        // helper, its spare, the request child, the session sleeper; the daemon was reparented
        // to the request child, a subreaper.
        assert!(tree.len() >= 5, "{tree:?}");

        client.close_input().await;
        let status = client.wait_exit(GONE).await.expect("the server exits");
        // No `shutdown` came first, so the exit code is 1 (as after `exit` alone).
        assert_eq!(status.code(), Some(1), "{status:?}");
        assert_nothing_left(&tree, &leftovers).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shutdown_with_twenty_validations_in_flight_leaves_nothing() {
        let leftovers = Leftovers::new("shutdown");
        let mut client = session(json!({})).await;
        let server = client.server_pid().unwrap();
        for i in 0..20 {
            let source = format!("{}# {i}\n", leftovers.module(SPIN));
            let uri = client.open(&format!("spin{i}.py"), &source, 1).await;
            save(&client, &uri).await;
        }
        leftovers.wait_started(2, VENV_WAIT).await;
        let tree = proc_descendants(server);
        let status = client.shutdown().await.expect("the server exits");
        assert!(status.success(), "{status:?}");
        assert_nothing_left(&tree, &leftovers).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn restart_helper_kills_everything_the_module_started() {
        let leftovers = Leftovers::new("restart");
        let mut client = session(json!({})).await;
        let uri = client.open("spin.py", &leftovers.module(SPIN), 1).await;
        save(&client, &uri).await;
        leftovers.wait_started(1, VENV_WAIT).await;
        let helper = proc_parent(leftovers.noted(Some("child"))[0]).unwrap();
        let mut old_tree = proc_descendants(helper);
        old_tree.push((helper, venv_and_processes::proc_start_time(helper).unwrap()));
        let restarted = client
            .request(
                "workspace/executeCommand",
                json!({"command": "planai.restartHelper", "arguments": []}),
            )
            .await;
        assert_eq!(restarted["restarted"], true);
        assert_nothing_left(&old_tree, &leftovers).await;
        assert!(client.shutdown().await.expect("exit").success());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sigkilled_helper_leaves_nothing_behind() {
        let leftovers = Leftovers::new("kill9");
        let mut client = session(json!({})).await;
        let server = client.server_pid().unwrap();
        let uri = client.open("spin.py", &leftovers.module(SPIN), 1).await;
        save(&client, &uri).await;
        leftovers.wait_started(1, VENV_WAIT).await;
        let child = leftovers.noted(Some("child"))[0];
        let helper = proc_parent(child).unwrap();
        let mut old_tree = proc_descendants(helper);
        old_tree.push((helper, venv_and_processes::proc_start_time(helper).unwrap()));
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(helper as libc::pid_t, libc::SIGKILL) };
        // The request child dies with it (parent-death signal); what it started is reparented
        // to the server, which kills it and reaps it.
        assert_nothing_left(&old_tree, &leftovers).await;
        wait_until(GONE, "the server to reap the orphans it adopted", || {
            venv_and_processes::zombie_children(server).is_empty()
        })
        .await;
        assert!(client.shutdown().await.expect("exit").success());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_module_that_kills_its_helper_leaves_nothing_behind() {
        let leftovers = Leftovers::new("parricide");
        let mut client = session(json!({})).await;
        let tail = format!("os.kill(os.getppid(), 9)\n{SPIN}");
        let uri = client.open("spin.py", &leftovers.module(&tail), 1).await;
        save(&client, &uri).await;
        leftovers.wait_started(1, VENV_WAIT).await;
        // The helper is restarted; nothing the killed one ran may remain.
        leftovers.wait_all_gone(GONE).await;
        assert!(client.shutdown().await.expect("exit").success());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn typing_cancels_superseded_validations_and_respects_the_cap() {
        typing_with_a_cap(planai_lsp::python::helper::DEFAULT_MAX_CONCURRENT, None).await;
    }

    /// `planai.validation.maxConcurrent` sets the cap.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_cap_is_a_setting() {
        typing_with_a_cap(1, Some(1)).await;
    }

    async fn typing_with_a_cap(cap: usize, setting: Option<usize>) {
        let leftovers = std::sync::Arc::new(Leftovers::new(&format!("ontype{cap}")));
        let mut validation = json!({"run": "onType", "debounceMs": 0});
        if let Some(setting) = setting {
            validation["maxConcurrent"] = json!(setting);
        }
        let mut client = session(validation).await;
        let server = client.server_pid().unwrap();
        let mut uris = Vec::new();
        for i in 0..4 {
            let source = format!("{}# document {i}\n", leftovers.module(SPIN));
            let uri = client.open(&format!("typed{i}.py"), &source, 1).await;
            save(&client, &uri).await;
            uris.push((uri, source));
        }
        // Let the helper start and the first validations run.
        leftovers.wait_started(cap, VENV_WAIT).await;
        let sampler = {
            let leftovers = leftovers.clone();
            let (stop_tx, mut stop) = tokio::sync::oneshot::channel::<()>();
            let task = tokio::spawn(async move {
                let mut most = 0;
                while stop.try_recv().is_err() {
                    most = most.max(leftovers.alive_noted(Some("child")).len());
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                most
            });
            (stop_tx, task)
        };
        // 20 keystrokes 150 ms apart, round robin over the four documents.
        for keystroke in 0..20 {
            let (uri, source) = &uris[keystroke % 4];
            let version = 2 + (keystroke / 4) as i64;
            let line = source.lines().count() + keystroke / 4;
            client
                .change(uri, version, json!([{"range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}}, "text": "#\n"}]))
                .await;
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        // Until the validations the keystrokes asked for have started (not a fixed sleep, so
        // a slow machine does not fail the count below).
        wait_until(VENV_WAIT, "6 validations to start", || {
            leftovers.noted(Some("child")).len() >= 6
        })
        .await;
        let (stop, task) = sampler;
        let _ = stop.send(());
        let most = task.await.unwrap();
        let started = leftovers.noted(Some("child")).len();
        assert!(
            most <= cap,
            "{most} validation children ran at once ({started} started, cap {cap})"
        );
        assert!(started >= 6, "only {started} validations started");
        let tree = proc_descendants(server);
        assert!(client.shutdown().await.expect("exit").success());
        assert_nothing_left(&tree, &leftovers).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cancel_request_kills_the_helper_child() {
        let leftovers = Leftovers::new("cancelrequest");
        let mut client = session(json!({"run": "off"})).await;
        let uri = client.open("spin.py", &leftovers.module(SPIN), 1).await;
        let id = client
            .send_request(
                "planai/validateTaskData",
                json!({"uri": uri, "className": "Anything", "data": {}}),
            )
            .await;
        leftovers.wait_started(1, VENV_WAIT).await;
        client.notify("$/cancelRequest", json!({"id": id})).await;
        let response = client.response(id).await;
        assert_eq!(response["error"]["code"], -32800, "{response}");
        leftovers.wait_all_gone(GONE).await;
        assert!(client.shutdown().await.expect("exit").success());
    }
}
