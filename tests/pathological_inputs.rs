//! No input makes the analysis hang: generated pathological shapes (deep and long chains of
//! every operator, nesting of every construct, long class hierarchies, recursive builders)
//! and randomly mutated real PlanAI modules all finish, under a budget generous enough for a
//! debug build on a loaded machine and far below what anything super-linear takes at these
//! sizes. Each input goes through exactly what `planai-lsp check` runs: parse, syntax
//! diagnostics, summary, every PlanAI check.

use std::path::PathBuf;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use planai_lsp::analysis::AnalysisHost;
use planai_lsp::testing::Random;

/// Per input. Exponential shapes at these sizes take hours; linear ones, milliseconds.
const BUDGET: Duration = Duration::from_secs(60);

fn check(text: &str) -> usize {
    let path = PathBuf::from("/pathological/module.py");
    let text: Arc<str> = Arc::from(text);
    let tree = planai_lsp::syntax::parse(&text);
    let mut found = tree
        .as_ref()
        .map(|tree| planai_lsp::syntax::syntax_diagnostics(tree, &text).len())
        .unwrap_or_default();
    let mut host = AnalysisHost::new();
    host.set_roots(vec![PathBuf::from("/pathological")]);
    host.set_file(path.clone(), text, tree.as_ref());
    found += host.file_diagnostics(&path).len();
    found
}

/// Runs every input on its own thread; fails naming the inputs that did not finish in time.
fn assert_all_finish(cases: Vec<(String, String)>) {
    let mut stuck = Vec::new();
    for (name, text) in cases {
        let (done_tx, done_rx) = mpsc::channel();
        std::thread::Builder::new()
            .stack_size(64 * 1024 * 1024)
            .spawn(move || {
                let found = check(&text);
                let _ = done_tx.send(found);
            })
            .expect("spawn");
        match done_rx.recv_timeout(BUDGET) {
            Ok(_) => {}
            Err(mpsc::RecvTimeoutError::Timeout) => stuck.push(name),
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{name}: the analysis panicked"),
        }
    }
    assert!(
        stuck.is_empty(),
        "did not finish within {BUDGET:?}: {stuck:?}"
    );
}

const DEEP: usize = 60;
const LONG: usize = 5_000;

const HEADER: &str = "from typing import List, Type\nfrom planai import Graph, Task, TaskWorker\n\n\nclass T(Task):\n    x: int\n\n\nclass W(TaskWorker):\n    output_types: List[Type[Task]] = [T]\n\n    def consume_work(self, task: T):\n        self.publish_work(T(x=1), input_task=task)\n\n\n";

fn nested(indent_open: &str, body: &str) -> String {
    let mut text = String::new();
    for depth in 0..DEEP {
        text.push_str(&"    ".repeat(depth));
        text.push_str(indent_open);
        text.push('\n');
    }
    text.push_str(&"    ".repeat(DEEP));
    text.push_str(body);
    text.push('\n');
    text
}

fn generated() -> Vec<(String, String)> {
    let mut cases: Vec<(String, String)> = Vec::new();
    let mut add = |name: &str, text: String| cases.push((name.to_string(), text));
    for op in [
        "+", "-", "*", "/", "//", "%", "**", "@", "|", "&", "^", "<<", ">>", "and", "or", "<",
        "==", "!=", "in", "not in", "is", "is not",
    ] {
        let chain = vec!["a"; LONG].join(&format!(" {op} "));
        add(&format!("long chain of {op}"), format!("x = {chain}\n"));
        let deep = format!("{}a{}", format!("(a {op} ").repeat(DEEP), ")".repeat(DEEP));
        add(&format!("deep nesting of {op}"), format!("x = {deep}\n"));
    }
    for prefix in ["-", "+", "~", "not ", "await ", "lambda: ", "*", "yield "] {
        for operand in ["a", "1", "(1)", "T(x=1)"] {
            add(
                &format!("{DEEP}× {prefix:?} before {operand}"),
                format!("async def f():\n    x = {}{operand}\n", prefix.repeat(DEEP)),
            );
        }
    }
    for (open, close) in [
        ("(", ")"),
        ("[", "]"),
        ("{", "}"),
        ("{1: ", "}"),
        ("f(", ")"),
        ("f(k=", ")"),
        ("f(*", ")"),
        ("f(**", ")"),
        ("a[", "]"),
        ("(a, ", ")"),
        ("(y := ", ")"),
        ("[a for a in ", "]"),
        ("f(a for a in ", ")"),
        ("(a if ", " else b)"),
        ("f'{", "}'"),
        ("T(x=", ")"),
        ("List[", "]"),
        ("Graph(name=", ")"),
    ] {
        add(
            &format!("{DEEP} nested {open}…{close}"),
            format!("{HEADER}x = {}a{}\n", open.repeat(DEEP), close.repeat(DEEP)),
        );
        add(
            &format!("{DEEP} nested {open}…{close} as an annotation and a base"),
            format!(
                "{HEADER}y: {inner} = 1\n\nclass C({inner}):\n    z: {inner}\n",
                inner = format!("{}a{}", open.repeat(DEEP), close.repeat(DEEP))
            ),
        );
    }
    for (name, suffix) in [("calls", "()"), ("attributes", ".b"), ("subscripts", "[0]")] {
        add(
            &format!("a chain of {LONG} {name}"),
            format!("x = a{}\n", suffix.repeat(LONG)),
        );
    }
    for open in [
        "if a:",
        "while a:",
        "for a in b:",
        "with a:",
        "def f():",
        "async def f():",
        "class C:",
        "class C(W):",
        "try:",
    ] {
        add(&format!("{DEEP} nested {open}"), nested(open, "pass"));
    }
    add(
        "decorators",
        format!("{}def f():\n    pass\n", "@d\n".repeat(LONG)),
    );
    add(
        "assignment chain",
        format!("x = {}\n", vec!["a"; LONG].join(" = ")),
    );
    add(
        "strings concatenated",
        format!("x = {}\n", vec!["'a' f'{b}'"; LONG].join(" ")),
    );
    add(
        "union annotation",
        format!("x: {} = 1\n", vec!["int"; LONG].join(" | ")),
    );
    add(
        "match with many cases",
        format!(
            "match a:\n{}",
            (0..LONG)
                .map(|i| format!("    case {i}:\n        pass\n"))
                .collect::<String>()
        ),
    );
    // Class hierarchies: chains in both directions, diamonds, cycles.
    let chain = |n: usize, base: &dyn Fn(usize) -> String| {
        (0..n)
            .map(|i| format!("class C{i}({}):\n    pass\n", base(i)))
            .collect::<String>()
    };
    add(
        "3,000 classes, each deriving from the previous",
        format!(
            "{HEADER}{}",
            chain(3_000, &|i| if i == 0 {
                "W".into()
            } else {
                format!("C{}", i - 1)
            })
        ),
    );
    add(
        "3,000 classes, each deriving from the next",
        format!("{HEADER}{}", chain(3_000, &|i| format!("C{}", i + 1))),
    );
    add(
        "classes deriving from the two previous",
        format!(
            "{HEADER}class C0(W):\n    pass\nclass C1(C0):\n    pass\n{}w = C{}()\n",
            (2..DEEP)
                .map(|i| format!("class C{i}(C{}, C{}):\n    pass\n", i - 1, i - 2))
                .collect::<String>(),
            DEEP - 1
        ),
    );
    add(
        "an inheritance cycle",
        format!("{HEADER}class A(B):\n    pass\nclass B(A):\n    pass\nA()\n"),
    );
    // Graph building code: recursion, fan-out, long chains, rebinding.
    add(
        "a builder calling itself",
        format!("{HEADER}def build(g):\n    build(g)\n    return build(g)\n\ng = Graph(name='g')\nbuild(g)\n"),
    );
    add(
        "builders calling the next one twice",
        format!(
            "{HEADER}{}def f{DEEP}(g):\n    g.add_workers(W())\n\ng = Graph(name='g')\nf0(g)\n",
            (0..DEEP)
                .map(|i| format!("def f{i}(g):\n    f{}(g)\n    f{}(g)\n\n", i + 1, i + 1))
                .collect::<String>()
        ),
    );
    add(
        "a graph of 1,000 workers wired in one chain",
        format!(
            "{HEADER}def build():\n    g = Graph(name='g')\n{}    g.add_workers({})\n    g.set_dependency(w0, w1){}\n    return g\n\ng = build()\ng.run(initial_tasks=[(w0, T(x=1))])\n",
            (0..1_000).map(|i| format!("    w{i} = W()\n")).collect::<String>(),
            (0..1_000).map(|i| format!("w{i}")).collect::<Vec<_>>().join(", "),
            (2..1_000).map(|i| format!(".next(w{i})")).collect::<String>()
        ),
    );
    add(
        "a worker rebound in every branch",
        format!(
            "{HEADER}g = Graph(name='g')\nw = W()\n{}g.add_workers(w)\ng.set_dependency(w, w)\n",
            "if a:\n    w = W()\nelse:\n    w = W()\n".repeat(DEEP)
        ),
    );
    add(
        "an alias chain",
        format!(
            "{HEADER}w0 = W()\n{}g = Graph(name='g')\ng.add_workers(w{LONG})\n",
            (0..LONG)
                .map(|i| format!("w{} = w{i}\n", i + 1))
                .collect::<String>()
        ),
    );
    add(
        "output_types with thousands of entries",
        format!(
            "{HEADER}class V(TaskWorker):\n    output_types: List[Type[Task]] = [{}]\n",
            vec!["T"; LONG].join(", ")
        ),
    );
    add(
        "consume_work annotated with a long union",
        format!(
            "{HEADER}class V(TaskWorker):\n    output_types: List[Type[Task]] = [T]\n\n    def consume_work(self, task: {}):\n        pass\n",
            vec!["T"; LONG].join(" | ")
        ),
    );
    cases
}

#[test]
fn generated_pathological_shapes_finish() {
    assert_all_finish(generated());
}

/// The tokens people and tools leave half-typed.
const FRAGMENTS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ":",
    ",",
    "-",
    "not ",
    "lambda: ",
    "\n",
    "\n    ",
    "    ",
    "\"",
    "'''",
    "\\",
    "@d\n",
    "f(",
    ".x",
    "class X(Y):\n",
    "def f(",
    "= ",
    "*",
    "**",
    "\r",
    "\u{feff}",
    "\0",
    "é",
    "if a:\n",
    "T(x=",
    "Graph(",
    ".next(",
    "set_dependency(",
];

fn mutate(text: &str, random: &mut Random) -> String {
    let mut text = text.to_string();
    for _ in 0..1 + random.below(4) {
        let mut at = random.below(text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        match random.below(4) {
            // A fragment typed somewhere.
            0 | 1 => text.insert_str(at, FRAGMENTS[random.below(FRAGMENTS.len())]),
            // A line repeated many times.
            2 => {
                let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                let end = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
                let line = text[start..end].to_string();
                text.insert_str(start, &line.repeat(200));
            }
            // An expression nested deeply.
            _ => {
                let fragment = FRAGMENTS[random.below(FRAGMENTS.len())];
                text.insert_str(
                    at,
                    &format!("{}a{}", fragment.repeat(DEEP), ")".repeat(DEEP)),
                );
            }
        }
    }
    text
}

#[test]
fn mutated_real_modules_finish() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut sources = Vec::new();
    for dir in ["examples", "tests/fixtures/planai"] {
        for file in planai_lsp::workspace::discover_python_files(&[root.join(dir)]) {
            sources.push(std::fs::read_to_string(&file).expect("read"));
        }
    }
    assert!(sources.len() > 20, "found {} modules", sources.len());
    let mut random = Random(0x5eed_1234);
    let mut cases = Vec::new();
    for (index, source) in sources.iter().enumerate() {
        for round in 0..8 {
            cases.push((
                format!("module {index}, mutation {round}"),
                mutate(source, &mut random),
            ));
        }
    }
    assert_all_finish(cases);
}
