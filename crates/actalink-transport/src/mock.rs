//! Test doubles: a scripted replay transport, and (in `lib.rs`) the mockall mock.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use crate::{Error, ErrorKind, Request, Response, Transport};

type Step = (Option<Duration>, Result<Response, Error>);

/// A transport that replays a queue of canned results and records every request.
///
/// Each [`send`](Transport::send) takes the next step. A step with a delay
/// honours the request's timeout as a real transport would: a delay longer
/// than the timeout gives a timeout error after the timeout. When the queue is
/// empty, `send` fails with an I/O error that says so. Clones share the queue
/// and the record.
#[derive(Debug, Clone, Default)]
pub struct ReplayTransport {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    steps: VecDeque<Step>,
    requests: Vec<Request>,
}

impl ReplayTransport {
    /// An empty script.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a response.
    #[must_use]
    pub fn respond(self, response: Response) -> Self {
        self.lock().steps.push_back((None, Ok(response)));
        self
    }

    /// Queues a response that arrives after `delay`.
    #[must_use]
    pub fn respond_after(self, delay: Duration, response: Response) -> Self {
        self.lock().steps.push_back((Some(delay), Ok(response)));
        self
    }

    /// Queues an error.
    #[must_use]
    pub fn fail(self, error: Error) -> Self {
        self.lock().steps.push_back((None, Err(error)));
        self
    }

    /// Every request sent so far, in order.
    #[must_use]
    pub fn requests(&self) -> Vec<Request> {
        self.lock().requests.clone()
    }

    /// How many steps are still queued.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.lock().steps.len()
    }
}

#[async_trait]
impl Transport for ReplayTransport {
    async fn send(&self, request: Request) -> Result<Response, Error> {
        let timeout = request.timeout;
        let step = {
            let mut inner = self.lock();
            inner.requests.push(request);
            inner.steps.pop_front()
        };
        let Some((delay, result)) = step else {
            return Err(Error::new(
                ErrorKind::Io,
                "the replay script has no response left",
                None,
            ));
        };
        if let Some(delay) = delay {
            match timeout {
                Some(timeout) if timeout < delay => {
                    tokio::time::sleep(timeout).await;
                    return Err(Error::timeout());
                }
                _ => tokio::time::sleep(delay).await,
            }
        }
        result
    }
}
