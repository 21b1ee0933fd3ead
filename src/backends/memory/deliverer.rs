//! A [`Deliverer`] that records what it is asked to send.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::model::RecipientKind;
use crate::ports::{Deliverer, Delivery, DeliveryReceipt};
use crate::{Error, Result};

#[derive(Debug, Default)]
struct Inner {
    sent: Vec<Delivery>,
    failing: HashSet<String>,
    failing_retryable: bool,
    attempts: usize,
}

/// Records deliveries instead of sending them, for every recipient kind.
/// It can be told to fail for chosen recipient addresses. Clones share the
/// record.
#[derive(Clone, Debug, Default)]
pub struct RecordingDeliverer {
    inner: Arc<Mutex<Inner>>,
}

/// The error a [`RecordingDeliverer`] returns for a failing recipient.
#[derive(Debug, thiserror::Error)]
#[error("recipient {0} is set to fail")]
pub struct InjectedFailure(pub String);

impl RecordingDeliverer {
    /// A deliverer that succeeds for everyone.
    pub fn new() -> Self {
        Self::default()
    }

    /// Make deliveries to `address` fail (retryable when `retryable`).
    pub fn fail_for(&self, address: impl Into<String>, retryable: bool) {
        let mut i = self.lock();
        i.failing.insert(address.into());
        i.failing_retryable = retryable;
    }

    /// Let deliveries to `address` succeed again.
    pub fn heal(&self, address: &str) {
        self.lock().failing.remove(address);
    }

    /// Successful deliveries so far, in order.
    pub fn sent(&self) -> Vec<Delivery> {
        self.lock().sent.clone()
    }

    /// Number of calls to `deliver`, failed ones included.
    pub fn attempts(&self) -> usize {
        self.lock().attempts
    }

    /// Forget the record.
    pub fn clear(&self) {
        let mut i = self.lock();
        i.sent.clear();
        i.attempts = 0;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl Deliverer for RecordingDeliverer {
    fn supports(&self, _kind: RecipientKind) -> bool {
        true
    }

    async fn deliver(&self, delivery: &Delivery) -> Result<DeliveryReceipt> {
        let mut i = self.lock();
        i.attempts += 1;
        if i.failing.contains(&delivery.recipient.address) {
            let retryable = i.failing_retryable;
            return Err(Error::backend(
                "recording",
                retryable,
                InjectedFailure(delivery.recipient.key()),
            ));
        }
        i.sent.push(delivery.clone());
        Ok(DeliveryReceipt {
            message_id: Some(format!("recorded-{}", i.sent.len())),
        })
    }
}
