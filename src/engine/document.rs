//! Gathering the data of a report into a [`ReportDocument`]: the engine
//! asks the [`CostSource`](crate::ports::CostSource) only for what the
//! template's sections need, all queries at once, and hands the buckets to
//! the pure insight functions of [`core::insight`](crate::core::insight).

use std::collections::HashMap;

use chrono::Duration;
use rust_decimal::Decimal;

use super::generate::ResolvedReport;
use super::Engine;
use crate::core::insight::anomaly::{detect_anomalies, explain_anomaly, AnomalyParams, ModelUsage};
use crate::core::insight::breakdown::breakdown;
use crate::core::insight::forecast::{
    backtest, days_with_cost, forecast_ahead, history_days_needed, outlook, MIN_HISTORY_DAYS,
};
use crate::core::insight::recommend::{recommend, RecommendationInput, Thresholds};
use crate::core::insight::summary::{summarize, summarize_with_comparison, summary_data};
use crate::core::insight::trend::trend;
use crate::model::{
    Breakdown, CostBucket, CostQuery, Currency, DateRange, Dimension, EfficiencyRow, Granularity,
    GroupDetail, OrganizationId, ReportDocument, ReportFormat, ReportSection, ReportType, TopCost,
    REPORT_SCHEMA_VERSION,
};
use crate::{Error, Result};

/// Fewest days a forecast is fitted on.
const MIN_FIT_DAYS: i64 = 14;

/// How many rows the top-costs and efficiency sections show.
const TOP_ROWS: usize = 15;

/// The queries of one report, by name.
/// The dimensions anomalies are looked for by: provider and team (the
/// specification's "cost anomalies by provider and team"), then the
/// template's breakdowns, at most four in all.
fn anomaly_dimensions(r: &ResolvedReport) -> Vec<Dimension> {
    let mut dims = vec![Dimension::Provider, Dimension::Team];
    for d in &r.config.breakdowns {
        if dims.len() >= 4 {
            break;
        }
        if !dims.contains(d) {
            dims.push(d.clone());
        }
    }
    dims
}

/// The dimension a report has a page per value of, and what each page
/// breaks down by: teams (by model and feature) in team reports, projects
/// (by team and model) in project reports.
fn group_dimensions(r: &ResolvedReport) -> Option<(Dimension, Vec<Dimension>)> {
    if !r.config.sections.contains(&ReportSection::Breakdown) {
        return None;
    }
    match r.template.report_type {
        ReportType::Team => Some((Dimension::Team, vec![Dimension::Model, Dimension::Feature])),
        ReportType::Project => Some((Dimension::Project, vec![Dimension::Team, Dimension::Model])),
        _ => None,
    }
}

/// Most pages per team or project; the smaller ones are in the breakdown
/// table only.
const MAX_GROUP_PAGES: usize = 25;

/// The pages of [`group_dimensions`]: the groups by cost (largest first, at
/// most the breakdown limit and [`MAX_GROUP_PAGES`]), each with its
/// breakdowns and change.
fn group_details(
    g: &Dimension,
    subs: &[Dimension],
    data: &HashMap<String, Vec<CostBucket>>,
    total: Decimal,
    limit: usize,
    currency: Currency,
    (range, granularity): (DateRange, Granularity),
) -> Result<Vec<GroupDetail>> {
    let empty = Vec::new();
    let main = data.get("group").unwrap_or(&empty);
    let prev = data.get("group:prev");
    let overall = breakdown(
        g.clone(),
        main,
        prev.map(Vec::as_slice),
        limit.min(MAX_GROUP_PAGES),
        currency,
    )?;
    // The buckets of one group value, keyed by the sub-dimension alone.
    let of = |rows: &[CostBucket], value: &Option<String>| -> Vec<CostBucket> {
        rows.iter()
            .filter(|b| b.keys.first() == Some(value))
            .map(|b| CostBucket {
                keys: b.keys.get(1).cloned().into_iter().collect(),
                ..b.clone()
            })
            .collect()
    };
    let mut out = Vec::new();
    for item in overall.items.iter().filter(|i| !i.is_other) {
        let value = &item.value;
        let mut breakdowns = Vec::new();
        for d in subs {
            let cur = of(data.get(&format!("group:{d}")).unwrap_or(&empty), value);
            let before = data
                .get(&format!("group:prev:{d}"))
                .map(|rows| of(rows, value));
            breakdowns.push(breakdown(
                d.clone(),
                &cur,
                before.as_deref(),
                limit,
                currency,
            )?);
        }
        let sum = |rows: &[CostBucket], f: fn(&CostBucket) -> u64| {
            rows.iter()
                .filter(|b| b.currency == currency && b.keys.first() == Some(value))
                .fold(0u64, |n, b| n.saturating_add(f(b)))
        };
        let previous_cost = prev.map(|rows| {
            rows.iter()
                .filter(|b| b.currency == currency && b.keys.first() == Some(value))
                .fold(Decimal::ZERO, |a, b| a.checked_add(b.cost).unwrap_or(a))
        });
        let daily: Vec<CostBucket> = data
            .get("group:trend")
            .map(|rows| {
                rows.iter()
                    .filter(|b| b.keys.first() == Some(value))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        out.push(GroupDetail {
            trend: Some(trend(&daily, range, granularity, currency)?),
            dimension: g.clone(),
            value: value.clone(),
            label: item.label.clone(),
            cost: item.cost,
            requests: sum(main, |b| b.requests),
            tokens: sum(main, |b| b.input_tokens.saturating_add(b.output_tokens)),
            share: percent(item.cost, total),
            previous_cost,
            change: item.change,
            breakdowns,
        });
    }
    Ok(out)
}

/// Anomaly buckets grouped by (value, model) and by day, as each value's
/// usage by day and model (`model_only`: the buckets are grouped by model
/// alone, the value is the model).
fn usage_by_value(
    rows: &[CostBucket],
    model_only: bool,
    currency: Currency,
) -> HashMap<
    String,
    std::collections::BTreeMap<chrono::NaiveDate, std::collections::BTreeMap<String, ModelUsage>>,
> {
    let mut out: HashMap<
        _,
        std::collections::BTreeMap<_, std::collections::BTreeMap<String, ModelUsage>>,
    > = HashMap::new();
    for b in rows.iter().filter(|b| b.currency == currency) {
        let Some(day) = b.period_start.map(|t| t.date()) else {
            continue;
        };
        let value = b
            .keys
            .first()
            .cloned()
            .flatten()
            .unwrap_or_else(|| crate::core::insight::UNASSIGNED.to_owned());
        let model = if model_only {
            value.clone()
        } else {
            b.keys
                .get(1)
                .cloned()
                .flatten()
                .unwrap_or_else(|| crate::core::insight::UNASSIGNED.to_owned())
        };
        let u = out
            .entry(value)
            .or_default()
            .entry(day)
            .or_default()
            .entry(model)
            .or_default();
        u.cost = u.cost.checked_add(b.cost).unwrap_or(u.cost);
        u.requests = u.requests.saturating_add(b.requests);
        u.cached_requests = u.cached_requests.saturating_add(b.cached_requests);
    }
    out
}

struct Plan {
    queries: Vec<(String, CostQuery)>,
}

impl Plan {
    fn add(&mut self, name: impl Into<String>, q: CostQuery) {
        self.queries.push((name.into(), q));
    }
}

fn dims_key(d: &Dimension) -> String {
    format!("cur:{d}")
}

fn prev_key(d: &Dimension) -> String {
    format!("prev:{d}")
}

/// A period ending this many days before today or later may be missing
/// data that has not arrived yet (see [`Engine::data_watermark`]).
const RECENT_DAYS: i64 = 2;

impl Engine {
    /// The last day whose cost data is complete for `org`, for a period
    /// ending on `period_end`: the source's watermark
    /// ([`CostSource::complete_through`](crate::ports::CostSource::complete_through))
    /// when it knows one. When it does not and the period ends within the
    /// last two days, the newest day with any cost or request in
    /// the 30 days to `period_end`, if the organization has usage nearly
    /// every day (12 of the 14 days up to that one): usage data arrives
    /// late, and for such an organization a day of nothing at all is a feed
    /// that has not run yet, not a day without spend. `None`: every day is
    /// taken as complete.
    ///
    /// # Errors
    /// The cost source's.
    pub async fn data_watermark(
        &self,
        org: OrganizationId,
        period_end: chrono::NaiveDate,
    ) -> Result<Option<chrono::NaiveDate>> {
        if let Some(w) = self.costs.complete_through(org).await? {
            return Ok(Some(w));
        }
        let today = self.clock.now().date_naive();
        if (today - period_end).num_days() > RECENT_DAYS {
            return Ok(None);
        }
        let Some(start) = period_end.checked_sub_signed(Duration::days(29)) else {
            return Ok(None);
        };
        let days = self
            .costs
            .aggregate(
                org,
                &CostQuery::total(DateRange {
                    start,
                    end: period_end,
                })
                .bucketed(Granularity::Day),
            )
            .await?;
        let with_data: std::collections::BTreeSet<chrono::NaiveDate> = days
            .iter()
            .filter(|b| !b.cost.is_zero() || b.requests > 0)
            .filter_map(|b| b.period_start.map(|t| t.date()))
            .collect();
        let Some(&last) = with_data.last() else {
            return Ok(None);
        };
        // Only for usage that comes every day (at least 12 of the 14 days
        // up to the last one): a team that uses AI once a week has quiet
        // days, not missing ones.
        let dense = with_data
            .range(last.checked_sub_signed(Duration::days(13)).unwrap_or(last)..=last)
            .count()
            >= 12;
        Ok((dense && last < period_end).then_some(last))
    }

    /// Query the cost source for what the resolved template's sections need
    /// (concurrently) and assemble the document every renderer reads.
    pub async fn build_document(
        &self,
        org: OrganizationId,
        r: &ResolvedReport,
    ) -> Result<ReportDocument> {
        let watermark = self.data_watermark(org, r.date_range.end).await?;
        self.build_document_with(org, r, watermark).await
    }

    /// [`build_document`](Self::build_document) with the period's
    /// [`data_watermark`](Self::data_watermark) already known (the digest
    /// job asks for it first, to wait for late data).
    pub(crate) async fn build_document_with(
        &self,
        org: OrganizationId,
        r: &ResolvedReport,
        watermark: Option<chrono::NaiveDate>,
    ) -> Result<ReportDocument> {
        let currency = self.costs.default_currency();
        let has = |s: ReportSection| r.config.sections.contains(&s);
        // Data freshness: when the source's data stops before the period
        // ends, the later days are not judged (a missing day is not a drop):
        // no comparison with a whole previous period, anomalies and the
        // forecast over the complete days only.
        let incomplete = watermark.filter(|w| *w < r.date_range.end);
        let complete = match incomplete {
            None => Some(r.date_range),
            Some(w) if w >= r.date_range.start => Some(DateRange {
                start: r.date_range.start,
                end: w,
            }),
            Some(_) => None,
        };
        let comparison_range = r.comparison_range.filter(|_| incomplete.is_none());
        let base = CostQuery::total(r.date_range).filtered(r.filters.clone());
        let prev_base = comparison_range.map(|c| CostQuery::total(c).filtered(r.filters.clone()));
        let anomaly_params = AnomalyParams::default();
        let mut breakdown_dims: Vec<Dimension> = Vec::new();
        for d in &r.config.breakdowns {
            if !breakdown_dims.contains(d) {
                breakdown_dims.push(d.clone());
            }
        }

        let mut plan = Plan {
            queries: Vec::new(),
        };
        // Headline figures always need provider and model.
        plan.add("cur:provider", base.clone().group_by([Dimension::Provider]));
        plan.add("cur:model", base.clone().group_by([Dimension::Model]));
        if let Some(pb) = &prev_base {
            plan.add("prev:provider", pb.clone().group_by([Dimension::Provider]));
            plan.add("prev:model", pb.clone().group_by([Dimension::Model]));
        }
        if has(ReportSection::Breakdown) {
            for d in &breakdown_dims {
                if !matches!(d, Dimension::Provider | Dimension::Model) {
                    plan.add(dims_key(d), base.clone().group_by([d.clone()]));
                    if let Some(pb) = &prev_base {
                        plan.add(prev_key(d), pb.clone().group_by([d.clone()]));
                    }
                }
            }
        }
        if has(ReportSection::Trend) {
            plan.add("trend", base.clone().bucketed(r.config.granularity));
        }
        let needs_anomalies = has(ReportSection::Anomalies) || has(ReportSection::Recommendations);
        if let (true, Some(judged)) = (needs_anomalies, complete) {
            let anomaly_range = DateRange {
                start: judged
                    .start
                    .checked_sub_signed(Duration::days(i64::from(anomaly_params.window)))
                    .ok_or_else(|| {
                        Error::invalid("dateRange", "the anomaly window starts before year -262143")
                    })?,
                end: judged.end,
            };
            for (i, dim) in anomaly_dimensions(r).iter().enumerate() {
                plan.add(
                    format!("anomalies:{i}"),
                    CostQuery::total(anomaly_range)
                        .filtered(r.filters.clone())
                        .group_by([dim.clone()])
                        .bucketed(Granularity::Day),
                );
                // By model too, to explain what moved.
                if has(ReportSection::Anomalies) && *dim != Dimension::Model {
                    plan.add(
                        format!("anomalies:{i}:model"),
                        CostQuery::total(anomaly_range)
                            .filtered(r.filters.clone())
                            .group_by([dim.clone(), Dimension::Model])
                            .bucketed(Granularity::Day),
                    );
                }
            }
        }
        // The forecast fits on the period and is backtested on the
        // history before it (see `core::insight::forecast::backtest`).
        // (At most the 5 years a query may span.)
        let back = history_days_needed(r.date_range, 31)
            .min(crate::core::aggregate::MAX_QUERY_DAYS - r.date_range.days())
            .max(0);
        let forecast_history = DateRange {
            start: r
                .date_range
                .start
                .checked_sub_signed(Duration::days(back))
                .unwrap_or(r.date_range.start),
            end: r.date_range.end,
        };
        if has(ReportSection::Forecast) {
            plan.add(
                "daily",
                CostQuery::total(forecast_history)
                    .filtered(r.filters.clone())
                    .bucketed(Granularity::Day),
            );
        }
        // A page per team or project.
        let group_dims = group_dimensions(r);
        if let Some((g, subs)) = &group_dims {
            plan.add("group", base.clone().group_by([g.clone()]));
            plan.add(
                "group:trend",
                base.clone()
                    .group_by([g.clone()])
                    .bucketed(r.config.granularity),
            );
            if let Some(pb) = &prev_base {
                plan.add("group:prev", pb.clone().group_by([g.clone()]));
            }
            for d in subs {
                plan.add(
                    format!("group:{d}"),
                    base.clone().group_by([g.clone(), d.clone()]),
                );
                if let Some(pb) = &prev_base {
                    plan.add(
                        format!("group:prev:{d}"),
                        pb.clone().group_by([g.clone(), d.clone()]),
                    );
                }
            }
        }
        if has(ReportSection::TopCosts) {
            plan.add(
                "top",
                base.clone().group_by([Dimension::Team, Dimension::Model]),
            );
        }
        let detail_dims = vec![
            Dimension::Provider,
            Dimension::Model,
            Dimension::Team,
            Dimension::Project,
            Dimension::CostCenter,
        ];
        let wants_detail = matches!(r.format, ReportFormat::Csv | ReportFormat::Xlsx);
        if wants_detail {
            plan.add(
                "detail",
                base.clone()
                    .group_by(detail_dims.clone())
                    .bucketed(Granularity::Day),
            );
        }

        // One call: a SQL source answers the queries over the same rows
        // with one statement.
        let queries: Vec<CostQuery> = plan.queries.iter().map(|(_, q)| q.clone()).collect();
        let results = self.costs.aggregate_many(org, &queries).await?;
        if results.len() != queries.len() {
            return Err(Error::backend(
                "cost source",
                false,
                format!(
                    "aggregate_many answered {} of {} queries",
                    results.len(),
                    queries.len()
                ),
            ));
        }
        let mut data: HashMap<String, Vec<CostBucket>> = plan
            .queries
            .into_iter()
            .map(|(n, _)| n)
            .zip(results)
            .collect();
        let get = |data: &HashMap<String, Vec<CostBucket>>, k: &str| -> Vec<CostBucket> {
            data.get(k).cloned().unwrap_or_default()
        };

        let cur_provider = get(&data, "cur:provider");
        let cur_model = get(&data, "cur:model");
        let summary = match (comparison_range, data.get("prev:provider")) {
            (Some(range), Some(prev)) => {
                summarize_with_comparison(&cur_provider, prev, range, currency)?
            }
            _ => summarize(&cur_provider, currency)?,
        };
        let previous_summary = match data.get("prev:provider") {
            Some(prev) => Some(summarize(prev, currency)?),
            None => None,
        };
        let limit = r.config.breakdown_limit.max(1) as usize;
        let provider_bd = breakdown(
            Dimension::Provider,
            &cur_provider,
            data.get("prev:provider").map(Vec::as_slice),
            limit,
            currency,
        )?;
        let model_bd = breakdown(
            Dimension::Model,
            &cur_model,
            data.get("prev:model").map(Vec::as_slice),
            limit,
            currency,
        )?;
        let mut breakdowns: Vec<Breakdown> = Vec::new();
        if has(ReportSection::Breakdown) {
            for d in &breakdown_dims {
                let b = match d {
                    Dimension::Provider => provider_bd.clone(),
                    Dimension::Model => model_bd.clone(),
                    other => breakdown(
                        other.clone(),
                        &get(&data, &dims_key(other)),
                        data.get(&prev_key(other)).map(Vec::as_slice),
                        limit,
                        currency,
                    )?,
                };
                breakdowns.push(b);
            }
        }
        if let (Some(alloc), Some(dim)) = (&r.chargeback, &r.allocation_dimension) {
            breakdowns.insert(0, allocation_breakdown(alloc, dim.clone()));
        }
        let trend_data = if has(ReportSection::Trend) {
            Some(trend(
                &get(&data, "trend"),
                r.date_range,
                r.config.granularity,
                currency,
            )?)
        } else {
            None
        };
        let anomalies = if let (true, Some(judged)) = (needs_anomalies, complete) {
            let mut all = Vec::new();
            for (i, dim) in anomaly_dimensions(r).iter().enumerate() {
                let mut found = detect_anomalies(
                    &get(&data, &format!("anomalies:{i}")),
                    dim,
                    judged,
                    &anomaly_params,
                    currency,
                )?;
                if has(ReportSection::Anomalies) {
                    let by_model = if *dim == Dimension::Model {
                        data.get(&format!("anomalies:{i}"))
                    } else {
                        data.get(&format!("anomalies:{i}:model"))
                    };
                    if let Some(rows) = by_model {
                        let usage = usage_by_value(rows, *dim == Dimension::Model, currency);
                        for a in &mut found {
                            if let Some(u) = usage.get(a.value.as_str()) {
                                a.explanation = explain_anomaly(a, u);
                            }
                        }
                    }
                }
                all.extend(found);
            }
            // By day, the largest deviation first.
            all.sort_by(|a, b| a.date.cmp(&b.date).then(b.deviation.cmp(&a.deviation)));
            all
        } else {
            Vec::new()
        };
        let mut forecast_unavailable = None;
        let forecast = match (has(ReportSection::Forecast), complete) {
            (true, Some(complete)) => {
                // A short period (a day, a week) is fitted on the last
                // MIN_FIT_DAYS days: one day is no trend.
                let observed = match complete
                    .end
                    .checked_sub_signed(Duration::days(MIN_FIT_DAYS - 1))
                {
                    Some(start) if complete.days() < MIN_FIT_DAYS => DateRange {
                        start,
                        end: complete.end,
                    },
                    _ => complete,
                };
                let daily = get(&data, "daily");
                let days = days_with_cost(&daily, observed, currency);
                if days < MIN_HISTORY_DAYS {
                    forecast_unavailable = Some(format!(
                        "Too little history to forecast: {days} day{} with cost in the period, \
                         at least {MIN_HISTORY_DAYS} needed.",
                        if days == 1 { "" } else { "s" }
                    ));
                    None
                } else {
                    let mut f = forecast_ahead(&daily, observed, currency)?;
                    f.outlook = outlook(&daily, observed, currency)?;
                    f.fitted_on = Some(observed);
                    let horizon = (f.period_end - f.period_start.unwrap_or(observed.end))
                        .num_days()
                        .max(1);
                    f.backtest = backtest(
                        &daily,
                        DateRange {
                            start: forecast_history.start,
                            end: observed.end,
                        },
                        u32::try_from(observed.days()).unwrap_or(u32::MAX),
                        u32::try_from(horizon).unwrap_or(u32::MAX),
                        currency,
                    )?;
                    Some(f)
                }
            }
            (true, None) => {
                forecast_unavailable =
                    Some("No complete day of data in the period to forecast from.".to_owned());
                None
            }
            _ => None,
        };
        let groups = match &group_dims {
            Some((g, subs)) => group_details(
                g,
                subs,
                &data,
                summary.total_cost,
                limit,
                currency,
                (r.date_range, r.config.granularity),
            )?,
            None => Vec::new(),
        };
        let mut dimension_labels = std::collections::BTreeMap::new();
        for d in [
            Dimension::Provider,
            Dimension::Model,
            Dimension::ModelFamily,
            Dimension::Team,
            Dimension::Project,
            Dimension::CostCenter,
            Dimension::Feature,
            Dimension::User,
        ]
        .iter()
        .chain(&breakdown_dims)
        {
            if let Some(label) = self.costs.dimension_label(d) {
                dimension_labels.insert(d.to_string(), label);
            }
        }
        let recommendations = if has(ReportSection::Recommendations) {
            recommend(
                &RecommendationInput {
                    summary: &summary,
                    previous: previous_summary.as_ref(),
                    by_model: Some(&model_bd),
                    by_provider: Some(&provider_bd),
                    anomaly_days: crate::model::anomaly_days(&anomalies),
                    currency,
                },
                &Thresholds::default(),
            )
        } else {
            Vec::new()
        };
        let top_costs = if has(ReportSection::TopCosts) {
            top_costs(&get(&data, "top"), summary.total_cost, currency)
        } else {
            Vec::new()
        };
        let efficiency = if has(ReportSection::Efficiency) {
            efficiency(&cur_model, currency)
        } else {
            Vec::new()
        };
        let repricing = if has(ReportSection::Repricing) {
            self.repricing(org, r).await?
        } else {
            None
        };
        // The headline figures are what people read and what the archive
        // keeps: rounded to the currency's minor unit (half away from zero).
        // The document's `summary` keeps the exact sums.
        let mut summary_data = summary_data(
            &summary,
            &cur_provider,
            &cur_model,
            anomalies.len(),
            currency,
        )?;
        summary_data.total_cost = currency.round(summary_data.total_cost);
        let detail = data.remove("detail").unwrap_or_default();
        Ok(ReportDocument {
            schema_version: REPORT_SCHEMA_VERSION,
            title: r.name.clone(),
            report_type: r.template.report_type,
            organization_name: r.template.branding.company_name.clone(),
            generated_at: self.clock.now(),
            date_range: r.date_range,
            comparison_range,
            filters: r.filters.clone(),
            currency,
            branding: r.template.branding.clone(),
            sections: r.config.sections.clone(),
            metrics: r.config.metrics.clone(),
            include_charts: r.config.include_charts,
            chart_types: r.config.chart_types.clone(),
            summary_data,
            summary: Some(summary),
            trend: trend_data,
            breakdowns,
            anomalies,
            forecast,
            recommendations,
            top_costs,
            efficiency,
            repricing,
            chargeback: r.chargeback.clone(),
            detail,
            detail_dimensions: if wants_detail {
                detail_dims
            } else {
                Vec::new()
            },
            data_complete_through: incomplete,
            dimension_labels,
            groups,
            statement: r.statement.clone(),
            forecast_unavailable,
        })
    }
}

impl Engine {
    /// The period's usage re-priced under the template's `repriceWith`
    /// version (else the book's latest), filtered as the report is; `None`
    /// without a price book.
    async fn repricing(
        &self,
        org: OrganizationId,
        r: &ResolvedReport,
    ) -> Result<Option<crate::model::RepricingSummary>> {
        let Some((book, usage)) = &self.pricing else {
            return Ok(None);
        };
        let version = match &r.config.reprice_with {
            Some(v) => v.clone(),
            None => match book.versions().last() {
                Some(v) => v.id.clone(),
                None => return Ok(None),
            },
        };
        let day = |d: chrono::NaiveDate| d.and_time(chrono::NaiveTime::MIN).and_utc();
        let from = day(r.date_range.start);
        let to = day(r.date_range.end.succ_opt().unwrap_or(r.date_range.end));
        let f = &r.filters;
        let records: Vec<_> = usage
            .usage(org, from, to)
            .await?
            .into_iter()
            .filter(|u| {
                f.matches(
                    u.team.as_deref(),
                    u.project.as_deref(),
                    u.cost_center.as_deref(),
                    u.provider.as_deref(),
                    u.model.as_deref(),
                )
            })
            .collect();
        // The versions in force over the records, oldest first.
        let used: std::collections::HashSet<&str> = records
            .iter()
            .filter_map(|u| book.version_at(u.timestamp).map(|v| v.id.as_str()))
            .collect();
        let priced_with: Vec<String> = book
            .versions()
            .iter()
            .filter(|v| used.contains(v.id.as_str()))
            .map(|v| v.id.clone())
            .collect();
        let out = book
            .reprice(org, records, &version)
            .map_err(|e| e.in_field("usage"))?;
        Ok(Some(crate::model::RepricingSummary {
            version,
            priced_with,
            lines: out
                .lines
                .into_iter()
                .map(|l| crate::model::RepricingLine {
                    model: l.model,
                    class: l.class,
                    before: l.before,
                    after: l.after,
                })
                .collect(),
            total_before: out.total_before,
            total_after: out.total_after,
            skipped: out.skipped,
        }))
    }
}

/// A chargeback allocation as a breakdown: one item per target (largest
/// first, ties by name) and the unallocated cost last, each the rounded
/// amount finance bills, so the items add up to the allocation's total.
fn allocation_breakdown(alloc: &crate::model::Allocation, dimension: Dimension) -> Breakdown {
    let mut items: Vec<(Option<String>, String, Decimal)> = alloc
        .allocations
        .iter()
        .map(|(k, a)| (Some(k.clone()), k.clone(), a.total_cost))
        .collect();
    items.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.1.cmp(&b.1)));
    if !alloc.unallocated_cost.is_zero() {
        items.push((None, "Unallocated".into(), alloc.unallocated_cost));
    }
    let costs: Vec<Decimal> = items.iter().map(|i| i.2).collect();
    let shares = crate::core::insight::breakdown::shares(&costs, alloc.total_cost);
    Breakdown {
        dimension,
        items: items
            .into_iter()
            .zip(shares)
            .map(
                |((value, label, cost), share)| crate::model::BreakdownItem {
                    label: if value.is_some() {
                        format!("{label} (allocated)")
                    } else {
                        label
                    },
                    value,
                    cost,
                    requests: 0,
                    tokens: 0,
                    share,
                    change: None,
                    is_other: false,
                },
            )
            .collect(),
        total: alloc.total_cost,
    }
}

/// The most expensive (team, model) pairs with their share of the total.
fn top_costs(buckets: &[CostBucket], total: Decimal, currency: Currency) -> Vec<TopCost> {
    let mut rows: Vec<&CostBucket> = buckets.iter().filter(|b| b.currency == currency).collect();
    rows.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.keys.cmp(&b.keys)));
    rows.into_iter()
        .take(TOP_ROWS)
        .map(|b| TopCost {
            keys: vec![
                (Dimension::Team, b.keys.first().cloned().flatten()),
                (Dimension::Model, b.keys.get(1).cloned().flatten()),
            ],
            cost: b.cost,
            requests: b.requests,
            share: percent(b.cost, total),
        })
        .collect()
}

/// Cost per request, per 1,000 tokens, tokens per request and cache hit
/// rate of each model, most expensive first.
fn efficiency(by_model: &[CostBucket], currency: Currency) -> Vec<EfficiencyRow> {
    let mut rows: Vec<&CostBucket> = by_model
        .iter()
        .filter(|b| b.currency == currency && b.keys.first().is_some_and(Option::is_some))
        .collect();
    rows.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.keys.cmp(&b.keys)));
    rows.into_iter()
        .take(TOP_ROWS)
        .map(|b| {
            let tokens = b.input_tokens.saturating_add(b.output_tokens);
            let div = |n: Decimal, d: u64, dp: u32| {
                if d == 0 {
                    Decimal::ZERO
                } else {
                    n.checked_div(Decimal::from(d))
                        .unwrap_or_default()
                        .round_dp(dp)
                }
            };
            EfficiencyRow {
                model: b.keys[0].clone().unwrap_or_default(),
                cost_per_request: div(b.cost, b.requests, 6),
                cost_per_1k_tokens: div(
                    b.cost
                        .checked_mul(Decimal::ONE_THOUSAND)
                        .unwrap_or_default(),
                    tokens,
                    6,
                ),
                tokens_per_request: div(Decimal::from(tokens), b.requests, 1),
                cache_hit_rate: div(
                    Decimal::from(b.cached_requests)
                        .checked_mul(Decimal::ONE_HUNDRED)
                        .unwrap_or_default(),
                    b.requests,
                    2,
                ),
            }
        })
        .collect()
}

fn percent(part: Decimal, total: Decimal) -> Decimal {
    if total.is_zero() {
        return Decimal::ZERO;
    }
    part.checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|p| p.checked_div(total))
        .unwrap_or_default()
        .round_dp(1)
}
