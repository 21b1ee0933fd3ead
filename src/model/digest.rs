//! Per-user e-mail digest preferences.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{DigestPreferencesId, OrganizationId, TimeOfDay, Timezone, UserId};
use crate::model::validate::{email, Validator};
use crate::Result;

/// How often a user gets a digest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DigestFrequency {
    /// Every day at `digestTime`.
    Daily,
    /// Every week on `dayOfWeek` at `digestTime`.
    #[default]
    Weekly,
    /// Never.
    None,
}

/// A user's digest preferences. Defaults follow the specification: weekly,
/// 09:00 UTC on Monday, every section included, no filters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailDigestPreferences {
    /// Id.
    pub id: DigestPreferencesId,
    /// Owner.
    pub organization_id: OrganizationId,
    /// The user (one preferences row per user and organization).
    pub user_id: UserId,
    /// Where the digest goes.
    pub email: String,
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
    /// Include the forecast.
    #[serde(default = "crate::model::yes")]
    pub include_forecast: bool,
    /// Include the team breakdown.
    #[serde(default = "crate::model::yes")]
    pub include_team_breakdown: bool,
    /// Only these teams (empty: all).
    #[serde(default)]
    pub team_filter: Vec<String>,
    /// Only these projects (empty: all).
    #[serde(default)]
    pub project_filter: Vec<String>,
    /// The slot of the last digest sent.
    #[serde(default)]
    pub last_sent_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

fn monday() -> u8 {
    1
}

impl EmailDigestPreferences {
    /// Default preferences for a user, created at `now`.
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
            email: email.into(),
            frequency: DigestFrequency::default(),
            digest_time: TimeOfDay::default(),
            timezone: Timezone::UTC,
            day_of_week: 1,
            include_summary: true,
            include_anomalies: true,
            include_recommendations: true,
            include_forecast: true,
            include_team_breakdown: true,
            team_filter: Vec::new(),
            project_filter: Vec::new(),
            last_sent_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Check the address and `dayOfWeek`.
    pub fn validate(&self) -> Result<()> {
        let mut v = Validator::default();
        v.check(email("email", &self.email));
        if self.day_of_week > 6 {
            v.fail(
                "dayOfWeek",
                format!("{} is outside 0 (Sunday) to 6 (Saturday)", self.day_of_week),
            );
        }
        v.finish()
    }
}
