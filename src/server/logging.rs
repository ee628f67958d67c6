//! Logging to stderr and, once a session exists, to the client (`window/logMessage`).
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
        eprintln!("[planai-lsp {level:>5}] {}", visitor.0);
        if let Some(slot) = CLIENT_SINK.get() {
            if let Ok(guard) = slot.lock() {
                if let Some(sink) = guard.as_ref() {
                    let _ = sink.send((level, visitor.0));
                }
            }
        }
    }
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
