//! Post a report message to Slack through an incoming webhook.
//!
//! ```text
//! # against a local stand-in that prints the Block Kit payload:
//! cargo run --example slack_webhook --features slack
//! # against Slack itself:
//! SLACK_WEBHOOK_URL=https://hooks.slack.com/services/... \
//!     cargo run --example slack_webhook --features slack
//! ```

use std::net::{IpAddr, Ipv4Addr};

use tokentra_reports::backends::http::{HttpOptions, OutboundPolicy};
use tokentra_reports::backends::slack::{SlackConfig, SlackDeliverer};
use tokentra_reports::model::{OrganizationId, RecipientKind, ReportDocument, ReportRecipient};
use tokentra_reports::ports::{Deliverer, Delivery, DeliveryKind};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn document() -> Result<ReportDocument, serde_json::Error> {
    serde_json::from_value(serde_json::json!({
        "schemaVersion": 1,
        "title": "Monthly AI spend",
        "reportType": "executive",
        "generatedAt": "2026-11-01T09:00:00Z",
        "dateRange": {"start": "2026-10-01", "end": "2026-10-31"},
        "currency": "USD",
        "sections": ["summary", "breakdown"],
        "summaryData": {"totalCost": "1234.5", "totalRequests": 15230, "costChange": "12.3",
                        "topProvider": "openai", "topModel": "gpt-4o", "anomalyCount": 1},
        "breakdowns": [{"dimension": "team", "total": "1234.5", "items": [
            {"value": "search", "label": "search", "cost": "800", "requests": 10000, "tokens": 0, "share": "64.8"},
            {"value": "ads", "label": "ads", "cost": "434.5", "requests": 5230, "tokens": 0, "share": "35.2"}
        ]}],
        "recommendations": [{"kind": "low_cache_hit_rate", "title": "Cache more",
            "message": "Only 3% of requests hit the cache.", "metric": "3", "threshold": "20"}]
    }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut local = None;
    let (url, config) = match std::env::var("SLACK_WEBHOOK_URL") {
        Ok(url) => (url, SlackConfig::default()),
        Err(_) => {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
                .mount(&server)
                .await;
            let config = SlackConfig {
                http: HttpOptions {
                    outbound: OutboundPolicy::new()
                        .allow_http()
                        .allow_ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                    ..HttpOptions::default()
                },
                ..SlackConfig::default()
            };
            let url = format!("{}/services/T000/B000/XXXX", server.uri());
            local = Some(server);
            (url, config)
        }
    };
    let slack = SlackDeliverer::new(config)?;
    let delivery = Delivery {
        idempotency_key: "rep_01:slack:0".into(),
        organization_id: OrganizationId::new(),
        kind: DeliveryKind::Report,
        report_id: None,
        recipient: ReportRecipient {
            kind: RecipientKind::Slack,
            address: url,
            name: None,
        },
        subject: "Monthly AI spend: October 2026".into(),
        html_body: None,
        text_body: "Total $1,234.50".into(),
        attachment: None,
        download_url: Some("https://reports.example.com/d/abc?sig=xyz".into()),
        document: Some(Box::new(document()?)),
    };
    slack.deliver(&delivery).await?;
    println!("posted");
    if let Some(server) = local {
        for req in server.received_requests().await.unwrap_or_default() {
            let body: serde_json::Value = serde_json::from_slice(&req.body)?;
            println!("{}", serde_json::to_string_pretty(&body)?);
        }
    }
    Ok(())
}
