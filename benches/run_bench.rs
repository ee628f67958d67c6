//! Events per second a run's channel sustains: runner pipe → line parsing → bounded queue →
//! what the server does per event before writing it out (progress aggregation and the event
//! serialised into its `planai/runEvents` notification, a batch at a time). Goal from issue
//! #12: ≥ 10,000 events/s.
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
//! Then, end to end over stdio with the release binary (`target/release/planai-lsp` or
//! `$PLANAI_LSP_BIN`, client `support/lsp_stdio.rs`) and the test venv (`$PLANAI_TEST_PYTHON`,
//! else what `scripts/ensure-test-venv.sh` prints): the edit → diagnostics latency of another
//! document (a generated 600-line PlanAI module) with no run, and again while `planai.run`
//! streams the events of a graph with `PLANAI_BENCH_RUN_TASKS` (default 20,000) tasks into the
//! session, with the run's events/s, the notifications that carried them, the CPU the server
//! used and the load average (the machine may be shared: compare runs with their load).
//! Goal: unchanged (the median while the run streams within ~20% of the one without).
//! `PLANAI_BENCH_RUN_NICENESS` sets `planai.run.niceness` (default 10; 0: the server's own).

#[path = "support/lsp_stdio.rs"]
mod lsp_stdio;

use lsp_stdio::{binary, file_uri, med_p90, Server};
use planai_lsp::run::{RunEvent, RunManager, RunProgress, RunRequest, ScratchLocation};
use planai_lsp::server::run_events::EventsNotification;
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

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
    channel_throughput();
    edits_while_a_run_streams();
}

/// A graph whose first worker publishes `n` tasks to a second one: 3 events per task.
fn streaming_module(n: usize) -> String {
    format!(
        r#"from typing import List, Type
from planai import Graph, Task, TaskWorker


class Start(Task):
    n: int


class Item(Task):
    i: int


class Fan(TaskWorker):
    output_types: List[Type[Task]] = [Item]

    def consume_work(self, task: Start):
        for i in range(task.n):
            self.publish_work(Item(i=i), input_task=task)


class Eat(TaskWorker):
    def consume_work(self, task: Item):
        pass


if __name__ == "__main__":
    graph = Graph(name="Stream")
    fan, eat = Fan(), Eat()
    graph.add_workers(fan, eat)
    graph.set_dependency(fan, eat)
    graph.run(initial_tasks=[(fan, Start(n={n}))])
"#
    )
}

fn test_python() -> PathBuf {
    if let Some(python) = std::env::var_os("PLANAI_TEST_PYTHON") {
        return PathBuf::from(python);
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/ensure-test-venv.sh");
    let output = std::process::Command::new("bash")
        .arg(&script)
        .output()
        .unwrap_or_else(|e| lsp_stdio::fail(&format!("cannot run {}: {e}", script.display())));
    let stdout = String::from_utf8_lossy(&output.stdout);
    match stdout.lines().rev().find(|l| !l.trim().is_empty()) {
        Some(python) if output.status.success() => PathBuf::from(python.trim()),
        _ => lsp_stdio::fail("set PLANAI_TEST_PYTHON to a python with planai installed"),
    }
}

/// `count` edits of `uri` (a comment line added, then removed), each timed until its publish.
fn time_edits(
    server: &mut Server,
    uri: &str,
    version: &mut i64,
    count: usize,
    pause: Duration,
) -> Vec<Duration> {
    let mut samples = Vec::new();
    for k in 0..count {
        std::thread::sleep(pause);
        *version += 1;
        let change = if k % 2 == 0 {
            json!({"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "# edited\n"})
        } else {
            json!({"range": {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}}, "text": ""})
        };
        let (took, _) = server.change(uri, *version, change, Duration::from_secs(30));
        samples.push(took);
    }
    samples
}

fn edits_while_a_run_streams() {
    let bin = binary();
    let python = test_python();
    let tasks: usize = std::env::var("PLANAI_BENCH_RUN_TASKS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let root = tempfile::tempdir().expect("temp dir");
    let other = root.path().join("other.py");
    let flow = root.path().join("stream.py");
    std::fs::write(&other, planai_lsp::testing::generate_planai_module(600)).unwrap();
    std::fs::write(&flow, streaming_module(tasks)).unwrap();
    // `PLANAI_BENCH_RUN_NICENESS=0` shows what the run's lower priority is worth.
    let niceness: u64 = std::env::var("PLANAI_BENCH_RUN_NICENESS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    let options = json!({"settings": {"planai": {"python": python.display().to_string(),
        "validation": {"run": "off"}, "run": {"timeoutSeconds": 600, "niceness": niceness}}}});
    let mut server = Server::start(&bin, root.path(), options);
    let other_uri = file_uri(&other);
    let flow_uri = file_uri(&flow);
    server.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": other_uri, "languageId": "python", "version": 1,
            "text": std::fs::read_to_string(&other).unwrap()}}),
    );
    server.wait_publish(&other_uri, 1, Duration::from_secs(60));
    let mut version = 1;
    // Edits 100 ms apart, so the ones during the run spread over its streaming.
    let pause = Duration::from_millis(100);
    time_edits(&mut server, &other_uri, &mut version, 6, pause); // warm-up
                                                                 // The machine may be shared: the edits with no run are timed both before and after the
                                                                 // run, so a change in the others' load shows as a difference between those two.
    let idle_before = time_edits(&mut server, &other_uri, &mut version, 21, pause);

    let load_before = load_average();
    let answer = server.request(
        "workspace/executeCommand",
        json!({"command": "planai.run", "arguments": [{"uri": flow_uri}]}),
    );
    if answer["runId"].as_str().is_none() {
        lsp_stdio::fail(&format!("planai.run did not start: {answer}"));
    }
    // Wait until the events stream (the reader thread counts them as they come).
    let deadline = Instant::now() + Duration::from_secs(120);
    let streaming_started = loop {
        if let Some(at) = server.run_events().first_task_started {
            break at;
        }
        if Instant::now() > deadline {
            lsp_stdio::fail("the run never started streaming");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let server_cpu_before = cpu_seconds(server.pid());
    let busy = time_edits(&mut server, &other_uri, &mut version, 31, pause);
    let busy_window = streaming_started.elapsed();
    let load_during = load_average();
    // Let the run end.
    let deadline = Instant::now() + Duration::from_secs(600);
    let seen = loop {
        let seen = server.run_events();
        if seen.ended.is_some() {
            break seen;
        }
        if Instant::now() > deadline {
            lsp_stdio::fail("the run did not end");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let ended = seen.ended.unwrap_or_else(Instant::now);
    let streamed = ended.saturating_duration_since(streaming_started);
    let server_cpu = cpu_seconds(server.pid()) - server_cpu_before;
    let idle_after = time_edits(&mut server, &other_uri, &mut version, 21, pause);
    let load_after = load_average();
    server.stop();
    let median = |samples: &[Duration]| lsp_stdio::percentile(samples, 50).as_secs_f64();
    println!();
    println!("edit -> diagnostics of a 600-line module (median / p90):");
    println!(
        "  no run (before):      {}  ({} edits)",
        med_p90(&idle_before),
        idle_before.len()
    );
    println!(
        "  while a run streams:  {}  ({} edits, over the first {:.2} s of the streaming)",
        med_p90(&busy),
        busy.len(),
        busy_window.as_secs_f64(),
    );
    println!(
        "  no run (after):       {}  ({} edits)",
        med_p90(&idle_after),
        idle_after.len()
    );
    println!(
        "  while / without (medians): {:.2}x the one before, {:.2}x the one after",
        median(&busy) / median(&idle_before).max(1e-9),
        median(&busy) / median(&idle_after).max(1e-9)
    );
    println!(
        "the run of {tasks} tasks (niceness {niceness}): {} events in {} planai/runEvents notifications; ended {} {:.2} s after its first task started ({:.0} events/s)",
        seen.events,
        seen.notifications,
        seen.outcome.as_deref().unwrap_or("?"),
        streamed.as_secs_f64(),
        seen.events as f64 / streamed.as_secs_f64().max(1e-9)
    );
    println!(
        "  the server used {server_cpu:.2} s of CPU over those {:.2} s (forwarding the events, the edits' checks)",
        streamed.as_secs_f64()
    );
    println!(
        "load average (1, 5, 15 min): {load_before} before the run, {load_during} after the edits during it, {load_after} at the end"
    );
}

/// `/proc/loadavg`'s first three fields.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "?".into())
}

/// User + system CPU seconds of a process so far (`/proc/<pid>/stat`, clock ticks of 1/100 s).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // After the command: state is field 3, utime 14 and stime 15 (1-based, whole line).
    let ticks = |index: usize| -> f64 {
        fields
            .get(index - 3)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(14) + ticks(15)) / 100.0
}

fn channel_throughput() {
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
            let mut notifications = 0usize;
            let mut notification = EventsNotification::new(&started.id, "file:///bench.py");
            let mut batch = Vec::new();
            // What the server does per batch (`requests/run.rs`), without the window's wait.
            while started.events.recv_many(&mut batch).await {
                for event in batch.drain(..) {
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
                    notification.push(&event);
                    if notification.is_full() {
                        bytes += notification.take().len();
                        notifications += 1;
                    }
                }
                if !notification.is_empty() {
                    bytes += notification.take().len();
                    notifications += 1;
                }
            }
            let streaming = first.map(|f| f.elapsed()).unwrap_or_default();
            let total = started_at.elapsed();
            if task_events != expected {
                eprintln!("round {round}: expected {expected} task events, got {task_events}");
                std::process::exit(1);
            }
            println!(
                "round {round}: {task_events} events in {:.3} s after the first ({:.0} events/s; {:.1} MB of notification JSON in {notifications} batches); whole run {:.3} s; progress: {}",
                streaming.as_secs_f64(),
                task_events as f64 / streaming.as_secs_f64().max(1e-9),
                bytes as f64 / 1e6,
                total.as_secs_f64(),
                progress.summary()
            );
        }
    });
}
