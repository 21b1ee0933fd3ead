//! An HTTP API over the engine (axum), with in-memory backends and the
//! bundled demo data. The organization comes from the bearer token.
//!
//! ```sh
//! cargo run --example http_api
//! curl -H 'Authorization: Bearer demo-token' 'localhost:3000/api/v1/templates?type=executive'
//! curl -X POST -H 'Authorization: Bearer demo-token' -H 'Content-Type: application/json' \
//!      -d '{"type":"executive","dateRange":{"start":"2026-10-01","end":"2026-10-31"},"format":"json"}' \
//!      localhost:3000/api/v1/reports
//! curl -H 'Authorization: Bearer demo-token' 'localhost:3000/api/v1/reports?limit=20'
//! ```

mod app;

use std::collections::HashMap;
use std::sync::Arc;

use tokentra_reports::backends::file::read_cost_rows_csv;
use tokentra_reports::backends::memory::{
    MemoryCostSource, MemoryStore, RecordingDeliverer, SystemClock,
};
use tokentra_reports::engine::{Engine, EngineConfig, LinkSigner};
use tokentra_reports::model::{OrganizationId, UserId};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let org = OrganizationId::new();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/llm_usage_daily.csv");
    let rows = read_cost_rows_csv(std::fs::File::open(path)?, "demo")?;
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let key = std::env::var("TOKENTRA_LINK_KEY")
        .unwrap_or_else(|_| "change-me-to-32-or-more-secret-bytes!".into());
    let engine = Engine::builder()
        .cost_source(Arc::new(MemoryCostSource::with_rows(org, rows)))
        .store(Arc::new(MemoryStore::new()))
        .deliverer(Arc::new(RecordingDeliverer::new()))
        .clock(Arc::new(SystemClock))
        .config(EngineConfig {
            links: Some(LinkSigner::new(
                format!("http://127.0.0.1:{port}/api/v1/reports/download"),
                vec![key.into_bytes()],
            )?),
            ..Default::default()
        })
        .build()?;
    let mut tokens = HashMap::new();
    tokens.insert(
        "demo-token".to_string(),
        app::Principal {
            org,
            user: UserId::new(),
            email: "demo@example.com",
        },
    );
    let state = app::AppState {
        engine,
        tokens: Arc::new(tokens),
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "listening on http://{}  (bearer token: demo-token)",
        listener.local_addr()?
    );
    axum::serve(listener, app::router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
