//! A [`Deliverer`] that routes each recipient to the backend of its kind,
//! and resolves recipients of kind `user` to an e-mail address through a
//! [`UserResolver`] the host provides. Always compiled.
//!
//! ```
//! use std::sync::Arc;
//! use tokentra_reports::backends::memory::RecordingDeliverer;
//! use tokentra_reports::backends::routing::{RoutingDeliverer, StaticUserResolver};
//! use tokentra_reports::model::RecipientKind;
//! use tokentra_reports::ports::Deliverer;
//!
//! let mail = RecordingDeliverer::new();
//! let users = StaticUserResolver::new().with_user("u-1", "ana@example.com", Some("Ana"));
//! let router = RoutingDeliverer::builder()
//!     .email(Arc::new(mail))
//!     .user_resolver(Arc::new(users))
//!     .build();
//! assert!(router.supports(RecipientKind::User));
//! assert!(!router.supports(RecipientKind::Slack));
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::model::{OrganizationId, RecipientKind, ReportRecipient};
use crate::ports::{Deliverer, Delivery, DeliveryReceipt};
use crate::{Error, Result};

/// Why one recipient could not be served: the `source` of the
/// [`Error::Backend`] every delivery backend of the crate returns. It names
/// the recipient (with secrets in URLs hidden, see [`recipient_label`]) and
/// the reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("delivery to {recipient} failed: {reason}")]
pub struct DeliveryFailure {
    /// The recipient, as [`recipient_label`] shows it.
    pub recipient: String,
    /// What went wrong, in plain words.
    pub reason: String,
}

impl DeliveryFailure {
    /// A failure for `recipient`.
    pub fn new(recipient: &ReportRecipient, reason: impl fmt::Display) -> Self {
        DeliveryFailure {
            recipient: recipient_label(recipient),
            reason: reason.to_string(),
        }
    }

    /// Wrap into the crate's [`Error::Backend`].
    pub fn into_error(self, backend: &'static str, retryable: bool) -> Error {
        Error::backend(backend, retryable, self)
    }
}

/// A recipient as it may appear in errors and logs: `kind:address`, except
/// that URL addresses (Slack incoming webhooks, webhook endpoints) keep only
/// their scheme, host and port, because their path and query often carry a
/// secret token (`slack:https://hooks.slack.com/…`).
pub fn recipient_label(recipient: &ReportRecipient) -> String {
    let key = recipient.key();
    match url::Url::parse(&recipient.address) {
        Ok(u) if u.has_host() => {
            let kind = key.split(':').next().unwrap_or("recipient");
            let host = u.host_str().unwrap_or("");
            match u.port() {
                Some(p) => format!("{kind}:{}://{host}:{p}/…", u.scheme()),
                None => format!("{kind}:{}://{host}/…", u.scheme()),
            }
        }
        _ => key,
    }
}

/// A user of the host, as a [`UserResolver`] finds them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedUser {
    /// Their e-mail address.
    pub email: String,
    /// Their display name, if known.
    pub name: Option<String>,
}

/// Finds the e-mail address of a host user (recipients of kind `user`).
#[async_trait]
pub trait UserResolver: Send + Sync + 'static {
    /// The user `user_id` of `org`; `Ok(None)` when there is no such user
    /// (the delivery then fails for that recipient, not retryable). An
    /// `Err` is passed through (make it retryable when a lookup may work
    /// later).
    async fn resolve(&self, org: OrganizationId, user_id: &str) -> Result<Option<ResolvedUser>>;
}

/// A [`UserResolver`] over a fixed map (tests, small hosts). Ignores the
/// organization.
#[derive(Clone, Debug, Default)]
pub struct StaticUserResolver {
    users: HashMap<String, ResolvedUser>,
}

impl StaticUserResolver {
    /// An empty resolver (every user unknown).
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a user.
    pub fn with_user(mut self, id: &str, email: &str, name: Option<&str>) -> Self {
        self.users.insert(
            id.to_owned(),
            ResolvedUser {
                email: email.to_owned(),
                name: name.map(str::to_owned),
            },
        );
        self
    }
}

#[async_trait]
impl UserResolver for StaticUserResolver {
    async fn resolve(&self, _org: OrganizationId, user_id: &str) -> Result<Option<ResolvedUser>> {
        Ok(self.users.get(user_id).cloned())
    }
}

/// A [`UserResolver`] from a synchronous closure
/// `Fn(OrganizationId, &str) -> Option<ResolvedUser>`.
pub struct FnUserResolver<F>(pub F);

impl<F> fmt::Debug for FnUserResolver<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnUserResolver")
    }
}

#[async_trait]
impl<F> UserResolver for FnUserResolver<F>
where
    F: Fn(OrganizationId, &str) -> Option<ResolvedUser> + Send + Sync + 'static,
{
    async fn resolve(&self, org: OrganizationId, user_id: &str) -> Result<Option<ResolvedUser>> {
        Ok((self.0)(org, user_id))
    }
}

/// Sends e-mail recipients to the e-mail backend, Slack recipients to the
/// Slack backend, webhook recipients to the webhook backend, and user
/// recipients, once resolved to an address, to the e-mail backend.
///
/// A recipient whose kind has no backend is [`Error::Unsupported`]; an
/// unknown user is a non-retryable [`Error::Backend`] (backend `user`)
/// whose source is a [`DeliveryFailure`] naming the recipient. A resolved
/// user keeps the delivery's idempotency key, so retries stay recognisable.
#[derive(Clone, Default)]
pub struct RoutingDeliverer {
    email: Option<Arc<dyn Deliverer>>,
    slack: Option<Arc<dyn Deliverer>>,
    webhook: Option<Arc<dyn Deliverer>>,
    users: Option<Arc<dyn UserResolver>>,
}

impl fmt::Debug for RoutingDeliverer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoutingDeliverer")
            .field("email", &self.email.is_some())
            .field("slack", &self.slack.is_some())
            .field("webhook", &self.webhook.is_some())
            .field("user_resolver", &self.users.is_some())
            .finish()
    }
}

/// Builder of a [`RoutingDeliverer`].
#[derive(Debug, Default)]
pub struct RoutingDelivererBuilder {
    inner: RoutingDeliverer,
}

impl RoutingDelivererBuilder {
    /// The backend of e-mail (and resolved user) recipients.
    pub fn email(mut self, d: Arc<dyn Deliverer>) -> Self {
        self.inner.email = Some(d);
        self
    }
    /// The backend of Slack recipients.
    pub fn slack(mut self, d: Arc<dyn Deliverer>) -> Self {
        self.inner.slack = Some(d);
        self
    }
    /// The backend of webhook recipients.
    pub fn webhook(mut self, d: Arc<dyn Deliverer>) -> Self {
        self.inner.webhook = Some(d);
        self
    }
    /// How user recipients become e-mail addresses.
    pub fn user_resolver(mut self, r: Arc<dyn UserResolver>) -> Self {
        self.inner.users = Some(r);
        self
    }
    /// The deliverer.
    pub fn build(self) -> RoutingDeliverer {
        self.inner
    }
}

impl RoutingDeliverer {
    /// Start wiring one.
    pub fn builder() -> RoutingDelivererBuilder {
        RoutingDelivererBuilder::default()
    }

    fn backend(&self, kind: RecipientKind) -> Option<&Arc<dyn Deliverer>> {
        match kind {
            RecipientKind::Email | RecipientKind::User => self.email.as_ref(),
            RecipientKind::Slack => self.slack.as_ref(),
            RecipientKind::Webhook => self.webhook.as_ref(),
        }
    }
}

#[async_trait]
impl Deliverer for RoutingDeliverer {
    fn supports(&self, kind: RecipientKind) -> bool {
        match kind {
            RecipientKind::User => self.users.is_some() && self.email.is_some(),
            other => self.backend(other).is_some(),
        }
    }

    async fn deliver(&self, delivery: &Delivery) -> Result<DeliveryReceipt> {
        let recipient = &delivery.recipient;
        let Some(backend) = self.backend(recipient.kind) else {
            return Err(Error::Unsupported(format!(
                "no deliverer is configured for {}",
                recipient_label(recipient)
            )));
        };
        if recipient.kind != RecipientKind::User {
            return backend.deliver(delivery).await;
        }
        let Some(users) = &self.users else {
            return Err(Error::Unsupported(format!(
                "no user resolver is configured for {}",
                recipient_label(recipient)
            )));
        };
        let user = users
            .resolve(delivery.organization_id, &recipient.address)
            .await?
            .ok_or_else(|| {
                DeliveryFailure::new(recipient, "unknown user: no e-mail address found")
                    .into_error("user", false)
            })?;
        if user.email.trim().is_empty() {
            return Err(
                DeliveryFailure::new(recipient, "the user has an empty e-mail address")
                    .into_error("user", false),
            );
        }
        let mut resolved = delivery.clone();
        resolved.recipient = ReportRecipient {
            kind: RecipientKind::Email,
            address: user.email,
            name: user.name.or_else(|| recipient.name.clone()),
        };
        backend.deliver(&resolved).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::memory::RecordingDeliverer;
    use crate::ports::DeliveryKind;

    fn delivery(recipient: ReportRecipient) -> Delivery {
        Delivery {
            idempotency_key: "rep-1:user:u-1".into(),
            organization_id: OrganizationId::new(),
            kind: DeliveryKind::Report,
            report_id: None,
            recipient,
            subject: "Weekly costs".into(),
            html_body: None,
            text_body: "Total $1.00".into(),
            attachment: None,
            download_url: None,
            document: None,
        }
    }

    fn user(id: &str) -> ReportRecipient {
        ReportRecipient {
            kind: RecipientKind::User,
            address: id.into(),
            name: None,
        }
    }

    #[tokio::test]
    async fn user_recipient_is_resolved_to_email_with_same_key() {
        let mail = RecordingDeliverer::new();
        let router = RoutingDeliverer::builder()
            .email(Arc::new(mail.clone()))
            .user_resolver(Arc::new(StaticUserResolver::new().with_user(
                "u-1",
                "ana@example.com",
                Some("Ana"),
            )))
            .build();
        router.deliver(&delivery(user("u-1"))).await.unwrap();
        let sent = mail.sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].recipient, {
            let mut r = ReportRecipient::email("ana@example.com");
            r.name = Some("Ana".into());
            r
        });
        assert_eq!(sent[0].idempotency_key, "rep-1:user:u-1");
    }

    #[tokio::test]
    async fn unknown_user_is_a_failed_recipient_not_a_panic() {
        let mail = RecordingDeliverer::new();
        let router = RoutingDeliverer::builder()
            .email(Arc::new(mail.clone()))
            .user_resolver(Arc::new(FnUserResolver(|_, _: &str| None)))
            .build();
        let err = router.deliver(&delivery(user("ghost"))).await.unwrap_err();
        assert!(!err.is_retryable());
        match &err {
            Error::Backend {
                backend, source, ..
            } => {
                assert_eq!(*backend, "user");
                let f = source.downcast_ref::<DeliveryFailure>().unwrap();
                assert_eq!(f.recipient, "user:ghost");
                assert_eq!(f.reason, "unknown user: no e-mail address found");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            err.to_string(),
            "user backend error: delivery to user:ghost failed: unknown user: no e-mail address found"
        );
        assert_eq!(mail.attempts(), 0);
    }

    #[tokio::test]
    async fn kinds_route_to_their_backend_and_missing_ones_are_unsupported() {
        let mail = RecordingDeliverer::new();
        let hooks = RecordingDeliverer::new();
        let router = RoutingDeliverer::builder()
            .email(Arc::new(mail.clone()))
            .webhook(Arc::new(hooks.clone()))
            .build();
        assert!(router.supports(RecipientKind::Email));
        assert!(router.supports(RecipientKind::Webhook));
        assert!(!router.supports(RecipientKind::Slack));
        assert!(!router.supports(RecipientKind::User));

        let hook = ReportRecipient {
            kind: RecipientKind::Webhook,
            address: "https://example.com/hook?token=s3cret".into(),
            name: None,
        };
        router.deliver(&delivery(hook)).await.unwrap();
        assert_eq!(hooks.sent().len(), 1);
        assert_eq!(mail.sent().len(), 0);

        let slack = ReportRecipient {
            kind: RecipientKind::Slack,
            address: "https://hooks.slack.com/services/T0/B0/s3cret".into(),
            name: None,
        };
        let err = router.deliver(&delivery(slack)).await.unwrap_err();
        match err {
            Error::Unsupported(msg) => {
                assert_eq!(
                    msg,
                    "no deliverer is configured for slack:https://hooks.slack.com/…"
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        let err = router.deliver(&delivery(user("u-1"))).await.unwrap_err();
        assert!(
            matches!(err, Error::Unsupported(ref m) if m == "no user resolver is configured for user:u-1")
        );
    }

    #[test]
    fn labels_hide_url_paths_and_queries() {
        let r = ReportRecipient {
            kind: RecipientKind::Webhook,
            address: "http://127.0.0.1:8080/in?key=abc".into(),
            name: None,
        };
        assert_eq!(recipient_label(&r), "webhook:http://127.0.0.1:8080/…");
        assert_eq!(
            recipient_label(&ReportRecipient::email("a@b.example")),
            "email:a@b.example"
        );
        let c = ReportRecipient {
            kind: RecipientKind::Slack,
            address: "#finops".into(),
            name: None,
        };
        assert_eq!(recipient_label(&c), "slack:#finops");
    }
}
