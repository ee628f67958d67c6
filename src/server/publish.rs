//! The diagnostics pipeline: one background worker per open document parses incrementally,
//! runs the syntax and PlanAI checks, merges venv results computed for the same version, and
//! publishes.
//!
//! Architecture Invariant: a published result always names the document version it was
//! computed from, and a result is dropped rather than published when the document has moved on.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use ropey::Rope;
use tower_lsp_server::ls_types::{
    self as lsp, CodeDescription, DiagnosticRelatedInformation, DiagnosticSeverity, Location,
    NumberOrString, Uri,
};

use crate::diagnostics::{Diagnostic, Severity};
use crate::server::panic_guard::{panic_message, spawn_guarded};
use crate::server::state::{path_to_uri, uri_to_path, DocumentWorker, Session};
use crate::server::tree_retention;
use crate::syntax::statements::StatementIndex;
use crate::text::document::SEMANTIC_ANALYSIS_SIZE_LIMIT;
use crate::text::{offset_to_position, PositionEncoding};

/// Starts (or wakes) the worker of `uri`.
pub fn schedule(session: &Arc<Session>, uri: &Uri) {
    if let Some(worker) = session.workers.get(uri) {
        worker.wake.notify_one();
        return;
    }
    let wake = Arc::new(tokio::sync::Notify::new());
    wake.notify_one();
    let task = spawn_guarded(
        "document worker",
        run_worker(Arc::clone(session), uri.clone(), Arc::clone(&wake)),
    );
    session
        .workers
        .insert(uri.clone(), DocumentWorker { wake, task });
}

/// Stops the worker of a closed document.
pub fn stop(session: &Session, uri: &Uri) {
    if let Some((_, worker)) = session.workers.remove(uri) {
        worker.task.abort();
    }
    if let Ok(mut trees) = session.trees.lock() {
        trees.forget(uri);
    }
}

struct Computed {
    version: i32,
    tree: Option<tree_sitter::Tree>,
    diagnostics: Vec<Diagnostic>,
    /// What this document's next check can reuse.
    reusable: Reusable,
}

impl Computed {
    /// A result computed without a tree, from `statements` (the index of this version).
    fn from_index(
        version: i32,
        diagnostics: Vec<Diagnostic>,
        statements: StatementIndex,
        syntax: Option<crate::syntax::SyntaxCache>,
    ) -> Computed {
        Computed {
            version,
            tree: None,
            diagnostics,
            reusable: Reusable {
                statements: Some(statements),
                syntax,
            },
        }
    }
}

/// What one check of a document leaves for the next one.
#[derive(Default)]
struct Reusable {
    /// Statement boundaries and syntax diagnostics of the last version, when it had no
    /// syntax error (the statement-level fast path starts from it).
    statements: Option<StatementIndex>,
    /// Syntax diagnostics of unchanged top-level statements, for full reparses. Only
    /// documents edited since they were opened keep one: most open documents are never
    /// edited, and the memo (~15 KB for 600 lines) would only cost them memory.
    syntax: Option<crate::syntax::SyntaxCache>,
}

/// Why a document is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trigger {
    /// Its first check since it was opened.
    Opened,
    /// Its text changed since the last check.
    Edited,
    /// Another file or the configuration changed; its own text did not.
    Workspace,
}

impl Trigger {
    fn content_changed(self) -> bool {
        self != Trigger::Workspace
    }
}

async fn run_worker(session: Arc<Session>, uri: Uri, wake: Arc<tokio::sync::Notify>) {
    // (document version, workspace generation) of the last computation.
    let mut last: Option<(i32, u64)> = None;
    let mut last_analysed_version: Option<i32> = None;
    let mut reusable = Reusable::default();
    loop {
        wake.notified().await;
        loop {
            match session.documents.get(&uri).map(|doc| doc.version()) {
                None => return,
                Some(version) if last == Some((version, session.generation())) => break,
                Some(_) => {}
            }
            let pending = PendingAnalysis::new(&session);
            // Wait for a slot before taking the snapshot: a waiting snapshot would keep the
            // document's syntax tree alive after `retain_tree` dropped it.
            let slot = session.analysis_slots.acquire().await;
            let Some(snapshot) = session.documents.get(&uri).map(|doc| doc.snapshot()) else {
                return;
            };
            let generation = session.generation();
            let version = snapshot.version();
            if last == Some((version, generation)) {
                break;
            }
            let trigger = match last_analysed_version {
                None => Trigger::Opened,
                Some(analysed) if analysed != version => Trigger::Edited,
                Some(_) => Trigger::Workspace,
            };
            let path = uri_to_path(&uri);
            let job_session = Arc::clone(&session);
            let previous = std::mem::take(&mut reusable);
            let job = tokio::task::spawn_blocking(move || {
                compute(&job_session, &path, &snapshot, trigger, previous)
            })
            .await;
            drop(slot);
            drop(pending);
            let computed = match job {
                Ok(computed) => computed,
                Err(error) => {
                    let reason = if error.is_panic() {
                        panic_message(error.into_panic().as_ref())
                    } else {
                        "cancelled".to_string()
                    };
                    tracing::error!(uri = uri.as_str(), "analysis failed: {reason}");
                    last = Some((version, generation));
                    break;
                }
            };
            last_analysed_version = Some(computed.version);
            reusable = computed.reusable;
            let mut generation_after = generation;
            if trigger.content_changed() {
                generation_after = session.bump_generation();
                session.wake_others(Some(&uri));
            }
            last = Some((computed.version, generation_after));
            // Which documents keep a tree is `tree_retention`'s policy.
            let mut stored_tree = false;
            let still_current = {
                let mut current = false;
                if let Some(mut doc) = session.documents.get_mut(&uri) {
                    let keep = tree_retention::wants_tree(
                        trigger == Trigger::Opened,
                        doc.rope().len_bytes(),
                    );
                    if let Some(tree) = computed.tree.filter(|_| keep) {
                        doc.store_tree(computed.version, tree);
                        stored_tree = true;
                    }
                    current = doc.version() == computed.version;
                }
                current
            };
            if stored_tree {
                retain_tree(&session, &uri, trigger == Trigger::Opened);
            }
            // A re-check triggered by another file that changed nothing here is not re-sent.
            let already_published = session.static_results.get(&uri).is_some_and(|last| {
                last.version == computed.version && last.diagnostics == computed.diagnostics
            });
            if still_current && !already_published {
                session.static_results.insert(
                    uri.clone(),
                    crate::server::state::VersionedDiagnostics {
                        version: computed.version,
                        diagnostics: computed.diagnostics.clone(),
                    },
                );
                // Boxed: this worker future lives as long as the document is open, and inline
                // the publish state would make it ~3 KB for every open document.
                Box::pin(publish(
                    &session,
                    &uri,
                    computed.version,
                    computed.diagnostics,
                ))
                .await;
            }
        }
    }
}

thread_local! {
    /// One parser per blocking thread, reused across documents.
    static PARSER: std::cell::RefCell<tree_sitter::Parser> =
        std::cell::RefCell::new(crate::syntax::new_parser());
}

/// Records that `uri` holds a tree and drops the trees [`tree_retention::TreeRetention`]
/// lets go. Trees dropped after an edit are handed back to the OS at once; those of an opening
/// burst when the burst ends (see [`PendingAnalysis`]).
fn retain_tree(session: &Session, uri: &Uri, just_opened: bool) {
    let dropped = match session.trees.lock() {
        Ok(mut trees) => trees.hold(uri, just_opened),
        Err(_) => return,
    };
    let released = !dropped.is_empty();
    for old in dropped {
        if let Some(mut document) = session.documents.get_mut(&old) {
            document.drop_tree();
        }
    }
    if released && !just_opened {
        release_freed_memory();
    }
}

/// Counts an analysis as pending while it lives (also when its worker is aborted). When the
/// last one of a burst (opening many files, a change that re-checks every open file) ends,
/// the memory their trees and temporaries used is handed back to the OS.
struct PendingAnalysis<'s>(&'s Session);

impl<'s> PendingAnalysis<'s> {
    fn new(session: &'s Session) -> Self {
        session.analyses_pending.fetch_add(1, Ordering::SeqCst);
        PendingAnalysis(session)
    }
}

impl Drop for PendingAnalysis<'_> {
    fn drop(&mut self) {
        let session = self.0;
        let finished = session.analyses_since_trim.fetch_add(1, Ordering::SeqCst) + 1;
        let idle = session.analyses_pending.fetch_sub(1, Ordering::SeqCst) == 1;
        if idle && finished >= BURST_BEFORE_TRIM {
            session.analyses_since_trim.store(0, Ordering::SeqCst);
            release_freed_memory();
        }
    }
}

/// How many analyses make a burst worth a `malloc_trim` (a keystroke is one analysis).
const BURST_BEFORE_TRIM: usize = 8;

/// Hands memory freed by dropped trees back to the OS. glibc keeps freed blocks in its
/// per-thread arenas otherwise, so the resident size would stay at its peak.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory at the top of glibc's heaps; it has no
    // preconditions and touches no memory we own.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn compute(
    session: &Session,
    path: &Path,
    snapshot: &crate::text::document::DocumentSnapshot,
    trigger: Trigger,
    previous: Reusable,
) -> Computed {
    let content_changed = trigger.content_changed();
    let version = snapshot.version();
    let started = std::time::Instant::now();
    let Reusable {
        statements,
        syntax: mut syntax_cache,
    } = previous;
    // Every keystroke in one file re-checks every other open document: when the index of the
    // last check holds this very text, share it instead of copying the rope.
    let text: Arc<str> = match &statements {
        Some(index) if !content_changed && *snapshot.rope() == **index.text() => {
            index.text().clone()
        }
        _ => Arc::from(snapshot.analysis_text()),
    };
    if !content_changed {
        // Another file changed: only the PlanAI checks can differ.
        if let Some(statements) = statements.filter(|index| Arc::ptr_eq(index.text(), &text)) {
            let mut diagnostics = statements.syntax().to_vec();
            diagnostics.extend(analyse(session, path, &text, None, false, version));
            return Computed::from_index(version, diagnostics, statements, syntax_cache);
        }
    } else if let Some(previous) = &statements {
        if let Some(next) = compute_statement_edit(session, path, &text, previous) {
            let mut diagnostics = next.syntax().to_vec();
            diagnostics.extend(
                session
                    .analysis
                    .read()
                    .map(|host| host.file_diagnostics(path))
                    .unwrap_or_default(),
            );
            tracing::debug!(
                path = %path.display(),
                version,
                "analysis: one statement reparsed, total {:?}",
                started.elapsed()
            );
            return Computed::from_index(version, diagnostics, next, syntax_cache);
        }
    }
    let tree = PARSER.with(|parser| snapshot.parse_text(&mut parser.borrow_mut(), &text));
    let parsed = started.elapsed();
    // Syntax checks and PlanAI analysis are independent: run them on both cores.
    let ((syntax, syntax_time), planai) = std::thread::scope(|scope| {
        let syntax = scope.spawn(|| {
            let started = std::time::Instant::now();
            if trigger == Trigger::Edited {
                syntax_cache.get_or_insert_default();
            }
            let found = match (&tree, syntax_cache.as_mut()) {
                (Some(tree), Some(cache)) => cache.diagnostics(tree, &text),
                (Some(tree), None) => crate::syntax::syntax_diagnostics(tree, &text),
                (None, _) => Vec::new(),
            };
            (found, started.elapsed())
        });
        let planai = analyse(
            session,
            path,
            &text,
            tree.as_ref(),
            content_changed,
            version,
        );
        let syntax = syntax
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (syntax, planai)
    });
    let mut diagnostics = syntax.clone();
    diagnostics.extend(planai);
    tracing::debug!(
        path = %path.display(),
        version,
        "analysis: parse {parsed:?}, syntax {syntax_time:?} (in parallel), total {:?}",
        started.elapsed()
    );
    let statements = tree
        .as_ref()
        .and_then(|tree| StatementIndex::new(text.clone(), tree, syntax));
    Computed {
        version,
        tree,
        diagnostics,
        reusable: Reusable {
            statements,
            syntax: syntax_cache,
        },
    }
}

/// The fast path for a keystroke inside one top-level definition (see
/// `syntax::statements`): only that statement is parsed and summarised again. Returns the
/// index of the new version, whose syntax diagnostics are complete.
fn compute_statement_edit(
    session: &Session,
    path: &Path,
    text: &Arc<str>,
    previous: &StatementIndex,
) -> Option<StatementIndex> {
    let change = PARSER.with(|parser| previous.reparse(&mut parser.borrow_mut(), text))?;
    let applied = session.analysis.write().ok()?.update_definition(
        path,
        text.clone(),
        change.edit,
        change.old_start,
        change.definition(),
    );
    applied.then(|| previous.apply(text.clone(), &change))
}

/// PlanAI diagnostics of `path` after updating the host with this version's text (files over
/// the size limit get none).
fn analyse(
    session: &Session,
    path: &Path,
    text: &Arc<str>,
    tree: Option<&tree_sitter::Tree>,
    content_changed: bool,
    version: i32,
) -> Vec<Diagnostic> {
    if text.len() > SEMANTIC_ANALYSIS_SIZE_LIMIT {
        if content_changed {
            tracing::info!(
                path = %path.display(),
                "file is larger than {} bytes: only syntax errors are reported",
                SEMANTIC_ANALYSIS_SIZE_LIMIT
            );
        }
        return Vec::new();
    }
    let started = std::time::Instant::now();
    if content_changed {
        if let Ok(mut host) = session.analysis.write() {
            host.set_file(path.to_path_buf(), Arc::clone(text), tree);
        }
    }
    let summarised = started.elapsed();
    let diagnostics = session
        .analysis
        .read()
        .map(|host| host.file_diagnostics(path))
        .unwrap_or_default();
    tracing::debug!(
        path = %path.display(),
        version,
        "analysis: summary {summarised:?}, checks {:?}",
        started.elapsed() - summarised
    );
    diagnostics
}

/// Merges venv results computed for `version` and publishes everything tagged with `version`.
pub async fn publish(
    session: &Arc<Session>,
    uri: &Uri,
    version: i32,
    mut diagnostics: Vec<Diagnostic>,
) {
    if let Some(venv) = session.venv_results.get(uri) {
        if venv.version == version {
            let extra: Vec<Diagnostic> = venv
                .diagnostics
                .iter()
                .filter(|candidate| !duplicates_static(candidate, &diagnostics))
                .cloned()
                .collect();
            diagnostics.extend(extra);
        }
    }
    let Some(rope) = session
        .documents
        .get(uri)
        .filter(|d| d.version() == version)
        .map(|d| d.rope().clone())
    else {
        return;
    };
    if session.venv.interpreter_problem().is_some() {
        diagnostics.extend(crate::server::venv::interpreter_diagnostics(session, &rope));
    }
    let encoding = session.encoding();
    let other_files = texts_of_related_files(session, &diagnostics).await;
    let lsp_diagnostics = diagnostics
        .iter()
        .map(|diagnostic| {
            to_lsp_diagnostic(session, uri, &rope, diagnostic, encoding, &other_files)
        })
        .collect();
    session
        .client
        .publish_diagnostics(uri.clone(), lsp_diagnostics, Some(version))
        .await;
}

/// The texts of files that related information points into and that are not open, read from
/// the analysis host on a blocking thread: publishing runs on the async runtime, which must
/// never wait for the analysis lock.
async fn texts_of_related_files(
    session: &Arc<Session>,
    diagnostics: &[Diagnostic],
) -> Vec<(std::path::PathBuf, Rope)> {
    let mut paths: Vec<std::path::PathBuf> = diagnostics
        .iter()
        .flat_map(|d| d.related.iter())
        .filter_map(|info| info.path.clone())
        .filter(|path| path_to_uri(path).is_some_and(|uri| !session.documents.contains_key(&uri)))
        .collect();
    paths.sort();
    paths.dedup();
    if paths.is_empty() {
        return Vec::new();
    }
    let session = Arc::clone(session);
    tokio::task::spawn_blocking(move || {
        let Ok(host) = session.analysis.read() else {
            return Vec::new();
        };
        paths
            .into_iter()
            .filter_map(|path| {
                let text = host.file_text(&path)?;
                Some((path, Rope::from_str(&text)))
            })
            .collect()
    })
    .await
    .unwrap_or_default()
}

/// A venv diagnostic that repeats a static one is shown once (the static one, which has the
/// precise range and related information). The two often sit on different lines, so they are
/// matched by what they say: pydantic raises a field's problem (CD2 on the field's line) from
/// the `class` line.
fn duplicates_static(candidate: &Diagnostic, statics: &[Diagnostic]) -> bool {
    statics.iter().any(|existing| {
        existing.source != candidate.source
            && (same_problem(existing, candidate)
                || (overlaps(existing, candidate) && similar_messages(existing, candidate)))
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

pub fn to_lsp_severity(severity: Severity) -> DiagnosticSeverity {
    match severity {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Information => DiagnosticSeverity::INFORMATION,
        Severity::Hint => DiagnosticSeverity::HINT,
    }
}

pub fn to_lsp_range(
    rope: &Rope,
    range: crate::diagnostics::TextRange,
    encoding: PositionEncoding,
) -> lsp::Range {
    let start = offset_to_position(rope, range.start(), encoding);
    let end = offset_to_position(rope, range.end(), encoding);
    lsp::Range {
        start: lsp::Position {
            line: start.line,
            character: start.character,
        },
        end: lsp::Position {
            line: end.line,
            character: end.character,
        },
    }
}

fn to_lsp_diagnostic(
    session: &Session,
    uri: &Uri,
    rope: &Rope,
    diagnostic: &Diagnostic,
    encoding: PositionEncoding,
    other_files: &[(std::path::PathBuf, Rope)],
) -> lsp::Diagnostic {
    let related: Vec<DiagnosticRelatedInformation> = diagnostic
        .related
        .iter()
        .filter_map(|info| {
            let (target_uri, range) = match &info.path {
                None => (uri.clone(), to_lsp_range(rope, info.range, encoding)),
                Some(path) => {
                    let target_uri = path_to_uri(path)?;
                    let range = match session.documents.get(&target_uri) {
                        Some(doc) => to_lsp_range(doc.rope(), info.range, encoding),
                        None => {
                            let (_, text) = other_files.iter().find(|(p, _)| p == path)?;
                            to_lsp_range(text, info.range, encoding)
                        }
                    };
                    (target_uri, range)
                }
            };
            Some(DiagnosticRelatedInformation {
                location: Location {
                    uri: target_uri,
                    range,
                },
                message: info.message.clone(),
            })
        })
        .collect();
    lsp::Diagnostic {
        range: to_lsp_range(rope, diagnostic.range, encoding),
        severity: Some(to_lsp_severity(diagnostic.severity)),
        code: Some(NumberOrString::String(diagnostic.code.to_string())),
        code_description: diagnostic
            .code
            .docs_url()
            .parse()
            .ok()
            .map(|href| CodeDescription { href }),
        source: Some(diagnostic.source.as_str().to_string()),
        message: diagnostic.message.clone(),
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::{DiagnosticSource, TextRange};

    fn diagnostic(source: DiagnosticSource, start: usize, message: &str) -> Diagnostic {
        Diagnostic::new(
            source,
            Severity::Error,
            crate::diagnostics::DiagnosticCode::Venv("x".into()),
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
}
