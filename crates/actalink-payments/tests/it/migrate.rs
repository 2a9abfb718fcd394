//! Migrations: embedded, recorded, run once.

use actalink_payments::{Error, Migration};

use crate::support::{StatusServer, connect, on_each_backend, own_migrations};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_once_and_a_failed_one_leaves_nothing() {
    on_each_backend("migrate_once", |url| async move {
        let server = StatusServer::start().await;
        // Many handles starting at once in one process (processes.rs does it with processes).
        let handles = futures_join(&url, &server).await;
        let payments = &handles[0];
        let own: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM actalink_schema WHERE component = 'actalink-payments'",
        )
        .fetch_one(payments.pool())
        .await
        .unwrap();
        assert_eq!(own, own_migrations(&url));
        let shop = [
            Migration::new(1, "orders", "CREATE TABLE orders (id TEXT PRIMARY KEY)"),
            Migration::new(2, "order notes", "ALTER TABLE orders ADD COLUMN note TEXT"),
        ];
        assert_eq!(payments.migrate("shop", &shop).await.unwrap(), 2);
        assert_eq!(handles[1].migrate("shop", &shop).await.unwrap(), 0);
        let broken = [
            shop[0],
            shop[1],
            Migration::new(
                3,
                "half",
                "CREATE TABLE half (id TEXT); CREATE TABLE orders (id TEXT)",
            ),
        ];
        let error = payments.migrate("shop", &broken).await.unwrap_err();
        assert!(
            matches!(error, Error::Migration { version: 3, .. }),
            "{error:?}"
        );
        let half: Result<i64, _> = sqlx::query_scalar("SELECT COUNT(*) FROM half")
            .fetch_one(payments.pool())
            .await;
        assert!(
            half.is_err(),
            "the failed migration's first statement was rolled back"
        );
    })
    .await;
}

async fn futures_join(url: &str, server: &StatusServer) -> Vec<actalink_payments::Payments> {
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (url, server) = (url.to_owned(), server.clone());
        tasks.push(tokio::spawn(async move { connect(&url, &server).await }));
    }
    let mut handles = Vec::new();
    for task in tasks {
        handles.push(task.await.unwrap());
    }
    handles
}

#[tokio::test]
async fn a_url_of_another_database_is_refused_before_connecting() {
    let server = StatusServer::start().await;
    let error = actalink_payments::Payments::connect("mysql://u:secret@h/db", server.client())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("\"mysql\""), "{error}");
    assert!(!format!("{error:?}").contains("secret"));
}
