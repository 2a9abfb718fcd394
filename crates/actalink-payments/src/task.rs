//! The background task behind a [`Reconciler`](crate::Reconciler) or a
//! [`FulfilmentWorker`](crate::FulfilmentWorker): started once, stopped at
//! once on drop, or gracefully after the work in hand.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running task and the switch that asks it to stop.
#[derive(Debug, Default)]
pub(crate) struct Background {
    task: Option<JoinHandle<()>>,
    stop: Option<watch::Sender<bool>>,
}

impl Background {
    /// Starts `run` on the current Tokio runtime, handing it the receiver
    /// that turns true when it is asked to stop.
    pub(crate) fn start<F, Fut>(run: F) -> Self
    where
        F: FnOnce(watch::Receiver<bool>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (stop, stopped) = watch::channel(false);
        Self {
            task: Some(tokio::spawn(run(stopped))),
            stop: Some(stop),
        }
    }

    /// Whether a task was started.
    pub(crate) fn is_running(&self) -> bool {
        self.task.is_some()
    }

    /// Asks the task to stop and waits for it to finish its work in hand.
    /// Dropping this future stops the task at once.
    pub(crate) async fn shutdown(&mut self) {
        if let Some(stop) = &self.stop {
            // Fails only when the task has ended already.
            let _ = stop.send(true);
        }
        if let Some(task) = self.task.as_mut() {
            let _ = task.await;
        }
        self.task = None;
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Sleeps for `wait`, or less when told to stop; returns false when the
/// task is to stop.
pub(crate) async fn idle(stopped: &mut watch::Receiver<bool>, wait: Duration) -> bool {
    if *stopped.borrow() {
        return false;
    }
    tokio::select! {
        () = tokio::time::sleep(wait) => !*stopped.borrow(),
        // A dropped sender means the handle is gone: stop as well.
        changed = stopped.changed() => changed.is_ok() && !*stopped.borrow(),
    }
}
