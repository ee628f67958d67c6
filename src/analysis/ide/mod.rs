//! Language features over the analysis: hover, navigation, symbols, lenses, inlay hints and
//! completion. Pure and synchronous like the rest of `analysis`: byte offsets in, byte ranges
//! and plain data out; the server converts positions and builds protocol types.
//!
//! Everything starts from `referent_at`: the identifier under the cursor (`names`) and what
//! it refers to, decided with the same resolution the checks use (`resolve::Ctx`): a class
//! (Task, worker or other), a worker or graph variable of a scope, or a `@tool` function.

pub mod complete;
pub mod hover;
pub mod inlay;
pub mod lenses;
pub mod names;
pub mod navigation;
pub mod symbols;

use std::path::Path;
use std::sync::Arc;

use super::resolve::{ClassRef, Ctx, Symbol};
use super::summary::{AssignTarget, CallExpr, Expr, FileSummary, FunctionSummary, Stmt};
use super::AnalysisHost;
use crate::diagnostics::TextRange;
use names::Ident;

/// A scope variables live in: the module, a module-level function, or a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Module,
    Function(usize),
    Method(usize, usize),
}

impl Scope {
    /// The function of this scope in `summary` (`None` for the module).
    pub fn function<'s>(&self, summary: &'s FileSummary) -> Option<&'s FunctionSummary> {
        match *self {
            Scope::Module => None,
            Scope::Function(i) => summary.functions.get(i).map(|f| &**f),
            Scope::Method(c, m) => summary.classes.get(c)?.methods.get(m),
        }
    }

    /// The statements of this scope.
    pub fn body<'s>(&self, summary: &'s FileSummary) -> &'s [Stmt] {
        match self.function(summary) {
            Some(f) => &f.body,
            None => &summary.body,
        }
    }

    /// The innermost scope containing byte `offset`.
    pub fn at(summary: &FileSummary, offset: usize) -> Scope {
        let inside = |r: TextRange| r.start() <= offset && offset < r.end();
        if let Some(i) = summary.functions.iter().position(|f| inside(f.range)) {
            return Scope::Function(i);
        }
        for (c, class) in summary.classes.iter().enumerate() {
            if let Some(m) = class.methods.iter().position(|f| inside(f.range)) {
                return Scope::Method(c, m);
            }
        }
        Scope::Module
    }

    /// Whether `name` is bound locally in this scope (never for the module scope).
    pub fn binds(&self, summary: &FileSummary, name: &str) -> bool {
        self.function(summary)
            .is_some_and(|f| super::function_binds(f, name))
    }
}

/// What a variable holds, when the analysis knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VariableValue {
    Worker(ClassRef),
    Graph,
}

/// A variable assigned a worker instance or a graph in a scope.
#[derive(Debug, Clone)]
pub struct Variable<'s> {
    pub name: String,
    /// The first assignment's target name.
    pub name_range: TextRange,
    pub value: VariableValue,
    /// The instantiating call.
    pub call: &'s CallExpr,
}

/// What an identifier refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Referent {
    Class(ClassRef),
    Variable {
        path: Arc<Path>,
        scope: Scope,
        name: String,
        value: VariableValue,
    },
    /// A module-level `@tool` function of `path` (an index into its summary's functions).
    Tool {
        path: Arc<Path>,
        function: usize,
    },
}

/// What the value of `call` is: a worker of a known class, a graph, or nothing we model.
fn call_value(
    ctx: &mut Ctx,
    path: &Path,
    call: &CallExpr,
    scope_locals: &[&str],
) -> Option<VariableValue> {
    let root = call.func.dotted_root()?;
    if scope_locals.contains(&root) {
        return None;
    }
    match ctx.resolve_expr(path, &call.func) {
        Symbol::Class(c) => {
            if ctx.derives_from_builtin(&c, "TaskWorker") {
                Some(VariableValue::Worker(c))
            } else if ctx.class_name(&c) == "Graph" && matches!(c, ClassRef::Builtin(_)) {
                Some(VariableValue::Graph)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The worker and graph variables a scope assigns (`w = W()`, `a, b = A(), B()`), first
/// assignment of each name, in statement order.
pub fn scope_variables<'s>(
    ctx: &mut Ctx,
    path: &Path,
    summary: &'s FileSummary,
    scope: Scope,
    text: &str,
    idents: &[Ident],
) -> Vec<Variable<'s>> {
    let locals: Vec<&str> = match scope.function(summary) {
        Some(f) => super::function_bound_names(f).into_iter().collect(),
        None => Vec::new(),
    };
    let mut found: Vec<(String, TextRange, &'s CallExpr)> = Vec::new();
    super::summary::walk_stmts(scope.body(summary), &mut |s| {
        let Stmt::Assign {
            targets,
            value: Some(value),
            range,
            ..
        } = s
        else {
            return;
        };
        for target in targets.iter() {
            match (target, value) {
                (AssignTarget::Name(name, name_range), Expr::Call(call)) => {
                    found.push((name.to_string(), *name_range, call));
                }
                (AssignTarget::Tuple(names_), Expr::Tuple { elts, .. })
                    if names_.len() == elts.len() =>
                {
                    for (name, elt) in names_.iter().zip(elts) {
                        if let Expr::Call(call) = elt {
                            let name_range =
                                first_identifier(text, idents, *range, name).unwrap_or(*range);
                            found.push((name.to_string(), name_range, call));
                        }
                    }
                }
                _ => {}
            }
        }
    });
    let mut out: Vec<Variable<'s>> = Vec::new();
    for (name, name_range, call) in found {
        if out.iter().any(|v| v.name == name) {
            continue;
        }
        if let Some(value) = call_value(ctx, path, call, &locals) {
            out.push(Variable {
                name,
                name_range,
                value,
                call,
            });
        }
    }
    out
}

/// The first identifier `name` inside `range`.
fn first_identifier(
    text: &str,
    idents: &[Ident],
    range: TextRange,
    name: &str,
) -> Option<TextRange> {
    let start = idents.partition_point(|id| id.range.start() < range.start());
    idents[start..]
        .iter()
        .take_while(|id| id.range.end() <= range.end())
        .find(|id| !id.attribute && &text[id.range.start()..id.range.end()] == name)
        .map(|id| id.range)
}

/// The identifier at `offset` of `path` and what it refers to.
pub fn referent_at(
    host: &AnalysisHost,
    path: &Path,
    offset: usize,
) -> Option<(TextRange, Referent)> {
    let file = host.files.get(path)?;
    let text = file.text.clone();
    let idents = names::identifiers(&text);
    let ident = names::identifier_at(&idents, offset)?;
    let index = idents.iter().position(|id| *id == ident)?;
    let mut ctx = Ctx::new(host);
    let referent = referent_of(&mut ctx, &file.path, &text, &idents, index)?;
    Some((ident.range, referent))
}

/// What `idents[index]` of `path` refers to.
pub(crate) fn referent_of(
    ctx: &mut Ctx,
    path: &Arc<Path>,
    text: &str,
    idents: &[Ident],
    index: usize,
) -> Option<Referent> {
    let ident = idents[index];
    if ident.keyword_argument {
        return None;
    }
    let summary = ctx.summary(path)?;
    let scope = Scope::at(summary, ident.range.start());
    // The imported name of `from m import Name [as Alias]` names the class in `m`.
    if let Some(import) = summary
        .imports
        .iter()
        .find(|i| i.range.start() == ident.range.start() && i.member.is_some())
    {
        let member = import.member.as_deref()?;
        let module = ctx.resolve_module(path, import.level, &import.module)?;
        return match ctx.resolve_member(&module, member, 0) {
            Symbol::Class(c) => Some(Referent::Class(c)),
            _ => None,
        };
    }
    if ident.attribute {
        let dotted = names::dotted_name_ending_at(text, idents, index);
        if dotted.len() < 2 || scope.binds(summary, dotted[0]) {
            return None;
        }
        let expr = dotted_expr(&dotted);
        return ctx.resolve_class(path, &expr).map(Referent::Class);
    }
    let name = &text[ident.range.start()..ident.range.end()];
    if scope.binds(summary, name) {
        return variable_referent(ctx, path, summary, scope, text, idents, name);
    }
    match ctx.resolve_global(path, name, 0) {
        Symbol::Class(c) => Some(Referent::Class(c)),
        Symbol::Function => {
            let function = summary.functions.iter().position(|f| {
                f.name == name && f.decorators.iter().any(super::check::is_tool_decorator)
            })?;
            Some(Referent::Tool {
                path: path.clone(),
                function,
            })
        }
        Symbol::Value => variable_referent(ctx, path, summary, Scope::Module, text, idents, name),
        _ => None,
    }
}

fn variable_referent(
    ctx: &mut Ctx,
    path: &Arc<Path>,
    summary: &FileSummary,
    scope: Scope,
    text: &str,
    idents: &[Ident],
    name: &str,
) -> Option<Referent> {
    let variable = scope_variables(ctx, path, summary, scope, text, idents)
        .into_iter()
        .find(|v| v.name == name)?;
    Some(Referent::Variable {
        path: path.clone(),
        scope,
        name: name.to_string(),
        value: variable.value,
    })
}

/// `a.b.c` as a summary expression (ranges are not needed to resolve it).
fn dotted_expr(parts: &[&str]) -> Expr {
    let mut expr = Expr::Name {
        id: parts[0].into(),
        range: TextRange::default(),
    };
    for part in &parts[1..] {
        expr = Expr::Attribute {
            value: Box::new(expr),
            attr: (*part).into(),
            range: TextRange::default(),
        };
    }
    expr
}

/// Where a class is defined: its file and name range (`None` for PlanAI's own classes).
pub fn class_definition(ctx: &Ctx, class: &ClassRef) -> Option<(Arc<Path>, TextRange)> {
    let (path, summary) = ctx.user_class(class)?;
    Some((path.clone(), summary.name_range))
}

/// Whether `class` is a Task (derives from PlanAI's `Task`) and not a worker.
pub fn is_task(ctx: &mut Ctx, class: &ClassRef) -> bool {
    ctx.derives_from_builtin(class, "Task")
}

/// Whether `class` is a worker class.
pub fn is_worker(ctx: &mut Ctx, class: &ClassRef) -> bool {
    ctx.derives_from_builtin(class, "TaskWorker")
}

/// The Task classes `class` (a worker) consumes, when statically known.
pub fn consumed_classes(ctx: &mut Ctx, class: &ClassRef) -> Option<Vec<ClassRef>> {
    let consumed = super::consumed::class_consumed_types(ctx, class);
    let known = consumed.known()?;
    Some(
        known
            .iter()
            .filter_map(|t| match t {
                super::consumed::TypeKey::Class(c) => Some(c.clone()),
                super::consumed::TypeKey::Opaque(_) => None,
            })
            .collect(),
    )
}

/// The Task classes `class` (a worker) declares in `output_types`, when statically known.
pub fn output_classes(ctx: &mut Ctx, class: &ClassRef) -> Option<Vec<ClassRef>> {
    match super::consumed::class_output_types(ctx, class) {
        super::consumed::OutputTypes::Known(v) => Some(v),
        super::consumed::OutputTypes::Unknown => None,
    }
}

/// `Question → Answer, Other` for a worker class (`?` where unknown).
pub fn flow_label(ctx: &mut Ctx, class: &ClassRef) -> String {
    let names = |ctx: &Ctx, v: Option<Vec<ClassRef>>| match v {
        Some(v) if v.is_empty() => "∅".to_string(),
        Some(v) => v
            .iter()
            .map(|c| ctx.class_name(c))
            .collect::<Vec<_>>()
            .join(", "),
        None => "?".to_string(),
    };
    let consumed = consumed_classes(ctx, class);
    let outputs = output_classes(ctx, class);
    format!("{} → {}", names(ctx, consumed), names(ctx, outputs))
}

/// A worker class with what it consumes and produces (`None` where not statically known).
pub struct WorkerFlow {
    pub class: ClassRef,
    pub consumed: Option<Vec<ClassRef>>,
    pub outputs: Option<Vec<ClassRef>>,
}

/// Every worker class of the workspace (user classes deriving `TaskWorker`), with what it
/// consumes and produces: the producers and consumers of each Task.
pub struct WorkerTable {
    pub workers: Vec<WorkerFlow>,
}

impl WorkerTable {
    pub fn build(ctx: &mut Ctx) -> WorkerTable {
        let host: &AnalysisHost = ctx.host;
        let mut workers = Vec::new();
        for data in host.files.values() {
            let Some(summary) = data.summary.as_deref() else {
                continue;
            };
            for i in 0..summary.classes.len() {
                let class = ClassRef::User(data.path.clone(), i);
                if !is_worker(ctx, &class) {
                    continue;
                }
                let consumed = consumed_classes(ctx, &class);
                let outputs = output_classes(ctx, &class);
                workers.push(WorkerFlow {
                    class,
                    consumed,
                    outputs,
                });
            }
        }
        workers.sort_by_key(|w| match &w.class {
            ClassRef::User(p, i) => (p.to_path_buf(), *i),
            ClassRef::Builtin(id) => (Default::default(), *id),
        });
        WorkerTable { workers }
    }

    /// Worker classes whose `output_types` include `task`.
    pub fn producers(&self, task: &ClassRef) -> Vec<ClassRef> {
        self.workers
            .iter()
            .filter(|w| w.outputs.as_ref().is_some_and(|o| o.contains(task)))
            .map(|w| w.class.clone())
            .collect()
    }

    /// Worker classes that consume `task`.
    pub fn consumers(&self, task: &ClassRef) -> Vec<ClassRef> {
        self.workers
            .iter()
            .filter(|w| w.consumed.as_ref().is_some_and(|c| c.contains(task)))
            .map(|w| w.class.clone())
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use crate::analysis::AnalysisHost;

    /// A host over the given files of a workspace rooted at `/ws`.
    pub fn host(files: &[(&str, &str)]) -> AnalysisHost {
        let mut host = AnalysisHost::new();
        host.set_roots(vec![PathBuf::from("/ws")]);
        for (name, text) in files {
            host.set_file(Path::new("/ws").join(name), Arc::from(*text), None);
        }
        host
    }

    /// The offset of the `n`th (0-based) occurrence of `needle` in `text`.
    pub fn offset_of(text: &str, needle: &str, n: usize) -> usize {
        text.match_indices(needle)
            .nth(n)
            .unwrap_or_else(|| panic!("{needle:?} #{n} not in text"))
            .0
    }

    pub const TASKS: &str = "from planai import Task\nfrom pydantic import Field\n\nclass Question(Task):\n    \"\"\"A question.\"\"\"\n    text: str = Field(description=\"what is asked\")\n    rank: int = 0\n\nclass Answer(Task):\n    text: str\n";

    pub const WORKERS: &str = "from textwrap import dedent\nfrom typing import List, Type\nfrom planai import LLMTaskWorker, Task, TaskWorker, tool\nfrom tasks import Answer, Question\n\nclass Asker(TaskWorker):\n    output_types: List[Type[Task]] = [Question]\n    def consume_work(self, task: Answer):\n        self.publish_work(Question(text=task.text), input_task=task)\n\nclass Responder(LLMTaskWorker):\n    output_types: List[Type[Task]] = [Answer]\n    llm_input_type: Type[Task] = Question\n    prompt: str = dedent(\n        \"\"\"\n        Answer the question.\n          Briefly.\n        \"\"\"\n    ).strip()\n\n@tool(name=\"lookup\")\ndef lookup(term: str, limit: int = 3) -> str:\n    \"\"\"Looks a term up.\"\"\"\n    return term\n";

    pub const GRAPH: &str = "from planai import Graph\nfrom workers import Asker, Responder\nimport tasks\n\ndef build_graph(llm):\n    graph = Graph(name=\"qa\")\n    asker, responder = Asker(), Responder(llm=llm)\n    graph.add_workers(asker, responder)\n    graph.set_dependency(asker, responder)\n    graph.set_sink(responder, tasks.Answer)\n    return graph\n\nif __name__ == \"__main__\":\n    g = build_graph(None)\n";

    pub fn qa_host() -> AnalysisHost {
        host(&[
            ("tasks.py", TASKS),
            ("workers.py", WORKERS),
            ("graph.py", GRAPH),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn names_resolve_to_classes_variables_and_tools() {
        let host = qa_host();
        let graph = Path::new("/ws/graph.py");
        let (range, referent) =
            referent_at(&host, graph, offset_of(GRAPH, "Asker()", 0) + 2).unwrap();
        assert_eq!(&GRAPH[range.start()..range.end()], "Asker");
        let Referent::Class(class) = referent else {
            panic!("{referent:?}")
        };
        let ctx = Ctx::new(&host);
        assert_eq!(ctx.class_name(&class), "Asker");

        let (_, referent) = referent_at(&host, graph, offset_of(GRAPH, "responder)", 1)).unwrap();
        assert!(matches!(
            referent,
            Referent::Variable { ref name, value: VariableValue::Worker(_), scope: Scope::Function(0), .. } if name == "responder"
        ));
        let (_, referent) = referent_at(&host, graph, offset_of(GRAPH, "graph.add", 0)).unwrap();
        assert!(matches!(
            referent,
            Referent::Variable {
                value: VariableValue::Graph,
                ..
            }
        ));
        let (_, referent) = referent_at(&host, graph, offset_of(GRAPH, "Answer)", 0) + 1).unwrap();
        let Referent::Class(answer) = referent else {
            panic!()
        };
        assert_eq!(ctx.class_name(&answer), "Answer");

        let workers = Path::new("/ws/workers.py");
        let (_, referent) =
            referent_at(&host, workers, offset_of(WORKERS, "def lookup", 0) + 5).unwrap();
        assert!(matches!(referent, Referent::Tool { function: 0, .. }));
        // A keyword argument's name and a string refer to nothing.
        assert!(referent_at(&host, graph, offset_of(GRAPH, "name=", 0)).is_none());
        assert!(referent_at(&host, graph, offset_of(GRAPH, "qa", 0)).is_none());
    }
}

#[cfg(test)]
mod robustness_tests {
    use std::path::Path;

    use super::test_support::host;
    use super::*;

    /// Every feature at every few bytes of an example (and of the example cut short mid-way,
    /// as while typing) answers without panicking.
    #[test]
    fn every_feature_answers_anywhere_in_an_example() {
        let full = include_str!("../../../examples/text_pipeline.py");
        let cut = &full[..full.len() / 2];
        for text in [full, cut] {
            let host = host(&[("p.py", text)]);
            let path = Path::new("/ws/p.py");
            for offset in (0..=text.len()).step_by(11) {
                let _ = hover::hover(&host, path, offset);
                let _ = navigation::definition(&host, path, offset);
                let _ = navigation::highlights(&host, path, offset);
                let _ = navigation::prepare_rename(&host, path, offset);
                let _ = complete::completions(&host, path, text, offset);
            }
            assert!(!symbols::document_symbols(&host, path).is_empty());
            let _ = lenses::code_lenses(&host, path);
            let _ = inlay::inlay_hints(&host, path, 0, text.len());
        }
    }
}
