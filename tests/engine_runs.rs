//! Engine: generation lifecycle, scheduled runs (exactly once, catch-up,
//! failures, crashed workers) and digests, on the in-memory backends with a
//! manual clock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use tokentra_reports::backends::file::read_cost_rows_csv;
use tokentra_reports::backends::memory::{
    ManualClock, MemoryCostSource, MemoryStore, RecordingDeliverer,
};
use tokentra_reports::engine::schedules::ScheduleInput;
use tokentra_reports::engine::{CatchUpPolicy, Engine, EngineConfig};
use tokentra_reports::model::*;
use tokentra_reports::ports::{
    Clock, GeneratedReportStore, RenderedReport, Renderer, ReportListQuery, ScheduleStore,
};
use tokentra_reports::render::JsonRenderer;
use tokentra_reports::Error;

/// A renderer that fails while `broken` is set.
#[derive(Debug, Default)]
struct Flaky {
    broken: AtomicBool,
}

impl Renderer for Flaky {
    fn format(&self) -> ReportFormat {
        ReportFormat::Csv
    }
    fn render(&self, doc: &ReportDocument) -> tokentra_reports::Result<RenderedReport> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(Error::Render {
                format: "csv",
                message: "disk on fire".into(),
            });
        }
        let mut r = JsonRenderer.render(doc)?;
        r.artifact.file_name = "x.csv".into();
        Ok(r)
    }
}

struct Fx {
    engine: Engine,
    store: MemoryStore,
    clock: ManualClock,
    deliverer: RecordingDeliverer,
    flaky: Arc<Flaky>,
    org: OrganizationId,
}

fn demo_costs(org: OrganizationId) -> MemoryCostSource {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/llm_usage_daily.csv");
    let rows = read_cost_rows_csv(std::fs::File::open(path).unwrap(), "demo").unwrap();
    MemoryCostSource::with_rows(org, rows)
}

fn engine_on(
    store: &MemoryStore,
    clock: &ManualClock,
    costs: &MemoryCostSource,
    d: &RecordingDeliverer,
    flaky: &Arc<Flaky>,
    config: EngineConfig,
) -> Engine {
    Engine::builder()
        .cost_source(Arc::new(costs.clone()))
        .store(Arc::new(store.clone()))
        .clock(Arc::new(clock.clone()))
        .deliverer(Arc::new(d.clone()))
        .renderer(flaky.clone())
        .config(config)
        .build()
        .unwrap()
}

fn fx_at(now: DateTime<Utc>, config: EngineConfig) -> Fx {
    let org = OrganizationId::new();
    let store = MemoryStore::new();
    let clock = ManualClock::new(now);
    let deliverer = RecordingDeliverer::new();
    let flaky = Arc::new(Flaky::default());
    let engine = engine_on(&store, &clock, &demo_costs(org), &deliverer, &flaky, config);
    Fx {
        engine,
        store,
        clock,
        deliverer,
        flaky,
        org,
    }
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn weekly_paris(name: &str) -> ScheduleInput {
    ScheduleInput {
        name: name.into(),
        description: None,
        template_id: None,
        report_type: Some(ReportType::Executive),
        frequency: Frequency::Weekly,
        schedule_config: ScheduleConfig {
            time: TimeOfDay::parse("08:00").unwrap(),
            timezone: Timezone::parse("Europe/Paris").unwrap(),
            day_of_week: 1,
            ..Default::default()
        },
        filters: ReportFilters::default(),
        recipients: vec![ReportRecipient::email("cfo@example.com")],
        format: ReportFormat::Json,
        is_active: true,
    }
}

#[tokio::test]
async fn generate_records_the_whole_lifecycle() {
    let f = fx_at(utc(2026, 11, 2, 8, 0), EngineConfig::default());
    let req = GenerateReportRequest {
        report_type: Some(ReportType::Executive),
        date_range: Some(
            DateRange::new("2026-10-01".parse().unwrap(), "2026-10-31".parse().unwrap()).unwrap(),
        ),
        format: ReportFormat::Json,
        recipients: vec![ReportRecipient::email("cfo@example.com")],
        ..Default::default()
    };
    let res = f
        .engine
        .generate(f.org, req, Some(UserId::new()))
        .await
        .unwrap();
    assert_eq!(res.status, ReportStatus::Completed);
    let summary = res.summary.clone().unwrap();
    // October 2026 of the demo data, computed independently with Python's decimal.
    assert_eq!(summary.total_cost.to_string(), "13690.41");
    assert_eq!(summary.top_provider.as_deref(), Some("anthropic"));
    let r = f.engine.get_report(f.org, res.report_id).await.unwrap();
    assert_eq!(r.status, ReportStatus::Completed);
    assert_eq!(r.name, "Executive Summary October 2026");
    assert_eq!(r.expires_at, f.clock.now() + Duration::days(90));
    assert_eq!(r.checksum.as_ref().unwrap().len(), 64);
    let art = f.store.get_artifact(f.org, r.id).await.unwrap();
    assert_eq!(r.file_size, Some(art.bytes.len() as u64));
    let doc: ReportDocument = serde_json::from_slice(&art.bytes).unwrap();
    assert_eq!(doc.summary_data, summary);
    // The executive template's sections (the specification's), each filled.
    assert_eq!(
        doc.sections,
        vec![
            ReportSection::Summary,
            ReportSection::Trend,
            ReportSection::Breakdown,
            ReportSection::Recommendations
        ]
    );
    let dims: Vec<_> = doc.breakdowns.iter().map(|b| b.dimension.clone()).collect();
    assert_eq!(dims, vec![Dimension::Provider, Dimension::ModelFamily]);
    for b in &doc.breakdowns {
        let sum: rust_decimal::Decimal = b.items.iter().map(|i| i.cost).sum();
        assert_eq!(
            sum,
            doc.summary.as_ref().unwrap().total_cost,
            "{:?}",
            b.dimension
        );
    }
    assert_eq!(doc.trend.as_ref().unwrap().points.len(), 31);
    let comparison = doc.summary.as_ref().unwrap().comparison.clone().unwrap();
    assert_eq!(comparison.range.start.to_string(), "2026-08-31");
    // No forecast section in the specification's executive template.
    assert!(doc.forecast.is_none());
    assert_eq!(doc.metrics.len(), 4);
    // Delivered to the request's recipient.
    assert_eq!(f.deliverer.sent().len(), 1);
    assert!(r.distributed_at.is_some());

    // Preset resolution against the clock: last_month on 2 November.
    let res = f
        .engine
        .generate(
            f.org,
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
    let r = f.engine.get_report(f.org, res.report_id).await.unwrap();
    assert_eq!(r.date_range.start.to_string(), "2026-10-01");
    // previous_period: the same number of days (31) ending the day before.
    assert_eq!(r.comparison_range.unwrap().start.to_string(), "2026-08-31");
}

#[tokio::test]
async fn generation_failures_keep_the_request_and_bad_requests_leave_nothing() {
    let f = fx_at(utc(2026, 11, 2, 8, 0), EngineConfig::default());
    f.flaky.broken.store(true, Ordering::SeqCst);
    let req = GenerateReportRequest {
        report_type: Some(ReportType::Team),
        filters: ReportFilters {
            teams: vec!["search".into()],
            ..Default::default()
        },
        format: ReportFormat::Csv,
        ..Default::default()
    };
    let res = f.engine.generate(f.org, req, None).await.unwrap();
    assert_eq!(res.status, ReportStatus::Failed);
    assert!(res.error.as_deref().unwrap().contains("disk on fire"));
    let r = f.engine.get_report(f.org, res.report_id).await.unwrap();
    assert_eq!(r.status, ReportStatus::Failed);
    assert_eq!(r.filters.teams, vec!["search".to_string()]);
    assert!(r.error_message.as_deref().unwrap().contains("disk on fire"));
    assert!(matches!(
        f.store.get_artifact(f.org, r.id).await,
        Err(Error::NotFound { .. })
    ));

    let before = f
        .engine
        .list_reports(f.org, &ReportListQuery::default())
        .await
        .unwrap()
        .reports
        .len();
    // Unknown template, format not built, bad name: errors, no record.
    let e = f
        .engine
        .generate(
            f.org,
            GenerateReportRequest {
                template_id: Some(TemplateId::new()),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    // A format this build lacks (XLSX without the `xlsx` feature).
    #[cfg(not(feature = "xlsx"))]
    {
        let e = f
            .engine
            .generate(
                f.org,
                GenerateReportRequest {
                    report_type: Some(ReportType::Team),
                    format: ReportFormat::Xlsx,
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Unsupported(_)), "{e}");
    }
    let e = f
        .engine
        .generate(
            f.org,
            GenerateReportRequest {
                report_type: Some(ReportType::Team),
                name: Some("".into()),
                format: ReportFormat::Json,
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("name"));
    let e = f
        .engine
        .generate(
            f.org,
            GenerateReportRequest {
                report_type: Some(ReportType::Team),
                date_range: Some(DateRange {
                    start: "2026-10-02".parse().unwrap(),
                    end: "2026-10-01".parse().unwrap(),
                }),
                format: ReportFormat::Json,
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("dateRange.end"));
    let after = f
        .engine
        .list_reports(f.org, &ReportListQuery::default())
        .await
        .unwrap()
        .reports
        .len();
    assert_eq!(before, after);
}

#[tokio::test]
async fn schedules_validate_and_compute_the_next_slot_in_their_zone() {
    // Sunday 1 November 2026, 12:00 UTC.
    let f = fx_at(utc(2026, 11, 1, 12, 0), EngineConfig::default());
    let s = f
        .engine
        .create_schedule(f.org, weekly_paris("Weekly exec"), None)
        .await
        .unwrap();
    // Monday 2 November 08:00 in Paris (CET, UTC+1) = 07:00 UTC.
    assert_eq!(s.next_run_at, Some(utc(2026, 11, 2, 7, 0)));

    let mut bad = weekly_paris("bad");
    bad.schedule_config.day_of_week = 9;
    assert_eq!(
        f.engine
            .create_schedule(f.org, bad, None)
            .await
            .unwrap_err()
            .field(),
        Some("scheduleConfig.dayOfWeek")
    );
    let mut bad = weekly_paris("bad");
    bad.recipients.push(ReportRecipient::email("nope"));
    assert_eq!(
        f.engine
            .create_schedule(f.org, bad, None)
            .await
            .unwrap_err()
            .field(),
        Some("recipients[1].address")
    );
    let mut bad = weekly_paris("bad");
    bad.template_id = Some(TemplateId::new());
    assert_eq!(
        f.engine
            .create_schedule(f.org, bad, None)
            .await
            .unwrap_err()
            .field(),
        Some("templateId")
    );
    #[cfg(not(feature = "xlsx"))]
    {
        let mut bad = weekly_paris("bad");
        bad.format = ReportFormat::Xlsx;
        assert!(matches!(
            f.engine.create_schedule(f.org, bad, None).await,
            Err(Error::Unsupported(_))
        ));
    }

    // Update recomputes; pause and resume.
    let mut daily = weekly_paris("Daily");
    daily.frequency = Frequency::Daily;
    daily.schedule_config.timezone = Timezone::parse("Asia/Kathmandu").unwrap();
    let s2 = f.engine.update_schedule(f.org, s.id, daily).await.unwrap();
    // 08:00 in Kathmandu (UTC+5:45) on 2 November = 02:15 UTC.
    assert_eq!(s2.next_run_at, Some(utc(2026, 11, 2, 2, 15)));
    let p = f
        .engine
        .set_schedule_active(f.org, s.id, false)
        .await
        .unwrap();
    assert!(!p.is_active);
    assert!(f
        .store
        .due_schedules(utc(2030, 1, 1, 0, 0), 10)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn run_due_runs_each_slot_once_even_with_two_engines() {
    let f = fx_at(utc(2026, 11, 1, 12, 0), EngineConfig::default());
    let s = f
        .engine
        .create_schedule(f.org, weekly_paris("Weekly exec"), None)
        .await
        .unwrap();
    let costs = demo_costs(f.org);
    let other = engine_on(
        &f.store,
        &f.clock,
        &costs,
        &f.deliverer,
        &f.flaky,
        EngineConfig::default(),
    );

    // Not due yet.
    assert_eq!(f.engine.run_due().await.unwrap().ran, 0);
    f.clock.set(utc(2026, 11, 2, 7, 0));
    let (a, b) = futures::join!(f.engine.run_due(), other.run_due());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.ran + b.ran, 1, "{a:?} {b:?}");
    assert_eq!(a.succeeded + b.succeeded, 1);
    // Again, later the same day: nothing.
    f.clock.set(utc(2026, 11, 2, 9, 0));
    assert_eq!(
        f.engine.run_due().await.unwrap().ran + other.run_due().await.unwrap().ran,
        0
    );

    let page = f
        .engine
        .list_reports(f.org, &ReportListQuery::default())
        .await
        .unwrap();
    assert_eq!(page.reports.len(), 1);
    let r = &page.reports[0];
    assert_eq!(r.schedule_slot, Some(utc(2026, 11, 2, 7, 0)));
    // Weekly period: the 7 days ending the day before the slot's local date.
    assert_eq!(r.date_range.start.to_string(), "2026-10-26");
    assert_eq!(r.date_range.end.to_string(), "2026-11-01");
    assert_eq!(f.deliverer.sent().len(), 1);
    let s = f.engine.store().get_schedule(f.org, s.id).await.unwrap();
    assert_eq!(s.run_count, 1);
    assert_eq!(s.last_status, Some(ReportStatus::Completed));
    assert_eq!(s.last_run_at, Some(utc(2026, 11, 2, 7, 0)));
    assert_eq!(s.next_run_at, Some(utc(2026, 11, 9, 7, 0)));
}

#[tokio::test]
async fn missed_slots_run_once_and_the_rest_are_skipped() {
    let f = fx_at(utc(2026, 11, 1, 12, 0), EngineConfig::default());
    let s = f
        .engine
        .create_schedule(f.org, weekly_paris("Weekly exec"), None)
        .await
        .unwrap();
    // Down for three weeks: slots on 2, 9 and 16 November passed.
    f.clock.set(utc(2026, 11, 18, 10, 0));
    let st = f.engine.run_due().await.unwrap();
    assert_eq!((st.ran, st.skipped), (1, 2));
    let runs = f.store.list_runs(f.org, s.id).await.unwrap();
    let statuses: Vec<_> = runs.iter().map(|r| (r.slot, r.status)).collect();
    assert_eq!(
        statuses,
        vec![
            (utc(2026, 11, 16, 7, 0), RunStatus::Success),
            (utc(2026, 11, 9, 7, 0), RunStatus::Skipped),
            (utc(2026, 11, 2, 7, 0), RunStatus::Skipped),
        ]
    );
    let s = f.engine.store().get_schedule(f.org, s.id).await.unwrap();
    assert_eq!(s.next_run_at, Some(utc(2026, 11, 23, 7, 0)));

    // ReplayAll runs each.
    let g = fx_at(
        utc(2026, 11, 1, 12, 0),
        EngineConfig {
            catch_up: CatchUpPolicy::ReplayAll,
            ..Default::default()
        },
    );
    g.engine
        .create_schedule(g.org, weekly_paris("Weekly exec"), None)
        .await
        .unwrap();
    g.clock.set(utc(2026, 11, 18, 10, 0));
    let st = g.engine.run_due().await.unwrap();
    assert_eq!((st.ran, st.skipped), (3, 0));
    let ranges: Vec<_> = g
        .engine
        .list_reports(g.org, &ReportListQuery::default())
        .await
        .unwrap()
        .reports
        .iter()
        .map(|r| r.date_range.start.to_string())
        .collect();
    assert_eq!(ranges.len(), 3);
}

#[tokio::test]
async fn failing_schedules_keep_their_cadence_and_pause_after_n_failures() {
    let f = fx_at(
        utc(2026, 11, 1, 12, 0),
        EngineConfig {
            max_consecutive_failures: 2,
            ..Default::default()
        },
    );
    let mut input = weekly_paris("Broken");
    input.format = ReportFormat::Csv;
    let s = f.engine.create_schedule(f.org, input, None).await.unwrap();
    f.flaky.broken.store(true, Ordering::SeqCst);
    f.clock.set(utc(2026, 11, 2, 7, 1));
    let st = f.engine.run_due().await.unwrap();
    assert_eq!((st.ran, st.failed, st.paused), (1, 1, 0));
    let s1 = f.engine.store().get_schedule(f.org, s.id).await.unwrap();
    assert_eq!(s1.last_status, Some(ReportStatus::Failed));
    assert!(s1.last_error.as_deref().unwrap().contains("disk on fire"));
    assert_eq!(s1.next_run_at, Some(utc(2026, 11, 9, 7, 0)));
    assert!(s1.is_active);
    f.clock.set(utc(2026, 11, 9, 7, 1));
    let st = f.engine.run_due().await.unwrap();
    assert_eq!((st.failed, st.paused), (1, 1));
    let s2 = f.engine.store().get_schedule(f.org, s.id).await.unwrap();
    assert!(!s2.is_active);
    assert!(s2
        .paused_reason
        .as_deref()
        .unwrap()
        .contains("2 failed runs in a row"));
    f.clock.set(utc(2026, 11, 16, 7, 1));
    assert_eq!(f.engine.run_due().await.unwrap().ran, 0);
    // Resume after the fix: runs again from the next slot.
    f.flaky.broken.store(false, Ordering::SeqCst);
    let s3 = f
        .engine
        .set_schedule_active(f.org, s.id, true)
        .await
        .unwrap();
    assert_eq!(s3.next_run_at, Some(utc(2026, 11, 23, 7, 0)));
    assert_eq!(s3.consecutive_failures, 0);
}

#[tokio::test]
async fn a_dead_workers_claim_is_taken_over_after_the_lease() {
    let f = fx_at(
        utc(2026, 11, 1, 12, 0),
        EngineConfig {
            worker_id: "survivor".into(),
            ..Default::default()
        },
    );
    let s = f
        .engine
        .create_schedule(f.org, weekly_paris("Weekly exec"), None)
        .await
        .unwrap();
    let slot = utc(2026, 11, 2, 7, 0);
    f.clock.set(slot);
    // A worker claims the slot and dies.
    f.store
        .claim_run(
            f.org,
            s.id,
            slot,
            "dead",
            slot,
            slot + Duration::minutes(10),
        )
        .await
        .unwrap();
    let st = f.engine.run_due().await.unwrap();
    // The held slot is not picked at all.
    assert_eq!((st.ran, st.busy), (0, 0));
    f.clock.set(slot + Duration::minutes(11));
    let st = f.engine.run_due().await.unwrap();
    assert_eq!(st.ran, 1);
    let runs = f.store.list_runs(f.org, s.id).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].worker, "survivor");
    assert_eq!(runs[0].attempts, 2);
    assert_eq!(
        f.engine
            .list_reports(f.org, &ReportListQuery::default())
            .await
            .unwrap()
            .reports
            .len(),
        1
    );
}

#[tokio::test]
async fn digests_go_out_at_the_users_local_time_once() {
    // Monday 2 November 2026, 13:00 UTC = 08:00 in New York (EST).
    let f = fx_at(utc(2026, 11, 2, 13, 0), EngineConfig::default());
    let user = UserId::new();
    let mut p = f
        .engine
        .digest_preferences(f.org, user, "ana@example.com")
        .await
        .unwrap();
    assert_eq!(p.digest_time.to_string(), "09:00");
    p.frequency = DigestFrequency::Daily;
    p.timezone = Timezone::parse("America/New_York").unwrap();
    p.team_filter = vec!["search".into()];
    let p = f.engine.upsert_digest_preferences(f.org, p).await.unwrap();
    let mut bad = p.clone();
    bad.email = Some("nope".into());
    assert_eq!(
        f.engine
            .upsert_digest_preferences(f.org, bad)
            .await
            .unwrap_err()
            .field(),
        Some("email")
    );

    // 08:00 local: the slot of 1 November 09:00 EST (14:00 UTC) was never sent.
    let due = f.engine.due_digests().await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].1.slot, utc(2026, 11, 1, 14, 0));
    f.engine.process_email_digests().await.unwrap();
    assert!(f.engine.due_digests().await.unwrap().is_empty());
    // 1 November's digest is due at 14:00 UTC, but the demo data ends on
    // 31 October: it waits for the data (at most 6 hours).
    f.clock.set(utc(2026, 11, 2, 14, 0));
    let st = f.engine.process_email_digests().await.unwrap();
    assert_eq!((st.sent, st.failed, st.waiting), (0, 0, 1));
    f.clock.set(utc(2026, 11, 2, 20, 0));
    f.deliverer.fail_for("ana@example.com", true);
    let st = f.engine.process_email_digests().await.unwrap();
    assert_eq!((st.sent, st.failed), (0, 1));
    assert_eq!(
        f.engine
            .store()
            .get_digest_preferences(f.org, user)
            .await
            .unwrap()
            .last_sent_at,
        Some(utc(2026, 11, 1, 14, 0)),
        "a failed send does not move lastSentAt"
    );
    f.deliverer.heal("ana@example.com");
    f.clock.set(utc(2026, 11, 2, 20, 15));
    let st = f.engine.process_email_digests().await.unwrap();
    assert_eq!(st.sent, 1);
    let st = f.engine.process_email_digests().await.unwrap();
    assert_eq!(st.sent, 0);
    let sent = f.deliverer.sent();
    assert_eq!(sent.len(), 2);
    assert!(
        sent[1].text_body.contains("2026-11-01") || sent[1].text_body.contains("1 November 2026"),
        "{}",
        sent[1].text_body
    );
    // Sent without the data: it says so, and a missing day is no drop.
    #[cfg(feature = "html")]
    {
        assert!(
            sent[1].text_body.contains("31 October 2026"),
            "{}",
            sent[1].text_body
        );
        assert!(
            sent[1].subject.ends_with("waiting for data"),
            "{}",
            sent[1].subject
        );
        let text = &sent[1].text_body;
        assert!(text.contains("has not arrived yet"), "{text}");
        assert!(
            !text.contains("-100.0%") && !text.contains("$0.00"),
            "{text}"
        );
        assert!(text.contains("Not judged"), "{text}");
    }
    assert_ne!(sent[0].idempotency_key, sent[1].idempotency_key);
}

/// A cost source that never answers queries filtered on team `hang` (it
/// says so once it is asked), and answers the rest.
struct Hangs(MemoryCostSource, Arc<tokio::sync::Notify>);

#[async_trait::async_trait]
impl tokentra_reports::ports::CostSource for Hangs {
    async fn aggregate(
        &self,
        org: OrganizationId,
        query: &CostQuery,
    ) -> tokentra_reports::Result<Vec<CostBucket>> {
        if query.filters.teams.iter().any(|t| t == "hang") {
            self.1.notify_one();
            std::future::pending::<()>().await;
        }
        self.0.aggregate(org, query).await
    }
}

/// `run_due` claims one schedule at a time: while it works on one, the
/// other due schedules stay free for other engines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_due_holds_one_claim_at_a_time() {
    let org = OrganizationId::new();
    let store = MemoryStore::new();
    let clock = ManualClock::new(utc(2026, 11, 1, 12, 0));
    let asked = Arc::new(tokio::sync::Notify::new());
    let engine = Engine::builder()
        .cost_source(Arc::new(Hangs(demo_costs(org), asked.clone())))
        .store(Arc::new(store.clone()))
        .clock(Arc::new(clock.clone()))
        .deliverer(Arc::new(RecordingDeliverer::new()))
        .config(EngineConfig {
            worker_id: "a".into(),
            ..Default::default()
        })
        .build()
        .unwrap();
    // Due in this order: two fine ones, the hanging one, three fine ones.
    let mut all = Vec::new();
    for (i, (time, team)) in [
        ("06:00", None),
        ("06:30", None),
        ("07:00", Some("hang")),
        ("08:00", None),
        ("08:30", None),
        ("09:00", None),
    ]
    .into_iter()
    .enumerate()
    {
        let mut input = weekly_paris(&format!("s{i}"));
        input.schedule_config.time = TimeOfDay::parse(time).unwrap();
        input.filters.teams = team.map(|t| vec![t.to_string()]).unwrap_or_default();
        all.push(engine.create_schedule(org, input, None).await.unwrap());
    }
    clock.set(utc(2026, 11, 2, 12, 0));
    let job = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run_due().await }
    });
    tokio::time::timeout(std::time::Duration::from_secs(30), asked.notified())
        .await
        .expect("the hanging schedule is reached");
    let mut running = Vec::new();
    let mut unclaimed = 0;
    for s in &all {
        match store.list_runs(org, s.id).await.unwrap().first() {
            Some(r) if r.status == RunStatus::Running => running.push(s.name.clone()),
            Some(r) => assert_eq!(r.status, RunStatus::Success, "{}", s.name),
            None => unclaimed += 1,
        }
    }
    assert_eq!(
        running,
        vec!["s2".to_string()],
        "only the slot being worked on is held"
    );
    assert_eq!(unclaimed, 3, "the rest are free for other engines");
    job.abort();
}

/// The forecast report of a month that is over looks ahead: the next month,
/// on its own, fitted on the reported month's daily cost; a month under way
/// is projected to its end.
#[tokio::test]
async fn a_forecast_of_a_closed_month_looks_at_the_next_month() {
    let f = fx_at(utc(2026, 11, 2, 8, 0), EngineConfig::default());
    let org = f.org;
    let doc_of = |range: DateRange| GenerateReportRequest {
        report_type: Some(ReportType::Forecast),
        date_range: Some(range),
        format: ReportFormat::Csv,
        ..Default::default()
    };
    let october =
        DateRange::new("2026-10-01".parse().unwrap(), "2026-10-31".parse().unwrap()).unwrap();
    let r = f.engine.generate(org, doc_of(october), None).await.unwrap();
    assert_eq!(r.status, ReportStatus::Completed);
    // The Flaky renderer writes the document as JSON.
    let art = f.store.get_artifact(org, r.report_id).await.unwrap();
    let doc: ReportDocument = serde_json::from_slice(&art.bytes).unwrap();
    let fc = doc.forecast.expect("a forecast");
    assert_eq!(fc.period_start, Some("2026-11-01".parse().unwrap()));
    assert_eq!(fc.period_end, "2026-11-30".parse().unwrap());
    assert_eq!(fc.actual_to_date, rust_decimal::Decimal::ZERO);
    assert_eq!(fc.points.len(), 30);
    assert!(fc.projected_total > rust_decimal::Decimal::ZERO);
    assert!(fc.lower_bound >= rust_decimal::Decimal::ZERO);
    assert!(fc.lower_bound <= fc.projected_total && fc.projected_total <= fc.upper_bound);

    let mid = DateRange::new("2026-10-01".parse().unwrap(), "2026-10-15".parse().unwrap()).unwrap();
    let r = f.engine.generate(org, doc_of(mid), None).await.unwrap();
    let art = f.store.get_artifact(org, r.report_id).await.unwrap();
    let doc: ReportDocument = serde_json::from_slice(&art.bytes).unwrap();
    let fc = doc.forecast.expect("a forecast");
    assert_eq!(fc.period_start, None);
    assert_eq!(fc.period_end, "2026-10-31".parse().unwrap());
    assert!(fc.actual_to_date > rust_decimal::Decimal::ZERO);
}

/// Anomalies are looked for by provider and by team (the specification's
/// "cost anomalies by provider and team"): a team's spike that another
/// team's drop hides in the provider's total is still found.
#[tokio::test]
async fn anomalies_are_found_by_team_as_well_as_by_provider() {
    let org = OrganizationId::new();
    let mut rows = Vec::new();
    let start: chrono::NaiveDate = "2026-09-15".parse().unwrap();
    for day in 0..47 {
        let date = start + Duration::days(day);
        // 20 a day in all; on 20 October "search" takes 15 and "ads" 5.
        let spike = date == "2026-10-20".parse().unwrap();
        for (team, cost) in [
            ("search", if spike { 15 } else { 10 }),
            ("ads", if spike { 5 } else { 10 }),
        ] {
            rows.push(CostRow {
                date,
                provider: Some("openai".into()),
                team: Some(team.into()),
                cost: rust_decimal::Decimal::from(cost),
                requests: 100,
                ..Default::default()
            });
        }
    }
    let store = MemoryStore::new();
    let flaky = Arc::new(Flaky::default());
    let engine = engine_on(
        &store,
        &ManualClock::new(utc(2026, 11, 2, 8, 0)),
        &MemoryCostSource::with_rows(org, rows),
        &RecordingDeliverer::new(),
        &flaky,
        EngineConfig::default(),
    );
    let october =
        DateRange::new("2026-10-01".parse().unwrap(), "2026-10-31".parse().unwrap()).unwrap();
    let r = engine
        .generate(
            org,
            GenerateReportRequest {
                report_type: Some(ReportType::Anomaly),
                date_range: Some(october),
                format: ReportFormat::Csv,
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    let art = store.get_artifact(org, r.report_id).await.unwrap();
    let doc: ReportDocument = serde_json::from_slice(&art.bytes).unwrap();
    let found: Vec<(String, String)> = doc
        .anomalies
        .iter()
        .map(|a| (a.dimension.to_string(), a.value.clone()))
        .collect();
    assert!(
        found.contains(&("team".into(), "search".into())),
        "{found:?}"
    );
    assert!(found.contains(&("team".into(), "ads".into())), "{found:?}");
    assert!(
        !found.iter().any(|(d, _)| d == "provider"),
        "the provider's total did not move: {found:?}"
    );
    assert!(doc
        .anomalies
        .iter()
        .all(|a| a.date == "2026-10-20".parse().unwrap()));
}

/// Data freshness: the source's data is complete through 29 October. An
/// October report says so, does not compare a partial month with a whole
/// one, finds no "drop" on the two days without data, and forecasts from
/// the complete days; a daily digest waits for its day's data, then after
/// two days goes out saying how far the data goes.
#[tokio::test]
async fn missing_days_are_not_a_drop_and_digests_wait_for_their_data() {
    let org = OrganizationId::new();
    let through: chrono::NaiveDate = "2026-10-29".parse().unwrap();
    let mut rows = Vec::new();
    let mut date: chrono::NaiveDate = "2026-08-01".parse().unwrap();
    while date <= through {
        rows.push(CostRow {
            date,
            provider: Some("openai".into()),
            team: Some("search".into()),
            cost: rust_decimal::Decimal::from(100),
            requests: 1000,
            ..Default::default()
        });
        date = date.succ_opt().unwrap();
    }
    let costs = MemoryCostSource::with_rows(org, rows).with_complete_through(through);
    let store = MemoryStore::new();
    let clock = ManualClock::new(utc(2026, 10, 31, 12, 0));
    let deliverer = RecordingDeliverer::new();
    let flaky = Arc::new(Flaky::default());
    let engine = engine_on(
        &store,
        &clock,
        &costs,
        &deliverer,
        &flaky,
        EngineConfig::default(),
    );
    let october =
        DateRange::new("2026-10-01".parse().unwrap(), "2026-10-31".parse().unwrap()).unwrap();
    let mut template =
        tokentra_reports::engine::templates::system_template(ReportType::Executive).clone();
    template.config.sections = vec![
        ReportSection::Summary,
        ReportSection::Anomalies,
        ReportSection::Forecast,
    ];
    let t = engine
        .create_template(
            org,
            tokentra_reports::engine::templates::TemplateInput {
                name: "Ops".into(),
                description: None,
                report_type: Some(ReportType::Executive),
                config: template.config,
                branding: ReportBranding::default(),
                is_default: false,
            },
            None,
        )
        .await
        .unwrap();
    let r = engine
        .generate(
            org,
            GenerateReportRequest {
                template_id: Some(t.id),
                date_range: Some(october),
                format: ReportFormat::Csv,
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, ReportStatus::Completed, "{:?}", r.error);
    let art = store.get_artifact(org, r.report_id).await.unwrap();
    let doc: ReportDocument = serde_json::from_slice(&art.bytes).unwrap();
    assert_eq!(doc.data_complete_through, Some(through));
    assert!(doc.anomalies.is_empty(), "{:?}", doc.anomalies);
    assert_eq!(doc.comparison_range, None);
    assert_eq!(doc.summary_data.cost_change, None);
    let fc = doc.forecast.expect("a forecast");
    assert_eq!(fc.period_end, "2026-10-31".parse().unwrap());
    // Fitted on the 29 complete days of 100: the two missing days are 100 each.
    assert_eq!(fc.actual_to_date, rust_decimal::Decimal::from(2900));
    assert_eq!(fc.projected_total, rust_decimal::Decimal::from(3100));
    #[cfg(feature = "html")]
    {
        let html = engine
            .generate(
                org,
                GenerateReportRequest {
                    template_id: Some(t.id),
                    date_range: Some(october),
                    format: ReportFormat::Html,
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap();
        let page = store.get_artifact(org, html.report_id).await.unwrap();
        let page = String::from_utf8(page.bytes).unwrap();
        assert!(page.contains("data complete through 29 October 2026"));
    }

    // A daily digest for 30 October (UTC, 09:00) is due on 31 October but
    // its day has no data yet: it waits, and goes out six hours after its
    // slot saying how far the data goes.
    let user = UserId::new();
    let mut p = engine
        .digest_preferences(org, user, "ana@example.com")
        .await
        .unwrap();
    p.frequency = DigestFrequency::Daily;
    p.timezone = Timezone::parse("UTC").unwrap();
    engine.upsert_digest_preferences(org, p).await.unwrap();
    let st = engine.process_email_digests().await.unwrap();
    assert_eq!((st.sent, st.waiting), (0, 1), "{st:?}");
    assert!(deliverer.sent().is_empty());
    clock.set(utc(2026, 10, 31, 14, 59));
    assert_eq!(engine.process_email_digests().await.unwrap().waiting, 1);
    clock.set(utc(2026, 10, 31, 15, 0));
    let st = engine.process_email_digests().await.unwrap();
    assert_eq!(st.sent, 1, "{st:?}");
    let sent = deliverer.sent();
    assert!(
        sent[0]
            .text_body
            .contains("data complete through 29 October 2026"),
        "{}",
        sent[0].text_body
    );
}

#[tokio::test]
async fn without_a_source_watermark_recent_days_without_data_are_not_taken_as_zero() {
    // The demo has usage every day until 31 October.
    let f = fx_at(utc(2026, 11, 2, 9, 0), EngineConfig::default());
    let day = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    assert_eq!(
        f.engine
            .data_watermark(f.org, day("2026-11-01"))
            .await
            .unwrap(),
        Some(day("2026-10-31"))
    );
    // A period whose last day has data, or long past: complete.
    assert_eq!(
        f.engine
            .data_watermark(f.org, day("2026-10-31"))
            .await
            .unwrap(),
        None
    );
    let later = fx_at(utc(2026, 11, 20, 9, 0), EngineConfig::default());
    assert_eq!(
        later
            .engine
            .data_watermark(later.org, day("2026-11-01"))
            .await
            .unwrap(),
        None
    );
    // Usage on a few days only: quiet days are quiet, not missing.
    let org = OrganizationId::new();
    let rows: Vec<CostRow> = serde_json::from_value(serde_json::json!([
        {"date": "2026-10-20", "provider": "openai", "cost": "3.00", "requests": 2},
        {"date": "2026-10-27", "provider": "openai", "cost": "4.00", "requests": 3}
    ]))
    .unwrap();
    let sparse = Engine::builder()
        .cost_source(Arc::new(MemoryCostSource::with_rows(org, rows)))
        .store(Arc::new(MemoryStore::new()))
        .clock(Arc::new(ManualClock::new(utc(2026, 11, 2, 9, 0))))
        .build()
        .unwrap();
    assert_eq!(
        sparse.data_watermark(org, day("2026-11-01")).await.unwrap(),
        None
    );
}
