//! Snapshots of each report type's document (the JSON a host ingests) from
//! the bundled demo data at a fixed clock: any change to a figure, a
//! section or a field shows up here as a difference to review.
//!
//! After an intended change, write the snapshots again with
//! `UPDATE_SNAPSHOTS=1 cargo test --test report_snapshots` and review the
//! diff in `tests/snapshots/`.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use serde_json::Value;
use tokentra_reports::backends::file::read_cost_rows_csv;
use tokentra_reports::backends::memory::{ManualClock, MemoryCostSource, MemoryStore};
use tokentra_reports::engine::Engine;
use tokentra_reports::model::*;
use tokentra_reports::ports::GeneratedReportStore;

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/llm_usage_daily.csv");

fn snapshot_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.json"))
}

/// The first place two JSON values differ, as a path.
fn first_difference(path: &str, a: &Value, b: &Value) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                let p = format!("{path}.{k}");
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => {
                        if let Some(d) = first_difference(&p, u, v) {
                            return Some(d);
                        }
                    }
                    (u, v) => return Some(format!("{p}: {u:?} vs {v:?}")),
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) => {
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                if let Some(d) = first_difference(&format!("{path}[{i}]"), u, v) {
                    return Some(d);
                }
            }
            (x.len() != y.len()).then(|| format!("{path}: {} vs {} items", x.len(), y.len()))
        }
        _ => (a != b).then(|| format!("{path}: {a} vs {b}")),
    }
}

fn check(name: &str, actual: &Value) {
    let path = snapshot_path(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(actual).unwrap() + "\n").unwrap();
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no snapshot {}: run UPDATE_SNAPSHOTS=1 cargo test --test report_snapshots",
            path.display()
        )
    });
    let expected: Value = serde_json::from_str(&text).unwrap();
    if let Some(d) = first_difference("$", &expected, actual) {
        panic!("{name} differs from its snapshot (expected vs actual) at {d}");
    }
}

#[tokio::test]
async fn every_report_type_matches_its_snapshot() {
    let org = OrganizationId::new();
    let rows = read_cost_rows_csv(std::fs::File::open(DEMO).unwrap(), "demo").unwrap();
    let store = MemoryStore::new();
    let engine = Engine::builder()
        .cost_source(Arc::new(MemoryCostSource::with_rows(org, rows)))
        .store(Arc::new(store.clone()))
        .clock(Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap(),
        )))
        .build()
        .unwrap();
    let october =
        DateRange::new("2026-10-01".parse().unwrap(), "2026-10-31".parse().unwrap()).unwrap();
    for kind in [
        ReportType::Executive,
        ReportType::Team,
        ReportType::Project,
        ReportType::Anomaly,
        ReportType::Forecast,
        ReportType::Custom,
    ] {
        let r = engine
            .generate(
                org,
                GenerateReportRequest {
                    report_type: Some(kind),
                    date_range: Some(october),
                    format: ReportFormat::Json,
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap();
        assert_eq!(r.status, ReportStatus::Completed, "{kind:?}: {:?}", r.error);
        let bytes = store.get_artifact(org, r.report_id).await.unwrap().bytes;
        let doc: Value = serde_json::from_slice(&bytes).unwrap();
        let name = serde_json::to_value(kind).unwrap();
        check(name.as_str().unwrap(), &doc);
    }

    // The chargeback statement of an approved record.
    let approver: UserId =
        serde_json::from_value(serde_json::json!("0b9d3f1e-5a3c-4c1e-9f59-2f1d7f0a6b11")).unwrap();
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
        .generate_chargeback_record(org, config.id, october, false)
        .await
        .unwrap();
    engine
        .approve_chargeback_record(org, record.id, approver)
        .await
        .unwrap();
    let id = engine
        .generate_chargeback_report_as(org, record.id, ReportFormat::Json)
        .await
        .unwrap();
    let bytes = store.get_artifact(org, id).await.unwrap().bytes;
    check("chargeback", &serde_json::from_slice(&bytes).unwrap());
}
