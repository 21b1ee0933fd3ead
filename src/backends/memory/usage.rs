//! An in-memory [`UsageSource`].

use std::collections::HashMap;
use std::sync::RwLock;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::model::{OrganizationId, UsageRecord};
use crate::ports::UsageSource;
use crate::{Error, Result};

/// Usage records held in memory, per organization (tests, examples, a
/// host that prices logs itself and keeps the last months at hand).
#[derive(Debug, Default)]
pub struct MemoryUsageSource {
    records: RwLock<HashMap<OrganizationId, Vec<UsageRecord>>>,
}

impl MemoryUsageSource {
    /// An empty source.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add records of `org`.
    pub fn insert(&self, org: OrganizationId, records: impl IntoIterator<Item = UsageRecord>) {
        let mut map = self
            .records
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(org).or_default().extend(records);
    }
}

#[async_trait]
impl UsageSource for MemoryUsageSource {
    async fn usage(
        &self,
        org: OrganizationId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<UsageRecord>> {
        if to < from {
            return Err(Error::invalid("to", "the end is before the start"));
        }
        let map = self
            .records
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(map
            .get(&org)
            .map(|v| {
                v.iter()
                    .filter(|r| r.timestamp >= from && r.timestamp < to)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }
}
