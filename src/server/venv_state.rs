//! The Python side's per-session state (data only; `venv/` acts on it).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use dashmap::DashMap;

use crate::python::helper::{HelperStatus, SupervisorSettings};
use crate::python::service::PythonService;

pub struct VenvState {
    /// Environment selection and the helper of the selected interpreter.
    pub(crate) service: PythonService,
    pub(crate) configured: AtomicBool,
    /// Serialises reconfiguration so settings are read and applied as one step: a slower
    /// configure that read older settings can never overwrite a newer selection.
    pub(crate) configure_lock: tokio::sync::Mutex<()>,
    /// Problem with the interpreter or planai, shown on `import planai` lines.
    interpreter_problem: Mutex<Option<String>>,
    /// Models listed per provider (for `model_name=` completion), asked once per session.
    pub(crate) models: DashMap<String, Vec<String>>,
    /// Messages already shown with `window/showMessage` (each is shown once).
    pub(crate) shown: Mutex<HashSet<String>>,
    /// The client's settings are known: its first `workspace/configuration` answer arrived
    /// (or failed, or it does not answer such requests). Until then the selection may still
    /// change (`planai.python` often comes only from that answer), so nothing is announced:
    /// users saw a popup about the discovered interpreter a moment before the configured one
    /// replaced it.
    pub(crate) settings_known: AtomicBool,
    /// The interpreter of the last selection announced (for tests and logs).
    pub(crate) announced: Mutex<Option<String>>,
}

impl Default for VenvState {
    fn default() -> Self {
        Self {
            service: PythonService::new(SupervisorSettings::default()),
            configured: AtomicBool::new(false),
            configure_lock: tokio::sync::Mutex::new(()),
            interpreter_problem: Mutex::new(None),
            models: DashMap::new(),
            shown: Mutex::new(HashSet::new()),
            settings_known: AtomicBool::new(false),
            announced: Mutex::new(None),
        }
    }
}

impl VenvState {
    pub fn interpreter_problem(&self) -> Option<String> {
        self.interpreter_problem.lock().ok()?.clone()
    }

    /// Sets the problem; whether it changed.
    pub(crate) fn set_interpreter_problem(&self, problem: Option<String>) -> bool {
        let Ok(mut slot) = self.interpreter_problem.lock() else {
            return false;
        };
        let changed = *slot != problem;
        *slot = problem;
        changed
    }

    /// The helper's status (for tests and logs).
    pub fn helper_status(&self) -> HelperStatus {
        self.service.status()
    }

    /// Whether the client's settings are known, the interpreter last announced, and the
    /// messages shown so far (for tests).
    pub fn announcement(&self) -> (bool, Option<String>, Vec<String>) {
        let mut shown: Vec<String> = self
            .shown
            .lock()
            .map(|shown| shown.iter().cloned().collect())
            .unwrap_or_default();
        shown.sort();
        (
            self.settings_known.load(Ordering::SeqCst),
            self.announced.lock().ok().and_then(|a| a.clone()),
            shown,
        )
    }
}
