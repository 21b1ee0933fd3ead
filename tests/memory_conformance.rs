//! The shared conformance suite against the in-memory backends, directly and
//! through `Arc<dyn _>`.

mod conformance;

use std::sync::Arc;

use tokentra_reports::backends::memory::{MemoryCostSource, MemoryStore};
use tokentra_reports::ports::{CostSource, ReportStore};

#[tokio::test]
async fn memory_store_passes_the_report_store_suite() {
    conformance::report_store_suite(|| async {
        Arc::new(MemoryStore::new()) as Arc<dyn ReportStore>
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_is_safe_across_threads() {
    // The concurrency part again on a multi-threaded runtime, with tasks
    // spawned onto different threads.
    let store: Arc<dyn ReportStore> = Arc::new(MemoryStore::new());
    let s2 = store.clone();
    tokio::spawn(async move { conformance::concurrency(s2).await })
        .await
        .unwrap();
}

#[tokio::test]
async fn memory_store_clones_share_state() {
    let a = MemoryStore::new();
    let b = a.clone();
    let org = tokentra_reports::model::OrganizationId::new();
    let t = conformance::template(org, "shared", false);
    use tokentra_reports::ports::TemplateStore;
    a.create_template(org, &t).await.unwrap();
    assert_eq!(b.get_template(org, t.id).await.unwrap(), t);
}

#[tokio::test]
async fn memory_cost_source_passes_the_cost_source_suite() {
    conformance::cost_source_suite(Box::new(|data| {
        Box::pin(async move {
            let src = MemoryCostSource::new();
            for (org, rows) in data {
                src.insert(org, rows);
            }
            Arc::new(src) as Arc<dyn CostSource>
        })
    }))
    .await;
}
