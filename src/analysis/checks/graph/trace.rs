//! A scope's interpretation kept as the operations it made on its workers and graphs (its
//! *trace*), and the replay of those operations with the worker facts of now.
//!
//! Interpreting a graph builder is mostly evaluation: statements, names resolved through
//! imports, classes' kinds, the values bound to variables. What the worker classes say
//! (consumed, output and published types) enters only through the operations on workers and
//! graphs: an edge checked, a sink set, a run's consumers counted. So when an edit changes
//! only such facts (a worker's `output_types`, its `consume_work` signature), the builder's
//! evaluation is what it was; replaying its operations re-checks every edge, sink and run
//! with the new facts, in the original order, without evaluating anything. A new error on
//! one edge still makes its graph imprecise and still silences the run's checks after it:
//! that state is the operations' own, computed again.
//!
//! A trace is recorded only where a replay can reproduce the run exactly: a diagnostics pass
//! (not the graph view) of a file whose worker facts are memoised, with no factory inlined
//! from another file, no `SubGraphWorker`, and every worker instantiated without a
//! diagnostic. A replay gives up (and the unit is interpreted again) when a worker's facts
//! are not memoised any more, its instantiation would now report something, or a position
//! cannot be moved through the edits since.
//!
//! Architecture Invariant: a replayed unit's diagnostics equal a fresh interpretation's (the
//! random-edit tests of `incremental` pin this with replays enabled).

use super::*;
use crate::text::Edit;
use std::any::Any;

/// Whether a check that reports only on precise graphs may report: the value `touch` gave,
/// and where that `Touch` is in the trace, counted back from the operation that uses it
/// (`touch` hands out its absolute index; `Flow::op` turns it into the distance, which a
/// replayed or captured slice of the trace keeps).
#[derive(Clone, Copy, Debug)]
pub(super) struct Precise {
    pub(super) value: bool,
    back: u32,
}

/// One operation of the interpreter on the state of its workers and graphs (see the module
/// doc). Ranges are in the unit's own file.
#[derive(Clone, Debug)]
pub(super) enum Op {
    /// `Graph(name=...)` made a graph.
    NewGraph,
    /// A worker instantiated from a known class, whose memoised facts are under `key`.
    NewWorker {
        class: ClassRef,
        call: TextRange,
        kind: ClassKind,
        key: FactKey,
    },
    /// A value we cannot see used as a worker of `g` (see `Flow::worker_arg`).
    Opaque {
        g: GraphId,
        display: String,
    },
    Escape(WorkerId),
    Imprecise(GraphId),
    /// A nested function that may touch anything of the scope.
    Closure,
    Touch {
        g: GraphId,
        conditional: bool,
    },
    AddWorker {
        g: GraphId,
        w: WorkerId,
        range: TextRange,
        precise: Precise,
    },
    Dependency {
        g: GraphId,
        u: WorkerId,
        d: WorkerId,
        range: TextRange,
        precise: Precise,
    },
    Entry {
        g: GraphId,
        w: WorkerId,
        range: TextRange,
        precise: Precise,
    },
    Sink {
        g: GraphId,
        w: WorkerId,
        class: ClassRef,
        range: TextRange,
        precise: Precise,
    },
    SetExit {
        g: GraphId,
        w: WorkerId,
        range: TextRange,
        precise: Precise,
    },
    /// `.next(...)`/`.sink(...)` on a worker in no graph.
    NextWithoutGraph {
        w: WorkerId,
        range: TextRange,
        next: bool,
        conditional: bool,
    },
    /// One `(worker, task)` pair of a run's initial tasks.
    InitialTask {
        w: WorkerId,
        worker_range: TextRange,
        task: Option<ClassRef>,
        task_range: TextRange,
    },
    /// The end of `run`/`execute`: the checks of the graph as it runs.
    RunChecks {
        g: GraphId,
        precise: Precise,
    },
    /// PlanAI raised at a statement another check reports.
    RaisedUnseen,
    /// A diagnostic that depends on the evaluated code only (boxed: the other operations are
    /// half its size, and a builder's trace holds thousands of them).
    Emit(Box<Diagnostic>),
    /// A graph factory's body starts (its diagnostics are dropped at its end). `capture`: the
    /// index of the factory (a function of this file) when its diagnostics were captured for
    /// its own unit (see `Ctx::begin_capture`); a replay captures them again.
    InlineBegin {
        capture: Option<u32>,
    },
    InlineEnd,
}

/// What applying an operation gave the interpreter.
pub(super) enum Applied {
    Nothing,
    Graph(GraphId),
    Worker(WorkerId),
    Precise(bool),
}

impl Op {
    fn precise_mut(&mut self) -> Option<&mut Precise> {
        match self {
            Op::AddWorker { precise, .. }
            | Op::Dependency { precise, .. }
            | Op::Entry { precise, .. }
            | Op::Sink { precise, .. }
            | Op::SetExit { precise, .. }
            | Op::RunChecks { precise, .. } => Some(precise),
            _ => None,
        }
    }

    /// Moves the operation's ranges through `edits`; false when one cannot be moved.
    fn move_through(&mut self, edits: &[Edit]) -> bool {
        use crate::analysis::incremental::move_range;
        match self {
            Op::NewWorker { call: range, .. }
            | Op::AddWorker { range, .. }
            | Op::Dependency { range, .. }
            | Op::Entry { range, .. }
            | Op::Sink { range, .. }
            | Op::SetExit { range, .. }
            | Op::NextWithoutGraph { range, .. } => move_range(range, edits),
            Op::InitialTask {
                worker_range,
                task_range,
                ..
            } => move_range(worker_range, edits) && move_range(task_range, edits),
            // Recorded only without related information (see `Flow::emit`).
            Op::Emit(d) => move_range(&mut d.range, edits),
            _ => true,
        }
    }
}

/// The traces of the scopes a unit interpreted, in order: what `Ctx` keeps for the unit's
/// result (see `incremental::UnitResult::trace`). `function`: the unit's function, whose
/// first scope an earlier unit of the pass may have replayed already (a factory it inlined).
pub(crate) struct UnitOps {
    function: Option<usize>,
    scopes: Vec<Vec<Op>>,
}

/// The key a factory's captured diagnostics are kept under (see `Ctx::begin_capture`).
pub(super) fn capture_key(f: &FunctionSummary) -> usize {
    f as *const FunctionSummary as usize
}

/// The operations of an inlined factory's body, captured with its diagnostics for the
/// factory's own unit (see `Ctx::begin_capture`).
pub(super) struct CapturedOps(pub(super) Vec<Op>);

impl<'c, 'h, 'a> Flow<'c, 'h, 'a>
where
    'h: 'a,
{
    /// Applies `op` and records it in the trace.
    pub(super) fn op(&mut self, op: Op) -> Applied {
        self.ctx.begin_operation();
        let applied = self.apply(&op);
        self.ctx.end_operation();
        self.record(op);
        applied
    }

    /// Records `op`, already applied, in the trace.
    pub(super) fn record(&mut self, mut op: Op) {
        if let Some(trace) = &mut self.trace {
            if let Some(precise) = op.precise_mut() {
                precise.back = trace.len() as u32 - precise.back;
            }
            trace.push(op);
        }
    }

    /// This scope's interpretation cannot be replayed (see the module doc).
    pub(super) fn untraceable(&mut self) {
        self.trace = None;
    }

    /// A diagnostic of the evaluated code alone (a `Graph(...)` call's arguments, ...).
    pub(super) fn emit(&mut self, d: Diagnostic) {
        if !d.related.is_empty() {
            self.untraceable();
        }
        self.op(Op::Emit(Box::new(d)));
    }

    /// A graph method is called: whether its checks may report (the graph is precise), and
    /// a call under a condition leaves the graph imprecise from now on.
    pub(super) fn touch(&mut self, g: GraphId) -> Precise {
        let at = self.trace.as_ref().map_or(0, Vec::len) as u32;
        let conditional = self.cond_depth > 0;
        match self.op(Op::Touch { g, conditional }) {
            Applied::Precise(value) => Precise { value, back: at },
            _ => unreachable!("a touch gives its precision"),
        }
    }

    pub(super) fn imprecise(&mut self, g: GraphId) {
        self.op(Op::Imprecise(g));
    }

    fn apply(&mut self, op: &Op) -> Applied {
        match op {
            Op::NewGraph => {
                self.graphs.push(GraphState::default());
                return Applied::Graph(GraphId(self.graphs.len() - 1));
            }
            Op::NewWorker { .. } => unreachable!("workers are made by `instantiate` or replay"),
            Op::Opaque { g, display } => {
                self.graphs[*g].imprecise = true;
                self.workers.push(WorkerInst {
                    class: None,
                    call: None,
                    path: self.path.clone(),
                    display: display.clone(),
                    graph: Some(*g),
                    escaped: true,
                    subgraph_entry: None,
                    opaque: true,
                    facts: None,
                    instance: None,
                    variable: None,
                });
                return Applied::Worker(WorkerId(self.workers.len() - 1));
            }
            Op::Escape(w) => self.workers[*w].escaped = true,
            Op::Imprecise(g) => self.graphs[*g].imprecise = true,
            Op::Closure => {
                for g in &mut self.graphs {
                    g.imprecise = true;
                }
                for w in &mut self.workers {
                    w.escaped = true;
                }
            }
            Op::Touch { g, conditional } => {
                let precise = !self.graphs[*g].imprecise;
                if *conditional {
                    self.graphs[*g].imprecise = true;
                }
                return Applied::Precise(precise);
            }
            Op::AddWorker {
                g,
                w,
                range,
                precise,
            } => self.add_worker(*g, *w, *range, precise.value),
            Op::Dependency {
                g,
                u,
                d,
                range,
                precise,
            } => self.dependency(*g, *u, *d, *range, precise.value),
            Op::Entry {
                g,
                w,
                range,
                precise,
            } => self.entry(*g, *w, *range, precise.value),
            Op::Sink {
                g,
                w,
                class,
                range,
                precise,
            } => self.sink(*g, *w, class.clone(), *range, precise.value),
            Op::SetExit {
                g,
                w,
                range,
                precise,
            } => self.set_exit(*g, *w, *range, precise.value),
            Op::NextWithoutGraph {
                w,
                range,
                next,
                conditional,
            } => self.next_without_graph(*w, *range, *next, *conditional),
            Op::InitialTask {
                w,
                worker_range,
                task,
                task_range,
            } => self.initial_task(*w, *worker_range, task.clone(), *task_range),
            Op::RunChecks { g, precise } => self.run_checks(*g, precise.value),
            Op::RaisedUnseen => self.raised_unseen = true,
            Op::Emit(d) => self.out.push((**d).clone()),
            Op::InlineBegin { .. } => self.inline_marks.push(self.out.len()),
            Op::InlineEnd => {
                let mark = self.inline_marks.pop().unwrap_or(self.out.len());
                if self.out[mark..].iter().any(raises) {
                    self.raised_unseen = true;
                }
                self.out.truncate(mark);
            }
        }
        Applied::Nothing
    }

    /// Replays `ops` (recorded for this scope) with the facts of now, moving their ranges
    /// through `edits` in place; the operations as replayed, or `None` when the replay cannot
    /// reproduce an interpretation (see the module doc).
    fn replay(
        &mut self,
        ops: Vec<Op>,
        edits: &[Edit],
        calls: &mut CallFinder<'a>,
    ) -> Option<Vec<Op>> {
        let mut touches: Vec<bool> = Vec::with_capacity(ops.len());
        let mut replayed = Vec::with_capacity(ops.len());
        // Per factory being inlined: the capture started for it, if any (its key, what was
        // set aside, and where its diagnostics and operations start).
        let mut captures = Vec::new();
        for (at, mut op) in ops.into_iter().enumerate() {
            if !edits.is_empty() && !op.move_through(edits) {
                return None;
            }
            if let Some(precise) = op.precise_mut() {
                let touch = at.checked_sub(precise.back as usize)?;
                precise.value = *touches.get(touch)?;
            }
            let precise = match &op {
                Op::NewWorker {
                    class,
                    call,
                    kind,
                    key,
                } => {
                    let call = calls.find(*call)?;
                    // The facts that changed are derived again here (running the
                    // instantiation checks, which must still find nothing).
                    let facts = match memo::lookup::<Arc<WorkerFacts>>(self.ctx, key) {
                        Some(facts) => facts,
                        None => {
                            let before = self.out.len();
                            let facts =
                                self.derive_worker_facts(class, call, *kind, key.clone(), true);
                            if self.out.len() > before {
                                return None;
                            }
                            facts
                        }
                    };
                    if !facts.clean {
                        return None;
                    }
                    self.new_worker(Some(class.clone()), Some(call), String::new());
                    let w = self.workers.len() - 1;
                    self.workers[w].facts = Some(facts);
                    self.workers[w].instance = Some((*kind, key.clone()));
                    false
                }
                Op::InlineBegin { capture } => {
                    let function = capture.and_then(|j| calls.summary.functions.get(j as usize));
                    captures.push(function.map(|f| {
                        let outer = self.ctx.begin_capture();
                        (capture_key(f), outer, self.out.len(), replayed.len() + 1)
                    }));
                    self.apply(&op);
                    false
                }
                Op::InlineEnd => {
                    if let Some((key, outer, out_mark, ops_mark)) = captures.pop()? {
                        let diagnostics = self.out[out_mark..].to_vec();
                        let ops = Box::new(CapturedOps(replayed[ops_mark..].to_vec()));
                        self.ctx
                            .end_capture(outer, key, Some(diagnostics), Some(ops), true);
                    }
                    self.apply(&op);
                    false
                }
                op => match self.apply(op) {
                    Applied::Precise(value) => value,
                    _ => false,
                },
            };
            touches.push(precise);
            replayed.push(op);
        }
        Some(replayed)
    }
}

/// Finds a replayed worker's instantiation call (the checks read its keywords) in the
/// summary of now, by its range: the statement that holds it is found by binary search over
/// the statements of the definition around it, so a builder of a thousand statements is not
/// walked once per replay.
struct CallFinder<'a> {
    summary: &'a FileSummary,
    /// Per body searched: where each of its statements starts (those that have an
    /// expression), in order.
    starts: FxMap<*const Stmt, Vec<(usize, usize)>>,
}

impl<'a> CallFinder<'a> {
    fn new(summary: &'a FileSummary) -> Self {
        CallFinder {
            summary,
            starts: FxMap::default(),
        }
    }

    fn find(&mut self, range: TextRange) -> Option<&'a CallExpr> {
        let summary = self.summary;
        let inside = |r: TextRange| r.start() <= range.start() && range.end() <= r.end();
        let body: &'a [Stmt] = match summary.functions.iter().find(|f| inside(f.range)) {
            Some(f) => &f.body,
            None => match summary.classes.iter().find(|c| inside(c.range)) {
                Some(c) => &c.methods.iter().find(|m| inside(m.range))?.body,
                None => &summary.body,
            },
        };
        let starts = self.starts.entry(body.as_ptr()).or_insert_with(|| {
            body.iter()
                .enumerate()
                .filter_map(|(i, s)| Some((stmt_start(s)?, i)))
                .collect()
        });
        let candidate = starts.partition_point(|(start, _)| *start <= range.start());
        let found = candidate
            .checked_sub(1)
            .and_then(|at| call_in(std::slice::from_ref(&body[starts[at].1]), range));
        // A call the search does not place (inside a nested function): the whole body.
        found.or_else(|| call_in(body, range))
    }
}

/// Where a statement's first expression starts (statements are in source order, so these
/// are too), when it has one.
fn stmt_start(s: &Stmt) -> Option<usize> {
    let e = match s {
        Stmt::Assign {
            value, annotation, ..
        } => value.as_ref().or(annotation.as_deref())?,
        Stmt::AugAssign { value, .. } => value,
        Stmt::Expr(e) | Stmt::Return(Some(e)) => e,
        Stmt::Block { header, .. } => header.first()?,
        Stmt::Other { exprs, .. } => exprs.first()?,
        _ => return None,
    };
    Some(e.range().start())
}

/// The call of `range` in `stmts` or the functions nested in them.
fn call_in(stmts: &[Stmt], range: TextRange) -> Option<&CallExpr> {
    let mut found = None;
    walk_exprs(stmts, &mut |e| {
        e.for_each_call(&mut |c| {
            if c.range == range {
                found = Some(c);
            }
        })
    });
    if found.is_none() {
        walk_stmts(stmts, &mut |s| {
            if let Stmt::LocalFunction(f) = s {
                found = found.or_else(|| call_in(&f.body, range));
            }
        });
    }
    found
}

/// The scope traces `run_scopes` recorded for a unit, for `Ctx` to keep with its result:
/// `None` when one of its scopes could not be traced.
pub(super) fn unit_ops(
    unit: Unit,
    scopes: Vec<Option<Vec<Op>>>,
) -> Option<Box<dyn Any + Send + Sync>> {
    let scopes: Option<Vec<Vec<Op>>> = scopes.into_iter().collect();
    let function = match unit {
        Unit::Function(j) => Some(j),
        _ => None,
    };
    Some(Box::new(UnitOps {
        function,
        scopes: scopes?,
    }))
}

/// Replays the trace of a unit of `path` (see `incremental::ReplayUnit`): its diagnostics go
/// to `out`; the trace as replayed, or `None` when the unit must be interpreted again.
pub(crate) fn replay_unit(
    ctx: &mut Ctx,
    path: &Arc<Path>,
    trace: Box<dyn Any + Send + Sync>,
    edits: &[Edit],
    out: &mut Vec<Diagnostic>,
) -> Option<Box<dyn Any + Send + Sync>> {
    let UnitOps { function, scopes } = *trace.downcast::<UnitOps>().ok()?;
    let summary = ctx.summary(path)?;
    let mut calls = CallFinder::new(summary);
    let mut replayed = Vec::with_capacity(scopes.len());
    // A factory the module code's replay inlined earlier in this pass: its diagnostics and
    // operations as replayed there (see `Flow::replay`), which are this scope's.
    let key = function
        .and_then(|j| summary.functions.get(j))
        .map(|f| capture_key(f));
    for (index, ops) in scopes.into_iter().enumerate() {
        if let Some(diagnostics) = key
            .filter(|_| index == 0)
            .and_then(|key| ctx.replay_capture(key, true))
        {
            out.extend_from_slice(diagnostics);
            let captured = key.and_then(|key| ctx.take_captured_ops(key));
            let CapturedOps(ops) = *captured?.downcast::<CapturedOps>().ok()?;
            replayed.push(ops);
            continue;
        }
        let mut edges = Vec::new();
        let mut flow = Flow::scratch(ctx, path.clone(), out, &mut edges);
        flow.out_start = flow.out.len();
        replayed.push(flow.replay(ops, edits, &mut calls)?);
    }
    Some(Box::new(UnitOps {
        function,
        scopes: replayed,
    }))
}
