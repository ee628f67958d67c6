//! `planai/runEvents`: a run's events as few notifications as keep the client current. A run
//! can report tens of thousands of events a second; one notification per event cost the
//! server a wake-up, a `serde_json::Value` tree, a serialisation and a write each, taken from
//! the user typing in another document. Instead:
//!
//! - [`Windows`] decides *when* to send: the first events at once (and the first after a
//!   pause), then at most one notification per [`WINDOW`], except that the run's end
//!   (`finished`, `ended`) goes out as soon as it is queued;
//! - [`EventsNotification`] builds the message as JSON text, each event serialised straight
//!   into it (no `Value`), bounded to [`MAX_EVENTS`] events or about [`MAX_BYTES`] bytes.
//!
//! `requests/run.rs` drives both and writes the text through the framing layer's
//! [`Outbox`](crate::server::framing::Outbox).

use std::time::Duration;

use tokio::time::Instant;

use crate::run::{RunEvent, RunEvents};

/// The notification's method.
pub const METHOD: &str = "planai/runEvents";

/// After a notification, events are gathered this long before the next one.
pub const WINDOW: Duration = Duration::from_millis(50);

/// At most this many events per notification.
pub const MAX_EVENTS: usize = 4096;

/// A notification is closed once its text reaches this size (one event may exceed it alone).
pub const MAX_BYTES: usize = 1024 * 1024;

/// When to send: at most one batch per window, the first and the last events at once.
#[derive(Debug, Default)]
pub struct Windows {
    last_sent: Option<Instant>,
}

impl Windows {
    /// Waits for the next events to send and appends them to `batch`: at once when nothing
    /// was sent within the last window (the run's first events, the first after a pause),
    /// else when the window ends or the run's end is queued. False once the events are over.
    pub async fn next(&mut self, events: &mut RunEvents, batch: &mut Vec<RunEvent>) -> bool {
        if !events.recv_many(batch).await {
            return false;
        }
        if let Some(sent) = self.last_sent {
            tokio::select! {
                _ = tokio::time::sleep_until(sent + WINDOW) => {}
                _ = events.last_words() => {}
            }
            events.take_available(batch);
        }
        true
    }

    /// Records that a batch was just sent.
    pub fn sent(&mut self) {
        self.last_sent = Some(Instant::now());
    }
}

/// One `planai/runEvents` message being written: `{"jsonrpc": "2.0", "method":
/// "planai/runEvents", "params": {"runId", "uri", "events": [...]}}`.
pub struct EventsNotification {
    text: Vec<u8>,
    /// Length of the text up to the events' `[`.
    head: usize,
    events: usize,
}

impl EventsNotification {
    pub fn new(run_id: &str, uri: &str) -> Self {
        let mut text = Vec::with_capacity(64 * 1024);
        text.extend_from_slice(br#"{"jsonrpc":"2.0","method":""#);
        text.extend_from_slice(METHOD.as_bytes());
        text.extend_from_slice(br#"","params":{"runId":"#);
        Self::write_string(&mut text, run_id);
        text.extend_from_slice(br#","uri":"#);
        Self::write_string(&mut text, uri);
        text.extend_from_slice(br#","events":["#);
        let head = text.len();
        Self {
            text,
            head,
            events: 0,
        }
    }

    fn write_string(text: &mut Vec<u8>, value: &str) {
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *text, value);
    }

    /// Adds one event (serialised in place).
    pub fn push(&mut self, event: &RunEvent) {
        let before = self.text.len();
        if self.events > 0 {
            self.text.push(b',');
        }
        match serde_json::to_writer(&mut self.text, event) {
            Ok(()) => self.events += 1,
            Err(error) => {
                // Not expected (events hold only JSON data); the event is left out, loudly.
                self.text.truncate(before);
                tracing::warn!(target: "planai_lsp::run", "a run event could not be encoded: {error}");
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.events == 0
    }

    /// It holds as many events as one notification may carry.
    pub fn is_full(&self) -> bool {
        self.events >= MAX_EVENTS || self.text.len() >= MAX_BYTES
    }

    /// The complete message; the builder starts over with no events.
    pub fn take(&mut self) -> Vec<u8> {
        let mut message = Vec::with_capacity(self.text.len() + 3);
        message.extend_from_slice(&self.text);
        message.extend_from_slice(b"]}}");
        self.text.truncate(self.head);
        self.events = 0;
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::{RunOutcome, Stream};
    use serde_json::{json, Value};

    fn output(text: &str) -> RunEvent {
        RunEvent::Output {
            stream: Stream::Stdout,
            text: text.into(),
        }
    }

    #[test]
    fn the_message_is_json_rpc_with_every_event_in_order() {
        let mut notification = EventsNotification::new("18c-3", "file:///w/fl\"ow.py");
        assert!(notification.is_empty());
        let events = [
            output("a"),
            output("b \u{1F600} \"quoted\""),
            RunEvent::Ended {
                outcome: RunOutcome::Succeeded,
                exit_code: Some(0),
                message: None,
            },
        ];
        for event in &events {
            notification.push(event);
        }
        let message: Value = serde_json::from_slice(&notification.take()).unwrap();
        assert_eq!(
            message,
            json!({"jsonrpc": "2.0", "method": "planai/runEvents", "params": {
                "runId": "18c-3", "uri": "file:///w/fl\"ow.py",
                "events": events.iter().map(|e| serde_json::to_value(e).unwrap()).collect::<Vec<_>>()}})
        );
        // Starts over empty, for the same run.
        assert!(notification.is_empty());
        notification.push(&output("c"));
        let again: Value = serde_json::from_slice(&notification.take()).unwrap();
        assert_eq!(again["params"]["runId"], "18c-3");
        assert_eq!(
            again["params"]["events"],
            json!([{"event": "output", "stream": "stdout", "text": "c"}])
        );
    }

    #[test]
    fn a_notification_is_full_at_the_event_or_byte_bound() {
        let mut notification = EventsNotification::new("r", "file:///f.py");
        for _ in 0..MAX_EVENTS - 1 {
            notification.push(&output("x"));
        }
        assert!(!notification.is_full());
        notification.push(&output("x"));
        assert!(notification.is_full());
        notification.take();
        notification.push(&output(&"y".repeat(MAX_BYTES)));
        assert!(notification.is_full(), "one large event fills it alone");
    }

    #[tokio::test(start_paused = true)]
    async fn first_events_go_at_once_then_one_batch_per_window_and_the_end_at_once() {
        let (sender, mut events) = crate::run::queue::channel(1 << 20);
        let mut windows = Windows::default();
        let mut batch = Vec::new();
        let start = Instant::now();

        sender.send(vec![output("1")], 1);
        assert!(windows.next(&mut events, &mut batch).await);
        assert_eq!(Instant::now(), start, "the first events wait for nothing");
        assert_eq!(batch.len(), 1);
        batch.clear();
        windows.sent();

        // Events arriving during the window are gathered until it ends.
        sender.send(vec![output("2")], 1);
        let late = sender.clone();
        tokio::spawn(async move {
            tokio::time::sleep(WINDOW / 2).await;
            late.send(vec![output("3"), output("4")], 2);
        });
        assert!(windows.next(&mut events, &mut batch).await);
        assert_eq!(Instant::now(), start + WINDOW);
        assert_eq!(batch.len(), 3, "{batch:?}");
        batch.clear();
        windows.sent();

        // The end does not wait for the window.
        sender.send(vec![output("5")], 1);
        let end = sender.clone();
        tokio::spawn(async move {
            tokio::time::sleep(WINDOW / 5).await;
            end.send(
                vec![RunEvent::Ended {
                    outcome: RunOutcome::Succeeded,
                    exit_code: None,
                    message: None,
                }],
                1,
            );
        });
        assert!(windows.next(&mut events, &mut batch).await);
        assert_eq!(Instant::now(), start + WINDOW + WINDOW / 5);
        assert_eq!(batch.len(), 2);
        assert!(matches!(batch[1], RunEvent::Ended { .. }));
        batch.clear();
        windows.sent();

        // After a pause longer than the window, the next events go at once again.
        tokio::time::sleep(WINDOW * 3).await;
        let paused = Instant::now();
        sender.send(vec![output("6")], 1);
        drop(sender);
        assert!(windows.next(&mut events, &mut batch).await);
        assert_eq!(Instant::now(), paused);
        batch.clear();
        assert!(!windows.next(&mut events, &mut batch).await, "over");
    }
}
