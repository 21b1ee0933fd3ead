//! Slack delivery (feature `slack`).
//!
//! A Slack recipient's address is either an incoming-webhook URL or a
//! channel (`#name` or a channel id):
//!
//! - **Incoming webhook**: the message ([`build_blocks`]) is POSTed to the
//!   URL. Webhooks cannot carry files, so the report is reached through
//!   the "Download report" button (when the delivery has a signed link).
//! - **Bot token** (channels): `chat.postMessage` posts the message, then,
//!   when the delivery has an attachment, the file is uploaded with the
//!   current flow: `files.getUploadURLExternal` (form: `filename`,
//!   `length`), a POST of the bytes to the returned `upload_url` (without
//!   the token), and `files.completeUploadExternal` (form: `files`,
//!   `channel_id` of the posted message). `files.upload` is retired.
//!
//! Every request goes through the shared client: retries on connection
//! errors, timeouts, 429 (honouring `Retry-After`) and 5xx, the SSRF guard,
//! capped response bodies. A Web API answer `{"ok":false}` fails the
//! delivery with Slack's error code; `ratelimited`, `internal_error`,
//! `fatal_error`, `service_unavailable` and `request_timeout` are
//! retryable. Slack has no idempotency key, so once the message is posted
//! the delivery counts as sent: a failed file upload after it is logged
//! (a `tracing` warning) and does not fail the delivery, which would make
//! the engine post the message a second time. The message keeps its
//! "Download report" button when the host signs links.
//!
//! Errors name the recipient with the webhook URL's path hidden; the bot
//! token never appears in `Debug` output or errors.

mod blocks;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;
use url::Url;

pub use blocks::{
    build_blocks, escape_mrkdwn, fallback_text, truncate, MAX_BLOCKS, MAX_BUTTON_URL_CHARS,
    MAX_FIELD_CHARS, MAX_HEADER_CHARS, MAX_SECTION_CHARS,
};

use crate::backends::http::{HttpClient, HttpOptions};
use crate::backends::routing::DeliveryFailure;
use crate::model::{OrganizationId, RecipientKind, ReportRecipient};
use crate::ports::{Deliverer, Delivery, DeliveryReceipt};
use crate::{Error, Result};

/// A Slack bot token (`xoxb-…`). Its `Debug` output never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SlackToken(String);

impl SlackToken {
    /// Wrap a token.
    pub fn new(token: impl Into<String>) -> Self {
        SlackToken(token.into())
    }
}

impl fmt::Debug for SlackToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SlackToken(<redacted>)")
    }
}

/// Configuration of a [`SlackDeliverer`].
///
/// Defaults: no bot token (incoming webhooks only), Web API at
/// `https://slack.com/api/`, five breakdown lines, [`HttpOptions::default`].
#[derive(Clone, Debug)]
pub struct SlackConfig {
    /// Bot token for channel recipients and file uploads, for a
    /// single-tenant host. Ignored when `token_resolver` is set.
    pub bot_token: Option<SlackToken>,
    /// Per-organization bot tokens (many tenants): when set, an
    /// organization's channel deliveries use only its own token (its own
    /// Slack workspace), never a shared one.
    pub token_resolver: Option<Arc<dyn SlackTokenResolver>>,
    /// Base URL of the Web API (a `/` is added when missing).
    pub api_base: String,
    /// Lines of the top breakdown shown.
    pub top_items: usize,
    /// HTTP client settings: retries, SSRF guard, timeouts.
    pub http: HttpOptions,
}

impl Default for SlackConfig {
    fn default() -> Self {
        SlackConfig {
            bot_token: None,
            token_resolver: None,
            api_base: "https://slack.com/api/".to_owned(),
            top_items: 5,
            http: HttpOptions::default(),
        }
    }
}

/// Where each organization's Slack bot token comes from (the host's secret
/// store, e.g. the token of the workspace the organization installed the
/// app in).
#[async_trait]
pub trait SlackTokenResolver: fmt::Debug + Send + Sync + 'static {
    /// `org`'s bot token; `Ok(None)` when it has none (its channel
    /// recipients fail, not retryably; incoming-webhook URLs need no token).
    async fn bot_token(&self, org: OrganizationId) -> Result<Option<SlackToken>>;
}

/// Delivers to recipients of kind `slack`. See the [module docs](self).
#[derive(Clone)]
pub struct SlackDeliverer {
    client: HttpClient,
    token: Option<SlackToken>,
    resolver: Option<Arc<dyn SlackTokenResolver>>,
    api_base: Url,
    top_items: usize,
}

impl fmt::Debug for SlackDeliverer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackDeliverer")
            .field("bot_token", &self.token)
            .field("api_base", &self.api_base.as_str())
            .field("top_items", &self.top_items)
            .field("http", self.client.options())
            .finish()
    }
}

#[derive(Debug, Deserialize)]
struct ApiAnswer {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    ts: Option<String>,
    #[serde(default)]
    upload_url: Option<String>,
    #[serde(default)]
    file_id: Option<String>,
}

const RETRYABLE_API_ERRORS: [&str; 5] = [
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

enum Form<'a> {
    Json(serde_json::Value),
    Urlencoded(Vec<(&'a str, String)>),
}

impl SlackDeliverer {
    /// A deliverer. [`Error::Invalid`] on `apiBase` when the base URL
    /// cannot take method names.
    pub fn new(config: SlackConfig) -> Result<Self> {
        let mut api_base =
            Url::parse(&config.api_base).map_err(|e| Error::invalid("apiBase", e))?;
        if api_base.cannot_be_a_base() {
            return Err(Error::invalid("apiBase", "not a base URL"));
        }
        if !api_base.path().ends_with('/') {
            let path = format!("{}/", api_base.path());
            api_base.set_path(&path);
        }
        Ok(SlackDeliverer {
            client: HttpClient::new(config.http, "slack")?,
            token: config.bot_token,
            resolver: config.token_resolver,
            api_base,
            top_items: config.top_items,
        })
    }

    fn fail(recipient: &ReportRecipient, reason: impl fmt::Display, retryable: bool) -> Error {
        DeliveryFailure::new(recipient, reason).into_error("slack", retryable)
    }

    async fn call(
        &self,
        token: &SlackToken,
        method: &str,
        recipient: &ReportRecipient,
        form: Form<'_>,
    ) -> Result<ApiAnswer> {
        let url = self
            .api_base
            .join(method)
            .map_err(|e| Self::fail(recipient, format!("bad API URL: {e}"), false))?;
        let (content_type, body) = match form {
            Form::Json(v) => ("application/json; charset=utf-8", serde_json::to_vec(&v)?),
            Form::Urlencoded(pairs) => {
                let mut s = url::form_urlencoded::Serializer::new(String::new());
                for (k, v) in pairs {
                    s.append_pair(k, &v);
                }
                ("application/x-www-form-urlencoded", s.finish().into_bytes())
            }
        };
        let resp = self
            .client
            .send(&url, recipient, |c| {
                c.post(url.clone())
                    .bearer_auth(&token.0)
                    .header(reqwest::header::CONTENT_TYPE, content_type)
                    .body(body.clone())
            })
            .await?;
        let answer: ApiAnswer = serde_json::from_slice(&resp.body).map_err(|e| {
            let why = if resp.truncated {
                "the answer was larger than the response cap".to_owned()
            } else {
                e.to_string()
            };
            Self::fail(
                recipient,
                format!("{method}: unreadable answer: {why}"),
                false,
            )
        })?;
        if !answer.ok {
            let code = answer.error.as_deref().unwrap_or("unknown_error");
            return Err(Self::fail(
                recipient,
                format!("{method} failed: {code}"),
                RETRYABLE_API_ERRORS.contains(&code),
            ));
        }
        Ok(answer)
    }

    async fn via_webhook(&self, url: Url, delivery: &Delivery) -> Result<DeliveryReceipt> {
        let payload = json!({
            "text": fallback_text(delivery),
            "blocks": build_blocks(delivery, self.top_items),
        });
        let body = serde_json::to_vec(&payload)?;
        self.client
            .send(&url, &delivery.recipient, |c| {
                c.post(url.clone())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone())
            })
            .await?;
        Ok(DeliveryReceipt { message_id: None })
    }

    async fn via_bot(&self, channel: &str, delivery: &Delivery) -> Result<DeliveryReceipt> {
        let recipient = &delivery.recipient;
        let resolved = match &self.resolver {
            Some(r) => r.bot_token(delivery.organization_id).await?,
            None => self.token.clone(),
        };
        let Some(token) = &resolved else {
            let why = if self.resolver.is_some() {
                "a bot token is required to post to a channel (none for this organization)"
            } else {
                "a bot token is required to post to a channel"
            };
            return Err(Self::fail(recipient, why, false));
        };
        let posted = self
            .call(
                token,
                "chat.postMessage",
                recipient,
                Form::Json(json!({
                    "channel": channel,
                    "text": fallback_text(delivery),
                    "blocks": build_blocks(delivery, self.top_items),
                    "unfurl_links": false,
                })),
            )
            .await?;
        let channel_id = posted.channel.unwrap_or_else(|| channel.to_owned());
        if let Some(file) = &delivery.attachment {
            // The message is posted: a failed upload must not fail the
            // delivery, or a retry would post the message a second time.
            // The message carries the download link when the host signs
            // links; the failure is logged.
            if let Err(e) = self.upload(token, recipient, file, channel_id).await {
                tracing::warn!(
                    org = %delivery.organization_id,
                    error = %e,
                    "Slack message posted, but attaching the report file failed"
                );
            }
        }
        Ok(DeliveryReceipt {
            message_id: posted.ts,
        })
    }

    /// Attach `file` to the channel through the external upload flow.
    async fn upload(
        &self,
        token: &SlackToken,
        recipient: &ReportRecipient,
        file: &crate::model::Artifact,
        channel_id: String,
    ) -> Result<()> {
        let ticket = self
            .call(
                token,
                "files.getUploadURLExternal",
                recipient,
                Form::Urlencoded(vec![
                    ("filename", file.file_name.clone()),
                    ("length", file.bytes.len().to_string()),
                ]),
            )
            .await?;
        let (Some(upload_url), Some(file_id)) = (ticket.upload_url, ticket.file_id) else {
            return Err(Self::fail(
                recipient,
                "files.getUploadURLExternal answered without upload_url or file_id",
                false,
            ));
        };
        let upload_url = Url::parse(&upload_url).map_err(|_| {
            Self::fail(
                recipient,
                "files.getUploadURLExternal: bad upload_url",
                false,
            )
        })?;
        self.client
            .send(&upload_url, recipient, |c| {
                c.post(upload_url.clone())
                    .header(reqwest::header::CONTENT_TYPE, file.media_type.as_str())
                    .body(file.bytes.clone())
            })
            .await?;
        let files = json!([{"id": file_id, "title": file.file_name}]).to_string();
        self.call(
            token,
            "files.completeUploadExternal",
            recipient,
            Form::Urlencoded(vec![("files", files), ("channel_id", channel_id)]),
        )
        .await?;
        Ok(())
    }
}

#[async_trait]
impl Deliverer for SlackDeliverer {
    fn supports(&self, kind: RecipientKind) -> bool {
        kind == RecipientKind::Slack
    }

    async fn deliver(&self, delivery: &Delivery) -> Result<DeliveryReceipt> {
        let recipient = &delivery.recipient;
        if recipient.kind != RecipientKind::Slack {
            return Err(Self::fail(recipient, "not a Slack recipient", false));
        }
        let address = recipient.address.trim();
        if address.starts_with("https://") || address.starts_with("http://") {
            let url = Url::parse(address)
                .map_err(|_| Self::fail(recipient, "the webhook URL is not a URL", false))?;
            self.via_webhook(url, delivery).await
        } else if address.is_empty() {
            Err(Self::fail(recipient, "empty channel", false))
        } else {
            self.via_bot(address, delivery).await
        }
    }
}
