//! Graph building, interpreted per scope in statement order: worker instantiations (IN1, IN2,
//! IN5, RT8), `add_worker(s)` (GC1), `set_dependency`/`next`/`sink`/`set_sink` (GC2, GC4, GC5,
//! GC6, GC7, GC8, GC9, GC11), `set_entry` and `run`/`execute` (GC3, EX1), and, at `run`, the
//! consumers of every published type (RT3, RT4).
//!
//! The interpretation is intra-procedural and conservative: a graph that is touched by code we
//! do not model (passed to a function, mutated in a loop or branch, `*workers` splats) becomes
//! *imprecise*, and every check that needs a negative fact ("not added yet", "no consumer")
//! stays silent for it. Type checks on an edge only need the two workers' classes.

use crate::analysis::{FxMap, FxSet};
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
    walk_exprs, walk_stmts, AssignTarget, BlockKind, CallExpr, Expr, FunctionSummary, Stmt,
};
use super::publish::{infer_task_type, LocalTypes};
use super::{error, related};
use crate::analysis::GraphEdge;
use crate::diagnostics::{Code, Diagnostic, TextRange};

/// The implicit `InitialTaskWorker` of every graph.
const INITIAL: usize = usize::MAX;

pub fn check(ctx: &mut Ctx, path: &Arc<Path>, unit: Unit, out: &mut Vec<Diagnostic>) {
    let mut edges = Vec::new();
    run_scopes(ctx, path, unit, out, &mut edges, false);
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
        run_scopes(ctx, path, unit, &mut out, &mut edges, true);
    }
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
) {
    let Some(summary) = ctx.summary(path) else {
        return;
    };
    fn add_fn<'a>(
        f: &'a FunctionSummary,
        prefix: Option<&str>,
        scopes: &mut Vec<(Option<String>, &'a [Stmt], FxSet<String>)>,
    ) {
        let name = match prefix {
            Some(p) => format!("{p}.{}", f.name),
            None => f.name.to_string(),
        };
        scopes.push((Some(name.clone()), &f.body, function_locals(f)));
        walk_stmts(&f.body, &mut |s| {
            if let Stmt::LocalFunction(inner) = s {
                add_fn(inner, Some(&name), scopes);
            }
        });
    }
    let mut scopes: Vec<(Option<String>, &[Stmt], FxSet<String>)> = Vec::new();
    match unit {
        Unit::Module => scopes.push((None, &summary.body, FxSet::default())),
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
    for (scope, body, locals) in scopes {
        if !may_build_graphs(ctx, path, body) {
            continue;
        }
        let out_start = out.len();
        let mut flow = Flow {
            ctx: &mut *ctx,
            path: path.clone(),
            scope,
            locals,
            env: FxMap::default(),
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
        };
        flow.stmts(body);
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
        if f.dotted().is_none() {
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
fn function_locals(f: &FunctionSummary) -> FxSet<String> {
    let mut out: FxSet<String> = f.params.iter().map(|p| p.name.to_string()).collect();
    walk_stmts(&f.body, &mut |s| match s {
        Stmt::Assign { targets, .. } => {
            for t in targets {
                match t {
                    AssignTarget::Name(n, _) => {
                        out.insert(n.to_string());
                    }
                    AssignTarget::Other(ns) | AssignTarget::Tuple(ns) => {
                        out.extend(ns.iter().map(|n| n.to_string()))
                    }
                    AssignTarget::SelfAttr(..) => {}
                }
            }
        }
        Stmt::AugAssign {
            target: AssignTarget::Name(n, _),
            ..
        } => {
            out.insert(n.to_string());
        }
        Stmt::Block { bound, .. } | Stmt::Other { bound, .. } => {
            out.extend(bound.iter().map(|n| n.to_string()))
        }
        Stmt::Import(bs) => out.extend(bs.iter().map(|b| b.local.to_string())),
        Stmt::LocalClass(n) => {
            out.insert(n.to_string());
        }
        Stmt::LocalFunction(f) => {
            out.insert(f.name.to_string());
        }
        Stmt::Global(ns) => out.extend(ns.iter().map(|n| n.to_string())),
        _ => {}
    });
    out
}

#[derive(Clone, Debug, PartialEq)]
enum Val {
    Graph(usize),
    Worker(usize),
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
    graph: Option<usize>,
    /// Stored somewhere we do not follow (a container, an attribute, a function argument).
    escaped: bool,
    /// For `SubGraphWorker(...)`: the entry worker, whose consumed types it takes.
    subgraph_entry: Option<usize>,
    /// A value we cannot see used as a worker (e.g. the result of a factory from another
    /// module): kept as a node so the edges around it are still drawn; never checked.
    opaque: bool,
    /// What the checks need of it, when it was instantiated from a known class.
    facts: Option<Arc<WorkerFacts>>,
}

/// What the graph checks need of one worker instance (its class and the call that made it),
/// memoised across edits (`analysis::memo`).
#[derive(Debug)]
struct WorkerFacts {
    /// The instantiation checks found nothing.
    clean: bool,
    consumed: ConsumedTypes,
    outputs: OutputTypes,
}

#[derive(Default)]
struct GraphState {
    workers: Vec<usize>,
    /// Where each worker of `workers` was added (also the membership test: a graph builder
    /// asks it for every edge).
    add_sites: FxMap<usize, TextRange>,
    /// `(upstream, downstream)` of every edge of `edges`.
    edge_set: FxSet<(usize, usize)>,
    /// `(upstream, downstream, task type)`; the type is `None` when it is unknown.
    edges: Vec<(usize, usize, Option<ClassRef>)>,
    sinks: Vec<(usize, ClassRef)>,
    /// The worker of the last `set_exit` (a SubGraphWorker adds a sink to it).
    exit: Option<usize>,
    /// Touched by code we do not model.
    imprecise: bool,
}

struct Flow<'c, 'h, 'a> {
    ctx: &'c mut Ctx<'h>,
    path: Arc<Path>,
    scope: Option<String>,
    locals: FxSet<String>,
    env: FxMap<String, Val>,
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

impl<'c, 'h, 'a> Flow<'c, 'h, 'a>
where
    'h: 'a,
{
    fn stmts(&mut self, stmts: &'a [Stmt]) {
        for s in stmts {
            self.stmt(s);
        }
    }

    fn set_unknown(&mut self, name: &str) {
        self.env.insert(name.to_string(), Val::Unknown);
    }

    fn stmt(&mut self, s: &'a Stmt) {
        match s {
            Stmt::Assign { targets, value, .. } => {
                // `a, b = A(), B()` assigns element-wise.
                if let ([AssignTarget::Tuple(names)], Some(Expr::Tuple { elts, .. })) =
                    (&targets[..], value)
                {
                    if names.len() == elts.len()
                        && !elts.iter().any(|e| matches!(e, Expr::Starred { .. }))
                    {
                        let vals: Vec<Val> = elts.iter().map(|e| self.eval(e)).collect();
                        for (n, v) in names.iter().zip(vals) {
                            self.env.insert(n.to_string(), v);
                        }
                        return;
                    }
                }
                let v = value.as_ref().map(|v| self.eval(v)).unwrap_or(Val::Unknown);
                // `graph, entry = build_graph()` with an inlined factory.
                if let ([AssignTarget::Tuple(names)], Val::Tuple(vals)) = (&targets[..], &v) {
                    if names.len() == vals.len() {
                        for (n, v) in names.iter().zip(vals.clone()) {
                            self.env.insert(n.to_string(), v);
                        }
                        return;
                    }
                }
                for t in targets {
                    match t {
                        AssignTarget::Name(n, _) => {
                            self.env.insert(n.to_string(), v.clone());
                        }
                        AssignTarget::Other(names) | AssignTarget::Tuple(names) => {
                            self.escape(&v);
                            for n in names {
                                self.set_unknown(n);
                            }
                        }
                        AssignTarget::SelfAttr(..) => self.escape(&v),
                    }
                }
            }
            Stmt::AugAssign { target, value } => {
                let v = self.eval(value);
                self.escape(&v);
                if let AssignTarget::Name(n, _) = target {
                    let old = self.env.get(n.as_str()).cloned().unwrap_or(Val::Unknown);
                    self.escape(&old);
                    self.set_unknown(n);
                }
            }
            Stmt::Expr(Expr::Call(c)) if self.is_user_function_call(c) => {
                // A function called for its effects (`main()`): its value is dropped, and
                // what it builds is checked in its own unit.
                self.eval_args_escaping(c);
            }
            Stmt::Expr(e) => {
                self.eval(e);
            }
            Stmt::Return(e) => {
                if let Some(e) = e {
                    let v = self.eval(e);
                    self.escape(&v);
                }
            }
            Stmt::Block {
                kind,
                header,
                bound,
                bodies,
            } => {
                if *kind == BlockKind::Loop {
                    // Values from a later iteration may flow back: forget what the body binds.
                    for b in bodies {
                        for n in assigned_names(&b.stmts) {
                            let old = self.env.get(n.as_str()).cloned();
                            if let Some(old) = old {
                                self.escape(&old);
                            }
                            self.set_unknown(&n);
                        }
                    }
                }
                for h in header {
                    let v = self.eval(h);
                    if *kind != BlockKind::If && *kind != BlockKind::MainGuard {
                        self.escape(&v);
                    }
                }
                for n in bound {
                    self.set_unknown(n);
                }
                for b in bodies {
                    if b.conditional {
                        self.cond_depth += 1;
                    }
                    self.stmts(&b.stmts);
                    if b.conditional {
                        self.cond_depth -= 1;
                        for n in assigned_names(&b.stmts) {
                            self.set_unknown(&n);
                        }
                    }
                }
            }
            Stmt::Import(bs) => {
                for b in bs {
                    let module = self.ctx.resolve_module(&self.path, b.level, &b.module);
                    let sym = match (module, &b.member) {
                        (Some(m), Some(member)) => self.ctx.resolve_member(&m, member, 0),
                        _ => Symbol::Unknown,
                    };
                    let v = match sym {
                        Symbol::Class(c) => Val::Class(c),
                        Symbol::BuiltinOther("SubGraphWorker") => Val::SubGraphFactory,
                        _ => Val::Unknown,
                    };
                    self.env.insert(b.local.to_string(), v);
                }
            }
            Stmt::LocalClass(n) => self.set_unknown(n),
            Stmt::LocalFunction(f) => {
                // A closure may touch any graph of this scope later.
                for g in &mut self.graphs {
                    g.imprecise = true;
                }
                for w in &mut self.workers {
                    w.escaped = true;
                }
                self.set_unknown(&f.name);
            }
            Stmt::Global(ns) => {
                for n in ns {
                    self.set_unknown(n);
                }
            }
            Stmt::Other { bound, exprs } => {
                for e in exprs {
                    let v = self.eval(e);
                    self.escape(&v);
                }
                for n in bound {
                    self.set_unknown(n);
                }
            }
            Stmt::ClassDefAt(_) | Stmt::FunctionDefAt(_) => {}
        }
    }

    fn escape(&mut self, v: &Val) {
        match v {
            Val::Worker(w) => self.workers[*w].escaped = true,
            Val::Graph(g) => self.graphs[*g].imprecise = true,
            Val::Tuple(vals) => {
                for v in vals {
                    self.escape(v);
                }
            }
            _ => {}
        }
    }

    fn eval_escaping(&mut self, e: &'a Expr) {
        let v = self.eval(e);
        self.escape(&v);
    }

    fn lookup_name(&mut self, id: &str) -> Val {
        if let Some(v) = self.env.get(id) {
            return v.clone();
        }
        if self.locals.contains(id) {
            return Val::Unknown;
        }
        match self.ctx.resolve_global(&self.path, id, 0) {
            Symbol::Class(c) => Val::Class(c),
            Symbol::BuiltinOther("SubGraphWorker") => Val::SubGraphFactory,
            _ => Val::Unknown,
        }
    }

    fn eval(&mut self, e: &'a Expr) -> Val {
        match e {
            Expr::Name { id, .. } => self.lookup_name(id),
            Expr::Attribute { value, .. } => {
                // `module.Class` (only when the root is not a local value).
                if let Some(d) = e.dotted() {
                    if !self.env.contains_key(d[0]) && !self.locals.contains(d[0]) {
                        return match self.ctx.resolve_expr(&self.path, e) {
                            Symbol::Class(c) => Val::Class(c),
                            Symbol::BuiltinOther("SubGraphWorker") => Val::SubGraphFactory,
                            _ => Val::Unknown,
                        };
                    }
                }
                self.eval(value);
                Val::Unknown
            }
            Expr::Call(c) => self.call(c),
            Expr::NoneLit { .. } => Val::NoneLit,
            Expr::List { elts, .. } | Expr::Tuple { elts, .. } => {
                for x in elts {
                    self.eval_escaping(x);
                }
                Val::Unknown
            }
            Expr::Subscript { value, index, .. } => {
                self.eval_escaping(value);
                for x in index {
                    self.eval_escaping(x);
                }
                Val::Unknown
            }
            Expr::BitOr { left, right, .. } => {
                self.eval_escaping(left);
                self.eval_escaping(right);
                Val::Unknown
            }
            Expr::Comprehension { elt, .. } => {
                // Loop variables are unknown; names the element uses may be anything.
                self.eval_escaping(elt);
                Val::Unknown
            }
            Expr::Starred { value, .. } => {
                self.eval_escaping(value);
                Val::Unknown
            }
            Expr::Other { children, .. } => {
                for x in children {
                    self.eval_escaping(x);
                }
                Val::Unknown
            }
            _ => Val::Unknown,
        }
    }

    fn call(&mut self, c: &'a CallExpr) -> Val {
        if let Expr::Attribute { value, attr, .. } = &c.func {
            let recv = self.eval(value);
            match recv {
                Val::Graph(g) => return self.graph_method(g, attr, c),
                Val::Worker(w) => return self.worker_method(w, attr, c),
                _ => {}
            }
            if let Val::Class(_) | Val::Unknown | Val::NoneLit = recv {
                if let Some(d) = c.func.dotted() {
                    if !self.env.contains_key(d[0]) && !self.locals.contains(d[0]) {
                        let f = self.eval(&c.func);
                        if let Val::Class(cls) = f {
                            return self.instantiate(cls, c);
                        }
                        if f == Val::SubGraphFactory {
                            return self.subgraph(c);
                        }
                    }
                }
            }
            self.eval_args_escaping(c);
            return Val::Unknown;
        }
        if let Expr::Name { id, .. } = &c.func {
            if !self.env.contains_key(id.as_str()) && !self.locals.contains(id.as_str()) {
                if let Some((home, f)) = self.ctx.resolve_function(&self.path, id) {
                    return self.inline(home, f, c);
                }
            }
        }
        let f = self.eval(&c.func);
        match f {
            Val::Class(cls) => self.instantiate(cls, c),
            Val::SubGraphFactory => self.subgraph(c),
            _ => {
                self.eval_args_escaping(c);
                Val::Unknown
            }
        }
    }

    /// Whether `c` calls a module-level function of this file by name (without reading it).
    fn is_user_function_call(&mut self, c: &CallExpr) -> bool {
        match &c.func {
            Expr::Name { id, .. } => {
                !self.env.contains_key(id.as_str())
                    && !self.locals.contains(id.as_str())
                    && self.ctx.resolve_global(&self.path, id, 0) == Symbol::Function
            }
            _ => false,
        }
    }

    /// A call of a module-level function (of this file or imported from the workspace): a graph
    /// factory such as
    /// `def build_graph(): ...; return graph, entry` is interpreted in place, so the caller
    /// knows the graph it runs. Only straight-line functions whose one `return` ends the top
    /// level of the body; arguments escape (the parameters are unknown inside). Diagnostics
    /// and edges found inside belong to the function's own unit and are dropped here.
    fn inline(&mut self, home: Arc<Path>, f: &'a FunctionSummary, c: &'a CallExpr) -> Val {
        self.eval_args_escaping(c);
        let key = f as *const FunctionSummary;
        if self.inlining.len() >= MAX_INLINE_DEPTH
            || self.inlining.contains(&key)
            || f.has_decorators()
        {
            return Val::Unknown;
        }
        let top_returns = f
            .body
            .iter()
            .filter(|s| matches!(s, Stmt::Return(_)))
            .count();
        let mut all_returns = 0;
        let mut unsupported = false;
        walk_stmts(&f.body, &mut |s| match s {
            Stmt::Return(_) => all_returns += 1,
            Stmt::LocalFunction(_) | Stmt::Global(_) => unsupported = true,
            _ => {}
        });
        if unsupported || all_returns != top_returns || top_returns > 1 {
            return Val::Unknown;
        }
        let (out_mark, edges_mark) = (self.out.len(), self.edges.len());
        let env = std::mem::take(&mut self.env);
        let locals = std::mem::replace(&mut self.locals, function_locals(f));
        // Names in the body resolve in the function's own module; where it adds workers is
        // recorded as this call when that module is another file.
        let path = std::mem::replace(&mut self.path, home);
        let call_site = self.call_site;
        if self.call_site.is_none() && *self.path != *self.own_path {
            self.call_site = Some(c.range);
        }
        self.inlining.push(key);
        let mut result = Val::NoneLit;
        for s in &f.body {
            if let Stmt::Return(e) = s {
                result = match e {
                    Some(Expr::Tuple { elts, .. })
                        if !elts.iter().any(|x| matches!(x, Expr::Starred { .. })) =>
                    {
                        Val::Tuple(elts.iter().map(|x| self.eval(x)).collect())
                    }
                    Some(e) => self.eval(e),
                    None => Val::NoneLit,
                };
                break;
            }
            self.stmt(s);
        }
        self.inlining.pop();
        if self.out[out_mark..].iter().any(raises) {
            self.raised_unseen = true;
        }
        self.env = env;
        self.locals = locals;
        self.path = path;
        self.call_site = call_site;
        self.out.truncate(out_mark);
        self.edges.truncate(edges_mark);
        result
    }

    /// `e` (evaluated to `v`) used as a worker of graph `g`: the worker, or, for a value we
    /// cannot see (`create_search_fetch_worker(...)`, a parameter), an opaque worker that
    /// keeps the graph's shape visible. The graph becomes imprecise either way.
    fn worker_arg(&mut self, g: usize, e: &'a Expr, v: Val) -> Option<usize> {
        match v {
            Val::Worker(w) => Some(w),
            Val::Unknown
                if matches!(
                    e,
                    Expr::Name { .. } | Expr::Attribute { .. } | Expr::Call(_)
                ) =>
            {
                self.graphs[g].imprecise = true;
                let display = match e {
                    Expr::Name { id, .. } => id.to_string(),
                    other => consumed::render(other),
                };
                self.workers.push(WorkerInst {
                    class: None,
                    call: None,
                    path: self.path.clone(),
                    display,
                    graph: Some(g),
                    escaped: true,
                    subgraph_entry: None,
                    opaque: true,
                    facts: None,
                });
                let w = self.workers.len() - 1;
                if let Expr::Name { id, .. } = e {
                    self.env.insert(id.to_string(), Val::Worker(w));
                }
                Some(w)
            }
            other => {
                self.escape(&other);
                self.graphs[g].imprecise = true;
                None
            }
        }
    }

    fn is_opaque(&self, w: usize) -> bool {
        w != INITIAL && self.workers[w].opaque
    }

    fn eval_args_escaping(&mut self, c: &'a CallExpr) {
        for a in &c.args {
            self.eval_escaping(a);
        }
        for k in &c.keywords {
            self.eval_escaping(&k.value);
        }
    }

    fn display_of(&self, w: usize) -> String {
        if w == INITIAL {
            return "InitialTaskWorker".into();
        }
        match &self.workers[w].class {
            Some(c) => self.ctx.class_name(c),
            None => self.workers[w].display.clone(),
        }
    }

    fn new_worker(
        &mut self,
        class: Option<ClassRef>,
        call: Option<&'a CallExpr>,
        display: String,
    ) -> Val {
        self.workers.push(WorkerInst {
            class,
            call,
            path: self.path.clone(),
            display,
            graph: None,
            escaped: false,
            subgraph_entry: None,
            opaque: false,
            facts: None,
        });
        Val::Worker(self.workers.len() - 1)
    }

    fn instantiate(&mut self, cls: ClassRef, c: &'a CallExpr) -> Val {
        let graph_id = builtins::class_by_name("Graph").map(ClassRef::Builtin);
        if Some(&cls) == graph_id.as_ref() {
            self.eval_args_escaping(c);
            let errors_before = self.out.len();
            if !c.args.is_empty() && !c.has_splat() {
                self.out.push(error(
                    Code::In4,
                    c.func.range(),
                    format!(
                        "Graph.__init__() takes 1 positional argument but {} were given. Use Graph(name=\"...\").",
                        c.args.len() + 1
                    ),
                ));
            } else if !c.has_splat() && c.keyword("name").is_none() {
                self.out.push(error(
                    Code::In2,
                    c.func.range(),
                    "1 validation error for Graph\nname\n  Field required [type=missing]. Pass name=\"...\" to Graph(...)."
                        .to_string(),
                ));
            }
            if self.out.len() > errors_before {
                // The constructor raised: there is no graph to draw conclusions about.
                return Val::Unknown;
            }
            self.graphs.push(GraphState::default());
            return Val::Graph(self.graphs.len() - 1);
        }
        let kind = self.class_kind(&cls);
        if !kind.worker {
            self.eval_args_escaping(c);
            if super::tasks::task_call_fails(self.ctx, &self.path, c) {
                self.raised_unseen = true;
            }
            return Val::Unknown;
        }
        // Worker arguments (e.g. a graph handed to a worker) escape.
        self.eval_args_escaping(c);
        // One memoised lookup per instantiation: a builder that wires every worker is
        // re-run whenever any worker changes, and most of its workers have not.
        let key = self.fact_key(Fact::Worker, &cls, Some((&self.path, c)));
        let facts = match memo::lookup::<Arc<WorkerFacts>>(self.ctx, &key) {
            // Diagnostics carry positions, which facts never do: only a clean result is reused.
            Some(facts) if facts.clean => facts,
            _ => {
                let errors_before = self.out.len();
                let outer = self.ctx.begin_query();
                if kind.mro_complete {
                    self.instantiation_checks(&cls, c);
                }
                let spec = InstanceSpec {
                    class: &cls,
                    call: Some((&*self.path, c)),
                };
                let facts = Arc::new(WorkerFacts {
                    clean: self.out.len() == errors_before,
                    consumed: consumed_types(self.ctx, spec),
                    outputs: output_types(self.ctx, spec),
                });
                memo::store(self.ctx, key, outer, &facts);
                if self.out[errors_before..]
                    .iter()
                    .any(|d| d.code.as_str().starts_with("IN"))
                {
                    // The constructor raised: no worker exists, and a graph said to hold it
                    // never runs (independent mistakes elsewhere are still reported).
                    return Val::Unknown;
                }
                facts
            }
        };
        let display = consumed::render(&c.func);
        let v = self.new_worker(Some(cls), Some(c), display);
        if let Val::Worker(w) = v {
            self.workers[w].facts = Some(facts);
        }
        v
    }

    fn subgraph(&mut self, c: &'a CallExpr) -> Val {
        let errors_before = self.out.len();
        let positional = c
            .args
            .iter()
            .filter(|a| !matches!(a, Expr::Starred { .. }))
            .count();
        if positional > 0 {
            self.out.push(error(
                Code::In4,
                c.range,
                format!(
                    "SubGraphWorker() takes 0 positional arguments but {positional} were given. Pass graph=..., \
                     entry_worker=..., exit_worker=..., name=... as keywords."
                ),
            ));
        } else if !c.has_splat() && c.keyword("graph").is_none() {
            self.out.push(error(
                Code::In2,
                c.func.range(),
                "SubGraphWorker() missing 1 required keyword-only argument: 'graph'. Pass graph=<the sub-graph>."
                    .to_string(),
            ));
        }
        let worker_kw = |flow: &mut Self, name: &str| match c.keyword(name).map(|k| &k.value) {
            Some(e) => match flow.eval(e) {
                Val::Worker(w) => (true, Some(w)),
                Val::NoneLit => (false, None),
                _ => (true, None),
            },
            None => (false, None),
        };
        let (entry_given, mut entry) = worker_kw(self, "entry_worker");
        let (exit_given, mut exit) = worker_kw(self, "exit_worker");
        let graph = match c.keyword("graph").map(|k| &k.value) {
            Some(e) => match self.eval(e) {
                Val::Graph(g) => Some(g),
                _ => None,
            },
            None => None,
        };
        // SubGraphWorkerInternal.model_post_init (IN6-IN8), against the sub-graph as built so far.
        let title = match c.keyword("name").map(|k| &k.value) {
            Some(Expr::Str { value, .. }) => value.to_string(),
            Some(_) => String::new(),
            None => "SubGraphWorker".to_string(),
        };
        if let Some(g) = graph.filter(|g| !self.graphs[*g].imprecise && !title.is_empty()) {
            let entries: Vec<usize> = self.graphs[g]
                .edges
                .iter()
                .filter(|(a, _, _)| *a == INITIAL)
                .map(|(_, b, _)| *b)
                .collect();
            if !entry_given {
                if entries.len() == 1 {
                    entry = Some(entries[0]);
                } else {
                    let names: Vec<String> = entries.iter().map(|w| self.display_of(*w)).collect();
                    self.out.push(error(
                        Code::In6,
                        c.func.range(),
                        format!(
                            "1 validation error for {title}\n  Value error, Graph must have exactly one entry worker, \
                             got [{}]. Pass entry_worker=... or call graph.set_entry(...) once on the sub-graph.",
                            names.join(", ")
                        ),
                    ));
                }
            }
            if !exit_given {
                exit = self.graphs[g].exit;
                if exit.is_none() {
                    self.out.push(error(
                        Code::In7,
                        c.func.range(),
                        format!(
                            "1 validation error for {title}\n  Value error, Graph must have a defined exit worker. \
                             Pass exit_worker=... or call graph.set_exit(...) on the sub-graph."
                        ),
                    ));
                }
            }
        }
        if let Some(x) = exit {
            if let OutputTypes::Known(v) = self.outputs(x) {
                if v.len() != 1 && !title.is_empty() {
                    let names: Vec<String> = v.iter().map(|k| self.ctx.class_repr(k)).collect();
                    self.out.push(error(
                        Code::In8,
                        c.func.range(),
                        format!(
                            "1 validation error for {title}\n  Value error, Exit worker must have exactly one output \
                             type, got [{}]. Choose an exit worker with a single output type.",
                            names.join(", ")
                        ),
                    ));
                }
            }
        }
        if let Some(g) = graph {
            // The sub-graph gets an adapter sink on its exit worker and runs inside this one.
            self.graphs[g].imprecise = true;
        }
        for k in &c.keywords {
            if !matches!(
                k.name.as_deref(),
                Some("entry_worker" | "exit_worker" | "graph")
            ) {
                self.eval_escaping(&k.value);
            }
        }
        for a in &c.args {
            self.eval_escaping(a);
        }
        if self.out.len() > errors_before {
            // SubGraphWorker(...) raised: no worker exists.
            return Val::Unknown;
        }
        let internal = builtins::class_by_name("SubGraphWorkerInternal").map(ClassRef::Builtin);
        let v = self.new_worker(internal, Some(c), "SubGraphWorker".into());
        if let Val::Worker(w) = v {
            self.workers[w].subgraph_entry = entry;
        }
        v
    }

    fn consumed(&mut self, w: usize) -> ConsumedTypes {
        if w == INITIAL {
            return ConsumedTypes::Unknown;
        }
        if let Some(facts) = &self.workers[w].facts {
            return facts.consumed.clone();
        }
        if let Some(entry) = self.workers[w].subgraph_entry {
            return self.consumed(entry);
        }
        let Some(class) = self.workers[w].class.clone() else {
            return ConsumedTypes::Unknown;
        };
        let call = self.workers[w].call;
        let path = self.workers[w].path.clone();
        let key = self.fact_key(Fact::Consumed, &class, call.map(|c| (&path, c)));
        memo::memo(self.ctx, key, |ctx| {
            consumed_types(
                ctx,
                InstanceSpec {
                    class: &class,
                    call: call.map(|c| (&*path, c)),
                },
            )
        })
    }

    /// The memo key of a fact about `class` (instantiated at `call`, in its file).
    fn fact_key(
        &self,
        fact: Fact,
        class: &ClassRef,
        call: Option<(&Arc<Path>, &CallExpr)>,
    ) -> FactKey {
        let (call_file, call_text) = match call {
            Some((path, c)) => {
                let text = self
                    .ctx
                    .host_file(path)
                    .and_then(|f| f.text.get(c.range.start()..c.range.end()))
                    .unwrap_or_default();
                (Some(memo::FilePath(path.clone())), memo::text_hash(text))
            }
            None => (None, 0),
        };
        FactKey {
            fact,
            class: class.clone(),
            call_file,
            call_text,
        }
    }

    /// GC5/GC6: the downstream's `consume_work(_joined)` signature cannot be read, reported at
    /// `range` with the signature as related information.
    fn signature_error(
        &self,
        e: &crate::analysis::consumed::ConsumedError,
        range: TextRange,
    ) -> Diagnostic {
        error(
            e.code,
            range,
            format!(
                "{}. Fix the signature, e.g. {}.",
                e.message,
                signature_hint(e.code)
            ),
        )
        .with_related(related(&self.path, &e.path, e.range, "defined here"))
    }

    fn outputs(&mut self, w: usize) -> OutputTypes {
        if w == INITIAL {
            return OutputTypes::Unknown;
        }
        if let Some(facts) = &self.workers[w].facts {
            return facts.outputs.clone();
        }
        let Some(class) = self.workers[w].class.clone() else {
            return OutputTypes::Unknown;
        };
        let call = self.workers[w].call;
        let path = self.workers[w].path.clone();
        let key = self.fact_key(Fact::Outputs, &class, call.map(|c| (&path, c)));
        memo::memo(self.ctx, key, |ctx| {
            output_types(
                ctx,
                InstanceSpec {
                    class: &class,
                    call: call.map(|c| (&*path, c)),
                },
            )
        })
    }

    fn instantiation_checks(&mut self, cls: &ClassRef, c: &'a CallExpr) {
        let name = self.ctx.class_name(cls);
        let range = c.func.range();
        // IN4: pydantic models take keyword arguments only.
        if !c.args.is_empty() && !c.args.iter().any(|a| matches!(a, Expr::Starred { .. })) {
            if let Some(owner) = self.init_owner(cls) {
                self.out.push(error(
                    Code::In4,
                    range,
                    format!(
                        "{owner}.__init__() takes 1 positional argument but {} were given. Pass the arguments \
                         as keywords, e.g. {name}(llm=llm, prompt=...).",
                        c.args.len() + 1
                    ),
                ));
            }
            return;
        }
        // IN3: keyword values pydantic rejects (class-body defaults are not validated).
        if let Some(k) = c.keyword("output_types") {
            if let Expr::List { elts, .. } | Expr::Tuple { elts, .. } = &k.value {
                for (i, e) in elts.iter().enumerate() {
                    let Some(k2) = self.ctx.resolve_class(&self.path, e) else {
                        continue;
                    };
                    if self.ctx.mro(&k2).complete && !self.ctx.derives_from_builtin(&k2, "Task") {
                        self.out.push(error(
                            Code::In3,
                            e.range(),
                            format!(
                                "1 validation error for {name}\noutput_types.{i}\n  Input should be a subclass of Task. \
                                 List task classes in output_types ({} is not a Task).",
                                self.ctx.class_name(&k2)
                            ),
                        ));
                        return;
                    }
                }
            }
        }
        if let Some(k) = c.keyword("join_type") {
            if let Some(j) = self.ctx.resolve_class(&self.path, &k.value) {
                if self.ctx.mro(&j).complete && !self.ctx.derives_from_builtin(&j, "TaskWorker") {
                    self.out.push(error(
                        Code::In3,
                        k.value.range(),
                        format!(
                            "1 validation error for {name}\njoin_type\n  Input should be a subclass of TaskWorker. \
                             join_type names the upstream worker class to join on ({} is not a worker).",
                            self.ctx.class_name(&j)
                        ),
                    ));
                    return;
                }
            }
        }
        // IN1: abstract consume methods.
        for m in ["consume_work", "consume_work_joined"] {
            if let Some(MethodRef::Builtin(b)) = find_method(self.ctx, cls, m) {
                if b.is_abstract {
                    let hint = if m == "consume_work" {
                        "consume_work(self, task: <InputTask>)"
                    } else {
                        "consume_work_joined(self, tasks: List[<InputTask>])"
                    };
                    self.out.push(error(
                        Code::In1,
                        range,
                        format!(
                            "Can't instantiate abstract class {name} without an implementation for abstract method \
                             '{m}'. Implement {hint} in {name}."
                        ),
                    ));
                    return;
                }
            }
        }
        let path = self.path.clone();
        let spec = InstanceSpec {
            class: cls,
            call: Some((&*path, c)),
        };
        // IN2: required fields.
        let dynamic = consumed::dynamic_fields(self.ctx, cls);
        let custom_init = self.has_custom_init(cls);
        if !c.has_splat() && !dynamic.contains("*") && !custom_init {
            let mut missing = Vec::new();
            for field in self.field_names(cls) {
                if dynamic.contains(&field) || c.keyword(&field).is_some() {
                    continue;
                }
                if let FieldValue::Missing = consumed::class_field(self.ctx, cls, &field) {
                    missing.push(field);
                }
            }
            if !missing.is_empty() {
                let lines: Vec<String> = missing
                    .iter()
                    .map(|f| format!("{f}\n  Field required [type=missing]"))
                    .collect();
                let n = missing.len();
                self.out.push(error(
                    Code::In2,
                    range,
                    format!(
                        "{n} validation error{} for {name}\n{}\nPass {} to {name}(...) or give {} a default in the class.",
                        if n == 1 { "" } else { "s" },
                        lines.join("\n"),
                        missing.iter().map(|f| format!("{f}=...")).collect::<Vec<_>>().join(", "),
                        if n == 1 { "it" } else { "them" },
                    ),
                ));
                return;
            }
        }
        // IN5: LLMTaskWorker.__init__.
        if self.ctx.derives_from_builtin(cls, "LLMTaskWorker") {
            let llm_out_none = matches!(
                consumed::field_value(self.ctx, spec, "llm_output_type"),
                FieldValue::Builtin(builtins::BuiltinDefault::None)
                    | FieldValue::Expr(_, Expr::NoneLit { .. })
            );
            if llm_out_none {
                if let OutputTypes::Known(v) = output_types(self.ctx, spec) {
                    if v.len() != 1 {
                        let mut d = error(
                            Code::In5,
                            range,
                            format!(
                                "LLMTask must either have llm_output_type or exactly one output_type ({name} has {}). \
                                 Set llm_output_type to the type the LLM should produce, or list exactly one output type.",
                                v.len()
                            ),
                        );
                        if let Some((p, decl)) =
                            consumed::class_attr_decl(self.ctx, cls, "output_types")
                        {
                            d = d.with_related(related(
                                &self.path,
                                &p,
                                decl.name_range,
                                "output_types is declared here",
                            ));
                        }
                        self.out.push(d);
                    }
                }
            }
            // RT8 for instance-level output types.
            if c.keyword("output_types").is_some() || c.keyword("llm_output_type").is_some() {
                if let Some(d) = super::class_defs::rt8(
                    self.ctx,
                    &self.path.clone(),
                    cls,
                    &name,
                    c.range,
                    Some(spec),
                ) {
                    self.out.push(d);
                }
            }
        }
    }

    /// The class whose `__init__(self, **data)` rejects positional arguments, or `None` when a
    /// user `__init__` with other parameters decides.
    fn init_owner(&mut self, cls: &ClassRef) -> Option<String> {
        let mro = self.ctx.mro(cls);
        for k in &mro.classes {
            match k {
                ClassRef::User(..) => {
                    let (_, cs) = self.ctx.user_class(k)?;
                    if let Some(init) = cs.method("__init__") {
                        let p = init.bound_params();
                        let data_only = p.len() == 1
                            && p[0].kind == super::super::summary::ParamKind::VarKeyword;
                        return data_only.then(|| cs.name.to_string());
                    }
                    if cs.method("__new__").is_some() {
                        return None;
                    }
                }
                ClassRef::Builtin(id) => {
                    let b = builtins::class(*id);
                    if matches!(
                        b.name,
                        "TaskWorker" | "CachedTaskWorker" | "LLMTaskWorker" | "MergedTaskWorker"
                    ) {
                        return Some(b.name.to_string());
                    }
                }
            }
        }
        None
    }

    /// A user `__init__` with explicit parameters (not just `**data`) changes what the
    /// constructor accepts; IN2 stays silent then.
    fn has_custom_init(&mut self, cls: &ClassRef) -> bool {
        let mro = self.ctx.mro(cls);
        mro.classes.iter().any(|k| {
            self.ctx.user_class(k).is_some_and(|(_, cs)| {
                cs.methods.iter().any(|m| {
                    (m.name == "__init__" || m.name == "__new__")
                        && !(m.bound_params().len() == 1
                            && m.bound_params()[0].kind
                                == super::super::summary::ParamKind::VarKeyword)
                })
            })
        })
    }

    fn field_names(&mut self, cls: &ClassRef) -> Vec<String> {
        let mro = self.ctx.mro(cls);
        let mut out: Vec<String> = Vec::new();
        for k in mro.classes.iter().rev() {
            match k {
                ClassRef::Builtin(id) => {
                    for f in builtins::class(*id).fields {
                        if !out.iter().any(|x| x == f.name) {
                            out.push(f.name.to_string());
                        }
                    }
                }
                ClassRef::User(..) => {
                    if let Some((_, cs)) = self.ctx.user_class(k) {
                        for a in &cs.attrs {
                            let is_field = a.annotation.as_ref().is_some_and(|t| {
                                !matches!(t.dotted().as_deref().and_then(|d| d.last().copied()), Some("ClassVar"))
                                    && !matches!(t, Expr::Subscript { value, .. } if value.dotted().and_then(|d| d.last().copied()) == Some("ClassVar"))
                            });
                            if is_field
                                && !a.name.starts_with('_')
                                && !out.iter().any(|o| *o == a.name)
                            {
                                out.push(a.name.to_string());
                            }
                        }
                    }
                }
            }
        }
        out
    }

    // ----- graph methods -------------------------------------------------------------------

    fn touch(&mut self, g: usize) -> bool {
        let precise = !self.graphs[g].imprecise;
        if self.cond_depth > 0 {
            self.graphs[g].imprecise = true;
        }
        precise
    }

    fn graph_method(&mut self, g: usize, name: &str, c: &'a CallExpr) -> Val {
        match name {
            "add_worker" | "add_workers" => {
                let precise = self.touch(g);
                for a in &c.args {
                    let v = self.eval(a);
                    if let Some(w) = self.worker_arg(g, a, v) {
                        self.add_worker(g, w, a.range(), precise);
                    }
                }
                for k in &c.keywords {
                    self.eval_escaping(&k.value);
                    self.graphs[g].imprecise = true;
                }
                Val::Graph(g)
            }
            "set_dependency" => {
                let precise = self.touch(g);
                let (Some(u), Some(d)) = (c.arg(0, "upstream"), c.arg(1, "downstream")) else {
                    self.eval_args_escaping(c);
                    self.graphs[g].imprecise = true;
                    return Val::Unknown;
                };
                let (uv, dv) = (self.eval(u), self.eval(d));
                let uw = self.worker_arg(g, u, uv);
                let dw = self.worker_arg(g, d, dv);
                match (uw, dw) {
                    (Some(uw), Some(dw)) => {
                        self.dependency(g, uw, dw, narrow(c), precise);
                        Val::Worker(dw)
                    }
                    _ => {
                        for w in [uw, dw].into_iter().flatten() {
                            self.workers[w].escaped = true;
                        }
                        self.graphs[g].imprecise = true;
                        Val::Unknown
                    }
                }
            }
            "set_entry" => {
                let precise = self.touch(g);
                for a in &c.args {
                    match self.eval(a) {
                        Val::Worker(w) => self.entry(g, w, a.range(), precise),
                        other => {
                            self.escape(&other);
                            self.graphs[g].imprecise = true;
                        }
                    }
                }
                Val::Graph(g)
            }
            "set_sink" => {
                let precise = self.touch(g);
                let w = c.arg(0, "worker").map(|e| self.eval(e));
                let t = c.arg(1, "output_type");
                for k in &c.keywords {
                    if k.name.as_deref() == Some("notify") {
                        self.eval_escaping(&k.value);
                    }
                }
                match (w, t) {
                    (Some(Val::Worker(w)), Some(t)) => self.sink(g, w, t, narrow(c), precise),
                    (w, _) => {
                        if let Some(w) = w {
                            self.escape(&w);
                        }
                        self.graphs[g].imprecise = true;
                    }
                }
                Val::NoneLit
            }
            "set_exit" => {
                let precise = self.touch(g);
                match c.arg(0, "worker").map(|a| (a.range(), self.eval(a))) {
                    Some((range, Val::Worker(w))) if precise && !self.is_added(g, w) => {
                        let wn = self.display_of(w);
                        self.out.push(error(
                            Code::Gc13,
                            range,
                            format!(
                                "Worker {wn} must be added to the Graph before setting it as an exit worker. \
                                 Add {wn} to the graph first."
                            ),
                        ));
                    }
                    Some((_, Val::Worker(w))) => self.graphs[g].exit = Some(w),
                    Some((_, v)) => {
                        self.escape(&v);
                        self.graphs[g].imprecise = true;
                    }
                    None => self.graphs[g].imprecise = true,
                }
                Val::NoneLit
            }
            "set_max_parallel_tasks" => {
                self.max_parallel(c);
                Val::NoneLit
            }
            "run" | "execute" => {
                let precise = self.touch(g);
                let initial = c.arg(0, "initial_tasks");
                for k in &c.keywords {
                    if k.name.as_deref() != Some("initial_tasks") {
                        self.eval_escaping(&k.value);
                    }
                }
                if let Some(initial) = initial {
                    self.run(g, initial, precise);
                }
                Val::NoneLit
            }
            "prepare"
            | "get_output_tasks"
            | "get_worker_by_input_type"
            | "get_worker_by_output_type"
            | "print"
            | "get_dispatcher"
            | "shutdown"
            | "abort_work"
            | "add_work"
            | "set_user_request_callback"
            | "get_entry_workers"
            | "get_exit_worker"
            | "finalize"
            | "validate_graph"
            | "compute_worker_distances" => {
                self.eval_args_escaping(c);
                if name == "get_entry_workers" || name == "get_exit_worker" {
                    self.graphs[g].imprecise = true;
                }
                Val::Unknown
            }
            _ => {
                self.eval_args_escaping(c);
                self.graphs[g].imprecise = true;
                Val::Unknown
            }
        }
    }

    fn worker_method(&mut self, w: usize, name: &str, c: &'a CallExpr) -> Val {
        match name {
            "next" | "sink" => {
                let arg = c.arg(
                    0,
                    if name == "next" {
                        "downstream"
                    } else {
                        "output_type"
                    },
                );
                let graph = self.workers[w].graph;
                let Some(g) = graph else {
                    let all_precise = self.graphs.iter().all(|g| !g.imprecise);
                    if !self.workers[w].escaped && all_precise && self.cond_depth == 0 {
                        let msg = if name == "next" {
                            "Task must be added to a Graph before setting dependencies"
                        } else {
                            "Task must be added to a Graph before setting a sink dependency"
                        };
                        let range = c.func.attr_range().unwrap_or_else(|| c.func.range());
                        self.out.push(error(
                            Code::Gc4,
                            range,
                            format!(
                                "{msg}. Add {} to the graph (graph.add_worker(...)) before calling .{name}().",
                                self.display_of(w)
                            ),
                        ));
                    }
                    self.eval_args_escaping(c);
                    return Val::Unknown;
                };
                let precise = self.touch(g);
                if name == "next" {
                    let Some(arg) = arg else {
                        self.eval_args_escaping(c);
                        self.graphs[g].imprecise = true;
                        return Val::Unknown;
                    };
                    let dv = self.eval(arg);
                    match self.worker_arg(g, arg, dv) {
                        Some(d) => {
                            self.dependency(g, w, d, narrow(c), precise);
                            Val::Worker(d)
                        }
                        None => Val::Unknown,
                    }
                } else {
                    for k in &c.keywords {
                        if k.name.as_deref() == Some("notify") {
                            self.eval_escaping(&k.value);
                        }
                    }
                    match arg {
                        Some(t) => self.sink(g, w, t, narrow(c), precise),
                        None => self.graphs[g].imprecise = true,
                    }
                    Val::NoneLit
                }
            }
            _ => {
                self.eval_args_escaping(c);
                Val::Unknown
            }
        }
    }

    fn add_worker(&mut self, g: usize, w: usize, range: TextRange, precise: bool) {
        if self.graphs[g].add_sites.contains_key(&w) {
            if precise {
                let mut d = error(
                    Code::Gc1,
                    range,
                    format!(
                        "Task {} already exists in the Graph. A worker instance can be added once; remove this \
                         add_worker call.",
                        self.display_of(w)
                    ),
                );
                if let Some(first) = self.graphs[g].add_sites.get(&w) {
                    d = d.with_related(related(&self.path, &self.path, *first, "first added here"));
                }
                self.out.push(d);
            }
            return;
        }
        self.graphs[g].workers.push(w);
        // Ranges are reported in this flow's file: a worker added by a factory from another
        // module is "added" at the call of that factory.
        let range = self.call_site.unwrap_or(range);
        self.graphs[g].add_sites.insert(w, range);
        self.workers[w].graph = Some(g);
    }

    fn is_added(&self, g: usize, w: usize) -> bool {
        w == INITIAL || self.graphs[g].add_sites.contains_key(&w)
    }

    fn dependency(&mut self, g: usize, u: usize, d: usize, range: TextRange, precise: bool) {
        let opaque = self.is_opaque(u) || self.is_opaque(d);
        if !opaque && (!self.is_added(g, u) || !self.is_added(g, d)) {
            if precise {
                self.out.push(error(
                    Code::Gc2,
                    range,
                    format!(
                        "Both workers (upstream: {}) (downstream: {}) must be added to the Graph before setting \
                         dependencies. Call graph.add_workers(...) with {} first.",
                        self.display_of(u),
                        self.display_of(d),
                        [u, d]
                            .iter()
                            .filter(|w| !self.is_added(g, **w))
                            .map(|w| self.display_of(*w))
                            .collect::<Vec<_>>()
                            .join(" and ")
                    ),
                ));
            }
            self.graphs[g].imprecise = true;
            return;
        }
        if !self.graphs[g].edge_set.insert((u, d)) {
            return;
        }
        self.graphs[g].edges.push((u, d, None));
        let edge_index = self.graphs[g].edges.len() - 1;
        let errors_before = self.out.len();
        let consumed = self.consumed(d);
        let mut task_type = None;
        match consumed {
            ConsumedTypes::Error(e) => {
                let diagnostic = self.signature_error(&e, range);
                self.out.push(diagnostic);
            }
            ConsumedTypes::Known(ct) => {
                if let OutputTypes::Known(ot) = self.outputs(u) {
                    let inter: Vec<ClassRef> = ot
                        .iter()
                        .filter(|o| ct.contains(&TypeKey::Class((*o).clone())))
                        .cloned()
                        .collect();
                    let (un, dn) = (self.display_of(u), self.display_of(d));
                    if inter.is_empty() {
                        let produces: Vec<String> =
                            ot.iter().map(|c| self.ctx.class_name(c)).collect();
                        let consumes: Vec<String> =
                            ct.iter().map(|t| t.display(self.ctx)).collect();
                        let mut diag = error(
                            Code::Gc7,
                            range,
                            format!(
                                "Worker {un} does not produce any task types that worker {dn} can consume. {un} \
                                 produces [{}] and {dn} consumes [{}] (exact classes; subclasses and unions do not \
                                 match): change {dn}'s input type or add it to {un}'s output_types.",
                                produces.join(", "),
                                consumes.join(", ")
                            ),
                        );
                        diag = self.with_edge_related(diag, u, d);
                        self.out.push(diag);
                    } else if inter.len() > 1 {
                        let diag = error(
                            Code::Gc8,
                            range,
                            format!(
                                "Worker {un} produces multiple task types that worker {dn} can consume. Please \
                                 specify the task type. Both [{}] match; a worker can receive only one type per edge.",
                                inter.iter().map(|c| self.ctx.class_name(c)).collect::<Vec<_>>().join(", ")
                            ),
                        );
                        let diag = self.with_edge_related(diag, u, d);
                        self.out.push(diag);
                    } else {
                        task_type = Some(inter[0].clone());
                        self.graphs[g].edges[edge_index].2 = task_type.clone();
                        self.join_check(g, d, range);
                    }
                }
            }
            ConsumedTypes::Unknown => {}
        }
        if self.out.len() > errors_before {
            // PlanAI raised here: nothing after this line runs, so later negative facts
            // (missing consumers, ...) would be noise.
            self.graphs[g].imprecise = true;
        }
        if !self.collect_edges {
            return;
        }
        let upstream = self.display_of(u);
        let downstream = self.display_of(d);
        let tt = task_type.as_ref().map(|c| self.ctx.class_name(c));
        self.edges.push(GraphEdge {
            scope: self.scope.clone(),
            upstream,
            downstream,
            task_type: tt,
            range,
        });
    }

    fn with_edge_related(&mut self, mut diag: Diagnostic, u: usize, d: usize) -> Diagnostic {
        if let Some(cls) = self.workers.get(u).and_then(|w| w.class.clone()) {
            if let Some((p, decl)) = consumed::class_attr_decl(self.ctx, &cls, "output_types") {
                let msg = format!("{}'s output_types", self.display_of(u));
                diag = diag.with_related(related(&self.path, &p, decl.name_range, msg));
            }
        }
        if let Some(cls) = self.workers.get(d).and_then(|w| w.class.clone()) {
            let llm_input = consumed::class_attr_decl(self.ctx, &cls, "llm_input_type");
            if let Some((p, decl)) = llm_input {
                let msg = format!("{}'s llm_input_type", self.display_of(d));
                diag = diag.with_related(related(&self.path, &p, decl.name_range, msg));
            } else {
                for m in ["consume_work_joined", "consume_work"] {
                    if let Some(MethodRef::User(p, f)) = find_method(self.ctx, &cls, m) {
                        let msg = format!("{}'s {m}", self.display_of(d));
                        diag = diag.with_related(related(&self.path, &p, f.name_range, msg));
                        break;
                    }
                }
            }
        }
        diag
    }

    /// GC9: `JoinedTaskWorker._validate_connection`, against the edges that exist now.
    fn join_check(&mut self, g: usize, d: usize, range: TextRange) {
        let Some(cls) = self.workers[d].class.clone() else {
            return;
        };
        if !self.class_kind(&cls).joined {
            return;
        }
        let call = self.workers[d].call;
        let path = self.workers[d].path.clone();
        let from_kwarg = call.is_some_and(|c| c.keyword("join_type").is_some());
        let jt = match consumed::field_value(
            self.ctx,
            InstanceSpec {
                class: &cls,
                call: call.map(|c| (&*path, c)),
            },
            "join_type",
        ) {
            FieldValue::Expr(p, e) => match self.ctx.resolve_class(&p, &e) {
                Some(j) => j,
                None => return,
            },
            _ => return,
        };
        let dn = self.display_of(d);
        if !self.ctx.mro(&jt).complete {
            return;
        }
        if !self.ctx.derives_from_builtin(&jt, "TaskWorker") {
            if !from_kwarg {
                let repr = self.ctx.class_repr(&jt);
                self.out.push(error(
                    Code::Gc9,
                    range,
                    format!("join_type must be a subclass of TaskWorker, got {repr}. Set join_type to a worker class upstream of {dn} (or InitialTaskWorker)."),
                ));
            }
            return;
        }
        if jt
            == ClassRef::Builtin(builtins::class_by_name("InitialTaskWorker").unwrap_or(usize::MAX))
        {
            return;
        }
        if self.graphs[g].imprecise {
            return;
        }
        // DFS over the upstream edges, exactly as PlanAI does.
        let mut visited: Vec<usize> = Vec::new();
        let mut unknown = false;
        let found = self.dfs(g, d, &jt, &mut visited, &mut unknown);
        if unknown {
            return;
        }
        let jn = self.ctx.class_name(&jt);
        if !found {
            self.out.push(error(
                Code::Gc9,
                range,
                format!(
                    "{jn} is not found in the upstream path of {dn}. Connect the {jn} worker upstream of {dn} before \
                     this edge (PlanAI checks the edges that exist when the edge into the joiner is added)."
                ),
            ));
        } else if visited.len() <= 1 {
            let repr = self.ctx.class_repr(&jt);
            self.out.push(error(
                Code::Gc9,
                range,
                format!(
                    "Joining on the immediate upstream worker {repr} in {dn} will never yield more than one result. \
                     Join on a worker further upstream (or InitialTaskWorker)."
                ),
            ));
        }
    }

    fn dfs(
        &mut self,
        g: usize,
        w: usize,
        target: &ClassRef,
        visited: &mut Vec<usize>,
        unknown: &mut bool,
    ) -> bool {
        let is_instance = if w == INITIAL {
            false
        } else {
            match self.workers[w].class.clone() {
                Some(c) if self.ctx.mro(&c).complete => self.ctx.is_subclass(&c, target),
                _ => {
                    *unknown = true;
                    false
                }
            }
        };
        if is_instance {
            return true;
        }
        visited.push(w);
        let ups: Vec<usize> = self.graphs[g]
            .edges
            .iter()
            .filter(|(_, b, _)| *b == w)
            .map(|(a, _, _)| *a)
            .collect();
        for u in ups {
            if !visited.contains(&u) && self.dfs(g, u, target, visited, unknown) {
                return true;
            }
        }
        false
    }

    fn entry(&mut self, g: usize, w: usize, range: TextRange, precise: bool) {
        if !self.is_added(g, w) {
            if precise {
                self.out.push(error(
                    Code::Gc3,
                    range,
                    format!(
                        "Both workers (upstream: InitialTaskWorker) (downstream: {}) must be added to the Graph before \
                         setting dependencies. Add {} to the graph before making it an entry.",
                        self.display_of(w),
                        self.display_of(w)
                    ),
                ));
            }
            self.graphs[g].imprecise = true;
            return;
        }
        if self.graphs[g].edge_set.insert((INITIAL, w)) {
            self.graphs[g].edges.push((INITIAL, w, None));
        }
    }

    fn sink(&mut self, g: usize, w: usize, t: &'a Expr, range: TextRange, precise: bool) {
        let Val::Class(tc) = self.eval(t) else {
            self.graphs[g].imprecise = true;
            return;
        };
        if let OutputTypes::Known(ot) = self.outputs(w) {
            if !ot.contains(&tc) {
                let mut d = error(
                    Code::Gc11,
                    range,
                    format!(
                        "Worker {} does not have output type {} to use for a sink. Add it to the worker's \
                         output_types or sink one of [{}].",
                        self.display_of(w),
                        self.ctx.class_name(&tc),
                        ot.iter().map(|c| self.ctx.class_name(c)).collect::<Vec<_>>().join(", ")
                    ),
                );
                d = self.with_edge_related(d, w, usize::MAX - 1);
                self.out.push(d);
                self.graphs[g].imprecise = true;
                return;
            }
        }
        if !self.is_added(g, w) {
            if precise {
                self.out.push(error(
                    Code::Gc2,
                    range,
                    format!(
                        "Both workers (upstream: {}) (downstream: SinkWorker) must be added to the Graph before \
                         setting dependencies. Add {} to the graph before setting its sink.",
                        self.display_of(w),
                        self.display_of(w)
                    ),
                ));
            }
            self.graphs[g].imprecise = true;
            return;
        }
        self.graphs[g].sinks.push((w, tc.clone()));
        if !self.collect_edges {
            return;
        }
        let upstream = self.display_of(w);
        let tt = self.ctx.class_name(&tc);
        self.edges.push(GraphEdge {
            scope: self.scope.clone(),
            upstream,
            downstream: "SinkWorker".into(),
            task_type: Some(tt),
            range,
        });
    }

    fn max_parallel(&mut self, c: &'a CallExpr) {
        let cls = c.arg(0, "worker_class").map(|e| (e.range(), self.eval(e)));
        let n = c.arg(1, "max_parallel_tasks");
        match cls {
            Some((range, Val::Class(k)))
                if self.ctx.mro(&k).complete
                    && !self.ctx.derives_from_builtin(&k, "TaskWorker") =>
            {
                self.out.push(error(
                    Code::Gc12,
                    range,
                    format!(
                        "{} is not a subclass of TaskWorker. Pass a worker class (e.g. LLMTaskWorker).",
                        self.ctx.class_name(&k)
                    ),
                ));
                return;
            }
            Some((range, Val::Worker(_))) => {
                self.out.push(error(
                    Code::Gc12,
                    range,
                    "issubclass() arg 1 must be a class. set_max_parallel_tasks takes a worker class, not a worker \
                     instance: pass type(worker) or the class name."
                        .to_string(),
                ));
                return;
            }
            _ => {}
        }
        if let Some(Expr::Int { value, range }) = n {
            if *value <= 0 {
                self.out.push(error(
                    Code::Gc12,
                    *range,
                    "max_parallel_tasks must be greater than 0.".to_string(),
                ));
            }
        }
    }

    /// `run`/`execute`: entries (GC3), initial task types (EX1), then consumers (RT3/RT4).
    fn run(&mut self, g: usize, initial: &'a Expr, precise: bool) {
        let pairs: Vec<&'a Expr> = match initial {
            Expr::List { elts, .. } | Expr::Tuple { elts, .. } => elts.iter().collect(),
            Expr::Comprehension { elt, .. } => vec![&**elt],
            other => {
                self.eval_escaping(other);
                self.graphs[g].imprecise = true;
                return;
            }
        };
        let is_comprehension = matches!(initial, Expr::Comprehension { .. });
        for p in pairs {
            let Expr::Tuple { elts, .. } = p else {
                self.eval_escaping(p);
                self.graphs[g].imprecise = true;
                continue;
            };
            if elts.len() != 2 {
                self.graphs[g].imprecise = true;
                continue;
            }
            let Val::Worker(w) = self.eval(&elts[0]) else {
                self.graphs[g].imprecise = true;
                continue;
            };
            self.entry(g, w, elts[0].range(), precise);
            if !self.is_added(g, w) {
                return;
            }
            // The task: a constructor call of a Task class.
            let task_cls = match &elts[1] {
                Expr::Call(tc)
                    if !is_comprehension
                        || tc
                            .func
                            .dotted()
                            .is_some_and(|d| !self.locals.contains(d[0])) =>
                {
                    self.eval_args_escaping(tc);
                    match self.eval(&tc.func) {
                        Val::Class(k) if self.ctx.derives_from_builtin(&k, "Task") => {
                            if super::tasks::task_call_fails(self.ctx, &self.path, tc) {
                                self.raised_unseen = true;
                            }
                            Some(k)
                        }
                        _ => None,
                    }
                }
                other => {
                    self.eval_escaping(other);
                    None
                }
            };
            match self.consumed(w) {
                ConsumedTypes::Error(e) => {
                    let diagnostic = self.signature_error(&e, elts[0].range());
                    self.out.push(diagnostic);
                }
                ConsumedTypes::Known(ct) => {
                    if let Some(t) = task_cls {
                        if !ct.contains(&TypeKey::Class(t.clone())) {
                            let names: Vec<String> = ct
                                .iter()
                                .map(|x| format!("'{}'", x.display(self.ctx)))
                                .collect();
                            let mut d = error(
                                Code::Ex1,
                                elts[1].range(),
                                format!(
                                    "TaskWorker {} cannot consume tasks of type {}. It can only consume tasks of type [{}]. \
                                     Start the graph with one of those types (exact class, not a subclass).",
                                    self.display_of(w),
                                    self.ctx.class_name(&t),
                                    names.join(", ")
                                ),
                            );
                            d = self.with_edge_related(d, usize::MAX - 1, w);
                            self.out.push(d);
                        }
                    }
                }
                ConsumedTypes::Unknown => {}
            }
        }
        // When PlanAI raised earlier in this flow, the graph never runs: checking what it would
        // do at run time would only repeat that mistake.
        let raised = self.raised_unseen || self.out[self.out_start..].iter().any(raises);
        if precise && !self.graphs[g].imprecise && !raised {
            self.merged_checks(g);
            self.consumer_checks(g);
        }
    }

    /// EX2: `MergedTaskWorker._validate_post_register` at `execute`: every merged type must
    /// be an output type of some direct upstream worker.
    fn merged_checks(&mut self, g: usize) {
        let workers = self.graphs[g].workers.clone();
        for w in workers {
            let Some(cls) = self.workers[w].class.clone() else {
                continue;
            };
            let kind = self.class_kind(&cls);
            if !kind.mro_complete || !kind.merged {
                continue;
            }
            let call = self.workers[w].call;
            let path = self.workers[w].path.clone();
            let spec = InstanceSpec {
                class: &cls,
                call: call.map(|c| (&*path, c)),
            };
            let merged = match consumed::field_value(self.ctx, spec, "merged_types") {
                FieldValue::Expr(p, e) => match consumed::eval_class_list(self.ctx, &p, &e) {
                    Some(v) => v,
                    None => continue,
                },
                _ => continue,
            };
            let ups: Vec<usize> = self.graphs[g]
                .edges
                .iter()
                .filter(|(a, b, _)| *b == w && *a != INITIAL)
                .map(|(a, _, _)| *a)
                .collect();
            let mut produced = Vec::new();
            let mut unknown = false;
            for u in ups {
                match self.outputs(u) {
                    OutputTypes::Known(v) => produced.extend(v),
                    OutputTypes::Unknown => unknown = true,
                }
            }
            if unknown {
                continue;
            }
            if let Some(missing) = merged.iter().find(|t| !produced.contains(t)) {
                let tn = self.ctx.class_name(missing);
                let range = self.graphs[g]
                    .add_sites
                    .get(&w)
                    .copied()
                    .unwrap_or_default();
                self.out.push(error(
                    Code::Ex2,
                    range,
                    format!(
                        "{tn} is not being produced by any upstream worker. {} merges [{}] but no worker connected \
                         directly upstream lists {tn} in its output_types.",
                        self.display_of(w),
                        merged.iter().map(|c| self.ctx.class_name(c)).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
    }

    /// RT3/RT4 for every reachable worker whose published types are known.
    fn consumer_checks(&mut self, g: usize) {
        let workers = self.graphs[g].workers.clone();
        // One pass over the edges, not one per worker: a builder may wire hundreds.
        let mut reachable: FxSet<usize> = FxSet::default();
        let mut untyped: FxSet<usize> = FxSet::default();
        let mut consumers: FxMap<(usize, &ClassRef), usize> = FxMap::default();
        let graph = &self.graphs[g];
        for (a, b, t) in &graph.edges {
            reachable.insert(*b);
            match t {
                Some(t) => *consumers.entry((*a, t)).or_default() += 1,
                None => {
                    untyped.insert(*a);
                }
            }
        }
        for (a, t) in &graph.sinks {
            *consumers.entry((*a, t)).or_default() += 1;
        }
        let consumers: FxMap<(usize, ClassRef), usize> = consumers
            .into_iter()
            .map(|((a, t), n)| ((a, t.clone()), n))
            .collect();
        for w in workers {
            if !reachable.contains(&w)
                || self.workers[w].escaped
                || self.workers[w].subgraph_entry.is_some()
            {
                continue;
            }
            // An edge whose type is unknown may consume anything.
            if untyped.contains(&w) {
                continue;
            }
            let Some(cls) = self.workers[w].class.clone() else {
                continue;
            };
            if !self.class_kind(&cls).mro_complete {
                continue;
            }
            let OutputTypes::Known(outs) = self.outputs(w) else {
                continue;
            };
            let Some(published) = self.published_types(w, &cls) else {
                continue;
            };
            for (t, site, with_consumer) in published {
                if !outs.contains(&t) {
                    continue;
                }
                let consumers = consumers.get(&(w, t.clone())).copied().unwrap_or(0);
                if consumers == 1 || (consumers > 1 && with_consumer) {
                    continue;
                }
                let tn = self.ctx.class_name(&t);
                let wn = self.display_of(w);
                let add_site = self.graphs[g]
                    .add_sites
                    .get(&w)
                    .copied()
                    .unwrap_or_default();
                // On the publish_work call when it is in this file, else where the worker is added.
                let range = match &site {
                    Some((p, r)) if **p == *self.path => *r,
                    _ => add_site,
                };
                let diag = if consumers == 0 {
                    Some(error(
                        Code::Rt3,
                        range,
                        format!(
                            "No consumer registered for {tn}: {wn} publishes {tn} but nothing in this graph consumes it. \
                             Connect a worker that consumes {tn}, or collect it with graph.set_sink(<the {wn} worker>, {tn})."
                        ),
                    ))
                } else if consumers > 1 && !with_consumer {
                    Some(error(
                        Code::Rt4,
                        range,
                        format!(
                            "Multiple consumers registered for {tn}, specify worker_name. {wn} publishes {tn} to {consumers} \
                             consumers without consumer=...; pass consumer=<worker> to publish_work or keep one consumer."
                        ),
                    ))
                } else {
                    None
                };
                if let Some(mut d) = diag {
                    match site {
                        Some((p, r)) if *p != *self.path => {
                            d = d.with_related(related(
                                &self.path,
                                &p,
                                r,
                                format!("{tn} is published here"),
                            ));
                        }
                        Some(_) => {
                            d = d.with_related(related(
                                &self.path,
                                &self.path,
                                add_site,
                                format!("{wn} is added to the graph here"),
                            ));
                        }
                        None => {}
                    }
                    self.out.push(d);
                }
            }
        }
    }

    /// The task types a worker publishes, with where and whether `consumer=` is passed.
    /// `None` when some publish site has an unknown type.
    #[allow(clippy::type_complexity)]
    fn published_types(
        &mut self,
        w: usize,
        cls: &ClassRef,
    ) -> Option<Vec<(ClassRef, Option<(Arc<Path>, TextRange)>, bool)>> {
        let call = self.workers[w].call;
        let path = self.workers[w].path.clone();
        let key = self.fact_key(Fact::Published, cls, call.map(|c| (&path, c)));
        let kind = self.class_kind(cls);
        let published = memo::memo(self.ctx, key, |ctx| {
            let spec = InstanceSpec {
                class: cls,
                call: call.map(|c| (&*path, c)),
            };
            published_in_classes(ctx, spec, kind)
        })?;
        // Sites are kept relative to their class (memoised facts hold no positions).
        let mut out = Vec::with_capacity(published.len());
        for (t, site, with_consumer) in published {
            let site = match site {
                Some((p, class_index, relative)) => {
                    let start = self
                        .ctx
                        .summary(&p)?
                        .classes
                        .get(class_index)?
                        .range
                        .start();
                    Some((p, relative.map(|o| o + start)))
                }
                None => None,
            };
            out.push((t, site, with_consumer));
        }
        Some(out)
    }

    /// What the graph checks ask of a class again and again, memoised per class.
    fn class_kind(&mut self, cls: &ClassRef) -> ClassKind {
        let key = self.fact_key(Fact::ClassKind, cls, None);
        memo::memo(self.ctx, key, |ctx| ClassKind {
            mro_complete: ctx.mro(cls).complete,
            worker: ctx.derives_from_builtin(cls, "TaskWorker"),
            joined: ctx.derives_from_builtin(cls, "JoinedTaskWorker"),
            merged: ctx.derives_from_builtin(cls, "MergedTaskWorker"),
            llm: ctx.derives_from_builtin(cls, "LLMTaskWorker"),
            base_llm: ctx.derives_from_builtin(cls, "BaseLLMTaskWorker"),
        })
    }
}

/// Where a class derives from, for the graph checks.
#[derive(Debug, Clone, Copy)]
struct ClassKind {
    mro_complete: bool,
    worker: bool,
    joined: bool,
    merged: bool,
    llm: bool,
    base_llm: bool,
}

/// A published task type, where it is published (file, index of the class whose method
/// publishes it, range relative to that class's start) and whether `consumer=` is passed.
type RelativePublish = (ClassRef, Option<(Arc<Path>, usize, TextRange)>, bool);

/// The task types the worker instance `spec` publishes (see `Flow::published_types`).
fn published_in_classes(
    ctx: &mut Ctx,
    spec: InstanceSpec,
    kind: ClassKind,
) -> Option<Vec<RelativePublish>> {
    let cls = spec.class;
    let mut out = Vec::new();
    let mro = ctx.mro(cls);
    let mut overrides_llm_flow = false;
    for k in &mro.classes {
        let Some((p, cs)) = ctx.user_class(k) else {
            continue;
        };
        let p = p.clone();
        let ClassRef::User(_, class_index) = k else {
            continue;
        };
        let class_start = cs.range.start();
        if cs.method("post_process").is_some()
            || cs.method("consume_work").is_some()
            || cs.method("_invoke_llm").is_some()
        {
            overrides_llm_flow = true;
        }
        for m in &cs.methods {
            let locals = LocalTypes::new(m);
            let mut calls: Vec<&CallExpr> = Vec::new();
            walk_exprs(&m.body, &mut |e| {
                e.for_each_call(&mut |c| {
                    if matches!(&c.func, Expr::Attribute { value, attr, .. } if attr == "publish_work" && value.as_name() == Some("self")) {
                        calls.push(c);
                    }
                })
            });
            for c in calls {
                let arg = c.arg(0, "task")?;
                let t = infer_task_type(ctx, &p, &locals, arg, 0)?;
                out.push((
                    t,
                    Some((p.clone(), *class_index, c.range.map(|o| o - class_start))),
                    c.keyword("consumer").is_some() || c.args.len() > 2,
                ));
            }
        }
        // Nested functions (thread targets, helpers) may publish anything.
        let mut nested = false;
        for m in &cs.methods {
            walk_stmts(&m.body, &mut |s| {
                if matches!(s, Stmt::LocalFunction(_)) {
                    nested = true;
                }
            });
        }
        if nested {
            return None;
        }
    }
    if kind.llm && !overrides_llm_flow {
        let t = match consumed::field_value(ctx, spec, "llm_output_type") {
            FieldValue::Expr(p, e) if !matches!(e, Expr::NoneLit { .. }) => {
                ctx.resolve_class(&p, &e)?
            }
            FieldValue::Expr(..) | FieldValue::Builtin(builtins::BuiltinDefault::None) => {
                match output_types(ctx, spec) {
                    OutputTypes::Known(v) if !v.is_empty() => v[0].clone(),
                    _ => return None,
                }
            }
            _ => return None,
        };
        out.push((t, None, false));
    } else if kind.base_llm && !overrides_llm_flow {
        // ChatTaskWorker and other LLM bases publish from PlanAI code we do not model.
        return None;
    }
    Some(out)
}

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
