//! The parts of a report laid out for its reader (the specification's
//! report types): leadership's one-page overview, a page per team or
//! project, finance's chargeback statement, ops' anomaly details with their
//! baseline charts. [`ReportView::build`](super::view::ReportView::build)
//! places them; every figure comes from the [`ReportDocument`].

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use super::charts::{baseline_chart, BaselineDay, ChartStyle};
use super::view::{
    clip, compact, group, long_date, percent, severity, short_date, signed_percent, AnomalyView,
    Card, Fact, SectionView, SubTable, Table,
};
use crate::model::{AllocationBasis, ChargebackStatus, ReportDocument};

/// Most anomalies shown in detail (the table lists them all).
pub const MAX_ANOMALY_DETAILS: usize = 10;

fn card(label: &str, value: String, note: String) -> Card {
    Card {
        label: label.into(),
        value,
        note,
        accent: "primary",
    }
}

/// The executive overview: the headline facts in sentences.
pub fn overview(doc: &ReportDocument) -> Option<SectionView> {
    let s = doc.summary.as_ref()?;
    let cur = doc.currency;
    let mut items = Vec::new();
    let mut total = format!(
        "{} spent on AI over {} days",
        cur.format(s.total_cost),
        doc.date_range.days()
    );
    if s.total_requests > 0 {
        total.push_str(&format!(
            ", {} requests at {} each on average",
            group(s.total_requests),
            super::view::unit_cost(cur, s.avg_cost_per_request)
        ));
    }
    total.push('.');
    items.push(total);
    if let Some(c) = s.comparison.as_ref().filter(|c| !c.previous_cost.is_zero()) {
        let pct = c
            .percent_change
            .map(|p| format!(" ({})", signed_percent(p)))
            .unwrap_or_default();
        let verb = if c.absolute_change.is_sign_negative() {
            "down"
        } else {
            "up"
        };
        items.push(format!(
            "Spend is {verb} {}{pct} against {}.",
            cur.format(c.absolute_change.abs()),
            super::view::period(&c.range)
        ));
    }
    for b in doc.breakdowns.iter().take(2) {
        if let Some(top) = b.items.iter().find(|i| !i.is_other && i.value.is_some()) {
            items.push(format!(
                "Largest {}: {} with {} ({} of the total).",
                doc.dimension_label(&b.dimension).to_lowercase(),
                clip(&top.label),
                cur.format(top.cost),
                percent(top.share)
            ));
        }
    }
    if s.total_requests > 0 {
        items.push(format!(
            "{} of requests were served from the cache.",
            percent(s.cache_hit_rate)
        ));
    }
    let days = crate::model::anomaly_days(&doc.anomalies);
    if days > 0 {
        items.push(format!(
            "Unusual spending on {days} day{}: see the anomalies.",
            if days == 1 { "" } else { "s" }
        ));
    }
    if let Some(f) = &doc.forecast {
        if let Some(next) = f.outlook.iter().find(|h| h.horizon == "next_month") {
            items.push(format!(
                "{} is projected at {} ({} – {}).",
                crate::core::period::label(crate::model::DateRange {
                    start: next.period_start,
                    end: next.period_end,
                }),
                cur.format(next.projected_total),
                cur.format(next.lower_bound),
                cur.format(next.upper_bound)
            ));
        }
    }
    if let Some(r) = doc.recommendations.first() {
        items.push(format!(
            "To act on: {}.",
            clip(r.title.trim_end_matches('.'))
        ));
    }
    Some(SectionView::Overview {
        title: "At a glance".into(),
        items,
    })
}

/// A page per team or project (a page break before each).
pub fn groups(doc: &ReportDocument, svg: bool, primary: &str) -> Vec<SectionView> {
    let cur = doc.currency;
    let mut out = Vec::new();
    for g in &doc.groups {
        let dim = doc.dimension_label(&g.dimension);
        let mut cards = vec![card(
            "COST",
            cur.format(g.cost),
            format!("{} of the total", percent(g.share)),
        )];
        if let Some(prev) = g.previous_cost.filter(|p| !p.is_zero()) {
            cards.push(Card {
                label: "VS PREVIOUS PERIOD".into(),
                value: g.change.map(signed_percent).unwrap_or_else(|| "n/a".into()),
                note: format!("Prev. period {}", cur.format(prev)),
                accent: match g.change {
                    Some(c) if c > Decimal::ONE => "up",
                    Some(c) if c < -Decimal::ONE => "down",
                    _ => "primary",
                },
            });
        }
        if g.requests > 0 {
            cards.push(card(
                "REQUESTS",
                group(g.requests),
                format!(
                    "Avg {} / request",
                    super::view::unit_cost(
                        cur,
                        g.cost
                            .checked_div(Decimal::from(g.requests))
                            .unwrap_or_default()
                    )
                ),
            ));
        }
        if g.tokens > 0 {
            cards.push(card("TOKENS", compact(g.tokens), "Input and output".into()));
        }
        let tables = g
            .breakdowns
            .iter()
            .map(|b| SubTable {
                title: format!("By {}", doc.dimension_label(&b.dimension).to_lowercase()),
                table: Table {
                    fit: None,
                    header: vec![
                        doc.dimension_label(&b.dimension),
                        "Cost".into(),
                        "Share".into(),
                        "Requests".into(),
                        "Change".into(),
                    ],
                    numeric: vec![false, true, true, true, true],
                    rows: b
                        .items
                        .iter()
                        .map(|i| {
                            vec![
                                clip(&i.label),
                                cur.format(i.cost),
                                percent(i.share),
                                group(i.requests),
                                i.change.map(signed_percent).unwrap_or_else(|| "new".into()),
                            ]
                        })
                        .collect(),
                    total: None,
                }
                .without(|c| match c {
                    3 => b.items.iter().all(|i| i.requests == 0),
                    4 => g.previous_cost.is_none_or(|p| p.is_zero()),
                    _ => false,
                }),
            })
            .collect();
        let chart = match (&g.trend, svg && doc.include_charts) {
            (Some(t), true) if t.points.len() > 1 => {
                let labels: Vec<String> = t
                    .points
                    .iter()
                    .map(|p| short_date(p.period_start.date()))
                    .collect();
                let values: Vec<f64> = t
                    .points
                    .iter()
                    .map(|p| p.cost.to_f64().unwrap_or(0.0))
                    .collect();
                let mut style = ChartStyle::new(primary, cur);
                style.height = 170.0;
                super::charts::line_chart(&labels, &values, &style, true)
            }
            _ => String::new(),
        };
        out.push(SectionView::PageBreak);
        out.push(SectionView::Group {
            svg: chart,
            title: clip(&g.label),
            subtitle: format!("{dim} · {}", crate::render::view::period(&doc.date_range)),
            cards,
            tables,
        });
    }
    out
}

fn basis_name(b: AllocationBasis) -> &'static str {
    match b {
        AllocationBasis::Team => "Team",
        AllocationBasis::Project => "Project",
        AllocationBasis::CostCenter => "Cost center",
        AllocationBasis::Custom => "Tag",
    }
}

fn status_name(s: ChargebackStatus) -> &'static str {
    match s {
        ChargebackStatus::Draft => "Draft",
        ChargebackStatus::PendingApproval => "Pending approval",
        ChargebackStatus::Approved => "Approved",
        ChargebackStatus::Rejected => "Rejected",
    }
}

/// The chargeback statement: the allocation (tying out to the cent), the
/// rules applied and the approval.
pub fn statement(doc: &ReportDocument) -> Option<SectionView> {
    let alloc = doc.chargeback.as_ref()?;
    let cur = doc.currency;
    let mut facts = Vec::new();
    let fact = |label: &str, value: String| Fact {
        label: label.into(),
        value,
    };
    if let Some(st) = &doc.statement {
        facts.push(fact("Configuration", clip(&st.configuration)));
        facts.push(fact(
            "Allocated by",
            match (&st.basis, &st.tag_key) {
                (AllocationBasis::Custom, Some(k)) => format!("Tag {}", clip(k)),
                (b, _) => basis_name(*b).into(),
            },
        ));
    }
    facts.push(fact("Period", super::view::period(&doc.date_range)));
    if let Some(st) = &doc.statement {
        facts.push(fact("Status", status_name(st.status).into()));
        match (st.approved_by, st.approved_at) {
            (Some(by), Some(at)) => {
                facts.push(fact("Approved by", by.to_string()));
                facts.push(fact("Approved on", long_date(at.date_naive())));
            }
            (None, Some(at)) => {
                facts.push(fact(
                    "Approved on",
                    format!("{} (no approval required)", long_date(at.date_naive())),
                ));
            }
            _ => {}
        }
        if let Some(by) = st.rejected_by {
            facts.push(fact("Rejected by", by.to_string()));
        }
        if let Some(reason) = &st.rejection_reason {
            facts.push(fact("Reason", clip(reason)));
        }
        if st.status == ChargebackStatus::PendingApproval && !st.approvers.is_empty() {
            facts.push(fact(
                "Approvers",
                st.approvers
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            ));
        }
    }
    let mut targets: Vec<(&String, &crate::model::ChargebackAllocation)> =
        alloc.allocations.iter().collect();
    targets.sort_by(|a, b| b.1.total_cost.cmp(&a.1.total_cost).then(a.0.cmp(b.0)));
    let share = |v: Decimal| {
        if alloc.total_cost.is_zero() {
            String::new()
        } else {
            percent(
                v.checked_mul(Decimal::ONE_HUNDRED)
                    .and_then(|x| x.checked_div(alloc.total_cost))
                    .unwrap_or_default(),
            )
        }
    };
    let top = |m: &std::collections::BTreeMap<String, Decimal>| {
        m.iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(k, v)| format!("{} {}", clip(k), cur.format(*v)))
            .unwrap_or_default()
    };
    let mut rows: Vec<Vec<String>> = targets
        .iter()
        .map(|(k, a)| {
            vec![
                clip(k),
                cur.format(a.total_cost),
                share(a.total_cost),
                top(&a.breakdown.by_provider),
                top(&a.breakdown.by_model),
            ]
        })
        .collect();
    rows.push(vec![
        "Unallocated".into(),
        cur.format(alloc.unallocated_cost),
        share(alloc.unallocated_cost),
        String::new(),
        String::new(),
    ]);
    let sum = alloc
        .allocations
        .values()
        .try_fold(Decimal::ZERO, |a, t| a.checked_add(t.total_cost))
        .unwrap_or_default();
    let ties = sum.checked_add(alloc.unallocated_cost) == Some(alloc.total_cost)
        && sum == alloc.allocated_cost;
    let check = if ties {
        format!(
            "Allocated {} + unallocated {} = total {}: ties out to the cent.",
            cur.format(alloc.allocated_cost),
            cur.format(alloc.unallocated_cost),
            cur.format(alloc.total_cost)
        )
    } else {
        format!(
            "Allocated {} + unallocated {} does not equal the total {}: check the allocation.",
            cur.format(sum),
            cur.format(alloc.unallocated_cost),
            cur.format(alloc.total_cost)
        )
    };
    let rules = doc
        .statement
        .as_ref()
        .map(|s| s.rules.as_slice())
        .unwrap_or(&[]);
    let rule_rows = rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let to = match (&r.target, &r.split, r.percentage) {
                (_, Some(split), _) if !split.is_empty() => {
                    let sum = split
                        .iter()
                        .try_fold(Decimal::ZERO, |a, t| a.checked_add(t.weight))
                        .unwrap_or_default();
                    split
                        .iter()
                        .map(|t| {
                            let pct = t
                                .weight
                                .checked_mul(Decimal::ONE_HUNDRED)
                                .and_then(|w| w.checked_div(sum))
                                .map(percent)
                                .unwrap_or_else(|| t.weight.normalize().to_string());
                            format!("{} {pct}", clip(&t.target))
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                }
                (Some(t), _, Some(p)) => format!("{} ({}%)", clip(t), p.normalize()),
                (Some(t), _, None) => clip(t),
                (None, _, _) => clip(&r.source),
            };
            vec![(i + 1).to_string(), clip(&r.source), to]
        })
        .collect();
    Some(SectionView::Statement {
        title: "Chargeback statement".into(),
        facts,
        allocation: Table {
            fit: None,
            header: vec![
                "Charged to".into(),
                "Amount".into(),
                "Share".into(),
                "Largest provider".into(),
                "Largest model".into(),
            ],
            numeric: vec![false, true, true, false, false],
            rows,
            total: Some(vec![
                "Total".into(),
                cur.format(alloc.total_cost),
                if alloc.total_cost.is_zero() {
                    String::new()
                } else {
                    "100.0%".into()
                },
                String::new(),
                String::new(),
            ]),
        },
        rules: Table {
            fit: None,
            header: vec!["#".into(), "Cost of".into(), "Charged to".into()],
            numeric: vec![true, false, false],
            rows: rule_rows,
            total: None,
        },
        check,
    })
}

/// Each anomaly (the largest deviations, at most
/// [`MAX_ANOMALY_DETAILS`]) with its baseline chart and what moved.
pub fn anomaly_details(doc: &ReportDocument, svg: bool, primary: &str) -> Option<SectionView> {
    if doc.anomalies.is_empty() {
        return None;
    }
    let cur = doc.currency;
    let mut list: Vec<&crate::model::Anomaly> = doc.anomalies.iter().collect();
    list.sort_by(|a, b| {
        b.deviation
            .abs()
            .cmp(&a.deviation.abs())
            .then(a.date.cmp(&b.date))
    });
    let items = list
        .into_iter()
        .take(MAX_ANOMALY_DETAILS)
        .map(|a| {
            let change = if a.expected_cost.is_zero() {
                String::new()
            } else {
                a.actual_cost
                    .checked_sub(a.expected_cost)
                    .and_then(|d| d.checked_mul(Decimal::ONE_HUNDRED))
                    .and_then(|d| d.checked_div(a.expected_cost.abs()))
                    .map(|p| format!(" ({})", signed_percent(p)))
                    .unwrap_or_default()
            };
            let summary = format!(
                "{} against {} expected{change}: {:.1}σ, {}.",
                cur.format(a.actual_cost),
                cur.format(a.expected_cost),
                a.deviation.round_dp(1),
                severity(a.severity).to_lowercase()
            );
            let chart = if svg && !a.history.is_empty() {
                let base: Vec<f64> = a
                    .history
                    .iter()
                    .filter(|d| d.in_baseline)
                    .map(|d| d.cost.to_f64().unwrap_or(0.0))
                    .collect();
                let mean = a.expected_cost.to_f64().unwrap_or(0.0);
                let sd = if base.is_empty() {
                    0.0
                } else {
                    (base.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / base.len() as f64)
                        .sqrt()
                };
                let days: Vec<BaselineDay> = a
                    .history
                    .iter()
                    .map(|d| BaselineDay {
                        label: short_date(d.date),
                        value: d.cost.to_f64().unwrap_or(0.0),
                        in_baseline: d.in_baseline,
                    })
                    .collect();
                let mut style = ChartStyle::new(primary, cur);
                style.width = 760.0;
                style.height = 150.0;
                baseline_chart(&days, mean, 3.0 * sd, &style)
            } else {
                String::new()
            };
            let (effects, note) = match &a.explanation {
                Some(e) => {
                    let row = |name: &str, v: Decimal, what: String| {
                        vec![name.to_owned(), cur.format(v), what]
                    };
                    let rows = vec![
                        row(
                            "Volume",
                            e.volume,
                            format!(
                                "{} requests against {} a day",
                                group(e.requests),
                                e.expected_requests.round_dp(0).to_u64().map_or_else(
                                    || e.expected_requests.round_dp(0).to_string(),
                                    group
                                )
                            ),
                        ),
                        row(
                            "Model mix",
                            e.model_mix,
                            "Requests moving between models".into(),
                        ),
                        row(
                            "Cache rate",
                            e.cache_rate,
                            format!(
                                "{} cached against {}",
                                percent(e.cache_hit_rate),
                                percent(e.expected_cache_hit_rate)
                            ),
                        ),
                        row("Price", e.price, "Cost per uncached request".into()),
                    ];
                    let total = a
                        .actual_cost
                        .checked_sub(a.expected_cost)
                        .unwrap_or_default();
                    (
                        Table {
                            fit: None,
                            header: vec!["Effect".into(), "Amount".into(), "What moved".into()],
                            numeric: vec![false, true, false],
                            rows,
                            total: Some(vec!["Change".into(), cur.format(total), String::new()]),
                        },
                        e.top_model
                            .as_ref()
                            .map(|t| {
                                format!(
                                    "The model that moved most: {} ({}{}).",
                                    clip(&t.model),
                                    if t.change.is_sign_negative() { "" } else { "+" },
                                    cur.format(t.change)
                                )
                            })
                            .unwrap_or_default(),
                    )
                }
                None => (
                    Table::default(),
                    "This data has no request counts, so the change is not split into \
                     volume, mix, cache and price."
                        .into(),
                ),
            };
            AnomalyView {
                heading: format!(
                    "{} {} · {}",
                    doc.dimension_label(&a.dimension),
                    clip(&a.value),
                    long_date(a.date)
                ),
                summary,
                svg: chart,
                effects,
                note,
            }
        })
        .collect();
    Some(SectionView::AnomalyDetails {
        title: "What moved".into(),
        items,
    })
}

/// Place the reader's parts among the template's sections (see the module
/// docs).
pub fn arrange(doc: &ReportDocument, sections: &mut Vec<SectionView>, svg: bool, primary: &str) {
    use crate::model::ReportType;
    let summary_at = sections
        .iter()
        .position(|s| matches!(s, SectionView::Summary { .. }));
    match doc.report_type {
        ReportType::Executive => {
            if let Some(o) = overview(doc) {
                let at = summary_at.map_or(0, |i| i + 1);
                sections.insert(at, o);
                // The overview page ends after the first chart.
                let next = at + 1;
                if let Some(SectionView::Trend { .. }) = sections.get(next) {
                    if next + 1 < sections.len() {
                        sections.insert(next + 1, SectionView::PageBreak);
                    }
                } else if next < sections.len() {
                    sections.insert(next, SectionView::PageBreak);
                }
            }
        }
        ReportType::Chargeback => {
            if let Some(st) = statement(doc) {
                sections.insert(summary_at.map_or(0, |i| i + 1), st);
            }
        }
        ReportType::Anomaly => {
            if let Some(at) = sections
                .iter()
                .position(|s| matches!(s, SectionView::Anomalies { .. }))
            {
                if let Some(d) = anomaly_details(doc, svg, primary) {
                    sections.insert(at + 1, d);
                }
            }
        }
        ReportType::Team | ReportType::Project => sections.extend(groups(doc, svg, primary)),
        _ => {}
    }
}
