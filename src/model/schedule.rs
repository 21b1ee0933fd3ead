//! Scheduled reports, their recipients and the runs of their slots.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    OrganizationId, ReportFormat, ReportId, ReportStatus, ReportType, ScheduledReportId,
    TemplateId, TimeOfDay, Timezone, UserId,
};
use crate::model::validate::{email, http_url, non_empty_name, Validator};
use crate::{Error, Result};

/// How often a scheduled report runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    /// Every day at `time`.
    Daily,
    /// Every week on `dayOfWeek` at `time`.
    Weekly,
    /// Every month on `dayOfMonth` at `time`.
    Monthly,
    /// Every quarter, in its `monthOfQuarter`-th month, on `dayOfMonth`.
    Quarterly,
}

/// When a schedule runs, in its own time zone.
///
/// Defaults: `time` 09:00, `timezone` UTC, `dayOfWeek` 1 (Monday),
/// `dayOfMonth` 1, `monthOfQuarter` 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScheduleConfig {
    /// Local wall time, `"HH:MM"`.
    pub time: TimeOfDay,
    /// IANA time zone the wall time is read in.
    pub timezone: Timezone,
    /// Day of the week for weekly schedules: 0 = Sunday ... 6 = Saturday.
    pub day_of_week: u8,
    /// Day of the month for monthly and quarterly schedules, 1 to 31; a day
    /// past the month's end means its last day.
    pub day_of_month: u8,
    /// Month of the quarter for quarterly schedules, 1 to 3.
    pub month_of_quarter: u8,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            time: TimeOfDay::default(),
            timezone: Timezone::UTC,
            day_of_week: 1,
            day_of_month: 1,
            month_of_quarter: 1,
        }
    }
}

impl ScheduleConfig {
    /// Check the ranges of `dayOfWeek`, `dayOfMonth` and `monthOfQuarter`
    /// (time and time zone are checked when parsed).
    pub fn validate(&self) -> Result<()> {
        let mut v = Validator::default();
        if self.day_of_week > 6 {
            v.fail(
                "dayOfWeek",
                format!("{} is outside 0 (Sunday) to 6 (Saturday)", self.day_of_week),
            );
        }
        if !(1..=31).contains(&self.day_of_month) {
            v.fail(
                "dayOfMonth",
                format!("{} is outside 1 to 31", self.day_of_month),
            );
        }
        if !(1..=3).contains(&self.month_of_quarter) {
            v.fail(
                "monthOfQuarter",
                format!("{} is outside 1 to 3", self.month_of_quarter),
            );
        }
        v.finish()
    }
}

/// Filters on cost data; an empty list means "any value".
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReportFilters {
    /// Teams to include.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::model::null_as_default"
    )]
    pub teams: Vec<String>,
    /// Projects to include.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::model::null_as_default"
    )]
    pub projects: Vec<String>,
    /// Cost centers to include.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::model::null_as_default"
    )]
    pub cost_centers: Vec<String>,
    /// Providers to include.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::model::null_as_default"
    )]
    pub providers: Vec<String>,
    /// Models to include.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::model::null_as_default"
    )]
    pub models: Vec<String>,
}

impl ReportFilters {
    /// Check the list lengths (see [`MAX_FILTER_VALUES`](crate::model::MAX_FILTER_VALUES)).
    pub fn validate(&self) -> Result<()> {
        use crate::model::validate::filter_values;
        let mut v = Validator::default();
        v.check(filter_values("teams", &self.teams));
        v.check(filter_values("projects", &self.projects));
        v.check(filter_values("costCenters", &self.cost_centers));
        v.check(filter_values("providers", &self.providers));
        v.check(filter_values("models", &self.models));
        v.finish()
    }

    /// Whether no filter is set.
    pub fn is_empty(&self) -> bool {
        self.teams.is_empty()
            && self.projects.is_empty()
            && self.cost_centers.is_empty()
            && self.providers.is_empty()
            && self.models.is_empty()
    }

    /// Whether a row with these dimension values passes every filter. A row
    /// lacking a filtered dimension does not pass that filter.
    pub fn matches(
        &self,
        team: Option<&str>,
        project: Option<&str>,
        cost_center: Option<&str>,
        provider: Option<&str>,
        model: Option<&str>,
    ) -> bool {
        fn ok(list: &[String], v: Option<&str>) -> bool {
            list.is_empty() || v.is_some_and(|v| list.iter().any(|x| x == v))
        }
        ok(&self.teams, team)
            && ok(&self.projects, project)
            && ok(&self.cost_centers, cost_center)
            && ok(&self.providers, provider)
            && ok(&self.models, model)
    }
}

/// Kind of a recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientKind {
    /// An e-mail address.
    Email,
    /// A Slack channel (`#name` or a channel id) or an incoming-webhook URL.
    Slack,
    /// An HTTP(S) endpoint receiving signed webhooks.
    Webhook,
    /// A user of the host, resolved to an e-mail address at delivery time.
    User,
}

/// Who receives a report.
///
/// JSON is the specification's `{type, address?, channel?, url?, userId?}`:
/// an `email` recipient is written with `address`, a `slack` one with
/// `channel` (`#name` or a channel id) or `url` (an incoming-webhook URL), a
/// `webhook` with `url`, a `user` with `userId`. Reading, each kind also
/// takes `address` (this crate's earlier shape). `name` is an extra key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReportRecipient {
    /// Kind.
    pub kind: RecipientKind,
    /// E-mail address, Slack channel or webhook URL, webhook URL, or user id.
    pub address: String,
    /// Display name.
    pub name: Option<String>,
}

impl RecipientKind {
    /// The JSON name (`email`, `slack`, `webhook`, `user`).
    pub fn as_str(&self) -> &'static str {
        match self {
            RecipientKind::Email => "email",
            RecipientKind::Slack => "slack",
            RecipientKind::Webhook => "webhook",
            RecipientKind::User => "user",
        }
    }
}

impl Serialize for ReportRecipient {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", &self.kind)?;
        m.serialize_entry(self.address_key(), &self.address)?;
        if let Some(name) = &self.name {
            m.serialize_entry("name", name)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for ReportRecipient {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct In {
            #[serde(rename = "type")]
            kind: RecipientKind,
            #[serde(default)]
            address: Option<String>,
            #[serde(default)]
            channel: Option<String>,
            #[serde(default)]
            url: Option<String>,
            #[serde(default)]
            user_id: Option<String>,
            #[serde(default)]
            name: Option<String>,
        }
        let w = In::deserialize(d)?;
        let (address, wanted) = match w.kind {
            RecipientKind::Email => (w.address, "`address`"),
            RecipientKind::Slack => (w.channel.or(w.url).or(w.address), "`channel` or `url`"),
            RecipientKind::Webhook => (w.url.or(w.address), "`url`"),
            RecipientKind::User => (w.user_id.or(w.address), "`userId`"),
        };
        let address = address.ok_or_else(|| {
            serde::de::Error::custom(format!("a {} recipient needs {wanted}", w.kind.as_str()))
        })?;
        Ok(ReportRecipient {
            kind: w.kind,
            address,
            name: w.name,
        })
    }
}

impl ReportRecipient {
    /// The JSON key holding [`address`](Self::address) for this recipient's
    /// kind: `address`, `channel`, `url` or `userId`.
    pub fn address_key(&self) -> &'static str {
        match self.kind {
            RecipientKind::Email => "address",
            RecipientKind::Slack if is_url(&self.address) => "url",
            RecipientKind::Slack => "channel",
            RecipientKind::Webhook => "url",
            RecipientKind::User => "userId",
        }
    }

    /// An e-mail recipient.
    pub fn email(address: impl Into<String>) -> Self {
        ReportRecipient {
            kind: RecipientKind::Email,
            address: address.into(),
            name: None,
        }
    }

    /// A stable key for bookkeeping (`email:ana@example.com`).
    pub fn key(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.address)
    }

    /// Check the address against the kind; the error names the JSON key
    /// ([`address_key`](Self::address_key)).
    pub fn validate(&self) -> Result<()> {
        let field = self.address_key();
        match self.kind {
            RecipientKind::Email => email(field, &self.address),
            RecipientKind::Webhook => http_url(field, &self.address).map(|_| ()),
            RecipientKind::Slack => {
                if is_url(&self.address) {
                    let url = http_url(field, &self.address)?;
                    if url.scheme() != "https" {
                        return Err(Error::invalid(field, "a Slack webhook URL must use https"));
                    }
                    Ok(())
                } else {
                    let name = self.address.strip_prefix('#').unwrap_or(&self.address);
                    let valid = !name.is_empty()
                        && name.len() <= 80
                        && name
                            .chars()
                            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'));
                    if valid {
                        Ok(())
                    } else {
                        Err(Error::invalid(
                            field,
                            format!(
                                "{:?} is neither a Slack channel nor an https webhook URL",
                                self.address
                            ),
                        ))
                    }
                }
            }
            RecipientKind::User => self
                .address
                .parse::<UserId>()
                .map(|_| ())
                .map_err(|_| Error::invalid(field, "a user recipient needs a user id (UUID)")),
        }
    }
}

fn is_url(address: &str) -> bool {
    let lower = address.get(..8).unwrap_or(address).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// State of the run of one slot (see [`ScheduleRun`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// A worker holds the slot's claim and is running it.
    Running,
    /// The report was generated (delivery is tracked on the report).
    Success,
    /// Generation failed.
    Failed,
    /// The slot was missed while the host was down and not replayed.
    Skipped,
}

impl RunStatus {
    /// What a schedule's `lastStatus` says after a run ended this way
    /// (`None` for a skipped slot, which leaves `lastStatus` as it was).
    pub fn report_status(self) -> Option<ReportStatus> {
        match self {
            RunStatus::Running => Some(ReportStatus::Generating),
            RunStatus::Success => Some(ReportStatus::Completed),
            RunStatus::Failed => Some(ReportStatus::Failed),
            RunStatus::Skipped => None,
        }
    }
}

/// A report generated on a schedule and sent to recipients.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledReport {
    /// Id.
    pub id: ScheduledReportId,
    /// Owner. JSON `orgId` (alias `organizationId`).
    #[serde(rename = "orgId", alias = "organizationId")]
    pub organization_id: OrganizationId,
    /// Template; `None` uses the organization's default for `type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_id: Option<TemplateId>,
    /// Kind of report; `None` (the specification has no such key) takes the
    /// template's type. JSON `type` (alias `reportType`), an extra key.
    #[serde(
        default,
        rename = "type",
        alias = "reportType",
        skip_serializing_if = "Option::is_none"
    )]
    pub report_type: Option<ReportType>,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// How often.
    pub frequency: Frequency,
    /// When, in which time zone.
    #[serde(default)]
    pub schedule_config: ScheduleConfig,
    /// Filters applied to the cost data.
    #[serde(default, deserialize_with = "crate::model::null_as_default")]
    pub filters: ReportFilters,
    /// Who receives it.
    #[serde(default, deserialize_with = "crate::model::null_as_default")]
    pub recipients: Vec<ReportRecipient>,
    /// Output format.
    #[serde(default)]
    pub format: ReportFormat,
    /// Whether it runs (a paused schedule is inactive).
    #[serde(default = "crate::model::yes")]
    pub is_active: bool,
    /// Slot of the last run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_at: Option<DateTime<Utc>>,
    /// Next slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run_at: Option<DateTime<Utc>>,
    /// Outcome of the last run, as a report status (`completed`, `failed`;
    /// the specification's scheduler also writes `success`, read as `completed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<ReportStatus>,
    /// Error of the last run, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Number of runs so far (runs started with `run_now` included).
    #[serde(default)]
    pub run_count: u32,
    /// Failed runs in a row (reset by a success).
    #[serde(default)]
    pub consecutive_failures: u32,
    /// Why the engine paused it, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_reason: Option<String>,
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

impl ScheduledReport {
    /// Check name, schedule and recipients; errors name the JSON path
    /// (`scheduleConfig.dayOfWeek`, `recipients[2].address`).
    pub fn validate(&self) -> Result<()> {
        let mut v = Validator::default();
        v.check(non_empty_name("name", &self.name));
        if self.template_id.is_none() && self.report_type.is_none() {
            v.fail(
                "templateId",
                "a schedule needs a template or a report `type`",
            );
        }
        v.check_in("scheduleConfig", self.schedule_config.validate());
        v.check_in("filters", self.filters.validate());
        v.check(crate::model::validate::at_most(
            "recipients",
            self.recipients.len(),
            crate::model::MAX_RECIPIENTS,
        ));
        for (i, r) in self.recipients.iter().enumerate() {
            v.check_in(&format!("recipients[{i}]"), r.validate());
        }
        v.finish()
    }
}

/// The run of one slot of a schedule: the unit of "exactly once".
///
/// A run is identified by (schedule, slot). A worker claims it with a lease;
/// if the worker dies, another may take the claim over once the lease has
/// expired.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleRun {
    /// Owner. JSON `orgId` (alias `organizationId`).
    #[serde(rename = "orgId", alias = "organizationId")]
    pub organization_id: OrganizationId,
    /// The schedule.
    pub scheduled_report_id: ScheduledReportId,
    /// The slot (the instant the run was due).
    pub slot: DateTime<Utc>,
    /// `running` while claimed, then `success`, `failed` or `skipped`.
    pub status: RunStatus,
    /// The worker holding (or that last held) the claim.
    pub worker: String,
    /// Until when the claim holds.
    pub lease_expires_at: DateTime<Utc>,
    /// How many times the slot was claimed.
    pub attempts: u32,
    /// The report generated for the slot.
    #[serde(default)]
    pub report_id: Option<ReportId>,
    /// Error of a failed run.
    #[serde(default)]
    pub error: Option<String>,
    /// First claim.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_config_defaults_and_shape() {
        let c: ScheduleConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c, ScheduleConfig::default());
        assert_eq!(
            serde_json::to_value(c).unwrap(),
            serde_json::json!({"time":"09:00","timezone":"UTC","dayOfWeek":1,"dayOfMonth":1,"monthOfQuarter":1})
        );
        let c: ScheduleConfig = serde_json::from_str(
            r#"{"time":"07:30","timezone":"Asia/Kathmandu","dayOfWeek":0,"extra":1}"#,
        )
        .unwrap();
        assert_eq!(c.time.to_string(), "07:30");
        assert_eq!(c.day_of_week, 0);
        assert!(serde_json::from_str::<ScheduleConfig>(r#"{"dayOfWeek":"1"}"#).is_err());
    }

    #[test]
    fn schedule_config_ranges() {
        let mut c = ScheduleConfig {
            day_of_week: 9,
            ..Default::default()
        };
        assert_eq!(c.validate().unwrap_err().field(), Some("dayOfWeek"));
        c.day_of_week = 6;
        c.day_of_month = 0;
        assert_eq!(c.validate().unwrap_err().field(), Some("dayOfMonth"));
        c.day_of_month = 31;
        c.month_of_quarter = 4;
        assert_eq!(c.validate().unwrap_err().field(), Some("monthOfQuarter"));
    }

    #[test]
    fn recipients() {
        let ok = [
            (RecipientKind::Email, "ana@example.com"),
            (RecipientKind::Slack, "#finops"),
            (RecipientKind::Slack, "C024BE91L"),
            (
                RecipientKind::Slack,
                "https://hooks.slack.com/services/T/B/X",
            ),
            (RecipientKind::Webhook, "https://example.com/hook"),
            (RecipientKind::User, "6f1c1f8e-3f5a-4d0e-9a57-5b1f0c6a3e11"),
        ];
        for (kind, address) in ok {
            let r = ReportRecipient {
                kind,
                address: address.into(),
                name: None,
            };
            assert!(r.validate().is_ok(), "{address}");
        }
        let bad = [
            (RecipientKind::Email, "not-an-email"),
            (RecipientKind::Slack, "http://hooks.slack.com/x"),
            (RecipientKind::Slack, "# bad channel"),
            (RecipientKind::Webhook, "ftp://example.com"),
            (RecipientKind::User, "bob"),
        ];
        for (kind, address) in bad {
            let r = ReportRecipient {
                kind,
                address: address.into(),
                name: None,
            };
            assert_eq!(
                r.validate().unwrap_err().field(),
                Some(r.address_key()),
                "{address}"
            );
        }
        let json = serde_json::to_value(ReportRecipient::email("a@b.co")).unwrap();
        assert_eq!(json, serde_json::json!({"type":"email","address":"a@b.co"}));
    }

    #[test]
    fn filters_match() {
        let f = ReportFilters {
            teams: vec!["search".into()],
            ..Default::default()
        };
        assert!(f.matches(Some("search"), None, None, None, None));
        assert!(!f.matches(Some("ads"), None, None, None, None));
        assert!(!f.matches(None, None, None, None, None));
        assert!(ReportFilters::default().matches(None, None, None, None, None));
    }
}
