//! Quickstart: load the bundled demo usage data into the in-memory backends,
//! aggregate October 2026, and write real files into `./reports/`.
//!
//! ```sh
//! cargo run --example quickstart
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;
use tokentra_reports::backends::file::read_cost_rows_csv;
use tokentra_reports::backends::memory::{ManualClock, MemoryCostSource, MemoryStore};
use tokentra_reports::engine::Engine;
use tokentra_reports::model::*;
use tokentra_reports::ports::Renderer;
use tokentra_reports::render::JsonRenderer;

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/llm_usage_daily.csv");

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let org = OrganizationId::new();
    let rows = read_cost_rows_csv(fs::File::open(DEMO)?, "data/demo/llm_usage_daily.csv")?;
    println!("loaded {} cost rows from the bundled demo data", rows.len());

    let engine = Engine::builder()
        .cost_source(Arc::new(MemoryCostSource::with_rows(org, rows)))
        .store(Arc::new(MemoryStore::new()))
        .clock(Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap(),
        )))
        .build()?;

    let october = DateRange::new("2026-10-01".parse()?, "2026-10-31".parse()?)?;
    let currency = engine.costs().default_currency();
    let by = |dims: Vec<Dimension>| CostQuery::total(october).group_by(dims);
    let costs = engine.costs();
    let (q_provider, q_model, q_team) = (
        by(vec![Dimension::Provider]),
        by(vec![Dimension::Model]),
        by(vec![Dimension::Team]),
    );
    let q_daily = CostQuery::total(october).bucketed(Granularity::Day);
    let (by_provider, by_model, by_team, daily) = futures::try_join!(
        costs.aggregate(org, &q_provider),
        costs.aggregate(org, &q_model),
        costs.aggregate(org, &q_team),
        costs.aggregate(org, &q_daily),
    )?;

    let total: Decimal = by_team.iter().map(|b| b.cost).sum();
    let requests: u64 = by_team.iter().map(|b| b.requests).sum();
    let top = |buckets: &[CostBucket]| {
        buckets
            .iter()
            .max_by(|a, b| a.cost.cmp(&b.cost))
            .and_then(|b| b.keys[0].clone())
    };
    let doc = ReportDocument {
        schema_version: REPORT_SCHEMA_VERSION,
        title: "Executive Summary October 2026".into(),
        report_type: ReportType::Executive,
        organization_name: Some("Acme Corp".into()),
        generated_at: engine.clock().now(),
        date_range: october,
        comparison_range: None,
        filters: ReportFilters::default(),
        currency,
        branding: ReportBranding::default(),
        sections: vec![ReportSection::Summary, ReportSection::Breakdown],
        include_charts: false,
        chart_types: vec![],
        summary_data: ReportSummaryData {
            total_cost: currency.round(total),
            total_requests: requests,
            cost_change: None,
            top_provider: top(&by_provider),
            top_model: top(&by_model),
            anomaly_count: 0,
        },
        summary: None,
        trend: None,
        breakdowns: vec![],
        anomalies: vec![],
        forecast: None,
        recommendations: vec![],
        top_costs: vec![],
        efficiency: vec![],
        chargeback: None,
        detail: daily.clone(),
        detail_dimensions: vec![],
    };

    let out = Path::new("reports");
    fs::create_dir_all(out)?;
    let json = JsonRenderer.render(&doc)?;
    let json_path = out.join(&json.artifact.file_name);
    fs::write(&json_path, &json.artifact.bytes)?;
    // The same document as PDF and HTML (default features `pdf`, `html`).
    #[cfg(feature = "pdf")]
    {
        let pdf = tokentra_reports::render::PdfRenderer::new().render(&doc)?;
        fs::write(out.join(&pdf.artifact.file_name), &pdf.artifact.bytes)?;
    }
    #[cfg(feature = "html")]
    {
        let html = tokentra_reports::render::HtmlRenderer::new().render(&doc)?;
        fs::write(out.join(&html.artifact.file_name), &html.artifact.bytes)?;
    }

    let csv_path = out.join("october-2026-by-team.csv");
    let mut w = csv::Writer::from_path(&csv_path)?;
    w.write_record([
        "team",
        "cost",
        "currency",
        "requests",
        "input_tokens",
        "output_tokens",
    ])?;
    let mut teams: BTreeMap<String, &CostBucket> = BTreeMap::new();
    for b in &by_team {
        teams.insert(b.keys[0].clone().unwrap_or_else(|| "(untagged)".into()), b);
    }
    for (team, b) in &teams {
        w.write_record([
            team.as_str(),
            &currency.round(b.cost).to_string(),
            currency.code(),
            &b.requests.to_string(),
            &b.input_tokens.to_string(),
            &b.output_tokens.to_string(),
        ])?;
    }
    w.flush()?;

    println!(
        "October 2026: {} over {} requests",
        currency.format(total),
        requests
    );
    println!(
        "top provider: {}, top model: {}",
        doc.summary_data.top_provider.as_deref().unwrap_or("-"),
        doc.summary_data.top_model.as_deref().unwrap_or("-")
    );
    for (team, b) in &teams {
        println!("  {team:<12} {:>12}", currency.format(b.cost));
    }
    println!("wrote {}", json_path.display());
    println!("wrote {}", csv_path.display());
    Ok(())
}
