//! Fixtures shared by the delivery tests.
#![allow(dead_code)]

use tokentra_reports::model::{
    Artifact, OrganizationId, RecipientKind, ReportDocument, ReportId, ReportRecipient,
};
use tokentra_reports::ports::{Delivery, DeliveryKind};

/// A small executive report document.
pub fn document() -> ReportDocument {
    serde_json::from_value(serde_json::json!({
        "schemaVersion": 1,
        "title": "Monthly AI spend",
        "reportType": "executive",
        "organizationName": "Acme <Labs>",
        "generatedAt": "2026-11-01T09:00:00Z",
        "dateRange": {"start": "2026-10-01", "end": "2026-10-31"},
        "currency": "USD",
        "sections": ["summary", "breakdown"],
        "summaryData": {
            "totalCost": "1234.5",
            "totalRequests": 15230,
            "costChange": "12.34",
            "topProvider": "openai",
            "topModel": "gpt-4o",
            "anomalyCount": 2
        },
        "breakdowns": [{
            "dimension": "team",
            "total": "1234.5",
            "items": [
                {"value": "search", "label": "search", "cost": "800", "requests": 10000, "tokens": 1, "share": "64.8"},
                {"value": "ads", "label": "ads & growth", "cost": "434.5", "requests": 5230, "tokens": 1, "share": "35.2"}
            ]
        }],
        "recommendations": [{
            "kind": "low_cache_hit_rate",
            "title": "Cache more",
            "message": "Only 3% of requests hit the cache.",
            "metric": "3",
            "threshold": "20"
        }]
    }))
    .expect("fixture document")
}

/// A report delivery to `recipient`.
pub fn delivery(kind: RecipientKind, address: &str) -> Delivery {
    Delivery {
        idempotency_key: "rep_7f3a:webhook:1".into(),
        organization_id: OrganizationId::new(),
        kind: DeliveryKind::Report,
        report_id: Some(ReportId::new()),
        recipient: ReportRecipient {
            kind,
            address: address.into(),
            name: None,
        },
        subject: "Monthly AI spend: October 2026".into(),
        html_body: Some(
            "<html><body><h1>Monthly AI spend</h1><p>Total $1,234.50</p></body></html>".into(),
        ),
        text_body: "Monthly AI spend\nTotal $1,234.50\n".into(),
        attachment: Some(Artifact {
            file_name: "executive-2026-10.pdf".into(),
            media_type: "application/pdf".into(),
            bytes: b"%PDF-1.7\n\x00\x01\x02binary\xff\xfe report".to_vec(),
        }),
        download_url: Some("https://reports.example.com/d/abc?sig=xyz&exp=1".into()),
        document: Some(Box::new(document())),
    }
}
