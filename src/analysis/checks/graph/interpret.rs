//! The interpreter proper: statements and expressions in order, names, calls of graph
//! factories (inlined), and the workers and graphs they create.

use super::*;

impl<'c, 'h, 'a> Flow<'c, 'h, 'a>
where
    'h: 'a,
{
    pub(super) fn stmts(&mut self, stmts: &'a [Stmt]) {
        for s in stmts {
            self.stmt(s);
        }
    }

    /// Remembers the first variable a worker or graph is assigned to, for the graph model.
    fn name_value(&mut self, name: &str, v: &Val) {
        if !self.collect_edges {
            return;
        }
        let slot = match v {
            Val::Worker(w) if *w != INITIAL && *w != NO_WORKER => &mut self.workers[*w].variable,
            Val::Graph(g) => &mut self.graphs[*g].variable,
            _ => return,
        };
        if slot.is_none() {
            *slot = Some(name.to_string());
        }
    }

    pub(super) fn set_unknown(&mut self, name: &str) {
        self.env.insert(Name::from(name), Val::Unknown);
    }

    pub(super) fn stmt(&mut self, s: &'a Stmt) {
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
                            self.name_value(n, &v);
                            self.env.insert(n.clone(), v);
                        }
                        return;
                    }
                }
                let v = value.as_ref().map(|v| self.eval(v)).unwrap_or(Val::Unknown);
                // `graph, entry = build_graph()` with an inlined factory.
                if let ([AssignTarget::Tuple(names)], Val::Tuple(vals)) = (&targets[..], &v) {
                    if names.len() == vals.len() {
                        for (n, v) in names.iter().zip(vals.clone()) {
                            self.name_value(n, &v);
                            self.env.insert(n.clone(), v);
                        }
                        return;
                    }
                }
                for t in targets {
                    match t {
                        AssignTarget::Name(n, _) => {
                            self.name_value(n, &v);
                            self.env.insert(n.clone(), v.clone());
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
                    self.env.insert(b.local.clone(), v);
                }
            }
            Stmt::LocalClass(n) => self.set_unknown(n),
            Stmt::LocalFunction(f) => {
                // A closure may touch any graph of this scope later.
                self.op(Op::Closure);
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

    pub(super) fn escape(&mut self, v: &Val) {
        match v {
            Val::Worker(w) => {
                self.op(Op::Escape(*w));
            }
            Val::Graph(g) => self.imprecise(*g),
            Val::Tuple(vals) => {
                for v in vals {
                    self.escape(v);
                }
            }
            _ => {}
        }
    }

    pub(super) fn eval_escaping(&mut self, e: &'a Expr) {
        let v = self.eval(e);
        self.escape(&v);
    }

    pub(super) fn lookup_name(&mut self, id: &str) -> Val {
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

    pub(super) fn eval(&mut self, e: &'a Expr) -> Val {
        match e {
            Expr::Name { id, .. } => self.lookup_name(id),
            Expr::Attribute { value, .. } => {
                // `module.Class` (only when the root is not a local value).
                if let Some(root) = e.dotted_root() {
                    if !self.env.contains_key(root) && !self.locals.contains(root) {
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
            // Nothing is read out of a literal: `Fingerprints::module_graphs` leaves the
            // values of module-level literals out because of this.
            literal if literal.is_plain_literal() => Val::Unknown,
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

    pub(super) fn call(&mut self, c: &'a CallExpr) -> Val {
        if let Expr::Attribute { value, attr, .. } = &c.func {
            let recv = self.eval(value);
            match recv {
                Val::Graph(g) => return self.graph_method(g, attr, c),
                Val::Worker(w) => return self.worker_method(w, attr, c),
                _ => {}
            }
            if let Val::Class(_) | Val::Unknown | Val::NoneLit = recv {
                if let Some(root) = c.func.dotted_root() {
                    if !self.env.contains_key(root) && !self.locals.contains(root) {
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
    pub(super) fn is_user_function_call(&mut self, c: &CallExpr) -> bool {
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
    pub(super) fn inline(
        &mut self,
        home: Arc<Path>,
        f: &'a FunctionSummary,
        c: &'a CallExpr,
    ) -> Val {
        self.eval_args_escaping(c);
        let key = f as *const FunctionSummary;
        if self.inlining.len() >= MAX_INLINE_DEPTH || self.inlining.contains(&key) {
            // Where this happens depends on the caller: such a result is not shareable.
            self.inline_refusals += 1;
            return Val::Unknown;
        }
        if f.has_decorators() {
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
        let capture = self
            .interprets_like_its_own_unit(f)
            .then(|| (self.ctx.begin_capture(), self.inline_refusals));
        self.op(Op::InlineBegin { capture: None });
        let trace_mark = self.trace.as_ref().map(Vec::len);
        let inner_locals = function_locals(f);
        let inner_env = FxMap::with_capacity_and_hasher(inner_locals.len(), Default::default());
        let env = std::mem::replace(&mut self.env, inner_env);
        let locals = std::mem::replace(&mut self.locals, inner_locals);
        // Names in the body resolve in the function's own module; where it adds workers is
        // recorded as this call when that module is another file.
        let path = std::mem::replace(&mut self.path, home);
        if *self.path != *self.own_path {
            // Its operations' ranges are in another file.
            self.untraceable();
        }
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
        if let Some((outer, refusals)) = capture {
            let same = self.inline_refusals == refusals;
            let diagnostics = same.then(|| self.out[out_mark..].to_vec());
            // The factory is a function of this file (`interprets_like_its_own_unit`): a
            // replay of this scope captures its operations again for its unit.
            let index = self
                .ctx
                .summary(&self.own_path)
                .and_then(|s| s.functions.iter().position(|g| std::ptr::eq(&**g, f)));
            let ops = match (same, trace_mark, index, &mut self.trace) {
                (true, Some(mark), Some(index), Some(trace)) => {
                    trace[mark - 1] = Op::InlineBegin {
                        capture: Some(index as u32),
                    };
                    Some(Box::new(trace::CapturedOps(trace[mark..].to_vec()))
                        as Box<dyn std::any::Any + Send + Sync>)
                }
                _ => None,
            };
            self.ctx
                .end_capture(outer, key as usize, diagnostics, ops, false);
        }
        // Drops the body's diagnostics, remembering whether PlanAI raised in it.
        self.op(Op::InlineEnd);
        self.env = env;
        self.locals = locals;
        self.path = path;
        self.call_site = call_site;
        self.edges.truncate(edges_mark);
        result
    }

    /// Whether inlining `f` here (about to start) interprets it exactly as its own unit does,
    /// so that unit can replay the diagnostics (see `Ctx::begin_capture`): a fresh flow
    /// state (no workers, graphs, branch or earlier raise that the body could observe), in
    /// the function's own file, a diagnostics pass, and a body whose only `return` ends it
    /// and returns names (the unit evaluates the returned value and lets it escape, which
    /// for names reads nothing and reports nothing). Where nested inlining is cut off depends
    /// on the depth, so the caller also compares `inline_refusals`.
    fn interprets_like_its_own_unit(&self, f: &FunctionSummary) -> bool {
        let returns_names = match f.body.last() {
            Some(Stmt::Return(None)) => true,
            Some(Stmt::Return(Some(e))) => match e {
                Expr::Name { .. } | Expr::NoneLit { .. } => true,
                Expr::Tuple { elts, .. } => elts.iter().all(|x| matches!(x, Expr::Name { .. })),
                _ => false,
            },
            _ => !f.body.iter().any(|s| matches!(s, Stmt::Return(_))),
        };
        !self.collect_edges
            && self.inlining.is_empty()
            && self.cond_depth == 0
            && self.workers.is_empty()
            && self.graphs.is_empty()
            && !self.raised_unseen
            && !self.out[self.out_start..].iter().any(raises)
            && self.call_site.is_none()
            && *self.path == *self.own_path
            && returns_names
    }

    /// `e` (evaluated to `v`) used as a worker of graph `g`: the worker, or, for a value we
    /// cannot see (`create_search_fetch_worker(...)`, a parameter), an opaque worker that
    /// keeps the graph's shape visible. The graph becomes imprecise either way.
    pub(super) fn worker_arg(&mut self, g: GraphId, e: &'a Expr, v: Val) -> Option<WorkerId> {
        match v {
            Val::Worker(w) => Some(w),
            Val::Unknown
                if matches!(
                    e,
                    Expr::Name { .. } | Expr::Attribute { .. } | Expr::Call(_)
                ) =>
            {
                let display = match e {
                    Expr::Name { id, .. } => id.to_string(),
                    other => consumed::render(other),
                };
                let Applied::Worker(w) = self.op(Op::Opaque { g, display }) else {
                    unreachable!("an opaque worker is a worker");
                };
                if let Expr::Name { id, .. } = e {
                    self.workers[w].variable = Some(id.to_string());
                    self.env.insert(id.clone(), Val::Worker(w));
                }
                Some(w)
            }
            other => {
                self.escape(&other);
                self.imprecise(g);
                None
            }
        }
    }

    pub(super) fn is_opaque(&self, w: WorkerId) -> bool {
        w != INITIAL && self.workers[w].opaque
    }

    pub(super) fn eval_args_escaping(&mut self, c: &'a CallExpr) {
        for a in &c.args {
            self.eval_escaping(a);
        }
        for k in &c.keywords {
            self.eval_escaping(&k.value);
        }
    }

    /// The worker's class name, as the venv names it (`type(worker).__name__`), when its class
    /// is known.
    pub(super) fn class_name_of(&self, w: WorkerId) -> Option<String> {
        if w == INITIAL {
            return Some("InitialTaskWorker".into());
        }
        self.workers[w]
            .class
            .as_ref()
            .map(|c| self.ctx.class_name(c))
    }

    /// What a diagnostic about worker `w` is about: its class, when known.
    pub(super) fn worker_subject(&self, w: WorkerId) -> Option<Subject> {
        self.class_name_of(w).map(Subject::Class)
    }

    /// What a diagnostic about the dependency `u` → `d` is about: their classes, when known.
    pub(super) fn edge_subject(&self, u: WorkerId, d: WorkerId) -> Option<Subject> {
        Some(Subject::edge(
            self.class_name_of(u)?,
            self.class_name_of(d)?,
        ))
    }

    pub(super) fn display_of(&self, w: WorkerId) -> String {
        if w == INITIAL {
            return "InitialTaskWorker".into();
        }
        match &self.workers[w].class {
            Some(c) => self.ctx.class_name(c),
            None => self.workers[w].display.clone(),
        }
    }

    pub(super) fn new_worker(
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
            instance: None,
            variable: None,
        });
        Val::Worker(WorkerId(self.workers.len() - 1))
    }
}
