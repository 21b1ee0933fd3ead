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
        ReportType::Chargeback,
        ReportType::Anomaly,
        ReportType::Forecast,
        ReportType::Custom,
    ] {
        let mut out = Vec::new();
        for format in [ReportFormat::Json, ReportFormat::Pdf] {
            let r = engine
                .generate(
                    org,
                    GenerateReportRequest {
                        report_type: Some(kind),
                        date_range: Some(october),
                        format,
                        ..Default::default()
                    },
                    None,
                )
                .await
                .unwrap();
            assert_eq!(r.status, ReportStatus::Completed, "{kind:?}: {:?}", r.error);
            out.push(store.get_artifact(org, r.report_id).await.unwrap().bytes);
        }
        let doc: ReportDocument = serde_json::from_slice(&out[0]).unwrap();
        let text = pdf_text(&out[1], &format!("{kind:?}"));
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
