//! Analysis benchmark (`cargo bench --bench analysis_bench`).
//!
//! 1. Re-analysis after a one-character edit in a 5,000-line module of a 200-file workspace
//!    (incremental tree-sitter parse + `set_file` + `file_diagnostics`, cross-file resolution
//!    included), median over many edits.
//! 2. Indexing a generated 1,000-file workspace (discovery + read + parse + summary).
//! 3. The original tool's approach for comparison: Python's `ast.parse` over the same files.
//!
//! Prints a table; no assertions (timings depend on the machine).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use planai_lsp::workspace;

fn tasks_module(i: usize) -> String {
    let mut s = String::from("from typing import List, Type\n\nfrom planai import Task\n\n");
    for k in 0..5 {
        s.push_str(&format!("\nclass T{i}_{k}(Task):\n    \"\"\"Task {k} of module {i}.\"\"\"\n    text: str\n    score: float = 0.0\n    items: List[str] = []\n\n"));
    }
    s
}

fn workers_module(i: usize) -> String {
    let mut s = format!(
        "from typing import List, Type\n\nfrom planai import Graph, Task, TaskWorker, LLMTaskWorker\n\nfrom .tasks_{i} import T{i}_0, T{i}_1, T{i}_2\n\n"
    );
    s.push_str(&format!(
        "\nclass W{i}a(TaskWorker):\n    output_types: List[Type[Task]] = [T{i}_1]\n\n    def consume_work(self, task: T{i}_0):\n        self.publish_work(T{i}_1(text=task.text), input_task=task)\n\n"
    ));
    s.push_str(&format!(
        "\nclass W{i}b(LLMTaskWorker):\n    output_types: List[Type[Task]] = [T{i}_2]\n    llm_input_type: Type[Task] = T{i}_1\n    prompt: str = \"Summarise the text\"\n\n"
    ));
    s.push_str(&format!(
        "\ndef build_{i}(llm):\n    graph = Graph(name=\"g{i}\")\n    a = W{i}a()\n    b = W{i}b(llm=llm)\n    graph.add_workers(a, b)\n    graph.set_dependency(a, b).sink(T{i}_2)\n    graph.run(initial_tasks=[(a, T{i}_0(text=\"x\"))], display_terminal=False)\n"
    ));
    s
}

/// A ~5,000-line module that uses tasks and workers from many other modules.
fn big_module(lines: usize, modules: usize) -> String {
    let mut s = String::from("from typing import List, Type\n\nfrom planai import Graph, Task, TaskWorker, JoinedTaskWorker, InitialTaskWorker\n\n");
    for i in 0..modules.min(50) {
        s.push_str(&format!(
            "from .tasks_{i} import T{i}_0, T{i}_1\nfrom .workers_{i} import W{i}a\n"
        ));
    }
    let mut n = 0;
    while s.lines().count() < lines {
        let i = n % modules.min(50);
        s.push_str(&format!(
            "\n\nclass Big{n}(Task):\n    text: str\n    count: int = {n}\n\n\nclass BigWorker{n}(TaskWorker):\n    output_types: List[Type[Task]] = [Big{n}]\n\n    def consume_work(self, task: T{i}_1):\n        value = Big{n}(text=task.text, count=len(task.text))\n        if value.count > 3:\n            self.publish_work(value, input_task=task)\n        else:\n            self.publish_work(Big{n}(text=\"short\"), input_task=task)\n\n\nclass Join{n}(JoinedTaskWorker):\n    output_types: List[Type[Task]] = [T{i}_0]\n    join_type: Type[TaskWorker] = InitialTaskWorker\n\n    def consume_work_joined(self, tasks: List[Big{n}]):\n        self.publish_work(T{i}_0(text=\"joined\"), input_task=tasks[0])\n\n\ndef build{n}():\n    graph = Graph(name=\"big{n}\")\n    up = W{i}a()\n    mid = BigWorker{n}()\n    join = Join{n}()\n    graph.add_workers(up, mid, join)\n    graph.set_dependency(up, mid).next(join)\n    return graph\n"
        ));
        n += 1;
    }
    s
}

fn write_workspace(dir: &Path, files: usize, with_big: bool) -> Option<PathBuf> {
    let pkg = dir.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("__init__.py"), "").unwrap();
    let modules = (files - 2) / 2;
    for i in 0..modules {
        std::fs::write(pkg.join(format!("tasks_{i}.py")), tasks_module(i)).unwrap();
        std::fs::write(pkg.join(format!("workers_{i}.py")), workers_module(i)).unwrap();
    }
    if with_big {
        let p = pkg.join("big.py");
        std::fs::write(&p, big_module(5000, modules)).unwrap();
        Some(p)
    } else {
        None
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Median seconds of `ast.parse` over `files` (whole set), as the original importer did.
fn python_ast_seconds(files: &[PathBuf], repeat: usize) -> Option<f64> {
    let list = files
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    let script = r#"
import ast, sys, time
files = sys.stdin.read().split("\n")
texts = [open(f, encoding="utf-8").read() for f in files]
times = []
for _ in range(int(sys.argv[1])):
    t = time.perf_counter()
    for src in texts:
        ast.parse(src)
    times.append(time.perf_counter() - t)
times.sort()
print(times[len(times) // 2])
"#;
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(repeat.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    use std::io::Write;
    child.stdin.take()?.write_all(list.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// The server's path for a keystroke inside one definition: `StatementIndex::reparse` parses
/// only the edited top-level statement, `update_definition` replaces it in the summary, and
/// `file_diagnostics` re-checks the units that depend on it. Median over 60 type/delete edits.
fn statement_level_edits(
    host: &mut planai_lsp::analysis::AnalysisHost,
    path: &Path,
    text: &mut String,
    anchor: usize,
) -> Duration {
    use planai_lsp::syntax::statements::StatementIndex;
    let mut parser = planai_lsp::syntax::new_parser();
    let tree = parser.parse(text.as_str(), None).unwrap();
    host.set_file(path.to_path_buf(), Arc::from(text.as_str()), Some(&tree));
    let syntax = planai_lsp::syntax::syntax_diagnostics(&tree, text);
    let mut index = StatementIndex::new(
        Arc::from(text.as_str()),
        std::slice::from_ref(&tree),
        syntax,
    )
    .expect("the big module has no syntax error");
    let mut times = Vec::new();
    for i in 0..60 {
        if i % 2 == 0 {
            text.insert(anchor, 'T');
        } else {
            text.remove(anchor);
        }
        let start = Instant::now();
        let shared: Arc<str> = Arc::from(text.as_str());
        let change = index
            .reparse(&mut parser, &shared)
            .expect("an edit inside a string literal of a method stays in its statement");
        assert!(host.update_definition(
            path,
            shared.clone(),
            change.edit,
            change.old_start,
            change.definition()
        ));
        index = index.apply(shared, &change);
        let diagnostics = host.file_diagnostics(path);
        times.push(start.elapsed());
        assert!(diagnostics.is_empty());
    }
    median(times)
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let tmp = tempfile::tempdir().unwrap();

    // 1. Edit latency in a 200-file workspace.
    let ws200 = tmp.path().join("ws200");
    let big = write_workspace(&ws200, 200, true).unwrap();
    let mut host = workspace::load_workspace(std::slice::from_ref(&ws200));
    let mut text = std::fs::read_to_string(&big).unwrap();
    let lines = text.lines().count();
    let mut parser = planai_lsp::syntax::new_parser();
    let mut tree = parser.parse(&text, None).unwrap();
    let warm = host.file_diagnostics(&big);
    // Edit a character inside a string literal (`"short"` → `"shorT"` and back).
    let anchor = text.find("\"short\"").unwrap() + 5;
    let mut edit_times = Vec::new();
    let mut full_times = Vec::new();
    let (mut parse_t, mut set_t, mut diag_t) = (Vec::new(), Vec::new(), Vec::new());
    // PLANAI_BENCH_EDITS=n runs only the edit loop n times (for profiling).
    let profile_edits: Option<usize> = std::env::var("PLANAI_BENCH_EDITS")
        .ok()
        .and_then(|v| v.parse().ok());
    for i in 0..profile_edits.unwrap_or(60) {
        // Alternately type a character and delete it again (an insertion shifts every later
        // definition, the realistic case for typing).
        let start_position = planai_lsp::text::str_offset_to_point(&text, anchor);
        let (old_end, new_end) = if i % 2 == 0 {
            (anchor, anchor + 1)
        } else {
            (anchor + 1, anchor)
        };
        let old_end_position = tree_sitter::Point::new(
            start_position.row,
            start_position.column + (old_end - anchor),
        );
        let new_end_position = tree_sitter::Point::new(
            start_position.row,
            start_position.column + (new_end - anchor),
        );
        let start = Instant::now();
        if i % 2 == 0 {
            text.insert(anchor, 'T');
        } else {
            text.remove(anchor);
        }
        tree.edit(&tree_sitter::InputEdit {
            start_byte: anchor,
            old_end_byte: old_end,
            new_end_byte: new_end,
            start_position,
            old_end_position,
            new_end_position,
        });
        tree = parser.parse(&text, Some(&tree)).unwrap();
        let t1 = start.elapsed();
        host.set_file(big.clone(), Arc::from(text.as_str()), Some(&tree));
        let t2 = start.elapsed();
        let diags = host.file_diagnostics(&big);
        edit_times.push(start.elapsed());
        parse_t.push(t1);
        set_t.push(t2 - t1);
        diag_t.push(start.elapsed() - t2);
        assert_eq!(diags.len(), warm.len());

        if profile_edits.is_some() {
            continue;
        }
        let start = Instant::now();
        host.set_file(big.clone(), Arc::from(text.as_str()), None);
        let _ = host.file_diagnostics(&big);
        full_times.push(start.elapsed());
    }
    if profile_edits.is_some() {
        println!(
            "edit median {:.2} ms (parse {:.2}, set_file {:.2}, file_diagnostics {:.2})",
            ms(median(edit_times)),
            ms(median(parse_t)),
            ms(median(set_t)),
            ms(median(diag_t))
        );
        return;
    }
    let mut build_t = Vec::new();
    for _ in 0..20 {
        let start = Instant::now();
        let _ = planai_lsp::analysis::FileData::build(
            big.clone(),
            Arc::from(text.as_str()),
            Some(&tree),
        );
        build_t.push(start.elapsed());
    }
    println!("(summary build alone: {:.2} ms)", ms(median(build_t)));
    let edit_min = edit_times.iter().min().copied().unwrap_or_default();
    let edit_median = median(edit_times);
    let breakdown = (ms(median(parse_t)), ms(median(set_t)), ms(median(diag_t)));
    let full_median = median(full_times);
    let statement_median = statement_level_edits(&mut host, &big, &mut text, anchor);
    let py_big = python_ast_seconds(std::slice::from_ref(&big), 21);

    // 2. Indexing 1,000 files.
    let ws1000 = tmp.path().join("ws1000");
    write_workspace(&ws1000, 1000, false);
    let mut index_times = Vec::new();
    let mut files_seen = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let h = workspace::load_workspace(std::slice::from_ref(&ws1000));
        index_times.push(start.elapsed());
        files_seen = h.files().count();
    }
    let index_median = median(index_times);
    let files = workspace::discover_python_files(std::slice::from_ref(&ws1000));
    let py_index = python_ast_seconds(&files, 5);

    println!("planai-lsp analysis benchmark");
    println!("| measurement | planai-lsp | python ast (original importer) | ratio |");
    println!("|---|---|---|---|");
    let row = |name: &str, ours: f64, theirs: Option<f64>| match theirs {
        Some(t) => println!(
            "| {name} | {ours:.2} ms | {:.2} ms | {:.1}x faster |",
            t * 1000.0,
            t * 1000.0 / ours
        ),
        None => println!("| {name} | {ours:.2} ms | n/a (python3 unavailable) | - |"),
    };
    row(
        &format!("type/delete one char in {lines}-line module, 200 files (incremental parse + summary + diagnostics), median"),
        ms(edit_median),
        py_big,
    );
    row(
        "same edit, statement-level path (what the server does: reparse one statement, replace one definition, re-check dependent units), median",
        ms(statement_median),
        py_big,
    );
    row(
        "same edit with a full re-parse, median",
        ms(full_median),
        py_big,
    );
    row(
        &format!("index {files_seen}-file workspace (discover+read+parse+summary), median"),
        ms(index_median),
        py_index,
    );
    println!(
        "(edit breakdown, medians: incremental parse {:.2} ms, set_file {:.2} ms, file_diagnostics {:.2} ms; \
         fastest edit {:.2} ms — the machine is shared, so compare ratios more than absolute times)",
        breakdown.0,
        breakdown.1,
        breakdown.2,
        ms(edit_min)
    );
    println!("(python column: ast.parse only — no discovery, resolution or checks; {} diagnostics in the big module)", warm.len());
}
