//! Handing check units from one side of a check's `Join` to the other.
//!
//! Opening a large module runs its syntax checks beside the PlanAI analysis (`check::Join`).
//! The syntax side finishes first (6 ms of the 6,636-line wired module, against ~10 ms of
//! summary and ~11 ms of check units on the analysis side) and would then sit idle. With a
//! `ShareUnits` between them, the analysis offers the units of a file checked for the first
//! time that do not build graphs with the module code (its classes) as one job, checks the
//! rest itself, and takes the job back if the syntax side has not started it by then.
//!
//! Nothing here starts a thread or waits unless the other side is running: the helper waits
//! for an offer only when the analysis side has already started, so a `Join` that runs its
//! two sides one after the other (`check::Sequential`, the syntax side first) never waits, and
//! the analysis side never waits for a job nobody took.

use std::sync::{Condvar, Mutex, MutexGuard};

/// Work one side offers: it runs on whichever side gets to it, and returns its output.
pub(crate) type Job<T> = Box<dyn FnOnce() -> T + Send>;

/// The handoff between the syntax side (`help`) and the analysis side (`start`, `offer`,
/// `collect`, or `decline`) of one check.
pub struct ShareUnits<T = super::incremental::SharedOutput> {
    state: Mutex<Handoff<T>>,
    changed: Condvar,
}

struct Handoff<T> {
    state: State<T>,
    /// A helper is blocked in `help`, waiting for an offer: it takes one within microseconds,
    /// so the analysis side waits for it instead of taking the job back.
    helper_waiting: bool,
}

enum State<T> {
    /// No offer yet; whether the analysis side has started (then a helper waits for it).
    Open {
        analysis_started: bool,
    },
    /// The helper came and went before the analysis started: the analysis keeps its work.
    HelperGone,
    Offered(Job<T>),
    /// The helper is running the job.
    Running,
    Done(std::thread::Result<T>),
    /// The analysis side had nothing to offer, or took the job back: the helper leaves.
    Closed,
}

impl<T> Default for ShareUnits<T> {
    fn default() -> Self {
        ShareUnits {
            state: Mutex::new(Handoff {
                state: State::Open {
                    analysis_started: false,
                },
                helper_waiting: false,
            }),
            changed: Condvar::new(),
        }
    }
}

impl<T> ShareUnits<T> {
    fn lock(&self) -> MutexGuard<'_, Handoff<T>> {
        // A panic while holding this lock is impossible (no user code runs under it), but a
        // poisoned lock must not take the check down.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The analysis side has started: a helper arriving from now on waits for its offer.
    /// Returns a guard that closes the handoff if the analysis side ends (or unwinds) before
    /// offering anything.
    pub fn start(&self) -> StartedAnalysis<'_, T> {
        let mut handoff = self.lock();
        if let State::Open { analysis_started } = &mut handoff.state {
            *analysis_started = true;
        }
        StartedAnalysis { share: self }
    }

    /// Runs the job the analysis side offers, if it has started and offers one; returns at
    /// once otherwise.
    pub fn help(&self) {
        let mut handoff = self.lock();
        loop {
            match std::mem::replace(&mut handoff.state, State::Running) {
                State::Open {
                    analysis_started: false,
                } => {
                    handoff.state = State::HelperGone;
                    return;
                }
                open @ State::Open { .. } => {
                    handoff.state = open;
                    handoff.helper_waiting = true;
                    handoff = self
                        .changed
                        .wait(handoff)
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    handoff.helper_waiting = false;
                }
                State::Offered(job) => {
                    drop(handoff);
                    let output = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    self.lock().state = State::Done(output);
                    self.changed.notify_all();
                    return;
                }
                other => {
                    handoff.state = other;
                    return;
                }
            }
        }
    }

    /// Whether a helper is blocked in `help`, waiting for an offer (for tests that need the
    /// helper to take the job).
    #[cfg(test)]
    pub(crate) fn helper_waiting(&self) -> bool {
        self.lock().helper_waiting
    }
}

/// The analysis side of a `ShareUnits`, between `start` and the end of its share.
pub struct StartedAnalysis<'s, T> {
    share: &'s ShareUnits<T>,
}

impl<T> StartedAnalysis<'_, T> {
    /// Offers `job` to the helper; `Err(job)` when no helper will come (it came and went).
    pub fn offer(&self, job: Job<T>) -> Result<Offered<'_, T>, Job<T>> {
        let mut handoff = self.share.lock();
        match &handoff.state {
            State::Open { .. } => {
                handoff.state = State::Offered(job);
                self.share.changed.notify_all();
                Ok(Offered { share: self.share })
            }
            _ => Err(job),
        }
    }
}

impl<T> StartedAnalysis<'_, T> {
    /// Nothing will be offered: a waiting helper leaves now rather than when this side ends.
    pub fn decline(&self) {
        let mut handoff = self.share.lock();
        if matches!(&handoff.state, State::Open { .. }) {
            handoff.state = State::Closed;
            self.share.changed.notify_all();
        }
    }
}

impl<T> Drop for StartedAnalysis<'_, T> {
    fn drop(&mut self) {
        self.decline();
    }
}

/// A job offered to the helper.
pub struct Offered<'s, T> {
    share: &'s ShareUnits<T>,
}

impl<T> Offered<'_, T> {
    /// The job's output, and whether the helper ran it: run here when no helper has taken it
    /// or waits to, else awaited (a panic in the job is resumed here).
    pub fn collect(self) -> (T, bool) {
        let mut handoff = self.share.lock();
        loop {
            match std::mem::replace(&mut handoff.state, State::Closed) {
                offered @ State::Offered(_) if handoff.helper_waiting => {
                    handoff.state = offered;
                    handoff = self.wait(handoff);
                }
                State::Offered(job) => {
                    drop(handoff);
                    return (job(), false);
                }
                State::Done(output) => {
                    let output = output.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                    return (output, true);
                }
                running @ State::Running => {
                    handoff.state = running;
                    handoff = self.wait(handoff);
                }
                other => unreachable!("an offered job is taken back or run: {}", other.name()),
            }
        }
    }

    fn wait<'g>(&self, handoff: MutexGuard<'g, Handoff<T>>) -> MutexGuard<'g, Handoff<T>> {
        self.share
            .changed
            .wait(handoff)
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<T> State<T> {
    fn name(&self) -> &'static str {
        match self {
            State::Open { .. } => "open",
            State::HelperGone => "helper gone",
            State::Offered(_) => "offered",
            State::Running => "running",
            State::Done(_) => "done",
            State::Closed => "closed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_helper_that_comes_before_the_analysis_starts_leaves_at_once() {
        let share = ShareUnits::<u32>::default();
        share.help();
        let started = share.start();
        let job = started.offer(Box::new(|| 1)).err().expect("no helper");
        assert_eq!(job(), 1);
    }

    #[test]
    fn an_offer_nobody_took_is_run_by_the_analysis_side() {
        let share = ShareUnits::<u32>::default();
        let started = share.start();
        let offered = started.offer(Box::new(|| 2)).ok().expect("offered");
        assert_eq!(offered.collect(), (2, false));
        drop(started);
        // The helper arriving afterwards finds the handoff closed.
        share.help();
    }

    #[test]
    fn a_helper_waiting_for_the_analysis_runs_its_offer() {
        let share = ShareUnits::<std::thread::ThreadId>::default();
        let started = share.start();
        std::thread::scope(|scope| {
            // Whether it arrives before or after the offer, the helper runs the job (the
            // analysis side collects only once the helper has left).
            let helper = scope.spawn(|| share.help());
            let helper_id = helper.thread().id();
            let offered = started
                .offer(Box::new(|| std::thread::current().id()))
                .ok()
                .expect("offered");
            helper.join().unwrap();
            assert_eq!(offered.collect(), (helper_id, true));
        });
    }

    #[test]
    fn a_helper_leaves_when_the_analysis_declines_or_ends_without_an_offer() {
        let share = ShareUnits::<u32>::default();
        let started = share.start();
        std::thread::scope(|scope| {
            let helper = scope.spawn(|| share.help());
            started.decline();
            helper.join().unwrap();
        });
        assert!(started.offer(Box::new(|| 1)).is_err());
        let share = ShareUnits::<u32>::default();
        let started = share.start();
        std::thread::scope(|scope| {
            let helper = scope.spawn(|| share.help());
            drop(started);
            helper.join().unwrap();
        });
    }

    #[test]
    fn a_panic_in_the_helper_reaches_the_analysis_side() {
        let share = ShareUnits::<u32>::default();
        let started = share.start();
        let offered = started
            .offer(Box::new(|| panic!("job failed")))
            .ok()
            .expect("offered");
        std::thread::scope(|scope| {
            scope.spawn(|| share.help()).join().unwrap();
        });
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| offered.collect()));
        assert!(caught.is_err());
    }
}
