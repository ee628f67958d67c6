//! Facts about one class (what a worker consumes, what it produces, whether instantiating it
//! raises) kept across analyses, so that an edit re-derives only the facts it can change.
//!
//! A graph builder that wires every worker of a module reads every class of it. Its check
//! unit runs again whenever any of those classes changes (see `incremental`), and so would
//! every per-worker derivation inside it. Memoising the derivations per worker turns that
//! re-run into a walk over the builder's statements with lookups: only the facts of the
//! edited class are derived again, and only the edges that touch it are checked with fresh
//! facts.
//!
//! A memoised value is stored with what computing it read (recorded by `resolve::Ctx` like a
//! unit's dependencies) and the fingerprints of those parts. It is reused only while every
//! fingerprint, the structure generation and, when read, the usage generation are unchanged,
//! and a reuse records the same reads in the asking unit, so the unit cache stays exact.
//! Values hold no byte ranges, so nothing needs moving when text shifts; one that does says
//! so (`Memoisable::reusable`) and is derived again.
//!
//! Architecture Invariant: a reused value equals what computing it on the asking host would
//! return (random-edit tests pin this through `incremental`'s tests).

use std::any::Any;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::incremental::DepItem;
use super::resolve::{ClassRef, Ctx, OuterQuery};
use super::FxMap;

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
}

/// What a fact is about: a class and, for an instance, the call that made it (its file and a
/// hash of its source text; `0` when there is no call).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FactKey {
    pub fact: Fact,
    pub class: ClassRef,
    pub call_file: Option<FilePath>,
    pub call_text: u64,
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

struct Entry {
    deps: Box<[(Arc<Path>, DepItem, u64)]>,
    usage_generation: Option<u64>,
    structure_generation: u64,
    value: Box<dyn Any + Send + Sync>,
}

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

    fn put(&self, key: FactKey, entry: Entry) {
        self.derived.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(key, Arc::new(entry));
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
}

/// Whether facts about `key`'s class are kept (see `MIN_FILE_BYTES`).
pub(crate) fn worthwhile(ctx: &Ctx<'_>, key: &FactKey) -> bool {
    match &key.class {
        ClassRef::User(path, _) => {
            let min = ctx.host.fact_min_file_bytes.unwrap_or(MIN_FILE_BYTES);
            ctx.host_file(path).is_some_and(|f| f.text.len() >= min)
        }
        ClassRef::Builtin(_) => false,
    }
}

/// `compute(ctx)`, or the value memoised under `key` when what it read is unchanged.
pub(crate) fn memo<'h, T>(
    ctx: &mut Ctx<'h>,
    key: FactKey,
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
    store(ctx, key, outer, &value);
    value
}

/// The value memoised under `key`, when what it read is unchanged (its reads are then
/// recorded in the asking unit).
pub(crate) fn lookup<T>(ctx: &Ctx<'_>, key: &FactKey) -> Option<T>
where
    T: Memoisable,
{
    let entry = ctx.host.fact_cache.get(key)?;
    let value = entry.value.downcast_ref::<T>()?;
    replay_if_valid(ctx, &entry).then(|| value.clone())
}

/// Ends a computation started with `Ctx::begin_query` and memoises its `value`. For callers
/// that compute with more than a `Ctx` (a graph interpreter's own state); others use `memo`.
pub(crate) fn store<'h, T>(ctx: &mut Ctx<'h>, key: FactKey, outer: OuterQuery<'h>, value: &T)
where
    T: Memoisable,
{
    let host = ctx.host;
    let reads = ctx.end_query(outer);
    if !value.reusable() {
        return;
    }
    let mut deps = Vec::with_capacity(reads.reads().len());
    for (file, item) in reads.reads() {
        let fingerprint = file
            .summary
            .as_deref()
            .and_then(|s| item.fingerprint(s))
            .unwrap_or_default();
        deps.push((file.path.clone(), *item, fingerprint));
    }
    host.fact_cache.put(
        key,
        Entry {
            deps: deps.into_boxed_slice(),
            usage_generation: reads.reads_usage().then_some(host.usage_generation),
            structure_generation: host.structure_generation,
            value: Box::new(value.clone()),
        },
    );
}

/// Whether `entry` is still valid for `ctx`'s host; if so, records its reads in the asking
/// unit.
fn replay_if_valid(ctx: &Ctx<'_>, entry: &Entry) -> bool {
    let host = ctx.host;
    if entry.structure_generation != host.structure_generation
        || entry
            .usage_generation
            .is_some_and(|g| g != host.usage_generation)
    {
        return false;
    }
    let mut files = Vec::with_capacity(entry.deps.len());
    for (path, item, fingerprint) in entry.deps.iter() {
        let Some(file) = ctx.host_file(path) else {
            return false;
        };
        let current = file.summary.as_deref().and_then(|s| item.fingerprint(s));
        if current != Some(*fingerprint) {
            return false;
        }
        files.push((file, *item));
    }
    for (file, item) in files {
        ctx.record_read(file, item);
    }
    if entry.usage_generation.is_some() {
        ctx.record_usage();
    }
    true
}
