//! Signed webhooks (feature `webhook`): a JSON event POSTed to the
//! recipient's URL, signed per the Standard Webhooks specification, with
//! retries ([`RetryPolicy`](crate::backends::http::RetryPolicy)) and the
//! SSRF guard ([`OutboundPolicy`](crate::backends::http::OutboundPolicy)).
//!
//! ## What is sent
//!
//! `POST <recipient address>` with `Content-Type: application/json` and
//! the headers
//! - `webhook-id`: the delivery's idempotency key, the same on every retry
//!   (receivers drop duplicates by it);
//! - `webhook-timestamp`: Unix seconds of the attempt, from the
//!   [`Clock`](crate::ports::Clock) in [`HttpOptions::clock`];
//! - `webhook-signature`: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
//!   for each configured secret, space-separated (key rotation).
//!
//! The body ([`WebhookEvent`]):
//!
//! ```json
//! {"type":"report.generated","timestamp":"2026-11-01T09:00:00Z",
//!  "data":{"deliveryId":"…","organizationId":"…","reportId":"…",
//!          "name":"Monthly costs","reportType":"executive",
//!          "period":{"start":"2026-10-01","end":"2026-10-31"},"currency":"USD",
//!          "summaryData":{"totalCost":"123.45","totalRequests":1000,…},
//!          "subject":"…","downloadUrl":"https://…"}}
//! ```
//!
//! Digests send `"type":"digest.generated"`. Fields without a value are
//! left out. Redirects are not followed (a 3xx is a failure). Receivers
//! check requests with [`verify`].

mod signature;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use url::Url;

pub use signature::{
    default_tolerance, signature_header, verify, SignedHeaders, WebhookSecret, HEADER_ID,
    HEADER_SIGNATURE, HEADER_TIMESTAMP, MIN_SECRET_BYTES,
};

use crate::backends::http::{HttpClient, HttpOptions};
use crate::backends::routing::DeliveryFailure;
use crate::model::{
    Currency, DateRange, OrganizationId, RecipientKind, ReportId, ReportSummaryData, ReportType,
};
use crate::ports::{Deliverer, Delivery, DeliveryKind, DeliveryReceipt};
use crate::{Error, Result};

/// Where each organization's webhook signing secrets come from (the host's
/// secret store), so one tenant's events can never be validly signed for
/// another tenant's receiver.
#[async_trait]
pub trait WebhookSecretResolver: fmt::Debug + Send + Sync + 'static {
    /// The secrets signing `org`'s deliveries to `url` (newest first during
    /// a rotation); `Ok(None)` or an empty list when the organization has
    /// none: that recipient fails, not retryably. An `Err` is passed
    /// through (make it retryable when a lookup may work later).
    async fn secrets(&self, org: OrganizationId, url: &str) -> Result<Option<Vec<WebhookSecret>>>;
}

/// Configuration of a [`WebhookDeliverer`].
#[derive(Clone, Debug, Default)]
pub struct WebhookConfig {
    /// Secrets signing every request (newest first during a rotation), for
    /// a single-tenant host. Ignored when `secret_resolver` is set.
    pub secrets: Vec<WebhookSecret>,
    /// Secrets of particular endpoints (by exact URL), replacing
    /// `secrets` for them. Ignored when `secret_resolver` is set.
    pub endpoint_secrets: HashMap<String, Vec<WebhookSecret>>,
    /// Per-organization secrets (many tenants): when set, every delivery is
    /// signed only with its organization's secrets, never with the global ones.
    pub secret_resolver: Option<Arc<dyn WebhookSecretResolver>>,
    /// HTTP client settings: retries, SSRF guard, timeouts, clock.
    pub http: HttpOptions,
}

impl WebhookConfig {
    /// A configuration signing with `secret` and default HTTP settings.
    pub fn new(secret: WebhookSecret) -> Self {
        WebhookConfig {
            secrets: vec![secret],
            ..Self::default()
        }
    }
}

/// The webhook event body.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WebhookEvent {
    /// `report.generated` or `digest.generated`.
    #[serde(rename = "type")]
    pub event_type: &'static str,
    /// When the event happened (RFC 3339, UTC): the report's generation
    /// time, else the time of the delivery.
    pub timestamp: String,
    /// The event's data.
    pub data: WebhookEventData,
}

/// The `data` of a [`WebhookEvent`].
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEventData {
    /// The delivery's idempotency key (also the `webhook-id` header).
    pub delivery_id: String,
    /// The organization.
    pub organization_id: OrganizationId,
    /// The report, for report deliveries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_id: Option<ReportId>,
    /// The report's name (its title), else the subject.
    pub name: String,
    /// The report type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_type: Option<ReportType>,
    /// The period covered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<DateRange>,
    /// Currency of the amounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    /// Headline figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary_data: Option<ReportSummaryData>,
    /// The message's subject line.
    pub subject: String,
    /// Signed download link of the report file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
}

impl WebhookEvent {
    /// The event for `delivery`; `now` is used when the delivery carries no
    /// document.
    pub fn from_delivery(delivery: &Delivery, now: DateTime<Utc>) -> Self {
        let doc = delivery.document.as_deref();
        let event_type = match delivery.kind {
            DeliveryKind::Report => "report.generated",
            DeliveryKind::Digest => "digest.generated",
        };
        let at = doc.map(|d| d.generated_at).unwrap_or(now);
        WebhookEvent {
            event_type,
            timestamp: at.to_rfc3339_opts(SecondsFormat::Secs, true),
            data: WebhookEventData {
                delivery_id: delivery.idempotency_key.clone(),
                organization_id: delivery.organization_id,
                report_id: delivery.report_id,
                name: doc
                    .map(|d| d.title.clone())
                    .unwrap_or_else(|| delivery.subject.clone()),
                report_type: doc.map(|d| d.report_type),
                period: doc.map(|d| d.date_range),
                currency: doc.map(|d| d.currency),
                summary_data: doc.map(|d| d.summary_data.clone()),
                subject: delivery.subject.clone(),
                download_url: delivery.download_url.clone(),
            },
        }
    }
}

/// Delivers to recipients of kind `webhook`. See the [module docs](self).
#[derive(Clone)]
pub struct WebhookDeliverer {
    client: HttpClient,
    secrets: Vec<WebhookSecret>,
    endpoint_secrets: HashMap<String, Vec<WebhookSecret>>,
    resolver: Option<Arc<dyn WebhookSecretResolver>>,
}

impl fmt::Debug for WebhookDeliverer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookDeliverer")
            .field("secrets", &self.secrets.len())
            .field("endpoints_with_own_secrets", &self.endpoint_secrets.len())
            .field("per_organization", &self.resolver.is_some())
            .field("http", self.client.options())
            .finish()
    }
}

impl WebhookDeliverer {
    /// A deliverer. [`Error::Invalid`] on `secrets` when no secret and no
    /// resolver is configured (webhooks are never sent unsigned).
    pub fn new(config: WebhookConfig) -> Result<Self> {
        if config.secrets.is_empty()
            && config.endpoint_secrets.is_empty()
            && config.secret_resolver.is_none()
        {
            return Err(Error::invalid(
                "secrets",
                "at least one signing secret is required",
            ));
        }
        Ok(WebhookDeliverer {
            client: HttpClient::new(config.http, "webhook")?,
            secrets: config.secrets,
            endpoint_secrets: config.endpoint_secrets,
            resolver: config.secret_resolver,
        })
    }
}

fn header_safe(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

#[async_trait]
impl Deliverer for WebhookDeliverer {
    fn supports(&self, kind: RecipientKind) -> bool {
        kind == RecipientKind::Webhook
    }

    async fn deliver(&self, delivery: &Delivery) -> Result<DeliveryReceipt> {
        let recipient = &delivery.recipient;
        let fail =
            |reason: &str| DeliveryFailure::new(recipient, reason).into_error("webhook", false);
        if recipient.kind != RecipientKind::Webhook {
            return Err(fail("not a webhook recipient"));
        }
        let url = Url::parse(&recipient.address).map_err(|_| fail("the address is not a URL"))?;
        let resolved;
        let secrets: &[WebhookSecret] = match &self.resolver {
            Some(r) => {
                resolved = r
                    .secrets(delivery.organization_id, &recipient.address)
                    .await?
                    .unwrap_or_default();
                &resolved
            }
            None => self
                .endpoint_secrets
                .get(&recipient.address)
                .unwrap_or(&self.secrets),
        };
        if secrets.is_empty() {
            return Err(fail(
                "no signing secret is configured for this organization and endpoint",
            ));
        }
        let msg_id = delivery.idempotency_key.as_str();
        if !header_safe(msg_id) {
            return Err(fail(
                "the idempotency key cannot be a webhook-id (empty, spaces or non-ASCII)",
            ));
        }
        let clock = self.client.options().clock.clone();
        let event = WebhookEvent::from_delivery(delivery, clock.now());
        let body = serde_json::to_vec(&event)?;
        self.client
            .send(&url, recipient, |client| {
                let ts = clock.now().timestamp();
                client
                    .post(url.clone())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header(HEADER_ID, msg_id)
                    .header(HEADER_TIMESTAMP, ts.to_string())
                    .header(
                        HEADER_SIGNATURE,
                        signature_header(secrets, msg_id, ts, &body),
                    )
                    .body(body.clone())
            })
            .await?;
        Ok(DeliveryReceipt {
            message_id: Some(msg_id.to_owned()),
        })
    }
}
