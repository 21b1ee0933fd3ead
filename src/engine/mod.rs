//! Orchestration over the ports: an [`Engine`] holds the host's
//! [`CostSource`], [`ReportStore`], renderers, [`Deliverer`] and [`Clock`].

pub mod chargeback;

use std::fmt;
use std::sync::Arc;

use crate::backends::memory::SystemClock;
use crate::model::ReportFormat;
use crate::ports::{Clock, CostSource, Deliverer, Renderer, ReportStore};
use crate::{Error, Result};

/// The ports an engine runs on. Build one with [`Engine::builder`].
#[derive(Clone)]
pub struct Engine {
    costs: Arc<dyn CostSource>,
    store: Arc<dyn ReportStore>,
    renderers: Vec<Arc<dyn Renderer>>,
    deliverer: Option<Arc<dyn Deliverer>>,
    clock: Arc<dyn Clock>,
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
                    "no renderer for {} in this engine",
                    format.extension()
                ))
            })
    }
}

/// Builder of an [`Engine`]. A cost source and a store are required; the
/// clock defaults to the system clock and renderers to every format this
/// build supports.
#[derive(Default)]
pub struct EngineBuilder {
    costs: Option<Arc<dyn CostSource>>,
    store: Option<Arc<dyn ReportStore>>,
    renderers: Vec<Arc<dyn Renderer>>,
    deliverer: Option<Arc<dyn Deliverer>>,
    clock: Option<Arc<dyn Clock>>,
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

    /// The engine.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `costSource` or `store` when one is missing.
    pub fn build(self) -> Result<Engine> {
        let mut renderers = self.renderers;
        if !renderers.iter().any(|r| r.format() == ReportFormat::Json) {
            renderers.push(Arc::new(crate::render::JsonRenderer));
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
        })
    }
}
