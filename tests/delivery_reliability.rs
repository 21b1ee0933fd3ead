//! Delivery outside the run lease, retries with backoff, the delivery
//! budget, and fencing of a worker whose run claim was taken over, on the
//! in-memory and SQLite stores.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use tokentra_reports::backends::memory::{
    ManualClock, MemoryCostSource, MemoryStore, RecordingDeliverer,
};
use tokentra_reports::engine::schedules::ScheduleInput;
use tokentra_reports::engine::{Engine, EngineConfig};
use tokentra_reports::model::*;
use tokentra_reports::ports::{
    Clock as _, CostSource, Deliverer, Delivery, DeliveryReceipt, GeneratedReportStore,
    ReportListQuery, ReportStore,
};
use tokentra_reports::{Error, Result};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap()
}

fn request(recipients: &[ReportRecipient]) -> GenerateReportRequest {
    GenerateReportRequest {
        report_type: Some(ReportType::Executive),
        date_preset: Some(DateRangePreset::LastMonth),
        format: ReportFormat::Json,
        recipients: recipients.to_vec(),
        ..Default::default()
    }
}

fn engine_with(
    store: Arc<dyn ReportStore>,
    costs: Arc<dyn CostSource>,
    clock: &ManualClock,
    deliverer: Arc<dyn Deliverer>,
    config: EngineConfig,
) -> Engine {
    Engine::builder()
        .cost_source(costs)
        .store(store)
        .clock(Arc::new(clock.clone()))
        .deliverer(deliverer)
        .config(config)
        .build()
        .unwrap()
}

fn status_of<'a>(r: &'a GeneratedReport, address: &str) -> &'a DistributionStatus {
    r.distribution_status
        .iter()
        .find(|d| d.recipient.address == address)
        .unwrap_or_else(|| panic!("no status for {address}"))
}

fn sends_to(d: &RecordingDeliverer, address: &str) -> usize {
    d.sent()
        .iter()
        .filter(|x| x.recipient.address == address)
        .count()
}

#[tokio::test]
async fn failed_recipients_are_retried_with_backoff_until_they_give_up() {
    let store = MemoryStore::new();
    let clock = ManualClock::new(t0());
    let d = RecordingDeliverer::new();
    let config = EngineConfig {
        delivery_attempts: 3,
        delivery_backoff: Duration::minutes(1),
        ..EngineConfig::default()
    };
    let e = engine_with(
        Arc::new(store.clone()),
        Arc::new(MemoryCostSource::new()),
        &clock,
        Arc::new(d.clone()),
        config,
    );
    let org = OrganizationId::new();
    d.fail_for("flaky@example.com", true);
    let recipients = [
        ReportRecipient::email("ok@example.com"),
        ReportRecipient::email("flaky@example.com"),
    ];
    let r = e.generate(org, request(&recipients), None).await.unwrap();
    assert_eq!(r.status, ReportStatus::Completed);
    let rep = store.get_report(org, r.report_id).await.unwrap();
    assert_eq!(
        status_of(&rep, "ok@example.com").status,
        DeliveryState::Sent
    );
    let flaky = status_of(&rep, "flaky@example.com");
    assert_eq!(flaky.status, DeliveryState::Failed);
    assert_eq!(flaky.attempts, 1);
    assert_eq!(flaky.next_attempt_at, Some(t0() + Duration::minutes(1)));
    assert_eq!(rep.next_delivery_at, flaky.next_attempt_at);
    assert_eq!(rep.distributed_at, None);

    // Not due yet: nothing happens.
    let s = e.retry_failed_deliveries().await.unwrap();
    assert_eq!(s.reports, 0);
    // Due: tried again, fails again, waits four times longer.
    clock.advance(Duration::minutes(1));
    let s = e.retry_failed_deliveries().await.unwrap();
    assert_eq!((s.reports, s.sent, s.failed), (1, 0, 1));
    let rep = store.get_report(org, r.report_id).await.unwrap();
    let flaky = status_of(&rep, "flaky@example.com");
    assert_eq!(flaky.attempts, 2);
    assert_eq!(
        flaky.next_attempt_at,
        Some(clock.now() + Duration::minutes(4))
    );
    // The third and last attempt fails: the engine gives up.
    clock.advance(Duration::minutes(4));
    let s = e.retry_failed_deliveries().await.unwrap();
    assert_eq!((s.reports, s.failed), (1, 1));
    let rep = store.get_report(org, r.report_id).await.unwrap();
    let flaky = status_of(&rep, "flaky@example.com");
    assert_eq!((flaky.attempts, flaky.next_attempt_at), (3, None));
    assert_eq!(rep.next_delivery_at, None, "nothing left to retry");
    clock.advance(Duration::days(1));
    assert_eq!(e.retry_failed_deliveries().await.unwrap().reports, 0);

    // By hand, after the endpoint is fixed: only the one not yet sent.
    d.heal("flaky@example.com");
    let o = e.distribute(org, r.report_id).await.unwrap();
    assert_eq!((o.sent, o.already_sent), (1, 1));
    let rep = store.get_report(org, r.report_id).await.unwrap();
    assert_eq!(rep.distributed_at, Some(clock.now()));
    assert_eq!(sends_to(&d, "ok@example.com"), 1);
    assert_eq!(sends_to(&d, "flaky@example.com"), 1);
    // Sent after the run, the e-mail is still the designed one (HTML with
    // the headline figures), with the subject the first recipient got.
    #[cfg(feature = "html")]
    {
        let sent = d.sent();
        let first = sent
            .iter()
            .find(|x| x.recipient.address == "ok@example.com")
            .unwrap();
        let late = sent
            .iter()
            .find(|x| x.recipient.address == "flaky@example.com")
            .unwrap();
        assert_eq!(late.subject, first.subject);
        let html = late.html_body.as_deref().expect("an HTML body");
        assert!(html.contains("TOTAL COST"), "{html}");
        assert!(late.text_body.contains("Total cost"), "{}", late.text_body);
    }
}

#[tokio::test]
async fn a_non_retryable_failure_is_not_retried_by_the_job() {
    let store = MemoryStore::new();
    let clock = ManualClock::new(t0());
    let d = RecordingDeliverer::new();
    let e = engine_with(
        Arc::new(store.clone()),
        Arc::new(MemoryCostSource::new()),
        &clock,
        Arc::new(d.clone()),
        EngineConfig::default(),
    );
    let org = OrganizationId::new();
    d.fail_for("gone@example.com", false);
    let r = e
        .generate(
            org,
            request(&[ReportRecipient::email("gone@example.com")]),
            None,
        )
        .await
        .unwrap();
    let rep = store.get_report(org, r.report_id).await.unwrap();
    let gone = status_of(&rep, "gone@example.com");
    assert_eq!(
        (gone.status, gone.next_attempt_at),
        (DeliveryState::Failed, None)
    );
    assert!(gone.error.as_deref().unwrap().contains("set to fail"));
    assert_eq!(rep.next_delivery_at, None);
    clock.advance(Duration::days(1));
    assert_eq!(e.retry_failed_deliveries().await.unwrap().reports, 0);
    assert_eq!(d.attempts(), 1);
}

/// Sends after a pause; counts sends per recipient.
#[derive(Debug, Default)]
struct Slow {
    pause_ms: u64,
    sent: Mutex<Vec<String>>,
}

#[async_trait]
impl Deliverer for Slow {
    fn supports(&self, _: RecipientKind) -> bool {
        true
    }
    async fn deliver(&self, delivery: &Delivery) -> Result<DeliveryReceipt> {
        tokio::time::sleep(std::time::Duration::from_millis(self.pause_ms)).await;
        self.sent
            .lock()
            .unwrap()
            .push(delivery.recipient.address.clone());
        Ok(DeliveryReceipt { message_id: None })
    }
}

#[tokio::test]
async fn the_delivery_budget_leaves_the_rest_to_the_retry_job() {
    let store = MemoryStore::new();
    let clock = ManualClock::new(t0());
    let slow = Arc::new(Slow {
        pause_ms: 150,
        ..Slow::default()
    });
    let config = EngineConfig {
        delivery_budget: Duration::milliseconds(400),
        ..EngineConfig::default()
    };
    let e = engine_with(
        Arc::new(store.clone()),
        Arc::new(MemoryCostSource::new()),
        &clock,
        slow.clone(),
        config,
    );
    let org = OrganizationId::new();
    let recipients: Vec<_> = (0..6)
        .map(|i| ReportRecipient::email(format!("r{i}@example.com")))
        .collect();
    let r = e.generate(org, request(&recipients), None).await.unwrap();
    let first = slow.sent.lock().unwrap().len();
    assert!(
        (1..6).contains(&first),
        "the budget cut the pass short: {first}"
    );
    let rep = store.get_report(org, r.report_id).await.unwrap();
    assert_eq!(
        rep.next_delivery_at,
        Some(clock.now()),
        "the rest is due now"
    );
    assert_eq!(rep.distributed_at, None);
    // The job goes on where the pass stopped, a budget at a time.
    for _ in 0..6 {
        if store
            .get_report(org, r.report_id)
            .await
            .unwrap()
            .distributed_at
            .is_some()
        {
            break;
        }
        e.retry_failed_deliveries().await.unwrap();
    }
    let rep = store.get_report(org, r.report_id).await.unwrap();
    assert!(rep.distributed_at.is_some());
    assert_eq!(rep.next_delivery_at, None);
    let mut sent = slow.sent.lock().unwrap().clone();
    sent.sort();
    let mut want: Vec<_> = recipients.iter().map(|r| r.address.clone()).collect();
    want.sort();
    assert_eq!(sent, want, "each recipient exactly once");
}

/// A cost source that holds its first caller until released, then fails
/// it (not retryably); later callers get the data at once.
#[derive(Debug, Default)]
struct Gate {
    entered: AtomicBool,
    released: AtomicBool,
    calls: AtomicUsize,
    inner: MemoryCostSource,
}

#[async_trait]
impl CostSource for Gate {
    async fn aggregate(&self, org: OrganizationId, query: &CostQuery) -> Result<Vec<CostBucket>> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            self.entered.store(true, Ordering::SeqCst);
            while !self.released.load(Ordering::SeqCst) {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            return Err(Error::backend("warehouse", false, "query cancelled"));
        }
        self.inner.aggregate(org, query).await
    }
}

fn daily(recipients: &[ReportRecipient]) -> ScheduleInput {
    ScheduleInput {
        name: "Daily".into(),
        description: None,
        template_id: None,
        report_type: Some(ReportType::Executive),
        frequency: Frequency::Daily,
        schedule_config: ScheduleConfig {
            time: TimeOfDay::parse("09:00").unwrap(),
            timezone: Timezone::parse("UTC").unwrap(),
            ..Default::default()
        },
        filters: ReportFilters::default(),
        recipients: recipients.to_vec(),
        format: ReportFormat::Json,
        is_active: true,
    }
}

/// Worker A claims a slot and hangs in its cost source; its lease runs out
/// and worker B takes the slot over and completes the report; then A's
/// generation fails. A must not fail B's report or delete its artifact.
async fn stale_worker_cannot_undo_the_takeover(store: Arc<dyn ReportStore>) {
    let clock = ManualClock::new(t0());
    let d = RecordingDeliverer::new();
    let gate = Arc::new(Gate::default());
    let config = |id: &str| EngineConfig {
        worker_id: id.into(),
        lease: Duration::minutes(1),
        ..EngineConfig::default()
    };
    let a = engine_with(
        store.clone(),
        gate.clone(),
        &clock,
        Arc::new(d.clone()),
        config("a"),
    );
    let b = engine_with(
        store.clone(),
        Arc::new(MemoryCostSource::new()),
        &clock,
        Arc::new(d.clone()),
        config("b"),
    );
    let org = OrganizationId::new();
    let s = b
        .create_schedule(
            org,
            daily(&[ReportRecipient::email("cfo@example.com")]),
            None,
        )
        .await
        .unwrap();
    clock.set(s.next_run_at.unwrap() + Duration::seconds(1));

    let stale = tokio::spawn({
        let a = a.clone();
        async move { a.run_due().await }
    });
    while !gate.entered.load(Ordering::SeqCst) {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let page = store
        .list_reports(org, &ReportListQuery::default())
        .await
        .unwrap();
    assert_eq!(page.reports.len(), 1);
    assert_eq!(page.reports[0].status, ReportStatus::Generating);

    clock.advance(Duration::minutes(2));
    let took_over = b.run_due().await.unwrap();
    assert_eq!((took_over.ran, took_over.succeeded), (1, 1));
    gate.released.store(true, Ordering::SeqCst);
    let late = stale.await.unwrap().unwrap();
    assert_eq!((late.ran, late.failed, late.errors), (0, 0, 0), "{late:?}");

    let page = store
        .list_reports(org, &ReportListQuery::default())
        .await
        .unwrap();
    assert_eq!(page.reports.len(), 1, "one report for the slot");
    let r = &page.reports[0];
    assert_eq!(r.status, ReportStatus::Completed, "{:?}", r.error_message);
    assert!(store.get_artifact(org, r.id).await.is_ok(), "artifact kept");
    let runs = store.list_runs(org, s.id).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Success);
    assert_eq!(runs[0].worker, "b");
    assert_eq!(d.sent().len(), 1, "sent once");
}

#[tokio::test]
async fn stale_worker_on_memory() {
    stale_worker_cannot_undo_the_takeover(Arc::new(MemoryStore::new())).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn stale_worker_on_sqlite() {
    let store = tokentra_reports::backends::sqlite::SqliteStore::memory()
        .await
        .unwrap();
    store.migrate().await.unwrap();
    stale_worker_cannot_undo_the_takeover(Arc::new(store)).await;
}

/// A slow webhook endpoint and a run lease much shorter than a delivery:
/// two engines run the jobs side by side and each recipient receives the
/// report exactly once (delivery runs after the run is recorded, under its
/// own claim, so a lease running out during a send never sends again).
#[cfg(feature = "webhook")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_webhooks_and_a_short_lease_send_each_recipient_once() {
    use std::net::{IpAddr, Ipv4Addr};
    use tokentra_reports::backends::http::{HttpOptions, OutboundPolicy};
    use tokentra_reports::backends::memory::SystemClock;
    use tokentra_reports::backends::webhook::{WebhookConfig, WebhookDeliverer, WebhookSecret};
    use tokentra_reports::ports::ScheduleStore;
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_millis(1500)))
        .mount(&server)
        .await;
    let mut config =
        WebhookConfig::new(WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap());
    config.http = HttpOptions {
        outbound: OutboundPolicy::new()
            .allow_http()
            .allow_ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        ..HttpOptions::default()
    };
    let deliverer: Arc<dyn Deliverer> = Arc::new(WebhookDeliverer::new(config).unwrap());
    let store = MemoryStore::new();
    let engine = |id: &str| {
        Engine::builder()
            .cost_source(Arc::new(MemoryCostSource::new()))
            .store(Arc::new(store.clone()))
            .clock(Arc::new(SystemClock))
            .deliverer(deliverer.clone())
            .config(EngineConfig {
                worker_id: id.into(),
                lease: Duration::seconds(1),
                ..EngineConfig::default()
            })
            .build()
            .unwrap()
    };
    let (a, b) = (engine("a"), engine("b"));
    let org = OrganizationId::new();
    let recipients = [
        ReportRecipient {
            kind: RecipientKind::Webhook,
            address: format!("{}/hook/finance", server.uri()),
            name: None,
        },
        ReportRecipient {
            kind: RecipientKind::Webhook,
            address: format!("{}/hook/ops", server.uri()),
            name: None,
        },
    ];
    let mut s = a
        .create_schedule(org, daily(&recipients), None)
        .await
        .unwrap();
    // Due now: its previous slot.
    s.next_run_at = s.next_run_at.map(|t| t - Duration::days(1));
    store.update_schedule(org, &s).await.unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = [a, b]
        .into_iter()
        .map(|e| {
            let stop = stop.clone();
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    e.run_due().await.unwrap();
                    e.retry_failed_deliveries().await.unwrap();
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            })
        })
        .collect();
    // Until the report is delivered (at most 30 s on a loaded machine),
    // then a few more leases' worth, where a second send would show.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        let page = store
            .list_reports(org, &ReportListQuery::default())
            .await
            .unwrap();
        if page.reports.iter().any(|r| r.distributed_at.is_some()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await.unwrap();
    }

    let mut paths: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    paths.sort();
    assert_eq!(paths, ["/hook/finance", "/hook/ops"], "each recipient once");
    let page = store
        .list_reports(org, &ReportListQuery::default())
        .await
        .unwrap();
    assert_eq!(page.reports.len(), 1);
    let r = &page.reports[0];
    assert!(r.distributed_at.is_some());
    assert!(r
        .distribution_status
        .iter()
        .all(|d| d.status == DeliveryState::Sent && d.attempts == 1));
    let runs = store.list_runs(org, s.id).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Success);
}

#[cfg(feature = "postgres")]
mod pg_common;

#[cfg(feature = "postgres")]
#[tokio::test]
async fn stale_worker_on_postgres() {
    let Some(url) = pg_common::url() else { return };
    let schema = pg_common::Schema::new(&url).await;
    let store = schema.store(4).await;
    stale_worker_cannot_undo_the_takeover(Arc::new(store.clone())).await;
    store.pool().close().await;
    schema.drop().await;
}
