//! What a check unit is and what it reads: the vocabulary that `resolve` (which records the
//! reads), `memo` (which keeps facts with their reads) and `incremental` (which keeps unit
//! results with theirs) share. It sits below all three, so each depends on it and none on a
//! module above it: `resolve` → `deps`, `memo` → `resolve`, `incremental` → `memo`.

use std::path::Path;
use std::sync::Arc;

use super::builtins::BuiltinId;
use super::summary::{ClassSummary, DefRef, Expr, FileSummary};
use super::usage::{self, UsageQuery};
use super::{FileData, FxMap};

/// A class, identified exactly as Python would (one `class` statement = one class object).
#[derive(Clone, Debug, Eq)]
pub enum ClassRef {
    User(Arc<Path>, usize),
    Builtin(BuiltinId),
}

impl PartialEq for ClassRef {
    /// Paths are compared by address first: classes of one file share its path allocation,
    /// and memo lookups compare keys often.
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (ClassRef::User(p, i), ClassRef::User(q, j)) => i == j && (Arc::ptr_eq(p, q) || p == q),
            (ClassRef::Builtin(a), ClassRef::Builtin(b)) => a == b,
            _ => false,
        }
    }
}

impl std::hash::Hash for ClassRef {
    /// Hashes the class index, the path length and its last bytes only: cheap, and equal
    /// classes (equal paths) always hash equally; `Eq` settles the rare collisions.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            ClassRef::Builtin(id) => {
                state.write_u8(0);
                state.write_usize(*id);
            }
            ClassRef::User(p, i) => {
                let bytes = p.as_os_str().as_encoded_bytes();
                state.write_u8(1);
                state.write_usize(*i);
                state.write_usize(bytes.len());
                state.write(&bytes[bytes.len().saturating_sub(16)..]);
            }
        }
    }
}

/// Which fact a memoised value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fact {
    /// `consumed::consumed_types` of a worker instance.
    Consumed,
    /// `consumed::output_types` of a worker instance.
    Outputs,
    /// What the graph checks need of a worker instance: whether its instantiation checks
    /// found nothing, what it consumes and what it produces.
    Worker,
    /// Which PlanAI bases a class derives from, and whether its MRO is complete.
    ClassKind,
    /// What a worker instance publishes (sites relative to their class).
    Published,
    /// Every field name of a PlanAI model class, when all are known (IN9).
    ModelFields,
}

/// What a fact is about: a class and, for an instance, the call that made it (its file and a
/// hash of its source text; `0` when there is no call).
///
/// The key carries its own hash, computed once in `new`: a validation looks every fact of a
/// wired module up in three maps (the fact cache, the pass's cutoffs, the unit's reads), and
/// hashing the class's and the call's paths each time was a third of validating a keystroke.
///
/// The fields are read through accessors: a field changed after `new` would leave the hash
/// stale.
#[derive(Debug, Clone, Eq)]
pub struct FactKey {
    fact: Fact,
    class: ClassRef,
    call_file: Option<FilePath>,
    call_text: u64,
    hash: u64,
}

impl FactKey {
    pub fn new(fact: Fact, class: ClassRef, call_file: Option<FilePath>, call_text: u64) -> Self {
        let hash = hash_of(&(fact, &class, &call_file, call_text));
        FactKey {
            fact,
            class,
            call_file,
            call_text,
            hash,
        }
    }

    /// The key of another fact about the same class and instance (`Published` next to a
    /// worker's `Worker` fact): no call text to hash again.
    pub fn with_fact(&self, fact: Fact) -> Self {
        FactKey::new(
            fact,
            self.class.clone(),
            self.call_file.clone(),
            self.call_text,
        )
    }

    /// The key of a fact about `class` alone (no instance).
    pub fn of_class(fact: Fact, class: ClassRef) -> Self {
        FactKey::new(fact, class, None, 0)
    }

    pub fn fact(&self) -> Fact {
        self.fact
    }

    pub fn class(&self) -> &ClassRef {
        &self.class
    }

    /// The file of the instance's call, if the fact is about an instance.
    pub fn call_file(&self) -> Option<&FilePath> {
        self.call_file.as_ref()
    }
}

impl PartialEq for FactKey {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
            && self.fact == other.fact
            && self.call_text == other.call_text
            && self.class == other.class
            && self.call_file == other.call_file
    }
}

impl std::hash::Hash for FactKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// A file's path in a key: compared by address first and hashed by its tail, like
/// `ClassRef` (hashing a `Path` walks its components).
#[derive(Debug, Clone, Eq)]
pub struct FilePath(pub Arc<Path>);

impl PartialEq for FilePath {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

impl std::hash::Hash for FilePath {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let bytes = self.0.as_os_str().as_encoded_bytes();
        state.write_usize(bytes.len());
        state.write(&bytes[bytes.len().saturating_sub(16)..]);
    }
}

/// The FxHash of `value`, for `Memoisable::cutoff`.
pub(crate) fn hash_of(value: &impl std::hash::Hash) -> u64 {
    use std::hash::Hasher;
    let mut h = super::FxHasher::default();
    value.hash(&mut h);
    h.finish()
}

/// What a check unit covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// Module-level statements (graphs built at module level, under `__main__`).
    Module,
    /// One class: its class-definition, publish and prompt checks and the graph code in its
    /// methods.
    Class(usize),
    /// One module-level function and the functions nested in it.
    Function(usize),
}

/// Which checks of a unit run, and are cached, together. In a file large enough for memoised
/// facts (`memo::large_enough`), module code and module-level functions keep their graph
/// checks apart: the graph checks are what reads the facts of every worker a builder names, so
/// an edit that changes what one worker produces runs them again without the Task-call,
/// keyword and import checks of a builder that names every worker. A class keeps its checks
/// whole (its methods seldom build graphs, and a second part per class would double what every
/// keystroke validates), and so does every unit of a smaller file (cheap to check again, and a
/// second result per unit cost 100 open 600-line documents ~0.5 MB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    Whole,
    AllButGraphs,
    Graphs,
}

impl Part {
    pub fn runs_graph_checks(self) -> bool {
        self != Part::AllButGraphs
    }

    pub fn runs_other_checks(self) -> bool {
        self != Part::Graphs
    }
}

impl Unit {
    /// The parts a unit's checks run in, in order; `split` for a file large enough for
    /// memoised facts.
    pub fn parts(self, split: bool) -> &'static [Part] {
        match self {
            Unit::Module | Unit::Function(_) if split => &[Part::AllButGraphs, Part::Graphs],
            _ => &[Part::Whole],
        }
    }

    /// Every expression of one check unit's code.
    pub fn for_each_expr<'a>(self, s: &'a FileSummary, f: &mut dyn FnMut(&'a Expr)) {
        match self {
            Unit::Module => usage::stmts_exprs(&s.body, f),
            Unit::Function(j) => {
                if let Some(func) = s.functions.get(j) {
                    usage::stmts_exprs(&func.body, f);
                }
            }
            Unit::Class(i) => {
                if let Some(c) = s.classes.get(i) {
                    usage::class_exprs(c, f);
                }
            }
        }
    }

    /// Every unit of a file, in source-independent order.
    pub fn all(summary: &FileSummary) -> impl Iterator<Item = Unit> {
        std::iter::once(Unit::Module)
            .chain((0..summary.classes.len()).map(Unit::Class))
            .chain((0..summary.functions.len()).map(Unit::Function))
    }

    /// The unit's class, if it is one (as an iterator, for check loops over classes).
    pub fn classes(
        self,
        summary: &FileSummary,
    ) -> impl Iterator<Item = (usize, &Arc<ClassSummary>)> {
        let index = match self {
            Unit::Class(i) => Some(i),
            _ => None,
        };
        index
            .and_then(|i| summary.classes.get(i).map(|c| (i, c)))
            .into_iter()
    }

    /// The fingerprint of what `part` of the unit reads of its own text.
    pub(crate) fn fingerprint(self, part: Part, summary: &FileSummary) -> u64 {
        let prints = &summary.fingerprints;
        match self {
            Unit::Module if part == Part::Graphs => prints.module_graphs,
            Unit::Module => prints.module_body,
            Unit::Class(i) => prints.classes.get(i).copied().unwrap_or_default(),
            Unit::Function(i) => prints.functions.get(i).copied().unwrap_or_default(),
        }
    }

    /// The kind of unit and the part, for cache keys.
    pub(crate) fn tag(self, part: Part) -> u8 {
        let unit = match self {
            Unit::Module => 0,
            Unit::Class(_) => 1,
            Unit::Function(_) => 2,
        };
        let part = match part {
            Part::Whole => 0,
            Part::AllButGraphs => 1,
            Part::Graphs => 2,
        };
        unit * 4 + part
    }
}

/// A part of a file that a unit read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DepItem {
    /// The bindings of one module-level name (by `summary::name_key`), read by every
    /// resolution of the name.
    Name(u32),
    /// `from __future__ import annotations` and the star imports, read by resolutions of names
    /// the module does not bind and by checks that ask whether annotations are postponed.
    ModuleFlags,
    /// Index into `FileSummary::classes` (u32 keeps a dependency at 32 bytes).
    Class(u32),
    /// Index into `FileSummary::functions`: a graph factory whose body a unit interpreted.
    Function(u32),
    /// Only the name of a class (index into `FileSummary::classes`), which messages print.
    ClassName(u32),
    /// Whether a module-level class contains a syntax error (then its name resolves to
    /// nothing, see `FileSummary::is_erroneous`), read by every resolution of its name.
    ClassStatus(u32),
    /// The same for a module-level function.
    FunctionStatus(u32),
}

impl DepItem {
    /// The item that says whether `def` contains a syntax error.
    pub(crate) fn status_of(def: DefRef) -> DepItem {
        match def {
            DefRef::Class(i) => DepItem::ClassStatus(i as u32),
            DefRef::Function(i) => DepItem::FunctionStatus(i as u32),
        }
    }
}

impl DepItem {
    pub(crate) fn fingerprint(self, summary: &FileSummary) -> Option<u64> {
        match self {
            DepItem::Name(key) => Some(summary.fingerprints.name(key)),
            DepItem::ModuleFlags => Some(summary.fingerprints.flags),
            DepItem::Class(i) => summary.fingerprints.classes.get(i as usize).copied(),
            DepItem::Function(i) => summary.fingerprints.functions.get(i as usize).copied(),
            DepItem::ClassName(i) => summary
                .classes
                .get(i as usize)
                .map(|class| hash_of(&class.name)),
            DepItem::ClassStatus(i) => ((i as usize) < summary.classes.len())
                .then(|| u64::from(summary.is_erroneous(DefRef::Class(i as usize)))),
            DepItem::FunctionStatus(i) => ((i as usize) < summary.functions.len())
                .then(|| u64::from(summary.is_erroneous(DefRef::Function(i as usize)))),
        }
    }
}

/// Records what the current unit reads (kept by `resolve::Ctx`).
#[derive(Default)]
pub struct DepRecorder<'h> {
    seen: FxMap<(usize, DepItem), ()>,
    pub(crate) reads: Vec<(&'h Arc<FileData>, DepItem)>,
    /// Questions asked of the workspace usage index, in first-asked order.
    pub(crate) usage: Vec<UsageQuery>,
    /// Memoised facts the unit used, with the cutoff of the value it got (see `memo`).
    pub(crate) facts: FxMap<FactKey, u64>,
}

/// How much a unit's last check recorded: the next record of it starts with room for as much.
#[derive(Debug, Clone, Copy)]
pub struct RecordSizes {
    pub reads: usize,
    pub facts: usize,
}

impl<'h> DepRecorder<'h> {
    /// Makes room for a record of `sizes` (a graph builder records ~1,600 facts and reads).
    pub fn reserve(&mut self, sizes: RecordSizes) {
        self.seen.reserve(sizes.reads);
        self.reads.reserve(sizes.reads);
        self.facts.reserve(sizes.facts);
    }

    pub fn clear(&mut self) {
        self.seen.clear();
        self.reads.clear();
        self.usage.clear();
        self.facts.clear();
    }

    pub fn fact(&mut self, key: &FactKey, cutoff: u64) {
        // The key carries its hash, so looking it up before inserting is cheap; a unit asks
        // for the same fact many times, and `entry` would clone the key every time.
        if !self.facts.contains_key(key) {
            self.facts.insert(key.clone(), cutoff);
        }
    }

    pub fn read(&mut self, file: &'h Arc<FileData>, item: DepItem) {
        let key = (Arc::as_ptr(file) as usize, item);
        if self.seen.insert(key, ()).is_none() {
            self.reads.push((file, item));
        }
    }

    pub fn read_usage(&mut self, query: UsageQuery) {
        if !self.usage.contains(&query) {
            self.usage.push(query);
        }
    }

    /// Everything read, in first-read order.
    pub fn reads(&self) -> &[(&'h Arc<FileData>, DepItem)] {
        &self.reads
    }

    pub fn usage_queries(&self) -> &[UsageQuery] {
        &self.usage
    }

    /// Adds what `other` read (its file parts and usage questions, not the facts it used) to
    /// this record.
    pub fn merge_reads(&mut self, other: &DepRecorder<'h>) {
        // A graph factory's reads merged into its caller's: grow once, not by doubling.
        self.seen.reserve(other.reads.len());
        self.reads.reserve(other.reads.len());
        for (file, item) in other.reads() {
            self.read(file, *item);
        }
        for query in other.usage_queries() {
            self.read_usage(*query);
        }
    }

    /// Adds everything `other` recorded (reads, usage questions and facts) to this record.
    pub fn merge(&mut self, other: &DepRecorder<'h>) {
        self.merge_reads(other);
        self.facts.reserve(other.facts.len());
        for (key, cutoff) in &other.facts {
            self.fact(key, *cutoff);
        }
    }
}

/// The parts of a file whose fingerprints differ between two versions of it: what one edit
/// can have changed for a unit or a memoised fact that read the older version (see
/// `incremental::EditLog`). Validation checks a result's reads against these first, and
/// compares fingerprints only for the files where one of its reads is among them, so a
/// keystroke does not look up every read of every unit of the file again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// At most `MAX_CHANGED_ITEMS` items, sorted.
    Items(Box<[DepItem]>),
    /// Too many to list, or not known: every read of the file is compared.
    Unknown,
}

/// Above this, `Changed::Unknown`: comparing fingerprints is then as cheap as the lists.
const MAX_CHANGED_ITEMS: usize = 32;

/// Every item of `summary` a unit can read, with its fingerprint (`DepItem::fingerprint`),
/// sorted by item (emitted in `DepItem`'s order, so no sort is needed). A module-level name
/// that is not bound has no entry: `Changed::between` treats a missing entry as a change,
/// and `Fingerprints::name` gives such names one fixed fingerprint, so binding or unbinding
/// one shows up either way.
pub(crate) fn item_prints(summary: &FileSummary) -> Vec<(DepItem, u64)> {
    let prints = &summary.fingerprints;
    let (classes, functions) = (summary.classes.len() as u32, summary.functions.len() as u32);
    let mut out =
        Vec::with_capacity(prints.names.len() + 1 + 3 * classes as usize + 2 * functions as usize);
    out.extend(
        prints
            .names
            .iter()
            .map(|(key, print)| (DepItem::Name(*key), *print)),
    );
    out.push((DepItem::ModuleFlags, prints.flags));
    let mut each = |items: &mut dyn Iterator<Item = DepItem>| {
        for item in items {
            if let Some(print) = item.fingerprint(summary) {
                out.push((item, print));
            }
        }
    };
    each(&mut (0..classes).map(DepItem::Class));
    each(&mut (0..functions).map(DepItem::Function));
    each(&mut (0..classes).map(DepItem::ClassName));
    each(&mut (0..classes).map(DepItem::ClassStatus));
    each(&mut (0..functions).map(DepItem::FunctionStatus));
    out
}

impl Changed {
    /// The items whose fingerprints differ from `old` to `new` (both from `item_prints`).
    pub(crate) fn between(old: &[(DepItem, u64)], new: &[(DepItem, u64)]) -> Changed {
        let mut items = Vec::new();
        let (mut i, mut j) = (0, 0);
        loop {
            let item = match (old.get(i), new.get(j)) {
                (None, None) => break,
                (Some(a), Some(b)) if a.0 == b.0 => {
                    i += 1;
                    j += 1;
                    if a.1 == b.1 {
                        continue;
                    }
                    a.0
                }
                (Some(a), Some(b)) if a.0 < b.0 => {
                    i += 1;
                    a.0
                }
                (Some(a), None) => {
                    i += 1;
                    a.0
                }
                (_, Some(b)) => {
                    j += 1;
                    b.0
                }
            };
            items.push(item);
            if items.len() > MAX_CHANGED_ITEMS {
                return Changed::Unknown;
            }
        }
        Changed::Items(items.into_boxed_slice())
    }

    /// Whether `item` may have changed.
    pub(crate) fn touches(&self, item: &DepItem) -> bool {
        match self {
            Changed::Items(items) => items.binary_search(item).is_ok(),
            Changed::Unknown => true,
        }
    }

    /// Whether a module-level name may have changed.
    pub(crate) fn touches_names(&self) -> bool {
        match self {
            Changed::Items(items) => items.iter().any(|i| matches!(i, DepItem::Name(_))),
            Changed::Unknown => true,
        }
    }
}

/// Whether a result that read `items` and the module-level names `names` (`None`: all of
/// them) of a file may read something else now, given what the file's edits since the
/// result was last found valid changed (`None`: not known). False means every such read is
/// unchanged and comparing fingerprints can be skipped; otherwise that comparison decides.
pub(crate) fn may_have_changed<'c, 'i>(
    changes: Option<impl Iterator<Item = &'c Changed>>,
    items: impl Iterator<Item = &'i DepItem> + Clone,
    names: Option<&[u32]>,
) -> bool {
    let Some(mut changes) = changes else {
        return true;
    };
    changes.any(|changed| {
        items.clone().any(|item| changed.touches(item))
            || match names {
                Some(keys) => keys.iter().any(|key| changed.touches(&DepItem::Name(*key))),
                None => changed.touches_names(),
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::summary::name_key;
    use crate::analysis::FileData;

    fn prints(text: &str) -> Vec<(DepItem, u64)> {
        let data = FileData::build("/ws/m.py".into(), Arc::from(text), None);
        item_prints(data.summary.as_deref().expect("summarised"))
    }

    fn changed(before: &str, after: &str) -> Changed {
        Changed::between(&prints(before), &prints(after))
    }

    const MODULE: &str = "class A:\n    def run(self):\n        return 1\n\n\
                          class B:\n    pass\n\n\
                          def build():\n    return A()\n\nX = 1\n";

    #[test]
    fn an_edit_inside_a_class_changes_only_that_class() {
        let after = MODULE.replace("return 1", "return 2");
        assert_eq!(
            changed(MODULE, &after),
            Changed::Items(Box::new([DepItem::Class(0)]))
        );
        assert_eq!(changed(MODULE, MODULE), Changed::Items(Box::new([])));
    }

    #[test]
    fn renaming_a_class_changes_its_name_and_both_bindings() {
        let Changed::Items(items) = changed(MODULE, &MODULE.replace("class B:", "class C:")) else {
            panic!("a short list");
        };
        for item in [
            DepItem::Name(name_key("B")),
            DepItem::Name(name_key("C")),
            DepItem::Class(1),
            DepItem::ClassName(1),
        ] {
            assert!(items.contains(&item), "{item:?} missing from {items:?}");
        }
        assert!(!items.contains(&DepItem::Class(0)), "{items:?}");
        assert!(!items.contains(&DepItem::Function(0)), "{items:?}");
    }

    #[test]
    fn a_syntax_error_in_a_function_changes_its_status() {
        let after = MODULE.replace("return A()", "return A(");
        let change = changed(MODULE, &after);
        assert!(change.touches(&DepItem::FunctionStatus(0)), "{change:?}");
        assert!(!change.touches(&DepItem::Class(0)), "{change:?}");
    }

    #[test]
    fn a_result_may_have_changed_only_when_an_edit_touched_a_read() {
        let edit = Changed::Items(Box::new([DepItem::Class(0)]));
        let names = Changed::Items(Box::new([DepItem::Name(name_key("X"))]));
        let reads = [DepItem::Class(1), DepItem::Function(0)];
        let check = |changes: Option<Vec<&Changed>>, names: Option<&[u32]>| {
            may_have_changed(changes.map(|c| c.into_iter()), reads.iter(), names)
        };
        assert!(!check(Some(vec![]), Some(&[])), "no edit since");
        assert!(!check(Some(vec![&edit]), Some(&[])), "another class edited");
        assert!(check(None, Some(&[])), "edits not known");
        assert!(check(Some(vec![&edit, &Changed::Unknown]), Some(&[])));
        let x = [name_key("X")];
        assert!(check(Some(vec![&names]), Some(&x)), "a name it resolved");
        assert!(
            !check(Some(vec![&names]), Some(&[])),
            "a name it did not resolve"
        );
        assert!(
            check(Some(vec![&names]), None),
            "a result that reads every name"
        );
        assert!(!check(Some(vec![&edit]), None));
        let own = [DepItem::Class(0)];
        assert!(may_have_changed(
            Some([&edit].into_iter()),
            own.iter(),
            Some(&[])
        ));
    }
}
