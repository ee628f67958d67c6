//! Graph building, interpreted per scope in statement order: worker instantiations (IN1, IN2,
//! IN5, RT8), `add_worker(s)` (GC1), `set_dependency`/`next`/`sink`/`set_sink` (GC2, GC4, GC5,
//! GC6, GC7, GC8, GC9, GC11), `set_entry` and `run`/`execute` (GC3, EX1), and, at `run`, the
//! consumers of every published type (RT3, RT4).
//!
//! The interpretation is intra-procedural and conservative: a graph that is touched by code we
//! do not model (passed to a function, mutated in a loop or branch, `*workers` splats) becomes
//! *imprecise*, and every check that needs a negative fact ("not added yet", "no consumer")
//! stays silent for it. Type checks on an edge only need the two workers' classes.

mod facts;
pub(crate) use facts::refresh_fact;
mod instantiate;
mod interpret;
mod run;
mod snapshot;
mod trace;
pub(crate) use trace::replay_unit;
use trace::{Applied, Op, Precise};
mod wiring;

use super::ClassKind;
use crate::analysis::{FxMap, FxSet};
use facts::WorkerFacts;
use std::path::Path;
use std::sync::Arc;

use super::super::builtins;
use super::super::consumed::{
    self, consumed_types, find_method, output_types, ConsumedTypes, FieldValue, InstanceSpec,
    MethodRef, OutputTypes, TypeKey,
};
use super::super::incremental::Unit;
use super::super::memo::{self, Fact, FactKey};
use super::super::resolve::{ClassRef, Ctx, Symbol};
use super::super::summary::{
    walk_exprs, walk_stmts, AssignTarget, BlockKind, CallExpr, Expr, FileSummary, FunctionSummary,
    Name, Stmt,
};
use super::super::task_types::{infer_task_type, LocalTypes};
use super::{error, related};
use crate::analysis::GraphEdge;
use crate::diagnostics::{Code, Diagnostic, Subject, TextRange};

/// The implicit `InitialTaskWorker` of every graph.
const INITIAL: WorkerId = WorkerId(usize::MAX);

/// No worker: the missing side of a sink's related information.
const NO_WORKER: WorkerId = WorkerId(usize::MAX - 1);

/// A worker the interpreted code created (an index into `Flow::workers`; `INITIAL` is the
/// graph's implicit `InitialTaskWorker`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct WorkerId(usize);

/// A graph the interpreted code created (an index into `Flow::graphs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct GraphId(usize);

impl<'a> std::ops::Index<WorkerId> for Vec<WorkerInst<'a>> {
    type Output = WorkerInst<'a>;
    fn index(&self, w: WorkerId) -> &WorkerInst<'a> {
        &self[w.0]
    }
}

impl std::ops::IndexMut<WorkerId> for Vec<WorkerInst<'_>> {
    fn index_mut(&mut self, w: WorkerId) -> &mut Self::Output {
        &mut self[w.0]
    }
}

impl std::ops::Index<GraphId> for Vec<GraphState> {
    type Output = GraphState;
    fn index(&self, g: GraphId) -> &GraphState {
        &self[g.0]
    }
}

impl std::ops::IndexMut<GraphId> for Vec<GraphState> {
    fn index_mut(&mut self, g: GraphId) -> &mut GraphState {
        &mut self[g.0]
    }
}

pub fn check(ctx: &mut Ctx, path: &Arc<Path>, unit: Unit, out: &mut Vec<Diagnostic>) {
    let mut edges = Vec::new();
    run_scopes(ctx, path, unit, out, &mut edges, false, None);
}

/// The edges built in `path`, for the graph view (module level, then functions, then
/// methods).
pub fn collect_edges(ctx: &mut Ctx, path: &Arc<Path>) -> Vec<GraphEdge> {
    let Some(summary) = ctx.summary(path) else {
        return Vec::new();
    };
    let units = std::iter::once(Unit::Module)
        .chain((0..summary.functions.len()).map(Unit::Function))
        .chain((0..summary.classes.len()).map(Unit::Class));
    let mut out = Vec::new();
    let mut edges = Vec::new();
    for unit in units {
        run_scopes(ctx, path, unit, &mut out, &mut edges, true, None);
    }
    edges
}

/// Every graph built in `path`, with its workers, entries, edges and sinks as the interpreter
/// saw them, for the graph model (`analysis::graph_model`). Same scopes and order as
/// `collect_edges`.
pub fn collect_graphs(ctx: &mut Ctx, path: &Arc<Path>) -> Vec<BuiltGraph> {
    let Some(summary) = ctx.summary(path) else {
        return Vec::new();
    };
    let units = std::iter::once(Unit::Module)
        .chain((0..summary.functions.len()).map(Unit::Function))
        .chain((0..summary.classes.len()).map(Unit::Class));
    let mut out = Vec::new();
    let mut edges = Vec::new();
    let mut built = Vec::new();
    for unit in units {
        run_scopes(
            ctx,
            path,
            unit,
            &mut out,
            &mut edges,
            true,
            Some(&mut built),
        );
    }
    built
}

/// A file and a range in it: where a call of the graph-building code is (a factory inlined
/// from another module builds in its own file).
pub type Site = (Arc<Path>, TextRange);

/// One graph a scope builds, in the interpreter's terms (classes as `ClassRef`s).
pub struct BuiltGraph {
    /// The function that builds it (`None` at module level), as in `GraphEdge::scope`.
    pub scope: Option<String>,
    /// The variable the graph was first assigned to.
    pub variable: Option<String>,
    /// `Graph(name="...")`, when a literal.
    pub name: Option<String>,
    /// The `Graph(...)` call.
    pub created: Option<Site>,
    /// The workers added to the graph, in the order they were added.
    pub workers: Vec<BuiltWorker>,
    /// Indices into `workers`, with the `set_entry`/`run` argument that made each an entry.
    pub entries: Vec<(usize, Site)>,
    pub edges: Vec<BuiltEdge>,
    /// `(worker index, the sunk type, the call)`.
    pub sinks: Vec<(usize, ClassRef, Site)>,
    /// Touched by code the interpreter does not model: the graph may have more than is shown.
    pub partial: bool,
}

pub struct BuiltWorker {
    pub variable: Option<String>,
    pub class: Option<ClassRef>,
    /// The class name, or the expression's text when the class is unknown.
    pub display: String,
    /// The instantiation call, when the interpreter saw it.
    pub call: Option<Site>,
    /// The `add_worker(s)` argument that added it (in the interpreted scope's own file).
    pub added: Option<Site>,
    pub consumed: ConsumedTypes,
    pub outputs: OutputTypes,
}

pub struct BuiltEdge {
    /// Indices into `BuiltGraph::workers`.
    pub upstream: usize,
    pub downstream: usize,
    /// The one type passed along the edge, when known.
    pub task_type: Option<ClassRef>,
    /// The `set_dependency`/`next` call.
    pub site: Site,
}

/// The edges built in the scopes of one unit of `path` (a hover on a graph variable needs
/// its own function's, not the whole file's).
pub fn collect_unit_edges(ctx: &mut Ctx, path: &Arc<Path>, unit: Unit) -> Vec<GraphEdge> {
    let mut out = Vec::new();
    let mut edges = Vec::new();
    run_scopes(ctx, path, unit, &mut out, &mut edges, true, None);
    edges
}

/// Interprets the scopes of `unit`: the module body, a function and the functions nested in
/// it, or a class's methods.
fn run_scopes(
    ctx: &mut Ctx,
    path: &Arc<Path>,
    unit: Unit,
    out: &mut Vec<Diagnostic>,
    edges: &mut Vec<GraphEdge>,
    collect_edges: bool,
    mut built: Option<&mut Vec<BuiltGraph>>,
) {
    let Some(summary) = ctx.summary(path) else {
        return;
    };
    fn add_fn<'a>(
        f: &'a FunctionSummary,
        prefix: Option<&str>,
        scopes: &mut Vec<(Option<String>, &'a [Stmt], Option<&'a FunctionSummary>)>,
    ) {
        let name = match prefix {
            Some(p) => format!("{p}.{}", f.name),
            None => f.name.to_string(),
        };
        scopes.push((Some(name.clone()), &f.body, Some(f)));
        walk_stmts(&f.body, &mut |s| {
            if let Stmt::LocalFunction(inner) = s {
                add_fn(inner, Some(&name), scopes);
            }
        });
    }
    // (scope name, body, the function whose locals it binds; `None` at module level)
    let mut scopes: Vec<(Option<String>, &[Stmt], Option<&FunctionSummary>)> = Vec::new();
    match unit {
        Unit::Module => scopes.push((None, &summary.body, None)),
        Unit::Function(j) => {
            if let Some(f) = summary.functions.get(j) {
                add_fn(f, None, &mut scopes);
            }
        }
        Unit::Class(i) => {
            if let Some(c) = summary.classes.get(i) {
                for m in &c.methods {
                    add_fn(m, Some(&c.name), &mut scopes);
                }
            }
        }
    }
    // A factory the module code inlined earlier in this pass, exactly as this unit would
    // interpret it (see `Flow::interprets_like_its_own_unit`).
    let replay = match unit {
        Unit::Function(j) if !collect_edges => summary
            .functions
            .get(j)
            .map(|f| &**f as *const FunctionSummary as usize),
        _ => None,
    };
    // A diagnostics pass over a file whose worker facts are memoised keeps what each scope
    // did to its workers and graphs (see `trace`).
    let tracing = !collect_edges
        && ctx.trace_wanted()
        && ctx
            .file(path)
            .is_some_and(|file| memo::large_enough(ctx.host, file));
    let mut traces: Vec<Option<Vec<Op>>> = Vec::new();
    if tracing {
        ctx.separate_operations();
    }
    for (index, (scope, body, function)) in scopes.into_iter().enumerate() {
        // Replayed before asking `may_build_graphs`: a body that can build nothing reports
        // nothing, inlined or not, so the replay is what that answer would have given.
        if let Some(captured) = replay
            .filter(|_| index == 0)
            .and_then(|key| ctx.replay_capture(key, false))
        {
            out.extend_from_slice(captured);
            let ops = replay.and_then(|key| ctx.take_captured_ops(key));
            let ops = ops.and_then(|ops| ops.downcast::<trace::CapturedOps>().ok());
            traces.push(ops.map(|ops| ops.0));
            continue;
        }
        if !may_build_graphs(ctx, path, body) {
            continue;
        }
        let locals = function.map(function_locals).unwrap_or_default();
        let out_start = out.len();
        let mut flow = Flow {
            ctx: &mut *ctx,
            path: path.clone(),
            scope,
            env: FxMap::with_capacity_and_hasher(locals.len(), Default::default()),
            locals,
            workers: Vec::new(),
            graphs: Vec::new(),
            cond_depth: 0,
            out: &mut *out,
            edges: &mut *edges,
            collect_edges,
            inlining: Vec::new(),
            out_start,
            raised_unseen: false,
            own_path: path.clone(),
            call_site: None,
            inline_refusals: 0,
            trace: tracing.then(Vec::new),
            inline_marks: Vec::new(),
        };
        flow.stmts(body);
        if let Some(built) = built.as_deref_mut() {
            built.extend(flow.built_graphs());
        }
        traces.push(flow.trace.take());
    }
    // A unit whose scopes build no graph has nothing to replay: checking it again is as
    // cheap, and a trace would keep a second copy of what it read.
    if tracing && traces.iter().flatten().any(|ops| !ops.is_empty()) {
        ctx.set_unit_trace(trace::unit_ops(unit, traces));
    }
}

/// Whether a scope can create a worker, a graph or a sub-graph worker. Every diagnostic of
/// this module starts from such a value, so scopes without one (most `consume_work` bodies)
/// are skipped. Over-approximates: local imports make a scope relevant.
fn may_build_graphs(ctx: &mut Ctx, path: &Path, body: &[Stmt]) -> bool {
    may_build_graphs_within(ctx, path, body, MAX_INLINE_DEPTH)
}

/// `may_build_graphs`, following calls of this file's functions (graph factories) `depth`
/// levels deep.
fn may_build_graphs_within(ctx: &mut Ctx, path: &Path, body: &[Stmt], depth: usize) -> bool {
    let mut has_import = false;
    walk_stmts(body, &mut |s| {
        if matches!(s, Stmt::Import(_)) {
            has_import = true;
        }
    });
    if has_import {
        return true;
    }
    let mut callees: Vec<&Expr> = Vec::new();
    walk_exprs(body, &mut |e| {
        e.for_each_call(&mut |c| callees.push(&c.func))
    });
    // `main()` as a statement: its value is dropped, so it is not inlined (see `Flow::inline`).
    let mut discarded: Vec<TextRange> = Vec::new();
    walk_stmts(body, &mut |s| {
        if let Stmt::Expr(Expr::Call(c)) = s {
            discarded.push(c.func.range());
        }
    });
    callees.into_iter().any(|f| {
        if f.dotted_root().is_none() {
            return false;
        }
        match ctx.resolve_expr(path, f) {
            Symbol::Class(c) => {
                ctx.derives_from_builtin(&c, "TaskWorker")
                    || c == ClassRef::Builtin(
                        builtins::class_by_name("Graph").unwrap_or(usize::MAX),
                    )
            }
            Symbol::BuiltinOther(name) => name == "SubGraphWorker",
            Symbol::Function if depth > 0 && !discarded.contains(&f.range()) => {
                match f
                    .as_name()
                    .and_then(|name| ctx.resolve_function(path, name))
                {
                    Some((home, callee)) => {
                        may_build_graphs_within(ctx, &home, &callee.body, depth - 1)
                    }
                    None => false,
                }
            }
            _ => false,
        }
    })
}

/// Every name bound anywhere in a function (parameters, assignments, imports, defs).
fn function_locals(f: &FunctionSummary) -> FxSet<Name> {
    // A graph builder binds about one name per statement (`w3 = Worker3()`): room for that
    // up front instead of growing the set again and again.
    let mut out: FxSet<Name> =
        FxSet::with_capacity_and_hasher(f.params.len() + f.body.len(), Default::default());
    out.extend(f.params.iter().map(|p| p.name.clone()));
    walk_stmts(&f.body, &mut |s| match s {
        Stmt::Assign { targets, .. } => {
            for t in targets {
                match t {
                    AssignTarget::Name(n, _) => {
                        out.insert(n.clone());
                    }
                    AssignTarget::Other(ns) | AssignTarget::Tuple(ns) => {
                        out.extend(ns.iter().cloned())
                    }
                    AssignTarget::SelfAttr(..) => {}
                }
            }
        }
        Stmt::AugAssign {
            target: AssignTarget::Name(n, _),
            ..
        } => {
            out.insert(n.clone());
        }
        Stmt::Block { bound, .. } | Stmt::Other { bound, .. } => out.extend(bound.iter().cloned()),
        Stmt::Import(bs) => out.extend(bs.iter().map(|b| b.local.clone())),
        Stmt::LocalClass(n) => {
            out.insert(n.clone());
        }
        Stmt::LocalFunction(f) => {
            out.insert(f.name.clone());
        }
        Stmt::Global(ns) => out.extend(ns.iter().cloned()),
        _ => {}
    });
    out
}

#[derive(Clone, Debug, PartialEq)]
enum Val {
    Graph(GraphId),
    Worker(WorkerId),
    Class(ClassRef),
    SubGraphFactory,
    NoneLit,
    /// The value of a `return a, b` of an inlined graph factory.
    Tuple(Vec<Val>),
    Unknown,
}

struct WorkerInst<'a> {
    class: Option<ClassRef>,
    call: Option<&'a CallExpr>,
    /// The file of `call`.
    path: Arc<Path>,
    /// Shown in messages when the class is unknown.
    display: String,
    /// The graph the worker was last added to.
    graph: Option<GraphId>,
    /// Stored somewhere we do not follow (a container, an attribute, a function argument).
    escaped: bool,
    /// For `SubGraphWorker(...)`: the entry worker, whose consumed types it takes.
    subgraph_entry: Option<WorkerId>,
    /// A value we cannot see used as a worker (e.g. the result of a factory from another
    /// module): kept as a node so the edges around it are still drawn; never checked.
    opaque: bool,
    /// What the checks need of it, when it was instantiated from a known class.
    facts: Option<Arc<WorkerFacts>>,
    /// Its class's kind and the key of `facts`, found when it was instantiated: the checks
    /// ask for the kind again for each edge, sink and publish of a worker, and the key gives
    /// the keys of its other facts without hashing the call's text again.
    instance: Option<(ClassKind, FactKey)>,
    /// The variable it was first assigned to (for the graph model).
    variable: Option<String>,
}

#[derive(Default)]
struct GraphState {
    workers: Vec<WorkerId>,
    /// Where each worker of `workers` was added (also the membership test: a graph builder
    /// asks it for every edge).
    add_sites: FxMap<WorkerId, TextRange>,
    /// `(upstream, downstream)` of every edge of `edges`.
    edge_set: FxSet<(WorkerId, WorkerId)>,
    /// `(upstream, downstream, task type)`; the type is `None` when it is unknown.
    edges: Vec<(WorkerId, WorkerId, Option<ClassRef>)>,
    sinks: Vec<(WorkerId, ClassRef)>,
    /// The worker of the last `set_exit` (a SubGraphWorker adds a sink to it).
    exit: Option<WorkerId>,
    /// Touched by code we do not model.
    imprecise: bool,
    /// What only the graph model needs (recorded when `Flow::collect_edges`): the first
    /// variable, the name and the call of the graph, and where edges, entries and sinks were
    /// made.
    variable: Option<String>,
    name: Option<String>,
    created: Option<Site>,
    edge_sites: FxMap<(WorkerId, WorkerId), Site>,
    entry_sites: Vec<(WorkerId, Site)>,
    sink_sites: Vec<(WorkerId, ClassRef, Site)>,
}

struct Flow<'c, 'h, 'a> {
    ctx: &'c mut Ctx<'h>,
    path: Arc<Path>,
    scope: Option<String>,
    locals: FxSet<Name>,
    env: FxMap<Name, Val>,
    workers: Vec<WorkerInst<'a>>,
    graphs: Vec<GraphState>,
    cond_depth: usize,
    out: &'c mut Vec<Diagnostic>,
    edges: &'c mut Vec<GraphEdge>,
    /// Whether `edges` is wanted (the graph view) or thrown away (diagnostics).
    collect_edges: bool,
    /// The graph factories being inlined (see `Flow::inline`), innermost last.
    inlining: Vec<*const FunctionSummary>,
    /// Where this flow's diagnostics start in `out`.
    out_start: usize,
    /// The file the flow's diagnostics belong to (`path` differs while a factory from another
    /// module is inlined).
    own_path: Arc<Path>,
    /// While a factory from another module is inlined: the call of it in `own_path`.
    call_site: Option<TextRange>,
    /// PlanAI raised at a statement another check reports (a Task constructor call, see
    /// `tasks`) or inside an inlined factory (whose diagnostics are dropped here).
    raised_unseen: bool,
    /// Calls not inlined because of the depth limit or recursion.
    inline_refusals: usize,
    /// The operations on workers and graphs so far, while they can be replayed (see `trace`).
    trace: Option<Vec<Op>>,
    /// Where the diagnostics of each graph factory being inlined start in `out`.
    inline_marks: Vec<usize>,
}

impl<'c, 'h, 'a> Flow<'c, 'h, 'a>
where
    'h: 'a,
{
    /// A flow of no scope, in `path`: derives one worker's facts outside any unit (see
    /// `facts::refresh_fact`).
    fn scratch(
        ctx: &'c mut Ctx<'h>,
        path: Arc<Path>,
        out: &'c mut Vec<Diagnostic>,
        edges: &'c mut Vec<GraphEdge>,
    ) -> Self {
        Flow {
            ctx,
            path: path.clone(),
            scope: None,
            locals: FxSet::default(),
            env: FxMap::default(),
            workers: Vec::new(),
            graphs: Vec::new(),
            cond_depth: 0,
            out,
            edges,
            collect_edges: false,
            inlining: Vec::new(),
            out_start: 0,
            own_path: path,
            call_site: None,
            raised_unseen: false,
            inline_refusals: 0,
            trace: None,
            inline_marks: Vec::new(),
        }
    }
}

/// Whether PlanAI raises `d` synchronously in the flow (instantiation, graph construction,
/// execution start): the statements after it never run.
fn raises(d: &Diagnostic) -> bool {
    ["IN", "GC", "EX"]
        .iter()
        .any(|p| d.code.as_str().starts_with(p))
}

/// How deep graph factories are inlined into their callers.
const MAX_INLINE_DEPTH: usize = 3;

/// From the method name to the end of the call: in a fluent chain over several lines this is
/// the line of `.next(...)`, not the start of the chain.
fn narrow(c: &CallExpr) -> TextRange {
    match c.func.attr_range() {
        Some(attr) => TextRange::new(attr.start(), c.range.end()),
        None => c.range,
    }
}

fn signature_hint(code: Code) -> &'static str {
    if code == Code::Gc6 {
        "`def consume_work_joined(self, tasks: List[MyTask])`"
    } else {
        "`def consume_work(self, task: MyTask)`"
    }
}

/// Names a statement list binds (for forgetting values after branches and loops).
fn assigned_names(stmts: &[Stmt]) -> Vec<crate::analysis::summary::Name> {
    let mut out = Vec::new();
    walk_stmts(stmts, &mut |s| match s {
        Stmt::Assign { targets, .. } => {
            for t in targets {
                match t {
                    AssignTarget::Name(n, _) => out.push(n.clone()),
                    AssignTarget::Other(ns) | AssignTarget::Tuple(ns) => {
                        out.extend(ns.iter().cloned())
                    }
                    AssignTarget::SelfAttr(..) => {}
                }
            }
        }
        Stmt::AugAssign {
            target: AssignTarget::Name(n, _),
            ..
        } => out.push(n.clone()),
        Stmt::Block { bound, .. } | Stmt::Other { bound, .. } => out.extend(bound.iter().cloned()),
        Stmt::Import(bs) => out.extend(bs.iter().map(|b| b.local.clone())),
        Stmt::LocalClass(n) => out.push(n.clone()),
        _ => {}
    });
    out
}

#[cfg(test)]
mod tests;
