//! The two threads a full check runs its two halves on (`analysis::check::Join`): the parts
//! of an opened module's first parse, then the syntax checks beside the PlanAI analysis.
//!
//! Why two long-lived threads rather than one spawned per check: the server limits glibc to
//! two malloc arenas (`limit_allocator_arenas`), and a thread is given an arena when it first
//! allocates. A thread spawned per check got whichever arena came next, often the one of the
//! thread that spawned it, and both halves then contended for one arena's lock: an opened
//! 6,000-line module's two-part parse took 33-47 ms in the server instead of 15, and the
//! syntax checks beside the analysis sometimes doubled. Started one after the other before any
//! other thread exists, the first of these threads gets a new arena and the second the main
//! thread's (the only arenas there are), so the two halves never share one.

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::thread;

use crate::analysis::check::{Join, ScopedThread};

/// A computation sent to one of the threads, its borrows erased (see `run_on`).
type Job = Box<dyn FnOnce() + Send + 'static>;

struct AnalysisThreads {
    queues: [Mutex<mpsc::Sender<Job>>; 2],
}

static THREADS: OnceLock<AnalysisThreads> = OnceLock::new();

thread_local! {
    /// Set on the analysis threads themselves: a join from inside a half runs inline, so a
    /// thread never waits for a job queued behind its own.
    static ON_ANALYSIS_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Starts the two threads. Call once, before any other thread exists (see the module
/// comment); a failure to start them leaves checks on their fallback (a thread per check).
pub fn start() {
    // In order: the first thread has allocated (and so has its arena) before the second
    // starts.
    let Some(first) = start_thread(0) else {
        return;
    };
    let Some(second) = start_thread(1) else {
        return;
    };
    let _ = THREADS.set(AnalysisThreads {
        queues: [first, second],
    });
}

/// One analysis thread, once it has allocated; `None` (logged) when it cannot start.
fn start_thread(index: usize) -> Option<Mutex<mpsc::Sender<Job>>> {
    let (sender, receiver) = mpsc::channel::<Job>();
    let (ready, started) = mpsc::channel::<()>();
    let spawned = thread::Builder::new()
        .name(format!("planai-analysis-{index}"))
        .spawn(move || {
            ON_ANALYSIS_THREAD.with(|on| on.set(true));
            // The first allocation of this thread: it fixes this thread's arena.
            let _ = ready.send(());
            for job in receiver {
                job();
            }
        });
    if spawned.is_err() || started.recv().is_err() {
        tracing::warn!("cannot start the analysis threads: a thread per check instead");
        return None;
    }
    Some(Mutex::new(sender))
}

/// Runs `a` and `b` side by side on the analysis threads (or, before `start` or from one of
/// them, `a` on a thread spawned for it and `b` on the caller), and returns both results; a
/// panic in either is resumed here once both have finished.
///
/// A second join while the threads run another one (two documents opened at once) queues
/// behind it: on two cores the first has both anyway, and the queue keeps every check's
/// allocations in the two threads' arenas. Running such a join on its caller instead was
/// tried: 100 opened documents then took ~0.3 MB more. The cost is that a long check (a 5 MB
/// module, ~0.25 s) delays another document's open or full check by as much.
pub struct BothCores;

impl Join for BothCores {
    fn join<A: Send, B: Send>(
        &self,
        a: impl FnOnce() -> A + Send,
        b: impl FnOnce() -> B + Send,
    ) -> (A, B) {
        match THREADS.get() {
            Some(threads) if !ON_ANALYSIS_THREAD.with(|on| on.get()) => {
                let a = run_on(&threads.queues[0], a);
                let b = run_on(&threads.queues[1], b);
                let a = a.wait();
                let b = b.wait();
                (resume(a), resume(b))
            }
            _ => ScopedThread.join(a, b),
        }
    }
}

fn resume<T>(result: thread::Result<T>) -> T {
    result.unwrap_or_else(|panic| panic::resume_unwind(panic))
}

/// A job queued on an analysis thread. It borrows from the caller's stack, so it must have
/// run or been dropped before the caller's frame ends: `wait` blocks until then, and so does
/// dropping it without waiting.
#[must_use]
struct Pending<T> {
    result: Option<mpsc::Receiver<thread::Result<T>>>,
}

impl<T> Pending<T> {
    fn wait(mut self) -> thread::Result<T> {
        match self.result.take().map(|result| result.recv()) {
            Some(Ok(result)) => result,
            // The job was dropped unrun (its thread ended): nothing of it runs any more.
            _ => Err(Box::new("an analysis thread ended")),
        }
    }
}

impl<T> Drop for Pending<T> {
    fn drop(&mut self) {
        if let Some(result) = self.result.take() {
            // Not waited for (a panic between queueing and waiting): the job may still be
            // using the caller's borrows.
            let _ = result.recv();
        }
    }
}

/// Queues `f` on the thread behind `queue` (or runs it at once when that thread is gone).
fn run_on<'scope, T: Send + 'scope>(
    queue: &Mutex<mpsc::Sender<Job>>,
    f: impl FnOnce() -> T + Send + 'scope,
) -> Pending<T> {
    let (send, result) = mpsc::sync_channel(1);
    let job: Box<dyn FnOnce() + Send + 'scope> = Box::new(move || {
        let outcome = panic::catch_unwind(AssertUnwindSafe(f));
        let _ = send.send(outcome);
    });
    // SAFETY: the job borrows from the caller for 'scope. The returned `Pending` blocks, when
    // waited for or dropped, until the job has sent its result (it catches panics, so it
    // always does once it runs) or has been dropped unrun (its sender then disconnects); the
    // caller cannot leave 'scope before either, so no borrow outlives what it borrows.
    let job: Job = unsafe { std::mem::transmute::<Box<dyn FnOnce() + Send + 'scope>, Job>(job) };
    let unsent = match queue.lock() {
        Ok(queue) => queue.send(job).err().map(|unsent| unsent.0),
        Err(_) => Some(job),
    };
    if let Some(job) = unsent {
        // Its outcome waits in the channel.
        job();
    }
    Pending {
        result: Some(result),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_halves_run_and_a_panic_in_either_reaches_the_caller() {
        start();
        let text = String::from("borrowed");
        let (a, b) = BothCores.join(|| text.len(), || text.to_uppercase());
        assert_eq!((a, b.as_str()), (8, "BORROWED"));
        let names = BothCores.join(
            || thread::current().name().map(str::to_string),
            || thread::current().name().map(str::to_string),
        );
        assert_ne!(names.0, names.1, "the halves ran on one thread");
        let panicked = panic::catch_unwind(|| {
            BothCores.join(|| 1, || -> i32 { panic!("in the second half") })
        });
        assert!(panicked.is_err());
        // The threads survive a panic in a job.
        assert_eq!(BothCores.join(|| 2, || 3), (2, 3));
        // A join from inside a half runs without waiting for the threads.
        let nested = BothCores.join(|| BothCores.join(|| 4, || 5), || 6);
        assert_eq!(nested, ((4, 5), 6));
    }
}
