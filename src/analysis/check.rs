//! Checking a document: the one pipeline the server and `planai-lsp check` share.
//!
//! [`check_document`] takes one version of a document and what the previous check left
//! ([`Reusable`]), updates the host and returns everything a publish needs: the syntax and
//! PlanAI diagnostics, the tree to keep for the next incremental parse, and the PlanAI facts
//! the server's venv scheduling acts on ([`PlanaiFacts`]). [`check_files`] runs the same steps
//! over a batch of files (the CLI): every file is parsed once and added, then checked.
//!
//! Three ways through, cheapest first:
//! - another file changed (`Trigger::Workspace`) and this text is the one the previous check
//!   indexed: only the PlanAI checks run again; the syntax diagnostics are kept;
//! - a keystroke inside one top-level definition of a text without syntax errors: that
//!   statement is parsed alone (`syntax::statements`), its summary replaced
//!   (`AnalysisHost::update_definition`), and only the PlanAI units depending on it run;
//! - anything else reparses (incrementally from the previous tree when there is one) and runs
//!   the syntax check and the PlanAI analysis side by side, through the caller's [`Join`].
//!
//! Architecture Invariant: pure and synchronous: no I/O, no async, and no threads of its own
//! (parallelism is the caller's `Join`). Every path returns exactly what the full path would.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::incremental::SharedOutput;
use super::planai_use::is_planai_import;
use super::share::{ShareUnits, StartedAnalysis};
use super::summary::{walk_stmts, Expr, FileSummary, Stmt};
use super::{Analysis, AnalysisHost, PreparedFile, MAX_ANALYSED_FILE_BYTES};
use crate::diagnostics::{Code, Diagnostic, DiagnosticSource, Severity, TextRange};
use crate::syntax::statements::StatementIndex;
use crate::syntax::SyntaxCache;

/// Why a document is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// Its first check since it was opened.
    Opened,
    /// Its text changed since the last check.
    Edited,
    /// Another file or the configuration changed; its own text did not.
    Workspace,
}

impl Trigger {
    pub fn content_changed(self) -> bool {
        self != Trigger::Workspace
    }
}

/// Runs two independent computations, possibly in parallel. The analysis spawns no threads:
/// the server passes one that uses a second core, the CLI [`Sequential`].
pub trait Join {
    fn join<A: Send, B: Send>(
        &self,
        a: impl FnOnce() -> A + Send,
        b: impl FnOnce() -> B + Send,
    ) -> (A, B);
}

/// The size from which an opened document's check offers check units to the syntax side of
/// its `Join` (`analysis::share`): the size at which it is parsed in parts too.
const SHARE_UNITS_MIN_BYTES: usize = crate::syntax::PARSE_IN_PARTS_MIN_BYTES;

/// Runs both computations on the calling thread.
pub struct Sequential;

impl Join for Sequential {
    fn join<A: Send, B: Send>(
        &self,
        a: impl FnOnce() -> A + Send,
        b: impl FnOnce() -> B + Send,
    ) -> (A, B) {
        (a(), b())
    }
}

/// Runs the first computation on a thread spawned for it and the second on the caller (for
/// callers without threads of their own: benchmarks, tests, the server before its analysis
/// threads start); a panic in the first is resumed here.
pub struct ScopedThread;

impl Join for ScopedThread {
    fn join<A: Send, B: Send>(
        &self,
        a: impl FnOnce() -> A + Send,
        b: impl FnOnce() -> B + Send,
    ) -> (A, B) {
        std::thread::scope(|scope| {
            let a = scope.spawn(a);
            let b = b();
            let a = a
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (a, b)
        })
    }
}

/// One version of a document to check.
pub struct Source<'a> {
    pub path: &'a Path,
    /// The text the analysis reads (lone `\r` made `\n`, see `text::normalize_lone_cr`).
    pub text: Arc<str>,
    /// The tree to start from: the tree of `text` itself when `tree_is_current`, else an older
    /// tree with every later edit applied through `Tree::edit` (an incremental base).
    pub tree: Option<&'a tree_sitter::Tree>,
    pub tree_is_current: bool,
    pub trigger: Trigger,
    /// The edit from the text of the previous check to `text`, when the caller recorded it
    /// (else it is computed by comparing the texts).
    pub edit: Option<crate::text::Edit>,
}

/// What one check of a document leaves for the next one.
#[derive(Default)]
pub struct Reusable {
    /// Statement boundaries and syntax diagnostics of the last version, when it had no
    /// syntax error (the statement-level fast path starts from it).
    statements: Option<StatementIndex>,
    /// Syntax diagnostics of unchanged top-level statements, for full reparses. Only
    /// documents edited since they were opened keep one: most open documents are never
    /// edited, and the memo (~15 KB for 600 lines) would only cost them memory.
    syntax: Option<SyntaxCache>,
    /// The PlanAI facts of the last version.
    facts: Option<Arc<PlanaiFacts>>,
}

impl Reusable {
    /// The text the last check indexed, when it kept an index (callers share it instead of
    /// copying the same text again).
    pub fn text(&self) -> Option<&Arc<str>> {
        self.statements.as_ref().map(|index| index.text())
    }
}

/// Which way a check went, and how long its parts took (for logs).
#[derive(Clone, Copy, Debug)]
pub enum CheckPath {
    /// Another file changed: only the PlanAI checks ran.
    PlanaiOnly,
    /// One top-level statement was reparsed.
    Statement,
    /// A parse (incremental when a tree was given) and both checks; `parts`: how many trees
    /// the text was parsed into (2 when parsed in parts, see `parse_from_scratch`);
    /// `shared_units`: how many check units the syntax side checked (see `share`).
    Full {
        parse: Duration,
        syntax: Duration,
        parts: usize,
        shared_units: usize,
    },
}

/// Everything a publish of one document version needs.
pub struct Checked {
    /// Syntax diagnostics, then PlanAI diagnostics.
    pub diagnostics: Vec<Diagnostic>,
    /// The tree of this version, when the check parsed the whole text.
    pub tree: Option<tree_sitter::Tree>,
    /// This version's text, when the check parsed it in two parts side by side (a document
    /// opened, see `parse_from_scratch`): `tree` is then `None`, and a caller that keeps
    /// trees for incremental parsing parses the whole text later, off the path to the
    /// diagnostics.
    pub tree_to_parse: Option<Arc<str>>,
    /// What the server's venv scheduling needs to know about the file.
    pub facts: Arc<PlanaiFacts>,
    /// The file is over the size limit: it got syntax diagnostics only.
    pub too_large: bool,
    pub path: CheckPath,
    pub elapsed: Duration,
    /// For the next check of this document.
    pub reusable: Reusable,
}

thread_local! {
    /// One parser per thread, reused across documents.
    static PARSER: std::cell::RefCell<tree_sitter::Parser> =
        std::cell::RefCell::new(crate::syntax::new_parser());
}

/// Checks one version of a document against `host` (which it updates with this text), with
/// what the previous check of the same document left. The host lock is taken for writing only
/// to add the text, and for reading only to take a snapshot: the checks run on the snapshot,
/// holding no lock, so setting another document never waits for this check.
pub fn check_document(
    host: &RwLock<AnalysisHost>,
    source: Source<'_>,
    previous: Reusable,
    join: &impl Join,
) -> Checked {
    let started = Instant::now();
    let Source {
        path,
        text,
        tree: old_tree,
        tree_is_current,
        trigger,
        edit,
    } = source;
    let content_changed = trigger.content_changed();
    let Reusable {
        statements,
        syntax: mut syntax_cache,
        facts,
    } = previous;
    let too_large = text.len() > MAX_ANALYSED_FILE_BYTES;
    // The facts come from the same snapshot as the PlanAI diagnostics.
    let facts_now = |analysis: &Analysis| match facts.clone() {
        // Another file changed: whether this one uses planai through its imports may have.
        Some(facts) if !content_changed => facts_with_current_use(analysis, path, facts),
        _ => Arc::new(facts_of(analysis, path, &text)),
    };
    if !content_changed {
        // Another file changed: only the PlanAI checks can differ.
        if let Some(statements) = statements.filter(|index| Arc::ptr_eq(index.text(), &text)) {
            let analysis = snapshot(host);
            let mut diagnostics = statements.syntax().to_vec();
            diagnostics.extend(planai_diagnostics(&analysis, path, &text, false));
            let reusable = (Some(statements), syntax_cache, facts_now(&analysis));
            return Checked::new(
                diagnostics,
                None,
                CheckPath::PlanaiOnly,
                too_large,
                started,
                reusable,
            );
        }
    } else if let Some(previous) = &statements {
        if let Some(next) = statement_edit(host, path, &text, previous, edit) {
            let analysis = snapshot(host);
            let mut diagnostics = next.syntax().to_vec();
            diagnostics.extend(planai_diagnostics(&analysis, path, &text, false));
            let reusable = (Some(next), syntax_cache, facts_now(&analysis));
            return Checked::new(
                diagnostics,
                None,
                CheckPath::Statement,
                too_large,
                started,
                reusable,
            );
        }
    }
    let trees: Vec<tree_sitter::Tree> = if tree_is_current {
        old_tree.cloned().into_iter().collect()
    } else if old_tree.is_none() && trigger == Trigger::Opened {
        parse_from_scratch(&text, join)
    } else {
        PARSER
            .with(|parser| parser.borrow_mut().parse(text.as_bytes(), old_tree))
            .into_iter()
            .collect()
    };
    let parse = started.elapsed();
    if trigger == Trigger::Edited {
        syntax_cache.get_or_insert_default();
    }
    // Syntax checks and PlanAI analysis are independent: the caller may run them side by side.
    // Opening a large module, the syntax side, done first, then checks units the analysis
    // offers it (`share`); otherwise it leaves at once.
    let share = (trigger == Trigger::Opened && text.len() >= SHARE_UNITS_MIN_BYTES)
        .then(ShareUnits::default);
    let ((syntax, syntax_time), (planai, (analysis, shared_units))) = join.join(
        || {
            let started = Instant::now();
            let found = match trees.as_slice() {
                [] => syntax_diagnostics(None, &text, syntax_cache.as_mut()),
                [tree] => syntax_diagnostics(Some(tree), &text, syntax_cache.as_mut()),
                parts => crate::syntax::syntax_diagnostics_of_parts(parts, &text),
            };
            let elapsed = started.elapsed();
            if let Some(share) = &share {
                share.help();
            }
            (found, elapsed)
        },
        || {
            let share = share.as_ref().map(ShareUnits::start);
            if content_changed {
                let trees = (!trees.is_empty()).then_some(trees.as_slice());
                set_file(host, path, &text, trees, edit);
            }
            let analysis = snapshot(host);
            let (planai, shared_units) =
                planai_diagnostics_counted(&analysis, path, &text, false, share.as_ref());
            (planai, (analysis, shared_units))
        },
    );
    let mut diagnostics = syntax.clone();
    diagnostics.extend(planai);
    let statements = StatementIndex::new(text.clone(), &trees, syntax);
    let path = CheckPath::Full {
        parse,
        syntax: syntax_time,
        parts: trees.len(),
        shared_units,
    };
    let reusable = (statements, syntax_cache, facts_now(&analysis));
    let (tree, tree_to_parse) = match <[tree_sitter::Tree; 1]>::try_from(trees) {
        Ok([tree]) => (Some(tree), None),
        Err(parts) => (None, (parts.len() > 1).then_some(text)),
    };
    Checked {
        tree_to_parse,
        ..Checked::new(diagnostics, tree, path, too_large, started, reusable)
    }
}

/// The tree of `text`, parsed without an earlier tree: in two parts side by side (`join`) when
/// the text is large enough to cut (`syntax::part_boundary`) and both parts parse without
/// error, else whole. The parts, when there are two, stand for the module's tree in every
/// check (their top-level statements are its top-level statements), but they are no base for
/// an incremental parse: see `Checked::tree_to_parse`.
fn parse_from_scratch(text: &str, join: &impl Join) -> Vec<tree_sitter::Tree> {
    if let Some(cut) = crate::syntax::part_boundary(text) {
        let part = |range| {
            PARSER.with(|parser| {
                crate::syntax::parse_part_with(&mut parser.borrow_mut(), text, range, None)
            })
        };
        if let (Some(first), Some(second)) = join.join(|| part(0..cut), || part(cut..text.len())) {
            if !first.root_node().has_error() && !second.root_node().has_error() {
                return vec![first, second];
            }
        }
    }
    // Through `join` too: the server then parses on the thread that runs the syntax checks,
    // so the tree (freed after the check, unless kept) and the syntax checks' temporaries
    // share one malloc arena, apart from the summaries the other thread builds and keeps
    // (100 opened 600-line documents: ~0.2 MB less resident, and opened ~10% faster).
    let whole = || PARSER.with(|parser| parser.borrow_mut().parse(text.as_bytes(), None));
    join.join(whole, || ()).0.into_iter().collect()
}

impl Checked {
    /// The result of a check that started at `started`; the facts it reports are the ones
    /// kept for the next check.
    fn new(
        diagnostics: Vec<Diagnostic>,
        tree: Option<tree_sitter::Tree>,
        path: CheckPath,
        too_large: bool,
        started: Instant,
        (statements, syntax, facts): (
            Option<StatementIndex>,
            Option<SyntaxCache>,
            Arc<PlanaiFacts>,
        ),
    ) -> Checked {
        Checked {
            diagnostics,
            tree,
            tree_to_parse: None,
            facts: facts.clone(),
            too_large,
            path,
            elapsed: started.elapsed(),
            reusable: Reusable {
                statements,
                syntax,
                facts: Some(facts),
            },
        }
    }
}

/// One file of a batch check.
pub struct FileCheck {
    pub path: PathBuf,
    pub text: Arc<str>,
    /// Syntax diagnostics, then PlanAI diagnostics (as [`check_document`] returns them).
    pub diagnostics: Vec<Diagnostic>,
}

/// Checks a batch of files as [`check_document`] checks an opened document: every file is
/// parsed once and added to `host` first (cross-file checks see the whole batch), then each is
/// checked.
pub fn check_files(host: &mut AnalysisHost, files: Vec<(PathBuf, Arc<str>)>) -> Vec<FileCheck> {
    let lock = RwLock::new(std::mem::take(host));
    let mut syntax = Vec::with_capacity(files.len());
    for (path, text) in &files {
        let tree = PARSER.with(|parser| parser.borrow_mut().parse(text.as_bytes(), None));
        syntax.push(syntax_diagnostics(tree.as_ref(), text, None));
        // Files over the size limit are added too (without a summary): imports of them
        // resolve, and stay silent.
        if let Ok(mut host) = lock.write() {
            host.set_file(path.clone(), Arc::clone(text), tree.as_ref());
        }
    }
    let analysis = snapshot(&lock);
    let checked = files
        .into_iter()
        .zip(syntax)
        .map(|((path, text), mut diagnostics)| {
            diagnostics.extend(planai_diagnostics(&analysis, &path, &text, true));
            FileCheck {
                path,
                text,
                diagnostics,
            }
        })
        .collect();
    drop(analysis);
    *host = lock
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    checked
}

fn syntax_diagnostics(
    tree: Option<&tree_sitter::Tree>,
    text: &str,
    cache: Option<&mut SyntaxCache>,
) -> Vec<Diagnostic> {
    match (tree, cache) {
        (Some(tree), Some(cache)) => cache.diagnostics(tree, text),
        (Some(tree), None) => crate::syntax::syntax_diagnostics(tree, text),
        (None, _) => Vec::new(),
    }
}

/// Adds this text of `path` to the host (files over the size limit are not analysed).
fn set_file(
    host: &RwLock<AnalysisHost>,
    path: &Path,
    text: &Arc<str>,
    trees: Option<&[tree_sitter::Tree]>,
    edit: Option<crate::text::Edit>,
) {
    if text.len() > MAX_ANALYSED_FILE_BYTES {
        return;
    }
    // Summarised without the lock: it is taken to read the previous version, and to install
    // the new one.
    let previous = host
        .read()
        .ok()
        .and_then(|host| host.previous_version(path));
    let prepared = PreparedFile::build(path.to_path_buf(), Arc::clone(text), trees, edit, previous);
    if let Ok(mut host) = host.write() {
        host.install_file(prepared);
    }
}

/// The host as it is now, taken under a brief read lock (an empty host when the lock is
/// poisoned: a writer panicked, and nothing it left is trusted).
fn snapshot(host: &RwLock<AnalysisHost>) -> Analysis {
    host.read().map(|host| host.snapshot()).unwrap_or_default()
}

/// The PlanAI diagnostics of `path` (none for files over the size limit, unless `always`: the
/// CLI has always asked the host, which holds no summary for them and so reports nothing).
fn planai_diagnostics(
    analysis: &Analysis,
    path: &Path,
    text: &str,
    always: bool,
) -> Vec<Diagnostic> {
    planai_diagnostics_counted(analysis, path, text, always, None).0
}

/// `planai_diagnostics`, with how many units the other side of the check checked.
fn planai_diagnostics_counted(
    analysis: &Analysis,
    path: &Path,
    text: &str,
    always: bool,
    share: Option<&StartedAnalysis<'_, SharedOutput>>,
) -> (Vec<Diagnostic>, usize) {
    if text.len() > MAX_ANALYSED_FILE_BYTES && !always {
        return (Vec::new(), 0);
    }
    #[cfg(test)]
    pause::here(path);
    let (diagnostics, counts) = analysis.file_diagnostics_sharing(path, share);
    (diagnostics, counts.shared)
}

/// The fast path for a keystroke inside one top-level definition (see `syntax::statements`):
/// only that statement is parsed and summarised again. Returns the index of the new version,
/// whose syntax diagnostics are complete.
fn statement_edit(
    host: &RwLock<AnalysisHost>,
    path: &Path,
    text: &Arc<str>,
    previous: &StatementIndex,
    edit: Option<crate::text::Edit>,
) -> Option<StatementIndex> {
    let change = PARSER.with(|parser| {
        let parser = &mut parser.borrow_mut();
        match edit {
            Some(edit) => previous.reparse_edit(parser, text, edit),
            None => previous.reparse(parser, text),
        }
    })?;
    // `update_definition` checks that the edit turns the host's text into `text` (a recorded
    // edit describes the raw buffer; the analysis text differs where lone `\r` were made
    // `\n`), and changes nothing when it does not.
    let applied = host
        .write()
        .ok()?
        .apply_statement_edit(path, text.clone(), &change);
    applied.then(|| previous.apply(text.clone(), &change))
}

fn facts_of(analysis: &Analysis, path: &Path, text: &str) -> PlanaiFacts {
    match analysis.file_summary(path) {
        Some(summary) if text.len() <= MAX_ANALYSED_FILE_BYTES => {
            let mut facts = PlanaiFacts::of(&summary, text);
            facts.uses_planai =
                facts.imports_planai || super::planai_use::uses_planai(analysis, path);
            facts
        }
        // Too large to summarise: only its own import lines can tell.
        _ => PlanaiFacts {
            uses_planai: has_planai_import_line(text),
            ..PlanaiFacts::default()
        },
    }
}

/// `facts` with `uses_planai` recomputed against the workspace as it is now.
fn facts_with_current_use(
    analysis: &Analysis,
    path: &Path,
    facts: Arc<PlanaiFacts>,
) -> Arc<PlanaiFacts> {
    if facts.imports_planai || analysis.file_summary(path).is_none() {
        return facts;
    }
    let uses_planai = super::planai_use::uses_planai(analysis, path);
    if uses_planai == facts.uses_planai {
        return facts;
    }
    Arc::new(PlanaiFacts {
        uses_planai,
        ..(*facts).clone()
    })
}

/// A line of `text` that starts (after indentation) with `import planai` or `from planai`, for
/// files too large to summarise.
fn has_planai_import_line(text: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim_start();
        ["import planai", "from planai"].iter().any(|start| {
            line.strip_prefix(start)
                .is_some_and(|rest| rest.starts_with([' ', '\t', '.', ',']) || rest.is_empty())
        })
    })
}

/// What the server needs to know about a checked file to schedule work in the user's Python
/// environment: whether to validate it there at all, where it imports planai (problems with
/// the environment are shown there), and its `@tool` functions (validated one by one).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanaiFacts {
    /// The file uses PlanAI, itself or through the workspace modules it imports
    /// ([`super::planai_use`]): the module is worth validating in the venv. Wider than
    /// `imports_planai` on purpose: a module may use PlanAI only through workspace modules.
    pub uses_planai: bool,
    /// The file imports `planai` or one of its submodules somewhere.
    pub imports_planai: bool,
    /// Each statement importing planai, as its first line without indentation and trailing
    /// blanks.
    pub planai_imports: Vec<TextRange>,
    /// Module-level functions decorated with `@tool(...)` or `@<module>.tool(...)`.
    pub tools: Vec<ToolFunction>,
}

/// A module-level `@tool` function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolFunction {
    pub name: String,
    /// The range of its name.
    pub name_range: TextRange,
}

impl PlanaiFacts {
    /// Whether the module is worth validating in the user's environment (and starting the
    /// helper for).
    pub fn validate_in_venv(&self) -> bool {
        self.uses_planai
    }

    /// The facts of `summary`, the summary of `text`, as far as the file alone tells:
    /// `uses_planai` is whether it imports planai (the workspace may add to it, see
    /// `facts_of`).
    pub fn of(summary: &FileSummary, text: &str) -> PlanaiFacts {
        let mut starts = Vec::new();
        // Module-level import statements: the binding starts at the statement.
        for binding in summary.bindings.values().flatten() {
            if let super::summary::BindingKind::Import(i) = binding.kind() {
                if summary.imports.get(i).is_some_and(is_planai_import) {
                    starts.push(binding.start());
                }
            }
        }
        // Imports inside functions (and blocks): the binding's own range is on the statement.
        let mut nested = |stmts: &[Stmt]| {
            walk_stmts(stmts, &mut |stmt| {
                if let Stmt::Import(bindings) = stmt {
                    starts.extend(
                        bindings
                            .iter()
                            .filter(|b| is_planai_import(b))
                            .map(|b| b.range.start()),
                    );
                }
            })
        };
        for function in &summary.functions {
            nested(&function.body);
        }
        for class in &summary.classes {
            for method in &class.methods {
                nested(&method.body);
            }
        }
        let mut planai_imports: Vec<TextRange> = starts
            .into_iter()
            .map(|at| statement_line(text, at))
            .collect();
        planai_imports.sort();
        planai_imports.dedup();
        let tools = summary
            .functions
            .iter()
            .filter(|function| function.decorators.iter().any(is_tool_decorator))
            .map(|function| ToolFunction {
                name: function.name.to_string(),
                name_range: function.name_range,
            })
            .collect();
        PlanaiFacts {
            uses_planai: !planai_imports.is_empty(),
            imports_planai: !planai_imports.is_empty(),
            planai_imports,
            tools,
        }
    }
}

/// `@tool`, `@tool(...)`, `@x.tool` or `@x.tool(...)`.
pub(crate) fn is_tool_decorator(decorator: &Expr) -> bool {
    let callee = match decorator {
        Expr::Call(call) => &call.func,
        other => other,
    };
    match callee {
        Expr::Name { id, .. } => id == "tool",
        Expr::Attribute { attr, .. } => attr == "tool",
        _ => false,
    }
}

/// The line holding `at`, from its first non-blank character to its last.
fn statement_line(text: &str, at: usize) -> TextRange {
    let at = at.min(text.len());
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    let line = &text[line_start..line_end];
    let indent = line.len() - line.trim_start().len();
    let end = line_start + line.trim_end().len().max(indent);
    TextRange::new(line_start + indent, end)
}

/// Diagnostics on the statements importing planai when the selected environment cannot run
/// it (`problem` says why), so the problem shows where the user looks.
pub fn interpreter_diagnostics(facts: &PlanaiFacts, problem: &str) -> Vec<Diagnostic> {
    facts
        .planai_imports
        .iter()
        .map(|range| {
            Diagnostic::new(
                DiagnosticSource::PlanaiVenv,
                Severity::Warning,
                Code::PlanaiEnvironment,
                *range,
                problem.to_string(),
            )
        })
        .collect()
}

/// The venv diagnostics that do not repeat a static one. A problem found both ways is shown
/// once: the static one, which has the precise range and related information.
pub fn venv_additions(statics: &[Diagnostic], venv: &[Diagnostic]) -> Vec<Diagnostic> {
    venv.iter()
        .filter(|candidate| !duplicates_static(candidate, statics))
        .cloned()
        .collect()
}

/// Whether a venv diagnostic repeats a static one. The two often sit on different lines
/// (pydantic raises a field's problem, CD2 on the field's line, from the `class` line), so
/// they are matched by what they are: the same check about the same subject. Only where one
/// side has no identity (a check the helper cannot recognise from the exception's type and
/// where it was raised, or a static check that names no subject) are they matched by what
/// they say.
fn duplicates_static(candidate: &Diagnostic, statics: &[Diagnostic]) -> bool {
    statics.iter().any(|existing| {
        existing.source != candidate.source
            && match (&existing.identity, &candidate.identity) {
                (Some(existing), Some(candidate)) => existing == candidate,
                _ => {
                    same_problem(existing, candidate)
                        || (overlaps(existing, candidate) && similar_messages(existing, candidate))
                }
            }
    })
}

fn overlaps(a: &Diagnostic, b: &Diagnostic) -> bool {
    a.range.start() <= b.range.end() && b.range.start() <= a.range.end().max(a.range.start())
}

/// One message contains the other (or the static one's first sentence): on overlapping
/// ranges that is enough.
fn similar_messages(existing: &Diagnostic, candidate: &Diagnostic) -> bool {
    existing.message.contains(candidate.message.trim())
        || candidate
            .message
            .contains(existing.message.split(". ").next().unwrap_or(""))
}

/// The same problem wherever it is reported: the shared text is long enough to name it
/// (a short venv message such as `ValueError: 1` is only merged when the ranges overlap).
fn same_problem(existing: &Diagnostic, candidate: &Diagnostic) -> bool {
    const NAMES_A_PROBLEM: usize = 24;
    let venv = candidate.message.trim();
    let first_sentence = existing.message.split(". ").next().unwrap_or("").trim();
    (venv.len() >= NAMES_A_PROBLEM && existing.message.contains(venv))
        || (first_sentence.len() >= NAMES_A_PROBLEM && venv.contains(first_sentence))
}

/// Tests pause a check of one path at the point where it computes the PlanAI diagnostics, to
/// show what that computation does not hold up.
#[cfg(test)]
pub(crate) mod pause {
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;

    type Pause = (PathBuf, Box<dyn FnOnce() + Send>);

    static PAUSES: Mutex<Vec<Pause>> = Mutex::new(Vec::new());

    /// The next check of `path` calls `pause` before computing its PlanAI diagnostics (checks
    /// of other paths, run by other tests, are not affected).
    pub fn at(path: &Path, pause: impl FnOnce() + Send + 'static) {
        PAUSES
            .lock()
            .unwrap()
            .push((path.to_path_buf(), Box::new(pause)));
    }

    pub(super) fn here(path: &Path) {
        let pause = {
            let mut pauses = PAUSES.lock().unwrap_or_else(|p| p.into_inner());
            let at = pauses.iter().position(|(p, _)| p == path);
            at.map(|at| pauses.remove(at).1)
        };
        if let Some(pause) = pause {
            pause();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::{DiagnosticCode, Identity, Subject};

    fn diagnostic(source: DiagnosticSource, start: usize, message: &str) -> Diagnostic {
        Diagnostic::new(
            source,
            Severity::Error,
            DiagnosticCode::Venv("x".into()),
            TextRange::new(start, start + 5),
            message,
        )
    }

    #[test]
    fn a_venv_twin_on_another_line_is_merged_by_what_it_says() {
        let cd2 = diagnostic(
            DiagnosticSource::Planai,
            300,
            "A non-annotated attribute was detected: `max_words = 50`. All model fields require a type annotation.",
        );
        let twin = diagnostic(
            DiagnosticSource::PlanaiVenv,
            200,
            "PydanticUserError: A non-annotated attribute was detected: `max_words = 50`. All model fields require a type annotation; see https://errors.pydantic.dev",
        );
        assert!(duplicates_static(&twin, std::slice::from_ref(&cd2)));
        // A short message elsewhere is not taken for the same problem.
        let short = diagnostic(DiagnosticSource::PlanaiVenv, 10, "ValueError: 50");
        assert!(!duplicates_static(&short, std::slice::from_ref(&cd2)));
        let other = diagnostic(
            DiagnosticSource::PlanaiVenv,
            200,
            "A non-annotated attribute was detected: `retries = 3`.",
        );
        assert!(!duplicates_static(&other, &[cd2]));
    }

    fn identified(diagnostic: Diagnostic, check: Code, subject: Subject) -> Diagnostic {
        diagnostic.identified_as(Identity { check, subject })
    }

    #[test]
    fn a_venv_error_recognised_as_a_static_check_about_the_same_subject_is_dropped() {
        let gc7 = Diagnostic::new(
            DiagnosticSource::Planai,
            Severity::Error,
            Code::Gc7,
            TextRange::new(900, 920),
            "Worker Enricher does not produce any task types that worker Store can consume. ...",
        )
        .about(Subject::edge("Enricher", "Store"));
        // Far away and worded differently: the venv names the worker's `name`, not its class.
        let twin = identified(
            diagnostic(DiagnosticSource::PlanaiVenv, 10, "ValueError: boom"),
            Code::Gc7,
            Subject::edge("Enricher", "Store"),
        );
        assert_eq!(venv_additions(std::slice::from_ref(&gc7), &[twin]), vec![]);
    }

    /// A static CD2 on the field `max_words` of `Excerpter`.
    fn static_cd2() -> Diagnostic {
        Diagnostic::new(
            DiagnosticSource::Planai,
            Severity::Error,
            Code::Cd2,
            TextRange::new(300, 305),
            "A non-annotated attribute was detected: `max_words = 50`. All model fields require a type annotation.",
        )
        .about(Subject::field("Excerpter", "max_words"))
    }

    #[test]
    fn a_recognised_venv_error_about_another_subject_or_check_is_kept() {
        let cd2 = static_cd2();
        let same_words = "PydanticUserError: A non-annotated attribute was detected: `max_words = 50`. All model fields require a type annotation";
        // The same message, but the helper says it is another class's field: not the same problem.
        let other_class = identified(
            diagnostic(DiagnosticSource::PlanaiVenv, 300, same_words),
            Code::Cd2,
            Subject::field("Summarizer", "max_words"),
        );
        let other_check = identified(
            diagnostic(DiagnosticSource::PlanaiVenv, 300, same_words),
            Code::Cd3,
            Subject::field("Excerpter", "max_words"),
        );
        let venv = vec![other_class, other_check];
        assert_eq!(venv_additions(std::slice::from_ref(&cd2), &venv), venv);
        // A recognised error with no static twin at all is shown.
        let gc1 = identified(
            diagnostic(
                DiagnosticSource::PlanaiVenv,
                10,
                "ValueError: Task x already exists",
            ),
            Code::Gc1,
            Subject::class("Fetcher"),
        );
        assert_eq!(
            venv_additions(&[cd2], std::slice::from_ref(&gc1)),
            vec![gc1]
        );
    }

    #[test]
    fn an_unrecognised_venv_error_is_kept_unless_it_says_what_a_static_one_says() {
        let cd2 = static_cd2();
        assert!(cd2.identity.is_some());
        let unrecognised = diagnostic(
            DiagnosticSource::PlanaiVenv,
            200,
            "ValueError: invalid literal for int() with base 10: 'x'",
        );
        assert_eq!(
            venv_additions(
                std::slice::from_ref(&cd2),
                std::slice::from_ref(&unrecognised)
            ),
            vec![unrecognised]
        );
        let same_words = diagnostic(
            DiagnosticSource::PlanaiVenv,
            200,
            "PydanticUserError: A non-annotated attribute was detected: `max_words = 50`. All model fields require a type annotation",
        );
        assert_eq!(venv_additions(&[cd2], &[same_words]), vec![]);
    }

    fn facts(text: &str) -> PlanaiFacts {
        let tree = crate::syntax::parse(text).unwrap();
        PlanaiFacts::of(&FileSummary::build(&tree, text), text)
    }

    fn lines(text: &str, facts: &PlanaiFacts) -> Vec<String> {
        facts
            .planai_imports
            .iter()
            .map(|r| text[r.start()..r.end()].to_string())
            .collect()
    }

    #[test]
    fn planai_imports_are_facts_of_the_summary() {
        let text = "import os\nfrom planai import Task  # é\nimport planai.utils as u\nfrom planaix import y\nx = 'planai'\n\ndef f():\n    from planai.testing import MockLLM\n    import planaix\n\nclass C:\n    def m(self):\n        import planai\n";
        let found = facts(text);
        assert!(found.imports_planai);
        assert_eq!(
            lines(text, &found),
            vec![
                "from planai import Task  # é",
                "import planai.utils as u",
                "from planai.testing import MockLLM",
                "import planai",
            ]
        );
        let plain = facts("import os\nx = 'planai'\n");
        assert!(!plain.imports_planai);
        assert!(!plain.uses_planai, "a string naming planai is no use of it");
        assert!(facts("import planai\n").uses_planai);
        assert!(plain.planai_imports.is_empty());
        assert!(!facts("").imports_planai);
    }

    /// Checks `text` as the document at `path` with `Trigger::Opened`, or as unchanged with
    /// `Trigger::Workspace` when `previous` is given.
    fn check(
        host: &RwLock<AnalysisHost>,
        path: &Path,
        text: &Arc<str>,
        previous: Option<Reusable>,
    ) -> Checked {
        check_through(host, path, text, previous, &Sequential)
    }

    /// `check`, with the two sides of each join run by `join`.
    fn check_through(
        host: &RwLock<AnalysisHost>,
        path: &Path,
        text: &Arc<str>,
        previous: Option<Reusable>,
        join: &impl Join,
    ) -> Checked {
        let trigger = if previous.is_some() {
            Trigger::Workspace
        } else {
            Trigger::Opened
        };
        check_document(
            host,
            Source {
                path,
                text: text.clone(),
                tree: None,
                tree_is_current: false,
                edit: None,
                trigger,
            },
            previous.unwrap_or_default(),
            join,
        )
    }

    #[test]
    fn a_module_is_validated_in_the_venv_when_it_uses_planai_not_when_it_names_it() {
        let host = RwLock::new(AnalysisHost::new());
        let tasks = Path::new("/w/pkg/tasks.py");
        let uses_planai = "from planai import Task\n\nclass MyTask(Task):\n    text: str\n";
        check_files(
            &mut host.write().unwrap(),
            vec![
                (PathBuf::from("/w/pkg/__init__.py"), Arc::from("")),
                (tasks.to_path_buf(), Arc::from(uses_planai)),
            ],
        );
        let mention: Arc<str> = Arc::from("# a helper for planai flows\nNAME = 'planai'\n");
        let checked = check(&host, Path::new("/w/pkg/names.py"), &mention, None);
        assert!(!checked.facts.validate_in_venv());

        let flow = Path::new("/w/pkg/flow.py");
        let text: Arc<str> = Arc::from("from .tasks import MyTask\n\nq = MyTask(text='x')\n");
        let checked = check(&host, flow, &text, None);
        assert!(checked.facts.validate_in_venv());
        assert!(!checked.facts.imports_planai);

        // tasks.py stops using planai: the unchanged flow.py is re-checked and follows.
        check_files(
            &mut host.write().unwrap(),
            vec![(tasks.to_path_buf(), Arc::from("class MyTask:\n    pass\n"))],
        );
        let rechecked = check(&host, flow, &text, Some(checked.reusable));
        assert!(!rechecked.facts.validate_in_venv());
    }

    #[test]
    fn finds_tool_decorated_functions() {
        let text = "from planai import tool\n\n@tool(name='x')\ndef search(q: str) -> str:\n    return q\n\n@other\ndef nope():\n    pass\n\n@llm_interface.tool()\ndef fetch(url: str) -> str:\n    return url\n\n@tool\ndef bare():\n    pass\n";
        let found = facts(text);
        let names: Vec<&str> = found.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, vec!["search", "fetch", "bare"]);
        let search = &found.tools[0];
        assert_eq!(
            &text[search.name_range.start()..search.name_range.end()],
            "search"
        );
    }

    #[test]
    fn every_path_gives_what_a_batch_check_gives() {
        let path = Path::new("/w/m.py");
        let host = RwLock::new(AnalysisHost::new());
        let texts = [
            "from planai import Task\n\nclass A(Task):\n    x: int\n",
            "from planai import Task\n\nclass A(Task):\n    x: int = 1\n",
            "from planai import Task\n\nclass A(Task:\n    x: int = 1\n",
            "from planai import Task\n\nclass A(Task):\n    x = 1\n",
        ];
        let mut reusable = Reusable::default();
        for (i, text) in texts.iter().enumerate() {
            let text: Arc<str> = Arc::from(*text);
            let checked = check_document(
                &host,
                Source {
                    path,
                    text: text.clone(),
                    tree: None,
                    tree_is_current: false,
                    edit: None,
                    trigger: if i == 0 {
                        Trigger::Opened
                    } else {
                        Trigger::Edited
                    },
                },
                reusable,
                &Sequential,
            );
            let mut fresh = AnalysisHost::new();
            let batch = check_files(&mut fresh, vec![(path.to_path_buf(), text.clone())]);
            assert_eq!(checked.diagnostics, batch[0].diagnostics, "{text}");
            assert!(checked.facts.imports_planai);
            reusable = checked.reusable;
        }
    }

    #[test]
    fn setting_a_document_does_not_wait_for_a_check_of_another() {
        use std::sync::mpsc;
        use std::time::Duration;
        // Far above the time a set_file takes: only turns a hang (a writer waiting for the
        // paused check) into a failure.
        const DEADLINE: Duration = Duration::from_secs(20);
        let tasks = "from planai import Task\nclass A(Task):\n    x: int = 0\nclass B(Task):\n    y: int = 0\n";
        let workers = |out: &str| {
            format!("from typing import List, Type\nfrom planai import Task, TaskWorker\nfrom tasks import A, B\n\nclass P(TaskWorker):\n    output_types: List[Type[Task]] = [{out}]\n    def consume_work(self, task: B):\n        pass\n\nclass C(TaskWorker):\n    def consume_work(self, task: A):\n        pass\n")
        };
        let graph = "from planai import Graph\nfrom workers import P, C\n\ndef build():\n    g = Graph(name='g')\n    p, c = P(), C()\n    g.add_workers(p, c)\n    g.set_dependency(p, c)\n";
        let files = |workers: &str| -> Vec<(PathBuf, Arc<str>)> {
            vec![
                (PathBuf::from("/pause/tasks.py"), Arc::from(tasks)),
                (PathBuf::from("/pause/workers.py"), Arc::from(workers)),
                (PathBuf::from("/pause/graph.py"), Arc::from(graph)),
            ]
        };
        let fresh = |workers: &str| {
            let mut host = AnalysisHost::new();
            host.set_roots(vec![PathBuf::from("/pause")]);
            let checked = check_files(&mut host, files(workers));
            checked[2].diagnostics.clone()
        };
        let (before, after) = (fresh(&workers("A")), fresh(&workers("B")));
        assert!(before.is_empty());
        assert_eq!(after.len(), 1, "workers.py with [B] makes the edge GC7");

        let mut host = AnalysisHost::new();
        host.set_roots(vec![PathBuf::from("/pause")]);
        let mut loaded = files(&workers("A"));
        let (graph_path, graph_text) = loaded.pop().unwrap();
        check_files(&mut host, loaded);
        let host = Arc::new(RwLock::new(host));

        // The check of graph.py stops where it computes; meanwhile workers.py is set.
        let (paused_tx, paused_rx) = mpsc::channel();
        let (resume_tx, resume_rx) = mpsc::channel::<()>();
        pause::at(&graph_path, move || {
            let _ = paused_tx.send(());
            let _ = resume_rx.recv_timeout(DEADLINE);
        });
        let checking = {
            let (host, path, text) = (host.clone(), graph_path.clone(), graph_text.clone());
            std::thread::spawn(move || check(&host, &path, &text, None))
        };
        paused_rx
            .recv_timeout(DEADLINE)
            .expect("the check of graph.py reached its PlanAI diagnostics");
        let (set_tx, set_rx) = mpsc::channel();
        let setting = {
            let host = host.clone();
            let text: Arc<str> = Arc::from(workers("B").as_str());
            std::thread::spawn(move || {
                host.write()
                    .unwrap()
                    .set_file(PathBuf::from("/pause/workers.py"), text, None);
                let _ = set_tx.send(());
            })
        };
        let set_while_checking = set_rx.recv_timeout(DEADLINE).is_ok();
        resume_tx.send(()).unwrap();
        let checked = checking.join().unwrap();
        setting.join().unwrap();
        assert!(
            set_while_checking,
            "set_file of workers.py waited for the check of graph.py"
        );
        // The paused check saw the workspace as it was when it started...
        assert_eq!(checked.diagnostics, before);
        // ...and the re-check another file's change triggers sees the new one.
        let rechecked = check(&host, &graph_path, &graph_text, Some(checked.reusable));
        assert_eq!(rechecked.diagnostics, after);
    }

    /// Modules cut at column-0 line starts that make one part or the other fail to parse,
    /// and statements tree-sitter accepts but CPython refuses (so the syntax diagnostics of
    /// clean parts are not always empty).
    const HOSTILE_CUTS: &str = r#"
x = """
def inside_a_string():
    pass
"""
values = (
1,
)
@decorator
def decorated():
    return 1
if values:
    pass
else:
    pass
try:
    pass
except ValueError:
    pass
finally:
    pass
total = 1 + \
2
# a comment at column 0
def tabs():
	if values:
	    pass
return 5
nonlocal outside
break
a, b: int = 1
print "python 2"
class C:
    def m(self):
        yield
# a comment after a block
async def coroutine():
    await thing
"#;

    /// The top-level statements of `trees`, as (start, end, kind).
    fn top_level(trees: &[tree_sitter::Tree]) -> Vec<(usize, usize, String)> {
        let mut out = Vec::new();
        for tree in trees {
            let root = tree.root_node();
            let mut cursor = root.walk();
            for child in root.children(&mut cursor) {
                out.push((
                    child.start_byte(),
                    child.end_byte(),
                    child.kind().to_string(),
                ));
            }
        }
        out
    }

    /// Cutting a module in two parts (`parse_from_scratch`) is only right if two clean parts
    /// are always the module: checked at every column-0 line start (not only the definition
    /// lines `part_boundary` picks) of real modules, a generated wired module and hostile
    /// cuts. Whenever neither part has an error, the parts give the whole module's top-level
    /// statements, syntax diagnostics, summary and statement index.
    #[test]
    fn a_module_cut_into_two_clean_parts_is_the_module_parsed_whole() {
        let texts = [
            include_str!("../../examples/llm_review.py").to_string(),
            include_str!("../../examples/text_pipeline.py").to_string(),
            include_str!("../../tests/fixtures/verify_fixtures.py").to_string(),
            crate::testing::generate_wired_module(12),
            HOSTILE_CUTS.to_string(),
            format!(
                "{HOSTILE_CUTS}\n{}",
                include_str!("../../examples/llm_review.py")
            ),
        ];
        let (mut compared, mut refused, mut with_syntax_errors) = (0, 0, 0);
        for text in &texts {
            let whole = crate::syntax::parse(text).unwrap();
            let whole_syntax = crate::syntax::syntax_diagnostics(&whole, text);
            let whole_summary = FileSummary::build(&whole, text);
            let line_starts = std::iter::once(0)
                .chain(text.match_indices('\n').map(|(at, _)| at + 1))
                .filter(|&at| {
                    at > 0 && at < text.len() && !text.as_bytes()[at].is_ascii_whitespace()
                });
            for cut in line_starts {
                let parts: Vec<_> = [0..cut, cut..text.len()]
                    .into_iter()
                    .filter_map(|range| crate::syntax::parse_part(text, range))
                    .collect();
                assert_eq!(parts.len(), 2, "cut at {cut}");
                if parts.iter().any(|tree| tree.root_node().has_error()) {
                    refused += 1;
                    continue;
                }
                let at = format!("cut at {cut}: {:?}", &text[cut..text.len().min(cut + 30)]);
                assert!(!whole.root_node().has_error(), "{at}");
                assert_eq!(
                    top_level(&parts),
                    top_level(std::slice::from_ref(&whole)),
                    "{at}"
                );
                assert_eq!(
                    crate::syntax::syntax_diagnostics_of_parts(&parts, text),
                    whole_syntax,
                    "{at}"
                );
                assert_eq!(
                    FileSummary::build_deferring_shifts(&parts, text, None).0,
                    whole_summary,
                    "{at}"
                );
                let shared: Arc<str> = Arc::from(text.as_str());
                assert_eq!(
                    StatementIndex::new(shared.clone(), &parts, whole_syntax.clone()).is_some(),
                    StatementIndex::new(shared, std::slice::from_ref(&whole), whole_syntax.clone())
                        .is_some(),
                    "{at}"
                );
                compared += 1;
                with_syntax_errors += usize::from(!whole_syntax.is_empty());
            }
        }
        // 175, 46 and 51 when written: the test compares what it means to.
        let counts = format!(
            "{compared} compared, {refused} refused, {with_syntax_errors} with syntax diagnostics"
        );
        assert!(
            compared >= 150 && refused >= 30 && with_syntax_errors >= 30,
            "{counts}"
        );
    }

    /// Opening a large module parses it in two parts side by side; the check gives exactly
    /// what a batch check (one whole parse) gives, and hands the text back for a whole parse
    /// later instead of a tree.
    #[test]
    fn opening_a_large_module_parses_it_in_parts_with_the_same_result() {
        let mut text = crate::testing::generate_wired_module(160);
        // A statement tree-sitter accepts and CPython refuses, far from the cut.
        text.push_str("\nreturn 1\n");
        assert!(text.len() >= crate::syntax::PARSE_IN_PARTS_MIN_BYTES);
        let path = Path::new("/ws/big.py");
        let text: Arc<str> = Arc::from(text.as_str());
        let host = RwLock::new(AnalysisHost::default());
        let checked = check(&host, path, &text, None);
        assert!(
            matches!(checked.path, CheckPath::Full { parts: 2, .. }),
            "{:?}",
            checked.path
        );
        assert!(checked.tree.is_none());
        assert!(checked
            .tree_to_parse
            .as_ref()
            .is_some_and(|t| Arc::ptr_eq(t, &text)));
        let mut batch_host = AnalysisHost::default();
        let batch = check_files(&mut batch_host, vec![(path.to_path_buf(), text.clone())]);
        assert!(!checked.diagnostics.is_empty());
        assert_eq!(checked.diagnostics, batch[0].diagnostics);

        // As the server opens it: the two sides of each join on two threads, the syntax side
        // offered the classes' units once it is done (see `share`).
        let threaded_host = RwLock::new(AnalysisHost::default());
        let threaded = check_through(&threaded_host, path, &text, None, &ScopedThread);
        assert_eq!(threaded.diagnostics, batch[0].diagnostics);
    }
}
