//! Events per second a run's channel sustains: runner pipe → line parsing → bounded channel →
//! what the server does per event before writing it out (progress aggregation and the
//! `planai/runEvent` params as JSON). Goal from issue #12: ≥ 10,000 events/s.
//!
//! ```sh
//! cargo bench --bench run_bench
//! ```
//!
//! The "interpreter" is `python3 -c <emitter>` (`PLANAI_BENCH_PYTHON` overrides `python3`):
//! it ignores the runner script it is handed and writes `PLANAI_BENCH_EVENTS` (default
//! 200,000) realistic task events on fd 3 as fast as it can, so the Python side is not the
//! bottleneck and the number measures planai-lsp's half. The run goes through the real
//! `RunManager` (spawn, containment, readers, channel, `ended`). No timing is asserted.
//!
//! Not measured here: the stdio transport to the editor, and the edit → diagnostics latency of
//! another document while a run streams.

use planai_lsp::run::{RunEvent, RunManager, RunProgress, RunRequest, ScratchLocation};
use std::time::Instant;

const EMITTER: &str = r#"
import os, sys
n = int(os.environ.get("PLANAI_BENCH_EVENTS", "200000"))
kinds = [
    '{"event": "taskQueued", "worker": "Counter", "taskType": "Sentence", "provenance": [["InitialTaskWorker", 1], ["Splitter", %d]], "time": 1.0}\n',
    '{"event": "taskStarted", "worker": "Counter", "taskType": "Sentence", "provenance": [["InitialTaskWorker", 1], ["Splitter", %d]], "attempt": 1, "time": 1.0}\n',
    '{"event": "taskCompleted", "worker": "Counter", "taskType": "Sentence", "provenance": [["InitialTaskWorker", 1], ["Splitter", %d]], "durationMs": 0.2, "time": 1.0}\n',
]
sys.stdin.read()
batch = []
for i in range(n):
    batch.append(kinds[i % 3] % (i // 3))
    if len(batch) == 1000:
        os.write(3, "".join(batch).encode())
        batch = []
if batch:
    os.write(3, "".join(batch).encode())
os.write(3, b'{"event": "finished", "outcome": "succeeded", "completed": 0, "failed": 0}\n')
"#;

fn main() {
    let python = std::env::var("PLANAI_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let expected: u64 = std::env::var("PLANAI_BENCH_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        for round in 1..=3 {
            let manager = RunManager::default();
            let request = RunRequest {
                interpreter: vec![python.clone(), "-c".into(), EMITTER.into()],
                path: "bench.py".into(),
                source: String::new(),
                roots: Vec::new(),
                graph: None,
                inputs: None,
                mock_llm: false,
                debug: false,
                timeout: None,
                scratch: ScratchLocation::Temp,
            };
            let started_at = Instant::now();
            let mut started = manager.start(request);
            let mut progress = RunProgress::default();
            let mut first = None;
            let mut task_events = 0u64;
            let mut bytes = 0usize;
            while let Some(event) = started.events.recv().await {
                if matches!(event, RunEvent::TaskQueued { .. }) && first.is_none() {
                    first = Some(Instant::now());
                }
                if matches!(
                    event,
                    RunEvent::TaskQueued { .. }
                        | RunEvent::TaskStarted { .. }
                        | RunEvent::TaskCompleted { .. }
                ) {
                    task_events += 1;
                }
                progress.apply(&event);
                let params = serde_json::json!({"runId": started.id, "uri": "file:///bench.py", "event": event});
                bytes += params.to_string().len();
            }
            let streaming = first.map(|f| f.elapsed()).unwrap_or_default();
            let total = started_at.elapsed();
            if task_events != expected {
                eprintln!("round {round}: expected {expected} task events, got {task_events}");
                std::process::exit(1);
            }
            println!(
                "round {round}: {task_events} events in {:.3} s after the first ({:.0} events/s; {:.1} MB of notification JSON); whole run {:.3} s; progress: {}",
                streaming.as_secs_f64(),
                task_events as f64 / streaming.as_secs_f64().max(1e-9),
                bytes as f64 / 1e6,
                total.as_secs_f64(),
                progress.summary()
            );
        }
    });
}
