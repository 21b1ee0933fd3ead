//! The providers' usage and cost APIs over HTTP (feature `provider-api`):
//! OpenAI's organization Usage API (completions) and Costs API, and
//! Anthropic's Admin API messages usage report and cost report. Every page
//! is fetched (cursor `next_page` while `has_more`) and read by the page
//! readers of [`backends::file`](crate::backends::file), so the usage comes
//! back in the crate's token convention, ready for
//! [`price_usage`](crate::core::pricing::price_usage) or a
//! [`PriceBook`](crate::core::pricebook::PriceBook), and the costs as
//! [`CostRow`]s to [`reconcile`](crate::core::pricebook::reconcile) against.
//!
//! | call | OpenAI | Anthropic |
//! |---|---|---|
//! | [`ProviderApi::usage`] | `GET /v1/organization/usage/completions`, daily buckets grouped by `model`, `project_id`, `batch` | `GET /v1/organizations/usage_report/messages`, daily buckets grouped by `model`, `workspace_id`, `service_tier`, `context_window` |
//! | [`ProviderApi::costs`] | `GET /v1/organization/costs`, daily, grouped by `line_item`, `project_id` | `GET /v1/organizations/cost_report`, daily, grouped by `workspace_id`, `description` |
//! | authentication | `Authorization: Bearer <admin key>` | `x-api-key: <admin key>`, `anthropic-version: 2023-06-01` |
//!
//! Rate limits: a 429 (or 5xx) is retried after its `Retry-After` (up to
//! the policy's `max_retry_after`) or an exponential backoff, as the
//! Slack and webhook backends do ([`RetryPolicy`](crate::backends::http::RetryPolicy)).
//! The admin key is never written to errors, logs or `Debug`.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use url::Url;

use crate::backends::file::{
    next_page, read_anthropic_cost_page, read_anthropic_usage_page, read_openai_costs_page,
    read_openai_usage_page,
};
use crate::backends::http::{HttpClient, HttpOptions};
use crate::model::{CostRow, UsageRecord};
use crate::{Error, Result};

/// Which provider's API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    /// OpenAI (`https://api.openai.com/`).
    OpenAi,
    /// Anthropic (`https://api.anthropic.com/`).
    Anthropic,
}

impl Provider {
    fn base_url(self) -> &'static str {
        match self {
            Provider::OpenAi => "https://api.openai.com/",
            Provider::Anthropic => "https://api.anthropic.com/",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Anthropic => "anthropic",
        }
    }
}

/// Pages fetched at most for one call (a cursor that never ends is an
/// error, not an endless loop).
pub const MAX_PAGES: usize = 10_000;

/// A client of one provider's usage and cost APIs for one organization
/// (its admin key).
#[derive(Clone)]
pub struct ProviderApi {
    provider: Provider,
    key: String,
    base: Url,
    http: HttpClient,
}

impl fmt::Debug for ProviderApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderApi")
            .field("provider", &self.provider)
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

/// What one call asks for.
enum Call {
    Usage,
    Costs,
}

impl ProviderApi {
    /// A client of `provider`'s API with `admin_key` and the default HTTP
    /// options, responses read up to 32 MiB.
    ///
    /// # Errors
    /// [`Error::Invalid`] on `adminKey` when it is blank or not a valid
    /// header value; [`Error::Backend`] when the HTTP client cannot be
    /// built.
    pub fn new(provider: Provider, admin_key: impl Into<String>) -> Result<Self> {
        Self::with_options(
            provider,
            admin_key,
            HttpOptions {
                max_response_bytes: 32 * 1024 * 1024,
                ..HttpOptions::default()
            },
        )
    }

    /// [`new`](Self::new) with HTTP options (retries, timeouts, outbound
    /// policy, response size cap).
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_options(
        provider: Provider,
        admin_key: impl Into<String>,
        opts: HttpOptions,
    ) -> Result<Self> {
        let key = admin_key.into();
        if key.trim().is_empty() {
            return Err(Error::invalid("adminKey", "the admin API key is empty"));
        }
        if reqwest::header::HeaderValue::from_str(&key).is_err() {
            return Err(Error::invalid(
                "adminKey",
                "the admin API key is not a valid header value",
            ));
        }
        let base = Url::parse(provider.base_url()).map_err(|e| Error::invalid("baseUrl", e))?;
        Ok(ProviderApi {
            provider,
            key,
            base,
            http: HttpClient::new(opts, provider.name())?,
        })
    }

    /// Send requests to `url` instead of the provider's (a proxy, a
    /// gateway, a test server): the API paths are joined to it.
    ///
    /// # Errors
    /// [`Error::Invalid`] on `baseUrl` when it is not an absolute http(s)
    /// URL.
    pub fn with_base_url(mut self, url: &str) -> Result<Self> {
        let mut base = Url::parse(url).map_err(|e| Error::invalid("baseUrl", e))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(Error::invalid("baseUrl", "not an absolute http(s) URL"));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        self.base = base;
        Ok(self)
    }

    /// Which provider.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// Usage from `from` to `to` (daily buckets starting at or after
    /// `from`, ending at or before `to`), every page.
    ///
    /// # Errors
    /// [`Error::Invalid`] on `to` when it is not after `from`; a page that
    /// does not read, prefixed with `page N`; [`Error::Backend`] for HTTP
    /// failures (retryable for 429, 5xx and connection errors once retries
    /// are spent).
    pub async fn usage(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<UsageRecord>> {
        let mut out = Vec::new();
        self.each_page(Call::Usage, from, to, |body| {
            out.extend(match self.provider {
                Provider::OpenAi => read_openai_usage_page(body)?,
                Provider::Anthropic => read_anthropic_usage_page(body)?,
            });
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Costs from `from` to `to` (daily buckets), every page.
    ///
    /// # Errors
    /// As [`usage`](Self::usage).
    pub async fn costs(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<CostRow>> {
        let mut out = Vec::new();
        self.each_page(Call::Costs, from, to, |body| {
            out.extend(match self.provider {
                Provider::OpenAi => read_openai_costs_page(body)?,
                Provider::Anthropic => read_anthropic_cost_page(body)?,
            });
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// The URL of one page.
    fn url(
        &self,
        call: &Call,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        page: Option<&str>,
    ) -> Result<Url> {
        let path = match (self.provider, call) {
            (Provider::OpenAi, Call::Usage) => "v1/organization/usage/completions",
            (Provider::OpenAi, Call::Costs) => "v1/organization/costs",
            (Provider::Anthropic, Call::Usage) => "v1/organizations/usage_report/messages",
            (Provider::Anthropic, Call::Costs) => "v1/organizations/cost_report",
        };
        let mut url = self
            .base
            .join(path)
            .map_err(|e| Error::invalid("baseUrl", e))?;
        {
            let mut q = url.query_pairs_mut();
            match self.provider {
                Provider::OpenAi => {
                    q.append_pair("start_time", &from.timestamp().to_string());
                    q.append_pair("end_time", &to.timestamp().to_string());
                    q.append_pair("bucket_width", "1d");
                    let groups: &[&str] = match call {
                        Call::Usage => &["model", "project_id", "batch"],
                        Call::Costs => &["line_item", "project_id"],
                    };
                    for g in groups {
                        q.append_pair("group_by", g);
                    }
                    q.append_pair("limit", "31");
                }
                Provider::Anthropic => {
                    q.append_pair(
                        "starting_at",
                        &from.to_rfc3339_opts(SecondsFormat::Secs, true),
                    );
                    q.append_pair("ending_at", &to.to_rfc3339_opts(SecondsFormat::Secs, true));
                    q.append_pair("bucket_width", "1d");
                    let groups: &[&str] = match call {
                        Call::Usage => &["model", "workspace_id", "service_tier", "context_window"],
                        Call::Costs => &["workspace_id", "description"],
                    };
                    for g in groups {
                        q.append_pair("group_by[]", g);
                    }
                    q.append_pair("limit", "31");
                }
            }
            if let Some(p) = page {
                q.append_pair("page", p);
            }
        }
        Ok(url)
    }

    /// Fetch every page of `call`, handing each body to `read`.
    async fn each_page(
        &self,
        call: Call,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        mut read: impl FnMut(&str) -> Result<()>,
    ) -> Result<()> {
        if to <= from {
            return Err(Error::invalid("to", "the end is not after the start"));
        }
        let backend = self.provider.name();
        let mut cursor: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        for n in 1..=MAX_PAGES {
            let url = self.url(&call, from, to, cursor.as_deref())?;
            let resp = self
                .http
                .send_with(
                    &url,
                    |reason, retry| {
                        Error::backend(backend, retry, format!("{backend} API page {n}: {reason}"))
                    },
                    |client| {
                        let req = client.get(url.clone()).header("accept", "application/json");
                        match self.provider {
                            Provider::OpenAi => req.bearer_auth(&self.key),
                            Provider::Anthropic => req
                                .header("x-api-key", &self.key)
                                .header("anthropic-version", "2023-06-01"),
                        }
                    },
                )
                .await?;
            if resp.truncated {
                return Err(Error::backend(
                    backend,
                    false,
                    format!(
                        "{backend} API page {n}: the response is larger than the {} bytes allowed",
                        self.http.options().max_response_bytes
                    ),
                ));
            }
            let body = std::str::from_utf8(&resp.body).map_err(|_| {
                Error::backend(backend, false, format!("{backend} API page {n}: not UTF-8"))
            })?;
            let page_field = format!("page {n}");
            read(body).map_err(|e| e.in_field(&page_field))?;
            match next_page(body).map_err(|e| e.in_field(&page_field))? {
                None => return Ok(()),
                Some(next) => {
                    if !seen.insert(next.clone()) {
                        return Err(Error::invalid(
                            format!("{page_field}.next_page"),
                            "the API returned a cursor it returned before",
                        ));
                    }
                    cursor = Some(next);
                }
            }
        }
        Err(Error::backend(
            backend,
            false,
            format!("{backend} API: more than {MAX_PAGES} pages"),
        ))
    }
}
