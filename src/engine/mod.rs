//! Orchestration over the ports: an [`Engine`] holds the host's
//! [`CostSource`], [`ReportStore`], renderers, [`Deliverer`] and [`Clock`],
//! and runs the report lifecycle, the archive, signed links, scheduled runs,
//! digests and chargeback on them.

use std::fmt;
use std::sync::Arc;

use chrono::Duration;

use crate::backends::memory::SystemClock;
use crate::core::pricebook::PriceBook;
use crate::model::ReportFormat;
use crate::ports::{Clock, CostSource, Deliverer, Renderer, ReportStore, UsageSource};
use crate::{Error, Result};

/// The templates of the e-mails the engine sends (`email.html`,
/// `email.txt`); nothing without the `html` feature (plain-text mail).
#[cfg(feature = "html")]
pub(crate) type MailTemplates = crate::render::html::Templates;
#[cfg(not(feature = "html"))]
pub(crate) type MailTemplates = ();

pub mod archive;
pub mod chargeback;
pub mod chargeback_report;
pub mod digests;
pub mod distribute;
mod document;
pub mod generate;
pub mod jobs;
pub mod links;
pub mod schedules;
pub mod templates;

pub use links::{DownloadGrant, LinkSigner};

/// What to do with slots missed while the host was down.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CatchUpPolicy {
    /// Run only the latest missed slot; record the older ones as skipped.
    #[default]
    LatestOnly,
    /// Run every missed slot in order (at most 100 per schedule and call).
    ReplayAll,
}

/// Tunables of an engine. `Default` gives the documented defaults.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Identifies this engine in run claims (default: a random id).
    pub worker_id: String,
    /// How long a claim on a scheduled run holds before another worker may
    /// take it over (default 10 minutes, at most a day). It covers
    /// generation only: delivery has its own claim.
    pub lease: Duration,
    /// How long generated reports are kept (default 90 days, at most 3,660).
    pub report_expiry: Duration,
    /// Failed runs in a row after which a schedule is paused (default 5).
    pub max_consecutive_failures: u32,
    /// Missed-slot policy (default [`CatchUpPolicy::LatestOnly`]).
    pub catch_up: CatchUpPolicy,
    /// Lifetime of download links put in deliveries (default 7 days, at
    /// most 3,660).
    pub link_ttl: Duration,
    /// Signs download links; without it deliveries carry no link.
    pub links: Option<LinkSigner>,
    /// A report still `pending` or `generating` this long after its
    /// generation started is failed by [`Engine::sweep_stuck_reports`]
    /// (default 30 minutes: longer than the run lease and any generation;
    /// at most 30 days).
    pub stuck_after: Duration,
    /// Wall-clock time one delivery pass of a report may take, over all its
    /// recipients (default 5 minutes). Recipients not reached in time are
    /// tried again by [`Engine::retry_failed_deliveries`]. The pass holds a
    /// delivery claim of this length plus one minute, separate from the
    /// run lease of a scheduled slot.
    pub delivery_budget: Duration,
    /// Attempts per recipient before the engine gives up on it (default 5;
    /// [`Engine::distribute`] called by hand tries again anyway).
    pub delivery_attempts: u32,
    /// Wait before the first retry of a failed delivery (default 1 minute);
    /// each further retry waits four times longer, at most 6 hours.
    pub delivery_backoff: Duration,
    /// The host's dashboard (an `http(s)` URL), linked from every digest
    /// e-mail ("Open the dashboard"); `None` (default) links nothing.
    pub dashboard_url: Option<String>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            worker_id: format!("engine-{}", uuid::Uuid::new_v4().simple()),
            lease: Duration::minutes(10),
            report_expiry: Duration::days(crate::model::DEFAULT_REPORT_EXPIRY_DAYS),
            max_consecutive_failures: 5,
            catch_up: CatchUpPolicy::LatestOnly,
            link_ttl: Duration::days(7),
            links: None,
            stuck_after: Duration::minutes(30),
            delivery_budget: Duration::minutes(5),
            delivery_attempts: 5,
            delivery_backoff: Duration::minutes(1),
            dashboard_url: None,
        }
    }
}

/// The ports an engine runs on. Build one with [`Engine::builder`]; clones
/// share everything.
#[derive(Clone)]
pub struct Engine {
    costs: Arc<dyn CostSource>,
    store: Arc<dyn ReportStore>,
    renderers: Vec<Arc<dyn Renderer>>,
    deliverer: Option<Arc<dyn Deliverer>>,
    clock: Arc<dyn Clock>,
    config: Arc<EngineConfig>,
    /// The price book and the usage it prices, for the `repricing` section.
    pricing: Option<(Arc<PriceBook>, Arc<dyn UsageSource>)>,
    /// The e-mail templates (the host's, or the bundled ones).
    mail_templates: MailTemplates,
    /// Schedules whose slot a task of this engine is running: a second task
    /// (a host calling `run_due` twice at once) leaves them alone, since
    /// both would hold the same worker's claim.
    running: Arc<std::sync::Mutex<std::collections::HashSet<crate::model::ScheduledReportId>>>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field(
                "formats",
                &self
                    .renderers
                    .iter()
                    .map(|r| r.format())
                    .collect::<Vec<_>>(),
            )
            .field("deliverer", &self.deliverer.is_some())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Start wiring an engine.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// The cost source.
    pub fn costs(&self) -> &Arc<dyn CostSource> {
        &self.costs
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn ReportStore> {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The deliverer, if one was wired.
    pub fn deliverer(&self) -> Option<&Arc<dyn Deliverer>> {
        self.deliverer.as_ref()
    }

    /// The tunables.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The formats this engine can render.
    pub fn formats(&self) -> Vec<ReportFormat> {
        self.renderers.iter().map(|r| r.format()).collect()
    }

    /// The renderer for `format`.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when no renderer for it was wired (or the
    /// cargo feature providing it is off).
    pub fn renderer(&self, format: ReportFormat) -> Result<&Arc<dyn Renderer>> {
        self.renderers
            .iter()
            .find(|r| r.format() == format)
            .ok_or_else(|| {
                Error::Unsupported(format!(
                    "no renderer for {} in this engine (is its cargo feature on?)",
                    format.extension()
                ))
            })
    }
}

/// Builder of an [`Engine`]. A cost source and a store are required; the
/// clock defaults to the system clock; every format this build supports
/// (JSON and CSV always, HTML, PDF and XLSX with their features) gets the
/// crate's renderer unless one was given; the configuration defaults to
/// [`EngineConfig::default`].
#[derive(Default)]
pub struct EngineBuilder {
    costs: Option<Arc<dyn CostSource>>,
    store: Option<Arc<dyn ReportStore>>,
    renderers: Vec<Arc<dyn Renderer>>,
    deliverer: Option<Arc<dyn Deliverer>>,
    clock: Option<Arc<dyn Clock>>,
    config: EngineConfig,
    pricing: Option<(Arc<PriceBook>, Arc<dyn UsageSource>)>,
    mail_templates: Option<MailTemplates>,
}

impl fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineBuilder").finish_non_exhaustive()
    }
}

impl EngineBuilder {
    /// Where cost data comes from.
    pub fn cost_source(mut self, costs: Arc<dyn CostSource>) -> Self {
        self.costs = Some(costs);
        self
    }

    /// Where everything is kept.
    pub fn store(mut self, store: Arc<dyn ReportStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Add (or replace) the renderer of a format.
    pub fn renderer(mut self, renderer: Arc<dyn Renderer>) -> Self {
        self.renderers.retain(|r| r.format() != renderer.format());
        self.renderers.push(renderer);
        self
    }

    /// How reports and digests are sent.
    pub fn deliverer(mut self, deliverer: Arc<dyn Deliverer>) -> Self {
        self.deliverer = Some(deliverer);
        self
    }

    /// The clock (a `ManualClock` in tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The tunables.
    pub fn config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    /// A price book and the request-level usage it prices: what reports
    /// with the `repricing` section compare (each period's usage as priced
    /// then, and under the template's `repriceWith` version or the book's
    /// latest).
    pub fn price_book(mut self, book: Arc<PriceBook>, usage: Arc<dyn UsageSource>) -> Self {
        self.pricing = Some((book, usage));
        self
    }

    /// The host's templates (see [`Templates`](crate::render::html::Templates)):
    /// its `email.html` and `email.txt` render every report and digest
    /// e-mail the engine sends, and its `report.html` the HTML reports
    /// (unless the host registered its own HTML renderer). Without it, the
    /// bundled templates.
    #[cfg(feature = "html")]
    pub fn templates(mut self, templates: crate::render::html::Templates) -> Self {
        self.mail_templates = Some(templates);
        self
    }

    /// The engine.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `costSource` or `store` when one is missing,
    /// or a configuration value out of range.
    pub fn build(self) -> Result<Engine> {
        let mut renderers = self.renderers;
        // The host's templates render HTML reports unless it wired its own
        // HTML renderer.
        #[cfg(feature = "html")]
        if let Some(t) = &self.mail_templates {
            if !renderers.iter().any(|r| r.format() == ReportFormat::Html) {
                renderers.push(Arc::new(crate::render::html::HtmlRenderer::with_templates(
                    t.clone(),
                )));
            }
        }
        // Every format this build supports, unless the host wired its own.
        type MakeRenderer = fn() -> Arc<dyn Renderer>;
        let defaults: Vec<(ReportFormat, MakeRenderer)> = vec![
            (ReportFormat::Json, || Arc::new(crate::render::JsonRenderer)),
            (ReportFormat::Csv, || {
                Arc::new(crate::render::csv::CsvRenderer::new())
            }),
            #[cfg(feature = "html")]
            (ReportFormat::Html, || {
                Arc::new(crate::render::html::HtmlRenderer::new())
            }),
            #[cfg(feature = "pdf")]
            (ReportFormat::Pdf, || {
                Arc::new(crate::render::pdf::PdfRenderer::new())
            }),
            #[cfg(feature = "xlsx")]
            (ReportFormat::Xlsx, || {
                Arc::new(crate::render::xlsx::XlsxRenderer)
            }),
        ];
        for (format, make) in defaults {
            if !renderers.iter().any(|r| r.format() == format) {
                renderers.push(make());
            }
        }
        let c = &self.config;
        // Upper bounds keep every `now + duration` far from chrono's limits.
        if c.lease <= Duration::zero() || c.lease > Duration::days(1) {
            return Err(Error::invalid(
                "lease",
                "must be positive and at most a day",
            ));
        }
        if c.report_expiry <= Duration::zero() || c.report_expiry > Duration::days(3660) {
            return Err(Error::invalid(
                "reportExpiry",
                "must be positive and at most 3,660 days",
            ));
        }
        if c.link_ttl <= Duration::zero() || c.link_ttl > Duration::days(3660) {
            return Err(Error::invalid(
                "linkTtl",
                "must be positive and at most 3,660 days",
            ));
        }
        if c.worker_id.trim().is_empty() {
            return Err(Error::invalid("workerId", "must not be empty"));
        }
        if c.delivery_budget <= Duration::zero() || c.delivery_budget > Duration::hours(6) {
            return Err(Error::invalid(
                "deliveryBudget",
                "must be positive and at most 6 hours",
            ));
        }
        if c.delivery_attempts == 0 || c.delivery_attempts > 100 {
            return Err(Error::invalid(
                "deliveryAttempts",
                "must be between 1 and 100",
            ));
        }
        if c.delivery_backoff <= Duration::zero() || c.delivery_backoff > Duration::days(1) {
            return Err(Error::invalid(
                "deliveryBackoff",
                "must be positive and at most a day",
            ));
        }
        if c.stuck_after <= Duration::zero() || c.stuck_after > Duration::days(30) {
            return Err(Error::invalid(
                "stuckAfter",
                "must be positive and at most 30 days",
            ));
        }
        if let Some(u) = &c.dashboard_url {
            let ok = url::Url::parse(u)
                .is_ok_and(|u| matches!(u.scheme(), "https" | "http") && u.has_host());
            if !ok {
                return Err(Error::invalid(
                    "dashboardUrl",
                    "must be an absolute http(s) URL",
                ));
            }
        }
        if c.max_consecutive_failures == 0 {
            return Err(Error::invalid(
                "maxConsecutiveFailures",
                "must be at least 1",
            ));
        }
        Ok(Engine {
            costs: self
                .costs
                .ok_or_else(|| Error::invalid("costSource", "an engine needs a cost source"))?,
            store: self
                .store
                .ok_or_else(|| Error::invalid("store", "an engine needs a store"))?,
            renderers,
            deliverer: self.deliverer,
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            config: Arc::new(self.config),
            pricing: self.pricing,
            mail_templates: self.mail_templates.unwrap_or_else(default_mail_templates),
            running: Arc::default(),
        })
    }
}

#[cfg(feature = "html")]
pub(crate) fn default_mail_templates() -> MailTemplates {
    crate::render::html::Templates::shared()
}

#[cfg(not(feature = "html"))]
pub(crate) fn default_mail_templates() -> MailTemplates {}

/// Wait `d` on tokio's timer when running inside tokio (else not at all:
/// the retry then comes at once).
pub(crate) async fn pause(d: std::time::Duration) {
    if tokio::runtime::Handle::try_current().is_ok() {
        tokio::time::sleep(d).await;
    }
}

/// Pause before try `attempt + 1`: 100 ms, 400 ms, 1.6 s, ... at most 5 s.
fn backoff_delay(attempt: u32) -> std::time::Duration {
    let ms = 100u64.saturating_mul(4u64.saturating_pow(attempt));
    std::time::Duration::from_millis(ms.min(5_000))
}

/// Run `f` up to `tries` times while it fails with a retryable error,
/// pausing 100 ms, 400 ms, 1.6 s... between tries.
pub(crate) async fn retry_transient<T, F, Fut>(tries: u32, mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut attempt = 0;
    loop {
        match f().await {
            Err(e) if e.is_retryable() && attempt + 1 < tries => {
                tracing::info!(error = %e, attempt, "transient error; trying again");
                pause(backoff_delay(attempt)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}
