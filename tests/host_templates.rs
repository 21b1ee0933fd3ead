//! The host's templates, end to end: `EngineBuilder::templates` renders
//! every report and digest e-mail the engine sends with the host's
//! `email.html` and `email.txt`, and HTML reports with its `report.html`; a
//! host template that fails on a message still lets the message go, as
//! plain text.
#![cfg(feature = "html")]

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use tokentra_reports::backends::file::read_cost_rows_csv;
use tokentra_reports::backends::memory::{
    ManualClock, MemoryCostSource, MemoryStore, RecordingDeliverer,
};
use tokentra_reports::engine::Engine;
use tokentra_reports::model::*;
use tokentra_reports::render::html::Templates;

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/llm_usage_daily.csv");

fn engine(templates: Templates) -> (OrganizationId, Engine, RecordingDeliverer) {
    let org = OrganizationId::new();
    let rows = read_cost_rows_csv(std::fs::File::open(DEMO).unwrap(), "demo").unwrap();
    let deliverer = RecordingDeliverer::new();
    let engine = Engine::builder()
        .cost_source(Arc::new(MemoryCostSource::with_rows(org, rows)))
        .store(Arc::new(MemoryStore::new()))
        // Monday 2 November 2026, 20:30 UTC: the daily digest of 1 November
        // is due in New York.
        .clock(Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 2, 20, 30, 0).unwrap(),
        )))
        .deliverer(Arc::new(deliverer.clone()))
        .templates(templates)
        .build()
        .unwrap();
    (org, engine, deliverer)
}

/// Generate October's executive report in `format` for the CFO and send
/// Ana's daily digest.
async fn send(org: OrganizationId, engine: &Engine, format: ReportFormat) -> ReportId {
    let r = engine
        .generate(
            org,
            GenerateReportRequest {
                report_type: Some(ReportType::Executive),
                date_range: Some(
                    DateRange::new("2026-10-01".parse().unwrap(), "2026-10-31".parse().unwrap())
                        .unwrap(),
                ),
                format,
                recipients: vec![ReportRecipient::email("cfo@example.com")],
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, ReportStatus::Completed, "{:?}", r.error);
    let mut p = engine
        .digest_preferences(org, UserId::new(), "ana@example.com")
        .await
        .unwrap();
    p.frequency = DigestFrequency::Daily;
    p.timezone = Timezone::parse("America/New_York").unwrap();
    engine.upsert_digest_preferences(org, p).await.unwrap();
    assert_eq!(engine.process_email_digests().await.unwrap().sent, 1);
    r.report_id
}

#[tokio::test]
async fn the_hosts_templates_render_every_email_and_the_html_report() {
    let templates = Templates::default()
        .with_template(
            "email.html",
            "<p>ACME mail: {{ subject }}</p><p>{{ intro }}</p>",
        )
        .unwrap()
        .with_template("email.txt", "ACME text: {{ subject }}")
        .unwrap()
        .with_template("report.html", "<!DOCTYPE html><p>ACME report</p>")
        .unwrap();
    let (org, engine, deliverer) = engine(templates);
    let id = send(org, &engine, ReportFormat::Html).await;
    let sent = deliverer.sent();
    let to = |a: &str| {
        sent.iter()
            .find(|d| d.recipient.address == a)
            .unwrap_or_else(|| panic!("nothing sent to {a}"))
    };
    for address in ["cfo@example.com", "ana@example.com"] {
        let d = to(address);
        let html = d.html_body.as_deref().unwrap();
        assert!(html.starts_with("<p>ACME mail: "), "{html}");
        assert!(html.contains(&d.subject), "{html}");
        assert_eq!(d.text_body, format!("ACME text: {}", d.subject));
    }
    assert!(to("cfo@example.com")
        .html_body
        .as_deref()
        .unwrap()
        .contains("Your report is ready"));
    let file = engine.artifact(org, id).await.unwrap();
    assert_eq!(file.bytes, b"<!DOCTYPE html><p>ACME report</p>");
}

#[tokio::test]
async fn a_failing_host_template_still_sends_the_plain_message() {
    // Dividing by zero fails when the e-mail is rendered, not before.
    let templates = Templates::default()
        .with_template("email.html", "{{ 1 // 0 }}")
        .unwrap();
    let (org, engine, deliverer) = engine(templates);
    send(org, &engine, ReportFormat::Json).await;
    let sent = deliverer.sent();
    assert_eq!(sent.len(), 2);
    for d in &sent {
        assert_eq!(d.html_body, None, "{}", d.recipient.address);
        assert!(!d.text_body.is_empty());
    }
}

#[tokio::test]
async fn the_last_templates_given_win_and_a_hosts_html_renderer_stays() {
    let page = |text: &str| {
        Templates::default()
            .with_template("report.html", format!("<p>{text}</p>"))
            .unwrap()
    };
    let org = OrganizationId::new();
    let rows = read_cost_rows_csv(std::fs::File::open(DEMO).unwrap(), "demo").unwrap();
    let build = |b: tokentra_reports::engine::EngineBuilder| {
        b.cost_source(Arc::new(MemoryCostSource::with_rows(org, rows.clone())))
            .store(Arc::new(MemoryStore::new()))
            .clock(Arc::new(ManualClock::new(
                Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap(),
            )))
            .build()
            .unwrap()
    };
    let html = |engine: Engine| async move {
        let r = engine
            .generate(
                org,
                GenerateReportRequest {
                    report_type: Some(ReportType::Executive),
                    format: ReportFormat::Html,
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap();
        let file = engine.artifact(org, r.report_id).await.unwrap();
        String::from_utf8(file.bytes).unwrap()
    };
    let twice = build(
        Engine::builder()
            .templates(page("first"))
            .templates(page("second")),
    );
    assert_eq!(html(twice).await, "<p>second</p>");
    let own = build(
        Engine::builder()
            .renderer(Arc::new(
                tokentra_reports::render::html::HtmlRenderer::with_templates(page("renderer")),
            ))
            .templates(page("templates")),
    );
    assert_eq!(html(own).await, "<p>renderer</p>");
}
