//! Chargeback: how costs are allocated to teams, projects or cost centers,
//! and the per-period records finance approves.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{
    ChargebackConfigId, ChargebackRecordId, Currency, Dimension, OrganizationId, ReportId,
    ReportRecipient, UserId,
};
use crate::model::validate::{non_empty_name, Validator};
use crate::Result;

/// The dimension whose values are the allocation keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllocationBasis {
    /// By team.
    #[default]
    Team,
    /// By project.
    Project,
    /// By cost center.
    CostCenter,
    /// By the tag named in the configuration's `customTagKey`.
    Custom,
}

/// How often chargeback records are produced (the specification's
/// `reportFrequency`, a `ReportFrequency`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargebackFrequency {
    /// One record per day, produced the next day.
    Daily,
    /// One record per week, Monday to Sunday, produced on the Monday after.
    Weekly,
    /// One record per calendar month, produced on the 1st for the month before.
    #[default]
    Monthly,
    /// One record per calendar quarter, produced on the 1st day of the next.
    Quarterly,
}

/// One target of a split rule and its weight.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SplitTarget {
    /// Allocation key receiving the share.
    pub target: String,
    /// Relative weight (shares are `weight / sum of weights`).
    pub weight: Decimal,
}

/// Moves the cost of rows whose key equals `source`.
///
/// Either `target` (with `percentage`, default 100: that share moves, the rest
/// stays with the source) or `split` (divided among targets by weight).
/// `source: ""` matches untagged rows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocationRule {
    /// The key whose rows this rule moves (`""` for untagged rows).
    pub source: String,
    /// Single target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Share moved to `target`, 0 to 100 (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage: Option<Decimal>,
    /// Targets and weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Vec<SplitTarget>>,
}

impl AllocationRule {
    /// Check the rule alone (uniqueness of sources is checked by the
    /// configuration). Field names are relative to the rule.
    pub fn validate(&self) -> Result<()> {
        let mut v = Validator::default();
        match (&self.target, &self.split) {
            (Some(_), Some(_)) => {
                v.fail("split", "a rule has either `target` or `split`, not both")
            }
            (None, None) => v.fail("target", "a rule needs a `target` or a `split`"),
            (Some(t), None) => {
                if t.trim().is_empty() {
                    v.fail("target", "must not be empty");
                }
                if let Some(p) = self.percentage {
                    if p < Decimal::ZERO || p > Decimal::ONE_HUNDRED {
                        v.fail("percentage", format!("{p} is outside 0 to 100"));
                    }
                }
            }
            (None, Some(split)) => {
                if self.percentage.is_some() {
                    v.fail(
                        "percentage",
                        "`percentage` applies to `target`, not to `split`",
                    );
                }
                if split.is_empty() {
                    v.fail("split", "a split needs at least one target");
                }
                v.check(crate::model::validate::at_most(
                    "split",
                    split.len(),
                    crate::model::MAX_SPLIT_TARGETS,
                ));
                for (i, s) in split.iter().enumerate() {
                    if s.target.trim().is_empty() {
                        v.fail(format!("split[{i}].target"), "must not be empty");
                    }
                    if s.weight < Decimal::ZERO {
                        v.fail(
                            format!("split[{i}].weight"),
                            format!("{} is negative", s.weight),
                        );
                    }
                    if split[..i].iter().any(|o| o.target == s.target) {
                        v.fail(
                            format!("split[{i}].target"),
                            format!("{:?} is listed twice", s.target),
                        );
                    }
                }
                if !split.iter().any(|s| s.weight > Decimal::ZERO) {
                    v.fail("split", "a split needs at least one positive weight");
                }
            }
        }
        v.finish()
    }
}

/// A chargeback configuration: basis, rules, period, approval, distribution.
///
/// JSON is the specification's `ChargebackConfiguration` (`orgId`, no
/// timestamps: `createdAt`/`updatedAt` are extra keys, read as the epoch
/// when absent). `distributionList` holds recipients of any kind; a plain
/// e-mail string (this crate's earlier shape) reads as an `email` recipient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargebackConfiguration {
    /// Id.
    pub id: ChargebackConfigId,
    /// Owner. JSON `orgId` (alias `organizationId`).
    #[serde(rename = "orgId", alias = "organizationId")]
    pub organization_id: OrganizationId,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Dimension whose values are the keys.
    #[serde(default)]
    pub allocation_basis: AllocationBasis,
    /// Tag key used when `allocationBasis` is `custom` (e.g. `"department"`):
    /// a row's allocation key is then its value in the row's `tags` map under
    /// this key (surrounding whitespace of the key is ignored). Required for
    /// `custom` (else `customTagKey` is invalid), ignored for other bases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_tag_key: Option<String>,
    /// Rules, at most one per source.
    #[serde(default, deserialize_with = "crate::model::null_as_default")]
    pub allocation_rules: Vec<AllocationRule>,
    /// Period of the records.
    #[serde(default)]
    pub report_frequency: ChargebackFrequency,
    /// Dimensions broken down inside each allocation and in the report.
    #[serde(
        default = "default_breakdown",
        deserialize_with = "breakdown_or_default"
    )]
    pub include_breakdown_by: Vec<Dimension>,
    /// Currency of the records; rows in another currency are an error.
    #[serde(default)]
    pub currency: Currency,
    /// Whether records need approval.
    #[serde(default)]
    pub requires_approval: bool,
    /// Users who may approve or reject.
    #[serde(default, deserialize_with = "crate::model::null_as_default")]
    pub approvers: Vec<UserId>,
    /// Send the chargeback report to `distributionList` once approved
    /// (default `true`, as in the specification).
    #[serde(default = "crate::model::yes")]
    pub auto_distribute: bool,
    /// Who receives the chargeback report (any recipient kind).
    #[serde(default, deserialize_with = "recipients_or_addresses")]
    pub distribution_list: Vec<ReportRecipient>,
    /// Whether the periodic job produces records.
    #[serde(default = "crate::model::yes")]
    pub is_active: bool,
    /// Author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<UserId>,
    /// Creation time (the epoch when the JSON has none).
    #[serde(default = "crate::model::epoch")]
    pub created_at: DateTime<Utc>,
    /// Last change (the epoch when the JSON has none).
    #[serde(default = "crate::model::epoch")]
    pub updated_at: DateTime<Utc>,
}

/// A stored `distributionList` (recipients, or e-mail strings as this crate
/// wrote them before), for stores that read the column alone.
#[doc(hidden)]
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct DistributionListJson(
    #[serde(deserialize_with = "recipients_or_addresses")] pub Vec<ReportRecipient>,
);

fn recipients_or_addresses<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<ReportRecipient>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Entry {
        Address(String),
        Recipient(ReportRecipient),
    }
    Ok(Option::<Vec<Entry>>::deserialize(d)?
        .unwrap_or_default()
        .into_iter()
        .map(|e| match e {
            Entry::Address(a) => ReportRecipient::email(a),
            Entry::Recipient(r) => r,
        })
        .collect())
}

fn breakdown_or_default<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<Dimension>, D::Error> {
    Ok(Option::<Vec<Dimension>>::deserialize(d)?.unwrap_or_else(default_breakdown))
}

fn default_breakdown() -> Vec<Dimension> {
    vec![Dimension::Provider, Dimension::Model]
}

impl ChargebackConfiguration {
    /// The dimension the allocation keys come from.
    pub fn basis_dimension(&self) -> Option<Dimension> {
        Some(match self.allocation_basis {
            AllocationBasis::Team => Dimension::Team,
            AllocationBasis::Project => Dimension::Project,
            AllocationBasis::CostCenter => Dimension::CostCenter,
            AllocationBasis::Custom => {
                Dimension::Tag(self.custom_tag_key.clone()?.trim().to_owned())
            }
        })
    }

    /// Check name, rules (`allocationRules[i]...`), approvers and distribution list.
    pub fn validate(&self) -> Result<()> {
        let mut v = Validator::default();
        v.check(non_empty_name("name", &self.name));
        if self.allocation_basis == AllocationBasis::Custom
            && self
                .custom_tag_key
                .as_deref()
                .is_none_or(|k| k.trim().is_empty())
        {
            v.fail(
                "customTagKey",
                "a `custom` allocation basis needs the tag key to allocate by",
            );
        }
        use crate::model::validate::at_most;
        v.check(at_most(
            "allocationRules",
            self.allocation_rules.len(),
            crate::model::MAX_ALLOCATION_RULES,
        ));
        v.check(at_most(
            "approvers",
            self.approvers.len(),
            crate::model::MAX_APPROVERS,
        ));
        v.check(at_most(
            "distributionList",
            self.distribution_list.len(),
            crate::model::MAX_RECIPIENTS,
        ));
        for (i, rule) in self.allocation_rules.iter().enumerate() {
            v.check_in(&format!("allocationRules[{i}]"), rule.validate());
            if self.allocation_rules[..i]
                .iter()
                .any(|r| r.source == rule.source)
            {
                v.fail(
                    format!("allocationRules[{i}].source"),
                    format!("another rule already moves source {:?}", rule.source),
                );
            }
        }
        if self.requires_approval && self.approvers.is_empty() {
            v.fail("approvers", "approval is required but nobody may approve");
        }
        for (i, r) in self.distribution_list.iter().enumerate() {
            v.check_in(&format!("distributionList[{i}]"), r.validate());
        }
        v.finish()
    }
}

/// Cost of one allocation target, broken down.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargebackAllocation {
    /// Rounded to the currency's minor unit.
    pub total_cost: Decimal,
    /// Breakdown whose maps each sum exactly to `totalCost`.
    pub breakdown: AllocationBreakdown,
}

/// Per-provider and per-model parts of an allocation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocationBreakdown {
    /// Cost by provider (`"unknown"` for rows without one).
    pub by_provider: BTreeMap<String, Decimal>,
    /// Cost by model (`"unknown"` for rows without one).
    pub by_model: BTreeMap<String, Decimal>,
}

/// The result of allocating a period's costs.
///
/// `sum(allocations[*].totalCost) + unallocatedCost == totalCost`, exactly.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Allocation {
    /// Cost per target key.
    pub allocations: BTreeMap<String, ChargebackAllocation>,
    /// Total cost, rounded.
    pub total_cost: Decimal,
    /// Sum of the allocations.
    pub allocated_cost: Decimal,
    /// Cost of untagged rows no rule moved.
    pub unallocated_cost: Decimal,
    /// Currency of every amount (an extra key; USD when absent).
    #[serde(default)]
    pub currency: Currency,
}

fn draft() -> ChargebackStatus {
    ChargebackStatus::Draft
}

/// Approval state of a chargeback record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargebackStatus {
    /// Computed, not submitted.
    Draft,
    /// Waiting for an approver.
    PendingApproval,
    /// Final: approved.
    Approved,
    /// Final: rejected, with a reason.
    Rejected,
}

impl ChargebackStatus {
    /// Whether no further transition is allowed.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            ChargebackStatus::Approved | ChargebackStatus::Rejected
        )
    }
}

/// The chargeback of one configuration for one period. Unique per
/// (organization, configuration, period).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargebackRecord {
    /// Id.
    pub id: ChargebackRecordId,
    /// Owner. JSON `orgId` (alias `organizationId`).
    #[serde(rename = "orgId", alias = "organizationId")]
    pub organization_id: OrganizationId,
    /// Configuration it was computed with. JSON `configId` (alias `configurationId`).
    #[serde(rename = "configId", alias = "configurationId")]
    pub configuration_id: ChargebackConfigId,
    /// First day of the period.
    pub period_start: NaiveDate,
    /// Last day of the period (inclusive).
    pub period_end: NaiveDate,
    /// The allocation.
    #[serde(flatten)]
    pub allocation: Allocation,
    /// Approval state (`draft` when the JSON has none, as the specification's table).
    #[serde(default = "draft")]
    pub status: ChargebackStatus,
    /// Who approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<UserId>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<DateTime<Utc>>,
    /// Who rejected (an extra key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected_by: Option<UserId>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
    /// The chargeback report generated with the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_id: Option<ReportId>,
    /// Creation time (the epoch when the JSON has none).
    #[serde(default = "crate::model::epoch")]
    pub created_at: DateTime<Utc>,
    /// Last change (an extra key; the epoch when the JSON has none).
    #[serde(default = "crate::model::epoch")]
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn config(rules: Vec<AllocationRule>) -> ChargebackConfiguration {
        ChargebackConfiguration {
            id: ChargebackConfigId::new(),
            organization_id: OrganizationId::new(),
            name: "Monthly".into(),
            description: None,
            allocation_basis: AllocationBasis::Team,
            custom_tag_key: None,
            allocation_rules: rules,
            report_frequency: ChargebackFrequency::Monthly,
            include_breakdown_by: default_breakdown(),
            currency: Currency::USD,
            requires_approval: false,
            approvers: vec![],
            auto_distribute: false,
            distribution_list: vec![],
            is_active: true,
            created_by: None,
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
        }
    }

    fn rule(source: &str, target: &str, pct: Option<Decimal>) -> AllocationRule {
        AllocationRule {
            source: source.into(),
            target: Some(target.into()),
            percentage: pct,
            split: None,
        }
    }

    #[test]
    fn invalid_rules_name_their_index() {
        let cases = [
            (
                vec![rule("a", "b", Some(dec!(101)))],
                "allocationRules[0].percentage",
            ),
            (
                vec![rule("a", "b", None), rule("c", "", None)],
                "allocationRules[1].target",
            ),
            (
                vec![rule("a", "b", None), rule("a", "c", None)],
                "allocationRules[1].source",
            ),
            (
                vec![AllocationRule {
                    source: "".into(),
                    split: Some(vec![SplitTarget {
                        target: "x".into(),
                        weight: dec!(0),
                    }]),
                    ..Default::default()
                }],
                "allocationRules[0].split",
            ),
            (
                vec![AllocationRule {
                    source: "a".into(),
                    ..Default::default()
                }],
                "allocationRules[0].target",
            ),
        ];
        for (rules, field) in cases {
            assert_eq!(config(rules).validate().unwrap_err().field(), Some(field));
        }
        assert!(config(vec![rule("", "shared", Some(dec!(50)))])
            .validate()
            .is_ok());
    }

    #[test]
    fn approval_needs_approvers_and_custom_needs_a_key() {
        let mut c = config(vec![]);
        c.requires_approval = true;
        assert_eq!(c.validate().unwrap_err().field(), Some("approvers"));
        let mut c = config(vec![]);
        c.allocation_basis = AllocationBasis::Custom;
        assert_eq!(c.validate().unwrap_err().field(), Some("customTagKey"));
        c.custom_tag_key = Some(" department ".into());
        assert_eq!(
            c.basis_dimension(),
            Some(Dimension::Tag("department".into()))
        );
    }

    #[test]
    fn json_shape() {
        let c: ChargebackConfiguration = serde_json::from_value(serde_json::json!({
            "id": "6f1c1f8e-3f5a-4d0e-9a57-5b1f0c6a3e11",
            "organizationId": "6f1c1f8e-3f5a-4d0e-9a57-5b1f0c6a3e12",
            "name": "By cost center",
            "distributionList": ["finance@example.com"],
            "allocationBasis": "cost_center",
            "allocationRules": [{"source": "", "split": [{"target": "CC-1", "weight": 2}, {"target": "CC-2", "weight": "1"}]}],
            "createdAt": "2026-01-01T00:00:00Z",
            "updatedAt": "2026-01-01T00:00:00Z"
        }))
        .unwrap();
        assert_eq!(c.allocation_basis, AllocationBasis::CostCenter);
        assert_eq!(c.currency, Currency::USD);
        assert!(c.is_active);
        assert_eq!(
            c.include_breakdown_by,
            vec![Dimension::Provider, Dimension::Model]
        );
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(
            v["allocationRules"][0]["split"][0]["weight"],
            serde_json::json!(2)
        );
        assert_eq!(v["reportFrequency"], "monthly");
        assert_eq!(v["orgId"], "6f1c1f8e-3f5a-4d0e-9a57-5b1f0c6a3e12");
        assert!(c.auto_distribute);
        assert_eq!(
            v["distributionList"],
            serde_json::json!([{"type": "email", "address": "finance@example.com"}])
        );
        assert_eq!(
            serde_json::to_value(ChargebackStatus::PendingApproval).unwrap(),
            "pending_approval"
        );
    }
}
