//! Running workflows for real (`planai_lsp::run`) with the shared test venv: what the events
//! say, in which order, and that nothing a run started outlives it.

mod venv_and_processes;

use planai_lsp::run::{
    RunEvent, RunLimits, RunManager, RunOutcome, RunProgress, RunRequest, ScratchLocation, Stream,
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;
use venv_and_processes::{
    proc_alive, proc_descendants, proc_niceness, proc_policy, proc_session, test_venv_python,
    wait_until, Leftovers,
};

/// Far above the expected time (a run costs the interpreter's ~3 s import of planai); only
/// turns a hang into a failure.
const DEADLINE: Duration = Duration::from_secs(180);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/run")
        .join(name)
}

fn request(path: PathBuf, source: String) -> RunRequest {
    RunRequest {
        interpreter: vec![test_venv_python().to_string_lossy().into_owned()],
        roots: vec![path.parent().unwrap().to_path_buf()],
        path,
        source,
        graph: None,
        inputs: None,
        mock_llm: false,
        debug: false,
        timeout: None,
        scratch: ScratchLocation::Temp,
    }
}

fn fixture_request(name: &str) -> RunRequest {
    let path = fixture(name);
    let source = std::fs::read_to_string(&path).unwrap();
    request(path, source)
}

/// Every event of a run, up to and including `Ended`.
async fn all_events(manager: &RunManager, request: RunRequest) -> Vec<RunEvent> {
    let mut started = manager.start(request);
    tokio::time::timeout(DEADLINE, async {
        let mut events = Vec::new();
        while let Some(event) = started.events.recv().await {
            events.push(event);
        }
        events
    })
    .await
    .expect("the run did not end")
}

fn outcome(events: &[RunEvent]) -> RunOutcome {
    match events.last() {
        Some(RunEvent::Ended { outcome, .. }) => *outcome,
        other => panic!("the last event is not `ended`: {other:?}"),
    }
}

fn count(events: &[RunEvent], name: &str) -> usize {
    events.iter().filter(|e| e.name() == name).count()
}

fn position(events: &[RunEvent], name: &str) -> usize {
    events
        .iter()
        .position(|e| e.name() == name)
        .unwrap_or_else(|| panic!("no {name} event in {events:#?}"))
}

fn sink_outputs(events: &[RunEvent]) -> Vec<Value> {
    let mut outputs: Vec<Value> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::SinkOutput { task, .. } => Some(task.clone()),
            _ => None,
        })
        .collect();
    outputs.sort_by_key(|v| v.to_string());
    outputs
}

/// The 1-based line of the first line containing `needle`.
fn line_of(path: &Path, needle: &str) -> u32 {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().position(|l| l.contains(needle)).unwrap() as u32 + 1
}

#[tokio::test]
async fn a_module_run_reports_every_task_in_order_and_its_sink_outputs() {
    let manager = RunManager::default();
    let events = all_events(&manager, fixture_request("succeeds.py")).await;
    assert_eq!(outcome(&events), RunOutcome::Succeeded, "{events:#?}");
    assert_eq!(position(&events, "started"), 0, "{events:#?}");
    assert!(position(&events, "graphStarted") < position(&events, "taskQueued"));
    // Splitter once, Counter twice, the sink twice.
    assert_eq!(count(&events, "taskQueued"), 5);
    assert_eq!(count(&events, "taskStarted"), 5);
    assert_eq!(count(&events, "taskCompleted"), 5);
    assert_eq!(count(&events, "taskFailed"), 0);
    // Each task is queued, then started, then completed.
    for (index, event) in events.iter().enumerate() {
        if let RunEvent::TaskStarted {
            worker, provenance, ..
        } = event
        {
            let queued_before = events[..index].iter().any(|e| {
                matches!(e, RunEvent::TaskQueued { worker: w, provenance: p, .. } if w == worker && p == provenance)
            });
            let completed_after = events[index..].iter().any(|e| {
                matches!(e, RunEvent::TaskCompleted { worker: w, provenance: p, .. } if w == worker && p == provenance)
            });
            assert!(queued_before && completed_after, "{event:?} in {events:#?}");
        }
    }
    assert_eq!(
        sink_outputs(&events),
        vec![
            json!({"text": "One two", "words": 2}),
            json!({"text": "Three four five", "words": 3})
        ]
    );
    let printed: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::Output {
                stream: Stream::Stdout,
                text,
            } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(printed.len(), 2, "{printed:?}");
    assert!(printed.contains(&"counting One two"), "{printed:?}");
    let finished = position(&events, "finished");
    assert!(finished > position(&events, "stats"));
    let RunEvent::Finished {
        completed, failed, ..
    } = &events[finished]
    else {
        unreachable!()
    };
    assert_eq!((*completed, *failed), (5, 0));
    let mut progress = RunProgress::default();
    events.iter().for_each(|e| progress.apply(e));
    assert_eq!(progress.workers["Counter"].completed, 2);
    assert_eq!(progress.totals().queued + progress.totals().running, 0);
}

#[tokio::test]
async fn a_builder_runs_with_inputs_validated_against_the_entry_task_type() {
    let manager = RunManager::default();
    let mut good = fixture_request("succeeds.py");
    good.graph = Some("build_graph".into());
    good.inputs = Some(vec![json!({"text": "a b. c"})]);
    let events = all_events(&manager, good).await;
    assert_eq!(outcome(&events), RunOutcome::Succeeded, "{events:#?}");
    assert_eq!(
        sink_outputs(&events),
        vec![
            json!({"text": "a b", "words": 2}),
            json!({"text": "c", "words": 1})
        ]
    );

    let mut bad = fixture_request("succeeds.py");
    bad.graph = Some("build_graph".into());
    bad.inputs = Some(vec![json!({"txt": "misspelt"})]);
    let events = all_events(&manager, bad).await;
    assert_eq!(outcome(&events), RunOutcome::Error, "{events:#?}");
    assert_eq!(
        count(&events, "taskStarted"),
        0,
        "nothing runs: {events:#?}"
    );
    let error = events
        .iter()
        .find_map(|e| match e {
            RunEvent::RunnerError { kind, message, .. } => Some((kind.clone(), message.clone())),
            _ => None,
        })
        .expect("a runnerError event");
    assert_eq!(error.0, "input");
    assert!(
        error.1.contains("Splitter takes Document") && error.1.contains("text"),
        "{}",
        error.1
    );
}

#[tokio::test]
async fn without_inputs_a_builder_gets_the_tasks_the_modules_own_run_call_passes() {
    let manager = RunManager::default();
    let mut builder = fixture_request("succeeds.py");
    builder.graph = Some("build_graph".into());
    let events = all_events(&manager, builder).await;
    assert_eq!(outcome(&events), RunOutcome::Succeeded, "{events:#?}");
    assert_eq!(
        count(&events, "graphStarted"),
        1,
        "the module's own run was only captured"
    );
    assert_eq!(
        sink_outputs(&events),
        vec![
            json!({"text": "One two", "words": 2}),
            json!({"text": "Three four five", "words": 3})
        ]
    );

    // A module run with inputs: they replace the initial tasks of the module's own call.
    let mut module = fixture_request("succeeds.py");
    module.inputs = Some(vec![json!({"text": "only one"})]);
    let events = all_events(&manager, module).await;
    assert_eq!(outcome(&events), RunOutcome::Succeeded, "{events:#?}");
    assert_eq!(
        sink_outputs(&events),
        vec![json!({"text": "only one", "words": 2})]
    );
}

#[tokio::test]
async fn a_module_that_runs_no_graph_says_what_to_give() {
    let manager = RunManager::default();
    let path = fixture("succeeds.py");
    let source = std::fs::read_to_string(&path)
        .unwrap()
        .replace("if __name__ == \"__main__\":", "if False:");
    let events = all_events(&manager, request(path, source)).await;
    assert_eq!(outcome(&events), RunOutcome::Error, "{events:#?}");
    assert!(events.iter().any(|e| matches!(e,
        RunEvent::RunnerError { kind, message, .. } if kind == "input" && message.contains("ran no graph"))));
}

#[tokio::test]
async fn a_failure_inside_a_worker_is_reported_on_the_users_line() {
    let manager = RunManager::default();
    let events = all_events(&manager, fixture_request("worker_fails.py")).await;
    assert_eq!(outcome(&events), RunOutcome::Failed, "{events:#?}");
    let path = fixture("worker_fails.py");
    let expected_line = line_of(&path, "task.txt");
    let failures: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::TaskFailed {
                worker,
                task_type,
                exception,
                message,
                location,
                will_retry,
                ..
            } => Some((
                worker.clone(),
                task_type.clone(),
                exception.clone(),
                message.clone(),
                location.clone(),
                *will_retry,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(failures.len(), 2, "one per sentence: {events:#?}");
    for (worker, task_type, exception, message, location, will_retry) in failures {
        assert_eq!(
            (worker.as_str(), task_type.as_str()),
            ("Measurer", "Sentence")
        );
        assert_eq!(exception, "AttributeError");
        assert_eq!(message, "'Sentence' object has no attribute 'txt'");
        assert!(!will_retry);
        let location = location.expect("a location in the workspace");
        assert_eq!(Path::new(&location.path), path);
        assert_eq!(location.line, expected_line);
        assert_eq!(location.column, 8);
    }
    let mut progress = RunProgress::default();
    events.iter().for_each(|e| progress.apply(e));
    assert_eq!(progress.workers["Measurer"].failed, 2);
    assert_eq!(progress.workers["Splitter"].completed, 1);
}

/// A module that starts a session sleeper and a double-forked daemon, then runs a graph
/// whose worker sleeps.
fn leftovers_module(leftovers: &Leftovers) -> String {
    let graph = std::fs::read_to_string(fixture("slow.py")).unwrap();
    leftovers.module(&graph)
}

async fn assert_cancelled_tree_is_gone(cancel_with: Option<&str>, timeout: Option<Duration>) {
    let leftovers = Leftovers::new("run");
    let manager = RunManager::default();
    let path = fixture("slow.py");
    let mut run_request = request(path, leftovers_module(&leftovers));
    run_request.timeout = timeout;
    let mut started = manager.start(run_request);
    let id = started.id.clone();
    let mut events = Vec::new();
    let mut runner_pid = None;
    let collected = tokio::time::timeout(DEADLINE, async {
        while let Some(event) = started.events.recv().await {
            if let RunEvent::Started { pid, .. } = &event {
                runner_pid = Some(*pid);
            }
            let worker_started =
                matches!(&event, RunEvent::Output { text, .. } if text == "sleeping");
            events.push(event);
            if worker_started && cancel_with.is_some() {
                assert_eq!(manager.list()[0].state, "running");
                assert!(manager.cancel(&id), "the run is known and running");
            }
        }
    })
    .await;
    collected.expect("the run did not end");
    let expected = if cancel_with.is_some() {
        RunOutcome::Cancelled
    } else {
        RunOutcome::TimedOut
    };
    assert_eq!(outcome(&events), expected, "{events:#?}");
    assert_eq!(count(&events, "taskCompleted"), 0);
    // The runner, the worker's own child, the session sleeper and the daemon: all gone.
    assert!(!leftovers.noted(Some("daemon")).is_empty(), "{events:#?}");
    leftovers.wait_all_gone(Duration::from_secs(10)).await;
    let pid = runner_pid.expect("a started event");
    wait_until(Duration::from_secs(10), "the runner to be gone", || {
        !proc_alive(pid)
    })
    .await;
    assert_eq!(manager.list()[0].state, expected.as_str());
    assert!(!manager.cancel(&id), "an ended run cannot be cancelled");
}

#[tokio::test]
async fn cancelling_a_run_mid_way_kills_its_whole_tree() {
    assert_cancelled_tree_is_gone(Some("cancel"), None).await;
}

#[tokio::test]
async fn a_run_that_times_out_is_killed_with_its_tree() {
    // Long enough for the interpreter to import planai and start the worker on a busy machine.
    assert_cancelled_tree_is_gone(None, Some(Duration::from_secs(30))).await;
}

#[tokio::test]
async fn mock_llm_answers_llm_workers_with_generated_output_instances() {
    let manager = RunManager::default();
    let mut run_request = fixture_request("llm_graph.py");
    run_request.mock_llm = true;
    run_request.debug = true;
    let events = all_events(&manager, run_request).await;
    assert_eq!(outcome(&events), RunOutcome::Succeeded, "{events:#?}");
    assert_eq!(
        sink_outputs(&events),
        vec![json!({"text": "mock answer (0.5)"})]
    );
    // Debug detail: the task in and out of each worker, and the LLM call.
    let llm_call = events
        .iter()
        .find_map(|e| match e {
            RunEvent::LlmCall {
                worker,
                mock,
                response,
                ..
            } => Some((worker.clone(), *mock, response.clone())),
            _ => None,
        })
        .expect("an llmCall event");
    assert_eq!(llm_call.0.as_deref(), Some("Answerer"));
    assert!(llm_call.1);
    assert_eq!(
        llm_call.2,
        json!({"answer": "mock answer", "confidence": 0.5, "sources": ["mock sources"]})
    );
    assert!(events.iter().any(|e| matches!(e,
        RunEvent::DebugTaskInput { worker, task, .. } if worker == "Answerer" && task == &json!({"question": "What is PlanAI?"}))));
    assert!(events.iter().any(|e| matches!(e,
        RunEvent::DebugTaskOutput { worker, task_type, .. } if worker == "Reporter" && task_type == "Report")));
}

#[tokio::test]
async fn runs_beyond_the_concurrency_limit_wait_for_a_slot_and_can_be_cancelled_while_waiting() {
    let manager = RunManager::new(planai_lsp::run::RunLimits {
        max_concurrent: 1,
        ..Default::default()
    });
    let leftovers = Leftovers::new("queue");
    let mut first = manager.start(request(fixture("slow.py"), leftovers_module(&leftovers)));
    let mut second = manager.start(fixture_request("succeeds.py"));
    wait_until(DEADLINE, "the first run to start", || {
        manager.list()[0].state == "running"
    })
    .await;
    assert_eq!(manager.list()[1].state, "waiting");
    assert!(manager.cancel(&second.id));
    let ended = tokio::time::timeout(DEADLINE, second.events.recv())
        .await
        .unwrap();
    assert!(
        matches!(
            ended,
            Some(RunEvent::Ended {
                outcome: RunOutcome::Cancelled,
                ..
            })
        ),
        "{ended:?}"
    );
    assert!(manager.cancel(&first.id));
    tokio::time::timeout(DEADLINE, async {
        while first.events.recv().await.is_some() {}
    })
    .await
    .unwrap();
    leftovers.wait_all_gone(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn a_run_and_everything_it_starts_run_at_the_configured_niceness() {
    let ours = proc_niceness(std::process::id()).expect("our own niceness");
    let our_session = proc_session(std::process::id()).expect("our session");
    let our_policy = proc_policy(std::process::id()).expect("our scheduling policy");
    // 7 steps nicer (capped where the kernel caps it), with the idle policy (5), in a session
    // (a scheduling group) of its own; and 0: as we are, in our session.
    for (niceness, expected) in [(7, (ours + 7).min(19)), (0, ours)] {
        let manager = RunManager::new(RunLimits {
            niceness,
            ..Default::default()
        });
        let mut started = manager.start(fixture_request("slow.py"));
        let mut runner = None;
        tokio::time::timeout(DEADLINE, async {
            while let Some(event) = started.events.recv().await {
                if let RunEvent::Started { pid, .. } = &event {
                    runner = Some(*pid);
                }
                // The worker is asleep and its child process started: the run is live.
                if matches!(&event, RunEvent::Output { text, .. } if text == "sleeping") {
                    return;
                }
                assert!(!matches!(event, RunEvent::Ended { .. }), "{event:?}");
            }
        })
        .await
        .expect("the worker never started");
        let runner = runner.expect("a started event");
        assert_eq!(proc_niceness(runner), Some(expected), "the runner");
        let session = if niceness > 0 { runner } else { our_session };
        assert_eq!(proc_session(runner), Some(session), "the runner's session");
        let policy = if niceness > 0 { 5 } else { our_policy };
        assert_eq!(proc_policy(runner), Some(policy), "the runner's policy");
        let descendants = proc_descendants(runner);
        assert!(!descendants.is_empty(), "the worker's child process runs");
        for (pid, _) in descendants {
            assert_eq!(proc_niceness(pid), Some(expected), "descendant {pid}");
            assert_eq!(proc_policy(pid), Some(policy), "descendant {pid}");
        }
        assert!(manager.cancel(&started.id));
        tokio::time::timeout(DEADLINE, async {
            while started.events.recv().await.is_some() {}
        })
        .await
        .expect("the cancelled run did not end");
    }
}
