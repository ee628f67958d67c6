//! Session state shared by every handler: one map of open documents (`OpenDocument` holds
//! everything kept per document), the settings, the analysis host and the Python side's state.
//! The bottom of the server: it calls no other server module but `settings`, `venv_state` and
//! `tree_retention`.
//!
//! Architecture Invariant: text-sync notifications mutate `documents` synchronously, before
//! their first `.await`, so edits are applied in the order the client sent them even though
//! tower-lsp-server runs handlers concurrently. Background work reads immutable snapshots.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use dashmap::DashMap;
use tokio::sync::Notify;
use tower_lsp_server::ls_types::Uri;
use tower_lsp_server::Client;

use crate::analysis::check::PlanaiFacts;
use crate::analysis::AnalysisHost;
use crate::diagnostics::Diagnostic;
use crate::server::settings::Settings;
pub use crate::server::venv_state::VenvState;
use crate::text::{Document, PositionEncoding};

/// Diagnostics for one document, tagged with the version they were computed from.
#[derive(Clone, Debug, Default)]
pub struct VersionedDiagnostics {
    pub version: i32,
    pub diagnostics: Vec<Diagnostic>,
}

/// The last static check of a document: its syntax and PlanAI diagnostics and the PlanAI
/// facts of that version.
#[derive(Clone, Debug)]
pub struct StaticResult {
    pub version: i32,
    pub diagnostics: Vec<Diagnostic>,
    pub facts: Arc<PlanaiFacts>,
}

/// The per-document background worker that parses, analyses and publishes.
pub struct DocumentWorker {
    pub wake: Arc<Notify>,
    pub task: tokio::task::JoinHandle<()>,
}

/// The facts of the last checked version, for whoever waits for them (venv scheduling).
pub type CheckedFacts = Option<(i32, Arc<PlanaiFacts>)>;

/// Everything the session keeps for one open document. Closing the document drops it, which
/// stops its worker and its venv validation.
pub struct OpenDocument {
    pub document: Document,
    /// Parses, analyses and publishes (see `publish.rs`); started by `publish::schedule`.
    pub worker: Option<DocumentWorker>,
    /// The last static result, kept so venv results arriving later can be merged and
    /// published with the same version.
    pub checked: Option<StaticResult>,
    /// Venv results, with the version they were computed from.
    pub venv: Option<VersionedDiagnostics>,
    /// The pending or running venv validation; a newer one aborts it.
    pub validation: Option<tokio::task::JoinHandle<()>>,
    /// Publish again on the worker's next turn (venv results or the interpreter changed).
    pub publish_requested: bool,
    /// The facts of the last checked version.
    facts: tokio::sync::watch::Sender<CheckedFacts>,
}

impl OpenDocument {
    pub fn new(document: Document) -> Self {
        Self {
            document,
            worker: None,
            checked: None,
            venv: None,
            validation: None,
            publish_requested: false,
            facts: tokio::sync::watch::Sender::new(None),
        }
    }

    /// Records a static check (and tells whoever waits for its facts).
    pub fn set_checked(&mut self, result: StaticResult) {
        let facts = (result.version, Arc::clone(&result.facts));
        self.checked = Some(result);
        self.facts.send_replace(Some(facts));
    }

    /// The facts of the last checked version (and of the ones checked later), as they come.
    pub fn facts(&self) -> tokio::sync::watch::Receiver<CheckedFacts> {
        self.facts.subscribe()
    }

    /// Whether the last check found the document worth validating in the venv.
    pub fn validate_in_venv(&self) -> bool {
        self.checked
            .as_ref()
            .is_some_and(|checked| checked.facts.validate_in_venv())
    }

    /// Replaces the pending venv validation.
    pub fn set_validation(&mut self, task: Option<tokio::task::JoinHandle<()>>) {
        if let Some(previous) = std::mem::replace(&mut self.validation, task) {
            previous.abort();
        }
    }
}

impl Drop for OpenDocument {
    fn drop(&mut self) {
        if let Some(worker) = self.worker.take() {
            worker.task.abort();
        }
        self.set_validation(None);
    }
}

pub struct Session {
    pub client: Client,
    /// One entry per open document: the text and everything kept for it.
    pub documents: DashMap<Uri, OpenDocument>,
    pub venv: VenvState,
    encoding: OnceLock<PositionEncoding>,
    pub settings: RwLock<Settings>,
    pub roots: RwLock<Vec<PathBuf>>,
    /// Written only to install a file (its summary built by the writer); read only to take a
    /// snapshot (`analysis_snapshot`), never held while a check or query computes.
    pub analysis: RwLock<AnalysisHost>,
    /// Bumped whenever any file's content changes, so other open documents re-check
    /// cross-file diagnostics.
    pub workspace_generation: AtomicU64,
    /// (client answers workspace/configuration, client supports dynamic file watchers).
    pub client_features: OnceLock<(bool, bool)>,
    /// Which documents keep their syntax tree.
    pub trees: Mutex<crate::server::tree_retention::TreeRetention<Uri>>,
    /// Enables test-only requests such as `planai/debug/panic`.
    pub test_hooks: bool,
    /// Analyses running at once (one per core): opening a hundred files must not parse a
    /// hundred trees side by side, which multiplies peak memory and allocator arenas.
    pub analysis_slots: tokio::sync::Semaphore,
    /// Analyses waiting or running, and how many finished since memory was last handed back.
    pub analyses_pending: std::sync::atomic::AtomicUsize,
    pub analyses_since_trim: std::sync::atomic::AtomicUsize,
    /// Workflow runs: the manager, their progress tokens and their diagnostics.
    pub runs: crate::server::run_state::RunState,
    /// Whether the workspace's files from disk are being read into the host: until they are,
    /// the host does not know the packages (`__init__.py`) around open files, so an import a
    /// code action writes would name the wrong module.
    pub initial_index: tokio::sync::watch::Sender<IndexState>,
}

/// Where the initial workspace index is (see `Session::initial_index`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexState {
    /// Not asked for (before `initialized`): nothing to wait for.
    NotStarted,
    Running,
    /// Finished, failed or found no workspace folder.
    Done,
}

impl Session {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            documents: DashMap::new(),
            venv: Default::default(),
            encoding: OnceLock::new(),
            settings: RwLock::new(Settings::default()),
            roots: RwLock::new(Vec::new()),
            analysis: RwLock::new(AnalysisHost::new()),
            workspace_generation: AtomicU64::new(0),
            client_features: OnceLock::new(),
            trees: Mutex::new(Default::default()),
            test_hooks: std::env::var_os("PLANAI_LSP_TEST_HOOKS").is_some_and(|v| v == "1"),
            analysis_slots: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4)),
            ),
            analyses_pending: Default::default(),
            analyses_since_trim: Default::default(),
            runs: Default::default(),
            initial_index: tokio::sync::watch::Sender::new(IndexState::NotStarted),
        }
    }

    /// The analysis host as it is now, to compute on without holding its lock: the read lock
    /// is held only while it is cloned. Call it on a blocking thread (a writer may hold the
    /// lock while it installs a file). `None` when the lock is poisoned.
    pub fn analysis_snapshot(&self) -> Option<crate::analysis::Analysis> {
        self.analysis.read().ok().map(|host| host.snapshot())
    }

    pub fn encoding(&self) -> PositionEncoding {
        self.encoding.get().copied().unwrap_or_default()
    }

    pub fn set_encoding(&self, encoding: PositionEncoding) {
        let _ = self.encoding.set(encoding);
    }

    pub fn settings(&self) -> Settings {
        self.settings.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// Where diagnostics link their code's section (`codeDescription`), `None`: no links.
    pub fn docs_base(&self) -> Option<Arc<str>> {
        let setting = self.settings.read().ok().and_then(|s| s.docs_url.clone());
        crate::server::docs_link::docs_base(setting.as_deref())
    }

    pub fn bump_generation(&self) -> u64 {
        self.workspace_generation.fetch_add(1, Ordering::SeqCst) + 1
    }

    pub fn generation(&self) -> u64 {
        self.workspace_generation.load(Ordering::SeqCst)
    }

    /// Wakes every document worker except `except` (cross-file results may have changed).
    pub fn wake_others(&self, except: Option<&Uri>) {
        for entry in self.documents.iter() {
            if Some(entry.key()) != except {
                if let Some(worker) = &entry.worker {
                    worker.wake.notify_one();
                }
            }
        }
    }

    /// Has the worker of `uri` publish again (static results merged with the current venv
    /// state) on its next turn.
    pub fn request_publish(&self, uri: &Uri) {
        if let Some(mut entry) = self.documents.get_mut(uri) {
            entry.publish_requested = true;
            if let Some(worker) = &entry.worker {
                worker.wake.notify_one();
            }
        }
    }

    /// [`Session::request_publish`] for every open document.
    pub fn request_publish_all(&self) {
        for mut entry in self.documents.iter_mut() {
            entry.publish_requested = true;
            if let Some(worker) = &entry.worker {
                worker.wake.notify_one();
            }
        }
    }

    /// Whether any open document is worth validating in the venv (as its last check found).
    pub fn any_document_to_validate(&self) -> bool {
        self.documents.iter().any(|entry| entry.validate_in_venv())
    }
}

/// The file path analysis uses for a document URI. Non-file URIs (e.g. `untitled:`) get a
/// stable synthetic path so they can still be analysed on their own.
pub fn uri_to_path(uri: &Uri) -> PathBuf {
    match uri.to_file_path() {
        Some(path) => path.into_owned(),
        None => PathBuf::from(format!("/.planai-lsp-virtual/{}", sanitize(uri.as_str()))),
    }
}

fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub fn path_to_uri(path: &Path) -> Option<Uri> {
    Uri::from_file_path(path)
}
