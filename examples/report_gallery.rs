//! Report gallery: one PDF and one HTML per report type (executive, team,
//! project, chargeback, anomaly, forecast, custom) of the bundled demo
//! company's October 2026, into `./reports/gallery/`. No services.
//!
//! ```sh
//! cargo run --example report_gallery
//! ```

use std::fs;
use std::path::Path;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use tokentra_reports::backends::file::read_cost_rows_csv;
use tokentra_reports::backends::memory::{ManualClock, MemoryCostSource, MemoryStore};
use tokentra_reports::engine::Engine;
use tokentra_reports::model::*;
use tokentra_reports::ports::GeneratedReportStore;

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/llm_usage_daily.csv");

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = Path::new("reports/gallery");
    fs::create_dir_all(out)?;
    let org = OrganizationId::new();
    let rows = read_cost_rows_csv(fs::File::open(DEMO)?, "data/demo/llm_usage_daily.csv")?;
    let store = MemoryStore::new();
    let engine = Engine::builder()
        .cost_source(Arc::new(MemoryCostSource::with_rows(org, rows)))
        .store(Arc::new(store.clone()))
        .clock(Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap(),
        )))
        .build()?;
    // A chargeback by cost center: shared platform costs (CC-500) split
    // between two cost centers, approved by finance.
    let october = DateRange::new("2026-10-01".parse()?, "2026-10-31".parse()?)?;
    let approver = UserId::new();
    let config: ChargebackConfiguration = serde_json::from_value(serde_json::json!({
        "id": ChargebackConfigId::new(),
        "organizationId": org,
        "name": "Cost centers",
        "allocationBasis": "cost_center",
        "allocationRules": [
            {"source": "CC-500", "split": [{"target": "CC-100", "weight": 3}, {"target": "CC-200", "weight": 1}]}
        ],
        "includeBreakdownBy": ["cost_center", "provider", "model"],
        "requiresApproval": true,
        "approvers": [approver],
        "createdAt": "2026-11-01T00:00:00Z",
        "updatedAt": "2026-11-01T00:00:00Z"
    }))?;
    let config = engine.create_chargeback_configuration(org, config).await?;
    let chargeback = engine
        .generate_chargeback_record(org, config.id, october, false)
        .await?;
    let chargeback = engine
        .approve_chargeback_record(org, chargeback.id, approver)
        .await?;
    let formats: Vec<ReportFormat> = [ReportFormat::Pdf, ReportFormat::Html]
        .into_iter()
        .filter(|f| engine.formats().contains(f))
        .collect();
    for kind in [
        ReportType::Executive,
        ReportType::Team,
        ReportType::Project,
        ReportType::Chargeback,
        ReportType::Anomaly,
        ReportType::Forecast,
        ReportType::Custom,
    ] {
        for &format in &formats {
            if kind == ReportType::Chargeback {
                // Finance's statement: an allocation approved by its approver.
                let id = engine
                    .generate_chargeback_report_as(org, chargeback.id, format)
                    .await?;
                let artifact = store.get_artifact(org, id).await?;
                let path = out.join(format!("chargeback-october-2026.{}", format.extension()));
                fs::write(&path, &artifact.bytes)?;
                println!("wrote {} ({} bytes)", path.display(), artifact.bytes.len());
                continue;
            }
            let result = engine
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
                .await?;
            if result.status != ReportStatus::Completed {
                return Err(format!(
                    "{kind:?} {format:?} failed: {}",
                    result.error.unwrap_or_default()
                )
                .into());
            }
            let artifact = store.get_artifact(org, result.report_id).await?;
            let name = format!(
                "{}-october-2026.{}",
                serde_json::to_value(kind)?.as_str().unwrap_or("report"),
                format.extension()
            );
            let path = out.join(name);
            fs::write(&path, &artifact.bytes)?;
            let pages = result
                .page_count
                .map(|p| format!(", {p} pages"))
                .unwrap_or_default();
            println!(
                "wrote {} ({} bytes{pages})",
                path.display(),
                artifact.bytes.len()
            );
        }
    }
    Ok(())
}
