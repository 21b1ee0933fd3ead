//! A realistic, fixed report document for tests, benchmarks, examples and the
//! fuzz target, until the engine produces documents from real data.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;

use crate::model::*;

/// A small deterministic generator (no `rand` dependency, same numbers on
/// every platform).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    /// Cents between `lo` and `hi` dollars.
    fn money(&mut self, lo: i64, hi: i64) -> Decimal {
        let span = u64::try_from((hi - lo) * 100).unwrap_or(1).max(1);
        let cents = i64::try_from(self.next() % span).unwrap_or(0) + lo * 100;
        Decimal::new(cents, 2)
    }
}

const PROVIDERS: [&str; 6] = [
    "OpenAI",
    "AWS Bedrock",
    "Mistral",
    "Anthropic",
    "Google",
    "Azure OpenAI",
];

/// The executive report of March 2026 for "Acme Analytics Inc.": summary,
/// cost by provider (bars), a 31-day trend (area), 30 top costs and 30
/// efficiency rows (the two long tables), three anomalies, a forecast and
/// recommendations. Other kinds break down by provider, model and team.
#[doc(hidden)]
pub fn sample_document() -> ReportDocument {
    sample_document_with(ReportType::Executive, 30, 1)
}

/// A sample document of `kind` with `rows` rows in the long tables
/// (model breakdown, top costs, detail) and `seed` varying the numbers.
#[doc(hidden)]
pub fn sample_document_with(kind: ReportType, rows: usize, seed: u64) -> ReportDocument {
    let mut rng = Lcg(seed.wrapping_mul(7919).wrapping_add(17));
    let start = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default();
    let end = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap_or_default();
    let currency = Currency::USD;

    let points: Vec<TrendPoint> = (0..31)
        .map(|d| TrendPoint {
            period_start: (start + Duration::days(d))
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default(),
            cost: rng.money(20, 750),
            requests: 30_000 + rng.next() % 20_000,
            tokens: 25_000_000 + rng.next() % 10_000_000,
        })
        .collect();
    let total: Decimal = points.iter().map(|p| p.cost).sum();
    let requests: u64 = points.iter().map(|p| p.requests).sum();
    let tokens: u64 = points.iter().map(|p| p.tokens).sum();
    let previous = (total * Decimal::new(92, 2)).round_dp(2);

    let breakdown = |dimension: Dimension, labels: Vec<String>, rng: &mut Lcg| {
        let n = labels.len().max(1);
        let mut weights: Vec<u64> = (0..n)
            .map(|i| 1000 / (i as u64 + 2) + rng.next() % 50)
            .collect();
        weights.sort_unstable_by(|a, b| b.cmp(a));
        let wsum: u64 = weights.iter().sum();
        let mut items = Vec::new();
        let mut left = total;
        for (i, (label, w)) in labels.iter().zip(&weights).enumerate() {
            let cost = if i + 1 == n {
                left
            } else {
                (total * Decimal::from(*w) / Decimal::from(wsum)).round_dp(2)
            };
            left -= cost;
            let share = if total.is_zero() {
                Decimal::ZERO
            } else {
                (cost * Decimal::ONE_HUNDRED / total).round_dp(1)
            };
            items.push(BreakdownItem {
                value: Some(label.clone()),
                label: label.clone(),
                cost,
                requests: requests * w / wsum,
                tokens: tokens * w / wsum,
                share,
                change: Some(Decimal::new(
                    i64::try_from(rng.next() % 400).unwrap_or(0) - 150,
                    1,
                )),
                is_other: false,
            });
        }
        Breakdown {
            dimension,
            items,
            total,
        }
    };
    let models: Vec<String> = (0..rows.max(1))
        .map(|i| {
            let base = [
                "gpt-4o",
                "claude-3-5-sonnet",
                "mistral-large",
                "gemini-1.5-pro",
                "gpt-4o-mini",
                "claude-3-haiku",
                "llama-3-70b",
                "command-r-plus",
            ];
            format!("{}-{:02}", base[i % base.len()], i / base.len() + 1)
        })
        .collect();
    let teams: Vec<String> = [
        "Search",
        "Support Bot",
        "Data Science",
        "Marketing",
        "Platform",
        "Legal",
        "Sales Assist",
        "Research",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut breakdowns = vec![
        breakdown(
            Dimension::Provider,
            PROVIDERS.iter().map(|s| s.to_string()).collect(),
            &mut rng,
        ),
        breakdown(Dimension::Model, models.clone(), &mut rng),
        breakdown(Dimension::Team, teams.clone(), &mut rng),
    ];
    if kind == ReportType::Executive {
        // The executive report shows providers as bars; models and teams
        // appear in the top-costs and efficiency tables.
        breakdowns.truncate(1);
    }

    // Combinations that together make up about 80% of the total, each
    // with its true share of it.
    let slots = Decimal::from(u64::try_from(rows.max(1)).unwrap_or(1).saturating_mul(40));
    let top_costs = (0..rows)
        .map(|i| {
            let cost = (total * Decimal::from(5 + rng.next() % 56) / slots).round_dp(2);
            let share = if total.is_zero() {
                Decimal::ZERO
            } else {
                (cost * Decimal::ONE_HUNDRED / total).round_dp(1)
            };
            TopCost {
                keys: vec![
                    (Dimension::Team, teams.get(i % teams.len()).cloned()),
                    (Dimension::Model, models.get(i % models.len()).cloned()),
                ],
                cost,
                requests: 1000 + rng.next() % 9000,
                share,
            }
        })
        .collect::<Vec<_>>();
    let mut top_costs = top_costs;
    top_costs.sort_by_key(|t| std::cmp::Reverse(t.cost));

    let efficiency = models
        .iter()
        .take(rows)
        .map(|m| EfficiencyRow {
            model: m.clone(),
            cost_per_request: Decimal::new(i64::try_from(rng.next() % 300).unwrap_or(0) + 5, 4),
            cost_per_1k_tokens: Decimal::new(i64::try_from(rng.next() % 900).unwrap_or(0) + 10, 4),
            tokens_per_request: Decimal::from(400 + rng.next() % 2000),
            cache_hit_rate: Decimal::new(i64::try_from(rng.next() % 900).unwrap_or(0), 1),
        })
        .collect();

    let detail = (0..rows.max(1).saturating_mul(31))
        .map(|i| {
            let day = start + Duration::days(i64::try_from(i % 31).unwrap_or(0));
            CostBucket {
                period_start: day.and_hms_opt(0, 0, 0),
                keys: vec![
                    PROVIDERS.get(i % PROVIDERS.len()).map(|s| s.to_string()),
                    models.get(i / 31 % models.len()).cloned(),
                ],
                currency,
                cost: rng.money(0, 120),
                requests: rng.next() % 5000,
                input_tokens: rng.next() % 4_000_000,
                output_tokens: rng.next() % 1_000_000,
                cached_requests: rng.next() % 500,
            }
        })
        .collect();

    let sections = match kind {
        ReportType::Executive => vec![
            ReportSection::Summary,
            ReportSection::Breakdown,
            ReportSection::Trend,
            ReportSection::TopCosts,
            ReportSection::Efficiency,
            ReportSection::Anomalies,
            ReportSection::Forecast,
            ReportSection::Recommendations,
        ],
        _ => vec![
            ReportSection::Summary,
            ReportSection::Trend,
            ReportSection::Breakdown,
            ReportSection::TopCosts,
            ReportSection::Efficiency,
            ReportSection::Anomalies,
        ],
    };

    let mut doc = ReportDocument {
        schema_version: REPORT_SCHEMA_VERSION,
        title: "AI Usage & Cost Report".into(),
        report_type: kind,
        organization_name: Some("Acme Analytics Inc.".into()),
        generated_at: Utc
            .with_ymd_and_hms(2026, 4, 1, 6, 0, 0)
            .single()
            .unwrap_or_default(),
        date_range: DateRange { start, end },
        comparison_range: Some(DateRange {
            start: NaiveDate::from_ymd_opt(2026, 1, 29).unwrap_or_default(),
            end: NaiveDate::from_ymd_opt(2026, 2, 28).unwrap_or_default(),
        }),
        filters: ReportFilters::default(),
        currency,
        branding: ReportBranding {
            company_name: Some("Acme Analytics Inc.".into()),
            primary_color: Some("#4F46E5".into()),
            header_text: None,
            footer_text: Some("Confidential: internal use only".into()),
            logo_url: None,
            logo: None,
        },
        sections,
        metrics: vec![
            Metric::TotalCost,
            Metric::TotalRequests,
            Metric::TotalTokens,
            Metric::CacheHitRate,
            Metric::CostChange,
        ],
        include_charts: true,
        chart_types: vec![ChartType::Bar, ChartType::Area],
        summary_data: ReportSummaryData {
            total_cost: total,
            total_requests: requests,
            cost_change: Some(Decimal::new(87, 1)),
            top_provider: Some("OpenAI".into()),
            top_model: models.first().cloned(),
            anomaly_count: 3,
        },
        summary: Some(CostSummary {
            total_cost: total,
            total_requests: requests,
            total_tokens: tokens,
            input_tokens: tokens / 4 * 3,
            output_tokens: tokens - tokens / 4 * 3,
            cached_requests: requests / 5,
            cache_hit_rate: Decimal::new(200, 1),
            avg_cost_per_request: if requests == 0 {
                Decimal::ZERO
            } else {
                (total / Decimal::from(requests)).round_dp(4)
            },
            comparison: Some(Comparison {
                range: DateRange {
                    start: NaiveDate::from_ymd_opt(2026, 1, 29).unwrap_or_default(),
                    end: NaiveDate::from_ymd_opt(2026, 2, 28).unwrap_or_default(),
                },
                previous_cost: previous,
                absolute_change: total - previous,
                percent_change: Some(Decimal::new(87, 1)),
                trend: Trend::Up,
            }),
        }),
        trend: Some(CostTrend {
            granularity: Granularity::Day,
            points,
        }),
        breakdowns,
        anomalies: vec![
            Anomaly {
                date: NaiveDate::from_ymd_opt(2026, 3, 3).unwrap_or_default(),
                dimension: Dimension::Team,
                value: "Support Bot".into(),
                expected_cost: Decimal::new(21_450, 2),
                actual_cost: Decimal::new(71_230, 2),
                deviation: Decimal::new(42, 1),
                severity: Severity::High,
                history: Vec::new(),
                explanation: None,
            },
            Anomaly {
                date: NaiveDate::from_ymd_opt(2026, 3, 21).unwrap_or_default(),
                dimension: Dimension::Model,
                value: "gpt-4o-01".into(),
                expected_cost: Decimal::new(30_000, 2),
                actual_cost: Decimal::new(73_790, 2),
                deviation: Decimal::new(31, 1),
                severity: Severity::Medium,
                history: Vec::new(),
                explanation: None,
            },
            Anomaly {
                date: NaiveDate::from_ymd_opt(2026, 3, 25).unwrap_or_default(),
                dimension: Dimension::Provider,
                value: "Google".into(),
                expected_cost: Decimal::new(9_000, 2),
                actual_cost: Decimal::new(2_100, 2),
                deviation: Decimal::new(-25, 1),
                severity: Severity::Low,
                history: Vec::new(),
                explanation: None,
            },
        ],
        forecast: Some(Forecast {
            period_start: None,
            method: "linear_least_squares".into(),
            period_end: NaiveDate::from_ymd_opt(2026, 4, 30).unwrap_or_default(),
            actual_to_date: total,
            projected_total: (total * Decimal::new(104, 2)).round_dp(2),
            lower_bound: (total * Decimal::new(95, 2)).round_dp(2),
            upper_bound: (total * Decimal::new(113, 2)).round_dp(2),
            points: (1..=30)
                .map(|d| ForecastPoint {
                    date: end + Duration::days(d),
                    cost: rng.money(300, 500),
                })
                .collect(),
            outlook: Vec::new(),
            fitted_on: None,
            backtest: None,
        }),
        recommendations: vec![
            Recommendation {
                kind: "cost_increase".into(),
                title: "Spend grew 8.7% month over month".into(),
                message: "Most of the increase comes from Support Bot on gpt-4o; consider routing simple intents to a smaller model.".into(),
                metric: Decimal::new(87, 1),
                threshold: Decimal::new(50, 1),
                potential_savings: Some(Decimal::new(84_000, 2)),
            },
            Recommendation {
                kind: "low_cache_hit_rate".into(),
                title: "Cache hit rate is 20%".into(),
                message: "Enable prompt caching for the long system prompts of Search.".into(),
                metric: Decimal::new(200, 1),
                threshold: Decimal::new(300, 1),
                potential_savings: None,
            },
        ],
        top_costs,
        efficiency,
        repricing: None,
        chargeback: None,
        detail,
        detail_dimensions: vec![Dimension::Provider, Dimension::Model],
        data_complete_through: None,
        dimension_labels: Default::default(),
        groups: Vec::new(),
        statement: None,
        forecast_unavailable: None,
    };
    reader_parts(&mut doc, &mut rng);
    doc
}

/// The parts each reader's layout shows: a page per team (team and
/// project documents), anomaly histories and explanations, the forecast's
/// outlook and backtest, and a chargeback statement (chargeback documents).
fn reader_parts(doc: &mut ReportDocument, rng: &mut Lcg) {
    let start = doc.date_range.start;
    for (i, a) in doc.anomalies.iter_mut().enumerate() {
        a.history = (0..15)
            .map(|d| AnomalyDay {
                date: a.date - Duration::days(14 - d),
                cost: if d == 14 {
                    a.actual_cost
                } else {
                    a.expected_cost + rng.money(0, 40) - Decimal::new(2000, 2)
                },
                in_baseline: d != 14 && d != 3,
            })
            .collect();
        let delta = a.actual_cost - a.expected_cost;
        a.explanation = (i != 2).then(|| {
            let volume = (delta * Decimal::new(55, 2)).round_dp(2);
            let mix = (delta * Decimal::new(25, 2)).round_dp(2);
            let cache = (delta * Decimal::new(-5, 2)).round_dp(2);
            AnomalyExplanation {
                volume,
                model_mix: mix,
                cache_rate: cache,
                price: delta - volume - mix - cache,
                requests: 48_210,
                expected_requests: Decimal::new(31_044, 0),
                cache_hit_rate: Decimal::new(182, 1),
                expected_cache_hit_rate: Decimal::new(214, 1),
                top_model: Some(ModelChange {
                    model: "gpt-4o-01".into(),
                    change: (delta * Decimal::new(6, 1)).round_dp(2),
                }),
            }
        });
    }
    if let Some(f) = &mut doc.forecast {
        let next = f.period_end + Duration::days(1);
        f.outlook = vec![
            ForecastHorizon {
                horizon: "next_month".into(),
                period_start: next,
                period_end: next + Duration::days(30),
                projected_total: (f.projected_total * Decimal::new(103, 2)).round_dp(2),
                lower_bound: (f.projected_total * Decimal::new(90, 2)).round_dp(2),
                upper_bound: (f.projected_total * Decimal::new(116, 2)).round_dp(2),
            },
            ForecastHorizon {
                horizon: "next_quarter".into(),
                period_start: NaiveDate::from_ymd_opt(2026, 7, 1).unwrap_or(next),
                period_end: NaiveDate::from_ymd_opt(2026, 9, 30).unwrap_or(next),
                projected_total: (f.projected_total * Decimal::new(315, 2)).round_dp(2),
                lower_bound: (f.projected_total * Decimal::new(250, 2)).round_dp(2),
                upper_bound: (f.projected_total * Decimal::new(380, 2)).round_dp(2),
            },
        ];
        f.backtest = Some(ForecastBacktest {
            folds: 6,
            fit_days: 31,
            horizon_days: 30,
            mape: Decimal::new(74, 1),
        });
    }
    let total = doc.summary_data.total_cost;
    let teams = doc
        .breakdowns
        .iter()
        .find(|b| b.dimension == Dimension::Team)
        .cloned();
    if matches!(doc.report_type, ReportType::Team | ReportType::Project) {
        if let Some(teams) = &teams {
            let models = doc
                .breakdowns
                .iter()
                .find(|b| b.dimension == Dimension::Model)
                .cloned();
            doc.groups = teams
                .items
                .iter()
                .take(3)
                .map(|t| {
                    let mut by_model = models.clone().unwrap_or(Breakdown {
                        dimension: Dimension::Model,
                        items: Vec::new(),
                        total: Decimal::ZERO,
                    });
                    by_model.items.truncate(4);
                    let part: Decimal = by_model.items.iter().map(|i| i.cost).sum();
                    for item in &mut by_model.items {
                        if !part.is_zero() {
                            item.cost = (item.cost * t.cost / part).round_dp(2);
                        }
                    }
                    by_model.total = by_model.items.iter().map(|i| i.cost).sum();
                    GroupDetail {
                        dimension: Dimension::Team,
                        value: t.value.clone(),
                        label: t.label.clone(),
                        cost: t.cost,
                        requests: t.requests,
                        tokens: t.tokens,
                        share: t.share,
                        previous_cost: Some((t.cost * Decimal::new(91, 2)).round_dp(2)),
                        change: t.change,
                        breakdowns: vec![by_model],
                        trend: Some(CostTrend {
                            granularity: Granularity::Day,
                            points: (0..31)
                                .map(|d| TrendPoint {
                                    period_start: (start + Duration::days(d))
                                        .and_hms_opt(0, 0, 0)
                                        .unwrap_or_default(),
                                    cost: rng.money(5, 120),
                                    requests: rng.next() % 9000,
                                    tokens: rng.next() % 9_000_000,
                                })
                                .collect(),
                        }),
                    }
                })
                .collect();
        }
    }
    if doc.report_type == ReportType::Chargeback {
        let unallocated = (total * Decimal::new(3, 2)).round_dp(2);
        let mut allocations = std::collections::BTreeMap::new();
        let mut left = total - unallocated;
        let items = teams.map(|t| t.items).unwrap_or_default();
        for (i, t) in items.iter().take(4).enumerate() {
            let cost = if i == 3 || i + 1 == items.len() {
                left
            } else {
                (t.cost * Decimal::new(97, 2)).round_dp(2).min(left)
            };
            left -= cost;
            let mut by_provider = std::collections::BTreeMap::new();
            by_provider.insert("OpenAI".to_owned(), cost);
            let mut by_model = std::collections::BTreeMap::new();
            by_model.insert("gpt-4o-01".to_owned(), cost);
            allocations.insert(
                t.label.clone(),
                ChargebackAllocation {
                    total_cost: cost,
                    breakdown: AllocationBreakdown {
                        by_provider,
                        by_model,
                    },
                },
            );
        }
        let allocated = allocations.values().map(|a| a.total_cost).sum();
        doc.chargeback = Some(Allocation {
            allocations,
            total_cost: allocated + unallocated,
            allocated_cost: allocated,
            unallocated_cost: unallocated,
            currency: doc.currency,
        });
        doc.statement = Some(ChargebackStatement {
            configuration: "Teams".into(),
            basis: AllocationBasis::Team,
            tag_key: None,
            rules: vec![AllocationRule {
                source: "Shared Platform".into(),
                target: None,
                percentage: None,
                split: Some(vec![
                    SplitTarget {
                        target: "Search".into(),
                        weight: Decimal::from(3),
                    },
                    SplitTarget {
                        target: "Support Bot".into(),
                        weight: Decimal::ONE,
                    },
                ]),
            }],
            status: ChargebackStatus::PendingApproval,
            requires_approval: true,
            approvers: vec![UserId::from_uuid(uuid::Uuid::from_u128(0x5eed))],
            approved_by: None,
            approved_at: None,
            rejected_by: None,
            rejection_reason: None,
        });
    }
}
