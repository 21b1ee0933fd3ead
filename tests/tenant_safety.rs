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

fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut p = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    p.extend_from_slice(&width.to_be_bytes());
    p.extend_from_slice(&height.to_be_bytes());
    p.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    p
}

fn logo(format: LogoFormat, data: Vec<u8>) -> ReportBranding {
    ReportBranding {
        logo: Some(Logo { format, data }),
        ..Default::default()
    }
}

/// Logos are checked by what they are: decompression and pixel bombs,
/// external references and entity tricks are refused before any render.
#[test]
fn logo_bombs_and_external_references_are_refused() {
    let refused = |b: ReportBranding, why: &str| {
        let e = b.validate().unwrap_err();
        assert!(
            e.field().is_some_and(|f| f.starts_with("logo.")),
            "{why}: {e}"
        );
    };
    // A PNG whose header declares 30000x30000 pixels.
    refused(
        logo(LogoFormat::Png, png_header(30_000, 30_000)),
        "pixel bomb",
    );
    refused(logo(LogoFormat::Png, png_header(4097, 10)), "too wide");
    assert!(logo(LogoFormat::Png, png_header(512, 128))
        .validate()
        .is_ok());
    // A gzip-compressed SVG (svgz) under 1 MiB that expands without bound.
    let mut svgz = vec![0x1f, 0x8b, 8, 0];
    svgz.extend(std::iter::repeat_n(0u8, 1000));
    refused(logo(LogoFormat::Svg, svgz), "svgz");
    // A PNG declared as an SVG, and the other way round.
    refused(logo(LogoFormat::Svg, png_header(10, 10)), "png as svg");
    refused(
        logo(
            LogoFormat::Png,
            b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec(),
        ),
        "svg as png",
    );
    let svg = |body: &str| {
        logo(
            LogoFormat::Svg,
            format!(
                "<svg xmlns='http://www.w3.org/2000/svg' xmlns:xlink='http://www.w3.org/1999/xlink' \
                 width='120' height='40'>{body}</svg>"
            )
            .into_bytes(),
        )
    };
    for (body, why) in [
        (
            "<image href='https://evil.example/x.png'/>",
            "external image",
        ),
        (
            "<use xlink:href='https://evil.example/s.svg#a'/>",
            "external use",
        ),
        ("<script>alert(1)</script>", "script"),
        ("<foreignObject><p>x</p></foreignObject>", "foreign object"),
        (
            "<rect fill='url(https://evil.example/p)'/>",
            "external paint",
        ),
        (
            "<style>@import url(https://evil.example/a.css);</style>",
            "css import",
        ),
        ("<rect onload='x()'/>", "event handler"),
    ] {
        refused(svg(body), why);
    }
    // Entity expansion (billion laughs) never reaches a parser without limits.
    let laughs = "<?xml version='1.0'?><!DOCTYPE svg [<!ENTITY a 'aaaaaaaaaa'>\
        <!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>]><svg xmlns='http://www.w3.org/2000/svg'>&b;</svg>";
    refused(
        logo(LogoFormat::Svg, laughs.as_bytes().to_vec()),
        "entities",
    );
    let huge = format!(
        "<svg xmlns='http://www.w3.org/2000/svg'>{}</svg>",
        "<g/>".repeat(30_000)
    );
    refused(logo(LogoFormat::Svg, huge.into_bytes()), "too many nodes");
    refused(
        logo(
            LogoFormat::Svg,
            b"<svg xmlns='http://www.w3.org/2000/svg' width='100000' height='10'/>".to_vec(),
        ),
        "huge width",
    );
    // A plain logo with internal references passes.
    assert!(svg(
        "<defs><linearGradient id='g'/></defs><rect width='120' height='40' fill='url(#g)'/>\
         <use href='#g'/><style>rect { fill: #4F46E5 }</style>"
    )
    .validate()
    .is_ok());
    // Through the specification's JSON: a data URI logo in a template.
    let mut t: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/spec/report_template.json"
        ))
        .unwrap(),
    )
    .unwrap();
    use base64::Engine as _;
    t["branding"]["logo"] = serde_json::json!(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png_header(30_000, 30_000))
    ));
    let e = from_json_validated::<ReportTemplate>(&t.to_string()).unwrap_err();
    assert_eq!(e.field(), Some("branding.logo.data"), "{e}");
}

/// Lists are bounded before anything is stored: the error names the list.
#[test]
fn list_lengths_are_capped_and_named() {
    let many = |n: usize| -> Vec<ReportRecipient> {
        (0..n)
            .map(|i| ReportRecipient::email(format!("u{i}@example.com")))
            .collect()
    };
    let mut r = GenerateReportRequest {
        report_type: Some(ReportType::Team),
        recipients: many(MAX_RECIPIENTS),
        ..Default::default()
    };
    assert!(r.validate().is_ok());
    r.recipients = many(MAX_RECIPIENTS + 1);
    assert_eq!(r.validate().unwrap_err().field(), Some("recipients"));
    r.recipients.clear();
    r.filters.teams = (0..=MAX_FILTER_VALUES).map(|i| format!("t{i}")).collect();
    assert_eq!(r.validate().unwrap_err().field(), Some("filters.teams"));
    r.filters.teams = vec!["x".repeat(MAX_FILTER_VALUE_CHARS + 1)];
    assert_eq!(r.validate().unwrap_err().field(), Some("filters.teams[0]"));

    let mut c = ReportTemplateConfig {
        breakdowns: (0..=MAX_BREAKDOWNS)
            .map(|i| Dimension::Tag(format!("k{i}")))
            .collect(),
        ..Default::default()
    };
    assert_eq!(c.validate().unwrap_err().field(), Some("breakdowns"));
    c.breakdowns = vec![Dimension::Team, Dimension::Team];
    assert_eq!(c.validate().unwrap_err().field(), Some("breakdowns[1]"));

    let mut config: ChargebackConfiguration = from_json(
        r#"{"id":"40323701-c96c-4678-bd5c-a345dda8291b","orgId":"0b7c5a8e-2f43-4c1e-9d2a-6a1f3e5b7c90",
            "name":"Big","allocationBasis":"team"}"#,
    )
    .unwrap();
    config.allocation_rules = (0..=MAX_ALLOCATION_RULES)
        .map(|i| AllocationRule {
            source: format!("s{i}"),
            target: Some("t".into()),
            ..Default::default()
        })
        .collect();
    assert_eq!(
        config.validate().unwrap_err().field(),
        Some("allocationRules")
    );
    config.allocation_rules.clear();
    config.distribution_list = many(MAX_RECIPIENTS + 1);
    assert_eq!(
        config.validate().unwrap_err().field(),
        Some("distributionList")
    );
}

/// One schedule that cannot be handled (a row stored with an impossible
/// day of week) does not stop the due schedules of other organizations; its
/// error is recorded where the host sees it.
#[tokio::test]
async fn one_broken_schedule_does_not_stop_run_due() {
    use tokentra_reports::engine::schedules::ScheduleInput;
    use tokentra_reports::ports::ScheduleStore;
    let store = MemoryStore::new();
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap());
    let e = Engine::builder()
        .cost_source(Arc::new(MemoryCostSource::new()))
        .store(Arc::new(store.clone()))
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let input = |name: &str| ScheduleInput {
        name: name.into(),
        description: None,
        template_id: None,
        report_type: Some(ReportType::Team),
        frequency: Frequency::Weekly,
        schedule_config: ScheduleConfig::default(),
        filters: ReportFilters::default(),
        recipients: vec![],
        format: ReportFormat::Json,
        is_active: true,
    };
    let (bad_org, good_org) = (OrganizationId::new(), OrganizationId::new());
    let mut bad = e
        .create_schedule(bad_org, input("bad"), None)
        .await
        .unwrap();
    let good = e
        .create_schedule(good_org, input("good"), None)
        .await
        .unwrap();
    // Corrupt the stored row behind the engine's back.
    bad.schedule_config.day_of_week = 9;
    store.update_schedule(bad_org, &bad).await.unwrap();
    clock.advance(chrono::Duration::days(8));
    let stats = e.run_due().await.unwrap();
    assert_eq!(stats.succeeded, 1, "{stats:?}");
    assert_eq!(stats.errors, 1, "{stats:?}");
    let good_after = store.get_schedule(good_org, good.id).await.unwrap();
    assert_eq!(good_after.run_count, 1);
    let bad_after = store.get_schedule(bad_org, bad.id).await.unwrap();
    assert!(bad_after.last_error.is_some(), "{bad_after:?}");
}

/// Collects tracing events as text.
#[derive(Clone, Default)]
struct Capture(Arc<std::sync::Mutex<Vec<String>>>);

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut f = Fields(format!("span {} ", span.metadata().name()));
        span.record(&mut f);
        self.0.lock().unwrap().push(f.0);
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut f = Fields(format!("{} ", event.metadata().level()));
        event.record(&mut f);
        self.0.lock().unwrap().push(f.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// A failure the worker used to discard is an event naming the
/// organization and user (never the address), the jobs' spans carry their
/// names, and the worker's health shows each job's last tick.
#[tokio::test]
async fn failures_are_traced_and_the_worker_reports_its_health() {
    use tokentra_reports::backends::memory::RecordingDeliverer;
    use tokentra_reports::engine::jobs::{Worker, WorkerConfig, WorkerStats};
    use tokentra_reports::ports::DigestStore;
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let store = MemoryStore::new();
    let bad = OrganizationId::new();
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 2, 9, 30, 0).unwrap());
    let e = Engine::builder()
        .cost_source(Arc::new(Poisoned {
            inner: MemoryCostSource::new(),
            bad,
        }))
        .store(Arc::new(store.clone()))
        .deliverer(Arc::new(RecordingDeliverer::new()))
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let p = EmailDigestPreferences::new(
        bad,
        UserId::new(),
        "secret-person@example.com",
        Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap(),
    );
    store.upsert_digest_preferences(bad, &p).await.unwrap();
    let worker = Worker::new(e, WorkerConfig::default()).unwrap();
    assert_eq!(worker.health().digests.last_tick, None);
    let mut stats = WorkerStats::default();
    worker.tick_all(&mut stats).await;

    let events = capture.0.lock().unwrap().join("\n");
    let failure = events
        .lines()
        .find(|l| {
            l.contains("digest could not be built") || l.contains("digest data freshness unknown")
        })
        .unwrap_or_else(|| panic!("no failure event in:\n{events}"));
    assert!(failure.starts_with("WARN"), "{failure}");
    assert!(failure.contains(&bad.to_string()), "{failure}");
    assert!(failure.contains(&p.user_id.to_string()), "{failure}");
    assert!(!events.contains("secret-person"), "{events}");
    assert!(events.contains("span job job=\"digests\""), "{events}");

    let health = worker.health();
    for job in [
        &health.scheduled_reports,
        &health.digests,
        &health.chargebacks,
        &health.cleanup,
    ] {
        assert_eq!(job.last_tick, Some(clock.now()));
        assert!(!job.last_failed);
    }
    assert_eq!(worker.health_handle().snapshot(), health);
}

/// An unreadable row (a value written by hand, or by a newer version) of
/// one organization never stops the jobs of the others: `run_due`, the
/// digests and the periodic chargebacks skip it with an error event.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn unreadable_rows_do_not_stop_the_jobs() {
    use tokentra_reports::backends::memory::RecordingDeliverer;
    use tokentra_reports::backends::sqlite::SqliteStore;
    use tokentra_reports::engine::schedules::ScheduleInput;
    use tokentra_reports::ports::{DigestStore, ScheduleStore};
    let store = SqliteStore::memory().await.unwrap();
    store.migrate().await.unwrap();
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap());
    let deliverer = RecordingDeliverer::new();
    let e = Engine::builder()
        .cost_source(Arc::new(MemoryCostSource::new()))
        .store(Arc::new(store.clone()))
        .clock(Arc::new(clock.clone()))
        .deliverer(Arc::new(deliverer.clone()))
        .build()
        .unwrap();
    let input = |name: &str| ScheduleInput {
        name: name.into(),
        description: None,
        template_id: None,
        report_type: Some(ReportType::Team),
        frequency: Frequency::Weekly,
        schedule_config: ScheduleConfig::default(),
        filters: ReportFilters::default(),
        recipients: vec![],
        format: ReportFormat::Json,
        is_active: true,
    };
    let orgs = [
        OrganizationId::new(),
        OrganizationId::new(),
        OrganizationId::new(),
    ];
    let mut schedules = Vec::new();
    for (i, org) in orgs.iter().enumerate() {
        schedules.push(
            e.create_schedule(*org, input(&format!("s{i}")), None)
                .await
                .unwrap(),
        );
        let p = EmailDigestPreferences::new(
            *org,
            UserId::new(),
            format!("u{i}@example.com"),
            Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap(),
        );
        store.upsert_digest_preferences(*org, &p).await.unwrap();
    }
    // The middle organization's rows hold values this version cannot read.
    sqlx::query("UPDATE scheduled_reports SET frequency = 'fortnightly' WHERE id = ?")
        .bind(schedules[1].id.to_string())
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE email_digest_preferences SET timezone = 'Mars/Olympus_Mons' WHERE organization_id = ?")
        .bind(orgs[1].to_string())
        .execute(store.pool())
        .await
        .unwrap();
    assert!(store.get_schedule(orgs[1], schedules[1].id).await.is_err());

    clock.advance(chrono::Duration::days(8));
    let stats = e.run_due().await.unwrap();
    assert_eq!(stats.succeeded, 2, "{stats:?}");
    for i in [0, 2] {
        let s = store.get_schedule(orgs[i], schedules[i].id).await.unwrap();
        assert_eq!(s.run_count, 1);
    }
    clock.set(Utc.with_ymd_and_hms(2026, 11, 10, 9, 30, 0).unwrap());
    let digests = e.process_email_digests().await.unwrap();
    assert_eq!(digests.sent, 2, "{digests:?}");
}

/// Configuration durations far out of range are refused by name (each
/// `now + duration` would overflow chrono), not a panic on every call.
#[test]
fn huge_engine_durations_are_refused_by_name() {
    use tokentra_reports::engine::EngineConfig;
    let huge = chrono::Duration::days(100_000_000);
    type Set = fn(&mut EngineConfig, chrono::Duration);
    let cases: [(&str, Set); 5] = [
        ("lease", |c, d| c.lease = d),
        ("reportExpiry", |c, d| c.report_expiry = d),
        ("linkTtl", |c, d| c.link_ttl = d),
        ("stuckAfter", |c, d| c.stuck_after = d),
        ("deliveryBudget", |c, d| c.delivery_budget = d),
    ];
    for (field, set) in cases {
        let mut config = EngineConfig::default();
        set(&mut config, huge);
        let e = Engine::builder()
            .cost_source(Arc::new(MemoryCostSource::new()))
            .store(Arc::new(MemoryStore::new()))
            .config(config)
            .build()
            .unwrap_err();
        assert_eq!(e.field(), Some(field), "{e}");
    }
    for bad in ["javascript:alert(1)", "/dashboard", "ftp://example.com/x"] {
        let e = Engine::builder()
            .cost_source(Arc::new(MemoryCostSource::new()))
            .store(Arc::new(MemoryStore::new()))
            .config(EngineConfig {
                dashboard_url: Some(bad.into()),
                ..EngineConfig::default()
            })
            .build()
            .unwrap_err();
        assert_eq!(e.field(), Some("dashboardUrl"), "{bad}: {e}");
    }
}

/// Dates at the ends of the calendar are errors or clamped, never panics,
/// in the public helpers that take any date.
#[tokio::test]
async fn calendar_edges_in_public_helpers_do_not_panic() {
    use chrono::NaiveDate;
    use tokentra_reports::core::aggregate::aggregate_rows;
    use tokentra_reports::engine::chargeback::chargeback_period;
    for d in [NaiveDate::MIN, NaiveDate::MAX] {
        let p = chargeback_period(ChargebackFrequency::Weekly, d);
        assert!(p.start <= p.end);
    }
    let first = NaiveDate::MIN;
    let row = CostRow {
        date: first,
        provider: Some("openai".into()),
        cost: rust_decimal::Decimal::ONE,
        requests: u64::MAX,
        ..Default::default()
    };
    let range = DateRange::new(first, first.succ_opt().unwrap()).unwrap();
    let q = CostQuery::total(range).bucketed(Granularity::Week);
    let buckets = aggregate_rows([&row, &row], &q, Currency::USD).unwrap();
    assert_eq!(buckets.len(), 1);
    assert_eq!(buckets[0].requests, u64::MAX, "saturates");

    // A digest of a period at the start of the calendar is refused by name.
    let e = engine(&MemoryStore::new());
    let prefs = EmailDigestPreferences::new(
        OrganizationId::new(),
        UserId::new(),
        "u@example.com",
        Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap(),
    );
    let err = e
        .digest_document(&prefs, DateRange::day(first.succ_opt().unwrap()))
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("period"), "{err}");
}

/// Fails every cost query of one organization.
#[derive(Debug)]
struct PoisonedOrg {
    inner: MemoryCostSource,
    bad: OrganizationId,
}

#[async_trait::async_trait]
impl tokentra_reports::ports::CostSource for PoisonedOrg {
    async fn aggregate(
        &self,
        org: OrganizationId,
        query: &CostQuery,
    ) -> tokentra_reports::Result<Vec<CostBucket>> {
        if org == self.bad {
            return Err(tokentra_reports::Error::backend(
                "warehouse",
                false,
                "permission denied for this tenant",
            ));
        }
        self.inner.aggregate(org, query).await
    }
}

/// One organization whose data cannot be read gets a failure entry; the
/// periodic chargebacks of the others are made.
#[tokio::test]
async fn one_poisoned_organization_does_not_stop_periodic_chargebacks() {
    use tokentra_reports::ports::ChargebackStore;
    let store = MemoryStore::new();
    let orgs = [
        OrganizationId::new(),
        OrganizationId::new(),
        OrganizationId::new(),
    ];
    let e = Engine::builder()
        .cost_source(Arc::new(PoisonedOrg {
            inner: MemoryCostSource::new(),
            bad: orgs[1],
        }))
        .store(Arc::new(store.clone()))
        .clock(Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 2, 6, 0, 0).unwrap(),
        )))
        .build()
        .unwrap();
    for org in orgs {
        let c: ChargebackConfiguration = from_json(&format!(
            r#"{{"id":"{}","orgId":"{org}","name":"Teams","allocationBasis":"team",
                "allocationRules":[],"createdAt":"2026-01-01T00:00:00Z",
                "updatedAt":"2026-01-01T00:00:00Z"}}"#,
            ChargebackConfigId::new()
        ))
        .unwrap();
        store.create_chargeback_config(org, &c).await.unwrap();
    }
    let run = e.process_periodic_chargebacks().await.unwrap();
    assert_eq!(run.created.len(), 2, "{run:?}");
    assert_eq!(run.failed.len(), 1);
    assert_eq!(run.failed[0].organization_id, orgs[1]);
    assert!(run.failed[0]
        .error
        .to_string()
        .contains("permission denied"));
}

/// A deliverer that panics for one organization (a host's bug).
#[derive(Debug)]
struct PanicsFor(
    OrganizationId,
    tokentra_reports::backends::memory::RecordingDeliverer,
);

#[async_trait::async_trait]
impl tokentra_reports::ports::Deliverer for PanicsFor {
    fn supports(&self, _: RecipientKind) -> bool {
        true
    }
    async fn deliver(
        &self,
        d: &tokentra_reports::ports::Delivery,
    ) -> tokentra_reports::Result<tokentra_reports::ports::DeliveryReceipt> {
        if d.organization_id == self.0 {
            panic!("deliverer bug");
        }
        self.1.deliver(d).await
    }
}

/// A deliverer panicking for one organization's report fails that
/// recipient (not retried: a bug); the retry job goes on with the others.
#[tokio::test]
async fn a_panicking_deliverer_fails_one_recipient_not_the_job() {
    use tokentra_reports::backends::memory::RecordingDeliverer;
    let store = MemoryStore::new();
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap());
    let recorder = RecordingDeliverer::new();
    let bad = OrganizationId::new();
    let make = |deliverer: Arc<dyn tokentra_reports::ports::Deliverer>| {
        Engine::builder()
            .cost_source(Arc::new(MemoryCostSource::new()))
            .store(Arc::new(store.clone()))
            .clock(Arc::new(clock.clone()))
            .deliverer(deliverer)
            .build()
            .unwrap()
    };
    // Reports made while delivery was down (a deliverer that always fails
    // retryably), then the job runs with the panicking one.
    let down = RecordingDeliverer::new();
    down.fail_for("a@example.com", true);
    let first = make(Arc::new(down));
    let mut ids = Vec::new();
    for org in [OrganizationId::new(), bad, OrganizationId::new()] {
        let r = first
            .generate(
                org,
                GenerateReportRequest {
                    report_type: Some(ReportType::Team),
                    date_preset: Some(DateRangePreset::LastMonth),
                    format: ReportFormat::Json,
                    recipients: vec![ReportRecipient::email("a@example.com")],
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap();
        ids.push((org, r.report_id));
    }
    clock.advance(chrono::Duration::minutes(1));
    let e = make(Arc::new(PanicsFor(bad, recorder.clone())));
    let s = e.retry_failed_deliveries().await.unwrap();
    assert_eq!((s.reports, s.sent, s.failed), (3, 2, 1), "{s:?}");
    assert_eq!(recorder.sent().len(), 2);
    let r = store.get_report(bad, ids[1].1).await.unwrap();
    let d = &r.distribution_status[0];
    assert_eq!(d.status, DeliveryState::Failed);
    assert!(d.error.as_deref().unwrap().contains("deliverer bug"));
    assert_eq!(d.next_attempt_at, None, "a bug is not retried");
}
