//! PlanAI Editor interop benchmark (`cargo bench --bench interop_bench`).
//!
//! A generated saved graph of 100 worker nodes (task, LLM and joined workers in a chain, 25
//! Task classes with five fields each, a tool, a data input and a data output) is
//! 1. imported: JSON parsed, migrated and written as a module (`import_editor_graph`);
//! 2. exported: the module summarised by the analysis and written back as a graph
//!    (`set_file` + `module_to_graph` + JSON), as the CLI and the command do.
//!
//! Goal: under 50 ms each. Prints medians; no assertions (timings depend on the machine).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use planai_lsp::analysis::AnalysisHost;
use planai_lsp::interop;
use serde_json::{json, Value};

const WORKERS: usize = 100;
const TASKS: usize = 25;
const RUNS: usize = 30;

fn generated_graph() -> String {
    let tasks: Vec<Value> = (0..TASKS)
        .map(|t| {
            json!({"id": format!("task-{t}"), "type": "task", "className": format!("Step{t}Task"),
                "fields": [
                    {"name": "text", "type": "string", "isList": false, "required": true,
                     "description": format!("The text of step {t}: \"quoted\" \\ {{braces}}")},
                    {"name": "score", "type": "float", "isList": false, "required": false},
                    {"name": "tags", "type": "string", "isList": true, "required": false},
                    {"name": "mode", "type": "literal", "isList": false, "required": false,
                     "literalValues": ["fast", "slow", "1"]},
                    {"name": "count", "type": "integer", "isList": false, "required": false}]})
        })
        .collect();
    let task_of = |i: usize| format!("Step{}Task", i % TASKS);
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for i in 0..WORKERS {
        let (kind, extra) = match i % 4 {
            1 => (
                "llmtaskworker",
                json!({"prompt": format!("Summarise step {i}.\nKeep \"\"\" quotes and {{task.text}}."),
                       "llmConfigName": "Local", "tools": ["tool-1"]}),
            ),
            3 => ("joinedtaskworker", json!({"join_type": "Worker0"})),
            _ => ("taskworker", json!({})),
        };
        let method = if kind == "joinedtaskworker" {
            json!({"consume_work_joined": format!("self.publish_work({}(text=tasks[0].text), input_task=tasks[0])", task_of(i + 1))})
        } else if kind == "taskworker" {
            json!({"consume_work": format!("self.publish_work({}(text=task.text), input_task=task)", task_of(i + 1))})
        } else {
            json!({})
        };
        let mut data = json!({"workerName": format!("Worker{i}"), "inputTypes": [task_of(i)],
            "output_types": [task_of(i + 1)], "methods": method});
        for (k, v) in extra.as_object().unwrap() {
            data[k] = v.clone();
        }
        nodes.push(json!({"id": format!("w{i}"), "type": kind, "position": {"x": i * 300, "y": 0}, "data": data}));
        if i > 0 {
            edges.push(json!({"id": format!("e{i}"), "source": format!("w{}", i - 1), "target": format!("w{i}")}));
        }
    }
    nodes.push(json!({"id": "in", "type": "datainput", "position": {"x": 0, "y": 0},
        "data": {"className": task_of(0), "jsonData": "{\"text\": \"start \\u00e9\", \"count\": 123456789012345678901234567890}"}}));
    nodes.push(
        json!({"id": "out", "type": "dataoutput", "position": {"x": 0, "y": 0},
        "data": {"className": "Out", "inputTypes": [task_of(WORKERS)]}}),
    );
    edges.push(json!({"id": "ein", "source": "in", "target": "w0"}));
    edges.push(json!({"id": "eout", "source": format!("w{}", WORKERS - 1), "target": "out"}));
    serde_json::to_string_pretty(&json!({
        "version": 2, "name": "Benchmark graph", "nodes": nodes, "edges": edges, "tasks": tasks,
        "taskImports": [],
        "tools": [{"id": "tool-1", "name": "lookup", "description": "Looks \"things\" up",
                   "code": "def lookup(key: str) -> str:\n    return key\n"}],
        "llmConfigs": [{"id": "c", "name": "Local", "provider": "ollama", "modelId": "llama3"}],
        "llmConfigsFromCode": []
    }))
    .unwrap()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let json = generated_graph();
    let module = interop::import_editor_graph(&json).unwrap();
    let path = PathBuf::from("/bench/generated_flow.py");
    let mut import_times = Vec::new();
    let mut export_times = Vec::new();
    let mut exported_nodes = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        let imported = interop::import_editor_graph(&json).unwrap();
        import_times.push(start.elapsed());
        assert_eq!(imported.source, module.source);

        let start = Instant::now();
        let mut host = AnalysisHost::new();
        host.set_roots(vec![PathBuf::from("/bench")]);
        host.set_file(path.clone(), Arc::from(module.source.as_str()), None);
        let exported = interop::module_to_graph(&host, &path, "generated_flow").unwrap();
        let text = exported.to_json();
        export_times.push(start.elapsed());
        exported_nodes = exported.graph.nodes.len();
        std::hint::black_box(text);
    }
    println!(
        "graph: {} bytes of JSON, {WORKERS} worker nodes; module: {} lines",
        json.len(),
        module.source.lines().count()
    );
    println!("{:<46} {:>10}", "step (median of 30)", "time");
    println!(
        "{:<46} {:>7.2} ms",
        "import (JSON -> module)",
        median(import_times).as_secs_f64() * 1e3
    );
    println!(
        "{:<46} {:>7.2} ms",
        format!("export (module -> JSON, {exported_nodes} nodes)"),
        median(export_times).as_secs_f64() * 1e3
    );
    println!("goal: under 50 ms each");
}
