//! What a run's events add up to: per-worker counts, the stage, the last log line and the
//! failures. Pure (no I/O, no LSP): the server's work-done progress and the CLI's status line
//! are both renderings of a [`RunProgress`].

use super::events::{RunEvent, RunOutcome, SourceLocation};
use std::collections::BTreeMap;

/// Where a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Waiting for a free run slot or for the interpreter to import planai.
    Starting,
    /// The module is executing (no graph running yet).
    Loading,
    /// A graph is running.
    Running,
    Ended(RunOutcome),
}

/// One worker's tasks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkerCounts {
    pub queued: u64,
    pub running: u64,
    pub completed: u64,
    pub failed: u64,
}

/// A task that failed for good (not retried), where it failed in the user's code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskFailure {
    pub worker: String,
    pub task_type: String,
    pub exception: String,
    pub message: String,
    pub location: Option<SourceLocation>,
}

impl TaskFailure {
    /// The diagnostic message: the exception, then which task triggered it.
    pub fn describe(&self) -> String {
        format!(
            "{}: {} (worker {} on task {}, during a run)",
            self.exception, self.message, self.worker, self.task_type
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RunProgress {
    pub stage: Stage,
    /// By worker name, in name order.
    pub workers: BTreeMap<String, WorkerCounts>,
    pub last_log: Option<String>,
    pub failures: Vec<TaskFailure>,
    /// The module's own error (bad inputs, an exception outside the workers), if any.
    pub error: Option<TaskFailure>,
    pub sink_outputs: u64,
    pub events: u64,
}

impl Default for RunProgress {
    fn default() -> Self {
        Self {
            stage: Stage::Starting,
            workers: BTreeMap::new(),
            last_log: None,
            failures: Vec::new(),
            error: None,
            sink_outputs: 0,
            events: 0,
        }
    }
}

/// Failures kept for diagnostics at most (a worker failing on every task of a big run would
/// otherwise keep thousands).
const MAX_FAILURES: usize = 100;

impl RunProgress {
    pub fn apply(&mut self, event: &RunEvent) {
        self.events += 1;
        match event {
            RunEvent::Started { .. } => self.stage = Stage::Loading,
            RunEvent::GraphStarted { .. } => self.stage = Stage::Running,
            RunEvent::TaskQueued { worker, .. } => self.counts(worker).queued += 1,
            RunEvent::TaskStarted { worker, .. } => {
                let counts = self.counts(worker);
                counts.queued = counts.queued.saturating_sub(1);
                counts.running += 1;
            }
            RunEvent::TaskCompleted { worker, .. } => {
                let counts = self.counts(worker);
                counts.running = counts.running.saturating_sub(1);
                counts.completed += 1;
            }
            RunEvent::TaskFailed {
                worker,
                task_type,
                will_retry,
                exception,
                message,
                location,
                ..
            } => {
                let counts = self.counts(worker);
                counts.running = counts.running.saturating_sub(1);
                if !will_retry {
                    counts.failed += 1;
                    if self.failures.len() < MAX_FAILURES {
                        self.failures.push(TaskFailure {
                            worker: worker.clone(),
                            task_type: task_type.clone(),
                            exception: exception.clone(),
                            message: message.clone(),
                            location: location.clone(),
                        });
                    }
                }
            }
            RunEvent::SinkOutput { .. } => self.sink_outputs += 1,
            RunEvent::Log { level, message, .. } => {
                self.last_log = Some(format!("{level}: {}", first_line(message)));
            }
            RunEvent::Output { text, .. } => self.last_log = Some(first_line(text).to_string()),
            RunEvent::RunnerError {
                kind,
                exception,
                message,
                location,
                ..
            } => {
                self.error = Some(TaskFailure {
                    worker: String::new(),
                    task_type: kind.clone(),
                    exception: exception.clone(),
                    message: message.clone(),
                    location: location.clone(),
                });
            }
            RunEvent::Ended { outcome, .. } => {
                self.stage = Stage::Ended(*outcome);
                for counts in self.workers.values_mut() {
                    counts.running = 0;
                }
            }
            RunEvent::DebugTaskInput { .. }
            | RunEvent::DebugTaskOutput { .. }
            | RunEvent::LlmCall { .. }
            | RunEvent::Stats { .. }
            | RunEvent::Finished { .. }
            | RunEvent::OutputTruncated { .. } => {}
        }
    }

    fn counts(&mut self, worker: &str) -> &mut WorkerCounts {
        self.workers.entry(worker.to_string()).or_default()
    }

    /// Sum over the workers.
    pub fn totals(&self) -> WorkerCounts {
        self.workers
            .values()
            .fold(WorkerCounts::default(), |sum, c| WorkerCounts {
                queued: sum.queued + c.queued,
                running: sum.running + c.running,
                completed: sum.completed + c.completed,
                failed: sum.failed + c.failed,
            })
    }

    /// Done tasks as a share of all tasks seen so far (tasks not yet published are unknown,
    /// so this can go down as well as up).
    pub fn percentage(&self) -> u32 {
        let t = self.totals();
        let all = t.queued + t.running + t.completed + t.failed;
        if all == 0 {
            return 0;
        }
        (((t.completed + t.failed) * 100) / all) as u32
    }

    /// One line for a progress report: the counts per worker, then the last log line.
    /// `Splitter 1 done · Counter 2 queued, 1 running, 1 failed | WARNING: ...`
    pub fn summary(&self) -> String {
        let stage = match self.stage {
            Stage::Starting => "starting Python",
            Stage::Loading => "loading the module",
            Stage::Running | Stage::Ended(_) => "",
        };
        let mut parts = Vec::new();
        for (name, c) in &self.workers {
            let mut bits = Vec::new();
            for (count, what) in [
                (c.queued, "queued"),
                (c.running, "running"),
                (c.completed, "done"),
                (c.failed, "failed"),
            ] {
                if count > 0 {
                    bits.push(format!("{count} {what}"));
                }
            }
            if !bits.is_empty() {
                parts.push(format!("{name} {}", bits.join(", ")));
            }
        }
        let mut line = if parts.is_empty() {
            stage.to_string()
        } else {
            parts.join(" · ")
        };
        if let Some(log) = &self.last_log {
            if !line.is_empty() {
                line.push_str(" | ");
            }
            line.push_str(log);
        }
        line
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim_end()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn queued(worker: &str) -> RunEvent {
        RunEvent::TaskQueued {
            worker: worker.into(),
            task_type: "T".into(),
            provenance: Value::Null,
        }
    }

    fn started(worker: &str) -> RunEvent {
        RunEvent::TaskStarted {
            worker: worker.into(),
            task_type: "T".into(),
            provenance: Value::Null,
            attempt: 1,
        }
    }

    fn failed(worker: &str, will_retry: bool) -> RunEvent {
        RunEvent::TaskFailed {
            worker: worker.into(),
            task_type: "Sentence".into(),
            provenance: Value::Null,
            duration_ms: None,
            will_retry,
            exception: "AttributeError".into(),
            message: "'Sentence' object has no attribute 'txt'".into(),
            traceback: String::new(),
            location: None,
        }
    }

    #[test]
    fn counts_follow_each_task_through_its_states() {
        let mut progress = RunProgress::default();
        for event in [
            queued("Splitter"),
            started("Splitter"),
            queued("Counter"),
            queued("Counter"),
            RunEvent::TaskCompleted {
                worker: "Splitter".into(),
                task_type: "T".into(),
                provenance: Value::Null,
                duration_ms: Some(1.0),
            },
            started("Counter"),
        ] {
            progress.apply(&event);
        }
        assert_eq!(
            progress.workers["Splitter"],
            WorkerCounts {
                completed: 1,
                ..Default::default()
            }
        );
        assert_eq!(
            progress.workers["Counter"],
            WorkerCounts {
                queued: 1,
                running: 1,
                ..Default::default()
            }
        );
        assert_eq!(progress.percentage(), 33);
        assert_eq!(
            progress.summary(),
            "Counter 1 queued, 1 running · Splitter 1 done"
        );
    }

    #[test]
    fn a_retried_failure_is_not_a_failure_yet() {
        let mut progress = RunProgress::default();
        for event in [
            queued("W"),
            started("W"),
            failed("W", true),
            queued("W"),
            started("W"),
            failed("W", false),
        ] {
            progress.apply(&event);
        }
        assert_eq!(
            progress.workers["W"],
            WorkerCounts {
                failed: 1,
                ..Default::default()
            }
        );
        assert_eq!(progress.failures.len(), 1);
        assert_eq!(
            progress.failures[0].describe(),
            "AttributeError: 'Sentence' object has no attribute 'txt' (worker W on task Sentence, during a run)"
        );
    }

    #[test]
    fn the_last_log_line_and_the_end_show_in_the_summary() {
        let mut progress = RunProgress::default();
        assert_eq!(progress.summary(), "starting Python");
        progress.apply(&started("W"));
        progress.apply(&RunEvent::Log {
            level: "WARNING".into(),
            logger: "root".into(),
            message: "slow\nsecond line".into(),
            exception: None,
        });
        assert_eq!(progress.summary(), "W 1 running | WARNING: slow");
        progress.apply(&RunEvent::Ended {
            outcome: RunOutcome::Cancelled,
            exit_code: None,
            message: None,
        });
        assert_eq!(progress.stage, Stage::Ended(RunOutcome::Cancelled));
        assert_eq!(progress.workers["W"].running, 0);
    }
}
