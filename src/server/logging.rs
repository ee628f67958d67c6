//! Logging: to stderr until a session exists, then to the client (`window/logMessage`) only.
//!
//! One copy per record: clients show the server's stderr too (vscode-languageclient labels
//! every stderr line `[error]`, Neovim writes it to its LSP log beside the logMessage copy), so
//! writing both showed each line twice, once at the wrong level. `PLANAI_LSP_LOG_STDERR=1`
//! keeps the stderr copy as well (for running the binary by hand or under a profiler).
//!
//! The level comes from `PLANAI_LSP_LOG` (error, warn, info, debug, trace) and can be changed
//! at run time by the `logLevel` setting.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};

use tokio::sync::mpsc::UnboundedSender;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

static MAX_LEVEL: AtomicU8 = AtomicU8::new(2);
/// Where records go once a client is connected.
type ClientSink = UnboundedSender<(Level, String)>;

static CLIENT_SINK: OnceLock<Mutex<Option<ClientSink>>> = OnceLock::new();

fn level_rank(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 0,
        Level::WARN => 1,
        Level::INFO => 2,
        Level::DEBUG => 3,
        Level::TRACE => 4,
    }
}

/// Parses a level name; unknown names give `None`.
pub fn parse_level(name: &str) -> Option<u8> {
    match name.trim().to_ascii_lowercase().as_str() {
        "error" => Some(0),
        "warn" | "warning" => Some(1),
        "info" => Some(2),
        "debug" => Some(3),
        "trace" => Some(4),
        "off" => Some(0),
        _ => None,
    }
}

pub fn set_level(name: &str) {
    if let Some(rank) = parse_level(name) {
        MAX_LEVEL.store(rank, Ordering::Relaxed);
    } else {
        tracing::warn!("unknown log level {name:?}; expected error, warn, info, debug or trace");
    }
}

/// Routes log records to the client from now on (the server forwards them as logMessage).
pub fn connect_client(sink: ClientSink) {
    let slot = CLIENT_SINK.get_or_init(|| Mutex::new(None));
    if let Ok(mut guard) = slot.lock() {
        *guard = Some(sink);
    }
}

struct MessageVisitor(String);

impl Visit for MessageVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write;
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            self.0.push_str(&format!(" {}={value}", field.name()));
        }
    }
}

struct PlanaiLogLayer;

impl<S: Subscriber> Layer<S> for PlanaiLogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = *event.metadata().level();
        if level_rank(&level) > MAX_LEVEL.load(Ordering::Relaxed) {
            return;
        }
        // Dependencies (tower-lsp-server, ignore, ...) log at info too; keep only warnings of theirs.
        let target = event.metadata().target();
        if !target.starts_with("planai_lsp") && level_rank(&level) > 1 {
            return;
        }
        let mut visitor = MessageVisitor(String::new());
        event.record(&mut visitor);
        let to_client = !inside_forwarding();
        let sent_to_client = match CLIENT_SINK.get().map(Mutex::lock) {
            Some(Ok(guard)) if to_client => guard
                .as_ref()
                .is_some_and(|sink| sink.send((level, visitor.0.clone())).is_ok()),
            _ => false,
        };
        if !sent_to_client || also_to_stderr() {
            // Not `eprintln!`, which panics when the write fails: once the client is gone its
            // end of our stderr is closed too, and a panic in whatever task logged (a handler,
            // the helper's supervisor) could leave the session waiting on it forever.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr().lock(),
                "[planai-lsp {level:>5}] {}",
                visitor.0
            );
        }
    }
}

tokio::task_local! {
    /// Set while a record is being sent to the client (see [`forwarding`]).
    static FORWARDING: ();
}

/// Sends a record to the client (`send`, the logMessage notification): what the sending itself
/// logs goes to stderr only. When the client's connection is gone, tower-lsp-server logs
/// "failed to send notification"; forwarded, that record was one more notification that
/// failed and was logged again: a loop that printed ~100,000 lines a second until the process
/// exited.
pub async fn forwarding<F: std::future::Future>(send: F) -> F::Output {
    FORWARDING.scope((), send).await
}

fn inside_forwarding() -> bool {
    FORWARDING.try_with(|_| ()).is_ok()
}

/// Whether records the client receives are written to stderr too (`PLANAI_LSP_LOG_STDERR=1`).
fn also_to_stderr() -> bool {
    static ALSO: OnceLock<bool> = OnceLock::new();
    *ALSO.get_or_init(|| {
        std::env::var("PLANAI_LSP_LOG_STDERR").is_ok_and(|value| value == "1" || value == "true")
    })
}

/// Installs the global subscriber once; later calls are no-ops (tests create many servers).
pub fn init() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        if let Ok(level) = std::env::var("PLANAI_LSP_LOG") {
            set_level(&level);
        }
        let _ = tracing_subscriber::registry()
            .with(PlanaiLogLayer)
            .try_init();
    });
}

#[cfg(test)]
mod tests {
    use super::{forwarding, inside_forwarding};

    #[tokio::test]
    async fn what_sending_a_record_logs_is_not_sent_to_the_client() {
        assert!(!inside_forwarding());
        assert!(forwarding(async { inside_forwarding() }).await);
        // Also after the sending awaited (a record logged when the write fails).
        let after_await = forwarding(async {
            tokio::task::yield_now().await;
            inside_forwarding()
        });
        assert!(after_await.await);
        assert!(!inside_forwarding());
    }
}
