//! Data-driven recommendations, each with the number that triggered it.
//!
//! Rules, in this order (thresholds in [`Thresholds`], all strict "more
//! than" / "under" comparisons):
//!
//! | kind | fires when | `metric` |
//! |---|---|---|
//! | `cost_increase` | cost up more than 15% against the comparison period | the percent change |
//! | `low_cache_hit_rate` | cache hit rate under 30% (only with requests) | the cache hit rate |
//! | `anomalies` | more than 3 anomalies | the number of anomalies |
//! | `model_concentration` | one model takes more than 60% of spend | its share in percent |
//! | `cost_per_request_increase` | average cost per request up more than 20% | the percent change |
//! | `provider_concentration` | one provider takes more than 90% of spend, so nearly nothing could fail over to another provider | its share in percent |
//!
//! Shares are of a positive total only (2 decimals), computed from the
//! breakdown's exact costs, never from an "Other" item or rows without a
//! value. Text is plain; renderers format it.

use rust_decimal::Decimal;

use super::{percent_change, percent_of};
use crate::model::{Breakdown, CostSummary, Currency, Recommendation};

/// Thresholds of the rules (see the module docs for the defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// Percent cost increase (default 15).
    pub cost_increase_pct: Decimal,
    /// Cache hit rate in percent (default 30).
    pub min_cache_hit_rate_pct: Decimal,
    /// Days with anomalies (default 3).
    pub max_anomalies: u32,
    /// Share of one model in percent (default 60).
    pub model_share_pct: Decimal,
    /// Percent increase of the average cost per request (default 20).
    pub cost_per_request_increase_pct: Decimal,
    /// Share of one provider in percent (default 90).
    pub provider_share_pct: Decimal,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            cost_increase_pct: Decimal::from(15),
            min_cache_hit_rate_pct: Decimal::from(30),
            max_anomalies: 3,
            model_share_pct: Decimal::from(60),
            cost_per_request_increase_pct: Decimal::from(20),
            provider_share_pct: Decimal::from(90),
        }
    }
}

/// What the rules look at. Everything but `summary` is optional: a rule
/// whose input is missing does not fire.
#[derive(Clone, Copy, Debug)]
pub struct RecommendationInput<'a> {
    /// Totals of the period (with its comparison, for `cost_increase`).
    pub summary: &'a CostSummary,
    /// Totals of the comparison period (for `cost_per_request_increase`).
    pub previous: Option<&'a CostSummary>,
    /// Breakdown by model (for `model_concentration`).
    pub by_model: Option<&'a Breakdown>,
    /// Breakdown by provider (for `provider_concentration`).
    pub by_provider: Option<&'a Breakdown>,
    /// Days of the period with at least one anomaly (four providers off on
    /// one day are one day).
    pub anomaly_days: usize,
    /// Currency of the amounts, for the messages.
    pub currency: Currency,
}

/// The named item with the largest cost and its share of a positive total.
fn top_share(b: &Breakdown) -> Option<(&str, Decimal)> {
    if b.total <= Decimal::ZERO {
        return None;
    }
    let top = b
        .items
        .iter()
        .filter(|i| !i.is_other && i.value.is_some())
        .max_by(|x, y| x.cost.cmp(&y.cost).then_with(|| y.value.cmp(&x.value)))?;
    Some((top.value.as_deref()?, percent_of(top.cost, b.total)?))
}

fn pct(d: Decimal) -> String {
    format!("{}%", d.normalize())
}

/// The recommendations the data triggers (see the module docs).
pub fn recommend(input: &RecommendationInput<'_>, t: &Thresholds) -> Vec<Recommendation> {
    let s = input.summary;
    let mut out = Vec::new();
    let rec = |kind: &str, title: &str, message: String, metric: Decimal, threshold: Decimal| {
        Recommendation {
            kind: kind.to_owned(),
            title: title.to_owned(),
            message,
            metric,
            threshold,
            potential_savings: None,
        }
    };

    if let Some(c) = &s.comparison {
        if let Some(p) = c.percent_change.filter(|p| *p > t.cost_increase_pct) {
            out.push(rec(
                "cost_increase",
                "Cost is rising",
                format!(
                    "Cost rose {} against the comparison period ({} to {}), above the {} alert threshold. Review which teams and models drove the increase.",
                    pct(p),
                    input.currency.format(c.previous_cost),
                    input.currency.format(s.total_cost),
                    pct(t.cost_increase_pct)
                ),
                p,
                t.cost_increase_pct,
            ));
        }
    }
    if s.total_requests > 0 && s.cache_hit_rate < t.min_cache_hit_rate_pct {
        out.push(rec(
            "low_cache_hit_rate",
            "Low cache hit rate",
            format!(
                "Only {} of requests were served from a cache (target: at least {}). Prompt caching or response caching for repeated requests would lower cost.",
                pct(s.cache_hit_rate),
                pct(t.min_cache_hit_rate_pct)
            ),
            s.cache_hit_rate,
            t.min_cache_hit_rate_pct,
        ));
    }
    if input.anomaly_days > t.max_anomalies as usize {
        out.push(rec(
            "anomalies",
            "Unusual spending",
            format!(
                "{} days of unusual spending were detected (more than {}). Check them for runaway jobs, retries or leaked keys.",
                input.anomaly_days, t.max_anomalies
            ),
            Decimal::from(input.anomaly_days as u64),
            Decimal::from(t.max_anomalies),
        ));
    }
    if let Some((model, share)) = input.by_model.and_then(top_share) {
        if share > t.model_share_pct {
            out.push(rec(
                "model_concentration",
                "One model dominates spend",
                format!(
                    "{model} accounts for {} of spend (more than {}). Routing simpler requests to a smaller model could cut cost.",
                    pct(share),
                    pct(t.model_share_pct)
                ),
                share,
                t.model_share_pct,
            ));
        }
    }
    if let Some(prev) = input.previous {
        if s.total_requests > 0
            && prev.total_requests > 0
            && prev.avg_cost_per_request > Decimal::ZERO
        {
            if let Some(p) = percent_change(s.avg_cost_per_request, prev.avg_cost_per_request)
                .filter(|p| *p > t.cost_per_request_increase_pct)
            {
                out.push(rec(
                    "cost_per_request_increase",
                    "Requests got more expensive",
                    format!(
                        "The average cost per request rose {} (from {} to {}), above {}. Check for longer prompts, larger outputs or a move to pricier models.",
                        pct(p),
                        prev.avg_cost_per_request.normalize(),
                        s.avg_cost_per_request.normalize(),
                        pct(t.cost_per_request_increase_pct)
                    ),
                    p,
                    t.cost_per_request_increase_pct,
                ));
            }
        }
    }
    if let Some((provider, share)) = input.by_provider.and_then(top_share) {
        if share > t.provider_share_pct {
            out.push(rec(
                "provider_concentration",
                "No provider fallback",
                format!(
                    "{provider} carries {} of spend (more than {}), so an outage or price change there has no fallback. Qualify a second provider for critical workloads.",
                    pct(share),
                    pct(t.provider_share_pct)
                ),
                share,
                t.provider_share_pct,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::insight::breakdown::breakdown;
    use crate::core::insight::summary::{summarize, summarize_with_comparison};
    use crate::core::insight::test_util::{bucket, d};
    use crate::model::{CostBucket, DateRange, Dimension};
    use rust_decimal_macros::dec;

    fn range() -> DateRange {
        DateRange::new(d("2026-09-01"), d("2026-09-30")).unwrap()
    }

    #[test]
    fn every_rule_fires_with_its_number() {
        // 100 requests, 25 cached (hit rate 25%), cost 130 vs 100 (+30%),
        // cost per request 1.30 vs 1.00 (+30%).
        let cur = vec![bucket(None, &[], dec!(130), 100)];
        let prev = vec![bucket(None, &[], dec!(100), 100)];
        let s = summarize_with_comparison(&cur, &prev, range(), Currency::USD).unwrap();
        let p = summarize(&prev, Currency::USD).unwrap();
        let models: Vec<CostBucket> = vec![
            bucket(None, &[Some("gpt-4o")], dec!(91), 1),
            bucket(None, &[Some("mini")], dec!(39), 1),
        ];
        let by_model = breakdown(Dimension::Model, &models, None, 10, Currency::USD).unwrap();
        let providers = vec![bucket(None, &[Some("openai")], dec!(130), 1)];
        let by_provider =
            breakdown(Dimension::Provider, &providers, None, 10, Currency::USD).unwrap();
        let input = RecommendationInput {
            summary: &s,
            previous: Some(&p),
            by_model: Some(&by_model),
            by_provider: Some(&by_provider),
            anomaly_days: 4,
            currency: Currency::USD,
        };
        let r = recommend(&input, &Thresholds::default());
        let view: Vec<_> = r
            .iter()
            .map(|r| (r.kind.as_str(), r.metric, r.threshold))
            .collect();
        assert_eq!(
            view,
            vec![
                ("cost_increase", dec!(30.00), dec!(15)),
                ("low_cache_hit_rate", dec!(25.00), dec!(30)),
                ("anomalies", dec!(4), dec!(3)),
                ("model_concentration", dec!(70.00), dec!(60)),
                ("cost_per_request_increase", dec!(30.00), dec!(20)),
                ("provider_concentration", dec!(100.00), dec!(90)),
            ]
        );
        assert_eq!(
            r[0].message,
            "Cost rose 30% against the comparison period ($100.00 to $130.00), above the 15% alert threshold. Review which teams and models drove the increase."
        );
        assert_eq!(
            r[3].message,
            "gpt-4o accounts for 70% of spend (more than 60%). Routing simpler requests to a smaller model could cut cost."
        );
        assert_eq!(
            r[4].message,
            "The average cost per request rose 30% (from 1 to 1.3), above 20%. Check for longer prompts, larger outputs or a move to pricier models."
        );
        assert!(r.iter().all(|r| r.potential_savings.is_none()));
    }

    #[test]
    fn nothing_fires_at_the_thresholds_or_without_data() {
        // Exactly +15%, exactly 30% hit rate (cached = requests / 4 ... use 40 of 120),
        // 3 anomalies, a 60% model.
        let mut cur = bucket(None, &[], dec!(115), 120);
        cur.cached_requests = 36;
        let s = summarize_with_comparison(
            &[cur],
            &[bucket(None, &[], dec!(100), 115)],
            range(),
            Currency::USD,
        )
        .unwrap();
        assert_eq!(s.cache_hit_rate, dec!(30.00));
        let p = summarize(&[bucket(None, &[], dec!(100), 115)], Currency::USD).unwrap();
        let models = vec![
            bucket(None, &[Some("a")], dec!(60), 1),
            bucket(None, &[Some("b")], dec!(40), 1),
        ];
        let by_model = breakdown(Dimension::Model, &models, None, 10, Currency::USD).unwrap();
        let input = RecommendationInput {
            summary: &s,
            previous: Some(&p),
            by_model: Some(&by_model),
            by_provider: None,
            anomaly_days: 3,
            currency: Currency::USD,
        };
        assert_eq!(recommend(&input, &Thresholds::default()), vec![]);
        let empty = summarize(&[], Currency::USD).unwrap();
        let input = RecommendationInput {
            summary: &empty,
            previous: Some(&empty),
            by_model: None,
            by_provider: None,
            anomaly_days: 0,
            currency: Currency::USD,
        };
        assert_eq!(recommend(&input, &Thresholds::default()), vec![]);
    }
}
