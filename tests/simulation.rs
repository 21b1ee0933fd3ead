//! Three months of a host's life on a manual clock stepped every 15 minutes:
//! 50 schedules in mixed time zones (daylight-saving changes included) and
//! 200 digest users. Every report and digest goes out exactly once, at its
//! local time. Then the same run with an engine that crashes mid-run.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use futures::FutureExt;
use rust_decimal::Decimal;
use tokentra_reports::backends::memory::{ManualClock, MemoryCostSource, MemoryStore};
use tokentra_reports::core::schedule::{next_digest, upcoming};
use tokentra_reports::engine::schedules::ScheduleInput;
use tokentra_reports::engine::{Engine, EngineConfig};
use tokentra_reports::model::*;
use tokentra_reports::ports::{
    Clock, CostSource, Deliverer, Delivery, DeliveryKind, DeliveryReceipt, DigestStore,
    GeneratedReportStore, ReportListQuery, ScheduleStore,
};

/// Every delivery with the clock time it was made at.
type Log = Arc<Mutex<Vec<(DateTime<Utc>, Delivery)>>>;

const ZONES: [&str; 10] = [
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Pacific/Chatham",
    "America/Sao_Paulo",
];
const TIMES: [&str; 7] = [
    "09:00", "01:30", "02:30", "00:00", "23:45", "06:15", "12:00",
];

/// Records every delivery with the clock time it was made at.
#[derive(Clone)]
struct TimedDeliverer {
    clock: ManualClock,
    log: Log,
}

#[async_trait]
impl Deliverer for TimedDeliverer {
    fn supports(&self, _: RecipientKind) -> bool {
        true
    }
    async fn deliver(&self, d: &Delivery) -> tokentra_reports::Result<DeliveryReceipt> {
        self.log.lock().unwrap().push((self.clock.now(), d.clone()));
        Ok(DeliveryReceipt { message_id: None })
    }
}

/// A cost source that can be made to hang forever, to kill an engine in
/// the middle of generating a report.
#[derive(Clone)]
struct HangingCosts {
    inner: MemoryCostSource,
    hang: Arc<std::sync::atomic::AtomicBool>,
}

#[async_trait]
impl CostSource for HangingCosts {
    async fn aggregate(
        &self,
        org: OrganizationId,
        q: &CostQuery,
    ) -> tokentra_reports::Result<Vec<CostBucket>> {
        if self.hang.load(std::sync::atomic::Ordering::SeqCst) {
            futures::future::pending::<()>().await;
        }
        self.inner.aggregate(org, q).await
    }
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 9, 1, 0, 0, 0).unwrap()
}

fn end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
}

fn costs(org: OrganizationId) -> MemoryCostSource {
    let mut rows = Vec::new();
    let mut d: NaiveDate = "2026-05-01".parse().unwrap();
    while d < "2026-12-01".parse().unwrap() {
        rows.push(CostRow {
            date: d,
            provider: Some("openai".into()),
            model: Some("gpt-4o".into()),
            team: Some("search".into()),
            cost: Decimal::new(1234, 2),
            requests: 10,
            ..Default::default()
        });
        d = d.succ_opt().unwrap();
    }
    MemoryCostSource::with_rows(org, rows)
}

fn schedule_input(i: usize) -> ScheduleInput {
    let frequency = [
        Frequency::Daily,
        Frequency::Weekly,
        Frequency::Monthly,
        Frequency::Quarterly,
    ][i % 4];
    ScheduleInput {
        name: format!("schedule {i}"),
        description: None,
        template_id: None,
        report_type: Some(ReportType::Executive),
        frequency,
        schedule_config: ScheduleConfig {
            time: TimeOfDay::parse(TIMES[i % 7]).unwrap(),
            timezone: Timezone::parse(ZONES[i % 10]).unwrap(),
            day_of_week: (i % 7) as u8,
            day_of_month: [1, 15, 29, 31][(i / 4) % 4],
            month_of_quarter: (1 + i % 3) as u8,
        },
        filters: ReportFilters::default(),
        recipients: vec![ReportRecipient::email(format!("owner{i}@example.com"))],
        format: ReportFormat::Json,
        is_active: true,
    }
}

struct World {
    store: MemoryStore,
    clock: ManualClock,
    log: Log,
    org: OrganizationId,
    costs: MemoryCostSource,
}

impl World {
    fn new() -> World {
        let org = OrganizationId::new();
        World {
            store: MemoryStore::new(),
            clock: ManualClock::new(start()),
            log: Arc::new(Mutex::new(Vec::new())),
            org,
            costs: costs(org),
        }
    }

    fn engine(&self, worker: &str) -> Engine {
        self.engine_with(worker, Arc::new(self.costs.clone()))
    }

    fn engine_with(&self, worker: &str, costs: Arc<dyn CostSource>) -> Engine {
        Engine::builder()
            .cost_source(costs)
            .store(Arc::new(self.store.clone()))
            .clock(Arc::new(self.clock.clone()))
            .deliverer(Arc::new(TimedDeliverer {
                clock: self.clock.clone(),
                log: self.log.clone(),
            }))
            .config(EngineConfig {
                worker_id: worker.into(),
                ..Default::default()
            })
            .build()
            .unwrap()
    }
}

async fn seed(
    world: &World,
    engine: &Engine,
) -> (Vec<ScheduledReport>, Vec<EmailDigestPreferences>) {
    let mut schedules = Vec::new();
    for i in 0..50 {
        schedules.push(
            engine
                .create_schedule(world.org, schedule_input(i), None)
                .await
                .unwrap(),
        );
    }
    let mut users = Vec::new();
    for j in 0..200 {
        let user = UserId::new();
        let mut p =
            EmailDigestPreferences::new(world.org, user, format!("user{j}@example.com"), start());
        p.frequency = if j % 2 == 0 {
            DigestFrequency::Daily
        } else {
            DigestFrequency::Weekly
        };
        p.timezone = Timezone::parse(ZONES[j % 10]).unwrap();
        p.digest_time = TimeOfDay::parse(TIMES[j % 7]).unwrap();
        p.day_of_week = (j % 7) as u8;
        // Everything up to the start was sent: count only what falls inside.
        p.last_sent_at = Some(start());
        users.push(
            engine
                .upsert_digest_preferences(world.org, p)
                .await
                .unwrap(),
        );
    }
    (schedules, users)
}

/// Expected slots of every schedule in (start, end], computed from the pure
/// schedule functions.
fn expected_report_slots(
    schedules: &[ScheduledReport],
) -> BTreeMap<ScheduledReportId, Vec<DateTime<Utc>>> {
    schedules
        .iter()
        .map(|s| {
            let slots = upcoming(s.frequency, &s.schedule_config, start())
                .map(|t| t.unwrap())
                .take_while(|t| *t <= end())
                .collect();
            (s.id, slots)
        })
        .collect()
}

fn expected_digest_slots(users: &[EmailDigestPreferences]) -> HashMap<String, Vec<DateTime<Utc>>> {
    users
        .iter()
        .map(|p| {
            let mut slots = Vec::new();
            let mut t = start();
            while let Some(next) = next_digest(p, t).unwrap() {
                if next > end() {
                    break;
                }
                slots.push(next);
                t = next;
            }
            (p.email.clone().unwrap_or_default(), slots)
        })
        .collect()
}

async fn check(world: &World, schedules: &[ScheduledReport], users: &[EmailDigestPreferences]) {
    let expected = expected_report_slots(schedules);
    let total_expected: usize = expected.values().map(Vec::len).sum();
    assert!(
        total_expected > 1000,
        "the scenario covers many slots: {total_expected}"
    );

    // Reports: exactly the expected slots, once each, completed.
    let mut reports = Vec::new();
    let mut cursor = None;
    loop {
        let page = world
            .store
            .list_reports(
                world.org,
                &ReportListQuery {
                    limit: 1000,
                    cursor,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        reports.extend(page.reports);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(reports.len(), total_expected);
    let mut got: BTreeMap<ScheduledReportId, Vec<DateTime<Utc>>> = BTreeMap::new();
    for r in &reports {
        assert_eq!(r.status, ReportStatus::Completed, "{}", r.name);
        let slot = r.schedule_slot.unwrap();
        // Generated on the first tick at or after its slot.
        assert!(
            r.created_at >= slot && r.created_at < slot + Duration::minutes(15),
            "{} at {}",
            slot,
            r.created_at
        );
        got.entry(r.scheduled_report_id.unwrap())
            .or_default()
            .push(slot);
    }
    for v in got.values_mut() {
        v.sort();
    }
    for (id, slots) in &expected {
        assert_eq!(
            got.get(id).cloned().unwrap_or_default(),
            *slots,
            "schedule {id}"
        );
    }

    // Each slot's local wall time is the configured one, except in a gap.
    for s in schedules {
        for slot in &expected[&s.id] {
            let local = slot
                .with_timezone(&s.schedule_config.timezone.tz())
                .naive_local()
                .time();
            let want = s.schedule_config.time.naive();
            if local != want {
                // Only a spring-forward gap moves a slot, and only forward
                // by the size of the gap (at most an hour).
                assert!(
                    local > want && local - want <= Duration::hours(1),
                    "{} {} {}",
                    s.schedule_config.timezone,
                    slot,
                    local
                );
            }
        }
    }

    // Report deliveries: one per report (one recipient each).
    let log = world.log.lock().unwrap().clone();
    let report_sends: Vec<_> = log
        .iter()
        .filter(|(_, d)| d.kind == DeliveryKind::Report)
        .collect();
    assert_eq!(report_sends.len(), total_expected);
    let keys: HashSet<_> = report_sends
        .iter()
        .map(|(_, d)| d.idempotency_key.clone())
        .collect();
    assert_eq!(keys.len(), total_expected, "no report delivered twice");

    // Digests: exactly the expected slots per user, each within 15 minutes.
    let expected_digests = expected_digest_slots(users);
    let mut by_user: HashMap<String, Vec<DateTime<Utc>>> = HashMap::new();
    for (t, d) in log.iter().filter(|(_, d)| d.kind == DeliveryKind::Digest) {
        by_user
            .entry(d.recipient.address.clone())
            .or_default()
            .push(*t);
    }
    let total_digests: usize = expected_digests.values().map(Vec::len).sum();
    assert_eq!(by_user.values().map(Vec::len).sum::<usize>(), total_digests);
    for (email, slots) in &expected_digests {
        let sent = by_user.get(email).cloned().unwrap_or_default();
        assert_eq!(sent.len(), slots.len(), "{email}");
        for (t, slot) in sent.iter().zip(slots) {
            assert!(
                *t >= *slot && *t < *slot + Duration::minutes(15),
                "{email}: slot {slot} sent at {t}"
            );
        }
    }
    for u in users {
        let stored = world
            .store
            .get_digest_preferences(world.org, u.user_id)
            .await
            .unwrap();
        assert_eq!(
            stored.last_sent_at,
            expected_digests[u.email.as_deref().unwrap_or_default()]
                .last()
                .copied()
                .or(Some(start()))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_months_every_report_and_digest_once_on_local_time() {
    let world = World::new();
    let engine = world.engine("only");
    let (schedules, users) = seed(&world, &engine).await;
    while world.clock.now() < end() {
        world.clock.advance(Duration::minutes(15));
        engine.run_due().await.unwrap();
        engine.process_email_digests().await.unwrap();
    }
    check(&world, &schedules, &users).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_crashing_mid_run_is_recovered_on_the_next_tick() {
    let world = World::new();
    let hang = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let a = world.engine_with(
        "a",
        Arc::new(HangingCosts {
            inner: world.costs.clone(),
            hang: hang.clone(),
        }),
    );
    let b = world.engine("b");
    let (schedules, users) = seed(&world, &a).await;
    let crash_after = start() + Duration::days(40);
    let mut crashed_at = None;
    while world.clock.now() < end() {
        world.clock.advance(Duration::minutes(15));
        let now = world.clock.now();
        if crashed_at.is_none()
            && now >= crash_after
            && !world.store.due_schedules(now, 1).await.unwrap().is_empty()
        {
            // Engine A dies in the middle of a run: its future is polled
            // once (it claims a slot, records the report as generating
            // and waits on its cost source) and dropped.
            hang.store(true, std::sync::atomic::Ordering::SeqCst);
            let outcome = a.run_due().now_or_never();
            assert!(outcome.is_none(), "the run was interrupted mid-way");
            crashed_at = Some(now);
            // Engine B runs the same tick: it finds the slot claimed
            // (busy) and takes it over once A's lease has expired.
        }
        let engine = if crashed_at.is_some() { &b } else { &a };
        engine.run_due().await.unwrap();
        engine.process_email_digests().await.unwrap();
    }
    let crashed_at = crashed_at.expect("a crash happened");
    // The crashed slot was finished by B after A's lease (10 minutes) ran out.
    let mut taken_over = 0;
    for s in &schedules {
        for run in world.store.list_runs(world.org, s.id).await.unwrap() {
            assert_eq!(run.status, RunStatus::Success);
            if run.attempts == 2 {
                assert_eq!(run.worker, "b");
                assert!(run.slot <= crashed_at);
                taken_over += 1;
            }
        }
    }
    assert_eq!(taken_over, 1);
    // The crashed report's created_at is that of the first (dead) attempt,
    // which lies within 15 minutes of its slot: the full check applies.
    check(&world, &schedules, &users).await;
}
