//! What a serving `actalink sandbox` prints as it works: one line per request
//! it answers (`<--`), per webhook delivery attempt (`-->`), and per endpoint
//! it gives up on for an event (`--> … gave up …`); with `--json`, one JSON
//! object per line instead.
//!
//! The sandbox reports each [`Activity`] to the callback of
//! `SandboxBuilder::on_activity`, which queues it without waiting ([`queue`]);
//! one thread prints them in order, after the banner. Webhook URLs arrive
//! without their credentials, and every piece of text goes through
//! [`output::escape`].

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};

use actalink_sandbox::{Activity, DeliveryAttempt, GaveUp, RequestServed};
use serde_json::{Value, json};

use crate::output;

/// The line for one activity; `None` for a kind this version does not know.
pub(crate) fn line(activity: &Activity) -> Option<String> {
    match activity {
        Activity::Request(r) => Some(request_line(r)),
        Activity::Attempt(a) => Some(attempt_line(a)),
        Activity::GaveUp(g) => Some(gave_up_line(g)),
        _ => None,
    }
}

/// `<-- POST /billing/api/v1/paysession/create [201] 3ms`
fn request_line(r: &RequestServed) -> String {
    format!(
        "<-- {} {} [{}] {}ms",
        output::escape(&r.method),
        output::escape(&r.path),
        r.status,
        r.duration.as_millis()
    )
}

/// `--> onetime.executed event_… http://127.0.0.1:3000/webhooks/actalink [200] 12ms`,
/// with `(attempt 2 of 5)` after a failure or on a retry.
fn attempt_line(a: &DeliveryAttempt) -> String {
    let outcome = match (a.status, &a.error) {
        (Some(status), _) => status.to_string(),
        (None, Some(error)) => output::escape(error).into_owned(),
        (None, None) => "no answer".to_owned(),
    };
    let mut line = format!(
        "--> {} {} {} [{outcome}] {}ms",
        output::escape(a.event_type.as_str()),
        output::escape(&a.event_id),
        output::escape(&a.url),
        a.duration.as_millis()
    );
    if a.attempt > 1 || (!a.delivered && a.max_attempts > 1) {
        line.push_str(&format!(" (attempt {} of {})", a.attempt, a.max_attempts));
    }
    line
}

/// `--> onetime.executed event_… http://127.0.0.1:3000/webhooks/actalink gave up after 5 attempts`
fn gave_up_line(g: &GaveUp) -> String {
    let head = format!(
        "--> {} {} {}",
        output::escape(g.event_type.as_str()),
        output::escape(&g.event_id),
        output::escape(&g.url)
    );
    match (g.attempts, &g.error) {
        (0, Some(why)) => format!("{head} gave up: {}", output::escape(why)),
        (0, None) => format!("{head} gave up without an attempt"),
        (1, _) => format!("{head} gave up after 1 attempt"),
        (n, _) => format!("{head} gave up after {n} attempts"),
    }
}

/// The JSON object for one activity (`--json`); `None` for a kind this
/// version does not know. JSON escapes the text itself.
pub(crate) fn json(activity: &Activity) -> Option<Value> {
    match activity {
        Activity::Request(r) => Some(json!({
            "activity": "request",
            "method": r.method,
            "path": r.path,
            "status": r.status,
            "durationMs": millis(r.duration),
        })),
        Activity::Attempt(a) => Some(json!({
            "activity": "attempt",
            "eventId": a.event_id,
            "eventType": a.event_type.as_str(),
            "sessionId": a.session_id.as_str(),
            "url": a.url,
            "attempt": a.attempt,
            "maxAttempts": a.max_attempts,
            "status": a.status,
            "error": a.error,
            "delivered": a.delivered,
            "durationMs": millis(a.duration),
        })),
        Activity::GaveUp(g) => Some(json!({
            "activity": "gaveUp",
            "eventId": g.event_id,
            "eventType": g.event_type.as_str(),
            "sessionId": g.session_id.as_str(),
            "url": g.url,
            "attempts": g.attempts,
            "error": g.error,
        })),
        _ => None,
    }
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// How many reports wait for stdout at most. Beyond, they are dropped and
/// counted, so that a stdout nobody reads costs neither memory nor a stuck
/// sandbox task.
const BACKLOG: usize = 10_000;

/// The sending side: [`Feed::report`] is the sandbox's `on_activity` callback.
pub(crate) struct Feed {
    sender: SyncSender<Activity>,
    dropped: Arc<AtomicU64>,
}

/// Ends the sandbox when stdout's reader has gone; any other write error
/// (a full disk) drops the line.
fn written(result: std::io::Result<()>) {
    if let Err(e) = result
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        crate::stdio::end_of_pipe();
    }
}

/// The receiving side, printed by [`Backlog::print_on_a_thread`].
pub(crate) struct Backlog {
    receiver: Receiver<Activity>,
    dropped: Arc<AtomicU64>,
}

/// A bounded queue of reports from the sandbox's tasks to the printer.
pub(crate) fn queue() -> (Feed, Backlog) {
    let (sender, receiver) = mpsc::sync_channel(BACKLOG);
    let dropped = Arc::new(AtomicU64::new(0));
    (
        Feed {
            sender,
            dropped: Arc::clone(&dropped),
        },
        Backlog { receiver, dropped },
    )
}

impl Feed {
    /// Queues a report without waiting; a full queue drops it and counts it.
    pub(crate) fn report(&self, activity: &Activity) {
        if self.sender.try_send(activity.clone()).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Backlog {
    /// Prints each report on stdout, one line each, on a thread of its own
    /// (a write to a full pipe blocks it, never the sandbox), until the
    /// sandbox is gone. When nobody reads stdout any more, the next line
    /// ends the sandbox quietly, as any command's output does.
    pub(crate) fn print_on_a_thread(self, as_json: bool) {
        let spawned = std::thread::Builder::new()
            .name("actalink-sandbox-activity".into())
            .spawn(move || {
                for activity in &self.receiver {
                    let mut out = std::io::stdout().lock();
                    let dropped = self.dropped.swap(0, Ordering::Relaxed);
                    if dropped > 0 {
                        let note = if as_json {
                            json!({"activity": "dropped", "count": dropped}).to_string()
                        } else {
                            format!("... {dropped} lines dropped: stdout was not read fast enough")
                        };
                        written(writeln!(out, "{note}"));
                    }
                    let text = if as_json {
                        json(&activity).map(|v| v.to_string())
                    } else {
                        line(&activity)
                    };
                    if let Some(text) = text {
                        written(writeln!(out, "{text}").and_then(|()| out.flush()));
                    }
                }
            });
        if let Err(e) = spawned {
            errln!("note: the sandbox's activity will not be printed: {e}");
        }
    }
}
