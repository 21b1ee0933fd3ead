//! In-memory [`CostSource`] over vectors of rows.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;

use crate::core::aggregate::aggregate_rows;
use crate::model::{CostBucket, CostQuery, CostRow, Currency, OrganizationId};
use crate::ports::CostSource;
use crate::Result;

/// A [`CostSource`] over rows held in memory, per organization. Clones share
/// the rows. Aggregation follows [`aggregate_rows`].
#[derive(Clone, Debug, Default)]
pub struct MemoryCostSource {
    rows: Arc<RwLock<HashMap<OrganizationId, Arc<Vec<CostRow>>>>>,
    currency: Currency,
}

impl MemoryCostSource {
    /// An empty source whose rows without a currency are in USD.
    pub fn new() -> Self {
        Self::default()
    }

    /// A source holding `rows` for one organization.
    pub fn with_rows(org: OrganizationId, rows: Vec<CostRow>) -> Self {
        let s = Self::new();
        s.insert(org, rows);
        s
    }

    /// The same source with another default currency.
    pub fn with_default_currency(mut self, currency: Currency) -> Self {
        self.currency = currency;
        self
    }

    /// Add rows to an organization.
    pub fn insert(&self, org: OrganizationId, rows: impl IntoIterator<Item = CostRow>) {
        let mut map = self.rows.write().unwrap_or_else(|p| p.into_inner());
        let entry = map.entry(org).or_default();
        Arc::make_mut(entry).extend(rows);
    }

    /// Number of rows of an organization.
    pub fn len(&self, org: OrganizationId) -> usize {
        self.snapshot(org).map_or(0, |r| r.len())
    }

    /// Whether the organization has no rows.
    pub fn is_empty(&self, org: OrganizationId) -> bool {
        self.len(org) == 0
    }

    fn snapshot(&self, org: OrganizationId) -> Option<Arc<Vec<CostRow>>> {
        self.rows
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&org)
            .cloned()
    }
}

#[async_trait]
impl CostSource for MemoryCostSource {
    async fn aggregate(&self, org: OrganizationId, query: &CostQuery) -> Result<Vec<CostBucket>> {
        let rows = self.snapshot(org).unwrap_or_default();
        aggregate_rows(rows.iter(), query, self.currency)
    }

    fn default_currency(&self) -> Currency {
        self.currency
    }
}
