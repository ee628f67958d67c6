//! Facts about one class (what a worker consumes, what it produces, whether instantiating it
//! raises) kept across analyses, so that an edit re-derives only the facts it can change.
//!
//! A graph builder that wires every worker of a module reads every class of it. Its check
//! unit runs again whenever any of those classes changes (see `incremental`), and so would
//! every per-worker derivation inside it. Memoising the derivations per worker turns that
//! re-run into lookups: only the facts of the edited class are derived again, and the
//! builder's graph operations are replayed with them (`checks::graph::trace`) instead of its
//! statements being interpreted again.
//!
//! A memoised value is stored with what computing it read (recorded by `resolve::Ctx` like a
//! unit's dependencies) and the fingerprints of those parts. It is reused only while every
//! fingerprint, the structure generation and, when read, the usage generation are unchanged,
//! and a reuse records the same reads in the asking unit, so the unit cache stays exact.
//! Values hold no byte ranges, so nothing needs moving when text shifts; one that does says
//! so (`Memoisable::reusable`) and is derived again.
//!
//! **Early cutoff.** A check unit does not depend on what a fact read, but on the fact's
//! value: a unit asking for a fact records the fact's key and a hash of its value
//! (`Memoisable::cutoff`), not the fact's reads. When the unit's result is validated after an
//! edit, a fact whose reads changed is derived again (`current_cutoff`, through the checks'
//! `RefreshFact`, from the key and the call kept with the entry), and the unit stays valid when
//! the new value hashes the same. So a keystroke in a worker's `consume_work` body re-checks
//! that worker's class and derives its facts again, and a builder that wires every worker is
//! not run again unless what the worker consumes, produces or publishes changed.
//!
//! Architecture Invariant: a reused value equals what computing it on the asking host would
//! return, and a unit reused through a cutoff equals a fresh run of it (random-edit tests pin
//! both through `incremental`'s tests).

use std::any::Any;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub(crate) use super::deps::hash_of;
use super::deps::{may_have_changed, Changed, ClassRef, DepItem};
pub use super::deps::{Fact, FactKey, FilePath};
use super::resolve::{Ctx, OuterQuery, ValidFact};
use super::summary::CallExpr;
use super::FxMap;

struct Entry {
    /// What computing the value read, per file.
    files: Box<[EntryFile]>,
    /// The questions asked of the usage index, and one hash of the answers then.
    usage: Box<[super::usage::UsageQuery]>,
    usage_answers: u64,
    structure_generation: u64,
    value: Box<dyn Any + Send + Sync>,
    /// `Memoisable::cutoff` of the value.
    cutoff: u64,
    /// A hash of what computing the value read (the files, items and usage questions, not
    /// their fingerprints): `FactReads` notices with it that a fact derived again now reads
    /// something else.
    read_set: u64,
    /// The call the fact is about, kept to derive the fact again when a unit that asked for it
    /// is validated (the key holds only a hash of its text).
    call: Option<Arc<CallExpr>>,
}

/// The parts of one file a memoised value read, with their fingerprints then.
struct EntryFile {
    path: Arc<Path>,
    /// The file's revision when the reads were last found unchanged (see
    /// `deps::may_have_changed`); atomic because hosts share the cache.
    revision: AtomicU64,
    items: Box<[(DepItem, u64)]>,
}

/// Derives the fact `key` again (the instance's call is `call`) and memoises it: the checks
/// know how each fact is computed; this module and `incremental` only call it.
pub(crate) type RefreshFact = fn(&mut Ctx<'_>, &FactKey, Option<&CallExpr>);

/// Facts about classes of smaller files are not kept: deriving them again is cheap there, and
/// a hundred open 600-line modules would otherwise hold megabytes of facts. A graph builder
/// that wires hundreds of workers lives in (or imports from) files well above this.
const MIN_FILE_BYTES: usize = 32 * 1024;

/// Entries above this are dropped all at once (the cache refills from the next analysis).
const MAX_ENTRIES: usize = 50_000;

/// The memoised facts of every analysed file, shared by all clones of a host like
/// `incremental::DiagnosticsCache`: entries are validated against the host that asks.
#[derive(Default)]
pub struct FactCache {
    entries: Mutex<FxMap<FactKey, Arc<Entry>>>,
    /// How many facts were derived (not reused) so far, for tests and benchmarks.
    derived: AtomicUsize,
}

impl std::fmt::Debug for FactCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FactCache")
    }
}

impl FactCache {
    fn get(&self, key: &FactKey) -> Option<Arc<Entry>> {
        self.entries.lock().ok()?.get(key).cloned()
    }

    /// How many facts were derived (not reused) since the cache was created.
    pub fn derived(&self) -> usize {
        self.derived.load(Ordering::Relaxed)
    }

    fn put(&self, key: FactKey, entry: Arc<Entry>) {
        self.derived.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(key, entry);
        }
    }

    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The hash of `text`, for `FactKey::call_text`.
pub fn text_hash(text: &str) -> u64 {
    use std::hash::Hasher;
    let mut h = super::FxHasher::default();
    h.write(text.as_bytes());
    h.write_usize(text.len());
    h.finish()
}

/// A value that can be memoised. Facts hold no byte ranges, so nothing needs moving when text
/// shifts; a value that does hold one (a diagnostic's position, such as a signature error's
/// "defined here") says it is not `reusable`, and is derived again each time.
pub(crate) trait Memoisable: Clone + Send + Sync + 'static {
    fn reusable(&self) -> bool {
        true
    }

    /// A hash of everything a check unit can learn from the value. Two values with the same
    /// cutoff lead every unit to the same result, up to positions the edit log moves (a
    /// position a unit reports from a fact is recorded as a read of its class, see
    /// `checks::graph::run`).
    fn cutoff(&self) -> u64;
}

/// Whether work about `file` is worth remembering in detail (facts about its classes, which
/// of its names a unit resolved): it is at least `MIN_FILE_BYTES` long (or the host's test
/// setting). Work on smaller files is cheap to redo and costly to remember a hundred times.
pub(crate) fn large_enough(host: &super::AnalysisHost, file: &super::FileData) -> bool {
    file.text.len() >= host.fact_min_file_bytes.unwrap_or(MIN_FILE_BYTES)
}

/// Whether facts about `key`'s class are kept (see `MIN_FILE_BYTES`).
pub(crate) fn worthwhile(ctx: &Ctx<'_>, key: &FactKey) -> bool {
    match key.class() {
        ClassRef::User(path, _) => ctx.file(path).is_some_and(|f| large_enough(ctx.host, f)),
        ClassRef::Builtin(_) => false,
    }
}

/// `compute(ctx)`, or the value memoised under `key` when what it read is unchanged.
/// `call` is the instance's call the fact is about, if any (see `Entry::call`).
pub(crate) fn memo<'h, T>(
    ctx: &mut Ctx<'h>,
    key: FactKey,
    call: Option<&CallExpr>,
    compute: impl FnOnce(&mut Ctx<'h>) -> T,
) -> T
where
    T: Memoisable,
{
    if !worthwhile(ctx, &key) {
        return compute(ctx);
    }
    if let Some(value) = lookup(ctx, &key) {
        return value;
    }
    let outer = ctx.begin_query();
    let value = compute(ctx);
    store(ctx, key, outer, call, &value);
    value
}

/// The value memoised under `key`, when what it read is unchanged. A check unit then depends
/// on the value (early cutoff); a fact being computed depends on the value's reads.
pub(crate) fn lookup<T>(ctx: &Ctx<'_>, key: &FactKey) -> Option<T>
where
    T: Memoisable,
{
    let entry = validated(ctx, key)?;
    let value = entry.value.downcast_ref::<T>()?;
    if ctx.at_unit_level() {
        ctx.record_fact(key, entry.cutoff);
    } else {
        // A fact computed from this one depends on what this one read.
        for entry_file in entry.files.iter() {
            let file = ctx.file(&entry_file.path)?;
            for (item, _) in entry_file.items.iter() {
                ctx.record_read(file, *item);
            }
        }
        for query in entry.usage.iter() {
            ctx.record_usage(*query);
        }
    }
    Some(value.clone())
}

/// The entry memoised under `key` when what it read is unchanged on `ctx`'s host. A host does
/// not change while a context borrows it, so an entry found valid once stays valid for the
/// context's life: a builder that wires every worker asks for each class's kind half a dozen
/// times per pass, and checking the fact's reads each time was a tenth of a builder edit.
fn validated(ctx: &Ctx<'_>, key: &FactKey) -> Option<Arc<Entry>> {
    if let Some(known) = ctx.valid_facts.borrow().get(key) {
        return known.clone().downcast::<Entry>().ok();
    }
    let entry = ctx.host.fact_cache.get(key)?;
    if !reads_unchanged(ctx, &entry) {
        return None;
    }
    ctx.valid_facts
        .borrow_mut()
        .insert(key.clone(), entry.clone());
    Some(entry)
}

/// Ends a computation started with `Ctx::begin_query` and memoises its `value` (`call`: see
/// `Entry::call`). For callers that compute with more than a `Ctx` (a graph interpreter's own
/// state); others use `memo`.
pub(crate) fn store<'h, T>(
    ctx: &mut Ctx<'h>,
    key: FactKey,
    outer: OuterQuery<'h>,
    call: Option<&CallExpr>,
    value: &T,
) where
    T: Memoisable,
{
    let host = ctx.host;
    let reads = ctx.end_query(outer);
    // Only a fact not found valid is computed, but a stale answer must never outlive this.
    ctx.valid_facts.borrow_mut().remove(&key);
    if !value.reusable() {
        // Not memoised: the asker depends on what computing it read.
        ctx.replay(&reads);
        return;
    }
    let cutoff = value.cutoff();
    let at_unit_level = ctx.at_unit_level();
    if !at_unit_level {
        ctx.replay(&reads);
    }
    type Reads<'f> = Vec<(&'f Arc<super::FileData>, Vec<(DepItem, u64)>)>;
    let mut files: Reads = Vec::new();
    for (file, item) in reads.reads() {
        let fingerprint = file
            .summary
            .as_deref()
            .and_then(|s| item.fingerprint(s))
            .unwrap_or_default();
        match files.iter_mut().find(|(f, _)| Arc::ptr_eq(f, file)) {
            Some((_, items)) => items.push((*item, fingerprint)),
            None => files.push((file, vec![(*item, fingerprint)])),
        }
    }
    let files: Box<[EntryFile]> = files
        .into_iter()
        .map(|(file, items)| EntryFile {
            path: file.path.clone(),
            revision: AtomicU64::new(file.edits.revision()),
            items: items.into_boxed_slice(),
        })
        .collect();
    let entry = Arc::new(Entry {
        read_set: read_set(&files, reads.usage_queries()),
        files,
        usage: reads.usage_queries().into(),
        usage_answers: super::usage::answers(&host.usage, reads.usage_queries()),
        structure_generation: host.structure_generation,
        value: Box::new(value.clone()),
        cutoff,
        call: call.map(|c| Arc::new(c.clone())),
    });
    if at_unit_level {
        ctx.record_fact(&key, cutoff);
    }
    host.fact_cache.put(key, entry);
}

/// `Entry::read_set` of an entry that read `files` and asked `usage`.
fn read_set(files: &[EntryFile], usage: &[super::usage::UsageQuery]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = super::FxHasher::default();
    for file in files {
        FilePath(file.path.clone()).hash(&mut h);
        for (item, _) in file.items.iter() {
            item.hash(&mut h);
        }
    }
    usage.hash(&mut h);
    h.finish()
}

/// The cutoff of the fact `key` on `ctx`'s host, with the entry that holds it: the memoised
/// value's when what it read is unchanged, else that of the value derived again through
/// `refresh`. `None` when the fact is not memoised (any more): the unit that asked for it runs
/// again.
pub(crate) fn current_cutoff(
    ctx: &mut Ctx<'_>,
    key: &FactKey,
    refresh: RefreshFact,
) -> Option<(u64, ValidFact)> {
    // Not through `validated`: a validation asks for each fact once (it keeps the cutoffs it
    // found), so remembering the entry would only cost an allocation per fact.
    let mut entry = ctx.host.fact_cache.get(key)?;
    if !reads_unchanged(ctx, &entry) {
        refresh(ctx, key, entry.call.as_deref());
        entry = ctx.host.fact_cache.get(key)?;
        if !reads_unchanged(ctx, &entry) {
            return None;
        }
    }
    Some((entry.cutoff, entry))
}

/// Whether every read of `entry` is unchanged on `ctx`'s host.
fn reads_unchanged(ctx: &Ctx<'_>, entry: &Entry) -> bool {
    let host = ctx.host;
    if entry.structure_generation != host.structure_generation
        || super::usage::answers(&host.usage, &entry.usage) != entry.usage_answers
    {
        return false;
    }
    for entry_file in entry.files.iter() {
        let Some(file) = ctx.file(&entry_file.path) else {
            return false;
        };
        let revision = entry_file.revision.load(Ordering::Relaxed);
        let items = entry_file.items.iter().map(|(item, _)| item);
        if may_have_changed(file.edits.changes_since(revision), items, Some(&[])) {
            let summary = file.summary.as_deref();
            for (item, fingerprint) in entry_file.items.iter() {
                if summary.and_then(|s| item.fingerprint(s)) != Some(*fingerprint) {
                    return false;
                }
            }
        }
        // This file's reads are unchanged at its current revision, whatever the other files
        // say: later validations start from here.
        entry_file
            .revision
            .store(file.edits.revision(), Ordering::Relaxed);
    }
    true
}

/// What the memoised facts of one unit result read, so that validating the result after an
/// edit checks only the facts whose reads the edit can have changed.
///
/// Without it, a validation establishes the cutoff of every fact the result used: a graph
/// builder that wires every worker uses ~1,600, and looking each up and comparing its reads
/// was most of a keystroke's validation even when the keystroke touched one class. A fact
/// whose reads are unchanged since the result was last found valid has the value it had then
/// (a fact's value depends on its reads only), so its cutoff needs no check.
///
/// The reads are those of the entries the result's cutoffs came from. A fact derived again
/// with the same cutoff may read something else now (a class that gained a base): the entry's
/// `read_set` then differs, and the caller checks every fact and builds the index again from
/// the current entries.
pub(crate) struct FactReads {
    files: Box<[FactReadsFile]>,
    /// The usage questions the facts asked, and one hash of the answers then.
    usage: Box<[super::usage::UsageQuery]>,
    usage_answers: u64,
    /// `Entry::read_set` of each fact, in the result's order.
    read_sets: Box<[u64]>,
}

/// The reads of a result's facts in one file.
struct FactReadsFile {
    path: Arc<Path>,
    /// The file's revision when these reads were last found unchanged.
    revision: u64,
    /// (item read, position of the fact that read it), in the facts' order: building it is a
    /// copy, and scanning ~10,000 reads for the one or two items a keystroke changed costs
    /// less than sorting them would on every build.
    reads: Box<[(DepItem, u32)]>,
}

impl FactReads {
    /// The reads of `entries` (the entries of a result's facts, in its order), valid on
    /// `host`. `None` when one is not a memoised entry or reads a file the host lacks.
    pub(crate) fn new<'e>(
        host: &super::AnalysisHost,
        entries: impl ExactSizeIterator<Item = &'e ValidFact>,
    ) -> Option<FactReads> {
        type Reads<'f> = Vec<(&'f Arc<super::FileData>, Vec<(DepItem, u32)>)>;
        let mut files: Reads = Vec::new();
        let mut usage = Vec::new();
        let mut read_sets = Vec::with_capacity(entries.len());
        for (position, valid) in entries.enumerate() {
            let entry = (**valid).downcast_ref::<Entry>()?;
            read_sets.push(entry.read_set);
            for entry_file in entry.files.iter() {
                // `Arc<Path>` equality compares addresses first: entries of one file share
                // its path allocation.
                let at = match files.iter().position(|(f, _)| f.path == entry_file.path) {
                    Some(at) => at,
                    None => {
                        files.push((host.files.get(&*entry_file.path)?, Vec::new()));
                        files.len() - 1
                    }
                };
                let position = position as u32;
                files[at]
                    .1
                    .extend(entry_file.items.iter().map(|(item, _)| (*item, position)));
            }
            usage.extend_from_slice(&entry.usage);
        }
        usage.sort_unstable();
        usage.dedup();
        Some(FactReads {
            files: files
                .into_iter()
                .map(|(file, reads)| FactReadsFile {
                    path: file.path.clone(),
                    revision: file.edits.revision(),
                    reads: reads.into_boxed_slice(),
                })
                .collect(),
            usage_answers: super::usage::answers(&host.usage, &usage),
            usage: usage.into_boxed_slice(),
            read_sets: read_sets.into_boxed_slice(),
        })
    }

    /// The positions of the facts whose reads the edits since the index was last brought up
    /// to date may have changed (with repeats), or `None` when that is not known (a file's
    /// edits are not, an edit changed too much to list, a usage answer changed): then every
    /// fact is checked. `file` looks a path up on the host being validated against.
    pub(crate) fn facts_to_check<'h>(
        &self,
        host: &super::AnalysisHost,
        mut file: impl FnMut(&Arc<Path>) -> Option<&'h Arc<super::FileData>>,
    ) -> Option<Vec<u32>> {
        if super::usage::answers(&host.usage, &self.usage) != self.usage_answers {
            return None;
        }
        let mut positions = Vec::new();
        for reads in self.files.iter() {
            for changed in file(&reads.path)?.edits.changes_since(reads.revision)? {
                let Changed::Items(items) = changed else {
                    return None;
                };
                if items.is_empty() {
                    continue;
                }
                positions.extend(
                    reads
                        .reads
                        .iter()
                        .filter(|(item, _)| items.contains(item))
                        .map(|(_, position)| *position),
                );
            }
        }
        Some(positions)
    }

    /// Whether the fact at `position` still reads what it read when the index was built
    /// (`valid`: the entry its cutoff now comes from).
    pub(crate) fn reads_the_same(&self, position: u32, valid: &ValidFact) -> bool {
        (**valid)
            .downcast_ref::<Entry>()
            .is_some_and(|entry| self.read_sets.get(position as usize) == Some(&entry.read_set))
    }

    /// Records that every read is unchanged at the files' current revisions on `host`, on
    /// which `file` looks paths up, and so are the usage answers the facts got.
    pub(crate) fn advance<'h>(
        &mut self,
        host: &super::AnalysisHost,
        mut file: impl FnMut(&Arc<Path>) -> Option<&'h Arc<super::FileData>>,
    ) {
        // After a validation that checked every fact because a usage answer changed, the
        // answers now are the facts' answers; without this, every later validation would
        // check every fact again.
        self.usage_answers = super::usage::answers(&host.usage, &self.usage);
        for reads in self.files.iter_mut() {
            if let Some(current) = file(&reads.path) {
                reads.path = current.path.clone();
                reads.revision = current.edits.revision();
            }
        }
    }
}
