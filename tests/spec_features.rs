//! The specification's features that this crate completed: custom reports
//! built from their template, the template's metrics as the summary in
//! every format, running a schedule now, `pending` before a send, inactive
//! digest users, and chargeback periods of every frequency.

use std::sync::{Arc, Mutex};

use chrono::{TimeZone, Utc};
use tokentra_reports::backends::file::read_cost_rows_csv;
use tokentra_reports::backends::memory::{
    ManualClock, MemoryCostSource, MemoryStore, RecordingDeliverer,
};
use tokentra_reports::engine::chargeback::{chargeback_period, closed_period};
use tokentra_reports::engine::schedules::ScheduleInput;
use tokentra_reports::engine::templates::TemplateInput;
use tokentra_reports::engine::Engine;
use tokentra_reports::model::*;
use tokentra_reports::ports::{
    Deliverer, Delivery, DeliveryReceipt, DigestStore, GeneratedReportStore, Renderer, ReportStore,
    ScheduleStore,
};
use tokentra_reports::render::{CsvRenderer, JsonRenderer};

struct Fx {
    engine: Engine,
    store: MemoryStore,
    deliverer: RecordingDeliverer,
    org: OrganizationId,
}

fn fx() -> Fx {
    let org = OrganizationId::new();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/llm_usage_daily.csv");
    let rows = read_cost_rows_csv(std::fs::File::open(path).unwrap(), "demo").unwrap();
    let store = MemoryStore::new();
    let deliverer = RecordingDeliverer::new();
    let engine = Engine::builder()
        .cost_source(Arc::new(MemoryCostSource::with_rows(org, rows)))
        .store(Arc::new(store.clone()))
        .deliverer(Arc::new(deliverer.clone()))
        .clock(Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap(),
        )))
        .renderer(Arc::new(CsvRenderer::default()))
        .build()
        .unwrap();
    Fx {
        engine,
        store,
        deliverer,
        org,
    }
}

async fn document(f: &Fx, request: GenerateReportRequest) -> ReportDocument {
    let resolved = f.engine.resolve(f.org, &request).await.unwrap();
    f.engine.build_document(f.org, &resolved).await.unwrap()
}

fn october() -> DateRange {
    DateRange::new("2026-10-01".parse().unwrap(), "2026-10-31".parse().unwrap()).unwrap()
}

#[tokio::test]
async fn a_custom_report_is_its_templates_sections_metrics_and_breakdowns() {
    let f = fx();
    let config: ReportTemplateConfig = serde_json::from_str(
        r#"{"sections":["top_costs","summary","breakdown"],
            "metrics":["totalCost","avgCostPerRequest","totalTokens"],
            "breakdowns":["team","feature"],"granularity":"week","dateRange":"last_month",
            "includeCharts":false,"chartTypes":[]}"#,
    )
    .unwrap();
    let t = f
        .engine
        .create_template(
            f.org,
            TemplateInput {
                name: "Feature drilldown".into(),
                report_type: Some(ReportType::Custom),
                config,
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    let doc = document(
        &f,
        GenerateReportRequest {
            template_id: Some(t.id),
            date_range: Some(october()),
            format: ReportFormat::Json,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(doc.report_type, ReportType::Custom);
    assert_eq!(
        doc.sections,
        [
            ReportSection::TopCosts,
            ReportSection::Summary,
            ReportSection::Breakdown
        ]
    );
    let dims: Vec<_> = doc.breakdowns.iter().map(|b| b.dimension.clone()).collect();
    assert_eq!(dims, [Dimension::Team, Dimension::Feature]);
    assert!(doc.trend.is_none() || !doc.sections.contains(&ReportSection::Trend));
    // The summary rows of the CSV are exactly the template's metrics.
    let csv = String::from_utf8(CsvRenderer::default().render_bytes(&doc).unwrap()).unwrap();
    let summary: Vec<&str> = csv
        .lines()
        .filter(|l| l.starts_with("Summary,"))
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    assert_eq!(
        summary,
        ["Total cost", "Average cost per request", "Tokens"]
    );
    // The specification's runScheduledReport sends type "custom" with any
    // template: the template decides.
    let team = tokentra_reports::engine::templates::system_template(ReportType::Team);
    let r = f
        .engine
        .generate(
            f.org,
            GenerateReportRequest {
                template_id: Some(team.id),
                report_type: Some(ReportType::Custom),
                date_range: Some(october()),
                format: ReportFormat::Csv,
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, ReportStatus::Completed);
    // And JSON carries them for any other renderer.
    let json: serde_json::Value =
        serde_json::from_slice(&JsonRenderer.render(&doc).unwrap().artifact.bytes).unwrap();
    assert_eq!(
        json["metrics"],
        serde_json::json!(["totalCost", "avgCostPerRequest", "totalTokens"])
    );
}

#[cfg(feature = "html")]
#[tokio::test]
async fn executive_cards_follow_the_specifications_metrics() {
    use tokentra_reports::render::HtmlRenderer;
    let f = fx();
    let doc = document(
        &f,
        GenerateReportRequest {
            report_type: Some(ReportType::Executive),
            date_range: Some(october()),
            format: ReportFormat::Json,
            ..Default::default()
        },
    )
    .await;
    let html =
        String::from_utf8(HtmlRenderer::default().render(&doc).unwrap().artifact.bytes).unwrap();
    // totalCost, requestCount, costChange, cacheHitRate: in that order, no tokens card.
    let at = |label: &str| html.find(label).unwrap_or_else(|| panic!("{label}"));
    assert!(at("TOTAL COST") < at("REQUESTS"));
    assert!(at("REQUESTS") < at("VS PREVIOUS PERIOD"));
    assert!(at("VS PREVIOUS PERIOD") < at("CACHE HIT RATE"));
    assert!(!html.contains(">TOKENS<"));
}

#[tokio::test]
async fn a_schedule_runs_now_without_moving_its_cadence() {
    let f = fx();
    let s = f
        .engine
        .create_schedule(
            f.org,
            ScheduleInput {
                name: "Monthly exec".into(),
                description: None,
                template_id: None,
                report_type: Some(ReportType::Executive),
                frequency: Frequency::Monthly,
                schedule_config: ScheduleConfig::default(),
                filters: ReportFilters::default(),
                recipients: vec![ReportRecipient::email("cfo@example.com")],
                format: ReportFormat::Csv,
                is_active: true,
            },
            None,
        )
        .await
        .unwrap();
    let result = f.engine.run_schedule_now(f.org, s.id, None).await.unwrap();
    assert_eq!(result.status, ReportStatus::Completed);
    let after = f.store.get_schedule(f.org, s.id).await.unwrap();
    assert_eq!(after.next_run_at, s.next_run_at);
    assert_eq!(after.run_count, 1);
    assert_eq!(after.last_status, Some(ReportStatus::Completed));
    let report = f.store.get_report(f.org, result.report_id).await.unwrap();
    assert_eq!(report.scheduled_report_id, Some(s.id));
    assert_eq!(report.schedule_slot, None);
    // The last complete month before now (2 November).
    assert_eq!(report.date_range, october());
    assert_eq!(f.deliverer.sent().len(), 1);
    // Again: another report, another count, still the same next slot.
    let again = f.engine.run_schedule_now(f.org, s.id, None).await.unwrap();
    assert_ne!(again.report_id, result.report_id);
    let after = f.store.get_schedule(f.org, s.id).await.unwrap();
    assert_eq!(after.run_count, 2);
    assert_eq!(after.next_run_at, s.next_run_at);
    // Another organization cannot.
    assert!(matches!(
        f.engine
            .run_schedule_now(OrganizationId::new(), s.id, None)
            .await,
        Err(tokentra_reports::Error::NotFound { .. })
    ));
}

/// A deliverer that looks at the report's stored delivery state while it sends.
#[derive(Clone)]
struct Peek {
    store: MemoryStore,
    seen: Arc<Mutex<Vec<DeliveryState>>>,
}

#[async_trait::async_trait]
impl Deliverer for Peek {
    fn supports(&self, _: RecipientKind) -> bool {
        true
    }
    async fn deliver(&self, d: &Delivery) -> tokentra_reports::Result<DeliveryReceipt> {
        let r = self
            .store
            .get_report(d.organization_id, d.report_id.unwrap())
            .await?;
        let mine = r
            .distribution_status
            .iter()
            .find(|s| s.recipient == d.recipient)
            .map(|s| s.status);
        self.seen.lock().unwrap().extend(mine);
        Ok(DeliveryReceipt { message_id: None })
    }
}

#[tokio::test]
async fn a_recipient_is_pending_before_the_send_and_sent_after() {
    let f = fx();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let engine = Engine::builder()
        .cost_source(f.engine.costs().clone())
        .store(Arc::new(f.store.clone()))
        .deliverer(Arc::new(Peek {
            store: f.store.clone(),
            seen: seen.clone(),
        }))
        .clock(f.engine.clock().clone())
        .build()
        .unwrap();
    let result = engine
        .generate(
            f.org,
            GenerateReportRequest {
                report_type: Some(ReportType::Team),
                date_range: Some(october()),
                format: ReportFormat::Json,
                recipients: vec![
                    ReportRecipient::email("a@example.com"),
                    ReportRecipient {
                        kind: RecipientKind::Webhook,
                        address: "https://hooks.example.com/x".into(),
                        name: None,
                    },
                ],
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [DeliveryState::Pending, DeliveryState::Pending]
    );
    let r = f.store.get_report(f.org, result.report_id).await.unwrap();
    assert!(r
        .distribution_status
        .iter()
        .all(|s| s.status == DeliveryState::Sent));
    let json = serde_json::to_value(&r.distribution_status).unwrap();
    assert_eq!(json[1]["channel"], "webhook");
    assert_eq!(json[1]["recipient"], "https://hooks.example.com/x");
}

#[tokio::test]
async fn an_inactive_user_gets_no_digest() {
    let f = fx();
    for (active, email) in [(true, "on@example.com"), (false, "off@example.com")] {
        let mut p = EmailDigestPreferences::new(
            f.org,
            UserId::new(),
            email,
            Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap(),
        );
        p.is_active = active;
        f.store.upsert_digest_preferences(f.org, &p).await.unwrap();
    }
    let candidates = f.store.digest_candidates().await.unwrap();
    assert_eq!(candidates.len(), 1);
    assert_eq!(candidates[0].email.as_deref(), Some("on@example.com"));
    let stats = f.engine.process_email_digests().await.unwrap();
    assert_eq!(stats.sent, 1);
    let sent = f.deliverer.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].recipient.address, "on@example.com");
    // The digest names the top provider and the top model.
    let text = &sent[0].text_body;
    assert!(text.contains("Top provider"), "{text}");
    assert!(text.to_lowercase().contains("top model"), "{text}");
}

#[test]
fn chargeback_periods_of_every_frequency() {
    use ChargebackFrequency::*;
    let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    let r = |a: &str, b: &str| DateRange::new(d(a), d(b)).unwrap();
    assert_eq!(
        chargeback_period(Daily, d("2026-11-04")),
        r("2026-11-04", "2026-11-04")
    );
    // Weeks run Monday to Sunday.
    assert_eq!(
        chargeback_period(Weekly, d("2026-11-04")),
        r("2026-11-02", "2026-11-08")
    );
    assert_eq!(
        chargeback_period(Weekly, d("2026-11-08")),
        r("2026-11-02", "2026-11-08")
    );
    assert_eq!(
        closed_period(Daily, d("2026-11-04")),
        Some(r("2026-11-03", "2026-11-03"))
    );
    assert_eq!(
        closed_period(Weekly, d("2026-11-09")),
        Some(r("2026-11-02", "2026-11-08"))
    );
    assert_eq!(closed_period(Weekly, d("2026-11-10")), None);
    assert_eq!(
        closed_period(Monthly, d("2026-11-01")),
        Some(r("2026-10-01", "2026-10-31"))
    );
    assert_eq!(
        closed_period(Quarterly, d("2026-10-01")),
        Some(r("2026-07-01", "2026-09-30"))
    );
}

#[test]
fn store_traits_are_in_scope() {
    // ReportStore is the sum of the per-aggregate stores used above.
    fn is_store<T: ReportStore>(_: &T) {}
    is_store(&MemoryStore::new());
}
