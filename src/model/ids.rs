//! Typed ids: newtypes over [`Uuid`] so a template id cannot be passed where a
//! report id is expected. They serialize as the bare UUID string.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new random (v4) id.
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }

            /// The id made from a known UUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }

        impl FromStr for $name {
            type Err = crate::Error;
            fn from_str(s: &str) -> crate::Result<Self> {
                Uuid::parse_str(s)
                    .map(Self)
                    .map_err(|e| crate::Error::invalid($what, e))
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }
    };
}

id_type!(
    /// An organization (tenant). Every store call is scoped by one.
    OrganizationId,
    "organizationId"
);
id_type!(
    /// A user of the host application.
    UserId,
    "userId"
);
id_type!(
    /// A report template.
    TemplateId,
    "templateId"
);
id_type!(
    /// A scheduled report.
    ScheduledReportId,
    "scheduledReportId"
);
id_type!(
    /// A generated (archived) report.
    ReportId,
    "reportId"
);
id_type!(
    /// A user's e-mail digest preferences.
    DigestPreferencesId,
    "id"
);
id_type!(
    /// A chargeback configuration.
    ChargebackConfigId,
    "configurationId"
);
id_type!(
    /// A chargeback record (one per configuration and period).
    ChargebackRecordId,
    "chargebackRecordId"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_serialize_as_bare_uuid_and_parse_back() {
        let id = ReportId::new();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{}\"", id.0));
        let back: ReportId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
        assert_eq!(id.to_string().parse::<ReportId>().unwrap(), id);
        let err = "nope".parse::<TemplateId>().unwrap_err();
        assert_eq!(err.field(), Some("templateId"));
    }
}
