//! Slack delivery against real HTTP servers on loopback (wiremock).
#![cfg(feature = "slack")]

mod delivery_common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokentra_reports::backends::http::{HttpOptions, OutboundPolicy, RetryPolicy};
use tokentra_reports::backends::routing::DeliveryFailure;
use tokentra_reports::backends::slack::{
    build_blocks, SlackConfig, SlackDeliverer, SlackToken, MAX_BLOCKS, MAX_FIELD_CHARS,
    MAX_HEADER_CHARS, MAX_SECTION_CHARS,
};
use tokentra_reports::model::{RecipientKind, Recommendation};
use tokentra_reports::ports::Deliverer;
use tokentra_reports::Error;
use wiremock::matchers::{body_json, body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "xoxb-1234-secret-token";

fn fast_http() -> HttpOptions {
    HttpOptions {
        retry: RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            max_retry_after: Duration::from_secs(2),
        },
        outbound: OutboundPolicy::new()
            .allow_http()
            .allow_ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        ..HttpOptions::default()
    }
}

fn slack(server: &MockServer, token: Option<&str>) -> SlackDeliverer {
    SlackDeliverer::new(SlackConfig {
        bot_token: token.map(SlackToken::new),
        token_resolver: None,
        api_base: format!("{}/api", server.uri()),
        top_items: 5,
        http: fast_http(),
    })
    .unwrap()
}

fn reason(err: &Error) -> (bool, String) {
    match err {
        Error::Backend {
            backend: "slack",
            retryable,
            source,
        } => (
            *retryable,
            source
                .downcast_ref::<DeliveryFailure>()
                .unwrap()
                .reason
                .clone(),
        ),
        other => panic!("unexpected {other:?}"),
    }
}

const URL: &str = "https://reports.example.com/d/abc?sig=xyz&exp=1";

fn expected_blocks() -> Value {
    json!([
        {"type": "header", "text": {"type": "plain_text", "text": "Monthly AI spend: October 2026", "emoji": true}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Acme &lt;Labs&gt; · Period 2026-10-01 to 2026-10-31"}]},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": "*Total cost*\n$1,234.50"},
            {"type": "mrkdwn", "text": "*Requests*\n15,230"},
            {"type": "mrkdwn", "text": "*Change*\n+12.3%"},
            {"type": "mrkdwn", "text": "*Top provider*\nopenai"},
            {"type": "mrkdwn", "text": "*Top model*\ngpt-4o"},
            {"type": "mrkdwn", "text": "*Anomalies*\n2"}
        ]},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Cost by team*\n• search — $800.00 (64.8%)\n• ads &amp; growth — $434.50 (35.2%)"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Recommendations*"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "• *Cache more* — Only 3% of requests hit the cache."}},
        {"type": "actions", "elements": [{
            "type": "button",
            "text": {"type": "plain_text", "text": "Download report"},
            "url": URL,
            "action_id": "download_report"
        }]}
    ])
}

const FALLBACK: &str = "Monthly AI spend: October 2026: $1,234.50 for 2026-10-01 to 2026-10-31";

#[tokio::test]
async fn incoming_webhook_posts_block_kit_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/T000/B000/XXXX"))
        .and(header("content-type", "application/json"))
        .and(body_json(
            json!({"text": FALLBACK, "blocks": expected_blocks()}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    let d = delivery_common::delivery(
        RecipientKind::Slack,
        &format!("{}/services/T000/B000/XXXX", server.uri()),
    );
    let receipt = slack(&server, None).deliver(&d).await.unwrap();
    assert_eq!(receipt.message_id, None);
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 1);
    assert!(reqs[0].headers.get("authorization").is_none());
}

#[tokio::test]
async fn bot_token_posts_then_uploads_with_the_external_upload_flow() {
    let server = MockServer::start().await;
    let d = delivery_common::delivery(RecipientKind::Slack, "#finops");
    let file = d.attachment.clone().unwrap();
    let bearer = format!("Bearer {TOKEN}");
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .and(header("authorization", bearer.as_str()))
        .and(header("content-type", "application/json; charset=utf-8"))
        .and(body_json(json!({
            "channel": "#finops",
            "text": FALLBACK,
            "blocks": expected_blocks(),
            "unfurl_links": false
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true, "channel": "C0123", "ts": "1700000000.000100"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/files.getUploadURLExternal"))
        .and(header("authorization", bearer.as_str()))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(format!(
            "filename=executive-2026-10.pdf&length={}",
            file.bytes.len()
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true,
            "upload_url": format!("{}/upload/v1/abc", server.uri()),
            "file_id": "F0999"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/upload/v1/abc"))
        .and(header("content-type", "application/pdf"))
        .respond_with(ResponseTemplate::new(200).set_body_string("OK - 31"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/files.completeUploadExternal"))
        .and(header("authorization", bearer.as_str()))
        .and(body_string(
            "files=%5B%7B%22id%22%3A%22F0999%22%2C%22title%22%3A%22executive-2026-10.pdf%22%7D%5D&channel_id=C0123",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "files": []})))
        .expect(1)
        .mount(&server)
        .await;

    let receipt = slack(&server, Some(TOKEN)).deliver(&d).await.unwrap();
    assert_eq!(receipt.message_id.as_deref(), Some("1700000000.000100"));

    let reqs = server.received_requests().await.unwrap();
    let paths: Vec<&str> = reqs.iter().map(|r| r.url.path()).collect();
    assert_eq!(
        paths,
        [
            "/api/chat.postMessage",
            "/api/files.getUploadURLExternal",
            "/upload/v1/abc",
            "/api/files.completeUploadExternal"
        ]
    );
    assert_eq!(reqs[2].body, file.bytes);
    assert!(
        reqs[2].headers.get("authorization").is_none(),
        "the token is not sent to the upload URL"
    );
}

#[tokio::test]
async fn a_failed_upload_after_the_post_still_counts_as_sent() {
    // Slack has no idempotency key: failing here would make the engine post
    // the message again.
    let server = MockServer::start().await;
    let d = delivery_common::delivery(RecipientKind::Slack, "#finops");
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true, "channel": "C0123", "ts": "1700000000.000100"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/files.getUploadURLExternal"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let receipt = slack(&server, Some(TOKEN)).deliver(&d).await.unwrap();
    assert_eq!(receipt.message_id.as_deref(), Some("1700000000.000100"));
    let reqs = server.received_requests().await.unwrap();
    let posts = reqs
        .iter()
        .filter(|r| r.url.path() == "/api/chat.postMessage")
        .count();
    assert_eq!(posts, 1);
}

#[tokio::test]
async fn api_errors_are_classified() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": false, "error": "channel_not_found"})),
        )
        .mount(&server)
        .await;
    let d = delivery_common::delivery(RecipientKind::Slack, "#nowhere");
    let err = slack(&server, Some(TOKEN)).deliver(&d).await.unwrap_err();
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert_eq!(
        reason(&err),
        (false, "chat.postMessage failed: channel_not_found".into())
    );
    assert_eq!(
        err.to_string(),
        "slack backend error: delivery to slack:#nowhere failed: chat.postMessage failed: channel_not_found"
    );
    assert!(!err.to_string().contains(TOKEN));
}

#[tokio::test]
async fn rate_limits_are_retried_after_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let d = delivery_common::delivery(RecipientKind::Slack, &format!("{}/hook", server.uri()));
    slack(&server, None).deliver(&d).await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn webhook_4xx_is_not_retried_and_hides_the_url_path() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(404).set_body_string("no_service"))
        .mount(&server)
        .await;
    let d = delivery_common::delivery(
        RecipientKind::Slack,
        &format!("{}/services/T0/B0/s3cretpath", server.uri()),
    );
    let err = slack(&server, None).deliver(&d).await.unwrap_err();
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert_eq!(reason(&err), (false, "HTTP 404: no_service".into()));
    assert!(!err.to_string().contains("s3cretpath"), "{err}");
}

#[tokio::test]
async fn channel_without_bot_token_fails_for_that_recipient() {
    let server = MockServer::start().await;
    let d = delivery_common::delivery(RecipientKind::Slack, "C0123");
    let err = slack(&server, None).deliver(&d).await.unwrap_err();
    assert_eq!(
        reason(&err),
        (false, "a bot token is required to post to a channel".into())
    );
}

#[tokio::test]
async fn oversized_api_answers_are_refused_at_the_cap() {
    let server = MockServer::start().await;
    let mut big = String::from("{\"ok\":true,\"channel\":\"C1\",\"pad\":\"");
    big.push_str(&"x".repeat(200_000));
    big.push_str("\"}");
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(big))
        .mount(&server)
        .await;
    let mut http = fast_http();
    http.max_response_bytes = 1024;
    let s = SlackDeliverer::new(SlackConfig {
        bot_token: Some(SlackToken::new(TOKEN)),
        token_resolver: None,
        api_base: format!("{}/api/", server.uri()),
        top_items: 5,
        http,
    })
    .unwrap();
    let d = delivery_common::delivery(RecipientKind::Slack, "#finops");
    let err = s.deliver(&d).await.unwrap_err();
    assert_eq!(
        reason(&err),
        (
            false,
            "chat.postMessage: unreadable answer: the answer was larger than the response cap"
                .into()
        )
    );
}

#[tokio::test]
async fn public_slack_urls_only_by_default() {
    let server = MockServer::start().await;
    let s = SlackDeliverer::new(SlackConfig::default()).unwrap();
    let d = delivery_common::delivery(RecipientKind::Slack, &format!("{}/hook", server.uri()));
    let err = s.deliver(&d).await.unwrap_err();
    assert_eq!(
        reason(&err),
        (false, "plain http URLs are not allowed (use https)".into())
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 0);
}

#[test]
fn blocks_stay_within_slack_limits() {
    let mut d = delivery_common::delivery(RecipientKind::Slack, "#finops");
    d.subject = "S".repeat(400);
    let doc = d.document.as_mut().unwrap();
    doc.recommendations = (0..80)
        .map(|i| Recommendation {
            kind: "k".into(),
            title: format!("Tip {i}"),
            message: "m".repeat(5000),
            metric: 1.into(),
            threshold: 2.into(),
            potential_savings: None,
        })
        .collect();
    let blocks = build_blocks(&d, 5);
    assert_eq!(blocks.len(), MAX_BLOCKS);
    let header = blocks[0]["text"]["text"].as_str().unwrap();
    assert_eq!(header.chars().count(), MAX_HEADER_CHARS);
    assert!(header.ends_with('…'));
    for b in &blocks {
        if let Some(t) = b["text"]["text"].as_str() {
            assert!(t.chars().count() <= MAX_SECTION_CHARS);
        }
        for f in b["fields"].as_array().into_iter().flatten() {
            assert!(f["text"].as_str().unwrap().chars().count() <= MAX_FIELD_CHARS);
        }
    }
    let rec = blocks[5]["text"]["text"].as_str().unwrap();
    assert_eq!(rec.chars().count(), MAX_SECTION_CHARS);
    assert!(rec.ends_with(&format!("… <{URL}|Full report>")));
    assert_eq!(
        blocks[48]["text"]["text"],
        json!(format!("More in the <{URL}|full report>."))
    );
    assert_eq!(blocks[49]["type"], "actions");
}

#[test]
fn message_without_document_uses_the_text_body() {
    let mut d = delivery_common::delivery(RecipientKind::Slack, "#finops");
    d.document = None;
    d.download_url = None;
    d.text_body = "Total <b>$5</b> & more".into();
    assert_eq!(
        Value::Array(build_blocks(&d, 5)),
        json!([
            {"type": "header", "text": {"type": "plain_text", "text": "Monthly AI spend: October 2026", "emoji": true}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "Total &lt;b&gt;$5&lt;/b&gt; &amp; more"}}
        ])
    );
}

#[test]
fn token_never_appears_in_debug_output() {
    let config = SlackConfig {
        bot_token: Some(SlackToken::new(TOKEN)),
        token_resolver: None,
        ..SlackConfig::default()
    };
    let text = format!("{config:?}");
    assert!(!text.contains(TOKEN), "{text}");
    assert!(text.contains("SlackToken(<redacted>)"));
    let d = SlackDeliverer::new(config).unwrap();
    assert!(!format!("{d:?}").contains(TOKEN));
}

/// Bot tokens per organization: each tenant posts with its own workspace's
/// token only; a tenant without one cannot post to channels.
#[derive(Debug)]
struct Tokens(std::collections::HashMap<tokentra_reports::model::OrganizationId, &'static str>);

#[async_trait::async_trait]
impl tokentra_reports::backends::slack::SlackTokenResolver for Tokens {
    async fn bot_token(
        &self,
        org: tokentra_reports::model::OrganizationId,
    ) -> tokentra_reports::Result<Option<SlackToken>> {
        Ok(self.0.get(&org).map(|t| SlackToken::new(*t)))
    }
}

#[tokio::test]
async fn each_organization_posts_with_its_own_token() {
    use tokentra_reports::model::OrganizationId;
    let server = MockServer::start().await;
    for token in ["xoxb-org-a", "xoxb-org-b"] {
        Mock::given(method("POST"))
            .and(header("authorization", format!("Bearer {token}").as_str()))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_string(r#"{"ok":true,"channel":"C1","ts":"1.2"}"#),
            )
            .mount(&server)
            .await;
    }
    let (a, b, c) = (
        OrganizationId::new(),
        OrganizationId::new(),
        OrganizationId::new(),
    );
    let s = SlackDeliverer::new(SlackConfig {
        bot_token: Some(SlackToken::new("xoxb-shared-never-used")),
        token_resolver: Some(Arc::new(Tokens(
            [(a, "xoxb-org-a"), (b, "xoxb-org-b")].into(),
        ))),
        api_base: format!("{}/api/", server.uri()),
        top_items: 5,
        http: fast_http(),
    })
    .unwrap();
    for org in [a, b] {
        let mut d = delivery_common::delivery(RecipientKind::Slack, "#finops");
        d.organization_id = org;
        d.attachment = None;
        s.deliver(&d).await.unwrap();
    }
    let auth: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.headers["authorization"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(auth, ["Bearer xoxb-org-a", "Bearer xoxb-org-b"]);
    let mut d = delivery_common::delivery(RecipientKind::Slack, "#finops");
    d.organization_id = c;
    let err = s.deliver(&d).await.unwrap_err();
    assert!(!reason(&err).0);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}
