//! Report templates: the system templates shipped with the crate (one per
//! report type, shared by every organization, read-only) and each
//! organization's own.

use std::sync::OnceLock;

use chrono::DateTime;
use uuid::Uuid;

use super::Engine;
use crate::model::{
    ChartType, ComparisonConfig, ComparisonPeriod, DateRangePreset, Dimension, Granularity, Metric,
    OrganizationId, ReportBranding, ReportSection, ReportTemplate, ReportTemplateConfig,
    ReportType, TemplateId,
};
use crate::{Error, Result};

fn system(
    n: u128,
    name: &str,
    description: &str,
    report_type: ReportType,
    config: ReportTemplateConfig,
) -> ReportTemplate {
    ReportTemplate {
        id: TemplateId(Uuid::from_u128(
            0x7e4b_0000_0000_4000_8000_0000_0000_0000 | n,
        )),
        organization_id: None,
        name: name.into(),
        description: Some(description.into()),
        report_type,
        config,
        branding: ReportBranding::default(),
        is_system: true,
        is_default: true,
        created_by: None,
        created_at: DateTime::UNIX_EPOCH,
        updated_at: DateTime::UNIX_EPOCH,
    }
}

/// The system templates, in display order: Executive Summary, Team Cost
/// Report, Monthly Chargeback, Project Report, Anomaly Report, Forecast
/// Report, Usage Digest. Their ids are fixed, so hosts may store them.
pub fn system_templates() -> &'static [ReportTemplate] {
    static TEMPLATES: OnceLock<Vec<ReportTemplate>> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        use ReportSection as S;
        let cmp = Some(ComparisonConfig {
            enabled: true,
            period: ComparisonPeriod::PreviousPeriod,
        });
        vec![
            system(
                1,
                "Executive Summary",
                "High-level overview of AI spend: totals, trend, top providers, models and teams, forecast and recommendations.",
                ReportType::Executive,
                ReportTemplateConfig {
                    sections: vec![S::Summary, S::Trend, S::Breakdown, S::Forecast, S::Anomalies, S::Recommendations],
                    metrics: vec![Metric::TotalCost, Metric::TotalRequests, Metric::AvgCostPerRequest, Metric::CacheHitRate, Metric::CostChange],
                    breakdowns: vec![Dimension::Provider, Dimension::Model, Dimension::Team],
                    granularity: Granularity::Day,
                    date_range: DateRangePreset::Last30Days,
                    include_charts: true,
                    chart_types: vec![ChartType::Area, ChartType::Bar],
                    comparison: cmp,
                    breakdown_limit: 10,
                },
            ),
            system(
                2,
                "Team Cost Report",
                "Cost per team with model and project detail and efficiency figures.",
                ReportType::Team,
                ReportTemplateConfig {
                    sections: vec![S::Summary, S::Breakdown, S::Trend, S::TopCosts, S::Efficiency],
                    metrics: vec![Metric::TotalCost, Metric::TotalRequests, Metric::TotalTokens, Metric::AvgCostPerRequest],
                    breakdowns: vec![Dimension::Team, Dimension::Model, Dimension::Project],
                    granularity: Granularity::Day,
                    date_range: DateRangePreset::Last30Days,
                    include_charts: true,
                    chart_types: vec![ChartType::Bar, ChartType::Line],
                    comparison: cmp,
                    breakdown_limit: 20,
                },
            ),
            system(
                3,
                "Monthly Chargeback",
                "Costs allocated to teams for internal billing, by provider and model.",
                ReportType::Chargeback,
                ReportTemplateConfig {
                    sections: vec![S::Summary, S::Breakdown],
                    metrics: vec![Metric::TotalCost, Metric::TotalRequests],
                    breakdowns: vec![Dimension::Team, Dimension::Provider, Dimension::Model],
                    granularity: Granularity::Month,
                    date_range: DateRangePreset::LastMonth,
                    include_charts: true,
                    chart_types: vec![ChartType::Pie, ChartType::Bar],
                    comparison: None,
                    breakdown_limit: 50,
                },
            ),
            system(
                4,
                "Project Report",
                "Cost per project with team and model detail.",
                ReportType::Project,
                ReportTemplateConfig {
                    sections: vec![S::Summary, S::Breakdown, S::Trend, S::TopCosts],
                    metrics: vec![Metric::TotalCost, Metric::TotalRequests, Metric::TotalTokens],
                    breakdowns: vec![Dimension::Project, Dimension::Team, Dimension::Model],
                    granularity: Granularity::Day,
                    date_range: DateRangePreset::Last30Days,
                    include_charts: true,
                    chart_types: vec![ChartType::Bar, ChartType::Area],
                    comparison: cmp,
                    breakdown_limit: 20,
                },
            ),
            system(
                5,
                "Anomaly Report",
                "Days whose cost left its baseline, by provider and team.",
                ReportType::Anomaly,
                ReportTemplateConfig {
                    sections: vec![S::Summary, S::Anomalies, S::Trend, S::Recommendations],
                    metrics: vec![Metric::TotalCost, Metric::CostChange],
                    breakdowns: vec![Dimension::Provider, Dimension::Team],
                    granularity: Granularity::Day,
                    date_range: DateRangePreset::Last30Days,
                    include_charts: true,
                    chart_types: vec![ChartType::Line],
                    comparison: cmp,
                    breakdown_limit: 10,
                },
            ),
            system(
                6,
                "Forecast Report",
                "Projection of this month's cost with an 80% interval.",
                ReportType::Forecast,
                ReportTemplateConfig {
                    sections: vec![S::Summary, S::Forecast, S::Trend, S::Breakdown],
                    metrics: vec![Metric::TotalCost, Metric::CostChange],
                    breakdowns: vec![Dimension::Provider],
                    granularity: Granularity::Day,
                    date_range: DateRangePreset::ThisMonth,
                    include_charts: true,
                    chart_types: vec![ChartType::Line, ChartType::Area],
                    comparison: cmp,
                    breakdown_limit: 10,
                },
            ),
            system(
                7,
                "Usage Digest",
                "A short digest: summary, top teams, anomalies, forecast and recommendations.",
                ReportType::Digest,
                ReportTemplateConfig {
                    sections: vec![S::Summary, S::Breakdown, S::Anomalies, S::Forecast, S::Recommendations],
                    metrics: vec![Metric::TotalCost, Metric::TotalRequests, Metric::CostChange],
                    breakdowns: vec![Dimension::Team],
                    granularity: Granularity::Day,
                    date_range: DateRangePreset::Last7Days,
                    include_charts: false,
                    chart_types: vec![],
                    comparison: cmp,
                    breakdown_limit: 5,
                },
            ),
        ]
    })
}

/// The system template of a report type.
pub fn system_template(report_type: ReportType) -> &'static ReportTemplate {
    system_templates()
        .iter()
        .find(|t| t.report_type == report_type)
        .expect("every report type has a system template")
}

/// An organization's new template: what a user fills in.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateInput {
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Kind of report.
    pub report_type: Option<ReportType>,
    /// Contents.
    #[serde(default)]
    pub config: ReportTemplateConfig,
    /// Look.
    #[serde(default)]
    pub branding: ReportBranding,
    /// Make it the organization's default for its report type.
    #[serde(default)]
    pub is_default: bool,
}

impl Engine {
    /// System templates first (in their fixed order), then the
    /// organization's own by name.
    pub async fn list_templates(&self, org: OrganizationId) -> Result<Vec<ReportTemplate>> {
        let mut all = system_templates().to_vec();
        let mut own = self.store.list_templates(org).await?;
        own.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        all.extend(own);
        Ok(all)
    }

    /// A system template or one of the organization's. `NotFound` otherwise.
    pub async fn get_template(
        &self,
        org: OrganizationId,
        id: TemplateId,
    ) -> Result<ReportTemplate> {
        match system_templates().iter().find(|t| t.id == id) {
            Some(t) => Ok(t.clone()),
            None => self.store.get_template(org, id).await,
        }
    }

    /// Create an organization template. Making it the default for its type
    /// clears that flag on the organization's other templates of the type.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the field (`name`, `reportType`,
    /// `config.sections`...).
    pub async fn create_template(
        &self,
        org: OrganizationId,
        input: TemplateInput,
        user: Option<crate::model::UserId>,
    ) -> Result<ReportTemplate> {
        let report_type = input
            .report_type
            .ok_or_else(|| Error::invalid("reportType", "a template needs a report type"))?;
        let now = self.clock.now();
        let template = ReportTemplate {
            id: TemplateId::new(),
            organization_id: Some(org),
            name: input.name,
            description: input.description,
            report_type,
            config: input.config,
            branding: input.branding,
            is_system: false,
            is_default: input.is_default,
            created_by: user,
            created_at: now,
            updated_at: now,
        };
        template.validate()?;
        if template.is_default {
            self.clear_defaults(org, report_type, template.id).await?;
        }
        self.store.create_template(org, &template).await?;
        Ok(template)
    }

    /// Replace an organization template's contents.
    ///
    /// # Errors
    /// [`Error::PermissionDenied`] for a system template; `NotFound` for
    /// another organization's; [`Error::Invalid`] naming the field.
    pub async fn update_template(
        &self,
        org: OrganizationId,
        id: TemplateId,
        input: TemplateInput,
    ) -> Result<ReportTemplate> {
        if system_templates().iter().any(|t| t.id == id) {
            return Err(Error::PermissionDenied(
                "system templates cannot be changed".into(),
            ));
        }
        let mut template = self.store.get_template(org, id).await?;
        template.name = input.name;
        template.description = input.description;
        if let Some(t) = input.report_type {
            template.report_type = t;
        }
        template.config = input.config;
        template.branding = input.branding;
        template.is_default = input.is_default;
        template.updated_at = self.clock.now();
        template.validate()?;
        if template.is_default {
            self.clear_defaults(org, template.report_type, id).await?;
        }
        self.store.update_template(org, &template).await?;
        Ok(template)
    }

    /// Delete an organization template.
    ///
    /// # Errors
    /// [`Error::PermissionDenied`] for a system template; `NotFound` otherwise.
    pub async fn delete_template(&self, org: OrganizationId, id: TemplateId) -> Result<()> {
        if system_templates().iter().any(|t| t.id == id) {
            return Err(Error::PermissionDenied(
                "system templates cannot be deleted".into(),
            ));
        }
        self.store.delete_template(org, id).await
    }

    /// The template to use: `id` when given (system or the organization's),
    /// else the organization's default for `report_type`, else the system one.
    pub async fn template_for(
        &self,
        org: OrganizationId,
        id: Option<TemplateId>,
        report_type: Option<ReportType>,
    ) -> Result<ReportTemplate> {
        if let Some(id) = id {
            let t = self.get_template(org, id).await?;
            if let Some(rt) = report_type {
                if rt != t.report_type {
                    return Err(Error::invalid(
                        "reportType",
                        format!(
                            "template {id} makes {:?} reports, not {rt:?}",
                            t.report_type
                        ),
                    ));
                }
            }
            return Ok(t);
        }
        let rt = report_type
            .ok_or_else(|| Error::invalid("reportType", "give a template id or a report type"))?;
        let own = self.store.list_templates(org).await?;
        Ok(own
            .into_iter()
            .find(|t| t.is_default && t.report_type == rt)
            .unwrap_or_else(|| system_template(rt).clone()))
    }

    async fn clear_defaults(
        &self,
        org: OrganizationId,
        rt: ReportType,
        keep: TemplateId,
    ) -> Result<()> {
        for mut t in self.store.list_templates(org).await? {
            if t.is_default && t.report_type == rt && t.id != keep {
                t.is_default = false;
                self.store.update_template(org, &t).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_report_type_has_a_valid_system_template() {
        for rt in ReportType::ALL {
            let t = system_template(rt);
            assert!(t.is_system);
            t.validate().unwrap();
        }
        assert_eq!(system_templates().len(), ReportType::ALL.len());
        assert_eq!(system_templates()[0].name, "Executive Summary");
        assert_eq!(
            system_template(ReportType::Chargeback).name,
            "Monthly Chargeback"
        );
        // Ids are fixed and distinct.
        let mut ids: Vec<_> = system_templates().iter().map(|t| t.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), 7);
        assert_eq!(
            system_templates()[0].id.to_string(),
            "7e4b0000-0000-4000-8000-000000000001"
        );
    }
}
