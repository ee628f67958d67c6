//! Name resolution across the workspace: modules, imports (absolute, relative, aliases,
//! re-exports, star imports), classes and their MRO, with PlanAI's own classes taken from the
//! builtin table. Anything that does not resolve is `Symbol::Unknown`, and dependent checks
//! stay silent.

use std::path::Path;
use std::sync::Arc;

use super::builtins;
pub use super::deps::ClassRef;
use super::deps::{DepItem, DepRecorder, FactKey};
use super::summary::{BindingKind, ClassSummary, Expr, FileSummary, FunctionSummary};
use super::{AnalysisHost, FileData, FxMap};
use crate::diagnostics::Diagnostic;

/// Maximum length of an import/re-export chain followed before giving up.
const MAX_DEPTH: usize = 24;

/// Deepest chain of workspace classes whose MRO is computed. A deeper hierarchy is treated as
/// unknown (its checks stay silent): every check unit recomputes the MROs it needs, each
/// merge costs the square of the MRO's length, and an unbounded chain of a few thousand
/// classes made one file take minutes. Real hierarchies are a handful of classes deep.
pub(crate) const MAX_CLASS_DEPTH: usize = 32;

/// The value a worker field has, for one instance or the class default.
#[derive(Debug, Clone)]
pub enum FieldValue {
    /// Given in source (a kwarg or a class-body default) in `path`.
    Expr(Arc<Path>, Expr),
    /// PlanAI's own default.
    Builtin(super::builtins::BuiltinDefault),
    /// Declared without a default anywhere along the MRO: required.
    Missing,
    Unknown,
}

/// Where a module lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModuleTarget {
    File(Arc<Path>),
    /// A planai / llm_interface module that is not in the workspace (served by the table).
    Builtin(String),
    /// Any other module outside the workspace (`typing`, `pydantic`, third-party).
    External(String),
}

/// What a name or dotted expression refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Symbol {
    Class(ClassRef),
    Module(ModuleTarget),
    /// A planai name that is not a table class (the `SubGraphWorker` factory, `tool`, ...).
    BuiltinOther(&'static str),
    /// A name from a module outside the workspace (`typing.List`, `pydantic.Field`).
    External {
        module: String,
        name: String,
    },
    /// A user function defined at module level.
    Function,
    /// A user variable or other value.
    Value,
    Unknown,
}

/// The MRO of a class. `complete` is false when some base did not resolve.
#[derive(Clone, Debug, Default)]
pub struct Mro {
    pub classes: Vec<ClassRef>,
    pub complete: bool,
}

/// Python builtins that may appear in annotations or bases.
const PY_BUILTINS: &[&str] = &[
    "list",
    "dict",
    "tuple",
    "set",
    "frozenset",
    "type",
    "object",
    "str",
    "int",
    "float",
    "bool",
    "bytes",
    "Exception",
    "print",
    "len",
    "isinstance",
    "issubclass",
    "super",
    "property",
    "staticmethod",
    "classmethod",
    "range",
    "enumerate",
    "zip",
    "sorted",
    "getattr",
    "setattr",
    "hasattr",
    "open",
    "any",
    "all",
    "min",
    "max",
    "sum",
    "map",
    "filter",
    "repr",
    "id",
    "iter",
    "next",
    "callable",
    "ValueError",
    "TypeError",
    "KeyError",
    "RuntimeError",
];

/// A query context: the host plus memo tables for one diagnostics computation.
pub struct Ctx<'h> {
    pub host: &'h AnalysisHost,
    mro_cache: FxMap<ClassRef, Arc<Mro>>,
    /// How many `compute_mro` calls are on the stack (bounded by `MAX_CLASS_DEPTH`).
    mro_depth: usize,
    /// Memo for `consumed::dynamic_fields` (called for every field lookup).
    pub(crate) dynamic_cache: FxMap<ClassRef, Arc<std::collections::HashSet<String>>>,
    /// Memo for `resolve_global`, keyed by the address of the host-owned file path (stable
    /// while the host is borrowed) and the name.
    /// (Names as `ecow` strings: stored inline up to 15 bytes, so a miss allocates nothing.)
    global_cache: std::cell::RefCell<FxMap<usize, FxMap<super::summary::Name, Symbol>>>,
    /// Host files by the address of a path handed in (see `resolve_global` on why addresses
    /// are stable for a query); avoids re-hashing paths component by component.
    file_cache: std::cell::RefCell<FxMap<usize, &'h Arc<FileData>>>,
    builtin_file_cache: std::cell::RefCell<FxMap<usize, bool>>,
    /// Memo for `consumed::class_field`.
    pub(crate) field_cache: FxMap<ClassRef, FxMap<String, FieldValue>>,
    /// What the current check unit has read (see `analysis::incremental`).
    deps: std::cell::RefCell<DepRecorder<'h>>,
    /// Results computed inside one unit on behalf of another unit of the same pass, with
    /// what computing them read (see `capture`): the graph interpreter inlines a factory into
    /// the module code, and the factory's own unit replays that instead of interpreting it
    /// again. Kept across units (unlike the memos above), since a replay records its reads.
    captures: FxMap<usize, Captured<'h>>,
    replayed: usize,
    /// What the graph checks of the current unit did, for a later replay (see
    /// `checks::graph::trace`); opaque here.
    unit_trace: Option<Box<dyn std::any::Any + Send + Sync>>,
    /// While a unit keeps its graph operations' reads apart from its evaluation's
    /// (`separate_operations`): the memos and record of the side not running now. Each side
    /// has memos of its own, so a memo hit on one side never hides a read the other made.
    other_side: Option<OuterQuery<'h>>,
    /// Whether a graph operation is running (see `begin_operation`).
    in_operation: bool,
    /// Whether the current unit's graph operations are worth keeping for a replay (see
    /// `want_trace`).
    trace_wanted: bool,
    /// How many memoised facts are being computed (`begin_query` without `end_query`): a
    /// unit asks for facts at depth 0 (see `memo`'s early cutoff).
    query_depth: usize,
    /// Memoised facts found valid on `host` in this context's life (see `memo::validated`).
    /// (Type-erased: the entries are the memo's own type, and it is the layer above.)
    pub(crate) valid_facts: std::cell::RefCell<FxMap<FactKey, ValidFact>>,
}

/// A memoised fact's entry, found valid on a context's host (see `memo::validated`).
pub(crate) type ValidFact = Arc<dyn std::any::Any + Send + Sync>;

/// Diagnostics one computation produced, and what it read: its evaluation, and (kept apart
/// when its unit separates them) its graph operations.
pub(crate) struct Captured<'h> {
    pub diagnostics: Vec<Diagnostic>,
    pub evaluation: DepRecorder<'h>,
    pub operations: DepRecorder<'h>,
    /// The graph operations behind the diagnostics, when they can be replayed.
    pub ops: Option<Box<dyn std::any::Any + Send + Sync>>,
    /// Captured by a replay of graph operations, which reads only what the operations read:
    /// only the factory unit's own replay (which adds what its evaluation read) may use it.
    pub replayed: bool,
}

/// The state of the unit (or fact) that asked for a fact being computed.
#[derive(Default)]
pub(crate) struct OuterQuery<'h> {
    mro_cache: FxMap<ClassRef, Arc<Mro>>,
    dynamic_cache: FxMap<ClassRef, Arc<std::collections::HashSet<String>>>,
    global_cache: FxMap<usize, FxMap<super::summary::Name, Symbol>>,
    field_cache: FxMap<ClassRef, FxMap<String, FieldValue>>,
    deps: DepRecorder<'h>,
    /// For a capture: the operations' side it set aside (see `begin_capture`).
    other_side: Option<Box<OuterQuery<'h>>>,
}

impl<'h> Ctx<'h> {
    pub fn new(host: &'h AnalysisHost) -> Self {
        Ctx {
            host,
            mro_cache: FxMap::default(),
            mro_depth: 0,
            dynamic_cache: FxMap::default(),
            global_cache: Default::default(),
            file_cache: Default::default(),
            builtin_file_cache: Default::default(),
            field_cache: FxMap::default(),
            deps: Default::default(),
            captures: FxMap::default(),
            replayed: 0,
            unit_trace: None,
            other_side: None,
            in_operation: false,
            trace_wanted: false,
            query_depth: 0,
            valid_facts: Default::default(),
        }
    }

    /// Starts a check unit: forgets the memos (their results were read on behalf of earlier
    /// units, so a hit would hide a dependency) and starts recording what the unit reads.
    pub(crate) fn begin_unit(&mut self) {
        self.mro_cache.clear();
        self.dynamic_cache.clear();
        self.global_cache.get_mut().clear();
        self.field_cache.clear();
        self.deps.get_mut().clear();
        self.unit_trace = None;
        self.other_side = None;
        self.in_operation = false;
        self.trace_wanted = false;
    }

    /// The current unit's graph checks keep what they do for a replay (see
    /// `checks::graph::trace`): asked when the unit's text is what it was last time (a unit
    /// whose text changes with every keystroke, a graph builder being edited, would pay for
    /// keeping a trace it never replays).
    pub(crate) fn want_trace(&mut self, wanted: bool) {
        self.trace_wanted = wanted;
    }

    pub(crate) fn trace_wanted(&self) -> bool {
        self.trace_wanted
    }

    /// From now on, the current unit records what its graph operations read apart from what
    /// its evaluation reads (see `checks::graph::trace`): a replay of the operations is valid
    /// while the evaluation's reads are unchanged.
    pub(crate) fn separate_operations(&mut self) {
        if self.other_side.is_none() {
            self.other_side = Some(OuterQuery::default());
        }
    }

    fn swap_sides(&mut self) {
        if let Some(other) = self.other_side.as_mut() {
            std::mem::swap(&mut self.mro_cache, &mut other.mro_cache);
            std::mem::swap(&mut self.dynamic_cache, &mut other.dynamic_cache);
            std::mem::swap(self.global_cache.get_mut(), &mut other.global_cache);
            std::mem::swap(&mut self.field_cache, &mut other.field_cache);
            std::mem::swap(self.deps.get_mut(), &mut other.deps);
        }
    }

    /// A graph operation starts: what it reads goes to the operations' side.
    pub(crate) fn begin_operation(&mut self) {
        if !self.in_operation && self.other_side.is_some() {
            self.swap_sides();
            self.in_operation = true;
        }
    }

    pub(crate) fn end_operation(&mut self) {
        if self.in_operation {
            self.swap_sides();
            self.in_operation = false;
        }
    }

    /// What the current unit read: with `split`, when the unit separated its graph
    /// operations, what its evaluation read and what the operations read; else all of it.
    pub(crate) fn take_unit_deps_split(
        &mut self,
        split: bool,
    ) -> (DepRecorder<'h>, Option<DepRecorder<'h>>) {
        self.end_operation();
        let mut deps = std::mem::take(self.deps.get_mut());
        let Some(other) = self.other_side.take() else {
            return (deps, None);
        };
        if split {
            return (deps, Some(other.deps));
        }
        deps.merge(&other.deps);
        (deps, None)
    }

    /// Keeps what the current unit's graph checks did (see `checks::graph::trace`).
    pub(crate) fn set_unit_trace(&mut self, trace: Option<Box<dyn std::any::Any + Send + Sync>>) {
        self.unit_trace = trace;
    }

    pub(crate) fn take_unit_trace(&mut self) -> Option<Box<dyn std::any::Any + Send + Sync>> {
        self.unit_trace.take()
    }

    /// Starts computing a memoised fact (see `analysis::memo`): what it reads is recorded on
    /// its own, and the unit's memos are set aside, since a hit in them would hide a read.
    pub(crate) fn begin_query(&mut self) -> OuterQuery<'h> {
        self.query_depth += 1;
        self.set_aside()
    }

    /// The unit's (or fact's) memos and record, replaced by empty ones.
    fn set_aside(&mut self) -> OuterQuery<'h> {
        OuterQuery {
            mro_cache: std::mem::take(&mut self.mro_cache),
            dynamic_cache: std::mem::take(&mut self.dynamic_cache),
            global_cache: std::mem::take(self.global_cache.get_mut()),
            field_cache: std::mem::take(&mut self.field_cache),
            deps: std::mem::take(self.deps.get_mut()),
            other_side: None,
        }
    }

    /// Ends what `begin_query` started without recording the fact's reads in the asker:
    /// returns them (`memo::store` records the fact itself instead, or `replay`s them).
    pub(crate) fn end_query(&mut self, outer: OuterQuery<'h>) -> DepRecorder<'h> {
        self.query_depth = self.query_depth.saturating_sub(1);
        self.restore(outer)
    }

    /// Puts back what `set_aside` took, returning what was recorded since.
    fn restore(&mut self, outer: OuterQuery<'h>) -> DepRecorder<'h> {
        self.mro_cache = outer.mro_cache;
        self.dynamic_cache = outer.dynamic_cache;
        *self.global_cache.get_mut() = outer.global_cache;
        self.field_cache = outer.field_cache;
        std::mem::replace(self.deps.get_mut(), outer.deps)
    }

    /// Starts a computation whose result another unit of this pass may replay (see
    /// `captures`): what it reads is recorded on its own as well as in the current unit.
    /// Unlike `begin_query` it runs at the current query depth, so it reads exactly what it
    /// would read in the other unit.
    pub(crate) fn begin_capture(&mut self) -> OuterQuery<'h> {
        let mut outer = self.set_aside();
        outer.other_side = self
            .other_side
            .as_mut()
            .map(|other| Box::new(std::mem::take(other)));
        outer
    }

    /// Ends what `begin_capture` started: the current unit keeps the reads, and
    /// `diagnostics` with those reads are kept under `key` for `replay_capture`.
    pub(crate) fn end_capture(
        &mut self,
        mut outer: OuterQuery<'h>,
        key: usize,
        diagnostics: Option<Vec<Diagnostic>>,
        ops: Option<Box<dyn std::any::Any + Send + Sync>>,
        replayed: bool,
    ) {
        let operations = match (self.other_side.as_mut(), outer.other_side.take()) {
            (Some(side), Some(outer_side)) => {
                let captured = std::mem::replace(side, *outer_side);
                side.deps.merge(&captured.deps);
                captured.deps
            }
            _ => DepRecorder::default(),
        };
        let evaluation = self.restore(outer);
        self.deps.get_mut().merge(&evaluation);
        if let Some(diagnostics) = diagnostics {
            let captured = Captured {
                diagnostics,
                evaluation,
                operations,
                ops,
                replayed,
            };
            self.captures.insert(key, captured);
        }
    }

    /// The diagnostics captured under `key` in an earlier unit of this pass, recording their
    /// reads in the current unit. `replayed`: the asker is a replay of graph operations,
    /// which may also take a capture made by one (see `Captured::replayed`).
    pub(crate) fn replay_capture(&mut self, key: usize, replayed: bool) -> Option<&[Diagnostic]> {
        let captured = self.captures.get(&key)?;
        if captured.replayed && !replayed {
            return None;
        }
        self.deps.get_mut().merge(&captured.evaluation);
        match self.other_side.as_mut() {
            Some(side) => side.deps.merge(&captured.operations),
            None => self.deps.get_mut().merge(&captured.operations),
        }
        self.replayed += 1;
        Some(&captured.diagnostics)
    }

    /// Takes the graph operations kept with the capture under `key` (see `replay_capture`):
    /// the one unit that replays a capture owns them from then on.
    pub(crate) fn take_captured_ops(
        &mut self,
        key: usize,
    ) -> Option<Box<dyn std::any::Any + Send + Sync>> {
        self.captures.get_mut(&key)?.ops.take()
    }

    /// How many captured results were replayed.
    pub(crate) fn replayed(&self) -> usize {
        self.replayed
    }

    /// Records `reads` (what a fact computation read) in the current unit or fact.
    pub(crate) fn replay(&mut self, reads: &DepRecorder<'h>) {
        self.deps.get_mut().merge_reads(reads);
    }

    /// Whether a check unit itself (not a memoised fact being computed) is asking.
    pub(crate) fn at_unit_level(&self) -> bool {
        self.query_depth == 0
    }

    /// Records that the current unit used the memoised fact `key`, whose value has `cutoff`.
    pub(crate) fn record_fact(&self, key: &FactKey, cutoff: u64) {
        self.deps.borrow_mut().fact(key, cutoff);
    }

    /// Records that the current unit read `item` of `file` (a memoised fact's reads).
    pub(crate) fn record_read(&self, file: &'h Arc<FileData>, item: DepItem) {
        self.deps.borrow_mut().read(file, item);
    }

    /// Records that the current unit asked the usage index `query`.
    pub(crate) fn record_usage(&self, query: super::usage::UsageQuery) {
        self.deps.borrow_mut().read_usage(query);
    }

    /// Makes room for a unit that recorded `sizes` last time: its record, and the facts found
    /// valid, which it will look up again.
    pub(crate) fn reserve_unit_deps(&mut self, sizes: super::deps::RecordSizes) {
        self.deps.get_mut().reserve(sizes);
        self.valid_facts.get_mut().reserve(sizes.facts);
    }

    /// Ends a check unit, returning what it read.
    pub(crate) fn take_unit_deps(&mut self) -> DepRecorder<'h> {
        self.take_unit_deps_split(false).0
    }

    /// Whether some call `callee(kw=...)` (or `callee(**x)`) exists in the workspace; the
    /// current unit depends on the answer.
    pub(crate) fn kwarg_used(&self, callee: &str, kw: &str) -> bool {
        super::usage::UsageQuery::kwarg(callee, kw).iter().any(|q| {
            self.record_usage(*q);
            self.host.usage.answer(*q)
        })
    }

    /// Whether some class uses `name` as a base; the current unit depends on the answer.
    pub(crate) fn used_as_base(&self, name: &str) -> bool {
        let query = super::usage::UsageQuery::base(name);
        self.record_usage(query);
        self.host.usage.answer(query)
    }

    /// A file of the host. Getting it records no read: whoever reads a part of it records
    /// that part (a name's bindings, a class, a function, the module flags). A unit's own
    /// class, function or module body is covered by the unit's own fingerprint.
    pub fn file(&self, path: &Path) -> Option<&'h Arc<FileData>> {
        let key = path.as_os_str().as_encoded_bytes().as_ptr() as usize;
        if let Some(f) = self.file_cache.borrow().get(&key).copied() {
            return Some(f);
        }
        let host: &'h AnalysisHost = self.host;
        let f = host.files.get(path)?;
        self.file_cache.borrow_mut().insert(key, f);
        Some(f)
    }

    /// Records that the current unit read the bindings of the module-level `name` of `file`.
    pub(crate) fn read_name(&self, file: &'h Arc<FileData>, name: &str) {
        self.deps
            .borrow_mut()
            .read(file, DepItem::Name(super::summary::name_key(name)));
    }

    /// Records that the current unit read `file`'s star imports and `__future__` flag.
    pub(crate) fn read_module_flags(&self, file: &'h Arc<FileData>) {
        self.deps.borrow_mut().read(file, DepItem::ModuleFlags);
    }

    /// Whether the definition `def` of `file` contains a syntax error; reading it makes the
    /// current unit depend on that (`DepItem::ClassStatus`), not on the whole scope.
    pub(crate) fn is_erroneous(
        &self,
        file: &'h Arc<FileData>,
        def: super::summary::DefRef,
    ) -> bool {
        self.deps.borrow_mut().read(file, DepItem::status_of(def));
        file.summary.as_deref().is_some_and(|s| s.is_erroneous(def))
    }

    pub fn summary(&self, path: &Path) -> Option<&'h FileSummary> {
        self.file(path).and_then(|f| f.summary.as_deref())
    }

    pub fn user_class(&self, c: &ClassRef) -> Option<(&'h Arc<Path>, &'h ClassSummary)> {
        match c {
            ClassRef::User(p, i) => {
                let f = self.file(p)?;
                let s = f.summary.as_deref()?;
                let class = s.classes.get(*i)?;
                self.deps.borrow_mut().read(f, DepItem::Class(*i as u32));
                Some((&f.path, class))
            }
            ClassRef::Builtin(_) => None,
        }
    }

    /// The module-level function `name` names in `path`'s module scope — defined there or
    /// imported from a workspace module — when every name on the way is bound once,
    /// unconditionally, and the function has no syntax errors. Reading it makes the current
    /// unit depend on the function's text.
    pub fn resolve_function(
        &self,
        path: &Path,
        name: &str,
    ) -> Option<(Arc<Path>, &'h FunctionSummary)> {
        // An `ecow` name: inline up to 15 bytes, so following the name allocates nothing.
        let (mut path, mut name) = (
            self.file(path)?.path.clone(),
            super::summary::Name::from(name),
        );
        for _ in 0..MAX_DEPTH {
            let f = self.file(&path)?;
            let s = f.summary.as_deref()?;
            self.read_name(f, &name);
            let [binding] = s.bindings.get(name.as_str())?.as_slice() else {
                return None;
            };
            if binding.conditional {
                return None;
            }
            match binding.kind() {
                BindingKind::Function(i) => {
                    if self.is_erroneous(f, super::summary::DefRef::Function(i)) {
                        return None;
                    }
                    let function = s.functions.get(i)?;
                    self.deps.borrow_mut().read(f, DepItem::Function(i as u32));
                    return Some((f.path.clone(), function));
                }
                BindingKind::Import(i) => {
                    let import = s.imports.get(i)?;
                    let member = import.member.clone()?;
                    match self.resolve_module(&f.path, import.level, &import.module)? {
                        ModuleTarget::File(p) => {
                            path = p;
                            name = member;
                        }
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
        None
    }

    pub fn class_name(&self, c: &ClassRef) -> String {
        match c {
            ClassRef::Builtin(id) => builtins::class(*id).name.to_string(),
            // Only the name is read: a unit that names a worker's class in a message does not
            // depend on the class body (see `DepItem::ClassName`).
            ClassRef::User(p, i) => {
                let Some(file) = self.file(p) else {
                    return String::new();
                };
                let Some(class) = file.summary.as_deref().and_then(|s| s.classes.get(*i)) else {
                    return String::new();
                };
                self.deps
                    .borrow_mut()
                    .read(file, DepItem::ClassName(*i as u32));
                class.name.to_string()
            }
        }
    }

    /// `<class 'module.Name'>`, as PlanAI messages print a class object.
    pub fn class_repr(&self, c: &ClassRef) -> String {
        let module = match c {
            ClassRef::Builtin(id) => builtins::class(*id).module.to_string(),
            ClassRef::User(p, _) => self
                .host
                .module_names
                .get(&**p)
                .and_then(|v| v.first().cloned())
                .unwrap_or_else(|| "__main__".to_string()),
        };
        format!("<class '{}.{}'>", module, self.class_name(c))
    }

    /// Whether `path`'s module is part of the planai package itself.
    fn is_builtin_file(&self, path: &Path) -> bool {
        let key = path.as_os_str().as_encoded_bytes().as_ptr() as usize;
        if let Some(b) = self.builtin_file_cache.borrow().get(&key) {
            return *b;
        }
        let b = self
            .host
            .module_names
            .get(path)
            .is_some_and(|names| names.iter().any(|n| builtins::is_builtin_module(n)));
        self.builtin_file_cache.borrow_mut().insert(key, b);
        b
    }

    /// Resolves an import's module from the importing file.
    pub fn resolve_module(&self, from: &Path, level: u32, module: &str) -> Option<ModuleTarget> {
        if level > 0 {
            let mut dir = from.parent()?;
            for _ in 1..level {
                dir = dir.parent()?;
            }
            let mut p = dir.to_path_buf();
            if !module.is_empty() {
                for part in module.split('.') {
                    p.push(part);
                }
            }
            if let Some(f) = self
                .host
                .files
                .get_key_value(p.join("__init__.py").as_path())
            {
                return Some(ModuleTarget::File(f.1.path.clone()));
            }
            let mut py = p.clone().into_os_string();
            py.push(".py");
            if let Some(f) = self.host.files.get(Path::new(&py)) {
                return Some(ModuleTarget::File(f.path.clone()));
            }
            // A relative import inside planai's own package that is not in the workspace.
            let importer = self.host.module_names.get(from)?.first()?;
            if builtins::is_builtin_module(importer) {
                return Some(ModuleTarget::Builtin(format!("planai.{module}")));
            }
            return None;
        }
        if let Some(candidates) = self.host.modules.get(module) {
            // Prefer the candidate closest to the importer (sibling scripts, nested projects).
            let best = candidates
                .iter()
                .max_by_key(|c| common_prefix_len(c, from))
                .cloned();
            if let Some(b) = best {
                return Some(ModuleTarget::File(b));
            }
        }
        if builtins::is_builtin_module(module) {
            return Some(ModuleTarget::Builtin(module.to_string()));
        }
        Some(ModuleTarget::External(module.to_string()))
    }

    /// `name` as a member of `module` (`from module import name` / `module.name`).
    pub fn resolve_member(&self, module: &ModuleTarget, name: &str, depth: usize) -> Symbol {
        if depth > MAX_DEPTH {
            return Symbol::Unknown;
        }
        match module {
            ModuleTarget::Builtin(q) => builtin_member(q, name),
            ModuleTarget::External(q) => Symbol::External {
                module: q.clone(),
                name: name.to_string(),
            },
            ModuleTarget::File(path) => {
                if self.is_builtin_file(path) {
                    if let Some(id) = builtins::class_by_name(name) {
                        return Symbol::Class(ClassRef::Builtin(id));
                    }
                    if let Some(o) = builtins::OTHER_NAMES.iter().find(|o| **o == name) {
                        return Symbol::BuiltinOther(o);
                    }
                }
                let sym = self.resolve_global(path, name, depth + 1);
                if sym != Symbol::Unknown {
                    return sym;
                }
                // `from pkg import submodule`.
                if path.file_name().is_some_and(|f| f == "__init__.py") {
                    if let Some(dir) = path.parent() {
                        let sub = dir.join(format!("{name}.py"));
                        if let Some(f) = self.host.files.get(sub.as_path()) {
                            return Symbol::Module(ModuleTarget::File(f.path.clone()));
                        }
                        let sub = dir.join(name).join("__init__.py");
                        if let Some(f) = self.host.files.get(sub.as_path()) {
                            return Symbol::Module(ModuleTarget::File(f.path.clone()));
                        }
                    }
                }
                Symbol::Unknown
            }
        }
    }

    /// A module-level name of `file`.
    pub fn resolve_global(&self, file: &Path, name: &str, depth: usize) -> Symbol {
        if depth > MAX_DEPTH {
            return Symbol::Unknown;
        }
        // Keyed by the address of the path: every path handed in lives for the whole query
        // (host-owned `Arc<Path>`s or the caller's borrowed path), so addresses are not reused.
        let key = file.as_os_str().as_encoded_bytes().as_ptr() as usize;
        if let Some(sym) = self
            .global_cache
            .borrow()
            .get(&key)
            .and_then(|m| m.get(name))
        {
            return sym.clone();
        }
        let Some(f) = self.file(file) else {
            return Symbol::Unknown;
        };
        let sym = self.resolve_global_uncached(f, name, depth);
        // Results cut short by the depth limit are not memoised.
        if depth == 0 || sym != Symbol::Unknown {
            self.global_cache
                .borrow_mut()
                .entry(key)
                .or_default()
                .insert(super::summary::Name::from(name), sym.clone());
        }
        sym
    }

    fn resolve_global_uncached(&self, f: &'h Arc<FileData>, name: &str, depth: usize) -> Symbol {
        let Some(summary) = f.summary.as_deref() else {
            return Symbol::Unknown;
        };
        self.read_name(f, name);
        match summary.bindings.get(name) {
            Some(bindings) => {
                let mut result: Option<Symbol> = None;
                for b in bindings {
                    let sym = match b.kind() {
                        BindingKind::Class(i)
                            if self.is_erroneous(f, super::summary::DefRef::Class(i)) =>
                        {
                            Symbol::Unknown
                        }
                        BindingKind::Function(i)
                            if self.is_erroneous(f, super::summary::DefRef::Function(i)) =>
                        {
                            Symbol::Unknown
                        }
                        BindingKind::Class(i) => {
                            if self.is_builtin_file(&f.path) {
                                match builtins::class_by_name(name) {
                                    Some(id) => Symbol::Class(ClassRef::Builtin(id)),
                                    None => Symbol::Class(ClassRef::User(f.path.clone(), i)),
                                }
                            } else {
                                Symbol::Class(ClassRef::User(f.path.clone(), i))
                            }
                        }
                        BindingKind::Function(_) => Symbol::Function,
                        BindingKind::Value => Symbol::Value,
                        BindingKind::Import(i) => {
                            let imp = &summary.imports[i];
                            match self.resolve_module(&f.path, imp.level, &imp.module) {
                                None => Symbol::Unknown,
                                Some(m) => match &imp.member {
                                    Some(member) => self.resolve_member(&m, member, depth + 1),
                                    None => Symbol::Module(m),
                                },
                            }
                        }
                    };
                    match &result {
                        None => result = Some(sym),
                        Some(prev) if *prev == sym => {}
                        // Rebound to something else (try/except fallbacks, reassignment).
                        Some(_) => return Symbol::Unknown,
                    }
                }
                result.unwrap_or(Symbol::Unknown)
            }
            None => {
                self.read_module_flags(f);
                for (level, module) in &summary.star_imports {
                    if let Some(m) = self.resolve_module(&f.path, *level, module) {
                        if matches!(m, ModuleTarget::External(_)) {
                            return Symbol::Unknown;
                        }
                        let sym = self.resolve_member(&m, name, depth + 1);
                        if sym != Symbol::Unknown {
                            return sym;
                        }
                    } else {
                        return Symbol::Unknown;
                    }
                }
                if PY_BUILTINS.contains(&name) {
                    return Symbol::External {
                        module: "builtins".into(),
                        name: name.into(),
                    };
                }
                Symbol::Unknown
            }
        }
    }

    /// A (dotted) expression evaluated in `file`'s module scope.
    pub fn resolve_expr(&self, file: &Path, e: &Expr) -> Symbol {
        match e {
            Expr::Name { id, .. } => self.resolve_global(file, id, 0),
            Expr::Attribute { value, attr, .. } => match self.resolve_expr(file, value) {
                Symbol::Module(m) => self.resolve_member(&m, attr, 0),
                Symbol::External { module, name } => Symbol::External {
                    module: format!("{module}.{name}"),
                    name: attr.to_string(),
                },
                _ => Symbol::Unknown,
            },
            _ => Symbol::Unknown,
        }
    }

    /// `e` as a class, if it resolves to one.
    pub fn resolve_class(&self, file: &Path, e: &Expr) -> Option<ClassRef> {
        match self.resolve_expr(file, e) {
            Symbol::Class(c) => Some(c),
            _ => None,
        }
    }

    /// The MRO of `c` (C3 linearisation over the resolved bases).
    pub fn mro(&mut self, c: &ClassRef) -> Arc<Mro> {
        if let Some(m) = self.mro_cache.get(c) {
            return m.clone();
        }
        // Guard against inheritance cycles in broken code.
        self.mro_cache.insert(
            c.clone(),
            Arc::new(Mro {
                classes: vec![c.clone()],
                complete: false,
            }),
        );
        let m = Arc::new(self.compute_mro(c));
        self.mro_cache.insert(c.clone(), m.clone());
        m
    }

    fn compute_mro(&mut self, c: &ClassRef) -> Mro {
        match c {
            ClassRef::Builtin(id) => Mro {
                classes: builtins::mro(*id)
                    .into_iter()
                    .map(ClassRef::Builtin)
                    .collect(),
                complete: true,
            },
            ClassRef::User(_, _) if self.mro_depth >= MAX_CLASS_DEPTH => Mro {
                classes: vec![c.clone()],
                complete: false,
            },
            ClassRef::User(path, _) => {
                let Some((_, class)) = self.user_class(c) else {
                    return Mro::default();
                };
                let mut complete = !class.has_class_keywords;
                let mut seqs: Vec<Vec<ClassRef>> = Vec::new();
                let mut direct = Vec::new();
                for base in &class.bases {
                    match self.resolve_expr(path, base) {
                        Symbol::Class(b) => {
                            self.mro_depth += 1;
                            let m = self.mro(&b);
                            self.mro_depth -= 1;
                            complete &= m.complete;
                            seqs.push(m.classes.clone());
                            direct.push(b);
                        }
                        Symbol::External { module, name }
                            if harmless_external_base(&module, &name) => {}
                        _ => {
                            // `Generic[T]` and other subscripted bases are harmless too.
                            if let Expr::Subscript { value, .. } = base {
                                if let Symbol::External { module, name } =
                                    self.resolve_expr(path, value)
                                {
                                    if module == "typing" && name == "Generic" {
                                        continue;
                                    }
                                }
                            }
                            complete = false;
                        }
                    }
                }
                seqs.push(direct);
                let mut out = vec![c.clone()];
                match c3_merge(seqs.clone()) {
                    Some(rest) => out.extend(rest),
                    None => {
                        complete = false;
                        for s in seqs {
                            for x in s {
                                if !out.contains(&x) {
                                    out.push(x);
                                }
                            }
                        }
                    }
                }
                Mro {
                    classes: out,
                    complete,
                }
            }
        }
    }

    /// Whether `c` is `target` or a subclass of it.
    pub fn is_subclass(&mut self, c: &ClassRef, target: &ClassRef) -> bool {
        self.mro(c).classes.contains(target)
    }

    /// Whether `c` derives from the builtin class `name` (e.g. "TaskWorker").
    pub fn derives_from_builtin(&mut self, c: &ClassRef, name: &str) -> bool {
        match builtins::class_by_name(name) {
            Some(id) => self.is_subclass(c, &ClassRef::Builtin(id)),
            None => false,
        }
    }
}

fn builtin_member(module: &str, name: &str) -> Symbol {
    if let Some(id) = builtins::class_by_name(name) {
        return Symbol::Class(ClassRef::Builtin(id));
    }
    if let Some(o) = builtins::OTHER_NAMES.iter().find(|o| **o == name) {
        return Symbol::BuiltinOther(o);
    }
    if name.chars().next().is_some_and(|c| c.is_lowercase()) {
        return Symbol::Module(ModuleTarget::Builtin(format!("{module}.{name}")));
    }
    Symbol::Unknown
}

fn harmless_external_base(module: &str, name: &str) -> bool {
    matches!(
        (module, name),
        ("pydantic", "BaseModel")
            | ("pydantic.main", "BaseModel")
            | ("abc", "ABC")
            | ("builtins", "object")
            | ("typing", "Generic")
    )
}

fn c3_merge(seqs: Vec<Vec<ClassRef>>) -> Option<Vec<ClassRef>> {
    // Each sequence is read through a cursor: removing heads from the front of vectors made
    // every step quadratic in the MRO's length.
    let mut heads = vec![0usize; seqs.len()];
    let mut out = Vec::new();
    loop {
        let live: Vec<usize> = (0..seqs.len())
            .filter(|&i| heads[i] < seqs[i].len())
            .collect();
        if live.is_empty() {
            return Some(out);
        }
        let candidate = live.iter().find_map(|&i| {
            let head = &seqs[i][heads[i]];
            let in_tail = live.iter().any(|&j| seqs[j][heads[j] + 1..].contains(head));
            (!in_tail).then(|| head.clone())
        })?;
        for &i in &live {
            if seqs[i][heads[i]] == candidate {
                heads[i] += 1;
            }
        }
        out.push(candidate);
    }
}

fn common_prefix_len(a: &Path, b: &Path) -> usize {
    a.components()
        .zip(b.components())
        .take_while(|(x, y)| x == y)
        .count()
}

/// Dotted module names a file is importable as, given the set of known files: the package
/// chain (`__init__.py` in each parent) first, then the path relative to each root (and
/// `root/src`), which covers namespace packages.
pub fn module_names_for(
    path: &Path,
    roots: &[std::path::PathBuf],
    has_file: &dyn Fn(&Path) -> bool,
) -> Vec<String> {
    let mut names = Vec::new();
    let stem = match path.file_stem().and_then(|s| s.to_str()) {
        Some(s) => s,
        None => return names,
    };
    let is_init = stem == "__init__";
    let mut parts: Vec<String> = Vec::new();
    if !is_init {
        parts.push(stem.to_string());
    }
    let mut dir = path.parent();
    while let Some(d) = dir {
        if !has_file(&d.join("__init__.py")) {
            break;
        }
        match d.file_name().and_then(|n| n.to_str()) {
            Some(n) => parts.push(n.to_string()),
            None => break,
        }
        dir = d.parent();
    }
    parts.reverse();
    if !parts.is_empty() && parts.iter().all(|p| is_identifier(p)) {
        names.push(parts.join("."));
    }
    for root in roots {
        for base in [root.clone(), root.join("src")] {
            if let Ok(rel) = path.strip_prefix(&base) {
                let mut comps: Vec<String> = rel
                    .components()
                    .filter_map(|c| c.as_os_str().to_str().map(|s| s.to_string()))
                    .collect();
                if let Some(last) = comps.last_mut() {
                    *last = last.trim_end_matches(".py").to_string();
                }
                if comps.last().is_some_and(|l| l == "__init__") {
                    comps.pop();
                }
                if !comps.is_empty() && comps.iter().all(|p| is_identifier(p)) {
                    let n = comps.join(".");
                    if !names.contains(&n) {
                        names.push(n);
                    }
                }
            }
        }
    }
    names
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}
