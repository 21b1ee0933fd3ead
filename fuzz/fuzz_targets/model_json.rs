//! Arbitrary bytes as JSON into every model type a host stores or posts
//! (the specification's shapes and this crate's earlier ones), then
//! validation where the type has it: must never panic, and a value that
//! reads (and validates) must survive a JSON round trip unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokentra_reports::model::{
    from_json, ChargebackConfiguration, ChargebackRecord, DistributionStatus,
    EmailDigestPreferences, GenerateReportRequest, GeneratedReport, ReportBranding,
    ReportGenerationResult, ReportRecipient, ReportSummaryData, ReportTemplate, ScheduledReport,
    Validate,
};

fn check<T>(json: &str)
where
    T: serde::de::DeserializeOwned + serde::Serialize + Validate + PartialEq + std::fmt::Debug,
{
    if let Ok(value) = from_json::<T>(json) {
        if value.validate().is_ok() {
            let again = serde_json::to_string(&value).expect("serializes");
            let back: T = from_json(&again).expect("round trip reads back");
            assert_eq!(back, value);
            back.validate().expect("round trip stays valid");
        }
    }
}

fn check_plain<T>(json: &str)
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
{
    if let Ok(value) = from_json::<T>(json) {
        let again = serde_json::to_string(&value).expect("serializes");
        let back: T = from_json(&again).expect("round trip reads back");
        assert_eq!(back, value);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(json) = std::str::from_utf8(data) {
        check::<ScheduledReport>(json);
        check::<ReportTemplate>(json);
        check::<ChargebackConfiguration>(json);
        check::<EmailDigestPreferences>(json);
        check::<GenerateReportRequest>(json);
        check_plain::<GeneratedReport>(json);
        check_plain::<ChargebackRecord>(json);
        check_plain::<DistributionStatus>(json);
        check_plain::<ReportRecipient>(json);
        check_plain::<ReportBranding>(json);
        check_plain::<ReportSummaryData>(json);
        check_plain::<ReportGenerationResult>(json);
    }
});
