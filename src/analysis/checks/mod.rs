//! The PlanAI checks. Each submodule adds diagnostics for one family of PlanAI errors; every
//! check stays silent when something it depends on is unknown (unresolved classes, dynamic
//! code), because a wrong error is worse than a missing one.
//!
//! | module | codes |
//! |---|---|
//! | `class_defs` | CD1, CD2, CD3, CD4 (warning), CD5 (warning), CD7, RT8 (class body) |
//! | `publish` | RT1, RT6 |
//! | `prompts` | RT11, RT12 |
//! | `graph` | IN1–IN8, RT8 (kwargs), GC1–GC9, GC11–GC13, EX1, EX2, RT3, RT4 |
//! | `imports` | IM1 |
//! | `tasks` | IN2, IN3, IN4 (Task constructor calls), RT18 |
//! | `unknown_keywords` | IN9 (warning; called from `tasks` for every constructor call) |
//!
//! Codes are the `diagnostics::Code` registry, documented in `docs/diagnostics.md`, which
//! mirror PlanAI's own checks; severity is Error for what PlanAI raises and Warning for pydantic
//! warnings (`Code::severity`, asserted by `error`/`warning`).

pub mod class_defs;
pub mod graph;
pub(crate) use graph::{refresh_fact, replay_unit};
pub mod imports;
pub mod llm_output;
pub mod prompts;
pub mod publish;
pub mod task_calls;
pub mod tasks;
pub mod unknown_keywords;

use std::path::Path;
use std::sync::Arc;

use super::deps::Part;
use super::incremental::Unit;
use super::resolve::{ClassRef, Ctx};
use super::summary::ClassSummary;
use crate::diagnostics::{Code, Diagnostic, DiagnosticSource, RelatedInfo, Severity, TextRange};

/// The PlanAI diagnostics of one part of one check unit of `path` (see
/// `analysis::incremental` and `deps::Part`).
pub fn run_unit(
    ctx: &mut Ctx,
    path: &Arc<Path>,
    unit: Unit,
    part: Part,
    out: &mut Vec<Diagnostic>,
) {
    // A unit whose text does not parse reports nothing: its recovered tree is a guess.
    if let Some(summary) = ctx.summary(path) {
        let erroneous = match unit {
            Unit::Module => summary.module_error,
            Unit::Class(i) => summary.is_erroneous(super::summary::DefRef::Class(i)),
            Unit::Function(i) => summary.is_erroneous(super::summary::DefRef::Function(i)),
        };
        if erroneous {
            return;
        }
    }
    if part.runs_other_checks() {
        let model = model_class(ctx, path, unit);
        class_defs::check(ctx, path, model.as_ref(), out);
        publish::check(ctx, path, model.as_ref(), out);
        prompts::check(ctx, path, unit, model.as_ref(), out);
    }
    if part.runs_graph_checks() {
        graph::check(ctx, path, unit, out);
    }
    if part.runs_other_checks() {
        imports::check(ctx, path, unit, out);
        tasks::check(ctx, path, unit, out);
        // A replay reproduces the graph checks only (see `graph::trace`).
        ctx.set_unit_trace(None);
    }
}

/// The class a unit covers, when the class checks can judge it: a PlanAI model (a `Task` or a
/// worker) whose MRO is complete.
pub struct ModelClass<'h> {
    pub summary: &'h ClassSummary,
    pub cref: ClassRef,
    pub is_task: bool,
    pub is_worker: bool,
}

/// The question every class check starts with, asked once per unit.
fn model_class<'h>(ctx: &mut Ctx<'h>, path: &Arc<Path>, unit: Unit) -> Option<ModelClass<'h>> {
    let Unit::Class(i) = unit else {
        return None;
    };
    let summary: &'h ClassSummary = ctx.summary(path)?.classes.get(i)?;
    let cref = ClassRef::User(path.clone(), i);
    if !ctx.mro(&cref).complete {
        return None;
    }
    let is_task = ctx.derives_from_builtin(&cref, "Task");
    let is_worker = ctx.derives_from_builtin(&cref, "TaskWorker");
    (is_task || is_worker).then_some(ModelClass {
        summary,
        cref,
        is_task,
        is_worker,
    })
}

/// Which PlanAI bases a class derives from, and whether its MRO is complete: asked of every
/// worker of a graph builder and every call a Task check looks at.
#[derive(Debug, Clone, Copy, Hash)]
pub(crate) struct ClassKind {
    pub mro_complete: bool,
    pub worker: bool,
    pub joined: bool,
    pub merged: bool,
    pub llm: bool,
    pub base_llm: bool,
}

impl super::memo::Memoisable for ClassKind {
    fn cutoff(&self) -> u64 {
        super::memo::hash_of(self)
    }
}

/// The `ClassKind` of `cls`, memoised across edits (`analysis::memo`).
pub(crate) fn class_kind(ctx: &mut Ctx, cls: &ClassRef) -> ClassKind {
    let key = super::memo::FactKey::of_class(super::memo::Fact::ClassKind, cls.clone());
    super::memo::memo(ctx, key, None, |ctx| ClassKind {
        mro_complete: ctx.mro(cls).complete,
        worker: ctx.derives_from_builtin(cls, "TaskWorker"),
        joined: ctx.derives_from_builtin(cls, "JoinedTaskWorker"),
        merged: ctx.derives_from_builtin(cls, "MergedTaskWorker"),
        llm: ctx.derives_from_builtin(cls, "LLMTaskWorker"),
        base_llm: ctx.derives_from_builtin(cls, "BaseLLMTaskWorker"),
    })
}

/// Whether an annotation is `ClassVar[...]` (also as a string): pydantic's class variables,
/// which are not fields.
pub(crate) fn is_classvar(ann: &super::summary::Expr) -> bool {
    use super::summary::Expr;
    let root = match ann {
        Expr::Subscript { value, .. } => value,
        other => other,
    };
    root.dotted_last() == Some("ClassVar")
        || matches!(ann, Expr::Str { value, .. } if value.starts_with("ClassVar"))
}

pub(crate) fn error(code: Code, range: TextRange, message: String) -> Diagnostic {
    debug_assert_eq!(code.severity(), Severity::Error, "{code}");
    Diagnostic::new(
        DiagnosticSource::Planai,
        Severity::Error,
        code,
        range,
        message,
    )
}

pub(crate) fn warning(code: Code, range: TextRange, message: String) -> Diagnostic {
    debug_assert_eq!(code.severity(), Severity::Warning, "{code}");
    Diagnostic::new(
        DiagnosticSource::Planai,
        Severity::Warning,
        code,
        range,
        message,
    )
}

/// Related information; the path is omitted when it is the diagnostic's own file.
pub(crate) fn related(
    here: &Path,
    there: &Path,
    range: TextRange,
    message: impl Into<String>,
) -> RelatedInfo {
    RelatedInfo {
        path: (here != there).then(|| there.to_path_buf()),
        range,
        message: message.into(),
    }
}

/// Specification-style tests: each states a PlanAI rule with the smallest program showing it.
#[cfg(test)]
mod tests {
    use crate::analysis::test_support::codes;

    const HEADER: &str = "from typing import List, Type, Optional\nfrom planai import Graph, Task, TaskWorker, LLMTaskWorker, JoinedTaskWorker, InitialTaskWorker\n\nclass A(Task):\n    x: int = 0\n\nclass B(Task):\n    y: int = 0\n\n";

    fn check(body: &str) -> Vec<(usize, String)> {
        let src = format!("{HEADER}{body}");
        let offset = HEADER.matches('\n').count();
        codes(&src)
            .into_iter()
            .map(|(l, c)| (l - offset, c))
            .collect()
    }

    fn only(body: &str) -> Vec<String> {
        check(body).into_iter().map(|(_, c)| c).collect()
    }

    const PRODUCER: &str = "class P(TaskWorker):\n    output_types: List[Type[Task]] = [A]\n    def consume_work(self, task: B):\n        self.publish_work(A(), input_task=task)\n\n";

    #[test]
    fn subclass_of_the_output_type_does_not_match() {
        let body = format!("{PRODUCER}class Sub(A):\n    pass\n\nclass C(TaskWorker):\n    def consume_work(self, task: Sub):\n        pass\n\ng = Graph(name='g')\np, c = P(), C()\ng.add_workers(p, c)\ng.set_dependency(p, c)\n");
        assert_eq!(only(&body), vec!["GC7"]);
    }

    #[test]
    fn the_parameter_must_be_named_task() {
        let body = format!("{PRODUCER}class C(TaskWorker):\n    def consume_work(self, item: A):\n        pass\n\ng = Graph(name='g')\np, c = P(), C()\ng.add_workers(p, c)\ng.set_dependency(p, c)\n");
        assert_eq!(only(&body), vec!["GC5"]);
    }

    #[test]
    fn llm_input_type_wins_over_the_annotation() {
        let body = format!("{PRODUCER}class L(LLMTaskWorker):\n    output_types: List[Type[Task]] = [B]\n    llm_input_type: Type[Task] = A\n    prompt: str = 'p'\n    def consume_work(self, task: B):\n        super().consume_work(task)\n\ng = Graph(name='g')\np, l = P(), L(llm=None)\ng.add_workers(p, l)\ng.set_dependency(p, l)\n");
        assert_eq!(only(&body), Vec::<String>::new());
    }

    #[test]
    fn order_matters_for_adding_workers() {
        let body = format!("{PRODUCER}class C(TaskWorker):\n    def consume_work(self, task: A):\n        pass\n\ng = Graph(name='g')\np, c = P(), C()\ng.add_worker(p)\ng.set_dependency(p, c)\ng.add_worker(c)\n");
        assert_eq!(check(&body), vec![(13, "GC2".to_string())]);
    }

    #[test]
    fn graphs_built_in_loops_or_passed_around_are_silent() {
        let body = format!("{PRODUCER}class C(TaskWorker):\n    def consume_work(self, task: A):\n        pass\n\ndef build(g, ws):\n    for w in ws:\n        g.add_worker(w)\n    p, c = P(), C()\n    g.set_dependency(p, c)\n");
        assert_eq!(only(&body), Vec::<String>::new());
    }

    #[test]
    fn publish_work_needs_input_task_and_a_declared_type() {
        let body = "class W(TaskWorker):\n    output_types: List[Type[Task]] = [A]\n    def consume_work(self, task: A):\n        self.publish_work(B(), task)\n        self.publish_work(A())\n";
        assert_eq!(
            check(body),
            vec![(4, "RT1".to_string()), (5, "RT6".to_string())]
        );
    }

    #[test]
    fn unannotated_overrides_of_base_fields_are_cd1() {
        let body = "class W(TaskWorker):\n    output_types = [A]\n    helper = 3\n    def consume_work(self, task: A):\n        pass\n";
        assert_eq!(
            check(body),
            vec![(2, "CD1".to_string()), (3, "CD2".to_string())]
        );
    }

    #[test]
    fn dynamic_output_types_are_unknown() {
        let body = "class W(TaskWorker):\n    def __init__(self, **data):\n        super().__init__(**data)\n        self.output_types = [B]\n    def consume_work(self, task: A):\n        self.publish_work(B(), task)\n";
        assert_eq!(only(body), Vec::<String>::new());
    }

    #[test]
    fn initial_tasks_must_match_exactly() {
        let body = format!("{PRODUCER}g = Graph(name='g')\np = P()\ng.add_worker(p)\ng.set_sink(p, A)\ng.run(initial_tasks=[(p, A())])\n");
        assert_eq!(check(&body), vec![(10, "EX1".to_string())]);
    }
}
