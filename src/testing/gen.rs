//! A generator of realistic, valid PlanAI workflow modules of a given size.

use std::fmt::Write;

/// Approximate lines one stage costs (task class, worker class, graph wiring).
const LINES_PER_STAGE: usize = 24;

const HEADER: &str = "\"\"\"Generated PlanAI workflow used by tests and benchmarks.\"\"\"\n\
from typing import List, Type\n\
\n\
from planai import Graph, LLMTaskWorker, Task, TaskWorker, llm_from_config\n";

const FOOTER: &str = "\n\ndef main():\n    graph, first = build_graph()\n    retries = 3\n    \
graph.run(initial_tasks=[(first, Stage0Task(text=\"start\"))], display_terminal=False)\n\
\n\nif __name__ == \"__main__\":\n    main()\n";

/// A valid Python module of exactly `lines` lines (at least a minimal workflow's worth, about
/// 80) in PlanAI style: a chain of `Task` subclasses, `TaskWorker` and `LLMTaskWorker`
/// subclasses with `consume_work`/`publish_work`, and a `build_graph` wiring them with
/// `set_dependency(...).next(...)` chains.
///
/// Worker `i` consumes `Stage{i}Task` and publishes `Stage{i+1}Task`, so the graph is
/// type-correct, and every class is defined before it is used. The module ends with
///
/// ```text
/// def main():
///     graph, first = build_graph()
///     retries = 3
///     graph.run(...)
///
///
/// if __name__ == "__main__":
///     main()
/// ```
///
/// so benchmarks can toggle the digit in `retries = 3` or remove/restore the `:` of the
/// last `if`, near the end of the file. Deterministic: the same `lines` gives the same text.
pub fn generate_planai_module(lines: usize) -> String {
    let fixed = HEADER.matches('\n').count() + FOOTER.matches('\n').count();
    let mut stages = (lines.saturating_sub(fixed) / LINES_PER_STAGE).max(2);
    let body = loop {
        let body = body(stages);
        let total = fixed + body.matches('\n').count();
        if total <= lines || stages == 2 {
            break body;
        }
        stages = (stages - 1 - (total - lines) / LINES_PER_STAGE).max(2);
    };
    let used = fixed + body.matches('\n').count();
    let mut out = String::with_capacity(lines * 40);
    out.push_str(HEADER);
    // Pad with module settings so the module has exactly `lines` lines.
    let padding = lines.saturating_sub(used);
    if padding > 0 {
        out.push('\n');
        for k in 1..padding {
            let _ = writeln!(out, "SETTING_{k} = {}", k % 10);
        }
    }
    out.push_str(&body);
    out.push_str(FOOTER);
    out
}

fn body(stages: usize) -> String {
    let mut out = String::new();
    for i in 0..=stages {
        let _ = writeln!(
            out,
            "\n\nclass Stage{i}Task(Task):\n    text: str\n    index: int = {i}\n    score: float = 0.5"
        );
    }
    for i in 0..stages {
        worker(&mut out, i);
    }
    graph(&mut out, stages);
    out
}

fn worker(out: &mut String, i: usize) {
    let next = i + 1;
    if i % 3 == 2 {
        let _ = writeln!(
            out,
            "\n\nclass Stage{i}Worker(LLMTaskWorker):\n    \
             output_types: List[Type[Task]] = [Stage{next}Task]\n    \
             llm_input_type: Type[Task] = Stage{i}Task\n    \
             prompt: str = \"Rewrite {{text}} for stage {i} and keep it short.\"\n    \
             temperature: float = 0.{d}\n\n    \
             def pre_process(self, task: Stage{i}Task):\n        \
             return task\n\n    \
             def post_process(self, response: Stage{next}Task, input_task: Stage{i}Task):\n        \
             if response is None:\n            \
             return\n        \
             self.publish_work(response, input_task=input_task)",
            d = i % 10
        );
    } else {
        let _ = writeln!(
            out,
            "\n\nclass Stage{i}Worker(TaskWorker):\n    \
             output_types: List[Type[Task]] = [Stage{next}Task]\n    \
             num_retries: int = {r}\n\n    \
             def consume_work(self, task: Stage{i}Task):\n        \
             value = task.index + {i}\n        \
             if value % 2 == 0:\n            \
             text = f\"{{task.text}}-{{value}}\"\n        \
             else:\n            \
             text = task.text.upper()\n        \
             scores = [task.score * k for k in range(3)]\n        \
             self.publish_work(\n            \
             Stage{next}Task(text=text, index=value), input_task=task\n        \
             )",
            r = i % 4
        );
    }
}

fn graph(out: &mut String, stages: usize) {
    out.push_str("\n\ndef build_graph():\n    graph = Graph(name=\"generated\")\n");
    out.push_str("    llm = llm_from_config(provider=\"ollama\", model_name=\"llama3\")\n");
    for i in 0..stages {
        if i % 3 == 2 {
            let _ = writeln!(out, "    w{i} = Stage{i}Worker(llm=llm)");
        } else {
            let _ = writeln!(out, "    w{i} = Stage{i}Worker()");
        }
    }
    out.push_str("    graph.add_workers(\n");
    let names: Vec<String> = (0..stages).map(|i| format!("w{i}")).collect();
    for chunk in names.chunks(10) {
        let _ = writeln!(out, "        {},", chunk.join(", "));
    }
    out.push_str("    )\n");
    // Dependencies in `.next()` chains of four.
    let mut i = 0;
    while i + 1 < stages {
        let _ = write!(out, "    graph.set_dependency(w{i}, w{})", i + 1);
        let mut j = i + 1;
        while j + 1 < stages && j < i + 4 {
            let _ = write!(out, ".next(w{})", j + 1);
            j += 1;
        }
        out.push('\n');
        i = j;
    }
    let last = stages - 1;
    let _ = writeln!(out, "    graph.set_sink(w{last}, Stage{stages}Task)");
    out.push_str("    return graph, w0\n");
}

/// A module shaped like a large real workflow: `pairs` Task/worker pairs and one `build()`
/// that instantiates every worker, adds them all to the graph and chains them with
/// `set_dependency`, so every worker is reachable from the graph builder. About 15 lines a
/// pair (400 pairs: ~6,600 lines). Every fifth worker is an `LLMTaskWorker`.
///
/// Marked lines that benchmarks edit (each unique in the text):
/// - `        value = task.index + 7  # body edit` inside the middle worker's `consume_work`;
/// - `MIDDLE_SETTING = 1` at module level between the middle pairs (flip it to `MIDDLE_SETTING = (`
///   to add a syntax error, back to remove it);
/// - `    middle = Worker{m}(num_retries=2)  # builder edit` inside `build()`.
pub fn generate_wired_module(pairs: usize) -> String {
    let pairs = pairs.max(2);
    let middle = pairs / 2;
    let mut out = String::with_capacity(pairs * 600);
    out.push_str(
        "\"\"\"A large PlanAI workflow: one graph builder wires every worker.\"\"\"\n\
         from typing import List, Type\n\n\
         from planai import Graph, LLMTaskWorker, Task, TaskWorker, llm_from_config\n",
    );
    for i in 0..pairs {
        if i == middle {
            out.push_str("\n\nMIDDLE_SETTING = 1\n");
        }
        let next = i + 1;
        let worker_edit = if i == middle { "  # worker edit" } else { "" };
        let _ = write!(
            out,
            "\n\nclass Item{i}(Task):\n    text: str\n    index: int = {i}\n"
        );
        if i % 5 == 4 {
            let _ = write!(
                out,
                "\n\nclass Worker{i}(LLMTaskWorker):\n    \
                 output_types: List[Type[Task]] = [Item{next}]{worker_edit}\n    \
                 llm_input_type: Type[Task] = Item{i}\n    \
                 llm_output_type: Type[Task] = Item{next}\n    \
                 prompt: str = \"Summarise {{text}} in one line.\"\n\n    \
                 def post_process(self, response: Item{next}, input_task: Item{i}):\n        \
                 if response is not None:\n            \
                 self.publish_work(response, input_task=input_task)\n"
            );
        } else {
            let body_edit = if i == middle { "  # body edit" } else { "" };
            let addend = if i == middle { 7 } else { i % 10 };
            let _ = write!(
                out,
                "\n\nclass Worker{i}(TaskWorker):\n    \
                 output_types: List[Type[Task]] = [Item{next}]{worker_edit}\n\n    \
                 def consume_work(self, task: Item{i}):\n        \
                 value = task.index + {addend}{body_edit}\n        \
                 text = f\"{{task.text}}-{{value}}\"\n        \
                 self.publish_work(Item{next}(text=text, index=value), input_task=task)\n"
            );
        }
    }
    let _ = write!(
        out,
        "\n\nclass Item{pairs}(Task):\n    text: str\n    index: int = {pairs}\n"
    );
    out.push_str("\n\ndef build():\n    graph = Graph(name=\"wired\")\n");
    out.push_str("    llm = llm_from_config(provider=\"ollama\", model_name=\"llama3\")\n");
    for i in 0..pairs {
        if i == middle {
            let _ = writeln!(out, "    middle = Worker{i}(num_retries=2)  # builder edit");
            let _ = writeln!(out, "    worker{i} = middle");
        } else if i % 5 == 4 {
            let _ = writeln!(out, "    worker{i} = Worker{i}(llm=llm)");
        } else {
            let _ = writeln!(out, "    worker{i} = Worker{i}()");
        }
    }
    out.push_str("    graph.add_workers(\n");
    let names: Vec<String> = (0..pairs).map(|i| format!("worker{i}")).collect();
    for chunk in names.chunks(8) {
        let _ = writeln!(out, "        {},", chunk.join(", "));
    }
    out.push_str("    )\n");
    for i in 0..pairs - 1 {
        let _ = writeln!(out, "    graph.set_dependency(worker{i}, worker{})", i + 1);
    }
    let _ = writeln!(out, "    graph.set_sink(worker{}, Item{pairs})", pairs - 1);
    out.push_str("    return graph, worker0\n\n\n");
    out.push_str(
        "if __name__ == \"__main__\":\n    \
         graph, first = build()\n    \
         graph.run(initial_tasks=[(first, Item0(text=\"start\"))], display_terminal=False)\n",
    );
    out
}

/// The edit of one worker in `generate_wired_module(pairs)`: the middle worker's
/// `output_types` line (a needle found once) and the texts of its declared type's last digit
/// that edits cycle through (two other types', then its own). Each of the first two changes
/// what the worker produces, so the graph builder's edge from it to its consumer no longer
/// holds; three states, so that no edit returns to the text of the edit before the last.
pub fn wired_worker_edit(pairs: usize) -> (String, [String; 3]) {
    let declared = pairs.max(2) / 2 + 1;
    let needle = format!("[Item{declared}]  # worker edit");
    let digit = declared % 10;
    let other = |step: usize| ((digit + step) % 10).to_string();
    (needle, [other(1), other(2), digit.to_string()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_exact_and_python_is_valid() {
        for lines in [80, 600, 601, 6_000, 60_000] {
            let text = generate_planai_module(lines);
            assert_eq!(text.lines().count(), lines, "{lines}");
            let tree = crate::syntax::parse(&text).expect("parse");
            assert!(!tree.root_node().has_error(), "{lines}");
            assert!(crate::syntax::syntax_diagnostics(&tree, &text).is_empty());
            assert!(text.contains("    retries = 3\n"));
            assert!(text.ends_with("if __name__ == \"__main__\":\n    main()\n"));
        }
        assert_eq!(generate_planai_module(600), generate_planai_module(600));
    }

    #[test]
    fn the_wired_module_is_valid_and_marks_each_edit_once() {
        let text = generate_wired_module(400);
        let tree = crate::syntax::parse(&text).expect("parse");
        assert!(!tree.root_node().has_error());
        assert!(crate::syntax::syntax_diagnostics(&tree, &text).is_empty());
        let (worker_edit, _) = wired_worker_edit(400);
        for marker in [
            "# body edit",
            "MIDDLE_SETTING = 1",
            "# builder edit",
            &worker_edit,
        ] {
            assert_eq!(text.matches(marker).count(), 1, "{marker}");
        }
        let lines = text.lines().count();
        assert!((5_500..7_000).contains(&lines), "{lines}");
    }

    #[test]
    fn cpython_compiles_it() {
        let text = generate_planai_module(600);
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                "import sys; compile(sys.stdin.read(), 'gen.py', 'exec')",
            ])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child
                    .stdin
                    .take()
                    .expect("stdin")
                    .write_all(text.as_bytes())?;
                child.wait_with_output()
            });
        // The suite needs python3 (scripts/test.sh builds its venv with it): no python3 is a
        // failure, not a skip.
        let out = out.expect("python3 on PATH (CPython compiles the generated module)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
