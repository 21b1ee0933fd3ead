//! The analytics core over the in-memory cost source and the bundled demo
//! data: what the engine does for an executive report, with exact values
//! (checked against an independent sum of the CSV).

use rust_decimal_macros::dec;
use tokentra_reports::backends::file::read_cost_rows_csv;
use tokentra_reports::backends::memory::MemoryCostSource;
use tokentra_reports::core::insight::{anomaly, breakdown, forecast, recommend, summary, trend};
use tokentra_reports::model::{
    CostQuery, Currency, DateRange, Dimension, Granularity, OrganizationId, ReportFilters,
    Severity, Trend,
};
use tokentra_reports::ports::CostSource;

fn range(a: &str, b: &str) -> DateRange {
    DateRange::new(a.parse().unwrap(), b.parse().unwrap()).unwrap()
}

#[tokio::test]
async fn executive_report_of_the_demo_data() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/llm_usage_daily.csv");
    let rows = read_cost_rows_csv(std::fs::File::open(path).unwrap(), "demo").unwrap();
    let org = OrganizationId::new();
    let src = MemoryCostSource::with_rows(org, rows);
    let usd = Currency::USD;
    let october = range("2026-10-01", "2026-10-31");
    let september = range("2026-09-01", "2026-09-30");

    let daily = src
        .aggregate(org, &CostQuery::total(october).bucketed(Granularity::Day))
        .await
        .unwrap();
    let prev = src
        .aggregate(org, &CostQuery::total(september))
        .await
        .unwrap();
    let s = summary::summarize_with_comparison(&daily, &prev, september, usd).unwrap();
    assert_eq!(s.total_cost, dec!(13690.414129010));
    assert_eq!(s.total_requests, 3_979_456);
    assert_eq!(s.total_tokens, 6_389_896_720);
    assert_eq!(s.cached_requests, 1_322_998);
    assert_eq!(s.cache_hit_rate, dec!(33.25));
    assert_eq!(s.avg_cost_per_request, dec!(0.003440));
    let c = s.comparison.as_ref().unwrap();
    assert_eq!(c.previous_cost, dec!(11548.675436515));
    assert_eq!(c.absolute_change, dec!(2141.738692495));
    assert_eq!(c.percent_change, Some(dec!(18.55)));
    assert_eq!(c.trend, Trend::Up);

    let t = trend::trend(&daily, october, Granularity::Day, usd).unwrap();
    assert_eq!(t.points.len(), 31);
    assert_eq!(
        t.points
            .iter()
            .map(|p| p.cost)
            .sum::<rust_decimal::Decimal>(),
        s.total_cost
    );

    let by = |dim: Dimension, r: DateRange| {
        let src = &src;
        async move {
            src.aggregate(org, &CostQuery::total(r).group_by([dim]))
                .await
                .unwrap()
        }
    };
    let providers = by(Dimension::Provider, october).await;
    let models = by(Dimension::Model, october).await;
    let prev_providers = by(Dimension::Provider, september).await;
    let b = breakdown::breakdown(
        Dimension::Provider,
        &providers,
        Some(&prev_providers),
        2,
        usd,
    )
    .unwrap();
    let view: Vec<_> = b.items.iter().map(|i| (i.label.as_str(), i.cost)).collect();
    assert_eq!(
        view,
        vec![
            ("anthropic", dec!(8483.5775036)),
            ("openai", dec!(4191.346728450)),
            ("Other (2 more)", dec!(1015.48989696)),
        ]
    );
    assert_eq!(b.total, s.total_cost);
    assert_eq!(
        b.items
            .iter()
            .map(|i| i.share)
            .sum::<rust_decimal::Decimal>(),
        dec!(100.0)
    );
    let by_model = breakdown::breakdown(Dimension::Model, &models, None, 10, usd).unwrap();

    let data = summary::summary_data(&s, &providers, &models, 0, usd).unwrap();
    assert_eq!(data.top_provider.as_deref(), Some("anthropic"));
    assert_eq!(data.top_model.as_deref(), Some("claude-sonnet-4-5"));
    assert_eq!(data.cost_change, Some(dec!(18.55)));

    let prev_summary = summary::summarize(&prev, usd).unwrap();
    let recs = recommend::recommend(
        &recommend::RecommendationInput {
            summary: &s,
            previous: Some(&prev_summary),
            by_model: Some(&by_model),
            by_provider: Some(&b),
            anomaly_days: 0,
            currency: usd,
        },
        &recommend::Thresholds::default(),
    );
    let kinds: Vec<_> = recs.iter().map(|r| (r.kind.as_str(), r.metric)).collect();
    assert_eq!(kinds, vec![("cost_increase", dec!(18.55))]);

    // The same summary for filtered data (the engine puts the template's
    // filters in the query).
    let filters = ReportFilters {
        teams: vec!["research".into(), "ads".into()],
        providers: vec!["openai".into()],
        ..Default::default()
    };
    let filtered = src
        .aggregate(org, &CostQuery::total(october).filtered(filters))
        .await
        .unwrap();
    let fs = summary::summarize(&filtered, usd).unwrap();
    assert_eq!(fs.total_cost, dec!(2353.49290150));
    assert_eq!(fs.total_requests, 211_798);

    // Anomalies over October with a 14-day baseline before it.
    let with_baseline = range("2026-09-17", "2026-10-31");
    let daily_by_provider = src
        .aggregate(
            org,
            &CostQuery::total(with_baseline)
                .group_by([Dimension::Provider])
                .bucketed(Granularity::Day),
        )
        .await
        .unwrap();
    let found = anomaly::detect_anomalies(
        &daily_by_provider,
        &Dimension::Provider,
        october,
        &anomaly::AnomalyParams::default(),
        usd,
    )
    .unwrap();
    let view: Vec<_> = found
        .iter()
        .map(|a| (a.date.to_string(), a.value.as_str(), a.severity))
        .collect();
    assert_eq!(
        view,
        vec![
            ("2026-10-14".to_string(), "anthropic", Severity::High),
            ("2026-10-14".to_string(), "openai", Severity::High),
        ]
    );
    // By team, the data's two injected spikes and nothing else (see
    // data/demo/README.md).
    let daily_by_team = src
        .aggregate(
            org,
            &CostQuery::total(range("2026-08-01", "2026-10-31"))
                .group_by([Dimension::Team])
                .bucketed(Granularity::Day),
        )
        .await
        .unwrap();
    let found = anomaly::detect_anomalies(
        &daily_by_team,
        &Dimension::Team,
        range("2026-08-15", "2026-10-31"),
        &anomaly::AnomalyParams::default(),
        usd,
    )
    .unwrap();
    let view: Vec<_> = found
        .iter()
        .map(|a| (a.date.to_string(), a.value.as_str()))
        .collect();
    assert_eq!(
        view,
        vec![
            ("2026-09-22".to_string(), "ads"),
            ("2026-10-14".to_string(), "research"),
        ]
    );

    // Forecast of October's total from its first 10 days.
    let f = forecast::forecast_month(&daily, range("2026-10-01", "2026-10-10"), usd).unwrap();
    assert_eq!(f.period_end, "2026-10-31".parse().unwrap());
    assert_eq!(f.points.len(), 21);
    assert!(f.lower_bound <= f.projected_total && f.projected_total <= f.upper_bound);
}
