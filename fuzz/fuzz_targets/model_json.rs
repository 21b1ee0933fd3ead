//! Arbitrary bytes as JSON into the main entities, then validation: must
//! never panic, and a value that validates must survive a JSON round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokentra_reports::model::{
    from_json, ChargebackConfiguration, ReportTemplate, ScheduledReport, Validate,
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

fuzz_target!(|data: &[u8]| {
    if let Ok(json) = std::str::from_utf8(data) {
        check::<ScheduledReport>(json);
        check::<ReportTemplate>(json);
        check::<ChargebackConfiguration>(json);
    }
});
