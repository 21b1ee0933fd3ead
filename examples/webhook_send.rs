//! Send a signed webhook to a receiver started on loopback, then verify it
//! the way a receiver would.
//!
//! ```text
//! cargo run --example webhook_send --features webhook
//! ```

use std::net::{IpAddr, Ipv4Addr};

use tokentra_reports::backends::http::{HttpOptions, OutboundPolicy};
use tokentra_reports::backends::memory::SystemClock;
use tokentra_reports::backends::webhook::{
    default_tolerance, verify, SignedHeaders, WebhookConfig, WebhookDeliverer, WebhookSecret,
};
use tokentra_reports::model::{OrganizationId, RecipientKind, ReportId, ReportRecipient};
use tokentra_reports::ports::{Clock, Deliverer, Delivery, DeliveryKind};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The receiver: a local HTTP server answering 200.
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;

    // The secret both sides share (hand `to_whsec()` to the receiver).
    let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    let mut config = WebhookConfig::new(secret.clone());
    // Loopback is refused by default (SSRF guard): allow it for this demo.
    config.http = HttpOptions {
        outbound: OutboundPolicy::new()
            .allow_http()
            .allow_ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        ..HttpOptions::default()
    };
    let webhooks = WebhookDeliverer::new(config)?;

    let delivery = Delivery {
        idempotency_key: "rep_01:webhook:0".into(),
        organization_id: OrganizationId::new(),
        kind: DeliveryKind::Report,
        report_id: Some(ReportId::new()),
        recipient: ReportRecipient {
            kind: RecipientKind::Webhook,
            address: format!("{}/hooks/reports", receiver.uri()),
            name: None,
        },
        subject: "Weekly AI spend".into(),
        html_body: None,
        text_body: "Total $1,234.50".into(),
        attachment: None,
        download_url: Some("https://reports.example.com/d/abc?sig=xyz".into()),
        document: None,
    };
    let receipt = webhooks.deliver(&delivery).await?;
    println!("sent, webhook-id {:?}", receipt.message_id);

    // What the receiver got, and its verification.
    for req in receiver.received_requests().await.unwrap_or_default() {
        let h = |name: &str| {
            req.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let (id, ts, sig) = (
            h("webhook-id"),
            h("webhook-timestamp"),
            h("webhook-signature"),
        );
        println!("webhook-id: {id}\nwebhook-timestamp: {ts}\nwebhook-signature: {sig}");
        println!("{}", String::from_utf8_lossy(&req.body));
        let headers = SignedHeaders {
            id: &id,
            timestamp: &ts,
            signature: &sig,
        };
        let now = SystemClock.now();
        verify(
            std::slice::from_ref(&secret),
            &headers,
            &req.body,
            now,
            default_tolerance(),
        )?;
        println!("signature verified");
    }
    Ok(())
}
