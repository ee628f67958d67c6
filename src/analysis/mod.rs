//! PlanAI static analysis: pure, synchronous, no I/O.
//!
//! Architecture Invariant: nothing in this module does I/O, spawns threads or awaits. The
//! caller hands in file texts (and optionally already-parsed trees); the host answers queries.
//!
//! Layout: `summary` turns a tree into a per-file `FileSummary`; `builtins` is PlanAI 0.7.1's
//! class table; `resolve` follows imports and computes MROs; `consumed` computes consumed and
//! output types the way PlanAI does; `checks` produces the diagnostics.

pub mod builtins;
pub mod check;
pub mod checks;
pub mod completion;
pub mod consumed;
pub mod deps;
pub mod fixes;
pub mod graph_model;
pub mod graph_view;
pub mod ide;
pub mod incremental;
pub mod memo;
pub mod planai_use;
pub mod resolve;
pub mod share;
pub mod summary;
pub mod task_types;
pub mod usage;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostics::{Diagnostic, TextRange};

pub use resolve::{ClassRef, Symbol};

/// A small, fast, non-cryptographic hasher (the FxHash mixing step) for the analysis' own
/// maps: keys are paths and identifiers, never attacker-controlled in a way that matters.
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64)
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64)
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// A number never handed out before in this process: revisions and generations are unique
/// across every clone of a host, so two diverging clones can never agree by accident.
pub fn fresh_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A `HashMap` with `FxHasher`.
pub type FxMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;
/// A `HashSet` with `FxHasher`.
pub type FxSet<T> = std::collections::HashSet<T, std::hash::BuildHasherDefault<FxHasher>>;

/// What each part of a file's summary hashed to (`deps::item_prints`), when known.
type ItemPrints = Option<Vec<(deps::DepItem, u64)>>;
pub use summary::FileSummary;

/// Files larger than this get no semantic checks: they are almost certainly generated, and
/// analysing them would make every keystroke elsewhere slower.
pub const MAX_ANALYSED_FILE_BYTES: usize = 2 * 1024 * 1024;

/// One file as the host knows it.
#[derive(Debug)]
pub struct FileData {
    pub path: Arc<Path>,
    pub text: Arc<str>,
    /// `None` for files over `MAX_ANALYSED_FILE_BYTES`.
    pub summary: Option<Arc<FileSummary>>,
    /// This file's contribution to the workspace usage index.
    pub(crate) usage_keys: Arc<usage::UsageKeys>,
    /// The text's revision and recent edits, for moving cached diagnostics.
    pub(crate) edits: incremental::EditLog,
}

impl FileData {
    /// Parses (when `tree` is None) and summarises a file. Pure; callers may run it on any
    /// thread and insert the result with `AnalysisHost::insert_files`.
    pub fn build(path: PathBuf, text: Arc<str>, tree: Option<&tree_sitter::Tree>) -> FileData {
        Self::build_reusing(path, text, tree, None)
    }

    /// Like `build`, reusing the unchanged definitions of the previous version of the file
    /// (its summary and text).
    pub fn build_reusing(
        path: PathBuf,
        text: Arc<str>,
        tree: Option<&tree_sitter::Tree>,
        previous: Option<PreviousVersion>,
    ) -> FileData {
        let trees = tree.map(std::slice::from_ref);
        let (mut data, shifts) = Self::build_deferring_shifts(path, text, trees, previous);
        if let Some(summary) = data.summary.as_mut() {
            shifts.apply(Arc::make_mut(summary));
        }
        data
    }

    /// [`FileData::build_reusing`] with the moved definitions not shifted yet (see
    /// `FileSummary::build_deferring_shifts`).
    fn build_deferring_shifts(
        path: PathBuf,
        text: Arc<str>,
        trees: Option<&[tree_sitter::Tree]>,
        previous: Option<PreviousVersion>,
    ) -> (FileData, summary::DeferredShifts) {
        let prev = previous
            .as_ref()
            .map(|p| (Arc::clone(&p.summary), &*p.text));
        let built = if text.len() > MAX_ANALYSED_FILE_BYTES {
            None
        } else {
            match trees {
                Some(trees) => Some(FileSummary::build_deferring_shifts(trees, &text, prev)),
                None => crate::syntax::parse(&text).map(|t| {
                    FileSummary::build_deferring_shifts(std::slice::from_ref(&t), &text, prev)
                }),
            }
        };
        let (summary, shifts) = match built {
            Some((summary, shifts)) => (Some(Arc::new(summary)), shifts),
            None => (None, Default::default()),
        };
        // Before the moved definitions are shifted: the new summary still shares them with the
        // old one, which is how `keys_reusing` tells them apart from the re-lowered ones.
        let usage_keys = match (summary.as_deref(), &previous) {
            (Some(new), Some(old)) => {
                Arc::new(usage::keys_reusing(new, &old.summary, &old.usage_keys))
            }
            (Some(new), None) => Arc::new(usage::collect_keys(new)),
            (None, _) => Arc::default(),
        };
        let data = FileData {
            path: Arc::from(path.as_path()),
            text,
            summary,
            usage_keys,
            edits: incremental::EditLog::default(),
        };
        (data, shifts)
    }
}

/// What the next version of a file is built from: the current one's summary (whose unchanged
/// definitions it takes over), text and usage keys (updated for the definitions that changed).
pub struct PreviousVersion {
    pub summary: Arc<FileSummary>,
    pub text: Arc<str>,
    pub usage_keys: Arc<usage::UsageKeys>,
}

/// The next version of a file, built without the host (`AnalysisHost::set_file` in two
/// steps): the caller takes the previous version under a brief read lock
/// (`AnalysisHost::previous_version`), builds this without any lock, and holds the write lock
/// only for `AnalysisHost::install_file`. The definitions it reuses are still shared with the
/// previous version, and are moved to their new positions when it is installed, in place once
/// the host has let go of that version (a copy is made only when a snapshot still holds it).
pub struct PreparedFile {
    data: FileData,
    shifts: summary::DeferredShifts,
    edit: Option<incremental::Edit>,
}

impl PreparedFile {
    /// Parses (when `trees` is None) and summarises `text`, reusing the unchanged definitions
    /// of `previous`; `edit` is the edit from the previous text, when the caller recorded it.
    /// `trees`: the text's tree, or the trees of its parts when it was parsed in parts
    /// (`syntax::part_boundary`).
    pub fn build(
        path: PathBuf,
        text: Arc<str>,
        trees: Option<&[tree_sitter::Tree]>,
        edit: Option<incremental::Edit>,
        previous: Option<PreviousVersion>,
    ) -> PreparedFile {
        let (data, shifts) = FileData::build_deferring_shifts(path, text, trees, previous);
        PreparedFile { data, shifts, edit }
    }
}

/// Holds every known Python file of the workspace and answers PlanAI questions about them.
/// Cheap to clone: all per-file data is behind `Arc`s.
#[derive(Default, Clone)]
pub struct AnalysisHost {
    roots: Arc<Vec<PathBuf>>,
    files: Arc<FxMap<PathBuf, Arc<FileData>>>,
    /// Dotted module name → files importable under that name.
    modules: Arc<FxMap<String, Vec<Arc<Path>>>>,
    /// File → its dotted module names (package-chain name first).
    module_names: Arc<FxMap<PathBuf, Vec<String>>>,
    /// Workspace-wide facts some checks use to stay silent (see `usage`).
    usage: Arc<usage::UsageIndex>,
    /// Changes (to a fresh id) whenever files are added or removed or roots change, which
    /// can change what imports resolve to.
    structure_generation: u64,
    /// Per-unit diagnostics, shared by all clones (see `incremental`).
    diagnostics_cache: Arc<incremental::DiagnosticsCache>,
    /// Per-worker facts, shared by all clones (see `memo`).
    fact_cache: Arc<memo::FactCache>,
    /// Facts are kept for classes of files at least this long (`None`: `memo`'s default).
    fact_min_file_bytes: Option<usize>,
    /// A unit that used at least this many memoised facts keeps its previous result too
    /// (`None`: `incremental`'s default).
    older_results_min_facts: Option<usize>,
}

/// A read-only view of an [`AnalysisHost`] as it was when [`AnalysisHost::snapshot`] was
/// taken (rust-analyzer's `Analysis`). Checks and queries run on a snapshot, so the lock around
/// the host is held only while the snapshot is taken and a writer (`set_file` of another
/// document, a file closed or changed on disk) never waits for a check to finish. It derefs to
/// the host's `&self` queries; nothing can change it. Its caches are the host's (shared by every
/// clone and validated against the asking host, see `incremental`), so what a check on a
/// snapshot computes is reused by the next one.
///
/// Keep a snapshot no longer than the computation: while it shares a file's data, the writer of
/// that file copies what it would otherwise change in place (`Arc::make_mut`).
#[derive(Default, Clone)]
pub struct Analysis {
    host: AnalysisHost,
}

impl std::ops::Deref for Analysis {
    type Target = AnalysisHost;

    fn deref(&self) -> &AnalysisHost {
        &self.host
    }
}

impl AnalysisHost {
    pub fn new() -> Self {
        Self::default()
    }

    /// The host as it is now, to compute on without holding its lock (see [`Analysis`]).
    pub fn snapshot(&self) -> Analysis {
        Analysis { host: self.clone() }
    }

    /// Workspace folders; used as package roots for absolute imports (with `src/` layouts).
    pub fn set_roots(&mut self, roots: Vec<PathBuf>) {
        self.roots = Arc::new(roots);
        self.rebuild_modules();
    }

    /// Marks that imports may resolve differently now.
    fn structure_changed(&mut self) {
        self.structure_generation = incremental::fresh_id();
    }

    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// Adds or replaces a file. `tree`, when given, must be the tree-sitter tree of `text`.
    pub fn set_file(&mut self, path: PathBuf, text: Arc<str>, tree: Option<&tree_sitter::Tree>) {
        self.set_file_edited(path, text, tree, None);
    }

    /// [`AnalysisHost::set_file`] with the edit that turned the host's text into `text`, as
    /// the editor's buffer recorded it (checked, and found again by comparing the texts when
    /// it does not match).
    pub fn set_file_edited(
        &mut self,
        path: PathBuf,
        text: Arc<str>,
        tree: Option<&tree_sitter::Tree>,
        edit: Option<incremental::Edit>,
    ) {
        let previous = self.previous_version(&path);
        let trees = tree.map(std::slice::from_ref);
        self.install_file(PreparedFile::build(path, text, trees, edit, previous));
    }

    /// The summary, text and usage keys of `path` now, to build its next version from
    /// ([`PreparedFile::build`]).
    pub fn previous_version(&self, path: &Path) -> Option<PreviousVersion> {
        let data = self.files.get(path)?;
        Some(PreviousVersion {
            summary: data.summary.clone()?,
            text: data.text.clone(),
            usage_keys: data.usage_keys.clone(),
        })
    }

    /// Adds or replaces a file built by [`PreparedFile::build`]: all a writer holds the lock
    /// for. Afterwards the host is exactly as `set_file` would leave it.
    pub fn install_file(&mut self, prepared: PreparedFile) {
        let PreparedFile {
            mut data,
            shifts,
            edit,
        } = prepared;
        // What the old version's parts hashed to, for what this edit changed
        // (`Changed::between`): taken here when its summary is let go of below.
        let mut before = None;
        if let Some(summary) = data.summary.as_mut().filter(|_| !shifts.is_empty()) {
            // The moved definitions are still shared with the version being replaced. Let go
            // of that version's summary first (its text, edits and usage keys are still
            // needed to install this one), so they move in place unless a snapshot holds it.
            if let Some(old) = Arc::make_mut(&mut self.files)
                .get_mut(&*data.path)
                .and_then(Arc::get_mut)
            {
                before = old.summary.take().map(|old| deps::item_prints(&old));
            }
            shifts.apply(Arc::make_mut(summary));
        } else {
            drop(shifts);
        }
        self.insert_files_edited(vec![(data, edit, before)]);
    }

    /// The fast path for a keystroke inside one module-level definition: `text` is the
    /// file's new text, `edit` the single change from the host's current text, `old_start`
    /// where the edited top-level `class`/`def` started, and `node` that definition in a
    /// tree of the new text (a statement-level reparse is enough). Only that definition is
    /// summarised again; everything after it moves.
    ///
    /// Returns false, changing nothing, when the fast path does not apply (unknown file, text
    /// that does not match `edit`, a definition that changed kind or name); the caller then
    /// uses `set_file`. Afterwards the host is exactly as `set_file` would leave it.
    pub fn update_definition(
        &mut self,
        path: &Path,
        text: Arc<str>,
        edit: incremental::Edit,
        old_start: usize,
        node: tree_sitter::Node,
    ) -> bool {
        self.patch_summary(path, text, edit, |summary, text| {
            let (old, new) = summary.replace_definition(old_start, edit, node, text)?;
            Some((usage::definition_keys(&old), usage::definition_keys(&new)))
        })
    }

    /// Replaces the text of `path` by `text`, which `edit` made from it, with its summary
    /// patched in place by `patch` (which returns the usage keys of the part it replaced and of
    /// the new part, or `None`, leaving the summary as it was, when it cannot patch it).
    /// Returns false, changing nothing, when the file is unknown, too large, `edit` does not
    /// turn its text into `text`, or `patch` declines.
    fn patch_summary(
        &mut self,
        path: &Path,
        text: Arc<str>,
        edit: incremental::Edit,
        patch: impl FnOnce(&mut FileSummary, &str) -> Option<(usage::UsageKeys, usage::UsageKeys)>,
    ) -> bool {
        if text.len() > MAX_ANALYSED_FILE_BYTES {
            return false;
        }
        let files = Arc::make_mut(&mut self.files);
        let Some(entry) = files.get_mut(path) else {
            return false;
        };
        if !edit.turns(&entry.text, &text) || entry.summary.is_none() {
            return false;
        }
        // Take the summary out when nothing else holds the file, so it is patched in place.
        let mut summary = match Arc::get_mut(entry) {
            Some(unique) => unique.summary.take(),
            None => entry.summary.clone(),
        }
        .expect("checked above");
        let before = deps::item_prints(&summary);
        let Some((old_keys, new_keys)) = patch(Arc::make_mut(&mut summary), &text) else {
            if let Some(unique) = Arc::get_mut(entry) {
                unique.summary.get_or_insert(summary);
            }
            return false;
        };
        let usage_keys = if old_keys == new_keys {
            entry.usage_keys.clone()
        } else {
            let keys = Arc::new(entry.usage_keys.replaced(&old_keys, &new_keys));
            let usage = Arc::make_mut(&mut self.usage);
            usage.apply_keys(&entry.usage_keys, -1);
            usage.apply_keys(&keys, 1);
            keys
        };
        let changed = incremental::Changed::between(&before, &deps::item_prints(&summary));
        *entry = Arc::new(FileData {
            path: entry.path.clone(),
            text,
            summary: Some(summary),
            usage_keys,
            edits: entry.edits.advanced(edit, changed),
        });
        true
    }

    /// The fast path for a keystroke inside one top-level statement, parsed alone
    /// (`syntax::statements`): the definition or the simple statement it holds replaces the
    /// old one (see `update_definition` and `update_statement`). Returns false, changing
    /// nothing, when the fast path does not apply.
    pub fn apply_statement_edit(
        &mut self,
        path: &Path,
        text: Arc<str>,
        change: &crate::syntax::statements::StatementEdit,
    ) -> bool {
        let node = change.definition();
        if change.nested || node.kind() == "expression_statement" {
            self.update_statement(
                path,
                text,
                change.edit,
                (change.old_start, change.old_end),
                node,
                change.nested,
            )
        } else {
            self.update_definition(path, text, change.edit, change.old_start, node)
        }
    }

    /// The fast path for a keystroke inside one simple statement (an assignment, a call) that
    /// spanned `old_start..old_end` of the host's text, at module level or, when
    /// `in_function`, directly in the body of a module-level function (a line of a graph
    /// builder): like [`AnalysisHost::update_definition`], with `node` the new statement.
    /// Returns false, changing nothing, when the fast path does not apply (see
    /// `FileSummary::replace_module_statement` and `replace_function_statement`); afterwards
    /// the host is exactly as `set_file` would leave it.
    pub fn update_statement(
        &mut self,
        path: &Path,
        text: Arc<str>,
        edit: incremental::Edit,
        (old_start, old_end): (usize, usize),
        node: tree_sitter::Node,
        in_function: bool,
    ) -> bool {
        self.patch_summary(path, text, edit, |summary, text| {
            let (old, new) = if in_function {
                summary.replace_function_statement(old_start, old_end, edit, node, text)
            } else {
                summary.replace_module_statement(old_start, old_end, edit, node, text)
            }?;
            Some((usage::statement_keys(&old), usage::statement_keys(&new)))
        })
    }

    /// Adds or replaces many prepared files at once (module names are recomputed once).
    pub fn insert_files(&mut self, files: Vec<FileData>) {
        self.insert_files_edited(files.into_iter().map(|data| (data, None, None)).collect());
    }

    /// [`AnalysisHost::insert_files`], each file with the edit from the host's text when known
    /// and, when the host's version no longer has its summary, what that summary's parts
    /// hashed to (`deps::item_prints`).
    fn insert_files_edited(
        &mut self,
        files: Vec<(FileData, Option<incremental::Edit>, ItemPrints)>,
    ) {
        let mut structural = false;
        let mut new_paths = Vec::new();
        {
            let map = Arc::make_mut(&mut self.files);
            let usage = &mut self.usage;
            for (mut data, edit, before) in files {
                let key = data.path.to_path_buf();
                let mut same_usage = false;
                if let Some(old) = map.get(&key) {
                    let edit = edit
                        .filter(|edit| edit.turns(&old.text, &data.text))
                        .unwrap_or_else(|| incremental::Edit::between(&old.text, &data.text));
                    if edit.start == edit.old_end && edit.start == edit.new_end {
                        data.edits = old.edits.clone();
                    } else {
                        let before =
                            before.or_else(|| old.summary.as_deref().map(deps::item_prints));
                        let changed = match (before, data.summary.as_deref()) {
                            (Some(before), Some(after)) => {
                                incremental::Changed::between(&before, &deps::item_prints(after))
                            }
                            _ => incremental::Changed::Unknown,
                        };
                        data.edits = old.edits.advanced(edit, changed);
                    }
                    same_usage = old.usage_keys == data.usage_keys;
                }
                let data = Arc::new(data);
                let old = map.insert(key.clone(), data.clone());
                if same_usage {
                    continue;
                }
                let usage = Arc::make_mut(usage);
                if let Some(old) = &old {
                    usage.remove(old);
                } else {
                    if key.file_name().is_some_and(|f| f == "__init__.py") {
                        structural = true;
                    }
                    new_paths.push(key);
                }
                usage.add(&data);
            }
        }
        if structural || !new_paths.is_empty() {
            self.structure_changed();
        }
        if structural || new_paths.len() > 64 {
            self.rebuild_modules();
        } else {
            for p in new_paths {
                self.add_module_names(&p);
            }
        }
    }

    pub fn remove_file(&mut self, path: &Path) {
        let Some(old) = Arc::make_mut(&mut self.files).remove(path) else {
            return;
        };
        Arc::make_mut(&mut self.usage).remove(&old);
        self.structure_changed();
        self.diagnostics_cache.forget(path);
        if path.file_name().is_some_and(|f| f == "__init__.py") {
            self.rebuild_modules();
        } else if let Some(names) = Arc::make_mut(&mut self.module_names).remove(path) {
            let modules = Arc::make_mut(&mut self.modules);
            for n in names {
                if let Some(v) = modules.get_mut(&n) {
                    v.retain(|p| &**p != path);
                    if v.is_empty() {
                        modules.remove(&n);
                    }
                }
            }
        }
    }

    fn add_module_names(&mut self, path: &Path) {
        let files = &self.files;
        let names = resolve::module_names_for(path, &self.roots, &|p| files.contains_key(p));
        let Some(data) = files.get(path) else { return };
        let modules = Arc::make_mut(&mut self.modules);
        for n in &names {
            modules
                .entry(n.clone())
                .or_default()
                .push(data.path.clone());
        }
        Arc::make_mut(&mut self.module_names).insert(path.to_path_buf(), names);
    }

    fn rebuild_modules(&mut self) {
        let mut modules: FxMap<String, Vec<Arc<Path>>> = FxMap::default();
        let mut module_names = FxMap::default();
        for (path, data) in self.files.iter() {
            let names =
                resolve::module_names_for(path, &self.roots, &|p| self.files.contains_key(p));
            for n in &names {
                modules
                    .entry(n.clone())
                    .or_default()
                    .push(data.path.clone());
            }
            module_names.insert(path.clone(), names);
        }
        self.modules = Arc::new(modules);
        self.module_names = Arc::new(module_names);
        self.structure_changed();
    }

    /// Keeps per-worker facts for classes of files of at least `bytes` (tests use 0, so small
    /// modules exercise the memo too).
    pub fn keep_facts_from_file_size(&mut self, bytes: usize) {
        self.fact_min_file_bytes = Some(bytes);
    }

    /// Keeps the previous result of every unit that used at least `facts` memoised facts
    /// (tests use 1, so small graph builders exercise it too; see `incremental`).
    pub fn keep_older_results_from_facts(&mut self, facts: usize) {
        self.older_results_min_facts = Some(facts);
    }

    /// How many per-worker facts were derived rather than reused so far (see `memo`).
    pub fn facts_derived(&self) -> usize {
        self.fact_cache.derived()
    }

    /// PlanAI diagnostics for one file (syntax errors are reported by `crate::syntax`).
    pub fn file_diagnostics(&self, path: &Path) -> Vec<Diagnostic> {
        self.file_diagnostics_counted(path).0
    }

    /// `file_diagnostics`, with how many check units were reused from earlier calls and how
    /// many were checked again.
    pub fn file_diagnostics_counted(
        &self,
        path: &Path,
    ) -> (Vec<Diagnostic>, incremental::UnitCounts) {
        self.file_diagnostics_sharing(path, None)
    }

    /// `file_diagnostics_counted`, offering units of a first check to the other side of the
    /// check's `Join` through `share` (see `share`).
    pub fn file_diagnostics_sharing(
        &self,
        path: &Path,
        share: Option<&share::StartedAnalysis<'_, incremental::SharedOutput>>,
    ) -> (Vec<Diagnostic>, incremental::UnitCounts) {
        let Some(file) = self.files.get(path) else {
            return Default::default();
        };
        let (mut out, counts) = incremental::file_diagnostics(
            self,
            file,
            checks::run_unit,
            checks::refresh_fact,
            checks::replay_unit,
            share,
        );
        out.sort_by(|a, b| (a.range.start(), &a.code).cmp(&(b.range.start(), &b.code)));
        out.dedup();
        (out, counts)
    }

    /// The text the host holds for `path`, used to convert ranges of related information.
    pub fn file_text(&self, path: &Path) -> Option<Arc<str>> {
        self.files.get(path).map(|f| f.text.clone())
    }

    /// Every file the host knows.
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.files.keys().map(|p| p.as_path())
    }

    /// The summary of a file (imports, classes, functions, statements).
    pub fn file_summary(&self, path: &Path) -> Option<Arc<FileSummary>> {
        self.files.get(path).and_then(|f| f.summary.clone())
    }

    /// Dotted module names `path` can be imported as.
    pub fn module_names(&self, path: &Path) -> &[String] {
        self.module_names
            .get(path)
            .map(|v| v.as_slice())
            .unwrap_or(&[])
    }

    /// Task and worker classes defined in `path`.
    pub fn planai_classes(&self, path: &Path) -> Vec<PlanaiClassInfo> {
        let mut ctx = resolve::Ctx::new(self);
        let Some(file) = self.files.get(path) else {
            return Vec::new();
        };
        let Some(summary) = file.summary.as_deref() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, c) in summary.classes.iter().enumerate() {
            let cref = ClassRef::User(file.path.clone(), i);
            let kind = if ctx.derives_from_builtin(&cref, "TaskWorker") {
                PlanaiClassKind::Worker
            } else if ctx.derives_from_builtin(&cref, "Task") {
                PlanaiClassKind::Task
            } else {
                continue;
            };
            let consumed = consumed::class_consumed_types(&mut ctx, &cref)
                .known()
                .map(|v| v.iter().map(|t| t.display(&ctx)).collect());
            let outputs = match consumed::class_output_types(&mut ctx, &cref) {
                consumed::OutputTypes::Known(v) => {
                    Some(v.iter().map(|c| ctx.class_name(c)).collect())
                }
                consumed::OutputTypes::Unknown => None,
            };
            out.push(PlanaiClassInfo {
                name: c.name.to_string(),
                name_range: c.name_range,
                kind,
                consumed,
                output_types: outputs,
            });
        }
        out
    }

    /// Resolves `name` as seen from the module scope of `path` to the class it names.
    pub fn resolve_class_name(&self, path: &Path, name: &str) -> Option<ClassLocation> {
        let ctx = resolve::Ctx::new(self);
        let mut expr: Option<summary::Expr> = None;
        for part in name.split('.') {
            let range = TextRange::default();
            expr = Some(match expr {
                None => summary::Expr::Name {
                    id: summary::Name::from(part),
                    range,
                },
                Some(v) => summary::Expr::Attribute {
                    value: Box::new(v),
                    attr: summary::Name::from(part),
                    range,
                },
            });
        }
        match ctx.resolve_class(path, &expr?)? {
            ClassRef::User(p, i) => {
                let c = &ctx.summary(&p)?.classes[i];
                Some(ClassLocation {
                    path: Some(p.to_path_buf()),
                    name: c.name.to_string(),
                    name_range: c.name_range,
                })
            }
            ClassRef::Builtin(id) => Some(ClassLocation {
                path: None,
                name: builtins::class(id).name.to_string(),
                name_range: TextRange::default(),
            }),
        }
    }

    /// Resolves `name` (possibly dotted) as seen at byte `offset` of `path`: `None` when the
    /// name is bound locally in the enclosing function (a parameter, a local variable or a
    /// class defined in the function — dynamic, so never guessed), else the module-scope class.
    pub fn resolve_class_at(
        &self,
        path: &Path,
        offset: usize,
        name: &str,
    ) -> Option<ClassLocation> {
        let summary = self.file_summary(path)?;
        let root = name.split('.').next().unwrap_or(name);
        let functions = summary
            .functions
            .iter()
            .map(|f| &**f)
            .chain(summary.classes.iter().flat_map(|c| c.methods.iter()));
        for f in functions {
            if f.range.start() <= offset && offset < f.range.end() && function_binds(f, root) {
                return None;
            }
        }
        self.resolve_class_name(path, name)
    }

    /// The graph edges built in `path` (per scope, in statement order).
    pub fn graph_edges(&self, path: &Path) -> Vec<GraphEdge> {
        let mut ctx = resolve::Ctx::new(self);
        let Some(file) = self.files.get(path) else {
            return Vec::new();
        };
        checks::graph::collect_edges(&mut ctx, &file.path)
    }
}

/// Whether `f` (or a function nested in it) binds `name` locally.
pub(crate) fn function_binds(f: &summary::FunctionSummary, name: &str) -> bool {
    let mut found = false;
    for_each_bound_name(f, &mut |n| found |= n == name);
    found
}

/// The names `f` (or a function nested in it) binds locally, as `function_binds` sees them:
/// for checks that ask about many names of one function.
pub(crate) fn function_bound_names(f: &summary::FunctionSummary) -> FxSet<&str> {
    let mut names = FxSet::default();
    for_each_bound_name(f, &mut |n| {
        names.insert(n);
    });
    names
}

fn for_each_bound_name<'f>(f: &'f summary::FunctionSummary, found: &mut impl FnMut(&'f str)) {
    use summary::{AssignTarget, Stmt};
    for p in &f.params {
        found(&p.name);
    }
    summary::walk_stmts(&f.body, &mut |s| match s {
        Stmt::Assign { targets, .. } => {
            for t in targets {
                match t {
                    AssignTarget::Name(n, _) => found(n),
                    AssignTarget::Tuple(ns) | AssignTarget::Other(ns) => {
                        ns.iter().for_each(|n| found(n))
                    }
                    AssignTarget::SelfAttr(..) => {}
                }
            }
        }
        Stmt::Block { bound, .. } | Stmt::Other { bound, .. } => {
            bound.iter().for_each(|n| found(n))
        }
        Stmt::Import(bs) => bs.iter().for_each(|b| found(&b.local)),
        Stmt::LocalClass(n) => found(n),
        Stmt::LocalFunction(inner) => found(&inner.name),
        _ => {}
    });
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanaiClassKind {
    Task,
    Worker,
}

/// A Task or worker class defined in a file, for outlines and hovers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanaiClassInfo {
    pub name: String,
    pub name_range: TextRange,
    pub kind: PlanaiClassKind,
    /// For workers: the consumed task types, when statically known.
    pub consumed: Option<Vec<String>>,
    /// For workers: the class-level `output_types`, when statically known.
    pub output_types: Option<Vec<String>>,
}

/// Where a class is defined; `path` is `None` for PlanAI's own classes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassLocation {
    pub path: Option<PathBuf>,
    pub name: String,
    pub name_range: TextRange,
}

/// One `set_dependency`/`next`/`set_sink` edge of a graph built in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphEdge {
    /// The function the graph is built in (`None` at module level).
    pub scope: Option<String>,
    /// Class names of the upstream and downstream workers (`SinkWorker` for sinks).
    pub upstream: String,
    pub downstream: String,
    /// The task type passed along the edge, when known.
    pub task_type: Option<String>,
    /// The call that created the edge.
    pub range: TextRange,
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// Diagnostics of a single-file workspace as `(line, code)` pairs.
    pub fn codes(src: &str) -> Vec<(usize, String)> {
        let mut host = AnalysisHost::new();
        host.set_roots(vec![PathBuf::from("/ws")]);
        host.set_file(PathBuf::from("/ws/main.py"), Arc::from(src), None);
        host.file_diagnostics(Path::new("/ws/main.py"))
            .into_iter()
            .map(|d| {
                (
                    src[..d.range.start()].matches('\n').count() + 1,
                    d.code.to_string(),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_snapshot_friendly<T: Clone + Send + Sync + 'static>() {}

    /// The lower layers of the analysis, lowest first (ARCHITECTURE.md): a module names only
    /// modules before it (and the shared items of `mod.rs`), so between any two of them the
    /// dependency goes one way.
    #[test]
    fn lower_layers_name_only_the_layers_below_them() {
        const LAYERS: &[(&str, &[&str])] = &[
            (
                "summary",
                &[
                    include_str!("summary/mod.rs"),
                    include_str!("summary/fingerprint.rs"),
                    include_str!("summary/shift.rs"),
                    include_str!("summary/lower/mod.rs"),
                    include_str!("summary/lower/stmt.rs"),
                    include_str!("summary/lower/defs.rs"),
                    include_str!("summary/lower/imports.rs"),
                    include_str!("summary/lower/expr.rs"),
                ],
            ),
            ("builtins", &[include_str!("builtins.rs")]),
            ("usage", &[include_str!("usage.rs")]),
            ("deps", &[include_str!("deps.rs")]),
            ("resolve", &[include_str!("resolve.rs")]),
            ("memo", &[include_str!("memo.rs")]),
            ("incremental", &[include_str!("incremental.rs")]),
        ];
        for (i, (module, sources)) in LAYERS.iter().enumerate() {
            for (above, _) in &LAYERS[i + 1..] {
                let named = [
                    format!("super::{above}::"),
                    format!("super::super::{above}::"),
                    format!("crate::analysis::{above}::"),
                    format!("use super::{above};"),
                ];
                for source in *sources {
                    for name in &named {
                        assert!(
                            !source.contains(name.as_str()),
                            "{module} names {above} (`{name}`), a layer above it"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn host_is_a_cheap_thread_safe_snapshot() {
        assert_snapshot_friendly::<AnalysisHost>();
    }

    fn codes_of(host: &AnalysisHost, path: &str) -> Vec<String> {
        host.file_diagnostics(Path::new(path))
            .into_iter()
            .map(|d| d.code.to_string())
            .collect()
    }

    #[test]
    fn edits_in_one_file_change_diagnostics_in_another() {
        let mut host = AnalysisHost::new();
        host.set_roots(vec![PathBuf::from("/ws")]);
        let tasks_ok = "from planai import Task\nclass A(Task):\n    x: int = 0\n";
        let workers = "from typing import List, Type\nfrom planai import Graph, Task, TaskWorker\nfrom tasks import A\n\nclass P(TaskWorker):\n    output_types: List[Type[Task]] = [A]\n    def consume_work(self, task: A):\n        pass\n\nclass C(TaskWorker):\n    def consume_work(self, task: A):\n        pass\n\ng = Graph(name='g')\np, c = P(), C()\ng.add_workers(p, c)\ng.set_dependency(p, c)\n";
        host.set_file("/ws/tasks.py".into(), Arc::from(tasks_ok), None);
        host.set_file("/ws/workers.py".into(), Arc::from(workers), None);
        assert!(codes_of(&host, "/ws/workers.py").is_empty());

        // A snapshot taken now is not affected by later edits.
        let snapshot = host.clone();
        // `A` becomes a re-export of a subclass: P's output type and C's input are still the
        // same class object, so nothing changes...
        host.set_file(
            "/ws/tasks.py".into(),
            Arc::from("from planai import Task\nclass Base(Task):\n    x: int = 0\nclass A(Base):\n    pass\n"),
            None,
        );
        assert!(codes_of(&host, "/ws/workers.py").is_empty());
        // ...until `A` stops resolving: the checks go silent instead of guessing.
        host.set_file(
            "/ws/tasks.py".into(),
            Arc::from("from elsewhere import A\n"),
            None,
        );
        assert!(codes_of(&host, "/ws/workers.py").is_empty());
        host.remove_file(Path::new("/ws/tasks.py"));
        assert!(codes_of(&host, "/ws/workers.py").is_empty());
        assert!(codes_of(&snapshot, "/ws/workers.py").is_empty());
        assert!(snapshot.file_text(Path::new("/ws/tasks.py")).is_some());
    }

    #[test]
    fn changing_a_worker_in_one_module_updates_the_graph_module() {
        let mut host = AnalysisHost::new();
        host.set_roots(vec![PathBuf::from("/ws")]);
        let tasks = "from planai import Task\nclass A(Task):\n    x: int = 0\nclass B(Task):\n    y: int = 0\n";
        let workers = |out: &str| {
            format!("from typing import List, Type\nfrom planai import Task, TaskWorker\nfrom tasks import A, B\n\nclass P(TaskWorker):\n    output_types: List[Type[Task]] = [{out}]\n    def consume_work(self, task: B):\n        pass\n\nclass C(TaskWorker):\n    def consume_work(self, task: A):\n        pass\n")
        };
        let graph = "from planai import Graph\nfrom workers import P, C\n\ndef build():\n    g = Graph(name='g')\n    p, c = P(), C()\n    g.add_workers(p, c)\n    g.set_dependency(p, c)\n";
        host.set_file("/ws/tasks.py".into(), Arc::from(tasks), None);
        host.set_file(
            "/ws/workers.py".into(),
            Arc::from(workers("A").as_str()),
            None,
        );
        host.set_file("/ws/graph.py".into(), Arc::from(graph), None);
        assert!(codes_of(&host, "/ws/graph.py").is_empty());
        host.set_file(
            "/ws/workers.py".into(),
            Arc::from(workers("B").as_str()),
            None,
        );
        let diags = host.file_diagnostics(Path::new("/ws/graph.py"));
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code, crate::diagnostics::Code::Gc7);
        assert!(diags[0]
            .message
            .starts_with("Worker P does not produce any task types that worker C can consume."));
        // Related information points into workers.py (output_types and consume_work).
        assert!(diags[0]
            .related
            .iter()
            .all(|r| r.path.as_deref() == Some(Path::new("/ws/workers.py"))));
        assert_eq!(diags[0].related.len(), 2);
    }

    #[test]
    fn query_apis_describe_classes_and_edges() {
        let mut host = AnalysisHost::new();
        let src = "from typing import List, Type\nfrom planai import Graph, Task, TaskWorker\n\nclass A(Task):\n    x: int = 0\n\nclass W(TaskWorker):\n    output_types: List[Type[Task]] = [A]\n    def consume_work(self, task: A):\n        pass\n\ndef build():\n    A = 3\n    g = Graph(name='g')\n    w, v = W(), W()\n    g.add_workers(w, v)\n    g.set_dependency(w, v)\n";
        host.set_file("/ws/m.py".into(), Arc::from(src), None);
        let p = Path::new("/ws/m.py");
        let classes = host.planai_classes(p);
        assert_eq!(classes.len(), 2);
        assert_eq!(classes[1].kind, PlanaiClassKind::Worker);
        assert_eq!(classes[1].consumed, Some(vec!["A".to_string()]));
        assert_eq!(classes[1].output_types, Some(vec!["A".to_string()]));
        let edges = host.graph_edges(p);
        assert_eq!(edges.len(), 1);
        assert_eq!(
            (edges[0].upstream.as_str(), edges[0].downstream.as_str()),
            ("W", "W")
        );
        assert_eq!(edges[0].task_type.as_deref(), Some("A"));
        assert_eq!(edges[0].scope.as_deref(), Some("build"));
        let at_module = src.find("class W").unwrap();
        assert_eq!(host.resolve_class_at(p, at_module, "A").unwrap().name, "A");
        assert_eq!(
            host.resolve_class_at(p, at_module, "Task").unwrap().path,
            None
        );
        let in_build = src.find("g = Graph").unwrap();
        assert!(host.resolve_class_at(p, in_build, "A").is_none());
    }

    #[test]
    fn edges_around_a_worker_from_an_unseen_factory_are_kept() {
        // The shape of deepsearch's setup_graph(): a worker made by a planai.patterns factory in
        // the middle of a `.next()` chain, and one built inline by another factory call.
        let src = "from typing import List, Type\nfrom planai import Graph, Task, TaskWorker\nfrom planai.patterns import create_search_fetch_worker\n\nclass A(Task):\n    x: int = 0\n\nclass W(TaskWorker):\n    output_types: List[Type[Task]] = [A]\n    def consume_work(self, task: A):\n        pass\n\ndef setup_graph(llm):\n    graph = Graph(name='g')\n    a, b, c, d = W(), W(), W(), W()\n    fetch = create_search_fetch_worker(llm=llm)\n    graph.add_workers(a, b, fetch, c, d)\n    graph.set_dependency(a, b).next(fetch).next(c).next(create_search_fetch_worker(llm=llm)).next(d)\n    graph.set_dependency(b, d)\n    graph.set_sink(d, A)\n    return graph, a\n";
        let mut host = AnalysisHost::new();
        host.set_file("/ws/m.py".into(), Arc::from(src), None);
        let p = Path::new("/ws/m.py");
        let edges: Vec<(String, String)> = host
            .graph_edges(p)
            .into_iter()
            .map(|e| (e.upstream, e.downstream))
            .collect();
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            edges,
            vec![
                pair("W", "W"),
                pair("W", "fetch"),
                pair("fetch", "W"),
                pair("W", "create_search_fetch_worker(...)"),
                pair("create_search_fetch_worker(...)", "W"),
                pair("W", "W"),
                pair("W", "SinkWorker"),
            ]
        );
        assert!(codes_of(&host, "/ws/m.py").is_empty());
    }

    #[test]
    fn files_over_the_size_cap_get_no_semantic_checks() {
        let mut host = AnalysisHost::new();
        let mut big = String::from("from planai import Task\nclass A(Task):\n    x = 3\n");
        big.push_str(&"#\n".repeat(MAX_ANALYSED_FILE_BYTES / 2 + 1));
        host.set_file("/ws/big.py".into(), Arc::from(big.as_str()), None);
        assert!(codes_of(&host, "/ws/big.py").is_empty());
        host.set_file(
            "/ws/small.py".into(),
            Arc::from("from planai import Task\nclass A(Task):\n    x = 3\n"),
            None,
        );
        assert_eq!(codes_of(&host, "/ws/small.py"), vec!["CD2"]);
    }
}
