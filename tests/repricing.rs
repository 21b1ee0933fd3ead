//! The `repricing` report section: a period's request-level usage as
//! priced then and under another price version, by model and token class,
//! filtered like the report, in JSON, CSV, HTML and PDF.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use rust_decimal_macros::dec;
use tokentra_reports::backends::memory::{
    ManualClock, MemoryCostSource, MemoryStore, MemoryUsageSource,
};
use tokentra_reports::core::pricebook::{PriceBook, PriceVersion};
use tokentra_reports::core::pricing::PriceTable;
use tokentra_reports::engine::templates::TemplateInput;
use tokentra_reports::engine::Engine;
use tokentra_reports::model::*;
#[cfg(feature = "pdf")]
use tokentra_reports::ports::Renderer;
use tokentra_reports::render::CsvRenderer;

fn gpt4o(input: &str, output: &str, cache: &str) -> PriceTable {
    let mut t = PriceTable::new();
    t.insert(
        "gpt-4o",
        ModelPrice {
            input_per_token: Some(input.parse().unwrap()),
            output_per_token: Some(output.parse().unwrap()),
            cache_read_per_token: Some(cache.parse().unwrap()),
            ..ModelPrice::default()
        },
    );
    t
}

fn book() -> PriceBook {
    let mut b = PriceBook::new();
    b.add_version(PriceVersion {
        id: "2026-01".into(),
        effective_from: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        table: gpt4o("0.0000025", "0.00001", "0.00000125"),
    })
    .unwrap();
    b.add_version(PriceVersion {
        id: "2026-11".into(),
        effective_from: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
        table: gpt4o("0.000002", "0.000008", "0.0000005"),
    })
    .unwrap();
    b
}

fn record(day: u32, team: &str, model: &str, input: u64, cached: u64, output: u64) -> UsageRecord {
    UsageRecord {
        timestamp: Utc.with_ymd_and_hms(2026, 10, day, 12, 0, 0).unwrap(),
        provider: Some("openai".into()),
        model: Some(model.into()),
        team: Some(team.into()),
        requests: 1,
        tokens: TokenUsage {
            input_tokens: input,
            cached_input_tokens: cached,
            output_tokens: output,
            ..TokenUsage::default()
        },
        ..UsageRecord::default()
    }
}

async fn engine(org: OrganizationId, with_book: bool) -> Engine {
    let usage = MemoryUsageSource::new();
    usage.insert(
        org,
        [
            record(3, "search", "gpt-4o", 1_000_000, 400_000, 100_000),
            record(20, "search", "gpt-4o", 500_000, 0, 50_000),
            record(21, "ads", "gpt-4o", 2_000_000, 0, 0),
            // Not in October.
            UsageRecord {
                timestamp: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
                ..record(1, "search", "gpt-4o", 9_000_000, 0, 0)
            },
            // A model neither version prices.
            record(5, "search", "acme-llm", 1_000, 0, 0),
        ],
    );
    let rows = vec![CostRow {
        date: "2026-10-03".parse().unwrap(),
        team: Some("search".into()),
        model: Some("gpt-4o".into()),
        cost: dec!(5),
        requests: 1,
        ..CostRow::default()
    }];
    let mut b = Engine::builder()
        .cost_source(Arc::new(MemoryCostSource::with_rows(org, rows)))
        .store(Arc::new(MemoryStore::new()))
        .clock(Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap(),
        )));
    if with_book {
        b = b.price_book(Arc::new(book()), Arc::new(usage));
    }
    b.build().unwrap()
}

/// A custom report of `config` for October 2026, filtered to `teams`,
/// resolved (template created).
async fn resolved(
    engine: &Engine,
    org: OrganizationId,
    config: &str,
    teams: &[&str],
) -> tokentra_reports::engine::generate::ResolvedReport {
    let config: ReportTemplateConfig = serde_json::from_str(config).unwrap();
    let t = engine
        .create_template(
            org,
            TemplateInput {
                name: "Prices".into(),
                report_type: Some(ReportType::Custom),
                config,
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    let request = GenerateReportRequest {
        template_id: Some(t.id),
        date_range: Some(
            DateRange::new("2026-10-01".parse().unwrap(), "2026-10-31".parse().unwrap()).unwrap(),
        ),
        filters: ReportFilters {
            teams: teams.iter().map(|t| (*t).to_owned()).collect(),
            ..ReportFilters::default()
        },
        format: ReportFormat::Json,
        ..Default::default()
    };
    engine.resolve(org, &request).await.unwrap()
}

async fn document(
    engine: &Engine,
    org: OrganizationId,
    config: &str,
    teams: &[&str],
) -> ReportDocument {
    let r = resolved(engine, org, config, teams).await;
    engine.build_document(org, &r).await.unwrap()
}

const CONFIG: &str = r#"{"sections":["summary","repricing"],"metrics":["totalCost"],
    "breakdowns":[],"dateRange":"last_month","includeCharts":false,"chartTypes":[]}"#;

#[tokio::test]
async fn the_period_is_repriced_under_the_latest_version_by_model_and_class() {
    let org = OrganizationId::new();
    let engine = engine(org, true).await;
    let doc = document(&engine, org, CONFIG, &[]).await;
    let r = doc.repricing.as_ref().expect("a repricing section");
    assert_eq!(r.version, "2026-11");
    assert_eq!(r.priced_with, ["2026-01"]);
    assert_eq!(r.skipped, 1);
    // Input (uncached): 600,000 + 500,000 + 2,000,000 = 3,100,000 tokens;
    // cache reads 400,000; output 150,000.
    // Before: 3.1M × 2.5e-6 = 7.75; 400k × 1.25e-6 = 0.5; 150k × 1e-5 = 1.5.
    // After: 3.1M × 2e-6 = 6.2; 400k × 5e-7 = 0.2; 150k × 8e-6 = 1.2.
    let lines: Vec<_> = r
        .lines
        .iter()
        .map(|l| {
            (
                l.model.as_str(),
                l.class,
                l.before.normalize(),
                l.after.normalize(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            ("gpt-4o", TokenClass::Input, dec!(7.75), dec!(6.2)),
            ("gpt-4o", TokenClass::CacheRead, dec!(0.5), dec!(0.2)),
            ("gpt-4o", TokenClass::Output, dec!(1.5), dec!(1.2)),
        ]
    );
    assert_eq!(r.total_before.normalize(), dec!(9.75));
    assert_eq!(r.total_after.normalize(), dec!(7.6));

    // The JSON carries it; CSV, HTML and PDF show it.
    let json = serde_json::to_value(&doc).unwrap();
    assert_eq!(json["repricing"]["version"], "2026-11");
    assert_eq!(json["repricing"]["lines"][1]["class"], "cache_read");
    let csv = String::from_utf8(CsvRenderer::default().render_bytes(&doc).unwrap()).unwrap();
    assert!(csv.contains("Repricing"), "{csv}");
    assert!(csv.contains("gpt-4o,cache_read,0.5"), "{csv}");
    #[cfg(feature = "html")]
    {
        let html = tokentra_reports::render::html::HtmlRenderer::new()
            .render_string(&doc)
            .unwrap();
        assert!(html.contains("Prices: this period under 2026-11"), "{html}");
        assert!(html.contains("Cache reads"), "{html}");
        assert!(html.contains("-$2.15"), "{html}");
    }
    #[cfg(feature = "pdf")]
    {
        let pdf = tokentra_reports::render::pdf::PdfRenderer::new()
            .render(&doc)
            .unwrap()
            .artifact
            .bytes;
        let path = std::env::temp_dir().join(format!("repricing-{org}.pdf"));
        std::fs::write(&path, &pdf).unwrap();
        let text = std::process::Command::new("pdftotext")
            .args([path.to_str().unwrap(), "-"])
            .output()
            .expect("pdftotext (poppler-utils) is needed by this test");
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(text.contains("Prices: this period under 2026-11"), "{text}");
        assert!(text.contains("Cache reads"), "{text}");
    }
}

#[tokio::test]
async fn the_report_filters_and_the_templates_version_apply() {
    let org = OrganizationId::new();
    let engine = engine(org, true).await;
    let config = CONFIG.replace(
        r#""breakdowns":[]"#,
        r#""breakdowns":[],"repriceWith":"2026-01""#,
    );
    let doc = document(&engine, org, &config, &["ads"]).await;
    let r = doc.repricing.unwrap();
    assert_eq!(r.version, "2026-01");
    // Only the ads team's 2,000,000 input tokens, the same version both sides.
    assert_eq!(r.lines.len(), 1);
    assert_eq!(r.total_before.normalize(), dec!(5));
    assert_eq!(r.total_after, r.total_before);
    // An unknown version is an error, not an empty section.
    let config = CONFIG.replace(
        r#""breakdowns":[]"#,
        r#""breakdowns":[],"repriceWith":"1999""#,
    );
    let resolved = resolved(&engine, org, &config, &[]).await;
    let e = engine.build_document(org, &resolved).await.unwrap_err();
    assert!(e.to_string().contains("1999"), "{e}");
}

#[tokio::test]
async fn without_a_price_book_the_section_says_what_it_needs() {
    let org = OrganizationId::new();
    let engine = engine(org, false).await;
    let doc = document(&engine, org, CONFIG, &[]).await;
    assert!(doc.repricing.is_none());
    #[cfg(feature = "html")]
    {
        let html = tokentra_reports::render::html::HtmlRenderer::new()
            .render_string(&doc)
            .unwrap();
        assert!(html.contains("needs a price book"), "{html}");
    }
}
