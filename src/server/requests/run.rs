//! `planai.run` and `planai.debug`: start a run of a document's current text and answer with
//! its id at once; a background task forwards the run's events (`planai/runEvents`, a few
//! notifications a second however fast the run goes: `server::run_events`), reports work-done
//! progress and turns worker failures into `planai (run)` diagnostics.
//!
//! Arguments (one object, shared with the code lenses): `{"uri": "file:///…", "graph":
//! "build_graph" | null, "inputs": [{…}, …] | null, "timeout": 300 | null, "mockLlm": false |
//! null, "workDoneToken": "…" | null}`; a bare URI string is accepted too.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::ls_types::notification::Notification;
use tower_lsp_server::ls_types::{
    NumberOrString, ProgressToken, Uri, WorkDoneProgress, WorkDoneProgressBegin,
    WorkDoneProgressEnd, WorkDoneProgressReport,
};

use crate::run::{
    RunEvent, RunLimits, RunOutcome, RunProgress, RunRequest, ScratchLocation, SourceLocation,
};
use crate::server::panic_guard::spawn_guarded;
use crate::server::progress;
use crate::server::run_events::{EventsNotification, Windows};
use crate::server::run_state::RunDiagnostic;
use crate::server::state::{path_to_uri, uri_to_path, Session};
use crate::server::venv;

/// `planai/runEvents`: `{runId, uri, events: [...]}`, every event of a run in order, a batch
/// at a time. Written as text through the framing layer's outbox; through tower-lsp-server's
/// client only when no outbox is connected.
pub enum RunEventsNotification {}

impl Notification for RunEventsNotification {
    type Params = Value;
    const METHOD: &'static str = crate::server::run_events::METHOD;
}

/// At most this many progress reports a second per run.
const REPORT_INTERVAL: Duration = Duration::from_millis(250);

/// What the command's argument asks for.
#[derive(Debug, PartialEq)]
struct RunArguments {
    uri: Uri,
    graph: Option<String>,
    inputs: Option<Vec<Value>>,
    timeout: Option<Duration>,
    mock_llm: bool,
    work_done_token: Option<ProgressToken>,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::invalid_params(message.into())
}

fn parse_arguments(command: &str, arguments: &[Value]) -> Result<RunArguments> {
    let first = arguments
        .first()
        .ok_or_else(|| invalid(format!("{command} needs an argument {{\"uri\": …}}")))?;
    let object = match first {
        Value::String(uri) => json!({ "uri": uri }),
        Value::Object(_) => first.clone(),
        other => {
            return Err(invalid(format!(
                "{command}: expected an object, not {other}"
            )))
        }
    };
    let uri_text = object
        .get("uri")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("{command} needs \"uri\"")))?;
    let uri: Uri = uri_text
        .parse()
        .map_err(|_| invalid(format!("not a URI: {uri_text}")))?;
    let graph = match object.get("graph") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) if !name.trim().is_empty() => Some(name.trim().to_string()),
        Some(other) => {
            return Err(invalid(format!(
                "\"graph\" must name a function or a module-level graph, not {other}"
            )))
        }
    };
    let inputs = match object.get("inputs") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            if let Some(bad) = items.iter().position(|i| !i.is_object()) {
                return Err(invalid(format!(
                    "\"inputs\"[{bad}] must be a JSON object (the entry worker's task)"
                )));
            }
            Some(items.clone())
        }
        Some(other) => {
            return Err(invalid(format!(
                "\"inputs\" must be an array of objects, not {other}"
            )))
        }
    };
    let timeout = match object.get("timeout") {
        None | Some(Value::Null) => None,
        Some(value) => match value.as_f64().filter(|s| s.is_finite() && *s > 0.0) {
            Some(seconds) => Some(Duration::from_secs_f64(seconds.min(24.0 * 3600.0))),
            None => {
                return Err(invalid(format!(
                    "\"timeout\" must be a positive number of seconds, not {value}"
                )))
            }
        },
    };
    let mock_llm = match object.get("mockLlm") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(invalid(format!(
                "\"mockLlm\" must be a boolean, not {other}"
            )))
        }
    };
    let work_done_token = match object.get("workDoneToken") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(NumberOrString::String(s.clone())),
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .map(NumberOrString::Number),
        Some(other) => {
            return Err(invalid(format!(
                "\"workDoneToken\" must be a string or an integer, not {other}"
            )))
        }
    };
    Ok(RunArguments {
        uri,
        graph,
        inputs,
        timeout,
        mock_llm,
        work_done_token,
    })
}

fn server_error(message: impl Into<String>) -> Error {
    Error {
        code: ErrorCode::ServerError(-32002),
        message: message.into().into(),
        data: None,
    }
}

/// The workspace folder holding `path` (the deepest one), else its directory.
fn root_of(roots: &[PathBuf], path: &Path) -> PathBuf {
    roots
        .iter()
        .filter(|r| path.starts_with(r))
        .max_by_key(|r| r.as_os_str().len())
        .cloned()
        .or_else(|| path.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."))
}

pub async fn handle(session: &Arc<Session>, arguments: Vec<Value>, debug: bool) -> Result<Value> {
    let command = if debug { "planai.debug" } else { "planai.run" };
    let args = parse_arguments(command, &arguments)?;
    let settings = session.settings();
    if settings.untrusted_workspace {
        return Err(server_error(
            "runs are disabled in an untrusted workspace: no Python is ever started there",
        ));
    }
    let path = uri_to_path(&args.uri);
    let source = match session.documents.get(&args.uri) {
        Some(entry) => entry.document.source().to_string(),
        None => {
            let reading = path.clone();
            tokio::task::spawn_blocking(move || crate::workspace::read_file(&reading))
                .await
                .map_err(|_| Error::internal_error())?
                .map(|text| text.to_string())
                .map_err(|e| invalid(format!("cannot read {}: {e:?}", path.display())))?
        }
    };
    venv::ensure_configured(session).await;
    let selection = session.venv.service.selection().await;
    let Some(environment) = selection.environment else {
        return Err(server_error(selection.message.unwrap_or_else(|| {
            "no Python environment is selected: choose one with planai.selectEnvironment".into()
        })));
    };
    let mut roots = venv::roots(session);
    let root = root_of(&roots, &path);
    if !roots.contains(&root) {
        roots.push(root.clone());
    }
    session.runs.manager.set_limits(RunLimits {
        timeout: Duration::from_secs(settings.run_timeout_secs),
        output_cap: settings.run_output_cap_bytes,
        max_concurrent: settings.run_max_concurrent,
        niceness: settings.run_niceness,
    });
    let request = RunRequest {
        interpreter: environment.interpreter.clone(),
        path: path.clone(),
        source,
        roots,
        graph: args.graph.clone(),
        inputs: args.inputs.clone(),
        mock_llm: args.mock_llm,
        debug,
        timeout: args.timeout,
        scratch: if settings.run_in_workspace {
            ScratchLocation::Workspace(root)
        } else {
            ScratchLocation::Temp
        },
    };
    // The next run of a document clears what its earlier runs showed.
    for changed in session.runs.clear_from(&args.uri) {
        session.request_publish(&changed);
    }
    let started = session.runs.manager.start(request);
    let run_id = started.id.clone();
    let title = format!(
        "PlanAI {}: {}",
        if debug { "debug" } else { "run" },
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string())
    );
    spawn_guarded(
        "run events",
        forward(
            Arc::clone(session),
            args.uri.clone(),
            run_id.clone(),
            started.events,
            args.work_done_token,
            title,
        ),
    );
    Ok(json!({ "runId": run_id }))
}

/// Forwards one run's events to the client until it ends.
async fn forward(
    session: Arc<Session>,
    uri: Uri,
    run_id: String,
    mut events: crate::run::RunEvents,
    client_token: Option<ProgressToken>,
    title: String,
) {
    let token = match client_token {
        Some(token) => Some(token),
        None if session.runs.client_progress() => {
            let token = NumberOrString::String(format!("planai-run/{run_id}"));
            // In this background task, never in the handler; the run goes on meanwhile (its
            // events wait in the channel).
            progress::create(&session, &token).await.then_some(token)
        }
        None => None,
    };
    let token_key = token.as_ref().and_then(|t| serde_json::to_string(t).ok());
    if let Some(key) = &token_key {
        session.runs.tokens.insert(key.clone(), run_id.clone());
    }
    let send_progress = |value: WorkDoneProgress| {
        let session = Arc::clone(&session);
        let token = token.clone();
        async move {
            if let Some(token) = token {
                progress::send(&session, &token, value).await;
            }
        }
    };
    send_progress(WorkDoneProgress::Begin(WorkDoneProgressBegin {
        title,
        cancellable: Some(true),
        message: Some("starting Python".into()),
        percentage: Some(0),
    }))
    .await;

    let mut progress = RunProgress::default();
    let mut last_report = Instant::now();
    let mut reported = String::new();
    // Reported percentages never go down (the LSP asks for that), although the share of done
    // tasks among the tasks seen so far can.
    let mut percentage = 0;
    let mut ending = None;
    // Events are handled a batch at a time (`Windows`: the first and the last at once, else
    // one batch per window): one wake-up, one notification and one write per batch.
    let mut windows = Windows::default();
    let mut notification = EventsNotification::new(&run_id, uri.as_str());
    let mut batch = Vec::with_capacity(1024);
    while windows.next(&mut events, &mut batch).await {
        for event in batch.drain(..) {
            progress.apply(&event);
            match &event {
                RunEvent::TaskFailed {
                    will_retry: false,
                    worker,
                    task_type,
                    exception,
                    message,
                    location: Some(location),
                    ..
                } => show_failure(
                    &session,
                    &uri,
                    location,
                    exception,
                    format!(
                        "{exception}: {message} (worker {worker} on task {task_type}, during a run)"
                    ),
                ),
                RunEvent::RunnerError {
                    exception,
                    message,
                    location: Some(location),
                    ..
                } => show_failure(
                    &session,
                    &uri,
                    location,
                    exception,
                    format!("{exception}: {message} (during a run)"),
                ),
                RunEvent::Ended {
                    outcome, message, ..
                } => ending = Some((*outcome, message.clone())),
                _ => {}
            }
            notification.push(&event);
            if notification.is_full() {
                send_events(&session, notification.take()).await;
            }
        }
        if !notification.is_empty() {
            send_events(&session, notification.take()).await;
        }
        windows.sent();
        if last_report.elapsed() >= REPORT_INTERVAL {
            let summary = progress.summary();
            if summary != reported {
                last_report = Instant::now();
                percentage = percentage.max(progress.percentage());
                send_progress(WorkDoneProgress::Report(WorkDoneProgressReport {
                    cancellable: Some(true),
                    message: Some(summary.clone()),
                    percentage: Some(percentage),
                }))
                .await;
                reported = summary;
            }
        }
    }
    let (outcome, message) = ending.unwrap_or((RunOutcome::Error, None));
    let totals = progress.totals();
    let mut end = format!(
        "{}: {} task(s) done, {} failed",
        outcome.as_str(),
        totals.completed,
        totals.failed
    );
    if let Some(message) = message {
        end.push_str(" (");
        end.push_str(message.lines().next().unwrap_or(""));
        end.push(')');
    }
    send_progress(WorkDoneProgress::End(WorkDoneProgressEnd {
        message: Some(end),
    }))
    .await;
    if let Some(key) = token_key {
        session.runs.tokens.remove(&key);
    }
}

/// Sends one `planai/runEvents` message (its complete JSON text).
async fn send_events(session: &Session, message: Vec<u8>) {
    if session.runs.outbox.send(&message) {
        return;
    }
    // No framing layer in front of tower-lsp-server (or its output closed): its client.
    if let Ok(Value::Object(mut message)) = serde_json::from_slice::<Value>(&message) {
        let params = message.remove("params").unwrap_or(Value::Null);
        session
            .client
            .send_notification::<RunEventsNotification>(params)
            .await;
    }
}

/// A failure in a workspace file becomes a `planai (run)` diagnostic on its line.
fn show_failure(
    session: &Session,
    origin: &Uri,
    location: &SourceLocation,
    exception: &str,
    message: String,
) {
    let Some(target) = path_to_uri(Path::new(&location.path)) else {
        return;
    };
    let added = session.runs.add(
        target.clone(),
        RunDiagnostic {
            origin: origin.clone(),
            line: location.line,
            exception: if exception.is_empty() {
                "RunError".into()
            } else {
                exception.to_string()
            },
            message,
        },
    );
    if added {
        session.request_publish(&target);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agreed_argument_shape_parses() {
        let args = parse_arguments(
            "planai.run",
            &[json!({"uri": "file:///w/flow.py", "graph": "build_graph",
                "inputs": [{"text": "a"}], "timeout": 12, "mockLlm": true, "workDoneToken": "t1"})],
        )
        .unwrap();
        assert_eq!(args.graph.as_deref(), Some("build_graph"));
        assert_eq!(args.inputs, Some(vec![json!({"text": "a"})]));
        assert_eq!(args.timeout, Some(Duration::from_secs(12)));
        assert!(args.mock_llm);
        assert_eq!(
            args.work_done_token,
            Some(NumberOrString::String("t1".into()))
        );
        let nulls = parse_arguments(
            "planai.run",
            &[
                json!({"uri": "file:///w/flow.py", "graph": null, "inputs": null,
                "timeout": null, "mockLlm": null, "workDoneToken": null}),
            ],
        )
        .unwrap();
        assert_eq!(
            nulls,
            parse_arguments("planai.run", &[json!("file:///w/flow.py")]).unwrap()
        );
        assert_eq!(nulls.graph, None);
        assert!(!nulls.mock_llm);
    }

    #[test]
    fn bad_arguments_are_explained() {
        for (given, expected) in [
            (json!(null), "expected an object"),
            (json!({}), "needs \"uri\""),
            (
                json!({"uri": "file:///f.py", "inputs": {"a": 1}}),
                "array of objects",
            ),
            (
                json!({"uri": "file:///f.py", "inputs": [1]}),
                "\"inputs\"[0]",
            ),
            (
                json!({"uri": "file:///f.py", "timeout": -3}),
                "positive number",
            ),
            (json!({"uri": "file:///f.py", "mockLlm": "yes"}), "boolean"),
            (json!({"uri": "file:///f.py", "graph": 3}), "\"graph\""),
        ] {
            let error = parse_arguments("planai.run", std::slice::from_ref(&given)).unwrap_err();
            assert!(
                error.message.contains(expected),
                "{given}: {}",
                error.message
            );
        }
        assert!(parse_arguments("planai.run", &[])
            .unwrap_err()
            .message
            .contains("needs an argument"));
    }

    #[test]
    fn a_run_works_from_the_workspace_folder_holding_the_file() {
        let roots = vec![PathBuf::from("/w"), PathBuf::from("/w/sub")];
        assert_eq!(
            root_of(&roots, Path::new("/w/sub/a.py")),
            PathBuf::from("/w/sub")
        );
        assert_eq!(root_of(&roots, Path::new("/w/a.py")), PathBuf::from("/w"));
        assert_eq!(root_of(&roots, Path::new("/x/a.py")), PathBuf::from("/x"));
    }
}
