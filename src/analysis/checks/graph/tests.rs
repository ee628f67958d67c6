//! A factory's unit replays what the module code's inlining of it found (see
//! `Flow::interprets_like_its_own_unit`): the diagnostics of a pass must be exactly those of
//! every unit checked on its own, with nothing shared.

use crate::analysis::checks::run_unit;
use crate::analysis::incremental::Unit;
use crate::analysis::resolve::Ctx;
use crate::analysis::AnalysisHost;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The pass's diagnostics (sorted), how many unit results it replayed, and the diagnostics of
/// each unit checked in a fresh context (sorted).
fn pass_and_units_alone(text: &str) -> (Vec<String>, usize, Vec<String>) {
    let path = PathBuf::from("/ws/flow.py");
    let mut host = AnalysisHost::new();
    host.set_roots(vec![PathBuf::from("/ws")]);
    host.set_file(path.clone(), Arc::from(text), None);
    let (pass, counts) = host.file_diagnostics_counted(&path);
    let summary = host.file_summary(&path).expect("summarised");
    let arc_path: Arc<Path> = Arc::from(path.as_path());
    let mut alone = Vec::new();
    for unit in Unit::all(&summary) {
        for part in unit.parts(false) {
            let mut ctx = Ctx::new(&host);
            ctx.begin_unit();
            let mut out = Vec::new();
            run_unit(&mut ctx, &arc_path, unit, *part, &mut out);
            alone.extend(out);
        }
    }
    let render = |ds: Vec<crate::diagnostics::Diagnostic>| {
        let mut v: Vec<String> = ds.iter().map(|d| format!("{d:?}")).collect();
        v.sort();
        v
    };
    (render(pass), counts.replayed, render(alone))
}

const HEADER: &str = "from typing import List, Type
from planai import Graph, Task, TaskWorker

class A(Task):
    x: int = 0

class B(Task):
    y: int = 0

class MakesA(TaskWorker):
    output_types: List[Type[Task]] = [A]
    def consume_work(self, task: B):
        self.publish_work(A(x=1), task)

class TakesB(TaskWorker):
    def consume_work(self, task: B):
        pass

";

/// A factory with a wrong edge (GC4-like) and a worker added twice, so its unit reports.
const FACTORY: &str = "def build():
    graph = Graph(name='g')
    a = MakesA()
    b = TakesB()
    graph.add_workers(a, b)
    graph.add_worker(a)
    graph.set_dependency(a, b)
    return graph, a
";

fn assert_same(text: &str, replays: usize) {
    let (pass, replayed, alone) = pass_and_units_alone(text);
    assert!(!pass.is_empty(), "the cases are chosen to report something");
    assert_eq!(pass, alone, "{text}");
    assert_eq!(replayed, replays, "{text}");
}

#[test]
fn a_factory_run_at_module_level_is_interpreted_once() {
    let text = format!(
        "{HEADER}{FACTORY}\nif __name__ == \"__main__\":\n    graph, first = build()\n    graph.run(initial_tasks=[(first, B())])\n"
    );
    assert_same(&text, 1);
}

#[test]
fn a_factory_called_where_its_own_unit_would_differ_is_interpreted_again() {
    let cases = [
        // Under a condition: the flow treats what the factory builds as imprecise.
        format!("{HEADER}{FACTORY}\nimport os\nif os.environ.get('X'):\n    g, first = build()\n    g.run(initial_tasks=[(first, B())])\n"),
        // After a worker of the module's own.
        format!("{HEADER}{FACTORY}\nw = MakesA()\ng, first = build()\ng.run(initial_tasks=[(first, B())])\n"),
        // Code after the `return` (the inlining stops there, the unit does not).
        format!("{HEADER}{}    graph.add_worker(b)\n\ng, first = build()\ng.run(initial_tasks=[(first, B())])\n", FACTORY),
        // A returned value that is not a name (evaluating it differs).
        format!("{HEADER}{}\ng, first = build()\n", FACTORY.replace("return graph, a", "return graph, MakesA()")),
    ];
    for text in &cases {
        assert_same(text, 0);
    }
}

#[test]
fn nested_factories_cut_off_by_depth_are_not_replayed() {
    // build → f1 → f2 → f3: inlined from the module, f3 is one level too deep; in build's
    // own unit it is not.
    let text = format!(
        "{HEADER}def f3():\n    return TakesB()\n\ndef f2():\n    w = f3()\n    return w\n\ndef f1():\n    w = f2()\n    return w\n\ndef build():\n    graph = Graph(name='g')\n    a = MakesA()\n    b = f1()\n    graph.add_workers(a, b)\n    graph.add_worker(a)\n    graph.set_dependency(a, b)\n    return graph, a\n\ngraph, first = build()\ngraph.run(initial_tasks=[(first, B())])\n"
    );
    let (pass, _, alone) = pass_and_units_alone(&text);
    assert_eq!(pass, alone);
}

#[test]
fn the_wired_module_replays_its_builder() {
    let text = crate::testing::generate_wired_module(40);
    let (pass, replayed, alone) = pass_and_units_alone(&text);
    assert_eq!(pass, alone);
    assert_eq!(replayed, 1);
}
