//! Settings, resolved in one place from every shape clients send them in.
//!
//! VS Code answers `workspace/configuration` for section `planai` with a nested object;
//! Neovim sends its `settings` table (`{ planai = {...} }`) both there and in
//! `didChangeConfiguration`; Helix sends its `config` table as `initializationOptions` and
//! also answers `workspace/configuration` from it. We accept `{settings: {planai: {...}}}`,
//! `{planai: {...}}` and the bare `{...}` section, plus dotted keys (`"validation.run"`).

use serde_json::Value;

/// When venv-backed validation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ValidationRun {
    #[default]
    OnSave,
    OnType,
    Off,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// `planai.python`: an interpreter path (or venv dir), or an argv list.
    pub python: Option<Value>,
    pub validation_run: ValidationRun,
    /// Debounce for `onType` validation.
    pub validation_debounce_ms: u64,
    /// Per-request timeout for the helper.
    pub validation_timeout_ms: u64,
    /// At most this many validations (child processes) run at once; later ones wait.
    pub validation_max_concurrent: usize,
    pub log_level: Option<String>,
    /// Following ty's convention: when set, no interpreter is ever launched. Once set it
    /// stays set for the session: trust can only become stricter (see `merge_from`).
    pub untrusted_workspace: bool,
    /// `planai.autoSelectWorkspaceVenv`: whether an environment inside the workspace (its
    /// `.venv`, `venv`, …) may be selected without the user choosing it. When false, only
    /// `planai.python`, `planai.selectEnvironment` or an environment outside the workspace is
    /// used.
    pub auto_select_workspace_venv: bool,
    /// `planai.run.*`: limits of workflow runs, and whether a run's working directory is
    /// `<workspace>/.planai/runs/<id>/` (kept) rather than a temp dir (removed).
    pub run_timeout_secs: u64,
    pub run_output_cap_bytes: usize,
    pub run_max_concurrent: usize,
    pub run_in_workspace: bool,
    /// `planai.run.niceness`: how many steps nicer than the server a run starts (0: as nice).
    pub run_niceness: i32,
    /// `planai.docsUrl`: where the diagnostics reference is published (each code's section is
    /// `#<code>` on it); an empty string: no links. Unset: `server::docs_link` decides.
    pub docs_url: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            python: None,
            validation_run: ValidationRun::OnSave,
            validation_debounce_ms: 300,
            validation_timeout_ms: 10_000,
            validation_max_concurrent: crate::python::helper::DEFAULT_MAX_CONCURRENT,
            log_level: None,
            untrusted_workspace: false,
            auto_select_workspace_venv: true,
            run_timeout_secs: crate::run::manager::DEFAULT_TIMEOUT.as_secs(),
            run_output_cap_bytes: crate::run::manager::DEFAULT_OUTPUT_CAP,
            run_max_concurrent: crate::run::manager::DEFAULT_MAX_CONCURRENT,
            run_in_workspace: false,
            run_niceness: crate::run::manager::DEFAULT_NICENESS,
            docs_url: None,
        }
    }
}

/// Finds the `planai` section inside whatever object a client sent.
fn planai_section(value: &Value) -> Option<&Value> {
    if let Some(section) = value.get("settings").and_then(|s| s.get("planai")) {
        return Some(section);
    }
    if let Some(section) = value.get("planai") {
        return Some(section);
    }
    if value.is_object() {
        return Some(value);
    }
    None
}

/// Looks a dotted key up either nested (`validation: {run}`) or flat (`"validation.run"`).
fn lookup<'a>(section: &'a Value, dotted: &str) -> Option<&'a Value> {
    if let Some(flat) = section.get(dotted) {
        return Some(flat);
    }
    let mut current = section;
    for part in dotted.split('.') {
        current = current.get(part)?;
    }
    Some(current)
}

/// The settings an environment selection and its announcement depend on (see
/// [`Settings::selection_inputs`]).
#[derive(Clone, Debug, PartialEq)]
pub struct SelectionInputs {
    python: Option<Value>,
    untrusted_workspace: bool,
    auto_select_workspace_venv: bool,
    validation_max_concurrent: usize,
    validation_off: bool,
}

impl Settings {
    /// What a change must touch to need a new selection (and a new helper).
    pub fn selection_inputs(&self) -> SelectionInputs {
        SelectionInputs {
            python: self.python.clone(),
            untrusted_workspace: self.untrusted_workspace,
            auto_select_workspace_venv: self.auto_select_workspace_venv,
            validation_max_concurrent: self.validation_max_concurrent,
            validation_off: self.validation_run == ValidationRun::Off,
        }
    }

    /// Applies whatever a client sent on top of the current settings; unknown or ill-typed
    /// values are ignored with a log line rather than failing the session.
    ///
    /// `untrustedWorkspace` only ever turns distrust on: the editor's trust decision is given
    /// once, at initialize, and a later `false` (from `workspace/configuration` or
    /// `didChangeConfiguration`, which a workspace's own settings files can feed) must not
    /// make the server run the workspace's interpreter.
    pub fn merge_from(&mut self, value: &Value) {
        if let Some(untrusted) = value.get("untrustedWorkspace").and_then(Value::as_bool) {
            self.untrusted_workspace |= untrusted;
        }
        let Some(section) = planai_section(value) else {
            return;
        };
        if let Some(python) = lookup(section, "python") {
            self.python = match python {
                Value::String(s) if s.trim().is_empty() => None,
                Value::String(_) | Value::Array(_) => Some(python.clone()),
                Value::Null => None,
                other => {
                    tracing::warn!(
                        "ignoring planai.python = {other}: expected a path or an argv list"
                    );
                    self.python.clone()
                }
            };
        }
        if let Some(run) = lookup(section, "validation.run").and_then(Value::as_str) {
            self.validation_run = match run {
                "onSave" => ValidationRun::OnSave,
                "onType" => ValidationRun::OnType,
                "off" => ValidationRun::Off,
                other => {
                    tracing::warn!("ignoring planai.validation.run = {other:?}: expected onSave, onType or off");
                    self.validation_run
                }
            };
        }
        if let Some(ms) = lookup(section, "validation.debounceMs").and_then(Value::as_u64) {
            self.validation_debounce_ms = ms.min(60_000);
        }
        if let Some(ms) = lookup(section, "validation.timeoutMs").and_then(Value::as_u64) {
            self.validation_timeout_ms = ms.clamp(100, 600_000);
        }
        if let Some(n) = lookup(section, "validation.maxConcurrent").and_then(Value::as_u64) {
            self.validation_max_concurrent = (n as usize).clamp(1, 16);
        }
        if let Some(level) = lookup(section, "logLevel").and_then(Value::as_str) {
            self.log_level = Some(level.to_string());
        }
        if let Some(untrusted) = lookup(section, "untrustedWorkspace").and_then(Value::as_bool) {
            self.untrusted_workspace |= untrusted;
        }
        if let Some(auto) = lookup(section, "autoSelectWorkspaceVenv").and_then(Value::as_bool) {
            self.auto_select_workspace_venv = auto;
        }
        if let Some(seconds) = lookup(section, "run.timeoutSeconds").and_then(Value::as_u64) {
            self.run_timeout_secs = seconds.clamp(1, 24 * 3600);
        }
        if let Some(bytes) = lookup(section, "run.outputCapBytes").and_then(Value::as_u64) {
            self.run_output_cap_bytes = (bytes as usize).clamp(1024, 256 * 1024 * 1024);
        }
        if let Some(n) = lookup(section, "run.maxConcurrent").and_then(Value::as_u64) {
            self.run_max_concurrent = (n as usize).clamp(1, 16);
        }
        if let Some(n) = lookup(section, "run.niceness").and_then(Value::as_u64) {
            self.run_niceness = n.min(19) as i32;
        }
        match lookup(section, "docsUrl") {
            Some(Value::String(url)) => self.docs_url = Some(url.trim().to_string()),
            Some(Value::Null) => self.docs_url = None,
            _ => {}
        }
        if let Some(dir) = lookup(section, "run.workingDirectory").and_then(Value::as_str) {
            match dir {
                "workspace" => self.run_in_workspace = true,
                "temp" => self.run_in_workspace = false,
                other => tracing::warn!(
                    "ignoring planai.run.workingDirectory = {other:?}: expected workspace or temp"
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn run_limits_and_working_directory() {
        let mut settings = Settings::default();
        assert_eq!(
            (
                settings.run_timeout_secs,
                settings.run_max_concurrent,
                settings.run_in_workspace
            ),
            (300, 2, false)
        );
        settings.merge_from(
            &json!({"planai": {"run": {"timeoutSeconds": 20, "maxConcurrent": 99,
            "outputCapBytes": 4096, "workingDirectory": "workspace"}}}),
        );
        assert_eq!(settings.run_timeout_secs, 20);
        assert_eq!(settings.run_max_concurrent, 16);
        assert_eq!(settings.run_output_cap_bytes, 4096);
        assert!(settings.run_in_workspace);
        settings.merge_from(&json!({"run.workingDirectory": "nowhere", "run.timeoutSeconds": 0}));
        assert!(settings.run_in_workspace);
        assert_eq!(settings.run_timeout_secs, 1);
    }

    #[test]
    fn the_docs_url_is_set_cleared_and_turned_off() {
        let mut settings = Settings::default();
        assert_eq!(settings.docs_url, None);
        settings.merge_from(&json!({"planai": {"docsUrl": " https://docs.example/d "}}));
        assert_eq!(settings.docs_url.as_deref(), Some("https://docs.example/d"));
        settings.merge_from(&json!({"logLevel": "debug"}));
        assert_eq!(settings.docs_url.as_deref(), Some("https://docs.example/d"));
        settings.merge_from(&json!({"docsUrl": ""}));
        assert_eq!(settings.docs_url.as_deref(), Some(""), "links off");
        settings.merge_from(&json!({"docsUrl": null}));
        assert_eq!(settings.docs_url, None, "back to the default");
    }

    #[test]
    fn runs_start_ten_steps_nicer_unless_told_otherwise() {
        let mut settings = Settings::default();
        assert_eq!(settings.run_niceness, 10);
        settings.merge_from(&json!({"planai": {"run": {"niceness": 0}}}));
        assert_eq!(settings.run_niceness, 0, "0 keeps the server's priority");
        settings.merge_from(&json!({"run.niceness": 40}));
        assert_eq!(settings.run_niceness, 19, "the kernel's limit");
        settings.merge_from(&json!({"run.niceness": -5}));
        assert_eq!(settings.run_niceness, 19, "a negative value is ignored");
    }

    #[test]
    fn vscode_section_object() {
        let mut settings = Settings::default();
        settings.merge_from(
            &json!({"python": "/v/bin/python", "validation": {"run": "onType", "debounceMs": 150}}),
        );
        assert_eq!(settings.python, Some(json!("/v/bin/python")));
        assert_eq!(settings.validation_run, ValidationRun::OnType);
        assert_eq!(settings.validation_debounce_ms, 150);
    }

    #[test]
    fn neovim_settings_table_and_init_options() {
        let mut settings = Settings::default();
        settings.merge_from(&json!({"settings": {"planai": {"python": ["uv", "run", "python"], "logLevel": "debug"}}}));
        assert_eq!(settings.python, Some(json!(["uv", "run", "python"])));
        assert_eq!(settings.log_level.as_deref(), Some("debug"));
    }

    #[test]
    fn helix_config_with_dotted_keys_and_trust_flag() {
        let mut settings = Settings::default();
        settings
            .merge_from(&json!({"untrustedWorkspace": true, "planai": {"validation.run": "off"}}));
        assert!(settings.untrusted_workspace);
        assert_eq!(settings.validation_run, ValidationRun::Off);
    }

    #[test]
    fn bad_values_are_ignored() {
        let mut settings = Settings::default();
        settings.merge_from(&json!({"planai": {"python": 3, "validation": {"run": "sometimes"}}}));
        assert_eq!(settings, Settings::default());
    }

    #[test]
    fn trust_given_at_initialize_cannot_be_taken_back_by_later_settings() {
        let mut settings = Settings::default();
        settings.merge_from(&json!({"untrustedWorkspace": true}));
        for later in [
            json!({"untrustedWorkspace": false}),
            json!({"planai": {"untrustedWorkspace": false}}),
            json!({"settings": {"planai": {"untrustedWorkspace": false}}}),
            json!({"untrustedWorkspace": null}),
        ] {
            settings.merge_from(&later);
            assert!(settings.untrusted_workspace, "after {later}");
        }
        // Becoming stricter is always allowed.
        let mut trusted = Settings::default();
        trusted.merge_from(&json!({"planai": {"untrustedWorkspace": true}}));
        assert!(trusted.untrusted_workspace);
    }

    #[test]
    fn the_number_of_concurrent_validations_is_bounded() {
        let mut settings = Settings::default();
        assert_eq!(settings.validation_max_concurrent, 2);
        settings.merge_from(&json!({"planai": {"validation": {"maxConcurrent": 4}}}));
        assert_eq!(settings.validation_max_concurrent, 4);
        settings.merge_from(&json!({"planai": {"validation.maxConcurrent": 0}}));
        assert_eq!(settings.validation_max_concurrent, 1);
        settings.merge_from(&json!({"planai": {"validation.maxConcurrent": 1000}}));
        assert_eq!(settings.validation_max_concurrent, 16);
    }

    #[test]
    fn workspace_venvs_can_require_an_explicit_selection() {
        let mut settings = Settings::default();
        assert!(settings.auto_select_workspace_venv);
        settings.merge_from(&json!({"planai": {"autoSelectWorkspaceVenv": false}}));
        assert!(!settings.auto_select_workspace_venv);
    }
}
