//! Gathering the data of a report into a [`ReportDocument`].

use rust_decimal::Decimal;

use super::generate::ResolvedReport;
use super::Engine;
use crate::model::{
    CostBucket, CostQuery, Dimension, OrganizationId, ReportDocument, ReportSummaryData,
    REPORT_SCHEMA_VERSION,
};
use crate::Result;

impl Engine {
    /// Query the cost source for what the resolved template's sections need
    /// (concurrently) and assemble the document every renderer reads.
    pub async fn build_document(
        &self,
        org: OrganizationId,
        r: &ResolvedReport,
    ) -> Result<ReportDocument> {
        let currency = self.costs.default_currency();
        let base = CostQuery::total(r.date_range).filtered(r.filters.clone());
        let q_provider = base.clone().group_by([Dimension::Provider]);
        let q_model = base.clone().group_by([Dimension::Model]);
        let (by_provider, by_model) = futures::try_join!(
            self.costs.aggregate(org, &q_provider),
            self.costs.aggregate(org, &q_model),
        )?;
        let total: Decimal = by_provider
            .iter()
            .filter(|b| b.currency == currency)
            .map(|b| b.cost)
            .sum();
        let requests = by_provider.iter().map(|b| b.requests).sum();
        let top = |buckets: &[CostBucket]| {
            let mut v: Vec<_> = buckets
                .iter()
                .filter_map(|b| Some((b.keys.first()?.clone()?, b.cost)))
                .collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v.into_iter().next().map(|(k, _)| k)
        };
        Ok(ReportDocument {
            schema_version: REPORT_SCHEMA_VERSION,
            title: r.name.clone(),
            report_type: r.template.report_type,
            organization_name: r.template.branding.company_name.clone(),
            generated_at: self.clock.now(),
            date_range: r.date_range,
            comparison_range: r.comparison_range,
            filters: r.filters.clone(),
            currency,
            branding: r.template.branding.clone(),
            sections: r.config.sections.clone(),
            include_charts: r.config.include_charts,
            chart_types: r.config.chart_types.clone(),
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
            detail: by_provider,
            detail_dimensions: vec![Dimension::Provider],
        })
    }
}
