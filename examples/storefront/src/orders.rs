//! The shop's own table: orders, tied one to one to the payment records of
//! `actalink-payments` by their checkout session.
//!
//! An order row says what was bought; where its payment stands is the
//! payment record's business ([`actalink_payments::Payment::status`]), so
//! the status lives in one place only. The row is written in the same
//! transaction as its payment record, and marked fulfilled in the same
//! transaction that completes its fulfilment job.
//!
//! The SQL runs unchanged on SQLite and PostgreSQL: `$1` placeholders,
//! `TEXT` and `BIGINT` columns, times in Unix milliseconds from the
//! database's clock.

use actalink_checkout::CheckoutSessionId;
use actalink_checkout::types::Decimal;
use actalink_payments::sqlx::any::AnyRow;
use actalink_payments::sqlx::{self, AnyConnection, Row};
use actalink_payments::{Migration, Payments};

use crate::{AppError, Product};

/// The component name of the shop's migrations in `actalink_schema`.
pub const COMPONENT: &str = "storefront";

/// The shop's migrations, run by [`Payments::migrate`] once however many
/// instances start at once.
pub const MIGRATIONS: &[Migration] = &[Migration::new(
    1,
    "orders",
    "CREATE TABLE orders (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        paylink_id TEXT NOT NULL,
        product TEXT NOT NULL,
        amount TEXT NOT NULL,
        currency TEXT NOT NULL,
        checkout_session_id TEXT NOT NULL UNIQUE REFERENCES actalink_payments (session_id),
        created_at_ms BIGINT NOT NULL,
        fulfilled_at_ms BIGINT
    )",
)];

/// An order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Order {
    /// The order id (sent as `internal_order_id` metadata, and the payment
    /// record's reference).
    pub id: String,
    /// Who placed it (sent as `user_uuid` metadata).
    pub user_id: String,
    /// The paylink bought.
    pub paylink_id: String,
    /// The product's display name.
    pub product: String,
    /// The price the shop expects (`0.16`).
    pub amount: Decimal,
    /// The currency the shop expects (`USDC`).
    pub currency: String,
    /// The order's checkout session (and payment record).
    pub checkout_session_id: CheckoutSessionId,
    /// When it was placed, in Unix milliseconds (database clock).
    pub created_at_ms: i64,
    /// When it was fulfilled (database clock), once its payment was confirmed.
    pub fulfilled_at_ms: Option<i64>,
}

const COLUMNS: &str = "id, user_id, paylink_id, product, amount, currency, checkout_session_id, \
     created_at_ms, fulfilled_at_ms";

fn from_row(row: &AnyRow) -> Result<Order, AppError> {
    let amount: String = row.try_get(4)?;
    let session: String = row.try_get(6)?;
    Ok(Order {
        id: row.try_get(0)?,
        user_id: row.try_get(1)?,
        paylink_id: row.try_get(2)?,
        product: row.try_get(3)?,
        amount: Decimal::from_str_exact(&amount)
            .map_err(|e| AppError::Internal(format!("order amount {amount:?}: {e}")))?,
        currency: row.try_get(5)?,
        checkout_session_id: CheckoutSessionId::new(session.as_str())
            .map_err(|e| AppError::Internal(format!("order session {session:?}: {e}")))?,
        created_at_ms: row.try_get(7)?,
        fulfilled_at_ms: row.try_get(8)?,
    })
}

/// Writes a new order for `product`, paid through `session`, on `conn`
/// (inside the checkout's transaction, after the session's payment record:
/// the order is placed when its record was made, by the same clock, without
/// another round trip).
pub(crate) async fn insert_in(
    conn: &mut AnyConnection,
    id: &str,
    user_id: &str,
    product: &Product,
    session: &CheckoutSessionId,
) -> Result<(), AppError> {
    let placed = sqlx::query(
        "INSERT INTO orders (id, user_id, paylink_id, product, amount, currency, \
         checkout_session_id, created_at_ms) \
         SELECT $1, $2, $3, $4, $5, $6, session_id, created_at_ms \
         FROM actalink_payments WHERE session_id = $7",
    )
    .bind(id)
    .bind(user_id)
    .bind(product.paylink_id.as_str())
    .bind(product.name.as_str())
    .bind(product.amount.to_string())
    .bind(product.currency.as_str())
    .bind(session.as_str())
    .execute(conn)
    .await?
    .rows_affected();
    // The payment record was written just before, in the same transaction:
    // without it the order would silently not be placed.
    if placed != 1 {
        return Err(AppError::Internal(format!(
            "no payment record for session {} to place order {id} on",
            session.as_str()
        )));
    }
    Ok(())
}

/// The order with this id.
///
/// # Errors
///
/// On a database failure.
pub async fn find(payments: &Payments, id: &str) -> Result<Option<Order>, AppError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM orders WHERE id = $1"))
        .bind(id)
        .fetch_optional(payments.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Marks the order fulfilled at `now_ms`, unless it already is; returns
/// whether this call did. Call it in the transaction that completes the
/// order's fulfilment job, as its first statement (SQLite takes the write
/// lock there).
pub(crate) async fn mark_fulfilled_in(
    conn: &mut AnyConnection,
    id: &str,
    now_ms: i64,
) -> Result<bool, AppError> {
    let changed = sqlx::query(
        "UPDATE orders SET fulfilled_at_ms = $1 WHERE id = $2 AND fulfilled_at_ms IS NULL",
    )
    .bind(now_ms)
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(changed == 1)
}
