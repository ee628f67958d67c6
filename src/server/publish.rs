//! Scheduling and publishing diagnostics: one background worker per open document waits for
//! an analysis slot, snapshots the document, runs `analysis::check::check_document` on a
//! blocking thread, keeps what the next check reuses, and publishes the static results merged
//! with the venv results computed for the same version. The worker is the only publisher of its
//! document: the venv side stores results in the session entry and asks for a publish
//! (`Session::request_publish`).
//!
//! Architecture Invariant: a published result always names the document version it was
//! computed from, and a result is dropped rather than published when the document has moved on.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::text::SourceText;
use tower_lsp_server::ls_types::Uri;

use crate::analysis::check::{self, CheckPath, Checked, Reusable, Source, Trigger};
use crate::diagnostics::Diagnostic;
use crate::server::convert::to_lsp_diagnostic;
use crate::server::panic_guard::{panic_message, spawn_guarded};
use crate::server::state::{path_to_uri, uri_to_path, DocumentWorker, Session, StaticResult};
use crate::server::tree_retention;

/// Starts (or wakes) the worker of `uri`.
pub fn schedule(session: &Arc<Session>, uri: &Uri) {
    let Some(mut entry) = session.documents.get_mut(uri) else {
        return;
    };
    if let Some(worker) = &entry.worker {
        worker.wake.notify_one();
        return;
    }
    let wake = Arc::new(tokio::sync::Notify::new());
    wake.notify_one();
    let task = spawn_guarded(
        "document worker",
        run_worker(Arc::clone(session), uri.clone(), Arc::clone(&wake)),
    );
    entry.worker = Some(DocumentWorker { wake, task });
}

/// Forgets a closed document's tree retention (its worker stopped when its session entry was
/// dropped).
pub fn forget(session: &Session, uri: &Uri) {
    if let Ok(mut trees) = session.trees.lock() {
        trees.forget(uri);
    }
}

async fn run_worker(session: Arc<Session>, uri: Uri, wake: Arc<tokio::sync::Notify>) {
    // (document revision, workspace generation) of the last computation. Revisions, not
    // versions: they change with every applied change, whatever version the client sends.
    let mut last: Option<(u64, u64)> = None;
    let mut last_analysed_revision: Option<u64> = None;
    let mut reusable = Reusable::default();
    loop {
        wake.notified().await;
        loop {
            match session
                .documents
                .get(&uri)
                .map(|entry| entry.document.revision())
            {
                None => return,
                Some(revision) if last == Some((revision, session.generation())) => break,
                Some(_) => {}
            }
            let pending = PendingAnalysis::new(&session);
            // Wait for a slot before taking the snapshot: a waiting snapshot would keep the
            // document's syntax tree alive after `retain_tree` dropped it.
            let slot = session.analysis_slots.acquire().await;
            let Some(snapshot) = session
                .documents
                .get(&uri)
                .map(|entry| entry.document.snapshot())
            else {
                return;
            };
            let generation = session.generation();
            let version = snapshot.version();
            let revision = snapshot.revision();
            if last == Some((revision, generation)) {
                break;
            }
            let trigger = match last_analysed_revision {
                None => Trigger::Opened,
                Some(analysed) if analysed != revision => Trigger::Edited,
                Some(_) => Trigger::Workspace,
            };
            // The edit since the last check, as the document recorded it.
            let edit = last_analysed_revision.and_then(|analysed| snapshot.edit_since(analysed));
            let path = uri_to_path(&uri);
            let job_session = Arc::clone(&session);
            let previous = std::mem::take(&mut reusable);
            let job = run_analysis(move || {
                compute(&job_session, &path, &snapshot, trigger, edit, previous)
            })
            .await;
            drop(slot);
            drop(pending);
            let computed = match job {
                Ok(computed) => computed,
                Err(reason) => {
                    tracing::error!(uri = uri.as_str(), "analysis failed: {reason}");
                    last = Some((revision, generation));
                    break;
                }
            };
            last_analysed_revision = Some(revision);
            log_check(&uri_to_path(&uri), version, trigger, &computed);
            let Checked {
                diagnostics,
                tree,
                tree_to_parse,
                facts,
                reusable: next,
                ..
            } = computed;
            reusable = next;
            let mut generation_after = generation;
            if trigger.content_changed() {
                generation_after = session.bump_generation();
                session.wake_others(Some(&uri));
            }
            last = Some((revision, generation_after));
            // Which documents keep a tree is `tree_retention`'s policy.
            let mut stored_tree = false;
            let parse_later;
            let publish_now = {
                let Some(mut entry) = session.documents.get_mut(&uri) else {
                    return;
                };
                let keep = tree_retention::wants_tree(
                    trigger == Trigger::Opened,
                    entry.document.source().len_bytes(),
                );
                if let Some(tree) = tree.filter(|_| keep) {
                    entry.document.store_tree(version, tree);
                    stored_tree = true;
                }
                parse_later = tree_to_parse.filter(|_| keep);
                let still_current = entry.document.version() == version;
                // A re-check triggered by another file that changed nothing here is not
                // re-sent.
                let already_published = entry
                    .checked
                    .as_ref()
                    .is_some_and(|last| last.version == version && last.diagnostics == diagnostics);
                if still_current && !already_published {
                    entry.set_checked(StaticResult {
                        version,
                        diagnostics,
                        facts,
                    });
                    entry.publish_requested = false;
                }
                still_current && !already_published
            };
            // A document parsed in parts takes its place among those holding a tree now, as
            // it would with the tree (the tree follows, see `parse_whole_tree_later`).
            if stored_tree || parse_later.is_some() {
                retain_tree(&session, &uri, trigger == Trigger::Opened);
            }
            if publish_now {
                // Boxed: this worker future lives as long as the document is open, and inline
                // the publish state would make it ~3 KB for every open document.
                Box::pin(publish(&session, &uri)).await;
            }
            if let Some(text) = parse_later {
                parse_whole_tree_later(&session, &uri, version, text);
            }
        }
        let requested = session
            .documents
            .get_mut(&uri)
            .is_some_and(|mut entry| std::mem::take(&mut entry.publish_requested));
        if requested {
            Box::pin(publish(&session, &uri)).await;
        }
    }
}

/// Runs one analysis off the async scheduler and returns its result, or the panic message.
///
/// On the multi-threaded runtime the worker thread that awaits it runs it itself
/// (`block_in_place`, which moves the thread's other tasks to another thread): a keystroke's
/// analysis then starts and ends without two cross-thread wake-ups through the blocking pool
/// (5-10% of most keystrokes on the wired module in a same-run A/B). Elsewhere (tests on a
/// current-thread runtime) it goes to the blocking pool.
async fn run_analysis<T: Send + 'static>(
    job: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let catching = move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))
            .map_err(|panic| panic_message(panic.as_ref()))
    };
    if tokio::runtime::Handle::current().runtime_flavor()
        == tokio::runtime::RuntimeFlavor::MultiThread
    {
        tokio::task::block_in_place(catching)
    } else {
        tokio::task::spawn_blocking(catching)
            .await
            .unwrap_or_else(|_| Err("cancelled".to_string()))
    }
}

fn log_check(path: &Path, version: i32, trigger: Trigger, checked: &Checked) {
    if checked.too_large && trigger.content_changed() {
        tracing::info!(
            path = %path.display(),
            "file is larger than {} bytes: only syntax errors are reported",
            crate::analysis::MAX_ANALYSED_FILE_BYTES
        );
    }
    let total = checked.elapsed;
    match checked.path {
        CheckPath::Statement => tracing::debug!(
            path = %path.display(),
            version,
            "analysis: one statement reparsed, total {total:?}"
        ),
        CheckPath::PlanaiOnly => tracing::debug!(
            path = %path.display(),
            version,
            "analysis: PlanAI checks only, total {total:?}"
        ),
        CheckPath::Full {
            parse,
            syntax,
            parts,
            shared_units,
        } => tracing::debug!(
            path = %path.display(),
            version,
            "analysis: parse {parse:?} ({parts} part(s)), syntax {syntax:?} (in parallel, then \
             {shared_units} check unit(s)), total {total:?}"
        ),
    }
}

/// Parses `text` (version `version` of `uri`) whole, after its diagnostics were published
/// from a parse in parts (`Checked::tree_to_parse`), and keeps the tree as the base of the
/// next incremental parse, unless the document has moved on, got a tree meanwhile or lost
/// its place among the documents holding one (`tree_retention`). Takes an analysis slot like
/// a check, so it never adds a third busy thread on two cores.
fn parse_whole_tree_later(session: &Arc<Session>, uri: &Uri, version: i32, text: Arc<str>) {
    let session = Arc::clone(session);
    let uri = uri.clone();
    tokio::spawn(async move {
        let Ok(_slot) = session.analysis_slots.acquire().await else {
            return;
        };
        // Checked before the parse (not to parse for nothing) and when storing.
        let still_wanted = |trees: &tree_retention::TreeRetention<Uri>| {
            trees.holds(&uri)
                && session.documents.get(&uri).is_some_and(|entry| {
                    entry.document.version() == version && !entry.document.has_tree()
                })
        };
        if !session.trees.lock().is_ok_and(|trees| still_wanted(&trees)) {
            return;
        }
        let parsed = tokio::task::spawn_blocking(move || {
            std::panic::catch_unwind(|| crate::syntax::parse(&text)).unwrap_or(None)
        })
        .await;
        let Ok(Some(tree)) = parsed else {
            tracing::warn!(
                uri = uri.as_str(),
                "parsing the opened document whole failed"
            );
            return;
        };
        // Checked and stored under the retention lock, so that an open meanwhile cannot take
        // the place between the two and leave a tree nobody drops. (No code takes the
        // retention lock while it holds a document entry.)
        let Ok(trees) = session.trees.lock() else {
            return;
        };
        if still_wanted(&trees) {
            if let Some(mut entry) = session.documents.get_mut(&uri) {
                entry.document.store_tree(version, tree);
            }
        }
        drop(trees);
    });
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
        if let Some(mut entry) = session.documents.get_mut(&old) {
            entry.document.drop_tree();
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

/// Checks one snapshot of a document (see `analysis::check`).
fn compute(
    session: &Session,
    path: &Path,
    snapshot: &crate::text::document::DocumentSnapshot,
    trigger: Trigger,
    edit: Option<crate::text::Edit>,
    previous: Reusable,
) -> Checked {
    // Every keystroke in one file re-checks every other open document: the revision did not
    // change, so the text the last check indexed is this very text; share it instead of
    // copying it again.
    let text: Arc<str> = match previous.text() {
        Some(text) if !trigger.content_changed() => text.clone(),
        _ => snapshot.shared_analysis_text(),
    };
    let (tree, tree_is_current) = snapshot.incremental_base();
    check::check_document(
        &session.analysis,
        Source {
            path,
            text,
            tree,
            tree_is_current,
            trigger,
            edit,
        },
        previous,
        &crate::server::analysis_threads::BothCores,
    )
}

/// Publishes the document's last static results, with the venv results computed for the same
/// version, tagged with that version; nothing when the document has moved on.
async fn publish(session: &Arc<Session>, uri: &Uri) {
    let current = session.documents.get(uri).and_then(|entry| {
        let checked = entry.checked.as_ref()?;
        if entry.document.version() != checked.version {
            return None;
        }
        let venv = entry
            .venv
            .as_ref()
            .filter(|venv| venv.version == checked.version)
            .map(|venv| venv.diagnostics.clone());
        Some((checked.clone(), venv, entry.document.source().clone()))
    });
    let Some((checked, venv, source)) = current else {
        return;
    };
    let mut diagnostics = checked.diagnostics;
    if let Some(venv) = venv {
        let extra = check::venv_additions(&diagnostics, &venv);
        diagnostics.extend(extra);
    }
    if let Some(problem) = session.venv.interpreter_problem() {
        diagnostics.extend(check::interpreter_diagnostics(&checked.facts, &problem));
    }
    diagnostics.extend(session.runs.diagnostics_for(uri, &source));
    let encoding = session.encoding();
    let other_files = texts_of_related_files(session, &diagnostics).await;
    let lsp_diagnostics = diagnostics
        .iter()
        .map(|diagnostic| {
            to_lsp_diagnostic(session, uri, &source, diagnostic, encoding, &other_files)
        })
        .collect();
    session
        .client
        .publish_diagnostics(uri.clone(), lsp_diagnostics, Some(checked.version))
        .await;
}

/// The texts of files that related information points into and that are not open, read from
/// the analysis host on a blocking thread: publishing runs on the async runtime, which must
/// never wait for the analysis lock.
async fn texts_of_related_files(
    session: &Arc<Session>,
    diagnostics: &[Diagnostic],
) -> Vec<(std::path::PathBuf, SourceText)> {
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
        let Some(host) = session.analysis_snapshot() else {
            return Vec::new();
        };
        paths
            .into_iter()
            .filter_map(|path| {
                let text = host.file_text(&path)?;
                Some((path, SourceText::new(text)))
            })
            .collect()
    })
    .await
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::run_analysis;

    async fn panicking_then_finishing() {
        let failed = run_analysis(|| -> u32 { panic!("summary lowering broke") }).await;
        assert_eq!(failed, Err("summary lowering broke".to_string()));
        // The thread that ran it, and the runtime, keep serving.
        assert_eq!(run_analysis(|| 7).await, Ok(7));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_analysis_is_reported_on_the_multi_threaded_runtime() {
        panicking_then_finishing().await;
    }

    #[tokio::test]
    async fn a_panicking_analysis_is_reported_on_a_current_thread_runtime() {
        panicking_then_finishing().await;
    }
}
