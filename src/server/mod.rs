//! The LSP layer: thin glue between the protocol and the analysis.
//!
//! Architecture Invariant: this layer converts positions and protocol types and schedules
//! work; it makes no PlanAI decisions. Handlers live one per file under `notifications/` and
//! `requests/`; `publish` runs the per-document diagnostics workers.

pub mod analysis_threads;
pub mod configuration;
pub mod convert;
pub mod docs_link;
pub mod framing;
pub mod logging;
pub mod notifications;
pub mod panic_guard;
pub mod progress;
pub mod publish;
pub mod requests;
pub mod run_events;
pub mod run_state;
pub mod settings;
pub mod state;
pub mod tree_retention;
pub mod venv;
pub mod venv_state;
mod workspace_index;

use std::sync::Arc;

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{LanguageServer, LspService};

use crate::server::panic_guard::CatchPanic;
use crate::server::state::Session;

/// The tower-lsp-server backend; every method delegates to a handler module.
pub struct Backend {
    session: Arc<Session>,
}

impl Backend {
    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    async fn debug_panic(&self, params: serde_json::Value) -> Result<serde_json::Value> {
        requests::debug::panic(&self.session, params).await
    }

    async fn validate_task_data(&self, params: serde_json::Value) -> Result<serde_json::Value> {
        requests::validate_task_data::handle(&self.session, params).await
    }

    async fn graph(&self, params: serde_json::Value) -> Result<serde_json::Value> {
        requests::graph::handle(&self.session, params).await
    }

    async fn debug_state(&self, params: serde_json::Value) -> Result<serde_json::Value> {
        requests::debug::state(&self.session, params).await
    }

    async fn debug_stall_analysis(&self, params: serde_json::Value) -> Result<serde_json::Value> {
        requests::debug::stall_analysis(&self.session, params).await
    }

    async fn work_done_progress_cancel(&self, params: WorkDoneProgressCancelParams) {
        notifications::work_done_progress_cancel::handle(&self.session, params);
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        Ok(requests::initialize::handle(&self.session, params))
    }

    async fn initialized(&self, _: InitializedParams) {
        requests::initialize::initialized(&self.session);
    }

    async fn shutdown(&self) -> Result<()> {
        requests::shutdown::handle(&self.session).await;
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        notifications::did_open::handle(&self.session, params);
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        notifications::did_change::handle(&self.session, params);
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        notifications::did_save::handle(&self.session, params);
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        notifications::did_close::handle(&self.session, params).await;
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        notifications::did_change_configuration::handle(&self.session, params);
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        notifications::did_change_watched_files::handle(&self.session, params);
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        requests::completion::handle(&self.session, params).await
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        requests::code_action::handle(&self.session, params).await
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        requests::execute_command::handle(&self.session, params).await
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        requests::hover::handle(&self.session, params).await
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        requests::definition::handle(&self.session, params).await
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        requests::references::handle(&self.session, params).await
    }

    async fn document_highlight(
        &self,
        params: DocumentHighlightParams,
    ) -> Result<Option<Vec<DocumentHighlight>>> {
        requests::document_highlight::handle(&self.session, params).await
    }

    async fn prepare_rename(
        &self,
        params: TextDocumentPositionParams,
    ) -> Result<Option<PrepareRenameResponse>> {
        requests::prepare_rename::handle(&self.session, params).await
    }

    async fn rename(&self, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
        requests::rename::handle(&self.session, params).await
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        requests::document_symbol::handle(&self.session, params).await
    }

    async fn symbol(
        &self,
        params: WorkspaceSymbolParams,
    ) -> Result<Option<WorkspaceSymbolResponse>> {
        requests::workspace_symbol::handle(&self.session, params).await
    }

    async fn code_lens(&self, params: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
        requests::code_lens::handle(&self.session, params).await
    }

    async fn inlay_hint(&self, params: InlayHintParams) -> Result<Option<Vec<InlayHint>>> {
        requests::inlay_hint::handle(&self.session, params).await
    }
}

/// The wrapped service type the transport runs.
pub type PlanaiService = CatchPanic<LspService<Backend>>;

/// Builds the service: the backend, custom methods, and the panic guard around it all.
pub fn build_service() -> (
    PlanaiService,
    tower_lsp_server::ClientSocket,
    SessionEnd,
    framing::Outbox,
) {
    logging::init();
    let end = SessionEnd::default();
    let outbox = framing::Outbox::default();
    let (service, socket) = LspService::build(|client| {
        let mut session = Session::new(client.clone());
        // Runs write their event notifications straight to the output (`requests/run.rs`).
        session.runs.outbox = outbox.clone();
        let session = Arc::new(session);
        let (log_tx, mut log_rx) = tokio::sync::mpsc::unbounded_channel();
        logging::connect_client(log_tx);
        panic_guard::spawn_guarded("forward logs", async move {
            while let Some((level, message)) = log_rx.recv().await {
                let typ = match level {
                    tracing::Level::ERROR => MessageType::ERROR,
                    tracing::Level::WARN => MessageType::WARNING,
                    tracing::Level::INFO => MessageType::INFO,
                    _ => MessageType::LOG,
                };
                logging::forwarding(client.log_message(typ, message)).await;
            }
        });
        Backend { session }
    })
    .custom_method("planai/validateTaskData", Backend::validate_task_data)
    .custom_method("planai/graph", Backend::graph)
    .custom_method("planai/debug/panic", Backend::debug_panic)
    .custom_method("planai/debug/state", Backend::debug_state)
    .custom_method("planai/debug/stallAnalysis", Backend::debug_stall_analysis)
    .custom_method(
        "window/workDoneProgress/cancel",
        Backend::work_done_progress_cancel,
    )
    .finish();
    (CatchPanic::new(service), socket, end, outbox)
}

/// How a session ended, for the process's exit code.
#[derive(Clone, Debug, Default)]
pub struct SessionEnd {
    /// Set once a `shutdown` request was read (by the framing layer, in arrival order).
    shutdown_requested: Arc<std::sync::atomic::AtomicBool>,
}

impl SessionEnd {
    /// The exit code the LSP specification asks for: 0 when `shutdown` came before the end
    /// (`exit` or the input closing), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        if self
            .shutdown_requested
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            0
        } else {
            1
        }
    }
}

/// Serves one LSP session over any byte streams (stdio in production, duplex pipes in tests).
pub async fn serve<I, O>(input: I, output: O) -> SessionEnd
where
    I: tokio::io::AsyncRead + Unpin + Send + 'static,
    O: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (service, socket, end, outbox) = build_service();
    framing::serve(
        input,
        output,
        service,
        socket,
        Arc::clone(&end.shutdown_requested),
        outbox,
    )
    .await;
    end
}

/// Runs the server on stdin/stdout until the client exits (or closes stdin), then kills
/// every process it started, with whatever those started.
pub fn run_stdio() -> i32 {
    limit_allocator_arenas();
    // Right after: their arenas are fixed by the order threads first allocate in.
    analysis_threads::start();
    // Before any thread or child exists: whatever is orphaned below us (e.g. what a killed
    // helper's children started) is reparented to us, so nothing escapes to init.
    crate::python::process::become_subreaper();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("planai-lsp: cannot start the async runtime: {error}");
            return 1;
        }
    };
    let end = runtime.block_on(async {
        let (input, output) = stdio_streams();
        serve(input, output).await
    });
    // The session is over (`exit`, or stdin closed with work in flight). Stop the runtime
    // first (background tasks are dropped, so nothing restarts a helper; a blocking thread
    // still busy, such as an analysis or a read, gets at most 2 s and is not waited for after
    // that), then make sure no process of ours outlives the session: stop and kill the whole
    // tree below us, whatever session or group its members are in.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    crate::python::process::kill_all_descendants(std::time::Duration::from_secs(2));
    end.exit_code()
}

type Input = Box<dyn tokio::io::AsyncRead + Unpin + Send>;
type Output = Box<dyn tokio::io::AsyncWrite + Unpin + Send>;

/// stdin and stdout, as non-blocking pipes on the runtime's own event loop when they are pipes
/// (as every editor starts a server). tokio's `Stdin` and `Stdout` hand each read and write to
/// a blocking thread, and `Stdout` is line-buffered: a message's header went out in one write
/// and its body only at the flush, two thread hops later (seen in an strace of a keystroke).
/// A file or a terminal keeps tokio's streams. Must run inside the runtime (the pipes register
/// with its reactor).
fn stdio_streams() -> (Input, Output) {
    #[cfg(unix)]
    {
        use std::os::fd::{AsFd, OwnedFd};
        use tokio::net::unix::pipe;
        // A duplicate: the pipe types own and close their descriptor.
        fn duplicate(fd: impl AsFd) -> Option<OwnedFd> {
            fd.as_fd().try_clone_to_owned().ok()
        }
        let input: Input = match duplicate(std::io::stdin()).map(pipe::Receiver::from_owned_fd) {
            Some(Ok(pipe)) => Box::new(pipe),
            _ => Box::new(tokio::io::stdin()),
        };
        let output: Output = match duplicate(std::io::stdout()).map(pipe::Sender::from_owned_fd) {
            Some(Ok(pipe)) => Box::new(pipe),
            _ => Box::new(tokio::io::stdout()),
        };
        (input, output)
    }
    #[cfg(not(unix))]
    {
        (Box::new(tokio::io::stdin()), Box::new(tokio::io::stdout()))
    }
}

/// glibc gives every thread that allocates its own arena (up to 8 per core), and freed
/// memory in one arena is not reused by another: with analysis on a thread pool the resident
/// size grows with the number of threads ever used. Two arenas are plenty for two analyses,
/// if the two halves of a check get one each (`analysis_threads`). Four arenas also kept the
/// halves apart but cost 100 open 600-line documents ~1 MB more.
fn limit_allocator_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; it is called before any other thread
    // exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
