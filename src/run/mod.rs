//! Running workflows: the other half of the product. A run executes a module's current text
//! in the selected interpreter, in a fresh process (not the warm validation helper, whose
//! `Graph.run` is intercepted), and reports what PlanAI does as typed events.
//!
//! - `runner.py` (embedded): executes the module, hooks PlanAI's dispatcher and writes JSON
//!   lines on an inherited pipe (fd 3). Protocol: `docs/protocol.md`.
//! - [`events`]: [`RunEvent`], the typed events (the runner's, plus output lines and the end).
//! - [`launch`]: one runner process (scratch cwd, own process group, parent-death signal,
//!   event pipe), spawned through `python::process` like every Python process.
//! - [`manager`]: [`RunManager`]: run ids, limits (timeout, output cap, concurrent runs),
//!   cancel, list, and the event stream of each run.
//! - [`queue`]: [`RunEvents`], the stream: events in order, handed over in batches, bounded in
//!   bytes for the event pipe.
//! - [`progress`]: [`RunProgress`], events aggregated into per-worker counts, the last log
//!   line and the failures. Pure; the server and the CLI render it.

pub mod events;
mod launch;
pub mod manager;
pub mod progress;
pub mod queue;

pub use events::{RunEvent, RunOutcome, SourceLocation, Stream};
pub use manager::{RunInfo, RunLimits, RunManager, RunRequest, ScratchLocation, StartedRun};
pub use progress::{RunProgress, Stage, TaskFailure, WorkerCounts};
pub use queue::RunEvents;

/// The runner script, embedded in the binary.
pub const RUNNER_SCRIPT: &str = include_str!("runner.py");
