//! Creating workers and graphs: `Worker(...)` calls and their instantiation checks (IN1–IN5,
//! RT8 on keyword arguments) and `SubGraphWorker(...)` (IN6–IN8).

use super::*;

impl<'c, 'h, 'a> Flow<'c, 'h, 'a>
where
    'h: 'a,
{
    pub(super) fn instantiate(&mut self, cls: ClassRef, c: &'a CallExpr) -> Val {
        let graph_id = builtins::class_by_name("Graph").map(ClassRef::Builtin);
        if Some(&cls) == graph_id.as_ref() {
            self.eval_args_escaping(c);
            let errors_before = self.out.len();
            if !c.args.is_empty() && !c.has_splat() {
                self.emit(error(
                    Code::In4,
                    c.func.range(),
                    format!(
                        "Graph.__init__() takes 1 positional argument but {} were given. Use Graph(name=\"...\").",
                        c.args.len() + 1
                    ),
                )
                .about(Subject::class("Graph")));
            } else if !c.has_splat() && c.keyword("name").is_none() {
                self.emit(error(
                    Code::In2,
                    c.func.range(),
                    "1 validation error for Graph\nname\n  Field required [type=missing]. Pass name=\"...\" to Graph(...)."
                        .to_string(),
                )
                .about(Subject::field("Graph", "name")));
            }
            if self.out.len() > errors_before {
                // The constructor raised: there is no graph to draw conclusions about.
                return Val::Unknown;
            }
            let Applied::Graph(g) = self.op(Op::NewGraph) else {
                unreachable!("a new graph is a graph");
            };
            if self.collect_edges {
                self.graphs[g].created = Some((self.path.clone(), c.range));
                if let Some(Expr::Str { value, .. }) = c.arg(0, "name") {
                    self.graphs[g].name = Some(value.to_string());
                }
            }
            return Val::Graph(g);
        }
        let kind = self.class_kind(&cls);
        if !kind.worker {
            self.eval_args_escaping(c);
            if crate::analysis::checks::task_calls::task_call_fails(self.ctx, &self.path, c) {
                self.op(Op::RaisedUnseen);
            }
            return Val::Unknown;
        }
        // Worker arguments (e.g. a graph handed to a worker) escape.
        self.eval_args_escaping(c);
        // The worker's facts are what its graph operations consult: read on their side (see
        // `trace`), so a change to them replays the operations. Whether the instantiation
        // succeeds depends on them too, and a replay checks that it still does.
        self.ctx.begin_operation();
        let worker = self.instance_facts(&cls, c, kind);
        self.ctx.end_operation();
        let Some((facts, key)) = worker else {
            return Val::Unknown;
        };
        // Messages name a worker of a known class by its class (`display_of`): no text to
        // render (a builder instantiates every worker on each pass).
        let v = self.new_worker(Some(cls.clone()), Some(c), String::new());
        if let Val::Worker(w) = v {
            self.workers[w].facts = Some(facts);
            self.workers[w].instance = Some((kind, key.clone()));
            self.record(Op::NewWorker {
                class: cls,
                call: c.range,
                kind,
                key,
            });
        }
        v
    }

    /// The facts of the worker `cls(c)` and their key, looked up or derived (running the
    /// instantiation checks); `None` when the instantiation raises.
    fn instance_facts(
        &mut self,
        cls: &ClassRef,
        c: &'a CallExpr,
        kind: ClassKind,
    ) -> Option<(Arc<WorkerFacts>, FactKey)> {
        let cls = cls.clone();
        // One memoised lookup per instantiation: a builder that wires every worker is
        // re-run whenever any worker changes, and most of its workers have not.
        let key = self.fact_key(Fact::Worker, &cls, Some((&self.path, c)));
        let keep = memo::worthwhile(self.ctx, &key);
        if !keep {
            // A replay finds a worker's facts in the memo only.
            self.untraceable();
        }
        let cached = keep
            .then(|| memo::lookup::<Arc<WorkerFacts>>(self.ctx, &key))
            .flatten();
        let facts = match cached {
            Some(facts) => facts,
            _ => {
                let errors_before = self.out.len();
                let facts = self.derive_worker_facts(&cls, c, kind, key.clone(), keep);
                if self.out.len() > errors_before {
                    // What the instantiation reports comes from its facts, which a replay
                    // only looks up.
                    self.untraceable();
                }
                if self.out[errors_before..]
                    .iter()
                    .any(|d| d.code.as_str().starts_with("IN"))
                {
                    // The constructor raised: no worker exists, and a graph said to hold it
                    // never runs (independent mistakes elsewhere are still reported).
                    return None;
                }
                facts
            }
        };
        Some((facts, key))
    }

    /// Runs the instantiation checks of `cls(c)` (their diagnostics go to `out`) and derives
    /// what the graph checks need of the instance, memoised under `key` when `keep`.
    pub(super) fn derive_worker_facts(
        &mut self,
        cls: &ClassRef,
        c: &'a CallExpr,
        kind: ClassKind,
        key: FactKey,
        keep: bool,
    ) -> Arc<WorkerFacts> {
        let errors_before = self.out.len();
        let outer = keep.then(|| self.ctx.begin_query());
        if kind.mro_complete {
            self.instantiation_checks(cls, c);
        }
        let spec = InstanceSpec {
            class: cls,
            call: Some((&*self.path, c)),
        };
        let facts = Arc::new(WorkerFacts {
            clean: self.out.len() == errors_before,
            consumed: consumed_types(self.ctx, spec),
            outputs: output_types(self.ctx, spec),
        });
        if let Some(outer) = outer {
            memo::store(self.ctx, key, outer, Some(c), &facts);
        }
        facts
    }

    pub(super) fn subgraph(&mut self, c: &'a CallExpr) -> Val {
        // Its checks read the sub-graph's state and its exit worker's outputs directly.
        self.untraceable();
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
            )
            .about(Subject::class("SubGraphWorker")));
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
            let entries: Vec<WorkerId> = self.graphs[g]
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
                    )
                    .about(Subject::class(title.as_str())));
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
                    )
                    .about(Subject::class(title.as_str())));
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
                    )
                    .about(Subject::class(title.as_str())));
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

    pub(super) fn instantiation_checks(&mut self, cls: &ClassRef, c: &'a CallExpr) {
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
                )
                .about(Subject::class(owner)));
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
                        )
                        .about(Subject::field(name.as_str(), "output_types")));
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
                    )
                    .about(Subject::field(name.as_str(), "join_type")));
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
                    )
                    .about(Subject::class(name.as_str())));
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
                )
                .about(Subject::field(name.as_str(), missing[0].as_str())));
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
                        )
                        .about(Subject::class(name.as_str()));
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
                if let Some(d) = crate::analysis::checks::llm_output::rt8(
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
    pub(super) fn init_owner(&mut self, cls: &ClassRef) -> Option<String> {
        let mro = self.ctx.mro(cls);
        for k in &mro.classes {
            match k {
                ClassRef::User(..) => {
                    let (_, cs) = self.ctx.user_class(k)?;
                    if let Some(init) = cs.method("__init__") {
                        let p = init.bound_params();
                        let data_only = p.len() == 1
                            && p[0].kind == crate::analysis::summary::ParamKind::VarKeyword;
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
    pub(super) fn has_custom_init(&mut self, cls: &ClassRef) -> bool {
        let mro = self.ctx.mro(cls);
        mro.classes.iter().any(|k| {
            self.ctx.user_class(k).is_some_and(|(_, cs)| {
                cs.methods.iter().any(|m| {
                    (m.name == "__init__" || m.name == "__new__")
                        && !(m.bound_params().len() == 1
                            && m.bound_params()[0].kind
                                == crate::analysis::summary::ParamKind::VarKeyword)
                })
            })
        })
    }

    pub(super) fn field_names(&mut self, cls: &ClassRef) -> Vec<String> {
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
                                !matches!(t.dotted_last(), Some("ClassVar"))
                                    && !matches!(t, Expr::Subscript { value, .. } if value.dotted_last() == Some("ClassVar"))
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

    /// GC5/GC6: the downstream's `consume_work(_joined)` signature cannot be read, reported at
    /// `range` with the signature as related information.
    pub(super) fn signature_error(
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
}
