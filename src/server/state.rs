//! Session state shared by every handler.
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

use crate::analysis::AnalysisHost;
use crate::diagnostics::Diagnostic;
use crate::server::settings::Settings;
use crate::text::{Document, PositionEncoding};

/// Diagnostics for one document, tagged with the version they were computed from.
#[derive(Clone, Debug, Default)]
pub struct VersionedDiagnostics {
    pub version: i32,
    pub diagnostics: Vec<Diagnostic>,
}

/// The per-document background worker that parses, analyses and publishes.
pub struct DocumentWorker {
    pub wake: Arc<Notify>,
    pub task: tokio::task::JoinHandle<()>,
}

pub struct Session {
    pub client: Client,
    pub documents: DashMap<Uri, Document>,
    pub workers: DashMap<Uri, DocumentWorker>,
    pub venv_results: DashMap<Uri, VersionedDiagnostics>,
    /// The last static (syntax + PlanAI) diagnostics per document, with their version, so venv
    /// results arriving later can be merged and published with the same version.
    pub static_results: DashMap<Uri, VersionedDiagnostics>,
    pub venv: crate::server::venv::VenvState,
    encoding: OnceLock<PositionEncoding>,
    pub settings: RwLock<Settings>,
    pub roots: RwLock<Vec<PathBuf>>,
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
}

impl Session {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            documents: DashMap::new(),
            workers: DashMap::new(),
            venv_results: DashMap::new(),
            static_results: DashMap::new(),
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
        }
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

    pub fn bump_generation(&self) -> u64 {
        self.workspace_generation.fetch_add(1, Ordering::SeqCst) + 1
    }

    pub fn generation(&self) -> u64 {
        self.workspace_generation.load(Ordering::SeqCst)
    }

    /// Wakes every document worker except `except` (cross-file results may have changed).
    pub fn wake_others(&self, except: Option<&Uri>) {
        for worker in self.workers.iter() {
            if Some(worker.key()) != except {
                worker.wake.notify_one();
            }
        }
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
