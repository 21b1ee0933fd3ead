//! Every report type, from the bundled demo data: the PDF's text carries
//! the figures of the JSON output of the same report (total, breakdown
//! rows, forecast, anomalies), so what finance reads is what a host
//! ingests. Needs `pdftotext` (poppler-utils, installed by `.ci/run`).
#![cfg(feature = "pdf")]

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use tokentra_reports::backends::file::read_cost_rows_csv;
use tokentra_reports::backends::memory::{ManualClock, MemoryCostSource, MemoryStore};
use tokentra_reports::engine::Engine;
use tokentra_reports::model::*;
use tokentra_reports::ports::GeneratedReportStore;

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/llm_usage_daily.csv");

fn pdf_text(bytes: &[u8], name: &str) -> String {
    let path = std::env::temp_dir().join(format!("{name}-{}.pdf", uuid::Uuid::new_v4()));
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils) is needed by this test");
    let _ = std::fs::remove_file(path);
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn the_pdf_of_every_type_shows_the_figures_of_its_json() {
    let org = OrganizationId::new();
    let store = MemoryStore::new();
    let engine = demo_engine(org, &store);
    for kind in [
        ReportType::Executive,
        ReportType::Team,
        ReportType::Project,
        ReportType::Chargeback,
        ReportType::Anomaly,
        ReportType::Forecast,
        ReportType::Custom,
    ] {
        let (doc, text, _) = json_and_pdf(&engine, &store, org, kind).await;
        let c = doc.currency;
        let label = format!("{kind:?}");
        // The total.
        let total = c.format(doc.summary_data.total_cost);
        assert!(
            text.contains(&total),
            "{label}: total {total} not in the PDF"
        );
        // Every shown breakdown row: its name and its cost.
        for b in &doc.breakdowns {
            for item in b.items.iter().take(5) {
                assert!(
                    text.contains(&item.label),
                    "{label}: {} missing",
                    item.label
                );
                assert!(
                    text.contains(&c.format(item.cost)),
                    "{label}: {} of {} missing",
                    c.format(item.cost),
                    item.label
                );
            }
        }
        // The forecast's projection and the anomalies' actual costs.
        if doc.sections.contains(&ReportSection::Forecast) {
            let f = doc.forecast.as_ref().expect("a forecast");
            let projected = c.format(f.projected_total);
            assert!(text.contains(&projected), "{label}: forecast {projected}");
        }
        if doc.sections.contains(&ReportSection::Anomalies) {
            for a in doc.anomalies.iter().take(5) {
                assert!(
                    text.contains(&c.format(a.actual_cost)),
                    "{label}: anomaly {} {}",
                    a.date,
                    a.value
                );
            }
        }
    }
}

fn demo_engine(org: OrganizationId, store: &MemoryStore) -> Engine {
    let rows = read_cost_rows_csv(std::fs::File::open(DEMO).unwrap(), "demo").unwrap();
    Engine::builder()
        .cost_source(Arc::new(MemoryCostSource::with_rows(org, rows)))
        .store(Arc::new(store.clone()))
        .clock(Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap(),
        )))
        .build()
        .unwrap()
}

fn october() -> DateRange {
    DateRange::new("2026-10-01".parse().unwrap(), "2026-10-31".parse().unwrap()).unwrap()
}

/// The JSON document and PDF text of one report of the demo's October.
async fn json_and_pdf(
    engine: &Engine,
    store: &MemoryStore,
    org: OrganizationId,
    kind: ReportType,
) -> (ReportDocument, String, u32) {
    let mut out = Vec::new();
    let mut pages = 0;
    for format in [ReportFormat::Json, ReportFormat::Pdf] {
        let r = engine
            .generate(
                org,
                GenerateReportRequest {
                    report_type: Some(kind),
                    date_range: Some(october()),
                    format,
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap();
        assert_eq!(r.status, ReportStatus::Completed, "{kind:?}: {:?}", r.error);
        pages = r.page_count.unwrap_or(0);
        out.push(store.get_artifact(org, r.report_id).await.unwrap().bytes);
    }
    let doc: ReportDocument = serde_json::from_slice(&out[0]).unwrap();
    (doc, pdf_text(&out[1], &format!("{kind:?}")), pages)
}

#[tokio::test]
async fn team_and_project_reports_have_a_page_per_group() {
    let org = OrganizationId::new();
    let store = MemoryStore::new();
    let engine = demo_engine(org, &store);
    for (kind, dim) in [
        (ReportType::Team, Dimension::Team),
        (ReportType::Project, Dimension::Project),
    ] {
        let (doc, text, pages) = json_and_pdf(&engine, &store, org, kind).await;
        assert!(
            doc.groups.len() >= 3,
            "{kind:?}: {} groups",
            doc.groups.len()
        );
        // One page each after the overview pages.
        assert!(pages as usize > doc.groups.len(), "{kind:?}: {pages} pages");
        let c = doc.currency;
        let total: rust_decimal::Decimal = doc.groups.iter().map(|g| g.cost).sum();
        assert_eq!(total, doc.summary.as_ref().unwrap().total_cost, "{kind:?}");
        for g in &doc.groups {
            assert_eq!(g.dimension, dim);
            // Each page: the group's own breakdowns, which add up to it.
            assert_eq!(g.breakdowns.len(), 2);
            for b in &g.breakdowns {
                assert_eq!(b.total, g.cost, "{kind:?} {} by {}", g.label, b.dimension);
            }
            let page = text
                .split('\u{c}')
                .find(|p| {
                    p.trim_start().starts_with(&format!("{}\n", g.label))
                        && p.contains(&format!("{} · 1 – 31 October 2026", dim.label()))
                })
                .unwrap_or_else(|| panic!("{kind:?}: no page for {}", g.label));
            assert!(page.contains(&c.format(g.cost)), "{kind:?}: {}", g.label);
            let top = &g.breakdowns[0].items[0];
            assert!(page.contains(&top.label) && page.contains(&c.format(top.cost)));
            if let Some(change) = g.change {
                assert!(page.contains("VS PREVIOUS PERIOD"), "{}", g.label);
                let shown = format!(
                    "{}{:.1}%",
                    if change > rust_decimal::Decimal::ZERO {
                        "+"
                    } else {
                        ""
                    },
                    change.round_dp(1)
                );
                assert!(page.contains(&shown), "{}: {shown}", g.label);
            }
        }
    }
}

#[tokio::test]
async fn the_executive_report_opens_with_a_one_page_overview() {
    let org = OrganizationId::new();
    let store = MemoryStore::new();
    let engine = demo_engine(org, &store);
    let (doc, text, pages) = json_and_pdf(&engine, &store, org, ReportType::Executive).await;
    assert!(pages >= 2);
    let first = text.split('\u{c}').next().unwrap();
    let c = doc.currency;
    assert!(first.contains("At a glance"));
    assert!(first.contains(&format!(
        "{} spent on AI over 31 days",
        c.format(doc.summary.as_ref().unwrap().total_cost)
    )));
    assert!(first.contains("CACHE HIT RATE"));
    assert!(first.contains("Daily cost"));
    // The detail starts on page 2.
    assert!(!first.contains("Cost by provider"));
    assert!(text.contains("Cost by provider"));
}

#[tokio::test]
async fn the_anomaly_report_explains_each_anomaly() {
    let org = OrganizationId::new();
    let store = MemoryStore::new();
    let engine = demo_engine(org, &store);
    let (doc, text, _) = json_and_pdf(&engine, &store, org, ReportType::Anomaly).await;
    assert!(!doc.anomalies.is_empty());
    // By provider and by team.
    assert!(doc
        .anomalies
        .iter()
        .any(|a| a.dimension == Dimension::Provider));
    assert!(doc.anomalies.iter().any(|a| a.dimension == Dimension::Team));
    assert!(text.contains("What moved"));
    let c = doc.currency;
    for a in &doc.anomalies {
        // The chart's days: the baseline window and the day itself.
        assert_eq!(a.history.last().unwrap().date, a.date);
        assert!(a.history.iter().filter(|d| d.in_baseline).count() >= 7);
        let e = a
            .explanation
            .as_ref()
            .expect("the demo data counts requests");
        // The four effects add up to the change exactly.
        assert_eq!(
            e.volume + e.model_mix + e.cache_rate + e.price,
            a.actual_cost - a.expected_cost,
            "{} {}",
            a.date,
            a.value
        );
        assert!(text.contains(&c.format(e.volume)) && text.contains(&c.format(e.price)));
    }
}

#[tokio::test]
async fn the_forecast_report_looks_ahead_with_its_accuracy() {
    let org = OrganizationId::new();
    let store = MemoryStore::new();
    let engine = demo_engine(org, &store);
    let (doc, text, _) = json_and_pdf(&engine, &store, org, ReportType::Forecast).await;
    let f = doc.forecast.as_ref().unwrap();
    assert_eq!(f.period_start, Some("2026-11-01".parse().unwrap()));
    let horizons: Vec<&str> = f.outlook.iter().map(|h| h.horizon.as_str()).collect();
    assert_eq!(horizons, ["next_month", "next_quarter"]);
    let q = &f.outlook[1];
    assert_eq!(
        (q.period_start.to_string(), q.period_end.to_string()),
        ("2027-01-01".into(), "2027-03-31".into())
    );
    for h in &f.outlook {
        assert!(h.lower_bound >= rust_decimal::Decimal::ZERO);
        assert!(h.lower_bound <= h.projected_total && h.projected_total <= h.upper_bound);
        assert!(text.contains(&doc.currency.format(h.projected_total)));
    }
    // The demo has August and September before October: folds to measure.
    let b = f.backtest.as_ref().expect("a backtest");
    assert!(b.folds >= 2);
    assert_eq!(b.fit_days, 31);
    assert!(text.contains("Next quarter") && text.contains("Q1 2027"));
    assert!(text.contains(&format!("off by {:.1}%", b.mape)));
}

#[tokio::test]
async fn a_forecast_with_too_little_history_says_so() {
    let org = OrganizationId::new();
    let store = MemoryStore::new();
    let rows: Vec<CostRow> = read_cost_rows_csv(std::fs::File::open(DEMO).unwrap(), "demo")
        .unwrap()
        .into_iter()
        .filter(|r| r.date >= "2026-10-28".parse().unwrap())
        .collect();
    let engine = Engine::builder()
        .cost_source(Arc::new(MemoryCostSource::with_rows(org, rows)))
        .store(Arc::new(store.clone()))
        .clock(Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap(),
        )))
        .build()
        .unwrap();
    let (doc, text, _) = json_and_pdf(&engine, &store, org, ReportType::Forecast).await;
    assert!(doc.forecast.is_none());
    let why = doc.forecast_unavailable.as_deref().unwrap();
    assert!(why.contains("4 days with cost"), "{why}");
    assert!(text.contains("Too little history to forecast"));
}

#[tokio::test]
async fn the_chargeback_statement_ties_out_and_shows_its_approval() {
    let org = OrganizationId::new();
    let store = MemoryStore::new();
    let engine = demo_engine(org, &store);
    let approver = UserId::new();
    let config: ChargebackConfiguration = serde_json::from_value(serde_json::json!({
        "id": ChargebackConfigId::new(),
        "organizationId": org,
        "name": "Cost centers",
        "allocationBasis": "cost_center",
        "allocationRules": [
            {"source": "CC-500", "split": [{"target": "CC-100", "weight": 3}, {"target": "CC-200", "weight": 1}]}
        ],
        "includeBreakdownBy": ["cost_center", "provider"],
        "requiresApproval": true,
        "approvers": [approver],
        "createdAt": "2026-11-01T00:00:00Z",
        "updatedAt": "2026-11-01T00:00:00Z"
    }))
    .unwrap();
    let config = engine
        .create_chargeback_configuration(org, config)
        .await
        .unwrap();
    let record = engine
        .generate_chargeback_record(org, config.id, october(), false)
        .await
        .unwrap();
    let pending = store
        .get_artifact(org, record.report_id.unwrap())
        .await
        .unwrap();
    assert!(pdf_text(&pending.bytes, "pending").contains("Pending approval"));
    let record = engine
        .approve_chargeback_record(org, record.id, approver)
        .await
        .unwrap();
    let report = record.report_id.unwrap();
    let text = pdf_text(
        &store.get_artifact(org, report).await.unwrap().bytes,
        "approved",
    );
    let json = engine
        .generate_chargeback_report_as(org, record.id, ReportFormat::Json)
        .await
        .unwrap();
    let doc: ReportDocument =
        serde_json::from_slice(&store.get_artifact(org, json).await.unwrap().bytes).unwrap();
    let st = doc.statement.as_ref().unwrap();
    assert_eq!(st.status, ChargebackStatus::Approved);
    assert_eq!(st.approved_by, Some(approver));
    let a = doc.chargeback.as_ref().unwrap();
    let c = doc.currency;
    assert!(text.contains("Chargeback statement"));
    assert!(text.contains("Approved"));
    assert!(text.contains(&approver.to_string()));
    assert!(text.contains("Approved on") && text.contains("2 November 2026"));
    assert!(text.contains("CC-500") && text.contains("CC-100 75.0%, CC-200 25.0%"));
    assert!(text.contains(&format!(
        "Allocated {} + unallocated {} = total {}: ties out to the cent.",
        c.format(a.allocated_cost),
        c.format(a.unallocated_cost),
        c.format(a.total_cost)
    )));
    for (target, alloc) in &a.allocations {
        assert!(text.contains(target) && text.contains(&c.format(alloc.total_cost)));
    }
}

#[tokio::test]
async fn cloud_billing_is_labelled_by_service_without_request_columns() {
    let org = OrganizationId::new();
    let store = MemoryStore::new();
    let rows = tokentra_reports::backends::file::demo::focus_sample_rows().unwrap();
    let engine = Engine::builder()
        .cost_source(Arc::new(
            MemoryCostSource::with_rows(org, rows)
                .with_dimension_label(Dimension::Model, "Service"),
        ))
        .store(Arc::new(store.clone()))
        .clock(Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2024, 10, 1, 8, 0, 0).unwrap(),
        )))
        .build()
        .unwrap();
    let r = engine
        .generate(
            org,
            GenerateReportRequest {
                report_type: Some(ReportType::Team),
                date_range: Some(
                    DateRange::new("2024-09-01".parse().unwrap(), "2024-09-30".parse().unwrap())
                        .unwrap(),
                ),
                format: ReportFormat::Pdf,
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, ReportStatus::Completed, "{:?}", r.error);
    let text = pdf_text(
        &store.get_artifact(org, r.report_id).await.unwrap().bytes,
        "focus",
    );
    assert!(text.contains("Cost by service"), "{text}");
    assert!(!text.contains("Cost by model"));
    assert!(
        !text.contains("Requests"),
        "no request counts in cloud billing"
    );
    assert!(!text.contains("$0.0000"));
}
