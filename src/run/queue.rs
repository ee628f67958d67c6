//! The channel from a run's pipe readers to whoever consumes its events: events in order,
//! handed over in batches (everything that arrived since the consumer last looked), so a fast
//! run costs its consumer one wake-up per batch instead of one per event.
//!
//! Bounded in bytes for the event pipe: while more than the limit waits, its reader blocks,
//! and so the runner waits on its pipe (a consumer that falls behind cannot grow our memory).
//! Output lines and the end are queued without waiting; the output cap bounds them.

use super::events::RunEvent;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use tokio::sync::Notify;

struct State {
    events: Vec<RunEvent>,
    /// Bytes of the queued events' lines.
    bytes: usize,
    senders: usize,
    receiver_alive: bool,
}

struct Shared {
    state: Mutex<State>,
    limit_bytes: usize,
    /// The event pipe's reader waits here for space.
    space: Condvar,
    /// The consumer waits here; notified when the queue stops being empty or the last sender
    /// goes (a permit is stored when nobody waits, so no wake-up is lost).
    data: Notify,
    /// Notified when the runner's `finished` or the run's `ended` is queued, so a consumer
    /// that holds events back for a while can pass the end on at once.
    last_words: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A new channel whose event-pipe side waits while more than `limit_bytes` are queued.
pub fn channel(limit_bytes: usize) -> (EventSender, RunEvents) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            events: Vec::new(),
            bytes: 0,
            senders: 1,
            receiver_alive: true,
        }),
        limit_bytes,
        space: Condvar::new(),
        data: Notify::new(),
        last_words: Notify::new(),
    });
    (
        EventSender {
            shared: Arc::clone(&shared),
        },
        RunEvents {
            shared,
            pending: Vec::new().into_iter(),
        },
    )
}

/// The sending side; every clone counts until dropped.
pub struct EventSender {
    shared: Arc<Shared>,
}

impl Clone for EventSender {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        EventSender {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for EventSender {
    fn drop(&mut self) {
        let last = {
            let mut state = self.shared.lock();
            state.senders -= 1;
            state.senders == 0
        };
        if last {
            self.shared.data.notify_one();
        }
    }
}

impl EventSender {
    /// Queues `batch` (`bytes` long as lines), first blocking the thread while more than the
    /// limit is queued. False when nobody receives any more.
    pub fn send_blocking(&self, batch: Vec<RunEvent>, bytes: usize) -> bool {
        let mut state = self.shared.lock();
        while state.receiver_alive && state.bytes > self.shared.limit_bytes {
            state = self
                .shared
                .space
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
        self.push(state, batch, bytes)
    }

    /// Queues `batch` without waiting. False when nobody receives any more.
    pub fn send(&self, batch: Vec<RunEvent>, bytes: usize) -> bool {
        self.push(self.shared.lock(), batch, bytes)
    }

    fn push(&self, mut state: MutexGuard<'_, State>, batch: Vec<RunEvent>, bytes: usize) -> bool {
        if !state.receiver_alive {
            return false;
        }
        if batch.is_empty() {
            return true;
        }
        let was_empty = state.events.is_empty();
        let last_words = batch
            .iter()
            .any(|e| matches!(e, RunEvent::Finished { .. } | RunEvent::Ended { .. }));
        state.bytes += bytes;
        state.events.extend(batch);
        drop(state);
        if was_empty {
            self.shared.data.notify_one();
        }
        if last_words {
            self.shared.last_words.notify_one();
        }
        true
    }
}

/// A run's events, in order, ending with [`RunEvent::Ended`].
pub struct RunEvents {
    shared: Arc<Shared>,
    /// What [`recv`](Self::recv) took from the queue and has not handed out yet.
    pending: std::vec::IntoIter<RunEvent>,
}

impl RunEvents {
    /// The next event; `None` after the last one. Cancel-safe.
    pub async fn recv(&mut self) -> Option<RunEvent> {
        if let Some(event) = self.pending.next() {
            return Some(event);
        }
        let mut batch = Vec::new();
        if !self.recv_many(&mut batch).await {
            return None;
        }
        self.pending = batch.into_iter();
        self.pending.next()
    }

    /// Waits until there is at least one event, then appends every queued event to `into`.
    /// False (and nothing appended) once the events are over. Cancel-safe.
    pub async fn recv_many(&mut self, into: &mut Vec<RunEvent>) -> bool {
        let shared = Arc::clone(&self.shared);
        loop {
            let notified = shared.data.notified();
            if self.take_available(into) {
                return true;
            }
            if self.shared.lock().senders == 0 {
                // The last sender may have queued something just before it went.
                return self.take_available(into);
            }
            notified.await;
        }
    }

    /// Appends every event queued now to `into`, without waiting; whether there was any.
    pub fn take_available(&mut self, into: &mut Vec<RunEvent>) -> bool {
        let before = into.len();
        into.extend(self.pending.by_ref());
        let freed = {
            let mut state = self.shared.lock();
            if state.events.is_empty() {
                false
            } else {
                into.append(&mut state.events);
                state.bytes = 0;
                true
            }
        };
        if freed {
            self.shared.space.notify_all();
        }
        into.len() > before
    }

    /// Resolves once the runner's `finished` or the run's `ended` has been queued since this
    /// was last resolved (a consumer holding events back passes the end on at once).
    pub async fn last_words(&self) {
        self.shared.last_words.notified().await;
    }
}

impl Drop for RunEvents {
    fn drop(&mut self) {
        self.shared.lock().receiver_alive = false;
        self.shared.space.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    fn log(n: usize) -> RunEvent {
        RunEvent::Log {
            level: "INFO".into(),
            logger: String::new(),
            message: n.to_string(),
            exception: None,
        }
    }

    fn numbers(events: &[RunEvent]) -> Vec<usize> {
        events
            .iter()
            .map(|e| match e {
                RunEvent::Log { message, .. } => message.parse().unwrap(),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[tokio::test]
    async fn everything_queued_comes_out_in_one_batch_in_order_then_the_end() {
        let (sender, mut events) = channel(1024);
        assert!(sender.send(vec![log(1), log(2)], 10));
        assert!(sender.send(vec![log(3)], 5));
        let other = sender.clone();
        assert!(other.send(vec![log(4)], 5));
        let mut batch = Vec::new();
        assert!(events.recv_many(&mut batch).await);
        assert_eq!(numbers(&batch), vec![1, 2, 3, 4]);
        drop(sender);
        other.send(vec![log(5)], 5);
        drop(other);
        // Queued before the last sender went: still delivered, then the end.
        assert_eq!(numbers(&[events.recv().await.unwrap()]), vec![5]);
        assert!(events.recv().await.is_none());
        assert!(!events.recv_many(&mut batch).await);
    }

    #[tokio::test]
    async fn recv_hands_out_a_batch_one_event_at_a_time() {
        let (sender, mut events) = channel(1024);
        sender.send((1..=3).map(log).collect(), 3);
        drop(sender);
        let mut seen = Vec::new();
        while let Some(event) = events.recv().await {
            seen.push(event);
        }
        assert_eq!(numbers(&seen), vec![1, 2, 3]);
    }

    #[test]
    fn the_pipe_reader_waits_for_space_and_stops_when_nobody_listens() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (sender, mut events) = channel(10);
        assert!(
            sender.send_blocking(vec![log(1)], 20),
            "over the limit once"
        );
        // Over the limit: the next batch waits until the consumer takes the first.
        let waiting = sender.clone();
        let reader = std::thread::spawn(move || waiting.send_blocking(vec![log(2)], 20));
        let mut batch = Vec::new();
        runtime.block_on(async {
            while batch.len() < 2 {
                assert!(events.recv_many(&mut batch).await);
            }
        });
        assert_eq!(numbers(&batch), vec![1, 2]);
        assert!(reader.join().unwrap());
        // Over the limit again, and the consumer goes away: the waiting batch is refused
        // (and the pipe's reader drains the pipe instead).
        assert!(sender.send_blocking(vec![log(3)], 20));
        let reader = std::thread::spawn(move || sender.send_blocking(vec![log(4)], 20));
        drop(events);
        assert!(!reader.join().unwrap());
    }

    #[tokio::test]
    async fn last_words_resolve_once_finished_or_ended_is_queued() {
        let (sender, events) = channel(1024);
        sender.send(vec![log(1)], 1);
        assert!(
            events.last_words().now_or_never().is_none(),
            "a log line is not the end"
        );
        sender.send(
            vec![RunEvent::Ended {
                outcome: crate::run::RunOutcome::Succeeded,
                exit_code: Some(0),
                message: None,
            }],
            1,
        );
        events.last_words().await;
    }
}
