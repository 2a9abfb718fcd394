//! Fulfilment: what happens, exactly once in the database, to each paid order.
//!
//! The crate's [`FulfilmentWorker`](actalink_payments::FulfilmentWorker)
//! claims each paid payment's one job under a lease and runs
//! [`Fulfiller::run`]:
//!
//! 1. with `STOREFRONT_FULFIL_URL` set, it POSTs the order as JSON there,
//!    with the header `Idempotency-Key` (the same for every run of the
//!    order's job). Anything but a 2xx, or no answer within
//!    [`Config::fulfil_timeout`](crate::Config::fulfil_timeout), fails the
//!    run; the crate runs it again after a doubling wait until a 2xx, or,
//!    when `STOREFRONT_FULFIL_MAX_ATTEMPTS` is set, after that many failures
//!    leaves it dead for an operator (`storefront dead-jobs`,
//!    `storefront retry-job`);
//! 2. it then marks the order fulfilled and completes the job in **one**
//!    transaction: the order's `fulfilled_at_ms` is set exactly once.
//!
//! The POST itself is at least once: a process that dies between the
//! receiver's 2xx and the commit runs the job again when the lease ends.
//! The receiver drops such a repeat by its `Idempotency-Key`.

use std::sync::Arc;

use actalink_checkout::transport::{self, Request, ReqwestTransport, Transport};
use actalink_payments::{ClaimedJob, Payments};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};

use crate::{AppError, Config, orders};

/// Why a run of a fulfilment job failed; the crate retries it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FulfilError {
    /// The fulfilment URL could not be reached, or did not answer in time.
    #[error("the fulfilment request failed")]
    Request(#[source] transport::Error),
    /// The fulfilment URL answered, but not with a 2xx.
    #[error("the fulfilment URL answered {0}")]
    Refused(StatusCode),
    /// The database failed (or another instance took the job over).
    #[error("could not record the fulfilment")]
    Records(#[source] AppError),
    /// The paid payment names no order of this shop.
    #[error("no order {0} for the paid payment")]
    NoOrder(String),
}

impl From<AppError> for FulfilError {
    fn from(error: AppError) -> Self {
        Self::Records(error)
    }
}

impl From<actalink_payments::Error> for FulfilError {
    fn from(error: actalink_payments::Error) -> Self {
        Self::Records(AppError::Payments(error))
    }
}

impl From<actalink_payments::sqlx::Error> for FulfilError {
    fn from(error: actalink_payments::sqlx::Error) -> Self {
        Self::Records(AppError::Database(error))
    }
}

/// Where paid orders are sent, when a URL is set.
#[derive(Debug, Clone)]
struct Target {
    http: ReqwestTransport,
    url: String,
}

/// Runs one fulfilment job; cheap to clone.
#[derive(Debug, Clone)]
pub struct Fulfiller {
    payments: Payments,
    target: Option<Arc<Target>>,
}

impl Fulfiller {
    /// A fulfiller for the shop's settings: it POSTs to
    /// [`Config::fulfil_url`] when set.
    ///
    /// # Errors
    ///
    /// When the HTTP client cannot be built (no TLS roots on the system, say).
    pub fn new(payments: Payments, config: &Config) -> anyhow::Result<Self> {
        let target = match &config.fulfil_url {
            None => None,
            Some(url) => Some(Arc::new(Target {
                http: http_client(config)?,
                url: url::Url::parse(url)?.into(),
            })),
        };
        Ok(Self { payments, target })
    }

    /// Fulfils the job's order: sends it (when a URL is set), then marks it
    /// fulfilled and completes the job in one transaction.
    ///
    /// # Errors
    ///
    /// When the request or the database failed; the job runs again later.
    pub async fn run(self, job: ClaimedJob) -> Result<(), FulfilError> {
        let order = orders::find(&self.payments, job.reference())
            .await?
            .ok_or_else(|| FulfilError::NoOrder(job.reference().to_owned()))?;
        if let Some(target) = &self.target {
            target.send(&job, &order).await?;
        }
        let now = self.payments.database_now_ms().await?;
        let mut tx = self.payments.begin().await?;
        let marked = match orders::mark_fulfilled_in(&mut tx, &order.id, now).await {
            Ok(marked) => marked,
            Err(error) => {
                let _ = tx.rollback().await;
                return Err(error.into());
            }
        };
        if let Err(error) = self.payments.complete_job_in(&mut tx, &job).await {
            // Another instance holds the job now: undo the mark; it fulfils the order.
            let _ = tx.rollback().await;
            return Err(error.into());
        }
        tx.commit().await?;
        if marked {
            tracing::info!(order = %order.id, attempt = job.attempt(), "order fulfilled");
        }
        Ok(())
    }
}

impl Target {
    async fn send(&self, job: &ClaimedJob, order: &orders::Order) -> Result<(), FulfilError> {
        // The same body on every run, so that a receiver may compare a repeat.
        let body = serde_json::json!({
            "orderId": order.id,
            "checkoutSessionId": job.session_id().as_str(),
            "amount": job.amount().to_string(),
            "currency": job.currency(),
            "paylinkId": order.paylink_id,
            "product": order.product,
        });
        let key = HeaderValue::try_from(job.idempotency_key()).map_err(|e| {
            FulfilError::Request(transport::Error::new(
                transport::ErrorKind::Config,
                "the idempotency key is no header value",
                Some(e.into()),
            ))
        })?;
        let request = Request::new(Method::POST, self.url.clone())
            .with_header(HeaderName::from_static("idempotency-key"), key)
            .with_header(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )
            .with_body(body.to_string());
        // The transport's errors never carry the URL (it may hold a token).
        let response = self
            .http
            .send(request)
            .await
            .map_err(FulfilError::Request)?;
        let status = response.status;
        // The crate logs a failed run, with this error, and schedules the retry.
        if status.is_success() {
            Ok(())
        } else {
            Err(FulfilError::Refused(status))
        }
    }
}

/// The HTTP client of the fulfilment requests: the SDK's own transport
/// (rustls with the platform's verifier, no redirects), with a timeout well
/// inside the job's lease.
fn http_client(config: &Config) -> anyhow::Result<ReqwestTransport> {
    Ok(ReqwestTransport::builder()
        .connect_timeout(config.fulfil_timeout())
        .timeout(config.fulfil_timeout())
        .user_agent("storefront-example/fulfilment")
        .build()?)
}
