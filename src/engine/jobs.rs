//! The background jobs, as plain async functions a host can call from its
//! own scheduler, and a ready-made [`Worker`] loop that ticks them.
//!
//! | job | what it does | default interval |
//! |---|---|---|
//! | [`Engine::process_scheduled_reports`] | runs due schedule slots | 1 minute |
//! | [`Engine::retry_failed_deliveries`] | sends reports whose delivery is due (failed recipients, reports not yet sent) | 1 minute |
//! | [`Engine::process_email_digests`] | sends due digests | 5 minutes |
//! | [`Engine::process_periodic_chargebacks`] | records closed chargeback periods | 1 hour |
//! | [`Engine::cleanup_expired_reports`] | expires old reports | 1 hour |
//! | [`Engine::sweep_stuck_reports`] (with the clean-up) | fails reports stuck unfinished | 1 hour |
//!
//! Each returns counts of what it did. All are safe to run from several
//! engines over one store.

use std::future::Future;
use std::time::Duration as StdDuration;

use super::archive::CleanupStats;
use super::digests::DigestStats;
use super::schedules::RunDueStats;
use super::Engine;
use crate::Result;
use tracing::Instrument as _;

impl Engine {
    /// Job: run due scheduled reports (see [`Engine::run_due`]).
    pub async fn process_scheduled_reports(&self) -> Result<RunDueStats> {
        self.run_due().await
    }
}

/// Intervals of the [`Worker`]'s jobs.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Scheduled reports.
    pub scheduled_reports: StdDuration,
    /// Digests.
    pub digests: StdDuration,
    /// Periodic chargebacks.
    pub chargebacks: StdDuration,
    /// Clean-up of expired reports.
    pub cleanup: StdDuration,
    /// Deliveries due (retries of failed recipients).
    pub deliveries: StdDuration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            scheduled_reports: StdDuration::from_secs(60),
            digests: StdDuration::from_secs(300),
            chargebacks: StdDuration::from_secs(3600),
            cleanup: StdDuration::from_secs(3600),
            deliveries: StdDuration::from_secs(60),
        }
    }
}

/// Totals of a worker's life, returned when it stops.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Ticks of the scheduled-report job.
    pub ticks: u64,
    /// Scheduled runs executed.
    pub runs: usize,
    /// Digests sent.
    pub digests: usize,
    /// Chargeback records created.
    pub chargebacks: usize,
    /// Reports expired.
    pub expired: usize,
    /// Reports stuck unfinished and failed by the sweeper.
    pub swept: usize,
    /// Recipients sent to by the delivery retry job.
    pub redelivered: usize,
    /// Job calls that returned an error (the worker keeps going).
    pub errors: usize,
}

/// A loop that ticks the five jobs at their intervals on tokio until a
/// shutdown future resolves. A job in progress is finished before the loop
/// stops; errors are counted and the loop goes on (the next tick retries).
#[derive(Debug)]
pub struct Worker {
    engine: Engine,
    config: WorkerConfig,
    health: HealthHandle,
}

/// The longest interval a job may have.
pub const MAX_INTERVAL: StdDuration = StdDuration::from_secs(7 * 24 * 3600);

impl WorkerConfig {
    /// Every interval is positive and at most [`MAX_INTERVAL`] (a zero
    /// interval would make tokio's timer panic).
    ///
    /// # Errors
    /// [`Error::Invalid`](crate::Error::Invalid) naming the interval
    /// (`scheduledReports`, `digests`, `chargebacks`, `cleanup`, `deliveries`).
    pub fn validate(&self) -> crate::Result<()> {
        for (field, d) in [
            ("scheduledReports", self.scheduled_reports),
            ("digests", self.digests),
            ("chargebacks", self.chargebacks),
            ("cleanup", self.cleanup),
            ("deliveries", self.deliveries),
        ] {
            if d.is_zero() || d > MAX_INTERVAL {
                return Err(crate::Error::invalid(
                    field,
                    format!("interval {d:?} is not between 1 ns and 7 days"),
                ));
            }
        }
        Ok(())
    }
}

/// The state of one job as a [`Worker`] last saw it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobHealth {
    /// When the job last ran (from the engine's clock).
    pub last_tick: Option<chrono::DateTime<chrono::Utc>>,
    /// Whether its last run ended in an error.
    pub last_failed: bool,
    /// The last error it returned, and when (kept after later successes).
    pub last_error: Option<(chrono::DateTime<chrono::Utc>, String)>,
    /// Runs that returned an error.
    pub errors: u64,
}

/// A snapshot of a [`Worker`]'s jobs, for a host's health endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerHealth {
    /// [`Engine::process_scheduled_reports`].
    pub scheduled_reports: JobHealth,
    /// [`Engine::process_email_digests`].
    pub digests: JobHealth,
    /// [`Engine::process_periodic_chargebacks`].
    pub chargebacks: JobHealth,
    /// [`Engine::cleanup_expired_reports`] and [`Engine::sweep_stuck_reports`].
    pub cleanup: JobHealth,
    /// [`Engine::retry_failed_deliveries`].
    pub deliveries: JobHealth,
}

/// Reads a running worker's [`WorkerHealth`] (clones share it).
#[derive(Clone, Debug, Default)]
pub struct HealthHandle(std::sync::Arc<std::sync::Mutex<WorkerHealth>>);

impl HealthHandle {
    /// The current snapshot.
    pub fn snapshot(&self) -> WorkerHealth {
        self.0.lock().map(|h| h.clone()).unwrap_or_default()
    }
}

#[derive(Clone, Copy)]
enum Job {
    Schedules,
    Digests,
    Chargebacks,
    Cleanup,
    Deliveries,
}

impl Job {
    fn name(self) -> &'static str {
        match self {
            Job::Schedules => "scheduled_reports",
            Job::Digests => "digests",
            Job::Chargebacks => "chargebacks",
            Job::Cleanup => "cleanup",
            Job::Deliveries => "deliveries",
        }
    }
}

impl Worker {
    /// A worker over `engine`.
    ///
    /// # Errors
    /// [`Error::Invalid`](crate::Error::Invalid) for an interval of zero or
    /// longer than [`MAX_INTERVAL`] (see [`WorkerConfig::validate`]).
    pub fn new(engine: Engine, config: WorkerConfig) -> crate::Result<Self> {
        config.validate()?;
        Ok(Worker {
            engine,
            config,
            health: HealthHandle::default(),
        })
    }

    /// The jobs' last ticks and errors now.
    pub fn health(&self) -> WorkerHealth {
        self.health.snapshot()
    }

    /// A handle that reads the health while [`run`](Self::run) owns the worker.
    pub fn health_handle(&self) -> HealthHandle {
        self.health.clone()
    }

    /// Record a job's outcome in the health snapshot and as a tracing event
    /// (errors are never discarded silently).
    fn record(&self, job: Job, outcome: Result<(), &crate::Error>, stats: &mut WorkerStats) {
        let now = self.engine.clock().now();
        if let Err(e) = outcome {
            stats.errors += 1;
            tracing::error!(job = job.name(), error = %e, retryable = e.is_retryable(), "job failed");
        }
        if let Ok(mut h) = self.health.0.lock() {
            let j = match job {
                Job::Schedules => &mut h.scheduled_reports,
                Job::Digests => &mut h.digests,
                Job::Chargebacks => &mut h.chargebacks,
                Job::Cleanup => &mut h.cleanup,
                Job::Deliveries => &mut h.deliveries,
            };
            j.last_tick = Some(now);
            j.last_failed = outcome.is_err();
            if let Err(e) = outcome {
                j.errors += 1;
                j.last_error = Some((now, e.to_string()));
            }
        }
    }

    /// Run one round of every job now (what each tick does), adding to `stats`.
    pub async fn tick_all(&self, stats: &mut WorkerStats) {
        self.tick_schedules(stats).await;
        self.tick_deliveries(stats).await;
        self.tick_digests(stats).await;
        self.tick_chargebacks(stats).await;
        self.tick_cleanup(stats).await;
    }

    async fn tick_schedules(&self, stats: &mut WorkerStats) {
        stats.ticks += 1;
        let result = self
            .engine
            .process_scheduled_reports()
            .instrument(tracing::info_span!("job", job = Job::Schedules.name()))
            .await;
        if let Ok(s) = &result {
            stats.runs += s.ran;
            if s.failed > 0 || s.errors > 0 {
                tracing::warn!(
                    job = Job::Schedules.name(),
                    failed_runs = s.failed,
                    schedule_errors = s.errors,
                    "some scheduled runs failed"
                );
            }
        }
        self.record(Job::Schedules, result.as_ref().map(|_| ()), stats);
    }

    async fn tick_deliveries(&self, stats: &mut WorkerStats) {
        if self.engine.deliverer().is_none() {
            return;
        }
        let result = self
            .engine
            .retry_failed_deliveries()
            .instrument(tracing::info_span!("job", job = Job::Deliveries.name()))
            .await;
        if let Ok(s) = &result {
            stats.redelivered += s.sent;
            if s.failed > 0 || s.errors > 0 {
                tracing::warn!(
                    job = Job::Deliveries.name(),
                    failed = s.failed,
                    report_errors = s.errors,
                    "some deliveries failed again"
                );
            }
        }
        self.record(Job::Deliveries, result.as_ref().map(|_| ()), stats);
    }

    async fn tick_digests(&self, stats: &mut WorkerStats) {
        if self.engine.deliverer().is_none() {
            return;
        }
        let result = self
            .engine
            .process_email_digests()
            .instrument(tracing::info_span!("job", job = Job::Digests.name()))
            .await;
        if let Ok(DigestStats { sent, failed, .. }) = &result {
            stats.digests += sent;
            if *failed > 0 {
                tracing::warn!(job = Job::Digests.name(), failed, "some digests failed");
            }
        }
        self.record(Job::Digests, result.as_ref().map(|_| ()), stats);
    }

    async fn tick_chargebacks(&self, stats: &mut WorkerStats) {
        let result = self
            .engine
            .process_periodic_chargebacks()
            .instrument(tracing::info_span!("job", job = Job::Chargebacks.name()))
            .await;
        if let Ok(s) = &result {
            stats.chargebacks += s.created.len();
            for f in &s.failed {
                tracing::warn!(
                    job = Job::Chargebacks.name(),
                    org = %f.organization_id,
                    configuration = %f.configuration_id,
                    error = %f.error,
                    "chargeback record failed"
                );
            }
        }
        self.record(Job::Chargebacks, result.as_ref().map(|_| ()), stats);
    }

    async fn tick_cleanup(&self, stats: &mut WorkerStats) {
        let span = tracing::info_span!("job", job = Job::Cleanup.name());
        let cleaned = self
            .engine
            .cleanup_expired_reports()
            .instrument(span.clone())
            .await;
        if let Ok(CleanupStats { expired, .. }) = &cleaned {
            stats.expired += expired;
        }
        let swept = self.engine.sweep_stuck_reports().instrument(span).await;
        if let Ok(s) = &swept {
            stats.swept += s.failed;
        }
        if let (Err(_), Err(e)) = (&cleaned, &swept) {
            // Both failed: the clean-up's error is recorded, the sweep's logged.
            tracing::error!(job = Job::Cleanup.name(), error = %e, "sweep failed");
        }
        let outcome = match (&cleaned, &swept) {
            (Err(e), _) | (_, Err(e)) => Err(e),
            _ => Ok(()),
        };
        self.record(Job::Cleanup, outcome, stats);
    }

    /// Tick the jobs until `shutdown` resolves; return what was done.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> WorkerStats {
        let mut stats = WorkerStats::default();
        let mut schedules = tokio::time::interval(self.config.scheduled_reports);
        let mut digests = tokio::time::interval(self.config.digests);
        let mut chargebacks = tokio::time::interval(self.config.chargebacks);
        let mut cleanup = tokio::time::interval(self.config.cleanup);
        let mut deliveries = tokio::time::interval(self.config.deliveries);
        for i in [
            &mut schedules,
            &mut digests,
            &mut chargebacks,
            &mut cleanup,
            &mut deliveries,
        ] {
            i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        }
        tokio::pin!(shutdown);
        loop {
            // Only the waiting is raced against shutdown: a job that has
            // started runs to its end.
            tokio::select! {
                biased;
                _ = &mut shutdown => break,
                _ = schedules.tick() => self.tick_schedules(&mut stats).await,
                _ = digests.tick() => self.tick_digests(&mut stats).await,
                _ = chargebacks.tick() => self.tick_chargebacks(&mut stats).await,
                _ = cleanup.tick() => self.tick_cleanup(&mut stats).await,
                _ = deliveries.tick() => self.tick_deliveries(&mut stats).await,
            }
        }
        stats
    }
}

#[cfg(test)]
mod interval_tests {
    use super::*;

    #[test]
    fn zero_and_huge_intervals_are_invalid_and_named() {
        assert!(WorkerConfig::default().validate().is_ok());
        let zero = WorkerConfig {
            digests: StdDuration::ZERO,
            ..WorkerConfig::default()
        };
        assert_eq!(zero.validate().unwrap_err().field(), Some("digests"));
        let huge = WorkerConfig {
            cleanup: MAX_INTERVAL + StdDuration::from_secs(1),
            ..WorkerConfig::default()
        };
        assert_eq!(huge.validate().unwrap_err().field(), Some("cleanup"));
    }
}
