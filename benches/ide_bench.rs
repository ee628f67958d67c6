//! Latency of the language features on the large wired module (`generate_wired_module`: one
//! builder wires every worker) in a 200-file workspace, measured in-process on the analysis
//! the server calls (`analysis::ide`), without the transport.
//!
//! ```sh
//! cargo bench --bench ide_bench
//! ```
//!
//! For each feature: the median and 90th percentile of `PLANAI_BENCH_REPEAT` (default 51)
//! calls, each with a fresh query context as a request has; the goal is a median under 5 ms.
//! Environment: `PLANAI_BENCH_WIRED_PAIRS` (default 400, ~6,600 lines).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use planai_lsp::analysis::ide::{complete, hover, inlay, lenses, navigation, symbols};
use planai_lsp::analysis::AnalysisHost;
use planai_lsp::testing::generate_wired_module;

fn tasks_module(i: usize) -> String {
    let mut s = String::from("from typing import List\n\nfrom planai import Task\n\n");
    for k in 0..5 {
        s.push_str(&format!(
            "\nclass T{i}_{k}(Task):\n    text: str\n    score: float = 0.0\n    items: List[str] = []\n\n"
        ));
    }
    s
}

fn workers_module(i: usize) -> String {
    format!(
        "from typing import List, Type\n\nfrom planai import Graph, Task, TaskWorker, LLMTaskWorker\n\n\
         from .tasks_{i} import T{i}_0, T{i}_1, T{i}_2\n\n\n\
         class W{i}a(TaskWorker):\n    output_types: List[Type[Task]] = [T{i}_1]\n\n    \
         def consume_work(self, task: T{i}_0):\n        self.publish_work(T{i}_1(text=task.text), input_task=task)\n\n\n\
         class W{i}b(LLMTaskWorker):\n    output_types: List[Type[Task]] = [T{i}_2]\n    \
         llm_input_type: Type[Task] = T{i}_1\n    prompt: str = \"Summarise the text\"\n\n\n\
         def build_{i}(llm):\n    graph = Graph(name=\"g{i}\")\n    a = W{i}a()\n    b = W{i}b(llm=llm)\n    \
         graph.add_workers(a, b)\n    graph.set_dependency(a, b)\n    return graph\n"
    )
}

fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[i].as_secs_f64() * 1000.0
    };
    (at(0.5), at(0.9))
}

fn measure(name: &str, repeat: usize, mut run: impl FnMut() -> usize) {
    // One warm-up call (first reads fill the shared per-worker fact cache, as the server's
    // diagnostics already have by the time a user hovers).
    let answer = run();
    let samples: Vec<Duration> = (0..repeat)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(run());
            start.elapsed()
        })
        .collect();
    let (median, p90) = percentiles(samples);
    let verdict = if median < 5.0 { "ok" } else { "OVER 5 ms" };
    println!("{name:<44} {median:>8.3} ms {p90:>8.3} ms   ({answer} items)  {verdict}");
}

fn main() {
    let pairs: usize = std::env::var("PLANAI_BENCH_WIRED_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let repeat: usize = std::env::var("PLANAI_BENCH_REPEAT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(51);
    let root = PathBuf::from("/bench");
    let mut host = AnalysisHost::new();
    host.set_roots(vec![root.clone()]);
    let mut files = vec![root.join("pkg/__init__.py")];
    host.set_file(files[0].clone(), Arc::from(""), None);
    for i in 0..99 {
        for (name, text) in [
            (format!("pkg/tasks_{i}.py"), tasks_module(i)),
            (format!("pkg/workers_{i}.py"), workers_module(i)),
        ] {
            let path = root.join(name);
            host.set_file(path.clone(), Arc::from(text.as_str()), None);
            files.push(path);
        }
    }
    let wired = generate_wired_module(pairs);
    let wired_path = root.join("pkg/wired.py");
    host.set_file(wired_path.clone(), Arc::from(wired.as_str()), None);
    files.push(wired_path.clone());
    // The server has checked the files before a user asks anything.
    for f in &files {
        std::hint::black_box(host.file_diagnostics(f));
    }
    let m = pairs / 2;
    let p: &Path = &wired_path;
    let at = |needle: &str| {
        wired
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in the wired module"))
    };
    println!(
        "ide benchmark: wired module of {pairs} pairs ({} lines) in a {}-file workspace, {repeat} calls each",
        wired.lines().count(),
        files.len()
    );
    println!("{:<44} {:>11} {:>11}", "feature", "median", "p90");

    let task = format!("class Item{m}(Task)");
    let worker_var = format!("    worker{} = Worker{}()", m + 1, m + 1);
    let wiring = format!("graph.set_dependency(worker{}, worker{})", m + 1, m + 2);
    measure("hover: Task class (fields, producers)", repeat, || {
        hover::hover(&host, p, at(&task) + 6).map_or(0, |h| h.markdown.len())
    });
    measure("hover: worker variable in the builder", repeat, || {
        hover::hover(&host, p, at(&worker_var) + 5).map_or(0, |h| h.markdown.len())
    });
    measure("hover: graph variable (workers and edges)", repeat, || {
        hover::hover(&host, p, at("graph.add_workers(") + 1).map_or(0, |h| h.markdown.len())
    });
    measure("definition: worker variable", repeat, || {
        navigation::definition(&host, p, at(&wiring) + 22).map_or(0, |_| 1)
    });
    measure("definition: worker class", repeat, || {
        navigation::definition(&host, p, at(&worker_var) + 20).map_or(0, |_| 1)
    });
    measure("references: Task class (workspace)", repeat, || {
        navigation::references(&host, p, at(&task) + 6).len()
    });
    measure("references: worker variable", repeat, || {
        navigation::references(&host, p, at(&wiring) + 22).len()
    });
    // The editor's text has the call being typed; the host still has the text before it.
    let typing = format!("    graph.set_dependency(worker{m}, ");
    let insert_at = at("    return graph, worker0");
    let edited = format!("{}{}\n{}", &wired[..insert_at], typing, &wired[insert_at..]);
    let cursor = insert_at + typing.len();
    measure("completion: set_dependency(upstream, |)", repeat, || {
        complete::completions(&host, p, &edited, cursor).len()
    });
    let field_at = at("value = task.index + 7") + "value = task.".len();
    measure("completion: task. in consume_work", repeat, || {
        complete::completions(&host, p, &wired, field_at).len()
    });
    measure("documentSymbol", repeat, || {
        symbols::document_symbols(&host, p).len()
    });
    measure("workspace/symbol \"Item1\"", repeat, || {
        symbols::workspace_symbols(&host, "Item1", 500).len()
    });
    measure("codeLens", repeat, || lenses::code_lenses(&host, p).len());
    measure("inlayHint (whole module)", repeat, || {
        inlay::inlay_hints(&host, p, 0, wired.len()).len()
    });
}
