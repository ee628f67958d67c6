//! Wiring a graph: `add_worker(s)` (GC1), `set_dependency`/`next` (GC2, GC4–GC8), joins (GC9),
//! `set_entry` (GC3), sinks (GC11) and `set_max_parallel_tasks`.

use super::*;

impl<'c, 'h, 'a> Flow<'c, 'h, 'a>
where
    'h: 'a,
{
    pub(super) fn graph_method(&mut self, g: GraphId, name: &str, c: &'a CallExpr) -> Val {
        match name {
            "add_worker" | "add_workers" => {
                let precise = self.touch(g);
                for a in &c.args {
                    let v = self.eval(a);
                    if let Some(w) = self.worker_arg(g, a, v) {
                        let range = a.range();
                        self.op(Op::AddWorker {
                            g,
                            w,
                            range,
                            precise,
                        });
                    }
                }
                for k in &c.keywords {
                    self.eval_escaping(&k.value);
                    self.imprecise(g);
                }
                Val::Graph(g)
            }
            "set_dependency" => {
                let precise = self.touch(g);
                let (Some(u), Some(d)) = (c.arg(0, "upstream"), c.arg(1, "downstream")) else {
                    self.eval_args_escaping(c);
                    self.imprecise(g);
                    return Val::Unknown;
                };
                let (uv, dv) = (self.eval(u), self.eval(d));
                let uw = self.worker_arg(g, u, uv);
                let dw = self.worker_arg(g, d, dv);
                match (uw, dw) {
                    (Some(uw), Some(dw)) => {
                        self.op(Op::Dependency {
                            g,
                            u: uw,
                            d: dw,
                            range: narrow(c),
                            precise,
                        });
                        Val::Worker(dw)
                    }
                    _ => {
                        for w in [uw, dw].into_iter().flatten() {
                            self.op(Op::Escape(w));
                        }
                        self.imprecise(g);
                        Val::Unknown
                    }
                }
            }
            "set_entry" => {
                let precise = self.touch(g);
                for a in &c.args {
                    match self.eval(a) {
                        Val::Worker(w) => {
                            let range = a.range();
                            self.op(Op::Entry {
                                g,
                                w,
                                range,
                                precise,
                            });
                        }
                        other => {
                            self.escape(&other);
                            self.imprecise(g);
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
                    (Some(Val::Worker(w)), Some(t)) => {
                        self.sink_of_expr(g, w, t, narrow(c), precise)
                    }
                    (w, _) => {
                        if let Some(w) = w {
                            self.escape(&w);
                        }
                        self.imprecise(g);
                    }
                }
                Val::NoneLit
            }
            "set_exit" => {
                let precise = self.touch(g);
                match c.arg(0, "worker").map(|a| (a.range(), self.eval(a))) {
                    Some((range, Val::Worker(w))) => {
                        self.op(Op::SetExit {
                            g,
                            w,
                            range,
                            precise,
                        });
                    }
                    Some((_, v)) => {
                        self.escape(&v);
                        self.imprecise(g);
                    }
                    None => self.imprecise(g),
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
                    self.imprecise(g);
                }
                Val::Unknown
            }
            _ => {
                self.eval_args_escaping(c);
                self.imprecise(g);
                Val::Unknown
            }
        }
    }

    pub(super) fn worker_method(&mut self, w: WorkerId, name: &str, c: &'a CallExpr) -> Val {
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
                    let range = c.func.attr_range().unwrap_or_else(|| c.func.range());
                    self.op(Op::NextWithoutGraph {
                        w,
                        range,
                        next: name == "next",
                        conditional: self.cond_depth > 0,
                    });
                    self.eval_args_escaping(c);
                    return Val::Unknown;
                };
                let precise = self.touch(g);
                if name == "next" {
                    let Some(arg) = arg else {
                        self.eval_args_escaping(c);
                        self.imprecise(g);
                        return Val::Unknown;
                    };
                    let dv = self.eval(arg);
                    match self.worker_arg(g, arg, dv) {
                        Some(d) => {
                            self.op(Op::Dependency {
                                g,
                                u: w,
                                d,
                                range: narrow(c),
                                precise,
                            });
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
                        Some(t) => self.sink_of_expr(g, w, t, narrow(c), precise),
                        None => self.imprecise(g),
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

    pub(super) fn add_worker(&mut self, g: GraphId, w: WorkerId, range: TextRange, precise: bool) {
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
                )
                .about(self.worker_subject(w));
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

    pub(super) fn is_added(&self, g: GraphId, w: WorkerId) -> bool {
        w == INITIAL || self.graphs[g].add_sites.contains_key(&w)
    }

    pub(super) fn dependency(
        &mut self,
        g: GraphId,
        u: WorkerId,
        d: WorkerId,
        range: TextRange,
        precise: bool,
    ) {
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
                )
                .about(self.edge_subject(u, d)));
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
        // Borrowed from the workers' facts where they have them: a builder checks an edge
        // per worker, and copying both type lists for each cost more than the check.
        let (d_facts, u_facts) = (self.facts_of(d), self.facts_of(u));
        let consumed_here;
        let consumed = match &d_facts {
            Some(facts) => &facts.consumed,
            None => {
                consumed_here = self.consumed(d);
                &consumed_here
            }
        };
        let outputs_here;
        let outputs = match (&u_facts, consumed) {
            (Some(facts), _) => &facts.outputs,
            // Asked only for an edge whose downstream consumption is known.
            (None, ConsumedTypes::Known(_)) => {
                outputs_here = self.outputs(u);
                &outputs_here
            }
            (None, _) => &OutputTypes::Unknown,
        };
        let mut task_type = None;
        match consumed {
            ConsumedTypes::Error(e) => {
                let diagnostic = self.signature_error(e, range).about(self.worker_subject(d));
                self.out.push(diagnostic);
            }
            ConsumedTypes::Known(ct) => {
                if let OutputTypes::Known(ot) = outputs {
                    let inter: Vec<ClassRef> = ot
                        .iter()
                        .filter(|o| ct.contains(&TypeKey::Class((*o).clone())))
                        .cloned()
                        .collect();
                    if inter.is_empty() {
                        let (un, dn) = (self.display_of(u), self.display_of(d));
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
                        diag = self
                            .with_edge_related(diag, u, d)
                            .about(self.edge_subject(u, d));
                        self.out.push(diag);
                    } else if inter.len() > 1 {
                        let (un, dn) = (self.display_of(u), self.display_of(d));
                        let diag = error(
                            Code::Gc8,
                            range,
                            format!(
                                "Worker {un} produces multiple task types that worker {dn} can consume. Please \
                                 specify the task type. Both [{}] match; a worker can receive only one type per edge.",
                                inter.iter().map(|c| self.ctx.class_name(c)).collect::<Vec<_>>().join(", ")
                            ),
                        );
                        let diag = self
                            .with_edge_related(diag, u, d)
                            .about(self.edge_subject(u, d));
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
        self.graphs[g]
            .edge_sites
            .insert((u, d), (self.path.clone(), range));
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

    pub(super) fn with_edge_related(
        &mut self,
        mut diag: Diagnostic,
        u: WorkerId,
        d: WorkerId,
    ) -> Diagnostic {
        if let Some(cls) = self.workers.get(u.0).and_then(|w| w.class.clone()) {
            if let Some((p, decl)) = consumed::class_attr_decl(self.ctx, &cls, "output_types") {
                let msg = format!("{}'s output_types", self.display_of(u));
                diag = diag.with_related(related(&self.path, &p, decl.name_range, msg));
            }
        }
        if let Some(cls) = self.workers.get(d.0).and_then(|w| w.class.clone()) {
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
    pub(super) fn join_check(&mut self, g: GraphId, d: WorkerId, range: TextRange) {
        let Some(cls) = self.workers[d].class.clone() else {
            return;
        };
        if !self.kind_of(d, &cls).joined {
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
                )
                .about(self.worker_subject(d)));
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
        let mut visited: Vec<WorkerId> = Vec::new();
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
            )
            .about(self.worker_subject(d)));
        } else if visited.len() <= 1 {
            let repr = self.ctx.class_repr(&jt);
            self.out.push(error(
                Code::Gc9,
                range,
                format!(
                    "Joining on the immediate upstream worker {repr} in {dn} will never yield more than one result. \
                     Join on a worker further upstream (or InitialTaskWorker)."
                ),
            )
            .about(self.worker_subject(d)));
        }
    }

    pub(super) fn dfs(
        &mut self,
        g: GraphId,
        w: WorkerId,
        target: &ClassRef,
        visited: &mut Vec<WorkerId>,
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
        let ups: Vec<WorkerId> = self.graphs[g]
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

    pub(super) fn entry(&mut self, g: GraphId, w: WorkerId, range: TextRange, precise: bool) {
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
                )
                .about(self.edge_subject(INITIAL, w)));
            }
            self.graphs[g].imprecise = true;
            return;
        }
        if self.graphs[g].edge_set.insert((INITIAL, w)) {
            self.graphs[g].edges.push((INITIAL, w, None));
            if self.collect_edges {
                let site = (self.path.clone(), range);
                self.graphs[g].entry_sites.push((w, site));
            }
        }
    }

    /// `set_sink(w, t)`/`w.sink(t)`: the sunk type `t` evaluated, then the sink.
    fn sink_of_expr(
        &mut self,
        g: GraphId,
        w: WorkerId,
        t: &'a Expr,
        range: TextRange,
        precise: Precise,
    ) {
        let Val::Class(class) = self.eval(t) else {
            self.imprecise(g);
            return;
        };
        self.op(Op::Sink {
            g,
            w,
            class,
            range,
            precise,
        });
    }

    /// `set_exit(w)` (GC13).
    pub(super) fn set_exit(&mut self, g: GraphId, w: WorkerId, range: TextRange, precise: bool) {
        if precise && !self.is_added(g, w) {
            let wn = self.display_of(w);
            self.out.push(
                error(
                    Code::Gc13,
                    range,
                    format!(
                        "Worker {wn} must be added to the Graph before setting it as an exit worker. \
                         Add {wn} to the graph first."
                    ),
                )
                .about(self.worker_subject(w)),
            );
        } else {
            self.graphs[g].exit = Some(w);
        }
    }

    /// `.next(...)`/`.sink(...)` on a worker in no graph (GC4).
    pub(super) fn next_without_graph(
        &mut self,
        w: WorkerId,
        range: TextRange,
        next: bool,
        conditional: bool,
    ) {
        let all_precise = self.graphs.iter().all(|g| !g.imprecise);
        if self.workers[w].escaped || !all_precise || conditional {
            return;
        }
        let (msg, name) = if next {
            (
                "Task must be added to a Graph before setting dependencies",
                "next",
            )
        } else {
            (
                "Task must be added to a Graph before setting a sink dependency",
                "sink",
            )
        };
        self.out.push(
            error(
                Code::Gc4,
                range,
                format!(
                    "{msg}. Add {} to the graph (graph.add_worker(...)) before calling .{name}().",
                    self.display_of(w)
                ),
            )
            .about(self.worker_subject(w)),
        );
    }

    pub(super) fn sink(
        &mut self,
        g: GraphId,
        w: WorkerId,
        tc: ClassRef,
        range: TextRange,
        precise: bool,
    ) {
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
                d = self
                    .with_edge_related(d, w, NO_WORKER)
                    .about(self.worker_subject(w));
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
                )
                .about(
                    self.class_name_of(w)
                        .map(|upstream| Subject::edge(upstream, "SinkWorker")),
                ));
            }
            self.graphs[g].imprecise = true;
            return;
        }
        self.graphs[g].sinks.push((w, tc.clone()));
        if !self.collect_edges {
            return;
        }
        let site = (self.path.clone(), range);
        self.graphs[g].sink_sites.push((w, tc.clone(), site));
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

    pub(super) fn max_parallel(&mut self, c: &'a CallExpr) {
        let cls = c.arg(0, "worker_class").map(|e| (e.range(), self.eval(e)));
        let n = c.arg(1, "max_parallel_tasks");
        let class_name = match &cls {
            Some((_, Val::Class(k))) => Some(self.ctx.class_name(k)),
            _ => None,
        };
        match cls {
            Some((range, Val::Class(k)))
                if self.ctx.mro(&k).complete
                    && !self.ctx.derives_from_builtin(&k, "TaskWorker") =>
            {
                self.emit(error(
                    Code::Gc12,
                    range,
                    format!(
                        "{} is not a subclass of TaskWorker. Pass a worker class (e.g. LLMTaskWorker).",
                        self.ctx.class_name(&k)
                    ),
                )
                .about(Subject::class(self.ctx.class_name(&k))));
                return;
            }
            Some((range, Val::Worker(w))) => {
                self.emit(
                    error(
                        Code::Gc12,
                        range,
                        "issubclass() arg 1 must be a class. set_max_parallel_tasks takes a worker class, not a \
                         worker instance: pass type(worker) or the class name."
                            .to_string(),
                    )
                    .about(self.worker_subject(w)),
                );
                return;
            }
            _ => {}
        }
        if let Some(Expr::Int { value, range }) = n {
            if *value <= 0 {
                self.emit(
                    error(
                        Code::Gc12,
                        *range,
                        "max_parallel_tasks must be greater than 0.".to_string(),
                    )
                    .about(class_name.map(Subject::Class)),
                );
            }
        }
    }
}
