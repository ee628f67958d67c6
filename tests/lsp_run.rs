//! `planai.run` / `planai.debug` / `planai.cancelRun` / `planai.listRuns` through the LSP,
//! with the real venv: events, work-done progress, `planai (run)` diagnostics, cancellation.

mod lsp_client;
mod venv_and_processes;

use std::time::Duration;

use lsp_client::*;
use serde_json::{json, Value};
use venv_and_processes::{proc_niceness, Leftovers};

/// Far above the expected time of a run (~3 s of planai import); only turns a hang into a
/// failure.
const RUN_WAIT: Duration = Duration::from_secs(150);

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/run")
            .join(name),
    )
    .unwrap()
}

async fn start(capabilities: Value, options: Value) -> TestClient {
    let python = venv_and_processes::test_venv_python();
    let mut init = json!({"settings": {"planai": {"python": python.display().to_string(),
        "validation": {"run": "off"}}}});
    if let (Some(init), Some(extra)) = (init.as_object_mut(), options.as_object()) {
        init.extend(extra.clone());
    }
    WorkspaceBuilder::new()
        .capabilities(capabilities)
        .initialization_options(init)
        .configuration(
            json!({"python": python.display().to_string(), "validation": {"run": "off"}}),
        )
        .start()
        .await
}

async fn execute(client: &mut TestClient, command: &str, argument: Value) -> Value {
    client
        .request(
            "workspace/executeCommand",
            json!({"command": command, "arguments": [argument]}),
        )
        .await
}

/// The run events a test received and has not looked at yet, in order: every
/// `planai/runEvents` notification's `events`, each as `{runId, uri, event}`.
#[derive(Default)]
struct RunLog {
    unseen: std::collections::VecDeque<Value>,
    /// `planai/runEvents` notifications read so far, and the events they carried.
    notifications: usize,
    events: usize,
}

impl RunLog {
    /// Reads notifications until one brings an event of `run_id` that satisfies `predicate`
    /// (or returns one read earlier), and takes it; `None` after `within`.
    async fn next_within(
        &mut self,
        client: &mut TestClient,
        run_id: &str,
        within: Duration,
        predicate: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(index) = self
                .unseen
                .iter()
                .position(|e| e["runId"] == run_id && predicate(&e["event"]))
            {
                return self.unseen.remove(index);
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let params = client
                .await_notification_within("planai/runEvents", left, |_| true)
                .await?;
            let events = params["events"].as_array().expect("an events array");
            assert!(
                !events.is_empty(),
                "a notification without events: {params}"
            );
            self.notifications += 1;
            self.events += events.len();
            for event in events {
                self.unseen.push_back(
                    json!({"runId": params["runId"], "uri": params["uri"], "event": event}),
                );
            }
        }
    }

    /// The event of `run_id` that satisfies `predicate`, waiting up to `RUN_WAIT` for it.
    async fn next(
        &mut self,
        client: &mut TestClient,
        run_id: &str,
        predicate: impl Fn(&Value) -> bool,
    ) -> Value {
        self.next_within(client, run_id, RUN_WAIT, predicate)
            .await
            .expect("the run event")["event"]
            .clone()
    }
}

fn run_diagnostics(params: &Value) -> Vec<Value> {
    params["diagnostics"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter(|d| d["source"] == "planai (run)")
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_worker_becomes_a_diagnostic_on_its_line_until_the_next_run() {
    let mut log = RunLog::default();
    let mut client = start(neovim_capabilities(), json!({})).await;
    let source = fixture("worker_fails.py");
    let uri = client.open("flow.py", &source, 1).await;
    client.await_diagnostics(&uri, 1).await;

    let answer = execute(
        &mut client,
        "planai.run",
        json!({"uri": uri, "graph": null,
        "inputs": null, "timeout": null, "mockLlm": null, "workDoneToken": null}),
    )
    .await;
    let run_id = answer["runId"].as_str().expect("a run id").to_string();
    let token = json!(format!("planai-run/{run_id}"));

    // The progress the server created: begin … end with the outcome.
    let begin_token = token.clone();
    let begin = client
        .await_notification_within("$/progress", RUN_WAIT, move |p| {
            p["token"] == begin_token && p["value"]["kind"] == "begin"
        })
        .await
        .expect("progress begin");
    assert_eq!(begin["value"]["title"], "PlanAI run: flow.py");
    assert_eq!(begin["value"]["cancellable"], true);

    let ended = log
        .next(&mut client, &run_id, |e| e["event"] == "ended")
        .await;
    assert_eq!(ended["outcome"], "failed");
    let end_token = token.clone();
    let end = client
        .await_notification_within("$/progress", RUN_WAIT, move |p| {
            p["token"] == end_token && p["value"]["kind"] == "end"
        })
        .await
        .expect("progress end");
    assert_eq!(
        end["value"]["message"], "failed: 1 task(s) done, 2 failed (a task failed)",
        "{end}"
    );
    // Every event came before `ended`: two failures, each with its task.
    let mut failed = 0;
    while let Some(params) = log
        .next_within(&mut client, &run_id, Duration::ZERO, |e| {
            e["event"] == "taskFailed"
        })
        .await
    {
        assert_eq!(params["event"]["worker"], "Measurer");
        assert_eq!(params["uri"], uri.as_str());
        failed += 1;
    }
    assert_eq!(failed, 2);

    let expected_line = source.lines().position(|l| l.contains("task.txt")).unwrap();
    let uri_owned = uri.clone();
    let published = client
        .await_notification_within("textDocument/publishDiagnostics", RUN_WAIT, move |p| {
            p["uri"] == uri_owned.as_str() && !run_diagnostics(p).is_empty()
        })
        .await
        .expect("run diagnostics");
    let shown = run_diagnostics(&published);
    assert_eq!(shown.len(), 1, "the same failure once: {shown:?}");
    assert_eq!(shown[0]["range"]["start"]["line"], expected_line);
    assert_eq!(shown[0]["range"]["start"]["character"], 8);
    assert_eq!(shown[0]["code"], "AttributeError");
    assert_eq!(shown[0]["severity"], 1);
    let message = shown[0]["message"].as_str().unwrap();
    assert!(
        message.contains("'Sentence' object has no attribute 'txt'")
            && message.contains("worker Measurer on task Sentence"),
        "{message}"
    );

    // Fixed and run again: the old run's diagnostic is cleared.
    let fixed = source.replace("task.txt", "task.text");
    client.change(&uri, 2, json!([{"text": fixed}])).await;
    let answer = execute(&mut client, "planai.run", json!({"uri": uri})).await;
    let second = answer["runId"].as_str().unwrap().to_string();
    let uri_owned = uri.clone();
    let cleared = client
        .await_notification_within("textDocument/publishDiagnostics", RUN_WAIT, move |p| {
            p["uri"] == uri_owned.as_str() && p["version"] == 2 && run_diagnostics(p).is_empty()
        })
        .await;
    assert!(cleared.is_some(), "the run diagnostic is cleared");
    let ended = log
        .next(&mut client, &second, |e| e["event"] == "ended")
        .await;
    assert_eq!(ended["outcome"], "succeeded");
    let runs = execute(&mut client, "planai.listRuns", json!({})).await;
    let states: Vec<&str> = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, vec!["failed", "succeeded"]);
}

async fn cancel_mid_way(cancel_by_progress: bool) {
    let mut log = RunLog::default();
    let mut client = start(vscode_capabilities(), json!({})).await;
    let leftovers = Leftovers::new("lsp-run");
    let uri = client
        .open("slow.py", &leftovers.module(&fixture("slow.py")), 1)
        .await;
    let answer = execute(
        &mut client,
        "planai.debug",
        json!({"uri": uri, "workDoneToken": "client-token-1", "mockLlm": true}),
    )
    .await;
    let run_id = answer["runId"].as_str().unwrap().to_string();
    log.next(&mut client, &run_id, |e| {
        e["event"] == "output" && e["text"] == "sleeping"
    })
    .await;
    // planai.debug: the task's JSON in.
    let input = log
        .next(&mut client, &run_id, |e| e["event"] == "debugTaskInput")
        .await;
    assert_eq!(input["task"], json!({"n": 1}));
    // The run is background work: its runner is 10 steps nicer than the server (this process).
    let runs = execute(&mut client, "planai.listRuns", json!({})).await;
    let runner = runs["runs"][0]["pid"].as_u64().expect("the runner's pid") as u32;
    let ours = proc_niceness(std::process::id()).expect("our niceness");
    assert_eq!(proc_niceness(runner), Some((ours + 10).min(19)));
    if cancel_by_progress {
        client
            .notify(
                "window/workDoneProgress/cancel",
                json!({"token": "client-token-1"}),
            )
            .await;
    } else {
        let answer = execute(&mut client, "planai.cancelRun", json!({"runId": run_id})).await;
        assert_eq!(answer["cancelled"], true);
    }
    let ended = log
        .next(&mut client, &run_id, |e| e["event"] == "ended")
        .await;
    assert_eq!(ended["outcome"], "cancelled");
    let end = client
        .await_notification_within("$/progress", RUN_WAIT, |p| {
            p["token"] == "client-token-1" && p["value"]["kind"] == "end"
        })
        .await
        .expect("progress end");
    assert!(
        end["value"]["message"]
            .as_str()
            .unwrap()
            .starts_with("cancelled"),
        "{end}"
    );
    assert!(!leftovers.noted(Some("daemon")).is_empty());
    leftovers.wait_all_gone(Duration::from_secs(10)).await;
    let again = execute(&mut client, "planai.cancelRun", json!(run_id)).await;
    assert_eq!(again["cancelled"], false, "an ended run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_from_the_clients_progress_kills_the_run_tree() {
    cancel_mid_way(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_run_kills_the_run_tree() {
    cancel_mid_way(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_llm_runs_an_llm_graph_with_no_key_and_reports_its_sink_output() {
    let mut log = RunLog::default();
    let mut client = start(helix_capabilities(), json!({})).await;
    let uri = client.open("answers.py", &fixture("llm_graph.py"), 1).await;
    let answer = execute(
        &mut client,
        "planai.run",
        json!({"uri": uri, "graph": "build_graph", "inputs": [{"question": "Why?"}], "mockLlm": true}),
    )
    .await;
    let run_id = answer["runId"].as_str().unwrap().to_string();
    let output = log
        .next(&mut client, &run_id, |e| e["event"] == "sinkOutput")
        .await;
    assert_eq!(output["task"], json!({"text": "mock answer (0.5)"}));
    let ended = log
        .next(&mut client, &run_id, |e| e["event"] == "ended")
        .await;
    assert_eq!(ended["outcome"], "succeeded");
    // Helix announces no workDoneProgress: no progress was sent.
    let progress = client
        .await_notification_within("$/progress", Duration::from_millis(1), |_| true)
        .await;
    assert!(progress.is_none(), "{progress:?}");
    let runs = execute(&mut client, "planai.listRuns", json!({})).await;
    assert_eq!(runs["runs"][0]["mockLlm"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_runs_in_an_untrusted_workspace_and_bad_arguments_are_refused() {
    let mut client = start(neovim_capabilities(), json!({"untrustedWorkspace": true})).await;
    let uri = client.open("flow.py", &fixture("succeeds.py"), 1).await;
    let id = client
        .send_request(
            "workspace/executeCommand",
            json!({"command": "planai.run", "arguments": [{"uri": uri}]}),
        )
        .await;
    let response = client.response(id).await;
    assert!(
        response["error"]["message"]
            .as_str()
            .unwrap()
            .contains("untrusted"),
        "{response}"
    );
    let id = client
        .send_request(
            "workspace/executeCommand",
            json!({"command": "planai.debug", "arguments": [{"uri": uri, "inputs": "x"}]}),
        )
        .await;
    let response = client.response(id).await;
    assert_eq!(response["error"]["code"], -32602, "{response}");
    let runs = execute(&mut client, "planai.listRuns", json!({})).await;
    assert_eq!(runs["runs"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_helpers_cold_start_reports_progress_until_it_is_ready() {
    let python = venv_and_processes::test_venv_python();
    let mut client = WorkspaceBuilder::new()
        .capabilities(neovim_capabilities())
        .initialization_options(
            json!({"settings": {"planai": {"python": python.display().to_string()}}}),
        )
        .configuration(json!({"python": python.display().to_string()}))
        .start()
        .await;
    client.open("flow.py", &fixture("succeeds.py"), 1).await;
    let begin = client
        .await_notification_within("$/progress", RUN_WAIT, |p| {
            p["value"]["kind"] == "begin"
                && p["value"]["title"] == "PlanAI: starting the Python helper"
        })
        .await
        .expect("progress begin");
    let token = begin["token"].clone();
    let end = client
        .await_notification_within("$/progress", RUN_WAIT, move |p| {
            p["token"] == token && p["value"]["kind"] == "end"
        })
        .await
        .expect("progress end");
    assert!(
        end["value"]["message"]
            .as_str()
            .unwrap()
            .starts_with("ready: planai 0.7.1 on Python 3."),
        "{end}"
    );
}

/// The client goes away mid-run (its end of stdin closes, no shutdown): the server exits and
/// takes the whole run with it, including what the workflow started in a session of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_vanishes_mid_run_leaves_no_run_process_behind() {
    let mut log = RunLog::default();
    let python = venv_and_processes::test_venv_python();
    let settings = json!({"python": python.display().to_string(), "validation": {"run": "off"}});
    let mut client = WorkspaceBuilder::new()
        .initialization_options(json!({"settings": {"planai": settings.clone()}}))
        .configuration(settings)
        .start_binary(&[])
        .await;
    let leftovers = Leftovers::new("lsp-run-vanish");
    let uri = client
        .open("slow.py", &leftovers.module(&fixture("slow.py")), 1)
        .await;
    let answer = execute(&mut client, "planai.run", json!({"uri": uri})).await;
    let run_id = answer["runId"].as_str().expect("a run id").to_string();
    log.next(&mut client, &run_id, |e| {
        e["event"] == "output" && e["text"] == "sleeping"
    })
    .await;
    assert!(!leftovers.noted(Some("daemon")).is_empty());
    let status = client.close_input_and_wait().await;
    assert_eq!(status.code(), Some(1), "no shutdown came: {status:?}");
    leftovers.wait_all_gone(Duration::from_secs(10)).await;
}

/// A fast run's ~1,200 events reach the client batched into `planai/runEvents`
/// notifications, every one of them, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_runs_events_arrive_batched_complete_and_in_order() {
    let mut log = RunLog::default();
    let mut client = start(vscode_capabilities(), json!({})).await;
    let uri = client.open("many.py", &fixture("many_tasks.py"), 1).await;
    let answer = execute(&mut client, "planai.run", json!({"uri": uri})).await;
    let run_id = answer["runId"].as_str().unwrap().to_string();
    let ended = log
        .next(&mut client, &run_id, |e| e["event"] == "ended")
        .await;
    assert_eq!(ended["outcome"], "succeeded", "{ended}");
    // `ended` is the last event: everything else was read before it.
    let mut events: Vec<Value> = log.unseen.drain(..).map(|e| e["event"].clone()).collect();
    events.push(ended);
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(names[0], "started");
    assert_eq!(names.iter().filter(|n| **n == "ended").count(), 1);
    // The Fan's task and its 400 Items: each queued, started, completed, in that order.
    let (mut queued, mut started, mut completed) = (0, 0, 0);
    for name in &names {
        match *name {
            "taskQueued" => queued += 1,
            "taskStarted" => started += 1,
            "taskCompleted" => completed += 1,
            _ => {}
        }
        assert!(
            completed <= started && started <= queued,
            "out of order: {names:?}"
        );
    }
    assert_eq!((queued, started, completed), (401, 401, 401));
    let finished = events.iter().find(|e| e["event"] == "finished").unwrap();
    assert_eq!(finished["completed"], 401);
    assert_eq!(log.events, events.len(), "no other run, nothing left over");
    assert!(
        log.notifications < log.events,
        "{} notifications for {} events: nothing was batched",
        log.notifications,
        log.events
    );
}
