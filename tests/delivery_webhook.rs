//! Signed webhooks against real HTTP servers on loopback (wiremock).
#![cfg(feature = "webhook")]

mod delivery_common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use serde_json::json;
use tokentra_reports::backends::http::{HttpOptions, OutboundPolicy, RetryPolicy};
use tokentra_reports::backends::memory::ManualClock;
use tokentra_reports::backends::routing::DeliveryFailure;
use tokentra_reports::backends::webhook::{
    default_tolerance, verify, SignedHeaders, WebhookConfig, WebhookDeliverer, WebhookSecret,
};
use tokentra_reports::model::RecipientKind;
use tokentra_reports::ports::{Deliverer, Delivery};
use tokentra_reports::Error;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NOW: i64 = 1_793_523_900; // 2026-11-01T09:05:00Z

fn clock() -> ManualClock {
    ManualClock::new(Utc.timestamp_opt(NOW, 0).unwrap())
}

fn fast_http(clock: &ManualClock) -> HttpOptions {
    HttpOptions {
        retry: RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            max_retry_after: Duration::from_secs(2),
        },
        outbound: OutboundPolicy::new()
            .allow_http()
            .allow_ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        request_timeout: Duration::from_secs(5),
        clock: Arc::new(clock.clone()),
        ..HttpOptions::default()
    }
}

fn deliverer(http: HttpOptions) -> WebhookDeliverer {
    let mut config = WebhookConfig::new(WebhookSecret::parse(SECRET).unwrap());
    config.http = http;
    WebhookDeliverer::new(config).unwrap()
}

fn hook(server: &MockServer) -> Delivery {
    delivery_common::delivery(RecipientKind::Webhook, &format!("{}/hook", server.uri()))
}

fn failure(err: &Error) -> (&'static str, bool, DeliveryFailure) {
    match err {
        Error::Backend {
            backend,
            retryable,
            source,
        } => (
            backend,
            *retryable,
            source
                .downcast_ref::<DeliveryFailure>()
                .expect("a DeliveryFailure")
                .clone(),
        ),
        other => panic!("unexpected error {other:?}"),
    }
}

fn header<'a>(req: &'a wiremock::Request, name: &str) -> &'a str {
    req.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn sends_a_signed_standard_webhook_with_the_report_payload() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let clock = clock();
    let d = hook(&server);
    let receipt = deliverer(fast_http(&clock)).deliver(&d).await.unwrap();
    assert_eq!(receipt.message_id.as_deref(), Some("rep_7f3a:webhook:1"));

    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 1);
    let req = &reqs[0];
    assert_eq!(header(req, "content-type"), "application/json");
    assert_eq!(header(req, "webhook-id"), "rep_7f3a:webhook:1");
    assert_eq!(header(req, "webhook-timestamp"), NOW.to_string());
    let secret = WebhookSecret::parse(SECRET).unwrap();
    assert_eq!(
        header(req, "webhook-signature"),
        secret.sign("rep_7f3a:webhook:1", NOW, &req.body)
    );
    verify(
        &[secret],
        &SignedHeaders {
            id: header(req, "webhook-id"),
            timestamp: header(req, "webhook-timestamp"),
            signature: header(req, "webhook-signature"),
        },
        &req.body,
        Utc.timestamp_opt(NOW + 10, 0).unwrap(),
        default_tolerance(),
    )
    .unwrap();

    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        body,
        json!({
            "type": "report.generated",
            "timestamp": "2026-11-01T09:00:00Z",
            "data": {
                "deliveryId": "rep_7f3a:webhook:1",
                "organizationId": d.organization_id.to_string(),
                "reportId": d.report_id.unwrap().to_string(),
                "name": "Monthly AI spend",
                "reportType": "executive",
                "period": {"start": "2026-10-01", "end": "2026-10-31"},
                "currency": "USD",
                "summaryData": {
                    "totalCost": num("1234.5"),
                    "totalRequests": 15230,
                    "costChange": num("12.34"),
                    "topProvider": "openai",
                    "topModel": "gpt-4o",
                    "anomalyCount": 2
                },
                "subject": "Monthly AI spend: October 2026",
                "downloadUrl": "https://reports.example.com/d/abc?sig=xyz&exp=1"
            }
        })
    );
}

#[tokio::test]
async fn rotation_signs_with_every_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let clock = clock();
    let old = WebhookSecret::from_bytes(vec![7u8; 32]).unwrap();
    let new = WebhookSecret::parse(SECRET).unwrap();
    let mut config = WebhookConfig::new(new.clone());
    config.secrets.push(old.clone());
    config.http = fast_http(&clock);
    WebhookDeliverer::new(config)
        .unwrap()
        .deliver(&hook(&server))
        .await
        .unwrap();
    let req = &server.received_requests().await.unwrap()[0];
    let id = header(req, "webhook-id");
    assert_eq!(
        header(req, "webhook-signature"),
        format!(
            "{} {}",
            new.sign(id, NOW, &req.body),
            old.sign(id, NOW, &req.body)
        )
    );
}

#[tokio::test]
async fn fails_twice_then_succeeds_with_exactly_three_requests_and_one_webhook_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let clock = clock();
    deliverer(fast_http(&clock))
        .deliver(&hook(&server))
        .await
        .unwrap();
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 3);
    for r in &reqs {
        assert_eq!(header(r, "webhook-id"), "rep_7f3a:webhook:1");
    }
    assert_eq!(reqs[0].body, reqs[2].body);
}

#[tokio::test]
async fn a_400_is_tried_once_and_not_retryable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_string("bad payload"))
        .mount(&server)
        .await;
    let clock = clock();
    let err = deliverer(fast_http(&clock))
        .deliver(&hook(&server))
        .await
        .unwrap_err();
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert!(!err.is_retryable());
    let (backend, retryable, f) = failure(&err);
    assert_eq!(backend, "webhook");
    assert!(!retryable);
    let port = server.address().port();
    assert_eq!(f.recipient, format!("webhook:http://127.0.0.1:{port}/…"));
    assert_eq!(f.reason, "HTTP 400: bad payload");
}

#[tokio::test]
async fn persistent_5xx_gives_up_after_max_attempts_as_retryable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let clock = clock();
    let err = deliverer(fast_http(&clock))
        .deliver(&hook(&server))
        .await
        .unwrap_err();
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
    assert!(err.is_retryable());
    assert_eq!(
        failure(&err).2.reason,
        "HTTP 500 (gave up after 4 attempts)"
    );
}

#[tokio::test]
async fn retry_after_is_honoured_and_a_too_long_one_ends_the_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let clock = clock();
    let started = Instant::now();
    deliverer(fast_http(&clock))
        .deliver(&hook(&server))
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "3600"))
        .mount(&server)
        .await;
    let err = deliverer(fast_http(&clock))
        .deliver(&hook(&server))
        .await
        .unwrap_err();
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert!(err.is_retryable());
    assert_eq!(
        failure(&err).2.reason,
        "HTTP 429 (server asked to retry after 3600 s)"
    );
}

#[tokio::test]
async fn timeouts_are_retried_then_retryable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(800)))
        .mount(&server)
        .await;
    let clock = clock();
    let mut http = fast_http(&clock);
    http.request_timeout = Duration::from_millis(100);
    http.retry.max_attempts = 2;
    let err = deliverer(http).deliver(&hook(&server)).await.unwrap_err();
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    assert!(err.is_retryable());
    assert!(
        failure(&err)
            .2
            .reason
            .contains("(gave up after 2 attempts)"),
        "{err}"
    );
}

#[tokio::test]
async fn connection_refused_is_retryable() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let clock = clock();
    let mut http = fast_http(&clock);
    http.retry.max_attempts = 2;
    let d = delivery_common::delivery(
        RecipientKind::Webhook,
        &format!("http://127.0.0.1:{port}/hook"),
    );
    let err = deliverer(http).deliver(&d).await.unwrap_err();
    assert!(err.is_retryable());
    let reason = failure(&err).2.reason;
    assert!(reason.ends_with("(gave up after 2 attempts)"), "{reason}");
    assert!(
        !reason.contains("/hook"),
        "the URL stays out of errors: {reason}"
    );
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("Location", format!("{}/elsewhere", server.uri())),
        )
        .mount(&server)
        .await;
    let clock = clock();
    let err = deliverer(fast_http(&clock))
        .deliver(&hook(&server))
        .await
        .unwrap_err();
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].url.path(), "/hook");
    assert!(!err.is_retryable());
    assert_eq!(
        failure(&err).2.reason,
        "HTTP 307: redirects are not followed"
    );
}

#[tokio::test]
async fn ssrf_guard_refuses_loopback_unless_allow_listed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let clock = clock();
    let mut http = fast_http(&clock);
    http.outbound = OutboundPolicy::new().allow_http();
    let strict = deliverer(http);

    let err = strict.deliver(&hook(&server)).await.unwrap_err();
    assert!(!err.is_retryable());
    assert_eq!(
        failure(&err).2.reason,
        "destination address 127.0.0.1 is not public and not allow-listed"
    );

    let port = server.address().port();
    let by_name = delivery_common::delivery(
        RecipientKind::Webhook,
        &format!("http://localhost:{port}/hook"),
    );
    let err = strict.deliver(&by_name).await.unwrap_err();
    assert!(!err.is_retryable());
    assert!(
        failure(&err).2.reason.starts_with("destination address "),
        "{err}"
    );

    let metadata = delivery_common::delivery(
        RecipientKind::Webhook,
        "http://169.254.169.254/latest/meta-data/",
    );
    let err = strict.deliver(&metadata).await.unwrap_err();
    assert_eq!(
        failure(&err).2.reason,
        "destination address 169.254.169.254 is not public and not allow-listed"
    );

    let mut http = fast_http(&clock);
    http.outbound = OutboundPolicy::new();
    let err = deliverer(http).deliver(&hook(&server)).await.unwrap_err();
    assert_eq!(
        failure(&err).2.reason,
        "plain http URLs are not allowed (use https)"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 0);
}

#[tokio::test]
async fn large_response_bodies_are_read_only_up_to_the_cap() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(422).set_body_string("x".repeat(5_000_000)))
        .mount(&server)
        .await;
    let clock = clock();
    let mut http = fast_http(&clock);
    http.max_response_bytes = 1024;
    let err = deliverer(http).deliver(&hook(&server)).await.unwrap_err();
    let reason = failure(&err).2.reason;
    assert_eq!(reason, format!("HTTP 422: {}", "x".repeat(200)));
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let secret = WebhookSecret::parse(SECRET).unwrap();
    let config = WebhookConfig::new(secret.clone());
    let text = format!("{config:?}");
    assert!(!text.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "{text}");
    assert!(text.contains("WebhookSecret(<redacted>)"), "{text}");
    let d = WebhookDeliverer::new(config).unwrap();
    let text = format!("{d:?}");
    assert!(!text.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "{text}");
}

#[test]
fn unsigned_configuration_is_refused() {
    let err = WebhookDeliverer::new(WebhookConfig::default()).unwrap_err();
    assert_eq!(err.field(), Some("secrets"));
}

/// A JSON number with exactly this text (money is written as exact decimals).
fn num(text: &str) -> serde_json::Value {
    serde_json::Value::Number(text.parse().unwrap())
}

/// Secrets per organization: each tenant's events are signed with its own
/// secret only, so tenant B can never produce a valid signature for tenant
/// A's receiver; a tenant without a secret gets nothing sent.
#[derive(Debug)]
struct PerOrg(std::collections::HashMap<tokentra_reports::model::OrganizationId, WebhookSecret>);

#[async_trait::async_trait]
impl tokentra_reports::backends::webhook::WebhookSecretResolver for PerOrg {
    async fn secrets(
        &self,
        org: tokentra_reports::model::OrganizationId,
        _url: &str,
    ) -> tokentra_reports::Result<Option<Vec<WebhookSecret>>> {
        Ok(self.0.get(&org).map(|s| vec![s.clone()]))
    }
}

#[tokio::test]
async fn each_organization_signs_with_its_own_secret() {
    use tokentra_reports::model::OrganizationId;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let (a, b, c) = (
        OrganizationId::new(),
        OrganizationId::new(),
        OrganizationId::new(),
    );
    let secret_a = WebhookSecret::parse("whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGQ==").unwrap();
    let secret_b = WebhookSecret::parse(SECRET).unwrap();
    let clock = clock();
    let d = WebhookDeliverer::new(WebhookConfig {
        secret_resolver: Some(Arc::new(PerOrg(
            [(a, secret_a.clone()), (b, secret_b.clone())].into(),
        ))),
        http: fast_http(&clock),
        ..WebhookConfig::default()
    })
    .unwrap();
    let mut for_a = hook(&server);
    for_a.organization_id = a;
    let mut for_b = hook(&server);
    for_b.organization_id = b;
    for_b.idempotency_key = "rep_b:webhook:1".into();
    d.deliver(&for_a).await.unwrap();
    d.deliver(&for_b).await.unwrap();
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 2);
    let check = |req: &wiremock::Request, secrets: &[WebhookSecret]| {
        verify(
            secrets,
            &SignedHeaders {
                id: header(req, "webhook-id"),
                timestamp: header(req, "webhook-timestamp"),
                signature: header(req, "webhook-signature"),
            },
            &req.body,
            Utc.timestamp_opt(NOW, 0).unwrap(),
            default_tolerance(),
        )
    };
    assert!(check(&reqs[0], std::slice::from_ref(&secret_a)).is_ok());
    assert!(check(&reqs[0], std::slice::from_ref(&secret_b)).is_err());
    assert!(check(&reqs[1], std::slice::from_ref(&secret_b)).is_ok());
    assert!(check(&reqs[1], std::slice::from_ref(&secret_a)).is_err());
    // An organization with no secret: nothing is sent, not retryable.
    let mut for_c = hook(&server);
    for_c.organization_id = c;
    let err = d.deliver(&for_c).await.unwrap_err();
    let (_, retryable, f) = failure(&err);
    assert!(!retryable);
    assert!(f.to_string().contains("organization"), "{f}");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}
