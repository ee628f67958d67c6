//! The run protocol's events (`docs/protocol.md`): what the runner writes on its event pipe,
//! plus the few planai-lsp adds itself (output lines, truncation, the end of the run).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Where a failure happened in the user's code: the deepest traceback frame in a workspace
/// file. `line` is 1-based, `column` counts code points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceLocation {
    pub path: String,
    pub line: u32,
    #[serde(default)]
    pub column: u32,
}

/// One worker of the graph that runs, and the workers it feeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerInfo {
    pub name: String,
    #[serde(default)]
    pub downstream: Vec<String>,
}

/// A worker's counters as PlanAI's dispatcher kept them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerStats {
    #[serde(default)]
    pub completed: u64,
    #[serde(default)]
    pub failed: u64,
    #[serde(default)]
    pub queued: u64,
    #[serde(default)]
    pub active: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_duration_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration_ms: Option<f64>,
}

/// Which output stream a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RunOutcome {
    /// The graph ran and no task failed.
    Succeeded,
    /// The graph ran and at least one task failed (PlanAI itself still exits 0).
    Failed,
    /// Nothing or not everything ran: bad inputs, an exception in the module, a crash.
    Error,
    Cancelled,
    TimedOut,
}

impl RunOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::Failed => "failed",
            RunOutcome::Error => "error",
            RunOutcome::Cancelled => "cancelled",
            RunOutcome::TimedOut => "timedOut",
        }
    }
}

/// One event of a run, in the order it happened (output lines and runner events travel on
/// different pipes, so their relative order is only approximate).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum RunEvent {
    /// The runner imported planai and is about to execute the module.
    #[serde(rename_all = "camelCase")]
    Started {
        #[serde(default)]
        protocol: u32,
        #[serde(default)]
        pid: u32,
        #[serde(default)]
        python: String,
        #[serde(default)]
        planai: Option<String>,
        #[serde(default)]
        graph: Option<String>,
        #[serde(default)]
        mock_llm: bool,
        #[serde(default)]
        debug: bool,
    },
    /// A graph starts running with these initial tasks.
    #[serde(rename_all = "camelCase")]
    GraphStarted {
        #[serde(default)]
        graph: Option<String>,
        #[serde(default)]
        workers: Vec<WorkerInfo>,
        #[serde(default)]
        initial_tasks: Vec<Value>,
    },
    #[serde(rename_all = "camelCase")]
    TaskQueued {
        worker: String,
        task_type: String,
        #[serde(default)]
        provenance: Value,
    },
    #[serde(rename_all = "camelCase")]
    TaskStarted {
        worker: String,
        task_type: String,
        #[serde(default)]
        provenance: Value,
        #[serde(default)]
        attempt: u32,
    },
    #[serde(rename_all = "camelCase")]
    TaskCompleted {
        worker: String,
        task_type: String,
        #[serde(default)]
        provenance: Value,
        #[serde(default)]
        duration_ms: Option<f64>,
    },
    /// A worker raised. PlanAI only logs this and goes on; `will_retry` when the worker's
    /// `num_retries` queues it again.
    #[serde(rename_all = "camelCase")]
    TaskFailed {
        worker: String,
        task_type: String,
        #[serde(default)]
        provenance: Value,
        #[serde(default)]
        duration_ms: Option<f64>,
        #[serde(default)]
        will_retry: bool,
        #[serde(default)]
        exception: String,
        #[serde(default)]
        message: String,
        #[serde(default)]
        traceback: String,
        #[serde(default)]
        location: Option<SourceLocation>,
    },
    /// A task reached a sink (`Graph.set_sink`).
    #[serde(rename_all = "camelCase")]
    SinkOutput {
        worker: String,
        task_type: String,
        task: Value,
    },
    /// A Python log record (WARNING and up; INFO and up when debugging) or `worker.print`
    /// (level `PRINT`).
    Log {
        level: String,
        #[serde(default)]
        logger: String,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exception: Option<String>,
    },
    /// `planai.debug`: the task a worker received.
    #[serde(rename_all = "camelCase")]
    DebugTaskInput {
        worker: String,
        task_type: String,
        task: Value,
    },
    /// `planai.debug`: a task a worker published.
    #[serde(rename_all = "camelCase")]
    DebugTaskOutput {
        worker: String,
        task_type: String,
        task: Value,
    },
    /// `planai.debug`: one LLM call with its prompt and response.
    #[serde(rename_all = "camelCase")]
    LlmCall {
        #[serde(default)]
        worker: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        system: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prompt: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        messages: Option<Value>,
        #[serde(default)]
        response: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_ms: Option<f64>,
        #[serde(default)]
        mock: bool,
    },
    /// The dispatcher's per-worker statistics when a graph finished.
    #[serde(rename_all = "camelCase")]
    Stats {
        #[serde(default)]
        graph: Option<String>,
        #[serde(default)]
        workers: BTreeMap<String, WorkerStats>,
        #[serde(default)]
        duration_ms: Option<f64>,
    },
    /// The run could not do what was asked: `kind` is `input` (inputs or graph choice),
    /// `syntax`, `exception` (raised in the main thread), `exit` or `import` (no planai).
    RunnerError {
        kind: String,
        #[serde(default)]
        exception: String,
        #[serde(default)]
        message: String,
        #[serde(default)]
        traceback: String,
        #[serde(default)]
        location: Option<SourceLocation>,
    },
    /// The runner's own summary, its last event.
    #[serde(rename_all = "camelCase")]
    Finished {
        outcome: String,
        #[serde(default)]
        completed: u64,
        #[serde(default)]
        failed: u64,
        #[serde(default)]
        sink_outputs: u64,
        #[serde(default)]
        outputs: Vec<Value>,
        #[serde(default)]
        duration_ms: Option<f64>,
    },
    // ---- added by planai-lsp ----
    /// A line the user's code printed.
    Output { stream: Stream, text: String },
    /// The captured-output cap was reached; later output is dropped.
    #[serde(rename_all = "camelCase")]
    OutputTruncated { limit_bytes: usize },
    /// Always the last event of a run.
    #[serde(rename_all = "camelCase")]
    Ended {
        outcome: RunOutcome,
        #[serde(default)]
        exit_code: Option<i32>,
        #[serde(default)]
        message: Option<String>,
    },
}

impl RunEvent {
    /// Parses one line of the event pipe. A line that is not a known event becomes a warning
    /// log event, so a newer runner never breaks an older reader.
    pub fn parse_line(line: &str) -> RunEvent {
        match serde_json::from_str::<RunEvent>(line) {
            Ok(event) => event,
            Err(error) => RunEvent::Log {
                level: "WARNING".into(),
                logger: "planai-lsp".into(),
                message: format!(
                    "unreadable runner event ({error}): {}",
                    line.chars().take(200).collect::<String>()
                ),
                exception: None,
            },
        }
    }

    /// The event's name on the wire (`taskFailed`, `ended`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            RunEvent::Started { .. } => "started",
            RunEvent::GraphStarted { .. } => "graphStarted",
            RunEvent::TaskQueued { .. } => "taskQueued",
            RunEvent::TaskStarted { .. } => "taskStarted",
            RunEvent::TaskCompleted { .. } => "taskCompleted",
            RunEvent::TaskFailed { .. } => "taskFailed",
            RunEvent::SinkOutput { .. } => "sinkOutput",
            RunEvent::Log { .. } => "log",
            RunEvent::DebugTaskInput { .. } => "debugTaskInput",
            RunEvent::DebugTaskOutput { .. } => "debugTaskOutput",
            RunEvent::LlmCall { .. } => "llmCall",
            RunEvent::Stats { .. } => "stats",
            RunEvent::RunnerError { .. } => "runnerError",
            RunEvent::Finished { .. } => "finished",
            RunEvent::Output { .. } => "output",
            RunEvent::OutputTruncated { .. } => "outputTruncated",
            RunEvent::Ended { .. } => "ended",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_runner_lines_and_ignores_extra_fields() {
        let line = r#"{"willRetry": false, "worker": "Measurer", "taskType": "Sentence", "provenance": [["InitialTaskWorker", 1]], "durationMs": 0.04, "exception": "AttributeError", "message": "'Sentence' object has no attribute 'txt'", "traceback": "...", "location": {"path": "/w/m.py", "line": 33, "column": 8}, "event": "taskFailed", "time": 1.5}"#;
        let RunEvent::TaskFailed {
            worker,
            location,
            will_retry,
            ..
        } = RunEvent::parse_line(line)
        else {
            panic!("not a taskFailed event");
        };
        assert_eq!(worker, "Measurer");
        assert!(!will_retry);
        assert_eq!(
            location,
            Some(SourceLocation {
                path: "/w/m.py".into(),
                line: 33,
                column: 8
            })
        );
    }

    #[test]
    fn unknown_or_broken_lines_become_warnings() {
        for line in [
            r#"{"event": "fromTheFuture"}"#,
            "not json",
            r#"{"worker": 1}"#,
        ] {
            let event = RunEvent::parse_line(line);
            assert!(
                matches!(&event, RunEvent::Log { level, message, .. } if level == "WARNING" && message.contains("unreadable")),
                "{line} gave {event:?}"
            );
        }
    }

    #[test]
    fn events_serialize_with_their_wire_name_and_camel_case_fields() {
        let event = RunEvent::Ended {
            outcome: RunOutcome::TimedOut,
            exit_code: None,
            message: Some("timed out".into()),
        };
        let value = serde_json::to_value(&event).unwrap();
        assert_eq!(value["event"], json!("ended"));
        assert_eq!(value["outcome"], json!("timedOut"));
        assert_eq!(value["event"], json!(event.name()));
        let output = serde_json::to_value(RunEvent::Output {
            stream: Stream::Stderr,
            text: "x".into(),
        })
        .unwrap();
        assert_eq!(
            output,
            json!({"event": "output", "stream": "stderr", "text": "x"})
        );
    }
}
