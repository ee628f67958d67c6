//! The statement-level fast path (`syntax::statements` + `AnalysisHost::apply_statement_edit`)
//! gives exactly what a full parse and a fresh analysis give, for random keystrokes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use planai_lsp::analysis::summary::FileSummary;
use planai_lsp::analysis::AnalysisHost;
use planai_lsp::syntax::statements::StatementIndex;
use planai_lsp::syntax::{new_parser, parse, syntax_diagnostics};
use planai_lsp::testing::{generate_planai_module, Random};

/// A module with PlanAI mistakes, so the diagnostics compared are not all empty.
const FAULTY: &str = "from typing import List, Type\nfrom planai import Graph, Task, TaskWorker, LLMTaskWorker\n\n\nclass A(Task):\n    x: int = 0\n\n\nclass B(Task):\n    y: int = 0\n\n\n# A worker that publishes the wrong type.\nclass P(TaskWorker):\n    output_types: List[Type[Task]] = [A]\n\n    def consume_work(self, task: B):\n        self.publish_work(B(), input_task=task)\n\n\nclass Q(TaskWorker):\n    output_types = [B]\n\n    def consume_work(self, task: A):\n        self.publish_work(A())\n\n\n@staticmethod\ndef helper(value):\n    return value * 2\n\n\ndef build():\n    g = Graph(name='g')\n    p, q = P(), Q()\n    g.add_workers(p, q)\n    g.set_dependency(q, p)\n    g.run(initial_tasks=[(p, A())])\n\n\nclass L(LLMTaskWorker):\n    output_types: List[Type[Task]] = [B]\n    prompt: str = 'p'\n\n    def consume_work(self, task: A):\n        pass\n";

fn fresh_diagnostics(path: &Path, text: &str) -> Vec<planai_lsp::diagnostics::Diagnostic> {
    let mut host = AnalysisHost::new();
    host.set_roots(vec![PathBuf::from("/ws")]);
    host.set_file(path.to_path_buf(), Arc::from(text), None);
    host.file_diagnostics(path)
}

fn run(initial: &str, seed: u64, steps: usize) -> usize {
    run_picking(initial, seed, steps, &|text, random| {
        random.below(text.len() + 1)
    })
    .0
}

/// [`run`] with the edit positions chosen by `pick`; returns how many edits took the fast
/// path, and how many of those parsed one statement inside a function (`nested`).
fn run_picking(
    initial: &str,
    seed: u64,
    steps: usize,
    pick: &dyn Fn(&str, &mut Random) -> usize,
) -> (usize, usize) {
    let path = PathBuf::from("/ws/module.py");
    let mut parser = new_parser();
    let mut text = initial.to_string();
    let mut host = AnalysisHost::new();
    host.set_roots(vec![PathBuf::from("/ws")]);
    host.keep_facts_from_file_size(0);
    host.keep_older_results_from_facts(1);
    let tree = parse(&text).unwrap();
    host.set_file(path.clone(), Arc::from(text.as_str()), Some(&tree));
    let mut index = StatementIndex::new(
        Arc::from(text.as_str()),
        std::slice::from_ref(&tree),
        syntax_diagnostics(&tree, &text),
    );
    let snippets = [
        "x",
        "1",
        " ",
        "\n",
        ":",
        "(",
        ")",
        "'",
        "#",
        "\n    pass",
        "\n        y = 2",
        "A",
        "_",
        ",",
        "=",
        "\t",
        "\n\n",
        "B()",
        "self.publish_work(A(), input_task=task)",
    ];
    let mut random = Random(seed);
    let (mut fast, mut nested) = (0, 0);
    for step in 0..steps {
        // Mostly small edits; undo now and then so the text stays mostly valid.
        if random.below(4) == 0 {
            text = initial.to_string();
        } else {
            let mut at = pick(&text, &mut random).min(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            if random.below(3) == 0 && at < text.len() {
                let end = (at + 1 + random.below(2)).min(text.len());
                text.replace_range(at..end, "");
            } else {
                text.insert_str(at, snippets[random.below(snippets.len())]);
            }
        }
        let shared: Arc<str> = Arc::from(text.as_str());
        if std::env::var("DBG").is_ok() {
            eprintln!("--- step {step}\n{text}");
        }
        let full_tree = parse(&text).unwrap();
        let full_syntax = syntax_diagnostics(&full_tree, &text);
        let change = index.as_ref().and_then(|i| i.reparse(&mut parser, &text));
        let applied = change
            .as_ref()
            .is_some_and(|change| host.apply_statement_edit(&path, shared.clone(), change));
        if std::env::var("DBG").is_ok() {
            eprintln!("applied {applied} change {}", change.is_some());
        }
        if applied {
            fast += 1;
            let change = change.as_ref().unwrap();
            nested += usize::from(change.nested);
            let next = index.as_ref().unwrap().apply(shared.clone(), change);
            assert_eq!(
                next.syntax(),
                &full_syntax[..],
                "step {step}: syntax of {:?}",
                &text[change.definition().start_byte()..change.definition().end_byte()]
            );
            assert_eq!(
                host.file_summary(&path).as_deref(),
                Some(&FileSummary::build(&full_tree, &text)),
                "step {step}: summary"
            );
            index = Some(next);
        } else {
            host.set_file(path.clone(), shared.clone(), Some(&full_tree));
            index = StatementIndex::new(
                shared.clone(),
                std::slice::from_ref(&full_tree),
                full_syntax,
            );
        }
        assert_eq!(
            host.file_diagnostics(&path),
            fresh_diagnostics(&path, &text),
            "step {step}: PlanAI diagnostics (fast path: {applied})"
        );
    }
    (fast, nested)
}

/// A position inside the body of `build()`, the graph builder of the wired module (or
/// anywhere when an edit broke its header).
fn inside_the_builder(text: &str, random: &mut Random) -> usize {
    let Some(start) = text.find("def build():") else {
        return random.below(text.len() + 1);
    };
    let end = text[start..]
        .find("\n\n\n")
        .map_or(text.len(), |e| start + e);
    let body = text[start..].find('\n').map_or(start, |n| start + n + 1);
    body + random.below(end.saturating_sub(body) + 1)
}

/// Keystrokes inside the lines of a graph builder parse one statement alone (the `nested`
/// fast path: no reparse of the function, one statement lowered again), and still give
/// exactly what a full parse and a fresh analysis give, including the graph diagnostics the
/// edits cause (wrong worker arguments, unknown names).
#[test]
fn keystrokes_in_a_graph_builder_match_a_full_reparse() {
    let module = planai_lsp::testing::generate_wired_module(12);
    let (fast, nested) = run_picking(&module, 0x0b01_1de4_ed17, 400, &inside_the_builder);
    assert!(fast > 60, "the fast path was taken {fast} times");
    assert!(nested > 25, "one statement was parsed alone {nested} times");
    let (_, nested) = run_picking(&module, 91, 400, &inside_the_builder);
    assert!(nested > 25, "one statement was parsed alone {nested} times");
}

/// Module-level simple statements (settings, a graph built at module level) take the fast
/// path too (`AnalysisHost::update_statement`).
#[test]
fn keystrokes_in_module_level_statements_match_a_full_reparse() {
    let module = format!(
        "{FAULTY}\nSETTING = 1\nOTHER = SETTING + 2\ng = Graph(name='m')\nw = P()\ng.add_worker(w)\nprint(SETTING, OTHER)\ng.run(initial_tasks=[(w, A())])\n"
    );
    let fast = run(&module, 0x51_7cc1_b727_220a, 400);
    assert!(fast > 40, "the fast path was taken {fast} times");
    let fast = run(&module, 77, 400);
    assert!(fast > 40, "the fast path was taken {fast} times");

    // A keystroke in a module-level setting is one of them.
    let path = PathBuf::from("/ws/module.py");
    let tree = parse(&module).unwrap();
    let mut host = AnalysisHost::new();
    host.set_file(path.clone(), Arc::from(module.as_str()), Some(&tree));
    let index = StatementIndex::new(
        Arc::from(module.as_str()),
        std::slice::from_ref(&tree),
        Vec::new(),
    )
    .unwrap();
    let edited = module.replace("SETTING = 1", "SETTING = 2");
    let change = index.reparse(&mut new_parser(), &edited).unwrap();
    assert_eq!(change.definition().kind(), "expression_statement");
    assert!(host.apply_statement_edit(&path, Arc::from(edited.as_str()), &change));
    assert_eq!(
        host.file_summary(&path).as_deref(),
        Some(&FileSummary::build(&parse(&edited).unwrap(), &edited))
    );
}

#[test]
fn keystrokes_in_a_generated_module_match_a_full_reparse() {
    let fast = run(&generate_planai_module(300), 0x2545_f491_4f6c_dd1d, 300);
    assert!(fast > 30, "the fast path was taken {fast} times");
}

#[test]
fn keystrokes_in_a_module_with_mistakes_match_a_full_reparse() {
    let fast = run(FAULTY, 0x9e37_79b9_7f4a_7c15, 400);
    assert!(fast > 40, "the fast path was taken {fast} times");
    let initial = fresh_diagnostics(Path::new("/ws/module.py"), FAULTY);
    assert!(initial.len() >= 3, "{initial:?}");
}

/// Keystrokes that stay in one definition reuse that statement's previous tree (incremental
/// reparse); the tree must equal the one a full parse builds for that statement.
#[test]
fn keystrokes_in_one_definition_reparse_it_like_a_full_parse() {
    let mut text = planai_lsp::testing::generate_wired_module(30);
    let tree = parse(&text).unwrap();
    let mut index = StatementIndex::new(
        Arc::from(text.as_str()),
        std::slice::from_ref(&tree),
        syntax_diagnostics(&tree, &text),
    );
    let mut parser = new_parser();
    let mut random = Random(0x5eed);
    let snippets = [
        "x",
        "1",
        " ",
        "_",
        "w",
        "()",
        "\n    y = 2",
        ", num_retries=3",
    ];
    let mut incremental = 0;
    for step in 0..300 {
        // An edit somewhere inside `build()`'s body.
        let start = text.find("def build():").unwrap();
        let end = text[start..]
            .find("\n\n\n")
            .map_or(text.len(), |e| start + e);
        let body_start = start + text[start..].find('\n').unwrap() + 1;
        let mut at = body_start + random.below(end - body_start);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.insert_str(at, snippets[random.below(snippets.len())]);
        let Some(change) = index.as_ref().and_then(|i| i.reparse(&mut parser, &text)) else {
            // Not a statement-level edit (it broke the syntax): start over from a full parse.
            text = planai_lsp::testing::generate_wired_module(30);
            let tree = parse(&text).unwrap();
            index = StatementIndex::new(
                Arc::from(text.as_str()),
                std::slice::from_ref(&tree),
                Vec::new(),
            );
            continue;
        };
        let full = parse(&text).unwrap();
        let (start, end) = (
            change.definition().start_byte(),
            change.definition().end_byte(),
        );
        let mut expected = full
            .root_node()
            .descendant_for_byte_range(start, end)
            .expect("the definition in the full parse");
        while expected.start_byte() != start
            || expected.kind() != change.definition().kind()
            || (!change.nested && expected.parent() != Some(full.root_node()))
        {
            expected = expected.parent().expect("the definition in the full parse");
        }
        assert_eq!(
            change.definition().to_sexp(),
            expected.to_sexp(),
            "step {step}"
        );
        assert_eq!(
            change.definition().end_byte(),
            expected.end_byte(),
            "step {step}"
        );
        incremental += 1;
        index = Some(index.unwrap().apply(Arc::from(text.as_str()), &change));
    }
    assert!(incremental > 100, "{incremental} statement-level edits");
}

/// More sequences over the module with mistakes: memoised worker facts must never carry a
/// position from an earlier version (a signature error's "defined here" once did).
#[test]
fn keystrokes_in_a_module_with_mistakes_match_a_full_reparse_more_seeds() {
    for seed in 1..=8u64 {
        run(FAULTY, seed * 7919, 300);
    }
}
