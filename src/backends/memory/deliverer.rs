//! A [`Deliverer`] that records what it is asked to send.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::model::RecipientKind;
use crate::ports::{Deliverer, Delivery, DeliveryReceipt};
use crate::{Error, Result};

/// How deliveries to one address fail.
#[derive(Clone, Copy, Debug)]
struct Failure {
    retryable: bool,
    /// Fail this many more times, then succeed (`None`: until healed).
    remaining: Option<u32>,
}

#[derive(Debug, Default)]
struct Inner {
    sent: Vec<Delivery>,
    history: Vec<Attempt>,
    failing: HashMap<String, Failure>,
}

/// One call to [`RecordingDeliverer::deliver`](Deliverer::deliver) and how
/// it ended.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// What the engine asked to send.
    pub delivery: Delivery,
    /// How it ended.
    pub outcome: AttemptOutcome,
}

/// How an [`Attempt`] ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// Recorded as sent, with this message id.
    Sent {
        /// `recorded-<n>`, n counting the sent deliveries from 1.
        message_id: String,
    },
    /// Failed as configured for the recipient.
    Failed {
        /// Whether the error said a retry may succeed.
        retryable: bool,
    },
}

/// Records deliveries instead of sending them, for every recipient kind, in
/// the manner of lettre's stub transport: every attempt with its outcome
/// ([`history`](Self::history)), the successful ones
/// ([`sent`](Self::sent)). Deliveries to chosen addresses fail, each
/// address with its own retryable flag, until healed or for a number of
/// attempts. Clones share the record.
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

    /// Make deliveries to `address` fail (retryable when `retryable`)
    /// until [`heal`](Self::heal)ed.
    pub fn fail_for(&self, address: impl Into<String>, retryable: bool) {
        self.lock().failing.insert(
            address.into(),
            Failure {
                retryable,
                remaining: None,
            },
        );
    }

    /// Make the next `times` deliveries to `address` fail (retryable when
    /// `retryable`), and the ones after succeed.
    pub fn fail_times(&self, address: impl Into<String>, times: u32, retryable: bool) {
        self.lock().failing.insert(
            address.into(),
            Failure {
                retryable,
                remaining: Some(times),
            },
        );
    }

    /// Let deliveries to `address` succeed again.
    pub fn heal(&self, address: &str) {
        self.lock().failing.remove(address);
    }

    /// Successful deliveries so far, in order.
    pub fn sent(&self) -> Vec<Delivery> {
        self.lock().sent.clone()
    }

    /// Every attempt so far, failed ones included, in order.
    pub fn history(&self) -> Vec<Attempt> {
        self.lock().history.clone()
    }

    /// Number of calls to `deliver`, failed ones included.
    pub fn attempts(&self) -> usize {
        self.lock().history.len()
    }

    /// Forget the record (the failures set up stay).
    pub fn clear(&self) {
        let mut i = self.lock();
        i.sent.clear();
        i.history.clear();
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
        let address = &delivery.recipient.address;
        let failure = match i.failing.get_mut(address) {
            Some(f) if f.remaining != Some(0) => {
                if let Some(n) = f.remaining.as_mut() {
                    *n -= 1;
                }
                Some(f.retryable)
            }
            _ => None,
        };
        if let Some(retryable) = failure {
            i.history.push(Attempt {
                delivery: delivery.clone(),
                outcome: AttemptOutcome::Failed { retryable },
            });
            return Err(Error::backend(
                "recording",
                retryable,
                InjectedFailure(delivery.recipient.key()),
            ));
        }
        i.sent.push(delivery.clone());
        let message_id = format!("recorded-{}", i.sent.len());
        i.history.push(Attempt {
            delivery: delivery.clone(),
            outcome: AttemptOutcome::Sent {
                message_id: message_id.clone(),
            },
        });
        Ok(DeliveryReceipt {
            message_id: Some(message_id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{OrganizationId, ReportRecipient};
    use crate::ports::DeliveryKind;

    fn delivery(to: &str) -> Delivery {
        Delivery {
            idempotency_key: format!("key-{to}"),
            organization_id: OrganizationId::new(),
            kind: DeliveryKind::Digest,
            report_id: None,
            recipient: ReportRecipient::email(to),
            subject: "Daily digest".into(),
            html_body: None,
            text_body: "Total cost: $1.00".into(),
            attachment: None,
            download_url: None,
            document: None,
        }
    }

    fn retryable(r: &Result<DeliveryReceipt>) -> Option<bool> {
        r.as_ref().err().map(Error::is_retryable)
    }

    #[tokio::test]
    async fn every_attempt_is_recorded_with_its_outcome_and_failures_are_per_recipient() {
        let d = RecordingDeliverer::new();
        d.fail_for("down@example.com", false);
        d.fail_times("flaky@example.com", 2, true);
        let ok = d.deliver(&delivery("ana@example.com")).await.unwrap();
        assert_eq!(ok.message_id.as_deref(), Some("recorded-1"));
        // Each failing address keeps its own retryable flag.
        assert_eq!(
            retryable(&d.deliver(&delivery("down@example.com")).await),
            Some(false)
        );
        assert_eq!(
            retryable(&d.deliver(&delivery("flaky@example.com")).await),
            Some(true)
        );
        assert_eq!(
            retryable(&d.deliver(&delivery("flaky@example.com")).await),
            Some(true)
        );
        // The third attempt to the flaky address goes through.
        assert!(d.deliver(&delivery("flaky@example.com")).await.is_ok());
        assert_eq!(
            retryable(&d.deliver(&delivery("down@example.com")).await),
            Some(false)
        );
        d.heal("down@example.com");
        assert!(d.deliver(&delivery("down@example.com")).await.is_ok());

        let outcomes: Vec<(String, AttemptOutcome)> = d
            .history()
            .into_iter()
            .map(|a| (a.delivery.recipient.address, a.outcome))
            .collect();
        let sent = |n: usize| AttemptOutcome::Sent {
            message_id: format!("recorded-{n}"),
        };
        let failed = |retryable| AttemptOutcome::Failed { retryable };
        assert_eq!(
            outcomes,
            vec![
                ("ana@example.com".into(), sent(1)),
                ("down@example.com".into(), failed(false)),
                ("flaky@example.com".into(), failed(true)),
                ("flaky@example.com".into(), failed(true)),
                ("flaky@example.com".into(), sent(2)),
                ("down@example.com".into(), failed(false)),
                ("down@example.com".into(), sent(3)),
            ]
        );
        assert_eq!(d.attempts(), 7);
        assert_eq!(d.sent().len(), 3);
        d.clear();
        assert_eq!((d.attempts(), d.sent().len()), (0, 0));
    }
}
