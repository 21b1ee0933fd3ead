//! The specification's JSON goes straight in and comes back out with the
//! specification's keys and values.
//!
//! Every fixture under `tests/fixtures/spec/` is written by hand from the
//! specification's section 3 TypeScript types and section 4
//! `SYSTEM_TEMPLATES` (never produced by this crate). Each is read into its
//! model type (and validated), written back, and compared key by key: every
//! key of the fixture is there with the same value (timestamps as instants,
//! numbers by their exact decimal text), and the only keys we add are the
//! documented extras listed per fixture.

use std::collections::BTreeSet;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tokentra_reports::engine::templates::system_templates;
use tokentra_reports::model::*;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/spec/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Compare `ours` with the fixture's `spec` value at `path`; extra keys of
/// ours are collected into `extras`.
fn compare(path: &str, spec: &Value, ours: &Value, extras: &mut BTreeSet<String>) {
    match (spec, ours) {
        (Value::Object(s), Value::Object(o)) => {
            for (k, sv) in s {
                let p = format!("{path}.{k}");
                match o.get(k) {
                    Some(ov) => compare(&p, sv, ov, extras),
                    None => panic!("{p}: missing from our JSON (spec value {sv})"),
                }
            }
            for k in o.keys().filter(|k| !s.contains_key(*k)) {
                extras.insert(k.clone());
            }
        }
        (Value::Array(s), Value::Array(o)) => {
            assert_eq!(s.len(), o.len(), "{path}: array length");
            for (i, (sv, ov)) in s.iter().zip(o).enumerate() {
                compare(&format!("{path}[{i}]"), sv, ov, extras);
            }
        }
        (Value::String(s), Value::String(o)) if s != o => {
            let instant = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
            match (instant(s), instant(o)) {
                (Some(a), Some(b)) => assert_eq!(a, b, "{path}: timestamp"),
                _ => panic!("{path}: spec {s:?}, ours {o:?}"),
            }
        }
        (Value::Number(s), Value::Number(o)) => {
            let dec = |n: &serde_json::Number| -> rust_decimal::Decimal {
                n.to_string().parse().unwrap()
            };
            assert_eq!(dec(s), dec(o), "{path}: number (spec {s}, ours {o})");
            assert!(
                o.to_string() == s.to_string() || !s.to_string().contains('.'),
                "{path}: the decimal text changed: spec {s}, ours {o}"
            );
        }
        _ => assert_eq!(spec, ours, "{path}"),
    }
}

/// Read `file` as `T` (validated when `T: Validate`), write it back, and
/// compare; the keys we add must be exactly `allowed_extras`.
fn round_trip<T: DeserializeOwned + Serialize>(file: &str, allowed_extras: &[&str]) -> T {
    let text = fixture(file);
    let value: T = from_json(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    let ours = serde_json::to_value(&value).unwrap();
    let spec: Value = serde_json::from_str(&text).unwrap();
    let mut extras = BTreeSet::new();
    compare(file, &spec, &ours, &mut extras);
    let allowed: BTreeSet<String> = allowed_extras.iter().map(|s| s.to_string()).collect();
    assert_eq!(extras, allowed, "{file}: keys we add");
    // And what we write reads back to the same value.
    let again: T = serde_json::from_value(ours.clone()).unwrap();
    assert_eq!(serde_json::to_value(&again).unwrap(), ours, "{file}");
    value
}

#[test]
fn report_templates() {
    let t: ReportTemplate = round_trip("report_template.json", &["breakdownLimit"]);
    t.validate().unwrap();
    assert_eq!(t.report_type, ReportType::Executive);
    assert_eq!(
        t.config.metrics,
        [
            Metric::TotalCost,
            Metric::TotalRequests,
            Metric::CostChange,
            Metric::CacheHitRate
        ]
    );
    assert_eq!(
        t.branding.logo_url.as_deref(),
        Some("https://cdn.example.com/acme-logo.png")
    );
    let t: ReportTemplate = round_trip(
        "report_template_minimal.json",
        &["breakdownLimit", "branding"],
    );
    t.validate().unwrap();
    assert_eq!(t.report_type, ReportType::Custom);
    assert_eq!(t.config.comparison, None);
    assert_eq!(t.description, None);
}

#[test]
fn scheduled_reports() {
    // A schedule writes its whole `scheduleConfig` (the specification's
    // optional day fields with their defaults).
    let extras = [
        "format",
        "consecutiveFailures",
        "dayOfMonth",
        "monthOfQuarter",
    ];
    let s: ScheduledReport = round_trip("scheduled_report.json", &extras);
    s.validate().unwrap();
    assert_eq!(s.last_status, Some(ReportStatus::Completed));
    let kinds: Vec<_> = s.recipients.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            RecipientKind::Email,
            RecipientKind::Slack,
            RecipientKind::Webhook,
            RecipientKind::User
        ]
    );
    assert_eq!(s.recipients[1].address, "#finops");
    assert_eq!(
        s.recipients[2].address,
        "https://hooks.example.com/tokentra"
    );
    assert_eq!(s.report_type, None, "the spec's schedule has no type");

    let s: ScheduledReport = round_trip(
        "scheduled_report_failed.json",
        &["format", "consecutiveFailures", "dayOfWeek", "filters"],
    );
    s.validate().unwrap();
    assert_eq!(s.last_status, Some(ReportStatus::Failed));
    assert_eq!(s.last_error.as_deref(), Some("Cost source timed out"));
    assert_eq!(s.schedule_config.month_of_quarter, 3);

    // The spec's scheduler writes `success`: read as `completed`, written as
    // a report status.
    let text = fixture("scheduled_report_success.json");
    let s: ScheduledReport = from_json_validated(&text).unwrap();
    assert_eq!(s.last_status, Some(ReportStatus::Completed));
    assert_eq!(serde_json::to_value(&s).unwrap()["lastStatus"], "completed");
}

#[test]
fn generated_reports() {
    let r: GeneratedReport = round_trip("generated_report.json", &["expiresAt"]);
    assert_eq!(r.report_type, ReportType::Executive);
    assert_eq!(
        r.date_range,
        DateRange::new("2026-10-01".parse().unwrap(), "2026-10-31".parse().unwrap()).unwrap()
    );
    let summary = r.summary_data.as_ref().unwrap();
    assert_eq!(summary.total_cost.to_string(), "13690.41");
    assert_eq!(summary.cost_change.unwrap().to_string(), "-4.2");
    assert_eq!(r.distribution_status.len(), 3);
    assert_eq!(
        r.distribution_status[1].recipient.kind,
        RecipientKind::Slack
    );
    assert_eq!(r.distribution_status[1].status, DeliveryState::Failed);
    assert_eq!(r.download_count, 4);
    // The table's default: 90 days after creation.
    assert_eq!(r.expires_at, r.created_at + chrono::Duration::days(90));

    // Optional lists and filters are written empty.
    let r: GeneratedReport = round_trip(
        "generated_report_failed.json",
        &["expiresAt", "filters", "distributionStatus"],
    );
    assert_eq!(r.status, ReportStatus::Failed);
    assert_eq!(r.file_path, "");
    assert!(r.error_message.is_some());
}

#[test]
fn digest_preferences() {
    let p: EmailDigestPreferences =
        round_trip("email_digest_preferences.json", &["createdAt", "updatedAt"]);
    p.validate().unwrap();
    assert_eq!(p.timezone.name(), "Asia/Tokyo");
    assert!(p.is_active);
    assert_eq!(p.email, None, "the spec's preferences carry no address");
    assert_eq!(
        p.recipient(),
        ReportRecipient {
            kind: RecipientKind::User,
            address: p.user_id.to_string(),
            name: None
        }
    );
    let p: EmailDigestPreferences = round_trip(
        "email_digest_preferences_inactive.json",
        &["createdAt", "updatedAt", "teamFilter", "projectFilter"],
    );
    assert!(!p.is_active);
    // The spec's defaults, when a row leaves them out.
    let d: EmailDigestPreferences = from_json(
        r#"{"id":"37b611ee-eeda-46b8-ab36-654eab6feb82","orgId":"0b7c5a8e-2f43-4c1e-9d2a-6a1f3e5b7c90",
            "userId":"7173607c-2fb2-4639-9633-5fc5b1928b52"}"#,
    )
    .unwrap();
    assert_eq!(d.frequency, DigestFrequency::Daily);
    assert_eq!(d.digest_time.to_string(), "09:00");
    assert_eq!(d.timezone.name(), "UTC");
    assert_eq!(d.day_of_week, 1);
    assert!(d.include_summary && d.include_anomalies);
    assert!(d.include_team_breakdown && d.include_recommendations);
    assert!(!d.include_forecast);
    assert!(d.is_active);
}

#[test]
fn chargeback_configurations() {
    let c: ChargebackConfiguration =
        round_trip("chargeback_configuration.json", &["createdAt", "updatedAt"]);
    c.validate().unwrap();
    assert_eq!(c.allocation_basis, AllocationBasis::CostCenter);
    assert_eq!(c.allocation_rules[1].percentage.unwrap().to_string(), "60");
    assert_eq!(c.distribution_list.len(), 4);
    assert_eq!(c.distribution_list[3].kind, RecipientKind::User);
    let c: ChargebackConfiguration = round_trip(
        "chargeback_configuration_weekly.json",
        &["createdAt", "updatedAt", "approvers"],
    );
    c.validate().unwrap();
    assert_eq!(c.report_frequency, ChargebackFrequency::Weekly);
    assert_eq!(c.currency, Currency::EUR);
    assert!(!c.auto_distribute);
    // autoDistribute defaults to true, as in the specification.
    let d: ChargebackConfiguration = from_json(
        r#"{"id":"40323701-c96c-4678-bd5c-a345dda8291b","orgId":"0b7c5a8e-2f43-4c1e-9d2a-6a1f3e5b7c90",
            "name":"Daily","allocationBasis":"team","reportFrequency":"daily"}"#,
    )
    .unwrap();
    assert!(d.auto_distribute);
    assert_eq!(d.report_frequency, ChargebackFrequency::Daily);
    // A distribution list entry is validated by its kind.
    let bad = fixture("chargeback_configuration.json")
        .replace("https://hooks.example.com/chargeback", "ftp://x");
    assert_eq!(
        from_json_validated::<ChargebackConfiguration>(&bad)
            .unwrap_err()
            .field(),
        Some("distributionList[2].url")
    );
}

#[test]
fn chargeback_records() {
    let r: ChargebackRecord = round_trip("chargeback_record.json", &["currency", "updatedAt"]);
    let a = &r.allocation;
    assert_eq!(a.total_cost, a.allocated_cost + a.unallocated_cost);
    let sum: rust_decimal::Decimal = a.allocations.values().map(|x| x.total_cost).sum();
    assert_eq!(sum, a.allocated_cost);
    assert_eq!(r.status, ChargebackStatus::Approved);
    let r: ChargebackRecord = round_trip(
        "chargeback_record_rejected.json",
        &["currency", "updatedAt"],
    );
    assert_eq!(r.status, ChargebackStatus::Rejected);
    assert_eq!(r.rejection_reason.as_deref(), Some("CC-200 is closed"));
}

#[test]
fn generate_requests_and_results() {
    let r: GenerateReportRequest = round_trip("generate_report_request.json", &[]);
    r.validate().unwrap();
    assert_eq!(r.report_type, Some(ReportType::Executive));
    assert_eq!(r.format, ReportFormat::Json);
    let r: GenerateReportRequest = round_trip("generate_report_request_full.json", &[]);
    r.validate().unwrap();
    assert!(!r.filters.cost_centers.is_empty());
    let _: ReportGenerationResult = round_trip("report_generation_result.json", &[]);
    let _: ReportGenerationResult = round_trip("report_generation_result_failed.json", &[]);
}

/// The specification's `SYSTEM_TEMPLATES`, copied literally: ours carry
/// every key with the same value (plus id, timestamps and our extras).
#[test]
fn system_templates_are_the_specifications() {
    let literal: Vec<Value> = serde_json::from_str(&fixture("system_templates.json")).unwrap();
    assert_eq!(literal.len(), 3);
    for spec in &literal {
        let ours = system_templates()
            .iter()
            .find(|t| Some(t.name.as_str()) == spec["name"].as_str())
            .unwrap_or_else(|| panic!("no system template {}", spec["name"]));
        let ours_json = serde_json::to_value(ours).unwrap();
        let mut extras = BTreeSet::new();
        compare(
            spec["name"].as_str().unwrap(),
            spec,
            &ours_json,
            &mut extras,
        );
        let mut allowed: BTreeSet<String> = ["id", "createdAt", "updatedAt", "breakdownLimit"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if spec.get("branding").is_none() {
            allowed.insert("branding".into());
        }
        assert_eq!(extras, allowed, "{}", spec["name"]);
        // The literal object reads as a template config and branding equal to ours.
        let config: ReportTemplateConfig = serde_json::from_value(spec["config"].clone()).unwrap();
        assert_eq!(config.sections, ours.config.sections);
        assert_eq!(config.metrics, ours.config.metrics);
        assert_eq!(config.breakdowns, ours.config.breakdowns);
        assert_eq!(config.comparison, ours.config.comparison);
        let branding: ReportBranding =
            serde_json::from_value(spec.get("branding").cloned().unwrap_or(Value::Null)).unwrap();
        assert_eq!(branding, ours.branding);
    }
    // Only the Executive Summary is a default.
    let defaults: Vec<_> = system_templates().iter().filter(|t| t.is_default).collect();
    assert_eq!(defaults.len(), 1);
    assert_eq!(defaults[0].name, "Executive Summary");
}

/// What this crate wrote before (its own key names) still reads.
#[test]
fn earlier_shapes_still_read() {
    let old = r##"{
        "id": "6f1c1f8e-3f5a-4d0e-9a57-5b1f0c6a3e11",
        "organizationId": "6f1c1f8e-3f5a-4d0e-9a57-5b1f0c6a3e12",
        "name": "Old", "reportType": "team", "format": "csv",
        "dateRange": {"start": "2026-10-01", "end": "2026-10-31"},
        "status": "completed", "expiresAt": "2027-01-29T00:00:00Z",
        "createdBy": "6f1c1f8e-3f5a-4d0e-9a57-5b1f0c6a3e13",
        "createdAt": "2026-11-01T00:00:00Z",
        "summaryData": {"totalCost": "12.50", "totalRequests": 3, "anomalyCount": 0},
        "recipients": [{"type": "slack", "address": "#finops"}],
        "distributionStatus": [{"recipient": {"type": "email", "address": "a@example.com"},
            "status": "sent", "attempts": 1, "idempotencyKey": "k"}]
    }"##;
    let r: GeneratedReport = from_json(old).unwrap();
    assert_eq!(r.report_type, ReportType::Team);
    assert_eq!(r.date_range.days(), 31);
    assert!(r.created_by.is_some());
    assert_eq!(r.summary_data.unwrap().total_cost.to_string(), "12.50");
    assert_eq!(r.recipients[0].address, "#finops");
    assert_eq!(r.distribution_status[0].idempotency_key, "k");
    let v = serde_json::to_value(&r.distribution_status[0]).unwrap();
    assert_eq!(v["channel"], "email");
    assert_eq!(v["recipient"], "a@example.com");

    let t: ReportTemplateConfig = serde_json::from_str(
        r#"{"sections":["summary"],"metrics":["total_cost","total_requests","cache_hit_rate"],
            "comparison":{"enabled":true,"period":"same_period_last_year"}}"#,
    )
    .unwrap();
    assert_eq!(
        t.metrics,
        [
            Metric::TotalCost,
            Metric::TotalRequests,
            Metric::CacheHitRate
        ]
    );
    let v = serde_json::to_value(&t).unwrap();
    assert_eq!(
        v["metrics"],
        serde_json::json!(["totalCost", "requestCount", "cacheHitRate"])
    );
    assert_eq!(v["comparison"], "same_period_last_year");

    let b: ReportBranding = serde_json::from_str(
        r#"{"logo":{"format":"png","data":"iVBORw0KGgo="},"logoUrl":"https://x.example/l.png"}"#,
    )
    .unwrap();
    assert_eq!(b.logo.as_ref().unwrap().data, b"\x89PNG\r\n\x1a\n");
    let v = serde_json::to_value(&b).unwrap();
    assert_eq!(v["logo"], "data:image/png;base64,iVBORw0KGgo=");
    let back: ReportBranding = serde_json::from_value(v).unwrap();
    assert_eq!(back, b);

    let c: ChargebackConfiguration = from_json(
        r#"{"id":"6f1c1f8e-3f5a-4d0e-9a57-5b1f0c6a3e11","organizationId":"6f1c1f8e-3f5a-4d0e-9a57-5b1f0c6a3e12",
            "name":"Old","distributionList":["finance@example.com"]}"#,
    )
    .unwrap();
    assert_eq!(
        c.distribution_list,
        [ReportRecipient::email("finance@example.com")]
    );
}

/// Money is a JSON number carrying the exact decimal text, never through
/// f64, read from a number or a string.
#[test]
fn money_is_an_exact_json_number() {
    let s: ReportSummaryData = serde_json::from_str(
        r#"{"totalCost": 12345678901234.123456789, "totalRequests": 1, "costChange": "-0.10"}"#,
    )
    .unwrap();
    assert_eq!(s.total_cost.to_string(), "12345678901234.123456789");
    assert_eq!(s.cost_change.unwrap().to_string(), "-0.10");
    let text = serde_json::to_string(&s).unwrap();
    assert!(
        text.contains(r#""totalCost":12345678901234.123456789"#),
        "{text}"
    );
    assert!(text.contains(r#""costChange":-0.10"#), "{text}");
    // Through serde_json::Value too (as SQL JSON columns are read).
    let v: Value = serde_json::from_str(&text).unwrap();
    let back: ReportSummaryData = serde_json::from_value(v).unwrap();
    assert_eq!(back, s);
}

/// An unknown metric names itself and its place.
#[test]
fn unknown_metric_is_invalid_and_named() {
    let text = fixture("report_template.json").replace("\"cacheHitRate\"", "\"vibes\"");
    let e = from_json::<ReportTemplate>(&text).unwrap_err();
    assert_eq!(e.field(), Some("config.metrics[3]"), "{e}");
    assert!(e.to_string().contains("vibes"), "{e}");
}

/// What the specification's own services write reads too: `{}` summaries
/// of unfinished reports, `null` in nullable columns, JavaScript
/// timestamps as dates, an empty name.
#[test]
fn what_the_specifications_services_write_reads_too() {
    let pending = r#"{
        "id": "90d5e0c7-b686-456f-93fe-b55aafe677db",
        "orgId": "0b7c5a8e-2f43-4c1e-9d2a-6a1f3e5b7c90",
        "scheduledReportId": null, "templateId": null,
        "name": "team Report - 11/2/2026", "type": "team",
        "dateRangeStart": "2026-10-01", "dateRangeEnd": "2026-10-31",
        "filters": null, "format": "pdf", "filePath": "", "fileSize": null,
        "pageCount": null, "summaryData": {}, "status": "generating",
        "errorMessage": null, "generationTimeMs": null, "distributedAt": null,
        "distributionStatus": [], "downloadUrl": null, "downloadExpiresAt": null,
        "downloadCount": 0, "generatedBy": null, "createdAt": "2026-11-02T08:00:00.000Z"
    }"#;
    let r: GeneratedReport = from_json(pending).unwrap();
    assert_eq!(r.summary_data, None);
    assert!(r.filters.is_empty());
    let v = serde_json::to_value(&r).unwrap();
    assert!(v.get("summaryData").is_none(), "{v}");
    assert!(v.get("errorMessage").is_none(), "{v}");

    let prefs = r#"{"id":"37b611ee-eeda-46b8-ab36-654eab6feb82","orgId":"0b7c5a8e-2f43-4c1e-9d2a-6a1f3e5b7c90",
        "userId":"7173607c-2fb2-4639-9633-5fc5b1928b52","frequency":"weekly","digestTime":"09:00:00",
        "timezone":"UTC","dayOfWeek":1,"includeSummary":true,"includeAnomalies":true,
        "includeForecast":false,"includeTeamBreakdown":true,"includeRecommendations":true,
        "teamFilter":null,"projectFilter":null,"isActive":true,"lastSentAt":null}"#;
    let p: EmailDigestPreferences = from_json_validated(prefs).unwrap();
    assert!(p.team_filter.is_empty() && p.project_filter.is_empty());
    assert_eq!(p.digest_time.to_string(), "09:00");

    let config = r#"{"id":"40323701-c96c-4678-bd5c-a345dda8291b","orgId":"0b7c5a8e-2f43-4c1e-9d2a-6a1f3e5b7c90",
        "name":"Monthly","allocationBasis":"team","allocationRules":null,"reportFrequency":"monthly",
        "includeBreakdownBy":null,"currency":"USD","requiresApproval":false,"approvers":null,
        "autoDistribute":true,"distributionList":[],"isActive":true}"#;
    let c: ChargebackConfiguration = from_json_validated(config).unwrap();
    assert!(c.approvers.is_empty() && c.allocation_rules.is_empty());
    assert_eq!(
        c.include_breakdown_by,
        [Dimension::Provider, Dimension::Model]
    );

    // The spec's runScheduledReport body: type "custom" with a template,
    // an empty name, dates as JavaScript timestamps.
    let request = r#"{"templateId":"62d440ee-47e1-448b-93cf-3f1f4e394c36","type":"custom","name":"",
        "dateRange":{"start":"2026-10-01T00:00:00.000Z","end":"2026-10-31T00:00:00.000Z"},
        "format":"pdf","filters":null,"recipients":null}"#;
    let r: GenerateReportRequest = from_json_validated(request).unwrap();
    assert_eq!(r.name, None);
    assert_eq!(r.report_type, Some(ReportType::Custom));
    assert_eq!(r.date_range.unwrap().days(), 31);
}
