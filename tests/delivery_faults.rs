//! Slack and webhook endpoints that answer 500, then 429, then slowly: the
//! engine retries the recipients (the deliverer's own retries first, then
//! the retry job with backoff), never fails the report, and each endpoint
//! accepts the report exactly once.
#![cfg(all(feature = "webhook", feature = "slack"))]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, TimeZone, Utc};
use tokentra_reports::backends::http::{HttpOptions, OutboundPolicy, RetryPolicy};
use tokentra_reports::backends::memory::{ManualClock, MemoryCostSource, MemoryStore};
use tokentra_reports::backends::routing::RoutingDeliverer;
use tokentra_reports::backends::slack::{SlackConfig, SlackDeliverer, SlackToken};
use tokentra_reports::backends::webhook::{WebhookConfig, WebhookDeliverer, WebhookSecret};
use tokentra_reports::engine::{Engine, EngineConfig};
use tokentra_reports::model::*;
use tokentra_reports::ports::{Clock as _, GeneratedReportStore};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn http(clock: &ManualClock) -> HttpOptions {
    HttpOptions {
        retry: RetryPolicy {
            max_attempts: 3,
            initial_backoff: StdDuration::from_millis(1),
            max_backoff: StdDuration::from_millis(5),
            max_retry_after: StdDuration::from_secs(2),
        },
        outbound: OutboundPolicy::new()
            .allow_http()
            .allow_ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        request_timeout: StdDuration::from_secs(5),
        clock: Arc::new(clock.clone()),
        ..HttpOptions::default()
    }
}

/// `path` answers 500 `errors` times, then 429 asking for an hour, then
/// 200 (with `body`) after 300 ms.
async fn flaky_endpoint(server: &MockServer, at: &str, errors: u64, body: &str) {
    Mock::given(method("POST"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(errors)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "3600"))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(at))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(body.to_owned(), "application/json")
                .set_delay(StdDuration::from_millis(300)),
        )
        .with_priority(3)
        .mount(server)
        .await;
}

#[tokio::test]
async fn endpoints_failing_then_slow_get_the_report_once() {
    let server = MockServer::start().await;
    // Three tries per pass: webhook fails passes 1 and 2 (5 x 500, then 429),
    // Slack fails pass 1 (3 x 500) and pass 2 (429).
    flaky_endpoint(&server, "/hook", 5, "{}").await;
    flaky_endpoint(
        &server,
        "/api/chat.postMessage",
        3,
        r#"{"ok":true,"channel":"C042","ts":"1793523900.000100"}"#,
    )
    .await;
    // The file upload that follows a posted message.
    let upload = format!(
        r#"{{"ok":true,"upload_url":"{}/upload/1","file_id":"F042"}}"#,
        server.uri()
    );
    for (at, body) in [
        ("/api/files.getUploadURLExternal", upload.as_str()),
        ("/upload/1", "OK"),
        ("/api/files.completeUploadExternal", r#"{"ok":true}"#),
    ] {
        Mock::given(method("POST"))
            .and(path(at))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(body.to_owned(), "application/json"),
            )
            .mount(&server)
            .await;
    }
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap());
    let mut webhook =
        WebhookConfig::new(WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap());
    webhook.http = http(&clock);
    let slack = SlackDeliverer::new(SlackConfig {
        bot_token: Some(SlackToken::new("xoxb-1234-secret-token")),
        api_base: format!("{}/api", server.uri()),
        http: http(&clock),
        ..SlackConfig::default()
    })
    .unwrap();
    let deliverer = RoutingDeliverer::builder()
        .webhook(Arc::new(WebhookDeliverer::new(webhook).unwrap()))
        .slack(Arc::new(slack))
        .build();
    let store = MemoryStore::new();
    let engine = Engine::builder()
        .cost_source(Arc::new(MemoryCostSource::new()))
        .store(Arc::new(store.clone()))
        .clock(Arc::new(clock.clone()))
        .deliverer(Arc::new(deliverer))
        .config(EngineConfig {
            delivery_backoff: Duration::minutes(1),
            ..EngineConfig::default()
        })
        .build()
        .unwrap();
    let org = OrganizationId::new();
    let recipients = vec![
        ReportRecipient {
            kind: RecipientKind::Webhook,
            address: format!("{}/hook", server.uri()),
            name: None,
        },
        ReportRecipient {
            kind: RecipientKind::Slack,
            address: "#finance".into(),
            name: None,
        },
    ];
    let result = engine
        .generate(
            org,
            GenerateReportRequest {
                report_type: Some(ReportType::Executive),
                date_preset: Some(DateRangePreset::LastMonth),
                format: ReportFormat::Json,
                recipients,
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(result.status, ReportStatus::Completed);
    let id = result.report_id;

    let states = |r: &GeneratedReport| -> Vec<(DeliveryState, u32)> {
        r.distribution_status
            .iter()
            .map(|d| (d.status, d.attempts))
            .collect()
    };
    let r = store.get_report(org, id).await.unwrap();
    assert_eq!(
        r.status,
        ReportStatus::Completed,
        "a delivery never fails the report"
    );
    assert_eq!(
        states(&r),
        [(DeliveryState::Failed, 1), (DeliveryState::Failed, 1)]
    );
    assert!(r
        .distribution_status
        .iter()
        .all(|d| d.next_attempt_at.is_some()));

    // Second pass after the backoff: both fail again (500s, then 429).
    clock.advance(Duration::minutes(1));
    let s = engine.retry_failed_deliveries().await.unwrap();
    assert_eq!((s.sent, s.failed), (0, 2));
    let r = store.get_report(org, id).await.unwrap();
    let error = r.distribution_status[1].error.as_deref().unwrap();
    assert!(error.contains("429"), "{error}");
    // Third pass, four minutes later: both slow, both accepted.
    clock.advance(Duration::minutes(4));
    let s = engine.retry_failed_deliveries().await.unwrap();
    assert_eq!((s.sent, s.failed), (2, 0));
    let r = store.get_report(org, id).await.unwrap();
    assert_eq!(
        states(&r),
        [(DeliveryState::Sent, 3), (DeliveryState::Sent, 3)]
    );
    assert_eq!(r.distributed_at, Some(clock.now()));
    assert_eq!(r.next_delivery_at, None);
    // Nothing more is sent, however often the job runs.
    clock.advance(Duration::days(1));
    assert_eq!(engine.retry_failed_deliveries().await.unwrap().reports, 0);

    let requests = server.received_requests().await.unwrap();
    let count = |p: &str| requests.iter().filter(|r| r.url.path() == p).count();
    // Each endpoint accepted exactly one request (the last): everything
    // before it was refused.
    assert_eq!(count("/hook"), 5 + 1 + 1);
    assert_eq!(count("/api/chat.postMessage"), 3 + 1 + 1);
    assert_eq!(count("/api/files.completeUploadExternal"), 1);
    // One idempotency key per recipient across every attempt.
    let ids: std::collections::HashSet<_> = requests
        .iter()
        .filter(|r| r.url.path() == "/hook")
        .map(|r| {
            r.headers
                .get("webhook-id")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1);
}
