//! The background reconciler: no paid order is lost, even when the customer
//! closes the tab before the success page and the webhook never arrives.
//!
//! It watches every pending order that has a checkout session (and is not
//! waiting for a person's review), reading them from the database, so that
//! after a restart it picks up where the last run stopped. Each order is
//! checked with [`check_order`] on its own backoff: first after
//! `initial_delay` (at once for orders found at start-up), then doubling up
//! to `max_delay`, until the order is paid, failed, expired or flagged.

use std::collections::HashMap;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::AppState;
use crate::payment::{Source, check_order};

/// The running reconciler. Dropping it (or calling [`Reconciler::stop`])
/// stops the task.
#[derive(Debug)]
pub struct Reconciler {
    task: JoinHandle<()>,
}

impl Reconciler {
    /// Starts the task on the current Tokio runtime.
    pub(crate) fn spawn(state: AppState) -> Self {
        Self {
            task: tokio::spawn(run(state)),
        }
    }

    /// Stops the task.
    pub fn stop(self) {
        // Drop does the work.
    }
}

impl Drop for Reconciler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// When an order is next due, and the wait after that.
#[derive(Debug, Clone, Copy)]
struct Backoff {
    due: Instant,
    delay: Duration,
}

async fn run(state: AppState) {
    let settings = state.config.reconciler.clone();
    let mut schedule: HashMap<String, Backoff> = HashMap::new();
    let mut starting = true;
    tracing::info!(
        initial_delay = ?settings.initial_delay,
        max_delay = ?settings.max_delay,
        "reconciler started"
    );
    loop {
        match state.db.orders_to_reconcile() {
            Ok(ids) => {
                let now = Instant::now();
                schedule.retain(|id, _| ids.contains(id));
                for id in ids {
                    schedule.entry(id).or_insert(Backoff {
                        // Orders left from a previous run may be long overdue.
                        due: if starting {
                            now
                        } else {
                            now + settings.initial_delay
                        },
                        delay: settings.initial_delay,
                    });
                }
                starting = false;
            }
            Err(error) => tracing::error!(%error, "reconciler could not read pending orders"),
        }
        let due: Vec<String> = schedule
            .iter()
            .filter(|(_, b)| b.due <= Instant::now())
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            let settled = match check_order(&state, &id, Source::Reconciler).await {
                Ok(transition) => {
                    tracing::debug!(order = %id, outcome = transition.label(), "reconciled");
                    transition.is_settled()
                }
                Err(error) => {
                    tracing::warn!(order = %id, %error, "reconciler check failed; will retry");
                    false
                }
            };
            if settled {
                schedule.remove(&id);
            } else if let Some(backoff) = schedule.get_mut(&id) {
                backoff.delay = backoff.delay.saturating_mul(2).min(settings.max_delay);
                backoff.due = Instant::now() + backoff.delay;
            }
        }
        let next_due = schedule.values().map(|b| b.due).min();
        let scan = Instant::now() + settings.scan_interval;
        let wake = next_due.map_or(scan, |due| due.min(scan));
        tokio::time::sleep_until(wake).await;
    }
}
