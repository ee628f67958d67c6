//! Running a graph: `run`/`execute` (EX1, EX2, GC12, GC13) and, at the run, the consumers of every
//! published type (RT3, RT4) and merged workers' inputs.

use super::*;

impl<'c, 'h, 'a> Flow<'c, 'h, 'a>
where
    'h: 'a,
{
    /// `run`/`execute`: entries (GC3), initial task types (EX1), then consumers (RT3/RT4).
    pub(super) fn run(&mut self, g: GraphId, initial: &'a Expr, precise: Precise) {
        let pairs: Vec<&'a Expr> = match initial {
            Expr::List { elts, .. } | Expr::Tuple { elts, .. } => elts.iter().collect(),
            Expr::Comprehension { elt, .. } => vec![&**elt],
            other => {
                self.eval_escaping(other);
                self.imprecise(g);
                return;
            }
        };
        let is_comprehension = matches!(initial, Expr::Comprehension { .. });
        for p in pairs {
            let Expr::Tuple { elts, .. } = p else {
                self.eval_escaping(p);
                self.imprecise(g);
                continue;
            };
            if elts.len() != 2 {
                self.imprecise(g);
                continue;
            }
            let Val::Worker(w) = self.eval(&elts[0]) else {
                self.imprecise(g);
                continue;
            };
            let range = elts[0].range();
            self.op(Op::Entry {
                g,
                w,
                range,
                precise,
            });
            // Whether a worker is added depends on the evaluated code only (adding never
            // fails), so a replay takes the same turn here.
            if !self.is_added(g, w) {
                return;
            }
            // The task: a constructor call of a Task class.
            let task_cls = match &elts[1] {
                Expr::Call(tc)
                    if !is_comprehension
                        || tc
                            .func
                            .dotted_root()
                            .is_some_and(|root| !self.locals.contains(root)) =>
                {
                    self.eval_args_escaping(tc);
                    match self.eval(&tc.func) {
                        Val::Class(k) if self.ctx.derives_from_builtin(&k, "Task") => {
                            if crate::analysis::checks::task_calls::task_call_fails(
                                self.ctx, &self.path, tc,
                            ) {
                                self.op(Op::RaisedUnseen);
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
            self.op(Op::InitialTask {
                w,
                worker_range: elts[0].range(),
                task: task_cls,
                task_range: elts[1].range(),
            });
        }
        self.op(Op::RunChecks { g, precise });
    }

    /// One `(worker, task)` pair of a run's initial tasks: the worker must consume the task's
    /// type (EX1).
    pub(super) fn initial_task(
        &mut self,
        w: WorkerId,
        worker_range: TextRange,
        task_cls: Option<ClassRef>,
        task_range: TextRange,
    ) {
        {
            match self.consumed(w) {
                ConsumedTypes::Error(e) => {
                    let diagnostic = self
                        .signature_error(&e, worker_range)
                        .about(self.worker_subject(w));
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
                                task_range,
                                format!(
                                    "TaskWorker {} cannot consume tasks of type {}. It can only consume tasks of type [{}]. \
                                     Start the graph with one of those types (exact class, not a subclass).",
                                    self.display_of(w),
                                    self.ctx.class_name(&t),
                                    names.join(", ")
                                ),
                            );
                            d = self
                                .with_edge_related(d, NO_WORKER, w)
                                .about(self.worker_subject(w));
                            self.out.push(d);
                        }
                    }
                }
                ConsumedTypes::Unknown => {}
            }
        }
    }

    /// The end of `run`/`execute`: what the graph does as it runs (EX2, RT3, RT4).
    pub(super) fn run_checks(&mut self, g: GraphId, precise: bool) {
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
    pub(super) fn merged_checks(&mut self, g: GraphId) {
        let workers = self.graphs[g].workers.clone();
        for w in workers {
            let Some(cls) = self.workers[w].class.clone() else {
                continue;
            };
            let kind = self.kind_of(w, &cls);
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
            let ups: Vec<WorkerId> = self.graphs[g]
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
                )
                .about(self.worker_subject(w)));
            }
        }
    }

    /// RT3/RT4 for every reachable worker whose published types are known.
    pub(super) fn consumer_checks(&mut self, g: GraphId) {
        let workers = self.graphs[g].workers.clone();
        // One pass over the edges, not one per worker: a builder may wire hundreds.
        let mut reachable: FxSet<WorkerId> = FxSet::default();
        let mut untyped: FxSet<WorkerId> = FxSet::default();
        let mut consumers: FxMap<(WorkerId, &ClassRef), usize> = FxMap::default();
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
        let consumers: FxMap<(WorkerId, ClassRef), usize> = consumers
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
            if !self.kind_of(w, &cls).mro_complete {
                continue;
            }
            // Borrowed from the worker's facts where it has them (see `dependency`).
            let facts = self.facts_of(w);
            let outputs_here;
            let outputs = match &facts {
                Some(facts) => &facts.outputs,
                None => {
                    outputs_here = self.outputs(w);
                    &outputs_here
                }
            };
            let OutputTypes::Known(outs) = outputs else {
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
                    Some((p, _, r)) if **p == *self.path => *r,
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
                    if let Some((p, class_index, _)) = &site {
                        self.read_publish_site(p, *class_index);
                    }
                    match site.map(|(p, _, r)| (p, r)) {
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
}

impl<'c, 'h, 'a> Flow<'c, 'h, 'a>
where
    'h: 'a,
{
    /// A diagnostic is about to report where class `class_index` of `path` publishes: the
    /// unit now depends on that class's text, not only on the memoised published types (whose
    /// cutoff leaves positions out, see `facts`).
    fn read_publish_site(&mut self, path: &Arc<Path>, class_index: usize) {
        if let Some(file) = self.ctx.file(path) {
            let item = crate::analysis::incremental::DepItem::Class(class_index as u32);
            self.ctx.record_read(file, item);
        }
    }
}
