//! In-memory [`CostSource`].
//!
//! Rows are kept per organization in a [`CostTable`]: columns by day with
//! interned dimension values, built at insert time, so aggregation reads
//! only the days of the query's range, allocates nothing per row, and the
//! memory for names grows with distinct values rather than rows (see
//! `benches/aggregate.rs` and the README's Performance section).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;

use crate::core::table::CostTable;
use crate::model::{CostBucket, CostQuery, CostRow, Currency, OrganizationId};
use crate::ports::CostSource;
use crate::Result;

/// A [`CostSource`] over rows held in memory, per organization. Clones share
/// the rows. Aggregation follows
/// [`aggregate_rows`](crate::core::aggregate::aggregate_rows) exactly.
#[derive(Clone, Debug, Default)]
pub struct MemoryCostSource {
    rows: Arc<RwLock<HashMap<OrganizationId, Arc<CostTable>>>>,
    currency: Currency,
    complete_through: Option<chrono::NaiveDate>,
    labels: Vec<(crate::model::Dimension, String)>,
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

    /// The same source with a watermark: data is complete through `day`
    /// for every organization (see [`CostSource::complete_through`]).
    pub fn with_complete_through(mut self, day: chrono::NaiveDate) -> Self {
        self.complete_through = Some(day);
        self
    }

    /// The same source with its own label for a dimension (see
    /// [`CostSource::dimension_label`]): rows read from cloud billing put
    /// the service in `model`, so `with_dimension_label(Dimension::Model,
    /// "Service")`.
    pub fn with_dimension_label(
        mut self,
        dimension: crate::model::Dimension,
        label: impl Into<String>,
    ) -> Self {
        self.labels.retain(|(d, _)| *d != dimension);
        self.labels.push((dimension, label.into()));
        self
    }

    /// Add rows to an organization. A query running at the same time sees
    /// the rows as they were before (the table is copied on write then).
    pub fn insert(&self, org: OrganizationId, rows: impl IntoIterator<Item = CostRow>) {
        let mut map = self.rows.write().unwrap_or_else(|p| p.into_inner());
        let table = Arc::make_mut(map.entry(org).or_default());
        for row in rows {
            table.push(&row);
        }
    }

    /// Number of rows of an organization.
    pub fn len(&self, org: OrganizationId) -> usize {
        self.snapshot(org).map_or(0, |r| r.len())
    }

    /// Whether the organization has no rows.
    pub fn is_empty(&self, org: OrganizationId) -> bool {
        self.len(org) == 0
    }

    fn snapshot(&self, org: OrganizationId) -> Option<Arc<CostTable>> {
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
        match self.snapshot(org) {
            Some(table) => table.aggregate(query, self.currency),
            None => CostTable::new().aggregate(query, self.currency),
        }
    }

    fn default_currency(&self) -> Currency {
        self.currency
    }

    async fn complete_through(&self, _org: OrganizationId) -> Result<Option<chrono::NaiveDate>> {
        Ok(self.complete_through)
    }

    fn dimension_label(&self, dimension: &crate::model::Dimension) -> Option<String> {
        self.labels
            .iter()
            .find(|(d, _)| d == dimension)
            .map(|(_, l)| l.clone())
    }
}
