//! What the Slack, webhook and provider API backends share: an HTTP client
//! (reqwest with rustls) that retries with backoff ([`RetryPolicy`]),
//! refuses private destinations ([`OutboundPolicy`]), follows no
//! redirects, and reads response bodies only up to a size cap. Compiled
//! with `slack`, `webhook` or `provider-api`.

mod guard;
mod retry;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

pub use guard::{is_public, BlockedAddress, OutboundPolicy};
pub use retry::{is_retryable_status, parse_retry_after, RetryPolicy};

use crate::backends::memory::SystemClock;
#[cfg(any(feature = "slack", feature = "webhook"))]
use crate::backends::routing::DeliveryFailure;
#[cfg(any(feature = "slack", feature = "webhook"))]
use crate::model::ReportRecipient;
use crate::ports::Clock;
use crate::{Error, Result};

/// HTTP settings of the Slack and webhook backends.
///
/// Defaults: [`RetryPolicy::default`], the strict [`OutboundPolicy`], a
/// 15 s timeout per request (connect, send and read the response), a 5 s
/// connect timeout, response bodies read up to 64 KiB, the system clock
/// (for `Retry-After` dates and webhook timestamps).
#[derive(Clone)]
pub struct HttpOptions {
    /// Retries.
    pub retry: RetryPolicy,
    /// Allowed destinations.
    pub outbound: OutboundPolicy,
    /// Timeout of one attempt, from connecting to the end of the response.
    pub request_timeout: Duration,
    /// Timeout of establishing a connection.
    pub connect_timeout: Duration,
    /// Bytes of a response body read at most; the rest is ignored.
    pub max_response_bytes: usize,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Where the time comes from.
    pub clock: Arc<dyn Clock>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            retry: RetryPolicy::default(),
            outbound: OutboundPolicy::default(),
            request_timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(5),
            max_response_bytes: 64 * 1024,
            user_agent: concat!("tokentra-reports/", env!("CARGO_PKG_VERSION")).to_owned(),
            clock: Arc::new(SystemClock),
        }
    }
}

impl fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpOptions")
            .field("retry", &self.retry)
            .field("outbound", &self.outbound)
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

/// A successful (2xx) response.
#[derive(Debug)]
pub(crate) struct HttpResponse {
    /// Status code.
    #[allow(dead_code)]
    pub status: u16,
    /// Body, at most `max_response_bytes`.
    #[cfg_attr(not(feature = "slack"), allow(dead_code))]
    pub body: Vec<u8>,
    /// Whether the body was longer than the cap.
    #[cfg_attr(not(feature = "slack"), allow(dead_code))]
    pub truncated: bool,
}

/// The shared client.
#[derive(Clone)]
pub(crate) struct HttpClient {
    client: reqwest::Client,
    opts: HttpOptions,
    backend: &'static str,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("backend", &self.backend)
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

fn tls_config() -> std::result::Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The error's message and its causes, without the URL (which may carry a
/// secret).
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

fn blocked_in(e: &reqwest::Error) -> Option<BlockedAddress> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(b) = s.downcast_ref::<BlockedAddress>() {
            return Some(*b);
        }
        source = s.source();
    }
    None
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let cut: String = text.chars().take(200).collect();
    format!(": {cut}")
}

impl HttpClient {
    pub(crate) fn new(opts: HttpOptions, backend: &'static str) -> Result<Self> {
        let tls = tls_config().map_err(|e| Error::backend(backend, false, e))?;
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(opts.connect_timeout)
            .timeout(opts.request_timeout)
            .user_agent(opts.user_agent.clone())
            .dns_resolver(guard::GuardedResolver {
                policy: Arc::new(opts.outbound.clone()),
            })
            .build()
            .map_err(|e| Error::backend(backend, false, describe(e)))?;
        Ok(HttpClient {
            client,
            opts,
            backend,
        })
    }

    pub(crate) fn options(&self) -> &HttpOptions {
        &self.opts
    }

    #[cfg(any(feature = "slack", feature = "webhook"))]
    fn fail(&self, recipient: &ReportRecipient, reason: impl fmt::Display, retry: bool) -> Error {
        DeliveryFailure::new(recipient, reason).into_error(self.backend, retry)
    }

    /// Send the request `build` makes (called once per attempt) to `url`,
    /// retrying per the [`RetryPolicy`]. A 2xx is `Ok`; anything else is an
    /// [`Error::Backend`] naming `recipient`, retryable when the last
    /// failure was.
    #[cfg(any(feature = "slack", feature = "webhook"))]
    pub(crate) async fn send<F>(
        &self,
        url: &Url,
        recipient: &ReportRecipient,
        build: F,
    ) -> Result<HttpResponse>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        self.send_with(
            url,
            |reason, retry| self.fail(recipient, reason, retry),
            build,
        )
        .await
    }

    /// [`send`](Self::send) with the error made by `fail(reason, retryable)`.
    pub(crate) async fn send_with<F>(
        &self,
        url: &Url,
        fail: impl Fn(String, bool) -> Error,
        build: F,
    ) -> Result<HttpResponse>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        self.opts
            .outbound
            .check_url(url)
            .map_err(|reason| fail(reason, false))?;
        let policy = self.opts.retry;
        let max_attempts = policy.max_attempts.max(1);
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let (reason, retry_after) = match build(&self.client).send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retry_after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, self.opts.clock.now()));
                    let success = resp.status().is_success();
                    let (body, truncated) = self.read_capped(resp).await;
                    if success {
                        return Ok(HttpResponse {
                            status,
                            body,
                            truncated,
                        });
                    }
                    if (300..400).contains(&status) {
                        return Err(fail(
                            format!("HTTP {status}: redirects are not followed"),
                            false,
                        ));
                    }
                    let reason = format!("HTTP {status}{}", snippet(&body));
                    if !is_retryable_status(status) {
                        return Err(fail(reason, false));
                    }
                    (reason, retry_after)
                }
                Err(e) => {
                    if let Some(blocked) = blocked_in(&e) {
                        return Err(fail(blocked.to_string(), false));
                    }
                    let retryable =
                        e.is_timeout() || e.is_connect() || e.is_request() || e.is_body();
                    let reason = describe(e);
                    if !retryable {
                        return Err(fail(reason, false));
                    }
                    (reason, None)
                }
            };
            if attempt >= max_attempts {
                return Err(fail(
                    format!("{reason} (gave up after {attempt} attempts)"),
                    true,
                ));
            }
            let wait = match retry_after {
                Some(d) if d > policy.max_retry_after => {
                    return Err(fail(
                        format!("{reason} (server asked to retry after {} s)", d.as_secs()),
                        true,
                    ));
                }
                Some(d) => d,
                None => policy.backoff(attempt, fastrand::f64()),
            };
            tokio::time::sleep(wait).await;
        }
    }

    async fn read_capped(&self, mut resp: reqwest::Response) -> (Vec<u8>, bool) {
        let cap = self.opts.max_response_bytes;
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    let room = cap.saturating_sub(body.len());
                    if chunk.len() > room {
                        body.extend_from_slice(chunk.get(..room).unwrap_or_default());
                        return (body, true);
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) | Err(_) => return (body, false),
            }
        }
    }
}
