//! What the checks need of a worker instance (consumed, output and published types, which
//! PlanAI bases its class has), memoised across edits through `analysis::memo`.

use super::*;

impl<'c, 'h, 'a> Flow<'c, 'h, 'a>
where
    'h: 'a,
{
    pub(super) fn consumed(&mut self, w: WorkerId) -> ConsumedTypes {
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
        let spec = InstanceSpec {
            class: &class,
            call: call.map(|c| (&*path, c)),
        };
        memo::memo(self.ctx, key, call, |ctx| consumed_types(ctx, spec))
    }

    /// The memo key of a fact about `class` (instantiated at `call`, in its file).
    pub(super) fn fact_key(
        &self,
        fact: Fact,
        class: &ClassRef,
        call: Option<(&Arc<Path>, &CallExpr)>,
    ) -> FactKey {
        let (call_file, call_text) = match call {
            Some((path, c)) => {
                let text = self
                    .ctx
                    .file(path)
                    .and_then(|f| f.text.get(c.range.start()..c.range.end()))
                    .unwrap_or_default();
                (Some(memo::FilePath(path.clone())), memo::text_hash(text))
            }
            None => (None, 0),
        };
        FactKey::new(fact, class.clone(), call_file, call_text)
    }

    pub(super) fn outputs(&mut self, w: WorkerId) -> OutputTypes {
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
        memo::memo(self.ctx, key, call, |ctx| {
            output_types(
                ctx,
                InstanceSpec {
                    class: &class,
                    call: call.map(|c| (&*path, c)),
                },
            )
        })
    }

    /// The task types a worker publishes, with where (file, index of the publishing class,
    /// range) and whether `consumer=` is passed. `None` when some publish site has an unknown
    /// type.
    #[allow(clippy::type_complexity)]
    pub(super) fn published_types(
        &mut self,
        w: WorkerId,
        cls: &ClassRef,
    ) -> Option<Vec<(ClassRef, Option<(Arc<Path>, usize, TextRange)>, bool)>> {
        let call = self.workers[w].call;
        let path = self.workers[w].path.clone();
        let (key, kind) = match &self.workers[w].instance {
            Some((kind, worker_key)) => (worker_key.with_fact(Fact::Published), *kind),
            None => (
                self.fact_key(Fact::Published, cls, call.map(|c| (&path, c))),
                self.class_kind(cls),
            ),
        };
        let published = memo::memo(self.ctx, key, call, |ctx| {
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
                    Some((p, class_index, relative.map(|o| o + start)))
                }
                None => None,
            };
            out.push((t, site, with_consumer));
        }
        Some(out)
    }

    /// What the graph checks ask of a class again and again, memoised per class.
    pub(super) fn class_kind(&mut self, cls: &ClassRef) -> ClassKind {
        super::super::class_kind(self.ctx, cls)
    }

    /// The memoised facts of worker `w`, when it was instantiated from a known class.
    pub(super) fn facts_of(&self, w: WorkerId) -> Option<Arc<WorkerFacts>> {
        self.workers.get(w.0)?.facts.clone()
    }

    /// The kind of worker `w`'s class `cls`: kept from its instantiation (whose lookup
    /// recorded the fact in this unit already), else looked up.
    pub(super) fn kind_of(&mut self, w: WorkerId, cls: &ClassRef) -> ClassKind {
        match &self.workers[w].instance {
            Some((kind, _)) => *kind,
            None => self.class_kind(cls),
        }
    }
}

/// What the graph checks need of one worker instance (its class and the call that made it),
/// memoised across edits (`analysis::memo`).
#[derive(Debug)]
pub(super) struct WorkerFacts {
    /// The instantiation checks found nothing.
    pub(super) clean: bool,
    pub(super) consumed: ConsumedTypes,
    pub(super) outputs: OutputTypes,
}

/// A published task type, where it is published (file, index of the class whose method
/// publishes it, range relative to that class's start) and whether `consumer=` is passed.
pub(super) type RelativePublish = (ClassRef, Option<(Arc<Path>, usize, TextRange)>, bool);

/// The task types the worker instance `spec` publishes (see `Flow::published_types`).
pub(super) fn published_in_classes(
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

impl memo::Memoisable for Arc<WorkerFacts> {
    /// The instantiation checks reported something, or the signature cannot be read: both
    /// carry positions, so such a worker is checked again.
    fn reusable(&self) -> bool {
        self.clean && self.consumed.reusable()
    }

    fn cutoff(&self) -> u64 {
        memo::hash_of(&(self.clean, self.consumed.cutoff(), self.outputs.cutoff()))
    }
}

impl memo::Memoisable for Option<Vec<RelativePublish>> {
    /// Without the sites' offsets: a unit reports a site's position only after recording a
    /// read of the publishing class (`Flow::read_publish_site`), so an edit that moves a site
    /// runs that unit again, and the edit log moves every other position it reported.
    fn cutoff(&self) -> u64 {
        memo::hash_of(&self.as_ref().map(|published| {
            published
                .iter()
                .map(|(t, site, with_consumer)| {
                    (t, site.as_ref().map(|(p, i, _)| (p, *i)), *with_consumer)
                })
                .collect::<Vec<_>>()
        }))
    }
}

/// Derives the memoised fact `key` again (see `memo::RefreshFact`): the same computation the
/// graph checks run when they ask for it, from the class and the call kept with the fact.
pub(crate) fn refresh_fact(ctx: &mut Ctx<'_>, key: &FactKey, call: Option<&CallExpr>) {
    let path = key.call_file().map(|file| file.0.clone());
    if path.is_some() != call.is_some() {
        return;
    }
    let spec = InstanceSpec {
        class: key.class(),
        call: path.as_deref().zip(call),
    };
    match key.fact() {
        Fact::ClassKind => {
            super::super::class_kind(ctx, key.class());
        }
        Fact::ModelFields => {
            super::super::unknown_keywords::memoised_fields(ctx, key.class());
        }
        Fact::Consumed => {
            memo::memo(ctx, key.clone(), call, |ctx| consumed_types(ctx, spec));
        }
        Fact::Outputs => {
            memo::memo(ctx, key.clone(), call, |ctx| output_types(ctx, spec));
        }
        Fact::Published => {
            let kind = super::super::class_kind(ctx, key.class());
            memo::memo(ctx, key.clone(), call, |ctx| {
                published_in_classes(ctx, spec, kind)
            });
        }
        Fact::Worker => {
            let (Some(path), Some(call)) = (path, call) else {
                return;
            };
            let kind = super::super::class_kind(ctx, key.class());
            let (mut out, mut edges) = (Vec::new(), Vec::new());
            let mut flow = Flow::scratch(ctx, path, &mut out, &mut edges);
            flow.derive_worker_facts(key.class(), call, kind, key.clone(), true);
        }
    }
}
