//! A careless or hostile tenant cannot panic the engine or leave a record
//! stuck: far dates are refused before a record exists, and a panic while
//! generating becomes a `failed` report with its message.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use tokentra_reports::backends::memory::{ManualClock, MemoryCostSource, MemoryStore};
use tokentra_reports::engine::Engine;
use tokentra_reports::model::*;
use tokentra_reports::ports::Clock as _;
use tokentra_reports::ports::{GeneratedReportStore, RenderedReport, Renderer, ReportListQuery};

#[derive(Debug)]
struct Panics;

impl Renderer for Panics {
    fn format(&self) -> ReportFormat {
        ReportFormat::Csv
    }
    fn render(&self, _: &ReportDocument) -> tokentra_reports::Result<RenderedReport> {
        panic!("renderer bug: index out of bounds");
    }
}

fn engine(store: &MemoryStore) -> Engine {
    Engine::builder()
        .cost_source(Arc::new(MemoryCostSource::new()))
        .store(Arc::new(store.clone()))
        .clock(Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap(),
        )))
        .renderer(Arc::new(Panics))
        .build()
        .unwrap()
}

#[tokio::test]
async fn far_dates_are_refused_before_any_record_exists() {
    let store = MemoryStore::new();
    let e = engine(&store);
    let org = OrganizationId::new();
    for body in [
        r#"{"reportType":"chargeback","dateRange":{"start":"-262143-01-01","end":"-262143-01-31"},"format":"json"}"#,
        r#"{"type":"executive","dateRange":{"start":"+262142-01-01","end":"+262142-01-31"},"format":"json"}"#,
        r#"{"type":"executive","dateRange":{"start":"1969-12-01","end":"1969-12-31"},"format":"json"}"#,
        r#"{"type":"executive","dateRange":{"start":"2028-01-01","end":"2028-01-31"},"format":"json"}"#,
    ] {
        let request: GenerateReportRequest = from_json(body).unwrap();
        let err = e.generate(org, request, None).await.unwrap_err();
        assert_eq!(err.field(), Some("dateRange"), "{body}: {err}");
    }
    let page = store
        .list_reports(org, &ReportListQuery::default())
        .await
        .unwrap();
    assert!(page.reports.is_empty(), "no record for a refused request");
}

#[tokio::test]
async fn a_panicking_renderer_fails_the_report_with_its_message() {
    let store = MemoryStore::new();
    let e = engine(&store);
    let org = OrganizationId::new();
    let result = e
        .generate(
            org,
            GenerateReportRequest {
                report_type: Some(ReportType::Team),
                date_preset: Some(DateRangePreset::LastMonth),
                format: ReportFormat::Csv,
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(result.status, ReportStatus::Failed);
    let report = store.get_report(org, result.report_id).await.unwrap();
    assert_eq!(report.status, ReportStatus::Failed);
    let message = report.error_message.unwrap();
    assert!(message.contains("renderer bug"), "{message}");
}

/// A cost source that fails, not retryably, for one organization.
#[derive(Debug)]
struct Poisoned {
    inner: MemoryCostSource,
    bad: OrganizationId,
}

#[async_trait::async_trait]
impl tokentra_reports::ports::CostSource for Poisoned {
    async fn aggregate(
        &self,
        org: OrganizationId,
        query: &CostQuery,
    ) -> tokentra_reports::Result<Vec<CostBucket>> {
        if org == self.bad {
            return Err(tokentra_reports::Error::invalid(
                "costs",
                "this tenant's data is corrupt",
            ));
        }
        self.inner.aggregate(org, query).await
    }
}

#[tokio::test]
async fn one_poisoned_organization_does_not_stop_the_digests_of_the_others() {
    use tokentra_reports::backends::memory::RecordingDeliverer;
    use tokentra_reports::ports::DigestStore;
    let store = MemoryStore::new();
    let deliverer = RecordingDeliverer::new();
    let (bad, good1, good2) = (
        OrganizationId::new(),
        OrganizationId::new(),
        OrganizationId::new(),
    );
    let e = Engine::builder()
        .cost_source(Arc::new(Poisoned {
            inner: MemoryCostSource::new(),
            bad,
        }))
        .store(Arc::new(store.clone()))
        .deliverer(Arc::new(deliverer.clone()))
        .clock(Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 2, 9, 30, 0).unwrap(),
        )))
        .build()
        .unwrap();
    // Organization ids are random: the poisoned one may sort anywhere.
    for org in [good1, bad, good2] {
        let p = EmailDigestPreferences::new(
            org,
            UserId::new(),
            format!("u-{org}@example.com"),
            Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap(),
        );
        store.upsert_digest_preferences(org, &p).await.unwrap();
    }
    let stats = e.process_email_digests().await.unwrap();
    assert_eq!(stats.sent, 2);
    assert_eq!(stats.failed, 1);
    let to: Vec<_> = deliverer.sent().iter().map(|d| d.organization_id).collect();
    assert!(to.contains(&good1) && to.contains(&good2) && !to.contains(&bad));
}

/// A report whose worker died outside a schedule (a request's generation
/// interrupted) is failed by the sweeper, with a reason, and only then.
#[tokio::test]
async fn the_sweeper_fails_reports_stuck_generating() {
    use tokentra_reports::ports::GeneratedReportStore as _;
    let store = MemoryStore::new();
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap());
    let e = Engine::builder()
        .cost_source(Arc::new(MemoryCostSource::new()))
        .store(Arc::new(store.clone()))
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let org = OrganizationId::new();
    let ok = e
        .generate(
            org,
            GenerateReportRequest {
                report_type: Some(ReportType::Team),
                date_preset: Some(DateRangePreset::LastMonth),
                format: ReportFormat::Json,
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    // A second report left `generating` by a worker that died.
    let mut stuck = store.get_report(org, ok.report_id).await.unwrap();
    stuck.id = ReportId::new();
    stuck.status = ReportStatus::Generating;
    stuck.started_at = Some(clock.now());
    store.create_report(org, &stuck).await.unwrap();

    clock.advance(chrono::Duration::minutes(20));
    assert_eq!(e.sweep_stuck_reports().await.unwrap().failed, 0);
    clock.advance(chrono::Duration::minutes(15));
    assert_eq!(e.sweep_stuck_reports().await.unwrap().failed, 1);
    let r = store.get_report(org, stuck.id).await.unwrap();
    assert_eq!(r.status, ReportStatus::Failed);
    assert!(r.error_message.unwrap().contains("did not finish"));
    assert_eq!(
        store.get_report(org, ok.report_id).await.unwrap().status,
        ReportStatus::Completed
    );
    assert_eq!(e.sweep_stuck_reports().await.unwrap().failed, 0);
}
