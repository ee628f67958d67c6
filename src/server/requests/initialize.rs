use std::path::PathBuf;
use std::sync::Arc;

use tower_lsp_server::ls_types::*;

use crate::server::configuration::{self, CLIENT_REQUEST_TIMEOUT};
use crate::server::panic_guard::spawn_guarded;
use crate::server::state::Session;
use crate::text::PositionEncoding;

/// Negotiates the position encoding, records workspace folders and initial settings.
pub fn handle(session: &Arc<Session>, params: InitializeParams) -> InitializeResult {
    let offered: Option<Vec<String>> = params
        .capabilities
        .general
        .as_ref()
        .and_then(|general| general.position_encodings.as_ref())
        .map(|kinds| kinds.iter().map(|kind| kind.as_str().to_string()).collect());
    let encoding = PositionEncoding::negotiate(offered.as_deref());
    session.set_encoding(encoding);

    let mut roots: Vec<PathBuf> = params
        .workspace_folders
        .iter()
        .flatten()
        .filter_map(|folder| folder.uri.to_file_path().map(|p| p.into_owned()))
        .collect();
    #[allow(deprecated)]
    if roots.is_empty() {
        if let Some(path) = params.root_uri.as_ref().and_then(|uri| uri.to_file_path()) {
            roots.push(path.into_owned());
        }
    }
    if let Ok(mut slot) = session.roots.write() {
        *slot = roots.clone();
    }
    if let Ok(mut host) = session.analysis.write() {
        host.set_roots(roots);
    }
    if let Some(options) = params.initialization_options.as_ref() {
        configuration::apply(session, options);
    }
    let client_pulls_configuration = params
        .capabilities
        .workspace
        .as_ref()
        .and_then(|w| w.configuration)
        .unwrap_or(false);
    let watches_files = params
        .capabilities
        .workspace
        .as_ref()
        .and_then(|w| w.did_change_watched_files.as_ref())
        .and_then(|d| d.dynamic_registration)
        .unwrap_or(false);
    session
        .client_features
        .set((client_pulls_configuration, watches_files))
        .ok();
    session.runs.set_client_progress(
        params
            .capabilities
            .window
            .as_ref()
            .and_then(|w| w.work_done_progress)
            .unwrap_or(false),
    );
    tracing::info!("initialize: position encoding {}", encoding.as_lsp_str());

    InitializeResult {
        capabilities: ServerCapabilities {
            position_encoding: Some(PositionEncodingKind::from(
                encoding.as_lsp_str().to_string(),
            )),
            text_document_sync: Some(TextDocumentSyncCapability::Options(
                TextDocumentSyncOptions {
                    open_close: Some(true),
                    change: Some(TextDocumentSyncKind::INCREMENTAL),
                    will_save: None,
                    will_save_wait_until: None,
                    save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                        include_text: Some(false),
                    })),
                },
            )),
            completion_provider: Some(CompletionOptions {
                trigger_characters: Some(vec![
                    "\"".to_string(),
                    "'".to_string(),
                    "=".to_string(),
                    // PlanAI completions: `task.`, wiring calls' arguments, `output_types` lists.
                    ".".to_string(),
                    "(".to_string(),
                    ",".to_string(),
                    "[".to_string(),
                ]),
                ..CompletionOptions::default()
            }),
            code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
                code_action_kinds: Some(vec![
                    CodeActionKind::QUICKFIX,
                    crate::server::requests::code_action::RUN_ACTION_KIND,
                ]),
                ..CodeActionOptions::default()
            })),
            execute_command_provider: Some(ExecuteCommandOptions {
                commands: crate::server::requests::execute_command::COMMANDS
                    .iter()
                    .map(|c| c.to_string())
                    .collect(),
                work_done_progress_options: Default::default(),
            }),
            hover_provider: Some(HoverProviderCapability::Simple(true)),
            definition_provider: Some(OneOf::Left(true)),
            references_provider: Some(OneOf::Left(true)),
            document_highlight_provider: Some(OneOf::Left(true)),
            document_symbol_provider: Some(OneOf::Left(true)),
            workspace_symbol_provider: Some(OneOf::Left(true)),
            rename_provider: Some(OneOf::Right(RenameOptions {
                prepare_provider: Some(true),
                work_done_progress_options: Default::default(),
            })),
            code_lens_provider: Some(CodeLensOptions {
                resolve_provider: Some(false),
            }),
            inlay_hint_provider: Some(OneOf::Left(true)),
            ..ServerCapabilities::default()
        },
        server_info: Some(ServerInfo {
            name: "planai-lsp".to_string(),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
        }),
        offset_encoding: None,
    }
}

/// After the handshake: pull settings, watch `.py` files and index the workspace, all in
/// spawned tasks so the handler returns at once.
pub fn initialized(session: &Arc<Session>) {
    let (pulls_configuration, watches_files) =
        session.client_features.get().copied().unwrap_or_default();
    if pulls_configuration {
        configuration::spawn_pull(Arc::clone(session));
    } else {
        // initializationOptions and didChangeConfiguration are all this client sends.
        crate::server::venv::settings_known(session);
    }
    if watches_files {
        let client = session.client.clone();
        spawn_guarded("register file watcher", async move {
            let options = DidChangeWatchedFilesRegistrationOptions {
                watchers: vec![FileSystemWatcher {
                    glob_pattern: GlobPattern::String("**/*.py".to_string()),
                    kind: None,
                }],
            };
            let registration = Registration {
                id: "planai-watch-python".to_string(),
                method: "workspace/didChangeWatchedFiles".to_string(),
                register_options: serde_json::to_value(options).ok(),
            };
            let request = client.register_capability(vec![registration]);
            if tokio::time::timeout(CLIENT_REQUEST_TIMEOUT, request)
                .await
                .is_err()
            {
                tracing::warn!("client did not answer the file-watcher registration");
            }
        });
    }
    crate::server::workspace_index::spawn_initial_index(Arc::clone(session));
    crate::server::venv::interpreter_changed(session);
}
