//! PostgreSQL test helpers shared by the test files that need a server:
//! `DATABASE_URL`, and a fresh schema per test.

#![allow(dead_code)]

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use tokentra_reports::backends::postgres::PostgresStore;

/// `DATABASE_URL`, or `None` after printing `SKIPPED` when it is not set.
pub fn url() -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            eprintln!("SKIPPED: DATABASE_URL not set (PostgreSQL tests did not run)");
            None
        }
    }
}

/// A fresh schema (`CREATE SCHEMA t_<uuid>`); pools made from it see only
/// it (`search_path`), so tests run in parallel.
pub struct Schema {
    url: String,
    pub name: String,
    pub admin: PgPool,
}

impl Schema {
    pub async fn new(url: &str) -> Schema {
        let admin = PgPoolOptions::new()
            .max_connections(2)
            .connect(url)
            .await
            .unwrap();
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&admin)
            .await
            .unwrap();
        Schema {
            url: url.to_owned(),
            name,
            admin,
        }
    }

    /// A pool of at most `max` connections in this schema.
    pub async fn pool(&self, max: u32) -> PgPool {
        self.pool_with(max, PgPoolOptions::new(), |o| o).await
    }

    /// A pool whose connections carry `application_name` = `app` (so a
    /// test can find, and terminate, exactly its backends).
    pub async fn pool_named(&self, max: u32, app: &str) -> PgPool {
        let options = PgPoolOptions::new().acquire_timeout(std::time::Duration::from_secs(5));
        self.pool_with(max, options, |o| o.application_name(app))
            .await
    }

    /// A pool of at most `max` connections built from `options`, each
    /// connection's options passed through `connect`.
    pub async fn pool_with(
        &self,
        max: u32,
        options: PgPoolOptions,
        connect: impl FnOnce(PgConnectOptions) -> PgConnectOptions,
    ) -> PgPool {
        let opts = PgConnectOptions::from_str(&self.url)
            .unwrap()
            .options([("search_path", self.name.as_str())]);
        options
            .max_connections(max)
            .connect_with(connect(opts))
            .await
            .unwrap()
    }

    /// A migrated store on its own pool.
    pub async fn store(&self, max: u32) -> PostgresStore {
        let s = PostgresStore::from_pool(self.pool(max).await);
        s.migrate().await.unwrap();
        s
    }

    pub async fn drop(self) {
        sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.name))
            .execute(&self.admin)
            .await
            .unwrap();
        self.admin.close().await;
    }
}
