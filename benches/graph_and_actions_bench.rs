//! Graph model and code-action benchmark (`cargo bench --bench graph_and_actions_bench`).
//!
//! On `testing::generate_wired_module` (one builder wiring every worker) in a 200-file
//! workspace, with one RT1 error in the middle worker:
//! 1. `analysis::fixes::fixes` (what `textDocument/codeAction` computes) on the RT1
//!    diagnostic, on a cursor with no diagnostic, and on a capitalised unbound name (which
//!    searches the workspace for a Task class to import). Goal: under 10 ms median.
//! 2. `graph_model` + JSON + DOT (what `planai/graph` computes), and the SVG layout of a
//!    smaller graph.
//!
//! Prints a table; no assertions (timings depend on the machine).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use planai_lsp::analysis::{fixes, graph_model, graph_view, AnalysisHost};
use planai_lsp::diagnostics::TextRange;
use planai_lsp::testing::generate_wired_module;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn measure(runs: usize, mut f: impl FnMut()) -> Duration {
    f(); // warm caches, as an editor's second request would find them
    median(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed()
            })
            .collect(),
    )
}

fn workspace(pairs: usize) -> (AnalysisHost, PathBuf, String) {
    let text = generate_wired_module(pairs).replace(
        "value = task.index + 7  # body edit",
        "value = task.index + 7  # body edit\n        self.publish_work(Item0(text=\"x\"), input_task=task)",
    ) + "\n\nstray = Other7\n";
    let mut host = AnalysisHost::new();
    host.set_roots(vec![PathBuf::from("/ws")]);
    for i in 0..199 {
        let module = format!(
            "from planai import Task\n\n\nclass Other{i}(Task):\n    text: str\n    score: float = 0.0\n"
        );
        host.set_file(
            PathBuf::from(format!("/ws/pkg/mod_{i}.py")),
            Arc::from(module.as_str()),
            None,
        );
    }
    let path = PathBuf::from("/ws/pkg/wired.py");
    host.set_file(path.clone(), Arc::from(text.as_str()), None);
    (host, path, text)
}

fn main() {
    let pairs = 500;
    let (host, path, text) = workspace(pairs);
    let lines = text.lines().count();
    let diagnostics = host.file_diagnostics(&path);
    let rt1 = diagnostics
        .iter()
        .find(|d| d.code.as_str() == "RT1")
        .expect("the injected RT1")
        .range;
    println!(
        "wired module: {pairs} pairs, {lines} lines, 200-file workspace, {} diagnostics",
        diagnostics.len()
    );
    println!("{:<58} {:>12}", "measurement", "median");
    let row = |name: &str, d: Duration| println!("{name:<58} {:>9.3} ms", d.as_secs_f64() * 1e3);

    let offered = fixes::fixes(&host, &path, rt1).len();
    row(
        &format!("code actions on the RT1 diagnostic ({offered} fixes)"),
        measure(50, || {
            std::hint::black_box(fixes::fixes(&host, &path, rt1));
        }),
    );
    let plain = text.find("class Worker3(").unwrap();
    row(
        "code actions at a cursor without diagnostics",
        measure(50, || {
            std::hint::black_box(fixes::fixes(&host, &path, TextRange::new(plain, plain)));
        }),
    );
    let unbound = text.find("stray = Other7").unwrap() + "stray = ".len();
    let imports = fixes::fixes(&host, &path, TextRange::new(unbound, unbound)).len();
    row(
        &format!("code actions on an unbound Task name ({imports} import)"),
        measure(20, || {
            std::hint::black_box(fixes::fixes(&host, &path, TextRange::new(unbound, unbound)));
        }),
    );

    row(
        "planai/graph: graph model",
        measure(20, || {
            std::hint::black_box(graph_model::graph_model(&host, &path));
        }),
    );
    let model = graph_model::graph_model(&host, &path);
    row(
        "planai/graph: JSON and DOT of the model",
        measure(20, || {
            let json = graph_model::to_json(
                &model,
                &mut |l| serde_json::json!({"path": l.path.display().to_string(), "start": l.range.start()}),
            );
            std::hint::black_box((json, graph_view::dot(&model)));
        }),
    );
    let small_pairs = 40;
    let (small_host, small_path, _) = workspace(small_pairs);
    let small = graph_model::graph_model(&small_host, Path::new(&small_path));
    let graphs: Vec<_> = small.graphs.iter().collect();
    let picture = graph_view::svg(&graphs).expect("the layout succeeds");
    row(
        &format!(
            "SVG layout of a {small_pairs}-worker graph ({} KiB)",
            picture.len() / 1024
        ),
        measure(5, || {
            std::hint::black_box(graph_view::svg(&graphs).ok());
        }),
    );
}
