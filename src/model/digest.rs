//! Per-user e-mail digest preferences.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{DigestPreferencesId, OrganizationId, TimeOfDay, Timezone, UserId};
use crate::model::validate::{email, Validator};
use crate::Result;

/// How often a user gets a digest (default daily, as in the specification).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DigestFrequency {
    /// Every day at `digestTime`.
    #[default]
    Daily,
    /// Every week on `dayOfWeek` at `digestTime`.
    Weekly,
    /// Never.
    None,
}

/// A user's digest preferences.
///
/// JSON is the specification's `EmailDigestPreferences`. Defaults are the
/// specification's (its SQL table's): daily, 09:00, UTC, `dayOfWeek` 1
/// (Monday), summary, anomalies, team breakdown and recommendations on,
/// forecast off, active, no filters. An inactive user (`isActive: false`)
/// gets no digest. `email` and the timestamps are extra keys: without an
/// `email` the digest goes to the user through the host's `UserResolver`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailDigestPreferences {
    /// Id.
    pub id: DigestPreferencesId,
    /// Owner. JSON `orgId` (alias `organizationId`).
    #[serde(rename = "orgId", alias = "organizationId")]
    pub organization_id: OrganizationId,
    /// The user (one preferences row per user and organization).
    pub user_id: UserId,
    /// Where the digest goes; `None` sends it to the user (resolved by the
    /// host's `UserResolver`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// How often.
    #[serde(default)]
    pub frequency: DigestFrequency,
    /// Local wall time, `"HH:MM"`.
    #[serde(default)]
    pub digest_time: TimeOfDay,
    /// The user's IANA time zone.
    #[serde(default)]
    pub timezone: Timezone,
    /// Day of week for weekly digests: 0 = Sunday ... 6 = Saturday.
    #[serde(default = "monday")]
    pub day_of_week: u8,
    /// Include the summary.
    #[serde(default = "crate::model::yes")]
    pub include_summary: bool,
    /// Include the top anomalies.
    #[serde(default = "crate::model::yes")]
    pub include_anomalies: bool,
    /// Include recommendations.
    #[serde(default = "crate::model::yes")]
    pub include_recommendations: bool,
    /// Include the forecast (default off).
    #[serde(default)]
    pub include_forecast: bool,
    /// Include the team breakdown.
    #[serde(default = "crate::model::yes")]
    pub include_team_breakdown: bool,
    /// Only these teams (empty or `null`: all).
    #[serde(default, deserialize_with = "crate::model::null_as_default")]
    pub team_filter: Vec<String>,
    /// Only these projects (empty or `null`: all).
    #[serde(default, deserialize_with = "crate::model::null_as_default")]
    pub project_filter: Vec<String>,
    /// Whether the user gets digests at all (default `true`).
    #[serde(default = "crate::model::yes")]
    pub is_active: bool,
    /// The slot of the last digest sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sent_at: Option<DateTime<Utc>>,
    /// Creation time (an extra key; the epoch when the JSON has none).
    #[serde(default = "crate::model::epoch")]
    pub created_at: DateTime<Utc>,
    /// Last change (an extra key; the epoch when the JSON has none).
    #[serde(default = "crate::model::epoch")]
    pub updated_at: DateTime<Utc>,
}

fn monday() -> u8 {
    1
}

impl EmailDigestPreferences {
    /// Default preferences for a user, created at `now`, sent to `email`.
    pub fn new(
        organization_id: OrganizationId,
        user_id: UserId,
        email: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Self {
        EmailDigestPreferences {
            id: DigestPreferencesId::new(),
            organization_id,
            user_id,
            email: Some(email.into()),
            frequency: DigestFrequency::default(),
            digest_time: TimeOfDay::default(),
            timezone: Timezone::UTC,
            day_of_week: 1,
            include_summary: true,
            include_anomalies: true,
            include_recommendations: true,
            include_forecast: false,
            include_team_breakdown: true,
            team_filter: Vec::new(),
            project_filter: Vec::new(),
            is_active: true,
            last_sent_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Who the digest goes to: the `email` address, else the user (resolved
    /// to an address by the host's `UserResolver` at delivery).
    pub fn recipient(&self) -> crate::model::ReportRecipient {
        match &self.email {
            Some(address) => crate::model::ReportRecipient::email(address.clone()),
            None => crate::model::ReportRecipient {
                kind: crate::model::RecipientKind::User,
                address: self.user_id.to_string(),
                name: None,
            },
        }
    }

    /// Check the address and `dayOfWeek`.
    pub fn validate(&self) -> Result<()> {
        let mut v = Validator::default();
        if let Some(address) = &self.email {
            v.check(email("email", address));
        }
        v.check(crate::model::validate::filter_values(
            "teamFilter",
            &self.team_filter,
        ));
        v.check(crate::model::validate::filter_values(
            "projectFilter",
            &self.project_filter,
        ));
        if self.day_of_week > 6 {
            v.fail(
                "dayOfWeek",
                format!("{} is outside 0 (Sunday) to 6 (Saturday)", self.day_of_week),
            );
        }
        v.finish()
    }
}
