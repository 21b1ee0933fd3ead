//! Hostile input validation: arbitrary bytes as a logo of either format
//! (PNG headers, SVG text with entities, references, deep nesting), and as
//! JSON of a generation request and of a branding, then validation. Must
//! never panic; a logo that validates is one the renderers may decode.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokentra_reports::model::{
    from_json, GenerateReportRequest, Logo, LogoFormat, ReportBranding, MAX_RECIPIENTS,
};

fuzz_target!(|data: &[u8]| {
    for format in [LogoFormat::Png, LogoFormat::Svg] {
        let logo = Logo {
            format,
            data: data.to_vec(),
        };
        if logo.validate().is_ok() && format == LogoFormat::Png {
            assert!(data.starts_with(b"\x89PNG\r\n\x1a\n"));
        }
        let _ = logo.data_uri();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Logo::from_data_uri(text);
        if let Ok(r) = from_json::<GenerateReportRequest>(text) {
            if r.validate().is_ok() {
                assert!(r.recipients.len() <= MAX_RECIPIENTS);
            }
        }
        if let Ok(b) = from_json::<ReportBranding>(text) {
            let _ = b.validate();
        }
    }
});
